"""Simulated ranks: N threads in one process, each its own rank.

Every collective is one *exchange*: each rank puts its contribution in its slot,
waits for the others, reads all slots, and waits again so that no rank overwrites
a slot before everyone has read it.  Reductions fold the slots in rank order on
each rank, so repeated runs are bitwise identical.

The barrier is written here rather than taken from ``threading.Barrier`` because
it must notice the ways a collective can never complete and raise instead of
hanging: another rank failed, another rank left without joining (it finished, or
called ``daalfini()`` and went on with other work), or the configured timeout
passed.
"""
import os
import pickle
import threading
import time

import numpy as np

from .._errors import CollectiveAborted, CollectiveTimeout, D4PError
from .base import (Communicator, REDUCE_OPS, check_per_rank, check_root, departure_error,
                   reduce_arrays)


class ThreadGroup:
    """Shared state of ``size`` simulated ranks."""

    def __init__(self, size, timeout=None):
        if size < 1:
            raise ValueError(f"need at least one rank, got {size}")
        self.size = size
        self.timeout = timeout
        self._cond = threading.Condition()
        self._count = 0
        self._generation = 0
        self._slots = [None] * size
        self._entered = [0] * size  # collectives each rank has entered, to name laggards
        # Why each rank left for good: None while it runs, else (event, failure)
        # as departure_error takes them.  A secondary departure (a rank that left
        # because of another rank's failure) is never named as the cause.
        self._finished = [None] * size
        self._secondary = [False] * size
        self._epochs = [0] * size  # daalfini() calls per rank: a rank ahead has left
        self._broken = None  # message explaining why collectives can no longer complete
        self._departure = None  # the RankError every waiting rank raises, once known
        self.broken_at = None  # time.monotonic() when collectives stopped being possible

    # ---- life cycle ------------------------------------------------------------

    @property
    def broken_reason(self):
        """Why collectives can no longer complete, or None."""
        return self._broken

    def abort(self, reason):
        """Release every waiting rank; later collectives raise immediately."""
        with self._cond:
            if self._broken is None:
                self._broken = reason
                self.broken_at = time.monotonic()
            self._cond.notify_all()

    def finish(self, rank, event="finished the program", failure=None, secondary=False):
        """Mark ``rank`` as gone: collectives still waiting for it can never complete."""
        with self._cond:
            self._finished[rank] = (event, failure)
            self._secondary[rank] = secondary
            self._cond.notify_all()

    def release(self, rank):
        """``rank`` called ``daalfini()``: a collective of the same epoch it has not
        joined can never complete; after its own ``daalfini()`` a rank waits again."""
        with self._cond:
            self._epochs[rank] += 1
            self._cond.notify_all()

    # ---- the one collective primitive --------------------------------------------

    def exchange(self, rank, what, value, receive, where=""):
        """Every rank contributes ``value``; returns ``receive(contributions)``.

        ``receive`` runs while every rank is still inside the exchange, so it may
        read (and must copy what it keeps of) the other ranks' contributions:
        once the exchange is over, their owners are free to modify them.
        """
        self._slots[rank] = (what, value)
        self._entered[rank] += 1
        self._wait(rank, what, where)
        try:
            names = {w for w, _ in self._slots}
            if len(names) > 1:
                calls = ", ".join(f"rank {r}: {w}" for r, (w, _) in enumerate(self._slots))
                raise D4PError(f"ranks called different collectives at the same time ({calls})")
            result = receive([v for _, v in self._slots])
        finally:
            self._wait(rank, what, where)
        return result

    def _wait(self, rank, what, where=""):
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with self._cond:
            generation = self._generation
            self._count += 1
            if self._count == self.size:
                self._count = 0
                self._generation += 1
                self._cond.notify_all()
                return
            while self._generation == generation:
                self._raise_if_stuck(rank, what, where, deadline)
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
                self._cond.wait(remaining)

    def _raise_if_stuck(self, rank, what, where, deadline):
        if self._departure is not None:
            raise _copy_error(self._departure)
        if self._broken is not None:
            raise CollectiveAborted(f"{what} on rank {rank} abandoned: {self._broken}")
        epoch = self._epochs[rank]
        gone = {r: self._finished[r] for r in range(self.size)
                if self._finished[r] is not None and not self._secondary[r]}
        gone.update({r: ("called daalfini()", None) for r in range(self.size)
                     if self._epochs[r] > epoch and r not in gone})
        if gone:
            self._departure = departure_error(gone, where or what, self.size)
            self._broken = str(self._departure)
            self.broken_at = time.monotonic()
            self._cond.notify_all()
            raise _copy_error(self._departure)
        if deadline is not None and time.monotonic() >= deadline:
            behind = [r for r in range(self.size) if self._entered[r] < self._entered[rank]]
            reason = (f"collective {what} timed out after {self.timeout:g} s on rank {rank} "
                      f"of {self.size}; ranks that never arrived: {behind}")
            self.abort(reason)
            raise CollectiveTimeout(reason)


class ThreadCommunicator(Communicator):
    """One simulated rank of a :class:`ThreadGroup`."""

    backend = "threads"

    def __init__(self, group, rank):
        self._group = group
        self._rank = rank
        #: Objects this rank sent and received in tree_reduce (for tests of its cost).
        self.traffic = {"sent": 0, "received": 0}

    @property
    def rank(self):
        return self._rank

    @property
    def size(self):
        return self._group.size

    def release(self):
        self._group.release(self._rank)

    def _exchange(self, what, value, receive):
        return self._group.exchange(self._rank, what, value, receive, self.current_operation)

    def barrier(self):
        self._exchange("barrier", None, lambda values: None)

    def bcast(self, obj, root=0):
        check_root(root, self.size)
        if self._rank == root:
            self._exchange("bcast", obj, lambda values: None)
            return obj
        return self._exchange("bcast", None, lambda values: _private_copy(values[root]))

    def allreduce(self, array, op="sum"):
        if op not in REDUCE_OPS:
            raise ValueError(f"unknown reduction {op!r}; expected one of {REDUCE_OPS}")

        def receive(arrays):
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                raise D4PError(f"allreduce of arrays with different shapes across ranks: "
                               f"{sorted(shapes)}")
            return reduce_arrays(arrays, op)

        return self._exchange(f"allreduce({op})", np.asarray(array), receive)

    def allgather(self, obj):
        return self._exchange("allgather", obj, self._copies)

    def gather(self, obj, root=0):
        check_root(root, self.size)
        if self._rank != root:
            self._exchange("gather", obj, lambda values: None)
            return None
        return self._exchange("gather", obj, self._copies)

    def alltoall(self, objs):
        objs = check_per_rank(objs, self.size)
        me = self._rank
        return self._exchange(
            "alltoall", objs,
            lambda lists: [lists[r][me] if r == me else _private_copy(lists[r][me])
                           for r in range(len(lists))])

    def tree_reduce(self, obj, merge):
        """A binomial tree, as on MPI: round ``j`` sends rank ``r + 2**j``'s partial
        to rank ``r``, so each rank sends at most one object and receives at most
        ``log2(size)``; then rank 0's result is broadcast."""
        size, rank, step = self.size, self._rank, 1
        while step < size:
            sending = rank % (2 * step) == step
            source = rank + step if rank % (2 * step) == 0 and rank + step < size else None
            got = self._exchange("tree_reduce", obj if sending else None,
                                 lambda values: None if source is None else _private_copy(values[source]))
            if sending:
                self.traffic["sent"] += 1
            if source is not None:
                self.traffic["received"] += 1
                obj = merge(obj, got)
            elif sending:
                obj = None  # this rank's partial now lives on its parent
            step *= 2
        result = self.bcast(obj if rank == 0 else None, root=0)
        if rank != 0:
            self.traffic["received"] += 1
        return result

    def _copies(self, values):
        return [v if r == self._rank else _private_copy(v) for r, v in enumerate(values)]


def _copy_error(err):
    """A fresh instance of ``err`` for one rank to raise (each its own traceback)."""
    copy = type(err)(str(err), err.failures, err.where)
    return copy


def _private_copy(obj):
    """What another rank receives: its own copy, as a real wire would give it."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))



def default_threads_per_rank(nranks):
    """Kernel threads for each simulated rank so the ranks together use every core once."""
    return max(1, (os.cpu_count() or 1) // nranks)
