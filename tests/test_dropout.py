"""Dropout: active while training only, seeded, and routing gradients
through the kept units alone."""

import numpy as np
import pytest

import fastnn


def dropout_net(p, seed=0, dtype="float64"):
    return fastnn.Sequential(
        [
            fastnn.Dense(6, 40, activation="relu"),
            fastnn.Dropout(p),
            fastnn.Dense(40, 3, activation="softmax"),
        ],
        loss="cross_entropy",
        dtype=dtype,
        seed=seed,
    )


def plain_twin(net):
    twin = fastnn.Sequential(
        [fastnn.Dense(6, 40, activation="relu"), fastnn.Dense(40, 3, activation="softmax")],
        loss="cross_entropy",
        dtype=net.dtype.name,
        seed=net.seed,
    )
    twin.params[...] = net.params
    return twin


@pytest.fixture
def data(rng):
    X = rng.normal(size=(50, 6))
    return X, rng.integers(0, 3, size=50)


def test_prediction_and_evaluation_ignore_dropout(data):
    X, y = data
    net = dropout_net(0.5)
    twin = plain_twin(net)
    np.testing.assert_array_equal(net.predict(X), twin.predict(X))
    assert net.evaluate(X, y) == twin.evaluate(X, y)
    assert net.loss_and_grads(X, y)[0] == twin.loss_and_grads(X, y)[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_and_grads_pass_the_gradient_through_dropout(data, dtype):
    # the gradient of the loss it returns (dropout at inference), the same
    # whatever earlier calls left in the workspace: a fit draws masks there
    X, y = data
    net = dropout_net(0.5, dtype=dtype)
    twin = plain_twin(net)
    _, want = twin.loss_and_grads(X, y)
    for before in (None, "fit", "fit"):
        if before == "fit":
            trained = dropout_net(0.5, dtype=dtype)
            trained.fit(X, y, epochs=1, batch_size=50, optimizer=fastnn.SGD(lr=0.1))
            trained.loss_and_grads(X, y)
        _, got = net.loss_and_grads(X, y)
        assert got[1] == (None, None)
        for (gw, gb), (ww, wb) in zip([got[0], got[2]], want):
            np.testing.assert_array_equal(gw, ww)
            np.testing.assert_array_equal(gb, wb)
    if dtype == "float64":  # and it is the derivative of that loss
        from conftest import numeric_grads

        flat = np.concatenate([np.ravel(a) for pair in (got[0], got[2]) for a in pair])
        np.testing.assert_allclose(flat, numeric_grads(net, X, y), rtol=1e-6, atol=1e-8)


def test_rate_zero_trains_exactly_like_no_dropout(data):
    X, y = data
    net = dropout_net(0.0)
    twin = plain_twin(net)
    h1 = net.fit(X, y, epochs=3, batch_size=5, optimizer=fastnn.SGD(lr=0.1), shuffle=False)
    h2 = twin.fit(X, y, epochs=3, batch_size=5, optimizer=fastnn.SGD(lr=0.1), shuffle=False)
    assert h1.step_loss == h2.step_loss
    np.testing.assert_array_equal(net.params[:280], twin.params[:280])


def test_dropout_training_is_seeded_and_changes_training(data):
    X, y = data
    runs = [
        dropout_net(0.5, seed=s)
        .fit(X, y, epochs=2, batch_size=5, optimizer=fastnn.SGD(lr=0.1))
        .step_loss
        for s in (0, 0, 1)
    ]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    plain = (
        plain_twin(dropout_net(0.5))
        .fit(X, y, epochs=2, batch_size=5, optimizer=fastnn.SGD(lr=0.1))
        .step_loss
    )
    assert plain != runs[0]


def test_masks_drop_the_rate_and_gradients_flow_through_kept_units_only():
    """A network whose output is the sum of the dropout mask: the step loss
    reveals how many units were kept, and one SGD step changes exactly the
    weights of the kept units, by the amount the scaled mask gives."""
    n_units, p, lr = 200, 0.3, 1e-3
    net = fastnn.Sequential(
        [fastnn.Dense(1, n_units), fastnn.Dropout(p), fastnn.Dense(n_units, 1)],
        loss="mse",
        dtype="float64",
        seed=3,
    )
    p_kept = round(p * 2**30) / 2**30  # the rate as the kernel holds it (30 bits)
    scale = 1 / (1 - p_kept)
    assert scale == pytest.approx(1 / (1 - p), rel=1e-9)
    kept_fractions = []
    for _ in range(40):
        net.layers[0].W[...] = 0.0
        net.layers[0].b[...] = 1.0  # every unit outputs 1 before dropout
        net.layers[2].W[...] = 1.0
        net.layers[2].b[...] = 0.0
        hist = net.fit([[0.0]], [0.0], epochs=1, optimizer=fastnn.SGD(lr=lr))
        out = np.sqrt(hist.step_loss[0])  # the output is sum(mask) >= 0, the target 0
        kept = round(out / scale)
        assert out == pytest.approx(kept * scale, rel=1e-12)
        dW2 = 1.0 - net.layers[2].W.ravel()  # lr * 2 * out * mask_j
        changed = dW2 != 0
        assert changed.sum() == kept
        np.testing.assert_allclose(dW2[changed], lr * 2 * out * scale, rtol=1e-12)
        db1 = 1.0 - net.layers[0].b  # lr * 2 * out * W2_j * mask_j
        np.testing.assert_array_equal(db1 != 0, changed)
        kept_fractions.append(kept / n_units)
    assert np.mean(kept_fractions) == pytest.approx(1 - p, abs=0.02)


def test_dropout_placement_and_rate_are_checked():
    with pytest.raises(ValueError, match="p must be < 1"):
        fastnn.Dropout(1.0)
    with pytest.raises(ValueError, match="p must be >= 0"):
        fastnn.Dropout(-0.1)
    with pytest.raises(ValueError, match="dropout is for hidden layers"):
        fastnn.Sequential([fastnn.Dropout(0.5), fastnn.Dense(3, 2)])
    with pytest.raises(ValueError, match="dropout is for hidden layers"):
        fastnn.Sequential([fastnn.Dense(3, 2), fastnn.Dropout(0.5)])


def test_dropout_in_a_convolutional_network_and_save_load(tmp_path, rng):
    net = fastnn.Sequential(
        [
            fastnn.Conv2D(1, 3, kernel_size=3, padding=1, activation="relu"),
            fastnn.Dropout(0.25),
            fastnn.MaxPool2D(2),
            fastnn.Flatten(),
            fastnn.Dense(3 * 4 * 4, 4, activation="softmax"),
        ],
        loss="cross_entropy",
        dtype="float64",
        seed=1,
    )
    X = rng.normal(size=(20, 1, 8, 8))
    y = rng.integers(0, 4, size=20)
    net.fit(X, y, epochs=2, batch_size=4, optimizer=fastnn.SGD(lr=0.05))
    net.save(tmp_path / "m.npz")
    back = fastnn.load(tmp_path / "m.npz")
    assert repr(back.layers[1]) == "Dropout(0.25)"
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
