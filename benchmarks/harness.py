"""Shared timing harness for the benchmark scripts (these are not tests).

Each ``bench_<algo>.py`` describes its cases with :class:`Case` and calls
:func:`main`.  Modes timed for d4p: ``batch`` (one process, all cores),
``2 ranks`` (two simulated ranks, one core each) and, with ``--mpi`` under
``mpiexec -n 2``, ``mpi 2``.  The reference (numpy or scikit-learn) and real
daal4py (when importable) are timed in the same run, alternating with d4p so that
drift of the machine cancels.  Reports seconds (best of ``--repeat``), GB/s of
input read, GF/s where the case knows its flop count, peak RSS, and d4p/daal4py.
"""
import argparse
import resource
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass
class Case:
    name: str
    d4p: Callable  # (X_local, distributed) -> anything; runs one compute
    reference: Optional[Callable] = None  # (X) -> anything (numpy / scikit-learn)
    daal4py: Optional[Callable] = None  # (daal4py module, X) -> anything, batch
    daal4py_dist: Optional[Callable] = None  # (daal4py module, X_local) -> anything, SPMD
    flops: Optional[Callable] = None  # (n, p) -> flop count
    reference_name: str = "numpy"


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_args(default_n=2_000_000, default_p=50):
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=default_n)
    parser.add_argument("--p", type=int, default=default_p)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mpi", action="store_true", help="time d4p under the MPI launcher")
    parser.add_argument("--only", default="", help="run cases whose name contains this")
    return parser.parse_args()


def make_data(n, p, seed=0):
    return np.random.default_rng(seed).normal(size=(n, p)) * np.linspace(1, 3, p) + 1.0


def _daal4py():
    try:
        import daal4py
        return daal4py
    except ImportError:
        return None


def main(cases, X=None, args=None):
    import d4p

    args = args or parse_args()
    X = make_data(args.n, args.p) if X is None else X
    n, p = X.shape
    gb = X.nbytes / 1e9
    daal = _daal4py()
    if args.mpi:
        return _main_mpi(cases, X, args, d4p, daal)
    print(f"# {n} x {p} float64 ({gb:.2f} GB); daal4py: {'yes' if daal else 'not installed'}")
    print(f"{'case':28s} {'impl':10s} {'mode':8s} {'seconds':>9s} {'GB/s':>7s} {'GF/s':>7s} "
          f"{'vs daal4py':>10s}")
    for case in cases:
        if args.only not in case.name:
            continue
        case.d4p(X[:1000], False)  # compile outside the timing
        halves = np.array_split(X, 2)
        runs = {
            ("d4p", "batch"): lambda: case.d4p(X, False),
            ("d4p", "2 ranks"): lambda: d4p.run_spmd(
                lambda: case.d4p(halves[d4p.my_procid()], True), 2),
        }
        if case.reference:
            runs[(case.reference_name, "batch")] = lambda: case.reference(X)
        if daal and case.daal4py:
            case.daal4py(daal, X[:1000])
            runs[("daal4py", "batch")] = lambda: case.daal4py(daal, X)
        best = {key: np.inf for key in runs}
        for _ in range(args.repeat):  # alternate implementations so drift cancels
            for key, fn in runs.items():
                best[key] = min(best[key], best_time(fn, 1))
        base = best.get(("daal4py", "batch"))
        for (impl, mode), secs in best.items():
            gf = case.flops(n, p) / secs / 1e9 if case.flops else float("nan")
            ratio = f"{secs / base:10.2f}" if base and impl == "d4p" else f"{'':10s}"
            print(f"{case.name:28s} {impl:10s} {mode:8s} {secs:9.4f} {gb / secs:7.2f} "
                  f"{gf:7.2f} {ratio}")
    print(f"# peak RSS {peak_rss_mb():.0f} MB (input {X.nbytes / 2**20:.0f} MB)")


def _main_mpi(cases, X, args, d4p, daal):
    size, rank = d4p.num_procs(), d4p.my_procid()
    local = np.array_split(X, size)[rank]
    for case in cases:
        if args.only not in case.name:
            continue
        case.d4p(local[:1000], True)
        secs = best_time(lambda: case.d4p(local, True), args.repeat)
        secs = d4p._engine.current_comm().allreduce(np.array([secs]), "max")[0]
        if rank == 0:
            print(f"{case.name:28s} {'d4p':10s} {'mpi ' + str(size):8s} {secs:9.4f} "
                  f"{X.nbytes / 1e9 / secs:7.2f}")
