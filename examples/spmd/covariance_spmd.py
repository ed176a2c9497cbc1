"""EmpiricalCovariance and IncrementalEmpiricalCovariance on every rank's rows,
checked against scikit-learn on all rows.

Run it any of three ways:
    python examples/spmd/covariance_spmd.py
    python -m d4p -n 4 examples/spmd/covariance_spmd.py
    mpiexec -n 2 python examples/spmd/covariance_spmd.py
"""
import numpy as np
from sklearn.covariance import EmpiricalCovariance as SkEmpiricalCovariance

import d4p
from d4p.spmd.covariance import EmpiricalCovariance, IncrementalEmpiricalCovariance


def my_rows(n):
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(800, 3)) @ rng.normal(size=(3, 3))
    mine = X[my_rows(len(X))]

    cov = EmpiricalCovariance().fit(mine)           # collective
    score = cov.score(mine)                         # collective: all ranks' rows
    inc = IncrementalEmpiricalCovariance()
    for chunk in np.array_split(mine, 4):
        inc.partial_fit(chunk)                      # local
    inc.finalize_fit()                              # collective

    if d4p.my_procid() == 0:
        ref = SkEmpiricalCovariance().fit(X)
        assert np.allclose(cov.covariance_, ref.covariance_, rtol=1e-10)
        assert np.allclose(inc.covariance_, ref.covariance_, rtol=1e-10)
        assert np.isclose(score, ref.score(X), rtol=1e-10)
        print(cov.covariance_)
        print(f"OK: covariance of {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
