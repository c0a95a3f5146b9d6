"""Class labels to the engine's targets: which labels there are, and each row's index or indicator.

A classifier's targets are one of three kinds, fixed by the first pass:
"binary" (one logistic output), "multiclass" (softmax over the classes) or
"multilabel" (an indicator matrix, one logistic output per label).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_LOOKUP_ROWS = 16  # up to this many rows, labels are looked up in a dict


class ClassLabels:
    """The classifier's side of ``_encode_y``: ``classes_``, the kind of
    target, and the engine's targets for y."""

    classes_: np.ndarray
    _kind: str

    def _encode_y(
        self, y: Any, n: int, first_pass: bool, incremental: bool, classes: Any, dtype: np.dtype
    ) -> tuple[np.ndarray, int]:
        """Targets as the engine takes them: int64 class indices (softmax)
        or 0/1 floats of shape (n, k) (logistic outputs); and k."""
        name = type(self).__name__
        arr = self._y_array(y, n)
        if arr.ndim == 2:
            return self._encode_multilabel(arr, first_pass, classes, dtype)
        check_label_values(arr, name)
        if first_pass:
            known = unique_labels(np.asarray(classes) if classes is not None else arr, name)
            if len(known) < 2:
                raise ValueError(
                    f"{name} needs samples of at least 2 classes in the data, but the "
                    f"data contains only one class: {known.tolist()[0]!r}"
                    if len(known)
                    else f"{name} got no class labels"
                )
            self.classes_ = known
            self._class_index = {label: i for i, label in enumerate(known.tolist())}
            self._kind = "binary" if len(known) == 2 else "multiclass"
            self._y_dtype = arr.dtype
        else:
            if self._kind == "multilabel":
                raise ValueError(
                    f"{name} was fitted on multilabel targets; y must be an indicator matrix"
                )
            if classes is not None and incremental:
                given = unique_labels(np.asarray(classes), name)
                if not _same_labels(given, self.classes_):
                    raise ValueError(
                        f"`classes={list(given)!r}` is not the same as on "
                        f"last call to partial_fit, was: {list(self.classes_)!r}"
                    )
            elif not incremental:  # warm start
                seen = unique_labels(arr, name)
                if not _same_labels(seen, self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        f"in the previous call to fit. Previously got {self.classes_}, "
                        f"`y` has {seen}"
                    )
        idx = label_indices(arr, self.classes_, self._class_index, name)  # (n,) int64
        if self._kind == "binary":
            return idx.astype(dtype).reshape(-1, 1), 1
        return idx, len(self.classes_)

    def _encode_multilabel(
        self, arr: np.ndarray, first_pass: bool, classes: Any, dtype: np.dtype
    ) -> tuple[np.ndarray, int]:
        name = type(self).__name__
        arr = check_indicator(arr, name)
        k = arr.shape[1]
        if first_pass:
            if k < 2:
                raise ValueError(f"{name} takes a multilabel indicator y with at least 2 columns")
            self.classes_ = np.arange(k)
            self._kind = "multilabel"
            self._y_dtype = arr.dtype
        elif self._kind != "multilabel" or k != len(self.classes_):
            raise ValueError(
                f"y has {k} label columns, but {name} was fitted on "
                f"{'labels' if self._kind != 'multilabel' else len(self.classes_)}"
            )
        if classes is not None and len(np.asarray(classes)) != k:
            raise ValueError(f"classes has {len(classes)} entries but y has {k} label columns")
        return np.ascontiguousarray(arr, dtype=dtype), k

    def _strata(self, T: np.ndarray) -> np.ndarray | None:
        """The class of each encoded row, for a stratified split (None: multilabel)."""
        if self._kind == "multiclass":
            return T
        if self._kind == "binary":
            return T[:, 0]
        return None


def check_indicator(arr: np.ndarray, name: str) -> np.ndarray:
    """A 2-D y as a 0/1 indicator matrix of numbers (multilabel), or a
    ValueError naming the label type scikit-learn would see in it."""
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                "Unknown label type: multiclass-multioutput; "
                f"{name} takes 2-D y only as a 0/1 indicator matrix"
            ) from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            "Unknown label type: multiclass-multioutput; "
            f"{name} takes 2-D y only as a 0/1 indicator matrix"
        )
    if not np.isfinite(arr).all():
        raise ValueError("Input y contains NaN or infinity.")
    if not np.isin(arr, (0, 1)).all():
        kind = (
            "continuous-multioutput" if (arr != np.round(arr)).any() else "multiclass-multioutput"
        )
        raise ValueError(
            f"Unknown label type: {kind}; {name} takes 2-D y only as a "
            "0/1 indicator matrix (multilabel classification)"
        )
    return arr


def check_label_values(arr: np.ndarray, name: str) -> None:
    """Refuse regression targets, NaN and infinity in class labels."""
    kind = arr.dtype.kind
    if kind == "O":
        try:
            as_float = arr.astype(np.float64)
        except (TypeError, ValueError):
            return  # strings or other labels, not numbers
        if any(isinstance(v, str) for v in arr.tolist()):
            return
        arr = as_float
        kind = "f"
    if kind == "f":
        if np.isnan(arr).any():
            raise ValueError("Input y contains NaN.")
        if np.isinf(arr).any():
            raise ValueError(
                f"Input y contains infinity or a value too large for dtype({arr.dtype.name!r})."
            )
        if (arr != np.round(arr)).any():
            raise ValueError(
                "Unknown label type: continuous. Maybe you are trying to fit a "
                f"classifier ({name}), which expects discrete classes, on a "
                "regression target with continuous values."
            )


def unique_labels(arr: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.unique(arr)
    except TypeError:
        raise ValueError(f"Mix of label input types (string and number) in y of {name}") from None


def _same_labels(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and bool(np.all(a == b))


def label_indices(arr: np.ndarray, classes: np.ndarray, index: dict, name: str) -> np.ndarray:
    """The index in ``classes`` (sorted) of every label; unknown labels refused.

    ``index`` maps each class to its index: a few rows are looked up in it.
    """
    if arr.shape[0] <= _LOOKUP_ROWS:
        try:
            return np.array([index[v] for v in arr.tolist()], dtype=np.int64)
        except (KeyError, TypeError):
            pass  # the general path names the problem
    try:
        idx = np.searchsorted(classes, arr)
    except TypeError:
        raise ValueError(f"Mix of label input types (string and number) in y of {name}") from None
    np.minimum(idx, len(classes) - 1, out=idx)
    bad = classes[idx] != arr
    if np.any(bad):
        unknown = np.unique(arr[bad])
        raise ValueError(
            f"`y` has classes not in `self.classes_`. `self.classes_` has "
            f"{classes}. 'y' has {unknown}."
        )
    return idx.astype(np.int64, copy=False)
