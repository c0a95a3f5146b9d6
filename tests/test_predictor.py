"""Sequential.predictor(): predict bound once. It must give predict's bits
for every input it computes, send every other input through predict (with
predict's errors), see the weights as they change, and be safe to call from
several threads at once, as predict, evaluate, score and loss_and_grads are."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastnn
from conftest import make_net

D = fastnn.Dense


def nets(dtype):
    yield make_net((64, 32, 10), ["relu", "softmax"], "cross_entropy", dtype=dtype)
    yield make_net((5, 7, 3), ["tanh", "sigmoid"], "binary_cross_entropy", dtype=dtype)
    yield make_net((300, 256, 2), ["sigmoid", "identity"], "mse", dtype=dtype)
    yield fastnn.Sequential(
        [D(20, 16, activation="relu"), fastnn.Dropout(0.5), D(16, 4, activation="softmax")],
        loss="cross_entropy",
        dtype=dtype,
    )
    conv = fastnn.Sequential(
        [
            fastnn.Conv2D(1, 4, 3, padding=1, activation="relu"),
            fastnn.MaxPool2D(2),
            fastnn.Flatten(),
            D(4 * 4 * 4, 3, activation="softmax"),
        ],
        loss="cross_entropy",
        dtype=dtype,
    )
    conv.predict(np.zeros((1, 1, 8, 8)))  # built by its first X
    yield conv


def sample(net, rows, rng):
    return rng.normal(size=(rows,) + net._input_shape).astype(net.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predictor_gives_predicts_bits(dtype, rng):
    for net in nets(dtype):
        f = net.predictor(max_rows=16)
        for rows in (1, 2, 16, 17, 40):  # 17 and 40 go through predict
            X = sample(net, rows, rng)
            got = f(X)
            assert got.dtype == net.dtype and got.shape == (rows, net.n_out)
            np.testing.assert_array_equal(got, net.predict(X))
            np.testing.assert_array_equal(got, net._predict_checked(X))
        # each row alone, as in a batch of one
        X = sample(net, 3, rng)
        for i in range(3):
            np.testing.assert_array_equal(f(X[i : i + 1]), net.predict(X[i : i + 1]))


def test_predictor_matches_the_plain_numpy_forward(rng):
    net = make_net((64, 32, 10), ["relu", "softmax"], "cross_entropy")
    x = rng.normal(size=(1, 64))
    (W1, b1), (W2, b2) = ((layer.W, layer.b) for layer in net.layers)
    z = np.maximum(x @ W1 + b1, 0) @ W2 + b2
    p = np.exp(z - z.max())
    np.testing.assert_allclose(net.predictor()(x), p / p.sum(), rtol=1e-12)


def test_predictor_returns_a_new_array_each_call(rng):
    net = make_net((4, 3), ["softmax"], "cross_entropy")
    f = net.predictor()
    a = f(np.ones((1, 4)))
    b = f(np.zeros((1, 4)))
    assert a is not b and not np.shares_memory(a, b)
    assert not np.array_equal(a, b)


def test_predictor_sees_training_between_calls(rng):
    net = make_net((6, 8, 3), ["relu", "softmax"], "cross_entropy")
    f = net.predictor()
    X, y = rng.normal(size=(50, 6)), rng.integers(0, 3, 50)
    before = f(X[:2])
    net.fit(X, y, epochs=3, batch_size=5, optimizer=fastnn.SGD(lr=0.5))
    after = f(X[:2])
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, net.predict(X[:2]))
    net.layers[0].W[...] *= 2  # weights written in place by hand
    np.testing.assert_array_equal(f(X[:2]), net._predict_checked(X[:2]))
    assert not np.array_equal(f(X[:2]), after)


def test_inputs_the_predictor_does_not_take_go_through_predict(rng):
    net = make_net((4, 5, 3), ["relu", "softmax"], "cross_entropy", dtype="float32")
    f = net.predictor(max_rows=8)
    X = rng.normal(size=(3, 4)).astype(np.float32)
    expected = net.predict(X)
    others = {
        "list": X.tolist(),
        "float64": X.astype(np.float64),
        "fortran": np.asfortranarray(X),
        "strided": np.repeat(X, 2, axis=0)[::2],
        "byteswapped": X.astype(X.dtype.newbyteorder()),
        "int": np.rint(X).astype(np.int64),
    }
    for name, value in others.items():
        want = net.predict(value)
        np.testing.assert_array_equal(f(value), want, err_msg=name)
    np.testing.assert_allclose(f(X.astype(np.float64)), expected, rtol=1e-6)
    for bad, match in (
        (np.full((1, 4), np.nan, dtype=np.float32), "NaN|finite"),
        (np.full((2, 4), np.inf, dtype=np.float32), "finite|inf"),
        (np.zeros((1, 5), dtype=np.float32), "feature|5"),
        (np.zeros((0, 4), dtype=np.float32), "empty|0 samples|at least one"),
        ("text", "numeric"),
        (np.zeros((1, 4, 1), dtype=np.float32), "2-D|2D|shape|dimension"),
        (X[0], "2-D"),
    ):
        with pytest.raises((ValueError, TypeError), match=match) as from_f:
            f(bad)
        with pytest.raises((ValueError, TypeError)) as from_predict:
            net.predict(bad)
        assert type(from_f.value) is type(from_predict.value)
        assert str(from_f.value) == str(from_predict.value)


@pytest.mark.parametrize("bad", [0, -3, 1.5, "8", True, None])
def test_max_rows_is_checked(bad):
    net = make_net((4, 3), ["softmax"], "cross_entropy")
    with pytest.raises((ValueError, TypeError), match="max_rows"):
        net.predictor(max_rows=bad)


def test_an_image_network_is_built_before_it_gets_a_predictor():
    net = fastnn.Sequential([fastnn.Conv2D(1, 2, 3), fastnn.Flatten(), D(2 * 4 * 4, 2)], loss="mse")
    with pytest.raises(ValueError, match="input shape is not known"):
        net.predictor()
    net.predict(np.zeros((1, 1, 6, 6)))
    assert net.predictor()(np.ones((1, 1, 6, 6))).shape == (1, 2)


def _hammer(calls, n_threads=4, rounds=150):
    """Run every call from several threads at once; return the wrong ones."""
    wrong = []
    start = threading.Barrier(n_threads)

    def work(i):
        start.wait()
        for r in range(rounds):
            call, expected = calls[(i + r) % len(calls)]
            got = call()
            if not np.array_equal(np.asarray(got), np.asarray(expected)):
                wrong.append((i, r))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return wrong


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reading_calls_are_safe_from_several_threads(dtype, rng):
    net = make_net((100, 64, 10), ["relu", "softmax"], "cross_entropy", dtype=dtype)
    f = net.predictor(max_rows=32)
    A, B = rng.normal(size=(20, 100)), rng.normal(size=(1500, 100)) * 3
    A, B = A.astype(dtype), B.astype(dtype)
    ya, yb = rng.integers(0, 10, 20), rng.integers(0, 10, 1500)
    calls = [
        (lambda: f(A), net.predict(A)),
        (lambda: net.predict(A[:1]), net.predict(A[:1])),
        (lambda: net.predict(B), net.predict(B)),  # chunked, through _predict_checked
        (lambda: net.evaluate(B, yb), net.evaluate(B, yb)),
        (lambda: net.score(A, ya), net.score(A, ya)),
        (lambda: net.loss_and_grads(A, ya)[1][0][0], net.loss_and_grads(A, ya)[1][0][0]),
    ]
    assert _hammer(calls) == []


def test_engine_threads_default_to_the_cores_or_omp_num_threads():
    code = (
        "import os, fastnn; print(fastnn.get_num_threads(), len(os.sched_getaffinity(0)), "
        "os.environ.get('GOMP_SPINCOUNT'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "GOMP_SPINCOUNT")}
    env.pop("OMP_WAIT_POLICY", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    threads, cores, spin = out.stdout.split()
    # the short OpenMP spin, kept for the runtimes other libraries load later
    assert threads == cores and spin == "10000"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "OMP_NUM_THREADS": "1", "GOMP_SPINCOUNT": "7"},
        capture_output=True,
        text=True,
    )
    threads, _, spin = out.stdout.split()
    assert threads == "1" and spin == "7"  # the user's settings are kept
