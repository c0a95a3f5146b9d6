"""The playground's data: the lecture's real sets and small 2-D classification sets.

The 2-D sets are drawn here, from a seeded NumPy generator, with labels in
{0, 1}: the logic gates' four corners (labels from :mod:`fastnn.logic`,
points scattered around each corner), two concentric circles, two
interleaved spirals (the "two-spirals" problem of K. Lang and M. Witbrock,
"Learning to tell two spirals apart", Proc. 1988 Connectionist Models
Summer School), and two Gaussian blobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import datasets, logic
from ._state import PLANE_SETS, Settings

__all__ = ["PLANE_POINTS", "Split", "load", "make_plane"]

PLANE_POINTS = 200  # points of each 2-D set

_GATES = {"and": logic.AND, "or": logic.OR, "xor": logic.XOR}


def make_plane(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D classification set.

    Parameters
    ----------
    name : str
        ``and``, ``or``, ``xor``, ``circles``, ``spirals`` or ``blobs``.
    n : int
        Number of points (a multiple of 4 keeps the classes balanced).
    noise : float
        Spread of the points, 0 (none) to 1 (classes overlap).
    seed : int
        Seeds the generator.

    Returns
    -------
    X : ndarray of shape (n, 2)
    y : ndarray of shape (n,), labels 0 and 1
    """
    if name not in PLANE_SETS:
        raise ValueError(f"name must be one of {', '.join(PLANE_SETS)}, got {name!r}")
    rng = np.random.default_rng(seed)
    if name in _GATES:
        corners = np.array(logic.CORNERS, dtype=float)  # (4, 2)
        labels = np.array([_GATES[name](int(a), int(b)) for a, b in logic.CORNERS])
        which = np.arange(n) % 4
        X = corners[which] + rng.normal(scale=0.05 + 0.3 * noise, size=(n, 2))
        return X, labels[which]
    y = np.arange(n) % 2
    if name == "circles":
        angle = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(y == 0, 1.0, 0.45) + rng.normal(scale=0.02 + 0.15 * noise, size=n)
        X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    elif name == "spirals":
        t = np.sqrt(rng.uniform(0.02, 1.0, n)) * 3 * np.pi  # (n,) angle along the arm
        radius = t / (3 * np.pi)
        phase = np.pi * y
        X = np.column_stack([radius * np.cos(t + phase), radius * np.sin(t + phase)])
        X += rng.normal(scale=0.01 + 0.1 * noise, size=(n, 2))
    else:  # blobs
        centres = np.array([[-1.0, -1.0], [1.0, 1.0]])
        X = centres[y] + rng.normal(scale=0.3 + 0.9 * noise, size=(n, 2))
    return X, y


@dataclass
class Split:
    """A data set as the playground trains on it.

    ``X_train``/``y_train`` are what the network learns from, ``X_test``/
    ``y_test`` (possibly empty) the held-out rows of the test loss.
    ``extent`` is the 2-D sets' square view ``(low, high)`` of both axes.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    extent: tuple[float, float] = (0.0, 1.0)
    test_index: np.ndarray | None = None  # rows of the original set held out


def _split(X: np.ndarray, y: np.ndarray, test: float, seed: int) -> Split:
    perm = np.random.default_rng(seed + 1).permutation(len(X))
    n_test = min(int(round(test * len(X))), len(X) - 1)
    test_rows, train_rows = perm[:n_test], perm[n_test:]
    return Split(X[train_rows], y[train_rows], X[test_rows], y[test_rows], test_index=test_rows)


def load(settings: Settings) -> Split:
    """The data of ``settings.dataset``, split by ``settings.test``.

    Hubble's galaxies are returned whole (distance in Mpc as X of shape
    (24, 1), velocity in km/s as y): the regression machine fits them all.
    The digits are scaled to 0..1 (X of shape (1797, 64)).
    """
    if settings.dataset == "hubble":
        x, v = datasets.load_hubble()
        return Split(x.reshape(-1, 1), v, np.empty((0, 1)), np.empty(0))
    if settings.dataset == "digits":
        X, y = datasets.load_digits()
        return _split(X / 16.0, y, settings.test, settings.seed)
    X, y = make_plane(settings.dataset, PLANE_POINTS, settings.noise, settings.seed)
    split = _split(X, y, settings.test, settings.seed)
    low, high = float(X.min()), float(X.max())
    pad = 0.1 * (high - low)
    split.extent = (low - pad, high + pad)
    return split
