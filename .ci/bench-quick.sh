#!/usr/bin/env bash
# Smoke run of every benchmark (`bench/run_all.py --quick`), so that the
# scripts cannot rot: each must run to the end and write its results. No
# timing is asserted; the numbers of a smoke run on a busy machine mean
# nothing. Peers that are not installed (JAX here) are reported as absent.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet threadpoolctl
out=$(mktemp -d)
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run_all.py --quick --out "$out"
test -s "$out/results.md"
rm -rf "$out"
