"""MLPClassifier.partial_fit's short way (estimators/_stream.py) must be the
full way to the bit: the same weights, optimizer state and records after a
stream of chunks, the same errors for every input it does not take, and a
failed call that changes nothing."""

import pickle

import numpy as np
import pytest

import fastnn
from fastnn.estimators import _base, _stream
from fastnn.exceptions import TrainingDiverged


@pytest.fixture
def stream_data(rng):
    X = rng.normal(size=(400, 12))
    y = rng.integers(0, 4, 400) * 10  # labels 0, 10, 20, 30
    return X, y


RECORDS = ("loss_", "loss_curve_", "best_loss_", "n_iter_", "t_", "_no_improvement_count")


def same_state(a, b):
    np.testing.assert_array_equal(a.net_.params, b.net_.params)
    for name in RECORDS:
        assert getattr(a, name) == getattr(b, name), name
    sa = a._optimizer._state_for(a.net_)
    sb = b._optimizer._state_for(b.net_)
    assert sa.t == sb.t
    np.testing.assert_array_equal(sa.buffer, sb.buffer)


class Counter:
    def __init__(self, monkeypatch):
        self.short = self.full = 0
        step, fit = _stream.OneStepStream.step, _base.BaseMLP._fit

        def counted_step(stream, est, X, y):
            took = step(stream, est, X, y)
            self.short += took
            return took

        def counted_fit(est, *args, **kwargs):
            self.full += 1
            return fit(est, *args, **kwargs)

        monkeypatch.setattr(_stream.OneStepStream, "step", counted_step)
        monkeypatch.setattr(_base.BaseMLP, "_fit", counted_fit)


def full_way(monkeypatch):
    monkeypatch.setattr(_stream.OneStepStream, "make", classmethod(lambda cls, est: None))


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
        dict(solver="sgd", momentum=0.0, alpha=1e-2),
        dict(solver="adam", dtype="float64"),
        dict(solver="adam", learning_rate="invscaling", batch_size=3),
    ],
)
def test_the_short_way_is_the_full_way(params, stream_data, monkeypatch):
    X, y = stream_data
    classes = np.unique(y)

    def stream(est):
        est.partial_fit(X[:1], y[:1], classes=classes)
        for i in range(1, 300):
            est.partial_fit(X[i : i + 1], y[i : i + 1])
        for i in range(300, 400, 2):  # two-row chunks: one step while batch_size allows
            est.partial_fit(X[i : i + 2], y[i : i + 2])
        return est

    with monkeypatch.context() as m:
        count = Counter(m)
        short = stream(fastnn.MLPClassifier((16,), random_state=0, shuffle=False, **params))
        assert count.short >= 299 and count.full <= 51  # the short way was taken
    with monkeypatch.context() as m:
        full_way(m)
        count = Counter(m)
        full = stream(fastnn.MLPClassifier((16,), random_state=0, shuffle=False, **params))
        assert count.short == 0 and count.full == 350
    same_state(short, full)
    np.testing.assert_array_equal(short.predict_proba(X), full.predict_proba(X))


def test_inputs_the_short_way_does_not_take_go_the_full_way(stream_data, monkeypatch):
    X, y = stream_data
    est = fastnn.MLPClassifier((8,), random_state=0).partial_fit(
        X[:1], y[:1], classes=[0, 10, 20, 30]
    )
    count = Counter(monkeypatch)
    est.partial_fit(X[1:2].tolist(), y[1:2])  # a list
    est.partial_fit(X[2:3], y[2:3].tolist())
    est.partial_fit(X[3:4].astype(np.int64), y[3:4])  # not floats
    est.partial_fit(X[4:6], y[4:6])  # shuffle=True: more than one row
    est.partial_fit(X[6:7], y[6:7].astype(np.float64))  # another label dtype
    est.partial_fit(X[7:8], y[7:8], classes=[0, 10, 20, 30])
    assert count.short == 0 and count.full == 6
    assert X[8:10].T.copy().T[:1].flags.c_contiguous is False
    est.partial_fit(X[8:10].T.copy().T[:1], y[8:9])  # not C-contiguous
    assert count.short == 0 and count.full == 7
    est.partial_fit(X[9:10], y[9:10])  # float64 rounded to the model's float32
    assert count.short == 1


@pytest.mark.parametrize(
    "bad_X, bad_y, error, match",
    [
        (np.full((1, 12), np.nan), None, ValueError, "NaN"),
        (np.full((1, 12), np.inf), None, ValueError, "infinity"),
        (np.full((1, 12), 1e300), None, ValueError, "infinity|too large|float32"),
        (np.zeros((1, 11)), None, ValueError, "12 features"),
        (None, np.array([5]), ValueError, "5"),
    ],
)
def test_a_refused_chunk_raises_the_full_ways_error_and_changes_nothing(
    stream_data, bad_X, bad_y, error, match, monkeypatch
):
    X, y = stream_data
    classes = [0, 10, 20, 30]
    est = fastnn.MLPClassifier((8,), random_state=0).partial_fit(X[:1], y[:1], classes=classes)
    est.partial_fit(X[1:2], y[1:2])
    before = pickle.loads(pickle.dumps(est))
    bad_X = X[2:3] if bad_X is None else bad_X
    bad_y = y[2:3] if bad_y is None else bad_y
    with pytest.raises(error, match=match) as short:
        est.partial_fit(bad_X, bad_y)
    same_state(est, before)
    full_way(monkeypatch)
    with pytest.raises(error) as full:
        before.partial_fit(bad_X, bad_y)
    assert str(short.value) == str(full.value)


def test_divergence_on_the_short_way_changes_nothing(stream_data):
    X, y = stream_data
    est = fastnn.MLPClassifier((8,), solver="sgd", learning_rate_init=1e30, random_state=0)
    est.partial_fit(X[:1] * 1e-30, y[:1], classes=[0, 10, 20, 30])
    assert est.__dict__.get("_stream") is not None
    before = pickle.loads(pickle.dumps(est))
    with pytest.raises(TrainingDiverged, match="step 1 of this call"):
        for i in range(1, 50):
            est.partial_fit(X[i : i + 1] * 1e20, y[i : i + 1])
            before = pickle.loads(pickle.dumps(est))
    same_state(est, before)


def test_a_setting_changed_between_calls_takes_effect(stream_data, monkeypatch):
    X, y = stream_data
    classes = [0, 10, 20, 30]

    def run(est):
        est.partial_fit(X[:1], y[:1], classes=classes)
        est.partial_fit(X[1:2], y[1:2])
        est.set_params(learning_rate_init=0.5)
        est.partial_fit(X[2:3], y[2:3])
        est.alpha = 0.3
        est.partial_fit(X[3:4], y[3:4])
        est.partial_fit(X[4:5], y[4:5])
        return est

    short = run(fastnn.MLPClassifier((8,), solver="sgd", random_state=0))
    full_way(monkeypatch)
    full = run(fastnn.MLPClassifier((8,), solver="sgd", random_state=0))
    same_state(short, full)


def test_pickled_midstream_the_stream_goes_on_alike(stream_data):
    X, y = stream_data
    est = fastnn.MLPClassifier((8,), random_state=0).partial_fit(
        X[:1], y[:1], classes=[0, 10, 20, 30]
    )
    est.partial_fit(X[1:2], y[1:2])
    copy = pickle.loads(pickle.dumps(est))
    assert "_stream" not in copy.__dict__
    for i in range(2, 20):
        est.partial_fit(X[i : i + 1], y[i : i + 1])
        copy.partial_fit(X[i : i + 1], y[i : i + 1])
    same_state(est, copy)


def test_only_a_multiclass_classifier_takes_the_short_way(stream_data):
    X, y = stream_data
    binary = fastnn.MLPClassifier((8,), random_state=0).partial_fit(
        X[:1], y[:1] > 10, classes=[False, True]
    )
    multilabel = fastnn.MLPClassifier((8,), random_state=0).partial_fit(
        X[:2], np.array([[0, 1], [1, 1]]), classes=[0, 1]
    )
    regressor = fastnn.MLPRegressor(hidden_layer_sizes=(8,), random_state=0).partial_fit(
        X[:1], y[:1] / 10.0
    )
    early = fastnn.MLPClassifier((8,), random_state=0, learning_rate="adaptive", solver="sgd")
    early.partial_fit(X[:1], y[:1], classes=[0, 10, 20, 30])
    for est in (binary, multilabel, regressor, early):
        assert est.__dict__.get("_stream") is None
    multiclass = fastnn.MLPClassifier((8,), random_state=0).partial_fit(
        X[:1], y[:1], classes=[0, 10, 20, 30]
    )
    assert multiclass.__dict__.get("_stream") is not None
