"""The figures' shared look: one palette, a new standalone figure, numbers as text."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .._text import percent  # noqa: F401  (the figures write it as the narration does)

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
