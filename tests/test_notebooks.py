"""The notebooks run top to bottom on simulated ranks, and are up to date with their source."""
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "examples", "notebooks", "*.ipynb")))


def test_there_is_a_quickstart():
    assert any(p.endswith("quickstart.ipynb") for p in NOTEBOOKS)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_executes(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "OK: distributed == batch" in text
    assert (tmp_path / "quickstart.png").exists()


def test_notebook_matches_its_generator():
    import nbformat
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_quickstart", os.path.join(ROOT, "examples", "notebooks", "make_quickstart.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = nbformat.read(os.path.join(ROOT, "examples", "notebooks", "quickstart.ipynb"), 4)
    assert [c.source for c in stored.cells] == [c.source for c in module.CELLS]
