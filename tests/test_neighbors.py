"""Brute-force kNN: scikit-learn agreement over any split of training rows and
queries (empty ranks included), ties by global row, regression, bad input and
parameter mismatch raising on every rank."""
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import d4p
from d4p import knn_search
from naive_neighbors import (exact_neighbors, mean_of, sklearn_classifier, sklearn_regressor,
                             vote)
from spmd import local_rows, row_range, spmd

BOTH = "computeIndicesOfNeighbors|computeDistances"
LABELS_AND_PROBS = "computeClassLabels|computeClassProbabilities"


def gaussian(n, p, seed, classes=3):
    """Continuous data: no two distances tie, so scikit-learn's order is defined."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)), rng.integers(0, classes, n)


def grid(n, p, seed, classes=3, values=3):
    """Small integers: many rows at equal distances, duplicates included."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, values, size=(n, p)).astype(np.float64), rng.integers(0, classes, n)


def query_weights():
    """Queries split differently from the training rows: rank 0 has none (with
    two or more ranks), the last rank the most."""
    size = d4p.num_procs()
    return [0 if (r == 0 and size > 1) else r + 2 for r in range(size)]


def my_queries(Q):
    return Q[my_slice(Q)]


def my_slice(Q):
    return slice(*row_range(Q.shape[0], d4p.my_procid(), d4p.num_procs(), query_weights()))


def train(X, y, n_classes=3, distributed=True, **kw):
    algo = d4p.bf_knn_classification_training(nClasses=n_classes, distributed=distributed, **kw)
    return algo.compute(local_rows(X) if distributed else X,
                        local_rows(y) if distributed else y).model


def predict(Q, model, k, n_classes=3, distributed=True, **kw):
    kw.setdefault("resultsToCompute", BOTH)
    algo = d4p.bf_knn_classification_prediction(k=k, nClasses=n_classes,
                                                distributed=distributed, **kw)
    return algo.compute(my_queries(Q) if distributed else Q, model)


def assert_like_sklearn(res, sk, Q, probabilities=False, mine=None):
    """``res`` holds the rows ``mine`` of the queries ``Q`` (default: this rank's)."""
    mine = my_slice(Q) if mine is None else mine
    dist, idx = sk.kneighbors(Q)
    np.testing.assert_array_equal(res.indices, idx[mine])
    np.testing.assert_allclose(res.distances, dist[mine], rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(res.prediction[:, 0], sk.predict(Q)[mine])
    if probabilities:
        np.testing.assert_allclose(res.probabilities, sk.predict_proba(Q)[mine], rtol=0,
                                   atol=1e-14)


def expect_all_ranks(exc_type, match, fn):
    with pytest.raises(exc_type, match=match) as info:
        fn()
    if d4p.num_procs() > 1:
        assert isinstance(info.value, d4p.RankError)
    return info.value


def on_last_rank(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


# ---- agreement with scikit-learn, every split --------------------------------------------


@spmd
def test_uniform_vote_equals_sklearn():
    X, y = gaussian(300, 4, seed=1)
    Q, _ = gaussian(70, 4, seed=2)
    res = predict(Q, train(X, y), 5, resultsToEvaluate=LABELS_AND_PROBS)
    assert res.indices.dtype == np.int32 and res.distances.dtype == np.float64
    assert res.prediction.shape == (my_queries(Q).shape[0], 1)
    assert_like_sklearn(res, sklearn_classifier(X, y, 5), Q, probabilities=True)


@spmd
def test_distance_vote_equals_sklearn():
    X, y = gaussian(250, 3, seed=3, classes=4)
    Q, _ = gaussian(60, 3, seed=4)
    res = predict(Q, train(X, y, 4), 4, 4, voteWeights="voteDistance",
                  resultsToEvaluate=LABELS_AND_PROBS)
    assert_like_sklearn(res, sklearn_classifier(X, y, 4, "voteDistance"), Q, probabilities=True)


@spmd
def test_queries_on_training_rows_distance_weights_zero_distance():
    """A query equal to a training row: that row alone decides (scikit-learn's rule)."""
    X, y = gaussian(120, 3, seed=5)
    Q = X[::3] + 0.0
    res = predict(Q, train(X, y), 6, voteWeights="voteDistance")
    # d4p's distance to the identical row is exactly 0; scikit-learn's expanded form
    # leaves ~1e-8 there (so its weight is ~1e8 rather than the zero-distance rule)
    assert (res.distances[:, 0] == 0).all()
    sk = sklearn_classifier(X, y, 6, "voteDistance")
    dist, idx = sk.kneighbors(Q)
    np.testing.assert_array_equal(res.indices, idx[my_slice(Q)])
    assert dist[:, 0].max() < 1e-7
    np.testing.assert_allclose(res.distances[:, 1:], dist[my_slice(Q), 1:], rtol=1e-12)
    np.testing.assert_array_equal(res.prediction[:, 0], sk.predict(Q)[my_slice(Q)])
    np.testing.assert_array_equal(res.prediction[:, 0], y[idx[my_slice(Q), 0]])


@spmd
def test_k_larger_than_some_ranks_rows():
    X, y = gaussian(11, 2, seed=6)
    Q, _ = gaussian(25, 2, seed=7)
    res = predict(Q, train(X, y), 9)
    assert_like_sklearn(res, sklearn_classifier(X, y, 9), Q)


@spmd
def test_k_equals_all_training_rows():
    X, y = gaussian(13, 3, seed=8)
    Q, _ = gaussian(9, 3, seed=9)
    res = predict(Q, train(X, y), 13)
    assert_like_sklearn(res, sklearn_classifier(X, y, 13), Q)


@spmd
def test_default_k_is_one_and_default_results():
    X, y = gaussian(80, 3, seed=10)
    Q, _ = gaussian(20, 3, seed=11)
    model = train(X, y)
    res = d4p.bf_knn_classification_prediction(nClasses=3, distributed=True).compute(
        my_queries(Q), model)
    assert res.indices is None and res.distances is None and res.probabilities is None
    np.testing.assert_array_equal(res.prediction[:, 0],
                                  sklearn_classifier(X, y, 1).predict(Q)[my_slice(Q)])


@spmd
def test_ties_go_to_the_lower_global_row():
    X, y = grid(90, 2, seed=12)
    Q, _ = grid(40, 2, seed=13)
    res = predict(Q, train(X, y), 7)
    dist, idx = exact_neighbors(X, my_queries(Q), 7)
    np.testing.assert_array_equal(res.indices, idx)
    np.testing.assert_array_equal(res.distances, dist)
    np.testing.assert_array_equal(res.prediction[:, 0], vote(y[idx], dist, 3))


@spmd
def test_ties_with_distance_weights():
    X, y = grid(70, 3, seed=14, classes=2)
    Q, _ = grid(30, 3, seed=15)
    res = predict(Q, train(X, y, 2), 5, 2, voteWeights="voteDistance")
    dist, idx = exact_neighbors(X, my_queries(Q), 5)
    np.testing.assert_array_equal(res.indices, idx)
    np.testing.assert_array_equal(res.prediction[:, 0], vote(y[idx], dist, 2, "voteDistance"))


@spmd
def test_far_from_the_origin_indices_stay_exact():
    """|x|² ~ 1e13 swamps the distances (~1) in the expanded form: the exact
    re-check keeps the neighbours those of the exact distances."""
    X, y = gaussian(60, 3, seed=16)
    Q, _ = gaussian(20, 3, seed=17)
    X, Q = X + 3e6, Q + 3e6
    res = predict(Q, train(X, y), 4)
    dist, idx = exact_neighbors(X, my_queries(Q), 4)
    np.testing.assert_array_equal(res.indices, idx)
    np.testing.assert_allclose(res.distances, dist, rtol=1e-12)


@spmd
def test_no_queries_on_any_rank():
    X, y = gaussian(30, 2, seed=18)
    res = d4p.bf_knn_classification_prediction(
        k=3, nClasses=3, resultsToCompute=BOTH, resultsToEvaluate=LABELS_AND_PROBS,
        distributed=True).compute(np.empty((0, 2)), train(X, y))
    assert res.indices.shape == (0, 3) and res.distances.shape == (0, 3)
    assert res.prediction.shape == (0, 1) and res.probabilities.shape == (0, 3)


@spmd
def test_empty_ranks_given_as_empty_lists():
    X, y = gaussian(40, 3, seed=19)
    Q, _ = gaussian(10, 3, seed=20)
    last = d4p.my_procid() == d4p.num_procs() - 1
    model = d4p.bf_knn_classification_training(nClasses=3, distributed=True).compute(
        X if last else [], y if last else []).model
    res = d4p.bf_knn_classification_prediction(
        k=3, nClasses=3, resultsToCompute=BOTH, distributed=True).compute(
        Q if last else [], model)
    if last:
        off = model.RowOffset
        assert off == 0
        assert_like_sklearn(res, sklearn_classifier(X, y, 3), Q, mine=slice(None))
    else:
        assert res.indices.shape == (0, 3)


@pytest.mark.timeout(120)
def test_many_exchange_rounds_and_blocks(monkeypatch):
    """Small round and block budgets: many rounds of queries, many blocks."""
    monkeypatch.setattr(knn_search, "ROUND_BYTES", 3000)
    monkeypatch.setattr(knn_search, "BLOCK_BYTES", 4096)
    X, y = grid(150, 3, seed=21, values=4)
    Q, _ = grid(80, 3, seed=22, values=4)

    def body():
        res = predict(Q, train(X, y), 6)
        dist, idx = exact_neighbors(X, my_queries(Q), 6)
        np.testing.assert_array_equal(res.indices, idx)
        np.testing.assert_array_equal(res.prediction[:, 0], vote(y[idx], dist, 3))

    for nranks in (1, 3, 5):
        d4p.run_spmd(body, nranks)


@pytest.mark.parametrize("vote_weights", ["voteUniform", "voteDistance"])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_batch_equals_sklearn(k, vote_weights):
    X, y = gaussian(200, 5, seed=23)
    Q, _ = gaussian(50, 5, seed=24)
    model = train(X, y, distributed=False)
    res = predict(Q, model, k, distributed=False, voteWeights=vote_weights,
                  resultsToEvaluate=LABELS_AND_PROBS)
    assert_like_sklearn(res, sklearn_classifier(X, y, k, vote_weights), Q, probabilities=True,
                        mine=slice(None))


def test_float_fptype_and_float32_input():
    X, y = gaussian(100, 3, seed=25)
    Q, _ = gaussian(20, 3, seed=26)
    X32, Q32 = X.astype(np.float32), Q.astype(np.float32)
    model = d4p.bf_knn_classification_training(nClasses=3, fptype="float").compute(X32, y).model
    res = d4p.bf_knn_classification_prediction(k=3, nClasses=3, fptype="float",
                                               resultsToCompute=BOTH).compute(Q32, model)
    assert res.distances.dtype == np.float32 and res.prediction.dtype == np.float64
    sk = sklearn_classifier(X32.astype(np.float64), y, 3)
    dist, idx = sk.kneighbors(Q32.astype(np.float64))
    np.testing.assert_array_equal(res.indices, idx)
    np.testing.assert_allclose(res.distances, dist, rtol=1e-6)


def test_labels_as_floats_in_a_column_and_unused_classes():
    X, y = gaussian(60, 2, seed=27, classes=2)
    model = d4p.bf_knn_classification_training(nClasses=5).compute(
        X, (y * 3).astype(float).reshape(-1, 1)).model
    res = d4p.bf_knn_classification_prediction(k=5, nClasses=5, resultsToEvaluate=LABELS_AND_PROBS
                                               ).compute(X[:10], model)
    sk = sklearn_classifier(X, y * 3, 5)
    np.testing.assert_array_equal(res.prediction[:, 0], sk.predict(X[:10]))
    assert res.probabilities.shape == (10, 5)
    np.testing.assert_allclose(res.probabilities[:, [0, 3]], sk.predict_proba(X[:10]))


def test_model_pickles_and_predicts_the_same():
    X, y = gaussian(50, 3, seed=28)
    model = train(X, y, distributed=False)
    again = pickle.loads(pickle.dumps(model))
    assert again == model
    a = predict(X[:7], model, 3, distributed=False)
    b = predict(X[:7], again, 3, distributed=False)
    assert a == b


def test_dataUseInModel_doUse_gives_the_same_answer():
    X, y = gaussian(50, 3, seed=29)
    a = d4p.bf_knn_classification_training(nClasses=3, dataUseInModel="doUse").compute(X, y)
    b = d4p.bf_knn_classification_training(nClasses=3).compute(X, y)
    assert a.model.data is X and b.model.data is not X
    assert predict(X, a.model, 4, distributed=False) == predict(X, b.model, 4, distributed=False)


# ---- regression (d4p's own) ---------------------------------------------------------------


def regression_data(n, p, r, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    Y = np.column_stack([X @ rng.normal(size=p) + rng.normal(size=n) for _ in range(r)])
    return X, Y


def regress(X, Y, Q, k, vote_weights="voteUniform"):
    model = d4p.bf_knn_regression_training(distributed=True).compute(local_rows(X),
                                                                     local_rows(Y)).model
    return d4p.bf_knn_regression_prediction(k=k, voteWeights=vote_weights, resultsToCompute=BOTH,
                                            distributed=True).compute(my_queries(Q), model)


@spmd
def test_regression_uniform_equals_sklearn_two_responses():
    X, Y = regression_data(200, 3, 2, seed=30)
    Q, _ = regression_data(40, 3, 1, seed=31)
    res = regress(X, Y, Q, 6)
    sk = sklearn_regressor(X, Y, 6)
    np.testing.assert_array_equal(res.indices, sk.kneighbors(Q)[1][my_slice(Q)])
    np.testing.assert_allclose(res.prediction, sk.predict(Q)[my_slice(Q)], rtol=1e-13,
                               atol=1e-13)


@spmd
def test_regression_distance_weights_equals_sklearn():
    X, Y = regression_data(150, 4, 1, seed=32)
    Q = np.vstack([X[:5], regression_data(30, 4, 1, seed=33)[0]])
    res = regress(X, Y[:, 0], Q, 5, "voteDistance")
    sk = sklearn_regressor(X, Y[:, 0], 5, "voteDistance")
    np.testing.assert_allclose(res.prediction[:, 0], sk.predict(Q)[my_slice(Q)], rtol=1e-13,
                               atol=1e-13)


@spmd
def test_regression_ties_mean_of_the_lower_rows():
    X, _ = grid(60, 2, seed=34)
    Y = np.arange(60, dtype=float).reshape(-1, 1)
    Q, _ = grid(20, 2, seed=35)
    res = regress(X, Y, Q, 4)
    dist, idx = exact_neighbors(X, my_queries(Q), 4)
    np.testing.assert_array_equal(res.indices, idx)
    np.testing.assert_allclose(res.prediction, mean_of(Y[idx], dist), rtol=1e-15)


# ---- bad input, on every rank --------------------------------------------------------------


@spmd
def test_k_larger_than_all_training_rows_raises_everywhere():
    X, y = gaussian(10, 2, seed=40)
    model = train(X, y)
    expect_all_ranks(ValueError, "k = 11 is larger than the number of training rows",
                     lambda: predict(X, model, 11))


@spmd
def test_label_outside_classes_on_one_rank_raises_everywhere():
    X, y = gaussian(12, 2, seed=41)
    bad = y.copy()
    bad[-1] = 3
    expect_all_ranks(ValueError, r"is not a class index", lambda: d4p.bf_knn_classification_training(
        nClasses=3, distributed=True).compute(X, on_last_rank(bad, y)))


@spmd
def test_fractional_label_raises_everywhere():
    X, y = gaussian(12, 2, seed=42)
    bad = y.astype(float)
    bad[0] = 0.5
    expect_all_ranks(ValueError, r"labels\[0\] = 0.5", lambda: d4p.bf_knn_classification_training(
        nClasses=3, distributed=True).compute(X, on_last_rank(bad, y)))


@spmd
def test_nan_in_training_rows_raises_everywhere():
    X, y = gaussian(12, 2, seed=43)
    bad = X.copy()
    bad[4, 1] = np.nan
    expect_all_ranks(ValueError, r"nan at row 4, column 1", lambda: d4p.bf_knn_classification_training(
        nClasses=3, distributed=True).compute(on_last_rank(bad, X), y))


@spmd
def test_nan_in_queries_raises_everywhere():
    X, y = gaussian(12, 2, seed=44)
    model = train(X, y)
    bad = X.copy()
    bad[2, 0] = np.inf
    expect_all_ranks(ValueError, r"inf at row 2, column 0", lambda: d4p.bf_knn_classification_prediction(
        k=2, nClasses=3, distributed=True).compute(on_last_rank(bad, X), model))


@spmd
def test_query_columns_differ_from_the_model_raises_everywhere():
    X, y = gaussian(12, 3, seed=45)
    model = train(X, y)
    expect_all_ranks(ValueError, "data has 2 columns but 3 are expected",
                     lambda: d4p.bf_knn_classification_prediction(
                         k=2, nClasses=3, distributed=True).compute(
                         on_last_rank(X[:, :2], X), model))


@spmd
def test_labels_rows_differ_from_data_raises_everywhere():
    X, y = gaussian(12, 3, seed=46)
    expect_all_ranks(ValueError, "labels has 11 rows but data has 12",
                     lambda: d4p.bf_knn_classification_training(nClasses=3, distributed=True)
                     .compute(X, on_last_rank(y[:-1], y)))


@spmd(ranks=(2, 3, 4, 7))
def test_training_columns_differ_on_one_rank_raises_everywhere():
    X, y = gaussian(12, 3, seed=47)
    expect_all_ranks(ValueError, "has 2 columns but the other ranks have 3",
                     lambda: d4p.bf_knn_classification_training(nClasses=3, distributed=True)
                     .compute(on_last_rank(X[:, :2], X), y))


@spmd(ranks=(2, 3, 4, 7))
def test_k_differs_on_one_rank_raises_everywhere():
    X, y = gaussian(20, 2, seed=48)
    model = train(X, y)
    k = on_last_rank(4, 3)
    expect_all_ranks(ValueError, r"k is 3 on .* and 4 on rank", lambda: predict(X, model, k))


@spmd(ranks=(2, 3, 4, 7))
def test_vote_weights_differ_on_one_rank_raises_everywhere():
    X, y = gaussian(20, 2, seed=49)
    model = train(X, y)
    vw = on_last_rank("voteDistance", "voteUniform")
    expect_all_ranks(ValueError, "voteWeights is", lambda: predict(X, model, 3, voteWeights=vw))


@spmd(ranks=(2, 3, 4, 7))
def test_n_classes_differs_on_one_rank_raises_everywhere():
    X, y = gaussian(20, 2, seed=50)
    expect_all_ranks(ValueError, "nClasses is", lambda: d4p.bf_knn_classification_training(
        nClasses=on_last_rank(4, 3), distributed=True).compute(local_rows(X), local_rows(y)))


@spmd(ranks=(2, 3, 4, 7))
def test_models_of_different_trainings_raise_everywhere():
    X, y = gaussian(20, 2, seed=51)
    first, second = train(X, y), train(X, y)
    model = on_last_rank(second, first)
    expect_all_ranks(ValueError, "model is", lambda: predict(X, model, 3))


@spmd(ranks=(2, 3, 4, 7))
def test_batch_model_in_distributed_prediction_raises_everywhere():
    X, y = gaussian(20, 2, seed=52)
    model = train(X, y, distributed=False)
    expect_all_ranks(ValueError, "trained on 1 rank", lambda: predict(X, model, 3))


@spmd(ranks=(2, 3))
def test_distributed_model_in_batch_prediction_raises():
    X, y = gaussian(20, 2, seed=53)
    model = train(X, y)
    with pytest.raises(ValueError, match="predict with distributed=True"):
        predict(X, model, 3, distributed=False)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"k": 0}, ValueError, "k must be at least 1"),
    ({"k": 2.5}, TypeError, "k must be an integer"),
    ({"nClasses": 0}, ValueError, "nClasses must be at least 1"),
    ({"voteWeights": "inverse"}, ValueError, "voteWeights"),
    ({"resultsToCompute": "computeNeighbours"}, ValueError, "resultsToCompute"),
    ({"resultsToEvaluate": "computeClassLogProbabilities"}, ValueError, "resultsToEvaluate"),
    ({"method": "kdTree"}, ValueError, "unknown method"),
    ({"dataUseInModel": "always"}, ValueError, "dataUseInModel"),
    ({"fptype": "half"}, ValueError, "fptype"),
    ({"distributed": 1}, TypeError, "distributed"),
])
@pytest.mark.parametrize("cls", [d4p.bf_knn_classification_training,
                                 d4p.bf_knn_classification_prediction])
def test_bad_parameters(cls, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kwargs)


@pytest.mark.parametrize("cls", [d4p.bf_knn_classification_training,
                                 d4p.bf_knn_classification_prediction,
                                 d4p.bf_knn_regression_training, d4p.bf_knn_regression_prediction])
def test_positional_class_count_gets_a_hint(cls):
    with pytest.raises(TypeError, match="pass nClasses= and k= by keyword"):
        cls(3)


def test_daal4py_names_and_the_issues_names_of_vote_weights():
    for name, canonical in [("voteDistance", "voteDistance"),
                            ("voteWeightsDistance", "voteDistance"),
                            ("", "voteUniform"), ("voteWeightsUniform", "voteUniform")]:
        assert d4p.bf_knn_classification_prediction(voteWeights=name).voteWeights == canonical


def test_training_result_instead_of_model_is_a_clear_error():
    X, y = gaussian(10, 2, seed=54)
    res = d4p.bf_knn_classification_training(nClasses=3).compute(X, y)
    with pytest.raises(TypeError, match="pass the model"):
        d4p.bf_knn_classification_prediction(nClasses=3).compute(X, res)
    reg = d4p.bf_knn_regression_training().compute(X, y.astype(float)).model
    with pytest.raises(TypeError, match="bf_knn_classification_model"):
        d4p.bf_knn_classification_prediction(nClasses=3).compute(X, reg)


# ---- kernels --------------------------------------------------------------------------------


def test_merge_sorted_takes_the_lexicographic_best():
    from d4p.kernels.neighbors import merge_sorted

    d = np.array([[1.0, 2.0, 5.0, 1.0, 2.0, 3.0]])
    i = np.array([[4, 7, 9, 2, 8, 1]])
    pos = merge_sorted(d, i, 3)
    np.testing.assert_array_equal(i[0, pos[0]], [2, 4, 7])


# ---- property: any split equals the exact reference ---------------------------------------------


@pytest.mark.timeout(300)
@given(n=st.integers(1, 40), p=st.integers(1, 4), nranks=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1), distance=st.booleans(), data_=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_any_split_equals_exact_reference(n, p, nranks, seed, distance, data_):
    X, y = grid(n, p, seed, classes=3, values=3)
    Q, _ = grid(12, p, seed + 1, values=3)
    k = data_.draw(st.integers(1, n))
    train_split = data_.draw(st.lists(st.integers(0, 4), min_size=nranks, max_size=nranks)
                             .filter(lambda s: sum(s) > 0))
    query_split = data_.draw(st.lists(st.integers(0, 4), min_size=nranks, max_size=nranks)
                             .filter(lambda s: sum(s) > 0))
    vw = "voteDistance" if distance else "voteUniform"
    dist, idx = exact_neighbors(X, Q, k)
    expected = vote(y[idx], dist, 3, vw)
    out = [None] * nranks

    def body():
        r = d4p.my_procid()
        model = d4p.bf_knn_classification_training(nClasses=3, distributed=True).compute(
            local_rows(X, train_split), local_rows(y, train_split)).model
        out[r] = d4p.bf_knn_classification_prediction(
            k=k, nClasses=3, voteWeights=vw, resultsToCompute=BOTH, distributed=True).compute(
            local_rows(Q, query_split), model)

    d4p.run_spmd(body, nranks)
    np.testing.assert_array_equal(np.vstack([o.indices for o in out]), idx)
    np.testing.assert_array_equal(np.vstack([o.distances for o in out]), dist)
    np.testing.assert_array_equal(np.concatenate([o.prediction[:, 0] for o in out]), expected)


def test_huge_and_tiny_magnitudes_stay_exact():
    """Squared norms that overflow float64, and values that underflow float32."""
    X, y = gaussian(40, 3, seed=60)
    Q, _ = gaussian(10, 3, seed=61)
    for X, Q in [((1 + 1e-8 * X) * 1e155, (1 + 1e-8 * Q) * 1e155),  # |x|² = inf
                 (X * 1e-30, Q * 1e-30), (X * 1e-150, Q * 1e-150)]:
        model = d4p.bf_knn_classification_training(nClasses=3).compute(X, y).model
        res = d4p.bf_knn_classification_prediction(k=5, nClasses=3, resultsToCompute=BOTH
                                                   ).compute(Q, model)
        dist, idx = exact_neighbors(X, Q, 5)
        assert np.isfinite(dist).all()
        np.testing.assert_array_equal(res.indices, idx)
        np.testing.assert_allclose(res.distances, dist, rtol=1e-12)


def test_screening_skips_most_pairs_and_keeps_exact_heaps():
    """The float32 screen re-checks few pairs exactly; the heaps equal the reference."""
    from d4p.kernels import neighbors as nk

    X, _ = gaussian(3000, 8, seed=62)
    Q, _ = gaussian(50, 8, seed=63)
    X32, sx = knn_search.scaled32(X)
    Q32, sq = knn_search.scaled32(Q)
    heap_d = np.full((50, 4), np.inf)
    heap_i = np.full((50, 4), nk.NO_ROW, dtype=np.int64)
    checks = nk.fold_block(Q32 @ X32.T, 1 / (sq * sx), (Q * Q).sum(1), (X * X).sum(1), Q, X, 0,
                           8 * 11 * 2.0**-24, 0.0, heap_d, heap_i)
    nk.sort_heaps(heap_d, heap_i)
    dist, idx = exact_neighbors(X, Q, 4)
    np.testing.assert_array_equal(heap_i, idx)
    np.testing.assert_allclose(np.sqrt(heap_d), dist, rtol=1e-14)
    assert checks < 0.05 * X.shape[0] * Q.shape[0]


@spmd
def test_training_without_labels_searches_neighbours_only():
    """scikit-learn-intelex trains daal4py's kNN with labels=None for NearestNeighbors."""
    X, _ = gaussian(60, 3, seed=64)
    Q, _ = gaussian(15, 3, seed=65)
    model = d4p.bf_knn_classification_training(distributed=True).compute(local_rows(X)).model
    assert model.labels is None
    res = d4p.bf_knn_classification_prediction(
        k=4, resultsToCompute=BOTH, resultsToEvaluate="none", distributed=True).compute(
        my_queries(Q), model)
    assert res.prediction is None
    np.testing.assert_array_equal(res.indices, exact_neighbors(X, Q, 4)[1][my_slice(Q)])
    expect_all_ranks(ValueError, "trained without labels", lambda: d4p.bf_knn_classification_prediction(
        k=4, distributed=True).compute(my_queries(Q), model))


@spmd(ranks=(2, 3, 4, 7))
def test_labels_given_on_some_ranks_only_raises_everywhere():
    X, y = gaussian(20, 2, seed=66)
    labels = on_last_rank(None, local_rows(y))
    expect_all_ranks(ValueError, "labels is", lambda: d4p.bf_knn_classification_training(
        nClasses=3, distributed=True).compute(local_rows(X), labels))


@spmd(ranks=(2, 3))
def test_wrong_model_type_on_one_rank_raises_everywhere():
    X, y = gaussian(20, 2, seed=67)
    model = train(X, y)
    bad = on_last_rank(d4p.bf_knn_classification_training(nClasses=3, distributed=True)
                       .compute(local_rows(X), local_rows(y)), model)
    expect_all_ranks(TypeError, "pass the model", lambda: predict(X, bad, 3))


def test_prediction_with_default_n_classes_uses_the_models_classes():
    """daal4py's examples predict with ``bf_knn_classification_prediction()`` (nClasses 2)
    on a model of more classes."""
    X, y = gaussian(120, 3, seed=68, classes=5)
    model = d4p.bf_knn_classification_training(nClasses=5).compute(X, y).model
    res = d4p.bf_knn_classification_prediction(k=3).compute(X[:30], model)
    np.testing.assert_array_equal(res.prediction[:, 0],
                                  sklearn_classifier(X, y, 3).predict(X[:30]))


def test_model_rows_are_read_only_and_doUse_follows_the_users_array():
    X, y = gaussian(40, 2, seed=69)
    Q, _ = gaussian(5, 2, seed=70)
    own = d4p.bf_knn_classification_training(nClasses=3).compute(X, y).model
    with pytest.raises(ValueError):
        own.data[0, 0] = 1.0
    first = predict(Q, own, 3, distributed=False)
    assert predict(Q, own, 3, distributed=False) == first  # the kept search data
    Xu = X.copy()
    shared = d4p.bf_knn_classification_training(nClasses=3, dataUseInModel="doUse").compute(
        Xu, y).model
    assert predict(Q, shared, 3, distributed=False) == first
    Xu[:] = Xu[::-1]  # daal4py's 'doUse': the model refers to the caller's rows
    dist, idx = exact_neighbors(Xu, Q, 3)
    np.testing.assert_array_equal(predict(Q, shared, 3, distributed=False).indices, idx)
