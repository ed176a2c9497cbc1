"""Class x feature count tables for multinomial naive Bayes, in one pass over the data.

For rows ``lo:hi`` with labels ``y`` (already checked to be class indices) and
optional non-negative weights ``w``, a block's table ``T`` of shape
(nClasses, p + 1) holds

    T[c, j] = sum of w_i * X[i, j] over the rows i of class c      (j < p)
    T[c, p] = sum of w_i over the rows of class c                  (class weight)

The rows are cut into blocks whose size depends only on (n, p, nClasses), never
on the thread count; every block is summed from zero in row order and the block
tables are added in block order.  So the serial and the parallel driver give
bitwise identical tables, and the dense and the CSR kernel too (a dense zero adds
exactly nothing).  Each block also counts the negative values it read, so the
caller can reject negative counts without a second pass over the data (an integer
count keeps the inner loop vectorised, where a running minimum would not be).
"""
import numpy as np
from numba import njit, prange

#: Elements of X per block (2 MiB of float64): large enough to amortise a block's
#: table, small enough to give every thread several blocks.
BLOCK_ELEMENTS = 1 << 18
#: Upper bound of the memory the per-block tables of one call may take.
TABLE_BUDGET_BYTES = 64 << 20


def block_rows(n, p, n_classes):
    """Rows per block for an (n, p) input and ``n_classes`` classes.

    At least ``BLOCK_ELEMENTS`` elements per block, and few enough blocks that
    their (n_classes, p + 1) tables fit in ``TABLE_BUDGET_BYTES``.
    """
    p = max(int(p), 1)
    rows = max(64, -(-BLOCK_ELEMENTS // p))
    table_bytes = 8 * max(int(n_classes), 1) * (p + 1)
    max_blocks = max(1, min(4096, TABLE_BUDGET_BYTES // table_bytes))
    return max(rows, -(-int(n) // max_blocks))


@njit(cache=True, nogil=True)
def first_bad_label(y, n_classes):
    """Index of the first label that is not an integer in 0..n_classes-1 (NaN
    included), or -1."""
    for i in range(y.shape[0]):
        v = y[i]
        if not (v >= 0.0 and v < n_classes and v == np.floor(v)):
            return i
    return -1


@njit(cache=True, nogil=True)
def _dense_block(X, y, w, lo, hi, n_classes):
    """(table, number of negative values) of rows ``lo:hi`` of a dense X."""
    p = X.shape[1]
    table = np.zeros((n_classes, p + 1))
    negatives = 0
    weighted = w.shape[0] > 0
    if X.strides[0] < X.strides[1]:  # column-major: walk each column contiguously
        for j in range(p):
            for i in range(lo, hi):
                x = np.float64(X[i, j])
                wi = w[i] if weighted else 1.0
                table[np.int64(y[i]), j] += wi * x
                negatives += x < 0.0
        for i in range(lo, hi):
            table[np.int64(y[i]), p] += w[i] if weighted else 1.0
    else:
        for i in range(lo, hi):
            wi = w[i] if weighted else 1.0
            row = X[i]
            t = table[np.int64(y[i])]
            for j in range(p):
                x = np.float64(row[j])
                t[j] += wi * x
                negatives += x < 0.0
            t[p] += wi
    return table, negatives


@njit(cache=True, nogil=True)
def _csr_block(data, indices, indptr, p, y, w, lo, hi, n_classes):
    """(table, number of negative stored values) of rows ``lo:hi`` of a CSR matrix."""
    table = np.zeros((n_classes, p + 1))
    negatives = 0
    weighted = w.shape[0] > 0
    for i in range(lo, hi):
        c = np.int64(y[i])
        wi = w[i] if weighted else 1.0
        for q in range(indptr[i], indptr[i + 1]):
            x = np.float64(data[q])
            table[c, indices[q]] += wi * x
            negatives += x < 0.0
        table[c, p] += wi
    return table, negatives


@njit(cache=True, nogil=True)
def _fold(parts, negatives):
    """Add the block tables in block order; the total count of negative values."""
    total = np.zeros(parts.shape[1:])
    for b in range(parts.shape[0]):
        total += parts[b]
    return total, negatives.sum()


@njit(cache=True, nogil=True)
def counts_dense_serial(X, y, w, n_classes, rows):
    """Count table (n_classes, p + 1) and number of negative values of a dense X, on
    one thread."""
    n, p = X.shape
    nblocks = (n + rows - 1) // rows
    total = np.zeros((n_classes, p + 1))
    negatives = 0
    for b in range(nblocks):
        table, m = _dense_block(X, y, w, b * rows, min((b + 1) * rows, n), n_classes)
        total += table
        negatives += m
    return total, negatives


@njit(cache=True, nogil=True, parallel=True)
def counts_dense_parallel(X, y, w, n_classes, rows):
    """As :func:`counts_dense_serial`, with the blocks spread over Numba's threads."""
    n, p = X.shape
    nblocks = (n + rows - 1) // rows
    parts = np.empty((nblocks, n_classes, p + 1))
    negatives = np.zeros(nblocks, dtype=np.int64)
    for b in prange(nblocks):
        table, m = _dense_block(X, y, w, b * rows, min((b + 1) * rows, n), n_classes)
        parts[b] = table
        negatives[b] = m
    return _fold(parts, negatives)


@njit(cache=True, nogil=True)
def counts_csr_serial(data, indices, indptr, p, y, w, n_classes, rows):
    """Count table and number of negative stored values of a CSR matrix, one thread."""
    n = indptr.shape[0] - 1
    nblocks = (n + rows - 1) // rows
    total = np.zeros((n_classes, p + 1))
    negatives = 0
    for b in range(nblocks):
        table, m = _csr_block(data, indices, indptr, p, y, w, b * rows,
                              min((b + 1) * rows, n), n_classes)
        total += table
        negatives += m
    return total, negatives


@njit(cache=True, nogil=True, parallel=True)
def counts_csr_parallel(data, indices, indptr, p, y, w, n_classes, rows):
    """As :func:`counts_csr_serial`, with the blocks spread over Numba's threads."""
    n = indptr.shape[0] - 1
    nblocks = (n + rows - 1) // rows
    parts = np.empty((nblocks, n_classes, p + 1))
    negatives = np.zeros(nblocks, dtype=np.int64)
    for b in prange(nblocks):
        table, m = _csr_block(data, indices, indptr, p, y, w, b * rows,
                              min((b + 1) * rows, n), n_classes)
        parts[b] = table
        negatives[b] = m
    return _fold(parts, negatives)
