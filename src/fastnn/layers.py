"""Layers: what one stage of a network computes and how its parameters lie.

A layer knows its sizes, its activation and how to describe itself to the
compiled core (one row of the layer table). Its parameters do not belong to
it: they live in the network's one flat buffer, and ``layer.W`` / ``layer.b``
are writable views into that buffer, set when the network is built.

Image layers (``Conv2D``, ``MaxPool2D``, ``AvgPool2D``, ``Flatten``) take
samples of shape ``(c, h, w)``, stored flat per row in PyTorch's order. Their
parameter shapes never depend on ``h`` and ``w``, so a network allocates and
initialises its parameters when it is created; the spatial sizes (and with
them the layer table) are fixed once the input shape is known: at creation
when the first layer says it (``Dense``, or ``Conv2D(..., input_shape=...)``),
else from the first ``X`` the network sees. ``chain_shapes`` walks the shapes
from layer to layer and names the layer and the shapes when they do not fit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional, cast

import numpy as np

from ._dispatch import kernels as _kernels
from ._validation import check_activation, check_float, check_int

__all__ = ["Layer", "Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten", "Dropout"]

# A per-sample shape; None marks a size not known yet (an image's h and w
# before the network has seen its input).
Shape = tuple[Optional[int], ...]


def _int(value, name: str, minimum: int) -> int:
    """An integer >= minimum (see ``check_int``)."""
    return cast(int, check_int(value, name, minimum))


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

    # -- shapes of one sample (tuples; None for a size not known yet)
    takes_images = False  # True: the network's X is (n, c, h, w) if this layer is first

    def input_hint(self) -> Shape | None:
        """What this layer tells about its input before any data (None: nothing)."""
        return None

    def check_input(self, shape: Shape | None) -> str | None:
        """None if samples of this shape fit the layer, else what it takes."""
        return None

    def output_shape(self, shape: Shape | None) -> Shape | None:
        raise NotImplementedError

    def bind(self, in_shape: Shape, out_shape: Shape) -> None:
        """Fix the layer's geometry once the network knows its input shape."""

    def describe_output(self) -> str:
        """The output shape of one sample, for summaries ('?' if not known yet)."""
        return _fmt(self.output_shape(None))

    def spec_row(self, w_off: int, b_off: int) -> np.ndarray:
        """This layer's row of the layer table read by the compiled core."""
        shapes = self.param_shapes()
        w_size = math.prod(shapes[0]) if shapes else 0
        b_size = math.prod(shapes[1]) if shapes else 0
        row = np.zeros(_kernels.SPEC_COLUMNS, dtype=np.int64)
        row[:8] = (
            _kernels.LAYER_KINDS[self.kind],
            _kernels.ACTIVATIONS[self.activation],
            self.n_in,
            self.n_out,
            w_off,
            w_size,
            b_off,
            b_size,
        )
        geometry = self.geometry()
        row[8 : 8 + len(geometry)] = geometry
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
        self.n_in = _int(n_in, "n_in", 1)
        self.n_out = _int(n_out, "n_out", 1)
        self.activation = check_activation(activation)

    @property
    def n_params(self) -> int:
        return self.n_in * self.n_out + self.n_out

    def param_shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return (self.n_in, self.n_out), (self.n_out,)

    def init_params(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """He-uniform for ReLU, Glorot-uniform otherwise; zero bias."""
        if self.activation == "relu":
            limit = math.sqrt(6.0 / self.n_in)
        else:
            limit = math.sqrt(6.0 / (self.n_in + self.n_out))
        W = rng.uniform(-limit, limit, size=(self.n_in, self.n_out))
        return W, np.zeros(self.n_out)

    def config(self) -> dict:
        return {
            "type": "Dense",
            "n_in": self.n_in,
            "n_out": self.n_out,
            "activation": self.activation,
        }

    def input_hint(self) -> Shape:
        return (self.n_in,)

    def check_input(self, shape: Shape | None) -> str | None:
        if shape is None or shape == (None,) or shape == (self.n_in,):
            return None
        if len(shape) != 1:
            return f"{self.n_in} inputs (a flat vector: put a Flatten() before it)"
        return f"{self.n_in} inputs"

    def output_shape(self, shape: Shape | None) -> Shape:
        return (self.n_out,)

    def describe_output(self) -> str:
        return str(self.n_out)

    def __repr__(self) -> str:
        act = "" if self.activation == "identity" else f", activation={self.activation!r}"
        return f"Dense({self.n_in}, {self.n_out}{act})"


def _fmt(shape: Shape | None) -> str:
    """(6, 4, 4) -> '(6, 4, 4)', (96,) -> '96', unknown sizes as '?'."""
    if shape is None:
        return "?"
    parts = ["?" if v is None else str(v) for v in shape]
    return parts[0] if len(parts) == 1 else f"({', '.join(parts)})"


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair (as torch reads them)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return (_int(value[0], name, minimum), _int(value[1], name, minimum))
    v = _int(value, name, minimum)
    return (v, v)


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _image(shape: Shape | None) -> bool:
    return shape is not None and len(shape) == 3


class _ImageLayer(Layer):
    """A layer on (c, h, w) samples whose spatial sizes are fixed by ``bind``."""

    takes_images = True

    def __init__(self) -> None:
        super().__init__()
        self.in_shape: tuple[int, int, int] | None = None
        self.out_shape: tuple[int, ...] | None = None
        self.activation = "identity"

    @property
    def n_in(self) -> int | None:  # type: ignore[override]
        return None if self.in_shape is None else math.prod(self.in_shape)

    @property
    def n_out(self) -> int | None:  # type: ignore[override]
        return None if self.out_shape is None else math.prod(self.out_shape)

    def bind(self, in_shape: Shape, out_shape: Shape) -> None:
        self.in_shape = cast("tuple[int, int, int]", tuple(in_shape))
        self.out_shape = cast("tuple[int, ...]", tuple(out_shape))

    def describe_output(self) -> str:
        return _fmt(self.out_shape if self.out_shape is not None else self.output_shape(None))

    def _require_bound(self) -> tuple[int, int, int]:
        if self.in_shape is None:
            raise RuntimeError(f"{self!r} does not know its input shape yet")
        return self.in_shape


class Conv2D(_ImageLayer):
    """A 2-D convolution, as ``torch.nn.Conv2d`` computes it.

    ``out[i, co] = b[co] + sum over ci of cross_correlate(X[i, ci], W[co, ci])``
    with zero padding and the given stride.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
        ``(kh, kw)``; ``W`` has shape ``(out_channels, in_channels, kh, kw)``
        and ``b`` shape ``(out_channels,)``.
    stride : int or (int, int), default 1
    padding : int or (int, int), default 0
        Zeros added on both sides of the height and of the width.
    activation : {None, "identity", "sigmoid", "tanh", "relu", "step"}
        Applied to every output pixel (softmax is for a ``Dense`` output
        layer).
    input_shape : (int, int, int), optional
        ``(in_channels, h, w)`` of one sample. Only needed to fix the shapes
        before any data is seen (the network takes them from the first ``X``
        otherwise).

    Output: ``(out_channels, oh, ow)`` with
    ``oh = (h + 2*padding - kh) // stride + 1`` (likewise ``ow``).
    """

    kind = "conv2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        activation: str | None = None,
        input_shape: Sequence[int] | None = None,
    ):
        super().__init__()
        self.in_channels = _int(in_channels, "in_channels", 1)
        self.out_channels = _int(out_channels, "out_channels", 1)
        self.kernel_size = _pair(kernel_size, "kernel_size", 1)
        self.stride = _pair(stride, "stride", 1)
        self.padding = _pair(padding, "padding", 0)
        self.activation = check_activation(activation)
        if self.activation == "softmax":
            raise ValueError(
                "Conv2D does not take the softmax activation: softmax is for "
                "a Dense output layer (put Flatten() and a Dense layer last)"
            )
        if input_shape is not None:
            if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
                raise ValueError(
                    f"input_shape must be (channels, height, width), got {input_shape!r}"
                )
            input_shape = tuple(_int(v, "input_shape", 1) for v in input_shape)
            if input_shape[0] != self.in_channels:
                raise ValueError(
                    f"input_shape {input_shape} has {input_shape[0]} channels "
                    f"but in_channels is {self.in_channels}"
                )
        self.input_shape = input_shape

    @property
    def n_params(self) -> int:
        kh, kw = self.kernel_size
        return self.out_channels * self.in_channels * kh * kw + self.out_channels

    def param_shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return ((self.out_channels, self.in_channels, *self.kernel_size), (self.out_channels,))

    def init_params(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """He-uniform for ReLU, Glorot-uniform otherwise (fans over the
        kernel: in*kh*kw and out*kh*kw); zero bias."""
        area = self.kernel_size[0] * self.kernel_size[1]
        fan_in, fan_out = self.in_channels * area, self.out_channels * area
        if self.activation == "relu":
            limit = math.sqrt(6.0 / fan_in)
        else:
            limit = math.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-limit, limit, size=self.param_shapes()[0])
        return W, np.zeros(self.out_channels)

    def input_hint(self) -> Shape:
        return self.input_shape if self.input_shape is not None else (self.in_channels, None, None)

    def _min_size(self) -> tuple[int, int]:
        return (
            max(1, self.kernel_size[0] - 2 * self.padding[0]),
            max(1, self.kernel_size[1] - 2 * self.padding[1]),
        )

    def check_input(self, shape: Shape | None) -> str | None:
        hmin, wmin = self._min_size()
        want = f"images of shape ({self.in_channels}, h, w) with h >= {hmin} and w >= {wmin}"
        if shape is None:
            return None
        if not _image(shape) or shape[0] not in (None, self.in_channels):
            return want
        if (shape[1] is not None and shape[1] < hmin) or (shape[2] is not None and shape[2] < wmin):
            return want
        if self.input_shape is not None and None not in shape and tuple(shape) != self.input_shape:
            return f"images of shape {self.input_shape} (its input_shape)"
        return None

    def output_shape(self, shape: Shape | None) -> Shape:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        h, w = (None, None) if shape is None else shape[1:]
        oh = None if h is None else (h + 2 * ph - kh) // sh + 1
        ow = None if w is None else (w + 2 * pw - kw) // sw + 1
        return (self.out_channels, oh, ow)

    def geometry(self) -> tuple[int, ...]:
        _, h, w = self._require_bound()
        return (h, w, *self.kernel_size, *self.stride, *self.padding)

    def config(self) -> dict:
        return {
            "type": "Conv2D",
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "activation": self.activation,
            "input_shape": None if self.input_shape is None else list(self.input_shape),
        }

    def __repr__(self) -> str:
        text = (
            f"Conv2D({self.in_channels}, {self.out_channels}, "
            f"kernel_size={_pair_text(self.kernel_size)}"
        )
        if self.stride != (1, 1):
            text += f", stride={_pair_text(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding={_pair_text(self.padding)}"
        if self.activation != "identity":
            text += f", activation={self.activation!r}"
        return text + ")"


class _Pool2D(_ImageLayer):
    """Non-overlapping windows (stride = size), no padding, floor on the
    output size, as torch's pooling layers with only a kernel size."""

    name = ""

    def __init__(self, size):
        super().__init__()
        self.size = _pair(size, "size", 1)

    def input_hint(self) -> Shape:
        return (None, None, None)

    def check_input(self, shape: Shape | None) -> str | None:
        want = f"images of shape (c, h, w) with h >= {self.size[0]} and w >= {self.size[1]}"
        if shape is None:
            return None
        if not _image(shape):
            return want
        if (shape[1] is not None and shape[1] < self.size[0]) or (
            shape[2] is not None and shape[2] < self.size[1]
        ):
            return want
        return None

    def output_shape(self, shape: Shape | None) -> Shape:
        if shape is None:
            return (None, None, None)
        c, h, w = shape
        return (
            c,
            None if h is None else h // self.size[0],
            None if w is None else w // self.size[1],
        )

    def geometry(self) -> tuple[int, ...]:
        _, h, w = self._require_bound()
        return (h, w, *self.size)

    def config(self) -> dict:
        return {"type": self.name, "size": list(self.size)}

    def __repr__(self) -> str:
        return f"{self.name}({_pair_text(self.size)})"


class MaxPool2D(_Pool2D):
    """The maximum of each ``size x size`` window (``torch.nn.MaxPool2d(size)``).

    The gradient goes to the window's first maximum in row-major order, as
    PyTorch's CPU kernel does on ties.
    """

    kind = "maxpool2d"
    name = "MaxPool2D"


class AvgPool2D(_Pool2D):
    """The mean of each ``size x size`` window (``torch.nn.AvgPool2d(size)``)."""

    kind = "avgpool2d"
    name = "AvgPool2D"


class Flatten(_ImageLayer):
    """``(c, h, w)`` to ``(c*h*w,)`` in PyTorch's order, as ``torch.nn.Flatten()``.

    Samples are already stored flat, so this costs one copy; it marks where
    images end and vectors begin.
    """

    kind = "flatten"

    def output_shape(self, shape: Shape | None) -> Shape:
        if shape is None or None in shape:
            return (None,)
        return (math.prod(cast("tuple[int, ...]", shape)),)

    def config(self) -> dict:
        return {"type": "Flatten"}

    def __repr__(self) -> str:
        return "Flatten()"


class Dropout(Layer):
    """Inverted dropout, as ``torch.nn.Dropout(p)``: while training, each
    value is zeroed with probability ``p`` and the others scaled by
    ``1 / (1 - p)``; at prediction and evaluation it passes values through.

    The masks are drawn inside the compiled loop from the network's seeded
    stream, so a run is deterministic for a given seed. The rate is held to
    30 binary digits (``round(p * 2**30) / 2**30``). A hidden-layer
    regulariser: it may not be the first or the last layer.
    """

    kind = "dropout"

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_float(p, "p", low=0.0, high=1.0, high_open=True)
        self.activation = "identity"
        self.in_shape: Shape | None = None

    @property
    def n_in(self) -> int | None:  # type: ignore[override]
        if self.in_shape is None or None in self.in_shape:
            return None
        return math.prod(cast("tuple[int, ...]", self.in_shape))

    @property
    def n_out(self) -> int | None:  # type: ignore[override]
        return self.n_in

    def output_shape(self, shape: Shape | None) -> Shape | None:
        return shape

    def bind(self, in_shape: Shape, out_shape: Shape) -> None:
        self.in_shape = tuple(in_shape)

    def describe_output(self) -> str:
        return _fmt(self.in_shape)

    def geometry(self) -> tuple[int, ...]:
        return (int(round(self.p * _kernels.DROPOUT_ONE)),)

    def config(self) -> dict:
        return {"type": "Dropout", "p": self.p}

    def __repr__(self) -> str:
        return f"Dropout({self.p})"


def chain_shapes(layers: Sequence[Layer], input_shape: Shape | None) -> list[tuple]:
    """(input shape, output shape) of one sample at each layer.

    Sizes not known yet (None) are carried along and checked later.

    Raises
    ------
    ValueError
        Naming the first layer whose input does not fit, what it takes and
        what it is given.
    """
    shapes: list[tuple[Shape | None, Shape | None]] = []
    shape = input_shape
    for i, layer in enumerate(layers):
        wants = layer.check_input(shape)
        if wants is not None:
            if i == 0:
                given = f"the input has samples of shape {_fmt(shape)}"
            else:
                prev = layers[i - 1]
                given = f"layer {i - 1} ({prev!r}) gives {_fmt(shape)}"
                src = shapes[-1][0]
                if isinstance(prev, Flatten) and src is not None and len(src) > 1:
                    given += f" (the flattened {_fmt(src)})"
            raise ValueError(f"layer {i} ({layer!r}) takes {wants} but {given}")
        out = layer.output_shape(shape)
        shapes.append((shape, out))
        shape = out
    return shapes


def build_spec(
    layers: Sequence[Layer], input_shape: Shape, offsets: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Fix every layer's geometry for samples of ``input_shape`` and return
    the layer table (one row per layer; ``offsets`` are the (w_off, b_off) of
    each layer in the flat parameter buffer). Nothing changes on error."""
    shapes = chain_shapes(layers, tuple(input_shape))
    for layer, (s_in, s_out) in zip(layers, shapes):
        layer.bind(s_in, s_out)
    rows = [layer.spec_row(w_off, b_off) for layer, (w_off, b_off) in zip(layers, offsets)]
    return np.ascontiguousarray(np.array(rows, dtype=np.int64))


LAYER_TYPES = {
    "Dense": Dense,
    "Conv2D": Conv2D,
    "MaxPool2D": MaxPool2D,
    "AvgPool2D": AvgPool2D,
    "Flatten": Flatten,
    "Dropout": Dropout,
}


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
