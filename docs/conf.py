"""Sphinx configuration of the skqm7x documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html``. The gallery
(``examples/plot_*.py``) runs during the build on a random subset of the
labelled molecules: ``SKQM7X_EXAMPLE_SUBSET`` sets its size (60 when unset; 0
runs the examples on all 3792 molecules, which takes hours). The examples
read the challenge set shipped in the package, or the folder ``SKQM7X_DATA``
names.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
from pathlib import Path

import skqm7x

DOCS = Path(__file__).resolve().parent
REPOSITORY = DOCS.parent

# The examples read these; sphinx-gallery runs each one from examples/.
os.environ.setdefault("SKQM7X_EXAMPLE_SUBSET", "60")
# Headless: no window, figures go to files only.
os.environ.setdefault("MPLBACKEND", "agg")

project = "skqm7x"
author = "skqm7x developers"
copyright = "skqm7x developers, BSD-3-Clause"
version = release = skqm7x.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_theme = "alabaster"
html_theme_options = {
    "description": "scikit-learn estimators for molecular atomization energies",
    "fixed_sidebar": True,
    "page_width": "1180px",
    "sidebar_width": "240px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_title = f"skqm7x {release}"

# MyST: $...$ and $$...$$ for formulas in the markdown pages.
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# API reference: one page per public name, generated from the docstrings.
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # Added by scikit-learn's metadata routing; their docstrings link into
    # scikit-learn's own user guide.
    "exclude-members": (
        "set_fit_request, set_predict_request, set_score_request, set_transform_request"
    ),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Checked on every public docstring during the build (-W makes them errors):
# every parameter documented, and none documented that does not exist.
numpydoc_validation_checks = {"PR01", "PR02", "PR03", "PR10"}

sphinx_gallery_conf = {
    "examples_dirs": str(REPOSITORY / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # The command-line script is documented in "Getting started", not run here.
    "ignore_pattern": r"(__init__|submit)\.py",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skqm7x",),
    "show_memory": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}


def _quote_fitted_names_in_shapes(app, what, name, obj, options, lines):
    """Write ``(n_features_in_,)`` in docstring types as ``(`n_features_in_`,)``.

    reStructuredText reads a word ending in ``_`` as a link; scikit-learn's
    docstrings quote it, and this does the same for any docstring that does
    not, before numpydoc parses it.
    """
    for i, line in enumerate(lines):
        lines[i] = line.replace("(n_features_in_,)", "(`n_features_in_`,)")


def setup(app):
    # Before numpydoc's own handler (priority 500).
    app.connect(
        "autodoc-process-docstring", _quote_fitted_names_in_shapes, priority=100
    )
