"""How the lecture writes a probability in words, for its narration and its figures alike."""

from __future__ import annotations

__all__ = ["percent"]


def percent(p: float) -> str:
    """A probability as a whole percentage: 0.934 -> "93%", 0.001 -> "<1%", 0.999 -> ">99%"."""
    if p < 0.005:
        return "<1%"
    if 0.995 < p < 1.0:
        return ">99%"
    return f"{100 * p:.0f}%"
