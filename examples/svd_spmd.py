"""svd in SPMD mode, each rank reading its own CSV file ("{}" = the rank).

Run it any of three ways:
    python examples/svd_spmd.py
    python -m d4p -n 4 examples/svd_spmd.py
    mpiexec -n 4 python examples/svd_spmd.py
"""
import os
import tempfile

import numpy as np

import d4p


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    rng = np.random.default_rng(3)
    data = rng.normal(size=(600, 6)) * [5, 4, 3, 2, 1, 0.5]
    folder = os.path.join(tempfile.gettempdir(), f"d4p-svd-example-{size}")
    os.makedirs(folder, exist_ok=True)
    pattern = os.path.join(folder, "part_{}.csv")
    np.savetxt(pattern.format(rank), np.array_split(data, size)[rank], delimiter=",")

    result = d4p.svd(distributed=True).compute(pattern)
    s, Vt, U_local = result.singularValues, result.rightSingularMatrix, result.leftSingularMatrix
    mine = np.array_split(data, size)[rank]
    assert np.allclose(U_local * s @ Vt, mine)  # U_i diag(s) V^T = X_i on every rank

    # Singular values only: no U is formed (daal4py cannot do this distributed).
    values = d4p.svd(leftSingularMatrix="notRequired", distributed=True).compute(pattern)
    if rank == 0:
        s_np = np.linalg.svd(data, compute_uv=False)
        print(f"ranks: {size}")
        print("singular values:", np.round(s[0], 4))
        assert np.allclose(s[0], s_np) and np.allclose(values.singularValues[0], s_np)
        assert values.leftSingularMatrix is None
        print("OK: distributed SVD equals numpy.linalg.svd of all rows")


if __name__ == "__main__":
    main()
