"""``kmeans_init`` (deterministic, random, k-means++, k-means‖) and ``kmeans`` (Lloyd).

Every random choice is a function of the seed and the *global* row index (the
row's position in the rank-order concatenation), never of the rank, so every
initialisation method gives the same centroids, in the same order, for any
number of ranks and any split of the rows:

* ``randomDense``: the k rows with the smallest uniform keys, in key order.
* ``plusPlusDense``: the first centre is row ``floor(u * N)``; then D² sampling by
  exponential races (key ``-log(u)/D²``, the smallest global key wins), greedy
  with ``nTrials`` candidates per step; trial potentials are exact sums (Shewchuk
  partials combined with ``math.fsum``).
* ``parallelPlusDense``: k-means‖ (Bahmani et al. 2012) with the sampling
  threshold ``ell * D² / phi`` using the exact, correctly rounded cost ``phi``;
  the candidates are weighted by the rows closest to them and reduced to k
  centres by a weighted greedy k-means++ computed identically on every rank.

``kmeans`` runs oneDAL's batch Lloyd semantics in batch and distributed mode
alike: assign, recompute the means, re-seed empty clusters with the farthest
rows (one global rule), stop when the summed squared centroid shift is at most
``accuracyThreshold`` (that iteration counts) or after ``maxIterations``; the
objective and the assignments refer to the final centroids.  Per iteration only
the k×p sums and the k counts cross the wire.
"""
import hashlib
import math
import numbers
import threading

import numpy as np

from . import _parallel
from ._algorithm import (Agreement, as_fptype, check_bool, check_fptype, check_method,
                         columns_of, communicator, parse_flags, raise_on_all, same_columns)
from ._inputs import as_table, check_finite, is_sparse
from ._results import Result
from .comm.serial import SerialCommunicator
from .kernels import kmeans as kk

DEFAULT_SEED = 777777

# Stream tags: each use of randomness has its own stream.
_TAG_RANDOM, _TAG_PLUSPLUS, _TAG_PARALLEL, _TAG_TOPUP, _TAG_REDUCE, _TAG_FALLBACK = range(1, 7)


# ---- engines ------------------------------------------------------------------------------


class _Engine:
    """Base of the ``engines_*`` objects: they only carry a seed.

    d4p draws every random number from a counter-based hash of (seed, purpose,
    global row index), so the engine family does not change the numbers; the
    classes exist so that daal4py scripts passing ``engine=`` run unchanged.
    """

    _name = "engine"

    def __init__(self, fptype="double", method="defaultDense", seed=-1):
        check_fptype(fptype)
        self.fptype = fptype
        self.method = check_method(self._name, method, ("defaultDense",))
        self.seed = _check_seed(self._name, seed)

    def __repr__(self):
        return f"{self._name}(seed={self.seed})"

    def __eq__(self, other):
        return type(other) is type(self) and other.seed == self.seed

    __hash__ = None

    def __reduce__(self):
        return (type(self), (self.fptype, self.method, self.seed))


def _check_seed(name, seed):
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name}: seed must be an integer, got {seed!r}")
    seed = int(seed)
    if seed == -1:
        return DEFAULT_SEED
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{name}: seed must be -1 (default, {DEFAULT_SEED}) or in "
                         f"[0, 2**64), got {seed}")
    return seed


def _engine_class(name, doc):
    return type(name, (_Engine,), {"_name": name, "__doc__": doc, "__module__": __name__})


_ENGINE_DOC = """Random engine ``{name}`` (daal4py name); only its ``seed`` is used.

    Parameters
    ----------
    fptype : {{'double', 'float'}}, default 'double'
        Accepted for compatibility.
    method : {{'defaultDense'}}
        Accepted for compatibility.
    seed : int, default -1
        The seed; -1 means {seed}, the default of ``kmeans_init``.

    Notes
    -----
    d4p draws random numbers from a counter-based hash of (seed, global row
    index), which makes results independent of the number of ranks; the engine
    family therefore does not change the draws, and they differ from daal4py's.
    """

engines_mt19937 = _engine_class("engines_mt19937",
                                _ENGINE_DOC.format(name="mt19937", seed=DEFAULT_SEED))
engines_mt2203 = _engine_class("engines_mt2203",
                               _ENGINE_DOC.format(name="mt2203", seed=DEFAULT_SEED))
engines_mcg59 = _engine_class("engines_mcg59", _ENGINE_DOC.format(name="mcg59", seed=DEFAULT_SEED))
engines_mrg32k3a = _engine_class("engines_mrg32k3a",
                                 _ENGINE_DOC.format(name="mrg32k3a", seed=DEFAULT_SEED))
engines_philox4x32x10 = _engine_class("engines_philox4x32x10",
                                      _ENGINE_DOC.format(name="philox4x32x10", seed=DEFAULT_SEED))


# ---- this rank's rows ------------------------------------------------------------------


class _Rows:
    """This rank's rows: ``n`` rows of ``p`` columns starting at global row ``g0``."""

    SPARSE_BLOCK_BYTES = 4 << 20

    def __init__(self, X, p, g0, total=None):
        if not is_sparse(X) and X.shape[0] == 0:
            X = np.empty((0, p))
        self.X = X
        self.n = X.shape[0]
        self.p = p
        self.g0 = g0
        self.total = self.n if total is None else total  # rows on all ranks
        self.sparse = is_sparse(X)

    def blocks(self):
        """``(lo, hi, dense block)``: the whole array when dense, else dense pieces."""
        if not self.sparse:
            yield 0, self.n, self.X
            return
        rows = max(1, self.SPARSE_BLOCK_BYTES // (8 * max(self.p, 1)))
        for lo in range(0, self.n, rows):
            hi = min(self.n, lo + rows)
            yield lo, hi, self.X[lo:hi].toarray()

    def take(self, local):
        """Rows at local indices ``local`` as a float64 (len, p) array."""
        local = np.asarray(local, dtype=np.int64)
        if self.sparse:
            return self.X[local].toarray().astype(np.float64).reshape(len(local), self.p)
        return np.asarray(self.X[local], dtype=np.float64).reshape(len(local), self.p)


def _agree_rows(comm, where, data, extra=None, probe=True):
    """Validate this rank's data inside an Agreement; return (X, p, g0, N, infos).

    With ``probe=False`` the caller checks finiteness itself, from the first pass
    over the data (see :func:`_check_after_pass`)."""
    with Agreement(comm, where) as step:
        X = as_table(data)
        if probe or is_sparse(X):
            _check_finite_fast(X)
        info_extra = extra(X) if extra else None
        step.info = (columns_of(X), X.shape[0], info_extra)
    p = same_columns([i[0] for i in step.infos], where, comm.size)
    counts = [i[1] for i in step.infos]
    g0 = sum(counts[:comm.rank])
    return X, p, g0, sum(counts), step.infos


def _check_finite_fast(X):
    """check_finite with a parallel probe (zero per column unless a value is not finite)."""
    if is_sparse(X) or X.shape[0] == 0:
        check_finite(X, "data")
        return
    rows = kk.chunk_rows(X.shape[1])
    probe = (kk.finite_probe if _parallel.use_parallel(X.shape[0], rows)
             else kk.finite_probe_serial)(X, rows)
    check_finite(X, "data", sums=probe)


def _check_after_pass(X, values):
    """Raise for a non-finite value in ``X`` if the first pass's ``values`` (sums of
    distances over every row) are not finite.  Finite data can still overflow, so
    the data itself decides."""
    if not np.isfinite(values).all():
        check_finite(X, "data")


def _too_few_rows(total, k, where, size):
    if total < k:
        raise_on_all({0: ("ValueError", "ValueError",
                          f"nClusters={k} exceeds the total number of rows ({total})")},
                     where, size)


def _fetch_rows(comm, rows, wanted):
    """Rows at global indices ``wanted`` (any order), on every rank."""
    wanted = np.asarray(wanted, dtype=np.int64)
    mine = np.flatnonzero((wanted >= rows.g0) & (wanted < rows.g0 + rows.n))
    piece = (mine, rows.take(wanted[mine] - rows.g0))
    out = np.empty((len(wanted), rows.p))
    for pos, vals in comm.allgather(piece):
        out[pos] = vals
    return out


def _c_float64(B):
    """True for a C-ordered float64 block, which the kernels read in place."""
    return B.dtype == np.float64 and B.flags.c_contiguous


def _stream_key(seed, tag, a, b):
    """The uint64 key of one random stream (see kernels/kmeans.py)."""
    return np.uint64(kk.stream_key(np.uint64(seed), tag, a, b))


# ---- passes over the rows for the initialisation ----------------------------------------------


_NO_INT = np.empty(0, dtype=np.int64)
_NO_FLOAT = np.empty(0)
_NO_KEYS = np.empty(0, dtype=np.uint64)


def _init_pass(rows, mind, centres=None, cbase=0, nearest=_NO_INT, keys=_NO_KEYS,
               uniform_race=False, want_sum=False, row_w=_NO_FLOAT):
    """Update ``mind``/``nearest`` with ``centres``, then race for each key.

    Returns (best keys, best *global* indices or -1, exact-sum partials of ``mind``).
    """
    C = np.zeros((0, rows.p)) if centres is None else np.ascontiguousarray(centres, np.float64)
    keys = np.asarray(keys, dtype=np.uint64)
    nt = keys.shape[0]
    best_key = np.full(nt, np.inf)
    best_idx = np.full(nt, -1, dtype=np.int64)
    parts = []
    r = kk.chunk_rows(rows.p)
    for lo, hi, B in rows.blocks():
        if hi == lo:
            continue
        kernel = kk.init_pass_parallel if _parallel.use_parallel(hi - lo, r) else \
            kk.init_pass_serial
        bk, bi, pp, npp = kernel(B, rows.g0 + lo, C, cbase, mind[lo:hi],
                                 nearest[lo:hi] if nearest.size else nearest,
                                 row_w[lo:hi] if row_w.size else row_w, keys, uniform_race,
                                 want_sum, r, not _c_float64(B))
        if nt and bk.shape[0]:
            c = np.argmin(bk, axis=0)  # the first chunk holding the minimum: ties keep
            t = np.arange(nt)          # the earlier row, as chunks come in row order
            better = bk[c, t] < best_key
            best_key[better] = bk[c, t][better]
            best_idx[better] = bi[c, t][better] + lo + rows.g0
        if want_sum:
            parts.append(pp[np.arange(pp.shape[1]) < npp[:, None]])
    return best_key, best_idx, (np.concatenate(parts) if parts else _NO_FLOAT)


def _race_winners(comm, rows, best_key, best_idx, check=None):
    """Global winner of each race: (key, global index, row); key inf = nobody.

    ``check`` (a where-string and the pass's partial sums) folds the finiteness
    check of the first pass into this exchange: a failure raises on every rank.
    """
    local = best_idx - rows.g0
    found = best_idx >= 0
    vals = np.zeros((len(best_key), rows.p))
    if found.any():
        vals[found] = rows.take(local[found])
    mine = (best_key, best_idx, vals)
    if check is None:
        gathered = comm.allgather(mine)
    else:
        where, parts = check
        with Agreement(comm, where) as step:
            _check_after_pass(rows.X, parts)
            step.info = mine
        gathered = step.infos
    key = np.full(len(best_key), np.inf)
    idx = np.full(len(best_key), -1, dtype=np.int64)
    out = np.zeros((len(best_key), rows.p))
    for k_r, i_r, v_r in gathered:
        better = k_r < key  # ranks in order: ties keep the smaller global index
        key[better] = k_r[better]
        idx[better] = i_r[better]
        out[better] = v_r[better]
    return key, idx, out


def _exact_sum(comm, parts, check=None):
    """Correctly rounded sum of every rank's partials (independent of the split).

    ``check`` (a where-string and this rank's data) first checks the pass that
    produced the partials for non-finite data; a failure raises on every rank.
    """
    if check is None:
        gathered = comm.allgather(parts)
    else:
        where, X = check
        with Agreement(comm, where) as step:
            _check_after_pass(X, parts)
            step.info = parts
        gathered = step.infos
    return math.fsum(np.concatenate([np.asarray(p, dtype=np.float64) for p in gathered]))


def _exact_sums(comm, parts_list):
    gathered = comm.allgather(parts_list)
    return np.array([math.fsum(np.concatenate([g[t] for g in gathered]))
                     for t in range(len(parts_list))])


def _potentials(rows, trials, mind, row_w=_NO_FLOAT):
    """Per trial, this rank's exact-sum partials of ``sum(row_w * min(mind, d²))``."""
    T = np.ascontiguousarray(trials, dtype=np.float64)
    nt = T.shape[0]
    out = [[] for _ in range(nt)]
    r = kk.chunk_rows(rows.p)
    for lo, hi, B in rows.blocks():
        if hi == lo:
            continue
        kernel = kk.potentials_parallel if _parallel.use_parallel(hi - lo, r) else \
            kk.potentials_serial
        parts, nparts = kernel(B, T, mind[lo:hi], row_w[lo:hi] if row_w.size else row_w, r,
                               not _c_float64(B))
        used = np.arange(parts.shape[2]) < nparts[:, :, None]
        for t in range(nt):
            out[t].append(parts[:, t][used[:, t]])
    return [np.concatenate(o) if o else _NO_FLOAT for o in out]


def _draw(comm, rows, mind, keys, seed, step, fallback_tag, uniform_race=False,
          row_w=_NO_FLOAT, update=None, cbase=0, nearest=_NO_INT, check=None):
    """Race(s) on ``mind`` (after updating it with ``update``); rows for each key.

    If every weight is zero (all rows sit on chosen centres), the draw falls back
    to a uniform choice among all rows (weighted by ``row_w`` if given).  With
    ``check`` (a where-string) this pass also serves as the finiteness check.
    """
    bk, bi, parts = _init_pass(rows, mind, update, cbase, nearest, keys, uniform_race,
                               want_sum=check is not None, row_w=row_w)
    key, idx, vals = _race_winners(comm, rows, bk, bi,
                                   None if check is None else (check, parts))
    if np.isinf(key).any():  # the same on every rank: the winners were gathered
        idx, vals = _uniform_draw(comm, rows, mind, seed, fallback_tag, step, len(keys), row_w)
    return idx, vals


def _uniform_draw(comm, rows, mind, seed, tag, step, ntrials, row_w):
    """``ntrials`` races weighted by ``row_w`` alone (or uniform): the fallback when
    every D² is zero.  Returns (global indices, rows)."""
    keys = np.array([_stream_key(seed, tag, step, t) for t in range(ntrials)], dtype=np.uint64)
    bk, bi, _ = _init_pass(rows, mind, keys=keys, uniform_race=True, row_w=row_w)
    _, idx, vals = _race_winners(comm, rows, bk, bi)
    return idx, vals


#: Rows per chunk of a lazy race: the refreshes per chunk do not grow with its size
#: (about ``sum(stale) / sum(exact)`` rows), so larger chunks read fewer rows.
_LAZY_CHUNK_ROWS = 16384


def _lazy_draw(comm, rows, mind, seen, centres, s, key, seed, row_w=_NO_FLOAT):
    """One k-means++ draw against ``centres[:s]`` that reads only the rows that can
    still win (see ``kernels/kmeans._lazy_race_chunk``); ``mind[i]`` holds the
    centres ``centres[:seen[i]]`` and is brought up to date where it is read.

    The winner is the eager draw's, bit for bit, on any split."""
    C = np.ascontiguousarray(centres[:s], np.float64)
    best_key, best_idx = np.array([np.inf]), np.array([-1], dtype=np.int64)
    if rows.n:
        X = rows.X
        r = _LAZY_CHUNK_ROWS
        kernel = kk.lazy_race_parallel if _parallel.use_parallel(rows.n, r) else \
            kk.lazy_race_serial
        bk, bi = kernel(X, rows.g0, C, s, mind, seen, row_w, key, r, not _c_float64(X))
        c = int(np.argmin(bk))  # the first chunk holding the minimum: the earlier row
        if bi[c] >= 0:
            best_key[0], best_idx[0] = bk[c], bi[c] + rows.g0
    found, _, vals = _race_winners(comm, rows, best_key, best_idx)
    if np.isinf(found).any():  # every row sits on a centre: as in _draw
        _, vals = _uniform_draw(comm, rows, mind, seed, _TAG_FALLBACK, s, 1, row_w)
    return vals[0]


def _first_centre(comm, rows, mind, seed, tag, row_w=_NO_FLOAT):
    """The first centre: a uniform row, ``g = floor(u * N)`` from one draw (no pass
    over the data), or drawn in proportion to ``row_w`` when weighted."""
    if row_w.size:
        first = np.array([_stream_key(seed, tag, 0, 0)], dtype=np.uint64)
        _, vals = _draw(comm, rows, mind, first, seed, 0, _TAG_FALLBACK, uniform_race=True,
                        row_w=row_w)
        return vals[0]
    u = kk.uniform(_stream_key(seed, tag, 0, 0), 0)
    g = min(rows.total - 1, int(u * rows.total))
    return _fetch_rows(comm, rows, [g])[0]


def _plus_plus(comm, rows, k, ntrials, seed, tag, row_w=_NO_FLOAT, check=None):
    """Greedy k-means++ (``ntrials`` candidates per step after the first).

    ``check`` (a where-string): the first pass over the data checks finiteness.
    """
    mind = np.full(rows.n, np.inf)
    centres = np.empty((k, rows.p))
    if k == 1 and check is not None:  # no pass over the data: check it directly
        with Agreement(comm, check):
            _check_finite_fast(rows.X)
    centres[0] = _first_centre(comm, rows, mind, seed, tag, row_w)
    # With one trial per step, only the first step reads every row; later draws
    # read the rows that can still win, and ``seen`` says which centres each
    # row's ``mind`` holds.  (Trials need every row's exact distance.)
    lazy = ntrials == 1 and not rows.sparse
    seen = np.ones(rows.n if lazy else 0, dtype=np.int32)
    for s in range(1, k):
        keys = np.array([_stream_key(seed, tag, s, t) for t in range(ntrials)],
                        dtype=np.uint64)
        if lazy and s > 1:
            centres[s] = _lazy_draw(comm, rows, mind, seen, centres, s, keys[0], seed, row_w)
            continue
        # One pass: add the previous centre to the distances, then race on them.
        _, cands = _draw(comm, rows, mind, keys, seed, s, _TAG_FALLBACK, row_w=row_w,
                         update=centres[s - 1:s], check=check if s == 1 else None)
        best = 0
        if ntrials > 1:
            pot = _exact_sums(comm, _potentials(rows, cands, mind, row_w))
            best = int(np.argmin(pot))  # ties: the first trial
        centres[s] = cands[best]
    return centres


def _parallel_plus(comm, rows, k, ell, nrounds, seed, where):
    """k-means‖: oversample about ``ell`` rows per round, then reduce to k.

    The first pass over the data also checks it for non-finite values."""
    mind = np.full(rows.n, np.inf)
    nearest = np.zeros(rows.n, dtype=np.int64)
    cands = [_first_centre(comm, rows, mind, seed, _TAG_PLUSPLUS)[None]]
    pending = cands[0]  # candidates not yet folded into mind/nearest
    ncand = 0
    for r in range(1, nrounds + 1):
        # One pass: fold the newest candidates in, and the exact cost phi.
        _, _, parts = _init_pass(rows, mind, pending, ncand, nearest, want_sum=True)
        ncand += len(pending)
        pending = pending[:0]
        phi = _exact_sum(comm, parts, (where, rows.X) if r == 1 else None)
        if not phi > 0.0:
            break  # every row sits on a candidate
        sel = np.empty(rows.n, dtype=np.uint8)
        key = _stream_key(seed, _TAG_PARALLEL, r, 0)
        (kk.bernoulli_select if _parallel.use_parallel(rows.n, 4096) else
         kk.bernoulli_select_serial)(mind, key, rows.g0, float(ell), phi, sel)
        picked = [v for v in comm.allgather(rows.take(np.flatnonzero(sel))) if len(v)]
        if picked:
            pending = np.concatenate(picked)  # rank order = global index order
            cands.append(pending)
    if len(pending):
        _init_pass(rows, mind, pending, ncand, nearest)
        ncand += len(pending)
    step = 0
    while ncand < k:  # too few candidates: top up with plain D² draws
        key = np.array([_stream_key(seed, _TAG_TOPUP, step, 0)], dtype=np.uint64)
        _, vals = _draw(comm, rows, mind, key, seed, step, _TAG_FALLBACK)
        cands.append(vals)
        _init_pass(rows, mind, vals, ncand, nearest)
        ncand += 1
        step += 1
    C = np.concatenate(cands)
    weights = comm.allreduce(kk.weighted_counts(nearest, ncand).astype(np.float64), "sum")
    # The reduction runs on the (small) candidate set, identically on every rank.
    ntrials = 2 + int(math.log(k))
    local = _Rows(C, rows.p, 0)
    return _plus_plus(SerialCommunicator(), local, k, ntrials, seed, _TAG_REDUCE, row_w=weights)


def _random_rows(comm, rows, k, seed):
    """The k rows with the smallest uniform keys, in key order (ties: global index)."""
    u = np.empty(rows.n)
    key = _stream_key(seed, _TAG_RANDOM, 0, 0)
    (kk.fill_uniform if _parallel.use_parallel(rows.n, 4096) else kk.fill_uniform_serial)(
        key, rows.g0, u)
    m = min(k, rows.n)
    local = np.argpartition(u, m - 1)[:m] if 0 < m < rows.n else np.arange(rows.n)
    gathered = comm.allgather((u[local], local + rows.g0))
    cand_u = np.concatenate([c[0] for c in gathered])
    cand_g = np.concatenate([c[1] for c in gathered])
    order = np.lexsort((cand_g, cand_u))[:k]
    return _fetch_rows(comm, rows, cand_g[order])


def _warm(X):
    """Compile the parallel kernels too (d4p warmup; tiny inputs run serially)."""
    X = np.ascontiguousarray(X[:64])
    for A in (X, np.asfortranarray(X)):
        n, p = A.shape
        mind = np.full(n, np.inf)
        kk.init_pass_parallel(A, 0, np.asarray(X[:2], np.float64), 0, mind,
                              np.zeros(n, dtype=np.int64), _NO_FLOAT,
                              np.array([1], dtype=np.uint64), False, True, 16, not _c_float64(A))
        kk.potentials_parallel(A, np.asarray(X[:2], np.float64), mind, _NO_FLOAT, 16,
                               not _c_float64(A))
        kk.lazy_race_parallel(A, 0, np.asarray(X[:2], np.float64), 2, mind,
                              np.ones(n, dtype=np.int32), _NO_FLOAT, np.uint64(1), 16,
                              not _c_float64(A))
        kk.finite_probe(A, 16)
    u = np.empty(8)
    kk.fill_uniform(np.uint64(1), 0, u)
    kk.bernoulli_select(u, np.uint64(1), 0, 1.0, 1.0, np.empty(8, dtype=np.uint8))


# ---- kmeans_init ---------------------------------------------------------------------------------


INIT_METHODS = ("defaultDense", "deterministicDense", "randomDense", "plusPlusDense",
                "parallelPlusDense", "deterministicCSR", "randomCSR", "plusPlusCSR",
                "parallelPlusCSR")


def _check_count(name, param, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {param} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: {param} must be at least {minimum}, got {value}")
    return int(value)


def _is_default(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


class kmeans_init_result(Result):
    """``centroids`` (nClusters, p), the same on every rank."""

    _fields = ("centroids",)


class kmeans_init:
    """Initial centroids for k-means.

    Parameters
    ----------
    nClusters : int
        Number of centroids k.
    fptype : {'double', 'float'}, default 'double'
        dtype of the result.
    method : str, default 'defaultDense'
        'defaultDense' / 'deterministicDense' (the first k rows), 'randomDense'
        (k distinct random rows), 'plusPlusDense' (k-means++), 'parallelPlusDense'
        (k-means‖).  The '...CSR' names are the same methods; every method takes
        dense or sparse input, batch or distributed.
    nTrials : int, default -1 (1)
        k-means++: candidates drawn per step after the first; the one with the
        lowest potential is kept (greedy k-means++).
    oversamplingFactor : float, default NaN (0.5)
        k-means‖: about ``oversamplingFactor * nClusters`` rows are drawn per round.
    nRounds : int, default -1 (5)
        k-means‖: number of sampling rounds.
    engine : engines_* object, optional
        Its ``seed`` seeds the draws (default seed 777777).
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the same centroids.
    seed : int, optional (keyword only; not in daal4py)
        Shortcut for ``engine=engines_mt19937(seed=seed)``.

    Notes
    -----
    For a given seed every method returns the same centroids, in the same order,
    however the rows are split over ranks (including ranks with no rows).  The
    draws differ from daal4py's, whose random order and k-means‖ depend on the split.
    """

    _name = "kmeans_init"

    def __init__(self, nClusters, fptype="double", method="defaultDense", nTrials=-1,
                 oversamplingFactor=float("nan"), nRounds=-1, engine=None, distributed=False,
                 *, seed=None):
        self.nClusters = _check_count(self._name, "nClusters", nClusters, 1)
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(self._name, method, INIT_METHODS)
        self.nTrials = 1 if nTrials in (-1, None) else _check_count(self._name, "nTrials",
                                                                     nTrials, 1)
        if _is_default(oversamplingFactor):
            self.oversamplingFactor = 0.5
        else:
            f = float(oversamplingFactor)
            if not (f > 0 and math.isfinite(f)):
                raise ValueError(f"{self._name}: oversamplingFactor must be positive, got "
                                 f"{oversamplingFactor!r}")
            self.oversamplingFactor = f
        self.nRounds = 5 if nRounds in (-1, None) else _check_count(self._name, "nRounds",
                                                                     nRounds, 1)
        if engine is not None and seed is not None:
            raise ValueError(f"{self._name}: give engine= or seed=, not both")
        if engine is not None and not isinstance(engine, _Engine):
            raise TypeError(f"{self._name}: engine must be a d4p.engines_* object, got "
                            f"{type(engine).__name__}")
        self.engine = engine
        self.seed = (engine.seed if engine is not None else
                     _check_seed(self._name, -1 if seed is None else seed))
        self.distributed = check_bool(self._name, "distributed", distributed)

    def compute(self, data, setup=False):
        """Initial centroids of ``data`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            ``"{}"`` in a file name is replaced by the rank.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        kmeans_init_result
        """
        comm = communicator(self.distributed)
        where = f"{self._name}.compute"
        kind = self.method.replace("Dense", "").replace("CSR", "")
        # k-means++ and k-means|| check finiteness in their first pass over the data
        X, p, g0, total, _ = _agree_rows(comm, where, data,
                                         probe=kind not in ("plusPlus", "parallelPlus"))
        k = self.nClusters
        _too_few_rows(total, k, where, comm.size)
        rows = _Rows(X, p, g0, total)
        if kind in ("default", "deterministic"):
            C = _fetch_rows(comm, rows, np.arange(k))
        elif kind == "random":
            C = _random_rows(comm, rows, k, self.seed)
        elif kind == "plusPlus":
            C = _plus_plus(comm, rows, k, self.nTrials, self.seed, _TAG_PLUSPLUS, check=where)
        else:
            C = _parallel_plus(comm, rows, k, self.oversamplingFactor * k, self.nRounds,
                               self.seed, where)
        return kmeans_init_result(centroids=as_fptype(C, self._dtype))


# ---- Lloyd ----------------------------------------------------------------------------------------


class _LloydPass:
    """Blocked passes over this rank's rows against k centroids.

    Each block of rows is centred on ``origin`` into a buffer that stays in
    cache, multiplied with the centroids by BLAS (``C @ block.T``), and handed to
    a Numba kernel for the nearest centroid and the per-cluster sums.  Blocks are
    grouped; each group accumulates its own partial sums and the groups are added
    in order, so the result does not depend on how many threads ran them.
    """

    BLOCK_BYTES = 2 << 20
    GROUP_BYTES = 16 << 20
    MAX_GROUPS = 64

    def __init__(self, X, p, k, origin, dtype):
        self.X = X
        self.n = X.shape[0]
        self.p = p
        self.k = k
        self.sparse = is_sparse(X)
        self.dtype = dtype
        self.origin = np.ascontiguousarray(origin, dtype=np.float64)
        self.B = int(min(8192, max(64, self.BLOCK_BYTES // (8 * (p + k)))))
        nblocks = -(-self.n // self.B)
        ngroups = max(1, min(nblocks, self.MAX_GROUPS,
                             self.GROUP_BYTES // max(1, 8 * k * (p + 1))))
        per = -(-nblocks // ngroups) if nblocks else 0
        self.groups = [(g * per * self.B, min(self.n, (g + 1) * per * self.B))
                       for g in range(ngroups) if g * per * self.B < self.n]
        self.nparts = max(1, min(_parallel.thread_parts(self.n, self.B), len(self.groups)))

    # -- workers --------------------------------------------------------------------------
    def _buffers(self):
        B = self.B
        return (np.empty((B, self.p), dtype=self.dtype), np.empty(self.k * B, dtype=self.dtype),
                np.empty(B, dtype=self.dtype), np.empty(B, dtype=np.int64))

    def _blocks(self, lo, hi, bufs, Cc, cn, on_block):
        buf, gflat, best, arg = bufs
        for b_lo in range(lo, hi, self.B):
            b_hi = min(hi, b_lo + self.B)
            nb = b_hi - b_lo
            if self.sparse:
                kk.center_dense_block(self.X[b_lo:b_hi].toarray(), self.origin, buf)
            else:
                kk.center_block(self.X, b_lo, b_hi, self.origin, buf)
            GT = gflat[:self.k * nb].reshape(self.k, nb)
            np.matmul(Cc, buf[:nb].T, out=GT)
            on_block(b_lo, b_hi, buf[:nb], GT, cn, best, arg)

    def _run(self, Cc, work):
        """Run ``work(group index, lo, hi, bufs, Cc, cn)`` over all groups, on
        ``nparts`` threads taking groups in turn.  Call inside
        :func:`_single_threaded_blas` (the parallelism is over blocks; a
        multi-threaded GEMM on a block this small only adds synchronisation)."""
        Cc = np.ascontiguousarray(Cc, dtype=self.dtype)
        C64 = Cc.astype(np.float64)
        cn = np.einsum("ij,ij->i", C64, C64).astype(self.dtype)
        queue = iter(range(len(self.groups)))
        lock = threading.Lock()
        errors = []

        def part():
            try:
                bufs = self._buffers()
                while True:
                    with lock:
                        g = next(queue, None)
                    if g is None:
                        return
                    lo, hi = self.groups[g]
                    work(g, lo, hi, bufs, Cc, cn)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                errors.append(exc)

        helpers = [threading.Thread(target=part) for _ in range(self.nparts - 1)]
        for t in helpers:
            t.start()
        part()
        for t in helpers:
            t.join()
        if errors:
            raise errors[0]

    # -- the passes ------------------------------------------------------------------------
    def accumulate(self, Cc):
        """Per-cluster sums of the centred rows (k, p) and counts (k,)."""
        G = len(self.groups)
        sums = np.zeros((G, self.k, self.p))
        counts = np.zeros((G, self.k), dtype=np.int64)

        def work(g, lo, hi, bufs, Cc, cn):
            s, c = sums[g], counts[g]
            self._blocks(lo, hi, bufs, Cc, cn,
                         lambda b_lo, b_hi, blk, GT, cn, best, arg:
                         kk.assign_accumulate(blk, GT, cn, s, c, best, arg))

        self._run(Cc, work)
        return sums.sum(axis=0) if G else np.zeros((self.k, self.p)), counts.sum(axis=0)

    def final(self, Cc):
        """Nearest centroid (n,) int32 and exact squared distance (n,) of every row."""
        labels = np.empty(self.n, dtype=np.int32)
        dist = np.empty(self.n)
        Cc64 = np.ascontiguousarray(Cc, dtype=np.float64)

        def work(g, lo, hi, bufs, Cc, cn):
            self._blocks(lo, hi, bufs, Cc, cn,
                         lambda b_lo, b_hi, blk, GT, cn, best, arg:
                         kk.assign_final(blk, GT, cn, Cc64, labels[b_lo:b_hi],
                                         dist[b_lo:b_hi], best, arg))

        self._run(Cc, work)
        return labels, dist


def _single_threaded_blas():
    """BLAS on one thread for a whole ``kmeans.compute`` (set once, not per pass)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _farthest(comm, rows, dist, labels, count):
    """The ``count`` rows farthest from their centroid over all ranks, by
    (distance descending, global index ascending): (distances, labels, rows)."""
    n = dist.shape[0]
    if n > count:
        threshold = np.partition(dist, n - count)[n - count]
        idx = np.flatnonzero(dist >= threshold)
    else:
        idx = np.arange(n)
    idx = idx[np.lexsort((idx, -dist[idx]))][:count]
    gathered = comm.allgather((dist[idx], idx + rows.g0, labels[idx], rows.take(idx)))
    d, g, lab, v = (np.concatenate([x[i] for x in gathered]) for i in range(4))
    order = np.lexsort((g, -d))[:count]
    return d[order], lab[order], v[order]


RESULTS = ("computeCentroids", "computeAssignments", "computeExactObjectiveFunction")
LLOYD_METHODS = ("lloydDense", "defaultDense", "lloydCSR")


class kmeans_result(Result):
    """``centroids`` (k, p), ``assignments`` (n_i, 1) int32 for this rank's rows,
    ``objectiveFunction`` (1, 1) and ``nIterations`` (1, 1) int32."""

    _fields = ("centroids", "assignments", "objectiveFunction", "nIterations")


class kmeans:
    """K-means clustering by Lloyd's algorithm (oneDAL's batch semantics).

    Parameters
    ----------
    nClusters : int
        Number of clusters k.
    maxIterations : int
        Maximum number of iterations; 0 returns the input centroids with the
        assignments and objective against them.
    fptype : {'double', 'float'}, default 'double'
        dtype of the results.  With 'float' and float32 data the distance
        products run in float32 (sums are float64 either way).
    method : str, default 'lloydDense'
        'lloydDense' / 'defaultDense' / 'lloydCSR'; every method takes dense or
        sparse input.
    accuracyThreshold : float, default NaN (0.0)
        Stop when the sum over clusters of the squared centroid shift is at most
        this (the iteration counts).
    gamma : float, default NaN (1.0)
        Accepted for compatibility (only used for categorical features).
    distanceType : str, default '' ('euclidean')
        Only 'euclidean'.
    resultsToEvaluate : str, default '' (all)
        'computeCentroids', 'computeAssignments', 'computeExactObjectiveFunction'
        joined with '|'.  Fields not requested are None.
    assignFlag : bool, default False
        Also return the assignments.
    distributed : bool, default False
        Each rank passes its own rows; centroids, objective and iteration count are
        global; assignments are for the rank's own rows.
    """

    _name = "kmeans"

    def __init__(self, nClusters, maxIterations, fptype="double", method="lloydDense",
                 accuracyThreshold=float("nan"), gamma=float("nan"), distanceType="",
                 resultsToEvaluate="", assignFlag=False, distributed=False):
        self.nClusters = _check_count(self._name, "nClusters", nClusters, 1)
        self.maxIterations = _check_count(self._name, "maxIterations", maxIterations, 0)
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(self._name, method, LLOYD_METHODS)
        if _is_default(accuracyThreshold):
            self.accuracyThreshold = 0.0
        else:
            t = float(accuracyThreshold)
            if not t >= 0:
                raise ValueError(f"{self._name}: accuracyThreshold must be >= 0, got "
                                 f"{accuracyThreshold!r}")
            self.accuracyThreshold = t
        self.gamma = 1.0 if _is_default(gamma) else float(gamma)
        if distanceType not in ("", "euclidean"):
            raise ValueError(f"{self._name}: distanceType must be 'euclidean', got "
                             f"{distanceType!r}")
        self.distanceType = distanceType
        self.resultsToEvaluate = resultsToEvaluate
        self._results = parse_flags(self._name, "resultsToEvaluate", resultsToEvaluate, RESULTS,
                                    RESULTS)
        self.assignFlag = check_bool(self._name, "assignFlag", assignFlag)
        self.distributed = check_bool(self._name, "distributed", distributed)

    def compute(self, data, inputCentroids, setup=False):
        """Run Lloyd's iterations from ``inputCentroids``.

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            This rank's rows when distributed (``"{}"`` in a file name is replaced
            by the rank).
        inputCentroids : array-like (nClusters, p)
            Starting centroids, identical on every rank (ranks other than 0 may
            pass None to use rank 0's).
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        kmeans_result
        """
        comm = communicator(self.distributed)
        where = f"{self._name}.compute"
        k = self.nClusters
        holder = {}

        def centroids_info(X):
            if inputCentroids is None and comm.rank > 0:
                holder["C"] = None
                return None
            C = as_table(inputCentroids, "inputCentroids", allow_sparse=False)
            if C.shape[0] != k:
                raise ValueError(f"inputCentroids has {C.shape[0]} rows but nClusters is {k}")
            check_finite(C, "inputCentroids")
            C = np.ascontiguousarray(C, dtype=np.float64)
            holder["C"] = C
            return C.shape[1], hashlib.blake2b(C.tobytes(), digest_size=16).hexdigest()

        X, p, g0, total, infos = _agree_rows(comm, where, data, centroids_info)
        C0 = self._agreed_centroids(comm, holder["C"], [i[2] for i in infos], p, where)
        _too_few_rows(total, k, where, comm.size)
        rows = _Rows(X, p, g0)
        want_labels = self.assignFlag or "computeAssignments" in self._results
        want_objective = "computeExactObjectiveFunction" in self._results
        with _single_threaded_blas():
            C, iterations, labels, objective = self._lloyd(comm, rows, C0, want_labels or
                                                           want_objective)
        return kmeans_result(
            centroids=(as_fptype(C, self._dtype) if "computeCentroids" in self._results
                       else None),
            assignments=labels.reshape(-1, 1) if want_labels else None,
            objectiveFunction=(as_fptype([[objective]], self._dtype) if want_objective
                               else None),
            nIterations=np.array([[iterations]], dtype=np.int32))

    def _agreed_centroids(self, comm, C, infos, p, where):
        """Rank 0's centroids, once every rank's are known to have p columns and to
        equal rank 0's."""
        bad = {r: ("ValueError", "ValueError",
                   f"inputCentroids has {info[0]} columns but the data has {p}")
               for r, info in enumerate(infos) if info is not None and info[0] != p}
        if bad:
            raise_on_all(bad, where, comm.size)
        ref = infos[0]
        differ = {r: ("ValueError", "ValueError",
                      "inputCentroids differ from rank 0's; every rank must pass the same "
                      "starting centroids (or None on ranks other than 0)")
                  for r, info in enumerate(infos) if info is not None and info != ref}
        if differ:
            raise_on_all(differ, where, comm.size)
        if any(info is None for info in infos):
            return comm.bcast(C, root=0)
        return C

    def _lloyd(self, comm, rows, C, need_final):
        X = rows.X
        dtype = np.float32 if (self._dtype == np.float32 and not is_sparse(X)
                               and X.dtype == np.float32) else np.float64
        origin = C.mean(axis=0)
        passes = _LloydPass(X, rows.p, self.nClusters, origin, dtype)
        k, p = C.shape
        iterations = 0
        for iterations in range(1, self.maxIterations + 1):
            Cc = C - origin
            sums, counts = passes.accumulate(Cc)
            packed = comm.allreduce(np.concatenate([sums.ravel(), counts.astype(np.float64)]),
                                    "sum")
            sums, counts = packed[:k * p].reshape(k, p), packed[k * p:]
            C_next = self._new_centroids(comm, rows, passes, C, Cc, origin, sums, counts)
            shift = float(((C_next - C) ** 2).sum())
            C = C_next
            if shift <= self.accuracyThreshold:
                break
        labels, objective = None, None
        if need_final:
            labels, dist = passes.final(C - origin)
            objective = _exact_sum(comm, kk.exact_sum_partials(dist))
        return C, iterations, labels, objective

    @staticmethod
    def _new_centroids(comm, rows, passes, C, Cc, origin, sums, counts):
        """Means of the clusters, with oneDAL's (and scikit-learn's) rule for empty ones.

        The rows farthest from their centroid (distance descending, global index
        ascending) move to the empty clusters, in cluster order, and leave their old
        cluster; a cluster left without rows takes the centre of the largest
        cluster (the first on ties); nothing moves when every row sits on its
        centroid.  ``sums`` and ``counts`` are global; the candidates are gathered
        from every rank, so every rank applies the same moves.
        """
        new = C.copy()
        moved = {}
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            labels, dist = passes.final(Cc)
            d, lab, vals = _farthest(comm, rows, dist, labels, empty.size)
            if d.size and d[0] > 0:
                for j, old, x in zip(empty, lab, vals):
                    sums[old] -= x - origin
                    counts[old] -= 1
                    counts[j] = 1
                    moved[j] = x
        full = counts > 0
        new[full] = origin + sums[full] / counts[full, None]
        for j, x in moved.items():
            new[j] = x
        new[~full] = new[int(np.argmax(counts))]
        return new
