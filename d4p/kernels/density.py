"""DBSCAN kernels: a grid of eps-wide cells, neighbour pairs, union-find over core points.

Neighbours are found on a grid over (at most) three coordinates, cells a little
wider than ``eps``: two points within ``eps`` of each other lie in the same or in
adjacent cells, so each cell is compared with itself and its "forward" neighbour
cells only (each unordered pair once).  Cells are sorted lexicographically by
their integer coordinates, so the forward neighbours of a cell are a few runs of
consecutive cells, found by binary search; memory is O(n) for the grid plus what
the caller keeps of the pairs, never n x n.

Distances are ``sum_j (x_j - y_j)**2 <= eps**2`` in float64, term by term in
column order: the test scikit-learn's KD and ball trees make, so a point at
exactly ``eps`` is decided the same way.
"""
import numpy as np
from .jit import kernel

#: Coordinates the grid is built on (the widest ones).
GRID_DIMS = 3
#: Cell coordinates are clamped to [0, MAX_CELL]: clamping is monotone, so points
#: in cells more than one apart stay more than one apart, and the rounding of
#: ``(x - origin) / width`` stays far below the cell widening below.
MAX_CELL = 2 ** 30
#: Relative widening of a cell (and of a halo) over eps: it absorbs the rounding of
#: the distance test (a few ulps) and of the cell coordinates (< 2**-20 of a cell).
WIDEN = 2.0 ** -16
#: Below this eps, eps**2 leaves float64's normal range and the distance test's
#: rounding is absolute, not relative; cells are this wide at least.
TINY = 1e-150


def cell_width(eps):
    """Width of a grid cell and of a halo: any two points the distance test accepts
    differ by less than this in every coordinate."""
    return max(float(eps), TINY) * (1.0 + WIDEN)


def build_grid(X, eps):
    """Sort the rows of ``X`` (float64, C order) into grid cells.

    Returns ``order`` (sorted position -> row of X), ``cells`` (one row of integer
    coordinates per non-empty cell, lexicographically increasing) and ``start``
    (sorted positions of each cell's first point; ``start[-1] == n``).  Within a
    cell, points keep their order in ``X``.
    """
    n, p = X.shape
    if n == 0:
        return (np.empty(0, np.int64), np.empty((0, 1), np.int64), np.zeros(1, np.int64))
    width = cell_width(eps)
    low = X.min(axis=0)
    spread = X.max(axis=0) - low
    dims = np.argsort(-spread, kind="stable")[:min(p, GRID_DIMS)]
    useful = dims[spread[dims] >= width]          # a coordinate in one cell sorts nothing
    dims = useful if useful.size else dims[:1]
    with np.errstate(over="ignore", invalid="ignore"):
        coords = np.floor((X[:, dims] - low[dims]) / width)
    np.clip(coords, 0, MAX_CELL, out=coords)
    coords = coords.astype(np.int64)
    order = np.lexsort(coords.T[::-1])            # first grid coordinate varies slowest
    sorted_coords = coords[order]
    first = np.ones(n, dtype=bool)
    first[1:] = np.any(sorted_coords[1:] != sorted_coords[:-1], axis=1)
    starts = np.flatnonzero(first)
    cells = np.ascontiguousarray(sorted_coords[starts])
    return order.astype(np.int64), cells, np.append(starts, n).astype(np.int64)


def cell_blocks(start, points_per_block):
    """Cut the cells into consecutive blocks of about ``points_per_block`` points:
    the boundaries, as cell indices, for scanning the pairs a block at a time."""
    ncell = start.shape[0] - 1
    if ncell == 0:
        return np.zeros(1, np.int64)
    targets = np.arange(points_per_block, start[-1], points_per_block)
    inner = np.searchsorted(start, targets)
    return np.unique(np.concatenate(([0], inner[(inner > 0) & (inner < ncell)], [ncell])))


@kernel
def _lower_bound(cells, key):
    """First cell whose coordinates are >= ``key`` lexicographically."""
    lo, hi = 0, cells.shape[0]
    g = cells.shape[1]
    while lo < hi:
        mid = (lo + hi) >> 1
        less = False
        for d in range(g):
            if cells[mid, d] != key[d]:
                less = cells[mid, d] < key[d]
                break
        if less:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel
def _forward_ranges(cells, ci, ranges, key):
    """Fill ``ranges`` with runs [first, end) of cells holding cell ``ci``'s forward
    neighbours: itself and the next cell along the last coordinate, and the cells
    whose offset on the other coordinates is lexicographically positive.  Returns
    the number of runs."""
    g = cells.shape[1]
    for d in range(g):
        key[d] = cells[ci, d]
    key[g - 1] += 2
    ranges[0, 0] = ci
    ranges[0, 1] = _lower_bound(cells, key)
    count = 1
    combos = 1
    for _ in range(g - 1):
        combos *= 3
    for code in range(combos):
        rest = code
        sign = 0
        for d in range(g - 2, -1, -1):       # digits of code: offsets -1, 0, +1
            off = rest % 3 - 1
            rest //= 3
            key[d] = cells[ci, d] + off
            if off != 0:
                sign = off                   # the last assignment is the first digit's
        if sign <= 0:
            continue                          # backward (or the own) offset
        key[g - 1] = cells[ci, g - 1] - 1
        first = _lower_bound(cells, key)
        key[g - 1] = cells[ci, g - 1] + 2
        end = _lower_bound(cells, key)
        if end > first:
            ranges[count, 0] = first
            ranges[count, 1] = end
            count += 1
    return count


@kernel(inline="always")
def _grown(a, m):
    """Twice the room, the first ``m`` entries kept (a plain loop: slice copies
    cost far more to compile)."""
    out = np.empty(2 * a.shape[0], a.dtype)
    for i in range(m):
        out[i] = a[i]
    return out


@kernel
def neighbour_pairs(Xs, cells, start, eps2, owned, c0, c1):
    """Pairs ``(a, b)``, ``a < b`` sorted positions, of points within eps of each
    other, ``a`` in cells ``c0 .. c1-1``; pairs of two points not ``owned`` (two halo
    points) are skipped.  Returns two int32 arrays and the number of pairs in them."""
    p = Xs.shape[1]
    g = cells.shape[1]
    combos = 1
    for _ in range(g - 1):
        combos *= 3
    ranges = np.empty((1 + combos // 2, 2), np.int64)
    key = np.empty(g, np.int64)
    cap = max(1024, 4 * (start[c1] - start[c0]))
    pa = np.empty(cap, np.int32)
    pb = np.empty(cap, np.int32)
    m = 0
    xa = np.empty(p)
    for ci in range(c0, c1):
        nr = _forward_ranges(cells, ci, ranges, key)
        for a in range(start[ci], start[ci + 1]):
            for j in range(p):
                xa[j] = Xs[a, j]
            own_a = owned[a] != 0
            for r in range(nr):
                lo = a + 1 if r == 0 else start[ranges[r, 0]]
                hi = start[ranges[r, 1]]
                for b in range(lo, hi):
                    s = 0.0
                    for j in range(p):           # column order, as scikit-learn's trees
                        t = xa[j] - Xs[b, j]
                        s += t * t
                    if s <= eps2 and (own_a or owned[b]):
                        if m == cap:
                            pa = _grown(pa, m)
                            pb = _grown(pb, m)
                            cap = pa.shape[0]
                        pa[m] = a
                        pb[m] = b
                        m += 1
    return pa, pb, m


@kernel
def add_pair_weights(pa, pb, w, total):
    """``total[a] += w[b]`` and ``total[b] += w[a]`` for every pair (in float64)."""
    for t in range(pa.shape[0]):
        a = pa[t]
        b = pb[t]
        total[a] += w[b]
        total[b] += w[a]


@kernel
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]        # path halving
        i = parent[i]
    return i


@kernel
def union_pairs(pa, pb, ok, parent, key):
    """Union the pairs whose two points are ``ok``; each set's root is its point of
    smallest ``key``."""
    for t in range(pa.shape[0]):
        a = pa[t]
        b = pb[t]
        if ok[a] and ok[b]:
            ra = _find(parent, a)
            rb = _find(parent, b)
            if ra != rb:
                if key[ra] < key[rb]:
                    parent[rb] = ra
                else:
                    parent[ra] = rb


@kernel
def root_keys(parent, key, ok):
    """The key of each ``ok`` point's root (the smallest key of its set); -1 elsewhere."""
    n = parent.shape[0]
    out = np.full(n, -1, np.int64)
    for i in range(n):
        if ok[i]:
            out[i] = key[_find(parent, i)]
    return out


@kernel
def cross_label_pairs(pa, pb, label, owned):
    """``(label[a], label[b])`` for pairs of an owned and a halo point that both carry
    a label (both are core points), as an (m, 2) int64 array."""
    m = 0
    for t in range(pa.shape[0]):
        a = pa[t]
        b = pb[t]
        if owned[a] != owned[b] and label[a] >= 0 and label[b] >= 0 and label[a] != label[b]:
            m += 1
    out = np.empty((m, 2), np.int64)
    m = 0
    for t in range(pa.shape[0]):
        a = pa[t]
        b = pb[t]
        if owned[a] != owned[b] and label[a] >= 0 and label[b] >= 0 and label[a] != label[b]:
            out[m, 0] = label[a]
            out[m, 1] = label[b]
            m += 1
    return out


@kernel
def border_minimum(pa, pb, label, border, best):
    """For each ``border`` point, the smallest ``label`` (>= 0) among its neighbours:
    scikit-learn's border rule (the first cluster to reach it, clusters being
    expanded one after another in order of their smallest core index)."""
    for t in range(pa.shape[0]):
        a = pa[t]
        b = pb[t]
        if border[a] and label[b] >= 0 and (best[a] < 0 or label[b] < best[a]):
            best[a] = label[b]
        if border[b] and label[a] >= 0 and (best[b] < 0 or label[a] < best[b]):
            best[b] = label[a]


@kernel
def union_find_min(a, b, nlabels):
    """Connected components of the graph on ``0..nlabels-1`` with edges (a[t], b[t]):
    each node's component root, the component's smallest node."""
    parent = np.arange(nlabels)
    for t in range(a.shape[0]):
        ra = _find(parent, a[t])
        rb = _find(parent, b[t])
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    for i in range(nlabels):
        parent[i] = _find(parent, i)
    return parent
