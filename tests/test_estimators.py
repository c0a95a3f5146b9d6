"""MLPClassifier and MLPRegressor: scikit-learn's conventions on fastnn's engine.

Tests marked ``sklearn`` need scikit-learn and skip (only) when it is absent;
the rest run on fastnn alone.
"""

import copy
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastnn
from fastnn.estimators import (
    DataConversionWarning,
    InvalidParameterError,
    MLPClassifier,
    MLPRegressor,
    NotFittedError,
)
from fastnn.perceptron import ConvergenceWarning

try:  # the check suite is collected only where scikit-learn is installed
    from sklearn.utils.estimator_checks import parametrize_with_checks
except ImportError:  # pragma: no cover - depends on the environment
    parametrize_with_checks = None

pytestmark = pytest.mark.filterwarnings("ignore::fastnn.perceptron.ConvergenceWarning")


# ------------------------------------------------------------------ data
def blobs(n=150, n_features=4, centers=3, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=3.0, size=(centers, n_features))
    y = np.arange(n) % centers
    X = means[y] + spread * rng.normal(size=(n, n_features))
    return X, y


@pytest.fixture(scope="module")
def digits():
    X, y = fastnn.datasets.load_digits()
    X = X / 16.0
    perm = np.random.default_rng(0).permutation(len(X))
    train, test = perm[:1300], perm[1300:]
    return X[train], y[train], X[test], y[test]


# ---------------------------------------------------------- scikit-learn's own checks
if parametrize_with_checks is not None:
    with warnings.catch_warnings():  # "does not inherit from BaseEstimator": by design
        warnings.filterwarnings("ignore", message="Estimator .* does not inherit from")
        _all_checks = parametrize_with_checks([MLPClassifier(), MLPRegressor()])

    @pytest.mark.sklearn
    @pytest.mark.filterwarnings("ignore:Estimator .* does not inherit from")
    @_all_checks
    def test_sklearn_check_suite(estimator, check):
        check(estimator)

else:  # pragma: no cover - depends on the environment

    @pytest.mark.sklearn
    def test_sklearn_check_suite():
        pytest.importorskip("sklearn")


# ------------------------------------------------------------------ scikit-learn tools
@pytest.mark.sklearn
def test_pipeline_and_grid_search():
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs(n=120)
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.02, random_state=0),
    )
    assert pipe.fit(X, y).score(X, y) > 0.9
    grid = GridSearchCV(
        pipe,
        {
            "mlpclassifier__hidden_layer_sizes": [(4,), (8,)],
            "mlpclassifier__alpha": [1e-4, 1e-1],
        },
        cv=3,
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {
        "mlpclassifier__hidden_layer_sizes",
        "mlpclassifier__alpha",
    }
    assert grid.best_estimator_[-1].n_features_in_ == 4
    assert grid.score(X, y) > 0.9


@pytest.mark.sklearn
def test_grid_search_in_worker_processes():
    # n_jobs=2 pickles the estimator to loky workers and fitted ones back
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV

    X, y = blobs(n=90)
    grid = GridSearchCV(
        MLPClassifier(max_iter=30, random_state=0),
        {"learning_rate_init": [1e-3, 1e-2]},
        cv=2,
        n_jobs=2,
    )
    grid.fit(X, y)
    assert grid.best_params_["learning_rate_init"] in (1e-3, 1e-2)


@pytest.mark.sklearn
def test_cross_val_score_and_clone():
    pytest.importorskip("sklearn")
    from sklearn.base import clone, is_classifier, is_regressor
    from sklearn.model_selection import cross_val_score

    X, y = blobs(n=120)
    reg = MLPRegressor(
        hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100, random_state=0
    )
    target = X @ np.array([1.0, -2.0, 0.5, 0.0])
    scores = cross_val_score(reg, X, target, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    clf = MLPClassifier(
        hidden_layer_sizes=[5, 3],
        learning_rate_init=0.02,
        random_state=0,
        dtype="float64",
    )
    assert cross_val_score(clf, X, y, cv=3).mean() > 0.8
    assert is_classifier(clf) and is_regressor(reg)

    fitted = clone(clf).fit(X, y)
    twin = clone(fitted)
    assert twin.get_params() == clf.get_params()
    assert twin.hidden_layer_sizes == [5, 3]
    assert not hasattr(twin, "classes_") and not hasattr(twin, "net_")


@pytest.mark.sklearn
def test_sklearn_sees_its_own_exception_and_warning_classes():
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
    from sklearn.exceptions import NotFittedError as SkNotFittedError
    from sklearn.utils.validation import check_is_fitted

    est = MLPClassifier()
    with pytest.raises(SkNotFittedError, match="not fitted yet"):
        est.predict(np.ones((2, 3)))
    with pytest.raises(SkNotFittedError):
        check_is_fitted(est)
    X, y = blobs(n=60)
    with pytest.warns(SkConvergenceWarning, match="Maximum iterations"):
        est.set_params(max_iter=2).fit(X, y)
    check_is_fitted(est)


def test_importing_fastnn_does_not_import_sklearn():
    code = (
        "import sys, numpy as np, fastnn, fastnn.estimators as e\n"
        "X = np.random.default_rng(0).normal(size=(30, 3))\n"
        "e.MLPClassifier(max_iter=3).fit(X, np.arange(30) % 2).predict(X)\n"
        "e.MLPRegressor(max_iter=3).fit(X, X[:, 0]).predict(X)\n"
        "assert not any(m == 'sklearn' or m.startswith('sklearn.') "
        "for m in sys.modules), 'sklearn was imported'\n"
    )
    env = dict(os.environ)
    # the folder holding the fastnn under test (installed or in place)
    src = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, env=env)


# ---------------------------------------------------------- scikit-learn's arithmetic
def _same_start(Sk, Fa, X, y, **params):
    """A scikit-learn and a fastnn estimator holding the same weights, after
    which a warm-started fit of each runs with a fresh optimizer."""
    sk = Sk(max_iter=1, warm_start=True, **params).fit(X, y)
    fa = Fa(max_iter=1, warm_start=True, dtype="float64", **params).fit(X, y)
    for i in range(len(sk.coefs_)):
        fa.coefs_[i][...] = sk.coefs_[i]
        fa.intercepts_[i][...] = sk.intercepts_[i]
    return sk, fa


TARGETS = ["multiclass", "binary", "multilabel", "regression", "multioutput"]


def _problem(kind):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 5))
    y = {
        "multiclass": rng.integers(0, 3, 120),
        "binary": rng.integers(0, 2, 120),
        "multilabel": rng.integers(0, 2, (120, 3)),
        "regression": rng.normal(size=120),
        "multioutput": rng.normal(size=(120, 3)),
    }[kind]
    return X, y


def _sklearn_pair(kind):
    """scikit-learn's estimator for a kind of target, and fastnn's."""
    sknn = pytest.importorskip("sklearn.neural_network")
    if kind in ("multiclass", "binary", "multilabel"):
        return sknn.MLPClassifier, MLPClassifier
    return sknn.MLPRegressor, MLPRegressor


@pytest.mark.sklearn
@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_sgd_steps_are_sklearns(kind, schedule):
    """Same weights, same batches: SGD (momentum, Nesterov) gives scikit-learn's
    weights, loss curve and stopping epoch to rounding, for every output type."""
    X, y = _problem(kind)
    Sk, Fa = _sklearn_pair(kind)
    momentum = 0.9 if schedule == "constant" else 0.0  # sklearn folds lr into velocity
    params = dict(
        hidden_layer_sizes=(7,),
        solver="sgd",
        alpha=0.0,
        batch_size=40,
        shuffle=False,
        learning_rate=schedule,
        learning_rate_init=0.05,
        momentum=momentum,
        random_state=0,
        tol=1e-3 if schedule != "adaptive" else 1.0,
        n_iter_no_change=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk, fa = _same_start(Sk, Fa, X, y, **params)
        sk.set_params(max_iter=60).fit(X, y)
        fa.set_params(max_iter=60).fit(X, y)
    assert fa.n_iter_ == sk.n_iter_
    assert_allclose(fa.loss_curve_[1:], sk.loss_curve_[1:], rtol=1e-10, atol=1e-12)
    for a, b in zip(fa.coefs_ + fa.intercepts_, sk.coefs_ + sk.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.sklearn
@pytest.mark.parametrize("kind", TARGETS)
def test_sgd_with_alpha_is_sklearns(kind):
    """The L2 penalty reaches the weights only, scaled by each batch's rows
    (50, 50 and a last batch of 20 here): scikit-learn's weights to rounding."""
    X, y = _problem(kind)
    Sk, Fa = _sklearn_pair(kind)
    params = dict(
        hidden_layer_sizes=(7,),
        solver="sgd",
        alpha=0.05,
        batch_size=50,
        shuffle=False,
        learning_rate_init=0.05,
        momentum=0.9,
        random_state=0,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk, fa = _same_start(Sk, Fa, X, y, **params)
        sk.set_params(max_iter=15).fit(X, y)
        fa.set_params(max_iter=15).fit(X, y)
    for a, b in zip(fa.coefs_ + fa.intercepts_, sk.coefs_ + sk.intercepts_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    if kind == "multioutput":  # part of the reported penalty is interpolated
        assert_allclose(fa.loss_curve_[1:], sk.loss_curve_[1:], rtol=5e-3)
    else:
        assert_allclose(fa.loss_curve_[1:], sk.loss_curve_[1:], rtol=1e-9)


@pytest.mark.sklearn
@pytest.mark.parametrize("kind", TARGETS)
def test_adam_and_l2_penalty_follow_sklearn(kind):
    """Adam (eps placed as PyTorch does) with the L2 penalty: close to
    scikit-learn."""
    X, y = _problem(kind)
    Sk, Fa = _sklearn_pair(kind)
    params = dict(
        hidden_layer_sizes=(7,),
        alpha=1e-3,
        batch_size=40,
        shuffle=False,
        learning_rate_init=0.01,
        random_state=0,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk, fa = _same_start(Sk, Fa, X, y, **params)
        sk.set_params(max_iter=10).fit(X, y)
        fa.set_params(max_iter=10).fit(X, y)
    assert_allclose(fa.loss_curve_[1:], sk.loss_curve_[1:], rtol=0, atol=1e-5)
    for a, b in zip(fa.coefs_ + fa.intercepts_, sk.coefs_ + sk.intercepts_):
        assert_allclose(a, b, rtol=0, atol=5e-4)


# ------------------------------------------------------------------ the digits
def test_digits_held_out_accuracy(digits):
    X_train, y_train, X_test, y_test = digits
    clf = MLPClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.95
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert isinstance(clf.net_, fastnn.Sequential) and clf.model_ is clf.net_
    assert [W.shape for W in clf.coefs_] == [(64, 100), (100, 10)]
    assert [b.shape for b in clf.intercepts_] == [(100,), (10,)]
    assert clf.predict_proba(X_test).shape == (len(X_test), 10)
    assert clf.out_activation_ == "softmax" and clf.n_layers_ == 3


# ------------------------------------------------------------------ labels
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["setosa", "versicolor", "virginica"]),
        np.array(["no", "yes"]),
        np.array([-7, 3, 100]),
        np.array([False, True]),
        np.array([0.5, 2.5, 4.5, 6.5]) - 0.5,  # integral floats
        np.array(["a", "b", "c"], dtype=object),
    ],
)
def test_labels_round_trip(labels):
    X, y = blobs(n=120, centers=len(labels))
    y_named = labels[y]
    clf = MLPClassifier(
        hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=100, random_state=0
    ).fit(X, y_named)
    assert_array_equal(clf.classes_, np.unique(labels))
    pred = clf.predict(X)
    assert pred.dtype == clf.classes_.dtype
    assert set(pred.tolist()) <= set(labels.tolist())
    assert np.mean(pred == y_named) > 0.9
    assert clf.score(X, y_named) == np.mean(pred == y_named)
    P = clf.predict_proba(X)
    assert P.shape == (len(X), len(labels)) and P.dtype == np.float64
    assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert_array_equal(clf.classes_[P.argmax(axis=1)], pred)
    assert_allclose(clf.predict_log_proba(X), np.log(P))


def test_binary_uses_one_logistic_output_and_two_probability_columns():
    X, y = blobs(n=80, centers=2)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=50, random_state=0).fit(X, y)
    assert clf.coefs_[-1].shape == (6, 1) and clf.out_activation_ == "logistic"
    P = clf.predict_proba(X)
    assert P.shape == (80, 2)
    assert_allclose(P[:, 0], 1 - P[:, 1])


def test_multilabel_indicator_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0], axis=1).astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=150, random_state=0
    ).fit(X, Y)
    assert_array_equal(clf.classes_, [0, 1, 2])
    pred = clf.predict(X)
    assert pred.shape == Y.shape and pred.dtype == Y.dtype
    assert clf.predict_proba(X).shape == (100, 3)
    assert clf.score(X, Y) > 0.8
    with pytest.raises(ValueError, match="Unknown label type: multiclass-multioutput"):
        clf.fit(X, Y * 2)


# ------------------------------------------------------------------ partial_fit
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_in_chunks_continues_the_optimizer(solver):
    """Chunks of m rows fed to partial_fit = one epoch of fit with batch_size=m:
    the same optimizer object carries its momentum/moments across calls."""
    X, y = blobs(n=120)
    params = dict(
        hidden_layer_sizes=(8,),
        solver=solver,
        shuffle=False,
        random_state=0,
        learning_rate_init=0.01,
        dtype="float64",
    )
    whole = MLPClassifier(batch_size=20, max_iter=1, **params).fit(X, y)
    stream = MLPClassifier(**params)
    stream.partial_fit(X[:20], y[:20], classes=np.arange(3))
    optimizer = stream._optimizer
    for start in range(20, 120, 20):
        stream.partial_fit(X[start : start + 20], y[start : start + 20])
        assert stream._optimizer is optimizer
    assert optimizer.state_for(stream.net_).t == 6
    for a, b in zip(stream.coefs_ + stream.intercepts_, whole.coefs_ + whole.intercepts_):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert stream.n_iter_ == 1 and stream.t_ == 120 and len(stream.loss_curve_) == 6

    # a fresh optimizer per chunk would give other weights
    restart = MLPClassifier(**params)
    restart.partial_fit(X[:20], y[:20], classes=np.arange(3))
    for start in range(20, 120, 20):
        restart._optimizer = None
        restart.partial_fit(X[start : start + 20], y[start : start + 20])
    assert not np.allclose(restart.coefs_[0], stream.coefs_[0])


def test_partial_fit_one_row_at_a_time_learns_and_regressor_streams():
    X, y = blobs(n=150)
    clf = MLPClassifier(
        hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05, random_state=0
    )
    for _ in range(3):
        for i in range(len(X)):
            clf.partial_fit(X[i : i + 1], y[i : i + 1], classes=np.arange(3))
    assert clf.score(X, y) > 0.9
    assert clf.t_ == 450

    reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    target = X @ np.array([1.0, -1.0, 0.5, 0.0])
    for _ in range(20):
        for start in range(0, 150, 30):
            reg.partial_fit(X[start : start + 30], target[start : start + 30])
    assert reg.predict(X).shape == (150,)
    assert reg.score(X, target) > 0.8


def test_partial_fit_rules():
    X, y = blobs(n=60)
    clf = MLPClassifier(max_iter=5)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X, y + 4)
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    with pytest.raises(AttributeError, match="only available for stochastic optimizers"):
        MLPRegressor(solver="lbfgs").partial_fit(X, y)

    # fit starts anew; partial_fit after fit continues fit's optimizer
    clf.fit(X, y)
    assert_array_equal(clf.classes_, [0, 1, 2])
    opt = clf._optimizer
    clf.partial_fit(X, y)
    assert clf._optimizer is opt


# ------------------------------------------------------------------ stopping
def test_early_stopping(digits):
    X_train, y_train, X_test, y_test = digits
    clf = MLPClassifier(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        n_iter_no_change=5,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X_train, y_train)
    assert clf.n_iter_ < 200  # stopped before max_iter
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    # the weights kept are those of the best epoch, not of the last
    best = int(np.argmax(clf.validation_scores_))
    assert best < clf.n_iter_ - 1
    assert_array_equal(clf.net_.params, clf._best_params)
    assert clf.score(X_test, y_test) > 0.93

    reg = MLPRegressor(
        hidden_layer_sizes=(16,),
        early_stopping=True,
        validation_fraction=0.2,
        learning_rate_init=0.01,
        random_state=0,
        max_iter=500,
    )
    reg.fit(X_train, y_train.astype(float))
    assert reg.n_iter_ < 500 and reg.best_validation_score_ > 0.5


def test_stops_when_the_loss_stops_improving_and_warns_at_max_iter():
    X, y = blobs(n=90)
    clf = MLPClassifier(
        hidden_layer_sizes=(8,),
        learning_rate_init=0.05,
        tol=1e-2,
        n_iter_no_change=4,
        random_state=0,
        max_iter=500,
    ).fit(X, y)
    curve = np.array(clf.loss_curve_)
    assert clf.n_iter_ < 500 and clf.n_iter_ == len(curve)
    # scikit-learn's rule: stop after n_iter_no_change + 1 epochs in a row that
    # each failed to beat the best loss before them by tol
    improved = [curve[i] <= curve[:i].min() - 1e-2 for i in range(1, len(curve))]
    assert not any(improved[-5:]) and improved[-6]
    assert clf.best_loss_ == curve.min()

    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(max_iter=3).fit(X, y)


def test_verbose_prints_the_loss(capsys):
    X, y = blobs(n=30)
    MLPClassifier(max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


def test_lbfgs_solver():
    X, y = blobs(n=120)
    clf = MLPClassifier(
        solver="lbfgs",
        hidden_layer_sizes=(8,),
        alpha=1e-2,
        random_state=0,
        dtype="float64",
    ).fit(X, y)
    assert clf.score(X, y) > 0.95 and clf.n_iter_ >= 1
    assert not hasattr(clf, "loss_curve_")
    # loss_ is scikit-learn's objective at the solution
    W = np.concatenate([w.ravel() for w in clf.coefs_])
    expected = clf.net_.evaluate(X, y) + 0.5 * 1e-2 / len(X) * W @ W
    assert_allclose(clf.loss_, expected, rtol=1e-10)
    reg = MLPRegressor(
        solver="lbfgs", hidden_layer_sizes=(8,), random_state=0, dtype="float64"
    ).fit(X, X[:, 0] - X[:, 1])
    assert reg.score(X, X[:, 0] - X[:, 1]) > 0.95


# ------------------------------------------------------------------ regressor
def test_regressor_output_shapes():
    X, _ = blobs(n=60)
    y = X[:, 0] * 2 - X[:, 1]
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (60,) and pred.dtype == np.float64
    assert reg.out_activation_ == "identity" and reg.n_outputs_ == 1
    Y = np.stack([y, -y, X[:, 2]], axis=1)
    assert reg.fit(X, Y).predict(X).shape == (60, 3)
    assert reg.n_outputs_ == 3
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        reg.fit(X, y[:, None])
    assert reg.predict(X).shape == (60,)
    assert isinstance(reg.score(X, y), float)


def test_r2_and_accuracy_scores():
    X, y = blobs(n=60)
    reg = MLPRegressor(max_iter=5, random_state=0).fit(X, X[:, 0])
    pred = reg.predict(X)
    r2 = 1 - ((X[:, 0] - pred) ** 2).sum() / ((X[:, 0] - X[:, 0].mean()) ** 2).sum()
    assert_allclose(reg.score(X, X[:, 0]), r2)
    clf = MLPClassifier(max_iter=5, random_state=0).fit(X, y)
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)


# ------------------------------------------------------------------ parameters
def test_get_params_set_params_and_repr():
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=50)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (32,) and params["solver"] == "adam"
    assert params["alpha"] == 0.0001 and params["batch_size"] == "auto"
    assert params["dtype"] == "float32" and "loss" not in params
    assert "loss" in MLPRegressor().get_params()
    assert clf.set_params(alpha=0.1, solver="sgd") is clf
    assert clf.alpha == 0.1 and clf.solver == "sgd"
    with pytest.raises(ValueError, match="Invalid parameter 'nope' for estimator"):
        clf.set_params(nope=1)
    # the parameters that differ from the defaults, in the signature's order
    assert repr(clf) == (
        "MLPClassifier(hidden_layer_sizes=(32,), solver='sgd', alpha=0.1, max_iter=50)"
    )
    assert repr(MLPRegressor()) == "MLPRegressor()"


def test_scikit_learn_defaults():
    import inspect

    defaults = {k: v.default for k, v in inspect.signature(MLPClassifier).parameters.items()}
    assert defaults == dict(
        hidden_layer_sizes=(100,),
        activation="relu",
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
    )
    reg = {k: v.default for k, v in inspect.signature(MLPRegressor).parameters.items()}
    assert reg == dict(defaults, loss="squared_error")


def test_random_state_and_dtype():
    X, y = blobs(n=60)
    a = MLPClassifier(max_iter=5, random_state=3).fit(X, y)
    b = MLPClassifier(max_iter=5, random_state=3).fit(X, y)
    c = MLPClassifier(max_iter=5, random_state=np.random.RandomState(3)).fit(X, y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert c.net_.dtype == np.float32
    d = MLPClassifier(max_iter=5, random_state=3, dtype="float64").fit(X, y)
    assert d.net_.dtype == np.float64 and d.coefs_[0].dtype == np.float64


def test_warm_start_continues_and_coefs_are_views():
    X, y = blobs(n=60)
    clf = MLPClassifier(max_iter=5, warm_start=True, random_state=0).fit(X, y)
    net = clf.net_
    clf.fit(X, y)
    assert clf.net_ is net and len(clf.loss_curve_) == 10
    with pytest.raises(ValueError, match="warm_start can only be used"):
        clf.fit(X[y < 2], y[y < 2])
    before = clf.predict_proba(X)
    clf.coefs_[0][...] = 0.0  # views: writing changes the model
    assert not np.allclose(clf.predict_proba(X), before)


def test_pickle_keeps_predictions_and_the_optimizer_state():
    X, y = blobs(n=60)
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", random_state=0)
    clf.partial_fit(X[:30], y[:30], classes=[0, 1, 2])
    twin = pickle.loads(pickle.dumps(clf))
    deep = copy.deepcopy(clf)
    assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    for other in (twin, deep):
        other.partial_fit(X[30:], y[30:])
        assert np.shares_memory(other.coefs_[0], other.net_.params)
    clf.partial_fit(X[30:], y[30:])
    assert_array_equal(twin.net_.params, clf.net_.params)  # momentum carried over
    assert_array_equal(deep.net_.params, clf.net_.params)


class _Frame:
    """Just enough of a data frame: string column names and __array__."""

    def __init__(self, data, columns):
        self.data, self.columns = np.asarray(data), list(columns)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)


def test_feature_names():
    X, y = blobs(n=60)
    clf = MLPClassifier(max_iter=3).fit(_Frame(X, "abcd"), y)
    assert_array_equal(clf.feature_names_in_, list("abcd"))
    clf.predict(_Frame(X, "abcd"))
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(_Frame(X, "abce"))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)
    clf.fit(X, y)
    assert not hasattr(clf, "feature_names_in_")


# ------------------------------------------------------------------ bad input
@pytest.fixture
def fitted():
    X, y = blobs(n=60)
    return MLPClassifier(max_iter=3, random_state=0).fit(X, y), X, y


def test_not_fitted():
    for est in (MLPClassifier(), MLPRegressor()):
        with pytest.raises(NotFittedError, match="instance is not fitted yet"):
            est.predict(np.ones((2, 4)))
        assert issubclass(NotFittedError, ValueError)
        assert issubclass(NotFittedError, AttributeError)
        assert not hasattr(est, "coefs_")
    with pytest.raises(NotFittedError):
        MLPClassifier().predict_proba(np.ones((2, 4)))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[np.nan, 1, 2, 3]]), "NaN"),
        (np.array([[np.inf, 1, 2, 3]]), "infinity"),
        (np.ones(4), "Reshape your data"),
        (
            np.ones((2, 3)),
            "X has 3 features, but MLPClassifier is expecting 4 features as input",
        ),
        (np.ones((0, 4)), r"0 sample\(s\)"),
        (np.ones((2, 4)) + 1j, "Complex data not supported"),
        (np.array([["a", "b", "c", "d"]]), "numeric X"),
    ],
)
def test_bad_X_at_predict(fitted, bad, match):
    clf, _, _ = fitted
    with pytest.raises(ValueError, match=match):
        clf.predict(bad)


def test_bad_X_and_y_at_fit():
    X, y = blobs(n=20)
    clf = MLPClassifier(max_iter=2)
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ValueError, match="Reshape your data"):
        clf.fit(X[:, 0], y)
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(20, 0\)\)"):
        clf.fit(X[:, :0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples: \\[20, 19\\]"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="requires y to be passed"):
        clf.fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        clf.fit(X, X[:, 0])
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.ones(20))
    with pytest.raises(ValueError, match="Input y contains NaN"):
        clf.fit(X, np.where(y == 1, np.nan, y))
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.fit(X, np.array([1, "a"] * 10, dtype=object))
    with pytest.raises(TypeError, match="Sparse data"):
        import scipy.sparse

        clf.fit(scipy.sparse.csr_matrix(X), y)
    with pytest.raises(ValueError, match="leaves an empty training set"):
        MLPRegressor(early_stopping=True).fit(X[:1], [0.0])
    reg = MLPRegressor(max_iter=2)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        reg.fit(X, np.where(y == 1, np.nan, 1.0))
    with pytest.raises(ValueError, match="requires y to be passed"):
        reg.fit(X, None)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        clf.fit(X, y[:, None])


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("hidden_layer_sizes", (10, 0), "hidden_layer_sizes must be > 0"),
        (
            "hidden_layer_sizes",
            "wide",
            "hidden_layer_sizes must be > 0|'hidden_layer_sizes'",
        ),
        (
            "activation",
            "softmax",
            "The 'activation' parameter of MLPClassifier must be",
        ),
        ("solver", "newton", "The 'solver' parameter"),
        (
            "alpha",
            -1.0,
            r"The 'alpha' parameter of MLPClassifier must be a float in the range "
            r"\[0.0, inf\)\. Got -1.0 instead",
        ),
        ("batch_size", 0, "The 'batch_size' parameter"),
        ("learning_rate", "cyclic", "The 'learning_rate' parameter"),
        ("learning_rate_init", 0.0, "The 'learning_rate_init' parameter"),
        ("max_iter", 0, "The 'max_iter' parameter"),
        ("max_iter", 2.5, "The 'max_iter' parameter"),
        ("shuffle", "yes", "The 'shuffle' parameter"),
        ("tol", -1e-4, "The 'tol' parameter"),
        ("momentum", 1.5, "The 'momentum' parameter"),
        ("validation_fraction", 1.0, "The 'validation_fraction' parameter"),
        ("beta_1", 1.0, "The 'beta_1' parameter"),
        ("epsilon", 0.0, "The 'epsilon' parameter"),
        ("n_iter_no_change", 0, "The 'n_iter_no_change' parameter"),
        ("dtype", "float16", "The 'dtype' parameter"),
        (
            "random_state",
            "seed",
            "random_state must be None, an int in",
        ),
    ],
)
def test_bad_parameters_are_refused_at_fit(param, value, match):
    X, y = blobs(n=20)
    clf = MLPClassifier(max_iter=2).set_params(**{param: value})  # no check yet
    with pytest.raises(InvalidParameterError, match=match):
        clf.fit(X, y)
    assert issubclass(InvalidParameterError, ValueError)


def test_poisson_loss_is_refused_clearly():
    X, y = blobs(n=20)
    with pytest.raises(ValueError, match="loss='poisson' is not available"):
        MLPRegressor(loss="poisson").fit(X, y)


@pytest.mark.parametrize("solver, tol", [("adam", 1e-2), ("sgd", 1e-3), ("adam", 0.0)])
def test_stopping_rule_runs_in_one_engine_call_and_stops_where_the_rule_says(
    digits, monkeypatch, solver, tol
):
    # the rule (no improvement of the training loss by tol for more than
    # n_iter_no_change epochs) runs in the compiled loop: one engine call
    # up to the epoch it stops at, which is the first epoch where the rule,
    # replayed here on loss_curve_, says stop
    X_train, y_train, _, _ = digits
    calls = []
    train = fastnn._training.run

    def counting(net, *args, **kwargs):
        calls.append(args[3])  # epochs asked for
        return train(net, *args, **kwargs)

    monkeypatch.setattr(fastnn._training, "run", counting)
    clf = MLPClassifier(
        hidden_layer_sizes=(16,),
        solver=solver,
        tol=tol,
        n_iter_no_change=4,
        max_iter=60,
        random_state=0,
        learning_rate_init=0.01,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X_train, y_train)
    assert calls == [60]
    best, count, stop_at = np.inf, 0, None
    for i, v in enumerate(clf.loss_curve_):
        count = count + 1 if v > best - tol else 0
        best = min(best, v)
        if count > 4:
            stop_at = i + 1
            break
    assert clf.n_iter_ == (stop_at if stop_at is not None else 60)
    if tol == 1e-2:
        assert stop_at is not None  # a tolerance this large stops early


# ------------------------------------------------------------ early stopping's split
def _tiny(n=10, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 3))


@pytest.mark.parametrize(
    "make, y, match",
    [
        # one validation row: R^2 undefined (scikit-learn's first sentence)
        (
            lambda: MLPRegressor(early_stopping=True),
            np.arange(10.0),
            r"The validation set is too small\. Increase 'validation_fraction' or the "
            r"size of your dataset: validation_fraction=0\.1 of n_samples=10 "
            r"holds out 1 row",
        ),
        (
            lambda: MLPClassifier(early_stopping=True),
            np.arange(10) % 2,
            r"The validation set is too small\. .* holds out 1 row",
        ),
        (
            lambda: MLPClassifier(early_stopping=True),
            np.tile([[0, 1, 1], [1, 0, 1]], (5, 1)),
            r"The validation set is too small\. .* holds out 1 row",
        ),
        (
            lambda: MLPRegressor(early_stopping=True, validation_fraction=0.95),
            np.arange(10.0),
            "early stopping leaves an empty training set",
        ),
        # a constant target: R^2 undefined on any held-out rows
        (
            lambda: MLPRegressor(early_stopping=True, validation_fraction=0.3),
            np.ones(10),
            r"cannot be scored: y is constant \(output 0\), and R\^2 is undefined",
        ),
        (
            lambda: MLPRegressor(early_stopping=True, validation_fraction=0.3),
            np.c_[np.arange(10.0), np.full(10, 2.0)],
            r"y is constant \(output 1\)",
        ),
        # classes the stratified split cannot put on both sides
        (
            lambda: MLPClassifier(early_stopping=True, validation_fraction=0.3),
            np.array(["a"] * 9 + ["b"]),
            r"least populated class in y has only 1 member.*"
            r"Classes with 1 member: \['b'\]",
        ),
        (
            lambda: MLPClassifier(early_stopping=True, validation_fraction=0.2),
            np.arange(10) % 3,
            "the validation set of early stopping has 2 rows, too few to hold each of "
            "the 3 classes: increase 'validation_fraction'",
        ),
        (
            lambda: MLPClassifier(early_stopping=True, validation_fraction=0.8),
            np.arange(10) % 3,
            "the training set of early stopping has 2 rows, too few to hold each of "
            "the 3 classes: lower 'validation_fraction'",
        ),
    ],
)
def test_early_stopping_refuses_a_split_it_cannot_score(make, y, match):
    # before: every epoch scored 0.0 on one row and the first epoch was kept
    est = make()
    with pytest.raises(ValueError, match=match):
        est.fit(_tiny(), y)
    assert not hasattr(est, "n_features_in_")  # left unfitted
    with pytest.raises(NotFittedError):
        est.predict(_tiny())


def test_a_regressor_split_whose_held_out_targets_are_equal_is_refused():
    y = np.r_[np.zeros(16), 1.0, 2.0, 3.0, 4.0]  # most draws hold out only zeros
    refused = 0
    for seed in range(10):
        reg = MLPRegressor(
            early_stopping=True,
            validation_fraction=0.1,
            random_state=seed,
            max_iter=2,
            hidden_layer_sizes=(3,),
        )
        try:
            reg.fit(_tiny(20), y)
        except ValueError as exc:
            assert "its 2 targets of output 0 are all equal" in str(exc)
            refused += 1
        else:
            assert np.isfinite(reg.validation_scores_).all()
    assert 0 < refused < 10


def test_the_stratified_split_puts_every_class_on_both_sides():
    # 2 rows of class 0 among 100: its share of 10 validation rows rounds to 0
    X = _tiny(100)
    y = np.r_[[0, 0], np.ones(98, dtype=int)]
    clf = MLPClassifier(
        early_stopping=True,
        validation_fraction=0.1,
        max_iter=1,
        random_state=0,
        hidden_layer_sizes=(3,),
    )
    seen = {}

    def score(X_val, T_val):
        seen["val"] = T_val.copy()
        return 0.5

    clf._score_encoded = score
    clf.fit(X, y)
    held = seen["val"][:, 0] if seen["val"].ndim == 2 else seen["val"]
    assert len(held) == 10 and set(held.tolist()) == {0.0, 1.0}
    assert (held == 0).sum() == 1  # one of class 0 held out, one left to train on


def test_partial_fit_refuses_early_stopping_and_changes_nothing():
    X, y = blobs(n=30)
    clf = MLPClassifier(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(clf, "n_features_in_")  # before: fitted, then raised
    fitted = MLPClassifier(max_iter=3, random_state=0).fit(X, y)
    before = _everything(fitted)
    fitted.set_params(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        fitted.partial_fit(X, y)
    _assert_same(_everything(fitted), before)


# ------------------------------------------------------------------ a call that raises
def _everything(est):
    """A deep copy of everything a call to fit or partial_fit may change."""
    attrs = vars(est)
    skip = {"net_", "_optimizer", "_rng", "_settings_cache", *est.get_params()}
    out = {k: copy.deepcopy(v) for k, v in attrs.items() if k not in skip}
    if attrs.get("_rng") is not None:
        out["_rng"] = attrs["_rng"].get_state(legacy=False)
    net = attrs.get("net_")
    if net is not None:
        out["net_"] = (id(net), net.params.copy(), net._rng_state.copy())
        out["coefs_"] = [W.copy() for W in est.coefs_]
        out["intercepts_"] = [b.copy() for b in est.intercepts_]
        opt = attrs.get("_optimizer")
        if opt is not None:
            state = opt.state_for(net)
            out["_optimizer"] = (
                id(opt),
                opt.settings(),
                state.buffer.copy(),
                state.t,
                state.epoch,
                dict(state.schedule_state),
            )
    return out


def _assert_same(a, b, where="estimator"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (where, set(a) ^ set(b))
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_same(u, v, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert_array_equal(a, b, err_msg=where)
        assert a.dtype == b.dtype, where
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert a == b, (where, a, b)


def _problem_for(kind, n=80):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 4))
    if kind == "classifier":
        return X, np.arange(n) % 3
    return X, X @ [1.0, -2.0, 3.0, 0.5]


HUGE = 1e200  # every solver and dtype overflows in its first step


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize(
    "solver, schedule",
    [("sgd", "constant"), ("sgd", "invscaling"), ("sgd", "adaptive"), ("adam", "constant")],
)
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("call", ["first fit", "warm fit", "fit", "partial_fit"])
def test_a_call_that_diverges_changes_nothing(dtype, kind, solver, schedule, early_stopping, call):
    X, y = _problem_for(kind)
    Est = MLPClassifier if kind == "classifier" else MLPRegressor
    est = Est(
        hidden_layer_sizes=(8,),
        solver=solver,
        learning_rate=schedule,
        dtype=dtype,
        early_stopping=early_stopping and call != "partial_fit",
        max_iter=4,
        batch_size=20,
        random_state=0,
        warm_start=call == "warm fit",
    )
    extra = {}
    if kind == "classifier" and call == "partial_fit":
        extra = {"classes": [0, 1, 2]}
    if call != "first fit":
        if call == "partial_fit":
            est.partial_fit(X, y, **extra)
            est.partial_fit(X, y)
        else:
            est.fit(X, y)
        if call == "partial_fit":
            # a new optimizer (another solver) with a rate that overflows
            est.set_params(solver="adam" if solver == "sgd" else "sgd")
    before = _everything(est)
    predictions = est.predict(X) if call != "first fit" else None
    est.set_params(learning_rate_init=HUGE)
    with pytest.raises(fastnn.TrainingDiverged, match="restored to what it was before"):
        if call == "partial_fit":
            est.partial_fit(X, y)
        else:
            est.fit(X, y)
    _assert_same(_everything(est), before)
    if call == "first fit":
        with pytest.raises(NotFittedError):
            est.predict(X)
    else:
        assert_array_equal(est.predict(X), predictions)
        est.set_params(learning_rate_init=1e-3, solver=solver)  # and it trains on
        est.partial_fit(X, y) if call == "partial_fit" else est.fit(X, y)
        assert np.isfinite(est.predict(X)).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_divergence_after_epochs_and_rate_cuts_is_undone_whole(
    monkeypatch, dtype, schedule, early_stopping, kind
):
    # The engine restores what its own call changed; a fit makes one call per
    # epoch (early stopping, invscaling) or per run of the stopping rule
    # (adaptive: a call, a cut of the rate, the next call). Here the engine
    # diverges in a later call, after epochs, records and rate cuts of this fit.
    X, y = _problem_for(kind)
    Est = MLPClassifier if kind == "classifier" else MLPRegressor
    est = Est(
        hidden_layer_sizes=(8,),
        solver="sgd",
        learning_rate=schedule,
        learning_rate_init=0.01,
        early_stopping=early_stopping,
        dtype=dtype,
        batch_size=20,
        max_iter=3,
        random_state=0,
        warm_start=True,
        tol=1e9 if schedule == "adaptive" else 0.0,
        n_iter_no_change=2,
    )
    est.fit(X, y)
    est.set_params(max_iter=8)
    real, calls = fastnn._training.run, []

    def counting(net, *args, **kwargs):
        calls.append((dry.n_iter_, dry._lr))
        return real(net, *args, **kwargs)

    dry = copy.deepcopy(est)
    monkeypatch.setattr(fastnn._training, "run", counting)
    dry.fit(X, y)
    failing = len(calls)  # the last engine call of this fit diverges
    epochs_before, lr_before = calls[-1]
    if early_stopping or schedule != "constant":
        assert failing >= 2 and epochs_before >= 1  # epochs ran in this call before
    if schedule == "adaptive":
        assert lr_before < 0.01  # and the rate was cut before the divergence
    before = _everything(est)
    predictions = est.predict(X)
    calls.clear()

    def diverging(net, *args, **kwargs):
        calls.append(None)
        if len(calls) == failing:
            args[5].lr = HUGE  # the optimizer: a real divergence in the engine
        return real(net, *args, **kwargs)

    monkeypatch.setattr(fastnn._training, "run", diverging)
    with pytest.raises(fastnn.TrainingDiverged) as info:
        est.fit(X, y)
    steps = 4  # per epoch: 80 rows (72 with 8 held out) in batches of 20
    assert epochs_before * steps < info.value.step <= (epochs_before + 1) * steps
    _assert_same(_everything(est), before)
    assert_array_equal(est.predict(X), predictions)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_regressor_with_early_stopping_that_diverges_keeps_its_weights(dtype):
    # the case: it used to keep the last finished epoch's weights
    # and predict inf, under a message saying the weights were restored
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = X @ [1.0, -2.0, 3.0, 0.5]
    reg = MLPRegressor(
        hidden_layer_sizes=(8,),
        solver="sgd",
        early_stopping=True,
        learning_rate_init=0.01,
        batch_size=20,
        max_iter=3,
        random_state=0,
        warm_start=True,
        dtype=dtype,
    ).fit(X, y)
    before = _everything(reg)
    predictions = reg.predict(X)
    reg.set_params(learning_rate_init=0.4, max_iter=200)
    with pytest.raises(fastnn.TrainingDiverged, match="restored to what it was before"):
        reg.fit(X, y)
    _assert_same(_everything(reg), before)
    assert_array_equal(reg.predict(X), predictions)
    assert np.isfinite(predictions).all()


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_other_calls_that_raise_change_nothing(solver):
    X, y = blobs(n=60)
    params = dict(
        hidden_layer_sizes=(5,), solver=solver, max_iter=5, random_state=0, warm_start=True
    )
    clf = MLPClassifier(**params).fit(X, y)
    reg = MLPRegressor(**params).fit(X, X[:, :2])
    bad = [
        (clf, lambda: clf.fit(X[y < 2], y[y < 2]), "warm_start can only be used"),
        (clf, lambda: clf.fit(X[:, :3], y), "X has 3 features"),
        (reg, lambda: reg.fit(X, X[:, 0]), "y has 1 outputs"),
        (reg, lambda: reg.fit(X, np.where(X[:, :2] > 1, np.nan, 1.0)), "NaN"),
        (reg, lambda: reg.set_params(alpha=-1.0).fit(X, X[:, :2]), "'alpha' parameter"),
    ]
    if solver != "lbfgs":  # lbfgs has no early stopping and no partial_fit
        bad += [
            (
                clf,
                lambda: clf.set_params(early_stopping=True).fit(X[:10], y[:10]),
                "validation set is too small",
            ),
            (clf, lambda: clf.partial_fit(X, y + 4), "classes not in"),
            (clf, lambda: clf.partial_fit(X, y, classes=[0, 1]), "is not the same as"),
        ]
    for est, call, match in bad:
        params = est.get_params()
        before = _everything(est)
        with pytest.raises(ValueError, match=match):
            call()
        _assert_same(_everything(est), before)
        est.set_params(**params)


def test_regressor_score_of_one_row_is_nan_with_a_warning_as_scikit_learns():
    X = np.arange(20.0).reshape(10, 2)
    y = X.sum(axis=1)
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    with pytest.warns(UserWarning, match="not well-defined with less than two samples"):
        assert np.isnan(reg.score(X[:1], y[:1]))
    assert reg.score(X, y) == fastnn.network.r2_score(y, reg.predict(X))
