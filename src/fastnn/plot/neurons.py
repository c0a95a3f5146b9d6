"""Neurons and perceptrons: the decision lines of two-input units and a classifier's regions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .._validation import check_points_2d
from ..logic import CORNERS
from ._runs import _kind
from ._style import CLASS_COLORS, OWN, REGION_CMAP, figure, localized, panel_grid, words


def _points(ax: Any, X: np.ndarray, y: np.ndarray, t: dict, size: float = 160) -> None:
    """Scatter 0/1-labelled points: hollow blue circles for 0, filled orange for 1."""
    for label, color in enumerate(CLASS_COLORS):
        mask = y == label
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=size,
            zorder=3,
            linewidths=2,
            facecolors="white" if label == 0 else color,
            edgecolors=color,
            label=t["output"].format(k=label),
        )


def _point_legend(t: dict, extra: Sequence[Any] = ()) -> list:
    return [
        Line2D(
            [],
            [],
            marker="o",
            ls="none",
            ms=10,
            mfc="white",
            mec=CLASS_COLORS[0],
            mew=2,
            label=t["output"].format(k=0),
        ),
        Line2D(
            [],
            [],
            marker="o",
            ls="none",
            ms=10,
            mfc=CLASS_COLORS[1],
            mec=CLASS_COLORS[1],
            label=t["output"].format(k=1),
        ),
        Patch(facecolor="#fde9d4", edgecolor="0.6", label=t["fires"]),
        *extra,
    ]


def _signed(w: float) -> str:
    return f"- {abs(w):g}" if w < 0 else f"+ {w:g}"


def _unit_square(ax: Any, t: dict) -> None:
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    ax.set_aspect("equal")
    ax.set_xlabel(t["x1"])
    ax.set_ylabel(t["x2"])


def _shade_and_line(
    ax: Any, w: Sequence[float] | np.ndarray, offset: float, color: str = "black", ls: str = "-"
) -> None:
    """Shade where w·x >= offset and draw the line w·x = offset."""
    g = np.linspace(-0.5, 1.5, 201)
    G1, G2 = np.meshgrid(g, g)
    S = w[0] * G1 + w[1] * G2 - offset
    ax.contourf(
        G1,
        G2,
        (S >= 0).astype(float),
        levels=[-0.5, 0.5, 1.5],
        colors=["#eef4fa", "#fde9d4"],
        zorder=0,
    )
    if w[0] != 0 or w[1] != 0:
        ax.contour(G1, G2, S, levels=[0], colors=color, linewidths=2.2, linestyles=ls, zorder=2)


@localized
def gate_decision_lines(neurons: Any, *, ncols: int | None = None, lang: str = "en") -> Figure:
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
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For something that is not a two-input neuron; the message names it.
    """
    t = words(lang)["neurons"]
    example = "{'NAND': McCullochPitts([-2, -2], -3)}"
    if not isinstance(neurons, Mapping) and hasattr(neurons, "weights"):
        neurons = {t["neuron"]: neurons}
    if not isinstance(neurons, Mapping):
        raise TypeError(
            f"neurons must be a McCullochPitts neuron or a dict of them, e.g. "
            f"{example}; got {_kind(neurons)}"
        )
    if not neurons:
        raise ValueError(f"neurons is empty: pass e.g. {example}")
    for name, neuron in neurons.items():
        if not (hasattr(neuron, "weights") and hasattr(neuron, "threshold") and callable(neuron)):
            hint = (
                " (a gate function is a circuit of NAND neurons; its single neuron is "
                "fastnn.logic.NAND_NEURON)"
                if callable(neuron)
                else ""
            )
            raise TypeError(
                f"neuron {name!r} must be a McCullochPitts neuron, with weights "
                f"and a threshold, got {getattr(neuron, '__name__', _kind(neuron))}"
                f"{hint}"
            )
    rows, cols = panel_grid(len(neurons), ncols)
    fig = figure(3.3 * cols, 3.5 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, neuron) in zip(axes, neurons.items()):
        w = [float(v) for v in neuron.weights]
        if len(w) != 2:
            raise ValueError(f"neuron {name!r} has {len(w)} inputs; a decision line needs 2")
        threshold = float(neuron.threshold)
        y = np.array([neuron([int(a), int(b)]) for a, b in CORNERS])
        _shade_and_line(ax, w, threshold)
        _points(ax, CORNERS, y, t)
        _unit_square(ax, t)
        ax.set_title(f"{name}\n{w[0]:g}·x1 {_signed(w[1])}·x2 ≥ {threshold:g}", fontsize=11)
    for ax in axes[len(neurons) :]:
        ax.set_visible(False)
    fig.legend(handles=_point_legend(t), loc="outside lower center", ncols=3, fontsize=9)
    return fig


@localized
def perceptron_lines(results: Any, *, ncols: int | None = None, lang: str = "en") -> Figure:
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
        Panels per row (default: up to 4).
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For tasks or models it cannot draw; the message names them.
    """
    t = words(lang)["neurons"]
    example = "{'AND': (X, y, Perceptron().fit(X, y))}"
    if isinstance(results, tuple) and len(results) == 3:
        results = {t["perceptron"]: results}
    if not isinstance(results, Mapping):
        raise TypeError(
            f"results must be a dict of name to (X, y, model), e.g. {example}; got {_kind(results)}"
        )
    if not results:
        raise ValueError(f"results is empty: pass e.g. {example}")
    for name, task in results.items():
        if not (isinstance(task, (tuple, list)) and len(task) == 3):
            raise TypeError(
                f"results[{name!r}] must be (X, y, model): the points, their "
                f"labels and the fitted perceptron; got {_kind(task)}"
            )
        if not hasattr(task[2], "coef_"):
            raise ValueError(
                f"results[{name!r}]: the model ({_kind(task[2])}) has no coef_; "
                "pass a fitted Perceptron"
            )
    rows, cols = panel_grid(len(results), ncols)
    fig = figure(3.3 * cols, 3.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, (X, y, model)) in zip(axes, results.items()):
        X, y = check_points_2d(X, y)
        y = y.astype(int)
        w = np.asarray(model.coef_, dtype=float).ravel()
        b = float(model.intercept_)
        converged = bool(getattr(model, "converged_", True))
        errors = list(getattr(model, "errors_", []))
        _shade_and_line(
            ax, w, -b, color="black" if converged else "#d62728", ls="-" if converged else "--"
        )
        _points(ax, X, y, t)
        if callable(getattr(model, "predict", None)):
            pred = np.asarray(model.predict(X)).astype(int).ravel()
        else:
            pred = (X @ w + b >= 0).astype(int)
        wrong = pred != y
        ax.plot(
            X[wrong, 0],
            X[wrong, 1],
            ls="none",
            marker="o",
            ms=22,
            mfc="none",
            mec="#d62728",
            mew=2.5,
            zorder=5,
            gid="wrong",
        )
        _unit_square(ax, t)
        if converged:
            status = t["learned_in"].format(n=len(errors)) if errors else t["learned"]
        else:
            status = (
                (t["not_learned_in"].format(n=len(errors)) if errors else t["not_learned"])
                + "\n"
                + t["wrong"].format(k=int(wrong.sum()), n=len(y))
            )
            ax.text(
                0.5,
                0.5,
                t["no_line"],
                ha="center",
                va="center",
                fontsize=8.5,
                color="#d62728",
                zorder=4,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#d62728"},
            )
        ax.set_title(f"{name}\n{status}", fontsize=11, color="black" if converged else "#d62728")
        ax.text(
            0.5,
            0.02,
            f"{w[0]:.3g}·x1 {_signed(round(w[1], 3))}·x2 {_signed(round(b, 3))} = 0",
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=8.5,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
    for ax in axes[len(results) :]:
        ax.set_visible(False)
    extra = [
        Line2D([], [], color="black", lw=2, label=t["learned_line"]),
        Line2D([], [], color="#d62728", lw=2, ls="--", label=t["last_line"]),
        Line2D(
            [],
            [],
            ls="none",
            marker="o",
            ms=12,
            mfc="none",
            mec="#d62728",
            mew=2,
            label=t["wrong_side"],
        ),
    ]
    fig.legend(handles=_point_legend(t, extra), loc="outside lower center", ncols=3, fontsize=9)
    return fig


@localized
def decision_regions(
    net: Any,
    X: Any,
    y: Any,
    *,
    resolution: int = 250,
    margin: float = 0.5,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
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
    xlabel, ylabel : str, optional
        Axis labels; default "input x1", "input x2" in ``lang``.
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
        For a model, points or ``lang`` it cannot draw; the message names it.
    """
    t = words(lang)["neurons"]
    X, y = check_points_2d(X, y)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    G1, G2 = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.column_stack([G1.ravel(), G2.ravel()])  # (resolution², 2)
    predict = getattr(net, "predict_proba", None) or getattr(net, "predict", None)
    if not callable(predict):
        raise TypeError(
            f"net must be a fitted model with predict (a Sequential, an "
            f"MLPClassifier, a Perceptron), got {_kind(net)}"
        )
    P = np.asarray(predict(grid))
    labels_only = P.dtype.kind in "biu"  # class labels, not probabilities
    P = P.astype(float)
    if P.ndim == 2 and P.shape[1] == 2:
        P = P[:, 1]  # two classes: the probability of class 1
    if P.ndim not in (1, 2) or len(P) != len(grid):
        raise ValueError(
            f"net's prediction for {len(grid)} points of shape (n, 2) has shape "
            f"{P.shape}; expected (n,), (n, 1) or (n, n_classes)"
        )
    fig = figure(6.0, 5.0)
    ax = fig.add_subplot()
    if P.ndim == 1 or P.shape[1] == 1:
        P1 = P.reshape(G1.shape)
        shown = ax.contourf(G1, G2, P1, levels=np.linspace(0, 1, 11), cmap=REGION_CMAP)
        ax.contour(G1, G2, P1, levels=[0.5], colors="black", linewidths=2)
        fig.colorbar(
            shown,
            ax=ax,
            label=t["predicted_class"] if labels_only else t["predicted_probability"],
        )
        _points(ax, X, y.astype(int), t, size=220)
        ax.legend(
            handles=[
                *_point_legend(t)[:2],
                Line2D(
                    [],
                    [],
                    color="black",
                    lw=2,
                    label=t["boundary"] if labels_only else t["boundary_p"],
                ),
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncols=3,
            fontsize=9,
        )
    else:
        k = P.shape[1]
        cls = P.argmax(axis=1).reshape(G1.shape)
        ax.contourf(
            G1, G2, cls, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmin=-0.5, vmax=9.5, alpha=0.3
        )
        ax.scatter(
            X[:, 0],
            X[:, 1],
            c=y.astype(int),
            cmap="tab10",
            vmin=-0.5,
            vmax=9.5,
            s=60,
            edgecolors="black",
            zorder=3,
        )
        cmap = matplotlib.colormaps["tab10"]
        ax.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="none",
                    ms=8,
                    mec="black",
                    mfc=cmap(c % 10),
                    label=t["class"].format(c=c),
                )
                for c in range(k)
            ],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncols=min(k, 5),
            fontsize=9,
        )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel(t["x1"] if xlabel is None else xlabel)
    ax.set_ylabel(t["x2"] if ylabel is None else ylabel)
    title = t["regions_title"] if title is OWN else title
    if title:
        ax.set_title(title)
    return fig
