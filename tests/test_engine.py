"""Engine functions and communicator selection, in one process and under mpiexec."""
import os
import subprocess
import sys
import textwrap

import pytest

import d4p
from mpi_tools import requires_mpi, run_mpi


def test_engine_functions_in_a_plain_process():
    assert d4p.__has_dist__ is True
    d4p.daalinit()
    assert (d4p.num_procs(), d4p.my_procid()) == (1, 0)
    d4p.daalinit(nthreads=1)
    assert d4p.num_threads() == 1
    d4p.daalfini()
    assert d4p.num_procs() == 1  # usable again after daalfini


def test_daalinit_comm_inside_simulated_rank_is_rank_local():
    from d4p.comm import SerialCommunicator

    def body():
        if d4p.my_procid() == 0:
            d4p.daalinit(comm=SerialCommunicator())
            alone = d4p.num_procs()
            d4p.daalfini()  # back to the simulated rank's own communicator
            return alone, d4p.num_procs()
        return None, d4p.num_procs()

    assert d4p.run_spmd(body, 3) == [(1, 3), (None, 3), (None, 3)]


def test_daalinit_rejects_unknown_comm():
    with pytest.raises(TypeError, match="Communicator or an mpi4py communicator"):
        d4p.daalinit(comm=object())


def test_d4p_comm_env_is_checked():
    code = "import d4p; d4p.num_procs()"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"D4P_COMM": "bogus", "PATH": ""}, timeout=120)
    assert proc.returncode != 0 and "expected 'serial', 'mpi' or 'auto'" in proc.stderr


def test_import_does_not_load_mpi4py_scipy_or_pandas():
    code = ("import sys, d4p; bad = [m for m in ('mpi4py', 'scipy', 'pandas') "
            "if m in sys.modules]; print(bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def run_script(tmp_path, nranks, code, env=None):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    proc = run_mpi(nranks, [str(script)], timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@requires_mpi
def test_mpi_launcher_is_detected_and_env_overrides(tmp_path):
    # Each process writes its own record: the ranks' stdout may interleave mid-line.
    code = f"""
        import os, d4p
        comm = d4p._engine.current_comm()
        record = f"{{d4p.my_procid()}} {{d4p.num_procs()}} {{comm.backend}}"
        with open(os.path.join({str(tmp_path)!r}, "rank" + os.environ["PMI_RANK"]), "w") as fh:
            fh.write(record)
    """

    def records():
        return sorted((tmp_path / f"rank{r}").read_text() for r in range(2))

    run_script(tmp_path, 2, code)
    assert records() == ["0 2 mpi", "1 2 mpi"]
    run_script(tmp_path, 2, code, env={"D4P_COMM": "serial"})
    assert records() == ["0 1 serial", "0 1 serial"]


@requires_mpi
def test_mpi_subcommunicator_daalfini_and_mpi4py_afterwards(tmp_path):
    code = """
        import numpy as np
        from mpi4py import MPI
        import d4p
        world = MPI.COMM_WORLD
        half = world.Split(color=world.rank % 2, key=world.rank)
        d4p.daalinit(comm=half)
        X = np.arange(40.0).reshape(20, 2) * (1 + world.rank % 2)
        mine = np.array_split(X, half.size)[half.rank]
        res = d4p.low_order_moments(distributed=True).compute(mine)
        assert d4p.num_procs() == 2 and np.allclose(res.sum, X.sum(axis=0)), res.sum
        d4p.daalfini()
        # MPI is still alive for mpi4py, and d4p falls back to COMM_WORLD.
        assert world.allreduce(1) == 4
        assert d4p.num_procs() == 4
        whole = d4p.covariance(distributed=True).compute(np.ones((3, 2)) * world.rank)
        assert whole.mean.shape == (1, 2)
        print("OK", world.rank)
    """
    out = run_script(tmp_path, 4, code)
    assert out.count("OK") == 4


@requires_mpi
def test_mpi_messages_are_chunked(tmp_path):
    code = """
        import numpy as np
        import d4p
        from d4p.comm.mpi import MPICommunicator
        comm = d4p._engine.current_comm()
        comm.max_count = 7  # force many chunks
        a = np.arange(1000.0) * (comm.rank + 1)
        total = comm.allreduce(a)
        assert np.array_equal(total, np.arange(1000.0) * sum(range(1, comm.size + 1)))
        got = comm.bcast(np.arange(500) if comm.rank == 0 else None)
        assert np.array_equal(got, np.arange(500))
        print("OK")
    """
    assert run_script(tmp_path, 3, code).count("OK") == 3


@requires_mpi
def test_mpi_collective_timeout(tmp_path):
    code = """
        import time, d4p
        import numpy as np
        from d4p import CollectiveTimeout
        comm = d4p._engine.current_comm()
        if comm.rank == 1:
            time.sleep(4)
        else:
            try:
                comm.allreduce(np.ones(2))
            except CollectiveTimeout as exc:
                print("TIMEOUT", exc)
        import os; os._exit(0)
    """
    out = run_script(tmp_path, 2, code, env={"D4P_TIMEOUT": "1"})
    assert "TIMEOUT collective allreduce(sum) timed out after 1 s on rank 0" in out


def test_thread_policy_simulated_ranks_share_the_cores():
    import os
    import numba

    def body():
        return numba.get_num_threads()

    cores = os.cpu_count() or 1
    assert d4p.run_spmd(body, 2) == [max(1, cores // 2)] * 2


@requires_mpi
def test_mpi_thread_policy_divides_cores_among_ranks_on_a_node(tmp_path):
    code = f"""
        import os, numba, d4p
        from threadpoolctl import threadpool_info
        d4p.num_procs()  # creates the communicator, which applies the policy
        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        with open(os.path.join({str(tmp_path)!r}, "t" + os.environ["PMI_RANK"]), "w") as fh:
            fh.write(f"{{numba.get_num_threads()}} {{max(blas)}}")
    """
    run_script(tmp_path, 2, code)
    cores = os.cpu_count() or 1
    expected = f"{max(1, cores // 2)} {max(1, cores // 2)}"
    assert [(tmp_path / f"t{r}").read_text() for r in range(2)] == [expected] * 2


def test_public_names_survive_submodule_imports():
    """Importing any d4p module must not hide a public class (a module named like
    a public name would replace it on the package)."""
    import importlib
    import pkgutil

    for info in pkgutil.walk_packages(d4p.__path__, "d4p."):
        importlib.import_module(info.name)
    for name in d4p.__all__:
        assert not isinstance(getattr(d4p, name), type(d4p)), name
