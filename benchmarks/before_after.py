"""d4p at two commits, case by case, batch, in alternating fresh processes.

    python benchmarks/before_after.py OLD_TREE NEW_TREE [--n N --p P --rounds R --only a,b]

Each tree is a checkout of d4p (e.g. ``git worktree add ../before <commit>``); the
cases are this directory's (daal4py_cases.py, run by timed_case.py) with the d4p
of each tree on PYTHONPATH.  Prints each case's best time per round for both, and
the ratio of the medians (new / old).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from daal4py_cases import CASES

HERE = os.path.dirname(os.path.abspath(__file__))


def run(tree, case, args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.path.abspath(tree)])}
    env.pop("D4P_COMM", None)
    proc = subprocess.run([sys.executable, os.path.join(HERE, "timed_case.py"), "d4p", case,
                           str(args.n), str(args.p), str(args.repeat)],
                          capture_output=True, text=True, env=env, cwd=HERE)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[")]
    return min(json.loads(lines[-1])) if proc.returncode == 0 and lines else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--n", type=int, default=2_000_000)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    print(f"# {args.n} x {args.p}; old {args.old}, new {args.new}", flush=True)
    for case in CASES:
        if args.only and case not in args.only.split(","):
            continue
        times = {"old": [], "new": []}
        for _ in range(args.rounds):
            for which in ("old", "new"):
                time.sleep(1.0)
                t = run(getattr(args, which), case, args)
                if t is not None:
                    times[which].append(t)
        cells = [f"{w} {' '.join(f'{t:.3f}' for t in ts) or 'failed'}" for w, ts in times.items()]
        ratio = (statistics.median(times["new"]) / statistics.median(times["old"])
                 if times["old"] and times["new"] else float("nan"))
        print(f"{case:28s} {' | '.join(cells)} | new/old {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
