"""Training as practitioners run it: schedules, validation, early stopping,
callbacks, progress, Ctrl-C, checkpoints, memory-mapped data."""

import _thread
import math
import threading
import time
import tracemalloc

import numpy as np
import pytest
from conftest import make_net

import fastnn


@pytest.fixture
def data(rng):
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


def net3(seed=0, dtype="float64"):
    return make_net((5, 8, 3), ["relu", "softmax"], "cross_entropy", dtype=dtype, seed=seed)


# ------------------------------------------------------------ schedules
SCHEDULES = [
    (fastnn.Constant(), lambda lr, e: lr),
    (fastnn.StepDecay(step_size=3, gamma=0.5), lambda lr, e: lr * 0.5 ** (e // 3)),
    (fastnn.ExponentialDecay(gamma=0.9), lambda lr, e: lr * 0.9**e),
    (fastnn.CosineAnnealing(T_max=5, eta_min=0.01),
     lambda lr, e: 0.01 + (lr - 0.01) * (1 + math.cos(math.pi * e / 5)) / 2),
]


@pytest.mark.parametrize("schedule, formula", SCHEDULES)
def test_schedules_follow_their_formula(data, schedule, formula):
    X, y = data
    hist = net3().fit(X, y, epochs=8, batch_size=10,
                      optimizer=fastnn.SGD(lr=0.2, schedule=schedule))
    np.testing.assert_allclose(hist.lr, [formula(0.2, e) for e in range(8)], rtol=1e-15)


def test_schedule_changes_the_steps_taken(data):
    X, y = data
    a, b = net3(), net3()
    a.fit(X, y, epochs=4, optimizer=fastnn.SGD(lr=0.2, schedule=fastnn.StepDecay(2, 0.1)),
          shuffle=False)
    # the same by hand: two epochs at 0.2, two at 0.02, momentum-free
    b.fit(X, y, epochs=2, optimizer=fastnn.SGD(lr=0.2), shuffle=False)
    b.fit(X, y, epochs=2, optimizer=fastnn.SGD(lr=0.02), shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-14)


def test_reduce_on_plateau_cuts_the_rate_when_the_loss_stalls(data):
    X, y = data
    sched = fastnn.ReduceOnPlateau(factor=0.5, patience=1)
    opt = fastnn.SGD(lr=1e-12, schedule=sched)      # too small to improve: a plateau
    hist = net3().fit(X, y, epochs=7, optimizer=opt)
    assert hist.lr[0] == 1e-12
    assert hist.lr[-1] < hist.lr[0]
    assert all(b <= a for a, b in zip(hist.lr, hist.lr[1:]))


def test_schedules_match_torch(data):
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    cases = [
        (fastnn.StepDecay(3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
        (fastnn.ExponentialDecay(0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
        (fastnn.CosineAnnealing(5, 0.01),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 5, 0.01)),
    ]
    for schedule, make in cases:
        opt = torch.optim.SGD([param], lr=0.2)
        sched = make(opt)
        lrs = []
        for _ in range(8):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        ours = [schedule.lr(0.2, e, {}) for e in range(8)]
        np.testing.assert_allclose(ours, lrs, rtol=1e-12)


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="step_size must be >= 1"):
        fastnn.StepDecay(step_size=0)
    with pytest.raises(ValueError, match="factor must be < 1"):
        fastnn.ReduceOnPlateau(factor=1.0)
    with pytest.raises(TypeError, match="schedule must be a fastnn schedule"):
        fastnn.SGD(lr=0.1, schedule="cosine")


# ------------------------------------------------------------ validation
def test_validation_data_and_split(data):
    X, y = data
    net = net3()
    hist = net.fit(X[:40], y[:40], epochs=3, validation_data=(X[40:], y[40:]),
                   optimizer=fastnn.SGD(lr=0.1))
    assert len(hist.val_loss) == 3 and len(hist.val_accuracy) == 3
    assert hist.val_loss[-1] == pytest.approx(net.evaluate(X[40:], y[40:]))
    acc = np.mean(net.predict(X[40:]).argmax(1) == y[40:])
    assert hist.val_accuracy[-1] == acc
    a, b = net3(), net3()
    ha = a.fit(X, y, epochs=2, validation_split=0.25, optimizer=fastnn.SGD(lr=0.1))
    hb = b.fit(X[:45], y[:45], epochs=2, validation_data=(X[45:], y[45:]),
               optimizer=fastnn.SGD(lr=0.1))
    assert ha.val_loss == hb.val_loss
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("kwargs, match", [
    (dict(validation_split=1.0), "validation_split must be < 1"),
    (dict(validation_split=0.001), "leaves no rows"),
    (dict(validation_data=([[1, 2]], [0])), "has 2 features"),
    (dict(validation_data=(np.zeros((3, 5)),)), "must be a pair"),
    (dict(validation_split=0.2, validation_data=(np.zeros((3, 5)), [0, 1, 2])), "not both"),
    (dict(callbacks=[3]), "a callback must be"),
])
def test_bad_validation_arguments(data, kwargs, match):
    X, y = data
    net = net3()
    before = net.params.copy()
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(X, y, epochs=2, **kwargs)
    np.testing.assert_array_equal(net.params, before)


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


def test_early_stopping_restores_the_best_epoch(data):
    X, y = data
    Xv, yv = X[40:], y[40:]
    stopper = fastnn.EarlyStopping(patience=2)
    net = net3()
    snapshots = []

    def keep(epoch, logs, net):
        snapshots.append(net.params.copy())

    # a learning rate high enough that the validation loss goes up again
    hist = net.fit(X[:40], y[:40], epochs=200, batch_size=4, validation_data=(Xv, yv),
                   callbacks=[keep, stopper], optimizer=fastnn.SGD(lr=0.5, momentum=0.9))
    assert hist.stopped_early
    best = int(np.argmin(hist.val_loss))
    assert stopper.best_epoch == best
    assert hist.epochs == best + 1 + 3          # patience 2: the third bad epoch stops
    np.testing.assert_array_equal(net.params, snapshots[best])
    assert net.evaluate(Xv, yv) == pytest.approx(min(hist.val_loss))


# ------------------------------------------------------------ progress
def test_verbose_shows_a_progress_bar_and_quiet_shows_nothing(data, capsys):
    X, y = data
    net3().fit(X, y, epochs=3, optimizer=fastnn.SGD(lr=0.1))
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    net3().fit(X, y, epochs=3, optimizer=fastnn.SGD(lr=0.1), verbose=True,
               validation_split=0.2)
    shown = capsys.readouterr()
    text = shown.err + shown.out
    assert "3/3" in text and "loss" in text and "val_loss" in text


# ------------------------------------------------------------ Ctrl-C
def test_ctrl_c_stops_between_steps_and_keeps_a_consistent_model(rng):
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
@pytest.mark.parametrize("make_opt", [
    lambda: fastnn.SGD(lr=0.1, momentum=0.9, nesterov=True,
                       schedule=fastnn.StepDecay(1, 0.5)),
    lambda: fastnn.Adam(lr=0.01, schedule=fastnn.ReduceOnPlateau(patience=0, factor=0.5)),
    lambda: fastnn.AdaGrad(lr=0.05, initial_accumulator_value=0.1),
    lambda: fastnn.RMSprop(lr=0.01, momentum=0.9, centered=True),
    lambda: fastnn.Rprop(lr=0.01, schedule=fastnn.ExponentialDecay(0.9)),
])
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
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32,
                                  shape=(n, d))
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
    assert peak < Xm.nbytes / 4          # 8 MB of data; a copy would show up here
    twin.fit(np.array(Xm), y, epochs=1, batch_size=64, optimizer=fastnn.SGD(lr=0.05))
    np.testing.assert_array_equal(net.params, twin.params)
    assert len(hist.step_loss) == -(-n // 64)
