"""Linear and ridge regression: d4p vs scikit-learn vs daal4py on 2,000,000 x 50, 1 response.

    python benchmarks/bench_linear_model.py [--n N --p P --repeat R --only NAME]
    mpiexec -n 2 python benchmarks/bench_linear_model.py --mpi

The response is derived from X (inputs.regression_response), identically for d4p,
scikit-learn and daal4py, once and outside the timings.
"""
import numpy as np

import d4p
from harness import Case, main
from inputs import regression_response


def train(make):
    def run(X, distributed):
        return make(distributed).compute(X, regression_response(X)).model
    return run


def predict(X, distributed):
    model = d4p.linear_regression_training(interceptFlag=True).compute(
        X[:1000], regression_response(X[:1000])).model
    return d4p.linear_regression_prediction().compute(X, model).prediction


def sklearn(cls, **kw):
    def run(X):
        return cls(**kw).fit(X, regression_response(X))
    return run


def cases():
    from sklearn.linear_model import LinearRegression, Ridge

    syrk = lambda n, p: n * p * (p + 1)  # noqa: E731  the symmetric X^T X
    return [
        Case("linear_regression normEq",
             d4p=train(lambda dist: d4p.linear_regression_training(
                 interceptFlag=True, distributed=dist)),
             reference=sklearn(LinearRegression), reference_name="sklearn",
             daal4py="linear_regression", flops=syrk),
        Case("ridge_regression normEq",
             d4p=train(lambda dist: d4p.ridge_regression_training(
                 interceptFlag=True, distributed=dist)),
             reference=sklearn(Ridge, alpha=1.0), reference_name="sklearn",
             daal4py="ridge_regression", flops=syrk),
        Case("linear_regression qrDense",
             d4p=train(lambda dist: d4p.linear_regression_training(
                 method="qrDense", interceptFlag=True, distributed=dist)),
             reference=lambda X: np.linalg.qr(X, mode="r"), reference_name="numpy qr",
             daal4py="linear_regression_qr", flops=lambda n, p: 2 * n * p * p),
        Case("linear_regression predict",
             d4p=predict, reference=lambda X: X @ np.linspace(-1.0, 1.0, X.shape[1]),
             daal4py="linear_regression_prediction", flops=lambda n, p: 2 * n * p),
    ]


if __name__ == "__main__":
    main(cases())
