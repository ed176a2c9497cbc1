"""Class x feature count tables for multinomial naive Bayes, in one pass over the data.

For rows ``lo:hi`` with labels ``y`` (already checked to be class indices) and
optional non-negative weights ``w``, a block's table ``T`` of shape
(nClasses, p + 1) holds

    T[c, j] = sum of w_i * X[i, j] over the rows i of class c      (j < p)
    T[c, p] = sum of w_i over the rows of class c                  (class weight)

The rows are cut into blocks that depend only on the data's shape (for CSR: on
where the stored values are), never on the thread count; every block is summed
from zero in row order and the block tables are added in block order.  So the
result is bitwise the same on one thread or several.  (Dense and CSR
input give the same table bitwise when their blocks coincide, e.g. one block: a
dense zero adds exactly nothing.)

Each block also counts the negative values it read, so the caller can reject
negative counts without a second pass over the data (an integer count keeps the
inner loop vectorised, where a running minimum would not be).
"""
import numpy as np

from .._parallel import run_chunk_ranges
from .jit import kernel

#: Values of X per block (2 MiB of float64) at least: large enough to amortise a
#: block's table, small enough to give every thread several blocks.
BLOCK_ELEMENTS = 1 << 18
#: A block also reads at least this many times the size of its table, so that
#: zeroing and adding the tables stays a small part of the work.
TABLE_RATIO = 4
#: Upper bound of the memory the per-block tables of one call may take.
TABLE_BUDGET_BYTES = 64 << 20


def block_bounds(n, p, n_classes, indptr=None):
    """Row boundaries (int64, first 0, last n) of the blocks of an (n, p) input.

    A block holds at least ``max(BLOCK_ELEMENTS, TABLE_RATIO * table size)``
    values (rows x p for dense input, stored values for CSR given by
    ``indptr``), and there are few enough blocks that their (n_classes, p + 1)
    tables fit in ``TABLE_BUDGET_BYTES``.  Depends on the data's shape (and
    sparsity pattern) only, never on the thread count.
    """
    n, p, k = int(n), max(int(p), 1), max(int(n_classes), 1)
    table = k * (p + 1)
    work = max(BLOCK_ELEMENTS, TABLE_RATIO * table)
    max_blocks = max(1, min(4096, TABLE_BUDGET_BYTES // (8 * table)))
    if indptr is None:
        rows = max(64, -(-work // p), -(-n // max_blocks))
        return np.append(np.arange(0, n, rows, dtype=np.int64), np.int64(n)) if n else \
            np.zeros(2, dtype=np.int64)
    nnz = int(indptr[-1])
    work = max(work, -(-nnz // max_blocks))
    starts = np.searchsorted(indptr, np.arange(work, nnz, work, dtype=np.int64), side="left")
    bounds = np.unique(np.concatenate(([0], starts, [n]))).astype(np.int64)
    return bounds if bounds.size > 1 else np.zeros(2, dtype=np.int64)


@kernel
def first_bad_label(y, n_classes):
    """Index of the first label that is not an integer in 0..n_classes-1 (NaN
    included), or -1."""
    for i in range(y.shape[0]):
        v = y[i]
        if not (v >= 0.0 and v < n_classes and v == np.floor(v)):
            return i
    return -1


@kernel(inline="always")
def _dense_block(X, y, w, lo, hi, table):
    """Add the counts of rows ``lo:hi`` of a dense X to ``table``; return their number
    of negative values."""
    p = X.shape[1]
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
    return negatives


@kernel(inline="always")
def _csr_block(data, indices, indptr, p, y, w, lo, hi, table):
    """Add the counts of rows ``lo:hi`` of a CSR matrix to ``table``; return their
    number of negative stored values."""
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
    return negatives


@kernel
def dense_block_tables(X, y, w, bounds, b0, b1, tables, negatives):
    """Each block ``b`` of ``b0:b1`` of a dense X (``bounds`` from :func:`block_bounds`):
    its count table, summed from zero in row order, into ``tables[b]`` and its
    number of negative values into ``negatives[b]``."""
    for b in range(b0, b1):
        table = tables[b]
        table[:, :] = 0.0
        negatives[b] = _dense_block(X, y, w, bounds[b], bounds[b + 1], table)


@kernel
def csr_block_tables(data, indices, indptr, p, y, w, bounds, b0, b1, tables, negatives):
    """As :func:`dense_block_tables`, for a CSR matrix with ``p`` columns."""
    for b in range(b0, b1):
        table = tables[b]
        table[:, :] = 0.0
        negatives[b] = _csr_block(data, indices, indptr, p, y, w, bounds[b], bounds[b + 1],
                                  table)


@kernel
def add_tables(tables, negatives):
    """The sum of the block tables, in block order from zero, and of their counts of
    negative values."""
    total = np.zeros(tables.shape[1:])
    for b in range(tables.shape[0]):
        total += tables[b]
    return total, negatives.sum()


def _counts(block_tables, n_classes, width, bounds, parallel):
    """Every block's table by ``block_tables(b0, b1, tables, negatives)``, on this
    thread or spread over threads, then added in block order: the same bits
    either way."""
    nblocks = bounds.shape[0] - 1
    tables = np.empty((nblocks, n_classes, width))
    negatives = np.zeros(nblocks, dtype=np.int64)
    run_chunk_ranges(lambda b0, b1: block_tables(b0, b1, tables, negatives), nblocks, parallel)
    return add_tables(tables, negatives)


def counts_dense_serial(X, y, w, n_classes, bounds, parallel=False):
    """Count table (n_classes, p + 1) and number of negative values of a dense X, on
    one thread; ``bounds`` from :func:`block_bounds`."""
    return _counts(lambda b0, b1, t, m: dense_block_tables(X, y, w, bounds, b0, b1, t, m),
                   n_classes, X.shape[1] + 1, bounds, parallel)


def counts_dense_parallel(X, y, w, n_classes, bounds):
    """As :func:`counts_dense_serial`, with the blocks spread over threads."""
    return counts_dense_serial(X, y, w, n_classes, bounds, parallel=True)


def counts_csr_serial(data, indices, indptr, p, y, w, n_classes, bounds, parallel=False):
    """Count table and number of negative stored values of a CSR matrix, one thread."""
    return _counts(lambda b0, b1, t, m: csr_block_tables(data, indices, indptr, p, y, w,
                                                         bounds, b0, b1, t, m),
                   n_classes, p + 1, bounds, parallel)


def counts_csr_parallel(data, indices, indptr, p, y, w, n_classes, bounds):
    """As :func:`counts_csr_serial`, with the blocks spread over threads."""
    return counts_csr_serial(data, indices, indptr, p, y, w, n_classes, bounds, parallel=True)


@kernel
def log_normalise_rows(jll, log_out, prob_out):
    """Per row of the joint log-likelihoods ``jll`` (n, k): ``log_out = jll -
    logsumexp(jll)`` and ``prob_out = exp(log_out)``, stable for any magnitude
    (the row maximum is taken out before exponentiating).  Either output may be a
    (0, 0) array, meaning "not wanted"."""
    n, k = jll.shape
    want_log = log_out.shape[0] == n and n > 0
    want_prob = prob_out.shape[0] == n and n > 0
    e = np.empty(k)
    for i in range(n):
        top = -np.inf
        for c in range(k):
            top = max(top, jll[i, c])
        if not np.isfinite(top):
            top = 0.0
        total = 0.0
        for c in range(k):
            e[c] = np.exp(jll[i, c] - top)
            total += e[c]
        lse = top + np.log(total)
        for c in range(k):
            if want_log:
                log_out[i, c] = jll[i, c] - lse
            if want_prob:
                prob_out[i, c] = e[c] / total
