#!/usr/bin/env bash
# The interop extras (fastnn[onnx], fastnn[torch]): install them into the CI
# environment (torch is already there, pinned, so the extra's "torch>=2.0"
# pulls nothing) and run their tests, which must run here rather than skip;
# then the serving benchmark once in its quick form.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet ".[onnx,torch]"
python -c "import onnx, onnxruntime, skl2onnx, torch"

python -m pytest -q -p no:cacheprovider -rs tests/test_onnx.py tests/test_torch_interop.py \
  | tee /tmp/fastnn-interop-tests.log
if grep -q "SKIPPED" /tmp/fastnn-interop-tests.log; then
  echo "interop tests were skipped although their extras are installed" >&2
  exit 1
fi

python bench/bench_serving.py --quick --out "$(mktemp -d)/serving.json"
