"""Rosenblatt's perceptron (1957): a threshold neuron that learns its weights.

The neuron is a one-layer fastnn network with a step activation,
``y_hat = step(x @ w + b)``, where step is 1 for inputs >= 0. The learning
rule changes the weights only when the neuron is wrong:

    w += lr * (y - y_hat) * x
    b += lr * (y - y_hat)

If the two classes can be split by a straight line (a hyperplane), the rule
finds such a line after finitely many mistakes (the perceptron convergence
theorem). If they cannot, as for XOR, it never stops making mistakes.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_01_labels, check_samples
from .exceptions import ConvergenceWarning

__all__ = ["Perceptron", "ConvergenceWarning"]


@dataclass(eq=False)
class Perceptron:
    """Rosenblatt's perceptron, trained with the perceptron learning rule.

    Parameters
    ----------
    lr : float, default 1.0
        Learning rate, > 0. As the weights start from zero, lr only scales
        them: in exact arithmetic it changes neither the mistakes nor the
        predictions.
    max_epochs : int, default 100
        The most passes over the data; training stops earlier at the first
        epoch without a mistake.
    seed : int, default 0
        Seeds ``np.random.default_rng``, which shuffles the order of the
        samples anew in each epoch.

    Attributes
    ----------
    coef_ : ndarray of float64, shape (n_features,)
        The learned weights w.
    intercept_ : float
        The learned bias b.
    converged_ : bool
        True if the last epoch made no mistake.
    n_epochs_ : int
        Epochs run, the mistake-free last one included.
    errors_ : list of int
        Mistakes (weight updates) in each epoch.
    lines_ : list of (ndarray, float)
        ``(coef, intercept)`` at the end of each epoch: the decision
        boundary ``x @ coef + intercept = 0`` as it moved, for plots.
    net_ : fastnn.Sequential
        The network that holds the weights: one ``Dense(n_features, 1,
        activation="step")`` layer.

    Examples
    --------
    >>> X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    >>> p = Perceptron().fit(X, [0, 0, 0, 1])          # AND
    >>> p.predict(X).tolist(), p.converged_
    ([0, 0, 0, 1], True)
    """

    lr: float = 1.0
    max_epochs: int = 100
    seed: int | None = 0

    def __post_init__(self) -> None:
        self._check_params()

    def _check_params(self) -> None:
        lr, max_epochs = self.lr, self.max_epochs
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise TypeError(f"lr must be a number, got {lr!r}")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, numbers.Integral):
            raise TypeError(f"max_epochs must be an int, got {max_epochs!r}")
        if max_epochs < 1:
            raise ValueError(f"max_epochs must be >= 1, got {max_epochs!r}")

    def fit(self, X: Any, y: Any) -> Perceptron:
        """Learn weights with the perceptron rule, starting from zero.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            Finite numbers.
        y : array-like, shape (n_samples,)
            Labels 0 or 1 (bools are taken as 0/1).

        Returns
        -------
        self : Perceptron

        Warns
        -----
        ConvergenceWarning
            If the last of ``max_epochs`` epochs still made mistakes.
        """
        # Imported here, so that importing this module does not need the
        # compiled engine until a perceptron is trained.
        from .layers import Dense
        from .network import Sequential

        self._check_params()
        X = check_samples(X)  # (n_samples, n_features)
        y = check_01_labels(y, len(X))  # (n_samples,)
        n_samples, n_features = X.shape

        net = Sequential([Dense(n_features, 1, activation="step")], loss="mse", dtype="float64")
        layer = net.layers[0]
        W, b = layer.W, layer.b  # (n_features, 1), (1,): views into the network
        W[:] = 0.0
        b[:] = 0.0
        rng = np.random.default_rng(self.seed)

        self.net_ = net
        self.n_features_in_ = n_features
        self.errors_: list[int] = []
        self.lines_: list[tuple[np.ndarray, float]] = []
        for _ in range(self.max_epochs):
            mistakes = 0
            for i in rng.permutation(n_samples):
                y_hat = net.predict(X[i : i + 1])[0, 0]  # 0.0 or 1.0
                update = self.lr * (y[i] - y_hat)
                if update != 0:
                    W[:, 0] += update * X[i]
                    b[0] += update
                    mistakes += 1
            self.errors_.append(mistakes)
            self.lines_.append((W[:, 0].copy(), float(b[0])))
            if mistakes == 0:
                break

        self.coef_ = W[:, 0].copy()
        self.intercept_ = float(b[0])
        self.n_epochs_ = len(self.errors_)
        self.converged_ = self.errors_[-1] == 0
        if not self.converged_:
            warnings.warn(
                f"Perceptron did not converge: the last of max_epochs="
                f"{self.max_epochs} epochs still made {self.errors_[-1]} mistakes. "
                "Either the classes are not linearly separable (no straight line "
                "splits them, as for XOR), or more epochs are needed.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Class labels: 1 where ``X @ coef_ + intercept_ >= 0``, else 0.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)

        Returns
        -------
        ndarray of int64, shape (n_samples,)
        """
        if not hasattr(self, "net_"):
            raise RuntimeError("this Perceptron is not fitted yet: call fit(X, y) first")
        X = check_samples(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but the perceptron was fitted with "
                f"{self.n_features_in_}"
            )
        y_hat = self.net_.predict(X)  # (n_samples, 1) of 0.0 / 1.0
        return y_hat[:, 0].astype(np.int64)
