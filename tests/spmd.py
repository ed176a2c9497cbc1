"""One test body, several communicators (in the manner of mpi4py's test suite).

Decorate a body with :func:`spmd`: pytest then runs it on the serial
communicator (a plain process) and on simulated ranks (threads) for every count
in ``THREAD_RANKS``, and ``tests/test_mpi.py`` runs the same body on real MPI
ranks under ``mpiexec -n 4``, on ``COMM_WORLD`` and on the 2-rank halves split
from it.  A body takes no arguments; it asks ``d4p.my_procid()`` / ``d4p.num_procs()`` for its rank and
builds the same global data on every rank from a fixed seed.
"""
import functools

import numpy as np
import pytest

import d4p
from d4p.comm.serial import SerialCommunicator

THREAD_RANKS = (1, 2, 3, 4, 7)
REGISTRY = {}  # "module:name" -> body, for the MPI runner


def spmd(body=None, *, ranks=THREAD_RANKS, timeout=120):
    """Register ``body`` for MPI and return a pytest test over the serial
    communicator (when ``ranks`` includes 1) and threads ranks."""
    if body is None:
        return functools.partial(spmd, ranks=ranks, timeout=timeout)
    REGISTRY[f"{body.__module__}:{body.__name__}"] = body
    backends = (["serial"] if 1 in ranks else []) + list(ranks)

    @pytest.mark.timeout(timeout)
    @pytest.mark.parametrize("nranks", backends)
    @functools.wraps(body)
    def test(nranks):
        if nranks == "serial":
            run_serial(body)
        else:
            d4p.run_spmd(body, nranks)

    del test.__wrapped__  # pytest must see the (nranks) signature, not the body's
    test.spmd_body = body
    return test


def run_serial(body):
    """``body()`` in this process on the serial communicator, as a plain script runs."""
    d4p.daalinit(comm=SerialCommunicator())
    try:
        body()
    finally:
        d4p.daalfini()


def local_rows(X, weights=None, rank=None, size=None):
    """This rank's block of the rows of ``X``: contiguous, in rank order.

    ``weights`` (one per rank) makes the split uneven; a zero weight gives an
    empty rank.  Default: rank r gets a share proportional to r + 1, and with
    three or more ranks rank 1 gets nothing, so uneven and empty ranks are
    exercised everywhere.
    """
    rank = d4p.my_procid() if rank is None else rank
    size = d4p.num_procs() if size is None else size
    return X[slice(*row_range(X.shape[0], rank, size, weights))]


def row_range(n, rank, size, weights=None):
    if weights is None:
        weights = [0 if (r == 1 and size >= 3) else r + 1 for r in range(size)]
    weights = np.asarray(weights, dtype=float)
    bounds = np.floor(np.concatenate(([0], np.cumsum(weights))) / weights.sum() * n).astype(int)
    bounds[-1] = n
    return int(bounds[rank]), int(bounds[rank + 1])


def assert_all_ranks_raise(exc_type, fn, match=None):
    """``fn()`` must raise ``exc_type`` (with ``match``) on this rank."""
    with pytest.raises(exc_type, match=match) as info:
        fn()
    return info.value
