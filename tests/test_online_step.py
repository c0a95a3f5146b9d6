"""Online learning under plain SGD takes each layer's step as its gradient is
found, never storing the gradient (``_dense_sgd_row``). It must give the bits
of the stored-gradient way, which ``partial_fit`` on one row still takes
(through a Stepper), and stay exact against the plain-NumPy reference."""

import copy

import numpy as np
import pytest

import fastnn
from conftest import make_net, make_targets, ref, ref_layers

# (sizes, activations, loss): dense layers of every path a row's gradient
# takes (fewer than 8 outputs, the tiles' widths, a product BLAS computes;
# the step's rows two at a time, and an odd count of them)
NETS = [
    ((64, 32, 10), ["relu", "softmax"], "cross_entropy"),
    ((9, 11, 8), ["tanh", "softmax"], "cross_entropy"),
    ((5, 6, 3), ["sigmoid", "identity"], "mse"),
    ((7, 9, 2), ["tanh", "sigmoid"], "binary_cross_entropy"),
    ((300, 128, 17), ["relu", "softmax"], "cross_entropy"),
]


def _data(rng, sizes, loss, n=25):
    X = rng.normal(size=(n, sizes[0]))
    return X, make_targets(rng, loss, n, sizes[-1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes, acts, loss", NETS)
def test_online_fit_gives_the_bits_of_one_row_steps(rng, dtype, sizes, acts, loss):
    X, y = _data(rng, sizes, loss)
    a = make_net(sizes, acts, loss, dtype=dtype, seed=4)
    b = make_net(sizes, acts, loss, dtype=dtype, seed=4)
    hist = a.fit(X, y, epochs=2, batch_size=1, shuffle=False, optimizer=fastnn.SGD(lr=0.05))
    opt = fastnn.SGD(lr=0.05)
    losses = []
    for _ in range(2):
        for i in range(len(X)):
            losses += b.partial_fit(X[i : i + 1], y[i : i + 1], optimizer=opt).loss
    np.testing.assert_array_equal(a.params, b.params)
    assert np.mean(losses[: len(X)]) == pytest.approx(hist.loss[0], rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_online_fit_with_shuffling_and_dropout_matches_one_row_steps(rng, dtype):
    """Shuffled rows (gathered by index) and a dropout layer between dense
    ones: the same bits as one-row steps over the same order and masks."""
    X, y = _data(rng, (12, 10, 4), "cross_entropy", n=30)

    def net():
        return fastnn.Sequential(
            [
                fastnn.Dense(12, 10, activation="relu"),
                fastnn.Dropout(0.25),
                fastnn.Dense(10, 4, activation="softmax"),
            ],
            loss="cross_entropy",
            dtype=dtype,
            seed=2,
        )

    a, b = net(), net()
    a.fit(X, y, epochs=1, batch_size=1, shuffle=False, optimizer=fastnn.SGD(lr=0.1))
    opt = fastnn.SGD(lr=0.1)
    for i in range(len(X)):
        b.partial_fit(X[i : i + 1], y[i : i + 1], optimizer=opt)
    np.testing.assert_array_equal(a.params, b.params)
    # shuffled (rows gathered by index): as the stored-gradient way, here
    # forced by a momentum too small to move anything
    c, d = net(), net()
    c.fit(X, y, epochs=2, batch_size=1, shuffle=True, optimizer=fastnn.SGD(lr=0.1))
    d.fit(X, y, epochs=2, batch_size=1, shuffle=True, optimizer=fastnn.SGD(lr=0.1, momentum=1e-30))
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(c.params, d.params, rtol=tol, atol=tol)
    assert not np.allclose(c.params, a.params)


def test_online_fit_matches_the_reference_in_float64(rng):
    sizes, acts, loss = NETS[0]
    X, y = _data(rng, sizes, loss, n=12)
    net = make_net(sizes, acts, loss, dtype="float64", seed=1)
    layers = ref_layers(net)
    net.fit(X, y, epochs=1, batch_size=1, shuffle=False, optimizer=fastnn.SGD(lr=0.1))
    ref.train(layers, X, y, loss, [[i] for i in range(len(X))], opt="sgd", lr=0.1)
    for layer, (W, b, _) in zip(net.layers, layers):
        np.testing.assert_allclose(layer.W, W, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.b, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "opt",
    [
        fastnn.SGD(lr=0.05, momentum=0.9),
        fastnn.SGD(lr=0.05, weight_decay=1e-3),
        fastnn.Adam(lr=1e-3),
    ],
)
def test_other_optimizers_keep_the_stored_gradient_way(rng, opt):
    """Momentum, weight decay and Adam need the stored gradient; one-row fits
    under them still equal one-row steps."""
    sizes, acts, loss = NETS[0]
    X, y = _data(rng, sizes, loss, n=15)
    a = make_net(sizes, acts, loss, dtype="float32", seed=4)
    b = make_net(sizes, acts, loss, dtype="float32", seed=4)
    a.fit(X, y, epochs=1, batch_size=1, shuffle=False, optimizer=copy.deepcopy(opt))
    ob = copy.deepcopy(opt)
    for i in range(len(X)):
        b.partial_fit(X[i : i + 1], y[i : i + 1], optimizer=ob)
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_diverging_online_fit_leaves_the_model_as_it_was(rng, dtype):
    """Steps taken in place still leave nothing behind when the run diverges."""
    X = rng.normal(size=(6, 4))
    y = rng.normal(size=(6, 3))
    net = make_net((4, 8, 3), ["relu", "identity"], "mse", dtype=dtype, seed=0)
    before = net.params.copy()
    with pytest.raises(fastnn.exceptions.TrainingDiverged, match="diverged"):
        net.fit(X, y, epochs=3, batch_size=1, shuffle=False, optimizer=fastnn.SGD(lr=1e200))
    np.testing.assert_array_equal(net.params, before)
