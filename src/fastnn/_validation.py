"""Every check of user input, in one place.

User input passes through here once, on its way in: it comes out as a
C-contiguous array of the model's dtype (or a clear ``ValueError`` /
``TypeError`` naming the problem). The compiled kernels trust what leaves
this module.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ._dispatch import kernels

DTYPES = ("float32", "float64")
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "softmax", "step")
LOSSES = ("mse", "cross_entropy", "binary_cross_entropy")
_FINITE_BLOCK = 1 << 20  # values checked at once (bounds the temporary memory)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype: Any) -> np.dtype:
    """The model dtype: float32 or float64, given as a name or a NumPy dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if dt not in _FLOATS:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dt.name!r}")
    return dt


def check_activation(activation: str | None) -> str:
    if activation is None:
        return "identity"
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a string or None, got {activation!r}")
    name = activation.lower()
    if name == "linear":
        name = "identity"
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return name


def check_loss(loss: str) -> str:
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a string, got {loss!r}")
    name = loss.lower()
    if name not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    return name


def check_int(value: Any, name: str, minimum: int, allow_none: bool = False) -> int | None:
    """An integer >= minimum (bools and floats are refused)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number within [low, high] (ends open if asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}, got {value}")
    return value


def _as_numeric_array(X: Any, name: str) -> np.ndarray:
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"{name} must be numeric, got an array of dtype {arr.dtype}")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Refuse NaN and infinity, reading a large array in blocks."""
    if arr.dtype in _FLOATS and arr.flags.c_contiguous:
        if kernels.all_finite(arr.reshape(-1)):  # one pass in C, no temporary array
            return
    elif arr.size <= _FINITE_BLOCK:
        if np.isfinite(arr).all():
            return
    flat = arr.reshape(len(arr), -1) if arr.ndim else arr.reshape(1, 1)
    block = max(1, _FINITE_BLOCK // max(1, flat.shape[1]))
    for start in range(0, len(flat), block):
        part = flat[start : start + block]
        if not np.isfinite(part).all():
            bad = np.argwhere(~np.isfinite(part))[0]
            row = start + int(bad[0])
            raise ValueError(
                f"{name} contains NaN or infinity (first at row {row}); "
                "remove or impute non-finite values"
            )


def check_X(
    X: Any,
    dtype: np.dtype,
    n_features: int | None = None,
    name: str = "X",
    feature_shape: tuple[int, ...] | None = None,
    finite: bool = True,
) -> np.ndarray:
    """X as a C-contiguous (n_samples, n_features) array of the model dtype.

    A network whose first layer takes images gives ``feature_shape``
    (c, h, w): X must then be (n, c, h, w), and comes out flattened per row.
    ``finite=False``: an X handed back as it came, or as a view of it
    (already of the dtype and layout; images flattened per row), is not
    searched for NaN and infinity; the caller does that (the forward pass
    and the training loop search each block as they read it). A converted
    X is always checked.
    """
    if (
        type(X) is np.ndarray
        and X.dtype == dtype
        and X.ndim == 2
        and feature_shape is None
        and X.flags.c_contiguous
        and X.shape[0]
        and X.shape[1]
        and (n_features is None or X.shape[1] == n_features)
    ):
        if finite:
            check_finite(X, name)  # the common case: already as the kernels want it
        return X
    arr = _as_numeric_array(X, name)
    if feature_shape is not None:
        expect = 1 + len(feature_shape)
        if arr.ndim != expect or tuple(arr.shape[1:]) != tuple(feature_shape):
            raise ValueError(
                f"{name} must have shape (n_samples, {', '.join(map(str, feature_shape))})"
                f", got {arr.shape}"
            )
        arr = arr.reshape(len(arr), -1) if arr.size else arr.reshape(len(arr), 0)
    elif arr.ndim != 2:
        if arr.ndim == 1:
            raise ValueError(
                f"Expected a 2-D array for {name}, got a 1-D array of shape {arr.shape}. "
                "Reshape your data with X.reshape(-1, 1) if it has a single feature "
                "or X.reshape(1, -1) if it is a single sample."
            )
        raise ValueError(f"Expected a 2-D array for {name}, got {arr.ndim}-D of shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 samples (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 features (shape {arr.shape})")
    if n_features is not None and feature_shape is None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features, but the network's first layer "
            f"expects {n_features}"
        )
    return _converted(arr, dtype, name, finite)


def _converted(arr: np.ndarray, dtype: np.dtype, name: str, finite: bool = True) -> np.ndarray:
    """``arr`` as a C-contiguous array of ``dtype``, finite: NaN and infinity
    are refused, and so are finite values the dtype cannot hold (float32's
    largest is about 3.4e38), by name. ``finite=False``: ``arr`` itself,
    when it needs no conversion, is not searched (its caller does that)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(arr, dtype=dtype)
    if not finite and np.may_share_memory(out, arr):  # arr as it was, or a view of it
        return out
    try:
        check_finite(out, name)
    except ValueError:
        if out is not arr and np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all():
            raise ValueError(
                f"{name} holds values too large for {np.dtype(dtype).name} (largest "
                f"{np.finfo(dtype).max:.3g}); use dtype='float64' or scale {name}"
            ) from None
        raise
    return out


def check_targets(
    y: Any, loss: str, n_out: int, n_samples: int, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, Y) for the kernels: int64 labels for cross-entropy, else
    float targets of shape (n_samples, n_out). The unused one is empty."""
    arr = _as_numeric_array(y, "y")
    if arr.ndim == 0:
        raise ValueError("y must be an array with one entry per sample, got a scalar")
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"X and y have different numbers of samples: {n_samples} and {arr.shape[0]}"
        )
    if loss == "cross_entropy":
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"cross_entropy takes y as integer class labels of shape (n_samples,), "
                f"got shape {arr.shape} (one-hot targets: pass y.argmax(axis=1))"
            )
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError("y contains NaN or infinity")
            if not np.all(arr == np.round(arr)):
                raise ValueError(
                    "cross_entropy takes integer class labels; y has fractional values"
                )
        labels = np.ascontiguousarray(arr, dtype=np.int64)
        low, high = (
            (min(labels.tolist()), max(labels.tolist()))
            if len(labels) <= 16
            else (labels.min(), labels.max())
        )
        if low < 0 or high >= n_out:
            bad = (labels < 0) | (labels >= n_out)
            raise ValueError(
                f"unknown label {labels[bad][0]}: the output layer has {n_out} classes, "
                f"so labels must lie in 0..{n_out - 1}"
            )
        return labels, _empty_targets(n_out, dtype)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_out:
        raise ValueError(
            f"y must have shape ({n_samples}, {n_out}) to match the output layer, got {np.shape(y)}"
        )
    Y = _converted(arr, dtype, "y")
    empty_labels = _EMPTY_LABELS
    if loss == "binary_cross_entropy" and not np.isin(Y, (0, 1)).all():
        bad = Y[~np.isin(Y, (0, 1))][0]
        raise ValueError(f"binary_cross_entropy takes y in {{0, 1}}; got the value {bad}")
    return empty_labels, Y


_EMPTY_LABELS = np.empty(0, dtype=np.int64)
_EMPTY_TARGETS: dict = {}


def engine_targets(
    y: Any, loss: str, n_out: int, n_samples: int, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """``check_targets``, with a shortcut for class labels already as the
    kernels take them (int64, 1-D, C-contiguous; their range is checked in
    the kernels): (labels, Y) for ``_training.run``."""
    if (
        loss == "cross_entropy"
        and type(y) is np.ndarray
        and y.dtype == np.int64
        and y.ndim == 1
        and y.flags.c_contiguous
        and len(y) == n_samples
    ):
        return y, _empty_targets(n_out, dtype)
    return check_targets(y, loss, n_out, n_samples, dtype)


def _empty_targets(n_out: int, dtype: np.dtype) -> np.ndarray:
    key = (n_out, dtype)
    out = _EMPTY_TARGETS.get(key)
    if out is None:
        out = _EMPTY_TARGETS[key] = np.empty((0, n_out), dtype=dtype)
    return out


def check_epochs(epochs: Any) -> int:
    return check_int(epochs, "epochs", 0)


def check_batch_size(batch_size: Any) -> int | None:
    return check_int(batch_size, "batch_size", 1, allow_none=True)


# ---------------------------------------------------------------- the lecture's machines
def check_points(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The regression machine's points: x and y as float64 arrays (n,), one
    length, at least 2 points, finite."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"x and y must be 1-D arrays, got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"x and y have different lengths: {len(x)} and {len(y)}")
    if len(x) < 2:
        raise ValueError("the regression machine needs at least 2 points")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite (no NaN or infinity)")
    return x, y


def check_samples(X: Any) -> np.ndarray:
    """The perceptron's ``X`` as a C-contiguous float64 array of shape
    (n_samples, n_features)."""
    X = np.asarray(X)
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"X must hold numbers, got an array of dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got shape {X.shape}; "
            "use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError("X must be finite: it holds NaN or infinity")
    return X


def check_01_labels(y: Any, n_samples: int) -> np.ndarray:
    """The perceptron's ``y`` as int64 labels 0/1 of shape (n_samples,)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}")
    if len(y) != n_samples:
        raise ValueError(
            f"X and y must have the same number of samples, got {n_samples} and {len(y)}"
        )
    bad = sorted({repr(v) for v in y.tolist() if v not in (0, 1)})  # True/False pass as 1/0
    if bad:
        raise ValueError(f"labels must be 0 or 1 (or bools), got {', '.join(bad)}")
    return y.astype(np.int64)


# ---------------------------------------------------------------- the network's architecture
def check_architecture(layers: Any, layer_type: type, seed: Any) -> int | None:
    """A list of fastnn layers (``layer_type``) that a new network can own:
    none owned by another network, dropout only between layers, softmax only
    last; and the seed (a non-negative integer or None), returned as int."""
    if isinstance(layers, layer_type) or not isinstance(layers, (list, tuple)):
        raise TypeError("layers must be a list of layers, e.g. [Dense(4, 8), Dense(8, 1)]")
    if len(layers) == 0:
        raise ValueError("a network needs at least one layer")
    for i, layer in enumerate(layers):
        if not isinstance(layer, layer_type):
            raise TypeError(f"layer {i} is {layer!r}, not a fastnn layer")
        if any(layer is earlier for earlier in layers[:i]):
            raise ValueError(
                f"layer {i} ({layer!r}) is the same object as an earlier layer; each "
                "position needs its own layer (its own weights): create a new one"
            )
        if layer._owner is not None:
            raise ValueError(
                f"layer {i} ({layer!r}) already belongs to another network; "
                "create a new layer object"
            )
        if layer.kind == "dropout" and i in (0, len(layers) - 1):
            raise ValueError(
                f"layer {i} ({layer!r}): dropout is for hidden layers; "
                "it cannot be the first or the last layer"
            )
        if layer.activation == "softmax" and i != len(layers) - 1:
            raise ValueError(
                f"layer {i} ({layer!r}): softmax is for the output layer only; "
                "use relu, tanh or sigmoid in hidden layers"
            )
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
    ):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return None if seed is None else int(seed)


def check_loss_fits_output(loss: str, out_activation: str | None, n_out: int) -> None:
    """The loss and the output layer agree: cross-entropy on a softmax of at
    least 2 classes, binary cross-entropy on a sigmoid."""
    if loss == "cross_entropy":
        if out_activation != "softmax":
            raise ValueError(
                "loss 'cross_entropy' needs a softmax output layer "
                f"(the output layer has activation {out_activation!r})"
            )
        if n_out < 2:
            raise ValueError("cross_entropy needs at least 2 output classes")
    if loss == "binary_cross_entropy" and out_activation != "sigmoid":
        raise ValueError(
            "loss 'binary_cross_entropy' needs a sigmoid output layer "
            f"(the output layer has activation {out_activation!r})"
        )


# ------------------------------------------------ the arrays that fastnn.plot draws
# Figures take points, curves and images as plain floats (no model dtype).


def check_vector(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D float array, e.g. the x or y of a scatter."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def check_points_2d(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Points in the plane and their labels: X (n_samples, 2) of floats, y (n_samples,)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n_samples, 2), got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    return X, y


def check_images(images: Any) -> np.ndarray:
    """Images as an array (n, h, w) of floats, from (n, h, w), (n, h*w) or (n, 1, h, w)."""
    imgs = np.asarray(images, dtype=float)
    if imgs.ndim == 4 and imgs.shape[1] == 1:  # (n, 1, h, w), as a Conv2D network takes them
        imgs = imgs[:, 0]
    if imgs.ndim == 2:
        side = int(round(np.sqrt(imgs.shape[1])))
        if side * side != imgs.shape[1]:
            raise ValueError(f"flat images need a square number of pixels, got {imgs.shape[1]}")
        imgs = imgs.reshape(len(imgs), side, side)
    if imgs.ndim != 3:
        raise ValueError(f"images must have shape (n, h, w) or (n, h*w), got {imgs.shape}")
    return imgs


# ---------------------------------------------------------------- the estimators' X and y
# MLPClassifier and MLPRegressor take what scikit-learn's estimators take
# (lists, object arrays of numbers, data frames with string column names)
# and refuse what they refuse, in scikit-learn's words; X leaves as check_X
# makes it.


def is_sparse(X: Any) -> bool:
    """A SciPy sparse matrix or array (without importing scipy.sparse)."""
    module = type(X).__module__ or ""
    return module.startswith("scipy.sparse") or (hasattr(X, "tocsr") and hasattr(X, "nnz"))


def _frame_feature_names(X: Any) -> np.ndarray | None:
    """Column names of a data frame, if all are strings (else None)."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) and all(isinstance(c, str) for c in names):
        return names
    return None


def check_estimator_X(
    X: Any, dtype: np.dtype, name: str, n_features: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """X of an estimator as a C-contiguous (n_samples, n_features) array of
    the model dtype, and its column names (a data frame's, else None).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    dtype : numpy.dtype
        The model dtype.
    name : str
        The estimator's class name, for the messages.
    n_features : int or None
        The number of features seen at fit (None: the first pass).
    """
    names = None
    if isinstance(X, np.ndarray):
        arr = X
    else:
        if is_sparse(X):
            raise TypeError(
                f"Sparse data was passed to {name}, but dense data is required: "
                "the engine works on dense arrays. Use X.toarray() to convert it."
            )
        names = _frame_feature_names(X)
        arr = np.asarray(X)
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} takes real X")
    if kind == "O":
        arr = arr.astype(np.float64)  # numbers held as objects; else TypeError
    elif kind in "USV":
        raise ValueError(
            f"{name} takes numeric X, got an array of dtype {arr.dtype}. "
            "Encode the data as numbers first."
        )
    if arr.ndim == 2:
        n, d = arr.shape
        for size, what in ((n, "sample"), (d, "feature")):
            if size == 0:
                raise ValueError(
                    f"Found array with 0 {what}(s) (shape={arr.shape}) "
                    f"while a minimum of 1 is required by {name}."
                )
        if n_features is not None and d != n_features:
            raise ValueError(
                f"X has {d} features, but {name} is expecting {n_features} features as input."
            )
    return check_X(arr, dtype), names  # 1-D input, conversion, NaN and infinity


def check_feature_names(fitted: np.ndarray | None, names: np.ndarray | None, name: str) -> str:
    """Refuse column names other than those seen at fit; return the text of
    the warning due when only one of the two had names (else "")."""
    if fitted is None and names is not None:
        return f"X has feature names, but {name} was fitted without feature names"
    if fitted is not None and names is None:
        return f"X does not have valid feature names, but {name} was fitted with feature names"
    if fitted is not None and (len(fitted) != len(names) or (fitted != names).any()):
        raise ValueError("The feature names should match those that were passed during fit.")
    return ""


def check_estimator_y(y: Any, n_samples: int, name: str) -> tuple[np.ndarray, bool]:
    """y of an estimator as an array of 1 or 2 dimensions with n_samples
    rows, and whether it was a column vector made 1-D (scikit-learn warns)."""
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    if not isinstance(y, np.ndarray) and is_sparse(y):
        raise TypeError(f"Sparse targets were passed to {name}; use y.toarray().")
    arr = y if isinstance(y, np.ndarray) else np.asarray(y)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} takes real y")
    column = arr.ndim == 2 and arr.shape[1] == 1
    if column:
        arr = arr[:, 0]
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got shape {arr.shape}"
        )
    if arr.shape[0] != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of "
            f"samples: [{n_samples}, {arr.shape[0]}]"
        )
    return arr, column


def check_regression_targets(arr: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """A regressor's y (from check_estimator_y) as a C-contiguous
    (n_samples, n_outputs) array of the model dtype, finite."""
    if arr.dtype.kind == "O":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} takes numeric y, got dtype {arr.dtype}")
    Y = np.ascontiguousarray(arr.reshape(len(arr), -1), dtype=dtype)  # (n, n_outputs)
    if not np.isfinite(Y).all():
        bad = "NaN" if np.isnan(Y).any() else "infinity or a value too large"
        raise ValueError(f"Input y contains {bad}.")
    return Y
