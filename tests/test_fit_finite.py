"""NaN and infinity in the X of ``fit``, searched batch by batch.

``fit`` does not read X once beforehand to search it for NaN and infinity:
the training loop searches each batch of the first epoch just before its
forward pass reads it (``_training.run(..., searched=False)``), a
split batch's halves on their own threads. A bad value anywhere must still
be refused with the ValueError that names its first row, with the weights,
the optimizer, the shuffling stream and the callbacks as they were; runs
that will not read every row (no epochs, Ctrl-C in the first epoch) and
one-row batches search X as a whole instead. With finite X, the search
changes no bit of the result.
"""

import numpy as np
import pytest

import fastnn
from conftest import at_threads, make_net
from fastnn import _training, _validation
from fastnn._dispatch import kernels

N = 900

# (sizes, batch_size): how each batch is computed
CASES = {
    "one row": ((20, 16, 4), 1),  # X searched beforehand
    "small loops": ((20, 16, 4), 8),
    "cut products": ((200, 256, 4), 64),  # each product in two parts
    "split halves": ((64, 256, 4), 300),  # halves on two threads
    "full batch": ((64, 256, 4), None),  # split too (900 rows)
}


def _data(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((N, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], N)
    return X, y


def _trained(sizes, dtype, X, y):
    """A network and a momentum optimizer with a step count, buffers and a
    shuffling stream that a failed call must leave as they are."""
    net = make_net(sizes, ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=3)
    opt = fastnn.SGD(lr=0.05, momentum=0.9)
    net.fit(X[:50], y[:50], epochs=1, batch_size=10, optimizer=opt)
    return net, opt


def _state(net, opt):
    st = opt.state_for(net)
    return net.params.copy(), st.t, st.buffer.copy(), net._rng_state.copy()


def _assert_same_state(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_array_equal(a[3], b[3])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("row, bad", [(0, np.nan), (451, np.inf), (N - 1, -np.inf)])
def test_a_bad_value_in_any_row_is_refused_with_nothing_changed(
    case, shuffle, dtype, threads, row, bad
):
    sizes, bs = CASES[case]
    X, y = _data(sizes, dtype)
    net, opt = _trained(sizes, dtype, X, y)
    good = X[row, sizes[0] - 1]
    X[row, sizes[0] - 1] = bad
    before = _state(net, opt)
    with pytest.raises(ValueError, match=rf"X contains NaN or infinity \(first at row {row}\)"):
        at_threads(
            threads, lambda: net.fit(X, y, epochs=2, batch_size=bs, optimizer=opt, shuffle=shuffle)
        )
    _assert_same_state(_state(net, opt), before)
    # and the same call trains once the value is fixed, as a network that
    # never saw the failed call does
    X[row, sizes[0] - 1] = good
    twin, twin_opt = _trained(sizes, dtype, X, y)
    for m, o in ((net, opt), (twin, twin_opt)):
        at_threads(
            threads,
            lambda m=m, o=o: m.fit(X, y, epochs=2, batch_size=bs, optimizer=o, shuffle=shuffle),
        )
    np.testing.assert_array_equal(net.params, twin.params)


@pytest.mark.parametrize("case", ["small loops", "cut products", "split halves"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_loop_stops_before_the_batch_that_holds_it(case, dtype):
    # the search is the loop's own: the steps before the bad batch ran, the
    # status says why it stopped, and (with finite X) the search changes no bit
    sizes, bs = CASES[case]
    X, y = _data(sizes, dtype)
    bad_row = 700
    X[bad_row, 0] = np.nan
    net, opt = _trained(sizes, dtype, X, y)
    state = opt._state_for(net)
    counters = net._counters
    counters[:] = 0
    kernels.train(
        net._spec,
        net._loss_code,
        net.params,
        net._grads,
        opt._kind,
        opt._hyper(None),
        state.buffer,
        X,
        y.astype(np.int64),
        np.empty((0, sizes[-1]), dtype=dtype),
        bs,
        2,
        False,
        net._rng_state,
        net._order[:N] if len(net._order) >= N else np.empty(N, np.int64),
        net._workspace(bs, net._splits(bs)),
        np.empty(2 * -(-N // bs)),
        np.empty((0, net.n_params), dtype=dtype),
        counters,
        1,
        2 * -(-N // bs),
        net._splits(bs),
        None,
        None,
        None,
        True,
    )
    assert counters[_training._STATUS] == kernels.NOT_FINITE
    assert counters[_training._STEPS] == bad_row // bs


@pytest.mark.parametrize("case", ["small loops", "cut products", "split halves", "full batch"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_finite_X_gives_the_same_bits_searched_or_not(case, shuffle):
    sizes, bs = CASES[case]
    X, y = _data(sizes, "float32")
    runs = []
    for checked in (True, False):
        net, opt = _trained(sizes, "float32", X, y)
        lab = y.astype(np.int64)
        Y = np.empty((0, sizes[-1]), dtype=np.float32)
        hist = _training.run(net, X, lab, Y, 2, bs, opt, shuffle, searched=checked).history
        runs.append((net.params.copy(), hist.step_loss))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_callbacks_and_validation_see_nothing_of_a_refused_call():
    sizes, bs = CASES["split halves"]
    X, y = _data(sizes, "float32")
    net, opt = _trained(sizes, "float32", X, y)
    X[N - 1, 3] = np.nan
    seen = []
    stopper = fastnn.EarlyStopping(patience=1)
    kept = stopper._save()
    before = _state(net, opt)
    with pytest.raises(ValueError, match=f"row {N - 1}"):
        net.fit(
            X,
            y,
            epochs=3,
            batch_size=bs,
            optimizer=opt,
            callbacks=[lambda e, logs, m: seen.append(e), stopper],
            validation_data=(X[:100], y[:100]),
        )
    assert seen == []
    assert stopper._save() == kept
    _assert_same_state(_state(net, opt), before)


@pytest.mark.parametrize("where", ["training rows", "held-out rows"])
def test_validation_split_searches_both_parts(where):
    sizes, bs = CASES["small loops"]
    X, y = _data(sizes, "float64")
    net, opt = _trained(sizes, "float64", X, y)
    row = 100 if where == "training rows" else N - 5
    X[row, 2] = np.inf
    before = _state(net, opt)
    with pytest.raises(ValueError, match=f"row {row}"):
        net.fit(X, y, epochs=1, batch_size=bs, optimizer=opt, validation_split=0.1)
    _assert_same_state(_state(net, opt), before)


def test_no_epochs_still_refuses_bad_X():
    sizes, bs = CASES["small loops"]
    X, y = _data(sizes, "float64")
    net, opt = _trained(sizes, "float64", X, y)
    X[5, 0] = np.nan
    with pytest.raises(ValueError, match="row 5"):
        net.fit(X, y, epochs=0, batch_size=bs, optimizer=opt)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_regression_machine_loop_searches_its_rows(dtype):
    # one Dense(1, 1) under MSE, full batch, in order: the line's own loop
    rng = np.random.default_rng(1)
    x = rng.random((40, 1)).astype(dtype)
    t = 3 * x[:, 0] + 1
    net = make_net((1, 1), ["identity"], "mse", dtype=dtype)
    opt = fastnn.SGD(lr=0.1)
    net.fit(x, t, epochs=3, optimizer=opt, shuffle=False)
    params = net.params.copy()
    x[39, 0] = np.nan
    with pytest.raises(ValueError, match="row 39"):
        net.fit(x, t, epochs=5, optimizer=opt, shuffle=False)
    np.testing.assert_array_equal(net.params, params)


@pytest.mark.parametrize("kind", ["memmap", "images"])
def test_views_of_the_callers_array_are_searched_only_by_the_loop(kind, tmp_path, monkeypatch):
    # a memmap, or images flattened per row, need no conversion: no pass of
    # their own over X (a converted X is searched as it is converted)
    passes = []
    real = _validation.check_finite
    monkeypatch.setattr(_validation, "check_finite", lambda a, n: passes.append(n) or real(a, n))
    if kind == "memmap":
        sizes, bs = CASES["split halves"]
        X, y = _data(sizes, "float32")
        net, opt = _trained(sizes, "float32", X, y)
        mm = np.lib.format.open_memmap(
            tmp_path / "X.npy", mode="w+", dtype="float32", shape=X.shape
        )
        mm[...] = X
    else:
        make, shape, targets = SIBLINGS["images"]
        rng = np.random.default_rng(0)
        net, opt, bs = make(), fastnn.SGD(lr=0.01), 32
        mm = rng.random((N,) + shape).astype(net.dtype)
        y = targets(rng, N)
    passes.clear()
    net.fit(mm, y, epochs=1, batch_size=bs, optimizer=opt, shuffle=False)
    assert passes == []
    net.fit(mm.astype(np.float64), y, epochs=1, batch_size=bs, optimizer=opt, shuffle=False)
    assert passes == ["X"]  # converted: searched as it is converted
    mm.reshape(N, -1)[777, 10] = np.nan
    before = _state(net, opt)
    with pytest.raises(ValueError, match="row 777"):
        net.fit(mm, y, epochs=1, batch_size=bs, optimizer=opt, shuffle=False)
    _assert_same_state(_state(net, opt), before)


def _interrupted_after(steps, monkeypatch, status=None):
    """Make the loop stop with Ctrl-C (or with ``status``) after ``steps`` steps."""
    real = kernels.train

    def train(*args):
        args = list(args)
        args[20] = steps  # max_steps
        real(*args)
        if status is not None:
            args[18][_training._STATUS] = status
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(_training._kernels, "train", train)


def test_ctrl_c_before_the_bad_row_refuses_it(monkeypatch):
    sizes, bs = CASES["small loops"]
    X, y = _data(sizes, "float64")
    net, opt = _trained(sizes, "float64", X, y)
    X[800, 1] = np.nan
    before = _state(net, opt)
    _interrupted_after(3, monkeypatch)
    with pytest.raises(ValueError, match="row 800"):
        net.fit(X, y, epochs=1, batch_size=bs, optimizer=opt, shuffle=False)
    _assert_same_state(_state(net, opt), before)


def test_ctrl_c_on_finite_X_keeps_the_steps_taken(monkeypatch):
    sizes, bs = CASES["small loops"]
    X, y = _data(sizes, "float64")
    net, opt = _trained(sizes, "float64", X, y)
    params = net.params.copy()
    _interrupted_after(3, monkeypatch)
    hist = net.fit(X, y, epochs=1, batch_size=bs, optimizer=opt, shuffle=False)
    assert hist.interrupted
    assert len(hist.step_loss) == 3
    # no whole epoch: no epoch loss nor accuracy (not an error)
    assert hist.loss == [] and hist.accuracy == []
    assert opt.state_for(net).t == 5 + 3  # 50 rows at batch 10, then 3 steps
    assert not np.array_equal(net.params, params)


def test_a_value_that_is_gone_when_searched_again_is_still_refused(monkeypatch):
    # the loop saw a bad value that X no longer holds (changed while training)
    sizes, bs = CASES["small loops"]
    X, y = _data(sizes, "float64")
    net, opt = _trained(sizes, "float64", X, y)
    before = _state(net, opt)
    _interrupted_after(2, monkeypatch, status=kernels.NOT_FINITE)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.fit(X, y, epochs=1, batch_size=bs, optimizer=opt, shuffle=False)
    _assert_same_state(_state(net, opt), before)


def _image_net():
    layers = [
        fastnn.Conv2D(1, 4, kernel_size=3, padding=1, activation="relu"),
        fastnn.MaxPool2D(2),
        fastnn.Flatten(),
        fastnn.Dense(4 * 4 * 4, 3, activation="softmax"),
    ]
    return fastnn.Sequential(layers, loss="cross_entropy", seed=2)


def _dropout_net():
    layers = [
        fastnn.Dense(20, 32, activation="relu"),
        fastnn.Dropout(0.3),
        fastnn.Dense(32, 3, activation="softmax"),
    ]
    return fastnn.Sequential(layers, loss="cross_entropy", seed=2)


def _bce_net():
    return make_net((20, 16, 3), ["tanh", "sigmoid"], "binary_cross_entropy", seed=2)


# the sibling paths of the loop: images (convolution), dropout (never
# split, its own random stream), targets instead of labels
SIBLINGS = {
    "images": (_image_net, (1, 8, 8), lambda rng, n: rng.integers(0, 3, n)),
    "dropout": (_dropout_net, (20,), lambda rng, n: rng.integers(0, 3, n)),
    "binary targets": (_bce_net, (20,), lambda rng, n: rng.integers(0, 2, (n, 3))),
}


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("name", list(SIBLINGS))
def test_sibling_paths_refuse_a_bad_value_with_nothing_changed(name, shuffle):
    make, shape, targets = SIBLINGS[name]
    rng = np.random.default_rng(4)
    net = make()
    X = rng.random((300,) + shape).astype(net.dtype)  # as it is: not converted (and searched) first
    y = targets(rng, 300)
    opt = fastnn.Adam(lr=0.01)
    net.fit(X[:40], y[:40], epochs=1, batch_size=16, optimizer=opt)
    good = X.reshape(300, -1)[213, 5]
    X.reshape(300, -1)[213, 5] = np.nan
    before = _state(net, opt)
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at row 213\)"):
        net.fit(X, y, epochs=2, batch_size=32, optimizer=opt, shuffle=shuffle)
    _assert_same_state(_state(net, opt), before)
    X.reshape(300, -1)[213, 5] = good
    hist = net.fit(X, y, epochs=2, batch_size=32, optimizer=opt, shuffle=shuffle)
    assert len(hist.loss) == 2 and np.isfinite(net.params).all()


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("first", ["a huge row", "a high rate"])
def test_a_loss_that_diverges_before_the_bad_row_still_names_the_row(first, shuffle):
    # the loop stops at a non-finite loss before it reads the bad row: X is
    # searched then, and the bad value is what the call reports
    rng = np.random.default_rng(7)
    X = rng.standard_normal((N, 20)).astype(np.float32)
    y = rng.integers(0, 4, N)
    lr = 1e6 if first == "a high rate" else 0.1
    if first == "a huge row":
        X[N // 2 :] = 3e38  # finite in float32
    net = make_net((20, 16, 4), ["relu", "softmax"], "cross_entropy", dtype="float32", seed=3)
    opt = fastnn.SGD(lr=lr)
    before = _state(net, opt)
    with pytest.raises(fastnn.TrainingDiverged) as diverged:  # X finite: it diverges
        net.fit(X, y, epochs=2, batch_size=10, optimizer=opt, shuffle=shuffle)
    assert diverged.value.step < N // 10  # within the first epoch
    _assert_same_state(_state(net, opt), before)
    X[N - 1, 3] = np.nan
    with pytest.raises(ValueError, match=f"first at row {N - 1}"):
        net.fit(X, y, epochs=2, batch_size=10, optimizer=opt, shuffle=shuffle)
    _assert_same_state(_state(net, opt), before)


class _Recorder(fastnn.Callback):
    def __init__(self):
        self.seen = []

    def on_train_begin(self, net):
        self.seen.append("begin")

    def on_epoch_end(self, epoch, logs, net):
        self.seen.append(epoch)


PER_EPOCH = {
    "callback": lambda X, y: {"callbacks": [_Recorder()]},
    "function": lambda X, y: {"callbacks": [lambda e, logs, m: None]},
    "EarlyStopping": lambda X, y: {"callbacks": [fastnn.EarlyStopping()]},
    "validation data": lambda X, y: {"validation_data": (np.zeros_like(X[:5]), y[:5])},
    "verbose": lambda X, y: {"verbose": True},
}


@pytest.mark.parametrize("epochs", [0, 2])
@pytest.mark.parametrize("option", list(PER_EPOCH))
def test_epochs_one_at_a_time_refuse_bad_X_before_any_callback(option, epochs):
    # callbacks, validation or a progress bar: X is searched before the first
    # epoch, so no callback hears of a call that fails, and none with no epochs
    sizes, bs = CASES["small loops"]
    X, y = _data(sizes, "float32")
    net, opt = _trained(sizes, "float32", X, y)
    X[N - 1, 3] = np.inf
    kwargs = PER_EPOCH[option](X, y)
    before = _state(net, opt)
    with pytest.raises(ValueError, match=f"first at row {N - 1}"):
        net.fit(X, y, epochs=epochs, batch_size=bs, optimizer=opt, **kwargs)
    _assert_same_state(_state(net, opt), before)
    for cb in kwargs.get("callbacks", []):
        if isinstance(cb, _Recorder):
            assert cb.seen == []


def test_validation_data_is_named_as_such():
    sizes, bs = CASES["small loops"]
    X, y = _data(sizes, "float32")
    net, opt = _trained(sizes, "float32", X, y)
    X_val = X[:10].copy()
    X_val[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"X_val contains NaN or infinity \(first at row 2\)"):
        net.fit(X, y, epochs=1, batch_size=bs, optimizer=opt, validation_data=(X_val, y[:10]))
    with pytest.raises(ValueError, match="X_val has 3 features, but the network's first layer"):
        net.fit(X, y, epochs=1, batch_size=bs, validation_data=(X[:10, :3], y[:10]))


@pytest.mark.parametrize(
    "loss, out, targets",
    [
        ("cross_entropy", "softmax", lambda rng: rng.integers(0, 4, N)),
        ("binary_cross_entropy", "sigmoid", lambda rng: rng.integers(0, 2, (N, 4))),
        ("mse", "identity", lambda rng: rng.normal(size=(N, 4))),
    ],
)
def test_ctrl_c_in_the_first_epoch_returns_the_steps_for_every_loss(
    loss, out, targets, monkeypatch
):
    # no whole epoch ran: no epoch loss, no accuracy, and no error reading them
    rng = np.random.default_rng(2)
    X = rng.random((N, 20)).astype(np.float32)
    net = make_net((20, 16, 4), ["relu", out], loss, dtype="float32", seed=1)
    _interrupted_after(3, monkeypatch)
    hist = net.fit(X, targets(rng), epochs=2, batch_size=10, optimizer=fastnn.SGD(lr=0.01))
    assert hist.interrupted and len(hist.step_loss) == 3
    assert hist.loss == [] and hist.accuracy == []
