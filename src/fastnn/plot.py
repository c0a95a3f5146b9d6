"""The lecture's figures, one function each.

Every function draws on a new :class:`matplotlib.figure.Figure` and returns
it: nothing is shown and pyplot's global state is never touched, so the
functions work the same in a script, a notebook (a returned figure displays
itself) and on a server without a display. Save with ``fig.savefig(path)``.

Each works on its own with a user's own model or data:

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
]

# One palette for the whole lecture: class 0 / class 1, negative / positive.
CLASS_COLORS = ("#1f77b4", "#ff7f0e")      # blue for 0 (does not fire), orange for 1
NEGATIVE, POSITIVE = "#1f77b4", "#d62728"  # blue for negative weights, red for positive
_REGION_CMAP = LinearSegmentedColormap.from_list(
    "fastnn_regions", ["#c6dbef", "#f7f7f7", "#fdd0a2"])
_PATH_COLORS = ("#d62728", "#ff7f0e", "#6a3d9a", "#1a1a1a", "#e377c2", "#8c564b")


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


# --------------------------------------------------------------------- data
def digit_image(image: Any, label: Any = None, show_values: bool = True) -> Figure:
    """An image as what the machine sees: a grid of numbers.

    Parameters
    ----------
    image : array-like of shape (h, w) or (h * w,) for a square image
        Pixel values (for the digits, 0..16 ink counts).
    label : int or str, optional
        The task's answer for this image, shown in the title.
    show_values : bool
        Write each pixel's number in its cell.

    Returns
    -------
    matplotlib.figure.Figure
    """
    img = np.asarray(image, dtype=float)
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
def regression_fit(x: Any, y: Any, a: float, b: float, origin_slope: float | None = None,
                   *, xlabel: str = "distance (Mpc)", ylabel: str = "velocity (km/s)",
                   title: str | None = "The regression machine ŷ = a·x + b") -> Figure:
    """The data, the fitted line ŷ = a·x + b and the best line through the origin.

    Parameters
    ----------
    x, y : array-like of shape (n_samples,)
        The data (by default labelled as Hubble's distances and velocities).
    a, b : float
        Slope and intercept of the fitted line.
    origin_slope : float, optional
        Slope of the line through the origin (``RegressionMachine.through_origin()``),
        drawn dashed when given.
    xlabel, ylabel : str
        Axis labels, with units.
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    x, y = _as_1d(x, "x"), _as_1d(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y have different lengths: {len(x)} and {len(y)}")
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


def loss_surface(machine: Any, paths: Mapping[str, Any] | None = None, *,
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
    paths : dict of str to array-like of shape (steps, 2), optional
        Named sequences of (a, b), e.g. ``{"full batch": m.path}``. A path
        that does not begin at ``start`` is drawn from ``start``.
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
    paths = {} if paths is None else dict(paths)
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

    fig = _figure(7.4, 5.6)
    ax = fig.add_subplot()
    filled = ax.contourf(A, B, E, levels=np.concatenate([[e_min], levels]), cmap="YlGnBu",
                         alpha=0.6)
    ax.contour(A, B, E, levels=levels, colors="0.35", linewidths=0.5, alpha=0.6)
    cbar = fig.colorbar(filled, ax=ax, label=loss_label)
    cbar.ax.yaxis.set_major_formatter(_compact_formatter())

    # The first path is drawn on top; long (noisy) paths thin and without markers.
    for i, (name, p) in enumerate(drawn.items()):
        color = _PATH_COLORS[i % len(_PATH_COLORS)]
        long = len(p) > 150
        ax.plot(p[:, 0], p[:, 1], color=color, lw=0.9 if long else 2.0,
                marker=None if long else "o", ms=4, alpha=0.8 if long else 1.0,
                zorder=4 + len(drawn) - i, label=f"{name} ({len(p) - 1} steps)")
        ax.plot(*p[-1], marker="o", ms=8, color=color, mec="black", ls="none",
                zorder=5 + len(drawn))
    ax.plot(*start, marker="s", ms=10, color="white", mec="black", zorder=20, ls="none",
            label=f"start ({start[0]:g}, {start[1]:g})")
    ax.plot(*minimum, marker="*", ms=20, color="gold", mec="black", zorder=20, ls="none",
            label=f"minimum ({minimum[0]:.2f}, {minimum[1]:.2f})")
    ax.set_xlim(a_lo, a_hi)
    ax.set_ylim(b_lo, b_hi)
    ax.set_xlabel(a_label)
    ax.set_ylabel(b_label)
    if title:
        ax.set_title(title)
    ax.legend(loc="best", framealpha=0.9, fontsize=9)
    return fig


def _compact_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")


def _running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    i = np.arange(1, len(values) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def loss_per_step(histories: Mapping[str, Any], *, smooth: int | None = None,
                  logx: bool = True, xlabel: str = "update number (gradient steps)",
                  ylabel: str = "loss on the step's batch",
                  title: str | None = "Loss at every gradient step") -> Figure:
    """The loss of every gradient step of several training runs, on log axes.

    Parameters
    ----------
    histories : dict of str to History
        Named results of ``fit`` (anything with ``step_loss`` and
        ``steps_per_epoch``). The legend gives each run's updates per epoch.
    smooth : int, optional
        Window of the running mean drawn over noisy runs (the raw losses
        stay as a faint line). Default: a tenth of the run's updates per
        epoch; 1 turns smoothing off.
    logx : bool
        Log scale for the update number, so a run of a few steps and one of
        thousands fit on one figure. The loss axis is always logarithmic.
    xlabel, ylabel, title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not histories:
        raise ValueError("histories is empty: pass e.g. {'full batch': net.fit(...)}")
    fig = _figure(7.0, 4.8)
    ax = fig.add_subplot()
    shown_lo, shown_hi = np.inf, 0.0  # y range of the bold lines; faint raw ones may clip
    for i, (name, hist) in enumerate(histories.items()):
        losses = np.asarray(hist.step_loss, dtype=float)
        if losses.ndim != 1 or len(losses) == 0:
            raise ValueError(f"run {name!r} has no step losses to plot")
        per_epoch = int(getattr(hist, "steps_per_epoch", 0) or 0)
        color = f"C{i}"
        steps = np.arange(1, len(losses) + 1)
        window = max(1, per_epoch // 10) if smooth is None else max(1, int(smooth))
        label = f"{name}: {per_epoch} update{'s' if per_epoch != 1 else ''}/epoch" \
            if per_epoch else name
        if window > 1 and len(losses) > window:
            ax.plot(steps, losses, color=color, lw=0.5, alpha=0.2)
            bold = _running_mean(losses, window)
            ax.plot(steps, bold, color=color, lw=2, label=f"{label} (running mean of {window})")
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
    if logx:
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


def gate_decision_lines(neurons: Mapping[str, Any], *, ncols: int | None = None) -> Figure:
    """Two-input McCulloch-Pitts neurons: the four inputs and the decision line.

    Each panel shows the inputs (0, 0), (0, 1), (1, 0), (1, 1), hollow where
    the neuron stays silent and filled where it fires, the line
    ``w1·x1 + w2·x2 = threshold`` and, shaded orange, the side where it fires.

    Parameters
    ----------
    neurons : dict of str to McCullochPitts
        Named neurons with two inputs (``weights`` of length 2,
        ``threshold``, and callable on ``[x1, x2]``).
    ncols : int, optional
        Panels per row (default: up to 4).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not neurons:
        raise ValueError("neurons is empty: pass e.g. {'NAND': McCullochPitts([-2, -2], -3)}")
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


def perceptron_lines(results: Mapping[str, Any], *, ncols: int | None = None) -> Figure:
    """The lines learned by perceptrons on 2-D points, one panel per task.

    Parameters
    ----------
    results : dict of str to (X, y, model)
        For each task its points ``X`` (n_samples, 2), labels ``y`` in {0, 1}
        and a fitted ``fastnn.Perceptron`` (anything with ``coef_``,
        ``intercept_``, and optionally ``converged_`` and ``errors_``).
        A task whose model did not converge (XOR) shows its last line dashed:
        no line splits its points.
    ncols : int, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not results:
        raise ValueError("results is empty: pass e.g. {'AND': (X, y, Perceptron().fit(X, y))}")
    rows, cols = _grid(len(results), ncols)
    fig = _figure(3.3 * cols, 3.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, (X, y, model)) in zip(axes, results.items()):
        X, y = _check_X2(X, y)
        w = np.asarray(model.coef_, dtype=float).ravel()
        b = float(model.intercept_)
        converged = bool(getattr(model, "converged_", True))
        errors = list(getattr(model, "errors_", []))
        _shade_and_line(ax, w, -b, color="black" if converged else "#d62728",
                        ls="-" if converged else "--")
        _points(ax, X, y.astype(int))
        _unit_square(ax)
        if converged:
            status = f"learned in {len(errors)} epochs" if errors else "learned"
        else:
            status = f"not learned: {errors[-1]} mistakes in epoch {len(errors)}" if errors \
                else "not learned"
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
             Line2D([], [], color="#d62728", lw=2, ls="--", label="last line tried, if in view")]
    fig.legend(handles=_point_legend(extra), loc="outside lower center", ncols=3, fontsize=9)
    return fig


def decision_regions(net: Any, X: Any, y: Any, *, resolution: int = 250, margin: float = 0.5,
                     xlabel: str = "input x1", ylabel: str = "input x2",
                     title: str | None = "What the network learned") -> Figure:
    """The regions a classifier of 2-D inputs assigns to each class.

    Parameters
    ----------
    net : Sequential or estimator
        Anything whose ``predict(X)`` gives, for ``X`` of shape (n, 2), the
        probability of class 1 (shape (n,) or (n, 1), e.g. a sigmoid output)
        or one probability per class (shape (n, k), e.g. softmax).
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
    P = np.asarray(net.predict(grid), dtype=float)
    fig = _figure(6.0, 5.0)
    ax = fig.add_subplot()
    if P.ndim == 1 or P.shape[1] == 1:
        P1 = P.reshape(G1.shape)
        shown = ax.contourf(G1, G2, P1, levels=np.linspace(0, 1, 11), cmap=_REGION_CMAP)
        ax.contour(G1, G2, P1, levels=[0.5], colors="black", linewidths=2)
        fig.colorbar(shown, ax=ax, label="predicted probability of class 1")
        _points(ax, X, y.astype(int), size=220)
        ax.legend(handles=[*_point_legend()[:2],
                           Line2D([], [], color="black", lw=2, label="boundary (p = 0.5)")],
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
    net : Sequential
        A network of ``Dense`` layers (anything with ``layers`` whose ``W``
        has shape (n_in, n_out) and ``b`` shape (n_out,)).
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
    layers = list(getattr(net, "layers", []))
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
    images : array-like of shape (n, h, w) or (n, h*w)
    probs : array-like of shape (n, n_classes)
        Predicted probabilities, e.g. ``net.predict(X)`` of a softmax network.
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
        Class indices 0 .. n_classes - 1.
    n_classes : int, optional
        Default: one more than the largest class seen.
    class_names : sequence of str, optional
    title : str, optional
        Default: the accuracy.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = np.asarray(y_true).ravel().astype(np.int64)
    p = np.asarray(y_pred).ravel().astype(np.int64)
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
