# Whole forward and backward passes through every layer of a network.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ whole passes
cdef void _forward(Net* net, const floating* params, const floating* X,
                   Py_ssize_t m, floating* work, bint logits,
                   uint64_t* rng) noexcept nogil:
    """Every layer's output for m rows of X; the last as logits if asked.

    ``rng`` NULL: inference (dropout passes values through); else training,
    dropout draws its mask from rng."""
    cdef int li, act
    cdef Py_ssize_t i
    cdef floating keep
    cdef floating* mask
    cdef const floating* inp = X
    cdef floating* out
    cdef Layer* L
    for li in range(net.n_layers):
        L = &net.layers[li]
        act = L.act
        if logits and li == net.n_layers - 1:
            act = IDENTITY
        out = work + L.out_off
        if L.kind == DENSE:
            _dense_forward(inp, params + L.w_off, params + L.b_off, out, m,
                           L.n_in, L.n_out, act, net.whole)
        elif L.kind == CONV2D:
            _conv_forward(inp, params + L.w_off, params + L.b_off, out, m, L, act,
                          work + net.col_off, work + net.tmp_off, net.whole)
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
                    Py_ssize_t m, floating* work, floating* grads, bint masked,
                    floating* sgd_params=NULL, floating lr=0) noexcept nogil:
    """Gradients of every parameter, from delta (dL/dZ of the output layer)
    waiting in the workspace's first delta buffer.

    ``masked``: the forward pass drew dropout's masks (training); else
    dropout passed its values through (inference), and so passes their
    gradient (the masks in the workspace are then left from another call).

    ``sgd_params`` (the same buffer as params; only for one row through
    dense layers): take plain SGD's step w := w - lr g on each layer as its
    gradient is found, instead of storing the gradients (_dense_sgd_row)."""
    cdef int li, act_prev
    cdef Py_ssize_t p
    cdef Layer* L
    cdef floating* delta = work + net.delta_a
    cdef floating* other = work + net.delta_b
    cdef floating* dX
    cdef floating* tmp
    cdef const floating* inp
    for li in range(net.n_layers - 1, -1, -1):
        L = &net.layers[li]
        inp = X if li == 0 else work + net.layers[li - 1].out_off
        act_prev = net.layers[li - 1].act if li > 0 else IDENTITY
        dX = other if li > 0 else NULL
        if L.kind == DENSE and sgd_params != NULL:
            _dense_sgd_row(inp, sgd_params + L.w_off, sgd_params + L.b_off, delta, dX, inp,
                           act_prev, L.n_in, L.n_out, lr, work + net.col_off)
        elif L.kind == DENSE:
            _dense_backward(inp, params + L.w_off, delta, grads + L.w_off,
                            grads + L.b_off, dX, inp, act_prev, m, L.n_in, L.n_out,
                            work + net.col_off, net.whole)
        elif L.kind == CONV2D:
            _conv_backward(inp, params + L.w_off, delta, grads + L.w_off,
                           grads + L.b_off, dX, inp, act_prev, m, L,
                           work + net.col_off, work + net.tmp_off, net.whole)
        elif li == 0:
            break           # no parameters, no gradient to pass further
        elif L.kind == MAXPOOL or L.kind == AVGPOOL:
            _pool_backward(inp, delta, dX, act_prev, m, L)
        elif L.kind == DROPOUT and masked:
            for p in range(m * L.n_in):
                dX[p] = delta[p] * work[L.mask_off + p]
            _times_act_grad(dX, inp, m * L.n_in, act_prev)
        else:                           # FLATTEN, DROPOUT at inference
            memcpy(dX, delta, m * L.n_in * sizeof(floating))
            _times_act_grad(dX, inp, m * L.n_in, act_prev)
        tmp = delta
        delta = other
        other = tmp
