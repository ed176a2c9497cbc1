"""Brute-force k-nearest neighbours: ``bf_knn_classification_*`` and d4p's ``bf_knn_regression_*``.

Training keeps each rank's rows on that rank: the model holds this rank's rows,
their labels (or responses) and their global offset (ranks' rows concatenated in
rank order).  Prediction with ``distributed=True`` finds, for every rank's
queries, the k nearest rows among *all* ranks' training rows:

1. the queries travel, in rounds of a bounded number of rows, to every rank
   (one ``allgather`` per round; the training rows never move);
2. each rank keeps the k best of its own rows for every query (Euclidean:
   blocked BLAS products screened by a rounding bound, then exact squared
   differences; the other metrics: exact float64 kernels; see
   :mod:`d4p.knn_search`);
3. only those candidates (k per query: reduced distance, global row number,
   label) go back to the query's owner (``alltoall``), which merges them.

``metric`` and ``p`` (d4p's extension; daal4py's brute force is Euclidean only)
choose scikit-learn's 'euclidean', 'manhattan', 'chebyshev', 'minkowski' (any
p > 0) or 'cosine' distance.

Ties go to the lower global row number, so the answer does not depend on the
split.  daal4py has these classes in batch only and has no kNN regression; the
regression classes are d4p's own, with the same parameters.
"""
import numbers
import secrets

import numpy as np

from ._algorithm import as_fptype, check_bool, check_fptype, check_method, parse_flags
from ._inputs import check_table, columns_of
from ._protocol import Algorithm, Part, communicator
from ._results import Result
from .knn_search import canonical_metric, distances, neighbours, prepare
from .kernels import neighbors as nk

METHODS = ("defaultDense",)
RESULTS_TO_COMPUTE = ("computeIndicesOfNeighbors", "computeDistances")
RESULTS_TO_EVALUATE = ("computeClassLabels", "computeClassProbabilities", "none")
_VOTE_WEIGHTS = {"voteUniform": "voteUniform", "voteDistance": "voteDistance",
                 # the names the d4p issue used; daal4py itself only knows the two above
                 "voteWeightsUniform": "voteUniform", "voteWeightsDistance": "voteDistance"}
DATA_USE = ("doNotUse", "doUse")



# ---- parameters ------------------------------------------------------------------------------


def _count(algo, name, value, default):
    """A positive integer parameter; daal4py's -1 (or None) means oneDAL's default."""
    if value is None or (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                         and value == -1):
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{algo}: {name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{algo}: {name} must be at least 1, got {value}")
    return int(value)


def _one_of(algo, name, value, allowed, default):
    if value in ("", None):
        return default
    if value not in allowed:
        raise ValueError(f"{algo}: unexpected value {value!r} for {name}; expected one of "
                         f"{sorted(allowed)}")
    return allowed[value] if isinstance(allowed, dict) else value


# ---- models and results ----------------------------------------------------------------------


class _KnnModel(Result):
    """Fields shared by the classification and regression models."""

    _common = ("NFeatures", "NumberOfFeatures", "NumberOfRows", "NumberOfRanks", "Rank",
               "RowOffset", "ModelId", "data")

    def agreement_token(self):
        """What ranks compare before a distributed prediction (not the rows)."""
        return (f"a {type(self).__name__} of {self.NumberOfRows} rows x {self.NFeatures} "
                f"features over {self.NumberOfRanks} rank(s), id {self.ModelId}")


def _prepared(model, metric):
    """The search's data of the model's rows for ``metric``, kept on the model when its
    rows are its own read-only copy ('doNotUse'); 'doUse' rows may change, so they are
    read anew."""
    caches = model.__dict__.setdefault("search_data", {})  # not a field: never pickled
    cache = caches.get(metric[0])
    if cache is None:
        cache = prepare(model.data, metric)
        if not model.data.flags.writeable:
            caches[metric[0]] = cache
    return cache


class bf_knn_classification_model(_KnnModel):
    """A brute-force kNN classification model: this rank's training rows.

    Attributes
    ----------
    NFeatures, NumberOfFeatures : int
        p (daal4py's names).
    NumberOfRows : int
        Training rows over all ranks.
    NumberOfRanks, Rank : int
        The ranks the model was trained on and the rank this part belongs to.
    RowOffset : int
        Global number of this rank's first training row.
    ModelId : str
        The same on every rank's part of one training run.
    NumberOfClasses : int
        ``nClasses`` of the training.
    data : ndarray (n_rank, p) float64
        This rank's training rows.
    labels : ndarray (n_rank,) int64
        Their labels.
    """

    _fields = _KnnModel._common + ("NumberOfClasses", "labels")


class bf_knn_regression_model(_KnnModel):
    """A brute-force kNN regression model (d4p's own): this rank's training rows.

    Attributes as :class:`bf_knn_classification_model`, with ``responses``
    (n_rank, r) float64 in place of labels and ``NumberOfResponses`` r.
    """

    _fields = _KnnModel._common + ("NumberOfResponses", "responses")


class bf_knn_classification_training_result(Result):
    """``model``: the :class:`bf_knn_classification_model` (this rank's part)."""

    _fields = ("model",)


class bf_knn_regression_training_result(Result):
    """``model``: the :class:`bf_knn_regression_model` (this rank's part)."""

    _fields = ("model",)


class bf_knn_classification_prediction_result(Result):
    """``prediction`` (n, 1) float64 class labels; ``indices`` (n, k) int32 global
    training-row numbers of the neighbours, nearest first; ``distances`` (n, k)
    distances of the metric (Minkowski's p-th root taken) in the fptype's dtype; ``probabilities`` (n, nClasses)
    (d4p's addition: the vote shares, as scikit-learn's ``predict_proba``).  Fields
    not requested are ``None``."""

    _fields = ("prediction", "indices", "distances", "probabilities")


class bf_knn_regression_prediction_result(Result):
    """``prediction`` (n, r) float64, the (weighted) mean of the neighbours'
    responses; ``indices`` and ``distances`` as in classification."""

    _fields = ("prediction", "indices", "distances")


# ---- training --------------------------------------------------------------------------------


class _KnnParameters:
    """The parameters every k-NN class takes (regression takes no others)."""

    def __init__(self, fptype="double", method="defaultDense", k=-1, dataUseInModel="",
                 resultsToCompute="", voteWeights="", engine=None, distributed=False,
                 metric="euclidean", p=2):
        self._init_common(fptype, method, k, dataUseInModel, resultsToCompute, voteWeights,
                          engine, distributed, metric, p)

    def _init_common(self, fptype, method, k, dataUseInModel, resultsToCompute, voteWeights,
                     engine, distributed, metric="euclidean", p=2):
        if isinstance(fptype, numbers.Number):
            raise TypeError(f"{self._name}: the first positional parameter is fptype, as in "
                            f"daal4py; pass nClasses= and k= by keyword (got {fptype!r})")
        self.fptype = fptype
        self._dtype = check_fptype(fptype)
        self.method = check_method(self._name, method, METHODS)
        self.k = _count(self._name, "k", k, 1)
        self.dataUseInModel = _one_of(self._name, "dataUseInModel", dataUseInModel,
                                      DATA_USE, "doNotUse")
        self.resultsToCompute = resultsToCompute
        parse_flags(self._name, "resultsToCompute", resultsToCompute, RESULTS_TO_COMPUTE, [])
        self.voteWeights = _one_of(self._name, "voteWeights", voteWeights, _VOTE_WEIGHTS,
                                   "voteUniform")
        self.engine = engine  # accepted for daal4py scripts: brute force draws nothing
        self.distributed = check_bool(self._name, "distributed", distributed)
        # canonical: 'minkowski' with p 1, 2 or inf is named 'manhattan', 'euclidean' or
        # 'chebyshev'; p is None for cosine (so ranks agree on the distance, not the names)
        self._metric = canonical_metric(metric, p, self._name)
        self.metric, self.p = self._metric


class _Training(_KnnParameters, Algorithm):
    """Validate and keep this rank's rows; agree on the columns; number the rows."""

    _model_class = None
    _result_class = None

    def _rows(self, data):
        X = check_table(data, "data", sparse="densify")
        if self.dataUseInModel == "doUse":
            return np.ascontiguousarray(X, dtype=np.float64)
        X = np.array(X, dtype=np.float64, order="C", copy=True)
        X.setflags(write=False)  # the model's own copy: read-only, so its search data keeps
        return X

    def _local(self, inputs):
        data, targets = inputs
        X = self._rows(data)
        if targets is None and self._target_name == "labels":
            targets = np.zeros((X.shape[0], 1))  # neighbours only (scikit-learn-intelex does it)
        raw = check_table(targets, self._target_name, sparse="densify")
        if raw.shape[0] != X.shape[0]:
            raise ValueError(f"{self._target_name} has {raw.shape[0]} rows but data has "
                             f"{X.shape[0]}")
        shape = {"data": columns_of(X)}
        shape.update(self._target_shape(raw))
        T = self._targets(np.empty((0, 1)) if raw.shape == (0, 0) else raw)
        return Part((X, T), shape, X.shape[0])

    def _identity(self, shape):
        return (np.empty((0, shape["data"])), self._empty_targets(shape))

    _merge = None  # the rows stay on their ranks

    def _finish(self, stat, run):
        X, T = stat
        model_id = secrets.token_hex(8)
        if run.size > 1:
            model_id = run.comm.bcast(model_id, 0)
        p = int(run.shape["data"])
        common = dict(NFeatures=p, NumberOfFeatures=p, NumberOfRows=int(run.total_rows),
                      NumberOfRanks=int(run.size), Rank=int(run.rank),
                      RowOffset=int(run.row_offset), ModelId=model_id, data=X)
        return self._result_class(model=self._model(common, T))


class bf_knn_classification_training(_Training):
    """Train a brute-force k-nearest-neighbours classifier (keep the rows).

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        Accepted; distances are computed in float64 either way.
    method : {'defaultDense'}
    k : int, default -1 (1)
        Number of neighbours (used by prediction; accepted here as in daal4py).
    dataUseInModel : {'doNotUse', 'doUse'}, default '' ('doNotUse')
        'doNotUse' copies the rows into the model; 'doUse' keeps a float64
        C-ordered input without copying it.  The results are the same.
    resultsToCompute, voteWeights, resultsToEvaluate : str
        Accepted as in daal4py; they act in prediction.
    engine : optional
        Accepted and unused: brute force has nothing random.
    nClasses : int, default -1 (2)
        Labels are the integers 0 .. nClasses - 1.
    distributed : bool, default False
        Each rank passes its own rows; the rows stay there and are numbered in
        rank order.  Predict with ``distributed=True`` on the same ranks.
    metric, p : d4p's extension, default 'euclidean', 2
        Validated here as in prediction, where they act.

    Examples
    --------
    >>> import numpy as np, d4p
    >>> X = np.array([[0.0], [1.0], [5.0]])
    >>> model = d4p.bf_knn_classification_training(nClasses=2).compute(X, [0, 0, 1]).model
    >>> d4p.bf_knn_classification_prediction(nClasses=2).compute([[4.0]], model).prediction
    array([[1.]])
    """

    _name = "bf_knn_classification_training"
    _agreed = ("nClasses", "method")
    _model_class = bf_knn_classification_model
    _result_class = bf_knn_classification_training_result
    _target_name = "labels"

    def __init__(self, fptype="double", method="defaultDense", k=-1, dataUseInModel="",
                 resultsToCompute="", voteWeights="", engine=None, nClasses=-1,
                 resultsToEvaluate="", distributed=False, metric="euclidean", p=2):
        self._init_common(fptype, method, k, dataUseInModel, resultsToCompute, voteWeights,
                          engine, distributed, metric, p)
        self.nClasses = _count(self._name, "nClasses", nClasses, 2)
        self.resultsToEvaluate = resultsToEvaluate
        parse_flags(self._name, "resultsToEvaluate", resultsToEvaluate, RESULTS_TO_EVALUATE,
                    ["computeClassLabels"])

    def compute(self, data, labels=None, setup=False):
        """Keep ``data`` and ``labels`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like (n, p), DataFrame, sparse matrix or CSV file name
            ``"{}"`` in a file name is replaced by the rank.
        labels : array-like (n, 1) or (n,), optional
            Class indices 0 .. nClasses - 1 (integers, or floats holding integers).
            ``None`` (as daal4py allows) gives a model for neighbour searches only:
            predict with ``resultsToEvaluate='none'``.
        setup : ignored
            Accepted for daal4py compatibility.

        Returns
        -------
        bf_knn_classification_training_result
        """
        self._labels_given = labels is not None
        return self._compute((data, labels))

    def _agreed_values(self):
        values = super()._agreed_values()
        values["labels"] = "given" if self._labels_given else "None"
        return values

    def _targets(self, T):
        if T.shape[0] and T.shape[1] != 1:
            raise ValueError(f"labels must be 1-D or of shape (n, 1), got shape {T.shape}")
        y = np.ascontiguousarray(T[:, 0] if T.shape[1] else np.empty(0), dtype=np.float64)
        bad = nk.first_bad_label(y, self.nClasses)
        if bad >= 0:
            raise ValueError(f"labels[{bad}] = {y[bad]} is not a class index: labels must be "
                             f"integers from 0 to nClasses - 1 = {self.nClasses - 1}")
        return y.astype(np.int64)

    def _target_shape(self, T):
        return {}

    def _empty_targets(self, shape):
        return np.empty(0, dtype=np.int64)

    def _model(self, common, y):
        return bf_knn_classification_model(NumberOfClasses=self.nClasses,
                                           labels=y if self._labels_given else None, **common)


class bf_knn_regression_training(_Training):
    """Train a brute-force k-nearest-neighbours regressor (d4p's own; daal4py has
    none): keep the rows and their responses.

    Parameters as :class:`bf_knn_classification_training`, without ``nClasses``
    and ``resultsToEvaluate``.
    """

    _name = "bf_knn_regression_training"
    _agreed = ("method",)
    _model_class = bf_knn_regression_model
    _result_class = bf_knn_regression_training_result
    _target_name = "responses"

    def compute(self, data, responses, setup=False):
        """Keep ``data`` and ``responses`` (this rank's rows when distributed).

        Parameters
        ----------
        data : array-like (n, p), DataFrame, sparse matrix or CSV file name
        responses : array-like (n, r) or (n,)
            Finite numbers; prediction averages them over the neighbours.
        setup : ignored

        Returns
        -------
        bf_knn_regression_training_result
        """
        return self._compute((data, responses))

    def _targets(self, T):
        return np.ascontiguousarray(T, dtype=np.float64)

    def _target_shape(self, T):
        return {"responses": columns_of(T)}

    def _empty_targets(self, shape):
        return np.empty((0, shape.get("responses") or 1))

    def _model(self, common, T):
        return bf_knn_regression_model(NumberOfResponses=int(T.shape[1]), responses=T, **common)


# ---- prediction --------------------------------------------------------------------------


class _Prediction(_KnnParameters, Algorithm):
    """Queries go to every rank's rows; k candidates per query come back."""

    _needs_rows = False
    _merge = None
    _model_class = None

    def _init_common(self, fptype, method, k, dataUseInModel, resultsToCompute, voteWeights,
                     engine, distributed, metric="euclidean", p=2):
        super()._init_common(fptype, method, k, dataUseInModel, resultsToCompute, voteWeights,
                             engine, distributed, metric, p)
        self._want = parse_flags(self._name, "resultsToCompute", resultsToCompute,
                                 RESULTS_TO_COMPUTE, [])
        self._model_in_use = None

    def _agreed_values(self):
        values = {name: getattr(self, name) for name in self._agreed}
        values["resultsToCompute"] = sorted(self._want)
        values["model"] = self._model_in_use
        return values

    def _predict(self, data, model):
        self._model_in_use = model
        try:
            return self._compute((data, model))
        finally:
            self._model_in_use = None

    def _check_model(self, model):
        cls = self._model_class
        if isinstance(model, Result) and "model" in type(model)._fields:
            raise TypeError(f"{self._name}: pass the model (training_result.model), not the "
                            "training result")
        if not isinstance(model, cls):
            raise TypeError(f"{self._name}: model must be a {cls.__name__}, got "
                            f"{type(model).__name__}")

    def _local(self, inputs):
        data, model = inputs
        self._check_model(model)  # inside the agreement: a wrong model raises on every rank
        comm = communicator(self.distributed)
        if model.NumberOfRanks != comm.size:
            how = ("with distributed=True" if model.NumberOfRanks > 1 else
                   "with distributed=False (a batch model) or train it with distributed=True")
            raise ValueError(f"the model was trained on {model.NumberOfRanks} rank(s) but this "
                             f"prediction runs on {comm.size}; predict {how}")
        if model.Rank != comm.rank:
            raise ValueError(f"this rank ({comm.rank}) holds rank {model.Rank}'s part of the "
                             "model")
        self._check_against(model)
        if self.k > model.NumberOfRows:
            raise ValueError(f"k = {self.k} is larger than the number of training rows "
                             f"({model.NumberOfRows})")
        p = model.NFeatures
        Q = check_table(data, "data", sparse="densify", columns=p)
        return Part(np.ascontiguousarray(Q, dtype=np.float64), {"data": p}, Q.shape[0])

    def _identity(self, shape):
        return np.empty((0, shape["data"]))

    def _check_against(self, model):
        """Checks of the prediction's parameters against the model (on every rank)."""

    def _finish(self, Q, run):
        model = self._model_in_use
        reduced, idx, T = neighbours(Q, model.data, model.RowOffset, self._targets_of(model),
                                     self.k, run, _prepared(model, self._metric), self._metric)
        dist = distances(reduced, self._metric)
        out = {"indices": idx.astype(np.int32) if "computeIndicesOfNeighbors" in self._want
               else None,
               "distances": as_fptype(dist, self._dtype) if "computeDistances" in self._want
               else None}
        out.update(self._evaluate(dist, T, model))
        return self._result_class(**out)

    def _weights(self, dist):
        """scikit-learn's rule: 1/d; a query at distance 0 of some neighbours gives
        those weight 1 and the others 0."""
        if self.voteWeights == "voteUniform":
            return np.ones_like(dist)
        with np.errstate(divide="ignore"):
            w = 1.0 / dist
        inf = np.isinf(w)
        rows = inf.any(axis=1)
        w[rows] = inf[rows]
        return w


class bf_knn_classification_prediction(_Prediction):
    """Classify rows by a vote of their k nearest training rows.

    Parameters
    ----------
    fptype : {'double', 'float'}, default 'double'
        dtype of ``distances`` (computed in float64 either way).
    method : {'defaultDense'}
    k : int, default -1 (1)
        Number of neighbours; at most the number of training rows (all ranks).
    dataUseInModel : str
        Accepted (a training parameter).
    resultsToCompute : str, default ''
        'computeIndicesOfNeighbors' (``indices``) and/or 'computeDistances'
        (``distances``), joined with '|'.
    voteWeights : {'voteUniform', 'voteDistance'}, default '' ('voteUniform')
        'voteDistance' weighs a neighbour by 1/distance (scikit-learn's
        ``weights='distance'``, including its rule for zero distances).
    engine : optional
        Accepted and unused.
    nClasses : int, default -1 (2)
        Number of classes.
    resultsToEvaluate : str, default '' ('computeClassLabels')
        'computeClassLabels' (``prediction``), 'computeClassProbabilities'
        (``probabilities``, d4p's addition) or 'none', joined with '|'.
    distributed : bool, default False
        Each rank passes its own queries and its part of a model trained with
        ``distributed=True``; each rank gets its queries' neighbours among all
        ranks' training rows.
    metric : str, default 'euclidean'
        d4p's extension (daal4py's brute force is Euclidean only), scikit-learn's
        names and definitions: 'euclidean' ('l2'), 'manhattan' ('l1',
        'cityblock'), 'chebyshev' ('infinity'), 'minkowski' (with ``p``) or
        'cosine' (1 - x·y / (‖x‖ ‖y‖); a zero row is at distance 1 of every row).
        Other metrics raise NotImplementedError.  The attribute holds the
        canonical name ('minkowski' with p 1, 2 or inf becomes 'manhattan',
        'euclidean' or 'chebyshev').  Ranks must agree on it.
    p : float, default 2
        Minkowski's power (any p > 0; read for 'minkowski' only).

    Notes
    -----
    Neighbours are ordered by distance, ties by the lower global training-row
    number; the vote goes to the class with the largest (weighted) count, ties
    to the smallest label.
    """

    _name = "bf_knn_classification_prediction"
    _agreed = ("nClasses", "k", "voteWeights", "resultsToEvaluate", "method", "metric", "p")
    _model_class = bf_knn_classification_model
    _result_class = bf_knn_classification_prediction_result

    def __init__(self, fptype="double", method="defaultDense", k=-1, dataUseInModel="",
                 resultsToCompute="", voteWeights="", engine=None, nClasses=-1,
                 resultsToEvaluate="", distributed=False, metric="euclidean", p=2):
        self._init_common(fptype, method, k, dataUseInModel, resultsToCompute, voteWeights,
                          engine, distributed, metric, p)
        self.nClasses = _count(self._name, "nClasses", nClasses, 2)
        flags = parse_flags(self._name, "resultsToEvaluate", resultsToEvaluate,
                            RESULTS_TO_EVALUATE, ["computeClassLabels"])
        if "none" in flags and len(flags) > 1:
            raise ValueError(f"{self._name}: resultsToEvaluate 'none' cannot be combined with "
                             f"{sorted(flags - {'none'})}")
        self._evaluate_flags = flags - {"none"}
        self.resultsToEvaluate = resultsToEvaluate

    def _agreed_values(self):
        values = super()._agreed_values()
        values["resultsToEvaluate"] = sorted(self._evaluate_flags)
        return values

    def compute(self, data, model, setup=False):
        """Neighbours and predicted classes of the rows of ``data``.

        Parameters
        ----------
        data : array-like (n, p), DataFrame, sparse matrix or CSV file name
            The queries (this rank's when distributed; may be empty).
        model : bf_knn_classification_model
            ``bf_knn_classification_training(...).compute(...).model``.
        setup : ignored

        Returns
        -------
        bf_knn_classification_prediction_result
        """
        return self._predict(data, model)

    def _targets_of(self, model):
        if model.labels is None:
            return np.zeros((model.data.shape[0], 1))
        return model.labels.reshape(-1, 1).astype(np.float64)

    def _check_against(self, model):
        if model.labels is None and self._evaluate_flags:
            raise ValueError("the model was trained without labels; predict with "
                             "resultsToEvaluate='none' (neighbours only)")

    def _evaluate(self, dist, T, model):
        out = {"prediction": None, "probabilities": None}
        if not self._evaluate_flags:
            return out
        n, k = dist.shape
        classes = max(self.nClasses, model.NumberOfClasses)
        labels = T[:, :, 0].astype(np.int64)
        w = self._weights(dist)
        rows = np.repeat(np.arange(n, dtype=np.int64), k)
        scores = np.bincount(rows * classes + labels.ravel(), weights=w.ravel(),
                             minlength=n * classes).reshape(n, classes)
        if "computeClassLabels" in self._evaluate_flags:
            out["prediction"] = np.argmax(scores, axis=1).astype(np.float64).reshape(-1, 1)
        if "computeClassProbabilities" in self._evaluate_flags:
            total = scores.sum(axis=1, keepdims=True)
            out["probabilities"] = as_fptype(scores / total if n else scores, self._dtype)
        return out


class bf_knn_regression_prediction(_Prediction):
    """Predict responses as the (weighted) mean of the k nearest training rows'
    responses (d4p's own; scikit-learn's ``KNeighborsRegressor(algorithm='brute')``).

    Parameters as :class:`bf_knn_classification_prediction`, without ``nClasses``
    and ``resultsToEvaluate``; ``prediction`` is always computed.
    """

    _name = "bf_knn_regression_prediction"
    _agreed = ("k", "voteWeights", "method", "metric", "p")
    _model_class = bf_knn_regression_model
    _result_class = bf_knn_regression_prediction_result

    def compute(self, data, model, setup=False):
        """Neighbours and predicted responses of the rows of ``data``.

        Parameters
        ----------
        data : array-like (n, p), DataFrame, sparse matrix or CSV file name
        model : bf_knn_regression_model
        setup : ignored

        Returns
        -------
        bf_knn_regression_prediction_result
        """
        return self._predict(data, model)

    def _targets_of(self, model):
        return model.responses

    def _evaluate(self, dist, T, model):
        w = self._weights(dist)
        pred = np.einsum("nk,nkr->nr", w, T) / w.sum(axis=1, keepdims=True)
        return {"prediction": pred}
