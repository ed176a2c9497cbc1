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
from .kernels import gram as gk
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

    #: Rows per block of the fallback (each block centred on its own mean) and of a
    #: sparse matrix made dense: about this many bytes of float64.
    BLOCK_BYTES = 1 << 20

    @classmethod
    def empty(cls, p):
        return cls(0, np.zeros(p), np.zeros(p), np.zeros(p), np.zeros((p, p)))

    @classmethod
    def from_data(cls, X):
        """Centred cross-products of a dense or CSR block.

        The rows are shifted by a common reference and multiplied into a running
        product (:meth:`_sweep`): one pass over memory, and about as stable as
        centring on the global mean.  When this rank may use several threads,
        contiguous parts of the rows go to Python threads (the kernels release
        the GIL), each with its own product; the parts are merged.
        """
        return cls._of_columns(X, None)

    @classmethod
    def from_xy(cls, X, Y):
        """Centred cross-products of the columns of ``[X | Y]`` without forming it.

        ``X`` (n, p) dense or CSR and ``Y`` (n, k) dense; the result has ``p + k``
        columns, X's first.  The kernels read X and Y side by side, so memory
        stays bounded whatever ``n``.  Threads as in :meth:`from_data`.
        """
        return cls._of_columns(X, Y)

    @classmethod
    def _of_columns(cls, X, Y):
        m = X.shape[1] + (0 if Y is None else Y.shape[1])
        if X.shape[0] == 0:
            return cls.empty(m)
        rows = max(64, cls.BLOCK_BYTES // (8 * max(m, 1)))
        source = _SideBySide(X, Y, rows)
        return _over_thread_parts(X, rows, lambda a, b: cls._sweep(source, a, b, rows))

    #: Largest ``n (mean - ref)² / (Σ (x - ref)²)`` of a column that the shifted sweep
    #: accepts: the cancellation in ``Σ (x - ref)² - n (mean - ref)²`` then costs at
    #: most a factor 1 / (1 - 0.9) = 10 over the rounding of the products themselves.
    #: The moments kernel's one-sweep chunks follow the same rule.
    SHIFT_CANCELLATION = mk.SHIFT_CANCELLATION

    @classmethod
    def _sweep(cls, source, start, stop, rows):
        """Rows ``start:stop`` of ``source`` (a :class:`_SideBySide`).

        ``ref`` is the mean of the first ``rows`` rows, or for a column constant
        there its exact value (so a constant column gives exact zeros).  Fast path
        (:meth:`_shifted_sweep`): every row shifted by ``ref`` into one running
        product.  When ``ref`` turns out to be too far from the mean for that to
        be accurate, each block of ``rows`` is instead centred on its own mean and
        the blocks are merged pairwise.
        """
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf is reported later
            first = min(stop, start + rows)
            block_sum, constant = source.column_sums(start, first)
            ref = np.where(constant, source.row(start), block_sum / (first - start))
            products = GramSum(source.shape[1], rows)
            if stop == first:
                return cls._shifted_block(source, start, stop, ref, block_sum, products)
            total = cls._shifted_sweep(source, start, stop, ref, products)
            if total is not None:
                return total
            total = cls.empty(source.shape[1])
            for lo in range(start, stop, rows):
                hi = min(lo + rows, stop)
                block_sum, _ = source.column_sums(lo, hi)
                total = total.merge(cls._shifted_block(source, lo, hi, block_sum / (hi - lo),
                                                       block_sum, products))
        return total

    @classmethod
    def _shifted_sweep(cls, source, start, stop, ref, products):
        """The cross-products of rows ``start:stop`` from ``D = rows - ref``:
        ``C = DᵀD - r rᵀ / n`` with ``r`` the column sums of ``D``.

        Returns None when a column's mean lies too far from ``ref`` (drifting or
        sorted rows; see :attr:`SHIFT_CANCELLATION`), and the caller centres
        block by block.
        """
        n = stop - start
        resid = np.zeros(len(ref))
        source.add_shifted(products, start, stop, ref, resid)
        gram = products.total()
        squares = np.diagonal(gram)
        finite = np.isfinite(squares).all() and np.isfinite(resid).all()
        if finite and not (resid * resid / n <= cls.SHIFT_CANCELLATION * squares).all():
            products.clear()
            return None
        return cls(n, n * ref + resid, ref, resid / n, gram - np.outer(resid, resid) / n)

    @classmethod
    def _shifted_block(cls, source, lo, hi, ref, block_sum, products):
        """Rows ``lo:hi``, centred on ``ref`` (their mean, or near it), as a statistic
        (corrected two-pass: the residual sums fix the rounding of ``ref``)."""
        nb = hi - lo
        resid = np.zeros(len(ref))
        source.add_shifted(products, lo, hi, ref, resid)
        cross = products.total() - np.outer(resid, resid) / nb
        products.clear()
        return cls(nb, block_sum, ref, resid / nb, cross)

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


class GramSum:
    """A running ``Σ DᵀD`` of shifted rows, ``D = rows - ref``, for the cross-products.

    Where :mod:`kernels.gram <d4p.kernels.gram>` is faster than BLAS (up to
    ``MAX_COLUMNS`` columns, on processors with FMA and AVX2), its kernel shifts a
    chunk of rows into a buffer that stays in the L1 cache and adds the chunk's
    upper triangle; :meth:`total` mirrors it.  Elsewhere the rows are shifted in
    blocks of ``rows`` and BLAS's ``syrk`` adds whole products.  Either way every
    entry is a sum in row order.
    """

    def __init__(self, m, rows):
        self._m = m
        self._tiled = self.tiled(m)
        # OpenBLAS's syrk costs about a fifth more on an odd width than on the next
        # even one (51 against 52 columns here), so an odd width gets a zero column.
        width = m + (gk.PAD if self._tiled else m % 2)
        self._buf = np.zeros((gk.chunk_rows(width) if self._tiled else rows, width))
        self._sum = np.zeros((width, width))

    @staticmethod
    def tiled(m):
        """Whether products of ``m`` columns use the tiled kernel."""
        return gk.TILED and m <= gk.MAX_COLUMNS

    def add_shifted(self, X, x0, Y, y0, nrows, ref, resid):
        """Add the products of rows ``x0:x0 + nrows`` of ``X`` beside rows
        ``y0:y0 + nrows`` of ``Y`` (dense; ``Y`` may have no columns), minus ``ref``;
        add their column sums to ``resid``."""
        if self._tiled:
            gk.add_shifted_gram(X, x0, Y, y0, nrows, ref, self._buf, self._sum, resid)
            return
        p, buf = X.shape[1], self._buf
        for lo in range(0, nrows, buf.shape[0]):
            nb = min(buf.shape[0], nrows - lo)
            shift_rows(X, x0 + lo, x0 + lo + nb, ref[:p], buf[:nb, :p], resid[:p])
            if Y.shape[1]:
                shift_rows(Y, y0 + lo, y0 + lo + nb, ref[p:], buf[:nb, p:self._m], resid[p:])
            self._sum += buf[:nb].T @ buf[:nb]

    def total(self):
        """The (m, m) sum so far, symmetric (a new array)."""
        g = self._sum[:self._m, :self._m]
        return np.triu(g) + np.triu(g, 1).T if self._tiled else g.copy()

    def clear(self):
        """Start again from zero."""
        self._sum[:] = 0.0


class _SideBySide:
    """The rows of ``[X | Y]`` for the cross-product kernels, without forming it:
    X dense or CSR (made dense ``rows`` rows at a time), Y dense or None."""

    def __init__(self, X, Y, rows):
        self.X = X
        self._sparse = is_sparse(X)
        self._Y = np.empty((X.shape[0], 0)) if Y is None else Y
        self.shape = (X.shape[0], X.shape[1] + self._Y.shape[1])
        self.rows = rows

    def _dense_x(self, lo, hi):
        return self.X[lo:hi].toarray() if self._sparse else self.X[lo:hi]

    def column_sums(self, lo, hi):
        """Float64 column sums of rows ``lo:hi``, each in row order, and which
        columns are constant over those rows."""
        same = np.ones(self.shape[1], dtype=np.bool_)
        p = self.X.shape[1]
        if self._sparse:
            x = column_sums(self._dense_x(lo, hi), 0, hi - lo, same[:p])
        else:
            x = column_sums(self.X, lo, hi, same[:p])
        if not self._Y.shape[1]:
            return x, same
        return np.concatenate([x, column_sums(self._Y, lo, hi, same[p:])]), same

    def row(self, i):
        """Row ``i`` in float64."""
        x = self._dense_x(i, i + 1)
        return np.concatenate([np.asarray(x, dtype=np.float64).ravel(),
                               np.asarray(self._Y[i], dtype=np.float64)])

    def add_shifted(self, products, lo, hi, ref, resid):
        """:meth:`GramSum.add_shifted` of rows ``lo:hi``."""
        if not self._sparse:
            products.add_shifted(self.X, lo, self._Y, lo, hi - lo, ref, resid)
            return
        starts = range(lo, hi, self.rows)
        for b_lo, block in zip(starts, dense_blocks(self.X[lo:hi], self.rows)):
            products.add_shifted(block, 0, self._Y, b_lo, block.shape[0], ref, resid)


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
