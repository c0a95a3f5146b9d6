"""Sequential as a user meets it: modes, history, state, bad input, learning."""

import pickle
import warnings

import numpy as np
import pytest

import fastnn
from conftest import make_net
from fastnn import _training
from fastnn._validation import _empty_targets
from fastnn.datasets import load_digits


@pytest.fixture
def data(rng):
    X = rng.normal(size=(23, 4))
    y = rng.integers(0, 3, size=23)
    return X, y


def small_net(dtype="float64", seed=0):
    return make_net((4, 6, 3), ["tanh", "softmax"], "cross_entropy", dtype=dtype, seed=seed)


# ------------------------------------------------------------ construction
def test_layer_views_are_writable_views_of_the_flat_buffer():
    net = small_net()
    W, b = net.layers[0].W, net.layers[0].b
    assert W.shape == (4, 6) and b.shape == (6,)
    assert np.shares_memory(W, net.params) and np.shares_memory(net.layers[1].b, net.params)
    assert net.n_params == 4 * 6 + 6 + 6 * 3 + 3 == net.params.size
    X = np.ones((1, 4))
    before = net.predict(X)
    W[0, 0] += 1.0
    assert net.params[0] == W[0, 0]
    assert not np.array_equal(net.predict(X), before)


def test_default_dtype_is_float32_and_seed_fixes_weights():
    a = fastnn.Sequential([fastnn.Dense(3, 2)], loss="mse", seed=4)
    b = fastnn.Sequential([fastnn.Dense(3, 2)], loss="mse", seed=4)
    c = fastnn.Sequential([fastnn.Dense(3, 2)], loss="mse", seed=5)
    assert a.params.dtype == np.float32
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    assert a.predict(np.ones((2, 3))).dtype == np.float32


def test_initialisation_scales():
    relu = fastnn.Sequential(
        [fastnn.Dense(400, 300, activation="relu"), fastnn.Dense(300, 2)], dtype="float64"
    )
    W = relu.layers[0].W
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)  # He
    assert relu.layers[1].W.std() == pytest.approx(np.sqrt(2 / 302), rel=0.1)  # Glorot
    assert np.all(relu.layers[0].b == 0)


def test_loss_defaults_from_the_output_layer():
    assert fastnn.Sequential([fastnn.Dense(2, 3, activation="softmax")]).loss == "cross_entropy"
    assert fastnn.Sequential([fastnn.Dense(2, 1)]).loss == "mse"


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fastnn.Dense(0, 3), "n_in must be >= 1"),
        (lambda: fastnn.Dense(2, -1), "n_out must be >= 1"),
        (lambda: fastnn.Dense(2.5, 3), "n_in must be an integer"),
        (lambda: fastnn.Dense(2, 3, activation="swish"), "unknown activation 'swish'"),
        (lambda: fastnn.Sequential([]), "at least one layer"),
        (
            lambda: fastnn.Sequential([fastnn.Dense(2, 3), fastnn.Dense(4, 1)]),
            "takes 4 inputs but layer 0",
        ),
        (
            lambda: fastnn.Sequential(
                [fastnn.Dense(2, 3, activation="softmax"), fastnn.Dense(3, 1)]
            ),
            "softmax is for the output layer only",
        ),
        (lambda: fastnn.Sequential([fastnn.Dense(2, 3)], loss="hinge"), "unknown loss 'hinge'"),
        (
            lambda: fastnn.Sequential([fastnn.Dense(2, 3)], loss="cross_entropy"),
            "needs a softmax output",
        ),
        (
            lambda: fastnn.Sequential([fastnn.Dense(2, 1)], loss="binary_cross_entropy"),
            "needs a sigmoid output",
        ),
        (lambda: fastnn.Sequential([fastnn.Dense(2, 3)], dtype="float16"), "float32' or 'float64"),
        (lambda: fastnn.Sequential([fastnn.Dense(2, 3)], seed=-1), "seed must be"),
        (lambda: fastnn.Sequential(fastnn.Dense(2, 3)), "list of layers"),
        (lambda: fastnn.SGD(lr=0), "lr must be > 0"),
        (lambda: fastnn.SGD(lr=float("nan")), "lr must be finite"),
        (lambda: fastnn.SGD(lr=0.1, momentum=-0.5), "momentum must be >= 0"),
        (lambda: fastnn.SGD(lr=0.1, nesterov=True), "Nesterov momentum requires"),
        (lambda: fastnn.SGD(lr=0.1, weight_decay=-1), "weight_decay must be >= 0"),
        (lambda: fastnn.Adam(lr=-1), "lr must be > 0"),
        (lambda: fastnn.Adam(betas=(0.9, 1.0)), r"betas\[1\] must be < 1"),
        (lambda: fastnn.Adam(eps=float("inf")), "eps must be finite"),
        (lambda: fastnn.AdaGrad(lr_decay=-1), "lr_decay must be >= 0"),
        (lambda: fastnn.AdaGrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
        (lambda: fastnn.RMSprop(alpha=1.5), "alpha must be <= 1"),
        (lambda: fastnn.RMSprop(centered="yes"), "centered must be True or False"),
        (lambda: fastnn.Rprop(etas=(1.2, 0.5)), "etas must satisfy"),
        (lambda: fastnn.Rprop(step_sizes=(1.0, 0.1)), "step_sizes must satisfy"),
        (lambda: fastnn.Rprop(etas=0.5), "etas must be a pair"),
    ],
)
def test_bad_construction_is_refused(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_a_layer_belongs_to_one_network():
    layer = fastnn.Dense(2, 2)
    fastnn.Sequential([layer])
    with pytest.raises(ValueError, match="already belongs to another network"):
        fastnn.Sequential([layer])


# ------------------------------------------------------------ training modes
@pytest.mark.parametrize("batch_size, steps", [(None, 1), (1, 23), (5, 5), (23, 1), (100, 1)])
def test_modes_make_the_right_number_of_steps(data, batch_size, steps):
    X, y = data
    hist = small_net().fit(X, y, epochs=3, batch_size=batch_size, optimizer=fastnn.SGD(lr=0.1))
    assert hist.steps_per_epoch == steps
    assert len(hist.step_loss) == 3 * steps
    assert len(hist.loss) == 3
    if batch_size == 5:
        assert hist.batch_sizes[:5] == [5, 5, 5, 5, 3]  # the last batch is kept


def test_epoch_loss_is_the_size_weighted_mean_of_step_losses(data):
    X, y = data
    hist = small_net().fit(X, y, epochs=2, batch_size=5, optimizer=fastnn.SGD(lr=0.1))
    steps = np.array(hist.step_loss).reshape(2, 5)
    weights = np.array([5, 5, 5, 5, 3])
    np.testing.assert_allclose(hist.loss, steps @ weights / 23, rtol=1e-14)


def test_history_lists_are_plain_python_and_stay_consistent(data):
    X, y = data
    hist = small_net().fit(X, y, epochs=2, batch_size=5, optimizer=fastnn.SGD(lr=0.1))
    assert type(hist.step_loss) is list and all(type(v) is float for v in hist.step_loss)
    assert type(hist.loss) is list and all(type(v) is float for v in hist.loss)
    assert hist.batch_sizes == [5, 5, 5, 5, 3] * 2
    np.testing.assert_array_equal(hist._step_loss_array, hist.step_loss)
    again = small_net().fit(X, y, epochs=2, batch_size=5, optimizer=fastnn.SGD(lr=0.1))
    assert again == hist and repr(again) == repr(hist)
    hist.step_loss += [1.0]  # lists stay writable
    assert hist.step_loss[-1] == 1.0 and hist._step_loss_array[-1] == 1.0
    assert again != hist


def test_step_loss_is_measured_before_each_update(data):
    X, y = data
    net = small_net()
    first = net.evaluate(X, y)
    hist = net.fit(X, y, epochs=2, optimizer=fastnn.SGD(lr=0.5))
    assert hist.step_loss[0] == pytest.approx(first, rel=1e-14)
    assert hist.step_loss[1] < hist.step_loss[0]


def test_epochs_zero_trains_nothing_and_negative_is_refused(data):
    X, y = data
    net = small_net()
    before = net.params.copy()
    hist = net.fit(X, y, epochs=0)
    assert hist.loss == [] and hist.step_loss == []
    np.testing.assert_array_equal(net.params, before)
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        net.fit(X, y, epochs=-1)


def test_same_seed_same_run_and_shuffle_changes_the_order(data):
    X, y = data
    runs = []
    for seed in (0, 0, 1):
        net = small_net(seed=0)
        net._rng_state[...] = fastnn.Sequential([fastnn.Dense(1, 1)], seed=seed)._rng_state
        runs.append(net.fit(X, y, epochs=3, batch_size=4, optimizer=fastnn.SGD(lr=0.1)))
    assert runs[0].step_loss == runs[1].step_loss
    assert runs[0].step_loss != runs[2].step_loss
    a, b = small_net(), small_net()
    ha = a.fit(X, y, epochs=1, batch_size=4, optimizer=fastnn.SGD(lr=0.1), shuffle=True)
    hb = b.fit(X, y, epochs=1, batch_size=4, optimizer=fastnn.SGD(lr=0.1), shuffle=False)
    assert ha.step_loss != hb.step_loss
    # every epoch sees every row once: full-batch loss is order-free
    c, d = small_net(), small_net()
    hc = c.fit(X, y, epochs=3, optimizer=fastnn.SGD(lr=0.1), shuffle=True)
    hd = d.fit(X, y, epochs=3, optimizer=fastnn.SGD(lr=0.1), shuffle=False)
    np.testing.assert_allclose(hc.step_loss, hd.step_loss, rtol=1e-12)


def test_shuffled_training_is_the_reference_over_the_drawn_order(data):
    X, y = data
    net = small_net()
    state = net._rng_state.copy()
    order = np.empty(len(X), dtype=np.int64)
    fastnn._kernels.permutation(state, order)
    assert sorted(order) == list(range(len(X)))
    twin = small_net()
    h1 = net.fit(X, y, epochs=1, batch_size=4, optimizer=fastnn.SGD(lr=0.1))
    h2 = twin.fit(
        X[order], y[order], epochs=1, batch_size=4, optimizer=fastnn.SGD(lr=0.1), shuffle=False
    )
    np.testing.assert_allclose(h1.step_loss, h2.step_loss, rtol=1e-14)
    np.testing.assert_allclose(net.params, twin.params, rtol=1e-14)


def test_optimizer_object_keeps_its_state_between_calls(data):
    X, y = data
    for make in (lambda: fastnn.SGD(lr=0.1, momentum=0.9), lambda: fastnn.Adam(lr=0.01)):
        once, twice, fresh = small_net(), small_net(), small_net()
        once.fit(X, y, epochs=4, batch_size=5, optimizer=make(), shuffle=False)
        opt = make()
        twice.fit(X, y, epochs=2, batch_size=5, optimizer=opt, shuffle=False)
        twice.fit(X, y, epochs=2, batch_size=5, optimizer=opt, shuffle=False)
        np.testing.assert_array_equal(once.params, twice.params)
        fresh.fit(X, y, epochs=2, batch_size=5, optimizer=make(), shuffle=False)
        fresh.fit(X, y, epochs=2, batch_size=5, optimizer=make(), shuffle=False)
        assert not np.array_equal(once.params, fresh.params)
        assert opt.state_for(twice).t == 20


def test_one_optimizer_keeps_separate_state_per_network(data):
    X, y = data
    opt = fastnn.SGD(lr=0.1, momentum=0.9)
    a, b, c = small_net(), small_net(), small_net()
    a.fit(X, y, epochs=2, optimizer=opt, shuffle=False)
    b.fit(X, y, epochs=2, optimizer=opt, shuffle=False)
    c.fit(X, y, epochs=2, optimizer=fastnn.SGD(lr=0.1, momentum=0.9), shuffle=False)
    np.testing.assert_array_equal(a.params, c.params)
    np.testing.assert_array_equal(b.params, c.params)


def test_partial_fit_chunks_equal_one_fit_without_shuffle(data):
    X, y = data
    whole, streamed = small_net(), small_net()
    whole.fit(X, y, epochs=1, batch_size=4, optimizer=fastnn.Adam(lr=0.01), shuffle=False)
    opt = fastnn.Adam(lr=0.01)
    steps = []
    for start in range(0, 23, 8):  # chunks of 8 rows, batches of 4
        h = streamed.partial_fit(
            X[start : start + 8], y[start : start + 8], optimizer=opt, batch_size=4
        )
        steps += h.step_loss
    np.testing.assert_array_equal(whole.params, streamed.params)
    assert len(steps) == 6
    # default: the whole chunk is one batch, with the network's own optimizer kept
    net = small_net()
    h = net.partial_fit(X, y)
    assert len(h.step_loss) == 1
    assert net.partial_fit(X, y).step_loss[0] < h.step_loss[0]


def test_loss_and_grads_shapes_and_no_update(data):
    X, y = data
    net = small_net()
    before = net.params.copy()
    loss, grads = net.loss_and_grads(X, y)
    assert isinstance(loss, float) and loss == pytest.approx(net.evaluate(X, y))
    assert [(g[0].shape, g[1].shape) for g in grads] == [((4, 6), (6,)), ((6, 3), (3,))]
    np.testing.assert_array_equal(net.params, before)


def test_mse_accepts_1d_targets_as_a_column(rng):
    net = make_net((3, 1), ["identity"], "mse")
    X = rng.normal(size=(10, 3))
    y = rng.normal(size=10)
    assert net.evaluate(X, y) == net.evaluate(X, y.reshape(-1, 1))


# ------------------------------------------------------------ bad input
BAD_FIT = [
    (lambda X, y: (X[0], y), "Expected a 2-D array.*reshape"),
    (lambda X, y: (X[:0], y[:0]), "empty"),
    (lambda X, y: (X[:, :3], y), "has 3 features, but the network's first layer expects 4"),
    (lambda X, y: (np.where(np.arange(4) == 2, np.nan, X), y), "NaN or infinity"),
    (lambda X, y: (np.where(np.arange(4) == 1, np.inf, X), y), "NaN or infinity"),
    (lambda X, y: (X.astype(str), y), "must be numeric"),
    (lambda X, y: (X.astype(complex), y), "must be real"),
    (lambda X, y: (X, y[:-1]), "different numbers of samples: 23 and 22"),
    (lambda X, y: (X, np.where(np.arange(23) == 3, 7, y)), "unknown label 7"),
    (lambda X, y: (X, np.where(np.arange(23) == 3, -1, y)), "unknown label -1"),
    (lambda X, y: (X, y + 0.5), "fractional"),
    (lambda X, y: (X, np.eye(3)[y]), "integer class labels of shape"),
    (lambda X, y: (X, y.astype(str)), "must be numeric"),
]


@pytest.mark.parametrize("corrupt, match", BAD_FIT)
def test_bad_input_is_refused_and_leaves_the_model_unchanged(data, corrupt, match):
    X, y = data
    net = small_net()
    opt = fastnn.SGD(lr=0.1, momentum=0.9)
    net.fit(X, y, epochs=1, optimizer=opt)
    before = net.params.copy()
    t_before = opt.state_for(net).t
    Xb, yb = corrupt(X, y)
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(Xb, yb, optimizer=opt)
    with pytest.raises((ValueError, TypeError), match=match):
        net.partial_fit(Xb, yb, optimizer=opt)
    with pytest.raises((ValueError, TypeError), match=match):
        net.loss_and_grads(Xb, yb)
    with pytest.raises((ValueError, TypeError), match=match):
        net.evaluate(Xb, yb)
    np.testing.assert_array_equal(net.params, before)
    assert opt.state_for(net).t == t_before


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_size=0), "batch_size must be >= 1"),
        (dict(batch_size=2.0), "batch_size must be an integer"),
        (dict(epochs=1.5), "epochs must be an integer"),
        (dict(optimizer="sgd"), "optimizer must be a fastnn optimizer"),
        (dict(shuffle="yes"), "shuffle must be True or False"),
    ],
)
def test_bad_fit_arguments(data, kwargs, match):
    X, y = data
    net = small_net()
    before = net.params.copy()
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(X, y, **kwargs)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_fast_path_still_refuses_non_finite_rows(dtype, bad):
    net = small_net(dtype=dtype)
    X = np.ones((3, 4), dtype=dtype)
    X[2, 3] = bad
    with pytest.raises(ValueError, match="NaN or infinity.*row 2"):
        net.predict(X)
    np.testing.assert_array_equal(net.predict(X[:2]), net.predict(X[:2].astype(np.float16)))


def test_predict_refuses_bad_input():
    net = small_net()
    with pytest.raises(ValueError, match="Expected a 2-D array"):
        net.predict(np.zeros(4))
    with pytest.raises(ValueError, match="expects 4"):
        net.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        net.predict(np.full((2, 4), np.nan))
    assert net.predict(np.zeros((1, 4))).shape == (1, 3)


def test_targets_are_checked_for_each_loss(rng):
    X = rng.normal(size=(5, 2))
    bce = make_net((2, 1), ["sigmoid"], "binary_cross_entropy")
    with pytest.raises(ValueError, match=r"y in \{0, 1\}"):
        bce.fit(X, np.array([0, 1, 2, 0, 1]))
    mse = make_net((2, 2), ["identity"], "mse")
    with pytest.raises(ValueError, match=r"shape \(5, 2\)"):
        mse.fit(X, np.zeros(5))
    with pytest.raises(ValueError, match="NaN or infinity"):
        mse.fit(X, np.full((5, 2), np.nan))


def test_step_activation_cannot_be_trained_by_gradient(rng):
    net = make_net((2, 1), ["step"], "mse")
    before = net.params.copy()
    with pytest.raises(ValueError, match="step activation.*gradient"):
        net.fit(rng.normal(size=(4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="step activation"):
        net.loss_and_grads(rng.normal(size=(4, 2)), np.zeros(4))
    np.testing.assert_array_equal(net.params, before)


def test_divergence_restores_the_weights_and_says_what_to_do(rng):
    net = make_net((3, 8, 1), ["relu", "identity"], "mse")
    X = rng.normal(size=(20, 3)) * 1e3
    y = rng.normal(size=20) * 1e3
    opt = fastnn.SGD(lr=10.0, momentum=0.9)
    before = net.params.copy()
    with pytest.raises(ValueError, match="diverged.*restored.*lower learning rate"):
        net.fit(X, y, epochs=50, batch_size=1, optimizer=opt)
    np.testing.assert_array_equal(net.params, before)
    assert opt.state_for(net).t == 0
    assert not opt.state_for(net).buffer.any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_failed_stream_step_leaves_model_and_optimizer_as_they_were(rng, dtype):
    # one-step calls (partial_fit on a chunk) run through a bound stepper
    # that undoes its own update: weights that overflow, or a loss that is
    # not finite, change nothing, and the stream then goes on as if the bad
    # chunk had never come.
    X = rng.normal(size=(12, 3))
    y = rng.normal(size=12)
    net, twin = (
        make_net((3, 5, 1), ["tanh", "identity"], "mse", dtype=dtype, seed=1) for _ in range(2)
    )
    opt, twin_opt = fastnn.Adam(lr=0.01), fastnn.Adam(lr=0.01)
    for i in range(3):
        net.partial_fit(X[i : i + 1], y[i : i + 1], optimizer=opt)
        twin.partial_fit(X[i : i + 1], y[i : i + 1], optimizer=twin_opt)
    params, buffer = net.params.copy(), opt.state_for(net).buffer.copy()
    huge = np.full((1, 3), 1e30 if dtype == "float64" else 1e18)
    for bad_X, bad_y, bad_opt in (
        (huge, [1e30], fastnn.SGD(lr=1e300)),  # overflow
        (X[:1], [np.finfo(dtype).max], opt),
    ):  # inf gradient
        with pytest.raises(fastnn.TrainingDiverged):
            net.partial_fit(bad_X, bad_y, optimizer=bad_opt)
        np.testing.assert_array_equal(net.params, params)
        np.testing.assert_array_equal(opt.state_for(net).buffer, buffer)
        assert opt.state_for(net).t == 3
    for i in range(3, 12):
        net.partial_fit(X[i : i + 1], y[i : i + 1], optimizer=opt)
        twin.partial_fit(X[i : i + 1], y[i : i + 1], optimizer=twin_opt)
    np.testing.assert_array_equal(net.params, twin.params)


def test_stream_steps_survive_pickling_and_growing_chunks(data):
    X, y = data
    net, twin = small_net(), small_net()
    opt = fastnn.SGD(lr=0.1, momentum=0.9)
    net.partial_fit(X[:2], y[:2], optimizer=opt)
    net, opt = pickle.loads(pickle.dumps((net, opt)))  # the stepper is rebuilt
    for start, stop in ((2, 3), (3, 9), (9, 10)):  # chunks of 1, 6, 1 rows
        net.partial_fit(X[start:stop], y[start:stop], optimizer=opt)
    twin_opt = fastnn.SGD(lr=0.1, momentum=0.9)
    for start, stop in ((0, 2), (2, 3), (3, 9), (9, 10)):
        twin.partial_fit(X[start:stop], y[start:stop], optimizer=twin_opt)
    np.testing.assert_array_equal(net.params, twin.params)


def test_the_kernels_refuse_class_labels_outside_the_output_layer(data):
    X, y = data
    net = small_net()
    before = net.params.copy()
    for labels in (np.array([3]), np.array([-1])):
        with pytest.raises(ValueError, match="outside 0..2"):
            _training.run(
                net,
                np.ascontiguousarray(X[:1]),
                labels.astype(np.int64),
                _empty_targets(net.n_out, net.dtype),
                1,
                None,
                fastnn.SGD(lr=0.1),
                False,
            )
    np.testing.assert_array_equal(net.params, before)


# ------------------------------------------------------------ learning
def test_xor_is_learned_on_most_seeds():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    solved = 0
    for seed in range(10):
        net = fastnn.Sequential(
            [fastnn.Dense(2, 4, activation="tanh"), fastnn.Dense(4, 1, activation="sigmoid")],
            loss="binary_cross_entropy",
            seed=seed,
        )
        net.fit(X, y, epochs=500, optimizer=fastnn.SGD(lr=0.5, momentum=0.9))
        solved += np.array_equal((net.predict(X).ravel() > 0.5).astype(int), y)
    assert solved >= 8


def test_digits_are_learned_above_95_percent():
    X, y = load_digits()
    X = X / 16.0
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]
    net = fastnn.Sequential(
        [fastnn.Dense(64, 32, activation="relu"), fastnn.Dense(32, 10, activation="softmax")],
        loss="cross_entropy",
        seed=0,
    )
    hist = net.fit(
        X[train], y[train], epochs=20, batch_size=16, optimizer=fastnn.SGD(lr=0.1, momentum=0.9)
    )
    accuracy = np.mean(net.predict(X[test]).argmax(axis=1) == y[test])
    assert accuracy > 0.95
    assert hist.loss[-1] < hist.loss[0] / 5


def test_optimizer_settings_changed_between_calls_are_checked_and_used(data):
    X, y = data
    opt = fastnn.SGD(lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="lr must be > 0"):
        opt.lr = -1.0
    assert opt.lr == 0.1  # a refused change leaves the old value
    a, b = small_net(), small_net()
    opt.lr = 0.05
    a.fit(X, y, epochs=2, optimizer=opt, shuffle=False)
    b.fit(X, y, epochs=2, optimizer=fastnn.SGD(lr=0.05, momentum=0.9), shuffle=False)
    np.testing.assert_array_equal(a.params, b.params)


def test_the_training_driver_refuses_arrays_of_another_layout_or_dtype(data):
    """_training.run trusts checked arrays, but one of another layout or
    dtype is refused before the loop (the kernels' typed views), never read."""
    X, y = data
    net = small_net()
    labels = y.astype(np.int64)
    empty = _empty_targets(net.n_out, net.dtype)
    before = net.params.copy()
    with pytest.raises(ValueError, match="contiguous"):
        _training.run(net, np.asfortranarray(X), labels, empty, 1, None, fastnn.SGD(lr=0.1), False)
    with pytest.raises((TypeError, ValueError)):
        _training.run(net, X.astype(np.float32), labels, empty, 1, None, fastnn.SGD(lr=0.1), False)
    np.testing.assert_array_equal(net.params, before)
    a, b = small_net(), small_net()
    _training.run(a, np.ascontiguousarray(X), labels, empty, 2, 5, fastnn.SGD(lr=0.1), False)
    b.fit(X, y, epochs=2, batch_size=5, optimizer=fastnn.SGD(lr=0.1), shuffle=False)
    np.testing.assert_array_equal(a.params, b.params)


def test_one_layer_object_twice_in_a_network_is_refused():
    d = fastnn.Dense(4, 4, activation="tanh")
    with pytest.raises(ValueError, match="layer 2 .* is the same object as an earlier layer"):
        fastnn.Sequential([d, fastnn.Dense(4, 4, activation="tanh"), d])
    assert d._owner is None  # refused before anything was bound
    fastnn.Sequential([d, fastnn.Dense(4, 4)])  # still free to join one network


@pytest.mark.parametrize("where", ["X", "y"])
def test_values_too_large_for_float32_are_named_as_such(where):
    X = np.ones((5, 3))
    y = np.ones(5)
    net = fastnn.Sequential([fastnn.Dense(3, 1)], loss="mse", dtype="float32")
    before = net.params.copy()
    if where == "X":
        X = X * 1e200
    else:
        y = y * 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no numpy overflow warning on the way
        with pytest.raises(ValueError, match=f"{where} holds values too large for float32"):
            net.fit(X, y)
    np.testing.assert_array_equal(net.params, before)
    # float64 holds them: the same values train (or diverge) as numbers
    wide = fastnn.Sequential([fastnn.Dense(3, 1)], loss="mse", dtype="float64")
    with pytest.raises(fastnn.TrainingDiverged):
        wide.fit(X, y, optimizer=fastnn.SGD(lr=1.0))
    with pytest.raises(ValueError, match="NaN or infinity .*; remove or impute non-finite values$"):
        net.predict(np.full((2, 3), np.nan))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_large_inputs_are_checked_to_the_last_value(threads, dtype, where, bad):
    # from 4 MB on the check runs in two halves (on two threads): a bad
    # value in either half, or in the last place, is found, and fit leaves
    # the weights as they were
    rows = (5 << 20) // (16 * np.dtype(dtype).itemsize) + 1  # > 4 MB, an odd count
    X = np.ones((rows, 16), dtype=dtype)
    flat = X.reshape(-1)
    flat[{"first": 0, "middle": flat.size // 2 + 1, "last": -1}[where]] = bad
    net = make_net((16, 3), ["softmax"], "cross_entropy", dtype=dtype)
    y = np.zeros(rows, dtype=np.int64)
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        params = net.params.copy()
        with pytest.raises(ValueError, match="NaN or infinity"):
            net.fit(X, y, epochs=1, batch_size=4096)
        np.testing.assert_array_equal(net.params, params)
        with pytest.raises(ValueError, match="NaN or infinity"):
            net.predict(X)
        flat[{"first": 0, "middle": flat.size // 2 + 1, "last": -1}[where]] = 1
        assert np.isfinite(net.predict(X)).all()
    finally:
        fastnn.set_num_threads(before)
