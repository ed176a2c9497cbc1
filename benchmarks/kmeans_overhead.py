"""``d4p.spmd.KMeans.fit`` against the ``d4p.kmeans`` call it wraps, side by side.

    python benchmarks/kmeans_overhead.py [--n 200000 --p 20 --k 8 --iters 10 --repeat 7]

Alternates the two contenders (drift on a shared machine cancels) and prints, for
each, the range of wall seconds and of process CPU seconds over the repeats, and
the ratio of the medians (target: within 10%).  Cases: centres given (``init``
array), with and without ``sample_weight``.  Not a test; on a loaded machine,
report ranges from several runs.
"""
import argparse
import statistics
import time

import numpy as np

import d4p
from d4p.spmd.cluster import KMeans


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=7)
    opts = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((opts.n, opts.p))
    w = rng.integers(1, 4, opts.n).astype(np.float64)
    C0 = X[:opts.k].copy()
    k, it = opts.k, opts.iters
    cases = {
        "init array": (
            lambda: KMeans(k, init=C0, n_init=1, max_iter=it).fit(X),
            lambda: d4p.kmeans(k, it, assignFlag=True, distributed=True).compute(X, C0)),
        "init array, sample_weight": (
            lambda: KMeans(k, init=C0, n_init=1, max_iter=it).fit(X, sample_weight=w),
            lambda: d4p.kmeans(k, it, assignFlag=True, distributed=True).compute(
                X, C0, weights=w)),
    }
    for name, (est, wrapped) in cases.items():
        est(), wrapped()  # compile and warm up
        runs = {"KMeans.fit": [], "d4p.kmeans": []}
        for _ in range(opts.repeat):
            runs["KMeans.fit"].append(timed(est))
            runs["d4p.kmeans"].append(timed(wrapped))
        print(f"{name} ({opts.n} x {opts.p}, k={k}, {it} iterations):")
        for who, r in runs.items():
            wall, cpu = [x[0] for x in r], [x[1] for x in r]
            print(f"  {who:11s} wall {min(wall):.3f}-{max(wall):.3f} s (median "
                  f"{statistics.median(wall):.3f}), CPU {min(cpu):.3f}-{max(cpu):.3f} s "
                  f"(median {statistics.median(cpu):.3f})")
        med = {who: (statistics.median(x[0] for x in r), statistics.median(x[1] for x in r))
               for who, r in runs.items()}
        print(f"  KMeans.fit / d4p.kmeans: wall {med['KMeans.fit'][0] / med['d4p.kmeans'][0]:.2f}, "
              f"CPU {med['KMeans.fit'][1] / med['d4p.kmeans'][1]:.2f}")


if __name__ == "__main__":
    main()
