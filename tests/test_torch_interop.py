"""PyTorch both ways: from_torch and Sequential.to_torch copy the weights
exactly and compute what the other side computes."""

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch", reason="needs the extra fastnn[torch]")
nn = torch.nn
pytestmark = pytest.mark.torch

TOL = {"float32": 1e-5, "float64": 1e-12}
TORCH_DTYPE = {"float32": torch.float32, "float64": torch.float64}


def assert_close(actual, expected, dtype):
    scale = max(float(np.abs(expected).max()), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def torch_out(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(X))).numpy()


def dense_net(hidden, out, dtype, seed):
    net = fastnn.Sequential(
        [
            fastnn.Dense(6, 7, activation=hidden),
            fastnn.Dropout(0.4),
            fastnn.Dense(7, 3, activation=out),
        ],
        dtype=dtype,
        seed=seed,
    )
    net.params[...] = np.random.default_rng(seed).normal(scale=0.8, size=net.n_params)
    return net


def image_net(act, dtype, seed):
    net = fastnn.Sequential(
        [
            fastnn.Conv2D(2, 3, 3, stride=2, padding=1, activation=act, input_shape=(2, 9, 9)),
            fastnn.MaxPool2D(2),
            fastnn.Conv2D(3, 4, (2, 1), padding=(1, 0), activation=act),
            fastnn.AvgPool2D(2),
            fastnn.Flatten(),
            fastnn.Dense(4, 2, activation="sigmoid"),
        ],
        dtype=dtype,
        seed=seed,
    )
    net.params[...] = np.random.default_rng(seed).normal(scale=0.5, size=net.n_params)
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("out", ["identity", "sigmoid", "softmax"])
@pytest.mark.parametrize("hidden", ["identity", "sigmoid", "tanh", "relu"])
def test_dense_round_trip(hidden, out, dtype):
    net = dense_net(hidden, out, dtype, seed=3)
    X = np.random.default_rng(0).normal(size=(30, 6)).astype(dtype)
    tm = net.to_torch()
    assert not tm.training
    assert all(p.dtype == TORCH_DTYPE[dtype] for p in tm.parameters())
    # torch keeps (out_features, in_features): W transposed, bit for bit
    np.testing.assert_array_equal(tm[0].weight.detach().numpy(), net.layers[0].W.T)
    assert_close(torch_out(tm, X), net.predict(X), dtype)
    back = fastnn.from_torch(tm)
    assert repr(back.layers) == repr(net.layers) and back.dtype == net.dtype
    np.testing.assert_array_equal(back.params, net.params)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ["identity", "sigmoid", "tanh", "relu"])
def test_image_round_trip(act, dtype):
    net = image_net(act, dtype, seed=1)
    X = np.random.default_rng(1).normal(size=(7, 2, 9, 9)).astype(dtype)
    tm = net.to_torch()
    assert_close(torch_out(tm, X), net.predict(X), dtype)
    back = fastnn.from_torch(tm, input_shape=(2, 9, 9))
    assert repr(back.layers) == repr(net.layers)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    # without input_shape the first X fixes the shapes, to the same result
    np.testing.assert_array_equal(fastnn.from_torch(tm).predict(X), net.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_models_predict_the_same(dtype):
    torch.manual_seed(0)
    td = TORCH_DTYPE[dtype]
    rng = np.random.default_rng(2)
    models = [
        (
            nn.Sequential(
                nn.Linear(5, 8),
                nn.ReLU(),
                nn.Dropout(0.3),
                nn.Sequential(nn.Linear(8, 6, bias=False), nn.Tanh()),
                nn.Identity(),
                nn.Linear(6, 4),
                nn.Softmax(dim=-1),
            ),
            (20, 5),
        ),
        (nn.Sequential(nn.Linear(5, 3), nn.Sigmoid()), (20, 5)),
        (
            nn.Sequential(  # activation after the pooling, as LeNet is often written
                nn.Conv2d(1, 4, 3, padding=1),
                nn.MaxPool2d(2),
                nn.ReLU(),
                nn.Conv2d(4, 3, 2, stride=2, bias=False),
                nn.Flatten(),
                nn.Sigmoid(),
                nn.Dropout(0.1),
                nn.Linear(12, 2),
            ),
            (6, 1, 8, 8),
        ),
        (
            nn.Sequential(nn.Conv2d(3, 2, (3, 2), padding=(0, 1)), nn.Tanh(), nn.AvgPool2d(2)),
            (4, 3, 7, 6),
        ),
    ]
    for module, shape in models:
        module = module.to(td).eval()
        X = rng.normal(size=shape).astype(dtype)
        net = fastnn.from_torch(module)
        assert net.dtype == np.dtype(dtype)
        assert_close(
            net.predict(X).reshape(len(X), -1), torch_out(module, X).reshape(len(X), -1), dtype
        )


def test_unsupported_modules_are_refused_by_name():
    with pytest.raises(ValueError, match=r"module '1' \(LeakyReLU\) is not supported"):
        fastnn.from_torch(nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU()))
    with pytest.raises(ValueError, match=r"module '0\.1' \(BatchNorm1d\) is not supported"):
        fastnn.from_torch(nn.Sequential(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))))
    with pytest.raises(ValueError, match="stride=1 .*do not overlap"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2, stride=1)))
    with pytest.raises(ValueError, match="padding=1"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(1, 1, 3), nn.AvgPool2d(2, padding=1)))
    with pytest.raises(ValueError, match="dilation=.*groups"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(2, 2, 3, groups=2)))
    with pytest.raises(ValueError, match="padding='same'"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(1, 1, 3, padding="same")))
    with pytest.raises(ValueError, match="softmax over dim=0"):
        fastnn.from_torch(nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=0)))
    with pytest.raises(ValueError, match="only nn.Flatten"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(start_dim=2)))


def test_activations_fastnn_cannot_place():
    with pytest.raises(ValueError, match=r"module '0' \(ReLU\).*follows the input"):
        fastnn.from_torch(nn.Sequential(nn.ReLU(), nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="already has the activation 'relu'"):
        fastnn.from_torch(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Tanh()))
    with pytest.raises(ValueError, match=r"tanh follows module '1' \(AvgPool2d\)"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(1, 1, 3), nn.AvgPool2d(2), nn.Tanh()))
    with pytest.raises(ValueError, match="softmax is for the output layer only"):
        fastnn.from_torch(nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=1), nn.Linear(2, 2)))


def test_shapes_that_do_not_chain():
    with pytest.raises(ValueError, match=r"do not chain at module '2' \(Linear\)"):
        fastnn.from_torch(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 2)))
    with pytest.raises(ValueError, match=r"do not chain at module '0' \(Conv2d\)"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3)), input_shape=(2, 5, 5))


def test_bad_arguments():
    with pytest.raises(TypeError, match="takes a torch.nn.Sequential"):
        fastnn.from_torch([nn.Linear(2, 2)])
    with pytest.raises(TypeError, match="float16.*module.float"):
        fastnn.from_torch(nn.Sequential(nn.Linear(2, 2)).half())
    with pytest.raises(TypeError, match="input_shape must be a tuple"):
        fastnn.from_torch(nn.Sequential(nn.Conv2d(1, 2, 3)), input_shape=5)
    with pytest.raises(ValueError, match="no layers"):
        fastnn.from_torch(nn.Sequential(nn.Identity()))


def test_to_torch_refuses_step():
    net = fastnn.Sequential([fastnn.Dense(2, 3, activation="step"), fastnn.Dense(3, 1)])
    with pytest.raises(ValueError, match=r"layer 0 \(Dense\(2, 3, activation='step'\)\).*torch"):
        net.to_torch()


def test_from_torch_leaves_the_module_alone():
    module = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    before = module[0].weight.detach().clone()
    net = fastnn.from_torch(module)
    net.layers[0].W[...] = 0.0  # the network owns a copy
    assert torch.equal(module[0].weight, before)
