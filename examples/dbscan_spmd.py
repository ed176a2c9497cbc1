"""DBSCAN in SPMD mode, as daal4py's examples/dbscan_spmd.py: epsilon=0.04,
minObservations=45, each rank taking ``n // nprocs`` rows of dbscan_dense.csv.

Run it any of three ways:
    python examples/dbscan_spmd.py              # one process
    python -m d4p -n 4 examples/dbscan_spmd.py  # 4 simulated ranks
    mpiexec -n 4 python examples/dbscan_spmd.py # 4 MPI ranks

Every rank gets the labels of its own rows, and they are exactly the labels of
the batch computation on all the rows used (scikit-learn's, when it is installed):
the same clusters, numbered the same way, and the same noise.
"""
import os

import numpy as np

import d4p

HERE = os.path.dirname(os.path.abspath(__file__))
INFILE = os.path.join(HERE, "data", "dbscan_dense.csv")  # 2,000 x 2: four blobs and noise


def main(method="defaultDense"):
    epsilon = 0.04
    minObservations = 45

    # Load the data: this rank's n // nprocs rows (the last n % nprocs rows are unused)
    data = np.loadtxt(INFILE, delimiter=",")
    rpp = int(data.shape[0] / d4p.num_procs())
    data = data[rpp * d4p.my_procid(): rpp * d4p.my_procid() + rpp, :]

    # configure dbscan main object
    algo = d4p.dbscan(minObservations=minObservations, epsilon=epsilon, method=method,
                      distributed=True)
    # and compute
    result = algo.compute(data)
    return result, rpp, epsilon, minObservations


def reference(rows, epsilon, minObservations):
    """All rows used, in one process: scikit-learn's labels, or d4p's batch ones."""
    try:
        from sklearn.cluster import DBSCAN
    except ImportError:
        return d4p.dbscan(epsilon, minObservations).compute(rows).assignments.ravel()
    return DBSCAN(eps=epsilon, min_samples=minObservations).fit(rows).labels_


if __name__ == "__main__":
    # Initialize SPMD mode
    d4p.daalinit()
    result, rpp, epsilon, minObservations = main()
    print("\nResults on node with id = ", d4p.my_procid(), " :\n",
          "\nFirst 10 cluster assignments:\n", result.assignments[0:10],
          "\nNumber of clusters:\n", result.nClusters)

    rank, size = d4p.my_procid(), d4p.num_procs()
    used = np.loadtxt(INFILE, delimiter=",")[:rpp * size]
    expected = reference(used, epsilon, minObservations)
    # Each rank checks its own rows' labels (a failure on any rank fails the run).
    wrong = np.count_nonzero(result.assignments.ravel() != expected[rpp * rank: rpp * (rank + 1)])
    assert wrong == 0, f"rank {rank}: {wrong} rows labelled differently from batch"
    assert result.nClusters[0, 0] == expected.max() + 1
    if rank == 0:
        print(f"OK: {size} rank(s), {rpp * size} rows, {result.nClusters[0, 0]} clusters; every "
              "rank's labels equal the batch labels of all rows")
    d4p.daalfini()
