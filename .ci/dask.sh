#!/usr/bin/env bash
# CI for the extra fastnn[dask]: install it into the CI environment (torch
# and scikit-learn are already there), then run its tests on a LocalCluster
# of 2 worker processes x 1 thread, and the benchmark's smoke run.
# Runs from the repository root with the CI venv active.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet ".[dask]"
python -c "import dask, distributed, dask_ml, sklearn; print('dask', dask.__version__, \
'distributed', distributed.__version__, 'dask-ml', dask_ml.__version__, \
'scikit-learn', sklearn.__version__)"

# the tests need the extra: a skip here would hide a failure
python -m pytest -q -p no:cacheprovider -rs tests/test_dask.py tests/test_bench.py \
  | tee /tmp/fastnn-dask-tests.log
if grep -q "SKIPPED" /tmp/fastnn-dask-tests.log; then
  echo "tests/test_dask.py skipped with fastnn[dask] installed" >&2
  exit 1
fi

# the benchmark still runs end to end (small sizes; numbers not for comparison)
python bench/bench_dask.py --quick > /dev/null
