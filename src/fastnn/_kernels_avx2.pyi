"""Type stub of ``fastnn._kernels_avx2``: the same source as ``_kernels``, built for
another instruction set, so the same names (see ``_kernels.pyi``)."""

from ._kernels import *  # noqa: F403
