"""MLPClassifier and MLPRegressor against scikit-learn's own: the same
starting weights for the same random_state, the same training arithmetic,
the same learning on the digits.

Every test here needs scikit-learn and skips when it is absent.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.datasets import load_digits
from fastnn.estimators import MLPClassifier, MLPRegressor

pytestmark = [
    pytest.mark.sklearn,
    pytest.mark.filterwarnings("ignore::fastnn.perceptron.ConvergenceWarning"),
]


def _sknn():
    return pytest.importorskip("sklearn.neural_network")


TARGETS = ["multiclass", "binary", "multilabel", "regression", "multioutput"]


def _problem(kind, n=60):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 5))
    y = {
        "multiclass": rng.integers(0, 3, n),
        "binary": rng.integers(0, 2, n),
        "multilabel": rng.integers(0, 2, (n, 3)),
        "regression": rng.normal(size=n),
        "multioutput": rng.normal(size=(n, 2)),
    }[kind]
    return X, y


def _pair(kind):
    sknn = _sknn()
    if kind in ("multiclass", "binary", "multilabel"):
        return sknn.MLPClassifier, MLPClassifier
    return sknn.MLPRegressor, MLPRegressor


def _weights(est):
    return list(est.coefs_) + list(est.intercepts_)


def _distance(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(_weights(a), _weights(b)))


# ------------------------------------------------------------------ starting weights
@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
@pytest.mark.parametrize("seed", [0, 7, "RandomState(5)"])
def test_starting_weights_are_sklearns(kind, activation, seed):
    # A step with a rate of 1e-300 changes no weight: both estimators then
    # hold their starting weights (scikit-learn has no max_iter=0).
    Sk, Fa = _pair(kind)
    X, y = _problem(kind)

    def random_state():
        return np.random.RandomState(5) if seed == "RandomState(5)" else seed

    params = dict(
        hidden_layer_sizes=(6, 4),
        activation=activation,
        solver="sgd",
        learning_rate_init=1e-300,
        momentum=0.0,
        alpha=0.0,
        max_iter=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = Sk(random_state=random_state(), **params).fit(X, y)
        fa64 = Fa(random_state=random_state(), dtype="float64", **params).fit(X, y)
        fa32 = Fa(random_state=random_state(), **params).fit(X, y)
    for a, b in zip(_weights(fa64), _weights(sk)):
        assert_array_equal(a, b)  # the very same draws
    for a, b in zip(_weights(fa32), _weights(sk)):
        assert a.dtype == np.float32
        assert_array_equal(a, b.astype(np.float32))
    # the rule itself: uniform in +-sqrt(f / (fan_in + fan_out)), f = 2 for logistic
    factor = 2.0 if activation == "logistic" else 6.0
    for W, b in zip(fa64.coefs_, fa64.intercepts_):
        bound = np.sqrt(factor / sum(W.shape))
        assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
        assert np.abs(W).max() > 0.5 * bound  # spread over the interval, not zero


def test_starting_weights_follow_the_random_state_and_partial_fit_starts_alike():
    sknn = _sknn()
    X, y = _problem("multiclass")
    params = dict(
        hidden_layer_sizes=(6,),
        solver="sgd",
        learning_rate_init=1e-300,
        momentum=0.0,
        alpha=0.0,
        random_state=11,
    )
    sk = sknn.MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2])
    fa = MLPClassifier(dtype="float64", **params).partial_fit(X, y, classes=[0, 1, 2])
    for a, b in zip(_weights(fa), _weights(sk)):
        assert_array_equal(a, b)
    other = MLPClassifier(dtype="float64", **dict(params, random_state=12))
    other.partial_fit(X, y, classes=[0, 1, 2])
    assert not np.array_equal(other.coefs_[0], fa.coefs_[0])


# ------------------------------------------------------------------ the same training
@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize(
    "momentum, schedule", [(0.9, "constant"), (0.0, "invscaling"), (0.0, "adaptive")]
)
def test_same_random_state_gives_sklearns_weights_after_training(kind, momentum, schedule):
    # no weights copied: the same integer random_state starts both from the
    # same weights, and SGD without shuffling then follows the same steps
    Sk, Fa = _pair(kind)
    X, y = _problem(kind, n=120)
    params = dict(
        hidden_layer_sizes=(7,),
        solver="sgd",
        alpha=1e-3,
        batch_size=50,
        shuffle=False,
        learning_rate=schedule,
        learning_rate_init=0.05,
        momentum=momentum,
        random_state=3,
        max_iter=25,
        tol=1.0 if schedule == "adaptive" else 1e-4,
        n_iter_no_change=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = Sk(**params).fit(X, y)
        fa = Fa(dtype="float64", **params).fit(X, y)
    assert fa.n_iter_ == sk.n_iter_
    for a, b in zip(_weights(fa), _weights(sk)):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    if kind != "multioutput":  # there part of the reported penalty is interpolated
        assert_allclose(fa.loss_curve_, sk.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize("kind", ["multiclass", "regression"])
@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
@pytest.mark.parametrize("nesterov", [True, False])
def test_momentum_with_a_changing_rate_gives_sklearns_weights(kind, schedule, nesterov):
    # scikit-learn's velocity keeps the rate of each past step
    # (v = momentum * v - lr_t * g); torch's buffer is rescaled by the rate
    # of the current step. The estimators must follow scikit-learn's rule.
    Sk, Fa = _pair(kind)
    X, y = _problem(kind, n=120)
    params = dict(
        hidden_layer_sizes=(7,),
        solver="sgd",
        momentum=0.9,
        nesterovs_momentum=nesterov,
        learning_rate=schedule,
        alpha=1e-3,
        batch_size=40,
        shuffle=False,
        learning_rate_init=0.05,
        max_iter=20,
        random_state=0,
        tol=1.0 if schedule == "adaptive" else 0.0,
        n_iter_no_change=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = Sk(**params).fit(X, y)
        fa = Fa(dtype="float64", **params).fit(X, y)
    assert fa.n_iter_ == sk.n_iter_
    if schedule == "adaptive":
        assert fa._lr < 0.05  # the rate was cut at least once
    for a, b in zip(_weights(fa), _weights(sk)):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ the same learning
def test_digits_cross_validation_matches_sklearn():
    # 3-fold CV on the digits, hidden (32,), relu, StandardScaler, 20
    # iterations of Adam, five seeds: the mean accuracies agree (with He's
    # initialisation fastnn's was 0.816 against scikit-learn's 0.836). Both
    # runs are deterministic; they differ in the shuffling of the batches.
    sknn = _sknn()
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits()

    def mean_accuracy(Est):
        scores = []
        for seed in range(5):
            model = make_pipeline(
                StandardScaler(), Est(hidden_layer_sizes=(32,), max_iter=20, random_state=seed)
            )
            scores.append(cross_val_score(model, X, y, cv=3).mean())
        return float(np.mean(scores))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = mean_accuracy(MLPClassifier), mean_accuracy(sknn.MLPClassifier)
    assert abs(ours - theirs) < 0.01, (ours, theirs)
