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
#: example -> the algorithm-layer classes it needs (examples of estimators whose
#: algorithm has not landed on this branch are skipped, saying so)
NEEDS = {"linear_model_spmd.py": ("logistic_regression_training",),
         "cluster_spmd.py": ("dbscan",),
         "neighbors_spmd.py": ("bf_knn_classification_training", "bf_knn_regression_training")}


def _missing(example):
    for name in NEEDS.get(os.path.basename(example), ()):
        try:
            getattr(d4p, name)
        except AttributeError:
            return name
    return None


def _skip_if_missing(example):
    missing = _missing(example)
    if missing:
        pytest.skip(f"d4p.{missing} is not on this branch yet")


def test_one_example_per_module():
    import d4p.spmd

    assert {os.path.basename(e) for e in EXAMPLES} == {f"{m}_spmd.py" for m in d4p.spmd.__all__}


@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=os.path.basename)
def test_spmd_example_plain_python(example):
    _skip_if_missing(example)
    check(run_python([example]))


@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=os.path.basename)
def test_spmd_example_simulated_ranks(example):
    _skip_if_missing(example)
    check(run_python(["-m", "d4p", "-n", "4", example]))


@requires_mpi
@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=os.path.basename)
def test_spmd_example_mpiexec(example):
    _skip_if_missing(example)
    check(run_mpi(2, [example], timeout=TIMEOUT))
