"""The :class:`Communicator` abstraction every d4p algorithm talks to.

A backend implements a handful of primitives (``barrier``, ``bcast``,
``allreduce``, ``allgather``, ``gather``); everything the algorithms need on top of
them (merging statistics up a tree, agreeing on failure, row offsets) is written
once here, so every backend behaves the same way.
"""
import abc

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

    def alltoall(self, objs):
        """Personalised exchange: ``objs[d]`` goes to rank ``d``; returns the list of
        what every rank sent to this one, in rank order.

        Each object travels only to its destination (backends override this
        default, which is correct but sends everything everywhere)."""
        objs = check_per_rank(objs, self.size)
        return [sent[self.rank] for sent in self.allgather(objs)]

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
        status = None if error is None else _describe(error)
        records = self.allgather((status, info))
        failures = {r: s for r, (s, _) in enumerate(records) if s is not None}
        if failures:
            err = build_rank_error(failures, where, self.size)
            if error is not None:
                raise err from error
            raise err
        return [i for _, i in records]

    def row_offset(self, n_local):
        """Global index of this rank's first row when the ranks' rows are
        concatenated in rank order, and the total row count."""
        counts = self.allgather(int(n_local))
        return sum(counts[: self.rank]), sum(counts)

    def __repr__(self):
        return f"<{type(self).__name__} rank {self.rank} of {self.size}>"


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


def _describe(error):
    """A picklable description of an exception: (mirrored type name, type name, message)."""
    if isinstance(error, RankError):
        mirror = error.mirrors
    else:
        mirror = next((b for b in type(error).__mro__ if rank_error_class(b) is not RankError), None)
    return (mirror.__name__ if mirror else "", type(error).__name__, str(error))


def build_rank_error(failures, where, size):
    """The RankError every rank raises for ``failures = {rank: description}``."""
    from .._errors import _MIRRORED

    ranks = sorted(failures)
    what = where or "d4p"
    if len(ranks) == 1:
        r = ranks[0]
        _, name, msg = failures[r]
        message = f"{what} failed on rank {r} of {size}: {name}: {msg}"
    else:
        lines = "\n".join(f"  rank {r}: {failures[r][1]}: {failures[r][2]}" for r in ranks)
        message = f"{what} failed on ranks {', '.join(map(str, ranks))} of {size}:\n{lines}"
    by_name = {cls.__name__: cls for cls in _MIRRORED}
    base = by_name.get(failures[ranks[0]][0], RankError)
    simple = {r: (failures[r][1], failures[r][2]) for r in ranks}
    return rank_error_class(base)(message, simple, where)
