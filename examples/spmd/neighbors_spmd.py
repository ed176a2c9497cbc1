"""KNeighborsClassifier, KNeighborsRegressor and NearestNeighbors over every rank's
training rows: each rank's queries search all ranks' rows; indices are global.

Run it any of three ways:
    python examples/spmd/neighbors_spmd.py
    python -m d4p -n 4 examples/spmd/neighbors_spmd.py
    mpiexec -n 2 python examples/spmd/neighbors_spmd.py
"""
import numpy as np
from sklearn import neighbors as sk

import d4p
from d4p.spmd.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors


def my_rows(n):
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1000, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    t = X @ [1.0, 2.0, 0.0, -1.0]
    Q = rng.normal(size=(200, 4))
    rows, queries = my_rows(len(X)), my_rows(len(Q))

    clf = KNeighborsClassifier(7).fit(X[rows], y[rows])       # rows stay on their rank
    dist, ind = clf.kneighbors(Q[queries])                    # collective
    labels = clf.predict(Q[queries])                          # collective
    reg = KNeighborsRegressor(5, weights="distance").fit(X[rows], t[rows])
    pred = reg.predict(Q[queries])
    nn = NearestNeighbors(n_neighbors=3).fit(X[rows])
    own = nn.kneighbors(return_distance=False)                # this rank's training rows

    ref = sk.KNeighborsClassifier(7, algorithm="brute").fit(X, y)
    assert np.array_equal(ind, ref.kneighbors(Q)[1][queries])
    assert np.array_equal(labels, ref.predict(Q)[queries])
    ref_reg = sk.KNeighborsRegressor(5, weights="distance", algorithm="brute").fit(X, t)
    assert np.allclose(pred, ref_reg.predict(Q)[queries], rtol=1e-10)
    ref_nn = sk.NearestNeighbors(n_neighbors=3, algorithm="brute").fit(X)
    assert np.array_equal(own, ref_nn.kneighbors(return_distance=False)[rows])
    if d4p.my_procid() == 0:
        print("first query's neighbours (global rows):", ind[0], "distances:", dist[0])
        print(f"OK: nearest neighbours over {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
