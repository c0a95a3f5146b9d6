#!/usr/bin/env bash
# The interop extras (fastnn[onnx], fastnn[torch]): install them into the CI
# environment (torch is already there, pinned, so the extra's "torch>=2.0"
# pulls nothing) and run their tests, which must run here rather than skip;
# then the serving benchmark once in its quick form (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

# the extras' requirements only: fastnn is installed already
python -m pip install --quiet $(python .ci/extra_deps.py onnx torch)
python -c "import onnx, onnxruntime, skl2onnx, torch"

log=$(mktemp)
python -m pytest -q -p no:cacheprovider -rs tests/test_onnx.py tests/test_torch_interop.py \
  | tee "$log"
if grep -q "SKIPPED" "$log"; then
  echo "interop tests were skipped although their extras are installed" >&2
  exit 1
fi
rm -f "$log"

python bench/bench_serving.py --quick --out "$(mktemp -d)/serving.json"
