"""No hangs: failing, early-returning and slow ranks on simulated ranks."""
import time

import numpy as np
import pytest

import d4p


@pytest.mark.timeout(60)
def test_exception_on_one_rank_releases_the_others():
    def body():
        if d4p.my_procid() == 2:
            raise KeyError("only rank 2")
        return d4p.covariance(distributed=True).compute(np.ones((4, 2)))

    with pytest.raises(KeyError, match="only rank 2") as info:
        d4p.run_spmd(body, 4)
    assert "rank 2 of 4" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)


@pytest.mark.timeout(60)
def test_rank_returning_early_releases_the_others():
    def body():
        if d4p.my_procid() == 0:
            return None
        return d4p.low_order_moments(distributed=True).compute(np.ones((4, 2)))

    with pytest.raises(d4p.RankError,
                       match=r"^rank 0 returned from body\(\) without joining low_order_moments.compute$"):
        d4p.run_spmd(body, 3)


@pytest.mark.timeout(60)
def test_collective_timeout_names_the_missing_rank():
    def body():
        if d4p.my_procid() == 1:
            time.sleep(3)
            return None
        return d4p.low_order_moments(distributed=True).compute(np.ones((4, 2)))

    old = d4p.get_config()["timeout"]
    d4p.set_config(timeout=0.5)
    try:
        start = time.monotonic()
        with pytest.raises(d4p.RankError, match="timed out after 0.5 s") as info:
            d4p.run_spmd(body, 2)
        assert time.monotonic() - start < 10
        assert "ranks that never arrived: [1]" in str(info.value)
    finally:
        d4p.set_config(timeout=old)


@pytest.mark.timeout(60)
def test_results_in_rank_order_and_args_passed():
    assert d4p.run_spmd(lambda a, b=0: (d4p.my_procid(), a, b), 3, "x", b=2) == \
        [(0, "x", 2), (1, "x", 2), (2, "x", 2)]


def test_outside_simulated_ranks_one_process():
    assert d4p.num_procs() == 1 and d4p.my_procid() == 0


def test_each_simulated_rank_has_its_own_global_random_generators():
    """Seeding then drawing several times gives every rank the same numbers, as
    separate MPI processes would, however the ranks' threads interleave."""
    import random

    def body():
        out = []
        for _ in range(50):
            np.random.seed(7)
            random.seed(7)
            a = np.random.rand(3)
            time.sleep(0.0005)  # invite another rank to reseed in between
            b = np.random.randn(2)
            c = np.random.randint(0, 1000, size=2)
            out.append(np.concatenate([a, b, c, [random.random(), np.random.ranf()]]))
        return np.array(out)

    results = d4p.run_spmd(body, 4)
    np.random.seed(7)
    random.seed(7)
    expected = np.concatenate([np.random.rand(3), np.random.randn(2),
                               np.random.randint(0, 1000, size=2),
                               [random.random(), np.random.ranf()]])
    for r in results:
        np.testing.assert_array_equal(r, np.tile(expected, (50, 1)))
    assert np.random.rand.__self__ is np.random.mtrand._rand  # restored afterwards


# ---- ranks that leave the program: the same script under mpiexec and on threads ----

import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

from mpi_tools import requires_mpi, run_mpi  # noqa: E402

LEAVING = textwrap.dedent('''
    import os, signal, sys, time
    import numpy as np
    import d4p

    mode = sys.argv[1]
    rank = d4p.my_procid()
    X = np.random.default_rng(rank).normal(size=(20, 3))
    d4p.covariance(distributed=True).compute(X)      # every rank joins this one
    if rank == 2 and mode == "return":
        pass                                         # end of script
    elif rank == 2 and mode == "exit":
        sys.exit(0)
    elif rank == 2 and mode == "raise":
        1 / 0                                        # outside d4p
    elif rank == 2 and mode == "daalfini":
        d4p.daalfini()
        time.sleep(60)                               # more work elsewhere
    elif mode == "extra":
        if rank == 0:                                # one compute more than the others
            d4p.covariance(distributed=True).compute(X)
    elif rank == 2 and mode == "late":
        pass                                         # the others enter later
    elif mode == "late":
        time.sleep(1.5)
        d4p.covariance(distributed=True).compute(X)
    elif mode == "kill" and rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "busy" and rank == 2:
        1 / 0                                        # while the others are not in d4p
    elif mode == "busy":
        time.sleep(60)
    elif mode == "finish-early":
        # Rank 2 leaves as soon as its part of the last collective is done, while
        # rank 0 still waits in it for rank 1: nothing must fire.
        from d4p._engine import current_comm
        if rank == 1:
            time.sleep(1.5)
        current_comm().gather(rank, root=0)
    else:
        d4p.covariance(distributed=True).compute(X)
    # A file per rank: the ranks' stdout lines can interleave under mpiexec.
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), f"done{rank}"), "w").close()
''')

# mode -> what the ranks still running must say
LEFT = {
    "return": "rank 2 finished the program without joining covariance.compute",
    "exit": "rank 2 finished the program without joining covariance.compute",
    "raise": "rank 2 failed with ZeroDivisionError: division by zero without joining "
             "covariance.compute",
    "daalfini": "rank 2 called daalfini() without joining covariance.compute",
    "late": "rank 2 finished the program without joining covariance.compute",
}


@pytest.fixture
def leaving_script(tmp_path):
    path = tmp_path / "leaving.py"
    path.write_text(LEAVING)
    return str(path)


def _done(script):
    """The ranks that reached the end of the script."""
    folder = os.path.dirname(script)
    return [r for r in range(3) if os.path.exists(os.path.join(folder, f"done{r}"))]


def _no_timeout_env():
    return {"D4P_TIMEOUT": "0", "D4P_NO_WARMUP": "1"}  # no timeout configured


@requires_mpi
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", sorted(LEFT))
def test_mpi_rank_that_leaves_fails_the_others(leaving_script, mode):
    # Each rank's stderr to its own file: on the shared stream two ranks'
    # tracebacks can interleave mid-line (seen in CI: "d4p.    d4p.covariance").
    errfile = os.path.join(os.path.dirname(leaving_script), "stderr.")
    start = time.monotonic()
    proc = run_mpi(3, [leaving_script, mode], timeout=90, env=_no_timeout_env(),
                   launcher_args=["-errfile-pattern", errfile + "%r"])
    elapsed = time.monotonic() - start
    stderr = {r: open(errfile + str(r)).read() for r in range(3)  # a silent rank: no file
              if os.path.exists(errfile + str(r))}
    assert proc.returncode != 0, proc.stdout + str(stderr)
    # Ranks 0 and 1 each print the error as an uncaught exception does.
    for r in (0, 1):
        assert stderr.get(r, "").count(f"d4p.RankError: {LEFT[mode]}\n") == 1, stderr
    assert _done(leaving_script) == ([2] if mode in ("return", "late") else [])
    assert elapsed < 60, f"took {elapsed:.0f} s"


@requires_mpi
@pytest.mark.timeout(120)
def test_mpi_rank_with_one_more_compute_fails(leaving_script):
    proc = run_mpi(3, [leaving_script, "extra"], timeout=90, env=_no_timeout_env())
    assert proc.returncode != 0
    assert proc.stderr.count("d4p.RankError: ") == 1, proc.stderr
    assert "without joining covariance.compute" in proc.stderr
    assert _done(leaving_script) == [1, 2]


@requires_mpi
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["ok", "finish-early"])
def test_mpi_ranks_that_finish_after_the_last_collective_are_fine(leaving_script, mode):
    proc = run_mpi(3, [leaving_script, mode], timeout=90, env=_no_timeout_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RankError" not in proc.stderr
    assert _done(leaving_script) == [0, 1, 2]


@requires_mpi
@pytest.mark.timeout(120)
def test_mpi_sigkill_of_one_rank_ends_the_job(leaving_script):
    proc = run_mpi(3, [leaving_script, "kill"], timeout=90, env=_no_timeout_env())
    assert proc.returncode != 0
    assert 0 not in _done(leaving_script)


@requires_mpi
@pytest.mark.timeout(120)
def test_mpi_uncaught_exception_while_others_work_elsewhere_aborts(leaving_script):
    start = time.monotonic()
    proc = run_mpi(3, [leaving_script, "busy"], timeout=90, env=_no_timeout_env())
    assert proc.returncode != 0
    assert "ZeroDivisionError: division by zero\n" in proc.stderr
    assert "aborting all ranks" in proc.stderr
    assert time.monotonic() - start < 50  # the others sleep 60 s


def _simulated(script, mode, nranks=3):
    env = {**os.environ, **_no_timeout_env()}
    return subprocess.run([sys.executable, "-m", "d4p", "-n", str(nranks), script, mode],
                          capture_output=True, text=True, timeout=90, env=env,
                          cwd=os.path.dirname(script))  # the d4p on the path, not ./d4p


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", sorted(set(LEFT) - {"raise"}))
def test_simulated_rank_that_leaves_fails_the_others(leaving_script, mode):
    start = time.monotonic()
    proc = _simulated(leaving_script, mode)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.endswith(f"d4p.RankError: {LEFT[mode]}\n"), proc.stderr
    assert 0 not in _done(leaving_script)
    assert time.monotonic() - start < 50  # "daalfini" sleeps 60 s on rank 2


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["raise", "extra"])
def test_simulated_failures_print_as_uncaught_rank_errors(leaving_script, mode):
    proc = _simulated(leaving_script, mode)
    assert proc.returncode == 1
    assert proc.stderr.endswith("\n")
    # The error is the last thing printed (its message may span several lines).
    text = "\n" + proc.stderr
    last = text[text.rindex("\nd4p.RankError: ") + 1:]
    assert "Traceback" not in last
    if mode == "raise":
        assert "ZeroDivisionError: division by zero\n" in proc.stderr  # the cause's traceback
        assert last.endswith("failed on rank 2 of 3: ZeroDivisionError: division by zero\n")
    else:
        assert re.match(r"d4p.RankError: (rank [12] finished the program|ranks 1, 2 of 3 left) "
                        r"without joining covariance.compute", last), last


@pytest.mark.timeout(60)
def test_simulated_daalfini_then_more_work_on_every_rank_is_fine():
    def body():
        X = np.ones((4, 2)) * d4p.my_procid()
        d4p.covariance(distributed=True).compute(X)
        d4p.daalfini()
        if d4p.my_procid() == 2:
            time.sleep(0.5)  # late, but it comes back
        return d4p.covariance(distributed=True).compute(X).covariance

    out = d4p.run_spmd(body, 3)
    np.testing.assert_allclose(out[0], out[2])


@pytest.mark.timeout(60)
def test_ranks_calling_different_computations_fail_on_every_rank():
    def body():
        X = np.ones((4, 2))
        if d4p.my_procid() == 1:
            return d4p.low_order_moments(distributed=True).compute(X)
        return d4p.covariance(distributed=True).compute(X)

    with pytest.raises(d4p.RankError, match="the ranks run different steps") as info:
        d4p.run_spmd(body, 3)
    assert isinstance(info.value, ValueError)
    assert ("ranks 0, 2 call covariance.compute while rank 1 calls low_order_moments.compute"
            in str(info.value))


@pytest.mark.timeout(60)
def test_operation_names_the_collectives_a_leaving_rank_never_joined():
    from d4p._engine import current_comm

    def body():
        comm = current_comm()
        if comm.rank == 2:
            return None
        with comm.operation("dbscan.compute"):
            return comm.alltoall([comm.rank] * comm.size)

    with pytest.raises(d4p.RankError,
                       match=r"^rank 2 returned from body\(\) without joining dbscan.compute$"):
        d4p.run_spmd(body, 3)
