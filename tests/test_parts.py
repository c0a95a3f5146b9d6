"""Large matrix products of a batch are cut in two parts (from
``PAR_MIN_MACS``, 2**21 multiply-adds), along the longer side of the
result: the layer's outputs when they outnumber the rows (a 784-256 layer
at 64 rows), the rows otherwise (a 600-64 layer at 200 rows), so that each
part packs the least. Either cut, with an odd side split 129 + 128, must
match the NumPy reference in the forward pass, the gradients and training,
and give the same bits on 1, 2 and 3 threads."""

import numpy as np
import pytest

import fastnn
from conftest import (
    at_threads,
    fit_at_threads,
    free_held_one,
    make_net,
    make_targets,
    ref_layers,
)
from reference import forward, loss_and_grads, train

# name -> (sizes, activations, loss, rows); fewer than 256 rows, so that a
# batch is never split in halves, only its products cut in parts
CASES = {
    # forward 256 outputs > 64 rows: cut along the outputs (also the second
    # layer's input gradient, 256 x 64 x 128 = 2**21); weight gradients
    # 256 x 784 cut along the inputs
    "outputs": ((784, 256, 128, 10), ["relu", "relu", "softmax"], "cross_entropy", 64),
    # forward 64 outputs < 200 rows: cut along the rows
    "rows": ((600, 64, 48, 10), ["tanh", "sigmoid", "identity"], "mse", 200),
    # odd sides: 257 outputs (129 + 128) at 37 rows, 301 inputs (151 + 150)
    "odd": ((301, 257, 9), ["sigmoid", "sigmoid"], "binary_cross_entropy", 37),
}
TOL = {"float64": 1e-12, "float32": 2e-5}


def _data(rng, sizes, loss, rows, dtype):
    X = rng.normal(size=(rows, sizes[0])).astype(dtype)
    return X, make_targets(rng, loss, rows, sizes[-1])


def test_the_cases_reach_the_cut():
    # each case has a product of at least 2**21 multiply-adds
    for sizes, _, _, rows in CASES.values():
        assert max(rows * a * b for a, b in zip(sizes[:-1], sizes[1:])) >= 1 << 21


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_gradients_match_the_reference_on_any_thread_count(case, dtype, rng):
    sizes, acts, loss, rows = CASES[case]
    net = make_net(sizes, acts, loss, dtype=dtype, seed=3)
    X, y = _data(rng, sizes, loss, rows, dtype)
    layers = ref_layers(net)
    want_out = forward(layers, X.astype(np.float64))[-1]
    want_value, want_grads = loss_and_grads(layers, X.astype(np.float64), y, loss)
    tol = TOL[dtype]
    got = {}
    for n in (1, 2, 3):
        out = at_threads(n, lambda: net.predict(X))
        value, grads = at_threads(n, lambda: net.loss_and_grads(X, y))
        got[n] = (out, value, [g for pair in grads for g in pair])
    out, value, grads = got[1]
    scale = max(1.0, float(np.abs(want_out).max()))
    np.testing.assert_allclose(out, want_out, rtol=tol, atol=tol * scale)
    assert value == pytest.approx(want_value, rel=tol, abs=tol)
    for g, w in zip(grads, [g for pair in want_grads for g in pair]):
        assert g.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol * max(1.0, float(np.abs(w).max())))
    for n in (2, 3):
        np.testing.assert_array_equal(got[n][0], out)
        assert got[n][1] == value
        for a, b in zip(got[n][2], grads):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_training_matches_the_reference_on_any_thread_count(case, dtype, rng):
    sizes, acts, loss, rows = CASES[case]
    n = 2 * rows + 5  # two full batches and a small last one
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    y = make_targets(rng, loss, n, sizes[-1])
    after = {}
    for threads in (1, 2):
        net, layers, losses = fit_at_threads(threads, sizes, acts, loss, X, y, rows, dtype, 3)
        after[threads] = (net.params.copy(), losses)
    batches = [np.arange(s, min(s + rows, n)) for s in range(0, n, rows)] * 2
    want_losses = train(layers, X.astype(np.float64), y, loss, batches, lr=0.05, momentum=0.9)
    tol = 1e-10 if dtype == "float64" else 2e-4
    np.testing.assert_allclose(after[1][1], want_losses, rtol=tol, atol=tol)
    net.params[...] = after[1][0]
    for layer, (W, b, _) in zip(net.layers, layers):
        np.testing.assert_allclose(layer.W, W, rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.b, b, rtol=tol, atol=tol)
    np.testing.assert_array_equal(after[2][0], after[1][0])
    assert after[2][1] == after[1][1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_late_second_thread_turns_the_engine_to_one_thread_with_the_same_bits(dtype, rng):
    # after a second thread starts its part late (another process holds
    # its core), the engine runs on the calling thread alone for a while:
    # cut products, split batches, blocks of a prediction and the update
    # then run one after the other, with the same bits as on two threads
    X = rng.normal(size=(1200, 300)).astype(dtype)
    y = rng.integers(0, 10, size=1200)

    def run():
        out = []
        for batch_size in (64, 512):  # products cut in parts; batches split in halves
            net = make_net((300, 256, 10), ["relu", "softmax"], "cross_entropy", dtype=dtype)
            assert net._splits(512) and not net._splits(64)
            net.fit(X, y, epochs=2, batch_size=batch_size, optimizer=fastnn.SGD(0.05, momentum=0.9))
            out += [net.params.copy(), net.predict(X), net.evaluate(X, y)]
        return out

    free, held, one = free_held_one(run)
    assert all(np.isfinite(np.asarray(v)).all() for v in free)
    for other in (held, one):
        for a, b in zip(other, free):
            np.testing.assert_array_equal(a, b)
