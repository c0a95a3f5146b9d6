"""The lecture tour end to end: the CLI, the figures, and narration with true numbers."""

import io
import os
import re
import subprocess
import sys
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
    "regression": ["regression_fit.png", "regression_loss_surface.png",
                   "regression_learning_rate.png"],
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


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    """One full English tour through Python: its results, narration and files."""
    out = tmp_path_factory.mktemp("tour_en")
    stream = io.StringIO()
    results = tour.run(out, lang="en", stream=stream)
    return results, stream.getvalue(), out


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


def test_cli_full_tour_in_japanese(tmp_path, capsys, english):
    results, _, _ = english
    assert main(["tour", "--out", str(tmp_path), "--lang", "ja"]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ALL_FIGURES
    for path in tmp_path.iterdir():
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
    assert main(["tour", "--out", str(tmp_path), "--only", "perceptron", "neuron",
                 "--lang", "ja"]) == 0
    text = capsys.readouterr().out
    assert re.findall(r"^== (\d+)\. ", text, flags=re.M) == ["5", "6"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        FIGURES["neuron"] + FIGURES["perceptron"])
    assert "converged_ = False" in text and "線形分離不可能" in text


@pytest.mark.parametrize("only", [["nonsense"], ["regression", "digitz"]])
def test_cli_unknown_step_exits_2_and_lists_the_steps(tmp_path, capsys, only):
    assert main(["tour", "--out", str(tmp_path / "x"), "--only", *only]) == 2
    err = capsys.readouterr().err
    assert repr(only[-1]) in err
    assert ("data, machine, regression, modes, neuron, perceptron, backprop, digits, lenet, "
            "optimizers, scaling, initialisation, overfitting, summary") in err
    assert not (tmp_path / "x").exists()  # nothing ran


def test_cli_usage_errors_and_help(capsys):
    assert main(["--help"]) == 0
    assert "tour" in capsys.readouterr().out
    assert main(["tour", "--help"]) == 0
    assert "steps, in order" in capsys.readouterr().out
    assert main(["tour"]) == 2  # --out is required
    assert "--out" in capsys.readouterr().err
    assert main(["tour", "--out", "x", "--lang", "fr"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main([]) == 2


def test_python_m_fastnn_without_a_display(tmp_path):
    src = str(Path(fastnn.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    env["PYTHONPATH"] = src + os.pathsep + os.environ.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "fastnn", "tour", "--out", str(tmp_path),
                           "--only", "neuron"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "NAND" in proc.stdout
    check_png(tmp_path / "neuron_decision_lines.png")
    proc = subprocess.run([sys.executable, "-m", "fastnn", "tour", "--out", str(tmp_path),
                           "--only", "bogus"], env=env, capture_output=True, text=True)
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
    assert f"test accuracy {dig['accuracy']:.1%}, loss {dig['loss_after']:.3f}" \
        in stream.getvalue()


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
    assert f"LeNet misreads {lenet['wrong']} and the dense network " \
        f"{lenet['dense']['wrong']}." in text
    assert "neocognitron (1979)" in text and "LeNet (1989)" in text


def test_lenet_trains_on_the_split_of_the_digits_step():
    from fastnn import models

    t = tour._Tour(None, "en", None, seed=5)
    d = tour._digits_split(t)
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
    makers = {"SGD": lambda lr: fastnn.SGD(lr=lr),
              "momentum 0.9": lambda lr: fastnn.SGD(lr=lr, momentum=0.9),
              "Nesterov 0.9": lambda lr: fastnn.SGD(lr=lr, momentum=0.9, nesterov=True),
              "AdaGrad": lambda lr: fastnn.AdaGrad(lr=lr),
              "RMSprop": lambda lr: fastnn.RMSprop(lr=lr),
              "Adam": lambda lr: fastnn.Adam(lr=lr)}
    assert list(opt["hubble"]) == list(makers)
    for name, row in opt["hubble"].items():
        assert row["steps"] is not None, name     # each gets down within the budget
        m = fastnn.RegressionMachine().fit(x, y, steps=opt["budget"],
                                           optimizer=makers[name](row["lr"]))
        assert steps_within(m, e_min) == row["steps"], name
        assert f"{name:<15} lr = {row['lr']:<6g} {row['steps']:>4} steps" in text
    # plain gradient descent: its best rate is below the stability limit, and it beats
    # a smaller rate
    assert opt["hubble"]["SGD"]["lr"] < results["regression"]["stability_limit"]
    slower = fastnn.RegressionMachine().fit(x, y, steps=opt["budget"],
                                            optimizer=fastnn.SGD(lr=0.1))
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
    assert sc["a"] == pytest.approx(slope, abs=0.01) and sc["b"] == pytest.approx(intercept,
                                                                                   abs=0.01)
    assert sc["raw_diverged_at"] is not None
    assert sc["raw_steps"] > 3 * sc["steps"]
    assert f"stopped at step {sc['raw_diverged_at']} with TrainingDiverged" in text
    assert f"gets within 1% of the minimum in {sc['steps']} step(s)" in text


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
    assert small["loss_last_epoch"] > 2.0            # stays at the loss of guessing
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
        assert row["delta_points"] == pytest.approx(
            100 * (row["test_accuracy"] - plain["test_accuracy"]))
        assert f"held-out {row['test_accuracy']:.1%} ({row['delta_points']:+.1f} points)" \
            in text
    assert of["decay"]["train_loss"] > plain["train_loss"]    # the decay holds weights back
    early = of["early"]
    assert early["epochs"] < 60 and early["best_epoch"] < early["epochs"]
    assert len(early["curves"]["train"]) == early["epochs"]
    assert of["full_data_accuracy"] > plain["test_accuracy"]
    assert f"No regulariser: training accuracy {plain['train_accuracy']:.1%}" in text
