"""The figure functions: each works on its own, on small inputs, and returns a Figure."""

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

import fastnn  # noqa: E402
from fastnn import plot  # noqa: E402
from fastnn.logic import McCullochPitts  # noqa: E402
from fastnn.perceptron import ConvergenceWarning, Perceptron  # noqa: E402

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """plot.py draws on standalone Figures: none may stay open in pyplot."""
    plt.close("all")
    yield
    assert plt.get_fignums() == []
    plt.close("all")


def render(fig):
    """Draw the figure to PNG bytes; a missing glyph or layout problem warns."""
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Glyph 8805 missing from font"
        fig.savefig(buf, format="png")
    data = buf.getvalue()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 2000
    fig.clear()
    return data


def texts(fig):
    """Every piece of text in the figure: titles, labels, legends, annotations."""
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_importing_fastnn_does_not_import_matplotlib():
    src = str(Path(fastnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = ("import sys, fastnn, fastnn.tour, fastnn.__main__; "
            "sys.exit(1 if 'matplotlib' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def test_digit_image_writes_every_pixel_value():
    image = np.arange(64).reshape(8, 8) % 17
    fig = plot.digit_image(image.ravel(), label=7)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "pixel column" and ax.get_ylabel() == "pixel row"
    assert "label = 7" in ax.get_title()
    cell_texts = [t.get_text() for t in ax.texts]
    assert len(cell_texts) == 64 and cell_texts[:3] == ["0", "1", "2"]
    render(fig)
    with pytest.raises(ValueError, match="square number of pixels"):
        plot.digit_image(np.zeros(10))


def test_regression_fit_labels_and_lines():
    x = np.array([0.5, 1.0, 1.5, 2.0])
    y = 3.0 * x - 1.0
    fig = plot.regression_fit(x, y, 3.0, -1.0, origin_slope=2.2)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "distance (Mpc)" and ax.get_ylabel() == "velocity (km/s)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["data (4 points)", "fit: ŷ = 3.00·x - 1.00",
                      "through the origin: ŷ = 2.20·x"]
    render(fig)
    fig = plot.regression_fit(x, y, 3.0, -1.0, xlabel="hours", ylabel="score (points)")
    assert fig.axes[0].get_xlabel() == "hours"
    assert len(fig.axes[0].get_legend().get_texts()) == 2  # no line through the origin
    render(fig)
    with pytest.raises(ValueError, match="different lengths"):
        plot.regression_fit(x, y[:3], 1.0, 0.0)


def test_loss_surface_marks_start_minimum_and_paths():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, 20)
    y = 2.0 * x + 1.0 + rng.normal(0, 0.1, 20)
    m = fastnn.RegressionMachine().fit(x, y, lr=0.2, steps=80)
    online = fastnn.RegressionMachine().fit(x, y, lr=0.05, steps=200, batch_size=1)
    fig = plot.loss_surface(m, {"full batch": m.path, "online": online.path},
                            a_label="slope a (1)", b_label="intercept b (1)")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "slope a (1)" and ax.get_ylabel() == "intercept b (1)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    a_cf, b_cf = m.closed_form()
    assert legend == ["full batch (80 steps)", "online (200 steps)", "start (0, 0)",
                      f"minimum ({a_cf:.2f}, {b_cf:.2f})"]
    # each path is drawn from the start (0, 0)
    path_line = next(line for line in ax.lines if line.get_label() == "full batch (80 steps)")
    assert tuple(path_line.get_xydata()[0]) == (0.0, 0.0)
    assert len(path_line.get_xydata()) == 81
    # the map covers the start, the minimum and the paths
    (a_lo, a_hi), (b_lo, b_hi) = ax.get_xlim(), ax.get_ylim()
    assert a_lo < 0 < a_cf < a_hi and b_lo < min(0, b_cf) and max(0, b_cf) < b_hi
    assert len(fig.axes) == 2  # the map and its colour bar
    assert fig.axes[1].get_ylabel() == "E(a, b)"
    render(fig)


def test_loss_surface_contour_levels_are_log_spaced_above_the_minimum():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    m = fastnn.RegressionMachine().fit(x, 2 * x + 1 + np.array([0.1, -0.1, 0.1, -0.1]),
                                       lr=0.1, steps=5)
    fig = plot.loss_surface(m, n_levels=8, a_range=(-1, 5), b_range=(-3, 4))
    contour_sets = [c for c in fig.axes[0].collections if hasattr(c, "levels")]
    lines = contour_sets[-1]
    rise = np.asarray(lines.levels) - m.loss(*m.closed_form())
    ratios = rise[1:] / rise[:-1]
    assert len(rise) == 8 and np.allclose(ratios, ratios[0], rtol=1e-3) and ratios[0] > 1
    render(fig)


def test_loss_per_step_log_axis_and_updates_per_epoch_in_legend():
    X = np.random.default_rng(1).normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    runs = {}
    for name, bs in [("full", None), ("mini", 8), ("online", 1)]:
        net = fastnn.Sequential([fastnn.Dense(3, 1)], loss="mse", seed=0)
        runs[name] = net.fit(X, y, epochs=5, batch_size=bs, optimizer=fastnn.SGD(lr=0.02))
    fig = plot.loss_per_step(runs)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert ax.get_xlabel() and ax.get_ylabel()
    legend = " | ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "full: 1 update/epoch" in legend
    assert "mini: 5 updates/epoch" in legend
    assert "online: 40 updates/epoch" in legend
    render(fig)
    fig = plot.loss_per_step({"full": runs["full"]}, logx=False)
    assert fig.axes[0].get_xscale() == "linear"
    render(fig)
    with pytest.raises(ValueError, match="empty"):
        plot.loss_per_step({})


def test_gate_decision_lines_one_panel_per_neuron():
    neurons = {"NAND": McCullochPitts([-2, -2], -3), "AND": McCullochPitts([1, 1], 2),
               "x1 only": McCullochPitts([1, 0], 1)}
    fig = plot.gate_decision_lines(neurons)
    axes = visible_axes(fig)
    assert len(axes) == 3
    assert axes[0].get_title() == "NAND\n-2·x1 - 2·x2 ≥ -3"
    assert axes[2].get_title() == "x1 only\n1·x1 + 0·x2 ≥ 1"
    for ax in axes:
        assert ax.get_xlabel() == "input x1" and ax.get_ylabel() == "input x2"
    assert "output 1" in texts(fig)
    render(fig)
    with pytest.raises(ValueError, match="2"):
        plot.gate_decision_lines({"NOT": McCullochPitts([-1], 0)})


def test_perceptron_lines_learned_and_not_learned():
    results = {}
    for name, target in [("AND", [0, 0, 0, 1]), ("XOR", [0, 1, 1, 0])]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            p = Perceptron(max_epochs=20).fit(CORNERS, target)
        results[name] = (CORNERS, np.array(target), p)
    fig = plot.perceptron_lines(results)
    axes = visible_axes(fig)
    assert len(axes) == 2
    assert axes[0].get_title().startswith("AND\nlearned in")
    assert axes[1].get_title().startswith("XOR\nnot learned")
    assert any("no straight line" in t.get_text() for t in axes[1].texts)
    assert all(ax.get_xlabel() == "input x1" for ax in axes)
    render(fig)


def test_decision_regions_binary_and_multiclass():
    X = CORNERS
    y = np.array([0, 1, 1, 0])
    net = fastnn.Sequential([fastnn.Dense(2, 4, "tanh"), fastnn.Dense(4, 1, "sigmoid")],
                            loss="binary_cross_entropy", seed=0)
    fig = plot.decision_regions(net, X, y)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "input x1" and ax.get_ylabel() == "input x2"
    assert fig.axes[1].get_ylabel() == "predicted probability of class 1"
    render(fig)

    X3 = np.random.default_rng(0).normal(size=(30, 2))
    y3 = np.arange(30) % 3
    net3 = fastnn.Sequential([fastnn.Dense(2, 3, "softmax")], seed=0)
    fig = plot.decision_regions(net3, X3, y3, xlabel="feature 1 (cm)", title="three classes")
    assert fig.axes[0].get_xlabel() == "feature 1 (cm)"
    assert fig.axes[0].get_title() == "three classes"
    render(fig)
    with pytest.raises(ValueError, match=r"\(n_samples, 2\)"):
        plot.decision_regions(net, np.zeros((4, 3)), y)


def test_network_drawing_circles_edges_and_signs():
    net = fastnn.Sequential([fastnn.Dense(2, 3, "tanh"), fastnn.Dense(3, 1, "sigmoid")], seed=0)
    net.layers[0].W[...] = [[1.0, -1.0, 0.5], [-0.25, 2.0, -2.0]]
    fig = plot.network_drawing(net)
    ax = fig.axes[0]
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 2 + 3 + 1
    edges = [line for line in ax.lines if len(line.get_xdata()) == 2]
    assert len(edges) == 2 * 3 + 3 * 1
    first = edges[:6]  # input -> hidden, row-major over W
    widths = [e.get_linewidth() for e in first]
    assert widths[4] > widths[0] > widths[3]  # |2| > |1| > |-0.25|
    assert first[0].get_color() == plot.POSITIVE and first[1].get_color() == plot.NEGATIVE
    words = texts(fig)
    assert "x1" in words and "ŷ" in words and "2.00" in words and "-0.25" in words
    assert any("hidden 1 (3)" in w for w in words)
    render(fig)


def test_network_drawing_wide_layers_are_elided():
    net = fastnn.Sequential([fastnn.Dense(64, 32, "relu"), fastnn.Dense(32, 10, "softmax")],
                            seed=0)
    fig = plot.network_drawing(net, max_neurons=8)
    ax = fig.axes[0]
    assert len([p for p in ax.patches if isinstance(p, Circle)]) == 7 + 7 + 7
    assert sum(t.get_text() == "⋮" for t in ax.texts) == 3
    render(fig)

    class NotDense:
        W = None

    class Fake:
        layers = [NotDense()]

    with pytest.raises(TypeError, match="Dense"):
        plot.network_drawing(Fake())


def test_probability_bars_titles_name_the_top_classes():
    images = np.random.default_rng(0).integers(0, 17, size=(2, 64))
    probs = np.full((2, 10), 0.0)
    probs[0, [7, 1, 9, 3]] = [0.93, 0.04, 0.02, 0.01]
    probs[1, [4, 2]] = [0.5, 0.5]
    fig = plot.probability_bars(images, probs, labels=[7, 2], top=3)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles[0] == "7: 93%, 1: 4%, 9: 2%"
    assert titles[1].startswith("2: 50%, 4: 50%") or titles[1].startswith("4: 50%, 2: 50%")
    assert len(fig.axes) == 4
    bars = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert all(ax.get_xlabel() == "class" for ax in bars)
    assert "true: 7" in texts(fig)
    render(fig)
    fig = plot.probability_bars(images.reshape(2, 8, 8), probs, top=1)
    assert [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")][0] == "7: 93%"
    render(fig)
    with pytest.raises(ValueError, match="probs must have shape"):
        plot.probability_bars(images, probs[:1])


def test_confusion_matrix_counts_in_cells():
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 0]
    fig = plot.confusion_matrix(y_true, y_pred, 3)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert cells == {(0, 0): "1", (0, 1): "1", (1, 1): "2", (2, 2): "2", (2, 0): "1"}
    assert ax.get_title() == "Confusion matrix: 5 of 7 right (71.4%)"
    render(fig)
    with pytest.raises(ValueError, match="0..1"):
        plot.confusion_matrix([0, 2], [0, 1], n_classes=2)
