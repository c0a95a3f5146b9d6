"""Models in and out: the entry points of the optional extras, and the layer
list that ONNX graphs and PyTorch modules are read into.

``to_onnx``, ``from_onnx`` and ``from_torch`` live here so that ``import
fastnn`` offers them without importing onnx or torch: each imports its extra
when called. ``NetworkBuilder`` turns a chain of operations (an ONNX node or
a torch module at a time) into fastnn layers, folding each activation into
the layer before it, and refuses what fastnn cannot compute, naming where it
stands in the source.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, BinaryIO

import numpy as np

__all__ = ["to_onnx", "from_onnx", "from_torch", "require", "NetworkBuilder"]

EXTRAS = {"onnx": "onnx", "onnxruntime": "onnx", "skl2onnx": "onnx", "torch": "torch"}

# activations that keep the order of their inputs, so that max-pooling, a
# flatten or an inference-time dropout before them gives the same values as
# after them: relu(max(x)) == max(relu(x)) exactly
_MONOTONE = ("relu", "sigmoid", "tanh", "step")


def require(module: str, feature: str) -> Any:
    """Import an optional library, or an ImportError saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS.get(module, module)
        raise ImportError(
            f"{feature} needs the package {module!r}, which could not be imported ({exc}). "
            f'Install it with: pip install "fastnn[{extra}]"'
        ) from exc


def to_onnx(
    model: Any,
    path: str | os.PathLike | BinaryIO | None = None,
    *,
    zipmap: bool | str = False,
) -> Any:
    """Export a network or a fitted estimator to ONNX (extra ``fastnn[onnx]``).

    Parameters
    ----------
    model : Sequential, MLPClassifier or MLPRegressor
        A ``Sequential`` whose input shape is known (any dense network; a
        convolutional one once built: ``Conv2D(..., input_shape=...)`` or
        after its first ``predict`` or ``fit``), or a fitted estimator.
    path : str, os.PathLike or binary file object, optional
        Also write the model there (the serialized ``ModelProto``).
    zipmap : bool or "columns", default False
        Classifiers only, as skl2onnx's option of that name: False gives the
        outputs ``label`` and ``probabilities`` (a tensor); True gives
        skl2onnx's default ``output_label`` and ``output_probability`` (a
        sequence of maps from class to probability).

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker``. One input ``"X"`` of shape
        ``(N, n_in)`` or ``(N, c, h, w)`` with a dynamic batch dimension
        ``N``, of element type ``float`` or ``double`` as the model's dtype.
        A ``Sequential`` has one output ``"Y"`` of shape ``(N, n_out)``,
        equal to ``predict``; see ``fastnn.onnx`` for the estimators.

    Raises
    ------
    ImportError
        onnx (or skl2onnx, for an estimator) is not installed.
    TypeError
        ``model`` is none of the above, or ``path`` is neither a path nor a
        binary file object.
    ValueError
        The estimator is not fitted, or the network does not know its input
        shape yet.
    """
    require("onnx", "fastnn.to_onnx")
    from . import _onnx

    return _onnx.to_onnx(model, path, zipmap=zipmap)


def from_onnx(model: Any, *, seed: int | None = None) -> Any:
    """Read an ONNX model into a ``Sequential`` (extra ``fastnn[onnx]``).

    Parameters
    ----------
    model : str, os.PathLike, bytes, binary file object or onnx.ModelProto
        A chain of layers, as fastnn, torch (``torch.onnx.export``) and
        skl2onnx (``MLPRegressor``) write them: see ``fastnn.onnx.from_onnx``
        for the operators read.
    seed : int, optional
        The network's seed (its shuffling stream when trained further).
        Default: the seed kept in a fastnn file's metadata, else 0.

    Returns
    -------
    Sequential
        Same predictions as the graph; its dtype is the graph input's
        (``float`` -> float32, ``double`` -> float64).

    Raises
    ------
    ImportError
        onnx is not installed.
    ValueError
        The file is not a valid ONNX model (truncated, hostile, failing
        ``onnx.checker``), or the graph holds an operator fastnn does not
        compute (named with its node), or its shapes do not chain.
    TypeError
        ``model`` is none of the above.
    """
    require("onnx", "fastnn.from_onnx")
    from . import _onnx

    return _onnx.from_onnx(model, seed=seed)


def from_torch(module: Any, *, input_shape: Any = None, seed: int = 0) -> Any:
    """Copy a ``torch.nn.Sequential`` into a ``Sequential`` (extra ``fastnn[torch]``).

    Parameters
    ----------
    module : torch.nn.Sequential
        Of ``Linear``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``,
        ``ReLU``, ``Sigmoid``, ``Tanh``, ``Softmax``, ``Dropout`` and
        ``Identity`` (nested ``Sequential`` too); see
        ``fastnn._torch.from_torch``.
    input_shape : (c, h, w), optional
        For a network that starts with ``Conv2d``: the shape of one sample,
        to fix the shapes now (else the first ``X`` fixes them).
    seed : int, default 0
        The new network's seed (its shuffling stream when trained further).

    Returns
    -------
    Sequential
        Weights copied exactly (``Linear.weight`` transposed into ``W``), in
        the module's dtype (float32 or float64).

    Raises
    ------
    ImportError
        torch is not installed.
    TypeError
        ``module`` is not a torch module, or its parameters are neither
        float32 nor float64.
    ValueError
        A module fastnn does not compute, named with its position.
    """
    require("torch", "fastnn.from_torch")
    from . import _torch

    return _torch.from_torch(module, input_shape=input_shape, seed=seed)


class NetworkBuilder:
    """fastnn layers from a chain of operations, one at a time.

    Each ``add_*`` takes ``where``, how the source names the operation
    (``"node 'fc1' (Gemm)"``, ``"module 2 (ReLU)"``), for its errors. An
    activation joins the ``Dense``/``Conv2D`` before it; an order-keeping one
    (relu, sigmoid, tanh, step) may also follow a max-pooling, a flatten or
    a dropout after that layer. Parameters are kept as given and cast to
    the network's dtype by ``build``.
    """

    def __init__(self) -> None:
        from .layers import LAYER_TYPES

        self._types = LAYER_TYPES
        # (type name, keyword arguments, W, b, where)
        self.layers: list[tuple[str, dict, Any, Any, str]] = []

    def _row(self, name: str, kwargs: dict, W: Any, b: Any, where: str) -> tuple:
        try:  # each layer's own checks, now, so that the error names where
            self._types[name](**kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        return (name, kwargs, W, b, where)

    def _add(self, name: str, kwargs: dict, W: Any, b: Any, where: str) -> None:
        self.layers.append(self._row(name, kwargs, W, b, where))

    def add_dense(self, W: np.ndarray, b: np.ndarray | None, where: str) -> None:
        """``X @ W + b``; W of shape (n_in, n_out), b (n_out,) or None (zeros)."""
        W = np.asarray(W)
        if W.ndim != 2 or 0 in W.shape:
            raise ValueError(f"{where}: the weight matrix has shape {W.shape}, not (n_in, n_out)")
        b = np.zeros(W.shape[1]) if b is None else np.asarray(b)
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"{where}: the bias has shape {b.shape}; the weights {W.shape} need ({W.shape[1]},)"
            )
        self._add("Dense", dict(n_in=W.shape[0], n_out=W.shape[1]), W, b, where)

    def add_conv(
        self,
        W: np.ndarray,
        b: np.ndarray | None,
        stride: tuple[int, int],
        padding: tuple[int, int],
        where: str,
    ) -> None:
        """A convolution; W of shape (out, in, kh, kw), b (out,) or None (zeros)."""
        W = np.asarray(W)
        if W.ndim != 4 or 0 in W.shape:
            raise ValueError(f"{where}: the kernel has shape {W.shape}, not (out, in, kh, kw)")
        b = np.zeros(W.shape[0]) if b is None else np.asarray(b)
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"{where}: the bias has shape {b.shape}; the kernel {W.shape} needs ({W.shape[0]},)"
            )
        kwargs = dict(
            in_channels=W.shape[1],
            out_channels=W.shape[0],
            kernel_size=tuple(W.shape[2:]),
            stride=tuple(stride),
            padding=tuple(padding),
        )
        self._add("Conv2D", kwargs, W, b, where)

    def add_pool(self, kind: str, size: tuple[int, int], where: str) -> None:
        """``kind`` "max" or "avg": non-overlapping windows of ``size``."""
        self._add("MaxPool2D" if kind == "max" else "AvgPool2D", dict(size=size), None, None, where)

    def add_flatten(self, where: str) -> None:
        self._add("Flatten", {}, None, None, where)

    def add_dropout(self, p: float, where: str) -> None:
        self._add("Dropout", dict(p=float(p)), None, None, where)

    def add_activation(self, activation: str, where: str) -> None:
        """Fold ``activation`` into the layer that computes its input."""
        i = len(self.layers) - 1
        if activation in _MONOTONE:
            while i >= 0 and self.layers[i][0] in ("MaxPool2D", "Flatten", "Dropout"):
                i -= 1
        if i < 0 or self.layers[i][0] not in ("Dense", "Conv2D"):
            before = "the input" if not self.layers else self.layers[-1][4]
            raise ValueError(
                f"{where}: fastnn applies an activation only to the output of a dense or "
                f"convolution layer, but this {activation} follows {before}"
            )
        name, kwargs, W, b, at = self.layers[i]
        if kwargs.get("activation", "identity") != "identity":
            raise ValueError(
                f"{where}: {at} already has the activation {kwargs['activation']!r}; "
                "fastnn applies one activation per layer"
            )
        if activation == "softmax" and i != len(self.layers) - 1:
            raise ValueError(f"{where}: softmax must directly follow a dense layer")
        self.layers[i] = self._row(name, {**kwargs, "activation": activation}, W, b, at)

    def build(
        self,
        dtype: str,
        *,
        input_shape: tuple[int, ...] | None = None,
        loss: str | None = None,
        seed: int | None = 0,
    ) -> Any:
        """The ``Sequential`` of the layers so far, weights copied in.

        Dropout as the first or the last operation (an identity at
        prediction) is left out: fastnn keeps dropout for hidden layers.
        ``input_shape``: one sample's (c, h, w) for a network that starts
        with a convolution, when known.
        """
        from .network import Sequential

        rows = list(self.layers)
        while rows and rows[0][0] == "Dropout":
            rows.pop(0)
        while rows and rows[-1][0] == "Dropout":
            rows.pop()
        if not rows:
            raise ValueError("the model computes nothing fastnn has a layer for (no layers)")
        layers = []
        for i, (name, kwargs, _, _, where) in enumerate(rows):
            if i == 0 and name == "Conv2D" and input_shape is not None:
                kwargs = {**kwargs, "input_shape": tuple(input_shape)}
            try:
                layers.append(self._types[name](**kwargs))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"the shapes do not chain at {where}: {exc}") from None
        from .layers import chain_shapes

        hint = tuple(input_shape) if input_shape is not None else layers[0].input_hint()
        for k in range(len(layers)):  # the first layer whose input does not fit
            try:
                chain_shapes(layers[: k + 1], hint)
            except ValueError as exc:
                raise ValueError(f"the shapes do not chain at {rows[k][4]}: {exc}") from None
        try:
            net = Sequential(layers, loss=loss, dtype=dtype, seed=seed)
        except ValueError as exc:
            raise ValueError(f"the layers do not make a fastnn network: {exc}") from None
        if input_shape is not None and layers[0].takes_images and net._spec is None:
            net._build(input_shape)  # the shapes are known: fix them now, as Conv2D's would
        for layer, (_, _, W, b, _) in zip(layers, rows):
            if W is not None:
                layer.W[...] = W
                layer.b[...] = b
        return net
