"""Command line: ``python -m d4p -n N script.py [args]`` and ``python -m d4p warmup``.

``-n N`` runs an unchanged SPMD script on N simulated ranks (threads in this
process): every rank executes the script as ``__main__`` with its own
``my_procid()``.  If any rank fails, every rank is released, one error naming the
failing rank(s) is printed, and the exit status is 1.
"""
import argparse
import os
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["warmup"]:
        from ._warmup import warmup

        seconds = warmup(verbose=True)
        print(f"d4p: kernels compiled and cached in {seconds:.1f} s")
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m d4p",
        description="Run an SPMD script on N simulated ranks (threads), or 'warmup' to "
                    "precompile every kernel into Numba's cache.")
    parser.add_argument("-n", "--nranks", type=int, default=4, help="number of ranks (default 4)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds a collective may wait before failing (default: "
                             "D4P_TIMEOUT or 600; 0 waits forever)")
    parser.add_argument("script", help="the SPMD script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    opts = parser.parse_args(argv)
    return run_script(opts.script, opts.args, opts.nranks, opts.timeout)


def run_script(path, args, nranks, timeout=None):
    import d4p
    from ._spmd import run_threads

    if nranks < 1:
        print(f"d4p: -n must be at least 1, got {nranks}", file=sys.stderr)
        return 2
    try:
        with open(path, "rb") as fh:
            code = compile(fh.read(), path, "exec")
    except OSError as exc:
        print(f"d4p: cannot open script {path!r}: {exc.strerror}", file=sys.stderr)
        return 2
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))

    def rank_main():
        namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
        try:
            exec(code, namespace)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise RuntimeError(f"script exited with status {exc.code}") from None

    if timeout is not None:
        d4p.set_config(timeout=timeout)
    try:
        run_threads(rank_main, nranks, where=os.path.basename(path))
    except Exception as exc:  # noqa: BLE001 - report and fail, as mpiexec would
        import traceback

        # Printed as Python prints an uncaught exception: the failing rank's own
        # traceback, then "d4p.RankError: <message>" on its own last line(s).
        cause = exc.__cause__
        if cause is not None:
            traceback.print_exception(type(cause), cause, cause.__traceback__)
        sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
        sys.stderr.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
