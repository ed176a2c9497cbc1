"""Run every registered SPMD test body on the MPI ranks of this job.

Usage: ``mpiexec -n N python tests/mpi_runner.py OUT.json [pattern]``.  Each body
runs on all ranks; after each, the ranks agree on who failed.  After the first
failure the remaining bodies are skipped and reported as not run (a failed body
can leave ranks out of step).  Rank 0 writes ``{name: "ok" | error text}``.
"""
import glob
import importlib
import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("D4P_TIMEOUT", "60")

import d4p  # noqa: E402
from spmd import REGISTRY  # noqa: E402


def main(out_path, pattern=""):
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        importlib.import_module(os.path.splitext(os.path.basename(path))[0])
    comm = d4p._engine.current_comm()
    results, stopped = {}, None
    for name, body in sorted(REGISTRY.items()):
        if pattern not in name:
            continue
        if stopped:
            results[name] = f"not run: an earlier body failed ({stopped})"
            continue
        try:
            body()
            error = None
        except BaseException:  # noqa: BLE001 - report everything
            error = traceback.format_exc()
        outcomes = comm.allgather(error)
        failed = {r: e for r, e in enumerate(outcomes) if e}
        if failed:
            results[name] = "\n".join(f"--- rank {r}:\n{e}" for r, e in failed.items())
            stopped = name
        else:
            results[name] = "ok"
    if comm.rank == 0:
        with open(out_path, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
