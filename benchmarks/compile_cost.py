"""What each Numba kernel costs to compile: ``python benchmarks/compile_cost.py``.

Runs ``d4p.warmup`` (every kernel, every dtype and memory order) in a fresh
process with an empty ``NUMBA_CACHE_DIR`` and records Numba's ``numba:compile``
events (Numba's public event API).  A kernel that calls another compiles the
callee inside its own compile, so the table shows each kernel's *own* seconds
(its time minus its callees'), summed over its signatures, in CPU seconds of
the compiling thread (compiling is single-threaded, and CPU time is what stays
comparable on a loaded machine; the wall time of the whole warm-up is shown too).

Options: ``--dtypes float64`` / ``--orders C`` restrict the warm-up;
``--json FILE`` also writes the rows.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, sys, time
from numba.core import event

records, stack = [], []

class Timer(event.Listener):
    def on_start(self, ev):
        stack.append([time.thread_time(), 0.0])

    def on_end(self, ev):
        start, inner = stack.pop()
        total = time.thread_time() - start
        if stack:
            stack[-1][1] += total
        d = ev.data["dispatcher"]
        records.append({"kernel": d.py_func.__module__.split(".")[-1] + "." + d.__name__,
                        "args": str(ev.data["args"]), "own": total - inner, "total": total,
                        "parallel": bool(d.targetoptions.get("parallel"))})

event.register("numba:compile", Timer())
from d4p._warmup import warmup
t0, c0 = time.perf_counter(), time.process_time()
warmup(dtypes=tuple(sys.argv[1].split(",")), orders=tuple(sys.argv[2].split(",")))
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "records": records}))
"""


def measure(dtypes="float64,float32", orders="C,F"):
    with tempfile.TemporaryDirectory(prefix="d4p-compile-cost-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", CHILD, dtypes, orders], env=env,
                             check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(result):
    per = {}
    for r in result["records"]:
        row = per.setdefault(r["kernel"], {"own": 0.0, "signatures": 0, "parallel": r["parallel"]})
        row["own"] += r["own"]
        row["signatures"] += 1
    rows = sorted(per.items(), key=lambda kv: -kv[1]["own"])
    lines = ["| kernel | parallel | signatures | own compile, CPU s |", "|---|---|---|---|"]
    for name, row in rows:
        lines.append(f"| {name} | {'yes' if row['parallel'] else ''} | {row['signatures']} | "
                     f"{row['own']:.2f} |")
    own = sum(r["own"] for r in result["records"])
    lines.append(f"| **total** | | {len(result['records'])} | {own:.1f} "
                 f"(warm-up: {result.get('cpu', float('nan')):.1f} s CPU, {result['wall']:.1f} s wall) |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--orders", default="C,F")
    ap.add_argument("--json")
    opts = ap.parse_args()
    result = measure(opts.dtypes, opts.orders)
    print(table(result))
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump(result, fh)


if __name__ == "__main__":
    main()
