# Convolution (direct loops and im2col + BLAS) and pooling, forward and backward.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ convolution
# Samples are (c, h, w) row-major. A convolution computes, as
# torch.nn.Conv2d does (cross-correlation, zero padding),
#   out[i, co, oy, ox] = b[co] + sum over ci, ky, kx of
#       W[co, ci, ky, kx] * X[i, ci, oy*sh - ph + ky, ox*sw - pw + kx]
# with X read as 0 outside the image. Tiny cases (fewer than
# CONV_BLAS_MIN_MACS multiply-adds) run as direct loops; all others unfold
# the input (im2col: the K = c_in*kh*kw values under each of the P = oh*ow
# window positions become a column) for g samples at a time and multiply
# W (c_out, K) by the unfolded (K, g*P) through BLAS. The backward pass
# unfolds again (cheaper than keeping every layer's unfolding) and folds the
# input gradient back (col2im).

cdef inline void _valid(Py_ssize_t k, Py_ssize_t size, Py_ssize_t stride,
                        Py_ssize_t pad, Py_ssize_t n_out, Py_ssize_t* lo,
                        Py_ssize_t* hi) noexcept nogil:
    """[lo, hi) := the outputs o whose input o*stride - pad + k lies in [0, size)."""
    cdef Py_ssize_t first = pad - k              # o*stride >= first
    cdef Py_ssize_t last = size - 1 + pad - k    # o*stride <= last
    lo[0] = 0 if first <= 0 else (first + stride - 1) // stride
    hi[0] = 0 if last < 0 else min(n_out, last // stride + 1)
    if hi[0] < lo[0]:
        hi[0] = lo[0]


cdef inline bint _conv_uses_blas(const Layer* L, Py_ssize_t m) noexcept nogil:
    """Whether m rows of this convolution are worth a BLAS product."""
    return m * L.c_out * L.c_in * L.kh * L.kw * L.oh * L.ow >= CONV_BLAS_MIN_MACS


cdef void _conv_forward_direct(const floating* X, const floating* W,
                               const floating* b, floating* out, Py_ssize_t m,
                               const Layer* L) noexcept nogil:
    """out := conv(X, W) + b, by direct loops (before the activation)

    X   : (m, c_in, h, w)         IN
    W   : (c_out, c_in, kh, kw)   IN
    b   : (c_out,)                IN
    out : (m, c_out, oh, ow)      OUT
    """
    cdef Py_ssize_t c_in = L.c_in, c_out = L.c_out, h = L.h, w = L.w
    cdef Py_ssize_t oh = L.oh, ow = L.ow, kh = L.kh, kw = L.kw
    cdef Py_ssize_t sh = L.sh, sw = L.sw, ph = L.ph, pw = L.pw
    cdef Py_ssize_t P = oh * ow, i, co, ci, ky, kx, oy, ox, p
    cdef Py_ssize_t oy_lo, oy_hi, ox_lo, ox_hi, ix0
    cdef const floating* x
    cdef const floating* xrow
    cdef const floating* wk
    cdef floating* o
    cdef floating* orow
    cdef floating wv
    for i in range(m):
        for co in range(c_out):
            o = out + (i * c_out + co) * P
            for p in range(P):
                o[p] = b[co]
            for ci in range(c_in):
                x = X + (i * c_in + ci) * h * w
                wk = W + (co * c_in + ci) * kh * kw
                for ky in range(kh):
                    _valid(ky, h, sh, ph, oh, &oy_lo, &oy_hi)
                    for kx in range(kw):
                        _valid(kx, w, sw, pw, ow, &ox_lo, &ox_hi)
                        wv = wk[ky * kw + kx]
                        ix0 = kx - pw
                        for oy in range(oy_lo, oy_hi):
                            xrow = x + (oy * sh - ph + ky) * w
                            orow = o + oy * ow
                            if sw == 1:
                                for ox in range(ox_lo, ox_hi):
                                    orow[ox] += wv * xrow[ox + ix0]
                            else:
                                for ox in range(ox_lo, ox_hi):
                                    orow[ox] += wv * xrow[ox * sw + ix0]


cdef void _conv_backward_direct(const floating* X, const floating* W,
                                const floating* delta, floating* dW,
                                floating* db, floating* dX, Py_ssize_t m,
                                const Layer* L) noexcept nogil:
    """dW := sum_i delta_i (*) X_i;  db := sum(delta);  dX := W^T (*) delta

    by direct loops. dX (m, c_in, h, w) is skipped if NULL and is before the
    previous layer's act'; dW (c_out, c_in, kh, kw) and db (c_out,) are
    overwritten.
    """
    cdef Py_ssize_t c_in = L.c_in, c_out = L.c_out, h = L.h, w = L.w
    cdef Py_ssize_t oh = L.oh, ow = L.ow, kh = L.kh, kw = L.kw
    cdef Py_ssize_t sh = L.sh, sw = L.sw, ph = L.ph, pw = L.pw
    cdef Py_ssize_t P = oh * ow, i, co, ci, ky, kx, oy, ox, p
    cdef Py_ssize_t oy_lo, oy_hi, ox_lo, ox_hi, ix0
    cdef const floating* x
    cdef const floating* xrow
    cdef const floating* d
    cdef const floating* drow
    cdef const floating* wk
    cdef floating* dwk
    cdef floating* dx
    cdef floating* dxrow
    cdef floating wv, acc
    memset(dW, 0, c_out * c_in * kh * kw * sizeof(floating))
    for co in range(c_out):
        db[co] = 0
    if dX != NULL:
        memset(dX, 0, m * c_in * h * w * sizeof(floating))
    for i in range(m):
        for co in range(c_out):
            d = delta + (i * c_out + co) * P
            db[co] += _sum(d, P)
            for ci in range(c_in):
                x = X + (i * c_in + ci) * h * w
                wk = W + (co * c_in + ci) * kh * kw
                dwk = dW + (co * c_in + ci) * kh * kw
                dx = dX + (i * c_in + ci) * h * w if dX != NULL else NULL
                for ky in range(kh):
                    _valid(ky, h, sh, ph, oh, &oy_lo, &oy_hi)
                    for kx in range(kw):
                        _valid(kx, w, sw, pw, ow, &ox_lo, &ox_hi)
                        ix0 = kx - pw
                        wv = wk[ky * kw + kx]
                        acc = 0
                        for oy in range(oy_lo, oy_hi):
                            xrow = x + (oy * sh - ph + ky) * w
                            drow = d + oy * ow
                            for ox in range(ox_lo, ox_hi):
                                acc += drow[ox] * xrow[ox * sw + ix0]
                            if dx != NULL:
                                dxrow = dx + (oy * sh - ph + ky) * w
                                for ox in range(ox_lo, ox_hi):
                                    dxrow[ox * sw + ix0] += wv * drow[ox]
                        dwk[ky * kw + kx] += acc


cdef void _im2col(const floating* X, floating* col, Py_ssize_t g,
                  const Layer* L) noexcept nogil:
    """col[(ci, ky, kx), (j, oy, ox)] := X[j, ci, oy*sh - ph + ky, ox*sw - pw + kx]

    X   : (g, c_in, h, w)                    IN
    col : (c_in*kh*kw, g*oh*ow)              OUT  (0 where X is padding)
    """
    cdef Py_ssize_t c_in = L.c_in, h = L.h, w = L.w, oh = L.oh, ow = L.ow
    cdef Py_ssize_t kh = L.kh, kw = L.kw, sh = L.sh, sw = L.sw
    cdef Py_ssize_t ph = L.ph, pw = L.pw, P = oh * ow, N = g * P
    cdef Py_ssize_t ci, ky, kx, j, oy, ox, oy_lo, oy_hi, ox_lo, ox_hi, ix0
    cdef const floating* xrow
    cdef floating* c
    for ci in range(c_in):
        for ky in range(kh):
            _valid(ky, h, sh, ph, oh, &oy_lo, &oy_hi)
            for kx in range(kw):
                _valid(kx, w, sw, pw, ow, &ox_lo, &ox_hi)
                ix0 = kx - pw
                for j in range(g):
                    c = col + ((ci * kh + ky) * kw + kx) * N + j * P
                    for oy in range(oh):
                        if oy < oy_lo or oy >= oy_hi:
                            for ox in range(ow):
                                c[oy * ow + ox] = 0
                            continue
                        xrow = X + ((j * c_in + ci) * h + oy * sh - ph + ky) * w
                        for ox in range(ox_lo):
                            c[oy * ow + ox] = 0
                        if sw == 1:
                            for ox in range(ox_lo, ox_hi):
                                c[oy * ow + ox] = xrow[ox + ix0]
                        else:
                            for ox in range(ox_lo, ox_hi):
                                c[oy * ow + ox] = xrow[ox * sw + ix0]
                        for ox in range(ox_hi, ow):
                            c[oy * ow + ox] = 0


cdef void _col2im(const floating* col, floating* dX, Py_ssize_t g,
                  const Layer* L) noexcept nogil:
    """dX := the sum, at each input pixel, of the unfolded values read from it

    col : (c_in*kh*kw, g*oh*ow)  IN
    dX  : (g, c_in, h, w)        OUT  (the reverse of _im2col)
    """
    cdef Py_ssize_t c_in = L.c_in, h = L.h, w = L.w, oh = L.oh, ow = L.ow
    cdef Py_ssize_t kh = L.kh, kw = L.kw, sh = L.sh, sw = L.sw
    cdef Py_ssize_t ph = L.ph, pw = L.pw, P = oh * ow, N = g * P
    cdef Py_ssize_t ci, ky, kx, j, oy, ox, oy_lo, oy_hi, ox_lo, ox_hi, ix0
    cdef floating* dxrow
    cdef const floating* c
    memset(dX, 0, g * c_in * h * w * sizeof(floating))
    for ci in range(c_in):
        for ky in range(kh):
            _valid(ky, h, sh, ph, oh, &oy_lo, &oy_hi)
            for kx in range(kw):
                _valid(kx, w, sw, pw, ow, &ox_lo, &ox_hi)
                ix0 = kx - pw
                for j in range(g):
                    c = col + ((ci * kh + ky) * kw + kx) * N + j * P
                    for oy in range(oy_lo, oy_hi):
                        dxrow = dX + ((j * c_in + ci) * h + oy * sh - ph + ky) * w
                        for ox in range(ox_lo, ox_hi):
                            dxrow[ox * sw + ix0] += c[oy * ow + ox]


cdef void _conv_forward(const floating* X, const floating* W,
                        const floating* b, floating* out, Py_ssize_t m,
                        const Layer* L, int act, floating* col,
                        floating* tmp, bint whole) noexcept nogil:
    """out := act(conv(X, W) + b)

    X   : (m, c_in, h, w)         IN
    W   : (c_out, c_in, kh, kw)   IN
    b   : (c_out,)                IN
    out : (m, c_out, oh, ow)      OUT
    col, tmp : scratch of the BLAS path (see the workspace)
    """
    cdef Py_ssize_t P = L.oh * L.ow, K = L.c_in * L.kh * L.kw
    cdef Py_ssize_t start, g, N, j, co, p
    cdef floating* o
    cdef floating* prod
    cdef const floating* t
    cdef floating bias
    if not _conv_uses_blas(L, m):
        _conv_forward_direct(X, W, b, out, m, L)
    else:
        start = 0
        while start < m:
            g = min(L.group, m - start)
            N = g * P
            _im2col(X + start * L.n_in, col, g, L)
            # prod (c_out, N) = W (c_out, K) @ col (K, N); BLAS sees transposes.
            # One sample's product is already in the output's layout.
            prod = out + start * L.n_out if g == 1 else tmp
            _gemm(False, False, <int>N, <int>L.c_out, <int>K, <floating>1.0,
                  col, <int>N, W, <int>K, <floating>0.0, prod, <int>N, whole)
            for j in range(g):
                for co in range(L.c_out):
                    o = out + ((start + j) * L.c_out + co) * P
                    t = prod + co * N + j * P
                    bias = b[co]
                    for p in range(P):
                        o[p] = t[p] + bias
            start += g
    _activate_rows(out, m, L.n_out, act)


cdef void _conv_backward(const floating* X, const floating* W,
                         const floating* delta, floating* dW, floating* db,
                         floating* dX, const floating* A_prev, int act_prev,
                         Py_ssize_t m, const Layer* L, floating* col,
                         floating* tmp, bint whole) noexcept nogil:
    """dW := sum_i delta_i (*) X_i;  db := sum(delta);  dX := (W^T (*) delta) * act'(A_prev)

    X      : (m, c_in, h, w)        IN   the layer's input (= A_prev unless first)
    W      : (c_out, c_in, kh, kw)  IN
    delta  : (m, c_out, oh, ow)     IN   dL/dZ of this layer
    dW, db :                        OUT
    dX     : (m, c_in, h, w)        OUT  dL/dZ of the previous layer; skipped if NULL
    """
    cdef Py_ssize_t P = L.oh * L.ow, K = L.c_in * L.kh * L.kw
    cdef Py_ssize_t start, g, N, j, co, p
    cdef floating* t
    cdef const floating* d
    cdef const floating* dg
    if not _conv_uses_blas(L, m):
        _conv_backward_direct(X, W, delta, dW, db, dX, m, L)
    else:
        for co in range(L.c_out):
            db[co] = 0
        start = 0
        while start < m:
            g = min(L.group, m - start)
            N = g * P
            # dg (c_out, N): this group's delta, channel-major (one sample's
            # delta already is)
            if g == 1:
                dg = delta + start * L.n_out
            else:
                for j in range(g):
                    for co in range(L.c_out):
                        d = delta + ((start + j) * L.c_out + co) * P
                        t = tmp + co * N + j * P
                        for p in range(P):
                            t[p] = d[p]
                dg = tmp
            for co in range(L.c_out):
                db[co] += _sum(dg + co * N, N)
            _im2col(X + start * L.n_in, col, g, L)
            # dW (c_out, K) (+)= dg (c_out, N) @ col^T (N, K)
            _gemm(True, False, <int>K, <int>L.c_out, <int>N, <floating>1.0,
                  col, <int>N, dg, <int>N,
                  <floating>(0.0 if start == 0 else 1.0), dW, <int>K, whole)
            if dX != NULL:
                # col (K, N) := W^T (K, c_out) @ dg (c_out, N), then fold back
                _gemm(False, True, <int>N, <int>K, <int>L.c_out, <floating>1.0,
                      dg, <int>N, W, <int>K, <floating>0.0, col, <int>N, whole)
                _col2im(col, dX + start * L.n_in, g, L)
            start += g
    if dX != NULL:
        _times_act_grad(dX, A_prev, m * L.n_in, act_prev)


# ------------------------------------------------------------ pooling
cdef void _pool_forward(const floating* X, floating* out, Py_ssize_t m,
                        const Layer* L) noexcept nogil:
    """out := max (or mean) of X over non-overlapping kh x kw windows

    X   : (m, c, h, w)     IN
    out : (m, c, oh, ow)   OUT  (oh = h // kh, ow = w // kw)

    Max: the first maximum in row-major window order, NaN winning, as
    torch.nn.MaxPool2d. Mean: the window's sum divided by kh*kw.
    """
    cdef Py_ssize_t h = L.h, w = L.w, oh = L.oh, ow = L.ow, kh = L.kh, kw = L.kw
    cdef Py_ssize_t q, oy, ox, dy, dx
    cdef bint is_max = L.kind == MAXPOOL, nan
    cdef const floating* x
    cdef const floating* win
    cdef floating* o
    cdef floating best, v, s
    cdef floating area = <floating>(kh * kw)
    for q in range(m * L.c_in):
        x = X + q * h * w
        o = out + q * oh * ow
        for oy in range(oh):
            for ox in range(ow):
                win = x + oy * kh * w + ox * kw
                if is_max:
                    best = win[0]
                    nan = False
                    for dy in range(kh):
                        for dx in range(kw):
                            v = win[dy * w + dx]
                            best = v if v > best else best     # a max, no branch
                            nan = nan | (v != v)
                    o[oy * ow + ox] = best if not nan else <floating>NAN
                else:
                    s = 0
                    for dy in range(kh):
                        for dx in range(kw):
                            s += win[dy * w + dx]
                    o[oy * ow + ox] = s / area


cdef void _pool_backward(const floating* X, const floating* delta,
                         floating* dX, int act_prev, Py_ssize_t m,
                         const Layer* L) noexcept nogil:
    """dX := delta routed back through the windows, times act'(X)

    X     : (m, c, h, w)     IN   the layer's input (= A_prev)
    delta : (m, c, oh, ow)   IN
    dX    : (m, c, h, w)     OUT  max: all to the window's first maximum;
                                  mean: delta / (kh*kw) to every pixel;
                                  0 where no window reaches (floor)
    """
    cdef Py_ssize_t h = L.h, w = L.w, oh = L.oh, ow = L.ow, kh = L.kh, kw = L.kw
    cdef Py_ssize_t q, oy, ox, dy, dx, at, arg
    cdef bint is_max = L.kind == MAXPOOL, take, nan
    cdef const floating* x
    cdef const floating* d
    cdef floating* g
    cdef floating best, v, share
    cdef floating area = <floating>(kh * kw)
    memset(dX, 0, m * L.n_in * sizeof(floating))
    for q in range(m * L.c_in):
        x = X + q * h * w
        d = delta + q * oh * ow
        g = dX + q * h * w
        for oy in range(oh):
            for ox in range(ow):
                at = oy * kh * w + ox * kw
                if is_max:
                    arg = at
                    best = x[at]
                    nan = False
                    for dy in range(kh):
                        for dx in range(kw):
                            v = x[at + dy * w + dx]
                            take = v > best
                            best = v if take else best
                            arg = at + dy * w + dx if take else arg
                            nan = nan | (v != v)
                    if nan:     # rare: the rule with NaN winning, as torch
                        arg = at
                        best = x[at]
                        for dy in range(kh):
                            for dx in range(kw):
                                v = x[at + dy * w + dx]
                                if v > best or v != v:
                                    best = v
                                    arg = at + dy * w + dx
                    g[arg] = d[oy * ow + ox]
                else:
                    share = d[oy * ow + ox] / area
                    for dy in range(kh):
                        for dx in range(kw):
                            g[at + dy * w + dx] = share
    _times_act_grad(dX, X, m * L.n_in, act_prev)
