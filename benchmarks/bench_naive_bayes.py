"""Multinomial naive Bayes: d4p vs scikit-learn on 2,000,000 x 50 float64 Poisson
counts with 20 classes.

    python benchmarks/bench_naive_bayes.py [--n N --p P --repeat R]
    mpiexec -n 2 python benchmarks/bench_naive_bayes.py --mpi

daal4py 2026 dropped this algorithm, so there is no daal4py column.  Target
(issue 6): real daal4py 2024.7 trained in 0.066 s (12 GB/s) on this machine;
scikit-learn takes 0.65-1.6 s.  A CSR case (1% dense, 10,000 columns, n / 10
rows) follows the dense cases.
"""
import numpy as np

import d4p
from harness import Case, best_time, main, parse_args
from inputs import N_CLASSES, make_counts


def rows_of(X_local, X, labels):
    """The labels of ``X_local``, a contiguous row block (a view) of ``X``."""
    start = (X_local.__array_interface__["data"][0] - X.__array_interface__["data"][0])
    start //= X.strides[0]
    return labels[start:start + X_local.shape[0]]


def cases(X, labels):
    from sklearn.naive_bayes import MultinomialNB

    model = d4p.multinomial_naive_bayes_training(N_CLASSES).compute(X[:100_000],
                                                                     labels[:100_000]).model
    sk = MultinomialNB(fit_prior=False).fit(X[:100_000], labels[:100_000])
    return [
        Case("nb_training",
             d4p=lambda X_, dist: d4p.multinomial_naive_bayes_training(
                 N_CLASSES, distributed=dist).compute(X_, rows_of(X_, X, labels)),
             reference=lambda X_: MultinomialNB(fit_prior=False).fit(X_, labels),
             reference_name="sklearn"),
        Case("nb_training weighted",
             d4p=lambda X_, dist: d4p.multinomial_naive_bayes_training(
                 N_CLASSES, distributed=dist).compute(X_, rows_of(X_, X, labels),
                                                      np.ones(X_.shape[0])),
             reference=lambda X_: MultinomialNB(fit_prior=False).fit(
                 X_, labels, sample_weight=np.ones(X_.shape[0])),
             reference_name="sklearn"),
        Case("nb_prediction",
             d4p=lambda X_, dist: d4p.multinomial_naive_bayes_prediction(
                 N_CLASSES).compute(X_, model),
             reference=lambda X_: sk.predict(X_), reference_name="sklearn",
             flops=lambda n, p: 2 * n * p * N_CLASSES),
    ]


def csr_case(n, repeat):
    import scipy.sparse as sp
    from sklearn.naive_bayes import MultinomialNB

    n = max(n // 10, 1000)
    p = 10_000
    rng = np.random.default_rng(1)
    X = sp.random(n, p, density=0.01, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.integers(1, 5, k).astype(np.float64))
    y = rng.integers(0, N_CLASSES, n).astype(np.float64)
    algo = d4p.multinomial_naive_bayes_training(N_CLASSES, method="fastCSR")
    algo.compute(X[:1000], y[:1000])
    gb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 1e9
    print(f"# CSR {n} x {p}, {X.nnz} non-zeros ({gb:.3f} GB)")
    for name, fn in (("d4p", lambda: algo.compute(X, y)),
                     ("sklearn", lambda: MultinomialNB(fit_prior=False).fit(X, y))):
        secs = best_time(fn, repeat)
        print(f"{'nb_training csr':28s} {name:10s} {'batch':8s} {secs:9.4f} {gb / secs:7.2f}")


if __name__ == "__main__":
    args = parse_args()
    X, labels = make_counts(args.n, args.p)
    main(cases(X, labels), X=X, args=args)
    if not args.mpi:
        csr_case(args.n, args.repeat)
