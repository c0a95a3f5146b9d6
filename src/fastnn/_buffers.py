"""Flat buffers the compiled core works on, aligned to 64 bytes.

NumPy aligns its data to 16 bytes only. The engine's small products load
the weights, deltas and activations in 32-byte vectors; where a buffer starts
decides how many of those loads straddle two cache lines, and a 64-32-32-10
mini-batch step took from 13 to 18 µs depending on where the workspace
happened to start. Every parameter, gradient, optimizer and workspace buffer
therefore starts on a cache line (64 bytes).
"""

from __future__ import annotations

import numpy as np

ALIGN = 64


# Buffers below this many bytes (a few cache lines) are left as NumPy
# allocates them: finding the address costs more than it saves.
SMALL = 1024


def empty(n: int, dtype) -> np.ndarray:
    """An uninitialised 1-D array of n values of dtype whose data start on a
    64-byte boundary (a view into a slightly larger allocation); below
    SMALL bytes, a plain NumPy array."""
    dtype = np.dtype(dtype)
    if n * dtype.itemsize < SMALL:
        return np.empty(n, dtype=dtype)
    raw = np.empty(n * dtype.itemsize + ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start : start + n * dtype.itemsize].view(dtype)


def zeros(n: int, dtype) -> np.ndarray:
    """As ``empty``, filled with zeros."""
    if n * np.dtype(dtype).itemsize < SMALL:
        return np.zeros(n, dtype=dtype)
    out = empty(n, dtype)
    out[...] = 0
    return out


def aligned_copy(a: np.ndarray) -> np.ndarray:
    """a's values (1-D) in a new 64-byte aligned buffer."""
    out = empty(a.size, a.dtype)
    out[...] = a.ravel()
    return out
