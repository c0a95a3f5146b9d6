# The entry points the Python layer calls: forward, losses, train, update, Stepper.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ entry points
def forward(const int64_t[:, ::1] spec,
            const floating[::1] params,       # IN  (n_params,)
            const floating[:, ::1] X,         # IN  (n, n_in)
            floating[:, ::1] out,             # OUT (n, n_out)
            floating[::1] work,               # workspace(s) for `chunk` rows
            Py_ssize_t chunk, bint check_finite=False):
    """out := network(X), the output layer's activation, chunk rows at a time.

    Over one block (n > chunk), each block of ``chunk`` rows is computed on
    one thread, each product in one BLAS call (cut in column parts, each part
    would pack the block's input again: 10,000 rows of 784-256-128-10 took
    1.2x as long). With PARTS workspaces in ``work`` (``workspace_size(spec,
    chunk, copies=PARTS)``), the blocks are shared out among the engine's
    threads, each in a workspace of its own, with no wait between the
    layers. A block is the same calls on any thread, so the bits do not
    depend on the thread count (nor on the workspaces given).

    With ``check_finite``, look for NaN or infinity in X (block by block,
    while the block is in the cache): if there is any, return False;
    ``out`` is then undefined."""
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], n_in, n_out, c, n_chunks, stride
    cdef int copies, n_thr
    cdef int bad = 0
    if chunk < 1:
        raise ValueError("forward: chunk must be positive")
    chunk = min(chunk, max(n, 1))      # no layout larger than the rows (nor overflowing)
    _load_net(&net, spec, params.shape[0], chunk, work.shape[0])
    n_out = net.layers[net.n_layers - 1].n_out
    n_in = net.layers[0].n_in
    if X.shape[1] != n_in or out.shape[0] != n or out.shape[1] != n_out:
        raise ValueError("forward: X or out does not match the network")
    if n == 0:
        return True
    stride = _line_up(net.size, sizeof(floating))
    copies = <int>min(work.shape[0] // stride, PARTS)
    n_chunks = (n + chunk - 1) // chunk
    net.whole = n_chunks >= 2
    _blas_serial_begin()
    try:
        with nogil:
            if copies >= 2 and n_chunks >= 2:
                n_thr = _threads_now(min(_n_threads, copies))
                for c in prange(n_chunks, num_threads=n_thr, schedule="static", chunksize=1):
                    bad += _forward_block(&net, &params[0], &X[0, 0], &out[0, 0], n, n_in,
                                          n_out, c * chunk, chunk,
                                          &work[stride * (c % copies)], check_finite)
            else:
                for c in range(n_chunks):
                    bad += _forward_block(&net, &params[0], &X[0, 0], &out[0, 0], n, n_in,
                                          n_out, c * chunk, chunk, &work[0], check_finite)
                    if bad:
                        break
    finally:
        _blas_serial_end()
    return bad == 0


cdef int _forward_block(Net* net, const floating* params, const floating* X, floating* out,
                        Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t start,
                        Py_ssize_t chunk, floating* work, bint check_finite) noexcept nogil:
    """out[start:start + m] := network(X[start:start + m]), m = min(chunk, n - start);
    1 (nothing computed) if check_finite finds NaN or infinity there."""
    cdef Py_ssize_t m = min(chunk, n - start)
    if check_finite and not _all_finite(X + start * n_in, m * n_in):
        return 1
    _forward(net, params, X + start * n_in, m, work, False, NULL)
    memcpy(out + start * n_out, work + net.layers[net.n_layers - 1].out_off,
           m * n_out * sizeof(floating))
    return 0


cdef bint _rows_finite(const floating* X, const int64_t* idx, Py_ssize_t m,
                       Py_ssize_t n_in) noexcept nogil:
    """True if no value of a batch's m rows of X is NaN or infinite: the
    rows X[:m] (idx NULL), or the rows idx[:m] of X."""
    cdef Py_ssize_t i
    if idx == NULL:
        return _all_finite(X, m * n_in)
    for i in range(m):
        if not _all_finite(X + idx[i] * n_in, n_in):
            return False
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


# Arrays of at least this many bytes are checked in PARTS pieces on the
# engine's threads: one core reads 188 MB of float32 (60,000 rows of 784)
# in about 10 ms, memory-bound, and a second core reading the other half
# takes about a third off.
cdef Py_ssize_t PAR_MIN_CHECK_BYTES = 1 << 22


def all_finite(const floating[::1] values):
    """True if no value is NaN or infinite (one pass, no temporary array;
    on two of the engine's threads from 4 MB on)."""
    cdef Py_ssize_t n = values.shape[0], c, h
    cdef bint finite = True
    cdef int ok[PARTS]
    if n == 0:
        return True
    c = (n + PARTS - 1) // PARTS
    with nogil:
        if n * <Py_ssize_t>sizeof(floating) < PAR_MIN_CHECK_BYTES or _threads_now(_n_threads) == 1:
            finite = _all_finite(&values[0], n)
        else:
            for h in prange(PARTS, num_threads=min(_n_threads, PARTS), schedule="static",
                            chunksize=1):
                ok[h] = _all_finite(&values[h * c], min(c, n - h * c))
            for h in range(PARTS):
                finite = finite and ok[h]
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
    """loss := mean loss of the network on (X, targets), chunk rows at a time,
    in blocks as in ``forward`` (with PARTS workspaces in ``work``, side by
    side), their sums added in block order (the same bits on any thread
    count)."""
    cdef Net net
    cdef Py_ssize_t n = X.shape[0], n_chunks, c, stride
    cdef int copies
    cdef double total = 0
    cdef double[::1] sums
    cdef const int64_t* lab = NULL
    cdef const floating* tgt = NULL
    if chunk < 1:
        raise ValueError("loss_value: chunk must be positive")
    chunk = min(chunk, max(n, 1))      # no layout larger than the rows (nor overflowing)
    _load_net(&net, spec, params.shape[0], chunk, work.shape[0])
    _check_targets(&net, loss, n, labels, Y.shape[0], Y.shape[1])
    if X.shape[1] != net.layers[0].n_in or n == 0:
        raise ValueError("loss_value: X does not match the network")
    if loss == CROSS_ENTROPY:
        lab = &labels[0]
    else:
        tgt = &Y[0, 0]
    stride = _line_up(net.size, sizeof(floating))
    copies = <int>min(work.shape[0] // stride, PARTS)
    n_chunks = (n + chunk - 1) // chunk
    net.whole = n_chunks >= 2
    sums = np.zeros(n_chunks, dtype=np.float64)
    _blas_serial_begin()
    try:
        with nogil:
            if copies >= 2 and n_chunks >= 2:
                for c in prange(n_chunks, num_threads=_threads_now(min(_n_threads, copies)),
                                schedule="static", chunksize=1):
                    sums[c] = _loss_block(&net, loss, &params[0], &X[0, 0], lab, tgt, n,
                                          c * chunk, chunk, &work[stride * (c % copies)])
            else:
                for c in range(n_chunks):
                    sums[c] = _loss_block(&net, loss, &params[0], &X[0, 0], lab, tgt, n,
                                          c * chunk, chunk, &work[0])
            for c in range(n_chunks):
                total += sums[c]
    finally:
        _blas_serial_end()
    return <double><floating>(total / n)   # the loss in the model's dtype


cdef double _loss_block(Net* net, int loss, const floating* params, const floating* X,
                        const int64_t* labels, const floating* Y, Py_ssize_t n,
                        Py_ssize_t start, Py_ssize_t chunk, floating* work) noexcept nogil:
    """The summed loss of rows [start, start + m) of X (n rows), m = min(chunk,
    n - start), against labels (cross-entropy) or the rows of Y (else)."""
    cdef Py_ssize_t m = min(chunk, n - start)
    cdef Layer* last = &net.layers[net.n_layers - 1]
    _forward(net, params, X + start * net.layers[0].n_in, m, work, True, NULL)
    return m * _loss_delta(work + last.out_off, m, last.n_out, loss, last.act,
                           labels + start if loss == CROSS_ENTROPY else NULL,
                           Y + start * last.n_out if loss != CROSS_ENTROPY else NULL,
                           NULL, NULL, NULL)


def loss_and_grad(const int64_t[:, ::1] spec, int loss,
                  const floating[::1] params,  # IN  (n_params,)
                  const floating[:, ::1] X,    # IN  (n, n_in)
                  const int64_t[::1] labels,   # IN  (n,) or empty
                  const floating[:, ::1] Y,    # IN  (n, k) or (0, k)
                  floating[::1] grads,         # OUT (n_params,)
                  floating[::1] work):         # workspace for n rows
    """loss, grads := mean loss on the batch, its gradient w.r.t. params;
    dropout acts as at inference (passes values and gradients through)."""
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
            _backward(&net, &params[0], &X[0, 0], n, &work[0], &grads[0], False)
    finally:
        _blas_serial_end()
    return <double><floating>value


cdef double _batch_grad(Net* net, int loss, bint line, const floating* X,
                        const int64_t* labels, const floating* Y, const int64_t* idx,
                        Py_ssize_t m, const floating* params, floating* grads,
                        floating* work, uint64_t* rs, Py_ssize_t* correct,
                        floating* sgd_params=NULL, floating lr=0) noexcept nogil:
    """loss := mean loss of one batch, in the model's dtype; grads := its
    gradient (left as is when the loss is not finite); correct += the rows
    it classified right (NULL: not counted). With ``sgd_params`` (one row,
    no convolution): plain SGD's step at rate lr is taken instead of
    storing the gradient, when the loss is finite (see _backward).

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
        _backward(net, params, xb, m, work, grads, rs != NULL, sgd_params, lr)
    return value


cdef double _add_l2(Net* net, double c, const floating* params,
                    floating* grads) noexcept nogil:
    """grads += c * params over every layer's weights (biases left out),
    the gradient of an L2 penalty c / 2 * sum(W**2); returns sum(W**2)."""
    cdef int li
    cdef Py_ssize_t p
    cdef floating cf = <floating>c
    cdef double total = 0
    cdef Layer* L
    for li in range(net.n_layers):
        L = &net.layers[li]
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
    cdef int li
    cdef Layer* L
    for li in range(net.n_layers):
        L = &net.layers[li]
        if L.kind == DENSE and m * L.n_in * L.n_out >= BLAS_MIN_MACS:
            return True
        if L.kind == CONV2D and _conv_uses_blas(L, m):
            return True
    return False


cdef bint _has_conv(Net* net) noexcept nogil:
    """True if any layer is a convolution."""
    cdef int li
    for li in range(net.n_layers):
        if net.layers[li].kind == CONV2D:
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
          int64_t[::1] step_correct=None,   # OUT (steps,) rows classified right, or None
          bint check_rows=False):          # search each batch of the first epoch for NaN
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

    ``check_rows``: X has not been searched for NaN and infinity. Each batch
    of the first epoch is, just before its forward pass reads it (a split
    batch's halves on their own threads); one that holds any stops the loop
    before that step, with status NOT_FINITE. The first epoch reads every
    row, so a run of at least one epoch sees all of X, at no cost beyond
    the reads the pass makes anyway.

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
        half.whole = True
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
            or rng_state.shape[0] != 4 or counters.shape[0] != N_COUNTERS
            or step_loss.shape[0] < total_steps
            or opt_state.shape[0] < optimizer_state_size(opt_kind, n_params)
            or (record and (trace.shape[0] < total_steps
                            or trace.shape[1] != n_params))):
        raise ValueError("train: a buffer does not match the network or the run")
    use_stop = stop is not None and stop.shape[0] > 0
    if use_stop and (stop.shape[0] != N_STOP or epoch_loss is None
                     or epoch_loss.shape[0] < n_epochs):
        raise ValueError("train: the stopping rule needs stop (5,) and epoch_loss (n_epochs,)")
    count = step_correct is not None and step_correct.shape[0] > 0
    if count and (step_correct.shape[0] < total_steps or loss == MSE):
        raise ValueError("train: step_correct needs a classification loss and (steps,)")
    counters[CNT_STEPS] = 0
    counters[CNT_STATUS] = STATUS_OK
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
                    half_size, use_stop, stop, epoch_loss, count, step_correct, check_rows)
    finally:
        if serial:
            _blas_serial_end()


cdef int _line_fit(Net* net, floating* params, floating* grads, const double* hyper,
                   const floating* X, const floating* Y, Py_ssize_t n, double* step_loss,
                   floating* trace, int64_t* counters, Py_ssize_t check_every,
                   Py_ssize_t total_steps) except -1:
    """The loop of ``train`` for the regression machine's own case: one
    Dense(1, 1) under MSE, every step on all n rows in order, SGD without
    momentum, decay or penalty. Each step is _train_loop's, with the same
    _line_step and the update _update makes (w := w - lr g), without the
    bookkeeping of batches, parts and optimizers; trace NULL: no path."""
    cdef Layer* L = &net.layers[0]
    cdef floating lr = <floating>hyper[H_LR]
    cdef floating* w = params + L.w_off
    cdef floating* b = params + L.b_off
    cdef floating* gw = grads + L.w_off
    cdef floating* gb = grads + L.b_off
    cdef Py_ssize_t step, since_check = 0
    cdef double value
    with nogil:
        for step in range(total_steps):
            value = <floating>_line_step(X, Y, NULL, n, w, b, gw, gb)
            if not isfinite(value):
                counters[CNT_STATUS] = STATUS_DIVERGED
                break
            step_loss[step] = <floating>value
            params[0] = params[0] - lr * grads[0]
            params[1] = params[1] - lr * grads[1]
            if trace != NULL:
                trace[2 * step] = params[0]
                trace[2 * step + 1] = params[1]
            counters[CNT_STEPS] = step + 1
            counters[CNT_T] += 1
            since_check += 1
            if since_check >= check_every:
                since_check = 0
                with gil:
                    PyErr_CheckSignals()
    return 0


cdef int _train_loop(Net* net_p, Net* half_p, int loss, bint line,
                     floating[::1] params, floating[::1] grads, int opt_kind,
                     const double[::1] hyper, floating[::1] opt_state,
                     const floating[:, ::1] X, const int64_t* lab, const floating* tgt,
                     Py_ssize_t k, Py_ssize_t n, Py_ssize_t batch_size, Py_ssize_t n_epochs,
                     bint shuffle, uint64_t* rs, int64_t[::1] order, floating[::1] work,
                     double[::1] step_loss, floating[:, ::1] trace, int64_t[::1] counters,
                     Py_ssize_t check_every, Py_ssize_t total_steps, bint split,
                     Py_ssize_t half_size, bint use_stop, double[::1] stop,
                     double[::1] epoch_loss, bint count, int64_t[::1] step_correct,
                     bint check_rows) except -1:
    """The loop of ``train``, its buffers checked (stop, epoch_loss and
    step_correct are read only when use_stop and count say so)."""
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t steps_per_epoch = (n + batch_size - 1) // batch_size
    cdef Py_ssize_t epoch, s, start, m, step, since_check = 0, h, p, first, parts
    cdef Py_ssize_t rows[2]
    cdef Py_ssize_t hits[2]
    cdef int bad[2]
    cdef Py_ssize_t n_in = X.shape[1]
    cdef double vals[2]
    cdef double value, wa, wb, t_start, t_second = 0.0
    cdef const floating* xs[2]
    cdef const int64_t* labs[2]
    cdef const floating* tgts[2]
    cdef const int64_t* idxs[2]
    cdef floating* gb[2]
    cdef floating* wk[2]
    cdef bint record = trace.shape[0] > 0
    cdef int n_threads = min(_n_threads, 2)
    cdef int nt     # threads for this step (_threads_now)
    # one row at a time under plain SGD: each layer takes its step as its
    # gradient is found (_dense_sgd_row), the same bits as _update's
    cdef bint fused = (batch_size == 1 and not line and opt_kind == OPT_SGD
                       and hyper[H_MOMENTUM] == 0 and hyper[H_WEIGHT_DECAY] == 0
                       and hyper[H_L2] == 0 and not _has_conv(net_p))
    cdef floating* sgd_params = &params[0] if fused else NULL
    cdef floating lr = <floating>hyper[H_LR]
    if (line and not shuffle and not split and batch_size >= n and not use_stop
            and not count and opt_kind == OPT_SGD and hyper[H_MOMENTUM] == 0
            and hyper[H_WEIGHT_DECAY] == 0 and hyper[H_L2] == 0 and n_params == 2):
        if check_rows and not _all_finite(&X[0, 0], n):
            counters[CNT_STATUS] = STATUS_NOT_FINITE
            return 0
        return _line_fit(net_p, &params[0], &grads[0], &hyper[0], &X[0, 0],
                         tgt, n, &step_loss[0], &trace[0, 0] if record else NULL,
                         &counters[0], check_every, total_steps)
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
                nt = _threads_now(n_threads)
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
                check_rows = check_rows and step < steps_per_epoch     # the first epoch
                if parts == 1:
                    if check_rows and not _rows_finite(xs[0], idxs[0], m, n_in):
                        counters[CNT_STATUS] = STATUS_NOT_FINITE
                        break
                    value = _batch_grad(net_p, loss, line, xs[0], labs[0], tgts[0], idxs[0],
                                        m, &params[0], &grads[0], &work[0], rs,
                                        &hits[0] if count else NULL, sgd_params, lr)
                else:
                    gb[0] = &grads[0]
                    gb[1] = &work[2 * half_size]
                    wk[0] = &work[0]
                    wk[1] = &work[half_size]
                    t_start = omp_get_wtime()
                    for h in prange(2, num_threads=nt, schedule="static", chunksize=1):
                        if h == 1:
                            t_second = omp_get_wtime()
                        bad[h] = check_rows and not _rows_finite(xs[h], idxs[h], rows[h], n_in)
                        if not bad[h]:
                            vals[h] = _batch_grad(half_p, loss, line, xs[h], labs[h], tgts[h],
                                                  idxs[h], rows[h], &params[0], gb[h], wk[h],
                                                  rs, &hits[h] if count else NULL)
                    if nt > 1:      # on one thread the second half starts after the first
                        _note_start(t_start, t_second)
                    if bad[0] or bad[1]:
                        counters[CNT_STATUS] = STATUS_NOT_FINITE
                        break
                    wa = <double>rows[0] / m
                    wb = <double>rows[1] / m
                    value = wa * vals[0] + wb * vals[1]
                    if isfinite(value):     # elementwise: any split of p gives the same
                        for p in prange(n_params, num_threads=nt, schedule="static"):
                            grads[p] = <floating>(wa * grads[p] + wb * gb[1][p])
                if not isfinite(value):
                    counters[CNT_STATUS] = STATUS_DIVERGED
                    break
                if hyper[H_L2] != 0:    # the penalty joins the gradient and the loss
                    value += 0.5 * hyper[H_L2] / m * _add_l2(net_p, hyper[H_L2] / m,
                                                             &params[0], &grads[0])
                step_loss[step] = <floating>value      # in the model's dtype
                if count:
                    step_correct[step] = hits[0] + hits[1]
                if not fused:
                    _update_par(opt_kind, &hyper[0], counters[CNT_T], &params[0],
                                &grads[0], &opt_state[0], n_params, nt)
                if record:
                    memcpy(&trace[step, 0], &params[0], n_params * sizeof(floating))
                step += 1
                counters[CNT_STEPS] = step
                counters[CNT_T] += 1
                since_check += 1
                if since_check >= check_every:
                    since_check = 0
                    with gil:
                        PyErr_CheckSignals()
            if counters[CNT_STATUS] != STATUS_OK:
                break
            if use_stop and step == (epoch + 1) * steps_per_epoch:
                # the epoch's mean loss, each step weighted by its rows
                value = 0
                for s in range(steps_per_epoch):
                    value += step_loss[step - steps_per_epoch + s] * min(
                        batch_size, n - s * batch_size)
                value = value / n
                epoch_loss[epoch] = value
                value = stop[STOP_SCALE] * value
                if value > stop[STOP_BEST] - stop[STOP_TOL]:
                    stop[STOP_COUNT] += 1
                else:
                    stop[STOP_COUNT] = 0
                if value < stop[STOP_BEST]:
                    stop[STOP_BEST] = value
                if stop[STOP_COUNT] > stop[STOP_PATIENCE]:
                    break
            if step >= total_steps:
                break
        # a finite loss but weights that overflowed in the last updates
        if counters[CNT_STATUS] == STATUS_OK and not _all_finite(&params[0], n_params):
            counters[CNT_STATUS] = STATUS_DIVERGED
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


def cast_finite(const double[:, ::1] src, float[:, ::1] dst):
    """dst := src rounded to float32; True if every value of dst is finite
    (False for NaN or infinity in src, or a value beyond float32's range,
    which NumPy's cast would turn into infinity with a warning)."""
    cdef Py_ssize_t i, n = src.shape[0] * src.shape[1]
    if dst.shape[0] != src.shape[0] or dst.shape[1] != src.shape[1]:
        raise ValueError("cast_finite: src and dst differ in shape")
    if n == 0:
        return True
    cdef const double* s = &src[0, 0]
    cdef float* d = &dst[0, 0]
    cdef bint ok = True
    with nogil:
        for i in range(n):
            ok &= fabs(s[i]) <= FLT_MAX     # NaN fails the comparison too
        if ok:
            for i in range(n):
                d[i] = <float>s[i]
    return ok
