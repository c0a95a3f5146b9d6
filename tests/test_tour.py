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
    headers = re.findall(r"^== (\d)\. ", text, flags=re.M)
    assert headers == [str(i) for i in range(1, 10)]
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
    assert "The tour ran" not in text and "gradient descent" not in text.lower()
    # the same run, narrated in Japanese: the same numbers
    reg, dig = results["regression"], results["digits"]
    assert f"a = {reg['a']:.2f} km/s/Mpc" in text
    assert f"テスト正解率 {dig['accuracy']:.1%}" in text


def test_cli_only_one_step(tmp_path, capsys):
    assert main(["tour", "--out", str(tmp_path), "--only", "regression"]) == 0
    text = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FIGURES["regression"])
    assert re.findall(r"^== (\d)\. ", text, flags=re.M) == ["3"]


def test_cli_only_several_steps_run_in_tour_order(tmp_path, capsys):
    assert main(["tour", "--out", str(tmp_path), "--only", "perceptron", "neuron",
                 "--lang", "ja"]) == 0
    text = capsys.readouterr().out
    assert re.findall(r"^== (\d)\. ", text, flags=re.M) == ["5", "6"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        FIGURES["neuron"] + FIGURES["perceptron"])
    assert "converged_ = False" in text and "線形分離不可能" in text


@pytest.mark.parametrize("only", [["nonsense"], ["regression", "digitz"]])
def test_cli_unknown_step_exits_2_and_lists_the_steps(tmp_path, capsys, only):
    assert main(["tour", "--out", str(tmp_path / "x"), "--only", *only]) == 2
    err = capsys.readouterr().err
    assert repr(only[-1]) in err
    assert "data, machine, regression, modes, neuron, perceptron, backprop, digits, summary" \
        in err
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
    summary = text.split("== 9.")[1]
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
    assert re.findall(r"^== (\d)\. ", text, flags=re.M) == ["9"]
    assert list(tmp_path.iterdir()) == []  # the quiet steps draw nothing
    assert f"to {results['summary']['loss_end']:,.0f}" in text
    assert results["summary"]["accuracy"] > 0.95


def test_run_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="the steps are: data, machine"):
        tour.run(tmp_path, only=["regresion"])
    with pytest.raises(ValueError, match="lang"):
        tour.run(tmp_path, lang="de")
    assert tour.select_steps("digits,data") == ["data", "digits"]
