"""The type stub of the compiled core holds: mypy's ``stubtest`` checks every
name, signature and default of ``_kernels.pyi`` against ``fastnn._kernels``
and against each build for another instruction set that this CPU runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import fastnn
from fastnn import _dispatch

try:
    import mypy.stubtest  # noqa: F401
except ImportError:
    pytest.skip(
        "mypy is not installed: pip install '.[test]' to check the type stub",
        allow_module_level=True,
    )

VARIANTS = [isa for isa in _dispatch.available() if isa != "baseline"]
MODULES = ["fastnn._kernels"] + [f"fastnn._kernels_{isa}" for isa in VARIANTS]
# What Cython adds to every compiled module: not part of the kernels' interface.
ALLOWLIST = (
    r"fastnn\._kernels(_avx2|_avx512)?\."
    r"__(reduce_cython|setstate_cython|test)__"
)


def test_typing_files_installed():
    here = Path(fastnn.__file__).parent
    stubs = [f"_kernels_{isa}.pyi" for isa in VARIANTS]
    for name in ["py.typed", "_kernels.pyi", *stubs]:
        assert (here / name).is_file(), f"{name} is missing from {here}"


def test_stubtest(tmp_path):
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text(ALLOWLIST + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "--concise",
            "--allowlist",
            str(allowlist),
            *MODULES,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    missing = sorted(set(re.findall(r"^(\S+) is not present in stub", out, re.M)))
    stale = sorted(set(re.findall(r"^(\S+) is not present at runtime", out, re.M)))
    problems = []
    if missing:
        problems.append(
            "names the compiled module exports but the stub lacks: " + ", ".join(missing)
        )
    if stale:
        problems.append("names in the stub that the compiled module lacks: " + ", ".join(stale))
    assert proc.returncode == 0, (
        "src/fastnn/_kernels.pyi does not match the compiled kernels; "
        + "; ".join(problems)
        + "\n(declare each `def` of _kernels.pyx with its parameters and defaults)\n"
        + out
    )


@pytest.mark.parametrize("isa", VARIANTS)
def test_builds_export_the_same_names(isa):
    """The stub of each build re-exports ``_kernels.pyi``: it holds only if
    every build has the same names, the Stepper's included."""
    base, other = _dispatch.load("baseline"), _dispatch.load(isa)
    assert dir(other) == dir(base)
    assert dir(other.Stepper) == dir(base.Stepper)
