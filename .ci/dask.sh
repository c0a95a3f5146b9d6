#!/usr/bin/env bash
# CI for the extra fastnn[dask]: install it into the CI environment (torch
# and scikit-learn are already there), run its tests on a LocalCluster of 2
# worker processes x 1 thread, then the benchmark's smoke run.
# Runs from the repository root with the CI venv active; a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

# the extra's requirements only: fastnn is installed already
python -m pip install --quiet $(python .ci/extra_deps.py dask)
python -c "import dask, distributed, dask_ml, sklearn; print('dask', dask.__version__, \
'distributed', distributed.__version__, 'dask-ml', dask_ml.__version__, \
'scikit-learn', sklearn.__version__)"

# With the extra installed nothing may skip: a skip would hide a failure.
log=$(mktemp)
python -m pytest -q -p no:cacheprovider -rs tests/test_dask.py tests/test_bench.py | tee "$log"
if grep -q "SKIPPED" "$log"; then
  echo "tests skipped with fastnn[dask] installed (see above)" >&2
  exit 1
fi
rm -f "$log"

# The benchmark runs end to end (small sizes; its numbers are not for comparison).
python bench/bench_dask.py --quick > /dev/null
