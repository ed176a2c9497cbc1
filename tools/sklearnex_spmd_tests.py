"""Run scikit-learn-intelex's own SPMD test files against ``d4p.spmd``, on CPU ranks.

scikit-learn-intelex's ``sklearnex/spmd/*/tests`` skip without a GPU.  This
script runs them unmodified under ``mpiexec -n N`` with ``d4p.spmd`` standing in
for ``sklearnex.spmd``: it writes a small stand-in package tree to a temporary
directory (our own code, below) and puts it first on ``PYTHONPATH``:

- ``sklearnex.spmd.<module>`` re-exports ``d4p.spmd.<module>``;
- the batch references are scikit-learn's estimators, and for
  scikit-learn-intelex's own estimators (basic statistics, the incremental
  ones) d4p's estimator on one process; ``onedal.basic_statistics.BasicStatistics``
  is a numpy reference;
- the data helpers (``_get_local_tensor``: the rank's contiguous share of the
  rows, as scikit-learn-intelex's) use ``mpi4py`` and numpy arrays only
  (``dataframe='numpy'``, no queue).

The test files are read from an installed scikit-learn-intelex (``--sklearnex
DIR``, default: found by ``importlib`` in ``--python``'s environment) or a source
checkout; nothing of theirs is copied into this repository.  The ensemble
(random forest) tests are left out: d4p has no forests.

Usage::

    python tools/sklearnex_spmd_tests.py --sklearnex /path/to/site-packages/sklearnex -n 2 4
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = ("basic_statistics", "cluster", "covariance", "decomposition", "linear_model",
           "neighbors", "preprocessing")

SHIM = {
    "onedal/__init__.py": "",
    "onedal/tests/__init__.py": "",
    "onedal/tests/utils/__init__.py": "",
    "onedal/tests/utils/_dataframes_support.py": '''
        """numpy-only stand-ins for scikit-learn-intelex's dataframe helpers."""
        import numpy as np
        import pytest
        from numpy.testing import assert_allclose


        def get_dataframes_and_queues(dataframe_filter_=None, device_filter_=None):
            return [pytest.param("numpy", None, id="numpy")]


        def _convert_to_dataframe(obj, sycl_queue=None, target_df=None, *args, **kwargs):
            return obj


        def _as_numpy(obj, *args, **kwargs):
            return np.asarray(obj, *args, **kwargs)


        def _assert_in_namespace(obj, dataframe, device=None):
            if not np.isscalar(obj):
                assert isinstance(obj, np.ndarray), type(obj)


        def assert_allclose_numpy(actual, desired, *args, **kwargs):
            assert_allclose(np.asarray(actual), np.asarray(desired), *args, **kwargs)
        ''',
    "onedal/basic_statistics/__init__.py": '''
        """A numpy reference for onedal's batch BasicStatistics (statistics of the
        rows of X, weighted rows X * w when sample_weight is given)."""
        import numpy as np

        from .tests.utils import options_and_tests


        class BasicStatistics:
            def __init__(self, result_options="all", algorithm="by_default"):
                self.options = result_options

            def fit(self, X, sample_weight=None, queue=None):
                X = np.asarray(X)
                if sample_weight is not None:
                    X = X * np.asarray(sample_weight).reshape(-1, 1)
                opts = self.options
                names = (list(options_and_tests) if opts == "all"
                         else [opts] if isinstance(opts, str) else list(opts))
                for name in names:
                    setattr(self, name + "_", options_and_tests[name][0](X))
                return self
        ''',
    "onedal/basic_statistics/tests/__init__.py": "",
    "onedal/basic_statistics/tests/utils.py": '''
        """Each statistic's numpy formula and the (rtol, atol) the tests allow."""
        import numpy as np


        def _variation(X):
            mean = np.mean(X, axis=0)
            std = np.std(X, axis=0, ddof=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(mean != 0, std / np.where(mean != 0, mean, 1), np.nan)


        options_and_tests = {
            "sum": (lambda X: X.sum(axis=0), (5e-4, 1e-7)),
            "min": (lambda X: X.min(axis=0), (1e-7, 1e-7)),
            "max": (lambda X: X.max(axis=0), (1e-7, 1e-7)),
            "mean": (lambda X: X.mean(axis=0), (5e-7, 1e-7)),
            "variance": (lambda X: X.var(axis=0, ddof=1), (2e-4, 1e-7)),
            "variation": (_variation, (1e-3, 1e-6)),
            "sum_squares": (lambda X: (X * X).sum(axis=0), (2e-4, 1e-7)),
            "sum_squares_centered": (lambda X: ((X - X.mean(axis=0)) ** 2).sum(axis=0),
                                     (1e-3, 1e-7)),
            "standard_deviation": (lambda X: X.std(axis=0, ddof=1), (2e-3, 1e-7)),
            "second_order_raw_moment": (lambda X: (X * X).mean(axis=0), (1e-6, 1e-7)),
        }
        ''',
    "sklearnex/__init__.py": '''
        """Only what the SPMD tests import from sklearnex."""
        import contextlib

        import sklearn


        @contextlib.contextmanager
        def config_context(**options):
            # array_api_dispatch and target_offload concern device arrays: numpy here
            known = {k: v for k, v in options.items() if k in sklearn.get_config()
                     and k != "array_api_dispatch"}
            with sklearn.config_context(**known):
                yield


        def get_config():
            return sklearn.get_config()
        ''',
    "sklearnex/tests/__init__.py": "",
    "sklearnex/tests/utils/__init__.py": "",
    "sklearnex/tests/utils/spmd.py": '''
        """The SPMD tests' data helpers on CPU ranks (mpi4py, numpy)."""
        import numpy as np
        from mpi4py import MPI
        from numpy.testing import assert_allclose
        from sklearn.datasets import make_blobs, make_classification, make_regression
        from sklearn.model_selection import train_test_split

        _mpi_libs_and_gpu_available = True


        def _as_numpy(obj, *args, **kwargs):
            return np.asarray(obj, *args, **kwargs)


        def _get_local_tensor(full_data):
            comm = MPI.COMM_WORLD
            rank, size = comm.Get_rank(), comm.Get_size()
            n = full_data.shape[0]
            return full_data[rank * n // size:(rank + 1) * n // size]


        def _generate_regression_data(n_samples, n_features, dtype=np.float64, random_state=42):
            X, y = make_regression(n_samples=n_samples, n_features=n_features,
                                   random_state=random_state)
            return train_test_split(X.astype(dtype), y.astype(dtype), random_state=random_state)


        def _generate_classification_data(n_samples, n_features, n_classes=2, dtype=np.float64,
                                          random_state=42):
            X, y = make_classification(n_samples=n_samples, n_features=n_features,
                                       n_classes=n_classes,
                                       n_informative=int(0.5 * n_classes + 1),
                                       random_state=random_state)
            return train_test_split(X.astype(dtype), y.astype(dtype), random_state=random_state)


        def _generate_statistic_data(n_samples, n_features=None, dtype=np.float64,
                                     random_state=42):
            shape = (n_samples, n_features) if n_features is not None else (n_samples,)
            rng = np.random.default_rng(random_state)
            return rng.uniform(low=-0.3, high=0.7, size=shape).astype(dtype)


        def _generate_clustering_data(n_samples, n_features, centers=None, dtype=np.float64,
                                      random_state=42):
            X, _ = make_blobs(n_samples=n_samples, centers=centers, n_features=n_features,
                              random_state=random_state)
            return train_test_split(X.astype(dtype), random_state=random_state)


        def _spmd_assert_allclose(spmd_result, batch_result, **kwargs):
            assert_allclose(np.asarray(spmd_result),
                            _get_local_tensor(np.asarray(batch_result)), **kwargs)


        def _by_norm(a):
            a = np.asarray(a)
            return a[np.argsort(np.linalg.norm(a, axis=1))]


        def _assert_unordered_allclose(spmd_result, batch_result, localize=False, **kwargs):
            batch = np.asarray(batch_result)
            if localize:
                batch = _get_local_tensor(batch)
            assert_allclose(_by_norm(spmd_result), _by_norm(batch), **kwargs)


        def _assert_kmeans_labels_allclose(spmd_labels, batch_labels, spmd_centers,
                                           batch_centers, **kwargs):
            local = _get_local_tensor(np.asarray(batch_labels))
            assert_allclose(np.asarray(spmd_centers)[np.asarray(spmd_labels)],
                            np.asarray(batch_centers)[local], **kwargs)
        ''',
    # batch references: scikit-learn's estimators, or d4p's own on this process alone
    # for scikit-learn-intelex's estimators that scikit-learn lacks
    "sklearnex/_alone.py": '''
        """d4p estimators as batch references: every call on this process alone."""
        import contextlib
        import functools

        from d4p import _engine  # a test tool: the engine's per-thread communicator slot
        from d4p.comm.serial import SerialCommunicator


        @contextlib.contextmanager
        def alone():
            slot = _engine._rank_local
            saved = getattr(slot, "comm", None)
            slot.comm = SerialCommunicator()
            try:
                yield
            finally:
                slot.comm = saved


        def _alone_method(f):
            @functools.wraps(f)
            def run(self, *args, **kwargs):
                with alone():
                    return f(self, *args, **kwargs)
            return run


        def batch(cls):
            """A subclass of ``cls`` whose public methods (and lazily finalised
            attributes) run with the one-process communicator."""
            methods = {name: _alone_method(getattr(cls, name)) for name in dir(cls)
                       if not name.startswith("_") and callable(getattr(cls, name))
                       and not isinstance(getattr(cls, name), type)}
            if hasattr(cls, "__getattr__"):
                methods["__getattr__"] = _alone_method(cls.__getattr__)
            return type(cls.__name__, (cls,), methods)
        ''',
    "sklearnex/basic_statistics/__init__.py": '''
        from d4p.spmd import basic_statistics as _d4p
        from .._alone import batch
        BasicStatistics = batch(_d4p.BasicStatistics)
        IncrementalBasicStatistics = batch(_d4p.IncrementalBasicStatistics)
        ''',
    "sklearnex/cluster/__init__.py": "from sklearn.cluster import DBSCAN, KMeans\n",
    "sklearnex/covariance/__init__.py": '''
        from d4p.spmd import covariance as _d4p
        from .._alone import batch
        IncrementalEmpiricalCovariance = batch(_d4p.IncrementalEmpiricalCovariance)
        ''',
    "sklearnex/decomposition/__init__.py": "from sklearn.decomposition import PCA\n",
    "sklearnex/linear_model/__init__.py": '''
        from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
        from d4p.spmd import linear_model as _d4p
        from .._alone import batch
        IncrementalLinearRegression = batch(_d4p.IncrementalLinearRegression)
        ''',
    "sklearnex/neighbors/__init__.py": '''
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors
        ''',
    "sklearnex/preview/__init__.py": "",
    "sklearnex/preview/covariance/__init__.py": '''
        from sklearn.covariance import EmpiricalCovariance
        from ...covariance import IncrementalEmpiricalCovariance
        ''',
    "sklearnex/preview/decomposition/__init__.py": '''
        from d4p.spmd import decomposition as _d4p
        from ..._alone import batch
        IncrementalPCA = batch(_d4p.IncrementalPCA)
        ''',
    "sklearnex/preview/preprocessing/__init__.py":
        "from sklearn.preprocessing import MaxAbsScaler\n",
    "sklearnex/spmd/__init__.py": "",
}
for _module in MODULES:
    SHIM[f"sklearnex/spmd/{_module}/__init__.py"] = f"from d4p.spmd.{_module} import *\n"


def find_sklearnex(python):
    """The sklearnex package directory of ``python``'s environment."""
    out = subprocess.run([python, "-c", "import importlib.util as u; "
                          "print(u.find_spec('sklearnex').submodule_search_locations[0])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def write_tree(root):
    for rel, text in SHIM.items():
        path = root / "shim" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def copy_tests(sklearnex, root):
    """The SPMD test files, flattened into one directory of the temporary tree."""
    tests = root / "tests"
    tests.mkdir()
    files = []
    for module in MODULES:
        for src in sorted((sklearnex / "spmd" / module / "tests").glob("test_*.py")):
            dst = tests / src.name
            shutil.copyfile(src, dst)
            files.append(dst)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sklearnex", type=Path, help="the sklearnex package directory")
    parser.add_argument("--sklearnex-python", default=os.environ.get("SKLEARNEX_PYTHON"),
                        help="a Python whose environment has scikit-learn-intelex installed")
    parser.add_argument("-n", type=int, nargs="+", default=[2, 4], help="rank counts")
    parser.add_argument("-k", default=None, help="pytest -k expression")
    parser.add_argument("--timeout", type=int, default=1800)
    args = parser.parse_args(argv)
    sklearnex = args.sklearnex or find_sklearnex(args.sklearnex_python or sys.executable)
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or "mpiexec"
    status = 0
    with tempfile.TemporaryDirectory(prefix="d4p-sklearnex-") as tmp:
        root = Path(tmp)
        write_tree(root)
        files = copy_tests(sklearnex, root)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "shim"), str(REPO)]))
        for n in args.n:
            cmd = [mpiexec, "-n", str(n), sys.executable, "-m", "pytest", "-q", "-p",
                   "no:cacheprovider", "-o", "addopts=", "--rootdir", str(root), *map(str, files)]
            if args.k:
                cmd += ["-k", args.k]
            print(f"== {n} ranks: {len(files)} files from {sklearnex}", flush=True)
            rc = subprocess.run(cmd, env=env, cwd=root, timeout=args.timeout).returncode
            status = status or rc
    return status


if __name__ == "__main__":
    sys.exit(main())
