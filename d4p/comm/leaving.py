"""How an MPI rank that leaves the program tells the others, so no rank is left waiting.

Every :class:`~d4p.comm.mpi.MPICommunicator` registers here.  When the program
ends (end of script, ``sys.exit``), or an exception nobody caught is about to end
it, this rank posts a *final notice* on each registered communicator's own
channel: what it did (``"finished the program"``, ``"failed with
ZeroDivisionError: ..."``) and how many collectives it completed.  A rank waiting
in a collective this rank never joined reads the notice and raises
:class:`d4p.RankError` at once; a rank whose collectives this rank all completed
ignores it.

After an uncaught exception the failing rank waits a short grace period for every
other rank to post its own final notice (ranks waiting in a d4p collective do so
within milliseconds, after printing their error); a rank that has not by then
(busy in code that is not d4p's, or blocked in a raw mpi4py call) is ended with
``MPI_Abort``, so the job never hangs.
"""
import atexit
import sys
import threading
import time
import weakref

#: Seconds a rank that failed waits for the others to leave before MPI_Abort.
ABORT_GRACE = 3.0

_live = weakref.WeakSet()
_lock = threading.Lock()
_state = {"installed": False, "announced": False}
_pending = []  # notice send requests and their buffers, kept alive until sent


def register(comm):
    """Remember ``comm`` for exit notices; install the exit hooks once."""
    with _lock:
        _live.add(comm)
        if not _state["installed"]:
            _state["installed"] = True
            atexit.register(_at_exit)
            _install_excepthook()


def keep(sends):
    """Hold notice sends (requests and buffers) until they complete."""
    _pending.extend(sends)
    _pending[:] = [(req, buf) for req, buf in _pending if not req.Test()]


def announce(event, failure=None, secondary=False):
    """Post this rank's final notice on every registered communicator (once)."""
    with _lock:
        if _state["announced"]:
            return
        _state["announced"] = True
        comms = list(_live)
    for comm in comms:
        _pending.extend(comm._notice(event, failure, secondary, final=True))
    _flush(1.0)


_abandoned = []  # requests of collectives that can never complete


def abandoned(request):
    """Keep a request whose collective was given up; it is freed at exit so MPI
    finalises without complaining about it."""
    _abandoned.append(request)


def _free_abandoned():
    for req in _abandoned:
        try:
            req.Free()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    _abandoned.clear()


def _flush(seconds):
    """Let the notice sends complete (small messages: at once)."""
    deadline = time.monotonic() + seconds
    while _pending and time.monotonic() < deadline:
        _pending[:] = [(req, buf) for req, buf in _pending if not req.Test()]
        if _pending:
            time.sleep(1e-3)


def _at_exit():
    announce("finished the program")
    _free_abandoned()


def _others_gone(grace):
    """Wait up to ``grace`` seconds for every other rank to post its final notice."""
    deadline = time.monotonic() + grace
    while True:
        busy = [c for c in list(_live) if c.size > 1 and not c.others_gone()]
        if not busy or time.monotonic() >= deadline:
            return not busy
        time.sleep(5e-3)


def _install_excepthook():
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        from .._errors import CollectiveAborted, RankError
        from .base import describe_error

        previous(exc_type, exc, tb)
        sys.stderr.flush()
        failure = describe_error(exc) if isinstance(exc, Exception) else None
        # A RankError here was caused by another rank: not a cause to name.
        secondary = isinstance(exc, (RankError, CollectiveAborted))
        text = f"failed with {exc_type.__name__}" + (f": {exc}" if str(exc) else "")
        announce(text.split("\n")[0], failure, secondary)
        if _others_gone(ABORT_GRACE):
            return  # every rank has left or is leaving: exit with status 1
        from mpi4py import MPI

        world = MPI.COMM_WORLD
        sys.stderr.write(f"d4p: uncaught {exc_type.__name__} on rank {world.Get_rank()}; "
                         "other ranks are still running: aborting all ranks\n")
        sys.stdout.flush()
        sys.stderr.flush()
        # MPI_Abort kills every rank at once; give the launcher a moment to
        # forward the output first, or it can be lost.
        time.sleep(0.2)
        world.Abort(1)

    hook._d4p_exit_notices = True
    sys.excepthook = hook
