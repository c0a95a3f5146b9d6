"""The targets of the speed issue (second round), and the rows of the README's table, as data.

A target names a workload (its ``key`` in a benchmark's JSON) and a row of
it, or a value a benchmark recorded in ``measures``. The report checks each
against the run it describes; nothing here is asserted.

kinds:
  ``speedup``  fastnn's speed-up over the row is at least ``goal``; a tuple
               of rows is one peer at its several settings, and counts at
               its best (fastnn's smallest speed-up)
  ``share``    the same, shown as a share (fastnn's rate / the ceiling's)
  ``time``     fastnn's time over the row's is at most ``goal``
  ``measure``  the recorded value is at most ``goal``
  ``least``    the recorded value is at least ``goal``
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    workload: str
    row: str | tuple[str, ...] | None
    kind: str
    goal: float
    what: str


ORT = ("ort_1t", "ort_2t")
TARGETS = (
    Target("online", "jax", "speedup", 2.0, "2x faster per update than JAX's compiled scan"),
    Target("online", "torch", "speedup", 150, "150x faster than PyTorch eager"),
    Target("predict1", ORT, "speedup", 1.5, "1.5x onnxruntime at its best thread setting (1 or 2)"),
    Target("predict1", "torch", "speedup", 4.0, "4x PyTorch under inference_mode"),
    Target("predict1", "jax", "speedup", 4.0, "4x a jitted JAX function"),
    Target(
        "predict_tiny",
        "bare",
        "speedup",
        2.5,
        "bound predictor 2.5x the barest NumPy forward (within 1.5x of a C forward)",
    ),
    Target("predict10k", ORT, "speedup", 1.2, "1.2x onnxruntime at its best thread setting"),
    Target("predict10k", "bare", "speedup", 1.2, "1.2x NumPy's three bare matrix products"),
    Target(
        "hubble_user",
        "jax",
        "speedup",
        1.5,
        "as the user calls it (built, checked, path recorded), 1.5x JAX's scan recording nothing",
    ),
    Target(
        "batch1024", "ceiling", "share", 0.85, "share of the sgemm ceiling (same run, same threads)"
    ),
    Target("batch128", "jax", "speedup", 1.5, "1.5x JAX's samples/s"),
    Target(
        "narrow-gain",
        None,
        "least",
        2.0,
        "width-32 layers at batch 32: GFLOP/s at least 2x the first round's (same machine)",
    ),
    Target(
        "partial_fit-us",
        None,
        "measure",
        10.0,
        "MLPClassifier.partial_fit on one row: under 10 µs per call (failed-step undo kept)",
    ),
    Target(
        "scaling-samples",
        None,
        "measure",
        1.25,
        "time per epoch linear in samples: the marginal cost per sample from 30k "
        "to 100k rows within 1.25x of that from 10k to 30k",
    ),
    Target(
        "peak-memory",
        None,
        "measure",
        1.3,
        "peak memory of the fit within 1.3x of data + parameters + optimizer "
        "state + one batch's activations",
    ),
)

# workload key -> its line in the README's table (in this order)
README_ROWS = {
    "online": "online learning, 64-32-10 on the digits",
    "batch128": "mini-batch 128, 784-256-128-10",
    "batch1024": "mini-batch 1024, 784-256-128-10",
    "predict1": "predict one sample, 784-256-128-10",
    "predict_tiny": "predict one sample, 64-32-10 (bound predictor)",
    "predict10k": "predict 10,000 samples",
    "hubble_user": "Hubble fit, 10,000 steps as the user calls it",
    "lenet32": "LeNet on the 8x8 digits, batch 32",
    "lenet1": "LeNet on the 8x8 digits, batch 1",
    "partial_fit": "MLPClassifier.partial_fit, one row",
}
README_PEERS = {
    "jax": "JAX",
    "torch": "PyTorch",
    "sklearn": "scikit-learn",
    "numpy": "NumPy",
    ORT: "onnxruntime",
}
