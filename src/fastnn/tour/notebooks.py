"""The lecture as Jupyter notebooks, in English and Japanese, generated from the tour itself.

One notebook per language, one section per step of :data:`fastnn.tour.STEPS`,
in the tour's order. A section has the step's title (from the narration), a
cell that runs the tour's own step (:class:`fastnn.tour.Lecture`: the same
code and narration as ``python -m fastnn tour``, so the same numbers), a few
lines of fastnn showing the idea with the tour's own settings, and an
exercise. Nothing in a notebook is written by hand: the titles come from
``text/<lang>.json``, the words around the code from
``text/notebook.<lang>.json``, the settings from the tour's modules. The
notebooks are written without outputs, so that they diff cleanly.

Write them (needs ``nbformat``, in ``fastnn[notebooks]``)::

    python -m fastnn.tour.notebooks notebooks/          # lecture_en.ipynb, lecture_ja.ipynb
    python -m fastnn.tour.notebooks --check notebooks/  # exit 1 if they differ

or open them in Jupyter in one command: ``python -m fastnn notebooks``.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._text import LANGUAGES, text_table
from . import STEPS, learning, networks, practice
from ._core import narration

__all__ = [
    "build",
    "write",
    "open_notebooks",
    "notebook_file",
    "notebook_text",
    "code_cells",
    "FILE_NAMES",
    "main",
]

FILE_NAMES = {lang: f"lecture_{lang}.ipynb" for lang in LANGUAGES}
"""The file name of each language's notebook."""

_SETUP = """\
%matplotlib inline
import numpy as np

import fastnn
from fastnn.datasets import load_digits, load_hubble
from fastnn.tour import Lecture

LANG = {lang!r}  # {c[lang]}
SEED = 0
lecture = Lecture(lang=LANG, seed=SEED, out_dir="figures")"""

# A few lines of fastnn per step, with the tour's settings written in (see _settings).
_TRY = {
    "data": """\
X, y = load_digits()
print(X.shape, "label:", y[0])
print(X[0].reshape(8, 8).astype(int))
fastnn.plot.digit_image(X[0], label=y[0], lang=LANG)""",
    "machine": """\
net = fastnn.Sequential([fastnn.Dense(2, 3, activation="tanh"), fastnn.Dense(3, 1)], seed=SEED)
x = np.array([[1.0, 0.5]])
for w in [-2.0, -1.0, 0.0, 1.0, 2.0]:
    net.layers[0].W[0, 0] = w
    print(f"w = {{w:+.1f}}  ->  prediction {{net.predict(x)[0, 0]:+.4f}}")""",
    "regression": """\
x, v = load_hubble()  # {c[hubble]}
m = fastnn.RegressionMachine(seed=SEED).fit(x, v, lr={full_lr}, steps={full_steps})
print(f"a = {{m.a:.2f}} km/s/Mpc, b = {{m.b:.2f}} km/s, E = {{m.loss(m.a, m.b):,.0f}}")
fastnn.plot.loss_surface(m, lang=LANG)""",
    "modes": """\
X, y = load_digits()
X = X / 16.0
perm = np.random.default_rng(SEED).permutation(len(X))
test, train = perm[: len(X) // 4], perm[len(X) // 4 :]  # {c[held_out]}
net = fastnn.Sequential(
    [fastnn.Dense(64, 32, activation="relu"), fastnn.Dense(32, 10, activation="softmax")],
    loss="cross_entropy",
    seed=SEED,
)
history = net.fit(
    X[train], y[train], epochs={epochs}, batch_size={mini_bs}, optimizer=fastnn.SGD(lr={mini_lr})
)
print(len(history.step_loss), "updates; test accuracy", net.score(X[test], y[test]))
fastnn.plot.loss_per_step({{"{c[mini]}": history}}, lang=LANG)""",
    "neuron": """\
from fastnn import logic

print(logic.truth_table(logic.XOR))
print(logic.ripple_adder([1, 1, 0, 1], [0, 1, 1, 0]))  # {c[bits]}""",
    "perceptron": """\
import warnings

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
with warnings.catch_warnings():
    warnings.simplefilter("ignore", fastnn.ConvergenceWarning)  # {c[xor]}
    for name, y in {{"AND": [0, 0, 0, 1], "XOR": [0, 1, 1, 0]}}.items():
        p = fastnn.Perceptron(seed=SEED).fit(X, y)
        print(name, "converged:", p.converged_, "predictions:", p.predict(X))""",
    "backprop": """\
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0])
net = fastnn.Sequential(
    [
        fastnn.Dense(2, {xor_hidden}, activation="tanh"),
        fastnn.Dense({xor_hidden}, 1, activation="sigmoid"),
    ],
    loss="binary_cross_entropy",
    dtype="float64",
    seed=SEED,
)
net.fit(X, y, epochs={xor_epochs}, optimizer=fastnn.Adam(lr={xor_lr}))
print(net.predict(X).round(3).ravel())
fastnn.plot.decision_regions(net, X, y, lang=LANG)""",
    "digits": """\
X, y = load_digits()
X = X / 16.0
perm = np.random.default_rng(SEED).permutation(len(X))
test, train = perm[: len(X) // 4], perm[len(X) // 4 :]  # {c[held_out]}
net = fastnn.Sequential(
    [fastnn.Dense(64, 32, activation="relu"), fastnn.Dense(32, 10, activation="softmax")],
    loss="cross_entropy",
    seed=SEED,
)
net.fit(
    X[train],
    y[train],
    epochs={digits_epochs},
    batch_size={digits_bs},
    optimizer=fastnn.SGD(lr={digits_lr}, momentum={digits_momentum}),
)
print("test accuracy", net.score(X[test], y[test]))
fastnn.plot.confusion_matrix(y[test], net.predict(X[test]), lang=LANG)""",
    "lenet": """\
net = fastnn.models.lenet(seed=SEED)
print(net.summary())""",
    "optimizers": """\
x, v = load_hubble()
m = fastnn.RegressionMachine(seed=SEED).fit(x, v, steps=300, optimizer=fastnn.Adam(lr=30))
print(f"Adam: a = {{m.a:.2f}}, b = {{m.b:.2f}}")
fastnn.plot.loss_surface(m, lang=LANG)""",
    "scaling": """\
x, v = load_hubble()
z = (x - x.mean()) / x.std()  # {c[z]}
m = fastnn.RegressionMachine(seed=SEED).fit(z, v, lr={scaled_lr}, steps={scaled_steps})
print(f"a' = {{m.a:.2f}}, b' = {{m.b:.2f}}, E = {{m.loss(m.a, m.b):,.0f}}")
fastnn.plot.loss_surface(m, lang=LANG)""",
    "initialisation": """\
X, y = load_digits()
X = X / 16.0
sizes = [64, 100, 100, 100, 100, 100, 10]
net = fastnn.Sequential(
    [fastnn.Dense(n_in, n_out, activation="relu") for n_in, n_out in zip(sizes[:-2], sizes[1:-1])]
    + [fastnn.Dense(sizes[-2], sizes[-1], activation="softmax")],
    loss="cross_entropy",
    seed=SEED,
)
rng = np.random.default_rng(SEED)
for layer in net.layers:  # {c[he]}
    layer.W[...] = rng.normal(0.0, np.sqrt(2.0 / layer.n_in), size=layer.W.shape)
fastnn.plot.activation_histograms(net, X, lang=LANG)""",
    "overfitting": """\
X, y = load_digits()
X = X / 16.0
n = {n_small}
net = fastnn.Sequential(
    [
        fastnn.Dense(64, {hidden}, activation="relu"),
        fastnn.Dense({hidden}, 10, activation="softmax"),
    ],
    loss="cross_entropy",
    seed=SEED,
)
history = net.fit(
    X[:n],
    y[:n],
    epochs={of_epochs},
    batch_size={of_bs},
    optimizer=fastnn.SGD(lr={of_lr}, momentum={of_momentum}, l2={of_l2}),
    validation_data=(X[n : 2 * n], y[n : 2 * n]),
    callbacks=[fastnn.EarlyStopping(patience={patience})],
)
print("validation accuracy", history.val_accuracy[-1])
fastnn.plot.learning_curves({{"{c[l2]}": history}}, lang=LANG)""",
    "summary": """\
for name, result in lecture.results.items():
    print(name, sorted(key for key in result if key != "figures"))""",
}


def _settings() -> dict[str, Any]:
    """The tour's own settings, as the code of the notebooks writes them."""
    modes = {key: (bs, lr) for key, bs, lr in learning._MODES}
    of = practice._OVERFIT
    return {
        "full_lr": learning.FULL["lr"],
        "full_steps": learning.FULL["steps"],
        "epochs": learning._MODE_EPOCHS,
        "mini_bs": modes["mini"][0],
        "mini_lr": modes["mini"][1],
        "xor_hidden": networks._XOR["hidden"],
        "xor_epochs": networks._XOR["epochs"],
        "xor_lr": networks._XOR["lr"],
        "digits_epochs": networks._DIGITS_TRAINING["epochs"],
        "digits_bs": networks._DIGITS_TRAINING["batch_size"],
        "digits_lr": networks._DIGITS_TRAINING["lr"],
        "digits_momentum": networks._DIGITS_TRAINING["momentum"],
        "scaled_lr": learning.TOO_LARGE["lr"],
        "scaled_steps": practice._SCALED_STEPS,
        "n_small": of["n_small"],
        "hidden": of["hidden"],
        "of_epochs": of["epochs"],
        "of_bs": of["batch_size"],
        "of_lr": of["lr"],
        "of_momentum": of["momentum"],
        "of_l2": of["weight_decay"],
        "patience": of["patience"],
    }


@functools.cache
def notebook_text(lang: str) -> dict[str, Any]:
    """The words of the notebook in ``lang``, from ``text/notebook.<lang>.json``."""
    return text_table(__package__, "notebook.{lang}", lang)


def code_cells(lang: str) -> dict[str, list[str]]:
    """The code of each step's section, by step name: the tour's step, then the
    few lines of fastnn. ``"setup"`` is the notebook's first code cell."""
    settings = {**_settings(), "c": notebook_text(lang)["comments"]}
    cells = {"setup": [_SETUP.format(lang=lang, c=settings["c"])]}
    for name in STEPS:
        cells[name] = [f'r = lecture.step("{name}")', _TRY[name].format(**settings)]
    return cells


def _heading(title: str) -> str:
    """ "== 3. Regression: ... ==" -> "## 3. Regression: ..." """
    return "## " + re.sub(r"^=+\s*|\s*=+$", "", title.strip())


def build(lang: str) -> Any:
    """The notebook of the lecture in ``lang``, as an ``nbformat`` notebook, without outputs.

    Raises
    ------
    ValueError
        For a language other than those of :data:`fastnn.tour.LANGUAGES`.
    ImportError
        Without ``nbformat`` (``pip install "fastnn[notebooks]"``).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    import nbformat
    from nbformat import v4

    words, said = notebook_text(lang), narration(lang)
    code = code_cells(lang)
    cells = [
        v4.new_markdown_cell(f"{words['title']}\n\n{words['intro']}"),
        v4.new_markdown_cell(words["setup"]),
        v4.new_code_cell(code["setup"][0]),
    ]
    for name in STEPS:
        run, tried = code[name]
        cells += [
            v4.new_markdown_cell(f"{_heading(said[name]['title'])}\n\n{words['run']}"),
            v4.new_code_cell(run),
            v4.new_markdown_cell(words["try"]),
            v4.new_code_cell(tried),
            v4.new_markdown_cell(f"{words['exercise']} {words['exercises'][name]}"),
        ]
    for i, cell in enumerate(cells):  # stable ids: the same notebook every time
        cell["id"] = f"{lang}-{i:02d}"
    nb = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(nb)
    return nb


def notebook_file(lang: str) -> str:
    """The text of the notebook file in ``lang``, as :func:`write` writes it."""
    import nbformat

    return nbformat.writes(build(lang)).rstrip("\n") + "\n"


def write(directory: str | Path, langs: Sequence[str] = LANGUAGES) -> list[Path]:
    """Write the notebooks into ``directory`` (created if missing); return their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang in langs:
        path = out / FILE_NAMES[lang]
        path.write_text(notebook_file(lang), encoding="utf-8")
        paths.append(path)
    return paths


def open_notebooks(directory: str | Path, *, jupyter: bool = True, force: bool = False) -> int:
    """Write the notebooks into ``directory`` and open it in JupyterLab (or Notebook).

    This is ``python -m fastnn notebooks``. A notebook already there that
    differs from the tour's (a student's work) is kept unless ``force``.

    Returns
    -------
    int
        The exit code: 0, or 1 when a notebook is kept or Jupyter is missing.
    """
    out = Path(directory)
    kept = [
        out / name
        for lang, name in FILE_NAMES.items()
        if (out / name).exists() and (out / name).read_text(encoding="utf-8") != notebook_file(lang)
    ]
    if kept and not force:
        print(
            f"{', '.join(map(str, kept))} exists and differs from the tour's notebook; "
            "kept (--force writes over it, or choose another --out)",
            file=sys.stderr,
        )
        return 1
    for path in write(out):
        print(f"wrote {path}")
    command = [sys.executable, "-m", "jupyter"]
    for app, module in (("lab", "jupyterlab"), ("notebook", "notebook")):
        try:
            __import__(module)
        except ImportError:
            continue
        command.append(app)
        break
    shown = f"jupyter {command[-1] if len(command) > 3 else 'lab'} {out}"
    if not jupyter:
        print(f"open them with: {shown}")
        return 0
    if len(command) == 3:
        print(
            f'Jupyter is not installed: pip install "fastnn[notebooks]", then {shown}',
            file=sys.stderr,
        )
        return 1
    import subprocess

    print(f"starting {shown} (Ctrl-C stops it)")
    try:
        return subprocess.call([*command, str(out)])
    except KeyboardInterrupt:
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastnn.tour.notebooks [--check] DIR``: write (or check) the notebooks."""
    parser = argparse.ArgumentParser(
        prog="python -m fastnn.tour.notebooks",
        description="Write the lecture's notebooks (lecture_en.ipynb, lecture_ja.ipynb) "
        "from the tour, without outputs.",
    )
    parser.add_argument("directory", nargs="?", default="notebooks", help="default: notebooks")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the notebooks in DIRECTORY differ from the tour's",
    )
    args = parser.parse_args(argv)
    try:
        import nbformat  # noqa: F401
    except ImportError:
        print('the notebooks need nbformat: pip install "fastnn[notebooks]"', file=sys.stderr)
        return 1
    if not args.check:
        for path in write(args.directory):
            print(f"wrote {path}")
        return 0
    stale = []
    for lang, name in FILE_NAMES.items():
        path = Path(args.directory) / name
        if not path.exists() or path.read_text(encoding="utf-8") != notebook_file(lang):
            stale.append(str(path))
    if stale:
        print(
            f"out of date with the tour: {', '.join(stale)}; "
            f"run python -m fastnn.tour.notebooks {args.directory}",
            file=sys.stderr,
        )
        return 1
    print("the notebooks are those the tour generates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
