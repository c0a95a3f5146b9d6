"""Reading many rows in blocks side by side: ``predict`` and ``evaluate`` of
more rows than one block (``PREDICT_CHUNK``) share the blocks out among the
engine's threads, each block in a workspace of its own, and look for NaN and
infinity block by block as they read X. The whole must match the NumPy
reference, give the same bits side by side or one block after the other and
on any thread count, and a predictor's bits; the loss must add the blocks
in order; a non-finite value in any block must be refused by row with
nothing changed."""

import numpy as np
import pytest

import fastnn
from conftest import make_net, make_targets, ref_layers
from fastnn import _training
from fastnn._dispatch import kernels
from reference import forward, loss_and_delta, net_forward

CHUNK = _training.PREDICT_CHUNK
ROWS = 2 * CHUNK + 77  # three blocks, the last one short

CASES = [
    ((30, 40, 5), ["relu", "softmax"], "cross_entropy"),  # plain loops
    ((64, 32, 10), ["relu", "softmax"], "cross_entropy"),  # register tiles
    ((300, 256, 3), ["tanh", "sigmoid"], "binary_cross_entropy"),  # BLAS
    ((700, 600, 4), ["sigmoid", "identity"], "mse"),  # BLAS in column parts
]


def _net(sizes, acts, loss, dtype):
    return make_net(sizes, acts, loss, dtype=dtype, seed=5)


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(request.param)
    yield request.param
    fastnn.set_num_threads(before)


def conv_ref_layers(net):
    """An image network as the reference's dict layers (copies of the parameters)."""
    out = []
    for L in net.layers:
        if L.kind in ("dense", "conv2d"):
            out.append(dict(kind=L.kind, W=L.W.copy(), b=L.b.copy(), act=L.activation))
            if L.kind == "conv2d":
                out[-1].update(stride=L.stride, padding=L.padding)
        elif L.kind in ("maxpool2d", "avgpool2d"):
            out.append(dict(kind=L.kind, size=L.size))
        else:
            out.append(dict(kind="flatten"))
    return out


def _forward(net, X, copies):
    """The engine's forward pass of X, in predict's blocks, with 1 or PARTS workspaces."""
    chunk = _training.block_rows(len(X), _training.block_limit(net.dtype))
    out = np.empty((len(X), net.n_out), dtype=net.dtype)
    size = kernels.workspace_size(net._spec, chunk, False, copies, net.dtype.itemsize)
    work = np.empty(size, dtype=net.dtype)
    assert kernels.forward(net._spec, net.params, X, out, work, chunk, True)
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c[0])))
def test_blocks_match_the_reference(case, dtype, threads, rng):
    net = _net(*case, dtype)
    X = rng.normal(size=(ROWS, case[0][0])).astype(dtype)
    got = net.predict(X)
    assert got.shape == (ROWS, case[0][-1]) and got.dtype == net.dtype
    want = forward(ref_layers(net), X.astype(np.float64))[-1]
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # blocks side by side or one after the other: the same calls, the same bits
    np.testing.assert_array_equal(_forward(net, X, 1), got)
    np.testing.assert_array_equal(_forward(net, X, 2), got)
    # a predictor asked for more rows than a block sends them to predict
    f = net.predictor(max_rows=5 * CHUNK)
    assert f.rows == _training.block_limit(net.dtype)
    np.testing.assert_array_equal(f(X), got)
    np.testing.assert_array_equal(f(X[:CHUNK]), net.predict(X[:CHUNK]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c[0])))
def test_evaluate_adds_the_blocks_in_order(case, dtype, threads, rng):
    sizes, acts, loss = case
    net = _net(*case, dtype)
    X = rng.normal(size=(ROWS, sizes[0])).astype(dtype)
    y = make_targets(rng, loss, ROWS, sizes[-1])
    got = net.evaluate(X, y)
    # the blocks one at a time, each weighted by its rows, summed in order
    total = 0.0
    for start in range(0, ROWS, CHUNK):
        part = slice(start, start + CHUNK)
        total += net.evaluate(X[part], y[part]) * len(X[part])
    tol = 1e-12 if dtype == "float64" else 1e-5
    assert got == pytest.approx(total / ROWS, rel=tol)
    logits = forward(ref_layers(net), X.astype(np.float64), logits=True)[-1]
    want, _ = loss_and_delta(logits, loss, acts[-1], y)
    assert got == pytest.approx(want, rel=tol)


def test_the_thread_count_changes_no_bit(rng):
    before = fastnn.get_num_threads()
    net = _net((700, 600, 4), ["relu", "softmax"], "cross_entropy", "float32")
    X = rng.normal(size=(ROWS, 700)).astype(np.float32)
    y = rng.integers(0, 4, size=ROWS)
    runs = []
    try:
        for n in (1, 2, 3):
            fastnn.set_num_threads(n)
            runs.append((net.predict(X).tobytes(), net.evaluate(X, y)))
    finally:
        fastnn.set_num_threads(before)
    assert runs[1] == runs[0] and runs[2] == runs[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, CHUNK - 1, CHUNK, ROWS - 1])
def test_a_non_finite_value_in_any_block_is_refused_by_row(row, bad, dtype, threads, rng):
    net = _net((64, 32, 10), ["relu", "softmax"], "cross_entropy", dtype)
    X = rng.normal(size=(ROWS, 64)).astype(dtype)
    params = net.params.copy()
    good = net.predict(X)
    X[row, 17] = bad
    with pytest.raises(ValueError, match=f"NaN or infinity \\(first at row {row}\\)"):
        net.predict(X)
    with pytest.raises(ValueError, match=f"first at row {row}"):
        net.evaluate(X, np.zeros(ROWS, dtype=np.int64))
    np.testing.assert_array_equal(net.params, params)
    X[row, 17] = 0.5
    again = net.predict(X)
    np.testing.assert_array_equal(np.delete(again, row, axis=0), np.delete(good, row, axis=0))


@pytest.mark.parametrize("row", [0, CHUNK, ROWS - 1])
def test_images_are_searched_by_the_pass_too(row, threads, rng):
    # an image network's X is a view of the caller's (n, c, h, w) array,
    # flattened per row: searched block by block as well, and so is fit's
    layers = [
        fastnn.Conv2D(1, 3, kernel_size=3, padding=1, activation="relu"),
        fastnn.Flatten(),
        fastnn.Dense(3 * 6 * 6, 4, activation="softmax"),
    ]
    net = fastnn.Sequential(layers, loss="cross_entropy", seed=1)
    X = rng.random((ROWS, 1, 6, 6)).astype(net.dtype)
    y = rng.integers(0, 4, ROWS)
    net.predict(X[:2])
    params = net.params.copy()
    X[row, 0, 4, 1] = np.inf
    with pytest.raises(ValueError, match=f"NaN or infinity \\(first at row {row}\\)"):
        net.predict(X)
    with pytest.raises(ValueError, match=f"first at row {row}"):
        net.fit(X, y, epochs=1, batch_size=64)
    np.testing.assert_array_equal(net.params, params)


def test_converted_inputs_are_checked_as_before(rng):
    net = _net((64, 32, 10), ["relu", "softmax"], "cross_entropy", "float32")
    X = rng.normal(size=(ROWS, 64))
    X[CHUNK + 3, 0] = np.nan
    with pytest.raises(ValueError, match=f"first at row {CHUNK + 3}"):
        net.predict(X)  # float64 for a float32 model: converted, then checked
    X[CHUNK + 3, 0] = 1e39  # finite, but not as float32
    with pytest.raises(ValueError, match="too large for float32"):
        net.predict(X)
    X[CHUNK + 3, 0] = 0.0
    np.testing.assert_array_equal(net.predict(X), net.predict(X.astype(np.float32)))
    # a non-contiguous view of the right dtype: copied, then checked
    Xf = np.asfortranarray(X.astype(np.float32))
    Xf[ROWS - 1, 5] = np.inf
    with pytest.raises(ValueError, match=f"first at row {ROWS - 1}"):
        net.predict(Xf)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_image_networks_read_in_blocks(dtype, threads, rng):
    net = fastnn.Sequential(
        [
            fastnn.Conv2D(1, 4, 3, padding=1, activation="relu"),
            fastnn.MaxPool2D(2),
            fastnn.Flatten(),
            fastnn.Dense(4 * 4 * 4, 3, activation="softmax"),
        ],
        loss="cross_entropy",
        dtype=dtype,
        seed=2,
    )
    X = rng.normal(size=(ROWS, 1, 8, 8)).astype(dtype)
    got = net.predict(X)
    # against the reference; a block's rows and the same rows in a call of
    # their own are different products, equal to rounding, not bit for bit
    want = net_forward(conv_ref_layers(net), X.astype(np.float64))[-1]
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    # blocks side by side or one after the other: the same calls, the same bits
    flat = np.ascontiguousarray(X.reshape(ROWS, -1))
    np.testing.assert_array_equal(_forward(net, flat, 1), got)
    np.testing.assert_array_equal(_forward(net, flat, 2), got)
    X[ROWS - 2, 0, 3, 3] = np.nan
    with pytest.raises(ValueError, match=f"first at row {ROWS - 2}"):
        net.predict(X)


@pytest.mark.parametrize(
    "n, most, rows",
    [
        (1, CHUNK, 1),
        (1000, CHUNK, 1000),
        (CHUNK, CHUNK, CHUNK),
        (CHUNK + 1, CHUNK, 513),
        (2 * CHUNK, CHUNK, CHUNK),
        (ROWS, CHUNK, 532),
        (10_000, CHUNK, 1000),
        # the own product's blocks
        (128, 128, 128),
        (129, 128, 65),
        (1000, 128, 125),
        (CHUNK, 128, 128),
        (CHUNK + 1, 128, 103),
        (ROWS, 128, 119),
        (10_000, 128, 125),
    ],
)
def test_blocks_are_even_in_number_and_size(n, most, rows):
    # two threads share the blocks evenly: 1,025 rows are 513 + 512, not 1,024 + 1
    assert _training.block_rows(n, most) == rows
    blocks = -(-n // rows)
    assert rows <= most and (blocks == 1 or blocks % 2 == 0)
    assert (blocks - 1) * rows < n <= blocks * rows


def test_float32_blocks_are_the_own_products_where_it_runs():
    own = kernels.own_gemm_available()
    assert _training.block_limit(np.float32) == (_training.OWN_BLOCK if own else CHUNK)
    assert _training.block_limit(np.float64) == CHUNK
    assert _training.block_limit("float64") == CHUNK


def test_the_kernels_refuse_a_bad_itemsize_chunk_or_workspace():
    net = _net((3, 4, 2), ["relu", "softmax"], "cross_entropy", "float32")
    X = np.zeros((5, 3), dtype=np.float32)
    out = np.empty((5, 2), dtype=np.float32)
    for itemsize in (0, 2, 16):
        with pytest.raises(ValueError, match="itemsize"):
            kernels.workspace_size(net._spec, 10, False, 2, itemsize)
    work = np.zeros(kernels.workspace_size(net._spec, 5, False, 1, 4), dtype=np.float32)
    for chunk in (0, -1):
        with pytest.raises(ValueError, match="chunk must be positive"):
            kernels.forward(net._spec, net.params, X, out, work, chunk, True)
    # a chunk far beyond the rows is laid out for the rows it has
    assert kernels.forward(net._spec, net.params, X, out, work, 2**62, True)
    np.testing.assert_array_equal(out, net.predict(X))
    with pytest.raises(ValueError, match="workspace too small"):
        kernels.forward(net._spec, net.params, X, out, work[:-1], 5, True)


@pytest.mark.parametrize("n", [129, 300, 1000])
def test_float32_predictions_of_more_rows_than_a_block_are_its_blocks(n, threads, rng):
    # where the own product runs, more than OWN_BLOCK float32 rows are cut
    # into blocks of at most that many; predict, a bound predictor and the
    # blocks one at a time give the same bits
    net = _net((300, 256, 3), ["relu", "softmax"], "cross_entropy", "float32")
    X = rng.normal(size=(n, 300)).astype(np.float32)
    got = net.predict(X)
    want = forward(ref_layers(net), X.astype(np.float64))[-1]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    np.testing.assert_array_equal(net.predictor(max_rows=CHUNK)(X), got)
    rows = _training.block_rows(n, _training.block_limit(np.float32))
    if kernels.own_gemm_available():
        assert rows <= _training.OWN_BLOCK
    parts = [net.predict(X[i : i + rows]) for i in range(0, n, rows)]
    np.testing.assert_array_equal(np.concatenate(parts), got)
