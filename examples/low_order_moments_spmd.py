"""low_order_moments in SPMD mode: every rank reads its own file, all get the result.

Run it any of three ways:
    python examples/low_order_moments_spmd.py              # one process
    python -m d4p -n 4 examples/low_order_moments_spmd.py  # 4 simulated ranks
    mpiexec -n 4 python examples/low_order_moments_spmd.py # 4 MPI ranks
"""
import os

import numpy as np

import d4p

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    d4p.daalinit()
    rank, size = d4p.my_procid(), d4p.num_procs()
    # Each rank's rows: this rank's share of the example file's rows.
    data = np.loadtxt(os.path.join(HERE, "data", "moments.csv"), delimiter=",")
    mine = np.array_split(data, size)[rank]

    result = d4p.low_order_moments(distributed=True).compute(mine)

    if rank == 0:
        print(f"ranks: {size}, rows: {data.shape[0]}, columns: {data.shape[1]}")
        print("mean:", np.round(result.mean, 6))
        print("variance:", np.round(result.variance, 6))
        assert np.allclose(result.mean, data.mean(axis=0))
        assert np.allclose(result.variance, data.var(axis=0, ddof=1))
        print("OK: distributed moments equal the moments of all rows")
    d4p.daalfini()


if __name__ == "__main__":
    main()
