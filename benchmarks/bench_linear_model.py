"""Linear and ridge regression: d4p vs scikit-learn vs daal4py on 2,000,000 x 50, 1 response.

    python benchmarks/bench_linear_model.py [--n N --p P --repeat R --only NAME]
    mpiexec -n 2 python benchmarks/bench_linear_model.py --mpi

The generated table has p + 1 columns; the last one is the response (contiguous
copies of X and y are made once, outside the timing).
"""
import numpy as np

import d4p
from harness import Case, main, make_data, parse_args

_SPLIT = {}


def xy(table):
    """Contiguous (X, y) of a table whose last column is the response; cached per
    data region so every implementation gets the same arrays."""
    key = (table.__array_interface__["data"][0], table.shape, table.strides)
    if key not in _SPLIT:
        _SPLIT[key] = (np.ascontiguousarray(table[:, :-1]), np.ascontiguousarray(table[:, -1:]))
    return _SPLIT[key]


def fit(algo):
    def run(table, distributed):
        X, y = xy(table)
        return algo(distributed).compute(X, y).model
    return run


def predict(table, distributed):
    X, y = xy(table)
    if "model" not in _SPLIT:
        _SPLIT["model"] = d4p.linear_regression_training(interceptFlag=True).compute(X, y).model
    return d4p.linear_regression_prediction().compute(X, _SPLIT["model"]).prediction


def _sk(cls, **kw):
    def run(table):
        X, y = xy(table)
        return cls(**kw).fit(X, y)
    return run


def _daal(name, **kw):
    def run(daal, table):
        X, y = xy(table)
        return getattr(daal, name)(**kw).compute(X, y).model
    return run


def _daal_predict(daal, table):
    X, y = xy(table)
    model = daal.linear_regression_training(interceptFlag=True).compute(X[:1000], y[:1000]).model
    return daal.linear_regression_prediction().compute(X, model).prediction


def cases():
    from sklearn.linear_model import LinearRegression, Ridge

    syrk = lambda n, p: n * p * (p + 1)  # noqa: E731  the symmetric [X|y]^T [X|y], p counts y
    return [
        Case("linear_regression normEq",
             d4p=fit(lambda dist: d4p.linear_regression_training(interceptFlag=True,
                                                                 distributed=dist)),
             reference=_sk(LinearRegression), reference_name="sklearn",
             daal4py=_daal("linear_regression_training", interceptFlag=True), flops=syrk),
        Case("ridge_regression normEq",
             d4p=fit(lambda dist: d4p.ridge_regression_training(interceptFlag=True,
                                                                distributed=dist)),
             reference=_sk(Ridge, alpha=1.0), reference_name="sklearn",
             daal4py=_daal("ridge_regression_training", interceptFlag=True), flops=syrk),
        Case("linear_regression qrDense",
             d4p=fit(lambda dist: d4p.linear_regression_training(method="qrDense",
                                                                 interceptFlag=True,
                                                                 distributed=dist)),
             reference=lambda t: np.linalg.qr(xy(t)[0], mode="r"), reference_name="numpy qr",
             daal4py=_daal("linear_regression_training", method="qrDense", interceptFlag=True),
             flops=lambda n, p: 2 * n * p * p),
        Case("linear_regression predict",
             d4p=predict, reference=lambda t: xy(t)[0] @ np.ones((xy(t)[0].shape[1], 1)),
             daal4py=_daal_predict, flops=lambda n, p: 2 * n * (p - 1)),
    ]


if __name__ == "__main__":
    args = parse_args()
    main(cases(), X=make_data(args.n, args.p + 1), args=args)
