"""Run every registered SPMD test body on the MPI ranks of this job.

Usage: ``mpiexec -n N python tests/mpi_runner.py OUT.json [pattern]``.  Each body
runs on every rank twice: on a duplicate of ``COMM_WORLD`` and on a
sub-communicator from ``Split`` (with 4 or more ranks: two halves, interleaved
so that sub-communicator ranks differ from world ranks).  Every body gets fresh
communicators, so a body that fails half-way (leaving collectives unmatched on
its communicator) cannot put the next one out of step: every body runs and every
failure is reported.  Rank 0 writes ``{"name@world": "ok" | error text, ...}``.
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

from mpi4py import MPI  # noqa: E402

import d4p  # noqa: E402
from spmd import REGISTRY  # noqa: E402

BINDINGS = ("world", "split")


def communicator_for(binding, world):
    """A fresh mpi4py communicator for one body run."""
    if binding == "world":
        return world.Dup()
    rank, size = world.Get_rank(), world.Get_size()
    colour = rank % 2 if size >= 4 else 0
    return world.Split(colour, key=size - rank)  # reversed order inside each half


def main(out_path, pattern=""):
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        importlib.import_module(os.path.splitext(os.path.basename(path))[0])
    world = MPI.COMM_WORLD.Dup()  # the runner's own; bodies never use it
    results = {}
    for name, body in sorted(REGISTRY.items()):
        if pattern not in name:
            continue
        for binding in BINDINGS:
            comm = communicator_for(binding, world)
            d4p.daalinit(comm=comm)
            try:
                body()
                error = None
            except BaseException:  # noqa: BLE001 - report everything
                error = traceback.format_exc()
            finally:
                d4p.daalfini()
            # blocking and without timeout: every rank gets here, late or not
            outcomes = world.allgather(error)
            failed = {r: e for r, e in enumerate(outcomes) if e}
            results[f"{name}@{binding}"] = (
                "\n".join(f"--- rank {r}:\n{e}" for r, e in failed.items()) if failed else "ok")
            if not failed:
                comm.Free()  # a failed body's communicator may hold unmatched requests
    if world.Get_rank() == 0:
        with open(out_path, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:])
