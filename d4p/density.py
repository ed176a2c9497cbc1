"""Density-based clustering: ``dbscan``, batch and distributed, with scikit-learn's labels.

The labels are exactly those of scikit-learn's ``DBSCAN(eps=epsilon,
min_samples=minObservations)`` (``sample_weight=weights``) on all ranks' rows
concatenated in rank order, for any split of the rows over the ranks:

* a point is *core* when the total weight (the count, without weights) of the
  points within ``epsilon`` of it, itself included, is at least ``minObservations``;
* core points within ``epsilon`` of each other share a cluster; clusters are
  numbered 0, 1, ... in order of their smallest core index (scikit-learn walks the
  points in order and expands one cluster at a time);
* a non-core point within ``epsilon`` of core points joins the cluster of smallest
  number among theirs (the first to reach it); other points are noise (-1).

Cluster identities are union-find roots keyed by the smallest global core index,
so they never depend on how the rows are split or sorted.

Distributed mode moves rows, and only those the neighbourhoods need: every row
goes to the rank owning its slab of one coordinate (cut at global quantiles), and
rows within ``epsilon`` of a slab are copied to it as a halo.  Each rank then
finds the core points of its slab, unites them, learns the core flags and local
cluster roots of its halo rows from their owners, and the ranks share only the
pairs of roots that touch across slabs (deduplicated).  Labels go back to the
rank and row order they came from.  See docs/algorithms/dbscan.md.
"""
import numbers

import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_table, columns_of
from ._protocol import Agreement, Algorithm, Part
from ._results import Result
from .kernels import density as kern

METHODS = ("defaultDense",)
RESULTS = ("computeCoreIndices", "computeCoreObservations")
#: Points per block when ``memorySavingMode`` recomputes the neighbour pairs.
BLOCK_POINTS = 8192
#: Room for the neighbour pairs in one piece: this many a point of the block, at
#: least MIN_PAIRS (more only when one cell's pairs need it).
PAIRS_PER_POINT = 4
MIN_PAIRS = 1024
#: Order statistics of the split coordinate each rank contributes to the quantiles.
QUANTILE_SAMPLE = 1024
#: Coordinates (the widest) considered for cutting the rows into slabs.
SPLIT_CANDIDATES = 4
# What the kernels are given for the arrays a step does not use.
_NO_INTS = np.empty(0, np.int64)
_NO_FLOATS = np.empty(0, np.float64)
_NO_LINKS = np.empty((0, 2), np.int64)


class dbscan_result(Result):
    """``assignments`` (n, 1) int32, noise -1; ``nClusters`` (1, 1) int32;
    ``coreIndices`` (c, 1) int32 and ``coreObservations`` (c, p) in the fptype,
    or ``None`` when not asked for through ``resultsToCompute``.

    In distributed mode ``assignments``, ``coreIndices`` and ``coreObservations``
    are this rank's: its own rows, in its order, indices local to them.
    """

    _fields = ("assignments", "nClusters", "coreIndices", "coreObservations")


class dbscan(Algorithm):
    """DBSCAN: density-based clustering with noise (Ester et al., 1996).

    Parameters
    ----------
    epsilon : float
        Neighbourhood radius (Euclidean distance ``<= epsilon``), > 0.
    minObservations : float
        A point is core when its neighbourhood (itself included) has at least this
        many points, or this much total weight; >= 1.
    fptype : {'double', 'float'}, default 'double'
        dtype of ``coreObservations``.  Distances are float64 either way (float32
        input is widened exactly), as scikit-learn's trees compute them.
    method : {'defaultDense'}
        The only method.
    memorySavingMode : bool, default False
        False keeps each rank's neighbour pairs (8 bytes a pair) for the passes
        over them; True recomputes them block by block in every pass: 1.5-3x
        the time, memory O(n) plus one block's pairs.  Same result.  0 and 1
        are accepted for False and True.
    resultsToCompute : str, default ''
        '|'-joined from 'computeCoreIndices', 'computeCoreObservations'.
    blockIndex, nBlocks, leftBlocks, rightBlocks : int, default -1
        daal4py's internal parameters of its distributed steps; accepted and
        ignored (d4p partitions the data itself).
    distributed : bool, default False
        Each rank passes its own rows and gets the labels of its own rows; the
        labels are those of the batch computation on all rows.
    streaming : bool, default False
        Not supported: DBSCAN needs every row's neighbourhood at once.

    Examples
    --------
    >>> import numpy as np, d4p
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0]])
    >>> d4p.dbscan(epsilon=0.15, minObservations=2).compute(X).assignments.ravel()
    array([ 0,  0,  0, -1], dtype=int32)
    """

    _name = "dbscan"
    # fptype only sets the dtype of coreObservations; memorySavingMode changes how
    # the pairs are held, not the result nor the sequence of collectives.
    _agreed = ("epsilon", "minObservations", "method", "resultsToCompute", "weights")

    def __init__(self, epsilon, minObservations, fptype="double", method="defaultDense",
                 memorySavingMode=False, resultsToCompute="", blockIndex=-1, nBlocks=-1,
                 leftBlocks=-1, rightBlocks=-1, distributed=False, streaming=False):
        self.epsilon = epsilon
        self.minObservations = minObservations
        self.fptype = fptype
        self.method = check_method(self._name, method, METHODS)
        # daal4py's own examples pass memorySavingMode=1
        if isinstance(memorySavingMode, numbers.Integral) and memorySavingMode in (0, 1):
            memorySavingMode = bool(memorySavingMode)
        self.memorySavingMode = check_bool(self._name, "memorySavingMode", memorySavingMode)
        self.resultsToCompute = resultsToCompute
        self._results = parse_flags(self._name, "resultsToCompute", resultsToCompute,
                                    RESULTS, [])
        for name, value in (("blockIndex", blockIndex), ("nBlocks", nBlocks),
                            ("leftBlocks", leftBlocks), ("rightBlocks", rightBlocks)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise TypeError(f"{self._name}: {name} must be an integer, got {value!r}")
            setattr(self, name, int(value))
        self.distributed = check_bool(self._name, "distributed", distributed)
        if check_bool(self._name, "streaming", streaming):
            raise ValueError(f"{self._name}: streaming=True is not supported; DBSCAN needs "
                             "every row at once (pass all of this rank's rows to one compute)")
        self._dtype = check_fptype(fptype)
        self._weighted = False

    def _agreed_values(self):
        return {"epsilon": float(self.epsilon), "minObservations": float(self.minObservations),
                "method": self.method, "resultsToCompute": sorted(self._results),
                "weights": "given" if self._weighted else "not given"}

    def compute(self, data, weights=None):
        """Cluster ``data`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix (densified) or CSV file name
            ``"{}"`` in a file name is replaced by the rank.
        weights : array-like of shape (n, 1) or (n,), optional
            Non-negative weight of each row (scikit-learn's ``sample_weight``).
            In distributed mode every rank passes weights, or none does.

        Returns
        -------
        dbscan_result
        """
        return self._compute((data, weights))

    # ---- the protocol's hooks ----

    def _local(self, inputs):
        data, weights = inputs
        self._eps, self._min_obs = _check_parameters(self._name, self.epsilon,
                                                     self.minObservations)
        X = check_table(data, "data", sparse="densify")
        n, p = X.shape
        if n and p == 0:
            raise ValueError("data has no columns")
        self._weighted = weights is not None
        w = None if weights is None else _check_weights(weights, n)
        X64 = np.ascontiguousarray(X, dtype=np.float64)
        return Part((X, X64, w), {"data": columns_of(X)}, n)

    def _identity(self, shape):
        empty = np.empty((0, shape["data"]))
        return empty, empty, (np.empty(0) if self._weighted else None)

    def _finish(self, stat, run):
        X, X64, w = stat
        if run.size == 1:
            labels, core, n_clusters, self._exchanged = _batch(self, X64, w)
        else:
            labels, core, n_clusters, self._exchanged = _distributed(self, X64, w, run)
        result = {"assignments": labels.astype(np.int32).reshape(-1, 1),
                  "nClusters": np.array([[n_clusters]], dtype=np.int32)}
        core_rows = np.flatnonzero(core)
        if "computeCoreIndices" in self._results:
            result["coreIndices"] = core_rows.astype(np.int32).reshape(-1, 1)
        if "computeCoreObservations" in self._results:
            result["coreObservations"] = as_fptype(X[core_rows].reshape(-1, X.shape[1]),
                                                   self._dtype)
        return dbscan_result(**result)


def _check_parameters(name, epsilon, min_obs):
    """epsilon > 0 (not NaN) and minObservations >= 1, as floats."""
    for param, value in (("epsilon", epsilon), ("minObservations", min_obs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: {param} must be a number, got {value!r}")
    eps = float(epsilon)
    if not eps > 0:
        raise ValueError(f"{name}: epsilon must be > 0, got {epsilon!r}")
    m = float(min_obs)
    if not (m >= 1 and np.isfinite(m)):
        raise ValueError(f"{name}: minObservations must be a finite number >= 1, got {min_obs!r}")
    return eps, m


def _check_weights(weights, n):
    W = check_table(weights, "weights", sparse="densify")
    if W.shape == (0, 0):
        W = W.reshape(0, 1)
    if W.shape != (n, 1):
        raise ValueError(f"weights has shape {W.shape}; expected one weight per row of data, "
                         f"shape ({n}, 1) or ({n},)")
    w = np.ascontiguousarray(W[:, 0], dtype=np.float64)
    if (w < 0).any():
        row = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"weights must be >= 0; row {row} has weight {w[row]}")
    return w


# ---- one set of rows: neighbour pairs, core points, local clusters -------------------


class _Rows:
    """The rows one rank clusters: the ones it owns and, distributed, a halo.

    ``gidx`` are global row indices; positions below are in grid order.
    """

    def __init__(self, X, gidx, w, owned, eps, min_obs, saving):
        if X.shape[0] >= 2 ** 31:
            raise ValueError(f"dbscan: {X.shape[0]} rows on one rank; at most 2**31 - 1 "
                             "(pairs are held as int32 positions): use more ranks")
        order, self.cells, self.start = kern.build_grid(X, eps)
        self.runs = kern.forward_runs(self.cells.shape[1])
        self.bound = np.empty(2 * self.runs.shape[0], np.int64)
        self.order = order
        self.X = np.ascontiguousarray(X[order])
        self.gidx = np.ascontiguousarray(gidx[order])
        self.w = np.ones(X.shape[0]) if w is None else np.ascontiguousarray(w[order])
        self.owned = np.ascontiguousarray(owned[order]).view(np.uint8)
        self.eps2 = float(eps) * float(eps)
        self.min_obs = min_obs
        self.saving = saving
        self._pairs = None
        if saving:
            self.blocks = kern.cell_blocks(self.start, BLOCK_POINTS)
        else:
            self.blocks = np.array([0, self.cells.shape[0]], np.int64)

    @property
    def n(self):
        return self.X.shape[0]

    def pairs(self, total=_NO_FLOATS):
        """The neighbour pairs, in pieces ``(pa, pb)``: all kept, or recomputed one
        block of cells at a time; on the first pass, with ``total``, the kernel adds
        each point's neighbours' weights to it as it finds the pairs."""
        if self._pairs is not None:
            yield from self._pairs
            return
        kept = []
        for c0, c1 in zip(self.blocks[:-1], self.blocks[1:]):
            for piece in self._pairs_of_cells(c0, c1, total):
                if not self.saving:
                    kept.append(piece)
                yield piece
        if not self.saving:
            self._pairs = kept

    def _pairs_of_cells(self, c0, c1, total):
        """The pairs of cells ``c0 .. c1-1``, piece by piece: the kernel fills arrays of
        a fixed room, stops before the first cell that does not fit, and the next piece
        goes on from that cell (with twice the room when not even one cell fits an
        empty piece).  No pair is copied to bigger arrays, and a piece less than half
        full is copied to its size: the room left unused is less than the pairs held."""
        room = max(MIN_PAIRS, PAIRS_PER_POINT * int(self.start[c1] - self.start[c0]), 1)
        c = c0
        while c < c1:
            pa, pb = np.empty(room, np.int32), np.empty(room, np.int32)
            m, done = kern.neighbour_pairs(self.X, self.cells, self.start, self.eps2, self.owned,
                                           self.runs, c, c1, pa, pb, 0, self.bound, self.w,
                                           total)
            if m == 0 and done == c:
                room *= 2
            elif m:
                if 2 * m < room:                 # mostly empty: give the room back
                    pa, pb = pa[:m].copy(), pb[:m].copy()
                yield pa[:m], pb[:m]
            c = done

    def core_and_local_roots(self):
        """Core flags of owned points; each owned core's local root (the smallest
        global index of the owned cores it connects to), -1 elsewhere."""
        total = self.w.copy()              # its own weight, plus its neighbours'
        for _ in self.pairs(total):
            pass
        self.core = (self.owned.astype(bool) & (total >= self.min_obs)).view(np.uint8)
        parent = np.arange(self.n, dtype=np.int64)
        for pa, pb in self.pairs():
            kern.pair_pass(kern.UNITE, pa, pb, self.core, parent, self.gidx, _NO_LINKS)
        # a set's root is its core of smallest global index; non-core points are alone
        self.label = np.where(self.core.astype(bool), self.gidx[kern.roots(parent)], -1)
        return self.core, self.label

    def cross_pairs(self):
        """Pairs of labels of an owned and a halo core point within eps, deduplicated."""
        found = []
        for pa, pb in self.pairs():
            args = (pa, pb, self.owned, self.label, _NO_INTS)
            links = np.empty((kern.pair_pass(kern.LINKS, *args, _NO_LINKS), 2), np.int64)
            kern.pair_pass(kern.LINKS, *args, links)
            found.append(links)
        both = np.concatenate(found) if found else np.empty((0, 2), np.int64)
        both = np.sort(both, axis=1)
        return np.unique(both, axis=0) if both.size else both

    def border_roots(self, roots):
        """``roots`` (a global root per core point, -1 elsewhere) plus, for owned
        non-core points, the smallest root among their core neighbours."""
        best = np.where(self.core.astype(bool), roots, -1)
        border = (self.owned.astype(bool) & ~self.core.astype(bool)).view(np.uint8)
        for pa, pb in self.pairs():
            kern.pair_pass(kern.BORDER, pa, pb, border, roots, best, _NO_LINKS)
        return best

    def in_input_order(self, values):
        out = np.empty_like(values)
        out[self.order] = values
        return out


def _batch(algo, X64, w):
    n = X64.shape[0]
    rows = _Rows(X64, np.arange(n, dtype=np.int64), w, np.ones(n, bool), algo._eps,
                 algo._min_obs, algo.memorySavingMode)
    core, label = rows.core_and_local_roots()
    best = rows.border_roots(label)
    roots = np.sort(rows.gidx[core.astype(bool) & (label == rows.gidx)])
    labels = np.where(best >= 0, np.searchsorted(roots, best), -1)
    return (rows.in_input_order(labels), rows.in_input_order(core).astype(bool), roots.size,
            {})


# ---- distributed -----------------------------------------------------------------------


def _nbytes(obj):
    """Bytes of the arrays in a (nested) message: what crosses the wire, roughly."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(o) for o in obj)
    return 0


def _split_coordinate(comm, X64, width):
    """The coordinate to cut into slabs and its ``size - 1`` cut points (global
    quantiles), the same on every rank.

    Among the widest coordinates, the one that moves the fewest rows: rows that
    leave their rank plus halo copies (rows within a cell width of a cut).  Rows
    already split by space over the ranks then mostly stay where they are.
    """
    n, p = X64.shape
    low = comm.allreduce(X64.min(axis=0) if n else np.full(p, np.inf), "min")
    high = comm.allreduce(X64.max(axis=0) if n else np.full(p, -np.inf), "max")
    with np.errstate(invalid="ignore", over="ignore"):
        spread = np.nan_to_num(high - low, nan=0.0, posinf=np.finfo(float).max)
    candidates = np.argsort(-spread, kind="stable")[:SPLIT_CANDIDATES]
    take = min(n, QUANTILE_SAMPLE)
    rows = (np.arange(take) * n) // take if take else np.empty(0, np.int64)
    picks = np.sort(X64[np.ix_(rows, candidates)], axis=0)
    samples = comm.allgather((picks, float(n) / take if take else 0.0))
    vals = np.concatenate([v for v, _ in samples])
    wts = np.concatenate([np.full(v.shape[0], s) for v, s in samples])
    targets = wts.sum() * np.arange(1, comm.size) / comm.size
    cuts, cost = [], np.zeros(candidates.size)
    for c, k in enumerate(candidates):
        by = np.argsort(vals[:, c], kind="stable")
        cum = np.cumsum(wts[by])
        cut = vals[by, c][np.minimum(np.searchsorted(cum, targets, side="right"),
                                     vals.shape[0] - 1)]
        cuts.append(cut)
        x = X64[:, k]
        owner = np.searchsorted(cut, x, side="right")
        near = np.searchsorted(cut, x + width, side="right") - np.searchsorted(cut, x - width)
        cost[c] = np.count_nonzero(owner != comm.rank) + near.sum()
    cost = comm.allreduce(cost, "sum")
    best = int(np.argmin(cost))
    return int(candidates[best]), cuts[best]


def _distributed(algo, X64, w, run):
    comm, P, me = run.comm, run.size, run.rank
    n = X64.shape[0]
    width = kern.cell_width(algo._eps)
    sent = {}
    with Agreement(comm, run.where):
        k, cuts = _split_coordinate(comm, X64, width)
        x = X64[:, k]
        owner = np.searchsorted(cuts, x, side="right")
        halo_low = np.concatenate(([-np.inf], cuts)) - width
        halo_high = np.concatenate((cuts, [np.inf])) + width
        gidx = run.row_offset + np.arange(n, dtype=np.int64)
        out = []
        for d in range(P):
            mine = np.flatnonzero(owner == d)
            halo = np.flatnonzero((owner != d) & (x >= halo_low[d]) & (x <= halo_high[d]))
            both = np.concatenate((mine, halo))
            out.append((X64[both], gidx[both], None if w is None else w[both], mine.size))
    sent["rows"] = sum(o[0].shape[0] for d, o in enumerate(out) if d != me)
    sent["rows moved"] = int(np.count_nonzero(owner != me))
    sent["split"] = (k, cuts.copy())
    sent["row bytes"] = sum(_nbytes(o) for d, o in enumerate(out) if d != me)
    got = comm.alltoall(out)
    del out

    with Agreement(comm, run.where):
        owned_parts = [(g[:m], r[:m], None if ww is None else ww[:m]) for r, g, ww, m in got]
        halo_parts = [(g[m:], r[m:], None if ww is None else ww[m:]) for r, g, ww, m in got]
        own_counts = [m for *_, m in got]
        parts = owned_parts + halo_parts
        S_gidx = np.concatenate([g for g, _, _ in parts])
        S_X = np.concatenate([r for _, r, _ in parts]).reshape(-1, X64.shape[1])
        S_w = None if w is None else np.concatenate([ww for _, _, ww in parts])
        n_own = sum(own_counts)
        owned = np.zeros(S_gidx.size, bool)
        owned[:n_own] = True
        del got, parts, owned_parts, halo_parts
        rows = _Rows(S_X, S_gidx, S_w, owned, algo._eps, algo._min_obs, algo.memorySavingMode)
        del S_X
        core, label = rows.core_and_local_roots()
        # core points of this slab that lie in another slab's halo: (gidx, local root)
        xs = rows.X[:, k]
        is_core = core.astype(bool)
        out = []
        for e in range(P):
            sel = is_core & (xs >= halo_low[e]) & (xs <= halo_high[e]) if e != me else None
            out.append(None if e == me else (rows.gidx[sel], label[sel]))
    sent["halo cores"] = sum(_nbytes(o) for o in out)
    got = comm.alltoall(out)

    with Agreement(comm, run.where):
        halo_pos = np.flatnonzero(~rows.owned.astype(bool))
        halo_by_gidx = halo_pos[np.argsort(rows.gidx[halo_pos], kind="stable")]
        halo_sorted = rows.gidx[halo_by_gidx]
        for e, msg in enumerate(got):
            if e == me or msg[0].size == 0:
                continue
            g, lab = msg
            at = np.searchsorted(halo_sorted, g)
            ok = (at < halo_sorted.size)
            ok[ok] = halo_sorted[at[ok]] == g
            pos = halo_by_gidx[at[ok]]
            label[pos] = lab[ok]          # a halo core: its owner's local root
        rows.label = label
        links = rows.cross_pairs()
    sent["links"] = links.nbytes * (P - 1)
    all_links = comm.allgather(links)

    with Agreement(comm, run.where):
        roots = _resolve(np.concatenate(all_links), label)
        best = rows.border_roots(roots)
        mine = rows.owned.astype(bool)
        my_roots = rows.gidx[is_core & mine & (roots == rows.gidx)]
    sent["roots"] = my_roots.nbytes * (P - 1)
    every_root = np.sort(np.concatenate(comm.allgather(my_roots)))

    with Agreement(comm, run.where):
        numbers = np.where(best >= 0, np.searchsorted(every_root, best), -1).astype(np.int32)
        # back to the ranks the rows came from, in the order they were sent
        numbers_in = rows.in_input_order(numbers)
        core_in = rows.in_input_order(core)
        bounds = np.concatenate(([0], np.cumsum(own_counts)))
        out = [(numbers_in[bounds[s]:bounds[s + 1]], core_in[bounds[s]:bounds[s + 1]])
               for s in range(P)]
    sent["labels"] = sum(_nbytes(o) for s, o in enumerate(out) if s != me)
    got = comm.alltoall(out)
    labels = np.empty(n, np.int32)
    core_flags = np.zeros(n, bool)
    for d, (lab, cf) in enumerate(got):
        at = owner == d
        labels[at] = lab
        core_flags[at] = cf.astype(bool)
    return labels, core_flags, every_root.size, sent


def _resolve(links, label):
    """Each point's global cluster root: the smallest local root connected to its
    own through ``links`` (pairs of local roots of touching clusters); -1 stays -1."""
    if links.size == 0:
        return label.copy()
    nodes, compact = np.unique(links, return_inverse=True)
    if nodes.size >= 2 ** 31:
        raise ValueError(f"dbscan: {nodes.size} clusters touch across ranks; at most "
                         "2**31 - 1 (they are united as int32 positions)")
    ends = compact.reshape(-1, 2).astype(np.int32)
    # union-find on the compact numbers, each set's root its smallest number (the
    # numbers are in the order of the roots they stand for)
    parent = np.arange(nodes.size, dtype=np.int64)
    kern.pair_pass(kern.UNITE, np.ascontiguousarray(ends[:, 0]), np.ascontiguousarray(ends[:, 1]),
                   np.ones(nodes.size, np.uint8), parent, parent.copy(), _NO_LINKS)
    root_of = nodes[kern.roots(parent)]
    out = label.copy()
    has = label >= 0
    at = np.searchsorted(nodes, label[has])
    hit = at < nodes.size
    hit[hit] = nodes[at[hit]] == label[has][hit]
    idx = np.flatnonzero(has)[hit]
    out[idx] = root_of[at[hit]]
    return out
