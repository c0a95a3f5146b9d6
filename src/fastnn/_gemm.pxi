# The engine's own float32 matrix product, for products with a short side:
# the batches of up to OWN_MAX_SIDE rows of mini-batch training.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ own product
# BLAS copies both operands of every product into its own layout before it
# multiplies ("packing"), which pays when each copied value is used many
# times. In a training step of a batch of 128 rows, each weight is used only
# 128 times per product, and the copies of W (sgemm_itcopy) took 10-14% of
# a 784-256-128-10 step at batch 128. This product reads its operands where
# they lie: a register tile of 6 rows by 16 columns of the result (12 AVX
# registers of 8 float32), which runs over the shared side with one fused
# multiply-add per value, reading a row of B (16 values, two loads) and one
# value of each of the 6 rows of A (broadcast) per step. Blocks of KC steps
# and MC rows keep B's strip in the L1 cache and A's rows in L2.
#
# A weight gradient reads A by its columns (X^T): a tile's 6 values of one
# step lie in one row of X, the next step's in the next row, a cache line
# further each step. Such a block of A (at most MC x KC values) is copied
# once, tile by tile, into a panel where each tile's values lie in the order
# it reads them, when more than one strip of 16 columns reads it. On the
# 2-core AMD EPYC with AVX-512 (Zen 4; AVX2 build), alone, one thread's half
# of the first layer's gradient at batch 128 (784 x 128^T @ 128 x 256, cut
# in two) took 236-244 µs against 270-284 without the copy; mini-batch
# 784-256-128-10 training at batch 128 ran 1.4-5.3% faster (4 alternations).
#
# Measured on 2 cores (AMD EPYC Zen 3, AVX2; OpenBLAS 0.3 Haswell kernels):
# alone and hot in the caches, one thread ran 128 x 784 @ 784 x 128 at 87
# GFLOP/s against BLAS's 89, and 784 x 128^T @ 128 x 128 at 87 against 89;
# in the training step, where each product's operands were just written by
# the other core, mini-batch 784-256-128-10 training ran (samples/s, the
# two in turn in one process, medians): batch 64 70,000 -> 87,900, batch 128
# 126,900 -> 136,400, batch 256 (halves of 128 rows) 121,900 -> 125,500; at
# batch 512 (halves of 256) 150,100 -> 148,600, so from 256 rows on BLAS
# keeps its products.
#
# Every element is a sum over blocks of at most FNN_KC steps of the shared
# side (equal blocks, decided by its length alone): each block's sum a[k] b[k]
# + a[k+1] b[k+1] + ... runs from 0 with one rounding per fused multiply-add,
# in that order, and is then added to the element's value so far (C's value,
# the bias or 0 before the first block), the same whichever tile, block of
# rows or part computes it: the bits depend on the sizes alone, never on the
# thread count. Summing each block from 0 keeps the rounding error of a sum
# over K steps near (FNN_KC + K / FNN_KC) roundings rather than K (one
# running sum over 100,000 inputs was off by 1.4e-4 of the exact sum, where
# BLAS, which also sums in blocks, was off by 2.4e-7).
#
# Built only with AVX2 and FMA (the _avx2 and _avx512 builds); the baseline
# build keeps BLAS for every product.
cdef extern from *:
    """
    #if defined(__AVX2__) && defined(__FMA__)
    #include <immintrin.h>
    #define FNN_OWN_GEMM 1
    #define FNN_MR 6        /* rows of a register tile */
    #define FNN_KC 256      /* at most this many steps per block */
    #define FNN_MC 144      /* at most this many rows per block */

    /* C[r, 0:w] := act(start + sum_s A[r*rs + s*ss] * B[s*ldb + 0:w]) for
       r < R <= 6: the sum from 0 in the order s = 0, 1, ..., S-1, one fused
       multiply-add each, then added to start, which is C[r, 0:w] (load),
       else bias[0:w] (bias not NULL), else 0; act is ReLU (relu: 0 where
       the result is below 0, as _activate_rows has it, NaN and -0 kept) or
       none. V vectors of 8 columns (1 or 2); unless full (w = 16), the last
       vector's columns are those set in mask (masked loads and stores read
       and write nothing outside them). */
    static inline __attribute__((always_inline)) void
    fnn_tile(int R, int V, int full, __m256i mask, int load, long S,
             const float* A, long rs, long ss, const float* B, long ldb,
             float* C, long ldc, const float* bias, int relu) {
        __m256 c[FNN_MR][2];
        __m256 start[2];
        int r, v;
        _Pragma("GCC unroll 6")
        for (r = 0; r < R; r++)
            for (v = 0; v < V; v++)
                c[r][v] = _mm256_setzero_ps();
        for (long s = 0; s < S; s++) {
            const float* b = B + s * ldb;
            const float* a = A + s * ss;
            __m256 b0, b1 = _mm256_setzero_ps();
            if (full) { b0 = _mm256_loadu_ps(b); b1 = _mm256_loadu_ps(b + 8); }
            else if (V == 2) { b0 = _mm256_loadu_ps(b); b1 = _mm256_maskload_ps(b + 8, mask); }
            else b0 = _mm256_maskload_ps(b, mask);
            _Pragma("GCC unroll 6")
            for (r = 0; r < R; r++) {
                __m256 x = _mm256_broadcast_ss(a + r * rs);
                c[r][0] = _mm256_fmadd_ps(x, b0, c[r][0]);
                if (V == 2) c[r][1] = _mm256_fmadd_ps(x, b1, c[r][1]);
            }
        }
        if (!load && bias) {
            for (v = 0; v < V; v++) {
                if (v == V - 1 && !full) start[v] = _mm256_maskload_ps(bias + 8 * v, mask);
                else start[v] = _mm256_loadu_ps(bias + 8 * v);
            }
            _Pragma("GCC unroll 6")
            for (r = 0; r < R; r++)
                for (v = 0; v < V; v++)
                    c[r][v] = _mm256_add_ps(start[v], c[r][v]);
        } else if (load) {
            _Pragma("GCC unroll 6")
            for (r = 0; r < R; r++)
                for (v = 0; v < V; v++) {
                    if (v == V - 1 && !full)
                        start[0] = _mm256_maskload_ps(C + r * ldc + 8 * v, mask);
                    else start[0] = _mm256_loadu_ps(C + r * ldc + 8 * v);
                    c[r][v] = _mm256_add_ps(start[0], c[r][v]);
                }
        }
        if (relu) {
            _Pragma("GCC unroll 6")
            for (r = 0; r < R; r++)
                for (v = 0; v < V; v++)
                    c[r][v] = _mm256_max_ps(_mm256_setzero_ps(), c[r][v]);
        }
        _Pragma("GCC unroll 6")
        for (r = 0; r < R; r++)
            for (v = 0; v < V; v++) {
                if (v == V - 1 && !full) _mm256_maskstore_ps(C + r * ldc + 8 * v, mask, c[r][v]);
                else _mm256_storeu_ps(C + r * ldc + 8 * v, c[r][v]);
            }
    }

    /* The full tile, A's rows contiguous (ss = 1) or its columns (rs = 1). */
    static void fnn_tile_full_rows(int load, long S, const float* A, long rs,
                                   const float* B, long ldb, float* C, long ldc,
                                   const float* bias, int relu) {
        fnn_tile(6, 2, 1, _mm256_setzero_si256(), load, S, A, rs, 1, B, ldb, C, ldc,
                 bias, relu);
    }
    static void fnn_tile_full_cols(int load, long S, const float* A, long ss,
                                   const float* B, long ldb, float* C, long ldc,
                                   const float* bias, int relu) {
        fnn_tile(6, 2, 1, _mm256_setzero_si256(), load, S, A, 1, ss, B, ldb, C, ldc,
                 bias, relu);
    }
    /* The edge tiles: R rows, w < 16 columns or R < 6 rows. */
    #define FNN_EDGE(R) \
        static void fnn_tile_edge_##R(int V, __m256i mask, int load, long S, const float* A, \
                                      long rs, long ss, const float* B, long ldb, float* C, \
                                      long ldc, const float* bias, int relu) { \
            if (V == 2) fnn_tile(R, 2, 0, mask, load, S, A, rs, ss, B, ldb, C, ldc, bias, relu); \
            else fnn_tile(R, 1, 0, mask, load, S, A, rs, ss, B, ldb, C, ldc, bias, relu); \
        }
    FNN_EDGE(1) FNN_EDGE(2) FNN_EDGE(3) FNN_EDGE(4) FNN_EDGE(5) FNN_EDGE(6)
    typedef void (*fnn_edge_fn)(int, __m256i, int, long, const float*, long, long,
                                const float*, long, float*, long, const float*, int);
    static const fnn_edge_fn fnn_edges[FNN_MR + 1] = {
        0, fnn_tile_edge_1, fnn_tile_edge_2, fnn_tile_edge_3, fnn_tile_edge_4,
        fnn_tile_edge_5, fnn_tile_edge_6};

    /* The rows of the register tile that starts `left` rows before the end
       of a block: 6, or 4 when 7 or 8 are left (4 + 3 or 4 + 4, not 6 + 1
       or 6 + 2: a tile of 1 or 2 rows waits on its few sums). */
    static inline int fnn_tile_rows(long left) {
        if (left == 7 || left == 8) return 4;
        return left < FNN_MR ? (int)left : FNN_MR;
    }

    /* A block of A's columns (rs = 1: A' is A transposed, a weight
       gradient's X^T), copied tile by tile: tile t's R rows lie at steps
       s = 0 .. S-1 as R consecutive values each (A'[i + r, k0 + s] at
       panel[s * R + r]), so that the tile reads them in order where it
       would read one value per row of A, each in another cache line. One
       per thread: the engine's threads each multiply their own part. */
    static __thread float fnn_panel[FNN_MC * FNN_KC + 2];

    /* Equal blocks of at most `most` (a multiple of `unit`) out of n. */
    static long fnn_block(long n, long most, long unit) {
        long parts = (n + most - 1) / most, b;
        if (parts < 1) return unit;
        b = (n + parts - 1) / parts;
        return (b + unit - 1) / unit * unit;
    }

    /* C := act(start + A' @ B), row-major: C is M x N (row i at C + i*ldc),
       A'[i, k] = A[i*rs + k*ss] (M x K; rs or ss is 1), B is K x N (row k at
       B + k*ldb); start is C (load), else the N values of bias in every row
       (bias not NULL), else 0; act is ReLU (relu) or none. Reads A', B, C
       and bias only within those bounds. */
    static void fnn_gemm_rm(long M, long N, long K, const float* A, long rs, long ss,
                            const float* B, long ldb, int load, float* C, long ldc,
                            const float* bias, int relu) {
        long mc = fnn_block(M, FNN_MC, FNN_MR), kc = fnn_block(K, FNN_KC, 1);
        long i0, i, k0, j, S, w, mend, s;
        int R, V, ld, q, act, r, packed;
        const float* bj;
        const float* a;
        float* p;
        int lanes[8];
        __m256i mask;
        for (i0 = 0; i0 < M; i0 += mc) {
            mend = M - i0 < mc ? M : i0 + mc;
            for (k0 = 0; k0 == 0 || k0 < K; k0 += kc) {
                S = K - k0 < kc ? K - k0 : kc;
                ld = load || k0 > 0;
                act = relu && k0 + S >= K;      /* on the last block's sums */
                /* A's columns, read by more than one strip of 16 columns:
                   copied into the panel once (mend - i0 <= mc, S <= kc) */
                packed = rs == 1 && ss != 1 && N > 16 && S > 0;
                if (packed) {
                    p = fnn_panel;
                    for (i = i0; i < mend; i += R) {
                        R = fnn_tile_rows(mend - i);
                        if (R == FNN_MR && i + 8 <= M) {
                            /* 8 values a step: the 2 after the tile's rows lie in
                               A's row (ss >= M), and land where the next step (or
                               the next tile, or the panel's spare end) writes */
                            for (s = 0; s < S; s++)
                                _mm256_storeu_ps(p + s * FNN_MR,
                                                 _mm256_loadu_ps(A + i + (k0 + s) * ss));
                        } else {
                            for (s = 0; s < S; s++) {
                                a = A + i + (k0 + s) * ss;
                                for (r = 0; r < R; r++) p[s * R + r] = a[r];
                            }
                        }
                        p += R * S;
                    }
                }
                for (j = 0; j < N; j += 16) {
                    w = N - j < 16 ? N - j : 16;
                    V = w > 8 ? 2 : 1;
                    for (q = 0; q < 8; q++) lanes[q] = q < w - 8 * (V - 1) ? -1 : 0;
                    mask = _mm256_loadu_si256((const __m256i*)lanes);
                    bj = bias ? bias + j : 0;
                    p = fnn_panel;
                    for (i = i0; i < mend; i += R) {
                        R = fnn_tile_rows(mend - i);
                        if (packed) {
                            if (R == FNN_MR && w == 16)
                                fnn_tile_full_cols(ld, S, p, R, B + k0 * ldb + j, ldb,
                                                   C + i * ldc + j, ldc, bj, act);
                            else
                                fnn_edges[R](V, mask, ld, S, p, 1, R, B + k0 * ldb + j, ldb,
                                             C + i * ldc + j, ldc, bj, act);
                            p += R * S;
                        } else if (R == FNN_MR && w == 16 && ss == 1)
                            fnn_tile_full_rows(ld, S, A + i * rs + k0, rs, B + k0 * ldb + j,
                                               ldb, C + i * ldc + j, ldc, bj, act);
                        else if (R == FNN_MR && w == 16 && rs == 1)
                            fnn_tile_full_cols(ld, S, A + i + k0 * ss, ss, B + k0 * ldb + j,
                                               ldb, C + i * ldc + j, ldc, bj, act);
                        else
                            fnn_edges[R](V, mask, ld, S, A + i * rs + k0 * ss, rs, ss,
                                         B + k0 * ldb + j, ldb, C + i * ldc + j, ldc, bj,
                                         act);
                    }
                }
                if (K == 0) break;
            }
        }
    }
    #else
    #define FNN_OWN_GEMM 0
    static void fnn_gemm_rm(long M, long N, long K, const float* A, long rs, long ss,
                            const float* B, long ldb, int load, float* C, long ldc,
                            const float* bias, int relu) {}
    #endif
    """
    bint OWN_GEMM "FNN_OWN_GEMM"
    void _own_gemm "fnn_gemm_rm"(long M, long N, long K, const float* A, long rs, long ss,
                                 const float* B, long ldb, bint load, float* C,
                                 long ldc, const float* bias, bint relu) noexcept nogil

# The own product takes a product whose rows or shared side (the batch's
# rows, in a forward pass or a weight gradient) is at most this long.
cdef Py_ssize_t OWN_MAX_SIDE = 128

# ... and a forward pass or weight gradient of a batch of up to this many
# times as many rows, whatever its other sides: the halves of up to 512
# rows that batches of up to 1,024 are cut into (network._splits), each
# product on its own thread. On the 2-core AMD EPYC with AVX-512 (Zen 4;
# AVX2 build), alone and hot in the caches, one thread ran the products of
# half a batch of 1,024 through 784-256-128-10 at 0.93-1.05x BLAS's time;
# in training, where BLAS copies operands just written into its own
# layout, mini-batch training ran (samples/s, medians of 6-8 epochs in
# turn in one process) at batch 1,024 172,000-180,000 -> 182,000-192,000,
# batch 384 176,000 -> 188,000, batch 200 111,000 -> 127,000. Products
# with more rows and a shared side of 129-512 stay with BLAS: 4,096 rows
# of 300 -> 512 took 1.25x BLAS's time (the own product reads W again for
# every block of 144 rows).
cdef Py_ssize_t OWN_ROWS_PER_SIDE = 4


def own_matmul(const float[:, ::1] A not None, const float[:, ::1] B not None,
               float[:, ::1] C not None,
               bint transpose_a=False, bint accumulate=False,
               const float[::1] bias=None, bint relu=False):
    """C := act(start + A @ B) (A.T @ B with ``transpose_a``) by the engine's
    own product whatever the sizes (for tests): start is C's values
    (``accumulate``), else ``bias`` (n,) in every row, else 0; act is ReLU
    (``relu``) or none. Raises ValueError when the shapes do not agree or
    this build has no own product (see ``OWN_GEMM``)."""
    cdef Py_ssize_t m, k, n = B.shape[1]
    cdef const float* a
    cdef const float* b
    cdef const float* bp = NULL
    if not OWN_GEMM:
        raise ValueError("own_matmul: this build has no own product (no AVX2 and FMA)")
    m = A.shape[1] if transpose_a else A.shape[0]
    k = A.shape[0] if transpose_a else A.shape[1]
    if B.shape[0] != k or C.shape[0] != m or C.shape[1] != n:
        raise ValueError("own_matmul: the shapes do not agree")
    if bias is not None:
        if bias.shape[0] != n:
            raise ValueError("own_matmul: bias must have one value per column of C")
        if n > 0:
            bp = &bias[0]
    if m == 0 or n == 0:
        return
    a = &A[0, 0] if k > 0 else NULL
    b = &B[0, 0] if k > 0 else NULL
    with nogil:
        _own_gemm(m, n, k, a, 1 if transpose_a else k, m if transpose_a else 1,
                  b, n, accumulate, &C[0, 0], n, bp, relu)


def own_gemm_available():
    """Whether this build has the engine's own float32 product."""
    return bool(OWN_GEMM)


def set_own_max_side(Py_ssize_t n):
    """Send products whose rows or shared side is at most n, and forward
    passes and weight gradients of batches of at most 4n rows, to the own
    product (0: none; the default is 128); returns the previous limit. For
    tests and benchmarks: the bits of a product change with its kernel."""
    global OWN_MAX_SIDE
    if n < 0:
        raise ValueError(f"set_own_max_side: n must be 0 or more, got {n}")
    old = OWN_MAX_SIDE
    OWN_MAX_SIDE = n
    return old
