"""The decorator every d4p kernel uses: Numba's ``njit(cache=True, nogil=True)``, compiled
lazily, one process of a node at a time, with a note on stderr before the first compile.

* **Lazy**: a kernel compiles on its first call with a new type signature (the
  dtype, dimensions and memory layout of its arrays), so a program compiles only
  the kernels it calls; later runs load them from Numba's cache.
* **One compile per node**: the first call of each signature in a process (a
  cache load, or a compile on a cold cache) holds an exclusive file lock beside
  the cache files.  When ``mpiexec -n 4`` starts four ranks on a cold cache, one
  compiles a kernel and the others then load it from the cache instead of
  compiling it again.  The lock is taken only on the first call of a signature
  in a process, never on later calls.
* **A note on stderr**: before the first real compile, ``d4p: compiling kernels
  for this CPU, first run only`` is printed once per process, and only by the
  first process of an MPI job on a node (the lock file remembers the job).
* ``D4P_COMPILE_LOG=DIR``: every process appends one line per compiled
  signature to ``DIR/<pid>.log`` (kernel, argument types, seconds); tests use it
  to check that no two ranks compiled the same kernel.

Where the cache lives is Numba's rule: ``NUMBA_CACHE_DIR`` if set, else
``__pycache__`` beside this package's kernels if writable, else Numba's per-user
cache directory (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba`` on Linux).
"""
import contextlib
import importlib.util
import os
import sys
import tempfile
import threading
import time
import types


def _set_up_numba_without_scipy_linalg():
    """Set up Numba's CPU target without importing ``scipy.linalg`` (0.2-0.4 s).

    When Numba sets up its CPU target it imports ``numba.np.arraymath``, which
    imports ``scipy.linalg.cython_blas`` only to learn whether np.dot can be
    compiled; that imports all of ``scipy.linalg`` (and through SciPy's array-API
    layer ``numpy.f2py``).  d4p's kernels use no BLAS inside Numba.  So, when no
    other Python thread runs (none could import SciPy meanwhile) and SciPy is
    installed but ``scipy.linalg`` not yet imported, the probe is answered by a
    placeholder module that is removed right after: Numba still registers np.dot,
    whose compile imports the real ``scipy.linalg.cython_blas`` when a program
    compiles one.
    """
    name = "scipy.linalg.cython_blas"
    if ("numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules
            or threading.active_count() > 1 or os.environ.get("D4P_NUMBA_IMPORTS_SCIPY")
            or importlib.util.find_spec("scipy") is None):
        return
    placeholder = types.ModuleType(name)
    sys.modules[name] = placeholder
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    finally:
        if sys.modules.get(name) is placeholder:
            del sys.modules[name]


_set_up_numba_without_scipy_linalg()

from numba import njit  # noqa: E402
from numba.core import event  # noqa: E402

MESSAGE = "d4p: compiling kernels for this CPU, first run only"
LOCK_NAME = "d4p-compile.lock"
# Variables set by MPI launchers in every rank's environment.
_LAUNCHER_VARS = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK",
                  "SLURM_PROCID")

_KERNELS = []
_IDS = set()
_guard = threading.RLock()  # one thread of this process in a first call at a time
_state = {"depth": 0, "fd": None, "announced": False}


def kernel(fn=None, **options):
    """``@kernel`` or ``@kernel(fastmath=...)``: a cached, nogil Numba kernel."""
    def wrap(f):
        dispatcher = njit(cache=True, nogil=True, **options)(f)
        _serialise_first_calls(dispatcher)
        _KERNELS.append(dispatcher)
        _IDS.add(id(dispatcher))
        return dispatcher

    return wrap(fn) if fn is not None else wrap


def all_kernels():
    """Every kernel defined so far (Numba dispatchers), in definition order."""
    return list(_KERNELS)


def signature_counts():
    """``{kernel name: number of signatures loaded or compiled in this process}``."""
    return {f"{d.py_func.__module__}.{d.__name__}": len(d.signatures) for d in _KERNELS}


def cache_dir():
    """The directory Numba caches d4p's kernels in (where the lock file lives)."""
    for d in _KERNELS:
        path = d.stats.cache_path
        if path:
            return path
    return None


def _serialise_first_calls(dispatcher):
    """Wrap the dispatcher's ``compile``, which Numba calls for a signature it has
    not seen in this process (it then tries the cache before compiling): the wrapper
    holds the node lock around it.  Calls of known signatures never get here."""
    numba_compile = dispatcher.compile
    lock_path = os.path.join(dispatcher.stats.cache_path or tempfile.gettempdir(), LOCK_NAME)

    def compile(sig):
        with _node_lock(lock_path):
            return numba_compile(sig)

    dispatcher.compile = compile


@contextlib.contextmanager
def _node_lock(path):
    with _guard:
        if _state["depth"] == 0:
            _state["fd"] = _acquire(path)
        _state["depth"] += 1
        try:
            yield
        finally:
            _state["depth"] -= 1
            if _state["depth"] == 0 and _state["fd"] is not None:
                _release(_state["fd"])
                _state["fd"] = None


def _acquire(path):
    try:
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except (ImportError, OSError):  # no fcntl (Windows) or no writable cache: no lock
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # a file system without locks: compile unlocked (still correct)
        os.close(fd)
        return None
    return fd


def _release(fd):
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _job_key():
    """Same for every rank of one MPI job on a node (their common parent is the
    launcher's per-node proxy), different for each plain process."""
    if any(v in os.environ for v in _LAUNCHER_VARS):
        return f"job {os.getppid()}"
    return f"process {os.getpid()}"


def _announce():
    """Print MESSAGE unless this process or its MPI job on this node already did.

    Runs inside the node lock, whose file holds the key of the last job that
    printed it."""
    if _state["announced"]:
        return
    _state["announced"] = True
    key = _job_key()
    fd = _state["fd"]
    if fd is not None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            if os.read(fd, 256).decode(errors="replace") == key:
                return
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, key.encode())
        except OSError:
            pass
    print(MESSAGE, file=sys.stderr, flush=True)


class _CompileListener(event.Listener):
    """Numba's ``numba:compile`` events (fired only for real compiles, not cache
    loads): the note before the first, and the optional compile log."""

    def __init__(self):
        self.started = {}

    def on_start(self, ev):
        d = ev.data["dispatcher"]
        if id(d) in _IDS:
            _announce()
            self.started[(id(d), str(ev.data["args"]))] = time.perf_counter()

    def on_end(self, ev):
        d = ev.data["dispatcher"]
        if id(d) not in _IDS:
            return
        args = str(ev.data["args"])
        began = self.started.pop((id(d), args), None)
        folder = os.environ.get("D4P_COMPILE_LOG")
        if not folder or began is None:
            return
        line = (f"{d.py_func.__module__}.{d.__name__}\t{args}\t"
                f"{time.perf_counter() - began:.3f}\n")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{os.getpid()}.log"), "a") as fh:
                fh.write(line)
        except OSError:
            pass


event.register("numba:compile", _CompileListener())
