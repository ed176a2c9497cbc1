"""KMeans and DBSCAN on every rank's rows; labels_ are each rank's own rows.

Run it any of three ways:
    python examples/spmd/cluster_spmd.py
    python -m d4p -n 4 examples/spmd/cluster_spmd.py
    mpiexec -n 2 python examples/spmd/cluster_spmd.py
"""
import numpy as np
from sklearn import cluster as sk

import d4p
from d4p.spmd.cluster import DBSCAN, KMeans


def my_rows(n):
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    rng = np.random.default_rng(4)
    centres = np.array([[0, 0], [5, 5], [0, 6]], dtype=float)
    X = centres[rng.integers(0, 3, 900)] + 0.6 * rng.normal(size=(900, 2))
    rows = my_rows(len(X))

    km = KMeans(3, random_state=0).fit(X[rows])               # k-means++, collective
    start = X[:3]
    fixed = KMeans(3, init=start, n_init=1).fit(X[rows])      # from given centres
    db = DBSCAN(eps=0.4, min_samples=8).fit(X[rows])

    ref = sk.KMeans(3, init=start, n_init=1).fit(X)
    assert np.array_equal(fixed.labels_, ref.labels_[rows])
    ref_db = sk.DBSCAN(eps=0.4, min_samples=8).fit(X)
    assert np.array_equal(db.labels_, ref_db.labels_[rows])
    if d4p.my_procid() == 0:
        assert np.allclose(fixed.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
        assert np.array_equal(db.core_sample_indices_, ref_db.core_sample_indices_)
        print("k-means++ centres:\n", km.cluster_centers_, "\ninertia:", km.inertia_)
        print(f"OK: clustering of {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
