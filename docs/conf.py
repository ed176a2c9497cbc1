"""Sphinx configuration for d4p's documentation (MyST Markdown + numpydoc)."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "d4p"
author = "the d4p developers"
copyright = "2026, the d4p developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "numpydoc", "sphinx.ext.mathjax"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_member_order = "bysource"
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["myst.header"]
