"""One sample through a wide layer: the matrix-vector product x @ W is cut in
two parts along x (from ``PAR_MIN_GEMV_BYTES``, 320 KB of W, for at most
``GEMV_MAX_M`` = 2,048 outputs), each part reading one contiguous half of W,
on two threads side by side or one after the other. The result must match
the NumPy reference, in prediction and in training on one row, and give the
same bits on any thread count and through a predictor."""

import numpy as np
import pytest

import fastnn
from conftest import at_threads, free_held_one, make_net, make_targets, ref_layers
from reference import forward, loss_and_grads

LIMIT = 320 * 1024  # bytes of W from which the product is cut in two


def _cases(itemsize):
    """name -> (sizes, activations, loss): the first layer's product around the limits."""
    rows = LIMIT // (256 * itemsize)  # inputs of a 256-wide layer at the limit
    wide = LIMIT // (2048 * itemsize)  # inputs of a 2,048-wide one
    return {
        "one-call-below": ((rows - 1, 256, 3), ["relu", "softmax"], "cross_entropy"),
        "parts-from": ((rows, 256, 3), ["relu", "softmax"], "cross_entropy"),
        "parts-odd-inputs": ((rows + 1, 256, 2), ["tanh", "sigmoid"], "binary_cross_entropy"),
        "parts-most-outputs": ((wide, 2048, 4), ["sigmoid", "identity"], "mse"),
        "one-call-too-many-outputs": ((wide, 2049, 4), ["relu", "identity"], "mse"),
        "serving": ((784, 256, 128, 10), ["relu", "relu", "softmax"], "cross_entropy"),
    }


NAMES = sorted(_cases(4))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", NAMES)
def test_one_sample_matches_the_reference_on_any_thread_count(case, dtype, rng):
    sizes, acts, loss = _cases(np.dtype(dtype).itemsize)[case]
    net = make_net(sizes, acts, loss, dtype=dtype, seed=4)
    x = rng.normal(size=(1, sizes[0])).astype(dtype)
    want = forward(ref_layers(net), x.astype(np.float64))[-1]
    tol = 1e-12 if dtype == "float64" else 2e-5
    got = {n: at_threads(n, lambda: net.predict(x)) for n in (1, 2, 3)}
    np.testing.assert_allclose(got[1], want, rtol=tol, atol=tol)
    np.testing.assert_array_equal(got[2], got[1])
    np.testing.assert_array_equal(got[3], got[1])
    f = net.predictor()
    np.testing.assert_array_equal(at_threads(2, lambda: f(x)), got[1])
    np.testing.assert_array_equal(at_threads(1, lambda: f(x)), got[1])


@pytest.mark.parametrize("case", NAMES)
def test_training_on_one_row_matches_the_reference(case, rng):
    sizes, acts, loss = _cases(8)[case]
    net = make_net(sizes, acts, loss, dtype="float64", seed=4)
    x = rng.normal(size=(1, sizes[0]))
    y = make_targets(rng, loss, 1, sizes[-1])
    want_value, want_grads = loss_and_grads(ref_layers(net), x, y, loss)
    for n in (1, 2):
        value, grads = at_threads(n, lambda: net.loss_and_grads(x, y))
        assert value == pytest.approx(want_value, rel=1e-12, abs=1e-12)
        for (dW, db), (rW, rb) in zip(grads, want_grads):
            np.testing.assert_allclose(dW, rW, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(db, rb, rtol=1e-10, atol=1e-12)
    # online steps in float32 (its own limits), 1 and 2 threads: the same bits
    sizes, acts, loss = _cases(4)[case]
    x = rng.normal(size=(1, sizes[0]))
    after = []
    for n in (1, 2):
        m = make_net(sizes, acts, loss, dtype="float32", seed=4)
        at_threads(n, lambda m=m: m.fit(x, y, epochs=3, batch_size=1, optimizer=fastnn.SGD(1e-3)))
        after.append(m.params.copy())
    np.testing.assert_array_equal(after[0], after[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_late_second_thread_turns_the_cut_to_one_thread_with_the_same_bits(dtype, rng):
    # when the second thread starts its half late (another process holds
    # its core), the halves run on the calling thread for a while: the same
    # calls and sum, so the same bits as on two threads and on one
    sizes, acts, loss = _cases(np.dtype(dtype).itemsize)["serving"]
    net = make_net(sizes, acts, loss, dtype=dtype, seed=4)
    X = rng.normal(size=(5, sizes[0])).astype(dtype)
    y = make_targets(rng, loss, 1, sizes[-1])
    f = net.predictor()

    def run():
        rows = np.concatenate([f(x[None]) for x in X])
        value, grads = net.loss_and_grads(X[:1], y)
        return rows, value, [g for pair in grads for g in pair]

    free, held, one = free_held_one(run)
    np.testing.assert_allclose(
        free[0], forward(ref_layers(net), X.astype(np.float64))[-1], rtol=2e-5, atol=2e-5
    )
    for other in (held, one):
        np.testing.assert_array_equal(other[0], free[0])
        assert other[1] == free[1]
        for a, b in zip(other[2], free[2]):
            np.testing.assert_array_equal(a, b)
