"""What the tour shares with fastnn.plot: a gate's four inputs, a probability in words."""

from __future__ import annotations

from ..logic import CORNERS

__all__ = ["CORNERS", "percent"]


def percent(p: float) -> str:
    """A probability as a whole percentage: 0.934 -> "93%", 0.001 -> "<1%", 0.999 -> ">99%"."""
    if p < 0.005:
        return "<1%"
    if 0.995 < p < 1.0:
        return ">99%"
    return f"{100 * p:.0f}%"
