"""The lecture's words: the languages it speaks, its text tables, and how it
writes a probability, for the narration, the figures, the notebooks and the
playground alike."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

__all__ = ["LANGUAGES", "check_lang", "text_table", "percent"]

LANGUAGES = ("en", "ja")


def check_lang(lang: Any) -> None:
    """Raise ValueError unless ``lang`` is one of :data:`LANGUAGES`."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")


def _joined(value: Any) -> Any:
    # a list of strings in a table is one text, split for readability
    if isinstance(value, dict):
        return {key: _joined(item) for key, item in value.items()}
    if isinstance(value, list):
        return "".join(value)
    return value


@functools.cache
def text_table(package: str, name: str, lang: str) -> dict[str, Any]:
    """The JSON table ``text/<name>.json`` shipped in ``package``, in ``lang``.

    ``name`` holds ``{lang}`` where the file names the language
    (``"figures.{lang}"``). Lists of strings are joined with nothing between.
    The same dict is returned on every call: read it, do not change it.

    Raises
    ------
    ValueError
        ``lang`` is not one of :data:`LANGUAGES`.
    """
    check_lang(lang)
    source = resources.files(package).joinpath("text", f"{name.format(lang=lang)}.json")
    return _joined(json.loads(source.read_text(encoding="utf-8")))


def percent(p: float) -> str:
    """A probability as a whole percentage: 0.934 -> "93%", 0.001 -> "<1%", 0.999 -> ">99%"."""
    if p < 0.005:
        return "<1%"
    if 0.995 < p < 1.0:
        return ">99%"
    return f"{100 * p:.0f}%"
