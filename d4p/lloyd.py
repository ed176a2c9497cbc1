"""Lloyd's iterations of ``kmeans`` over the ranks' rows (oneDAL's batch semantics).

Batch and distributed alike: assign, recompute the means, re-seed empty clusters
with the farthest rows (one global rule), stop when the summed squared centroid
shift is at most the threshold (that iteration counts) or after the maximum
number of iterations; the objective and the assignments refer to the final
centroids.  Per iteration only the k×p sums and the k counts cross the wire.
"""
import numpy as np

from . import _parallel
from ._inputs import is_sparse
from ._protocol import Agreement, raise_on_all
from .global_rows import check_after_pass, check_finite_fast, exact_sum
from .kernels import kmeans as kk
from .kernels import products as kprod
from .work_queue import run_in_turn

class LloydPass:
    """Blocked passes over this rank's rows against k centroids.

    Each block of rows is centred on ``origin`` into a buffer that stays in
    cache and handed to a Numba kernel for its products with the centroids
    (register tiles, kernels/products.py; BLAS where those are not used), the
    nearest centroid and the per-cluster sums; the same kernel call centres the
    next block into a second buffer.  The kernel reads
    the rows as they are when they are C-ordered, of the compute dtype and
    writeable (the common case: the buffers' own type, so no second signature);
    numpy first converts any other input block.  Blocks are grouped; each group
    accumulates its own partial sums and the groups are added in order, so the
    result does not depend on how many threads ran them.
    """

    BLOCK_BYTES = 2 << 20
    GROUP_BYTES = 16 << 20
    MAX_GROUPS = 64

    def __init__(self, X, p, k, origin, dtype, weights=None):
        self.X = X
        self.w = _NO_W if weights is None else weights
        self.n = X.shape[0]
        self.p = p
        self.k = k
        self.sparse = is_sparse(X)
        self.dtype = dtype
        self.origin = np.ascontiguousarray(origin, dtype=np.float64)
        # Rows the kernel reads as they are (the buffers' own type, so no second
        # signature); numpy converts blocks of other inputs first.
        self.direct = (type(X) is np.ndarray and X.dtype == dtype and X.flags.c_contiguous
                       and X.flags.aligned and X.flags.writeable)
        # The products by the kernel's tiles or by BLAS (kernels/cpu.py), for the
        # whole compute; centres per row of the products: k padded to whole vectors.
        self.tiled = kprod.TILED
        lanes = kprod.VECTOR_BYTES // np.dtype(dtype).itemsize
        self.kp = -(-k // lanes) * lanes
        self.B = int(min(8192, max(64, self.BLOCK_BYTES // (8 * (p + k)))))
        nblocks = -(-self.n // self.B)
        ngroups = max(1, min(nblocks, self.MAX_GROUPS,
                             self.GROUP_BYTES // max(1, 8 * k * (p + 1))))
        per = -(-nblocks // ngroups) if nblocks else 0
        self.groups = [(g * per * self.B, min(self.n, (g + 1) * per * self.B))
                       for g in range(ngroups) if g * per * self.B < self.n]
        self.nparts = max(1, min(_parallel.thread_parts(self.n, self.B), len(self.groups)))

    # -- workers --------------------------------------------------------------------------
    def _buffers(self):
        B, p, dt = self.B, self.p, self.dtype
        stage = np.empty((0 if self.direct else B, p), dtype=dt)
        return (np.empty((B, p), dtype=dt), np.empty((B, p), dtype=dt), stage,
                np.empty(self.kp * B, dtype=dt), np.empty(B, dtype=dt),
                np.empty(B, dtype=np.int64))

    def _rows(self, lo, hi, stage):
        """Rows ``lo:hi`` as the kernel reads them (C-ordered, of the compute dtype,
        writeable): a view of the data when it is such an array, else converted by
        numpy into ``stage`` (exactly: the compute dtype is float32 only for
        float32 data)."""
        if self.direct:
            return self.X[lo:hi]
        block = self.X[lo:hi].toarray() if self.sparse else self.X[lo:hi]
        np.copyto(stage[:hi - lo], block)
        return stage[:hi - lo]

    def _blocks(self, lo, hi, bufs, Ct, assign):
        """Rows ``lo:hi`` block by block: ``assign(b_lo, b_hi, centred block, GT,
        best, arg, src, out)`` calls the kernel, which assigns the block (``GT``:
        its products with the centroids ``Ct``, made by the kernel when
        ``self.tiled`` (:data:`products.TILED <d4p.kernels.products.TILED>`), else
        by BLAS here) and centres ``src``, the next block, into ``out``, the other
        buffer; a first call centres the range's first block."""
        cur, nxt, stage, gflat, best, arg = bufs
        B, kp = self.B, self.kp
        if lo < hi:
            assign(lo, lo, cur[:0], gflat[:0].reshape(0, kp), best, arg,
                   self._rows(lo, min(hi, lo + B), stage), cur)
        for b_lo in range(lo, hi, B):
            b_hi = min(hi, b_lo + B)
            nb = b_hi - b_lo
            GT = gflat[:kp * nb].reshape(nb, kp)
            if not self.tiled:
                np.matmul(cur[:nb], Ct, out=GT)
            assign(b_lo, b_hi, cur[:nb], GT, best, arg,
                   self._rows(b_hi, min(hi, b_hi + B), stage), nxt)
            cur, nxt = nxt, cur

    def _run(self, Cc, work):
        """Run ``work(group index, lo, hi, bufs, Ct, cn)`` over all groups, on
        ``nparts`` threads taking groups in turn; ``Ct`` is ``Cc`` transposed,
        with zero columns up to ``kp``.  Call inside :func:`single_threaded_blas`
        (the parallelism is over blocks; a multi-threaded GEMM on a block this
        small only adds synchronisation)."""
        Cc = np.ascontiguousarray(Cc, dtype=self.dtype)
        C64 = Cc.astype(np.float64)
        cn = np.einsum("ij,ij->i", C64, C64).astype(self.dtype)
        Ct = np.zeros((self.p, self.kp), dtype=self.dtype)
        Ct[:, :self.k] = Cc.T
        groups = self.groups
        run_in_turn(self.nparts, len(groups), self._buffers,
                    lambda g, bufs: work(g, *groups[g], bufs, Ct, cn))

    # -- the passes ------------------------------------------------------------------------
    def accumulate(self, Cc, col_stats=False):
        """Per-cluster sums of the centred rows (k, p) and weights (k,) (counts when
        not weighted); with ``col_stats`` also the columns' plain sums and sums of
        squares of the centred rows (2, p), else None."""
        G = len(self.groups)
        sums = np.zeros((G, self.k, self.p))
        counts = np.zeros((G, self.k))
        cols = np.zeros((G, 2 if col_stats else 0, self.p))
        w = self.w

        def work(g, lo, hi, bufs, Ct, cn):
            s, c, col = sums[g], counts[g], cols[g]
            self._blocks(lo, hi, bufs, Ct,
                         lambda b_lo, b_hi, blk, GT, best, arg, src, out:
                         kk.assign_block(blk, GT, Ct, self.tiled, cn, _NO_C,
                                         w[b_lo:b_hi] if w.size else w, False, s, c, col,
                                         _NO_LABELS, _NO_W, _NO_W, 0, best, arg, src,
                                         self.origin, out))

        self._run(Cc, work)
        if not G:
            return np.zeros((self.k, self.p)), np.zeros(self.k), (
                np.zeros((2, self.p)) if col_stats else None)
        return sums.sum(axis=0), counts.sum(axis=0), cols.sum(axis=0) if col_stats else None

    def final(self, Cc):
        """Nearest centroid (n,) int32 and exact squared distance (n,) of every row,
        and the exact-sum partials of the distances (times the weights)."""
        labels = np.empty(self.n, dtype=np.int32)
        dist = np.empty(self.n)
        Cc64 = np.ascontiguousarray(Cc, dtype=np.float64)
        G = len(self.groups)
        parts = np.zeros((G, kk.MSUM_CAP))
        nparts = np.zeros(G, dtype=np.int64)
        w = self.w

        def work(g, lo, hi, bufs, Ct, cn):
            def block(b_lo, b_hi, blk, GT, best, arg, src, out):
                nparts[g] = kk.assign_block(blk, GT, Ct, self.tiled, cn, Cc64,
                                            w[b_lo:b_hi] if w.size else w, True, _NO_SUMS,
                                            _NO_W, _NO_COLS, labels[b_lo:b_hi], dist[b_lo:b_hi],
                                            parts[g], nparts[g], best, arg, src, self.origin,
                                            out)

            self._blocks(lo, hi, bufs, Ct, block)

        self._run(Cc, work)
        return labels, dist, kk.used_partials(parts, nparts)


_NO_W = np.empty(0)
_NO_C = np.empty((0, 0))
_NO_SUMS = np.empty((0, 0))
_NO_COLS = np.empty((0, 0))
_NO_LABELS = np.empty(0, dtype=np.int32)


def single_threaded_blas():
    """BLAS on one thread for a whole ``kmeans.compute`` (set once, not per pass)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _farthest(comm, rows, dist, labels, count, w):
    """The ``count`` rows farthest from their centroid over all ranks, by
    (distance descending, global index ascending): (distances, labels, rows,
    weights)."""
    n = dist.shape[0]
    if n > count:
        threshold = np.partition(dist, n - count)[n - count]
        idx = np.flatnonzero(dist >= threshold)
    else:
        idx = np.arange(n)
    idx = idx[np.lexsort((idx, -dist[idx]))][:count]
    wts = w[idx] if w.size else np.ones(len(idx))
    gathered = comm.allgather((dist[idx], idx + rows.g0, labels[idx], rows.take(idx), wts))
    d, g, lab, v, wt = (np.concatenate([x[i] for x in gathered]) for i in range(5))
    order = np.lexsort((g, -d))[:count]
    return d[order], lab[order], v[order], wt[order]


def compute_dtype(dtype, X):
    """The dtype of the block products: float32 only for fptype 'float' on dense
    float32 data (sums are float64 either way)."""
    return np.float32 if (dtype == np.float32 and not is_sparse(X)
                          and X.dtype == np.float32) else np.float64


def lloyd(comm, rows, C, max_iterations, threshold, dtype, need_final, where="kmeans",
          weights=None, scale_threshold=False, total_rows=None):
    """Lloyd's iterations from the centroids ``C`` (k, p), the same on every rank.

    Returns (centroids, iterations run, this rank's labels or None, objective or
    None, the threshold used); labels and objective, at the final centroids, when
    ``need_final``.  ``weights`` (this rank's, or None): weighted means and
    objective.  ``scale_threshold``: the threshold is ``threshold`` times the mean
    of the columns' variances over all ``total_rows`` rows (scikit-learn's ``tol``),
    taken from the first iteration's pass.  The first pass over the data also
    checks it for non-finite values (error at ``where`` on every rank).  Call
    inside :func:`single_threaded_blas`.
    """
    X = rows.X
    k, p = C.shape
    origin = C.mean(axis=0)
    passes = LloydPass(X, rows.p, k, origin, compute_dtype(dtype, X), weights)
    checked = False
    if max_iterations == 0 and scale_threshold:
        threshold = 0.0  # no iteration compares against it
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        Cc = C - origin
        first = iterations == 1
        sums, counts, cols = passes.accumulate(Cc, col_stats=first and scale_threshold)
        local = [sums.ravel(), counts] + ([cols.ravel()] if cols is not None else [])
        packed = comm.allreduce(np.concatenate(local), "sum")
        if first:  # NaN or infinity anywhere reaches the sums: then find the rank
            if not np.isfinite(packed).all():
                with Agreement(comm, where):
                    check_after_pass(X, np.concatenate(local))
            checked = True
            if weights is not None and not packed[k * p:k * p + k].sum() > 0:
                raise_on_all({0: ("ValueError", "ValueError",
                                  "weights are zero on every row of every rank")}, where,
                             comm.size)
            if scale_threshold:
                threshold = threshold * _mean_variance(packed[k * p + k:], p, total_rows)
        sums, counts = packed[:k * p].reshape(k, p), packed[k * p:k * p + k]
        C_next = new_centroids(comm, rows, passes, C, Cc, origin, sums, counts)
        shift = float(((C_next - C) ** 2).sum())
        C = C_next
        if shift <= threshold:
            break
    labels, objective = None, None
    if need_final:
        labels, _, parts = passes.final(C - origin)
        objective = exact_sum(comm, parts, None if checked else (where, X))
    elif not checked:
        with Agreement(comm, where):
            check_finite_fast(X)
    return C, iterations, labels, objective, threshold


def _mean_variance(cols, p, n):
    """Mean over the columns of their population variances, from the columns' sums
    and sums of squares of rows centred on a common origin."""
    s1, s2 = cols[:p], cols[p:]
    var = np.maximum(s2 - s1 * (s1 / n), 0.0) / n
    return float(np.mean(var))


def new_centroids(comm, rows, passes, C, Cc, origin, sums, counts):
    """Means of the clusters, with oneDAL's (and scikit-learn's) rule for empty ones.

    The rows farthest from their centroid (distance descending, global index
    ascending) move to the empty clusters, in cluster order, and leave their old
    cluster; a cluster left without rows takes the centre of the largest
    cluster (the first on ties); nothing moves when every row sits on its
    centroid.  ``sums`` and ``counts`` (weights, when weighted) are global; the
    candidates are gathered from every rank, so every rank applies the same moves.
    """
    new = C.copy()
    moved = {}
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        labels, dist, _ = passes.final(Cc)
        d, lab, vals, wts = _farthest(comm, rows, dist, labels, empty.size, passes.w)
        if d.size and d[0] > 0:
            for j, old, x, wt in zip(empty, lab, vals, wts):
                sums[old] -= wt * (x - origin)
                counts[old] -= wt
                counts[j] = wt
                moved[j] = x
    full = counts > 0
    new[full] = origin + sums[full] / counts[full, None]
    for j, x in moved.items():
        new[j] = x
    new[~full] = new[int(np.argmax(counts))]
    return new
