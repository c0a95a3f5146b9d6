"""The estimators' parameters: their meaning, their checks at fit, how random_state is read.

``Settings`` checks them all at once, when ``fit`` or ``partial_fit`` runs
(scikit-learn's convention: ``__init__`` and ``set_params`` store what they
are given).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._compat import InvalidParameterError

_SEED_MAX = 2**31 - 1  # seeds drawn from a random_state lie in [0, _SEED_MAX)

PARAMS_DOC = """
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
class Settings:
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
            raise self._fail(name, "a str among {" + ", ".join(map(repr, options)) + "}")
        return v

    def __post_init__(self) -> None:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (numbers.Integral, np.integer)) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise self._fail("hidden_layer_sizes", "an int or an array-like of ints") from None
        if any(isinstance(h, bool) or not isinstance(h, numbers.Integral) or h <= 0 for h in sizes):
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
            or (is_int_seed(rs) and 0 <= rs < 2**32)
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


def check_random_state(seed: Any) -> Any:
    """A NumPy random source from ``random_state``, as scikit-learn reads it:
    None is NumPy's global RandomState, an int seeds a new RandomState, a
    RandomState (or Generator) is used as it is."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if is_int_seed(seed):
        return np.random.RandomState(int(seed))
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    raise InvalidParameterError(
        f"random_state must be None, an int or a numpy RandomState, got {seed!r}"
    )


def is_int_seed(seed: Any) -> bool:
    return isinstance(seed, numbers.Integral) and not isinstance(seed, bool)


def draw_seed(rng: Any) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, _SEED_MAX))
    return int(rng.randint(0, _SEED_MAX))
