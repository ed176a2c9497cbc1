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


def linear_regression(daal, X):
    return daal.linear_regression_training(interceptFlag=True).compute(
        X, inputs.regression_response(X)).model


def ridge_regression(daal, X):
    return daal.ridge_regression_training(interceptFlag=True).compute(
        X, inputs.regression_response(X)).model


def linear_regression_qr(daal, X):
    return daal.linear_regression_training(method="qrDense", interceptFlag=True).compute(
        X, inputs.regression_response(X)).model


def linear_regression_prediction(daal, X):
    model = linear_regression(daal, X[:1000])
    return daal.linear_regression_prediction().compute(X, model).prediction
def qr(daal, X):
    return daal.qr().compute(X)


def svd(daal, X):
    return daal.svd().compute(X)


def svd_values(daal, X):
    return daal.svd(leftSingularMatrix="notRequired").compute(X)


def pca_correlation(daal, X):
    return daal.pca().compute(X)


def pca_svd(daal, X):
    # doScale=True: explained variances, as d4p reports (the same work either way)
    return daal.pca(method="svdDense", doScale=True).compute(X)


def kmeans_plusplus(daal, X):
    return daal.kmeans_init(10, method="plusPlusDense").compute(X).centroids


def kmeans_parallelplus(daal, X):
    return daal.kmeans_init(10, method="parallelPlusDense").compute(X).centroids


def kmeans_lloyd(daal, X):
    return daal.kmeans(10, 50, accuracyThreshold=0.0).compute(
        X, inputs.kmeans_start(X)).centroids


CASES = {
    "low_order_moments": low_order_moments,
    "covariance": covariance,
    "linear_regression": linear_regression,
    "ridge_regression": ridge_regression,
    "linear_regression_qr": linear_regression_qr,
    "linear_regression_prediction": linear_regression_prediction,
    "qr": qr,
    "svd": svd,
    "svd_values": svd_values,
    "pca_correlation": pca_correlation,
    "pca_svd": pca_svd,
    "kmeans_plusplus": kmeans_plusplus,
    "kmeans_parallelplus": kmeans_parallelplus,
    "kmeans_lloyd": kmeans_lloyd,
}
