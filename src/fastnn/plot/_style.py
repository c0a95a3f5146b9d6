"""The figures' shared look: one palette, a new standalone figure, numbers as text,
and the words of every figure in English and Japanese (``text/en.json``, ``text/ja.json``)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, Final, TypeVar

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from .._text import LANGUAGES, check_lang, percent, text_table  # noqa: F401  (percent: shared)

# One palette for the whole lecture: class 0 / class 1, negative / positive.
CLASS_COLORS = ("#1f77b4", "#ff7f0e")  # blue for 0 (does not fire), orange for 1
NEGATIVE, POSITIVE = "#1f77b4", "#d62728"  # blue for negative weights, red for positive
REGION_CMAP = LinearSegmentedColormap.from_list("fastnn_regions", ["#c6dbef", "#f7f7f7", "#fdd0a2"])
# the colours of paths and runs, in order (pass as ``colors=``)
PATH_COLORS = ("#d62728", "#ff7f0e", "#6a3d9a", "#1a1a1a", "#e377c2", "#8c564b")


def figure(width: float, height: float) -> Figure:
    """A new standalone figure (not managed by pyplot), laid out without clipping."""
    return Figure(figsize=(width, height), layout="constrained", dpi=100)


def panel_grid(n: int, ncols: int | None) -> tuple[int, int]:
    """(rows, columns) of panels for ``n`` panels, up to 4 a row by default."""
    ncols = min(n, 4) if ncols is None else max(1, int(ncols))
    return -(-n // ncols), ncols


def number(v: float) -> str:
    """A loss as text: "12,345" from 100 up, else three significant digits."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def compact_formatter() -> Any:
    """Axis ticks written as :func:`number` writes them."""
    return FuncFormatter(lambda v, _: number(v))


def symmetric_limit(values: Any) -> float:
    """The largest magnitude in ``values`` (1 when all are 0): a colour scale centred at 0."""
    m = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return m if m > 0 else 1.0


# ------------------------------------------------------------------ languages
_INSTALL_JA = (
    "Japanese figures need a Japanese font: pip install 'fastnn[ja]' "
    "(it brings matplotlib-fontja); drawing this figure in English."
)
_told_no_font = False


class _OwnText(str):
    """The default of a figure's text arguments: the figure's own words in ``lang``."""

    def __repr__(self) -> str:
        return "<the figure's own, in lang>"


OWN: Final = _OwnText("")
"""Default of ``title=`` and similar arguments: the figure's own text in ``lang``
(give None for none, or a string of your own)."""


@functools.cache
def words(lang: str) -> dict[str, Any]:
    """Every text of the figures in ``lang``, by figure: ``words("ja")["loss_surface"]``.

    Read from ``text/<lang>.json`` beside this module, a ``str.format``
    template per key (a list of strings is joined with nothing between).
    """
    return text_table(__package__, "{lang}", lang)


@functools.cache
def japanese_font() -> str | None:
    """The family name of the Japanese font of ``matplotlib-fontja``, or None without it.

    Importing ``matplotlib_fontja`` registers its font (IPAexGothic) with
    matplotlib and makes it the default of every figure; the import runs
    inside ``matplotlib.rc_context`` so that the default stays as it was:
    only fastnn's Japanese figures use the font.
    """
    import matplotlib

    try:
        with matplotlib.rc_context():
            import matplotlib_fontja  # type: ignore[import-untyped]
    except ImportError:
        return None
    return str(getattr(matplotlib_fontja, "FONT_NAME", "IPAexGothic"))


def figure_lang(lang: Any) -> str:
    """The language a figure is drawn in: ``lang`` when it can be, else English.

    Raises
    ------
    TypeError, ValueError
        When ``lang`` is not one of :data:`LANGUAGES`.
    """
    global _told_no_font
    if not isinstance(lang, str):
        raise TypeError(f"lang must be a str, one of {', '.join(LANGUAGES)}; got {lang!r}")
    check_lang(lang)
    if lang == "ja" and japanese_font() is None:
        if not _told_no_font:
            _told_no_font = True
            warnings.warn(_INSTALL_JA, UserWarning, stacklevel=3)
        return "en"
    return lang


def _in_font(fig: Figure, lang: str) -> Figure:
    """Set every text of a Japanese figure (ticks drawn later too) in matplotlib's own
    font (DejaVu Sans, shipped with it) for Latin letters, digits and symbols, as in
    the English figures, and the Japanese font for every glyph that DejaVu lacks."""
    if lang != "ja":
        return fig
    families = ["DejaVu Sans", str(japanese_font())]
    for text in fig.findobj(Text):
        text.set_fontfamily(families)
    for ax in fig.axes:
        ax.tick_params(which="both", labelfontfamily=families)
    return fig


F = TypeVar("F", bound=Callable[..., Figure])


def localized(draw: F) -> F:
    """Decorate a figure function taking ``lang=``: check it, fall back to English
    without the font, and draw the figure's text in the language's font."""

    @functools.wraps(draw)
    def drawn(*args: Any, lang: str = "en", **kwargs: Any) -> Figure:
        lang = figure_lang(lang)
        return _in_font(draw(*args, lang=lang, **kwargs), lang)

    return drawn  # type: ignore[return-value]
