"""Compile every Numba kernel once so later runs load them from the cache."""
import time

import numpy as np


def warmup(verbose=False):
    """Run each algorithm on tiny inputs of each dtype; returns the seconds taken."""
    import d4p

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        for order in ("C", "F"):
            X = np.asarray(rng.normal(size=(400, 3)), dtype=dtype, order=order)
            for algo in _algorithms(d4p):
                algo(X)
            if verbose:
                print(f"d4p warmup: {np.dtype(dtype).name} {order}-order done", flush=True)
    return time.perf_counter() - start


def _algorithms(d4p):
    """One call per kernel family; algorithm modules add theirs here."""
    return [
        lambda X: d4p.low_order_moments().compute(X),
        lambda X: d4p.covariance().compute(X),
    ]
