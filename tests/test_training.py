"""Training as practitioners run it: validation, progress, Ctrl-C, checkpoints,
memory-mapped data (schedules: test_schedules.py; callbacks: test_callbacks.py)."""

import _thread
import signal
import threading
import time
import tracemalloc

import numpy as np
import pytest

import fastnn
from conftest import make_net, net3


# ------------------------------------------------------------ validation
def test_validation_data_and_split(data):
    X, y = data
    net = net3()
    hist = net.fit(
        X[:40], y[:40], epochs=3, validation_data=(X[40:], y[40:]), optimizer=fastnn.SGD(lr=0.1)
    )
    assert len(hist.val_loss) == 3 and len(hist.val_accuracy) == 3
    assert hist.val_loss[-1] == pytest.approx(net.evaluate(X[40:], y[40:]))
    acc = np.mean(net.predict(X[40:]).argmax(1) == y[40:])
    assert hist.val_accuracy[-1] == acc
    a, b = net3(), net3()
    ha = a.fit(X, y, epochs=2, validation_split=0.25, optimizer=fastnn.SGD(lr=0.1))
    hb = b.fit(
        X[:45], y[:45], epochs=2, validation_data=(X[45:], y[45:]), optimizer=fastnn.SGD(lr=0.1)
    )
    assert ha.val_loss == hb.val_loss
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(validation_split=1.0), "validation_split must be < 1"),
        (dict(validation_split=0.001), "leaves no rows"),
        (dict(validation_data=([[1, 2]], [0])), "has 2 features"),
        (dict(validation_data=(np.zeros((3, 5)),)), "must be a pair"),
        (dict(validation_split=0.2, validation_data=(np.zeros((3, 5)), [0, 1, 2])), "not both"),
        (dict(callbacks=[3]), "a callback must be"),
    ],
)
def test_bad_validation_arguments(data, kwargs, match):
    X, y = data
    net = net3()
    before = net.params.copy()
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(X, y, epochs=2, **kwargs)
    np.testing.assert_array_equal(net.params, before)


# ------------------------------------------------------------ progress
def test_verbose_shows_a_progress_bar_and_quiet_shows_nothing(data, capsys):
    X, y = data
    net3().fit(X, y, epochs=3, optimizer=fastnn.SGD(lr=0.1))
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    net3().fit(X, y, epochs=3, optimizer=fastnn.SGD(lr=0.1), verbose=True, validation_split=0.2)
    shown = capsys.readouterr()
    text = shown.err + shown.out
    assert "3/3" in text and "loss" in text and "val_loss" in text


# ------------------------------------------------------------ Ctrl-C
@pytest.fixture
def ctrl_c_delivered():
    """Python's own SIGINT handler for the test's length: a process started
    with SIGINT ignored (a background job of a shell without job control)
    keeps it ignored, and then ``_thread.interrupt_main`` does nothing."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_ctrl_c_stops_between_steps_and_keeps_a_consistent_model(rng, ctrl_c_delivered):
    X = rng.normal(size=(2000, 20))
    y = rng.integers(0, 4, size=2000)
    net = make_net((20, 64, 4), ["relu", "softmax"], "cross_entropy", dtype="float64")
    opt = fastnn.SGD(lr=0.01, momentum=0.9)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    start = time.perf_counter()
    try:
        hist = net.fit(X, y, epochs=100000, batch_size=1, optimizer=opt)
    finally:
        timer.cancel()
    assert time.perf_counter() - start < 20
    assert hist.interrupted
    steps = len(hist.step_loss)
    assert 0 < steps < 100000 * 2000
    assert opt.state_for(net).t == steps
    assert np.isfinite(net.params).all()
    # the model is usable and training continues from where it stopped
    assert net.predict(X[:3]).shape == (3, 4)
    assert len(net.fit(X, y, epochs=1, batch_size=100, optimizer=opt).step_loss) == 20


# ------------------------------------------------------------ checkpoints
@pytest.mark.parametrize(
    "make_opt",
    [
        lambda: fastnn.SGD(lr=0.1, momentum=0.9, nesterov=True, schedule=fastnn.StepDecay(1, 0.5)),
        lambda: fastnn.Adam(lr=0.01, schedule=fastnn.ReduceOnPlateau(patience=0, factor=0.5)),
        lambda: fastnn.AdaGrad(lr=0.05, initial_accumulator_value=0.1),
        lambda: fastnn.RMSprop(lr=0.01, momentum=0.9, centered=True),
        lambda: fastnn.Rprop(lr=0.01, schedule=fastnn.ExponentialDecay(0.9)),
    ],
)
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, data, make_opt):
    X, y = data
    straight = net3(seed=3)
    hs = straight.fit(X, y, epochs=4, batch_size=7, optimizer=make_opt())
    first = net3(seed=3)
    opt = make_opt()
    h1 = first.fit(X, y, epochs=2, batch_size=7, optimizer=opt)
    first.save(tmp_path / "ckpt.npz", optimizer=opt)
    resumed, opt2 = fastnn.load_checkpoint(tmp_path / "ckpt.npz")
    assert type(opt2) is type(opt) and opt2.state_for(resumed).t == opt.state_for(first).t
    h2 = resumed.fit(X, y, epochs=2, batch_size=7, optimizer=opt2)
    np.testing.assert_array_equal(resumed.params, straight.params)
    assert h1.step_loss + h2.step_loss == hs.step_loss
    assert h1.lr + h2.lr == hs.lr


def test_checkpoint_errors(tmp_path, data):
    X, y = data
    net = net3()
    net.save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="no optimizer"):
        fastnn.load_checkpoint(tmp_path / "plain.npz")
    opt = fastnn.SGD(lr=0.1, momentum=0.9)
    net.fit(X, y, optimizer=opt)
    net.save(tmp_path / "ck.npz", optimizer=opt)
    with np.load(tmp_path / "ck.npz") as f:
        arrays = dict(f)
    arrays["optimizer_state"] = arrays["optimizer_state"][:-1]
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(ValueError, match="optimizer state has dtype"):
        fastnn.load_checkpoint(tmp_path / "short.npz")
    arrays["optimizer"] = np.array('{"type": "os.system", "settings": {}}')
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(ValueError, match="bad optimizer description"):
        fastnn.load_checkpoint(tmp_path / "evil.npz")
    # a checkpoint is also a plain model file
    assert fastnn.load(tmp_path / "ck.npz").n_params == net.n_params
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single array"):
        fastnn.load(tmp_path / "single.npy")


# ------------------------------------------------------------ memory-mapped data
def test_fit_trains_from_a_memmap_without_copying_it(tmp_path, rng):
    n, d = 20000, 100
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, d))
    X[:] = rng.normal(size=(n, d)).astype(np.float32)
    X.flush()
    y = rng.integers(0, 10, size=n)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    net = make_net((d, 16, 10), ["relu", "softmax"], "cross_entropy", dtype="float32")
    twin = make_net((d, 16, 10), ["relu", "softmax"], "cross_entropy", dtype="float32")
    tracemalloc.start()
    hist = net.fit(Xm, y, epochs=1, batch_size=64, optimizer=fastnn.SGD(lr=0.05))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < Xm.nbytes / 4  # 8 MB of data; a copy would show up here
    twin.fit(np.array(Xm), y, epochs=1, batch_size=64, optimizer=fastnn.SGD(lr=0.05))
    np.testing.assert_array_equal(net.params, twin.params)
    assert len(hist.step_loss) == -(-n // 64)
