"""LinearRegression, Ridge, IncrementalLinearRegression and LogisticRegression on
every rank's rows; score over all ranks.

Run it any of three ways:
    python examples/spmd/linear_model_spmd.py
    python -m d4p -n 4 examples/spmd/linear_model_spmd.py
    mpiexec -n 2 python examples/spmd/linear_model_spmd.py
"""
import numpy as np
from sklearn import linear_model as sk

import d4p
from d4p.spmd.linear_model import (IncrementalLinearRegression, LinearRegression,
                                   LogisticRegression, Ridge)


def my_rows(n):
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1200, 5))
    y = X @ [1.0, -2.0, 0.5, 0.0, 3.0] + 4.0 + 0.1 * rng.normal(size=1200)
    labels = (y + rng.normal(size=1200) > 4.0).astype(int)
    rows = my_rows(len(X))

    lin = LinearRegression().fit(X[rows], y[rows])            # collective
    r2 = lin.score(X[rows], y[rows])                          # collective: all rows
    ridge = Ridge(alpha=10.0).fit(X[rows], y[rows])
    inc = IncrementalLinearRegression()
    for cx, cy in zip(np.array_split(X[rows], 3), np.array_split(y[rows], 3)):
        inc.partial_fit(cx, cy)                               # local
    inc.finalize_fit()                                        # collective
    logit = LogisticRegression(C=0.5).fit(X[rows], labels[rows])

    if d4p.my_procid() == 0:
        assert np.allclose(lin.coef_, sk.LinearRegression().fit(X, y).coef_, rtol=1e-10)
        assert np.isclose(r2, sk.LinearRegression().fit(X, y).score(X, y), rtol=1e-12)
        assert np.allclose(ridge.coef_, sk.Ridge(alpha=10.0).fit(X, y).coef_, rtol=1e-10)
        assert np.allclose(inc.coef_, lin.coef_, rtol=1e-10)
        ref = sk.LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-12).fit(X, labels)
        assert np.allclose(logit.coef_, ref.coef_, rtol=1e-6)
        print("coef_:", lin.coef_, "intercept_:", lin.intercept_, "R^2:", r2)
        print(f"OK: linear models of {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
