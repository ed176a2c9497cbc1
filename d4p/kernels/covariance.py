"""Shifting and centring blocks of rows, for the BLAS cross-product."""
import numpy as np
from .jit import kernel


@kernel
def column_sums(X, lo, hi, same):
    """Column sums of rows ``lo:hi`` of ``X`` in float64, each taking its terms in
    row order; four rows per sweep over the columns so short rows still vectorise.
    ``same[j]`` (preset by the caller) is cleared where a row differs from row ``lo``
    in column ``j`` (a NaN differs from everything), so that what stays set marks the
    columns constant over the rows."""
    p = X.shape[1]
    s = np.zeros(p)
    first = np.empty(p)
    for j in range(p):
        first[j] = np.float64(X[lo, j]) if hi > lo else 0.0
    i = lo
    while i + 4 <= hi:
        r0, r1, r2, r3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        for j in range(p):
            a, b, c, d = (np.float64(r0[j]), np.float64(r1[j]), np.float64(r2[j]),
                          np.float64(r3[j]))
            s[j] = (((s[j] + a) + b) + c) + d
            f = first[j]
            same[j] &= (a == f) & (b == f) & (c == f) & (d == f)
        i += 4
    for i in range(i, hi):
        for j in range(p):
            x = np.float64(X[i, j])
            s[j] += x
            same[j] &= x == first[j]
    return s


@kernel
def shift_rows(X, lo, hi, ref, out, resid):
    """Write rows ``lo:hi`` of ``X`` minus ``ref`` (float64) into ``out[:hi - lo]`` and
    add the shifted rows' column sums to ``resid``, in row order."""
    p = X.shape[1]
    for i in range(lo, hi):
        row = X[i]
        o = out[i - lo]
        for j in range(p):
            d = np.float64(row[j]) - ref[j]
            o[j] = d
            resid[j] += d
