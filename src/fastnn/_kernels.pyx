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
This file holds the constants and structs; each topic is a ``.pxi`` file
included at its end, in the order it builds up: ``_layout`` (the layer table
and workspace), ``_gemm`` (the engine's own float32 product for short
batches), ``_blas`` (BLAS calls and how a product is divided among
threads), ``_dense``, ``_conv``, ``_loss``, ``_passes`` (whole forward and
backward passes), ``_update`` (the optimizers), ``_rng`` (the random order),
``_train`` (the entry points the Python layer calls) and ``_predict`` (the
bound forward pass, ``Predictor``).

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

from cython.parallel cimport prange
from openmp cimport omp_get_level, omp_get_wtime
from cpython.exc cimport PyErr_CheckSignals
from libc.math cimport exp, log, log1p, sqrt, tanh, fabs, isfinite, NAN
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
cimport numpy as cnp

cnp.import_array()

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
    STATUS_NOT_FINITE = 2   # a batch's rows of X hold NaN or infinity (check_rows)

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

# Slots of ``counters`` (int64, IN/OUT of train): steps done in this call,
# optimizer steps taken in all (its t), status
cdef enum:
    CNT_STEPS = 0
    CNT_T = 1
    CNT_STATUS = 2
    N_COUNTERS = 3

# Slots of ``stop`` (float64, IN/OUT of train): scikit-learn's stopping rule
cdef enum:
    STOP_SCALE = 0         # v = scale * the epoch's mean loss
    STOP_TOL = 1           # an epoch with v > best - tol does not improve
    STOP_PATIENCE = 2      # stop after more epochs than this without improvement
    STOP_BEST = 3          # the best v so far
    STOP_COUNT = 4         # epochs without improvement so far
    N_STOP = 5

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
# Dense products whose weights have at most this many values (16 KB of
# float32, which stay in the L1 cache) run through the engine's own tiles
# (_dense.pxi), at any batch size: BLAS would first copy them into its
# packed layout, which costs as much as the product itself.
cdef Py_ssize_t TILE_MAX_W = 4096
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
NOT_FINITE = STATUS_NOT_FINITE
COUNTER_SLOTS = {"steps": CNT_STEPS, "t": CNT_T, "status": CNT_STATUS}
STOP_SLOTS = {"scale": STOP_SCALE, "tol": STOP_TOL, "patience": STOP_PATIENCE,
              "best": STOP_BEST, "count": STOP_COUNT}


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
    # scratch: a convolution's unfolded input (im2col), or a small dense
    # layer's transposed weights
    Py_ssize_t col_off
    Py_ssize_t tmp_off      # convolution scratch: channel-major product
    Py_ssize_t size         # values the workspace must hold
    bint whole              # each product in one BLAS call (a half batch)
    Layer layers[MAX_LAYERS]


# ---------------------------------------------------------------- the topics
include "_layout.pxi"
include "_gemm.pxi"
include "_blas.pxi"
include "_dense.pxi"
include "_conv.pxi"
include "_loss.pxi"
include "_passes.pxi"
include "_update.pxi"
include "_rng.pxi"
include "_train.pxi"
include "_predict.pxi"
