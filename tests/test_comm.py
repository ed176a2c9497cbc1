"""The Communicator contract, one body for every backend."""
import pickle

import numpy as np
import pytest

import d4p
from d4p._engine import current_comm
from spmd import spmd


@spmd
def test_rank_and_size_match_engine():
    comm = current_comm()
    assert comm.rank == d4p.my_procid()
    assert comm.size == d4p.num_procs()
    assert 0 <= comm.rank < comm.size


@spmd
def test_allreduce_sum_min_max():
    comm = current_comm()
    r, size = comm.rank, comm.size
    a = np.array([[r, -r], [1.0, 2.0 * r]])
    np.testing.assert_array_equal(comm.allreduce(a, "sum"),
                                  [[size * (size - 1) / 2, -size * (size - 1) / 2],
                                   [size, size * (size - 1)]])
    np.testing.assert_array_equal(comm.allreduce(a, "min"), [[0, -(size - 1)], [1, 0]])
    np.testing.assert_array_equal(comm.allreduce(a, "max"), [[size - 1, 0], [1, 2 * (size - 1)]])
    ints = comm.allreduce(np.arange(3, dtype=np.int64) * r)
    assert ints.dtype == np.int64
    with pytest.raises(ValueError, match="unknown reduction"):
        comm.allreduce(a, "prod")


@spmd
def test_bcast_gather_allgather_objects_and_arrays():
    comm = current_comm()
    r, size = comm.rank, comm.size
    root = size - 1
    got = comm.bcast({"root": r, "array": np.arange(4) * r} if r == root else None, root=root)
    assert got["root"] == root
    np.testing.assert_array_equal(got["array"], np.arange(4) * root)
    assert comm.allgather(("rank", r)) == [("rank", i) for i in range(size)]
    gathered = comm.gather(r * 10, root=0)
    assert gathered == ([i * 10 for i in range(size)] if r == 0 else None)
    big = comm.bcast(np.ones(300_000) if r == 0 else None)  # > any eager limit
    assert big.sum() == 300_000


@spmd
def test_received_objects_are_private_copies():
    comm = current_comm()
    shared = np.zeros(3)
    got = comm.bcast(shared, root=0)
    got += comm.rank + 1  # must not change what other ranks received
    comm.barrier()
    if comm.rank == 0:
        np.testing.assert_array_equal(shared, got)
    else:
        np.testing.assert_array_equal(got, np.full(3, comm.rank + 1.0))


@spmd
def test_tree_reduce_merges_in_a_fixed_tree():
    comm = current_comm()
    merged = comm.tree_reduce((comm.rank,), lambda a, b: a + b)
    assert merged == tuple(range(comm.size))
    # Same association as pairwise_fold, on every rank and every backend.
    shape = comm.tree_reduce(str(comm.rank), lambda a, b: f"({a}{b})")
    from d4p.comm import pairwise_fold
    assert shape == pairwise_fold([str(i) for i in range(comm.size)], lambda a, b: f"({a}{b})")


@spmd
def test_agree_raises_same_error_on_every_rank():
    comm = current_comm()
    assert comm.agree(None, "step", info=comm.rank) == list(range(comm.size))
    bad = comm.size - 1
    error = ValueError("broken input") if comm.rank == bad else None
    with pytest.raises(ValueError, match="broken input") as info:
        comm.agree(error, "step")
    if comm.size > 1:
        assert isinstance(info.value, d4p.RankError)
        assert f"rank {bad} of {comm.size}" in str(info.value)
        assert info.value.failures == {bad: ("ValueError", "broken input")}


@spmd
def test_alltoall_sends_each_object_to_its_destination_only():
    comm = current_comm()
    r, size = comm.rank, comm.size
    # Rank r sends (r, d) and an array of length r + d to rank d; nothing to rank r + 1.
    out = [None if d == (r + 1) % size and size > 1 else (r, d, np.arange(r + d))
           for d in range(size)]
    got = comm.alltoall(out)
    assert len(got) == size
    for src, item in enumerate(got):
        if r == (src + 1) % size and size > 1:
            assert item is None
        else:
            assert item[:2] == (src, r)
            np.testing.assert_array_equal(item[2], np.arange(src + r))
    with pytest.raises(ValueError, match="one object per rank"):
        comm.alltoall([None] * (size + 1))


@spmd
def test_row_offset_is_exclusive_prefix_sum():
    comm = current_comm()
    offset, total = comm.row_offset(comm.rank + 1)
    assert offset == comm.rank * (comm.rank + 1) // 2
    assert total == comm.size * (comm.size + 1) // 2


def test_threads_reduction_is_bitwise_repeatable():
    rng = np.random.default_rng(0)
    parts = rng.normal(size=(5, 1000)) * 10.0 ** rng.integers(-8, 8, size=(5, 1000))

    def body():
        return current_comm().allreduce(parts[d4p.my_procid()])

    first = d4p.run_spmd(body, 5)
    for _ in range(3):
        again = d4p.run_spmd(body, 5)
        for a, b in zip(first, again):
            assert a.tobytes() == b.tobytes()


def test_rank_error_pickles_and_keeps_its_types():
    err = d4p.comm.base.build_rank_error({2: ("ValueError", "ValueError", "bad")}, "x", 4)
    assert isinstance(err, ValueError) and isinstance(err, d4p.RankError)
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ValueError) and back.failures == err.failures
    assert str(back) == str(err)


def test_serial_communicator():
    from d4p.comm import SerialCommunicator
    comm = SerialCommunicator()
    assert (comm.rank, comm.size) == (0, 1)
    assert comm.allgather(3) == [3]
    np.testing.assert_array_equal(comm.allreduce(np.ones(2), "max"), np.ones(2))
    with pytest.raises(KeyError):  # one rank: the plain local exception
        comm.agree(KeyError("k"), "step")
