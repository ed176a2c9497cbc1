"""The :class:`Communicator` abstraction every d4p algorithm talks to.

A backend implements a handful of primitives (``barrier``, ``bcast``,
``allreduce``, ``allgather``, ``gather``); everything the algorithms need on top of
them (merging statistics up a tree, agreeing on failure, row offsets) is written
once here, so every backend behaves the same way.
"""
import abc
import contextlib

import numpy as np

from .._errors import RankError, rank_error_class

REDUCE_OPS = ("sum", "min", "max")


class Communicator(abc.ABC):
    """A group of ``size`` ranks that run the same program on their own rows.

    Subclasses implement the abstract primitives.  Arrays passed to
    :meth:`allreduce` are numpy arrays; objects passed to :meth:`bcast`,
    :meth:`allgather` and :meth:`gather` must be picklable and small (statistics,
    never the data).  Every rank receives its own copy of what it is sent.
    """

    #: Name of the backend, e.g. ``"serial"``, ``"threads"``, ``"mpi"``.
    backend = "abstract"

    @property
    @abc.abstractmethod
    def rank(self):
        """This rank's number, ``0 <= rank < size``."""

    @property
    @abc.abstractmethod
    def size(self):
        """Number of ranks."""

    @abc.abstractmethod
    def barrier(self):
        """Wait until every rank has reached this point."""

    @abc.abstractmethod
    def bcast(self, obj, root=0):
        """Return ``root``'s ``obj`` on every rank."""

    @abc.abstractmethod
    def allreduce(self, array, op="sum"):
        """Element-wise ``op`` (``"sum"``, ``"min"``, ``"max"``) of a numpy array
        over all ranks; returns a new array of the same shape and dtype."""

    @abc.abstractmethod
    def allgather(self, obj):
        """The list of every rank's ``obj``, in rank order, on every rank."""

    @abc.abstractmethod
    def gather(self, obj, root=0):
        """The list of every rank's ``obj`` on ``root``; ``None`` elsewhere."""

    # ---- naming what the ranks are doing, and leaving ---------------------------

    #: What the ranks are computing, e.g. ``"covariance.compute"``: the name an error
    #: about a rank that never joins uses.  Set by :meth:`agree` (the first
    #: collective of every ``compute``) and by :meth:`operation`.
    current_operation = ""

    @contextlib.contextmanager
    def operation(self, where):
        """Name the collectives inside the block, e.g. ``"kmeans.compute"``, for
        errors about ranks that leave without joining them."""
        previous = self.current_operation
        self.current_operation = where
        try:
            yield self
        finally:
            self.current_operation = previous

    def release(self):
        """This rank stops using the communicator (``daalfini()``).

        Backends that can, tell the other ranks, so that a collective they enter
        which this rank has not joined fails at once instead of waiting.  The
        communicator stays usable: a later collective joins it again.
        """

    # ---- built on the primitives -------------------------------------------------

    def tree_reduce(self, obj, merge):
        """Merge every rank's ``obj`` with ``merge(a, b) -> new`` and return the
        result on every rank.

        The merge order is a fixed binary tree over ranks ((0,1), (2,3), then
        (01,23), ...), so the result does not depend on timing.  ``merge`` must not
        modify its arguments.  Backends with real wires override this to send only
        O(log P) objects per rank; this default gathers them all.
        """
        return pairwise_fold(self.allgather(obj), merge)

    def agree(self, error=None, where="", info=None):
        """Collective status check: every rank says whether it failed.

        Parameters
        ----------
        error : BaseException or None
            This rank's failure, if any.
        where : str
            What was being done, used in the message.
        info : picklable, optional
            A small record (e.g. the local column count) shared with all ranks.

        Returns
        -------
        list
            Every rank's ``info``, in rank order, when no rank failed.

        Raises
        ------
        RankError
            On every rank, with the same message, when any rank failed.
        """
        if error is not None and self.size == 1:
            raise error  # one rank: the plain local exception says it all
        if where:
            self.current_operation = where
        status = None if error is None else describe_error(error)
        records = self.allgather((status, info, where))
        failures = {r: s for r, (s, _, _) in enumerate(records) if s is not None}
        if failures:
            err = build_rank_error(failures, where, self.size)
            if error is not None:
                raise err from error
            raise err
        groups, majority = group_by_value([(r, w) for r, (_, _, w) in enumerate(records)])
        if len(groups) > 1:
            # Ranks took different paths: each would wait in a collective the others
            # never enter.  Say so on every rank instead, in the same words.
            text = " while ".join(
                f"{name_ranks(rs)} {'calls' if len(rs) == 1 else 'call'} {w or '(unnamed)'}"
                for w, rs in sorted(groups.items(), key=lambda g: g[1][0]))
            msg = f"the ranks run different steps: {text}"
            failures = {r: ("ValueError", "ValueError", msg)
                        for w, rs in groups.items() if w != majority for r in rs}
            err = build_rank_error(failures, majority, self.size)
            raise rank_error_class(ValueError)(str(err), err.failures, majority)
        return [i for _, i, _ in records]

    def alltoall(self, objs):
        """Personalised exchange: send ``objs[d]`` to rank ``d``; return the list of
        what every rank sent to this one, in source rank order.

        ``objs`` has one (picklable) entry per rank, ``None`` for nothing.  The
        threads and MPI backends move each object only to its destination; this
        default goes through :meth:`allgather` (every rank sees every list).
        """
        objs = check_per_rank(objs, self.size)
        return [lists[self.rank] for lists in self.allgather(objs)]

    def row_offset(self, n_local):
        """Global index of this rank's first row when the ranks' rows are
        concatenated in rank order, and the total row count."""
        counts = self.allgather(int(n_local))
        return sum(counts[: self.rank]), sum(counts)

    def __repr__(self):
        return f"<{type(self).__name__} rank {self.rank} of {self.size}>"


def group_by_value(values):
    """``{value: [ranks]}`` in order of first appearance, and the majority value (the
    one held by most ranks; on a tie, the lowest rank's)."""
    groups = {}
    for r, v in values:
        groups.setdefault(v, []).append(r)
    majority = max(groups, key=lambda v: (len(groups[v]), -groups[v][0]))
    return groups, majority


def name_ranks(ranks):
    return f"rank {ranks[0]}" if len(ranks) == 1 else "ranks " + ", ".join(map(str, ranks))


def check_per_rank(objs, size):
    """``objs`` as a list of exactly one object per rank."""
    objs = list(objs)
    if len(objs) != size:
        raise ValueError(f"alltoall needs one object per rank ({size}), got {len(objs)}")
    return objs


def check_root(root, size):
    if not 0 <= root < size:
        raise ValueError(f"root {root} is not a rank of a communicator of size {size}")


def pairwise_fold(values, merge):
    """Fold ``values`` with ``merge`` along the binary tree used by tree_reduce."""
    values = list(values)
    step = 1
    while step < len(values):
        for i in range(0, len(values) - step, 2 * step):
            values[i] = merge(values[i], values[i + step])
        step *= 2
    return values[0]


def reduce_arrays(arrays, op):
    """Element-wise reduction of same-shaped arrays in the given (rank) order."""
    if op not in REDUCE_OPS:
        raise ValueError(f"unknown reduction {op!r}; expected one of {REDUCE_OPS}")
    out = np.array(arrays[0], copy=True)
    ufunc = {"sum": np.add, "min": np.minimum, "max": np.maximum}[op]
    for a in arrays[1:]:
        ufunc(out, a, out=out)
    return out


def departure_error(departed, where, size):
    """The RankError for ranks that left without joining ``where``.

    ``departed`` maps each rank to ``(event, failure)``: ``event`` says what the
    rank did (``"finished the program"``, ``"called daalfini()"``, ``"failed with
    ZeroDivisionError: ..."``); ``failure`` is :func:`describe_error` of the exception
    it failed with, or None.  The error is also an instance of the first failing
    rank's exception type where that is a common built-in one.
    """
    ranks = sorted(departed)
    what = where or "the collective"
    if len(ranks) == 1:
        message = f"rank {ranks[0]} {departed[ranks[0]][0]} without joining {what}"
    else:
        lines = "\n".join(f"  rank {r}: {departed[r][0]}" for r in ranks)
        message = (f"ranks {', '.join(map(str, ranks))} of {size} left without joining "
                   f"{what}:\n{lines}")
    from .._errors import MIRRORED

    by_name = {cls.__name__: cls for cls in MIRRORED}
    failed = [departed[r][1] for r in ranks if departed[r][1] is not None]
    base = by_name.get(failed[0][0], RankError) if failed else RankError
    failures = {r: (departed[r][1][1] if departed[r][1] else "Departure", departed[r][0])
                for r in ranks}
    return rank_error_class(base)(message, failures, where)


def describe_error(error):
    """A picklable description of an exception: (mirrored type name, type name, message)."""
    if isinstance(error, RankError):
        mirror = error.mirrors
    else:
        mirror = next((b for b in type(error).__mro__ if rank_error_class(b) is not RankError), None)
    return (mirror.__name__ if mirror else "", type(error).__name__, str(error))


def build_rank_error(failures, where, size):
    """The RankError every rank raises for ``failures = {rank: description}``."""
    from .._errors import MIRRORED

    ranks = sorted(failures)
    what = where or "d4p"
    if len(ranks) == 1:
        r = ranks[0]
        _, name, msg = failures[r]
        message = f"{what} failed on rank {r} of {size}: {name}: {msg}"
    else:
        lines = "\n".join(f"  rank {r}: {failures[r][1]}: {failures[r][2]}" for r in ranks)
        message = f"{what} failed on ranks {', '.join(map(str, ranks))} of {size}:\n{lines}"
    by_name = {cls.__name__: cls for cls in MIRRORED}
    base = by_name.get(failures[ranks[0]][0], RankError)
    simple = {r: (failures[r][1], failures[r][2]) for r in ranks}
    return rank_error_class(base)(message, simple, where)
