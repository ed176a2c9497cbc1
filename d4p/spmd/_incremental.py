"""The incremental estimators' flow: ``partial_fit`` per rank without
communication, one explicit collective ``finalize_fit``.

``partial_fit(chunk)`` folds the chunk into a streaming daal4py-face object
(``streaming=True, distributed=True``) on this rank only; ranks may call it any
number of times, or never.  ``finalize_fit()`` is the collective point: every
rank calls it (directly, or by reading a fitted attribute, as scikit-learn-intelex
does), the ranks agree on features, dtype, names and parameters, and the merged
statistics become the fitted attributes, identical on every rank.  A rank that
reaches it alone raises :class:`d4p.CollectiveTimeout` after the configured
timeout instead of hanging.  ``fit`` is collective too: ``partial_fit`` over
``batch_size`` blocks, then ``finalize_fit``.
"""
import numpy as np

import d4p

from ._base import Collective, raise_everywhere, sklearn_nan_message


class IncrementalFlow:
    """Mixin: subclasses set ``_fitted_attributes`` (names produced by
    ``finalize_fit``) and implement ``_new_stream(dtype)`` and ``_finish(result,
    infos)``; ``_stream_chunk(stream, X, ...)`` feeds the chunk to the stream's
    ``compute`` unless overridden."""

    _fitted_attributes = ()

    # ---- attribute access finalises lazily (scikit-learn-intelex's behaviour) ----

    def __getattr__(self, name):
        state = self.__dict__
        if name in type(self)._fitted_attributes and state.get("_need_to_finalize"):
            self.finalize_fit()
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _reset_incremental(self):
        for name in type(self)._fitted_attributes:
            self.__dict__.pop(name, None)
        self.__dict__.pop("n_features_in_", None)
        self.__dict__.pop("feature_names_in_", None)
        self._stream = None
        self._local_n = 0
        self._local_info = None
        self._need_to_finalize = False

    def _first_pass(self):
        return self.__dict__.get("_stream") is None

    def _add_chunk(self, X, *rest):
        """Fold one validated chunk into this rank's stream (no communication)."""
        if self._first_pass():
            self._stream = self._new_stream(X.dtype)
            self._local_info = X.dtype
        elif X.dtype != self._local_info and X.shape[0]:
            raise ValueError(f"{type(self).__name__}.partial_fit: this chunk has dtype "
                             f"{X.dtype} but earlier chunks had {self._local_info}")
        if X.shape[0]:
            self._stream_chunk(self._stream, X, *rest)
        self._local_n += int(X.shape[0])
        self._need_to_finalize = True
        for name in type(self)._fitted_attributes:  # stale: the next read finalises again
            self.__dict__.pop(name, None)

    def _stream_chunk(self, stream, X, *rest):
        stream.compute(X, *rest)

    # ---- the shared bodies of ``partial_fit`` and ``fit`` ----

    def _start_fit(self):
        """Check the parameters and forget earlier chunks (first chunk, or ``fit``)."""
        self._validate_params()
        self._reset_incremental()

    def _validate_chunk(self, X, rest, reset):
        """Validated ``(X, rest)``; ``rest`` holds the row-aligned extras (``y``,
        ``sample_weight``) that ``partial_fit`` and ``fit`` received."""
        raise NotImplementedError

    def _record_extra(self, rest):
        """What else the ranks must agree on in ``fit`` beyond ``X`` (e.g. ``y``'s shape)."""
        return None

    def _weights_of(self, rest):
        """The ``sample_weight`` among ``rest``, if the estimator takes one."""
        return None

    def _after_agreement(self, step, rest):
        """Checks that need the other ranks' records (``fit`` only)."""

    def _partial_fit(self, X, rest, check_input):
        first = self._first_pass()
        if first:
            self._start_fit()
        if check_input:
            X, rest = self._validate_chunk(X, rest, reset=first)
        elif first:
            self.n_features_in_ = X.shape[1]
        self._add_chunk(X, *rest)
        return self

    def _fit_by_batches(self, X, rest):
        with Collective(self, f"{type(self).__name__}.fit") as step:
            self._start_fit()
            X, rest = self._validate_chunk(X, rest, reset=True)
            step.record(X, extra=self._record_extra(rest), sample_weight=self._weights_of(rest))
        step.agreed_rows()
        step.check_some_weight()
        self._after_agreement(step, rest)
        self.batch_size_ = 5 * X.shape[1] if self.batch_size is None else self.batch_size
        for batch in batches(X.shape[0], self.batch_size_):
            self._add_chunk(X[batch], *(None if r is None else r[batch] for r in rest))
        if X.shape[0] == 0:
            self._add_chunk(X, *rest)
        return self.finalize_fit()

    def finalize_fit(self):
        """Collective: merge every rank's chunks into the fitted attributes.

        Every rank must call it (or read a fitted attribute, which calls it);
        returns ``self``.
        """
        where = f"{type(self).__name__}.finalize_fit"
        with Collective(self, where) as step:
            dtype = self.__dict__.get("_local_info")
            p = self.__dict__.get("n_features_in_")
            shape = np.empty((0, p if p is not None else 0),
                             dtype=np.float64 if dtype is None else dtype)
            step.record(shape, rows=self.__dict__.get("_local_n", 0))
            if p is None:  # no chunk on this rank: adopt the others' shape and dtype
                step.info["record"][2].update(data=None, dtype=None)
                step.info["p"] = None
        infos = step.infos
        known = [i for i in infos if i["p"] is not None]
        if not known:
            raise_everywhere(step.comm, {0: ("ValueError", f"{type(self).__name__}: no data: "
                                                           "partial_fit was never called on "
                                                           "any rank")}, where)
        names = known[0]["names"]
        if p is None:  # feature names, too, are the others'
            for i in infos:
                if i["p"] is None:
                    i["record"][1]["feature names"] = known[0]["record"][1]["feature names"]
        total = step.agreed_rows()
        ref_dtype = np.dtype(step.run.shape["dtype"])
        ref_p = step.run.shape["data"]
        if self.__dict__.get("_stream") is None:
            self._stream = self._new_stream(ref_dtype)
        result = self._stream.finalize()
        self.n_features_in_ = ref_p
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self._need_to_finalize = False
        self._finish(result, total, ref_dtype)
        return self



class CovarianceFlow(IncrementalFlow):
    """The flow of the estimators whose statistic is the covariance (the empirical
    covariance and the incremental PCA)."""

    def _new_stream(self, dtype):
        return d4p.covariance(distributed=True, streaming=True)

    @sklearn_nan_message
    def partial_fit(self, X, y=None, check_input=True):
        """Add this rank's rows ``X`` (no communication)."""
        return self._partial_fit(X, (), check_input)

    @sklearn_nan_message
    def fit(self, X, y=None):
        """Collective: fit on every rank's rows, by blocks of ``batch_size``."""
        return self._fit_by_batches(X, ())


def batches(n, size):
    """Slices of ``size`` rows covering ``n`` rows (none for ``n == 0``)."""
    return [slice(lo, min(lo + size, n)) for lo in range(0, n, size)]
