"""DBSCAN: d4p (batch, memorySavingMode, 2 simulated ranks, mpiexec -n 2) vs scikit-learn's
DBSCAN (its default tree) vs daal4py (batch and mpiexec -n 2), side by side in one run.

    python benchmarks/bench_dbscan.py [--data blobs3 plane2] [--repeat 3] [--rows N]
                                      [--skip daal4py] [--only d4p sklearn]
    python benchmarks/bench_dbscan.py --picture docs/_static/dbscan_ranks.png

Data (the same in every process, from a seed):
  blobs3  200,000 x 3: ten Gaussian blobs plus 10% uniform noise; epsilon=0.3, minObservations=10
  plane2  1,000,000 x 2: twenty blobs plus 10% noise;            epsilon=0.05, minObservations=20

Every measurement is a fresh process (so peak RSS is that mode's own); the modes
run in turn in each round, so drift of a shared machine hits them alike.  Times
are compute() only, after one untimed call on 1,000 rows (Numba's cache, daal4py's
set-up).  Peak RSS includes the data (alone: "data only") and, for d4p, Numba and
its compiled kernels (alone: "d4p warm-up only").  The
labels of every mode are checked against scikit-learn's (or d4p batch's).
daal4py runs in the Python named by --daal4py-python (default
/work/venv-daal2024/bin/python) with the mpiexec beside it.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = {"blobs3": (200_000, 3, 10, 0.3, 10), "plane2": (1_000_000, 2, 20, 0.05, 20)}
MODES = ("data only", "d4p warm-up only", "d4p batch", "d4p memorySaving", "d4p 2 ranks",
         "d4p mpi 2", "sklearn", "daal4py batch", "daal4py mpi 2")


def make_data(name, seed=0, rows=None):
    n, p, centres, eps, m = DATA[name]
    rng = np.random.default_rng(seed)
    k = n - n // 10
    box = 20.0 if p == 3 else 10.0
    mid = rng.uniform(-box, box, (centres, p))
    X = mid[rng.integers(0, centres, k)] + rng.normal(size=(k, p)) * rng.uniform(0.3, 1.0, (k, 1))
    noise = rng.uniform(X.min(0), X.max(0), (n - k, p))
    X = np.vstack([X, noise])[rng.permutation(n)]
    return np.ascontiguousarray(X[:rows]), eps, m


# ---- one measurement, in its own process -------------------------------------------------


def worker(mode, name, out, rows):
    X, eps, m = make_data(name, rows=rows)
    rank, size = 0, 1
    if mode == "data only":
        labels, seconds = None, 0.0
    elif mode.startswith("d4p"):
        sys.path.insert(0, ROOT)
        import d4p

        rank, size = d4p.my_procid(), d4p.num_procs()
        lo, hi = rank * X.shape[0] // size, (rank + 1) * X.shape[0] // size
        saving = mode == "d4p memorySaving"

        def run(rows):
            return d4p.dbscan(eps, m, memorySavingMode=saving,
                              distributed=d4p.num_procs() > 1).compute(rows).assignments.ravel()

        if mode == "d4p warm-up only":  # the import, Numba and one small call: RSS baseline
            run(X[:1000])
            labels, seconds = None, 0.0
        elif mode == "d4p 2 ranks":
            d4p.run_spmd(lambda: run(X[:1000][d4p.my_procid()::2]), 2)
            start = time.perf_counter()
            parts = d4p.run_spmd(lambda: run(X[d4p.my_procid() * X.shape[0] // 2:
                                               (d4p.my_procid() + 1) * X.shape[0] // 2]), 2)
            seconds = time.perf_counter() - start
            labels = np.concatenate(parts)
        else:
            run(X[lo:lo + min(1000, hi - lo)])
            start = time.perf_counter()
            labels = run(X[lo:hi])
            seconds = time.perf_counter() - start
    elif mode == "sklearn":
        from sklearn.cluster import DBSCAN

        DBSCAN(eps=eps, min_samples=m).fit(X[:1000])
        start = time.perf_counter()
        labels = DBSCAN(eps=eps, min_samples=m).fit(X).labels_
        seconds = time.perf_counter() - start
    else:  # daal4py, batch or under its own mpiexec
        import daal4py

        distributed = mode == "daal4py mpi 2"
        if distributed:
            daal4py.daalinit()
            rank, size = daal4py.my_procid(), daal4py.num_procs()
        rows = X[rank * X.shape[0] // size:(rank + 1) * X.shape[0] // size]
        daal4py.dbscan(eps, m, distributed=distributed).compute(rows[:1000])
        start = time.perf_counter()
        labels = daal4py.dbscan(eps, m, distributed=distributed).compute(rows).assignments
        seconds = time.perf_counter() - start
        labels = np.asarray(labels).ravel().astype(np.int64)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record = {"seconds": seconds, "rss_mb": rss}
    if labels is not None:
        np.save(f"{out}.{rank}.npy", np.asarray(labels))
    if rank == 0:
        record["parts"] = size
        with open(out, "w") as fh:
            json.dump(record, fh)


def measure(mode, name, args):
    tag = mode.replace(" ", "_")
    out = os.path.join(tempfile.gettempdir(), f"bench_dbscan_{os.getpid()}_{tag}")
    cmd = [sys.executable, __file__, "--worker", mode, "--data", name, "--out", out]
    if args.rows:
        cmd += ["--rows", str(args.rows)]
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("D4P_COMM", None)
    if mode == "d4p mpi 2":
        cmd = [os.path.join(os.path.dirname(sys.executable), "mpiexec"), "-n", "2"] + cmd
    elif mode.startswith("daal4py"):
        cmd[0] = args.daal4py_python
        env.pop("PYTHONPATH")
        if mode == "daal4py mpi 2":
            cmd = [os.path.join(os.path.dirname(args.daal4py_python), "mpiexec"), "-n", "2"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    if proc.returncode != 0 or not os.path.exists(out):
        return {"error": (proc.stderr or proc.stdout)[-400:]}
    with open(out) as fh:
        record = json.load(fh)
    os.remove(out)
    parts = [f"{out}.{r}.npy" for r in range(record.pop("parts"))]
    if all(os.path.exists(p) for p in parts):
        record["labels"] = np.concatenate([np.load(p) for p in parts])
        for p in parts:
            os.remove(p)
    return record


def same_partition(a, b):
    """True when two labellings have the same noise and group the points alike."""
    if a.shape != b.shape or not np.array_equal(a < 0, b < 0):
        return False
    pairs = np.unique(np.stack([a[a >= 0], b[b >= 0]]), axis=1)
    return np.unique(pairs[0]).size == pairs.shape[1] == np.unique(pairs[1]).size


def bench(name, args):
    modes = [mo for mo in MODES if not any(s in mo for s in args.skip)
             and (not args.only or any(s in mo for s in args.only))]
    results = {mo: [] for mo in modes}
    for _ in range(args.repeat):
        for mo in modes:
            results[mo].append(measure(mo, name, args))
    n, p, _, eps, m = DATA[name]
    n = min(n, args.rows or n)
    print(f"\n{name}: {n:,} x {p}, epsilon={eps}, minObservations={m}, best and range of "
          f"{args.repeat} runs (a shared, loaded machine: compare within one run only)")
    ref = next((r["labels"] for mo in ("sklearn", "d4p batch") for r in results.get(mo, [])
                if "labels" in r), None)
    print(f"{'mode':18} {'seconds':>8} {'range':>17} {'peak RSS MB':>12}  labels")
    for mo in modes:
        ok = [r for r in results[mo] if "error" not in r]
        if not ok:
            print(f"{mo:18} failed: {results[mo][0]['error'].strip().splitlines()[-1:]}")
            continue
        t = [r["seconds"] for r in ok]
        rss = max(r["rss_mb"] for r in ok)
        lab = ok[0].get("labels")
        if lab is None or ref is None:
            verdict = ""
        elif np.array_equal(lab, ref):
            verdict = f"identical ({lab.max() + 1} clusters)"
        else:
            verdict = ("same clusters, numbered differently" if same_partition(lab, ref)
                       else f"{np.count_nonzero(lab != ref)} differ")
        span = f"{min(t):.2f}-{max(t):.2f}" if "only" not in mo else ""
        print(f"{mo:18} {min(t):8.2f} {span:>17} {rss:12.0f}  {verdict}")


# ---- the docs picture --------------------------------------------------------------------


def picture(path):
    """Clusters found by 4 simulated ranks on a 2-D set, and which rank held each row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sys.path.insert(0, ROOT)
    import d4p
    from sklearn.datasets import make_moons

    rng = np.random.default_rng(3)
    moons = make_moons(1500, noise=0.07, random_state=3)[0]
    blob = rng.normal([2.6, 1.4], 0.18, (500, 2))
    X = np.vstack([moons, blob, rng.uniform([-1.3, -0.8], [3.3, 2.1], (200, 2))])
    X = X[rng.permutation(X.shape[0])]
    eps, m, size = 0.12, 8, 4

    def body():
        r = d4p.my_procid()
        lo, hi = r * X.shape[0] // size, (r + 1) * X.shape[0] // size
        algo = d4p.dbscan(eps, m, distributed=True)
        return algo.compute(X[lo:hi]).assignments.ravel(), algo._exchanged["split"]

    out = d4p.run_spmd(body, size)
    labels = np.concatenate([lab for lab, _ in out])
    k, cuts = out[0][1]
    batch = d4p.dbscan(eps, m).compute(X).assignments.ravel()
    assert np.array_equal(labels, batch)
    rank = np.repeat(np.arange(size), np.diff([r * X.shape[0] // size for r in range(size + 1)]))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
    for r, marker in zip(range(size), "os^D"):
        at = rank == r
        axes[0].scatter(X[at, 0], X[at, 1], s=5, marker=marker, label=f"rank {r}")
    axes[0].set_title(f"{X.shape[0]} rows on {size} ranks, random order", fontsize=10)
    axes[0].legend(markerscale=2, fontsize=8)
    slab = np.searchsorted(cuts, X[:, k], side="right")
    for r, marker in zip(range(size), "os^D"):
        at = slab == r
        axes[1].scatter(X[at, 0], X[at, 1], s=5, marker=marker, label=f"slab of rank {r}")
    span = axes[1].axvspan if k == 0 else axes[1].axhspan
    for c in cuts:
        span(c - eps, c + eps, color="grey", alpha=0.25, lw=0)
    axes[1].set_title("slabs cut at global quantiles; halos in grey", fontsize=10)
    axes[1].legend(markerscale=2, fontsize=8)
    noise = labels < 0
    axes[2].scatter(X[noise, 0], X[noise, 1], s=4, c="lightgrey", label="noise (-1)")
    for c in range(labels.max() + 1):
        at = labels == c
        axes[2].scatter(X[at, 0], X[at, 1], s=5, label=f"cluster {c}")
    axes[2].set_title(f"labels (epsilon={eps}, minObservations={m}): as batch", fontsize=10)
    axes[2].legend(markerscale=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"wrote {path}: {labels.max() + 1} clusters, labels equal batch")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=list(DATA), choices=list(DATA))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="skip modes containing these words")
    parser.add_argument("--only", nargs="*", default=[], help="run only modes containing these")
    parser.add_argument("--rows", type=int, help="the first ROWS rows of the data only")
    parser.add_argument("--daal4py-python", default=os.environ.get(
        "D4P_DAAL4PY_PYTHON", "/work/venv-daal2024/bin/python"))
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--picture")
    parser.add_argument("--worker")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data[0], args.out, args.rows)
    elif args.picture:
        picture(args.picture)
    else:
        for name in args.data:
            bench(name, args)


if __name__ == "__main__":
    main()
