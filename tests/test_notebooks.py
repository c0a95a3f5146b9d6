"""The lecture's notebooks: generated from the tour, committed as generated, same numbers."""

import contextlib
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from fastnn import tour  # noqa: E402
from fastnn.__main__ import main as fastnn_main  # noqa: E402
from fastnn.tour import notebooks  # noqa: E402

COMMITTED = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture
def nbformat():
    """nbformat, which writing the notebooks needs (fastnn[notebooks])."""
    return pytest.importorskip("nbformat", reason="the notebooks need fastnn[notebooks]")


@pytest.mark.parametrize("lang", tour.LANGUAGES)
def test_committed_notebooks_are_those_the_tour_generates(lang, tmp_path, nbformat):
    path = COMMITTED / notebooks.FILE_NAMES[lang]
    if not path.exists():
        pytest.skip("no checkout of the repository beside the tests")
    [written] = notebooks.write(tmp_path, [lang])
    assert written.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
        f"{path} differs from the tour: run python -m fastnn.tour.notebooks notebooks"
    )


def test_check_tells_a_stale_notebook(tmp_path, capsys, nbformat):
    notebooks.write(tmp_path)
    assert notebooks.main(["--check", str(tmp_path)]) == 0
    path = tmp_path / notebooks.FILE_NAMES["ja"]
    path.write_text(path.read_text(encoding="utf-8").replace("勾配降下法", "GD"), encoding="utf-8")
    assert notebooks.main(["--check", str(tmp_path)]) == 1
    assert "lecture_ja.ipynb" in capsys.readouterr().err


@pytest.mark.parametrize("lang", tour.LANGUAGES)
def test_a_section_per_step_in_the_lecture_order_without_outputs(lang, nbformat):
    nb = notebooks.build(lang)
    nbformat.validate(nb)
    headings = [
        cell.source.splitlines()[0]
        for cell in nb.cells
        if cell.cell_type == "markdown" and cell.source.startswith("## ")
    ]
    said = tour._core.narration(lang)
    assert headings == [
        "## " + said[name]["title"].strip("= ").strip("=").strip() for name in tour.STEPS
    ]
    assert [int(re.match(r"## (\d+)\.", h).group(1)) for h in headings] == list(
        range(1, len(tour.STEPS) + 1)
    )
    runs = [c.source for c in nb.cells if c.cell_type == "code" and "lecture.step" in c.source]
    assert runs == [f'r = lecture.step("{name}")' for name in tour.STEPS]
    words = notebooks.notebook_text(lang)
    exercises = [c.source for c in nb.cells if c.source.startswith(words["exercise"])]
    assert len(exercises) == len(tour.STEPS)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    setup = nb.cells[2].source
    assert f"LANG = {lang!r}" in setup and "%matplotlib inline" in setup


def _run_cells(sources, where, monkeypatch):
    """Run notebook code cells in one namespace, as a kernel would (magics dropped)."""
    namespace: dict = {}
    monkeypatch.chdir(where)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        for source in sources:
            code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
            exec(compile(code, "<notebook cell>", "exec"), namespace)
    return namespace, out.getvalue()


@pytest.mark.parametrize("lang", tour.LANGUAGES)
def test_notebook_steps_give_the_tour_numbers(lang, tmp_path, monkeypatch):
    """The notebook's cells for regression and the training modes, run as a kernel runs
    them: the tour's step and the few lines of fastnn give the numbers of the tour."""
    cells = notebooks.code_cells(lang)
    sources = cells["setup"] + cells["regression"] + cells["modes"]
    ns, said = _run_cells(sources, tmp_path, monkeypatch)
    stream = io.StringIO()
    results = tour.run(tmp_path / "tour", lang=lang, only=["regression", "modes"], stream=stream)
    assert ns["lecture"].results["regression"]["a"] == results["regression"]["a"]
    assert ns["lecture"].results["regression"]["paths"] == results["regression"]["paths"]
    # the narration printed in the notebook is the tour's, word for word
    tour_text = stream.getvalue()
    for line in tour_text.splitlines():
        if "figure" not in line and "図" not in line and "秒" not in line and " s;" not in line:
            assert line in said, line
    # the few lines of fastnn, with the tour's settings, land where the tour did
    m = ns["m"]
    assert (m.a, m.b) == (results["regression"]["a"], results["regression"]["b"])
    history, net, X, y, test = ns["history"], ns["net"], ns["X"], ns["y"], ns["test"]
    mini = results["modes"]["mini"]
    assert len(history.step_loss) == mini["updates"]
    assert history.loss[-1] == mini["loss_last_epoch"]
    assert net.score(X[test], y[test]) == pytest.approx(mini["test_accuracy"], abs=1e-12)
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(
        results["regression"]["figures"] + results["modes"]["figures"]
    )


def test_digits_cell_gives_the_tour_accuracy(tmp_path, monkeypatch):
    cells = notebooks.code_cells("en")
    ns, _ = _run_cells(cells["setup"] + cells["digits"][1:], tmp_path, monkeypatch)
    results = tour.run(tmp_path / "tour", only=["digits"], stream=io.StringIO())
    X, y, test, net = ns["X"], ns["y"], ns["test"], ns["net"]
    assert net.score(X[test], y[test]) == pytest.approx(results["digits"]["accuracy"], abs=1e-12)
    assert len(test) == results["digits"]["n_test"] and len(np.unique(test)) == len(test)


def test_lecture_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="lang must be one of en, ja, got 'de'"):
        tour.Lecture(lang="de", out_dir=tmp_path)
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        tour.Lecture(seed=-1, out_dir=tmp_path)
    lecture = tour.Lecture(out_dir=tmp_path, show=False, stream=io.StringIO())
    with pytest.raises(ValueError, match="unknown step 'regresion'; the steps are: data"):
        lecture.step("regresion")
    with pytest.raises(TypeError, match="name must be a step name"):
        lecture.step(3)
    assert lecture.results == {}


def test_notebooks_command_writes_them_and_says_how_to_open_them(tmp_path, capsys, nbformat):
    out = tmp_path / "lecture"
    assert fastnn_main(["notebooks", "--out", str(out), "--no-jupyter"]) == 0
    text = capsys.readouterr().out
    for lang, name in notebooks.FILE_NAMES.items():
        path = out / name
        assert path.read_text(encoding="utf-8") == notebooks.notebook_file(lang)
        assert str(path) in text
    assert "jupyter lab" in text
    # a second time leaves a teacher's edited copy alone unless told
    (out / "lecture_en.ipynb").write_text("{}", encoding="utf-8")
    assert fastnn_main(["notebooks", "--out", str(out), "--no-jupyter"]) == 1
    assert "exists" in capsys.readouterr().err
    assert (out / "lecture_en.ipynb").read_text(encoding="utf-8") == "{}"
    assert fastnn_main(["notebooks", "--out", str(out), "--no-jupyter", "--force"]) == 0


def test_tour_help_mentions_the_notebooks(capsys):
    assert fastnn_main(["tour", "--help"]) == 0
    text = capsys.readouterr().out
    assert "python -m fastnn notebooks" in text and "fastnn[notebooks]" in text


def test_notebook_generation_needs_no_copy_of_the_repository(tmp_path, nbformat):
    shutil.rmtree(tmp_path, ignore_errors=True)
    paths = notebooks.write(tmp_path / "x")
    assert [p.name for p in paths] == ["lecture_en.ipynb", "lecture_ja.ipynb"]
