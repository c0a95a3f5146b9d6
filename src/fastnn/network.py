"""The network: layers over one flat parameter buffer, and the training modes.

``Sequential`` is the Pythonic layer of the engine. It validates input once,
allocates every buffer, and hands whole epochs to the compiled core
(``_kernels.train``), which runs them without the GIL and records the loss
of every step.
"""

from __future__ import annotations

import errno
import functools
import io
import json
import math
import os
import warnings
import zipfile
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np

from ._core import kernels as _kernels
from ._validation import (
    check_batch_size,
    check_dtype,
    check_epochs,
    check_loss,
    check_float,
    check_int,
    check_targets,
    check_X,
    _empty_targets,
)
from .callbacks import as_callbacks
from .layers import Layer, build_spec, chain_shapes, layer_from_config
from .optim import SGD, Optimizer, optimizer_from_settings

__all__ = ["Sequential", "History", "TrainingDiverged", "load", "load_checkpoint", "FORMAT_VERSION"]

FORMAT_NAME = "fastnn-model"
FORMAT_VERSION = 1
_PREDICT_CHUNK = 1024        # rows per block of a forward pass
_CHECK_FLOPS = 2e7           # work between two looks for Ctrl-C (~ a few ms)
# Batches of at least this many rows, and this many rows x parameters, train
# as two halves (see _splits)
_SPLIT_MIN_ROWS = 512
_SPLIT_MIN_MACS = 1 << 22
_LR_SLOT = _kernels.HYPER_SLOTS["lr"]


@functools.lru_cache(maxsize=64)
def _seeded_shuffle_state(seed: int) -> tuple:
    return tuple(np.random.SeedSequence(seed).spawn(1)[0].generate_state(4, np.uint64).tolist())


def _shuffle_state(seed: int | None) -> np.ndarray:
    """The kernel's xoshiro256** state for a seed (fresh entropy for None)."""
    if seed is None:
        return np.random.SeedSequence().spawn(1)[0].generate_state(4, np.uint64)
    return np.array(_seeded_shuffle_state(seed), dtype=np.uint64)


class TrainingDiverged(ValueError):
    """The loss became non-finite; ``step`` is the 1-based step where it did.
    The network and the optimizer were restored to their state before the call."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


class DivergenceWarning(RuntimeWarning):
    """Training finished, but its loss grew by orders of magnitude: the
    model is unlikely to be of use (see ``_warn_if_blown_up``)."""


# A run whose loss at its end is this many times its loss at its start has
# blown up: a healthy run lowers its loss, and noise or a schedule's restart
# moves it by a small factor, never a thousandfold.
_BLOWUP_FACTOR = 1e3


def _warn_if_blown_up(hist: History, lr: float | None = None) -> None:
    """Warn (DivergenceWarning) when the mean step loss over the last steps
    of a run is at least _BLOWUP_FACTOR times that over its first steps
    (the first and last epoch, or a tenth of a one-epoch run's steps)."""
    losses = hist._step_loss_array
    n = len(losses)
    if n < 2:
        return
    k = max(1, min(hist.steps_per_epoch or 1, n // 10))
    first, last = float(losses[:k].mean()), float(losses[-k:].mean())
    if not (first > 0 and np.isfinite(last) and last >= _BLOWUP_FACTOR * first):
        return
    rate = f" (now {lr:g})" if lr is not None else ""
    warnings.warn(
        f"training blew up: the mean loss of the last {k} step(s) is {last:.3g}, "
        f"{last / first:.2g} times the {first:.3g} of the first {k}; the weights are "
        f"unlikely to be of use. Try a lower learning rate{rate} or standardise X.",
        DivergenceWarning, stacklevel=3)


class History:
    """What a call to ``fit`` or ``partial_fit`` did.

    Attributes
    ----------
    loss : list of float
        Mean training loss of each epoch: the mean of that epoch's step
        losses, weighted by batch size.
    step_loss : list of float
        Loss of every gradient step, computed on its batch before the update.
    batch_sizes : list of int
        Rows in each step's batch (the last batch of an epoch may be smaller).
    steps_per_epoch : int
        Gradient updates per epoch: 1 for full batch, n for online learning.
    lr : list of float
        Learning rate of each epoch (changes only under a schedule).
    accuracy : list of float
        Per epoch, for classification losses (cross-entropy, binary
        cross-entropy): the fraction of the epoch's rows that their step
        classified right, before its update (measured like ``loss``, in the
        compiled loop; a row is right when the largest output is its label's,
        or for binary cross-entropy when every output is on its target's side
        of 0.5). Empty for ``mse``.
    val_loss, val_accuracy : list of float
        Per epoch, with validation data (accuracy for classification losses).
    stopped_early : bool
        True if a callback (such as ``EarlyStopping``) ended training.
    interrupted : bool
        True if Ctrl-C stopped training early (the model holds the weights
        after the last completed step).
    """

    _FIELDS = ("loss", "step_loss", "batch_sizes", "steps_per_epoch", "lr", "accuracy",
               "val_loss", "val_accuracy", "stopped_early", "interrupted")

    def __init__(self, loss=None, step_loss=None, batch_sizes=None, steps_per_epoch=0,
                 lr=None, val_loss=None, val_accuracy=None, stopped_early=False,
                 interrupted=False, accuracy=None):
        self.loss = [] if loss is None else loss
        self.step_loss = [] if step_loss is None else step_loss
        self.batch_sizes = [] if batch_sizes is None else batch_sizes
        self.steps_per_epoch = steps_per_epoch
        self.lr = [] if lr is None else list(lr)
        self.accuracy = [] if accuracy is None else list(accuracy)
        self.val_loss = [] if val_loss is None else list(val_loss)
        self.val_accuracy = [] if val_accuracy is None else list(val_accuracy)
        self.stopped_early = stopped_early
        self.interrupted = interrupted

    # After a compiled run the step losses stay in the array the kernel
    # wrote, and the batch sizes as one epoch's pattern: both become lists
    # only when read (a long run of tiny steps would otherwise spend more
    # time building lists than training).
    @property
    def loss(self) -> list:
        if self._loss is None:
            sizes = np.asarray(self._sizes_pattern[0], dtype=np.float64)
            full = len(self._step_array) // len(sizes)
            per_epoch = self._step_array[:full * len(sizes)].reshape(full, -1)
            self._loss = ((per_epoch @ sizes) / sizes.sum()).tolist()
        return self._loss

    @loss.setter
    def loss(self, value) -> None:
        self._loss = value if isinstance(value, list) else list(value)

    @property
    def step_loss(self) -> list:
        if self._step_loss is None:
            self._step_loss = self._step_array.tolist()
        return self._step_loss

    @step_loss.setter
    def step_loss(self, value) -> None:
        self._step_loss = value if isinstance(value, list) else list(value)
        self._step_array = None

    @property
    def _step_loss_array(self) -> np.ndarray:
        """The step losses as a float64 array (for callers inside fastnn)."""
        if self._step_array is None:
            self._step_array = np.asarray(self._step_loss, dtype=np.float64)
        return self._step_array

    @property
    def batch_sizes(self) -> list:
        if self._batch_sizes is None:
            one_epoch, done = self._sizes_pattern
            full, rest = divmod(done, len(one_epoch))
            self._batch_sizes = one_epoch * full + one_epoch[:rest]
        return self._batch_sizes

    @batch_sizes.setter
    def batch_sizes(self, value) -> None:
        self._batch_sizes = value if isinstance(value, list) else list(value)

    def _set_steps(self, losses: np.ndarray, one_epoch: list) -> None:
        """The steps of a compiled run: their losses, one epoch's batch sizes."""
        self._loss, self._step_loss, self._step_array = None, None, losses
        self._batch_sizes, self._sizes_pattern = None, (one_epoch, len(losses))

    @classmethod
    def _one_step(cls, value: float, rows: int, lr: float,
                  accuracy: float | None = None) -> History:
        """The History of one step that was a whole epoch (a chunk)."""
        hist = cls.__new__(cls)
        hist.__dict__.update(_loss=[value], _step_loss=[value], _step_array=None,
                             _batch_sizes=[rows], steps_per_epoch=1, lr=[lr],
                             accuracy=[] if accuracy is None else [accuracy], val_loss=[],
                             val_accuracy=[], stopped_early=False, interrupted=False)
        return hist

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def __eq__(self, other) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._FIELDS)

    def __repr__(self) -> str:
        # a few lines whatever the length of the run: sizes, and the ends of each list
        steps = len(self._step_array) if self._step_loss is None else len(self._step_loss)
        parts = [f"epochs={self.epochs}", f"steps={steps}",
                 f"steps_per_epoch={self.steps_per_epoch}"]
        for name in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
            values = getattr(self, name)
            if values:
                parts.append(f"{name}={_ends(values)}")
        parts += [f"stopped_early={self.stopped_early}", f"interrupted={self.interrupted}"]
        return "History(" + ", ".join(parts) + ")"


def _ends(values: list) -> str:
    """[first, ..., last] in short form: the whole list if it has up to 4 values."""
    shown = [f"{v:.4g}" for v in (values if len(values) <= 4 else values[:2] + values[-2:])]
    if len(values) > 4:
        shown[2:2] = [f"... ({len(values)} values)"]
    return "[" + ", ".join(shown) + "]"


class Sequential:
    """A feed-forward network: layers applied one after another.

    Parameters
    ----------
    layers : list of Layer
        ``Dense`` layers whose widths chain (``n_out`` of one is ``n_in`` of
        the next), and for images ``Conv2D``, ``MaxPool2D``, ``AvgPool2D``
        and ``Flatten`` (whose shapes chain too, checked once ``h, w`` are
        known: at creation if the first layer gives ``input_shape``, else at
        the first ``X`` of shape ``(n, c, h, w)``).
    loss : {"mse", "cross_entropy", "binary_cross_entropy"}, optional
        Mean over the batch, as PyTorch defines it. Default: cross_entropy
        for a softmax output layer, mse otherwise.
    dtype : {"float32", "float64"}
    seed : int or None
        Seeds the initial weights and the shuffling of every epoch. The same
        seed gives the same weights and the same training run, bit for bit.

    Attributes
    ----------
    params : ndarray of shape (n_params,)
        All parameters, layer after layer (each layer's W row-major, then its
        b). ``layer.W`` and ``layer.b`` are writable views into it.
    """

    def __init__(self, layers: Sequence[Layer], loss: str | None = None,
                 dtype: str = "float32", seed: int | None = 0):
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError("layers must be a list of layers, e.g. [Dense(4, 8), Dense(8, 1)]")
        if len(layers) == 0:
            raise ValueError("a network needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is {layer!r}, not a fastnn layer")
            if layer._owner is not None:
                raise ValueError(f"layer {i} ({layer!r}) already belongs to another network; "
                                 "create a new layer object")
            if layer.kind == "dropout" and i in (0, len(layers) - 1):
                raise ValueError(f"layer {i} ({layer!r}): dropout is for hidden layers; "
                                 "it cannot be the first or the last layer")
            if layer.activation == "softmax" and i != len(layers) - 1:
                raise ValueError(
                    f"layer {i} ({layer!r}): softmax is for the output layer only; "
                    "use relu, tanh or sigmoid in hidden layers"
                )
        chain_shapes(layers, layers[0].input_hint())   # the shapes known so far chain
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.layers = list(layers)
        self.dtype = check_dtype(dtype)
        out_act = self.layers[-1].activation
        if loss is None:
            loss = "cross_entropy" if out_act == "softmax" else "mse"
        self.loss = check_loss(loss)
        if self.loss == "cross_entropy":
            if out_act != "softmax":
                raise ValueError("loss 'cross_entropy' needs a softmax output layer "
                                 f"(the output layer has activation {out_act!r})")
            if self.layers[-1].n_out < 2:
                raise ValueError("cross_entropy needs at least 2 output classes")
        if self.loss == "binary_cross_entropy" and out_act != "sigmoid":
            raise ValueError("loss 'binary_cross_entropy' needs a sigmoid output layer "
                             f"(the output layer has activation {out_act!r})")
        self.seed = None if seed is None else int(seed)

        # One flat buffer for every parameter; views for each layer.
        offsets, total = [], 0
        for layer in self.layers:
            shapes = layer.param_shapes()
            w_size = math.prod(shapes[0]) if shapes else 0
            b_size = math.prod(shapes[1]) if shapes else 0
            offsets.append((total, total + w_size))
            total += w_size + b_size
        self.n_params = total
        self.params = np.zeros(total, dtype=self.dtype)
        # The layer table needs every layer's geometry: built now if the first
        # layer fixes the input shape, else from the first X (see _check_X).
        self._offsets = offsets
        self._input_shape: tuple | None = None
        self._spec: np.ndarray | None = None
        hint = self.layers[0].input_hint()
        if hint is not None and None not in hint:
            self._build(hint)
        for layer, (w_off, b_off) in zip(self.layers, offsets):
            shapes = layer.param_shapes()
            if shapes:
                layer.W = self.params[w_off:b_off].reshape(shapes[0])
                layer.b = self.params[b_off:b_off + math.prod(shapes[1])].reshape(shapes[1])
            layer._owner = self

        init_rng = np.random.default_rng(self.seed)
        for layer in self.layers:
            init = layer.init_params(init_rng)
            if init is not None:
                layer.W[...] = init[0]
                layer.b[...] = init[1]
        # The shuffling stream (xoshiro256** in the kernel), seeded apart from init.
        self._rng_state = _shuffle_state(self.seed)
        self._default_optimizer: Optimizer | None = None
        self._work: dict[int, np.ndarray] = {}
        # Buffers reused from call to call (nothing is allocated per step).
        self._grads = np.empty_like(self.params)
        self._order = np.empty(0, dtype=np.int64)
        self._counters = np.zeros(3, dtype=np.int64)
        self._no_trace: np.ndarray | None = None
        self._loss_code = _kernels.LOSSES[self.loss]
        self._trainable = all(layer.activation != "step" for layer in self.layers)

    # ------------------------------------------------------------ helpers
    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.layers[-1].n_out

    def _workspace(self, rows: int, split: bool = False) -> np.ndarray:
        key = (rows, split)
        work = self._work.get(key)
        if work is None:
            work = np.empty(_kernels.workspace_size(self._spec, rows, split), dtype=self.dtype)
            if len(self._work) > 8:
                self._work.clear()
            self._work[key] = work
        return work

    def _splits(self, batch_size: int) -> bool:
        """Whether batches of this size train as two halves (side by side
        on two cores). Decided by sizes alone, never by the thread count,
        so that a seed gives the same run on any machine."""
        return (batch_size >= _SPLIT_MIN_ROWS and batch_size * self.n_params >= _SPLIT_MIN_MACS
                and not any(layer.kind == "dropout" for layer in self.layers))

    def _build(self, input_shape: Sequence[int]) -> None:
        """Fix every layer's geometry for samples of ``input_shape`` and write
        the layer table (once; a later call must give the same shape)."""
        shape = tuple(check_int(v, "input_shape", 1) for v in input_shape)
        if self._spec is None:
            self._spec = build_spec(self.layers, shape, self._offsets)
            self._input_shape = shape
        elif shape != self._input_shape:
            raise ValueError(f"the network was built for samples of shape "
                             f"{self._input_shape}, not {shape}")

    def _check_X(self, X: Any) -> np.ndarray:
        first = self.layers[0]
        if not first.takes_images:
            return check_X(X, self.dtype, self.n_in)
        if self._spec is None:   # images: h and w come from the first X
            try:
                shape = np.shape(X)
            except ValueError as exc:
                raise ValueError(f"X could not be read as an array: {exc}") from None
            hint = first.input_hint()
            if len(shape) < 2 or (hint is not None and len(shape) != 1 + len(hint)):
                raise ValueError(f"X must have shape (n_samples, channels, height, width) "
                                 f"for a network whose first layer is {first!r}, "
                                 f"got shape {shape}")
            if 0 in shape[1:]:
                raise ValueError(f"X has an empty dimension (shape {shape})")
            self._build(shape[1:])
        return check_X(X, self.dtype, feature_shape=self._input_shape)

    def _is_ready(self, X: Any) -> bool:
        """X is already as the kernels take it: a non-empty, C-contiguous
        (n, n_in) array of the model's dtype for a built, non-image network
        (its values are not looked at)."""
        return (type(X) is np.ndarray and X.ndim == 2 and X.dtype == self.dtype
                and X.flags.c_contiguous and self._spec is not None
                and not self.layers[0].takes_images
                and X.shape[1] == self._spec[0, 2] and X.shape[0] > 0)

    def _check_Xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Xc = self._check_X(X)
        labels, Y = check_targets(y, self.loss, self.n_out, Xc.shape[0], self.dtype)
        return Xc, labels, Y

    def _check_trainable(self) -> None:
        if self._trainable:
            return
        for i, layer in enumerate(self.layers):
            if layer.activation == "step":
                raise ValueError(
                    f"layer {i} ({layer!r}) uses the step activation, whose gradient is zero "
                    "almost everywhere: a network trained by gradient descent cannot learn "
                    "through it. Use sigmoid, tanh or relu (step is for fixed-weight "
                    "neurons and fastnn.Perceptron)."
                )

    # ------------------------------------------------------------ inference
    def predict(self, X: Any) -> np.ndarray:
        """The output layer's activation for each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)

        Returns
        -------
        ndarray of shape (n_samples, n_out)
            Probabilities for softmax and sigmoid outputs.
        """
        if self._is_ready(X) and X.shape[0] <= _PREDICT_CHUNK:
            # the serving pattern (a few rows, ready-made): one call, the
            # finiteness check done in the kernel
            out = np.empty((X.shape[0], self.n_out), dtype=self.dtype)
            if _kernels.forward(self._spec, self.params, X, out,
                                self._workspace(X.shape[0]), X.shape[0], True):
                return out
        Xc = self._check_X(X)
        n = Xc.shape[0]
        out = np.empty((n, self.n_out), dtype=self.dtype)
        chunk = min(n, _PREDICT_CHUNK)
        _kernels.forward(self._spec, self.params, Xc, out, self._workspace(chunk), chunk)
        return out

    def evaluate(self, X: Any, y: Any) -> float:
        """Mean loss on (X, y), as training measures it."""
        Xc, labels, Y = self._check_Xy(X, y)
        chunk = min(Xc.shape[0], _PREDICT_CHUNK)
        return float(_kernels.loss_value(self._spec, _kernels.LOSSES[self.loss], self.params,
                                         Xc, labels, Y, self._workspace(chunk), chunk))

    def score(self, X: Any, y: Any) -> float:
        """scikit-learn's ``score``: accuracy for classification losses, R² for ``mse``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
        y : class labels (n_samples,) for cross-entropy; targets (n_samples,)
            or (n_samples, n_out) for the other losses, as ``fit`` takes them.

        Returns
        -------
        float
            Cross-entropy: the fraction of rows whose largest output is their
            label's. Binary cross-entropy: the fraction of rows whose every
            output is on its target's side of 0.5 (p > 0.5 predicts 1; with
            several outputs a row counts only if all are right, scikit-learn's
            subset accuracy). MSE: the coefficient of determination
            R² = 1 - sum((y - ŷ)²) / sum((y - mean(y))²), per output and
            averaged over the outputs (scikit-learn's ``r2_score``); an output
            whose targets are all equal scores 1.0 if predicted exactly, else
            0.0, as scikit-learn's does.

        Raises
        ------
        ValueError
            If X or y do not match the network (as ``evaluate``), or R² is
            asked of fewer than two rows (it is undefined there).
        """
        Xc, labels, Y = self._check_Xy(X, y)
        P = self.predict(Xc)                                    # (n_samples, n_out)
        if self.loss == "cross_entropy":
            return float(np.mean(P.argmax(axis=1) == labels))
        if self.loss == "binary_cross_entropy":
            return float(np.mean(np.all((P > 0.5) == (Y > 0.5), axis=1)))
        if Xc.shape[0] < 2:
            raise ValueError(f"R² needs at least two rows, got {Xc.shape[0]}")
        Yd, Pd = Y.astype(np.float64), P.astype(np.float64)
        ss_res = ((Yd - Pd) ** 2).sum(axis=0)                  # (n_out,)
        ss_tot = ((Yd - Yd.mean(axis=0)) ** 2).sum(axis=0)     # (n_out,)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
        return float(r2.mean())

    def loss_and_grads(self, X: Any, y: Any) -> tuple[float, list]:
        """Mean loss on the batch (X, y) and its gradient.

        Returns
        -------
        loss : float
        grads : list of (dW, db)
            One pair per layer, shaped as ``layer.W`` and ``layer.b``
            (``(None, None)`` for a layer without parameters).
        """
        self._check_trainable()
        Xc, labels, Y = self._check_Xy(X, y)
        grads = np.empty_like(self.params)
        value = _kernels.loss_and_grad(self._spec, _kernels.LOSSES[self.loss], self.params,
                                       Xc, labels, Y, grads, self._workspace(Xc.shape[0]))
        return float(value), self._split(grads)

    def _split(self, flat: np.ndarray) -> list:
        out, off = [], 0
        for layer in self.layers:
            shapes = layer.param_shapes()
            if not shapes:
                out.append((None, None))
                continue
            w_size, b_size = math.prod(shapes[0]), math.prod(shapes[1])
            out.append((flat[off:off + w_size].reshape(shapes[0]).copy(),
                        flat[off + w_size:off + w_size + b_size].reshape(shapes[1]).copy()))
            off += w_size + b_size
        return out

    # ------------------------------------------------------------ training
    def fit(self, X: Any, y: Any, epochs: int = 1, batch_size: int | None = None,
            optimizer: Optimizer | None = None, shuffle: bool = True, *,
            validation_data: tuple[Any, Any] | None = None, validation_split: float = 0.0,
            callbacks: Any = None, verbose: bool = False) -> History:
        """Train by gradient descent: the lecture's three modes in one knob.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_in)
            Also an ``np.memmap``: in the network's dtype and C order it is
            read in place, batch by batch, never copied whole.
        y : array-like
            Class labels (n_samples,) for cross_entropy; targets
            (n_samples, n_out) or (n_samples,) for mse and
            binary_cross_entropy.
        epochs : int
            Passes over the data; 0 trains nothing.
        batch_size : int or None
            None: full batch (one step per epoch); 1: online learning (one
            step per sample); M: mini-batch (one step per M samples, the last
            smaller batch kept).
        optimizer : Optimizer or None
            None means a fresh ``SGD(lr=0.01)`` for this call. Passing the
            same object again continues its state (momentum, moments,
            schedule). Its schedule is stepped after every epoch, with the
            validation loss (else the epoch's training loss) as the
            monitored value; a schedule attached or replaced since the
            last call starts as ``fastnn.schedules`` describes.
        shuffle : bool
            Draw a new order of the rows each epoch (from the network's
            seed); False keeps the row order of X.
        validation_data : (X_val, y_val), optional
            Evaluated after every epoch (``History.val_loss``,
            ``History.val_accuracy``).
        validation_split : float in [0, 1)
            Hold out this fraction of the rows (the last ones, before any
            shuffling) as validation data instead.
        callbacks : Callback, function or list of them
            Called after every epoch as ``f(epoch, logs, net)``; returning
            True stops training. ``fastnn.EarlyStopping`` is one. The logs
            are described in ``fastnn.callbacks``.
        verbose : bool
            Show a progress bar (epochs, loss, validation loss, time left).

        Returns
        -------
        History

        Raises
        ------
        ValueError
            On bad input.
        TrainingDiverged
            When the loss or the weights become non-finite; ``step`` counts
            the steps of this call from 1.

        Whatever raises (bad input, divergence, a callback), the weights, the
        optimizer (buffers, step count, schedule), the shuffling stream and
        fastnn's own callbacks are left as they were before the call.
        """
        epochs = check_epochs(epochs)
        batch_size = check_batch_size(batch_size)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        optimizer = SGD(lr=0.01) if optimizer is None else optimizer
        self._check_optimizer(optimizer)
        cbs = as_callbacks(callbacks)
        undo = self._undo_point(optimizer)
        try:
            Xc, labels, Y = self._check_Xy(X, y)
            val = None
            if validation_data is not None and validation_split:
                raise ValueError("give validation_data or validation_split, not both")
            if validation_split:
                split = check_float(validation_split, "validation_split", low=0.0, high=1.0,
                                    high_open=True)
                n_val = int(round(split * Xc.shape[0]))
                if n_val < 1 or n_val >= Xc.shape[0]:
                    raise ValueError(f"validation_split={split} leaves no rows for training "
                                     f"or for validation out of {Xc.shape[0]}")
                cut = Xc.shape[0] - n_val
                val = (Xc[cut:], labels[cut:], Y[cut:])
                Xc, labels, Y = Xc[:cut], labels[:cut], Y[:cut]
            elif validation_data is not None:
                if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                    raise TypeError("validation_data must be a pair (X_val, y_val)")
                val = self._check_Xy(*validation_data)
            per_epoch = bool(val or cbs or verbose or getattr(optimizer, "schedule", None))
            if not per_epoch:
                # takes in a schedule removed or an lr changed since the last call
                optimizer.current_lr(optimizer._state_for(self))
                hist = self._train_checked(Xc, labels, Y, epochs, batch_size, optimizer,
                                           bool(shuffle))
            else:
                hist = self._fit_per_epoch(Xc, labels, Y, epochs, batch_size, optimizer,
                                           bool(shuffle), val, cbs, bool(verbose))
        except BaseException:
            self._undo(undo)
            raise
        _warn_if_blown_up(hist, hist.lr[-1] if hist.lr else None)
        return hist

    def _undo_point(self, optimizer: Optimizer) -> tuple:
        """What a training call may change besides the weights, the optimizer's
        buffers and step count and the shuffling stream (which the training
        loops put back themselves): whether the optimizer has a state for this
        network, where its schedule stands, and the geometry a first X fixes."""
        state = optimizer._states.get(self)
        kept = None if state is None else (state.schedule, state.epoch,
                                           dict(state.schedule_state))
        layers = None if self._spec is not None else [dict(vars(layer)) for layer in self.layers]
        return optimizer, state, kept, layers

    def _undo(self, point: tuple) -> None:
        """Put back what ``_undo_point`` recorded."""
        optimizer, state, kept, layers = point
        if state is None:
            optimizer._states.pop(self, None)
        else:
            state.schedule, state.epoch, state.schedule_state = kept[0], kept[1], dict(kept[2])
        if layers is not None and self._spec is not None:
            for layer, saved in zip(self.layers, layers):
                layer.__dict__.clear()
                layer.__dict__.update(saved)
            self._spec = self._input_shape = None
            self._work.clear()

    def _fit_per_epoch(self, Xc, labels, Y, epochs, batch_size, optimizer, shuffle, val,
                       cbs, verbose) -> History:
        """Train one epoch at a time: each at the schedule's rate, then the
        validation loss, the schedule's step and the callbacks. If anything
        raises, the weights, the optimizer (buffers, step count, schedule),
        the shuffling stream and fastnn's callbacks are put back as they were
        before the call, and the error goes on."""
        state = optimizer._state_for(self)
        before = (self.params.copy(), state.snapshot(), self._rng_state.copy())
        saved = [cb._save() for cb in cbs]
        n = Xc.shape[0]
        steps_per_epoch = -(-n // (n if batch_size is None else min(batch_size, n)))
        # the training loss of the weights at the end of each epoch, for the
        # callbacks that keep weights by it (EarlyStopping without validation data)
        end_loss = any(cb.wants_end_loss(val is not None) for cb in cbs)
        hist = History()
        bar = _progress(epochs) if verbose else None
        logs: dict = {}
        try:
            try:
                for cb in cbs:
                    cb.on_train_begin(self)
                for epoch in range(epochs):
                    lr = optimizer.current_lr(state)
                    done = len(hist.step_loss)
                    try:
                        part = self._train_checked(Xc, labels, Y, 1, batch_size, optimizer,
                                                   shuffle, lr=lr, before=before)
                    except TrainingDiverged as exc:     # its step counts within the epoch
                        raise self._divergence(done + min(exc.step, steps_per_epoch),
                                               exact=exc.step <= steps_per_epoch) from None
                    hist.steps_per_epoch = part.steps_per_epoch
                    hist.step_loss += part.step_loss
                    hist.batch_sizes += part.batch_sizes
                    if part.interrupted or not part.loss:
                        hist.interrupted = True
                        break
                    logs = {"loss": part.loss[0], "lr": lr}
                    hist.loss.append(part.loss[0])
                    hist.lr.append(lr)
                    if part.accuracy:
                        logs["accuracy"] = part.accuracy[0]
                        hist.accuracy.append(part.accuracy[0])
                    if end_loss:
                        logs["end_loss"] = self._loss_on(Xc, labels, Y)
                    if val is not None:
                        logs.update(self._validation_logs(*val))
                        hist.val_loss.append(logs["val_loss"])
                        if "val_accuracy" in logs:
                            hist.val_accuracy.append(logs["val_accuracy"])
                    optimizer.step_schedule(state, logs.get("val_loss", logs["loss"]))
                    if bar is not None:
                        bar.update(logs)
                    stop = False
                    for cb in cbs:
                        stop = bool(cb.on_epoch_end(epoch, logs, self)) or stop
                    if stop:
                        hist.stopped_early = True
                        break
            except KeyboardInterrupt:
                hist.interrupted = True
            for cb in cbs:
                cb.on_train_end(self, logs)
        except BaseException:
            self.params[...] = before[0]
            state.restore(before[1])
            self._rng_state[...] = before[2]
            for cb, kept in zip(cbs, saved):
                cb._load(kept)
            raise
        finally:
            if bar is not None:
                bar.close()
        return hist

    def _loss_on(self, X: np.ndarray, labels: np.ndarray, Y: np.ndarray) -> float:
        """Mean loss of the current weights on checked arrays (as ``evaluate``)."""
        chunk = min(X.shape[0], _PREDICT_CHUNK)
        return float(_kernels.loss_value(self._spec, _kernels.LOSSES[self.loss], self.params,
                                         X, labels, Y, self._workspace(chunk), chunk))

    def _validation_logs(self, Xv, lv, Yv) -> dict:
        logs = {"val_loss": self._loss_on(Xv, lv, Yv)}
        if self.loss == "cross_entropy":
            logs["val_accuracy"] = float(np.mean(self.predict(Xv).argmax(axis=1) == lv))
        elif self.loss == "binary_cross_entropy":
            # a row counts when every output is right, as ``score``
            logs["val_accuracy"] = float(np.mean(np.all((self.predict(Xv) > 0.5) == (Yv > 0.5),
                                                        axis=1)))
        return logs

    def partial_fit(self, X: Any, y: Any, optimizer: Optimizer | None = None,
                    batch_size: int | None = None) -> History:
        """Learn from one chunk of a stream: one step per ``batch_size`` rows.

        The rows are used in their order (no shuffling), so feeding the
        chunks of an epoch one by one gives the weights of one
        ``fit(..., shuffle=False)`` over them. ``optimizer=None`` uses the
        network's own ``SGD(lr=0.01)``, kept from call to call. A chunk is not
        an epoch: it trains at the schedule's current rate and does not step
        the schedule. If it raises, the model and the optimizer are left as
        they were before the call.
        """
        batch_size = check_batch_size(batch_size)
        own = optimizer is None
        if own:
            optimizer = self._default_optimizer
            if optimizer is None:
                optimizer = SGD(lr=0.01)
        self._check_optimizer(optimizer)
        undo = self._undo_point(optimizer)
        try:
            Xc, labels, Y = self._check_Xy(X, y)
            hist = self._train_checked(Xc, labels, Y, 1, batch_size, optimizer, False,
                                       lr=optimizer.current_lr(optimizer._state_for(self)))
        except BaseException:
            self._undo(undo)
            raise
        if own:
            self._default_optimizer = optimizer
        return hist

    def _fit_trusted(self, Xc: np.ndarray, y: Any, epochs: int, batch_size: int | None,
                     optimizer: Optimizer, shuffle: bool, stop: tuple | None = None) -> History:
        """``fit`` for callers inside fastnn whose X already passed
        ``_validation.check_X`` (finite, C-contiguous, the model's dtype):
        only its structure is checked again, not every value."""
        if not self._is_ready(Xc):
            raise ValueError("_fit_trusted takes X as checked by _validation.check_X")
        self._check_optimizer(optimizer)
        if (self.loss == "cross_entropy" and type(y) is np.ndarray and y.dtype == np.int64
                and y.ndim == 1 and y.flags.c_contiguous and len(y) == len(Xc)):
            # class indices as the kernels take them (their range is checked there)
            labels, Y = y, _empty_targets(self.n_out, self.dtype)
        else:
            labels, Y = check_targets(y, self.loss, self.n_out, Xc.shape[0], self.dtype)
        hist = self._train_checked(Xc, labels, Y, check_epochs(epochs),
                                   check_batch_size(batch_size), optimizer, bool(shuffle),
                                   stop=stop)
        return hist

    def _check_optimizer(self, optimizer: Any) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a fastnn optimizer such as SGD(lr=0.1), "
                            f"got {optimizer!r}")
        self._check_trainable()

    def _train(self, X: Any, y: Any, epochs: int, batch_size: int | None,
               optimizer: Optimizer, shuffle: bool, record_params: bool = False,
               max_steps: int | None = None):
        """Check, then train; with ``record_params`` also return the
        parameters after every step, (steps, n_params)."""
        self._check_optimizer(optimizer)
        Xc, labels, Y = self._check_Xy(X, y)
        return self._train_checked(Xc, labels, Y, epochs, batch_size, optimizer, shuffle,
                                   record_params=record_params, max_steps=max_steps)

    def _train_checked(self, Xc, labels, Y, epochs, batch_size, optimizer, shuffle, *,
                       lr: float | None = None, before: tuple | None = None,
                       record_params: bool = False, max_steps: int | None = None,
                       stop: tuple | None = None):
        """Run the compiled loop on checked arrays. On divergence, restore
        ``before`` (default: the state at this call) and raise.

        ``stop``: (scale, tol, patience, best, count), scikit-learn's
        stopping rule run in the compiled loop after every epoch; the
        History then holds the epoch losses it saw (``_epoch_losses``)."""
        state = optimizer._state_for(self)
        n = Xc.shape[0]
        bs = n if batch_size is None else min(batch_size, n)
        steps_per_epoch = -(-n // bs)
        total = steps_per_epoch * epochs
        if max_steps is not None:
            total = min(total, max_steps)
        split = self._splits(bs)
        if (total == 1 and steps_per_epoch == 1 and not record_params and not split
                and stop is None and (not shuffle or n == 1)):
            return self._one_step(Xc, labels, Y, optimizer, state, lr, before)
        hist = History(steps_per_epoch=steps_per_epoch)
        trace = self._trace_buffer(total if record_params else 0)
        if total == 0:
            return (hist, trace) if record_params else hist
        if before is None:
            before = (self.params.copy(), state.snapshot(), self._rng_state.copy())
        step_loss = np.empty(total, dtype=np.float64)
        counters = self._counters
        counters[0], counters[1], counters[2] = 0, state.t, 0
        if len(self._order) < n:
            self._order = np.empty(n, dtype=np.int64)
        check_every = max(1, int(_CHECK_FLOPS / (6.0 * self.n_params * bs + 1)))
        hyper = optimizer._hyper(lr)
        stop_state = epoch_losses = None
        if stop is not None:
            stop_state = np.array(stop, dtype=np.float64)
            epoch_losses = np.empty(epochs, dtype=np.float64)
        interrupted = False
        correct = np.zeros(total if self.loss != "mse" else 0, dtype=np.int64)
        try:
            _kernels.train(self._spec, self._loss_code, self.params, self._grads,
                           optimizer._kind, hyper, state.buffer, Xc, labels, Y, bs, epochs,
                           shuffle, self._rng_state, self._order[:n],
                           self._workspace(bs, split), step_loss, trace, counters,
                           check_every, total, split, stop_state, epoch_losses,
                           correct if len(correct) else None)
        except KeyboardInterrupt:
            interrupted = True
        done = int(counters[0])
        state.t = int(counters[1])
        if counters[2] == _kernels.DIVERGED or (interrupted and not np.isfinite(self.params).all()):
            # a non-finite loss stops before its step's update; weights that
            # overflowed are found after the last step that ran
            if np.isfinite(self.params).all():
                self._diverged(state, before, done + 1)
            self._diverged(state, before, done, exact=False)
        last = n - bs * (steps_per_epoch - 1)
        full_epochs = done // steps_per_epoch
        if done == 1:                       # one step: its loss is the epoch's as it is
            value = float(step_loss[0])
            hist.step_loss = [value]
            hist.batch_sizes = [last if steps_per_epoch == 1 else bs]
            hist.loss = [value] if full_epochs else []
        else:
            hist._set_steps(step_loss[:done], [bs] * (steps_per_epoch - 1) + [last])
        hist.lr = [float(hyper[_LR_SLOT])] * full_epochs
        if len(correct):
            hits = correct[:full_epochs * steps_per_epoch].reshape(full_epochs, -1).sum(axis=1)
            hist.accuracy = (hits / n).tolist()
        hist.interrupted = interrupted
        if stop is not None:
            hist._epoch_losses = epoch_losses[:full_epochs].tolist()
        if record_params:
            return hist, trace[:done]
        return hist

    def _one_step(self, Xc, labels, Y, optimizer, state, lr, before) -> History:
        """One gradient step on the whole of (Xc, labels, Y): the streaming
        case (``partial_fit`` on a chunk), through a Stepper bound to this
        network and optimizer state, which undoes a failed step itself."""
        n = Xc.shape[0]
        stepper = state.stepper
        if (stepper is None or stepper.rows < n or stepper.spec is not self._spec
                or stepper.params is not self.params or stepper.opt_buffer is not state.buffer
                or stepper.rng_state is not self._rng_state):
            stepper = state.stepper = _kernels.Stepper(
                self._spec, self._loss_code, self.params, self._grads, optimizer._kind,
                state.buffer, self._rng_state, self._workspace(n), n)
        hyper = optimizer._hyper(lr)
        value = stepper.step(Xc, labels, Y, hyper, state.t)
        if stepper.status == _kernels.DIVERGED:
            # the stepper undid its own step; ``before`` may hold earlier steps of a fit
            self._diverged(state, before, 1)
        state.t += 1
        accuracy = None if self.loss == "mse" else stepper.correct / n
        return History._one_step(value, n, float(hyper[_LR_SLOT]), accuracy)

    def _diverged(self, state, before: tuple | None, step: int, exact: bool = True) -> None:
        """Restore ``before`` (params, optimizer snapshot, shuffle state), if
        given, and raise TrainingDiverged at ``step`` (``exact=False``: found
        only at the end of that step, after which the weights were checked)."""
        if before is not None:
            self.params[...] = before[0]
            state.restore(before[1])
            self._rng_state[...] = before[2]
        raise self._divergence(step, exact)

    @staticmethod
    def _divergence(step: int, exact: bool = True) -> TrainingDiverged:
        where = f"at step {step}" if exact else f"by the end of step {step}"
        return TrainingDiverged(
            f"training diverged: the loss or the weights became non-finite {where} of this "
            "call. The model and the optimizer were restored to what they were before the "
            "call. Try a lower learning rate or scale the inputs (e.g. standardise X).",
            step=step)

    def _trace_buffer(self, steps: int) -> np.ndarray:
        if steps == 0:
            if self._no_trace is None:
                self._no_trace = np.empty((0, self.n_params), dtype=self.dtype)
            return self._no_trace
        return np.empty((steps, self.n_params), dtype=self.dtype)

    # ------------------------------------------------------------ files
    def config(self) -> dict:
        cfg = {"layers": [layer.config() for layer in self.layers], "loss": self.loss,
               "dtype": self.dtype.name, "seed": self.seed}
        if self.layers[0].takes_images and self._input_shape is not None:
            cfg["input_shape"] = list(self._input_shape)
        return cfg

    def save(self, path: str | os.PathLike | BinaryIO,
             optimizer: Optimizer | None = None) -> None:
        """Write the network to a NumPy ``.npz`` archive (see ``fastnn.load``).

        With ``optimizer``, the file is a checkpoint: it also holds the
        optimizer's settings and its state for this network (buffers, step
        count, schedule position), and ``fastnn.load_checkpoint`` resumes
        training exactly where it stopped.

        Parameters
        ----------
        path : str, os.PathLike or binary file object
            As for ``numpy.savez``: a name ending in ``.npz`` is written as
            given, any other name gets ``.npz`` appended (``"model"`` and
            ``"model.bin"`` write ``model.npz`` and ``model.bin.npz``);
            ``fastnn.load`` and ``fastnn.load_checkpoint`` accept the same
            name. A file object open for binary writing (``open(..., "wb")``,
            ``io.BytesIO``) receives the archive at its current position.
        optimizer : Optimizer, optional
            An optimizer that has trained this network, saved with its state.

        Raises
        ------
        TypeError
            ``path`` is neither a path nor a file object, the file object is
            in text mode, or ``optimizer`` is not a fastnn optimizer.
        ValueError
            ``path`` names a directory, or the file object is closed or not
            open for writing; with ``optimizer``, a network that cannot be
            trained by gradient (a ``"step"`` activation).
        OSError
            The file cannot be created (e.g. ``FileNotFoundError`` when its
            folder does not exist).

        Notes
        -----
        A failed call leaves an existing file as it was and no partial file
        behind: the archive is written to a temporary file in the same
        folder, which then replaces the target (its permissions kept). A file
        object receives the archive in one write, once it has been built.
        The file layout is described in ``fastnn.load``.
        """
        arrays = dict(format=np.array(FORMAT_NAME), version=np.array(FORMAT_VERSION),
                      config=np.array(json.dumps(self.config())), params=self.params,
                      rng_state=self._rng_state)
        if optimizer is not None:
            self._check_optimizer(optimizer)
            state = optimizer.state_for(self)
            arrays["optimizer"] = np.array(json.dumps({
                "type": type(optimizer).__name__, "settings": optimizer.settings(),
                "t": state.t, "epoch": state.epoch,
                "schedule_state": state.schedule_state}))
            arrays["optimizer_state"] = state.buffer
        _write_archive(path, arrays)

    def __getstate__(self) -> dict:
        # Pickle what a file holds; the layers' views are rebuilt on load.
        return {"config": self.config(), "params": self.params.copy(),
                "rng_state": self._rng_state.copy(),
                "default_optimizer": self._default_optimizer}

    def __setstate__(self, state: dict) -> None:
        config = state["config"]
        self.__init__([layer_from_config(c) for c in config["layers"]], loss=config["loss"],
                      dtype=config["dtype"], seed=config.get("seed"))
        if config.get("input_shape") is not None:
            self._build(config["input_shape"])
        self.params[...] = state["params"]
        self._rng_state[...] = state["rng_state"]
        self._default_optimizer = state["default_optimizer"]

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return (f"Sequential([\n    {inner}],\n    loss={self.loss!r}, "
                f"dtype={self.dtype.name!r}, seed={self.seed})")

    def summary(self) -> str:
        """A table of the layers, their shapes and parameter counts."""
        lines = [f"{'layer':<40}{'output':>12}{'params':>10}"]
        for layer in self.layers:
            lines.append(f"{layer!r:<40}{layer.describe_output():>12}{layer.n_params:>10}")
        lines.append(f"{'total':<40}{'':>12}{self.n_params:>10}")
        return "\n".join(lines)


def load(path: str | os.PathLike | BinaryIO) -> Sequential:
    """Read a network written by ``Sequential.save``.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        The name given to ``save``, with or without ``.npz``: a name ending
        in ``.npz`` is read as given, any other name with ``.npz`` appended,
        the file ``save`` wrote under it (``"model.bin"`` reads
        ``model.bin.npz``). Only if that file does not exist is a file named
        exactly ``path`` read. A file object open for binary reading
        (``open(..., "rb")``, ``io.BytesIO``) is read from its current
        position to its end; on success it is left at its end, on failure
        where it was.

    Returns
    -------
    Sequential
        The network, predicting bit for bit as the saved one. A checkpoint
        is also a model file: its optimizer is ignored here (see
        ``load_checkpoint``).

    Raises
    ------
    FileNotFoundError
        Neither the name ``save`` writes nor ``path`` itself is a file.
    TypeError
        ``path`` is neither a path nor a file object, or the file object is
        in text mode.
    ValueError
        ``path`` names a directory; the file object is closed or not open for
        reading; the file is empty, not an ``.npz`` archive (e.g. a pickle or
        a single ``.npy`` array), not written by fastnn, truncated, of another
        format version or holding object arrays.
    OSError
        The file exists but cannot be opened (e.g. ``PermissionError``).

    Notes
    -----
    The file is a NumPy ``.npz`` archive read with ``allow_pickle=False``:

    - ``format``: the string ``"fastnn-model"``
    - ``version``: the integer format version (currently 1)
    - ``config``: a JSON string: ``{"layers": [{"type": "Dense", "n_in": ..,
      "n_out": .., "activation": ..}, ...], "loss": .., "dtype": .., "seed": ..}``
      (a network on images also ``"input_shape": [c, h, w]`` once known)
    - ``params``: the flat parameter buffer, in the network's dtype
    - ``rng_state``: four uint64 words of the shuffling stream
    - in a checkpoint (``save(path, optimizer=opt)``) also ``optimizer``, a
      JSON string ``{"type": "SGD", "settings": {...}, "t": steps,
      "epoch": epochs, "schedule_state": {...}}``, and ``optimizer_state``,
      the optimizer's buffers in the network's dtype

    Nothing in the file is executed.
    """
    return _read_arrays(path, _from_arrays)


def load_checkpoint(path: str | os.PathLike | BinaryIO) -> tuple[Sequential, Optimizer]:
    """Read a checkpoint written by ``net.save(path, optimizer=opt)``.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        As for ``fastnn.load``: the name given to ``save``, with or without
        ``.npz``, or a file object open for binary reading.

    Returns
    -------
    net : Sequential
        The network, predicting bit for bit as the saved one.
    optimizer : Optimizer
        An optimizer carrying its state for ``net``, so that
        ``net.fit(..., optimizer=optimizer)`` continues exactly as if
        training had not stopped.

    Raises
    ------
    FileNotFoundError, TypeError, ValueError, OSError
        As for ``fastnn.load``; also ``ValueError`` for a model file saved
        without an optimizer (read it with ``fastnn.load``) and for a bad
        optimizer description or state.
    """
    return _read_arrays(path, _checkpoint_from_arrays)


def _checkpoint_from_arrays(arrays: dict, where: str) -> tuple[Sequential, Optimizer]:
    net = _from_arrays(arrays, where)
    if "optimizer" not in arrays or "optimizer_state" not in arrays:
        raise ValueError(f"{where} holds a network but no optimizer, so it is a model file, "
                         "not a checkpoint: read it with fastnn.load(path), or save a "
                         "checkpoint with net.save(path, optimizer=opt)")
    try:
        info = json.loads(str(arrays["optimizer"]))
        optimizer = optimizer_from_settings(info["type"], info["settings"])
        t, epoch = info["t"], info["epoch"]
        schedule_state = info["schedule_state"]
        if (isinstance(t, bool) or not isinstance(t, int) or t < 0 or isinstance(epoch, bool)
                or not isinstance(epoch, int) or epoch < 0
                or not isinstance(schedule_state, dict)):
            raise ValueError("bad step or epoch count")
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{where} is not a valid fastnn checkpoint: bad optimizer "
                         f"description ({exc})") from None
    state = optimizer.state_for(net)
    buffer = arrays["optimizer_state"]
    if buffer.dtype != net.dtype or buffer.shape != state.buffer.shape:
        raise ValueError(f"{where} is not a valid fastnn checkpoint: the optimizer state "
                         f"has dtype {buffer.dtype} and shape {buffer.shape}, expected "
                         f"{net.dtype} and {state.buffer.shape}")
    if not np.isfinite(buffer).all():
        raise ValueError(f"{where} is not a valid fastnn checkpoint: the optimizer state "
                         "contains NaN or infinity")
    state.buffer[...] = buffer
    state.t, state.epoch, state.schedule_state = t, epoch, dict(schedule_state)
    return net, optimizer


_SUFFIX = ".npz"                # what numpy.savez appends to a name without it
_NPY_MAGIC = b"\x93NUMPY"       # the start of a single array written by numpy.save


def _is_file_object(path: Any) -> bool:
    return (not isinstance(path, (str, bytes, os.PathLike))
            and (hasattr(path, "read") or hasattr(path, "write")))


def _describe(f: Any) -> str:
    """How messages name a file object."""
    name = getattr(f, "name", None)
    if isinstance(name, (str, bytes)):
        return f"the file object {os.fsdecode(name)!r}"
    return f"the {type(f).__name__} object"


def _file_name(path: Any, caller: str) -> str:
    """The file that ``save(path)`` writes and ``load(path)`` reads: ``path`` when it
    ends in ``.npz``, else ``path + ".npz"``, the name ``numpy.savez`` gives it."""
    try:
        name = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"{caller} takes a file name (str or os.PathLike) or a binary file "
                        f"object, got {type(path).__name__}") from None
    if not name:
        raise ValueError(f"{caller} needs a file name, got an empty path")
    if name.endswith((os.sep, os.altsep or os.sep)) or os.path.basename(name) in (".", ".."):
        raise ValueError(f"{name!r} names a directory, not a file: give {caller} a file "
                         f"name such as {os.path.join(name, 'model.npz')!r}")
    return name if name.endswith(_SUFFIX) else name + _SUFFIX


def _check_stream(f: Any, mode: str, where: str) -> None:
    """Refuse a file object that cannot be read (mode "read") or written ("write") in
    binary mode, before anything is read from or written to it."""
    opener = "rb" if mode == "read" else "wb"
    action = "reading" if mode == "read" else "writing"
    unable = f"{where} is not open for {action}: open it with {opener!r}"
    if getattr(f, "closed", False):
        raise ValueError(f"{where} is closed")
    able = getattr(f, "readable" if mode == "read" else "writable", None)
    if callable(able) and not able():
        raise ValueError(unable)
    text = isinstance(f, io.TextIOBase)
    if not text:
        try:
            if mode == "read":
                text = isinstance(f.read(0), str)
            else:
                f.write(b"")
        except TypeError:             # a text stream refusing bytes
            text = True
        except io.UnsupportedOperation:
            raise ValueError(unable) from None
    if text:
        raise TypeError(f"{where} is open in text mode; fastnn model files are binary: "
                        f"open it with {opener!r} (or use io.BytesIO)")


def _write_archive(path: Any, arrays: dict) -> None:
    """Write ``arrays`` as an ``.npz`` archive to ``path`` (a name, see ``_file_name``,
    or a binary file object) leaving no partial file behind on failure."""
    if _is_file_object(path):
        where = _describe(path)
        _check_stream(path, "write", where)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        data = buffer.getbuffer()
        while data:                   # raw streams may take part of it per call
            written = path.write(data)
            if not isinstance(written, int) or written >= len(data):
                break
            if written <= 0:
                raise OSError(f"{where} accepted only part of the archive")
            data = data[written:]
        return
    name = _file_name(path, "save")
    target = os.path.realpath(name)    # through a symbolic link, as open() writes
    if os.path.isdir(target):
        raise ValueError(f"{name!r} is a directory, not a file: give save a file name such "
                         f"as {os.path.join(name, 'model.npz')!r}")
    folder, base = os.path.split(target)
    temporary = os.path.join(folder, f".{base}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, name) from None
    try:
        with open(fd, "wb") as f:
            np.savez(f, **arrays)
        if os.path.exists(target):     # keep the permissions of the file replaced
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _read_arrays(path: Any, build: Callable[[dict, str], Any]) -> Any:
    """``build(arrays, where)`` of the archive ``path`` names (see ``_file_name``) or a
    binary file object holds, ``where`` naming it in messages. A seekable file object is
    left at its end, or, on failure, where it was."""
    if _is_file_object(path):
        where = _describe(path)
        _check_stream(path, "read", where)
        seekable = getattr(path, "seekable", None)
        start = path.tell() if callable(seekable) and seekable() else None
        try:
            source = path if start is not None else io.BytesIO(path.read())
            result = build(_parse_archive(source, where, stream=True), where)
        except BaseException:
            if start is not None:
                path.seek(start)
            raise
        if start is not None:
            path.seek(0, os.SEEK_END)
        return result
    name = _file_name(path, "load")
    if not os.path.isfile(name):
        given = os.fsdecode(os.fspath(path))
        if given != name and os.path.isfile(given):
            name = given                  # a file named as given, written otherwise
        elif os.path.isdir(name):
            raise ValueError(f"{name!r} is a directory, not a fastnn model file")
        else:
            why = "No such file or directory"
            if given != name:
                why += f" (the name that save({given!r}) writes"
                why += f"; {given!r} is a directory)" if os.path.isdir(given) else ")"
            raise FileNotFoundError(errno.ENOENT, why, name)
    where = repr(name)
    with open(name, "rb") as f:
        return build(_parse_archive(f, where, stream=False), where)


def _parse_archive(source: Any, where: str, stream: bool) -> dict:
    """The arrays of the ``.npz`` archive in the seekable binary file ``source`` from its
    position on, or a ``ValueError`` naming what the file holds instead."""
    start = source.tell()
    head = source.read(len(_NPY_MAGIC))
    try:
        source.seek(start)
        if not head:
            raise ValueError("nothing to read from its position (seek(0) after writing to "
                             "it?)" if stream else "the file is empty")
        if head.startswith(_NPY_MAGIC):
            raise ValueError("it holds a single array (.npy, as numpy.save writes), not an "
                             ".npz archive")
        if head[:1] == b"\x80":
            raise ValueError("it holds pickled Python objects, as pickle and joblib write "
                             "(an estimator?): read those with pickle.load or joblib.load, "
                             "and only from a source you trust")
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):    # a zip file's start
            raise ValueError("it is not an .npz archive (a zip file of .npy arrays)")
        with np.load(source, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        for key, value in arrays.items():
            if not isinstance(value, np.ndarray):
                raise ValueError(f"it is a zip file but not an .npz archive: its member "
                                 f"{key!r} is not a .npy array")
    except (ValueError, OSError, EOFError, KeyError, RuntimeError, NotImplementedError,
            zipfile.BadZipFile) as exc:
        raise ValueError(f"{where} is not a readable fastnn model file: {exc}") from None
    return arrays


def _from_arrays(arrays: dict, where: str) -> Sequential:
    def fail(why: str) -> ValueError:
        return ValueError(f"{where} is not a valid fastnn model file: {why}")

    if "format" not in arrays:
        raise fail("the entry 'format' is missing: an .npz archive, but not one that "
                   "fastnn wrote")
    for key in ("version", "config", "params"):
        if key not in arrays:
            raise fail(f"the entry {key!r} is missing")
    if arrays["format"].shape != () or str(arrays["format"]) != FORMAT_NAME:
        raise fail("the format tag is not 'fastnn-model'")
    version = arrays["version"]
    if version.shape != () or version.dtype.kind not in "iu":
        raise fail("the version entry is not an integer")
    if int(version) != FORMAT_VERSION:
        raise fail(f"format version {int(version)} is not supported "
                   f"(this fastnn reads version {FORMAT_VERSION})")
    try:
        config = json.loads(str(arrays["config"]))
        layers = [layer_from_config(c) for c in config["layers"]]
        net = Sequential(layers, loss=config["loss"], dtype=config["dtype"],
                         seed=config.get("seed"))
        if config.get("input_shape") is not None:     # image networks
            net._build(config["input_shape"])
    except (ValueError, TypeError, KeyError) as exc:
        raise fail(f"bad network description ({exc})") from None
    params = arrays["params"]
    if params.dtype != net.dtype or params.shape != (net.n_params,):
        raise fail(f"the parameters have dtype {params.dtype} and shape {params.shape}, "
                   f"expected {net.dtype} and ({net.n_params},)")
    if not np.isfinite(params).all():
        raise fail("the parameters contain NaN or infinity")
    net.params[...] = params
    rng = arrays.get("rng_state")
    if rng is not None:
        if rng.dtype != np.uint64 or rng.shape != (4,):
            raise fail("the rng state is not four uint64 words")
        net._rng_state[...] = rng
    return net



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
        shown = {k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "val_loss",
                                                               "val_accuracy")}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        else:
            print(f"epoch {self.epoch}/{self.epochs} " +
                  " ".join(f"{k}={v}" for k, v in shown.items()), flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
