"""linear_regression_* and ridge_regression_*: batch, distributed, streaming, references."""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge

import d4p
import naive_linear_model as naive
from spmd import local_rows, spmd

METHODS = ("normEqDense", "qrDense")


def data(n=200, p=5, k=2, seed=0, shift=0.0, noise=0.5):
    rng = np.random.default_rng(seed)
    X = shift + rng.normal(size=(n, p)) * rng.uniform(0.5, 3, size=p)
    Y = X @ rng.normal(size=(p, k)) + rng.normal(size=k) + noise * rng.normal(size=(n, k))
    return X, Y


def assert_beta(got, expected, rtol=1e-9):
    """Relative to the largest coefficient (tiny coefficients carry absolute error)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    scale = max(np.abs(expected).max(), 1e-300)
    err = np.abs(got - expected).max() / scale
    assert err <= rtol, f"relative error {err:.2e} > {rtol:.0e}\n{got}\n{expected}"


def train(X, Y, method="normEqDense", intercept=True, **kw):
    return d4p.linear_regression_training(method=method, interceptFlag=intercept,
                                          **kw).compute(X, Y).model


def ridge(X, Y, lam=None, intercept=True, **kw):
    return d4p.ridge_regression_training(ridgeParameters=lam, interceptFlag=intercept,
                                         **kw).compute(X, Y).model


# ---- batch against numpy and scikit-learn -----------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("k", [1, 3])
def test_batch_matches_lstsq_and_sklearn(method, intercept, k):
    X, Y = data(300, 6, k, seed=k, shift=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = train(X, Y, method, intercept)
    assert_beta(model.Beta, naive.ols(X, Y, intercept))
    sk = LinearRegression(fit_intercept=intercept).fit(X, Y)
    assert_beta(model.Beta[:, 1:], sk.coef_)
    np.testing.assert_allclose(model.Beta[:, 0], sk.intercept_, atol=1e-9 * np.abs(Y).max())
    if not intercept:
        assert (model.Beta[:, 0] == 0).all()
    assert model.Beta.shape == (k, 7) and model.Beta.dtype == np.float64
    assert (model.NumberOfBetas, model.NumberOfResponses, model.NumberOfFeatures) == (7, k, 6)
    assert type(model.NumberOfBetas) is int and model.InterceptFlag is intercept


@pytest.mark.parametrize("method", ("defaultDense",) + METHODS)
@pytest.mark.parametrize("intercept", [True, False])
def test_diabetes_matches_sklearn(method, intercept):
    X, y = load_diabetes(return_X_y=True)
    model = train(X, y, method, intercept)
    sk = LinearRegression(fit_intercept=intercept).fit(X, y)
    assert_beta(model.Beta[0, 1:], sk.coef_, rtol=1e-10)
    assert abs(model.Beta[0, 0] - sk.intercept_) <= 1e-10 * abs(y).max()
    pred = d4p.linear_regression_prediction().compute(X, model).prediction
    np.testing.assert_allclose(pred[:, 0], sk.predict(X), rtol=1e-10)


@pytest.mark.parametrize("alpha", [1e-3, 1.0, 50.0])
@pytest.mark.parametrize("intercept", [True, False])
def test_ridge_diabetes_matches_sklearn(alpha, intercept):
    X, y = load_diabetes(return_X_y=True)
    model = ridge(X, y, [[alpha]], intercept)
    sk = Ridge(alpha=alpha, fit_intercept=intercept, solver="svd").fit(X, y)
    assert_beta(model.Beta[0, 1:], sk.coef_, rtol=1e-10)
    assert abs(model.Beta[0, 0] - sk.intercept_) <= 1e-10 * abs(y).max()
    pred = d4p.ridge_regression_prediction().compute(X, model).prediction
    np.testing.assert_allclose(pred[:, 0], sk.predict(X), rtol=1e-10)


@pytest.mark.parametrize("intercept", [True, False])
def test_ridge_each_lambda_to_its_own_response(intercept):
    X, Y = data(150, 4, 3, seed=4, shift=1.0)
    lam = np.array([[0.1, 10.0, 300.0]])
    model = ridge(X, Y, lam, intercept)
    assert_beta(model.Beta, naive.ridge(X, Y, lam, intercept))
    for j in range(3):
        sk = Ridge(alpha=lam[0, j], fit_intercept=intercept, solver="svd").fit(X, Y[:, j])
        assert_beta(model.Beta[j, 1:], sk.coef_)
        assert abs(model.Beta[j, 0] - sk.intercept_) < 1e-9 * np.abs(Y).max()
    # not the first λ for every response (what daal4py does)
    first_for_all = ridge(X, Y, lam[:, :1], intercept).Beta
    assert_beta(model.Beta[0], first_for_all[0], rtol=1e-13)
    assert not np.allclose(model.Beta[1:], first_for_all[1:], rtol=1e-3)


def test_ridge_default_lambda_is_one_and_broadcasts():
    X, Y = data(80, 3, 2, seed=5)
    default = ridge(X, Y)
    assert_beta(default.Beta, naive.ridge(X, Y, 1.0, True))
    for lam in (1.0, [[1.0]], np.array([[1.0, 1.0]]), [1.0, 1.0]):
        assert_beta(ridge(X, Y, lam).Beta, default.Beta, rtol=1e-14)
    assert isinstance(default, d4p.ridge_regression_model)
    # λ = 0 is ordinary least squares
    assert_beta(ridge(X, Y, [[0.0]]).Beta, train(X, Y).Beta, rtol=1e-12)


def test_ridge_without_intercept_is_regularised_normal_equations():
    X, Y = data(60, 4, 1, seed=6, shift=3.0)
    lam = 2.5
    expected = np.linalg.solve(X.T @ X + lam * np.eye(4), X.T @ Y)
    model = ridge(X, Y, [[lam]], intercept=False)
    assert_beta(model.Beta[:, 1:], expected.T, rtol=1e-12)
    assert (model.Beta[:, 0] == 0).all()


@pytest.mark.parametrize("method", METHODS)
def test_far_from_the_origin_with_intercept(method):
    rng = np.random.default_rng(8)
    X = 1e7 + rng.normal(size=(5000, 3))
    y = (X - 1e7) @ np.array([1.0, -2.0, 0.5]) + 3.0 + 0.1 * rng.normal(size=5000)
    model = train(X, y, method)
    # exact reference: shifting by 1e7 is exact for these values
    Xs = X - 1e7
    ref = naive.ols(Xs, y, True)
    assert_beta(model.Beta[:, 1:], ref[:, 1:], rtol=1e-9)
    b0 = ref[0, 0] - 1e7 * ref[0, 1:].sum()  # the intercept for the unshifted X
    assert abs(model.Beta[0, 0] - b0) <= 1e-9 * abs(b0)


@pytest.mark.parametrize("method", METHODS)
def test_many_row_blocks(method, monkeypatch):
    from d4p.stats import CentredR, CoMoments

    X, Y = data(5003, 4, 2, seed=7, shift=1e4)
    expected = naive.ols(X, Y, True)
    monkeypatch.setattr(CentredR, "BLOCK_BYTES", 8 * 6 * 97)  # 97-row blocks, a ragged last
    monkeypatch.setattr(CoMoments, "BLOCK_BYTES", 8 * 6 * 97)
    assert_beta(train(X, Y, method).Beta, expected)
    assert_beta(train(X, Y, method, intercept=False).Beta, naive.ols(X, Y, False), rtol=1e-8)


def test_large_enough_for_several_default_blocks_and_threads():
    X, Y = data(200_000, 5, 1, seed=8, shift=3.0)  # 2 thread parts on 2+ kernel threads
    for method in METHODS:
        assert_beta(train(X, Y, method).Beta, naive.ols(X, Y, True))


# ---- ill-conditioned and singular systems -------------------------------------------


def test_qr_is_accurate_at_condition_number_1e7():
    X, y, beta = naive.design_with_condition(2000, 8, 1e7, seed=1)
    assert 0.9e7 < np.linalg.cond(X - X.mean(axis=0)) < 1.1e7
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = train(X, y, "qrDense")
    assert_beta(model.Beta[0, 1:], beta, rtol=1e-6)
    assert abs(model.Beta[0, 0] - 0.5) < 1e-6
    ref = np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), y, rcond=None)[0]
    assert_beta(model.Beta[0], ref, rtol=1e-6)
    # the normal equations cannot resolve it, and say so
    with pytest.warns(RuntimeWarning, match="qrDense"):
        normal = train(X, y, "normEqDense")
    assert np.isfinite(normal.Beta).all()


@pytest.mark.parametrize("nranks", [2, 5])
def test_qr_condition_number_1e7_distributed(nranks):
    X, y, beta = naive.design_with_condition(3000, 6, 1e7, seed=2, shift=50.0)

    def body():
        return train(local_rows(X), local_rows(y), "qrDense", distributed=True).Beta

    for got in d4p.run_spmd(body, nranks):
        assert_beta(got[0, 1:], beta, rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("intercept", [True, False])
def test_collinear_columns_give_minimum_norm_with_a_warning(method, intercept):
    X, Y = data(120, 4, 2, seed=9, shift=1.0)
    X = np.column_stack([X, X[:, 0] - 3 * X[:, 2], np.full(120, 2.0)])  # + a constant column
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        model = train(X, Y, method, intercept)
    assert np.isfinite(model.Beta).all()
    assert_beta(model.Beta, naive.ols(X, Y, intercept), rtol=1e-8)
    sk = LinearRegression(fit_intercept=intercept).fit(X, Y)
    assert_beta(model.Beta[:, 1:], sk.coef_, rtol=1e-8)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("intercept", [True, False])
def test_more_features_than_rows_give_minimum_norm(method, intercept):
    X, Y = data(7, 15, 2, seed=10)
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        model = train(X, Y, method, intercept)
    assert_beta(model.Beta, naive.ols(X, Y, intercept), rtol=1e-9)
    pred = d4p.linear_regression_prediction().compute(X, model).prediction
    np.testing.assert_allclose(pred, Y, atol=1e-9 * np.abs(Y).max())  # interpolates


def test_single_row_with_intercept():
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        model = train([[1.0, 2.0]], [[3.0]])
    np.testing.assert_array_equal(model.Beta, [[3.0, 0.0, 0.0]])


def test_ridge_regularises_collinear_columns_silently():
    X, Y = data(50, 3, 1, seed=11)
    X = np.column_stack([X, X[:, 0] + X[:, 1], np.zeros(50)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = ridge(X, Y, [[0.7]])
    sk = Ridge(alpha=0.7, solver="svd").fit(X, Y[:, 0])
    assert_beta(model.Beta[0, 1:], sk.coef_)


def test_badly_scaled_columns_are_not_mistaken_for_rank_deficiency():
    X, Y = data(200, 3, 1, seed=12)
    X = X * np.array([1e-6, 1.0, 1e7])
    for method in METHODS:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            model = train(X, Y, method)
        assert_beta(model.Beta[:, 1:] * [1e-6, 1.0, 1e7],
                    naive.ols(X, Y, True)[:, 1:] * [1e-6, 1.0, 1e7], rtol=1e-9)


# ---- inputs, dtypes, results ------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_dependent_variables_any_form(method):
    X, Y = data(90, 3, 2, seed=13)
    ref = train(X, Y[:, :1], method).Beta
    frame = pd.DataFrame(X, columns=list("abc"))
    for y in (Y[:, 0], Y[:, :1], pd.Series(Y[:, 0]), pd.DataFrame({"y": Y[:, 0]}),
              list(Y[:, 0])):
        assert_beta(train(X, y, method).Beta, ref, rtol=1e-12)
    y32 = Y[:, 0].astype(np.float32)  # float32 responses are accumulated in float64
    assert_beta(train(X, y32, method).Beta, train(X, y32.astype(np.float64), method).Beta,
                rtol=1e-13)
    assert_beta(train(frame, Y[:, 0], method).Beta, ref, rtol=1e-12)
    assert_beta(train(np.asfortranarray(X), Y[:, :1], method).Beta, ref, rtol=1e-12)
    assert_beta(train(X.tolist(), Y[:, 0], method).Beta, ref, rtol=1e-12)
    two = train(X, pd.DataFrame(Y), method)
    assert two.Beta.shape == (2, 4) and two.NumberOfResponses == 2


@pytest.mark.parametrize("method", METHODS)
def test_sparse_and_float32_data(method):
    sp = pytest.importorskip("scipy.sparse")
    X = sp.random(400, 6, density=0.3, format="csr", random_state=3) * 4
    y = X @ np.arange(1.0, 7.0) + 1.0
    model = train(X, y, method)
    assert_beta(model.Beta, naive.ols(X.toarray(), y, True), rtol=1e-9)
    pred = d4p.linear_regression_prediction().compute(X, model).prediction
    np.testing.assert_allclose(pred[:, 0], y, rtol=1e-9)
    X32 = X.toarray().astype(np.float32)
    assert_beta(train(X32, y, method).Beta,
                naive.ols(X32.astype(np.float64), y, True), rtol=1e-9)


def test_fptype_float_gives_float32_model_and_prediction():
    X, Y = data(100, 3, 2, seed=14)
    for algo in (d4p.linear_regression_training("float", "qrDense", True),
                 d4p.ridge_regression_training("float", "normEqDense", None, True)):
        model = algo.compute(X, Y).model
        assert model.Beta.dtype == np.float32
        pred = d4p.linear_regression_prediction("float").compute(X, model).prediction
        assert pred.dtype == np.float32 and pred.shape == (100, 2)
        full = d4p.linear_regression_prediction().compute(X.astype(np.float32), model)
        assert full.prediction.dtype == np.float64
        np.testing.assert_allclose(pred, full.prediction, rtol=1e-5)


def test_results_pickle_print_and_are_read_only():
    X, Y = data(30, 2, 1)
    result = d4p.linear_regression_training(interceptFlag=True).compute(X, Y)
    assert pickle.loads(pickle.dumps(result)) == result
    assert pickle.loads(pickle.dumps(result.model)) == result.model
    assert "Beta: array(shape=(1, 3), dtype=float64)" in str(result.model)
    assert "NumberOfFeatures: 2" in str(result.model)
    with pytest.raises(AttributeError):
        result.model.Beta = None
    pred = d4p.ridge_regression_prediction().compute(X, ridge(X, Y))
    assert pickle.loads(pickle.dumps(pred)) == pred
    assert isinstance(pred, d4p.ridge_regression_prediction_result)


def test_prediction():
    X, Y = data(50, 4, 2, seed=15)
    model = train(X, Y)
    pred = d4p.linear_regression_prediction().compute(X, model).prediction
    np.testing.assert_allclose(pred, X @ model.Beta[:, 1:].T + model.Beta[:, 0], rtol=1e-14)
    assert d4p.linear_regression_prediction().compute([], model).prediction.shape == (0, 2)
    assert d4p.linear_regression_prediction().compute(np.empty((0, 4)), model) \
        .prediction.shape == (0, 2)
    # a ridge model predicts through either class (daal4py insists on the matching one)
    r = ridge(X, Y)
    np.testing.assert_array_equal(d4p.linear_regression_prediction().compute(X, r).prediction,
                                  d4p.ridge_regression_prediction().compute(X, r).prediction)
    with pytest.raises(ValueError, match="3 columns but the model was trained on 4"):
        d4p.linear_regression_prediction().compute(X[:, :3], model)
    with pytest.raises(TypeError, match="model must be"):
        d4p.linear_regression_prediction().compute(X, X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="nan at row 3, column 1"):
        d4p.linear_regression_prediction().compute(bad, model)
    with d4p.config_context(assume_finite=True):
        out = d4p.linear_regression_prediction().compute(bad, model).prediction
    assert np.isnan(out[3]).all() and np.isfinite(np.delete(out, 3, axis=0)).all()


def test_constructor_checks():
    with pytest.raises(ValueError, match="unknown method"):
        d4p.linear_regression_training(method="lbfgs")
    with pytest.raises(ValueError, match="only the normal-equations method"):
        d4p.ridge_regression_training(method="qrDense")
    with pytest.raises(ValueError, match="fptype"):
        d4p.linear_regression_training(fptype="half")
    with pytest.raises(TypeError, match="interceptFlag must be True or False"):
        d4p.linear_regression_training(interceptFlag=1)
    with pytest.raises(ValueError, match=r"shape \(1, 1\) or \(1, k\)"):
        d4p.ridge_regression_training(ridgeParameters=np.ones((2, 1)))
    with pytest.raises(ValueError, match="non-negative"):
        d4p.ridge_regression_training(ridgeParameters=[[-1.0]])
    with pytest.raises(ValueError, match="non-negative"):
        d4p.ridge_regression_training(ridgeParameters=[[np.nan]])
    with pytest.raises(ValueError, match="unknown method"):
        d4p.linear_regression_prediction(method="qrDense")
    with pytest.raises(ValueError, match="needs streaming=True"):
        d4p.linear_regression_training().finalize()
    algo = d4p.linear_regression_training("float", "qrDense", True)  # daal4py's order
    assert (algo.fptype, algo.method, algo.interceptFlag) == ("float", "qrDense", True)
    algo = d4p.ridge_regression_training("double", "defaultDense", [[2.0]], True)
    assert algo.interceptFlag and algo.ridgeParameters == [[2.0]]


def test_bad_training_input():
    X, Y = data(20, 3, 2)
    with pytest.raises(ValueError, match="dependentVariables has 19 rows but data has 20"):
        train(X, Y[:19])
    bad = Y.copy()
    bad[4, 1] = np.inf
    for method in METHODS:
        with pytest.raises(ValueError, match="dependentVariables contains inf at row 4"):
            train(X, bad, method)
    with pytest.raises(ValueError, match="ridgeParameters has 3 values but there are 2"):
        ridge(X, Y, [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="no rows on any rank"):
        train(np.empty((0, 3)), np.empty((0, 1)))
    with pytest.raises(ValueError, match="empty on every rank"):
        train([], [])
    with pytest.raises(ValueError, match="data has no columns"):
        train(np.empty((5, 0)), np.ones(5))


# ---- streaming ----------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_streaming_equals_one_shot(method):
    X, Y = data(1000, 5, 2, seed=16, shift=4.0)
    algo = d4p.linear_regression_training(method=method, interceptFlag=True, streaming=True)
    for xs, ys in zip(np.array_split(X, 7), np.array_split(Y, 7)):
        assert algo.compute(xs, ys) is None
    algo.compute([], [])  # an empty chunk is fine
    assert_beta(algo.finalize().model.Beta, naive.ols(X, Y, True))
    r = d4p.ridge_regression_training(ridgeParameters=[[3.0, 0.5]], streaming=True)
    for xs, ys in zip(np.array_split(X, 3), np.array_split(Y, 3)):
        r.compute(xs, ys)
    assert_beta(r.finalize().model.Beta, naive.ridge(X, Y, [3.0, 0.5], False))


def test_streaming_bad_chunk_raises_and_loses_nothing():
    X, Y = data(100, 3, 1, seed=17)
    algo = d4p.linear_regression_training(interceptFlag=True, streaming=True)
    algo.compute(X[:50], Y[:50])
    bad = Y[50:60].copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="dependentVariables contains nan at row 2"):
        algo.compute(X[50:60], bad)
    with pytest.raises(ValueError, match="this chunk has 4 feature and 1 response columns but "
                                         "earlier chunks had 3 and 1"):
        algo.compute(np.ones((2, 4)), np.ones(2))
    with pytest.raises(ValueError, match="2 response"):
        algo.compute(np.ones((2, 3)), np.ones((2, 2)))
    algo.compute(X[50:], Y[50:])
    first = algo.finalize().model
    assert_beta(first.Beta, naive.ols(X, Y, True))
    algo.compute(X, Y)  # more chunks after finalize are added to the same fit
    assert_beta(algo.finalize().model.Beta, naive.ols(np.vstack([X, X]), np.vstack([Y, Y]), True))


# ---- distributed ----------------------------------------------------------------------


def same_on_all_ranks(array):
    gathered = d4p._engine.current_comm().allgather(array)
    assert all(np.array_equal(g, gathered[0]) for g in gathered)


@spmd
def test_distributed_equals_batch_on_all_ranks():
    X, Y = data(301, 5, 2, seed=18, shift=2.0)
    xs, ys = local_rows(X), local_rows(Y)
    for method in METHODS:
        for intercept in (True, False):
            model = train(xs, ys, method, intercept, distributed=True)
            assert_beta(model.Beta, naive.ols(X, Y, intercept))
            same_on_all_ranks(model.Beta)
    lam = np.array([[0.5, 8.0]])
    model = ridge(xs, ys, lam, True, distributed=True)
    assert_beta(model.Beta, naive.ridge(X, Y, lam, True))
    same_on_all_ranks(model.Beta)
    model = d4p.ridge_regression_training("float", distributed=True).compute(xs, ys).model
    assert model.Beta.dtype == np.float32
    same_on_all_ranks(model.Beta)


@spmd
def test_prediction_on_each_rank_with_the_global_model():
    X, Y = data(200, 4, 1, seed=19)
    xs, ys = local_rows(X), local_rows(Y[:, 0])
    model = train(xs, ys, distributed=True)
    pred = d4p.linear_regression_prediction().compute(xs, model).prediction
    np.testing.assert_allclose(pred, local_rows(X @ model.Beta[:, 1:].T + model.Beta[:, 0]),
                               rtol=1e-13)
    assert pred.shape == (xs.shape[0], 1)


@spmd
def test_empty_ranks_given_as_lists_or_empty_arrays():
    X, Y = data(60, 3, 1, seed=20)
    rank, size = d4p.my_procid(), d4p.num_procs()
    last = rank == size - 1
    for method in METHODS:
        xs = X if last else []
        ys = Y if last else []
        assert_beta(train(xs, ys, method, distributed=True).Beta, naive.ols(X, Y, True))
        xs = X if last else np.empty((0, 3))
        ys = Y[:, 0] if last else np.empty(0)
        assert_beta(train(xs, ys, method, distributed=True).Beta, naive.ols(X, Y, True))


@spmd
def test_distributed_streaming_each_rank_its_chunks():
    X, Y = data(700, 4, 2, seed=21, shift=-3.0)
    xs, ys = local_rows(X), local_rows(Y)
    for method in METHODS:
        algo = d4p.linear_regression_training(method=method, interceptFlag=True,
                                              distributed=True, streaming=True)
        n_chunks = 1 + d4p.my_procid()  # different counts per rank
        for cx, cy in zip(np.array_split(xs, n_chunks), np.array_split(ys, n_chunks)):
            algo.compute(cx, cy)
        model = algo.finalize().model
        assert_beta(model.Beta, naive.ols(X, Y, True))
        same_on_all_ranks(model.Beta)
    r = d4p.ridge_regression_training(ridgeParameters=[[2.0]], distributed=True, streaming=True)
    if d4p.my_procid() % 2 == 0:  # odd ranks stream nothing
        r.compute(local_rows(X, [1 if i % 2 == 0 else 0 for i in range(d4p.num_procs())]),
                  local_rows(Y, [1 if i % 2 == 0 else 0 for i in range(d4p.num_procs())]))
    assert_beta(r.finalize().model.Beta, naive.ridge(X, Y, 2.0, False))


def on_last_rank(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


def expect_all_ranks(match, make_x, make_y, algos=None):
    for algo in algos or [d4p.linear_regression_training(distributed=True),
                          d4p.linear_regression_training(method="qrDense", distributed=True),
                          d4p.ridge_regression_training(distributed=True)]:
        with pytest.raises(ValueError, match=match) as info:
            algo.compute(make_x(), make_y())
        if d4p.num_procs() > 1:
            assert isinstance(info.value, d4p.RankError)


@spmd
def test_bad_input_on_one_rank_raises_on_all():
    X, Y = data(10, 3, 1)
    nan_y = Y.copy()
    nan_y[3, 0] = np.nan
    expect_all_ranks("dependentVariables contains nan at row 3", lambda: X,
                     lambda: on_last_rank(nan_y, Y))
    expect_all_ranks("dependentVariables has 9 rows but data has 10", lambda: X,
                     lambda: on_last_rank(Y[:9], Y))
    nan_x = X.copy()
    nan_x[0, 2] = -np.inf
    expect_all_ranks("data contains -inf at row 0, column 2", lambda: on_last_rank(nan_x, X),
                     lambda: Y)
    algo = d4p.linear_regression_training(distributed=True)  # still usable afterwards
    assert_beta(algo.compute(X, Y).model.Beta,
                naive.ols(np.tile(X, (d4p.num_procs(), 1)), np.tile(Y, (d4p.num_procs(), 1)),
                          False))


@spmd(ranks=(2, 3, 4, 7))
def test_column_counts_differ_on_one_rank():
    X, Y = data(10, 3, 2)
    expect_all_ranks("data has 4 columns but the other ranks have 3",
                     lambda: on_last_rank(np.ones((10, 4)), X), lambda: Y)
    expect_all_ranks("dependentVariables has 1 columns but the other ranks have 2",
                     lambda: X, lambda: on_last_rank(Y[:, 0], Y))
    algos = [d4p.ridge_regression_training(ridgeParameters=on_last_rank([[1.0, 2.0, 3.0]],
                                                                        [[1.0, 2.0]]),
                                           distributed=True)]
    expect_all_ranks("ridgeParameters has 3 values", lambda: X, lambda: Y, algos)


@spmd(ranks=(2, 3, 4))
def test_distributed_streaming_disagreement_raises_on_all():
    algo = d4p.linear_regression_training(distributed=True, streaming=True)
    algo.compute(on_last_rank(np.ones((3, 4)), np.ones((3, 2))), np.ones(3))
    with pytest.raises(ValueError, match="data has 4 columns but the other ranks have 2"):
        algo.finalize()


def test_rank_deficient_distributed_warns_and_matches_lstsq():
    X, Y = data(40, 3, 1, seed=22)
    X = np.column_stack([X, 2 * X[:, 1]])

    def body():
        return train(local_rows(X), local_rows(Y), "qrDense", distributed=True).Beta

    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        results = d4p.run_spmd(body, 4)
    for got in results:
        assert_beta(got, naive.ols(X, Y, True), rtol=1e-9)


# ---- property: any split equals batch equals the reference ------------------------------


@given(
    n=st.integers(1, 60), p=st.integers(1, 5), k=st.integers(1, 3), nranks=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1), shift=st.sampled_from([0.0, 3.0, 1e3, -1e5]),
    method=st.sampled_from(["normEqDense", "qrDense", "ridge"]), intercept=st.booleans(),
    data_=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_any_split_equals_batch(n, p, k, nranks, seed, shift, method, intercept, data_):
    # Well-conditioned full-rank systems: without an intercept, data far from the
    # origin is ill-conditioned in itself, and rank deficiency is tested above.
    shift = shift if intercept else min(abs(shift), 3.0)
    X, Y = data(max(n, p + 2), p, k, seed=seed, shift=shift)
    weights = data_.draw(st.lists(st.integers(0, 5), min_size=nranks, max_size=nranks)
                         .filter(lambda w: sum(w) > 0))
    lam = np.linspace(0.5, 2.0, k).reshape(1, k)

    def fit(xs, ys, distributed):
        if method == "ridge":
            return ridge(xs, ys, lam, intercept, distributed=distributed).Beta
        return train(xs, ys, method, intercept, distributed=distributed).Beta

    batch = fit(X, Y, False)
    reference = naive.ridge(X, Y, lam, intercept) if method == "ridge" else \
        naive.ols(X, Y, intercept)
    assert_beta(batch, reference, rtol=1e-8)
    assert_beta(batch[:, 1:], reference[:, 1:], rtol=1e-8)
    for got in d4p.run_spmd(lambda: fit(local_rows(X, weights), local_rows(Y, weights), True),
                            nranks):
        assert_beta(got, batch, rtol=1e-9)
        assert_beta(got[:, 1:], batch[:, 1:], rtol=1e-9)
