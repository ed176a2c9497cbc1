"""Running scripts under mpiexec from the tests (the mpich wheel's launcher)."""
import json
import os
import shutil
import subprocess
import sys

import pytest


def mpiexec():
    """The mpiexec next to this Python (the mpich wheel's) or on PATH."""
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return local if os.path.exists(local) else shutil.which("mpiexec")


def mpi_available():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return mpiexec() is not None


requires_mpi = pytest.mark.skipif(
    not mpi_available() and not os.environ.get("D4P_REQUIRE_MPI"),
    reason="mpi4py/mpiexec not installed (pip install d4p[mpi]); CI sets D4P_REQUIRE_MPI=1")


def run_mpi(nranks, args, timeout=600, env=None, launcher_args=()):
    """Run ``python args...`` on ``nranks`` MPI ranks; return the CompletedProcess.
    ``launcher_args`` go to mpiexec before ``-n``."""
    inherited = {k: v for k, v in os.environ.items() if k != "D4P_COMM"}
    full_env = {**inherited, "D4P_TIMEOUT": "60", **(env or {})}
    return subprocess.run([mpiexec(), *launcher_args, "-n", str(nranks), sys.executable, *args],
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def results_once(tmp_path_factory, launch):
    """``get(key)``: the JSON that ``launch(key, out_path)`` (returning a finished
    process) wrote to ``out_path``, launched once per key for the session; or a
    RuntimeError with the process's exit status and output, for each test to raise."""
    cache = {}

    def get(key):
        if key not in cache:
            out = tmp_path_factory.mktemp("runs") / f"{key}.json"
            proc = launch(key, str(out))
            cache[key] = (json.loads(out.read_text()) if proc.returncode == 0 and out.exists()
                          else RuntimeError(f"{' '.join(map(str, proc.args[-3:]))}: exit "
                                            f"{proc.returncode}\n{proc.stdout[-3000:]}\n"
                                            f"{proc.stderr[-3000:]}"))
        return cache[key]

    return get
