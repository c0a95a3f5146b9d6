"""Optimizers: the rules that turn a gradient into a step.

Each is a small dataclass that checks its settings and packs them into the
vector of numbers the compiled update reads. The arithmetic itself lives in
``_kernels.pyx`` and follows ``torch.optim`` exactly.

An optimizer object owns its state (momentum buffers, moments, the step
count) for each network it is used with: passing the same object to the
next ``fit`` or ``partial_fit`` of that network continues where it stopped;
a new object starts fresh.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import _buffers
from ._dispatch import kernels as _kernels
from ._validation import check_float
from .schedules import SCHEDULES, ReduceOnPlateau, Schedule


class _Trainable(Protocol):
    """What an optimizer needs of the network it updates (a ``Sequential``):
    the size and dtype of its parameter buffer."""

    n_params: int
    dtype: np.dtype


__all__ = ["Optimizer", "SGD", "Adam", "AdaGrad", "RMSprop", "Rprop"]

_LR_SLOT = _kernels.HYPER_SLOTS["lr"]
# Settings given as pairs, and the two slots of the kernel's vector they fill.
_PAIRS = {
    "betas": ("beta1", "beta2"),
    "etas": ("eta_minus", "eta_plus"),
    "step_sizes": ("step_min", "step_max"),
}


# Marks a state unpickled from a fastnn that did not record which schedule
# its schedule state belongs to: it is taken to be the optimizer's.
_UNKNOWN_SCHEDULE = object()


class OptimizerState:
    """What an optimizer keeps for one network: its buffers, the number of
    steps taken and where its schedule stands (see ``fastnn.schedules``)."""

    def __init__(self, kind: int, n_params: int, dtype: np.dtype):
        self.buffer = _buffers.zeros(_kernels.optimizer_state_size(kind, n_params), dtype)
        self.t = 0  # steps taken
        self.epoch = 0  # epochs the schedule has stepped (torch's last_epoch)
        self.schedule = None  # the schedule that epoch and schedule_state are of
        # the next epoch's rate ("lr"), the opt.lr it goes with ("lr_setting"),
        # torch's "initial_lr" once set, and the schedule's own state
        self.schedule_state: dict = {}
        self.stepper = None  # a kernel Stepper bound to the buffers, for one-step calls

    def __getstate__(self) -> dict:
        # the stepper holds raw views of the buffers: rebuilt where needed
        return {k: v for k, v in self.__dict__.items() if k != "stepper"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("schedule", _UNKNOWN_SCHEDULE)
        self.buffer = _buffers.aligned_copy(self.buffer)
        self.stepper = None

    def snapshot(self) -> tuple:
        return (self.buffer.copy(), self.t, self.epoch, dict(self.schedule_state), self.schedule)

    def restore(self, snap: tuple) -> None:
        self.buffer[...] = snap[0]
        self.t, self.epoch, self.schedule_state = snap[1], snap[2], dict(snap[3])
        if len(snap) > 4:
            self.schedule = snap[4]


@dataclass
class Optimizer:
    """Base of the optimizers; holds the per-network state."""

    _states: weakref.WeakKeyDictionary = field(
        default_factory=weakref.WeakKeyDictionary, init=False, repr=False, compare=False
    )

    name = "optimizer"
    # SGD with scikit-learn's velocity rule (see _SklearnSGD), not torch's buffer
    _velocity_rule = False

    def __post_init__(self) -> None:
        self._validate()
        object.__setattr__(self, "_ready", True)

    def __setattr__(self, key: str, value: Any) -> None:
        # Settings may change between calls (opt.lr = 0.01): each change is
        # checked at once, and a refused one leaves the old value in place.
        if key.startswith("_") or not getattr(self, "_ready", False):
            object.__setattr__(self, key, value)
            return
        old = getattr(self, key)
        if type(value) is type(old) and value == old:
            return  # unchanged: nothing to check or recompute
        object.__setattr__(self, key, value)
        try:
            self._validate()
        except (ValueError, TypeError):
            object.__setattr__(self, key, old)
            raise
        object.__setattr__(self, "_hyper_cache", None)

    def __getstate__(self) -> dict:
        # The per-network states travel as (network, state) pairs: pickled
        # together with their networks, they are found again on load.
        state = {k: v for k, v in self.__dict__.items() if k not in ("_states", "_hyper_cache")}
        state["_state_pairs"] = list(self._states.items())
        return state

    def __setstate__(self, state: dict) -> None:
        pairs = state.pop("_state_pairs", [])
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_states", weakref.WeakKeyDictionary(pairs))

    def _hyper(self, lr: float | None = None) -> np.ndarray:
        """The settings as the compiled update reads them (lr overridden
        by the schedule's rate of the epoch when given)."""
        h = getattr(self, "_hyper_cache", None)
        if h is None:
            h = np.zeros(_kernels.N_HYPER_SLOTS, dtype=np.float64)
            values = {key: getattr(self, key) for key in _kernels.HYPER_SLOTS if hasattr(self, key)}
            for pair, (first, second) in _PAIRS.items():
                if hasattr(self, pair):
                    values[first], values[second] = getattr(self, pair)
            if self._velocity_rule:
                values["velocity"] = 1.0
            for key, value in values.items():
                if value is not None and not isinstance(value, Schedule):
                    h[_kernels.HYPER_SLOTS[key]] = float(value)
            object.__setattr__(self, "_hyper_cache", h)
        if lr is not None and lr != h[_LR_SLOT]:
            h = h.copy()
            h[_LR_SLOT] = lr
        return h

    def current_lr(self, state: OptimizerState) -> float:
        """The rate of the next epoch for the network whose state this is.

        Takes in a schedule attached, replaced or removed and a change of
        ``lr`` since the last call, as ``fastnn.schedules`` describes; raises
        ValueError if the schedule's state (e.g. read from a checkpoint) is
        not valid, changing nothing then.
        """
        self._bind_schedule(state)
        schedule = getattr(self, "schedule", None)
        lr = float(self.lr)
        if schedule is None:
            return lr
        sched_state = state.schedule_state
        if "lr" not in sched_state:
            sched_state = _upgraded_schedule_state(schedule, sched_state, state.epoch, lr)
        _check_schedule_state(schedule, sched_state)
        if sched_state["lr_setting"] != lr:  # torch's param_group["lr"] = lr
            sched_state["lr"] = sched_state["lr_setting"] = lr
        state.schedule_state = sched_state
        return float(sched_state["lr"])

    def step_schedule(self, state: OptimizerState, metric: float) -> float:
        """Step the schedule after an epoch whose monitored loss was ``metric``
        (torch's ``scheduler.step()``) and return the next epoch's rate."""
        lr = self.current_lr(state)
        schedule = getattr(self, "schedule", None)
        if schedule is None:
            return lr
        sched_state = state.schedule_state
        state.epoch += 1
        sched_state["lr"] = float(schedule.step(lr, state.epoch, float(metric), sched_state))
        return sched_state["lr"]

    def _bind_schedule(self, state: OptimizerState) -> None:
        """Make ``state`` describe the optimizer's schedule: a schedule that is
        not the one the state was kept for starts as a torch scheduler created
        now, from the current rate (see ``fastnn.schedules``)."""
        schedule = getattr(self, "schedule", None)
        if state.schedule is schedule:
            return
        if state.schedule is _UNKNOWN_SCHEDULE:
            state.schedule = schedule
            return
        lr = float(self.lr)
        old = state.schedule_state
        current = lr
        if state.schedule is not None and old.get("lr_setting") == lr and _is_rate(old.get("lr")):
            current = float(old["lr"])
        kept = {"initial_lr": old["initial_lr"]} if _is_rate(old.get("initial_lr")) else {}
        if schedule is not None:
            if schedule.sets_initial_lr:
                kept.setdefault("initial_lr", current)
            kept = {**schedule.initial_state(), **kept, "lr": current, "lr_setting": lr}
        state.schedule, state.epoch, state.schedule_state = schedule, 0, kept

    def settings(self) -> dict:
        """The constructor arguments, as plain data (for checkpoints)."""
        out = {}
        for key in self.__dataclass_fields__:
            if key.startswith("_"):
                continue
            value = getattr(self, key)
            if isinstance(value, Schedule):
                value = {
                    "type": type(value).__name__,
                    **{k: getattr(value, k) for k in value.__dataclass_fields__},
                }
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out

    @property
    def _kind(self) -> int:
        return _kernels.OPTIMIZERS[self.name]

    def _state_for(self, net: _Trainable) -> OptimizerState:
        state = self._states.get(net)
        if state is None:
            state = OptimizerState(self._kind, net.n_params, net.dtype)
            self._init_state(state)
            self._bind_schedule(state)
            self._states[net] = state
        return state

    def reset(self) -> None:
        """Forget all state: the next use starts fresh."""
        self._states.clear()

    def state_for(self, net: _Trainable) -> OptimizerState:
        """This optimizer's state for ``net`` (created empty if new), kept for
        the optimizer's current schedule."""
        state = self._state_for(net)
        self._bind_schedule(state)
        return state

    def _validate(self) -> None:
        raise NotImplementedError

    def _init_state(self, state: OptimizerState) -> None:
        """Fill a new state's buffers (zeros unless an optimizer says otherwise)."""


@dataclass
class SGD(Optimizer):
    """Stochastic gradient descent, exactly ``torch.optim.SGD``.

    With ``g = grad + weight_decay * w``::

        buf = g                                   (first step)
        buf = momentum * buf + (1 - dampening) g  (later steps)
        g   = g + momentum * buf  if nesterov else buf    (when momentum > 0)
        w   = w - lr * g

    ``l2`` (not in torch) penalises the weights only, not the biases, per
    batch: the gradient of a weight matrix W gains ``l2 * W / m`` for a batch
    of m rows, before weight decay and momentum, and the recorded step loss
    gains ``l2 / (2 m) * sum(W**2)`` (scikit-learn's ``alpha``).
    """

    lr: float = 0.01
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: Schedule | None = None
    l2: float = 0.0

    name = "sgd"

    def _validate(self) -> None:
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.momentum, "momentum", low=0.0)
        check_float(self.dampening, "dampening", low=0.0, high=1.0)
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_float(self.l2, "l2", low=0.0)
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {self.nesterov!r}")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires momentum > 0 and dampening = 0")
        _check_schedule(self.schedule)


class _SklearnSGD(SGD):
    """SGD with scikit-learn's momentum rule, for the estimators.

    scikit-learn's ``SGDOptimizer`` keeps a velocity that carries each past
    step's learning rate::

        v = momentum * v - lr * g        (v starts at 0)
        w = w + v                        (w + momentum * v - lr * g if nesterov)

    while torch's buffer holds gradients and the current rate multiplies it.
    Both agree while the rate is constant; under a changing rate
    (``learning_rate="invscaling"``, or ``"adaptive"`` after a cut) only this
    rule gives scikit-learn's weights. Dampening is not part of it.
    """

    _velocity_rule = True


@dataclass
class Adam(Optimizer):
    """Adam, exactly ``torch.optim.Adam`` (L2 weight decay added to the gradient).

    With ``g = grad + weight_decay * w`` and t counting steps from 1::

        m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
        w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    ``l2`` (not in torch): as for ``SGD``, ``l2 * W / m`` added to the
    gradient of the weights (not the biases) of a batch of m rows, and
    ``l2 / (2 m) * sum(W**2)`` to its recorded loss.
    """

    lr: float = 0.001
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    schedule: Schedule | None = None
    l2: float = 0.0

    name = "adam"

    def _validate(self) -> None:
        check_float(self.lr, "lr", low=0.0, low_open=True)
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise TypeError(f"betas must be a pair of numbers, got {self.betas!r}")
        check_float(self.betas[0], "betas[0]", low=0.0, high=1.0, high_open=True)
        check_float(self.betas[1], "betas[1]", low=0.0, high=1.0, high_open=True)
        object.__setattr__(self, "betas", (float(self.betas[0]), float(self.betas[1])))
        check_float(self.eps, "eps", low=0.0)
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_float(self.l2, "l2", low=0.0)
        _check_schedule(self.schedule)


def _check_pair(value, name: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of numbers, got {value!r}")
    return (check_float(value[0], f"{name}[0]"), check_float(value[1], f"{name}[1]"))


@dataclass
class AdaGrad(Optimizer):
    """AdaGrad, exactly ``torch.optim.Adagrad``.

    With ``g = grad + weight_decay * w`` and t counting steps from 1::

        s = s + g^2                       (s starts at initial_accumulator_value)
        w = w - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
    """

    lr: float = 0.01
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10
    schedule: Schedule | None = None

    name = "adagrad"

    def _validate(self) -> None:
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.lr_decay, "lr_decay", low=0.0)
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_float(self.initial_accumulator_value, "initial_accumulator_value", low=0.0)
        check_float(self.eps, "eps", low=0.0)
        _check_schedule(self.schedule)

    def _init_state(self, state: OptimizerState) -> None:
        state.buffer[...] = self.initial_accumulator_value


@dataclass
class RMSprop(Optimizer):
    """RMSprop, exactly ``torch.optim.RMSprop``.

    With ``g = grad + weight_decay * w``::

        sq  = alpha sq + (1 - alpha) g^2
        avg = sqrt(sq - ga^2) with ga = alpha ga + (1 - alpha) g   (centered)
              sqrt(sq)                                              (otherwise)
        buf = momentum buf + g / (avg + eps);  w = w - lr buf       (momentum > 0)
        w   = w - lr g / (avg + eps)                                (otherwise)
    """

    lr: float = 0.01
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False
    schedule: Schedule | None = None

    name = "rmsprop"

    def _validate(self) -> None:
        check_float(self.lr, "lr", low=0.0, low_open=True)
        check_float(self.alpha, "alpha", low=0.0, high=1.0)
        check_float(self.eps, "eps", low=0.0)
        check_float(self.weight_decay, "weight_decay", low=0.0)
        check_float(self.momentum, "momentum", low=0.0)
        if not isinstance(self.centered, (bool, np.bool_)):
            raise TypeError(f"centered must be True or False, got {self.centered!r}")
        _check_schedule(self.schedule)


@dataclass
class Rprop(Optimizer):
    """Resilient backpropagation, exactly ``torch.optim.Rprop`` (for full-batch
    training of small networks).

    Each weight has its own step size, starting at ``lr``: it is multiplied
    by eta_plus while the gradient keeps its sign and by eta_minus when the
    sign flips (that gradient then counts as 0), within ``step_sizes``;
    ``w = w - sign(g) * step``. The size of the gradient is never used.
    """

    lr: float = 0.01
    etas: tuple[float, float] = (0.5, 1.2)
    step_sizes: tuple[float, float] = (1e-6, 50.0)
    schedule: Schedule | None = None

    name = "rprop"

    def _validate(self) -> None:
        check_float(self.lr, "lr", low=0.0, low_open=True)
        etas = _check_pair(self.etas, "etas")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"etas must satisfy 0 < etas[0] < 1 < etas[1], got {self.etas!r}")
        sizes = _check_pair(self.step_sizes, "step_sizes")
        if not 0.0 <= sizes[0] <= sizes[1]:
            raise ValueError(f"step_sizes must satisfy 0 <= min <= max, got {self.step_sizes!r}")
        object.__setattr__(self, "etas", etas)
        object.__setattr__(self, "step_sizes", sizes)
        _check_schedule(self.schedule)


def _is_rate(value: Any) -> bool:
    """A finite number >= 0 (a cosine schedule reaches 0 when eta_min is 0)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and value >= 0
    )


def _check_schedule_state(schedule: Schedule, state: dict) -> None:
    for key in ("lr", "lr_setting") + (("initial_lr",) if schedule.sets_initial_lr else ()):
        if not _is_rate(state.get(key)):
            raise ValueError(
                f"the schedule state {state!r} is not valid: {key} must be a "
                f"finite number >= 0, got {state.get(key)!r}"
            )
    try:
        schedule.check_state(state)
    except ValueError as exc:
        raise ValueError(f"the schedule state {state!r} is not valid: {exc}") from None


def _upgraded_schedule_state(schedule: Schedule, old: dict, epoch: int, lr: float) -> dict:
    """The state of a schedule as kept before the rate itself was (a rate
    computed from lr in closed form, and for the plateau rule a scale)."""
    if isinstance(schedule, ReduceOnPlateau):
        scale = old.get("scale", 1.0)
        rate = lr * scale if _is_rate(scale) else lr
        rate = min(lr, max(rate, schedule.min_lr))
    elif hasattr(schedule, "lr") and not isinstance(epoch, bool) and isinstance(epoch, int):
        rate = schedule.lr(lr, epoch, old)
    else:
        rate = lr
    own = schedule.initial_state()
    return {
        **own,
        **{k: old[k] for k in own if k in old},
        "lr": rate,
        "lr_setting": lr,
        "initial_lr": lr,
    }


def _check_schedule(schedule) -> None:
    if schedule is not None and not isinstance(schedule, Schedule):
        raise TypeError(
            f"schedule must be a fastnn schedule such as StepDecay(10), got {schedule!r}"
        )


OPTIMIZER_TYPES = {
    "SGD": SGD,
    "Adam": Adam,
    "AdaGrad": AdaGrad,
    "RMSprop": RMSprop,
    "Rprop": Rprop,
    "_SklearnSGD": _SklearnSGD,
}


def optimizer_from_settings(name: str, settings: dict) -> Optimizer:
    """Rebuild an optimizer from ``type(opt).__name__`` and ``opt.settings()``."""
    if name not in OPTIMIZER_TYPES or not isinstance(settings, dict):
        raise ValueError(f"unknown optimizer {name!r}")
    settings = dict(settings)
    sched = settings.get("schedule")
    if sched is not None:
        if not isinstance(sched, dict) or sched.get("type") not in SCHEDULES:
            raise ValueError(f"unknown schedule {sched!r}")
        sched = dict(sched)
        settings["schedule"] = SCHEDULES[sched.pop("type")](**sched)
    for pair in _PAIRS:
        if isinstance(settings.get(pair), list):
            settings[pair] = tuple(settings[pair])
    return OPTIMIZER_TYPES[name](**settings)
