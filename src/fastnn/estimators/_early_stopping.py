"""Early stopping's held-out rows: a split stratified by class, refused if it cannot be scored.

scikit-learn's rules (``BaseMultilayerPerceptron._fit_stochastic`` and
``StratifiedShuffleSplit``): the split holds out
``ceil(validation_fraction * n_samples)`` rows, which must leave a training
row and be at least 2 ("The validation set is too small"), since R^2 is
undefined on one row. A single-output classifier's split is stratified by
class, so that both parts hold every class (fastnn stratifies multiclass
targets too, where scikit-learn stratifies binary ones only): each class
needs 2 rows, and each part at least as many rows as there are classes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_split(
    fraction: float, T: np.ndarray, strata: np.ndarray | None, classes: np.ndarray | None
) -> None:
    """Refuse an early-stopping split that cannot be scored.

    Parameters
    ----------
    fraction : float
        ``validation_fraction``.
    T : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The encoded targets.
    strata : ndarray of shape (n_samples,) or None
        The class index of each row, for a stratified split (else None).
    classes : ndarray of shape (n_classes,) or None
        The labels of the class indices, to name them in a message.
    """
    n = T.shape[0]
    n_val = math.ceil(fraction * n)
    n_train = n - n_val
    where = f"validation_fraction={fraction} of n_samples={n}"
    if n_train < 1:
        raise ValueError(
            f"With {where}, early stopping leaves an empty training set: "
            "lower 'validation_fraction' or train on more rows."
        )
    if n_val < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            f"or the size of your dataset: {where} holds out {n_val} row, and "
            "a validation score needs at least 2."
        )
    if strata is None:
        return
    index, counts = np.unique(strata, return_counts=True)
    labels = classes[index.astype(np.int64)]
    if (counts < 2).any():
        raise ValueError(
            "The least populated class in y has only 1 member, which is too few "
            "for early stopping, whose validation split holds out rows of every "
            "class: each class needs at least 2 members. Classes with 1 member: "
            f"{labels[counts < 2].tolist()}"
        )
    k = len(counts)
    for part, rows in (("validation", n_val), ("training", n_train)):
        if rows < k:
            raise ValueError(
                f"With {where}, the {part} set of early stopping has {rows} rows, "
                f"too few to hold each of the {k} classes: "
                + (
                    "increase 'validation_fraction'"
                    if part == "validation"
                    else "lower 'validation_fraction'"
                )
                + " or train on more rows."
            )


def split(
    fraction: float,
    X: np.ndarray,
    T: np.ndarray,
    strata: np.ndarray | None,
    rng: Any,
    regression: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, T_train, X_val, T_val): ``fraction`` of the rows held out,
    stratified by ``strata`` when given, drawn from ``rng``.

    ``check_split`` has passed: stratified, each class gets one row at
    least in each part and otherwise its share of the validation rows, the
    largest remainders rounded up. A regressor's held-out targets must vary
    in every output, or R^2 is undefined there.
    """
    n = X.shape[0]
    n_val = math.ceil(fraction * n)
    perm = rng.permutation(n)
    if strata is None:
        val = perm[:n_val]
    else:
        labels = strata[perm]
        classes, counts = np.unique(labels, return_counts=True)
        take = _stratified_counts(counts, n_val)
        val = np.concatenate([perm[labels == c][:t] for c, t in zip(classes, take)])
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    train = perm[mask[perm]]
    val = np.sort(val)
    if regression:
        _check_targets_vary(T, val)
    return (
        np.ascontiguousarray(X[train]),
        np.ascontiguousarray(T[train]),
        np.ascontiguousarray(X[val]),
        np.ascontiguousarray(T[val]),
    )


def _check_targets_vary(T: np.ndarray, val: np.ndarray) -> None:
    """Refuse held-out regression targets that are constant in an output."""
    n = T.shape[0]
    Tv = T[val].reshape(len(val), -1)  # (n_val, n_outputs)
    flat = np.flatnonzero((Tv == Tv[0]).all(axis=0))
    if len(flat):
        j = int(flat[0])
        column = T.reshape(n, -1)[:, j]
        why = (
            f"y is constant (output {j})"
            if (column == column[0]).all()
            else f"its {len(val)} targets of output {j} are all equal"
        )
        raise ValueError(
            f"The validation set cannot be scored: {why}, and R^2 is "
            "undefined on constant targets. Early stopping needs held-out "
            "targets that vary: increase 'validation_fraction' or the size "
            "of your dataset, or set early_stopping=False."
        )


def _stratified_counts(counts: np.ndarray, n_val: int) -> np.ndarray:
    """Validation rows per class: between 1 and count - 1 for each class, and
    otherwise as near its share ``count * n_val / n`` as those bounds allow
    (largest remainders first). Needs ``2 <= counts`` and
    ``len(counts) <= n_val <= counts.sum() - len(counts)``."""
    exact = counts * (n_val / counts.sum())
    take = np.clip(np.floor(exact).astype(np.int64), 1, counts - 1)
    while take.sum() < n_val:
        room = np.flatnonzero(take < counts - 1)
        take[room[np.argmax((exact - take)[room])]] += 1
    while take.sum() > n_val:
        room = np.flatnonzero(take > 1)
        take[room[np.argmin((exact - take)[room])]] -= 1
    return take
