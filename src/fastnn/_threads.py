"""How many threads the engine uses, and why its results never depend on it.

The engine divides its own work. Every matrix product it hands to BLAS
(SciPy's OpenBLAS, through ``scipy.linalg.cython_blas``) runs
single-threaded: while an engine call runs, BLAS's own thread count is held
at 1, and put back afterwards. A large product is cut instead into a fixed
number of parts by its sizes alone, and the engine's threads (OpenMP)
compute the parts side by side; so is one sample's product through a wide
layer (two halves of its inputs, each half of the weights kept in one
core's cache from call to call), a large training batch (two halves,
see ``Sequential._splits``), and a prediction or evaluation over many rows
(equal blocks of at most 1,024 rows, or 128 in float32 where the own product runs,
two at a time, each in a workspace of its own),
and the check of a large input (4 MB or more) for NaN and infinity. One
thread computes the same parts one after the other. Each part is the same
single-threaded call either way, so the results are the same bit for bit
for any thread count, whichever kernels OpenBLAS picks
(``OPENBLAS_CORETYPE`` and the like change the kernels, not this).

``set_num_threads(n)`` sets the engine's count; ``threads(n)`` does so for
a ``with`` block. It is the engine's own setting: NumPy's and SciPy's BLAS
keep theirs. The default is ``OMP_NUM_THREADS`` when that is set (Dask's
workers set it to 1), else every core the process may run on. Work is cut
into at most two parts, so at most two threads are ever busy. When another
process keeps the second thread from its core (it starts its part late),
the engine runs on the calling thread alone for 20 ms, then tries two
again; the bits are the same either way.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections.abc import Iterator

from ._dispatch import kernels as _kernels

__all__ = ["set_num_threads", "get_num_threads", "threads"]

_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def _scipy_blas_paths() -> list[str]:
    """The OpenBLAS that scipy.linalg.cython_blas (the kernels' BLAS) uses."""
    import scipy.linalg.cython_blas  # noqa: F401  (makes sure it is loaded)

    paths: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted(
                {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
            )
    except OSError:
        pass
    if not paths:  # no /proc (macOS, Windows): look beside SciPy
        import scipy

        root = os.path.dirname(os.path.dirname(scipy.__file__))
        for sub in ("scipy.libs", "scipy/.dylibs", "scipy/lib"):
            paths += glob.glob(os.path.join(root, sub, "*openblas*"))

    # SciPy's own copy first: the one in SciPy's folder (scipy.libs,
    # scipy/.dylibs). NumPy's wheels carry another OpenBLAS whose file name
    # also says "scipy_openblas" (numpy.libs/libscipy_openblas64_...), and
    # holding that one at one thread leaves the kernels' BLAS multi-threaded.
    def in_scipy(path: str) -> bool:
        return os.path.basename(os.path.dirname(path)).lower().startswith("scipy")

    def names_scipy(path: str) -> bool:
        return "scipy" in os.path.basename(path).lower()

    return sorted(paths, key=lambda p: (not in_scipy(p), not names_scipy(p), p))


def _blas_thread_functions() -> tuple[int, int]:
    """Addresses of SciPy's OpenBLAS ``get_num_threads`` / ``set_num_threads``
    (0, 0 if there is no OpenBLAS to ask)."""
    for path in _scipy_blas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        if setter is not None and getter is not None:
            return (
                ctypes.cast(getter, ctypes.c_void_p).value or 0,
                ctypes.cast(setter, ctypes.c_void_p).value or 0,
            )
    return 0, 0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_num_threads(n: int | None = None) -> None:
    """Use ``n`` threads for the engine's large products (None: all cores
    this process may run on; at most two are ever busy).

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer or None.
    """
    if n is None:
        n = _cores()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {n!r}")
    _kernels.set_threads(n)


def get_num_threads() -> int:
    """The threads the engine uses now."""
    return int(_kernels.get_threads())


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """``with fastnn.threads(1): net.fit(...)``: a thread count for a block."""
    before = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(before)


def _default_threads() -> int:
    """``OMP_NUM_THREADS`` when it is set to a positive integer (as Dask's
    workers and job schedulers set it), else every core this process may
    run on."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return _cores()


_kernels.bind_blas(*_blas_thread_functions())
set_num_threads(_default_threads())
