"""Kernels for ``kmeans_init`` and ``kmeans``.

Randomness
    A counter-based hash: ``uniform(key, g)`` is output ``g`` (the *global* row
    index) of SplitMix64 seeded with a stream key mixed from (seed, method tag,
    step, trial).  A row's random number is therefore the same whichever rank
    holds it and however the rows are split.

Weighted sampling
    An exponential race (Efraimidis & Spirakis 2006): row ``i`` draws
    ``key_i = -log(u_i) / w_i`` and the smallest key wins, which selects row ``i``
    with probability ``w_i / sum(w)``.  The winner of a set of rows is the minimum
    of the winners of its parts (ties: the smaller global index), so any split
    gives the same winner, and no sum of weights is needed.  Since
    ``-log(u) >= 1 - u``, a row whose bound ``(1 - u) / w`` already exceeds the
    best key so far needs no logarithm.  The same bound makes k-means++ draws
    lazy (:func:`lazy_race_serial`): a distance that misses the newest centres
    overestimates the weight, so it still bounds the key from below, and only
    the rows that the bound cannot rule out are read.

Exact sums
    Where a decision compares a sum (a k-means++ trial's potential, k-means‖'s
    sampling threshold), the sum is exact: each chunk keeps Shewchuk's
    non-overlapping partials (``msum``), and ``math.fsum`` over every rank's
    partials gives the correctly rounded total, independent of the split.

Distances for the initialisation are ``sum_f (x_f - c_f)**2`` from the
differences (:func:`sqdist_row`): exactly zero for a row equal to a centre, and
bit-for-bit the same for a row wherever it sits, so on any split.  Lloyd's iterations use BLAS for ``x . c`` on row blocks (see
d4p/lloyd.py) and these kernels only for what follows the product: the
nearest centre, the per-cluster sums and counts.

Rows per chunk depend only on the column count, never on the thread count, and
the ``*_parallel`` drivers run the same kernels as the ``*_serial`` ones on
ranges of chunks in several threads (see d4p/_parallel.py), so both give
identical results and a small call compiles every kernel a large one uses.
"""
import numpy as np

from .._parallel import run_chunk_ranges
from .jit import kernel

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
#: Capacity for Shewchuk partials: non-overlapping doubles number at most ~40.
MSUM_CAP = 64
#: Zero as an int64, not a literal: a literal argument would make Numba compile a
#: second copy of the callee for that constant (types are inferred literal first).
ZERO = np.int64(0)
#: Relative slack on the bound ``-log(u) >= 1 - u`` (covers rounding of both sides).
_BOUND_SLACK = 1.0 - 2.0 ** -40


def chunk_rows(p):
    """Rows per chunk: about 256 KiB of float64 per chunk, at least 64 rows."""
    return max(64, 32768 // max(p, 1))


# ---- counter-based randomness --------------------------------------------------------


@kernel
def mix64(z):
    """splitmix64's finaliser: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@kernel
def stream_key(seed, tag, a, b):
    """The key of one random stream: (seed, method tag, step, trial)."""
    k = mix64(np.uint64(seed) ^ mix64(np.uint64(tag) * GOLDEN + np.uint64(0x5851F42D4C957F2D)))
    k = mix64(k ^ (np.uint64(a) * MIX1 + np.uint64(0x14057B7EF767814F)))
    return mix64(k ^ (np.uint64(b) * MIX2 + np.uint64(0x2545F4914F6CDD1D)))


@kernel
def uniform(key, g):
    """Uniform in the open interval (0, 1) for global row ``g`` of stream ``key``:
    output ``g`` of SplitMix64 seeded with the (already well mixed) stream key."""
    h = mix64(key + (np.uint64(g) + np.uint64(1)) * GOLDEN)
    # 52 random bits plus one half: exactly representable, never 0 or 1.
    return (np.float64(h >> np.uint64(12)) + 0.5) * (1.0 / 4503599627370496.0)


@kernel
def fill_uniform_serial(key, g0, out):
    """``out[i] = uniform(key, g0 + i)``."""
    for i in range(out.shape[0]):
        out[i] = uniform(key, g0 + i)


#: Elements per chunk of the element-wise kernels when split over threads.
ELEMENT_CHUNK = 4096


def _elementwise(n, run):
    """``run(lo, hi)`` over element ranges of ``n`` elements, split over threads."""
    run_chunk_ranges(lambda c0, c1: run(c0 * ELEMENT_CHUNK, min(n, c1 * ELEMENT_CHUNK)),
                     (n + ELEMENT_CHUNK - 1) // ELEMENT_CHUNK)


def fill_uniform(key, g0, out):
    """:func:`fill_uniform_serial` over this rank's kernel threads."""
    _elementwise(out.shape[0], lambda lo, hi: fill_uniform_serial(key, g0 + lo, out[lo:hi]))


# ---- exact summation (Shewchuk / Python's msum) ------------------------------------------


@kernel
def msum_add(partials, npart, x):
    """Add ``x`` to the non-overlapping partials ``partials[:npart]``; returns the
    new count.  The partials' exact sum is the exact sum of everything added."""
    i = 0
    for j in range(npart):
        y = partials[j]
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            partials[i] = lo
            i += 1
        x = hi
    partials[i] = x
    return i + 1


@kernel
def exact_sum_partials(values):
    """Shewchuk partials of ``sum(values)`` (combine with ``math.fsum``)."""
    parts = np.zeros(MSUM_CAP)
    npart = 0
    for i in range(values.shape[0]):
        npart = msum_add(parts, npart, np.float64(values[i]))
    return parts[:npart].copy()


# ---- distances for the initialisation ---------------------------------------------------


@kernel(fastmath={"reassoc"})
def sqdist_row(X, i, C, j):
    """``|X[i] - C[j]|^2`` from the differences (exactly 0 when the rows are equal).

    The one place d4p lets the compiler reassociate (``reassoc`` only, so the sum
    can use vector lanes): the order of the additions then depends only on the
    column count and the compiled vector width, never on where the row sits in
    memory or in a block, so a row's distance is the same bits on any split and
    any thread count (tests/test_kmeans.py checks this).
    """
    s = 0.0
    for f in range(X.shape[1]):
        t = np.float64(X[i, f]) - C[j, f]
        s += t * t
    return s


@kernel
def sqdists(X, c):
    """``|X[i] - c|^2`` for every row of a C-ordered float64 ``X`` (the values the
    initialisation uses)."""
    C = c.reshape(1, -1)
    out = np.empty(X.shape[0])
    for i in range(X.shape[0]):
        out[i] = sqdist_row(X, i, C, ZERO)
    return out


@kernel
def _race_rows(lo, hi, g0, mind, row_w, keys, uniform_race, best_key, best_idx):
    """Exponential races (one per stream key) over rows ``lo:hi`` with weights
    ``mind * row_w`` (``row_w`` alone, or 1, when ``uniform_race``): row ``i``'s key
    is ``-log(u) / w``; keeps each race's best key and row.

    The uniforms of a chunk are hashed in one vectorisable loop, then scanned;
    since ``-log(u) >= 1 - u``, a row whose bound already exceeds the best key
    needs no logarithm.
    """
    weighted = row_w.shape[0] > 0
    u = np.empty(hi - lo)
    for t in range(keys.shape[0]):
        key = keys[t]
        for i in range(lo, hi):
            h = mix64(key + (np.uint64(g0 + i) + np.uint64(1)) * GOLDEN)
            u[i - lo] = (np.float64(h >> np.uint64(12)) + 0.5) * (1.0 / 4503599627370496.0)
        b = best_key[t]
        for i in range(lo, hi):
            if uniform_race:
                w = row_w[i] if weighted else 1.0
            else:
                w = mind[i] * row_w[i] if weighted else mind[i]
            if not w > 0.0:  # zero weight (or NaN): never drawn
                continue
            ui = u[i - lo]
            if b < np.inf and (1.0 - ui) * _BOUND_SLACK > b * w:
                continue  # -log(u)/w >= (1-u)/w > best: cannot win
            k = -np.log(ui) / w
            if k < b:  # rows come in increasing index: ties keep the earlier row
                b = k
                best_idx[t] = i
        best_key[t] = b


@kernel
def _c_rows(X, lo, hi):
    """Rows ``lo:hi`` of ``X`` as a C-ordered float64 copy."""
    p = X.shape[1]
    B = np.empty((hi - lo, p))
    if X.strides[0] < X.strides[1]:  # column-major: read each column contiguously
        for f in range(p):
            for i in range(hi - lo):
                B[i, f] = X[lo + i, f]
    else:
        for i in range(hi - lo):
            for f in range(p):
                B[i, f] = X[lo + i, f]
    return B


@kernel
def _init_rows(R, shift, lo, hi, g0, C, cbase, mind, nearest, row_w, keys, uniform_race,
               want_sum, best_key, best_idx, parts):
    """Rows ``lo:hi`` (row ``i`` is ``R[i - shift]``): fold the centres ``C`` into
    ``mind`` (and ``nearest``), add ``mind`` to the exact-sum partials, then run
    the races on the chunk while it is in cache."""
    m = C.shape[0]
    track = nearest.shape[0] > 0
    npart = ZERO
    for i in range(lo, hi):
        for j in range(m):
            d = sqdist_row(R, i - shift, C, j)
            if d < mind[i]:
                mind[i] = d
                if track:
                    nearest[i] = cbase + j
        if want_sum:
            npart = msum_add(parts, npart, mind[i])
    if keys.shape[0] > 0:
        _race_rows(lo, hi, g0, mind, row_w, keys, uniform_race, best_key, best_idx)
    return npart


@kernel(inline="always")
def _init_chunk(X, c, rows, g0, C, cbase, mind, nearest, row_w, keys, uniform_race, want_sum,
                best_key, best_idx, parts, nparts, copy_rows):
    """:func:`_init_rows` on chunk ``c`` (into row ``c`` of the tables), on X directly
    (C-ordered float64) or on a C-ordered float64 copy of the chunk
    (``copy_rows``), so that every row's distance runs through the same compiled
    code, whatever the input's layout and dtype."""
    lo = c * rows
    hi = min(mind.shape[0], lo + rows)
    if copy_rows and C.shape[0] > 0:
        nparts[c] = _init_rows(_c_rows(X, lo, hi), lo, lo, hi, g0, C, cbase, mind, nearest,
                               row_w, keys, uniform_race, want_sum, best_key[c], best_idx[c],
                               parts[c])
    else:
        nparts[c] = _init_rows(X, ZERO, lo, hi, g0, C, cbase, mind, nearest, row_w, keys,
                               uniform_race, want_sum, best_key[c], best_idx[c], parts[c])


@kernel
def _init_tables(n, rows, nt):
    """Per chunk of ``rows`` rows: best keys (inf) and rows (-1) of ``nt`` races, and
    exact-sum partials with their counts."""
    nch = (n + rows - 1) // rows
    return (np.full((nch, nt), np.inf), np.full((nch, nt), -1, dtype=np.int64),
            np.zeros((nch, MSUM_CAP)), np.zeros(nch, dtype=np.int64))


@kernel
def init_pass_chunks(X, g0, C, cbase, mind, nearest, row_w, keys, uniform_race, want_sum, rows,
                     copy_rows, c0, c1, best_key, best_idx, parts, nparts):
    """:func:`_init_chunk` on chunks ``c0:c1`` (into their rows of the tables)."""
    for c in range(c0, c1):
        _init_chunk(X, c, rows, g0, C, cbase, mind, nearest, row_w, keys, uniform_race, want_sum,
                    best_key, best_idx, parts, nparts, copy_rows)


def init_pass(X, g0, C, cbase, mind, nearest, row_w, keys, uniform_race, want_sum, rows,
              copy_rows, parallel=False):
    """One pass of the initialisation over this rank's rows, chunk by chunk:

    1. ``mind``/``nearest`` updated with the centres ``C`` (may have no rows);
    2. when ``want_sum``, the exact-sum partials of the updated ``mind``;
    3. one exponential race per key in ``keys`` on the updated weights.

    Returns per chunk: the races' best keys and local indices, the partials and
    their counts.  Combine the chunks in order (see d4p/seeding.py).  ``copy_rows``
    must be True unless ``X`` is C-ordered float64.  With ``parallel``, ranges of
    chunks run on this rank's kernel threads.
    """
    best_key, best_idx, parts, nparts = _init_tables(mind.shape[0], rows, keys.shape[0])
    run_chunk_ranges(lambda c0, c1: init_pass_chunks(
        X, g0, C, cbase, mind, nearest, row_w, keys, uniform_race, want_sum, rows, copy_rows,
        c0, c1, best_key, best_idx, parts, nparts), nparts.shape[0], parallel)
    return best_key, best_idx, parts, nparts


def init_pass_serial(*args):
    """:func:`init_pass` on one thread."""
    return init_pass(*args, parallel=False)


def init_pass_parallel(*args):
    """:func:`init_pass` over this rank's kernel threads."""
    return init_pass(*args, parallel=True)


# ---- k-means++ races on stale distances ----------------------------------------------------


@kernel
def _fold_rows(R, r, C, j0, s, m):
    """``min(m, |R[r] - C[j]|^2 for j in j0:s)``."""
    for j in range(j0, s):
        d = sqdist_row(R, r, C, j)
        if d < m:
            m = d
    return m


@kernel
def _refresh(X, i, C, s, seen, mind, copy_rows):
    """Fold the centres ``C[seen[i]:s]`` into ``mind[i]``, which is then exact."""
    if seen[i] < s:
        if copy_rows:
            mind[i] = _fold_rows(_c_rows(X, i, i + 1), ZERO, C, seen[i], s, mind[i])
        else:
            mind[i] = _fold_rows(X, i, C, seen[i], s, mind[i])
        seen[i] = s
    return mind[i]


@kernel(inline="always")
def _weight(m, row_w, i):
    """A row's race weight from its distance ``m``: times ``row_w[i]`` if weighted."""
    return m * row_w[i] if row_w.shape[0] > 0 else m


@kernel
def _lazy_race_chunk(X, lo, hi, g0, C, s, mind, seen, row_w, key, copy_rows):
    """The exact winner (key, row) of the D² race over rows ``lo:hi`` against the
    centres ``C[:s]``, where ``mind[i]`` has only the centres ``C[:seen[i]]``.

    A stale ``mind[i]`` is an upper bound of the exact one, so ``-log(u)/stale`` is
    a lower bound of the row's exact key: a row whose bound exceeds an exact key
    already found cannot win and is never read.  The race on the stale weights
    points at a likely winner; its exact key is the first bar; every row under
    the bar is brought up to date and raced exactly.  The answer is the eager
    race's, bit for bit, after reading a handful of rows instead of all of them.
    """
    u = np.empty(hi - lo)
    for i in range(lo, hi):
        u[i - lo] = uniform(key, g0 + i)
    # 1. the race on the stale weights
    bar = np.inf
    cand = np.int64(-1)
    for i in range(lo, hi):
        w = _weight(mind[i], row_w, i)
        if not w > 0.0:  # exact weight is zero too (mind only decreases)
            continue
        ui = u[i - lo]
        if bar < np.inf and (1.0 - ui) * _BOUND_SLACK > bar * w:
            continue
        k = -np.log(ui) / w
        if k < bar:
            bar = k
            cand = i
    best_key = np.inf
    best_idx = np.int64(-1)
    if cand < 0:
        return best_key, best_idx
    # 2. that row's exact key is the bar
    w = _weight(_refresh(X, cand, C, s, seen, mind, copy_rows), row_w, cand)
    if w > 0.0:
        best_key = -np.log(u[cand - lo]) / w
        best_idx = cand
    # 3. every row whose lower bound does not exceed the bar, exactly
    for i in range(lo, hi):
        w = _weight(mind[i], row_w, i)
        if not w > 0.0:
            continue
        ui = u[i - lo]
        if best_key < np.inf and (1.0 - ui) * _BOUND_SLACK > best_key * w:
            continue  # -log(u)/exact >= (1-u)/stale > bar: cannot win
        w = _weight(_refresh(X, i, C, s, seen, mind, copy_rows), row_w, i)
        if not w > 0.0:
            continue
        k = -np.log(ui) / w
        if k < best_key or (k == best_key and i < best_idx):  # ties: the earlier row
            best_key = k
            best_idx = i
    return best_key, best_idx


@kernel(inline="always")
def _lazy_chunk(X, c, rows, g0, C, s, mind, seen, row_w, key, copy_rows, best_key, best_idx):
    """:func:`_lazy_race_chunk` on chunk ``c``, into ``best_key[c]``/``best_idx[c]``."""
    lo = c * rows
    best_key[c], best_idx[c] = _lazy_race_chunk(X, lo, min(mind.shape[0], lo + rows), g0, C, s,
                                                mind, seen, row_w, key, copy_rows)


@kernel
def _chunk_winners(n, rows):
    """Per chunk of ``rows`` rows: a best key (inf) and local row (-1)."""
    nch = (n + rows - 1) // rows
    return np.full(nch, np.inf), np.full(nch, -1, dtype=np.int64)


@kernel
def lazy_race_chunks(X, g0, C, s, mind, seen, row_w, key, rows, copy_rows, c0, c1, best_key,
                     best_idx):
    """:func:`_lazy_chunk` on chunks ``c0:c1``."""
    for c in range(c0, c1):
        _lazy_chunk(X, c, rows, g0, C, s, mind, seen, row_w, key, copy_rows, best_key, best_idx)


def lazy_race(X, g0, C, s, mind, seen, row_w, key, rows, copy_rows, parallel=False):
    """One k-means++ draw against the centres ``C[:s]`` without a pass over the
    data (see :func:`_lazy_race_chunk`): per chunk, the best key and local row
    (``inf``/-1 if no row has a positive weight).  ``mind`` and ``seen`` are
    updated for the rows that were read."""
    best_key, best_idx = _chunk_winners(mind.shape[0], rows)
    run_chunk_ranges(lambda c0, c1: lazy_race_chunks(
        X, g0, C, s, mind, seen, row_w, key, rows, copy_rows, c0, c1, best_key, best_idx),
        best_key.shape[0], parallel)
    return best_key, best_idx


def lazy_race_serial(*args):
    """:func:`lazy_race` on one thread."""
    return lazy_race(*args, parallel=False)


def lazy_race_parallel(*args):
    """:func:`lazy_race` over this rank's kernel threads."""
    return lazy_race(*args, parallel=True)


@kernel
def _potential_rows(R, shift, lo, hi, T, mind, row_w, parts, nparts):
    nt = T.shape[0]
    weighted = row_w.shape[0] > 0
    for i in range(lo, hi):
        for t in range(nt):
            d = min(mind[i], sqdist_row(R, i - shift, T, t))
            if weighted:
                d *= row_w[i]
            nparts[t] = msum_add(parts[t], nparts[t], d)


@kernel(inline="always")
def _potential_chunk(X, c, rows, T, mind, row_w, parts, nparts, copy_rows):
    """Exact partials of ``sum_i row_w[i] * min(mind[i], |X[i] - T[t]|^2)`` per trial t,
    over chunk ``c`` (into ``parts[c]``/``nparts[c]``)."""
    lo = c * rows
    hi = min(mind.shape[0], lo + rows)
    if copy_rows:
        _potential_rows(_c_rows(X, lo, hi), lo, lo, hi, T, mind, row_w, parts[c], nparts[c])
    else:
        _potential_rows(X, ZERO, lo, hi, T, mind, row_w, parts[c], nparts[c])


@kernel
def _potential_tables(n, rows, nt):
    nch = (n + rows - 1) // rows
    return np.zeros((nch, nt, MSUM_CAP)), np.zeros((nch, nt), dtype=np.int64)


@kernel
def potentials_chunks(X, T, mind, row_w, rows, copy_rows, c0, c1, parts, nparts):
    """:func:`_potential_chunk` on chunks ``c0:c1``."""
    for c in range(c0, c1):
        _potential_chunk(X, c, rows, T, mind, row_w, parts, nparts, copy_rows)


def potentials(X, T, mind, row_w, rows, copy_rows, parallel=False):
    """Per chunk and trial, the exact-sum partials of the trial potentials."""
    parts, nparts = _potential_tables(mind.shape[0], rows, T.shape[0])
    run_chunk_ranges(lambda c0, c1: potentials_chunks(X, T, mind, row_w, rows, copy_rows, c0, c1,
                                                      parts, nparts),
                     nparts.shape[0], parallel)
    return parts, nparts


def potentials_serial(*args):
    """:func:`potentials` on one thread."""
    return potentials(*args, parallel=False)


def potentials_parallel(*args):
    """:func:`potentials` over this rank's kernel threads."""
    return potentials(*args, parallel=True)


@kernel
def bernoulli_select_serial(mind, key, g0, ell, phi, out):
    """``out[i] = 1`` where ``uniform(key, g0+i) * phi < ell * mind[i]`` (k-means‖:
    each row is drawn with probability ``min(1, ell * mind[i] / phi)``)."""
    for i in range(mind.shape[0]):
        out[i] = 1 if uniform(key, g0 + i) * phi < ell * mind[i] else 0


def bernoulli_select(mind, key, g0, ell, phi, out):
    """:func:`bernoulli_select_serial` over this rank's kernel threads."""
    _elementwise(mind.shape[0], lambda lo, hi: bernoulli_select_serial(
        mind[lo:hi], key, g0 + lo, ell, phi, out[lo:hi]))


@kernel
def weighted_counts(nearest, m):
    """How many rows have each of the ``m`` candidates as their nearest."""
    counts = np.zeros(m, dtype=np.int64)
    for i in range(nearest.shape[0]):
        counts[nearest[i]] += 1
    return counts


# ---- finiteness ---------------------------------------------------------------------------


@kernel
def finite_chunks(X, rows, c0, c1, acc):
    """Into ``acc[c]`` for chunks ``c0:c1``: per column, zero when the chunk's values
    are finite, else NaN."""
    n, p = X.shape
    for c in range(c0, c1):
        out = acc[c]
        for i in range(c * rows, min(n, (c + 1) * rows)):
            for f in range(p):
                x = np.float64(X[i, f])
                out[f] += x - x  # NaN for NaN or infinity, else 0


def _finite(X, rows, parallel):
    n, p = X.shape
    nch = (n + rows - 1) // rows
    acc = np.zeros((max(nch, 1), p))
    run_chunk_ranges(lambda c0, c1: finite_chunks(X, rows, c0, c1, acc), nch, parallel)
    return acc.sum(axis=0)  # every term is 0 or NaN: the order does not matter


def finite_probe(X, rows):
    """Per-column values that are finite (zero) exactly when the column is, over
    this rank's kernel threads."""
    return _finite(X, rows, True)


def finite_probe_serial(X, rows):
    """:func:`finite_probe` on one thread."""
    return _finite(X, rows, False)


# ---- Lloyd ------------------------------------------------------------------------------


@kernel
def center_block(X, lo, hi, origin, buf):
    """``buf[:hi-lo] = X[lo:hi] - origin`` (any input dtype and layout)."""
    p = X.shape[1]
    if X.strides[0] < X.strides[1]:  # column-major: read each column contiguously
        for f in range(p):
            o = origin[f]
            for i in range(hi - lo):
                buf[i, f] = X[lo + i, f] - o
    else:
        for i in range(hi - lo):
            for f in range(p):
                buf[i, f] = X[lo + i, f] - origin[f]


@kernel
def center_dense_block(B, origin, buf):
    """``buf[:len(B)] = B - origin`` for a dense block (e.g. from a sparse matrix)."""
    p = B.shape[1]
    for i in range(B.shape[0]):
        for f in range(p):
            buf[i, f] = B[i, f] - origin[f]


@kernel
def _nearest(GT, cn, best, arg):
    """Nearest centre of each row from ``GT[j, i] = c_j . x_i``: the argmin over j of
    ``|c_j|^2 - 2 c_j . x_i`` (ties: the smaller j)."""
    k, nb = GT.shape
    for i in range(nb):
        best[i] = cn[0] - 2.0 * GT[0, i]
        arg[i] = 0
    for j in range(1, k):
        c = cn[j]
        for i in range(nb):
            v = c - 2.0 * GT[j, i]
            b = best[i]
            better = v < b
            best[i] = v if better else b
            arg[i] = j if better else arg[i]


@kernel
def assign_accumulate(buf, GT, cn, sums, counts, best, arg):
    """Assign the rows of ``buf`` (centred) to their nearest centre and add them to
    the per-cluster ``sums`` (k, p) and ``counts`` (k)."""
    nb = GT.shape[1]
    p = buf.shape[1]
    _nearest(GT, cn, best[:nb], arg[:nb])
    for i in range(nb):
        a = arg[i]
        counts[a] += 1
        for f in range(p):
            sums[a, f] += buf[i, f]


@kernel
def assign_final(buf, GT, cn, Cc, labels, dist, best, arg):
    """Nearest centre of each row and its squared distance to it, summed from the
    differences (not the cancelling expanded form)."""
    nb = GT.shape[1]
    _nearest(GT, cn, best[:nb], arg[:nb])
    for i in range(nb):
        labels[i] = arg[i]
        dist[i] = sqdist_row(buf, i, Cc, arg[i])
