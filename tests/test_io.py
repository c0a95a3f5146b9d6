"""Saving and loading networks: bit-exact round trips, refusal of bad files."""

import copy
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import fastnn
from conftest import make_net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "acts, loss",
    [
        (["relu", "softmax"], "cross_entropy"),
        (["tanh", "sigmoid"], "binary_cross_entropy"),
        (["sigmoid", "identity"], "mse"),
    ],
)
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
    assert config["layers"] == [{"type": "Dense", "n_in": 2, "n_out": 2, "activation": "identity"}]
    assert fastnn.load(path).n_params == 6


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _valid_arrays():
    net = make_net((2, 3), ["softmax"], "cross_entropy")
    return dict(
        format=np.array("fastnn-model"),
        version=np.array(1),
        config=np.array(json.dumps(net.config())),
        params=net.params.copy(),
    )


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a.update(version=np.array(99)), "version 99 is not supported"),
        (lambda a: a.pop("params"), "'params' is missing"),
        (lambda a: a.update(format=np.array("something-else")), "format tag"),
        (lambda a: a.update(config=np.array("{not json")), "bad network description"),
        (
            lambda a: a.update(
                config=np.array(
                    json.dumps({"layers": [{"type": "Evil"}], "loss": "mse", "dtype": "float64"})
                )
            ),
            "bad network description",
        ),
        (lambda a: a.update(params=a["params"][:-1]), "expected float64"),
        (lambda a: a.update(params=a["params"].astype(np.float32)), "dtype float32"),
        (lambda a: a.update(params=np.full_like(a["params"], np.nan)), "NaN"),
    ],
)
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


# ------------------------------------------------ names, paths and file objects
def _trained(dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(24, 4))
    y = rng.integers(0, 3, size=24)
    net = make_net((4, 5, 3), ["tanh", "softmax"], "cross_entropy", dtype=dtype, seed=seed)
    opt = fastnn.Adam(lr=0.01)
    net.fit(X, y, epochs=2, batch_size=5, optimizer=opt)
    return net, opt, X, y


def _check_reader(read, net, opt, X, y, with_optimizer):
    """What read() returns is ``net`` bit for bit; a checkpoint also resumes exactly."""
    back = read(fastnn.load)
    assert back.dtype == net.dtype
    np.testing.assert_array_equal(back.params, net.params)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    if not with_optimizer:
        with pytest.raises(ValueError, match="no optimizer.*fastnn.load"):
            read(fastnn.load_checkpoint)
        return
    back, back_opt = read(fastnn.load_checkpoint)
    net, opt = copy.deepcopy((net, opt))
    h1 = net.fit(X, y, epochs=2, batch_size=5, optimizer=opt)
    h2 = back.fit(X, y, epochs=2, batch_size=5, optimizer=back_opt)
    assert h1.step_loss == h2.step_loss
    np.testing.assert_array_equal(back.params, net.params)


# what save is given -> the file it writes; load takes that argument, and the name
# with and without .npz, as str and as Path
_NAMES = {
    "str": (lambda d: str(d / "model"), "model.npz"),
    "str .npz": (lambda d: str(d / "model.npz"), "model.npz"),
    "Path": (lambda d: d / "model", "model.npz"),
    "Path .npz": (lambda d: d / "model.npz", "model.npz"),
    "bytes": (lambda d: os.fsencode(d / "model"), "model.npz"),
    "str .bin": (lambda d: str(d / "model.bin"), "model.bin.npz"),
    "Path .bin": (lambda d: d / "model.bin", "model.bin.npz"),
    "dotted": (lambda d: d / "run.lr0.1", "run.lr0.1.npz"),
}


@pytest.mark.parametrize("with_optimizer", [False, True], ids=["model", "checkpoint"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", list(_NAMES))
def test_load_reads_the_name_save_was_given(tmp_path, kind, dtype, with_optimizer):
    make_name, written = _NAMES[kind]
    net, opt, X, y = _trained(dtype)
    given = make_name(tmp_path)
    net.save(given, optimizer=opt if with_optimizer else None)
    assert os.listdir(tmp_path) == [written]  # that file, no temporary left
    stem = written[: -len(".npz")]
    for name in (
        given,
        str(tmp_path / written),
        tmp_path / written,
        str(tmp_path / stem),
        tmp_path / stem,
    ):
        _check_reader(lambda reader, name=name: reader(name), net, opt, X, y, with_optimizer)


def _save_to_bytesio(net, opt, d):
    buf = io.BytesIO()
    net.save(buf, optimizer=opt)
    data = buf.getvalue()
    assert buf.tell() == len(data) > 0

    def read(reader):
        rewound = io.BytesIO(data)
        result = reader(rewound)
        assert rewound.tell() == len(data)  # left at its end
        return result

    return read


def _save_to_open_file(net, opt, d, buffering=-1):
    with open(d / "model.data", "wb", buffering=buffering) as f:
        net.save(f, optimizer=opt)
    assert os.listdir(d) == ["model.data"]  # a file object's name is kept

    def read(reader):
        with open(d / "model.data", "rb", buffering=buffering) as f:
            result = reader(f)
            assert f.tell() == os.path.getsize(d / "model.data")
        # also by the name it has, though not one that save(name) writes
        for name in (str(d / "model.data"), d / "model.data"):
            other = reader(name)
            other = other[0] if isinstance(other, tuple) else other
            np.testing.assert_array_equal(other.params, net.params)
        return result

    return read


def _save_after_a_header(net, opt, d):
    buf = io.BytesIO()
    buf.write(b"header")
    net.save(buf, optimizer=opt)
    assert buf.getvalue().startswith(b"header")

    def read(reader):
        buf.seek(len(b"header"))
        return reader(buf)

    return read


class _Stream(io.RawIOBase):
    """A pipe-like stream: not seekable, taking at most 100 bytes per write."""

    def __init__(self, data=b""):
        self.data, self.pos = bytearray(data), 0

    def readable(self):
        return True

    def writable(self):
        return True

    def readinto(self, b):
        n = min(len(b), len(self.data) - self.pos)
        b[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n

    def write(self, b):
        chunk = bytes(b[:100])
        self.data += chunk
        return len(chunk)


def _save_to_a_stream(net, opt, d):
    stream = _Stream()
    net.save(stream, optimizer=opt)
    return lambda reader: reader(_Stream(stream.data))


_FILE_OBJECTS = {
    "BytesIO": _save_to_bytesio,
    "open file": _save_to_open_file,
    "unbuffered file": lambda net, opt, d: _save_to_open_file(net, opt, d, buffering=0),
    "after a header": _save_after_a_header,
    "unseekable stream": _save_to_a_stream,
}


@pytest.mark.parametrize("with_optimizer", [False, True], ids=["model", "checkpoint"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", list(_FILE_OBJECTS))
def test_file_objects_round_trip(tmp_path, kind, dtype, with_optimizer):
    net, opt, X, y = _trained(dtype)
    read = _FILE_OBJECTS[kind](net, opt if with_optimizer else None, tmp_path)
    _check_reader(read, net, opt, X, y, with_optimizer)


def test_a_file_object_and_a_name_hold_the_same_bytes(tmp_path):
    net, opt, _, _ = _trained("float64")
    buf = io.BytesIO()
    net.save(buf, optimizer=opt)
    net.save(tmp_path / "m", optimizer=opt)
    assert (tmp_path / "m.npz").read_bytes() == buf.getvalue()


def test_the_name_save_writes_comes_before_a_file_named_as_given(tmp_path):
    net, _, X, _ = _trained("float64")
    (tmp_path / "model").write_bytes(b"something else")
    net.save(tmp_path / "model")
    assert (tmp_path / "model").read_bytes() == b"something else"
    np.testing.assert_array_equal(fastnn.load(tmp_path / "model").predict(X), net.predict(X))


def test_save_overwrites_keeping_permissions_and_symlinks(tmp_path):
    first, _, X, _ = _trained("float64", seed=1)
    second, _, _, _ = _trained("float64", seed=2)
    real = tmp_path / "real.npz"
    first.save(real)
    os.chmod(real, 0o640)
    link = tmp_path / "link.npz"
    try:
        link.symlink_to(real)
    except (OSError, NotImplementedError):
        pytest.skip("no symbolic links here")
    second.save(tmp_path / "link")
    assert link.is_symlink() and sorted(os.listdir(tmp_path)) == ["link.npz", "real.npz"]
    if os.name == "posix":
        assert os.stat(real).st_mode & 0o777 == 0o640
    np.testing.assert_array_equal(fastnn.load(real).predict(X), second.predict(X))


# ------------------------------------------------ the estimators: pickle and joblib
def _pickle_to_file(est, d):
    with open(d / "est.pkl", "wb") as f:
        pickle.dump(est, f)
    with open(d / "est.pkl", "rb") as f:
        return pickle.load(f)


def _pickle_to_bytesio(est, d):
    buf = io.BytesIO()
    pickle.dump(est, buf)
    buf.seek(0)
    return pickle.load(buf)


def _joblib(how):
    def dump_load(est, d):
        joblib = pytest.importorskip("joblib")
        path = d / "est.joblib"
        if how == "str":
            joblib.dump(est, str(path))
            return joblib.load(str(path))
        if how == "Path":
            joblib.dump(est, path, compress=3)
            return joblib.load(path)
        if how == "mmap":
            joblib.dump(est, path)
            return joblib.load(path, mmap_mode="r")
        if how == "file object":
            with open(path, "wb") as f:
                joblib.dump(est, f)
            with open(path, "rb") as f:
                return joblib.load(f)
        buf = io.BytesIO()
        joblib.dump(est, buf)
        buf.seek(0)
        return joblib.load(buf)

    return dump_load


_ESTIMATOR_IO = {
    "pickle file": _pickle_to_file,
    "pickle BytesIO": _pickle_to_bytesio,
    **{f"joblib {how}": _joblib(how) for how in ("str", "Path", "mmap", "file object", "BytesIO")},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("Estimator", [fastnn.MLPClassifier, fastnn.MLPRegressor])
@pytest.mark.parametrize("how", list(_ESTIMATOR_IO))
def test_fitted_estimators_round_trip_through_files(tmp_path, how, Estimator, dtype):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 4))
    y = rng.integers(0, 3, size=60) if Estimator is fastnn.MLPClassifier else X[:, :2] @ [1, -2]
    est = Estimator(
        hidden_layer_sizes=(6,), solver="sgd", momentum=0.9, dtype=dtype, random_state=0
    )
    est.partial_fit(
        X[:30], y[:30], **({"classes": [0, 1, 2]} if Estimator is fastnn.MLPClassifier else {})
    )
    back = _ESTIMATOR_IO[how](est, tmp_path)
    assert type(back) is Estimator and back.get_params() == est.get_params()
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    if Estimator is fastnn.MLPClassifier:
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    back.partial_fit(X[30:], y[30:])  # the optimizer's momentum came along
    est.partial_fit(X[30:], y[30:])
    np.testing.assert_array_equal(back.net_.params, est.net_.params)
    assert back.net_.params.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_network_and_its_optimizer_pickle_to_a_file(tmp_path, dtype):
    net, opt, X, y = _trained(dtype)
    with open(tmp_path / "net.pkl", "wb") as f:
        pickle.dump((net, opt), f)
    with open(tmp_path / "net.pkl", "rb") as f:
        back, back_opt = pickle.load(f)
    _check_reader(
        lambda reader: back if reader is fastnn.load else (back, back_opt),
        net,
        opt,
        X,
        y,
        with_optimizer=True,
    )


# ------------------------------------------------ what is refused, and how
_READERS = [fastnn.load, fastnn.load_checkpoint]


@pytest.mark.parametrize("reader", _READERS)
def test_readers_refuse_what_is_not_a_name_or_a_binary_file(tmp_path, reader):
    with pytest.raises(TypeError, match="takes a file name .* got int"):
        reader(3)
    with pytest.raises(TypeError, match="got NoneType"):
        reader(None)
    with pytest.raises(ValueError, match="empty path"):
        reader("")
    with pytest.raises(TypeError, match="StringIO object is open in text mode.*'rb'"):
        reader(io.StringIO("text"))
    (tmp_path / "m.npz").write_bytes(b"")
    with open(tmp_path / "m.npz") as f:  # text mode
        with pytest.raises(TypeError, match="'.*m.npz' is open in text mode"):
            reader(f)
    with open(tmp_path / "w.npz", "wb") as f:
        with pytest.raises(ValueError, match="not open for reading: open it with 'rb'"):
            reader(f)
    f = open(tmp_path / "m.npz", "rb")
    f.close()
    with pytest.raises(ValueError, match="is closed"):
        reader(f)


def test_save_refuses_what_is_not_a_name_or_a_binary_file(tmp_path):
    net, opt, _, _ = _trained("float64")
    with pytest.raises(TypeError, match="save takes a file name .* got int"):
        net.save(3)
    with pytest.raises(ValueError, match="empty path"):
        net.save("")
    text = io.StringIO()
    with pytest.raises(TypeError, match="open in text mode.*'wb'"):
        net.save(text)
    assert text.getvalue() == ""
    with open(tmp_path / "t.txt", "w") as f:
        with pytest.raises(TypeError, match="'.*t.txt' is open in text mode"):
            net.save(f, optimizer=opt)
    with open(tmp_path / "t.txt", "rb") as f:
        with pytest.raises(ValueError, match="not open for writing: open it with 'wb'"):
            net.save(f)
    f = open(tmp_path / "c.npz", "wb")
    f.close()
    with pytest.raises(ValueError, match="is closed"):
        net.save(f)
    with pytest.raises(TypeError, match="optimizer must be a fastnn optimizer"):
        net.save(tmp_path / "new", optimizer="adam")
    assert sorted(os.listdir(tmp_path)) == ["c.npz", "t.txt"]
    assert (tmp_path / "t.txt").read_bytes() == b""


def test_directories_are_refused_by_name(tmp_path):
    net, _, _, _ = _trained("float64")
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match="'.*d.npz' is a directory, not a file"):
        net.save(tmp_path / "d")
    for reader in _READERS:
        with pytest.raises(ValueError, match="'.*d.npz' is a directory"):
            reader(tmp_path / "d")
    for name in (str(tmp_path) + os.sep, os.path.join(str(tmp_path), "."), "."):
        with pytest.raises(ValueError, match="names a directory.*model.npz"):
            net.save(name)
        with pytest.raises(ValueError, match="names a directory"):
            fastnn.load(name)
    assert os.listdir(tmp_path) == ["d.npz"] and os.listdir(tmp_path / "d.npz") == []
    # a directory named as given does not stand in for the missing file
    (tmp_path / "e").mkdir()
    with pytest.raises(FileNotFoundError, match=r"save\('.*e'\) writes; '.*e' is a dir"):
        fastnn.load(tmp_path / "e")


@pytest.mark.parametrize("reader", _READERS)
def test_missing_files_name_the_file_looked_for(tmp_path, reader):
    with pytest.raises(
        FileNotFoundError,
        match=r"the name that save\('.*model'\) writes"
        r"\): '.*model.npz'",
    ) as info:
        reader(str(tmp_path / "model"))
    assert info.value.filename == str(tmp_path / "model.npz")
    with pytest.raises(FileNotFoundError, match="'.*model.bin.npz'"):
        reader(tmp_path / "model.bin")
    with pytest.raises(FileNotFoundError, match="No such file or directory: '.*model.npz'"):
        reader(tmp_path / "model.npz")


def test_save_into_a_missing_folder(tmp_path):
    net, _, _, _ = _trained("float64")
    with pytest.raises(FileNotFoundError, match="'.*nowhere.*model.npz'"):
        net.save(tmp_path / "nowhere" / "model")
    assert os.listdir(tmp_path) == []


def test_files_that_are_not_fastnn_archives(tmp_path):
    np.savez(tmp_path / "arrays.npz", a=np.arange(3))
    with open(tmp_path / "obj.pkl", "wb") as f:
        pickle.dump({"a": 1}, f)
    np.save(tmp_path / "one.npy", np.arange(3))
    (tmp_path / "model.json").write_text('{"layers": []}')
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    cases = [
        (
            "arrays.npz",
            "valid fastnn model file: the entry 'format' is missing: an .npz "
            "archive, but not one that fastnn wrote",
        ),
        (
            "obj.pkl",
            "readable fastnn model file: it holds pickled Python objects.*"
            "pickle.load or joblib.load",
        ),
        ("one.npy", r"readable fastnn model file: it holds a single array \(.npy"),
        (
            "model.json",
            r"readable fastnn model file: it is not an .npz archive \(a zip "
            r"file of .npy arrays\)",
        ),
        (
            "notes.zip",
            "readable fastnn model file: it is a zip file but not an .npz "
            "archive: its member 'readme.txt'",
        ),
    ]
    for name, match in cases:
        for reader in _READERS:
            with pytest.raises(ValueError, match=f"'.*{name}' is not a {match}"):
                reader(tmp_path / name)
            with open(tmp_path / name, "rb") as f:
                with pytest.raises(ValueError, match=f"file object '.*{name}' is not a {match}"):
                    reader(f)
                assert f.tell() == 0  # left where it was


def test_an_estimator_pickle_is_refused_by_load(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 3))
    clf = fastnn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(fastnn.ConvergenceWarning):
        clf.fit(X, X[:, 0] > 0)
    with open(tmp_path / "clf.pkl", "wb") as f:
        pickle.dump(clf, f)
    with pytest.raises(ValueError, match="pickled Python objects.*an estimator"):
        fastnn.load(tmp_path / "clf.pkl")


def test_a_checkpoint_is_a_model_file_but_not_the_other_way_round(tmp_path):
    net, opt, X, _ = _trained("float32")
    net.save(tmp_path / "ckpt", optimizer=opt)
    np.testing.assert_array_equal(fastnn.load(tmp_path / "ckpt").predict(X), net.predict(X))
    buf = io.BytesIO()
    net.save(buf)
    buf.seek(0)
    with pytest.raises(
        ValueError,
        match="the BytesIO object holds a network but no optimizer.*read it with fastnn.load",
    ):
        fastnn.load_checkpoint(buf)
    assert buf.tell() == 0
    assert fastnn.load(buf).n_params == net.n_params


def test_reading_a_file_object_after_writing_without_rewinding(tmp_path):
    net, _, _, _ = _trained("float64")
    buf = io.BytesIO()
    net.save(buf)
    end = buf.tell()
    with pytest.raises(
        ValueError,
        match=r"BytesIO object is not a readable fastnn model "
        r"file: nothing to read .*seek\(0\)",
    ):
        fastnn.load(buf)
    assert buf.tell() == end
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(
        ValueError, match="'.*empty.npz' is not a readable fastnn model file: the file is empty"
    ):
        fastnn.load(tmp_path / "empty")


def test_a_failed_read_leaves_the_file_object_where_it_was(tmp_path):
    net, opt, _, _ = _trained("float64")
    buf = io.BytesIO()
    net.save(buf, optimizer=opt)
    raw = buf.getvalue()
    arrays = _valid_arrays()
    arrays["version"] = np.array(7)
    bad = io.BytesIO()
    np.savez(bad, **arrays)
    for data, match in [
        (raw[: len(raw) // 2], "not a readable fastnn model file"),
        (bad.getvalue(), "version 7 is not supported"),
    ]:
        f = io.BytesIO(b"head" + data)
        f.seek(4)
        for reader in _READERS:
            with pytest.raises(ValueError, match=match):
                reader(f)
            assert f.tell() == 4


def test_a_failed_save_leaves_the_old_file_and_nothing_else(tmp_path, monkeypatch):
    net, opt, _, _ = _trained("float64")
    target = tmp_path / "model.npz"
    target.write_bytes(b"old contents")

    def broken_savez(file, **arrays):
        file.write(b"half an archive")
        raise OSError("no space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    for name in (tmp_path / "model", str(target)):
        with pytest.raises(OSError, match="no space left"):
            net.save(name, optimizer=opt)
        assert os.listdir(tmp_path) == ["model.npz"]
        assert target.read_bytes() == b"old contents"
    with pytest.raises(OSError, match="no space left"):
        net.save(tmp_path / "new")
    assert os.listdir(tmp_path) == ["model.npz"]
    buf = io.BytesIO(b"keep")
    buf.seek(4)
    with pytest.raises(OSError, match="no space left"):
        net.save(buf)
    assert buf.getvalue() == b"keep" and buf.tell() == 4


def test_a_checkpoint_written_before_the_package_was_reshaped_resumes_as_then():
    """tests/data/checkpoint_format1.npz was written by fastnn before its
    modules were split by idea (same file format, version 1), with the step
    losses and weights that resuming it gave then; it resumes the same now."""
    import json
    from pathlib import Path

    here = Path(__file__).parent / "data"
    then = json.loads((here / "checkpoint_format1.json").read_text())
    net, opt = fastnn.load_checkpoint(here / "checkpoint_format1")
    hist = net.fit(np.array(then["X"]), np.array(then["y"]), epochs=2, batch_size=8, optimizer=opt)
    # the builds for other instruction sets round float64 to 1e-12 of it (FMA)
    np.testing.assert_allclose(hist.step_loss, then["step_loss"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(net.params, np.array(then["params"]), rtol=1e-12, atol=1e-15)
