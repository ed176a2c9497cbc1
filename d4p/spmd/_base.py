"""What every d4p.spmd estimator shares: the communicator, collective validation
of each rank's input, agreement on parameters, and scores over all ranks.

The pattern of a ``fit``::

    with Collective(self, "KMeans.fit") as step:      # local work; a failure on any
        X = validate_data(self, X, reset=True, ...)   # rank becomes the same error
        step.record(X)                                 # on every rank
    n_total = step.agreed_rows()                      # features, dtype, names, params
    ... d4p.<algorithm>(distributed=True).compute(X)  # the daal4py-face class

No estimator stores its communicator: the engine's one is looked up at each call
(a simulated rank's, ``d4p.daalinit(comm=...)``'s, or MPI's world), so estimators
clone and pickle as scikit-learn's do.
"""
import functools

import numpy as np

from .. import _engine
from .._protocol import agree_on, token
from ..comm.base import build_rank_error


#: ``validate_data`` keyword for inputs that go straight to a d4p algorithm class:
#: those classes find non-finite values themselves (from the sums they compute
#: anyway, then naming the row and column), so scikit-learn's separate pass over
#: the data is skipped.
FINITE_IN_D4P = {"ensure_all_finite": False}


def sklearn_message(reword):
    """Decorator factory: a ValueError from the d4p layer in scikit-learn's words.
    ``reword(text)`` gives the new message, or None to keep the error; the type
    (a RankError stays the same RankError on every rank) and the row and column
    the error names are kept."""
    import functools

    from .._errors import RankError

    def decorator(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except ValueError as exc:
                message = reword(str(exc))
                if message is None:
                    raise
                if isinstance(exc, RankError):
                    raise type(exc)(message, exc.failures, exc.where) from exc
                raise ValueError(message) from exc

        return wrapper

    return decorator


def _nan_words(text):
    if text.startswith("Input X contains NaN") or not any(
            f" contains {v}" in text for v in ("nan", "inf", "-inf")):
        return None
    return f"Input X contains NaN or infinity: {text}"


#: The d4p layer's non-finite-input error as scikit-learn words it ("Input X
#: contains NaN or infinity"), naming the row and column.
sklearn_nan_message = sklearn_message(_nan_words)


def current_comm():
    """The communicator in force on this rank (one rank in a plain process)."""
    return _engine.current_comm()


def raise_everywhere(comm, failures, where):
    """Raise the same error on every rank for ``{rank: (type name, message)}``
    (all ranks call this with the same ``failures``, i.e. after an agreement)."""
    described = {r: (t, t, m) for r, (t, m) in failures.items()}
    if comm.size == 1:
        t, message = failures[min(failures)]
        raise {"ValueError": ValueError, "TypeError": TypeError,
               "NotImplementedError": NotImplementedError}.get(t, ValueError)(message)
    raise build_rank_error(described, where, comm.size)


def parameter_tokens(est, exclude=()):
    """``{name: token}`` of the estimator's constructor parameters (the protocol's
    ``token``: the value, or a digest for arrays).

    Ranks compare them so that a parameter that differs between ranks is an error
    on every rank naming the parameter and the ranks, never a silent mix.
    ``exclude`` names parameters the ranks may legitimately differ in (``copy``,
    ``n_jobs``, ``verbose``).
    """
    params = est.get_params(deep=False)
    tokens = {}
    for name in sorted(params):
        if name in exclude:
            continue
        value = params[name]
        if isinstance(value, np.random.RandomState):
            state = value.get_state()
            value = np.concatenate([[state[2]], state[1][:8]])
        elif callable(value) and not isinstance(value, type):
            value = getattr(value, "__qualname__", repr(value))
        tokens[name] = token(value)
    return tokens


class Collective:
    """Context manager: local validation on every rank, then one agreement.

    An exception inside the block becomes, after all ranks have reported, the
    same error on every rank (the plain exception in a one-rank run, so
    scikit-learn's checks see ``ValueError`` / ``TypeError`` as usual).  Call
    :meth:`record` with the validated ``X`` inside the block; afterwards
    :meth:`agreed_rows` checks (with the protocol's ``agree_on``) that every rank
    had the same estimator, parameters, feature names, number of features and
    dtype, and returns the total row count.
    """

    def __init__(self, est, where, exclude=("copy", "copy_X", "copy_x", "n_jobs", "verbose")):
        self.est = est
        self.where = where
        self.exclude = exclude
        self.comm = current_comm()
        self.info = None
        self.infos = None
        self.run = None

    def __enter__(self):
        return self

    def record(self, X, extra=None, rows=None, sample_weight=None):
        """This rank's part of the agreement: ``X`` (validated), what else must
        agree (``extra``), and ``sample_weight`` when given (only its total is
        shared, for :meth:`check_some_weight`)."""
        names = self.est.__dict__.get("feature_names_in_")
        params = parameter_tokens(self.est, self.exclude)
        params["feature names"] = token(None if names is None else list(map(str, names)))
        p = int(X.shape[1]) if X.ndim > 1 else 1
        n = int(X.shape[0]) if rows is None else int(rows)
        self.info = {
            "record": (f"{type(self.est).__name__} ({self.where})", params,
                       {"data": p, "dtype": np.dtype(X.dtype).name}, n),
            "n": n, "p": p, "extra": extra,
            "names": None if names is None else list(map(str, names)),
            "weight": None if sample_weight is None else float(np.abs(sample_weight).sum()),
        }

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and not isinstance(exc, Exception):
            return False
        if exc is not None and self.comm.size == 1:
            return False  # one rank: the local exception itself
        self.infos = self.comm.agree(exc, self.where, self.info if exc is None else None)
        return False

    def agreed_rows(self, min_rows=1):
        """Check what the ranks recorded; return the total number of rows."""
        self.run = agree_on(self.comm, self.where, [i["record"] for i in self.infos], None)
        total = self.run.total_rows
        if total < min_rows:
            p = self.infos[0]["p"]
            raise_everywhere(self.comm, {0: ("ValueError",
                                             f"Found array with {total} sample(s) (shape=(0, "
                                             f"{p})) while a minimum of {min_rows} is required "
                                             f"by {type(self.est).__name__} (on all ranks "
                                             "together).")}, self.where)
        return total

    def check_some_weight(self):
        """scikit-learn's "at least one non-zero weight", judged over every rank's
        rows (a rank without ``sample_weight`` has weight 1 per row); every rank
        decides the same from the shared records."""
        weights = [i.get("weight") for i in self.infos]
        if all(w is None for w in weights):
            return
        if sum(i["n"] if w is None else w for i, w in zip(self.infos, weights)) == 0:
            raise_everywhere(self.comm, {0: ("ValueError", "Sample weights must contain at "
                                             "least one non-zero number.")}, self.where)

    def offsets(self):
        """This rank's first global row index (rows numbered in rank order)."""
        return sum(info["n"] for info in self.infos[: self.comm.rank])


def rows_of(X):
    """The number of rows of an array-like (None when it has no such notion)."""
    from sklearn.utils.validation import _num_samples

    try:
        return _num_samples(X)
    except TypeError:
        return None


class AllOrNone:
    """Context manager for local work before a collective step: a failure on any
    rank becomes the same error on every rank (no rank is left waiting)."""

    def __init__(self, where):
        self.where = where
        self.comm = current_comm()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and not isinstance(exc, Exception):
            return False
        if exc is not None and self.comm.size == 1:
            return False
        self.comm.agree(exc, self.where)
        return False


def local_rows_of(method, X):
    """``method(X)`` on this rank's rows; an empty array for a rank without rows
    (scikit-learn's methods reject zero rows)."""
    if rows_of(X) == 0:
        return np.zeros(0)
    return method(X)


def collective_check(where, condition_message):
    """Agree on a condition every rank evaluated locally: ``condition_message`` is
    None when this rank is fine, else the message it would raise; raise on every
    rank when any rank has one."""
    comm = current_comm()
    if comm.size == 1:
        if condition_message is not None:
            raise ValueError(condition_message)
        return
    msgs = comm.allgather(condition_message)
    failures = {r: ("ValueError", m) for r, m in enumerate(msgs) if m is not None}
    if failures:
        raise_everywhere(comm, failures, where)


def agreed_seed(random_state):
    """One integer seed for the ranks: drawn from ``random_state`` on rank 0 and
    broadcast, so that ``random_state=None`` (fresh entropy on each rank) still
    gives every rank the same draws."""
    from sklearn.utils import check_random_state

    comm = current_comm()
    seed = None
    if comm.rank == 0:
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    return comm.bcast(seed, root=0) if comm.size > 1 else seed


def global_sum(array):
    """Element-wise sum of a float64 array over all ranks."""
    comm = current_comm()
    array = np.asarray(array, dtype=np.float64)
    return comm.allreduce(array, "sum") if comm.size > 1 else array.copy()


def global_r2(y_true, y_pred, sample_weight=None, multioutput="uniform_average"):
    """scikit-learn's ``r2_score`` over every rank's rows (the same on every rank).

    Two small all-reduces: the weighted sums that give the global mean of y,
    then the residual and total sums of squares about it.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    w = np.ones(y_true.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    k = y_true.shape[1]
    first = global_sum(np.concatenate([[w.sum(), y_true.shape[0]], w @ y_true]))
    n_total = first[1]
    if n_total < 2:
        raise_everywhere(current_comm(), {0: ("ValueError", "R^2 score is not well-defined "
                                                           "with less than two samples.")},
                         "score")
    mean = first[2:] / first[0]
    second = global_sum(np.concatenate([w @ (y_true - y_pred) ** 2, w @ (y_true - mean) ** 2]))
    num, den = second[:k], second[k:]
    scores = np.ones(k)
    nonzero_den = den != 0
    valid = nonzero_den & (num != 0)
    scores[valid] = 1 - num[valid] / den[valid]
    scores[(num != 0) & ~nonzero_den] = 0.0
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return scores
        if multioutput == "variance_weighted":
            if den.sum() == 0:
                return float(np.mean(scores))
            return float(np.average(scores, weights=den))
        return float(np.mean(scores))
    return float(np.average(scores, weights=multioutput))


def global_accuracy(y_true, y_pred, sample_weight=None):
    """Fraction (weighted) of correct predictions over every rank's rows."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim > 1 and y_true.shape[1:] != (1,):
        correct = np.all(y_true == y_pred, axis=1)
    else:
        correct = y_true.reshape(-1) == y_pred.reshape(-1)
    w = np.ones(correct.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    s = global_sum([w @ correct, w.sum()])
    return float(s[0] / s[1]) if s[1] > 0 else 0.0


#: Integer labels within a span of at most this many values (or of their count) are
#: told apart by counting: one bincount instead of numpy's sort or hash (~10x faster).
_COUNTING_SPAN = 1 << 16


def _counting_span(lo, hi, n):
    return hi - lo < max(_COUNTING_SPAN, n) and hi <= np.iinfo(np.intp).max


def _offsets(y, lo):
    """``y - lo`` as intp (no copy for intp labels from 0)."""
    shifted = y.astype(np.intp, copy=False)
    return shifted - lo if lo else shifted


def distinct_labels(labels):
    """``np.unique(labels)`` of a 1-D array; integers within a span of 64 in one pass."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu" or y.size == 0:
        return np.unique(y)
    from ..kernels.labels import label_mask

    first = int(y[0])
    base = 0 if 0 <= first < 64 else first - 32
    if np.iinfo(np.int64).min <= base and first <= np.iinfo(np.int64).max:
        mask, complete = label_mask(y, np.int64(base))
        if complete:
            return np.array([base + v for v in range(64) if int(mask) >> v & 1], dtype=y.dtype)
    lo, hi = int(y.min()), int(y.max())
    if not _counting_span(lo, hi, y.size):
        return np.unique(y)
    present = np.bincount(_offsets(y, lo)) > 0
    return (np.flatnonzero(present) + lo).astype(y.dtype)


def class_indices(classes, labels):
    """The index in the sorted ``classes`` of each of ``labels`` (all in ``classes``):
    the labels themselves when the classes are ``0 .. K-1``, a table look-up for
    other integers of a small span, a binary search otherwise."""
    y = np.asarray(labels)
    if y.ndim == 1 and y.dtype.kind in "iu" and classes.dtype.kind in "iu" and classes.size:
        lo, hi = int(classes[0]), int(classes[-1])
        if lo == 0 and hi == classes.size - 1:
            return y
        if _counting_span(lo, hi, y.size):
            table = np.zeros(hi - lo + 1, dtype=np.intp)
            table[_offsets(classes, lo)] = np.arange(classes.size)
            return table[_offsets(y, lo)]
    return np.searchsorted(classes, y)


def check_class_labels(y):
    """scikit-learn's ``check_classification_targets``; 1-D integer or boolean labels
    are always class labels, so they skip its pass over the data."""
    if np.ndim(y) == 1 and np.asarray(y).dtype.kind in "iub":
        return
    from sklearn.utils.multiclass import check_classification_targets

    check_classification_targets(y)


def global_classes(labels, where):
    """The sorted union of every rank's labels (scikit-learn's ``classes_``)."""
    comm = current_comm()
    local = distinct_labels(labels)
    if comm.size == 1:
        return local
    parts = comm.allgather(local)
    kinds = {p.dtype.kind for p in parts if p.size}
    if len(kinds) > 1:
        raise_everywhere(comm, {0: ("ValueError", f"labels have different kinds on different "
                                                  f"ranks ({sorted(kinds)})")}, where)
    nonempty = [p for p in parts if p.size] or [local]
    return np.unique(np.concatenate(nonempty))


def validate_xy(est, X, y, reset=True, multi_output=False, y_numeric=False, **kwargs):
    """scikit-learn's ``validate_data(est, X, y)``, also for a rank with no rows
    (scikit-learn's own check demands at least one sample in ``y``)."""
    from sklearn.utils.validation import validate_data

    n = rows_of(X)
    if n != 0:
        return validate_data(est, X, y, reset=reset, multi_output=multi_output,
                             y_numeric=y_numeric, ensure_min_samples=0, **kwargs)
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is "
                         "None.")
    X = validate_data(est, X, reset=reset, ensure_min_samples=0, **kwargs)
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if y.shape[0] != 0:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[0, {y.shape[0]}]")
    if y.ndim == 2 and y.shape[1] == 1 and not multi_output:
        y = y.reshape(0)
    if y_numeric and y.dtype.kind in "OUSb":
        y = y.astype(np.float64)
    return X, y


@functools.lru_cache(maxsize=None)
def _checks_all_zero_weights():
    """Whether scikit-learn's weight check rejects all-zero weights (and takes
    ``allow_all_zero_weights``): scikit-learn 1.6 and later.  Asked once."""
    import inspect

    from sklearn.utils.validation import _check_sample_weight

    return "allow_all_zero_weights" in inspect.signature(_check_sample_weight).parameters


def check_weights(sample_weight, X, dtype=np.float64, **kwargs):
    """scikit-learn's sample-weight check, also for a rank with no rows (where
    scikit-learn's own check demands at least one).

    One rank's (or one chunk's) weights may all be zero: its rows then count for
    nothing, but the other ranks' weights decide whether any row counts, so
    scikit-learn's "at least one non-zero weight" cannot be judged here.
    """
    from sklearn.utils.validation import _check_sample_weight

    if _checks_all_zero_weights():
        kwargs.setdefault("allow_all_zero_weights", True)
    if X.shape[0] == 0 and sample_weight is not None and not np.isscalar(sample_weight):
        w = np.asarray(sample_weight, dtype=dtype).reshape(-1)
        if w.size:
            raise ValueError(f"sample_weight.shape == {w.shape}, expected (0,)!")
        return w
    return _check_sample_weight(sample_weight, X, dtype=dtype, **kwargs)


def constant_weight(sample_weight, X):
    """For row weights the algorithm layer cannot take: None without weights,
    "empty" for a rank with no rows, the common value when this rank's weights
    are all equal, NaN otherwise (record it, then call :func:`agreed_weight`)."""
    if sample_weight is None:
        return None
    w = check_weights(sample_weight, X)
    if w.size == 0:
        return "empty"
    return float(w[0]) if np.all(w == w[0]) else float("nan")


def agreed_weight(step, where, what):
    """The one weight every rank's rows share (1.0 without weights); raise
    NotImplementedError on every rank when the weights are not uniform: equal
    weights scale the objective, unequal ones need row weights ``what`` lacks."""
    values = {1.0 if i["extra"] is None else i["extra"] for i in step.infos
              if i["extra"] != "empty"}
    if not values:
        return 1.0
    if len(values) > 1 or any(v != v for v in values) or next(iter(values)) <= 0:
        raise_everywhere(step.comm, {0: ("NotImplementedError",
                                         f"{where}: non-uniform sample_weight is not supported "
                                         f"({what} has no row weights); pass "
                                         "sample_weight=None or equal positive weights")},
                         where)
    return next(iter(values))
