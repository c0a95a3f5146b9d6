"""The network: layers over one flat parameter buffer, and the training modes.

``Sequential`` is the Pythonic layer of the engine. It validates input once,
allocates every buffer, and hands whole epochs to the compiled core
(``_kernels.train``), which runs them without the GIL and records the loss
of every step.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

from . import _buffers, _training
from ._dispatch import kernels as _kernels
from ._validation import (
    check_architecture,
    check_batch_size,
    check_dtype,
    check_epochs,
    check_finite,
    check_float,
    check_int,
    check_loss,
    check_loss_fits_output,
    check_targets,
    check_X,
)
from .callbacks import as_callbacks
from .history import History, warn_if_blown_up
from .layers import Layer, build_spec, chain_shapes, layer_from_config
from .optim import SGD, Optimizer

__all__ = ["Sequential", "r2_score"]

# Batches of at least this many rows, and this many rows x parameters, train
# as two halves (see _splits). At 256 rows the halves are 3% (784-256-128-10)
# to 12% (300-512-256-10) faster than products cut in column parts; at 128
# rows they are no faster.
_SPLIT_MIN_ROWS = 256
_SPLIT_MIN_MACS = 1 << 22


@functools.lru_cache(maxsize=64)
def _seeded_shuffle_state(seed: int) -> tuple:
    return tuple(np.random.SeedSequence(seed).spawn(1)[0].generate_state(4, np.uint64).tolist())


class _LazyGenerator:
    """``np.random.default_rng(seed)``, made when first drawn from (making
    one takes some microseconds, which a network whose weights start at zero,
    the regression machine's, need not pay)."""

    __slots__ = ("seed", "rng")

    def __init__(self, seed: int | None):
        self.seed, self.rng = seed, None

    def __getattr__(self, name: str) -> Any:
        if self.rng is None:
            self.rng = np.random.default_rng(self.seed)
        return getattr(self.rng, name)


def _shuffle_state(seed: int | None) -> np.ndarray:
    """The kernel's xoshiro256** state for a seed (fresh entropy for None)."""
    if seed is None:
        return np.random.SeedSequence().spawn(1)[0].generate_state(4, np.uint64)
    return np.array(_seeded_shuffle_state(seed), dtype=np.uint64)


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """R² = 1 - sum((y - ŷ)²) / sum((y - mean(y))²) per output, averaged over
    the outputs, as scikit-learn's ``r2_score``: an output whose targets are
    all equal scores 1.0 if predicted exactly, else 0.0; fewer than two rows
    give NaN (R² is undefined there).

    y, pred : arrays of shape (n_samples,) or (n_samples, n_outputs)
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    pred = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    if len(y) < 2:
        return float("nan")
    ss_res = ((y - pred) ** 2).sum(axis=0)  # (n_outputs,)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)  # (n_outputs,)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return float(r2.mean())


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

    def __init__(
        self,
        layers: Sequence[Layer],
        loss: str | None = None,
        dtype: str = "float32",
        seed: int | None = 0,
    ):
        seed = check_architecture(layers, Layer, seed)
        chain_shapes(layers, layers[0].input_hint())  # the shapes known so far chain
        self.layers = list(layers)
        self.dtype = check_dtype(dtype)
        out_act = self.layers[-1].activation
        if loss is None:
            loss = "cross_entropy" if out_act == "softmax" else "mse"
        self.loss = check_loss(loss)
        check_loss_fits_output(self.loss, out_act, self.layers[-1].n_out)
        self.seed = seed

        # One flat buffer for every parameter; views for each layer.
        offsets, total = [], 0
        for layer in self.layers:
            shapes = layer.param_shapes()
            w_size = math.prod(shapes[0]) if shapes else 0
            b_size = math.prod(shapes[1]) if shapes else 0
            offsets.append((total, total + w_size))
            total += w_size + b_size
        self.n_params = total
        self.params = _buffers.zeros(total, self.dtype)
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
                layer.b = self.params[b_off : b_off + math.prod(shapes[1])].reshape(shapes[1])
            layer._owner = self

        init_rng = _LazyGenerator(self.seed)  # made only if a layer draws from it
        for layer in self.layers:
            init = layer.init_params(init_rng)
            if init is not None:
                layer.W[...] = init[0]
                layer.b[...] = init[1]
        # The shuffling stream (xoshiro256** in the kernel), seeded apart from init.
        self._rng_state = _shuffle_state(self.seed)
        self._default_optimizer: Optimizer | None = None
        self._work: dict[tuple, np.ndarray] = {}
        # predict, evaluate, score and loss_and_grads only read the model, and
        # may run in several threads at once: each takes the shared
        # inference workspace if it is free, else a workspace of its own
        self._infer_lock = threading.Lock()
        self._predictor = None  # a Predictor bound for up to one block of rows
        # Buffers reused from call to call (nothing is allocated per step).
        self._grads = _buffers.empty(self.params.size, self.dtype)
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

    def _workspace_size(self, rows: int, split: bool = False, copies: int = 1) -> int:
        return _kernels.workspace_size(self._spec, rows, split, copies, self.dtype.itemsize)

    def _workspace(
        self, rows: int, split: bool = False, key: str = "train", copies: int = 1
    ) -> np.ndarray:
        key = (rows, split, key, copies)
        work = self._work.get(key)
        if work is None:
            work = _buffers.empty(self._workspace_size(rows, split, copies), self.dtype)
            if len(self._work) > 8:
                self._work.clear()
            self._work[key] = work
        return work

    def _reading(self, rows: int, fn, copies: int = 1):
        """``fn(work)`` with a workspace for ``rows`` rows (``copies`` of them,
        for blocks side by side) that no other thread is using: the shared
        one if it is free, else a new one."""
        if self._infer_lock.acquire(blocking=False):
            try:
                return fn(self._workspace(rows, key="read", copies=copies))
            finally:
                self._infer_lock.release()
        return fn(_buffers.empty(self._workspace_size(rows, copies=copies), self.dtype))

    def _splits(self, batch_size: int) -> bool:
        """Whether batches of this size train as two halves (side by side
        on two cores). Decided by sizes alone, never by the thread count,
        so that a seed gives the same run on any machine."""
        return (
            batch_size >= _SPLIT_MIN_ROWS
            and batch_size * self.n_params >= _SPLIT_MIN_MACS
            and not any(layer.kind == "dropout" for layer in self.layers)
        )

    def _build(self, input_shape: Sequence[int]) -> None:
        """Fix every layer's geometry for samples of ``input_shape`` and write
        the layer table (once; a later call must give the same shape)."""
        shape = tuple(check_int(v, "input_shape", 1) for v in input_shape)
        if self._spec is None:
            self._spec = build_spec(self.layers, shape, self._offsets)
            self._input_shape = shape
        elif shape != self._input_shape:
            raise ValueError(
                f"the network was built for samples of shape {self._input_shape}, not {shape}"
            )

    def _check_X(self, X: Any, finite: bool = True, name: str = "X") -> np.ndarray:
        first = self.layers[0]
        if not first.takes_images:
            return check_X(X, self.dtype, self.n_in, name=name, finite=finite)
        if self._spec is None:  # images: h and w come from the first X
            try:
                shape = np.shape(X)
            except ValueError as exc:
                raise ValueError(f"{name} could not be read as an array: {exc}") from None
            hint = first.input_hint()
            if len(shape) < 2 or (hint is not None and len(shape) != 1 + len(hint)):
                raise ValueError(
                    f"{name} must have shape (n_samples, channels, height, width) "
                    f"for a network whose first layer is {first!r}, "
                    f"got shape {shape}"
                )
            if 0 in shape[1:]:
                raise ValueError(f"{name} has an empty dimension (shape {shape})")
            self._build(shape[1:])
        return check_X(X, self.dtype, name=name, feature_shape=self._input_shape, finite=finite)

    def _check_Xy(
        self, X: Any, y: Any, finite: bool = True, name: str = "X"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        Xc = self._check_X(X, finite=finite, name=name)
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
        predictor = self._predictor
        if predictor is None:
            if self._spec is None:
                return self._predict_checked(X)
            predictor = self._predictor = self.predictor(_training.PREDICT_CHUNK)
        # the serving pattern (up to one block of rows, ready-made) is
        # computed there; anything else comes back to _predict_checked
        return predictor(X)

    def _predict_checked(self, X: Any) -> np.ndarray:
        """predict for any X: converted and checked, block by block.

        Over one block (``block_limit`` rows), the blocks (``block_rows``) are shared out
        among the engine's threads, each in a workspace of its own and each
        product in one call (``_kernels.forward``); X is searched for NaN
        and infinity block by block as the pass reads it."""
        Xc = self._check_X(X, finite=False)
        n = Xc.shape[0]
        out = np.empty((n, self.n_out), dtype=self.dtype)
        chunk = _training.block_rows(n, _training.block_limit(self.dtype))
        copies = 2 if n > chunk else 1
        finite = self._reading(
            chunk,
            lambda work: _kernels.forward(self._spec, self.params, Xc, out, work, chunk, True),
            copies,
        )
        if not finite:
            check_finite(Xc, "X")  # raises, naming the first row
            raise ValueError("X contains NaN or infinity")
        return out

    def predictor(self, max_rows: int = 64) -> Any:
        """``predict`` bound once, for serving a few rows at a time.

        ``f = net.predictor(); f(x)`` returns what ``net.predict(x)`` returns,
        bit for bit, with the per-call work of ``predict`` (looking up,
        checking and unpacking the network's buffers) done once here. A
        call checks its input in compiled code: an ndarray of the model's
        dtype, C-contiguous, of shape (m, n_in) (for an image network
        (m, channels, height, width)) with 1 <= m <= max_rows, every value
        finite. Any other input goes through ``predict``, which
        converts what it can and raises its errors. The predictor uses the
        model's own weights, so it sees every later update; calls from
        several threads at once are safe.

        Parameters
        ----------
        max_rows : int, default 64
            The most rows a call computes in the predictor's own workspace
            (``max_rows * (n_in + the layers' widths)`` values of the
            model's dtype), at most one block of ``predict``: 1,024 rows,
            or 128 for a float32 network whose products the engine's own
            product computes (the AVX2 builds); larger inputs go through
            ``predict``, which computes them in blocks, so that the bits
            are ``predict``'s.

        Returns
        -------
        callable
            ``f(X: ndarray (m, n_in)) -> ndarray (m, n_out)``.

        Raises
        ------
        ValueError
            If ``max_rows`` is not a positive integer, or the network's
            input shape is not known yet (an image network is built by its
            first ``fit`` or ``predict``).
        """
        # at most one block of predict, whose blocks cut larger inputs
        rows = min(check_int(max_rows, "max_rows", 1), _training.block_limit(self.dtype))
        if self._spec is None:
            raise ValueError(
                "the network's input shape is not known yet: call fit or predict "
                "once (image networks are built from their first X)"
            )
        work = _buffers.empty(self._workspace_size(rows), self.dtype)
        return _kernels.Predictor(
            self, self._spec, self.params, work, rows, tuple(self._input_shape)
        )

    def evaluate(self, X: Any, y: Any) -> float:
        """Mean loss on (X, y), as training measures it."""
        Xc, labels, Y = self._check_Xy(X, y)
        return _training.loss_on(self, Xc, labels, Y)

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
        P = self.predict(Xc)  # (n_samples, n_out)
        if self.loss == "cross_entropy":
            return float(np.mean(P.argmax(axis=1) == labels))
        if self.loss == "binary_cross_entropy":
            return float(np.mean(np.all((P > 0.5) == (Y > 0.5), axis=1)))
        if Xc.shape[0] < 2:
            raise ValueError(f"R² needs at least two rows, got {Xc.shape[0]}")
        return r2_score(Y, P)

    def loss_and_grads(self, X: Any, y: Any) -> tuple[float, list]:
        """Mean loss on the batch (X, y) and its gradient.

        Dropout layers act as at inference, as in ``evaluate``: they pass
        their values, and so their gradient, through unchanged, so that the
        gradient is that of the loss returned (and the same on every call).

        Returns
        -------
        loss : float
        grads : list of (dW, db)
            One pair per layer, shaped as ``layer.W`` and ``layer.b``
            (``(None, None)`` for a layer without parameters).
        """
        self._check_trainable()
        Xc, labels, Y = self._check_Xy(X, y)
        grads = _buffers.empty(self.params.size, self.dtype)
        value = self._reading(
            Xc.shape[0],
            lambda work: _kernels.loss_and_grad(
                self._spec, self._loss_code, self.params, Xc, labels, Y, grads, work
            ),
        )
        return float(value), self._split(grads)

    def _split(self, flat: np.ndarray) -> list:
        out, off = [], 0
        for layer in self.layers:
            shapes = layer.param_shapes()
            if not shapes:
                out.append((None, None))
                continue
            w_size, b_size = math.prod(shapes[0]), math.prod(shapes[1])
            out.append(
                (
                    flat[off : off + w_size].reshape(shapes[0]).copy(),
                    flat[off + w_size : off + w_size + b_size].reshape(shapes[1]).copy(),
                )
            )
            off += w_size + b_size
        return out

    # ------------------------------------------------------------ training
    def fit(
        self,
        X: Any,
        y: Any,
        epochs: int = 1,
        batch_size: int | None = None,
        optimizer: Optimizer | None = None,
        shuffle: bool = True,
        *,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0,
        callbacks: Any = None,
        verbose: bool = False,
    ) -> History:
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
            On bad input; for NaN and infinity in X, naming the first row
            that holds one. Without callbacks, validation or a progress bar,
            in batches of two rows or more and on an X that needs no
            conversion, the training loop searches each batch as the first
            epoch reads it (not in a pass of its own): a value in the last
            row is found after an epoch's work, then undone.
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
            # X is searched for NaN and infinity by the training loop, batch
            # by batch as the first epoch reads it (_training.run), unless
            # part of it is held out for validation or the epochs run one
            # at a time (the callbacks are not to see a call X fails)
            Xc, labels, Y = self._check_Xy(X, y, finite=bool(validation_split))
            val = None
            if validation_data is not None and validation_split:
                raise ValueError("give validation_data or validation_split, not both")
            if validation_split:
                split = check_float(
                    validation_split, "validation_split", low=0.0, high=1.0, high_open=True
                )
                n_val = int(round(split * Xc.shape[0]))
                if n_val < 1 or n_val >= Xc.shape[0]:
                    raise ValueError(
                        f"validation_split={split} leaves no rows for training "
                        f"or for validation out of {Xc.shape[0]}"
                    )
                cut = Xc.shape[0] - n_val
                val = (Xc[cut:], labels[cut:], Y[cut:])
                Xc, labels, Y = Xc[:cut], labels[:cut], Y[:cut]
            elif validation_data is not None:
                if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                    raise TypeError("validation_data must be a pair (X_val, y_val)")
                val = self._check_Xy(*validation_data, name="X_val")
            per_epoch = bool(val or cbs or verbose or getattr(optimizer, "schedule", None))
            args = (self, Xc, labels, Y, epochs, batch_size, optimizer, bool(shuffle))
            if not per_epoch:
                # takes in a schedule removed or an lr changed since the last call
                optimizer.current_lr(optimizer._state_for(self))
                hist = _training.run(*args, searched=False).history  # the loop searches X
            else:
                if not validation_split:
                    check_finite(Xc, "X")
                hist = _training.run_epochs(*args, val, cbs, bool(verbose))
        except BaseException:
            self._undo(undo)
            raise
        warn_if_blown_up(hist, hist.lr[-1] if hist.lr else None)
        return hist

    def _undo_point(self, optimizer: Optimizer) -> tuple:
        """What a training call may change besides the weights, the optimizer's
        buffers and step count and the shuffling stream (which the training
        loops put back themselves): whether the optimizer has a state for this
        network, where its schedule stands, and the geometry a first X fixes."""
        state = optimizer._states.get(self)
        kept = None if state is None else (state.schedule, state.epoch, dict(state.schedule_state))
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
            self._predictor = None

    def partial_fit(
        self, X: Any, y: Any, optimizer: Optimizer | None = None, batch_size: int | None = None
    ) -> History:
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
            hist = _training.run(
                self,
                Xc,
                labels,
                Y,
                1,
                batch_size,
                optimizer,
                False,
                lr=optimizer.current_lr(optimizer._state_for(self)),
            ).history
        except BaseException:
            self._undo(undo)
            raise
        if own:
            self._default_optimizer = optimizer
        return hist

    def _check_optimizer(self, optimizer: Any) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be a fastnn optimizer such as SGD(lr=0.1), got {optimizer!r}"
            )
        self._check_trainable()

    # ------------------------------------------------------------ files
    def config(self) -> dict:
        cfg = {
            "layers": [layer.config() for layer in self.layers],
            "loss": self.loss,
            "dtype": self.dtype.name,
            "seed": self.seed,
        }
        if self.layers[0].takes_images and self._input_shape is not None:
            cfg["input_shape"] = list(self._input_shape)
        return cfg

    def save(self, path: str | os.PathLike | BinaryIO, optimizer: Optimizer | None = None) -> None:
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
        from .io import save

        save(self, path, optimizer)

    def to_torch(self) -> Any:
        """The network as a ``torch.nn.Sequential`` (extra ``fastnn[torch]``).

        Each layer becomes its torch module with the weights copied exactly
        (``nn.Linear.weight`` is ``W.T``, of shape ``(n_out, n_in)``), followed by
        its activation's module (``nn.ReLU``, ``nn.Sigmoid``, ``nn.Tanh``,
        ``nn.Softmax(dim=1)``), in the network's dtype; returned in eval mode,
        so that ``Dropout`` passes values through as ``predict`` does.
        ``fastnn.from_torch`` reads it back.

        Returns
        -------
        torch.nn.Sequential
            Its output for a tensor of ``X`` equals ``predict(X)``.

        Raises
        ------
        ImportError
            torch is not installed.
        ValueError
            A layer uses the step activation (torch.nn has no module for it).
        """
        from ._torch import to_torch

        return to_torch(self)

    def __getstate__(self) -> dict:
        # Pickle what a file holds; the layers' views are rebuilt on load.
        return {
            "config": self.config(),
            "params": self.params.copy(),
            "rng_state": self._rng_state.copy(),
            "default_optimizer": self._default_optimizer,
        }

    def __setstate__(self, state: dict) -> None:
        config = state["config"]
        self.__init__(
            [layer_from_config(c) for c in config["layers"]],
            loss=config["loss"],
            dtype=config["dtype"],
            seed=config.get("seed"),
        )
        if config.get("input_shape") is not None:
            self._build(config["input_shape"])
        self.params[...] = state["params"]
        self._rng_state[...] = state["rng_state"]
        self._default_optimizer = state["default_optimizer"]

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return (
            f"Sequential([\n    {inner}],\n    loss={self.loss!r}, "
            f"dtype={self.dtype.name!r}, seed={self.seed})"
        )

    def summary(self) -> str:
        """A table of the layers, their shapes and parameter counts."""
        lines = [f"{'layer':<40}{'output':>12}{'params':>10}"]
        for layer in self.layers:
            lines.append(f"{layer!r:<40}{layer.describe_output():>12}{layer.n_params:>10}")
        lines.append(f"{'total':<40}{'':>12}{self.n_params:>10}")
        return "\n".join(lines)
