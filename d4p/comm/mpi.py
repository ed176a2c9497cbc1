"""The MPI backend, through mpi4py (imported here, and only when this backend is used).

Collectives are started non-blocking and completed by polling.  Polling lets a
collective that can never complete fail instead of hanging: when the configured
timeout passes, or when another rank has *left* -- finished the program, failed
outside d4p, or called ``daalfini()`` -- without joining it.  A leaving rank posts
a small notice to every other rank on a duplicate of the communicator that is
d4p's own (see :mod:`d4p.comm.leaving`); a rank waiting in a collective reads the
notices and compares the number of collectives the leaver completed with its own,
so a rank that simply finished after everyone's last collective raises nothing.
A collective that completes within its first tens of microseconds (the usual
case) never looks at notices, so they cost nothing on the fast path.

Arrays travel as raw buffers (chunked below 2**31 elements per message); small
objects are pickled into byte buffers.
"""
import pickle
import time

import numpy as np

from .._errors import CollectiveTimeout, D4PError
from . import leaving
from .base import Communicator, REDUCE_OPS, check_per_rank, check_root, departure_error

#: Largest element count put in one MPI message; larger arrays go in chunks.  A
#: class attribute so tests can make it small.
MAX_COUNT = 2**31 - 1

# Tags on d4p's own duplicate communicator (never the user's).
NOTICE_TAG, SIZE_TAG, DATA_TAG = 1, 2, 3

_SPIN = 200e-6  # seconds a collective spins on Test() before it starts sleeping
_MAX_PAUSE = 1e-3  # longest sleep between polls: an idle rank frees its core


def _mpi():
    from mpi4py import MPI

    return MPI


class MPICommunicator(Communicator):
    """Wraps an mpi4py communicator (``MPI.COMM_WORLD`` by default).

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        Any intra-communicator, e.g. one made with ``Split``.  Creating the wrapper
        starts a non-blocking ``Idup`` of it (d4p's own channel, for notices and
        ``tree_reduce``'s point-to-point messages), so every rank of ``comm`` must
        create its wrapper at the same point of the program, as with any
        collective.
    timeout : float or None, optional
        Seconds a collective may wait; ``None`` reads :func:`d4p.get_config`.
    """

    backend = "mpi"
    max_count = MAX_COUNT

    def __init__(self, comm=None, timeout=None):
        MPI = _mpi()
        self._MPI = MPI
        self._comm = MPI.COMM_WORLD if comm is None else comm
        self._timeout = timeout
        self._rank = self._comm.Get_rank()
        self._size = self._comm.Get_size()
        self._epoch = 0  # daalfini() calls on this communicator
        self._done = 0  # collectives completed in this epoch
        self._what = ""
        self._finals = {}  # rank -> notice: it left the program
        self._releases = {}  # rank -> {epoch: notice}: it called daalfini()
        self._channel, self._channel_req = None, None
        if self._size > 1:
            self._channel, self._channel_req = self._comm.Idup()
        #: Point-to-point traffic of this rank in tree_reduce (for tests of its cost).
        self.traffic = {"sent": 0, "received": 0, "sent_bytes": 0, "received_bytes": 0}
        leaving.register(self)

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

    # ---- entering, waiting, leaving ---------------------------------------------

    def _enter(self, what):
        self._what = what
        if self._finals or self._releases:
            self._raise_if_absent()

    def _deadline(self):
        if self._timeout is not None:
            timeout = self._timeout
        else:
            from .._config import get_config

            timeout = get_config()["timeout"]
        return timeout, (None if timeout is None else time.monotonic() + timeout)

    def _wait(self, request):
        if request.Test():
            return
        timeout, deadline = self._deadline()
        spin_until = time.perf_counter() + _SPIN
        while time.perf_counter() < spin_until:
            if request.Test():
                return
        pause = 0.0
        try:
            while not request.Test():
                self._read_notices()
                self._raise_if_absent()
                if deadline is not None and time.monotonic() >= deadline:
                    raise CollectiveTimeout(
                        f"collective {self._what} timed out after {timeout:g} s on rank "
                        f"{self._rank} of {self._size} (some rank never arrived)")
                time.sleep(pause)
                pause = min(pause * 2 or 2e-5, _MAX_PAUSE)
        except BaseException:
            leaving.abandoned(request)
            raise

    def _channel_ready(self):
        if self._channel_req is not None:
            if not self._channel_req.Test():
                return False
            self._channel_req = None
        return self._channel is not None

    def _read_notices(self):
        """Receive every notice that has arrived from ranks that left."""
        if not self._channel_ready():
            return
        MPI = self._MPI
        status = MPI.Status()
        while self._channel.Iprobe(MPI.ANY_SOURCE, NOTICE_TAG, status):
            buf = np.empty(status.Get_count(MPI.BYTE), dtype=np.uint8)
            self._channel.Recv(buf, status.Get_source(), NOTICE_TAG)
            notice = _loads(buf)
            source = status.Get_source()
            if notice["final"]:
                self._finals[source] = notice
            else:
                self._releases.setdefault(source, {})[notice["epoch"]] = notice

    def _absent(self):
        """Ranks that will never join the collective this rank is in: ``{rank:
        (event, failure, secondary)}``."""
        k, epoch, out = self._done + 1, self._epoch, {}
        for r, n in self._finals.items():
            if n["epoch"] < epoch or (n["epoch"] == epoch and n["done"] < k):
                out[r] = n
        for r, per in self._releases.items():
            n = per.get(epoch)
            if r not in out and n is not None and n["done"] < k:
                out[r] = n
        return out

    def _raise_if_absent(self):
        absent = self._absent()
        if not absent:
            return
        # Others may be leaving at the same moment: collect their notices briefly,
        # so the error names every rank that left, not only the first to say so.
        time.sleep(0.05)
        self._read_notices()
        absent = self._absent()
        # Name the ranks that started it, not those that failed because of them.
        primary = {r: n for r, n in absent.items() if not n["secondary"]} or absent
        where = self.current_operation or self._what
        raise departure_error({r: (n["event"], n["failure"]) for r, n in primary.items()},
                              where, self._size)

    def _notice(self, event, failure=None, secondary=False, final=True):
        """Post a notice that this rank leaves (``final``) or releases this
        communicator; returns the send requests (and their buffers)."""
        if self._size == 1 or not self._wait_for_channel():
            return []
        payload = _dumps({"epoch": self._epoch, "done": self._done, "event": event,
                          "failure": failure, "secondary": secondary, "final": final})
        return [(self._channel.Isend(payload, r, tag=NOTICE_TAG), payload)
                for r in range(self._size) if r != self._rank]

    def _wait_for_channel(self):
        if self._channel_req is None:
            return self._channel is not None
        timeout, deadline = self._deadline()
        deadline = time.monotonic() + 600 if deadline is None else deadline
        while not self._channel_ready():
            if time.monotonic() >= deadline:
                return False
            time.sleep(1e-3)
        return True

    def release(self):
        leaving.keep(self._notice("called daalfini()", final=False))
        self._epoch += 1
        self._done = 0

    def others_gone(self):
        """True when every other rank has posted that it left the program."""
        self._read_notices()
        return all(r in self._finals for r in range(self._size) if r != self._rank)

    # ---- primitives ------------------------------------------------------------------

    def barrier(self):
        self._enter("barrier")
        self._wait(self._comm.Ibarrier())
        self._done += 1

    def allreduce(self, array, op="sum"):
        if op not in REDUCE_OPS:
            raise ValueError(f"unknown reduction {op!r}; expected one of {REDUCE_OPS}")
        self._enter(f"allreduce({op})")
        mpi_op = {"sum": self._MPI.SUM, "min": self._MPI.MIN, "max": self._MPI.MAX}[op]
        send = np.ascontiguousarray(array)
        out = np.empty_like(send)
        flat_in, flat_out = send.reshape(-1), out.reshape(-1)
        for lo in range(0, max(flat_in.size, 1), self.max_count):
            hi = min(lo + self.max_count, flat_in.size)
            self._wait(self._comm.Iallreduce(flat_in[lo:hi], flat_out[lo:hi], op=mpi_op))
        self._done += 1
        return out

    def bcast(self, obj, root=0):
        check_root(root, self._size)
        self._enter("bcast")
        payload = _dumps(obj) if self._rank == root else None
        size = np.array([0 if payload is None else payload.size], dtype=np.int64)
        self._wait(self._comm.Ibcast(size, root=root))
        buf = payload if self._rank == root else np.empty(int(size[0]), dtype=np.uint8)
        for lo in range(0, buf.size, self.max_count):
            self._wait(self._comm.Ibcast(buf[lo:lo + self.max_count], root=root))
        self._done += 1
        return obj if self._rank == root else _loads(buf)

    def allgather(self, obj):
        self._enter("allgather")
        payload = _dumps(obj)
        sizes = np.empty(self._size, dtype=np.int64)
        self._wait(self._comm.Iallgather(np.array([payload.size], dtype=np.int64), sizes))
        buf = np.empty(int(sizes.sum()), dtype=np.uint8)
        self._wait(self._comm.Iallgatherv(
            payload, [buf, sizes, _displacements(sizes), self._MPI.BYTE]))
        self._done += 1
        return _split(buf, sizes, self._rank, obj)

    def gather(self, obj, root=0):
        check_root(root, self._size)
        self._enter("gather")
        payload = _dumps(obj)
        sizes = np.empty(self._size, dtype=np.int64)
        self._wait(self._comm.Iallgather(np.array([payload.size], dtype=np.int64), sizes))
        if self._rank == root:
            buf = np.empty(int(sizes.sum()), dtype=np.uint8)
            recv = [buf, sizes, _displacements(sizes), self._MPI.BYTE]
        else:
            buf, recv = None, None
        self._wait(self._comm.Igatherv(payload, recv, root=root))
        self._done += 1
        return _split(buf, sizes, self._rank, obj) if self._rank == root else None

    def alltoall(self, objs):
        objs = check_per_rank(objs, self._size)
        self._enter("alltoall")
        me = self._rank
        payloads = [np.empty(0, np.uint8) if r == me else _dumps(obj)
                    for r, obj in enumerate(objs)]
        send_sizes = np.array([p.size for p in payloads], dtype=np.int64)
        recv_sizes = np.empty(self._size, dtype=np.int64)
        self._wait(self._comm.Ialltoall(send_sizes, recv_sizes))
        if max(int(send_sizes.sum()), int(recv_sizes.sum())) >= 2 ** 31:
            # MPI counts are C ints: fail clearly rather than corrupt the exchange
            raise D4PError("alltoall: more than 2 GiB to send or receive at once")
        send = np.concatenate(payloads) if payloads else np.empty(0, np.uint8)
        recv = np.empty(int(recv_sizes.sum()), dtype=np.uint8)
        byte = self._MPI.BYTE
        self._wait(self._comm.Ialltoallv(
            [send, send_sizes, _displacements(send_sizes), byte],
            [recv, recv_sizes, _displacements(recv_sizes), byte]))
        self._done += 1
        return _split(recv, recv_sizes, me, objs[me])

    # ---- a real tree: each rank sends or receives O(log P) objects ------------------

    def tree_reduce(self, obj, merge):
        self._enter("tree_reduce")
        if self._size > 1:
            self._wait(self._channel_req or _Done())
        step = 1
        while step < self._size:
            if self._rank % (2 * step) == step:
                self._send(obj, self._rank - step)
                break
            if self._rank % (2 * step) == 0 and self._rank + step < self._size:
                obj = merge(obj, self._recv(self._rank + step))
            step *= 2
        self._done += 1
        result = self.bcast(obj if self._rank == 0 else None, root=0)
        if self._rank != 0:
            self.traffic["received"] += 1
        return result

    def _send(self, obj, dest):
        payload = _dumps(obj)
        size = np.array([payload.size], dtype=np.int64)
        self._wait(self._channel.Isend(size, dest, tag=SIZE_TAG))
        self._wait(self._channel.Isend(payload, dest, tag=DATA_TAG))
        self.traffic["sent"] += 1
        self.traffic["sent_bytes"] += payload.size

    def _recv(self, source):
        size = np.empty(1, dtype=np.int64)
        self._wait(self._channel.Irecv(size, source, tag=SIZE_TAG))
        buf = np.empty(int(size[0]), dtype=np.uint8)
        self._wait(self._channel.Irecv(buf, source, tag=DATA_TAG))
        self.traffic["received"] += 1
        self.traffic["received_bytes"] += buf.size
        return _loads(buf)


class _Done:
    """A request that has already completed."""

    @staticmethod
    def Test():
        return True


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
