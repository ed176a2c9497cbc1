"""``low_order_moments``: per-column minimum, maximum, sums, mean, variance, ...

validate → local one-pass kernel (:class:`d4p.stats.Moments`) → pairwise merge up
a tree of ranks → finalize into the ten daal4py result arrays.
"""
import numpy as np

from ._algorithm import (as_fptype, check_bool, check_fptype, check_method, columns_of,
                         parse_flags)
from ._inputs import as_table, check_finite
from ._results import Result
from ._streaming import StreamingMixin
from .stats import Moments

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


def _local_moments(data):
    """This rank's Moments and its column count (None when it has no shape)."""
    X = as_table(data)
    m = Moments.from_data(X)
    check_finite(X, "data", sums=m.sum)
    return m, columns_of(X)



class low_order_moments_result(Result):
    """Column statistics, each an array of shape (1, p) in the fptype's dtype.

    Fields not requested through ``estimatesToCompute`` are ``None``.
    """

    _fields = _FIELDS_FOR["estimatesAll"]


class low_order_moments(StreamingMixin):
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

    def __init__(self, fptype="double", method="defaultDense", estimatesToCompute="",
                 distributed=False, streaming=False):
        self.fptype = fptype
        self.method = check_method(self._name, method, METHODS, _SUM_METHODS)
        self.estimatesToCompute = estimatesToCompute
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.streaming = check_bool(self._name, "streaming", streaming)
        self._dtype = check_fptype(fptype)
        estimates = parse_flags(self._name, "estimatesToCompute", estimatesToCompute, ESTIMATES,
                                ["estimatesAll"])
        if len(estimates) != 1:
            raise ValueError(f"{self._name}: estimatesToCompute takes one value, got {estimates}")
        self._fields = _FIELDS_FOR[estimates.pop()]
        self._reset_stream()

    def compute(self, data, setup=False):
        """Statistics of ``data`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            ``"{}"`` in a file name is replaced by the rank.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        low_order_moments_result, or None in streaming mode (see ``finalize``).
        """
        if self.streaming:
            return self._stream_chunk(data)
        return self._compute_merged(data)

    # hooks of the compute/streaming flow (StreamingMixin)
    _local_partial = staticmethod(_local_moments)
    _empty = staticmethod(Moments.empty)
    _merge = staticmethod(Moments.merge)

    def _finalize(self, m):
        if m.n == 0:
            raise ValueError(f"{self._name}: no rows on any rank")
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
