"""``KNeighborsClassifier``, ``KNeighborsRegressor`` and ``NearestNeighbors`` on CPU
ranks, over ``d4p.bf_knn_classification_training`` / ``_prediction`` and
``d4p.bf_knn_regression_training`` / ``_prediction`` (brute force).

``fit`` keeps each rank's training rows on that rank (numbered in rank order).
``kneighbors``, ``predict``, ``predict_proba`` and ``score`` are **collective**:
every rank calls them with its own queries (possibly none), the queries travel
to every rank's training rows and only the k candidates per query come back; each
rank gets the answers for its own queries.  ``kneighbors`` returns global
training-row indices; ``kneighbors()`` without ``X`` gives this rank's training
rows' neighbours, themselves excluded, as scikit-learn's.

``metric`` may be 'euclidean', 'manhattan', 'chebyshev', 'minkowski' (any
``p`` > 0, also given as ``metric_params={'p': ...}``, which wins as in
scikit-learn) or 'cosine', with scikit-learn's aliases and definitions; the
distances are scikit-learn's (Minkowski's p-th root taken).  Other metrics,
callables and other ``metric_params`` raise NotImplementedError.
"""
import warnings

import numpy as np
from scipy import sparse
from sklearn import neighbors as sk_neighbors
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import d4p
from d4p.knn_search import canonical_metric

from ._base import Collective, global_accuracy, global_classes, global_r2, validate_xy


def _fptype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


def _check_metric(est):
    """``metric=`` and ``p=`` of d4p's k-NN classes for the estimator's metric."""
    params = dict(est.metric_params or {})
    if "p" in params and est.p is not None:
        warnings.warn("Parameter p is found in metric_params. The corresponding parameter "
                      "from __init__ is ignored.", SyntaxWarning, stacklevel=4)  # as sklearn
    p = params.pop("p", est.p)
    if params.get("w") is None:
        params.pop("w", None)
    if params or callable(est.metric):
        what = f"metric_params={est.metric_params!r}" if params else f"metric={est.metric!r}"
        raise NotImplementedError(f"{type(est).__name__}: {what} is not supported by "
                                  "d4p.spmd (brute force with 'euclidean', 'manhattan', "
                                  "'chebyshev', 'minkowski' or 'cosine')")
    name, power = canonical_metric(est.metric, p, type(est).__name__)
    return {"metric": name, "p": 2 if power is None else power}


def _vote(est):
    if est.weights in (None, "uniform"):
        return "voteUniform"
    if est.weights == "distance":
        return "voteDistance"
    raise NotImplementedError(f"{type(est).__name__}: weights={est.weights!r} is not supported "
                              "by d4p.spmd; use 'uniform' or 'distance'")


class _Neighbors:
    """What the three estimators share: collective fit and kneighbors."""

    _training = "bf_knn_classification_training"
    _prediction = "bf_knn_classification_prediction"

    def _fit_rows(self, X, y, where):
        with Collective(self, where) as step:
            self._validate_params()
            self._d4p_metric = _check_metric(self)
            if hasattr(type(self), "predict"):
                _vote(self)
                if y is None:
                    raise ValueError(f"{type(self).__name__} requires y to be passed, but the "
                                     "target y is None.")
            if y is None:
                X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                                  ensure_min_samples=0)
            else:
                X, y = validate_xy(self, X, y, accept_sparse="csr", multi_output=True,
                                   dtype=[np.float64, np.float32],
                                   y_numeric=self._training == "bf_knn_regression_training")
                if y.ndim > 1 and y.shape[1] > 1 and self._training != \
                        "bf_knn_regression_training":
                    raise NotImplementedError(f"{type(self).__name__}: multi-output y is not "
                                              "supported by d4p.spmd")
                if y.ndim > 1 and self._training != "bf_knn_regression_training":
                    y = y.reshape(-1)
                if self._training == "bf_knn_classification_training":
                    check_classification_targets(y)
            if sparse.issparse(X):
                X = X.toarray()
            step.record(X)
        n = step.agreed_rows()
        self.n_samples_fit_ = n
        self._fit_method = "brute"
        self._fit_X = X  # this rank's rows (scikit-learn's methods that read it are replaced)
        return X, y, step

    def _model(self, X, targets, n_classes=None):
        kw = {} if n_classes is None else {"nClasses": n_classes}
        train = getattr(d4p, self._training)(fptype=_fptype(X.dtype), distributed=True, **kw)
        return train.compute(X, targets).model

    def _query(self, X, k, evaluate="none"):
        """Collective: (distances, global indices, prediction result) of this
        rank's queries ``X`` against every rank's training rows."""
        kw = {} if self._prediction.startswith("bf_knn_regression") else {
            "nClasses": max(2, len(getattr(self, "classes_", ())) or 2),
            "resultsToEvaluate": evaluate}
        algo = getattr(d4p, self._prediction)(
            fptype="double", k=int(k), resultsToCompute="computeIndicesOfNeighbors|"
            "computeDistances", voteWeights=self._d4p_vote, distributed=True,
            **self._d4p_metric, **kw)
        res = algo.compute(X, self._d4p_model)
        dist = np.asarray(res.distances, dtype=np.float64).reshape(X.shape[0], k)
        ind = np.asarray(res.indices).reshape(X.shape[0], k).astype(np.intp)
        return dist, ind, res

    def _queries(self, X, where):
        with Collective(self, where) as step:
            check_is_fitted(self)
            X = validate_data(self, X, accept_sparse="csr", reset=False,
                              dtype=[np.float64, np.float32], ensure_min_samples=0)
            if sparse.issparse(X):
                X = X.toarray()
            step.record(X)
        step.agreed_rows(min_rows=0)
        return X

    def _check_k(self, k, X):
        """scikit-learn's error when more neighbours are asked than rows were fitted."""
        if k > self.n_samples_fit_:
            raise ValueError(f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                             f"n_samples_fit = {self.n_samples_fit_}, n_samples = "
                             f"{X.shape[0]}")

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Collective: the ``n_neighbors`` nearest training rows (global indices)
        of this rank's queries, among every rank's training rows."""
        where = f"{type(self).__name__}.kneighbors"
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
            raise ValueError(f"Expected n_neighbors > 0. Got {k}")
        own = X is None
        if own:
            check_is_fitted(self)
            X = self._fit_X
            k_query = k + 1
        else:
            X = self._queries(X, where)
            k_query = k
        self._check_k(k_query, X)
        dist, ind, _ = self._query(X, k_query)
        if own:
            dist, ind = _drop_self(dist, ind, self._offset)
        return (dist, ind) if return_distance else ind

    def radius_neighbors(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.radius_neighbors is not supported by "
                                  "d4p.spmd")

    def radius_neighbors_graph(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.radius_neighbors_graph is not "
                                  "supported by d4p.spmd")


def _drop_self(dist, ind, offset):
    """scikit-learn's rule for a training row's own neighbours: drop the row itself
    (wherever it appears among its k + 1 neighbours), else the last one."""
    n, k1 = ind.shape
    own = offset + np.arange(n)[:, None]
    is_self = ind == own
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k1 - 1)
    keep = np.ones_like(is_self)
    keep[np.arange(n), drop] = False
    return dist[keep].reshape(n, k1 - 1), ind[keep].reshape(n, k1 - 1)


class NearestNeighbors(_Neighbors, sk_neighbors.NearestNeighbors):
    """scikit-learn's ``NearestNeighbors`` over every rank's training rows
    (``kneighbors`` and ``kneighbors_graph`` only; collective)."""

    _d4p_vote = "voteUniform"

    def fit(self, X, y=None):
        """Collective: keep this rank's rows; number every rank's rows."""
        X, _, step = self._fit_rows(X, None, "NearestNeighbors.fit")
        self._offset = step.offsets()
        self._d4p_model = self._model(X, None, n_classes=2)  # a neighbours-only model
        return self


class KNeighborsClassifier(_Neighbors, sk_neighbors.KNeighborsClassifier):
    """scikit-learn's ``KNeighborsClassifier`` over every rank's training rows.

    ``predict``, ``predict_proba``, ``kneighbors`` and ``score`` are collective.
    ``weights`` must be 'uniform' or 'distance'; the metrics of the module's
    docstring.
    """

    def fit(self, X, y):
        """Collective: keep this rank's rows and labels; agree on the classes."""
        where = "KNeighborsClassifier.fit"
        X, y, step = self._fit_rows(X, y, where)
        self.classes_ = global_classes(y, where)
        self.outputs_2d_ = False
        self._offset = step.offsets()
        self._d4p_vote = _vote(self)
        encoded = np.searchsorted(self.classes_, y).astype(np.float64).reshape(-1, 1)
        self._d4p_model = self._model(X, encoded, n_classes=max(2, len(self.classes_)))
        return self

    def predict(self, X):
        """Collective: the class of each of this rank's rows."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba(self, X):
        """Collective: class probabilities of this rank's rows (neighbours' vote)."""
        X = self._queries(X, "KNeighborsClassifier.predict_proba")
        k = self.n_neighbors
        self._check_k(k, X)
        _, _, res = self._query(X, k, evaluate="computeClassProbabilities")
        proba = np.asarray(res.probabilities, dtype=np.float64)
        proba = proba.reshape(X.shape[0], -1) if proba.size else np.zeros(
            (X.shape[0], len(self.classes_)))
        return proba[:, : len(self.classes_)]

    def score(self, X, y, sample_weight=None):
        """Accuracy over every rank's rows (collective)."""
        return global_accuracy(y, self.predict(X), sample_weight)


class KNeighborsRegressor(_Neighbors, sk_neighbors.KNeighborsRegressor):
    """scikit-learn's ``KNeighborsRegressor`` over every rank's training rows,
    through d4p's ``bf_knn_regression_*``.

    ``predict``, ``kneighbors`` and ``score`` are collective.
    """

    _training = "bf_knn_regression_training"
    _prediction = "bf_knn_regression_prediction"

    def fit(self, X, y):
        """Collective: keep this rank's rows and targets."""
        X, y, step = self._fit_rows(X, y, "KNeighborsRegressor.fit")
        self._offset = step.offsets()
        self._y_ndim = y.ndim
        self._n_outputs = 1 if y.ndim == 1 else y.shape[1]
        self._d4p_vote = _vote(self)
        self._d4p_model = self._model(X, y.reshape(X.shape[0], self._n_outputs).astype(np.float64))
        return self

    def predict(self, X):
        """Collective: the (weighted) mean target of each row's neighbours."""
        X = self._queries(X, "KNeighborsRegressor.predict")
        k = self.n_neighbors
        self._check_k(k, X)
        _, _, res = self._query(X, k)
        pred = np.asarray(res.prediction, dtype=np.float64)
        if self._y_ndim == 1:
            return pred.reshape(-1)
        return pred.reshape(X.shape[0], self._n_outputs)

    def score(self, X, y, sample_weight=None):
        """R² over every rank's rows (collective)."""
        return global_r2(y, self.predict(X), sample_weight)


__all__ = ["KNeighborsClassifier", "KNeighborsRegressor", "NearestNeighbors"]

