"""The first run after install: every example, cold and warm, under each launcher.

``python benchmarks/first_run.py`` runs each script of ``examples/`` and
``examples/spmd/`` twice in a fresh, empty ``NUMBA_CACHE_DIR``: the first run
compiles what the script uses (cold), the second loads it from the cache (warm).  Launchers: ``plain``
(``python script.py``), ``d4p-4`` (``python -m d4p -n 4``), ``mpi-2`` and ``mpi-4``
(``mpiexec -n 2/4``).  Prints a Markdown table of wall seconds and the extra
seconds of the first run, with the CPU seconds of all processes beside them
(on a loaded machine CPU time is the steadier figure).

Options: ``--launchers plain,mpi-2``, ``--examples kmeans,covariance``,
``--json FILE``.
"""
import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHERS = ("plain", "d4p-4", "mpi-2", "mpi-4")


def _mpiexec():
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return local if os.path.exists(local) else shutil.which("mpiexec")


def command(launcher, script):
    if launcher == "plain":
        return [sys.executable, script]
    if launcher.startswith("d4p-"):
        return [sys.executable, "-m", "d4p", "-n", launcher.split("-")[1], script]
    if launcher.startswith("mpi-"):
        return [_mpiexec(), "-n", launcher.split("-")[1], sys.executable, script]
    raise ValueError(launcher)


def timed(cmd, env):
    """(wall seconds, CPU seconds of every descendant, stderr) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stderr


def first_run(script, launcher):
    """Cold then warm run of one script in a fresh cache directory."""
    with tempfile.TemporaryDirectory(prefix="d4p-first-run-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "D4P_COMM"}
        env.update(NUMBA_CACHE_DIR=cache, D4P_TIMEOUT="600",
                   PYTHONPATH=os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")])))
        cold = timed(command(launcher, script), env)
        warm = timed(command(launcher, script), env)
    return {"example": os.path.relpath(script, os.path.join(ROOT, "examples")),
            "launcher": launcher,
            "cold": cold[0], "warm": warm[0], "cold_cpu": cold[1], "warm_cpu": warm[1],
            "said_compiling": cold[2].count("compiling kernels")}


def table(rows):
    lines = ["| example | launcher | first run s | second run s | extra s | extra CPU s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['example']} | {r['launcher']} | {r['cold']:.1f} | {r['warm']:.1f} | "
                     f"{r['cold'] - r['warm']:.1f} | {r['cold_cpu'] - r['warm_cpu']:.1f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launchers", default=",".join(LAUNCHERS))
    ap.add_argument("--examples", default="", help="substrings of example names (default all)")
    ap.add_argument("--json")
    opts = ap.parse_args()
    scripts = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py"))
                     + glob.glob(os.path.join(ROOT, "examples", "spmd", "*.py")))
    if opts.examples:
        wanted = opts.examples.split(",")
        scripts = [s for s in scripts if any(w in os.path.relpath(s, ROOT) for w in wanted)]
    rows = []
    for script in scripts:
        for launcher in opts.launchers.split(","):
            if launcher.startswith("mpi-") and _mpiexec() is None:
                continue
            rows.append(first_run(script, launcher))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
            if opts.json:
                with open(opts.json, "w") as fh:
                    json.dump(rows, fh, indent=1)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
