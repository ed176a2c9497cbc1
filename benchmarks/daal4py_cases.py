"""Every benchmark case in daal4py's API, by name: run with daal4py or with d4p.

Each function takes the library (the daal4py module, or d4p, which has the same
API), the data and ``distributed`` (this rank's rows under MPI), and runs one
computation.  See daal4py_worker.py and timed_case.py.
Responses, labels and starting centroids are derived from X deterministically, the
same way the d4p side of each case derives them (see inputs.py).
"""
import inputs


def low_order_moments(daal, X, distributed=False):
    return daal.low_order_moments(distributed=distributed).compute(X)


def covariance(daal, X, distributed=False):
    return daal.covariance(distributed=distributed).compute(X)


def linear_regression(daal, X, distributed=False):
    return daal.linear_regression_training(interceptFlag=True, distributed=distributed).compute(
        X, inputs.regression_response(X)).model


def ridge_regression(daal, X, distributed=False):
    return daal.ridge_regression_training(interceptFlag=True, distributed=distributed).compute(
        X, inputs.regression_response(X)).model


def linear_regression_qr(daal, X, distributed=False):
    return daal.linear_regression_training(method="qrDense", interceptFlag=True,
                                         distributed=distributed).compute(
        X, inputs.regression_response(X)).model


def linear_regression_prediction(daal, X, distributed=False):
    model = linear_regression(daal, X[:1000])
    return daal.linear_regression_prediction().compute(X, model).prediction


def nb_training(daal, X, distributed=False):
    return daal.multinomial_naive_bayes_training(
        inputs.N_CLASSES, distributed=distributed).compute(X, inputs.class_labels(X)[:, None]).model


def qr(daal, X, distributed=False):
    return daal.qr(distributed=distributed).compute(X)


def svd(daal, X, distributed=False):
    return daal.svd(distributed=distributed).compute(X)


def svd_values(daal, X, distributed=False):
    return daal.svd(leftSingularMatrix="notRequired", distributed=distributed).compute(X)


def pca_correlation(daal, X, distributed=False):
    return daal.pca(distributed=distributed).compute(X)


def pca_svd(daal, X, distributed=False):
    # doScale=True: explained variances, as d4p reports (the same work either way)
    return daal.pca(method="svdDense", doScale=True, distributed=distributed).compute(X)


def kmeans_plusplus(daal, X, distributed=False):
    return daal.kmeans_init(10, method="plusPlusDense", distributed=distributed).compute(X).centroids


def kmeans_parallelplus(daal, X, distributed=False):
    return daal.kmeans_init(10, method="parallelPlusDense", distributed=distributed).compute(X).centroids


def kmeans_lloyd(daal, X, distributed=False):
    return daal.kmeans(10, 50, accuracyThreshold=0.0, distributed=distributed).compute(
        X, inputs.kmeans_start(X)).centroids


CASES = {
    "nb_training": nb_training,
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
