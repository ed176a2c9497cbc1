"""Multinomial naive Bayes: ``multinomial_naive_bayes_training`` and
``multinomial_naive_bayes_prediction``.

Training: validate → one Numba pass over this rank's rows (CSR: over the stored
values) giving the class × feature table of weighted counts and the class weights
→ one allreduce (sum) of that (nClasses, p + 1) table → the same smoothed model
computed on every rank::

    LogTheta[c, j] = log(N_cj + alpha_j) - log(sum_j (N_cj + alpha_j))
    LogP[c]        = log(prior_c)            (uniform 1/nClasses unless given)
    AuxTable[c, j] = LogTheta[c, j] + LogP[c]

Prediction runs on any rank's own rows without communication: the joint
log-likelihood ``X @ LogTheta.T + LogP.T`` (BLAS, or a sparse product), its
argmax, and the class probabilities by a stable log-sum-exp.

daal4py dropped this algorithm in its 2026 release; d4p keeps daal4py's (≤ 2025)
interface.  See docs/algorithms/naive_bayes.md for the differences.
"""
import numbers
from dataclasses import dataclass

import numpy as np

from . import _parallel
from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_finite, check_table, columns_of, is_sparse
from ._protocol import Algorithm, Part
from ._results import Result
from .kernels import naive_bayes as nbk

METHODS = ("defaultDense", "fastCSR")
RESULTS = ("computeClassLabels", "computeClassProbabilities", "computeClassLogProbabilities")

#: Rows of X per block in prediction: bounds the float64 copy of a float32 or
#: sparse block and the (rows, nClasses) score buffer.
_PREDICT_BLOCK_BYTES = 4 << 20


# ---- results ------------------------------------------------------------------------


class multinomial_naive_bayes_model(Result):
    """A trained multinomial naive Bayes model (the same on every rank).

    Attributes
    ----------
    LogP : ndarray (nClasses, 1)
        Log prior of each class.
    LogTheta : ndarray (nClasses, p)
        Log of the smoothed feature probabilities of each class.
    AuxTable : ndarray (nClasses, p)
        ``LogTheta + LogP`` (daal4py's auxiliary table).
    NFeatures, NumberOfFeatures : int
        p.
    FeatureCounts : ndarray (nClasses, p), float64
        d4p extension (not in daal4py): the weighted feature sums of each class
        over every rank's rows (scikit-learn's ``feature_count_``).
    ClassCounts : ndarray (nClasses, 1), float64
        d4p extension: the weighted number of rows of each class (scikit-learn's
        ``class_count_``).
    """

    _fields = ("LogP", "LogTheta", "AuxTable", "NFeatures", "NumberOfFeatures",
               "FeatureCounts", "ClassCounts")


class multinomial_naive_bayes_training_result(Result):
    """``model``: the :class:`multinomial_naive_bayes_model`."""

    _fields = ("model",)


class classifier_prediction_result(Result):
    """``prediction`` (n, 1) float64 class indices; ``probabilities`` and
    ``logProbabilities`` (n, nClasses) in the fptype's dtype, or ``None`` when not
    requested through ``resultsToEvaluate``."""

    _fields = ("prediction", "probabilities", "logProbabilities")


# ---- parameters ------------------------------------------------------------------------


def classifier_outputs(n, n_classes, wanted, dtype):
    """The buffers a classifier's prediction fills for ``n`` rows: labels (n, 1)
    float64, probabilities and log-probabilities (n, n_classes) in ``dtype``; each
    ``None`` unless its ``resultsToEvaluate`` flag is in ``wanted``."""
    def table(flag):
        return np.empty((n, n_classes), dtype) if flag in wanted else None

    labels = np.empty((n, 1)) if "computeClassLabels" in wanted else None
    return (labels, table("computeClassProbabilities"), table("computeClassLogProbabilities"))


def _check_n_classes(algo, n_classes):
    if isinstance(n_classes, (bool, np.bool_)) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(f"{algo}: nClasses must be an integer, got {n_classes!r}")
    if n_classes < 1:
        raise ValueError(f"{algo}: nClasses must be at least 1, got {n_classes}")
    return int(n_classes)


def _check_alpha(algo, alpha):
    """None (1 for every feature), a positive scalar, or a (1, p) / (p,) array."""
    if alpha is None:
        return None
    a = np.asarray(alpha.to_numpy() if hasattr(alpha, "to_numpy") else alpha, dtype=np.float64)
    if a.ndim == 2 and a.shape[0] != 1 and a.shape[1] == 1:
        raise ValueError(f"{algo}: alpha must be a scalar or of shape (1, p), got shape {a.shape}")
    if a.ndim > 2:
        raise ValueError(f"{algo}: alpha must be a scalar or of shape (1, p), got shape {a.shape}")
    a = a.reshape(-1) if a.ndim else a
    if a.size == 0 or not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError(f"{algo}: alpha must be positive and finite, got {alpha!r}")
    return a.copy()


def _check_prior(algo, prior, n_classes):
    """None (uniform) or nClasses positive, finite values ((nClasses, 1) as daal4py)."""
    if prior is None:
        return None
    a = np.asarray(prior.to_numpy() if hasattr(prior, "to_numpy") else prior, dtype=np.float64)
    if a.size != n_classes or (a.ndim == 2 and 1 not in a.shape) or a.ndim > 2:
        raise ValueError(f"{algo}: priorClassEstimates must hold nClasses = {n_classes} values "
                         f"(shape ({n_classes}, 1)), got shape {a.shape}")
    a = a.reshape(-1)
    if not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError(f"{algo}: priorClassEstimates must be positive and finite, got {a}")
    return a.copy()


def _set_parameters(algo, nClasses, fptype, method, priorClassEstimates, alpha,
                    resultsToEvaluate):
    """Set and check the parameters training and prediction share (prediction checks
    ``alpha`` and the priors too, though the model already holds their effect)."""
    name = algo._name
    algo.nClasses = _check_n_classes(name, nClasses)
    algo.fptype = fptype
    algo.method = check_method(name, method, METHODS)
    algo.priorClassEstimates = priorClassEstimates
    algo.alpha = alpha
    algo.resultsToEvaluate = resultsToEvaluate
    algo._results = parse_flags(name, "resultsToEvaluate", resultsToEvaluate, RESULTS,
                                ["computeClassLabels"])
    algo._dtype = check_fptype(fptype)
    algo._alpha = _check_alpha(name, alpha)
    algo._prior = _check_prior(name, priorClassEstimates, algo.nClasses)


class ClassifierPrediction(Algorithm):
    """What the classifiers' prediction classes share: ``compute(data, model)``
    classifies the rows it is given, on any rank, without communication, filling
    the outputs ``resultsToEvaluate`` asks for.

    Subclasses set ``_results`` and ``_dtype`` and give ``_model_arrays(model)``
    (the model's arrays and its number of features) and ``_predict(X, arrays,
    labels, probabilities, log_probabilities)`` (fill the outputs that are not
    None, for the rows of X).
    """

    _needs_rows = False

    def compute(self, data, model, setup=False):
        """Classify the rows of ``data``.

        Parameters
        ----------
        data : array-like (n, p), DataFrame, scipy.sparse matrix or CSV file name
            ``"{}"`` in a file name is replaced by the rank.
        model : the training's model
            From ``<algorithm>_training(...).compute(...).model``.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        classifier_prediction_result
        """
        return self._compute((data, model))

    def _local(self, inputs):
        data, model = inputs
        arrays, p = self._model_arrays(model)
        X = check_table(data, "data", columns=p, columns_expected_by="the model was trained on {}",
                        finite=False)
        labels, probs, log_probs = classifier_outputs(X.shape[0], self.nClasses, self._results,
                                                      self._dtype)
        self._predict(X, arrays, labels, probs, log_probs)
        result = classifier_prediction_result(prediction=labels, probabilities=probs,
                                              logProbabilities=log_probs)
        return Part(result, {"data": p}, X.shape[0])


# ---- training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountTable:
    """A rank's (or a stream's) partial: ``table`` (nClasses, p + 1) holds the
    weighted feature sums per class and, in its last column, the class weights;
    ``n`` is the number of rows."""

    n: int
    table: np.ndarray

    @classmethod
    def empty(cls, n_classes, p):
        return cls(0, np.zeros((n_classes, p + 1)))

    def merge(self, other):
        return CountTable(self.n + other.n, self.table + other.table)


def _as_column(table, name, n):
    """The single column of a labels/weights table with ``n`` rows, as a contiguous
    1-D float array."""
    if table.shape[0] != n:
        raise ValueError(f"{name} has {table.shape[0]} rows but data has {n}")
    if n == 0:
        return np.empty(0)
    if table.shape[1] != 1:
        raise ValueError(f"{name} must be 1-D or of shape (n, 1), got shape {table.shape}")
    return np.ascontiguousarray(table[:, 0], dtype=np.float64)


def local_counts(data, labels, weights, n_classes, alpha=None):
    """Validate one rank's (or chunk's) inputs and count them.

    Returns ``(CountTable, p)``; ``p`` is None for an input of no shape (``[]``).
    Raises ValueError/TypeError naming the problem.
    """
    X = check_table(data, "data", finite=False)
    n = X.shape[0]
    p = columns_of(X)
    y = _as_column(check_table(labels, "labels", sparse="densify", finite=False), "labels", n)
    if weights is None:
        w = np.empty(0)
    else:
        w = _as_column(check_table(weights, "weights", sparse="densify", finite=False),
                       "weights", n)
        check_finite(w.reshape(-1, 1), "weights")
        if n and np.min(w) < 0:
            i = int(np.argmax(w < 0))
            raise ValueError(f"weights must be non-negative; weights[{i}] = {w[i]}")
    if alpha is not None and alpha.size > 1 and p is not None and alpha.size != p:
        raise ValueError(f"alpha has {alpha.size} values but data has {p} columns")
    if n == 0:
        return CountTable.empty(n_classes, X.shape[1]), p
    bad = nbk.first_bad_label(y, n_classes)
    if bad >= 0:
        raise ValueError(f"labels[{bad}] = {y[bad]} is not a class index: labels must be "
                         f"integers from 0 to nClasses - 1 = {n_classes - 1}")
    sparse = is_sparse(X)
    bounds = nbk.block_bounds(n, X.shape[1], n_classes, X.indptr if sparse else None)
    parallel = _parallel.use_parallel(bounds.size - 1, 1)  # at least 4 blocks
    if sparse:
        kernel = nbk.counts_csr_parallel if parallel else nbk.counts_csr_serial
        table, negatives = kernel(X.data, X.indices, X.indptr, X.shape[1], y, w, n_classes,
                                  bounds)
    else:
        kernel = nbk.counts_dense_parallel if parallel else nbk.counts_dense_serial
        table, negatives = kernel(X, y, w, n_classes, bounds)
    check_finite(X, "data", sums=table[:, :-1].sum(axis=0))
    if negatives:
        _raise_negative(X)
    return CountTable(n, table), p


def _raise_negative(X):
    if is_sparse(X):
        q = int(np.argmax(X.data < 0))
        row = int(np.searchsorted(X.indptr, q, side="right") - 1)
        col, value = int(X.indices[q]), X.data[q]
    else:
        row, col = (int(v) for v in np.argwhere(X < 0)[0])
        value = X[row, col]
    raise ValueError(f"data holds the negative value {value} at row {row}, column {col}; "
                     "multinomial naive Bayes needs non-negative feature counts")


class multinomial_naive_bayes_training(Algorithm):
    """Train a multinomial naive Bayes classifier (counts of features per class).

    Parameters
    ----------
    nClasses : int
        Number of classes; labels are the integers 0 .. nClasses - 1.
    fptype : {'double', 'float'}, default 'double'
        dtype of the model (counting is float64 either way).
    method : {'defaultDense', 'fastCSR'}, default 'defaultDense'
        Both methods accept dense and scipy.sparse input and give the same model;
        sparse input is never densified.
    priorClassEstimates : array-like (nClasses, 1), optional
        Class priors, positive and finite.  Used as given (``LogP = log(prior)``,
        like daal4py and scikit-learn's ``class_prior``); they need not sum to 1.
        Default: uniform, ``LogP = log(1 / nClasses)`` (not the class frequencies).
    alpha : float or array-like (1, p), optional
        Additive (Laplace/Lidstone) smoothing per feature, positive.  Default 1.
    resultsToEvaluate : str, optional
        Accepted for compatibility ('computeClassLabels', ... joined with '|');
        training has nothing to evaluate.
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the model of all rows.
    streaming : bool, default False
        ``compute`` may be called repeatedly with chunks; ``finalize()`` returns
        the result.  May be combined with ``distributed``.

    Examples
    --------
    >>> import numpy as np, d4p
    >>> X = np.array([[2., 0., 1.], [0., 3., 1.], [3., 1., 0.]])
    >>> model = d4p.multinomial_naive_bayes_training(2).compute(X, [0, 1, 0]).model
    >>> model.LogTheta.shape
    (2, 3)
    """

    _name = "multinomial_naive_bayes_training"

    def __init__(self, nClasses, fptype="double", method="defaultDense", priorClassEstimates=None,
                 alpha=None, resultsToEvaluate="", distributed=False, streaming=False):
        _set_parameters(self, nClasses, fptype, method, priorClassEstimates, alpha,
                        resultsToEvaluate)
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.streaming = check_bool(self._name, "streaming", streaming)

    # fptype only sets the dtype of the model (counting is float64 on every rank)
    _agreed = ("nClasses", "method", "alpha", "priorClassEstimates")

    def _agreed_values(self):
        return {"nClasses": self.nClasses, "method": self.method, "alpha": self._alpha,
                "priorClassEstimates": self._prior}

    def compute(self, data, labels, weights=None, setup=False):
        """Train on ``data`` and ``labels`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like (n, p), DataFrame, scipy.sparse matrix or CSV file name
            Non-negative feature counts (or frequencies).  ``"{}"`` in a file name
            is replaced by the rank.
        labels : array-like (n, 1) or (n,)
            Class indices 0 .. nClasses - 1, integer or float holding integers.
        weights : array-like (n, 1) or (n,), optional
            Non-negative row weights; they multiply the row's counts (as
            scikit-learn's ``sample_weight``).
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        multinomial_naive_bayes_training_result, or None in streaming mode (see
        ``finalize``).
        """
        return self._compute((data, labels, weights))

    # ---- the protocol's hooks ----

    def _local(self, inputs):
        data, labels, weights = inputs
        counts, p = local_counts(data, labels, weights, self.nClasses, self._alpha)
        return Part(counts, {"data": p}, counts.n)

    def _identity(self, shape):
        return CountTable.empty(self.nClasses, shape["data"])

    _merge = staticmethod(CountTable.merge)

    def _finish(self, counts, run):
        p = run.shape["data"]
        if self._alpha is not None and self._alpha.size > 1 and self._alpha.size != p:
            run.fail(f"alpha has {self._alpha.size} values but data has {p} columns")
        return self._model_of(counts)

    def _model_of(self, counts):
        p = counts.table.shape[1] - 1
        k = self.nClasses
        alpha = np.ones(p) if self._alpha is None else np.broadcast_to(self._alpha, (p,))
        smoothed = counts.table[:, :p] + alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            log_theta = np.log(smoothed) - np.log(smoothed.sum(axis=1)).reshape(-1, 1)
        log_p = np.full(k, -np.log(k)) if self._prior is None else np.log(self._prior)
        log_p = log_p.reshape(-1, 1)
        model = multinomial_naive_bayes_model(
            LogP=as_fptype(log_p, self._dtype),
            LogTheta=as_fptype(log_theta, self._dtype),
            AuxTable=as_fptype(log_theta + log_p, self._dtype),
            NFeatures=int(p), NumberOfFeatures=int(p),
            # the counts stay float64 whatever fptype (they are exact for integer data)
            FeatureCounts=counts.table[:, :p].copy(), ClassCounts=counts.table[:, p:].copy())
        return multinomial_naive_bayes_training_result(model=model)


# ---- prediction --------------------------------------------------------------------------


class multinomial_naive_bayes_prediction(ClassifierPrediction):
    """Predict classes (and class probabilities) with a multinomial naive Bayes model.

    Runs on the rows it is given, on any rank, without communication (daal4py's
    prediction has no distributed mode either).

    Parameters
    ----------
    nClasses : int
        Number of classes; must match the model.
    fptype : {'double', 'float'}, default 'double'
        dtype of ``probabilities`` and ``logProbabilities`` (``prediction`` is
        always float64, as in daal4py).
    method : {'defaultDense', 'fastCSR'}, default 'defaultDense'
        Both accept dense and scipy.sparse input.
    priorClassEstimates, alpha : optional
        Training parameters, accepted and checked for compatibility; the model
        already holds their effect (``LogP``, ``LogTheta``), as in daal4py.
    resultsToEvaluate : str, default '' ('computeClassLabels')
        Names joined with '|': 'computeClassLabels' (``prediction``),
        'computeClassProbabilities' (``probabilities``),
        'computeClassLogProbabilities' (``logProbabilities``).  Fields not
        requested are ``None``.
    """

    _name = "multinomial_naive_bayes_prediction"

    def __init__(self, nClasses, fptype="double", method="defaultDense", priorClassEstimates=None,
                 alpha=None, resultsToEvaluate=""):
        _set_parameters(self, nClasses, fptype, method, priorClassEstimates, alpha,
                        resultsToEvaluate)

    def _predict(self, X, arrays, labels, probs, log_probs):
        log_theta, log_p = arrays
        n, k = X.shape[0], self.nClasses
        theta_t = np.ascontiguousarray(log_theta.T)
        none = np.empty((0, 0), self._dtype)
        rows = max(64, _PREDICT_BLOCK_BYTES // (8 * max(X.shape[1], k, 1)))

        def predict_rows(start, stop):
            for lo in range(start, stop, rows):
                hi = min(lo + rows, stop)
                block = X[lo:hi]
                if is_sparse(block):
                    jll = np.asarray(block @ theta_t)
                else:
                    jll = np.asarray(block, dtype=np.float64) @ theta_t
                jll += log_p
                if not np.isfinite(jll).all():
                    check_finite(X, "data")  # names the row; overflow alone passes
                if labels is not None:
                    labels[lo:hi, 0] = np.argmax(jll, axis=1)
                if probs is not None or log_probs is not None:
                    nbk.log_normalise_rows(jll, none if log_probs is None else log_probs[lo:hi],
                                           none if probs is None else probs[lo:hi])

        # Contiguous parts of the rows on Python threads with single-threaded BLAS:
        # OpenBLAS is slow on these tall-skinny products (see stats.CoMoments).
        nparts = _parallel.thread_parts(n, rows)
        if nparts == 1:
            predict_rows(0, n)
        else:
            bounds = np.linspace(0, n, nparts + 1).astype(int)
            _parallel.map_threads(lambda i: predict_rows(bounds[i], bounds[i + 1]), nparts)

    def _model_arrays(self, model):
        if isinstance(model, multinomial_naive_bayes_training_result):
            raise TypeError(f"{self._name}: pass the model (training_result.model), not the "
                            "training result")
        try:
            log_theta = np.asarray(model.LogTheta, dtype=np.float64)
            log_p = np.asarray(model.LogP, dtype=np.float64)
        except AttributeError:
            raise TypeError(f"{self._name}: model must be a multinomial_naive_bayes_model, got "
                            f"{type(model).__name__}") from None
        k = self.nClasses
        if log_theta.ndim != 2 or log_theta.shape[0] != k or log_p.size != k:
            raise ValueError(f"{self._name}: the model has {log_theta.shape[0]} classes but "
                             f"nClasses is {k}")
        return (log_theta, log_p.reshape(1, k)), log_theta.shape[1]

