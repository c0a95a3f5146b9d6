"""The benchmark scripts use what the installed fastnn offers: every name
they import from fastnn exists (checked from their source, since a script
parses its options and pins its threads before it imports anything; the
timings themselves belong in bench/, never in the test suite)."""

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py"))


def fastnn_imports(path):
    """(module, name) for each ``from fastnn... import name`` and
    ``import fastnn...`` in a script (name None for a bare import)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fastnn"):
            for alias in node.names:
                yield node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fastnn"):
                    yield alias.name, None


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_benchmark_imports_what_fastnn_has(script):
    found = list(fastnn_imports(BENCH / script))
    for module, name in found:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module of an optional extra (fastnn.dask)
            if (exc.name or "").split(".")[0] == "fastnn":
                raise
            pytest.skip(f"{script} imports {module}, which needs {exc.name} (an extra)")
        if name is not None:
            assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), (
                f"{script} imports {name} from {module}, which has no such name"
            )


def test_the_check_reads_the_imports():
    names = {name for _, name in fastnn_imports(BENCH / "bench_estimators.py")}
    assert "MLPClassifier" in names
