"""Build of the compiled core: the only thing this file declares.

Set ``FASTNN_DEBUG_CYTHON=1`` at build time to compile the kernels with
bounds checking on and with AddressSanitizer, for the test suite to run
under (see ``.ci/run``).
"""

import os

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
compile_args = ["-O3", "-fno-math-errno"]
link_args = []
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if DEBUG:
    compile_args = ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"]
    link_args = ["-fsanitize=address"]
    macros.append(("FASTNN_DEBUG", "1"))

extensions = [
    Extension(
        "fastnn._kernels",
        ["src/fastnn/_kernels.pyx"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=macros,
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
