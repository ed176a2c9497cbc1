"""Linear regression in SPMD mode: every rank trains on its own rows, every rank
gets the same global model, and each rank predicts its own rows with it.

Run it any of three ways:
    python examples/linear_regression_spmd.py
    python -m d4p -n 4 examples/linear_regression_spmd.py
    mpiexec -n 4 python examples/linear_regression_spmd.py
"""
import numpy as np

import d4p


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    # The same global data on every rank (a real job would read its own part).
    rng = np.random.default_rng(7)
    n, p, k = 10_000, 8, 2
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 4, size=p) + 100.0
    true_beta = rng.normal(size=(p, k))
    Y = X @ true_beta + np.array([5.0, -3.0]) + 0.1 * rng.normal(size=(n, k))
    lo, hi = n * rank // size, n * (rank + 1) // size
    X_local, Y_local = X[lo:hi], Y[lo:hi]

    models = {}
    for method in ("normEqDense", "qrDense"):
        train = d4p.linear_regression_training(method=method, interceptFlag=True,
                                               distributed=True)
        models[method] = train.compute(X_local, Y_local).model

    # Prediction needs no communication: each rank predicts its own rows.
    pred = d4p.linear_regression_prediction().compute(X_local, models["qrDense"]).prediction
    local_sse = np.array([((pred - Y_local) ** 2).sum()])

    # Reference: numpy least squares on all rows, with a column of ones.
    ref = np.linalg.lstsq(np.column_stack([np.ones(n), X]), Y, rcond=None)[0].T
    if rank == 0:
        beta = models["qrDense"].Beta
        print(f"ranks: {size}")
        print("Beta (column 0 is the intercept):\n", np.round(beta, 4))
        print("NumberOfFeatures", models["qrDense"].NumberOfFeatures,
              "NumberOfResponses", models["qrDense"].NumberOfResponses)
        for method, model in models.items():
            err = np.abs(model.Beta - ref).max() / np.abs(ref).max()
            print(f"{method:12s} max relative difference from numpy.linalg.lstsq: {err:.1e}")
            assert err < 1e-8
        print(f"rank 0 residual sum of squares on its rows: {local_sse[0]:.3f}")
        print("OK: distributed linear regression equals numpy.linalg.lstsq on all rows")


if __name__ == "__main__":
    main()
