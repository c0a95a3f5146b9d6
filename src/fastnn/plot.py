"""The lecture's figures, one function each.

Every function draws on a new :class:`matplotlib.figure.Figure` and returns
it: nothing is shown and pyplot's global state is never touched, so the
functions work the same in a script, a notebook (a returned figure displays
itself) and on a server without a display. Save with ``fig.savefig(path)``.

Each works on its own with a user's own model or data, and takes what fastnn
returns as it comes: a ``History`` (or a list of them), a ``Sequential``, a
fitted estimator or ``Perceptron``, a ``RegressionMachine``, a result of
:mod:`fastnn.models`; anything else is refused with a ``TypeError`` or
``ValueError`` that names it:

- :func:`digit_image`: an 8x8 image as the numbers it is made of
- :func:`regression_fit`: data, the fitted line and the line through the origin
- :func:`loss_surface`: the error E(a, b) as a contour map, with the
  gradient-descent paths rolling down into its minimum
- :func:`loss_per_step`: the loss of every gradient step, for several runs
- :func:`gate_decision_lines`: McCulloch-Pitts neurons and their decision lines
- :func:`perceptron_lines`: the lines a perceptron learned (or failed to)
- :func:`decision_regions`: the regions of a 2-D classifier
- :func:`network_drawing`: a network as circles and weighted edges
- :func:`probability_bars`: digit images with their predicted probabilities
- :func:`confusion_matrix`: true against predicted classes, with counts
- :func:`conv_filters`: the kernels of a convolution layer as small images
- :func:`feature_maps`: an image and each channel of every image layer
- :func:`optimizer_paths`: several optimizers on one error surface, and how
  many steps each needs to get down
- :func:`loss_surfaces`: error surfaces side by side (e.g. raw and scaled input)
- :func:`learning_curves`: train against held-out curves, one panel per run
- :func:`loss_per_epoch`: the mean training loss of each epoch, several runs
- :func:`activation_histograms`: what each layer outputs, one row per network

and :func:`layer_outputs` gives the output of every layer of a network.

This module imports matplotlib; ``import fastnn`` does not import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch

from .network import History, Sequential
from .regression import RegressionMachine, steps_within

__all__ = [
    "digit_image",
    "regression_fit",
    "loss_surface",
    "loss_per_step",
    "gate_decision_lines",
    "perceptron_lines",
    "decision_regions",
    "network_drawing",
    "probability_bars",
    "confusion_matrix",
    "layer_outputs",
    "conv_filters",
    "feature_maps",
    "optimizer_paths",
    "loss_surfaces",
    "learning_curves",
    "loss_per_epoch",
    "activation_histograms",
]

# One palette for the whole lecture: class 0 / class 1, negative / positive.
CLASS_COLORS = ("#1f77b4", "#ff7f0e")      # blue for 0 (does not fire), orange for 1
NEGATIVE, POSITIVE = "#1f77b4", "#d62728"  # blue for negative weights, red for positive
_REGION_CMAP = LinearSegmentedColormap.from_list(
    "fastnn_regions", ["#c6dbef", "#f7f7f7", "#fdd0a2"])
_PATH_COLORS = ("#d62728", "#ff7f0e", "#6a3d9a", "#1a1a1a", "#e377c2", "#8c564b")
PATH_COLORS = _PATH_COLORS  # the colours of paths and runs, in order (pass as ``colors=``)


def _figure(width: float, height: float) -> Figure:
    """A new standalone figure (not managed by pyplot), laid out without clipping."""
    return Figure(figsize=(width, height), layout="constrained", dpi=100)


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = min(n, 4) if ncols is None else max(1, int(ncols))
    return -(-n // ncols), ncols


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _check_X2(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    return X, y


def _points(ax: Any, X: np.ndarray, y: np.ndarray, size: float = 160) -> None:
    """Scatter 0/1-labelled points: hollow blue circles for 0, filled orange for 1."""
    for label, color in enumerate(CLASS_COLORS):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=size, zorder=3, linewidths=2,
                   facecolors="white" if label == 0 else color, edgecolors=color,
                   label=f"output {label}")


def _signed(w: float) -> str:
    return f"- {abs(w):g}" if w < 0 else f"+ {w:g}"


# ------------------------------------------- what fastnn returns, as figures take it
def _kind(obj: Any) -> str:
    return type(obj).__name__


def _is_numbers(obj: Any) -> bool:
    """True for a list, tuple or array of numbers (a curve), not for a model."""
    if isinstance(obj, (str, bytes, Mapping)) or not isinstance(obj, (Sequence, np.ndarray)):
        return False
    try:
        return np.asarray(obj).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def _named(runs: Any, what: str, single: str, example: str) -> dict:
    """``runs`` as a dict of name to run: a dict as given, one run (a History,
    a model, a list of numbers) as ``{single: run}``, a list of runs numbered."""
    if isinstance(runs, Mapping):
        if not runs:
            raise ValueError(f"{what} is empty: pass e.g. {example}")
        return dict(runs)
    if runs is None:
        raise TypeError(f"{what} is None: pass e.g. {example}")
    if isinstance(runs, (list, tuple)) and runs and not _is_numbers(runs):
        return {f"run {i + 1}": run for i, run in enumerate(runs)}
    if isinstance(runs, (list, tuple, np.ndarray)) and len(runs) == 0:
        raise ValueError(f"{what} is empty: pass e.g. {example}")
    return {single: runs}


def _network(obj: Any, what: str = "net") -> Sequential:
    """The Sequential behind what fastnn returns: a Sequential itself, a fitted
    MLPClassifier, MLPRegressor or Perceptron (``net_``), a RegressionMachine or
    a result of :mod:`fastnn.models` (``net``)."""
    if isinstance(obj, Sequential):
        return obj
    state = getattr(obj, "__dict__", {})
    for attr in ("net_", "net"):
        inner = state.get(attr)
        if isinstance(inner, Sequential):
            return inner
    if hasattr(obj, "get_params") or hasattr(type(obj), "fit"):
        raise ValueError(f"{what}: this {_kind(obj)} is not fitted yet, so it has no network "
                         "to show; call fit first")
    raise TypeError(f"{what} must be a fastnn network (a Sequential, or a fitted estimator, "
                    f"Perceptron or RegressionMachine), got {_kind(obj)}")


def _history_of(run: Any) -> History | None:
    """The History inside what fastnn returns (itself, a RegressionMachine's or a
    fastnn.models result's ``history``), or None."""
    if isinstance(run, History):
        return run
    inner = getattr(run, "__dict__", {}).get("history")
    return inner if isinstance(inner, History) else None


def _curve(values: Any, name: str) -> np.ndarray:
    """A 1-D float array of numbers, or a TypeError naming what was given."""
    if not _is_numbers(values):
        raise TypeError(f"{name} must be a History, a fitted model or a sequence of numbers, "
                        f"got {_kind(values)}")
    return np.asarray(values, dtype=float).reshape(-1)


def _epoch_losses(run: Any, name: str) -> np.ndarray:
    """The mean training loss of each epoch of a run, however fastnn gave it."""
    hist = _history_of(run)
    if hist is not None:
        return np.asarray(hist.loss, dtype=float).reshape(-1)
    if isinstance(run, RegressionMachine):
        raise ValueError(f"run {name!r}: the RegressionMachine is not fitted yet")
    curve = getattr(run, "__dict__", {}).get("loss_curve_")   # a fitted MLP estimator
    if curve is not None:
        return np.asarray(curve, dtype=float).reshape(-1)
    return _curve(run, f"run {name!r}")


def _step_series(run: Any, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(x, loss, updates per epoch) of a run for :func:`loss_per_step`.

    A History gives the loss of update k (before it) at x = k, k = 1..n. A
    RegressionMachine gives E(a, b) on all its data after k steps at x = k,
    k = 0..n: the start, then every step, the last one included.
    """
    if isinstance(run, RegressionMachine):
        if run.history is None:
            raise ValueError(f"run {name!r}: the RegressionMachine is not fitted yet")
        path = np.asarray(run.path, dtype=float).reshape(-1, 2)
        E = np.concatenate([[run.loss(*run.start)],
                            np.asarray(run.loss(path[:, 0], path[:, 1])).reshape(-1)])
        return np.arange(len(E)), E, int(run.history.steps_per_epoch or 0)
    hist = _history_of(run)
    if hist is not None:
        losses = np.asarray(hist.step_loss, dtype=float).reshape(-1)
        per_epoch = int(getattr(hist, "steps_per_epoch", 0) or 0)
    else:
        losses, per_epoch = _curve(run, f"run {name!r}"), 0
    return np.arange(1, len(losses) + 1), losses, per_epoch


def _path(value: Any, name: str) -> np.ndarray:
    """A path of (a, b) as an array (steps, 2): given, or a RegressionMachine's."""
    if isinstance(value, RegressionMachine):
        value = value.path
    try:
        p = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"path {name!r} must be a RegressionMachine or an array of (a, b) "
                        f"pairs, got {_kind(value)}") from None
    if p.size % 2 or (p.ndim == 2 and p.shape[1] != 2) or p.ndim > 2:
        raise ValueError(f"path {name!r} must have shape (steps, 2), got {p.shape}")
    return p.reshape(-1, 2)


def _paths(paths: Any) -> dict:
    """Named paths: a dict of name to path or RegressionMachine, or one of them."""
    if paths is None:
        return {}
    if not isinstance(paths, Mapping):
        paths = {"gradient descent": paths}
    return {name: _path(value, name) for name, value in paths.items()}


def _check_machine(machine: Any, need_minimum: bool = True) -> Any:
    if not (callable(getattr(machine, "loss", None))
            and (callable(getattr(machine, "closed_form", None)) or not need_minimum)):
        raise TypeError("machine must be a fitted RegressionMachine (with loss(a, b) and "
                        f"closed_form()), got {_kind(machine)}")
    return machine


# --------------------------------------------------------------------- data
def digit_image(image: Any, label: Any = None, show_values: bool = True) -> Figure:
    """An image as what the machine sees: a grid of numbers.

    Parameters
    ----------
    image : array-like of shape (h, w) or (h * w,) for a square image
        Pixel values (for the digits, 0..16 ink counts). One row of ``X``
        as a network takes it, (1, h * w) or (1, h, w) or (1, 1, h, w),
        is drawn as that image.
    label : int or str, optional
        The task's answer for this image, shown in the title.
    show_values : bool
        Write each pixel's number in its cell.

    Returns
    -------
    matplotlib.figure.Figure
    """
    img = np.asarray(image, dtype=float)
    while img.ndim > 2 and img.shape[0] == 1:   # (1, h, w), (1, 1, h, w): one sample
        img = img[0]
    if img.ndim == 2 and img.shape[0] == 1 and img.shape[1] > 1:   # one flat row of X
        img = img[0]
    if img.ndim == 1:
        side = int(round(np.sqrt(img.size)))
        if side * side != img.size:
            raise ValueError(f"a 1-D image must have a square number of pixels, got {img.size}")
        img = img.reshape(side, side)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D (h, w) or a flat square image, got shape {img.shape}")
    fig = _figure(5.2, 4.6)
    ax = fig.add_subplot()
    vmax = max(float(img.max()), 1e-12)
    shown = ax.imshow(img, cmap="gray_r", vmin=min(0.0, float(img.min())), vmax=vmax)
    if show_values:
        for (r, c), v in np.ndenumerate(img):
            ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=9,
                    color="white" if v > 0.55 * vmax else "black")
    ax.set_xticks(range(img.shape[1]))
    ax.set_yticks(range(img.shape[0]))
    ax.set_xlabel("pixel column")
    ax.set_ylabel("pixel row")
    title = f"{img.shape[0]}x{img.shape[1]} image = {img.size} numbers"
    if label is not None:
        title += f";  label = {label}"
    ax.set_title(title)
    fig.colorbar(shown, ax=ax, label="pixel value (ink)", shrink=0.9)
    return fig


# --------------------------------------------------------------- regression
def regression_fit(x: Any, y: Any = None, a: Any = None, b: float | None = None,
                   origin_slope: float | bool | None = None,
                   *, xlabel: str = "distance (Mpc)", ylabel: str = "velocity (km/s)",
                   title: str | None = "The regression machine ŷ = a·x + b") -> Figure:
    """The data, the fitted line ŷ = a·x + b and the best line through the origin.

    ``regression_fit(machine)`` draws a fitted ``RegressionMachine`` on its
    own data; ``regression_fit(x, y, machine)`` on the data given; and
    ``regression_fit(x, y, a, b)`` any line.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,), or x a fitted RegressionMachine
        The data (by default labelled as Hubble's distances and velocities).
    a, b : float, or a a fitted RegressionMachine (then b is not given)
        Slope and intercept of the fitted line.
    origin_slope : float or True, optional
        Slope of the line through the origin (``RegressionMachine.through_origin()``),
        drawn dashed when given; True computes it from the data.
    xlabel, ylabel : str
        Axis labels, with units.
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(x, RegressionMachine):
        if y is not None or a is not None or b is not None:
            raise TypeError("regression_fit(machine) takes the data and the line from the "
                            "machine: give no x, y, a or b with it")
        machine = x
        (x, y), a, b = machine._data(), machine.a, machine.b
    if isinstance(a, RegressionMachine):
        if b is not None:
            raise TypeError("regression_fit(x, y, machine) takes a and b from the machine: "
                            "give no b with it")
        a, b = a.a, a.b
    if y is None or a is None or b is None:
        raise TypeError("regression_fit needs x, y and the line: regression_fit(machine), "
                        "regression_fit(x, y, machine) or regression_fit(x, y, a, b)")
    x, y = _as_1d(x, "x"), _as_1d(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y have different lengths: {len(x)} and {len(y)}")
    a, b = float(a), float(b)
    if origin_slope is True:
        origin_slope = float(np.sum(x * y) / np.sum(x * x))
    elif origin_slope is False:
        origin_slope = None
    fig = _figure(6.4, 4.6)
    ax = fig.add_subplot()
    ax.scatter(x, y, s=36, color="0.2", zorder=3, label=f"data ({len(x)} points)")
    lo, hi = min(0.0, float(x.min())), float(x.max())
    xs = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 2)
    ax.plot(xs, a * xs + b, color=POSITIVE, lw=2.2,
            label=f"fit: ŷ = {a:.2f}·x {'-' if b < 0 else '+'} {abs(b):.2f}")
    if origin_slope is not None:
        ax.plot(xs, origin_slope * xs, color=NEGATIVE, lw=2, ls="--",
                label=f"through the origin: ŷ = {origin_slope:.2f}·x")
    ax.axhline(0, color="0.7", lw=0.8, zorder=0)
    ax.axvline(0, color="0.7", lw=0.8, zorder=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def loss_surface(machine: Any, paths: Any = None, *,
                 start: tuple[float, float] = (0.0, 0.0),
                 minimum: tuple[float, float] | None = None,
                 a_range: tuple[float, float] | None = None,
                 b_range: tuple[float, float] | None = None,
                 n_levels: int = 18, resolution: int = 240,
                 a_label: str = "slope a", b_label: str = "intercept b",
                 loss_label: str = "E(a, b)",
                 title: str | None = "Gradient descent rolls down the error surface") -> Figure:
    """Contour map of the error E(a, b) with gradient-descent paths on it.

    Parameters
    ----------
    machine : RegressionMachine
        A fitted machine (anything with ``loss(a, b)`` on arrays; and
        ``closed_form()`` unless ``minimum`` is given).
    paths : dict of str to RegressionMachine or array-like of shape (steps, 2), optional
        Named runs or sequences of (a, b), e.g. ``{"full batch": m}`` or
        ``{"full batch": m.path}``; one run alone is drawn as "gradient
        descent". Default: the machine's own path. A path that does not
        begin at ``start`` is drawn from ``start``.
    start : (float, float)
        Where every run began, marked with a square.
    minimum : (float, float), optional
        The bottom of E, marked with a star; default ``machine.closed_form()``.
    a_range, b_range : (float, float), optional
        Extent of the map; default: the start, the minimum and every path,
        with a margin.
    n_levels : int
        Number of contour lines. Their heights above the minimum are spaced
        evenly on a log scale, so the bottom of the valley gets as many lines
        as its walls.
    resolution : int
        Grid points along each axis.
    a_label, b_label, loss_label : str
        Axis and colour-bar labels (add units for your data).
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_machine(machine, minimum is None)
    if paths is None and len(getattr(machine, "path", ())):
        paths = {"gradient descent": machine.path}
    fig = _figure(7.4, 5.6)
    ax = fig.add_subplot()
    _draw_surface(fig, ax, machine, paths, start=start, minimum=minimum, a_range=a_range,
                  b_range=b_range, n_levels=n_levels, resolution=resolution, a_label=a_label,
                  b_label=b_label, loss_label=loss_label)
    if title:
        ax.set_title(title)
    ax.legend(loc="best", framealpha=0.9, fontsize=9)
    return fig


def _draw_surface(fig: Figure, ax: Any, machine: Any, paths: Any, *,
                  start: tuple[float, float] = (0.0, 0.0),
                  minimum: tuple[float, float] | None = None,
                  a_range: tuple[float, float] | None = None,
                  b_range: tuple[float, float] | None = None,
                  n_levels: int = 18, resolution: int = 240, a_label: str = "slope a",
                  b_label: str = "intercept b", loss_label: str = "E(a, b)",
                  step_label: str = "{n} steps", equal_aspect: bool = False,
                  colors: Sequence[str] = _PATH_COLORS) -> dict:
    """Draw the contour map of ``machine.loss`` and the paths on ``ax``; return
    the paths as drawn (each an array (steps + 1, 2) beginning at ``start``)."""
    _check_machine(machine, minimum is None)
    paths = _paths(paths)
    a_min, b_min = machine.closed_form() if minimum is None else minimum
    minimum = (float(a_min), float(b_min))
    drawn = {}
    for name, path in paths.items():
        p = np.asarray(path, dtype=float).reshape(-1, 2)
        if len(p) == 0 or not np.allclose(p[0], start):
            p = np.vstack([start, p])
        drawn[name] = p
    pts = np.vstack([np.asarray([start, minimum], dtype=float), *drawn.values()])
    pts = pts[np.isfinite(pts).all(axis=1)]

    def extent(col: int, given: tuple[float, float] | None) -> tuple[float, float]:
        if given is not None:
            return float(given[0]), float(given[1])
        lo, hi = float(pts[:, col].min()), float(pts[:, col].max())
        pad = 0.12 * (hi - lo) if hi > lo else 1.0
        return lo - pad, hi + pad

    a_lo, a_hi = extent(0, a_range)
    b_lo, b_hi = extent(1, b_range)
    A, B = np.meshgrid(np.linspace(a_lo, a_hi, resolution), np.linspace(b_lo, b_hi, resolution))
    E = np.asarray(machine.loss(A, B), dtype=float)  # (resolution, resolution)
    e_min = min(float(E.min()), float(machine.loss(*minimum)))
    rise = np.geomspace(max((E.max() - e_min) * 1e-4, 1e-12), E.max() - e_min, n_levels)
    levels = e_min + rise

    filled = ax.contourf(A, B, E, levels=np.concatenate([[e_min], levels]), cmap="YlGnBu",
                         alpha=0.6)
    ax.contour(A, B, E, levels=levels, colors="0.35", linewidths=0.5, alpha=0.6)
    cbar = fig.colorbar(filled, ax=ax, label=loss_label)
    cbar.ax.yaxis.set_major_formatter(_compact_formatter())

    # The first path is drawn on top; long (noisy) paths thin and without markers.
    for i, (name, p) in enumerate(drawn.items()):
        color = colors[i % len(colors)]
        long = len(p) > 150
        ax.plot(p[:, 0], p[:, 1], color=color, lw=0.9 if long else 2.0,
                marker=None if long else "o", ms=4, alpha=0.8 if long else 1.0,
                zorder=4 + len(drawn) - i,
                label=f"{name} ({step_label.format(n=len(p) - 1)})" if step_label else name)
        ax.plot(*p[-1], marker="o", ms=8, color=color, mec="black", ls="none",
                zorder=5 + len(drawn))
    ax.plot(*start, marker="s", ms=10, color="white", mec="black", zorder=20, ls="none",
            label=f"start ({start[0]:g}, {start[1]:g})")
    ax.plot(*minimum, marker="*", ms=20, color="gold", mec="black", zorder=20, ls="none",
            label=f"minimum ({minimum[0]:.2f}, {minimum[1]:.2f})")
    ax.set_xlim(a_lo, a_hi)
    ax.set_ylim(b_lo, b_hi)
    if equal_aspect:
        ax.set_aspect("equal")
    ax.set_xlabel(a_label)
    ax.set_ylabel(b_label)
    return drawn


def _compact_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")


def _running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    i = np.arange(1, len(values) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def loss_per_step(histories: Any, *, smooth: int | None = None,
                  logx: bool = True, xlabel: str = "update number (gradient steps)",
                  ylabel: str = "loss on the step's batch",
                  title: str | None = "Loss at every gradient step",
                  colors: Sequence[str] | None = None, details: bool = True) -> Figure:
    """The loss of every gradient step of several training runs, on log axes.

    Parameters
    ----------
    histories : dict of str to History, RegressionMachine or sequence of float
        Named runs; one run alone (not in a dict) is named "training".
        A ``History`` (what ``fit`` returns) gives the loss of every step,
        on its batch before the update, at update number 1, 2, ...; a
        fitted ``RegressionMachine`` gives E(a, b) on all its data at the
        start (0) and after every step, the last one included; a sequence
        is taken as the losses of steps 1, 2, .... The legend gives each
        run's updates per epoch.
    smooth : int, optional
        Window of the running mean drawn over noisy runs (the raw losses
        stay as a faint line). Default: a tenth of the run's updates per
        epoch; 1 turns smoothing off.
    logx : bool
        Log scale for the update number, so a run of a few steps and one of
        thousands fit on one figure. The loss axis is always logarithmic.
    xlabel, ylabel, title : str
    colors : sequence of str, optional
        One colour per run (default: matplotlib's cycle).
    details : bool
        Give each run's updates per epoch and smoothing window in the legend
        (turn off when all runs share them and say so in ``xlabel``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    runs = _named(histories, "histories", "training", "{'full batch': net.fit(...)}")
    series = {name: _step_series(run, name) for name, run in runs.items()}
    for name, (_, losses, _) in series.items():
        if len(losses) == 0:
            raise ValueError(f"run {name!r} has no step losses to plot")
    fig = _figure(7.0, 4.8)
    ax = fig.add_subplot()
    shown_lo, shown_hi = np.inf, 0.0  # y range of the bold lines; faint raw ones may clip
    for i, (name, (steps, losses, per_epoch)) in enumerate(series.items()):
        color = f"C{i}" if colors is None else colors[i % len(colors)]
        window = max(1, per_epoch // 10) if smooth is None else max(1, int(smooth))
        label = f"{name}: {per_epoch} update{'s' if per_epoch != 1 else ''}/epoch" \
            if per_epoch and details else name
        if window > 1 and len(losses) > window:
            ax.plot(steps, losses, color=color, lw=0.5, alpha=0.2)
            bold = _running_mean(losses, window)
            ax.plot(steps, bold, color=color, lw=2,
                    label=f"{label} (running mean of {window})" if details else label)
        else:
            bold = losses
            ax.plot(steps, losses, color=color, lw=2, marker="o" if len(losses) <= 60 else None,
                    ms=3.5, label=label)
        positive = bold[np.isfinite(bold) & (bold > 0)]
        if len(positive):
            shown_lo, shown_hi = min(shown_lo, positive.min()), max(shown_hi, positive.max())
    ax.set_yscale("log")
    if np.isfinite(shown_lo) and shown_hi > 0:
        ax.set_ylim(shown_lo / 2.5, shown_hi * 2.5)
    if logx:   # a run that starts at step 0 needs a linear stretch near 0
        from_zero = any(steps[0] == 0 for steps, _, _ in series.values())
        if from_zero:
            ax.set_xscale("symlog", linthresh=1)
        else:
            ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return fig


# ------------------------------------------------------------ neurons, lines
_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def _unit_square(ax: Any, xlabel: str = "input x1", ylabel: str = "input x2") -> None:
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _shade_and_line(ax: Any, w: Sequence[float] | np.ndarray, offset: float, color: str = "black",
                    ls: str = "-") -> None:
    """Shade where w·x >= offset and draw the line w·x = offset."""
    g = np.linspace(-0.5, 1.5, 201)
    G1, G2 = np.meshgrid(g, g)
    S = w[0] * G1 + w[1] * G2 - offset
    ax.contourf(G1, G2, (S >= 0).astype(float), levels=[-0.5, 0.5, 1.5],
                colors=["#eef4fa", "#fde9d4"], zorder=0)
    if w[0] != 0 or w[1] != 0:
        ax.contour(G1, G2, S, levels=[0], colors=color, linewidths=2.2, linestyles=ls, zorder=2)


def gate_decision_lines(neurons: Any, *, ncols: int | None = None) -> Figure:
    """Two-input McCulloch-Pitts neurons: the four inputs and the decision line.

    Each panel shows the inputs (0, 0), (0, 1), (1, 0), (1, 1), hollow where
    the neuron stays silent and filled where it fires, the line
    ``w1·x1 + w2·x2 = threshold`` and, shaded orange, the side where it fires.

    Parameters
    ----------
    neurons : dict of str to McCullochPitts, or one McCullochPitts
        Named neurons with two inputs (``weights`` of length 2,
        ``threshold``, and callable on ``[x1, x2]``), e.g.
        ``fastnn.logic.NAND_NEURON``. The gate functions (``logic.NAND``)
        are circuits of neurons, not one neuron: they have no single line.
    ncols : int, optional
        Panels per row (default: up to 4).

    Returns
    -------
    matplotlib.figure.Figure
    """
    example = "{'NAND': McCullochPitts([-2, -2], -3)}"
    if not isinstance(neurons, Mapping) and hasattr(neurons, "weights"):
        neurons = {"neuron": neurons}
    if not isinstance(neurons, Mapping):
        raise TypeError(f"neurons must be a McCullochPitts neuron or a dict of them, e.g. "
                        f"{example}; got {_kind(neurons)}")
    if not neurons:
        raise ValueError(f"neurons is empty: pass e.g. {example}")
    for name, neuron in neurons.items():
        if not (hasattr(neuron, "weights") and hasattr(neuron, "threshold")
                and callable(neuron)):
            hint = (" (a gate function is a circuit of NAND neurons; its single neuron is "
                    "fastnn.logic.NAND_NEURON)" if callable(neuron) else "")
            raise TypeError(f"neuron {name!r} must be a McCullochPitts neuron, with weights "
                            f"and a threshold, got {getattr(neuron, '__name__', _kind(neuron))}"
                            f"{hint}")
    rows, cols = _grid(len(neurons), ncols)
    fig = _figure(3.3 * cols, 3.5 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, neuron) in zip(axes, neurons.items()):
        w = [float(v) for v in neuron.weights]
        if len(w) != 2:
            raise ValueError(f"neuron {name!r} has {len(w)} inputs; a decision line needs 2")
        t = float(neuron.threshold)
        y = np.array([neuron([int(a), int(b)]) for a, b in _CORNERS])
        _shade_and_line(ax, w, t)
        _points(ax, _CORNERS, y)
        _unit_square(ax)
        ax.set_title(f"{name}\n{w[0]:g}·x1 {_signed(w[1])}·x2 ≥ {t:g}", fontsize=11)
    for ax in axes[len(neurons):]:
        ax.set_visible(False)
    fig.legend(handles=_point_legend(), loc="outside lower center", ncols=3, fontsize=9)
    return fig


def _point_legend(extra: Sequence[Any] = ()) -> list:
    return [
        Line2D([], [], marker="o", ls="none", ms=10, mfc="white", mec=CLASS_COLORS[0], mew=2,
               label="output 0"),
        Line2D([], [], marker="o", ls="none", ms=10, mfc=CLASS_COLORS[1], mec=CLASS_COLORS[1],
               label="output 1"),
        Patch(facecolor="#fde9d4", edgecolor="0.6",
              label="where the unit fires (the line included)"),
        *extra,
    ]


def perceptron_lines(results: Any, *, ncols: int | None = None) -> Figure:
    """The lines learned by perceptrons on 2-D points, one panel per task.

    Every point that the final line puts on the wrong side is ringed in red,
    and the panel's title counts them.

    Parameters
    ----------
    results : dict of str to (X, y, model), or one (X, y, model)
        For each task its points ``X`` (n_samples, 2), labels ``y`` in {0, 1}
        and a fitted ``fastnn.Perceptron`` (anything with ``coef_``,
        ``intercept_``, and optionally ``converged_``, ``errors_`` and
        ``predict``). A task whose model did not converge (XOR) shows its
        last line dashed: no line splits its points.
    ncols : int, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    example = "{'AND': (X, y, Perceptron().fit(X, y))}"
    if isinstance(results, tuple) and len(results) == 3:
        results = {"perceptron": results}
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a dict of name to (X, y, model), e.g. {example}; "
                        f"got {_kind(results)}")
    if not results:
        raise ValueError(f"results is empty: pass e.g. {example}")
    for name, task in results.items():
        if not (isinstance(task, (tuple, list)) and len(task) == 3):
            raise TypeError(f"results[{name!r}] must be (X, y, model): the points, their "
                            f"labels and the fitted perceptron; got {_kind(task)}")
        if not hasattr(task[2], "coef_"):
            raise ValueError(f"results[{name!r}]: the model ({_kind(task[2])}) has no coef_; "
                             "pass a fitted Perceptron")
    rows, cols = _grid(len(results), ncols)
    fig = _figure(3.3 * cols, 3.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, (X, y, model)) in zip(axes, results.items()):
        X, y = _check_X2(X, y)
        y = y.astype(int)
        w = np.asarray(model.coef_, dtype=float).ravel()
        b = float(model.intercept_)
        converged = bool(getattr(model, "converged_", True))
        errors = list(getattr(model, "errors_", []))
        _shade_and_line(ax, w, -b, color="black" if converged else "#d62728",
                        ls="-" if converged else "--")
        _points(ax, X, y)
        if callable(getattr(model, "predict", None)):
            pred = np.asarray(model.predict(X)).astype(int).ravel()
        else:
            pred = (X @ w + b >= 0).astype(int)
        wrong = pred != y
        ax.plot(X[wrong, 0], X[wrong, 1], ls="none", marker="o", ms=22, mfc="none",
                mec="#d62728", mew=2.5, zorder=5, gid="wrong")
        _unit_square(ax)
        if converged:
            status = f"learned in {len(errors)} epochs" if errors else "learned"
        else:
            status = (f"not learned in {len(errors)} epochs:" if errors else "not learned:") \
                + f"\n{int(wrong.sum())} of {len(y)} points wrong"
            ax.text(0.5, 0.5, "no straight line\nseparates the\nfilled points from\n"
                    "the hollow ones", ha="center", va="center", fontsize=8.5, color="#d62728",
                    zorder=4, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#d62728"})
        ax.set_title(f"{name}\n{status}", fontsize=11,
                     color="black" if converged else "#d62728")
        ax.text(0.5, 0.02, f"{w[0]:.3g}·x1 {_signed(round(w[1], 3))}·x2 {_signed(round(b, 3))} = 0",
                transform=ax.transAxes, ha="center", va="bottom", fontsize=8.5,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
    for ax in axes[len(results):]:
        ax.set_visible(False)
    extra = [Line2D([], [], color="black", lw=2, label="learned line"),
             Line2D([], [], color="#d62728", lw=2, ls="--", label="last line tried, if in view"),
             Line2D([], [], ls="none", marker="o", ms=12, mfc="none", mec="#d62728", mew=2,
                    label="on the wrong side of the final line")]
    fig.legend(handles=_point_legend(extra), loc="outside lower center", ncols=3, fontsize=9)
    return fig


def decision_regions(net: Any, X: Any, y: Any, *, resolution: int = 250, margin: float = 0.5,
                     xlabel: str = "input x1", ylabel: str = "input x2",
                     title: str | None = "What the network learned") -> Figure:
    """The regions a classifier of 2-D inputs assigns to each class.

    Parameters
    ----------
    net : Sequential, MLPClassifier, Perceptron or another classifier
        A fitted model of 2-D inputs: its ``predict_proba`` if it has one,
        else its ``predict``, gives for ``X`` of shape (n, 2) the
        probability of class 1 (shape (n,) or (n, 1), e.g. a sigmoid output),
        one probability per class (shape (n, k), e.g. softmax; two classes
        are drawn as the probability of class 1), or class labels 0/1
        (integers, e.g. a Perceptron).
    X : array-like of shape (n_samples, 2)
        The training points, drawn on the map.
    y : array-like of shape (n_samples,)
        Their class labels.
    resolution : int
        Grid points along each axis.
    margin : float
        Space around the points, in input units.
    xlabel, ylabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    X, y = _check_X2(X, y)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    G1, G2 = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([G1.ravel(), G2.ravel()])  # (resolution², 2)
    predict = getattr(net, "predict_proba", None) or getattr(net, "predict", None)
    if not callable(predict):
        raise TypeError(f"net must be a fitted model with predict (a Sequential, an "
                        f"MLPClassifier, a Perceptron), got {_kind(net)}")
    P = np.asarray(predict(grid))
    labels_only = P.dtype.kind in "biu"   # class labels, not probabilities
    P = P.astype(float)
    if P.ndim == 2 and P.shape[1] == 2:
        P = P[:, 1]                          # two classes: the probability of class 1
    if P.ndim not in (1, 2) or len(P) != len(grid):
        raise ValueError(f"net's prediction for {len(grid)} points of shape (n, 2) has shape "
                         f"{P.shape}; expected (n,), (n, 1) or (n, n_classes)")
    fig = _figure(6.0, 5.0)
    ax = fig.add_subplot()
    if P.ndim == 1 or P.shape[1] == 1:
        P1 = P.reshape(G1.shape)
        shown = ax.contourf(G1, G2, P1, levels=np.linspace(0, 1, 11), cmap=_REGION_CMAP)
        ax.contour(G1, G2, P1, levels=[0.5], colors="black", linewidths=2)
        fig.colorbar(shown, ax=ax, label="predicted class (0 or 1)" if labels_only
                     else "predicted probability of class 1")
        _points(ax, X, y.astype(int), size=220)
        ax.legend(handles=[*_point_legend()[:2],
                           Line2D([], [], color="black", lw=2,
                                  label="boundary" if labels_only else "boundary (p = 0.5)")],
                  loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3, fontsize=9)
    else:
        k = P.shape[1]
        cls = P.argmax(axis=1).reshape(G1.shape)
        ax.contourf(G1, G2, cls, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmin=-0.5,
                    vmax=9.5, alpha=0.3)
        ax.scatter(X[:, 0], X[:, 1], c=y.astype(int), cmap="tab10", vmin=-0.5, vmax=9.5,
                   s=60, edgecolors="black", zorder=3)
        cmap = matplotlib.colormaps["tab10"]
        ax.legend(handles=[Line2D([], [], marker="o", ls="none", ms=8, mec="black",
                                  mfc=cmap(c % 10), label=f"class {c}")
                           for c in range(k)],
                  loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=min(k, 5), fontsize=9)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return fig


# ------------------------------------------------------------------ networks
_COLUMN_GAP = 2.6  # horizontal distance between layers, in drawing units


def _label_spot(x0: float, y0: float, x1: float, y1: float, placed: list,
                size: tuple[float, float] = (0.5, 0.24)) -> tuple[float, float]:
    """A point on the edge (x0, y0)-(x1, y1) whose label box overlaps no placed label."""
    candidates = (0.3, 0.42, 0.2, 0.54, 0.66, 0.12, 0.78, 0.88)
    for t in candidates:
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        if all(abs(x - px) > size[0] or abs(y - py) > size[1] for px, py in placed):
            break
    else:
        t = candidates[0]
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    placed.append((x, y))
    return x, y


def network_drawing(net: Any, *, input_names: Sequence[str] | None = None,
                    output_names: Sequence[str] | None = None, max_neurons: int = 12,
                    show_values: bool | None = None,
                    title: str | None = "The network: neurons and weights") -> Figure:
    """A network as the lecture draws it: neurons as circles, weights as edges.

    An edge's colour gives the sign of its weight (red positive, blue
    negative) and its width the magnitude. Each neuron after the inputs
    shows its bias and activation.

    Parameters
    ----------
    net : Sequential, fitted MLPClassifier / MLPRegressor / Perceptron, or RegressionMachine
        A network of ``Dense`` layers (anything with ``layers`` whose ``W``
        has shape (n_in, n_out) and ``b`` shape (n_out,)); a model is drawn
        as the network that holds its weights.
    input_names, output_names : sequence of str, optional
        Labels of the input and output neurons (default x1.., ŷ1..).
    max_neurons : int
        Wider layers show their first and last neurons around a "⋮".
    show_values : bool, optional
        Write each weight on its edge; default: only for small networks.
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not hasattr(net, "layers"):
        net = _network(net)
    layers = list(net.layers)
    if not layers:
        raise ValueError("net has no layers to draw")
    for i, layer in enumerate(layers):
        W = getattr(layer, "W", None)
        if W is None or np.ndim(W) != 2:
            raise TypeError(f"network_drawing draws Dense layers only; layer {i} is {layer!r}")
    sizes = [layers[0].W.shape[0]] + [layer.W.shape[1] for layer in layers]
    max_neurons = max(3, int(max_neurons))

    def shown(n: int) -> list:
        """Indices of the neurons drawn (None for the ellipsis)."""
        if n <= max_neurons:
            return list(range(n))
        head = (max_neurons - 1) // 2
        return list(range(head)) + [None] + list(range(n - (max_neurons - 1 - head), n))

    columns = [shown(n) for n in sizes]
    tallest = max(len(c) for c in columns)
    n_edges = sum(min(a, max_neurons) * min(b, max_neurons) for a, b in zip(sizes, sizes[1:]))
    if show_values is None:
        show_values = n_edges <= 16
    pos = []
    for col, idx in enumerate(columns):
        ys = np.linspace(0, -(len(idx) - 1), len(idx)) + (len(idx) - 1) / 2.0
        pos.append({j: (_COLUMN_GAP * col, y) for j, y in zip(idx, ys)})

    weights = [np.asarray(layer.W, dtype=float) for layer in layers]
    w_max = max(float(np.abs(W).max()) for W in weights) or 1.0
    last = len(sizes) - 1
    x_lo, x_hi = -0.8, _COLUMN_GAP * last + 1.2
    y_lo, y_hi = -(tallest - 1) / 2.0 - 0.6, (tallest - 1) / 2.0 + 1.7
    scale = 0.95  # inches per unit of the drawing
    fig = _figure(max(4.8, scale * (x_hi - x_lo)), max(3.4, scale * (y_hi - y_lo) + 0.9))
    ax = fig.add_subplot()
    radius = 0.3
    placed: list = []  # boxes (x, y) of weight labels already written
    for li, W in enumerate(weights):
        for i, (x0, y0) in pos[li].items():
            for j, (x1, y1) in pos[li + 1].items():
                if i is None or j is None:
                    continue
                w = W[i, j]
                ax.plot([x0 + radius, x1 - radius], [y0, y1], zorder=1, solid_capstyle="round",
                        color=POSITIVE if w > 0 else NEGATIVE,
                        lw=0.4 + 5.0 * abs(w) / w_max, alpha=0.35 + 0.55 * abs(w) / w_max)
                if show_values:
                    xm, ym = _label_spot(x0 + radius, y0, x1 - radius, y1, placed)
                    ax.text(xm, ym, f"{w:.2f}", fontsize=8, ha="center", va="center", zorder=2,
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                                  "edgecolor": "none", "alpha": 0.85})
    for col in range(len(columns)):
        for j, (x, y) in pos[col].items():
            if j is None:
                ax.text(x, y, "⋮", ha="center", va="center", fontsize=18)
                continue
            face = "#e8e8e8" if col == 0 else ("#fff3d6" if col == last else "white")
            ax.add_patch(Circle((x, y), radius, facecolor=face, edgecolor="black", lw=1.5,
                                zorder=3))
            if col == 0:
                name = input_names[j] if input_names is not None else f"x{j + 1}"
                ax.text(x, y, name, ha="center", va="center", fontsize=10, zorder=4)
            else:
                b = float(layers[col - 1].b[j])
                ax.text(x, y, f"{b:+.2f}" if show_values else "", ha="center", va="center",
                        fontsize=7.5, zorder=4)
            if col == last:
                name = output_names[j] if output_names is not None else \
                    ("ŷ" if sizes[-1] == 1 else f"ŷ{j + 1}")
                ax.text(x + radius + 0.15, y, name, ha="left", va="center", fontsize=11)
    for col, n in enumerate(sizes):
        what = "input" if col == 0 else ("output" if col == last else f"hidden {col}")
        act = "" if col == 0 else f"\n{layers[col - 1].activation}"
        ax.text(_COLUMN_GAP * col, (tallest - 1) / 2.0 + 0.75, f"{what} ({n}){act}",
                ha="center", va="bottom", fontsize=10)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")
    ax.axis("off")
    handles: list[Any] = [Line2D([], [], color=POSITIVE, lw=3, label="positive weight"),
               Line2D([], [], color=NEGATIVE, lw=3, label="negative weight"),
               Line2D([], [], color="0.5", lw=0.8, label="width ∝ |weight|")]
    if show_values:
        handles.append(Circle((0, 0), 0.1, facecolor="white", edgecolor="black",
                              label="number in a neuron: its bias"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncols=2, fontsize=9, frameon=False)
    if title:
        ax.set_title(title)
    return fig


# -------------------------------------------------------------------- digits
def _percent(p: float) -> str:
    """A probability as the lecture writes it: "93%", "<1%", ">99%"."""
    if p < 0.005:
        return "<1%"
    if p > 0.995 and p < 1.0:
        return ">99%"
    return f"{100 * p:.0f}%"


def _as_images(images: Any) -> np.ndarray:
    imgs = np.asarray(images, dtype=float)
    if imgs.ndim == 4 and imgs.shape[1] == 1:   # (n, 1, h, w), as a Conv2D network takes them
        imgs = imgs[:, 0]
    if imgs.ndim == 2:
        side = int(round(np.sqrt(imgs.shape[1])))
        if side * side != imgs.shape[1]:
            raise ValueError(f"flat images need a square number of pixels, got {imgs.shape[1]}")
        imgs = imgs.reshape(len(imgs), side, side)
    if imgs.ndim != 3:
        raise ValueError(f"images must have shape (n, h, w) or (n, h*w), got {imgs.shape}")
    return imgs


def probability_bars(images: Any, probs: Any, labels: Any = None, top: int = 3, *,
                     ncols: int = 3, class_names: Sequence[str] | None = None,
                     title: str | None = None) -> Figure:
    """Digit images next to the probabilities a classifier gives each class.

    Each image is titled with its ``top`` most probable classes, e.g.
    "7: 93%, 1: 4%, 9: 1%". Its bars are green where the most probable
    class is the true label, red where it is not (grey without labels).

    Parameters
    ----------
    images : array-like of shape (n, h, w), (n, h*w) or (n, 1, h, w)
    probs : array-like of shape (n, n_classes), or a fitted classifier
        Predicted probabilities, e.g. ``net.predict(X)`` of a softmax
        network; or the network (a Sequential, an MLPClassifier) itself,
        which is asked for them on ``images`` as given.
    labels : array-like of shape (n,), optional
        True classes.
    top : int
        How many classes to name above each image.
    ncols : int
        Image-and-bars pairs per row.
    class_names : sequence of str, optional
        Default: the class indices 0, 1, ...
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    imgs = _as_images(images)
    if hasattr(probs, "predict") or hasattr(probs, "predict_proba"):
        predict = getattr(probs, "predict_proba", None) or probs.predict
        probs = predict(np.asarray(images, dtype=float))
    elif not _is_numbers(probs):
        raise TypeError(f"probs must be an array of probabilities (n, n_classes) or a fitted "
                        f"classifier, got {_kind(probs)}")
    P = np.asarray(probs, dtype=float)
    if P.ndim != 2 or len(P) != len(imgs):
        raise ValueError(f"probs must have shape ({len(imgs)}, n_classes), got {P.shape}")
    n, k = P.shape
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for {k} classes")
    truth = None if labels is None else np.asarray(labels).ravel()
    if truth is not None and len(truth) != n:
        raise ValueError(f"{n} images but {len(truth)} labels")
    ncols = max(1, min(int(ncols), n))
    rows = -(-n // ncols)
    fig = _figure(4.3 * ncols, 2.55 * rows)
    gs = fig.add_gridspec(rows, 2 * ncols, width_ratios=[1, 1.5] * ncols)
    for i in range(n):
        r, c = divmod(i, ncols)
        ax_img = fig.add_subplot(gs[r, 2 * c])
        ax_bar = fig.add_subplot(gs[r, 2 * c + 1])
        ax_img.imshow(imgs[i], cmap="gray_r")
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        order = np.argsort(-P[i])[:max(1, int(top))]
        best = order[0]
        if truth is None:
            colors = ["0.6"] * k
            colors[best] = "0.25"
            ax_img.set_xlabel("image", fontsize=9)
        else:
            right = names[best] == str(truth[i])
            colors = ["0.75"] * k
            colors[best] = "#2ca02c" if right else "#d62728"
            ax_img.set_xlabel(f"true: {truth[i]}", fontsize=10)
        ax_bar.bar(range(k), P[i], color=colors)
        ax_bar.set_ylim(0, 1)
        ax_bar.set_xticks(range(k), names, fontsize=8)
        ax_bar.set_yticks([0, 0.5, 1], ["0", "50%", "100%"], fontsize=8)
        ax_bar.set_xlabel("class", fontsize=9)
        ax_bar.set_title(", ".join(f"{names[j]}: {_percent(P[i, j])}" for j in order),
                         fontsize=9.5, loc="left")
        ax_bar.grid(axis="y", alpha=0.3)
    if truth is not None:
        fig.legend(handles=[Patch(color="#2ca02c", label="most probable class = true label"),
                            Patch(color="#d62728", label="most probable class is wrong"),
                            Patch(color="0.75", label="other classes")],
                   loc="outside lower center", ncols=3, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int | None = None, *,
                     class_names: Sequence[str] | None = None,
                     title: str | None = None) -> Figure:
    """True against predicted classes, the count written in every cell.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        Class indices 0 .. n_classes - 1. ``y_pred`` may also be the
        probabilities (n_samples, n_classes) that ``net.predict`` gives;
        each row's most probable class is taken.
    n_classes : int, optional
        Default: the columns of probabilities, else one more than the
        largest class seen.
    class_names : sequence of str, optional
    title : str, optional
        Default: the accuracy.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if p.ndim == 2 and p.shape[1] > 1 and t.ndim == 1:   # probabilities, one column a class
        if n_classes is None:
            n_classes = p.shape[1]
        p = p.argmax(axis=1)
    for name, v in (("y_true", t), ("y_pred", p)):
        if v.dtype.kind not in "biuf" or (v.dtype.kind == "f" and not np.all(v == np.round(v))):
            raise ValueError(f"{name} must hold class indices 0, 1, ... (integers), "
                             f"got dtype {v.dtype}")
    t, p = t.ravel().astype(np.int64), p.ravel().astype(np.int64)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} labels but y_pred has {len(p)}")
    if len(t) == 0:
        raise ValueError("no labels to count")
    k = int(max(t.max(), p.max()) + 1) if n_classes is None else int(n_classes)
    if min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= k:
        raise ValueError(f"labels must lie in 0..{k - 1}")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    fig = _figure(max(4.5, 0.55 * k + 2.5), max(4.0, 0.5 * k + 1.8))
    ax = fig.add_subplot()
    shown = ax.imshow(counts, cmap="Blues")
    top = counts.max() or 1
    for (r, c), v in np.ndenumerate(counts):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=11 if k <= 12 else 7,
                    color="white" if v > 0.6 * top else ("#b00000" if r != c else "black"))
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = float(np.trace(counts)) / len(t)
    ax.set_title(title if title is not None else
                 f"Confusion matrix: {np.trace(counts)} of {len(t)} right ({100 * acc:.1f}%)")
    fig.colorbar(shown, ax=ax, label="number of samples", shrink=0.85)
    return fig


# ------------------------------------------------------- inside a network
def layer_outputs(net: Any, X: Any) -> list:
    """What every layer of a network outputs for the rows of ``X``.

    The engine has no public call for intermediate outputs yet, so each is
    computed by the engine itself on a sub-network: the layers up to that
    one, rebuilt with the same weights (the parameters of the first k
    layers are the first entries of ``net.params``), whose prediction is
    that layer's output. ``Dropout`` passes values through at prediction,
    so it is left out of the sub-networks and repeats its input.

    Parameters
    ----------
    net : Sequential, or a fitted estimator or fastnn.models result holding one
    X : array-like
        Input as ``net.predict`` takes it: (n_samples, n_in), or
        (n_samples, c, h, w) for a network that begins with ``Conv2D``.

    Returns
    -------
    list of ndarray, one per layer
        Each of shape (n_samples, *that layer's output shape), e.g.
        (n, 6, 8, 8) after a ``Conv2D(1, 6, 3, padding=1)`` on 8x8 images
        and (n, 10) after a ``Dense(96, 10)``.
    """
    from .layers import layer_from_config

    net = _network(net)
    layers = list(net.layers)
    if not layers:
        raise ValueError("net has no layers")
    X = np.asarray(X)
    n = len(X)
    outputs: list = []
    kept: list = []      # the layers of the sub-network so far (dropout left out)
    for k, layer in enumerate(layers):
        if getattr(layer, "kind", "") == "dropout":
            outputs.append(outputs[-1] if outputs else X.copy())
            continue
        kept.append(layer)
        if k == len(layers) - 1:
            sub, out = net, net.predict(X)
        else:
            sub = Sequential([layer_from_config(each.config()) for each in kept], loss="mse",
                             dtype=np.dtype(net.dtype).name, seed=0)
            sub.params[...] = net.params[:sub.n_params]
            out = sub.predict(X)  # (n, n_out of the layer, flattened)
        shape = getattr(sub.layers[-1], "out_shape", None) or (out.shape[1],)
        outputs.append(out.reshape(n, *shape))
    return outputs


def _symmetric_limit(values: Any) -> float:
    m = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return m if m > 0 else 1.0


def conv_filters(layer: Any, *, show_values: bool | None = None, cmap: str = "RdBu_r",
                 title: str | None = "What the convolution learned: its filters") -> Figure:
    """Each kernel of a convolution layer as a small image.

    Positive weights are red, negative blue, zero white (one colour scale,
    centred at 0, for every kernel), so a kernel reads as the pattern of
    ink it responds to: red where ink adds to the response, blue where it
    subtracts.

    Parameters
    ----------
    layer : Conv2D, Sequential or array-like of shape (out, in, kh, kw)
        A convolution layer (its ``W`` and ``b``), a network (its first
        ``Conv2D``; also the network of a ``fastnn.models`` result), or the
        kernels themselves.
    show_values : bool, optional
        Write each weight in its cell; default when kernels are at most 5x5.
    cmap : str
        A diverging colormap.
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    b = None
    if not (hasattr(layer, "W") or hasattr(layer, "layers") or _is_numbers(layer)):
        layer = _network(layer, "layer")
    if hasattr(layer, "layers"):
        convs = [each for each in layer.layers if getattr(each, "kind", "") == "conv2d"]
        if not convs:
            raise ValueError("the network has no Conv2D layer")
        layer = convs[0]
    if hasattr(layer, "W"):
        if layer.W is None:
            raise ValueError(f"{layer!r} has no weights yet: put it in a network first")
        W = np.asarray(layer.W, dtype=float)
        b = np.asarray(layer.b, dtype=float)
    else:
        W = np.asarray(layer, dtype=float)
    if W.ndim != 4:
        raise ValueError(f"kernels must have shape (out, in, kh, kw), got {W.shape}")
    n_out, n_in, kh, kw = W.shape
    if show_values is None:
        show_values = kh * kw <= 25
    limit = _symmetric_limit(W)
    cell = max(1.25, 0.42 * max(kh, kw))
    fig = _figure(cell * n_out + 1.3, cell * n_in + (1.3 if n_in == 1 else 1.0))
    axes = fig.subplots(n_in, n_out, squeeze=False)
    shown = None
    for i in range(n_in):
        for o in range(n_out):
            ax = axes[i, o]
            kernel = W[o, i]
            shown = ax.imshow(kernel, cmap=cmap, vmin=-limit, vmax=limit)
            if show_values:
                for (r, c), v in np.ndenumerate(kernel):
                    ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7.5,
                            color="white" if abs(v) > 0.6 * limit else "black")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                head = f"filter {o + 1}"
                if b is not None:
                    head += f"\nbias {b[o]:+.2f}"
                ax.set_title(head, fontsize=9)
            if o == 0 and n_in > 1:
                ax.set_ylabel(f"input channel {i + 1}", fontsize=9)
    fig.colorbar(shown, ax=axes, label="weight", shrink=0.9)
    if title:
        fig.suptitle(f"{title}\n{n_out} kernels of {kh}x{kw}" +
                     (f" on {n_in} input channels" if n_in > 1 else ""), fontsize=11)
    return fig


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in shape) + ")"


def _layer_name(layer: Any) -> str:
    """A short name for a row label: "conv 3x3, relu", "MaxPool2D(2)"."""
    if getattr(layer, "kind", "") == "conv2d":
        kh, kw = layer.kernel_size
        act = "" if layer.activation == "identity" else f", {layer.activation}"
        return f"conv {kh}x{kw}{act}"
    return repr(layer)


def feature_maps(net: Any, image: Any, *, label: Any = None, max_channels: int = 8,
                 title: str | None = "One digit through the network") -> Figure:
    """An image and what each image layer of a network makes of it.

    Row 1 is the input; then one row per layer whose output is still an
    image (convolutions, pooling), one panel per channel. A row shares one
    colour scale, so its channels compare: dark is strong. Layers whose
    output is flat (``Flatten``, ``Dense``) are not drawn; the title tells
    what the network finally reads.

    Parameters
    ----------
    net : Sequential, or a fastnn.models result holding one
        A network whose first layer is ``Conv2D``.
    image : array-like of shape (c, h, w), or (h, w) for one channel
        One sample as the network takes it (for the digits in 0..1); also
        (1, c, h, w), or (h * w,) for one square channel.
    label : int or str, optional
        Its true class, shown in the title.
    max_channels : int
        Panels per row at most (the first channels).
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    net = _network(net)
    img = np.asarray(image, dtype=float)
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim == 1:
        side = int(round(np.sqrt(img.size)))
        if side * side != img.size:
            raise ValueError(f"a flat image must have a square number of pixels, got {img.size}")
        img = img.reshape(side, side)
    if img.ndim == 2:
        img = img[None]
    if img.ndim != 3:
        raise ValueError(f"image must have shape (c, h, w) or (h, w), got {img.shape}")
    outputs = layer_outputs(net, img[None])
    rows = [(f"input\n{_shape_text(img.shape)}", img)]
    for layer, out in zip(net.layers, outputs):
        if out.ndim == 4 and getattr(layer, "kind", "") != "dropout":
            rows.append((f"{_layer_name(layer)}\n→ {_shape_text(out.shape[1:])}", out[0]))
    if len(rows) == 1:
        raise ValueError("the network has no layer whose output is an image")
    ncols = max(1, min(int(max_channels), max(len(maps) for _, maps in rows)))
    fig = _figure(1.45 * ncols + 2.3, 1.75 * len(rows) + 1.0)
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (name, maps) in enumerate(rows):
        lo, hi = float(maps.min()), float(maps.max())
        if r == 0:
            cmap, vmin, vmax = "gray_r", min(0.0, lo), max(hi, 1e-12)
        elif lo < 0:
            cmap, vmax = "RdBu_r", _symmetric_limit(maps)
            vmin = -vmax
        else:
            cmap, vmin, vmax = "magma_r", 0.0, max(hi, 1e-12)
        shown = None
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(maps):
                ax.set_visible(False)
                continue
            shown = ax.imshow(maps[c], cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            h, w = maps[c].shape
            ax.set_title(("image" if r == 0 else f"channel {c + 1}") + f" ({h}x{w})",
                         fontsize=8.5)
        axes[r, 0].set_ylabel(name, fontsize=9)
        if r:  # the input's grey scale needs no bar (and one would shift column 1)
            fig.colorbar(shown, ax=list(axes[r]), label="output", shrink=0.9, aspect=10)
    if ncols >= 3:  # the free space next to the input: how to read the rows
        note = axes[0, 1]
        note.set_visible(True)
        note.axis("off")
        note.text(0.02, 0.5, "Each row: the outputs of one layer, one panel per channel.\n"
                  "A convolution channel is the image filtered by one kernel;\n"
                  "pooling keeps the strongest response of each window.\n"
                  "Darker = stronger.", transform=note.transAxes, ha="left",
                  va="center", fontsize=9, clip_on=False,
                  in_layout=False)   # it may run over the empty panels beside it
    if title:
        P = outputs[-1][0]
        text = title
        if label is not None:
            text += f" (a {label})"
        if getattr(net.layers[-1], "activation", "") == "softmax":
            text += f": read as {int(np.argmax(P))} with probability {_percent(float(P.max()))}"
        fig.suptitle(text, fontsize=11)
    return fig


# ------------------------------------------------------------- in practice
def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def optimizer_paths(machine: Any, paths: Any, *, tol: float = 0.01,
                    max_drawn: int = 100, a_label: str = "slope a",
                    b_label: str = "intercept b", loss_label: str = "E(a, b)",
                    gap_label: str = "E - E_min", colors: Sequence[str] = _PATH_COLORS,
                    a_range: tuple[float, float] | None = None,
                    b_range: tuple[float, float] | None = None,
                    title: str | None = "Optimizers on one error surface") -> Figure:
    """Several optimizers' paths on one contour map, and how fast each gets down.

    Left: the contour map of E(a, b) with each path, drawn until it stays
    within ``tol`` of the minimum (at most ``max_drawn`` steps). Right:
    E − E_min at every step on log axes, with the line ``tol · E_min``; the
    legend gives the step from which each run stays below it.

    Parameters
    ----------
    machine : RegressionMachine
        A fitted machine: its ``loss(a, b)`` is the surface and
        ``closed_form()`` its minimum.
    paths : dict of str to RegressionMachine or array-like of shape (steps, 2)
        Named runs from the same start, e.g.
        ``{"Adam, lr=30": RegressionMachine().fit(x, y, optimizer=Adam(lr=30))}``
        or their ``.path``.
    tol : float
        "Down" means E <= (1 + tol) · E_min.
    max_drawn : int
        Steps drawn on the map at most, per path.
    a_label, b_label, loss_label : str
        Axis and colour-bar labels of the map.
    gap_label : str
        Label of the right panel's vertical axis.
    colors : sequence of str
        One colour per path.
    a_range, b_range : (float, float), optional
        Extent of the map (default: what is drawn, with a margin).
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_machine(machine)
    if not isinstance(paths, Mapping):
        raise TypeError("paths must be a dict of name to run, e.g. {'SGD, lr=0.3': machine}; "
                        f"got {_kind(paths)}")
    if not paths:
        raise ValueError("paths is empty: pass e.g. {'SGD, lr=0.3': machine.path}")
    a_min, b_min = machine.closed_form()
    e_min = float(machine.loss(a_min, b_min))
    full, drawn, reached = {}, {}, {}
    for name, p in _paths(paths).items():
        if len(p) == 0:
            raise ValueError(f"path {name!r} is empty")
        E = np.asarray(machine.loss(p[:, 0], p[:, 1]), dtype=float).reshape(-1)
        full[name] = E
        reached[name] = steps_within(E, e_min, tol)
        upto = reached[name] if reached[name] is not None else len(p)
        drawn[name] = p[:max(1, min(upto, int(max_drawn)))]
    fig = _figure(13.5, 5.8)
    ax_map, ax_loss = fig.subplots(1, 2, width_ratios=[1.15, 1])
    _draw_surface(fig, ax_map, machine, drawn, a_range=a_range, b_range=b_range,
                          a_label=a_label, b_label=b_label, loss_label=loss_label,
                          step_label="{n} steps drawn", colors=colors)
    ax_map.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8.5)
    ax_map.set_title("Paths from the same start (until each stays within "
                     f"{100 * tol:g}% of the minimum)", fontsize=10)
    floor = max(e_min, 1e-300) * 1e-9
    for i, (name, E) in enumerate(full.items()):
        color = colors[i % len(colors)]
        steps = np.arange(1, len(E) + 1)
        at = reached[name]
        said = f"{at} steps" if at is not None else f"not within {100 * tol:g}% in {len(E)} steps"
        ax_loss.plot(steps, np.maximum(E - e_min, floor), color=color, lw=1.8,
                     label=f"{name}: {said}")
        if at is not None:
            ax_loss.plot(at, max(E[at - 1] - e_min, floor), marker="o", ms=7, color=color,
                         mec="black", ls="none")
    ax_loss.axhline(tol * e_min, color="black", ls="--", lw=1.2,
                    label=f"{100 * tol:g}% of the minimum E = {_number(e_min)}")
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    top = max(float(np.nanmax(E[np.isfinite(E)] - e_min)) for E in full.values())
    ax_loss.set_ylim(max(tol * e_min * 1e-4, floor), top * 3)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel(gap_label)
    ax_loss.set_title("How far above the minimum, step by step", fontsize=10)
    ax_loss.grid(alpha=0.3, which="both")
    ax_loss.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8.5)
    if title:
        fig.suptitle(title)
    return fig


def loss_surfaces(panels: Mapping[str, Mapping[str, Any]], *, equal_aspect: bool = True,
                  title: str | None = None) -> Figure:
    """Contour maps of several error surfaces side by side, with paths.

    Parameters
    ----------
    panels : dict of str to dict or RegressionMachine
        Panel title to a fitted machine (drawn with its path), or to the
        keyword arguments of one map: ``machine``
        (required: a fitted ``RegressionMachine``), and optionally
        ``paths`` (named runs or paths, as in :func:`loss_surface`; default
        the machine's own), ``start``, ``minimum``, ``a_range``, ``b_range``,
        ``a_label``, ``b_label``, ``loss_label``, ``n_levels`` as in
        :func:`loss_surface`.
    equal_aspect : bool
        Draw a and b to the same scale, so that a round bowl looks round:
        the geometry gradient descent sees.
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(panels, Mapping):
        raise TypeError("panels must be a dict of panel title to a RegressionMachine or a "
                        f"dict with 'machine', got {_kind(panels)}")
    if not panels:
        raise ValueError("panels is empty: pass e.g. {'raw': {'machine': m, 'paths': ...}}")
    allowed = {"machine", "paths", "start", "minimum", "a_range", "b_range", "a_label",
               "b_label", "loss_label", "n_levels"}
    fig = _figure(6.6 * len(panels), 6.4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, spec) in zip(axes, panels.items()):
        if isinstance(spec, RegressionMachine):
            spec = {"machine": spec}
        if not isinstance(spec, Mapping):
            raise TypeError(f"panel {name!r} must be a RegressionMachine or a dict with "
                            f"'machine', got {_kind(spec)}")
        unknown = set(spec) - allowed
        if "machine" not in spec or unknown:
            raise ValueError(f"panel {name!r} needs 'machine' and may hold only "
                             f"{sorted(allowed)}; got {sorted(spec)}")
        kwargs = dict(spec)
        machine = kwargs.pop("machine")
        paths = kwargs.pop("paths", None)
        if paths is None and len(getattr(machine, "path", ())):
            paths = {"gradient descent": machine.path}
        _draw_surface(fig, ax, machine, paths, equal_aspect=equal_aspect, **kwargs)
        ax.set_title(name, fontsize=10.5)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=1, fontsize=8.5)
    if title:
        fig.suptitle(title)
    return fig


def _history_curves(hist: History, accuracy: bool, name: str) -> dict:
    """A History's training and validation curves: accuracy or loss per epoch."""
    if accuracy:
        train = list(getattr(hist, "accuracy", None) or [])
        if not train:
            raise ValueError(f"run {name!r}: this History has no training accuracy per epoch "
                             "(only a classification loss records it); pass ylabel='loss'")
        curves = {"train": train}
        if hist.val_accuracy:
            curves["validation"] = list(hist.val_accuracy)
        return curves
    curves = {"train": list(hist.loss)}
    if hist.val_loss:
        curves["validation"] = list(hist.val_loss)
    return curves


def learning_curves(runs: Any, *,
                    ylabel: str | None = None, percent: bool | None = None,
                    marks: Mapping[str, int] | None = None, xlabel: str = "epoch",
                    ylim: tuple[float, float] | None = None,
                    title: str | None = None) -> Figure:
    """Training curves of several runs, one panel each, on one shared scale.

    Made for the gap between training and held-out data: each panel draws
    the named curves of one run (e.g. ``{"train": [...], "held-out": [...]}``,
    one value per epoch), shades the gap between the first two, and gives
    each curve's last value in the legend.

    Parameters
    ----------
    runs : dict of str to (dict of str to sequence of float, or History)
        Run name to its curves, e.g. ``{"plain": {"train": [...],
        "held-out": [...]}}``, or to the ``History`` that ``fit`` returned
        (drawn as "train" and, with validation data, "validation"). One
        run alone may be given without its name: a dict of curves or a
        History.
    ylabel : str, optional
        Default "accuracy"; for Histories, "loss" when one of them has no
        training accuracy (a regression loss). A History gives accuracy
        curves when ``ylabel`` says accuracy, loss curves otherwise.
    percent : bool, optional
        Show values as percentages; default when ``ylabel`` says accuracy.
    marks : dict of str to int, optional
        Run name to an epoch (0-based) marked by a vertical line, e.g. the
        epoch whose weights early stopping kept; the legend then gives the
        values at that epoch instead of the last ones.
    xlabel : str
    ylim : (float, float), optional
        Range of the vertical axis (in percent when ``percent``).
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    example = "{'plain': {'train': [...], 'held-out': [...]}}"
    if isinstance(runs, Mapping) and runs and all(_is_numbers(v) for v in runs.values()):
        runs = {"": runs}                       # the curves of one run
    runs = _named(runs, "runs", "", example)
    runs = {name: _history_of(run) or run for name, run in runs.items()}
    histories = [run for run in runs.values() if isinstance(run, History)]
    if ylabel is None:
        has_accuracy = all(getattr(h, "accuracy", None) for h in histories)
        ylabel = "accuracy" if has_accuracy else "loss"
    for name, run in list(runs.items()):
        if isinstance(run, History):
            runs[name] = _history_curves(run, "accuracy" in ylabel.lower(), name)
        elif not isinstance(run, Mapping):
            raise TypeError(f"run {name!r} must be a History or a dict of curves, e.g. "
                            f"{example}; got {_kind(run)}")
    if percent is None:
        percent = "accuracy" in ylabel.lower()
    marks = {} if marks is None else dict(marks)
    scale = 100.0 if percent else 1.0
    cols = min(len(runs), 4)
    rows = -(-len(runs) // cols)
    fig = _figure(3.9 * cols + 0.4, 3.6 * rows + 0.9)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    styles = [{"color": "#1f77b4", "ls": "-"}, {"color": "#d62728", "ls": "-"},
              {"color": "0.4", "ls": "--"}, {"color": "#2ca02c", "ls": ":"}]
    for ax, (name, curves) in zip(axes, runs.items()):
        if not curves:
            raise ValueError(f"run {name!r} has no curves")
        arrays = {}
        mark = marks.get(name)
        for i, (cname, values) in enumerate(curves.items()):
            v = _curve(values, f"curve {cname!r} of run {name!r}") * scale
            if len(v) == 0:
                raise ValueError(f"curve {cname!r} of run {name!r} is empty")
            arrays[cname] = v
            at = len(v) - 1 if mark is None else min(int(mark), len(v) - 1)
            value = f"{v[at]:.1f}%" if percent else f"{v[at]:.3g}"
            when = "at the end" if mark is None else f"at epoch {at + 1}"
            ax.plot(np.arange(1, len(v) + 1), v, lw=2, label=f"{cname}: {value} {when}",
                    **styles[i % len(styles)])
        if len(arrays) >= 2:
            first, second = list(arrays.values())[:2]
            m = min(len(first), len(second))
            ax.fill_between(np.arange(1, m + 1), first[:m], second[:m], color="#d62728",
                            alpha=0.12, lw=0, label="the gap")
        if mark is not None:
            ax.axvline(mark + 1, color="black", lw=1.2, ls="-.",
                       label=f"weights kept: epoch {mark + 1}")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if percent else "upper right")
    for ax in axes[:: cols]:
        ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    if ylim is not None:
        axes[0].set_ylim(*ylim)
    for ax in axes[len(runs):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def loss_per_epoch(histories: Any, *, logy: bool = True,
                   xlabel: str = "epoch", ylabel: str = "mean training loss of the epoch",
                   title: str | None = "Training loss, epoch by epoch") -> Figure:
    """The mean training loss of every epoch, for several runs on one axis.

    Parameters
    ----------
    histories : dict of str to History, or one History
        Named results of ``fit`` (their ``loss``), of a RegressionMachine,
        of a fitted MLP estimator (its ``loss_curve_``), or the losses
        themselves (a sequence of float); one run alone (not in a dict) is
        named "training".
    logy : bool
        Log scale for the loss.
    xlabel, ylabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    runs = _named(histories, "histories", "training", "{'He init': net.fit(...)}")
    curves = {name: _epoch_losses(run, name) for name, run in runs.items()}
    fig = _figure(7.0, 4.8)
    ax = fig.add_subplot()
    for i, (name, losses) in enumerate(curves.items()):
        if len(losses) == 0:
            raise ValueError(f"run {name!r} has no losses to plot")
        ax.plot(np.arange(1, len(losses) + 1), losses, color=f"C{i}", lw=2,
                marker="o" if len(losses) <= 40 else None, ms=3.5,
                label=f"{name}: {losses[-1]:.4g} at the end")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5)
    return fig


def activation_histograms(nets: Any, X: Any, *, layers: Sequence[int] | None = None,
                          bins: int = 30,
                          title: str | None = "Activations, layer by layer") -> Figure:
    """Histograms of what each hidden layer outputs, one row per network.

    Every panel gives the layer's standard deviation: near 0 means the layer
    says (nearly) the same for every input, and the layers after it, and
    the gradient that flows back through it, starve. Panels of layers with
    the same activation share their horizontal scale (0..1 for sigmoid), so
    rows compare. The bars are fractions of all the layer's outputs; for
    ReLU the exact zeros are left out of the bars and counted in a note.

    Parameters
    ----------
    nets : dict of str to Sequential, or one Sequential
        Named networks (e.g. one per initialisation), evaluated on ``X``;
        fitted estimators are shown by their network.
    X : array-like
        Input rows, as ``net.predict`` takes them.
    layers : sequence of int, optional
        Which layers (0-based) to show; default every layer but the output.
    bins : int
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    nets = _named(nets, "nets", "network", "{'He': net}")
    nets = {name: _network(net, f"nets[{name!r}]") for name, net in nets.items()}
    data = {}
    for name, net in nets.items():
        outs = layer_outputs(net, X)
        chosen = list(range(len(outs) - 1)) if layers is None else [int(i) for i in layers]
        if not chosen or any(i < 0 or i >= len(outs) for i in chosen):
            raise ValueError(f"layers must be indices in 0..{len(outs) - 1}, got {chosen}")
        data[name] = [(i, net.layers[i].activation, outs[i].reshape(-1)) for i in chosen]
    # one horizontal scale per activation function (the natural one when bounded)
    extent: dict = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
    for rows in data.values():
        for _, act, v in rows:
            if act in ("sigmoid", "tanh"):
                continue
            lo, hi = extent.get(act, (np.inf, -np.inf))
            extent[act] = (min(lo, float(v.min())), max(hi, float(np.percentile(v, 99.9))))
    ncols = max(len(rows) for rows in data.values())
    fig = _figure(2.55 * ncols + 0.9, 2.1 * len(data) + 0.9)
    axes = fig.subplots(len(data), ncols, squeeze=False)
    for r, (name, rows) in enumerate(data.items()):
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(rows):
                ax.set_visible(False)
                continue
            i, act, v = rows[c]
            lo, hi = extent[act]
            if hi - lo < 1e-6:
                lo, hi = lo - 0.5, hi + 0.5
            shown = v
            if act == "relu":  # the exact zeros apart, or their bar hides the rest
                shown = v[v != 0]
                ax.text(0.97, 0.93, f"{100 * (1 - len(shown) / len(v)):.0f}% are 0\n(not drawn)",
                        transform=ax.transAxes, ha="right", va="top", fontsize=7.5)
            ax.hist(np.clip(shown, lo, hi), bins=np.linspace(lo, hi, bins + 1),
                    weights=np.full(len(shown), 1.0 / len(v)), color=f"C{r}", alpha=0.85)
            ax.set_xlim(lo, hi)
            ax.set_title(f"layer {i + 1} ({act}): std {v.std():.2g}", fontsize=8.5)
            ax.tick_params(labelsize=7.5)
            if r == len(data) - 1:
                ax.set_xlabel("activation", fontsize=8.5)
        axes[r, 0].set_ylabel(f"{name}\nfraction", fontsize=8.5)
    if title:
        fig.suptitle(title)
    return fig
