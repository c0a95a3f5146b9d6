# Activations and the dense layer's forward and backward passes.
# Included by _kernels.pyx: one module, one namespace.

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
