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

Compile cost (the first run after install)
    Only the kernels called from Python are compiled as such; their helpers are
    ``inline="always"``, so each helper's code is typed and optimised once, inside
    the one kernel that uses it, rather than once on its own and again in every
    kernel that links it.  The initialisation kernels take C-ordered float64 rows
    only (the drivers hand them converted slabs of other inputs), so one
    signature serves every input dtype and layout.  ``sqdist_row`` stays a kernel
    of its own: it is the one place with ``reassoc``, which must not spread.
"""
import numpy as np

from .._parallel import run_chunk_ranges
from .jit import kernel
from .products import row_centre_products

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

_M64 = (1 << 64) - 1
_GOLDEN, _MIX1, _MIX2 = int(GOLDEN), int(MIX1), int(MIX2)


def _mix64_int(z):
    """:func:`mix64` on a Python int (for the few draws made outside kernels)."""
    z = ((z ^ (z >> 30)) * _MIX1) & _M64
    z = ((z ^ (z >> 27)) * _MIX2) & _M64
    return z ^ (z >> 31)


def stream_key(seed, tag, a, b):
    """The key of one random stream: (seed, method tag, step, trial), as np.uint64."""
    k = _mix64_int(int(seed) ^ _mix64_int((int(tag) * _GOLDEN + 0x5851F42D4C957F2D) & _M64))
    k = _mix64_int(k ^ ((int(a) * _MIX1 + 0x14057B7EF767814F) & _M64))
    return np.uint64(_mix64_int(k ^ ((int(b) * _MIX2 + 0x2545F4914F6CDD1D) & _M64)))


def uniform(key, g):
    """:func:`uniform_at` outside kernels: the same bits, in plain Python."""
    h = _mix64_int((int(key) + (int(g) + 1) * _GOLDEN) & _M64)
    return (float(h >> 12) + 0.5) * (1.0 / 4503599627370496.0)


@kernel(inline="always")
def mix64(z):
    """splitmix64's finaliser: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


@kernel(inline="always")
def uniform_at(key, g):
    """Uniform in the open interval (0, 1) for global row ``g`` of stream ``key``:
    output ``g`` of SplitMix64 seeded with the (already well mixed) stream key."""
    h = mix64(key + (np.uint64(g) + np.uint64(1)) * GOLDEN)
    # 52 random bits plus one half: exactly representable, never 0 or 1.
    return (np.float64(h >> np.uint64(12)) + 0.5) * (1.0 / 4503599627370496.0)


@kernel
def fill_uniform_serial(key, g0, out):
    """``out[i] = uniform(key, g0 + i)``."""
    for i in range(out.shape[0]):
        out[i] = uniform_at(key, g0 + i)


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


@kernel(inline="always")
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


def used_partials(parts, nparts):
    """The partials in use of per-chunk tables ``parts[c, :nparts[c]]``, as one array."""
    return parts[np.arange(parts.shape[-1]) < nparts[..., None]]


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


#: Chunks per slab when a driver converts rows to C-ordered float64 for a kernel.
SLAB_CHUNKS = 16


def c_float64_slabs(X, rows, c0, c1):
    """``(first chunk, C-ordered float64 rows of chunks c..)`` for chunks ``c0:c1`` of
    ``rows`` rows: views of ``X`` if it is C-ordered float64, else converted copies of
    at most :data:`SLAB_CHUNKS` chunks (the kernels then see one signature only)."""
    n = X.shape[0]
    if X.dtype == np.float64 and X.flags.c_contiguous:
        yield c0, X[c0 * rows:min(n, c1 * rows)]
        return
    for s in range(c0, c1, SLAB_CHUNKS):
        e = min(c1, s + SLAB_CHUNKS)
        yield s, np.ascontiguousarray(X[s * rows:min(n, e * rows)], dtype=np.float64)


@kernel(inline="always")
def _race_rows(lo, hi, g0, mind, row_w, keys, uniform_race, best_key, best_idx, u):
    """Exponential races (one per stream key) over rows ``lo:hi`` with weights
    ``mind * row_w`` (``row_w`` alone, or 1, when ``uniform_race``): row ``i``'s key
    is ``-log(u) / w``; keeps each race's best key and row.

    The uniforms of a chunk are hashed in one vectorisable loop, then scanned;
    since ``-log(u) >= 1 - u``, a row whose bound already exceeds the best key
    needs no logarithm.  ``u`` is scratch space of at least ``hi - lo`` values.
    """
    weighted = row_w.shape[0] > 0
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
def init_pass_chunks(R, g0, C, cbase, mind, nearest, row_w, keys, uniform_race, want_sum, rows,
                     best_key, best_idx, parts, nparts, u):
    """Chunk ``c`` of ``rows`` rows of ``R`` (C-ordered float64, row ``i`` at global
    index ``g0 + i``), into row ``c`` of the tables: fold the centres ``C`` into
    ``mind`` (and ``nearest``), add ``mind`` (times ``row_w`` if weighted) to the
    exact-sum partials, then run the races on the chunk while it is in cache.
    ``u``: scratch space of ``rows`` values (allocated by the caller, so that no
    allocation is compiled here)."""
    m = C.shape[0]
    n = R.shape[0]
    track = nearest.shape[0] > 0
    weighted = row_w.shape[0] > 0
    for c in range(best_key.shape[0]):
        lo = c * rows
        hi = min(n, lo + rows)
        part = parts[c]
        npart = ZERO
        for i in range(lo, hi):
            for j in range(m):
                d = sqdist_row(R, i, C, j)
                if d < mind[i]:
                    mind[i] = d
                    if track:
                        nearest[i] = cbase + j
            if want_sum:
                npart = msum_add(part, npart, mind[i] * row_w[i] if weighted else mind[i])
        nparts[c] = npart
        if keys.shape[0] > 0:
            _race_rows(lo, hi, g0, mind, row_w, keys, uniform_race, best_key[c], best_idx[c],
                       u)


def init_pass(X, g0, C, cbase, mind, nearest, row_w, keys, uniform_race, want_sum, rows,
              parallel=False):
    """One pass of the initialisation over this rank's rows, chunk by chunk:

    1. ``mind``/``nearest`` updated with the centres ``C`` (may have no rows);
    2. when ``want_sum``, the exact-sum partials of the updated ``mind`` (times
       ``row_w`` when weighted);
    3. one exponential race per key in ``keys`` on the updated weights.

    Returns per chunk: the races' best keys and local indices, the partials and
    their counts.  Combine the chunks in order (see d4p/seeding.py).  ``X`` may be
    of any dtype and layout.  With ``parallel``, ranges of chunks run on this
    rank's kernel threads.
    """
    n = mind.shape[0]
    nch = (n + rows - 1) // rows
    nt = keys.shape[0]
    best_key = np.full((nch, nt), np.inf)
    best_idx = np.full((nch, nt), -1, dtype=np.int64)
    parts = np.zeros((nch, MSUM_CAP))
    nparts = np.zeros(nch, dtype=np.int64)
    C = np.ascontiguousarray(C, dtype=np.float64)

    def run(c0, c1):
        u = np.empty(rows)
        for s, R in c_float64_slabs(X, rows, c0, c1):
            lo, hi = s * rows, s * rows + R.shape[0]
            e = s + (R.shape[0] + rows - 1) // rows
            init_pass_chunks(R, g0 + lo, C, cbase, mind[lo:hi],
                             nearest[lo:hi] if nearest.shape[0] else nearest,
                             row_w[lo:hi] if row_w.shape[0] else row_w, keys, uniform_race,
                             want_sum, rows, best_key[s:e], best_idx[s:e], parts[s:e],
                             nparts[s:e], u)
            if lo:  # the kernel saw the slab's rows from 0
                found = best_idx[s:e]
                found[found >= 0] += lo

    run_chunk_ranges(run, nch, parallel)
    return best_key, best_idx, parts, nparts


# ---- k-means++ races on stale distances ----------------------------------------------------


@kernel(inline="always")
def _refresh(X, i, C, s, seen, mind, row):
    """Fold the centres ``C[seen[i]:s]`` into ``mind[i]``, which is then exact.  The
    row is first copied into ``row`` (1, p) as float64, so that every input dtype and
    layout reaches ``sqdist_row`` as the same C-ordered float64 row."""
    if seen[i] < s:
        for f in range(X.shape[1]):
            row[0, f] = X[i, f]
        m = mind[i]
        for j in range(seen[i], s):
            d = sqdist_row(row, ZERO, C, j)
            if d < m:
                m = d
        mind[i] = m
        seen[i] = s
    return mind[i]


@kernel(inline="always")
def _weight(m, row_w, i):
    """A row's race weight from its distance ``m``: times ``row_w[i]`` if weighted."""
    return m * row_w[i] if row_w.shape[0] > 0 else m


@kernel
def lazy_race_chunks(X, g0, C, s, mind, seen, row_w, key, rows, c0, c1, best_key, best_idx,
                     u, row):
    """The exact winner (key, row) of the D² race against the centres ``C[:s]`` over
    each chunk ``c0:c1`` of ``rows`` rows, into ``best_key[c]``/``best_idx[c]``,
    where ``mind[i]`` has only the centres ``C[:seen[i]]``.

    A stale ``mind[i]`` is an upper bound of the exact one, so ``-log(u)/stale`` is
    a lower bound of the row's exact key: a row whose bound exceeds an exact key
    already found cannot win and is never read.  The race on the stale weights
    points at a likely winner; its exact key is the first bar; every row under
    the bar is brought up to date and raced exactly.  The answer is the eager
    race's, bit for bit, after reading a handful of rows instead of all of them.
    ``u`` (rows,) and ``row`` (1, p) are scratch space.
    """
    n = mind.shape[0]
    for c in range(c0, c1):
        lo = c * rows
        hi = min(n, lo + rows)
        best_key[c] = np.inf
        best_idx[c] = -1
        for i in range(lo, hi):
            u[i - lo] = uniform_at(key, g0 + i)
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
        if cand < 0:
            continue
        bk = np.inf
        bi = np.int64(-1)
        # 2. that row's exact key is the bar
        w = _weight(_refresh(X, cand, C, s, seen, mind, row), row_w, cand)
        if w > 0.0:
            bk = -np.log(u[cand - lo]) / w
            bi = cand
        # 3. every row whose lower bound does not exceed the bar, exactly
        for i in range(lo, hi):
            w = _weight(mind[i], row_w, i)
            if not w > 0.0:
                continue
            ui = u[i - lo]
            if bk < np.inf and (1.0 - ui) * _BOUND_SLACK > bk * w:
                continue  # -log(u)/exact >= (1-u)/stale > bar: cannot win
            w = _weight(_refresh(X, i, C, s, seen, mind, row), row_w, i)
            if not w > 0.0:
                continue
            k = -np.log(ui) / w
            if k < bk or (k == bk and i < bi):  # ties: the earlier row
                bk = k
                bi = i
        best_key[c] = bk
        best_idx[c] = bi


def lazy_race(X, g0, C, s, mind, seen, row_w, key, rows, parallel=False):
    """One k-means++ draw against the centres ``C[:s]`` without a pass over the
    data (see :func:`lazy_race_chunks`): per chunk, the best key and local row
    (``inf``/-1 if no row has a positive weight).  ``mind`` and ``seen`` are
    updated for the rows that were read."""
    nch = (mind.shape[0] + rows - 1) // rows
    best_key, best_idx = np.full(nch, np.inf), np.full(nch, -1, dtype=np.int64)
    C = np.ascontiguousarray(C, dtype=np.float64)
    run_chunk_ranges(lambda c0, c1: lazy_race_chunks(
        X, g0, C, s, mind, seen, row_w, np.uint64(key), rows, c0, c1, best_key, best_idx,
        np.empty(rows), np.empty((1, X.shape[1]))), nch, parallel)
    return best_key, best_idx


@kernel
def potentials_chunks(R, T, mind, row_w, rows, parts, nparts):
    """Exact partials of ``sum_i row_w[i] * min(mind[i], |R[i] - T[t]|^2)`` per trial
    t, over each chunk ``c`` of ``rows`` rows of ``R`` (C-ordered float64), into
    ``parts[c]``/``nparts[c]``."""
    nt = T.shape[0]
    n = R.shape[0]
    weighted = row_w.shape[0] > 0
    for c in range(nparts.shape[0]):
        part, npart = parts[c], nparts[c]
        for i in range(c * rows, min(n, (c + 1) * rows)):
            for t in range(nt):
                d = min(mind[i], sqdist_row(R, i, T, t))
                if weighted:
                    d *= row_w[i]
                npart[t] = msum_add(part[t], npart[t], d)


def potentials(X, T, mind, row_w, rows, parallel=False):
    """Per chunk and trial, the exact-sum partials of the trial potentials."""
    n = mind.shape[0]
    nch = (n + rows - 1) // rows
    parts = np.zeros((nch, T.shape[0], MSUM_CAP))
    nparts = np.zeros((nch, T.shape[0]), dtype=np.int64)
    T = np.ascontiguousarray(T, dtype=np.float64)

    def run(c0, c1):
        for s, R in c_float64_slabs(X, rows, c0, c1):
            lo, hi = s * rows, s * rows + R.shape[0]
            e = s + (R.shape[0] + rows - 1) // rows
            potentials_chunks(R, T, mind[lo:hi], row_w[lo:hi] if row_w.shape[0] else row_w,
                              rows, parts[s:e], nparts[s:e])

    run_chunk_ranges(run, nch, parallel)
    return parts, nparts


@kernel
def bernoulli_select_serial(mind, key, g0, ell, phi, out):
    """``out[i] = 1`` where ``uniform(key, g0+i) * phi < ell * mind[i]`` (k-means‖:
    each row is drawn with probability ``min(1, ell * mind[i] / phi)``)."""
    for i in range(mind.shape[0]):
        out[i] = 1 if uniform_at(key, g0 + i) * phi < ell * mind[i] else 0


def bernoulli_select(mind, key, g0, ell, phi, out):
    """:func:`bernoulli_select_serial` over this rank's kernel threads."""
    _elementwise(mind.shape[0], lambda lo, hi: bernoulli_select_serial(
        mind[lo:hi], key, g0 + lo, ell, phi, out[lo:hi]))


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


@kernel(inline="always")
def _nearest(GT, cn, best, arg):
    """Nearest centre of each row from ``GT[i, j] = x_i . c_j`` (j < len(cn)): the
    argmin over j of ``|c_j|^2 - 2 c_j . x_i`` (ties: the smaller j)."""
    k = cn.shape[0]
    for i in range(GT.shape[0]):
        b = cn[0] - 2.0 * GT[i, 0]
        a = 0
        for j in range(1, k):
            v = cn[j] - 2.0 * GT[i, j]
            if v < b:
                b = v
                a = j
        best[i] = b
        arg[i] = a


@kernel
def assign_block(buf, GT, Ct, tiled, cn, Cc, w, final, sums, counts, colstats, labels, dist,
                 parts, npart, best, arg, src, origin, out):
    """Assign the rows of ``buf`` (centred) to their nearest centre, then centre the
    next block; returns the new count of the exact-sum partials ``parts[:npart]``.

    ``GT`` (nb, kp) holds the rows' products with the centres ``Ct`` (p, kp, the
    centroids transposed and padded with zero columns): when ``tiled``, this
    kernel computes them (products.py); else the caller did (BLAS).

    * ``final`` false: add the rows (times ``w`` when weighted) to the per-cluster
      ``sums`` (k, p) and their weights (1 each when not weighted) to ``counts``
      (k).
    * ``final`` true: each row's label and squared distance to its centre, summed
      from the differences (not the cancelling expanded form), into ``labels`` and
      ``dist``; the distances (times ``w``) are added to the partials.
    * Then ``out[:len(src)] = src - origin``: the caller's next block (``buf`` has
      no rows for the first block of a range), centred here rather than by numpy
      between calls (numpy's broadcast subtraction costs about twice this loop;
      same rounding).  When ``colstats`` has rows, the columns' plain sums and
      sums of squares of the centred rows go to ``colstats[0]``/``colstats[1]``
      (unweighted), as they are made.

    One kernel for all of it (instead of three) so that the first run compiles
    the nearest centre search once.
    """
    nb = GT.shape[0]
    p = buf.shape[1]
    weighted = w.shape[0] > 0
    if tiled:
        row_centre_products(buf, nb, Ct, GT)
    _nearest(GT, cn, best[:nb], arg[:nb])
    if final:
        for i in range(nb):
            a = arg[i]
            labels[i] = a
            d = sqdist_row(buf, i, Cc, a)
            dist[i] = d
            npart = msum_add(parts, npart, d * w[i] if weighted else d)
    else:
        for i in range(nb):
            a = arg[i]
            wi = w[i] if weighted else 1.0
            counts[a] += wi
            for f in range(p):
                sums[a, f] += wi * buf[i, f]
    stats = colstats.shape[0] > 0
    for i in range(src.shape[0]):
        for f in range(p):
            out[i, f] = src[i, f] - origin[f]
            if stats:
                x = np.float64(out[i, f])
                colstats[0, f] += x
                colstats[1, f] += x * x
    return npart
