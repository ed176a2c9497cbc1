"""``EmpiricalCovariance`` and scikit-learn-intelex's ``IncrementalEmpiricalCovariance``
on CPU ranks, over ``d4p.covariance``.

scikit-learn's covariance is the maximum-likelihood one (divided by n);
``d4p.covariance`` gives the sample covariance (divided by n - 1) and the mean,
from which both the centred and the ``assume_centered`` (raw second moment)
estimates follow exactly.
"""
import numbers

import numpy as np
from scipy import linalg
from sklearn import covariance as sk_covariance
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

import d4p

from ._base import FINITE_IN_D4P, AllOrNone, Collective, sklearn_nan_message
from ._incremental import CovarianceFlow


def _fptype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


def ml_covariance(result, n, assume_centered):
    """(location, covariance) of scikit-learn from a ``covariance_result`` of n rows."""
    mean = np.asarray(result.mean, dtype=np.float64).reshape(-1)
    p = mean.size
    if n > 1:
        cov = np.asarray(result.covariance, dtype=np.float64) * ((n - 1) / n)
    else:
        cov = np.zeros((p, p))
    if assume_centered:
        return np.zeros(p), cov + np.outer(mean, mean)
    return mean, cov


def global_test_covariance(X, location):
    """``empirical_covariance(X - location, assume_centered=True)`` over every
    rank's rows, from one distributed ``d4p.covariance``."""
    res = d4p.covariance(distributed=True).compute(X)
    with Collective(None, "score") as step:
        step.info = int(X.shape[0])
    n = sum(step.infos)
    mean, cov = ml_covariance(res, n, assume_centered=False)
    d = mean - location
    return cov + np.outer(d, d)


class _GlobalScore:
    def score(self, X_test, y=None):
        """Log-likelihood of every rank's ``X_test`` rows under the fitted Gaussian
        (collective; the same on every rank)."""
        with AllOrNone(f"{type(self).__name__}.score"):
            X_test = validate_data(self, X_test, reset=False, ensure_min_samples=0)
        test_cov = global_test_covariance(X_test, self.location_)
        return sk_covariance.log_likelihood(test_cov, self.get_precision())

    def _set_from(self, result, n, dtype):
        location, cov = ml_covariance(result, n, self.assume_centered)
        self.location_ = location.astype(dtype, copy=False)
        covariance = cov.astype(dtype, copy=False)
        self.covariance_ = covariance
        self.precision_ = linalg.pinvh(covariance, check_finite=False) if \
            self.store_precision else None


class EmpiricalCovariance(_GlobalScore, sk_covariance.EmpiricalCovariance):
    """Maximum-likelihood covariance of the rows of every rank.

    Parameters and attributes are scikit-learn's ``EmpiricalCovariance``'s;
    ``fit`` and ``score`` are collective, ``mahalanobis`` works on this rank's rows.
    """

    @sklearn_nan_message
    def fit(self, X, y=None):
        """Fit on every rank's rows (collective)."""
        with Collective(self, "EmpiricalCovariance.fit") as step:
            self._validate_params()
            X = validate_data(self, X, ensure_min_samples=0, **FINITE_IN_D4P)
            step.record(X)
        n = step.agreed_rows()
        result = d4p.covariance(distributed=True).compute(X)
        self._set_from(result, n, np.float64)
        return self


class IncrementalEmpiricalCovariance(CovarianceFlow, _GlobalScore,
                                     sk_covariance.EmpiricalCovariance):
    """scikit-learn-intelex's incremental maximum-likelihood covariance.

    Parameters
    ----------
    store_precision : bool, default=False
    assume_centered : bool, default=False
    batch_size : int, default=None
        Rows per block when ``fit`` feeds ``partial_fit`` (``5 * n_features`` when
        None); the result does not depend on it.
    copy : bool, default=True
        Accepted for compatibility (the input is never modified).

    Attributes
    ----------
    location_, covariance_, precision_, n_samples_seen_, batch_size_, n_features_in_

    Notes
    -----
    ``partial_fit`` is local (no communication); ``finalize_fit()`` is the
    collective point (reading ``covariance_`` etc. calls it when chunks are pending).
    """

    _parameter_constraints = {
        "store_precision": ["boolean"],
        "assume_centered": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "copy": ["boolean"],
    }
    _fitted_attributes = ("location_", "covariance_", "precision_", "n_samples_seen_")

    def __init__(self, *, store_precision=False, assume_centered=False, batch_size=None,
                 copy=True):
        self.store_precision = store_precision
        self.assume_centered = assume_centered
        self.batch_size = batch_size
        self.copy = copy

    def _finish(self, result, total, dtype):
        self._set_from(result, total, np.float64)
        self.n_samples_seen_ = total

    def _validate_chunk(self, X, rest, reset):
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=reset,
                             ensure_min_samples=0, **FINITE_IN_D4P), rest



__all__ = ["EmpiricalCovariance", "IncrementalEmpiricalCovariance"]
