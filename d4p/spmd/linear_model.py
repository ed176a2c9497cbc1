"""``LinearRegression``, ``Ridge``, ``LogisticRegression`` and scikit-learn-intelex's
``IncrementalLinearRegression`` on CPU ranks, over ``d4p.linear_regression_training``,
``d4p.ridge_regression_training`` and ``d4p.logistic_regression_training``.

``fit`` and ``score`` are collective; ``predict`` (and ``predict_proba`` ...) act on
this rank's rows with the global model.  Least squares without weights use the
TSQR method (``qrDense``: as accurate as scikit-learn's ``lstsq``) for dense input
and the normal equations for sparse input; ridge uses the normal equations
(daal4py's only ridge method; scikit-learn's ``'auto'`` solver on dense data
does the same).  With ``sample_weight`` the rows are centred on the global
weighted means (one ``low_order_moments`` pass) and scaled by ``sqrt(w)``, then
fitted without intercept: the weighted problem, solved exactly, as scikit-learn
does it.
"""
import numbers
import warnings

import numpy as np
from scipy import sparse
from sklearn import linear_model as sk_linear
from sklearn.utils._param_validation import Interval

import d4p

from ._base import (FINITE_IN_D4P, AllOrNone, Collective, check_class_labels, check_weights,
                    class_indices, global_accuracy, global_classes, global_r2, global_sum,
                    local_rows_of,
                    raise_everywhere, sklearn_nan_message, validate_xy)
from ._incremental import IncrementalFlow


def _fptype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


class Hyperparameters:
    """scikit-learn-intelex's ``get_hyperparameters('fit')`` object.

    ``cpu_macro_block`` and ``gpu_macro_block`` tune oneDAL's internal blocking;
    d4p's kernels choose their own blocks, so both are accepted, checked (positive
    integers) and have no effect on the result or the speed.
    """

    def __init__(self):
        self._values = {"cpu_macro_block": 8192, "gpu_macro_block": 16384}

    def __getattr__(self, name):
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"hyperparameters have no {name!r}; expected one of "
                             f"{sorted(values)}")

    def __setattr__(self, name, value):
        if name == "_values":
            object.__setattr__(self, name, value)
            return
        if name not in self._values:
            raise AttributeError(f"hyperparameters have no {name!r}; expected one of "
                                 f"{sorted(self._values)}")
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._values[name] = int(value)

    def __repr__(self):
        return f"Hyperparameters({self._values})"


_HYPERPARAMETERS = {}


class _HyperparameterAccess:
    @classmethod
    def get_hyperparameters(cls, op):
        """The (process-wide) hyperparameters of ``op`` ('fit'), as scikit-learn-intelex."""
        if op != "fit":
            raise ValueError(f"{cls.__name__}.get_hyperparameters: op must be 'fit', got {op!r}")
        return _HYPERPARAMETERS.setdefault(cls.__name__, Hyperparameters())


def _validate_xy(est, X, y, sample_weight, reset=True, accept_sparse=("csr", "csc", "coo")):
    X, y = validate_xy(est, X, y, accept_sparse=accept_sparse, y_numeric=True, **FINITE_IN_D4P,
                       multi_output=True, dtype=[np.float64, np.float32], reset=reset)
    if sample_weight is not None:
        sample_weight = check_weights(sample_weight, X, dtype=np.float64)
        if (sample_weight < 0).any():
            raise ValueError("sample_weight must be non-negative")
    return X, y, sample_weight


def _y_shape(y):
    return None if y.ndim == 1 else int(y.shape[1])


def _agree_y(step, where):
    """Every rank's y is 1-D, or has the same number of columns."""
    shapes = [i["extra"] for i in step.infos]
    failures = {r: ("ValueError", f"y has {s if s is not None else 'one (1-D)'} target "
                                  f"column(s) but rank 0's has "
                                  f"{shapes[0] if shapes[0] is not None else 'one (1-D)'}")
                for r, s in enumerate(shapes) if s != shapes[0]}
    if failures:
        raise_everywhere(step.comm, failures, where)


def _as_2d(y):
    return y.reshape(-1, 1) if y.ndim == 1 else y


def _weighted_problem(X, y, w, fit_intercept):
    """Rows for an intercept-free fit of the weighted problem, and the weighted
    means (the intercept is ``y_mean - x_mean @ coef``); one collective pass."""
    Y = _as_2d(y).astype(np.float64)
    p = X.shape[1]
    if fit_intercept:
        if sparse.issparse(X):
            X = X.toarray()  # centring a sparse matrix makes it dense
        stacked = np.hstack([X * w[:, None], Y * w[:, None], w[:, None]])
        sums = d4p.low_order_moments(estimatesToCompute="estimatesAll",
                                     distributed=True).compute(stacked).sum.reshape(-1)
        total = sums[-1]
        if total <= 0:
            raise ValueError("the sample weights sum to zero on all ranks together")
        x_mean, y_mean = sums[:p] / total, sums[p:-1] / total
        sw = np.sqrt(w)[:, None]
        return (X - x_mean) * sw, (Y - y_mean) * sw, x_mean, y_mean
    sw = np.sqrt(w)
    Xs = sparse.csr_matrix(sparse.diags(sw) @ X) if sparse.issparse(X) else X * sw[:, None]
    return Xs, Y * sw[:, None], None, None


def _set_linear(est, Beta, y_ndim, dtype, x_mean=None, y_mean=None):
    Beta = np.asarray(Beta, dtype=np.float64)
    coef = Beta[:, 1:]
    intercept = Beta[:, 0]
    if x_mean is not None:
        intercept = y_mean - coef @ x_mean
    if y_ndim == 1:
        est.coef_ = coef[0].astype(dtype)
        est.intercept_ = dtype(intercept[0]) if est.fit_intercept else 0.0
    else:
        est.coef_ = coef.astype(dtype)
        est.intercept_ = intercept.astype(dtype) if est.fit_intercept else 0.0


class _RegressorScore:
    def score(self, X, y, sample_weight=None):
        """R² over every rank's rows (collective; the same on every rank)."""
        with AllOrNone(f"{type(self).__name__}.score"):
            y_pred = local_rows_of(self.predict, X)
            y = np.asarray(y, dtype=np.float64)
            y_pred = y_pred.reshape(y.shape)
        return global_r2(y, y_pred, sample_weight)


def _fit_least_squares(est, where, X, y, sample_weight, penalties=None):
    """Collective fit of a least-squares estimator: validate on every rank, agree on
    the rows and y's columns, solve.  ``penalties(X, y)`` (ridge) checks the
    estimator's own parameters on the validated input and gives ``alpha``."""
    with Collective(est, where) as step:
        est._validate_params()
        if est.positive:
            raise NotImplementedError(f"{type(est).__name__}: positive=True is not supported "
                                      f"by d4p.spmd (no non-negative least squares)")
        X, y, sample_weight = _validate_xy(est, X, y, sample_weight)
        alpha = None if penalties is None else penalties(X, y)
        step.record(X, extra=_y_shape(y))
    step.agreed_rows()
    _agree_y(step, where)
    _least_squares(est, X, y, sample_weight, where, alpha=alpha)
    return est


def _least_squares(est, X, y, w, where, alpha=None):
    """The coefficients of (ridge, when ``alpha`` is given) least squares on every
    rank's rows; sets ``coef_`` and ``intercept_``."""
    dtype = X.dtype.type
    fp = _fptype(X.dtype)
    if w is None:
        Xf, Yf, fit_b, x_mean, y_mean = X, y, est.fit_intercept, None, None
    else:
        Xf, Yf, x_mean, y_mean = _weighted_problem(X, y, w, est.fit_intercept)
        fit_b = False
    if alpha is None:
        method = "normEqDense" if sparse.issparse(Xf) else "qrDense"
        algo = d4p.linear_regression_training(fptype="double", method=method,
                                              interceptFlag=fit_b, distributed=True)
    else:
        algo = d4p.ridge_regression_training(fptype="double", ridgeParameters=alpha,
                                             interceptFlag=fit_b, distributed=True)
    with warnings.catch_warnings():
        # rank-deficient systems get the minimum-norm solution, as scikit-learn's
        warnings.simplefilter("ignore", RuntimeWarning)
        model = algo.compute(Xf, _as_2d(Yf)).model
    _set_linear(est, model.Beta, y.ndim, dtype, x_mean, y_mean)
    est._fptype = fp


class LinearRegression(_HyperparameterAccess, _RegressorScore, sk_linear.LinearRegression):
    """scikit-learn's ``LinearRegression`` fitted on every rank's rows.

    ``positive=True`` raises NotImplementedError (no non-negative least squares in
    d4p); ``tol`` (for sparse lsqr in scikit-learn) has no effect: the system is
    solved directly.  ``rank_`` and ``singular_`` are not set.
    """

    @sklearn_nan_message
    def fit(self, X, y, sample_weight=None):
        """Collective: least squares on every rank's rows."""
        return _fit_least_squares(self, "LinearRegression.fit", X, y, sample_weight)


_RIDGE_ITERATIVE = ("sparse_cg", "lsqr", "sag", "saga", "lbfgs")


class Ridge(_RegressorScore, sk_linear.Ridge):
    """scikit-learn's ``Ridge`` fitted on every rank's rows.

    Every ``solver`` gives the exact ridge solution (normal equations, as
    ``'cholesky'``); ``max_iter``, ``tol`` and ``random_state`` of the iterative
    solvers have no effect and ``n_iter_`` is None.  ``positive=True`` raises
    NotImplementedError.
    """

    @sklearn_nan_message
    def fit(self, X, y, sample_weight=None):
        """Collective: ridge regression on every rank's rows."""
        _fit_least_squares(self, "Ridge.fit", X, y, sample_weight, penalties=self._penalties)
        self.n_iter_ = None  # a direct solver, as scikit-learn's cholesky
        self.solver_ = "cholesky" if self.solver == "auto" else self.solver
        return self

    def _penalties(self, X, y):
        """The validated ``alpha`` as a (1, 1 or targets) row; scikit-learn's
        solver checks."""
        if self.solver == "lbfgs":
            raise ValueError("'lbfgs' solver can be used only when positive=True. "
                             "Please use another solver.")
        if sparse.issparse(X) and self.solver == "svd":
            raise TypeError('SVD solver does not support sparse inputs currently')
        alpha = np.asarray(self.alpha, dtype=np.float64).reshape(-1)
        k = 1 if y.ndim == 1 else y.shape[1]
        if alpha.size not in (1, k):
            raise ValueError(f"Number of targets and number of penalties do not "
                             f"correspond: {alpha.size} != {k}")
        return alpha.reshape(1, -1)


class IncrementalLinearRegression(_HyperparameterAccess, IncrementalFlow, _RegressorScore,
                                  sk_linear.LinearRegression):
    """scikit-learn-intelex's incremental least squares.

    Parameters
    ----------
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Accepted for compatibility (the input is never modified).
    n_jobs : int, default=None
        Accepted for compatibility (see ``d4p.daalinit(nthreads=)``).
    batch_size : int, default=None
        Rows per block when ``fit`` feeds ``partial_fit`` (``5 * n_features`` when
        None); the result does not depend on it.

    Notes
    -----
    ``partial_fit`` is local (no communication); ``finalize_fit()`` is the
    collective point (reading ``coef_`` or ``intercept_`` calls it when chunks are
    pending).  The statistic is TSQR (``qrDense``), as accurate as a batch fit.
    """

    _parameter_constraints = {
        "fit_intercept": ["boolean"],
        "copy_X": ["boolean"],
        "n_jobs": [Interval(numbers.Integral, -1, None, closed="left"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }
    _fitted_attributes = ("coef_", "intercept_", "n_samples_seen_")
    positive = False  # not a parameter here; scikit-learn's tags read it

    def __init__(self, *, fit_intercept=True, copy_X=True, n_jobs=None, batch_size=None):
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.n_jobs = n_jobs
        self.batch_size = batch_size

    def _new_stream(self, dtype):
        return d4p.linear_regression_training(method="qrDense", interceptFlag=self.fit_intercept,
                                              distributed=True, streaming=True)

    def _stream_chunk(self, stream, X, y):
        if self.__dict__.get("_y_ndim") is None:
            self._y_ndim = y.ndim
        elif y.ndim != self._y_ndim:
            raise ValueError("y is 1-D in some chunks and 2-D in others")
        stream.compute(X, _as_2d(y))

    def _finish(self, result, total, dtype):
        ndim = self.__dict__.get("_y_ndim") or 1
        _set_linear(self, result.model.Beta, ndim if result.model.Beta.shape[0] == 1 else 2,
                    dtype.type)
        self.n_samples_seen_ = total

    def _start_fit(self):
        self._validate_params()
        self._reset_incremental()
        self._y_ndim = None

    def _validate_chunk(self, X, rest, reset):
        X, y, _ = _validate_xy(self, X, rest[0], None, reset=reset, accept_sparse=False)
        return X, (y,)

    def _record_extra(self, rest):
        return _y_shape(rest[0])

    def _after_agreement(self, step, rest):
        _agree_y(step, "IncrementalLinearRegression.fit")
        self._y_ndim = rest[0].ndim

    @sklearn_nan_message
    def partial_fit(self, X, y, check_input=True):
        """Add this rank's rows (no communication)."""
        return self._partial_fit(X, (y,), check_input)

    @sklearn_nan_message
    def fit(self, X, y):
        """Collective: fit on every rank's rows, by blocks of ``batch_size``."""
        return self._fit_by_batches(X, (y,))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


# ---- logistic regression ------------------------------------------------------------


def logistic_penalties(est, n_total):
    """daal4py's ``(penaltyL1, penaltyL2)`` for scikit-learn's objective on
    ``n_total`` rows: ``C·Σ w_i loss_i + l1_ratio·‖β‖₁ + (1 - l1_ratio)/2·‖β‖²``
    divided by ``C·n`` is ``(1/n) Σ w_i loss_i`` (the training's weighted loss)
    plus ``l1_ratio/(C n)·‖β‖₁ + (1 - l1_ratio)/(2 C n)·‖β‖²``."""
    penalty = est.penalty
    l1_ratio = est.l1_ratio if est.l1_ratio is not None else 0.0
    C = est.C
    if penalty == "deprecated":
        penalty = None if C == np.inf else ("l2" if l1_ratio == 0 else
                                            "l1" if l1_ratio == 1 else "elasticnet")
    elif penalty is not None:
        l1_ratio = {"l2": 0.0, "l1": 1.0}.get(penalty, l1_ratio)
    if penalty is None or C == np.inf:
        return 0.0, 0.0
    scale = 1.0 / (C * n_total)
    return l1_ratio * scale, (1.0 - l1_ratio) * scale / 2.0


class LogisticRegression(sk_linear.LogisticRegression):
    """scikit-learn's ``LogisticRegression`` fitted on every rank's rows, through
    ``d4p.logistic_regression_training`` (Newton's method to the exact optimum,
    whatever the ``solver``; ``max_iter`` bounds its iterations, ``tol`` has no
    effect: the optimum is reached to rounding level).

    Two classes: the logistic model; more: the multinomial (softmax) model, as
    scikit-learn's default ``lbfgs``.  ``sample_weight`` and ``class_weight``
    (a dict or ``'balanced'``, from the weighted class counts of every rank's
    rows) multiply, as scikit-learn's, into the row weights of the training;
    ``warm_start=True`` raises NotImplementedError.
    """

    @sklearn_nan_message
    def fit(self, X, y, sample_weight=None):
        """Collective: fit on every rank's rows."""
        where = "LogisticRegression.fit"
        with Collective(self, where) as step:
            self._validate_params()
            from sklearn.linear_model._logistic import _check_solver

            penalty = self.penalty if self.penalty != "deprecated" else (
                None if self.C == np.inf else "l2" if not self.l1_ratio else
                "l1" if self.l1_ratio == 1 else "elasticnet")
            _check_solver(self.solver, penalty, self.dual)
            if self.warm_start:
                raise NotImplementedError("LogisticRegression: warm_start=True is not "
                                          "supported (the optimum does not depend on the "
                                          "start)")
            X, y = validate_xy(self, X, y, accept_sparse="csr",
                               dtype=[np.float64, np.float32])
            check_class_labels(y)
            if sample_weight is not None:
                sample_weight = check_weights(sample_weight, X, ensure_non_negative=True)
            step.record(X, extra=None if sample_weight is None else float(sample_weight.sum()))
        n_total = step.agreed_rows()
        given = [i["extra"] for i in step.infos if i["extra"] is not None]
        if given and sum(given) == 0:
            raise_everywhere(step.comm, {0: ("ValueError", "Sample weights must contain at "
                                                           "least one non-zero number.")}, where)
        classes = global_classes(y, where)
        if classes.size < 2:
            raise_everywhere(step.comm, {0: ("ValueError",
                                             "This solver needs samples of at least 2 classes "
                                             f"in the data, but the data contains only one "
                                             f"class: {classes[0] if classes.size else None}")},
                             where)
        self.classes_ = classes
        labels = class_indices(classes, y) if y.size else np.zeros(0, dtype=np.intp)
        weights = self._row_weights(sample_weight, labels, classes, bool(given), X.shape[0])
        l1, l2 = logistic_penalties(self, n_total)
        train = d4p.logistic_regression_training(
            nClasses=int(classes.size), fptype=_fptype(X.dtype), interceptFlag=self.fit_intercept,
            penaltyL1=l1, penaltyL2=l2, maxIterations=int(self.max_iter), distributed=True)
        res = train.compute(X, labels.reshape(-1, 1), weights)
        Beta = np.asarray(res.model.Beta, dtype=np.float64)
        self.coef_ = Beta[:, 1:].astype(X.dtype)
        self.intercept_ = (Beta[:, 0] if self.fit_intercept else np.zeros(Beta.shape[0])
                           ).astype(X.dtype)
        self.n_iter_ = np.array([int(np.asarray(res.nIterations).reshape(-1)[0])],
                                dtype=np.int32)
        return self

    def _row_weights(self, sample_weight, labels, classes, weighted, n):
        """The training's row weights (None when unweighted on every rank):
        ``sample_weight`` times the class weights, as scikit-learn multiplies them.
        'balanced' is ``Σw / (K · Σ_{class} w)`` over every rank's rows (one
        all-reduce of K values)."""
        if not weighted and self.class_weight is None:
            return None
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
        if self.class_weight is None:
            return w
        if isinstance(self.class_weight, str):  # 'balanced' (the parameter check allows no other)
            counts = global_sum(np.bincount(labels, weights=w, minlength=classes.size))
            with np.errstate(divide="ignore"):
                per_class = counts.sum() / (classes.size * counts)
        else:
            from sklearn.utils.class_weight import compute_class_weight

            per_class = compute_class_weight(self.class_weight, classes=classes, y=classes)
        return w * per_class[labels]

    def score(self, X, y, sample_weight=None):
        """Accuracy over every rank's rows (collective)."""
        with AllOrNone("LogisticRegression.score"):
            y_pred = local_rows_of(self.predict, X)
        return global_accuracy(y, y_pred, sample_weight)


__all__ = ["LinearRegression", "IncrementalLinearRegression", "Ridge", "LogisticRegression"]
