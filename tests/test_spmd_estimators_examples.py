"""Every examples/spmd script runs three ways (one process, ``python -m d4p -n 4``,
``mpiexec -n 2``) and prints its OK line.  (tests/test_examples.py covers
examples/*.py only; these live one directory down.)"""
import glob
import os

import pytest

import d4p
from mpi_tools import requires_mpi, run_mpi
from test_examples import TIMEOUT, check, run_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "spmd", "*.py")))
def test_one_example_per_module():
    import d4p.spmd

    assert {os.path.basename(e) for e in EXAMPLES} == {f"{m}_spmd.py" for m in d4p.spmd.__all__}


@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=os.path.basename)
def test_spmd_example_plain_python(example):
    check(run_python([example]))


@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=os.path.basename)
def test_spmd_example_simulated_ranks(example):
    check(run_python(["-m", "d4p", "-n", "4", example]))


@requires_mpi
@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=os.path.basename)
def test_spmd_example_mpiexec(example):
    check(run_mpi(2, [example], timeout=TIMEOUT))
