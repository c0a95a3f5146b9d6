"""The one driver of the compiled training loop: ``run`` trains a network
on checked arrays and returns what the loop recorded; ``run_epochs`` calls
it an epoch at a time, with validation, schedules and callbacks between.

Every way of training (``Sequential.fit`` and ``partial_fit``, the
estimators, the regression machine) comes here; the loop itself is
``_kernels.train`` (whole epochs, no GIL) or, for one step on a chunk, a
``_kernels.Stepper`` bound once to the network and optimizer state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._dispatch import kernels as _kernels
from ._validation import check_finite
from .callbacks import _progress
from .exceptions import TrainingDiverged
from .history import History

__all__ = ["run", "run_epochs", "Run", "divergence", "restore_and_raise"]

PREDICT_CHUNK = 1024  # rows of one block of a forward pass (predict, evaluate)

# A float32 network whose products the engine's own product computes (the
# AVX2 builds) reads more than OWN_BLOCK rows in blocks of at most OWN_BLOCK
# rows: the own product takes them, and one block's activations stay in its
# core's L2 cache from layer to layer. 10,000 rows of 784-256-128-10 on 2
# cores (AMD EPYC Zen 4, AVX-512; the two ways in turn, medians) took
# 22.3-22.8 ms in blocks of 125 rows against 24.9-25.1 ms in blocks of
# 1,000 through BLAS; 512 rows 1,147 against 1,310 µs as one block cut in
# two parts. BLAS copies W into its own layout for every product, so it
# keeps blocks of up to PREDICT_CHUNK rows. At most the own product's
# limit (128 rows, _gemm.pxi's OWN_MAX_SIDE).
OWN_BLOCK = 128


def block_limit(dtype) -> int:
    """The most rows of one block of a forward pass of a network of
    ``dtype``: OWN_BLOCK where the engine's own float32 product runs, else
    PREDICT_CHUNK."""
    if np.dtype(dtype) == np.float32 and _kernels.own_gemm_available():
        return OWN_BLOCK
    return PREDICT_CHUNK


def block_rows(n: int, most: int) -> int:
    """Rows per block of a forward pass over n rows: n itself up to ``most``
    rows (one block; ``block_limit``); else the blocks are an even number of
    equal blocks of at most ``most`` rows, so that two threads share them
    evenly (1,025 rows in blocks of up to 1,024: 513 + 512, not 1,024 + 1).
    Decided by n and ``most`` alone."""
    if n <= most:
        return max(n, 1)
    blocks = -(-n // most)
    blocks += blocks % 2
    return -(-n // blocks)


_CHECK_FLOPS = 2e7  # work between two looks for Ctrl-C (~ a few ms)
_LR_SLOT = _kernels.HYPER_SLOTS["lr"]
_STEPS, _T, _STATUS = (_kernels.COUNTER_SLOTS[k] for k in ("steps", "t", "status"))


@dataclass
class Run:
    """What one call of the loop did.

    history : History
        The steps, epochs, rates and accuracy of the call.
    trace : ndarray of shape (steps, n_params), or None
        The parameters after every step (``record_params``).
    epoch_losses : list of float, or None
        The epoch losses the stopping rule saw (``stop``).
    """

    history: History
    trace: np.ndarray | None = None
    epoch_losses: list | None = None


def run(
    net,
    Xc,
    labels,
    Y,
    epochs,
    batch_size,
    optimizer,
    shuffle,
    *,
    lr: float | None = None,
    before: tuple | None = None,
    record_params: bool = False,
    max_steps: int | None = None,
    stop: tuple | None = None,
    searched: bool = True,
) -> Run:
    """Train ``net`` for ``epochs`` epochs in the compiled loop, on arrays
    already checked (``_validation``): X (n, n_in) C-contiguous in the
    network's dtype, class labels (n,) int64 or targets Y (n, n_out).

    ``batch_size`` None is the full batch; ``lr`` overrides the optimizer's
    rate (a schedule's rate of the epoch); ``max_steps`` stops early;
    ``record_params`` also returns the parameters after every step;
    ``stop`` = (scale, tol, patience, best, count) runs scikit-learn's
    stopping rule after every epoch inside the loop, and the epoch losses it
    saw come back in ``Run.epoch_losses``.

    ``searched=False``: X has not been searched for NaN and infinity.
    A run of batches of two rows or more that reads every row (a whole
    epoch or more) searches each batch of its first epoch as the loop reads
    it, which spares a pass over X; any other searches X first. Non-finite
    values raise ValueError, naming the first row that holds one, with
    everything put back as below.

    Raises TrainingDiverged when the loss or the weights become non-finite,
    after putting back ``before`` (default: the weights, the optimizer's
    state and the shuffling stream as they were at this call). Ctrl-C stops
    between two steps and marks the History ``interrupted``."""
    state = optimizer._state_for(net)
    n = Xc.shape[0]
    bs = n if batch_size is None else min(batch_size, n)
    steps_per_epoch = -(-n // bs)
    total = steps_per_epoch * epochs
    if max_steps is not None:
        total = min(total, max_steps)
    split = net._splits(bs)
    one_step = (
        total == 1
        and steps_per_epoch == 1
        and not record_params
        and not split
        and stop is None
        and (not shuffle or n == 1)
    )
    # one-row batches: one pass over X beforehand costs less than a search per step
    check_rows = not searched and total >= steps_per_epoch and not one_step and bs > 1
    if not (searched or check_rows):
        check_finite(Xc, "X")
    if one_step:
        return Run(_one_step(net, Xc, labels, Y, optimizer, state, lr, before))
    hist = History(steps_per_epoch=steps_per_epoch)
    trace = _trace_buffer(net, total if record_params else 0)
    if total == 0:
        return Run(hist, trace)
    if before is None:
        before = _snapshot(net, state)
    step_loss = np.empty(total, dtype=np.float64)
    counters = net._counters
    counters[_STEPS], counters[_T], counters[_STATUS] = 0, state.t, 0
    if len(net._order) < n:
        net._order = np.empty(n, dtype=np.int64)
    check_every = max(1, int(_CHECK_FLOPS / (6.0 * net.n_params * bs + 1)))
    hyper = optimizer._hyper(lr)
    stop_state = epoch_losses = None
    if stop is not None:
        stop_state = np.array(stop, dtype=np.float64)
        epoch_losses = np.empty(epochs, dtype=np.float64)
    interrupted = False
    correct = np.zeros(total if net.loss != "mse" else 0, dtype=np.int64)
    try:
        _kernels.train(
            net._spec,
            net._loss_code,
            net.params,
            net._grads,
            optimizer._kind,
            hyper,
            state.buffer,
            Xc,
            labels,
            Y,
            bs,
            epochs,
            shuffle,
            net._rng_state,
            net._order[:n],
            net._workspace(bs, split),
            step_loss,
            trace,
            counters,
            check_every,
            total,
            split,
            stop_state,
            epoch_losses,
            correct if len(correct) else None,
            check_rows,
        )
    except KeyboardInterrupt:
        interrupted = True
    done = int(counters[_STEPS])
    state.t = int(counters[_T])
    stopped = counters[_STATUS] == _kernels.NOT_FINITE
    # a run stopped within its first epoch (Ctrl-C, a non-finite loss) has
    # not read every row: X is searched before anything else is said
    early = interrupted or counters[_STATUS] == _kernels.DIVERGED
    if check_rows and (stopped or (early and done < steps_per_epoch)):
        _refuse_not_finite(net, state, before, Xc, stopped)
    if counters[_STATUS] == _kernels.DIVERGED or (
        interrupted and not np.isfinite(net.params).all()
    ):
        # a non-finite loss stops before its step's update; weights that
        # overflowed are found after the last step that ran
        if np.isfinite(net.params).all():
            restore_and_raise(net, state, before, done + 1)
        restore_and_raise(net, state, before, done, exact=False)
    last = n - bs * (steps_per_epoch - 1)
    full_epochs = done // steps_per_epoch
    if done == 1:  # one step: its loss is the epoch's as it is
        value = float(step_loss[0])
        hist.step_loss = [value]
        hist.batch_sizes = [last if steps_per_epoch == 1 else bs]
        hist.loss = [value] if full_epochs else []
    else:
        hist._set_steps(step_loss[:done], [bs] * (steps_per_epoch - 1) + [last])
    hist.lr = [float(hyper[_LR_SLOT])] * full_epochs
    if len(correct):
        hits = correct[: full_epochs * steps_per_epoch].reshape(full_epochs, steps_per_epoch)
        hits = hits.sum(axis=1)
        hist.accuracy = (hits / n).tolist()
    hist.interrupted = interrupted
    return Run(
        hist, trace[:done], epoch_losses[:full_epochs].tolist() if stop is not None else None
    )


def _refuse_not_finite(net, state, before: tuple, Xc: np.ndarray, stopped: bool) -> None:
    """After a run with ``check_rows`` that stopped on a batch holding NaN
    or infinity (``stopped``), or stopped for another reason before it read
    every row: if X holds any, put ``before`` back and raise ValueError
    naming the first row that does."""
    try:
        check_finite(Xc, "X")
        if stopped:  # the loop saw one, gone now: X was changed while training
            raise ValueError("X contains NaN or infinity")
    except ValueError:
        _put_back(net, state, before)
        raise


def _one_step(net, Xc, labels, Y, optimizer, state, lr, before) -> History:
    """One gradient step on the whole of (Xc, labels, Y): the streaming
    case (``partial_fit`` on a chunk), through a Stepper bound to this
    network and optimizer state, which undoes a failed step itself."""
    n = Xc.shape[0]
    stepper = state.stepper
    if (
        stepper is None
        or stepper.rows < n
        or stepper.spec is not net._spec
        or stepper.params is not net.params
        or stepper.opt_buffer is not state.buffer
        or stepper.rng_state is not net._rng_state
    ):
        stepper = state.stepper = _kernels.Stepper(
            net._spec,
            net._loss_code,
            net.params,
            net._grads,
            optimizer._kind,
            state.buffer,
            net._rng_state,
            net._workspace(n),
            n,
        )
    hyper = optimizer._hyper(lr)
    value = stepper.step(Xc, labels, Y, hyper, state.t)
    if stepper.status == _kernels.DIVERGED:
        # the stepper undid its own step; ``before`` may hold earlier steps of a fit
        restore_and_raise(net, state, before, 1)
    state.t += 1
    accuracy = None if net.loss == "mse" else stepper.correct / n
    return History._one_step(value, n, float(hyper[_LR_SLOT]), accuracy)


def restore_and_raise(net, state, before: tuple | None, step: int, exact: bool = True) -> None:
    """Restore ``before`` (params, optimizer snapshot, shuffle state), if
    given, and raise TrainingDiverged at ``step`` (``exact=False``: found
    only at the end of that step, after which the weights were checked)."""
    if before is not None:
        _put_back(net, state, before)
    raise divergence(step, exact)


def _snapshot(net, state) -> tuple:
    """What a training call changes and a failed one puts back: the
    weights, the optimizer's snapshot and the shuffling stream."""
    return net.params.copy(), state.snapshot(), net._rng_state.copy()


def _put_back(net, state, before: tuple) -> None:
    """Put back a ``_snapshot``."""
    net.params[...] = before[0]
    state.restore(before[1])
    net._rng_state[...] = before[2]


def divergence(step: int, exact: bool = True) -> TrainingDiverged:
    where = f"at step {step}" if exact else f"by the end of step {step}"
    return TrainingDiverged(
        f"training diverged: the loss or the weights became non-finite {where} of this "
        "call. The model and the optimizer were restored to what they were before the "
        "call. Try a lower learning rate or scale the inputs (e.g. standardise X).",
        step=step,
    )


def _trace_buffer(net, steps: int) -> np.ndarray:
    if steps == 0:
        if net._no_trace is None:
            net._no_trace = np.empty((0, net.n_params), dtype=net.dtype)
        return net._no_trace
    return np.empty((steps, net.n_params), dtype=net.dtype)


def run_epochs(
    net, Xc, labels, Y, epochs, batch_size, optimizer, shuffle, val, cbs, verbose
) -> History:
    """Train one epoch at a time: each at the schedule's rate, then the
    validation loss, the schedule's step and the callbacks. If anything
    raises, the weights, the optimizer (buffers, step count, schedule),
    the shuffling stream and fastnn's callbacks are put back as they were
    before the call, and the error goes on."""
    state = optimizer._state_for(net)
    before = _snapshot(net, state)
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
                cb.on_train_begin(net)
            for epoch in range(epochs):
                lr = optimizer.current_lr(state)
                done = len(hist.step_loss)
                try:
                    part = run(
                        net,
                        Xc,
                        labels,
                        Y,
                        1,
                        batch_size,
                        optimizer,
                        shuffle,
                        lr=lr,
                        before=before,
                    ).history
                except TrainingDiverged as exc:  # its step counts within the epoch
                    raise divergence(
                        done + min(exc.step, steps_per_epoch), exact=exc.step <= steps_per_epoch
                    ) from None
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
                    logs["end_loss"] = loss_on(net, Xc, labels, Y)
                if val is not None:
                    logs.update(validation_logs(net, *val))
                    hist.val_loss.append(logs["val_loss"])
                    if "val_accuracy" in logs:
                        hist.val_accuracy.append(logs["val_accuracy"])
                optimizer.step_schedule(state, logs.get("val_loss", logs["loss"]))
                if bar is not None:
                    bar.update(logs)
                stop = False
                for cb in cbs:
                    stop = bool(cb.on_epoch_end(epoch, logs, net)) or stop
                if stop:
                    hist.stopped_early = True
                    break
        except KeyboardInterrupt:
            hist.interrupted = True
        for cb in cbs:
            cb.on_train_end(net, logs)
    except BaseException:
        _put_back(net, state, before)
        for cb, kept in zip(cbs, saved):
            cb._load(kept)
        raise
    finally:
        if bar is not None:
            bar.close()
    return hist


def loss_on(net, X: np.ndarray, labels: np.ndarray, Y: np.ndarray) -> float:
    """Mean loss of the current weights on arrays already checked, as
    ``evaluate`` computes it (without checking every value again)."""
    chunk = block_rows(X.shape[0], block_limit(net.dtype))
    return float(
        net._reading(
            chunk,
            lambda work: _kernels.loss_value(
                net._spec, net._loss_code, net.params, X, labels, Y, work, chunk
            ),
            2 if X.shape[0] > chunk else 1,
        )
    )


def validation_logs(net, Xv, lv, Yv) -> dict:
    logs = {"val_loss": loss_on(net, Xv, lv, Yv)}
    if net.loss == "cross_entropy":
        logs["val_accuracy"] = float(np.mean(net.predict(Xv).argmax(axis=1) == lv))
    elif net.loss == "binary_cross_entropy":
        # a row counts when every output is right, as ``score``
        logs["val_accuracy"] = float(np.mean(np.all((net.predict(Xv) > 0.5) == (Yv > 0.5), axis=1)))
    return logs
