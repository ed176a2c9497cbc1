"""d4p against daal4py 2024.7 and 2026.2, batch and 2 MPI ranks, in one run.

    python benchmarks/side_by_side.py [--n 2000000 --p 50 --rounds 3 --repeat 3]
        [--only covariance,qr] [--venvs benchmarks/.venvs]

Every (implementation, mode) of a case runs in a fresh process (timed_case.py):
batch in one process, ``2 ranks`` under each implementation's own ``mpiexec -n 2``
(MPICH for d4p, bound one core per rank; Intel MPI, which pins one core per rank,
for daal4py).  The rounds alternate the implementations, so drift of this noisy
machine spreads over all of them; each round reports its best repetition, and the
table shows the median over rounds and the range.  Set up the daal4py venvs first
with ``bash benchmarks/setup_daal4py.sh``.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

from daal4py_cases import CASES

HERE = os.path.dirname(os.path.abspath(__file__))


def implementations(venvs):
    """``{name: (python, mpiexec argv prefix for 2 ranks, library)}`` that exist here."""
    d4p_bin = os.path.dirname(sys.executable)
    impls = {"d4p": (sys.executable, [os.path.join(d4p_bin, "mpiexec"), "-bind-to", "core"],
                     "d4p")}
    for version in ("2024.7", "2026.2"):
        bin_dir = os.path.join(venvs, f"daal4py-{version}", "bin")
        if os.path.exists(os.path.join(bin_dir, "python")):
            impls[f"daal4py {version}"] = (os.path.join(bin_dir, "python"),
                                           [os.path.join(bin_dir, "mpiexec")], "daal4py")
    return impls


def run_once(impl, mode, case, args):
    python, mpiexec, lib = impl
    cmd = [python, os.path.join(HERE, "timed_case.py"), lib, case, str(args.n), str(args.p),
           str(args.repeat)]
    if mode == "2 ranks":
        if not os.path.exists(mpiexec[0]):
            return None, f"no {mpiexec[0]}"
        cmd = mpiexec + ["-n", "2"] + cmd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [HERE, os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")])}
    env.pop("D4P_COMM", None)
    # A run that hangs (a rank that fails while the others wait in a collective
    # never ends: timed_case.py's own reduction once did that) is reported, not
    # waited for: the whole process group goes, the launcher's ranks with it.
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=HERE, start_new_session=True) as child:
        try:
            out, err = child.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            return None, "timed out after 600 s"
    proc = subprocess.CompletedProcess(cmd, child.returncode, out, err)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[")]
    if proc.returncode != 0 or not lines:
        return None, (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return min(json.loads(lines[-1])), None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--venvs", default=os.path.join(HERE, ".venvs"))
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between processes")
    args = parser.parse_args()
    impls = implementations(args.venvs)
    names = [c for c in CASES if not args.only or c in args.only.split(",")]
    print(f"# {args.n} x {args.p} float64; {args.rounds} rounds of best-of-{args.repeat}; "
          f"implementations: {', '.join(impls)}", flush=True)
    for case in names:
        times, notes = {}, {}
        for _ in range(args.rounds):
            for name, impl in impls.items():
                for mode in ("batch", "2 ranks"):
                    time.sleep(args.pause)
                    secs, note = run_once(impl, mode, case, args)
                    if secs is None:
                        notes[(name, mode)] = note
                    else:
                        times.setdefault((name, mode), []).append(secs)
        report(case, impls, times, notes)


def report(case, impls, times, notes):
    for mode in ("batch", "2 ranks"):
        mine = times.get(("d4p", mode))
        row = [f"{case:28s} {mode:8s}"]
        for name in impls:
            t = times.get((name, mode))
            if not t:
                row.append(f"{name}: -- ({notes.get((name, mode), 'not run')[:40]})")
                continue
            cell = f"{name}: {statistics.median(t):.3f} [{min(t):.3f}-{max(t):.3f}]"
            if name != "d4p" and mine:
                cell += f" ratio {statistics.median(mine) / statistics.median(t):.2f}"
            row.append(cell)
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
