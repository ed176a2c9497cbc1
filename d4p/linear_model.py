"""Linear and ridge regression: training (normal equations or TSQR) and prediction.

``linear_regression_training`` / ``ridge_regression_training`` follow the
protocol of :mod:`d4p._protocol`: validate → local sufficient statistic →
pairwise merge up a tree of ranks → solve → model.  The statistic never holds the data:

* ``normEqDense`` (and ``defaultDense``): :class:`d4p.stats.CoMoments` of the
  columns of ``[X | Y]`` (means and centred cross-products, one BLAS ``syrk`` per
  block of rows), merged with the Chan, Golub & LeVeque update.  With an
  intercept the centred system ``Sxx β = Sxy`` is solved and ``β0 = ȳ − x̄ᵀβ``, so
  data far from the origin stays accurate; without one the raw products are
  ``XᵀX = Sxx + n x̄x̄ᵀ``.
* ``qrDense``: :class:`d4p.stats.CentredR`, the triangular factor of the centred
  ``[X | Y]`` (TSQR: LAPACK QR per block, R factors merged by QR of the stacked
  factors).  With ``R = [[R11, R12], [0, R22]]``, β solves ``R11 β = R12`` by
  back-substitution: the error grows with cond(X), not cond(X)².

Both solvers return the minimum-norm least-squares solution, with a
``RuntimeWarning``, when the system is rank-deficient (collinear or constant
columns, fewer rows than features) and warn when it is so ill-conditioned that
the coefficients have lost many digits.  They never return NaN for finite input.

The ``*_prediction`` classes compute ``X @ Beta[:, 1:].T + Beta[:, 0]`` on the
caller's rows; they need no communication, so any rank may predict its own rows
with the (global) model.
"""
import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method
from ._inputs import check_finite, check_table, columns_of, is_sparse
from ._protocol import Algorithm, Part, warn
from ._results import Result
from .stats import CentredR, CoMoments, PairwiseMerge

LINEAR_METHODS = ("defaultDense", "normEqDense", "qrDense")
RIDGE_METHODS = ("defaultDense", "normEqDense")
_RIDGE_REJECTED = {"qrDense": "daal4py's ridge regression has only the normal-equations method; "
                              "use 'normEqDense'"}

#: Condition number (of the equilibrated Gram matrix for normEq, of the column-scaled
#: R for qrDense) above which the answer may have lost more than about 12 of its 16
#: digits: such systems go through the eigen/SVD solver and raise a warning.
COND_LIMIT = 1e12
#: normEq: eigenvalues of the equilibrated Gram matrix (unit diagonal) below this,
#: relative to the largest, are rounding noise; they are dropped (minimum norm).
GRAM_RANK_TOL = 1e-13
_EPS = np.finfo(np.float64).eps


# ---- results ----------------------------------------------------------------------


class linear_regression_model(Result):
    """A fitted linear model.

    Attributes
    ----------
    Beta : ndarray (k, p + 1)
        Column 0 is the intercept (exactly 0 when ``InterceptFlag`` is False), column
        ``j`` the coefficient of feature ``j - 1``; one row per response.
    NumberOfBetas : int
        ``p + 1``.
    NumberOfResponses : int
        ``k``.
    NumberOfFeatures : int
        ``p``.
    InterceptFlag : bool
        Whether an intercept was fitted.
    """

    _fields = ("Beta", "NumberOfBetas", "NumberOfResponses", "NumberOfFeatures",
               "InterceptFlag")


class ridge_regression_model(linear_regression_model):
    """A fitted ridge model; the same fields as :class:`linear_regression_model`."""


class linear_regression_training_result(Result):
    """``model``: the :class:`linear_regression_model`."""

    _fields = ("model",)


class ridge_regression_training_result(Result):
    """``model``: the :class:`ridge_regression_model`."""

    _fields = ("model",)


class linear_regression_prediction_result(Result):
    """``prediction`` (n, k): one row per row of ``data``, one column per response."""

    _fields = ("prediction",)


class ridge_regression_prediction_result(linear_regression_prediction_result):
    """``prediction`` (n, k), as :class:`linear_regression_prediction_result`."""


# ---- training ---------------------------------------------------------------------


class _RegressionTraining(Algorithm):
    """What linear and ridge training share: inputs, statistic, solve."""

    _model = None
    _result = None
    # fptype only sets the dtype of Beta (the statistics are float64 on every rank)
    _agreed = ("method", "interceptFlag")

    def _setup(self, fptype, method, interceptFlag, distributed, streaming):
        self.fptype = fptype
        self.method = method
        self.interceptFlag = check_bool(self._name, "interceptFlag", interceptFlag)
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.streaming = check_bool(self._name, "streaming", streaming)
        self._dtype = check_fptype(fptype)
        self._qr = method == "qrDense"

    def compute(self, data, dependentVariables, setup=False):
        """Fit the model to ``data`` (n, p) and ``dependentVariables`` (n, k).

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            This rank's rows when distributed (``"{}"`` in a file name is replaced
            by the rank).  A rank may have no rows (``np.empty((0, p))`` or ``[]``).
        dependentVariables : array-like, Series, DataFrame or CSV file name
            The responses of the same rows: 1-D (one response) or (n, k).
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        training result with ``.model``, or None in streaming mode (see ``finalize``).
        """
        return self._compute((data, dependentVariables))

    # ---- the protocol's hooks ----

    def _local(self, inputs):
        """This rank's statistic of ``[X | Y]``, shaped by (p, k)."""
        data, dependentVariables = inputs
        X = check_table(data, "data", finite=False)
        Y = check_table(dependentVariables, "dependentVariables", sparse="densify", finite=False)
        if X.shape[0] != Y.shape[0]:
            raise ValueError(f"dependentVariables has {Y.shape[0]} rows but data has "
                             f"{X.shape[0]}; they must describe the same rows")
        shape = {"data": columns_of(X), "dependentVariables": columns_of(Y)}
        if shape["data"] == 0:
            raise ValueError("data has no columns")
        if shape["dependentVariables"] == 0:
            raise ValueError("dependentVariables has no columns")
        self._check_ridge_count(shape["dependentVariables"])
        if None in shape.values():
            return Part(None, shape, 0)
        p = X.shape[1]
        stat = (CentredR if self._qr else CoMoments).from_xy(X, Y)
        # Finite column means (or sums) prove the columns finite; else find the culprit.
        totals = stat.mean if self._qr else stat.sum
        check_finite(X, "data", sums=totals[:p])
        check_finite(Y, "dependentVariables", sums=totals[p:])
        return Part(stat, shape, X.shape[0])

    def _identity(self, shape):
        m = shape["data"] + shape["dependentVariables"]
        return CentredR.empty(m) if self._qr else CoMoments.empty(m)

    _merge = staticmethod(PairwiseMerge.merge)

    def _finish(self, total, run):
        p, k = run.shape["data"], run.shape["dependentVariables"]
        if self._lambda_count_mismatch(k):
            run.fail(self._lambda_count_mismatch(k))
        return self._solve(total, p, k)

    def _chunk_mismatch(self, new, old):
        return (f"this chunk has {new['data']} feature and {new['dependentVariables']} response "
                f"columns but earlier chunks had {old['data']} and {old['dependentVariables']}")

    # ---- ridge's λ ----

    def _lambda_count_mismatch(self, k):
        """Overridden by ridge: why the number of λ does not suit k responses."""
        return None

    def _check_ridge_count(self, k):
        problem = None if k is None else self._lambda_count_mismatch(k)
        if problem:
            raise ValueError(problem)

    def _penalties(self, k):
        return np.zeros(k)

    #: What to suggest when the normal equations are ill-conditioned.
    _advice = "method='qrDense' is accurate to about cond(X)·ε instead of cond(X)²·ε"

    def _solve(self, total, p, k):
        intercept = self.interceptFlag
        if self._qr:
            beta, problem = _solve_qr(total, p, intercept)
        else:
            beta, problem = _solve_normal(total, p, intercept, self._penalties(k))
        if problem:
            if not self._qr:
                problem += f"; {self._advice}"
            warn(f"{self._name}: {problem}", RuntimeWarning)
        mean = total.mean
        b0 = mean[p:] - mean[:p] @ beta if intercept else np.zeros(k)
        Beta = np.empty((k, p + 1))
        Beta[:, 0] = b0
        Beta[:, 1:] = beta.T
        model = self._model(Beta=as_fptype(Beta, self._dtype), NumberOfBetas=p + 1,
                            NumberOfResponses=k, NumberOfFeatures=p, InterceptFlag=intercept)
        return self._result(model=model)


class linear_regression_training(_RegressionTraining):
    """Ordinary least-squares linear regression with one or more responses.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of ``Beta`` (the statistics are accumulated in float64 either way).
    method : {'normEqDense', 'defaultDense', 'qrDense'}, default 'normEqDense'
        'normEqDense' (= 'defaultDense'): normal equations from centred
        cross-products, fastest.  'qrDense': distributed TSQR, accurate to about
        cond(X)·ε where the normal equations give cond(X)²·ε.
    interceptFlag : bool, default False
        Fit an intercept (``Beta[:, 0]``); it is not part of the centred system.
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the same global model.
    streaming : bool, default False
        Repeated ``compute`` calls with chunks of rows, then ``finalize()``; with
        ``distributed=True`` as well, each rank streams its own chunks and
        ``finalize()`` is collective.

    Notes
    -----
    Rank-deficient systems (collinear or constant columns, fewer rows than
    features) give the minimum-norm least-squares solution, as
    ``numpy.linalg.lstsq``, with a ``RuntimeWarning``.
    """

    _name = "linear_regression_training"
    _model = linear_regression_model
    _result = linear_regression_training_result

    def __init__(self, fptype="double", method="normEqDense", interceptFlag=False,
                 distributed=False, streaming=False):
        check_method(self._name, method, LINEAR_METHODS)
        self._setup(fptype, method, interceptFlag, distributed, streaming)


class ridge_regression_training(_RegressionTraining):
    """Ridge regression: least squares plus ``λ_j ‖β_j‖²`` for each response ``j``.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of ``Beta``.
    method : {'normEqDense', 'defaultDense'}, default 'normEqDense'
        Normal equations (the only method, as in daal4py).
    ridgeParameters : array-like of shape (1, 1) or (1, k), default None (λ = 1.0)
        The penalty λ, one for all responses or one per response (each response
        gets its own; daal4py uses the first for all).  Must be finite and >= 0.
    interceptFlag : bool, default False
        Fit an intercept; the intercept is not penalised (as scikit-learn's
        ``Ridge(fit_intercept=True)``).
    distributed, streaming : bool, default False
        As for :class:`linear_regression_training`.
    """

    _name = "ridge_regression_training"
    _model = ridge_regression_model
    _result = ridge_regression_training_result
    _advice = "a larger ridge parameter makes it better conditioned"

    def __init__(self, fptype="double", method="normEqDense", ridgeParameters=None,
                 interceptFlag=False, distributed=False, streaming=False):
        check_method(self._name, method, RIDGE_METHODS, _RIDGE_REJECTED)
        self.ridgeParameters = ridgeParameters
        self._lambdas = _ridge_parameters(ridgeParameters)
        self._setup(fptype, method, interceptFlag, distributed, streaming)

    _agreed = ("method", "interceptFlag", "ridgeParameters")

    def _agreed_values(self):
        return {**super()._agreed_values(), "ridgeParameters": self._lambdas}

    def _lambda_count_mismatch(self, k):
        count = self._lambdas.size
        if count not in (1, k):
            return (f"{self._name}: ridgeParameters has {count} values but there are {k} "
                    f"responses; give shape (1, 1) or (1, {k})")
        return None

    def _penalties(self, k):
        return np.broadcast_to(self._lambdas, (k,)).copy()


def _ridge_parameters(value):
    """The λ values as a 1-D float64 array; ``None`` means λ = 1."""
    if value is None:
        return np.ones(1)
    if is_sparse(value) or not np.ndim(value) <= 2:
        raise ValueError("ridgeParameters must be a number or an array of shape (1, 1) or (1, k)")
    try:
        lam = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"ridgeParameters must be numeric, got {value!r}") from None
    if lam.ndim == 2 and lam.shape[0] != 1:
        raise ValueError(f"ridgeParameters must have shape (1, 1) or (1, k), got {lam.shape}")
    lam = lam.reshape(-1)
    if lam.size == 0:
        raise ValueError("ridgeParameters is empty; give shape (1, 1) or (1, k)")
    if not np.isfinite(lam).all() or (lam < 0).any():
        raise ValueError(f"ridgeParameters must be finite and non-negative, got {lam.tolist()}")
    return lam


# ---- solvers ----------------------------------------------------------------------


def _solve_normal(c, p, intercept, lambdas):
    """β (p, k) from merged CoMoments of [X | Y], with penalty ``lambdas[j]`` for
    response ``j``; and a description of what was wrong with the system, or None."""
    cross = (c.cross + c.cross.T) / 2
    A, B = cross[:p, :p], cross[:p, p:]
    if not intercept:
        mean = c.mean
        A = A + c.n * np.outer(mean[:p], mean[:p])
        B = B + c.n * np.outer(mean[:p], mean[p:])
    beta = np.empty(B.shape)
    problems = []
    for lam in np.unique(lambdas):
        cols = lambdas == lam
        beta[:, cols], problem = _solve_gram(A + lam * np.eye(p), B[:, cols])
        if problem:
            problems.append(problem if len(lambdas) == 1 or lambdas.min() == lambdas.max()
                            else f"{problem} (for λ = {lam:g})")
    return beta, "; ".join(problems) or None


def _solve_gram(M, B):
    """Solve the symmetric positive semi-definite system ``M β = B``.

    The system is equilibrated (unit diagonal) and factored by Cholesky.  If that
    fails, or its condition number exceeds COND_LIMIT, the eigen-decomposition
    gives the minimum-norm solution, dropping eigenvalues at rounding level.
    """
    p = M.shape[0]
    d = np.sqrt(np.clip(np.diagonal(M), 0.0, None))
    s = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 1.0)
    Ms = M * s[:, None] * s[None, :]
    Bs = B * s[:, None]
    try:
        L = np.linalg.cholesky(Ms)
        Linv = np.linalg.solve(L, np.eye(p))
        cond = np.linalg.norm(Ms, 1) * np.linalg.norm(Linv.T @ Linv, 1)
    except np.linalg.LinAlgError:
        cond = np.inf
    if np.isfinite(cond) and cond <= COND_LIMIT:
        return s[:, None] * np.linalg.solve(L.T, np.linalg.solve(L, Bs)), None
    w, V = np.linalg.eigh(Ms)
    keep = w > GRAM_RANK_TOL * max(w[-1], 0.0)
    gamma = V[:, keep] @ ((V[:, keep].T @ Bs) / w[keep][:, None])
    beta = _minimum_norm(s, gamma, V[:, ~keep])
    return beta, _describe(keep, w[-1] / w[keep][0] if keep.any() else np.inf,
                           "normal equations")


def _solve_qr(stat, p, intercept):
    """β (p, k) from the merged CentredR of [X | Y]: back-substitution in
    ``R11 β = R12``; minimum norm by the SVD of R11 when it is rank-deficient."""
    R = stat.r if intercept else stat.uncentred()
    R11, R12 = R[:p, :p], R[:p, p:]
    norms = np.sqrt(np.einsum("ij,ij->j", R11, R11))
    s = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
    U, sig, Vt = np.linalg.svd(R11 * s[None, :])
    tol = _EPS * max(stat.n, p) * sig[0]  # numpy.linalg.lstsq's default cut-off
    keep = sig > tol
    cond = sig[0] / sig[-1] if sig[-1] > 0 else np.inf
    if keep.all() and cond <= COND_LIMIT:
        return np.linalg.solve(R11, R12), None  # R11 is triangular: back-substitution
    gamma = Vt[keep].T @ ((U[:, keep].T @ R12) / sig[keep][:, None])
    beta = _minimum_norm(s, gamma, Vt[~keep].T)
    return beta, _describe(keep, sig[0] / sig[keep][-1] if keep.any() else np.inf,
                           "centred data" if intercept else "data")


def _minimum_norm(s, gamma, null):
    """β = diag(s) γ with its component along ``diag(s) null`` removed: the
    minimum-norm solution in the original (unscaled) coordinates."""
    beta = s[:, None] * gamma
    if null.shape[1]:
        Q, _ = np.linalg.qr(s[:, None] * null)
        beta -= Q @ (Q.T @ beta)
    return beta


def _describe(keep, cond, what):
    """The warning text for a system that did not take the fast path."""
    p, rank = keep.size, int(keep.sum())
    if rank < p:
        return (f"the {what} are rank-deficient to working precision (numerical rank {rank} "
                f"of {p} features: collinear or constant columns, fewer rows than features, or "
                "too ill-conditioned); returning the minimum-norm least-squares solution")
    return (f"the {what} are ill-conditioned (condition number {cond:.1e}), "
            "so the coefficients may have lost many digits")


# ---- prediction -------------------------------------------------------------------


class _RegressionPrediction(Algorithm):
    """``compute(data, model)`` on this rank's rows; no communication."""

    _result = None
    _needs_rows = False

    def __init__(self, fptype="double", method="defaultDense"):
        self.fptype = fptype
        self.method = check_method(self._name, method, ("defaultDense",))
        self._dtype = check_fptype(fptype)

    def compute(self, data, model, setup=False):
        """Predict the responses of ``data`` with a trained ``model``.

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            Rows to predict, (n, p); on any rank, without communication.
        model : linear_regression_model or ridge_regression_model
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        prediction result with ``.prediction`` of shape (n, k).
        """
        return self._compute((data, model))

    def _local(self, inputs):
        data, model = inputs
        if not isinstance(model, linear_regression_model):
            raise TypeError(f"{self._name}: model must be a linear_regression_model or "
                            f"ridge_regression_model, got {type(model).__name__}")
        p = model.NumberOfFeatures
        X = check_table(data, "data", columns=p, columns_expected_by="the model was trained on {}",
                        finite=False)
        W = np.ascontiguousarray(model.Beta[:, 1:].T, dtype=np.float64)
        b = np.asarray(model.Beta[:, 0], dtype=np.float64)
        out = _predict(X, W, b)
        if not np.isfinite(out).all():
            check_finite(X, "data")
        return Part(out, {"data": p}, X.shape[0])

    def _finish(self, out, run):
        if out.dtype != self._dtype:
            out = out.astype(self._dtype)
        return self._result(prediction=out)


def _predict(X, W, b):
    """``X @ W + b`` in float64, by blocks of rows (no n-sized float64 copy of X)."""
    n, p = X.shape
    out = np.empty((n, W.shape[1]))
    rows = max(64, (4 << 20) // (8 * max(p, 1)))
    for lo in range(0, n, rows):
        block = X[lo:lo + rows]
        block = block.toarray() if is_sparse(block) else block
        np.matmul(block.astype(np.float64, copy=False), W, out=out[lo:lo + rows])
    out += b
    return out


class linear_regression_prediction(_RegressionPrediction):
    """Predictions of a linear model: ``X @ Beta[:, 1:].T + Beta[:, 0]``.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of ``prediction``.
    method : {'defaultDense'}, default 'defaultDense'
    """

    _name = "linear_regression_prediction"
    _result = linear_regression_prediction_result


class ridge_regression_prediction(_RegressionPrediction):
    """Predictions of a ridge model: ``X @ Beta[:, 1:].T + Beta[:, 0]``.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of ``prediction``.
    method : {'defaultDense'}, default 'defaultDense'
    """

    _name = "ridge_regression_prediction"
    _result = ridge_regression_prediction_result
