"""The data sets shipped with the package: content, reference values, damage."""

import gzip
import io
import socket
from importlib import resources

import numpy as np
import pytest

from fastnn import datasets
from fastnn.datasets import _read_digits, _read_hubble, load_digits, load_hubble


def hubble_text():
    return (resources.files(datasets) / "data" / "hubble1929.csv").read_text()


def digits_text():
    raw = (resources.files(datasets) / "data" / "optdigits_test.csv.gz").read_bytes()
    return gzip.decompress(raw).decode()


# ---- Hubble --------------------------------------------------------------------


def test_hubble_shapes_and_values():
    distance, velocity = load_hubble()
    assert distance.shape == velocity.shape == (24,)
    assert distance.dtype == velocity.dtype == np.float64
    assert (distance[0], velocity[0]) == (0.032, 170.0)  # the first row of Table 1
    assert (distance[-1], velocity[-1]) == (2.0, 1090.0)
    assert distance.min() == 0.032
    assert distance.max() == 2.0
    assert velocity.min() == -220.0
    assert velocity.max() == 1090.0


def test_hubble_least_squares_reference_values():
    distance, velocity = load_hubble()
    slope, intercept = np.polyfit(distance, velocity, 1)
    assert slope == pytest.approx(454.158, abs=1e-3)
    assert intercept == pytest.approx(-40.784, abs=1e-3)
    through_origin = (distance @ velocity) / (distance @ distance)
    assert through_origin == pytest.approx(423.937, abs=1e-3)


# ---- Digits ---------------------------------------------------------------------


def test_digits_shapes_and_values():
    X, y = load_digits()
    assert X.shape == (1797, 64)
    assert y.shape == (1797,)
    assert X.dtype == np.float64
    assert y.dtype == np.int64
    assert X.min() == 0.0
    assert X.max() == 16.0
    assert (X == np.round(X)).all()
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_first_image_by_hand():
    X, y = load_digits()
    assert X[0, :8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    assert y[:3].tolist() == [0, 1, 2]


def test_digits_match_scikit_learn():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = load_digits()
    X_ref, y_ref = sklearn_datasets.load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


# ---- Loading --------------------------------------------------------------------


def test_loaders_return_fresh_arrays():
    X, y = load_digits()
    X[:] = -1
    y[:] = -1
    distance, _ = load_hubble()
    distance[:] = -1
    assert load_digits()[0].min() == 0
    assert load_digits()[1].min() == 0
    assert load_hubble()[0].min() > 0


def test_loaders_never_touch_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a loader tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert load_hubble()[0].shape == (24,)
    assert load_digits()[0].shape == (1797, 64)


def test_readers_take_paths_and_file_objects(tmp_path):
    path = tmp_path / "hubble.csv"
    path.write_text(hubble_text())
    for source in [
        path,
        str(path),
        io.StringIO(hubble_text()),
        io.BytesIO(hubble_text().encode()),
    ]:
        distance, velocity = _read_hubble(source)
        np.testing.assert_array_equal(distance, load_hubble()[0])
    gz = tmp_path / "digits.csv.gz"
    gz.write_bytes(gzip.compress(digits_text().encode()))
    with open(gz, "rb") as f:
        X, _ = _read_digits(f)
    np.testing.assert_array_equal(X, _read_digits(gz)[0])


def test_provenance_is_shipped():
    readme = (resources.files(datasets) / "data" / "README.md").read_text()
    for needle in [
        "Hubble",
        "10.1073/pnas.15.3.168",
        "Alpaydin",
        "Kaynak",
        "CC BY 4.0",
        "10.24432/C50P49",
    ]:
        assert needle in readme
    assert "CC BY 4.0" in load_digits.__doc__
    assert "Alpaydin" in datasets.DIGITS_DESCR
    assert "Hubble" in load_hubble.__doc__
    assert "1929" in datasets.HUBBLE_DESCR


# ---- Damaged files ---------------------------------------------------------------


def _replace_line(text, index, new_line):
    lines = text.splitlines()
    lines[index] = new_line
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda t: "", "expected the header"),
        (lambda t: _replace_line(t, 0, "distance,velocity"), "expected the header"),
        (
            lambda t: "\n".join(t.splitlines()[:-1]) + "\n",
            "expected 24 rows of data, found 23",
        ),
        (lambda t: t + "3.0,1200\n", "expected 24 rows of data, found 25"),
        (
            lambda t: _replace_line(t, 3, "0.214,-130,7"),
            "line 4 has 3 columns, expected 2",
        ),
        (lambda t: _replace_line(t, 3, "0.214"), "line 4 has 1 columns, expected 2"),
        (
            lambda t: _replace_line(t, 5, "0.275,abc"),
            "line 6 holds a value that is not a number",
        ),
        (lambda t: _replace_line(t, 5, "nan,100"), "line 6 has distance nan Mpc"),
        (
            lambda t: _replace_line(t, 5, "-0.5,100"),
            r"line 6 has distance -0.5 Mpc, outside \(0, 10\)",
        ),
        (
            lambda t: _replace_line(t, 5, "0.5,99999"),
            "line 6 has velocity 99999.0 km/s",
        ),
        (lambda t: _replace_line(t, 5, "0.5,inf"), "line 6 has velocity inf km/s"),
    ],
)
def test_damaged_hubble_file(damage, match):
    with pytest.raises(ValueError, match="the Hubble data file is corrupt: " + match):
        _read_hubble(io.StringIO(damage(hubble_text())))


def test_hubble_file_not_text():
    with pytest.raises(ValueError, match="not an ASCII text file"):
        _read_hubble(io.BytesIO(b"distance_mpc,velocity_km_s\n\xff\xfe\n"))


def _gz(text):
    return io.BytesIO(gzip.compress(text.encode("latin-1")))


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda t: "", "expected 1797 rows, found 0"),
        (
            lambda t: "\n".join(t.splitlines()[:-1]) + "\n",
            "expected 1797 rows, found 1796",
        ),
        (lambda t: t + t.splitlines()[0] + "\n", "expected 1797 rows, found 1798"),
        (
            lambda t: _replace_line(t, 9, t.splitlines()[9] + ",0"),
            "line 10 has 66 columns, expected 65",
        ),
        (
            lambda t: _replace_line(t, 9, t.splitlines()[9].rsplit(",", 1)[0]),
            "line 10 has 64 columns, expected 65",
        ),
        (
            lambda t: _replace_line(t, 9, "x" + t.splitlines()[9]),
            "line 10 holds a value that is not an integer",
        ),
        (
            lambda t: _replace_line(t, 9, "1.5" + t.splitlines()[9][1:]),
            "line 10 holds a value that is not an integer",
        ),
        (
            lambda t: _replace_line(t, 99, "17" + t.splitlines()[99][1:]),
            r"line 100 has a pixel value outside 0..16",
        ),
        (
            lambda t: _replace_line(t, 99, "-1" + t.splitlines()[99][1:]),
            r"line 100 has a pixel value outside 0..16",
        ),
        (
            lambda t: _replace_line(t, 4, t.splitlines()[4].rsplit(",", 1)[0] + ",10"),
            r"line 5 has a label value outside 0..9",
        ),
        (
            lambda t: _replace_line(t, 0, "\xe9" + t.splitlines()[0]),
            "not an ASCII text file",
        ),
    ],
)
def test_damaged_digits_file(damage, match):
    with pytest.raises(ValueError, match="the digits data file is corrupt: " + match):
        _read_digits(_gz(damage(digits_text())))


def _digits_gz_bytes():
    return (resources.files(datasets) / "data" / "optdigits_test.csv.gz").read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: b"0,0,5,13\n",  # not compressed
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: raw[:1000] + b"\x00" * 100 + raw[1100:],  # overwritten
        lambda raw: raw[:-8] + bytes(8),  # checksum and length lost
    ],
)
def test_digits_file_that_is_not_valid_gzip(damage):
    with pytest.raises(
        ValueError,
        match="the digits data file is corrupt: cannot decompress it as gzip",
    ):
        _read_digits(io.BytesIO(damage(_digits_gz_bytes())))


def test_empty_digits_file():
    with pytest.raises(ValueError, match="the digits data file is corrupt: the file is empty"):
        _read_digits(io.BytesIO(b""))
