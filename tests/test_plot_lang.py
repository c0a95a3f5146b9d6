"""Figures in English and Japanese: one text table per language, the font, the fallback."""

import io
import json
import re
import string
import subprocess
import sys
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import fastnn  # noqa: E402
from fastnn import plot  # noqa: E402
from fastnn.datasets import load_hubble  # noqa: E402
from fastnn.logic import AND_NEURON, NAND_NEURON  # noqa: E402
from fastnn.perceptron import ConvergenceWarning, Perceptron  # noqa: E402
from fastnn.plot import _style  # noqa: E402

CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


KEPT = re.compile(r"\{[^}]*\}|Mpc|km/s|E_min|λmax|SGD|AdaGrad|RMSprop|Adam|Glorot|He\b")


def english_words(text):
    """The words of a text in Latin letters, leaving out placeholders, units and names."""
    return re.findall(r"[A-Za-z]{2,}", KEPT.sub("", text))


def needs_japanese_font():
    """Skip without fastnn[ja]. (Not pytest.importorskip("matplotlib_fontja"): importing
    it directly makes its font every figure's default, for the rest of the run.)"""
    if _style.japanese_font() is None:
        pytest.skip("Japanese figures need fastnn[ja] (matplotlib-fontja)")


def placeholders(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def flat(table, prefix=""):
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = "".join(value) if isinstance(value, list) else value
    return out


@pytest.mark.parametrize(
    ("package", "pattern"),
    [
        ("fastnn.plot", "text/{}.json"),
        ("fastnn.tour", "text/figures.{}.json"),
        ("fastnn.tour", "text/notebook.{}.json"),
    ],
)
def test_figure_text_tables_have_the_same_keys_and_placeholders(package, pattern):
    tables = {
        lang: flat(json.loads(resources.files(package).joinpath(pattern.format(lang)).read_text()))
        for lang in _style.LANGUAGES
    }
    english, japanese = tables["en"], tables["ja"]
    assert sorted(japanese) == sorted(english)
    for key, template in english.items():
        assert placeholders(japanese[key]) == placeholders(template), key
        # translated, unless only names, units and formulas: "E(a, b)  ((km/s)²)", "Adam"
        assert JAPANESE.search(japanese[key]) or not english_words(template), key


def every_figure(lang):
    """One figure of every public plot function, on small data, in ``lang``."""
    x, y = load_hubble()
    m = fastnn.RegressionMachine().fit(x, y, lr=0.2, steps=40)
    m2 = fastnn.RegressionMachine().fit(x, y, lr=0.05, steps=40, batch_size=4)
    xor = np.array([0, 1, 1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        perceptrons = {
            "AND": (CORNERS, [0, 0, 0, 1], Perceptron().fit(CORNERS, [0, 0, 0, 1])),
            "XOR": (CORNERS, xor, Perceptron(max_epochs=5).fit(CORNERS, xor)),
        }
    net = fastnn.Sequential(
        [fastnn.Dense(2, 3, activation="tanh"), fastnn.Dense(3, 1, activation="sigmoid")],
        loss="binary_cross_entropy",
        seed=0,
    )
    hist = net.fit(CORNERS, xor, epochs=5, batch_size=2)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 16, size=(3, 8, 8))
    probs = rng.dirichlet(np.ones(10), size=3)
    cnn = fastnn.Sequential(
        [
            fastnn.Conv2D(1, 2, kernel_size=3, padding=1, activation="relu"),
            fastnn.MaxPool2D(2),
            fastnn.Flatten(),
            fastnn.Dense(2 * 4 * 4, 10, activation="softmax"),
        ],
        loss="cross_entropy",
        seed=0,
    )
    deep = fastnn.Sequential(
        [fastnn.Dense(2, 4, activation="relu"), fastnn.Dense(4, 1, activation="sigmoid")], seed=0
    )
    curves = {"plain": {"train": [0.8, 0.9], "held-out": [0.7, 0.75]}}
    return {
        "digit_image": plot.digit_image(images[0], label=3, lang=lang),
        "regression_fit": plot.regression_fit(m, lang=lang),
        "loss_surface": plot.loss_surface(m, lang=lang),
        "loss_per_step": plot.loss_per_step({"a": hist, "b": m}, lang=lang),
        "gate_decision_lines": plot.gate_decision_lines(
            {"NAND": NAND_NEURON, "AND": AND_NEURON}, lang=lang
        ),
        "perceptron_lines": plot.perceptron_lines(perceptrons, lang=lang),
        "decision_regions": plot.decision_regions(net, CORNERS, xor, resolution=20, lang=lang),
        "network_drawing": plot.network_drawing(net, lang=lang),
        "probability_bars": plot.probability_bars(images, probs, [1, 2, 3], lang=lang),
        "confusion_matrix": plot.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], lang=lang),
        "conv_filters": plot.conv_filters(cnn, lang=lang),
        "feature_maps": plot.feature_maps(cnn, images[0] / 16, label=5, lang=lang),
        "optimizer_paths": plot.optimizer_paths(m, {"SGD": m, "mini": m2}, lang=lang),
        "loss_surfaces": plot.loss_surfaces({"raw": m, "mini": m2}, lang=lang),
        "learning_curves": plot.learning_curves(curves, marks={"plain": 1}, lang=lang),
        "loss_per_epoch": plot.loss_per_epoch([hist, hist], lang=lang),
        "activation_histograms": plot.activation_histograms(deep, CORNERS, lang=lang),
    }


def texts(fig):
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_every_plot_function_takes_lang():
    drawn = set(every_figure("en"))
    functions = {
        name for name in plot.__all__ if callable(getattr(plot, name)) and name != "layer_outputs"
    }
    assert drawn == functions


def test_every_japanese_figure_renders_without_a_missing_glyph():
    needs_japanese_font()
    english, japanese = every_figure("en"), every_figure("ja")
    for name, fig in japanese.items():
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Glyph 12354 (...) missing from font(s) ..."
            fig.savefig(buf, format="png", dpi=50)
        said = texts(fig)
        assert any(JAPANESE.search(text) for text in said), name
        assert said != texts(english[name]), name
        other = io.BytesIO()
        english[name].savefig(other, format="png", dpi=50)
        assert buf.getvalue() != other.getvalue(), name


def test_a_japanese_figure_leaves_matplotlib_defaults_alone():
    needs_japanese_font()
    fig = plot.confusion_matrix([0, 1], [1, 1], lang="ja")
    assert "予測クラス" == fig.axes[0].get_xlabel()
    family = fig.axes[0].xaxis.label.get_fontfamily()
    assert family == ["DejaVu Sans", _style.japanese_font()] == ["DejaVu Sans", "IPAexGothic"]
    fig.canvas.draw()  # tick labels made at drawing time use the font too
    assert fig.axes[0].get_xticklabels()[0].get_fontfamily() == family
    # in a fresh process: the font package is loaded, the defaults stay as they were
    src = str(Path(fastnn.__file__).resolve().parents[1])
    code = (
        "import sys, matplotlib; before = list(matplotlib.rcParams['font.family']); "
        "import fastnn.plot; fastnn.plot.digit_image([[0, 1], [2, 3]], lang='ja'); "
        "print('matplotlib_fontja' in sys.modules, "
        "list(matplotlib.rcParams['font.family']) == before)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.split() == ["True", "True"]


def test_without_the_font_japanese_figures_are_english_with_one_warning(monkeypatch):
    monkeypatch.setattr(_style, "japanese_font", lambda: None)
    monkeypatch.setattr(_style, "_told_no_font", False)
    with pytest.warns(UserWarning, match=r"pip install 'fastnn\[ja\]'"):
        fig = plot.confusion_matrix([0, 1], [1, 1], lang="ja")
    assert fig.axes[0].get_xlabel() == "predicted class"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not for every figure
        fig = plot.digit_image(np.eye(4), lang="ja")
    assert fig.axes[0].get_xlabel() == "pixel column"


@pytest.mark.parametrize(
    ("lang", "error", "match"),
    [
        ("fr", ValueError, r"lang must be one of en, ja, got 'fr'"),
        ("EN", ValueError, r"lang must be one of en, ja, got 'EN'"),
        (None, TypeError, r"lang must be a str, one of en, ja; got None"),
        (1, TypeError, r"lang must be a str"),
    ],
)
def test_bad_lang_is_refused_by_name(lang, error, match):
    with pytest.raises(error, match=match):
        plot.confusion_matrix([0, 1], [1, 1], lang=lang)


def test_user_text_wins_over_the_table_and_none_removes_a_title():
    x, y = load_hubble()
    m = fastnn.RegressionMachine().fit(x, y, lr=0.2, steps=5)
    fig = plot.loss_surface(m, title="mine", a_label="A", lang="ja")
    assert fig.axes[0].get_title() == "mine" and fig.axes[0].get_xlabel() == "A"
    fig = plot.loss_surface(m, title=None)
    assert fig.axes[0].get_title() == ""
    fig = plot.loss_surface(m)
    assert fig.axes[0].get_title() == "Gradient descent rolls down the error surface"


def test_importing_fastnn_and_its_figures_does_not_import_the_extras():
    src = str(Path(fastnn.__file__).resolve().parents[1])
    code = (
        "import sys, fastnn, fastnn.plot, fastnn.tour; "
        "fastnn.plot.loss_per_epoch([1.0, 0.5]); "
        "print(any(m in sys.modules for m in "
        "('matplotlib_fontja', 'nbformat', 'nbclient', 'IPython', 'sphinx')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "False"
