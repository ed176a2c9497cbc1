"""scikit-learn-intelex's ``BasicStatistics`` and ``IncrementalBasicStatistics``
on CPU ranks, over ``d4p.low_order_moments``.

With ``sample_weight`` the statistics are those of the weighted rows
``diag(w) @ X`` (scikit-learn-intelex's definition): the rows are scaled before
they reach ``low_order_moments``, so the weighted result is exact.
"""
import numbers

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

import d4p

from ._base import FINITE_IN_D4P, Collective, check_weights, sklearn_nan_message
from ._incremental import IncrementalFlow

#: scikit-learn-intelex's option name -> low_order_moments' result field.
OPTIONS = {
    "min": "minimum", "max": "maximum", "sum": "sum", "mean": "mean",
    "variance": "variance", "variation": "variation", "sum_squares": "sumSquares",
    "standard_deviation": "standardDeviation", "sum_squares_centered": "sumSquaresCentered",
    "second_order_raw_moment": "secondOrderRawMoment",
}
_CONSTRAINT = [StrOptions({"all", *OPTIONS}), list]


def options_of(result_options):
    """The list of option names ``result_options`` asks for (in a fixed order)."""
    if isinstance(result_options, str):
        names = list(OPTIONS) if result_options == "all" else [result_options]
    else:
        names = list(result_options)
    unknown = [n for n in names if n not in OPTIONS]
    if unknown or not names:
        raise ValueError(f"result_options: unknown statistic(s) {unknown}; expected 'all' or "
                         f"names from {sorted(OPTIONS)}")
    return names


def _fptype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


def _weighted(X, sample_weight):
    """The rows scaled by their weights (diag(w) @ X), dense or CSR."""
    if sample_weight is None:
        return X
    if sparse.issparse(X):
        return sparse.csr_matrix(sparse.diags(sample_weight.astype(X.dtype)) @ X)
    return X * sample_weight.astype(X.dtype, copy=False)[:, None]


def _validate(est, X, sample_weight, reset):
    X = validate_data(est, X, dtype=[np.float64, np.float32], ensure_2d=False, **FINITE_IN_D4P,
                      accept_sparse="csr", ensure_min_samples=0, reset=reset)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if reset:  # validate_data leaves it unset with ensure_2d=False
        est.n_features_in_ = X.shape[1]
    elif X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is "
                         f"expecting {est.n_features_in_} features as input.")
    if sample_weight is not None:
        sample_weight = check_weights(sample_weight, X, dtype=X.dtype,
                                             ensure_non_negative=False)
    return X, sample_weight


def _store(est, result, dtype):
    for name in options_of(est.result_options):
        value = getattr(result, OPTIONS[name])
        setattr(est, name + "_", np.asarray(value, dtype=dtype).reshape(-1))


class BasicStatistics(BaseEstimator):
    """Column statistics of the rows of every rank.

    Parameters
    ----------
    result_options : str or list of str, default='all'
        'all', or one or a list of 'min', 'max', 'sum', 'mean', 'variance',
        'variation', 'sum_squares', 'standard_deviation', 'sum_squares_centered',
        'second_order_raw_moment'.

    Attributes
    ----------
    min_, max_, sum_, mean_, variance_, variation_, sum_squares_,
    standard_deviation_, sum_squares_centered_, second_order_raw_moment_ : ndarray (n_features,)
        The statistics asked for (variance with Bessel's correction), over all
        ranks' rows; float32 for float32 input.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When X is a DataFrame with string column names.

    Notes
    -----
    ``fit`` is collective: each rank passes its own rows (a rank may have none).
    """

    _parameter_constraints = {"result_options": _CONSTRAINT}

    def __init__(self, result_options="all"):
        self.result_options = result_options

    @sklearn_nan_message
    def fit(self, X, y=None, *, sample_weight=None):
        """Compute the statistics of the rows of ``X`` on every rank (collective)."""
        with Collective(self, "BasicStatistics.fit") as step:
            self._validate_params()
            options_of(self.result_options)
            X, sample_weight = _validate(self, X, sample_weight, reset=True)
            step.record(X, sample_weight=sample_weight)
        step.agreed_rows()
        step.check_some_weight()
        result = d4p.low_order_moments(fptype=_fptype(X.dtype), method="defaultDense",
                                       distributed=True).compute(_weighted(X, sample_weight))
        _store(self, result, X.dtype)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = False
        return tags


class IncrementalBasicStatistics(IncrementalFlow, BaseEstimator):
    """:class:`BasicStatistics` fitted chunk by chunk.

    Parameters
    ----------
    result_options : str or list of str, default='all'
        As :class:`BasicStatistics`.
    batch_size : int, default=None
        Rows per block when ``fit`` feeds its input through ``partial_fit``
        (``5 * n_features`` when None, as scikit-learn-intelex).  The result does
        not depend on it.

    Notes
    -----
    ``partial_fit`` works on this rank only, without communication, any number of
    times per rank (a rank may call it never).  ``finalize_fit()`` is the
    collective point; reading a fitted attribute (``mean_``, ...) calls it when
    chunks are pending, as scikit-learn-intelex does, so every rank must read it
    at the same point of the program.  ``fit`` is collective.
    """

    _parameter_constraints = {
        "result_options": _CONSTRAINT,
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }
    _fitted_attributes = tuple(n + "_" for n in OPTIONS) + ("n_samples_seen_",)

    def __init__(self, result_options="all", batch_size=None):
        self.result_options = result_options
        self.batch_size = batch_size

    def _new_stream(self, dtype):
        return d4p.low_order_moments(fptype=_fptype(dtype), distributed=True, streaming=True)

    def _stream_chunk(self, stream, X, sample_weight):
        stream.compute(_weighted(X, sample_weight))

    def _finish(self, result, total, dtype):
        _store(self, result, dtype)
        self.n_samples_seen_ = total

    def _start_fit(self):
        self._validate_params()
        options_of(self.result_options)
        self._reset_incremental()

    def _validate_chunk(self, X, rest, reset):
        X, sample_weight = _validate(self, X, rest[0], reset=reset)
        return X, (sample_weight,)

    def _weights_of(self, rest):
        return rest[0]

    @sklearn_nan_message
    def partial_fit(self, X, sample_weight=None, check_input=True):
        """Add the rows of ``X`` to this rank's statistics (no communication)."""
        return self._partial_fit(X, (sample_weight,), check_input)

    @sklearn_nan_message
    def fit(self, X, y=None, sample_weight=None):
        """Collective: the statistics of every rank's rows, by blocks of ``batch_size``."""
        return self._fit_by_batches(X, (sample_weight,))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = False
        return tags


__all__ = ["BasicStatistics", "IncrementalBasicStatistics"]
