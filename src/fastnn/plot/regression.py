"""The regression machine: the fitted line, the error surface, the loss step by step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._validation import check_vector
from ..regression import RegressionMachine
from ._runs import _check_machine, _named, _paths, _step_series
from ._style import (
    NEGATIVE,
    OWN,
    PATH_COLORS,
    POSITIVE,
    compact_formatter,
    figure,
    localized,
    words,
)


@localized
def regression_fit(
    x: Any,
    y: Any = None,
    a: Any = None,
    b: float | None = None,
    origin_slope: float | bool | None = None,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
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
    xlabel, ylabel : str, optional
        Axis labels, with units; default Hubble's distance (Mpc) and velocity (km/s).
    title : str or None
        Default: the figure's own title; None for none.
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For data, a line or a ``lang`` it cannot draw; the message names it.
    """
    t = words(lang)["regression_fit"]
    if isinstance(x, RegressionMachine):
        if y is not None or a is not None or b is not None:
            raise TypeError(
                "regression_fit(machine) takes the data and the line from the "
                "machine: give no x, y, a or b with it"
            )
        machine = x
        (x, y), a, b = machine._data(), machine.a, machine.b
    if isinstance(a, RegressionMachine):
        if b is not None:
            raise TypeError(
                "regression_fit(x, y, machine) takes a and b from the machine: give no b with it"
            )
        a, b = a.a, a.b
    if y is None or a is None or b is None:
        raise TypeError(
            "regression_fit needs x, y and the line: regression_fit(machine), "
            "regression_fit(x, y, machine) or regression_fit(x, y, a, b)"
        )
    x, y = check_vector(x, "x"), check_vector(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y have different lengths: {len(x)} and {len(y)}")
    a, b = float(a), float(b)
    if origin_slope is True:
        origin_slope = float(np.sum(x * y) / np.sum(x * x))
    elif origin_slope is False:
        origin_slope = None
    fig = figure(6.4, 4.6)
    ax = fig.add_subplot()
    ax.scatter(x, y, s=36, color="0.2", zorder=3, label=t["data"].format(n=len(x)))
    lo, hi = min(0.0, float(x.min())), float(x.max())
    xs = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 2)
    ax.plot(
        xs,
        a * xs + b,
        color=POSITIVE,
        lw=2.2,
        label=t["fit"].format(a=a, sign="-" if b < 0 else "+", b=abs(b)),
    )
    if origin_slope is not None:
        ax.plot(
            xs,
            origin_slope * xs,
            color=NEGATIVE,
            lw=2,
            ls="--",
            label=t["origin"].format(slope=origin_slope),
        )
    ax.axhline(0, color="0.7", lw=0.8, zorder=0)
    ax.axvline(0, color="0.7", lw=0.8, zorder=0)
    ax.set_xlabel(t["xlabel"] if xlabel is None else xlabel)
    ax.set_ylabel(t["ylabel"] if ylabel is None else ylabel)
    title = t["title"] if title is OWN else title
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


@localized
def loss_surface(
    machine: Any,
    paths: Any = None,
    *,
    start: tuple[float, float] = (0.0, 0.0),
    minimum: tuple[float, float] | None = None,
    a_range: tuple[float, float] | None = None,
    b_range: tuple[float, float] | None = None,
    n_levels: int = 18,
    resolution: int = 240,
    a_label: str | None = None,
    b_label: str | None = None,
    loss_label: str = "E(a, b)",
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
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
    a_label, b_label, loss_label : str, optional
        Axis and colour-bar labels (add units for your data); default
        "slope a", "intercept b", "E(a, b)" in ``lang``.
    title : str or None
        Default: the figure's own title; None for none.
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For a machine, paths or ``lang`` it cannot draw; the message names it.
    """
    t = words(lang)["loss_surface"]
    _check_machine(machine, minimum is None)
    if paths is None and len(getattr(machine, "path", ())):
        paths = {t["path"]: machine.path}
    fig = figure(7.4, 5.6)
    ax = fig.add_subplot()
    _draw_surface(
        fig,
        ax,
        machine,
        paths,
        start=start,
        minimum=minimum,
        a_range=a_range,
        b_range=b_range,
        n_levels=n_levels,
        resolution=resolution,
        a_label=a_label,
        b_label=b_label,
        loss_label=loss_label,
        lang=lang,
    )
    title = t["title"] if title is OWN else title
    if title:
        ax.set_title(title)
    ax.legend(loc="best", framealpha=0.9, fontsize=9)
    return fig


def _draw_surface(
    fig: Figure,
    ax: Any,
    machine: Any,
    paths: Any,
    *,
    start: tuple[float, float] = (0.0, 0.0),
    minimum: tuple[float, float] | None = None,
    a_range: tuple[float, float] | None = None,
    b_range: tuple[float, float] | None = None,
    n_levels: int = 18,
    resolution: int = 240,
    a_label: str | None = None,
    b_label: str | None = None,
    loss_label: str = "E(a, b)",
    step_label: str | None = None,
    equal_aspect: bool = False,
    colors: Sequence[str] = PATH_COLORS,
    lang: str = "en",
) -> dict:
    """Draw the contour map of ``machine.loss`` and the paths on ``ax``; return
    the paths as drawn (each an array (steps + 1, 2) beginning at ``start``)."""
    t = words(lang)["loss_surface"]
    step_label = t["steps"] if step_label is None else step_label
    _check_machine(machine, minimum is None)
    paths = _paths(paths, t["path"])
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

    filled = ax.contourf(
        A, B, E, levels=np.concatenate([[e_min], levels]), cmap="YlGnBu", alpha=0.6
    )
    ax.contour(A, B, E, levels=levels, colors="0.35", linewidths=0.5, alpha=0.6)
    cbar = fig.colorbar(filled, ax=ax, label=loss_label)
    cbar.ax.yaxis.set_major_formatter(compact_formatter())

    # The first path is drawn on top; long (noisy) paths thin and without markers.
    for i, (name, p) in enumerate(drawn.items()):
        color = colors[i % len(colors)]
        long = len(p) > 150
        ax.plot(
            p[:, 0],
            p[:, 1],
            color=color,
            lw=0.9 if long else 2.0,
            marker=None if long else "o",
            ms=4,
            alpha=0.8 if long else 1.0,
            zorder=4 + len(drawn) - i,
            label=f"{name} ({step_label.format(n=len(p) - 1)})" if step_label else name,
        )
        ax.plot(
            *p[-1], marker="o", ms=8, color=color, mec="black", ls="none", zorder=5 + len(drawn)
        )
    ax.plot(
        *start,
        marker="s",
        ms=10,
        color="white",
        mec="black",
        zorder=20,
        ls="none",
        label=t["start"].format(a=start[0], b=start[1]),
    )
    ax.plot(
        *minimum,
        marker="*",
        ms=20,
        color="gold",
        mec="black",
        zorder=20,
        ls="none",
        label=t["minimum"].format(a=minimum[0], b=minimum[1]),
    )
    ax.set_xlim(a_lo, a_hi)
    ax.set_ylim(b_lo, b_hi)
    if equal_aspect:
        ax.set_aspect("equal")
    ax.set_xlabel(t["a_label"] if a_label is None else a_label)
    ax.set_ylabel(t["b_label"] if b_label is None else b_label)
    return drawn


def _running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each point (fewer at the start)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    i = np.arange(1, len(values) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


@localized
def loss_per_step(
    histories: Any,
    *,
    smooth: int | None = None,
    logx: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = OWN,
    colors: Sequence[str] | None = None,
    details: bool = True,
    lang: str = "en",
) -> Figure:
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
    xlabel, ylabel : str, optional
        Axis labels; default the figure's own in ``lang``.
    title : str or None
        Default: the figure's own title; None for none.
    colors : sequence of str, optional
        One colour per run (default: matplotlib's cycle).
    details : bool
        Give each run's updates per epoch and smoothing window in the legend
        (turn off when all runs share them and say so in ``xlabel``).
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For runs, losses or a ``lang`` it cannot draw; the message names it.
    """
    t = words(lang)["loss_per_step"]
    runs = _named(histories, "histories", t["training"], "{'full batch': net.fit(...)}", t["run"])
    series = {name: _step_series(run, name) for name, run in runs.items()}
    for name, (_, losses, _) in series.items():
        if len(losses) == 0:
            raise ValueError(f"run {name!r} has no step losses to plot")
    fig = figure(7.0, 4.8)
    ax = fig.add_subplot()
    shown_lo, shown_hi = np.inf, 0.0  # y range of the bold lines; faint raw ones may clip
    for i, (name, (steps, losses, per_epoch)) in enumerate(series.items()):
        color = f"C{i}" if colors is None else colors[i % len(colors)]
        window = max(1, per_epoch // 10) if smooth is None else max(1, int(smooth))
        label = (
            t["per_epoch_1" if per_epoch == 1 else "per_epoch"].format(name=name, n=per_epoch)
            if per_epoch and details
            else name
        )
        if window > 1 and len(losses) > window:
            ax.plot(steps, losses, color=color, lw=0.5, alpha=0.2)
            bold = _running_mean(losses, window)
            ax.plot(
                steps,
                bold,
                color=color,
                lw=2,
                label=t["running_mean"].format(label=label, n=window) if details else label,
            )
        else:
            bold = losses
            ax.plot(
                steps,
                losses,
                color=color,
                lw=2,
                marker="o" if len(losses) <= 60 else None,
                ms=3.5,
                label=label,
            )
        positive = bold[np.isfinite(bold) & (bold > 0)]
        if len(positive):
            shown_lo, shown_hi = min(shown_lo, positive.min()), max(shown_hi, positive.max())
    ax.set_yscale("log")
    if np.isfinite(shown_lo) and shown_hi > 0:
        ax.set_ylim(shown_lo / 2.5, shown_hi * 2.5)
    if logx:  # a run that starts at step 0 needs a linear stretch near 0
        from_zero = any(steps[0] == 0 for steps, _, _ in series.values())
        if from_zero:
            ax.set_xscale("symlog", linthresh=1)
        else:
            ax.set_xscale("log")
    ax.set_xlabel(t["xlabel"] if xlabel is None else xlabel)
    ax.set_ylabel(t["ylabel"] if ylabel is None else ylabel)
    title = t["title"] if title is OWN else title
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return fig
