"""Newton and proximal Newton steps for the logistic objective, decided from reduced statistics.

:class:`LogisticObjective` evaluates the loss, gradient and Hessian of this rank's
rows and sums them over the ranks in a fixed order; :class:`NewtonSolver` takes
the same steps on every rank from those sums (see :mod:`d4p.logistic`).
"""
import numpy as np

from . import _parallel
from ._inputs import is_sparse
from ._protocol import Agreement, warn
from .kernels import logistic as lk

#: Bytes of float64 per block of rows in the Newton passes and in prediction.
BLOCK_BYTES = 1 << 20
#: Armijo's sufficient-decrease constant and the largest number of halvings.
_ARMIJO = 1e-4
_MAX_HALVINGS = 40
#: F is a sum of n rounded terms: a trial within this many ulps of F counts as
#: no increase (near the optimum the decrease itself is at rounding level).
_NOISE_ULPS = 64
#: Steps below this fraction of max|β| let the next iteration reuse the Hessian.
_LAG = 1e-2
#: Without L1 the Hessian is summed over a sample of every s-th row (see
#: :class:`LogisticObjective`) of at least HESSIAN_ROWS rows, SAMPLE_ROWS_PER_PARAMETER
#: rows per parameter (its relative error, the rate of the iteration near the
#: optimum, is about sqrt(parameters / rows): 0.045 here) and CLASS_ROWS_PER_SAMPLE
#: rows of each class present.
HESSIAN_ROWS = 1 << 16
SAMPLE_ROWS_PER_PARAMETER = 500
CLASS_ROWS_PER_SAMPLE = 1 << 12


class ConvergenceWarning(UserWarning):
    """The solver stopped before reaching the optimum (no finite optimum, or
    ``maxIterations`` reached); the model holds the last iterate."""


# ---- results ------------------------------------------------------------------------


class LogisticObjective:
    """The objective on this rank's rows: the passes that evaluate it.

    Parameters are the flat vector θ: for each score row ``k`` (one for two
    classes, K otherwise) its intercept (when fitted) then its p coefficients.

    The Hessian only steers the Newton steps; the exact gradient decides where
    they stop.  So on many rows (without L1) it is summed over the rows whose
    global index is a multiple of ``stride`` (the same rows for any split;
    ``stride`` from the module's constants) and scaled by ``N / (rows sampled)``:
    a pass of a ``stride``-th of the cost.  The iteration then converges
    linearly, at a rate of the sample's relative error, to the same optimum;
    :class:`NewtonSolver` switches to the full Hessian (:meth:`use_full_hessian`)
    if that rate is poor.
    """

    def __init__(self, X, y, n_classes, intercept, comm, total_rows, l1, l2, row_offset=0,
                 class_counts=None, weights=None):
        self.X, self.y = X, y
        self.w = np.empty(0) if weights is None else weights  # empty: unweighted
        self.n, self.p = X.shape
        self.rows = 1 if n_classes == 2 else n_classes  # score rows
        self.intercept = intercept
        self.q = self.p + int(intercept)
        self.m = self.rows * self.q
        self.comm, self.N = comm, float(total_rows)
        self.l1, self.l2 = l1, l2
        penalised = np.ones((self.rows, self.q), dtype=bool)
        if intercept:
            penalised[:, 0] = False
        self.penalised = penalised.reshape(-1)
        self.block = max(64, BLOCK_BYTES // (8 * max(self.p, self.rows, 1)))
        # Pairs (k, l), k <= l, of the Hessian's blocks of score rows.
        self.pairs = [(k, l) for k in range(self.rows) for l in range(k, self.rows)]
        sample_rows = max(HESSIAN_ROWS, SAMPLE_ROWS_PER_PARAMETER * self.m)
        stride = 1 if l1 > 0 else int(total_rows) // sample_rows
        if class_counts is not None and stride > 1:
            present = np.asarray(class_counts)[np.asarray(class_counts) > 0]
            stride = min(stride, int(present.min()) // CLASS_ROWS_PER_SAMPLE)
        self.row_offset = int(row_offset)
        self.stride = 1
        self._sample = (X, y, self.w, 1.0)
        if stride > 1:
            self._set_stride(stride)

    def _set_stride(self, stride):
        start = (-self.row_offset) % stride  # this rank's first global multiple of stride
        Xs = self.X[start::stride]
        Xs = Xs if is_sparse(Xs) else np.ascontiguousarray(Xs)
        sampled = -(-int(self.N) // stride)  # multiples of stride below N, over all ranks
        ws = np.ascontiguousarray(self.w[start::stride]) if self.w.size else self.w
        self.stride = stride
        self._sample = (Xs, np.ascontiguousarray(self.y[start::stride]), ws, self.N / sampled)

    def use_full_hessian(self):
        """From now on, the Hessian of every row (collective decision: call on all ranks)."""
        self.stride = 1
        self._sample = (self.X, self.y, self.w, 1.0)

    # -- θ <-> (W, b) --

    def split(self, theta):
        T = theta.reshape(self.rows, self.q)
        if self.intercept:
            return np.ascontiguousarray(T[:, 1:]), T[:, 0].copy()
        return np.ascontiguousarray(T), np.zeros(self.rows)

    def penalty(self, theta):
        w = theta[self.penalised]
        return self.l1 * np.abs(w).sum() + self.l2 * (w @ w)

    # -- the reductions (collective) --

    def _reduce(self, local):
        if self.comm.size > 1:
            return self.comm.tree_reduce(local, np.add)
        return local

    def full(self, theta, where, hessian=True):
        """F, the number of rows not on their class's side, ∇F and ∇²F at θ
        (``None`` for ∇²F when ``hessian`` is False: a pass without the Gram products)."""
        with Agreement(self.comm, where):
            if hessian and self.stride > 1:
                Xs, ys, ws, scale = self._sample
                local = self._local_sums(theta, "gradient")
                sample = self._local_sums(theta, "hessian", Xs, ys, ws)
                local = np.concatenate([local, sample[local.size:] * scale])
            else:
                local = self._local_sums(theta, "hessian" if hessian else "gradient")
        total = self._reduce(local)
        m = self.m
        loss, bad = total[0], int(round(total[1]))
        g = total[2:2 + m] / self.N
        pen = self.penalised
        g[pen] += 2 * self.l2 * theta[pen]
        H = None
        if hessian:
            H = total[2 + m:].reshape(m, m) / self.N
            H = (H + H.T) / 2
            H[np.flatnonzero(pen), np.flatnonzero(pen)] += 2 * self.l2
        return loss / self.N + self.penalty(theta), bad, g, H

    def value(self, theta, where):
        """F at θ (one scalar reduction)."""
        with Agreement(self.comm, where):
            local = self._local_sums(theta, "value")
        return self._reduce(local)[0] / self.N + self.penalty(theta)

    # -- this rank's sums --

    def _local_sums(self, theta, mode, X=None, y=None, w=None):
        """This rank's sums over the rows of ``X`` (default: all its rows)."""
        X, y, w = (self.X, self.y, self.w) if X is None else (X, y, w)
        size = {"value": 1, "gradient": 2 + self.m, "hessian": 2 + self.m + self.m * self.m}[mode]
        n = X.shape[0]
        if n == 0:
            return np.zeros(size)
        W, b = self.split(theta)
        nparts = _parallel.thread_parts(n, self.block)
        if nparts == 1:
            return self._sums(X, y, w, 0, n, W, b, mode, size)
        bounds = np.linspace(0, n, nparts + 1).astype(int)
        parts = _parallel.map_threads(
            lambda k: self._sums(X, y, w, bounds[k], bounds[k + 1], W, b, mode, size), nparts)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def _sums(self, X, labels, weights, start, stop, W, b, mode, size):
        out = np.zeros(size)
        m, q, K = self.m, self.q, self.rows
        hessian = mode == "hessian"
        if mode != "value":
            grad = out[2:2 + m].reshape(K, q)
        if hessian:
            H = out[2 + m:].reshape(K, q, K, q)
        for lo in range(start, stop, self.block):
            hi = min(lo + self.block, stop)
            Xb = X[lo:hi]
            Xb = Xb.toarray() if is_sparse(Xb) else Xb
            Xb = np.asarray(Xb, dtype=np.float64)  # a block-sized copy of float32 only
            y = labels[lo:hi]
            sw = weights[lo:hi] if weights.size else weights  # empty: unweighted
            Z = Xb @ W.T
            Z += b
            if mode == "value":
                out[0] += lk.binary_loss(Z[:, 0], y, sw) if K == 1 else \
                    lk.softmax_loss(Z, y, sw)
                continue
            if K == 1:
                r, w = np.empty(hi - lo), np.empty(hi - lo)
                loss, bad = lk.binary_terms(np.ascontiguousarray(Z[:, 0]), y, sw, r, w)
                R = r.reshape(-1, 1)
                A = w.reshape(-1, 1)  # Hessian weights per pair (one pair)
            else:
                P = np.empty_like(Z)
                loss, bad = lk.softmax_terms(Z, y, sw, P)
                R = Z  # w (P - onehot)
            out[0] += loss
            out[1] += bad
            off = int(self.intercept)
            grad[:, off:] += R.T @ Xb
            if off:
                grad[:, 0] += R.sum(axis=0)
            if not hessian:
                continue
            if K > 1:
                A = np.empty((hi - lo, len(self.pairs)))
                for j, (k, l) in enumerate(self.pairs):
                    A[:, j] = P[:, k] * (1.0 - P[:, k]) if k == l else -P[:, k] * P[:, l]
                root = np.sqrt(P)
                if sw.size:
                    A *= sw[:, None]
                    root_w = np.sqrt(sw)
            if off:
                XA = Xb.T @ A  # (p, pairs): the intercept borders of the Hessian
                SA = A.sum(axis=0)
            for j, (k, l) in enumerate(self.pairs):
                if K == 1:
                    S = Xb * np.sqrt(A[:, 0])[:, None]
                    H[0, off:, 0, off:] += S.T @ S  # BLAS syrk
                elif k != l:
                    # X^T diag(P_k P_l) X; the weights of block (k, l) are -P_k P_l and,
                    # as the softmax weights of a row sum to zero over l, the diagonal
                    # block (k, k) is the sum of the others' (no syrk of its own).
                    f = root[:, k] * root[:, l]
                    S = Xb * (f * root_w if sw.size else f)[:, None]
                    G = S.T @ S  # BLAS syrk
                    H[k, off:, l, off:] -= G
                    H[k, off:, k, off:] += G
                    H[l, off:, l, off:] += G
                if off:
                    H[k, 0, l, 0] += SA[j]
                    H[k, 0, l, 1:] += XA[:, j]
                    H[k, 1:, l, 0] += XA[:, j]
        if hessian:
            for k, l in self.pairs:
                if k != l:
                    H[l, :, k, :] = H[k, :, l, :].T
        return out


# ---- the solver (the same on every rank) ----------------------------------------------


def zero_sum_basis(K):
    """Orthonormal basis (K, K - 1) of the vectors summing to zero."""
    # The Householder reflection taking e_1 to ±1/√K: its other columns.
    v = np.ones(K) / np.sqrt(K)
    u = v.copy()
    u[0] += 1.0 if v[0] >= 0 else -1.0
    Hh = np.eye(K) - 2.0 * np.outer(u, u) / (u @ u)
    return Hh[:, 1:]


def solve_newton(H, g):
    """``d`` solving ``H d = -g``: Cholesky of the equilibrated system, or the
    minimum-norm solution by an eigen-decomposition when H is singular."""
    diag = np.diagonal(H).copy()
    s = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
    Hs = H * s[:, None] * s[None, :]
    try:
        L = np.linalg.cholesky(Hs)
        w = np.linalg.eigvalsh(Hs)
        if w[0] > 1e-12 * w[-1]:
            return -s * np.linalg.solve(L.T, np.linalg.solve(L, s * g))
    except np.linalg.LinAlgError:
        pass
    w, V = np.linalg.eigh(H)
    keep = w > 1e-13 * max(w[-1], 0.0)
    return -V[:, keep] @ ((V[:, keep].T @ g) / w[keep])


class NewtonSolver:
    """The iteration: identical on every rank, from reduced values only."""

    def __init__(self, problem, tol, max_iterations, where):
        self.pb = problem
        self.tol, self.max_iterations, self.where = tol, max_iterations, where
        pb = problem
        # For K > 2 classes without L1 the softmax is invariant to adding one vector
        # to every class's coefficients (and always to the unpenalised intercepts):
        # iterate in the subspace of coefficients summing to zero over the classes.
        self.T = None
        if pb.rows > 1 and pb.l1 == 0:
            self.T = np.kron(zero_sum_basis(pb.rows), np.eye(pb.q))
        self.lam = np.where(pb.penalised, pb.l1, 0.0)

    def step(self, theta, g, H):
        """The search direction and the model decrease Δ < 0 it predicts."""
        if self.pb.l1 > 0:
            # the last sweep's largest move, near rounding: the step's own error is
            # that over (1 - rate), and it ends up in β
            tol = min(1e-3 * self.tol, 1e-15) * max(1.0, np.abs(theta).max())
            d, _ = lk.l1_newton_step(H, g, theta, self.lam, tol, 100000)
            l1 = self.pb.l1
            pen = self.pb.penalised
            delta = g @ d + l1 * (np.abs(theta[pen] + d[pen]).sum() - np.abs(theta[pen]).sum())
            return d, delta
        if self.T is not None:
            d = self.T @ solve_newton(self.T.T @ H @ self.T, self.T.T @ g)
        else:
            d = solve_newton(H, g)
        return d, g @ d

    def run(self):
        """Newton iterations from β = 0; returns (β, iterations).

        Near the optimum the Hessian changes little from one iterate to the next: without
        L1, once
        a step is below ``_LAG`` of ``max|β|`` (and, for a step already taken with an
        older Hessian, at most a quarter of the previous step), the next point is
        evaluated without the Gram products and the Hessian is reused (a chord step:
        the gradient stays exact, so the optimum is the same).
        """
        pb = self.pb
        theta = np.zeros(pb.m)
        F, bad, g, H = pb.full(theta, self.where)
        fresh, last = True, np.inf  # H computed at θ; size of the previous step
        unpenalised = pb.l1 == 0 and pb.l2 == 0
        for it in range(self.max_iterations):
            if unpenalised and bad == 0:
                warn(f"{self.where}: the classes are separable by a hyperplane (β of iteration "
                     f"{it} puts every row strictly on its class's side), so without a penalty "
                     "there is no finite optimum; returning that β.  Set penaltyL2 > 0 for a "
                     "unique, finite model", ConvergenceWarning)
                return theta, it
            d, delta = self.step(theta, g, H)
            dmax = np.abs(d).max() if d.size else 0.0
            scale = max(np.abs(theta + d).max(), 1e-300)
            if dmax <= self.tol * scale:
                return theta + d, it + 1
            if not delta < 0:
                if not fresh:
                    F, bad, g, H = pb.full(theta, self.where)
                    fresh = True
                    continue
                if dmax > 1e-6 * scale:
                    return theta, it  # no descent direction left
                # A tiny Newton step whose predicted decrease is rounding noise (its sign
                # may differ between splits): take it like any other, so every split
                # takes the same steps.
                delta = 0.0
            # (Not with L1: coordinate descent solves the step only to a tolerance, too
            # coarse for the chord steps' decisions to be the same for every split.)
            # A sampled Hessian whose steps near the optimum shrink slowly: the full one.
            escalate = pb.stride > 1 and dmax <= _LAG * scale and dmax > 0.25 * last
            if escalate:
                pb.use_full_hessian()
            lag = (not escalate and pb.l1 == 0 and dmax <= _LAG * scale
                   and (fresh or dmax <= 0.25 * last))
            last = dmax
            noise = _NOISE_ULPS * np.finfo(np.float64).eps * abs(F)
            trial = pb.full(theta + d, self.where, hessian=not lag)
            if trial[0] <= F + _ARMIJO * delta + noise:
                theta = theta + d
                F, bad, g, H_new = trial
                fresh = H_new is not None
                H = H_new if fresh else H
                continue
            t = 1.0
            for _ in range(_MAX_HALVINGS):
                t /= 2
                if pb.value(theta + t * d, self.where) <= F + _ARMIJO * t * delta + noise:
                    break
            else:
                warn(f"{self.where}: the line search found no decrease after {it + 1} "
                     "iterations (rounding level reached or no finite optimum); returning the "
                     "last iterate", ConvergenceWarning)
                return theta, it + 1
            theta = theta + t * d
            F, bad, g, H = pb.full(theta, self.where)
            fresh = True
        warn(f"{self.where}: maxIterations = {self.max_iterations} reached before the optimum "
             "(accuracyThreshold not met); the classes may be separable or a class may be "
             "absent", ConvergenceWarning)
        return theta, self.max_iterations


# ---- training -------------------------------------------------------------------------
