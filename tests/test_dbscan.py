"""dbscan: scikit-learn's labels in batch and for any split over ranks; bad input on every rank."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings, strategies as st
from sklearn.cluster import DBSCAN
from sklearn.datasets import make_blobs, make_moons

import d4p
import naive_dbscan
from spmd import local_rows, row_range, spmd

BOTH = "computeCoreIndices|computeCoreObservations"


def blobs_with_noise(n=600, p=2, seed=0):
    X, _ = make_blobs(n, n_features=p, centers=4, cluster_std=0.6, random_state=seed)
    noise = np.random.default_rng(seed).uniform(X.min(0) - 2, X.max(0) + 2, (n // 10, p))
    return np.vstack([X, noise])


def grid(side, step=1.0):
    """An integer grid (times step): many pairs at exactly one step (ties)."""
    return np.array([[i, j] for i in range(side) for j in range(side)], float) * step


def with_duplicates(seed=1):
    X = blobs_with_noise(150, seed=seed)
    rng = np.random.default_rng(seed)
    return np.vstack([X, X[rng.integers(0, X.shape[0], 120)]])[rng.permutation(X.shape[0] + 120)]


# name -> (data, epsilon, minObservations)
DATASETS = {
    "blobs+noise": (blobs_with_noise(), 0.5, 5),
    "blobs+noise 3-d": (blobs_with_noise(500, 3, seed=2), 0.8, 8),
    "moons": (make_moons(400, noise=0.06, random_state=0)[0], 0.12, 5),
    "duplicates": (with_duplicates(), 0.4, 6),
    "one cluster": (np.random.default_rng(3).normal(size=(200, 2)), 10.0, 3),
    "all noise": (np.random.default_rng(4).uniform(0, 100, (150, 2)), 0.5, 3),
    "min_samples=1": (blobs_with_noise(200), 0.3, 1),
    "integer grid, eps=1 ties": (grid(12), 1.0, 5),
    "integer grid, eps=1 borders": (grid(12), 1.0, 4),
    "0.1 grid, eps=0.1 ties": (grid(11, 0.1), 0.1, 3),
    "0.1 grid, eps=0.1, 5 neighbours": (grid(11, 0.1), 0.1, 5),
    "sqrt(2) ties": (grid(9), np.sqrt(2.0), 6),
    "6-d": (np.random.default_rng(5).normal(size=(400, 6)), 1.3, 6),
    "1-d": (np.round(np.random.default_rng(6).normal(size=(300, 1)) * 20) / 4, 0.25, 4),
    "wide range": (np.vstack([blobs_with_noise(200) * 1e-3, [[1e9, -1e9]]]), 5e-4, 4),
    "borders between clusters": (np.array([[0.0], [1], [2], [3], [4], [5], [6], [10], [11], [12],
                                           [13], [14], [16], [17], [18]]), 1.0, 3),
}


def sklearn_result(X, eps, m, weights=None):
    ref = DBSCAN(eps=eps, min_samples=m).fit(X, sample_weight=weights)
    return ref.labels_, ref.core_sample_indices_


def assert_matches(res, X, eps, m, weights=None):
    labels, cores = sklearn_result(X, eps, m, weights)
    np.testing.assert_array_equal(res.assignments.ravel(), labels)
    assert res.nClusters[0, 0] == labels.max() + 1
    np.testing.assert_array_equal(res.coreIndices.ravel(), cores)
    np.testing.assert_array_equal(res.coreObservations, X[cores])


# ---- batch ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_batch_labels_equal_sklearn(name):
    X, eps, m = DATASETS[name]
    assert_matches(d4p.dbscan(eps, m, resultsToCompute=BOTH).compute(X), X, eps, m)


@pytest.mark.parametrize("name", DATASETS)
def test_memory_saving_mode_gives_the_same(name, monkeypatch):
    import d4p.density

    monkeypatch.setattr(d4p.density, "BLOCK_POINTS", 37)  # many blocks
    X, eps, m = DATASETS[name]
    res = d4p.dbscan(eps, m, memorySavingMode=True, resultsToCompute=BOTH).compute(X)
    assert_matches(res, X, eps, m)


@pytest.mark.parametrize("name, m, weighted, saving", [
    ("one cluster", 200, False, False),   # every point has all 200 points within eps:
    ("one cluster", 201, False, False),   # all core, or none (one extra neighbour shows)
    ("blobs+noise", 4, True, False),
    ("blobs+noise", 4, True, True),
])
def test_pair_arrays_filling_up_mid_block_lose_and_repeat_nothing(name, m, weighted, saving,
                                                                 monkeypatch):
    # Room for one pair at first: the kernel stops before the cell that does not fit,
    # after cells of pairs and inside dense cells, and the next piece goes on from
    # there (with twice the room when one cell does not fit), many times; no pair or
    # neighbour weight may be lost or counted twice.
    import d4p.density

    X, eps, _ = DATASETS[name]
    weights = np.random.default_rng(8).uniform(0.1, 1.9, X.shape[0]) if weighted else None
    roomy = d4p.dbscan(eps, m, memorySavingMode=saving, resultsToCompute=BOTH).compute(X, weights)
    monkeypatch.setattr(d4p.density, "PAIRS_PER_POINT", 0)
    monkeypatch.setattr(d4p.density, "MIN_PAIRS", 1)
    res = d4p.dbscan(eps, m, memorySavingMode=saving, resultsToCompute=BOTH).compute(X, weights)
    labels, core = naive_dbscan.dbscan(X, eps, m, weights)
    np.testing.assert_array_equal(res.assignments.ravel(), labels)
    np.testing.assert_array_equal(res.coreIndices.ravel(), np.flatnonzero(core))
    np.testing.assert_array_equal(res.assignments, roomy.assignments)
    np.testing.assert_array_equal(res.coreIndices, roomy.coreIndices)


@pytest.mark.parametrize("name", ["integer grid, eps=1 borders", "0.1 grid, eps=0.1 ties",
                                  "sqrt(2) ties", "duplicates"])
def test_batch_equals_the_naive_reference(name):
    X, eps, m = DATASETS[name]
    labels, core = naive_dbscan.dbscan(X, eps, m)
    res = d4p.dbscan(eps, m, resultsToCompute="computeCoreIndices").compute(X)
    np.testing.assert_array_equal(res.assignments.ravel(), labels)
    np.testing.assert_array_equal(res.coreIndices.ravel(), np.flatnonzero(core))


def test_border_point_goes_to_the_first_cluster_that_reaches_it():
    # eps=1, 4 points: {0,0,0,1} and {3,4,4,4} are clusters of core points; 2 is
    # within eps of 1 and of 3 but has only 3 neighbours: a border point of both.
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [0.0], [0.0], [4.0], [4.0]])
    res = d4p.dbscan(1.0, 4).compute(X)
    np.testing.assert_array_equal(res.assignments.ravel(), [0, 0, 0, 1, 1, 0, 0, 1, 1])
    # reordered: the other cluster has the smallest core index now, and takes the point
    order = [2, 3, 4, 7, 8, 0, 1, 5, 6]
    res = d4p.dbscan(1.0, 4).compute(X[order])
    np.testing.assert_array_equal(res.assignments.ravel(), [0, 0, 0, 0, 0, 1, 1, 1, 1])
    for Y in (X, X[order]):
        got = d4p.dbscan(1.0, 4).compute(Y).assignments.ravel()
        np.testing.assert_array_equal(got, naive_dbscan.dbscan(Y, 1.0, 4)[0])
        np.testing.assert_array_equal(got, sklearn_result(Y, 1.0, 4)[0])


@pytest.mark.parametrize("n", [1, 2, 5, 11])
def test_tiny_inputs(n):
    X = grid(4)[:n]
    for m in (1, 2, 3):
        labels, core = naive_dbscan.dbscan(X, 1.0, m)
        res = d4p.dbscan(1.0, m).compute(X)
        np.testing.assert_array_equal(res.assignments.ravel(), labels)
        np.testing.assert_array_equal(res.assignments.ravel(), sklearn_result(X, 1.0, m)[0])


def test_result_fields_shapes_and_dtypes():
    X, eps, m = DATASETS["blobs+noise"]
    res = d4p.dbscan(eps, m).compute(X)
    assert res.assignments.shape == (X.shape[0], 1) and res.assignments.dtype == np.int32
    assert res.nClusters.shape == (1, 1) and res.nClusters.dtype == np.int32
    assert res.coreIndices is None and res.coreObservations is None
    res = d4p.dbscan(eps, m, resultsToCompute="computeCoreIndices").compute(X)
    assert res.coreIndices.dtype == np.int32 and res.coreObservations is None
    res = d4p.dbscan(eps, m, fptype="float", resultsToCompute=BOTH).compute(X)
    assert res.coreObservations.dtype == np.float32
    assert res.coreObservations.shape == (res.coreIndices.shape[0], 2)


def test_float32_input():
    X, eps, m = DATASETS["blobs+noise 3-d"]
    X32 = X.astype(np.float32)
    assert_matches(d4p.dbscan(eps, m, fptype="float", resultsToCompute=BOTH).compute(X32),
                   X32, eps, m)


@pytest.mark.parametrize("kind", ["csr", "dataframe", "list", "csv", "int"])
def test_input_kinds(kind, tmp_path):
    import pandas as pd

    X, eps, m = DATASETS["integer grid, eps=1 borders"]
    data = {"csr": lambda: sp.csr_matrix(X), "dataframe": lambda: pd.DataFrame(X),
            "list": lambda: X.tolist(), "int": lambda: X.astype(np.int64)}
    if kind == "csv":
        np.savetxt(tmp_path / "x.csv", X, delimiter=",")
        arg = str(tmp_path / "x.csv")
    else:
        arg = data[kind]()
    res = d4p.dbscan(eps, m, resultsToCompute="computeCoreIndices").compute(arg)
    np.testing.assert_array_equal(res.assignments.ravel(), sklearn_result(X, eps, m)[0])


# ---- weights ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["integers", "zeros and halves", "(n, 1)"])
def test_weights_equal_sklearn_sample_weight(kind):
    X, eps, m = DATASETS["blobs+noise"]
    rng = np.random.default_rng(7)
    if kind == "integers":
        w = rng.integers(0, 4, X.shape[0]).astype(float)
    else:
        w = rng.integers(0, 6, X.shape[0]) / 2.0
    arg = w.reshape(-1, 1) if kind == "(n, 1)" else w
    res = d4p.dbscan(eps, m, resultsToCompute=BOTH).compute(X, arg)
    assert_matches(res, X, eps, m, w)


def test_a_heavy_point_is_core_alone():
    X = np.array([[0.0], [10.0], [10.5]])
    res = d4p.dbscan(1.0, 5).compute(X, np.array([5.0, 1.0, 1.0]))
    np.testing.assert_array_equal(res.assignments.ravel(), [0, -1, -1])


# ---- distributed ------------------------------------------------------------------------------

SPMD_SETS = ["blobs+noise", "moons", "duplicates", "one cluster", "all noise", "min_samples=1",
             "integer grid, eps=1 borders", "0.1 grid, eps=0.1 ties", "6-d", "1-d",
             "borders between clusters"]


def check_distributed(X, eps, m, weights=None, split=None, **kw):
    me, size = d4p.my_procid(), d4p.num_procs()
    lo, hi = row_range(X.shape[0], me, size, split)
    w = None if weights is None else weights[lo:hi]
    res = d4p.dbscan(eps, m, distributed=True, resultsToCompute=BOTH, **kw).compute(X[lo:hi], w)
    labels, cores = sklearn_result(X, eps, m, weights)
    np.testing.assert_array_equal(res.assignments.ravel(), labels[lo:hi])
    assert res.assignments.dtype == np.int32 and res.assignments.shape == (hi - lo, 1)
    assert res.nClusters[0, 0] == labels.max() + 1
    mine = cores[(cores >= lo) & (cores < hi)] - lo  # local row indices
    np.testing.assert_array_equal(res.coreIndices.ravel(), mine)
    np.testing.assert_array_equal(res.coreObservations, X[lo:hi][mine])
    return res


@spmd
def test_distributed_labels_equal_sklearn():
    for name in SPMD_SETS:
        X, eps, m = DATASETS[name]
        check_distributed(X, eps, m)


@spmd(ranks=(2, 5, 8))
def test_distributed_many_empty_ranks_and_uneven_splits():
    size = d4p.num_procs()
    X, eps, m = DATASETS["blobs+noise"]
    check_distributed(X, eps, m, split=[0] * (size - 1) + [1])          # all rows on the last
    check_distributed(X, eps, m, split=[1] + [0] * (size - 1))          # all rows on the first
    check_distributed(X, eps, m, split=[(r % 3 == 0) * (r + 1) for r in range(size)])


@spmd(ranks=(2, 3, 8))
def test_distributed_weights_and_memory_saving_mode():
    X, eps, m = DATASETS["duplicates"]
    w = np.random.default_rng(8).integers(0, 4, X.shape[0]).astype(float)
    check_distributed(X, eps, m, weights=w)
    check_distributed(X, eps, m, memorySavingMode=True)


@spmd(ranks=(2, 4))
def test_distributed_float32_and_empty_rank_of_no_shape():
    X, eps, m = DATASETS["moons"]
    X32 = X.astype(np.float32)
    lo, hi = row_range(X.shape[0], d4p.my_procid(), d4p.num_procs(),
                       ([1, 0] + [1] * 6)[:d4p.num_procs()])
    data = X32[lo:hi] if hi > lo else []
    res = d4p.dbscan(eps, m, distributed=True).compute(data)
    np.testing.assert_array_equal(res.assignments.ravel(), sklearn_result(X32, eps, m)[0][lo:hi])


@spmd(ranks=(2, 3))
def test_rows_already_split_by_space_move_little():
    X, eps, m = DATASETS["blobs+noise"]
    lo, hi = row_range(X.shape[0], d4p.my_procid(), d4p.num_procs(), [1] * d4p.num_procs())
    moved = {}
    for order in ("shuffled", "sorted"):
        Y = X[np.argsort(X[:, 0], kind="stable")] if order == "sorted" else X
        algo = d4p.dbscan(eps, m, distributed=True)
        res = algo.compute(Y[lo:hi])
        np.testing.assert_array_equal(res.assignments.ravel(), sklearn_result(Y, eps, m)[0][lo:hi])
        moved[order] = algo._exchanged["rows moved"]  # rows that change rank, halos aside
    # ranks that hold slabs of x already keep their rows; they send halo copies only
    assert moved["sorted"] <= 0.02 * (hi - lo) and moved["shuffled"] > 0.3 * (hi - lo), moved


@given(n=st.integers(0, 70), p=st.integers(1, 3), nranks=st.integers(1, 8),
       eps=st.sampled_from([0.5, 1.0, 1.5, 2.0]), m=st.integers(1, 6), seed=st.integers(0, 10 ** 6),
       weighted=st.booleans(), data_=st.data())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_any_split_gives_sklearns_labels(n, p, nranks, eps, m, seed, weighted, data_):
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, p)) * 2)            # integers: duplicates and exact-eps ties
    w = rng.integers(0, 3, n).astype(float) if weighted else None
    split = data_.draw(st.lists(st.integers(0, 3), min_size=nranks, max_size=nranks)
                       .filter(lambda s: sum(s) > 0))
    if n == 0:
        return
    labels, core = naive_dbscan.dbscan(X, eps, m, w)
    if w is None or w.any():  # scikit-learn refuses all-zero weights; d4p: all noise
        np.testing.assert_array_equal(labels, sklearn_result(X, eps, m, w)[0])

    def body():
        lo, hi = row_range(n, d4p.my_procid(), nranks, split)
        res = d4p.dbscan(eps, m, distributed=True, resultsToCompute="computeCoreIndices") \
            .compute(X[lo:hi], None if w is None else w[lo:hi])
        return lo, res

    for lo, res in d4p.run_spmd(body, nranks):
        k = res.assignments.shape[0]
        np.testing.assert_array_equal(res.assignments.ravel(), labels[lo:lo + k])
        np.testing.assert_array_equal(res.coreIndices.ravel(), np.flatnonzero(core[lo:lo + k]))
        assert res.nClusters[0, 0] == labels.max() + 1


def test_memory_saving_mode_distributed_with_small_blocks(monkeypatch):
    import d4p.density

    monkeypatch.setattr(d4p.density, "BLOCK_POINTS", 29)
    X, eps, m = DATASETS["blobs+noise 3-d"]
    d4p.run_spmd(lambda: check_distributed(X, eps, m, memorySavingMode=True), 3)


# ---- parameters and bad input -------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0, -1.0, np.nan])
def test_bad_epsilon(eps):
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        d4p.dbscan(eps, 3).compute(np.ones((4, 2)))


@pytest.mark.parametrize("m", [0, 0.5, -3, np.nan, np.inf])
def test_bad_min_observations(m):
    with pytest.raises(ValueError, match="minObservations must be a finite number >= 1"):
        d4p.dbscan(1.0, m).compute(np.ones((4, 2)))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(epsilon="1"), TypeError, "epsilon must be a number"),
    (dict(minObservations=True), TypeError, "minObservations must be a number"),
])
def test_parameter_types(kwargs, exc, match):
    args = {"epsilon": 1.0, "minObservations": 3, **kwargs}
    with pytest.raises(exc, match=match):
        d4p.dbscan(**args).compute(np.ones((4, 2)))


def test_constructor_rejects():
    with pytest.raises(ValueError, match="streaming=True is not supported"):
        d4p.dbscan(1.0, 3, streaming=True)
    with pytest.raises(ValueError, match="unknown method"):
        d4p.dbscan(1.0, 3, method="kdTree")
    with pytest.raises(ValueError, match="fptype"):
        d4p.dbscan(1.0, 3, fptype="half")
    with pytest.raises(ValueError, match="resultsToCompute"):
        d4p.dbscan(1.0, 3, resultsToCompute="computeCoreIndices|everything")
    with pytest.raises(TypeError, match="nBlocks must be an integer"):
        d4p.dbscan(1.0, 3, nBlocks=1.5)
    with pytest.raises(TypeError, match="memorySavingMode"):
        d4p.dbscan(1.0, 3, memorySavingMode="yes")
    with pytest.raises(TypeError):
        d4p.dbscan(1.0)  # minObservations is required, as in daal4py


def test_memory_saving_mode_as_daal4py_examples_pass_it():
    X, eps, m = DATASETS["moons"]
    res = d4p.dbscan(minObservations=m, epsilon=eps, memorySavingMode=1,
                     resultsToCompute="computeCoreIndices|computeCoreObservations").compute(X)
    assert_matches(res, X, eps, m)
    with pytest.raises(TypeError, match="memorySavingMode"):
        d4p.dbscan(eps, m, memorySavingMode=2)


def test_daal4py_internal_block_parameters_are_ignored():
    X, eps, m = DATASETS["moons"]
    res = d4p.dbscan(eps, m, blockIndex=0, nBlocks=4, leftBlocks=1, rightBlocks=2).compute(X)
    np.testing.assert_array_equal(res.assignments.ravel(), sklearn_result(X, eps, m)[0])


def on_last_rank(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


def expect_all_ranks(exc_type, match, compute):
    with pytest.raises(exc_type, match=match) as info:
        compute()
    if d4p.num_procs() > 1:
        assert isinstance(info.value, d4p.RankError)
        assert f"rank {d4p.num_procs() - 1} of {d4p.num_procs()}" in str(info.value)


@spmd
def test_bad_input_on_one_rank_raises_on_every_rank():
    good = np.arange(12.0).reshape(6, 2)
    nan, inf = good.copy(), good.copy()
    nan[2, 1], inf[4, 0] = np.nan, np.inf
    w = np.ones(6)

    def run(X, weights=None, eps=1.0, m=2):
        return lambda: d4p.dbscan(eps, m, distributed=True).compute(X, weights)

    expect_all_ranks(ValueError, "nan at row 2, column 1", run(on_last_rank(nan, good)))
    expect_all_ranks(ValueError, "inf at row 4, column 0", run(on_last_rank(inf, good)))
    expect_all_ranks(ValueError, "epsilon must be > 0", run(good, eps=on_last_rank(-1.0, 1.0)))
    expect_all_ranks(ValueError, "epsilon must be > 0", run(good, eps=on_last_rank(np.nan, 1.0)))
    expect_all_ranks(ValueError, "minObservations must be", run(good, m=on_last_rank(0, 2)))
    expect_all_ranks(ValueError, r"weights has shape \(5, 1\)",
                     run(good, on_last_rank(np.ones(5), w)))
    expect_all_ranks(ValueError, "weights must be >= 0; row 3",
                     run(good, on_last_rank(np.array([1, 1, 1, -1.0, 1, 1]), w)))
    expect_all_ranks(ValueError, "weights contains nan",
                     run(good, on_last_rank(np.full(6, np.nan), w)))
    # and the same object works afterwards
    res = d4p.dbscan(1.0, 2, distributed=True).compute(good)
    assert res.nClusters[0, 0] == (6 if d4p.num_procs() > 1 else 0)  # each rank's copy pairs up


@spmd(ranks=(2, 3, 4))
def test_parameter_mismatch_raises_on_every_rank():
    X = local_rows(DATASETS["moons"][0])
    last = d4p.num_procs() - 1
    for kwargs, name in [({"epsilon": on_last_rank(0.2, 0.1)}, "epsilon"),
                         ({"minObservations": on_last_rank(4, 5)}, "minObservations"),
                         ({"resultsToCompute": on_last_rank("computeCoreIndices", "")},
                          "resultsToCompute")]:
        args = {"epsilon": 0.1, "minObservations": 5, **kwargs}
        with pytest.raises(ValueError, match=name) as info:
            d4p.dbscan(distributed=True, **args).compute(X)
        assert f"rank {last}" in str(info.value)
    with pytest.raises(ValueError, match="weights is 'given'|weights is 'not given'"):
        d4p.dbscan(0.1, 5, distributed=True).compute(X, on_last_rank(np.ones(X.shape[0]), None))


@spmd
def test_no_rows_anywhere():
    with pytest.raises(ValueError, match="no rows on any rank"):
        d4p.dbscan(1.0, 2, distributed=True).compute(np.empty((0, 3)))
    with pytest.raises(ValueError, match="empty on every rank"):
        d4p.dbscan(1.0, 2, distributed=True).compute([])


def test_no_columns():
    with pytest.raises(ValueError, match="no columns"):
        d4p.dbscan(1.0, 2).compute(np.empty((3, 0)))


def test_finalize_is_not_a_dbscan_step():
    with pytest.raises(ValueError, match="finalize"):
        d4p.dbscan(1.0, 2).finalize()
