"""The first run: what compiles, when, and by whom (none of these tests is timed)."""
import collections
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import d4p
from d4p import _warmup
from d4p._parallel import large_input_paths
from d4p.kernels.jit import MESSAGE, all_kernels, signature_counts
from mpi_tools import requires_mpi, run_mpi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data(n, dtype, order):
    X = np.random.default_rng(0).normal(size=(n, 20))
    return np.asarray(X, dtype=dtype, order=order)


@pytest.mark.parametrize("call", _warmup.CALLS, ids=lambda c: c.__name__.strip("_"))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_a_small_call_compiles_every_kernel_a_large_call_uses(call, dtype, order):
    # 400 rows take the one-thread path; 20,000 rows under large_input_paths() are
    # cut into several chunks, blocks and thread parts, as millions of rows are.
    call(d4p, _data(400, dtype, order))
    before = signature_counts()
    with large_input_paths():
        call(d4p, _data(20_000, dtype, order))
    call(d4p, _data(20_000, dtype, order))
    grown = {k: (before[k], n) for k, n in signature_counts().items() if n != before[k]}
    assert not grown, f"kernels compiled by the large call only: {grown}"


def test_every_kernel_is_cached_and_nogil_and_none_is_parallel():
    import importlib
    import pkgutil

    import d4p.kernels

    for info in pkgutil.iter_modules(d4p.kernels.__path__, "d4p.kernels."):
        importlib.import_module(info.name)
    kernels = all_kernels()
    assert len(kernels) > 20  # every kernel module was found
    for k in kernels:
        opts = k.targetoptions
        assert k.stats.cache_path and opts.get("nogil"), k.__name__
        assert not opts.get("parallel"), k.__name__


def test_large_input_paths_give_the_same_bits():
    X = _data(20_000, "float64", "F")
    plain = d4p.low_order_moments().compute(X)
    with large_input_paths():
        split = d4p.low_order_moments().compute(X)
    for name in ("mean", "variance", "minimum", "sum"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(split, name))
    C = d4p.kmeans_init(5, method="plusPlusDense", seed=3).compute(X).centroids
    with large_input_paths():
        np.testing.assert_array_equal(
            d4p.kmeans_init(5, method="plusPlusDense", seed=3).compute(X).centroids, C)


def _compiles(log_dir):
    """{(kernel, signature): [pid, ...]} from the D4P_COMPILE_LOG files."""
    seen = collections.defaultdict(list)
    for name in os.listdir(log_dir):
        with open(os.path.join(log_dir, name)) as fh:
            for line in fh:
                kernel, args, _ = line.rstrip("\n").split("\t")
                seen[(kernel, args)].append(name)
    return seen


def _cached_kernels(cache):
    """Source-file stems of the kernels in a Numba cache directory tree."""
    return {f.split(".")[0] for _, _, files in os.walk(cache) for f in files
            if f.endswith(".nbi")}


SCRIPT = """
import numpy as np, d4p
X = np.random.default_rng(d4p.my_procid()).normal(size=(500, 4))
res = d4p.low_order_moments(distributed=True).compute(X)
print("OK", d4p.my_procid(), float(res.mean[0, 0]))
"""


@requires_mpi
@pytest.mark.timeout(600)
def test_mpi_cold_cache_compiles_only_what_runs_and_each_kernel_once(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "log"
    script = tmp_path / "moments.py"
    script.write_text(SCRIPT)
    out = run_mpi(2, [str(script)], env={"NUMBA_CACHE_DIR": str(cache),
                                         "D4P_COMPILE_LOG": str(log), "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("OK") == 2
    # Only the moments kernels were compiled and cached: nothing of k-means,
    # naive Bayes or covariance.
    assert _cached_kernels(cache) == {"moments"}
    compiles = _compiles(log)
    assert any(k.endswith("moments_groups") for k, _ in compiles)
    twice = {k: pids for k, pids in compiles.items() if len(pids) > 1}
    assert not twice, f"compiled by more than one rank: {twice}"
    # The note came once, from one rank.
    assert out.stderr.count(MESSAGE) == 1, out.stderr
    # A second run compiles nothing and says nothing.
    again = run_mpi(2, [str(script)], env={"NUMBA_CACHE_DIR": str(cache),
                                           "D4P_COMPILE_LOG": str(tmp_path / "log2"),
                                           "PYTHONPATH": ROOT})
    assert again.returncode == 0, again.stderr
    assert MESSAGE not in again.stderr
    assert not (tmp_path / "log2").exists()


@pytest.mark.timeout(600)
def test_simulated_ranks_cold_cache_say_so_once(tmp_path):
    cache = tmp_path / "cache"
    script = tmp_path / "moments.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-m", "d4p", "-n", "3", str(script)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("OK") == 3
    assert out.stderr.count(MESSAGE) == 1, out.stderr
    assert _cached_kernels(cache) == {"moments"}


def test_cache_dir_honours_numba_cache_dir(tmp_path):
    code = textwrap.dedent("""
        from d4p.kernels import jit, moments
        print(jit.cache_dir())
    """)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": ROOT}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip().startswith(str(tmp_path))


def _read_only_copy(tmp_path):
    """A read-only bind mount of a copy of the package (a root-owned system
    install, as root sees it); None where mounts are not allowed."""
    import shutil

    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
        return None
    site, mnt = tmp_path / "site", tmp_path / "ro-site"
    shutil.copytree(os.path.join(ROOT, "d4p"), site / "d4p",
                    ignore=shutil.ignore_patterns("__pycache__"))
    mnt.mkdir()
    for cmd in (["mount", "--bind", str(site), str(mnt)],
                ["mount", "-o", "remount,bind,ro", str(mnt)]):
        if subprocess.run(cmd, capture_output=True).returncode != 0:
            subprocess.run(["umount", str(mnt)], capture_output=True)
            return None
    return mnt


@pytest.mark.timeout(600)
def test_read_only_install_caches_in_the_user_cache_dir(tmp_path):
    mnt = _read_only_copy(tmp_path)
    if mnt is None:
        pytest.skip("needs root and a mount that allows read-only bind mounts")
    try:
        home = tmp_path / "home"
        env = {k: v for k, v in os.environ.items()
               if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
        env.update(HOME=str(home), PYTHONPATH=str(mnt))
        code = ("import numpy as np, d4p; from d4p.kernels import jit; "
                "d4p.low_order_moments().compute(np.ones((10, 3))); print(jit.cache_dir())")
        for _ in range(2):  # the second run loads what the first cached
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, timeout=600, cwd=tmp_path)
            assert out.returncode == 0, out.stderr
            assert out.stdout.strip().startswith(str(home / ".cache" / "numba"))
        assert MESSAGE not in out.stderr
        assert _cached_kernels(home / ".cache" / "numba") == {"moments"}
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
