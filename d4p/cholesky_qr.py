"""Guarded Cholesky QR of one rank's rows: the local factorisation under TSQR and CentredR.

No communication here: numpy / LAPACK on one rank's (or one chunk's) rows.
LAPACK's Householder QR (``dgeqrf``) runs at level-2 BLAS speed on tall, skinny
blocks while a Gram matrix runs at GEMM speed, so the rows are factored through
their Gram matrix whenever that is accurate enough:

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

Large inputs are split into contiguous row parts on Python threads, each with
single-threaded BLAS (:func:`over_row_parts`).
"""
from dataclasses import dataclass

import numpy as np

from . import _parallel
from ._inputs import check_finite, is_sparse

#: Cholesky QR acceptance limits on the condition number of the equilibrated R.
KAPPA_ONE_PASS_Q = 1e2   # one pass: Q orthonormal to ~kappa² u ~ 1e-12
KAPPA_ONE_PASS_R = 1e3   # one pass, R only: R accurate to ~kappa u ~ 1e-13
KAPPA_TWO_PASS = 1e6     # CholeskyQR2 (Householder-quality); Householder beyond
#: Rows per block for blocked passes: about 4 MiB of float64.
BLOCK_BYTES = 4 << 20


# ---- row blocks and threads -------------------------------------------------------------


def block_rows(p):
    """Rows per block of a blocked pass over a table of ``p`` columns."""
    return max(256, BLOCK_BYTES // (8 * max(p, 1)))


def row_blocks(X, rows=None):
    """``(first row, float64 block)`` pairs covering the rows of a dense or CSR table."""
    rows = rows or block_rows(X.shape[1])
    for lo in range(0, X.shape[0], rows):
        block = X[lo:lo + rows]
        if is_sparse(block):
            block = block.toarray()
        yield lo, np.asarray(block, dtype=np.float64)


class Rows:
    """The rows of ``[X | Y] - centre`` (X dense or CSR, Y dense or None), read in
    float64 row blocks without forming the whole table."""

    def __init__(self, X, Y=None, centre=None, rows=None):
        self.X = X
        self.Y = Y if Y is not None and Y.shape[1] else None
        self.centre = centre
        self.n = X.shape[0]
        self.m = X.shape[1] + (0 if self.Y is None else self.Y.shape[1])
        self.rows = rows or block_rows(self.m)  # rows per block

    def blocks(self, lo=0, hi=None):
        """Float64 blocks of rows ``lo:hi`` (possibly views of the caller's data: read only)."""
        hi = self.n if hi is None else hi
        for start, block in row_blocks(self.X[lo:hi], self.rows):
            if self.Y is not None:
                block = np.hstack([block, self.Y[lo + start:lo + start + block.shape[0]]])
            if self.centre is not None:
                block = block - self.centre
            yield block


def _blas64(X):
    """True when ``X`` can go to BLAS whole: dense float64, C or F contiguous."""
    return (isinstance(X, np.ndarray) and X.dtype == np.float64
            and (X.flags.c_contiguous or X.flags.f_contiguous))


def over_row_parts(n, p, fn):
    """``[fn(lo, hi), ...]`` over contiguous parts of the rows, on as many Python
    threads (each with single-threaded BLAS) as this rank may use: OpenBLAS
    threads tall-skinny products poorly, independent streams use the cores well.
    One part, in this thread, for small inputs and inside simulated ranks."""
    nparts = _parallel.thread_parts(n, block_rows(p))
    bounds = np.linspace(0, n, nparts + 1).astype(int)
    if nparts == 1:
        return [fn(0, n)]
    return _parallel.map_threads(lambda k: fn(bounds[k], bounds[k + 1]), nparts)


def _summed(parts):
    total = parts[0]
    for G in parts[1:]:
        total = total + G
    return total


# ---- products ----------------------------------------------------------------------------


def gram(X):
    """``XᵀX`` in float64 (SYRKs; blocked for float32, strided or sparse input)."""
    def part(lo, hi):
        rows = X[lo:hi]
        if _blas64(rows):
            return rows.T @ rows
        G = np.zeros((X.shape[1], X.shape[1]))
        for _, block in row_blocks(rows):
            G += block.T @ block
        return G

    return _summed(over_row_parts(X.shape[0], X.shape[1], part))


def gram_of_product(rows, cols, M):
    """Gram matrix of ``rows[:, cols] @ M`` (``rows`` a :class:`Rows`), blocked."""
    def part(lo, hi):
        G = np.zeros((M.shape[1], M.shape[1]))
        for block in rows.blocks(lo, hi):
            Y = block[:, cols] @ M
            G += Y.T @ Y
        return G

    return _summed(over_row_parts(rows.n, rows.m, part))


def product(A, M, dtype, inplace=False):
    """``A @ M`` (A: n x m table, M: m x k) as a new (n, k) array of ``dtype``, or in
    place in ``A`` when allowed (A float64 and M square)."""
    n, k = A.shape[0], M.shape[1]
    if inplace and A.dtype == np.float64 and dtype == np.float64 and M.shape[0] == k:
        def part(lo, hi):
            rows = block_rows(k)
            for start in range(lo, hi, rows):
                stop = min(start + rows, hi)
                A[start:stop] = A[start:stop] @ M
        over_row_parts(n, k, part)
        return A
    out = np.empty((n, k), dtype=dtype)

    def part(lo, hi):
        rows = A[lo:hi]
        if _blas64(rows) and out.dtype == np.float64:
            np.matmul(rows, M, out=out[lo:hi])
            return
        for start, block in row_blocks(rows):
            out[lo + start:lo + start + block.shape[0]] = block @ M

    over_row_parts(n, max(k, A.shape[1]), part)
    return out


# ---- factors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cholesky:
    """The equilibrated Cholesky factor of a Gram matrix."""

    r: np.ndarray      # upper triangular, positive diagonal, G = rᵀr
    r_inv: np.ndarray  # its inverse
    kappa: float       # 2-norm condition number of r with unit columns


def cholesky(G):
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
    return Cholesky(unit * d, unit_inv / d[:, None], float(kappa))


def qr_r(A):
    """R factor (min(m, p) x p) of a small dense float64 matrix, Householder."""
    return np.linalg.qr(A, mode="r") if A.shape[0] else np.zeros((0, A.shape[1]))


def householder_r(rows, zero=None):
    """R factor of ``rows`` (a :class:`Rows`; columns ``zero`` set to 0) by Householder
    QR over row blocks (bounded memory)."""
    r = np.zeros((0, rows.m))
    for block in rows.blocks():
        if zero is not None:
            block = np.where(zero, 0.0, block)
        r = qr_r(np.vstack([r, block]))
    return r


def r_from_gram(G, rows, zero=None):
    """R factor of ``rows`` (a :class:`Rows`) from their Gram matrix ``G`` (m x m): one
    Cholesky pass when well conditioned, CholeskyQR2 (a second pass over ``rows``)
    when moderately conditioned, Householder QR of the row blocks otherwise.
    Exactly-zero columns (zero diagonal in G), and those flagged in ``zero``, get
    zero rows and columns."""
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
    chol = cholesky(G[np.ix_(cols, cols)])
    if chol is None or chol.kappa > KAPPA_TWO_PASS:
        return householder_r(rows, zero)
    rc = chol.r
    if chol.kappa > KAPPA_ONE_PASS_R:
        chol2 = cholesky(gram_of_product(rows, cols, chol.r_inv))
        if chol2 is None:
            return householder_r(rows, zero)
        rc = np.triu(chol2.r @ rc)
    r[np.ix_(cols, cols)] = rc
    return r


def constant_columns(centred_ss, n, mean):
    """Columns whose centred sum of squares is at rounding level for their mean
    (standard deviation <= 16 ulp of the mean): constant up to rounding."""
    tiny = 16 * np.finfo(np.float64).eps * np.abs(mean)
    return centred_ss <= n * tiny * tiny


# ---- one rank's factorisation X = Q_loc r --------------------------------------------------


class LocalFactor:
    """One rank's (or one chunk's) factorisation ``X = Q_loc @ r`` with Q_loc kept
    implicit when it is cheaper: ``Q_loc = A @ T`` (A the data or a float64 factor).

    ``A`` is overwritten by an in-place ``apply`` only when ``owned``.
    ``parts`` (chunks, Q_c) stands for stacked chunks whose R factors were
    combined as ``[r_1; r_2; ...] = Q_c r``.
    """

    def __init__(self, r, n, A=None, T=None, parts=None, owned=True):
        self.r, self.n, self.A, self.T, self.parts = r, n, A, T, parts
        self.owned = owned  # A is ours (may be overwritten), not the caller's data

    @classmethod
    def empty(cls, p):
        return cls(np.zeros((0, p)), 0)

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
        return product(self.A, M, dtype, inplace=inplace and self.owned)


def factor_local(X, want_q, keep_data):
    """Factor a rank's (or chunk's) dense rows: a :class:`LocalFactor`.

    ``want_q``: Q will be needed (else only r); ``keep_data``: the caller keeps X
    alive until Q is applied (batch), so one Cholesky pass may defer ``X R⁻¹``.
    Raises ValueError for non-finite values (unless assume_finite).
    """
    n, p = X.shape
    if n == 0:
        return LocalFactor.empty(p)
    if n >= p:
        G = gram(X)
        check_finite(X, "data", sums=np.diag(G))
        if not want_q:
            return LocalFactor(r_from_gram(G, Rows(X)), n)
        chol = cholesky(G)
        if chol is not None and chol.kappa <= KAPPA_TWO_PASS:
            if chol.kappa <= KAPPA_ONE_PASS_Q:
                if keep_data:
                    return LocalFactor(chol.r, n, A=X, T=chol.r_inv, owned=False)
                return LocalFactor(chol.r, n, A=product(X, chol.r_inv, np.float64))
            Q1 = product(X, chol.r_inv, np.float64)
            chol2 = cholesky(Q1.T @ Q1)
            if chol2 is not None:
                return LocalFactor(np.triu(chol2.r @ chol.r), n, A=Q1, T=chol2.r_inv)
    else:
        check_finite(X, "data")
    if want_q:
        Q, R = np.linalg.qr(np.asarray(X, dtype=np.float64))
        return LocalFactor(R, n, A=Q)
    return LocalFactor(householder_r(Rows(X)), n)
