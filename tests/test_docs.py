"""The documentation builds with warnings as errors, and names every public name."""
import os
import subprocess
import sys

import pytest

import d4p

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.timeout(600)
def test_sphinx_build_without_warnings(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::UserWarning", "-m", "sphinx", "-W", "--keep-going",
         "-b", "html", "-q", os.path.join(ROOT, "docs"), str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_every_public_name_is_in_the_api_reference():
    with open(os.path.join(ROOT, "docs", "api.rst")) as fh:
        api = fh.read()
    missing = [name for name in d4p.__all__ if f"d4p.{name}" not in api]
    assert not missing, f"add to docs/api.rst: {missing}"


def test_every_public_name_has_a_docstring():
    missing = [name for name in d4p.__all__ if not (getattr(d4p, name).__doc__ or "").strip()]
    assert not missing
