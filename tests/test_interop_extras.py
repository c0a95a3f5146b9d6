"""The interop extras stay optional: ``import fastnn`` imports none of onnx,
onnxruntime, skl2onnx and torch, yet offers to_onnx, from_onnx, from_torch
and Sequential.to_torch, which name the extra to install when it is missing.
These run with or without the extras installed."""

import subprocess
import sys

import pytest


def run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_fastnn_imports_no_extra():
    code = (
        "import sys, fastnn\n"
        "assert all(callable(f) for f in (fastnn.to_onnx, fastnn.from_onnx, fastnn.from_torch))\n"
        "assert callable(fastnn.Sequential.to_torch)\n"
        "print([m for m in ('onnx', 'onnxruntime', 'skl2onnx', 'torch') if m in sys.modules])\n"
    )
    assert run(code) == "[]"


@pytest.mark.parametrize(
    "missing,call,extra",
    [
        ("onnx", "fastnn.to_onnx(net)", "onnx"),
        ("onnx", "fastnn.from_onnx('model.onnx')", "onnx"),
        ("onnx", "import fastnn.onnx", "onnx"),
        ("torch", "fastnn.from_torch(None)", "torch"),
        ("torch", "net.to_torch()", "torch"),
    ],
)
def test_a_missing_extra_is_named(missing, call, extra):
    code = (
        "import sys\n"
        f"sys.modules[{missing!r}] = None\n"  # as if it were not installed
        "import fastnn\n"
        "net = fastnn.Sequential([fastnn.Dense(2, 1)])\n"
        "try:\n"
        f"    {call}\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    text = run(code)
    assert f'pip install "fastnn[{extra}]"' in text and repr(missing) in text
