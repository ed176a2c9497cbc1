"""d4p.spmd estimators: fit time against scikit-learn and against the daal4py-face call
each one wraps, in one process and on 2 ranks.

    python benchmarks/bench_spmd.py [--n N --p P --repeat R --only NAME]
    mpiexec -n 2 python benchmarks/bench_spmd.py --mpi     # the 2-rank columns on MPI

Columns: scikit-learn (one process), the d4p.spmd estimator (one process), the
daal4py-face call it wraps (one process), the estimator on 2 ranks (simulated, or
MPI with --mpi) and the wrapped call on 2 ranks; then estimator / wrapped call
(the layer's overhead, target within 10%) and scikit-learn / estimator (speed-up).
Best of --repeat runs, alternating the contenders so that drift cancels.  These
are not tests; on a shared machine, report ranges from several runs.
"""
import argparse
import time

import numpy as np

import d4p

SETTLE_SECONDS = 0.3  # idle BLAS workers spin briefly after a call; let them sleep


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        time.sleep(SETTLE_SECONDS)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cases(n, p):
    """name -> (data, scikit-learn fit, d4p.spmd fit, wrapped daal4py-face call);
    each callable takes this rank's rows (X, y)."""
    from sklearn import cluster, covariance, decomposition, linear_model, naive_bayes
    from sklearn import preprocessing

    from d4p.spmd import basic_statistics as s_bs
    from d4p.spmd import cluster as s_cluster
    from d4p.spmd import covariance as s_cov
    from d4p.spmd import decomposition as s_dec
    from d4p.spmd import linear_model as s_lin
    from d4p.spmd import naive_bayes as s_nb
    from d4p.spmd import preprocessing as s_pre

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 0.1 * rng.standard_normal(n)
    counts = rng.poisson(2.0, (n, p)).astype(np.float64)
    classes = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    C0 = X[:8].copy()
    out = {
        "BasicStatistics": (
            (X, None), lambda X, y: (X.min(0), X.max(0), X.sum(0), X.mean(0), X.var(0)),
            lambda X, y: s_bs.BasicStatistics().fit(X),
            lambda X, y: d4p.low_order_moments(distributed=True).compute(X)),
        "EmpiricalCovariance": (
            (X, None), lambda X, y: covariance.EmpiricalCovariance().fit(X),
            lambda X, y: s_cov.EmpiricalCovariance().fit(X),
            lambda X, y: d4p.covariance(distributed=True).compute(X)),
        "StandardScaler": (
            (X, None), lambda X, y: preprocessing.StandardScaler().fit(X),
            lambda X, y: s_pre.StandardScaler().fit(X),
            lambda X, y: streamed_moments(X)),
        "LinearRegression": (
            (X, y), lambda X, y: linear_model.LinearRegression().fit(X, y),
            lambda X, y: s_lin.LinearRegression().fit(X, y),
            lambda X, y: d4p.linear_regression_training(
                method="qrDense", interceptFlag=True, distributed=True).compute(X, y[:, None])),
        "Ridge": (
            (X, y), lambda X, y: linear_model.Ridge(1.0).fit(X, y),
            lambda X, y: s_lin.Ridge(1.0).fit(X, y),
            lambda X, y: d4p.ridge_regression_training(
                interceptFlag=True, distributed=True).compute(X, y[:, None])),
        "PCA": (
            (X, None), lambda X, y: decomposition.PCA(5).fit(X),
            lambda X, y: s_dec.PCA(5).fit(X),
            lambda X, y: d4p.covariance(distributed=True).compute(X)),
        "KMeans": (
            (X, None), lambda X, y: cluster.KMeans(8, init=C0, n_init=1, max_iter=10).fit(X),
            lambda X, y: s_cluster.KMeans(8, init=C0, n_init=1, max_iter=10).fit(X),
            lambda X, y: d4p.kmeans(8, 10, distributed=True, assignFlag=True).compute(X, C0)),
        "MultinomialNB": (
            (counts, classes), lambda X, y: naive_bayes.MultinomialNB().fit(X, y),
            lambda X, y: s_nb.MultinomialNB().fit(X, y),
            lambda X, y: d4p.multinomial_naive_bayes_training(
                3, distributed=True).compute(X, y[:, None])),
    }
    if _has("logistic_regression_training"):
        labels = (y > 0).astype(np.int64)
        out["LogisticRegression"] = (
            (X, labels),
            lambda X, y: linear_model.LogisticRegression(solver="newton-cholesky",
                                                         tol=1e-10).fit(X, y),
            lambda X, y: s_lin.LogisticRegression().fit(X, y),
            lambda X, y: d4p.logistic_regression_training(
                2, interceptFlag=True, penaltyL2=0.5 / X.shape[0],
                distributed=True).compute(X, y[:, None].astype(float)))
    if _has("bf_knn_classification_training"):
        from sklearn import neighbors

        from d4p.spmd import neighbors as s_nn

        Q = X[:2000] + 0.01
        out["KNeighborsClassifier"] = (  # fit, then predict 2,000 queries (collective)
            (X, classes),
            lambda X, y: neighbors.KNeighborsClassifier(10, algorithm="brute").fit(X, y)
            .predict(Q),
            lambda X, y: s_nn.KNeighborsClassifier(10).fit(X, y).predict(
                Q[:2000 // d4p.num_procs()]),
            lambda X, y: knn_call(X, y, Q[:2000 // d4p.num_procs()]))
    if _has("dbscan"):
        from d4p.spmd import cluster as s_cl2

        D = X[:50_000, :3]
        out["DBSCAN"] = (
            (D, None), lambda X, y: cluster.DBSCAN(eps=0.3, min_samples=10).fit(X),
            lambda X, y: s_cl2.DBSCAN(eps=0.3, min_samples=10).fit(X),
            lambda X, y: d4p.dbscan(0.3, 10, distributed=True).compute(X))
    return out


def knn_call(X, y, Q):
    """What KNeighborsClassifier.fit + predict wrap."""
    model = d4p.bf_knn_classification_training(nClasses=3, distributed=True).compute(
        X, y[:, None].astype(float)).model
    return d4p.bf_knn_classification_prediction(
        nClasses=3, k=10, distributed=True).compute(Q, model).prediction


def streamed_moments(X):
    """What StandardScaler.fit wraps: one chunk into a streaming, distributed
    low_order_moments, then its finalize."""
    algo = d4p.low_order_moments(distributed=True, streaming=True)
    algo.compute(X)
    return algo.finalize()


def _has(name):
    try:
        return getattr(d4p, name) is not None
    except AttributeError:
        return False


def split(arrays, rank, size):
    X, y = arrays
    bounds = np.linspace(0, X.shape[0], size + 1).astype(int)
    s = slice(bounds[rank], bounds[rank + 1])
    return X[s], None if y is None else y[s]


def two_ranks(fn, arrays, repeat, mpi):
    if mpi:
        X, y = split(arrays, d4p.my_procid(), d4p.num_procs())
        return best(lambda: fn(X, y), repeat)
    parts = [split(arrays, r, 2) for r in range(2)]

    def body():
        X, y = parts[d4p.my_procid()]
        fn(X, y)

    return best(lambda: d4p.run_spmd(body, 2), repeat)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400_000)
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--mpi", action="store_true", help="under mpiexec -n 2: 2-rank columns only")
    args = ap.parse_args()
    table = cases(args.n, args.p)
    rank0 = d4p.my_procid() == 0
    if rank0:
        print(f"d4p.spmd fit times, {args.n} x {args.p}, best of {args.repeat} (seconds)")
        head = ("estimator", "sklearn", "spmd 1p", "wrapped 1p", "spmd 2r", "wrapped 2r",
                "spmd/wrapped", "sklearn/spmd")
        print("{:<20}".format(head[0]) + "".join(f"{h:>13}" for h in head[1:]))
    for name, (arrays, sk, est, wrapped) in table.items():
        if args.only and args.only not in name:
            continue
        X, y = arrays
        if args.mpi:
            t_est2 = two_ranks(est, arrays, args.repeat, True)
            t_wr2 = two_ranks(wrapped, arrays, args.repeat, True)
            if rank0:
                print(f"{name:<20}{'':>13}{'':>13}{'':>13}{t_est2:13.3f}{t_wr2:13.3f}"
                      f"{t_est2 / t_wr2:13.2f}")
            continue
        est(X[:200], None if y is None else y[:200])  # compile outside the timings
        wrapped(X[:200], None if y is None else y[:200])
        t_sk = best(lambda: sk(X, y), args.repeat)
        t_est = best(lambda: est(X, y), args.repeat)
        t_wr = best(lambda: wrapped(X, y), args.repeat)
        t_est2 = two_ranks(est, arrays, args.repeat, False)
        t_wr2 = two_ranks(wrapped, arrays, args.repeat, False)
        print(f"{name:<20}{t_sk:13.3f}{t_est:13.3f}{t_wr:13.3f}{t_est2:13.3f}{t_wr2:13.3f}"
              f"{t_est / t_wr:13.2f}{t_sk / t_est:13.2f}")


if __name__ == "__main__":
    main()
