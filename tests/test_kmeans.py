"""kmeans_init and kmeans: exact references, rank-count invariance, scikit-learn, errors."""
import pickle
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import d4p
import naive_kmeans as nk
from spmd import local_rows, spmd

INIT_METHODS = ("defaultDense", "randomDense", "plusPlusDense", "parallelPlusDense")
ENGINES = (d4p.engines_mt19937, d4p.engines_mt2203, d4p.engines_mcg59, d4p.engines_mrg32k3a,
           d4p.engines_philox4x32x10)


def blobs(n=400, p=3, centers=4, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10, 10, size=(centers, p))
    labels = rng.integers(0, centers, size=n)
    return means[labels] + spread * rng.normal(size=(n, p))


def spmd_cases(cases, ids, **spmd_options):
    """Register one @spmd test per case: ``<name>_<id>`` runs ``body(case)``.

    (An @spmd body takes no arguments, so each case gets its own named body, which
    pytest runs on simulated ranks and tests/test_mpi.py under mpiexec.)"""
    def register(body):
        module = sys.modules[body.__module__]
        for case, case_id in zip(cases, ids):
            def one(case=case):
                body(case)

            one.__name__ = one.__qualname__ = f"{body.__name__}_{case_id}"
            one.__module__ = body.__module__
            one.__doc__ = body.__doc__
            setattr(module, one.__name__, spmd(**spmd_options)(one))
        return None  # the cases are the tests

    return register


def reference_init(X, method, k, seed, nTrials=1, oversamplingFactor=0.5, nRounds=5):
    if method in ("defaultDense", "deterministicDense"):
        return nk.deterministic(X, k)
    if method == "randomDense":
        return nk.random_rows(X, k, seed)
    if method == "plusPlusDense":
        return nk.plus_plus(X, k, nTrials, seed)
    return nk.parallel_plus(X, k, oversamplingFactor, nRounds, seed)


# ---- engines and constructors ---------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_carry_the_seed(engine):
    assert engine().seed == 777777
    e = engine("float", "defaultDense", 5)
    assert e.seed == 5 and pickle.loads(pickle.dumps(e)) == e
    with pytest.raises(ValueError, match="seed"):
        engine(seed=-5)
    with pytest.raises(TypeError, match="seed"):
        engine(seed=1.5)
    with pytest.raises(ValueError, match="unknown method"):
        engine(method="nope")


def test_engine_and_seed_keyword_are_the_same_draws():
    X = blobs(200, 2)
    a = d4p.kmeans_init(4, method="plusPlusDense", engine=d4p.engines_mcg59(seed=9)).compute(X)
    b = d4p.kmeans_init(4, method="plusPlusDense", seed=9).compute(X)
    c = d4p.kmeans_init(4, method="plusPlusDense").compute(X)
    d = d4p.kmeans_init(4, method="plusPlusDense", engine=d4p.engines_mt19937()).compute(X)
    assert a == b and c == d and a != c
    with pytest.raises(ValueError, match="not both"):
        d4p.kmeans_init(4, engine=d4p.engines_mt19937(), seed=1)
    with pytest.raises(TypeError, match="engine"):
        d4p.kmeans_init(4, engine=7)


def test_constructor_checks_and_positional_order():
    init = d4p.kmeans_init(3, "float", "randomDense", 2, 1.5, 3)
    assert (init.fptype, init.method, init.nTrials, init.oversamplingFactor, init.nRounds) == \
        ("float", "randomDense", 2, 1.5, 3)
    defaults = d4p.kmeans_init(3)
    assert (defaults.nTrials, defaults.oversamplingFactor, defaults.nRounds, defaults.seed) == \
        (1, 0.5, 5, 777777)
    km = d4p.kmeans(2, 3, "float", "lloydCSR", 0.5)
    assert (km.fptype, km.method, km.accuracyThreshold, km.maxIterations) == \
        ("float", "lloydCSR", 0.5, 3)
    assert d4p.kmeans(2, 3).accuracyThreshold == 0.0
    with pytest.raises(ValueError, match="unknown method.*plusPlusDense"):
        d4p.kmeans_init(3, method="kmeans++")
    with pytest.raises(ValueError, match="unknown method.*lloydDense"):
        d4p.kmeans(3, 2, method="elkanDense")
    with pytest.raises(ValueError, match="nClusters"):
        d4p.kmeans_init(0)
    with pytest.raises(TypeError, match="maxIterations"):
        d4p.kmeans(2, 1.5)
    with pytest.raises(ValueError, match="maxIterations"):
        d4p.kmeans(2, -1)
    with pytest.raises(ValueError, match="accuracyThreshold"):
        d4p.kmeans(2, 1, accuracyThreshold=-1.0)
    with pytest.raises(ValueError, match="unexpected value"):
        d4p.kmeans(2, 1, resultsToEvaluate="computeLabels")
    with pytest.raises(ValueError, match="euclidean"):
        d4p.kmeans(2, 1, distanceType="manhattan")
    with pytest.raises(ValueError, match="oversamplingFactor"):
        d4p.kmeans_init(2, oversamplingFactor=0.0)
    with pytest.raises(ValueError, match="nTrials"):
        d4p.kmeans_init(2, nTrials=0)
    with pytest.raises(TypeError, match="assignFlag"):
        d4p.kmeans(2, 1, assignFlag=1)


# ---- the row distance kernel ---------------------------------------------------------


def test_row_distance_is_accurate_exact_zero_and_position_independent():
    from d4p.kernels import kmeans as kk
    from d4p.kernels.kmeans import sqdist_row, sqdists

    rng = np.random.default_rng(4)
    for p in (1, 3, 7, 8, 9, 50, 131):
        X = rng.normal(size=(40, p)) * 10.0 ** rng.integers(-3, 4, size=p)
        c = X[7].copy()
        d = sqdists(X, c)
        np.testing.assert_allclose(d, ((X - c) ** 2).sum(axis=1), rtol=1e-13)
        assert d[7] == 0.0
        for off in range(8):  # the same row at every alignment and block position
            buf = np.empty(off + 3 * p)
            buf[off + p:off + 2 * p] = X[3]
            Y = buf[off:].reshape(3, p)
            assert sqdist_row(Y, 1, c.reshape(1, -1), 0) == d[3]
        # Other layouts and dtypes reach the kernel as C-ordered float64 chunks.
        for other in (np.asfortranarray(X), X.astype(np.float32), X[:, ::-1][:, ::-1]):
            mind = np.full(len(X), np.inf)
            kk.init_pass(other, 0, c.reshape(1, -1), 0, mind, np.empty(0, np.int64),
                                np.empty(0), np.empty(0, np.uint64), False, False, 16)
            np.testing.assert_array_equal(
                mind, sqdists(np.ascontiguousarray(other, dtype=np.float64), c))


# ---- kmeans_init: exact references ------------------------------------------------------------


#: (method, extra parameters): every method, k-means++ with trials, k-means|| variants
REFERENCE_CASES = [(m, {}) for m in INIT_METHODS] + [
    ("plusPlusDense", dict(nTrials=2)), ("plusPlusDense", dict(nTrials=5)),
    ("parallelPlusDense", dict(oversamplingFactor=0.1, nRounds=1)),
    ("parallelPlusDense", dict(oversamplingFactor=2.0, nRounds=3)),
    ("parallelPlusDense", dict(oversamplingFactor=0.5, nRounds=8))]


def _case_id(case):
    method, extra = case
    return method + "".join(f"-{k}={v}" for k, v in extra.items())


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=_case_id)
@pytest.mark.parametrize("seed", [777777, 0, 12345])
@pytest.mark.parametrize("k", [1, 4, 9])
def test_init_methods_equal_the_reference(seed, k, case):
    method, extra = case
    X = blobs(600, 4, centers=6, seed=seed % 7)
    got = d4p.kmeans_init(k, method=method, seed=seed, **extra).compute(X).centroids
    np.testing.assert_array_equal(got, reference_init(X, method, k, seed, **extra))


@pytest.mark.parametrize("method", ["randomDense", "plusPlusDense", "parallelPlusDense"])
def test_init_large_enough_for_the_parallel_kernels(method):
    X = blobs(40_000, 5, centers=8, seed=2)
    got = d4p.kmeans_init(8, method=method, seed=4).compute(X).centroids
    np.testing.assert_array_equal(got, reference_init(X, method, 8, 4))


@pytest.mark.parametrize("chunk", [1, 5, 64, 10_000])
@pytest.mark.parametrize("weighted", [False, True])
def test_lazy_race_is_the_exact_race_and_reads_few_rows(chunk, weighted):
    # k-means++ draws after the first read only the rows whose bound from a stale
    # distance (centres C[:seen[i]] only) does not rule them out.  The winner must
    # be the exact race's whatever the stale state, also with rows of zero weight.
    from d4p.kernels import kmeans as kk

    from d4p.kernels.kmeans import sqdists  # the distances the kernels compare

    rng = np.random.default_rng(chunk)
    X = np.round(blobs(3000, 3, centers=5, seed=chunk), 1)  # duplicates: zero weights
    C = X[rng.choice(len(X), 6, replace=False)]
    D = np.minimum.accumulate(np.stack([sqdists(X, c) for c in C]), axis=0)
    row_w = rng.integers(0, 3, len(X)).astype(np.float64) if weighted else np.empty(0)
    for trial in range(4):
        key = np.uint64(nk.stream_key(5, 2, trial, 0))
        expected = nk.race(key, D[-1] * row_w if weighted else D[-1])
        seen0 = rng.integers(1, 7, len(X)).astype(np.int32)
        for parallel, layout in ((False, "C"), (True, "F")):
            seen, mind = seen0.copy(), D[seen0 - 1, np.arange(len(X))].copy()
            A = np.asarray(X, order=layout)
            bk, bi = kk.lazy_race(A, 0, C, 6, mind, seen, row_w, key, chunk, parallel=parallel)
            c = int(np.argmin(bk))
            assert (bi[c] if bk[c] < np.inf else None) == expected
            read = seen != seen0
            assert (seen[read] == 6).all()
            np.testing.assert_array_equal(mind[read | (seen0 == 6)], D[-1][read | (seen0 == 6)])
            np.testing.assert_array_equal(mind[~read], D[seen0 - 1, np.arange(len(X))][~read])
            if chunk >= 64:
                assert read.sum() < 0.1 * len(X)


@pytest.mark.parametrize("seed", [0, 777777, 2 ** 63 + 5])
def test_lazy_plus_plus_with_small_chunks_on_any_split(monkeypatch, seed):
    monkeypatch.setattr("d4p.seeding.LAZY_CHUNK_ROWS", 7)
    X = blobs(900, 4, centers=8, seed=6)
    ref = nk.plus_plus(X, 9, 1, seed)
    np.testing.assert_array_equal(
        d4p.kmeans_init(9, method="plusPlusDense", seed=seed).compute(X).centroids, ref)

    def body():
        return d4p.kmeans_init(9, method="plusPlusDense", seed=seed, distributed=True) \
            .compute(local_rows(X, [3, 0, 1, 5])).centroids

    for got in d4p.run_spmd(body, 4):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("method", INIT_METHODS)
def test_init_centroids_are_distinct_rows(method):
    X = blobs(300, 3, seed=5)
    C = d4p.kmeans_init(10, method=method, seed=1).compute(X).centroids
    assert len({tuple(c) for c in C}) == 10
    assert all((X == c).all(axis=1).any() for c in C)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("method", ["plusPlusDense", "parallelPlusDense"])
def test_plus_plus_spreads_the_centres(method, seed):
    # Four tight, far-apart blobs: k-means++ and k-means|| put one centre in each.
    X = blobs(2000, 2, centers=4, seed=11, spread=0.01)
    truth = np.unique(np.round(X, 0), axis=0)
    C = d4p.kmeans_init(4, method=method, seed=seed).compute(X).centroids
    nearest = np.argmin(((C[:, None, :] - truth[None]) ** 2).sum(-1), axis=1)
    assert len(set(nearest)) == 4


@pytest.mark.parametrize("method", INIT_METHODS)
def test_duplicate_rows_fewer_distinct_than_clusters(method):
    # Only three distinct rows but five centres: the draws fall back to uniform choices.
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 4, axis=0)
    C = d4p.kmeans_init(5, method=method, seed=2).compute(X).centroids
    assert C.shape == (5, 2) and all((X == c).all(axis=1).any() for c in C)
    if method != "defaultDense":
        assert len({tuple(c) for c in C}) == 3
    np.testing.assert_array_equal(C, reference_init(X, method, 5, 2))


@pytest.mark.parametrize("method", INIT_METHODS)
def test_init_input_kinds_float32_sparse_fortran(method):
    sp = pytest.importorskip("scipy.sparse")
    X = blobs(500, 4, seed=3)
    X[np.abs(X) < 3] = 0.0
    ref = d4p.kmeans_init(6, method=method, seed=8).compute(X).centroids
    for other in (np.asfortranarray(X), sp.csr_matrix(X), X[:, ::1].copy(order="F")):
        got = d4p.kmeans_init(6, method=method, seed=8).compute(other).centroids
        np.testing.assert_array_equal(got, ref, err_msg=type(other).__name__)
    csr_method = method.replace("Dense", "CSR").replace("default", "deterministic")
    got = d4p.kmeans_init(6, method=csr_method, seed=8).compute(sp.csr_matrix(X))
    np.testing.assert_array_equal(got.centroids, ref)
    X32 = X.astype(np.float32)
    got = d4p.kmeans_init(6, "float", method, seed=8).compute(X32).centroids
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, reference_init(X32, method, 6, 8).astype(np.float32))


def test_init_result_prints_and_pickles():
    res = d4p.kmeans_init(2).compute(blobs(10, 2))
    assert "centroids: array(shape=(2, 2), dtype=float64)" in str(res)
    assert pickle.loads(pickle.dumps(res)) == res


# ---- kmeans_init: any split gives the batch result --------------------------------------------


def _split_bodies(X, k, method, weights_list, **params):
    ref = d4p.kmeans_init(k, method=method, **params).compute(X).centroids
    for weights in weights_list:
        got = d4p.kmeans_init(k, method=method, distributed=True, **params).compute(
            local_rows(X, weights))
        np.testing.assert_array_equal(got.centroids, ref, err_msg=f"{weights}")


#: (method, parameters) of the distributed kmeans_init cases: every method with two
#: seeds on several splits (k=6), and k-means++ trials and k-means|| rounds (k=4)
SPLIT_CASES = [(m, dict(seed=seed)) for m in INIT_METHODS for seed in (777777, 5)] + [
    ("plusPlusDense", dict(seed=1, nTrials=3)),
    ("parallelPlusDense", dict(seed=1, oversamplingFactor=3.0, nRounds=2))]


@spmd_cases(SPLIT_CASES, [_case_id(c) for c in SPLIT_CASES])
def test_init_distributed_equals_batch(case):
    method, params = case
    X = blobs(700, 3, centers=5, seed=21)
    size = d4p.num_procs()
    if set(params) == {"seed"}:
        splits = [None, [1] * size, [0] * (size - 1) + [1], [1] + [0] * (size - 1),
                  [r % 3 for r in range(size)] if size > 2 else None]
        _split_bodies(X, 6, method, splits, **params)
    else:
        _split_bodies(X, 4, method, [None], **params)


@spmd_cases(INIT_METHODS, INIT_METHODS)
def test_init_mixed_layouts_and_dtypes_across_ranks(method):
    X = blobs(500, 5, centers=4, seed=13) * 1000.0 + 0.123456789
    rows = local_rows(X)
    r = d4p.my_procid()
    mine = [rows, np.asfortranarray(rows), rows[:, ::-1][:, ::-1]][r % 3]
    ref = d4p.kmeans_init(6, method=method, seed=2, nTrials=2).compute(X).centroids
    got = d4p.kmeans_init(6, method=method, seed=2, nTrials=2, distributed=True).compute(mine)
    np.testing.assert_array_equal(got.centroids, ref)


@spmd_cases(INIT_METHODS, INIT_METHODS)
def test_init_rank_zero_has_fewer_rows_than_clusters(method):
    X = blobs(60, 2, seed=4)
    size = d4p.num_procs()
    weights = [1] + [20] * (size - 1)
    _split_bodies(X, 8, method, [weights], seed=3)
    if method == "defaultDense":
        np.testing.assert_array_equal(
            d4p.kmeans_init(8, distributed=True).compute(local_rows(X, weights)).centroids,
            X[:8])


@spmd_cases(INIT_METHODS, INIT_METHODS)
def test_init_empty_rank_as_list_and_float32(method):
    X = blobs(100, 3, seed=6).astype(np.float32)
    last = d4p.my_procid() == d4p.num_procs() - 1
    ref = d4p.kmeans_init(5, "float", method).compute(X).centroids
    got = d4p.kmeans_init(5, "float", method, distributed=True).compute(X if last else [])
    assert got.centroids.dtype == np.float32
    np.testing.assert_array_equal(got.centroids, ref)


@given(n=st.integers(1, 80), p=st.integers(1, 4), k=st.integers(1, 6), nranks=st.integers(1, 8),
       seed=st.integers(0, 2 ** 64 - 1), method=st.sampled_from(INIT_METHODS),
       trials=st.integers(1, 3), data_=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_init_any_split_equals_batch_and_reference(n, p, k, nranks, seed, method,
                                                            trials, data_):
    k = min(k, n)
    rng = np.random.default_rng(seed % 1000)
    X = np.round(rng.normal(size=(n, p)), data_.draw(st.sampled_from([0, 1, 8])))  # ties too
    weights = data_.draw(st.lists(st.integers(0, 4), min_size=nranks, max_size=nranks)
                         .filter(lambda w: sum(w) > 0))
    ref = reference_init(X, method, k, seed, nTrials=trials)

    def body():
        return d4p.kmeans_init(k, method=method, nTrials=trials, seed=seed,
                               distributed=True).compute(local_rows(X, weights)).centroids

    for got in d4p.run_spmd(body, nranks):
        np.testing.assert_array_equal(got, ref)


# ---- kmeans: references ------------------------------------------------------------------------


def assert_lloyd(res, X, C0, max_iter, threshold=0.0, rtol=1e-10):
    C, labels, objective, iterations = nk.lloyd(X, C0, max_iter, threshold)
    np.testing.assert_allclose(res.centroids, C, rtol=rtol, atol=1e-10)
    np.testing.assert_array_equal(res.assignments.ravel(), labels)
    scale = 1.0 + float((np.asarray(X, dtype=np.float64) ** 2).sum())
    np.testing.assert_allclose(res.objectiveFunction[0, 0], objective, rtol=rtol,
                               atol=1e-14 * scale)
    assert res.nIterations[0, 0] == iterations
    assert res.assignments.dtype == np.int32 and res.nIterations.dtype == np.int32
    assert res.objectiveFunction.shape == (1, 1) and res.assignments.shape == (len(X), 1)


@pytest.mark.parametrize("max_iter", [0, 1, 2, 5, 100])
@pytest.mark.parametrize("threshold", [0.0, 1e-3, 10.0])
def test_lloyd_equals_onedal_semantics(max_iter, threshold):
    X = blobs(500, 4, centers=5, seed=1)
    C0 = X[:5]
    res = d4p.kmeans(5, max_iter, accuracyThreshold=threshold).compute(X, C0)
    assert_lloyd(res, X, C0, max_iter, threshold)
    if max_iter == 0:
        np.testing.assert_array_equal(res.centroids, C0)


def test_lloyd_large_enough_for_several_blocks_and_workers():
    X = blobs(60_000, 6, centers=7, seed=9)
    C0 = X[:7]
    assert_lloyd(d4p.kmeans(7, 20).compute(X, C0), X, C0, 20)


def _other_layout(X, layout):
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "strided":
        return np.repeat(X, 2, axis=0)[::2]
    A = X.copy()
    A.flags.writeable = False
    return A


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("layout", ["F", "strided", "read-only"])
@pytest.mark.parametrize("fptype", ["double", "float"])
def test_lloyd_centring_in_the_kernel_or_in_numpy_gives_the_same_bits(monkeypatch, fptype,
                                                                     layout, weighted):
    # C-ordered rows of the compute dtype are centred by the assignment kernel,
    # one block ahead; other inputs by numpy.  64-row blocks in 3 groups: many
    # blocks per group, a short last block.
    from d4p import lloyd

    monkeypatch.setattr(lloyd.LloydPass, "BLOCK_BYTES", 1)
    monkeypatch.setattr(lloyd.LloydPass, "MAX_GROUPS", 3)
    X = blobs(3001, 5, centers=6, seed=4)
    if fptype == "float":
        X = X.astype(np.float32)
    w = np.random.default_rng(1).uniform(0.0, 2.0, len(X)) if weighted else None
    C0 = X[:6].astype(np.float64)
    alg = d4p.kmeans(6, 12, fptype=fptype, assignFlag=True)
    ref = alg.compute(X, C0, weights=w)
    res = alg.compute(_other_layout(X, layout), C0, weights=w)
    for name in ("centroids", "assignments", "objectiveFunction", "nIterations"):
        np.testing.assert_array_equal(getattr(res, name), getattr(ref, name))
    if fptype == "double" and not weighted:
        assert_lloyd(ref, X, C0, 12)


def test_lloyd_kernel_sees_only_its_buffers_type():
    # Every input reaches the assignment kernel as rows of its buffers' own type
    # (C-ordered, writeable), so input layouts add no compiled signature.
    from d4p.kernels import kmeans as kk

    X = blobs(500, 4, seed=2)
    for layout in ("C", "F", "strided", "read-only"):
        A = X if layout == "C" else _other_layout(X, layout)
        d4p.kmeans(3, 2).compute(A, X[:3])
        d4p.kmeans(3, 2, fptype="float").compute(A.astype(np.float32), X[:3])
    assert kk.assign_block.signatures
    for sig in kk.assign_block.signatures:
        buf, src, out = sig[0], sig[17], sig[19]
        assert buf == src == out and buf.layout == "C" and buf.mutable, sig


def _two_groups_and_two_far_centroids():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 10])
    C0 = np.array([[0.0, 0.0], [10.0, 10.0], [100.0, 100.0], [200.0, -50.0]])
    return X, C0


@pytest.mark.parametrize("it", [1, 2, 5, 10])
def test_empty_clusters_equal_the_reference(it):
    X, C0 = _two_groups_and_two_far_centroids()
    assert_lloyd(d4p.kmeans(4, it).compute(X, C0), X, C0, it)


def test_empty_clusters_take_the_farthest_rows():
    # Two real groups; two starting centroids far away get no rows and are
    # re-seeded with the two rows farthest from their centroid, which leave
    # their old cluster (values checked against daal4py 2026.2).
    X, C0 = _two_groups_and_two_far_centroids()
    res = d4p.kmeans(4, 1).compute(X, C0)
    np.testing.assert_array_equal(res.centroids[2:], X[[23, 6]])
    np.testing.assert_allclose(res.centroids[:2], [[-0.16245194677256605, 0.16908618181941815],
                                                   [10.34618248, 10.1078627]], rtol=1e-8)
    np.testing.assert_allclose(res.objectiveFunction[0, 0], 52.562492337351294, rtol=1e-12)
    res = d4p.kmeans(4, 10).compute(X, C0)
    np.testing.assert_allclose(res.objectiveFunction[0, 0], 41.23908306107285, rtol=1e-12)
    assert res.nIterations[0, 0] == 8


def test_empty_cluster_edge_cases_match_daal4py():
    rng = np.random.default_rng(0)
    near = rng.normal(size=(20, 2))
    X = np.vstack([near, [[50.0, 50.0]]])
    # The singleton of cluster 1 is the farthest row: it moves to cluster 2, and
    # cluster 1, now empty, takes the largest cluster's centre.
    C0 = np.array([[0.0, 0.0], [40.0, 40.0], [1000.0, 1000.0]])
    res = d4p.kmeans(3, 1).compute(X, C0)
    np.testing.assert_allclose(res.centroids, [near.mean(0), near.mean(0), [50, 50]], rtol=1e-12)
    np.testing.assert_allclose(res.objectiveFunction[0, 0], 23.01625372, rtol=1e-8)
    for it in (1, 2, 4):
        assert_lloyd(d4p.kmeans(3, it).compute(X, C0), X, C0, it)
    # Every row on its centroid: nothing moves; the empty cluster joins the
    # largest cluster (the first of equal ones).
    Y = np.array([[0.0, 0.0]] * 3 + [[1.0, 1.0]] * 3)
    C0 = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    res = d4p.kmeans(3, 3).compute(Y, C0)
    np.testing.assert_array_equal(res.centroids, [[0, 0], [1, 1], [0, 0]])
    assert res.nIterations[0, 0] == 2
    res = d4p.kmeans(3, 1).compute(np.array([[0.0, 0.0]] * 2 + [[1.0, 1.0]] * 4), C0)
    np.testing.assert_array_equal(res.centroids, [[0, 0], [1, 1], [1, 1]])
    # Equal distances: the smaller row index moves first.
    Z = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [3.0, 0.0], [-3.0, 0.0]])
    res = d4p.kmeans(3, 1).compute(Z, np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0]]))
    np.testing.assert_array_equal(res.centroids, [[-0.5, 0], [3, 0], [3, 0]])


@pytest.mark.parametrize("max_iter", [1, 3, 300])
@pytest.mark.parametrize("dataset", ["blobs", "iris", "digits"])
def test_agrees_with_scikit_learn_lloyd(dataset, max_iter):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.cluster import KMeans
    from sklearn import datasets

    if dataset == "blobs":
        X, _ = datasets.make_blobs(n_samples=3000, n_features=5, centers=6, cluster_std=2.5,
                                   random_state=0)
        k = 6
    elif dataset == "iris":
        X, k = datasets.load_iris().data, 3
    else:
        X, k = datasets.load_digits().data, 10
    # Seed 2 gives starting centroids without exactly equidistant rows: iris and
    # digits hold small integers / one decimal, and for a row at the same distance
    # from two centroids scikit-learn's expanded formula picks either (d4p, like
    # oneDAL, the lower index; see test_exact_ties_go_to_the_lower_cluster).
    C0 = d4p.kmeans_init(k, method="plusPlusDense", seed=2).compute(X).centroids
    # tol=0: scikit-learn stops when the labels stop changing, which is the
    # iteration whose centroids do not move: oneDAL's rule with threshold 0.
    sk = KMeans(k, init=C0, n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd").fit(X)
    res = d4p.kmeans(k, max_iter).compute(X, C0)
    np.testing.assert_allclose(res.centroids, sk.cluster_centers_, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(res.assignments.ravel(), sk.labels_)
    np.testing.assert_allclose(res.objectiveFunction[0, 0], sk.inertia_, rtol=1e-10)
    assert res.nIterations[0, 0] == sk.n_iter_
    assert sklearn.__version__


def test_exact_ties_go_to_the_lower_cluster():
    # Rows exactly between two centroids (with values whose products are exact):
    # the lower cluster index wins, as in oneDAL.
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    res = d4p.kmeans(2, 0).compute(X, [[0.5], [1.5]])
    np.testing.assert_array_equal(res.assignments.ravel(), [0, 0, 1, 1])
    grid = np.array([[x, y] for x in range(-2, 3) for y in range(-2, 3)], dtype=float)
    C0 = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    res = d4p.kmeans(4, 0).compute(grid, C0)
    np.testing.assert_array_equal(res.assignments.ravel(), nk.lloyd(grid, C0, 0)[1])
    assert res.assignments[12, 0] == 0  # the origin is equidistant from all four


def test_results_to_evaluate_and_assign_flag():
    X = blobs(50, 2)
    full = d4p.kmeans(3, 4).compute(X, X[:3])
    assert full.assignments is not None and full.objectiveFunction is not None
    only = d4p.kmeans(3, 4, resultsToEvaluate="computeCentroids").compute(X, X[:3])
    assert only.assignments is None and only.objectiveFunction is None
    np.testing.assert_array_equal(only.centroids, full.centroids)
    flag = d4p.kmeans(3, 4, resultsToEvaluate="computeCentroids", assignFlag=True).compute(
        X, X[:3])
    np.testing.assert_array_equal(flag.assignments, full.assignments)
    obj = d4p.kmeans(3, 4, resultsToEvaluate="computeExactObjectiveFunction").compute(X, X[:3])
    assert obj.centroids is None and obj.assignments is None
    assert obj.objectiveFunction == full.objectiveFunction
    assert pickle.loads(pickle.dumps(full)) == full and "nIterations" in str(full)


def _sparse_blobs():
    X = blobs(400, 5, seed=2)
    X[np.abs(X) < 2] = 0.0
    return X


@pytest.mark.parametrize("method", ["lloydDense", "lloydCSR"])
@pytest.mark.parametrize("kind", ["fortran", "csr", "list"])
def test_input_kinds(kind, method):
    sp = pytest.importorskip("scipy.sparse")
    X = _sparse_blobs()
    C0 = X[:4]
    ref = d4p.kmeans(4, 10).compute(X, C0)
    other = {"fortran": np.asfortranarray, "csr": sp.csr_matrix, "list": np.ndarray.tolist}[kind](X)
    got = d4p.kmeans(4, 10, method=method).compute(other, C0)
    np.testing.assert_allclose(got.centroids, ref.centroids, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got.assignments, ref.assignments)
    assert got.nIterations == ref.nIterations


def test_fptype_float():
    X = _sparse_blobs()
    X32 = X.astype(np.float32)
    res = d4p.kmeans(4, 10, "float").compute(X32, X32[:4])
    assert res.centroids.dtype == np.float32 and res.objectiveFunction.dtype == np.float32
    assert res.assignments.dtype == np.int32
    exp = nk.lloyd(X32, X32[:4], 10)
    np.testing.assert_allclose(res.centroids, exp[0], rtol=1e-5, atol=1e-5)
    assert (res.assignments.ravel() != exp[1]).mean() < 0.01
    res64 = d4p.kmeans(4, 10).compute(X32, X32[:4])  # float32 data, double results
    assert_lloyd(res64, X32.astype(np.float64), X32[:4], 10)


def test_far_from_origin_data_keeps_its_precision():
    X = 1e6 + blobs(2000, 3, centers=4, seed=8)
    C0 = X[:4]
    assert_lloyd(d4p.kmeans(4, 30).compute(X, C0), X, C0, 30, rtol=1e-9)


# ---- kmeans: distributed --------------------------------------------------------------------------


def assert_same_as_batch(res, ref, rows_slice):
    np.testing.assert_allclose(res.centroids, ref.centroids, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res.objectiveFunction, ref.objectiveFunction, rtol=1e-10,
                               atol=1e-14 * (1.0 + float((res.centroids ** 2).sum())))
    assert res.nIterations == ref.nIterations
    np.testing.assert_array_equal(res.assignments, ref.assignments[rows_slice])


LLOYD_CASES = [(0, 0.0), (1, 0.0), (4, 0.0), (100, 0.0), (100, 0.5)]


@spmd_cases(LLOYD_CASES, [f"{it}it_thr{thr}".replace(".", "_") for it, thr in LLOYD_CASES])
def test_kmeans_distributed_equals_batch_with_assignments(case):
    from spmd import row_range

    max_iter, thr = case
    X = blobs(900, 4, centers=6, seed=31)
    C0 = d4p.kmeans_init(6, method="plusPlusDense", seed=2).compute(X).centroids
    rank, size = d4p.my_procid(), d4p.num_procs()
    ref = d4p.kmeans(6, max_iter, accuracyThreshold=thr).compute(X, C0)
    for weights in (None, [0] * (size - 1) + [1], [1] * size):
        rows = local_rows(X, weights)
        res = d4p.kmeans(6, max_iter, accuracyThreshold=thr, distributed=True).compute(rows, C0)
        assert_same_as_batch(res, ref, slice(*row_range(len(X), rank, size, weights)))
        assert res.assignments.shape == (len(rows), 1)


@spmd_cases([1, 3], ["1it", "3it"])
def test_kmeans_distributed_empty_clusters_use_the_global_farthest_rows(it):
    from spmd import row_range

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 10])
    C0 = np.array([[0.0, 0.0], [10.0, 10.0], [100.0, 100.0], [200.0, -50.0]])
    rank, size = d4p.my_procid(), d4p.num_procs()
    ref = d4p.kmeans(4, it).compute(X, C0)
    res = d4p.kmeans(4, it, distributed=True).compute(local_rows(X), C0)
    assert_same_as_batch(res, ref, slice(*row_range(len(X), rank, size)))


@spmd
def test_kmeans_centroids_from_rank_zero_only():
    X = blobs(200, 3, seed=2)
    C0 = X[:3]
    ref = d4p.kmeans(3, 10).compute(X, C0)
    mine = C0 if d4p.my_procid() == 0 else None
    res = d4p.kmeans(3, 10, distributed=True, resultsToEvaluate="computeCentroids").compute(
        local_rows(X), mine)
    np.testing.assert_allclose(res.centroids, ref.centroids, rtol=1e-10)
    assert res.assignments is None


@given(n=st.integers(1, 60), p=st.integers(1, 3), k=st.integers(1, 5), nranks=st.integers(1, 8),
       seed=st.integers(0, 1000), max_iter=st.integers(0, 20), data_=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_kmeans_any_split_equals_batch_and_reference(n, p, k, nranks, seed, max_iter,
                                                              data_):
    from spmd import row_range

    k = min(k, n)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 3
    C0 = X[rng.permutation(n)[:k]] + rng.normal(size=(k, p))  # may start empty clusters
    weights = data_.draw(st.lists(st.integers(0, 4), min_size=nranks, max_size=nranks)
                         .filter(lambda w: sum(w) > 0))
    # A threshold far below any real shift: after an empty cluster is re-seeded,
    # the old cluster's mean (sum minus the moved row) and its direct recomputation
    # in the next iteration may differ in the last bit, which with threshold 0 can
    # cost one more iteration depending on the summation order.
    thr = 1e-20
    ref = d4p.kmeans(k, max_iter, accuracyThreshold=thr).compute(X, C0)
    if not nk.lloyd(X, C0, max_iter, thr, report_ties=True)[-1]:
        assert_lloyd(ref, X, C0, max_iter, thr)  # a near tie may go either way

    def body():
        return d4p.kmeans(k, max_iter, accuracyThreshold=thr, distributed=True).compute(
            local_rows(X, weights), C0)

    for rank, res in enumerate(d4p.run_spmd(body, nranks)):
        assert_same_as_batch(res, ref, slice(*row_range(n, rank, nranks, weights)))


# ---- errors on every rank ------------------------------------------------------------------


def _on_last(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


def _raises_everywhere(exc, match, fn):
    with pytest.raises(exc, match=match) as info:
        fn()
    if d4p.num_procs() > 1:
        assert isinstance(info.value, d4p.RankError)


@spmd_cases(INIT_METHODS, INIT_METHODS)
def test_more_clusters_than_rows_raises_on_every_rank(method):
    X = blobs(10, 2)
    rows = local_rows(X)
    _raises_everywhere(ValueError, r"nClusters=11 exceeds the total number of rows \(10\)",
                       lambda: d4p.kmeans_init(11, method=method, distributed=True).compute(rows))
    # exactly enough rows in total is fine, whatever each rank holds
    assert d4p.kmeans_init(10, method=method, distributed=True).compute(
        rows).centroids.shape == (10, 2)


@spmd
def test_kmeans_more_clusters_than_rows_raises_on_every_rank():
    X = blobs(10, 2)
    rows = local_rows(X)
    _raises_everywhere(ValueError, "exceeds the total number of rows",
                       lambda: d4p.kmeans(11, 2, distributed=True).compute(rows, blobs(11, 2)))
    _raises_everywhere(ValueError, r"nClusters=2 exceeds the total number of rows \(0\)",
                       lambda: d4p.kmeans(2, 2, distributed=True).compute(X[:0], X[:2]))


@spmd
def test_bad_centroids_raise_on_every_rank():
    X = blobs(40, 3)
    rows = local_rows(X)
    good = X[:4]
    _raises_everywhere(ValueError, "inputCentroids has 5 rows but nClusters is 4",
                       lambda: d4p.kmeans(4, 2, distributed=True).compute(
                           rows, _on_last(X[:5], good)))
    if d4p.num_procs() > 1:
        _raises_everywhere(ValueError, "inputCentroids has 2 columns but the data has 3",
                           lambda: d4p.kmeans(4, 2, distributed=True).compute(
                               rows, _on_last(good[:, :2], good)))
        _raises_everywhere(ValueError, r"inputCentroids .*digest",
                           lambda: d4p.kmeans(4, 2, distributed=True).compute(
                               rows, _on_last(good + 1e-9, good)))
    else:
        with pytest.raises(ValueError, match="2 columns but the data has 3"):
            d4p.kmeans(4, 2).compute(X, good[:, :2])
    nan = good.copy()
    nan[1, 1] = np.nan
    _raises_everywhere(ValueError, "inputCentroids contains nan",
                       lambda: d4p.kmeans(4, 2, distributed=True).compute(rows, _on_last(nan, good)))
    if d4p.my_procid() == 0:
        missing = None
    else:
        missing = good
    _raises_everywhere(ValueError, "inputCentroids is None",
                       lambda: d4p.kmeans(4, 2, distributed=True).compute(rows, missing))
    # and the same object works afterwards
    assert d4p.kmeans(4, 2, distributed=True).compute(rows, good).centroids.shape == (4, 3)


def _infinite_on_last():
    good = blobs(30, 2)
    bad = good.copy()
    bad[3, 1] = np.inf
    return _on_last(bad, good), good


#: (algorithm, method, k): k-means++ and k-means|| check in their first pass
BAD_DATA_CASES = [("kmeans", "lloydDense", 3)] + [
    ("kmeans_init", m, k) for m in INIT_METHODS for k in (1, 3)]


@spmd_cases(BAD_DATA_CASES, [f"{a}_{m}_{k}" for a, m, k in BAD_DATA_CASES])
def test_bad_data_on_one_rank_raises_on_every_rank(case):
    algo, method, k = case
    data, good = _infinite_on_last()
    if algo == "kmeans":
        run = lambda: d4p.kmeans(k, 2, method=method, distributed=True).compute(data, good[:k])
    else:
        run = lambda: d4p.kmeans_init(k, method=method, distributed=True).compute(data)
    _raises_everywhere(ValueError, "inf at row 3, column 1", run)


@spmd
def test_assume_finite_skips_the_scan_and_columns_must_agree():
    _, good = _infinite_on_last()
    with d4p.config_context(assume_finite=True):  # then nothing scans for it
        d4p.kmeans_init(3, method="plusPlusDense", distributed=True).compute(good)
    if d4p.num_procs() > 1:
        _raises_everywhere(ValueError, "has 3 columns but the other ranks have 2",
                           lambda: d4p.kmeans_init(2, distributed=True).compute(
                               _on_last(np.ones((4, 3)), good)))


# ---- ranks that disagree on a parameter ------------------------------------------------------


#: (parameter, constructor for the other ranks, constructor for the last rank)
MISMATCH_INIT = [
    ("nClusters", dict(nClusters=3), dict(nClusters=4)),
    ("method", dict(nClusters=3), dict(nClusters=3, method="randomDense")),
    ("nTrials", dict(nClusters=3, method="plusPlusDense"),
     dict(nClusters=3, method="plusPlusDense", nTrials=2)),
    ("oversamplingFactor", dict(nClusters=3, method="parallelPlusDense"),
     dict(nClusters=3, method="parallelPlusDense", oversamplingFactor=2.0)),
    ("nRounds", dict(nClusters=3, method="parallelPlusDense"),
     dict(nClusters=3, method="parallelPlusDense", nRounds=2)),
    ("seed", dict(nClusters=3, method="randomDense", seed=5),
     dict(nClusters=3, method="randomDense", engine=d4p.engines_mcg59(seed=6))),
]


@spmd_cases(MISMATCH_INIT, [c[0] for c in MISMATCH_INIT], ranks=(2, 3, 4, 7))
def test_kmeans_init_parameter_differs_on_one_rank(case):
    # kmeans_init(3) on all ranks but kmeans_init(4) on the last: every rank raises
    # (daal4py and d4p before the protocol: hangs under MPI).
    name, params, last = case
    X = local_rows(blobs(60, 2))
    size = d4p.num_procs()
    others = "rank 0" if size == 2 else "ranks " + ", ".join(map(str, range(size - 1)))
    _raises_everywhere(ValueError, rf"{name} is .* on {others} and .* on rank {size - 1}",
                       lambda: d4p.kmeans_init(**_on_last(last, params), distributed=True)
                       .compute(X))


@spmd
def test_kmeans_init_agrees_on_what_changes_the_centroids_only():
    X = blobs(60, 2)
    rows = local_rows(X)
    ref = d4p.kmeans_init(3, method="randomDense", seed=5).compute(X).centroids
    # engine or seed=: the same draws; nRounds does not matter to randomDense; fptype
    # only sets this rank's dtype
    mine = _on_last(dict(engine=d4p.engines_philox4x32x10(seed=5), nRounds=2, fptype="float"),
                    dict(seed=5))
    got = d4p.kmeans_init(3, method="randomDense", distributed=True, **mine).compute(rows)
    np.testing.assert_array_equal(got.centroids, ref.astype(got.centroids.dtype))


MISMATCH_LLOYD = [
    ("nClusters", dict(nClusters=3), dict(nClusters=4)),
    ("maxIterations", {}, dict(maxIterations=4)),
    ("fptype", {}, dict(fptype="float")),
    ("method", {}, dict(method="lloydCSR")),
    ("accuracyThreshold", {}, dict(accuracyThreshold=0.5)),
    ("gamma", {}, dict(gamma=2.0)),
    ("resultsToEvaluate", {}, dict(resultsToEvaluate="computeCentroids")),
    ("assignFlag", {}, dict(assignFlag=True)),
]


@spmd_cases(MISMATCH_LLOYD, [c[0] for c in MISMATCH_LLOYD], ranks=(2, 3, 4, 7))
def test_kmeans_parameter_differs_on_one_rank(case):
    name, params, last = case
    X = blobs(60, 2)
    params = {"nClusters": 3, "maxIterations": 3, **_on_last(last, params)}
    C0 = X[:params["nClusters"]]
    _raises_everywhere(ValueError, rf"{name} is .* on rank",
                       lambda: d4p.kmeans(**params, distributed=True).compute(local_rows(X), C0))


@spmd(ranks=(2, 3, 4, 7))
def test_kmeans_centroids_of_rank_zero_need_the_data_columns():
    # Rank 0 holds no rows (a table of no shape) and centroids of 2 columns; the
    # others pass None: the agreed centroids do not fit the data on any rank.
    X = blobs(40, 3)
    rank = d4p.my_procid()
    data = [] if rank == 0 else local_rows(X)
    C0 = X[:4, :2] if rank == 0 else None
    _raises_everywhere(ValueError, "inputCentroids has 2 columns but the data has 3",
                       lambda: d4p.kmeans(4, 2, distributed=True).compute(data, C0))


# ---- row weights and the variance-scaled threshold (d4p extensions) -------------------------


def _weights(n, seed=3):
    """Integer weights 0..3 (zeros included): exact in every sum."""
    return np.random.default_rng(seed).integers(0, 4, n).astype(np.float64)


#: (method, extra parameters) of the weighted initialisations
WEIGHTED_INIT = [("randomDense", {}), ("plusPlusDense", {}), ("plusPlusDense", dict(nTrials=3)),
                 ("parallelPlusDense", {}), ("parallelPlusDense", dict(oversamplingFactor=2.0))]


def weighted_reference_init(X, method, k, seed, w, nTrials=1, oversamplingFactor=0.5):
    if method == "randomDense":
        return nk.random_rows(X, k, seed, w)
    if method == "plusPlusDense":
        return nk.plus_plus(X, k, nTrials, seed, row_w=w)
    return nk.parallel_plus(X, k, oversamplingFactor, 5, seed, row_w=w)


@pytest.mark.parametrize("case", WEIGHTED_INIT, ids=_case_id)
@pytest.mark.parametrize("seed", [777777, 4])
def test_weighted_init_equals_the_reference(case, seed):
    method, extra = case
    X = blobs(500, 3, centers=6, seed=seed % 5)
    w = _weights(len(X), seed)
    got = d4p.kmeans_init(5, method=method, seed=seed, **extra).compute(X, weights=w).centroids
    np.testing.assert_array_equal(got, weighted_reference_init(X, method, 5, seed, w, **extra))
    # rows of zero weight are never drawn
    chosen = [np.flatnonzero((X == c).all(axis=1)) for c in got]
    assert all(w[i].max() > 0 for i in chosen)


def test_weighted_init_layouts_and_random_with_equal_weights():
    X = blobs(300, 4, seed=2).astype(np.float32).astype(np.float64)
    w = _weights(len(X))
    ref = d4p.kmeans_init(4, method="plusPlusDense", seed=1).compute(X, weights=w).centroids
    for other in (np.asfortranarray(X), X.astype(np.float32)):
        np.testing.assert_array_equal(
            d4p.kmeans_init(4, method="plusPlusDense", seed=1).compute(other, weights=w)
            .centroids, ref)
    # equal weights: weighted sampling without replacement draws the unweighted rows
    np.testing.assert_array_equal(
        d4p.kmeans_init(4, method="randomDense", seed=9).compute(X, weights=np.full(300, 2.5))
        .centroids, d4p.kmeans_init(4, method="randomDense", seed=9).compute(X).centroids)


@pytest.mark.parametrize("max_iter", [0, 1, 3, 50])
def test_weighted_lloyd_equals_the_reference(max_iter):
    X = blobs(400, 3, centers=4, seed=8)
    w = _weights(len(X), 8)
    C0 = X[[0, 1, 2, 3, 4]] + 0.5  # five clusters of four blobs
    res = d4p.kmeans(5, max_iter, accuracyThreshold=1e-20).compute(X, C0, weights=w)
    C, labels, objective, iterations = nk.lloyd(X, C0, max_iter, 1e-20, row_w=w)
    np.testing.assert_allclose(res.centroids, C, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(res.assignments.ravel(), labels)
    np.testing.assert_allclose(res.objectiveFunction[0, 0], objective, rtol=1e-10)
    assert res.nIterations[0, 0] == iterations


def test_weights_of_one_are_no_weights_in_lloyd():
    X = blobs(200, 3, seed=1)
    C0 = X[:4]
    plain = d4p.kmeans(4, 20).compute(X, C0)
    ones = d4p.kmeans(4, 20).compute(X, C0, weights=np.ones(len(X)))
    for name in ("centroids", "assignments", "objectiveFunction", "nIterations"):
        np.testing.assert_array_equal(getattr(ones, name), getattr(plain, name))


def test_weights_as_repeated_rows():
    X = blobs(150, 2, seed=6)
    w = _weights(len(X), 6)
    C0 = X[:3]
    res = d4p.kmeans(3, 30).compute(X, C0, weights=w)
    rep = d4p.kmeans(3, 30).compute(np.repeat(X, w.astype(int), axis=0), C0)
    np.testing.assert_allclose(res.centroids, rep.centroids, rtol=1e-12)
    np.testing.assert_allclose(res.objectiveFunction, rep.objectiveFunction, rtol=1e-12)


@pytest.mark.parametrize("tol", [0.0, 1e-4, 1e-2, 0.5])
@pytest.mark.parametrize("kind", ["dense", "float32", "csr"])
def test_scale_threshold_is_tol_times_the_mean_variance(tol, kind):
    import scipy.sparse as sp

    X = blobs(300, 4, centers=5, seed=4, spread=2.0)
    C0 = X[:5].copy()
    data = {"dense": X, "float32": X.astype(np.float32), "csr": sp.csr_matrix(X)}[kind]
    threshold = tol * float(np.mean(np.var(np.asarray(X, dtype=np.float64), axis=0)))
    got = d4p.kmeans(5, 100, accuracyThreshold=tol, scaleThreshold=True).compute(data, C0)
    ref = d4p.kmeans(5, 100, accuracyThreshold=threshold).compute(data, C0)
    assert got.nIterations[0, 0] == ref.nIterations[0, 0]
    np.testing.assert_array_equal(got.centroids, ref.centroids)


@spmd
def test_weighted_distributed_equals_batch():
    X = blobs(300, 3, centers=5, seed=5)
    w = _weights(len(X), 5)
    for method, extra in WEIGHTED_INIT:
        C = d4p.kmeans_init(4, method=method, seed=2, distributed=True, **extra).compute(
            local_rows(X), weights=local_rows(w)).centroids
        np.testing.assert_array_equal(C, weighted_reference_init(X, method, 4, 2, w, **extra))
    C0 = X[:4] + 1.0
    ref = d4p.kmeans(4, 30, accuracyThreshold=1e-3, scaleThreshold=True).compute(
        X, C0, weights=w)
    res = d4p.kmeans(4, 30, accuracyThreshold=1e-3, scaleThreshold=True, assignFlag=True,
                     distributed=True).compute(local_rows(X), C0, weights=local_rows(w))
    np.testing.assert_allclose(res.centroids, ref.centroids, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.objectiveFunction, ref.objectiveFunction, rtol=1e-10)
    assert res.nIterations[0, 0] == ref.nIterations[0, 0]
    np.testing.assert_array_equal(res.assignments.ravel(), local_rows(ref.assignments.ravel()))


#: (what is wrong, this rank's bad weights from its good ones, expected message)
BAD_WEIGHTS = [
    ("length", lambda w: np.append(w, 1.0), "weights has shape"),
    ("negative", lambda w: np.where(np.arange(len(w)) == 2, -1.0, w), "non-negative"),
    ("nan", lambda w: np.where(np.arange(len(w)) == 2, np.nan, w), "must be finite"),
    ("missing", lambda w: None, "weights is"),
]


@spmd_cases(BAD_WEIGHTS, [c[0] for c in BAD_WEIGHTS])
def test_bad_weights_on_one_rank_raise_on_every_rank(case):
    name, spoil, match = case
    if name == "missing" and d4p.num_procs() == 1:
        return  # "weights on some ranks only" needs two ranks
    X = blobs(10 * d4p.num_procs(), 2, seed=1)
    rows = X[10 * d4p.my_procid():10 * d4p.my_procid() + 10]  # every rank has rows
    good = np.ones(len(rows))
    w = _on_last(spoil(good), good)
    _raises_everywhere(ValueError, match, lambda: d4p.kmeans(2, 3, distributed=True).compute(
        rows, X[:2], weights=w))
    _raises_everywhere(ValueError, match, lambda: d4p.kmeans_init(
        2, method="plusPlusDense", distributed=True).compute(rows, weights=w))


@spmd
def test_zero_weights_everywhere_raise_on_every_rank():
    X = local_rows(blobs(40, 2, seed=1))
    w = np.zeros(len(X))
    _raises_everywhere(ValueError, "weights are zero", lambda: d4p.kmeans(
        2, 3, distributed=True).compute(X, blobs(40, 2, seed=1)[:2], weights=w))
    _raises_everywhere(ValueError, "0 rows have a positive weight", lambda: d4p.kmeans_init(
        2, method="randomDense", distributed=True).compute(X, weights=w))


@spmd
def test_lloyd_checks_finiteness_without_iterations():
    data, good = _infinite_on_last()
    for results in ("computeCentroids", ""):  # no pass at all / the final pass only
        _raises_everywhere(ValueError, "inf at row 3, column 1", lambda: d4p.kmeans(
            2, 0, resultsToEvaluate=results, distributed=True).compute(data, good[:2]))


@pytest.mark.parametrize("layout", ["F", "float32"])
def test_converted_slabs_give_the_c_order_results(monkeypatch, layout):
    # Inputs other than C-ordered float64 reach the initialisation kernels as
    # converted slabs of SLAB_CHUNKS chunks; with one chunk per slab every index,
    # key and partial must still be the C-ordered input's.
    from d4p.kernels import kmeans as kk

    monkeypatch.setattr(kk, "SLAB_CHUNKS", 1)
    X = blobs(300, 3, seed=9)
    if layout == "float32":
        X = X.astype(np.float32).astype(np.float64)
    A = np.asfortranarray(X) if layout == "F" else X.astype(np.float32)
    C = X[[5, 50]].copy()
    keys = np.array([kk.stream_key(3, 2, 1, t) for t in range(3)], dtype=np.uint64)
    w = _weights(len(X))
    for row_w in (np.empty(0), w):
        outs = []
        for data in (X, A):
            mind = np.full(len(X), np.inf)
            nearest = np.zeros(len(X), dtype=np.int64)
            res = kk.init_pass(data, 7, C, 0, mind, nearest, row_w, keys, False, True, 16)
            pots = kk.potentials(data, X[[1, 2]], mind, row_w, 16)
            outs.append((mind, nearest) + tuple(res) + tuple(pots))
        for a, b in zip(*outs):
            np.testing.assert_array_equal(a, b)
        assert (outs[0][3] >= 0).all() and outs[0][3].max() > 16  # indices past a slab
