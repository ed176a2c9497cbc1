"""Per-column moments of a dense block in one pass over memory.

The rows are cut into chunks small enough to stay in cache.  A C-ordered chunk
is read once: its minimum and maximum, and the sums of ``d = x - ref`` and
``d**2`` with ``ref`` the mean of its first eight rows, give the centred sum as
``sum d**2 - (sum d)**2 / n`` (the shifted-data algorithm).  That difference
cancels only when the chunk's mean is far from ``ref`` relative to its spread;
when any column would lose more than a factor 10 (see SHIFT_CANCELLATION), the
cached chunk is swept twice more instead: raw sums, then the residuals around
the chunk mean, whose sum corrects the centred sum (the "corrected two-pass"
algorithm of Chan, Golub & LeVeque).  Column-major chunks always take the two
sweeps, one column at a time.

The mean is kept as two numbers: an ORIGIN on the data's scale (``ref``, or the
chunk mean) and an OFFSET from it (the mean of ``d``).  A float64
mean of values near 1e7 is only good to about 1e-9 absolute, and the merge term
``delta**2 * na * nb / n`` would turn that into a large relative error when the
spread is tiny; differences of origins are exact (Sterbenz), so with the pair the
merge stays accurate to the last bits of the spread.  Chunks are combined with
the pairwise update: in order within each group of GROUP_CHUNKS chunks (by the
thread that read them), then the groups in order, each fold relative to the
origin of the first table.

Rows per chunk depend only on the column count, never on the thread count, so the
result is bitwise the same on one thread or several (see d4p/_parallel.py).
"""
import numpy as np

from .._parallel import run_chunk_ranges
from .ieee import maxnum, minnum
from .jit import kernel
from .tiles import CACHE_LINE, prefetch_lines

# Statistic rows of the per-chunk table.
MIN, MAX, SUM, SUMSQ, M2, ORIGIN, OFFSET = 0, 1, 2, 3, 4, 5, 6
N_STATS = 7
#: From this many columns on, a C-ordered chunk is swept two rows at a time with
#: ``minnum``/``maxnum``, which vectorise over the columns; fewer columns take four
#: rows per pass over the columns, to amortise the loop set-up.
WIDE = 16
#: The one-sweep result is kept while ``(sum d)**2 / n <= 0.9 * sum d**2`` in
#: every column: the centred sum then loses at most a factor 1 / (1 - 0.9) = 10
#: to cancellation.  Otherwise the chunk is swept again, centred on its mean.
SHIFT_CANCELLATION = 0.9
#: How far ahead of the rows being summed the sweep prefetches (bytes).
AHEAD_BYTES = 24 << 10
#: Chunks per group: each group's chunks are folded in the thread that reads them,
#: so only one table per group (4 MiB of rows) is left to fold at the end.
GROUP_CHUNKS = 16


def chunk_rows(p):
    """Rows per chunk: about 256 KiB of float64 per chunk, at least 16 rows."""
    return max(16, 32768 // max(p, 1))


@kernel(inline="always")
def _mean_of_eight_rows(X, lo, ref):
    """``ref`` = the mean of rows ``lo:lo+8``, summed as a balanced tree so that a
    column constant there gets exactly its value (``2c``, ``4c``, ``8c`` and
    ``/ 8`` are exact)."""
    for j in range(X.shape[1]):
        a = np.float64(X[lo, j]) + np.float64(X[lo + 1, j])
        b = np.float64(X[lo + 2, j]) + np.float64(X[lo + 3, j])
        c = np.float64(X[lo + 4, j]) + np.float64(X[lo + 5, j])
        d = np.float64(X[lo + 6, j]) + np.float64(X[lo + 7, j])
        ref[j] = ((a + b) + (c + d)) / 8.0


@kernel(inline="always")
def _shifted_sweep(X, lo, hi, mn, mx, d1, d2, ref):
    """One sweep over a C-ordered chunk: extremes, and the sums of ``d = x - ref``
    and ``d**2`` with ``ref`` the mean of the chunk's first eight rows (its first
    row if it has fewer).  A single row would do, but with many columns one of
    them is often an outlier (|z| > 3 in 13% of 50-column chunks of normal data)
    and the chunk would take the fallback; the mean of eight rows almost never is.

    Each accumulator receives the rows strictly in order (no reassociation).
    """
    p = X.shape[1]
    if hi - lo >= 8:
        _mean_of_eight_rows(X, lo, ref)
    else:
        for j in range(p):
            ref[j] = np.float64(X[lo, j])
    # Rows AHEAD_BYTES further on are asked for while these are summed (as many
    # cache lines per pass as the pass reads): with the hardware prefetcher alone,
    # two threads over 800 MB took about 1.08 times as long (0.052 s against 0.048).
    row_bytes = X.strides[0]
    ahead = lo * row_bytes + AHEAD_BYTES
    end = X.shape[0] * row_bytes
    if p >= WIDE:
        # Two rows per pass: more would exceed the run-time overlap checks LLVM
        # makes before it vectorises the loop over columns, and it then does not.
        lines = (2 * row_bytes + CACHE_LINE - 1) // CACHE_LINE
        i = lo
        while i + 2 <= hi:
            ahead = prefetch_lines(X, ahead, end, lines)
            r0, r1 = X[i], X[i + 1]
            for j in range(p):
                a, b = np.float64(r0[j]), np.float64(r1[j])
                mn[j] = minnum(minnum(mn[j], a), b)
                mx[j] = maxnum(maxnum(mx[j], a), b)
                a, b = a - ref[j], b - ref[j]
                d1[j] = (d1[j] + a) + b
                d2[j] = (d2[j] + a * a) + b * b
            i += 2
        if i < hi:
            row = X[i]
            for j in range(p):
                a = np.float64(row[j])
                mn[j] = minnum(mn[j], a)
                mx[j] = maxnum(mx[j], a)
                a = a - ref[j]
                d1[j] += a
                d2[j] += a * a
        return
    lines = (4 * row_bytes + CACHE_LINE - 1) // CACHE_LINE
    i = lo
    while i + 4 <= hi:
        ahead = prefetch_lines(X, ahead, end, lines)
        r0, r1, r2, r3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        for j in range(p):
            a, b, c, e = (np.float64(r0[j]), np.float64(r1[j]),
                          np.float64(r2[j]), np.float64(r3[j]))
            mn[j] = min(min(min(min(mn[j], a), b), c), e)
            mx[j] = max(max(max(max(mx[j], a), b), c), e)
            a, b, c, e = a - ref[j], b - ref[j], c - ref[j], e - ref[j]
            d1[j] = (((d1[j] + a) + b) + c) + e
            d2[j] = (((d2[j] + a * a) + b * b) + c * c) + e * e
        i += 4
    for i in range(i, hi):
        for j in range(p):
            a = np.float64(X[i, j])
            mn[j] = min(mn[j], a)
            mx[j] = max(mx[j], a)
            d = a - ref[j]
            d1[j] += d
            d2[j] += d * d


@kernel(inline="always")
def _shift_is_accurate(d1, d2, nrows):
    """Whether no column's centred sum ``d2 - d1**2 / n`` cancels beyond the bound.

    False too for a NaN or an overflowed ``d2``: non-finite data, and squares
    beyond the float64 range, take the fallback's raw sums (an inf sum of squares
    as numpy gives, not the NaN of ``inf - inf``)."""
    for j in range(d1.shape[0]):
        if not d1[j] * d1[j] <= SHIFT_CANCELLATION * nrows * d2[j] or d2[j] == np.inf:
            return False
    return True


@kernel(inline="always")
def _centred_sweeps(X, lo, hi, mn, mx, s, sq, m2, r, mean):
    """Two sweeps over rows ``lo:hi`` of ``X``: extremes, raw sums and sums of
    squares, then the sums of ``d`` (into ``r``) and ``d**2`` (into ``m2``)
    around the chunk mean (``mean`` is scratch); in row order for a C-ordered
    ``X``, else by column."""
    p = X.shape[1]
    nrows = hi - lo
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
        return
    for i in range(lo, hi):
        for j in range(p):
            x = np.float64(X[i, j])
            mn[j] = min(mn[j], x)
            mx[j] = max(mx[j], x)
            s[j] += x
            sq[j] += x * x
    for j in range(p):
        mean[j] = s[j] / nrows
    for i in range(lo, hi):
        for j in range(p):
            d = np.float64(X[i, j]) - mean[j]
            m2[j] += d * d
            r[j] += d


@kernel(inline="always")
def _chunk_moments(X, lo, hi, out, mn, mx, s, sq, m2, r, ref):
    """Fill ``out`` (N_STATS, p) with the moments of rows ``lo:hi`` of ``X``.

    A C-ordered chunk is read once, shifted by the mean of its first eight rows;
    the chunk (still in cache) is read twice more only when that shift cancels
    too much (the fallback takes the extremes again too: it is rare).  A
    column-major chunk is read twice: raw sums, then the sums around its mean.

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
    if X.strides[0] >= X.strides[1]:
        _shifted_sweep(X, lo, hi, mn, mx, s, sq, ref)
        if _shift_is_accurate(s, sq, nrows):
            for j in range(p):
                # sum x = n ref + sum d, and sum x**2 = sum d**2 + ref (2 sum d + n ref)
                out[MIN, j] = mn[j]
                out[MAX, j] = mx[j]
                out[SUM, j] = nrows * ref[j] + s[j]
                out[SUMSQ, j] = sq[j] + ref[j] * (2.0 * s[j] + nrows * ref[j])
                out[ORIGIN, j] = ref[j]
                out[OFFSET, j] = s[j] / nrows
                out[M2, j] = sq[j] - s[j] * s[j] / nrows
            return
        for j in range(p):
            s[j] = 0.0
            sq[j] = 0.0
    for j in range(p):
        m2[j] = 0.0
        r[j] = 0.0  # residual sums around the provisional mean
    _centred_sweeps(X, lo, hi, mn, mx, s, sq, m2, r, ref)
    for j in range(p):
        out[MIN, j] = mn[j]
        out[MAX, j] = mx[j]
        out[SUM, j] = s[j]
        out[SUMSQ, j] = sq[j]
        out[ORIGIN, j] = s[j] / nrows
        out[OFFSET, j] = r[j] / nrows
        out[M2, j] = m2[j] - r[j] * r[j] / nrows


@kernel(inline="always")
def _fold(total, part, count, nb):
    """Fold ``part`` (the table of ``nb`` rows) into ``total`` (that of ``count`` rows
    before it): the pairwise update, relative to ``total``'s origin."""
    new_count = count + nb
    for j in range(total.shape[1]):
        total[MIN, j] = min(total[MIN, j], part[MIN, j])
        total[MAX, j] = max(total[MAX, j], part[MAX, j])
        total[SUM, j] += part[SUM, j]
        total[SUMSQ, j] += part[SUMSQ, j]
        delta = (part[ORIGIN, j] - total[ORIGIN, j]) + (part[OFFSET, j] - total[OFFSET, j])
        total[M2, j] += part[M2, j] + delta * delta * count * nb / new_count
        total[OFFSET, j] += delta * nb / new_count


@kernel
def _combine(parts, n, rows, total):
    """Fold the per-group table into ``total``, the whole block's (N_STATS, p) table
    (``rows`` rows per group, the last one possibly fewer)."""
    for t in range(N_STATS):
        for j in range(parts.shape[2]):
            total[t, j] = parts[0, t, j]
    count = min(rows, n)
    for c in range(1, parts.shape[0]):
        nb = min(rows, n - c * rows)
        _fold(total, parts[c], count, nb)
        count += nb


@kernel
def moments_groups(X, rows, g0, g1, parts, scratch):
    """Moments of the groups ``g0:g1`` of :data:`GROUP_CHUNKS` chunks (``rows`` rows
    each) of ``X`` into ``parts[g]``, each group's chunks folded in order;
    ``scratch`` is (7 + N_STATS, p) of working space for this range."""
    n = X.shape[0]
    mn, mx, s, sq, m2, r, ref = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4],
                                 scratch[5], scratch[6])
    chunk = scratch[7:]
    for g in range(g0, g1):
        total = parts[g]
        lo = g * GROUP_CHUNKS * rows
        stop = min(lo + GROUP_CHUNKS * rows, n)
        _chunk_moments(X, lo, min(lo + rows, stop), total, mn, mx, s, sq, m2, r, ref)
        count = min(rows, stop - lo)
        for start in range(lo + rows, stop, rows):
            hi = min(start + rows, stop)
            _chunk_moments(X, start, hi, chunk, mn, mx, s, sq, m2, r, ref)
            _fold(total, chunk, count, hi - start)
            count += hi - start


def moments(X, rows, parallel=False):
    """Moments of the rows of ``X`` as an (N_STATS, p) table; with ``parallel``, the
    groups of chunks are spread over this rank's kernel threads (same result bits:
    the fold is chunk by chunk within a group, then group by group)."""
    n, p = X.shape
    group_rows = GROUP_CHUNKS * rows
    ngroups = (n + group_rows - 1) // group_rows
    parts = np.empty((ngroups, N_STATS, p))
    run_chunk_ranges(
        lambda g0, g1: moments_groups(X, rows, g0, g1, parts, np.empty((7 + N_STATS, p))),
        ngroups, parallel)
    total = np.empty((N_STATS, p))
    _combine(parts, n, group_rows, total)
    return total


def moments_serial(X, rows):
    """:func:`moments` on one thread."""
    return moments(X, rows, False)


def moments_parallel(X, rows):
    """:func:`moments` over this rank's kernel threads."""
    return moments(X, rows, True)
