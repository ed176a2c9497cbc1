"""The one protocol every algorithm class follows, in batch, distributed and streaming mode.

An algorithm states five things and inherits everything else:

``_local(inputs) -> Part``
    Validate this rank's inputs and reduce them to a statistic.  ``Part.shape``
    holds the dimensions the ranks must agree on (e.g. ``{"data": p}``, a column
    count; ``None`` for a table of no shape, which adopts the other ranks').
``_identity(shape)``
    The statistic of no rows, for ranks (or streams) that had none.
``_merge(a, b)``
    Associative merge of two statistics (a static method), or ``None`` when the
    statistic stays on its rank and ``_finish`` runs the collective rounds itself
    (k-means, DBSCAN, ...).  Such algorithms cannot stream.
``_finish(total, run)``
    Turn the merged statistic into the result; ``run`` (a :class:`Run`) holds the
    communicator and what the ranks agreed on.
``_agreed``
    The names of the parameters that affect the result.  Before any statistic is
    exchanged, the ranks agree on one small record: the algorithm and step, a
    token (the value, or a digest for arrays) of each agreed parameter, and
    ``Part.shape``.  A difference raises the same :class:`d4p.RankError` (also a
    ``ValueError``) on every rank, naming the parameter and the ranks.

The data path of one distributed ``compute``::

    Algorithm._compute(inputs)
      with Agreement(comm, where):   # any exception on any rank -> RankError on all
          part = self._local(inputs)     # validation + Numba kernel, no communication
      run = agree_on(record of every rank)  # one allgather of small records
      total = comm.tree_reduce(part.stat, self._merge)   # O(log P) messages per rank
      return self._finish(total, run)

In streaming mode ``compute`` folds each chunk into a running statistic with
``_merge`` and communicates nothing; ``finalize`` does the agreement and the
reduction over every rank's running statistic.
"""
import hashlib
import os
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._engine import current_comm
from .comm.base import build_rank_error, group_by_value, name_ranks
from .comm.serial import SerialCommunicator
from ._errors import rank_error_class


@dataclass
class Part:
    """One rank's contribution: its statistic, the shape it agrees on, its row count."""

    stat: object
    shape: dict = field(default_factory=dict)
    rows: int = 0


class Run:
    """What every rank knows once the ranks have agreed: the same on every rank
    except ``rank`` and ``part``, so a decision made from it needs no communication."""

    def __init__(self, comm, where, shape, rows, part):
        self.comm = comm
        self.where = where
        self.shape = shape          # the agreed dimensions
        self.rows = rows            # every rank's row count, in rank order
        self.part = part            # this rank's Part (its statistic before merging)

    @property
    def rank(self):
        return self.comm.rank

    @property
    def size(self):
        return self.comm.size

    @property
    def total_rows(self):
        return sum(self.rows)

    @property
    def row_offset(self):
        """Global index of this rank's first row (ranks' rows concatenated in order)."""
        return sum(self.rows[: self.comm.rank])

    def fail(self, message, exc_type=ValueError):
        """Raise the same error on every rank (callers decide from agreed facts)."""
        raise_on_all({0: (exc_type.__name__, exc_type.__name__, message)}, self.where,
                     self.comm.size)


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


def communicator(distributed):
    """The communicator in force for a distributed computation; one rank otherwise."""
    return current_comm() if distributed else SerialCommunicator()


def raise_on_all(failures, where, size):
    """Raise the same RankError on every rank (all ranks must call this with the same
    ``failures = {rank: (mirrored type, type, message)}``, i.e. after an agreement)."""
    err = build_rank_error(failures, where, size)
    if size == 1:
        # A single process: the plain exception type, without the rank framing.
        base = err.mirrors or RuntimeError
        raise base(failures[min(failures)][2])
    raise err


def warn(message, category=RuntimeWarning):
    """Warn at the user's line: the first caller outside the d4p package."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(0), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


# ---- the agreed record -----------------------------------------------------------------


def token(value):
    """A short, comparable description of a parameter value: its repr for scalars and
    strings, a digest for arrays (so that equal arrays are compared, not sent)."""
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        value = float(value) if isinstance(value, (float, np.floating)) else int(value)
        if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
            value = int(value)  # 1 and 1.0 are the same parameter value
        return repr(value)
    if value is None or isinstance(value, str):
        return repr(value)
    if isinstance(value, (tuple, list, set, frozenset)) and all(isinstance(v, str) for v in value):
        return repr(sorted(value) if isinstance(value, (set, frozenset)) else list(value))
    agreement_token = getattr(value, "agreement_token", None)
    if callable(agreement_token):
        return agreement_token()
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - not array-like: its repr
        return repr(value)[:80]
    if arr.dtype.kind in "biuf":
        arr = np.ascontiguousarray(arr, dtype=np.float64)
    elif arr.dtype.kind not in "US":
        return repr(value)[:80]
    digest = hashlib.blake2b(repr(arr.shape).encode() + arr.tobytes(), digest_size=8)
    return f"an array of shape {arr.shape} (digest {digest.hexdigest()})"


def _parameter_failures(records):
    """Failures for ranks whose parameters differ from the majority's, and the step
    (what every rank's error names)."""
    # (ranks in different steps were stopped by Communicator.agree already)
    step = records[0][0]
    failures = {}
    for name in records[0][1]:
        groups, majority = group_by_value([(r, rec[1][name]) for r, rec in enumerate(records)])
        if len(groups) == 1:
            continue
        text = " and ".join(f"{v} on {name_ranks(rs)}" for v, rs in
                            sorted(groups.items(), key=lambda g: g[1][0]))
        for v, rs in groups.items():
            if v != majority:
                for r in rs:
                    failures.setdefault(r, ("ValueError", "ValueError", f"{name} is {text}"))
    return failures, step


def _shape_failures(records):
    """The agreed shape and failures for ranks whose dimensions differ from it."""
    shape, failures = {}, {}
    keys = list(dict.fromkeys(key for rec in records for key in rec[2]))
    for key in keys:
        known = [(r, rec[2].get(key)) for r, rec in enumerate(records)
                 if rec[2].get(key) is not None]
        if not known:
            if key == "dtype":
                shape[key] = None
                continue
            failures.setdefault(0, ("ValueError", "ValueError", f"{key} is empty on every rank"))
            continue
        groups, majority = group_by_value(known)
        shape[key] = majority
        for v, rs in groups.items():
            if v == majority:
                continue
            if key == "dtype":
                msg = f"data has dtype {v} but the other ranks' data has dtype {majority}"
            elif isinstance(v, int):
                msg = f"{key} has {v} columns but the other ranks have {majority}"
            else:
                msg = f"{key} is {v} on this rank but {majority} on the other ranks"
            for r in rs:
                failures.setdefault(r, ("ValueError", "ValueError", msg))
    return shape, failures


def agree_on(comm, where, records, part):
    """Check every rank's ``(step, parameters, shape, rows)`` record; return the
    :class:`Run`, or raise the same error on every rank."""
    failures, where = _parameter_failures(records)
    if not failures:
        shape, failures = _shape_failures(records)
    if failures:
        err = build_rank_error(failures, where, comm.size)
        if comm.size == 1:
            raise ValueError(failures[min(failures)][2])
        raise rank_error_class(ValueError)(str(err), err.failures, where)
    return Run(comm, where, shape, [rec[3] for rec in records], part)


# ---- the algorithm base class ---------------------------------------------------------


class Algorithm:
    """Base of every d4p algorithm class; see the module docstring for the hooks.

    Subclasses set ``_name``, ``_agreed`` and the hooks, and give ``compute`` a
    documented signature that calls ``self._compute(inputs)`` (``inputs`` as the
    algorithm's ``_local`` takes them).
    """

    _name = ""
    _agreed = ()          # parameters whose values the ranks must share
    _merge = None         # staticmethod(merge) of a mergeable statistic
    distributed = False
    streaming = False

    # ---- the hooks ----

    def _local(self, inputs):
        raise NotImplementedError

    def _identity(self, shape):
        raise NotImplementedError

    def _finish(self, total, run):
        """Default: the (merged) statistic is the result, e.g. a prediction made
        whole by ``_local`` on this rank's rows."""
        return total

    def _agreed_values(self):
        """The agreed parameters' values; override where the validated form differs
        from the attribute (e.g. ``ridgeParameters`` as an array of λ)."""
        return {name: getattr(self, name) for name in self._agreed}

    def _chunk_mismatch(self, new, old):
        """Why a chunk of shape ``new`` does not fit a stream of shape ``old``."""
        def text(shape):
            return " and ".join(f"{v} columns" for v in shape.values() if not isinstance(v, str))
        return f"this chunk has {text(new)} but earlier chunks had {text(old)}"

    # ---- the flow (not to be overridden) ----

    def _compute(self, inputs):
        """``compute``'s body: a stream chunk, or the whole collective computation."""
        if self.streaming:
            self._stream_chunk(inputs)
            return None
        comm = communicator(self.distributed)
        where = f"{self._name}.compute"
        with Agreement(comm, where) as step:
            part = self._local(inputs)
            step.info = self._record(where, part.shape, part.rows)
        return self._reduce_and_finish(comm, where, step.infos, part)

    def finalize(self):
        """Merge the chunks given to ``compute`` (on every rank when distributed)
        and return the result.  Further chunks may follow; the next ``finalize``
        includes them too."""
        if not self.streaming:
            raise ValueError(f"{self._name}: finalize() needs streaming=True")
        comm = communicator(self.distributed)
        where = f"{self._name}.finalize"
        stream = self._stream
        with Agreement(comm, where) as step:
            step.info = self._record(where, stream.shape, stream.rows)
        return self._reduce_and_finish(comm, where, step.infos, stream)

    def _record(self, where, shape, rows):
        params = {name: token(v) for name, v in self._agreed_values().items()}
        return (where, params, dict(shape), int(rows))

    def _reduce_and_finish(self, comm, where, records, part):
        run = agree_on(comm, where, records, part)
        if run.total_rows == 0 and self._needs_rows:
            run.fail(f"{self._name}: no rows on any rank")
        stat = part.stat
        # A rank whose table had no shape ([]) adopted the agreed column counts: its
        # statistic is the identity of that shape.  (Other entries, e.g. a digest a
        # rank left out, do not make its statistic empty.)
        if stat is None or any(part.shape.get(k) is None for k, v in run.shape.items()
                               if isinstance(v, int)):
            stat = self._identity(run.shape)
        if self._merge is not None and comm.size > 1:
            stat = comm.tree_reduce(stat, self._merge)
        return self._finish(stat, run)

    #: Raise "no rows on any rank" before ``_finish``; algorithms without rows to
    #: reduce (e.g. a correlation matrix given as input) set it False.
    _needs_rows = True

    # ---- streaming ----

    @property
    def _stream(self):
        stream = self.__dict__.get("_stream_part")
        return stream if stream is not None else Part(None, self._empty_shape(), 0)

    def _empty_shape(self):
        """A stream's shape before its first chunk: every dimension unknown."""
        return {}

    def _stream_chunk(self, inputs):
        if type(self)._merge is None:
            raise ValueError(f"{self._name}: streaming=True is not supported")
        part = self._local(inputs)
        known = {k: v for k, v in part.shape.items() if v is not None}
        if part.stat is None or not known:
            return  # an empty chunk of no shape changes nothing
        old = self.__dict__.get("_stream_part")
        if old is None:
            self._stream_part = part
            return
        if old.shape != part.shape:
            raise ValueError(f"{self._name}: {self._chunk_mismatch(part.shape, old.shape)}")
        self._stream_part = Part(self._merge(old.stat, part.stat), old.shape,
                                 old.rows + part.rows)
