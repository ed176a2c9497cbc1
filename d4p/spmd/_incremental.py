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
    ``finalize_fit``) and implement ``_new_stream(dtype)``, ``_stream_chunk(stream,
    X, ...)`` and ``_finish(result, infos)``."""

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

    def finalize_fit(self):
        """Collective: merge every rank's chunks into the fitted attributes.

        Every rank must call it (or read a fitted attribute, which calls it);
        returns ``self``.
        """
        where = f"{type(self).__name__}.finalize_fit"
        with Collective(self, where) as step:
            dtype = self.__dict__.get("_local_info")
            p = self.__dict__.get("n_features_in_")
            step.info = {"n": int(self.__dict__.get("_local_n", 0)),
                         "p": p,
                         "dtype": None if dtype is None else np.dtype(dtype).str,
                         "names": (None if "feature_names_in_" not in self.__dict__ else
                                   tuple(map(str, self.feature_names_in_))),
                         "params": step_params(self, step)}
        infos = step.infos
        known = [i for i in infos if i["p"] is not None]
        if not known:
            raise_everywhere(step.comm, {0: ("ValueError", f"{type(self).__name__}: no data: "
                                                           "partial_fit was never called on "
                                                           "any rank")}, where)
        ref = known[0]
        for i in infos:  # ranks without chunks adopt the others' shape
            if i["p"] is None:
                i.update(p=ref["p"], dtype=ref["dtype"], names=ref["names"])
        step.infos = infos
        total = step.agreed_rows()
        if self.__dict__.get("_stream") is None:
            self._stream = self._new_stream(np.dtype(ref["dtype"]))
        result = self._stream.finalize()
        self.n_features_in_ = ref["p"]
        if ref["names"] is not None:
            self.feature_names_in_ = np.asarray(ref["names"], dtype=object)
        self._need_to_finalize = False
        self._finish(result, total, np.dtype(ref["dtype"]))
        return self


def step_params(est, step):
    from ._base import parameter_digest

    return parameter_digest(est, step.exclude)
