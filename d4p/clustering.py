"""The k-means API classes: ``kmeans_init`` (deterministic, random, k-means++, k-means‖)
and ``kmeans`` (Lloyd), on d4p's protocol (:mod:`d4p._protocol`).

Both keep the rows on their rank (``_merge = None``): ``_local`` validates this
rank's table, the ranks agree on every parameter that affects the centroids
and on the column count, and ``_finish`` runs the collective rounds on
``run.comm``: the seeding protocol of :mod:`d4p.seeding` or Lloyd's iterations of
:mod:`d4p.lloyd`, over :class:`d4p.global_rows.LocalRows` (this rank's rows at
global offset ``run.row_offset``).

``kmeans``' starting centroids are agreed by digest, never sent for the check:
they are part of the agreed shape record (``Part.shape["inputCentroids"]``), where
a rank that passed ``None`` (allowed on ranks other than 0) has no entry and
adopts rank 0's, which are then broadcast.
"""
import math
import numbers

import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_finite, check_table, columns_of, is_sparse
from ._protocol import Algorithm, Part, communicator, token
from ._results import Result
from .engines import Engine, check_seed
from .global_rows import LocalRows, check_finite_fast
from .lloyd import lloyd, single_threaded_blas
from .seeding import first_rows, parallel_plus, plus_plus, random_rows


INIT_METHODS = ("defaultDense", "deterministicDense", "randomDense", "plusPlusDense",
                "parallelPlusDense", "deterministicCSR", "randomCSR", "plusPlusCSR",
                "parallelPlusCSR")


def _check_count(name, param, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {param} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: {param} must be at least {minimum}, got {value}")
    return int(value)


def _is_default(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def _empty_rows(shape):
    """No rows of the agreed column count (a rank's table of no shape)."""
    return np.empty((0, shape["data"]))


def check_weights(weights, n):
    """This rank's row weights (a d4p extension; daal4py's k-means has none) as a
    float64 array of ``n`` finite, non-negative values, or None."""
    if weights is None:
        return None
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"weights must be numbers, got {type(weights).__name__}") from None
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"weights has shape {w.shape} but the data has {n} rows; give one "
                         "weight per row")
    if not np.isfinite(w).all():
        raise ValueError(f"weights contains {w[~np.isfinite(w)][0]} at row "
                         f"{int(np.flatnonzero(~np.isfinite(w))[0])}; weights must be finite")
    if (w < 0).any():
        raise ValueError(f"weights contains {w[w < 0][0]} at row {int(np.flatnonzero(w < 0)[0])}; "
                         "weights must be non-negative")
    return np.ascontiguousarray(w)


def weights_shape(w, n):
    """The agreed-shape entry for "weighted or not": a rank with no rows and no
    weights adopts the other ranks' choice."""
    return {} if (w is None and n == 0) else {"weights": "given" if w is not None else "None"}


def agreed_weights(w, run):
    """This rank's weights when the ranks agreed on weights (an empty array for a
    rank with no rows), else None."""
    if run.shape.get("weights") != "given":
        return None
    return w if w is not None else np.empty(0)


class kmeans_init_result(Result):
    """``centroids`` (nClusters, p), the same on every rank."""

    _fields = ("centroids",)


class kmeans_init(Algorithm):
    """Initial centroids for k-means.

    Parameters
    ----------
    nClusters : int
        Number of centroids k.
    fptype : {'double', 'float'}, default 'double'
        dtype of the result.
    method : str, default 'defaultDense'
        'defaultDense' / 'deterministicDense' (the first k rows), 'randomDense'
        (k distinct random rows), 'plusPlusDense' (k-means++), 'parallelPlusDense'
        (k-means‖).  The '...CSR' names are the same methods; every method takes
        dense or sparse input, batch or distributed.
    nTrials : int, default -1 (1)
        k-means++: candidates drawn per step after the first; the one with the
        lowest potential is kept (greedy k-means++).
    oversamplingFactor : float, default NaN (0.5)
        k-means‖: about ``oversamplingFactor * nClusters`` rows are drawn per round.
    nRounds : int, default -1 (5)
        k-means‖: number of sampling rounds.
    engine : engines_* object, optional
        Its ``seed`` seeds the draws (default seed 777777).
    distributed : bool, default False
        Each rank passes its own rows; every rank gets the same centroids.
    seed : int, optional (keyword only; not in daal4py)
        Shortcut for ``engine=engines_mt19937(seed=seed)``.

    Notes
    -----
    For a given seed every method returns the same centroids, in the same order,
    however the rows are split over ranks (including ranks with no rows).  The
    draws differ from daal4py's, whose random order and k-means‖ depend on the split.

    The ranks must agree on ``nClusters``, ``method`` and the parameters the
    method uses (``nTrials``; ``oversamplingFactor`` and ``nRounds``; the seed, of
    ``engine`` or ``seed``); a difference raises the same ``ValueError`` on every
    rank.  ``fptype`` only sets the dtype of this rank's result.
    """

    _name = "kmeans_init"
    _agreed = ("nClusters", "method", "nTrials", "oversamplingFactor", "nRounds", "seed")
    # fptype only sets the dtype of this rank's result (docs/algorithms/kmeans.md)
    _needs_rows = False  # no rows at all: "nClusters=k exceeds the total number of rows (0)"

    def __init__(self, nClusters, fptype="double", method="defaultDense", nTrials=-1,
                 oversamplingFactor=float("nan"), nRounds=-1, engine=None, distributed=False,
                 *, seed=None):
        self.nClusters = _check_count(self._name, "nClusters", nClusters, 1)
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(self._name, method, INIT_METHODS)
        self.nTrials = 1 if nTrials in (-1, None) else _check_count(self._name, "nTrials",
                                                                     nTrials, 1)
        if _is_default(oversamplingFactor):
            self.oversamplingFactor = 0.5
        else:
            f = float(oversamplingFactor)
            if not (f > 0 and math.isfinite(f)):
                raise ValueError(f"{self._name}: oversamplingFactor must be positive, got "
                                 f"{oversamplingFactor!r}")
            self.oversamplingFactor = f
        self.nRounds = 5 if nRounds in (-1, None) else _check_count(self._name, "nRounds",
                                                                     nRounds, 1)
        if engine is not None and seed is not None:
            raise ValueError(f"{self._name}: give engine= or seed=, not both")
        if engine is not None and not isinstance(engine, Engine):
            raise TypeError(f"{self._name}: engine must be a d4p.engines_* object, got "
                            f"{type(engine).__name__}")
        self.engine = engine
        self.seed = (engine.seed if engine is not None else
                     check_seed(self._name, -1 if seed is None else seed))
        self.distributed = check_bool(self._name, "distributed", distributed)
        self._kind = self.method.replace("Dense", "").replace("CSR", "")

    def _agreed_values(self):
        """The parameters the method uses; the others (None) cannot differ."""
        kind = self._kind
        return {"nClusters": self.nClusters, "method": self.method,
                "nTrials": self.nTrials if kind == "plusPlus" else None,
                "oversamplingFactor": self.oversamplingFactor if kind == "parallelPlus" else None,
                "nRounds": self.nRounds if kind == "parallelPlus" else None,
                "seed": (None if kind in ("default", "deterministic") else
                         self.engine if self.engine is not None else self.seed)}

    def compute(self, data, setup=False, *, weights=None):
        """Initial centroids of ``data``: nClusters of its rows.

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            The rows (this rank's when distributed; ``"{}"`` in a file name is
            replaced by the rank).  A rank may hold fewer than nClusters rows, or none.
        setup : ignored
            Accepted for daal4py compatibility.
        weights : array-like (n,), optional (keyword only; a d4p extension)
            Non-negative row weights, aligned with this rank's rows; all ranks give
            weights or none does (a rank without rows may leave them out).
            k-means++ and k-means‖ draw rows in proportion to ``weight * D²`` (the
            first centre in proportion to the weight), 'randomDense' draws k rows
            without replacement in proportion to the weights; the deterministic
            methods ignore them.  Equal weights give the same distribution as no
            weights; for k-means++ and k-means‖ not the same draws.

        Returns
        -------
        kmeans_init_result
            The same centroids on every rank.
        """
        return self._compute((data, weights))

    # the protocol's hooks
    def _local(self, inputs):
        X = check_table(inputs[0], finite=False)
        w = check_weights(inputs[1], X.shape[0])
        if self._kind not in ("plusPlus", "parallelPlus") or is_sparse(X):
            check_finite_fast(X)  # k-means++ and k-means|| check in their first pass
        return Part((X, w), {"data": columns_of(X), **weights_shape(w, X.shape[0])},
                    X.shape[0])

    def _identity(self, shape):
        return _empty_rows(shape), None

    def _finish(self, total, run):
        X, w = total
        w = agreed_weights(w, run)
        k = self.nClusters
        if run.total_rows < k:
            run.fail(f"nClusters={k} exceeds the total number of rows ({run.total_rows})")
        comm = run.comm
        rows = LocalRows(X, run.shape["data"], run.row_offset, run.total_rows)
        if w is not None and self._kind not in ("default", "deterministic"):
            positive = int(comm.allreduce(np.array([float(np.count_nonzero(w))]), "sum")[0])
            need = k if self._kind == "random" else 1
            if positive < need:
                run.fail(f"{positive} rows have a positive weight; method {self.method} "
                         f"needs at least {need}")
        if self._kind in ("default", "deterministic"):
            C = first_rows(comm, rows, k)
        elif self._kind == "random":
            C = random_rows(comm, rows, k, self.seed, w)
        elif self._kind == "plusPlus":
            C = plus_plus(comm, rows, k, self.nTrials, self.seed, run.where, w)
        else:
            C = parallel_plus(comm, rows, k, self.oversamplingFactor * k, self.nRounds,
                              self.seed, run.where, w)
        return kmeans_init_result(centroids=as_fptype(C, self._dtype))


# ---- kmeans ---------------------------------------------------------------------------------


RESULTS = ("computeCentroids", "computeAssignments", "computeExactObjectiveFunction")
LLOYD_METHODS = ("lloydDense", "defaultDense", "lloydCSR")


class kmeans_result(Result):
    """``centroids`` (k, p), ``assignments`` (n_i, 1) int32 for this rank's rows,
    ``objectiveFunction`` (1, 1) and ``nIterations`` (1, 1) int32."""

    _fields = ("centroids", "assignments", "objectiveFunction", "nIterations")


class kmeans(Algorithm):
    """K-means clustering by Lloyd's algorithm (oneDAL's batch semantics).

    Parameters
    ----------
    nClusters : int
        Number of clusters k.
    maxIterations : int
        Maximum number of iterations; 0 returns the input centroids with the
        assignments and objective against them.
    fptype : {'double', 'float'}, default 'double'
        dtype of the results.  With 'float' and float32 data the distance
        products run in float32 (sums are float64 either way).
    method : str, default 'lloydDense'
        'lloydDense' / 'defaultDense' / 'lloydCSR'; every method takes dense or
        sparse input.
    accuracyThreshold : float, default NaN (0.0)
        Stop when the sum over clusters of the squared centroid shift is at most
        this (the iteration counts).
    gamma : float, default NaN (1.0)
        Accepted for compatibility (only used for categorical features).
    distanceType : str, default '' ('euclidean')
        Only 'euclidean'.
    resultsToEvaluate : str, default '' (all)
        'computeCentroids', 'computeAssignments', 'computeExactObjectiveFunction'
        joined with '|'.  Fields not requested are None.
    assignFlag : bool, default False
        Also return the assignments.
    distributed : bool, default False
        Each rank passes its own rows; centroids, objective and iteration count are
        global; assignments are for the rank's own rows.
    scaleThreshold : bool, default False (keyword only; a d4p extension)
        Stop when the shift is at most ``accuracyThreshold`` times the mean of the
        columns' (population) variances over all rows: scikit-learn's ``tol``.  The
        variances come from the first iteration's pass over the data (no extra pass).

    Notes
    -----
    The ranks must agree on every parameter (``fptype`` included: it sets the
    precision of the distance products) and on ``inputCentroids``, which are
    compared by digest; a difference raises the same ``ValueError`` on every rank.
    """

    _name = "kmeans"
    _agreed = ("nClusters", "maxIterations", "fptype", "method", "accuracyThreshold", "gamma",
               "distanceType", "resultsToEvaluate", "assignFlag", "scaleThreshold")
    _needs_rows = False  # no rows at all: "nClusters=k exceeds the total number of rows (0)"

    def __init__(self, nClusters, maxIterations, fptype="double", method="lloydDense",
                 accuracyThreshold=float("nan"), gamma=float("nan"), distanceType="",
                 resultsToEvaluate="", assignFlag=False, distributed=False, *,
                 scaleThreshold=False):
        self.nClusters = _check_count(self._name, "nClusters", nClusters, 1)
        self.maxIterations = _check_count(self._name, "maxIterations", maxIterations, 0)
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(self._name, method, LLOYD_METHODS)
        if _is_default(accuracyThreshold):
            self.accuracyThreshold = 0.0
        else:
            t = float(accuracyThreshold)
            if not t >= 0:
                raise ValueError(f"{self._name}: accuracyThreshold must be >= 0, got "
                                 f"{accuracyThreshold!r}")
            self.accuracyThreshold = t
        self.gamma = 1.0 if _is_default(gamma) else float(gamma)
        if distanceType not in ("", "euclidean"):
            raise ValueError(f"{self._name}: distanceType must be 'euclidean', got "
                             f"{distanceType!r}")
        self.distanceType = distanceType
        self.resultsToEvaluate = resultsToEvaluate
        self._results = parse_flags(self._name, "resultsToEvaluate", resultsToEvaluate, RESULTS,
                                    RESULTS)
        self.assignFlag = check_bool(self._name, "assignFlag", assignFlag)
        self.distributed = check_bool(self._name, "distributed", distributed)
        self.scaleThreshold = check_bool(self._name, "scaleThreshold", scaleThreshold)

    def _agreed_values(self):
        values = super()._agreed_values()
        values["resultsToEvaluate"] = self._results
        return values

    def compute(self, data, inputCentroids, setup=False, *, weights=None):
        """Run Lloyd's iterations from ``inputCentroids``.

        Parameters
        ----------
        data : array-like, DataFrame, sparse matrix or CSV file name
            This rank's rows when distributed (``"{}"`` in a file name is replaced
            by the rank).
        inputCentroids : array-like (nClusters, p)
            Starting centroids, identical on every rank (ranks other than 0 may
            pass None to use rank 0's).
        setup : ignored
            Accepted for daal4py compatibility.
        weights : array-like (n,), optional (keyword only; a d4p extension)
            Non-negative row weights, aligned with this rank's rows; all ranks give
            weights or none does (a rank without rows may leave them out).  The
            centroids are weighted means, the objective is the weighted sum of
            squared distances, and a cluster whose rows weigh nothing is empty.

        Returns
        -------
        kmeans_result
        """
        return self._compute((data, inputCentroids, weights))

    # the protocol's hooks
    def _local(self, inputs):
        data, centroids, weights = inputs
        X = check_table(data, finite=False)  # Lloyd's first pass checks finiteness
        w = check_weights(weights, X.shape[0])
        p = columns_of(X)
        C = self._centroids(centroids, p)
        shape = {"data": p, "inputCentroids": None if C is None else token(C),
                 **weights_shape(w, X.shape[0])}
        return Part((X, C, w), shape, X.shape[0])

    def _centroids(self, centroids, p):
        """The validated starting centroids (float64, C order), or None where this
        rank (not rank 0) takes rank 0's."""
        if centroids is None and communicator(self.distributed).rank > 0:
            return None
        C = check_table(centroids, "inputCentroids", sparse="reject", finite=False)
        k = self.nClusters
        if C.shape[0] != k:
            raise ValueError(f"inputCentroids has {C.shape[0]} rows but nClusters is {k}")
        if not np.isfinite(C).all():  # a few values: no kernel to compile
            check_finite(C, "inputCentroids")
        if p is not None and C.shape[1] != p:
            raise ValueError(f"inputCentroids has {C.shape[1]} columns but the data has {p}")
        return np.ascontiguousarray(C, dtype=np.float64)

    def _identity(self, shape):
        return _empty_rows(shape), None, None

    def _finish(self, _, run):
        # This rank's own rows and centroids: a rank that passed inputCentroids=None
        # has no entry in the agreed shape, so the base handed it the identity.
        X, C, w = run.part.stat
        w = agreed_weights(w, run)
        comm = run.comm
        if comm.size > 1:  # equal digests: rank 0's centroids are every rank's
            C = comm.bcast(C if comm.rank == 0 else None, root=0)
        p = run.shape["data"]
        if C.shape[1] != p:
            run.fail(f"inputCentroids has {C.shape[1]} columns but the data has {p}")
        k = self.nClusters
        if run.total_rows < k:
            run.fail(f"nClusters={k} exceeds the total number of rows ({run.total_rows})")
        rows = LocalRows(X, p, run.row_offset)
        want_labels = self.assignFlag or "computeAssignments" in self._results
        want_objective = "computeExactObjectiveFunction" in self._results
        with single_threaded_blas():
            C, iterations, labels, objective, _ = lloyd(
                comm, rows, C, self.maxIterations, self.accuracyThreshold, self._dtype,
                want_labels or want_objective, run.where, weights=w,
                scale_threshold=self.scaleThreshold, total_rows=run.total_rows)
        return kmeans_result(
            centroids=(as_fptype(C, self._dtype) if "computeCentroids" in self._results
                       else None),
            assignments=labels.reshape(-1, 1) if want_labels else None,
            objectiveFunction=(as_fptype([[objective]], self._dtype) if want_objective
                               else None),
            nIterations=np.array([[iterations]], dtype=np.int32))
