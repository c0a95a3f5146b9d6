"""The regression machine on Hubble's galaxies: gradient descent on E(a, b)."""

import numpy as np
import pytest

import fastnn
from fastnn.datasets import load_hubble


@pytest.fixture(scope="module")
def hubble():
    return load_hubble()


def test_full_batch_descent_reaches_the_closed_form(hubble):
    x, y = hubble
    m = fastnn.RegressionMachine().fit(x, y, lr=0.3, steps=3000)
    a, b = m.closed_form()
    assert (a, b) == pytest.approx((454.158, -40.784), abs=1e-3)  # the reference OLS fit
    assert m.a == pytest.approx(a, abs=1e-6) and m.b == pytest.approx(b, abs=1e-6)
    assert m.through_origin() == pytest.approx(423.937, abs=1e-3)  # Hubble's constant


def test_loss_is_the_mean_squared_error_and_the_path_has_a_point_per_step(hubble):
    x, y = hubble
    m = fastnn.RegressionMachine().fit(x, y, lr=0.1, steps=57)
    assert m.path.shape == (57, 2)
    assert m.loss_history.shape == (57,)
    assert (m.a, m.b) == tuple(m.path[-1])
    for a, b in [(0.0, 0.0), (454.0, -40.0), (-3.5, 12.25)]:
        assert m.loss(a, b) == pytest.approx(np.mean((a * x + b - y) ** 2), rel=1e-14)
    # each recorded loss is E at the point the step started from (full batch)
    starts = np.vstack([[0.0, 0.0], m.path[:-1]])
    np.testing.assert_allclose(m.loss_history, m.loss(starts[:, 0], starts[:, 1]), rtol=1e-12)
    # and each step is plain gradient descent on E: w - lr * grad E(w)
    a0, b0 = starts[5]
    r = a0 * x + b0 - y
    grad = np.array([2 * np.mean(r * x), 2 * np.mean(r)])
    np.testing.assert_allclose(m.path[5], starts[5] - 0.1 * grad, rtol=1e-12)


def test_hessian_and_stability_limit(hubble):
    x, y = hubble
    m = fastnn.RegressionMachine().fit(x, y, lr=0.1, steps=1)
    H = m.hessian()
    np.testing.assert_allclose(H, 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]]))
    assert m.stability_limit() == pytest.approx(2 / np.linalg.eigvalsh(H).max())
    assert 0.45 < m.stability_limit() < 0.52
    below = fastnn.RegressionMachine().fit(x, y, lr=0.9 * m.stability_limit(), steps=300)
    above = fastnn.RegressionMachine().fit(x, y, lr=1.1 * m.stability_limit(), steps=300)
    assert below.loss_history[-1] < below.loss_history[0]
    assert above.loss_history[-1] > above.loss_history[0] * 1e3


def test_mini_batch_and_online_modes(hubble):
    x, y = hubble
    mb = fastnn.RegressionMachine(seed=1).fit(x, y, lr=0.05, steps=600, batch_size=4)
    online = fastnn.RegressionMachine(seed=1).fit(x, y, lr=0.02, steps=960, batch_size=1)
    again = fastnn.RegressionMachine(seed=1).fit(x, y, lr=0.05, steps=600, batch_size=4)
    assert mb.path.shape == (600, 2) and online.path.shape == (960, 2)
    np.testing.assert_array_equal(mb.path, again.path)  # seeded
    assert mb.history.steps_per_epoch == 6 and online.history.steps_per_epoch == 24
    a, b = mb.closed_form()
    for m in (mb, online):  # noisy, but near
        assert m.loss(m.a, m.b) < 1.1 * m.loss(a, b)


def test_a_diverging_run_says_so_and_keeps_the_machine_usable(hubble):
    x, y = hubble
    m = fastnn.RegressionMachine()
    with pytest.raises(fastnn.TrainingDiverged, match="lower learning rate") as info:
        m.fit(x, y, lr=2.0, steps=5000)
    assert info.value.step > 1
    m.fit(x, y, lr=0.3, steps=10)
    assert m.path.shape == (10, 2)


@pytest.mark.parametrize(
    "args, match",
    [
        (dict(x=[1.0], y=[2.0]), "at least 2 points"),
        (dict(x=[1.0, 2.0], y=[1.0]), "different lengths"),
        (dict(x=[[1.0, 2.0]], y=[1.0, 2.0]), "1-D arrays"),
        (dict(x=[1.0, np.nan], y=[1.0, 2.0]), "finite"),
        (dict(x=[1.0, 2.0], y=[1.0, 2.0], lr=0), "lr must be > 0"),
        (dict(x=[1.0, 2.0], y=[1.0, 2.0], steps=-1), "steps must be >= 0"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        fastnn.RegressionMachine().fit(**args)


def test_the_surface_needs_data_first():
    with pytest.raises(ValueError, match="fit the machine first"):
        fastnn.RegressionMachine().loss(1.0, 2.0)


def test_each_fit_starts_afresh_from_zero_with_the_same_batches(hubble):
    x, y = hubble
    m = fastnn.RegressionMachine(seed=2)
    first = m.fit(x, y, lr=0.05, steps=50, batch_size=5).path.copy()
    m.fit(x, y, lr=0.3, steps=10)
    again = m.fit(x, y, lr=0.05, steps=50, batch_size=5).path
    np.testing.assert_array_equal(first, again)


def test_steps_within_finds_the_step_from_which_the_loss_stays_near_the_minimum():
    from fastnn.regression import steps_within

    assert steps_within([5.0, 3.0, 1.005, 1.2, 1.001, 1.0], 1.0) == 5
    assert steps_within([1.0, 1.0], 1.0) == 1
    assert steps_within([5.0, 1.0, 2.0], 1.0) is None


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n", [1, 3, 8, 9, 16, 17, 24, 25, 1001])
def test_the_lines_fused_step_matches_numpy_for_any_row_count(n, dtype):
    # The fused pass of a Dense(1, 1) under MSE (the training loop's own path
    # for the line) sums rows in blocks of 8, in vector registers where the
    # build has them, and the rest one by one: every split of n, against
    # float64 NumPy. From w = b = 0 one full-batch step of lr 1 leaves
    # exactly (-dW, -db), and the history holds E at (0, 0).
    rng = np.random.default_rng(n)
    x = rng.normal(3.0, 2.0, size=n).astype(dtype)
    y = (7.5 * x - 4.0 + rng.normal(size=n)).astype(dtype)
    net = fastnn.Sequential([fastnn.Dense(1, 1)], loss="mse", dtype=dtype, seed=1)
    net.layers[0].W[:] = 0
    net.layers[0].b[:] = 0
    hist = net.fit(
        x[:, None], y[:, None], batch_size=n, optimizer=fastnn.SGD(lr=1.0), shuffle=False
    )
    xr, yr = x.astype(np.float64), y.astype(np.float64)
    tol = 1e-12 if dtype == "float64" else 2e-6
    assert hist.loss[0] == pytest.approx(np.mean(yr**2), rel=tol)
    assert -net.layers[0].W[0, 0] == pytest.approx(2 * np.mean(-yr * xr), rel=tol)
    assert -net.layers[0].b[0] == pytest.approx(2 * np.mean(-yr), rel=tol)
