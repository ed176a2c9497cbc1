"""PCA and IncrementalPCA on every rank's rows; each rank transforms its own rows.

Run it any of three ways:
    python examples/spmd/decomposition_spmd.py
    python -m d4p -n 4 examples/spmd/decomposition_spmd.py
    mpiexec -n 2 python examples/spmd/decomposition_spmd.py
"""
import numpy as np
from sklearn.decomposition import PCA as SkPCA

import d4p
from d4p.spmd.decomposition import PCA, IncrementalPCA


def my_rows(n):
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(900, 6)) @ rng.normal(size=(6, 6))
    rows = my_rows(len(X))
    mine = X[rows]

    pca = PCA(n_components=3, svd_solver="full").fit(mine)   # collective
    projected = pca.transform(mine)                           # local: this rank's rows
    inc = IncrementalPCA(n_components=3)
    for chunk in np.array_split(mine, 2):
        inc.partial_fit(chunk)
    inc.finalize_fit()

    ref = SkPCA(n_components=3, svd_solver="full").fit(X)
    assert np.allclose(projected, ref.transform(X)[rows], atol=1e-8)
    if d4p.my_procid() == 0:
        assert np.allclose(pca.explained_variance_, ref.explained_variance_, rtol=1e-10)
        assert np.allclose(inc.components_, ref.components_, atol=1e-8)
        print("explained variance ratio:", pca.explained_variance_ratio_)
        print(f"OK: PCA of {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
