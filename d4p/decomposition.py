"""``qr``, ``svd``, ``pca`` and ``pca_transform``: the decomposition classes.

``qr`` and ``svd`` reduce each rank's rows to the TSQR statistic
(:class:`d4p.tsqr.TSQRFactor`, an R factor merged up the tree of ranks); where a
per-row factor is wanted (Q or U) the ranks' R factors are combined once more so
that each rank multiplies its own rows by a small matrix (:func:`d4p.tsqr.combine`).
The local factorisations are guarded Cholesky QRs (:mod:`d4p.cholesky_qr`).

``pca`` with ``svdDense`` uses :class:`d4p.stats.CentredR`, the R factor of the
centred rows, merged across ranks with ``R = qr([R_a; R_b; sqrt(n_a n_b / n)
(mean_b - mean_a)ᵀ])``, so the result is the batch answer on the concatenated
rows.  ``correlationDense`` uses the centred cross-products of
:class:`d4p.stats.CoMoments`.  ``pca_transform`` is local (no communication).
"""
import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_finite, check_table, columns_of
from ._protocol import Algorithm, Part
from ._results import Result
from .cholesky_qr import constant_columns, row_blocks
from .normalization import normalization_zscore
from .stats import CentredR, CoMoments
from .tsqr import TSQRFactor, combine, positive_diagonal

__all__ = ["qr", "qr_result", "svd", "svd_result", "pca", "pca_result", "pca_transform",
           "pca_transform_result", "constant_columns"]


def _flip_rows(V, U=None):
    """Deterministic signs: each row of V gets its largest-magnitude entry positive
    (the matching column of U flips with it)."""
    if V.shape[0] == 0:
        return V, U
    idx = np.argmax(np.abs(V), axis=1)
    signs = np.where(V[np.arange(V.shape[0]), idx] < 0, -1.0, 1.0)
    return V * signs[:, None], (None if U is None else U * signs)


# ---- qr and svd: the TSQR statistic ------------------------------------------------------


class _TSQRAlgorithm(Algorithm):
    """What qr and svd share: constructor checks and the TSQR statistic's hooks."""

    def __init__(self, fptype, method, distributed, streaming):
        self.fptype = fptype
        self.method = check_method(self._name, method, ("defaultDense",))
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.streaming = check_bool(self._name, "streaming", streaming)
        # fptype only sets the dtype of this rank's results (the arithmetic is float64):
        # not agreed, see docs/migrating.md.
        self._dtype = check_fptype(fptype)

    def _want_q(self):
        """Whether the per-row factor (Q or U) is formed."""
        return True

    def compute(self, data, setup=False):
        """Factor ``data`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix (densified) or CSV file name
            ``"{}"`` in a file name is replaced by the rank.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        qr_result (qr) or svd_result (svd); None in streaming mode (see ``finalize``,
        whose result covers every chunk given, rows in order).
        """
        return self._compute((data,))

    # the protocol's hooks
    def _local(self, inputs):
        X = check_table(inputs[0], sparse="densify", finite=False)
        p = columns_of(X)
        if p is None:
            return Part(None, {"data": None}, 0)
        # In batch mode X outlives the factorisation, so one Cholesky pass may defer X R⁻¹.
        stat = TSQRFactor.from_data(X, self._want_q(), keep_data=not self.streaming)
        return Part(stat, {"data": p}, X.shape[0])

    def _identity(self, shape):
        return TSQRFactor.empty(shape["data"])

    _merge = staticmethod(TSQRFactor.merge)

    def _combined(self, run):
        """TSQR with Q: the global R, this rank's block of the small Q and its local
        factor (this rank's chunks, rows in order)."""
        p = run.shape["data"]
        local = (run.part.stat or TSQRFactor.empty(p)).local(p)
        R, Qs = combine(run.comm, local.r)
        return R, Qs, local

    def _rows_of(self, local, W):
        """This rank's rows of ``Q_loc @ W``; in place in batch mode only (streamed
        chunks' factors serve later ``finalize`` calls too)."""
        return local.apply(W, self._dtype, inplace=not self.streaming)


class qr_result(Result):
    """``matrixQ`` (n, k) — this rank's rows when distributed — and ``matrixR`` (k, p),
    with k = min(total rows, p)."""

    _fields = ("matrixQ", "matrixR")


class qr(_TSQRAlgorithm):
    """QR decomposition ``X = Q R`` of a tall matrix (TSQR when distributed).

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of the results (computation is in float64 either way).
    method : str, default 'defaultDense'
        The only method.
    distributed : bool, default False
        Each rank passes its own rows: ``matrixR`` is global (the same on every
        rank), ``matrixQ`` holds this rank's rows of Q, so ``Q_i @ R == X_i`` and the
        rank-ordered stack of the Q blocks is orthonormal.  Ranks may have fewer
        rows than columns, or none.
    streaming : bool, default False
        Repeated ``compute`` calls with chunks, then ``finalize()``; also together
        with ``distributed``.  With Q wanted, each chunk's local Q factor
        (n_chunk x p float64) is kept until then: memory of the order of the data
        streamed.

    Notes
    -----
    ``R`` has a non-negative diagonal, so the factorisation is unique for data of
    full column rank.  With N total rows and p columns, k = min(N, p): ``matrixQ``
    is (n_i, k) and ``matrixR`` (k, p), numpy's reduced QR (upper trapezoidal R
    when N < p).
    """

    _name = "qr"
    _agreed = ("method",)

    def __init__(self, fptype="double", method="defaultDense", distributed=False,
                 streaming=False):
        super().__init__(fptype, method, distributed, streaming)

    def _finish(self, total, run):
        R, Qs, local = self._combined(run)
        return qr_result(matrixQ=self._rows_of(local, Qs), matrixR=as_fptype(R, self._dtype))


_SVD_MATRIX = ("requiredInPackedForm", "notRequired")


def _svd_flag(name, value):
    if value in ("", None):
        return True
    if value not in _SVD_MATRIX:
        raise ValueError(f"svd: unexpected value {value!r} for {name}; expected one of "
                         f"{list(_SVD_MATRIX)}")
    return value == "requiredInPackedForm"


class svd_result(Result):
    """``singularValues`` (1, k), ``rightSingularMatrix`` (k, p) = Vᵀ and
    ``leftSingularMatrix`` (n, k) — this rank's rows when distributed; k = min(N, p)."""

    _fields = ("singularValues", "rightSingularMatrix", "leftSingularMatrix")


class svd(_TSQRAlgorithm):
    """Singular value decomposition ``X = U diag(s) Vᵀ`` (TSQR, then SVD of R).

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of the results (computation is in float64 either way).
    method : str, default 'defaultDense'
        The only method.
    leftSingularMatrix : {'', 'requiredInPackedForm', 'notRequired'}, default ''
        '' means 'requiredInPackedForm'.  'notRequired' leaves
        ``leftSingularMatrix`` None and skips forming Q (faster); it works
        distributed too (daal4py fails there).
    rightSingularMatrix : {'', 'requiredInPackedForm', 'notRequired'}, default ''
        'notRequired' leaves ``rightSingularMatrix`` None (daal4py ignores it).
    distributed : bool, default False
        Each rank passes its own rows: ``singularValues`` and
        ``rightSingularMatrix`` are global, ``leftSingularMatrix`` holds this rank's
        rows of U, so ``U_i @ diag(s) @ Vᵀ == X_i``.
    streaming : bool, default False
        Repeated ``compute`` calls with chunks, then ``finalize()``; also together
        with ``distributed``.  Without U only a p x p R is kept.

    Notes
    -----
    Signs are deterministic: the largest-magnitude entry of each right singular
    vector (row of ``rightSingularMatrix``) is positive, U's columns follow.
    With N total rows, k = min(N, p) singular triplets are returned (numpy's
    ``full_matrices=False``).
    """

    _name = "svd"
    _agreed = ("method", "leftSingularMatrix", "rightSingularMatrix")

    def __init__(self, fptype="double", method="defaultDense", leftSingularMatrix="",
                 rightSingularMatrix="", distributed=False, streaming=False):
        super().__init__(fptype, method, distributed, streaming)
        self.leftSingularMatrix = leftSingularMatrix
        self.rightSingularMatrix = rightSingularMatrix
        self._left = _svd_flag("leftSingularMatrix", leftSingularMatrix)
        self._right = _svd_flag("rightSingularMatrix", rightSingularMatrix)

    def _agreed_values(self):
        return {"method": self.method,
                "leftSingularMatrix": _SVD_MATRIX[not self._left],
                "rightSingularMatrix": _SVD_MATRIX[not self._right]}

    def _want_q(self):
        return self._left

    def _finish(self, total, run):
        if self._left:
            R, Qs, local = self._combined(run)
        else:  # R only: the merged statistic is all there is
            R = positive_diagonal(None, total.r)[1]
        if np.isfinite(R).all():
            U_R, s, Vt = np.linalg.svd(R, full_matrices=False)
            Vt, U_R = _flip_rows(Vt, U_R)
        else:  # non-finite data under assume_finite: NaN results, not a LinAlgError
            k = R.shape[0]
            U_R, s, Vt = (np.full((k, k), np.nan), np.full(k, np.nan),
                          np.full((k, R.shape[1]), np.nan))
        U = self._rows_of(local, Qs @ U_R) if self._left else None
        return svd_result(singularValues=as_fptype(s.reshape(1, -1), self._dtype),
                          rightSingularMatrix=as_fptype(Vt, self._dtype) if self._right else None,
                          leftSingularMatrix=U)


# ---- pca ---------------------------------------------------------------------------------

PCA_METHODS = ("correlationDense", "defaultDense", "svdDense")
PCA_RESULTS = ("mean", "variance", "eigenvalue", "none")


class pca_result(Result):
    """``eigenvalues`` (1, k), ``eigenvectors`` (k, p), ``means`` (1, p) or None,
    ``variances`` (1, p) or None, ``dataForTransform`` dict."""

    _fields = ("eigenvalues", "eigenvectors", "means", "variances", "dataForTransform")


def _safe_scale(std):
    """Standard deviations with zeros replaced by 1 (a constant column stays 0 after
    centring, as in scikit-learn's StandardScaler)."""
    return np.where(std > 0, std, 1.0)


class _GivenCorrelation:
    """pca's statistic when the correlation matrix is the input (batch only)."""

    def __init__(self, matrix):
        self.matrix = matrix


class pca(Algorithm):
    """Principal component analysis of the standardised columns (correlation PCA).

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of the results (computation is in float64 either way).
    method : {'correlationDense', 'defaultDense', 'svdDense'}, default 'correlationDense'
        'correlationDense' (= 'defaultDense'): eigendecomposition of the
        correlation matrix from the merged centred cross-products.  'svdDense':
        SVD of the R factor of the globally centred, scaled rows (TSQR), more
        accurate for the small components of ill-conditioned data.  Both give the
        batch answer on the concatenated rows for any split.
    resultsToCompute : str, default ''
        Names from 'mean', 'variance', 'eigenvalue' (or 'none') joined with '|'.
        'mean' fills ``means``, 'variance' ``variances`` (ddof=1); each also fills
        its ``dataForTransform`` entry, as 'eigenvalue' does.
    nComponents : int, default -1
        Components to return; -1 or 0 mean all p.
    isDeterministic : bool, default False
        Flip each component so that its largest-magnitude entry is positive.
    doScale : bool, default False
        Accepted for compatibility; ``eigenvalues`` are always the explained
        variances (what daal4py gives with doScale=True).
    isCorrelation : bool, default False
        Batch only: ``data`` (or the ``correlation`` argument) already is the
        correlation matrix; its eigendecomposition is returned.
    normalization : None or normalization_zscore, default None
        None: z-score the columns.  With ``svdDense``, a
        ``normalization_zscore(doScale=False)`` (daal4py's default object) only
        centres them: the components and ``eigenvalues`` are then the covariance
        matrix's.  ``correlationDense`` ignores it, as daal4py does.
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the same result.  The
        ranks must agree on every parameter but ``fptype`` and ``doScale``
        (a difference raises on every rank).

    Notes
    -----
    ``eigenvalues`` are the eigenvalues of the correlation matrix, i.e. the
    variance each component explains in the standardised data (``s² / (N - 1)`` for
    the singular values s of the standardised data), for both methods.  A column
    with zero variance is left unscaled (it is all zeros once centred): it
    contributes a zero eigenvalue.
    """

    _name = "pca"
    # fptype only sets the dtype of this rank's results and doScale changes nothing:
    # neither is agreed (docs/migrating.md).
    _agreed = ("method", "resultsToCompute", "nComponents", "isDeterministic", "isCorrelation",
               "normalization")

    def __init__(self, fptype="double", method="correlationDense", resultsToCompute="",
                 nComponents=-1, isDeterministic=False, doScale=False, isCorrelation=False,
                 normalization=None, distributed=False):
        name = self._name
        self.fptype = fptype
        self.method = check_method(name, method, PCA_METHODS)
        # The statistic's merge: CentredR's (svdDense) or CoMoments' (correlationDense).
        self._merge = CentredR.merge if self._svd else CoMoments.merge
        self.resultsToCompute = resultsToCompute
        flags = parse_flags(name, "resultsToCompute", resultsToCompute, PCA_RESULTS, [])
        self._flags = flags - {"none"}
        self.nComponents = _check_components(name, nComponents)
        self.isDeterministic = check_bool(name, "isDeterministic", isDeterministic)
        self.doScale = check_bool(name, "doScale", doScale)
        self.isCorrelation = check_bool(name, "isCorrelation", isCorrelation)
        if normalization is not None and not isinstance(normalization, normalization_zscore):
            raise TypeError(f"{name}: normalization must be None or a "
                            f"d4p.normalization_zscore, got {type(normalization).__name__}")
        self.normalization = normalization
        # daal4py: svdDense normalises with this object (doScale=False: centre only,
        # so the components are the covariance's); correlationDense ignores it.
        self._scale = normalization is None or normalization.doScale or not self._svd
        self.distributed = check_bool(name, "distributed", distributed)
        if self.isCorrelation and self.distributed:
            raise ValueError(f"{name}: isCorrelation=True (the input is a correlation matrix) "
                             "works in batch mode only, not with distributed=True")
        self._dtype = check_fptype(fptype)

    def _agreed_values(self):
        return {"method": "svdDense" if self._svd else "correlationDense",
                "resultsToCompute": tuple(sorted(self._flags)),
                "nComponents": -1 if self.nComponents in (-1, 0) else self.nComponents,
                "isDeterministic": self.isDeterministic, "isCorrelation": self.isCorrelation,
                "normalization": "zscore" if self._scale else "centre"}

    def compute(self, data, correlation=None, setup=False):
        """Principal components of ``data`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            ``"{}"`` in a file name is replaced by the rank.  With
            ``isCorrelation=True`` and no ``correlation``: the p x p correlation
            matrix itself.
        correlation : array-like, optional
            Batch only: a precomputed p x p correlation matrix to decompose.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        pca_result
        """
        return self._compute((data, correlation))

    @property
    def _svd(self):
        return self.method == "svdDense"

    # the protocol's hooks
    def _local(self, inputs):
        data, correlation = inputs
        if correlation is not None or self.isCorrelation:
            if self.distributed:
                raise ValueError(f"{self._name}.compute: a precomputed correlation matrix can "
                                 "only be decomposed in batch mode (distributed=False)")
            if correlation is not None:
                matrix = _check_matrix(correlation, "correlation")
            else:
                matrix = _check_matrix(data, "data")
            return Part(_GivenCorrelation(matrix), {"data": matrix.shape[1]}, matrix.shape[0])
        X = check_table(data, finite=False)
        stat = (CentredR if self._svd else CoMoments).from_data(X)
        check_finite(X, "data", sums=stat.mean)
        return Part(stat, {"data": columns_of(X)}, X.shape[0])

    def _identity(self, shape):
        return (CentredR if self._svd else CoMoments).empty(shape["data"])


    def _finish(self, total, run):
        p = run.shape["data"]
        if isinstance(total, _GivenCorrelation):
            values, vectors = _eigh_descending(total.matrix)
            return self._result(values, vectors, None, None, p)
        if total.n < 2:
            run.fail(f"{self._name}: PCA needs at least 2 rows in total, got {total.n}")
        return self._finish_svd(total, p) if self._svd else self._finish_cov(total, p)

    def _finish_cov(self, c, p):
        const = constant_columns(np.diag(c.cross), c.n, c.mean)
        cov = c.cross / (c.n - 1)
        cov[const, :] = 0.0
        cov[:, const] = 0.0
        variances = np.maximum(np.diag(cov), 0.0)
        scale = _safe_scale(np.sqrt(variances))
        corr = cov / np.outer(scale, scale)
        values, vectors = _eigh_descending((corr + corr.T) / 2)
        return self._result(values, vectors, c.mean, variances, p)

    def _finish_svd(self, t, p):
        ss = np.sum(t.r * t.r, axis=0)
        const = constant_columns(ss, t.n, t.mean)
        variances = np.where(const, 0.0, ss / (t.n - 1))
        scaled = t.r / _safe_scale(np.sqrt(variances)) if self._scale else t.r.copy()
        scaled[:, const] = 0.0
        if not np.isfinite(scaled).all():  # NaN data with assume_finite
            values, vectors = np.full(p, np.nan), np.full((p, p), np.nan)
        else:
            _, s, vectors = np.linalg.svd(scaled, full_matrices=scaled.shape[0] < p)
            values = np.zeros(p)
            values[:s.size] = s * s / (t.n - 1)
        return self._result(values, vectors, t.mean, variances, p)

    def _result(self, values, vectors, mean, variances, p):
        k = p if self.nComponents in (-1, 0) else self.nComponents
        if k > p:
            raise ValueError(f"{self._name}: nComponents={k} exceeds the number of columns {p}")
        values, vectors = values[:k], vectors[:k]
        if self.isDeterministic:
            vectors, _ = _flip_rows(vectors)
        dt = self._dtype
        means = as_fptype(mean.reshape(1, -1), dt) if "mean" in self._flags and mean is not None \
            else None
        var = as_fptype(variances.reshape(1, -1), dt) \
            if "variance" in self._flags and variances is not None else None
        eig = as_fptype(values.reshape(1, -1), dt)
        transform = {"mean": None if means is None else means.copy(),
                     "variance": None if var is None else var.copy(),
                     "eigenvalue": eig.copy() if "eigenvalue" in self._flags else None}
        return pca_result(eigenvalues=eig, eigenvectors=as_fptype(vectors, dt), means=means,
                          variances=var, dataForTransform=transform)


def _check_components(name, k):
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{name}: nComponents must be an integer, got {k!r}")
    if k < -1:
        raise ValueError(f"{name}: nComponents must be -1 or 0 (all) or positive, got {k}")
    return int(k)


def _check_matrix(data, name):
    M = check_table(data, name, sparse="reject", dtype=np.float64)
    n, p = M.shape
    if n != p or n == 0:
        raise ValueError(f"{name} must be a square (p, p) correlation matrix, got shape {M.shape}")
    if not np.allclose(M, M.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(M).max())):
        raise ValueError(f"{name} is not symmetric")
    return (M + M.T) / 2


def _eigh_descending(M):
    if not np.isfinite(M).all():  # non-finite data under assume_finite
        return np.full(M.shape[0], np.nan), np.full(M.shape, np.nan)
    values, vectors = np.linalg.eigh(M)
    return np.maximum(values[::-1], 0.0), vectors[:, ::-1].T


# ---- pca_transform ----------------------------------------------------------------------


class pca_transform_result(Result):
    """``transformedData`` (n, k)."""

    _fields = ("transformedData",)


TRANSFORM_KEYS = ("mean", "variance", "eigenvalue")


class pca_transform(Algorithm):
    """Project rows on principal components: ``((X - mean) / sqrt(variance)) @ Vᵀ``,
    each component then divided by ``sqrt(eigenvalue)`` (whitening).

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of ``transformedData``.
    method : str, default 'defaultDense'
        The only method.
    nComponents : int, default -1
        Components to keep; -1 or 0 mean every row of ``eigenvectors``.

    Notes
    -----
    Purely local (no communication): in SPMD scripts each rank transforms its own
    rows with the (identical) results of a distributed ``pca``.  Every
    ``dataForTransform`` entry is optional; a zero variance or eigenvalue divides
    by 1 (the component stays as it is) rather than producing inf.
    """

    _name = "pca_transform"
    _agreed = ("method", "nComponents")
    _needs_rows = False  # no rows to transform gives no rows

    def __init__(self, fptype="double", method="defaultDense", nComponents=-1):
        self.fptype = fptype
        self.method = check_method(self._name, method, ("defaultDense",))
        self.nComponents = _check_components(self._name, nComponents)
        self._dtype = check_fptype(fptype)

    def compute(self, data, eigenvectors, dataForTransform=None, setup=False):
        """Transform ``data``.

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            Rows to transform (n, p).
        eigenvectors : array-like (k0, p)
            Components in rows, e.g. ``pca_result.eigenvectors``.
        dataForTransform : dict, optional
            ``{'mean': (1, p), 'variance': (1, p), 'eigenvalue': (1, >= k)}``, each
            entry optional or None, e.g. ``pca_result.dataForTransform``.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        pca_transform_result
        """
        return self._compute((data, eigenvectors, dataForTransform))

    # the protocol's hooks (one rank, no merge: the "statistic" is the transformed rows)
    def _local(self, inputs):
        data, eigenvectors, dataForTransform = inputs
        name = self._name
        V = check_table(eigenvectors, "eigenvectors", sparse="reject", dtype=np.float64)
        k0, p = V.shape
        X = check_table(data, finite=False, columns=p,  # a table of no shape: (0, p)
                        columns_expected_by="the eigenvectors have {}")
        k = k0 if self.nComponents in (-1, 0) else self.nComponents
        if k > k0:
            raise ValueError(f"{name}: nComponents={k} exceeds the {k0} eigenvectors given")
        entries = _transform_entries(name, dataForTransform, p, k)
        V = V[:k]
        shift = entries.get("mean")
        if "variance" in entries:
            if (entries["variance"] < 0).any():
                raise ValueError(f"{name}: dataForTransform['variance'] has negative entries")
            V = V / _safe_scale(np.sqrt(entries["variance"]))  # scale the inputs' columns
        M = V.T
        if "eigenvalue" in entries:
            ev = entries["eigenvalue"][:k]
            if (ev < 0).any():
                raise ValueError(f"{name}: dataForTransform['eigenvalue'] has negative entries")
            M = M / _safe_scale(np.sqrt(ev))
        out = np.empty((X.shape[0], k), dtype=self._dtype)
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite data: reported below
            for lo, block in row_blocks(X):
                out[lo:lo + block.shape[0]] = block @ M if shift is None else (block - shift) @ M
        check_finite(X, "data", sums=out.sum(axis=0, dtype=np.float64))
        return Part(out, {"data": p}, X.shape[0])

    def _identity(self, shape):
        return np.empty((0, 0), dtype=self._dtype)  # never needed: one rank, one part

    def _finish(self, total, run):
        return pca_transform_result(transformedData=total)


def _transform_entries(name, dft, p, k):
    if dft is None:
        return {}
    if not isinstance(dft, dict):
        raise TypeError(f"{name}: dataForTransform must be a dict with keys "
                        f"{list(TRANSFORM_KEYS)}, got {type(dft).__name__}")
    unknown = set(dft) - set(TRANSFORM_KEYS)
    if unknown:
        raise ValueError(f"{name}: unexpected dataForTransform key(s) {sorted(unknown)}; "
                         f"expected {list(TRANSFORM_KEYS)}")
    entries = {}
    for key, value in dft.items():
        if value is None:
            continue
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        need = k if key == "eigenvalue" else p
        if (key == "eigenvalue" and arr.size < need) or (key != "eigenvalue" and arr.size != need):
            raise ValueError(f"{name}: dataForTransform[{key!r}] has {arr.size} values, "
                             f"expected {'at least ' if key == 'eigenvalue' else ''}{need}")
        check_finite(arr.reshape(1, -1), f"dataForTransform[{key!r}]")
        entries[key] = arr
    return entries
