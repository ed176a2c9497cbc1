"""Running one function on N simulated ranks (threads), and collecting the outcome."""
import threading
import time

from threadpoolctl import threadpool_limits

from . import _engine, _rank_rngs
from ._config import get_config
from ._errors import CollectiveAborted, RankError
from .comm.base import build_rank_error, describe_error
from .comm.threads import ThreadCommunicator, ThreadGroup, default_threads_per_rank


def run_spmd(fn, nranks, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` on ``nranks`` simulated ranks (threads).

    Each rank sees its own ``my_procid()`` and ``num_procs() == nranks``; a
    distributed ``compute`` inside ``fn`` uses the threads communicator.

    Returns
    -------
    list
        The return values in rank order.

    Raises
    ------
    RankError
        If any rank raised.  Every other rank is released from the collective it
        was waiting in, and the error names the failing rank(s) and their
        exceptions.  A collective waiting longer than ``get_config()["timeout"]``
        raises :class:`CollectiveTimeout` rather than hanging.
    """
    name = getattr(fn, "__name__", "fn")
    return run_threads(fn, nranks, args, kwargs, finished=f"returned from {name}()")


def run_threads(fn, nranks, args=(), kwargs=None, timeout="config", where=None,
                finished="finished the program"):
    """Run ``fn`` on ``nranks`` threads; see :func:`d4p.run_spmd`.

    ``finished`` says what a rank whose ``fn`` returned did, in the error the
    ranks still waiting for it raise (``"returned from fn"``, ...).
    """
    kwargs = kwargs or {}
    nranks = int(nranks)
    if nranks < 1:
        raise ValueError(f"nranks must be at least 1, got {nranks}")
    if timeout == "config":
        timeout = get_config()["timeout"]
    group = ThreadGroup(nranks, timeout=timeout)
    results = [None] * nranks
    errors = [None] * nranks
    kernel_threads = default_threads_per_rank(nranks)

    def rank_main(rank):
        comm = ThreadCommunicator(group, rank)
        _engine.enter_simulated_rank(comm)
        _rank_rngs.give_this_thread_its_own()
        event, failure, secondary = finished, None, False
        try:
            _set_kernel_threads(kernel_threads)
            results[rank] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure must be reported
            errors[rank] = exc
            event, failure = f"failed with {type(exc).__name__}: {exc}", describe_error(exc)
            secondary = isinstance(exc, (RankError, CollectiveAborted))
            if not secondary:
                # Nobody else can finish a collective with this rank: release them.
                group.abort(f"rank {rank} failed with {type(exc).__name__}: {exc}")
        finally:
            group.finish(rank, event, failure, secondary)

    threads = [threading.Thread(target=rank_main, args=(r,), name=f"d4p-rank-{r}", daemon=True)
               for r in range(nranks)]
    _rank_rngs.install()
    try:
        with threadpool_limits(limits=kernel_threads, user_api="blas"):
            for t in threads:
                t.start()
            _join(threads, group)
    finally:
        _rank_rngs.uninstall()
    if any(e is not None for e in errors):
        raise _combined_error(errors, nranks, where or getattr(fn, "__name__", "run_spmd"),
                              group.broken_reason)
    return results


#: Seconds to wait, once the ranks' collectives can no longer complete, for ranks
#: still busy outside d4p before reporting without them (as MPI_Abort would).
ABANDON_GRACE = 3.0


def _join(threads, group):
    """Wait for every rank; after a failure, wait for a rank busy in other work at
    most ABANDON_GRACE seconds (its daemon thread is left behind)."""
    for t in threads:
        while t.is_alive():
            t.join(0.05)
            broken = group.broken_at
            if broken is not None and time.monotonic() - broken > ABANDON_GRACE:
                return


def _combined_error(errors, nranks, where, broken_reason):
    """One error naming the rank(s) whose failure started it all."""
    # A RankError already names every failing rank identically on all ranks.
    agreed = [e for e in errors if isinstance(e, RankError)]
    primary = {r: e for r, e in enumerate(errors)
               if e is not None and not isinstance(e, (RankError, CollectiveAborted))}
    if agreed and not primary:
        return agreed[0]
    if not primary:  # only abandoned collectives: the group knows why
        return RankError(f"{broken_reason} ({where}, simulated ranks)", {}, where)
    failures = {r: describe_error(e) for r, e in primary.items()}
    err = build_rank_error(failures, f"{where} (simulated ranks)", nranks)
    err.__cause__ = primary[min(primary)]
    return err


def _set_kernel_threads(n):
    import numba

    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
