"""Many ranks: the registered @spmd bodies on 16 and 64 simulated ranks and under
``mpiexec -n 8`` (oversubscribed), and the cost of ``tree_reduce`` as P grows.

By default a fast subset of the bodies runs, chosen by name so new bodies join it:
the Communicator contract, every "equals batch", "on one rank" and "per rank"
body, k-means' empty clusters and PCA-then-transform, minus the few that take tens
of seconds at 64 ranks on a 2-core machine (about 50 s on threads, 60 s under
``mpiexec -n 8``).  ``D4P_MANY_RANKS=all`` runs every body (about 6 minutes).
"""
import glob
import importlib
import json
import math
import os
import textwrap

import pytest

import d4p
from d4p._engine import current_comm
from mpi_tools import requires_mpi, run_mpi
from spmd import REGISTRY

HERE = os.path.dirname(os.path.abspath(__file__))
MANY_RANKS = (16, 64)
MPI_MANY = 8

for _path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
    _name = os.path.splitext(os.path.basename(_path))[0]
    if _name != __name__:
        importlib.import_module(_name)

_FAST_MARKS = ("test_comm:", "equals_batch", "on_one_rank", "per_rank", "empty_clusters",
               "pca_then_local_transform", "test_spmd_estimators_models:_dbscan")
# Correct at 64 ranks too, but each takes 10-80 s there on a 2-core machine.
_SLOW = ("every_method", "every_parameter", "kmeans_distributed_equals_batch",
         "mixed_layouts", "rank_zero_has_fewer_rows",
         "init_distributed_equals_batch_plusPlusDense-seed=777777",  # seed=5 stays
         "init_distributed_equals_batch_parallelPlusDense-seed=777777")


def selected_bodies():
    if os.environ.get("D4P_MANY_RANKS", "").lower() == "all":
        return sorted(REGISTRY)
    return sorted(n for n in REGISTRY
                  if any(m in n for m in _FAST_MARKS) and not any(s in n for s in _SLOW))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("nranks", MANY_RANKS)
@pytest.mark.parametrize("body", selected_bodies())
def test_body_on_many_simulated_ranks(body, nranks):
    d4p.run_spmd(REGISTRY[body], nranks)


def test_the_subset_covers_every_algorithm_module():
    modules = {n.split(":")[0] for n in REGISTRY}
    assert modules == {n.split(":")[0] for n in selected_bodies()}


# ---- tree_reduce: depth and per-rank traffic grow as log P -----------------------


def _merge(a, b):
    """(depth of the merge tree so far, ranks merged)."""
    return (max(a[0], b[0]) + 1, a[1] + b[1])


def _tree_cost():
    comm = current_comm()
    before = dict(comm.traffic)
    merged = comm.tree_reduce((0, 1), _merge)
    used = {k: comm.traffic[k] - before[k] for k in before}
    return merged, used


@pytest.mark.timeout(120)
@pytest.mark.parametrize("nranks", [2, 3, 4, 7, 16, 64])
def test_tree_reduce_depth_and_traffic_grow_as_log_p_on_threads(nranks):
    out = d4p.run_spmd(_tree_cost, nranks)
    levels = math.ceil(math.log2(nranks))
    for merged, _ in out:
        assert merged == (levels, nranks)
    per_rank = [used["sent"] + used["received"] for _, used in out]
    # Each rank sends its partial once and receives one per level it merges, plus
    # the broadcast result: at most log2(P) + 1 objects, never P - 1.
    assert max(per_rank) <= levels + 1
    assert out[0][1]["received"] == levels  # rank 0 merges once per level
    assert sum(u["sent"] for _, u in out) == nranks - 1


MPI_JOB = textwrap.dedent('''
    import json, math, sys, traceback
    sys.path.insert(0, sys.argv[3])
    import test_many_ranks as many
    from spmd import REGISTRY
    from d4p._engine import current_comm

    out, names = sys.argv[1], sys.argv[2].split(",")
    comm = current_comm()
    results = {}
    for name in names:
        try:
            REGISTRY[name]()
            error = None
        except BaseException:
            error = traceback.format_exc()
        failed = [e for e in comm.allgather(error) if e]
        results[name] = "ok" if not failed else failed[0]
        if failed:
            break  # a failed body can leave ranks out of step
    merged, used = many._tree_cost()  # (depth, count) statistics
    before = dict(comm.traffic)
    comm.tree_reduce(bytes(1000), lambda a, b: a)  # 1000-byte statistics
    big = {k: comm.traffic[k] - before[k] for k in before}
    used, big = comm.allgather(used), comm.allgather(big)
    if comm.rank == 0:
        with open(out, "w") as fh:
            json.dump({"bodies": results, "merged": merged, "used": used, "big": big}, fh)
''')


@pytest.fixture(scope="module")
def mpi_many(tmp_path_factory):
    work = tmp_path_factory.mktemp("many")
    script, out = work / "job.py", work / "out.json"
    script.write_text(MPI_JOB)
    proc = run_mpi(MPI_MANY, [str(script), str(out), ",".join(selected_bodies()), HERE],
                   timeout=900, env={"D4P_NO_WARMUP": "1"})
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"mpiexec -n {MPI_MANY} failed (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


@requires_mpi
@pytest.mark.timeout(960)
@pytest.mark.parametrize("body", selected_bodies())
def test_body_under_mpiexec_n8(mpi_many, body):
    assert mpi_many["bodies"].get(body) == "ok", mpi_many["bodies"].get(body, "not run")


@requires_mpi
@pytest.mark.timeout(960)
def test_tree_reduce_depth_and_traffic_are_log_p_under_mpi(mpi_many):
    levels = math.ceil(math.log2(MPI_MANY))
    assert tuple(mpi_many["merged"]) == (levels, MPI_MANY)
    for used in (mpi_many["used"], mpi_many["big"]):
        assert max(u["sent"] + u["received"] for u in used) <= levels + 1
        assert used[0]["received"] == levels
        assert sum(u["sent"] for u in used) == MPI_MANY - 1
    # Bytes: rank 0 receives one 1000-byte statistic per level, not one per rank.
    big = mpi_many["big"]
    assert 1000 * levels <= big[0]["received_bytes"] < 1100 * levels
    assert max(u["sent_bytes"] for u in big) < 1100
