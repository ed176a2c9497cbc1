"""``qr``, ``svd``, ``pca`` and ``pca_transform``: decompositions built on TSQR.

Every rank factors its own rows, ``X_i = Q_i R_i``; the small ``R_i`` (at most
p x p each) are gathered on rank 0, stacked and factored once more,
``[R_0; R_1; ...] = Q_s R``, and ``R`` with the blocks of ``Q_s`` is broadcast (so
every rank holds the same bits); rank ``i``'s rows of the global Q are then
``Q_i @ Q_s[block i]`` (Demmel, Grigori, Hoemmen & Langou, 2012).  When only R is
needed the R factors are merged up the communicator's tree instead.  Only R
factors cross the wire.  ``R`` is normalised to a non-negative diagonal (rows of
R and the matching columns of Q flipped), which makes the factorisation unique
for full-rank data and so the same for every split of the rows.

The local factorisation is a guarded Cholesky QR, because LAPACK's Householder
QR (``dgeqrf``) runs at level-2 BLAS speed on tall, skinny blocks while a Gram
matrix runs at GEMM speed:

1. ``G = XᵀX`` (one SYRK pass over the rows); ``G`` is equilibrated to unit
   diagonal and Cholesky-factored, ``G = R1ᵀR1``; ``kappa`` = the 2-norm condition
   number of the equilibrated factor (SVD of a p x p matrix).
2. ``kappa <= 1e2`` (Q wanted) or ``<= 1e3`` (R only): one pass is enough,
   ``Q = X R1⁻¹`` is orthonormal to about ``kappa² u`` and R accurate to ``kappa u``.
3. ``kappa <= 1e6``: CholeskyQR2, a second pass ``Q1 = X R1⁻¹``,
   ``Q1ᵀQ1 = R2ᵀR2``, ``R = R2 R1``: orthogonality and residual at Householder's
   level (Yamamoto, Nakatsukasa, Yanagisawa & Fukaya, 2015).
4. Otherwise (or when a Cholesky fails: rank deficiency, zero columns, fewer
   rows than columns): Householder QR from LAPACK (``numpy.linalg.qr``), on row
   blocks when only R is needed.

``pca`` with ``svdDense`` uses :class:`CentredR`, the R factor of the centred rows,
merged across ranks with ``R = qr([R_a; R_b; sqrt(n_a n_b / n) (mean_b - mean_a)ᵀ])``,
so the result is the batch answer on the concatenated rows.  ``correlationDense``
uses the centred cross-products of :class:`d4p.stats.CoMoments`.
"""
from dataclasses import dataclass

import numpy as np

from . import _parallel
from ._algorithm import (Agreement, as_fptype, check_bool, check_fptype, check_method,
                         columns_of, communicator, parse_flags, same_columns)
from ._inputs import as_table, check_finite, is_sparse
from ._results import Result
from ._streaming import StreamingMixin
from .stats import CentredR, CoMoments, triangular_factor

#: Cholesky QR acceptance limits on the condition number of the equilibrated R.
KAPPA_ONE_PASS_Q = 1e2   # one pass: Q orthonormal to ~kappa² u ~ 1e-12
KAPPA_ONE_PASS_R = 1e3   # one pass, R only: R accurate to ~kappa u ~ 1e-13
KAPPA_TWO_PASS = 1e6     # CholeskyQR2 (Householder-quality); Householder beyond
#: Rows per block for blocked passes: about 4 MiB of float64.
BLOCK_BYTES = 4 << 20


# ---- dense helpers (numpy / LAPACK; no communication) ---------------------------------


def _block_rows(p):
    return max(256, BLOCK_BYTES // (8 * max(p, 1)))


def _blocks(X, rows=None):
    """``(first row, float64 block)`` pairs covering the rows of a dense or CSR table."""
    rows = rows or _block_rows(X.shape[1])
    for lo in range(0, X.shape[0], rows):
        block = X[lo:lo + rows]
        if is_sparse(block):
            block = block.toarray()
        yield lo, np.asarray(block, dtype=np.float64)


def _blas64(X):
    """True when ``X`` can go to BLAS whole: dense float64, C or F contiguous."""
    return (isinstance(X, np.ndarray) and X.dtype == np.float64
            and (X.flags.c_contiguous or X.flags.f_contiguous))


def _over_row_parts(n, p, fn):
    """``[fn(lo, hi), ...]`` over contiguous parts of the rows, on as many Python
    threads (each with single-threaded BLAS) as this rank may use: OpenBLAS
    threads tall-skinny products poorly, independent streams use the cores well.
    One part, in this thread, for small inputs and inside simulated ranks."""
    nparts = _parallel.thread_parts(n, _block_rows(p))
    bounds = np.linspace(0, n, nparts + 1).astype(int)
    if nparts == 1:
        return [fn(0, n)]
    return _parallel.map_threads(lambda k: fn(bounds[k], bounds[k + 1]), nparts)


def _gram(X):
    """``XᵀX`` in float64 (SYRKs; blocked for float32, strided or sparse input)."""
    def part(lo, hi):
        rows = X[lo:hi]
        if _blas64(rows):
            return rows.T @ rows
        G = np.zeros((X.shape[1], X.shape[1]))
        for _, block in _blocks(rows):
            G += block.T @ block
        return G

    parts = _over_row_parts(X.shape[0], X.shape[1], part)
    total = parts[0]
    for G in parts[1:]:
        total = total + G
    return total


def _product(A, M, dtype, inplace=False):
    """``A @ M`` (A: n x m table, M: m x k) as a new (n, k) array of ``dtype``, or in
    place in ``A`` when allowed (A float64 and M square)."""
    n, k = A.shape[0], M.shape[1]
    if inplace and A.dtype == np.float64 and dtype == np.float64 and M.shape[0] == k:
        def part(lo, hi):
            rows = _block_rows(k)
            for start in range(lo, hi, rows):
                stop = min(start + rows, hi)
                A[start:stop] = A[start:stop] @ M
        _over_row_parts(n, k, part)
        return A
    out = np.empty((n, k), dtype=dtype)

    def part(lo, hi):
        rows = A[lo:hi]
        if _blas64(rows) and out.dtype == np.float64:
            np.matmul(rows, M, out=out[lo:hi])
            return
        for start, block in _blocks(rows):
            out[lo + start:lo + start + block.shape[0]] = block @ M

    _over_row_parts(n, max(k, A.shape[1]), part)
    return out


def _dense64(X):
    return np.asarray(X.toarray() if is_sparse(X) else X, dtype=np.float64)


@dataclass(frozen=True)
class _Cholesky:
    r: np.ndarray      # upper triangular, positive diagonal, G = rᵀr
    r_inv: np.ndarray  # its inverse
    kappa: float       # 2-norm condition number of r with unit columns


def _cholesky(G):
    """Cholesky factor of the Gram matrix ``G``, equilibrated for accuracy and
    scale-invariance; ``None`` if ``G`` is not numerically positive definite."""
    d = np.sqrt(np.diag(G))
    if G.shape[0] == 0 or not (np.isfinite(d).all() and (d > 0).all()):
        return None
    try:
        unit = np.linalg.cholesky(G / np.outer(d, d)).T
    except np.linalg.LinAlgError:
        return None
    s = np.linalg.svd(unit, compute_uv=False)
    kappa = s[0] / s[-1] if s[-1] > 0 else np.inf
    if not np.isfinite(kappa):
        return None
    unit_inv = np.triu(np.linalg.inv(unit))
    return _Cholesky(unit * d, unit_inv / d[:, None], float(kappa))


def _qr_r(A):
    """R factor (min(m, p) x p) of a small dense float64 matrix, Householder."""
    return np.linalg.qr(A, mode="r") if A.shape[0] else np.zeros((0, A.shape[1]))


def _householder_r(X, centre=None, zero=None):
    """R factor of ``X - centre`` (columns ``zero`` set to 0) by Householder QR over
    row blocks (bounded memory)."""
    p = X.shape[1]
    r = np.zeros((0, p))
    for _, block in _blocks(X):
        if centre is not None:
            block = block - centre
        if zero is not None:
            block[:, zero] = 0.0
        r = _qr_r(np.vstack([r, block]))
    return r


def _r_from_gram(G, second_pass, householder, zero=None):
    """R factor of a matrix from its Gram matrix ``G`` (p x p): one Cholesky pass when
    well conditioned, CholeskyQR2 (``second_pass(columns, r_inv)`` returns the Gram
    of the ``columns`` times ``r_inv``) when moderately conditioned, ``householder()``
    otherwise.  Exactly-zero columns (zero diagonal in G), and those flagged in
    ``zero``, get zero rows and columns."""
    p = G.shape[0]
    if not np.isfinite(G).all():  # non-finite data under assume_finite
        return np.full((p, p), np.nan)
    keep = np.diag(G) > 0
    if zero is not None:
        keep &= ~zero
    cols = np.flatnonzero(keep)
    r = np.zeros((p, p))
    if cols.size == 0:
        return r
    chol = _cholesky(G[np.ix_(cols, cols)])
    if chol is None or chol.kappa > KAPPA_TWO_PASS:
        return householder()
    rc = chol.r
    if chol.kappa > KAPPA_ONE_PASS_R:
        chol2 = _cholesky(second_pass(cols, chol.r_inv))
        if chol2 is None:
            return householder()
        rc = np.triu(chol2.r @ rc)
    r[np.ix_(cols, cols)] = rc
    return r


class _Local:
    """One rank's (or one chunk's) factorisation ``X = Q_loc @ r`` with Q_loc kept
    implicit when it is cheaper: ``Q_loc = A @ T`` (A the data or a float64 factor).

    ``A`` is overwritten by an in-place ``apply`` only when ``owned``.
    ``parts`` (chunks, Q_c) stands for stacked chunks whose R factors were
    combined as ``[r_1; r_2; ...] = Q_c r``.
    """

    def __init__(self, r, n, A=None, T=None, parts=None, owned=True):
        self.r, self.n, self.A, self.T, self.parts = r, n, A, T, parts
        self.owned = owned  # A is ours (may be overwritten), not the caller's data

    def apply(self, W, dtype, inplace=False):
        """``Q_loc @ W`` as an (n, W.shape[1]) array of ``dtype``."""
        if self.n == 0:
            return np.empty((0, W.shape[1]), dtype=dtype)
        if self.parts is not None:
            chunks, Qc = self.parts
            out, row, lo = np.empty((self.n, W.shape[1]), dtype=dtype), 0, 0
            for chunk in chunks:
                k = chunk.r.shape[0]
                out[row:row + chunk.n] = chunk.apply(Qc[lo:lo + k] @ W, dtype)
                row, lo = row + chunk.n, lo + k
            return out
        M = W if self.T is None else self.T @ W
        return _product(self.A, M, dtype, inplace=inplace and self.owned)


def _factor_local(X, want_q, keep_data):
    """Factor a rank's (or chunk's) dense rows: a :class:`_Local`.

    ``want_q``: Q will be needed (else only r); ``keep_data``: the caller keeps X
    alive until Q is applied (batch), so one Cholesky pass may defer ``X R⁻¹``.
    Raises ValueError for non-finite values (unless assume_finite).
    """
    n, p = X.shape
    if n == 0:
        return _Local(np.zeros((0, p)), 0)
    if n >= p:
        G = _gram(X)
        check_finite(X, "data", sums=np.diag(G))
        if not want_q:
            r = _r_from_gram(G, lambda cols, Ri: _gram_of_product(X, cols, Ri),
                             lambda: _householder_r(X))
            return _Local(r, n)
        chol = _cholesky(G)
        if chol is not None and chol.kappa <= KAPPA_TWO_PASS:
            if chol.kappa <= KAPPA_ONE_PASS_Q:
                if keep_data:
                    return _Local(chol.r, n, A=X, T=chol.r_inv, owned=False)
                return _Local(chol.r, n, A=_product(X, chol.r_inv, np.float64))
            Q1 = _product(X, chol.r_inv, np.float64)
            chol2 = _cholesky(Q1.T @ Q1)
            if chol2 is not None:
                return _Local(np.triu(chol2.r @ chol.r), n, A=Q1, T=chol2.r_inv)
    else:
        check_finite(X, "data")
    if want_q:
        Q, R = np.linalg.qr(_dense64(X))
        return _Local(R, n, A=Q)
    return _Local(_householder_r(X), n)


def _gram_of_product(X, cols, M, centre=None):
    """Gram matrix of ``(X[:, cols] - centre[cols]) @ M``, blocked."""
    def part(lo, hi):
        G = np.zeros((M.shape[1], M.shape[1]))
        for _, block in _blocks(X[lo:hi]):
            block = block[:, cols]
            if centre is not None:
                block = block - centre[cols]
            Y = block @ M
            G += Y.T @ Y
        return G

    parts = _over_row_parts(X.shape[0], X.shape[1], part)
    total = parts[0]
    for G in parts[1:]:
        total = total + G
    return total


def _stack_locals(items, p):
    """One :class:`_Local` for the concatenated rows of several chunks."""
    items = [it for it in items if it.n > 0]
    if not items:
        return _Local(np.zeros((0, p)), 0)
    if len(items) == 1:
        return items[0]
    Qc, r = np.linalg.qr(np.vstack([it.r for it in items]))
    return _Local(r, sum(it.n for it in items), parts=(items, Qc))


def _positive_diagonal(Q, R):
    """Flip rows of R (and columns of Q) so that R's diagonal is non-negative."""
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return (None if Q is None else Q * signs), np.triu(R * signs[:, None])


def _combine(comm, r_local, where):
    """TSQR across ranks: the ranks' R factors are gathered on rank 0, stacked and
    factored there, and the result broadcast, so every rank holds the same bits.
    Returns the global R (k x p, non-negative diagonal, k = min(total rows, p)) and
    this rank's block of the small Q (k_i x k)."""
    rs = comm.gather(r_local, root=0)
    result = None
    if comm.rank == 0:
        counts = [r.shape[0] for r in rs]
        try:
            if sum(counts) == 0:
                raise ValueError(f"{where}: no rows on any rank")
            Qs, R = _positive_diagonal(*np.linalg.qr(np.vstack(rs)))
            starts = np.cumsum([0] + counts[:-1])
            result = (R, [Qs[lo:lo + k] for lo, k in zip(starts, counts)])
        except Exception as exc:  # noqa: BLE001 - every rank must hear of it
            result = exc
    result = comm.bcast(result, root=0)
    if isinstance(result, Exception):
        raise result
    R, blocks = result
    return R, blocks[comm.rank]


def _merge_r(a, b):
    return _qr_r(np.vstack([a, b]))


def _combine_r(comm, r_local, where):
    """R only: merge the ranks' R factors up the communicator's tree."""
    R = comm.tree_reduce(r_local, _merge_r)
    if R.shape[0] == 0:
        raise ValueError(f"{where}: no rows on any rank")
    return _positive_diagonal(None, R)[1]


def _flip_rows(V, U=None):
    """Deterministic signs: each row of V gets its largest-magnitude entry positive
    (the matching column of U flips with it)."""
    if V.shape[0] == 0:
        return V, U
    idx = np.argmax(np.abs(V), axis=1)
    signs = np.where(V[np.arange(V.shape[0]), idx] < 0, -1.0, 1.0)
    return V * signs[:, None], (None if U is None else U * signs)


def _dense_table(data):
    X = as_table(data)
    return X.toarray() if is_sparse(X) else X


# ---- qr ----------------------------------------------------------------------------------


class qr_result(Result):
    """``matrixQ`` (n, k) — this rank's rows when distributed — and ``matrixR`` (k, p),
    with k = min(total rows, p)."""

    _fields = ("matrixQ", "matrixR")


class _Chunks:
    """Streaming partial of qr/svd: the chunks' factorisations in order (when Q is
    wanted) or just the running R."""

    def __init__(self, items, p):
        self.items, self.p = items, p

    @staticmethod
    def merge(a, b):
        items = a.items + b.items
        if items and all(it.A is None and it.parts is None for it in items) and len(items) > 1:
            # R only: fold now so memory stays p x p.
            r = _qr_r(np.vstack([it.r for it in items]))
            items = [_Local(r, sum(it.n for it in items))]
        return _Chunks(items, a.p)


class _TSQRBase(StreamingMixin):
    """What qr and svd share: validation, local factorisation, streaming."""

    def _want_q(self):
        raise NotImplementedError

    def _local_partial(self, data):
        X = _dense_table(data)
        p = columns_of(X)
        if p is None:
            return None, None
        local = _factor_local(X, self._want_q(), keep_data=False)
        if local.n == 0:
            local = _Local(np.zeros((0, p)), 0)
        return _Chunks([local], p), p

    @staticmethod
    def _merge(a, b):
        return _Chunks.merge(a, b)

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
        The result, or None in streaming mode (see ``finalize``).
        """
        if self.streaming:
            return self._stream_chunk(data)
        comm = communicator(self.distributed)
        where = f"{self._name}.compute"
        with Agreement(comm, where) as step:
            X = _dense_table(data)
            local = _factor_local(X, self._want_q(), keep_data=True)
            step.info = columns_of(X)
        p = same_columns(step.infos, where, comm.size)
        if step.info != p:
            local = _Local(np.zeros((0, p)), 0)
        return self._finish(comm, local, where, inplace=True)

    def finalize(self):
        """Combine the chunks given to ``compute`` (on every rank when distributed)
        and return the result for all of them, rows in the order given.  Further
        chunks may follow; the next ``finalize`` includes them too.

        With Q (or U) wanted, each chunk's local Q factor (n_chunk x p float64) is
        kept until then: memory of the order of the data streamed.
        """
        if not self.streaming:
            raise ValueError(f"{self._name}: finalize() needs streaming=True")
        comm = communicator(self.distributed)
        where = f"{self._name}.finalize"
        with Agreement(comm, where) as step:
            step.info = self._stream_p
        p = same_columns(step.infos, where, comm.size)
        items = self._partial.items if self._stream_p == p else []
        return self._finish(comm, _stack_locals(items, p), where, inplace=False)


class qr(_TSQRBase):
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
        with ``distributed``.

    Notes
    -----
    ``R`` has a non-negative diagonal, so the factorisation is unique for data of
    full column rank.  With N total rows and p columns, k = min(N, p): ``matrixQ``
    is (n_i, k) and ``matrixR`` (k, p), numpy's reduced QR (upper trapezoidal R
    when N < p).
    """

    _name = "qr"

    def __init__(self, fptype="double", method="defaultDense", distributed=False,
                 streaming=False):
        self.fptype = fptype
        self.method = check_method(self._name, method, ("defaultDense",))
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.streaming = check_bool(self._name, "streaming", streaming)
        self._dtype = check_fptype(fptype)
        self._reset_stream()

    def _want_q(self):
        return True

    def _finish(self, comm, local, where, inplace):
        R, Qs = _combine(comm, local.r, where)
        Q = local.apply(Qs, self._dtype, inplace=inplace)
        return qr_result(matrixQ=Q, matrixR=as_fptype(R, self._dtype))


# ---- svd ---------------------------------------------------------------------------------

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


class svd(_TSQRBase):
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
        with ``distributed``.

    Notes
    -----
    Signs are deterministic: the largest-magnitude entry of each right singular
    vector (row of ``rightSingularMatrix``) is positive, U's columns follow.
    With N total rows, k = min(N, p) singular triplets are returned (numpy's
    ``full_matrices=False``).
    """

    _name = "svd"

    def __init__(self, fptype="double", method="defaultDense", leftSingularMatrix="",
                 rightSingularMatrix="", distributed=False, streaming=False):
        self.fptype = fptype
        self.method = check_method(self._name, method, ("defaultDense",))
        self.leftSingularMatrix = leftSingularMatrix
        self.rightSingularMatrix = rightSingularMatrix
        self._left = _svd_flag("leftSingularMatrix", leftSingularMatrix)
        self._right = _svd_flag("rightSingularMatrix", rightSingularMatrix)
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.streaming = check_bool(self._name, "streaming", streaming)
        self._dtype = check_fptype(fptype)
        self._reset_stream()

    def _want_q(self):
        return self._left

    def _finish(self, comm, local, where, inplace):
        if self._left:
            R, Qs = _combine(comm, local.r, where)
        else:
            R = _combine_r(comm, local.r, where)
        if np.isfinite(R).all():
            U_R, s, Vt = np.linalg.svd(R, full_matrices=False)
            Vt, U_R = _flip_rows(Vt, U_R)
        else:  # non-finite data under assume_finite: NaN results, not a LinAlgError
            k = R.shape[0]
            U_R, s, Vt = (np.full((k, k), np.nan), np.full(k, np.nan),
                          np.full((k, R.shape[1]), np.nan))
        U = local.apply(Qs @ U_R, self._dtype, inplace=inplace) if self._left else None
        return svd_result(singularValues=as_fptype(s.reshape(1, -1), self._dtype),
                          rightSingularMatrix=as_fptype(Vt, self._dtype) if self._right else None,
                          leftSingularMatrix=U)


# ---- pca ---------------------------------------------------------------------------------


def _local_centred_r(X):
    """This rank's :class:`d4p.stats.CentredR` for pca ``svdDense``.

    Faster than the statistic's own Householder constructor on well-conditioned
    data: the centred cross-products (one pass, see CoMoments) and their Cholesky
    factor, with a second pass (CholeskyQR2) or Householder QR of the centred row
    blocks when the conditioning asks for it.  Non-finite data give a NaN ``r``
    (the caller reports them).
    """
    n, p = X.shape
    c = CoMoments.from_data(X)
    if n == 0:
        return CentredR.empty(p)
    if not np.isfinite(c.sum).all():
        return CentredR(n, c.origin, c.offset, np.full((p, p), np.nan))
    mean = c.mean
    const = constant_columns(np.diag(c.cross), n, mean)

    def householder():
        return _householder_r(X, centre=mean, zero=const)

    if n <= p:
        r = householder()
    else:
        r = _r_from_gram(c.cross, lambda cols, Ri: _gram_of_product(X, cols, Ri, mean),
                         householder, zero=const)
    # The statistic's form: (p, p), non-negative diagonal, zero rows when n < p.
    return CentredR(n, c.origin, c.offset, triangular_factor(r, p))


PCA_METHODS = ("correlationDense", "defaultDense", "svdDense")
PCA_RESULTS = ("mean", "variance", "eigenvalue", "none")


class pca_result(Result):
    """``eigenvalues`` (1, k), ``eigenvectors`` (k, p), ``means`` (1, p) or None,
    ``variances`` (1, p) or None, ``dataForTransform`` dict."""

    _fields = ("eigenvalues", "eigenvectors", "means", "variances", "dataForTransform")


def constant_columns(centred_ss, n, mean):
    """Columns whose centred sum of squares is at rounding level for their mean
    (standard deviation <= 16 ulp of the mean): constant up to rounding."""
    tiny = 16 * np.finfo(np.float64).eps * np.abs(mean)
    return centred_ss <= n * tiny * tiny


def _safe_scale(std):
    """Standard deviations with zeros replaced by 1 (a constant column stays 0 after
    centring, as in scikit-learn's StandardScaler)."""
    return np.where(std > 0, std, 1.0)


class pca:
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
    normalization : None
        Only None (z-score normalisation, always applied) is supported.
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the same result.

    Notes
    -----
    ``eigenvalues`` are the eigenvalues of the correlation matrix, i.e. the
    variance each component explains in the standardised data (``s² / (N - 1)`` for
    the singular values s of the standardised data), for both methods.  A column
    with zero variance is left unscaled (it is all zeros once centred): it
    contributes a zero eigenvalue.
    """

    _name = "pca"

    def __init__(self, fptype="double", method="correlationDense", resultsToCompute="",
                 nComponents=-1, isDeterministic=False, doScale=False, isCorrelation=False,
                 normalization=None, distributed=False):
        name = self._name
        self.fptype = fptype
        self.method = check_method(name, method, PCA_METHODS)
        self.resultsToCompute = resultsToCompute
        flags = parse_flags(name, "resultsToCompute", resultsToCompute, PCA_RESULTS, [])
        self._flags = flags - {"none"}
        self.nComponents = _check_components(name, nComponents)
        self.isDeterministic = check_bool(name, "isDeterministic", isDeterministic)
        self.doScale = check_bool(name, "doScale", doScale)
        self.isCorrelation = check_bool(name, "isCorrelation", isCorrelation)
        if normalization is not None:
            raise ValueError(f"{name}: normalization objects are not supported; d4p always "
                             "z-scores the columns (pass normalization=None)")
        self.normalization = None
        self.distributed = check_bool(name, "distributed", distributed)
        if self.isCorrelation and self.distributed:
            raise ValueError(f"{name}: isCorrelation=True (the input is a correlation matrix) "
                             "works in batch mode only, not with distributed=True")
        self._dtype = check_fptype(fptype)

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
        comm = communicator(self.distributed)
        where = f"{self._name}.compute"
        use_matrix = correlation is not None or self.isCorrelation
        with Agreement(comm, where) as step:
            if use_matrix:
                if self.distributed:
                    raise ValueError(f"{where}: a precomputed correlation matrix can only be "
                                     "decomposed in batch mode (distributed=False)")
                matrix = _check_matrix(correlation if correlation is not None else data,
                                       "correlation" if correlation is not None else "data")
                step.info = matrix.shape[1]
            else:
                X = as_table(data)
                partial = _local_centred_r(X) if self._svd else CoMoments.from_data(X)
                check_finite(X, "data", sums=partial.mean)
                step.info = columns_of(X)
        p = same_columns(step.infos, where, comm.size)
        if use_matrix:
            values, vectors = _eigh_descending(matrix)
            return self._result(values, vectors, None, None, p)
        if step.info != p:
            partial = (CentredR if self._svd else CoMoments).empty(p)
        merge = CentredR.merge if self._svd else CoMoments.merge
        total = comm.tree_reduce(partial, merge)
        if total.n < 2:
            raise ValueError(f"{where}: PCA needs at least 2 rows in total, got {total.n}")
        return self._finalize_svd(total, p) if self._svd else self._finalize_cov(total, p)

    @property
    def _svd(self):
        return self.method == "svdDense"

    def _finalize_cov(self, c, p):
        const = constant_columns(np.diag(c.cross), c.n, c.mean)
        cov = c.cross / (c.n - 1)
        cov[const, :] = 0.0
        cov[:, const] = 0.0
        variances = np.maximum(np.diag(cov), 0.0)
        scale = _safe_scale(np.sqrt(variances))
        corr = cov / np.outer(scale, scale)
        values, vectors = _eigh_descending((corr + corr.T) / 2)
        return self._result(values, vectors, c.mean, variances, p)

    def _finalize_svd(self, t, p):
        ss = np.sum(t.r * t.r, axis=0)
        const = constant_columns(ss, t.n, t.mean)
        variances = np.where(const, 0.0, ss / (t.n - 1))
        scaled = t.r / _safe_scale(np.sqrt(variances))
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
    M = as_table(data, name=name, allow_sparse=False)
    n, p = M.shape
    if n != p or n == 0:
        raise ValueError(f"{name} must be a square (p, p) correlation matrix, got shape {M.shape}")
    M = np.asarray(M, dtype=np.float64)
    check_finite(M, name)
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


class pca_transform:
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
        name = self._name
        X = as_table(data)
        V = np.asarray(as_table(eigenvectors, "eigenvectors", allow_sparse=False), np.float64)
        k0, p = V.shape
        n = X.shape[0]
        if X.shape == (0, 0):
            X = np.empty((0, p))
        if X.shape[1] != p:
            raise ValueError(f"{name}: data has {X.shape[1]} columns but the eigenvectors have {p}")
        k = k0 if self.nComponents in (-1, 0) else self.nComponents
        if k > k0:
            raise ValueError(f"{name}: nComponents={k} exceeds the {k0} eigenvectors given")
        check_finite(V, "eigenvectors")
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
        out = np.empty((n, k), dtype=self._dtype)
        with np.errstate(invalid="ignore", over="ignore"):  # non-finite data: reported below
            for lo, block in _blocks(X):
                out[lo:lo + block.shape[0]] = block @ M if shift is None else (block - shift) @ M
        check_finite(X, "data", sums=out.sum(axis=0, dtype=np.float64))
        return pca_transform_result(transformedData=out)


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
