"""kmeans_init (k-means++, k-means‖) and 50 Lloyd iterations, 10 clusters:
d4p vs scikit-learn vs daal4py on 2,000,000 x 50 float64.

    python benchmarks/bench_kmeans.py [--n N --p P --repeat R --only NAME]
    mpiexec -n 2 python benchmarks/bench_kmeans.py --mpi

Target (issue 5): real daal4py on this machine takes 0.325 s for k-means++,
0.575 s for k-means‖ and 4.54 s for 50 Lloyd iterations (22 GF/s; scikit-learn
6.6 s) on 2,000,000 x 50.
"""
import d4p
from harness import Case, main, parse_args
from inputs import kmeans_start, make_data

K = 10
ITERATIONS = 50


def cases(X):
    C0 = kmeans_start(X, K)

    def sklearn_lloyd(X_):
        from sklearn.cluster import KMeans

        return KMeans(K, init=C0, n_init=1, max_iter=ITERATIONS, tol=0.0,
                      algorithm="lloyd").fit(X_)

    def sklearn_plusplus(X_):
        from sklearn.cluster import kmeans_plusplus

        return kmeans_plusplus(X_, K, n_local_trials=1, random_state=0)

    return [
        Case("kmeans_init plusPlusDense",
             d4p=lambda X_, dist: d4p.kmeans_init(K, method="plusPlusDense",
                                                  distributed=dist).compute(X_),
             reference=sklearn_plusplus, reference_name="sklearn", daal4py="kmeans_plusplus"),
        Case("kmeans_init parallelPlus",
             d4p=lambda X_, dist: d4p.kmeans_init(K, method="parallelPlusDense",
                                                  distributed=dist).compute(X_),
             daal4py="kmeans_parallelplus"),
        Case(f"kmeans {ITERATIONS} iterations",
             d4p=lambda X_, dist: d4p.kmeans(K, ITERATIONS, accuracyThreshold=0.0,
                                             distributed=dist).compute(X_, C0),
             reference=sklearn_lloyd, reference_name="sklearn", daal4py="kmeans_lloyd",
             flops=lambda n, p: ITERATIONS * 2.0 * n * p * K),
    ]


if __name__ == "__main__":
    args = parse_args()
    X = make_data(args.n, args.p, args.seed)
    main(cases(X), X=X, args=args)
