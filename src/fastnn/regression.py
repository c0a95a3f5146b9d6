"""The regression machine ŷ = a·x + b, fitted by rolling down E(a, b).

It is the smallest network there is: one input, one output, no activation,
trained by the engine on the mean squared error

    E(a, b) = mean over the data of (a·x + b − y)²      (no factor ½)

starting from a = b = 0. Every step is recorded, so the path down the
error surface can be drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _training
from ._validation import _EMPTY_LABELS, check_float, check_int, check_points
from .history import History
from .layers import Dense
from .network import Sequential
from .optim import SGD, Optimizer

__all__ = ["RegressionMachine", "steps_within"]


def steps_within(losses, e_min: float, tol: float = 0.01) -> int | None:
    """The first step (1-based) from which the loss stays within ``tol``
    (relative) of ``e_min`` to the end of the run; None if it is not within
    at the end."""
    above = np.nonzero(np.asarray(losses) > (1.0 + tol) * e_min)[0]
    if len(above) == 0:
        return 1
    if above[-1] == len(losses) - 1:
        return None
    return int(above[-1]) + 2


class _ZeroDense(Dense):
    """Dense whose weights start at zero: the machine's a = b = 0 (it is
    saved and read back as a Dense)."""

    def init_params(self, rng: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((self.n_in, self.n_out)), np.zeros(self.n_out)


class RegressionMachine:
    """ŷ = a·x + b trained by gradient descent on E(a, b).

    Parameters
    ----------
    seed : int
        Seeds the order in which mini-batches visit the points.

    Attributes
    ----------
    a, b : float
        The current dials.
    loss_history : ndarray of shape (steps,)
        E on each step's batch, before that step's update.
    path : ndarray of shape (steps, 2)
        (a, b) after each step; the start (0, 0) is ``start``.
    """

    start = (0.0, 0.0)

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.net = Sequential([_ZeroDense(1, 1)], loss="mse", dtype="float64", seed=seed)
        self._rng_start = self.net._rng_state.copy()  # every fit draws the same batches
        self.loss_history = np.empty(0)
        self.path = np.empty((0, 2))
        self.history: History | None = None
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    @property
    def a(self) -> float:
        return float(self.net.layers[0].W[0, 0])

    @property
    def b(self) -> float:
        return float(self.net.layers[0].b[0])

    def fit(
        self,
        x,
        y,
        lr: float = 0.1,
        steps: int = 1000,
        batch_size: int | None = None,
        optimizer: Optimizer | None = None,
    ) -> RegressionMachine:
        """Take ``steps`` gradient steps from a = b = 0.

        ``batch_size=None`` uses all points per step (full batch); ``1`` is
        online learning; ``M`` draws a new permutation of the points each
        epoch and steps through it M at a time. ``optimizer`` replaces plain
        gradient descent ``SGD(lr)`` (for comparing optimizers on E(a, b)).
        """
        x, y = check_points(x, y)
        steps = check_int(steps, "steps", 0)
        if optimizer is None:
            optimizer = SGD(lr=check_float(lr, "lr", low=0.0, low_open=True))
        self.net.params[...] = 0.0  # a fresh start: a = b = 0
        self.net._rng_state[...] = self._rng_start
        self._x, self._y = x, y
        n = len(x)
        bs = n if batch_size is None else min(check_int(batch_size, "batch_size", 1), n)
        epochs = -(-steps // -(-n // bs))
        self.net._check_optimizer(optimizer)
        # x and y are checked (finite float64): straight to the compiled loop
        X, Y = np.ascontiguousarray(x).reshape(-1, 1), np.ascontiguousarray(y).reshape(-1, 1)
        done = _training.run(
            self.net,
            X,
            _EMPTY_LABELS,
            Y,
            epochs,
            bs,
            optimizer,
            batch_size is not None,
            record_params=True,
            max_steps=steps,
        )
        hist, trace = done.history, done.trace
        self.history = hist
        self.loss_history = hist._step_loss_array
        self.path = trace  # params are [a (W), b]: (steps, 2)
        return self

    # ------------------------------------------------------------ the surface
    def _data(self) -> tuple[np.ndarray, np.ndarray]:
        if self._x is None:
            raise ValueError("fit the machine first: the error surface is that of its data")
        return self._x, self._y

    def loss(self, a, b):
        """E(a, b) on the fitted data (a and b may be arrays of equal shape)."""
        x, y = self._data()
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        r = a[..., None] * x + b[..., None] - y
        out = np.mean(r * r, axis=-1)
        return float(out) if out.ndim == 0 else out

    def predict(self, x) -> np.ndarray:
        return self.a * np.asarray(x, dtype=float) + self.b

    def closed_form(self) -> tuple[float, float]:
        """The (a, b) at the bottom of E: ordinary least squares."""
        x, y = self._data()
        xm, ym = x.mean(), y.mean()
        a = np.sum((x - xm) * (y - ym)) / np.sum((x - xm) ** 2)
        return float(a), float(ym - a * xm)

    def through_origin(self) -> float:
        """The slope of the best line through the origin (b = 0)."""
        x, y = self._data()
        return float(np.sum(x * y) / np.sum(x * x))

    def hessian(self) -> np.ndarray:
        """The (constant) Hessian of E(a, b): 2 [[mean x², mean x], [mean x, 1]]."""
        x, _ = self._data()
        return 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])

    def stability_limit(self) -> float:
        """Full-batch gradient descent converges for lr < 2 / λmax(Hessian)."""
        return float(2 / np.linalg.eigvalsh(self.hessian()).max())

    def __repr__(self) -> str:
        return f"RegressionMachine(a={self.a:.4g}, b={self.b:.4g})"
