"""The lecture tour end to end: the CLI, the figures, and narration with true numbers."""

import contextlib
import io
import os
import re
import string
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image  # noqa: E402

import fastnn  # noqa: E402
from fastnn import datasets, tour  # noqa: E402
from fastnn.__main__ import main  # noqa: E402

FIGURES = {
    "data": ["data_digit.png"],
    "machine": [],
    "regression": [
        "regression_fit.png",
        "regression_loss_surface.png",
        "regression_learning_rate.png",
    ],
    "modes": ["modes_loss_per_step.png"],
    "neuron": ["neuron_decision_lines.png"],
    "perceptron": ["perceptron_lines.png"],
    "backprop": ["backprop_xor_regions.png", "backprop_xor_network.png"],
    "digits": ["digits_before.png", "digits_after.png", "digits_confusion.png"],
    "lenet": ["lenet_filters.png", "lenet_feature_maps.png"],
    "optimizers": ["optimizers_hubble.png", "optimizers_digits.png"],
    "scaling": ["scaling_surfaces.png"],
    "initialisation": ["initialisation_activations.png", "initialisation_training.png"],
    "overfitting": ["overfitting_curves.png"],
    "summary": [],
}
ALL_FIGURES = sorted(name for names in FIGURES.values() for name in names)


def check_png(path):
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), path
    image = matplotlib.image.imread(path)  # decodes the whole file
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300, path
    assert image[..., :3].std() > 0.05, f"{path} looks blank"


FIGURES_DRAWN: dict = {}  # language -> {file name: Figure} of the module's full tours


@contextlib.contextmanager
def recorded_figures():
    """Keep every figure the tour saves, by file name, to read its data back."""
    figures = {}
    save = tour._Tour.save

    def recording(self, fig, name, files):
        save(self, fig, name, files)
        figures[name] = fig

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tour._Tour, "save", recording)
        yield figures


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    """One full English tour through Python: its results, narration and files."""
    out = tmp_path_factory.mktemp("tour_en")
    stream = io.StringIO()
    with recorded_figures() as figures:
        results = tour.run(out, lang="en", stream=stream)
    FIGURES_DRAWN["en"] = figures
    return results, stream.getvalue(), out


@pytest.fixture(scope="module")
def japanese(tmp_path_factory):
    """One full Japanese tour through the command line: results, narration, files."""
    out = tmp_path_factory.mktemp("tour_ja")
    stream = io.StringIO()
    kept = {}
    run = tour.run

    def keeping(*args, **kwargs):
        kept.update(run(*args, **kwargs))
        return kept

    with recorded_figures() as figures, pytest.MonkeyPatch.context() as mp:
        mp.setattr(tour, "run", keeping)
        with contextlib.redirect_stdout(stream):
            code = main(["tour", "--out", str(out), "--lang", "ja"])
    FIGURES_DRAWN["ja"] = figures
    return code, kept, stream.getvalue(), out


@pytest.fixture(params=["en", "ja"])
def narrated(request, english, japanese):
    """(language, results, narration, figures by file name) of one full tour."""
    if request.param == "en":
        results, text, _ = english
    else:
        _, results, text, _ = japanese
    return request.param, results, text, FIGURES_DRAWN[request.param]


# ----------------------------------------------------------------- the CLI
def test_cli_full_tour_in_english(tmp_path, capsys):
    out = tmp_path / "new" / "figures"  # created, parents included
    assert main(["tour", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ALL_FIGURES
    for path in out.iterdir():
        check_png(path)
    headers = re.findall(r"^== (\d+)\. ", text, flags=re.M)
    assert headers == [str(i) for i in range(1, len(tour.STEPS) + 1)]
    for name in ALL_FIGURES:
        assert str(out / name) in text


def test_cli_full_tour_in_japanese(english, japanese):
    results, _, _ = english
    code, _, text, out = japanese
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ALL_FIGURES
    for path in out.iterdir():
        check_png(path)
    assert "坂道を転がす" in text and "誤差逆伝播法" in text and "まとめ" in text
    assert "ネオコグニトロン" in text and "最適化アルゴリズム" in text and "過学習" in text
    assert "お椀を丸くする" in text and "重みの初期値" in text
    assert "The tour ran" not in text and "gradient descent" not in text.lower()
    # the same run, narrated in Japanese: the same numbers
    reg, dig = results["regression"], results["digits"]
    assert f"a = {reg['a']:.2f} km/s/Mpc" in text
    assert f"テスト正解率 {dig['accuracy']:.1%}" in text
    lenet = results["lenet"]
    assert f"LeNet は {lenet['wrong']} 枚" in text
    sgd = results["optimizers"]["hubble"]["SGD"]
    assert f"SGD             学習率 {sgd['lr']:<6g} {sgd['steps']:>4} ステップ" in text


def test_cli_only_one_step(tmp_path, capsys):
    assert main(["tour", "--out", str(tmp_path), "--only", "regression"]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FIGURES["regression"])
    assert re.findall(r"^== (\d+)\. ", text, flags=re.M) == ["3"]


def test_cli_only_several_steps_run_in_tour_order(tmp_path, capsys):
    assert (
        main(["tour", "--out", str(tmp_path), "--only", "perceptron", "neuron", "--lang", "ja"])
        == 0
    )
    text = capsys.readouterr().out
    assert re.findall(r"^== (\d+)\. ", text, flags=re.M) == ["5", "6"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        FIGURES["neuron"] + FIGURES["perceptron"]
    )
    assert "converged_ = False" in text and "線形分離不可能" in text


@pytest.mark.parametrize("only", [["nonsense"], ["regression", "digitz"]])
def test_cli_unknown_step_exits_2_and_lists_the_steps(tmp_path, capsys, only):
    assert main(["tour", "--out", str(tmp_path / "x"), "--only", *only]) == 2
    err = capsys.readouterr().err
    assert repr(only[-1]) in err
    assert (
        "data, machine, regression, modes, neuron, perceptron, backprop, digits, lenet, "
        "optimizers, scaling, initialisation, overfitting, summary"
    ) in err
    assert not (tmp_path / "x").exists()  # nothing ran


def test_cli_usage_errors_and_help(capsys):
    assert main(["--help"]) == 0
    assert "tour" in capsys.readouterr().out
    assert main(["tour", "--help"]) == 0
    assert "steps, in order" in capsys.readouterr().out
    assert main(["tour", "--out", "x", "--lang", "fr"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main([]) == 2


def test_help_gives_the_default_directory_and_every_step(capsys):
    assert main(["tour", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--out DIR directory for the figures, created if missing (default: ./tour)" in " ".join(
        text.split()
    )
    assert "[--out DIR]" in text  # optional, as API.md writes it
    listed = re.findall(r"^  (\w+) {2,}\S", text.split("steps, in order:")[1], flags=re.M)
    assert listed == list(tour.STEPS)
    assert main(["--help"]) == 0
    assert "./tour" in capsys.readouterr().out


def test_python_m_fastnn_tour_help_lists_exactly_the_steps():
    src = str(Path(fastnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "fastnn", "tour", "--help"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    listed = re.findall(r"^  (\w+) +(\S.*)$", proc.stdout.split("steps, in order:")[1], flags=re.M)
    assert [name for name, _ in listed] == list(tour.STEPS)
    assert dict(listed) == tour.STEP_HELP
    assert list(tour.STEP_HELP) == list(tour.STEPS)


def placeholders(template):
    """The names of the fields a str.format template fills: "{a:.2f} {b[0]}" -> {"a", "b"}."""
    return {
        re.match(r"[^.\[]*", field).group()
        for _, field, _, _ in string.Formatter().parse(template)
        if field is not None
    }


def flat(section, prefix=""):
    """{"names": {"full": t}} -> {"names.full": t}."""
    out = {}
    for key, value in section.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def test_narration_languages_have_the_same_keys_and_placeholders():
    from fastnn.tour._core import narration

    texts = {lang: flat(narration(lang)) for lang in tour.LANGUAGES}
    english = texts["en"]
    assert {key.split(".")[0] for key in english} == {"common", *tour.STEPS}
    for lang, text in texts.items():
        assert sorted(text) == sorted(english), lang
        for key, template in text.items():
            assert isinstance(template, str), (lang, key)
            assert placeholders(template) == placeholders(english[key]), (lang, key)
    assert placeholders(english["regression.fit"]) == {"lr", "steps", "a", "b", "e"}


def test_readme_runs_the_tour_as_help_says():
    # the README beside the tests (the package may be installed elsewhere)
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"python -m fastnn tour[^\n`]*", text)
    assert commands and "--out" not in commands[0]  # the default directory
    assert "`./tour`" in text and "--out DIR" in text
    assert "--only regression" in text and "--lang ja" in text


def test_cli_without_out_writes_into_tour(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["tour", "--lang", "ja", "--only", "regression"]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "tour").iterdir()) == sorted(FIGURES["regression"])
    assert f"図: {Path('tour') / 'regression_fit.png'}" in text
    assert "回帰" in text


def test_python_m_fastnn_without_a_display(tmp_path):
    src = str(Path(fastnn.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    env["PYTHONPATH"] = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "fastnn", "tour", "--out", str(tmp_path), "--only", "neuron"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "NAND" in proc.stdout
    check_png(tmp_path / "neuron_decision_lines.png")
    proc = subprocess.run(
        [sys.executable, "-m", "fastnn", "tour", "--out", str(tmp_path), "--only", "bogus"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "bogus" in proc.stderr


# ------------------------------------------------------ the numbers of a run
def test_results_name_every_step_and_its_figures(english):
    results, _, out = english
    assert list(results) == list(tour.STEPS)
    for step, names in FIGURES.items():
        assert results[step]["figures"] == names
        for name in names:
            check_png(out / name)


def test_regression_numbers(english):
    results, text, _ = english
    reg = results["regression"]
    x, y = datasets.load_hubble()
    slope, intercept = np.polyfit(x, y, 1)  # the least-squares line, independently
    assert abs(reg["a"] - 454.16) < 1 and abs(reg["b"] - (-40.78)) < 1
    assert reg["a"] == pytest.approx(slope, abs=0.1)
    assert reg["b"] == pytest.approx(intercept, abs=0.1)
    assert reg["closed_form"] == pytest.approx((slope, intercept), rel=1e-9)
    assert reg["origin_slope"] == pytest.approx(np.sum(x * y) / np.sum(x * x), rel=1e-9)
    assert abs(reg["origin_slope"] - 424) < 1
    assert reg["loss_end"] < reg["loss_start"]
    assert reg["stability_limit"] == pytest.approx(2 / reg["lambda_max"])
    assert 0.45 < reg["stability_limit"] < reg["too_large"]["lr"]
    big = reg["too_large"]
    assert big["loss_end"] > 1e3 * big["loss_start"]  # the loss grows
    assert big["diverged"] and "diverged" in big["message"]
    # mini-batch and online end near the minimum, full batch on it
    for name, (a, _) in reg["paths"].items():
        assert abs(a - slope) < (1 if name == "full batch" else 40), name
    # the narration prints this run's numbers
    assert f"a = {reg['a']:.2f} km/s/Mpc, b = {reg['b']:.2f} km/s" in text
    assert f"slope {reg['origin_slope']:.1f} km/s/Mpc" in text
    assert f"lr < 2/λmax = {reg['stability_limit']:.3f}" in text
    assert f"E grows from {big['loss_start']:,.0f} to {big['loss_end']:.3g}" in text
    at = re.search(r"at step (\d+)", big["message"]).group(1)
    assert f"at step {at} the error is no longer a finite number" in text


def test_modes_numbers(english):
    results, text, _ = english
    modes = results["modes"]
    n = modes["full"]["batch_size"]
    assert modes["full"]["steps_per_epoch"] == 1
    assert modes["mini"]["steps_per_epoch"] == -(-n // 32)
    assert modes["online"]["steps_per_epoch"] == n
    assert modes["online"]["updates"] == 10 * n
    for row in modes.values():
        if isinstance(row, dict):
            assert row["loss_last_epoch"] < row["loss_first_epoch"]
    assert f"{modes['online']['steps_per_epoch']:>4} update(s) per epoch" in text


def test_logic_and_perceptron_numbers(english):
    results, text, _ = english
    neuron = results["neuron"]
    xor = [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)]
    assert neuron["truth_tables"]["XOR"] == xor
    a, b, bits, total = neuron["ripple"]
    assert total == a + b and len(bits) == 5
    assert f"-> {bits} = {a + b}." in text
    p = results["perceptron"]
    assert p["AND"]["converged"] and p["OR"]["converged"] and p["NAND"]["converged"]
    assert not p["XOR"]["converged"]
    assert "XOR  converged_ = False" in text and "no straight line" in text


def test_backprop_learns_xor(english):
    results, text, _ = english
    bp = results["backprop"]
    assert bp["accuracy"] == 1.0
    probs = np.array(bp["probabilities"])
    assert np.all((probs > 0.5) == np.array([False, True, True, False]))
    assert bp["loss_end"] < 0.1 * bp["loss_start"]
    assert "accuracy 100%" in text


def test_digits_numbers(english):
    results, text, _ = english
    dig = results["digits"]
    assert dig["accuracy"] > 0.95
    assert dig["accuracy_before"] < 0.3
    assert dig["loss_after"] < dig["loss_before"]
    assert dig["n_train"] + dig["n_test"] == 1797
    confusion = dig["confusion"]
    assert confusion.sum() == dig["n_test"]
    assert np.trace(confusion) / dig["n_test"] == pytest.approx(dig["accuracy"])
    assert f"test accuracy {dig['accuracy']:.1%}, loss {dig['loss_after']:.3f}" in text
    # the summary repeats this run's numbers
    summary = text.split("== 14.")[1]
    assert f"{dig['accuracy_before']:.1%} -> {dig['accuracy']:.1%}" in summary
    assert f"a = {results['regression']['a']:.2f}" in summary


def test_another_seed_gives_other_numbers_narrated_truly(tmp_path):
    stream = io.StringIO()
    results = tour.run(tmp_path, only=["digits"], stream=stream, seed=3)
    dig = results["digits"]
    assert dig["accuracy"] > 0.9
    assert "split with seed 3" in stream.getvalue()
    assert f"test accuracy {dig['accuracy']:.1%}, loss {dig['loss_after']:.3f}" in stream.getvalue()


def test_summary_alone_computes_what_it_needs_quietly(tmp_path):
    stream = io.StringIO()
    results = tour.run(tmp_path, only=["summary"], stream=stream)
    text = stream.getvalue()
    assert list(results) == ["summary"]
    assert re.findall(r"^== (\d+)\. ", text, flags=re.M) == ["14"]
    assert list(tmp_path.iterdir()) == []  # the quiet steps draw nothing
    assert f"to {results['summary']['loss_end']:,.0f}" in text
    assert results["summary"]["accuracy"] > 0.95


def test_run_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="the steps are: data, machine"):
        tour.run(tmp_path, only=["regresion"])
    with pytest.raises(ValueError, match="lang"):
        tour.run(tmp_path, lang="de")
    assert tour.select_steps("digits,data") == ["data", "digits"]


# ------------------------------------------------------- the "in practice" steps
def test_lenet_against_the_dense_network_on_the_same_split(english):
    results, text, _ = english
    lenet = results["lenet"]
    assert lenet["accuracy"] > 0.95 and lenet["dense"]["accuracy"] > 0.9
    assert lenet["n_params"] == 1030
    assert lenet["dense"]["n_params"] <= lenet["n_params"]
    assert lenet["train_seconds"] < 5 and lenet["dense"]["train_seconds"] < 5
    assert lenet["filters"].shape == (6, 1, 3, 3)
    n_test = results["digits"]["n_test"]
    assert lenet["wrong"] == round((1 - lenet["accuracy"]) * n_test)
    assert f"Held-out accuracy {lenet['accuracy']:.1%}" in text
    assert f"held-out accuracy {lenet['dense']['accuracy']:.1%}" in text
    assert (
        f"LeNet misreads {lenet['wrong']} and the dense network {lenet['dense']['wrong']}." in text
    )
    assert "neocognitron (1979)" in text and "LeNet (1989)" in text


def test_lenet_trains_on_the_split_of_the_digits_step():
    from fastnn import models
    from fastnn.tour._core import _digits_split

    t = tour._Tour(None, "en", None, seed=5)
    d = _digits_split(t)
    images = models.digits_images(5)
    np.testing.assert_array_equal(images["X_test"].reshape(len(d["X_test"]), -1), d["X_test"])
    np.testing.assert_array_equal(images["y_train"], d["y_train"])


def steps_within(machine, e_min, tol=0.01):
    E = machine.loss(machine.path[:, 0], machine.path[:, 1])
    above = np.nonzero(E > (1 + tol) * e_min)[0]
    return 1 if len(above) == 0 else (None if above[-1] == len(E) - 1 else above[-1] + 2)


def test_optimizers_steps_to_get_down_are_true(english):
    results, text, _ = english
    opt = results["optimizers"]
    x, y = datasets.load_hubble()
    slope, intercept = np.polyfit(x, y, 1)
    e_min = np.mean((slope * x + intercept - y) ** 2)
    assert opt["loss_min"] == pytest.approx(e_min, rel=1e-9)
    makers = {
        "SGD": lambda lr: fastnn.SGD(lr=lr),
        "momentum 0.9": lambda lr: fastnn.SGD(lr=lr, momentum=0.9),
        "Nesterov 0.9": lambda lr: fastnn.SGD(lr=lr, momentum=0.9, nesterov=True),
        "AdaGrad": lambda lr: fastnn.AdaGrad(lr=lr),
        "RMSprop": lambda lr: fastnn.RMSprop(lr=lr),
        "Adam": lambda lr: fastnn.Adam(lr=lr),
    }
    assert list(opt["hubble"]) == list(makers)
    for name, row in opt["hubble"].items():
        assert row["steps"] is not None, name  # each gets down within the budget
        m = fastnn.RegressionMachine().fit(
            x, y, steps=opt["budget"], optimizer=makers[name](row["lr"])
        )
        assert steps_within(m, e_min) == row["steps"], name
        assert f"{name:<15} lr = {row['lr']:<6g} {row['steps']:>4} steps" in text
    # plain gradient descent: its best rate is below the stability limit, and it beats
    # a smaller rate
    assert opt["hubble"]["SGD"]["lr"] < results["regression"]["stability_limit"]
    slower = fastnn.RegressionMachine().fit(x, y, steps=opt["budget"], optimizer=fastnn.SGD(lr=0.1))
    assert steps_within(slower, e_min) > opt["hubble"]["SGD"]["steps"]
    # the adaptive methods' best rates are in the units of a and b
    assert all(opt["hubble"][name]["lr"] > 1 for name in ("AdaGrad", "RMSprop", "Adam"))
    for name, row in opt["digits"].items():
        assert row["loss_last_epoch"] < 0.2 and row["test_accuracy"] > 0.9, name
        assert f"held-out accuracy {row['test_accuracy']:.1%}" in text


def test_scaling_rounds_the_bowl_and_lets_a_large_rate_converge(english):
    results, text, _ = english
    sc = results["scaling"]
    x, y = datasets.load_hubble()
    slope, intercept = np.polyfit(x, y, 1)
    assert sc["curvatures_scaled"] == pytest.approx((2.0, 2.0))
    assert sc["curvatures_raw"][1] / sc["curvatures_raw"][0] > 5
    assert sc["lr"] == results["regression"]["too_large"]["lr"]
    assert sc["steps"] is not None and sc["steps"] <= 5
    assert sc["a"] == pytest.approx(slope, abs=0.01) and sc["b"] == pytest.approx(
        intercept, abs=0.01
    )
    assert sc["raw_diverged_at"] is not None
    assert sc["raw_steps"] > 3 * sc["steps"]
    assert f"stopped at step {sc['raw_diverged_at']} with TrainingDiverged" in text
    target = 1.01 * results["optimizers"]["loss_min"]
    assert f"gets within 1% of the minimum (below {target:,.0f}) in {sc['steps']} step(s)" in text


def test_initialisation_he_keeps_relu_signals_alive(english):
    results, text, _ = english
    init = results["initialisation"]
    he, small = init["relu + He"], init["relu + small"]
    assert he["activation_std"][-1] > 1e3 * small["activation_std"][-1]
    assert 0.1 < he["activation_std"][-1] < 2
    assert init["sigmoid + small"]["activation_std"][-1] < 0.05
    # through sigmoid layers the gradient shrinks toward the input
    g = init["sigmoid + Glorot"]["grad_mean_abs"]
    assert g[0] < 1e-2 * g[-1]
    assert he["loss_last_epoch"] < 0.2 and he["test_accuracy"] > 0.9
    assert small["loss_last_epoch"] > 2.0  # stays at the loss of guessing
    assert he["loss_first_epoch"] < init["relu + Glorot"]["loss_first_epoch"]
    assert "He's initialisation" in text
    assert f"held-out accuracy {he['test_accuracy']:.1%}" in text


def test_overfitting_gap_and_regularisers(english):
    results, text, _ = english
    of = results["overfitting"]
    plain = of["plain"]
    assert of["n_small"] == 200 and of["n_params"] > 50_000
    assert plain["train_accuracy"] == 1.0
    assert plain["test_accuracy"] < 0.99
    assert plain["test_loss"] > 20 * plain["train_loss"]
    for key in ("decay", "dropout", "early"):
        row = of[key]
        assert row["test_accuracy"] >= plain["test_accuracy"] - 0.03, key
        n_test = results["digits"]["n_test"]
        assert row["delta_images"] == round(
            (row["test_accuracy"] - plain["test_accuracy"]) * n_test
        )
        assert (
            f"held-out {row['test_accuracy']:.1%} ({row['delta_points']:+.1f} points, "
            f"{row['delta_images']:+d} of {n_test} images)" in text
        )
    assert of["decay"]["train_loss"] > plain["train_loss"]  # the decay holds weights back
    early = of["early"]
    assert early["epochs"] < 60 and early["best_epoch"] < early["epochs"]
    assert len(early["curves"]["train"]) == early["epochs"]
    assert of["full_data_accuracy"] > plain["test_accuracy"]
    assert f"No regulariser: training accuracy {plain['train_accuracy']:.1%}" in text


# ----------------------------------- what the narration says is what its figure shows
# Each test reads a number from the narration (English and Japanese) and the same number
# from the data of the figure drawn in that run: a line's points, a legend, a title.
SAYS = {
    "en": {
        "grows": r"E grows from (?P<e0>[\d,]+) to (?P<e1>\S+) in (?P<steps>\d+) steps",
        "fast": r"within 1% of the minimum \(below (?P<target>[\d,]+)\) in (?P<steps>\d+) "
        r"step\(s\): E goes (?P<losses>[\d, >-]+)\.",
        "needs": r"the regression step's lr = (?P<lr>\S+) needs (?P<steps>\d+) steps",
        "xor": r"XOR  converged_ = False: .*? gets (?P<wrong>\d+) of the (?P<n>\d+) points "
        r"wrong",
        "learned": r"(?P<name>AND|OR|NAND)\s+converged_ = True: learned in (?P<epochs>\d+) "
        r"epochs",
        "plain": r"No regulariser: training accuracy (?P<tr>[\d.]+)% \(loss \S+\), held-out "
        r"accuracy (?P<te>[\d.]+)%",
        "row": r"^ +(?P<name>\S.*?) +training (?P<tr>[\d.]+)%, held-out (?P<te>[\d.]+)% "
        r"\((?P<delta>[+-][\d.]+) points, (?P<images>[+-]\d+) of (?P<n>\d+) images\)",
        "misread": r"(?P<wrong>\d+) of (?P<n>\d+) test images are misread",
        "pair": r"(?:a|an) (?P<t>\d) read as (?:a|an) (?P<p>\d)",
        "count": r"\((?P<count>\d+) times\)|mistakes, (?P<each>\d+) times each",
        "after": r"After training: test accuracy (?P<acc>[\d.]+)%, loss \S+ The same image: "
        r"(?P<top>.+?)\.\n",
        "opt": r"^ +(?P<name>\S.*?) +lr = (?P<lr>\S+) +(?P<steps>\d+) steps$",
        "std": r"^ +(?P<name>(?:sigmoid|relu) \+ \w+) +std (?P<stds>[\d.e\- ]+);",
        "trained": r"^ +(?P<name>(?:sigmoid|relu) \+ \w+) +loss [\d.]+ \(epoch 1\) -> "
        r"(?P<l1>[\d.]+) \(epoch",
        "mode": r"^ +(?P<name>full batch|mini-batch|online) +batch +\d+, lr (?P<lr>[\d.]+) *: +"
        r"(?P<spe>\d+) update\(s\) per epoch \( *(?P<total>\d+) in all\)",
    },
    "ja": {
        "grows": r"E は (?P<steps>\d+) ステップで (?P<e0>[\d,]+) から (?P<e1>\S+) へ",
        "fast": r"(?P<steps>\d+) ステップで最小値の 1% 以内\((?P<target>[\d,]+) 未満\)に入ります: "
        r"E は (?P<losses>[\d, >-]+)。",
        "needs": r"ステップ 3 の学習率 (?P<lr>\S+) で (?P<steps>\d+) ステップかかります",
        "xor": r"XOR  converged_ = False: .*?最後の直線は (?P<n>\d+) 点のうち (?P<wrong>\d+) 点を"
        r"間違える",
        "learned": r"(?P<name>AND|OR|NAND)\s+converged_ = True: (?P<epochs>\d+) エポックで学習完了",
        "plain": r"正則化なし: 学習データの正解率 (?P<tr>[\d.]+)%\(損失 \S+\)、テスト正解率 "
        r"(?P<te>[\d.]+)%",
        "row": r"^ +(?P<name>\S.*?): 学習 (?P<tr>[\d.]+)%、テスト (?P<te>[\d.]+)%"
        r"\((?P<delta>[+-][\d.]+) ポイント、(?P<n>\d+) 枚中 (?P<images>[+-]\d+) 枚\)",
        "misread": r"テスト画像 (?P<n>\d+) 枚のうち (?P<wrong>\d+) 枚を読み誤りました",
        "pair": r"(?P<t>\d) を (?P<p>\d) と読んだもの",
        "count": r"\((?P<count>\d+) 回\)|それぞれ (?P<each>\d+) 回",
        "after": r"学習後: テスト正解率 (?P<acc>[\d.]+)%、損失 [\d.]+。同じ画像: (?P<top>.+?)。\n",
        "opt": r"^ +(?P<name>\S.*?) +学習率 (?P<lr>\S+) +(?P<steps>\d+) ステップ$",
        "std": r"^ +(?P<name>(?:sigmoid|relu) \+ \w+) +標準偏差 (?P<stds>[\d.e\- ]+);",
        "trained": r"^ +(?P<name>(?:sigmoid|relu) \+ \w+) +損失 [\d.]+\(1 エポック目\)→ "
        r"(?P<l1>[\d.]+)\(",
        "mode": r"^ +(?P<name>フルバッチ|ミニバッチ|オンライン): "
        r"バッチ \d+、学習率 (?P<lr>[\d.]+): "
        r"1 エポックに (?P<spe>\d+) 回更新\(合計 (?P<total>\d+) 回\)",
    },
}
MODE_NAMES = {"フルバッチ": "full batch", "ミニバッチ": "mini-batch", "オンライン": "online"}


def _figure_language(lang):
    """The language a tour in ``lang`` draws its figures in (Japanese needs fastnn[ja])."""
    from fastnn.plot._style import japanese_font

    return "ja" if lang == "ja" and japanese_font() is not None else "en"


# What the figures of a tour in that language write, where the tests read their numbers.
DRAWN = {
    "en": {
        "big": "E = {e1} after {steps} steps",
        "rate": "lr = {lr} ",
        "bowl": "Standardised",
        "valley": "Distance in Mpc",
        "within": "lr={lr}, until within 1%",
        "steps": "({n} steps)",
        "wrong": "{wrong} of {n} points wrong",
        "learned": "learned in {n} epochs",
        "held": r"held-out: ([\d.]+)%",
        "right": r"(?P<right>\d+) of (?P<n>\d+) right",
        "after": "{acc}% of the test images right",
        "gap_title": "How far above the minimum",
        "opt": "{name}, lr={lr}: {steps} steps",
        "opt_line": "{name}, lr={lr}:",
        "std": "std ",
        "mode": "{name}, lr={lr}",
        "spe": "{label}: {spe} update{s}/epoch",
    },
    "ja": {
        "big": "{steps} ステップ後 E = {e1}",
        "rate": "学習率 {lr} (",
        "bowl": "標準化した距離",
        "valley": "距離 (Mpc) のまま",
        "within": "学習率 {lr}, 1% 以内まで",
        "steps": "({n} ステップ)",
        "wrong": "{n} 点中 {wrong} 点が誤り",
        "learned": "{n} エポックで学習できた",
        "held": r"テスト: .*?([\d.]+)%$",
        "right": r"(?P<n>\d+) 枚中 (?P<right>\d+) 枚正解",
        "after": "テスト画像の {acc}% が正解",
        "gap_title": "最小値からの高さ",
        "opt": "{name}, 学習率 {lr}: {steps} ステップ",
        "opt_line": "{name}, 学習率 {lr}:",
        "std": "標準偏差 ",
        "mode": "{name}, 学習率 {lr}",
        "spe": "{label}: 1 エポックに {spe} 回更新",
    },
}
# The names the Japanese figures give what the narration names in English.
DRAWN_NAMES = {
    "ja": {
        "momentum 0.9": "モーメンタム 0.9",
        "Nesterov 0.9": "ネステロフ 0.9",
        "small": "小さな値",
    }
}


def written(lang):
    """What the figures of a tour in ``lang`` write (see DRAWN)."""
    return DRAWN[_figure_language(lang)]


def drawn_name(lang, name):
    """A name as the narration says it, written as that language's figures write it."""
    for said, drawn in DRAWN_NAMES.get(_figure_language(lang), {}).items():
        name = name.replace(said, drawn)
    return name


def says(lang, key, text, step):
    """Every match of the pattern ``key`` in the narration of step number ``step``."""
    part = re.split(r"^== \d+\. ", text, flags=re.M)[step]
    found = list(re.finditer(SAYS[lang][key], part, flags=re.M))
    assert found, f"{lang}: {key!r} not found in step {step}"
    return found


def line(ax, starts):
    [found] = [each for each in ax.lines if each.get_label().startswith(starts)]
    return found


def legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_regression_too_large_a_rate_figure_ends_where_the_narration_does(narrated):
    lang, results, text, figures = narrated
    big = results["regression"]["too_large"]
    said = says(lang, "grows", text, 3)[0]
    ax = figures["regression_learning_rate.png"].axes[0]
    drawn = line(ax, written(lang)["rate"].format(lr=big["lr"]))
    steps, E = drawn.get_xdata(), drawn.get_ydata()
    assert int(said["steps"]) == steps[-1] == len(steps) - 1 == big["steps"]
    assert said["e0"] == f"{E[0]:,.0f}" and steps[0] == 0  # the start
    assert said["e1"] == f"{E[-1]:.3g}"  # after the last step
    assert E[-1] == pytest.approx(big["loss_end"], rel=1e-12)
    assert written(lang)["big"].format(e1=said["e1"], steps=said["steps"]) in drawn.get_label()


def test_scaling_lists_exactly_the_steps_it_counts_and_draws(narrated):
    lang, results, text, figures = narrated
    said = says(lang, "fast", text, 11)[0]
    steps = int(said["steps"])
    listed = said["losses"].split(" -> ")
    assert len(listed) == steps + 1  # the start, then each counted step
    fig = figures["scaling_surfaces.png"]
    [bowl] = [ax for ax in fig.axes if ax.get_title().startswith(written(lang)["bowl"])]
    path = line(bowl, written(lang)["within"].format(lr=results["scaling"]["lr"]))
    assert path.get_label().endswith(written(lang)["steps"].format(n=steps))
    ab = path.get_xydata()
    assert len(ab) == steps + 1
    x, y = datasets.load_hubble()
    z = (x - x.mean()) / x.std()
    E = [np.mean((a * z + b - y) ** 2) for a, b in ab]  # E at each point drawn
    assert listed == [f"{e:,.0f}" for e in E]
    target = float(said["target"].replace(",", ""))
    assert E[-1] < target <= E[-2]  # within 1% exactly from this step on
    needs = says(lang, "needs", text, 11)[0]
    [valley] = [ax for ax in fig.axes if ax.get_title().startswith(written(lang)["valley"])]
    raw = line(valley, written(lang)["within"].format(lr=needs["lr"]))
    assert raw.get_label().endswith(written(lang)["steps"].format(n=needs["steps"]))


def test_perceptron_mistakes_said_are_the_mistakes_ringed(narrated):
    lang, results, text, figures = narrated
    axes = [ax for ax in figures["perceptron_lines.png"].axes if ax.get_visible()]
    by_name = {ax.get_title().split("\n")[0]: ax for ax in axes}
    said = says(lang, "xor", text, 6)[0]
    ringed = [each for each in by_name["XOR"].lines if each.get_gid() == "wrong"]
    assert len(ringed) == 1 and len(ringed[0].get_xdata()) == int(said["wrong"])
    assert written(lang)["wrong"].format(**said.groupdict()) in by_name["XOR"].get_title()
    assert int(said["wrong"]) == results["perceptron"]["XOR"]["wrong"] > 0
    for match in says(lang, "learned", text, 6):
        ax = by_name[match["name"]]
        assert written(lang)["learned"].format(n=match["epochs"]) in ax.get_title()
        ringed = [each for each in ax.lines if each.get_gid() == "wrong"]
        assert len(ringed[0].get_xdata()) == 0


def test_overfitting_differences_are_those_of_the_accuracies_shown(narrated):
    lang, results, text, figures = narrated
    plain = says(lang, "plain", text, 13)[0]
    rows = says(lang, "row", text, 13)
    assert len(rows) == 3
    axes = [ax for ax in figures["overfitting_curves.png"].axes if ax.get_visible()]
    shown = {}  # held-out accuracy in each panel's legend, at the end or the kept epoch
    for ax in axes:
        [held] = [m for t in legend(ax) if (m := re.match(written(lang)["held"], t))]
        shown[ax.get_title()] = held.group(1)
    panels = list(shown)
    assert shown[panels[0]] == plain["te"]
    of, n_test = results["overfitting"], results["digits"]["n_test"]
    for panel, key, row in zip(panels[1:], ("decay", "dropout", "early"), rows):
        assert shown[panel] == row["te"] == f"{100 * of[key]['test_accuracy']:.1f}"
        # the points are the difference of the accuracies as printed, to the digit
        assert row["delta"] == f"{float(row['te']) - float(plain['te']):+.1f}"
        assert int(row["n"]) == n_test
        assert int(row["images"]) == round(
            (of[key]["test_accuracy"] - of["plain"]["test_accuracy"]) * n_test
        )


def test_digits_misread_and_most_frequent_mistakes_as_the_figures_show(narrated):
    lang, results, text, figures = narrated
    said = says(lang, "misread", text, 8)[0]
    ax = figures["digits_confusion.png"].axes[0]
    counted = re.search(written(lang)["right"], ax.get_title())
    right, n = int(counted["right"]), int(counted["n"])
    assert int(said["n"]) == n and int(said["wrong"]) == n - right
    cells = {
        (round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text())
        for t in ax.texts
    }
    off = {cell: v for cell, v in cells.items() if cell[0] != cell[1]}
    count = says(lang, "count", text, 8)[0]
    count = int(count["count"] or count["each"])
    pairs = {(int(m["t"]), int(m["p"])) for m in says(lang, "pair", text, 8)}
    assert count == max(off.values())
    assert pairs == {cell for cell, v in off.items() if v == count}
    after = says(lang, "after", text, 8)[0]
    bars = [a for a in figures["digits_after.png"].axes if a.get_title(loc="left")]
    assert bars[0].get_title(loc="left") == after["top"]  # test image #0
    suptitle = figures["digits_after.png"].get_suptitle()
    assert written(lang)["after"].format(acc=after["acc"]) in suptitle
    assert f"({after['acc']}%)" in ax.get_title()


def test_optimizer_steps_are_the_steps_in_the_legend(narrated):
    lang, results, text, figures = narrated
    fig = figures["optimizers_hubble.png"]
    [ax] = [a for a in fig.axes if a.get_title().startswith(written(lang)["gap_title"])]
    texts = legend(ax)
    rows = says(lang, "opt", text, 10)
    assert [m["name"] for m in rows] == list(results["optimizers"]["hubble"])
    for m in rows:
        name = drawn_name(lang, m["name"])
        assert written(lang)["opt"].format(name=name, lr=m["lr"], steps=m["steps"]) in texts
        drawn = line(ax, written(lang)["opt_line"].format(name=name, lr=m["lr"]))
        E_said = drawn.get_ydata()[int(m["steps"]) - 1]  # the marker's height
        [marker] = [
            each
            for each in ax.lines
            if each.get_marker() == "o" and each.get_color() == drawn.get_color()
        ]
        assert marker.get_xdata()[0] == int(m["steps"])
        assert marker.get_ydata()[0] == pytest.approx(E_said)


def test_initialisation_numbers_are_those_of_its_figures(narrated):
    lang, results, text, figures = narrated
    fig = figures["initialisation_activations.png"]
    titles: dict = {}  # network -> the std in the title of each of its panels
    for ax in fig.axes:  # row by row; the first panel of a row names the network
        if ax.get_ylabel():
            row = ax.get_ylabel().split("\n")[0]
        if ax.get_visible() and ax.get_title():
            titles.setdefault(row, []).append(ax.get_title().split(written(lang)["std"])[1])
    for m in says(lang, "std", text, 12):
        assert m["stds"].split() == titles[drawn_name(lang, m["name"])], m["name"]
    ax = figures["initialisation_training.png"].axes[0]
    for m in says(lang, "trained", text, 12):
        last = line(ax, f"{drawn_name(lang, m['name'])}:").get_ydata()[-1]
        assert f"{last:.3f}" == m["l1"], m["name"]


def test_modes_updates_are_those_drawn(narrated):
    lang, results, text, figures = narrated
    ax = figures["modes_loss_per_step.png"].axes[0]
    rows = says(lang, "mode", text, 4)
    assert len(rows) == 3
    for m in rows:
        name = m["name"]
        if _figure_language(lang) == "en":
            name = MODE_NAMES.get(name, name)
        label = written(lang)["mode"].format(name=name, lr=m["lr"])
        spe = int(m["spe"])
        per_epoch = written(lang)["spe"].format(label=label, spe=spe, s="s" if spe != 1 else "")
        assert any(t.startswith(per_epoch) for t in legend(ax))
        bold = line(ax, label)
        drawn = [each for each in ax.lines if each.get_color() == bold.get_color()]
        assert max(each.get_xdata()[-1] for each in drawn) == int(m["total"])


# ------------------------------------------------------------ Japanese figures
# Words the Japanese figures keep in Latin letters: units, symbols, and names
# (of gates, data, networks, optimizers, activation functions, initialisations).
LATIN_KEPT = {
    *("Mpc", "km", "s", "E", "E_min", "a", "b", "x", "x1", "x2", "z", "p", "y"),
    *("lr", "max", "min", "e"),  # λmax, 2/λmax; E - E_min; 1e-05 on log axes
    *("XOR", "AND", "OR", "NAND", "LeNet", "SGD", "AdaGrad", "RMSprop", "Adam"),
    *("Glorot", "He", "relu", "tanh", "sigmoid", "softmax", "x8", "x3", "x4"),
}


def needs_japanese_font():
    """Skip without fastnn[ja]. (Not pytest.importorskip("matplotlib_fontja"): importing
    it directly makes its font every figure's default, for the rest of the run.)"""
    from fastnn.plot._style import japanese_font

    if japanese_font() is None:
        pytest.skip("Japanese figures need fastnn[ja] (matplotlib-fontja)")


def _latin_words(text):
    """Words in Latin letters, but for math text (log-axis ticks: $\\mathdefault{10^{2}}$)."""
    text = re.sub(r"\$[^$]*\$", "", text)
    return set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)) - LATIN_KEPT


def _figure_texts(fig):
    """Every text of a figure: titles, labels, legends, notes, tick labels once drawn."""
    fig.canvas.draw()
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_japanese_figures_render_with_every_glyph(english, japanese):
    """Every figure of the Japanese tour, drawn again with warnings as errors: a
    missing glyph ("Glyph 12354 ... missing from font(s) DejaVu Sans") fails."""
    needs_japanese_font()
    figures = FIGURES_DRAWN["ja"]
    assert sorted(figures) == ALL_FIGURES
    for name, fig in figures.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig.savefig(io.BytesIO(), format="png", dpi=60)
        families = {tuple(t.get_fontfamily()) for t in fig.findobj(matplotlib.text.Text)}
        assert families == {("DejaVu Sans", "IPAexGothic")}, (name, families)


def test_japanese_figures_say_everything_in_japanese(english, japanese):
    """No English word is left in a Japanese figure but units, symbols and names, and
    each figure says something else than its English twin."""
    needs_japanese_font()
    for name in ALL_FIGURES:
        en, ja = (_figure_texts(FIGURES_DRAWN[lang][name]) for lang in ("en", "ja"))
        left = set().union(*map(_latin_words, ja))
        assert not left, (name, sorted(left))
        assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) for text in ja), name
        assert set(ja) != set(en), name
        png = {}
        for lang in ("en", "ja"):
            buf = io.BytesIO()
            FIGURES_DRAWN[lang][name].savefig(buf, format="png", dpi=40)
            png[lang] = buf.getvalue()
        assert png["en"] != png["ja"], name


def test_japanese_tour_without_the_font_narrates_in_japanese_draws_in_english(
    tmp_path, monkeypatch
):
    from fastnn.plot import _style

    monkeypatch.setattr(_style, "japanese_font", lambda: None)
    stream = io.StringIO()
    with recorded_figures() as figures:
        tour.run(tmp_path, lang="ja", only=["regression", "perceptron"], stream=stream)
    text = stream.getvalue()
    said = tour._core.narration("ja")["common"]["no_font"]
    assert text.count(said) == 1 and 'pip install "fastnn[ja]"' in said
    assert "勾配降下法" in text  # the narration stays Japanese
    fig = figures["regression_loss_surface.png"]
    assert fig.axes[0].get_title() == "Gradient descent rolls down the error surface"
    assert figures["regression_fit.png"].axes[0].get_xlabel() == "distance (Mpc)"
