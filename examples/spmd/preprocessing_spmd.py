"""StandardScaler and MaxAbsScaler fitted on every rank's rows; each rank scales its
own rows.

Run it any of three ways:
    python examples/spmd/preprocessing_spmd.py
    python -m d4p -n 4 examples/spmd/preprocessing_spmd.py
    mpiexec -n 2 python examples/spmd/preprocessing_spmd.py
"""
import numpy as np
from scipy import sparse
from sklearn import preprocessing as sk

import d4p
from d4p.spmd.preprocessing import MaxAbsScaler, StandardScaler


def my_rows(n):
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(700, 4)) * [1, 10, 100, 1000] + [0, 5, -5, 50]
    rows = my_rows(len(X))

    scaler = StandardScaler().fit(X[rows])                    # collective
    scaled = scaler.transform(X[rows])                        # local
    sparse_rows = sparse.csr_matrix(np.where(np.abs(X[rows]) > 20, X[rows], 0.0))
    maxabs = MaxAbsScaler().fit(sparse_rows)                  # sparse stays sparse

    ref = sk.StandardScaler().fit(X)
    assert np.allclose(scaled, ref.transform(X)[rows], atol=1e-10)
    if d4p.my_procid() == 0:
        assert np.allclose(scaler.var_, ref.var_, rtol=1e-10)
        print("mean_:", scaler.mean_, "max_abs_:", maxabs.max_abs_)
        print(f"OK: scalers of {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
