"""Estimators in scikit-learn's style: ``MLPClassifier`` and ``MLPRegressor`` on fastnn's engine.

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

The package, one idea a module: ``_mlp`` (the two estimators), ``_base``
(their shared base and the training driver), ``_params`` (parameters and
their checks), ``_labels`` (class labels to targets), ``_early_stopping``
(the held-out split) and ``_compat`` (scikit-learn's conventions). Their
checks of X and y are in ``fastnn._validation``.
"""

from ._compat import DataConversionWarning, InvalidParameterError, NotFittedError
from ._mlp import MLPClassifier, MLPRegressor

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "NotFittedError",
    "DataConversionWarning",
    "InvalidParameterError",
]

# Shown, and pickled, under the name users import them by.
for _public in (
    MLPClassifier,
    MLPRegressor,
    NotFittedError,
    DataConversionWarning,
    InvalidParameterError,
):
    _public.__module__ = __name__
del _public
