"""The pages of the documentation site that are made, not written: see ``conf.py``.

- ``_generated/api.rst``: one entry per public name (``fastnn.__all__``, the
  figures of ``fastnn.plot``, the lecture of ``fastnn.tour``), from the
  docstrings;
- ``_generated/<lang>/lecture_<lang>.ipynb``: the committed notebooks, executed
  from a clean kernel with nbclient (their figures land in ``figures/`` beside);
- ``_generated/gallery.md``: every figure of the tour in English and Japanese,
  as the notebooks' run drew them;
- ``_generated/bench/results.md``: the benchmark table of ``bench/results``.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import types
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATED = HERE / "_generated"
LANGS = ("en", "ja")

# Beyond fastnn.__all__: the figures and the lecture, documented by module.
MODULES_DOCUMENTED = {
    "fastnn.plot": "Figures (``fastnn.plot``)",
    "fastnn.tour": "The lecture (``fastnn.tour``)",
    "fastnn.tour.notebooks": "The notebooks (``fastnn.tour.notebooks``)",
    "fastnn.onnx": "ONNX and skl2onnx (``fastnn.onnx``, extra ``fastnn[onnx]``)",
    "fastnn.dask": "Dask (``fastnn.dask``, extra ``fastnn[dask]``)",
}
_TOUR_NAMES = ("run", "select_steps", "Lecture", "STEPS", "STEP_HELP", "LANGUAGES")
# Modules the docstrings refer to, shown with their own docstring.
_SUBMODULES = {
    "fastnn.plot": (
        "fastnn.plot.regression",
        "fastnn.plot.neurons",
        "fastnn.plot.networks",
        "fastnn.plot.practice",
        "fastnn.plot._style",
        "fastnn.inspection",
    ),
}
_NOTEBOOK_NAMES = ("build", "write", "open_notebooks")


def _public(module_name: str) -> list[tuple[str, Any]]:
    """(dotted name, object) of what the API reference documents for a module."""
    import importlib

    module = importlib.import_module(module_name)
    if module_name == "fastnn.tour":
        names: tuple = _TOUR_NAMES
    elif module_name == "fastnn.tour.notebooks":
        names = _NOTEBOOK_NAMES
    else:
        names = tuple(module.__all__)
    return [(f"{module_name}.{name}", getattr(module, name)) for name in names]


def _directive(dotted: str, obj: Any) -> str | None:
    """The autodoc directive of one public object (None for plain data)."""
    if isinstance(obj, types.ModuleType):
        return f".. automodule:: {obj.__name__}\n   :members:\n"
    if inspect.isclass(obj):
        return f".. autoclass:: {dotted}\n   :members:\n"
    if callable(obj):
        return f".. autofunction:: {dotted}\n"
    if dotted.startswith("fastnn.tour."):
        return f".. autodata:: {dotted}\n   :no-value:\n"
    return None


def api_page() -> str:
    """The API reference as reStructuredText, driven by the packages' ``__all__``."""
    import fastnn

    lines = [
        "API reference",
        "=============",
        "",
        "Every public name of ``fastnn`` (``fastnn.__all__``), with its docstring: a",
        "name exported without one fails the build of this site.",
        "",
        f"``fastnn.__version__`` is ``{fastnn.__version__!r}``.",
        "",
        "fastnn",
        "------",
        "",
        ".. currentmodule:: fastnn",
        "",
    ]
    data = []
    for name in fastnn.__all__:
        obj = getattr(fastnn, name)
        directive = _directive(f"fastnn.{name}", obj)
        if directive is None:
            data.append(name)
            continue
        if isinstance(obj, types.ModuleType):
            lines += [f"``fastnn.{name}``", "~" * (len(name) + 11), ""]
        lines += [directive, ""]
    for module_name, title in MODULES_DOCUMENTED.items():
        lines += [title, "-" * len(title), "", f".. automodule:: {module_name}", ""]
        constants = []
        for dotted, obj in _public(module_name):
            directive = _directive(dotted, obj)
            if directive is None:
                constants.append(dotted)
            else:
                lines += [directive, ""]
        for submodule in _SUBMODULES.get(module_name, ()):
            lines += [f".. automodule:: {submodule}", ""]
        if constants:
            lines += [
                "Constants: " + ", ".join(f"``{c}``" for c in constants) + ".",
                "",
            ]
    return "\n".join(lines)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def execute_notebooks() -> None:
    """Execute each committed notebook in its own directory, from a clean kernel.

    An executed copy is reused while its source is unchanged (the digest of
    the source is kept beside it). A cell that raises fails the build.
    """
    import nbclient
    import nbformat

    env_path = os.environ.get("PYTHONPATH", "")
    kernels = ROOT / "src" / "fastnn"
    if any(kernels.glob("_kernels*.so")):  # a checkout with its build: the kernel uses it
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env_path) if p)
    for lang in LANGS:
        source = ROOT / "notebooks" / f"lecture_{lang}.ipynb"
        where = GENERATED / lang
        done = where / source.name
        stamp = where / "source.sha256"
        if done.exists() and stamp.exists() and stamp.read_text() == _digest(source):
            continue
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        nb = nbformat.read(str(source), as_version=4)
        client = nbclient.NotebookClient(
            nb,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(where)}},
        )
        client.execute()
        nbformat.write(nb, str(done))
        stamp.write_text(_digest(source))


def gallery_page() -> str:
    """Every figure of the tour, English beside Japanese, as the notebooks drew them."""
    from fastnn import tour

    english = GENERATED / "en" / "figures"
    names = sorted(p.name for p in english.glob("*.png"))
    steps = list(tour.STEPS)

    def order(name: str) -> tuple[int, str]:
        step = next((s for s in steps if name.startswith(s + "_")), None)
        return (steps.index(step) if step else len(steps), name)

    lines = [
        "# Gallery of the lecture's figures",
        "",
        "Every figure of `python -m fastnn tour`, drawn by this build's run of the",
        "notebooks: on the left in English (`--lang en`), on the right in Japanese",
        '(`--lang ja`, with `pip install "fastnn[ja]"`).',
        "",
    ]
    for name in sorted(names, key=order):
        lines += [f"## `{name}`", ""]
        for lang in LANGS:
            lines += [
                f"```{{image}} {lang}/figures/{name}",
                f":alt: {name} ({'English' if lang == 'en' else 'Japanese'})",
                ":width: 49%",
                "```",
            ]
        lines.append("")
    return "\n".join(lines)


def bench_page() -> None:
    """The benchmark report of ``bench/results`` with its figure."""
    out = GENERATED / "bench"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("results.md", "ratios.png"):
        shutil.copyfile(ROOT / "bench" / "results" / name, out / name)


def _write(path: Path, text: str) -> None:
    """Write only when changed, so Sphinx rereads only what changed."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_all(app: Any) -> None:
    """Sphinx ``builder-inited``: write every generated page."""
    GENERATED.mkdir(exist_ok=True)
    _write(GENERATED / "api.rst", api_page())
    execute_notebooks()
    _write(GENERATED / "gallery.md", gallery_page())
    bench_page()


def check_documented(app: Any, env: Any) -> None:
    """Sphinx ``env-check-consistency``: every public name has a docstring."""
    from sphinx.util import logging

    import fastnn

    logger = logging.getLogger("fastnn.docs")
    names = [(f"fastnn.{n}", getattr(fastnn, n)) for n in fastnn.__all__ if n != "__version__"]
    for module_name in MODULES_DOCUMENTED:
        names += [(d, o) for d, o in _public(module_name) if callable(o)]
    for dotted, obj in names:
        if not (obj.__doc__ or "").strip():  # its own, not one inherited
            logger.warning(f"public name {dotted} has no docstring: document it")
