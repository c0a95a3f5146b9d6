"""Every build of the compiled core (baseline, AVX2, AVX-512) computes the
same results: float64 to 1e-12, float32 within rounding, for each size class
(plain loops, the register tiles of small layers, BLAS), and online steps."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn
from fastnn import _dispatch

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import fastnn
    out = {"isa": fastnn.build_info()["isa"]}
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        for n, sizes, bs in ((40, (8, 16, 4), 1), (96, (20, 48, 10), 16),
                             (256, (64, 128, 64, 10), 64)):
            X = rng.normal(size=(n, sizes[0]))
            y = rng.integers(0, sizes[-1], size=n)
            layers = [fastnn.Dense(a, b, activation="tanh")
                      for a, b in zip(sizes[:-2], sizes[1:-1])]
            layers.append(fastnn.Dense(sizes[-2], sizes[-1], activation="softmax"))
            net = fastnn.Sequential(layers, dtype=dtype, seed=1)
            hist = net.fit(X, y, epochs=2, batch_size=bs, optimizer=fastnn.Adam(lr=0.01))
            key = f"{dtype}-{n}"
            out[key] = {"params": net.params.astype(float).tolist(),
                        "pred": net.predict(X).astype(float).ravel().tolist(),
                        "loss": hist.step_loss}
    json.dump(out, sys.stdout)
""")


def run_with(isa):
    env = dict(os.environ, FASTNN_ISA=isa)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout)


def test_the_chosen_build_is_reported():
    info = fastnn.build_info()
    assert info["isa"] in info["available"]
    assert info["module"].startswith("fastnn._kernels")
    assert "baseline" in info["available"]


def test_forcing_an_unknown_build_fails_clearly():
    env = dict(os.environ, FASTNN_ISA="sse9")
    done = subprocess.run(
        [sys.executable, "-c", "import fastnn"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "unknown instruction set 'sse9'" in done.stderr


@pytest.mark.skipif(len(_dispatch.available()) < 2, reason="only one build for this CPU")
def test_all_builds_agree():
    results = {isa: run_with(isa) for isa in _dispatch.available()}
    base = results.pop("baseline")
    assert base["isa"] == "baseline"
    for isa, res in results.items():
        assert res["isa"] == isa
        for key, ref in base.items():
            if key == "isa":
                continue
            tol = 1e-12 if key.startswith("float64") else 2e-4
            for field in ("params", "pred", "loss"):
                np.testing.assert_allclose(
                    res[key][field], ref[field], rtol=tol, atol=tol, err_msg=f"{isa} {key} {field}"
                )
