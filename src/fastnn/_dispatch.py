"""Which build of the compiled core runs: the best one this CPU supports.

The kernels in ``_kernels.pyx`` are compiled once per instruction set:
``_kernels`` for any x86-64 (SSE2) or other CPU, ``_kernels_avx2`` with
AVX2 and FMA, ``_kernels_avx512`` with AVX-512 (see ``setup.py``). At import
the fastest one that the CPU (and the operating system) supports is chosen,
as NumPy's own dispatch reports the CPU's features. ``FASTNN_ISA=baseline``
(or ``avx2``, ``avx512``) forces a choice. All builds compute the same
functions; they differ only in the machine instructions.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

# How the engine's threads (OpenMP) wait for work: they spin for a short
# while (GOMP_SPINCOUNT=10000, some tens of microseconds), then sleep. A call
# that follows within that time (a stream of one-sample predictions, the
# steps of a training run) wakes them at once; a sleeping thread takes some
# microseconds to wake, as long as a whole one-sample pass (measured on 2
# cores: a 784-256-128-10 prediction with its first product cut in two took
# 30 µs with sleeping waits, 16 µs with the short spin). Spinning without
# end (OMP_WAIT_POLICY=ACTIVE) takes a core from BLAS, from the caller and
# from other libraries' threads, and on a machine with few cores that costs
# far more (a 256-wide network predicted 100x slower).
#
# The setting stays in the environment: OpenMP runtimes that other libraries
# load later (scikit-learn's and PyTorch's bring their own) read it too.
# Measured: with scikit-learn, PyTorch or JAX loaded after fastnn under
# libgomp's default waits, the two-thread prediction above fell back to
# 22-24 µs; with the variable kept, 15-17 µs.
# Nothing is set if the user has set GOMP_SPINCOUNT or OMP_WAIT_POLICY.
_SET_POLICY = "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ


def _restore_policy() -> None:
    if _SET_POLICY:
        os.environ.pop("GOMP_SPINCOUNT", None)


if _SET_POLICY:
    os.environ["GOMP_SPINCOUNT"] = "10000"
try:
    from . import _kernels as _baseline
except BaseException:
    _restore_policy()
    raise

# Preferred first. AVX2 + FMA comes before AVX-512: on the small, narrow
# products this library is about, 512-bit vectors bring no gain over 256-bit
# ones, and some CPUs lower their clock to run them (see bench/).
ORDER = ("avx2", "avx512")
REQUIRES = {
    "avx2": ("AVX2", "FMA3"),
    "avx512": ("AVX512F", "AVX512CD", "AVX512BW", "AVX512DQ", "AVX512VL", "AVX2", "FMA3"),
}


def cpu_features() -> dict:
    """The CPU features NumPy detected at run time (empty if unknown)."""
    for where in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            return dict(importlib.import_module(where).__cpu_features__)
        except (ImportError, AttributeError):
            continue
    return {}


def supported(isa: str) -> bool:
    if isa == "baseline":
        return True
    features = cpu_features()
    return all(features.get(name, False) for name in REQUIRES[isa])


def load(isa: str) -> ModuleType:
    """The kernels built for ``isa`` ("baseline", "avx2" or "avx512")."""
    if isa == "baseline":
        return _baseline
    if isa not in REQUIRES:
        raise ValueError(f"unknown instruction set {isa!r}; choose baseline, avx2 or avx512")
    if not supported(isa):
        raise ImportError(f"this CPU does not support {isa}")
    return importlib.import_module(f"{__package__}._kernels_{isa}")


def available() -> list[str]:
    """The builds that are installed and that this CPU can run."""
    out = ["baseline"]
    for isa in REQUIRES:
        try:
            load(isa)
        except ImportError:
            continue
        out.append(isa)
    return out


def _choose() -> tuple[str, ModuleType]:
    forced = os.environ.get("FASTNN_ISA", "").strip().lower()
    if forced:
        return forced, load(forced)
    for isa in ORDER:
        try:
            return isa, load(isa)
        except ImportError:
            continue
    return "baseline", _baseline


try:
    ISA, kernels = _choose()
except BaseException:
    _restore_policy()
    raise
