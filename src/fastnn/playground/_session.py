"""One playground run: a model, its optimizer, and one training tick at a time.

Each browser tab owns one :class:`Run`. It trains through the same public
API a user calls: ``Sequential.fit`` (full batch) and ``partial_fit``
(mini-batch and online; the rows come from a new permutation each epoch,
drawn from the run's seed) with their ``History.step_loss``, and for
Hubble's galaxies ``RegressionMachine.fit`` with its ``path``. The views'
data (decision regions, the network's edges, the digits' probabilities, the
error surface E(a, b)) are computed here as plain arrays, so they can be
tested without a browser.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

from ..exceptions import DivergenceWarning, TrainingDiverged
from ..layers import Dense, Dropout
from ..network import Sequential
from ..optim import SGD, AdaGrad, Adam, Optimizer, RMSprop
from ..regression import RegressionMachine
from . import _data
from ._state import Settings

__all__ = ["Run", "make_optimizer", "make_network", "RESTART_ON", "MAX_ROWS_PER_FRAME"]

# Settings that change the data or the network: changing one starts afresh.
RESTART_ON = ("dataset", "hidden", "activation", "dropout", "noise", "test", "seed")
MAX_ROWS_PER_FRAME = 200_000  # rows passed through the network in one tick
TICK_BUDGET_S = 0.025  # a tick takes about this long at most, as measured so far
MAX_CURVE = 2000  # points kept of a loss curve (halved, every other, when full)
HUBBLE_MAX_STEPS = 20_000  # the regression machine's run is replayed from (0, 0)
ACCURACY_EVERY = 10  # ticks between two scores of the held-out rows
GRID = 60  # the decision regions' grid: GRID x GRID predictions per frame
DIGITS_SHOWN = 8  # test images shown with their probability bars
_GROWING = 10.0  # a loss this many times its starting value is diverging

# the lecture's palette (fastnn.plot): blue for negative, red for positive weights
NEGATIVE, POSITIVE = "#1f77b4", "#d62728"


def make_optimizer(settings: Settings) -> Optimizer:
    """The optimizer a setting names, with ``lr`` and ``l2`` (as weight decay)."""
    lr, wd = settings.lr, settings.l2
    name = settings.optimizer
    if name == "sgd":
        return SGD(lr=lr, weight_decay=wd)
    if name == "momentum":
        return SGD(lr=lr, momentum=0.9, weight_decay=wd)
    if name == "nesterov":
        return SGD(lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
    if name == "adagrad":
        return AdaGrad(lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return RMSprop(lr=lr, weight_decay=wd)
    if name == "adam":
        return Adam(lr=lr, weight_decay=wd)
    raise ValueError(f"unknown optimizer {name!r}")


def make_network(settings: Settings, n_in: int) -> Sequential:
    """The network of ``settings``: its hidden layers, then the output layer.

    The 2-D sets end in one sigmoid unit (binary cross-entropy), the digits
    in ten softmax units (cross-entropy). With ``dropout > 0`` a
    ``Dropout`` follows each hidden layer.
    """
    layers: list[Any] = []
    width = n_in
    for units in settings.hidden:
        layers.append(Dense(width, units, activation=settings.activation))
        if settings.dropout > 0:
            layers.append(Dropout(settings.dropout))
        width = units
    if settings.dataset == "digits":
        layers.append(Dense(width, 10, activation="softmax"))
        loss = "cross_entropy"
    else:
        layers.append(Dense(width, 1, activation="sigmoid"))
        loss = "binary_cross_entropy"
    return Sequential(layers, loss=loss, seed=settings.seed)


class Run:
    """A model learning live, one tick (a few to a few thousand steps) at a time.

    Parameters
    ----------
    settings : Settings
        The data set, network, optimizer and speed.

    Attributes
    ----------
    step : int
        Gradient steps taken so far.
    steps, train_loss, test_loss : list
        The loss curves: after each tick, the step count, the mean of that
        tick's step losses (each on its batch, before its update) and the
        loss on the held-out rows (NaN without any).
    status : str
        ``"ok"``, ``"growing"`` (the loss is rising far above its start),
        ``"diverged"`` (the loss became infinite: training stopped and the
        weights of the last finite step are kept) or ``"limit"`` (Hubble's
        run reached its step limit).
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self.data = _data.load(settings)
        self.step = 0
        self.status = "ok"
        self.diverged_at: int | None = None
        self.steps: list[int] = []
        self.train_loss: list[float] = []
        self.test_loss: list[float] = []
        self.curve_restarted = True  # the curves were replaced, not extended
        self.net: Sequential | None = None
        self.machine: RegressionMachine | None = None
        self._rng = np.random.default_rng(settings.seed + 2)
        self._order = np.empty(0, dtype=np.intp)  # rows still to visit this epoch
        self._step_seconds: float | None = None  # time per step of the last tick
        self._ticks = 0  # ticks that trained
        self._train_accuracy = math.nan  # of the last tick's rows (History.accuracy)
        self._test_accuracy = math.nan
        self._test_accuracy_tick: int | None = None  # the tick it was scored at
        if settings.dataset == "hubble":
            self.machine = RegressionMachine(seed=settings.seed)
            self.machine.fit(self.data.X_train[:, 0], self.data.y_train, steps=0)
            self._record(self.machine.loss(0.0, 0.0), math.nan)
        else:
            self.net = make_network(settings, self.data.X_train.shape[1])
            self._y_train = self._targets(self.data.y_train)
            self._y_test = self._targets(self.data.y_test)
            self.optimizer = make_optimizer(settings)
            self._record(self._evaluate_train(), self._evaluate_test())
        self._grid = self._make_grid() if settings.dataset in _data.PLANE_SETS else None

    # ------------------------------------------------------------ settings
    def retune(self, settings: Settings) -> None:
        """Take new learning rate, optimizer, L2, batch or speed and keep the weights.

        A new optimizer (or L2) starts with fresh optimizer state; a new
        learning rate keeps it. Settings in :data:`RESTART_ON` need a new
        ``Run`` instead.

        Raises
        ------
        ValueError
            If ``settings`` differ in one of :data:`RESTART_ON`.
        """
        changed = [n for n in RESTART_ON if getattr(settings, n) != getattr(self.settings, n)]
        if changed:
            raise ValueError(f"{', '.join(changed)} changed: start a new Run")
        old, self.settings = self.settings, settings
        if self.net is not None:
            if (settings.optimizer, settings.l2) != (old.optimizer, old.l2):
                self.optimizer = make_optimizer(settings)
            else:
                self.optimizer.lr = settings.lr
        self.status, self.diverged_at = "ok", None
        if self.machine is not None:  # the path is replayed with the new settings
            so_far, self.step = self.step, 0
            self.tick(so_far)

    # ------------------------------------------------------------ training
    @property
    def batch_size(self) -> int | None:
        """Rows per step: None for full batch, at most the training rows."""
        b = self.settings.batch
        return None if b is None else min(b, len(self.data.X_train))

    @property
    def loss(self) -> float:
        """The latest training loss (the last tick's mean step loss)."""
        return self.train_loss[-1]

    def tick(self, steps: int | None = None) -> int:
        """Train ``steps`` gradient steps (default: the speed setting).

        Returns the number of steps taken: fewer when the steps would pass
        more than MAX_ROWS_PER_FRAME rows or, at the pace of the last tick,
        take longer than TICK_BUDGET_S; none when the loss became infinite
        (the run then stops, ``status == "diverged"``) or Hubble's run reached
        its limit. Never raises on a bad learning rate.
        """
        steps = self.settings.speed if steps is None else int(steps)
        if steps <= 0 or self.status in ("diverged", "limit"):
            return 0
        if self.machine is not None:
            return self._tick_machine(steps)
        X, y = self.data.X_train, self._y_train
        bs = self.batch_size
        rows_per_step = len(X) if bs is None else bs
        steps = max(1, min(steps, MAX_ROWS_PER_FRAME // rows_per_step, self._affordable_steps()))
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DivergenceWarning)
                if bs is None:
                    hist = self.net.fit(X, y, epochs=steps, optimizer=self.optimizer, shuffle=False)
                else:
                    rows = self._next_rows(steps * bs)
                    hist = self.net.partial_fit(X[rows], y[rows], self.optimizer, batch_size=bs)
        except TrainingDiverged as exc:
            # the engine restored the weights of before this tick
            self.status, self.diverged_at = "diverged", self.step + exc.step
            return 0
        losses = np.asarray(hist.step_loss)
        self._step_seconds = (time.perf_counter() - started) / len(losses)
        self._ticks += 1
        self._train_accuracy = hist.accuracy[-1]
        self.step += len(losses)
        self._record(float(losses.mean()), self._evaluate_test())
        self._check_growth()
        return len(losses)

    def _affordable_steps(self) -> int:
        """Steps that fit in TICK_BUDGET_S at the speed of the last tick (the
        server stays responsive for every tab, whatever the machine's load)."""
        if self._step_seconds is None:
            return 1 << 30
        return max(1, int(TICK_BUDGET_S / max(self._step_seconds, 1e-9)))

    def _tick_machine(self, steps: int) -> int:
        """Replay the regression machine from (0, 0) for the steps so far plus ``steps``."""
        m, x, v = self.machine, self.data.X_train[:, 0], self.data.y_train
        total = min(self.step + steps, HUBBLE_MAX_STEPS)
        s = self.settings
        opt = make_optimizer(s)
        try:
            m.fit(x, v, steps=total, batch_size=s.batch, optimizer=opt)
        except TrainingDiverged as exc:
            total = exc.step - 1  # the path up to the last finite step
            m.fit(x, v, steps=total, batch_size=s.batch, optimizer=make_optimizer(s))
            self.status, self.diverged_at = "diverged", exc.step
        taken, self.step = total - self.step, total
        losses = m.loss_history  # (total,) E on each step's batch, before its update
        keep = _thin(len(losses), MAX_CURVE)
        self.steps = [0, *(keep + 1).tolist()]
        self.train_loss = [m.loss(0.0, 0.0), *losses[keep].tolist()]
        self.test_loss = [math.nan] * len(self.steps)
        self.curve_restarted = True
        if self.status == "ok" and total >= HUBBLE_MAX_STEPS:
            self.status = "limit"
        self._check_growth()
        return taken

    def _next_rows(self, n: int) -> np.ndarray:
        """The next ``n`` rows of a stream of permutations (an epoch each)."""
        parts, need = [], n
        while need > 0:
            if len(self._order) == 0:
                self._order = self._rng.permutation(len(self.data.X_train))
            take, self._order = self._order[:need], self._order[need:]
            parts.append(take)
            need -= len(take)
        return np.concatenate(parts)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if self.settings.dataset == "digits":
            return y
        return y.reshape(-1, 1).astype(np.float64)  # (n, 1) for the sigmoid unit

    def _evaluate_train(self) -> float:
        return self.net.evaluate(self.data.X_train, self._y_train)

    def _evaluate_test(self) -> float:
        if self.net is None or len(self.data.X_test) == 0:
            return math.nan
        return self.net.evaluate(self.data.X_test, self._y_test)

    def _record(self, train: float, test: float) -> None:
        self.curve_restarted = len(self.steps) >= MAX_CURVE
        if self.curve_restarted:  # keep every other point: the curve stays whole
            self.steps, self.train_loss = self.steps[::2], self.train_loss[::2]
            self.test_loss = self.test_loss[::2]
        self.steps.append(self.step)
        self.train_loss.append(float(train))
        self.test_loss.append(float(test))

    def _check_growth(self) -> None:
        start, now = self.train_loss[0], self.train_loss[-1]
        if self.status == "ok" and math.isfinite(now) and now > _GROWING * start:
            self.status = "growing"

    def title(self) -> str:
        """The browser tab's title: ``fastnn · step 120 · loss 0.231``."""
        if self.status == "diverged":
            return f"fastnn · step {self.step} · diverged"
        return f"fastnn · step {self.step} · loss {self.loss:.4g}"

    # --------------------------------------------------------------- views
    def accuracy(self) -> tuple[float, float]:
        """(training, test) accuracy of a classifier (NaN where there are no rows).

        Training accuracy is that of the last tick's rows, each scored by its
        step before its update (``History.accuracy``, counted in the compiled
        loop); before any training, and on the held-out rows, it is
        ``Sequential.score``. The held-out score is refreshed every
        ACCURACY_EVERY ticks (a forward pass over all those rows).
        """
        if self.net is None:
            return math.nan, math.nan
        if math.isnan(self._train_accuracy):
            self._train_accuracy = self.net.score(self.data.X_train, self._y_train)
        stale = self._test_accuracy_tick is None or (
            self._ticks - self._test_accuracy_tick >= ACCURACY_EVERY
        )
        if stale:
            self._test_accuracy_tick = self._ticks
            self._test_accuracy = (
                self.net.score(self.data.X_test, self._y_test)
                if len(self.data.X_test)
                else math.nan
            )
        return self._train_accuracy, self._test_accuracy

    def _make_grid(self) -> np.ndarray:
        low, high = self.data.extent
        ticks = np.linspace(low, high, GRID)
        gx, gy = np.meshgrid(ticks, ticks)  # rows follow y, columns x (as an image)
        return np.column_stack([gx.ravel(), gy.ravel()])  # (GRID * GRID, 2)

    def regions(self) -> np.ndarray:
        """P(class 1) on the view's grid, shape (GRID, GRID): row i is the i-th y."""
        if self._grid is None:
            raise ValueError("decision regions exist for the 2-D sets only")
        return self.net.predict(self._grid)[:, 0].reshape(GRID, GRID)

    def network_layout(self) -> dict[str, np.ndarray]:
        """Where the lecture draws each neuron and each weight (fixed for a run).

        Returns ``x``, ``y`` of the neurons, layer by layer, and ``x0, y0,
        x1, y1`` of one edge per weight, in the order of :meth:`edge_style`.
        """
        dense = [layer for layer in self.net.layers if layer.W is not None]
        sizes = [dense[0].n_in] + [layer.n_out for layer in dense]
        ys = [_spread(k) for k in sizes]
        nx = np.concatenate([np.full(k, float(i)) for i, k in enumerate(sizes)])
        ny = np.concatenate(ys)
        x0, y0, x1, y1 = [], [], [], []
        for i in range(len(dense)):
            a, b = ys[i], ys[i + 1]  # W[j, k] joins neuron j of layer i to k of i + 1
            y0.append(np.repeat(a, len(b)))
            y1.append(np.tile(b, len(a)))
            x0.append(np.full(len(a) * len(b), float(i)))
            x1.append(np.full(len(a) * len(b), float(i + 1)))
        cat = np.concatenate
        return {"x": nx, "y": ny, "x0": cat(x0), "y0": cat(y0), "x1": cat(x1), "y1": cat(y1)}

    def edge_style(self) -> dict[str, np.ndarray]:
        """Each weight's sign (+1 drawn red, -1 blue), line width and alpha.

        Width and alpha grow with the weight's size relative to the largest
        weight of the network: 0.3 to 4 pixels, 0.15 to 1.
        """
        W = np.concatenate([layer.W.ravel() for layer in self.net.layers if layer.W is not None])
        size = np.abs(W) / max(float(np.abs(W).max()), 1e-12)
        return {
            "sign": np.where(W >= 0, 1.0, -1.0),
            "width": 0.3 + 3.7 * size,
            "alpha": 0.15 + 0.85 * size,
        }

    def digits_shown(self) -> np.ndarray:
        """Which test rows are shown: the first test image of each digit 0, 1, ..."""
        y = self.data.y_test
        rows = [int(np.flatnonzero(y == d)[0]) for d in range(10) if np.any(y == d)]
        return np.array(rows[:DIGITS_SHOWN], dtype=np.intp)

    def digits_probabilities(self) -> np.ndarray:
        """Predicted probabilities of the shown test images, shape (DIGITS_SHOWN, 10)."""
        return self.net.predict(self.data.X_test[self.digits_shown()])

    def surface(self, n: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E(a, b) on an n x n grid around the path: (a values, b values, E of shape (n, n))."""
        a_best, b_best = self.machine.closed_form()
        a = np.linspace(-0.3 * a_best, 1.6 * a_best, n)
        b = np.linspace(b_best - 1.2 * a_best, b_best + 1.2 * a_best, n)
        ga, gb = np.meshgrid(a, b)
        return a, b, self.machine.loss(ga, gb)

    def path(self) -> np.ndarray:
        """(a, b) from the start through every step, shape (k, 2).

        Thinned to at most MAX_CURVE points; a diverging path ends at its
        first point beyond 1000 times the size of the minimum's (a, b): the
        ball has left the map, and a browser cannot draw 1e150.
        """
        p = np.vstack([np.zeros((1, 2)), self.machine.path])
        far = 1000 * max(np.abs(self.machine.closed_form()))
        out = np.flatnonzero(np.abs(p).max(axis=1) > far)
        if len(out):
            p = p[: out[0] + 1]
        return p[np.r_[_thin(len(p) - 1, MAX_CURVE), len(p) - 1]] if len(p) > 1 else p


def _spread(k: int) -> np.ndarray:
    """Heights of k neurons of a layer, centred on 0.5."""
    gap = min(0.25, 1.0 / k)
    return 0.5 + (np.arange(k) - (k - 1) / 2) * gap


def _thin(n: int, most: int) -> np.ndarray:
    """At most ``most`` indices of range(n), evenly spread, the last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.intp))
