"""The estimators' shared base: parameters assigned once, the training driver, fitted views.

Training runs on the engine: every pass over the data is one call into it
(``_run_engine``), several epochs at a time when the stopping rule cannot
fire in between. The package's docstring says how scikit-learn's objective
maps onto the engine's learning rate, ``eps`` and ``l2``.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from .. import _training
from .._validation import (
    check_estimator_X,
    check_estimator_y,
    check_feature_names,
    engine_targets,
)
from ..exceptions import ConvergenceWarning, TrainingDiverged
from ..history import History, warn_if_blown_up
from ..layers import Dense
from ..network import Sequential
from ..optim import Adam, Optimizer, _SklearnSGD
from . import _early_stopping
from ._compat import (
    DataConversionWarning,
    NotFittedError,
    SklearnConventions,
    warn,
    with_sklearn_twin,
)
from ._params import Settings, check_random_state, draw_seed, is_int_seed

_AUTO_BATCH = 200  # batch_size="auto" means min(200, n_samples)
_MIN_ADAPTIVE_LR = 1e-6  # learning_rate="adaptive" stops below this


def _weights_sumsq(net: Sequential) -> float:
    """sum(W**2) over every layer's weights (biases left out)."""
    total = 0.0
    for layer in net.layers:
        if layer.W is not None:
            w = layer.W.reshape(-1)
            total += float(np.dot(w, w))
    return total


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
        self.lengths = [(k, len(v)) for k in _RECORD_LISTS if type(v := self.attrs.get(k)) is list]
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


def _no_change_msg(s: Settings) -> str:
    what = "Validation score" if s.early_stopping else "Training loss"
    return (
        f"{what} did not improve more than tol={s.tol:f} for "
        f"{s.n_iter_no_change} consecutive epochs."
    )


def init_parameters(init_locals: dict) -> dict:
    """The parameters an ``__init__`` was given: its ``locals()`` taken first thing."""
    return {k: v for k, v in init_locals.items() if k not in ("self", "__class__")}


class BaseMLP(SklearnConventions):
    """What MLPClassifier and MLPRegressor share: parameters, input checks,
    the network, the solvers (SGD and Adam on the engine, L-BFGS on scipy).
    Not public."""

    def __init__(self, **params: Any):
        """Store each parameter as given, under its own name (scikit-learn's
        convention: ``fit`` checks them). A subclass's signature names the
        parameters and their defaults, and passes them all here
        (``init_parameters``)."""
        for name, value in params.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        # a setting set anew (set_params, assignment) sends the next
        # partial_fit the full way, which checks it (see _stream)
        if name in self._param_names_and_getter()[0]:
            self.__dict__.pop("_stream", None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.pop("_stream", None)
        object.__delattr__(self, name)

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
    def _settings(self) -> Settings:
        """The checked parameters. Checked again whenever one was rebound
        (set_params, assignment) or holds a mutable container."""
        names, getter = self._param_names_and_getter()
        values = getter(self)
        cache = self.__dict__.get("_settings_cache")
        if cache is not None and all(map(operator.is_, cache[0], values)):
            return cache[1]
        settings = Settings(estimator=type(self).__name__, **dict(zip(names, values)))
        if not any(isinstance(v, (list, dict, set, np.ndarray)) for v in values):
            self._settings_cache = (values, settings)
        return settings

    def _check_fitted(self) -> None:
        if "net_" not in self.__dict__:
            error = with_sklearn_twin(NotFittedError, "NotFittedError")
            raise error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )

    def _validate_X(self, X: Any, reset: bool, dtype: np.dtype) -> np.ndarray:
        """X as a C-contiguous (n_samples, n_features) array of the model dtype."""
        name = type(self).__name__
        n_features = None if reset else self.n_features_in_
        Xc, names = check_estimator_X(X, dtype, name, n_features)
        if reset:
            self.n_features_in_ = Xc.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            else:
                self.__dict__.pop("feature_names_in_", None)
        else:
            fitted = self.__dict__.get("feature_names_in_")
            message = check_feature_names(fitted, names, name)
            if message:
                warn(message, UserWarning)
        return Xc

    def _y_array(self, y: Any, n_samples: int) -> np.ndarray:
        """y as an array of 1 or 2 dimensions with n_samples rows."""
        arr, was_column = check_estimator_y(y, n_samples, type(self).__name__)
        if was_column:
            warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
                "DataConversionWarning",
            )
        return arr

    # ------------------------------------------------ the network
    def _build_net(self, s: Settings, n_in: int, n_out: int, seed: int) -> Sequential:
        sizes = [n_in, *s.hidden_layer_sizes, n_out]
        layers = [Dense(a, b, activation=s.activation) for a, b in zip(sizes[:-2], sizes[1:-1])]
        layers.append(Dense(sizes[-2], sizes[-1], activation=self._out_activation))
        return Sequential(layers, loss=self._engine_loss, dtype=s.dtype.name, seed=seed)

    def _batch_size(self, s: Settings, n: int, warn_if_clipped: bool) -> int:
        if s.batch_size == "auto":
            return min(_AUTO_BATCH, n)
        if s.batch_size > n and warn_if_clipped:
            warn(
                "Got `batch_size` less than 1 or larger than sample size. "
                "It is going to be clipped",
                UserWarning,
            )
        return min(s.batch_size, n)

    def _new_optimizer(self, s: Settings) -> Optimizer:
        g = self._grad_scale
        self._lr = s.learning_rate_init
        if s.solver == "sgd":
            # scikit-learn's momentum rule: the velocity keeps each step's rate
            return _SklearnSGD(
                lr=s.learning_rate_init * g,
                momentum=s.momentum,
                nesterov=bool(s.nesterovs_momentum and s.momentum > 0),
            )
        return Adam(lr=s.learning_rate_init, betas=(s.beta_1, s.beta_2), eps=s.epsilon / g)

    def _initialize(self, s: Settings, n_in: int, n_out: int) -> None:
        """A new network and fresh training records (the first pass).

        The starting weights are drawn first from the call's random state
        (``_glorot_weights``), as scikit-learn draws them, then the validation
        split. The engine's shuffling stream is seeded by an int random_state
        itself, otherwise by a seed drawn after the weights.
        """
        sizes = [n_in, *s.hidden_layer_sizes, n_out]
        start = _glorot_weights(sizes, self._call_rng(s), s.activation)
        if is_int_seed(s.random_state):
            seed = int(s.random_state)
        else:
            seed = draw_seed(self._call_rng(s))
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

    def _call_rng(self, s: Settings) -> Any:
        """The random state of this call to fit/partial_fit. scikit-learn
        reads random_state anew at every call: an int gives a fresh
        RandomState(random_state) each time, a RandomState is drawn from as
        it is, None is NumPy's global one."""
        if self._rng is None:
            self._rng = check_random_state(s.random_state)
        return self._rng

    # ------------------------------------------------ training
    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> BaseMLP:
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
        T, n_out = self._encode_y(y, Xc.shape[0], first_pass, incremental, classes, dtype)
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

    def _fit_stochastic(self, s: Settings, X: np.ndarray, T: np.ndarray, incremental: bool) -> None:
        net = self.net_
        X_val = y_val = None
        if s.early_stopping:
            X, T, X_val, y_val = self._validation_split(s, X, T)
        n = X.shape[0]
        bs = self._batch_size(s, n, warn_if_clipped=not incremental)
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
                k = min(
                    s.max_iter - self.n_iter_,
                    max(1, s.n_iter_no_change + 1 - self._no_improvement_count),
                )
            stop = (
                (c, s.tol, s.n_iter_no_change, self.best_loss_, self._no_improvement_count)
                if in_loop
                else None
            )
            sumsq0 = _weights_sumsq(net) if extra else 0.0
            try:
                losses, interrupted = self._run_engine(X, T, k, bs, opt, shuffle, stop)
            except TrainingDiverged as exc:
                step = self.n_iter_ * steps + exc.step
                raise self._diverged(step, incremental) from None
            sumsq1 = _weights_sumsq(net) if extra and k * steps > 1 else sumsq0
            for e, epoch_loss in enumerate(losses):
                at = (e + (steps - 1) / (2 * steps)) / k
                loss = c * epoch_loss + extra * (sumsq0 + (sumsq1 - sumsq0) * at)
                if self._end_epoch(s, loss, n, opt, X_val, y_val):
                    stopped = True
            if interrupted:
                warn("Training interrupted by user.", UserWarning)
                stopped = True
            if stopped or incremental:
                break
        if not incremental and len(self.loss_curve_) >= 2:
            # the losses of this call's epochs, as a History with one step an epoch
            run = self.loss_curve_[-self.n_iter_ :] if self.n_iter_ else []
            warn_if_blown_up(History(step_loss=run, steps_per_epoch=1))
        if not stopped and not incremental and self.n_iter_ == s.max_iter:
            warn(
                f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
                "ConvergenceWarning",
            )
        if s.early_stopping:
            net.params[...] = self._best_params

    def _run_engine(
        self,
        X: np.ndarray,
        T: np.ndarray,
        epochs: int,
        batch_size: int,
        opt: Optimizer,
        shuffle: bool,
        stop: tuple | None,
    ) -> tuple[list[float], bool]:
        """Train the network ``epochs`` passes over (X, T): the estimators'
        one way into the engine's training loop.

        ``stop``: the training-loss stopping rule's state
        ``(loss_scale, tol, n_iter_no_change, best_loss, no_improvement_count)``
        for the compiled loop to apply, or None to run every epoch.
        Returns the mean loss of each epoch run and whether the user
        interrupted the run. Raises ``TrainingDiverged`` at a non-finite
        loss, the network and the optimizer's state put back.
        """
        # X passed _validate_X: the engine need not read every value again
        net = self.net_
        labels, Y = engine_targets(T, net.loss, net.n_out, X.shape[0], net.dtype)
        done = _training.run(net, X, labels, Y, epochs, batch_size, opt, shuffle, stop=stop)
        losses = done.epoch_losses if stop is not None else done.history.loss
        return losses, done.history.interrupted

    def _end_epoch(
        self, s: Settings, loss: float, n: int, opt: Optimizer, X_val: Any, y_val: Any
    ) -> bool:
        """Record an epoch of ``loss`` over n rows, apply the learning-rate
        schedule and the stopping rule; True when training should stop."""
        g = self._grad_scale
        self.loss_ = loss
        self.loss_curve_.append(loss)
        self.n_iter_ += 1
        self.t_ += n
        if s.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        self._update_no_improvement(s, X_val, y_val)
        if s.learning_rate == "invscaling" and s.solver == "sgd":
            self._lr = s.learning_rate_init / (self.t_ + 1) ** s.power_t
            opt.lr = self._lr * g
        if self._no_improvement_count <= s.n_iter_no_change:
            return False
        if s.solver == "sgd" and s.learning_rate == "adaptive" and self._lr > _MIN_ADAPTIVE_LR:
            self._lr /= 5.0
            opt.lr = self._lr * g
            self._no_improvement_count = 0
            if s.verbose:
                print(f"{_no_change_msg(s)} Setting learning rate to {self._lr:f}")
            return False
        if s.verbose:
            print(f"{_no_change_msg(s)} Stopping.")
        return True

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

    def _update_no_improvement(self, s: Settings, X_val: Any, y_val: Any) -> None:
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

    def _check_split(self, s: Settings, T: np.ndarray) -> None:
        """Refuse an early-stopping split that cannot be scored (before any draw)."""
        strata = self._strata(T)
        classes = self.classes_ if strata is not None else None
        _early_stopping.check_split(s.validation_fraction, T, strata, classes)

    def _validation_split(
        self, s: Settings, X: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hold out validation_fraction of the rows (stratified by class for a
        single-output classifier), drawn from the call's random state."""
        parts = _early_stopping.split(
            s.validation_fraction,
            X,
            T,
            self._strata(T),
            self._call_rng(s),
            regression=self._estimator_type == "regressor",
        )
        self._best_params = self.net_.params.copy()
        return parts

    def _fit_lbfgs(self, s: Settings, X: np.ndarray, T: np.ndarray) -> None:
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
            flat = np.concatenate([part.reshape(-1) for dW, db in grads for part in (dW, db)])
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
        penalty = sum(0.5 * s.alpha / n * float(np.dot(res.x[sl], res.x[sl])) for sl in slices)
        self.loss_ = float(res.fun - penalty) * report + penalty
        if res.status != 0:
            message = res.message.decode() if isinstance(res.message, bytes) else res.message
            warn(
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
        self, y: Any, n: int, first_pass: bool, incremental: bool, classes: Any, dtype: np.dtype
    ) -> tuple[np.ndarray, int]:
        raise NotImplementedError

    def _strata(self, T: np.ndarray) -> np.ndarray | None:
        return None

    def _score_encoded(self, X: np.ndarray, T: np.ndarray) -> float:
        raise NotImplementedError
