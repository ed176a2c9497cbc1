"""Shared timing harness for the benchmark scripts (these are not tests).

Each ``bench_<algo>.py`` describes its cases with :class:`Case` and calls
:func:`main`.  Modes timed for d4p: ``batch`` (one process, all cores),
``2 ranks`` (two simulated ranks, one core each) and, with ``--mpi`` under
``mpiexec -n 2``, ``mpi 2``.  The reference (numpy or scikit-learn) and real
daal4py are timed in the same run, alternating with d4p so that drift of the
machine cancels.  daal4py runs in a worker process started with the Python named
by ``--daal4py-python`` or ``D4P_DAAL4PY_PYTHON`` (a separate environment with
scikit-learn-intelex), or in this process if daal4py is importable here.
Reports seconds (best of ``--repeat``), GB/s of input read, GF/s where the case
knows its flop count, peak RSS of the d4p process, and the d4p/daal4py ratio.
"""
import argparse
import os
import resource
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass
class Case:
    name: str
    d4p: Callable  # (X_local, distributed) -> anything; runs one compute
    reference: Optional[Callable] = None  # (X) -> anything (numpy / scikit-learn)
    daal4py: Optional[str] = None  # name of the case in daal4py_cases.CASES
    flops: Optional[Callable] = None  # (n, p) -> flop count
    reference_name: str = "numpy"


#: Pause before each timed run.  OpenBLAS's (and TBB's) idle workers spin for up to
#: about 0.1 s after a call before they sleep; without a pause the run that follows
#: a multi-threaded one shares its cores with them (two simulated ranks measured
#: 0.047 s right after a batch call and 0.035 s after a pause).
SETTLE_SECONDS = 0.3


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        time.sleep(SETTLE_SECONDS)
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def extra_memory_mb(fn):
    """Peak resident memory above the level before ``fn()``, sampled every 0.5 ms.

    tracemalloc would miss Numba's allocations, so the process's RSS is sampled
    instead (Linux /proc); it measures what a user would see.
    """
    import threading

    base = _rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.0005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
    peak[0] = max(peak[0], _rss_bytes())
    return (peak[0] - base) / 2**20


def parse_args(default_n=2_000_000, default_p=50):
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=default_n)
    parser.add_argument("--p", type=int, default=default_p)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mpi", action="store_true", help="time d4p under the MPI launcher")
    parser.add_argument("--only", default="", help="run cases whose name contains this")
    parser.add_argument("--daal4py-python", default=os.environ.get("D4P_DAAL4PY_PYTHON"),
                        help="a Python with daal4py, for the side-by-side timings")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


class Daal4pyWorker:
    """Times daal4py cases in another Python (see daal4py_worker.py)."""

    def __init__(self, python, n, p, seed):
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen([python, os.path.join(here, "daal4py_worker.py"),
                                      str(n), str(p), str(seed)], cwd=here, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the daal4py worker ({python}) did not start")

    def time(self, case):
        self.proc.stdin.write(case + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class InProcessDaal4py:
    def __init__(self, daal, X):
        from daal4py_cases import CASES
        self.daal, self.X, self.cases = daal, X, CASES

    def time(self, case):
        return best_time(lambda: self.cases[case](self.daal, self.X), 1)

    def close(self):
        pass


def _daal4py(args, X):
    if args.daal4py_python:
        return Daal4pyWorker(args.daal4py_python, X.shape[0], X.shape[1], args.seed)
    try:
        import daal4py
    except ImportError:
        return None
    return InProcessDaal4py(daal4py, X)


def main(cases, X=None, args=None):
    import d4p

    from inputs import make_data

    args = args or parse_args()
    X = make_data(args.n, args.p, args.seed) if X is None else X
    n, p = X.shape
    gb = X.nbytes / 1e9
    if args.mpi:
        return _main_mpi(cases, X, args, d4p)
    daal = _daal4py(args, X)
    print(f"# {n} x {p} float64 ({gb:.2f} GB); daal4py: {'yes' if daal else 'not installed'}")
    print(f"{'case':28s} {'impl':10s} {'mode':8s} {'seconds':>9s} {'GB/s':>7s} {'GF/s':>7s} "
          f"{'vs daal4py':>10s} {'extra MB':>9s}")
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
            runs[("daal4py", "batch")] = case.daal4py
        best = {key: np.inf for key in runs}
        for _ in range(args.repeat):  # alternate implementations so drift cancels
            for key, fn in runs.items():
                if key[0] == "daal4py":
                    time.sleep(SETTLE_SECONDS)
                secs = daal.time(fn) if key[0] == "daal4py" else best_time(fn, 1)
                best[key] = min(best[key], secs)
        base = best.get(("daal4py", "batch"))
        extra = extra_memory_mb(runs[("d4p", "batch")])
        for (impl, mode), secs in best.items():
            gf = case.flops(n, p) / secs / 1e9 if case.flops else float("nan")
            ratio = f"{secs / base:10.2f}" if base and impl == "d4p" else f"{'':10s}"
            mem = f"{extra:9.0f}" if (impl, mode) == ("d4p", "batch") else ""
            print(f"{case.name:28s} {impl:10s} {mode:8s} {secs:9.4f} {gb / secs:7.2f} "
                  f"{gf:7.2f} {ratio} {mem}")
    print(f"# peak RSS {peak_rss_mb():.0f} MB (input {X.nbytes / 2**20:.0f} MB)")
    if daal:
        daal.close()


def _main_mpi(cases, X, args, d4p):
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
