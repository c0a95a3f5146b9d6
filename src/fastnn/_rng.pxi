# The seeded random stream (xoshiro256**) and the permutations it draws.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ random order
cdef inline uint64_t _next(uint64_t* s) noexcept nogil:
    """xoshiro256** step."""
    cdef uint64_t result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9
    cdef uint64_t t = s[1] << 17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = (s[3] << 45) | (s[3] >> 19)
    return result


cdef inline uint64_t _bounded(uint64_t* s, uint64_t bound) noexcept nogil:
    """A uniform integer in [0, bound), by rejection."""
    cdef uint64_t threshold = (0 - bound) % bound
    cdef uint64_t r = _next(s)
    while r < threshold:
        r = _next(s)
    return r % bound


cdef void _permute(int64_t* order, Py_ssize_t n, uint64_t* s) noexcept nogil:
    """order := a random permutation of 0 .. n-1 (Fisher-Yates)."""
    cdef Py_ssize_t i, j
    cdef int64_t tmp
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t>_bounded(s, <uint64_t>(i + 1))
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


def permutation(uint64_t[::1] rng_state, int64_t[::1] order_out):
    """order_out := the permutation the training loop would draw next."""
    if rng_state.shape[0] != 4:
        raise ValueError("rng state has 4 words")
    _permute(&order_out[0], order_out.shape[0], &rng_state[0])
