"""``MultinomialNB`` on CPU ranks, over ``d4p.multinomial_naive_bayes_training``.

The ranks agree on the classes (the sorted union of their labels, or the
``classes`` given to the first ``partial_fit``).  Each ``fit`` / ``partial_fit``
(collective) is one distributed ``multinomial_naive_bayes_training`` of that
call's rows: its model's ``FeatureCounts`` and ``ClassCounts`` (d4p extensions)
are added to ``feature_count_`` and ``class_count_``; ``feature_log_prob_`` is the
model's ``LogTheta`` after a ``fit``, and comes from the summed counts after a
later ``partial_fit``.  Negative counts are found by the training's own pass (no
separate pass over X).  ``predict`` and ``predict_proba`` act on this rank's rows;
``score`` is the accuracy over every rank's rows.
"""
import numpy as np
from sklearn import naive_bayes as sk_naive_bayes

import d4p

from ._base import (FINITE_IN_D4P, AllOrNone, Collective, check_class_labels, check_weights,
                    class_indices, distinct_labels, global_accuracy, global_classes,
                    local_rows_of, raise_everywhere, sklearn_message, sklearn_nan_message,
                    validate_xy)


#: The training's negative-count error in scikit-learn's words.
_sklearn_negative_message = sklearn_message(
    lambda text: f"Negative values in data passed to MultinomialNB (input X): {text}"
    if "needs non-negative feature counts" in text else None)


class MultinomialNB(sk_naive_bayes.MultinomialNB):
    """scikit-learn's ``MultinomialNB`` trained on every rank's rows.

    ``fit`` and ``partial_fit`` are collective (every rank calls them, with its
    own rows, possibly none); the model is usable after each call, as
    scikit-learn's.  A call that fails on any rank raises on every rank and
    leaves the model as it was.
    """

    @sklearn_nan_message
    @_sklearn_negative_message
    def fit(self, X, y, sample_weight=None):
        """Collective: train on every rank's rows."""
        return self._train(X, y, sample_weight, classes=None, where="MultinomialNB.fit",
                           first=True)

    @sklearn_nan_message
    @_sklearn_negative_message
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Collective: add every rank's rows (``classes`` on the first call)."""
        first = not hasattr(self, "classes_")
        return self._train(X, y, sample_weight, classes=classes if first else None,
                           where="MultinomialNB.partial_fit", first=first, partial=True)

    def _train(self, X, y, sample_weight, classes, where, first, partial=False):
        with Collective(self, where) as step:
            self._validate_params()
            X, y = validate_xy(self, X, y, accept_sparse="csr", reset=first, **FINITE_IN_D4P)
            check_class_labels(y)
            alpha = np.asarray(self._check_alpha(), dtype=np.float64)
            if partial and first and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            if sample_weight is not None:
                sample_weight = check_weights(sample_weight, X, dtype=np.float64)
            if classes is not None:
                classes = np.unique(np.asarray(classes))
            step.record(X, extra=None if classes is None else classes.tolist(),
                        sample_weight=sample_weight)
        step.agreed_rows()
        step.check_some_weight()
        comm = step.comm
        if partial:
            if first and any(i["extra"] != step.infos[0]["extra"] for i in step.infos):
                raise_everywhere(comm, {0: ("ValueError", "classes differ between ranks on the "
                                                          "first call to partial_fit")}, where)
            known = classes if first else self.classes_
            bad = np.setdiff1d(distinct_labels(y), known)
            failures = comm.allgather(bad.size > 0) if comm.size > 1 else [bad.size > 0]
            if any(failures):
                raise_everywhere(comm, {r: ("ValueError", f"y has labels not in classes {bad}")
                                        for r, f in enumerate(failures) if f}, where)
        else:
            known = global_classes(y, where)
        labels = class_indices(known, y) if y.size else np.zeros(0, dtype=np.intp)
        positive = bool(np.min(alpha) > 0)  # else (force_alpha) the model would reject it
        # One distributed training of this call's rows: a failure on any rank (a
        # negative count, NaN) raises on every rank before the estimator changes.
        model = d4p.multinomial_naive_bayes_training(
            max(len(known), 1), fptype="double", distributed=True,
            alpha=(alpha.reshape(1, -1) if alpha.ndim else float(alpha)) if positive else None,
        ).compute(X, labels.reshape(-1, 1),
                  None if sample_weight is None else sample_weight.reshape(-1, 1)).model
        feature_count = model.FeatureCounts[:len(known)]
        class_count = model.ClassCounts[:len(known), 0]
        if first:
            self.classes_ = known
            self.feature_count_, self.class_count_ = feature_count, class_count
        else:
            self.feature_count_ = self.feature_count_ + feature_count
            self.class_count_ = self.class_count_ + class_count
        if first and positive:
            self.feature_log_prob_ = np.asarray(model.LogTheta, dtype=np.float64)
        else:  # from the summed counts, or with an alpha of 0
            self._update_feature_log_prob(alpha)
        self._update_class_log_prior(class_prior=self.class_prior)
        return self

    def score(self, X, y, sample_weight=None):
        """Accuracy over every rank's rows (collective)."""
        with AllOrNone("MultinomialNB.score"):
            y_pred = local_rows_of(self.predict, X)
        return global_accuracy(y, y_pred, sample_weight)


__all__ = ["MultinomialNB"]
