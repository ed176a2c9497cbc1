"""multinomial_naive_bayes_training / _prediction: scikit-learn agreement, batch,
distributed, streaming, bad input on one rank, property test over any split."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings, strategies as st
from sklearn.naive_bayes import MultinomialNB

import d4p
from d4p.kernels import naive_bayes as nbk
from d4p.naive_bayes import CountTable, local_counts
from spmd import local_rows, spmd

ALL = "computeClassLabels|computeClassProbabilities|computeClassLogProbabilities"


def count_data(n=300, p=6, k=3, seed=0, rate=2.0):
    """Poisson counts whose rate depends on the class, every class present."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    rng.shuffle(y)
    rates = rng.uniform(0.2, rate, size=(k, p))
    return rng.poisson(rates[y]).astype(np.float64), y


def train(X, y, k, weights=None, **kw):
    return d4p.multinomial_naive_bayes_training(k, **kw).compute(X, y, weights).model


def predict(X, model, k, what=ALL, **kw):
    return d4p.multinomial_naive_bayes_prediction(k, resultsToEvaluate=what, **kw).compute(X, model)


def sklearn_nb(X, y, alpha=1.0, prior=None, weights=None):
    return MultinomialNB(alpha=alpha, fit_prior=False, class_prior=prior,
                         force_alpha=True).fit(X, y, sample_weight=weights)


def assert_like_sklearn(model, pred, sk, X, tol=1e-12):
    np.testing.assert_allclose(model.LogTheta, sk.feature_log_prob_, rtol=0, atol=tol)
    # the d4p extension fields: scikit-learn's (weighted) counts, float64
    np.testing.assert_allclose(model.FeatureCounts, sk.feature_count_, rtol=1e-14, atol=0)
    np.testing.assert_allclose(model.ClassCounts[:, 0], sk.class_count_, rtol=1e-14, atol=0)
    assert model.FeatureCounts.dtype == model.ClassCounts.dtype == np.float64
    np.testing.assert_allclose(model.LogP[:, 0], sk.class_log_prior_, rtol=0, atol=tol)
    np.testing.assert_array_equal(pred.prediction[:, 0], sk.predict(X))
    np.testing.assert_allclose(pred.probabilities, sk.predict_proba(X), rtol=0, atol=tol)
    np.testing.assert_allclose(pred.logProbabilities, sk.predict_log_proba(X), rtol=1e-12,
                               atol=tol)


# ---- batch: agreement with scikit-learn -------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["defaultDense", "fastCSR"])
@pytest.mark.parametrize("alpha", [None, 0.3, "per-feature"])
def test_matches_sklearn_dense_and_csr(sparse, method, alpha):
    X, y = count_data(400, 7, 4, seed=1)
    a = np.random.default_rng(2).uniform(0.05, 3, 7) if alpha == "per-feature" else alpha
    d4p_alpha = a.reshape(1, -1) if alpha == "per-feature" else a
    Xin = sp.csr_matrix(X) if sparse else X
    model = train(Xin, y, 4, method=method, alpha=d4p_alpha)
    pred = predict(Xin, model, 4, method=method)
    sk = sklearn_nb(X, y, alpha=1.0 if a is None else a)
    assert_like_sklearn(model, pred, sk, X)
    assert model.LogTheta.shape == (4, 7) and model.LogP.shape == (4, 1)
    assert model.NFeatures == 7 and model.NumberOfFeatures == 7
    assert isinstance(model.NFeatures, int)
    np.testing.assert_array_equal(model.AuxTable, model.LogTheta + model.LogP)
    assert pred.prediction.dtype == np.float64 and pred.prediction.shape == (400, 1)


def test_uniform_prior_by_default_not_class_frequencies():
    X, y = count_data(100, 3, 3)
    y[:80] = 0  # very unbalanced
    model = train(X, y, 3)
    np.testing.assert_array_equal(model.LogP, np.full((3, 1), -np.log(3)))


@pytest.mark.parametrize("prior", [[0.2, 0.5, 0.3], [2.0, 1.0, 7.0]])
def test_given_priors_used_as_given_like_sklearn_class_prior(prior):
    X, y = count_data(300, 5, 3, seed=4)
    model = train(X, y, 3, priorClassEstimates=np.array(prior).reshape(-1, 1))
    np.testing.assert_allclose(model.LogP[:, 0], np.log(prior), rtol=1e-15)
    assert_like_sklearn(model, predict(X, model, 3), sklearn_nb(X, y, prior=prior), X)


def test_weights_match_sklearn_sample_weight():
    X, y = count_data(300, 5, 3, seed=5)
    w = np.random.default_rng(5).uniform(0, 4, 300)
    w[::7] = 0
    for weights in (w, w.reshape(-1, 1)):
        model = train(X, y, 3, weights)
        assert_like_sklearn(model, predict(X, model, 3), sklearn_nb(X, y, weights=w), X)
    # all weights zero: nothing counted, every class gets the smoothed uniform row
    np.testing.assert_allclose(train(X, y, 3, np.zeros(300)).LogTheta, np.full((3, 5), -np.log(5)),
                               rtol=1e-15)
    # integer weights are repeated rows
    reps = np.arange(300) % 3
    np.testing.assert_array_equal(train(X, y, 3, reps).LogTheta,
                                  train(np.repeat(X, reps, 0), np.repeat(y, reps), 3).LogTheta)


def test_class_absent_everywhere_gets_smoothed_row():
    X, y = count_data(200, 4, 2, seed=6)
    alpha = np.array([[1.0, 2.0, 0.5, 0.5]])
    model = train(X, y, 5, alpha=alpha)
    for c in (2, 3, 4):
        np.testing.assert_allclose(model.LogTheta[c], np.log(alpha[0] / alpha.sum()), rtol=1e-15)
    assert np.isfinite(model.LogTheta).all()
    pred = predict(X, model, 5)
    np.testing.assert_allclose(pred.probabilities.sum(1), 1, rtol=1e-14)


@pytest.mark.parametrize("kind", ["int64", "float32", "F", "strided", "list", "pandas",
                                  "csr32", "coo"])
def test_any_input_layout_and_label_form(kind):
    pd = pytest.importorskip("pandas")
    X, y = count_data(150, 4, 3, seed=7)
    expected = train(X, y, 3).LogTheta
    labels = {"int64": y, "float32": y.astype(np.float32), "F": y.reshape(-1, 1).astype(float),
              "strided": np.repeat(y.reshape(-1, 1), 2, 1)[:, 0], "list": y.tolist(),
              "pandas": pd.Series(y), "csr32": y, "coo": y.reshape(-1, 1)}[kind]
    data = {"int64": X.astype(np.int64), "float32": X.astype(np.float32),
            "F": np.asfortranarray(X), "strided": np.repeat(X, 2, axis=1)[:, ::2],
            "list": X.tolist(), "pandas": pd.DataFrame(X),
            "csr32": sp.csr_matrix(X.astype(np.float32)), "coo": sp.coo_matrix(X)}[kind]
    np.testing.assert_array_equal(train(data, labels, 3).LogTheta, expected)


def test_fptype_float_gives_float32_model_and_probabilities():
    X, y = count_data(100, 3, 2)
    model = train(X, y, 2, fptype="float")
    assert all(getattr(model, f).dtype == np.float32 for f in ("LogP", "LogTheta", "AuxTable"))
    # the counts stay float64 (exact for integer data whatever fptype)
    np.testing.assert_array_equal(model.FeatureCounts, train(X, y, 2).FeatureCounts)
    np.testing.assert_allclose(model.LogTheta, train(X, y, 2).LogTheta, rtol=1e-6)
    pred = predict(X.astype(np.float32), model, 2, fptype="float")
    assert pred.prediction.dtype == np.float64
    assert pred.probabilities.dtype == np.float32 and pred.logProbabilities.dtype == np.float32


def test_parallel_serial_dense_csr_kernels_bitwise_equal():
    rng = np.random.default_rng(8)
    n, p, k = 60_000, 9, 5
    X = rng.poisson(0.7, size=(n, p)) * rng.uniform(0.5, 2.0, size=(n, p))  # non-integers
    y = rng.integers(0, k, n).astype(np.float64)
    w = rng.uniform(0, 2, n)
    bounds = np.append(np.arange(0, n, 1000), n)  # many blocks
    csr = sp.csr_matrix(X)
    results = [
        nbk.counts_dense_serial(X, y, w, k, bounds), nbk.counts_dense_parallel(X, y, w, k, bounds),
        nbk.counts_dense_serial(np.asfortranarray(X), y, w, k, bounds),
        nbk.counts_csr_serial(csr.data, csr.indices, csr.indptr, p, y, w, k, bounds),
        nbk.counts_csr_parallel(csr.data, csr.indices, csr.indptr, p, y, w, k, bounds)]
    for table, negatives in results:
        np.testing.assert_array_equal(table, results[0][0])
        assert negatives == 0
    ref = np.zeros((k, p))
    np.add.at(ref, y.astype(int), X * w[:, None])
    np.testing.assert_allclose(results[0][0][:, :p], ref, rtol=1e-12)
    np.testing.assert_allclose(results[0][0][:, p], np.bincount(y.astype(int), w), rtol=1e-12)
    X[5, 3] = -1
    X[70, 1] = -2
    assert nbk.counts_dense_parallel(X, y, w, k, bounds)[1] == 2
    csr = sp.csr_matrix(X)
    assert nbk.counts_csr_serial(csr.data, csr.indices, csr.indptr, p, y, w, k, bounds)[1] == 2


def test_blocks_depend_on_shape_and_bound_table_memory():
    b = nbk.block_bounds(2_000_000, 50, 20)
    assert b[0] == 0 and b[-1] == 2_000_000 and np.all(np.diff(b) > 0)
    assert np.diff(b)[0] * 50 >= nbk.BLOCK_ELEMENTS and len(b) - 1 >= 8  # work for threads
    b = nbk.block_bounds(100_000, 100_000, 100)  # 80 MB tables: one block
    assert list(b) == [0, 100_000]
    assert list(nbk.block_bounds(0, 5, 2)) == [0, 0]
    indptr = np.arange(0, 20_000 * 100 + 1, 100)  # 20,000 x 10,000 CSR, 1% stored
    b = nbk.block_bounds(20_000, 10_000, 20, indptr)  # blocks read >= 4 tables
    assert b[0] == 0 and b[-1] == 20_000 and 2 <= len(b) - 1 <= 3
    assert np.all(np.diff(indptr[b])[:-1] >= nbk.TABLE_RATIO * 20 * 10_001)
    skewed = np.concatenate(([0], np.cumsum(np.r_[np.full(10, 10**6), np.ones(10**5)])))
    b = nbk.block_bounds(10**5 + 10, 50, 2, skewed)  # rows with many values get own blocks
    assert b[0] == 0 and b[-1] == 10**5 + 10 and np.all(np.diff(b) > 0)


def test_large_enough_for_the_parallel_driver():
    X, y = count_data(200_000, 8, 6, seed=9, rate=3.0)
    model = train(X, y, 6)
    sk = sklearn_nb(X, y)
    np.testing.assert_allclose(model.LogTheta, sk.feature_log_prob_, rtol=0, atol=1e-12)
    pred = predict(X[:5000], model, 6)
    np.testing.assert_array_equal(pred.prediction[:, 0], sk.predict(X[:5000]))


def test_long_documents_have_stable_probabilities():
    X, y = count_data(50, 4, 3, seed=10)
    model = train(X, y, 3)
    big = X * 1e6  # joint log-likelihoods around -1e7: a naive softmax underflows
    pred = predict(big, model, 3)
    assert np.isfinite(pred.logProbabilities).all() and (pred.logProbabilities <= 0).all()
    np.testing.assert_allclose(pred.probabilities.sum(1), 1, rtol=1e-14)
    sk = sklearn_nb(X, y)
    np.testing.assert_allclose(pred.logProbabilities, sk.predict_log_proba(big), rtol=1e-12)


# ---- prediction details -------------------------------------------------------------------


def test_results_to_evaluate_selects_fields():
    X, y = count_data(40, 3, 2)
    model = train(X, y, 2)
    res = predict(X, model, 2, what="")
    assert res.prediction.shape == (40, 1)
    assert res.probabilities is None and res.logProbabilities is None
    res = predict(X, model, 2, what="computeClassProbabilities")
    assert res.prediction is None and res.logProbabilities is None
    assert res.probabilities.shape == (40, 2)
    with pytest.raises(ValueError, match="unexpected value"):
        d4p.multinomial_naive_bayes_prediction(2, resultsToEvaluate="computeClassLabel")


def test_prediction_checks_model_and_data():
    X, y = count_data(40, 3, 2)
    result = d4p.multinomial_naive_bayes_training(2).compute(X, y)
    algo = d4p.multinomial_naive_bayes_prediction(2)
    with pytest.raises(TypeError, match="training_result.model"):
        algo.compute(X, result)
    with pytest.raises(TypeError, match="multinomial_naive_bayes_model"):
        algo.compute(X, object())
    with pytest.raises(ValueError, match="2 classes but nClasses is 3"):
        d4p.multinomial_naive_bayes_prediction(3).compute(X, result.model)
    with pytest.raises(ValueError, match="4 columns but the model was trained on 3"):
        algo.compute(np.ones((2, 4)), result.model)
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="nan at row 5, column 1"):
        algo.compute(bad, result.model)
    empty = algo.compute(np.empty((0, 3)), result.model)
    assert empty.prediction.shape == (0, 1)
    assert algo.compute([], result.model).prediction.shape == (0, 1)


def test_prediction_blocks_and_sparse_agree():
    X, y = count_data(20_000, 5, 4, seed=11)
    model = train(X, y, 4)
    dense = predict(X, model, 4)
    for other in (predict(sp.csr_matrix(X), model, 4, method="fastCSR"),
                  predict(X.astype(np.float32), model, 4), predict(np.asfortranarray(X), model, 4)):
        np.testing.assert_array_equal(other.prediction, dense.prediction)
        np.testing.assert_allclose(other.probabilities, dense.probabilities, rtol=1e-12, atol=1e-15)


def test_results_print_pickle_and_are_read_only():
    X, y = count_data(30, 3, 2)
    res = d4p.multinomial_naive_bayes_training(2).compute(X, y)
    assert pickle.loads(pickle.dumps(res)) == res
    assert "LogTheta: array(shape=(2, 3), dtype=float64)" in str(res.model)
    assert "NFeatures: 3" in str(res.model)
    with pytest.raises(AttributeError):
        res.model.LogP = None
    pred = predict(X, res.model, 2)
    assert pickle.loads(pickle.dumps(pred)) == pred
    assert type(pred).__name__ == "classifier_prediction_result"
    algo = d4p.multinomial_naive_bayes_training(2, "float", "fastCSR")
    assert algo.fptype == "float" and algo.method == "fastCSR"


# ---- bad input (one process) ---------------------------------------------------------------------


def test_constructor_checks():
    T, P = d4p.multinomial_naive_bayes_training, d4p.multinomial_naive_bayes_prediction
    for algo in (T, P):
        with pytest.raises(ValueError, match="unknown method"):
            algo(2, method="multinomial")
        with pytest.raises(ValueError, match="fptype"):
            algo(2, fptype="half")
        with pytest.raises(TypeError, match="nClasses must be an integer"):
            algo(2.0)
        with pytest.raises(ValueError, match="at least 1"):
            algo(0)
        with pytest.raises(ValueError, match="alpha must be positive"):
            algo(2, alpha=0.0)
        with pytest.raises(ValueError, match="alpha must be positive"):
            algo(2, alpha=np.array([[1.0, np.nan]]))
        with pytest.raises(ValueError, match=r"shape \(1, p\)"):
            algo(2, alpha=np.ones((3, 1)))
        with pytest.raises(ValueError, match="nClasses = 2 values"):
            algo(2, priorClassEstimates=np.ones((3, 1)))
        with pytest.raises(ValueError, match="positive and finite"):
            algo(2, priorClassEstimates=np.array([[0.5], [0.0]]))
    with pytest.raises(TypeError):
        P(2, distributed=True)  # no distributed mode, as in daal4py
    with pytest.raises(ValueError, match="needs streaming=True"):
        T(2).finalize()


@pytest.mark.parametrize("label, what", [(-1, "-1.0"), (3, "3.0"), (1.5, "1.5"),
                                         (np.nan, "nan"), (np.inf, "inf")])
def test_bad_labels(label, what):
    X, y = count_data(20, 3, 3)
    y = y.astype(float)
    y[4] = label
    with pytest.raises(ValueError, match=rf"labels\[4\] = {what} is not a class index"):
        train(X, y, 3)


def test_bad_data_and_shapes():
    X, y = count_data(20, 3, 2)
    neg = X.copy()
    neg[7, 2] = -1.0
    with pytest.raises(ValueError, match="negative value -1.0 at row 7, column 2"):
        train(neg, y, 2)
    with pytest.raises(ValueError, match="negative value -1.0 at row 7, column 2"):
        train(sp.csr_matrix(neg), y, 2)
    nan = X.copy()
    nan[3, 0] = np.nan
    with pytest.raises(ValueError, match="nan at row 3, column 0"):
        train(nan, y, 2)
    with pytest.raises(ValueError, match="labels has 19 rows but data has 20"):
        train(X, y[:19], 2)
    with pytest.raises(ValueError, match=r"labels must be 1-D or of shape \(n, 1\)"):
        train(X, np.column_stack([y, y]), 2)
    with pytest.raises(ValueError, match="weights has 3 rows"):
        train(X, y, 2, np.ones(3))
    with pytest.raises(ValueError, match=r"weights must be non-negative; weights\[2\] = -0.5"):
        train(X, y, 2, np.r_[1, 1, -0.5, np.ones(17)])
    with pytest.raises(ValueError, match="weights contains inf"):
        train(X, y, 2, np.r_[1, np.inf, np.ones(18)])
    with pytest.raises(ValueError, match="alpha has 2 values but data has 3 columns"):
        train(X, y, 2, alpha=np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="labels is None"):
        train(X, None, 2)
    with pytest.raises(ValueError, match="no rows on any rank"):
        train(np.empty((0, 3)), [], 2)
    with pytest.raises(ValueError, match="empty on every rank"):
        train([], [], 2)


def test_negative_zero_is_not_negative_and_nan_passes_with_assume_finite():
    X, y = count_data(20, 3, 2)
    Z = X.copy()
    Z[0, 0] = -0.0
    train(Z, y, 2)
    Z[0, 0] = np.nan
    with d4p.config_context(assume_finite=True):
        model = train(Z, y, 2)
    assert np.isnan(model.LogTheta[int(y[0])]).any()


# ---- streaming ----------------------------------------------------------------------------------


def test_streaming_equals_one_shot():
    X, y = count_data(700, 5, 3, seed=12)
    w = np.random.default_rng(12).integers(0, 4, 700).astype(float)
    algo = d4p.multinomial_naive_bayes_training(3, streaming=True)
    for xs, ys, ws in zip(np.array_split(X, 6), np.array_split(y, 6), np.array_split(w, 6)):
        assert algo.compute(sp.csr_matrix(xs) if len(ys) % 2 else xs, ys, ws) is None
    algo.compute([], [])  # an empty chunk is fine
    assert algo.finalize().model == train(X, y, 3, w)
    algo.compute(X[:10], y[:10])  # further chunks join the next finalize
    np.testing.assert_array_equal(algo.finalize().model.LogTheta,
                                  train(np.r_[X, X[:10]], np.r_[y, y[:10]], 3,
                                        np.r_[w, np.ones(10)]).LogTheta)


def test_streaming_bad_chunk_raises_and_loses_nothing():
    X, y = count_data(100, 3, 2)
    algo = d4p.multinomial_naive_bayes_training(2, streaming=True)
    algo.compute(X[:50], y[:50])
    bad = y[50:60].astype(float)
    bad[1] = 7
    with pytest.raises(ValueError, match=r"labels\[1\] = 7.0"):
        algo.compute(X[50:60], bad)
    with pytest.raises(ValueError, match="4 columns but earlier chunks had 3"):
        algo.compute(np.ones((2, 4)), [0, 1])
    algo.compute(X[50:], y[50:])
    assert algo.finalize().model == train(X, y, 2)


# ---- distributed ---------------------------------------------------------------------------------


@spmd
def test_distributed_equals_batch_exactly_on_all_ranks():
    X, y = count_data(501, 6, 4, seed=13)
    w = (np.arange(501) % 4).astype(float)  # integer weights keep the counts exact
    for sparse in (False, True):
        rows, labels, weights = local_rows(X), local_rows(y), local_rows(w)
        data = sp.csr_matrix(rows) if sparse else rows
        for method in ("defaultDense", "fastCSR"):
            res = d4p.multinomial_naive_bayes_training(4, method=method, distributed=True)
            assert res.compute(data, labels).model == train(X, y, 4)
            assert res.compute(data, labels, weights).model == train(X, y, 4, w)
    model = train(X, y, 4)
    # prediction runs on each rank's own rows
    mine = predict(local_rows(X), model, 4)
    np.testing.assert_array_equal(mine.prediction, local_rows(predict(X, model, 4).prediction))


@spmd
def test_distributed_real_weights_and_float_model():
    X, y = count_data(300, 5, 3, seed=14)
    w = np.random.default_rng(14).uniform(0, 2, 300)
    res = d4p.multinomial_naive_bayes_training(3, "float", distributed=True).compute(
        local_rows(X).astype(np.float32), local_rows(y), local_rows(w))
    assert res.model.LogTheta.dtype == np.float32
    res = d4p.multinomial_naive_bayes_training(3, distributed=True).compute(
        local_rows(X), local_rows(y), local_rows(w))
    np.testing.assert_allclose(res.model.LogTheta, train(X, y, 3, w).LogTheta, rtol=0, atol=1e-13)
    for name in ("FeatureCounts", "ClassCounts"):  # weighted counts of every rank's rows
        np.testing.assert_allclose(getattr(res.model, name), getattr(train(X, y, 3, w), name),
                                   rtol=1e-13)


@spmd
def test_empty_ranks_given_as_empty_lists():
    X, y = count_data(40, 3, 3, seed=15)
    last = d4p.my_procid() == d4p.num_procs() - 1
    res = d4p.multinomial_naive_bayes_training(3, distributed=True).compute(
        X if last else [], y if last else [])
    assert res.model == train(X, y, 3)


@spmd
def test_distributed_streaming_each_rank_its_chunks():
    X, y = count_data(600, 4, 3, seed=16)
    rows, labels = local_rows(X), local_rows(y)
    algo = d4p.multinomial_naive_bayes_training(3, distributed=True, streaming=True)
    for xs, ys in zip(np.array_split(rows, 1 + d4p.my_procid()),
                      np.array_split(labels, 1 + d4p.my_procid())):
        algo.compute(xs, ys)
    assert algo.finalize().model == train(X, y, 3)


def _on_last(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


def _expect_all_ranks(match, make_algo, data, labels, weights=None, exc=ValueError):
    with pytest.raises(exc, match=match) as info:
        make_algo().compute(data, labels, weights)
    if d4p.num_procs() > 1:
        assert isinstance(info.value, d4p.RankError)


@spmd
def test_bad_input_on_one_rank_raises_on_every_rank():
    X, y = count_data(30, 3, 3, seed=17)
    algo = lambda: d4p.multinomial_naive_bayes_training(3, distributed=True)  # noqa: E731
    neg = X.copy()
    neg[2, 1] = -2.0
    _expect_all_ranks("negative value -2.0 at row 2, column 1", algo, _on_last(neg, X), y)
    _expect_all_ranks("negative value -2.0 at row 2, column 1", algo,
                      sp.csr_matrix(_on_last(neg, X)), y)
    nan = X.copy()
    nan[4, 0] = np.nan
    _expect_all_ranks("nan at row 4, column 0", algo, _on_last(nan, X), y)
    bad = y.astype(float)
    bad[3] = 3
    _expect_all_ranks(r"labels\[3\] = 3.0 is not a class index", algo, X, _on_last(bad, y))
    bad[3] = -1
    _expect_all_ranks(r"labels\[3\] = -1.0", algo, X, _on_last(bad, y))
    bad[3] = 0.5
    _expect_all_ranks(r"labels\[3\] = 0.5", algo, X, _on_last(bad, y))
    _expect_all_ranks("labels has 29 rows but data has 30", algo, X, _on_last(y[:29], y))
    _expect_all_ranks("weights must be non-negative", algo, X, y,
                      _on_last(-np.ones(30), np.ones(30)))
    if d4p.num_procs() > 1:
        _expect_all_ranks("has 4 columns but the other ranks have 3", algo,
                          _on_last(np.ones((30, 4)), X), y)
        k = _on_last(4, 3)
        _expect_all_ranks(r"nClasses is 3 on ranks? [\d, ]+ and 4 on rank \d+",
                          lambda: d4p.multinomial_naive_bayes_training(k, distributed=True), X, y)
        a = _on_last(2.0, 1.0)
        _expect_all_ranks(r"alpha is .* on ranks? [\d, ]+ and .* on rank \d+",
                          lambda: d4p.multinomial_naive_bayes_training(3, alpha=a,
                                                                       distributed=True), X, y)
    # the same object works again afterwards
    assert algo().compute(local_rows(X), local_rows(y)).model == train(X, y, 3)


@spmd
def test_bad_chunk_on_one_rank_in_distributed_streaming():
    X, y = count_data(30, 3, 3, seed=18)
    algo = d4p.multinomial_naive_bayes_training(3, distributed=True, streaming=True)
    algo.compute(local_rows(X), local_rows(y))
    if d4p.my_procid() == d4p.num_procs() - 1:
        with pytest.raises(ValueError, match="5 columns but earlier chunks had 3"):
            algo.compute(np.ones((2, 5)), [0, 1])
    assert algo.finalize().model == train(X, y, 3)


# ---- property: any split, any weights ---------------------------------------------------------


@given(n=st.integers(1, 80), p=st.integers(1, 6), k=st.integers(1, 5), nranks=st.integers(1, 8),
       seed=st.integers(0, 2**32 - 1), sparse=st.booleans(), weighted=st.booleans(),
       data_=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_any_split_equals_batch_and_sklearn(n, p, k, nranks, seed, sparse, weighted,
                                                     data_):
    rng = np.random.default_rng(seed)
    X = rng.poisson(rng.uniform(0, 3), size=(n, p)).astype(np.float64)
    y = rng.integers(0, k, n)
    w = rng.integers(0, 4, n).astype(float) if weighted else None
    alpha = rng.uniform(0.1, 2.0)
    split = data_.draw(st.lists(st.integers(0, 5), min_size=nranks, max_size=nranks)
                       .filter(lambda s: sum(s) > 0))
    batch = train(X, y, k, w, alpha=alpha)

    # counts: the ranks' partial tables add up exactly to the batch table
    parts = [local_counts(*(local_rows(a, split, r, nranks) if a is not None else None
                            for a in (X, y, w)), k)[0] for r in range(nranks)]
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    np.testing.assert_array_equal(total.table, local_counts(X, y, w, k)[0].table)

    def body():
        rows = local_rows(X, split)
        res = d4p.multinomial_naive_bayes_training(k, alpha=alpha, distributed=True).compute(
            sp.csr_matrix(rows) if sparse else rows, local_rows(y, split),
            None if w is None else local_rows(w, split))
        return res.model

    for model in d4p.run_spmd(body, nranks):
        assert model == batch  # integer counts: exactly the batch model
    # sklearn knows only the classes it has seen and refuses all-zero weights
    if len(np.unique(y)) == k and (w is None or w.sum() > 0):
        sk = sklearn_nb(X, y, alpha=alpha, weights=w)
        np.testing.assert_allclose(batch.LogTheta, sk.feature_log_prob_, rtol=0, atol=1e-12)
        pred = predict(X, batch, k)
        np.testing.assert_allclose(pred.probabilities, sk.predict_proba(X), rtol=0, atol=1e-12)


def test_count_table_identity():
    e = CountTable.empty(3, 4)
    c = CountTable(2, np.arange(15.0).reshape(3, 5))
    assert e.merge(c).n == 2 and np.array_equal(c.merge(e).table, c.table)
