"""The lecture, step by step: how deep learning learns, run end to end.

Each step computes what the lecture shows, prints it in a few plain
sentences with the numbers of this very run, and writes its figures as PNG
files::

    import fastnn.tour
    results = fastnn.tour.run("tour_out", lang="en", only=["regression"])
    results["regression"]["a"]        # the slope gradient descent found

or from the command line: ``python -m fastnn tour`` (figures into ``./tour``;
``--out DIR`` for another directory; ``--help`` lists the steps).

The steps, in the lecture's order, are :data:`STEPS`; what each shows is
:data:`STEP_HELP`. Both come from one list, ``_LECTURE`` below. The package
holds one module per chapter of the lecture:

- ``learning``: data, the machine, regression, training modes (steps 1-4)
- ``neurons``: McCulloch-Pitts neurons, the perceptron (steps 5-6)
- ``networks``: backpropagation, digits, LeNet (steps 7-9)
- ``practice``: optimizers, scaling, initialisation, overfitting, and the
  summary (steps 10-14)
- ``_core``: the state the steps share, how they speak, the digits split

Narration is data, one file per language: ``text/en.json`` and
``text/ja.json`` (a translator edits them without touching code). So is the
text of the figures: the tour's own in ``text/figures.<lang>.json``, the rest
in :mod:`fastnn.plot`'s tables; Japanese figures need ``fastnn[ja]`` (without
it they are drawn in English, and the tour says so once). The lecture as
notebooks is generated from these steps and texts by
:mod:`fastnn.tour.notebooks`; :class:`Lecture` runs it a step at a time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from .._text import LANGUAGES
from . import learning, networks, neurons, practice
from ._core import _Tour

__all__ = ["run", "select_steps", "Lecture", "STEPS", "STEP_HELP", "LANGUAGES"]

# The one list of the tour's steps: name, the step, what it shows in one line.
_LECTURE: tuple[tuple[str, Callable[[_Tour], dict], str], ...] = (
    ("data", learning.step_data, "data and tasks are numbers: a digit as an 8x8 array"),
    ("machine", learning.step_machine, "the prediction machine y = f(x; w), parameters as dials"),
    (
        "regression",
        learning.step_regression,
        "Hubble's galaxies: gradient descent on E(a, b), learning rates",
    ),
    ("modes", learning.step_modes, "full batch, mini-batch and online learning on the digits"),
    ("neuron", neurons.step_neuron, "McCulloch-Pitts neurons: gates from NAND, adders"),
    (
        "perceptron",
        neurons.step_perceptron,
        "Rosenblatt's perceptron: AND, OR, NAND learned, XOR not",
    ),
    ("backprop", networks.step_backprop, "a hidden layer learns XOR by backpropagation"),
    ("digits", networks.step_digits, "a softmax classifier reads handwritten digits"),
    (
        "lenet",
        networks.step_lenet,
        "LeNet, a convolutional network, against a dense one: filters, feature maps",
    ),
    (
        "optimizers",
        practice.step_optimizers,
        "SGD, momentum, Nesterov, AdaGrad, RMSprop, Adam on Hubble and the digits",
    ),
    ("scaling", practice.step_scaling, "standardised input: a round error surface, fast descent"),
    (
        "initialisation",
        practice.step_initialisation,
        "small, Glorot and He weights: activations and training",
    ),
    (
        "overfitting",
        practice.step_overfitting,
        "a large network on 200 digits; weight decay, dropout, early stopping",
    ),
    ("summary", practice.step_summary, "data, model, minimised error, with this run's numbers"),
)

STEPS: dict[str, Callable[[_Tour], dict]] = {name: step for name, step, _ in _LECTURE}
"""The steps of the tour, in the lecture's order."""

STEP_HELP: dict[str, str] = {name: shows for name, _, shows in _LECTURE}
"""What each step shows, in one line, in the order of :data:`STEPS`."""


def select_steps(only: Iterable[str] | None = None) -> list:
    """The steps to run, in the tour's order.

    Parameters
    ----------
    only : iterable of str, optional
        Step names (a name may also hold several, comma-separated). None
        means every step.

    Raises
    ------
    ValueError
        For an unknown step name; the message lists the steps.
    """
    if only is None:
        return list(STEPS)
    if isinstance(only, str):
        only = [only]
    wanted = [name.strip() for item in only for name in str(item).split(",") if name.strip()]
    unknown = [name for name in wanted if name not in STEPS]
    if unknown:
        raise ValueError(
            f"unknown step{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; the steps are: {', '.join(STEPS)}"
        )
    if not wanted:
        raise ValueError(f"no step given; the steps are: {', '.join(STEPS)}")
    return [name for name in STEPS if name in wanted]


class Lecture:
    """The lecture one step at a time, as the notebooks run it.

    Each :meth:`step` runs the very step of ``python -m fastnn tour``: it prints
    the narration with the numbers of this run, writes the step's figures into
    ``out_dir`` and shows them (inline in Jupyter). Steps share what they
    computed, as in one tour, so the steps of a ``Lecture`` give the numbers
    :func:`run` gives for the same seed::

        lecture = fastnn.tour.Lecture(lang="ja")
        r = lecture.step("regression")
        r["a"], r["b"]          # the line gradient descent found

    Parameters
    ----------
    lang : {"en", "ja"}
        Language of the narration and of the figures (Japanese figures need
        ``fastnn[ja]``).
    seed : int
        Seeds every split, initialisation and shuffle, as in :func:`run`.
    out_dir : str or Path
        Directory for the PNG figures; created if missing.
    show : bool
        Show each figure as it is made, with ``IPython.display``, when running
        in IPython or Jupyter (elsewhere the figures are in ``out_dir``).
    stream : text file, optional
        Where the narration goes; default ``sys.stdout``.

    Raises
    ------
    ValueError
        For an unknown language or a negative seed.
    """

    def __init__(
        self,
        lang: str = "en",
        seed: int = 0,
        out_dir: str | Path = "figures",
        show: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        shown: Callable[[Any], Any] | None = None
        if show:  # inside IPython (Jupyter) only: plain Python finds them in out_dir
            try:
                from IPython import get_ipython
                from IPython.display import display
            except ImportError:
                pass
            else:
                if get_ipython() is not None:
                    shown = display
        self._stream = stream
        self._tour = _Tour(out, lang, stream, seed=int(seed), show=shown)

    @property
    def results(self) -> dict:
        """What every step run so far returned, by step name."""
        return self._tour.results

    def step(self, name: str) -> dict:
        """Run one step of the lecture; return what it computed (as :func:`run` does).

        Raises
        ------
        ValueError
            For an unknown step name; the message lists the steps.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a step name (str), got {type(name).__name__}")
        if name not in STEPS:
            raise ValueError(f"unknown step {name!r}; the steps are: {', '.join(STEPS)}")
        tour = self._tour
        tour.stream = sys.stdout if self._stream is None else self._stream
        tour.results[name] = STEPS[name](tour)
        return tour.results[name]


def run(
    out_dir: str | Path = "tour",
    lang: str = "en",
    only: Iterable[str] | None = None,
    stream: TextIO | None = None,
    seed: int = 0,
) -> dict:
    """Run the lecture's steps, narrating and writing figures.

    Parameters
    ----------
    out_dir : str or Path
        Directory for the PNG figures; created if missing. Default
        ``./tour``, as on the command line.
    lang : {"en", "ja"}
        Language of the narration and of the figures (Japanese figures need
        ``fastnn[ja]``; without it they are English, as the tour says once).
    only : iterable of str, optional
        Run just these steps (in the tour's order); default all of
        :data:`STEPS`.
    stream : text file, optional
        Where the narration goes; default ``sys.stdout``.
    seed : int
        Seeds every split, initialisation and shuffle: the same seed gives
        the same numbers.

    Returns
    -------
    dict
        One entry per step run, each a dict of the numbers it narrated and
        ``"figures"``, the file names it wrote into ``out_dir``.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    steps = select_steps(only)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tour = _Tour(out, lang, sys.stdout if stream is None else stream, seed=seed)
    start = time.perf_counter()
    for i, name in enumerate(steps):
        if i:
            tour.raw("")
        t0 = time.perf_counter()
        tour.results[name] = STEPS[name](tour)
        tour.results[name]["seconds"] = time.perf_counter() - t0
    seconds = time.perf_counter() - start
    tour.raw("")
    tour.say("common", "done", n=len(steps), seconds=seconds, out=out)
    return {name: tour.results[name] for name in steps}
