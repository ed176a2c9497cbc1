"""d4p.spmd estimators: fitted on every rank's rows, equal to scikit-learn's estimator
fitted on all rows concatenated in rank order, and identical on every rank.

Every ``@spmd`` body runs on the serial communicator, on simulated ranks 1, 2, 3,
4, 7 (uneven, with an empty rank from 3 ranks on, see ``local_rows``) and under
``mpiexec -n 2`` / ``-n 4`` (tests/test_mpi.py).
"""
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn import cluster as skc
from sklearn import covariance as skcov
from sklearn import decomposition as skd
from sklearn import linear_model as skl
from sklearn import naive_bayes as sknb
from sklearn import preprocessing as skp
from sklearn.base import clone

import d4p
from d4p import _engine
from d4p.spmd.basic_statistics import BasicStatistics, IncrementalBasicStatistics
from d4p.spmd.cluster import KMeans
from d4p.spmd.covariance import EmpiricalCovariance, IncrementalEmpiricalCovariance
from d4p.spmd.decomposition import PCA, IncrementalPCA
from d4p.spmd.linear_model import IncrementalLinearRegression, LinearRegression, Ridge
from d4p.spmd.naive_bayes import MultinomialNB
from d4p.spmd.preprocessing import MaxAbsScaler, StandardScaler
from spmd import local_rows, row_range, spmd

RTOL64, RTOL32 = 1e-7, 1e-4


def data(n=90, p=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) + 3.0
    return X.astype(dtype)


def chunks(A, n_chunks=2):
    """This rank's rows split into ``n_chunks`` pieces (some may be empty)."""
    return np.array_split(A, n_chunks)


def close(actual, expected, rtol=RTOL64):
    """Continuous attributes: ``rtol`` relative to the largest entry."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(np.abs(expected).max(initial=0.0), 1e-300)
    assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


def same_on_every_rank(*values):
    """Each value is bitwise the same on every rank."""
    comm = _engine.current_comm()
    mine = pickle.dumps([np.asarray(v) for v in values])
    everyone = comm.allgather(mine) if comm.size > 1 else [mine]
    assert all(e == everyone[0] for e in everyone), "fitted attributes differ between ranks"


def my_slice(n):
    return slice(*row_range(n, d4p.my_procid(), d4p.num_procs()))


# ---- basic statistics ----------------------------------------------------------------------


@spmd
def test_basic_statistics():
    X = data()
    w = np.linspace(0.5, 2.0, X.shape[0])
    s = my_slice(X.shape[0])
    est = BasicStatistics().fit(X[s])
    close(est.mean_, X.mean(0))
    close(est.variance_, X.var(0, ddof=1))
    close(est.min_, X.min(0))
    close(est.max_, X.max(0))
    close(est.sum_squares_centered_, ((X - X.mean(0)) ** 2).sum(0))
    close(est.variation_, X.std(0, ddof=1) / X.mean(0))
    same_on_every_rank(est.mean_, est.variance_, est.max_)
    Xw = X * w[:, None]
    weighted = BasicStatistics(result_options=["mean", "sum"]).fit(X[s], sample_weight=w[s])
    close(weighted.mean_, Xw.mean(0))
    close(weighted.sum_, Xw.sum(0))
    assert not hasattr(weighted, "max_")
    f32 = BasicStatistics("mean").fit(X[s].astype(np.float32))
    assert f32.mean_.dtype == np.float32
    close(f32.mean_, X.mean(0), RTOL32)


@spmd
def test_incremental_basic_statistics():
    X = data(seed=1)
    est = IncrementalBasicStatistics()
    for chunk in chunks(local_rows(X), 3):
        est.partial_fit(chunk)
    est.finalize_fit()
    close(est.sum_, X.sum(0))
    close(est.standard_deviation_, X.std(0, ddof=1))
    assert est.n_samples_seen_ == X.shape[0]
    same_on_every_rank(est.sum_, est.standard_deviation_)
    again = IncrementalBasicStatistics(batch_size=7).fit(local_rows(X))
    close(again.second_order_raw_moment_, (X ** 2).mean(0))


@spmd
def test_zero_weights_on_one_rank():
    """Rank 0's weights (and the first chunk's) are all zero: its rows count for
    nothing, which is no error (scikit-learn's "at least one non-zero weight" is
    about all rows), for the batch and the incremental estimators."""
    X = data(seed=3)
    w = np.linspace(0.5, 2.0, X.shape[0])
    w[: X.shape[0] // 3] = 0.0
    Xw = X * w[:, None]
    s = my_slice(X.shape[0])
    est = BasicStatistics(result_options=["sum", "mean"]).fit(X[s], sample_weight=w[s])
    close(est.sum_, Xw.sum(0))
    close(est.mean_, Xw.mean(0))
    inc = IncrementalBasicStatistics(result_options="sum")
    for lo, hi in ((s.start, (s.start + s.stop) // 2), ((s.start + s.stop) // 2, s.stop)):
        inc.partial_fit(X[lo:hi], sample_weight=w[lo:hi])
    close(inc.sum_, Xw.sum(0))
    ols = LinearRegression().fit(X[s], X[s, 0] + 2 * X[s, 1], sample_weight=w[s])
    ref = skl.LinearRegression().fit(X, X[:, 0] + 2 * X[:, 1], sample_weight=w)
    close(ols.coef_, ref.coef_)
    # zero weights on every rank: scikit-learn's error, on every rank
    for make in (lambda: BasicStatistics(), lambda: IncrementalBasicStatistics(),
                 lambda: StandardScaler(), lambda: MultinomialNB()):
        est = make()
        with pytest.raises(ValueError, match="at least one non-zero"):
            if isinstance(est, MultinomialNB):
                est.fit(np.abs(X[s]), np.arange(s.stop - s.start) % 2, sample_weight=0 * w[s])
            else:
                est.fit(X[s], sample_weight=0 * w[s])


# ---- covariance ---------------------------------------------------------------------------


@spmd
def test_empirical_covariance():
    X = data(seed=2)
    for centred in (False, True):
        ours = EmpiricalCovariance(assume_centered=centred).fit(local_rows(X))
        ref = skcov.EmpiricalCovariance(assume_centered=centred).fit(X)
        close(ours.covariance_, ref.covariance_)
        close(ours.location_, ref.location_)
        close(ours.precision_, ref.precision_)
        same_on_every_rank(ours.covariance_, ours.precision_)
        test = X[::-1] * 0.9 + 0.1
        assert ours.score(local_rows(test)) == pytest.approx(ref.score(test), rel=RTOL64)
        if len(local_rows(test)):
            close(ours.mahalanobis(local_rows(test)), ref.mahalanobis(local_rows(test)))


@spmd
def test_incremental_empirical_covariance():
    X = data(seed=3)
    ours = IncrementalEmpiricalCovariance(store_precision=True)
    for chunk in chunks(local_rows(X), 2):
        ours.partial_fit(chunk)
    ours.finalize_fit()
    ref = skcov.EmpiricalCovariance().fit(X)
    close(ours.covariance_, ref.covariance_)
    close(ours.precision_, ref.precision_)
    assert ours.n_samples_seen_ == X.shape[0]
    same_on_every_rank(ours.covariance_)
    fitted = IncrementalEmpiricalCovariance(batch_size=5).fit(local_rows(X))
    close(fitted.covariance_, ref.covariance_)


@spmd
def test_incremental_rank_without_partial_fit_still_finalizes():
    X = data(seed=19)
    est = IncrementalLinearRegression(fit_intercept=False)
    mine = local_rows(X)
    if len(mine):  # an empty rank never calls partial_fit, only finalize_fit
        est.partial_fit(mine[:, :3], mine[:, 3])
    est.finalize_fit()
    ref = skl.LinearRegression(fit_intercept=False).fit(X[:, :3], X[:, 3])
    close(est.coef_, ref.coef_)
    assert est.n_features_in_ == 3
    same_on_every_rank(est.coef_)


# ---- preprocessing -------------------------------------------------------------------------


@spmd
def test_scalers():
    X = data(seed=4)
    w = np.linspace(0.1, 3.0, X.shape[0])
    s = my_slice(X.shape[0])
    for kwargs in ({}, {"with_mean": False}, {"with_std": False}):
        ours = StandardScaler(**kwargs).fit(X[s])
        ref = skp.StandardScaler(**kwargs).fit(X)
        for name in ("mean_", "var_", "scale_"):
            if getattr(ref, name) is None:
                assert getattr(ours, name) is None
            else:
                close(getattr(ours, name), getattr(ref, name))
        if len(X[s]):
            close(ours.transform(X[s]), ref.transform(X[s]))
        assert ours.n_samples_seen_ == ref.n_samples_seen_
    ours = StandardScaler().fit(X[s], sample_weight=w[s])
    ref = skp.StandardScaler().fit(X, sample_weight=w)
    close(ours.mean_, ref.mean_)
    close(ours.var_, ref.var_, 1e-6)  # single-pass weighted variance
    inc, ref_inc = StandardScaler(), skp.StandardScaler()
    for part in np.array_split(np.arange(X.shape[0]), 2):  # collective partial_fit
        inc.partial_fit(local_rows(X[part]))
        ref_inc.partial_fit(X[part])
    close(inc.var_, ref_inc.var_)
    same_on_every_rank(inc.mean_, inc.var_)
    dense = sparse.random(60, 5, density=0.3, random_state=0).toarray() * 4
    dense[::3] *= -1
    m = MaxAbsScaler().fit(sparse.csr_matrix(dense[my_slice(60)]))
    close(m.max_abs_, skp.MaxAbsScaler().fit(dense).max_abs_)
    assert m.n_samples_seen_ == 60


# ---- linear models -------------------------------------------------------------------------


def regression_data(seed=5, n=80, p=4, k=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + 1.0
    beta = rng.standard_normal((p,) if k is None else (p, k))
    y = X @ beta + 0.5 + 0.1 * rng.standard_normal((n,) if k is None else (n, k))
    return X, y


@spmd
def test_linear_regression():
    w = None
    for k in (None, 2):
        X, y = regression_data(k=k)
        s = my_slice(X.shape[0])
        w = np.linspace(0.2, 2.0, X.shape[0])
        for fit_intercept in (True, False):
            for sw in (None, w):
                ours = LinearRegression(fit_intercept=fit_intercept).fit(
                    X[s], y[s], None if sw is None else sw[s])
                ref = skl.LinearRegression(fit_intercept=fit_intercept).fit(X, y, sw)
                close(ours.coef_, ref.coef_)
                close(np.atleast_1d(ours.intercept_), np.atleast_1d(ref.intercept_))
                same_on_every_rank(ours.coef_, ours.intercept_)
                if len(X[s]):
                    close(ours.predict(X[s]), ref.predict(X[s]))
        assert ours.score(X[s], y[s]) == pytest.approx(ref.score(X, y), rel=1e-10)
    X, y = regression_data(seed=6)
    Xs = sparse.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    ours = LinearRegression().fit(Xs[my_slice(80)], y[my_slice(80)])
    close(ours.coef_, skl.LinearRegression().fit(Xs, y).coef_, 1e-6)


@spmd
def test_ridge():
    X, Y = regression_data(seed=7, k=2)
    s = my_slice(X.shape[0])
    w = np.linspace(0.2, 2.0, X.shape[0])
    for alpha in (0.7, np.array([0.1, 3.0])):
        for sw in (None, w):
            ours = Ridge(alpha=alpha).fit(X[s], Y[s], None if sw is None else sw[s])
            ref = skl.Ridge(alpha=alpha, solver="cholesky").fit(X, Y, sw)
            close(ours.coef_, ref.coef_)
            close(ours.intercept_, ref.intercept_)
            same_on_every_rank(ours.coef_)
    assert ours.score(X[s], Y[s], w[s]) == pytest.approx(ref.score(X, Y, w), rel=1e-10)


@spmd
def test_incremental_linear_regression():
    X, y = regression_data(seed=8)
    ours = IncrementalLinearRegression()
    for chunk_X, chunk_y in zip(chunks(local_rows(X), 3), chunks(local_rows(y), 3)):
        ours.partial_fit(chunk_X, chunk_y)
    ours.finalize_fit()
    ref = skl.LinearRegression().fit(X, y)
    close(ours.coef_, ref.coef_)
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=RTOL64)
    assert ours.n_samples_seen_ == X.shape[0]
    same_on_every_rank(ours.coef_, ours.intercept_)
    hp = IncrementalLinearRegression.get_hyperparameters("fit")
    hp.cpu_macro_block = 64
    fitted = IncrementalLinearRegression(batch_size=9).fit(local_rows(X), local_rows(y))
    close(fitted.coef_, ref.coef_)


# ---- decomposition -------------------------------------------------------------------------


@spmd
def test_pca():
    X = data(n=70, p=5, seed=9)
    s = my_slice(X.shape[0])
    for kwargs in ({"svd_solver": "full"}, {"n_components": 2, "svd_solver": "full"},
                   {"n_components": 0.9, "svd_solver": "full"}, {"n_components": "mle"},
                   {"n_components": 3, "svd_solver": "covariance_eigh"},
                   {"n_components": 2, "whiten": True, "svd_solver": "full"}):
        ours = PCA(**kwargs).fit(X[s])
        ref = skd.PCA(**kwargs).fit(X)
        assert ours.n_components_ == ref.n_components_
        for name in ("components_", "explained_variance_", "explained_variance_ratio_",
                     "singular_values_", "mean_"):
            close(getattr(ours, name), getattr(ref, name), 1e-7 if "eigh" not in str(kwargs)
                  else 1e-6)
        assert ours.noise_variance_ == pytest.approx(ref.noise_variance_, rel=1e-6, abs=1e-12)
        if len(X[s]):
            close(ours.transform(X[s]), ref.transform(X[s]), 1e-6)
        same_on_every_rank(ours.components_, ours.explained_variance_)
    assert ours.score(X[s]) == pytest.approx(ref.score(X), rel=1e-8)


@spmd
def test_incremental_pca():
    X = data(n=70, p=5, seed=10)
    ours = IncrementalPCA(n_components=3)
    for chunk in chunks(local_rows(X), 2):
        ours.partial_fit(chunk)
    ours.finalize_fit()
    ref = skd.PCA(n_components=3, svd_solver="full").fit(X)
    close(ours.components_, ref.components_, 1e-6)
    close(ours.explained_variance_, ref.explained_variance_)
    close(ours.singular_values_, ref.singular_values_)
    assert ours.n_samples_seen_ == X.shape[0]
    same_on_every_rank(ours.components_)


# ---- clustering ----------------------------------------------------------------------------


def blobs(seed=11):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [6, 0, 1], [0, 7, -2], [5, 5, 5]], dtype=float)
    return np.concatenate([c + rng.standard_normal((30, 3)) for c in centres])[
        rng.permutation(120)]


@spmd
def test_kmeans_from_array():
    X = blobs()
    s = my_slice(X.shape[0])
    init = X[[0, 1, 2, 3]]
    ours = KMeans(4, init=init, n_init=1).fit(X[s])
    ref = skc.KMeans(4, init=init, n_init=1).fit(X)
    close(ours.cluster_centers_, ref.cluster_centers_)
    assert_array_equal(ours.labels_, ref.labels_[s])
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=RTOL64)
    if len(X[s]):
        assert_array_equal(ours.predict(X[s]), ref.predict(X[s]))
    assert ours.score(X[s]) == pytest.approx(ref.score(X), rel=RTOL64)
    same_on_every_rank(ours.cluster_centers_, ours.inertia_, ours.n_iter_)


@spmd
def test_kmeans_random_inits():
    """k-means++ and random: the batch d4p layer on all rows, for any split."""
    X = blobs(seed=12)
    for init, n_init in (("k-means++", 1), ("random", 3)):
        ours = KMeans(4, init=init, n_init=n_init, random_state=5).fit(local_rows(X))
        rng = np.random.RandomState(np.random.RandomState(5).randint(0, 2**31 - 1))
        method = "plusPlusDense" if init == "k-means++" else "randomDense"
        best = None
        for _ in range(n_init):
            C0 = d4p.kmeans_init(4, method=method, nTrials=2 + int(np.log(4)),
                                 seed=int(rng.randint(0, 2**31 - 1))).compute(X).centroids
            tol = 1e-4 * np.mean(X.var(axis=0))
            res = d4p.kmeans(4, 300, accuracyThreshold=tol, assignFlag=True).compute(X, C0)
            if best is None or res.objectiveFunction[0, 0] < best.objectiveFunction[0, 0]:
                best = res
        close(ours.cluster_centers_, best.centroids)
        assert_array_equal(ours.labels_, local_rows(best.assignments.ravel()))
        same_on_every_rank(ours.cluster_centers_)


def kmeans_weights(n, seed=3):
    """Integer weights 0..3: zeros included, and exact in every sum."""
    return np.random.default_rng(seed).integers(0, 4, n).astype(np.float64)


@spmd
def test_kmeans_sample_weight_from_array():
    """With an init array, scikit-learn's weighted fit on the concatenated rows."""
    X = blobs(seed=21)
    w = kmeans_weights(len(X))
    init = X[[0, 1, 2, 3]] + 0.5
    ours = KMeans(4, init=init, n_init=1).fit(local_rows(X), sample_weight=local_rows(w))
    ref = skc.KMeans(4, init=init, n_init=1).fit(X, sample_weight=w)
    close(ours.cluster_centers_, ref.cluster_centers_)
    assert_array_equal(ours.labels_, local_rows(ref.labels_))
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=RTOL64)
    assert ours.score(local_rows(X), sample_weight=local_rows(w)) == pytest.approx(
        ref.score(X, sample_weight=w), rel=RTOL64)
    labels = KMeans(4, init=init, n_init=1).fit_predict(local_rows(X),
                                                         sample_weight=local_rows(w))
    assert_array_equal(labels, local_rows(ref.labels_))
    same_on_every_rank(ours.cluster_centers_, ours.inertia_, ours.n_iter_)


@spmd
def test_kmeans_sample_weight_random_inits():
    """k-means++ and random with weights: the weighted batch d4p layer, any split;
    scikit-learn's tol stays the unweighted variance."""
    X = blobs(seed=22)
    w = kmeans_weights(len(X), 4)
    for init, n_init in (("k-means++", 1), ("random", 2)):
        ours = KMeans(4, init=init, n_init=n_init, random_state=3).fit(
            local_rows(X), sample_weight=local_rows(w))
        rng = np.random.RandomState(np.random.RandomState(3).randint(0, 2**31 - 1))
        method = "plusPlusDense" if init == "k-means++" else "randomDense"
        best = None
        for _ in range(n_init):
            C0 = d4p.kmeans_init(4, method=method, nTrials=2 + int(np.log(4)),
                                 seed=int(rng.randint(0, 2**31 - 1))).compute(
                X, weights=w).centroids
            tol = 1e-4 * np.mean(X.var(axis=0))
            res = d4p.kmeans(4, 300, accuracyThreshold=tol, assignFlag=True).compute(
                X, C0, weights=w)
            if best is None or res.objectiveFunction[0, 0] < best.objectiveFunction[0, 0]:
                best = res
        close(ours.cluster_centers_, best.centroids)
        assert_array_equal(ours.labels_, local_rows(best.assignments.ravel()))
        assert ours.inertia_ == pytest.approx(best.objectiveFunction[0, 0], rel=RTOL64)
        # and the fit is as good as scikit-learn's weighted k-means++ (other draws)
        if init == "k-means++":
            ref = skc.KMeans(4, n_init=1, random_state=3).fit(X, sample_weight=w)
            assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


@spmd
def test_kmeans_equal_weights_are_no_weights():
    """scikit-learn's None is all ones: equal weights give the unweighted fit, with
    the inertia scaled; ranks without weights among ranks with weights weigh 1."""
    X = blobs(seed=23)
    plain = KMeans(4, random_state=1).fit(local_rows(X))
    twice = KMeans(4, random_state=1).fit(local_rows(X), sample_weight=2.0)
    assert_array_equal(twice.cluster_centers_, plain.cluster_centers_)
    assert_array_equal(twice.labels_, plain.labels_)
    assert twice.inertia_ == pytest.approx(2 * plain.inertia_, rel=1e-12)
    w = kmeans_weights(len(X), 5) + 1.0
    mine = local_rows(w)
    mixed = None if d4p.my_procid() == 0 else mine  # rank 0 gives None: weight 1
    expected = np.where(np.arange(len(X)) < row_range(len(X), 0, d4p.num_procs())[1], 1.0, w)
    init = X[[0, 1, 2, 3]]
    ours = KMeans(4, init=init, n_init=1).fit(local_rows(X), sample_weight=mixed)
    ref = skc.KMeans(4, init=init, n_init=1).fit(X, sample_weight=expected)
    close(ours.cluster_centers_, ref.cluster_centers_)


#: (what is wrong with the last rank's weights, the weights, expected message)
KMEANS_BAD_WEIGHTS = [
    ("negative", lambda n: -np.ones(n), "non-negative"),
    ("nan", lambda n: np.full(n, np.nan), "NaN"),
    ("length", lambda n: np.ones(n + 1), "sample_weight.shape"),
]


@spmd
def test_kmeans_bad_sample_weight_raises_on_every_rank():
    X = blobs(seed=24)
    for name, bad, match in KMEANS_BAD_WEIGHTS:
        mine = local_rows(X)  # the last rank always has rows
        last = d4p.my_procid() == d4p.num_procs() - 1
        w = bad(len(mine)) if last else np.ones(len(mine))
        with pytest.raises(ValueError, match=match):
            KMeans(2, n_init=1, random_state=0).fit(mine, sample_weight=w)
    with pytest.raises(ValueError, match="non-zero"):
        KMeans(2, n_init=1, random_state=0).fit(local_rows(X), sample_weight=0.0)


# ---- naive Bayes ---------------------------------------------------------------------------


def counts_data(seed=13, n=90, p=6):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 6, (n, p)).astype(np.float64)
    y = np.array(["spam", "ham", "eggs"])[rng.integers(0, 3, n)]
    return X, y


@spmd
def test_multinomial_nb():
    X, y = counts_data()
    s = my_slice(X.shape[0])
    w = np.linspace(0.5, 1.5, X.shape[0])
    for kwargs in ({}, {"alpha": 0.3, "fit_prior": False}, {"class_prior": [0.2, 0.3, 0.5]}):
        for sw in (None, w):
            ours = MultinomialNB(**kwargs).fit(X[s], y[s], None if sw is None else sw[s])
            ref = sknb.MultinomialNB(**kwargs).fit(X, y, sw)
            assert_array_equal(ours.classes_, ref.classes_)
            for name in ("feature_log_prob_", "class_log_prior_", "class_count_",
                         "feature_count_"):
                close(getattr(ours, name), getattr(ref, name))
            if len(X[s]):
                assert_array_equal(ours.predict(X[s]), ref.predict(X[s]))
            same_on_every_rank(ours.feature_log_prob_)
    inc, ref_inc = MultinomialNB(), sknb.MultinomialNB()
    for part in np.array_split(np.arange(X.shape[0]), 2):
        inc.partial_fit(sparse.csr_matrix(local_rows(X[part])), local_rows(y[part]),
                        classes=["eggs", "ham", "spam"])
        ref_inc.partial_fit(X[part], y[part], classes=["eggs", "ham", "spam"])
    close(inc.feature_log_prob_, ref_inc.feature_log_prob_)
    assert inc.score(X[s], y[s]) == pytest.approx(ref_inc.score(X, y), rel=1e-12)


def _nb_integer_labels(kind, n):
    rng = np.random.default_rng(21)
    return {"0..K-1": rng.integers(0, 3, n), "shifted": rng.integers(0, 3, n) * 40 - 7,
            "wide": rng.integers(0, 3, n) * 1000, "int8": rng.integers(-2, 2, n).astype(np.int8),
            "uint64": rng.integers(0, 3, n).astype(np.uint64) + np.uint64(2 ** 63)}[kind]


@pytest.mark.parametrize("kind", ["0..K-1", "shifted", "wide", "int8", "uint64"])
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_nb_integer_labels(kind, weighted):
    X, _ = counts_data(seed=22, n=120)
    y = _nb_integer_labels(kind, X.shape[0])
    w = np.linspace(0.0, 2.0, X.shape[0]) if weighted else None

    def body():
        s = my_slice(X.shape[0])
        ours = MultinomialNB().fit(X[s], y[s], None if w is None else w[s])
        ref = sknb.MultinomialNB().fit(X, y, w)
        assert_array_equal(ours.classes_, ref.classes_)
        assert ours.classes_.dtype == ref.classes_.dtype
        for name in ("feature_count_", "class_count_", "feature_log_prob_", "class_log_prior_"):
            close(getattr(ours, name), getattr(ref, name), rtol=1e-13)
        if len(X[s]):
            assert_array_equal(ours.predict(X[s]), ref.predict(X[s]))

    d4p.run_spmd(body, 3)


def test_distinct_labels_and_class_indices_match_numpy():
    from d4p.spmd._base import class_indices, distinct_labels

    rng = np.random.default_rng(23)
    for dtype in (np.int8, np.int16, np.int64, np.uint8, np.uint64):
        info = np.iinfo(dtype)
        for lo, hi in ((0, 2), (0, 63), (0, 64), (-40, 30), (info.min, info.min + 5),
                       (info.max - 70, info.max), (info.min, info.max)):
            lo, hi = max(lo, info.min), min(hi, info.max)
            y = rng.integers(lo, hi, 300, endpoint=True, dtype=dtype)
            classes = distinct_labels(y)
            assert_array_equal(classes, np.unique(y))
            assert classes.dtype == y.dtype
            assert_array_equal(class_indices(classes, y), np.searchsorted(classes, y))


@spmd
def test_multinomial_nb_negative_counts_raise_everywhere_and_keep_the_model():
    X, y = counts_data(seed=24)
    classes = ["eggs", "ham", "spam"]
    first, second = np.array_split(np.arange(X.shape[0]), 2)
    est = MultinomialNB().partial_fit(local_rows(X[first]), local_rows(y[first]), classes)
    before = pickle.dumps(est)
    bad = local_rows(X[second]).copy()
    if d4p.my_procid() == d4p.num_procs() - 1:  # the rank with the most rows
        bad[0, 1] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to MultinomialNB"):
        est.partial_fit(bad, local_rows(y[second]))
    assert pickle.dumps(est) == before  # nothing of the failed call was added
    est.partial_fit(local_rows(X[second]), local_rows(y[second]))
    ref = sknb.MultinomialNB().fit(X, y)
    for name in ("feature_count_", "class_count_", "feature_log_prob_"):
        close(getattr(est, name), getattr(ref, name), rtol=1e-13)


# ---- agreement and bad input ---------------------------------------------------------------


@spmd
def test_bad_input_on_one_rank_raises_everywhere():
    X = data(seed=14)
    mine = local_rows(X).copy()
    if d4p.my_procid() == d4p.num_procs() - 1:  # the rank with the most rows
        mine[0, 0] = np.nan
    with pytest.raises(ValueError, match="(?i)nan"):
        LinearRegression().fit(mine, mine[:, 0])
    with pytest.raises(ValueError, match="(?i)nan"):
        PCA().fit(mine)


@spmd
def test_parameters_must_agree():
    X = data(seed=15)
    size = d4p.num_procs()
    if size == 1:
        return
    alpha = 1.0 if d4p.my_procid() else 2.0
    with pytest.raises(ValueError, match="alpha"):
        Ridge(alpha=alpha).fit(local_rows(X), local_rows(X[:, 0]))
    n_init = 1 if d4p.my_procid() else 2
    with pytest.raises(ValueError, match="n_init"):
        KMeans(2, n_init=n_init, random_state=0).fit(local_rows(X))
    cols = X if d4p.my_procid() else X[:, :3]
    with pytest.raises(ValueError, match="columns|features"):
        EmpiricalCovariance().fit(local_rows(cols))


@spmd
def test_dataframes_and_float32():
    pd = pytest.importorskip("pandas")
    X, y = regression_data(seed=16)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    s = my_slice(X.shape[0])
    ours = LinearRegression().fit(frame.iloc[s], y[s])
    assert list(ours.feature_names_in_) == ["a", "b", "c", "d"]
    pca = PCA(2).fit(frame.iloc[s])
    assert list(pca.feature_names_in_) == ["a", "b", "c", "d"]
    f32 = LinearRegression().fit(X[s].astype(np.float32), y[s].astype(np.float32))
    assert f32.coef_.dtype == np.float32
    close(f32.coef_, skl.LinearRegression().fit(X, y).coef_, RTOL32)
    p32 = PCA(2, svd_solver="full").fit(X[s].astype(np.float32))
    assert p32.components_.dtype == np.float32
    close(p32.components_, skd.PCA(2, svd_solver="full").fit(X).components_, RTOL32)


# ---- one process: clone, pickle, finalisation ----------------------------------------------


def test_incremental_pickles_with_pending_chunks_and_clones():
    X = data(seed=17)
    est = IncrementalEmpiricalCovariance()
    est.partial_fit(X[:40])
    restored = pickle.loads(pickle.dumps(est))
    restored.partial_fit(X[40:70])
    close(restored.covariance_, skcov.EmpiricalCovariance().fit(X[:70]).covariance_)
    restored.partial_fit(X[70:])  # more chunks after a finalisation: read again, merged again
    close(restored.covariance_, skcov.EmpiricalCovariance().fit(X).covariance_)
    fresh = clone(restored)
    assert not hasattr(fresh, "covariance_") and fresh.get_params() == est.get_params()


@pytest.mark.timeout(60)
def test_finalize_fit_alone_errors_instead_of_hanging():
    X = data(seed=18)

    def body():
        est = IncrementalBasicStatistics()
        est.partial_fit(local_rows(X))
        if d4p.my_procid() == 0:
            est.finalize_fit()  # rank 1 returns without joining

    with pytest.raises(d4p.D4PError):
        d4p.run_spmd(body, 2)


def test_no_communicator_in_parameters():
    for est in (BasicStatistics(), IncrementalLinearRegression(), KMeans(), PCA(),
                MultinomialNB(), StandardScaler()):
        assert not any("comm" in name for name in est.get_params())
