"""Build of the compiled core: the only thing this file declares.

Set ``FASTNN_DEBUG_CYTHON=1`` at build time to compile the kernels with
bounds checking on and with AddressSanitizer, for the test suite to run
under (see ``.ci/run``).
"""

import os
import platform

from Cython.Build import cythonize
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
# OpenMP: the two halves of a large batch run side by side (prange)
compile_args = ["-O3", "-fno-math-errno", "-fopenmp"]
link_args = ["-fopenmp"]
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if DEBUG:
    compile_args = ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer", "-fopenmp"]
    link_args = ["-fsanitize=address", "-fopenmp"]
    macros.append(("FASTNN_DEBUG", "1"))

# The hot kernels are built once per instruction set; fastnn picks the best
# one the CPU supports at import (_core.py). Never -march=native: a wheel
# must run on every x86-64 CPU.
VARIANTS = {"": []}
if platform.machine().lower() in ("x86_64", "amd64") and not DEBUG:
    VARIANTS["_avx2"] = ["-mavx2", "-mfma"]
    VARIANTS["_avx512"] = ["-mavx512f", "-mavx512cd", "-mavx512bw", "-mavx512dq",
                           "-mavx512vl", "-mavx2", "-mfma", "-mprefer-vector-width=512"]

extensions = [
    Extension(
        f"fastnn._kernels{suffix}",
        [f"src/fastnn/_kernels{suffix}.pyx"],
        extra_compile_args=compile_args + flags,
        extra_link_args=link_args,
        define_macros=macros,
    )
    for suffix, flags in VARIANTS.items()
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
