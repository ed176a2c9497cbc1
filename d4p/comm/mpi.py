"""The MPI backend, through mpi4py (imported here, and only when this backend is used).

Collectives are started non-blocking and completed by polling, so a configured
timeout can turn a collective that will never complete into an error instead of
a hang.  Arrays travel as raw buffers (chunked below 2**31 elements per message);
small objects are pickled into byte buffers.
"""
import pickle
import sys
import time

import numpy as np

from .._errors import CollectiveTimeout, D4PError
from .base import Communicator, REDUCE_OPS, check_per_rank, check_root

#: Largest element count put in one MPI message; larger arrays go in chunks.  A
#: class attribute so tests can make it small.
MAX_COUNT = 2**31 - 1


def _mpi():
    from mpi4py import MPI

    return MPI


class MPICommunicator(Communicator):
    """Wraps an mpi4py communicator (``MPI.COMM_WORLD`` by default).

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        Any intra-communicator, e.g. one made with ``Split``; d4p uses it as given
        (it is not duplicated, so d4p's messages share its tag space; d4p only uses
        collectives and tags ``>= 7700``).
    timeout : float or None, optional
        Seconds a collective may wait; ``None`` reads :func:`d4p.get_config`.
    """

    backend = "mpi"
    max_count = MAX_COUNT
    _TAG = 7700

    def __init__(self, comm=None, timeout=None):
        MPI = _mpi()
        self._MPI = MPI
        self._comm = MPI.COMM_WORLD if comm is None else comm
        self._timeout = timeout
        self._rank = self._comm.Get_rank()
        self._size = self._comm.Get_size()

    @property
    def rank(self):
        return self._rank

    @property
    def size(self):
        return self._size

    @property
    def mpi_comm(self):
        """The wrapped mpi4py communicator."""
        return self._comm

    # ---- waiting with a deadline ---------------------------------------------------

    def _deadline(self):
        if self._timeout is not None:
            timeout = self._timeout
        else:
            from .._config import get_config

            timeout = get_config()["timeout"]
        return timeout, (None if timeout is None else time.monotonic() + timeout)

    def _wait(self, request, what):
        timeout, deadline = self._deadline()
        if deadline is None:
            request.Wait()
            return
        pause = 0.0
        while not request.Test():
            if time.monotonic() >= deadline:
                raise CollectiveTimeout(
                    f"collective {what} timed out after {timeout:g} s on rank {self._rank} "
                    f"of {self._size} (some rank never arrived)")
            # Spin briefly, then back off to at most 1 ms so an idle rank frees its core.
            time.sleep(pause)
            pause = min(pause * 2 or 1e-6, 1e-3)

    # ---- primitives ------------------------------------------------------------------

    def barrier(self):
        self._wait(self._comm.Ibarrier(), "barrier")

    def allreduce(self, array, op="sum"):
        if op not in REDUCE_OPS:
            raise ValueError(f"unknown reduction {op!r}; expected one of {REDUCE_OPS}")
        mpi_op = {"sum": self._MPI.SUM, "min": self._MPI.MIN, "max": self._MPI.MAX}[op]
        send = np.ascontiguousarray(array)
        out = np.empty_like(send)
        flat_in, flat_out = send.reshape(-1), out.reshape(-1)
        for lo in range(0, max(flat_in.size, 1), self.max_count):
            hi = min(lo + self.max_count, flat_in.size)
            req = self._comm.Iallreduce(flat_in[lo:hi], flat_out[lo:hi], op=mpi_op)
            self._wait(req, f"allreduce({op})")
        return out

    def bcast(self, obj, root=0):
        check_root(root, self._size)
        payload = _dumps(obj) if self._rank == root else None
        size = np.array([0 if payload is None else payload.size], dtype=np.int64)
        self._wait(self._comm.Ibcast(size, root=root), "bcast")
        buf = payload if self._rank == root else np.empty(int(size[0]), dtype=np.uint8)
        for lo in range(0, buf.size, self.max_count):
            req = self._comm.Ibcast(buf[lo:lo + self.max_count], root=root)
            self._wait(req, "bcast")
        return obj if self._rank == root else _loads(buf)

    def allgather(self, obj):
        payload = _dumps(obj)
        sizes = np.empty(self._size, dtype=np.int64)
        req = self._comm.Iallgather(np.array([payload.size], dtype=np.int64), sizes)
        self._wait(req, "allgather")
        buf = np.empty(int(sizes.sum()), dtype=np.uint8)
        req = self._comm.Iallgatherv(payload, [buf, sizes, _displacements(sizes), self._MPI.BYTE])
        self._wait(req, "allgather")
        return _split(buf, sizes, self._rank, obj)

    def gather(self, obj, root=0):
        check_root(root, self._size)
        payload = _dumps(obj)
        sizes = np.empty(self._size, dtype=np.int64)
        req = self._comm.Iallgather(np.array([payload.size], dtype=np.int64), sizes)
        self._wait(req, "gather")
        if self._rank == root:
            buf = np.empty(int(sizes.sum()), dtype=np.uint8)
            recv = [buf, sizes, _displacements(sizes), self._MPI.BYTE]
        else:
            buf, recv = None, None
        self._wait(self._comm.Igatherv(payload, recv, root=root), "gather")
        return _split(buf, sizes, self._rank, obj) if self._rank == root else None

    def alltoall(self, objs):
        objs = check_per_rank(objs, self._size)
        payloads = [np.empty(0, np.uint8) if d == self._rank else _dumps(o)
                    for d, o in enumerate(objs)]
        send_sizes = np.array([p.size for p in payloads], dtype=np.int64)
        recv_sizes = np.empty(self._size, dtype=np.int64)
        self._wait(self._comm.Ialltoall(send_sizes, recv_sizes), "alltoall")
        if max(int(send_sizes.sum()), int(recv_sizes.sum())) >= 2 ** 31:
            raise D4PError("alltoall: more than 2 GiB to send or receive at once")
        send = np.concatenate(payloads) if payloads else np.empty(0, np.uint8)
        recv = np.empty(int(recv_sizes.sum()), dtype=np.uint8)
        B = self._MPI.BYTE
        req = self._comm.Ialltoallv([send, send_sizes, _displacements(send_sizes), B],
                                    [recv, recv_sizes, _displacements(recv_sizes), B])
        self._wait(req, "alltoall")
        return _split(recv, recv_sizes, self._rank, objs[self._rank])

    # ---- a real tree: each rank sends or receives O(log P) objects ------------------

    def tree_reduce(self, obj, merge):
        step = 1
        while step < self._size:
            if self._rank % (2 * step) == step:
                self._send(obj, self._rank - step)
                break
            if self._rank % (2 * step) == 0 and self._rank + step < self._size:
                obj = merge(obj, self._recv(self._rank + step))
            step *= 2
        return self.bcast(obj if self._rank == 0 else None, root=0)

    def _send(self, obj, dest):
        payload = _dumps(obj)
        size = np.array([payload.size], dtype=np.int64)
        self._wait(self._comm.Isend(size, dest, tag=self._TAG), "tree_reduce(send)")
        self._wait(self._comm.Isend(payload, dest, tag=self._TAG + 1), "tree_reduce(send)")

    def _recv(self, source):
        size = np.empty(1, dtype=np.int64)
        self._wait(self._comm.Irecv(size, source, tag=self._TAG), "tree_reduce(recv)")
        buf = np.empty(int(size[0]), dtype=np.uint8)
        self._wait(self._comm.Irecv(buf, source, tag=self._TAG + 1), "tree_reduce(recv)")
        return _loads(buf)


def _dumps(obj):
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)


def _loads(buf):
    return pickle.loads(buf.tobytes())


def _displacements(sizes):
    return np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)


def _split(buf, sizes, own_rank, own_obj):
    out, offset = [], 0
    for r, n in enumerate(sizes):
        n = int(n)
        out.append(own_obj if r == own_rank else _loads(buf[offset:offset + n]))
        offset += n
    return out


def install_abort_on_uncaught_exception(comm):
    """Make an uncaught exception on one rank abort the whole MPI job.

    Without this, the other ranks wait forever in their next collective (daal4py's
    behaviour).  The traceback is printed first, then ``MPI_Abort`` ends every rank.
    """
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        if comm.Get_size() > 1:
            sys.stderr.write(f"d4p: uncaught {exc_type.__name__} on rank {comm.Get_rank()}; "
                             "aborting all ranks\n")
            sys.stdout.flush()
            sys.stderr.flush()
            # MPI_Abort kills every rank at once; give the launcher a moment to
            # forward the traceback first, or it can be lost.
            time.sleep(0.2)
            comm.Abort(1)

    if getattr(sys.excepthook, "_d4p_abort", False):
        return
    hook._d4p_abort = True
    sys.excepthook = hook
