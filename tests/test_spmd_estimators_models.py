"""d4p.spmd estimators over the algorithms of issues 15 and 16: LogisticRegression,
DBSCAN, KNeighborsClassifier / Regressor and NearestNeighbors, equal to
scikit-learn's on all rows concatenated in rank order, for any split.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import cluster as skc
from sklearn import linear_model as skl
from sklearn import neighbors as skn

import d4p
from spmd import local_rows, row_range, spmd
from test_spmd_estimators import close, same_on_every_rank


def my_slice(n):
    return slice(*row_range(n, d4p.my_procid(), d4p.num_procs()))


def classification_data(seed=0, n=90, p=3, classes=(3, 5, 7)):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    y = np.asarray(classes)[np.argmax(X @ rng.standard_normal((p, len(classes)))
                                      + rng.standard_normal((n, len(classes))), axis=1)]
    return X, y


def _logistic_regression():
    from d4p.spmd.linear_model import LogisticRegression

    for classes in ((0, 1), (3, 5, 7)):
        X, y = classification_data(classes=classes)
        s = my_slice(X.shape[0])
        for kwargs in ({}, {"C": 0.3, "fit_intercept": False}):
            ours = LogisticRegression(**kwargs).fit(X[s], y[s])
            ref = skl.LogisticRegression(solver="newton-cholesky" if len(classes) == 2 else
                                         "lbfgs", tol=1e-12, max_iter=10000, **kwargs).fit(X, y)
            assert_array_equal(ours.classes_, ref.classes_)
            close(ours.coef_, ref.coef_, 1e-6)
            close(ours.intercept_, ref.intercept_, 1e-6)
            same_on_every_rank(ours.coef_, ours.intercept_, ours.n_iter_)
            if len(X[s]):
                close(ours.predict_proba(X[s]), ref.predict_proba(X[s]), 1e-6)
        assert ours.score(X[s], y[s]) == pytest.approx(ref.score(X, y))


def _weighted_logistic_regression(classes, class_weight, weighted):
    from d4p.spmd.linear_model import LogisticRegression

    X, y = classification_data(seed=4, n=120, classes=classes)
    w = np.random.default_rng(5).uniform(0, 3, X.shape[0]) if weighted else None
    if weighted:
        w[::7] = 0
    s = my_slice(X.shape[0])
    ours = LogisticRegression(C=0.5, class_weight=class_weight).fit(
        X[s], y[s], None if w is None else w[s])
    ref = skl.LogisticRegression(C=0.5, class_weight=class_weight, tol=1e-12, max_iter=10000,
                                 solver="newton-cholesky" if len(classes) == 2 else "lbfgs"
                                 ).fit(X, y, w)
    close(ours.coef_, ref.coef_, 1e-6)
    close(ours.intercept_, ref.intercept_, 1e-6)
    same_on_every_rank(ours.coef_, ours.intercept_, ours.n_iter_)


@pytest.mark.parametrize("classes", [(0, 1), (3, 5, 7)])
@pytest.mark.parametrize("class_weight, weighted", [(None, True), ("balanced", False),
                                                    ("balanced", True), ("dict", True)])
def test_weighted_logistic_regression(classes, class_weight, weighted):
    if class_weight == "dict":
        class_weight = {c: 1.0 + i for i, c in enumerate(classes)}
    for nranks in (1, 3, 4):  # with an empty rank from 3 ranks on
        d4p.run_spmd(lambda: _weighted_logistic_regression(classes, class_weight, weighted),
                     nranks)


def _bad_weights():
    from d4p.spmd.linear_model import LogisticRegression

    X, y = classification_data(seed=6)
    s = my_slice(X.shape[0])
    mine = np.ones(s.stop - s.start)
    if d4p.my_procid() == d4p.num_procs() - 1:  # the rank with the most rows
        mine[-1] = -1.0
    with pytest.raises(ValueError, match="(?i)negative"):
        LogisticRegression().fit(X[s], y[s], mine)
    with pytest.raises(ValueError, match="at least one non-zero"):
        LogisticRegression().fit(X[s], y[s], np.zeros(s.stop - s.start))


test_bad_weights_raise_on_every_rank = spmd(_bad_weights)


def _dbscan():
    from d4p.spmd.cluster import DBSCAN

    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [3, 3], [0, 4]], dtype=float)
    X = np.concatenate([c + 0.4 * rng.standard_normal((40, 2)) for c in centres] +
                       [rng.uniform(-2, 5, (20, 2))])[rng.permutation(140)]
    s = my_slice(X.shape[0])
    for eps, min_samples in ((0.5, 5), (0.3, 3)):
        ours = DBSCAN(eps=eps, min_samples=min_samples).fit(X[s])
        ref = skc.DBSCAN(eps=eps, min_samples=min_samples).fit(X)
        assert_array_equal(ours.labels_, ref.labels_[s])
        assert_array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
        core = ref.core_sample_indices_
        mine = core[(core >= s.start) & (core < s.stop)]
        assert_allclose(ours.components_, X[mine])
        same_on_every_rank(ours.core_sample_indices_)


def _neighbors():
    from d4p.spmd.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

    X, y = classification_data(seed=2, n=80)
    Q = np.random.default_rng(3).standard_normal((25, 3))
    s, q = my_slice(X.shape[0]), my_slice(Q.shape[0])
    target = X @ np.array([1.0, -2.0, 0.5])
    for weights in ("uniform", "distance"):
        ours = KNeighborsClassifier(5, weights=weights).fit(X[s], y[s])
        ref = skn.KNeighborsClassifier(5, weights=weights, algorithm="brute").fit(X, y)
        dist, ind = ours.kneighbors(Q[q])
        ref_dist, ref_ind = (a[q] for a in ref.kneighbors(Q))
        assert_array_equal(ind, ref_ind)
        close(dist, ref_dist)
        assert_array_equal(ours.predict(Q[q]), ref.predict(Q)[q])
        close(ours.predict_proba(Q[q]), ref.predict_proba(Q)[q])
        own_dist, own_ind = ours.kneighbors()
        assert_array_equal(own_ind, ref.kneighbors()[1][s])
        assert ours.score(Q[q], local_rows(y[:25])) == pytest.approx(ref.score(Q, y[:25]))
        reg = KNeighborsRegressor(4, weights=weights).fit(X[s], target[s])
        ref_reg = skn.KNeighborsRegressor(4, weights=weights, algorithm="brute").fit(X, target)
        close(reg.predict(Q[q]), ref_reg.predict(Q)[q])
    nn = NearestNeighbors(n_neighbors=3).fit(X[s])
    ref_nn = skn.NearestNeighbors(n_neighbors=3, algorithm="brute").fit(X)
    assert_array_equal(nn.kneighbors(Q[q], return_distance=False),
                       ref_nn.kneighbors(Q, return_distance=False)[q])
    graph = nn.kneighbors_graph(Q[q])
    assert graph.shape == (Q[q].shape[0], X.shape[0])
    assert_allclose(graph.toarray(), ref_nn.kneighbors_graph(Q).toarray()[q])


test_logistic_regression = spmd(_logistic_regression)
test_dbscan = spmd(_dbscan)
test_neighbors = spmd(_neighbors)
