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
