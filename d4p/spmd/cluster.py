"""``KMeans`` and ``DBSCAN`` on CPU ranks, over ``d4p.kmeans_init`` / ``d4p.kmeans``
and ``d4p.dbscan``.

KMeans: the initial centres come from a distributed ``kmeans_init``
(``'k-means++'``: greedy k-means++ with scikit-learn's ``2 + log(k)`` trials;
``'random'``: distinct random rows) or from the ``init`` array; Lloyd's
iterations from a distributed ``kmeans`` whose stopping threshold is
scikit-learn's (``tol`` times the mean column variance, taken by ``kmeans`` from
its first pass: ``scaleThreshold=True``).  With an ``init`` array the result is
scikit-learn's; with random initialisations it is the same algorithm with d4p's
random stream (the same for any split over ranks, not scikit-learn's draws).
``sample_weight`` reaches both as row weights (d4p's extension), except that, as
in scikit-learn, an ``init`` array ignores them; weights equal on every row of
every rank are no weights (scikit-learn's ``None`` is all ones) with the inertia
scaled.  ``labels_`` are this rank's rows.
"""
import warnings

import numpy as np
from scipy import sparse
from sklearn import cluster as sk_cluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils.validation import validate_data

import d4p

from ._base import (FINITE_IN_D4P, AllOrNone, Collective, agreed_seed, check_weights,
                    current_comm, global_sum, raise_everywhere, rows_of, sklearn_nan_message)


def _fptype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


def _row_weights(sample_weight, X):
    """scikit-learn's check of ``sample_weight`` (None, a number, or one per row),
    and non-negative; returns (float64 weights or None, summary to record): None
    without weights, "empty" for a rank with no rows, the common value when this
    rank's weights are all equal, NaN otherwise."""
    if sample_weight is None:
        return None, None
    # All-zero weights on one rank are fine when another rank has some (checked
    # over all ranks in _agreed_weights).
    w = check_weights(sample_weight, X, dtype=np.float64)
    if (w < 0).any():
        bad = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"sample_weight must be non-negative; got {w[bad]} at row {bad}")
    if w.size == 0:
        return w, "empty"
    return w, (float(w[0]) if np.all(w == w[0]) else float("nan"))


def _agreed_weights(step, where, w, n_local):
    """(this rank's weights for d4p or None, factor of the inertia).  Weights equal
    on every rank's rows are no weights (the factor scales the inertia); a rank
    without weights, among ranks with weights, has weight 1 per row (None is all
    ones in scikit-learn)."""
    values = {1.0 if i["extra"] is None else i["extra"] for i in step.infos
              if i["extra"] != "empty" and i["n"]}
    if len(values) == 1 and not any(v != v for v in values):
        factor = next(iter(values))
        if factor == 0:
            raise_everywhere(step.comm, {0: ("ValueError", "Sample weights must contain at "
                                                           "least one non-zero number.")}, where)
        return None, factor
    if not values:  # no rows anywhere: caught by the row count check
        return None, 1.0
    return (np.ones(n_local) if w is None else w), 1.0


def _same_clustering(labels1, labels2, k):
    """scikit-learn's rule over every rank's labels: the two labelings are the
    same up to a permutation of the clusters."""
    mapping = np.full(k, -1, dtype=np.int64)
    ok = 1.0
    for a, b in zip(labels1, labels2):
        if mapping[a] == -1:
            mapping[a] = b
        elif mapping[a] != b:
            ok = 0.0
            break
    comm = current_comm()
    if comm.size == 1:
        return bool(ok)
    parts = comm.allgather((ok, mapping))
    if not all(o for o, _ in parts):
        return False
    merged = np.full(k, -1, dtype=np.int64)
    for _, m in parts:
        for a in range(k):
            if m[a] == -1:
                continue
            if merged[a] == -1:
                merged[a] = m[a]
            elif merged[a] != m[a]:
                return False
    used = merged[merged >= 0]
    return used.size == np.unique(used).size


class KMeans(sk_cluster.KMeans):
    """scikit-learn's ``KMeans`` fitted on every rank's rows.

    ``fit``, ``fit_predict``, ``fit_transform`` and ``score`` are collective;
    ``predict`` and ``transform`` act on this rank's rows; ``labels_`` are this
    rank's rows.  ``algorithm='elkan'`` gives the same clustering by Lloyd's
    iterations.  A callable ``init`` raises NotImplementedError (it would see
    only this rank's rows).  ``sample_weight`` (each rank's, aligned with its
    rows) weights the initialisation, the means and the inertia, as in
    scikit-learn; negative weights are rejected.
    """

    @sklearn_nan_message
    def fit(self, X, y=None, sample_weight=None):
        """Collective: cluster every rank's rows."""
        where = "KMeans.fit"
        with Collective(self, where) as step:
            self._validate_params()
            if callable(self.init):
                raise NotImplementedError("KMeans: a callable init is not supported by "
                                          "d4p.spmd (it would see only this rank's rows); "
                                          "pass 'k-means++', 'random' or an array")
            X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                              **FINITE_IN_D4P, order="C", accept_large_sparse=False, ensure_min_samples=0)
            weights, summary = _row_weights(sample_weight, X)
            init = self.init
            init_is_array = not isinstance(init, str)
            if init_is_array:
                init = check_array(init, dtype=X.dtype, copy=True, order="C")
                if init.shape[0] != self.n_clusters:
                    raise ValueError(f"The shape of the initial centers {init.shape} does not "
                                     f"match the number of clusters {self.n_clusters}.")
                if init.shape[1] != X.shape[1]:
                    raise ValueError(f"The shape of the initial centers {init.shape} does not "
                                     f"match the number of features of the data "
                                     f"{X.shape[1]}.")
            step.record(X, extra=summary)
        n = step.agreed_rows()
        weights, factor = _agreed_weights(step, where, weights, X.shape[0])
        if n < self.n_clusters:
            raise_everywhere(step.comm, {0: ("ValueError", f"n_samples={n} should be >= "
                                                           f"n_clusters={self.n_clusters}.")},
                             where)
        k = self.n_clusters
        fp = _fptype(X.dtype)
        if self.n_init == "auto":
            n_init = 10 if (isinstance(self.init, str) and self.init == "random") else 1
        else:
            n_init = self.n_init
        if init_is_array and n_init != 1:
            warnings.warn(f"Explicit initial center position passed: performing only one init "
                          f"in {type(self).__name__} instead of n_init={n_init}.",
                          RuntimeWarning, stacklevel=2)
            n_init = 1
        self._n_init = n_init
        rng = np.random.RandomState(agreed_seed(self.random_state))
        best = None
        for _ in range(n_init):
            if init_is_array:
                C0 = init
            else:
                method = "plusPlusDense" if self.init == "k-means++" else "randomDense"
                C0 = d4p.kmeans_init(k, fptype="double", method=method,
                                     nTrials=2 + int(np.log(k)),
                                     seed=int(rng.randint(0, 2**31 - 1)),
                                     distributed=True).compute(X, weights=weights).centroids
            # scikit-learn's tol is relative to the mean column variance: kmeans takes
            # it from its first pass (scaleThreshold), so no pass of its own.
            res = d4p.kmeans(k, self.max_iter, fptype=fp, accuracyThreshold=float(self.tol),
                             assignFlag=True, distributed=True,
                             scaleThreshold=True).compute(X, C0, weights=weights)
            labels = res.assignments.reshape(-1).astype(np.int32)
            inertia = float(res.objectiveFunction[0, 0]) * factor
            if best is None or (inertia < best[1] and not _same_clustering(labels, best[0], k)):
                best = (labels, inertia, np.asarray(res.centroids), int(res.nIterations[0, 0]))
        labels, inertia, centers, n_iter = best
        distinct = global_sum(np.bincount(labels, minlength=k) > 0)
        if int((distinct > 0).sum()) < k:
            warnings.warn(f"Number of distinct clusters ({int((distinct > 0).sum())}) found "
                          f"smaller than n_clusters ({k}). Possibly due to duplicate points "
                          "in X.", ConvergenceWarning, stacklevel=2)
        self._n_threads = _openmp_effective_n_threads()
        self.cluster_centers_ = centers.astype(X.dtype)
        self._n_features_out = k
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Collective fit; this rank's labels."""
        return self.fit(X, sample_weight=sample_weight).labels_

    @sklearn_nan_message
    def fit_transform(self, X, y=None, sample_weight=None):
        """Collective fit; this rank's rows in cluster-distance space."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Minus the inertia of every rank's rows (collective)."""
        with AllOrNone("KMeans.score"):
            empty = rows_of(X) == 0
            local = 0.0 if empty else super().score(X, sample_weight=sample_weight)
        return float(global_sum([local])[0])


class DBSCAN(sk_cluster.DBSCAN):
    """scikit-learn's ``DBSCAN`` on every rank's rows, through ``d4p.dbscan``.

    Labels are those of scikit-learn's batch DBSCAN on the concatenated rows;
    ``labels_`` are this rank's rows.  ``core_sample_indices_`` are global row
    numbers (rows numbered in rank order), the same on every rank;
    ``components_`` holds this rank's core rows only (gathering every rank's
    core rows would move the data set).  Only the Euclidean metric (``'euclidean'``,
    or ``'minkowski'`` with ``p=2``) is supported; ``algorithm`` and ``leaf_size``
    have no effect.
    """

    @sklearn_nan_message
    def fit(self, X, y=None, sample_weight=None):
        """Collective: cluster every rank's rows."""
        where = "DBSCAN.fit"
        with Collective(self, where) as step:
            self._validate_params()
            euclidean = (self.metric == "euclidean" or
                         (self.metric == "minkowski" and self.p in (None, 2)))
            if not euclidean or self.metric_params:
                raise NotImplementedError(f"DBSCAN: metric={self.metric!r} is not supported by "
                                          "d4p.dbscan; only the Euclidean distance")
            X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                              ensure_min_samples=0)
            if sparse.issparse(X):
                X = X.toarray()
            if sample_weight is not None:
                sample_weight = check_weights(sample_weight, X, dtype=np.float64)
            step.record(X, extra=sample_weight is not None, sample_weight=sample_weight)
        step.agreed_rows()
        step.check_some_weight()
        if len({i["extra"] for i in step.infos if i["n"]}) > 1:
            raise_everywhere(step.comm, {0: ("ValueError", "sample_weight is given on some "
                                                           "ranks only")}, where)
        weighted = any(i["extra"] for i in step.infos)
        if weighted and sample_weight is None:
            sample_weight = np.ones(X.shape[0])
        algo = d4p.dbscan(epsilon=float(self.eps), minObservations=int(self.min_samples),
                          fptype=_fptype(X.dtype),
                          resultsToCompute="computeCoreIndices", distributed=True)
        res = algo.compute(X, None if sample_weight is None else sample_weight.reshape(-1, 1))
        labels = np.asarray(res.assignments).reshape(-1).astype(np.intp)
        core = (np.zeros(0, dtype=np.intp) if res.coreIndices is None else
                np.asarray(res.coreIndices).reshape(-1).astype(np.intp))
        comm = step.comm
        offset = step.offsets()
        everyone = comm.allgather(core + offset) if comm.size > 1 else [core]
        self.core_sample_indices_ = np.concatenate(everyone).astype(np.intp)
        self.components_ = X[core].copy()
        self.labels_ = labels
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Collective fit; this rank's labels."""
        return self.fit(X, sample_weight=sample_weight).labels_


__all__ = ["KMeans", "DBSCAN"]
