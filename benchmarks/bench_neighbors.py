"""Brute-force kNN classification: d4p vs scikit-learn brute force vs daal4py.

    python benchmarks/bench_neighbors.py [--n 200000 --m 20000 --p 20 --k 10 --repeat 3]
    python benchmarks/bench_neighbors.py --metric manhattan --m 2000   # other metrics
    mpiexec -n 2 python benchmarks/bench_neighbors.py --mpi

Times one prediction (neighbours' indices and distances plus the voted labels) of
``m`` queries against ``n`` training rows of ``p`` Gaussian features:

- d4p batch (one process, all cores) and d4p on 2 simulated ranks (training rows
  and queries split in two; queries travel, k candidates per query come back);
  with ``--mpi`` under ``mpiexec -n 2``, d4p on 2 MPI ranks;
- scikit-learn ``KNeighborsClassifier(algorithm='brute')``: ``kneighbors`` (indices
  and distances) and ``predict`` (its own pass);
- daal4py's batch ``bf_knn_classification`` (training + prediction) in the Python
  named by ``--daal4py-python`` (default ``/work/venv-daal2024/bin/python`` if it
  exists), on the same data read from a temporary .npy file (Euclidean only:
  daal4py has no other metric).

``--metric`` (and ``--minkowski-p``) choose scikit-learn's metric for d4p and
scikit-learn alike.

Runs alternate between the implementations, each preceded by a short pause; the
report gives the best and the worst of ``--repeat`` runs, because the machine
may be shared.  It also checks that the three answers agree.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import d4p
from d4p._engine import current_comm

DAAL4PY_PYTHON = "/work/venv-daal2024/bin/python"
N_CLASSES = 5
SETTLE = 0.3

_DAAL4PY_SCRIPT = r"""
import sys, time, numpy as np, daal4py as d
X = np.load(sys.argv[1]); y = np.load(sys.argv[2]); Q = np.load(sys.argv[3])
k, nc, repeat = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
def run():
    model = d.bf_knn_classification_training(nClasses=nc, k=k).compute(X, y).model
    return d.bf_knn_classification_prediction(
        nClasses=nc, k=k, resultsToCompute='computeIndicesOfNeighbors|computeDistances'
    ).compute(Q, model)
run()
for _ in range(repeat):
    time.sleep(%r)
    t = time.perf_counter(); res = run(); print(time.perf_counter() - t, flush=True)
np.save(sys.argv[7], res.indices)
""" % SETTLE


def make_data(n, m, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = rng.integers(0, N_CLASSES, n)
    Q = rng.normal(size=(m, p))
    return X, y, Q


METRIC = {"metric": "euclidean", "p": 2}


def d4p_predict(X, y, Q, k, distributed):
    model = d4p.bf_knn_classification_training(nClasses=N_CLASSES, distributed=distributed
                                               ).compute(X, y).model
    return d4p.bf_knn_classification_prediction(
        nClasses=N_CLASSES, k=k, resultsToCompute="computeIndicesOfNeighbors|computeDistances",
        distributed=distributed, **METRIC).compute(Q, model)


def halves(A, rank, size):
    lo, hi = np.linspace(0, A.shape[0], size + 1).astype(int)[rank:rank + 2]
    return A[lo:hi]


def timed(fn):
    time.sleep(SETTLE)
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_mpi(args):
    X, y, Q = make_data(args.n, args.m, args.p)
    rank, size = d4p.my_procid(), d4p.num_procs()
    parts = [halves(A, rank, size) for A in (X, y, Q)]
    d4p_predict(*(a[:2000] for a in parts), args.k, True)  # compile / warm
    times = []
    for _ in range(args.repeat):
        secs, _ = timed(lambda: d4p_predict(*parts, args.k, True))
        times.append(max(current_comm().allgather(secs)))
    if rank == 0:
        print(f"d4p mpi {size}: best {min(times):.2f} s, worst {max(times):.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--m", type=int, default=20_000)
    parser.add_argument("--p", type=int, default=20)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mpi", action="store_true")
    parser.add_argument("--metric", default="euclidean")
    parser.add_argument("--minkowski-p", type=float, default=2)
    parser.add_argument("--daal4py-python", default=os.environ.get("D4P_DAAL4PY_PYTHON",
                                                                   DAAL4PY_PYTHON))
    args = parser.parse_args()
    METRIC.update(metric=args.metric, p=args.minkowski_p)
    if args.mpi:
        return run_mpi(args)
    from sklearn.neighbors import KNeighborsClassifier

    X, y, Q = make_data(args.n, args.m, args.p)
    print(f"# {args.n} training x {args.m} queries x {args.p} features, k = {args.k}, "
          f"metric {args.metric}" + (f" p = {args.minkowski_p}" if args.metric == "minkowski"
                                     else ""))
    d4p_predict(X[:2000], y[:2000], Q[:200], args.k, False)  # compile / warm the cache
    sk = KNeighborsClassifier(args.k, algorithm="brute", **METRIC).fit(X, y)

    def two_ranks():
        out = [None, None]

        def body():
            r = d4p.my_procid()
            out[r] = d4p_predict(halves(X, r, 2), halves(y, r, 2), halves(Q, r, 2), args.k,
                                 True)

        d4p.run_spmd(body, 2)
        return out

    two_ranks()
    runs = {"d4p batch": lambda: d4p_predict(X, y, Q, args.k, False),
            "d4p 2 simulated ranks": two_ranks,
            "sklearn kneighbors": lambda: sk.kneighbors(Q),
            "sklearn predict": lambda: sk.predict(Q)}
    times = {name: [] for name in runs}
    results = {}
    for _ in range(args.repeat):
        for name, fn in runs.items():
            secs, results[name] = timed(fn)
            times[name].append(secs)
            print(f"# {name}: {secs:.2f} s", flush=True)

    daal_idx = None
    if args.metric == "euclidean" and args.daal4py_python and os.path.exists(
            args.daal4py_python):
        with tempfile.TemporaryDirectory() as tmp:
            paths = [os.path.join(tmp, f"{name}.npy") for name in ("X", "y", "Q", "idx")]
            for path, A in zip(paths, (X, y.reshape(-1, 1).astype(np.float64), Q)):
                np.save(path, A)
            proc = subprocess.run([args.daal4py_python, "-c", _DAAL4PY_SCRIPT, *paths[:3],
                                   str(args.k), str(N_CLASSES), str(args.repeat), paths[3]],
                                  capture_output=True, text=True, timeout=3600)
            if proc.returncode == 0:
                times["daal4py bf_knn batch"] = [float(t) for t in proc.stdout.split()]
                daal_idx = np.load(paths[3])
            else:
                print(f"# daal4py failed: {proc.stderr[-500:]}")

    for name, ts in times.items():
        print(f"{name:24s} best {min(ts):7.2f} s   worst {max(ts):7.2f} s")
    mine = results["d4p batch"]
    two = results["d4p 2 simulated ranks"]
    dist, idx = results["sklearn kneighbors"]
    print("# d4p batch == 2 ranks:", np.array_equal(mine.indices, np.vstack([r.indices
                                                                             for r in two])))
    print("# d4p indices == sklearn:", np.array_equal(mine.indices, idx),
          "max |distance difference|:", float(np.abs(mine.distances - dist).max()))
    print("# d4p labels == sklearn:", np.array_equal(mine.prediction[:, 0],
                                                     results["sklearn predict"]))
    if daal_idx is not None:
        print("# d4p indices == daal4py:", np.array_equal(mine.indices, daal_idx),
              f"({int((mine.indices != daal_idx).any(axis=1).sum())} rows differ)")


if __name__ == "__main__":
    sys.exit(main())
