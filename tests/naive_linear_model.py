"""Reference least squares for the linear-model tests (plain numpy).

``numpy.linalg.lstsq`` (SVD based, minimum norm) on the explicitly centred design
for an intercept, on the raw design otherwise; ridge through the augmented
least-squares problem ``[X; sqrt(λ) I] β ≈ [y; 0]``, which is also SVD based.
"""
import numpy as np


def _centred(X, Y, intercept):
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    if not intercept:
        return X, Y, np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    xm, ym = X.mean(axis=0), Y.mean(axis=0)
    return X - xm, Y - ym, xm, ym


def _beta(coef, xm, ym, intercept):
    """daal4py's (k, p + 1) layout from the (p, k) slopes."""
    b0 = ym - xm @ coef if intercept else np.zeros(coef.shape[1])
    return np.column_stack([b0, coef.T])


def ols(X, Y, intercept):
    Xc, Yc, xm, ym = _centred(X, Y, intercept)
    coef = np.linalg.lstsq(Xc, Yc, rcond=None)[0]
    return _beta(coef, xm, ym, intercept)


def ridge(X, Y, lambdas, intercept):
    Xc, Yc, xm, ym = _centred(X, Y, intercept)
    p, k = Xc.shape[1], Yc.shape[1]
    lambdas = np.broadcast_to(np.asarray(lambdas, dtype=np.float64).reshape(-1), (k,))
    coef = np.empty((p, k))
    for j in range(k):
        A = np.vstack([Xc, np.sqrt(lambdas[j]) * np.eye(p)])
        b = np.concatenate([Yc[:, j], np.zeros(p)])
        coef[:, j] = np.linalg.lstsq(A, b, rcond=None)[0]
    return _beta(coef, xm, ym, intercept)


def design_with_condition(n, p, cond, seed=0, shift=5.0, intercept=0.5):
    """X (n, p) whose centred part has exactly the singular values
    ``logspace(0, -log10(cond))·sqrt(n)``, and y = X β + intercept computed from the
    float64 X, so β is the least-squares answer up to the rounding of y (about
    cond·ε relative)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, p))
    A -= A.mean(axis=0)
    U, _ = np.linalg.qr(A)  # orthonormal columns, orthogonal to the ones vector
    V, _ = np.linalg.qr(rng.normal(size=(p, p)))
    sv = np.logspace(0, -np.log10(cond), p)
    X = (U * sv) @ V.T * np.sqrt(n) + shift * rng.uniform(-1, 1, size=p)
    beta = V @ rng.uniform(1, 2, size=p)  # every singular direction carries signal
    return X, X @ beta + intercept, beta
