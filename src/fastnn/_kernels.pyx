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
layers' parameters lie one after another. ``p0 .. p7`` hold the geometry of
the image layers, whose samples are ``(c, h, w)`` row-major (PyTorch's NCHW
order per row):

    CONV2D   p0..p7 = h, w, kh, kw, sh, sw, ph, pw    (input height/width,
             kernel, stride, zero padding); c_in = n_in / (h*w), c_out =
             b_size, W of shape (c_out, c_in, kh, kw)
    MAXPOOL, AVGPOOL   p0..p3 = h, w, kh, kw    (windows kh x kw, stride =
             window, output floor(h/kh) x floor(w/kw)); no parameters
    FLATTEN  no geometry, no parameters: a copy (the layout is already flat)

``_load_net`` derives every other size from these and refuses a table whose
sizes do not agree, so no loop can index past a buffer.

The workspace ``work`` of a batch of ``m`` rows holds, in this order, the
gathered input (``m * n_in`` of the first layer), each layer's output
(``m * n_out``), two delta buffers (``m * max width``), and the scratch of
the convolutions that go through BLAS: the unfolded input (im2col, ``K x
g*P`` for ``K = c_in*kh*kw`` and ``P`` output pixels, ``g`` samples at a
time) and the product in channel-major order (``c_out x g*P``); see
``workspace_size``. Hidden outputs are stored after their activation; the
output layer is stored as logits while training, so that the loss can be
computed stably from them.
"""

cimport cython
from cython.parallel cimport prange
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport exp, log, log1p, sqrt, tanh, fabs, isfinite, INFINITY, NAN
from libc.float cimport FLT_MAX, DBL_MAX
from libc.string cimport memcpy, memset
from libc.stdint cimport uint64_t, int64_t

from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define _fastnn_prefetch(p) __builtin_prefetch((const void *)(p))
    #else
    #define _fastnn_prefetch(p) ((void)0)
    #endif
    """
    void _prefetch "_fastnn_prefetch"(const void* p) noexcept nogil

import numpy as np

from cython cimport floating

# ---------------------------------------------------------------- constants
# Layer kinds
cdef enum:
    DENSE = 0
    CONV2D = 1
    MAXPOOL = 2
    AVGPOOL = 3
    FLATTEN = 4
    DROPOUT = 5

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
    OPT_ADAGRAD = 2
    OPT_RMSPROP = 3
    OPT_RPROP = 4

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
    H_LR_DECAY = 8
    H_ALPHA = 9
    H_CENTERED = 10
    H_ETA_MINUS = 11
    H_ETA_PLUS = 12
    H_STEP_MIN = 13
    H_STEP_MAX = 14
    H_L2 = 15              # weights-only L2, scaled by 1 / batch rows
    H_VELOCITY = 16        # SGD: scikit-learn's velocity rule instead of torch's buffer
    N_HYPER = 17

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
    C_P0 = 8
    SPEC_WIDTH = 16

cdef enum:
    MAX_LAYERS = 64

# A dropout rate r is stored in the layer table as round(r * DROP_ONE); a
# 30-bit random draw below it drops the value.
cdef uint64_t DROP_ONE = 1 << 30

# Products with at least this many multiply-adds go to BLAS; smaller ones
# run as plain loops, where the call overhead of BLAS would dominate.
cdef Py_ssize_t BLAS_MIN_MACS = 32768
# Convolutions unfold their input (im2col) and go to BLAS from this many
# multiply-adds per call: measured against the direct loops on 8x8 to 16x16
# images, unfolding plus BLAS (which uses the CPU's widest vectors) wins
# from about a hundred multiply-adds on; below, the direct loops are as fast
# and need no scratch.
cdef Py_ssize_t CONV_BLAS_MIN_MACS = 64
# A convolution on the BLAS path unfolds at most this many values at a time
# (whole samples, at least one): the scratch stays small, the products large.
cdef Py_ssize_t COL_BUDGET = 1 << 18
# Every size in the layer table stays below this, so that no product of two
# of them overflows and every BLAS dimension fits a C int.
cdef Py_ssize_t MAX_DIM = 2147483647

# Exported for the Python layer.
ACTIVATIONS = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH,
               "relu": RELU, "softmax": SOFTMAX, "step": STEP}
LOSSES = {"mse": MSE, "cross_entropy": CROSS_ENTROPY,
          "binary_cross_entropy": BINARY_CROSS_ENTROPY}
LAYER_KINDS = {"dense": DENSE, "conv2d": CONV2D, "maxpool2d": MAXPOOL,
               "avgpool2d": AVGPOOL, "flatten": FLATTEN, "dropout": DROPOUT}
DROPOUT_ONE = DROP_ONE
OPTIMIZERS = {"sgd": OPT_SGD, "adam": OPT_ADAM, "adagrad": OPT_ADAGRAD,
              "rmsprop": OPT_RMSPROP, "rprop": OPT_RPROP}
HYPER_SLOTS = {"lr": H_LR, "momentum": H_MOMENTUM, "dampening": H_DAMPENING,
               "nesterov": H_NESTEROV, "weight_decay": H_WEIGHT_DECAY,
               "beta1": H_BETA1, "beta2": H_BETA2, "eps": H_EPS,
               "lr_decay": H_LR_DECAY, "alpha": H_ALPHA, "centered": H_CENTERED,
               "eta_minus": H_ETA_MINUS, "eta_plus": H_ETA_PLUS,
               "step_min": H_STEP_MIN, "step_max": H_STEP_MAX, "l2": H_L2,
               "velocity": H_VELOCITY}
N_HYPER_SLOTS = N_HYPER
SPEC_COLUMNS = SPEC_WIDTH
CONV_DIRECT_BELOW = CONV_BLAS_MIN_MACS   # m * c_out * c_in * kh * kw * oh * ow
CONV_UNFOLD_BUDGET = COL_BUDGET
DIVERGED = STATUS_DIVERGED


cdef struct Layer:
    int kind
    int act
    Py_ssize_t n_in
    Py_ssize_t n_out
    Py_ssize_t w_off
    Py_ssize_t b_off
    Py_ssize_t w_size       # weights (0 for layers without parameters)
    Py_ssize_t out_off      # this layer's output in the workspace
    # image layers: input (c_in, h, w), output (c_out, oh, ow), window
    # (kh, kw), stride (sh, sw), zero padding (ph, pw)
    Py_ssize_t c_in, h, w, c_out, oh, ow, kh, kw, sh, sw, ph, pw
    Py_ssize_t group        # samples unfolded at a time on the BLAS path
    Py_ssize_t mask_off     # dropout: the mask of the batch in the workspace
    uint64_t drop_below     # dropout: a 30-bit draw below this drops the value
    double keep_scale       # dropout: 1 / (1 - rate)


cdef struct Net:
    int n_layers
    Py_ssize_t in_off       # gathered input in the workspace
    Py_ssize_t delta_a      # the two delta buffers in the workspace
    Py_ssize_t delta_b
    Py_ssize_t col_off      # convolution scratch: unfolded input (im2col)
    Py_ssize_t tmp_off      # convolution scratch: channel-major product
    Py_ssize_t size         # values the workspace must hold
    Layer layers[MAX_LAYERS]


# ------------------------------------------------------------ layer table
cdef int _read_layer(Layer* L, const int64_t[:, ::1] spec, Py_ssize_t l,
                     Py_ssize_t n_params) except -1:
    """Fill L from row l of the layer table, checking that its sizes agree.

    ``n_params < 0`` skips the check of the parameter offsets.
    """
    cdef Py_ssize_t j, n_in, n_out, w_size, b_size
    cdef int64_t v
    for j in range(SPEC_WIDTH):
        v = spec[l, j]
        if v < 0 or v > MAX_DIM:
            raise ValueError(f"layer {l}: entry {j} of the layer table is out of "
                             f"range ({v})")
    L.kind = <int>spec[l, C_KIND]
    L.act = <int>spec[l, C_ACT]
    n_in = L.n_in = <Py_ssize_t>spec[l, C_NIN]
    n_out = L.n_out = <Py_ssize_t>spec[l, C_NOUT]
    L.w_off = <Py_ssize_t>spec[l, C_WOFF]
    L.b_off = <Py_ssize_t>spec[l, C_BOFF]
    w_size = <Py_ssize_t>spec[l, C_WSIZE]
    b_size = <Py_ssize_t>spec[l, C_BSIZE]
    L.w_size = w_size
    L.c_in = L.h = L.w = L.c_out = L.oh = L.ow = 1
    L.kh = L.kw = L.sh = L.sw = 1
    L.ph = L.pw = 0
    L.group = 1
    if L.act < IDENTITY or L.act > STEP:
        raise ValueError(f"layer {l}: unknown activation code {L.act}")
    if n_in < 1 or n_out < 1:
        raise ValueError(f"layer {l}: sizes must be positive")
    if L.kind == DENSE:
        if w_size != n_in * n_out or b_size != n_out:
            raise ValueError(f"layer {l}: parameter sizes do not match a dense layer")
    elif L.kind == CONV2D or L.kind == MAXPOOL or L.kind == AVGPOOL:
        L.h = <Py_ssize_t>spec[l, C_P0]
        L.w = <Py_ssize_t>spec[l, C_P0 + 1]
        L.kh = <Py_ssize_t>spec[l, C_P0 + 2]
        L.kw = <Py_ssize_t>spec[l, C_P0 + 3]
        if L.kind == CONV2D:
            L.sh = <Py_ssize_t>spec[l, C_P0 + 4]
            L.sw = <Py_ssize_t>spec[l, C_P0 + 5]
            L.ph = <Py_ssize_t>spec[l, C_P0 + 6]
            L.pw = <Py_ssize_t>spec[l, C_P0 + 7]
        else:
            L.sh = L.kh
            L.sw = L.kw
        if L.h < 1 or L.w < 1 or L.kh < 1 or L.kw < 1 or L.sh < 1 or L.sw < 1:
            raise ValueError(f"layer {l}: image and window sizes must be positive")
        if n_in % (L.h * L.w) != 0:
            raise ValueError(f"layer {l}: n_in {n_in} is not channels * {L.h} * {L.w}")
        L.c_in = n_in // (L.h * L.w)
        if L.h + 2 * L.ph < L.kh or L.w + 2 * L.pw < L.kw:
            raise ValueError(f"layer {l}: the window is larger than the (padded) input")
        L.oh = (L.h + 2 * L.ph - L.kh) // L.sh + 1
        L.ow = (L.w + 2 * L.pw - L.kw) // L.sw + 1
        L.c_out = b_size if L.kind == CONV2D else L.c_in
        if L.c_out < 1 or n_out != L.c_out * L.oh * L.ow:
            raise ValueError(f"layer {l}: n_out {n_out} does not match the output "
                             f"({L.c_out}, {L.oh}, {L.ow})")
        if L.kind == CONV2D:
            # each factor <= MAX_DIM, so no product below overflows 64 bits
            if (L.kh * L.kw > MAX_DIM or L.c_in * L.kh * L.kw > MAX_DIM
                    or w_size != L.c_out * L.c_in * L.kh * L.kw):
                raise ValueError(f"layer {l}: parameter sizes do not match a convolution")
            if L.act == SOFTMAX:
                raise ValueError(f"layer {l}: softmax is for dense layers only")
            # whole samples per unfolding, at least one
            L.group = max(1, COL_BUDGET // (L.c_in * L.kh * L.kw * L.oh * L.ow))
        elif w_size != 0 or b_size != 0 or L.act != IDENTITY:
            raise ValueError(f"layer {l}: a pooling layer has no parameters "
                             "and no activation")
    elif L.kind == FLATTEN:
        if n_out != n_in or w_size != 0 or b_size != 0 or L.act != IDENTITY:
            raise ValueError(f"layer {l}: a flatten layer keeps its size and has no "
                             "parameters and no activation")
    elif L.kind == DROPOUT:
        if n_out != n_in or w_size != 0 or b_size != 0 or L.act != IDENTITY:
            raise ValueError(f"layer {l}: a dropout layer keeps its size and has no "
                             "parameters and no activation")
        if <uint64_t>spec[l, C_P0] >= DROP_ONE:
            raise ValueError(f"layer {l}: the dropout rate must be below 1")
        L.drop_below = <uint64_t>spec[l, C_P0]
        L.keep_scale = 1.0 / (1.0 - <double>spec[l, C_P0] / DROP_ONE)
    else:
        raise ValueError(f"layer {l}: unknown layer kind {L.kind}")
    if n_params >= 0 and (L.w_off + w_size > n_params or L.b_off + b_size > n_params):
        raise ValueError(f"layer {l}: parameters do not fit the buffer")
    return 0


cdef int _read_net(Net* net, const int64_t[:, ::1] spec, Py_ssize_t n_params,
                   Py_ssize_t m) except -1:
    """Fill ``net`` from the layer table and lay out the workspace of m rows."""
    cdef Py_ssize_t l, off, width, col = 0, tmp = 0, g
    cdef Layer* L
    if spec.shape[1] != SPEC_WIDTH:
        raise ValueError(f"layer table must have {SPEC_WIDTH} columns")
    if spec.shape[0] < 1 or spec.shape[0] > MAX_LAYERS:
        raise ValueError(f"a network has 1 to {MAX_LAYERS} layers, got {spec.shape[0]}")
    if m < 0:
        raise ValueError("negative number of rows")
    net.n_layers = <int>spec.shape[0]
    for l in range(net.n_layers):
        L = &net.layers[l]
        _read_layer(L, spec, l, n_params)
        if l > 0 and L.n_in != net.layers[l - 1].n_out:
            raise ValueError(f"layer {l}: n_in {L.n_in} does not match the "
                             f"previous layer's n_out {net.layers[l - 1].n_out}")
    # workspace: input, outputs, deltas, convolution scratch
    net.in_off = 0
    off = m * net.layers[0].n_in
    width = 0
    for l in range(net.n_layers):
        L = &net.layers[l]
        L.out_off = off
        off += m * L.n_out
        width = max(width, L.n_in, L.n_out)
        L.mask_off = 0
        if L.kind == DROPOUT:
            L.mask_off = off
            off += m * L.n_out
        if L.kind == CONV2D:
            g = min(max(m, 1), L.group)
            col = max(col, g * L.c_in * L.kh * L.kw * L.oh * L.ow)
            tmp = max(tmp, g * L.c_out * L.oh * L.ow)
    net.delta_a = off
    off += m * width
    net.delta_b = off
    off += m * width
    net.col_off = off
    off += col
    net.tmp_off = off
    off += tmp
    net.size = off
    return 0


def workspace_size(const int64_t[:, ::1] spec, Py_ssize_t batch_size, bint split=False):
    """size := m * (n_in_0 + sum(n_out) + 2 * max width) + convolution scratch;
    split: two such workspaces for half batches and a second gradient."""
    cdef Net net
    cdef Py_ssize_t whole
    _read_net(&net, spec, -1, batch_size)
    whole = net.size
    if not split:
        return whole
    _read_net(&net, spec, -1, (batch_size + 1) // 2)
    return max(whole, 2 * net.size + _n_params(spec))


cdef Py_ssize_t _n_params(const int64_t[:, ::1] spec):
    """The parameters a layer table addresses (the end of the last one)."""
    cdef Py_ssize_t l, end = 0
    for l in range(spec.shape[0]):
        end = max(end, spec[l, C_WOFF] + spec[l, C_WSIZE], spec[l, C_BOFF] + spec[l, C_BSIZE])
    return end


cdef int _load_net(Net* net, const int64_t[:, ::1] spec, Py_ssize_t n_params,
                   Py_ssize_t m, Py_ssize_t work_size) except -1:
    """Fill ``net`` from the layer table, checking that every offset fits."""
    _read_net(net, spec, n_params, m)
    if net.size > work_size:
        raise ValueError(f"workspace too small: {work_size} < {net.size}")
    return 0


# ------------------------------------------------------------ BLAS and threads
# The engine owns how its work is divided, so that no result depends on the
# thread count. BLAS always runs single-threaded inside the engine (every
# entry point that may call it holds BLAS's own count at 1 while it runs:
# _blas_serial_begin / _blas_serial_end), because a multi-threaded BLAS
# divides a product by its thread count, and some kernels (OpenBLAS's,
# under some OPENBLAS_CORETYPE settings) then sum in another order. A large
# product is instead cut by the engine into PARTS fixed parts along the
# columns of its result, decided by its sizes alone; the engine's threads
# (OpenMP, ``set_threads``) compute the parts side by side, or one thread
# one after the other: each part is the same single-threaded BLAS call
# either way, so the bits are the same.
cdef extern from *:
    """
    typedef int (*fastnn_get_fn)(void);
    typedef void (*fastnn_set_fn)(int);
    static fastnn_get_fn fastnn_blas_get = 0;
    static fastnn_set_fn fastnn_blas_set = 0;
    static int fastnn_blas_users = 0;
    static int fastnn_blas_saved = 1;
    static char fastnn_blas_lock = 0;
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTNN_LOCK() while (__atomic_test_and_set(&fastnn_blas_lock, __ATOMIC_ACQUIRE)) {}
    #define FASTNN_UNLOCK() __atomic_clear(&fastnn_blas_lock, __ATOMIC_RELEASE)
    #else
    #define FASTNN_LOCK()
    #define FASTNN_UNLOCK()
    #endif
    /* The first engine call in flight saves BLAS's thread count and sets it
       to 1; the last one out restores it. */
    static void fastnn_blas_serial_begin(void) {
        if (!fastnn_blas_set) return;
        FASTNN_LOCK();
        if (fastnn_blas_users++ == 0) {
            fastnn_blas_saved = fastnn_blas_get();
            if (fastnn_blas_saved != 1) fastnn_blas_set(1);
        }
        FASTNN_UNLOCK();
    }
    static void fastnn_blas_serial_end(void) {
        if (!fastnn_blas_set) return;
        FASTNN_LOCK();
        if (--fastnn_blas_users == 0 && fastnn_blas_saved != 1)
            fastnn_blas_set(fastnn_blas_saved);
        FASTNN_UNLOCK();
    }
    static void fastnn_blas_bind(size_t get, size_t set) {
        fastnn_blas_get = (fastnn_get_fn)get;
        fastnn_blas_set = (fastnn_set_fn)set;
    }
    """
    void _blas_serial_begin "fastnn_blas_serial_begin"() noexcept nogil
    void _blas_serial_end "fastnn_blas_serial_end"() noexcept nogil
    void _blas_bind "fastnn_blas_bind"(size_t get, size_t set) noexcept nogil

# Threads that compute the parts of a product (set_threads); at most PARTS
# are ever busy.
cdef int _n_threads = 1
cdef enum:
    PARTS = 2
# Products with at least this many multiply-adds are cut into PARTS parts.
cdef Py_ssize_t PAR_MIN_MACS = 1 << 21


def bind_blas(size_t get_num_threads, size_t set_num_threads):
    """Give the engine the addresses of BLAS's own ``int get(void)`` and
    ``void set(int)`` thread-count functions (OpenBLAS's), so that it can
    hold BLAS at one thread while it runs. 0, 0: BLAS cannot be told."""
    _blas_bind(get_num_threads, set_num_threads)


def set_threads(int n):
    """Use n threads (1 or more) for the parts of large products."""
    global _n_threads
    if n < 1:
        raise ValueError(f"n_threads must be positive, got {n}")
    _n_threads = n


def get_threads():
    """The threads that compute the parts of large products."""
    return _n_threads


cdef inline void _gemm1(bint ta, bint tb, int M, int N, int K,
                        floating alpha, const floating* A, int lda,
                        const floating* B, int ldb, floating beta,
                        floating* C, int ldc) noexcept nogil:
    """C := alpha * op(A) @ op(B) + beta * C, column-major (BLAS order), one call."""
    cdef char transa = 84 if ta else 78    # 'T' or 'N'
    cdef char transb = 84 if tb else 78
    if floating is float:
        sgemm(&transa, &transb, &M, &N, &K, &alpha, <float*>A, &lda,
              <float*>B, &ldb, &beta, C, &ldc)
    else:
        dgemm(&transa, &transb, &M, &N, &K, &alpha, <double*>A, &lda,
              <double*>B, &ldb, &beta, C, &ldc)


cdef inline void _gemm_part(int h, bint ta, bint tb, int M, int N, int K,
                            floating alpha, const floating* A, int lda,
                            const floating* B, int ldb, floating beta,
                            floating* C, int ldc) noexcept nogil:
    """Part h of PARTS of _gemm: the columns [h*c, min((h+1)*c, N)) of C, c = ceil(N/PARTS)."""
    cdef int c = (N + PARTS - 1) // PARTS
    cdef int c0 = h * c
    cdef int n = min(c, N - c0)
    if n > 0:
        _gemm1(ta, tb, M, n, K, alpha, A, lda, B + (c0 if tb else c0 * ldb), ldb,
               beta, C + c0 * ldc, ldc)


cdef void _gemm(bint ta, bint tb, int M, int N, int K,
                floating alpha, const floating* A, int lda,
                const floating* B, int ldb, floating beta,
                floating* C, int ldc) noexcept nogil:
    """C := alpha * op(A) @ op(B) + beta * C, column-major (BLAS order); from
    PAR_MIN_MACS multiply-adds on in PARTS column parts, on the engine's threads."""
    cdef int h
    if <Py_ssize_t>M * N * K < PAR_MIN_MACS or N < PARTS:
        _gemm1(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    elif _n_threads == 1:
        for h in range(PARTS):
            _gemm_part(h, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    else:
        for h in prange(PARTS, num_threads=min(_n_threads, PARTS), schedule="static",
                        chunksize=1):
            _gemm_part(h, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef inline void _gemv1(int M, int N, floating alpha, const floating* A, int lda,
                        const floating* x, floating beta, floating* y) noexcept nogil:
    """y := alpha * A @ x + beta * y, column-major A (M, N), one call."""
    cdef char trans = 78    # 'N'
    cdef int one = 1
    if floating is float:
        sgemv(&trans, &M, &N, &alpha, <float*>A, &lda, <float*>x, &one, &beta, y, &one)
    else:
        dgemv(&trans, &M, &N, &alpha, <double*>A, &lda, <double*>x, &one, &beta, y, &one)


cdef inline void _gemv_part(int h, int M, int N, floating alpha, const floating* A,
                            int lda, const floating* x, floating beta,
                            floating* y) noexcept nogil:
    """Part h of PARTS of _gemv: the rows [h*r, min((h+1)*r, M)) of y, r = ceil(M/PARTS)."""
    cdef int r = (M + PARTS - 1) // PARTS
    cdef int r0 = h * r
    if r0 < M:
        _gemv1(min(r, M - r0), N, alpha, A + r0, lda, x, beta, y + r0)


cdef void _gemv(int M, int N, floating alpha, const floating* A, int lda,
                const floating* x, floating beta, floating* y) noexcept nogil:
    """y := alpha * A @ x + beta * y, column-major A (M, N); from PAR_MIN_MACS
    multiply-adds on in PARTS row parts, on the engine's threads."""
    cdef int h
    if <Py_ssize_t>M * N < PAR_MIN_MACS or M < PARTS:
        _gemv1(M, N, alpha, A, lda, x, beta, y)
    elif _n_threads == 1:
        for h in range(PARTS):
            _gemv_part(h, M, N, alpha, A, lda, x, beta, y)
    else:
        for h in prange(PARTS, num_threads=min(_n_threads, PARTS), schedule="static",
                        chunksize=1):
            _gemv_part(h, M, N, alpha, A, lda, x, beta, y)


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
    if m == 1 and n_in * n_out >= BLAS_MIN_MACS:
        # one sample: out = W^T x + b, a matrix-vector product that streams W once
        memcpy(out, b, n_out * sizeof(floating))
        _gemv(<int>n_out, <int>n_in, <floating>1.0, W, <int>n_out, X,
              <floating>1.0, out)
    elif m * n_in * n_out >= BLAS_MIN_MACS:
        # out^T = W^T X^T + b in BLAS's column-major view: out starts as the
        # bias rows and the product adds to it (beta = 1, so BLAS neither
        # clears out first nor needs a pass of its own for the bias)
        for i in range(m):
            memcpy(out + i * n_out, b, n_out * sizeof(floating))
        _gemm(False, False, <int>n_out, <int>m, <int>n_in, <floating>1.0,
              W, <int>n_out, X, <int>n_in, <floating>1.0, out, <int>n_out)
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
    cdef floating* o
    cdef const floating* d
    cdef bint big = m * n_in * n_out >= BLAS_MIN_MACS
    # db
    if n_out < 8:
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
    # dW
    if big:
        _gemm(False, True, <int>n_out, <int>n_in, <int>m, <floating>1.0,
              delta, <int>n_out, X, <int>n_in, <floating>0.0, dW, <int>n_out)
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
    # dX
    if big:
        _gemm(True, False, <int>n_in, <int>m, <int>n_out, <floating>1.0,
              W, <int>n_out, delta, <int>n_out, <floating>0.0, dX, <int>n_in)
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
                        floating* tmp) noexcept nogil:
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
                  col, <int>N, W, <int>K, <floating>0.0, prod, <int>N)
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
                         floating* tmp) noexcept nogil:
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
                  <floating>(0.0 if start == 0 else 1.0), dW, <int>K)
            if dX != NULL:
                # col (K, N) := W^T (K, c_out) @ dg (c_out, N), then fold back
                _gemm(False, True, <int>N, <int>K, <int>L.c_out, <floating>1.0,
                      dg, <int>N, W, <int>K, <floating>0.0, col, <int>N)
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


# ------------------------------------------------------------ losses
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
    cdef Py_ssize_t i, j, r, jm
    cdef double total = 0, s, mx, z, t, a, g, ga
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
            s = 0
            for j in range(k):
                s += exp(zrow[j] - mx)
            total += (mx - zrow[labels[r]]) + log(s)
            if correct != NULL and jm == labels[r]:
                correct[0] += 1
            if delta != NULL:
                for j in range(k):
                    delta[i * k + j] = <floating>(exp(zrow[j] - mx) / s * inv)
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
    for j in range(8):
        gs[j] = 0
        hs[j] = 0
        es[j] = 0
    for i in range(0, m8, 8):
        if idx == NULL:
            for j in range(8):
                xs[j] = X[i + j]
                ys[j] = Y[i + j]
        else:
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


# ------------------------------------------------------------ whole passes
cdef void _forward(Net* net, const floating* params, const floating* X,
                   Py_ssize_t m, floating* work, bint logits,
                   uint64_t* rng) noexcept nogil:
    """Every layer's output for m rows of X; the last as logits if asked.

    ``rng`` NULL: inference (dropout passes values through); else training,
    dropout draws its mask from rng."""
    cdef int l, act
    cdef Py_ssize_t i
    cdef floating keep
    cdef floating* mask
    cdef const floating* inp = X
    cdef floating* out
    cdef Layer* L
    for l in range(net.n_layers):
        L = &net.layers[l]
        act = L.act
        if logits and l == net.n_layers - 1:
            act = IDENTITY
        out = work + L.out_off
        if L.kind == DENSE:
            _dense_forward(inp, params + L.w_off, params + L.b_off, out, m,
                           L.n_in, L.n_out, act)
        elif L.kind == CONV2D:
            _conv_forward(inp, params + L.w_off, params + L.b_off, out, m, L, act,
                          work + net.col_off, work + net.tmp_off)
        elif L.kind == MAXPOOL or L.kind == AVGPOOL:
            _pool_forward(inp, out, m, L)
        elif L.kind == DROPOUT and rng != NULL:
            # inverted dropout: keep each value with probability 1 - rate,
            # scaled by 1 / (1 - rate) (torch.nn.Dropout in training mode)
            mask = work + L.mask_off
            keep = <floating>L.keep_scale
            for i in range(m * L.n_in):
                mask[i] = 0 if (_next(rng) >> 34) < L.drop_below else keep
                out[i] = inp[i] * mask[i]
        else:    # FLATTEN (the layout is already flat), DROPOUT at inference
            memcpy(out, inp, m * L.n_in * sizeof(floating))
        inp = out


cdef void _backward(Net* net, const floating* params, const floating* X,
                    Py_ssize_t m, floating* work, floating* grads) noexcept nogil:
    """Gradients of every parameter, from delta (dL/dZ of the output layer)
    waiting in the workspace's first delta buffer."""
    cdef int l, act_prev
    cdef Py_ssize_t p
    cdef Layer* L
    cdef floating* delta = work + net.delta_a
    cdef floating* other = work + net.delta_b
    cdef floating* dX
    cdef floating* tmp
    cdef const floating* inp
    for l in range(net.n_layers - 1, -1, -1):
        L = &net.layers[l]
        inp = X if l == 0 else work + net.layers[l - 1].out_off
        act_prev = net.layers[l - 1].act if l > 0 else IDENTITY
        dX = other if l > 0 else NULL
        if L.kind == DENSE:
            _dense_backward(inp, params + L.w_off, delta, grads + L.w_off,
                            grads + L.b_off, dX, inp, act_prev, m, L.n_in, L.n_out)
        elif L.kind == CONV2D:
            _conv_backward(inp, params + L.w_off, delta, grads + L.w_off,
                           grads + L.b_off, dX, inp, act_prev, m, L,
                           work + net.col_off, work + net.tmp_off)
        elif l == 0:
            break           # no parameters, no gradient to pass further
        elif L.kind == MAXPOOL or L.kind == AVGPOOL:
            _pool_backward(inp, delta, dX, act_prev, m, L)
        elif L.kind == DROPOUT:
            for p in range(m * L.n_in):
                dX[p] = delta[p] * work[L.mask_off + p]
            _times_act_grad(dX, inp, m * L.n_in, act_prev)
        else:                           # FLATTEN
            memcpy(dX, delta, m * L.n_in * sizeof(floating))
            _times_act_grad(dX, inp, m * L.n_in, act_prev)
        tmp = delta
        delta = other
        other = tmp


# ------------------------------------------------------------ optimizers
cdef void _update(int kind, const double* h, int64_t t, floating* params,
                  const floating* grads, floating* state,
                  Py_ssize_t n) noexcept nogil:
    """params := params - step(grads), exactly torch.optim's rules.

    t is the number of steps taken before this one; state holds the
    optimizer's buffers laid out as the parameters are: SGD the momentum
    buffer; Adam exp_avg, exp_avg_sq; AdaGrad the sum of squares; RMSprop
    square_avg, grad_avg, the momentum buffer; Rprop prev, step_size.
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
    if kind == OPT_SGD and h[H_VELOCITY] != 0 and mom != 0:
        # scikit-learn's rule: the velocity keeps each past step's rate,
        #   v = momentum * v - lr * g;  w = w + (momentum * v - lr * g if nesterov else v)
        # (v starts at 0; equal to torch's while lr is constant)
        for p in range(n):
            g = grads[p]
            if wd != 0:
                g = g + wd * params[p]
            buf = (mom * state[p] if t > 0 else 0) - lr * g
            state[p] = buf
            if nesterov:
                params[p] = params[p] + (mom * buf - lr * g)
            else:
                params[p] = params[p] + buf
    elif kind == OPT_SGD:
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
    elif kind == OPT_ADAGRAD:
        # clr = lr / (1 + (step - 1) lr_decay); sum += g^2; w -= clr g / (sqrt(sum) + eps)
        step_size = <floating>(h[H_LR] / (1.0 + t * h[H_LR_DECAY]))
        eps = <floating>h[H_EPS]
        for p in range(n):
            g = grads[p]
            if wd != 0:
                g = g + wd * params[p]
            v = state[p] + g * g
            state[p] = v
            params[p] = params[p] - step_size * (g / (sqrt(v) + eps))
    elif kind == OPT_RMSPROP:
        _rmsprop(h, params, grads, state, n)
    elif kind == OPT_RPROP:
        _rprop(h, t, params, grads, state, n)


cdef void _rmsprop(const double* h, floating* params, const floating* grads,
                   floating* state, Py_ssize_t n) noexcept nogil:
    """torch.optim.RMSprop: sq = alpha sq + (1 - alpha) g^2;
    avg = sqrt(sq - ga^2) (centered, ga = lerp(ga, g, 1 - alpha)) or sqrt(sq);
    with momentum buf = mom buf + g / (avg + eps), w -= lr buf;
    else w -= lr g / (avg + eps)"""
    cdef Py_ssize_t p
    cdef floating g, sq, ga, avg, buf
    cdef floating lr = <floating>h[H_LR]
    cdef floating wd = <floating>h[H_WEIGHT_DECAY]
    cdef floating mom = <floating>h[H_MOMENTUM]
    cdef floating alpha = <floating>h[H_ALPHA]
    cdef floating w = 1 - alpha
    cdef floating eps = <floating>h[H_EPS]
    cdef bint centered = h[H_CENTERED] != 0
    cdef floating* sq_state = state
    cdef floating* ga_state = state + n
    cdef floating* buf_state = state + 2 * n
    for p in range(n):
        g = grads[p]
        if wd != 0:
            g = g + wd * params[p]
        sq = sq_state[p] * alpha + (1 - alpha) * g * g
        sq_state[p] = sq
        if centered:
            if w < 0.5:
                ga = ga_state[p] + w * (g - ga_state[p])
            else:
                ga = g - (g - ga_state[p]) * (1 - w)
            ga_state[p] = ga
            avg = sqrt(sq + (-1) * ga * ga)
        else:
            avg = sqrt(sq)
        avg = avg + eps
        if mom > 0:
            buf = buf_state[p] * mom + g / avg
            buf_state[p] = buf
            params[p] = params[p] - lr * buf
        else:
            params[p] = params[p] - lr * (g / avg)


cdef void _rprop(const double* h, int64_t t, floating* params, const floating* grads,
                 floating* state, Py_ssize_t n) noexcept nogil:
    """torch.optim.Rprop: the step size of each weight grows by eta_plus
    while its gradient keeps its sign and shrinks by eta_minus when it
    flips (then that gradient is taken as 0); w -= sign(g) step."""
    cdef Py_ssize_t p
    cdef floating g, prod, factor, step
    cdef floating eta_minus = <floating>h[H_ETA_MINUS]
    cdef floating eta_plus = <floating>h[H_ETA_PLUS]
    cdef floating step_min = <floating>h[H_STEP_MIN]
    cdef floating step_max = <floating>h[H_STEP_MAX]
    cdef floating* prev = state
    cdef floating* steps = state + n
    if t == 0:
        for p in range(n):
            prev[p] = 0
            steps[p] = <floating>h[H_LR]
    for p in range(n):
        g = grads[p]
        prod = g * prev[p]
        if prod > 0:
            factor = eta_plus
        elif prod < 0:
            factor = eta_minus
        else:
            factor = 1
        step = steps[p] * factor
        if step < step_min:
            step = step_min
        if step > step_max:
            step = step_max
        steps[p] = step
        if factor == eta_minus:
            g = 0
        if g > 0:
            params[p] = params[p] - step
        elif g < 0:
            params[p] = params[p] + step
        prev[p] = g


def optimizer_state_size(int kind, Py_ssize_t n_params):
    """Number of state values an optimizer keeps for n_params parameters."""
    if kind == OPT_SGD:
        return n_params
    if kind == OPT_ADAM or kind == OPT_RPROP:
        return 2 * n_params
    if kind == OPT_ADAGRAD:
        return n_params
    if kind == OPT_RMSPROP:
        return 3 * n_params
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
            Py_ssize_t chunk, bint check_finite=False):
    """out := network(X), the output layer's activation, chunk rows at a time.

    With ``check_finite``, first look for NaN or infinity in X: if there is
    any, compute nothing and return False."""
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], start, m, n_out, p
    cdef bint finite = True
    _load_net(&net, spec, params.shape[0], chunk, work.shape[0])
    n_out = net.layers[net.n_layers - 1].n_out
    if X.shape[1] != net.layers[0].n_in or out.shape[0] != n or out.shape[1] != n_out:
        raise ValueError("forward: X or out does not match the network")
    if n == 0:
        return True
    if check_finite:
        with nogil:
            finite = _all_finite(&X[0, 0], n * X.shape[1])
        if not finite:
            return False
    _blas_serial_begin()
    try:
        with nogil:
            start = 0
            while start < n:
                m = min(chunk, n - start)
                _forward(&net, &params[0], &X[start, 0], m, &work[0], False, NULL)
                memcpy(&out[start, 0], &work[net.layers[net.n_layers - 1].out_off],
                       m * n_out * sizeof(floating))
                start += m
    finally:
        _blas_serial_end()
    return True


cdef bint _all_finite(const floating* a, Py_ssize_t n) noexcept nogil:
    """True if no value is NaN or infinite: |x| <= the largest finite value
    is false for both. An AND of comparisons (integers, so the compiler may
    reorder it) runs on vector lanes."""
    cdef Py_ssize_t p
    cdef int ok = 1
    cdef floating big
    if floating is float:
        big = FLT_MAX
    else:
        big = DBL_MAX
    for p in range(n):
        ok &= fabs(a[p]) <= big
    return ok != 0


def all_finite(const floating[::1] values):
    """True if no value is NaN or infinite."""
    cdef bint finite = True
    if values.shape[0] > 0:
        with nogil:
            finite = _all_finite(&values[0], values.shape[0])
    return finite


cdef void _check_targets(Net* net, int loss, Py_ssize_t n, const int64_t[::1] labels,
                         Py_ssize_t y_rows, Py_ssize_t y_cols) except *:
    """Targets that match the batch, and class labels within the output
    layer (a label is an index the loss writes at)."""
    cdef Py_ssize_t i, k = net.layers[net.n_layers - 1].n_out
    cdef bint bad = False
    if loss == CROSS_ENTROPY:
        if labels is None or labels.shape[0] != n:
            raise ValueError("labels do not match X")
        for i in range(n):
            bad |= labels[i] < 0 or labels[i] >= k
        if bad:
            raise ValueError(f"a class label is outside 0..{k - 1}")
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
    _check_targets(&net, loss, n, labels, Y.shape[0], Y.shape[1])
    if X.shape[1] != net.layers[0].n_in or n == 0:
        raise ValueError("loss_value: X does not match the network")
    last = &net.layers[net.n_layers - 1]
    k = last.n_out
    _blas_serial_begin()
    try:
        with nogil:
            start = 0
            while start < n:
                m = min(chunk, n - start)
                _forward(&net, &params[0], &X[start, 0], m, &work[0], True, NULL)
                total += m * _loss_delta(
                    &work[last.out_off], m, k, loss, last.act,
                    &labels[start] if loss == CROSS_ENTROPY else NULL,
                    &Y[start, 0] if loss != CROSS_ENTROPY else NULL,
                    NULL, NULL, NULL)
                start += m
    finally:
        _blas_serial_end()
    return <double><floating>(total / n)   # the loss in the model's dtype


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
    _check_targets(&net, loss, n, labels, Y.shape[0], Y.shape[1])
    if X.shape[1] != net.layers[0].n_in or n == 0 or grads.shape[0] != params.shape[0]:
        raise ValueError("loss_and_grad: X or grads does not match the network")
    last = &net.layers[net.n_layers - 1]
    k = last.n_out
    _blas_serial_begin()
    try:
        with nogil:
            _forward(&net, &params[0], &X[0, 0], n, &work[0], True, NULL)
            value = _loss_delta(&work[last.out_off], n, k, loss, last.act,
                                &labels[0] if loss == CROSS_ENTROPY else NULL,
                                &Y[0, 0] if loss != CROSS_ENTROPY else NULL,
                                NULL, &work[net.delta_a], NULL)
            _backward(&net, &params[0], &X[0, 0], n, &work[0], &grads[0])
    finally:
        _blas_serial_end()
    return <double><floating>value


cdef double _batch_grad(Net* net, int loss, bint line, const floating* X,
                        const int64_t* labels, const floating* Y, const int64_t* idx,
                        Py_ssize_t m, const floating* params, floating* grads,
                        floating* work, uint64_t* rs, Py_ssize_t* correct) noexcept nogil:
    """loss := mean loss of one batch, in the model's dtype; grads := its
    gradient (left as is when the loss is not finite); correct += the rows
    it classified right (NULL: not counted).

    The batch is rows idx[0..m) of X, labels and Y (gathered into the
    workspace), or with idx NULL the m rows they point at. ``line``: the
    network is one Dense(1, 1) under MSE, done in one fused pass.
    """
    cdef Layer* last = &net.layers[net.n_layers - 1]
    cdef Py_ssize_t i, n_in = net.layers[0].n_in
    cdef const floating* xb = X
    cdef floating* xbuf
    cdef double value
    if line:
        return <floating>_line_step(X, Y, idx, m, params + last.w_off, params + last.b_off,
                                    grads + last.w_off, grads + last.b_off)
    if idx != NULL:
        xbuf = work + net.in_off
        for i in range(m):
            # ask for a row a few ahead: the rows are scattered, and each
            # waits on memory unless its first lines are already coming
            if i + 4 < m:
                _prefetch(X + idx[i + 4] * n_in)
            memcpy(xbuf + i * n_in, X + idx[i] * n_in, n_in * sizeof(floating))
        xb = xbuf
    _forward(net, params, xb, m, work, True, rs)
    value = <floating>_loss_delta(work + last.out_off, m, last.n_out, loss, last.act,
                                  labels, Y, idx, work + net.delta_a, correct)
    if isfinite(value):
        _backward(net, params, xb, m, work, grads)
    return value


cdef double _add_l2(Net* net, double c, const floating* params,
                    floating* grads) noexcept nogil:
    """grads += c * params over every layer's weights (biases left out),
    the gradient of an L2 penalty c / 2 * sum(W**2); returns sum(W**2)."""
    cdef int l
    cdef Py_ssize_t p
    cdef floating cf = <floating>c
    cdef double total = 0
    cdef Layer* L
    for l in range(net.n_layers):
        L = &net.layers[l]
        if L.kind == DENSE or L.kind == CONV2D:
            for p in range(L.w_off, L.w_off + L.w_size):
                grads[p] += cf * params[p]
            total += _sum_squares(params + L.w_off, L.w_size)
    return total


cdef double _sum_squares(const floating* a, Py_ssize_t n) noexcept nogil:
    """sum(a**2) in double, as four interleaved partial sums."""
    cdef double s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t p, n4 = n - n % 4
    for p in range(0, n4, 4):
        s0 += <double>a[p] * a[p]
        s1 += <double>a[p + 1] * a[p + 1]
        s2 += <double>a[p + 2] * a[p + 2]
        s3 += <double>a[p + 3] * a[p + 3]
    for p in range(n4, n):
        s0 += <double>a[p] * a[p]
    return (s0 + s1) + (s2 + s3)


cdef bint _uses_blas(Net* net, Py_ssize_t m) noexcept nogil:
    """True if a batch of m rows sends any product of the network to BLAS."""
    cdef int l
    cdef Layer* L
    for l in range(net.n_layers):
        L = &net.layers[l]
        if L.kind == DENSE and m * L.n_in * L.n_out >= BLAS_MIN_MACS:
            return True
        if L.kind == CONV2D and _conv_uses_blas(L, m):
            return True
    return False


cdef bint _is_line(Net* net, int loss) noexcept nogil:
    """One Dense(1, 1) with a linear output under MSE: the regression machine."""
    cdef Layer* L = &net.layers[0]
    return (net.n_layers == 1 and L.kind == DENSE and L.n_in == 1 and L.n_out == 1
            and L.act == IDENTITY and loss == MSE)


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
          Py_ssize_t max_steps,            # stop after this many steps (<= epochs * steps)
          bint split=False,                # each batch as two halves (see below)
          double[::1] stop=None,           # IN/OUT [scale, tol, patience, best, count]
          double[::1] epoch_loss=None,     # OUT (n_epochs,) with ``stop``
          int64_t[::1] step_correct=None): # OUT (steps,) rows classified right, or None
    """Train n_epochs epochs: per batch gather, forward, loss, backward, update.

    The whole loop runs without the GIL, taking it only every
    ``check_every`` steps to let Python see a pending signal (Ctrl-C); a
    KeyboardInterrupt then leaves the loop between two steps. ``counters``
    is kept current after every step, so the caller always knows how far
    the run went. A non-finite batch loss stops the loop before its update
    with status DIVERGED.

    ``split``: every batch of two rows or more is computed as two halves,
    each with its own workspace (``workspace_size(..., split=True)``), and
    the two gradients are combined weighted by their rows. The halves are
    independent: on two or more of the engine's threads (``set_threads``)
    they run side by side, on one one after the other, and the result is the
    same bit for bit either way.

    ``step_correct``: for classification losses, the rows of each step's
    batch that the network classified right before the update (see
    ``_loss_delta``).

    ``stop``: scikit-learn's stopping rule, checked after every epoch on
    v = scale * (the epoch's mean loss): an epoch with v > best - tol
    counts as no improvement (any other resets the count), best becomes
    min(best, v), and the run ends after the epoch where the count exceeds
    patience. ``best`` and ``count`` carry over between calls; the epoch
    losses it saw go to ``epoch_loss``.
    """
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], n_params = params.shape[0]
    cdef Py_ssize_t steps_per_epoch, i, k, n_in, total_steps
    cdef const int64_t* lab
    cdef const floating* tgt
    cdef bint record = trace.shape[0] > 0
    cdef bint line, use_stop, count, serial
    cdef Layer* last
    cdef uint64_t* rs = &rng_state[0]
    cdef Net half                       # the layout of a half batch (split)
    cdef Py_ssize_t half_size = 0

    if n == 0 or batch_size < 1 or n_epochs < 0 or check_every < 1 or max_steps < 0:
        raise ValueError("train: empty data, batch_size < 1 or n_epochs < 0")
    batch_size = min(batch_size, n)
    if split:
        _load_net(&half, spec, n_params, (batch_size + 1) // 2, work.shape[0])
        half_size = half.size
        if work.shape[0] < 2 * half_size + n_params:
            raise ValueError("train: the workspace is too small for split batches")
    _load_net(&net, spec, n_params, batch_size, work.shape[0])
    _check_targets(&net, loss, n, labels, Y.shape[0], Y.shape[1])
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
    use_stop = stop is not None and stop.shape[0] > 0
    if use_stop and (stop.shape[0] != 5 or epoch_loss is None
                     or epoch_loss.shape[0] < n_epochs):
        raise ValueError("train: the stopping rule needs stop (5,) and epoch_loss (n_epochs,)")
    count = step_correct is not None and step_correct.shape[0] > 0
    if count and (step_correct.shape[0] < total_steps or loss == MSE):
        raise ValueError("train: step_correct needs a classification loss and (steps,)")
    counters[0] = 0
    counters[2] = STATUS_OK
    if total_steps == 0:
        return
    for i in range(n):
        order[i] = i
    line = _is_line(&net, loss)
    lab = &labels[0] if loss == CROSS_ENTROPY else NULL
    tgt = &Y[0, 0] if loss != CROSS_ENTROPY else NULL
    serial = _uses_blas(&net, batch_size)
    if serial:
        _blas_serial_begin()
    try:
        _train_loop(&net, &half, loss, line, params, grads, opt_kind, hyper, opt_state,
                    X, lab, tgt, k, n, batch_size, n_epochs, shuffle, rs, order, work,
                    step_loss, trace, counters, check_every, total_steps, split,
                    half_size, use_stop, stop, epoch_loss, count, step_correct)
    finally:
        if serial:
            _blas_serial_end()


cdef int _train_loop(Net* net_p, Net* half_p, int loss, bint line,
                     floating[::1] params, floating[::1] grads, int opt_kind,
                     const double[::1] hyper, floating[::1] opt_state,
                     const floating[:, ::1] X, const int64_t* lab, const floating* tgt,
                     Py_ssize_t k, Py_ssize_t n, Py_ssize_t batch_size, Py_ssize_t n_epochs,
                     bint shuffle, uint64_t* rs, int64_t[::1] order, floating[::1] work,
                     double[::1] step_loss, floating[:, ::1] trace, int64_t[::1] counters,
                     Py_ssize_t check_every, Py_ssize_t total_steps, bint split,
                     Py_ssize_t half_size, bint use_stop, double[::1] stop,
                     double[::1] epoch_loss, bint count, int64_t[::1] step_correct) except -1:
    """The loop of ``train``, its buffers checked (stop, epoch_loss and
    step_correct are read only when use_stop and count say so)."""
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t steps_per_epoch = (n + batch_size - 1) // batch_size
    cdef Py_ssize_t epoch, s, start, m, step, since_check = 0, h, p, first, parts
    cdef Py_ssize_t rows[2]
    cdef Py_ssize_t hits[2]
    cdef double vals[2]
    cdef double value, wa, wb
    cdef const floating* xs[2]
    cdef const int64_t* labs[2]
    cdef const floating* tgts[2]
    cdef const int64_t* idxs[2]
    cdef floating* gb[2]
    cdef floating* wk[2]
    cdef bint record = trace.shape[0] > 0
    cdef int n_threads = min(_n_threads, 2)
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
                # the batch as one part, or (split) as two halves
                parts = 2 if split and m >= 2 else 1
                rows[0] = (m + 1) // 2 if parts == 2 else m
                rows[1] = m - rows[0]
                for h in range(parts):
                    first = start + h * rows[0]
                    if shuffle:     # rows order[first:first + rows], by their index
                        xs[h] = &X[0, 0]
                        idxs[h] = &order[first]
                        labs[h] = lab
                        tgts[h] = tgt
                    else:           # rows in order, from row `first` on
                        xs[h] = &X[first, 0]
                        idxs[h] = NULL
                        labs[h] = lab + first if lab != NULL else NULL
                        tgts[h] = tgt + first * k if tgt != NULL else NULL
                hits[0] = 0
                hits[1] = 0
                if parts == 1:
                    value = _batch_grad(net_p, loss, line, xs[0], labs[0], tgts[0], idxs[0],
                                        m, &params[0], &grads[0], &work[0], rs,
                                        &hits[0] if count else NULL)
                else:
                    gb[0] = &grads[0]
                    gb[1] = &work[2 * half_size]
                    wk[0] = &work[0]
                    wk[1] = &work[half_size]
                    for h in prange(2, num_threads=n_threads, schedule="static", chunksize=1):
                        vals[h] = _batch_grad(half_p, loss, line, xs[h], labs[h], tgts[h],
                                              idxs[h], rows[h], &params[0], gb[h], wk[h], rs,
                                              &hits[h] if count else NULL)
                    wa = <double>rows[0] / m
                    wb = <double>rows[1] / m
                    value = wa * vals[0] + wb * vals[1]
                    if isfinite(value):     # elementwise: any split of p gives the same
                        for p in prange(n_params, num_threads=n_threads, schedule="static"):
                            grads[p] = <floating>(wa * grads[p] + wb * gb[1][p])
                if not isfinite(value):
                    counters[2] = STATUS_DIVERGED
                    break
                if hyper[H_L2] != 0:    # the penalty joins the gradient and the loss
                    value += 0.5 * hyper[H_L2] / m * _add_l2(net_p, hyper[H_L2] / m,
                                                             &params[0], &grads[0])
                step_loss[step] = <floating>value      # in the model's dtype
                if count:
                    step_correct[step] = hits[0] + hits[1]
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
            if counters[2] != STATUS_OK:
                break
            if use_stop and step == (epoch + 1) * steps_per_epoch:
                # the epoch's mean loss, each step weighted by its rows
                value = 0
                for s in range(steps_per_epoch):
                    value += step_loss[step - steps_per_epoch + s] * min(
                        batch_size, n - s * batch_size)
                value = value / n
                epoch_loss[epoch] = value
                value = stop[0] * value
                if value > stop[3] - stop[1]:
                    stop[4] += 1
                else:
                    stop[4] = 0
                if value < stop[3]:
                    stop[3] = value
                if stop[4] > stop[2]:
                    break
            if step >= total_steps:
                break
        # a finite loss but weights that overflowed in the last updates
        if counters[2] == STATUS_OK and not _all_finite(&params[0], n_params):
            counters[2] = STATUS_DIVERGED
    return 0


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


# ------------------------------------------------------------ bound stepper
cdef class Stepper:
    """One gradient step at a time for a stream of small batches.

    ``train`` unpacks a dozen buffers on every call; a stream of one-row
    chunks would spend most of its time there. A Stepper checks and binds
    the buffers of one (network, optimizer state, batch capacity) once and
    keeps them alive; each ``step`` then takes only the batch and the
    optimizer's settings. The step keeps a copy of what it changes, so a
    failed step leaves the model exactly as it was.
    """
    cdef Net net
    cdef readonly object spec, params, opt_buffer, rng_state, work
    cdef readonly Py_ssize_t rows          # the largest batch it takes
    cdef readonly int status               # STATUS_OK or STATUS_DIVERGED
    cdef readonly Py_ssize_t correct       # rows the last step classified right
    cdef object _grads, _undo
    cdef bint dbl, line
    cdef int loss, opt_kind
    cdef Py_ssize_t n_params, n_state, n_in
    cdef void* p_params
    cdef void* p_grads
    cdef void* p_state
    cdef void* p_work
    cdef void* p_undo
    cdef uint64_t* p_rng

    def __cinit__(self, const int64_t[:, ::1] spec, int loss, params, grads,
                  int opt_kind, opt_buffer, uint64_t[::1] rng_state, work,
                  Py_ssize_t rows):
        cdef Py_ssize_t work_size, grads_size, state_size, undo_size
        if rows < 1 or rng_state.shape[0] != 4:
            raise ValueError("Stepper: rows < 1 or a bad random state")
        self.dbl = params.dtype == np.float64
        self.p_params = _address(params, self.dbl, &self.n_params)
        self.n_state = optimizer_state_size(opt_kind, self.n_params)
        # undo: the parameters and the optimizer's buffers before the step
        undo = np.empty(self.n_params + self.n_state, dtype=params.dtype)
        self.p_grads = _address(grads, self.dbl, &grads_size)
        self.p_state = _address(opt_buffer, self.dbl, &state_size)
        self.p_work = _address(work, self.dbl, &work_size)
        self.p_undo = _address(undo, self.dbl, &undo_size)
        if (self.n_params == 0 or grads_size != self.n_params
                or state_size < self.n_state or work_size == 0):
            raise ValueError("Stepper: a buffer does not match the network")
        _load_net(&self.net, spec, self.n_params, rows, work_size)
        self.p_rng = &rng_state[0]
        self.spec, self.params, self.opt_buffer = spec.base, params, opt_buffer
        self.rng_state, self.work, self._grads, self._undo = rng_state.base, work, grads, undo
        self.rows, self.loss, self.opt_kind = rows, loss, opt_kind
        self.n_in = self.net.layers[0].n_in
        self.line = _is_line(&self.net, loss)
        self.status = STATUS_OK

    def step(self, X, const int64_t[::1] labels, Y, const double[::1] hyper,
             int64_t t):
        """One step on the batch (X, labels or Y), t steps taken before;
        returns the batch loss. ``status`` says whether it was applied: a
        non-finite loss, or weights that would overflow, leave the model and
        the optimizer state as they were (status DIVERGED). ``correct``: the
        rows it classified right before the update (classification losses)."""
        cdef Py_ssize_t m, d, n_targets, k
        cdef double value
        cdef bint serial
        cdef const int64_t* lab = NULL
        cdef const char* xp
        cdef const char* yp
        if hyper.shape[0] != N_HYPER:
            raise ValueError("Stepper.step: bad optimizer settings")
        xp = _matrix(X, self.dbl, &m, &d)
        yp = _matrix(Y, self.dbl, &n_targets, &k)
        if m < 1 or m > self.rows or d != self.n_in:
            raise ValueError("Stepper.step: X does not match the bound network")
        _check_targets(&self.net, self.loss, m, labels, n_targets, k)
        if self.loss == CROSS_ENTROPY:
            lab = &labels[0]
        else:
            yp = yp if n_targets else NULL
        self.correct = 0
        serial = _uses_blas(&self.net, m)
        if serial:
            _blas_serial_begin()
        with nogil:
            if self.dbl:
                value = _bound_step(&self.net, self.loss, self.line, self.opt_kind,
                                    <const double*>xp, lab, <const double*>yp, m, &hyper[0],
                                    t, <double*>self.p_params, <double*>self.p_grads,
                                    <double*>self.p_state, <double*>self.p_work,
                                    <double*>self.p_undo, self.n_params, self.n_state,
                                    self.p_rng, &self.status, &self.correct)
            else:
                value = _bound_step(&self.net, self.loss, self.line, self.opt_kind,
                                    <const float*>xp, lab, <const float*>yp, m, &hyper[0],
                                    t, <float*>self.p_params, <float*>self.p_grads,
                                    <float*>self.p_state, <float*>self.p_work,
                                    <float*>self.p_undo, self.n_params, self.n_state,
                                    self.p_rng, &self.status, &self.correct)
        if serial:
            _blas_serial_end()
        return value


cdef char* _address(object a, bint dbl, Py_ssize_t* size) except? NULL:
    """The data of a contiguous float64 (dbl) or float32 vector, checked by a
    typed view, and its length (NULL when empty). The caller keeps ``a``."""
    cdef float[::1] f
    cdef double[::1] d
    if dbl:
        d = a
        size[0] = d.shape[0]
        return <char*>&d[0] if size[0] else NULL
    f = a
    size[0] = f.shape[0]
    return <char*>&f[0] if size[0] else NULL


cdef const char* _matrix(object a, bint dbl, Py_ssize_t* rows,
                         Py_ssize_t* cols) except? NULL:
    """The data of a C-contiguous float64 (dbl) or float32 matrix, checked by
    a typed view, and its shape (NULL when empty). The caller keeps ``a``."""
    cdef const float[:, ::1] f
    cdef const double[:, ::1] d
    if dbl:
        d = a
        rows[0], cols[0] = d.shape[0], d.shape[1]
        return <const char*>&d[0, 0] if rows[0] and cols[0] else NULL
    f = a
    rows[0], cols[0] = f.shape[0], f.shape[1]
    return <const char*>&f[0, 0] if rows[0] and cols[0] else NULL


cdef double _bound_step(Net* net, int loss, bint line, int opt_kind, const floating* X,
                        const int64_t* labels, const floating* Y, Py_ssize_t m,
                        const double* hyper, int64_t t, floating* params,
                        floating* grads, floating* state, floating* work,
                        floating* undo, Py_ssize_t n_params, Py_ssize_t n_state,
                        uint64_t* rng, int* status, Py_ssize_t* correct) noexcept nogil:
    """One step of a Stepper: gradient, update, and the undo if it failed."""
    cdef uint64_t rng_before[4]
    cdef double value
    memcpy(rng_before, rng, 4 * sizeof(uint64_t))
    value = _batch_grad(net, loss, line, X, labels, Y, NULL, m, params, grads, work, rng,
                        correct if loss != MSE else NULL)
    if not isfinite(value):
        memcpy(rng, rng_before, 4 * sizeof(uint64_t))
        status[0] = STATUS_DIVERGED
        return value
    if hyper[H_L2] != 0:
        value += 0.5 * hyper[H_L2] / m * _add_l2(net, hyper[H_L2] / m, params, grads)
        value = <floating>value
    memcpy(undo, params, n_params * sizeof(floating))
    if n_state:
        memcpy(undo + n_params, state, n_state * sizeof(floating))
    _update(opt_kind, hyper, t, params, grads, state, n_params)
    if not _all_finite(params, n_params):
        memcpy(params, undo, n_params * sizeof(floating))
        if n_state:
            memcpy(state, undo + n_params, n_state * sizeof(floating))
        memcpy(rng, rng_before, 4 * sizeof(uint64_t))
        status[0] = STATUS_DIVERGED
        return value
    status[0] = STATUS_OK
    return value
