# cython: language_level=3
# The compiled core built for AVX-512: the same source as _kernels.pyx.
include "_kernels.pyx"
