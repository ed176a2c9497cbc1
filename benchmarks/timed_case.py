"""Times one benchmark case in this process, with d4p or with real daal4py.

    python timed_case.py LIB CASE N P REPEAT [SEED]
    mpiexec -n 2 python timed_case.py LIB CASE N P REPEAT [SEED]

``LIB`` is ``d4p`` or ``daal4py``: the cases call daal4py's API, which both speak.
Under an MPI launcher each rank takes its block of the rows and the case runs
with ``distributed=True``.  The last line printed (by rank 0) is a JSON list of
seconds, one per repetition (the slowest rank's), after one untimed run on 1,000
rows and one on all of them (compilation, daal4py's own set-up).
"""
import importlib
import json
import os
import sys
import time

import numpy as np

import inputs
from daal4py_cases import CASES

#: Pause before each timed run, as in harness.SETTLE_SECONDS: idle BLAS/TBB
#: workers spin for about 0.1 s after a call.
SETTLE_SECONDS = 0.3


def main(lib_name, case, n, p, repeat, seed=0):
    lib = importlib.import_module(lib_name)
    distributed = "PMI_RANK" in os.environ or "OMPI_COMM_WORLD_SIZE" in os.environ
    if distributed:
        lib.daalinit()
    rank, size = (lib.my_procid(), lib.num_procs()) if distributed else (0, 1)
    if case.startswith("nb_"):
        X, _ = inputs.make_counts(int(n), int(p), int(seed))
    else:
        X = inputs.make_data(int(n), int(p), int(seed))
    local = np.ascontiguousarray(np.array_split(X, size)[rank]) if distributed else X
    del X
    fn = CASES[case]
    fn(lib, local[:1000], distributed)
    fn(lib, local, distributed)
    times = []
    for _ in range(int(repeat)):
        _barrier(distributed)
        time.sleep(SETTLE_SECONDS)
        _barrier(distributed)
        start = time.perf_counter()
        fn(lib, local, distributed)
        times.append(time.perf_counter() - start)
    if distributed:
        times = _max_over_ranks(times)
    if rank == 0:
        print(json.dumps(times), flush=True)
    if distributed:
        lib.daalfini()


def _barrier(distributed):
    if distributed:
        from mpi4py import MPI

        MPI.COMM_WORLD.Barrier()


def _max_over_ranks(times):
    from mpi4py import MPI

    # The buffer form reduces element by element (the pickle form would apply
    # Python's max to two whole arrays and fail on rank 0 only).
    slowest = np.empty(len(times))
    MPI.COMM_WORLD.Allreduce(np.array(times, dtype=float), slowest, op=MPI.MAX)
    return slowest.tolist()


if __name__ == "__main__":
    main(*sys.argv[1:])
