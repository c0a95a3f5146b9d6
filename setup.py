"""Build of the compiled core: the only thing this file declares.

Set ``FASTNN_DEBUG_CYTHON=1`` at build time to compile the kernels with
bounds checking on and with AddressSanitizer, for the test suite to run
under (see ``.ci/run``).
"""

import os
import platform

from Cython.Build import cythonize
import numpy
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTNN_DEBUG_CYTHON", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}
# OpenMP: the two halves of a large batch run side by side (prange).
# No inlining or cloning of functions the source does not declare inline: the
# register tiles of small products (_dense.pxi) are packed into vector
# registers only when compiled on their own; inlined into their caller, or
# cloned for the caller's constant strides, the compiler sees that their rows
# share weights or lie next to each other and packs the wrong values together
# (a narrow mini-batch step took 2 to 4 times as long). No trapping maths:
# fastnn never enables floating-point traps, and under the default the
# compiler may not vectorise a loop with a select on a comparison (the exp
# of softmax, _exp_le0); values and NaN stay exactly as IEEE 754 has them.
compile_args = ["-O3", "-fno-math-errno", "-fno-inline-functions",
                "-fno-inline-functions-called-once", "-fno-inline-small-functions",
                "-fno-ipa-cp-clone", "-fno-trapping-math", "-fopenmp"]
link_args = ["-fopenmp"]
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if DEBUG:
    compile_args = ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer", "-fopenmp"]
    link_args = ["-fsanitize=address", "-fopenmp"]
    macros.append(("FASTNN_DEBUG", "1"))

# The hot kernels are built once per instruction set; fastnn picks the best
# one the CPU supports at import (_dispatch.py). Never -march=native: a wheel
# must run on every x86-64 CPU.
# The checked build (DEBUG) makes the baseline and the AVX2 build, so that
# AddressSanitizer also watches the engine's own product (_gemm.pxi), which
# only builds with AVX2 and FMA.
VARIANTS = {"": []}
if platform.machine().lower() in ("x86_64", "amd64"):
    VARIANTS["_avx2"] = ["-mavx2", "-mfma"]
if platform.machine().lower() in ("x86_64", "amd64") and not DEBUG:
    VARIANTS["_avx512"] = ["-mavx512f", "-mavx512cd", "-mavx512bw", "-mavx512dq",
                           "-mavx512vl", "-mavx2", "-mfma", "-mprefer-vector-width=512"]



def source_for(suffix: str) -> str:
    """The .pyx of one build. The per-instruction-set builds compile the same
    source under another module name: a two-line file made here, in the
    build folder, that includes _kernels.pyx (never committed)."""
    if not suffix:
        return "src/fastnn/_kernels.pyx"
    folder = os.path.join("build", "fastnn_isa")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"_kernels{suffix}.pyx")
    text = ("# cython: language_level=3\n"
            f"# The compiled core built with {' '.join(VARIANTS[suffix])}: _kernels.pyx.\n"
            'include "_kernels.pyx"\n')
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as f:
            f.write(text)
    return path


extensions = [
    Extension(
        f"fastnn._kernels{suffix}",
        [source_for(suffix)],
        extra_compile_args=compile_args + flags,
        extra_link_args=link_args,
        define_macros=macros,
        include_dirs=[numpy.get_include()],
    )
    for suffix, flags in VARIANTS.items()
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives,
                            include_path=["src/fastnn"]))
