"""logistic_regression_*: the exact optimum (scikit-learn / scipy), any split, bad inputs."""
import contextlib
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings, strategies as st
from sklearn.linear_model import LogisticRegression

import d4p
import naive_logistic as naive
from spmd import local_rows, spmd


def data(n=300, p=4, k=2, seed=0, shift=0.0, strength=0.7):
    """Rows with overlapping classes drawn from a softmax model (a finite optimum)."""
    rng = np.random.default_rng(seed)
    X = shift + rng.normal(size=(n, p)) * rng.uniform(0.5, 3, size=p)
    Z = (X - shift) @ rng.normal(size=(p, k)) * strength / np.sqrt(p) + rng.normal(size=k)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) < rng.uniform(size=(n, 1))).sum(axis=1)
    y[:k] = np.arange(k)  # every class present
    return X, y.reshape(-1, 1).astype(np.float64)


def assert_beta(got, expected, rtol=1e-6):
    """Relative to the largest coefficient (tiny coefficients carry absolute error)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape
    err = np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-300)
    assert err <= rtol, f"relative error {err:.2e} > {rtol:.0e}\n{got}\n{expected}"


def train(X, y, k, intercept=True, l1=0.0, l2=0.0, **kw):
    return d4p.logistic_regression_training(k, interceptFlag=intercept, penaltyL1=l1,
                                            penaltyL2=l2, **kw).compute(X, y)


# ---- batch against scikit-learn and scipy -------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("l2", [0.0, 1e-3, 0.05])
def test_l2_equals_sklearn(k, intercept, l2):
    X, y = data(400, 5, k, seed=10 * k + int(intercept), shift=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = train(X, y, k, intercept, l2=l2)
    expected = naive.sklearn_beta(X, y, k, l2, intercept)
    assert_beta(res.model.Beta, expected)
    assert naive.objective(res.model.Beta, X, y, 0, l2) <= \
        naive.objective(expected, X, y, 0, l2) + 1e-14
    if not intercept:
        assert (res.model.Beta[:, 0] == 0).all()


@pytest.mark.parametrize("k", [2, 4])
def test_sklearn_mapping_with_its_own_C(k):
    """The documented mapping, written the other way: C given, λ = 1 / (2·C·n)."""
    X, y = data(250, 3, k, seed=3)
    C = 0.37
    clf = LogisticRegression(C=C, tol=1e-12, solver="newton-cg", max_iter=10000).fit(X, y[:, 0])
    model = train(X, y, k, True, l2=1 / (2 * C * X.shape[0])).model
    assert_beta(model.Beta, naive.daal_beta(clf.coef_, clf.intercept_, True))
    proba = d4p.logistic_regression_prediction(
        k, resultsToEvaluate="computeClassProbabilities").compute(X, model).probabilities
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("l1,l2", [(0.05, 0.0), (0.03, 0.004)])
def test_l1_equals_scipy_optimum(k, intercept, l1, l2):
    X, y = data(300, 6, k, seed=20 + k, strength=1.0)
    model = train(X, y, k, intercept, l1=l1, l2=l2).model
    expected = naive.l1_beta(X, y, k, l1, l2, intercept)
    assert_beta(model.Beta, expected, rtol=1e-6)
    assert naive.objective(model.Beta, X, y, l1, l2) <= \
        naive.objective(expected, X, y, l1, l2) + 1e-14
    zeros = model.Beta[:, 1:] == 0
    assert zeros.any()  # the L1 penalty gives exact zeros ...
    np.testing.assert_array_equal(zeros, np.abs(expected[:, 1:]) < 1e-8)  # ... where scipy's are


def test_multinomial_rows_sum_to_zero():
    X, y = data(200, 3, 4, seed=5)
    for l2 in (0.0, 0.01):
        Beta = train(X, y, 4, True, l2=l2).model.Beta
        np.testing.assert_allclose(Beta.sum(axis=0), 0, atol=1e-12 * np.abs(Beta).max())


def test_float32_input_is_the_same_problem():
    X, y = data(300, 4, 3, seed=6)
    X32 = X.astype(np.float32)
    a = train(X32, y, 3).model.Beta
    b = train(X32.astype(np.float64), y, 3).model.Beta
    assert_beta(a, b, rtol=1e-13)


def test_sparse_input_equals_dense():
    X, y = data(200, 5, 2, seed=7)
    X[np.abs(X) < 1] = 0
    assert_beta(train(sp.csr_matrix(X), y, 2).model.Beta, train(X, y, 2).model.Beta,
                rtol=1e-13)


def test_model_fields_shapes_dtypes():
    X, y = data(100, 3, 2, seed=8)
    res = train(X, y, 2, True, l2=0.01)
    m = res.model
    assert m.Beta.shape == (1, 4) and m.Beta.dtype == np.float64
    assert (m.NumberOfBetas, m.NumberOfFeatures, m.NFeatures) == (4, 3, 3)
    assert type(m.NumberOfBetas) is int and m.InterceptFlag is True
    assert type(res.nIterations) is int and 1 <= res.nIterations < 20
    X, y = data(100, 3, 3, seed=8)
    m = d4p.logistic_regression_training(3, "float", penaltyL2=0.01).compute(X, y).model
    assert m.Beta.shape == (3, 4) and m.Beta.dtype == np.float32 and m.InterceptFlag is False
    assert pickle.loads(pickle.dumps(m)) == m
    with pytest.raises(AttributeError):
        m.Beta = None


ALL = "computeClassLabels|computeClassProbabilities|computeClassLogProbabilities"


@pytest.mark.parametrize("k", [2, 3])
def test_prediction_fields_match_sklearn(k):
    X, y = data(300, 4, k, seed=9)
    model = train(X, y, k, True, l2=0.002).model
    clf = LogisticRegression(C=1 / (2 * 0.002 * 300), tol=1e-12, solver="newton-cg",
                             max_iter=10000).fit(X, y[:, 0])
    res = d4p.logistic_regression_prediction(k, resultsToEvaluate=ALL).compute(X, model)
    assert res.prediction.shape == (300, 1) and res.prediction.dtype == np.float64
    assert res.probabilities.shape == (300, k) and res.probabilities.dtype == np.float64
    assert res.logProbabilities.shape == (300, k)
    np.testing.assert_array_equal(res.prediction[:, 0], clf.predict(X))
    np.testing.assert_allclose(res.probabilities, clf.predict_proba(X), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.logProbabilities, clf.predict_log_proba(X), rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(res.probabilities.sum(axis=1), 1, rtol=1e-14)


def test_prediction_defaults_and_requested_fields_only():
    X, y = data(50, 3, 3, seed=11)
    model = train(X, y, 3, l2=0.01).model
    res = d4p.logistic_regression_prediction(3).compute(X, model)
    assert res.prediction.shape == (50, 1) and res.probabilities is None \
        and res.logProbabilities is None
    res = d4p.logistic_regression_prediction(3, "float", resultsToEvaluate=(
        "computeClassProbabilities")).compute(X, model)
    assert res.prediction is None and res.logProbabilities is None
    assert res.probabilities.dtype == np.float32 and res.probabilities.shape == (50, 3)
    res = d4p.logistic_regression_prediction(3).compute(np.empty((0, 3)), model)
    assert res.prediction.shape == (0, 1)


def test_prediction_rejects_wrong_model_or_columns():
    X, y = data(50, 3, 3, seed=12)
    trained = train(X, y, 3, l2=0.01)
    pred = d4p.logistic_regression_prediction(3)
    with pytest.raises(TypeError, match="pass the model"):
        pred.compute(X, trained)
    with pytest.raises(ValueError, match="for 3 classes but nClasses is 2"):
        d4p.logistic_regression_prediction(2).compute(X, trained.model)
    with pytest.raises(ValueError, match="data has 2 columns but the model was trained on 3"):
        pred.compute(X[:, :2], trained.model)
    with pytest.raises(ValueError, match="nan at row 1"):
        bad = X.copy()
        bad[1, 0] = np.nan
        pred.compute(bad, trained.model)


# ---- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"nClasses": 1}, ValueError, "nClasses must be at least 2"),
    ({"nClasses": 2.5}, TypeError, "nClasses must be an integer"),
    ({"nClasses": 2, "penaltyL2": -1}, ValueError, "penaltyL2 must be finite and non-negative"),
    ({"nClasses": 2, "penaltyL1": np.inf}, ValueError, "penaltyL1 must be finite"),
    ({"nClasses": 2, "optimizationSolver": object()}, ValueError,
     "optimizationSolver must be None.*Newton method"),
    ({"nClasses": 2, "streaming": True}, ValueError, "streaming=True is not supported"),
    ({"nClasses": 2, "method": "qrDense"}, ValueError, "unknown method"),
    ({"nClasses": 2, "resultsToEvaluate": "computeNothing"}, ValueError, "unexpected value"),
    ({"nClasses": 2, "accuracyThreshold": 0}, ValueError, "accuracyThreshold must be positive"),
    ({"nClasses": 2, "maxIterations": 0}, ValueError, "maxIterations must be positive"),
])
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        d4p.logistic_regression_training(**kwargs)


def test_nan_penalty_means_unset():
    X, y = data(100, 3, 2, seed=13)
    assert_beta(train(X, y, 2, l2=np.nan).model.Beta, train(X, y, 2).model.Beta, rtol=0)


# ---- no finite optimum ----------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3])
def test_separable_without_penalty_warns_and_stays_finite(k):
    rng = np.random.default_rng(14)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(float) if k == 2 else np.argmax(X, axis=1).astype(float)
    with pytest.warns(d4p.ConvergenceWarning, match="separable"):
        res = train(X, y, k)
    assert np.isfinite(res.model.Beta).all()
    pred = d4p.logistic_regression_prediction(k).compute(X, res.model).prediction
    np.testing.assert_array_equal(pred[:, 0], y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a penalty gives a finite optimum: no warning
        assert_beta(train(X, y, k, l2=0.01).model.Beta,
                    naive.sklearn_beta(X, y, k, 0.01, True))


def test_max_iterations_warns():
    X, y = data(200, 3, 2, seed=15)
    with pytest.warns(d4p.ConvergenceWarning, match="maxIterations = 2 reached"):
        res = train(X, y, 2, maxIterations=2)
    assert res.nIterations == 2


# ---- distributed: the same Beta and iteration count for any split --------------------------


def same_on_all_ranks(value):
    gathered = d4p._engine.current_comm().allgather(value)
    assert all(np.array_equal(g, gathered[0]) for g in gathered)


def check_split(k, intercept, l1=0.0, l2=0.0, n=240, p=4, seed=0):
    X, y = data(n, p, k, seed=seed)
    batch = train(X, y, k, intercept, l1, l2)
    dist = train(local_rows(X), local_rows(y), k, intercept, l1, l2, distributed=True)
    assert_beta(dist.model.Beta, batch.model.Beta, rtol=1e-11)
    assert dist.nIterations == batch.nIterations
    same_on_all_ranks(dist.model.Beta)
    return dist


@spmd
def test_split_binary_l2():
    dist = check_split(2, True, l2=0.01, seed=30)
    X, y = data(240, 4, 2, seed=30)
    assert_beta(dist.model.Beta, naive.sklearn_beta(X, y, 2, 0.01, True))


@spmd
def test_split_binary_unpenalised_no_intercept():
    check_split(2, False, seed=31)


@spmd
def test_split_multinomial_unpenalised():
    dist = check_split(3, True, seed=32)
    X, y = data(240, 4, 3, seed=32)
    assert_beta(dist.model.Beta, naive.sklearn_beta(X, y, 3, 0.0, True))


@spmd
def test_split_multinomial_l2_no_intercept():
    check_split(4, False, l2=0.003, seed=33)


@spmd
def test_split_l1():
    check_split(2, True, l1=0.01, seed=34)
    check_split(3, True, l1=0.01, l2=0.002, seed=35)


@spmd
def test_split_prediction_on_each_rank():
    X, y = data(200, 3, 3, seed=36)
    model = train(local_rows(X), local_rows(y), 3, l2=0.01, distributed=True).model
    res = d4p.logistic_regression_prediction(3, resultsToEvaluate=ALL).compute(local_rows(X),
                                                                              model)
    full = d4p.logistic_regression_prediction(3, resultsToEvaluate=ALL).compute(X, model)
    np.testing.assert_array_equal(res.prediction, local_rows(full.prediction))
    np.testing.assert_allclose(res.probabilities, local_rows(full.probabilities), rtol=1e-14)


@spmd
def test_empty_ranks_as_lists():
    X, y = data(120, 3, 2, seed=37)
    last = d4p.my_procid() == d4p.num_procs() - 1
    dist = train(X if last else [], y if last else [], 2, l2=0.01, distributed=True)
    assert_beta(dist.model.Beta, train(X, y, 2, l2=0.01).model.Beta, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::d4p.ConvergenceWarning")
@spmd
def test_separable_split_gives_the_same_beta():
    rng = np.random.default_rng(38)
    X = rng.normal(size=(90, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    batch = train(X, y, 2)
    dist = train(local_rows(X), local_rows(y), 2, distributed=True)
    assert_beta(dist.model.Beta, batch.model.Beta, rtol=1e-10)
    assert dist.nIterations == batch.nIterations


def test_separable_warning_reaches_the_caller_of_every_rank():
    rng = np.random.default_rng(38)
    X = rng.normal(size=(90, 2))
    y = (X[:, 0] > 0).astype(float)

    def body():
        return train(local_rows(X), local_rows(y), 2, distributed=True).model.Beta

    with pytest.warns(d4p.ConvergenceWarning, match="separable"):
        results = d4p.run_spmd(body, 3)
    assert all(np.array_equal(r, results[0]) for r in results)


# ---- bad input on one rank raises on every rank -------------------------------------------


def on_last_rank(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


def expect_all_ranks(match, X, y, k=3, **kw):
    algo = d4p.logistic_regression_training(k, distributed=True, **kw)
    with pytest.raises(ValueError, match=match) as info:
        algo.compute(X, y)
    if d4p.num_procs() > 1:
        assert isinstance(info.value, d4p.RankError)
    return algo


@spmd
def test_bad_labels_on_one_rank_raise_on_all():
    X, y = data(12, 3, 3, seed=40)
    bad = y.copy()
    bad[4, 0] = 3
    expect_all_ranks(r"labels\[4\] = 3.0 is not a class index", X, on_last_rank(bad, y))
    bad[4, 0] = 1.5
    expect_all_ranks(r"labels\[4\] = 1.5 is not a class index", X, on_last_rank(bad, y))
    bad[4, 0] = -1
    expect_all_ranks(r"labels\[4\] = -1.0", X, on_last_rank(bad, y))
    bad[4, 0] = np.nan
    expect_all_ranks(r"labels\[4\] = nan", X, on_last_rank(bad, y))
    expect_all_ranks("labels has 11 rows but data has 12", X, on_last_rank(y[:11], y))
    expect_all_ranks("labels must be 1-D or of shape", X, on_last_rank(np.hstack([y, y]), y))


@spmd
def test_bad_data_on_one_rank_raises_on_all():
    X, y = data(12, 3, 3, seed=41)
    bad = X.copy()
    bad[2, 1] = np.nan
    expect_all_ranks("data contains nan at row 2, column 1", on_last_rank(bad, X), y)
    bad[2, 1] = np.inf
    expect_all_ranks("data contains inf at row 2, column 1", on_last_rank(bad, X), y)
    algo = expect_all_ranks("data has 4 columns but the other ranks have 3",
                            on_last_rank(np.ones((12, 4)), X), y) \
        if d4p.num_procs() > 1 else d4p.logistic_regression_training(3, distributed=True)
    algo.compute(X, y)  # still usable afterwards


@spmd
def test_one_class_overall_raises_on_all():
    X = np.random.default_rng(42).normal(size=(10, 2))
    expect_all_ranks("only class 1", X, np.ones(10), k=2)
    expect_all_ranks("no rows on any rank", np.empty((0, 2)), np.empty(0), k=2)


@spmd(ranks=(2, 3, 4, 7))
def test_parameter_mismatch_raises_on_all():
    X, y = data(20, 3, 3, seed=43)
    expect_all_ranks("penaltyL2 is", X, y, penaltyL2=on_last_rank(0.5, 0.1))
    expect_all_ranks("interceptFlag is", X, y, interceptFlag=on_last_rank(True, False))
    expect_all_ranks("nClasses is", X, y, k=on_last_rank(4, 3))
    expect_all_ranks("accuracyThreshold is", X, y, accuracyThreshold=on_last_rank(1e-6, 1e-10))


# ---- row weights (a d4p extension): scikit-learn's sample_weight --------------------------------


def sample_weights(n, seed):
    w = np.random.default_rng(seed).uniform(0, 3, n)
    w[::9] = 0
    return w


@pytest.mark.parametrize("k, intercept, l2", [(2, True, 0.003), (3, True, 0.002), (4, False, 0.01),
                                              (3, True, 0.0)])
def test_weights_equal_sklearn_sample_weight(k, intercept, l2):
    X, y = data(300, 4, k, seed=50 + k)
    w = sample_weights(300, k)
    res = d4p.logistic_regression_training(k, interceptFlag=intercept, penaltyL2=l2).compute(
        X, y, w)
    C = np.inf if l2 == 0 else 1 / (2 * l2 * 300)
    clf = LogisticRegression(C=C, fit_intercept=intercept, tol=1e-12, max_iter=10000,
                             solver="newton-cg").fit(X, y[:, 0], sample_weight=w)
    assert_beta(res.model.Beta, naive.daal_beta(clf.coef_, clf.intercept_, intercept))


def test_integer_weights_are_repeated_rows():
    X, y = data(200, 3, 3, seed=55)
    reps = np.arange(200) % 3
    weighted = d4p.logistic_regression_training(3, interceptFlag=True, penaltyL2=0.01).compute(
        X, y, reps)
    # (1/n) Σ w loss with n rows = (Σw / n) × the mean over the repeated rows
    repeated = train(np.repeat(X, reps, 0), np.repeat(y, reps, 0), 3, True,
                     l2=0.01 * 200 / reps.sum())
    assert_beta(weighted.model.Beta, repeated.model.Beta, rtol=1e-10)


@spmd
def test_split_weights():
    X, y = data(240, 4, 3, seed=56)
    w = sample_weights(240, 56)
    algo = d4p.logistic_regression_training(3, interceptFlag=True, penaltyL2=0.002)
    batch = algo.compute(X, y, w)
    dist = d4p.logistic_regression_training(3, interceptFlag=True, penaltyL2=0.002,
                                            distributed=True).compute(local_rows(X),
                                                                      local_rows(y),
                                                                      local_rows(w))
    assert_beta(dist.model.Beta, batch.model.Beta, rtol=1e-11)
    assert dist.nIterations == batch.nIterations


@spmd(ranks=(2, 3, 4))
def test_weights_on_some_ranks_only_or_bad_raise_on_all():
    X, y = data(120, 3, 2, seed=57)
    rows, labels = local_rows(X), local_rows(y)
    last = d4p.my_procid() == d4p.num_procs() - 1  # the rank with the most rows

    def fit(weights):
        return d4p.logistic_regression_training(2, distributed=True).compute(rows, labels,
                                                                            weights)

    with pytest.raises(ValueError, match="weights is"):
        fit(np.ones(len(rows)) if last else None)
    for bad, match in ((-1.0, "non-negative"), (np.nan, "finite")):
        w = np.ones(len(rows))
        if last:
            w[0] = bad
        with pytest.raises(ValueError, match=match):
            fit(w)


# ---- the sampled Hessian (many rows): the same optimum, any split ----------------------------


@contextlib.contextmanager
def sampled_hessian(rows, per_class):
    """Make the Hessian of small data sampled, as on millions of rows."""
    from d4p import newton

    names = ("HESSIAN_ROWS", "SAMPLE_ROWS_PER_PARAMETER", "CLASS_ROWS_PER_SAMPLE")
    saved = [getattr(newton, name) for name in names]
    for name, value in zip(names, (rows, 0, per_class)):
        setattr(newton, name, value)
    try:
        yield
    finally:
        for name, value in zip(names, saved):
            setattr(newton, name, value)


@pytest.mark.parametrize("k, intercept, l2", [(2, True, 0.002), (3, True, 0.0), (4, False, 0.01)])
def test_sampled_hessian_reaches_the_same_optimum(k, intercept, l2):
    X, y = data(600, 4, k, seed=40 + k)
    exact = train(X, y, k, intercept, l2=l2)
    with sampled_hessian(60, 10):  # every 10th row
        sampled = train(X, y, k, intercept, l2=l2)
    assert_beta(sampled.model.Beta, exact.model.Beta, rtol=1e-11)
    assert_beta(sampled.model.Beta, naive.sklearn_beta(X, y, k, l2, intercept))


def test_poor_sampled_hessian_switches_to_the_full_one():
    X, y = data(600, 4, 3, seed=43)
    exact = train(X, y, 3, l2=0.001)
    with sampled_hessian(4, 2):  # 4 rows of 600: steps shrink slowly near the optimum
        sampled = train(X, y, 3, l2=0.001)
    assert_beta(sampled.model.Beta, exact.model.Beta, rtol=1e-11)
    assert sampled.nIterations < 30


@spmd
def test_split_sampled_hessian():
    with sampled_hessian(40, 10):
        dist = check_split(3, True, l2=0.002, n=400, seed=44)
    X, y = data(400, 4, 3, seed=44)
    assert_beta(dist.model.Beta, naive.sklearn_beta(X, y, 3, 0.002, True))


# ---- property: any split equals batch -------------------------------------------------------


@given(n=st.integers(8, 80), p=st.integers(1, 4), k=st.integers(2, 4), nranks=st.integers(1, 8),
       seed=st.integers(0, 2**32 - 1), intercept=st.booleans(),
       l2=st.sampled_from([0.005, 0.05]), l1=st.sampled_from([0.0, 0.0, 0.01]),
       data_=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_any_split_equals_batch(n, p, k, nranks, seed, intercept, l2, l1, data_):
    X, y = data(n, p, k, seed=seed % 2**31)
    weights = data_.draw(st.lists(st.integers(0, 5), min_size=nranks, max_size=nranks)
                         .filter(lambda w: sum(w) > 0))
    batch = train(X, y, k, intercept, l1, l2)

    def body():
        return train(local_rows(X, weights), local_rows(y, weights), k, intercept, l1, l2,
                     distributed=True)

    for got in d4p.run_spmd(body, nranks):
        assert_beta(got.model.Beta, batch.model.Beta, rtol=1e-10)
        assert got.nIterations == batch.nIterations


def test_absent_class_with_intercept_warns():
    X, y = data(200, 3, 3, seed=16)
    with pytest.warns(d4p.ConvergenceWarning, match=r"class\(es\) \[3\] of nClasses = 4"):
        model = train(X, y, 4, True, l2=0.01).model
    assert np.isfinite(model.Beta).all() and model.Beta[3, 0] < -15
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bounded without an intercept and with a penalty
        train(X, y, 4, False, l2=0.01)
