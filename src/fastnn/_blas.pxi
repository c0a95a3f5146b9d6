# BLAS calls, and how the engine divides a large product among its threads.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ BLAS and threads
# The engine owns how its work is divided, so that no result depends on the
# thread count. BLAS always runs single-threaded inside the engine (every
# entry point that may call it holds BLAS's own count at 1 while it runs:
# _blas_serial_begin / _blas_serial_end), because a multi-threaded BLAS
# divides a product by its thread count, and some kernels (OpenBLAS's,
# under some OPENBLAS_CORETYPE settings) then sum in another order. A large
# product is instead cut by the engine into PARTS fixed parts along the
# longer side of its result, decided by its sizes alone; the engine's threads
# (OpenMP, ``set_threads``) compute the parts side by side, or one thread
# one after the other: each part is the same single-threaded BLAS call
# either way, so the bits are the same. The blocks of a large prediction
# and the halves of a split batch (decided by sizes alone, run on one engine
# thread each) call each product whole; a product still cut in parts there
# (a half batch's one-row matrix-vector product) computes its parts one
# after the other: the same calls, no nested team of threads.
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
# Matrix-vector products over at least this many bytes of matrix (and with
# at most GEMV_MAX_M results) are cut into two parts along x. Measured on
# two threads, one-sample prediction (µs; one call against parts): float32
# 256-256-10 4.7 against 5.2 (256 KB of weights in the first layer),
# 300-300-10 6.4 against 5.9 (352 KB), 512-256-10 10.3 against 7.5
# (512 KB); float64 256-256-10 10.6 against 10.9 (512 KB). The limit lies
# between the loss and the first gain.
cdef Py_ssize_t PAR_MIN_GEMV_BYTES = 320 * 1024
cdef enum:
    GEMV_MAX_M = 2048
# A second engine thread that starts its part this late (seconds after the
# parallel section began) was kept from its core by other work: the engine
# then runs on the calling thread alone (every part, half and block one
# after the other) for THREAD_BACKOFF seconds, and tries two threads again
# after that. A woken thread starts within some microseconds (at most 30 µs
# measured, after it slept); one behind a busy process waits for the
# scheduler's next turn, at every one of a training step's sections. With
# one busy process beside it on two cores: one sample's prediction took
# 116-229 µs on two threads against 22 µs on one, and mini-batch 128
# training 23,500 samples/s against 69,700. Either way the calls and sums
# are the same, so only the time changes, never the bits.
# Only a section that starts within THREAD_RECENT of the last one's end is
# judged: its second thread should still be spinning (GOMP_SPINCOUNT, see
# _dispatch), while one that slept must first be woken, which on a virtual
# machine whose second core went idle can itself take longer than
# THREAD_LATE (so that every try after a backoff would find it late).
cdef double THREAD_LATE = 60e-6
cdef double THREAD_RECENT = 30e-6
cdef double THREAD_BACKOFF = 20e-3
cdef double _one_thread_until = 0.0
cdef double _last_section_end = -1.0


cdef inline int _threads_now(int n) noexcept nogil:
    """n threads, or 1 while the engine runs on the calling thread alone
    after a late second thread. Reads the clock only during such a while
    (_one_thread_until is 0 otherwise), so a hot loop that asks every step
    (the online step) pays nothing."""
    global _one_thread_until
    if n > 1 and _one_thread_until != 0.0:
        if omp_get_wtime() < _one_thread_until:
            return 1
        _one_thread_until = 0.0
    return n


cdef inline void _note_start(double start, double second) noexcept nogil:
    """After a parallel section that began at ``start`` and whose second
    thread started its part at ``second`` (omp_get_wtime): one thread for a
    while if that was late although the thread should have been awake."""
    global _one_thread_until, _last_section_end
    cdef double now = omp_get_wtime()
    if second - start > THREAD_LATE and start - _last_section_end < THREAD_RECENT:
        _one_thread_until = now + THREAD_BACKOFF
    _last_section_end = now


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


def hold_one_thread(double seconds):
    """Run the engine on the calling thread alone for the next ``seconds``
    (0: from now on as usual), as after a second thread was found late.
    For tests: the bits must not change."""
    global _one_thread_until
    _one_thread_until = omp_get_wtime() + seconds if seconds > 0 else 0.0


def get_threads():
    """The threads that compute the parts of large products."""
    return _n_threads


cdef inline void _gemm1(bint ta, bint tb, int M, int N, int K,
                        floating alpha, const floating* A, int lda,
                        const floating* B, int ldb, floating beta,
                        floating* C, int ldc, const floating* bias,
                        bint relu) noexcept nogil:
    """C := act(alpha * op(A) @ op(B) + start), column-major (BLAS order), one
    call: start is beta * C, or with ``bias`` (M values, not NULL) the bias
    in every column of C; act is ReLU (``relu``: 0 where C < 0, NaN and -0
    kept, as _activate_rows has it) or none. The bias and ReLU are applied
    by the call that computes the columns, on its thread, while they are in
    its cache.

    A float32 product whose rows (N) or shared side (K) is at most
    OWN_MAX_SIDE goes to the engine's own product (_gemm.pxi) where this
    build has one, when it reads A untransposed, alpha is 1 and beta 0 or 1:
    a forward pass or a weight gradient of a batch of up to that many rows.
    So does one whose batch rows are at most OWN_ROWS_PER_SIDE times that:
    a forward pass's N (B read as is) or a weight gradient's K (B read
    transposed, X^T). In row-major terms that is C^T (N x M) := op(B)^T @
    A^T (+ C^T)."""
    cdef char transa = 84 if ta else 78    # 'T' or 'N'
    cdef char transb = 84 if tb else 78
    cdef Py_ssize_t i
    if floating is float:
        if (OWN_GEMM and not ta and alpha == 1 and (beta == 0 or beta == 1 or bias != NULL)
                and (min(N, K) <= OWN_MAX_SIDE
                     or (K if tb else N) <= OWN_ROWS_PER_SIDE * OWN_MAX_SIDE)):
            # op(B)^T[i, k] is B[i * ldb + k] (B as is) or B[i + k * ldb] (tb)
            _own_gemm(N, M, K, <const float*>B, 1 if tb else ldb, ldb if tb else 1,
                      <const float*>A, lda, bias == NULL and beta != 0, C, ldc,
                      <const float*>bias, relu)
            return
    if bias != NULL:    # the columns start as the bias, which BLAS adds to
        for i in range(N):
            memcpy(C + i * ldc, bias, M * sizeof(floating))
        beta = 1
    if floating is float:
        sgemm(&transa, &transb, &M, &N, &K, &alpha, <float*>A, &lda,
              <float*>B, &ldb, &beta, C, &ldc)
    else:
        dgemm(&transa, &transb, &M, &N, &K, &alpha, <double*>A, &lda,
              <double*>B, &ldb, &beta, C, &ldc)
    if relu:
        for i in range(N):
            _activate_rows(C + i * ldc, 1, M, RELU)


cdef inline void _gemm_part(int h, bint ta, bint tb, int M, int N, int K,
                            floating alpha, const floating* A, int lda,
                            const floating* B, int ldb, floating beta,
                            floating* C, int ldc, const floating* bias,
                            bint relu) noexcept nogil:
    """Part h of PARTS of _gemm, cut along C's longer side: the columns
    [h*c, min((h+1)*c, N)) of C, c = ceil(N/PARTS), when N >= M, else its
    rows [h*r, min((h+1)*r, M)), r = ceil(M/PARTS).

    Each part packs its slice of one operand and all of the other (BLAS
    copies both into its own layout before it multiplies), so cutting the
    longer side packs the least. At 128 rows through 784-256 (M = 256
    outputs, N = 128 rows, K = 784), one thread's part took 357 µs cut
    along the outputs against 419 µs along the rows, the packing of W 13%
    of the time against 24%."""
    cdef int c, c0, n
    if N >= M:
        c = (N + PARTS - 1) // PARTS
        c0 = h * c
        n = min(c, N - c0)
        if n > 0:
            _gemm1(ta, tb, M, n, K, alpha, A, lda, B + (c0 if tb else c0 * ldb), ldb,
                   beta, C + c0 * ldc, ldc, bias, relu)
    else:
        c = (M + PARTS - 1) // PARTS
        c0 = h * c
        n = min(c, M - c0)
        if n > 0:
            _gemm1(ta, tb, n, N, K, alpha, A + (c0 * lda if ta else c0), lda, B, ldb,
                   beta, C + c0, ldc, bias + c0 if bias != NULL else NULL, relu)


cdef void _gemm(bint ta, bint tb, int M, int N, int K,
                floating alpha, const floating* A, int lda,
                const floating* B, int ldb, floating beta,
                floating* C, int ldc, bint whole, const floating* bias=NULL,
                bint relu=False) noexcept nogil:
    """C := act(alpha * op(A) @ op(B) + start), column-major (BLAS order), as
    _gemm1 (bias, relu); from PAR_MIN_MACS multiply-adds on in PARTS column
    parts, on the engine's threads.

    ``whole``: one call however large (a half batch, already on a thread of
    its own: the parts would pack the shared operand twice)."""
    cdef int h
    cdef double start, second = 0.0
    if whole or <Py_ssize_t>M * N * K < PAR_MIN_MACS or max(M, N) < PARTS:
        _gemm1(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu)
    elif _threads_now(_n_threads) == 1 or omp_get_level() > 0:  # or on an engine thread
        for h in range(PARTS):
            _gemm_part(h, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu)
    else:
        start = omp_get_wtime()
        for h in prange(PARTS, num_threads=PARTS, schedule="static", chunksize=1):
            if h == 1:
                second = omp_get_wtime()
            _gemm_part(h, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu)
        _note_start(start, second)


cdef inline void _gemv1(int M, int N, floating alpha, const floating* A, int lda,
                        const floating* x, floating beta, floating* y) noexcept nogil:
    """y := alpha * A @ x + beta * y, column-major A (M, N), one call."""
    cdef char trans = 78    # 'N'
    cdef int one = 1
    if floating is float:
        sgemv(&trans, &M, &N, &alpha, <float*>A, &lda, <float*>x, &one, &beta, y, &one)
    else:
        dgemv(&trans, &M, &N, &alpha, <double*>A, &lda, <double*>x, &one, &beta, y, &one)


cdef inline void _gemv_half(int h, int M, int N, floating alpha, const floating* A,
                            int lda, const floating* x, floating beta, floating* y,
                            floating* tmp) noexcept nogil:
    """Half h of _gemv's cut along x, k = ceil(N/2): h = 0, y := alpha *
    A[:, :k] @ x[:k] + beta * y; h = 1, tmp := alpha * A[:, k:] @ x[k:]."""
    cdef int k = (N + 1) // 2
    if h == 0:
        _gemv1(M, k, alpha, A, lda, x, beta, y)
    else:
        _gemv1(M, N - k, alpha, A + <Py_ssize_t>k * lda, lda, x + k, <floating>0.0, tmp)


cdef void _gemv(int M, int N, floating alpha, const floating* A, int lda,
                const floating* x, floating beta, floating* y) noexcept nogil:
    """y := alpha * A @ x + beta * y, column-major A (M, N); from
    PAR_MIN_GEMV_BYTES of A on in two parts along x (the columns of A):
    y := (alpha * A[:, :k] @ x[:k] + beta * y) + alpha * A[:, k:] @ x[k:],
    k = ceil(N/2), the parts side by side on the engine's threads or one
    after the other on one, the same calls and the same sum either way.

    Each part reads one contiguous half of A, so that on two cores each half
    stays in its own core's L2 cache from call to call: a 784-256-128-10
    prediction of one sample in 12 µs on two threads against 16 µs on one
    (the first layer's 784 x 256 float32 weights are 0.8 MB, the L2 cache
    512 KB a core). Cut instead along y, each part read every other 512
    bytes of A, which the cache maps onto half of its sets (16 µs against
    21 µs). A part of a few microseconds waits for a second thread that
    another busy process keeps from its core (with one other process
    running, 116-229 µs on two threads, 22 µs on one), so a second thread
    found late turns the engine to one thread for a while (THREAD_LATE,
    THREAD_BACKOFF)."""
    cdef floating tmp[GEMV_MAX_M]
    cdef int h, i
    cdef double start, second = 0.0
    if <Py_ssize_t>M * N * <Py_ssize_t>sizeof(floating) < PAR_MIN_GEMV_BYTES or N < PARTS \
            or M > GEMV_MAX_M:
        _gemv1(M, N, alpha, A, lda, x, beta, y)
        return
    if _threads_now(_n_threads) == 1 or omp_get_level() > 0:    # or on an engine thread
        for h in range(PARTS):
            _gemv_half(h, M, N, alpha, A, lda, x, beta, y, tmp)
    else:
        start = omp_get_wtime()
        for h in prange(PARTS, num_threads=PARTS, schedule="static", chunksize=1):
            if h == 1:
                second = omp_get_wtime()
            _gemv_half(h, M, N, alpha, A, lda, x, beta, y, tmp)
        _note_start(start, second)
    for i in range(M):
        y[i] += tmp[i]
