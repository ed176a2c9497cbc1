"""``PCA`` and ``IncrementalPCA`` on CPU ranks, over ``d4p.low_order_moments``,
``d4p.svd`` and ``d4p.covariance``.

scikit-learn's PCA is the SVD of the centred data (``d4p.pca`` is correlation
PCA, so it is not the one wrapped).  ``PCA.fit`` takes the global mean from a
distributed ``low_order_moments`` and the singular values and right singular
vectors of the centred rows from a distributed ``svd`` (TSQR: as accurate as
scikit-learn's ``'full'`` LAPACK SVD); when scikit-learn would use its
``'covariance_eigh'`` solver (asked for, or picked by ``'auto'`` for tall data),
the eigen-decomposition of the distributed ``covariance`` is used instead, as
scikit-learn does.  ``'arpack'`` and ``'randomized'`` give the exact truncated
answer (scikit-learn's approximate it); their tuning parameters have no effect.

``IncrementalPCA`` follows scikit-learn-intelex's: the exact PCA of all rows
seen (from a streaming, distributed ``covariance``), not scikit-learn's
sequential approximation.
"""
import numbers

import numpy as np
from scipy import sparse
from sklearn import decomposition as sk_decomposition
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

import d4p

from ._base import (FINITE_IN_D4P, AllOrNone, Collective, global_sum, local_rows_of,
                    raise_everywhere, sklearn_nan_message)
from ._incremental import CovarianceFlow


def _flip(Vt):
    """Signs so that the largest-magnitude entry of each row is positive."""
    idx = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), idx])
    signs[signs == 0] = 1.0
    return Vt * signs[:, None]


def _eigh_spectrum(cov, n):
    """(explained variance, singular values, Vt) from a covariance matrix."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    values, vectors = values[::-1].copy(), vectors[:, ::-1]
    values[values < 0] = 0.0
    return values, np.sqrt(values * (n - 1)), _flip(vectors.T)


def _choose_components(est, n_components, ev, n, p, solver):
    """scikit-learn's rules for the number of components."""
    total_var = ev.sum()
    ratio = ev / total_var if total_var > 0 else np.zeros_like(ev)
    if n_components == "mle":
        from sklearn.decomposition._pca import _infer_dimension

        k = int(_infer_dimension(ev, n))
    elif isinstance(n_components, numbers.Real) and not isinstance(
            n_components, numbers.Integral) and 0 < n_components < 1.0:
        k = int(np.searchsorted(np.cumsum(ratio), n_components, side="right") + 1)
    else:
        k = int(n_components)
    k = min(k, ev.size)
    return k, ratio


class PCA(sk_decomposition.PCA):
    """scikit-learn's ``PCA`` fitted on every rank's rows.

    ``fit``, ``fit_transform`` and ``score`` are collective; ``transform``,
    ``inverse_transform`` and ``score_samples`` act on this rank's rows.  Sparse
    input is densified on each rank (it must be centred).
    """

    @sklearn_nan_message
    def fit(self, X, y=None):
        """Collective: principal components of every rank's rows."""
        self._fit_spmd(X)
        return self

    @sklearn_nan_message
    def fit_transform(self, X, y=None):
        """Collective fit, then this rank's rows transformed."""
        X = self._fit_spmd(X)
        return self.transform(X)

    @sklearn_nan_message
    def _fit_spmd(self, X):
        where = "PCA.fit"
        with Collective(self, where) as step:
            self._validate_params()
            X = validate_data(self, X, accept_sparse=("csr", "csc"), **FINITE_IN_D4P,
                              dtype=[np.float64, np.float32], ensure_min_samples=0,
                              copy=False)
            if sparse.issparse(X):
                X = X.toarray()
            step.record(X)
        n = step.agreed_rows()
        p = X.shape[1]
        dtype = X.dtype
        solver = self.svd_solver
        nc = self.n_components
        if solver == "auto":
            if p <= 1000 and n >= 10 * p:
                solver = "covariance_eigh"
            elif max(n, p) <= 500 or nc == "mle":
                solver = "full"
            elif nc is not None and 1 <= nc < 0.8 * min(n, p):
                solver = "randomized"
            else:
                solver = "full"
        if nc is None:
            nc = min(n, p) - 1 if solver == "arpack" else min(n, p)
        self._check_components(nc, n, p, solver, step.comm, where)
        if solver == "covariance_eigh":
            res = d4p.covariance(distributed=True).compute(X)
            mean = res.mean.reshape(-1)
            ev, s, Vt = _eigh_spectrum(np.asarray(res.covariance, np.float64), n)
        else:
            mean = d4p.low_order_moments(estimatesToCompute="estimatesMeanVariance",
                                         distributed=True).compute(X).mean.reshape(-1)
            res = d4p.svd(leftSingularMatrix="notRequired", distributed=True).compute(
                X - mean.astype(dtype))
            s = res.singularValues.reshape(-1).astype(np.float64)
            Vt = np.asarray(res.rightSingularMatrix, np.float64)
            ev = s * s / (n - 1)
        k, ratio = _choose_components(self, nc, ev, n, p, solver)
        self._fit_svd_solver = solver
        self.n_samples_ = n
        self.mean_ = mean.astype(dtype)
        self.components_ = Vt[:k].astype(dtype)
        self.n_components_ = k
        self.explained_variance_ = ev[:k].astype(dtype)
        self.explained_variance_ratio_ = ratio[:k].astype(dtype)
        self.singular_values_ = s[:k].astype(dtype)
        if k < min(n, p):
            self.noise_variance_ = dtype.type(ev[k:min(n, p)].mean())
        else:
            self.noise_variance_ = dtype.type(0.0)
        return X

    @staticmethod
    def _check_components(nc, n, p, solver, comm, where):
        message = None
        if nc == "mle":
            if n < p:
                message = "n_components='mle' is only supported if n_samples >= n_features"
            elif solver in ("arpack", "randomized"):
                message = (f"n_components='mle' cannot be a string with "
                           f"svd_solver='{solver}'")
        elif solver == "arpack":
            if not (isinstance(nc, numbers.Integral) and 1 <= nc < min(n, p)):
                message = (f"n_components={nc!r} must be strictly less than min(n_samples, "
                           f"n_features)={min(n, p)} with svd_solver='arpack'")
        elif solver == "randomized":
            if not (isinstance(nc, numbers.Integral) and 1 <= nc <= min(n, p)):
                message = (f"n_components={nc!r} must be between 1 and min(n_samples, "
                           f"n_features)={min(n, p)} with svd_solver='randomized'")
        elif not 0 <= nc <= min(n, p):
            message = (f"n_components={nc} must be between 0 and min(n_samples, "
                       f"n_features)={min(n, p)} with svd_solver={solver!r}")
        if message is not None:
            raise_everywhere(comm, {0: ("ValueError", message)}, where)

    def score(self, X, y=None):
        """Average log-likelihood of every rank's rows (collective)."""
        with AllOrNone(f"{type(self).__name__}.score"):
            ll = local_rows_of(self.score_samples, X)
        s = global_sum([ll.sum(), ll.size])
        return float(s[0] / s[1])


class IncrementalPCA(CovarianceFlow, sk_decomposition.PCA):
    """scikit-learn-intelex's ``IncrementalPCA``: the exact PCA of every row given
    to ``partial_fit`` on every rank.

    Parameters
    ----------
    n_components : int, default=None
        Components to keep (all ``min(n_samples, n_features)`` when None).
    copy : bool, default=True
        Accepted for compatibility.
    whiten : bool, default=False
    batch_size : int, default=None
        Rows per block when ``fit`` feeds ``partial_fit`` (``5 * n_features`` when
        None); the result does not depend on it.

    Notes
    -----
    ``partial_fit`` is local (no communication); ``finalize_fit()`` is the
    collective point (reading ``components_`` etc. calls it when chunks are
    pending).  The statistic is the streaming covariance, as scikit-learn-intelex's.
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "whiten": ["boolean"],
        "copy": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }
    _fitted_attributes = ("components_", "explained_variance_", "explained_variance_ratio_",
                          "singular_values_", "mean_", "var_", "noise_variance_",
                          "n_components_", "n_samples_seen_", "n_samples_")
    svd_solver = "covariance_eigh"  # not a parameter; scikit-learn's PCA methods read it

    def __init__(self, n_components=None, *, copy=True, whiten=False, batch_size=None):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.batch_size = batch_size

    def _finish(self, result, n, dtype):
        p = self.n_features_in_
        if n < 2:
            raise ValueError(f"IncrementalPCA needs at least 2 rows on all ranks together, got "
                             f"n_samples={n}")
        ev, s, Vt = _eigh_spectrum(np.asarray(result.covariance, np.float64), n)
        r = min(n, p)
        k = r if self.n_components is None else self.n_components
        if k > p:
            raise ValueError(f"n_components={k} invalid for n_features={p}, need more rows "
                             "than n_components or set n_components to a smaller value")
        if k > n:
            raise ValueError(f"n_components={k} must be less or equal to the number of "
                             f"samples {n}.")
        total = ev.sum()
        self.mean_ = result.mean.reshape(-1).astype(dtype)
        self.var_ = (np.diag(result.covariance) * (n - 1) / n).astype(dtype)
        self.components_ = Vt[:k].astype(dtype)
        self.explained_variance_ = ev[:k].astype(dtype)
        self.explained_variance_ratio_ = (ev[:k] / total if total > 0 else 0 * ev[:k]
                                          ).astype(dtype)
        self.singular_values_ = s[:k].astype(dtype)
        self.noise_variance_ = dtype.type(ev[k:r].mean()) if k < r else dtype.type(0.0)
        self.n_components_ = k
        self.n_samples_seen_ = n
        self.n_samples_ = n

    def _validate_chunk(self, X, rest, reset):
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=reset,
                             ensure_min_samples=0, accept_sparse=("csr",), **FINITE_IN_D4P), rest


    @sklearn_nan_message
    def fit_transform(self, X, y=None):
        """Collective fit, then this rank's rows transformed."""
        return self.fit(X).transform(X)

    def score(self, X, y=None):
        """Average log-likelihood of every rank's rows (collective)."""
        with AllOrNone(f"{type(self).__name__}.score"):
            ll = local_rows_of(self.score_samples, X)
        s = global_sum([ll.sum(), ll.size])
        return float(s[0] / s[1])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


__all__ = ["PCA", "IncrementalPCA"]
