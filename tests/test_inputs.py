"""The input layer: every accepted form becomes the same numbers; bad forms fail clearly."""
import pathlib

import numpy as np
import pandas as pd
import pytest

import d4p
from d4p._inputs import as_table, read_csv
from spmd import spmd

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5], [-1.0, 0.0, 2.0]])


def mean_of(data):
    return d4p.low_order_moments().compute(data).mean[0]


@pytest.mark.parametrize("form", [
    lambda: X, lambda: np.asfortranarray(X), lambda: X.astype(np.float32),
    lambda: X.tolist(), lambda: tuple(map(tuple, X)),
    lambda: [X[:, j].copy() for j in range(3)],  # daal4py: a list of 1-D arrays = columns
    lambda: pd.DataFrame(X, columns=list("abc")),
    lambda: pd.DataFrame({"a": X[:, 0].astype(np.int64), "b": X[:, 1].astype(np.float32),
                          "c": X[:, 2]}),  # mixed numeric dtypes
    lambda: np.rec.fromarrays([X[:, 0], X[:, 1].astype(np.int32), X[:, 2]], names="a,b,c"),
    lambda: X.astype(">f8"),  # non-native byte order
], ids=["C", "F", "float32", "list", "tuple", "columns", "frame", "mixed-frame", "structured",
        "big-endian"])
def test_equivalent_forms(form):
    np.testing.assert_allclose(mean_of(form()), X.mean(axis=0), rtol=1e-6)


def test_one_d_is_one_column_and_series():
    v = np.array([1.0, 2.0, 4.0])
    assert as_table(v).shape == (3, 1)
    assert as_table(pd.Series(v)).shape == (3, 1)
    assert as_table(X[:, 1]).shape == (3, 1)  # a strided 1-D view, which daal4py rejects
    assert as_table([]).shape == (0, 0)
    assert as_table(np.array([True, False])).dtype == np.float64


def test_no_copy_for_float_arrays():
    assert as_table(X) is X
    f32 = X.astype(np.float32)
    assert as_table(f32) is f32
    view = X[::2]
    assert np.shares_memory(as_table(view), X)


def test_bad_forms_say_what_is_wrong():
    with pytest.raises(ValueError, match="None"):
        as_table(None)
    with pytest.raises(ValueError, match="non-numeric column"):
        as_table(pd.DataFrame({"a": [1.0], "b": ["x"]}))
    with pytest.raises(ValueError, match="3 dimensions"):
        as_table(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="rectangular"):
        as_table([[1.0, 2.0], [1.0]])
    with pytest.raises(ValueError, match="different lengths"):
        as_table([np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match="not a real number type"):
        as_table(np.array(["a", "b"]))


# ---- CSV -----------------------------------------------------------------------


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_plain_header_blank_lines_and_trailing_commas(tmp_path):
    plain = write(tmp_path, "a.csv", "1,2,3\n4,5,6.5\n-1,0,2\n")
    header = write(tmp_path, "b.csv", "x,y,z\n1,2,3\n\n4,5,6.5\n\n-1,0,2")
    trailing = write(tmp_path, "c.csv", "1,2,3,\r\n4,5,6.5,\r\n-1,0,2,\r\n")
    for path in (plain, header, trailing):
        np.testing.assert_array_equal(read_csv(str(path)), X)
        np.testing.assert_allclose(mean_of(path), X.mean(axis=0))  # pathlib.Path too
    assert read_csv(str(write(tmp_path, "e.csv", "\n\n"))).shape == (0, 0)


def test_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="file not found"):
        as_table(str(tmp_path / "missing.csv"))
    bad = write(tmp_path, "bad.csv", "1,2\n3,abc\n")
    with pytest.raises(ValueError, match="non-numeric"):
        as_table(str(bad))
    missing = write(tmp_path, "nan.csv", "1,2\n3,\n")
    with pytest.raises(ValueError, match="nan at row 1, column 1"):
        d4p.low_order_moments().compute(str(missing))


@pytest.mark.parametrize("text, line, fields, usual", [
    ("1,2,3\n4,5\n6,7,8\n", 2, 2, 3),           # a short line: pandas pads it with NaN
    ("1,2,3\n4,5,6,7\n6,7,8\n", 2, 4, 3),       # a long line: pandas refuses it
    ("a,b,c\n1,2,3\n4,5\n", 3, 2, 3),           # after a header
    ("1,2,3,\n4,5,\n6,7,8,\n", 2, 2, 3),        # daal4py's trailing commas
])
def test_csv_line_with_other_field_count_is_named(tmp_path, text, line, fields, usual):
    path = write(tmp_path, "ragged.csv", text)
    with pytest.raises(ValueError, match=rf"ragged.csv' line {line} has {fields} fields where "
                                         rf"the other lines have {usual}"):
        d4p.low_order_moments().compute(str(path))


@spmd
def test_csv_per_rank_file_name_idiom():
    import os
    import tempfile
    rank, size = d4p.my_procid(), d4p.num_procs()
    folder = os.path.join(tempfile.gettempdir(), f"d4p-test-idiom-{os.getpid()}-{size}")
    os.makedirs(folder, exist_ok=True)
    data = np.arange(6.0 * size).reshape(-1, 2)
    np.savetxt(os.path.join(folder, f"part{rank}.csv"), data[2 * rank:2 * rank + 2],
               delimiter=",")
    d4p._engine.current_comm().barrier()
    pattern = os.path.join(folder, "part{}.csv")
    # daal4py's documented form: the second argument lands in `setup`.
    res = d4p.low_order_moments(distributed=True).compute(pattern, d4p.my_procid())
    np.testing.assert_allclose(res.sum[0], data[:2 * size].sum(axis=0))
    res = d4p.covariance(distributed=True).compute(pathlib.Path(pattern))
    np.testing.assert_allclose(res.mean[0], data[:2 * size].mean(axis=0))
    # A batch compute in an SPMD run reads the caller's own file.
    mine = d4p.low_order_moments().compute(pattern)
    np.testing.assert_allclose(mine.sum[0], data[2 * rank:2 * rank + 2].sum(axis=0))
