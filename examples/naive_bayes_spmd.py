"""Multinomial naive Bayes in SPMD mode: each rank trains on its own rows (here a
sparse word-count matrix), every rank gets the same model, each rank predicts its
own rows.

Run it any of three ways:
    python examples/naive_bayes_spmd.py
    python -m d4p -n 4 examples/naive_bayes_spmd.py
    mpiexec -n 4 python examples/naive_bayes_spmd.py
"""
import numpy as np
import scipy.sparse as sp

import d4p

N_CLASSES, N_WORDS, N_DOCS = 5, 200, 4000


def documents(seed=7):
    """Word counts of synthetic documents: each class prefers its own words."""
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(N_WORDS, 2.0), size=N_CLASSES)
    labels = rng.integers(0, N_CLASSES, N_DOCS)
    lengths = rng.integers(5, 40, N_DOCS)
    counts = np.array([rng.multinomial(m, topics[c]) for m, c in zip(lengths, labels)])
    return sp.csr_matrix(counts.astype(np.float64)), labels


def main():
    rank, size = d4p.my_procid(), d4p.num_procs()
    X, y = documents()
    train, test = slice(0, 3000), slice(3000, N_DOCS)
    # This rank's share of the training rows (a real job would read its own file).
    lo, hi = np.linspace(0, 3000, size + 1).astype(int)[rank:rank + 2]

    training = d4p.multinomial_naive_bayes_training(N_CLASSES, method="fastCSR", distributed=True)
    model = training.compute(X[lo:hi], y[lo:hi]).model

    # Prediction needs no communication: each rank classifies its own test rows.
    mine = np.array_split(np.arange(test.start, test.stop), size)[rank]
    pred = d4p.multinomial_naive_bayes_prediction(
        N_CLASSES, resultsToEvaluate="computeClassLabels|computeClassProbabilities"
    ).compute(X[mine], model)
    hits = (pred.prediction[:, 0] == y[mine]).astype(float)
    accuracy = d4p.low_order_moments(distributed=True).compute(hits).mean[0, 0]

    if rank == 0:
        from sklearn.naive_bayes import MultinomialNB

        sk = MultinomialNB(fit_prior=False).fit(X[train], y[train])
        print(f"ranks: {size}")
        print(f"accuracy on the test rows: {accuracy:.3f}")
        assert np.allclose(model.LogTheta, sk.feature_log_prob_, rtol=0, atol=1e-12)
        assert np.allclose(pred.probabilities, sk.predict_proba(X[mine]), rtol=0, atol=1e-12)
        assert np.array_equal(pred.prediction[:, 0], sk.predict(X[mine]))
        print("OK: distributed model equals scikit-learn's MultinomialNB on all rows")


if __name__ == "__main__":
    main()
