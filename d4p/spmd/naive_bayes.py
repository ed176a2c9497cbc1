"""``MultinomialNB`` on CPU ranks, over ``d4p.multinomial_naive_bayes_training``.

The ranks agree on the classes (the sorted union of their labels, or the
``classes`` given to the first ``partial_fit``); ``feature_log_prob_`` is the
``LogTheta`` of a streaming, distributed ``multinomial_naive_bayes_training``
(finalised at each ``fit`` / ``partial_fit``, both collective).  The model has no
count fields, so ``class_count_`` and ``feature_count_`` (scikit-learn
attributes) are summed over the ranks beside it: one all-reduce of a
(n_classes, n_features + 1) table.  ``predict`` and ``predict_proba`` act on this
rank's rows; ``score`` is the accuracy over every rank's rows.
"""
import numpy as np
from scipy import sparse
from sklearn import naive_bayes as sk_naive_bayes
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_non_negative

import d4p

from ._base import (FINITE_IN_D4P, AllOrNone, Collective, check_weights, global_accuracy,
                    global_classes, global_sum, local_rows_of, raise_everywhere,
                    sklearn_nan_message, validate_xy)


def _fptype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


class MultinomialNB(sk_naive_bayes.MultinomialNB):
    """scikit-learn's ``MultinomialNB`` trained on every rank's rows.

    ``fit`` and ``partial_fit`` are collective (every rank calls them, with its
    own rows, possibly none); the model is usable after each call, as
    scikit-learn's.
    """

    @sklearn_nan_message
    def fit(self, X, y, sample_weight=None):
        """Collective: train on every rank's rows."""
        for name in ("classes_", "_stream"):
            self.__dict__.pop(name, None)
        return self._train(X, y, sample_weight, classes=None, where="MultinomialNB.fit",
                           reset=True)

    @sklearn_nan_message
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Collective: add every rank's rows (``classes`` on the first call)."""
        first = "_stream" not in self.__dict__
        return self._train(X, y, sample_weight, classes=classes if first else None,
                           where="MultinomialNB.partial_fit", reset=first,
                           need_classes=first)

    def _train(self, X, y, sample_weight, classes, where, reset, need_classes=False):
        with Collective(self, where) as step:
            self._validate_params()
            X, y = validate_xy(self, X, y, accept_sparse="csr", reset=reset, **FINITE_IN_D4P)
            if X.shape[0]:
                check_non_negative(X, "MultinomialNB (input X)")
            check_classification_targets(y)
            if need_classes and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            if sample_weight is not None:
                sample_weight = check_weights(sample_weight, X, dtype=np.float64)
            if classes is not None:
                classes = np.unique(np.asarray(classes))
            step.record(X, extra=None if classes is None else classes.tolist())
        step.agreed_rows()
        comm = step.comm
        if reset and need_classes:
            given = [i["extra"] for i in step.infos]
            if any(g != given[0] for g in given):
                raise_everywhere(comm, {0: ("ValueError", "classes differ between ranks on the "
                                                          "first call to partial_fit")}, where)
            self.classes_ = classes
        elif reset:
            self.classes_ = global_classes(y, where)
        bad = np.setdiff1d(np.unique(y), self.classes_)
        failures = comm.allgather(bad.size > 0) if comm.size > 1 else [bad.size > 0]
        if any(failures):
            raise_everywhere(comm, {r: ("ValueError", f"y has labels not in classes {bad}")
                                    for r, f in enumerate(failures) if f}, where)
        n_classes = len(self.classes_)
        labels = np.searchsorted(self.classes_, y) if y.size else np.zeros(0, dtype=np.intp)
        p = X.shape[1]
        if reset:
            self._stream = d4p.multinomial_naive_bayes_training(
                max(n_classes, 1), fptype="double", distributed=True, streaming=True,
                alpha=None if not self._positive_alpha() else self._alpha_for_d4p(p))
            self.class_count_ = np.zeros(n_classes)
            self.feature_count_ = np.zeros((n_classes, p))
        # the counts the model does not expose: one all-reduce of a small table
        n = X.shape[0]
        w = np.ones(n) if sample_weight is None else sample_weight
        onehot = sparse.csr_matrix((w, (labels, np.arange(n))), shape=(n_classes, n))
        fc = onehot @ X if n else np.zeros((n_classes, p))
        fc = fc.toarray() if sparse.issparse(fc) else np.asarray(fc)
        table = global_sum(np.hstack([fc, np.asarray(onehot.sum(axis=1)).reshape(-1, 1)]))
        self.feature_count_ = self.feature_count_ + table[:, :p]
        self.class_count_ = self.class_count_ + table[:, p]
        self._stream.compute(X, labels.astype(np.float64).reshape(-1, 1),
                             None if sample_weight is None else sample_weight.reshape(-1, 1))
        model = self._stream.finalize().model
        alpha = self._check_alpha()
        if self._positive_alpha():
            self.feature_log_prob_ = np.asarray(model.LogTheta, dtype=np.float64)
        else:  # alpha 0 somewhere (force_alpha): the model would reject it
            self._update_feature_log_prob(alpha)
        self._update_class_log_prior(class_prior=self.class_prior)
        return self

    def _positive_alpha(self):
        return bool(np.min(np.asarray(self._check_alpha())) > 0)

    def _alpha_for_d4p(self, p):
        alpha = np.asarray(self._check_alpha(), dtype=np.float64)
        return alpha.reshape(1, -1) if alpha.ndim else float(alpha)

    def score(self, X, y, sample_weight=None):
        """Accuracy over every rank's rows (collective)."""
        with AllOrNone("MultinomialNB.score"):
            y_pred = local_rows_of(self.predict, X)
        return global_accuracy(y, y_pred, sample_weight)


__all__ = ["MultinomialNB"]
