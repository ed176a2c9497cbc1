"""Ridge regression in SPMD mode with one penalty per response, streamed in chunks:
each rank reads its own CSV files ("{}" = the rank), feeds them chunk by chunk,
and finalize() merges all ranks.

Run it any of three ways:
    python examples/ridge_regression_spmd.py
    python -m d4p -n 4 examples/ridge_regression_spmd.py
    mpiexec -n 4 python examples/ridge_regression_spmd.py
"""
import os
import tempfile

import numpy as np

import d4p


def ridge_reference(X, Y, lambdas):
    """Centred ridge with an unpenalised intercept, one λ per response (numpy)."""
    xm, ym = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - xm, Y - ym
    beta = np.column_stack([np.linalg.solve(Xc.T @ Xc + lam * np.eye(X.shape[1]), Xc.T @ Yc[:, j])
                            for j, lam in enumerate(lambdas)])
    return np.column_stack([ym - xm @ beta, beta.T])


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    rng = np.random.default_rng(3)
    n, p = 3000, 6
    X = rng.normal(size=(n, p))
    X[:, 5] = X[:, 4] + 0.01 * rng.normal(size=n)  # nearly collinear: ridge tames it
    Y = np.column_stack([X @ rng.normal(size=p) + 1.0, X @ rng.normal(size=p) - 2.0])
    Y += 0.5 * rng.normal(size=Y.shape)
    lambdas = [0.5, 25.0]

    # Each rank writes its rows to its own files, in three chunks, as a real job
    # would find them: x_<rank>_<chunk>.csv and y_<rank>_<chunk>.csv.
    folder = os.path.join(tempfile.gettempdir(), f"d4p-ridge-example-{size}")
    os.makedirs(folder, exist_ok=True)
    lo, hi = n * rank // size, n * (rank + 1) // size
    chunks = np.array_split(np.arange(lo, hi), 3)
    for c, rows in enumerate(chunks):
        np.savetxt(os.path.join(folder, f"x_{rank}_{c}.csv"), X[rows], delimiter=",")
        np.savetxt(os.path.join(folder, f"y_{rank}_{c}.csv"), Y[rows], delimiter=",")

    algo = d4p.ridge_regression_training(ridgeParameters=np.array([lambdas]),
                                         interceptFlag=True, distributed=True, streaming=True)
    for c in range(len(chunks)):
        # The daal4py idiom: "{}" in a file name becomes each rank's number.
        algo.compute(os.path.join(folder, f"x_{{}}_{c}.csv"),
                     os.path.join(folder, f"y_{{}}_{c}.csv"))
    model = algo.finalize().model  # collective: merges every rank's chunks

    pred = d4p.ridge_regression_prediction().compute(X[lo:hi], model).prediction
    if rank == 0:
        ref = ridge_reference(X, Y, lambdas)
        err = np.abs(model.Beta - ref).max() / np.abs(ref).max()
        print(f"ranks: {size}")
        print("Beta (column 0 is the intercept; one row per response):\n",
              np.round(model.Beta, 4))
        print(f"max relative difference from numpy ridge: {err:.1e}")
        print("prediction shape on rank 0:", pred.shape)
        assert err < 1e-9
        print("OK: distributed streaming ridge regression (one λ per response) equals numpy")


if __name__ == "__main__":
    main()
