"""Simulated ranks: N threads in one process, each its own rank.

Every collective is one *exchange*: each rank puts its contribution in its slot,
waits for the others, reads all slots, and waits again so that no rank overwrites
a slot before everyone has read it.  Reductions fold the slots in rank order on
each rank, so repeated runs are bitwise identical.

The barrier is written here rather than taken from ``threading.Barrier`` because
it must notice three ways a collective can never complete and raise instead of
hanging: another rank failed, another rank returned without joining, or the
configured timeout passed.
"""
import os
import pickle
import threading
import time

import numpy as np

from .._errors import CollectiveAborted, CollectiveTimeout, D4PError
from .base import Communicator, REDUCE_OPS, check_per_rank, check_root, reduce_arrays


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
        self._finished = [False] * size
        self._broken = None  # message explaining why collectives can no longer complete

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
            self._cond.notify_all()

    def finish(self, rank):
        """Mark ``rank`` as done: collectives still waiting for it can never complete."""
        with self._cond:
            self._finished[rank] = True
            self._cond.notify_all()

    # ---- the one collective primitive --------------------------------------------

    def exchange(self, rank, what, value, receive):
        """Every rank contributes ``value``; returns ``receive(contributions)``.

        ``receive`` runs while every rank is still inside the exchange, so it may
        read (and must copy what it keeps of) the other ranks' contributions:
        once the exchange is over, their owners are free to modify them.
        """
        self._slots[rank] = (what, value)
        self._entered[rank] += 1
        self._wait(rank, what)
        try:
            names = {w for w, _ in self._slots}
            if len(names) > 1:
                calls = ", ".join(f"rank {r}: {w}" for r, (w, _) in enumerate(self._slots))
                raise D4PError(f"ranks called different collectives at the same time ({calls})")
            result = receive([v for _, v in self._slots])
        finally:
            self._wait(rank, what)
        return result

    def _wait(self, rank, what):
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
                self._raise_if_stuck(rank, what, deadline)
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
                self._cond.wait(remaining)

    def _raise_if_stuck(self, rank, what, deadline):
        if self._broken is not None:
            raise CollectiveAborted(f"{what} on rank {rank} abandoned: {self._broken}")
        gone = [r for r in range(self.size) if self._finished[r]]
        if gone:
            reason = (f"rank(s) {gone} returned without joining the collective {what} "
                      f"that rank {rank} is waiting in")
            self.abort(reason)
            raise CollectiveAborted(reason)
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

    @property
    def rank(self):
        return self._rank

    @property
    def size(self):
        return self._group.size

    def barrier(self):
        self._group.exchange(self._rank, "barrier", None, lambda values: None)

    def bcast(self, obj, root=0):
        check_root(root, self.size)
        if self._rank == root:
            self._group.exchange(self._rank, "bcast", obj, lambda values: None)
            return obj
        return self._group.exchange(self._rank, "bcast", None,
                                    lambda values: _private_copy(values[root]))

    def allreduce(self, array, op="sum"):
        if op not in REDUCE_OPS:
            raise ValueError(f"unknown reduction {op!r}; expected one of {REDUCE_OPS}")

        def receive(arrays):
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                raise D4PError(f"allreduce of arrays with different shapes across ranks: "
                               f"{sorted(shapes)}")
            return reduce_arrays(arrays, op)

        return self._group.exchange(self._rank, f"allreduce({op})", np.asarray(array), receive)

    def allgather(self, obj):
        return self._group.exchange(self._rank, "allgather", obj, self._copies)

    def gather(self, obj, root=0):
        check_root(root, self.size)
        if self._rank != root:
            self._group.exchange(self._rank, "gather", obj, lambda values: None)
            return None
        return self._group.exchange(self._rank, "gather", obj, self._copies)

    def alltoall(self, objs):
        objs = check_per_rank(objs, self.size)
        me = self._rank
        return self._group.exchange(
            me, "alltoall", objs,
            lambda values: [v[me] if r == me else _private_copy(v[me])
                            for r, v in enumerate(values)])

    def _copies(self, values):
        return [v if r == self._rank else _private_copy(v) for r, v in enumerate(values)]


def _private_copy(obj):
    """What another rank receives: its own copy, as a real wire would give it."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))



def default_threads_per_rank(nranks):
    """Kernel threads for each simulated rank so the ranks together use every core once."""
    return max(1, (os.cpu_count() or 1) // nranks)
