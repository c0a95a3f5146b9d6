# The layer table: reading ``spec`` into Net/Layer structs, sizes checked, and the workspace layout.
# Included by _kernels.pyx: one module, one namespace.

# ------------------------------------------------------------ layer table
cdef int _read_layer(Layer* L, const int64_t[:, ::1] spec, Py_ssize_t li,
                     Py_ssize_t n_params) except -1:
    """Fill L from row li of the layer table, checking that its sizes agree.

    ``n_params < 0`` skips the check of the parameter offsets.
    """
    cdef Py_ssize_t j, n_in, n_out, w_size, b_size
    cdef int64_t v
    for j in range(SPEC_WIDTH):
        v = spec[li, j]
        if v < 0 or v > MAX_DIM:
            raise ValueError(f"layer {li}: entry {j} of the layer table is out of "
                             f"range ({v})")
    L.kind = <int>spec[li, C_KIND]
    L.act = <int>spec[li, C_ACT]
    n_in = L.n_in = <Py_ssize_t>spec[li, C_NIN]
    n_out = L.n_out = <Py_ssize_t>spec[li, C_NOUT]
    L.w_off = <Py_ssize_t>spec[li, C_WOFF]
    L.b_off = <Py_ssize_t>spec[li, C_BOFF]
    w_size = <Py_ssize_t>spec[li, C_WSIZE]
    b_size = <Py_ssize_t>spec[li, C_BSIZE]
    L.w_size = w_size
    L.c_in = L.h = L.w = L.c_out = L.oh = L.ow = 1
    L.kh = L.kw = L.sh = L.sw = 1
    L.ph = L.pw = 0
    L.group = 1
    if L.act < IDENTITY or L.act > STEP:
        raise ValueError(f"layer {li}: unknown activation code {L.act}")
    if n_in < 1 or n_out < 1:
        raise ValueError(f"layer {li}: sizes must be positive")
    if L.kind == DENSE:
        if w_size != n_in * n_out or b_size != n_out:
            raise ValueError(f"layer {li}: parameter sizes do not match a dense layer")
    elif L.kind == CONV2D or L.kind == MAXPOOL or L.kind == AVGPOOL:
        L.h = <Py_ssize_t>spec[li, C_P0]
        L.w = <Py_ssize_t>spec[li, C_P0 + 1]
        L.kh = <Py_ssize_t>spec[li, C_P0 + 2]
        L.kw = <Py_ssize_t>spec[li, C_P0 + 3]
        if L.kind == CONV2D:
            L.sh = <Py_ssize_t>spec[li, C_P0 + 4]
            L.sw = <Py_ssize_t>spec[li, C_P0 + 5]
            L.ph = <Py_ssize_t>spec[li, C_P0 + 6]
            L.pw = <Py_ssize_t>spec[li, C_P0 + 7]
        else:
            L.sh = L.kh
            L.sw = L.kw
        if L.h < 1 or L.w < 1 or L.kh < 1 or L.kw < 1 or L.sh < 1 or L.sw < 1:
            raise ValueError(f"layer {li}: image and window sizes must be positive")
        if n_in % (L.h * L.w) != 0:
            raise ValueError(f"layer {li}: n_in {n_in} is not channels * {L.h} * {L.w}")
        L.c_in = n_in // (L.h * L.w)
        if L.h + 2 * L.ph < L.kh or L.w + 2 * L.pw < L.kw:
            raise ValueError(f"layer {li}: the window is larger than the (padded) input")
        L.oh = (L.h + 2 * L.ph - L.kh) // L.sh + 1
        L.ow = (L.w + 2 * L.pw - L.kw) // L.sw + 1
        L.c_out = b_size if L.kind == CONV2D else L.c_in
        if L.c_out < 1 or n_out != L.c_out * L.oh * L.ow:
            raise ValueError(f"layer {li}: n_out {n_out} does not match the output "
                             f"({L.c_out}, {L.oh}, {L.ow})")
        if L.kind == CONV2D:
            # each factor <= MAX_DIM, so no product below overflows 64 bits
            if (L.kh * L.kw > MAX_DIM or L.c_in * L.kh * L.kw > MAX_DIM
                    or w_size != L.c_out * L.c_in * L.kh * L.kw):
                raise ValueError(f"layer {li}: parameter sizes do not match a convolution")
            if L.act == SOFTMAX:
                raise ValueError(f"layer {li}: softmax is for dense layers only")
            # whole samples per unfolding, at least one
            L.group = max(1, COL_BUDGET // (L.c_in * L.kh * L.kw * L.oh * L.ow))
        elif w_size != 0 or b_size != 0 or L.act != IDENTITY:
            raise ValueError(f"layer {li}: a pooling layer has no parameters "
                             "and no activation")
    elif L.kind == FLATTEN:
        if n_out != n_in or w_size != 0 or b_size != 0 or L.act != IDENTITY:
            raise ValueError(f"layer {li}: a flatten layer keeps its size and has no "
                             "parameters and no activation")
    elif L.kind == DROPOUT:
        if n_out != n_in or w_size != 0 or b_size != 0 or L.act != IDENTITY:
            raise ValueError(f"layer {li}: a dropout layer keeps its size and has no "
                             "parameters and no activation")
        if <uint64_t>spec[li, C_P0] >= DROP_ONE:
            raise ValueError(f"layer {li}: the dropout rate must be below 1")
        L.drop_below = <uint64_t>spec[li, C_P0]
        L.keep_scale = 1.0 / (1.0 - <double>spec[li, C_P0] / DROP_ONE)
    else:
        raise ValueError(f"layer {li}: unknown layer kind {L.kind}")
    if n_params >= 0 and (L.w_off + w_size > n_params or L.b_off + b_size > n_params):
        raise ValueError(f"layer {li}: parameters do not fit the buffer")
    return 0


cdef int _read_net(Net* net, const int64_t[:, ::1] spec, Py_ssize_t n_params,
                   Py_ssize_t m) except -1:
    """Fill ``net`` from the layer table and lay out the workspace of m rows."""
    cdef Py_ssize_t li, off, width, col = 0, tmp = 0, g
    cdef Layer* L
    if spec.shape[1] != SPEC_WIDTH:
        raise ValueError(f"layer table must have {SPEC_WIDTH} columns")
    if spec.shape[0] < 1 or spec.shape[0] > MAX_LAYERS:
        raise ValueError(f"a network has 1 to {MAX_LAYERS} layers, got {spec.shape[0]}")
    if m < 0:
        raise ValueError("negative number of rows")
    net.n_layers = <int>spec.shape[0]
    net.whole = False
    for li in range(net.n_layers):
        L = &net.layers[li]
        _read_layer(L, spec, li, n_params)
        if li > 0 and L.n_in != net.layers[li - 1].n_out:
            raise ValueError(f"layer {li}: n_in {L.n_in} does not match the "
                             f"previous layer's n_out {net.layers[li - 1].n_out}")
    # workspace: input, outputs, deltas, convolution scratch
    net.in_off = 0
    off = m * net.layers[0].n_in
    width = 0
    for li in range(net.n_layers):
        L = &net.layers[li]
        L.out_off = off
        off += m * L.n_out
        width = max(width, L.n_in, L.n_out)
        L.mask_off = 0
        if L.kind == DROPOUT:
            L.mask_off = off
            off += m * L.n_out
        if L.kind == DENSE and L.n_in * L.n_out <= TILE_MAX_W:
            col = max(col, L.n_in * L.n_out)      # W^T for the tiles (_dense_backward)
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


def workspace_size(const int64_t[:, ::1] spec, Py_ssize_t batch_size, bint split=False,
                   int copies=1, Py_ssize_t itemsize=8):
    """size := m * (n_in_0 + sum(n_out) + 2 * max width) + scratch (a convolution's
    unfolded input, or a small dense layer's transposed weights);
    split: two such workspaces for half batches and a second gradient;
    copies > 1: that many workspaces of m rows for ``forward``, each from a
    64-byte line on (values of ``itemsize`` bytes)."""
    cdef Net net
    cdef Py_ssize_t whole
    if copies < 1:
        raise ValueError("copies must be positive")
    if itemsize != 4 and itemsize != 8:
        raise ValueError(f"itemsize must be 4 (float32) or 8 (float64), got {itemsize}")
    _read_net(&net, spec, -1, batch_size)
    whole = net.size
    if copies > 1:
        return copies * _line_up(whole, itemsize)
    if not split:
        return whole
    _read_net(&net, spec, -1, (batch_size + 1) // 2)
    return max(whole, 2 * net.size + _n_params(spec))


cdef inline Py_ssize_t _line_up(Py_ssize_t size, Py_ssize_t itemsize) noexcept nogil:
    """size rounded up to a whole number of 64-byte lines of itemsize values."""
    cdef Py_ssize_t per_line = max(64 // itemsize, 1)
    return (size + per_line - 1) // per_line * per_line


cdef Py_ssize_t _n_params(const int64_t[:, ::1] spec):
    """The parameters a layer table addresses (the end of the last one)."""
    cdef Py_ssize_t li, end = 0
    for li in range(spec.shape[0]):
        end = max(end, spec[li, C_WOFF] + spec[li, C_WSIZE], spec[li, C_BOFF] + spec[li, C_BSIZE])
    return end


cdef int _load_net(Net* net, const int64_t[:, ::1] spec, Py_ssize_t n_params,
                   Py_ssize_t m, Py_ssize_t work_size) except -1:
    """Fill ``net`` from the layer table, checking that every offset fits."""
    _read_net(net, spec, n_params, m)
    if net.size > work_size:
        raise ValueError(f"workspace too small: {work_size} < {net.size}")
    return 0
