"""PyTorch both ways: ``from_torch`` and ``Sequential.to_torch`` (extra ``fastnn[torch]``).

The layers correspond one to one, with PyTorch's arithmetic on both sides:
``Dense(n_in, n_out)`` is ``nn.Linear(n_in, n_out)`` with ``weight = W.T``
(torch keeps ``(out_features, in_features)``, fastnn ``(n_in, n_out)``);
``Conv2D`` is ``nn.Conv2d`` with the same ``(out, in, kh, kw)`` weight;
``MaxPool2D(k)``/``AvgPool2D(k)`` are ``nn.MaxPool2d(k)``/``nn.AvgPool2d(k)``;
``Flatten()`` is ``nn.Flatten()``; ``Dropout(p)`` is ``nn.Dropout(p)``; a
layer's activation is the module after it (``nn.ReLU``, ``nn.Sigmoid``,
``nn.Tanh``, ``nn.Softmax(dim=1)``). Weights are copied exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._interop import NetworkBuilder, require

require("torch", "fastnn's PyTorch interop")  # a clear ImportError naming the extra
import torch  # noqa: E402
from torch import nn  # noqa: E402

from .layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D  # noqa: E402
from .network import Sequential  # noqa: E402

__all__ = ["from_torch", "to_torch"]

_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_ACTIVATIONS = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}


def _modules(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(name, module) of every module in order, nested Sequentials opened."""
    if isinstance(module, nn.Sequential):
        out = []
        for name, child in module.named_children():
            out += _modules(child, f"{prefix}{name}.")
        return out
    return [(prefix.rstrip(".") or type(module).__name__, module)]


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def _dtype(module: Any) -> str:
    dtypes = {p.dtype for p in module.parameters()}
    dtypes |= {b.dtype for b in module.buffers() if b.is_floating_point()}
    if not dtypes:
        return "float32"
    if len(dtypes) > 1 or next(iter(dtypes)) not in _DTYPES:
        names = sorted(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(
            f"the module's parameters are {', '.join(names)}; fastnn computes in float32 "
            "or float64: convert the module first (module.float() or module.double())"
        )
    return _DTYPES[next(iter(dtypes))]


def from_torch(module: Any, *, input_shape: Any = None, seed: int = 0) -> Sequential:
    """A ``Sequential`` computing what ``module`` computes (see ``fastnn.from_torch``)."""
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"from_torch takes a torch.nn.Sequential (a torch.nn.Module), got "
            f"{type(module).__name__}"
        )
    dtype = _dtype(module)
    builder = NetworkBuilder()
    for name, m in _modules(module):
        where = f"module {name!r} ({type(m).__name__})"
        if isinstance(m, nn.Linear):
            W = _numpy(m.weight).T  # (in_features, out_features)
            builder.add_dense(W, None if m.bias is None else _numpy(m.bias), where)
        elif isinstance(m, nn.Conv2d):
            padding = _check_conv(m, where)
            bias = None if m.bias is None else _numpy(m.bias)
            builder.add_conv(_numpy(m.weight), bias, _pair(m.stride), padding, where)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            builder.add_pool(
                "max" if isinstance(m, nn.MaxPool2d) else "avg", _check_pool(m, where), where
            )
        elif isinstance(m, nn.Flatten):
            if m.start_dim != 1 or m.end_dim != -1:
                raise ValueError(
                    f"{where}: only nn.Flatten() (start_dim=1, end_dim=-1) is read, not "
                    f"start_dim={m.start_dim}, end_dim={m.end_dim}"
                )
            builder.add_flatten(where)
        elif isinstance(m, nn.Dropout):
            builder.add_dropout(m.p, where)
        elif isinstance(m, nn.Identity):
            continue
        elif type(m) in _ACTIVATIONS:
            builder.add_activation(_ACTIVATIONS[type(m)], where)
        elif isinstance(m, nn.Softmax):
            if m.dim not in (1, -1, None):
                raise ValueError(f"{where}: softmax over dim={m.dim}; fastnn's is over dim 1")
            builder.add_activation("softmax", where)
        else:
            raise ValueError(
                f"{where} is not supported: fastnn reads Linear, Conv2d, MaxPool2d, "
                "AvgPool2d, Flatten, ReLU, Sigmoid, Tanh, Softmax, Dropout and Identity"
            )
    if input_shape is not None:
        if not isinstance(input_shape, (tuple, list)):
            raise TypeError(f"input_shape must be a tuple such as (1, 8, 8), got {input_shape!r}")
        input_shape = tuple(input_shape)
    return builder.build(dtype, input_shape=input_shape, seed=seed)


def _check_conv(m: Any, where: str) -> tuple[int, int]:
    """The padding of a Conv2d that fastnn computes, else a ValueError."""
    if isinstance(m.padding, str):
        if m.padding != "valid":
            raise ValueError(f"{where}: padding={m.padding!r}; give the padding as numbers")
        m_padding = (0, 0)
    else:
        m_padding = _pair(m.padding)
    if _pair(m.dilation) != (1, 1) or m.groups != 1:
        raise ValueError(
            f"{where}: dilation={m.dilation} and groups={m.groups} are not supported "
            "(fastnn computes dilation 1 and one group)"
        )
    if m.padding_mode != "zeros" and m_padding != (0, 0):
        raise ValueError(f"{where}: padding_mode={m.padding_mode!r}; fastnn pads with zeros")
    return m_padding


def _check_pool(m: Any, where: str) -> tuple[int, int]:
    size = _pair(m.kernel_size)
    stride = size if m.stride in (None, ()) else _pair(m.stride)
    problems = []
    if stride != size:
        problems.append(f"stride={m.stride} (fastnn's windows do not overlap: stride = size)")
    if _pair(m.padding) != (0, 0):
        problems.append(f"padding={m.padding}")
    if m.ceil_mode:
        problems.append("ceil_mode=True")
    if isinstance(m, nn.MaxPool2d):
        if _pair(m.dilation) != (1, 1):
            problems.append(f"dilation={m.dilation}")
        if m.return_indices:
            problems.append("return_indices=True")
    elif m.divisor_override is not None:
        problems.append(f"divisor_override={m.divisor_override}")
    if problems:
        raise ValueError(f"{where}: {', '.join(problems)} is not supported")
    return size


def to_torch(net: Sequential) -> Any:
    """``net`` as a ``torch.nn.Sequential`` (``Sequential.to_torch`` documents it)."""
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    for i, layer in enumerate(net.layers):
        if layer.activation == "step":
            raise ValueError(
                f"layer {i} ({layer!r}) uses the step activation, which torch.nn has no module for"
            )
    modules: list[Any] = []
    with torch.no_grad():
        for layer in net.layers:
            m: Any
            if isinstance(layer, Dense):
                m = nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
                m.weight.copy_(torch.from_numpy(np.array(np.asarray(layer.W).T)))
                m.bias.copy_(torch.from_numpy(np.array(layer.b)))
            elif isinstance(layer, Conv2D):
                m = nn.Conv2d(
                    layer.in_channels,
                    layer.out_channels,
                    layer.kernel_size,
                    stride=layer.stride,
                    padding=layer.padding,
                    dtype=dtype,
                )
                m.weight.copy_(torch.from_numpy(np.array(layer.W)))
                m.bias.copy_(torch.from_numpy(np.array(layer.b)))
            elif isinstance(layer, MaxPool2D):
                m = nn.MaxPool2d(layer.size)
            elif isinstance(layer, AvgPool2D):
                m = nn.AvgPool2d(layer.size)
            elif isinstance(layer, Flatten):
                m = nn.Flatten()
            elif isinstance(layer, Dropout):
                m = nn.Dropout(layer.p)
            else:  # pragma: no cover - every layer kind is listed above
                raise TypeError(f"{layer!r} has no torch module")
            modules.append(m)
            if layer.activation == "softmax":
                modules.append(nn.Softmax(dim=1))
            elif layer.activation in ("relu", "sigmoid", "tanh"):
                modules.append(
                    {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[layer.activation]()
                )
    return nn.Sequential(*modules).eval()
