"""The playground's words, in English and Japanese (``text/en.json``, ``text/ja.json``).

The same layout as the tour's narration (:mod:`fastnn.tour`): a section per
part of the page, a ``str.format`` template per key. The explanations shown
beside each data set are the tour's own chapter titles.
"""

from __future__ import annotations

import functools
from typing import Any

from .._text import text_table
from ..tour._core import narration
from ._state import LIMITS, Notice, limits_text

__all__ = ["words", "notice_text", "chapter"]

# The tour's chapter whose title introduces each data set.
_CHAPTERS = {
    "hubble": "regression",
    "and": "perceptron",
    "or": "perceptron",
    "xor": "backprop",
    "circles": "backprop",
    "spirals": "backprop",
    "blobs": "perceptron",
    "digits": "digits",
}


@functools.cache
def words(lang: str) -> dict[str, Any]:
    """Every text of the page in ``lang`` (``en`` or ``ja``)."""
    return text_table(__package__, "{lang}", lang)


def chapter(dataset: str, lang: str) -> str:
    """The tour's chapter title that introduces ``dataset``, without its ``== n. ==``."""
    title = narration(lang)[_CHAPTERS[dataset]]["title"]
    title = title.strip("= ")
    return title.split(" ", 1)[1] if title[:1].isdigit() else title


def notice_text(notice: Notice, lang: str) -> str:
    """A refused value, worded for the page (plain text: escape it before HTML)."""
    template = words(lang)["notices"][notice.reason]
    return template.format(
        name=notice.name,
        given=repr(notice.given),
        used=notice.used,
        limits=limits_text(notice.name) if notice.reason == "range" else "",
        choices=limits_text(notice.name) if notice.reason == "choice" else "",
        layers=LIMITS["layers"],
        units=LIMITS["units"],
    )
