"""Small real data sets shipped inside the package.

Both loaders read files from ``fastnn/datasets/data/`` through
:mod:`importlib.resources`, so they work from a source tree and from an
installed wheel alike, and never touch the network. The files are plain
text (CSV), checked as they are read: a damaged file raises ``ValueError``
instead of giving wrong numbers.

``data/README.md`` holds the provenance of each file.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["load_hubble", "load_digits", "HUBBLE_DESCR", "DIGITS_DESCR"]

HUBBLE_DESCR = (
    "Hubble (1929): distance (Mpc) and radial velocity (km/s) of 24 "
    "extragalactic nebulae. E. Hubble, 'A relation between distance and radial "
    "velocity among extra-galactic nebulae', PNAS 15(3):168-173, 1929, Table 1, "
    "doi:10.1073/pnas.15.3.168. Public-domain measurements."
)

DIGITS_DESCR = (
    "Optical Recognition of Handwritten Digits, test part: 1797 images of 8x8 "
    "pixels, values 0..16, labels 0..9. E. Alpaydin and C. Kaynak (1998), UCI "
    "Machine Learning Repository, doi:10.24432/C50P49. Licensed under CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/)."
)

_HUBBLE_FILE = "hubble1929.csv"
_HUBBLE_HEADER = ["distance_mpc", "velocity_km_s"]
_HUBBLE_ROWS = 24

_DIGITS_FILE = "optdigits_test.csv.gz"
_DIGITS_ROWS = 1797
_DIGITS_PIXELS = 64  # an 8x8 image, row-major; the label follows


def _read_bytes(source: Any) -> bytes:
    """The content of a path, an importlib Traversable, or an open file."""
    if hasattr(source, "read"):
        data = source.read()
        return data.encode() if isinstance(data, str) else data
    if hasattr(source, "read_bytes"):  # pathlib.Path, importlib Traversable
        return source.read_bytes()
    with open(os.fspath(source), "rb") as f:
        return f.read()


def _data_file(name: str) -> Any:
    return resources.files(__name__) / "data" / name


def _corrupt(what: str, message: str) -> ValueError:
    return ValueError(f"{what} is corrupt: {message}")


def _decode(raw: bytes, what: str) -> list[str]:
    """The lines of an ASCII text file."""
    try:
        return raw.decode("ascii").splitlines()
    except UnicodeDecodeError as e:
        raise _corrupt(what, f"not an ASCII text file ({e})") from None


def _read_hubble(source: Any) -> tuple[np.ndarray, np.ndarray]:
    """Parse and check Hubble's table; ``source`` is a path or an open file."""
    what = "the Hubble data file"
    lines = _decode(_read_bytes(source), what)
    if not lines or lines[0].split(",") != _HUBBLE_HEADER:
        got = lines[0] if lines else "an empty file"
        header = ",".join(_HUBBLE_HEADER)
        raise _corrupt(what, f"expected the header {header!r}, got {got!r}")
    rows = lines[1:]
    if len(rows) != _HUBBLE_ROWS:
        n = len(rows)
        raise _corrupt(what, f"expected {_HUBBLE_ROWS} rows of data, found {n}")
    distance, velocity = [], []
    for line_no, line in enumerate(rows, start=2):
        fields = line.split(",")
        if len(fields) != 2:
            n = len(fields)
            raise _corrupt(what, f"line {line_no} has {n} columns, expected 2: {line!r}")
        try:
            d, v = float(fields[0]), float(fields[1])
        except ValueError:
            message = f"line {line_no} holds a value that is not a number: {line!r}"
            raise _corrupt(what, message) from None
        # Hubble's nebulae lie within 2 Mpc and move at under 1100 km/s;
        # these bounds are generous and only catch damage.
        if not (math.isfinite(d) and 0 < d < 10):
            message = f"line {line_no} has distance {d} Mpc, outside (0, 10)"
            raise _corrupt(what, message)
        if not (math.isfinite(v) and -3000 < v < 3000):
            message = f"line {line_no} has velocity {v} km/s, outside (-3000, 3000)"
            raise _corrupt(what, message)
        distance.append(d)
        velocity.append(v)
    return np.array(distance), np.array(velocity)  # float64, (24,) each


def _read_digits(source: Any) -> tuple[np.ndarray, np.ndarray]:
    """Parse and check the gzipped digits CSV; ``source``: a path or a binary file."""
    what = "the digits data file"
    compressed = _read_bytes(source)
    if not compressed:
        raise _corrupt(what, "the file is empty")
    try:
        raw = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as e:  # not gzip, truncated, damaged
        raise _corrupt(what, f"cannot decompress it as gzip ({e})") from None
    lines = _decode(raw, what)
    if len(lines) != _DIGITS_ROWS:
        raise _corrupt(what, f"expected {_DIGITS_ROWS} rows, found {len(lines)}")
    n_columns = _DIGITS_PIXELS + 1
    rows = []
    for line_no, line in enumerate(lines, start=1):
        fields = line.split(",")
        if len(fields) != n_columns:
            n = len(fields)
            message = f"line {line_no} has {n} columns, expected {n_columns}"
            raise _corrupt(what, message)
        try:
            rows.append([int(field) for field in fields])
        except ValueError:
            message = f"line {line_no} holds a value that is not an integer"
            raise _corrupt(what, message) from None
    data = np.array(rows, dtype=np.int64)  # (n_samples, 65)
    X, y = data[:, :_DIGITS_PIXELS], data[:, _DIGITS_PIXELS]
    for name, values, top in [("pixel", X, 16), ("label", y, 9)]:
        bad = (values < 0) | (values > top)
        if bad.any():
            line_no = int(np.nonzero(bad)[0][0]) + 1
            message = f"line {line_no} has a {name} value outside 0..{top}"
            raise _corrupt(what, message)
    return X.astype(np.float64), y.copy()


def load_hubble() -> tuple[np.ndarray, np.ndarray]:
    """Hubble's 1929 distances and velocities of 24 galaxies.

    The data of the first evidence that the universe expands: velocity grows
    in proportion to distance. A straight-line fit is the lecture's first
    learning machine. Ordinary least squares gives
    ``velocity = 454.158 * distance - 40.784``, and through the origin
    ``velocity = 423.937 * distance`` (Hubble's constant from this table,
    km/s/Mpc).

    Returns
    -------
    distance_mpc : ndarray of float64, shape (24,)
        Distance in megaparsecs.
    velocity_km_s : ndarray of float64, shape (24,)
        Radial velocity in km/s (negative: approaching).

    Notes
    -----
    E. Hubble, "A relation between distance and radial velocity among
    extra-galactic nebulae", Proceedings of the National Academy of Sciences
    15(3):168-173, 1929, Table 1, doi:10.1073/pnas.15.3.168. Public-domain
    measurements; the same table is the "Big Bang" case study (case0701)
    used in statistics courses.
    """
    return _read_hubble(_data_file(_HUBBLE_FILE))


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """1797 handwritten digits as 8x8 images.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        One image per row, row-major (``X[i].reshape(8, 8)``), pixel values
        0..16 (the count of ink pixels in a 4x4 block of a 32x32 scan).
    y : ndarray of int64, shape (1797,)
        The digit shown, 0..9.

    Notes
    -----
    The test part of "Optical Recognition of Handwritten Digits" by
    E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository,
    doi:10.24432/C50P49, licensed under Creative Commons Attribution 4.0
    International (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/).
    The same images, in the same order, as scikit-learn's ``load_digits``.
    """
    return _read_digits(_data_file(_DIGITS_FILE))
