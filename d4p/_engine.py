"""The engine: which communicator is in force, and daal4py's engine functions.

Resolution order for the communicator a distributed ``compute`` uses:

1. inside a simulated rank (``run_spmd`` / ``python -m d4p -n N``): that rank's
   threads communicator, or what that rank passed to ``daalinit(comm=...)``;
2. a communicator passed to ``daalinit(comm=...)`` in the main program;
3. the ``D4P_COMM`` environment variable: ``serial`` or ``mpi``;
4. an MPI launcher's environment (mpiexec, mpirun, srun) → MPI on COMM_WORLD;
5. otherwise the serial (one-rank) communicator.
"""
import os
import threading

from .comm.base import Communicator
from .comm.serial import SerialCommunicator

_MPI_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                      "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")

_lock = threading.Lock()
_process = {"comm": None, "world": None}  # the main program's communicator, resolved lazily
_rank_local = threading.local()  # .comm: a simulated rank's own communicator

__has_dist__ = True


def _launched_by_mpi():
    return any(v in os.environ for v in _MPI_LAUNCHER_VARS)


def _wrap(comm):
    if isinstance(comm, Communicator):
        return comm
    if type(comm).__module__.startswith("mpi4py"):
        from .comm.mpi import MPICommunicator

        return MPICommunicator(comm)
    raise TypeError(f"comm must be a d4p Communicator or an mpi4py communicator, "
                    f"got {type(comm).__name__}")


def _mpi_world():
    """d4p's communicator over ``COMM_WORLD``: made once per process (creating it
    is collective), and kept across ``daalfini()``, which only releases it."""
    if _process["world"] is not None:
        return _process["world"]
    from .comm.mpi import MPICommunicator

    comm = MPICommunicator()  # also installs the exit notices (d4p.comm.leaving)
    _apply_node_thread_policy(comm)
    _process["world"] = comm
    return comm


def _auto_comm():
    choice = os.environ.get("D4P_COMM", "auto").strip().lower()
    if choice == "serial":
        return SerialCommunicator()
    if choice == "mpi":
        return _mpi_world()
    if choice not in ("", "auto"):
        raise ValueError(f"D4P_COMM={choice!r}: expected 'serial', 'mpi' or 'auto' "
                         "(simulated ranks are started with d4p.run_spmd or python -m d4p -n N)")
    if _launched_by_mpi():
        return _mpi_world()
    return SerialCommunicator()


def enter_simulated_rank(comm):
    """Make ``comm`` this thread's own communicator: the thread is a simulated rank."""
    _rank_local.comm = comm
    _rank_local.own_comm = comm
    _rank_local.in_simulated_rank = True


def current_comm():
    """The communicator a distributed ``compute`` on this rank uses."""
    comm = getattr(_rank_local, "comm", None)
    if comm is not None:
        return comm
    with _lock:
        if _process["comm"] is None:
            _process["comm"] = _auto_comm()
        return _process["comm"]


def daalinit(nthreads=-1, comm=None):
    """Set up the engine (optional: scripts work without calling it).

    Parameters
    ----------
    nthreads : int, default -1
        Threads each rank's kernels and BLAS may use; ``-1`` keeps the default
        (the node's cores divided among the ranks on it).
    comm : d4p.comm.Communicator or mpi4py.MPI.Comm, optional
        Communicator for distributed computations, e.g. an ``MPI.Comm.Split``
        sub-communicator.  Inside a simulated rank it applies to that rank only.
    """
    if comm is not None:
        wrapped = _wrap(comm)
        if getattr(_rank_local, "in_simulated_rank", False):
            _rank_local.comm = wrapped
        else:
            with _lock:
                _process["comm"] = wrapped
    if nthreads is not None and nthreads > 0:
        set_num_threads(nthreads)


def daalfini():
    """Release the engine's communicator.

    Unlike daal4py, this never calls ``MPI_Finalize``: MPI belongs to mpi4py, which
    finalises it at exit, so a program may keep using mpi4py, and even d4p (the
    communicator is resolved again on next use), after ``daalfini()``.
    """
    if getattr(_rank_local, "in_simulated_rank", False):
        comm, _rank_local.comm = _rank_local.comm, _rank_local.own_comm
    else:
        with _lock:
            comm, _process["comm"] = _process["comm"], None
    if comm is not None:
        # Tell the other ranks: a collective they enter that this rank has not
        # joined now fails at once ("rank 2 called daalfini() without joining ...").
        comm.release()


def num_procs():
    """Number of ranks of the communicator in force (1 in a plain process)."""
    return current_comm().size


def my_procid():
    """This rank's number in the communicator in force (0 in a plain process)."""
    return current_comm().rank


def num_threads():
    """Threads this rank's kernels may use."""
    import numba

    return numba.get_num_threads()


def set_num_threads(n):
    """Limit this rank's Numba and BLAS threads to ``n``."""
    import numba
    from threadpoolctl import threadpool_limits

    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    threadpool_limits(limits=n, user_api="blas")


#: What the per-node thread policy found on this rank under MPI: the ranks that share
#: this rank's node (``COMM_TYPE_SHARED``) and the threads it gave this rank.
NODE_POLICY = {"ranks_on_node": None, "threads": None}


def _apply_node_thread_policy(comm):
    """Under MPI, give each rank cores ÷ (ranks on this node) threads by default.

    Nothing is compiled here: each kernel compiles on first use, one rank of a
    node at a time (see d4p/kernels/jit.py)."""
    if os.environ.get("D4P_NUM_THREADS"):
        set_num_threads(int(os.environ["D4P_NUM_THREADS"]))
        NODE_POLICY["threads"] = int(os.environ["D4P_NUM_THREADS"])
        return
    try:
        from mpi4py import MPI

        local = comm.mpi_comm.Split_type(MPI.COMM_TYPE_SHARED)
        per_node = local.Get_size()
        local.Free()
    except Exception:  # pragma: no cover - exotic MPI without shared split
        per_node = comm.size
    NODE_POLICY["ranks_on_node"] = per_node
    if per_node > 1:
        set_num_threads(max(1, (os.cpu_count() or 1) // per_node))
        NODE_POLICY["threads"] = max(1, (os.cpu_count() or 1) // per_node)
