"""Each simulated rank gets its own global random generators, as an MPI process does.

Under ``mpiexec`` every rank is a process with its own ``numpy.random`` legacy
generator and its own ``random`` module state, so the everyday script

    np.random.seed(0)
    X = np.random.rand(1000, 5)
    y = np.random.rand(1000)

builds the same data on every rank.  Simulated ranks are threads of one process
and would share both generators: one rank's ``seed`` could land between another
rank's two draws and silently change its data.  While simulated ranks run, the
module-level functions of ``numpy.random`` (the legacy ones bound to the global
``RandomState``) and of ``random`` are replaced by wrappers that use the calling
rank's own generator; other threads keep the process-wide ones.  Everything is
restored when the run ends.
"""
import random
import threading

_local = threading.local()
_lock = threading.Lock()
_active = [0]  # nested runs install once
_saved = []


def _numpy_targets():
    import numpy as np
    from numpy.random import mtrand

    shared = mtrand._rand
    names = [n for n in dir(np.random)
             if getattr(getattr(np.random, n), "__self__", None) is shared]
    # Module functions that act on the shared generator without being its methods.
    aliases = {"seed": "seed", "ranf": "random_sample", "sample": "random_sample"}
    return np.random, shared, {**{n: n for n in names}, **aliases}


def _random_targets():
    names = [n for n in dir(random) if getattr(getattr(random, n), "__self__", None)
             is random._inst]
    return random, random._inst, {n: n for n in names}


def _wrapper(kind, method, shared_fn):
    def dispatch(*args, **kwargs):
        own = getattr(_local, kind, None)
        if own is None:
            return shared_fn(*args, **kwargs)
        return getattr(own, method)(*args, **kwargs)

    dispatch.__name__ = getattr(shared_fn, "__name__", method)
    dispatch.__doc__ = getattr(shared_fn, "__doc__", None)
    return dispatch


def install():
    """Replace the module-level functions (idempotent while runs are active)."""
    with _lock:
        _active[0] += 1
        if _active[0] > 1:
            return
        for kind, (module, _, names) in (("numpy", _numpy_targets()),
                                        ("random", _random_targets())):
            for name, method in names.items():
                original = getattr(module, name)
                _saved.append((module, name, original))
                setattr(module, name, _wrapper(kind, method, original))


def uninstall():
    with _lock:
        _active[0] -= 1
        if _active[0] > 0:
            return
        while _saved:
            module, name, original = _saved.pop()
            setattr(module, name, original)


def give_this_thread_its_own():
    """Called at the start of each simulated rank: fresh generators, seeded from
    the operating system like a new process's."""
    import numpy as np

    _local.numpy = np.random.RandomState()
    _local.random = random.Random()
