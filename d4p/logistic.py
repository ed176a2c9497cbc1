"""Logistic regression (binary and multinomial): training to the exact optimum, and prediction.

``logistic_regression_training`` minimises daal4py's documented objective

    F(β) = (1/n) Σ_i loss_i(β) + penaltyL1·‖W‖₁ + penaltyL2·‖W‖₂²

(sigmoid log-loss for two classes, softmax cross-entropy for more; ``W`` is β
without the intercept column, which is never penalised) with a Newton method
whose every decision is made from globally reduced statistics:

* each iteration, every rank reduces its rows to the loss, the gradient
  (K·q values, q = p + intercept) and the Hessian ((K·q)² values) at the current
  β, one pass of BLAS products over blocks of rows; one ``tree_reduce`` sums them
  in a fixed order, so every rank holds the same bits;
* the step is computed identically on every rank: a Cholesky / eigen solve of the
  Newton system (for K > 2 classes restricted to coefficients summing to zero over
  the classes, the minimum-norm representative of the softmax's invariance), or,
  with ``penaltyL1 > 0``, the proximal Newton step (coordinate descent on the
  quadratic model plus the L1 term, :func:`d4p.kernels.logistic.l1_newton_step`);
* a backtracking (Armijo) line search on F, one scalar reduction per trial;
  the full step's trial point also yields the next gradient and Hessian, so an
  accepted full step costs one reduction.

So batch and any number of ranks (empty ranks included) take the same steps
and stop after the same number of iterations, at the optimum to floating-point
accuracy.  With only ``penaltyL2 = λ`` the optimum is scikit-learn's
``LogisticRegression(C=1 / (2·λ·n))``.

The training rows stay on their ranks (the objective is not a one-pass
statistic), so the class cannot stream.  Prediction needs no communication.
"""
import numbers

import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_finite, check_table, columns_of, is_sparse
from ._protocol import Algorithm, Part, warn
from ._results import Result
from .naive_bayes import ClassifierPrediction
from .newton import BLOCK_BYTES, ConvergenceWarning, LogisticObjective, NewtonSolver

METHODS = ("defaultDense",)
RESULTS = ("computeClassLabels", "computeClassProbabilities", "computeClassLogProbabilities")



class logistic_regression_model(Result):
    """A trained logistic regression model (the same on every rank).

    Attributes
    ----------
    Beta : ndarray (1, p + 1) for two classes, (nClasses, p + 1) otherwise
        Column 0 is the intercept (exactly 0 when ``InterceptFlag`` is False);
        column ``j`` the coefficient of feature ``j - 1``.  With two classes the
        row gives the log-odds of class 1; with more, row ``c`` gives the softmax
        score of class ``c``.
    NumberOfBetas : int
        ``p + 1``.
    NumberOfFeatures, NFeatures : int
        ``p``.
    InterceptFlag : bool
        Whether an intercept was fitted.
    """

    _fields = ("Beta", "NumberOfBetas", "NumberOfFeatures", "NFeatures", "InterceptFlag")


class logistic_regression_training_result(Result):
    """``model`` (:class:`logistic_regression_model`) and ``nIterations``, the
    number of Newton iterations (the same on every rank and for every split)."""

    _fields = ("model", "nIterations")


# ---- parameters ----------------------------------------------------------------------


def _check_n_classes(algo, n_classes):
    if isinstance(n_classes, (bool, np.bool_)) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"{algo}: nClasses must be an integer, got {n_classes!r}")
    if n_classes < 2:
        raise ValueError(f"{algo}: nClasses must be at least 2, got {n_classes}")
    return int(n_classes)


def _check_penalty(algo, name, value):
    """A finite, non-negative float; NaN (daal4py's "not set") means 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{algo}: {name} must be a number, got {value!r}")
    value = float(value)
    if np.isnan(value):
        return 0.0
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{algo}: {name} must be finite and non-negative, got {value}")
    return value


def _check_positive(algo, name, value, integer=False):
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kinds):
        raise TypeError(f"{algo}: {name} must be {'an integer' if integer else 'a number'}, "
                        f"got {value!r}")
    if not value > 0 or not np.isfinite(value):
        raise ValueError(f"{algo}: {name} must be positive, got {value}")
    return int(value) if integer else float(value)


# ---- the local data and the Newton passes ---------------------------------------------


def _local_weights(weights, n):
    """None, or the row weights as a float64 vector: finite, non-negative, n of them."""
    if weights is None:
        return None
    W = check_table(weights, "weights", sparse="densify", finite=False)
    if W.shape == (0, 0):
        W = np.empty((0, 1))
    if W.shape[0] != n or W.shape[1] != 1:
        raise ValueError(f"weights must hold one value per row of data ({n}, 1), got shape "
                         f"{W.shape}")
    w = np.ascontiguousarray(W[:, 0], dtype=np.float64)
    if not np.isfinite(w).all():
        i = int(np.argmax(~np.isfinite(w)))
        raise ValueError(f"weights must be finite; weights[{i}] = {w[i]}")
    if n and w.min() < 0:
        i = int(np.argmax(w < 0))
        raise ValueError(f"weights must be non-negative; weights[{i}] = {w[i]}")
    return w


def _local_data(data, labels, n_classes):
    """Validate one rank's rows: ``(X, y)`` with ``y`` int32 class indices and the
    class counts.  Raises ValueError naming the first bad value."""
    X = check_table(data, "data")
    n = X.shape[0]
    # labels read with the data's reader may come as a sparse column (daal4py takes it)
    Y = check_table(labels, "labels", sparse="densify", finite=False)
    if Y.shape == (0, 0):
        Y = np.empty((0, 1))
    if Y.shape[0] != n:
        raise ValueError(f"labels has {Y.shape[0]} rows but data has {n}; they must describe "
                         "the same rows")
    if Y.shape[1] != 1:
        raise ValueError(f"labels must be 1-D or of shape (n, 1), got shape {Y.shape}")
    if n and X.shape[1] == 0:
        raise ValueError("data has no columns")
    y = Y[:, 0]
    with np.errstate(invalid="ignore"):
        bad = ~((y >= 0) & (y <= n_classes - 1) & (y == np.floor(y)))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"labels[{i}] = {y[i]} is not a class index: labels must be integers "
                         f"from 0 to nClasses - 1 = {n_classes - 1}")
    y = y.astype(np.int32)
    return X, y, np.bincount(y, minlength=n_classes).astype(np.float64)


class logistic_regression_training(Algorithm):
    """Train a binary or multinomial logistic regression model to the exact optimum.

    Parameters
    ----------
    nClasses : int
        Number of classes (at least 2); labels are the integers 0 .. nClasses - 1.
        Two classes: sigmoid model, ``Beta`` of shape (1, p + 1); more: softmax
        (multinomial) model, ``Beta`` of shape (nClasses, p + 1).
    fptype : {'double', 'float'}, default 'double'
        dtype of ``Beta`` (everything is computed in float64).
    method : {'defaultDense'}, default 'defaultDense'
    interceptFlag : bool, default False
        Fit an intercept (``Beta[:, 0]``), which is not penalised.
    penaltyL1 : float, default 0
        λ₁ of ``λ₁‖W‖₁``; with λ₁ > 0 the proximal Newton method gives exact zeros.
    penaltyL2 : float, default 0
        λ₂ of ``λ₂‖W‖₂²``.  With λ₁ = 0 the model equals scikit-learn's
        ``LogisticRegression(C=1 / (2·λ₂·n))`` (``C=np.inf`` for λ₂ = 0), n the
        total number of rows.
    optimizationSolver : None
        Only None: d4p always solves with its Newton method (daal4py's SGD, L-BFGS
        and other solver objects do not reach the optimum; see ``accuracyThreshold``).
    resultsToEvaluate : str, optional
        Accepted for compatibility (prediction flags); training evaluates nothing.
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the model of all rows.
    streaming : bool, default False
        Not supported (the optimum needs every row at each Newton iteration).
    accuracyThreshold : float, default 1e-10
        Stop when the Newton step is at most this times ``max|β|``; the step
        after which that holds is taken, so β is then accurate to about the square
        of it (rounding level).
    maxIterations : int, default 100
        At most this many Newton iterations (a ``ConvergenceWarning`` if reached).

    Notes
    -----
    The objective is ``(1/n) Σ loss_i + λ₁‖W‖₁ + λ₂‖W‖₂²``.  For nClasses > 2 the
    softmax is unchanged by adding the same vector to every class's row of
    ``Beta``; d4p returns the representative whose rows sum to zero over the
    classes (minimum norm; scikit-learn's lbfgs reaches the same one).  Without a
    penalty, classes that a hyperplane separates have no finite optimum: d4p
    detects it, warns (``d4p.ConvergenceWarning``) and returns a finite separating
    ``Beta``.
    """

    _name = "logistic_regression_training"
    # fptype only sets the dtype of this rank's Beta (see docs/migrating.md)
    _agreed = ("method", "nClasses", "interceptFlag", "penaltyL1", "penaltyL2",
               "accuracyThreshold", "maxIterations")

    def __init__(self, nClasses, fptype="double", method="defaultDense", interceptFlag=False,
                 penaltyL1=0, penaltyL2=0, optimizationSolver=None, resultsToEvaluate="",
                 distributed=False, streaming=False, accuracyThreshold=1e-10,
                 maxIterations=100):
        name = self._name
        self.nClasses = _check_n_classes(name, nClasses)
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(name, method, METHODS)
        self.interceptFlag = check_bool(name, "interceptFlag", interceptFlag)
        self.penaltyL1 = _check_penalty(name, "penaltyL1", penaltyL1)
        self.penaltyL2 = _check_penalty(name, "penaltyL2", penaltyL2)
        if optimizationSolver is not None:
            raise ValueError(
                f"{name}: optimizationSolver must be None, got {type(optimizationSolver).__name__}"
                ": d4p always uses its own Newton method (proximal Newton with penaltyL1), which "
                "reaches the exact optimum on any number of ranks; set accuracyThreshold and "
                "maxIterations to control it")
        self.optimizationSolver = None
        self.resultsToEvaluate = resultsToEvaluate
        parse_flags(name, "resultsToEvaluate", resultsToEvaluate, RESULTS, ["computeClassLabels"])
        self.distributed = check_bool(name, "distributed", distributed)
        self.streaming = check_bool(name, "streaming", streaming)
        if self.streaming:
            raise ValueError(
                f"{name}: streaming=True is not supported: the optimum is not a one-pass "
                "statistic (every Newton iteration reads every row), so the rows must stay "
                "available; pass each rank's rows to one compute() (distributed=True)")
        self.accuracyThreshold = _check_positive(name, "accuracyThreshold", accuracyThreshold)
        self.maxIterations = _check_positive(name, "maxIterations", maxIterations, integer=True)

    def compute(self, data, labels, weights=None, setup=False):
        """Train on ``data`` (n, p) and ``labels`` (n, 1) (this rank's rows when
        distributed; collective then).

        Parameters
        ----------
        data : array-like, DataFrame, scipy.sparse matrix or CSV file name
            ``"{}"`` in a file name is replaced by the rank.  A rank may have no rows.
        labels : array-like (n, 1) or (n,)
            Class indices 0 .. nClasses - 1 (integers, or floats holding integers).
        weights : array-like (n, 1) or (n,), optional
            d4p extension (daal4py has no row weights): non-negative, finite row
            weights; the loss becomes ``(1/n) Σ_i w_i loss_i`` (n the number of
            rows), scikit-learn's ``sample_weight``.  Every rank with rows must give
            weights, or none must.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        logistic_regression_training_result
        """
        return self._compute((data, labels, weights))

    # the protocol's hooks
    def _local(self, inputs):
        data, labels, weights = inputs
        X, y, counts = _local_data(data, labels, self.nClasses)
        w = _local_weights(weights, X.shape[0])
        # whether rows are weighted is agreed like a dimension (a rank without rows
        # and without weights adopts the others')
        shape = {"data": columns_of(X)}
        if w is not None or X.shape[0]:
            shape["weights"] = "given" if w is not None else "not given"
        return Part((X, y, counts, w), shape, X.shape[0])

    def _identity(self, shape):
        p = shape["data"]
        return (np.empty((0, p)), np.empty(0, dtype=np.int32), np.zeros(self.nClasses),
                None)

    _merge = None  # the rows stay on their ranks; _finish runs the Newton rounds

    def _finish(self, local, run):
        X, y, counts, w = local
        if run.shape.get("weights") == "given" and w is None:
            w = np.ones(X.shape[0])  # an empty rank of a weighted problem
        comm = run.comm
        if comm.size > 1:
            counts = comm.tree_reduce(counts, np.add)
        present = np.flatnonzero(counts > 0)
        if present.size < 2:
            run.fail(f"{self._name}: the labels hold only class {int(present[0])} (on all "
                     "ranks together); logistic regression needs at least two classes")
        absent = np.flatnonzero(counts == 0)
        if absent.size and (self.interceptFlag or self.penaltyL1 == self.penaltyL2 == 0):
            warn(f"{self._name}: class(es) {absent.tolist()} of nClasses = {self.nClasses} do "
                 "not occur in the labels, so there is no finite optimum (their scores go to "
                 "-inf; the unpenalised intercept cannot be bounded); d4p stops where their "
                 "probabilities are at rounding level.  Give interceptFlag=False with "
                 "penaltyL2 > 0, or only the classes present", ConvergenceWarning)
        problem = LogisticObjective(X, y, self.nClasses, self.interceptFlag, comm,
                                    run.total_rows, self.penaltyL1, self.penaltyL2,
                                    run.row_offset, counts, w)
        theta, iterations = NewtonSolver(problem, self.accuracyThreshold, self.maxIterations,
                                         run.where).run()
        W, b = problem.split(theta)
        if problem.rows > 1 and self.penaltyL1 > 0 and self.interceptFlag:
            b = b - b.mean()  # the softmax is invariant to a common intercept shift
        p = problem.p
        Beta = np.zeros((problem.rows, p + 1))
        Beta[:, 0] = b
        Beta[:, 1:] = W
        model = logistic_regression_model(Beta=as_fptype(Beta, self._dtype), NumberOfBetas=p + 1,
                                          NumberOfFeatures=p, NFeatures=p,
                                          InterceptFlag=self.interceptFlag)
        return logistic_regression_training_result(model=model, nIterations=int(iterations))


# ---- prediction -------------------------------------------------------------------------


class logistic_regression_prediction(ClassifierPrediction):
    """Classify rows (and give class probabilities) with a logistic regression model.

    Runs on the rows it is given, on any rank, without communication.

    Parameters
    ----------
    nClasses : int
        Number of classes; must match the model.
    fptype : {'double', 'float'}, default 'double'
        dtype of ``probabilities`` and ``logProbabilities`` (``prediction`` is
        always float64, as in daal4py).
    method : {'defaultDense'}, default 'defaultDense'
    resultsToEvaluate : str, default 'computeClassLabels'
        Names joined with '|': 'computeClassLabels' (``prediction``, (n, 1)),
        'computeClassProbabilities' (``probabilities``, (n, nClasses)),
        'computeClassLogProbabilities' (``logProbabilities``, (n, nClasses)).
        Fields not requested are ``None``.
    """

    _name = "logistic_regression_prediction"

    def __init__(self, nClasses, fptype="double", method="defaultDense",
                 resultsToEvaluate="computeClassLabels"):
        self.nClasses = _check_n_classes(self._name, nClasses)
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(self._name, method, METHODS)
        self.resultsToEvaluate = resultsToEvaluate
        self._results = parse_flags(self._name, "resultsToEvaluate", resultsToEvaluate, RESULTS,
                                    ["computeClassLabels"])

    def _predict(self, X, Beta, labels, probs, logs):
        n, k = X.shape[0], self.nClasses
        p = Beta.shape[1] - 1
        W = np.ascontiguousarray(Beta[:, 1:].T)
        b = Beta[:, 0]
        rows = max(64, BLOCK_BYTES // (8 * max(p, k, 1)))
        for lo in range(0, n, rows):
            hi = min(lo + rows, n)
            block = X[lo:hi]
            block = block.toarray() if is_sparse(block) else block
            Z = np.asarray(block, dtype=np.float64) @ W + b
            if not np.isfinite(Z).all():
                check_finite(X, "data")
            if k == 2:
                z = Z[:, 0]
                log_p = np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])
                if labels is not None:
                    labels[lo:hi, 0] = z > 0
            else:
                top = Z.max(axis=1, keepdims=True)
                log_p = Z - (top + np.log(np.exp(Z - top).sum(axis=1, keepdims=True)))
                if labels is not None:
                    labels[lo:hi, 0] = np.argmax(Z, axis=1)
            if logs is not None:
                logs[lo:hi] = log_p
            if probs is not None:
                probs[lo:hi] = np.exp(log_p)

    def _model_arrays(self, model):
        if isinstance(model, logistic_regression_training_result):
            raise TypeError(f"{self._name}: pass the model (training_result.model), not the "
                            "training result")
        if not isinstance(model, logistic_regression_model):
            raise TypeError(f"{self._name}: model must be a logistic_regression_model, got "
                            f"{type(model).__name__}")
        Beta = np.asarray(model.Beta, dtype=np.float64)
        rows = 1 if self.nClasses == 2 else self.nClasses
        if Beta.ndim != 2 or Beta.shape[0] != rows:
            held = 2 if Beta.shape[0] == 1 else Beta.shape[0]
            raise ValueError(f"{self._name}: the model is for {held} classes but nClasses is "
                             f"{self.nClasses}")
        return Beta, Beta.shape[1] - 1
