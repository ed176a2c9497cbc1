"""``normalization_zscore``: daal4py's z-score normalisation (batch), also pca's option.

The column means and variances come from :class:`d4p.moments.low_order_moments`
(stable, float64 accumulation); the rows are then centred and, with
``doScale=True``, divided by the standard deviation (ddof=1).  A constant column
is centred to zeros and left unscaled.  daal4py has this algorithm in batch mode
only and so has d4p: pca's ``normalization=`` takes an instance and reads its
``doScale``.
"""
import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_table
from ._results import Result
from .moments import low_order_moments

__all__ = ["normalization_zscore", "normalization_zscore_result"]

ZSCORE_RESULTS = ("mean", "variance", "none")


class normalization_zscore_result(Result):
    """``normalizedData`` (n, p); ``means`` and ``variances`` (1, p), or None when
    not asked for in ``resultsToCompute``."""

    _fields = ("normalizedData", "means", "variances")


class normalization_zscore:
    """Z-score normalisation of the columns of ``data``.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of the results (computation is in float64 either way).
    method : {'defaultDense', 'sumDense'}, default 'defaultDense'
        Both give the same answer.
    resultsToCompute : str, default ''
        Names from 'mean', 'variance' (or 'none') joined with '|': which of
        ``means`` and ``variances`` (ddof=1) to return besides the data.
    doScale : bool, default False
        False (daal4py's default): centre only.  True: centre and divide by the
        standard deviation.  As pca's ``normalization``, only ``svdDense`` reads
        it (``correlationDense`` always works on the correlation matrix, as in
        daal4py).

    Examples
    --------
    >>> import numpy as np, d4p
    >>> d4p.normalization_zscore(doScale=True).compute(np.array([[1.0], [3.0]])).normalizedData
    array([[-0.70710678],
           [ 0.70710678]])
    """

    _name = "normalization_zscore"

    def __init__(self, fptype="double", method="defaultDense", resultsToCompute="",
                 doScale=False):
        name = self._name
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(name, method, ("defaultDense", "sumDense"))
        self.resultsToCompute = resultsToCompute
        self._flags = parse_flags(name, "resultsToCompute", resultsToCompute,
                                  ZSCORE_RESULTS, []) - {"none"}
        self.doScale = check_bool(name, "doScale", doScale)

    def compute(self, data):
        """Normalise ``data`` (array-like, DataFrame, sparse matrix or CSV file name).

        Returns
        -------
        normalization_zscore_result
        """
        X = np.asarray(check_table(data, sparse="densify"), dtype=np.float64)
        if X.shape[0] < 2 and self.doScale:
            raise ValueError(f"{self._name}: scaling needs at least 2 rows, got {X.shape[0]}")
        moments = low_order_moments(estimatesToCompute="estimatesMeanVariance").compute(X)
        mean, variance = moments.mean[0], moments.variance[0]
        normalized = X - mean
        if self.doScale:
            std = np.sqrt(np.maximum(variance, 0.0))
            normalized /= np.where(std > 0, std, 1.0)
        dtype = self._dtype
        return normalization_zscore_result(
            normalizedData=as_fptype(normalized, dtype),
            means=as_fptype(mean[None, :], dtype) if "mean" in self._flags else None,
            variances=as_fptype(variance[None, :], dtype) if "variance" in self._flags else None)
