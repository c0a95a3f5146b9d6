"""Side by side with PyTorch: same network, weights and batches, same weights after."""

import numpy as np
import pytest

import fastnn
from conftest import make_net, make_targets

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

ACT = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "identity": torch.nn.Identity,
}


def to_torch(net):
    """A torch model with the fastnn network's weights; the output
    activation is left to the loss (logits), as torch users write it."""
    mods = []
    for i, layer in enumerate(net.layers):
        lin = torch.nn.Linear(layer.n_in, layer.n_out).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))
            lin.bias.copy_(torch.from_numpy(layer.b.copy()))
        mods.append(lin)
        if i < len(net.layers) - 1:
            mods.append(ACT[layer.activation]())
        elif net.loss == "mse" and layer.activation != "identity":
            mods.append(ACT[layer.activation]())
    return torch.nn.Sequential(*mods)


def torch_loss(loss):
    return {
        "mse": torch.nn.MSELoss(),
        "cross_entropy": torch.nn.CrossEntropyLoss(),
        "binary_cross_entropy": torch.nn.BCEWithLogitsLoss(),
    }[loss]


def train_torch(model, opt, loss_fn, X, y, batch_size, epochs):
    n = len(X)
    bs = n if batch_size is None else batch_size
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    if not isinstance(loss_fn, torch.nn.CrossEntropyLoss) and yt.ndim == 1:
        yt = yt.reshape(-1, 1)
    losses = []
    for _ in range(epochs):
        for s in range(0, n, bs):
            opt.zero_grad()
            loss = loss_fn(model(Xt[s : s + bs]), yt[s : s + bs])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def assert_same_weights(net, model, tol=1e-9):
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, lin in zip(net.layers, linears):
        np.testing.assert_allclose(layer.W, lin.weight.detach().numpy().T, rtol=tol, atol=tol)
        np.testing.assert_allclose(layer.b, lin.bias.detach().numpy(), rtol=tol, atol=tol)


SGD_SETTINGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01),
    dict(lr=0.05, momentum=0.5, dampening=0.2, weight_decay=0.001),
]
ADAM_SETTINGS = [
    dict(lr=0.01),
    dict(lr=0.003, betas=(0.85, 0.995), eps=1e-7, weight_decay=0.05),
]
MODES = [None, 1, 8]


@pytest.mark.parametrize("batch_size", MODES)
@pytest.mark.parametrize("hyper", SGD_SETTINGS)
def test_sgd_matches_torch(batch_size, hyper):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 6))
    y = rng.integers(0, 4, size=30)
    net = make_net((6, 10, 4), ["relu", "softmax"], "cross_entropy", seed=11)
    model = to_torch(net)
    fn_losses = net.fit(
        X, y, epochs=2, batch_size=batch_size, optimizer=fastnn.SGD(**hyper), shuffle=False
    ).step_loss
    t_losses = train_torch(
        model,
        torch.optim.SGD(model.parameters(), **hyper),
        torch.nn.CrossEntropyLoss(),
        X,
        y,
        batch_size,
        2,
    )
    np.testing.assert_allclose(fn_losses, t_losses, rtol=1e-9)
    assert_same_weights(net, model)


@pytest.mark.parametrize("batch_size", MODES)
@pytest.mark.parametrize("hyper", ADAM_SETTINGS)
def test_adam_matches_torch(batch_size, hyper):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 5))
    y = rng.normal(size=(30, 2))
    net = make_net((5, 8, 7, 2), ["tanh", "sigmoid", "identity"], "mse", seed=12)
    model = to_torch(net)
    fn_losses = net.fit(
        X, y, epochs=2, batch_size=batch_size, optimizer=fastnn.Adam(**hyper), shuffle=False
    ).step_loss
    t_losses = train_torch(
        model,
        torch.optim.Adam(model.parameters(), **hyper),
        torch.nn.MSELoss(),
        X,
        y,
        batch_size,
        2,
    )
    np.testing.assert_allclose(fn_losses, t_losses, rtol=1e-9)
    assert_same_weights(net, model)


OTHER_OPTIMIZERS = [
    (fastnn.AdaGrad, torch.optim.Adagrad, dict(lr=0.05)),
    (
        fastnn.AdaGrad,
        torch.optim.Adagrad,
        dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1, eps=1e-8),
    ),
    (fastnn.RMSprop, torch.optim.RMSprop, dict(lr=0.01)),
    (fastnn.RMSprop, torch.optim.RMSprop, dict(lr=0.005, alpha=0.9, momentum=0.9)),
    (fastnn.RMSprop, torch.optim.RMSprop, dict(lr=0.005, centered=True, weight_decay=0.01)),
    (fastnn.RMSprop, torch.optim.RMSprop, dict(lr=0.005, centered=True, momentum=0.5, eps=1e-6)),
    (fastnn.Rprop, torch.optim.Rprop, dict(lr=0.01)),
    (fastnn.Rprop, torch.optim.Rprop, dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1))),
]


@pytest.mark.parametrize("batch_size", MODES)
@pytest.mark.parametrize("ours, theirs, hyper", OTHER_OPTIMIZERS)
def test_other_optimizers_match_torch(batch_size, ours, theirs, hyper):
    rng = np.random.default_rng(12)
    X = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, size=30)
    net = make_net((5, 8, 3), ["tanh", "softmax"], "cross_entropy", seed=16)
    model = to_torch(net)
    fn_losses = net.fit(
        X, y, epochs=2, batch_size=batch_size, optimizer=ours(**hyper), shuffle=False
    ).step_loss
    t_losses = train_torch(
        model, theirs(model.parameters(), **hyper), torch.nn.CrossEntropyLoss(), X, y, batch_size, 2
    )
    np.testing.assert_allclose(fn_losses, t_losses, rtol=1e-9)
    assert_same_weights(net, model)


@pytest.mark.parametrize(
    "loss, out",
    [
        ("mse", "sigmoid"),
        ("mse", "relu"),
        ("binary_cross_entropy", "sigmoid"),
        ("cross_entropy", "softmax"),
    ],
)
@pytest.mark.parametrize("batch_size", MODES)
def test_losses_match_torch(loss, out, batch_size):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(20, 4))
    y = make_targets(rng, loss, 20, 3)
    net = make_net((4, 6, 3), ["tanh", out], loss, seed=13)
    model = to_torch(net)
    hyper = dict(lr=0.1, momentum=0.9, nesterov=True)
    fn_losses = net.fit(
        X, y, epochs=2, batch_size=batch_size, optimizer=fastnn.SGD(**hyper), shuffle=False
    ).step_loss
    t_losses = train_torch(
        model, torch.optim.SGD(model.parameters(), **hyper), torch_loss(loss), X, y, batch_size, 2
    )
    np.testing.assert_allclose(fn_losses, t_losses, rtol=1e-9)
    assert_same_weights(net, model)


def test_large_batch_blas_path_matches_torch():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(256, 64))
    y = rng.integers(0, 10, size=256)
    net = make_net((64, 128, 64, 10), ["relu", "relu", "softmax"], "cross_entropy", seed=14)
    model = to_torch(net)
    hyper = dict(lr=0.05, momentum=0.9)
    fn_losses = net.fit(
        X, y, epochs=2, batch_size=128, optimizer=fastnn.SGD(**hyper), shuffle=False
    ).step_loss
    t_losses = train_torch(
        model,
        torch.optim.SGD(model.parameters(), **hyper),
        torch.nn.CrossEntropyLoss(),
        X,
        y,
        128,
        2,
    )
    np.testing.assert_allclose(fn_losses, t_losses, rtol=1e-9)
    assert_same_weights(net, model)


def test_predict_matches_torch_softmax():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(50, 6))
    net = make_net((6, 10, 4), ["relu", "softmax"], "cross_entropy", seed=15)
    model = to_torch(net)
    with torch.no_grad():
        P = torch.softmax(model(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(net.predict(X), P, rtol=1e-12, atol=1e-15)
