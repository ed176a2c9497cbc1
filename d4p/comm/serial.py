"""The one-rank communicator: batch mode, and what a plain ``python script.py`` gets."""
import numpy as np

from .base import Communicator, REDUCE_OPS, check_per_rank, check_root


class SerialCommunicator(Communicator):
    """A single rank.  Every collective returns (a copy of) its own input."""

    backend = "serial"

    @property
    def rank(self):
        return 0

    @property
    def size(self):
        return 1

    def barrier(self):
        pass

    def bcast(self, obj, root=0):
        check_root(root, 1)
        return obj

    def allreduce(self, array, op="sum"):
        if op not in REDUCE_OPS:
            raise ValueError(f"unknown reduction {op!r}; expected one of {REDUCE_OPS}")
        return np.array(array, copy=True)

    def allgather(self, obj):
        return [obj]

    def gather(self, obj, root=0):
        check_root(root, 1)
        return [obj]

    def alltoall(self, objs):
        return check_per_rank(objs, 1)
