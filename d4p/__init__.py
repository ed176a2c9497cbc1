"""d4p: daal4py's distributed (SPMD) algorithms as a pure-Python package.

``import d4p`` in place of ``import daal4py as d4p``: the same classes, parameters
and result attributes, computed by Numba kernels on each rank and merged through a
pluggable communicator (serial, simulated ranks on threads, or MPI).

The algorithm classes load on first use (PEP 562), so ``import d4p`` does not
import Numba, SciPy, pandas or mpi4py.
"""
import importlib

from ._config import config_context, get_config, set_config
from ._engine import __has_dist__, daalfini, daalinit, my_procid, num_procs, num_threads
from ._errors import CollectiveAborted, CollectiveTimeout, D4PError, RankError

__version__ = "0.1.0"

# Public name -> the module (relative to d4p) that defines it.  Modules are named
# after algorithm families, never after a public name: importing a submodule sets
# the package attribute of its own name, which would hide a class of that name.
_LAZY = {
    "run_spmd": "_spmd",
    **{name: "moments" for name in (
        "low_order_moments", "low_order_moments_result", "covariance", "covariance_result")},
    "linear_regression_training": "linear_model",
    "linear_regression_training_result": "linear_model",
    "linear_regression_model": "linear_model",
    "linear_regression_prediction": "linear_model",
    "linear_regression_prediction_result": "linear_model",
    "ridge_regression_training": "linear_model",
    "ridge_regression_training_result": "linear_model",
    "ridge_regression_model": "linear_model",
    "ridge_regression_prediction": "linear_model",
    "ridge_regression_prediction_result": "linear_model",
    "multinomial_naive_bayes_training": "naive_bayes",
    "multinomial_naive_bayes_training_result": "naive_bayes",
    "multinomial_naive_bayes_model": "naive_bayes",
    "multinomial_naive_bayes_prediction": "naive_bayes",
    "classifier_prediction_result": "naive_bayes",
    **{name: "logistic" for name in (
        "logistic_regression_training", "logistic_regression_training_result",
        "logistic_regression_model", "logistic_regression_prediction", "ConvergenceWarning")},
    **{name: "decomposition" for name in (
        "qr", "qr_result", "svd", "svd_result", "pca", "pca_result", "pca_transform",
        "pca_transform_result")},
    **{name: "clustering" for name in (
        "kmeans_init", "kmeans_init_result", "kmeans", "kmeans_result")},
    **{name: "engines" for name in (
        "engines_mt19937", "engines_mt2203", "engines_mcg59", "engines_mrg32k3a",
        "engines_philox4x32x10")},
    **{name: "neighbors" for name in (
        "bf_knn_classification_training", "bf_knn_classification_training_result",
        "bf_knn_classification_model", "bf_knn_classification_prediction",
        "bf_knn_classification_prediction_result", "bf_knn_regression_training",
        "bf_knn_regression_training_result", "bf_knn_regression_model",
        "bf_knn_regression_prediction", "bf_knn_regression_prediction_result")},
    "dbscan": "density",
    "normalization_zscore": "normalization",
    "normalization_zscore_result": "normalization",
    "dbscan_result": "density",
}

__all__ = [
    "daalinit", "daalfini", "num_procs", "my_procid", "num_threads", "run_spmd",
    "get_config", "set_config", "config_context",
    "D4PError", "RankError", "CollectiveTimeout", "CollectiveAborted",
    *_LAZY,
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'd4p' has no attribute {name!r}")
    loaded = importlib.import_module(f".{module}", __name__)
    # Bind every public name of that module: later look-ups skip this function.
    for public, where in _LAZY.items():
        if where == module:
            globals()[public] = getattr(loaded, public)
    return globals()[name]


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
