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
import itertools

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


def forward_runs(g):
    """Where a cell's forward neighbours lie, as offsets from the cell's coordinates:
    one row per run of consecutive cells, ``g + 1`` columns: the offsets of the first
    ``g - 1`` coordinates, then the offsets of the last coordinate where the run
    starts and where it ends (exclusive).

    Run 0 is the cell itself and the next cell along the last coordinate; then, in
    lexicographic order, every offset of the other coordinates that is
    lexicographically positive, with last-coordinate offsets -1 .. +1.
    """
    runs = [(0,) * (g - 1) + (0, 2)]
    for off in itertools.product((-1, 0, 1), repeat=g - 1):
        if any(off) and next(o for o in off if o) > 0:
            runs.append(off + (-1, 2))
    return np.array(runs, dtype=np.int64)


@kernel
def neighbour_pairs(Xs, cells, start, eps2, owned, runs, c0, c1, pa, pb, m, bound, w, total):
    """The pairs ``(a, b)``, ``a < b`` sorted positions, of points within eps of each
    other, ``a`` in cells ``c0 .. c1-1``, written to ``pa[m:]``, ``pb[m:]`` (int32);
    pairs of two points not ``owned`` (two halo points) are skipped.

    Stops before a cell whose pairs do not fit: returns the number of pairs held and
    the first cell not done (``c1`` when all are), so the caller can go on from
    there in new arrays.  Unless ``total`` is empty, also ``total[a] += w[b]`` and
    ``total[b] += w[a]`` for each pair of each finished cell, in the order found
    (float64): the weights of the neighbourhoods.  ``runs`` is
    ``forward_runs(cells.shape[1])``; ``bound`` is scratch of ``2 * runs.shape[0]``
    int64.

    One kernel without callees or numpy calls: on a program's first run each
    callee, inlined or not, and each numpy function costs a compile of its own.
    """
    p = Xs.shape[1]
    g = cells.shape[1]
    ncell = cells.shape[0]
    nrun = runs.shape[0]
    cap = pa.shape[0]
    for ci in range(c0, c1):
        # binary search for the first cell >= each run's start and end coordinates
        for q in range(2 * nrun):
            r = q >> 1
            lo, hi = 0, ncell
            while lo < hi:
                mid = (lo + hi) >> 1
                less = False
                for d in range(g):
                    col = d if d < g - 1 else d + (q & 1)
                    want = cells[ci, d] + runs[r, col]
                    if cells[mid, d] != want:
                        less = cells[mid, d] < want
                        break
                if less:
                    lo = mid + 1
                else:
                    hi = mid
            bound[q] = lo
        m0 = m
        for a in range(start[ci], start[ci + 1]):
            own_a = owned[a] != 0
            for r in range(nrun):
                first = a + 1 if r == 0 else start[bound[2 * r]]
                end = start[bound[2 * r + 1]]
                for b in range(first, end):
                    s = 0.0
                    for j in range(p):           # column order, as scikit-learn's trees
                        t = Xs[a, j] - Xs[b, j]
                        s += t * t
                    if s <= eps2 and (own_a or owned[b]):
                        if m == cap:
                            return m0, ci
                        pa[m] = a
                        pb[m] = b
                        m += 1
        if total.shape[0] > 0:
            for t in range(m0, m):
                total[pa[t]] += w[pb[t]]
                total[pb[t]] += w[pa[t]]
    return m, c1


#: The passes ``pair_pass`` makes over the neighbour pairs (its ``step``).
UNITE, LINKS, BORDER = 0, 1, 2


@kernel
def pair_pass(step, pa, pb, flag, label, key, out):
    """One pass over the pairs ``(a, b) = (pa[t], pb[t])``; arrays a step does not
    use may be empty.  One kernel for the three passes: each kernel costs a compile
    of its own on a program's first run.

    * ``UNITE``: union-find in ``label`` (the parents) of the pairs whose two points
      are ``flag``-ged (core points); each set's root is its point of smallest ``key``.
    * ``LINKS``: ``(label[a], label[b])`` of the pairs of a ``flag``-ged (owned) and
      an unflagged (halo) point that carry two different labels ``>= 0``, written to
      the rows of ``out`` ((k, 2) int64) while there is room.
    * ``BORDER``: for each ``flag``-ged (border) point, the smallest ``label`` ``>= 0``
      among its neighbours, into ``key`` (-1: none yet): scikit-learn's border rule
      (the first cluster to reach it, clusters being expanded one after another in
      order of their smallest core index).

    Returns the number of links (``LINKS``), else 0.
    """
    found = 0
    for t in range(pa.shape[0]):
        a = np.int64(pa[t])
        b = np.int64(pb[t])
        if step == UNITE:
            if flag[a] and flag[b]:
                while label[a] != a:             # the roots, by path halving
                    label[a] = label[label[a]]
                    a = label[a]
                while label[b] != b:
                    label[b] = label[label[b]]
                    b = label[b]
                if a != b:
                    if key[a] < key[b]:
                        label[b] = a
                    else:
                        label[a] = b
        elif step == LINKS:
            if flag[a] != flag[b] and label[a] >= 0 and label[b] >= 0 and label[a] != label[b]:
                if found < out.shape[0]:
                    out[found, 0] = label[a]
                    out[found, 1] = label[b]
                found += 1
        else:
            if flag[a] and label[b] >= 0 and (key[a] < 0 or label[b] < key[a]):
                key[a] = label[b]
            if flag[b] and label[a] >= 0 and (key[b] < 0 or label[a] < key[b]):
                key[b] = label[a]
    return found


def roots(parent):
    """Each node's root in a union-find forest of ``parent`` links, by pointer
    jumping: each numpy pass halves every path, so about log2 of the deepest tree's
    depth passes (not a kernel: one compile fewer, and not the hot part)."""
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            return up
        parent = up
