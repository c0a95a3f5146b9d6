"""The targets of the speed issue, and the rows of the README's table, as data.

A target names a workload (its ``key`` in a benchmark's JSON) and a row of
it, or a value a benchmark recorded in ``measures``. The report checks each
against the run it describes; nothing here is asserted.

kinds:
  ``speedup``  fastnn's speed-up over the row is at least ``goal``
  ``share``    the same, shown as a share (fastnn's rate / the ceiling's)
  ``time``     fastnn's time over the row's is at most ``goal``
  ``measure``  the recorded value is at most ``goal``
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    workload: str
    row: str | None
    kind: str
    goal: float
    what: str


TARGETS = (
    Target("online", "jax", "speedup", 1.5, "faster per update than JAX's compiled scan"),
    Target("online", "torch", "speedup", 100, "faster than PyTorch eager"),
    Target("online", "numpy", "speedup", 15, "faster than the NumPy loop"),
    Target("batch128", "jax", "speedup", 1.0, "samples/s at least JAX's"),
    Target("batch128", "torch", "speedup", 1.5, "1.5x PyTorch's samples/s"),
    Target(
        "batch1024", "ceiling", "share", 0.75, "share of the sgemm ceiling (same run, same threads)"
    ),
    Target("batch1024", "jax", "speedup", 1.0, "samples/s at least JAX's"),
    Target("predict1", "torch", "speedup", 3.0, "3x faster than PyTorch under inference_mode"),
    Target("predict1", "jax", "speedup", 3.0, "3x faster than a jitted JAX function"),
    Target(
        "predict1", "bare", "time", 1.3, "time within 1.3x of the three bare matrix-vector products"
    ),
    Target(
        "hubble",
        "jax",
        "speedup",
        1.0,
        "recording the path, at least as fast as JAX's scan recording nothing",
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
    "predict10k": "predict 10,000 samples",
    "hubble": "Hubble fit, per gradient step (recording the path)",
    "lenet32": "LeNet on the 8x8 digits, batch 32",
    "lenet1": "LeNet on the 8x8 digits, batch 1",
    "partial_fit": "MLPClassifier.partial_fit, one row",
}
README_PEERS = {"jax": "JAX", "torch": "PyTorch", "sklearn": "scikit-learn", "numpy": "NumPy"}
