"""What a fit reports: training accuracy per epoch, a short repr, a warning
when a run blows up (and none on healthy runs), and ``score``."""

import warnings

import numpy as np
import pytest

import fastnn
from conftest import make_net
from fastnn import DivergenceWarning
from fastnn.datasets import load_digits


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X[:400] / 16.0, y[:400]


def replayed_accuracy(net, X, y, batch_size, loss):
    """Accuracy of one epoch without shuffling, step by step: each batch is
    scored by the weights before its own update (a twin network replays it)."""
    twin = fastnn.Sequential(
        [type(layer)(layer.n_in, layer.n_out, activation=layer.activation) for layer in net.layers],
        loss=loss,
        dtype=net.dtype.name,
    )
    twin.params[...] = net.params
    opt = fastnn.SGD(lr=0.1)
    right = 0
    for start in range(0, len(X), batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        P = twin.predict(xb)
        if loss == "cross_entropy":
            right += int((P.argmax(axis=1) == yb).sum())
        else:
            right += int(np.all((P > 0.5) == (yb > 0.5), axis=1).sum())
        twin.partial_fit(xb, yb, optimizer=opt)
    return right / len(X)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size", [1, 16, None])
@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
def test_accuracy_per_epoch_is_measured_before_each_update(digits, loss, batch_size, dtype):
    X, y = digits
    X, y = X[:120], y[:120]
    if loss == "binary_cross_entropy":
        y = np.stack([y % 2, y > 4], axis=1).astype(float)  # two labels per row
        net = make_net([64, 16, 2], ["tanh", "sigmoid"], loss, dtype=dtype, seed=1)
    else:
        net = make_net([64, 16, 10], ["tanh", "softmax"], loss, dtype=dtype, seed=1)
    want = replayed_accuracy(net, X, y, batch_size or len(X), loss)
    hist = net.fit(
        X, y, epochs=1, batch_size=batch_size, shuffle=False, optimizer=fastnn.SGD(lr=0.1)
    )
    assert hist.accuracy == [pytest.approx(want, abs=1e-12)]
    assert 0.0 <= hist.accuracy[0] <= 1.0


def test_accuracy_has_one_value_per_epoch_and_none_for_mse(digits):
    X, y = digits
    net = make_net([64, 16, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    hist = net.fit(X, y, epochs=4, batch_size=32, optimizer=fastnn.Adam(lr=0.01))
    assert len(hist.accuracy) == len(hist.loss) == 4
    assert hist.accuracy[-1] > hist.accuracy[0]
    reg = make_net([64, 1], ["identity"], "mse", seed=0)
    assert reg.fit(X, y.astype(float), epochs=2, batch_size=32).accuracy == []


def test_split_batches_count_accuracy_like_whole_ones():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1024, 100))
    y = rng.integers(0, 10, size=1024)
    net = fastnn.Sequential(
        [fastnn.Dense(100, 256, activation="relu"), fastnn.Dense(256, 10, activation="softmax")],
        seed=0,
    )
    assert net._splits(512)
    before = net.params.copy()
    first = replayed_accuracy(net, X[:512], y[:512], 512, "cross_entropy")
    hist = net.fit(X[:512], y[:512], epochs=1, batch_size=512, shuffle=False)
    assert hist.accuracy == [first]
    assert not np.array_equal(before, net.params)


def test_partial_fit_reports_the_chunks_accuracy(digits):
    X, y = digits
    net = make_net([64, 16, 10], ["tanh", "softmax"], "cross_entropy", seed=2)
    P = net.predict(X[:30])
    hist = net.partial_fit(X[:30], y[:30], optimizer=fastnn.SGD(lr=0.1))
    assert hist.accuracy == [np.mean(P.argmax(axis=1) == y[:30])]


def test_repr_of_a_long_run_is_a_few_lines(digits):
    X, y = digits
    net = make_net([64, 16, 10], ["tanh", "softmax"], "cross_entropy", seed=0)
    hist = net.fit(X, y, epochs=10, batch_size=1, optimizer=fastnn.SGD(lr=0.01))
    text = repr(hist)
    assert len(hist.step_loss) == 4000
    assert len(text) < 400 and text.count("\n") == 0
    assert "epochs=10" in text and "steps=4000" in text
    assert f"{hist.loss[0]:.4g}" in text and f"{hist.loss[-1]:.4g}" in text
    short = net.fit(X, y, epochs=2, batch_size=None)
    assert all(f"{v:.4g}" in repr(short) for v in short.loss)


def test_a_run_that_blows_up_says_so(digits):
    X, y = digits
    net = make_net([64, 16, 10], ["relu", "softmax"], "cross_entropy", dtype="float64", seed=0)
    with pytest.warns(DivergenceWarning, match="training blew up.*lower learning rate"):
        hist = net.fit(X, y, epochs=5, batch_size=None, optimizer=fastnn.SGD(lr=1e6))
    assert hist.loss[-1] > 1e3 * hist.step_loss[0]
    reg = make_net([64, 1], ["identity"], "mse", dtype="float64", seed=0)
    with pytest.warns(DivergenceWarning):
        reg.fit(X, y.astype(float), epochs=20, batch_size=None, optimizer=fastnn.SGD(lr=0.1))


@pytest.mark.parametrize(
    "opt",
    [
        fastnn.SGD(lr=0.5, momentum=0.9),
        fastnn.Adam(lr=0.05),
        fastnn.RMSprop(lr=0.01),
        fastnn.SGD(lr=0.01),
    ],
)
@pytest.mark.parametrize("batch_size", [1, 32, None])
def test_healthy_runs_do_not_warn(digits, opt, batch_size):
    X, y = digits
    net = make_net([64, 32, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        net.fit(X, y, epochs=5, batch_size=batch_size, optimizer=opt)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_score_is_accuracy_for_classification(digits, dtype):
    X, y = digits
    net = make_net([64, 16, 10], ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=0)
    net.fit(X, y, epochs=3, batch_size=16, optimizer=fastnn.Adam(lr=0.01))
    P = net.predict(X)
    assert net.score(X, y) == np.mean(P.argmax(axis=1) == y)
    Y = np.stack([y % 2, y > 4], axis=1).astype(float)
    binary = make_net([64, 2], ["sigmoid"], "binary_cross_entropy", dtype=dtype, seed=0)
    binary.fit(X, Y, epochs=3, batch_size=16)
    Pb = binary.predict(X)
    assert binary.score(X, Y) == np.mean(np.all((Pb > 0.5) == (Y > 0.5), axis=1))


def r2(Y, P):
    Y, P = np.asarray(Y, float).reshape(len(Y), -1), np.asarray(P, float)
    scores = []
    for j in range(Y.shape[1]):
        ss_res = np.sum((Y[:, j] - P[:, j]) ** 2)
        ss_tot = np.sum((Y[:, j] - Y[:, j].mean()) ** 2)
        scores.append(1 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0))
    return float(np.mean(scores))


@pytest.mark.parametrize("outputs", [1, 3])
def test_score_is_r2_for_mse(digits, outputs):
    X, y = digits
    Y = np.stack([y * (j + 1.0) for j in range(outputs)], axis=1)
    net = make_net([64, outputs], ["identity"], "mse", dtype="float64", seed=0)
    net.fit(X, Y, epochs=20, batch_size=16, optimizer=fastnn.SGD(lr=0.01))
    assert net.score(X, Y) == pytest.approx(r2(Y, net.predict(X)), abs=1e-12)
    assert 0.0 < net.score(X, Y) < 1.0
    constant = np.ones((len(X), outputs))
    assert net.score(X, constant) == 0.0  # scikit-learn's value for constant targets


@pytest.mark.sklearn
def test_score_equals_scikit_learns(digits):
    metrics = pytest.importorskip("sklearn.metrics")
    X, y = digits
    net = make_net([64, 16, 10], ["relu", "softmax"], "cross_entropy", seed=0)
    net.fit(X, y, epochs=2, batch_size=16)
    assert net.score(X, y) == metrics.accuracy_score(y, net.predict(X).argmax(axis=1))
    Y = np.stack([y, y * 2.0 + 1], axis=1)
    reg = make_net([64, 2], ["identity"], "mse", dtype="float64", seed=0)
    reg.fit(X, Y, epochs=5, batch_size=16, optimizer=fastnn.SGD(lr=0.01))
    assert reg.score(X, Y) == pytest.approx(metrics.r2_score(Y, reg.predict(X)), abs=1e-12)


def test_score_refuses_what_it_cannot_score(digits):
    X, y = digits
    net = make_net([64, 1], ["identity"], "mse", seed=0)
    with pytest.raises(ValueError, match="R² needs at least two rows"):
        net.score(X[:1], y[:1].astype(float))
    with pytest.raises(ValueError, match="2-D"):
        net.score(X[0], y[:1])
    clf = make_net([64, 10], ["softmax"], "cross_entropy", seed=0)
    with pytest.raises(ValueError):
        clf.score(X, y[:-1])
