"""Looking inside a network: the Sequential behind a model, what each layer outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from .layers import layer_from_config
from .network import Sequential

__all__ = ["layer_outputs", "network_of"]


def network_of(obj: Any, what: str = "net") -> Sequential:
    """The Sequential behind what fastnn returns: a Sequential itself, a fitted
    MLPClassifier, MLPRegressor or Perceptron (``net_``), a RegressionMachine or
    a result of :mod:`fastnn.models` (``net``)."""
    if isinstance(obj, Sequential):
        return obj
    state = getattr(obj, "__dict__", {})
    for attr in ("net_", "net"):
        inner = state.get(attr)
        if isinstance(inner, Sequential):
            return inner
    if hasattr(obj, "get_params") or hasattr(type(obj), "fit"):
        raise ValueError(
            f"{what}: this {type(obj).__name__} is not fitted yet, so it has no "
            "network to show; call fit first"
        )
    raise TypeError(
        f"{what} must be a fastnn network (a Sequential, or a fitted estimator, "
        f"Perceptron or RegressionMachine), got {type(obj).__name__}"
    )


def layer_outputs(net: Any, X: Any) -> list:
    """What every layer of a network outputs for the rows of ``X``.

    The engine has no public call for intermediate outputs yet, so each is
    computed by the engine itself on a sub-network: the layers up to that
    one, rebuilt with the same weights (the parameters of the first k
    layers are the first entries of ``net.params``), whose prediction is
    that layer's output. ``Dropout`` passes values through at prediction,
    so it is left out of the sub-networks and repeats its input.

    Parameters
    ----------
    net : Sequential, or a fitted estimator or fastnn.models result holding one
    X : array-like
        Input as ``net.predict`` takes it: (n_samples, n_in), or
        (n_samples, c, h, w) for a network that begins with ``Conv2D``.

    Returns
    -------
    list of ndarray, one per layer
        Each of shape ``(n_samples, *output_shape)`` (the layer's), e.g.
        (n, 6, 8, 8) after a ``Conv2D(1, 6, 3, padding=1)`` on 8x8 images
        and (n, 10) after a ``Dense(96, 10)``.
    """
    net = network_of(net)
    layers = list(net.layers)
    if not layers:
        raise ValueError("net has no layers")
    X = np.asarray(X)
    n = len(X)
    outputs: list = []
    kept: list = []  # the layers of the sub-network so far (dropout left out)
    for k, layer in enumerate(layers):
        if getattr(layer, "kind", "") == "dropout":
            outputs.append(outputs[-1] if outputs else X.copy())
            continue
        kept.append(layer)
        if k == len(layers) - 1:
            sub, out = net, net.predict(X)
        else:
            sub = Sequential(
                [layer_from_config(each.config()) for each in kept],
                loss="mse",
                dtype=np.dtype(net.dtype).name,
                seed=0,
            )
            sub.params[...] = net.params[: sub.n_params]
            out = sub.predict(X)  # (n, n_out of the layer, flattened)
        shape = getattr(sub.layers[-1], "out_shape", None) or (out.shape[1],)
        outputs.append(out.reshape(n, *shape))
    return outputs
