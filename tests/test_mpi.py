"""Every @spmd test body again, on real MPI ranks: under ``mpiexec -n 4``, on (a
duplicate of) ``COMM_WORLD`` (four ranks, one of them empty in ``local_rows``) and
on the two halves split from it (two ranks each, interleaved and in reverse order,
running side by side).  (A separate ``-n 2`` launch added no case the halves lack
and cost about half a minute of the suite; the examples run under ``mpiexec -n 2``.)

One mpiexec launch per rank count runs all bodies (see mpi_runner.py); each body
and binding then shows up here as its own test.
"""
import glob
import importlib
import os

import pytest

from mpi_tools import requires_mpi, results_once, run_mpi
from spmd import REGISTRY

BINDINGS = ("world", "split")  # as in mpi_runner.py (which imports mpi4py at the top)

HERE = os.path.dirname(os.path.abspath(__file__))
MPI_RANKS = (4,)
LAUNCH_TIMEOUT = 600

for _path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
    importlib.import_module(os.path.splitext(os.path.basename(_path))[0])


@pytest.fixture(scope="session")
def mpi_results(tmp_path_factory):
    """``get(nranks)``: every body's outcome from one ``mpiexec -n nranks`` launch."""
    return results_once(tmp_path_factory, lambda nranks, out: run_mpi(
        nranks, [os.path.join(HERE, "mpi_runner.py"), out]))


@requires_mpi
@pytest.mark.timeout(LAUNCH_TIMEOUT + 60)
@pytest.mark.parametrize("nranks", MPI_RANKS)
@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("body", sorted(REGISTRY))
def test_body_under_mpiexec(mpi_results, nranks, binding, body):
    results = mpi_results(nranks)
    if isinstance(results, Exception):
        raise results
    key = f"{body}@{binding}"
    assert key in results, f"{key} was not run under mpiexec -n {nranks}"
    assert results[key] == "ok", results[key]
