"""Latency of small collectives through d4p's MPI communicator.

Run: ``mpiexec -n 2 python benchmarks/bench_comm_overhead.py [N]``.  Prints, on rank
0, microseconds per call for N small allreduces, allgathers and bcasts, and the
same through raw mpi4py (blocking) for comparison.  Use it before and after a
change to the polling loop: the VM is shared and noisy, so run it several times
and compare ranges, not single figures.
"""
import sys
import time

import numpy as np
from mpi4py import MPI

import d4p
from d4p._engine import current_comm


def timed(fn, n):
    MPI.COMM_WORLD.Barrier()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main(n=10_000):
    comm = current_comm()
    raw = MPI.COMM_WORLD
    a = np.ones(4)
    out = np.empty_like(a)
    rows = {
        "d4p allreduce(4 doubles)": timed(lambda: comm.allreduce(a), n),
        "d4p allgather(small obj)": timed(lambda: comm.allgather((1, 2.0)), n),
        "d4p bcast(small obj)": timed(lambda: comm.bcast((1, 2.0)), n),
        "raw Allreduce(4 doubles)": timed(lambda: raw.Allreduce(a, out), n),
        "raw allgather(small obj)": timed(lambda: raw.allgather((1, 2.0)), n),
    }
    if comm.rank == 0:
        print(f"{comm.size} ranks, {n} calls each (us per call)")
        for name, us in rows.items():
            print(f"  {name:28s} {us:8.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
