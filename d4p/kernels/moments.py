"""Per-column moments of a dense block in one pass over memory.

The rows are cut into chunks small enough to stay in cache.  Each chunk's minimum,
maximum, sum and sum of squares are taken in a first sweep, and its centred sum of
squares around the *chunk* mean in a second sweep over the cached chunk.  The
second sweep also sums the residuals, which corrects the centred sum (the
"corrected two-pass" algorithm of Chan, Golub & LeVeque).

The mean is kept as two numbers: an ORIGIN on the data's scale (the provisional
chunk mean) and a small OFFSET from it (the mean residual).  A float64 mean of
values near 1e7 is only good to about 1e-9 absolute, and the merge term
``delta**2 * na * nb / n`` would turn that into a large relative error when the
spread is tiny; differences of origins are exact (Sterbenz), so with the pair the
merge stays accurate to the last bits of the spread.  Chunks are combined with
the pairwise update, relative to the first chunk's origin.  That is as stable as a two-pass
algorithm while reading the data from memory once.

Rows per chunk depend only on the column count, never on the thread count, so the
result is bitwise the same on one thread or several (see d4p/_parallel.py).
"""
import numpy as np

from .._parallel import run_chunk_ranges
from .jit import kernel

# Statistic rows of the per-chunk table.
MIN, MAX, SUM, SUMSQ, M2, ORIGIN, OFFSET = 0, 1, 2, 3, 4, 5, 6
N_STATS = 7


def chunk_rows(p):
    """Rows per chunk: about 256 KiB of float64 per chunk, at least 16 rows."""
    return max(16, 32768 // max(p, 1))


@kernel(inline="always")
def _row_major_sweeps(X, lo, hi, mn, mx, s, sq, m2, r, mean):
    """The two sweeps over a C-ordered chunk, four rows per pass over the columns.

    Each accumulator still receives the rows strictly in order (no reassociation);
    taking four rows per column sweep only amortises the loop set-up, which
    dominates when there are few columns.
    """
    p = X.shape[1]
    i = lo
    while i + 4 <= hi:
        r0, r1, r2, r3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        for j in range(p):
            a, b, c, d = (np.float64(r0[j]), np.float64(r1[j]),
                          np.float64(r2[j]), np.float64(r3[j]))
            mn[j] = min(min(min(min(mn[j], a), b), c), d)
            mx[j] = max(max(max(max(mx[j], a), b), c), d)
            s[j] = (((s[j] + a) + b) + c) + d
            sq[j] = (((sq[j] + a * a) + b * b) + c * c) + d * d
        i += 4
    for i in range(i, hi):
        for j in range(p):
            a = np.float64(X[i, j])
            mn[j] = min(mn[j], a)
            mx[j] = max(mx[j], a)
            s[j] += a
            sq[j] += a * a
    for j in range(p):
        mean[j] = s[j] / (hi - lo)
    i = lo
    while i + 4 <= hi:
        r0, r1, r2, r3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        for j in range(p):
            a = np.float64(r0[j]) - mean[j]
            b = np.float64(r1[j]) - mean[j]
            c = np.float64(r2[j]) - mean[j]
            d = np.float64(r3[j]) - mean[j]
            m2[j] = (((m2[j] + a * a) + b * b) + c * c) + d * d
            r[j] = (((r[j] + a) + b) + c) + d
        i += 4
    for i in range(i, hi):
        for j in range(p):
            a = np.float64(X[i, j]) - mean[j]
            m2[j] += a * a
            r[j] += a


@kernel(inline="always")
def _chunk_moments(X, lo, hi, out, mn, mx, s, sq, m2, r, mean):
    """Fill ``out`` (N_STATS, p) with the moments of rows ``lo:hi`` of ``X``.

    The accumulators are separate scratch vectors (not rows of ``out``), passed
    in rather than allocated here: no numpy allocation or array expression in a
    kernel keeps its first compile short, and separate vectors let LLVM
    vectorise the loops over columns after its run-time overlap checks.
    """
    p = X.shape[1]
    nrows = hi - lo
    for j in range(p):
        mn[j] = np.inf
        mx[j] = -np.inf
        s[j] = 0.0
        sq[j] = 0.0
        m2[j] = 0.0
        r[j] = 0.0  # residual sums around the provisional mean
    if X.strides[0] < X.strides[1]:  # column-major: walk each column contiguously
        for j in range(p):
            for i in range(lo, hi):
                x = np.float64(X[i, j])
                mn[j] = min(mn[j], x)
                mx[j] = max(mx[j], x)
                s[j] += x
                sq[j] += x * x
            mean_j = s[j] / nrows
            for i in range(lo, hi):
                d = np.float64(X[i, j]) - mean_j
                m2[j] += d * d
                r[j] += d
    else:
        _row_major_sweeps(X, lo, hi, mn, mx, s, sq, m2, r, mean)
    for j in range(p):
        out[MIN, j] = mn[j]
        out[MAX, j] = mx[j]
        out[SUM, j] = s[j]
        out[SUMSQ, j] = sq[j]
        out[ORIGIN, j] = s[j] / nrows
        out[OFFSET, j] = r[j] / nrows
        out[M2, j] = m2[j] - r[j] * r[j] / nrows


@kernel
def _combine(parts, n, rows, total):
    """Fold the per-chunk table into ``total``, the whole block's (N_STATS, p) table."""
    p = parts.shape[2]
    for t in range(N_STATS):
        for j in range(p):
            total[t, j] = parts[0, t, j]
    count = min(rows, n)
    for c in range(1, parts.shape[0]):
        nb = min(rows, n - c * rows)
        new_count = count + nb
        for j in range(p):
            total[MIN, j] = min(total[MIN, j], parts[c, MIN, j])
            total[MAX, j] = max(total[MAX, j], parts[c, MAX, j])
            total[SUM, j] += parts[c, SUM, j]
            total[SUMSQ, j] += parts[c, SUMSQ, j]
            delta = ((parts[c, ORIGIN, j] - total[ORIGIN, j])
                     + (parts[c, OFFSET, j] - total[OFFSET, j]))
            total[M2, j] += parts[c, M2, j] + delta * delta * count * nb / new_count
            total[OFFSET, j] += delta * nb / new_count
        count = new_count


@kernel
def moments_chunks(X, rows, c0, c1, parts, scratch):
    """Moments of chunks ``c0:c1`` (``rows`` rows each) of ``X`` into ``parts[c]``;
    ``scratch`` is (7, p) of working space for this range."""
    n = X.shape[0]
    mn, mx, s, sq, m2, r, mean = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4],
                                  scratch[5], scratch[6])
    for c in range(c0, c1):
        _chunk_moments(X, c * rows, min((c + 1) * rows, n), parts[c], mn, mx, s, sq, m2, r,
                       mean)


def moments(X, rows, parallel=False):
    """Moments of the rows of ``X`` as an (N_STATS, p) table; with ``parallel``, the
    chunks are spread over this rank's kernel threads (same result bits)."""
    n, p = X.shape
    nchunks = (n + rows - 1) // rows
    parts = np.empty((nchunks, N_STATS, p))
    run_chunk_ranges(lambda c0, c1: moments_chunks(X, rows, c0, c1, parts, np.empty((7, p))),
                     nchunks, parallel)
    total = np.empty((N_STATS, p))
    _combine(parts, n, rows, total)
    return total


def moments_serial(X, rows):
    """:func:`moments` on one thread."""
    return moments(X, rows, False)


def moments_parallel(X, rows):
    """:func:`moments` over this rank's kernel threads."""
    return moments(X, rows, True)
