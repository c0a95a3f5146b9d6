"""Callbacks: code that looks at training after each epoch and may stop it.

A callback is a ``Callback`` object, or any function
``f(epoch, logs, net)``: it is called after every epoch with the epoch
number (from 0), the ``logs`` of that epoch (``loss``, ``lr``, and
``val_loss`` / ``val_accuracy`` with validation data) and the network.
Returning ``True`` stops training after that epoch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_float, check_int

if TYPE_CHECKING:
    from .network import Sequential

__all__ = ["Callback", "EarlyStopping"]


class Callback:
    """Base class; override what you need."""

    def on_train_begin(self, net: Sequential) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict, net: Sequential) -> bool | None:
        return None

    def on_train_end(self, net: Sequential, logs: dict) -> None:
        pass


class _FunctionCallback(Callback):
    def __init__(self, fn: Any):
        self.fn = fn

    def on_epoch_end(self, epoch, logs, net):
        return self.fn(epoch, logs, net)


def as_callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or callable(callbacks):
        callbacks = [callbacks]
    out = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(_FunctionCallback(cb))
        else:
            raise TypeError(f"a callback must be a Callback or a function "
                            f"f(epoch, logs, net), got {cb!r}")
    return out


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs: ``"val_loss"`` (default; falls back to
        ``"loss"`` when there is no validation data) or ``"loss"``.
    patience : int
        Epochs without an improvement of more than ``min_delta`` to wait.
    min_delta : float
    restore_best_weights : bool
        At the end, put back the weights of the best epoch.

    Attributes
    ----------
    best_epoch : int
        Epoch (from 0, counted within the ``fit`` call) of the best value.
    best : float
    stopped_epoch : int or None
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 restore_best_weights: bool = True):
        if monitor not in ("val_loss", "loss"):
            raise ValueError(f"monitor must be 'val_loss' or 'loss', got {monitor!r}")
        self.monitor = monitor
        self.patience = check_int(patience, "patience", 0)
        self.min_delta = check_float(min_delta, "min_delta", low=0.0)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, net):
        self.best = math.inf
        self.best_epoch = -1
        self.best_params: np.ndarray | None = None
        self.stopped_epoch = None
        self._wait = 0

    def on_epoch_end(self, epoch, logs, net):
        value = logs.get(self.monitor, logs.get("loss"))
        if value < self.best - self.min_delta:
            self.best = value
            self.best_epoch = epoch
            self._wait = 0
            if self.restore_best_weights:
                self.best_params = net.params.copy()
            return False
        self._wait += 1
        if self._wait > self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, net, logs):
        if self.restore_best_weights and self.best_params is not None:
            net.params[...] = self.best_params
