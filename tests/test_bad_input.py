"""Bad input on one rank: every rank raises the same clear error, nobody waits."""
import numpy as np
import pytest

import d4p
from spmd import spmd

ALGOS = [d4p.low_order_moments, d4p.covariance]


def on_last_rank(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


def expect_all_ranks(exc_type, match, make):
    for algo in ALGOS:
        with pytest.raises(exc_type, match=match) as info:
            algo(distributed=True).compute(make())
        if d4p.num_procs() > 1:
            assert isinstance(info.value, d4p.RankError)
            assert f"rank {d4p.num_procs() - 1} of {d4p.num_procs()}" in str(info.value)


@spmd
def test_nan_and_inf_on_one_rank():
    good = np.ones((5, 3))
    bad = good.copy()
    bad[2, 1] = np.nan
    expect_all_ranks(ValueError, r"nan at row 2, column 1", lambda: on_last_rank(bad, good))
    bad[2, 1] = -np.inf
    expect_all_ranks(ValueError, r"-inf at row 2, column 1", lambda: on_last_rank(bad, good))


@spmd
def test_nan_allowed_when_assume_finite():
    X = np.ones((4, 2))
    X[0, 0] = np.nan
    with d4p.config_context(assume_finite=True):
        res = d4p.low_order_moments(distributed=True).compute(X)
    assert np.isnan(res.mean[0, 0]) and res.mean[0, 1] == 1


@spmd(ranks=(2, 3, 4, 7))
def test_column_count_differs_on_one_rank():
    expect_all_ranks(ValueError, "has 4 columns but the other ranks have 3",
                     lambda: on_last_rank(np.ones((5, 4)), np.ones((5, 3))))


@spmd
def test_non_numeric_data():
    expect_all_ranks(ValueError, "non-numeric",
                     lambda: on_last_rank(np.array([["a", "b"]], dtype=object), np.ones((2, 2))))
    expect_all_ranks(ValueError, "not a real number type",
                     lambda: on_last_rank(np.array([[1 + 2j]]), np.ones((2, 1))))


@spmd
def test_wrong_dimensions():
    expect_all_ranks(ValueError, "must be 1-D or 2-D",
                     lambda: on_last_rank(np.ones((2, 2, 2)), np.ones((2, 2))))
    expect_all_ranks(ValueError, "rectangular",
                     lambda: on_last_rank([[1.0, 2.0], [3.0]], np.ones((2, 2))))


@spmd
def test_missing_file_on_one_rank(tmp_path_factory=None):
    import tempfile
    import os
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "part{}.csv")
    if d4p.my_procid() != d4p.num_procs() - 1:
        np.savetxt(path.format(d4p.my_procid()), np.ones((3, 2)), delimiter=",")
    expect_all_ranks(FileNotFoundError, "file not found", lambda: path)


@spmd
def test_no_rows_anywhere():
    for algo in ALGOS:
        with pytest.raises(ValueError, match="empty on every rank"):
            algo(distributed=True).compute([])
        with pytest.raises(ValueError, match="no rows on any rank"):
            algo(distributed=True).compute(np.empty((0, 3)))


@spmd
def test_error_then_same_object_works_again():
    algo = d4p.covariance(distributed=True)
    with pytest.raises(ValueError):
        algo.compute(on_last_rank(np.full((2, 2), np.nan), np.ones((2, 2))))
    res = algo.compute(np.eye(2))
    assert res.covariance.shape == (2, 2)
