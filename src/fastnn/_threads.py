"""How many threads the engine's matrix products use.

The large-batch path of the kernels calls BLAS (SciPy's OpenBLAS) from the
training loop; BLAS spreads each product over its threads, splitting the
output among them, so the results are the same for any thread count. The
rest of the engine is single-threaded and deterministic.

``set_num_threads(n)`` sets the count (default: all cores, as BLAS starts
with); ``threads(n)`` does so for a ``with`` block. BLAS's thread count is
one setting for the whole process, shared with NumPy and SciPy when they use
the same library.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections.abc import Iterator

__all__ = ["set_num_threads", "get_num_threads", "threads"]

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")


def _scipy_blas_paths() -> list[str]:
    """The OpenBLAS that scipy.linalg.cython_blas (the kernels' BLAS) uses."""
    import scipy.linalg.cython_blas  # noqa: F401  (makes sure it is loaded)

    paths: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass
    if not paths:                    # no /proc (macOS, Windows): look beside SciPy
        import scipy

        root = os.path.dirname(os.path.dirname(scipy.__file__))
        for sub in ("scipy.libs", "scipy/.dylibs", "scipy/lib"):
            paths += glob.glob(os.path.join(root, sub, "*openblas*"))
    scipy_first = [p for p in paths if "scipy" in os.path.basename(p).lower()]
    return scipy_first + [p for p in paths if p not in scipy_first]


def _functions() -> list[tuple]:
    found = []
    for path in _scipy_blas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        if setter is not None and getter is not None:
            found.append((setter, getter))
    return found


_BLAS: list[tuple] | None = None


def _blas() -> list[tuple]:
    global _BLAS
    if _BLAS is None:
        _BLAS = _functions()
    return _BLAS


def set_num_threads(n: int | None = None) -> None:
    """Use ``n`` threads for the matrix products (None: all cores)."""
    if n is None:
        n = os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {n!r}")
    for setter, _ in _blas():
        setter(ctypes.c_int(n))


def get_num_threads() -> int:
    """The threads the matrix products use now (1 if BLAS cannot be asked)."""
    blas = _blas()
    return int(blas[0][1]()) if blas else 1


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """``with fastnn.threads(1): net.fit(...)``: a thread count for a block."""
    before = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(before)
