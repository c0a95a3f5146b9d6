import numpy as np
import pytest

import fastnn
import reference as ref


def make_net(sizes, acts, loss, dtype="float64", seed=0):
    layers = [fastnn.Dense(a, b, activation=act) for a, b, act in zip(sizes, sizes[1:], acts)]
    return fastnn.Sequential(layers, loss=loss, dtype=dtype, seed=seed)


def at_threads(n, f):
    """f() with the engine on n threads, the count put back afterwards."""
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(n)
    try:
        return f()
    finally:
        fastnn.set_num_threads(before)


def fit_at_threads(threads, sizes, acts, loss, X, y, batch_size, dtype, seed):
    """A fresh network fitted for 2 epochs over the rows in order, under
    SGD(lr=0.05, momentum=0.9), on ``threads`` threads. Returns the network,
    its reference layers from before training, and the step losses."""
    net = make_net(sizes, acts, loss, dtype=dtype, seed=seed)
    layers = ref_layers(net)
    hist = at_threads(
        threads,
        lambda: net.fit(
            X,
            y,
            epochs=2,
            batch_size=batch_size,
            shuffle=False,
            optimizer=fastnn.SGD(lr=0.05, momentum=0.9),
        ),
    )
    return net, layers, list(hist.step_loss)


def free_held_one(run):
    """run() on two threads, on two threads held to one as after a late
    second thread (``hold_one_thread``), and on one thread."""
    from fastnn._dispatch import kernels

    free = at_threads(2, run)
    try:
        kernels.hold_one_thread(600.0)
        held = at_threads(2, run)
    finally:
        kernels.hold_one_thread(0)
    return free, held, at_threads(1, run)


def ref_layers(net):
    """The network's parameters as (W, b, act) copies for the reference."""
    return [(layer.W.copy(), layer.b.copy(), layer.activation) for layer in net.layers]


def make_targets(rng, loss, n, k):
    if loss == "cross_entropy":
        return rng.integers(0, k, size=n)
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, k)).astype(float)
    return rng.normal(size=(n, k))


def numeric_grads(net, X, y, eps=1e-6):
    """Central finite differences of net.evaluate over every parameter."""
    grads = np.zeros(net.n_params)
    for i in range(net.n_params):
        old = net.params[i]
        net.params[i] = old + eps
        up = net.evaluate(X, y)
        net.params[i] = old - eps
        down = net.evaluate(X, y)
        net.params[i] = old
        grads[i] = (up - down) / (2 * eps)
    return grads


def net3(seed=0, dtype="float64"):
    """A small classifier, 5 features -> 8 -> 3 classes."""
    return make_net((5, 8, 3), ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=seed)


@pytest.fixture
def data(rng):
    """60 rows of 5 features and 3 classes, for net3 (a test module may
    define its own ``data``)."""
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


__all__ = ["make_net", "net3", "ref_layers", "make_targets", "numeric_grads", "ref"]
