"""Ready-made networks for the lecture: a LeNet for the 8x8 digits, and the
best dense network of the same parameter budget that it is measured against.

    >>> from fastnn import models
    >>> cnn = models.lenet_digits(seed=0)      # trains in well under a second
    >>> mlp = models.dense_digits(seed=0)
    >>> cnn.test_accuracy > mlp.test_accuracy
    True

Both use the split of the lecture tour: the digits scaled to 0..1, a
quarter of them (drawn with the seed) held out for testing.

Why a convolution wins on a budget: a dense layer gives every pixel its own
weight, so a stroke seen at one place teaches nothing about the same stroke
one pixel over. A 3x3 convolution slides the same nine weights (per
channel) over the whole image: 60 parameters detect six local patterns
everywhere, and max-pooling keeps each pattern's strongest response while
forgetting its exact position. With 1030 parameters, the LeNet below reads
the held-out digits better than any dense network of at most 1030
parameters that we tried (one and two hidden layers, relu and tanh, SGD
with momentum and Adam at several rates and lengths of training; the best
is ``dense_digits``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import datasets
from .history import History
from .layers import Conv2D, Dense, Flatten, MaxPool2D
from .network import Sequential
from .optim import SGD, Adam

__all__ = [
    "digits_images",
    "lenet",
    "dense_baseline",
    "lenet_digits",
    "dense_digits",
    "DigitsResult",
]


def digits_images(seed: int = 0) -> dict:
    """The digits as images in 0..1, split as the lecture tour splits them.

    Returns
    -------
    dict with ``X_train`` (n_train, 1, 8, 8), ``y_train``, ``X_test``
    (n_test, 1, 8, 8), ``y_test``: a quarter of the 1797 images, drawn by a
    permutation from ``seed``, held out.
    """
    X, y = datasets.load_digits()
    X = (X / 16.0).reshape(-1, 1, 8, 8)  # (1797, 1, 8, 8)
    perm = np.random.default_rng(seed).permutation(len(X))
    n_test = len(X) // 4
    test, train = perm[:n_test], perm[n_test:]
    return {"X_train": X[train], "y_train": y[train], "X_test": X[test], "y_test": y[test]}


def lenet(seed: int = 0, dtype: str = "float32") -> Sequential:
    """An untrained LeNet for 8x8 digits (1030 parameters).

    ``Conv2D(1, 6, 3, padding=1, relu)`` -> (6, 8, 8), ``MaxPool2D(2)`` ->
    (6, 4, 4), ``Flatten()`` -> 96, ``Dense(96, 10, softmax)``.
    """
    return Sequential(
        [
            Conv2D(1, 6, kernel_size=3, padding=1, activation="relu", input_shape=(1, 8, 8)),
            MaxPool2D(2),
            Flatten(),
            Dense(6 * 4 * 4, 10, activation="softmax"),
        ],
        loss="cross_entropy",
        dtype=dtype,
        seed=seed,
    )


def dense_baseline(seed: int = 0, dtype: str = "float32") -> Sequential:
    """The best dense network of at most LeNet's 1030 parameters that we
    found for the digits: 64 -> 13 (tanh) -> 10 (softmax), 985 parameters."""
    return Sequential(
        [Dense(64, 13, activation="tanh"), Dense(13, 10, activation="softmax")],
        loss="cross_entropy",
        dtype=dtype,
        seed=seed,
    )


@dataclass
class DigitsResult:
    """A network trained on the digits, and how well it reads them."""

    net: Sequential
    history: History
    train_accuracy: float
    test_accuracy: float
    seconds: float  # training time
    settings: dict = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return self.net.n_params


def _accuracy(net: Sequential, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(net.predict(X).argmax(axis=1) == y))


def _train(
    net: Sequential, d: dict, flat: bool, optimizer, epochs: int, batch_size: int, settings: dict
) -> DigitsResult:
    Xtr, Xte = d["X_train"], d["X_test"]
    if flat:
        Xtr, Xte = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)  # (n, 64)
    t0 = time.perf_counter()
    hist = net.fit(Xtr, d["y_train"], epochs=epochs, batch_size=batch_size, optimizer=optimizer)
    seconds = time.perf_counter() - t0
    return DigitsResult(
        net,
        hist,
        _accuracy(net, Xtr, d["y_train"]),
        _accuracy(net, Xte, d["y_test"]),
        seconds,
        settings,
    )


def lenet_digits(seed: int = 0, epochs: int = 30) -> DigitsResult:
    """Train ``lenet(seed)`` on the tour's digits split: mini-batches of 32,
    SGD(lr=0.1, momentum=0.9), ``epochs`` epochs (held-out accuracy about
    98%, in well under a second)."""
    settings = {"optimizer": "SGD(lr=0.1, momentum=0.9)", "epochs": epochs, "batch_size": 32}
    return _train(
        lenet(seed), digits_images(seed), False, SGD(lr=0.1, momentum=0.9), epochs, 32, settings
    )


def dense_digits(seed: int = 0, epochs: int = 60) -> DigitsResult:
    """Train ``dense_baseline(seed)`` the way that suited it best: mini-batches
    of 32, Adam(lr=0.01), ``epochs`` epochs (held-out accuracy about 97%)."""
    settings = {"optimizer": "Adam(lr=0.01)", "epochs": epochs, "batch_size": 32}
    return _train(
        dense_baseline(seed), digits_images(seed), True, Adam(lr=0.01), epochs, 32, settings
    )
