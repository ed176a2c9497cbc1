"""Times daal4py cases on request, in a Python that has daal4py installed.

The benchmark harness starts ``PYTHON daal4py_worker.py N P SEED`` and writes one
case name per line; the worker answers each with the seconds one run took (the
first request of a case also runs it once untimed, so daal4py's own set-up is not
counted).  Keeping daal4py in its own environment avoids its TBB changing the
threading layer of the environment d4p is measured in.
"""
import sys
import time

import daal4py

import inputs
from daal4py_cases import CASES


def main(n, p, seed):
    X = inputs.make_data(int(n), int(p), int(seed))
    warmed = set()
    print("ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        fn = CASES.get(name)
        if fn is None:
            print("nan", flush=True)
            continue
        if name not in warmed:
            fn(daal4py, X[:1000])
            fn(daal4py, X)
            warmed.add(name)
        start = time.perf_counter()
        fn(daal4py, X)
        print(f"{time.perf_counter() - start:.9f}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
