"""qr in SPMD mode: R is global, each rank gets the rows of Q for its own rows.

Run it any of three ways:
    python examples/qr_spmd.py
    python -m d4p -n 4 examples/qr_spmd.py
    mpiexec -n 4 python examples/qr_spmd.py
"""
import numpy as np

import d4p


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    rng = np.random.default_rng(7)
    data = rng.normal(size=(2000, 10)) @ rng.normal(size=(10, 10)) + 3.0
    # Uneven shares; the last rank gets only 3 rows (fewer than the 10 columns).
    bounds = np.linspace(0, data.shape[0] - 3, size).astype(int).tolist() + [data.shape[0]]
    mine = data[bounds[rank]:bounds[rank + 1]]

    result = d4p.qr(distributed=True).compute(mine)
    Q_local, R = result.matrixQ, result.matrixR

    # Every rank checks its own rows: Q_i R = X_i.
    assert np.allclose(Q_local @ R, mine)
    # The stacked Q is orthonormal exactly when its own R factor is the identity.
    R_of_Q = d4p.qr(distributed=True).compute(Q_local).matrixR
    if rank == 0:
        R_np = np.linalg.qr(data, mode="r")
        R_np *= np.sign(np.diag(R_np))[:, None]  # d4p's R has a non-negative diagonal
        print(f"ranks: {size}, rows per rank: {np.diff(bounds).tolist()}")
        print("R diagonal:", np.round(np.diag(R), 4))
        print("max |R(Q) - I|:", np.abs(R_of_Q - np.eye(10)).max())
        assert np.allclose(R, R_np) and np.allclose(R_of_Q, np.eye(10))
        print("OK: distributed QR equals numpy.linalg.qr of all rows")


if __name__ == "__main__":
    main()
