"""MultinomialNB trained on every rank's rows (string labels, some classes missing
on some ranks); each rank classifies its own rows; score over all ranks.

Run it any of three ways:
    python examples/spmd/naive_bayes_spmd.py
    python -m d4p -n 4 examples/spmd/naive_bayes_spmd.py
    mpiexec -n 2 python examples/spmd/naive_bayes_spmd.py
"""
import numpy as np
from sklearn import naive_bayes as sk

import d4p
from d4p.spmd.naive_bayes import MultinomialNB


def my_rows(n):
    bounds = np.linspace(0, n, d4p.num_procs() + 1).astype(int)
    return slice(bounds[d4p.my_procid()], bounds[d4p.my_procid() + 1])


def main():
    rng = np.random.default_rng(7)
    y = np.sort(rng.choice(["news", "sport", "weather"], 900))  # sorted: ranks differ
    rates = {"news": [5, 1, 1, 2], "sport": [1, 6, 2, 1], "weather": [1, 1, 5, 3]}
    X = np.array([rng.poisson(rates[label]) for label in y], dtype=float)
    rows = my_rows(len(X))

    nb = MultinomialNB(alpha=0.5).fit(X[rows], y[rows])       # collective
    accuracy = nb.score(X[rows], y[rows])                     # collective

    ref = sk.MultinomialNB(alpha=0.5).fit(X, y)
    assert list(nb.classes_) == list(ref.classes_)
    assert np.allclose(nb.feature_log_prob_, ref.feature_log_prob_, rtol=1e-12)
    if d4p.my_procid() == 0:
        print("classes:", nb.classes_, "accuracy:", accuracy)
        print(f"OK: naive Bayes on {len(X)} rows on {d4p.num_procs()} rank(s)")


if __name__ == "__main__":
    main()
