"""Reference logistic regression for the tests (scikit-learn and scipy, never d4p).

daal4py's objective ``mean loss + λ₁‖W‖₁ + λ₂‖W‖₂²`` (intercept unpenalised) in
scikit-learn's terms: ``C · Σ loss + ½‖W‖²`` divided by ``C·n`` gives
``λ₂ = 1 / (2·C·n)``, i.e. ``C = 1 / (2·λ₂·n)``; no penalty is ``C = inf``.
L1 (scikit-learn's saga converges too slowly for 1e-6) goes through scipy's
L-BFGS-B on the split ``W = W⁺ - W⁻``, ``W± >= 0``, where the objective is smooth.
"""
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression


def daal_beta(coef, intercept, fit_intercept):
    """daal4py's (rows, p + 1) layout from scikit-learn's coef_ and intercept_."""
    coef = np.atleast_2d(coef)
    b0 = np.asarray(intercept, dtype=np.float64).reshape(-1) if fit_intercept \
        else np.zeros(coef.shape[0])
    return np.column_stack([b0, coef])


def sklearn_beta(X, y, n_classes, l2=0.0, intercept=True, tol=1e-12):
    """scikit-learn's optimum for daal4py's objective with penaltyL2 = ``l2``."""
    n = X.shape[0]
    C = np.inf if l2 == 0 else 1.0 / (2.0 * l2 * n)
    clf = LogisticRegression(C=C, fit_intercept=intercept, tol=tol, max_iter=100000,
                             solver="newton-cg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, np.asarray(y).reshape(-1))
    assert list(clf.classes_) == list(range(n_classes)), "every class must be present"
    return daal_beta(clf.coef_, clf.intercept_, intercept)


def objective(Beta, X, y, l1=0.0, l2=0.0):
    """daal4py's objective at ``Beta`` (rows, p + 1)."""
    y = np.asarray(y).reshape(-1).astype(int)
    Z = X @ Beta[:, 1:].T + Beta[:, 0]
    if Beta.shape[0] == 1:
        z = Z[:, 0]
        loss = np.mean(np.logaddexp(0, z) - y * z)
    else:
        loss = -np.mean(log_softmax(Z, axis=1)[np.arange(len(y)), y])
    W = Beta[:, 1:]
    return loss + l1 * np.abs(W).sum() + l2 * (W ** 2).sum()


def l1_beta(X, y, n_classes, l1, l2=0.0, intercept=True):
    """The L1 (+ L2) optimum by L-BFGS-B on the split coefficients."""
    n, p = X.shape
    rows = 1 if n_classes == 2 else n_classes
    y = np.asarray(y).reshape(-1).astype(int)
    Y = np.eye(n_classes)[y]
    nb = rows if intercept else 0

    def unpack(v):
        b = v[:nb] if intercept else np.zeros(rows)
        Wp = v[nb:nb + rows * p].reshape(rows, p)
        Wm = v[nb + rows * p:].reshape(rows, p)
        return b, Wp, Wm

    def fun(v):
        b, Wp, Wm = unpack(v)
        W = Wp - Wm
        Z = X @ W.T + b
        if rows == 1:
            z = Z[:, 0]
            loss = np.mean(np.logaddexp(0, z) - y * z)
            R = (1 / (1 + np.exp(-z)) - y).reshape(-1, 1) / n
        else:
            L = log_softmax(Z, axis=1)
            loss = -np.mean(L[np.arange(n), y])
            R = (np.exp(L) - Y) / n
        gW = R.T @ X + 2 * l2 * W
        f = loss + l1 * (Wp.sum() + Wm.sum()) + l2 * (W ** 2).sum()
        grad = np.concatenate([R.sum(axis=0)[:nb] if intercept else [],
                               (gW + l1).ravel(), (-gW + l1).ravel()])
        return f, grad

    v0 = np.zeros(nb + 2 * rows * p)
    bounds = [(None, None)] * nb + [(0, None)] * (2 * rows * p)
    res = minimize(fun, v0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 100000, "maxfun": 200000, "ftol": 1e-16, "gtol": 1e-13,
                            "maxcor": 50})
    b, Wp, Wm = unpack(res.x)
    return np.column_stack([b, Wp - Wm])
