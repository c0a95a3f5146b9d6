"""Learning-rate schedules, applied once per epoch.

A schedule is attached to an optimizer (``SGD(lr=0.1, schedule=StepDecay(10))``)
and turns the optimizer's base ``lr`` into the rate of each epoch. The
formulas are those of ``torch.optim.lr_scheduler`` (``StepLR``,
``ExponentialLR``, ``CosineAnnealingLR``'s closed form, ``ReduceLROnPlateau``).
Where the schedule stands (its epoch, and for the plateau rule its best value
and patience count) is kept with the optimizer's state for each network, so
a checkpoint resumes it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._validation import check_float, check_int

__all__ = ["Schedule", "Constant", "StepDecay", "ExponentialDecay", "CosineAnnealing",
           "ReduceOnPlateau"]


@dataclass
class Schedule:
    """Base class: ``lr(base_lr, epoch, state)`` gives the rate of an epoch."""

    def initial_state(self) -> dict:
        return {}

    def lr(self, base_lr: float, epoch: int, state: dict) -> float:
        raise NotImplementedError

    def observe(self, base_lr: float, epoch: int, metric: float, state: dict) -> None:
        """Called after each epoch with the monitored loss."""


@dataclass
class Constant(Schedule):
    """lr_e = lr"""

    def lr(self, base_lr, epoch, state):
        return base_lr


@dataclass
class StepDecay(Schedule):
    """lr_e = lr * gamma ** (e // step_size)   (torch's StepLR)"""

    step_size: int = 10
    gamma: float = 0.1

    def __post_init__(self):
        check_int(self.step_size, "step_size", 1)
        check_float(self.gamma, "gamma", low=0.0, low_open=True)

    def lr(self, base_lr, epoch, state):
        return base_lr * self.gamma ** (epoch // self.step_size)


@dataclass
class ExponentialDecay(Schedule):
    """lr_e = lr * gamma ** e   (torch's ExponentialLR)"""

    gamma: float = 0.95

    def __post_init__(self):
        check_float(self.gamma, "gamma", low=0.0, low_open=True)

    def lr(self, base_lr, epoch, state):
        return base_lr * self.gamma**epoch


@dataclass
class CosineAnnealing(Schedule):
    """lr_e = eta_min + (lr - eta_min) (1 + cos(pi e / T_max)) / 2

    (the closed form of torch's CosineAnnealingLR; after T_max epochs it
    keeps following the cosine, as torch's closed form does)."""

    T_max: int = 50
    eta_min: float = 0.0

    def __post_init__(self):
        check_int(self.T_max, "T_max", 1)
        check_float(self.eta_min, "eta_min", low=0.0)

    def lr(self, base_lr, epoch, state):
        return self.eta_min + (base_lr - self.eta_min) * (
            1 + math.cos(math.pi * epoch / self.T_max)) / 2


@dataclass
class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when the monitored loss has not
    improved for ``patience`` epochs (torch's ReduceLROnPlateau, mode "min",
    relative threshold). The monitored loss is the validation loss when
    there is validation data, else the training loss."""

    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    cooldown: int = 0
    min_lr: float = 0.0

    def __post_init__(self):
        check_float(self.factor, "factor", low=0.0, high=1.0, low_open=True, high_open=True)
        check_int(self.patience, "patience", 0)
        check_float(self.threshold, "threshold", low=0.0)
        check_int(self.cooldown, "cooldown", 0)
        check_float(self.min_lr, "min_lr", low=0.0)

    def initial_state(self) -> dict:
        return {"best": math.inf, "bad_epochs": 0, "cooldown_left": 0, "scale": 1.0}

    def lr(self, base_lr, epoch, state):
        return max(base_lr * state["scale"], self.min_lr)

    def observe(self, base_lr, epoch, metric, state):
        if metric < state["best"] * (1 - self.threshold):
            state["best"] = metric
            state["bad_epochs"] = 0
        else:
            state["bad_epochs"] += 1
        if state["cooldown_left"] > 0:
            state["cooldown_left"] -= 1
            state["bad_epochs"] = 0
        if state["bad_epochs"] > self.patience:
            state["scale"] *= self.factor
            state["cooldown_left"] = self.cooldown
            state["bad_epochs"] = 0


SCHEDULES = {cls.__name__: cls for cls in
             (Constant, StepDecay, ExponentialDecay, CosineAnnealing, ReduceOnPlateau)}
