"""Numba kernel of brute-force k-nearest neighbours under the non-Euclidean metrics.

Every (query, training row) pair is computed exactly in float64 and folded into
the query's max-heap of its k best (distance, global row) pairs, the heaps of
:mod:`d4p.kernels.neighbors` (ties to the lower row).  The heap holds the
*reduced* distance, a monotone function of the distance that is cheaper to
compute: ``sum |q - x|^p`` for Minkowski (the caller takes the p-th root at the
end, as scikit-learn does), the distance itself for the others.

The training rows come transposed (``XT``, one row per column): for one query
the kernel accumulates a block of training rows at once, column after column,
so the innermost loop runs over independent rows and vectorises without any
reassociation (each pair's sum is still taken in column order, the same bits
whatever the block or the split).

Minkowski's powers are slow, so a block is first screened with two lower bounds
of the p-th root of ``sum |q - x|^p`` that need no power: the largest difference
(Chebyshev), and the sum of differences (Manhattan) times ``p_cols^(1/p - 1)``
(the power mean inequality; for p < 1 the sum itself).  A row whose bound,
shrunk by a margin far wider than the rounding of both sides, exceeds the p-th
root of the worst kept value cannot enter the heap; the others get the exact
sum of powers.
"""
import numpy as np

from .jit import kernel
from .neighbors import before, sift_down

MANHATTAN = 1
CHEBYSHEV = 2
MINKOWSKI = 3
#: 1 - q·x of rows the caller normalised to unit length (zero rows stay zero), in [0, 2].
COSINE = 4

#: Training rows per block: a block of 20-column rows stays in the L1/L2 cache while
#: every query passes over it.
BLOCK_ROWS = 256


@kernel
def fold_metric(Q, XT, first, metric, power, heap_d, heap_i):  # noqa: C901 - one loop nest
    """Fold the training rows ``XT.T`` into the queries' heaps under ``metric``.

    Parameters
    ----------
    Q : (m, p) float64, the queries
    XT : (p, b) float64, the training rows transposed (for COSINE, queries and rows
        normalised to unit length, zero rows left zero)
    first : int, global index of the first training row
    metric : int, MANHATTAN, CHEBYSHEV, MINKOWSKI or COSINE
    power : float, Minkowski's p (used by MINKOWSKI only)
    heap_d, heap_i : (m, k) float64 / int64, max-heaps (root = worst kept row) of
        reduced distances and global rows, updated in place
    """
    m, p = Q.shape
    b = XT.shape[1]
    k = heap_d.shape[1]
    acc = np.empty(BLOCK_ROWS)
    top = np.empty(BLOCK_ROWS)
    # Minkowski's screen: bound = max(top, acc * mean_scale) <= (sum |d|^p)^(1/p); the
    # rounding of the bound, the sum and the root is below (p + 4) u power relative
    # (u = 2^-53), so a margin 64 times that wide keeps every row that could enter
    inv = 1.0 / power if power > 0 else 1.0
    mean_scale = float(p) ** (inv - 1.0) if power >= 1 else 1.0
    margin = max(0.0, 1.0 - 64.0 * (p + 4) * max(power, 1.0) * 2.0 ** -53)
    for xa in range(0, b, BLOCK_ROWS):
        w = min(xa + BLOCK_ROWS, b) - xa
        for i in range(m):
            for j in range(w):
                acc[j] = 0.0
                top[j] = 0.0
            for c in range(p):
                qc = Q[i, c]
                row = XT[c, xa:xa + w]
                if metric == MANHATTAN:
                    for j in range(w):
                        acc[j] += abs(qc - row[j])
                elif metric == CHEBYSHEV:
                    for j in range(w):
                        t = abs(qc - row[j])
                        top[j] = max(top[j], t)
                elif metric == MINKOWSKI:
                    for j in range(w):
                        t = abs(qc - row[j])
                        acc[j] += t
                        top[j] = max(top[j], t)
                else:
                    for j in range(w):
                        acc[j] += qc * row[j]
            hd = heap_d[i]
            hi = heap_i[i]
            worst_root = hd[0] ** inv
            for j in range(w):
                idx = first + xa + j
                if metric == MANHATTAN:
                    d = acc[j]
                elif metric == CHEBYSHEV:
                    d = top[j]
                elif metric == COSINE:
                    d = min(max(1.0 - acc[j], 0.0), 2.0)
                else:
                    bound = max(top[j], acc[j] * mean_scale) * margin
                    if bound > worst_root:
                        continue
                    d = 0.0
                    for c in range(p):
                        d += abs(Q[i, c] - XT[c, xa + j]) ** power
                        if d > hd[0]:
                            break
                if before(d, idx, hd[0], hi[0]):
                    hd[0] = d
                    hi[0] = idx
                    sift_down(hd, hi, k)
                    if metric == MINKOWSKI:
                        worst_root = hd[0] ** inv


def unit_rows(A):
    """Rows of ``A`` (float64) divided by their Euclidean norms; zero rows stay zero
    (scikit-learn's ``normalize``, which its cosine distance uses)."""
    norms = np.sqrt(np.einsum("ij,ij->i", A, A))
    norms[norms == 0] = 1.0
    return A / norms[:, None]
