"""d4p.spmd: scikit-learn estimators whose ``fit`` on each rank's rows gives the
model of all ranks' rows (CPU ranks: MPI, simulated ranks, or one process).

Laid out like scikit-learn-intelex's ``sklearnex.spmd``; each estimator is a thin
layer over d4p's daal4py-face classes with ``distributed=True``.
"""
import importlib

_MODULES = ("basic_statistics", "covariance", "decomposition", "linear_model", "cluster",
            "neighbors", "preprocessing", "naive_bayes")

__all__ = list(_MODULES)


def __getattr__(name):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'd4p.spmd' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULES))
