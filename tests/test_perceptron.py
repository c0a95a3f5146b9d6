"""Rosenblatt's perceptron on the engine: learning rule, convergence, inputs."""

import numpy as np
import pytest

import fastnn
from fastnn.perceptron import ConvergenceWarning, Perceptron

X_GATE = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
SEPARABLE = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0]}
XOR = [0, 1, 1, 0]


def reference_perceptron(X, y, lr=1.0, max_epochs=100, seed=0):
    """The perceptron rule in plain NumPy, visiting samples in the same order."""
    X = np.asarray(X, dtype=np.float64)
    w, b = np.zeros(X.shape[1]), 0.0
    rng = np.random.default_rng(seed)
    errors, lines = [], []
    for _ in range(max_epochs):
        mistakes = 0
        for i in rng.permutation(len(X)):
            y_hat = 1.0 if X[i] @ w + b >= 0 else 0.0
            if y[i] != y_hat:
                w = w + lr * (y[i] - y_hat) * X[i]
                b = b + lr * (y[i] - y_hat)
                mistakes += 1
        errors.append(mistakes)
        lines.append((w.copy(), b))
        if mistakes == 0:
            break
    return w, b, errors, lines


# ---- Learning the gates -----------------------------------------------------


@pytest.mark.parametrize("gate", sorted(SEPARABLE))
def test_learns_separable_gates_with_defaults(gate):
    y = SEPARABLE[gate]
    p = Perceptron().fit(X_GATE, y)
    assert p.converged_ is True
    assert p.predict(X_GATE).tolist() == y
    assert p.n_epochs_ == len(p.errors_) == len(p.lines_)
    assert p.n_epochs_ < 100
    assert p.errors_[-1] == 0
    assert all(e > 0 for e in p.errors_[:-1])


@pytest.mark.parametrize("gate", sorted(SEPARABLE))
def test_learned_line_separates_the_classes(gate):
    y = np.array(SEPARABLE[gate])
    p = Perceptron().fit(X_GATE, y)
    z = X_GATE @ p.coef_ + p.intercept_
    assert ((z >= 0) == (y == 1)).all()


def test_xor_does_not_converge_and_warns():
    with pytest.warns(
        ConvergenceWarning,
        match=r"did not converge.*not linearly separable.*more epochs",
    ):
        p = Perceptron().fit(X_GATE, XOR)
    assert p.converged_ is False
    assert p.n_epochs_ == 100 == len(p.errors_) == len(p.lines_)
    assert min(p.errors_) > 0
    assert (p.predict(X_GATE) != XOR).any()  # no line gets all four right


def test_too_few_epochs_warns_on_a_separable_problem():
    with pytest.warns(ConvergenceWarning, match=r"max_epochs=1 epochs still made \d+ mistakes"):
        p = Perceptron(max_epochs=1).fit(X_GATE, SEPARABLE["AND"])
    assert p.converged_ is False
    assert p.n_epochs_ == 1


def test_exported_at_the_top_level():
    assert fastnn.Perceptron is Perceptron


def test_convergence_warning_is_a_user_warning():
    assert issubclass(ConvergenceWarning, UserWarning)


def test_one_sample_by_hand():
    # Epoch 1: step(0*1 + 0) = 1, but y = 0: w = 0 - 1*1 = -1, b = 0 - 1 = -1.
    # Epoch 2: step(-1*1 - 1) = step(-2) = 0 = y: no mistake, converged.
    p = Perceptron().fit([[1.0]], [0])
    assert p.errors_ == [1, 0]
    assert p.n_epochs_ == 2
    assert p.coef_.tolist() == [-1.0]
    assert p.intercept_ == -1.0
    assert p.converged_ is True
    # Zero weights fire: the step is 1 at exactly 0 (Heaviside).
    q = Perceptron().fit([[1.0]], [1])
    assert q.errors_ == [0]
    assert q.coef_.tolist() == [0.0]
    assert q.intercept_ == 0.0


# ---- Matches the rule exactly -------------------------------------------------


@pytest.mark.parametrize("gate", sorted(SEPARABLE))
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_matches_plain_numpy_rule_on_gates(gate, seed):
    y = SEPARABLE[gate]
    p = Perceptron(seed=seed).fit(X_GATE, y)
    w, b, errors, lines = reference_perceptron(X_GATE, y, seed=seed)
    assert p.coef_.tolist() == w.tolist()
    assert p.intercept_ == b
    assert p.errors_ == errors
    assert [(c.tolist(), i) for c, i in p.lines_] == [(c.tolist(), i) for c, i in lines]


@pytest.mark.parametrize("seed", [0, 3])
def test_matches_plain_numpy_rule_on_random_data(seed):
    # Integer data and lr = 0.5 keep every sum exact, so the match is exact.
    rng = np.random.default_rng(seed)
    X = rng.integers(-5, 6, size=(40, 3))
    z = X @ np.array([2, -1, 3]) + 1
    X, y = X[z != 0], (z[z != 0] > 0).astype(int)
    p = Perceptron(lr=0.5, max_epochs=300, seed=seed).fit(X, y)
    w, b, errors, _ = reference_perceptron(X, y, lr=0.5, max_epochs=300, seed=seed)
    assert p.errors_ == errors
    assert p.coef_.tolist() == w.tolist()
    assert p.intercept_ == b
    assert p.converged_ is True  # the data are separable by construction
    assert (p.predict(X) == y).all()


def test_same_seed_same_result_and_the_seed_matters():
    a = Perceptron(seed=5).fit(X_GATE, SEPARABLE["AND"])
    b = Perceptron(seed=5).fit(X_GATE, SEPARABLE["AND"])
    assert a.errors_ == b.errors_
    assert a.coef_.tolist() == b.coef_.tolist()
    histories = {tuple(Perceptron(seed=s).fit(X_GATE, SEPARABLE["AND"]).errors_) for s in range(10)}
    assert len(histories) > 1


def test_lr_only_scales_the_weights():
    p1 = Perceptron(lr=1.0).fit(X_GATE, SEPARABLE["OR"])
    p2 = Perceptron(lr=0.5).fit(X_GATE, SEPARABLE["OR"])
    assert p2.errors_ == p1.errors_
    assert (p2.coef_ * 2).tolist() == p1.coef_.tolist()
    assert p2.intercept_ * 2 == p1.intercept_
    assert p2.predict(X_GATE).tolist() == p1.predict(X_GATE).tolist()


def test_refit_starts_from_zero():
    p = Perceptron()
    first = p.fit(X_GATE, SEPARABLE["AND"]).coef_.copy()
    p.fit(X_GATE, SEPARABLE["NAND"])
    p.fit(X_GATE, SEPARABLE["AND"])
    assert p.coef_.tolist() == first.tolist()


# ---- Built on the engine ---------------------------------------------------------


def test_weights_live_in_a_step_network():
    p = Perceptron().fit(X_GATE, SEPARABLE["NAND"])
    assert isinstance(p.net_, fastnn.Sequential)
    layer = p.net_.layers[0]
    assert layer.W.shape == (2, 1)
    assert layer.b.shape == (1,)
    assert layer.W[:, 0].tolist() == p.coef_.tolist()
    assert layer.b[0] == p.intercept_
    assert p.net_.predict(X_GATE)[:, 0].tolist() == p.predict(X_GATE).tolist()


def test_predict_runs_the_network():
    p = Perceptron().fit(X_GATE, SEPARABLE["OR"])
    p.net_.layers[0].b[:] = -100.0  # writing into the engine's view changes the model
    assert p.predict(X_GATE).tolist() == [0, 0, 0, 0]


def test_attributes_and_types():
    p = Perceptron().fit(X_GATE, SEPARABLE["AND"])
    assert p.coef_.shape == (2,)
    assert p.coef_.dtype == np.float64
    assert type(p.intercept_) is float
    assert p.n_features_in_ == 2
    out = p.predict(X_GATE)
    assert out.dtype == np.int64
    assert out.shape == (4,)
    assert repr(p) == "Perceptron(lr=1.0, max_epochs=100, seed=0)"


def test_accepts_bools_lists_and_other_dtypes():
    y_bool = np.array(SEPARABLE["AND"], dtype=bool)
    p = Perceptron().fit(X_GATE.astype(bool), y_bool)
    assert p.predict(X_GATE).tolist() == SEPARABLE["AND"]
    q = Perceptron().fit(np.asfortranarray(X_GATE, dtype=np.float32), [0.0, 0.0, 0.0, 1.0])
    assert q.predict(X_GATE.tolist()).tolist() == SEPARABLE["AND"]


# ---- Bad input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "error", "match"),
    [
        (X_GATE, [0, 1, 2, 1], ValueError, "labels must be 0 or 1.*got 2"),
        (X_GATE, [-1, 1, 1, -1], ValueError, "labels must be 0 or 1.*got -1"),
        (X_GATE, [0, 0.5, 1, 1], ValueError, "got 0.5"),
        (X_GATE, ["a", "b", "a", "b"], ValueError, "got 'a', 'b'"),
        (X_GATE, [0, 1, float("nan"), 1], ValueError, "got nan"),
        (
            X_GATE,
            [[0], [1], [1], [0]],
            ValueError,
            r"y must be 1-D .* got shape \(4, 1\)",
        ),
        (X_GATE, [0, 1, 1], ValueError, "same number of samples, got 4 and 3"),
        ([0, 1, 1, 0], XOR, ValueError, r"X must be 2-D .* got shape \(4,\).*reshape"),
        (np.zeros((4, 2, 1)), XOR, ValueError, r"X must be 2-D"),
        (np.zeros((0, 2)), [], ValueError, "at least one sample and one feature"),
        (np.zeros((4, 0)), XOR, ValueError, "at least one sample and one feature"),
        ([[0, 0], [0, np.nan], [1, 0], [1, 1]], XOR, ValueError, "X must be finite"),
        ([[0, 0], [0, np.inf], [1, 0], [1, 1]], XOR, ValueError, "X must be finite"),
        ([["a", "b"]] * 4, XOR, TypeError, "X must hold numbers"),
    ],
)
def test_fit_rejects_bad_data(X, y, error, match):
    with pytest.raises(error, match=match):
        Perceptron().fit(X, y)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lr": 0}, ValueError, "lr must be a finite number > 0, got 0"),
        ({"lr": -1.0}, ValueError, "lr must be a finite number > 0, got -1.0"),
        ({"lr": float("inf")}, ValueError, "got inf"),
        ({"lr": float("nan")}, ValueError, "got nan"),
        ({"lr": "1"}, TypeError, "lr must be a number, got '1'"),
        ({"lr": True}, TypeError, "lr must be a number, got True"),
        ({"max_epochs": 0}, ValueError, "max_epochs must be >= 1, got 0"),
        ({"max_epochs": 1.5}, TypeError, "max_epochs must be an int, got 1.5"),
        ({"max_epochs": True}, TypeError, "max_epochs must be an int, got True"),
    ],
)
def test_rejects_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        Perceptron(**kwargs)


def test_parameters_are_checked_again_in_fit():
    p = Perceptron()
    p.lr = -1.0
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        p.fit(X_GATE, SEPARABLE["AND"])


def test_predict_before_fit():
    with pytest.raises(RuntimeError, match="not fitted yet"):
        Perceptron().predict(X_GATE)


def test_predict_rejects_bad_X():
    p = Perceptron().fit(X_GATE, SEPARABLE["AND"])
    with pytest.raises(ValueError, match="X has 3 features, but the perceptron was fitted with 2"):
        p.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        p.predict([0, 1])
    with pytest.raises(ValueError, match="X must be finite"):
        p.predict([[0, np.nan]])
