"""Sphinx configuration of fastnn's documentation site.

Build it from the repository root in one command (``pip install ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Before reading the sources this file writes ``docs/_generated/`` (not
committed): the API reference, one section per name of ``fastnn.__all__`` (and
of ``fastnn.plot`` and ``fastnn.tour``), so a new public name is documented
by being exported; the two notebooks of ``notebooks/``, executed from a clean
kernel with nbclient (an error in a cell fails the build); the gallery of the
tour's figures, drawn by that very run; and the benchmark table from
``bench/results/results.md``. A public name without a docstring fails the
build, as does any other warning with ``-W``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATED = HERE / "_generated"
if any((ROOT / "src" / "fastnn").glob("_kernels*.so")):
    sys.path.insert(0, str(ROOT / "src"))  # a checkout built in place: document it

sys.path.insert(0, str(HERE))
import _build_pages  # noqa: E402  (docs/_build_pages.py: the generated pages)

project = "fastnn"
author = "The fastnn developers"
copyright = "The fastnn developers"  # noqa: A001

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "pydata_sphinx_theme"
html_title = "fastnn"
html_static_path: list = []
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

# The API reference: signatures without type hints (the docstrings give the
# types, with shapes, as numpydoc writes them); every cross-reference must resolve.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
nitpicky = True
# Names of other projects are not ours to resolve (no inventories are fetched).
nitpick_ignore_regex = [
    (r"py:.*", r"(matplotlib|importlib|numpy|np|scipy|torch|sklearn|onnx|IPython)(\..*)?"),
]

# The notebooks are executed once, in _build_pages (nbclient, a clean kernel
# each); myst-nb renders them with their outputs.
nb_execution_mode = "off"
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]


def setup(app):  # noqa: ANN001, ANN201
    app.connect("builder-inited", _build_pages.write_all)
    app.connect("env-check-consistency", _build_pages.check_documented)
    return {"parallel_read_safe": True}
