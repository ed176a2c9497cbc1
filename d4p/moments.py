"""Column statistics: ``low_order_moments`` and ``covariance``.

Both follow the protocol of :mod:`d4p._protocol`: validate → local one-pass
statistic → pairwise merge up a tree of ranks → finish into daal4py's result
arrays.  ``low_order_moments`` reduces each rank's rows to :class:`d4p.stats.Moments`
(a Numba kernel); ``covariance`` to :class:`d4p.stats.CoMoments` (block-centred
cross-products through BLAS).

Unlike daal4py, where ``covariance`` and ``correlation`` are one table holding
whichever ``outputMatrixType`` asked for, d4p's ``.covariance`` always holds the
covariance and ``.correlation`` the correlation.
"""
import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_finite, check_table, columns_of
from ._protocol import Algorithm, Part
from ._results import Result
from .stats import CoMoments, Moments, PairwiseMerge

METHODS = ("defaultDense", "singlePassDense", "fastCSR", "singlePassCSR")
_SUM_METHODS = {m: "it needs precomputed sums that compute() cannot take (daal4py fails the "
                   "same way); use 'defaultDense'" for m in ("sumDense", "sumCSR")}

ESTIMATES = ("estimatesAll", "estimatesMinMax", "estimatesMeanVariance")
_FIELDS_FOR = {
    "estimatesAll": ("minimum", "maximum", "sum", "sumSquares", "sumSquaresCentered", "mean",
                     "secondOrderRawMoment", "variance", "standardDeviation", "variation"),
    "estimatesMinMax": ("minimum", "maximum"),
    "estimatesMeanVariance": ("mean", "variance"),
}


def _local_part(statistic, data):
    """This rank's statistic of ``data`` (its column sums prove it finite)."""
    X = check_table(data, finite=False)
    stat = statistic.from_data(X)
    check_finite(X, "data", sums=stat.sum)
    return Part(stat, {"data": columns_of(X)}, X.shape[0])


class _ColumnStatistic(Algorithm):
    """The protocol's hooks of both classes: each rank's ``_statistic`` (a
    :mod:`d4p.stats` class) of its rows, merged pairwise."""

    _statistic = None

    def compute(self, data, setup=False):
        """The statistics of ``data`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            ``"{}"`` in a file name is replaced by the rank.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        The result, or None in streaming mode (see ``finalize``).
        """
        return self._compute((data,))

    def _local(self, inputs):
        return _local_part(self._statistic, *inputs)

    def _identity(self, shape):
        return self._statistic.empty(shape["data"])

    _merge = staticmethod(PairwiseMerge.merge)

    def _init_common(self, fptype, method, distributed, streaming, flags, value, choices):
        """Set the common parameters and the class's one flag parameter ``flags``
        (its default the first of ``choices``); returns the flags given."""
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(self._name, method, METHODS, _SUM_METHODS)
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.streaming = check_bool(self._name, "streaming", streaming)
        setattr(self, flags, value)
        return parse_flags(self._name, flags, value, choices, [choices[0]])


class low_order_moments_result(Result):
    """Column statistics, each an array of shape (1, p) in the fptype's dtype.

    Fields not requested through ``estimatesToCompute`` are ``None``.
    """

    _fields = _FIELDS_FOR["estimatesAll"]


class low_order_moments(_ColumnStatistic):
    """Minimum, maximum, sum, sum of squares, centred sum of squares, mean, second
    raw moment, variance (ddof=1), standard deviation and variation of each column.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of the results (accumulation is float64 either way).
    method : str, default 'defaultDense'
        'defaultDense', 'singlePassDense', 'fastCSR' or 'singlePassCSR'.  All
        methods accept dense and sparse input and give the same, stable answer.
    estimatesToCompute : str, default '' (all)
        'estimatesAll', 'estimatesMinMax' or 'estimatesMeanVariance'; the fields not
        requested are ``None`` (daal4py leaves zeros or garbage there).
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the statistics of all rows.
    streaming : bool, default False
        ``compute`` may be called repeatedly with chunks; ``finalize()`` returns
        the result.  May be combined with ``distributed``.

    Examples
    --------
    >>> import numpy as np, d4p
    >>> res = d4p.low_order_moments().compute(np.array([[1.0, 2.0], [3.0, 6.0]]))
    >>> res.mean
    array([[2., 4.]])
    """

    _name = "low_order_moments"
    _statistic = Moments
    # fptype only sets the dtype of this rank's result (see docs/migrating.md)
    _agreed = ("method", "estimatesToCompute")

    def __init__(self, fptype="double", method="defaultDense", estimatesToCompute="",
                 distributed=False, streaming=False):
        estimates = self._init_common(fptype, method, distributed, streaming,
                                      "estimatesToCompute", estimatesToCompute, ESTIMATES)
        if len(estimates) != 1:
            raise ValueError(f"{self._name}: estimatesToCompute takes one value, got {estimates}")
        self._estimates = estimates.pop()
        self._fields = _FIELDS_FOR[self._estimates]

    def _agreed_values(self):
        return {"method": self.method, "estimatesToCompute": self._estimates}

    def _finish(self, m, run):
        n = m.n
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = np.maximum(m.m2, 0.0) / (n - 1) if n > 1 else np.full_like(m.m2, np.nan)
            std = np.sqrt(variance)
            values = {
                "minimum": m.minimum, "maximum": m.maximum, "sum": m.sum,
                "sumSquares": m.sum_squares, "sumSquaresCentered": m.m2, "mean": m.mean,
                "secondOrderRawMoment": m.sum_squares / n, "variance": variance,
                "standardDeviation": std, "variation": std / m.mean,
            }
        return low_order_moments_result(
            **{k: as_fptype(values[k].reshape(1, -1), self._dtype) for k in self._fields})


# ---- covariance --------------------------------------------------------------

OUTPUT_TYPES = ("covarianceMatrix", "correlationMatrix")


class covariance_result(Result):
    """``covariance`` (p, p), ``correlation`` (p, p) and ``mean`` (1, p)."""

    _fields = ("covariance", "correlation", "mean")


class covariance(_ColumnStatistic):
    """Sample covariance matrix (ddof=1, as ``numpy.cov``), correlation matrix and
    mean of the columns.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of the results (accumulation is float64 either way).
    method : str, default 'defaultDense'
        'defaultDense', 'singlePassDense', 'fastCSR' or 'singlePassCSR'; every
        method accepts dense and sparse input and gives the same, stable answer.
    outputMatrixType : str, default '' ('covarianceMatrix')
        Accepted for compatibility.  d4p always returns both matrices, each in its
        own field (daal4py puts the requested one in both fields).
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the result for all rows.
    streaming : bool, default False
        Repeated ``compute`` calls with chunks, then ``finalize()``.

    Notes
    -----
    A column with zero variance has NaN correlations, as ``numpy.corrcoef``.
    """

    _name = "covariance"
    _statistic = CoMoments
    _agreed = ("method", "outputMatrixType")

    def __init__(self, fptype="double", method="defaultDense", outputMatrixType="",
                 distributed=False, streaming=False):
        self._init_common(fptype, method, distributed, streaming, "outputMatrixType",
                          outputMatrixType, OUTPUT_TYPES)

    def _finish(self, c, run):
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = c.cross / (c.n - 1) if c.n > 1 else np.full_like(c.cross, np.nan)
            cov = (cov + cov.T) / 2  # exactly symmetric
            std = np.sqrt(np.maximum(np.diag(cov), 0.0))
            corr = cov / np.outer(std, std)
            np.fill_diagonal(corr, np.where(std > 0, 1.0, np.nan))
        return covariance_result(covariance=as_fptype(cov, self._dtype),
                                 correlation=as_fptype(corr, self._dtype),
                                 mean=as_fptype(c.mean.reshape(1, -1), self._dtype))
