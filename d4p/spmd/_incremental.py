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

from ._base import Collective, raise_everywhere


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



def batches(n, size):
    """Slices of ``size`` rows covering ``n`` rows (none for ``n == 0``)."""
    return [slice(lo, min(lo + size, n)) for lo in range(0, n, size)]
