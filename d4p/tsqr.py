"""The TSQR statistic of ``qr`` and ``svd`` and its combine across ranks.

Every rank factors its own rows, ``X_i = Q_i R_i`` (:mod:`d4p.cholesky_qr`).  The
statistic the ranks merge is the R factor: ``merge`` stacks two R factors and
factors them once more, ``R = qr([R_a; R_b])``, so a tree of merges gives the R of
all rows (Demmel, Grigori, Hoemmen & Langou, 2012).  Only R factors cross the
wire: a rank's local factors (its implicit ``Q_i``, one per streamed chunk) stay
on the rank, outside what is pickled.

When Q is wanted, :func:`combine` gathers the ranks' R factors on rank 0, stacks
and factors them there, ``[R_0; R_1; ...] = Q_s R``, and broadcasts ``R`` with the
blocks of ``Q_s`` (so every rank holds the same bits); rank ``i``'s rows of the
global Q are then ``Q_i @ Q_s[block i]``.  ``R`` is normalised to a non-negative
diagonal (rows of R and the matching columns of Q flipped), which makes the
factorisation unique for full-rank data and so the same for every split of the rows.
"""
import numpy as np

from .cholesky_qr import LocalFactor, factor_local, qr_r


class TSQRFactor:
    """R factor (k x p, k <= p) of ``n`` rows, mergeable; with the local factors of
    this rank's chunks when Q is wanted (never pickled: they stay on their rank)."""

    def __init__(self, r, n, chunks=()):
        self.r, self.n, self.chunks = r, n, tuple(chunks)

    @classmethod
    def empty(cls, p):
        return cls(np.zeros((0, p)), 0)

    @classmethod
    def from_data(cls, X, want_q, keep_data):
        """The statistic of a dense table; see :func:`d4p.cholesky_qr.factor_local`."""
        local = factor_local(X, want_q, keep_data)
        return cls(local.r, local.n, (local,) if want_q and local.n else ())

    @staticmethod
    def merge(a, b):
        if b.n == 0 and not b.chunks:
            return a
        if a.n == 0 and not a.chunks:
            return b
        return TSQRFactor(qr_r(np.vstack([a.r, b.r])), a.n + b.n, a.chunks + b.chunks)

    def __reduce__(self):
        return (TSQRFactor, (self.r, self.n))  # the chunks' local factors stay here

    def local(self, p):
        """One :class:`~d4p.cholesky_qr.LocalFactor` for this rank's chunks, rows in order."""
        return stack_locals(self.chunks, p)


def stack_locals(items, p):
    """One :class:`LocalFactor` for the concatenated rows of several chunks."""
    items = [it for it in items if it.n > 0]
    if not items:
        return LocalFactor.empty(p)
    if len(items) == 1:
        return items[0]
    Qc, r = np.linalg.qr(np.vstack([it.r for it in items]))
    return LocalFactor(r, sum(it.n for it in items), parts=(items, Qc))


def positive_diagonal(Q, R):
    """Flip rows of R (and columns of Q) so that R's diagonal is non-negative."""
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return (None if Q is None else Q * signs), np.triu(R * signs[:, None])


def combine(comm, r_local):
    """TSQR across ranks: the ranks' R factors are gathered on rank 0, stacked and
    factored there, and the result broadcast, so every rank holds the same bits.
    Returns the global R (k x p, non-negative diagonal, k = min(total rows, p)) and
    this rank's block of the small Q (k_i x k).  A failure on rank 0 raises on
    every rank."""
    rs = comm.gather(r_local, root=0)
    result = None
    if comm.rank == 0:
        try:
            counts = [r.shape[0] for r in rs]
            Qs, R = positive_diagonal(*np.linalg.qr(np.vstack(rs)))
            starts = np.cumsum([0] + counts[:-1])
            result = (R, [Qs[lo:lo + k] for lo, k in zip(starts, counts)])
        except Exception as exc:  # noqa: BLE001 - every rank must hear of it
            result = exc
    result = comm.bcast(result, root=0)
    if isinstance(result, Exception):
        raise result
    R, blocks = result
    return R, blocks[comm.rank]
