"""Type stub of the compiled core ``fastnn._kernels`` (``_kernels.pyx``).

``_kernels_avx2`` and ``_kernels_avx512`` are builds of the same source for
other instruction sets; their stubs re-export this one. ``tests/test_stub.py``
holds this stub against the compiled modules with mypy's ``stubtest``.

Floating-point buffers are float32 or float64 (Cython's fused ``floating``);
all of one call share one dtype.
"""

from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self, disjoint_base

_F = TypeVar("_F", np.float32, np.float64)

ACTIVATIONS: dict[str, int]
LOSSES: dict[str, int]
LAYER_KINDS: dict[str, int]
DROPOUT_ONE: int
OPTIMIZERS: dict[str, int]
HYPER_SLOTS: dict[str, int]
N_HYPER_SLOTS: int
SPEC_COLUMNS: int
CONV_DIRECT_BELOW: int
CONV_UNFOLD_BUDGET: int
DIVERGED: int
NOT_FINITE: int
COUNTER_SLOTS: dict[str, int]
STOP_SLOTS: dict[str, int]

def bind_blas(get_num_threads: int, set_num_threads: int) -> None: ...
def set_threads(n: int) -> None: ...
def get_threads() -> int: ...
def hold_one_thread(seconds: float) -> None: ...
def own_gemm_available() -> bool: ...
def own_matmul(
    A: NDArray[np.float32],
    B: NDArray[np.float32],
    C: NDArray[np.float32],
    transpose_a: bool = False,
    accumulate: bool = False,
    bias: NDArray[np.float32] | None = None,
    relu: bool = False,
) -> None: ...
def set_own_max_side(n: int) -> int: ...
def workspace_size(
    spec: NDArray[np.int64],
    batch_size: int,
    split: bool = False,
    copies: int = 1,
    itemsize: int = 8,
) -> int: ...
def optimizer_state_size(kind: int, n_params: int) -> int: ...
def permutation(rng_state: NDArray[np.uint64], order_out: NDArray[np.int64]) -> None: ...
def forward(
    spec: NDArray[np.int64],
    params: NDArray[_F],
    X: NDArray[_F],
    out: NDArray[_F],
    work: NDArray[_F],
    chunk: int,
    check_finite: bool = False,
) -> bool: ...
def all_finite(values: NDArray[np.float32] | NDArray[np.float64]) -> bool: ...
def loss_value(
    spec: NDArray[np.int64],
    loss: int,
    params: NDArray[_F],
    X: NDArray[_F],
    labels: NDArray[np.int64],
    Y: NDArray[_F],
    work: NDArray[_F],
    chunk: int,
) -> float: ...
def loss_and_grad(
    spec: NDArray[np.int64],
    loss: int,
    params: NDArray[_F],
    X: NDArray[_F],
    labels: NDArray[np.int64],
    Y: NDArray[_F],
    grads: NDArray[_F],
    work: NDArray[_F],
) -> float: ...
def train(
    spec: NDArray[np.int64],
    loss: int,
    params: NDArray[_F],
    grads: NDArray[_F],
    opt_kind: int,
    hyper: NDArray[np.float64],
    opt_state: NDArray[_F],
    X: NDArray[_F],
    labels: NDArray[np.int64],
    Y: NDArray[_F],
    batch_size: int,
    n_epochs: int,
    shuffle: bool,
    rng_state: NDArray[np.uint64],
    order: NDArray[np.int64],
    work: NDArray[_F],
    step_loss: NDArray[np.float64],
    trace: NDArray[_F],
    counters: NDArray[np.int64],
    check_every: int,
    max_steps: int,
    split: bool = False,
    stop: NDArray[np.float64] | None = None,
    epoch_loss: NDArray[np.float64] | None = None,
    step_correct: NDArray[np.int64] | None = None,
    check_rows: bool = False,
) -> None: ...
def update(
    opt_kind: int,
    hyper: NDArray[np.float64],
    t: int,
    params: NDArray[_F],
    grads: NDArray[_F],
    opt_state: NDArray[_F],
) -> None: ...

@disjoint_base
class Stepper:
    """One gradient step at a time for a stream of small batches."""

    def __new__(
        cls,
        spec: NDArray[np.int64],
        loss: int,
        params: NDArray[Any],
        grads: NDArray[Any],
        opt_kind: int,
        opt_buffer: NDArray[Any],
        rng_state: NDArray[np.uint64],
        work: NDArray[Any],
        rows: int,
    ) -> Self: ...
    @property
    def spec(self) -> NDArray[np.int64]: ...
    @property
    def params(self) -> NDArray[Any]: ...
    @property
    def opt_buffer(self) -> NDArray[Any]: ...
    @property
    def rng_state(self) -> NDArray[np.uint64]: ...
    @property
    def work(self) -> NDArray[Any]: ...
    @property
    def rows(self) -> int: ...
    @property
    def status(self) -> int: ...
    @property
    def correct(self) -> int: ...
    def step(
        self,
        X: NDArray[Any],
        labels: NDArray[np.int64],
        Y: NDArray[Any],
        hyper: NDArray[np.float64],
        t: int,
    ) -> float: ...

@disjoint_base
class Predictor:
    """``Sequential.predictor()``: predict, with the buffers bound once."""

    def __new__(
        cls,
        model: Any,
        spec: NDArray[np.int64],
        params: NDArray[Any],
        work: NDArray[Any],
        rows: int,
        sample_shape: tuple[int, ...],
    ) -> Self: ...
    @property
    def model(self) -> Any: ...
    @property
    def rows(self) -> int: ...
    def __call__(self, X: Any) -> NDArray[Any]: ...

def cast_finite(src: NDArray[np.float64], dst: NDArray[np.float32]) -> bool: ...
