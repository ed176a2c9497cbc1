"""Ranks that disagree on what they compute: every rank raises the same ValueError
(a RankError) naming the parameter and the ranks, before any statistic is merged."""
import numpy as np
import pytest

import d4p
from spmd import local_rows, spmd

MULTI = (2, 3, 4)


def _on_rank(rank, value, other):
    return value if d4p.my_procid() == rank else other


def _raises_everywhere(match, run):
    with pytest.raises(ValueError, match=match) as info:
        run()
    assert isinstance(info.value, d4p.RankError)
    return info.value


def _data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    return local_rows(X), local_rows(X @ [1.0, -2.0, 0.5] + 3.0)


@spmd(ranks=MULTI)
def test_interceptFlag_differs_on_one_rank():
    X, y = _data()
    last = d4p.num_procs() - 1
    algo = d4p.linear_regression_training(interceptFlag=_on_rank(last, False, True),
                                          distributed=True)
    err = _raises_everywhere(rf"interceptFlag is True on ranks? [\d, ]+ and False on rank {last}",
                             lambda: algo.compute(X, y))
    assert set(err.failures) == {last}


@spmd(ranks=MULTI)
def test_ridgeParameters_differ_on_one_rank():
    X, y = _data()
    lam = _on_rank(0, np.array([[2.0]]), np.array([[1.0]]))
    algo = d4p.ridge_regression_training(ridgeParameters=lam, distributed=True)
    match = "ridgeParameters is an array" if d4p.num_procs() > 2 else "ridgeParameters is"
    _raises_everywhere(match, lambda: algo.compute(X, y))


@spmd(ranks=MULTI)
def test_equal_ridgeParameters_in_different_forms_agree():
    X, y = _data()
    lam = _on_rank(0, 1.0, np.array([[1.0]]))
    model = d4p.ridge_regression_training(ridgeParameters=lam, distributed=True).compute(X, y)
    assert model.model.Beta.shape == (1, 4)


@spmd(ranks=MULTI)
def test_one_rank_calls_another_algorithm():
    X, _ = _data()
    last = d4p.num_procs() - 1
    algo = d4p.low_order_moments if d4p.my_procid() == last else d4p.covariance
    err = _raises_everywhere(
        rf"ranks run different steps: ranks? [\d, ]+ calls? covariance.compute while rank "
        rf"{last} calls low_order_moments.compute",
        lambda: algo(distributed=True).compute(X))
    assert str(err).startswith("covariance.compute failed")  # the same text on every rank


@spmd(ranks=MULTI)
def test_one_rank_finalizes_while_the_others_compute():
    X, _ = _data()
    algo = d4p.covariance(distributed=True, streaming=d4p.my_procid() == 0)
    if d4p.my_procid() == 0:
        algo.compute(X)
        run = algo.finalize
    else:
        def run():
            return algo.compute(X)
    _raises_everywhere("covariance.finalize while", run)


@spmd(ranks=MULTI)
def test_estimates_differ_on_one_rank():
    X, _ = _data()
    est = _on_rank(0, "estimatesMinMax", "estimatesAll")
    _raises_everywhere("estimatesToCompute is 'estimatesMinMax' on rank 0 and 'estimatesAll' on",
                       lambda: d4p.low_order_moments(estimatesToCompute=est,
                                                     distributed=True).compute(X))


@spmd(ranks=MULTI)
def test_mixed_input_dtypes_give_the_batch_answer():
    """Input dtype is per rank: every rank accumulates in float64."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2)).astype(np.float32)
    mine = local_rows(X)
    if d4p.my_procid() == 0:
        mine = mine.astype(np.float64)
    res = d4p.covariance(distributed=True).compute(mine)
    np.testing.assert_allclose(res.covariance, np.cov(X.astype(np.float64).T), rtol=1e-12)


@spmd(ranks=MULTI)
def test_fptype_is_per_rank_where_it_only_sets_the_result_dtype():
    X, _ = _data()
    fptype = _on_rank(0, "float", "double")
    res = d4p.low_order_moments(fptype=fptype, distributed=True).compute(X)
    assert res.mean.dtype == (np.float32 if d4p.my_procid() == 0 else np.float64)


def test_tokens_compare_values_not_spellings():
    from d4p._protocol import token

    assert token(1) == token(1.0) == token(np.float32(1.0))
    assert token(True) != token(1)
    assert token(np.array([[1.0, 2.0]])) == token([[1, 2]])
    assert token(np.array([1.0, 2.0])) != token(np.array([[1.0, 2.0]]))
    assert "digest" in token(np.ones(3))
