"""Learning-rate schedules, stepped once per epoch as torch's schedulers are.

A schedule is attached to an optimizer (``SGD(lr=0.1, schedule=StepDecay(10))``)
and sets the rate of each epoch. Each one follows its counterpart in
``torch.optim.lr_scheduler`` (``StepLR``, ``ExponentialLR``,
``CosineAnnealingLR``, ``ReduceLROnPlateau``; see torch's documentation of
each) step by step: the rate of an epoch is computed from the rate of the
epoch before with torch's own arithmetic, so that, fed the same monitored
values, the rates are torch's to the last bit.

Where a schedule starts, and where it stands
--------------------------------------------
The optimizer keeps, for each network, the rate of the next epoch, the number
of epochs the schedule has stepped and the schedule's own state (for the
plateau rule: the best value, the bad epochs, the cooldown); a checkpoint
(``net.save(path, optimizer=opt)``) holds them and ``fastnn.load_checkpoint``
resumes them exactly, as torch's ``state_dict`` / ``load_state_dict`` do.

- A schedule given to a fresh optimizer starts at the optimizer's ``lr``.
- A schedule attached to an optimizer that has already trained
  (``opt.schedule = ...`` between two calls), or that replaces another
  schedule, starts as a torch scheduler created at that point
  (``last_epoch=-1``) does: at the optimizer's current rate (its ``lr``, or,
  replacing a schedule, the rate the old schedule had set for the next
  epoch), with its epoch count at 0. torch keeps ``initial_lr`` (its
  ``base_lrs``) from the first ``StepLR``, ``ExponentialLR`` or
  ``CosineAnnealingLR`` ever created on the optimizer
  (``param_group.setdefault("initial_lr", lr)``; ``ReduceLROnPlateau`` does
  not set it); fastnn does the same, and ``CosineAnnealing`` uses it where
  torch's does (from the step after ``T_max`` on).
- Setting ``opt.lr`` to a new value between calls acts as torch's
  ``param_group["lr"] = value``: the next epoch trains at that value and the
  schedule goes on from it.
- Giving an optimizer a schedule equal to the one it has (same type and
  settings) changes nothing: the schedule goes on.
- Without a schedule (``opt.schedule = None``) the optimizer trains at
  ``opt.lr``.
- ``partial_fit`` has no epochs: it trains at the current rate and does not
  step the schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._validation import check_float, check_int

__all__ = [
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "CosineAnnealing",
    "ReduceOnPlateau",
]


@dataclass
class Schedule:
    """Base class of the schedules.

    ``step(lr, epoch, metric, state)`` is called after each epoch and returns
    the rate of the next one (torch's ``scheduler.step()``); ``state`` is the
    schedule's own state, begun by ``initial_state()`` and kept with the
    optimizer (numbers only, so that a checkpoint can hold it).
    """

    # whether starting this schedule sets torch's ``initial_lr`` (as every
    # torch scheduler built on ``LRScheduler.__init__`` does)
    sets_initial_lr = False

    def initial_state(self) -> dict:
        """The schedule's own state when it starts."""
        return {}

    def step(self, lr: float, epoch: int, metric: float, state: dict) -> float:
        """The rate of epoch ``epoch`` of the schedule.

        Parameters
        ----------
        lr : float
            The rate of epoch ``epoch - 1`` (torch's ``param_group["lr"]``).
        epoch : int
            Epochs stepped so far, this one included (torch's ``last_epoch``
            after ``step()``), from 1.
        metric : float
            The monitored loss of the epoch that ended.
        state : dict
            The schedule's state, changed in place; ``state["initial_lr"]``
            is torch's ``initial_lr`` when it has been set.
        """
        raise NotImplementedError

    def check_state(self, state: dict) -> None:
        """Raise ValueError if ``state`` (e.g. read from a file) cannot be this
        schedule's."""


@dataclass
class Constant(Schedule):
    """lr_e = lr: the rate never changes (no torch scheduler)."""

    def step(self, lr, epoch, metric, state):
        return lr


@dataclass
class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: torch's ``StepLR``.

    torch's rule (``StepLR.get_lr``): at epoch e > 0 with e % step_size == 0,
    lr_e = lr_(e-1) * gamma; else lr_e = lr_(e-1). Started at lr_0, this is
    lr_e = lr_0 * gamma ** (e // step_size) (its closed form, ``lr``).

    Parameters
    ----------
    step_size : int
        Period of the decay, in epochs (>= 1).
    gamma : float
        Multiplicative factor (> 0).
    """

    step_size: int = 10
    gamma: float = 0.1

    sets_initial_lr = True

    def __post_init__(self):
        check_int(self.step_size, "step_size", 1)
        check_float(self.gamma, "gamma", low=0.0, low_open=True)

    def step(self, lr, epoch, metric, state):
        return lr * self.gamma if epoch % self.step_size == 0 else lr

    def lr(self, base_lr: float, epoch: int, state: dict | None = None) -> float:
        """lr_e = base_lr * gamma ** (e // step_size) (torch's closed form)."""
        return base_lr * self.gamma ** (epoch // self.step_size)


@dataclass
class ExponentialDecay(Schedule):
    """Multiply the rate by ``gamma`` every epoch: torch's ``ExponentialLR``.

    torch's rule (``ExponentialLR.get_lr``): lr_e = lr_(e-1) * gamma; started
    at lr_0, lr_e = lr_0 * gamma ** e up to rounding (``lr``).

    Parameters
    ----------
    gamma : float
        Multiplicative factor (> 0).
    """

    gamma: float = 0.95

    sets_initial_lr = True

    def __post_init__(self):
        check_float(self.gamma, "gamma", low=0.0, low_open=True)

    def step(self, lr, epoch, metric, state):
        return lr * self.gamma

    def lr(self, base_lr: float, epoch: int, state: dict | None = None) -> float:
        """lr_e = base_lr * gamma ** e (torch's closed form)."""
        return base_lr * self.gamma**epoch


@dataclass
class CosineAnnealing(Schedule):
    """Cosine annealing from the rate down to ``eta_min`` over ``T_max``
    epochs: torch's ``CosineAnnealingLR``, by its recursive rule.

    torch's rule (``CosineAnnealingLR.get_lr``, as its documentation writes
    it), with eta_max torch's ``initial_lr``::

        lr_e = eta_min + (lr_(e-1) - eta_min) * (1 + cos(pi e / T_max))
                                              / (1 + cos(pi (e - 1) / T_max))
        lr_e = lr_(e-1) + (eta_max - eta_min) * (1 - cos(pi / T_max)) / 2
                          where (e - 1 - T_max) % (2 T_max) == 0

    Started at eta_max this is, up to rounding, the closed form
    ``eta_min + (eta_max - eta_min) (1 + cos(pi e / T_max)) / 2`` (``lr``),
    which goes on past T_max along the cosine (no restart).

    Parameters
    ----------
    T_max : int
        Epochs of a half period (>= 1).
    eta_min : float
        The lowest rate (>= 0).
    """

    T_max: int = 50
    eta_min: float = 0.0

    sets_initial_lr = True

    def __post_init__(self):
        check_int(self.T_max, "T_max", 1)
        check_float(self.eta_min, "eta_min", low=0.0)

    def step(self, lr, epoch, metric, state):
        if (epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return (
                lr + (state["initial_lr"] - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
            )
        return (1 + math.cos(math.pi * epoch / self.T_max)) / (
            1 + math.cos(math.pi * (epoch - 1) / self.T_max)
        ) * (lr - self.eta_min) + self.eta_min

    def lr(self, base_lr: float, epoch: int, state: dict | None = None) -> float:
        """lr_e = eta_min + (base_lr - eta_min) (1 + cos(pi e / T_max)) / 2
        (torch's closed form)."""
        return (
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        )


@dataclass
class ReduceOnPlateau(Schedule):
    """Cut the rate when the monitored loss stops improving: torch's
    ``ReduceLROnPlateau``, with its arguments and defaults.

    torch's rule (``ReduceLROnPlateau.step``), after each epoch with the
    monitored value ``a``: ``a`` is better than ``best`` when
    ``a < best * (1 - threshold)`` (mode "min", threshold_mode "rel"),
    ``a < best - threshold`` ("min", "abs"), ``a > best * (1 + threshold)``
    ("max", "rel") or ``a > best + threshold`` ("max", "abs"); then::

        better:           best = a, bad_epochs = 0      else: bad_epochs += 1
        in cooldown:      cooldown_left -= 1, bad_epochs = 0
        bad_epochs > patience:
            new = max(lr * factor, min_lr); lr = new if lr - new > eps
            cooldown_left = cooldown, bad_epochs = 0

    So the rate never rises (one below ``min_lr`` stays as it is) and changes
    smaller than ``eps`` are not made. ``fit`` monitors the validation loss
    when there is validation data, else the epoch's training loss
    (``History.loss``).

    Parameters
    ----------
    mode : {"min", "max"}
    factor : float
        In (0, 1).
    patience : int
        Bad epochs tolerated before a cut (>= 0).
    threshold : float
    threshold_mode : {"rel", "abs"}
    cooldown : int
        Epochs after a cut during which bad epochs are not counted.
    min_lr : float
    eps : float
    """

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    cooldown: int = 0
    min_lr: float = 0.0
    mode: str = "min"
    threshold_mode: str = "rel"
    eps: float = 1e-8

    def __post_init__(self):
        check_float(self.factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
        check_int(self.patience, "patience", 0)
        check_float(self.threshold, "threshold", low=0.0)
        check_int(self.cooldown, "cooldown", 0)
        check_float(self.min_lr, "min_lr", low=0.0)
        check_float(self.eps, "eps", low=0.0)
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {self.threshold_mode!r}")

    def initial_state(self) -> dict:
        return {
            "best": math.inf if self.mode == "min" else -math.inf,
            "bad_epochs": 0,
            "cooldown_left": 0,
        }

    def is_better(self, a: float, best: float) -> bool:
        """torch's ``_is_better``."""
        if self.mode == "min":
            return a < (
                best * (1.0 - self.threshold)
                if self.threshold_mode == "rel"
                else best - self.threshold
            )
        return a > (
            best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold
        )

    def step(self, lr, epoch, metric, state):
        if self.is_better(metric, state["best"]):
            state["best"] = metric
            state["bad_epochs"] = 0
        else:
            state["bad_epochs"] += 1
        if state["cooldown_left"] > 0:
            state["cooldown_left"] -= 1
            state["bad_epochs"] = 0
        if state["bad_epochs"] > self.patience:
            new = max(lr * self.factor, self.min_lr)
            if lr - new > self.eps:
                lr = new
            state["cooldown_left"] = self.cooldown
            state["bad_epochs"] = 0
        return lr

    def check_state(self, state: dict) -> None:
        best = state.get("best")
        if isinstance(best, bool) or not isinstance(best, (int, float)) or math.isnan(best):
            raise ValueError(f"best must be a number, got {best!r}")
        for key in ("bad_epochs", "cooldown_left"):
            value = state.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} must be a count >= 0, got {value!r}")


SCHEDULES = {
    cls.__name__: cls
    for cls in (Constant, StepDecay, ExponentialDecay, CosineAnnealing, ReduceOnPlateau)
}
