"""Centring a block of rows on its own mean, for the BLAS cross-product."""
import numpy as np
from .jit import kernel


@kernel
def centre_rows(X, lo, hi, out):
    """Write rows ``lo:hi`` of ``X`` minus their column means into ``out[:hi - lo]``.

    Returns the block's column sums and the residual sums of the centred rows
    (rounding makes the latter slightly non-zero; the caller uses them for the
    corrected two-pass update).  The block is read from memory once for the sums
    and again from cache for the subtraction, four rows per sweep over the
    columns so short rows still vectorise; every sum takes its terms in row order.
    """
    p = X.shape[1]
    nb = hi - lo
    s = np.zeros(p)
    i = lo
    while i + 4 <= hi:
        r0, r1, r2, r3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        for j in range(p):
            s[j] = (((s[j] + np.float64(r0[j])) + np.float64(r1[j])) + np.float64(r2[j])) \
                + np.float64(r3[j])
        i += 4
    for i in range(i, hi):
        for j in range(p):
            s[j] += np.float64(X[i, j])
    mean = s / nb
    resid = np.zeros(p)
    for i in range(lo, hi):
        row = X[i]
        o = out[i - lo]
        for j in range(p):
            d = np.float64(row[j]) - mean[j]
            o[j] = d
            resid[j] += d
    return s, resid
