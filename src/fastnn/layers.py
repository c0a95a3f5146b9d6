"""Layers: what one stage of a network computes and how its parameters lie.

A layer knows its sizes, its activation and how to describe itself to the
compiled core (one row of the layer table). Its parameters do not belong to
it: they live in the network's one flat buffer, and ``layer.W`` / ``layer.b``
are writable views into that buffer, set when the network is built.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._validation import check_activation, check_int

__all__ = ["Layer", "Dense"]


class Layer:
    """Base class. ``W`` and ``b`` are None until a network owns the layer."""

    kind = ""
    W: np.ndarray | None
    b: np.ndarray | None

    def __init__(self) -> None:
        self.W = None
        self.b = None
        self._owner = None

    # sizes of one sample, flattened
    n_in: int
    n_out: int
    activation: str

    @property
    def n_params(self) -> int:
        return 0

    def param_shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        return None

    def init_params(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
        return None

    def config(self) -> dict:
        raise NotImplementedError

    def geometry(self) -> tuple[int, ...]:
        """Extra integers the kernel needs (columns p0 .. p7 of the table)."""
        return ()

    def spec_row(self, w_off: int, b_off: int) -> np.ndarray:
        """This layer's row of the layer table read by the compiled core."""
        shapes = self.param_shapes()
        w_size = int(np.prod(shapes[0])) if shapes else 0
        b_size = int(np.prod(shapes[1])) if shapes else 0
        row = np.zeros(_kernels.SPEC_COLUMNS, dtype=np.int64)
        row[:8] = (_kernels.LAYER_KINDS[self.kind], _kernels.ACTIVATIONS[self.activation],
                   self.n_in, self.n_out, w_off, w_size, b_off, b_size)
        geometry = self.geometry()
        row[8:8 + len(geometry)] = geometry
        return row


class Dense(Layer):
    """A fully connected layer: ``activation(X @ W + b)``.

    Parameters
    ----------
    n_in, n_out : int
        Inputs and outputs of the layer. ``W`` has shape ``(n_in, n_out)``
        and ``b`` shape ``(n_out,)``.
    activation : {None, "identity", "sigmoid", "tanh", "relu", "softmax", "step"}
        ``"softmax"`` is for the output layer only. ``"step"`` (Heaviside,
        1 where the input is >= 0) is for fixed-weight neurons and the
        perceptron; it has no gradient, so a network trained by gradient
        refuses it.
    """

    kind = "dense"

    def __init__(self, n_in: int, n_out: int, activation: str | None = None):
        super().__init__()
        self.n_in = check_int(n_in, "n_in", 1)
        self.n_out = check_int(n_out, "n_out", 1)
        self.activation = check_activation(activation)

    @property
    def n_params(self) -> int:
        return self.n_in * self.n_out + self.n_out

    def param_shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (self.n_in, self.n_out), (self.n_out,)

    def init_params(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """He-uniform for ReLU, Glorot-uniform otherwise; zero bias."""
        if self.activation == "relu":
            limit = np.sqrt(6.0 / self.n_in)
        else:
            limit = np.sqrt(6.0 / (self.n_in + self.n_out))
        W = rng.uniform(-limit, limit, size=(self.n_in, self.n_out))
        return W, np.zeros(self.n_out)

    def config(self) -> dict:
        return {"type": "Dense", "n_in": self.n_in, "n_out": self.n_out,
                "activation": self.activation}

    def __repr__(self) -> str:
        act = "" if self.activation == "identity" else f", activation={self.activation!r}"
        return f"Dense({self.n_in}, {self.n_out}{act})"


LAYER_TYPES = {"Dense": Dense}


def layer_from_config(cfg: dict) -> Layer:
    """Rebuild a layer from ``layer.config()`` (used when loading a file)."""
    if not isinstance(cfg, dict) or cfg.get("type") not in LAYER_TYPES:
        raise ValueError(f"unknown layer description {cfg!r}")
    cfg = dict(cfg)
    cls = LAYER_TYPES[cfg.pop("type")]
    try:
        return cls(**cfg)
    except TypeError as exc:
        raise ValueError(f"bad layer description {cfg!r}: {exc}") from None
