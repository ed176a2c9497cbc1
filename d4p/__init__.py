"""d4p: daal4py's distributed (SPMD) algorithms as a pure-Python package.

``import d4p`` in place of ``import daal4py as d4p``: the same classes, parameters
and result attributes, computed by Numba kernels on each rank and merged through a
pluggable communicator (serial, simulated ranks on threads, or MPI).
"""
from ._config import config_context, get_config, set_config
from ._engine import (__has_dist__, daalfini, daalinit, my_procid, num_procs, num_threads,
                      run_spmd)
from ._errors import CollectiveAborted, CollectiveTimeout, D4PError, RankError
from .covariance import covariance, covariance_result
from .low_order_moments import low_order_moments, low_order_moments_result

__version__ = "0.1.0"

__all__ = [
    "daalinit", "daalfini", "num_procs", "my_procid", "num_threads", "run_spmd",
    "get_config", "set_config", "config_context",
    "D4PError", "RankError", "CollectiveTimeout", "CollectiveAborted",
    "low_order_moments", "low_order_moments_result", "covariance", "covariance_result",
]
