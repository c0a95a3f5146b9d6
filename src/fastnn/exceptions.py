"""What fastnn raises and warns about training, in one place."""

from __future__ import annotations

__all__ = ["TrainingDiverged", "DivergenceWarning", "ConvergenceWarning"]


class TrainingDiverged(ValueError):
    """The loss became non-finite; ``step`` is the 1-based step where it did.
    The network and the optimizer were restored to their state before the call."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


class DivergenceWarning(RuntimeWarning):
    """Training finished, but its loss grew by orders of magnitude: the
    model is unlikely to be of use (see ``History.warn_if_blown_up``)."""


class ConvergenceWarning(UserWarning):
    """Training stopped before it converged (the perceptron still made
    mistakes in its last epoch, or an estimator reached max_iter)."""
