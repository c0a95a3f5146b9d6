#!/usr/bin/env bash
# The browser playground: its extra (Bokeh), its tests without a browser, and
# the end-to-end test in the system's headless Chromium driven by Selenium.
# Runs from the repository root in the CI venv (fastnn installed with .[test]).
# Chromium comes from the system's packages (installed here when root and
# missing); only where none can be installed is the browser test skipped, and
# this script says so.
set -euo pipefail
cd "$(dirname "$0")/.."

# the extra's requirements only (fastnn is installed already), and Selenium
python -m pip install --quiet $(python .ci/extra_deps.py playground) "selenium>=4.51"

have_browser() {
  command -v chromedriver >/dev/null 2>&1 &&
    { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
}
if ! have_browser && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "playground: installing chromium and chromium-driver from the system's packages"
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null ||
    echo "playground: apt-get could not install chromium"
fi
if have_browser; then
  echo "playground: end-to-end test with $(command -v chromium || command -v chromium-browser)"
else
  echo "playground: NO BROWSER could be installed (not root, or no apt-get):" \
    "the end-to-end browser test is SKIPPED; the tests without a browser run"
fi

# Run from a directory outside the checkout, so that the installed fastnn
# (with its package data) is what the tests import.
tests="$(pwd)/tests"
cd "$(mktemp -d)"
python -m pytest -q -p no:cacheprovider -rs \
  "$tests/test_playground.py" "$tests/test_playground_browser.py"
