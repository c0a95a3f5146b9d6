#!/usr/bin/env bash
# Japanese figures, the lecture's notebooks and the documentation site.
# Run from the repository root with the CI venv active (fastnn installed from
# the checkout with .[test], torch 2.13.0 and scikit-learn already there).
#  1. installs the extras ja, notebooks and docs (and onnx and dask, whose
#     modules the API reference documents);
#  2. runs their tests: every Japanese figure drawn with warnings as errors (a
#     missing glyph fails), no English left in them, the fallback without the
#     font; the committed notebooks equal to what the tour generates, a notebook
#     step giving the tour's numbers;
#  3. builds the site with warnings as errors, which executes both notebooks
#     from a clean kernel with nbclient (an error in any cell fails it).
set -euo pipefail
cd "$(dirname "$0")/.."

# the extras' requirements only: fastnn is installed already
python -m pip install --quiet $(python .ci/extra_deps.py ja notebooks docs onnx dask)
python -c "import matplotlib_fontja, nbclient, nbformat, sphinx, myst_nb, numpydoc"

python -m pytest -q -p no:cacheprovider tests/test_plot_lang.py tests/test_notebooks.py
python -m pytest -q -p no:cacheprovider tests/test_tour.py \
  -k "japanese or help_lists or narration_languages or ja"

python -m fastnn.tour.notebooks --check notebooks
rm -rf docs/_build docs/_generated
start=$(date +%s)
python -m sphinx -W --keep-going -q -b html docs docs/_build/html
echo "site built in $(( $(date +%s) - start )) s (both notebooks executed): docs/_build/html/index.html"
