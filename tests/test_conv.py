"""Convolution, pooling and flatten layers.

The kernels are held against the plain-NumPy reference (float32 and float64,
on the direct-loop and the im2col + BLAS paths), against central finite
differences (float64) and, where PyTorch is installed, against
torch.nn.Conv2d / MaxPool2d / AvgPool2d / Flatten trained side by side.
"""

import json

import numpy as np
import pytest

import fastnn
import reference as ref
from conftest import make_targets, numeric_grads
from fastnn import (
    AvgPool2D,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    Sequential,
    _kernels,
    models,
)

# name: (layers, sample shape (c, h, w), loss, number of outputs)
ARCHS = {
    "api": (
        lambda: [
            Conv2D(1, 6, kernel_size=3, padding=1, activation="relu"),
            MaxPool2D(2),
            Flatten(),
            Dense(6 * 4 * 4, 10, activation="softmax"),
        ],
        (1, 8, 8),
        "cross_entropy",
        10,
    ),
    # kernel, stride and padding as pairs; max-pool windows (2, 3) with floor
    "pairs": (
        lambda: [
            Conv2D(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), activation="tanh"),
            MaxPool2D((2, 3)),
            Flatten(),
            Dense(12, 4, activation="softmax"),
        ],
        (2, 7, 9),
        "cross_entropy",
        4,
    ),
    # two convolutions (the input gradient of the second one), average pooling
    "two_convs": (
        lambda: [
            Conv2D(3, 4, 3, padding=1, activation="relu"),
            AvgPool2D(2),
            Conv2D(4, 5, (2, 3), stride=2, padding=(0, 1), activation="sigmoid"),
            Flatten(),
            Dense(30, 3, activation="softmax"),
        ],
        (3, 10, 10),
        "cross_entropy",
        3,
    ),
    # padding wider than half the kernel, a 1x1 kernel with stride 3
    "wide_pad": (
        lambda: [
            Conv2D(1, 2, 3, padding=2, activation="tanh"),
            Conv2D(2, 3, 1, stride=3),
            Flatten(),
            Dense(27, 2, activation="sigmoid"),
        ],
        (1, 5, 5),
        "binary_cross_entropy",
        2,
    ),
    # a convolution as the output layer (mse on its flattened maps)
    "conv_out": (
        lambda: [Conv2D(2, 3, 3, padding=1, activation="sigmoid"), AvgPool2D(2), Conv2D(3, 2, 2)],
        (2, 6, 6),
        "mse",
        8,
    ),
    "pool_first": (
        lambda: [
            MaxPool2D(2),
            Conv2D(1, 3, 2, activation="tanh"),
            Flatten(),
            Dense(27, 4, activation="softmax"),
        ],
        (1, 8, 8),
        "cross_entropy",
        4,
    ),
    "flatten_first": (
        lambda: [Flatten(), Dense(18, 5, activation="tanh"), Dense(5, 3, activation="softmax")],
        (2, 3, 3),
        "cross_entropy",
        3,
    ),
    # large enough for BLAS even on one sample; the second convolution (whose
    # input gradient is needed) unfolds 10 samples at a time
    "large": (
        lambda: [
            Conv2D(3, 4, 3, padding=1, activation="relu"),
            Conv2D(4, 8, 5, padding=2, activation="tanh"),
            MaxPool2D(2),
            Conv2D(8, 16, 3, stride=2, padding=1, activation="relu"),
            AvgPool2D(2),
            Flatten(),
            Dense(64, 10, activation="softmax"),
        ],
        (3, 16, 16),
        "cross_entropy",
        10,
    ),
    # small enough for the direct loops on one sample (fewer than 64 multiply-adds)
    "tiny": (
        lambda: [
            Conv2D(2, 1, (2, 3), stride=(2, 1), padding=(1, 0), activation="sigmoid"),
            Conv2D(1, 2, 2, stride=2, padding=1, activation="tanh"),
            Flatten(),
            Dense(8, 3, activation="softmax"),
        ],
        (2, 3, 4),
        "cross_entropy",
        3,
    ),
}
TOL = {"float64": 1e-12, "float32": 2e-5}


def make(name, dtype="float64", seed=0):
    layers, shape, loss, k = ARCHS[name]
    return Sequential(layers(), loss=loss, dtype=dtype, seed=seed), shape, loss, k


def data(name, n, seed=0):
    rng = np.random.default_rng(seed)
    _, shape, loss, k = ARCHS[name]
    return rng.normal(size=(n, *shape)), make_targets(rng, loss, n, k)


def ref_layers(net):
    """The network as the reference's dict layers (copies of the parameters)."""
    out = []
    for L in net.layers:
        if L.kind == "dense":
            out.append(dict(kind="dense", W=L.W.copy(), b=L.b.copy(), act=L.activation))
        elif L.kind == "conv2d":
            out.append(
                dict(
                    kind="conv2d",
                    W=L.W.copy(),
                    b=L.b.copy(),
                    act=L.activation,
                    stride=L.stride,
                    padding=L.padding,
                )
            )
        elif L.kind in ("maxpool2d", "avgpool2d"):
            out.append(dict(kind=L.kind, size=L.size))
        else:
            out.append(dict(kind="flatten"))
    return out


def conv_paths(net, m):
    """For each convolution: True if m rows of it go through BLAS."""
    paths = []
    for L in net.layers:
        if L.kind == "conv2d":
            (c_in, _, _), (c_out, oh, ow) = L.in_shape, L.out_shape
            macs = m * c_out * c_in * L.kernel_size[0] * L.kernel_size[1] * oh * ow
            paths.append(macs >= _kernels.CONV_DIRECT_BELOW)
    return paths


def close(a, b, dtype):
    scale = max(1.0, float(np.max(np.abs(b))) if np.size(b) else 1.0)
    np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def flat_grads(grads):
    return np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in grads if dW is not None])


# ------------------------------------------------------------ layers and shapes
def test_api_example_shapes_views_and_grads():
    net = Sequential(
        [
            Conv2D(1, 6, kernel_size=3, padding=1, activation="relu"),
            MaxPool2D(2),
            Flatten(),
            Dense(6 * 4 * 4, 10, activation="softmax"),
        ],
        loss="cross_entropy",
        seed=0,
    )
    conv, pool, flat, dense = net.layers
    assert conv.W.shape == (6, 1, 3, 3) and conv.b.shape == (6,)
    assert dense.W.shape == (96, 10)
    assert pool.W is None and pool.b is None and flat.W is None and flat.b is None
    assert net.n_params == 6 * 9 + 6 + 96 * 10 + 10
    assert np.shares_memory(conv.W, net.params) and np.shares_memory(conv.b, net.params)
    X, y = data("api", 20)
    net.fit(X, y, epochs=2, batch_size=8, optimizer=fastnn.SGD(lr=0.1))
    assert (conv.in_shape, conv.out_shape) == ((1, 8, 8), (6, 8, 8))
    assert (pool.out_shape, flat.out_shape) == ((6, 4, 4), (96,))
    loss, grads = net.loss_and_grads(X, y)
    assert [g[0] is None for g in grads] == [False, True, True, False]
    assert grads[1] == (None, None) and grads[2] == (None, None)
    assert grads[0][0].shape == (6, 1, 3, 3) and grads[0][1].shape == (6,)
    # the views are the model: writing into W changes the predictions
    before = net.predict(X)
    conv.W[0, 0, 1, 1] += 1.0
    assert not np.array_equal(net.predict(X), before)
    assert "(6, 8, 8)" in net.summary() and "(6, 4, 4)" in net.summary()


def test_input_shape_builds_at_creation_with_the_same_weights():
    lazy = Sequential(ARCHS["api"][0](), seed=4)
    eager = Sequential(
        [
            Conv2D(1, 6, 3, padding=1, activation="relu", input_shape=(1, 8, 8)),
            MaxPool2D(2),
            Flatten(),
            Dense(96, 10, activation="softmax"),
        ],
        seed=4,
    )
    assert eager.layers[1].out_shape == (6, 4, 4) and lazy.layers[1].out_shape is None
    np.testing.assert_array_equal(lazy.params, eager.params)
    X, _ = data("api", 5)
    np.testing.assert_array_equal(lazy.predict(X), eager.predict(X))
    np.testing.assert_array_equal(lazy._spec, eager._spec)


@pytest.mark.parametrize(
    "act, limit",
    [
        ("relu", np.sqrt(6 / (3 * 2 * 5))),  # He: fan_in = in * kh * kw
        ("tanh", np.sqrt(6 / (3 * 2 * 5 + 40 * 2 * 5))),  # Glorot: + out * kh * kw
    ],
)
def test_init_he_for_relu_glorot_otherwise(act, limit):
    net = Sequential([Conv2D(3, 40, (2, 5), activation=act)], seed=0)
    W = net.layers[0].W
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.95 * limit  # uniform over the whole range
    assert np.all(net.layers[0].b == 0)


@pytest.mark.parametrize(
    "layers, X_shape, match",
    [
        # the API example with a wrong Dense width: found at the first fit
        (
            lambda: [
                Conv2D(1, 6, 3, padding=1, activation="relu"),
                MaxPool2D(2),
                Flatten(),
                Dense(6 * 8 * 8, 10, activation="softmax"),
            ],
            (4, 1, 8, 8),
            r"layer 3 \(Dense\(384, 10, activation='softmax'\)\) takes 384 inputs but layer 2 "
            r"\(Flatten\(\)\) gives 96 \(the flattened \(6, 4, 4\)\)",
        ),
        (
            lambda: [Conv2D(3, 6, 3), Flatten(), Dense(6, 2)],
            (4, 1, 8, 8),
            r"layer 0 \(Conv2D\(3, 6, kernel_size=3\)\) takes images of shape \(3, h, w\) .* "
            r"but the input has samples of shape \(1, 8, 8\)",
        ),
        (
            lambda: [Conv2D(1, 2, 5), Flatten(), Dense(2, 2)],
            (4, 1, 3, 9),
            r"takes images of shape \(1, h, w\) with h >= 5 and w >= 5 but the input has "
            r"samples of shape \(1, 3, 9\)",
        ),
        (
            lambda: [Conv2D(1, 2, 3), MaxPool2D(4), Flatten(), Dense(2, 2)],
            (4, 1, 5, 5),
            r"layer 1 \(MaxPool2D\(4\)\) takes images of shape \(c, h, w\) with h >= 4 and w >= 4 "
            r"but layer 0 .* gives \(2, 3, 3\)",
        ),
        (
            lambda: [Conv2D(1, 2, 3), Flatten(), Dense(18, 2)],
            (4, 64),
            r"X must have shape \(n_samples, channels, height, width\) for a network whose first "
            r"layer is Conv2D\(1, 2, kernel_size=3\), got shape \(4, 64\)",
        ),
        (
            lambda: [AvgPool2D(2), Flatten(), Dense(16, 2)],
            (4, 8, 8),
            r"X must have shape \(n_samples, channels, height, width\)",
        ),
    ],
)
def test_shape_errors_name_the_layer_and_the_shapes(layers, X_shape, match):
    net = Sequential(layers(), seed=0)
    X = np.zeros(X_shape)
    with pytest.raises(ValueError, match=match):
        net.predict(X)
    with pytest.raises(ValueError, match=match):  # and nothing was half-built
        net.fit(X, np.zeros((X_shape[0], net.layers[-1].n_out)))
    assert net._spec is None


@pytest.mark.parametrize(
    "layers, match",
    [
        (
            lambda: [Conv2D(1, 6, 3, input_shape=(1, 8, 8)), Flatten(), Dense(37, 2)],
            r"layer 2 \(Dense\(37, 2\)\) takes 37 inputs but layer 1 \(Flatten\(\)\) gives 216 "
            r"\(the flattened \(6, 6, 6\)\)",
        ),
        (
            lambda: [Conv2D(1, 6, 3), Conv2D(4, 8, 3)],
            r"layer 1 \(Conv2D\(4, 8, kernel_size=3\)\) takes images of shape \(4, h, w\) .* but "
            r"layer 0 \(Conv2D\(1, 6, kernel_size=3\)\) gives \(6, \?, \?\)",
        ),
        (
            lambda: [Conv2D(1, 6, 3), Dense(36, 10)],
            r"layer 1 \(Dense\(36, 10\)\) takes 36 inputs \(a flat vector: put a Flatten\(\) "
            r"before it\) but layer 0 .* gives \(6, \?, \?\)",
        ),
        (
            lambda: [Dense(4, 8), Conv2D(8, 2, 1)],
            r"layer 1 .* takes images of shape \(8, h, w\) .* "
            r"but layer 0 \(Dense\(4, 8\)\) gives 8",
        ),
        (lambda: [Dense(4, 8), MaxPool2D(2)], r"layer 1 \(MaxPool2D\(2\)\) takes images"),
        (
            lambda: [
                Conv2D(1, 2, 3, input_shape=(1, 8, 8)),
                Conv2D(2, 2, 3, input_shape=(2, 5, 5)),
            ],
            r"layer 1 .* takes images of shape \(2, 5, 5\) \(its input_shape\) but layer 0 .* "
            r"gives \(2, 6, 6\)",
        ),
    ],
)
def test_shape_errors_found_at_creation(layers, match):
    with pytest.raises(ValueError, match=match):
        Sequential(layers())


def test_a_built_network_refuses_other_image_sizes_and_a_failed_build_can_be_retried():
    net, _, _, _ = make("api")
    with pytest.raises(ValueError, match=r"takes images of shape \(1, h, w\)"):
        net.predict(np.zeros((2, 3, 8, 8)))
    net.predict(np.zeros((2, 1, 8, 8)))  # builds for (1, 8, 8)
    with pytest.raises(
        ValueError,
        match=r"X must have shape \(n_samples, 1, 8, 8\), "
        r"got \(2, 1, 9, 9\)",
    ):
        net.predict(np.zeros((2, 1, 9, 9)))
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 1, 8, 8\)"):
        net.predict(np.zeros((2, 64)))
    with pytest.raises(ValueError, match="X has an empty dimension"):
        make("api")[0].predict(np.zeros((2, 1, 0, 8)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        net.predict(np.full((2, 1, 8, 8), np.nan))


@pytest.mark.parametrize(
    "make_layer, error, match",
    [
        (lambda: Conv2D(1, 2, 0), ValueError, "kernel_size must be >= 1"),
        (lambda: Conv2D(1, 2, 2.5), TypeError, "kernel_size must be an integer"),
        (lambda: Conv2D(1, 2, (1, 2, 3)), ValueError, "kernel_size must be an int or a pair"),
        (lambda: Conv2D(1, 2, "3"), TypeError, "kernel_size must be an integer"),
        (lambda: Conv2D(1, 2, 3, stride=0), ValueError, "stride must be >= 1"),
        (lambda: Conv2D(1, 2, 3, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: Conv2D(0, 2, 3), ValueError, "in_channels must be >= 1"),
        (
            lambda: Conv2D(1, 2, 3, activation="softmax"),
            ValueError,
            "Conv2D does not take the softmax activation",
        ),
        (lambda: Conv2D(1, 2, 3, activation="gelu"), ValueError, "unknown activation 'gelu'"),
        (
            lambda: Conv2D(1, 2, 3, input_shape=(8, 8)),
            ValueError,
            r"input_shape must be \(channels, height, width\)",
        ),
        (
            lambda: Conv2D(1, 2, 3, input_shape=(3, 8, 8)),
            ValueError,
            r"input_shape \(3, 8, 8\) has 3 channels but in_channels is 1",
        ),
        (lambda: MaxPool2D(0), ValueError, "size must be >= 1"),
        (lambda: AvgPool2D((2, 2, 2)), ValueError, "size must be an int or a pair"),
    ],
)
def test_bad_layer_arguments(make_layer, error, match):
    with pytest.raises(error, match=match):
        make_layer()


def test_softmax_stays_on_the_output_layer_and_cross_entropy_needs_it():
    with pytest.raises(ValueError, match="needs a softmax output layer"):
        Sequential([Conv2D(1, 2, 3), Flatten()], loss="cross_entropy")


@pytest.mark.parametrize(
    "column, value, match",
    [
        (3, 97, "n_out 97 does not match the output"),  # conv output size
        (5, 55, "parameter sizes do not match a convolution"),  # conv w_size
        (10, 11, "the window is larger than the"),  # kernel height > padded h
        (12, 0, "image and window sizes must be positive"),  # stride 0
        (8, 7, "n_in 64 is not channels"),  # h that does not divide n_in
        (4, 10**6, "parameters do not fit the buffer"),  # w_off past the buffer
        (2, -1, "out of range"),
        (8, 2**40, "out of range"),
    ],
)
def test_the_kernels_refuse_an_inconsistent_layer_table(column, value, match):
    net, _, _, _ = make("api", dtype="float32")
    net.predict(np.zeros((1, 1, 8, 8)))
    spec = net._spec.copy()
    spec[0, column] = value
    with pytest.raises(ValueError, match=match):
        _kernels.forward(
            spec,
            net.params,
            np.zeros((2, 64), np.float32),
            np.zeros((2, 10), np.float32),
            np.zeros(10**6, np.float32),
            2,
        )


@pytest.mark.parametrize(
    "row, column, value, match",
    [
        (1, 7, 1, "a pooling layer has no parameters"),
        (1, 1, _kernels.ACTIVATIONS["relu"], "a pooling layer has no parameters and no activation"),
        (1, 3, 4 * 4 * 5, "n_out 80 does not match"),
        (2, 3, 95, "a flatten layer keeps its size"),
        (0, 1, _kernels.ACTIVATIONS["softmax"], "softmax is for dense layers only"),
        (0, 0, 9, "unknown layer kind 9"),
    ],
)
def test_the_kernels_refuse_bad_pool_flatten_and_conv_rows(row, column, value, match):
    net, _, _, _ = make("api", dtype="float64")
    net.predict(np.zeros((1, 1, 8, 8)))
    spec = net._spec.copy()
    spec[row, column] = value
    with pytest.raises(ValueError, match=match):
        _kernels.workspace_size(spec, 4)


def test_workspace_holds_the_unfolded_input():
    net, _, _, _ = make("large", dtype="float32")
    net.predict(np.zeros((1, 3, 16, 16)))
    spec = net._spec
    # rows: input 768, outputs 1024 + 2048 + 512 + 256 + 64 + 64 + 10, two deltas of
    # the widest layer (2048); scratch: the largest unfolding, conv 2's 100 x 256,
    # and the largest product, conv 2's 8 x 256
    row = 768 + 3978 + 2 * 2048
    assert _kernels.workspace_size(spec, 1) == row + 100 * 256 + 8 * 256
    # 40 rows: at most 2**18 unfolded values, whole samples: conv 1 (27 x 256) 37
    # samples at a time, conv 2 (100 x 256) 10 at a time
    assert _kernels.CONV_UNFOLD_BUDGET == 2**18
    assert (
        _kernels.workspace_size(spec, 40)
        == 40 * row + max(37 * 27, 10 * 100) * 256 + max(37 * 4, 10 * 8) * 256
    )


# ------------------------------------------------------------ against the reference
CASES = [
    ("api", 6),
    ("pairs", 5),
    ("two_convs", 4),
    ("wide_pad", 3),
    ("conv_out", 5),
    ("pool_first", 4),
    ("flatten_first", 3),
    ("large", 40),
    ("large", 1),
    ("tiny", 1),
    ("tiny", 7),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, n", CASES)
def test_forward_loss_and_grads_match_reference(dtype, name, n):
    net, _, loss, _ = make(name, dtype=dtype, seed=1)
    X, y = data(name, n, seed=2)
    Xd = X.astype(dtype)
    P = net.predict(X)
    layers = ref_layers(net)
    outs = ref.net_forward(layers, Xd)
    close(P, outs[-1].reshape(n, -1), dtype)
    value, grads = net.loss_and_grads(X, y)
    ref_value, ref_grads = ref.net_loss_and_grads(layers, Xd, y, loss)
    close(value, ref_value, dtype)
    close(net.evaluate(X, y), ref_value, dtype)
    for (dW, db), (rW, rb) in zip(grads, ref_grads):
        assert (dW is None) == (rW is None)
        if dW is not None:
            assert dW.dtype == np.dtype(dtype) and dW.shape == rW.shape
            close(dW, rW, dtype)
            close(db, rb, dtype)


def test_the_cases_cover_both_paths():
    """The direct loops (tiny on one sample) and BLAS with several unfolding
    groups (large on 40 samples: conv 2 in groups of 10, conv 1 of 37 + 3)
    are both exercised."""
    tiny = make("tiny")[0]
    tiny.predict(data("tiny", 1)[0])
    assert conv_paths(tiny, 1) == [False, False] and conv_paths(tiny, 7) == [True, True]
    large = make("large")[0]
    large.predict(data("large", 1)[0])
    assert conv_paths(large, 1) == [True, True, True]
    assert _kernels.CONV_UNFOLD_BUDGET // (100 * 256) == 10
    assert _kernels.CONV_UNFOLD_BUDGET // (27 * 256) == 37


@pytest.mark.parametrize("name, n", [("tiny", 9), ("large", 33), ("api", 300)])
def test_one_row_at_a_time_gives_the_batch_result(name, n):
    """predict row by row (direct loops for tiny) agrees with whole chunks (BLAS)."""
    net, _, _, _ = make(name, seed=3)
    X, _ = data(name, n, seed=4)
    whole = net.predict(X)
    rows = np.concatenate([net.predict(X[i : i + 1]) for i in range(n)])
    np.testing.assert_allclose(rows, whole, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(
        whole, ref.net_forward(ref_layers(net), X)[-1].reshape(n, -1), rtol=1e-12, atol=1e-14
    )


OPTIMIZERS = [
    ("sgd", dict(lr=0.1, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.01)),
    ("adam", dict(lr=0.01)),
]


def _batches(n, bs, epochs):
    bs = n if bs is None else bs
    return [np.arange(s, min(s + bs, n)) for _ in range(epochs) for s in range(0, n, bs)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt, hyper", OPTIMIZERS)
@pytest.mark.parametrize(
    "name, n, batch_size",
    [("api", 10, 4), ("two_convs", 6, None), ("tiny", 5, 1), ("large", 20, 8), ("conv_out", 6, 3)],
)
def test_training_matches_reference(dtype, opt, hyper, name, n, batch_size):
    net, _, loss, _ = make(name, dtype=dtype, seed=2)
    X, y = data(name, n, seed=5)
    X = X.astype(dtype)
    layers = ref_layers(net)
    optimizer = fastnn.SGD(**hyper) if opt == "sgd" else fastnn.Adam(**hyper)
    hist = net.fit(X, y, epochs=2, batch_size=batch_size, optimizer=optimizer, shuffle=False)
    ref_losses = ref.net_train(layers, X, y, loss, _batches(n, batch_size, 2), opt=opt, **hyper)
    tol = 1e-10 if dtype == "float64" else 5e-4
    np.testing.assert_allclose(hist.step_loss, ref_losses, rtol=tol, atol=tol)
    for layer, R in zip(net.layers, layers):
        if layer.W is not None:
            np.testing.assert_allclose(layer.W, R["W"], rtol=tol, atol=tol)
            np.testing.assert_allclose(layer.b, R["b"], rtol=tol, atol=tol)


# ------------------------------------------------------------ finite differences
def check_gradient(net, X, y):
    _, grads = net.loss_and_grads(X, y)
    np.testing.assert_allclose(flat_grads(grads), numeric_grads(net, X, y), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "name, n",
    [
        ("pairs", 4),
        ("two_convs", 3),
        ("wide_pad", 3),
        ("conv_out", 3),
        ("pool_first", 3),
        ("flatten_first", 3),
        ("tiny", 1),
        ("tiny", 4),
        ("large", 2),
    ],
)
def test_gradient_finite_differences(name, n):
    net, _, _, _ = make(name, seed=6)
    X, y = data(name, n, seed=7)
    check_gradient(net, X, y)


# (kernel, stride, padding) of the second of two convolutions on (1, 7, 6) images
GEOMETRIES = [
    (3, 1, 0),
    (3, 1, 1),
    (3, 2, 1),
    ((3, 2), (2, 1), (1, 0)),
    (2, 2, 0),
    (1, 1, 0),
    (1, 3, 0),
    ((2, 3), (1, 2), (0, 1)),
    (3, 1, 2),
    (4, 3, 1),
]


def _out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
@pytest.mark.parametrize("pool", [None, MaxPool2D, AvgPool2D])
def test_gradient_finite_differences_conv_geometry(kernel, stride, padding, pool):
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride), pair(padding)
    h, w = _out(7, kh, sh, ph), _out(6, kw, sw, pw)
    layers = [
        Conv2D(1, 2, 2, padding=1, activation="tanh"),  # (2, 8, 7)
        Conv2D(2, 3, kernel, stride=stride, padding=padding, activation="sigmoid"),
    ]
    h, w = _out(8, kh, sh, ph), _out(7, kw, sw, pw)
    if pool is not None and h >= 2 and w >= 2:
        layers.append(pool(2))
        h, w = h // 2, w // 2
    layers += [Flatten(), Dense(3 * h * w, 3, activation="softmax")]
    net = Sequential(layers, dtype="float64", seed=8)
    rng = np.random.default_rng(9)
    X, y = rng.normal(size=(3, 1, 7, 6)), rng.integers(0, 3, size=3)
    check_gradient(net, X, y)


@pytest.mark.parametrize("pool", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("size", [2, (2, 3), (3, 1)])
def test_gradient_finite_differences_pooling(pool, size):
    net = Sequential(
        [
            Conv2D(2, 3, 3, padding=1, activation="tanh"),
            pool(size),
            Flatten(),
            Dense(
                3
                * (7 // fastnn.layers._pair(size, "s", 1)[0])
                * (8 // fastnn.layers._pair(size, "s", 1)[1]),
                4,
                activation="softmax",
            ),
        ],
        dtype="float64",
        seed=10,
    )
    rng = np.random.default_rng(11)
    check_gradient(net, rng.normal(size=(3, 2, 7, 8)), rng.integers(0, 4, size=3))


def test_gradient_finite_differences_with_max_pool_ties():
    """Tied maxima that stay tied whatever the weights (equal columns through a
    1-wide kernel): the loss is smooth there, and the gradient must reach the
    tie once, not once per tied pixel."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(3, 2, 4, 4))
    X[..., 1] = X[..., 0]  # columns 0, 1 and 2, 3 tie in every window
    X[..., 3] = X[..., 2]
    net = Sequential(
        [
            Conv2D(2, 3, (3, 1), padding=(1, 0), activation="tanh"),
            MaxPool2D(2),
            Flatten(),
            Dense(12, 3, activation="softmax"),
        ],
        dtype="float64",
        seed=13,
    )
    A = np.tanh(ref.conv2d_forward(X, net.layers[0].W, net.layers[0].b, (1, 1), (1, 0)))
    assert np.all(A[..., 0] == A[..., 1])  # the ties are exact
    check_gradient(net, X, rng.integers(0, 3, size=3))


def test_max_pool_ties_go_to_the_first_maximum():
    """Conv 1x1 on two channels with channel 1's weight 0: the pooled values
    tie exactly, but channel 1 tells which pixel got the gradient."""
    rng = np.random.default_rng(14)
    X = np.stack(
        [rng.integers(0, 2, size=(6, 4, 4)).astype(float), rng.normal(size=(6, 4, 4))], axis=1
    )  # (6, 2, 4, 4)
    net = Sequential(
        [Conv2D(2, 1, 1), MaxPool2D(2), Flatten(), Dense(4, 2, activation="softmax")],
        dtype="float64",
        seed=15,
    )
    net.layers[0].W[...] = [[[[1.0]], [[0.0]]]]
    y = rng.integers(0, 2, size=6)
    _, grads = net.loss_and_grads(X, y)
    _, ref_grads = ref.net_loss_and_grads(ref_layers(net), X, y, "cross_entropy")
    np.testing.assert_allclose(grads[0][0], ref_grads[0][0], rtol=1e-12, atol=1e-15)
    # the last maximum instead would give another gradient: the test can fail
    flipped = X[..., ::-1, ::-1].copy()
    layers = ref_layers(net)
    layers[-1]["W"] = net.layers[-1].W[::-1].copy()  # same network on the mirror
    _, last = ref.net_loss_and_grads(layers, flipped, y, "cross_entropy")
    assert not np.allclose(last[0][0], ref_grads[0][0])


def test_max_pool_lets_nan_through_as_torch():
    """A NaN anywhere in a window is the window's maximum (torch.nn.MaxPool2d)."""
    net = Sequential([Conv2D(1, 1, 1), MaxPool2D(2), Flatten()], loss="mse", dtype="float64")
    net.layers[0].W[...] = np.inf  # inf * 0 = NaN where the pixel is 0
    net.layers[0].b[...] = 0.0
    X = np.array(
        [
            [
                [
                    [1.0, 0.0, 2.0, 3.0],
                    [4.0, 5.0, 6.0, 7.0],
                    [-1.0, -2.0, 1.0, 1.0],
                    [-3.0, 0.0, 1.0, 1.0],
                ]
            ]
        ]
    )
    P = net.predict(X)
    assert np.isnan(P[0, 0]) and np.isnan(P[0, 2])
    assert P[0, 1] == np.inf and P[0, 3] == np.inf


# ------------------------------------------------------------ side by side with PyTorch
def to_torch(net, torch):
    """A float64 torch model with the network's weights; the output layer's
    activation is left to the loss (logits), except for mse."""
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    mods, last = [], len(net.layers) - 1
    for i, L in enumerate(net.layers):
        if L.kind == "dense":
            m = torch.nn.Linear(L.n_in, L.n_out).double()
            W = L.W.T
        elif L.kind == "conv2d":
            m = torch.nn.Conv2d(
                L.in_channels, L.out_channels, L.kernel_size, stride=L.stride, padding=L.padding
            ).double()
            W = L.W
        elif L.kind == "maxpool2d":
            m = torch.nn.MaxPool2d(L.size)
        elif L.kind == "avgpool2d":
            m = torch.nn.AvgPool2d(L.size)
        else:
            m = torch.nn.Flatten()
        if L.W is not None:
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
                m.bias.copy_(torch.from_numpy(L.b.copy()))
        mods.append(m)
        if L.activation in act and (i < last or net.loss == "mse"):
            mods.append(act[L.activation]())
    return torch.nn.Sequential(*mods)


def torch_params(model, torch):
    return [m for m in model if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


def assert_same_weights(net, model, torch, tol=1e-9):
    for L, m in zip([L for L in net.layers if L.W is not None], torch_params(model, torch)):
        W = m.weight.detach().numpy()
        np.testing.assert_allclose(L.W, W.T if L.kind == "dense" else W, rtol=tol, atol=tol)
        np.testing.assert_allclose(L.b, m.bias.detach().numpy(), rtol=tol, atol=tol)


def train_torch(model, opt, loss_fn, X, y, batch_size, epochs, torch):
    n = len(X)
    bs = n if batch_size is None else batch_size
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    for _ in range(epochs):
        for s in range(0, n, bs):
            opt.zero_grad()
            out = model(Xt[s : s + bs])
            if not isinstance(loss_fn, torch.nn.CrossEntropyLoss):
                out = out.reshape(len(out), -1)
            loss = loss_fn(out, yt[s : s + bs])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def torch_loss(loss, torch):
    return {
        "mse": torch.nn.MSELoss(),
        "cross_entropy": torch.nn.CrossEntropyLoss(),
        "binary_cross_entropy": torch.nn.BCEWithLogitsLoss(),
    }[loss]


@pytest.mark.torch
@pytest.mark.parametrize("name", list(ARCHS))
def test_forward_matches_torch(name):
    torch = pytest.importorskip("torch")
    net, _, loss, _ = make(name, seed=16)
    X, _ = data(name, 12, seed=17)
    model = to_torch(net, torch)
    with torch.no_grad():
        out = model(torch.from_numpy(X)).reshape(12, -1)
        if loss == "cross_entropy":
            out = torch.softmax(out, dim=1)
        elif loss == "binary_cross_entropy":
            out = torch.sigmoid(out)
    np.testing.assert_allclose(net.predict(X), out.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("batch_size", [None, 1, 8])
@pytest.mark.parametrize(
    "opt, hyper",
    [
        ("sgd", dict(lr=0.1)),
        ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("adam", dict(lr=0.01)),
        ("adam", dict(lr=0.003, betas=(0.85, 0.995), eps=1e-7, weight_decay=0.05)),
    ],
)
@pytest.mark.parametrize(
    "name", ["api", "pairs", "two_convs", "wide_pad", "conv_out", "pool_first", "large", "tiny"]
)
def test_training_matches_torch(name, opt, hyper, batch_size):
    torch = pytest.importorskip("torch")
    net, _, loss, _ = make(name, seed=18)
    X, y = data(name, 16, seed=19)
    model = to_torch(net, torch)
    if opt == "sgd":
        fn_opt, t_opt = fastnn.SGD(**hyper), torch.optim.SGD(model.parameters(), **hyper)
    else:
        fn_opt, t_opt = fastnn.Adam(**hyper), torch.optim.Adam(model.parameters(), **hyper)
    fn_losses = net.fit(
        X, y, epochs=2, batch_size=batch_size, optimizer=fn_opt, shuffle=False
    ).step_loss
    t_losses = train_torch(model, t_opt, torch_loss(loss, torch), X, y, batch_size, 2, torch)
    np.testing.assert_allclose(fn_losses, t_losses, rtol=1e-9, atol=1e-12)
    assert_same_weights(net, model, torch)


@pytest.mark.torch
def test_max_pool_ties_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(20)
    X = np.stack(
        [rng.integers(0, 2, size=(8, 6, 5)).astype(float), rng.normal(size=(8, 6, 5))], axis=1
    )  # (8, 2, 6, 5), many ties
    y = rng.integers(0, 3, size=8)
    net = Sequential(
        [Conv2D(2, 2, 1), MaxPool2D((2, 2)), Flatten(), Dense(12, 3, activation="softmax")],
        dtype="float64",
        seed=21,
    )
    net.layers[0].W[:, 1] = 0.0  # channel 1 only tells where the gradient went
    model = to_torch(net, torch)
    t_losses = train_torch(
        model,
        torch.optim.SGD(model.parameters(), lr=0.5),
        torch.nn.CrossEntropyLoss(),
        X,
        y,
        4,
        1,
        torch,
    )
    fn_losses = net.fit(
        X, y, epochs=1, batch_size=4, optimizer=fastnn.SGD(lr=0.5), shuffle=False
    ).step_loss
    np.testing.assert_allclose(fn_losses, t_losses, rtol=1e-12)
    assert_same_weights(net, model, torch, tol=1e-12)


# ------------------------------------------------------------ save and load
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["api", "two_convs", "conv_out", "pool_first", "large"])
def test_round_trip_predicts_bit_for_bit(tmp_path, dtype, name):
    net, shape, _, _ = make(name, dtype=dtype, seed=22)
    X, y = data(name, 30, seed=23)
    net.fit(X, y, epochs=2, batch_size=8, optimizer=fastnn.SGD(lr=0.05, momentum=0.9))
    path = tmp_path / "cnn.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as archive:
        config = json.loads(str(archive["config"]))
    assert config["input_shape"] == list(shape)
    back = fastnn.load(path)
    assert [repr(a) for a in back.layers] == [repr(a) for a in net.layers]
    assert back._input_shape == shape and back.dtype == net.dtype
    for a, b in zip(back.layers, net.layers):
        assert (a.W is None) == (b.W is None)
        if a.W is not None:
            assert a.W.shape == b.W.shape
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    h1 = net.fit(X, y, epochs=1, batch_size=8, optimizer=fastnn.SGD(lr=0.05))
    h2 = back.fit(X, y, epochs=1, batch_size=8, optimizer=fastnn.SGD(lr=0.05))
    assert h1.step_loss == h2.step_loss
    np.testing.assert_array_equal(back.params, net.params)


def test_round_trip_of_a_network_not_built_yet(tmp_path):
    net, _, _, _ = make("api", seed=24)
    net.save(tmp_path / "unbuilt.npz")
    back = fastnn.load(tmp_path / "unbuilt.npz")
    assert back._spec is None
    X, _ = data("api", 7)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_round_trip_keeps_conv_arguments(tmp_path):
    net = Sequential(
        [
            Conv2D(
                2,
                3,
                (3, 2),
                stride=(2, 1),
                padding=(1, 0),
                activation="tanh",
                input_shape=(2, 7, 9),
            ),
            AvgPool2D((2, 3)),
            Flatten(),
            Dense(12, 2),
        ],
        loss="mse",
        seed=25,
    )
    net.save(tmp_path / "m.npz")
    back = fastnn.load(tmp_path / "m.npz")
    conv, pool = back.layers[0], back.layers[1]
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 2), (2, 1), (1, 0))
    assert conv.input_shape == (2, 7, 9) and pool.size == (2, 3)
    assert back._spec is not None
    np.testing.assert_array_equal(back._spec, net._spec)


def test_checkpoint_resumes_a_cnn_exactly(tmp_path):
    net, _, _, _ = make("api", seed=26)
    X, y = data("api", 24, seed=27)
    opt = fastnn.Adam(lr=0.01)
    net.fit(X, y, epochs=1, batch_size=8, optimizer=opt)
    net.save(tmp_path / "ckpt.npz", optimizer=opt)
    back, back_opt = fastnn.load_checkpoint(tmp_path / "ckpt.npz")
    h1 = net.fit(X, y, epochs=2, batch_size=8, optimizer=opt)
    h2 = back.fit(X, y, epochs=2, batch_size=8, optimizer=back_opt)
    assert h1.step_loss == h2.step_loss
    np.testing.assert_array_equal(back.params, net.params)


@pytest.mark.parametrize(
    "input_shape, match",
    [
        ([1, 10, 10], r"Dense\(96, 10, activation='softmax'\)\) takes 96 inputs"),
        ([1, 8], r"takes images of shape \(1, h, w\)"),
        ([1, 8, 8.5], "input_shape must be an integer"),
        (["1", 8, 8], "input_shape must be an integer"),
        ([1, 0, 8], "input_shape must be >= 1"),
    ],
)
def test_a_file_with_a_bad_input_shape_is_refused(tmp_path, input_shape, match):
    net, _, _, _ = make("api", dtype="float32")
    config = net.config()
    config["input_shape"] = input_shape
    path = tmp_path / "bad.npz"
    np.savez(
        path,
        format=np.array("fastnn-model"),
        version=np.array(1),
        config=np.array(json.dumps(config)),
        params=net.params,
    )
    with pytest.raises(ValueError, match="not a valid fastnn model file.*" + match):
        fastnn.load(path)


# ------------------------------------------------------------ learning
def test_lenet_learns_the_digits_and_beats_the_dense_network_of_its_budget():
    results = [(models.lenet_digits(seed), models.dense_digits(seed)) for seed in range(3)]
    cnn, mlp = results[0]
    assert cnn.n_params == 1030 and mlp.n_params <= cnn.n_params
    assert cnn.history.loss[-1] < 0.05 < cnn.history.loss[0]
    assert cnn.test_accuracy >= 0.97
    # the convolution itself learnt (frozen random features would do ~96%)
    start = models.lenet(seed=0)
    assert np.abs(cnn.net.layers[0].W - start.layers[0].W).max() > 0.1
    assert (
        np.mean([c.test_accuracy for c, _ in results])
        > np.mean([m.test_accuracy for _, m in results]) + 0.005
    )
    # the same seed trains the same network, bit for bit
    again = models.lenet_digits(seed=0)
    np.testing.assert_array_equal(again.net.params, cnn.net.params)
