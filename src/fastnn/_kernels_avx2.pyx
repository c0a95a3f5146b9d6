# cython: language_level=3
# The compiled core built for AVX2 + FMA: the same source as _kernels.pyx.
include "_kernels.pyx"
