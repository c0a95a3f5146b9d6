# The losses and their gradients from the logits, and the fused step of a line.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ losses
cdef enum:
    EXP_KEEP = 64       # classes whose exp a row keeps from the loss for its delta


cdef double _loss_delta(const floating* Z, Py_ssize_t m, Py_ssize_t k,
                        int loss, int act, const int64_t* labels,
                        const floating* Y, const int64_t* idx,
                        floating* delta, Py_ssize_t* correct) noexcept nogil:
    """loss := mean loss of act(Z) against the targets;  delta := dloss/dZ

    Z       : (m, k)   IN   logits of the output layer
    labels  : (n,)     IN   class labels (cross-entropy), row idx[i] for row i
    Y       : (n, k)   IN   targets (mse, binary cross-entropy), row idx[i]
    idx     : (m,)     IN   rows of the targets; NULL means 0 .. m-1
    delta   : (m, k)   OUT  (NULL: loss only)
    correct : (1,)     OUT  += rows classified right (classification losses;
                            NULL: not counted)

    Every loss is summed in the order torch's writes it, so that it stays
    exact at any size of the logits: cross-entropy as (max - z_y) + log(sum
    exp(z - max)) (log_softmax then the negative log-likelihood), binary
    cross-entropy as max(z, 0) - z t + log1p(exp(-|z|)). A row is classified
    right when the largest logit is its label's (the first of equal ones, as
    argmax), or, for binary cross-entropy, when every output's z > 0 (p >
    0.5) agrees with its target's t > 0.5.
    """
    cdef Py_ssize_t i, j, r, jm, kept
    cdef double total = 0, s, mx, z, t, a, g, ga, ez
    cdef double e[EXP_KEEP]     # the first classes' exp(z - max), kept for delta
    cdef double inv
    cdef bint right
    cdef const floating* zrow
    if loss == CROSS_ENTROPY:
        inv = 1.0 / m
        for i in range(m):
            r = idx[i] if idx != NULL else i
            zrow = Z + i * k
            mx = zrow[0]
            jm = 0
            for j in range(1, k):
                if zrow[j] > mx:
                    mx = zrow[j]
                    jm = j
            kept = min(k, EXP_KEEP)
            for j in range(kept):       # vectorises: _exp_le0 is plain arithmetic
                e[j] = _exp_le0(zrow[j] - mx)
            s = 0
            for j in range(k):
                s += e[j] if j < EXP_KEEP else _exp_le0(zrow[j] - mx)
            total += (mx - zrow[labels[r]]) + log(s)
            if correct != NULL and jm == labels[r]:
                correct[0] += 1
            if delta != NULL:
                for j in range(k):
                    ez = e[j] if j < EXP_KEEP else _exp_le0(zrow[j] - mx)
                    delta[i * k + j] = <floating>(ez / s * inv)
                delta[i * k + labels[r]] -= <floating>inv
        return total / m
    inv = 1.0 / (m * k)
    if loss == BINARY_CROSS_ENTROPY:
        for i in range(m):
            r = idx[i] if idx != NULL else i
            right = True
            for j in range(k):
                z = Z[i * k + j]
                t = Y[r * k + j]
                total += ((z if z > 0 else 0) - z * t) + log1p(exp(-fabs(z)))
                if correct != NULL:
                    right = right and ((z > 0) == (t > 0.5))
                if delta != NULL:
                    delta[i * k + j] = <floating>((_sigmoid(z) - t) * inv)
            if correct != NULL and right:
                correct[0] += 1
        return total * inv
    # MSE through any output activation: a = act(z); dL/da = 2 (a - y) / (m k)
    if act == IDENTITY and idx == NULL and delta != NULL:
        # linear output, rows in order: one pass over m k values
        for i in range(m * k):
            g = Z[i] - Y[i]
            total += g * g
            delta[i] = <floating>(2 * g * inv)
        return total * inv
    for i in range(m):
        r = idx[i] if idx != NULL else i
        if act == SOFTMAX:
            zrow = Z + i * k
            mx = zrow[0]
            for j in range(1, k):
                if zrow[j] > mx:
                    mx = zrow[j]
            s = 0
            for j in range(k):
                s += exp(zrow[j] - mx)
            ga = 0
            for j in range(k):
                a = exp(zrow[j] - mx) / s
                g = a - Y[r * k + j]
                total += g * g
                ga += 2 * g * inv * a
            if delta != NULL:
                for j in range(k):
                    a = exp(zrow[j] - mx) / s
                    g = 2 * (a - Y[r * k + j]) * inv
                    delta[i * k + j] = <floating>(a * (g - ga))
            continue
        for j in range(k):
            z = Z[i * k + j]
            if act == SIGMOID:
                a = _sigmoid(z)
            elif act == TANH:
                a = tanh(z)
            elif act == RELU:
                a = 0 if z < 0 else z
            else:
                a = z
            g = a - Y[r * k + j]
            total += g * g
            if delta != NULL:
                delta[i * k + j] = <floating>(2 * g * inv) * _act_grad(<floating>a, act)
    return total * inv


# ------------------------------------------------------------ the line
# The full-batch sums of _line_step in vector registers, written out. From
# the eight named partial sums below the compiler made a mix of vector and
# scalar code that went through the stack (39 ns a step on Hubble's 24
# points, AMD EPYC Zen 4; 27 ns this way), and it fused some of the
# multiply-adds and not others. Here each lane j keeps partial sum j of the
# named code, in the same order, every multiply-add fused: r = (x w + c) - y,
# g_j += r x, e_j += r r, h_j += r; the lanes are stored as the named sums
# are, and _line_step adds them up in the same tree. The AVX2 and AVX-512
# builds run this; the baseline build the named sums.
cdef extern from *:
    """
    #if defined(__AVX2__) && defined(__FMA__)
    #include <immintrin.h>
    #define FNN_LINE_SIMD 1
    /* rows 0 .. m8-1 (m8 a multiple of 8): the partial sums gs[j], hs[j],
       es[j] of the rows i with i % 8 == j */
    static void fnn_line_sums_d(const double* X, const double* Y, long m8, double w,
                                double c, double* gs, double* hs, double* es) {
        __m256d vw = _mm256_set1_pd(w), vc = _mm256_set1_pd(c);
        __m256d g_lo = _mm256_setzero_pd(), g_hi = _mm256_setzero_pd();
        __m256d h_lo = _mm256_setzero_pd(), h_hi = _mm256_setzero_pd();
        __m256d e_lo = _mm256_setzero_pd(), e_hi = _mm256_setzero_pd();
        long i;
        for (i = 0; i < m8; i += 8) {
            __m256d x_lo = _mm256_loadu_pd(X + i), x_hi = _mm256_loadu_pd(X + i + 4);
            __m256d r_lo = _mm256_sub_pd(_mm256_fmadd_pd(x_lo, vw, vc), _mm256_loadu_pd(Y + i));
            __m256d r_hi = _mm256_sub_pd(_mm256_fmadd_pd(x_hi, vw, vc),
                                         _mm256_loadu_pd(Y + i + 4));
            g_lo = _mm256_fmadd_pd(r_lo, x_lo, g_lo);
            g_hi = _mm256_fmadd_pd(r_hi, x_hi, g_hi);
            h_lo = _mm256_add_pd(h_lo, r_lo);
            h_hi = _mm256_add_pd(h_hi, r_hi);
            e_lo = _mm256_fmadd_pd(r_lo, r_lo, e_lo);
            e_hi = _mm256_fmadd_pd(r_hi, r_hi, e_hi);
        }
        _mm256_storeu_pd(gs, g_lo); _mm256_storeu_pd(gs + 4, g_hi);
        _mm256_storeu_pd(hs, h_lo); _mm256_storeu_pd(hs + 4, h_hi);
        _mm256_storeu_pd(es, e_lo); _mm256_storeu_pd(es + 4, e_hi);
    }
    /* the same in float32 */
    static void fnn_line_sums_f(const float* X, const float* Y, long m8, float w,
                                float c, float* gs, float* hs, float* es) {
        __m256 vw = _mm256_set1_ps(w), vc = _mm256_set1_ps(c);
        __m256 vg = _mm256_setzero_ps(), vh = _mm256_setzero_ps(), ve = _mm256_setzero_ps();
        long i;
        for (i = 0; i < m8; i += 8) {
            __m256 x = _mm256_loadu_ps(X + i);
            __m256 r = _mm256_sub_ps(_mm256_fmadd_ps(x, vw, vc), _mm256_loadu_ps(Y + i));
            vg = _mm256_fmadd_ps(r, x, vg);
            vh = _mm256_add_ps(vh, r);
            ve = _mm256_fmadd_ps(r, r, ve);
        }
        _mm256_storeu_ps(gs, vg); _mm256_storeu_ps(hs, vh); _mm256_storeu_ps(es, ve);
    }
    #else
    #define FNN_LINE_SIMD 0
    static void fnn_line_sums_d(const double* X, const double* Y, long m8, double w,
                                double c, double* gs, double* hs, double* es) {}
    static void fnn_line_sums_f(const float* X, const float* Y, long m8, float w,
                                float c, float* gs, float* hs, float* es) {}
    #endif
    """
    bint LINE_SIMD "FNN_LINE_SIMD"
    void _line_sums_d "fnn_line_sums_d"(const double* X, const double* Y, long m8, double w,
                                        double c, double* gs, double* hs,
                                        double* es) noexcept nogil
    void _line_sums_f "fnn_line_sums_f"(const float* X, const float* Y, long m8, float w,
                                        float c, float* gs, float* hs,
                                        float* es) noexcept nogil


cdef double _line_step(const floating* X, const floating* Y, const int64_t* idx,
                       Py_ssize_t m, const floating* W, const floating* b,
                       floating* dW, floating* db) noexcept nogil:
    """A 1-in, 1-out linear layer under MSE (the regression machine) in one
    pass: loss := mean (w x + b - y)^2, dW := mean 2 r x, db := mean 2 r.

    X, Y : (n,)  IN   row idx[i] for row i; idx NULL means rows 0 .. m-1
    Eight interleaved partial sums per quantity: no chain of dependent adds.
    """
    cdef Py_ssize_t i, j, r, m8 = m - m % 8
    cdef floating w = W[0], c = b[0], res, x
    cdef floating gs[8]      # sum r x
    cdef floating hs[8]      # sum r
    cdef floating es[8]      # sum r^2
    cdef floating xs[8]
    cdef floating ys[8]
    cdef double e = 0, g, h
    cdef floating g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0
    cdef floating h0 = 0, h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0, h6 = 0, h7 = 0
    cdef floating e0 = 0, e1 = 0, e2 = 0, e3 = 0, e4 = 0, e5 = 0, e6 = 0, e7 = 0
    cdef floating r0, r1, r2, r3, r4, r5, r6, r7
    for j in range(8):
        gs[j] = 0
        hs[j] = 0
        es[j] = 0
    if idx == NULL and LINE_SIMD:
        if floating is double:
            _line_sums_d(X, Y, m8, w, c, gs, hs, es)
        else:
            _line_sums_f(X, Y, m8, w, c, gs, hs, es)
    elif idx == NULL:
        # the rows in order (full batch): the same eight sums, as named
        # scalars the compiler keeps in vector registers (an array of
        # partial sums goes through the stack)
        for i in range(0, m8, 8):
            r0 = c + X[i + 0] * w - Y[i + 0]
            g0 += r0 * X[i + 0]
            h0 += r0
            e0 += r0 * r0
            r1 = c + X[i + 1] * w - Y[i + 1]
            g1 += r1 * X[i + 1]
            h1 += r1
            e1 += r1 * r1
            r2 = c + X[i + 2] * w - Y[i + 2]
            g2 += r2 * X[i + 2]
            h2 += r2
            e2 += r2 * r2
            r3 = c + X[i + 3] * w - Y[i + 3]
            g3 += r3 * X[i + 3]
            h3 += r3
            e3 += r3 * r3
            r4 = c + X[i + 4] * w - Y[i + 4]
            g4 += r4 * X[i + 4]
            h4 += r4
            e4 += r4 * r4
            r5 = c + X[i + 5] * w - Y[i + 5]
            g5 += r5 * X[i + 5]
            h5 += r5
            e5 += r5 * r5
            r6 = c + X[i + 6] * w - Y[i + 6]
            g6 += r6 * X[i + 6]
            h6 += r6
            e6 += r6 * r6
            r7 = c + X[i + 7] * w - Y[i + 7]
            g7 += r7 * X[i + 7]
            h7 += r7
            e7 += r7 * r7
        gs[0], gs[1], gs[2], gs[3], gs[4], gs[5], gs[6], gs[7] = g0, g1, g2, g3, g4, g5, g6, g7
        hs[0], hs[1], hs[2], hs[3], hs[4], hs[5], hs[6], hs[7] = h0, h1, h2, h3, h4, h5, h6, h7
        es[0], es[1], es[2], es[3], es[4], es[5], es[6], es[7] = e0, e1, e2, e3, e4, e5, e6, e7
    else:
        for i in range(0, m8, 8):
            for j in range(8):
                xs[j] = X[idx[i + j]]
                ys[j] = Y[idx[i + j]]
            for j in range(8):
                res = c + xs[j] * w - ys[j]
                gs[j] += res * xs[j]
                hs[j] += res
                es[j] += res * res
    g = ((gs[0] + gs[1]) + (gs[2] + gs[3])) + ((gs[4] + gs[5]) + (gs[6] + gs[7]))
    h = ((hs[0] + hs[1]) + (hs[2] + hs[3])) + ((hs[4] + hs[5]) + (hs[6] + hs[7]))
    for j in range(8):
        e += es[j]
    for i in range(m8, m):
        r = idx[i] if idx != NULL else i
        x = X[r]
        res = c + x * w - Y[r]
        g += res * x
        h += res
        e += <double>res * res
    dW[0] = <floating>(2.0 * g / m)
    db[0] = <floating>(2.0 * h / m)
    return e / m
