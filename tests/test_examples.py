"""Every example runs unchanged three ways and prints its OK line.

Plain and on simulated ranks, all examples run one after another in one Python
process per way (examples_runner.py): a process start and its imports cost more
than most examples.  Under mpiexec each example has its own launch.
"""
import glob
import os
import subprocess
import sys

import pytest

from mpi_tools import requires_mpi, results_once, run_mpi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: one SPMD script per daal4py-face algorithm, and one per d4p.spmd module
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py"))
                  + glob.glob(os.path.join(ROOT, "examples", "spmd", "*.py")))
TIMEOUT = 300


def check(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "OK" in proc.stdout, proc.stdout[-3000:]


def run_python(args, timeout=TIMEOUT):
    env = dict(os.environ)
    env.pop("D4P_COMM", None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def example_id(path):
    """``covariance_spmd.py``, or ``spmd/covariance_spmd.py`` for an estimator example."""
    return os.path.relpath(path, os.path.join(ROOT, "examples")).replace(os.sep, "/")


def test_there_are_examples():
    names = {os.path.basename(e) for e in EXAMPLES}
    assert {"low_order_moments_spmd.py", "covariance_spmd.py"} <= names


def test_one_estimator_example_per_spmd_module():
    import d4p.spmd

    spmd_examples = {example_id(e)[5:] for e in EXAMPLES if example_id(e).startswith("spmd/")}
    assert spmd_examples == {f"{m}_spmd.py" for m in d4p.spmd.__all__}


@pytest.fixture(scope="session")
def in_one_process(tmp_path_factory):
    """``get(mode)``: every example's status and output, run in one process per mode."""
    return results_once(tmp_path_factory, lambda mode, out: run_python(
        [os.path.join(ROOT, "tests", "examples_runner.py"), mode, out, *EXAMPLES],
        timeout=len(EXAMPLES) * 60))


def check_recorded(results, example):
    if isinstance(results, Exception):
        raise results
    run = results[example]
    assert run["status"] == 0, f"exit {run['status']}\n{run['stdout'][-3000:]}\n{run['stderr'][-3000:]}"
    assert "OK" in run["stdout"], run["stdout"][-3000:]


@pytest.mark.timeout(len(EXAMPLES) * 60 + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_example_plain_python(in_one_process, example):
    check_recorded(in_one_process("plain"), example)


@pytest.mark.timeout(len(EXAMPLES) * 60 + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_example_simulated_ranks(in_one_process, example):
    check_recorded(in_one_process("threads"), example)


def test_an_example_alone_as_a_script():
    # The runner above shares one process; this is `python script.py` itself.
    check(run_python([os.path.join(ROOT, "examples", "covariance_spmd.py")]))


@requires_mpi
@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_example_mpiexec(example):
    # Two ranks, one per core of a small CI machine (four oversubscribed ranks each
    # import scikit-learn and take twice as long); 4 simulated ranks run above.
    check(run_mpi(2, [example], timeout=TIMEOUT))


def test_launcher_reports_failing_rank(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(
        "import d4p, numpy as np\n"
        "if d4p.my_procid() == 2:\n"
        "    raise ValueError('rank two is broken')\n"
        "d4p.covariance(distributed=True).compute(np.ones((3, 2)))\n")
    proc = run_python(["-m", "d4p", "-n", "3", str(script)])
    assert proc.returncode == 1
    assert "rank 2 of 3" in proc.stderr and "rank two is broken" in proc.stderr


@requires_mpi
def test_mpi_uncaught_exception_aborts_instead_of_hanging(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(
        "import d4p, numpy as np\n"
        "if d4p.my_procid() == 1:\n"
        "    raise ValueError('rank one is broken')\n"
        "d4p.covariance(distributed=True).compute(np.ones((3, 2)))\n")
    proc = run_mpi(2, [str(script)], timeout=120, env={"D4P_TIMEOUT": "0"})
    assert proc.returncode != 0
    assert "rank one is broken" in proc.stderr
