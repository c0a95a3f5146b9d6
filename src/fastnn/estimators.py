"""Estimators in scikit-learn's style: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's estimator conventions (parameters stored as given
by ``__init__`` and checked at ``fit``, ``get_params``/``set_params``,
fitted attributes ending in ``_``, ``NotFittedError``) and scikit-learn's
defaults for every parameter the two libraries share, so that they drop into
``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and ``clone``. They do
not inherit from scikit-learn: importing fastnn never imports it. The hooks
scikit-learn looks for (``__sklearn_tags__``, ``_more_tags``,
``__sklearn_is_fitted__``) import it lazily, inside themselves.

Training runs on the engine: every pass over the data is
``Sequential.fit(..., batch_size=..., optimizer=<kept object>, shuffle=...)``,
several epochs at a time when the stopping rule cannot fire in between.

How scikit-learn's objective maps onto the engine
-------------------------------------------------
scikit-learn minimises, per batch of m rows, ``c * L + alpha / (2 m) * sum(W**2)``
(weights only, not biases), where L is the engine's loss of the same name
and c a constant: 1 for softmax and binary outputs, the number of labels
for multilabel outputs (scikit-learn sums the binary losses over the
labels), and for regression 1/2 in the reported loss but ``n_outputs / 2``
in the gradient (its squared loss averages over the outputs, its gradient
sums over them). The engine's optimizers reproduce that step exactly with

- ``lr = learning_rate_init * c`` for SGD (momentum and Nesterov included),
  ``lr = learning_rate_init`` and ``eps = epsilon / c`` for Adam;
- ``l2 = alpha / c``: the optimizers' weights-only L2 term, which adds
  ``l2 * W / m`` to the gradient of every weight matrix of a batch of m rows
  (the last, smaller batch of an epoch included), the biases left alone.

The starting weights are scikit-learn's draws for the same random_state
(``_glorot_weights``). From them, with SGD and the batches in the same order
(shuffle=False), the weights are scikit-learn's to rounding, with or without
alpha, except with momentum under a changing rate (scikit-learn's velocity
keeps each past step's rate; the engine's buffer is rescaled by the current
one).
One difference remains for Adam, far below the stopping rule's tolerance:
it adds ``eps`` after the bias correction, as PyTorch does, where
scikit-learn adds it before. The engine's step losses include the penalty
``l2 / (2 m) * sum(W**2)``, so ``loss_curve_`` is scikit-learn's exactly,
except for multi-output regression, where the reported loss and the gradient
scale differently: there the rest of the penalty interpolates ``sum(W**2)``
between the start and the end of each call to the engine (exact for a call
of one step).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import operator
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ._validation import check_X
from .layers import Dense, layer_from_config
from .network import Sequential, TrainingDiverged
from .optim import Adam, Optimizer, _SklearnSGD, optimizer_from_settings
from .perceptron import ConvergenceWarning

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "DataConversionWarning",
    "InvalidParameterError",
]

_SEED_MAX = 2**31 - 1  # seeds drawn from a random_state lie in [0, _SEED_MAX)
_AUTO_BATCH = 200  # batch_size="auto" means min(200, n_samples)
_MIN_ADAPTIVE_LR = 1e-6  # learning_rate="adaptive" stops below this


# ---------------------------------------------------------------- exceptions
class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``.

    Subclasses both ``ValueError`` and ``AttributeError``, as scikit-learn's
    ``NotFittedError`` does. When scikit-learn is already imported, the
    error raised is also an instance of ``sklearn.exceptions.NotFittedError``.
    """


class DataConversionWarning(UserWarning):
    """Input was converted to another form (e.g. a column vector y to 1-D)."""


class InvalidParameterError(ValueError, TypeError):
    """A parameter of an estimator has a wrong type or value (checked at fit)."""


_TWINS: dict[type, type] = {}


def _with_sklearn_twin(cls: type, sklearn_name: str) -> type:
    """``cls``, or, when scikit-learn is already imported, a subclass of both
    ``cls`` and ``sklearn.exceptions.<sklearn_name>``.

    Code that catches or filters scikit-learn's class (``except
    NotFittedError``, ``ignore_warnings(category=ConvergenceWarning)``)
    then sees fastnn's as its own, without fastnn importing scikit-learn.
    """
    sk_exceptions = sys.modules.get("sklearn.exceptions")
    if sk_exceptions is None:
        return cls
    twin = _TWINS.get(cls)
    if twin is None:
        base = getattr(sk_exceptions, sklearn_name, None)
        if not isinstance(base, type) or issubclass(cls, base):
            return cls
        twin = type(
            cls.__name__,
            (cls, base),
            {
                "__module__": cls.__module__,
                "__doc__": cls.__doc__,
                "__qualname__": cls.__qualname__,
                # pickles (joblib workers) as the plain fastnn class
                "__reduce__": lambda self: (cls, self.args),
            },
        )
        _TWINS[cls] = twin
    return twin


def _outside_level() -> int:
    """The stacklevel of the first caller outside this module (the user's line)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _warn(message: str, category: type, sklearn_name: str = "") -> None:
    cls = _with_sklearn_twin(category, sklearn_name) if sklearn_name else category
    warnings.warn(message, cls, stacklevel=_outside_level())


# ---------------------------------------------------------------- small helpers
class _AvailableIf:
    """A method that exists only when ``check(obj)`` holds (``hasattr`` is
    False otherwise), like ``sklearn.utils.metaestimators.available_if``."""

    def __init__(self, fn: Callable, check: Callable[[Any], bool]):
        self.fn = fn
        self.check = check
        functools.update_wrapper(self, fn)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is not None:
            self.check(obj)  # raises AttributeError
            return self.fn.__get__(obj, owner)
        return self.fn


def _stochastic_only(obj: Any) -> bool:
    if obj.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers "
            f"(solver='sgd' or 'adam'); {obj.solver!r} is not stochastic."
        )
    return True


def _check_random_state(seed: Any) -> Any:
    """A NumPy random source from ``random_state``, as scikit-learn reads it:
    None is NumPy's global RandomState, an int seeds a new RandomState, a
    RandomState (or Generator) is used as it is."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if _is_int_seed(seed):
        return np.random.RandomState(int(seed))
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    raise InvalidParameterError(
        f"random_state must be None, an int or a numpy RandomState, got {seed!r}"
    )


def _is_int_seed(seed: Any) -> bool:
    return isinstance(seed, numbers.Integral) and not isinstance(seed, bool)


def _draw_seed(rng: Any) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, _SEED_MAX))
    return int(rng.randint(0, _SEED_MAX))


def _is_sparse(X: Any) -> bool:
    module = type(X).__module__ or ""
    return module.startswith("scipy.sparse") or (
        hasattr(X, "tocsr") and hasattr(X, "nnz")
    )


def _feature_names(X: Any) -> np.ndarray | None:
    """Column names of a data frame, if all are strings (else None)."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) and all(isinstance(c, str) for c in names):
        return names
    return None


def _weights_sumsq(net: Sequential) -> float:
    """sum(W**2) over every layer's weights (biases left out)."""
    total = 0.0
    for layer in net.layers:
        if layer.W is not None:
            w = layer.W.reshape(-1)
            total += float(np.dot(w, w))
    return total


def _r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """R^2 averaged over the outputs, as scikit-learn's r2_score does by default."""
    y = y.reshape(len(y), -1).astype(np.float64)
    pred = pred.reshape(len(pred), -1).astype(np.float64)
    ss_res = ((y - pred) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.ones(y.shape[1])
    ok = ss_tot != 0
    scores[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    scores[~ok & (ss_res != 0)] = 0.0  # constant y, imperfect fit
    return float(scores.mean())


def _glorot_weights(sizes: list[int], rng: Any, activation: str) -> list[tuple]:
    """Starting weights and biases of a dense network, drawn as scikit-learn's
    MLPs draw them.

    The rule is Glorot and Bengio's uniform initialisation ("Understanding the
    difficulty of training deep feedforward neural networks", AISTATS 2010,
    eq. 16), applied as ``sklearn.neural_network.MLPClassifier`` applies it:
    for each layer in turn, W of shape (fan_in, fan_out) and then b of shape
    (fan_out,), both uniform on [-bound, bound] and drawn in float64 from the
    estimator's random state, with ``bound = sqrt(6 / (fan_in + fan_out))``,
    or ``sqrt(2 / (fan_in + fan_out))`` when the hidden activation is the
    logistic function (the output layer takes the hidden layers' factor).
    The same integer random_state thus starts from scikit-learn's very
    weights (checked against its ``coefs_`` and ``intercepts_`` in
    tests/test_estimator_fidelity.py).

    Parameters
    ----------
    sizes : list of int
        Units of every layer, input first: ``[n_in, *hidden, n_out]``.
    rng : numpy.random.RandomState or numpy.random.Generator
    activation : str
        The engine's name of the hidden activation ("sigmoid" is logistic).

    Returns
    -------
    list of (W, b)
        Per layer, W of shape (fan_in, fan_out) and b of shape (fan_out,).
    """
    factor = 2.0 if activation == "sigmoid" else 6.0
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = math.sqrt(factor / (fan_in + fan_out))
        W = rng.uniform(-bound, bound, (fan_in, fan_out))  # (fan_in, fan_out)
        b = rng.uniform(-bound, bound, fan_out)  # (fan_out,)
        out.append((W, b))
    return out


_RECORD_LISTS = ("loss_curve_", "validation_scores_")  # appended to, never rebuilt


class _Undo:
    """What a call to fit or partial_fit may change, taken before the call so
    that a call that raises can put all of it back.

    That is the estimator's attributes (fitted ones and private records; a
    first fit that fails leaves the estimator unfitted), the network's
    parameters and shuffling state, and the optimizer's rate, L2 term and
    state for the network. A RandomState given by the user as random_state
    is the user's: what a failed call drew from it is not given back.

    ``one_engine_call``: the call trains through a single call into the
    engine (partial_fit), which puts the network and the optimizer's state
    back itself when it raises (``TrainingDiverged``), so their arrays need
    no copy here (a copy would cost as much as the step of a one-row chunk
    on a large network). Nothing after that call raises, except a
    "Training interrupted by user" warning that the user has made an error:
    that partial_fit keeps its finished steps, as an interrupted fit does.
    """

    def __init__(self, est: Any, one_engine_call: bool):
        self.attrs = dict(est.__dict__)
        self.lengths = [
            (k, len(v)) for k in _RECORD_LISTS if type(v := self.attrs.get(k)) is list
        ]
        net = self.attrs.get("net_")
        opt = self.attrs.get("_optimizer")
        self.net = self.opt_state = self.opt_settings = None
        if net is not None and not one_engine_call:
            self.net = (net.params.copy(), net._rng_state.copy())
            if opt is not None:
                self.opt_state = opt.state_for(net).snapshot()
        if opt is not None:  # the settings the estimator changes on a kept optimizer
            self.opt_settings = (opt.lr, opt.l2)

    def restore(self, est: Any) -> None:
        est.__dict__.clear()
        est.__dict__.update(self.attrs)
        for k, n in self.lengths:
            del self.attrs[k][n:]
        net, opt = self.attrs.get("net_"), self.attrs.get("_optimizer")
        if self.net is not None:
            net.params[...] = self.net[0]
            net._rng_state[...] = self.net[1]
        if self.opt_state is not None:
            opt.state_for(net).restore(self.opt_state)
        if self.opt_settings is not None:
            opt.lr, opt.l2 = self.opt_settings


# ---------------------------------------------------------------- settings
_ACTIVATIONS = {
    "identity": "identity",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
}
_SOLVERS = ("lbfgs", "sgd", "adam")
_LEARNING_RATES = ("constant", "invscaling", "adaptive")


@dataclass
class _Settings:
    """The estimator's parameters, checked once per call to fit/partial_fit."""

    estimator: str
    hidden_layer_sizes: Any
    activation: Any
    solver: Any
    alpha: Any
    batch_size: Any
    learning_rate: Any
    learning_rate_init: Any
    power_t: Any
    max_iter: Any
    shuffle: Any
    random_state: Any
    tol: Any
    verbose: Any
    warm_start: Any
    momentum: Any
    nesterovs_momentum: Any
    early_stopping: Any
    validation_fraction: Any
    beta_1: Any
    beta_2: Any
    epsilon: Any
    n_iter_no_change: Any
    max_fun: Any
    dtype: Any
    loss: Any = None

    def _fail(self, name: str, must: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"The {name!r} parameter of {self.estimator} must be {must}. "
            f"Got {getattr(self, name)!r} instead."
        )

    def _int(self, name: str, low: int) -> int:
        v = getattr(self, name)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            raise self._fail(name, f"an int in the range [{low}, inf)")
        return int(v)

    def _real(
        self,
        name: str,
        low: float,
        high: float = math.inf,
        low_open: bool = False,
        high_open: bool = True,
    ) -> float:
        v = getattr(self, name)
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        must = f"a float in the range {left}{low}, {high}{right}"
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise self._fail(name, must)
        v = float(v)
        if (
            math.isnan(v)
            or v < low
            or (low_open and v == low)
            or v > high
            or (high_open and v == high)
        ):
            raise self._fail(name, must)
        return v

    def _bool(self, name: str) -> bool:
        v = getattr(self, name)
        if not isinstance(v, (bool, np.bool_)):
            raise self._fail(name, "an instance of 'bool'")
        return bool(v)

    def _choice(self, name: str, options: tuple) -> str:
        v = getattr(self, name)
        if not isinstance(v, str) or v not in options:
            raise self._fail(
                name, "a str among {" + ", ".join(map(repr, options)) + "}"
            )
        return v

    def __post_init__(self) -> None:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (numbers.Integral, np.integer)) and not isinstance(
            sizes, bool
        ):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise self._fail(
                "hidden_layer_sizes", "an int or an array-like of ints"
            ) from None
        if any(
            isinstance(h, bool) or not isinstance(h, numbers.Integral) or h <= 0
            for h in sizes
        ):
            raise InvalidParameterError(
                f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes!r}."
            )
        self.hidden_layer_sizes = tuple(int(h) for h in sizes)
        self.activation = _ACTIVATIONS[self._choice("activation", tuple(_ACTIVATIONS))]
        self.solver = self._choice("solver", _SOLVERS)
        self.alpha = self._real("alpha", 0.0)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            v = self.batch_size
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise self._fail("batch_size", "'auto' or an int in the range [1, inf)")
            self.batch_size = int(v)
        self.learning_rate = self._choice("learning_rate", _LEARNING_RATES)
        self.learning_rate_init = self._real("learning_rate_init", 0.0, low_open=True)
        self.power_t = self._real("power_t", 0.0)
        self.max_iter = self._int("max_iter", 1)
        self.shuffle = self._bool("shuffle")
        self.tol = self._real("tol", 0.0)
        v = self.verbose
        if not isinstance(v, (bool, np.bool_, numbers.Integral)):
            raise self._fail("verbose", "an int or a bool")
        self.verbose = bool(v)
        self.warm_start = self._bool("warm_start")
        self.momentum = self._real("momentum", 0.0, 1.0, high_open=False)
        self.nesterovs_momentum = self._bool("nesterovs_momentum")
        self.early_stopping = self._bool("early_stopping")
        self.validation_fraction = self._real("validation_fraction", 0.0, 1.0)
        self.beta_1 = self._real("beta_1", 0.0, 1.0)
        self.beta_2 = self._real("beta_2", 0.0, 1.0)
        self.epsilon = self._real("epsilon", 0.0, low_open=True)
        self.n_iter_no_change = self._int("n_iter_no_change", 1)
        self.max_fun = self._int("max_fun", 1)
        if not _is_float_dtype(self.dtype):
            raise self._fail("dtype", "'float32' or 'float64'")
        self.dtype = np.dtype(self.dtype)
        if self.loss is not None:
            if isinstance(self.loss, str) and self.loss == "poisson":
                raise InvalidParameterError(
                    "loss='poisson' is not available in fastnn (the engine has no "
                    "exponential output and Poisson deviance); use "
                    "loss='squared_error'."
                )
            self._choice("loss", ("squared_error",))
        rs = self.random_state
        if not (
            rs is None
            or rs is np.random
            or (_is_int_seed(rs) and 0 <= rs < 2**32)
            or isinstance(rs, (np.random.RandomState, np.random.Generator))
        ):
            raise InvalidParameterError(
                "random_state must be None, an int in [0, 2**32) or a numpy "
                f"RandomState, got {rs!r}"
            )


def _is_float_dtype(dtype: Any) -> bool:
    """float32 or float64, as a name, a NumPy type or a dtype."""
    if isinstance(dtype, str) or dtype is np.float32 or dtype is np.float64:
        try:
            return np.dtype(dtype).name in ("float32", "float64")
        except TypeError:
            return False
    return isinstance(dtype, np.dtype) and dtype.name in ("float32", "float64")


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


def _no_change_msg(s: _Settings) -> str:
    what = "Validation score" if s.early_stopping else "Training loss"
    return (
        f"{what} did not improve more than tol={s.tol:f} for "
        f"{s.n_iter_no_change} consecutive epochs."
    )


# ---------------------------------------------------------------- the base
class _BaseMLP:
    """What MLPClassifier and MLPRegressor share: parameters, validation,
    the network, the solvers. Not public."""

    _estimator_type: str = ""  # read by scikit-learn < 1.6

    # ------------------------------------------------ parameters (sklearn API)
    @classmethod
    def _get_param_names(cls) -> list[str]:
        return list(cls._param_names_and_getter()[0])

    @classmethod
    def _param_names_and_getter(cls) -> tuple[tuple[str, ...], Callable]:
        cached = cls.__dict__.get("_param_names_cache")
        if cached is None:
            sig = inspect.signature(cls.__init__)
            names = tuple(
                sorted(
                    p.name
                    for p in sig.parameters.values()
                    if p.name != "self" and p.kind != p.VAR_KEYWORD
                )
            )
            cached = (names, operator.attrgetter(*names))
            cls._param_names_cache = cached
        return cached

    def get_params(self, deep: bool = True) -> dict:
        """The parameters of this estimator, by name.

        Parameters
        ----------
        deep : bool, default True
            Also return the parameters of parameters that are estimators
            themselves, as ``name__subname`` (none here: kept for the
            convention).
        """
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for key, sub in value.get_params().items():
                    out[f"{name}__{key}"] = sub
            out[name] = value
        return out

    def set_params(self, **params: Any) -> _BaseMLP:
        """Set parameters by name (``name__subname`` for nested ones); returns self.

        Nothing is checked here: parameters are checked when ``fit`` runs.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self}. "
                    f"Valid parameters are: {self._get_param_names()!r}."
                )
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            value = getattr(self, p.name, p.default)
            try:
                same = value is p.default or bool(value == p.default)
            except (ValueError, TypeError):
                same = False
            if not same or type(value) is not type(p.default):
                parts.append(f"{p.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # ------------------------------------------------ scikit-learn hooks
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import (
            ClassifierTags,
            InputTags,
            RegressorTags,
            Tags,
            TargetTags,
        )

        is_clf = self._estimator_type == "classifier"
        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(
                required=True, multi_output=not is_clf, single_output=True
            ),
            classifier_tags=ClassifierTags(multi_label=True) if is_clf else None,
            regressor_tags=None if is_clf else RegressorTags(),
            input_tags=InputTags(),
        )

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        if self._estimator_type == "classifier":
            return {"multilabel": True, "requires_y": True}
        return {"multioutput": True, "requires_y": True}

    # ------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        # A Sequential's layer.W / layer.b are views into its params, which
        # pickle would copy apart, and a used optimizer holds weak references:
        # store both as plain arrays and rebuild them on load.
        state = self.__dict__.copy()
        state.pop("_settings_cache", None)
        net = state.pop("net_", None)
        if net is not None:
            state["_net_state"] = (net.config(), net.params, net._rng_state)
        opt = state.pop("_optimizer", None)
        if opt is not None and net is not None:
            state["_optimizer_state"] = (
                type(opt).__name__,
                opt.settings(),
                opt.state_for(net).snapshot(),
            )
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        net_state = state.pop("_net_state", None)
        opt_state = state.pop("_optimizer_state", None)
        self.__dict__.update(state)
        if net_state is not None:
            config, params, rng_state = net_state
            layers = [layer_from_config(c) for c in config["layers"]]
            net = Sequential(
                layers, loss=config["loss"], dtype=config["dtype"], seed=config["seed"]
            )
            net.params[...] = params
            net._rng_state[...] = rng_state
            self.net_ = net
            if opt_state is not None:
                kind, settings, snapshot = opt_state
                opt = optimizer_from_settings(kind, settings)
                opt.state_for(net).restore(snapshot)
                self._optimizer = opt

    # ------------------------------------------------ fitted views
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, ``coefs_[i]`` of shape (n_units[i], n_units[i+1]):
        writable views of the network's parameters."""
        self._check_fitted()
        return [layer.W for layer in self.net_.layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, ``intercepts_[i]`` of shape (n_units[i+1],): views."""
        self._check_fitted()
        return [layer.b for layer in self.net_.layers]

    @property
    def model_(self) -> Sequential:
        """The same network as ``net_``."""
        self._check_fitted()
        return self.net_

    # ------------------------------------------------ validation
    def _settings(self) -> _Settings:
        """The checked parameters. Checked again whenever one was rebound
        (set_params, assignment) or holds a mutable container."""
        names, getter = self._param_names_and_getter()
        values = getter(self)
        cache = self.__dict__.get("_settings_cache")
        if cache is not None and all(map(operator.is_, cache[0], values)):
            return cache[1]
        settings = _Settings(estimator=type(self).__name__, **dict(zip(names, values)))
        if not any(isinstance(v, (list, dict, set, np.ndarray)) for v in values):
            self._settings_cache = (values, settings)
        return settings

    def _check_fitted(self) -> None:
        if "net_" not in self.__dict__:
            error = _with_sklearn_twin(NotFittedError, "NotFittedError")
            raise error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )

    def _validate_X(self, X: Any, reset: bool, dtype: np.dtype) -> np.ndarray:
        """X as a C-contiguous (n_samples, n_features) array of the model dtype."""
        name = type(self).__name__
        names = None
        if isinstance(X, np.ndarray):
            arr = X
        else:
            if _is_sparse(X):
                raise TypeError(
                    f"Sparse data was passed to {name}, but dense data is required: "
                    "the engine works on dense arrays. Use X.toarray() to convert it."
                )
            names = _feature_names(X)
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
            if n == 0:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={arr.shape}) "
                    f"while a minimum of 1 is required by {name}."
                )
            if d == 0:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={arr.shape}) "
                    f"while a minimum of 1 is required by {name}."
                )
            if not reset and d != self.n_features_in_:
                raise ValueError(
                    f"X has {d} features, but {name} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        Xc = check_X(arr, dtype)  # 1-D input, conversion, NaN and infinity
        if reset:
            self.n_features_in_ = Xc.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            else:
                self.__dict__.pop("feature_names_in_", None)
        else:
            self._check_feature_names(names)
        return Xc

    def _check_feature_names(self, names: np.ndarray | None) -> None:
        fitted = self.__dict__.get("feature_names_in_")
        name = type(self).__name__
        if fitted is None and names is not None:
            _warn(
                f"X has feature names, but {name} was fitted without feature names",
                UserWarning,
            )
        elif fitted is not None and names is None:
            _warn(
                f"X does not have valid feature names, but {name} was "
                "fitted with feature names",
                UserWarning,
            )
        elif fitted is not None and (
            len(fitted) != len(names) or (fitted != names).any()
        ):
            raise ValueError(
                "The feature names should match those that were passed during fit."
            )

    def _y_array(self, y: Any, n_samples: int) -> np.ndarray:
        """y as an array of 1 or 2 dimensions with n_samples rows."""
        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"{name} requires y to be passed, but the target y is None."
            )
        if not isinstance(y, np.ndarray) and _is_sparse(y):
            raise TypeError(f"Sparse targets were passed to {name}; use y.toarray().")
        arr = y if isinstance(y, np.ndarray) else np.asarray(y)
        if arr.dtype.kind == "c":
            raise ValueError(f"Complex data not supported: {name} takes real y")
        if arr.ndim == 2 and arr.shape[1] == 1:
            _warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
                "DataConversionWarning",
            )
            arr = arr[:, 0]
        if arr.ndim not in (1, 2):
            raise ValueError(
                f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), "
                f"got shape {arr.shape}"
            )
        if arr.shape[0] != n_samples:
            raise ValueError(
                "Found input variables with inconsistent numbers of "
                f"samples: [{n_samples}, {arr.shape[0]}]"
            )
        return arr

    # ------------------------------------------------ the network
    def _build_net(self, s: _Settings, n_in: int, n_out: int, seed: int) -> Sequential:
        sizes = [n_in, *s.hidden_layer_sizes, n_out]
        layers = [
            Dense(a, b, activation=s.activation)
            for a, b in zip(sizes[:-2], sizes[1:-1])
        ]
        layers.append(Dense(sizes[-2], sizes[-1], activation=self._out_activation))
        return Sequential(layers, loss=self._engine_loss, dtype=s.dtype.name, seed=seed)

    def _batch_size(self, s: _Settings, n: int, warn: bool) -> int:
        if s.batch_size == "auto":
            return min(_AUTO_BATCH, n)
        if s.batch_size > n and warn:
            _warn(
                "Got `batch_size` less than 1 or larger than sample size. "
                "It is going to be clipped",
                UserWarning,
            )
        return min(s.batch_size, n)

    def _new_optimizer(self, s: _Settings) -> Optimizer:
        g = self._grad_scale
        self._lr = s.learning_rate_init
        if s.solver == "sgd":
            # scikit-learn's momentum rule: the velocity keeps each step's rate
            return _SklearnSGD(
                lr=s.learning_rate_init * g,
                momentum=s.momentum,
                nesterov=bool(s.nesterovs_momentum and s.momentum > 0),
            )
        return Adam(
            lr=s.learning_rate_init, betas=(s.beta_1, s.beta_2), eps=s.epsilon / g
        )

    def _initialize(self, s: _Settings, n_in: int, n_out: int) -> None:
        """A new network and fresh training records (the first pass).

        The starting weights are drawn first from the call's random state
        (``_glorot_weights``), as scikit-learn draws them, then the validation
        split. The engine's shuffling stream is seeded by an int random_state
        itself, otherwise by a seed drawn after the weights.
        """
        sizes = [n_in, *s.hidden_layer_sizes, n_out]
        start = _glorot_weights(sizes, self._call_rng(s), s.activation)
        if _is_int_seed(s.random_state):
            seed = int(s.random_state)
        else:
            seed = _draw_seed(self._call_rng(s))
        net = self._build_net(s, n_in, n_out, seed)
        for layer, (W, b) in zip(net.layers, start):
            layer.W[...] = W
            layer.b[...] = b
        self.net_ = net
        self.n_layers_ = len(s.hidden_layer_sizes) + 2
        self.n_outputs_ = n_out
        self.out_activation_ = {"sigmoid": "logistic"}.get(
            self._out_activation, self._out_activation
        )
        self.n_iter_ = 0
        self.t_ = 0
        self._optimizer = None
        if s.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if s.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None
        else:
            for attr in (
                "loss_curve_",
                "best_loss_",
                "validation_scores_",
                "best_validation_score_",
            ):
                self.__dict__.pop(attr, None)

    def _call_rng(self, s: _Settings) -> Any:
        """The random state of this call to fit/partial_fit. scikit-learn
        reads random_state anew at every call: an int gives a fresh
        RandomState(random_state) each time, a RandomState is drawn from as
        it is, None is NumPy's global one."""
        if self._rng is None:
            self._rng = _check_random_state(s.random_state)
        return self._rng

    # ------------------------------------------------ training
    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> _BaseMLP:
        """fit or partial_fit: all of it, or, if anything raises (a bad input,
        a degenerate validation split, ``TrainingDiverged``, an interrupt),
        none of it: the estimator is left as it was before the call."""
        undo = _Undo(self, one_engine_call=incremental)
        try:
            self._fit_call(X, y, incremental, classes)
        except BaseException:
            undo.restore(self)
            raise
        return self

    def _fit_call(self, X: Any, y: Any, incremental: bool, classes: Any) -> None:
        s = self._settings()
        if s.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = "net_" not in self.__dict__ or not (s.warm_start or incremental)
        dtype = s.dtype if first_pass else self.net_.dtype
        Xc = self._validate_X(X, reset=first_pass, dtype=dtype)
        T, n_out = self._encode_y(
            y, Xc.shape[0], first_pass, incremental, classes, dtype
        )
        if s.early_stopping and s.solver != "lbfgs":
            self._check_split(s, T)
        self._rng = None  # this call's random state, made when first needed
        if first_pass:
            self._initialize(s, Xc.shape[1], n_out)
        elif self.net_.n_out != n_out:
            raise ValueError(
                f"y has {n_out} outputs, but {type(self).__name__} was "
                f"fitted with {self.net_.n_out}"
            )
        if s.solver == "lbfgs":
            self._fit_lbfgs(s, Xc, T)
        else:
            self._fit_stochastic(s, Xc, T, incremental)

    def _fit_stochastic(
        self, s: _Settings, X: np.ndarray, T: np.ndarray, incremental: bool
    ) -> None:
        net = self.net_
        X_val = y_val = None
        if s.early_stopping:
            X, T, X_val, y_val = self._validation_split(s, X, T)
        n = X.shape[0]
        bs = self._batch_size(s, n, warn=not incremental)
        opt = self._optimizer
        if not incremental or opt is None or opt.name != s.solver:
            opt = self._optimizer = self._new_optimizer(s)
        g = self._grad_scale
        opt.l2 = s.alpha / g
        shuffle = s.shuffle and n > 1
        per_epoch = incremental or s.early_stopping or s.learning_rate == "invscaling"
        steps = -(-n // bs)  # steps per epoch
        c = self._loss_scale
        # The engine's step losses carry the L2 penalty at its gradient's
        # scale g; scikit-learn reports it at scale 1 next to c * L. Where
        # c != g (multi-output regression) the rest, (g - c) / g of it, is
        # added here, with sum(W**2) taken at the mean position of the
        # weights each step starts from, on the line from the start to the
        # end of the call (exact for a single step).
        extra = 0.5 * s.alpha * steps / n * (g - c) / g  # per unit of sum(W**2)

        # The stopping rule on the training loss runs inside the compiled
        # loop, so that all epochs up to the one it stops at take one call;
        # the records below replay it from the epoch losses it saw. (With a
        # penalty to add here, the loop cannot see the loss it judges.)
        in_loop = not per_epoch and not extra
        self.n_iter_ = 0
        stopped = False
        while self.n_iter_ < s.max_iter:
            if per_epoch:
                k = 1
            elif in_loop:
                k = s.max_iter - self.n_iter_
            else:
                # the rule cannot fire before the no-improvement count
                # exceeds n_iter_no_change: run the epochs up to there
                k = min(s.max_iter - self.n_iter_,
                        max(1, s.n_iter_no_change + 1 - self._no_improvement_count))
            stop = ((c, s.tol, s.n_iter_no_change, self.best_loss_, self._no_improvement_count)
                    if in_loop else None)
            sumsq0 = _weights_sumsq(net) if extra else 0.0
            # X passed _validate_X: the engine need not read every value again
            try:
                hist = net._fit_trusted(X, T, k, bs, opt, shuffle, stop=stop)
            except TrainingDiverged as exc:
                step = self.n_iter_ * steps + exc.step
                raise self._diverged(step, incremental) from None
            sumsq1 = _weights_sumsq(net) if extra and k * steps > 1 else sumsq0
            for e, epoch_loss in enumerate(hist._epoch_losses if in_loop else hist.loss):
                at = (e + (steps - 1) / (2 * steps)) / k
                self.loss_ = c * epoch_loss + extra * (sumsq0 + (sumsq1 - sumsq0) * at)
                self.loss_curve_.append(self.loss_)
                self.n_iter_ += 1
                self.t_ += n
                if s.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement(s, X_val, y_val)
                if s.learning_rate == "invscaling" and s.solver == "sgd":
                    self._lr = s.learning_rate_init / (self.t_ + 1) ** s.power_t
                    opt.lr = self._lr * g
                if self._no_improvement_count > s.n_iter_no_change:
                    if (
                        s.solver == "sgd"
                        and s.learning_rate == "adaptive"
                        and self._lr > _MIN_ADAPTIVE_LR
                    ):
                        self._lr /= 5.0
                        opt.lr = self._lr * g
                        self._no_improvement_count = 0
                        if s.verbose:
                            print(
                                f"{_no_change_msg(s)} Setting learning rate to "
                                f"{self._lr:f}"
                            )
                    else:
                        if s.verbose:
                            print(f"{_no_change_msg(s)} Stopping.")
                        stopped = True
            if hist.interrupted:
                _warn("Training interrupted by user.", UserWarning)
                stopped = True
            if stopped or incremental:
                break
        if not stopped and not incremental and self.n_iter_ == s.max_iter:
            _warn(
                f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
                "ConvergenceWarning",
            )
        if s.early_stopping:
            net.params[...] = self._best_params

    def _diverged(self, step: int, incremental: bool) -> TrainingDiverged:
        """The error to raise when the engine stopped at a non-finite loss:
        ``step`` counts the gradient steps of this call to fit/partial_fit,
        which ``_fit`` undoes as a whole."""
        call = "partial_fit" if incremental else "fit"
        return TrainingDiverged(
            f"training diverged: the loss became non-finite at step {step} of this "
            f"call to {type(self).__name__}.{call}. The estimator was restored to "
            "what it was before this call (weights, optimizer state and fitted "
            "attributes). Try a lower learning_rate_init or scale the inputs "
            "(e.g. StandardScaler).",
            step=step,
        )

    def _update_no_improvement(self, s: _Settings, X_val: Any, y_val: Any) -> None:
        if s.early_stopping:
            score = self._score_encoded(X_val, y_val)
            self.validation_scores_.append(score)
            if s.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + s.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self.net_.params.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - s.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _check_split(self, s: _Settings, T: np.ndarray) -> None:
        """Refuse an early-stopping split that cannot be scored.

        scikit-learn's rules (``BaseMultilayerPerceptron._fit_stochastic``
        and ``StratifiedShuffleSplit``): the split holds out
        ``ceil(validation_fraction * n_samples)`` rows, which must leave a
        training row and be at least 2 ("The validation set is too small"),
        since R^2 is undefined on one row. A single-output classifier's split
        is stratified by class, so that both parts hold every class (fastnn
        stratifies multiclass targets too, where scikit-learn stratifies
        binary ones only): each class needs 2 rows, and each part at least
        as many rows as there are classes.

        Parameters
        ----------
        s : _Settings
        T : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The encoded targets.
        """
        n = T.shape[0]
        f = s.validation_fraction
        n_val = math.ceil(f * n)
        n_train = n - n_val
        where = f"validation_fraction={f} of n_samples={n}"
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
        strata = self._strata(T)
        if strata is None:
            return
        index, counts = np.unique(strata, return_counts=True)
        labels = self.classes_[index.astype(np.int64)]
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

    def _validation_split(
        self, s: _Settings, X: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hold out validation_fraction of the rows (stratified by class for a
        single-output classifier), drawn from the call's random state.

        ``_check_split`` has passed: stratified, each class gets one row at
        least in each part and otherwise its share of the validation rows,
        the largest remainders rounded up. A regressor's held-out targets
        must vary in every output, or R^2 is undefined there.
        """
        n = X.shape[0]
        n_val = math.ceil(s.validation_fraction * n)
        strata = self._strata(T)
        perm = self._call_rng(s).permutation(n)
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
        if self._estimator_type == "regressor":
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
        self._best_params = self.net_.params.copy()
        return (
            np.ascontiguousarray(X[train]),
            np.ascontiguousarray(T[train]),
            np.ascontiguousarray(X[val]),
            np.ascontiguousarray(T[val]),
        )

    def _fit_lbfgs(self, s: _Settings, X: np.ndarray, T: np.ndarray) -> None:
        from scipy.optimize import minimize

        net = self.net_
        n = X.shape[0]
        c = self._grad_scale
        report = self._loss_scale / c
        slices, off = [], 0
        for layer in net.layers:
            slices.append(slice(off, off + layer.W.size))
            off += layer.W.size + layer.b.size

        def loss_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
            net.params[...] = w
            loss, grads = net.loss_and_grads(X, T)
            flat = np.concatenate(
                [part.reshape(-1) for dW, db in grads for part in (dW, db)]
            )
            flat = c * flat.astype(np.float64)
            value = c * loss
            for sl in slices:
                value += 0.5 * s.alpha / n * float(np.dot(w[sl], w[sl]))
                flat[sl] += s.alpha / n * w[sl]
            return value, flat

        res = minimize(
            loss_grad,
            net.params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": s.max_fun, "maxiter": s.max_iter, "gtol": s.tol},
        )
        net.params[...] = res.x
        self.n_iter_ = min(int(res.nit), s.max_iter)
        penalty = sum(
            0.5 * s.alpha / n * float(np.dot(res.x[sl], res.x[sl])) for sl in slices
        )
        self.loss_ = float(res.fun - penalty) * report + penalty
        if res.status != 0:
            message = (
                res.message.decode() if isinstance(res.message, bytes) else res.message
            )
            _warn(
                f"lbfgs failed to converge after {res.nit} iteration(s) "
                f"(status={res.status}): {message}. Increase the number of "
                f"iterations (max_iter={s.max_iter}) or scale the data.",
                ConvergenceWarning,
                "ConvergenceWarning",
            )

    # ------------------------------------------------ inference
    def _forward(self, X: Any) -> np.ndarray:
        """The output layer's activation, float64, (n_samples, n_out)."""
        self._check_fitted()
        Xc = self._validate_X(X, reset=False, dtype=self.net_.dtype)
        return self.net_.predict(Xc).astype(np.float64)

    # subclass interface
    _out_activation: str
    _engine_loss: str
    _grad_scale: float
    _loss_scale: float

    def _encode_y(
        self,
        y: Any,
        n: int,
        first_pass: bool,
        incremental: bool,
        classes: Any,
        dtype: np.dtype,
    ) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _strata(self, T: np.ndarray) -> np.ndarray | None:
        return None

    def _score_encoded(self, X: np.ndarray, T: np.ndarray) -> float:
        raise NotImplementedError


# ---------------------------------------------------------------- classifier
_PARAMS_DOC = """
    hidden_layer_sizes : int or tuple of int, default (100,)
        Units of each hidden layer (an empty tuple: no hidden layer).
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
        Activation of the hidden layers ("logistic" is the sigmoid).
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        "lbfgs" runs scipy's L-BFGS-B on the engine's full-batch loss and
        gradient; it has no ``partial_fit`` and no ``loss_curve_``.
    alpha : float, default 0.0001
        L2 penalty: ``alpha / (2 m) * sum of squared weights`` per batch of m
        rows (see the module docstring for how it reaches the engine).
    batch_size : int or "auto", default "auto"
        Rows per gradient step; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Schedule of the step size, for solver="sgd" only.
    learning_rate_init : float, default 0.001
    power_t : float, default 0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default 200
        Most epochs (passes over the data); for lbfgs, iterations.
    shuffle : bool, default True
        Shuffle the rows anew in every epoch.
    random_state : int, RandomState or None, default None
        Seeds the initial weights (drawn as scikit-learn draws them: the same
        int gives the same starting weights), the shuffling and the
        validation split.
    tol : float, default 1e-4
        Training stops when the loss (or the validation score) has not
        improved by at least tol for n_iter_no_change consecutive epochs.
    verbose : bool, default False
        Print the loss of every epoch.
    warm_start : bool, default False
        ``fit`` continues from the previous solution instead of starting anew.
    momentum : float, default 0.9
        For solver="sgd".
    nesterovs_momentum : bool, default True
        For solver="sgd" with momentum > 0.
    early_stopping : bool, default False
        Hold out validation_fraction of the training rows (stratified by
        class for a single-output classifier), stop when their score stops
        improving and keep the weights of the best epoch. A split that cannot
        be scored is refused with a ValueError: fewer than 2 held-out rows,
        no training row, constant held-out targets (R^2 undefined), or, for a
        classifier, a class with a single row or a part with fewer rows than
        there are classes.
    validation_fraction : float, default 0.1
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's moment decay rates.
    epsilon : float, default 1e-8
        Adam's numerical stabiliser.
    n_iter_no_change : int, default 10
    max_fun : int, default 15000
        Most loss evaluations of solver="lbfgs".
    dtype : {"float32", "float64"}, default "float32"
        The network's floating-point type (a fastnn extra).
"""


class MLPClassifier(_BaseMLP):
    __doc__ = (
        """Multi-layer perceptron classifier on fastnn's engine.

    Same parameters, defaults and fitted attributes as
    ``sklearn.neural_network.MLPClassifier`` (plus ``dtype``): a softmax
    output and cross-entropy for more than two classes, one logistic output
    for two (``predict_proba`` still gives both columns), one logistic
    output per label for a multilabel indicator y. Labels may be of any
    type scikit-learn accepts (ints, strings, bools, ...).

    Parameters
    ----------"""
        + _PARAMS_DOC
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names (a data frame).
    loss_ : float
        Loss of the last epoch (penalty included).
    loss_curve_ : list of float
        Loss of each epoch (stochastic solvers).
    best_loss_ : float or None
        Lowest loss seen (None with early stopping).
    validation_scores_ : list of float or None
        Accuracy on the held-out rows after each epoch (early stopping).
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run by the last call (1 for partial_fit, as scikit-learn).
    t_ : int
        Training samples seen, over all calls.
    coefs_, intercepts_ : list of ndarray
        Per layer, writable views of the network's weights and biases.
    n_layers_, n_outputs_ : int
    out_activation_ : str
    net_ : fastnn.Sequential
        The trained network (``model_`` is the same object).

    Examples
    --------
    >>> from fastnn.datasets import load_digits
    >>> from fastnn.estimators import MLPClassifier
    >>> X, y = load_digits()
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
    True
    """
    )

    _estimator_type = "classifier"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype="float32",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    # ------------------------------------------------ public API
    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train on (X, y) from a new network (or the last one, warm_start=True).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type, or a multilabel indicator matrix.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any, *, classes: Any = None) -> MLPClassifier:
        """One pass over the chunk (X, y), continuing the optimizer's state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,)
            Every class of the whole stream: required on the first call,
            optional (and checked) after it.

        Returns
        -------
        self
        """
        if "net_" not in self.__dict__ and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, incremental=True, classes=classes)

    partial_fit = _AvailableIf(partial_fit, _stochastic_only)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, float64 of shape (n_samples, n_classes).

        For a multilabel problem, the probability of each label.
        """
        P = self._forward(X)  # (n_samples, n_out)
        if self._kind == "binary":
            P = np.hstack([1.0 - P, P])
        elif self._kind == "multiclass":
            P /= P.sum(axis=1, keepdims=True)
        return P

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of ``predict_proba(X)``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (labels as in ``classes_``)."""
        P = self.predict_proba(X)
        if self._kind == "multilabel":
            return (P > 0.5).astype(self._y_dtype)
        return self.classes_[np.argmax(P, axis=1)]

    def score(self, X: Any, y: Any) -> float:
        """Mean accuracy of ``predict(X)`` against y (subset accuracy for
        multilabel y)."""
        pred = self.predict(X)
        y = np.asarray(y)
        if pred.ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape[0] != pred.shape[0]:
            raise ValueError(
                "Found input variables with inconsistent numbers of "
                f"samples: [{pred.shape[0]}, {y.shape[0]}]"
            )
        same = pred == y
        if same.ndim == 2:
            same = same.all(axis=1)
        return float(np.mean(same))

    # ------------------------------------------------ labels
    @property
    def _out_activation(self) -> str:
        return "softmax" if self._kind == "multiclass" else "sigmoid"

    @property
    def _engine_loss(self) -> str:
        return "cross_entropy" if self._kind == "multiclass" else "binary_cross_entropy"

    @property
    def _grad_scale(self) -> float:
        return float(len(self.classes_)) if self._kind == "multilabel" else 1.0

    _loss_scale = _grad_scale

    def _encode_y(
        self,
        y: Any,
        n: int,
        first_pass: bool,
        incremental: bool,
        classes: Any,
        dtype: np.dtype,
    ) -> tuple[np.ndarray, int]:
        """Targets as the engine takes them: int64 class indices (softmax)
        or 0/1 floats of shape (n, k) (logistic outputs); and k."""
        name = type(self).__name__
        arr = self._y_array(y, n)
        if arr.ndim == 2:
            return self._encode_multilabel(arr, first_pass, classes, dtype)
        _check_label_values(arr, name)
        if first_pass:
            if classes is not None:
                known = _unique_labels(np.asarray(classes), name)
            else:
                known = _unique_labels(arr, name)
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
                    f"{name} was fitted on multilabel targets; y must be "
                    "an indicator matrix"
                )
            if classes is not None and incremental:
                given = _unique_labels(np.asarray(classes), name)
                if not _same_labels(given, self.classes_):
                    raise ValueError(
                        f"`classes={list(given)!r}` is not the same as on "
                        f"last call to partial_fit, was: {list(self.classes_)!r}"
                    )
            elif not incremental:  # warm start
                seen = _unique_labels(arr, name)
                if not _same_labels(seen, self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        f"in the previous call to fit. Previously got {self.classes_}, "
                        f"`y` has {seen}"
                    )
        idx = None
        if arr.shape[0] <= 16:  # small chunks: look the labels up
            index = self._class_index
            try:
                idx = np.array([index[v] for v in arr.tolist()], dtype=np.int64)
            except (KeyError, TypeError):
                idx = None  # the general path names the problem
        if idx is None:
            idx = _label_indices(arr, self.classes_, name)  # (n,) int64
        if self._kind == "binary":
            return idx.astype(dtype).reshape(-1, 1), 1
        return idx, len(self.classes_)

    def _encode_multilabel(
        self, arr: np.ndarray, first_pass: bool, classes: Any, dtype: np.dtype
    ) -> tuple[np.ndarray, int]:
        name = type(self).__name__
        k = arr.shape[1]
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
                "continuous-multioutput"
                if (arr != np.round(arr)).any()
                else "multiclass-multioutput"
            )
            raise ValueError(
                f"Unknown label type: {kind}; {name} takes 2-D y only as a "
                "0/1 indicator matrix (multilabel classification)"
            )
        if first_pass:
            if k < 2:
                raise ValueError(
                    f"{name} takes a multilabel indicator y with at least 2 columns"
                )
            self.classes_ = np.arange(k)
            self._kind = "multilabel"
            self._y_dtype = arr.dtype
        elif self._kind != "multilabel" or k != len(self.classes_):
            raise ValueError(
                f"y has {k} label columns, but {name} was fitted on "
                f"{'labels' if self._kind != 'multilabel' else len(self.classes_)}"
            )
        if classes is not None and len(np.asarray(classes)) != k:
            raise ValueError(
                f"classes has {len(classes)} entries but y has {k} label columns"
            )
        return np.ascontiguousarray(arr, dtype=dtype), k

    def _strata(self, T: np.ndarray) -> np.ndarray | None:
        if self._kind == "multiclass":
            return T
        if self._kind == "binary":
            return T[:, 0]
        return None

    def _score_encoded(self, X: np.ndarray, T: np.ndarray) -> float:
        P = self.net_.predict(X)
        if self._kind == "multiclass":
            return float(np.mean(np.argmax(P, axis=1) == T))
        return float(np.mean(((P > 0.5) == (T > 0.5)).all(axis=1)))


def _check_label_values(arr: np.ndarray, name: str) -> None:
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
                "Input y contains infinity or a value too large for "
                f"dtype({arr.dtype.name!r})."
            )
        if (arr != np.round(arr)).any():
            raise ValueError(
                "Unknown label type: continuous. Maybe you are trying to fit a "
                f"classifier ({name}), which expects discrete classes, on a "
                "regression target with continuous values."
            )


def _unique_labels(arr: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.unique(arr)
    except TypeError:
        raise ValueError(
            f"Mix of label input types (string and number) in y of {name}"
        ) from None


def _same_labels(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and bool(np.all(a == b))


def _label_indices(arr: np.ndarray, classes: np.ndarray, name: str) -> np.ndarray:
    """The index in ``classes`` (sorted) of every label; unknown labels refused."""
    try:
        idx = np.searchsorted(classes, arr)
    except TypeError:
        raise ValueError(
            f"Mix of label input types (string and number) in y of {name}"
        ) from None
    np.minimum(idx, len(classes) - 1, out=idx)
    bad = classes[idx] != arr
    if np.any(bad):
        unknown = np.unique(arr[bad])
        raise ValueError(
            f"`y` has classes not in `self.classes_`. `self.classes_` has "
            f"{classes}. 'y' has {unknown}."
        )
    return idx.astype(np.int64, copy=False)


# ---------------------------------------------------------------- regressor
class MLPRegressor(_BaseMLP):
    __doc__ = (
        """Multi-layer perceptron regressor on fastnn's engine.

    Same parameters, defaults and fitted attributes as
    ``sklearn.neural_network.MLPRegressor`` (plus ``dtype``): squared error
    with an identity output. A 1-D y (or a column vector) gives 1-D
    predictions, a 2-D y one output per column.

    Parameters
    ----------
    loss : {"squared_error"}, default "squared_error"
        scikit-learn's "poisson" is not available on fastnn's engine."""
        + _PARAMS_DOC
        + """
    Attributes
    ----------
    n_features_in_ : int
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_
        As for ``MLPClassifier``; the loss is half the mean squared error
        (scikit-learn's), the validation score R^2.
    n_iter_, t_, coefs_, intercepts_, n_layers_, n_outputs_, out_activation_
    net_ : fastnn.Sequential
        The trained network (``model_`` is the same object).
    """
    )

    _estimator_type = "regressor"
    _out_activation = "identity"
    _engine_loss = "mse"
    _loss_scale = 0.5

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dtype="float32",
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train on (X, y) from a new network (or the last one, warm_start=True).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One pass over the chunk (X, y), continuing the optimizer's state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=True)

    partial_fit = _AvailableIf(partial_fit, _stochastic_only)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, float64 of shape (n_samples,) or (n_samples, n_outputs)."""
        out = self._forward(X)  # (n_samples, n_outputs)
        return out[:, 0] if self._ravel else out

    def score(self, X: Any, y: Any) -> float:
        """R^2 of ``predict(X)`` against y, averaged over the outputs."""
        pred = self.predict(X)
        y = np.asarray(y, dtype=np.float64)
        if y.shape[0] != pred.shape[0]:
            raise ValueError(
                "Found input variables with inconsistent numbers of "
                f"samples: [{pred.shape[0]}, {y.shape[0]}]"
            )
        return _r2_score(y, pred)

    @property
    def _grad_scale(self) -> float:
        return 0.5 * self.net_.n_out if "net_" in self.__dict__ else 0.5

    def _encode_y(
        self,
        y: Any,
        n: int,
        first_pass: bool,
        incremental: bool,
        classes: Any,
        dtype: np.dtype,
    ) -> tuple[np.ndarray, int]:
        arr = self._y_array(y, n)
        if arr.dtype.kind == "O":
            arr = arr.astype(np.float64)
        elif arr.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__} takes numeric y, got dtype {arr.dtype}"
            )
        if first_pass:
            self._ravel = arr.ndim == 1
        Y = np.ascontiguousarray(arr.reshape(n, -1), dtype=dtype)  # (n, n_outputs)
        if not np.isfinite(Y).all():
            bad = "NaN" if np.isnan(Y).any() else "infinity or a value too large"
            raise ValueError(f"Input y contains {bad}.")
        return Y, Y.shape[1]

    def _score_encoded(self, X: np.ndarray, T: np.ndarray) -> float:
        return _r2_score(T, self.net_.predict(X))
