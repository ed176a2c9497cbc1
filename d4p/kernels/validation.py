"""Input scans."""
import numpy as np
from .jit import kernel


@kernel
def first_nonfinite(X):
    """(row, column) of the first NaN or infinity in row-major order, or (-1, -1)."""
    n, p = X.shape
    for i in range(n):
        for j in range(p):
            if not np.isfinite(X[i, j]):
                return i, j
    return -1, -1
