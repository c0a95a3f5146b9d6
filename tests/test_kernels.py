"""The compiled kernels against the plain-NumPy reference and finite differences.

The kernels are reached through the Python layer (predict, evaluate,
loss_and_grads, fit), on shapes of every size class: layers of fewer than 8
outputs run as plain loops, small weight matrices (at most 4,096 values)
through the engine's register tiles, large ones through BLAS.
"""

import numpy as np
import pytest

import fastnn
from conftest import make_net, make_targets, numeric_grads, ref, ref_layers

HIDDEN = ["identity", "sigmoid", "tanh", "relu"]
OUTPUTS = {
    "mse": ["identity", "sigmoid", "tanh", "relu", "softmax"],
    "cross_entropy": ["softmax"],
    "binary_cross_entropy": ["sigmoid"],
}
COMBOS = [(h, o, loss) for loss, outs in OUTPUTS.items() for h in HIDDEN for o in outs]
# (n_samples, sizes): plain loops; the tiles, with an odd row and outputs
# left over after whole tiles (17 = 16 + 1, 33 = 32 + 1, 10 = 8 + 2), few
# outputs after a wide layer (the weight gradient tiled transposed), one row,
# many rows; BLAS (every weight matrix above 4,096 values)
SHAPES = [
    (3, (5, 4, 3)),
    (5, (9, 17, 10)),
    (6, (20, 24, 3)),
    (1, (40, 36, 33)),
    (70, (40, 36, 30)),
    (70, (80, 72, 64)),
]
TOL = {"float64": 1e-12, "float32": 2e-5}


def _close(a, b, dtype):
    scale = max(1.0, float(np.max(np.abs(b))) if np.size(b) else 1.0)
    np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype] * scale)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n, sizes", SHAPES)
@pytest.mark.parametrize("hidden, out, loss", COMBOS)
def test_forward_loss_grads_match_reference(rng, dtype, n, sizes, hidden, out, loss):
    net = make_net(sizes, [hidden, out], loss, dtype=dtype, seed=1)
    X = rng.normal(size=(n, sizes[0]))
    y = make_targets(rng, loss, n, sizes[-1])
    layers = ref_layers(net)
    Xd = X.astype(dtype)
    expected_out = ref.forward(layers, Xd)[-1]
    _close(net.predict(X), expected_out, dtype)
    value, grads = net.loss_and_grads(X, y)
    ref_value, ref_grads = ref.loss_and_grads(layers, Xd, y, loss)
    _close(value, ref_value, dtype)
    _close(net.evaluate(X, y), ref_value, dtype)
    for (dW, db), (rW, rb) in zip(grads, ref_grads):
        assert dW.dtype == np.dtype(dtype)
        _close(dW, rW, dtype)
        _close(db, rb, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_non_contiguous_inputs_give_the_same_results(rng, dtype):
    net = make_net((6, 8, 3), ["tanh", "softmax"], "cross_entropy", dtype=dtype)
    X = rng.normal(size=(20, 6))
    y = rng.integers(0, 3, size=20)
    base = net.predict(X)
    np.testing.assert_array_equal(net.predict(np.asfortranarray(X)), base)
    wide = np.zeros((20, 12))
    wide[:, ::2] = X
    np.testing.assert_array_equal(net.predict(wide[:, ::2]), base)
    np.testing.assert_array_equal(
        net.predict(X.astype(np.float16).astype(int)),
        net.predict(X.astype(np.float16).astype(int).astype(float)),
    )
    lv, g = net.loss_and_grads(np.asfortranarray(X), y[::-1].copy()[::-1])
    lv2, g2 = net.loss_and_grads(X, y)
    assert lv == lv2
    for (a, b), (c, d) in zip(g, g2):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


@pytest.mark.parametrize("n, sizes", [(7, (4, 5, 3)), (5, (9, 17, 10))])  # loops, tiles
@pytest.mark.parametrize("hidden, out, loss", COMBOS)
def test_gradient_finite_differences(rng, hidden, out, loss, n, sizes):
    net = make_net(sizes, [hidden, out], loss, dtype="float64", seed=3)
    X = rng.normal(size=(n, sizes[0]))
    y = make_targets(rng, loss, n, sizes[-1])
    _, grads = net.loss_and_grads(X, y)
    analytic = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads])
    numeric = numeric_grads(net, X, y)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss, out", [("mse", "identity"), ("cross_entropy", "softmax")])
def test_gradient_finite_differences_three_layers(rng, loss, out):
    net = make_net((3, 6, 5, 4), ["tanh", "sigmoid", out], loss, dtype="float64", seed=5)
    X = rng.normal(size=(9, 3))
    y = make_targets(rng, loss, 9, 4)
    _, grads = net.loss_and_grads(X, y)
    analytic = np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads])
    np.testing.assert_allclose(analytic, numeric_grads(net, X, y), rtol=1e-6, atol=1e-8)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    net = make_net((1, 3), ["softmax"], "cross_entropy")
    net.layers[0].W[...] = [[1e4, 0.0, -1e4]]
    net.layers[0].b[...] = 0
    X = np.array([[1.0], [-1.0]])
    y = np.array([2, 0])  # both labels have logit -1e4 against +1e4
    value, grads = net.loss_and_grads(X, y)
    assert value == pytest.approx(2e4)
    assert all(np.isfinite(g).all() for pair in grads for g in pair)
    P = net.predict(X)
    np.testing.assert_allclose(P, [[1, 0, 0], [0, 0, 1]], atol=0)


def test_sigmoid_binary_cross_entropy_is_stable_for_huge_logits():
    net = make_net((1, 1), ["sigmoid"], "binary_cross_entropy")
    net.layers[0].W[...] = 1e4
    net.layers[0].b[...] = 0
    value, grads = net.loss_and_grads(np.array([[1.0], [-1.0]]), np.array([0.0, 1.0]))
    assert value == pytest.approx(1e4)
    np.testing.assert_allclose(grads[0][0], [[1.0]])  # mean of (1 - 0)*1 and (0 - 1)*-1


def test_step_activation_forward():
    net = make_net((2, 1), ["step"], "mse")
    net.layers[0].W[...] = [[1.0], [1.0]]
    net.layers[0].b[...] = -1.0
    P = net.predict([[0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0.5]])
    np.testing.assert_array_equal(P.ravel(), [0, 1, 1, 1, 1])


def test_one_sgd_step_by_hand():
    """Two samples, one linear unit, mse: every number written out."""
    net = make_net((2, 1), ["identity"], "mse")
    net.layers[0].W[...] = [[0.5], [-1.0]]
    net.layers[0].b[...] = [0.25]
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    y = np.array([1.0, 2.0])
    # predictions: 0.5 - 2 + 0.25 = -1.25 and 1.5 + 1 + 0.25 = 2.75
    # residuals: -2.25 and 0.75; loss = (5.0625 + 0.5625) / 2 = 2.8125
    # dL/dz = residual (2/2): dW = [1*-2.25 + 3*0.75, 2*-2.25 - 1*0.75] = [0, -5.25]
    # db = -1.5
    hist = net.fit(X, y, epochs=1, optimizer=fastnn.SGD(lr=0.1), shuffle=False)
    assert hist.step_loss == [2.8125]
    np.testing.assert_allclose(net.layers[0].W.ravel(), [0.5, -1.0 + 0.525], rtol=1e-15)
    np.testing.assert_allclose(net.layers[0].b, [0.25 + 0.15], rtol=1e-15)


OPTIMIZERS = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd", dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.01)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("rmsprop", dict(lr=0.01)),
    ("rmsprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01, alpha=0.9)),
    ("rprop", dict(lr=0.01)),
    ("rprop", dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1))),
]

OPTIMIZER_CLASSES = {
    "sgd": fastnn.SGD,
    "adam": fastnn.Adam,
    "adagrad": fastnn.AdaGrad,
    "rmsprop": fastnn.RMSprop,
    "rprop": fastnn.Rprop,
}


def _batches(n, bs, epochs):
    bs = n if bs is None else bs
    return [np.arange(s, min(s + bs, n)) for _ in range(epochs) for s in range(0, n, bs)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt, hyper", OPTIMIZERS)
@pytest.mark.parametrize("batch_size", [None, 1, 4])
@pytest.mark.parametrize("n, sizes", SHAPES)
def test_training_matches_reference(rng, dtype, opt, hyper, batch_size, n, sizes):
    if n > 10 and batch_size == 1:
        batch_size = 16  # keep the large case on the BLAS path
    net = make_net(sizes, ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=2)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=n)
    layers = ref_layers(net)
    optimizer = OPTIMIZER_CLASSES[opt](**hyper)
    hist = net.fit(X, y, epochs=2, batch_size=batch_size, optimizer=optimizer, shuffle=False)
    ref_losses = ref.train(
        layers, X, y, "cross_entropy", _batches(n, batch_size, 2), opt=opt, **hyper
    )
    tol = 1e-10 if dtype == "float64" else 2e-4
    if opt == "rprop" and dtype == "float32":
        # Rprop steps by the sign of each gradient: a float32 rounding that
        # flips the sign of a near-zero gradient sends the runs apart, so in
        # float32 only the first steps can be compared.
        np.testing.assert_allclose(hist.step_loss[:3], ref_losses[:3], rtol=tol, atol=tol)
        return
    np.testing.assert_allclose(hist.step_loss, ref_losses, rtol=tol, atol=tol)
    for layer, (W, b, _) in zip(net.layers, layers):
        np.testing.assert_allclose(layer.W, W, rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.b, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("loss, out", [("mse", "tanh"), ("binary_cross_entropy", "sigmoid")])
def test_training_other_losses_match_reference(rng, loss, out):
    net = make_net((5, 7, 2), ["sigmoid", out], loss, dtype="float64", seed=4)
    X = rng.normal(size=(11, 5))
    y = make_targets(rng, loss, 11, 2)
    layers = ref_layers(net)
    hist = net.fit(
        X, y, epochs=3, batch_size=3, optimizer=fastnn.SGD(lr=0.2, momentum=0.8), shuffle=False
    )
    ref_losses = ref.train(layers, X, y, loss, _batches(11, 3, 3), lr=0.2, momentum=0.8)
    np.testing.assert_allclose(hist.step_loss, ref_losses, rtol=1e-12)
    for layer, (W, b, _) in zip(net.layers, layers):
        np.testing.assert_allclose(layer.W, W, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.b, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n", [1, 5, 255, 256, 257, 1023, 1024, 1025, 2500])
def test_predict_chunks_agree_with_reference(rng, n):
    net = make_net((10, 9, 4), ["relu", "softmax"], "cross_entropy", dtype="float64")
    X = rng.normal(size=(n, 10))
    np.testing.assert_allclose(
        net.predict(X), ref.forward(ref_layers(net), X)[-1], rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size", [None, 1, 3, 4, 8])
@pytest.mark.parametrize("shuffle", [False, True])
def test_line_fast_path_matches_reference(rng, dtype, batch_size, shuffle):
    # Dense(1, 1) under MSE (the regression machine) trains by a fused
    # one-pass step; it must give the reference's steps, in order or
    # shuffled (the shuffled run is the reference over the drawn orders).
    n, epochs = 23, 3  # 23: every remainder of 4 occurs
    X = rng.normal(size=(n, 1)).astype(dtype)
    y = (1.5 * X[:, 0] - 0.7 + 0.1 * rng.normal(size=n)).astype(dtype)
    net = make_net((1, 1), ["identity"], "mse", dtype=dtype, seed=3)
    layers = ref_layers(net)
    state = net._rng_state.copy()
    batches = []
    bs = n if batch_size is None else batch_size
    for _ in range(epochs):
        order = np.arange(n, dtype=np.int64)
        if shuffle:
            fastnn._kernels.permutation(state, order)
        batches += [order[s : s + bs] for s in range(0, n, bs)]
    hist = net.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        optimizer=fastnn.SGD(lr=0.1, momentum=0.5),
    )
    ref_losses = ref.train(layers, X, y, "mse", batches, lr=0.1, momentum=0.5)
    tol = 1e-12 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(hist.step_loss, ref_losses, rtol=tol, atol=tol)
    np.testing.assert_allclose(net.layers[0].W, layers[0][0], rtol=tol, atol=tol)
    np.testing.assert_allclose(net.layers[0].b, layers[0][1], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize(
    "sizes",
    [
        (100, 80, 10),
        # a half's products large enough to be cut in parts outside a half:
        # here each is one BLAS call (256 x 300 x 160 multiply-adds)
        (300, 160, 10),
    ],
)
def test_split_batches_match_reference(rng, dtype, shuffle, sizes):
    # batches of 256 rows or more (with enough parameters) train as two
    # halves whose gradients are combined: the reference's steps, also for
    # the odd last batch
    n = 601  # the last batch, 89 rows, splits 45 + 44
    net = make_net(sizes, ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=2)
    assert net._splits(512)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=n)
    layers = ref_layers(net)
    state = net._rng_state.copy()
    batches = []
    for _ in range(2):
        order = np.arange(n, dtype=np.int64)
        if shuffle:
            fastnn._kernels.permutation(state, order)
        batches += [order[s : s + 512] for s in range(0, n, 512)]
    hist = net.fit(
        X, y, epochs=2, batch_size=512, shuffle=shuffle, optimizer=fastnn.SGD(lr=0.1, momentum=0.9)
    )
    ref_losses = ref.train(layers, X, y, "cross_entropy", batches, lr=0.1, momentum=0.9)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(hist.step_loss, ref_losses, rtol=tol, atol=tol)
    for layer, (W, b, _) in zip(net.layers, layers):
        np.testing.assert_allclose(layer.W, W, rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.b, b, rtol=tol, atol=tol)


def test_split_batches_stream_like_one_fit(rng):
    # partial_fit on chunks of 512 rows (each one split batch) gives the
    # weights of one fit over the same batches
    X = rng.normal(size=(1536, 100))
    y = rng.integers(0, 10, size=1536)
    whole, streamed = (
        make_net((100, 80, 10), ["relu", "softmax"], "cross_entropy", seed=1) for _ in range(2)
    )
    whole.fit(X, y, epochs=1, batch_size=512, shuffle=False, optimizer=fastnn.Adam(lr=0.01))
    opt = fastnn.Adam(lr=0.01)
    for start in range(0, 1536, 512):
        streamed.partial_fit(X[start : start + 512], y[start : start + 512], optimizer=opt)
    np.testing.assert_array_equal(whole.params, streamed.params)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("n, sizes, batch_size", [(11, (5, 4, 3), 4), (601, (100, 80, 10), 512)])
def test_weights_only_l2_matches_reference(rng, opt, n, sizes, batch_size):
    # l2 adds l2 * W / rows to each weight gradient, biases untouched: in
    # the loop path, the split path and a one-step stream call
    net = make_net(sizes, ["relu", "softmax"], "cross_entropy", dtype="float64", seed=5)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    layers = ref_layers(net)
    hyper = dict(lr=0.05, momentum=0.9) if opt == "sgd" else dict(lr=0.01)
    optimizer = OPTIMIZER_CLASSES[opt](l2=0.3, **hyper)
    hist = net.fit(X, y, epochs=2, batch_size=batch_size, optimizer=optimizer, shuffle=False)
    hist.step_loss += net.partial_fit(X[:3], y[:3], optimizer=optimizer).step_loss
    batches = _batches(n, batch_size, 2) + [np.arange(3)]
    ref_losses = ref.train(layers, X, y, "cross_entropy", batches, opt=opt, l2=0.3, **hyper)
    np.testing.assert_allclose(hist.step_loss, ref_losses, rtol=1e-10, atol=1e-10)
    for layer, (W, b, _) in zip(net.layers, layers):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-10)


def test_softmax_exp_is_within_an_ulp_of_numpy_down_to_subnormals():
    """Softmax and cross-entropy compute exp(z - max) in vectorised
    arithmetic (_exp_le0): within one unit in the last place of libm's exp
    over [-746, 0], subnormal results and underflow to 0 included."""
    z = np.concatenate([[0.0], -np.geomspace(1e-12, 760.0, 4000)])
    net = make_net((1, z.size), ["softmax"], "cross_entropy", dtype="float64")
    net.layers[0].W[...] = z
    net.layers[0].b[...] = 0
    p = net.predict(np.ones((1, 1)))[0]
    e = np.exp(z)
    expected = e / np.cumsum(e)[-1]  # the sum in the kernel's order, j = 0, 1, ...
    normal = expected > np.finfo(np.float64).tiny
    np.testing.assert_allclose(p[normal], expected[normal], rtol=5e-16, atol=0)
    np.testing.assert_allclose(p[~normal], expected[~normal], rtol=0, atol=1e-323)
    assert np.all(p[z < -746] == 0)
    # the loss and its gradient through the same exp
    value, ((dW, db),) = net.loss_and_grads(np.ones((1, 1)), np.array([3]))
    assert value == pytest.approx(-np.log(expected[3]), rel=1e-15)
    grad = expected.copy()
    grad[3] -= 1
    np.testing.assert_allclose(db, grad, rtol=5e-16, atol=1e-323)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_of_a_nan_logit_is_nan(dtype):
    net = make_net((2, 4), ["softmax"], "cross_entropy", dtype=dtype)
    net.layers[0].W[0, 2] = np.nan
    p = net.predict(np.ones((1, 2)))
    assert np.isnan(p[0, 2])
