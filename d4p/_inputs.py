"""Turning whatever a user passes to ``compute`` into a 2-D numeric table.

Accepted (see docs/reliability.md for the full table): numpy arrays of any real
dtype and layout (1-D is one column), lists of rows, daal4py's list of 1-D numpy
arrays (one array per *column*), numpy structured arrays, pandas DataFrame and
Series, scipy.sparse matrices (kept sparse as CSR), and CSV files given as ``str``
or ``pathlib.Path`` ("{}" in the name is replaced by the caller's rank).

float32 and float64 arrays pass through without a copy (kernels accumulate in
float64 either way); other dtypes are converted to float64.
"""
import os

import numpy as np

from ._config import get_config


def check_table(data, name="data", *, sparse="keep", columns=None,
                columns_expected_by="{} are expected", dtype=None, finite=True, rank=None):
    """The one validation entry point for the tables algorithms take.

    Parameters
    ----------
    data : array-like, DataFrame, Series, sparse matrix, CSV file name or Path
        See the module docstring for the accepted kinds.
    name : str
        How the input is named in error messages.
    sparse : {'keep', 'densify', 'reject'}
        What to do with scipy.sparse input: keep it as CSR, turn it into a dense
        array, or raise ``TypeError``.
    columns : int, optional
        The column count the table must have (e.g. the model's features).  A
        table of no shape (``[]``) becomes ``(0, columns)``.
    columns_expected_by : str
        Completes the mismatch message, e.g. ``"the model was trained on {}"``.
    dtype : numpy dtype, optional
        Convert to this dtype; default: float32 and float64 pass through.
    finite : bool
        Check for NaN and infinity now.  Algorithms that can prove finiteness
        from sums they compute anyway pass False and call :func:`check_finite`
        with those sums.
    rank : int, optional
        Replaces "{}" in a file name (default: the caller's rank).

    Returns
    -------
    numpy.ndarray (2-D) or scipy.sparse.csr_matrix
    """
    if sparse not in ("keep", "densify", "reject"):
        raise ValueError(f"sparse must be 'keep', 'densify' or 'reject', got {sparse!r}")
    X = as_table(data, name, rank=rank, allow_sparse=sparse != "reject")
    if sparse == "densify" and _is_sparse(X):
        X = X.toarray()
    if columns is not None:
        if X.shape == (0, 0):
            X = np.empty((0, columns), dtype=X.dtype)
        elif X.shape[1] != columns:
            raise ValueError(f"{name} has {X.shape[1]} columns but "
                             + columns_expected_by.format(columns))
    if dtype is not None and X.dtype != dtype:
        X = X.astype(dtype)
    if finite:
        check_finite(X, name)
    return X


def columns_of(X):
    """A rank's column count for the ranks' agreement; ``None`` for an empty table of
    no shape (e.g. an empty list), which adopts the other ranks' count."""
    n, p = X.shape
    return None if n == 0 and p == 0 else p


def as_table(data, name="data", rank=None, allow_sparse=True):
    """Return ``data`` as a 2-D float32/float64 numpy array, or a scipy CSR matrix.

    ``rank`` replaces "{}" in a file name; by default it is the caller's rank
    (``d4p.my_procid()``), also for a batch ``compute`` inside an SPMD run.
    Raises ``ValueError``, ``TypeError`` or ``FileNotFoundError`` with a message
    naming ``name`` and the problem.
    """
    if data is None:
        raise ValueError(f"{name} is None; expected an array, a DataFrame or a CSV file name")
    if isinstance(data, (str, os.PathLike)):
        return read_csv(format_path(data, rank), name)
    if _is_sparse(data):
        return _as_csr(data, name, allow_sparse)
    if _is_pandas(data):
        return _from_pandas(data, name)
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(c, np.ndarray) and c.ndim == 1 for c in data):
        # daal4py's convention: a list of 1-D numpy arrays holds one array per column.
        lengths = {c.shape[0] for c in data}
        if len(lengths) > 1:
            raise ValueError(f"{name}: the column arrays have different lengths {sorted(lengths)}")
        data = np.column_stack([_numeric(c, name) for c in data])
    return _to_2d(_numeric(data, name), name)


def format_path(path, rank=None):
    """``str(path)`` with ``{}`` replaced by ``rank`` (default: the caller's rank).

    This makes daal4py's documented idiom ``compute("file{}.csv", my_procid())``
    read each rank's own file (daal4py itself ignores the second argument and
    opens the literal name).
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "{}" not in text:
        return text
    if rank is None:
        from ._engine import my_procid

        rank = my_procid()
    return text.replace("{}", str(rank))


def _numeric(data, name):
    if isinstance(data, np.ndarray) and data.dtype.names:
        return np.column_stack([_numeric(data[f], f"{name}[{f!r}]") for f in data.dtype.names])
    try:
        arr = np.asarray(data)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} is not a rectangular table: {exc}") from None
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype.itemsize in (4, 8):
        return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    if kind in "fiub":
        return arr.astype(np.float64)
    if kind == "O":
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} holds non-numeric values ({exc})") from None
    raise ValueError(f"{name} has dtype {arr.dtype}, which is not a real number type")


def _to_2d(arr, name):
    if arr.ndim == 1:
        # An empty 1-D input (e.g. ``[]`` on a rank with no rows) has no column
        # count of its own; (0, 0) lets it adopt the other ranks'.
        return arr.reshape(-1, 1) if arr.size else arr.reshape(0, 0)
    if arr.ndim == 2:
        return arr
    raise ValueError(f"{name} must be 1-D or 2-D, got an array with {arr.ndim} dimensions "
                     f"and shape {arr.shape}")


# ---- pandas ----------------------------------------------------------------------


def _is_pandas(data):
    return type(data).__module__.split(".")[0] == "pandas" and hasattr(data, "to_numpy")


def _from_pandas(data, name):
    import pandas as pd

    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name}: unsupported pandas object {type(data).__name__}")
    bad = [str(c) for c, dt in data.dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
    if bad:
        raise ValueError(f"{name} has non-numeric column(s) {bad}")
    dtypes = set(data.dtypes)
    if len(dtypes) == 1 and next(iter(dtypes)) in (np.dtype(np.float64), np.dtype(np.float32)):
        return data.to_numpy()
    return data.to_numpy(dtype=np.float64, na_value=np.nan)


# ---- scipy.sparse ---------------------------------------------------------------


def _is_sparse(data):
    return type(data).__module__.startswith("scipy.sparse")


def _as_csr(data, name, allow_sparse):
    if not allow_sparse:
        raise TypeError(f"{name}: this computation needs dense input, got {type(data).__name__}")
    csr = data.tocsr()
    if csr.dtype not in (np.float32, np.float64):
        csr = csr.astype(np.float64)
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    return csr


def is_sparse(table):
    """True for a scipy.sparse table returned by :func:`as_table`."""
    return _is_sparse(table)


# ---- CSV ---------------------------------------------------------------------------


def read_csv(path, name="data"):
    """Read a comma-separated numeric file.

    A first line with any non-numeric field is a header and is skipped; blank lines
    are skipped (not the end of the data, as in daal4py); a trailing comma on every
    line (daal4py's example files) does not add a column.
    """
    import pandas as pd

    if not os.path.exists(path):
        raise FileNotFoundError(f"{name}: file not found: {path!r}")
    first = _first_nonblank_line(path)
    if first is None:
        return np.empty((0, 0))
    header = any(not _is_number(field) for field in first.rstrip(",").split(","))
    try:
        frame = pd.read_csv(path, header=None, skiprows=_header_rows(path) if header else None,
                            skip_blank_lines=True, dtype=np.float64, engine="c")
    except ValueError as exc:
        _check_field_counts(path, name)
        raise ValueError(f"{name}: {path!r} holds a non-numeric value ({exc})") from None
    values = frame.to_numpy()
    if first.rstrip().endswith(",") and values.shape[1] > 1 and np.isnan(values[:, -1]).all():
        values = values[:, :-1]
    if np.isnan(values).any():
        _check_field_counts(path, name)  # pandas pads a short line with NaN
    return np.ascontiguousarray(values)


def _check_field_counts(path, name):
    """Raise naming the first line whose field count differs from the file's usual one."""
    counts, trailing = [], True
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                counts.append((number, len(line.rstrip().split(","))))
                trailing = trailing and line.rstrip().endswith(",")
    if not counts:
        return
    if trailing:  # a comma ending every line (daal4py's files) adds no field
        counts = [(number, c - 1) for number, c in counts]
    usual = max({c for _, c in counts}, key=[c for _, c in counts].count)
    for number, count in counts:
        if count != usual:
            raise ValueError(f"{name}: {path!r} line {number} has {count} fields where the "
                             f"other lines have {usual}")


def _first_nonblank_line(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                return line.strip()
    return None


def _header_rows(path):
    """Line numbers (0-based) to skip: blank lines before the header, and the header."""
    skip = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            skip.append(i)
            if line.strip():
                break
    return skip


def _is_number(text):
    text = text.strip()
    if text == "":
        return True  # an empty field is a missing value, not a header
    try:
        float(text)
        return True
    except ValueError:
        return False


# ---- finiteness -------------------------------------------------------------------


def check_finite(table, name="data", sums=None):
    """Raise ``ValueError`` if ``table`` holds NaN or infinity.

    ``sums`` (per-column sums the caller already computed) make the common case
    free: a finite sum of every column proves every value finite, so the full scan
    only runs when a sum is not finite.  Does nothing when
    ``get_config()["assume_finite"]`` is set.
    """
    if get_config()["assume_finite"]:
        return
    if sums is not None and np.isfinite(sums).all():
        return
    if _is_sparse(table):
        bad = np.flatnonzero(~np.isfinite(table.data))
        if bad.size:
            row = int(np.searchsorted(table.indptr, bad[0], side="right") - 1)
            col = int(table.indices[bad[0]])
            _raise_nonfinite(name, row, col, table.data[bad[0]])
        return
    from .kernels.validation import first_nonfinite

    row, col = first_nonfinite(table)
    if row >= 0:
        _raise_nonfinite(name, row, col, table[row, col])


def _raise_nonfinite(name, row, col, value):
    raise ValueError(f"{name} contains {value} at row {row}, column {col}; remove or impute "
                     "non-finite values, or set d4p.set_config(assume_finite=True) to let them "
                     "propagate into the results")
