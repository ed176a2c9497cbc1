"""BasicStatistics and IncrementalBasicStatistics (scikit-learn-intelex's estimators)
on every rank's rows.

Run it any of three ways:
    python examples/spmd/basic_statistics_spmd.py
    python -m d4p -n 4 examples/spmd/basic_statistics_spmd.py
    mpiexec -n 2 python examples/spmd/basic_statistics_spmd.py
"""
import numpy as np

import d4p
from d4p.spmd.basic_statistics import BasicStatistics, IncrementalBasicStatistics


def my_rows(n):
    """This rank's contiguous block of n rows (rank order)."""
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    X = np.random.default_rng(0).normal(size=(1000, 4)) * [1, 2, 3, 4] + 10
    mine = X[my_rows(len(X))]                      # a real job reads its own part

    stats = BasicStatistics(result_options=["mean", "variance", "max"]).fit(mine)
    incremental = IncrementalBasicStatistics()
    for chunk in np.array_split(mine, 3):          # local, no communication
        incremental.partial_fit(chunk)
    incremental.finalize_fit()                     # collective: every rank calls it

    if d4p.my_procid() == 0:
        assert np.allclose(stats.mean_, X.mean(axis=0), rtol=1e-12)
        assert np.allclose(stats.variance_, X.var(axis=0, ddof=1), rtol=1e-12)
        assert np.allclose(incremental.sum_, X.sum(axis=0), rtol=1e-12)
        print("mean:", stats.mean_)
        print(f"OK: basic statistics of {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
