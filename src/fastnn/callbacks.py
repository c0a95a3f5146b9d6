"""Callbacks: code that looks at training after each epoch and may stop it.

A callback is a ``Callback`` object, or any function
``f(epoch, logs, net)``: it is called after every epoch with the epoch
number (from 0), the ``logs`` of that epoch and the network. Returning
``True`` stops training after that epoch. The logs hold

- ``loss``: the epoch's training loss (``History.loss``: the mean of its step
  losses, each measured before its update);
- ``lr``: the epoch's learning rate;
- ``val_loss`` (and ``val_accuracy`` for classification losses) with
  validation data, measured on the weights at the end of the epoch;
- ``end_loss``: the training loss of the weights at the end of the epoch,
  when a callback asks for it (``wants_end_loss``), as ``EarlyStopping``
  without validation data does.

If ``fit`` raises, fastnn's own callbacks are put back as they were before
the call (other callbacks have been called for the epochs that ran).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import check_float, check_int

# ``net`` below is the ``Sequential`` being trained (typed loosely: the
# network imports this module, not the other way round).
Sequential = Any

__all__ = ["Callback", "EarlyStopping"]


class Callback:
    """Base class; override what you need."""

    def on_train_begin(self, net: Sequential) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict, net: Sequential) -> bool | None:
        return None

    def on_train_end(self, net: Sequential, logs: dict) -> None:
        pass

    def wants_end_loss(self, validation: bool) -> bool:
        """Whether ``on_epoch_end`` needs ``logs["end_loss"]`` (``validation``:
        whether the fit has validation data). It costs a pass over the
        training data per epoch."""
        return False

    def _save(self) -> Any:
        """What ``_load`` needs to put this callback back as it is (None: the
        callback is not put back)."""
        return None

    def _load(self, saved: Any) -> None:
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
            raise TypeError(
                f"a callback must be a Callback or a function f(epoch, logs, net), got {cb!r}"
            )
    return out


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    ``patience`` means what it means in Keras (``keras.callbacks.EarlyStopping``):
    training stops at the end of the ``patience``-th epoch in a row without an
    improvement of more than ``min_delta`` (so ``patience=0`` stops at the
    first epoch without one, after the first epoch of the call).

    The monitored value is always a loss of the weights as they are at the end
    of the epoch, the weights this callback keeps: the validation loss
    (``val_loss``) with validation data, else the training loss evaluated on
    those weights (``end_loss``; not ``History.loss``, whose step losses are
    each measured before an update). So the weights put back score exactly
    ``best`` (``net.evaluate`` on the same data).

    Parameters
    ----------
    monitor : {"val_loss", "loss"}
        ``"val_loss"`` (default; the training loss when there is no
        validation data) or ``"loss"`` (the training loss, at the end of each
        epoch).
    patience : int
        Epochs in a row without improvement after which training stops (>= 0).
    min_delta : float
        An improvement is a value below ``best - min_delta``.
    restore_best_weights : bool
        At the end of training (stopped early or not), put back the weights of
        the best epoch.

    Attributes
    ----------
    best_epoch : int
        Epoch (from 0, counted within the ``fit`` call) of the best value;
        -1 if no epoch improved.
    best : float
        The best monitored value.
    stopped_epoch : int or None
        The epoch after which it stopped training.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ):
        if monitor not in ("val_loss", "loss"):
            raise ValueError(f"monitor must be 'val_loss' or 'loss', got {monitor!r}")
        self.monitor = monitor
        self.patience = check_int(patience, "patience", 0)
        self.min_delta = check_float(min_delta, "min_delta", low=0.0)
        self.restore_best_weights = bool(restore_best_weights)

    def wants_end_loss(self, validation):
        return self.monitor == "loss" or not validation

    def on_train_begin(self, net):
        self.best = math.inf
        self.best_epoch = -1
        self.best_params: np.ndarray | None = None
        self.stopped_epoch = None
        self._wait = 0

    def on_epoch_end(self, epoch, logs, net):
        if self.monitor == "val_loss" and "val_loss" in logs:
            value = logs["val_loss"]
        else:
            value = logs.get("end_loss", logs.get("loss"))
        if value < self.best - self.min_delta:
            self.best = value
            self.best_epoch = epoch
            self._wait = 0
            if self.restore_best_weights:
                self.best_params = net.params.copy()
            return False
        self._wait += 1
        if self._wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, net, logs):
        if self.restore_best_weights and self.best_params is not None:
            net.params[...] = self.best_params

    def _save(self):
        return dict(self.__dict__)

    def _load(self, saved):
        self.__dict__.clear()
        self.__dict__.update(saved)


class _progress:
    """A tqdm bar over epochs (a line per epoch without tqdm)."""

    def __init__(self, epochs: int):
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            tqdm = None
        self.bar = tqdm(total=epochs, unit="epoch", desc="fit") if tqdm else None
        self.epoch = 0
        self.epochs = epochs

    def update(self, logs: dict) -> None:
        self.epoch += 1
        shown = {
            k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "val_loss", "val_accuracy")
        }
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        else:
            print(
                f"epoch {self.epoch}/{self.epochs} "
                + " ".join(f"{k}={v}" for k, v in shown.items()),
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
