# The optimizers' updates over the flat parameter buffer (torch.optim's rules).
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ optimizers
cdef void _update(int kind, const double* h, int64_t t, floating* params,
                  const floating* grads, floating* state,
                  Py_ssize_t n, Py_ssize_t ld=-1) noexcept nogil:
    """params := params - step(grads), exactly torch.optim's rules.

    t is the number of steps taken before this one; state holds the
    optimizer's buffers laid out as the parameters are: SGD the momentum
    buffer; Adam exp_avg, exp_avg_sq; AdaGrad the sum of squares; RMSprop
    square_avg, grad_avg, the momentum buffer; Rprop prev, step_size. Each
    of these buffers lies ld values after the one before (ld < 0: n), so
    that a part of the parameters can be updated on its own (_update_par).
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
    if ld < 0:
        ld = n
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
        v_state = state + ld
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
        _rmsprop(h, params, grads, state, n, ld)
    elif kind == OPT_RPROP:
        _rprop(h, t, params, grads, state, n, ld)


cdef void _rmsprop(const double* h, floating* params, const floating* grads,
                   floating* state, Py_ssize_t n, Py_ssize_t ld) noexcept nogil:
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
    cdef floating* ga_state = state + ld
    cdef floating* buf_state = state + 2 * ld
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
                 floating* state, Py_ssize_t n, Py_ssize_t ld) noexcept nogil:
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
    cdef floating* steps = state + ld
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


# Updates of at least this many parameters run in PARTS parts side by side
# (a 784-256-128-10 network's 235k in two parts: mini-batch 128 from 109k to
# 117k samples/s on two cores).
cdef Py_ssize_t PAR_MIN_UPDATE = 1 << 16


cdef void _update_par(int kind, const double* h, int64_t t, floating* params,
                      const floating* grads, floating* state, Py_ssize_t n,
                      int n_threads) noexcept nogil:
    """_update, from PAR_MIN_UPDATE parameters on in PARTS parts on the
    engine's threads: every rule is elementwise, so the bits are the same
    on any number of threads. Parts start on multiples of 16 values (whole
    cache lines of float32)."""
    cdef Py_ssize_t c, a, part
    cdef int q
    if n < PAR_MIN_UPDATE or n_threads < 2:
        _update(kind, h, t, params, grads, state, n, n)
        return
    c = ((n + PARTS - 1) // PARTS + 15) // 16 * 16
    for q in prange(PARTS, num_threads=min(n_threads, PARTS), schedule="static", chunksize=1):
        a = q * c
        part = min(c, n - a)
        if part > 0:
            _update(kind, h, t, params + a, grads + a, state + a, part, n)


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
