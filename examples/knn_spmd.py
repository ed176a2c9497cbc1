"""k-nearest-neighbour classification in SPMD mode: the training rows stay on
their ranks, each rank classifies its own queries against all ranks' rows.

Run it any of three ways:
    python examples/knn_spmd.py
    python -m d4p -n 4 examples/knn_spmd.py
    mpiexec -n 4 python examples/knn_spmd.py

Only the queries and k candidates per query cross the wire, never the training
rows; the neighbours (global row numbers) are the same for any number of ranks.
"""
import numpy as np

import d4p

N_CLASSES, K, N_TRAIN, N_TEST, P = 3, 7, 3000, 600, 4


def make_data(seed=11):
    """Three overlapping Gaussian classes (a real job would read its own part)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, N_TRAIN + N_TEST)
    centres = rng.normal(scale=2.0, size=(N_CLASSES, P))
    return centres[labels] + rng.normal(size=(labels.size, P)), labels


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    X, y = make_data()
    # This rank's training rows and its own queries (uneven on purpose).
    lo, hi = np.linspace(0, N_TRAIN, size + 1).astype(int)[rank:rank + 2]
    mine = np.array_split(np.arange(N_TRAIN, N_TRAIN + N_TEST), size)[size - 1 - rank]

    model = d4p.bf_knn_classification_training(nClasses=N_CLASSES, distributed=True).compute(
        X[lo:hi], y[lo:hi]).model
    res = d4p.bf_knn_classification_prediction(
        nClasses=N_CLASSES, k=K, voteWeights="voteDistance",
        resultsToCompute="computeIndicesOfNeighbors|computeDistances", distributed=True
    ).compute(X[mine], model)

    hits = (res.prediction[:, 0] == y[mine]).astype(float)
    accuracy = d4p.low_order_moments(distributed=True).compute(hits).mean[0, 0]
    try:
        from sklearn.neighbors import KNeighborsClassifier
    except ImportError:  # scikit-learn is optional: check against d4p's batch mode
        batch = d4p.bf_knn_classification_training(nClasses=N_CLASSES).compute(
            X[:N_TRAIN], y[:N_TRAIN]).model
        ref = d4p.bf_knn_classification_prediction(
            nClasses=N_CLASSES, k=K, voteWeights="voteDistance",
            resultsToCompute="computeIndicesOfNeighbors|computeDistances").compute(X[mine], batch)
        expected = ref.distances, ref.indices, ref.prediction[:, 0]
    else:
        sk = KNeighborsClassifier(K, algorithm="brute", weights="distance").fit(
            X[:N_TRAIN], y[:N_TRAIN])
        expected = (*sk.kneighbors(X[mine]), sk.predict(X[mine]))
    assert np.array_equal(res.indices, expected[1])
    assert np.allclose(res.distances, expected[0], rtol=1e-12, atol=0)
    assert np.array_equal(res.prediction[:, 0], expected[2])
    if rank == 0:
        print(f"ranks: {size}; rank 0 holds training rows {model.RowOffset}.."
              f"{model.RowOffset + model.data.shape[0] - 1} of {model.NumberOfRows}")
        print(f"accuracy on the test rows: {accuracy:.3f}")
        print("OK: neighbours, distances and labels equal scikit-learn's brute force on all rows")


if __name__ == "__main__":
    main()
