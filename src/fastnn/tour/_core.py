"""What every chapter of the tour shares: its state, its voice, and the digits split.

The narration is data, one JSON file per language in ``text/`` (``en.json``,
``ja.json``): a section per step (and ``"common"``), a ``str.format`` template
per key. A template may be written as a list of strings, which are joined with
nothing in between, so that long sentences fit on short lines.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .. import datasets
from .._text import text_table
from ..layers import Dense
from ..network import Sequential


@functools.cache
def figure_words(lang: str) -> dict[str, Any]:
    """The tour's own figure text in ``lang`` (titles, run names), from
    ``text/figures.<lang>.json``: ``figure_words("ja")["regression"]["title"]``."""
    return text_table(__package__, "figures.{lang}", lang)


@functools.cache
def narration(lang: str) -> dict[str, Any]:
    """Every template of the tour in ``lang``: ``narration("en")["data"]["title"]``."""
    return text_table(__package__, "{lang}", lang)


@dataclass
class _Tour:
    """What the steps share: where to write, how to speak, what came before."""

    out_dir: Path | None
    lang: str
    stream: TextIO | None
    seed: int = 0
    results: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    show: Callable[[Any], Any] | None = None  # also show each figure (in a notebook)

    def words(self, section: str) -> dict[str, Any]:
        """The templates of one section of the narration, in the tour's language."""
        return narration(self.lang)[section]

    @property
    def figure_lang(self) -> str:
        """The language of the figures: the tour's, or English when Japanese
        figures cannot be drawn (no ``fastnn[ja]``; said once)."""
        if "figure_lang" not in self.cache:
            from ..plot._style import japanese_font

            drawn = self.lang
            if self.lang == "ja" and japanese_font() is None:
                drawn = "en"
                self.say("common", "no_font")
            self.cache["figure_lang"] = drawn
        return self.cache["figure_lang"]

    def figure_words(self, section: str) -> dict[str, Any]:
        """The tour's own text of one step's figures, in the figures' language."""
        return figure_words(self.figure_lang)[section]

    def say(self, section: str, key: str, **values: Any) -> None:
        if self.stream is not None:
            print(self.words(section)[key].format(**values), file=self.stream)

    def raw(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream)

    def save(self, fig: Any, name: str, files: list) -> None:
        """Write a figure as ``out_dir/name`` (nothing when running quietly)."""
        if self.out_dir is None:
            return
        path = self.out_dir / name
        fig.savefig(path, dpi=110)
        files.append(name)
        self.say("common", "figure", path=path)
        if self.show is not None:
            self.show(fig)

    @property
    def plot(self) -> Any:
        from .. import plot  # matplotlib only when a figure is made

        return plot

    def quiet(self) -> _Tour:
        """The same tour, silent and without figures (for prerequisites)."""
        return _Tour(None, self.lang, None, self.seed, self.results, self.cache)


def _arch(net: Sequential) -> str:
    sizes = [net.layers[0].n_in] + [layer.n_out for layer in net.layers]
    acts = ", ".join(layer.activation for layer in net.layers)
    return f"{'-'.join(map(str, sizes))} ({acts})"


def _digits_split(tour: _Tour) -> dict:
    """The digits, scaled to 0..1, split once into train and held-out test."""
    if "digits" not in tour.cache:
        X, y = datasets.load_digits()
        X = X / 16.0  # (1797, 64), pixels in 0..1
        perm = np.random.default_rng(tour.seed).permutation(len(X))
        n_test = len(X) // 4
        test, train = perm[:n_test], perm[n_test:]
        tour.cache["digits"] = {
            "X": X,
            "y": y,
            "X_train": X[train],
            "y_train": y[train],
            "X_test": X[test],
            "y_test": y[test],
            "test_index": test,
        }
    return tour.cache["digits"]


def _digits_net(seed: int, hidden: int = 32) -> Sequential:
    return Sequential(
        [Dense(64, hidden, activation="relu"), Dense(hidden, 10, activation="softmax")],
        loss="cross_entropy",
        seed=seed,
    )
