"""How to combine the ranks' R factors in TSQR (the measurement behind d4p's choice).

Variants, each rank holding one random p x p upper-triangular R:
  - "all ranks factor": allgather the Rs, every rank factors the stack (Q and R);
  - "root + bcast":     gather on rank 0, factor there, broadcast R and Q's blocks
                         (what qr and svd use);
  - "all ranks, R":     allgather, every rank factors the stack, R only;
  - "tree, R":          tree_reduce with a pairwise QR merge (what the R-only paths use).

    python benchmarks/bench_decomposition_combine.py             # simulated ranks 2, 4, 8
    mpiexec -n 4 python benchmarks/bench_decomposition_combine.py --mpi
"""
import sys
import time

import numpy as np

import d4p
from d4p._engine import current_comm


def variants(comm, R):
    def all_ranks_q():
        return np.linalg.qr(np.vstack(comm.allgather(R)))

    def root_bcast():
        rs = comm.gather(R)
        return comm.bcast(np.linalg.qr(np.vstack(rs)) if comm.rank == 0 else None)

    def all_ranks_r():
        return np.linalg.qr(np.vstack(comm.allgather(R)), mode="r")

    def tree_r():
        return comm.tree_reduce(R, lambda a, b: np.linalg.qr(np.vstack([a, b]), mode="r"))

    return {"all ranks factor": all_ranks_q, "root + bcast": root_bcast,
            "all ranks, R": all_ranks_r, "tree, R": tree_r}


def run(repeat=20):
    comm = current_comm()
    out = {}
    for p in (50, 200):
        R = np.triu(np.random.default_rng(comm.rank).normal(size=(p, p)))
        for name, fn in variants(comm, R).items():
            fn()
            times = []
            for _ in range(repeat):
                comm.barrier()
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            out[(p, name)] = comm.allreduce(np.array([np.median(times)]), "max")[0]
    return out


def report(label, res):
    for (p, name), secs in res.items():
        print(f"{label:10s} p={p:<4d} {name:18s} {secs * 1e3:9.3f} ms")


if __name__ == "__main__":
    if "--mpi" in sys.argv:
        res = run()
        if current_comm().rank == 0:
            report(f"mpi {current_comm().size}", res)
    else:
        for nranks in (2, 4, 8):
            report(f"threads {nranks}", d4p.run_spmd(run, nranks)[0])
