"""Multinomial logistic regression in SPMD mode: each rank trains on its own rows,
every rank gets the exact optimum of all rows, and each rank classifies its own
test rows without communication.

daal4py has logistic regression only in batch (and its SGD solver stops short of
the optimum); d4p's Newton iterations exchange only the gradient and Hessian.

Run it any of three ways:
    python examples/logistic_regression_spmd.py
    python -m d4p -n 4 examples/logistic_regression_spmd.py
    mpiexec -n 4 python examples/logistic_regression_spmd.py
"""
import numpy as np

import d4p

N_CLASSES, N_ROWS, N_TRAIN, P = 4, 4000, 3000, 6
PENALTY_L2 = 1e-3


def dataset(seed=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_ROWS, P)) * rng.uniform(0.5, 2.0, size=P)
    scores = X @ rng.normal(size=(P, N_CLASSES)) + rng.normal(size=N_CLASSES)
    prob = np.exp(scores - scores.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    y = (prob.cumsum(axis=1) < rng.uniform(size=(N_ROWS, 1))).sum(axis=1)
    return X, y.reshape(-1, 1).astype(np.float64)


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    X, y = dataset()
    # This rank's share of the training rows (a real job would read its own file).
    lo, hi = np.linspace(0, N_TRAIN, size + 1).astype(int)[rank:rank + 2]

    training = d4p.logistic_regression_training(N_CLASSES, interceptFlag=True,
                                                penaltyL2=PENALTY_L2, distributed=True)
    result = training.compute(X[lo:hi], y[lo:hi])
    model = result.model

    # Prediction needs no communication: each rank classifies its own test rows.
    mine = np.array_split(np.arange(N_TRAIN, N_ROWS), size)[rank]
    pred = d4p.logistic_regression_prediction(
        N_CLASSES, resultsToEvaluate="computeClassLabels|computeClassProbabilities"
    ).compute(X[mine], model)
    hits = (pred.prediction[:, 0] == y[mine, 0]).astype(float)
    accuracy = d4p.low_order_moments(distributed=True).compute(hits).mean[0, 0]

    if rank == 0:
        from sklearn.linear_model import LogisticRegression

        # daal4py's penaltyL2 = λ is scikit-learn's C = 1 / (2 λ n), n the training rows.
        sk = LogisticRegression(C=1 / (2 * PENALTY_L2 * N_TRAIN), tol=1e-12, solver="newton-cg",
                                max_iter=1000).fit(X[:N_TRAIN], y[:N_TRAIN, 0])
        sk_beta = np.column_stack([sk.intercept_, sk.coef_])
        err = np.abs(model.Beta - sk_beta).max() / np.abs(sk_beta).max()
        print(f"ranks: {size}, Newton iterations: {result.nIterations}")
        print("Beta (column 0 is the intercept; one row per class):\n", np.round(model.Beta, 4))
        print(f"max relative difference from scikit-learn: {err:.1e}")
        print(f"accuracy on the test rows: {accuracy:.3f}")
        assert err < 1e-6
        assert np.allclose(pred.probabilities, sk.predict_proba(X[mine]), rtol=1e-6, atol=1e-9)
        print("OK: distributed logistic regression equals scikit-learn's optimum on all rows")


if __name__ == "__main__":
    main()
