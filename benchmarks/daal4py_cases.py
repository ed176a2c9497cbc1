"""The daal4py side of every benchmark case, by name.

Run inside the daal4py worker (a Python that has daal4py; see daal4py_worker.py).
Each function takes the daal4py module and the data and runs one computation.
Responses, labels and starting centroids are derived from X deterministically, the
same way the d4p side of each case derives them (see inputs.py).
"""
import inputs


def low_order_moments(daal, X):
    return daal.low_order_moments().compute(X)


def covariance(daal, X):
    return daal.covariance().compute(X)


CASES = {
    "low_order_moments": low_order_moments,
    "covariance": covariance,
}
