# cython: language_level=3
"""The compiled core of fastnn: unchecked, GIL-free loops.

Design
------
The Python layer (``network.py``) validates every user input once
(``_validation.py``), converts it to a C-contiguous array of the model's
dtype, and allocates every buffer. The functions here trust their caller:
they never allocate inside a loop and never check values. Each ``def`` entry
point does check the *structure* it is handed (buffer sizes against the
layer table) before it enters a loop, so that no loop can index past a
buffer; nothing else is checked.

One source serves float32 and float64 through the fused type ``floating``.

A network is described by a layer table ``spec`` of int64, one row per layer
(``SPEC_WIDTH`` columns)::

    kind, act, n_in, n_out, w_off, w_size, b_off, b_size, p0 .. p7

``n_in``/``n_out`` count the features of one sample (a convolution's
``c*h*w``); ``w_off``/``b_off`` index the flat parameter buffer, in which the
layers' parameters lie one after another. ``p0 .. p7`` are room for the
geometry of layers other than dense ones.

The workspace ``work`` of a batch of ``m`` rows holds, in this order, the
gathered input (``m * n_in`` of the first layer), each layer's output
(``m * n_out``) and two delta buffers (``m * max width``); see
``workspace_size``. Hidden outputs are stored after their activation; the
output layer is stored as logits while training, so that the loss can be
computed stably from them.
"""

cimport cython
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport exp, log, log1p, sqrt, tanh, fabs, isfinite, INFINITY
from libc.string cimport memcpy, memset
from libc.stdint cimport uint64_t, int64_t

from scipy.linalg.cython_blas cimport sgemm, dgemm

from cython cimport floating

# ---------------------------------------------------------------- constants
# Layer kinds
cdef enum:
    DENSE = 0

# Activations
cdef enum:
    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    SOFTMAX = 4
    STEP = 5

# Losses
cdef enum:
    MSE = 0
    CROSS_ENTROPY = 1
    BINARY_CROSS_ENTROPY = 2

# Optimizers
cdef enum:
    OPT_SGD = 0
    OPT_ADAM = 1

# Status of a training call
cdef enum:
    STATUS_OK = 0
    STATUS_DIVERGED = 1

# Hyperparameter slots of the optimizer vector ``hyper``
cdef enum:
    H_LR = 0
    H_MOMENTUM = 1
    H_DAMPENING = 2
    H_NESTEROV = 3
    H_WEIGHT_DECAY = 4
    H_BETA1 = 5
    H_BETA2 = 6
    H_EPS = 7
    N_HYPER = 16

# Columns of the layer table
cdef enum:
    C_KIND = 0
    C_ACT = 1
    C_NIN = 2
    C_NOUT = 3
    C_WOFF = 4
    C_WSIZE = 5
    C_BOFF = 6
    C_BSIZE = 7
    SPEC_WIDTH = 16

cdef enum:
    MAX_LAYERS = 64

# Products with at least this many multiply-adds go to BLAS; smaller ones
# run as plain loops, where the call overhead of BLAS would dominate.
cdef Py_ssize_t BLAS_MIN_MACS = 32768

# Exported for the Python layer.
ACTIVATIONS = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH,
               "relu": RELU, "softmax": SOFTMAX, "step": STEP}
LOSSES = {"mse": MSE, "cross_entropy": CROSS_ENTROPY,
          "binary_cross_entropy": BINARY_CROSS_ENTROPY}
LAYER_KINDS = {"dense": DENSE}
OPTIMIZERS = {"sgd": OPT_SGD, "adam": OPT_ADAM}
HYPER_SLOTS = {"lr": H_LR, "momentum": H_MOMENTUM, "dampening": H_DAMPENING,
               "nesterov": H_NESTEROV, "weight_decay": H_WEIGHT_DECAY,
               "beta1": H_BETA1, "beta2": H_BETA2, "eps": H_EPS}
N_HYPER_SLOTS = N_HYPER
SPEC_COLUMNS = SPEC_WIDTH
DIVERGED = STATUS_DIVERGED


cdef struct Layer:
    int kind
    int act
    Py_ssize_t n_in
    Py_ssize_t n_out
    Py_ssize_t w_off
    Py_ssize_t b_off
    Py_ssize_t out_off      # this layer's output in the workspace


cdef struct Net:
    int n_layers
    Py_ssize_t in_off       # gathered input in the workspace
    Py_ssize_t delta_a      # the two delta buffers in the workspace
    Py_ssize_t delta_b
    Layer layers[MAX_LAYERS]


# ------------------------------------------------------------ layer table
cdef Py_ssize_t _max_width(const int64_t[:, ::1] spec):
    cdef Py_ssize_t l, w = 0
    for l in range(spec.shape[0]):
        w = max(w, <Py_ssize_t>spec[l, C_NIN], <Py_ssize_t>spec[l, C_NOUT])
    return w


def workspace_size(const int64_t[:, ::1] spec, Py_ssize_t batch_size):
    """size := m * (n_in_0 + sum(n_out) + 2 * max width)"""
    cdef Py_ssize_t l, total
    total = batch_size * <Py_ssize_t>spec[0, C_NIN]
    for l in range(spec.shape[0]):
        total += batch_size * <Py_ssize_t>spec[l, C_NOUT]
    return total + 2 * batch_size * _max_width(spec)


cdef int _load_net(Net* net, const int64_t[:, ::1] spec, Py_ssize_t n_params,
                   Py_ssize_t m, Py_ssize_t work_size) except -1:
    """Fill ``net`` from the layer table, checking that every offset fits."""
    cdef Py_ssize_t l, off, n_in, n_out
    cdef Layer* L
    if spec.shape[0] < 1 or spec.shape[0] > MAX_LAYERS:
        raise ValueError(f"a network has 1 to {MAX_LAYERS} layers, got {spec.shape[0]}")
    if spec.shape[1] != SPEC_WIDTH:
        raise ValueError(f"layer table must have {SPEC_WIDTH} columns")
    net.n_layers = <int>spec.shape[0]
    net.in_off = 0
    off = m * <Py_ssize_t>spec[0, C_NIN]
    for l in range(net.n_layers):
        L = &net.layers[l]
        L.kind = <int>spec[l, C_KIND]
        L.act = <int>spec[l, C_ACT]
        n_in = <Py_ssize_t>spec[l, C_NIN]
        n_out = <Py_ssize_t>spec[l, C_NOUT]
        L.n_in = n_in
        L.n_out = n_out
        L.w_off = <Py_ssize_t>spec[l, C_WOFF]
        L.b_off = <Py_ssize_t>spec[l, C_BOFF]
        if L.kind != DENSE:
            raise ValueError(f"layer {l}: unknown layer kind {L.kind}")
        if L.act < IDENTITY or L.act > STEP:
            raise ValueError(f"layer {l}: unknown activation code {L.act}")
        if n_in < 1 or n_out < 1:
            raise ValueError(f"layer {l}: sizes must be positive")
        if l > 0 and n_in != net.layers[l - 1].n_out:
            raise ValueError(f"layer {l}: n_in {n_in} does not match the "
                             f"previous layer's n_out {net.layers[l - 1].n_out}")
        if (spec[l, C_WSIZE] != n_in * n_out or spec[l, C_BSIZE] != n_out
                or L.w_off < 0 or L.b_off < 0
                or L.w_off + n_in * n_out > n_params
                or L.b_off + n_out > n_params):
            raise ValueError(f"layer {l}: parameters do not fit the buffer")
        L.out_off = off
        off += m * n_out
    net.delta_a = off
    off += m * _max_width(spec)
    net.delta_b = off
    off += m * _max_width(spec)
    if off > work_size:
        raise ValueError(f"workspace too small: {work_size} < {off}")
    return 0


# ------------------------------------------------------------ BLAS
cdef inline void _gemm(bint ta, bint tb, int M, int N, int K,
                       floating alpha, const floating* A, int lda,
                       const floating* B, int ldb, floating beta,
                       floating* C, int ldc) noexcept nogil:
    """C := alpha * op(A) @ op(B) + beta * C, column-major (BLAS order)."""
    cdef char transa = 84 if ta else 78    # 'T' or 'N'
    cdef char transb = 84 if tb else 78
    if floating is float:
        sgemm(&transa, &transb, &M, &N, &K, &alpha, <float*>A, &lda,
              <float*>B, &ldb, &beta, C, &ldc)
    else:
        dgemm(&transa, &transb, &M, &N, &K, &alpha, <double*>A, &lda,
              <double*>B, &ldb, &beta, C, &ldc)


# ------------------------------------------------------------ activations
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
        for i in range(n):
            if a[i] < 0:
                a[i] = 0
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
            s = 0
            for j in range(k):
                z = exp(a[i * k + j] - mx)
                a[i * k + j] = z
                s += z
            for j in range(k):
                a[i * k + j] = <floating>(a[i * k + j] / s)


cdef inline floating _act_grad(floating a, int act) noexcept nogil:
    """act'(z) written through the activation's output a = act(z)."""
    if act == RELU:
        return 1 if a > 0 else 0
    elif act == SIGMOID:
        return a * (1 - a)
    elif act == TANH:
        return 1 - a * a
    return 1


# ------------------------------------------------------------ dense layer
cdef void _dense_forward(const floating* X, const floating* W,
                         const floating* b, floating* out, Py_ssize_t m,
                         Py_ssize_t n_in, Py_ssize_t n_out,
                         int act) noexcept nogil:
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
    if m * n_in * n_out >= BLAS_MIN_MACS:
        # out^T = W^T X^T in BLAS's column-major view.
        _gemm(False, False, <int>n_out, <int>m, <int>n_in, <floating>1.0,
              W, <int>n_out, X, <int>n_in, <floating>0.0, out, <int>n_out)
        for i in range(m):
            o = out + i * n_out
            for j in range(n_out):
                o[j] += b[j]
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


cdef void _dense_backward(const floating* X, const floating* W,
                          const floating* delta, floating* dW,
                          floating* db, floating* dX, const floating* A_prev,
                          int act_prev, Py_ssize_t m, Py_ssize_t n_in,
                          Py_ssize_t n_out) noexcept nogil:
    """dW := X^T @ delta;  db := sum(delta, 0);  dX := (delta @ W^T) * act'(A_prev)

    X      : (m, n_in)      IN   the layer's input (= A_prev unless first)
    W      : (n_in, n_out)  IN
    delta  : (m, n_out)     IN   dL/dZ of this layer
    dW, db :                OUT
    dX     : (m, n_in)      OUT  dL/dZ of the previous layer; skipped if NULL
    """
    cdef Py_ssize_t i, j, k
    cdef floating xk, s
    cdef floating* dw
    cdef const floating* d
    cdef const floating* w
    cdef bint big = m * n_in * n_out >= BLAS_MIN_MACS
    # db
    for j in range(n_out):
        db[j] = 0
    for i in range(m):
        d = delta + i * n_out
        for j in range(n_out):
            db[j] += d[j]
    # dW
    if big:
        _gemm(False, True, <int>n_out, <int>n_in, <int>m, <floating>1.0,
              delta, <int>n_out, X, <int>n_in, <floating>0.0, dW, <int>n_out)
    else:
        memset(dW, 0, n_in * n_out * sizeof(floating))
        for i in range(m):
            d = delta + i * n_out
            for k in range(n_in):
                xk = X[i * n_in + k]
                dw = dW + k * n_out
                for j in range(n_out):
                    dw[j] += xk * d[j]
    if dX == NULL:
        return
    # dX
    if big:
        _gemm(True, False, <int>n_in, <int>m, <int>n_out, <floating>1.0,
              W, <int>n_out, delta, <int>n_out, <floating>0.0, dX, <int>n_in)
        if act_prev != IDENTITY:
            for i in range(m * n_in):
                dX[i] *= _act_grad(A_prev[i], act_prev)
    else:
        for i in range(m):
            d = delta + i * n_out
            for k in range(n_in):
                w = W + k * n_out
                s = 0
                for j in range(n_out):
                    s += d[j] * w[j]
                dX[i * n_in + k] = s * _act_grad(A_prev[i * n_in + k], act_prev)


# ------------------------------------------------------------ losses
cdef double _loss_delta(const floating* Z, Py_ssize_t m, Py_ssize_t k,
                        int loss, int act, const int64_t* labels,
                        const floating* Y, const int64_t* idx,
                        floating* delta) noexcept nogil:
    """loss := mean loss of act(Z) against the targets;  delta := dloss/dZ

    Z      : (m, k)   IN   logits of the output layer
    labels : (n,)     IN   class labels (cross-entropy), row idx[i] for row i
    Y      : (n, k)   IN   targets (mse, binary cross-entropy), row idx[i]
    idx    : (m,)     IN   rows of the targets; NULL means 0 .. m-1
    delta  : (m, k)   OUT  (NULL: loss only)
    """
    cdef Py_ssize_t i, j, r
    cdef double total = 0, s, mx, lse, z, t, a, g, ga
    cdef double inv
    cdef const floating* zrow
    if loss == CROSS_ENTROPY:
        inv = 1.0 / m
        for i in range(m):
            r = idx[i] if idx != NULL else i
            zrow = Z + i * k
            mx = zrow[0]
            for j in range(1, k):
                if zrow[j] > mx:
                    mx = zrow[j]
            s = 0
            for j in range(k):
                s += exp(zrow[j] - mx)
            lse = mx + log(s)
            total += lse - zrow[labels[r]]
            if delta != NULL:
                for j in range(k):
                    delta[i * k + j] = <floating>(exp(zrow[j] - mx) / s * inv)
                delta[i * k + labels[r]] -= <floating>inv
        return total / m
    inv = 1.0 / (m * k)
    if loss == BINARY_CROSS_ENTROPY:
        for i in range(m):
            r = idx[i] if idx != NULL else i
            for j in range(k):
                z = Z[i * k + j]
                t = Y[r * k + j]
                total += (z if z > 0 else 0) - z * t + log1p(exp(-fabs(z)))
                if delta != NULL:
                    delta[i * k + j] = <floating>((_sigmoid(z) - t) * inv)
        return total * inv
    # MSE through any output activation: a = act(z); dL/da = 2 (a - y) / (m k)
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


# ------------------------------------------------------------ whole passes
cdef void _forward(Net* net, const floating* params, const floating* X,
                   Py_ssize_t m, floating* work, bint logits) noexcept nogil:
    """Every layer's output for m rows of X; the last as logits if asked."""
    cdef int l, act
    cdef const floating* inp = X
    cdef Layer* L
    for l in range(net.n_layers):
        L = &net.layers[l]
        act = L.act
        if logits and l == net.n_layers - 1:
            act = IDENTITY
        _dense_forward(inp, params + L.w_off, params + L.b_off,
                       work + L.out_off, m, L.n_in, L.n_out, act)
        inp = work + L.out_off


cdef void _backward(Net* net, const floating* params, const floating* X,
                    Py_ssize_t m, floating* work, floating* grads) noexcept nogil:
    """Gradients of every parameter, from delta (dL/dZ of the output layer)
    waiting in the workspace's first delta buffer."""
    cdef int l
    cdef Layer* L
    cdef floating* delta = work + net.delta_a
    cdef floating* other = work + net.delta_b
    cdef floating* tmp
    cdef const floating* inp
    for l in range(net.n_layers - 1, -1, -1):
        L = &net.layers[l]
        inp = X if l == 0 else work + net.layers[l - 1].out_off
        _dense_backward(inp, params + L.w_off, delta, grads + L.w_off,
                        grads + L.b_off, other if l > 0 else NULL, inp,
                        net.layers[l - 1].act if l > 0 else IDENTITY,
                        m, L.n_in, L.n_out)
        tmp = delta
        delta = other
        other = tmp


# ------------------------------------------------------------ optimizers
cdef void _update(int kind, const double* h, int64_t t, floating* params,
                  const floating* grads, floating* state,
                  Py_ssize_t n) noexcept nogil:
    """params := params - step(grads), exactly torch.optim's rules.

    t is the number of steps taken before this one; state holds the
    optimizer's buffers (momentum for SGD; exp_avg then exp_avg_sq for Adam)
    laid out as the parameters are.
    """
    cdef Py_ssize_t p
    cdef floating g, buf, m1, v, denom
    cdef floating lr = <floating>h[H_LR]
    cdef floating wd = <floating>h[H_WEIGHT_DECAY]
    cdef floating mom = <floating>h[H_MOMENTUM]
    cdef floating damp = <floating>(1.0 - h[H_DAMPENING])
    cdef bint nesterov = h[H_NESTEROV] != 0
    cdef floating b1, b2, w1, eps, step_size, bc2_sqrt
    cdef floating* m_state
    cdef floating* v_state
    if kind == OPT_SGD:
        for p in range(n):
            g = grads[p]
            if wd != 0:
                g = g + wd * params[p]
            if mom != 0:
                if t == 0:
                    buf = g
                else:
                    buf = mom * state[p] + damp * g
                state[p] = buf
                if nesterov:
                    g = g + mom * buf
                else:
                    g = buf
            params[p] = params[p] - lr * g
    elif kind == OPT_ADAM:
        b1 = <floating>h[H_BETA1]
        b2 = <floating>h[H_BETA2]
        eps = <floating>h[H_EPS]
        w1 = 1 - b1
        step_size = <floating>(h[H_LR] / (1.0 - h[H_BETA1] ** (t + 1)))
        bc2_sqrt = <floating>sqrt(1.0 - h[H_BETA2] ** (t + 1))
        m_state = state
        v_state = state + n
        for p in range(n):
            g = grads[p]
            if wd != 0:
                g = g + wd * params[p]
            # torch's lerp: m + w (g - m) for w < 0.5, else g - (g - m)(1 - w)
            if w1 < 0.5:
                m1 = m_state[p] + w1 * (g - m_state[p])
            else:
                m1 = g - (g - m_state[p]) * (1 - w1)
            m_state[p] = m1
            v = v_state[p] * b2 + (1 - b2) * g * g
            v_state[p] = v
            denom = sqrt(v) / bc2_sqrt + eps
            params[p] = params[p] - step_size * (m1 / denom)


def optimizer_state_size(int kind, Py_ssize_t n_params):
    """Number of state values an optimizer keeps for n_params parameters."""
    if kind == OPT_SGD:
        return n_params
    if kind == OPT_ADAM:
        return 2 * n_params
    raise ValueError(f"unknown optimizer code {kind}")


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


# ------------------------------------------------------------ entry points
def forward(const int64_t[:, ::1] spec,
            const floating[::1] params,       # IN  (n_params,)
            const floating[:, ::1] X,         # IN  (n, n_in)
            floating[:, ::1] out,             # OUT (n, n_out)
            floating[::1] work,               # workspace for `chunk` rows
            Py_ssize_t chunk):
    """out := network(X), the output layer's activation, chunk rows at a time."""
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], start, m, n_out
    _load_net(&net, spec, params.shape[0], chunk, work.shape[0])
    n_out = net.layers[net.n_layers - 1].n_out
    if X.shape[1] != net.layers[0].n_in or out.shape[0] != n or out.shape[1] != n_out:
        raise ValueError("forward: X or out does not match the network")
    if n == 0:
        return
    with nogil:
        start = 0
        while start < n:
            m = min(chunk, n - start)
            _forward(&net, &params[0], &X[start, 0], m, &work[0], False)
            memcpy(&out[start, 0], &work[net.layers[net.n_layers - 1].out_off],
                   m * n_out * sizeof(floating))
            start += m


cdef void _check_targets(Net* net, int loss, Py_ssize_t n, Py_ssize_t n_labels,
                         Py_ssize_t y_rows, Py_ssize_t y_cols) except *:
    cdef Py_ssize_t k = net.layers[net.n_layers - 1].n_out
    if loss == CROSS_ENTROPY:
        if n_labels != n:
            raise ValueError("labels do not match X")
    elif loss == MSE or loss == BINARY_CROSS_ENTROPY:
        if y_rows != n or y_cols != k:
            raise ValueError("targets do not match X and the output layer")
    else:
        raise ValueError(f"unknown loss code {loss}")


def loss_value(const int64_t[:, ::1] spec, int loss,
               const floating[::1] params,     # IN (n_params,)
               const floating[:, ::1] X,       # IN (n, n_in)
               const int64_t[::1] labels,      # IN (n,) or empty
               const floating[:, ::1] Y,       # IN (n, k) or (0, k)
               floating[::1] work, Py_ssize_t chunk):
    """loss := mean loss of the network on (X, targets)"""
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], start, m, k
    cdef double total = 0
    cdef Layer* last
    _load_net(&net, spec, params.shape[0], chunk, work.shape[0])
    _check_targets(&net, loss, n, labels.shape[0], Y.shape[0], Y.shape[1])
    if X.shape[1] != net.layers[0].n_in or n == 0:
        raise ValueError("loss_value: X does not match the network")
    last = &net.layers[net.n_layers - 1]
    k = last.n_out
    with nogil:
        start = 0
        while start < n:
            m = min(chunk, n - start)
            _forward(&net, &params[0], &X[start, 0], m, &work[0], True)
            total += m * _loss_delta(
                &work[last.out_off], m, k, loss, last.act,
                &labels[start] if loss == CROSS_ENTROPY else NULL,
                &Y[start, 0] if loss != CROSS_ENTROPY else NULL,
                NULL, NULL)
            start += m
    return total / n


def loss_and_grad(const int64_t[:, ::1] spec, int loss,
                  const floating[::1] params,  # IN  (n_params,)
                  const floating[:, ::1] X,    # IN  (n, n_in)
                  const int64_t[::1] labels,   # IN  (n,) or empty
                  const floating[:, ::1] Y,    # IN  (n, k) or (0, k)
                  floating[::1] grads,         # OUT (n_params,)
                  floating[::1] work):         # workspace for n rows
    """loss, grads := mean loss on the batch, its gradient w.r.t. params"""
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], k
    cdef double value
    cdef Layer* last
    _load_net(&net, spec, params.shape[0], n, work.shape[0])
    _check_targets(&net, loss, n, labels.shape[0], Y.shape[0], Y.shape[1])
    if X.shape[1] != net.layers[0].n_in or n == 0 or grads.shape[0] != params.shape[0]:
        raise ValueError("loss_and_grad: X or grads does not match the network")
    last = &net.layers[net.n_layers - 1]
    k = last.n_out
    with nogil:
        _forward(&net, &params[0], &X[0, 0], n, &work[0], True)
        value = _loss_delta(&work[last.out_off], n, k, loss, last.act,
                            &labels[0] if loss == CROSS_ENTROPY else NULL,
                            &Y[0, 0] if loss != CROSS_ENTROPY else NULL,
                            NULL, &work[net.delta_a])
        _backward(&net, &params[0], &X[0, 0], n, &work[0], &grads[0])
    return value


def train(const int64_t[:, ::1] spec, int loss,
          floating[::1] params,            # IN/OUT (n_params,)
          floating[::1] grads,             # scratch (n_params,)
          int opt_kind,
          const double[::1] hyper,         # IN  (N_HYPER_SLOTS,)
          floating[::1] opt_state,         # IN/OUT optimizer buffers
          const floating[:, ::1] X,        # IN  (n, n_in)
          const int64_t[::1] labels,       # IN  (n,) or empty
          const floating[:, ::1] Y,        # IN  (n, k) or (0, k)
          Py_ssize_t batch_size, Py_ssize_t n_epochs, bint shuffle,
          uint64_t[::1] rng_state,         # IN/OUT (4,) xoshiro256** state
          int64_t[::1] order,              # scratch (n,)
          floating[::1] work,              # workspace for batch_size rows
          double[::1] step_loss,           # OUT (n_epochs * steps per epoch,)
          floating[:, ::1] trace,          # OUT (steps, n_params) or (0, n_params)
          int64_t[::1] counters,           # IN/OUT [steps done, optimizer t, status]
          Py_ssize_t check_every,
          Py_ssize_t max_steps):           # stop after this many steps (<= epochs * steps)
    """Train n_epochs epochs: per batch gather, forward, loss, backward, update.

    The whole loop runs without the GIL, taking it only every
    ``check_every`` steps to let Python see a pending signal (Ctrl-C); a
    KeyboardInterrupt then leaves the loop between two steps. ``counters``
    is kept current after every step, so the caller always knows how far
    the run went. A non-finite batch loss stops the loop before its update
    with status DIVERGED.
    """
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], n_params = params.shape[0]
    cdef Py_ssize_t steps_per_epoch, epoch, s, start, m, i, k, n_in, step
    cdef Py_ssize_t since_check = 0, total_steps
    cdef const floating* xb
    cdef floating* xbuf
    cdef const int64_t* idx
    cdef double value
    cdef bint record = trace.shape[0] > 0
    cdef Layer* last
    cdef uint64_t* rs = &rng_state[0]

    if n == 0 or batch_size < 1 or n_epochs < 0 or check_every < 1 or max_steps < 0:
        raise ValueError("train: empty data, batch_size < 1 or n_epochs < 0")
    batch_size = min(batch_size, n)
    _load_net(&net, spec, n_params, batch_size, work.shape[0])
    _check_targets(&net, loss, n, labels.shape[0], Y.shape[0], Y.shape[1])
    last = &net.layers[net.n_layers - 1]
    k = last.n_out
    n_in = net.layers[0].n_in
    steps_per_epoch = (n + batch_size - 1) // batch_size
    total_steps = min(steps_per_epoch * n_epochs, max_steps)
    if (X.shape[1] != n_in or grads.shape[0] != n_params
            or hyper.shape[0] != N_HYPER or order.shape[0] != n
            or rng_state.shape[0] != 4 or counters.shape[0] != 3
            or step_loss.shape[0] < total_steps
            or opt_state.shape[0] < optimizer_state_size(opt_kind, n_params)
            or (record and (trace.shape[0] < total_steps
                            or trace.shape[1] != n_params))):
        raise ValueError("train: a buffer does not match the network or the run")
    counters[0] = 0
    counters[2] = STATUS_OK
    if total_steps == 0:
        return
    xbuf = &work[net.in_off]
    for i in range(n):
        order[i] = i
    with nogil:
        step = 0
        for epoch in range(n_epochs):
            if shuffle:
                _permute(&order[0], n, rs)
            for s in range(steps_per_epoch):
                if step >= total_steps:
                    break
                start = s * batch_size
                m = min(batch_size, n - start)
                idx = &order[start]
                if shuffle:
                    for i in range(m):
                        memcpy(xbuf + i * n_in, &X[idx[i], 0],
                               n_in * sizeof(floating))
                    xb = xbuf
                else:
                    xb = &X[start, 0]
                _forward(&net, &params[0], xb, m, &work[0], True)
                value = _loss_delta(&work[last.out_off], m, k, loss, last.act,
                                    &labels[0] if loss == CROSS_ENTROPY else NULL,
                                    &Y[0, 0] if loss != CROSS_ENTROPY else NULL,
                                    idx, &work[net.delta_a])
                if not isfinite(value):
                    counters[2] = STATUS_DIVERGED
                    break
                step_loss[step] = value
                _backward(&net, &params[0], xb, m, &work[0], &grads[0])
                _update(opt_kind, &hyper[0], counters[1], &params[0],
                        &grads[0], &opt_state[0], n_params)
                if record:
                    memcpy(&trace[step, 0], &params[0], n_params * sizeof(floating))
                step += 1
                counters[0] = step
                counters[1] += 1
                since_check += 1
                if since_check >= check_every:
                    since_check = 0
                    with gil:
                        PyErr_CheckSignals()
            if counters[2] != STATUS_OK or step >= total_steps:
                break


def update(int opt_kind, const double[::1] hyper, int64_t t,
           floating[::1] params, const floating[::1] grads,
           floating[::1] opt_state):
    """params := one optimizer step from grads (t steps taken before)."""
    cdef Py_ssize_t n = params.shape[0]
    if (grads.shape[0] != n or hyper.shape[0] != N_HYPER
            or opt_state.shape[0] < optimizer_state_size(opt_kind, n)):
        raise ValueError("update: buffers do not match")
    with nogil:
        _update(opt_kind, &hyper[0], t, &params[0], &grads[0], &opt_state[0], n)
