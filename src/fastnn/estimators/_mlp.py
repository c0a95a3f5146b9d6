"""The two estimators: MLPClassifier and MLPRegressor, thin subclasses of one base.

Each states its parameters in its own ``__init__`` signature (what
``get_params`` and ``clone`` read) and hands them all to the base, which
assigns them; each adds its own outputs, predictions and score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_regression_targets
from ..network import r2_score
from ._base import BaseMLP, init_parameters
from ._compat import AvailableIf, UndefinedMetricWarning, stochastic_only, warn
from ._labels import ClassLabels
from ._params import PARAMS_DOC
from ._stream import OneStepStream


class MLPClassifier(ClassLabels, BaseMLP):
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
        + PARAMS_DOC
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
        super().__init__(**init_parameters(locals()))

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
        stream = self.__dict__.get("_stream")
        if stream is not None and classes is None and stream.step(self, X, y):
            return self
        if "net_" not in self.__dict__ and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self.__dict__.pop("_stream", None)
        self._fit(X, y, incremental=True, classes=classes)
        self._stream = OneStepStream.make(self)
        return self

    partial_fit = AvailableIf(partial_fit, stochastic_only)

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

    # ------------------------------------------------ the output layer
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

    def _score_encoded(self, X: np.ndarray, T: np.ndarray) -> float:
        P = self.net_.predict(X)
        if self._kind == "multiclass":
            return float(np.mean(np.argmax(P, axis=1) == T))
        return float(np.mean(((P > 0.5) == (T > 0.5)).all(axis=1)))


class MLPRegressor(BaseMLP):
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
        + PARAMS_DOC
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
        super().__init__(**init_parameters(locals()))

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

    partial_fit = AvailableIf(partial_fit, stochastic_only)

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
        if len(y) < 2:
            warn(
                "R^2 score is not well-defined with less than two samples.",
                UndefinedMetricWarning,
                "UndefinedMetricWarning",
            )
        return r2_score(y, pred)

    @property
    def _grad_scale(self) -> float:
        return 0.5 * self.net_.n_out if "net_" in self.__dict__ else 0.5

    def _encode_y(
        self, y: Any, n: int, first_pass: bool, incremental: bool, classes: Any, dtype: np.dtype
    ) -> tuple[np.ndarray, int]:
        """Targets as the engine takes them: (n, n_outputs) of the model dtype."""
        arr = self._y_array(y, n)
        Y = check_regression_targets(arr, dtype, type(self).__name__)  # (n, n_outputs)
        if first_pass:
            self._ravel = arr.ndim == 1
        return Y, Y.shape[1]

    def _score_encoded(self, X: np.ndarray, T: np.ndarray) -> float:
        return r2_score(T, self.net_.predict(X))
