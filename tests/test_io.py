"""Saving and loading networks: bit-exact round trips, refusal of bad files."""

import io
import json
import zipfile

import numpy as np
import pytest
from conftest import make_net

import fastnn


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("acts, loss", [(["relu", "softmax"], "cross_entropy"),
                                        (["tanh", "sigmoid"], "binary_cross_entropy"),
                                        (["sigmoid", "identity"], "mse")])
def test_round_trip_predicts_bit_for_bit(tmp_path, rng, dtype, acts, loss):
    net = make_net((5, 7, 3), acts, loss, dtype=dtype, seed=3)
    X = rng.normal(size=(40, 5))
    y = rng.integers(0, 2, size=(40, 3)) if loss != "cross_entropy" else rng.integers(0, 3, 40)
    net.fit(X, y, epochs=3, batch_size=8, optimizer=fastnn.SGD(lr=0.1))
    path = tmp_path / "model.npz"
    net.save(path)
    back = fastnn.load(path)
    assert back.dtype == net.dtype and back.loss == net.loss
    assert [repr(a) for a in back.layers] == [repr(a) for a in net.layers]
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    # the shuffling stream travels too: the next epoch is the same
    h1 = net.fit(X, y, epochs=1, batch_size=8, optimizer=fastnn.SGD(lr=0.1))
    h2 = back.fit(X, y, epochs=1, batch_size=8, optimizer=fastnn.SGD(lr=0.1))
    assert h1.step_loss == h2.step_loss


def test_load_accepts_str_paths_and_file_layout(tmp_path):
    net = make_net((2, 2), ["identity"], "mse")
    path = str(tmp_path / "m.npz")
    net.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"format", "version", "config", "params", "rng_state"}
        config = json.loads(str(data["config"]))
    assert config["layers"] == [{"type": "Dense", "n_in": 2, "n_out": 2,
                                 "activation": "identity"}]
    assert fastnn.load(path).n_params == 6


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _valid_arrays():
    net = make_net((2, 3), ["softmax"], "cross_entropy")
    return dict(format=np.array("fastnn-model"), version=np.array(1),
                config=np.array(json.dumps(net.config())), params=net.params.copy())


@pytest.mark.parametrize("change, match", [
    (lambda a: a.update(version=np.array(99)), "version 99 is not supported"),
    (lambda a: a.pop("params"), "'params' is missing"),
    (lambda a: a.update(format=np.array("something-else")), "format tag"),
    (lambda a: a.update(config=np.array("{not json")), "bad network description"),
    (lambda a: a.update(config=np.array(json.dumps({"layers": [{"type": "Evil"}],
                                                     "loss": "mse", "dtype": "float64"}))),
     "bad network description"),
    (lambda a: a.update(params=a["params"][:-1]), "expected float64"),
    (lambda a: a.update(params=a["params"].astype(np.float32)), "dtype float32"),
    (lambda a: a.update(params=np.full_like(a["params"], np.nan)), "NaN"),
])
def test_bad_contents_are_refused(tmp_path, change, match):
    arrays = _valid_arrays()
    change(arrays)
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        fastnn.load(path)


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    arrays = _valid_arrays()
    arrays["params"] = np.array([{"__reduce__": "boom"}, 1], dtype=object)
    path = _write(tmp_path / "obj.npz", **arrays)
    with pytest.raises(ValueError, match="not a readable fastnn model file.*allow_pickle"):
        fastnn.load(path)


def test_truncated_and_garbage_files_are_refused(tmp_path):
    net = make_net((2, 3), ["softmax"], "cross_entropy")
    good = tmp_path / "good.npz"
    net.save(good)
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load(truncated)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load(garbage)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load(empty)
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "missing.npz")


def test_a_zip_with_a_corrupt_member_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("params.npy", b"\x93NUMPY not really")
        zf.writestr("format.npy", b"junk")
    path = tmp_path / "corrupt.npz"
    path.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match="not a readable fastnn model file"):
        fastnn.load(path)


def test_pickle_and_deepcopy_keep_the_model_and_its_optimizer(rng):
    import copy
    import pickle

    X = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, size=30)
    net = make_net((5, 7, 3), ["relu", "softmax"], "cross_entropy", dtype="float32", seed=2)
    opt = fastnn.Adam(lr=0.01)
    net.fit(X, y, epochs=2, batch_size=4, optimizer=opt)
    back_net, back_opt = pickle.loads(pickle.dumps((net, opt)))
    clone_net, clone_opt = copy.deepcopy((net, opt))
    for other, other_opt in ((back_net, back_opt), (clone_net, clone_opt)):
        np.testing.assert_array_equal(other.predict(X), net.predict(X))
        assert np.shares_memory(other.layers[0].W, other.params)
        assert other_opt.state_for(other).t == opt.state_for(net).t
    h1 = net.fit(X, y, epochs=1, batch_size=4, optimizer=opt)
    h2 = back_net.fit(X, y, epochs=1, batch_size=4, optimizer=back_opt)
    assert h1.step_loss == h2.step_loss
    np.testing.assert_array_equal(back_net.params, net.params)
