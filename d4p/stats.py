"""Mergeable statistics: the partial results ranks exchange.

Each class has an identity element (``empty(p)``: a rank with no rows merges as a
no-op), a local constructor from a data block, and a pure ``merge`` that combines
two partials with Chan, Golub & LeVeque's pairwise update, so means and centred
sums never go through "sum of squares minus square of sums".

Means are carried as ``origin + offset``: ``origin`` is a value on the data's scale
(a provisional block mean) and ``offset`` the small correction to it.  The merge
takes differences of origins, which are exact for nearby values, so the mean
difference in the pairwise update keeps full precision even when the spread of
the data is many orders of magnitude below its level.  See kernels/moments.py.
"""
from dataclasses import dataclass

import numpy as np

from . import _parallel
from ._inputs import is_sparse
from .cholesky_qr import Rows, constant_columns, householder_r, r_from_gram
from .kernels import moments as mk
from .kernels.covariance import column_sums, shift_rows


class PairwiseMerge:
    """Mixin for the statistics below: ``merge`` returns the other side when one
    side is empty (the identity), else hands the joint row count and the mean
    difference to the class's ``_combine``."""

    def merge(self, other):
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        return self._combine(other, self.n + other.n, mean_difference(self, other))


@dataclass(frozen=True)
class Moments(PairwiseMerge):
    """Column moments of ``n`` rows: extremes, raw sums, mean and centred sum of squares."""

    n: int
    minimum: np.ndarray
    maximum: np.ndarray
    sum: np.ndarray
    sum_squares: np.ndarray
    origin: np.ndarray
    offset: np.ndarray  # mean = origin + offset
    m2: np.ndarray  # sum of squared deviations from the mean

    @property
    def mean(self):
        return self.origin + self.offset

    @classmethod
    def empty(cls, p):
        return cls(0, np.full(p, np.inf), np.full(p, -np.inf), np.zeros(p), np.zeros(p),
                   np.zeros(p), np.zeros(p), np.zeros(p))

    @classmethod
    def from_data(cls, X):
        """Moments of a dense or CSR block (float64 accumulation for any input dtype)."""
        n, p = X.shape
        if n == 0:
            return cls.empty(p)
        if is_sparse(X):
            return _merge_blocks(cls.from_data(block) for block in dense_blocks(X))
        rows = mk.chunk_rows(p)
        kernel = mk.moments_parallel if _parallel.use_parallel(n, rows) else mk.moments_serial
        t = kernel(X, rows)
        return cls(n, t[mk.MIN], t[mk.MAX], t[mk.SUM], t[mk.SUMSQ], t[mk.ORIGIN], t[mk.OFFSET],
                   t[mk.M2])

    def _combine(self, other, n, delta):
        return Moments(
            n,
            np.minimum(self.minimum, other.minimum),
            np.maximum(self.maximum, other.maximum),
            self.sum + other.sum,
            self.sum_squares + other.sum_squares,
            self.origin,
            self.offset + delta * (other.n / n),
            self.m2 + other.m2 + delta * delta * (self.n * other.n / n),
        )


@dataclass(frozen=True)
class CoMoments(PairwiseMerge):
    """Mean and centred cross-product matrix ``C = (X - mean)ᵀ (X - mean)`` of ``n`` rows."""

    n: int
    sum: np.ndarray
    origin: np.ndarray
    offset: np.ndarray  # mean = origin + offset
    cross: np.ndarray

    @property
    def mean(self):
        return self.origin + self.offset

    #: Bytes of float64 per centred block: small enough to stay in cache between
    #: the centring kernel and the BLAS call that reads it back.
    BLOCK_BYTES = 1 << 20

    @classmethod
    def empty(cls, p):
        return cls(0, np.zeros(p), np.zeros(p), np.zeros(p), np.zeros((p, p)))

    @classmethod
    def from_data(cls, X):
        """Centred cross-products of a dense or CSR block.

        Each block of rows is shifted by a common reference (Numba) and multiplied
        into a running product by BLAS (:meth:`_sweep`): one pass over memory, and
        about as stable as centring on the global mean.  When this rank
        may use several threads, contiguous parts of the rows go to Python threads
        running single-threaded BLAS (the kernels release the GIL): OpenBLAS is
        slow on tall-skinny products, and two independent streams of small GEMMs
        use two cores better than one threaded GEMM.
        """
        n, p = X.shape
        if n == 0:
            return cls.empty(p)
        rows = max(64, cls.BLOCK_BYTES // (8 * max(p, 1)))
        if is_sparse(X):
            return _merge_blocks(cls._from_rows(block, rows) for block in dense_blocks(X, rows))
        return _over_thread_parts(X, rows, lambda a, b: cls._from_rows(X, rows, a, b))

    @classmethod
    def _from_rows(cls, X, rows, start=0, stop=None):
        """Rows ``start:stop`` of ``X``, block by block (indices, not a slice of
        ``X``: a slice of a Fortran-ordered array would be a new kernel signature)."""
        stop = X.shape[0] if stop is None else stop
        return cls._sweep(X.shape[1], start, stop, rows,
                          lambda lo, hi, ref, out, resid: shift_rows(X, lo, hi, ref, out, resid),
                          lambda lo, hi, out: centre_rows(X, lo, hi, out))

    #: Largest ``n (mean - ref)² / (Σ (x - ref)²)`` of a column that the shifted sweep
    #: accepts: the cancellation in ``Σ (x - ref)² - n (mean - ref)²`` then costs at
    #: most a factor 1 / (1 - 0.9) = 10 over the rounding of the products themselves.
    #: The moments kernel's one-sweep chunks follow the same rule.
    SHIFT_CANCELLATION = mk.SHIFT_CANCELLATION

    @classmethod
    def _sweep(cls, m, start, stop, rows, shift, centre, pad=0):
        """Rows ``start:stop`` in blocks of ``rows`` through one reused buffer.

        Fast path (:meth:`_shifted_sweep`): every block shifted by one common
        reference and multiplied into one running product.  When the reference
        turns out to be too far from the mean for that to be accurate, each block
        is instead centred on its own mean (``centre(lo, hi, out)``, which returns
        the block's sums and residual sums) and merged pairwise.  ``pad`` zero
        columns widen the fast path's buffer (see :meth:`from_xy`).
        """
        buf = np.zeros((min(rows, stop - start), m + pad))
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf is reported later
            if stop - start > rows:
                total = cls._shifted_sweep(m, start, stop, rows, buf, shift, centre)
                if total is not None:
                    return total
            total = cls.empty(m)
            for lo in range(start, stop, rows):
                hi = min(lo + rows, stop)
                centred = buf[:hi - lo, :m]
                block_sum, residual = centre(lo, hi, centred)
                total = total.merge(cls._centred_block(hi - lo, block_sum, residual, centred))
        return total

    @classmethod
    def _shifted_sweep(cls, m, start, stop, rows, buf, shift, centre):
        """The cross-products of rows ``start:stop`` from ``D = rows - ref``:
        ``C = DᵀD - r rᵀ / n`` with ``r`` the column sums of ``D``.

        One pass over memory, one BLAS product per block and no per-block merge.
        ``ref`` is the first block's mean, or for a column constant in that block
        its exact value (so a constant column gives exact zeros).  Returns None when
        a column's mean lies too far from ``ref`` (drifting or sorted rows; see
        :attr:`SHIFT_CANCELLATION`), and the caller centres block by block.
        Columns of ``buf`` beyond the first ``m`` stay zero.
        """
        first = buf[:min(rows, stop - start), :m]
        block_sum, residual = centre(start, start + first.shape[0], first)
        row0 = np.empty((1, m))
        shift(start, start + 1, np.zeros(m), row0, np.zeros(m))
        constant = first.min(axis=0) == first.max(axis=0)
        ref = np.where(constant, row0[0], (block_sum + residual) / first.shape[0])
        width = buf.shape[1]
        gram, resid = np.zeros((width, width)), np.zeros(m)
        for lo in range(start, stop, rows):
            hi = min(lo + rows, stop)
            shift(lo, hi, ref, buf[:hi - lo, :m], resid)
            gram += buf[:hi - lo].T @ buf[:hi - lo]
        gram = gram[:m, :m]
        n = stop - start
        squares = np.diagonal(gram)
        finite = np.isfinite(squares).all() and np.isfinite(resid).all()
        if finite and not (resid * resid / n <= cls.SHIFT_CANCELLATION * squares).all():
            return None
        return cls(n, n * ref + resid, ref, resid / n, gram - np.outer(resid, resid) / n)

    @classmethod
    def _centred_block(cls, nb, block_sum, residual, centred):
        # Corrected two-pass: the residuals fix the provisional mean's rounding.
        cross = centred.T @ centred - np.outer(residual, residual) / nb
        return cls(nb, block_sum, block_sum / nb, residual / nb, cross)

    @classmethod
    def from_xy(cls, X, Y):
        """Centred cross-products of the columns of ``[X | Y]`` without forming it.

        ``X`` (n, p) dense or CSR and ``Y`` (n, k) dense; the result has ``p + k``
        columns, X's first.  Each block of rows of X and of Y is shifted (Numba) side
        by side into one preallocated (rows, p + k) buffer, which BLAS multiplies
        (:meth:`_sweep`): memory stays bounded by the buffer, whatever ``n``.
        Threads as in :meth:`from_data`.
        """
        n, p = X.shape
        m = p + Y.shape[1]
        if n == 0:
            return cls.empty(m)
        rows = max(64, cls.BLOCK_BYTES // (8 * max(m, 1)))
        # OpenBLAS's syrk costs about a fifth more on an odd width than on the next
        # even one (51 against 52 columns here), so an odd [X | Y] gets a zero column.
        return _over_thread_parts(X, rows, lambda a, b: cls._sweep(
            m, a, b, rows,
            lambda lo, hi, ref, out, resid: shift_side_by_side(X, Y, lo, hi, ref, out, resid),
            lambda lo, hi, out: centre_side_by_side(X, Y, lo, hi, out), pad=m % 2))

    def _combine(self, other, n, delta):
        return CoMoments(n, self.sum + other.sum, self.origin, self.offset + delta * (other.n / n),
                         self.cross + other.cross + np.outer(delta, delta) * (self.n * other.n / n))


@dataclass(frozen=True)
class CentredR(PairwiseMerge):
    """Triangular factor of the centred data: ``RᵀR = (Z - mean)ᵀ (Z - mean)`` for ``n`` rows.

    The mergeable statistic of a distributed (TSQR) least-squares fit and of
    ``pca`` ``svdDense``.  Two groups merge by the QR of

        [ R_a ;  R_b ;  sqrt(n_a n_b / n) (mean_a - mean_b)ᵀ ]

    which is exactly the R of the two groups together, centred on their joint
    mean (the QR analogue of the Chan, Golub & LeVeque update).  Rows of ``R``
    have non-negative diagonals, so ``R`` is unique for full-rank data.  Means are
    carried as ``origin + offset`` as in :class:`CoMoments`.
    """

    n: int
    origin: np.ndarray
    offset: np.ndarray  # mean = origin + offset
    r: np.ndarray  # (m, m) upper triangular

    #: Bytes of float64 rows per block of a pass over the centred rows.
    BLOCK_BYTES = 4 << 20

    @property
    def mean(self):
        return self.origin + self.offset

    @classmethod
    def empty(cls, m):
        return cls(0, np.zeros(m), np.zeros(m), np.zeros((m, m)))

    @classmethod
    def from_data(cls, Z):
        """The centred R of a dense or CSR table (float64 for any input dtype)."""
        return cls.from_xy(Z, np.empty((Z.shape[0], 0)))

    @classmethod
    def from_xy(cls, X, Y):
        """The centred R of ``[X | Y]`` (X dense or CSR, Y dense) without forming it.

        A guarded Cholesky QR (:mod:`d4p.cholesky_qr`) of the centred rows: the
        centred cross-products (one stable pass, :class:`CoMoments`) and their
        Cholesky factor when well conditioned; a second pass over the centred row
        blocks (CholeskyQR2) or their Householder QR when the conditioning asks
        for it, or when there are no more rows than columns.  Columns constant up
        to rounding (:func:`~d4p.cholesky_qr.constant_columns`) get zero rows and
        columns.  Non-finite data give a NaN ``r`` (the caller reports them).
        """
        n, m = X.shape[0], X.shape[1] + Y.shape[1]
        if n == 0:
            return cls.empty(m)
        c = CoMoments.from_xy(X, Y) if Y.shape[1] else CoMoments.from_data(X)
        if not np.isfinite(c.sum).all():
            return cls(n, c.origin, c.offset, np.full((m, m), np.nan))
        mean = c.mean
        const = constant_columns(np.diag(c.cross), n, mean)
        rows = Rows(X, Y, centre=mean, rows=max(4 * m, cls.BLOCK_BYTES // (8 * max(m, 1))))
        r = householder_r(rows, const) if n <= m else r_from_gram(c.cross, rows, const)
        # The statistic's form: (m, m), non-negative diagonal, zero rows when n < m.
        return cls(n, c.origin, c.offset, triangular_factor(r, m))

    def _combine(self, other, n, delta):
        stacked = np.vstack([self.r, other.r, delta * np.sqrt(self.n * other.n / n)])
        return CentredR(n, self.origin, self.offset + delta * (other.n / n),
                        triangular_factor(stacked, self.r.shape[0]))

    def uncentred(self):
        """The (m, m) R of the raw rows: ``RᵀR = Zᵀ Z`` (no centring)."""
        if self.n == 0:
            return self.r.copy()
        return triangular_factor(np.vstack([self.r, np.sqrt(self.n) * self.mean]),
                                  self.r.shape[0])


def triangular_factor(A, m):
    """R of the QR of ``A`` (rows, m), as (m, m) with a non-negative diagonal."""
    if A.shape[0] == 0:
        return np.zeros((m, m))
    r = np.linalg.qr(A, mode="r")
    signs = np.where(np.diagonal(r) < 0, -1.0, 1.0)
    r *= signs[:, None]
    if r.shape[0] < m:  # fewer rows than columns so far
        r = np.vstack([r, np.zeros((m - r.shape[0], m))])
    return r


def centre_rows(X, lo, hi, out):
    """Rows ``lo:hi`` of ``X`` minus their column means into ``out[:hi - lo]``; returns
    the block's column sums and the residual sums of the centred rows (rounding makes
    the latter slightly non-zero; the corrected two-pass update uses them).  The
    block is read from memory for the sums and again from cache for the subtraction."""
    block_sum = column_sums(X, lo, hi)
    residual = np.zeros(X.shape[1])
    shift_rows(X, lo, hi, block_sum / (hi - lo), out, residual)
    return block_sum, residual


def centre_side_by_side(X, Y, lo, hi, out):
    """:func:`centre_rows` of ``[X | Y]`` into ``out`` (nb, p + k).  X may be CSR."""
    p = X.shape[1]
    if is_sparse(X):
        x_sum, x_res = centre_rows(X[lo:hi].toarray(), 0, hi - lo, out[:, :p])
    else:
        x_sum, x_res = centre_rows(X, lo, hi, out[:, :p])
    y_sum, y_res = centre_rows(Y, lo, hi, out[:, p:])
    return np.concatenate([x_sum, y_sum]), np.concatenate([x_res, y_res])


def shift_side_by_side(X, Y, lo, hi, ref, out, resid):
    """Rows ``lo:hi`` of ``[X | Y]`` minus ``ref`` into ``out``, their column sums added
    to ``resid`` (see kernels/covariance.py).  X may be CSR."""
    p = X.shape[1]
    if is_sparse(X):
        shift_rows(X[lo:hi].toarray(), 0, hi - lo, ref[:p], out[:, :p], resid[:p])
    else:
        shift_rows(X, lo, hi, ref[:p], out[:, :p], resid[:p])
    shift_rows(Y, lo, hi, ref[p:], out[:, p:], resid[p:])


def _over_thread_parts(X, rows, reduce_rows):
    """``reduce_rows(start, stop)`` over contiguous parts of the rows of ``X``, one
    per thread when this rank may use several (as :meth:`CoMoments.from_data`), merged."""
    n = X.shape[0]
    nparts = 1 if is_sparse(X) else _parallel.thread_parts(n, rows)
    if nparts == 1:
        return reduce_rows(0, n)
    bounds = np.linspace(0, n, nparts + 1).astype(int)
    return _merge_blocks(_parallel.map_threads(
        lambda k: reduce_rows(bounds[k], bounds[k + 1]), nparts))


def mean_difference(a, b):
    """``b.mean - a.mean`` without rounding either mean first."""
    return (b.origin - a.origin) + (b.offset - a.offset)


def dense_blocks(csr, rows=None):
    """Dense row blocks of a CSR matrix, each at most about 4 MiB."""
    p = csr.shape[1]
    rows = rows or max(1, (4 << 20) // (8 * max(p, 1)))
    for lo in range(0, csr.shape[0], rows):
        yield csr[lo:lo + rows].toarray()


def _merge_blocks(stats):
    stats = list(stats)
    total = stats[0]
    for s in stats[1:]:
        total = total.merge(s)
    return total
