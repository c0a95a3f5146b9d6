"""Training in practice: optimizers, input scaling, initialisation and overfitting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..history import History
from ..inspection import layer_outputs, network_of
from ..regression import RegressionMachine, steps_within
from ._runs import (
    _check_machine,
    _curve,
    _epoch_losses,
    _history_of,
    _is_numbers,
    _kind,
    _named,
    _paths,
)
from ._style import OWN, PATH_COLORS, figure, localized, number, words
from .regression import _draw_surface


@localized
def optimizer_paths(
    machine: Any,
    paths: Any,
    *,
    tol: float = 0.01,
    max_drawn: int = 100,
    a_label: str | None = None,
    b_label: str | None = None,
    loss_label: str = "E(a, b)",
    gap_label: str = "E - E_min",
    colors: Sequence[str] = PATH_COLORS,
    a_range: tuple[float, float] | None = None,
    b_range: tuple[float, float] | None = None,
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
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
    a_label, b_label, loss_label : str, optional
        Axis and colour-bar labels of the map; default "slope a",
        "intercept b", "E(a, b)" in ``lang``.
    gap_label : str
        Label of the right panel's vertical axis.
    colors : sequence of str
        One colour per path.
    a_range, b_range : (float, float), optional
        Extent of the map (default: what is drawn, with a margin).
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
        For a machine or paths it cannot draw; the message names them.
    """
    t = words(lang)["optimizer_paths"]
    _check_machine(machine)
    if not isinstance(paths, Mapping):
        raise TypeError(
            "paths must be a dict of name to run, e.g. {'SGD, lr=0.3': machine}; "
            f"got {_kind(paths)}"
        )
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
        drawn[name] = p[: max(1, min(upto, int(max_drawn)))]
    fig = figure(13.5, 5.8)
    ax_map, ax_loss = fig.subplots(1, 2, width_ratios=[1.15, 1])
    _draw_surface(
        fig,
        ax_map,
        machine,
        drawn,
        a_range=a_range,
        b_range=b_range,
        a_label=a_label,
        b_label=b_label,
        loss_label=loss_label,
        step_label=t["steps_drawn"],
        colors=colors,
        lang=lang,
    )
    ax_map.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8.5)
    ax_map.set_title(t["map_title"].format(tol=100 * tol), fontsize=10)
    floor = max(e_min, 1e-300) * 1e-9
    for i, (name, E) in enumerate(full.items()):
        color = colors[i % len(colors)]
        steps = np.arange(1, len(E) + 1)
        at = reached[name]
        said = (
            t["reached"].format(n=at)
            if at is not None
            else t["not_reached"].format(tol=100 * tol, n=len(E))
        )
        ax_loss.plot(
            steps, np.maximum(E - e_min, floor), color=color, lw=1.8, label=f"{name}: {said}"
        )
        if at is not None:
            ax_loss.plot(
                at,
                max(E[at - 1] - e_min, floor),
                marker="o",
                ms=7,
                color=color,
                mec="black",
                ls="none",
            )
    ax_loss.axhline(
        tol * e_min,
        color="black",
        ls="--",
        lw=1.2,
        label=t["tol_line"].format(tol=100 * tol, e=number(e_min)),
    )
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    top = max(float(np.nanmax(E[np.isfinite(E)] - e_min)) for E in full.values())
    ax_loss.set_ylim(max(tol * e_min * 1e-4, floor), top * 3)
    ax_loss.set_xlabel(t["step"])
    ax_loss.set_ylabel(gap_label)
    ax_loss.set_title(t["loss_title"], fontsize=10)
    ax_loss.grid(alpha=0.3, which="both")
    ax_loss.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8.5)
    title = t["title"] if title is OWN else title
    if title:
        fig.suptitle(title)
    return fig


@localized
def loss_surfaces(
    panels: Mapping[str, Mapping[str, Any]],
    *,
    equal_aspect: bool = True,
    title: str | None = None,
    lang: str = "en",
) -> Figure:
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
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For a panel it cannot draw; the message names it.
    """
    t = words(lang)["loss_surface"]
    if not isinstance(panels, Mapping):
        raise TypeError(
            "panels must be a dict of panel title to a RegressionMachine or a "
            f"dict with 'machine', got {_kind(panels)}"
        )
    if not panels:
        raise ValueError("panels is empty: pass e.g. {'raw': {'machine': m, 'paths': ...}}")
    allowed = {
        "machine",
        "paths",
        "start",
        "minimum",
        "a_range",
        "b_range",
        "a_label",
        "b_label",
        "loss_label",
        "n_levels",
    }
    fig = figure(6.6 * len(panels), 6.4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, spec) in zip(axes, panels.items()):
        if isinstance(spec, RegressionMachine):
            spec = {"machine": spec}
        if not isinstance(spec, Mapping):
            raise TypeError(
                f"panel {name!r} must be a RegressionMachine or a dict with "
                f"'machine', got {_kind(spec)}"
            )
        unknown = set(spec) - allowed
        if "machine" not in spec or unknown:
            raise ValueError(
                f"panel {name!r} needs 'machine' and may hold only "
                f"{sorted(allowed)}; got {sorted(spec)}"
            )
        kwargs = dict(spec)
        machine = kwargs.pop("machine")
        paths = kwargs.pop("paths", None)
        if paths is None and len(getattr(machine, "path", ())):
            paths = {t["path"]: machine.path}
        _draw_surface(fig, ax, machine, paths, equal_aspect=equal_aspect, lang=lang, **kwargs)
        ax.set_title(name, fontsize=10.5)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=1, fontsize=8.5)
    if title:
        fig.suptitle(title)
    return fig


def _history_curves(hist: History, accuracy: bool, name: str, t: dict) -> dict:
    """A History's training and validation curves: accuracy or loss per epoch."""
    if accuracy:
        train = list(getattr(hist, "accuracy", None) or [])
        if not train:
            raise ValueError(
                f"run {name!r}: this History has no training accuracy per epoch "
                "(only a classification loss records it); pass ylabel='loss'"
            )
        curves = {t["train"]: train}
        if hist.val_accuracy:
            curves[t["validation"]] = list(hist.val_accuracy)
        return curves
    curves = {t["train"]: list(hist.loss)}
    if hist.val_loss:
        curves[t["validation"]] = list(hist.val_loss)
    return curves


@localized
def learning_curves(
    runs: Any,
    *,
    ylabel: str | None = None,
    percent: bool | None = None,
    marks: Mapping[str, int] | None = None,
    xlabel: str | None = None,
    ylim: tuple[float, float] | None = None,
    title: str | None = None,
    lang: str = "en",
) -> Figure:
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
        Default "accuracy" (in ``lang``); for Histories, "loss" when one of
        them has no training accuracy (a regression loss). A History gives
        accuracy curves when ``ylabel`` says accuracy (in English or in
        ``lang``), loss curves otherwise.
    percent : bool, optional
        Show values as percentages; default when ``ylabel`` says accuracy.
    marks : dict of str to int, optional
        Run name to an epoch (0-based) marked by a vertical line, e.g. the
        epoch whose weights early stopping kept; the legend then gives the
        values at that epoch instead of the last ones.
    xlabel : str, optional
        Default "epoch" in ``lang``.
    ylim : (float, float), optional
        Range of the vertical axis (in percent when ``percent``).
    title : str or None
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For runs or curves it cannot draw; the message names them.
    """
    t = words(lang)["learning_curves"]
    example = "{'plain': {'train': [...], 'held-out': [...]}}"
    if isinstance(runs, Mapping) and runs and all(_is_numbers(v) for v in runs.values()):
        runs = {"": runs}  # the curves of one run
    runs = _named(runs, "runs", "", example, t["run"])
    runs = {name: _history_of(run) or run for name, run in runs.items()}
    histories = [run for run in runs.values() if isinstance(run, History)]
    if ylabel is None:
        has_accuracy = all(getattr(h, "accuracy", None) for h in histories)
        ylabel = t["accuracy"] if has_accuracy else t["loss"]
    says_accuracy = "accuracy" in ylabel.lower() or t["accuracy"] in ylabel
    for name, run in list(runs.items()):
        if isinstance(run, History):
            runs[name] = _history_curves(run, says_accuracy, name, t)
        elif not isinstance(run, Mapping):
            raise TypeError(
                f"run {name!r} must be a History or a dict of curves, e.g. "
                f"{example}; got {_kind(run)}"
            )
    if percent is None:
        percent = says_accuracy
    marks = {} if marks is None else dict(marks)
    scale = 100.0 if percent else 1.0
    cols = min(len(runs), 4)
    rows = -(-len(runs) // cols)
    fig = figure(3.9 * cols + 0.4, 3.6 * rows + 0.9)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True).ravel()
    styles = [
        {"color": "#1f77b4", "ls": "-"},
        {"color": "#d62728", "ls": "-"},
        {"color": "0.4", "ls": "--"},
        {"color": "#2ca02c", "ls": ":"},
    ]
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
            when = t["at_end"] if mark is None else t["at_epoch"].format(n=at + 1)
            ax.plot(
                np.arange(1, len(v) + 1),
                v,
                lw=2,
                label=t["value"].format(name=cname, value=value, when=when),
                **styles[i % len(styles)],
            )
        if len(arrays) >= 2:
            first, second = list(arrays.values())[:2]
            m = min(len(first), len(second))
            ax.fill_between(
                np.arange(1, m + 1),
                first[:m],
                second[:m],
                color="#d62728",
                alpha=0.12,
                lw=0,
                label=t["gap"],
            )
        if mark is not None:
            ax.axvline(mark + 1, color="black", lw=1.2, ls="-.", label=t["kept"].format(n=mark + 1))
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(t["epoch"] if xlabel is None else xlabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if percent else "upper right")
    for ax in axes[::cols]:
        ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    if ylim is not None:
        axes[0].set_ylim(*ylim)
    for ax in axes[len(runs) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


@localized
def loss_per_epoch(
    histories: Any,
    *,
    logy: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
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
    xlabel, ylabel : str, optional
        Axis labels; default the figure's own in ``lang``.
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
        For runs it cannot draw; the message names them.
    """
    t = words(lang)["loss_per_epoch"]
    runs = _named(histories, "histories", t["training"], "{'He init': net.fit(...)}", t["run"])
    curves = {name: _epoch_losses(run, name) for name, run in runs.items()}
    fig = figure(7.0, 4.8)
    ax = fig.add_subplot()
    for i, (name, losses) in enumerate(curves.items()):
        if len(losses) == 0:
            raise ValueError(f"run {name!r} has no losses to plot")
        ax.plot(
            np.arange(1, len(losses) + 1),
            losses,
            color=f"C{i}",
            lw=2,
            marker="o" if len(losses) <= 40 else None,
            ms=3.5,
            label=t["at_end"].format(name=name, loss=losses[-1]),
        )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(t["xlabel"] if xlabel is None else xlabel)
    ax.set_ylabel(t["ylabel"] if ylabel is None else ylabel)
    title = t["title"] if title is OWN else title
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5)
    return fig


@localized
def activation_histograms(
    nets: Any,
    X: Any,
    *,
    layers: Sequence[int] | None = None,
    bins: int = 30,
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
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
        Bars per histogram.
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
        For networks or layer indices it cannot draw; the message names them.
    """
    t = words(lang)["activation_histograms"]
    nets = _named(nets, "nets", t["network"], "{'He': net}", t["run"])
    nets = {name: network_of(net, f"nets[{name!r}]") for name, net in nets.items()}
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
    fig = figure(2.55 * ncols + 0.9, 2.1 * len(data) + 0.9)
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
                ax.text(
                    0.97,
                    0.93,
                    t["zeros"].format(p=100 * (1 - len(shown) / len(v))),
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=7.5,
                )
            ax.hist(
                np.clip(shown, lo, hi),
                bins=np.linspace(lo, hi, bins + 1),
                weights=np.full(len(shown), 1.0 / len(v)),
                color=f"C{r}",
                alpha=0.85,
            )
            ax.set_xlim(lo, hi)
            ax.set_title(t["layer"].format(i=i + 1, act=act, std=v.std()), fontsize=8.5)
            ax.tick_params(labelsize=7.5)
            if r == len(data) - 1:
                ax.set_xlabel(t["activation"], fontsize=8.5)
        axes[r, 0].set_ylabel(t["fraction"].format(name=name), fontsize=8.5)
    title = t["title"] if title is OWN else title
    if title:
        fig.suptitle(title)
    return fig
