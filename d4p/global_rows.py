"""This rank's rows addressed by their global index, and the collectives that read them.

The k-means family (:mod:`d4p.seeding`, :mod:`d4p.lloyd`) sees the ranks' rows as
one table in rank order: a row's *global* index is its position in that
concatenation, so every decision taken from global indices is the same on any
split of the rows.
"""
import math

import numpy as np

from . import _parallel
from ._inputs import check_finite, is_sparse
from ._protocol import Agreement
from .kernels import kmeans as kk


class LocalRows:
    """This rank's rows: ``n`` rows of ``p`` columns starting at global row ``g0``
    (of ``total`` rows on all ranks)."""

    SPARSE_BLOCK_BYTES = 4 << 20

    def __init__(self, X, p, g0, total=None):
        if not is_sparse(X) and X.shape[0] == 0:
            X = np.empty((0, p))
        self.X = X
        self.n = X.shape[0]
        self.p = p
        self.g0 = g0
        self.total = self.n if total is None else total
        self.sparse = is_sparse(X)

    def blocks(self):
        """``(lo, hi, dense block)``: the whole array when dense, else dense pieces."""
        if not self.sparse:
            yield 0, self.n, self.X
            return
        rows = max(1, self.SPARSE_BLOCK_BYTES // (8 * max(self.p, 1)))
        for lo in range(0, self.n, rows):
            hi = min(self.n, lo + rows)
            yield lo, hi, self.X[lo:hi].toarray()

    def take(self, local):
        """Rows at local indices ``local`` as a float64 (len, p) array."""
        local = np.asarray(local, dtype=np.int64)
        if self.sparse:
            return self.X[local].toarray().astype(np.float64).reshape(len(local), self.p)
        return np.asarray(self.X[local], dtype=np.float64).reshape(len(local), self.p)


def fetch_rows(comm, rows, wanted):
    """Rows at global indices ``wanted`` (any order), on every rank."""
    wanted = np.asarray(wanted, dtype=np.int64)
    mine = np.flatnonzero((wanted >= rows.g0) & (wanted < rows.g0 + rows.n))
    piece = (mine, rows.take(wanted[mine] - rows.g0))
    out = np.empty((len(wanted), rows.p))
    for pos, vals in comm.allgather(piece):
        out[pos] = vals
    return out


# ---- finiteness -------------------------------------------------------------------------


def check_finite_fast(X):
    """check_finite with a parallel probe (zero per column unless a value is not finite)."""
    if is_sparse(X) or X.shape[0] == 0:
        check_finite(X, "data")
        return
    rows = kk.chunk_rows(X.shape[1])
    probe = (kk.finite_probe if _parallel.use_parallel(X.shape[0], rows)
             else kk.finite_probe_serial)(X, rows)
    check_finite(X, "data", sums=probe)


def check_after_pass(X, values):
    """Raise for a non-finite value in ``X`` if the first pass's ``values`` (sums of
    distances over every row) are not finite.  Finite data can still overflow, so
    the data itself decides."""
    if not np.isfinite(values).all():
        check_finite(X, "data")


# ---- exact sums over ranks ----------------------------------------------------------------


def exact_sum(comm, parts, check=None):
    """Correctly rounded sum of every rank's partials (independent of the split).

    ``check`` (a where-string and this rank's data) first checks the pass that
    produced the partials for non-finite data; a failure raises on every rank.
    """
    if check is None:
        gathered = comm.allgather(parts)
    else:
        where, X = check
        with Agreement(comm, where) as step:
            check_after_pass(X, parts)
            step.info = parts
        gathered = step.infos
    return math.fsum(np.concatenate([np.asarray(p, dtype=np.float64) for p in gathered]))


def exact_sums(comm, parts_list):
    """:func:`exact_sum` of several lists of partials in one exchange."""
    gathered = comm.allgather(parts_list)
    return np.array([math.fsum(np.concatenate([g[t] for g in gathered]))
                     for t in range(len(parts_list))])
