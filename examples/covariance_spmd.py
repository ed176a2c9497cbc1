"""covariance in SPMD mode, each rank reading its own CSV file ("{}" = the rank).

Run it any of three ways:
    python examples/covariance_spmd.py
    python -m d4p -n 4 examples/covariance_spmd.py
    mpiexec -n 4 python examples/covariance_spmd.py
"""
import os
import tempfile

import numpy as np

import d4p


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    rng = np.random.default_rng(42)
    data = rng.multivariate_normal([1.0, -2.0, 3.0], [[2, 0.5, 0], [0.5, 1, -0.3], [0, -0.3, 1.5]],
                                   size=1000)
    # Write this rank's rows to its own file, as a real job would find them.
    folder = os.path.join(tempfile.gettempdir(), f"d4p-covariance-example-{size}")
    os.makedirs(folder, exist_ok=True)
    pattern = os.path.join(folder, "part_{}.csv")
    np.savetxt(pattern.format(rank), np.array_split(data, size)[rank], delimiter=",",
               header="a,b,c", comments="")

    # The daal4py idiom: "{}" in the file name becomes each rank's number.
    result = d4p.covariance(distributed=True).compute(pattern)

    if rank == 0:
        print(f"ranks: {size}")
        print("covariance:\n", np.round(result.covariance, 4))
        print("correlation:\n", np.round(result.correlation, 4))
        assert np.allclose(result.covariance, np.cov(data, rowvar=False))
        assert np.allclose(result.correlation, np.corrcoef(data, rowvar=False))
        print("OK: distributed covariance equals numpy.cov of all rows")


if __name__ == "__main__":
    main()
