"""Run example scripts one after another in this process, for test_examples.py.

    python examples_runner.py MODE OUT.json SCRIPT...

MODE ``plain`` runs each script as ``python script.py`` would; ``threads`` as
``python -m d4p -n 4 script.py`` would.  One interpreter start and one set of
imports serve all the scripts (most of each script's time when run alone).  Each
script's exit status, standard output and standard error go to OUT.json.
"""
import contextlib
import io
import json
import os
import sys
import traceback


def run_plain(path):
    with open(path, "rb") as fh:
        code = compile(fh.read(), path, "exec")
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})
    except SystemExit as exc:
        return 0 if exc.code in (None, 0) else 1
    return 0


def main():
    mode, out, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    from d4p.__main__ import run_script

    results = {}
    for path in paths:
        stdout, stderr = io.StringIO(), io.StringIO()
        argv, syspath = list(sys.argv), list(sys.path)
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                status = run_plain(path) if mode == "plain" else run_script(path, [], 4)
        except BaseException:  # noqa: BLE001 - recorded, the next script still runs
            status = 1
            stderr.write(traceback.format_exc())
        finally:
            sys.argv[:], sys.path[:] = argv, syspath
        results[path] = {"status": status, "stdout": stdout.getvalue(),
                         "stderr": stderr.getvalue()}
    with open(out, "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main()
