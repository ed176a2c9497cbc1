"""What every algorithm class shares: parameter checks, the communicator for a
``compute``, and the collective agreement step.

The pattern each algorithm's ``compute`` follows, top to bottom::

    comm = communicator(self.distributed)
    with Agreement(comm, "covariance.compute") as step:    # local work; a failure
        X = as_table(data)                                   # on any rank becomes
        partial = CoMoments.from_data(X)                     # the same error on
        step.info = columns_of(X)                            # every rank
    p = same_columns(step.infos, ...)                       # agreed, so no one waits
    total = comm.tree_reduce(partial, merge)                 # small statistics only
    return finalize(total)
"""
import numpy as np

from ._engine import current_comm
from .comm.base import build_rank_error
from .comm.serial import SerialCommunicator

FPTYPES = {"double": np.float64, "float": np.float32}


def communicator(distributed):
    """The communicator in force for a distributed computation; one rank otherwise."""
    return current_comm() if distributed else SerialCommunicator()


def check_fptype(fptype):
    """The numpy dtype for daal4py's ``fptype`` name."""
    try:
        return FPTYPES[fptype]
    except (KeyError, TypeError):
        raise ValueError(f"fptype must be 'double' or 'float', got {fptype!r}") from None


def check_method(algo, method, allowed, rejected=None):
    """Return ``method`` if it is one of ``allowed``; else raise a clear ValueError.

    ``rejected`` maps daal4py method names d4p deliberately refuses to the reason.
    """
    if rejected and method in rejected:
        raise ValueError(f"{algo}: method {method!r} is not supported: {rejected[method]}")
    if method not in allowed:
        raise ValueError(f"{algo}: unknown method {method!r}; expected one of {sorted(allowed)}")
    return method


def parse_flags(algo, param, value, allowed, default):
    """Split daal4py's ``'a|b'`` string parameters into a set of names."""
    if value in ("", None):
        return set(default)
    names = {v.strip() for v in str(value).split("|") if v.strip()}
    unknown = names - set(allowed)
    if unknown:
        raise ValueError(f"{algo}: unexpected value(s) {sorted(unknown)} for {param}; "
                         f"expected names from {sorted(allowed)} joined with '|'")
    return names


def check_bool(algo, param, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{algo}: {param} must be True or False, got {value!r}")
    return bool(value)


class Agreement:
    """Context manager: run local work, then agree collectively on its outcome.

    Any exception inside the block is caught and, after all ranks have reported,
    every rank raises the same :class:`d4p.RankError` naming the failing ranks.
    Set ``step.info`` inside the block to share a small record with all ranks;
    after the block ``step.infos`` lists every rank's record in rank order.
    """

    def __init__(self, comm, where):
        self.comm = comm
        self.where = where
        self.info = None
        self.infos = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and not isinstance(exc, Exception):
            return False  # KeyboardInterrupt and friends are not ours to agree on
        self.infos = self.comm.agree(exc, self.where, self.info if exc is None else None)
        return False


def columns_of(X):
    """A rank's column count for agreement; ``None`` for an empty table of no shape
    (e.g. an empty list), which adopts the other ranks' count."""
    n, p = X.shape
    return None if n == 0 and p == 0 else p


def same_columns(infos, where, size, what="data"):
    """The column count every rank agreed on; raise identically on all ranks if not."""
    known = [(r, p) for r, p in enumerate(infos) if p is not None]
    if not known:
        raise_on_all({0: ("ValueError", "ValueError", f"{what} is empty on every rank")}, where, size)
    ref_rank, ref = known[0]
    counts = {}
    for r, p in known:
        counts[p] = counts.get(p, 0) + 1
    majority = max(counts, key=lambda p: (counts[p], p == ref))
    bad = {r: ("ValueError", "ValueError",
               f"{what} has {p} columns but the other ranks have {majority}")
           for r, p in known if p != majority}
    if bad:
        raise_on_all(bad, where, size)
    return majority


def raise_on_all(failures, where, size):
    """Raise the same RankError on every rank (all ranks must call this with the same
    ``failures``, i.e. after an agreement)."""
    err = build_rank_error(failures, where, size)
    if size == 1:
        # A single process: the plain exception type, without the rank framing.
        base = err.mirrors or RuntimeError
        raise base(failures[min(failures)][2])
    raise err


def as_fptype(array, dtype):
    """A result array in the fptype's dtype (always a new, owned array)."""
    return np.array(array, dtype=dtype, copy=True)
