# A network's forward pass bound once, for calls of a few rows from Python.
# Included by _kernels.pyx: one module, one namespace.

cdef class Predictor:
    """``Sequential.predictor()``: predict, with the buffers bound once.

    ``predict`` looks up, checks and unpacks the network's buffers on every
    call; for a tiny network one sample costs more there than in the
    forward pass. A Predictor binds the layer table, the weights and a
    workspace for up to ``rows`` rows once; a call then checks the input at
    C speed (an ndarray of the model's dtype, C-contiguous, aligned, native
    byte order, shape (m,) + one sample's shape with 1 <= m <= rows, every
    value finite),
    allocates the output and runs the pass. Anything else (a list, another
    dtype, more rows, NaN) goes through the model's ``predict``, which
    converts what it can and raises its errors. The weights are the model's
    own buffer, so training between calls is seen by the next call.
    Calls from several threads at once are safe: a call that finds the
    workspace in use computes in a workspace of its own.
    """
    cdef Net net
    cdef readonly object model           # the Sequential
    cdef readonly Py_ssize_t rows        # the most rows computed here
    cdef object spec, params, work
    cdef bint dbl, busy
    cdef int typenum
    cdef Py_ssize_t n_in, n_out, n_params, work_size, out_off
    cdef int sample_ndim                 # one sample's shape: (n_in,) or (c, h, w)
    cdef Py_ssize_t sample_shape[4]
    cdef void* p_params
    cdef void* p_work

    def __cinit__(self, model, const int64_t[:, ::1] spec, params, work,
                  Py_ssize_t rows, tuple sample_shape):
        cdef Py_ssize_t size = 1
        if rows < 1:
            raise ValueError(f"Predictor: rows must be positive, got {rows}")
        if not 1 <= len(sample_shape) <= 4:
            raise ValueError("Predictor: a sample has 1 to 4 dimensions")
        self.sample_ndim = len(sample_shape)
        for i, d in enumerate(sample_shape):
            self.sample_shape[i] = d
            size *= d
        self.dbl = params.dtype == np.float64
        self.typenum = cnp.NPY_FLOAT64 if self.dbl else cnp.NPY_FLOAT32
        self.p_params = _address(params, self.dbl, &self.n_params)
        self.p_work = _address(work, self.dbl, &self.work_size)
        if self.n_params == 0 or self.work_size < workspace_size(spec, rows):
            raise ValueError("Predictor: a buffer does not match the network")
        _load_net(&self.net, spec, self.n_params, rows, self.work_size)
        self.model, self.spec, self.params, self.work = model, spec.base, params, work
        self.rows = rows
        self.n_in = self.net.layers[0].n_in
        self.n_out = self.net.layers[self.net.n_layers - 1].n_out
        self.out_off = self.net.layers[self.net.n_layers - 1].out_off
        if size != self.n_in:
            raise ValueError("Predictor: the sample shape does not match the network")
        self.busy = False

    def __call__(self, X):
        """The output layer's activation for each row of X: an (m, n_out)
        array of the model's dtype (probabilities for softmax and sigmoid
        outputs). Raises what ``predict`` raises."""
        cdef cnp.ndarray a
        cdef cnp.ndarray out
        cdef cnp.npy_intp dims[2]
        cdef Py_ssize_t m
        cdef object work
        cdef bint ok
        if (cnp.PyArray_Check(X) and self.model._spec is self.spec):
            a = <cnp.ndarray>X
            if (cnp.PyArray_NDIM(a) == 1 + self.sample_ndim
                    and cnp.PyArray_TYPE(a) == self.typenum
                    and cnp.PyArray_IS_C_CONTIGUOUS(a) and cnp.PyArray_ISALIGNED(a)
                    and cnp.PyArray_ISNOTSWAPPED(a)
                    and self._takes(cnp.PyArray_DIMS(a))
                    and 1 <= cnp.PyArray_DIM(a, 0) <= self.rows):
                m = cnp.PyArray_DIM(a, 0)
                dims[0] = m
                dims[1] = self.n_out
                out = cnp.PyArray_EMPTY(2, dims, self.typenum, 0)
                if not self.busy:
                    self.busy = True    # under the GIL: no other call gets here
                    try:
                        ok = self._run(a, out, None)
                    finally:
                        self.busy = False
                else:                   # another thread is computing in it
                    work = np.empty(self.work_size, dtype=self.params.dtype)
                    ok = self._run(a, out, work)
                if ok:
                    return out
        return self.model._predict_checked(X)

    cdef inline bint _takes(self, cnp.npy_intp* dims) noexcept:
        """dims[1:] is one sample's shape."""
        cdef int i
        for i in range(self.sample_ndim):
            if dims[1 + i] != self.sample_shape[i]:
                return False
        return True

    cdef bint _run(self, cnp.ndarray a, cnp.ndarray out, object work) except -1:
        """The pass of a checked input into out, in the bound workspace
        (work None) or in ``work``; False if the input is not finite."""
        cdef Py_ssize_t m = cnp.PyArray_DIM(a, 0), size
        cdef void* w = self.p_work if work is None else _address(work, self.dbl, &size)
        cdef void* x = cnp.PyArray_DATA(a)
        cdef void* o = cnp.PyArray_DATA(out)
        cdef bint serial = _uses_blas(&self.net, m)
        cdef bint finite
        with nogil:
            if self.dbl:
                finite = _all_finite(<const double*>x, m * self.n_in)
            else:
                finite = _all_finite(<const float*>x, m * self.n_in)
            if finite:
                if serial:
                    _blas_serial_begin()
                if self.dbl:
                    _forward(&self.net, <const double*>self.p_params, <const double*>x, m,
                             <double*>w, False, NULL)
                    memcpy(o, <double*>w + self.out_off, m * self.n_out * sizeof(double))
                else:
                    _forward(&self.net, <const float*>self.p_params, <const float*>x, m,
                             <float*>w, False, NULL)
                    memcpy(o, <float*>w + self.out_off, m * self.n_out * sizeof(float))
                if serial:
                    _blas_serial_end()
        return finite
