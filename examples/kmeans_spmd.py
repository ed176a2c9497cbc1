"""k-means in SPMD mode: k-means++ initialisation, Lloyd iterations and each rank's
assignments, all distributed.

Run it any of three ways:
    python examples/kmeans_spmd.py              # one process
    python -m d4p -n 4 examples/kmeans_spmd.py  # 4 simulated ranks
    mpiexec -n 4 python examples/kmeans_spmd.py # 4 MPI ranks

The initial centroids do not depend on the number of ranks (d4p's draws are
keyed by the global row index), so every run prints the same numbers.
"""
import numpy as np

import d4p

K = 5


def make_data(n=3000, p=3, seed=7):
    """The same synthetic blobs on every rank (a real job would read its own part)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(K, p))
    return centres[rng.integers(0, K, size=n)] + rng.normal(size=(n, p))


def reference(data, start, iterations):
    """scikit-learn's Lloyd from the same start (tol=0 stops when nothing moves, as
    oneDAL's accuracyThreshold=0); d4p's batch mode if scikit-learn is missing."""
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        res = d4p.kmeans(K, iterations).compute(data, start)
        return res.centroids, res.assignments.ravel(), res.objectiveFunction[0, 0]
    km = KMeans(K, init=start, n_init=1, max_iter=iterations, tol=0.0, algorithm="lloyd")
    km.fit(data)
    return km.cluster_centers_, km.labels_, km.inertia_


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    data = make_data()
    bounds = np.linspace(0, len(data), size + 1).astype(int)
    mine = data[bounds[rank]:bounds[rank + 1]]  # this rank's rows

    init = d4p.kmeans_init(K, method="plusPlusDense", seed=42, distributed=True).compute(mine)
    result = d4p.kmeans(K, 100, assignFlag=True, distributed=True).compute(mine, init.centroids)

    # Check against all rows in one process.
    batch_init = d4p.kmeans_init(K, method="plusPlusDense", seed=42).compute(data).centroids
    centroids, labels, inertia = reference(data, init.centroids, 100)
    # Each rank checks its own rows' assignments (a failure on any rank fails the run).
    wrong = np.count_nonzero(result.assignments.ravel() != labels[bounds[rank]:bounds[rank + 1]])
    assert wrong == 0, f"rank {rank}: {wrong} rows assigned differently"

    if rank == 0:
        print(f"ranks: {size}, rows: {len(data)}, iterations: {result.nIterations[0, 0]}")
        print("initial centroids (k-means++):\n", np.round(init.centroids, 4))
        print("final centroids:\n", np.round(result.centroids, 4))
        print(f"objective: {result.objectiveFunction[0, 0]:.6f}")
        assert np.array_equal(init.centroids, batch_init), "init depends on the split"
        assert np.allclose(result.centroids, centroids, rtol=1e-10, atol=1e-10)
        assert np.isclose(result.objectiveFunction[0, 0], inertia, rtol=1e-10)
        print("OK: distributed k-means++ equals the one-process draw, and centroids, "
              "objective and this rank's assignments equal scikit-learn's")


if __name__ == "__main__":
    main()
