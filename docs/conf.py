"""Sphinx configuration: MyST Markdown pages, API pages from docstrings, one executed notebook.

Build (warnings are errors)::

    python3 -m sphinx -W -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # the checkout, also when randcheck is not installed
os.environ.setdefault("RANDCHECK_DISABLE_PLUGIN_AUTOLOAD", "1")  # no station plugins in docs

from randcheck import __version__  # noqa: E402

project = "randcheck"
author = "randcheck maintainers"
copyright = "randcheck maintainers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "myst_nb",  # MyST Markdown for the .md pages, and executes the .ipynb tutorial
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
language = "en"
nitpicky = False
# spec.md shows records with "…" for elided parts inside ```json blocks; Pygments cannot
# lex those strictly and falls back to relaxed highlighting, which is fine.
suppress_warnings = ["misc.highlighting_failure"]

# MyST
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks: execute the one tutorial notebook on every build, locally (no network);
# a cell that raises fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 120
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# API pages
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

html_theme = "alabaster"
html_title = f"randcheck {release}"
html_theme_options = {
    "description": "Random inspections (双随机、一公开) that anyone can replay.",
    "fixed_sidebar": True,
}
