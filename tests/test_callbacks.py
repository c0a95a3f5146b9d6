"""Callbacks and EarlyStopping; and what a fit that raises leaves behind."""

import math

import numpy as np
import pytest

import fastnn
from conftest import make_net, net3


# ------------------------------------------------------------ callbacks
def test_a_callback_sees_each_epoch_and_can_stop(data):
    X, y = data
    seen = []

    def cb(epoch, logs, net):
        seen.append((epoch, logs["loss"], net.params.copy()))
        return epoch == 2

    net = net3()
    hist = net.fit(X, y, epochs=10, batch_size=8, callbacks=cb, optimizer=fastnn.SGD(lr=0.1))
    assert [s[0] for s in seen] == [0, 1, 2]
    assert hist.epochs == 3 and hist.stopped_early
    assert [s[1] for s in seen] == hist.loss
    np.testing.assert_array_equal(seen[-1][2], net.params)


def test_end_loss_is_given_only_when_asked_for(data):
    X, y = data
    keys = []
    net3().fit(
        X,
        y,
        epochs=2,
        callbacks=lambda e, logs, n: keys.append(set(logs)),
        optimizer=fastnn.SGD(lr=0.1),
    )
    assert keys == [{"loss", "accuracy", "lr"}] * 2  # net3 classifies

    class Wants(fastnn.Callback):
        def wants_end_loss(self, validation):
            return True

        def on_epoch_end(self, epoch, logs, net):
            keys.append((logs["end_loss"], net.evaluate(X, y)))

    keys.clear()
    net3().fit(X, y, epochs=3, batch_size=7, callbacks=Wants(), optimizer=fastnn.SGD(lr=0.1))
    assert len(keys) == 3 and all(a == b for a, b in keys)


# ------------------------------------------------------------ EarlyStopping
def keras_stop_epoch(values, patience, min_delta=0.0):
    """Keras's documented rule: "Number of epochs with no improvement after
    which training will be stopped" (an improvement: less than the best by
    more than min_delta; never stopping at the first epoch)."""
    best, improved = math.inf, []
    for v in values:
        improved.append(v < best - min_delta)
        best = v if improved[-1] else best
    for e in range(1, len(values)):
        run = 0
        while run <= e and not improved[e - run]:
            run += 1
        if run and run >= patience:
            return e
    return None


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
@pytest.mark.parametrize("min_delta", [0.0, 0.3])
@pytest.mark.parametrize("seed", range(5))
def test_patience_means_what_it_means_in_keras(patience, min_delta, seed):
    values = list(np.round(np.random.default_rng(seed).normal(size=30).cumsum(), 1))
    net = net3()
    stopper = fastnn.EarlyStopping(monitor="val_loss", patience=patience, min_delta=min_delta)
    stopper.on_train_begin(net)
    stopped = None
    for epoch, value in enumerate(values):
        if stopper.on_epoch_end(epoch, {"loss": 0.0, "val_loss": value}, net):
            stopped = epoch
            break
    assert stopped == keras_stop_epoch(values, patience, min_delta)
    assert stopper.stopped_epoch == stopped


@pytest.mark.parametrize("patience", [0, 1, 2, 4])
def test_early_stopping_restores_the_best_epoch(data, patience):
    X, y = data
    Xv, yv = X[40:], y[40:]
    stopper = fastnn.EarlyStopping(patience=patience)
    net = net3()
    snapshots = []

    def keep(epoch, logs, net):
        snapshots.append(net.params.copy())

    # a learning rate high enough that the validation loss goes up again
    hist = net.fit(
        X[:40],
        y[:40],
        epochs=200,
        batch_size=4,
        validation_data=(Xv, yv),
        callbacks=[keep, stopper],
        optimizer=fastnn.SGD(lr=0.5, momentum=0.9),
    )
    assert hist.stopped_early
    assert hist.epochs == keras_stop_epoch(hist.val_loss, patience) + 1
    best = int(np.argmin(hist.val_loss))
    assert stopper.best_epoch == best and stopper.best == min(hist.val_loss)
    # p epochs without improvement, then it stops (p = 0: at the first one)
    assert hist.epochs == best + 1 + max(patience, 1)
    np.testing.assert_array_equal(net.params, snapshots[best])
    assert net.evaluate(Xv, yv) == stopper.best


@pytest.mark.parametrize("monitor", ["val_loss", "loss"])
@pytest.mark.parametrize("batch_size", [None, 5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_without_validation_the_kept_weights_score_the_reported_best(monitor, batch_size, dtype):
    """The training loss it monitors is that of the weights it keeps: the
    weights at the end of the epoch, not the step losses measured before
    each update."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3)) * 3
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=40)
    net = make_net((3, 16, 1), ["tanh", "identity"], "mse", dtype=dtype)
    stopper = fastnn.EarlyStopping(monitor=monitor, patience=3)
    scores = []

    def score(epoch, logs, net):
        scores.append(net.evaluate(X, y))

    hist = net.fit(
        X,
        y,
        epochs=60,
        batch_size=batch_size,
        callbacks=[score, stopper],
        optimizer=fastnn.SGD(lr=0.01, momentum=0.9),
    )
    assert stopper.best == min(scores)
    assert stopper.best_epoch == int(np.argmin(scores)) > 0
    assert net.evaluate(X, y) == stopper.best
    assert hist.epochs == len(scores)
    assert hist.stopped_early and hist.epochs == stopper.best_epoch + 1 + 3
    # the epoch's mean step loss (History.loss), each step measured before its
    # update, is another measure: it is not the kept weights' score
    assert hist.loss[stopper.best_epoch] != stopper.best


def test_restore_best_weights_false_keeps_the_last_weights(data):
    X, y = data
    net = net3()
    last = []
    stopper = fastnn.EarlyStopping(patience=1, restore_best_weights=False)
    net.fit(
        X[:40],
        y[:40],
        epochs=100,
        batch_size=4,
        validation_data=(X[40:], y[40:]),
        callbacks=[lambda e, logs, n: last.append(n.params.copy()), stopper],
        optimizer=fastnn.SGD(lr=0.5, momentum=0.9),
    )
    np.testing.assert_array_equal(net.params, last[-1])
    assert stopper.best_params is None


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(monitor="accuracy"), ValueError, "monitor must be 'val_loss' or 'loss'"),
        (dict(patience=-1), ValueError, "patience must be >= 0"),
        (dict(patience=1.5), TypeError, "patience must be an integer"),
        (dict(min_delta=-0.1), ValueError, "min_delta must be >= 0"),
    ],
)
def test_bad_early_stopping_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        fastnn.EarlyStopping(**kwargs)


def test_a_callback_that_is_no_callback_is_refused(data):
    X, y = data
    net = net3()
    before = net.params.copy()
    with pytest.raises(TypeError, match="a callback must be a Callback or a function"):
        net.fit(X, y, epochs=2, callbacks=[3])
    np.testing.assert_array_equal(net.params, before)


# ------------------------------------------------------------ a fit that raises changes nothing
def everything(net, opt, stopper=None):
    """All a call may change: the weights, the shuffling stream, the optimizer's
    state for the network (or that it has none) and the callback's state."""
    state = opt._states.get(net)
    kept = (
        None
        if state is None
        else (state.buffer.copy(), state.t, state.epoch, dict(state.schedule_state), state.schedule)
    )
    cb = (
        None
        if stopper is None
        else {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(stopper).items()}
    )
    return net.params.copy(), net._rng_state.copy(), kept, cb


def assert_same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (a[2] is None) == (b[2] is None)
    if a[2] is not None:
        np.testing.assert_array_equal(a[2][0], b[2][0])
        assert a[2][1:4] == b[2][1:4] and a[2][4] is b[2][4]
    assert (a[3] is None) == (b[3] is None)
    if a[3] is not None:
        assert a[3].keys() == b[3].keys()
        for key in a[3]:
            if isinstance(a[3][key], np.ndarray):
                np.testing.assert_array_equal(a[3][key], b[3][key])
            else:
                assert a[3][key] == b[3][key], key


def setup(dtype):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(48, 5))
    y = rng.integers(0, 3, size=48)
    net = net3(dtype=dtype)
    opt = fastnn.SGD(
        lr=0.1,
        momentum=0.9,
        schedule=fastnn.ReduceOnPlateau(factor=0.5, patience=0, threshold=0.05),
    )
    return X, y, net, opt


def blow_up_after(epoch_index):
    def cb(epoch, logs, net):
        if epoch == epoch_index:  # weights whose outputs overflow: the next step fails
            net.params[...] = np.finfo(net.dtype).max / 4

    return cb


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size", [None, 12])
@pytest.mark.parametrize("validation", [False, True])
def test_divergence_mid_fit_leaves_everything_as_before(dtype, batch_size, validation):
    X, y, net, opt = setup(dtype)
    twin_X, twin_y, twin, twin_opt = setup(dtype)
    kwargs = dict(validation_data=(X[36:], y[36:])) if validation else {}
    stopper, twin_stopper = fastnn.EarlyStopping(patience=50), fastnn.EarlyStopping(patience=50)
    # an earlier fit, so that nothing starts from its beginning
    net.fit(
        X[:36],
        y[:36],
        epochs=3,
        batch_size=batch_size,
        optimizer=opt,
        callbacks=[stopper],
        **kwargs,
    )
    twin.fit(
        X[:36],
        y[:36],
        epochs=3,
        batch_size=batch_size,
        optimizer=twin_opt,
        callbacks=[twin_stopper],
        **kwargs,
    )
    before = everything(net, opt, stopper)
    with pytest.raises(fastnn.TrainingDiverged, match="restored") as info:
        net.fit(
            X[:36],
            y[:36],
            epochs=10,
            batch_size=batch_size,
            optimizer=opt,
            callbacks=[stopper, blow_up_after(3)],
            **kwargs,
        )
    steps_per_epoch = 1 if batch_size is None else 3
    # the weights blown up after epoch 3 (from 0) fail the first step of epoch 4
    assert info.value.step == 4 * steps_per_epoch + 1
    assert f"at step {4 * steps_per_epoch + 1} of this call" in str(info.value)
    assert_same(everything(net, opt, stopper), before)
    # and the next fit runs as if the failed one had never been
    h = net.fit(
        X[:36],
        y[:36],
        epochs=4,
        batch_size=batch_size,
        optimizer=opt,
        callbacks=[stopper],
        **kwargs,
    )
    th = twin.fit(
        X[:36],
        y[:36],
        epochs=4,
        batch_size=batch_size,
        optimizer=twin_opt,
        callbacks=[twin_stopper],
        **kwargs,
    )
    assert h == th
    np.testing.assert_array_equal(net.params, twin.params)
    assert stopper.best == twin_stopper.best


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_callback_that_raises_leaves_everything_as_before(dtype):
    X, y, net, opt = setup(dtype)
    stopper = fastnn.EarlyStopping(monitor="loss", patience=50)
    net.fit(X, y, epochs=2, batch_size=10, optimizer=opt, callbacks=[stopper])
    before = everything(net, opt, stopper)

    def fail(epoch, logs, net):
        if epoch == 2:
            raise RuntimeError("a callback failed")

    with pytest.raises(RuntimeError, match="a callback failed"):
        net.fit(X, y, epochs=5, batch_size=10, optimizer=opt, callbacks=[stopper, fail])
    assert_same(everything(net, opt, stopper), before)

    class FailAtEnd(fastnn.Callback):
        def on_train_end(self, net, logs):
            raise RuntimeError("failed at the end")

    with pytest.raises(RuntimeError, match="failed at the end"):
        net.fit(X, y, epochs=3, batch_size=10, optimizer=opt, callbacks=[stopper, FailAtEnd()])
    assert_same(everything(net, opt, stopper), before)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_a_fresh_optimizer_keeps_no_state_from_a_failed_call(dtype, batch_size):
    rng = np.random.default_rng(0)
    net = make_net((3, 8, 1), ["relu", "identity"], "mse", dtype=dtype)
    X = rng.normal(size=(20, 3)) * 1e3
    y = rng.normal(size=20) * 1e3
    for opt in (
        fastnn.SGD(lr=1e307, momentum=0.9),  # the first update overflows
        fastnn.SGD(lr=1e307, schedule=fastnn.StepDecay(2)),
    ):
        before = everything(net, opt)
        with pytest.raises(fastnn.TrainingDiverged, match="restored"):
            net.fit(X, y, epochs=3, batch_size=batch_size, optimizer=opt, shuffle=False)
        assert_same(everything(net, opt), before)
        assert net not in opt._states
        # the weights overflow in step 1: the stepper sees them, the compiled
        # loop the loss of step 2 that they give
        with pytest.raises(
            fastnn.TrainingDiverged, match="(at|by the end of) step [12] of this call"
        ):
            net.partial_fit(X, y, optimizer=opt, batch_size=batch_size)
        assert_same(everything(net, opt), before)
        assert net not in opt._states


def test_a_replaced_schedule_stays_replaced_only_if_the_call_succeeds(data):
    X, y = data
    net, opt = net3(), fastnn.SGD(lr=0.2, schedule=fastnn.ExponentialDecay(0.5))
    net.fit(X, y, epochs=3, optimizer=opt)
    before = everything(net, opt)
    opt.schedule = fastnn.StepDecay(1, 0.1)
    with pytest.raises(fastnn.TrainingDiverged):
        net.fit(X, y, epochs=4, optimizer=opt, callbacks=blow_up_after(1))
    assert_same(everything(net, opt), before)
    # the new schedule still starts from the rate the old one had set
    assert net.fit(X, y, epochs=2, optimizer=opt).lr == [0.2 * 0.5**3, 0.2 * 0.5**3 * 0.1]


def test_bad_input_leaves_the_model_and_the_optimizer_as_they_were(data):
    X, y = data
    net, opt = net3(), fastnn.SGD(lr=0.2, schedule=fastnn.StepDecay(2))
    net.fit(X, y, epochs=1, optimizer=opt)
    opt.schedule = fastnn.CosineAnnealing(3)
    before = everything(net, opt)
    with pytest.raises(ValueError, match="not both"):
        net.fit(X, y, optimizer=opt, validation_split=0.2, validation_data=(X, y))
    with pytest.raises(ValueError, match="has 2 features"):
        net.fit(X, y, optimizer=opt, validation_data=([[1, 2]], [0]))
    with pytest.raises(ValueError, match="samples"):
        net.partial_fit(X, y[:-1], optimizer=opt)
    assert_same(everything(net, opt), before)
    fresh = net3()
    with pytest.raises(ValueError, match="samples"):
        fresh.partial_fit(X, y[:-1])
    assert fresh._default_optimizer is None


def test_an_image_network_is_not_built_by_a_call_that_fails(rng):
    net = fastnn.Sequential(
        [
            fastnn.Conv2D(1, 2, kernel_size=3, activation="relu"),
            fastnn.Flatten(),
            fastnn.Dense(2 * 4 * 4, 3, activation="softmax"),
        ]
    )
    summary = net.summary()
    X = rng.normal(size=(10, 1, 6, 6))
    with pytest.raises(ValueError, match="samples"):
        net.fit(X, np.zeros(9, dtype=int), optimizer=fastnn.SGD(lr=0.1))
    assert net.summary() == summary
    net.fit(X, np.zeros(10, dtype=int), optimizer=fastnn.SGD(lr=0.1))
    assert net.summary() != summary
