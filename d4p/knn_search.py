"""Exact k-nearest-neighbour search over ranks: queries travel, k candidates come back.

:func:`neighbours` runs on every rank after the ranks agreed on the queries:
rounds of queries (a bounded number of rows, the same rounds on every rank) are
allgathered, each rank keeps the k best of its own training rows per query
(:func:`local_topk`), and only those candidates go back to the queries' owners
(``alltoall``), who merge them by (distance, global row).  Used by
:mod:`d4p.neighbors`.

The metric is a pair ``(name, p)`` from :func:`canonical_metric`.  The Euclidean
distance is screened with float32 BLAS products and re-checked exactly; the
others (Manhattan, Chebyshev, Minkowski of any p > 0, cosine) are computed
exactly in float64 for every pair by :func:`d4p.kernels.knn_metrics.fold_metric`.
Candidates travel as reduced distances (squared for Euclidean, ``sum |d|^p`` for
Minkowski) and :func:`distances` turns them into distances at the end.
"""
import math
import numbers
import threading

import numpy as np

from . import _parallel
from ._protocol import Agreement
from .kernels import knn_metrics as km
from .kernels import neighbors as nk

#: Bytes of one (queries x training rows) float32 product block (kept in cache).
BLOCK_BYTES = 1 << 20
#: Bytes of queries plus returned candidates per exchange round, per rank.
ROUND_BYTES = 32 << 20


#: The metric of daal4py's brute-force k-NN (and of d4p before it had others).
EUCLIDEAN = ("euclidean", 2.0)
#: scikit-learn's names of the metrics d4p computes, to d4p's canonical ones.
METRIC_NAMES = {"euclidean": "euclidean", "l2": "euclidean", "minkowski": "minkowski",
                "manhattan": "manhattan", "l1": "manhattan",
                "cityblock": "manhattan", "chebyshev": "chebyshev", "infinity": "chebyshev",
                "cosine": "cosine"}
_CODES = {"manhattan": km.MANHATTAN, "chebyshev": km.CHEBYSHEV, "minkowski": km.MINKOWSKI,
          "cosine": km.COSINE}


def canonical_metric(metric, p, where):
    """``(name, p)`` of a metric given as scikit-learn names it: 'euclidean' (2.0),
    'manhattan' (1.0), 'chebyshev' (inf), 'minkowski' (p, a real number > 0 other than
    1, 2 and inf, which are the three before) or 'cosine' (None).  ``p`` is read for
    'minkowski' only.  Other metrics raise NotImplementedError naming them."""
    name = METRIC_NAMES.get(metric) if isinstance(metric, str) else None
    if name is None:
        raise NotImplementedError(
            f"{where}: metric={metric!r} is not supported by d4p's brute-force k-NN; "
            f"supported: {sorted(METRIC_NAMES)} (minkowski with any p > 0)")
    if name != "minkowski":
        return {"euclidean": EUCLIDEAN, "manhattan": ("manhattan", 1.0),
                "chebyshev": ("chebyshev", math.inf), "cosine": ("cosine", None)}[name]
    if p is None:
        p = 2
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"{where}: p must be a real number, got {p!r}")
    p = float(p)
    if not p > 0:
        raise ValueError(f"{where}: p must be greater than 0, got {p!r}")
    return {1.0: ("manhattan", 1.0), 2.0: EUCLIDEAN, math.inf: ("chebyshev", math.inf)}.get(
        p, ("minkowski", p))


def distances(reduced, metric):
    """The distances of reduced distances (as the search returns them)."""
    name, p = metric
    if name == "euclidean":
        return np.sqrt(reduced)
    if name == "minkowski":
        return reduced ** (1.0 / p)
    return reduced


def neighbours(Q, X, first, targets, k, run, prepared=None, metric=EUCLIDEAN):
    """Reduced distances (n, k) (see :func:`distances`), global indices (n, k) and targets (n, k, r) of the k
    nearest training rows over all ranks of this rank's queries ``Q`` (n, p).

    ``X`` (n_rank, p) float64 are this rank's training rows, ``first`` the global
    number of ``X[0]``, ``targets`` (n_rank, r) their labels or responses; ``run``
    the agreed :class:`d4p._protocol.Run` of the queries (``run.rows``: every
    rank's query count); ``prepared`` is :func:`prepare` of ``X`` if the caller
    keeps it; ``metric`` is :func:`canonical_metric`'s pair."""
    prepared = prepare(X, metric) if prepared is None else prepared
    comm = run.comm
    counts = run.rows
    total = sum(counts)
    r = targets.shape[1]
    p = Q.shape[1]
    if comm.size == 1:
        return local_topk(Q, X, first, targets, k, prepared, metric)
    mine = run.row_offset
    starts = np.concatenate(([0], np.cumsum(counts)))
    per_round = max(1, ROUND_BYTES // (8 * (p + comm.size * k * (2 + r))))
    out_d = np.empty((Q.shape[0], k))
    out_i = np.empty((Q.shape[0], k), dtype=np.int64)
    out_t = np.empty((Q.shape[0], k, r))
    for lo in range(0, total, per_round):  # the same rounds on every rank
        hi = min(lo + per_round, total)
        a, b = min(max(lo - mine, 0), Q.shape[0]), min(max(hi - mine, 0), Q.shape[0])
        block = np.concatenate(comm.allgather(Q[a:b]), axis=0)
        with Agreement(comm, run.where):
            d, i, t = local_topk(block, X, first, targets, k, prepared, metric)
        sends = []
        for dest in range(comm.size):
            s = min(max(starts[dest] - lo, 0), hi - lo)
            e = min(max(starts[dest + 1] - lo, 0), hi - lo)
            sends.append((d[s:e], i[s:e], t[s:e]))
        got = comm.alltoall(sends)
        if b > a:
            dd = np.concatenate([g[0] for g in got], axis=1)
            ii = np.concatenate([g[1] for g in got], axis=1)
            tt = np.concatenate([g[2] for g in got], axis=1)
            pos = nk.merge_sorted(dd, ii, k)
            out_d[a:b] = np.take_along_axis(dd, pos, axis=1)
            out_i[a:b] = np.take_along_axis(ii, pos, axis=1)
            out_t[a:b] = np.take_along_axis(tt, pos[:, :, None], axis=1)
    return out_d, out_i, out_t


def scaled32(A):
    """``A`` times a power of two (so its largest magnitude is in [0.5, 1)) in
    float32, and that power: the screening product neither overflows nor loses
    more than float32's relative precision (plus an underflow floor)."""
    top = float(np.max(np.abs(A))) if A.size else 0.0
    scale = 1.0 if top == 0 else 2.0 ** -(np.frexp(top)[1])
    return (A * scale).astype(np.float32), scale


def prepare(X, metric=EUCLIDEAN):
    """What the search needs of the training rows (a model whose rows cannot change
    may keep it): for the Euclidean screen squared norms, the scaled float32 copy and
    its scale; for the other metrics the rows transposed (cosine: unit rows)."""
    if metric[0] == "euclidean":
        return (np.einsum("ij,ij->i", X, X),) + scaled32(X)
    return np.ascontiguousarray((km.unit_rows(X) if metric[0] == "cosine" else X).T)


def local_topk(Q, X, first, targets, k, prepared=None, metric=EUCLIDEAN):
    """The k best rows of ``X`` (global numbers from ``first``) for each query of
    ``Q``, sorted by (reduced distance, row), and their targets; a rank with fewer
    than k rows pads with distance inf."""
    m, p = Q.shape
    heap_d = np.full((m, k), np.inf)
    heap_i = np.full((m, k), nk.NO_ROW, dtype=np.int64)
    if m and X.shape[0] and metric[0] != "euclidean":
        _metric_topk(Q, X, first, metric, prepared, heap_d, heap_i)
        nk.sort_heaps(heap_d, heap_i)
    elif m and X.shape[0]:
        xn, X32, sx = prepare(X) if prepared is None else prepared
        qn = np.einsum("ij,ij->i", Q, Q)
        Q32, sq = scaled32(Q)
        # Rounding X and Q to float32 and the float32 product err by at most about
        # (p + 3) u sum|q_l x_l| <= (p + 3) u (|q|² + |x|²) / 2, u = 2^-24; underflow adds
        # at most p + 2 times the smallest normal float32 (in the scaled units).
        # Both bounds are taken 8 times over: a wider margin only costs re-checks.
        u = np.finfo(np.float32).eps / 2
        slack = 8.0 * (p + 3) * u
        with np.errstate(over="ignore", divide="ignore"):
            gscale = (1.0 / sq) * (1.0 / sx)
            floor = 16.0 * (p + 2) * float(np.finfo(np.float32).tiny) * gscale
        if not (np.isfinite(xn).all() and np.isfinite(qn).all() and np.isfinite(floor)):
            floor = np.inf  # squares overflow (|x| > 1e150 or so): check every pair exactly
        q_rows = 256
        x_rows = max(64, BLOCK_BYTES // (4 * q_rows))

        def fold(start, stop):
            for qa in range(start, stop, q_rows):
                qb = min(qa + q_rows, stop)
                for xa in range(0, X.shape[0], x_rows):
                    xb = min(xa + x_rows, X.shape[0])
                    gram = Q32[qa:qb] @ X32[xa:xb].T
                    nk.fold_block(gram, gscale, qn[qa:qb], xn[xa:xb], Q[qa:qb], X[xa:xb],
                                  first + xa, slack, floor, heap_d[qa:qb], heap_i[qa:qb])

        # Parts of the queries on Python threads, each with single-threaded BLAS: the
        # products are small, and multi-threaded BLAS on them only spins against the
        # screening kernel (20,000 x 2,000 queries took 2.8 s that way, 0.4 s this way).
        # (Simulated ranks run on threads whose BLAS share run_spmd already limits.)
        _on_threads(fold, m, q_rows // 4)
        nk.sort_heaps(heap_d, heap_i)
    local = np.where(heap_i == nk.NO_ROW, 0, heap_i - first)
    t = targets[local] if targets.shape[0] else np.zeros((m, k, targets.shape[1]))
    return heap_d, heap_i, t


def _on_threads(fold, m, min_rows):
    """``fold(start, stop)`` over the m queries, in parts on Python threads of the
    main thread (simulated ranks already run on threads: one part each)."""
    if threading.current_thread() is not threading.main_thread():
        fold(0, m)
    else:
        nparts = _parallel.thread_parts(m, min_rows)
        bounds = np.linspace(0, m, nparts + 1).astype(int)
        _parallel.map_threads(lambda j: fold(bounds[j], bounds[j + 1]), nparts)


def _metric_topk(Q, X, first, metric, prepared, heap_d, heap_i):
    """Fill the heaps with the exact float64 kernel of a non-Euclidean metric."""
    name, p = metric
    XT = prepare(X, metric) if prepared is None else prepared
    if name == "cosine":
        Q = km.unit_rows(Q)
    code, power = _CODES[name], 0.0 if p is None else float(p)

    def fold(start, stop):
        km.fold_metric(Q[start:stop], XT, first, code, power, heap_d[start:stop],
                       heap_i[start:stop])

    _on_threads(fold, Q.shape[0], 16)
