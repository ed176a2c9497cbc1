"""Numba kernel of brute-force k-nearest neighbours under the non-Euclidean metrics.

Every (query, training row) pair is computed exactly in float64 and folded into
the query's max-heap of its k best (distance, global row) pairs, the heaps of
:mod:`d4p.kernels.neighbors` (ties to the lower row).  The heap holds the
*reduced* distance, a monotone function of the distance that is cheaper to
compute: ``sum |q - x|^p`` for Minkowski (the caller takes the p-th root at the
end, as scikit-learn does), the distance itself for the others.  The sums of
Manhattan and Minkowski and the maximum of Chebyshev only grow over the
columns, so a pair is dropped as soon as its partial value exceeds the worst
kept one (a value equal to it may still win on its lower row, so it is kept).
"""
import numpy as np

from .jit import kernel
from .neighbors import before, sift_down

MANHATTAN = 1
CHEBYSHEV = 2
MINKOWSKI = 3
#: 1 - q·x of rows the caller normalised to unit length (zero rows stay zero), in [0, 2].
COSINE = 4

#: Training rows per block: a block of 20-column rows stays in the L2 cache while
#: every query passes over it.
BLOCK_ROWS = 512


@kernel
def fold_metric(Q, X, first, metric, power, heap_d, heap_i):
    """Fold the training rows ``X`` into the queries' heaps under ``metric``.

    Parameters
    ----------
    Q, X : (m, p), (b, p) float64, the queries and the training rows (for COSINE
        both normalised to unit rows, zero rows left zero)
    first : int, global index of ``X[0]``
    metric : int, MANHATTAN, CHEBYSHEV, MINKOWSKI or COSINE
    power : float, Minkowski's p (used by MINKOWSKI only)
    heap_d, heap_i : (m, k) float64 / int64, max-heaps (root = worst kept row) of
        reduced distances and global rows, updated in place
    """
    m, p = Q.shape
    b = X.shape[0]
    k = heap_d.shape[1]
    for xa in range(0, b, BLOCK_ROWS):
        xb = min(xa + BLOCK_ROWS, b)
        for i in range(m):
            hd = heap_d[i]
            hi = heap_i[i]
            for j in range(xa, xb):
                worst = hd[0]
                d = 0.0
                if metric == MANHATTAN:
                    for c in range(p):
                        d += abs(Q[i, c] - X[j, c])
                        if d > worst:
                            break
                elif metric == CHEBYSHEV:
                    for c in range(p):
                        t = abs(Q[i, c] - X[j, c])
                        if t > d:
                            d = t
                            if d > worst:
                                break
                elif metric == MINKOWSKI:
                    for c in range(p):
                        d += abs(Q[i, c] - X[j, c]) ** power
                        if d > worst:
                            break
                else:
                    s = 0.0
                    for c in range(p):
                        s += Q[i, c] * X[j, c]
                    d = min(max(1.0 - s, 0.0), 2.0)
                idx = first + j
                if before(d, idx, hd[0], hi[0]):
                    hd[0] = d
                    hi[0] = idx
                    sift_down(hd, hi, k)


def unit_rows(A):
    """Rows of ``A`` (float64) divided by their Euclidean norms; zero rows stay zero
    (scikit-learn's ``normalize``, which its cosine distance uses)."""
    norms = np.sqrt(np.einsum("ij,ij->i", A, A))
    norms[norms == 0] = 1.0
    return A / norms[:, None]
