"""Brute-force kNN under scikit-learn's other metrics (manhattan, chebyshev, minkowski,
cosine): scikit-learn's brute force on data without ties, the definitions with ties by
global row, over any split (empty ranks included), in d4p's classes and in d4p.spmd's
estimators; the metric agreed by the ranks; unsupported metrics named."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import neighbors as skn

import d4p
from d4p import _parallel
from naive_neighbors import metric_neighbors
from spmd import local_rows, row_range, spmd

BOTH = "computeIndicesOfNeighbors|computeDistances"
#: (name, metric, p): test bodies of each
METRICS = [("manhattan", "manhattan", 2), ("chebyshev", "chebyshev", 2),
           ("minkowski3", "minkowski", 3), ("minkowski1_5", "minkowski", 1.5),
           ("cosine", "cosine", 2)]


def gaussian(n, p, seed, classes=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)).astype(dtype), rng.integers(0, classes, n)


def my_slice(n):
    """Queries split unlike the training rows: rank 0 has none (two or more ranks)."""
    size = d4p.num_procs()
    weights = [0 if (r == 0 and size > 1) else r + 2 for r in range(size)]
    return slice(*row_range(n, d4p.my_procid(), size, weights))


TOL = dict(rtol=1e-12, atol=1e-14)


def wide(A):
    """The reference's input: float32 data is searched in float64 (its values exactly),
    so it equals scikit-learn on the float64 values, not scikit-learn's float32 paths
    (which round; scikit-learn-intelex's own tests compare with those, to 1e-4 or so)."""
    return A.astype(np.float64)


def _classification_body(metric, p, dtype):
    def body():
        X, y = gaussian(120, 4, seed=1, dtype=dtype)
        Q, _ = gaussian(30, 4, seed=2, dtype=dtype)
        model = d4p.bf_knn_classification_training(nClasses=3, distributed=True).compute(
            local_rows(X), local_rows(y)).model
        mine = my_slice(Q.shape[0])
        for vote, weights in (("voteUniform", "uniform"), ("voteDistance", "distance")):
            res = d4p.bf_knn_classification_prediction(
                nClasses=3, k=7, resultsToCompute=BOTH, voteWeights=vote, metric=metric, p=p,
                resultsToEvaluate="computeClassLabels|computeClassProbabilities",
                distributed=True).compute(Q[mine], model)
            sk = skn.KNeighborsClassifier(7, algorithm="brute", metric=metric, p=p,
                                          weights=weights).fit(wide(X), y)
            dist, idx = sk.kneighbors(wide(Q))
            assert_array_equal(res.indices, idx[mine])
            assert_allclose(res.distances, dist[mine], **TOL)
            assert_array_equal(res.prediction[:, 0], sk.predict(wide(Q))[mine])
            assert_allclose(res.probabilities, sk.predict_proba(wide(Q))[mine], rtol=0,
                            atol=1e-12)
    return body


def _regression_body(metric, p):
    def body():
        X, _ = gaussian(100, 3, seed=3)
        Y = np.column_stack([X @ [1.0, -2.0, 0.5], np.sin(X[:, 0])])
        Q, _ = gaussian(25, 3, seed=4)
        model = d4p.bf_knn_regression_training(distributed=True).compute(
            local_rows(X), local_rows(Y)).model
        mine = my_slice(Q.shape[0])
        for vote, weights in (("voteUniform", "uniform"), ("voteDistance", "distance")):
            res = d4p.bf_knn_regression_prediction(
                k=5, voteWeights=vote, metric=metric, p=p, resultsToCompute=BOTH,
                distributed=True).compute(Q[mine], model)
            sk = skn.KNeighborsRegressor(5, algorithm="brute", metric=metric, p=p,
                                         weights=weights).fit(X, Y)
            assert_array_equal(res.indices, sk.kneighbors(Q)[1][mine])
            assert_allclose(res.prediction, sk.predict(Q)[mine], rtol=1e-12, atol=1e-14)
    return body


def _ties_body(metric, p):
    """Small integers (many equal distances, duplicate rows, zero rows): the
    definitions, ties to the lower global row; a query on a training row (distance 0
    for all but cosine's zero rows) with distance weights."""
    def body():
        rng = np.random.default_rng(5)
        X = rng.integers(0, 3, size=(90, 3)).astype(np.float64)
        X[[7, 50]] = 0.0
        Q = np.concatenate([rng.integers(0, 3, size=(20, 3)).astype(np.float64), X[[3, 7]]])
        y = rng.integers(0, 3, 90)
        model = d4p.bf_knn_classification_training(nClasses=3, distributed=True).compute(
            local_rows(X), local_rows(y)).model
        mine = my_slice(Q.shape[0])
        res = d4p.bf_knn_classification_prediction(
            nClasses=3, k=9, resultsToCompute=BOTH, metric=metric, p=p,
            voteWeights="voteDistance", distributed=True).compute(Q[mine], model)
        dist, idx = metric_neighbors(X, Q, 9, metric, p)
        assert_array_equal(res.indices, idx[mine])
        assert_allclose(res.distances, dist[mine], rtol=1e-12, atol=1e-14)
    return body


def _estimators_body(metric, p, dtype):
    def body():
        from d4p.spmd.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

        X, y = gaussian(90, 3, seed=6, dtype=dtype)
        Q, _ = gaussian(20, 3, seed=7, dtype=dtype)
        target = X.astype(np.float64) @ np.array([1.0, -2.0, 0.5])
        s, q = slice(*row_range(90, d4p.my_procid(), d4p.num_procs())), my_slice(20)
        tol, kw = TOL, dict(metric=metric, p=p)
        Xw, Qw = wide(X), wide(Q)
        for weights in ("uniform", "distance"):
            ours = KNeighborsClassifier(5, weights=weights, **kw).fit(X[s], y[s])
            ref = skn.KNeighborsClassifier(5, weights=weights, algorithm="brute", **kw).fit(Xw, y)
            dist, ind = ours.kneighbors(Q[q])
            assert_array_equal(ind, ref.kneighbors(Qw)[1][q])
            assert_allclose(dist, ref.kneighbors(Qw)[0][q], **tol)
            assert_array_equal(ours.predict(Q[q]), ref.predict(Qw)[q])
            own_dist, own_ind = ours.kneighbors()
            ref_dist, ref_ind = ref.kneighbors()
            assert_array_equal(own_ind, ref_ind[s])
            assert_allclose(own_dist, ref_dist[s], **tol)
            reg = KNeighborsRegressor(4, weights=weights, **kw).fit(X[s], target[s])
            ref_reg = skn.KNeighborsRegressor(4, weights=weights, algorithm="brute",
                                              **kw).fit(Xw, target)
            assert_allclose(reg.predict(Q[q]), ref_reg.predict(Qw)[q], **tol)
        nn = NearestNeighbors(n_neighbors=3, **kw).fit(X[s])
        ref_nn = skn.NearestNeighbors(n_neighbors=3, algorithm="brute", **kw).fit(Xw)
        assert_array_equal(nn.kneighbors(Q[q], return_distance=False),
                           ref_nn.kneighbors(Qw, return_distance=False)[q])
    return body


def _register(name, body):
    body.__name__ = body.__qualname__ = f"_{name}"
    body.__module__ = __name__
    # The split logic is the Euclidean search's (every rank count in test_neighbors):
    # here one process, one rank, and four ranks with an empty one (and MPI) suffice.
    globals()[f"test_{name}"] = spmd(body, ranks=(1, 4))


for _name, _metric, _p in METRICS:
    for _dtype in (np.float64, np.float32):
        _register(f"{_name}_{np.dtype(_dtype).name}_equals_sklearn",
                  _classification_body(_metric, _p, _dtype))
        _register(f"{_name}_{np.dtype(_dtype).name}_estimators_equal_sklearn",
                  _estimators_body(_metric, _p, _dtype))
    _register(f"{_name}_regression_equals_sklearn", _regression_body(_metric, _p))
    _register(f"{_name}_ties_go_to_the_lower_global_row", _ties_body(_metric, _p))


@spmd
def test_cosine_zero_rows_are_at_distance_one():
    X, y = gaussian(40, 3, seed=8)
    X[[0, 5, 30]] = 0.0
    Q = np.zeros((6, 3))
    Q[3:] = X[[1, 2, 3]]
    model = d4p.bf_knn_classification_training(nClasses=3, distributed=True).compute(
        local_rows(X), local_rows(y)).model
    mine = my_slice(6)
    res = d4p.bf_knn_classification_prediction(nClasses=3, k=4, resultsToCompute=BOTH,
                                               metric="cosine", distributed=True).compute(
        Q[mine], model)
    dist, idx = metric_neighbors(X, Q, 4, "cosine")
    assert_array_equal(res.indices, idx[mine])
    assert_allclose(res.distances, dist[mine], rtol=1e-12, atol=1e-14)
    assert (res.distances[: max(0, 3 - mine.start)] == 1.0).all()  # scikit-learn's value


@spmd(ranks=(2, 3, 4, 7))
def test_metric_differs_on_one_rank_raises_everywhere():
    X, y = gaussian(30, 2, seed=9)
    model = d4p.bf_knn_classification_training(nClasses=3, distributed=True).compute(
        local_rows(X), local_rows(y)).model
    last = d4p.my_procid() == d4p.num_procs() - 1
    algo = d4p.bf_knn_classification_prediction(nClasses=3, k=2, distributed=True,
                                                metric="cosine" if last else "manhattan")
    with pytest.raises(ValueError, match=r"metric is 'manhattan' on .* and 'cosine' on rank"):
        algo.compute(X[my_slice(30)], model)


@spmd(ranks=(2, 3, 4, 7))
def test_minkowski_p_differs_on_one_rank_raises_everywhere():
    X, _ = gaussian(30, 2, seed=10)
    model = d4p.bf_knn_regression_training(distributed=True).compute(
        local_rows(X), local_rows(X[:, :1])).model
    last = d4p.my_procid() == d4p.num_procs() - 1
    algo = d4p.bf_knn_regression_prediction(k=2, distributed=True, metric="minkowski",
                                            p=4 if last else 3)
    with pytest.raises(ValueError, match=r"p is 3 on .* and 4 on rank"):
        algo.compute(X[my_slice(30)], model)


@pytest.mark.parametrize("alias, p, canonical", [
    ("l1", 2, ("manhattan", 1.0)), ("cityblock", 2, ("manhattan", 1.0)),
    ("minkowski", 1, ("manhattan", 1.0)), ("infinity", 2, ("chebyshev", np.inf)),
    ("minkowski", np.inf, ("chebyshev", np.inf)), ("minkowski", 2.0, ("euclidean", 2.0)),
    ("l2", 5, ("euclidean", 2.0)), ("minkowski", 0.5, ("minkowski", 0.5)),
    ("cosine", 7, ("cosine", None))])
def test_metric_names_are_canonical(alias, p, canonical):
    algo = d4p.bf_knn_classification_prediction(metric=alias, p=p)
    assert (algo.metric, algo.p) == canonical


@pytest.mark.parametrize("metric, p", [("l1", 2), ("infinity", 2), ("minkowski", 2.5),
                                       ("minkowski", 0.5), ("cosine", 2)])
def test_aliases_and_p_equal_sklearn_batch(metric, p):
    X, y = gaussian(60, 3, seed=11)
    Q, _ = gaussian(10, 3, seed=12)
    model = d4p.bf_knn_classification_training(nClasses=3).compute(X, y).model
    res = d4p.bf_knn_classification_prediction(nClasses=3, k=4, resultsToCompute=BOTH,
                                               metric=metric, p=p).compute(Q, model)
    with pytest.warns(UserWarning) if p < 1 else _nothing():
        dist, idx = skn.NearestNeighbors(  # scikit-learn's estimators lack 'infinity'
            n_neighbors=4, algorithm="brute", metric={"infinity": "chebyshev"}.get(
                metric, metric), p=p).fit(X).kneighbors(Q)
    assert_array_equal(res.indices, idx)
    assert_allclose(res.distances, dist, rtol=1e-12, atol=1e-14)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.timeout(120)
@pytest.mark.parametrize("metric, p", [("manhattan", 1), ("chebyshev", 2), ("minkowski", 3),
                                       ("minkowski", 1.01), ("minkowski", 25),
                                       ("minkowski", 0.7), ("cosine", 2)])
def test_many_training_blocks_and_query_threads(metric, p):
    """More training rows than one kernel block, queries split over two threads; for
    Minkowski most rows are screened out by its power-free bounds."""
    X, y = gaussian(1300, 3, seed=13)
    Q, _ = gaussian(40, 3, seed=14)
    model = d4p.bf_knn_classification_training(nClasses=3).compute(X, y).model
    with _parallel.large_input_paths():
        res = d4p.bf_knn_classification_prediction(nClasses=3, k=6, resultsToCompute=BOTH,
                                                   metric=metric, p=p).compute(Q, model)
    dist, idx = skn.NearestNeighbors(n_neighbors=6, algorithm="brute", metric=metric,
                                     p=p).fit(X).kneighbors(Q)
    assert_array_equal(res.indices, idx)
    assert_allclose(res.distances, dist, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("metric", ["haversine", "mahalanobis", "seuclidean", "jaccard",
                                    "precomputed", lambda a, b: 0.0, None])
@pytest.mark.parametrize("cls", [d4p.bf_knn_classification_training,
                                 d4p.bf_knn_classification_prediction,
                                 d4p.bf_knn_regression_training, d4p.bf_knn_regression_prediction])
def test_unsupported_metric_raises_naming_it(cls, metric):
    with pytest.raises(NotImplementedError, match=r"metric=.* is not supported"):
        cls(metric=metric)


@pytest.mark.parametrize("p, exc, match", [(0, ValueError, "p must be greater than 0"),
                                           (-1.5, ValueError, "p must be greater than 0"),
                                           (np.nan, ValueError, "p must be greater than 0"),
                                           ("3", TypeError, "p must be a real number"),
                                           (True, TypeError, "p must be a real number")])
def test_bad_minkowski_p(p, exc, match):
    with pytest.raises(exc, match=match):
        d4p.bf_knn_classification_prediction(metric="minkowski", p=p)


@pytest.mark.parametrize("kwargs, match", [
    ({"metric": "mahalanobis", "metric_params": {"VI": np.eye(3)}}, "metric_params="),
    ({"metric": "minkowski", "metric_params": {"w": np.ones(3)}}, "metric_params="),
    ({"metric": lambda a, b: float(np.abs(a - b).sum())}, "metric=<function"),
    ({"metric": "haversine"}, "metric='haversine'")])
def test_estimator_unsupported_metric_raises(kwargs, match):
    from d4p.spmd.neighbors import NearestNeighbors

    X, _ = gaussian(20, 3, seed=15)
    with pytest.raises(NotImplementedError, match=match):
        NearestNeighbors(n_neighbors=2, **kwargs).fit(X)


def test_estimator_metric_params_p_overrides_p_as_sklearn():
    from d4p.spmd.neighbors import KNeighborsRegressor

    X, _ = gaussian(50, 3, seed=16)
    Q, _ = gaussian(8, 3, seed=17)
    y = X[:, 0]
    kw = dict(n_neighbors=4, weights="distance", p=2, metric_params={"p": 3, "w": None})
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        ref = skn.KNeighborsRegressor(algorithm="brute", **kw).fit(X, y)
    with pytest.warns(SyntaxWarning, match="Parameter p is found in metric_params"):
        ours = KNeighborsRegressor(**kw).fit(X, y)
    assert_allclose(ours.predict(Q), ref.predict(Q), rtol=1e-12)
    assert_allclose(ours.kneighbors(Q)[0], ref.kneighbors(Q)[0], rtol=1e-12)
