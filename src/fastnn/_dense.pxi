# Activations and the dense layer's forward and backward passes.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ activations
# exp(x) for x <= 0 in plain arithmetic, so that a loop of them vectorises
# (libm's exp is a call per value): x = n ln 2 + r, |r| <= ln(2) / 2, with
# ln 2 in two parts (Cody and Waite; the first part's low bits are zero, so
# n times it is exact); e^r by its Taylor series to r^13, whose remainder is
# below 2^-57 of e^r; 2^n built from its bits. Within one unit in the last
# place of libm's exp over [-746, 0], subnormal results included. The
# rounding to n uses the 1.5 * 2^52 trick (adding it leaves n in the low
# bits of the mantissa).
cdef double EXP_SHIFT = 6755399441055744.0      # 1.5 * 2^52
cdef int64_t EXP_SHIFT_BITS = 0x4338000000000000
cdef double LOG2_E = 1.4426950408889634
cdef double LN2_HI = 6.93147180369123816490e-01
cdef double LN2_LO = 1.90821492927058770002e-10


cdef inline double _exp_le0(double x) noexcept nogil:
    """exp(x) for x <= 0 (x NaN: NaN), to within 1 ulp; 0 below -745.2."""
    cdef double t, n, r, p, scale, extra
    cdef int64_t ti, ni, low
    cdef uint64_t bits
    x = -746.0 if x < -746.0 else x
    t = x * LOG2_E + EXP_SHIFT
    n = t - EXP_SHIFT
    memcpy(&ti, &t, 8)
    ni = ti - EXP_SHIFT_BITS
    r = (x - n * LN2_HI) - n * LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^n, as 2^(n + 600) 2^-600 below n = -1000 (where 2^n is subnormal);
    # low is all ones there, else zero (an arithmetic shift of the sign)
    low = (ni + 1000) >> 63
    bits = <uint64_t>(ni + (low & 600) + 1023) << 52
    memcpy(&scale, &bits, 8)
    bits = <uint64_t>(1023 - (low & 600)) << 52
    memcpy(&extra, &bits, 8)
    return p * scale * extra


cdef inline floating _sigmoid(floating z) noexcept nogil:
    """sigmoid(z) := 1 / (1 + exp(-z)), without overflow."""
    cdef floating e
    if z >= 0:
        return 1 / (1 + exp(-z))
    e = exp(z)
    return e / (1 + e)


cdef void _activate_rows(floating* a, Py_ssize_t m, Py_ssize_t k,
                         int act) noexcept nogil:
    """a := act(a), in place, for m rows of k (softmax row-wise)."""
    cdef Py_ssize_t i, j, n = m * k
    cdef floating mx, z
    cdef double s
    if act == IDENTITY:
        return
    elif act == RELU:
        for i in range(n):          # a select, not a branch: vectorises
            a[i] = 0 if a[i] < 0 else a[i]
    elif act == SIGMOID:
        for i in range(n):
            a[i] = _sigmoid(a[i])
    elif act == TANH:
        for i in range(n):
            a[i] = tanh(a[i])
    elif act == STEP:
        for i in range(n):
            a[i] = 1 if a[i] >= 0 else 0
    elif act == SOFTMAX:
        for i in range(m):
            mx = a[i * k]
            for j in range(1, k):
                if a[i * k + j] > mx:
                    mx = a[i * k + j]
            for j in range(k):      # vectorises: _exp_le0 is plain arithmetic
                a[i * k + j] = <floating>_exp_le0(a[i * k + j] - mx)
            s = 0
            for j in range(k):
                s += a[i * k + j]
            for j in range(k):
                a[i * k + j] = <floating>(a[i * k + j] / s)


cdef inline floating _act_grad(floating a, int act) noexcept nogil:
    """act'(z) written through the activation's output a = act(z)."""
    if act == RELU:
        return <floating>(a > 0)       # no branch to mispredict
    elif act == SIGMOID:
        return a * (1 - a)
    elif act == TANH:
        return 1 - a * a
    return 1


cdef inline floating _sum(const floating* a, Py_ssize_t n) noexcept nogil:
    """sum(a), as four interleaved partial sums (no chain of dependent adds)."""
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t p, n4 = n - n % 4
    for p in range(0, n4, 4):
        s0 += a[p]
        s1 += a[p + 1]
        s2 += a[p + 2]
        s3 += a[p + 3]
    for p in range(n4, n):
        s0 += a[p]
    return (s0 + s1) + (s2 + s3)


cdef void _times_act_grad(floating* dX, const floating* A, Py_ssize_t n,
                          int act) noexcept nogil:
    """dX := dX * act'(A), elementwise over n values (A = act's output)."""
    cdef Py_ssize_t p
    if act == IDENTITY:
        return
    if act == RELU:
        for p in range(n):     # a select, as torch's threshold_backward: vectorises
            dX[p] = dX[p] if A[p] > 0 else 0
    else:
        for p in range(n):
            dX[p] *= _act_grad(A[p], act)


cdef inline floating _strided_dot(const floating* a, const floating* b, Py_ssize_t sa,
                                  Py_ssize_t sb, Py_ssize_t n) noexcept nogil:
    """sum_i a[i*sa] * b[i*sb] (b NULL: sum_i a[i*sa]), as four interleaved
    partial sums."""
    cdef floating s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t i, n4 = n - n % 4
    if b == NULL:
        for i in range(0, n4, 4):
            s0 += a[i * sa]
            s1 += a[(i + 1) * sa]
            s2 += a[(i + 2) * sa]
            s3 += a[(i + 3) * sa]
        for i in range(n4, n):
            s0 += a[i * sa]
    else:
        for i in range(0, n4, 4):
            s0 += a[i * sa] * b[i * sb]
            s1 += a[(i + 1) * sa] * b[(i + 1) * sb]
            s2 += a[(i + 2) * sa] * b[(i + 2) * sb]
            s3 += a[(i + 3) * sa] * b[(i + 3) * sb]
        for i in range(n4, n):
            s0 += a[i * sa] * b[i * sb]
    return (s0 + s1) + (s2 + s3)


# ------------------------------------------------------------ dense layer
cdef void _dense_forward(const floating* X, const floating* W,
                         const floating* b, floating* out, Py_ssize_t m,
                         Py_ssize_t n_in, Py_ssize_t n_out,
                         int act, bint whole) noexcept nogil:
    """out := act(X @ W + b)

    X   : (m, n_in)      IN
    W   : (n_in, n_out)  IN
    b   : (n_out,)       IN
    out : (m, n_out)     OUT
    """
    cdef Py_ssize_t i, j, k
    cdef floating xk
    cdef floating* o
    cdef const floating* w
    if n_out >= TILE_S and (n_in * n_out <= TILE_MAX_W
                            or m * n_in * n_out < BLAS_MIN_MACS):
        # weights in the L1 cache, or a product too small for BLAS: the tiles
        _tiled(X, n_in, 1, W, n_out, b, out, n_out, m, n_in, n_out)
    elif m == 1 and n_in * n_out >= BLAS_MIN_MACS:
        # one sample: out = W^T x + b, a matrix-vector product that streams W once
        memcpy(out, b, n_out * sizeof(floating))
        _gemv(<int>n_out, <int>n_in, <floating>1.0, W, <int>n_out, X,
              <floating>1.0, out)
    elif m * n_in * n_out >= BLAS_MIN_MACS:
        # out^T = W^T X^T + b in BLAS's column-major view: each part of the
        # product starts its rows of out as the bias (BLAS adds to them, beta
        # = 1, so that it neither clears out first nor needs a pass of its
        # own for the bias; the own product starts its sums there) and takes
        # ReLU itself, on the thread that computed them, while they are in
        # its cache
        _gemm(False, False, <int>n_out, <int>m, <int>n_in, <floating>1.0,
              W, <int>n_out, X, <int>n_in, <floating>1.0, out, <int>n_out, whole,
              b, act == RELU)
        if act == RELU:
            return
    elif n_in == 1 and n_out == 1:
        # a line, ŷ = a x + b (the regression machine): one pass over the rows
        for i in range(m):
            out[i] = b[0] + X[i] * W[0]
    else:
        for i in range(m):
            o = out + i * n_out
            for j in range(n_out):
                o[j] = b[j]
            for k in range(n_in):
                xk = X[i * n_in + k]
                w = W + k * n_out
                for j in range(n_out):
                    o[j] += xk * w[j]
    _activate_rows(out, m, n_out, act)


# Small products keep a tile of outputs in registers while they run over the
# inputs: named scalars, which the compiler packs into vector registers (a
# running sum in memory would wait on its own store at every input, and a
# local array stays in memory). Each output is b + x_0 w_0 + x_1 w_1 + ...
# (0 + x_0 w_0 + ... without a bias), in that order whatever the tile or
# path, so that they all give the same bits. The tiles are kept out of line:
# inlined into their callers, the compiler no longer packs them.
cdef enum:
    TILE = 16        # outputs per half of a _tile2 (2 AVX2 registers of float32)
    TILE_S = 8       # outputs of a _tile8, for what is left


cdef void _tile2(const floating* x0, const floating* x1, Py_ssize_t sx,
                 const floating* W0, const floating* W1, Py_ssize_t ldw,
                 const floating* b0, const floating* b1, floating* o0, floating* o1,
                 Py_ssize_t n) noexcept nogil:
    """o0[0:16] := b0[0:16] + sum_k x0[k sx] W0[k ldw + 0:16], and the same
    for o1 from x1, W1, b1 (b NULL: no bias), k = 0 .. n-1: two rows of one
    tile (W1 = W0), or one row's two tiles side by side (x1 = x0,
    W1 = W0 + 16); 32 sums in flight."""
    cdef floating xa, xb
    cdef const floating* wa
    cdef const floating* wb
    cdef Py_ssize_t k
    cdef floating a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15
    cdef floating c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15
    if b0 == NULL:
        a0, a1, a2, a3, a4, a5, a6, a7 = 0, 0, 0, 0, 0, 0, 0, 0
        a8, a9, a10, a11, a12, a13, a14, a15 = 0, 0, 0, 0, 0, 0, 0, 0
    else:
        a0, a1, a2, a3 = b0[0], b0[1], b0[2], b0[3]
        a4, a5, a6, a7 = b0[4], b0[5], b0[6], b0[7]
        a8, a9, a10, a11 = b0[8], b0[9], b0[10], b0[11]
        a12, a13, a14, a15 = b0[12], b0[13], b0[14], b0[15]
    if b1 == NULL:
        c0, c1, c2, c3, c4, c5, c6, c7 = 0, 0, 0, 0, 0, 0, 0, 0
        c8, c9, c10, c11, c12, c13, c14, c15 = 0, 0, 0, 0, 0, 0, 0, 0
    else:
        c0, c1, c2, c3 = b1[0], b1[1], b1[2], b1[3]
        c4, c5, c6, c7 = b1[4], b1[5], b1[6], b1[7]
        c8, c9, c10, c11 = b1[8], b1[9], b1[10], b1[11]
        c12, c13, c14, c15 = b1[12], b1[13], b1[14], b1[15]
    for k in range(n):
        xa = x0[k * sx]
        xb = x1[k * sx]
        wa = W0 + k * ldw
        wb = W1 + k * ldw
        a0, a1, a2, a3 = a0 + xa * wa[0], a1 + xa * wa[1], a2 + xa * wa[2], a3 + xa * wa[3]
        a4, a5, a6, a7 = a4 + xa * wa[4], a5 + xa * wa[5], a6 + xa * wa[6], a7 + xa * wa[7]
        a8, a9 = a8 + xa * wa[8], a9 + xa * wa[9]
        a10, a11 = a10 + xa * wa[10], a11 + xa * wa[11]
        a12, a13 = a12 + xa * wa[12], a13 + xa * wa[13]
        a14, a15 = a14 + xa * wa[14], a15 + xa * wa[15]
        c0, c1, c2, c3 = c0 + xb * wb[0], c1 + xb * wb[1], c2 + xb * wb[2], c3 + xb * wb[3]
        c4, c5, c6, c7 = c4 + xb * wb[4], c5 + xb * wb[5], c6 + xb * wb[6], c7 + xb * wb[7]
        c8, c9 = c8 + xb * wb[8], c9 + xb * wb[9]
        c10, c11 = c10 + xb * wb[10], c11 + xb * wb[11]
        c12, c13 = c12 + xb * wb[12], c13 + xb * wb[13]
        c14, c15 = c14 + xb * wb[14], c15 + xb * wb[15]
    o0[0], o0[1], o0[2], o0[3] = a0, a1, a2, a3
    o0[4], o0[5], o0[6], o0[7] = a4, a5, a6, a7
    o0[8], o0[9], o0[10], o0[11] = a8, a9, a10, a11
    o0[12], o0[13], o0[14], o0[15] = a12, a13, a14, a15
    o1[0], o1[1], o1[2], o1[3] = c0, c1, c2, c3
    o1[4], o1[5], o1[6], o1[7] = c4, c5, c6, c7
    o1[8], o1[9], o1[10], o1[11] = c8, c9, c10, c11
    o1[12], o1[13], o1[14], o1[15] = c12, c13, c14, c15


cdef void _tile8(const floating* x, Py_ssize_t sx, const floating* W, Py_ssize_t ldw,
                 const floating* b, floating* o, Py_ssize_t n) noexcept nogil:
    """o[0:8] := b[0:8] + sum_k x[k sx] W[k ldw + 0:8], k = 0 .. n-1 (b NULL: no bias)."""
    cdef floating xk
    cdef const floating* w
    cdef Py_ssize_t k
    cdef floating t0, t1, t2, t3, t4, t5, t6, t7
    if b == NULL:
        t0, t1, t2, t3, t4, t5, t6, t7 = 0, 0, 0, 0, 0, 0, 0, 0
    else:
        t0, t1, t2, t3 = b[0], b[1], b[2], b[3]
        t4, t5, t6, t7 = b[4], b[5], b[6], b[7]
    for k in range(n):
        xk = x[k * sx]
        w = W + k * ldw
        t0, t1, t2, t3 = t0 + xk * w[0], t1 + xk * w[1], t2 + xk * w[2], t3 + xk * w[3]
        t4, t5, t6, t7 = t4 + xk * w[4], t5 + xk * w[5], t6 + xk * w[6], t7 + xk * w[7]
    o[0], o[1], o[2], o[3] = t0, t1, t2, t3
    o[4], o[5], o[6], o[7] = t4, t5, t6, t7


cdef void _tile4x16(const floating* x0, const floating* x1, const floating* x2,
                    const floating* x3, Py_ssize_t sx, const floating* W0, const floating* W1,
                    const floating* W2, const floating* W3, Py_ssize_t ldw, const floating* b,
                    floating* o, Py_ssize_t ldo, Py_ssize_t n) noexcept nogil:
    """out rows 0..3 (ldo apart), outputs 0:16 := b[0:16] + sum_k x_r[k sx] W[k ldw + 0:16]
    (b NULL: no bias), k = 0 .. n-1; 64 sums in flight (8 AVX2 registers
    of float32). W0 .. W3 are the same weights, and x0 .. x3 the rows'
    own pointers: told that the rows share their weights, or where they
    lie from one another, the compiler packs the wrong values together."""
    cdef floating y0, y1, y2, y3
    cdef const floating* w0
    cdef const floating* w1
    cdef const floating* w2
    cdef const floating* w3
    cdef Py_ssize_t k
    cdef floating a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15
    cdef floating c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15
    cdef floating e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15
    cdef floating g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15
    if b == NULL:
        a0, a1, a2, a3, a4, a5, a6, a7 = 0, 0, 0, 0, 0, 0, 0, 0
        a8, a9, a10, a11, a12, a13, a14, a15 = 0, 0, 0, 0, 0, 0, 0, 0
        c0, c1, c2, c3, c4, c5, c6, c7 = 0, 0, 0, 0, 0, 0, 0, 0
        c8, c9, c10, c11, c12, c13, c14, c15 = 0, 0, 0, 0, 0, 0, 0, 0
        e0, e1, e2, e3, e4, e5, e6, e7 = 0, 0, 0, 0, 0, 0, 0, 0
        e8, e9, e10, e11, e12, e13, e14, e15 = 0, 0, 0, 0, 0, 0, 0, 0
        g0, g1, g2, g3, g4, g5, g6, g7 = 0, 0, 0, 0, 0, 0, 0, 0
        g8, g9, g10, g11, g12, g13, g14, g15 = 0, 0, 0, 0, 0, 0, 0, 0
    else:
        a0, a1, a2, a3 = b[0], b[1], b[2], b[3]
        a4, a5, a6, a7 = b[4], b[5], b[6], b[7]
        a8, a9, a10, a11 = b[8], b[9], b[10], b[11]
        a12, a13, a14, a15 = b[12], b[13], b[14], b[15]
        c0, c1, c2, c3, c4, c5, c6, c7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        c8, c9, c10, c11, c12, c13, c14, c15 = b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        e0, e1, e2, e3, e4, e5, e6, e7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        e8, e9, e10, e11, e12, e13, e14, e15 = b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
        g0, g1, g2, g3, g4, g5, g6, g7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        g8, g9, g10, g11, g12, g13, g14, g15 = b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    for k in range(n):
        y0 = x0[k * sx]
        y1 = x1[k * sx]
        y2 = x2[k * sx]
        y3 = x3[k * sx]
        w0 = W0 + k * ldw
        w1 = W1 + k * ldw
        w2 = W2 + k * ldw
        w3 = W3 + k * ldw
        a0, a1 = a0 + y0 * w0[0], a1 + y0 * w0[1]
        a2, a3 = a2 + y0 * w0[2], a3 + y0 * w0[3]
        a4, a5 = a4 + y0 * w0[4], a5 + y0 * w0[5]
        a6, a7 = a6 + y0 * w0[6], a7 + y0 * w0[7]
        a8, a9 = a8 + y0 * w0[8], a9 + y0 * w0[9]
        a10, a11 = a10 + y0 * w0[10], a11 + y0 * w0[11]
        a12, a13 = a12 + y0 * w0[12], a13 + y0 * w0[13]
        a14, a15 = a14 + y0 * w0[14], a15 + y0 * w0[15]
        c0, c1 = c0 + y1 * w1[0], c1 + y1 * w1[1]
        c2, c3 = c2 + y1 * w1[2], c3 + y1 * w1[3]
        c4, c5 = c4 + y1 * w1[4], c5 + y1 * w1[5]
        c6, c7 = c6 + y1 * w1[6], c7 + y1 * w1[7]
        c8, c9 = c8 + y1 * w1[8], c9 + y1 * w1[9]
        c10, c11 = c10 + y1 * w1[10], c11 + y1 * w1[11]
        c12, c13 = c12 + y1 * w1[12], c13 + y1 * w1[13]
        c14, c15 = c14 + y1 * w1[14], c15 + y1 * w1[15]
        e0, e1 = e0 + y2 * w2[0], e1 + y2 * w2[1]
        e2, e3 = e2 + y2 * w2[2], e3 + y2 * w2[3]
        e4, e5 = e4 + y2 * w2[4], e5 + y2 * w2[5]
        e6, e7 = e6 + y2 * w2[6], e7 + y2 * w2[7]
        e8, e9 = e8 + y2 * w2[8], e9 + y2 * w2[9]
        e10, e11 = e10 + y2 * w2[10], e11 + y2 * w2[11]
        e12, e13 = e12 + y2 * w2[12], e13 + y2 * w2[13]
        e14, e15 = e14 + y2 * w2[14], e15 + y2 * w2[15]
        g0, g1 = g0 + y3 * w3[0], g1 + y3 * w3[1]
        g2, g3 = g2 + y3 * w3[2], g3 + y3 * w3[3]
        g4, g5 = g4 + y3 * w3[4], g5 + y3 * w3[5]
        g6, g7 = g6 + y3 * w3[6], g7 + y3 * w3[7]
        g8, g9 = g8 + y3 * w3[8], g9 + y3 * w3[9]
        g10, g11 = g10 + y3 * w3[10], g11 + y3 * w3[11]
        g12, g13 = g12 + y3 * w3[12], g13 + y3 * w3[13]
        g14, g15 = g14 + y3 * w3[14], g15 + y3 * w3[15]
    o[0], o[1], o[2], o[3] = a0, a1, a2, a3
    o[4], o[5], o[6], o[7] = a4, a5, a6, a7
    o[8], o[9], o[10], o[11] = a8, a9, a10, a11
    o[12], o[13], o[14], o[15] = a12, a13, a14, a15
    o[ldo + 0], o[ldo + 1], o[ldo + 2], o[ldo + 3] = c0, c1, c2, c3
    o[ldo + 4], o[ldo + 5], o[ldo + 6], o[ldo + 7] = c4, c5, c6, c7
    o[ldo + 8], o[ldo + 9], o[ldo + 10], o[ldo + 11] = c8, c9, c10, c11
    o[ldo + 12], o[ldo + 13], o[ldo + 14], o[ldo + 15] = c12, c13, c14, c15
    o[2 * ldo + 0], o[2 * ldo + 1], o[2 * ldo + 2], o[2 * ldo + 3] = e0, e1, e2, e3
    o[2 * ldo + 4], o[2 * ldo + 5], o[2 * ldo + 6], o[2 * ldo + 7] = e4, e5, e6, e7
    o[2 * ldo + 8], o[2 * ldo + 9], o[2 * ldo + 10], o[2 * ldo + 11] = e8, e9, e10, e11
    o[2 * ldo + 12], o[2 * ldo + 13], o[2 * ldo + 14], o[2 * ldo + 15] = e12, e13, e14, e15
    o[3 * ldo + 0], o[3 * ldo + 1], o[3 * ldo + 2], o[3 * ldo + 3] = g0, g1, g2, g3
    o[3 * ldo + 4], o[3 * ldo + 5], o[3 * ldo + 6], o[3 * ldo + 7] = g4, g5, g6, g7
    o[3 * ldo + 8], o[3 * ldo + 9], o[3 * ldo + 10], o[3 * ldo + 11] = g8, g9, g10, g11
    o[3 * ldo + 12], o[3 * ldo + 13], o[3 * ldo + 14], o[3 * ldo + 15] = g12, g13, g14, g15


cdef void _tile4x8(const floating* x0, const floating* x1, const floating* x2,
                   const floating* x3, Py_ssize_t sx, const floating* W0, const floating* W1,
                   const floating* W2, const floating* W3, Py_ssize_t ldw, const floating* b,
                   floating* o, Py_ssize_t ldo, Py_ssize_t n) noexcept nogil:
    """out rows 0..3 (ldo apart), outputs 0:8 := b[0:8] + sum_k x_r[k sx] W[k ldw + 0:8]
    (b NULL: no bias), k = 0 .. n-1; 32 sums in flight (8 AVX2 registers
    of float64); W0 .. W3 and x0 .. x3 as for _tile4x16."""
    cdef floating y0, y1, y2, y3
    cdef const floating* w0
    cdef const floating* w1
    cdef const floating* w2
    cdef const floating* w3
    cdef Py_ssize_t k
    cdef floating a0, a1, a2, a3, a4, a5, a6, a7
    cdef floating c0, c1, c2, c3, c4, c5, c6, c7
    cdef floating e0, e1, e2, e3, e4, e5, e6, e7
    cdef floating g0, g1, g2, g3, g4, g5, g6, g7
    if b == NULL:
        a0, a1, a2, a3, a4, a5, a6, a7 = 0, 0, 0, 0, 0, 0, 0, 0
        c0, c1, c2, c3, c4, c5, c6, c7 = 0, 0, 0, 0, 0, 0, 0, 0
        e0, e1, e2, e3, e4, e5, e6, e7 = 0, 0, 0, 0, 0, 0, 0, 0
        g0, g1, g2, g3, g4, g5, g6, g7 = 0, 0, 0, 0, 0, 0, 0, 0
    else:
        a0, a1, a2, a3 = b[0], b[1], b[2], b[3]
        a4, a5, a6, a7 = b[4], b[5], b[6], b[7]
        c0, c1, c2, c3, c4, c5, c6, c7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        e0, e1, e2, e3, e4, e5, e6, e7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        g0, g1, g2, g3, g4, g5, g6, g7 = b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
    for k in range(n):
        y0 = x0[k * sx]
        y1 = x1[k * sx]
        y2 = x2[k * sx]
        y3 = x3[k * sx]
        w0 = W0 + k * ldw
        w1 = W1 + k * ldw
        w2 = W2 + k * ldw
        w3 = W3 + k * ldw
        a0, a1, a2, a3 = a0 + y0 * w0[0], a1 + y0 * w0[1], a2 + y0 * w0[2], a3 + y0 * w0[3]
        a4, a5, a6, a7 = a4 + y0 * w0[4], a5 + y0 * w0[5], a6 + y0 * w0[6], a7 + y0 * w0[7]
        c0, c1, c2, c3 = c0 + y1 * w1[0], c1 + y1 * w1[1], c2 + y1 * w1[2], c3 + y1 * w1[3]
        c4, c5, c6, c7 = c4 + y1 * w1[4], c5 + y1 * w1[5], c6 + y1 * w1[6], c7 + y1 * w1[7]
        e0, e1, e2, e3 = e0 + y2 * w2[0], e1 + y2 * w2[1], e2 + y2 * w2[2], e3 + y2 * w2[3]
        e4, e5, e6, e7 = e4 + y2 * w2[4], e5 + y2 * w2[5], e6 + y2 * w2[6], e7 + y2 * w2[7]
        g0, g1, g2, g3 = g0 + y3 * w3[0], g1 + y3 * w3[1], g2 + y3 * w3[2], g3 + y3 * w3[3]
        g4, g5, g6, g7 = g4 + y3 * w3[4], g5 + y3 * w3[5], g6 + y3 * w3[6], g7 + y3 * w3[7]
    o[0], o[1], o[2], o[3] = a0, a1, a2, a3
    o[4], o[5], o[6], o[7] = a4, a5, a6, a7
    o[ldo + 0], o[ldo + 1], o[ldo + 2], o[ldo + 3] = c0, c1, c2, c3
    o[ldo + 4], o[ldo + 5], o[ldo + 6], o[ldo + 7] = c4, c5, c6, c7
    o[2 * ldo + 0], o[2 * ldo + 1], o[2 * ldo + 2], o[2 * ldo + 3] = e0, e1, e2, e3
    o[2 * ldo + 4], o[2 * ldo + 5], o[2 * ldo + 6], o[2 * ldo + 7] = e4, e5, e6, e7
    o[3 * ldo + 0], o[3 * ldo + 1], o[3 * ldo + 2], o[3 * ldo + 3] = g0, g1, g2, g3
    o[3 * ldo + 4], o[3 * ldo + 5], o[3 * ldo + 6], o[3 * ldo + 7] = g4, g5, g6, g7


cdef void _tile2x32(const floating* x0, const floating* x1, Py_ssize_t sx,
                    const floating* W0, const floating* W1, Py_ssize_t ldw, const floating* b,
                    floating* o, Py_ssize_t ldo, Py_ssize_t n) noexcept nogil:
    """out rows 0..1 (ldo apart), outputs 0:32 := b[0:32] + sum_k x_r[k sx] W[k ldw + 0:32]
    (b NULL: no bias), k = 0 .. n-1; 64 sums in flight (8 AVX2 registers
    of float32), two broadcasts and eight loads for eight products of
    vectors. W0 and W1 are the same weights, as for _tile4x16."""
    cdef floating y0, y1
    cdef const floating* w0
    cdef const floating* w1
    cdef Py_ssize_t k
    cdef floating a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15
    cdef floating a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31
    cdef floating c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15
    cdef floating c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31
    if b == NULL:
        a0, a1, a2, a3, a4, a5, a6, a7 = 0, 0, 0, 0, 0, 0, 0, 0
        a8, a9, a10, a11, a12, a13, a14, a15 = 0, 0, 0, 0, 0, 0, 0, 0
        a16, a17, a18, a19, a20, a21, a22, a23 = 0, 0, 0, 0, 0, 0, 0, 0
        a24, a25, a26, a27, a28, a29, a30, a31 = 0, 0, 0, 0, 0, 0, 0, 0
        c0, c1, c2, c3, c4, c5, c6, c7 = 0, 0, 0, 0, 0, 0, 0, 0
        c8, c9, c10, c11, c12, c13, c14, c15 = 0, 0, 0, 0, 0, 0, 0, 0
        c16, c17, c18, c19, c20, c21, c22, c23 = 0, 0, 0, 0, 0, 0, 0, 0
        c24, c25, c26, c27, c28, c29, c30, c31 = 0, 0, 0, 0, 0, 0, 0, 0
    else:
        a0, a1, a2, a3 = b[0], b[1], b[2], b[3]
        a4, a5, a6, a7 = b[4], b[5], b[6], b[7]
        a8, a9, a10, a11 = b[8], b[9], b[10], b[11]
        a12, a13, a14, a15 = b[12], b[13], b[14], b[15]
        a16, a17, a18, a19 = b[16], b[17], b[18], b[19]
        a20, a21, a22, a23 = b[20], b[21], b[22], b[23]
        a24, a25, a26, a27 = b[24], b[25], b[26], b[27]
        a28, a29, a30, a31 = b[28], b[29], b[30], b[31]
        c0, c1, c2, c3 = b[0], b[1], b[2], b[3]
        c4, c5, c6, c7 = b[4], b[5], b[6], b[7]
        c8, c9, c10, c11 = b[8], b[9], b[10], b[11]
        c12, c13, c14, c15 = b[12], b[13], b[14], b[15]
        c16, c17, c18, c19 = b[16], b[17], b[18], b[19]
        c20, c21, c22, c23 = b[20], b[21], b[22], b[23]
        c24, c25, c26, c27 = b[24], b[25], b[26], b[27]
        c28, c29, c30, c31 = b[28], b[29], b[30], b[31]
    for k in range(n):
        y0 = x0[k * sx]
        y1 = x1[k * sx]
        w0 = W0 + k * ldw
        w1 = W1 + k * ldw
        a0, a1 = a0 + y0 * w0[0], a1 + y0 * w0[1]
        a2, a3 = a2 + y0 * w0[2], a3 + y0 * w0[3]
        a4, a5 = a4 + y0 * w0[4], a5 + y0 * w0[5]
        a6, a7 = a6 + y0 * w0[6], a7 + y0 * w0[7]
        a8, a9 = a8 + y0 * w0[8], a9 + y0 * w0[9]
        a10, a11 = a10 + y0 * w0[10], a11 + y0 * w0[11]
        a12, a13 = a12 + y0 * w0[12], a13 + y0 * w0[13]
        a14, a15 = a14 + y0 * w0[14], a15 + y0 * w0[15]
        a16, a17 = a16 + y0 * w0[16], a17 + y0 * w0[17]
        a18, a19 = a18 + y0 * w0[18], a19 + y0 * w0[19]
        a20, a21 = a20 + y0 * w0[20], a21 + y0 * w0[21]
        a22, a23 = a22 + y0 * w0[22], a23 + y0 * w0[23]
        a24, a25 = a24 + y0 * w0[24], a25 + y0 * w0[25]
        a26, a27 = a26 + y0 * w0[26], a27 + y0 * w0[27]
        a28, a29 = a28 + y0 * w0[28], a29 + y0 * w0[29]
        a30, a31 = a30 + y0 * w0[30], a31 + y0 * w0[31]
        c0, c1 = c0 + y1 * w1[0], c1 + y1 * w1[1]
        c2, c3 = c2 + y1 * w1[2], c3 + y1 * w1[3]
        c4, c5 = c4 + y1 * w1[4], c5 + y1 * w1[5]
        c6, c7 = c6 + y1 * w1[6], c7 + y1 * w1[7]
        c8, c9 = c8 + y1 * w1[8], c9 + y1 * w1[9]
        c10, c11 = c10 + y1 * w1[10], c11 + y1 * w1[11]
        c12, c13 = c12 + y1 * w1[12], c13 + y1 * w1[13]
        c14, c15 = c14 + y1 * w1[14], c15 + y1 * w1[15]
        c16, c17 = c16 + y1 * w1[16], c17 + y1 * w1[17]
        c18, c19 = c18 + y1 * w1[18], c19 + y1 * w1[19]
        c20, c21 = c20 + y1 * w1[20], c21 + y1 * w1[21]
        c22, c23 = c22 + y1 * w1[22], c23 + y1 * w1[23]
        c24, c25 = c24 + y1 * w1[24], c25 + y1 * w1[25]
        c26, c27 = c26 + y1 * w1[26], c27 + y1 * w1[27]
        c28, c29 = c28 + y1 * w1[28], c29 + y1 * w1[29]
        c30, c31 = c30 + y1 * w1[30], c31 + y1 * w1[31]
    o[0], o[1], o[2], o[3] = a0, a1, a2, a3
    o[4], o[5], o[6], o[7] = a4, a5, a6, a7
    o[8], o[9], o[10], o[11] = a8, a9, a10, a11
    o[12], o[13], o[14], o[15] = a12, a13, a14, a15
    o[16], o[17], o[18], o[19] = a16, a17, a18, a19
    o[20], o[21], o[22], o[23] = a20, a21, a22, a23
    o[24], o[25], o[26], o[27] = a24, a25, a26, a27
    o[28], o[29], o[30], o[31] = a28, a29, a30, a31
    o[ldo + 0], o[ldo + 1], o[ldo + 2], o[ldo + 3] = c0, c1, c2, c3
    o[ldo + 4], o[ldo + 5], o[ldo + 6], o[ldo + 7] = c4, c5, c6, c7
    o[ldo + 8], o[ldo + 9], o[ldo + 10], o[ldo + 11] = c8, c9, c10, c11
    o[ldo + 12], o[ldo + 13], o[ldo + 14], o[ldo + 15] = c12, c13, c14, c15
    o[ldo + 16], o[ldo + 17], o[ldo + 18], o[ldo + 19] = c16, c17, c18, c19
    o[ldo + 20], o[ldo + 21], o[ldo + 22], o[ldo + 23] = c20, c21, c22, c23
    o[ldo + 24], o[ldo + 25], o[ldo + 26], o[ldo + 27] = c24, c25, c26, c27
    o[ldo + 28], o[ldo + 29], o[ldo + 30], o[ldo + 31] = c28, c29, c30, c31


cdef void _tiled_from(const floating* X, Py_ssize_t sr, Py_ssize_t sx, const floating* W,
                      Py_ssize_t ldw, const floating* b, floating* out, Py_ssize_t ldo,
                      Py_ssize_t m, Py_ssize_t n, Py_ssize_t n_out,
                      Py_ssize_t j_from) noexcept nogil:
    """_tiled's outputs j_from .. n_out-1 (n_out >= TILE_S; a tile may start
    before j_from, writing those outputs again with the same bits).

    Rows four at a time (16 outputs at a time for float32, 8 for float64),
    then two at a time through 16-wide tiles, a last odd row 32 outputs at a
    time; 8-wide tiles for what is left of a row, the last ending at n_out."""
    cdef Py_ssize_t i = 0, j0, j8
    cdef bint pair
    cdef const floating* x
    cdef const floating* w
    cdef floating* o
    while i + 4 <= m:
        x = X + i * sr
        o = out + i * ldo
        j0 = j_from
        if floating is float:
            while j0 + TILE <= n_out:
                w = W + j0
                _tile4x16(x, x + sr, x + 2 * sr, x + 3 * sr, sx, w, w, w, w, ldw,
                          b + j0 if b != NULL else NULL, o + j0, ldo, n)
                j0 += TILE
        j8 = j0
        while j8 < n_out:
            if j8 + TILE_S > n_out:
                j8 = n_out - TILE_S
            w = W + j8
            _tile4x8(x, x + sr, x + 2 * sr, x + 3 * sr, sx, w, w, w, w, ldw,
                     b + j8 if b != NULL else NULL, o + j8, ldo, n)
            j8 += TILE_S
        i += 4
    while i < m:
        x = X + i * sr
        o = out + i * ldo
        pair = i + 1 < m
        j0 = j_from
        if pair:
            while j0 + TILE <= n_out:
                _tile2(x, x + sr, sx, W + j0, W + j0, ldw,
                       b + j0 if b != NULL else NULL, b + j0 if b != NULL else NULL,
                       o + j0, o + ldo + j0, n)
                j0 += TILE
        else:
            while j0 + 2 * TILE <= n_out:
                _tile2(x, x, sx, W + j0, W + j0 + TILE, ldw,
                       b + j0 if b != NULL else NULL, b + j0 + TILE if b != NULL else NULL,
                       o + j0, o + j0 + TILE, n)
                j0 += 2 * TILE
        j8 = j0
        while j8 < n_out:
            if j8 + TILE_S > n_out:
                j8 = n_out - TILE_S
            _tile8(x, sx, W + j8, ldw, b + j8 if b != NULL else NULL, o + j8, n)
            if pair:
                _tile8(x + sr, sx, W + j8, ldw, b + j8 if b != NULL else NULL,
                       o + ldo + j8, n)
            j8 += TILE_S
        i += 2 if pair else 1


cdef void _tiled(const floating* X, Py_ssize_t sr, Py_ssize_t sx, const floating* W,
                 Py_ssize_t ldw, const floating* b, floating* out, Py_ssize_t ldo,
                 Py_ssize_t m, Py_ssize_t n, Py_ssize_t n_out) noexcept nogil:
    """out[i, j] := b[j] + sum_k X[i sr + k sx] W[k ldw + j] for i < m, j < n_out
    (rows of out ldo apart; b NULL: no bias), k = 0 .. n-1; n_out >= TILE_S.

    float32: 32 outputs at a time for rows two at a time (a last odd row
    through _tile2), the rest (and float64) through _tiled_from."""
    cdef Py_ssize_t i, j0 = 0
    cdef const floating* x
    cdef const floating* w
    cdef floating* o
    if floating is float:
        while j0 + 2 * TILE <= n_out:
            w = W + j0
            i = 0
            while i + 2 <= m:
                x = X + i * sr
                _tile2x32(x, x + sr, sx, w, w, ldw, b + j0 if b != NULL else NULL,
                          out + i * ldo + j0, ldo, n)
                i += 2
            if i < m:
                x = X + i * sr
                o = out + i * ldo + j0
                _tile2(x, x, sx, w, w + TILE, ldw, b + j0 if b != NULL else NULL,
                       b + j0 + TILE if b != NULL else NULL, o, o + TILE, n)
            j0 += 2 * TILE
    if j0 < n_out:
        _tiled_from(X, sr, sx, W, ldw, b, out, ldo, m, n, n_out, j0)


cdef void _dense_backward(const floating* X, const floating* W,
                          const floating* delta, floating* dW,
                          floating* db, floating* dX, const floating* A_prev,
                          int act_prev, Py_ssize_t m, Py_ssize_t n_in,
                          Py_ssize_t n_out, floating* wt, bint whole) noexcept nogil:
    """dW := X^T @ delta;  db := sum(delta, 0);  dX := (delta @ W^T) * act'(A_prev)

    X      : (m, n_in)      IN   the layer's input (= A_prev unless first)
    W      : (n_in, n_out)  IN
    delta  : (m, n_out)     IN   dL/dZ of this layer
    dW, db :                OUT  skipped if dW is NULL
    dX     : (m, n_in)      OUT  dL/dZ of the previous layer; skipped if NULL
    wt     : (n_out, n_in)  scratch for W^T, when n_in * n_out <= TILE_MAX_W
    """
    cdef Py_ssize_t i, j, k
    cdef floating xk, s
    cdef floating* dw
    cdef floating* o
    cdef const floating* d
    cdef bint small = n_in * n_out <= TILE_MAX_W
    cdef bint big = m * n_in * n_out >= BLAS_MIN_MACS and not small
    if dW == NULL:
        pass
    # db
    elif n_out < 8:
        # narrow outputs: a column at a time, in registers (a running sum in
        # memory would wait on its own stores)
        for j in range(n_out):
            db[j] = _strided_dot(delta + j, NULL, n_out, 0, m)
    else:
        for j in range(n_out):
            db[j] = 0
        for i in range(m):
            d = delta + i * n_out
            for j in range(n_out):
                db[j] += d[j]
    # dW: its row k is sum_i X[i, k] delta[i, :], a tile of delta's rows
    if dW == NULL:
        pass
    elif small and m > 1 and n_out < TILE and n_in >= TILE:
        # few outputs: dW^T's rows j are sum_i delta[i, j] X[i, :], wide
        # tiles of X's rows, into wt, then copied across
        _tiled(delta, 1, n_out, X, n_in, NULL, wt, n_in, n_out, m, n_in)
        for k in range(n_in):
            for j in range(n_out):
                dW[k * n_out + j] = wt[j * n_in + k]
    elif small and m > 1 and n_out >= TILE_S:
        _tiled(X, 1, n_in, delta, n_out, NULL, dW, n_out, n_in, m, n_out)
    elif big:
        _gemm(False, True, <int>n_out, <int>n_in, <int>m, <floating>1.0,
              delta, <int>n_out, X, <int>n_in, <floating>0.0, dW, <int>n_out, whole)
    elif n_out < 8:
        for k in range(n_in):
            for j in range(n_out):
                dW[k * n_out + j] = _strided_dot(delta + j, X + k, n_out, n_in, m)
    else:
        # the first row writes, the others add (no clearing pass)
        for k in range(n_in):
            xk = X[k]
            dw = dW + k * n_out
            for j in range(n_out):
                dw[j] = xk * delta[j]
        for i in range(1, m):
            d = delta + i * n_out
            for k in range(n_in):
                xk = X[i * n_in + k]
                dw = dW + k * n_out
                for j in range(n_out):
                    dw[j] += xk * d[j]
    if dX == NULL:
        return
    # dX: a tile of W^T's rows, W^T copied out first
    if small and n_in >= TILE_S and m > 1:
        for k in range(n_in):
            for j in range(n_out):
                wt[j * n_in + k] = W[k * n_out + j]
        _tiled(delta, n_out, 1, wt, n_in, NULL, dX, n_in, m, n_out, n_in)
        _times_act_grad(dX, A_prev, m * n_in, act_prev)
    elif big:
        _gemm(True, False, <int>n_in, <int>m, <int>n_out, <floating>1.0,
              W, <int>n_out, delta, <int>n_out, <floating>0.0, dX, <int>n_in, whole)
        _times_act_grad(dX, A_prev, m * n_in, act_prev)
    else:
        # dX[i, k] = sum_j delta[i, j] W[k, j], summed in the order j = 0, 1, ..
        # but over all k at once: independent adds the CPU can overlap
        for i in range(m):
            d = delta + i * n_out
            o = dX + i * n_in
            s = d[0]
            for k in range(n_in):
                o[k] = s * W[k * n_out]
            for j in range(1, n_out):
                s = d[j]
                for k in range(n_in):
                    o[k] += s * W[k * n_out + j]
        _times_act_grad(dX, A_prev, m * n_in, act_prev)


cdef void _sgd_rows2(floating x0, floating x1, floating* w0, floating* w1,
                     const floating* d, Py_ssize_t n, floating lr) noexcept nogil:
    """w0 := w0 - lr (x0 d), w1 := w1 - lr (x1 d), each of n values: plain
    SGD's step on two rows of a layer's weights."""
    cdef Py_ssize_t j
    for j in range(n):
        w0[j] = w0[j] - lr * (x0 * d[j])
        w1[j] = w1[j] - lr * (x1 * d[j])


cdef void _dense_sgd_row(const floating* x, floating* W, floating* b,
                         const floating* delta, floating* dX, const floating* A_prev,
                         int act_prev, Py_ssize_t n_in, Py_ssize_t n_out, floating lr,
                         floating* wt) noexcept nogil:
    """One row's plain SGD step on a dense layer, its gradient never stored:
    dX := (delta @ W^T) * act'(A_prev) with W as it was;  W := W - lr x^T delta;
    b := b - lr delta

    x      : (n_in,)        IN   the layer's input
    W, b   :                IN/OUT
    delta  : (n_out,)       IN   dL/dZ of this layer
    dX     : (n_in,)        OUT  dL/dZ of the previous layer; skipped if NULL

    Each gradient is formed as _dense_backward forms it for one row (x_k
    delta_j, or with fewer than 8 outputs x_k delta_j + 0, as its column sums
    do; delta_j + 0 for the bias) and applied as _update's plain SGD applies
    it, w - lr g: the bits of the two calls, without storing and reloading
    the gradient.
    """
    cdef Py_ssize_t j, k
    cdef floating xk
    cdef floating* w
    if dX != NULL:
        _dense_backward(x, W, delta, NULL, NULL, dX, A_prev, act_prev, 1, n_in, n_out, wt,
                        False)
    if n_out < 8:
        for k in range(n_in):
            xk = x[k]
            w = W + k * n_out
            for j in range(n_out):
                w[j] = w[j] - lr * (xk * delta[j] + <floating>0)
    else:
        # two rows at a time: half the loop set-up per row
        for k in range(0, n_in - 1, 2):
            _sgd_rows2(x[k], x[k + 1], W + k * n_out, W + (k + 1) * n_out, delta, n_out, lr)
        if n_in % 2:
            xk = x[n_in - 1]
            w = W + (n_in - 1) * n_out
            for j in range(n_out):
                w[j] = w[j] - lr * (xk * delta[j])
    for j in range(n_out):
        b[j] = b[j] - lr * (delta[j] + <floating>0)
