"""scikit-learn's conventions without importing scikit-learn: errors, parameters, tags, pickling.

Every hook scikit-learn looks for (``__sklearn_tags__``, ``_more_tags``,
``__sklearn_is_fitted__``) imports it lazily, inside itself; fastnn's
errors and warnings become scikit-learn's own classes as well when
scikit-learn is already imported (``with_sklearn_twin``).
"""

from __future__ import annotations

import functools
import inspect
import operator
import os
import sys
import warnings
from typing import Any, Callable

from ..layers import layer_from_config
from ..network import Sequential
from ..optim import optimizer_from_settings


# ---------------------------------------------------------------- exceptions
class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``.

    Subclasses both ``ValueError`` and ``AttributeError``, as scikit-learn's
    ``NotFittedError`` does. When scikit-learn is already imported, the
    error raised is also an instance of ``sklearn.exceptions.NotFittedError``.
    """


class DataConversionWarning(UserWarning):
    """Input was converted to another form (e.g. a column vector y to 1-D)."""


class UndefinedMetricWarning(UserWarning):
    """A score is undefined for this input (R² of fewer than two rows): NaN."""


class InvalidParameterError(ValueError, TypeError):
    """A parameter of an estimator has a wrong type or value (checked at fit)."""


_TWINS: dict[type, type] = {}


def with_sklearn_twin(cls: type, sklearn_name: str) -> type:
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


_HERE = os.path.dirname(__file__)


def _outside_level() -> int:
    """The stacklevel of the first caller outside this package (the user's line)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _HERE:
        frame, level = frame.f_back, level + 1
    return level


def warn(message: str, category: type, sklearn_name: str = "") -> None:
    """Warn at the user's line, as scikit-learn's ``sklearn_name`` class too if given."""
    cls = with_sklearn_twin(category, sklearn_name) if sklearn_name else category
    warnings.warn(message, cls, stacklevel=_outside_level())


class AvailableIf:
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


def stochastic_only(obj: Any) -> bool:
    if obj.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers "
            f"(solver='sgd' or 'adam'); {obj.solver!r} is not stochastic."
        )
    return True


# ---------------------------------------------------------------- the conventions
class SklearnConventions:
    """What scikit-learn asks of an estimator, beside fitting: parameters by
    the names of ``__init__`` (``get_params``/``set_params``, ``clone``), a
    repr that shows the changed ones, tags, and pickling of the network."""

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

    def set_params(self, **params: Any) -> SklearnConventions:
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
            target_tags=TargetTags(required=True, multi_output=not is_clf, single_output=True),
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
        state.pop("_stream", None)  # made again by the next partial_fit
        if state.get("_rng") is not None:
            # the last call's random state (5 kB for a RandomState): every
            # call to fit or partial_fit makes its own afresh
            state["_rng"] = None
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
