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
    code = (
        "import sys, fastnn, fastnn.tour, fastnn.__main__; "
        "sys.exit(1 if 'matplotlib' in sys.modules else 0)"
    )
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
    assert legend == ["data (4 points)", "fit: ŷ = 3.00·x - 1.00", "through the origin: ŷ = 2.20·x"]
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
    fig = plot.loss_surface(
        m,
        {"full batch": m.path, "online": online.path},
        a_label="slope a (1)",
        b_label="intercept b (1)",
    )
    ax = fig.axes[0]
    assert ax.get_xlabel() == "slope a (1)" and ax.get_ylabel() == "intercept b (1)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    a_cf, b_cf = m.closed_form()
    assert legend == [
        "full batch (80 steps)",
        "online (200 steps)",
        "start (0, 0)",
        f"minimum ({a_cf:.2f}, {b_cf:.2f})",
    ]
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
    m = fastnn.RegressionMachine().fit(
        x, 2 * x + 1 + np.array([0.1, -0.1, 0.1, -0.1]), lr=0.1, steps=5
    )
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
    neurons = {
        "NAND": McCullochPitts([-2, -2], -3),
        "AND": McCullochPitts([1, 1], 2),
        "x1 only": McCullochPitts([1, 0], 1),
    }
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
    net = fastnn.Sequential(
        [fastnn.Dense(2, 4, "tanh"), fastnn.Dense(4, 1, "sigmoid")],
        loss="binary_cross_entropy",
        seed=0,
    )
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
    net = fastnn.Sequential([fastnn.Dense(64, 32, "relu"), fastnn.Dense(32, 10, "softmax")], seed=0)
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
    cells = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }
    assert cells == {(0, 0): "1", (0, 1): "1", (1, 1): "2", (2, 2): "2", (2, 0): "1"}
    assert ax.get_title() == "Confusion matrix: 5 of 7 right (71.4%)"
    render(fig)
    with pytest.raises(ValueError, match="0..1"):
        plot.confusion_matrix([0, 2], [0, 1], n_classes=2)


# ------------------------------------------------------- inside a network
def numpy_conv_relu(X, W, b, padding):
    """Cross-correlation with zero padding, then relu, in float64."""
    n, _, h, w = X.shape
    k = W.shape[-1]
    Xp = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = h + 2 * padding - k + 1, w + 2 * padding - k + 1
    out = np.empty((n, W.shape[0], oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = np.einsum("ncij,ocij->no", Xp[:, :, i : i + k, j : j + k], W) + b
    return np.maximum(out, 0)


def small_lenet(seed=0):
    return fastnn.Sequential(
        [
            fastnn.Conv2D(1, 3, kernel_size=3, padding=1, activation="relu"),
            fastnn.MaxPool2D(2),
            fastnn.Flatten(),
            fastnn.Dense(3 * 3 * 3, 4, activation="softmax"),
        ],
        dtype="float64",
        seed=seed,
    )


def test_layer_outputs_of_a_dense_network_match_numpy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 5))
    net = fastnn.Sequential(
        [fastnn.Dense(5, 4, "tanh"), fastnn.Dense(4, 3, "relu"), fastnn.Dense(3, 2, "sigmoid")],
        dtype="float64",
        seed=1,
    )
    outs = plot.layer_outputs(net, X)
    a = X
    expected = []
    for layer, f in zip(
        net.layers, [np.tanh, lambda z: np.maximum(z, 0), lambda z: 1 / (1 + np.exp(-z))]
    ):
        a = f(a @ layer.W + layer.b)
        expected.append(a)
    assert [o.shape for o in outs] == [(7, 4), (7, 3), (7, 2)]
    for got, want in zip(outs, expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(outs[-1], net.predict(X))


def test_layer_outputs_of_a_conv_network_match_numpy():
    X = np.random.default_rng(2).uniform(size=(3, 1, 6, 6))
    net = small_lenet()
    outs = plot.layer_outputs(net, X)
    assert [o.shape for o in outs] == [(3, 3, 6, 6), (3, 3, 3, 3), (3, 27), (3, 4)]
    conv = numpy_conv_relu(X, net.layers[0].W, net.layers[0].b, padding=1)
    np.testing.assert_allclose(outs[0], conv, rtol=1e-10, atol=1e-12)
    pooled = conv.reshape(3, 3, 3, 2, 3, 2).max(axis=(3, 5))
    np.testing.assert_allclose(outs[1], pooled, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(outs[2], pooled.reshape(3, -1), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(outs[3], net.predict(X))


@pytest.mark.skipif(not hasattr(fastnn, "Dropout"), reason="fastnn.Dropout not built yet")
def test_layer_outputs_pass_through_dropout():
    X = np.random.default_rng(3).normal(size=(4, 3))
    net = fastnn.Sequential(
        [fastnn.Dense(3, 5, "relu"), fastnn.Dropout(0.5), fastnn.Dense(5, 2, "softmax")],
        dtype="float64",
        seed=0,
    )
    outs = plot.layer_outputs(net, X)
    assert len(outs) == 3
    np.testing.assert_array_equal(outs[1], outs[0])  # identity at prediction
    np.testing.assert_array_equal(outs[2], net.predict(X))


def test_conv_filters_one_panel_per_kernel_centred_at_zero():
    net = small_lenet()
    net.layers[0].W[0, 0, 0, 0] = -3.0  # the largest magnitude
    fig = plot.conv_filters(net)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 3
    assert [ax.get_title() for ax in images][0].startswith("filter 1\nbias")
    vmin, vmax = images[0].images[0].get_clim()
    assert vmin == -vmax == -3.0
    assert images[0].texts[0].get_text() == "-3.00"  # each weight written in its cell
    assert fig.axes[-1].get_ylabel() == "weight"  # the colour bar
    render(fig)
    # a layer, or the kernels themselves; several input channels
    fig = plot.conv_filters(np.ones((2, 3, 5, 5)) * np.arange(25).reshape(5, 5), title=None)
    assert len([ax for ax in fig.axes if ax.images]) == 6
    assert "input channel 2" in [ax.get_ylabel() for ax in fig.axes]
    render(fig)
    render(plot.conv_filters(net.layers[0], show_values=False))
    with pytest.raises(ValueError, match="out, in, kh, kw"):
        plot.conv_filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no Conv2D"):
        plot.conv_filters(fastnn.Sequential([fastnn.Dense(2, 2)]))


def test_feature_maps_rows_for_the_input_and_each_image_layer():
    net = small_lenet()
    image = np.random.default_rng(0).uniform(size=(6, 6))
    fig = plot.feature_maps(net, image, label=3)
    rows = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel() and ax.images]
    assert rows == ["input\n(1, 6, 6)", "conv 3x3, relu\n→ (3, 6, 6)", "max pool 2x2\n→ (3, 3, 3)"]
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 1 + 3 + 3
    titles = [ax.get_title() for ax in panels]
    assert titles[:2] == ["image (6x6)", "channel 1 (6x6)"] and titles[-1] == "channel 3 (3x3)"
    P = net.predict(image.reshape(1, 1, 6, 6))[0]
    assert (
        f"read as {P.argmax()}" in fig._suptitle.get_text() and "(a 3)" in fig._suptitle.get_text()
    )
    # the conv row shows what the engine computes
    conv = numpy_conv_relu(image.reshape(1, 1, 6, 6), net.layers[0].W, net.layers[0].b, 1)
    np.testing.assert_allclose(panels[1].images[0].get_array(), conv[0, 0], atol=1e-12)
    render(fig)
    render(plot.feature_maps(net, image[None], max_channels=2, title=None))
    with pytest.raises(ValueError, match="no layer whose output is an image"):
        plot.feature_maps(fastnn.Sequential([fastnn.Flatten(), fastnn.Dense(36, 2)]), image[None])


# ------------------------------------------------------------- in practice
def line_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 4, 30)
    return x, 3.0 * x + 2.0 + rng.normal(0, 0.5, 30)


def test_optimizer_paths_counts_the_steps_to_get_down():
    x, y = line_data()
    runs = {
        name: fastnn.RegressionMachine().fit(x, y, steps=300, optimizer=opt)
        for name, opt in [
            ("SGD", fastnn.SGD(lr=0.05)),
            ("Adam", fastnn.Adam(lr=0.5)),
            ("too slow", fastnn.SGD(lr=1e-4)),
        ]
    }
    ref = runs["SGD"]
    e_min = ref.loss(*ref.closed_form())
    fig = plot.optimizer_paths(ref, {k: m.path for k, m in runs.items()}, tol=0.01, max_drawn=40)
    ax_map, ax_loss = fig.axes[0], fig.axes[1]
    legend = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    for name, m in runs.items():
        E = m.loss(m.path[:, 0], m.path[:, 1])
        above = np.nonzero(E > 1.01 * e_min)[0]
        if above[-1] == len(E) - 1:
            assert f"{name}: not within 1% in 300 steps" in legend
        else:
            assert f"{name}: {above[-1] + 2} steps" in legend
            assert np.all(E[above[-1] + 1 :] <= 1.01 * e_min)
    assert any(t.startswith("1% of the minimum E = ") for t in legend)
    assert ax_loss.get_xscale() == "log" and ax_loss.get_yscale() == "log"
    assert ax_map.get_xlabel() == "slope a" and ax_loss.get_ylabel() == "E - E_min"
    drawn = [line for line in ax_map.lines if line.get_label().startswith("too slow")]
    assert len(drawn[0].get_xydata()) == 41  # the start and at most 40 steps
    render(fig)
    with pytest.raises(ValueError, match="empty"):
        plot.optimizer_paths(ref, {})


def test_loss_surfaces_side_by_side_to_scale():
    x, y = line_data()
    raw = fastnn.RegressionMachine().fit(x, y, lr=0.05, steps=50)
    z = (x - x.mean()) / x.std()
    scaled = fastnn.RegressionMachine().fit(z, y, lr=0.5, steps=5)
    fig = plot.loss_surfaces(
        {
            "raw": {"machine": raw, "paths": {"gd": raw.path}},
            "scaled": {
                "machine": scaled,
                "paths": {"gd": scaled.path},
                "a_label": "a'",
                "a_range": (-5, 10),
                "b_range": (-5, 15),
            },
        },
        title="scaling",
    )
    maps = [ax for ax in fig.axes if ax.get_title() in ("raw", "scaled")]
    assert len(maps) == 2
    assert all(ax.get_aspect() == 1.0 for ax in maps)
    assert maps[1].get_xlabel() == "a'" and maps[1].get_xlim() == (-5, 10)
    render(fig)
    with pytest.raises(ValueError, match="needs 'machine'"):
        plot.loss_surfaces({"bad": {"paths": {}}})
    with pytest.raises(ValueError, match="may hold only"):
        plot.loss_surfaces({"bad": {"machine": raw, "colour": "red"}})


def test_learning_curves_one_panel_per_run_with_the_gap():
    runs = {
        "plain": {"train": [0.5, 0.9, 1.0, 1.0], "held-out": [0.5, 0.8, 0.85, 0.84]},
        "stopped": {"train": [0.5, 0.9, 0.95], "held-out": [0.5, 0.82, 0.86]},
    }
    fig = plot.learning_curves(runs, marks={"stopped": 1}, ylim=(40, 101), title="gap")
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["plain", "stopped"]
    assert axes[0].get_ylabel() == "accuracy (%)" and axes[0].get_ylim() == (40, 101)
    first = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert first == ["train: 100.0% at the end", "held-out: 84.0% at the end", "the gap"]
    second = [t.get_text() for t in axes[1].get_legend().get_texts()]
    assert second[:2] == ["train: 90.0% at epoch 2", "held-out: 82.0% at epoch 2"]
    assert "weights kept: epoch 2" in second
    render(fig)
    fig = plot.learning_curves(
        {"loss": {"train": [1.0, 0.1], "held-out": [1.1, 0.4]}}, ylabel="loss"
    )
    assert "train: 0.1 at the end" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    render(fig)
    with pytest.raises(ValueError, match="empty"):
        plot.learning_curves({})
    with pytest.raises(ValueError, match="is empty"):
        plot.learning_curves({"r": {"train": []}})


def test_loss_per_epoch_from_histories_or_lists():
    X = np.random.default_rng(1).normal(size=(20, 3))
    y = X @ np.array([1.0, -1.0, 0.5])
    net = fastnn.Sequential([fastnn.Dense(3, 1)], loss="mse", seed=0)
    hist = net.fit(X, y, epochs=6, optimizer=fastnn.SGD(lr=0.1))
    fig = plot.loss_per_epoch({"fit": hist, "given": [2.0, 1.0, 0.5]})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1] == "given: 0.5 at the end"
    assert legend[0] == f"fit: {hist.loss[-1]:.4g} at the end"
    assert len(ax.lines[0].get_xdata()) == 6
    render(fig)
    with pytest.raises(ValueError, match="no losses"):
        plot.loss_per_epoch({"r": []})


def test_activation_histograms_one_row_per_network():
    X = np.random.default_rng(0).normal(size=(50, 4))
    nets = {}
    for name, act, std in [("relu, tiny", "relu", 0.01), ("sigmoid, unit", "sigmoid", 1.0)]:
        net = fastnn.Sequential(
            [fastnn.Dense(4, 6, act), fastnn.Dense(6, 6, act), fastnn.Dense(6, 2, "softmax")],
            seed=0,
        )
        for layer in net.layers:
            layer.W[...] = np.random.default_rng(1).normal(0, std, layer.W.shape)
        nets[name] = net
    fig = plot.activation_histograms(nets, X)
    axes = visible_axes(fig)
    assert len(axes) == 2 * 2  # two hidden layers per network
    outs = plot.layer_outputs(nets["relu, tiny"], X)
    assert axes[1].get_title() == f"layer 2 (relu): std {outs[1].std():.2g}"
    assert axes[2].get_xlim() == (0.0, 1.0)  # sigmoid's natural range
    assert any("are 0" in t.get_text() for t in axes[0].texts)
    assert axes[0].get_ylabel() == "relu, tiny\nfraction"
    render(fig)
    render(plot.activation_histograms(nets, X, layers=[0], bins=5, title=None))
    with pytest.raises(ValueError, match="indices"):
        plot.activation_histograms(nets, X, layers=[7])


def test_loss_per_step_colours_and_short_legend():
    X = np.random.default_rng(1).normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    runs = {
        name: fastnn.Sequential([fastnn.Dense(3, 1)], loss="mse", seed=0).fit(
            X, y, epochs=5, batch_size=4, optimizer=fastnn.SGD(lr=lr)
        )
        for name, lr in [("slow", 0.001), ("fast", 0.02)]
    }
    fig = plot.loss_per_step(runs, colors=["#123456", "#abcdef"], details=False, smooth=3)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["slow", "fast"]
    assert {line.get_color() for line in ax.lines} == {"#123456", "#abcdef"}
    render(fig)


# ------------------------------------------- every figure takes what fastnn returns
def hubble_like():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 2, 24)
    return x, 450 * x - 40 + rng.normal(0, 150, 24)


def test_epoch_and_step_losses_from_one_history_a_machine_or_a_list():
    X = np.random.default_rng(1).normal(size=(20, 3))
    y = X @ np.array([1.0, -1.0, 0.5])
    hist = fastnn.Sequential([fastnn.Dense(3, 1)], loss="mse", seed=0).fit(
        X, y, epochs=4, batch_size=5, optimizer=fastnn.SGD(lr=0.05)
    )
    fig = plot.loss_per_epoch(hist)  # one History, not in a dict
    ax = fig.axes[0]
    assert legend_of(ax) == [f"training: {hist.loss[-1]:.4g} at the end"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), hist.loss)
    render(fig)
    fig = plot.loss_per_epoch([hist, hist])  # several, numbered
    assert [t.split(":")[0] for t in legend_of(fig.axes[0])] == ["run 1", "run 2"]
    render(fig)
    fig = plot.loss_per_step(hist)
    np.testing.assert_allclose(
        fig.axes[0].lines[0].get_ydata()[[0, -1]], [hist.step_loss[0], hist.step_loss[-1]]
    )
    render(fig)
    render(plot.loss_per_step([3.0, 2.0, 1.5]))

    x, t = hubble_like()
    m = fastnn.RegressionMachine().fit(x, t, lr=0.3, steps=12)
    render(plot.loss_per_epoch(m))
    fig = plot.loss_per_step({"machine": m}, logx=False)
    drawn = fig.axes[0].lines[0]
    # E at the start (step 0), then after every step: the last point is the machine's E now
    assert drawn.get_xdata()[0] == 0 and drawn.get_xdata()[-1] == 12
    assert drawn.get_ydata()[0] == pytest.approx(m.loss(0.0, 0.0))
    assert drawn.get_ydata()[-1] == pytest.approx(m.loss(m.a, m.b))
    render(fig)
    assert plot.loss_per_step(m).axes[0].get_xscale() == "symlog"  # step 0 on a log axis

    with pytest.raises(TypeError, match="History, a fitted model or a sequence of numbers"):
        plot.loss_per_epoch({"r": object()})
    with pytest.raises(TypeError, match="got str"):
        plot.loss_per_step("loss")
    with pytest.raises(ValueError, match="not fitted"):
        plot.loss_per_step(fastnn.RegressionMachine())
    with pytest.raises(ValueError, match="empty"):
        plot.loss_per_epoch([])


def legend_of(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_regression_figures_take_the_machine():
    x, t = hubble_like()
    m = fastnn.RegressionMachine().fit(x, t, lr=0.3, steps=40)
    fig = plot.regression_fit(m, origin_slope=True)
    assert legend_of(fig.axes[0]) == [
        "data (24 points)",
        f"fit: ŷ = {m.a:.2f}·x {'-' if m.b < 0 else '+'} {abs(m.b):.2f}",
        f"through the origin: ŷ = {m.through_origin():.2f}·x",
    ]
    render(fig)
    render(plot.regression_fit(x, t, m))
    with pytest.raises(TypeError, match="regression_fit needs"):
        plot.regression_fit(x, t)
    fig = plot.loss_surface(m)  # its own path, by default
    assert "gradient descent (40 steps)" in legend_of(fig.axes[0])
    render(fig)
    other = fastnn.RegressionMachine().fit(x, t, lr=0.1, steps=5)
    assert "slow (5 steps)" in legend_of(plot.loss_surface(m, {"slow": other}).axes[0])
    fig = plot.optimizer_paths(m, {"SGD": m, "slow": other})
    assert any(text.startswith("slow: not within 1%") for text in legend_of(fig.axes[1]))
    render(fig)
    render(plot.loss_surfaces({"raw": m, "slow": {"machine": other}}))
    net = fastnn.Sequential([fastnn.Dense(1, 1)], loss="mse")
    with pytest.raises(TypeError, match="RegressionMachine"):
        plot.loss_surface(net)
    with pytest.raises(TypeError, match="RegressionMachine"):
        plot.loss_surfaces({"raw": net})
    with pytest.raises(ValueError, match=r"shape \(steps, 2\)"):
        plot.loss_surface(m, {"bad": np.zeros((4, 3))})


def test_neurons_and_perceptrons_as_fastnn_gives_them():
    from fastnn import logic

    fig = plot.gate_decision_lines(logic.NAND_NEURON)
    assert visible_axes(fig)[0].get_title() == "neuron\n-2·x1 - 2·x2 ≥ -3"
    render(fig)
    with pytest.raises(TypeError, match="NAND_NEURON"):
        plot.gate_decision_lines({"NAND": logic.NAND})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        p = Perceptron(max_epochs=10).fit(CORNERS, [0, 1, 1, 0])
    fig = plot.perceptron_lines((CORNERS, [0, 1, 1, 0], p))
    ax = visible_axes(fig)[0]
    wrong = int(np.sum(p.predict(CORNERS) != [0, 1, 1, 0]))
    ringed = [each for each in ax.lines if each.get_gid() == "wrong"]
    assert len(ringed[0].get_xdata()) == wrong > 0
    assert f"{wrong} of 4 points wrong" in ax.get_title()
    render(fig)
    with pytest.raises(TypeError, match=r"\(X, y, model\)"):
        plot.perceptron_lines({"XOR": p})
    with pytest.raises(ValueError, match="no coef_"):
        plot.perceptron_lines({"XOR": (CORNERS, [0, 1, 1, 0], Perceptron())})
    fig = plot.decision_regions(p, CORNERS, [0, 1, 1, 0])
    assert fig.axes[1].get_ylabel() == "predicted class (0 or 1)"
    render(fig)
    fig = plot.network_drawing(p)  # the one-neuron network
    assert len([c for c in fig.axes[0].patches if isinstance(c, Circle)]) == 3
    render(fig)
    with pytest.raises(ValueError, match="not fitted"):
        plot.network_drawing(Perceptron())
    with pytest.raises(TypeError, match="fastnn network"):
        plot.network_drawing(object())
    with pytest.raises(TypeError, match="predict"):
        plot.decision_regions(object(), CORNERS, [0, 1, 1, 0])


def test_estimators_and_networks_in_the_digit_figures():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(30, 16))
    y = np.arange(30) % 3
    net = fastnn.Sequential([fastnn.Dense(16, 3, "softmax")], seed=0)
    fig = plot.probability_bars(X[:2], net, y[:2])  # the network computes them
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    P = net.predict(X[:2])
    assert titles[0].startswith(f"{P[0].argmax()}: ")
    render(fig)
    fig = plot.confusion_matrix(y, net.predict(X))  # probabilities: argmax per row
    right = int(np.sum(net.predict(X).argmax(1) == y))
    assert fig.axes[0].get_title().startswith(f"Confusion matrix: {right} of 30 right")
    render(fig)
    with pytest.raises(ValueError, match="class indices"):
        plot.confusion_matrix([0, 1], [0.5, 1.0])
    with pytest.raises(TypeError, match="probabilities"):
        plot.probability_bars(X[:2], "net")
    clf = fastnn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(CORNERS, [0, 1, 1, 0])
    render(plot.decision_regions(clf, CORNERS, [0, 1, 1, 0]))
    render(plot.network_drawing(clf))
    assert len(plot.layer_outputs(clf, CORNERS)) == 2
    fig = plot.activation_histograms(clf, CORNERS)  # one network, not in a dict
    assert visible_axes(fig)[0].get_ylabel() == "network\nfraction"
    render(fig)


def test_image_figures_take_rows_as_networks_take_them():
    net = small_lenet()
    image = np.random.default_rng(0).uniform(size=(1, 1, 6, 6))
    fig = plot.digit_image(image)  # (1, 1, h, w): one sample
    assert "6x6 image" in fig.axes[0].get_title()
    render(fig)
    render(plot.digit_image(np.arange(64).reshape(1, 64)))  # one flat row of X
    render(plot.feature_maps(net, image))
    render(plot.feature_maps(net, image.ravel()))
    images = np.random.default_rng(1).uniform(size=(2, 1, 6, 6))
    render(plot.probability_bars(images, net))
    result = fastnn.models.lenet_digits(epochs=1)
    render(plot.conv_filters(result))  # what fastnn.models returns
    render(plot.feature_maps(result, np.zeros((1, 8, 8))))


def test_learning_curves_from_histories():
    X = np.random.default_rng(1).normal(size=(40, 3))
    y = X @ np.array([1.0, -1.0, 0.5])
    net = fastnn.Sequential([fastnn.Dense(3, 1)], loss="mse", seed=0)
    hist = net.fit(
        X[:30], y[:30], epochs=5, optimizer=fastnn.SGD(lr=0.05), validation_data=(X[30:], y[30:])
    )
    fig = plot.learning_curves(hist)  # a regression History: its losses
    ax = visible_axes(fig)[0]
    assert ax.get_ylabel() == "loss"
    assert legend_of(ax)[:2] == [
        f"train: {hist.loss[-1]:.3g} at the end",
        f"validation: {hist.val_loss[-1]:.3g} at the end",
    ]
    render(fig)
    acc = fastnn.History(loss=[1.0, 0.5], val_loss=[1.1, 0.7], val_accuracy=[0.5, 0.75])
    acc.accuracy = [0.6, 0.9]
    fig = plot.learning_curves({"run": acc})
    assert legend_of(visible_axes(fig)[0])[:2] == [
        "train: 90.0% at the end",
        "validation: 75.0% at the end",
    ]
    render(fig)
    fig = plot.learning_curves({"train": [0.5, 0.9], "held-out": [0.5, 0.8]})  # one run
    assert len(visible_axes(fig)) == 1
    render(fig)
    with pytest.raises(ValueError, match="no training accuracy"):
        plot.learning_curves(hist, ylabel="accuracy")
    with pytest.raises(TypeError, match="History or a dict of curves"):
        plot.learning_curves({"r": 3})
