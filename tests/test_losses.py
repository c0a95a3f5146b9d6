"""Every loss value equals torch's on the same logits, at any size of the
logits (1e-30 to 1e30), in every path that reports one (evaluate,
loss_and_grads, the History of fit and of partial_fit, the estimators'
loss_curve_), in both dtypes.

The network under test is one Dense(n, k) layer fed the identity matrix,
with no bias: its logits are exactly the rows of W, whatever their size.
Without torch, the losses are held against their closed forms
(``expected``), written with math's functions on the exact logits."""

import math

import numpy as np
import pytest

import fastnn

MAGNITUDES = [1e-30, 1e-10, 1e-3, 1.0, 30.0, 1e4, 1e15, 1e16, 1e30]
LOSSES = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "mse": None}


def logits_for(scale, k=3):
    """Rows of logits of one magnitude: equal, opposite, mixed signs, one large."""
    rows = [
        [scale] * k,
        [scale, -scale] + [0.0] * (k - 2),
        [-scale] * k,
        [scale, 0.5 * scale] + [-scale] * (k - 2),
        [0.0] * (k - 1) + [scale],
    ]
    return np.array(rows, dtype=np.float64)


def targets_for(loss, n, k):
    rng = np.random.default_rng(n * 31 + k)
    if loss == "cross_entropy":
        return np.arange(n) % k
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, k)).astype(np.float64)
    return rng.normal(size=(n, k))


def net_with_logits(Z, loss, dtype):
    """A network whose logits on np.eye(n) are exactly Z (n, k)."""
    n, k = Z.shape
    net = fastnn.Sequential(
        [fastnn.Dense(n, k, activation=LOSSES[loss])], loss=loss, dtype=dtype, seed=0
    )
    net.layers[0].W[...] = Z
    net.layers[0].b[...] = 0
    return net


def expected(Z, y, loss):
    """The mean loss on the exact logits, by its closed form: a sum that never
    adds two terms of very different size before they cancel."""
    n, k = Z.shape
    total = 0.0
    for i in range(n):
        z = [float(v) for v in Z[i]]
        if loss == "cross_entropy":
            m = max(z)
            total += (m - z[int(y[i])]) + math.log(math.fsum(math.exp(v - m) for v in z))
        elif loss == "binary_cross_entropy":
            for v, t in zip(z, y[i]):
                total += ((max(v, 0.0) - v * t) + math.log1p(math.exp(-abs(v)))) / k
        else:
            total += math.fsum((v - t) ** 2 for v, t in zip(z, y[i])) / k
    return total / n


def torch_loss(Z, y, loss, dtype):
    torch = pytest.importorskip("torch")
    z = torch.tensor(Z, dtype=getattr(torch, dtype))
    if loss == "cross_entropy":
        value = torch.nn.CrossEntropyLoss()(z, torch.tensor(y, dtype=torch.int64))
    elif loss == "binary_cross_entropy":
        value = torch.nn.BCEWithLogitsLoss()(z, torch.tensor(y, dtype=z.dtype))
    else:
        value = torch.nn.MSELoss()(z, torch.tensor(y, dtype=z.dtype))
    return float(value)


def reported(net, Z, y):
    """The loss of the network on its logits, as each path reports it."""
    n = Z.shape[0]
    X = np.eye(n)
    out = {"evaluate": net.evaluate(X, y), "loss_and_grads": net.loss_and_grads(X, y)[0]}
    params = net.params.copy()
    tiny = fastnn.SGD(lr=1e-300)  # the first step's loss is measured before its update
    for name, call in (
        ("fit", lambda: net.fit(X, y, epochs=1, optimizer=tiny)),
        ("partial_fit", lambda: net.partial_fit(X, y, optimizer=tiny)),
    ):
        try:
            hist = call()
            out[name] = hist.step_loss[0]
            out[name + " epoch"] = hist.loss[0]
        except fastnn.TrainingDiverged:
            out[name] = math.inf  # a loss that is not finite in the dtype
        net.params[...] = params
    return out


def close(a, b, dtype):
    if math.isinf(b) or math.isinf(a):
        return a == b
    rtol = 2e-6 if dtype == "float32" else 1e-13
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-300)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("scale", MAGNITUDES)
def test_every_path_reports_the_exact_loss(scale, loss, dtype):
    Z = logits_for(scale).astype(dtype).astype(np.float64)  # the logits the net holds
    y = targets_for(loss, *Z.shape)
    net = net_with_logits(Z, loss, dtype)
    want = expected(Z, y, loss)
    with np.errstate(over="ignore"):  # the loss in the dtype: inf where it overflows
        want = float(np.dtype(dtype).type(want))
    for path, value in reported(net, Z, y).items():
        assert close(value, want, dtype), (path, value, want)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("scale", MAGNITUDES)
def test_every_path_equals_torch(scale, loss, dtype):
    Z = logits_for(scale).astype(dtype).astype(np.float64)
    y = targets_for(loss, *Z.shape)
    net = net_with_logits(Z, loss, dtype)
    want = torch_loss(Z, y, loss, dtype)
    for path, value in reported(net, Z, y).items():
        assert close(value, want, dtype), (path, value, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equal_logits_of_any_size_give_log_k(dtype):
    for scale in (1e15, 1e16, 1e30):
        for k in (2, 3, 10):
            Z = np.full((1, k), scale)
            net = net_with_logits(Z, "cross_entropy", dtype)
            assert close(net.evaluate(np.eye(1), [0]), math.log(k), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_gradient_at_extreme_logits_is_softmax_minus_one_hot(dtype):
    """The gradient was right before; it stays right beside the loss."""
    Z = np.array([[1e16, 1e16], [1e30, -1e30]])
    net = net_with_logits(Z, "cross_entropy", dtype)
    _, grads = net.loss_and_grads(np.eye(2), [0, 1])
    dZ = np.array([[0.5 - 1, 0.5], [1.0, -1.0]]) / 2  # (softmax - onehot) / n
    np.testing.assert_allclose(grads[0][0], dZ, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", [(4,), (3, 2)])
def test_estimators_loss_curve_is_exact_at_extreme_inputs(hidden, dtype):
    """loss_curve_ is made of the engine's step losses: with inputs of 1e15,
    the first epoch's loss is that of the starting weights (which steps of
    1e-300 do not move), by the closed form."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * 1e15
    y = np.arange(40) % 2
    clf = fastnn.MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="identity",
        solver="sgd",
        learning_rate_init=1e-300,
        momentum=0.0,
        alpha=0.0,
        batch_size=40,
        max_iter=1,
        shuffle=False,
        random_state=0,
        dtype=dtype,
    )
    with pytest.warns(Warning):  # one iteration: scikit-learn's ConvergenceWarning
        clf.fit(X, y)
    A = X
    for W, b in zip(clf.coefs_, clf.intercepts_):
        A = A @ np.asarray(W, dtype=np.float64) + np.asarray(b, dtype=np.float64)
    want = expected(A, y.reshape(-1, 1).astype(np.float64), "binary_cross_entropy")
    assert want > 1e13  # the logits are huge, and so is the loss
    # float32: the logits themselves are float32 products of the rows
    assert math.isclose(clf.loss_curve_[0], want, rel_tol=1e-9 if dtype == "float64" else 1e-6)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("scale", MAGNITUDES)
def test_the_numpy_reference_is_exact_too(scale, loss):
    """The oracle the kernels are held against has no looser formula."""
    import reference as ref

    Z = logits_for(scale)
    y = targets_for(loss, *Z.shape)
    value, _ = ref.loss_and_delta(Z, loss, LOSSES[loss] or "identity", y)
    assert math.isclose(value, expected(Z, y, loss), rel_tol=1e-13)
