"""What fastnn returns (a History, a model, a machine, a path), as the figures take it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..history import History
from ..regression import RegressionMachine


def _kind(obj: Any) -> str:
    return type(obj).__name__


def _is_numbers(obj: Any) -> bool:
    """True for a list, tuple or array of numbers (a curve), not for a model."""
    if isinstance(obj, (str, bytes, Mapping)) or not isinstance(obj, (Sequence, np.ndarray)):
        return False
    try:
        return np.asarray(obj).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def _named(runs: Any, what: str, single: str, example: str, numbered: str = "run {i}") -> dict:
    """``runs`` as a dict of name to run: a dict as given, one run (a History,
    a model, a list of numbers) as ``{single: run}``, a list of runs numbered
    (``numbered.format(i=1)``, ...)."""
    if isinstance(runs, Mapping):
        if not runs:
            raise ValueError(f"{what} is empty: pass e.g. {example}")
        return dict(runs)
    if runs is None:
        raise TypeError(f"{what} is None: pass e.g. {example}")
    if isinstance(runs, (list, tuple)) and runs and not _is_numbers(runs):
        return {numbered.format(i=i + 1): run for i, run in enumerate(runs)}
    if isinstance(runs, (list, tuple, np.ndarray)) and len(runs) == 0:
        raise ValueError(f"{what} is empty: pass e.g. {example}")
    return {single: runs}


def _history_of(run: Any) -> History | None:
    """The History inside what fastnn returns (itself, a RegressionMachine's or a
    fastnn.models result's ``history``), or None."""
    if isinstance(run, History):
        return run
    inner = getattr(run, "__dict__", {}).get("history")
    return inner if isinstance(inner, History) else None


def _curve(values: Any, name: str) -> np.ndarray:
    """A 1-D float array of numbers, or a TypeError naming what was given."""
    if not _is_numbers(values):
        raise TypeError(
            f"{name} must be a History, a fitted model or a sequence of numbers, "
            f"got {_kind(values)}"
        )
    return np.asarray(values, dtype=float).reshape(-1)


def _epoch_losses(run: Any, name: str) -> np.ndarray:
    """The mean training loss of each epoch of a run, however fastnn gave it."""
    hist = _history_of(run)
    if hist is not None:
        return np.asarray(hist.loss, dtype=float).reshape(-1)
    if isinstance(run, RegressionMachine):
        raise ValueError(f"run {name!r}: the RegressionMachine is not fitted yet")
    curve = getattr(run, "__dict__", {}).get("loss_curve_")  # a fitted MLP estimator
    if curve is not None:
        return np.asarray(curve, dtype=float).reshape(-1)
    return _curve(run, f"run {name!r}")


def _step_series(run: Any, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(x, loss, updates per epoch) of a run for :func:`loss_per_step`.

    A History gives the loss of update k (before it) at x = k, k = 1..n. A
    RegressionMachine gives E(a, b) on all its data after k steps at x = k,
    k = 0..n: the start, then every step, the last one included.
    """
    if isinstance(run, RegressionMachine):
        if run.history is None:
            raise ValueError(f"run {name!r}: the RegressionMachine is not fitted yet")
        path = np.asarray(run.path, dtype=float).reshape(-1, 2)
        E = np.concatenate(
            [[run.loss(*run.start)], np.asarray(run.loss(path[:, 0], path[:, 1])).reshape(-1)]
        )
        return np.arange(len(E)), E, int(run.history.steps_per_epoch or 0)
    hist = _history_of(run)
    if hist is not None:
        losses = np.asarray(hist.step_loss, dtype=float).reshape(-1)
        per_epoch = int(getattr(hist, "steps_per_epoch", 0) or 0)
    else:
        losses, per_epoch = _curve(run, f"run {name!r}"), 0
    return np.arange(1, len(losses) + 1), losses, per_epoch


def _path(value: Any, name: str) -> np.ndarray:
    """A path of (a, b) as an array (steps, 2): given, or a RegressionMachine's."""
    if isinstance(value, RegressionMachine):
        value = value.path
    try:
        p = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"path {name!r} must be a RegressionMachine or an array of (a, b) "
            f"pairs, got {_kind(value)}"
        ) from None
    if p.size % 2 or (p.ndim == 2 and p.shape[1] != 2) or p.ndim > 2:
        raise ValueError(f"path {name!r} must have shape (steps, 2), got {p.shape}")
    return p.reshape(-1, 2)


def _paths(paths: Any, single: str = "gradient descent") -> dict:
    """Named paths: a dict of name to path or RegressionMachine, or one of them
    (named ``single``)."""
    if paths is None:
        return {}
    if not isinstance(paths, Mapping):
        paths = {single: paths}
    return {name: _path(value, name) for name, value in paths.items()}


def _check_machine(machine: Any, need_minimum: bool = True) -> Any:
    if not (
        callable(getattr(machine, "loss", None))
        and (callable(getattr(machine, "closed_form", None)) or not need_minimum)
    ):
        raise TypeError(
            "machine must be a fitted RegressionMachine (with loss(a, b) and "
            f"closed_form()), got {_kind(machine)}"
        )
    return machine
