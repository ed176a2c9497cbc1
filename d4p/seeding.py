"""The distributed seeding protocol of ``kmeans_init``: first rows, random rows,
k-means++ and k-means‖ races over the ranks' rows.

Every random choice is a function of the seed and the *global* row index (the
row's position in the rank-order concatenation), never of the rank, so every
method gives the same centroids, in the same order, for any number of ranks and
any split of the rows:

* :func:`random_rows`: the k rows with the smallest uniform keys, in key order.
* :func:`plus_plus`: the first centre is row ``floor(u * N)``; then D² sampling
  by exponential races (key ``-log(u)/D²``, the smallest global key wins), greedy
  with ``nTrials`` candidates per step; trial potentials are exact sums (Shewchuk
  partials combined with ``math.fsum``).
* :func:`parallel_plus`: k-means‖ (Bahmani et al. 2012) with the sampling
  threshold ``ell * D² / phi`` using the exact, correctly rounded cost ``phi``;
  the candidates are weighted by the rows closest to them and reduced to k
  centres by a weighted greedy k-means++ computed identically on every rank.

Every function here is collective: all ranks call it with the same agreed
arguments and their own :class:`d4p.global_rows.LocalRows`.
"""
import math

import numpy as np

from . import _parallel
from ._protocol import Agreement
from .comm.serial import SerialCommunicator
from .global_rows import (LocalRows, check_after_pass, check_finite_fast, exact_sum, exact_sums,
                          fetch_rows)
from .kernels import kmeans as kk

# Stream tags: each use of randomness has its own stream.
_TAG_RANDOM, _TAG_PLUSPLUS, _TAG_PARALLEL, _TAG_TOPUP, _TAG_REDUCE, _TAG_FALLBACK = range(1, 7)

def _stream_key(seed, tag, a, b):
    """The uint64 key of one random stream (see kernels/kmeans.py)."""
    return kk.stream_key(seed, tag, a, b)


# ---- passes over the rows ----------------------------------------------------------------


_NO_INT = np.empty(0, dtype=np.int64)
_NO_FLOAT = np.empty(0)
_NO_KEYS = np.empty(0, dtype=np.uint64)


def _kernel_blocks(rows):
    """``(lo, hi, dense block, rows per chunk, parallel)`` for each non-empty block
    of this rank's rows; ``parallel`` where running its chunks on threads pays."""
    r = kk.chunk_rows(rows.p)
    for lo, hi, B in rows.blocks():
        if hi > lo:
            yield lo, hi, B, r, _parallel.use_parallel(hi - lo, r)


def _init_pass(rows, mind, centres=None, cbase=0, nearest=_NO_INT, keys=_NO_KEYS,
               uniform_race=False, want_sum=False, row_w=None):
    """Update ``mind``/``nearest`` with ``centres``, then race for each key
    (weighted by ``row_w``, this rank's row weights, unless None).

    Returns (best keys, best *global* indices or -1, exact-sum partials of ``mind``).
    """
    C = np.zeros((0, rows.p)) if centres is None else np.ascontiguousarray(centres, np.float64)
    keys = np.asarray(keys, dtype=np.uint64)
    nt = keys.shape[0]
    best_key = np.full(nt, np.inf)
    best_idx = np.full(nt, -1, dtype=np.int64)
    parts = []
    for lo, hi, B, r, parallel in _kernel_blocks(rows):
        bk, bi, pp, npp = kk.init_pass(B, rows.g0 + lo, C, cbase, mind[lo:hi],
                                       nearest[lo:hi] if nearest.size else nearest,
                                       _NO_FLOAT if row_w is None else row_w[lo:hi], keys,
                                       uniform_race, want_sum, r, parallel=parallel)
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
            check_after_pass(rows.X, parts)
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


def _potentials(rows, trials, mind, row_w=None):
    """Per trial, this rank's exact-sum partials of ``sum(row_w * min(mind, d²))``."""
    T = np.ascontiguousarray(trials, dtype=np.float64)
    nt = T.shape[0]
    out = [[] for _ in range(nt)]
    for lo, hi, B, r, parallel in _kernel_blocks(rows):
        parts, nparts = kk.potentials(B, T, mind[lo:hi],
                                      _NO_FLOAT if row_w is None else row_w[lo:hi], r,
                                      parallel=parallel)
        used = np.arange(parts.shape[2]) < nparts[:, :, None]
        for t in range(nt):
            out[t].append(parts[:, t][used[:, t]])
    return [np.concatenate(o) if o else _NO_FLOAT for o in out]


def _draw(comm, rows, mind, keys, seed, step, fallback_tag, uniform_race=False,
          row_w=None, update=None, cbase=0, nearest=_NO_INT, check=None):
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
LAZY_CHUNK_ROWS = 16384


def _lazy_draw(comm, rows, mind, seen, centres, s, key, seed, row_w=None):
    """One k-means++ draw against ``centres[:s]`` that reads only the rows that can
    still win (see ``kernels/kmeans._lazy_race_chunk``); ``mind[i]`` holds the
    centres ``centres[:seen[i]]`` and is brought up to date where it is read.

    The winner is the eager draw's, bit for bit, on any split."""
    C = np.ascontiguousarray(centres[:s], np.float64)
    best_key, best_idx = np.array([np.inf]), np.array([-1], dtype=np.int64)
    if rows.n:
        X = rows.X
        r = LAZY_CHUNK_ROWS
        bk, bi = kk.lazy_race(X, rows.g0, C, s, mind, seen,
                              _NO_FLOAT if row_w is None else row_w, key, r,
                              parallel=_parallel.use_parallel(rows.n, r))
        c = int(np.argmin(bk))  # the first chunk holding the minimum: the earlier row
        if bi[c] >= 0:
            best_key[0], best_idx[0] = bk[c], bi[c] + rows.g0
    found, _, vals = _race_winners(comm, rows, best_key, best_idx)
    if np.isinf(found).any():  # every row sits on a centre: as in _draw
        _, vals = _uniform_draw(comm, rows, mind, seed, _TAG_FALLBACK, s, 1, row_w)
    return vals[0]


def _first_centre(comm, rows, mind, seed, tag, row_w=None):
    """The first centre: a uniform row, ``g = floor(u * N)`` from one draw (no pass
    over the data), or drawn in proportion to ``row_w`` when weighted (an agreed
    fact: a rank without rows passes an empty array, never None)."""
    if row_w is not None:
        first = np.array([_stream_key(seed, tag, 0, 0)], dtype=np.uint64)
        _, vals = _draw(comm, rows, mind, first, seed, 0, _TAG_FALLBACK, uniform_race=True,
                        row_w=row_w)
        return vals[0]
    u = kk.uniform(_stream_key(seed, tag, 0, 0), 0)
    g = min(rows.total - 1, int(u * rows.total))
    return fetch_rows(comm, rows, [g])[0]


def _greedy_plus_plus(comm, rows, k, ntrials, seed, tag, row_w=None, check=None):
    """Greedy k-means++ (``ntrials`` candidates per step after the first).

    ``check`` (a where-string): the first pass over the data checks finiteness.
    """
    mind = np.full(rows.n, np.inf)
    centres = np.empty((k, rows.p))
    if k == 1 and check is not None:  # no pass over the data: check it directly
        with Agreement(comm, check):
            check_finite_fast(rows.X)
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
            pot = exact_sums(comm, _potentials(rows, cands, mind, row_w))
            best = int(np.argmin(pot))  # ties: the first trial
        centres[s] = cands[best]
    return centres


def plus_plus(comm, rows, k, ntrials, seed, where, row_w=None):
    """k-means++ (greedy with ``ntrials`` candidates per step after the first),
    D² sampling weighted by ``row_w`` (this rank's row weights) unless None; its
    first pass over the data checks it for non-finite values (error at ``where``)."""
    return _greedy_plus_plus(comm, rows, k, ntrials, seed, _TAG_PLUSPLUS, row_w=row_w,
                             check=where)


def parallel_plus(comm, rows, k, ell, nrounds, seed, where, row_w=None):
    """k-means‖: oversample about ``ell`` rows per round, then reduce to k; with
    ``row_w``, rows are drawn in proportion to ``row_w * D²`` and the candidates are
    weighted by the weight of the rows closest to them.

    The first pass over the data also checks it for non-finite values."""
    mind = np.full(rows.n, np.inf)
    nearest = np.zeros(rows.n, dtype=np.int64)
    cands = [_first_centre(comm, rows, mind, seed, _TAG_PLUSPLUS, row_w)[None]]
    pending = cands[0]  # candidates not yet folded into mind/nearest
    ncand = 0
    for r in range(1, nrounds + 1):
        # One pass: fold the newest candidates in, and the exact cost phi.
        _, _, parts = _init_pass(rows, mind, pending, ncand, nearest, want_sum=True, row_w=row_w)
        ncand += len(pending)
        pending = pending[:0]
        phi = exact_sum(comm, parts, (where, rows.X) if r == 1 else None)
        if not phi > 0.0:
            break  # every row sits on a candidate
        sel = np.empty(rows.n, dtype=np.uint8)
        key = _stream_key(seed, _TAG_PARALLEL, r, 0)
        (kk.bernoulli_select if _parallel.use_parallel(rows.n, 4096) else
         kk.bernoulli_select_serial)(mind if row_w is None else mind * row_w, key, rows.g0,
                                     float(ell), phi, sel)
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
        _, vals = _draw(comm, rows, mind, key, seed, step, _TAG_FALLBACK, row_w=row_w)
        cands.append(vals)
        _init_pass(rows, mind, vals, ncand, nearest)
        ncand += 1
        step += 1
    C = np.concatenate(cands)
    weights = comm.allreduce(np.bincount(nearest, row_w, minlength=ncand).astype(np.float64),
                             "sum")
    # The reduction runs on the (small) candidate set, identically on every rank.
    ntrials = 2 + int(math.log(k))
    local = LocalRows(C, rows.p, 0)
    return _greedy_plus_plus(SerialCommunicator(), local, k, ntrials, seed, _TAG_REDUCE,
                             row_w=weights)


def first_rows(comm, rows, k):
    """The first k rows of the rank-order concatenation (``deterministicDense``)."""
    return fetch_rows(comm, rows, np.arange(k))


def random_rows(comm, rows, k, seed, row_w=None):
    """The k rows with the smallest uniform keys, in key order (ties: global index).

    With ``row_w`` the keys are ``-log(1 - u) / w`` (infinite for a zero weight):
    weighted sampling without replacement (Efraimidis & Spirakis), and with equal
    weights the same rows in the same order as without.  The caller checks that
    at least k rows have a positive weight."""
    u = np.empty(rows.n)
    key = _stream_key(seed, _TAG_RANDOM, 0, 0)
    (kk.fill_uniform if _parallel.use_parallel(rows.n, 4096) else kk.fill_uniform_serial)(
        key, rows.g0, u)
    if row_w is not None:
        with np.errstate(divide="ignore"):
            u = -np.log1p(-u) / row_w
    m = min(k, rows.n)
    local = np.argpartition(u, m - 1)[:m] if 0 < m < rows.n else np.arange(rows.n)
    gathered = comm.allgather((u[local], local + rows.g0))
    cand_u = np.concatenate([c[0] for c in gathered])
    cand_g = np.concatenate([c[1] for c in gathered])
    order = np.lexsort((cand_g, cand_u))[:k]
    return fetch_rows(comm, rows, cand_g[order])
