"""``StandardScaler`` and ``MaxAbsScaler`` on CPU ranks, over ``d4p.low_order_moments``.

``fit`` is collective and gives the scaling of all ranks' rows; ``transform`` /
``inverse_transform`` act on this rank's rows.  ``partial_fit`` is collective as
well here (unlike the ``Incremental*`` estimators): each call adds every rank's
chunk to a streaming, distributed ``low_order_moments`` and finalises it, so the
scaler is usable after every call, as scikit-learn's is.

NaN values are rejected by ``fit`` (scikit-learn's scalers ignore them there;
``low_order_moments`` has no NaN-skipping mode); ``transform`` passes NaN through,
as scikit-learn's.
"""
import numpy as np
from scipy import sparse
from sklearn import preprocessing as sk_preprocessing
from sklearn.utils.validation import validate_data

import d4p

from ._base import FINITE_IN_D4P, Collective, check_weights, sklearn_nan_message


def _fptype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


def _scale(values):
    """scikit-learn's rule: a zero (or rounding-level) scale becomes 1."""
    values = np.asarray(values, dtype=np.float64).copy()
    values[values < 10 * np.finfo(np.float64).eps] = 1.0
    return values


class StandardScaler(sk_preprocessing.StandardScaler):
    """scikit-learn's ``StandardScaler`` fitted on every rank's rows.

    Attributes ``mean_``, ``var_`` (divided by n, or by the total weight),
    ``scale_``, ``n_samples_seen_`` as scikit-learn's.
    """

    def _moments(self, X, where, reset, sample_weight):
        with Collective(self, where) as step:
            self._validate_params()
            X = validate_data(self, X, accept_sparse=("csr", "csc"), reset=reset, **FINITE_IN_D4P,
                              dtype=[np.float64, np.float32], ensure_min_samples=0)
            if sparse.issparse(X) and self.with_mean:
                raise ValueError("Cannot center sparse matrices: pass `with_mean=False` "
                                 "instead. See docstring for motivation and alternatives.")
            if sample_weight is not None:
                sample_weight = check_weights(sample_weight, X, dtype=np.float64)
            step.record(X, extra=sample_weight is not None, sample_weight=sample_weight)
        n = step.agreed_rows()
        step.check_some_weight()
        if len({i["extra"] for i in step.infos}) > 1:
            raise ValueError(f"{where}: sample_weight is given on some ranks only")
        if sparse.issparse(X):
            X = X.tocsr()
        return X, n, sample_weight

    @sklearn_nan_message
    def fit(self, X, y=None, sample_weight=None):
        """Collective: mean and variance of every rank's rows."""
        self.__dict__.pop("_stream", None)
        return self._fit(X, sample_weight, reset=True, where="StandardScaler.fit")

    @sklearn_nan_message
    def partial_fit(self, X, y=None, sample_weight=None):
        """Collective: add every rank's rows to the statistics so far."""
        first = "_stream" not in self.__dict__
        return self._fit(X, sample_weight, reset=first, where="StandardScaler.partial_fit")

    def _fit(self, X, sample_weight, reset, where):
        X, n, w = self._moments(X, where, reset, sample_weight)
        fp = _fptype(X.dtype)
        if w is None:
            stream = self.__dict__.get("_stream")
            if stream is None or self.__dict__.get("_weighted"):
                stream = d4p.low_order_moments(fptype="double", distributed=True, streaming=True)
                self._count = 0
            stream.compute(X)
            res = stream.finalize()
            self._stream, self._weighted = stream, False
            self._count += n
            count = self._count
            mean = res.mean.reshape(-1)
            var = res.sumSquaresCentered.reshape(-1) / count
        else:
            # weighted: moments of w*x (sums) and sqrt(w)*x (sums of squares), one pass
            sw = np.sqrt(w)
            if sparse.issparse(X):
                wx = sparse.csr_matrix(sparse.diags(w) @ X)
                rx = sparse.csr_matrix(sparse.diags(sw) @ X)
                stacked = sparse.hstack([wx, rx, sparse.csr_matrix(w[:, None])]).tocsr()
            else:
                stacked = np.hstack([X * w[:, None], X * sw[:, None], w[:, None]])
            stream = self.__dict__.get("_stream")
            if stream is None or not self.__dict__.get("_weighted"):
                stream = d4p.low_order_moments(fptype="double", distributed=True, streaming=True)
            stream.compute(stacked)
            res = stream.finalize()
            self._stream, self._weighted = stream, True
            p = X.shape[1]
            sums = res.sum.reshape(-1)
            total_w = sums[2 * p]
            count = total_w
            mean = sums[:p] / total_w
            var = np.maximum(res.sumSquares.reshape(-1)[p:2 * p] / total_w - mean ** 2, 0.0)
        dtype = X.dtype
        self.n_samples_seen_ = np.float64(count)  # a float in scikit-learn too
        both_off = not self.with_mean and not self.with_std
        self.mean_ = None if both_off else mean.astype(dtype)
        self.var_ = var.astype(dtype) if self.with_std else None
        if self.with_std:
            eps = np.finfo(np.float64).eps
            constant = var <= count * eps * var + (count * mean * eps) ** 2
            scale = np.sqrt(var)
            scale[constant | (scale < 10 * eps)] = 1.0
            self.scale_ = scale.astype(dtype)
        else:
            self.scale_ = None
        self._fptype = fp
        return self


class MaxAbsScaler(sk_preprocessing.MaxAbsScaler):
    """scikit-learn's ``MaxAbsScaler`` fitted on every rank's rows (``max_abs_``,
    ``scale_``, ``n_samples_seen_``)."""

    @sklearn_nan_message
    def fit(self, X, y=None):
        """Collective: the largest absolute value of each column over all ranks."""
        self.__dict__.pop("_stream", None)
        return self._fit(X, reset=True, where="MaxAbsScaler.fit")

    @sklearn_nan_message
    def partial_fit(self, X, y=None):
        """Collective: add every rank's rows."""
        return self._fit(X, reset="_stream" not in self.__dict__,
                         where="MaxAbsScaler.partial_fit")

    def _fit(self, X, reset, where):
        with Collective(self, where) as step:
            self._validate_params()
            X = validate_data(self, X, accept_sparse=("csr", "csc"), reset=reset, **FINITE_IN_D4P,
                              dtype=[np.float64, np.float32], ensure_min_samples=0)
            step.record(X)
        n = step.agreed_rows()
        if sparse.issparse(X):
            X = X.tocsr()
        stream = self.__dict__.get("_stream")
        if stream is None:
            stream = d4p.low_order_moments(estimatesToCompute="estimatesMinMax", distributed=True,
                                           streaming=True)
            self._count = 0
        stream.compute(X)
        res = stream.finalize()
        self._stream = stream
        self._count += n
        max_abs = np.maximum(np.abs(res.minimum), np.abs(res.maximum)).reshape(-1)
        self.max_abs_ = max_abs.astype(X.dtype)
        self.scale_ = _scale(max_abs).astype(X.dtype)
        self.n_samples_seen_ = self._count
        return self


__all__ = ["StandardScaler", "MaxAbsScaler"]
