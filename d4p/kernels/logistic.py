"""Logistic-regression kernels: per-row loss terms and the L1 Newton subproblem.

Arrays in, arrays out, no communication.  The loss kernels read the scores
``z = X β`` of one block of rows (BLAS computed them) and write what the
gradient and Hessian products need, in one pass and in float64, with the
numerically stable forms (no ``1 - σ`` cancellation, no overflow of ``exp``).
"""
import numpy as np

from .jit import kernel


@kernel(inline="always")
def _softplus_neg(margin):
    """``log(1 + exp(-margin))`` without overflow, and ``1 / (1 + exp(margin))``
    (the probability of the other class), from one ``exp``."""
    if margin > 0:
        e = np.exp(-margin)
        return np.log1p(e), e / (1.0 + e)
    e = np.exp(margin)
    return np.log1p(e) - margin, 1.0 / (1.0 + e)


@kernel
def binary_terms(z, y, sw, r, w):
    """Sigmoid loss terms of one block.

    ``z`` (n,) scores, ``y`` (n,) labels 0/1, ``sw`` (n,) row weights or an empty
    array (every weight 1).  Writes ``r = sw (σ(z) - y)`` (the gradient weights)
    and ``w = sw σ(z)(1 - σ(z))`` (the Hessian weights).  Returns the weighted
    log-loss and the number of rows of positive weight not strictly on their
    class's side (``y`` = 1 with ``z <= 0`` or ``y`` = 0 with ``z >= 0``).
    """
    loss = 0.0
    bad = 0
    weighted = sw.shape[0] > 0
    for i in range(z.shape[0]):
        s = sw[i] if weighted else 1.0
        margin = z[i] if y[i] == 1 else -z[i]
        term, q = _softplus_neg(margin)
        loss += s * term
        if not margin > 0 and s > 0:  # (a NaN margin counts too)
            bad += 1
        r[i] = s * (-q if y[i] == 1 else q)
        w[i] = s * (q * (1.0 - q))
    return loss, bad


@kernel
def binary_loss(z, y, sw):
    """The weighted sigmoid log-loss of one block (line search; ``sw`` as in
    :func:`binary_terms`)."""
    loss = 0.0
    weighted = sw.shape[0] > 0
    for i in range(z.shape[0]):
        s = sw[i] if weighted else 1.0
        loss += s * _softplus_neg(z[i] if y[i] == 1 else -z[i])[0]
    return loss


@kernel
def _row_max(Z, i):
    """The largest score of row ``i`` (taken out before exponentiating)."""
    top = Z[i, 0]
    for c in range(1, Z.shape[1]):
        if Z[i, c] > top:
            top = Z[i, c]
    return top


@kernel
def softmax_terms(Z, y, sw, P):
    """Softmax loss terms of one block.

    ``Z`` (n, K) scores, ``y`` (n,) class indices, ``sw`` (n,) row weights or an
    empty array (every weight 1).  Writes the probabilities into ``P`` and turns
    ``Z`` into ``sw (P - onehot(y))`` (the gradient weights).  Returns the
    weighted cross-entropy and the number of rows of positive weight whose class
    does not have the strictly largest score.
    """
    n, k = Z.shape
    loss = 0.0
    bad = 0
    weighted = sw.shape[0] > 0
    for i in range(n):
        s = sw[i] if weighted else 1.0
        top = _row_max(Z, i)
        own = Z[i, y[i]]
        for c in range(k):
            if c != y[i] and Z[i, c] >= own:
                bad += s > 0
                break
        total = 0.0
        for c in range(k):
            e = np.exp(Z[i, c] - top)
            P[i, c] = e
            total += e
        loss += s * (np.log(total) + top - own)
        for c in range(k):
            P[i, c] /= total
            Z[i, c] = P[i, c]
        Z[i, y[i]] -= 1.0
        if weighted:
            for c in range(k):
                Z[i, c] *= s
    return loss, bad


@kernel
def softmax_loss(Z, y, sw):
    """The weighted softmax cross-entropy of one block (line search; ``sw`` as in
    :func:`softmax_terms`)."""
    n, k = Z.shape
    loss = 0.0
    weighted = sw.shape[0] > 0
    for i in range(n):
        s = sw[i] if weighted else 1.0
        top = _row_max(Z, i)
        total = 0.0
        for c in range(k):
            total += np.exp(Z[i, c] - top)
        loss += s * (np.log(total) + top - Z[i, y[i]])
    return loss


@kernel
def l1_newton_step(H, g, beta, lam, tol, max_sweeps):
    """The proximal Newton step: ``u`` minimising

        gᵀ(u - β) + ½ (u - β)ᵀ H (u - β) + Σ_j lam_j |u_j|

    by cyclic coordinate descent (soft thresholding), started from ``u = β``.
    Stops when a sweep moves no coordinate by more than ``tol`` (absolute) or
    after ``max_sweeps`` sweeps.  Returns ``(u - β, sweeps)``.  Deterministic:
    the same (H, g, β) give the same step on every rank.
    """
    m = g.shape[0]
    u = beta.copy()
    v = np.zeros(m)  # H (u - β)
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        largest = 0.0
        for j in range(m):
            a = H[j, j]
            if a <= 0.0:
                continue
            delta = u[j] - beta[j]
            c = g[j] + v[j] - a * delta
            t = a * beta[j] - c
            if t > lam[j]:
                new = (t - lam[j]) / a
            elif t < -lam[j]:
                new = (t + lam[j]) / a
            else:
                new = 0.0
            change = new - u[j]
            if change != 0.0:
                u[j] = new
                for i in range(m):
                    v[i] += H[i, j] * change
                if abs(change) > largest:
                    largest = abs(change)
        if largest <= tol:
            break
    return u - beta, sweeps
