"""Tests for numeric.step_size against the closed forms of GD on quadratics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numeric.optimizers import gd, run
from numeric.problems import quadratic, rosenbrock
from numeric.step_size import convergence_rate, critical_step_size, diverges


def eigvecs(p):
    """Eigenvectors of the (constant) Hessian, via numpy, as columns."""
    return np.linalg.eigh(p.hessian(np.zeros(p.dim)))[1]


# --------------------------------------------------------------------------- diverges
def test_diverges_on_scalar_quadratic_either_side_of_two_over_lambda():
    lam = 4.0
    grad = lambda th: lam * th  # noqa: E731
    assert not diverges(gd(1.9 / lam), grad, [1.0], 200)
    assert diverges(gd(2.1 / lam), grad, [1.0], 200)
    assert diverges(gd(1e10), grad, [1.0], 200)  # overflows -> non-finite -> True
    # exactly 2/lambda oscillates with constant amplitude: not growth > 1
    assert not diverges(gd(0.5), grad, [1.0], 200)
    assert diverges(gd(0.5), grad, [1.0], 200, growth=0.5)


def test_diverges_measures_distance_to_the_given_minimizer():
    p = rosenbrock()
    start = np.array([1.1, 1.2])
    assert not diverges(gd(1e-3), p.grad, start, 3000, minimizer=p.minimizer)
    # start near the origin, minimizer (1, 1) far away: GD approaches (1, 1) and thus
    # converges w.r.t. the minimizer, but "grows" when measured from the default theta* = 0
    near0 = np.array([0.1, 0.0])
    assert not diverges(gd(1e-3), p.grad, near0, 3000, minimizer=p.minimizer)
    assert diverges(gd(1e-3), p.grad, near0, 3000)  # moved away from 0 towards (1, 1)


def test_diverges_rejects_bad_input():
    with pytest.raises(ValueError, match="growth must be a finite number > 0"):
        diverges(gd(0.1), lambda th: th, [1.0], 10, growth=0.0)
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        diverges(gd(0.1), lambda th: th, [1.0], 0)
    with pytest.raises(ValueError, match=r"minimizer must have shape \(1,\)"):
        diverges(gd(0.1), lambda th: th, [1.0], 10, minimizer=[0.0, 0.0])


# --------------------------------------------------------------------------- critical step
def test_critical_step_size_of_gd_is_two_over_lambda_max():
    p = quadratic([0.3, 2.0, 8.0], seed=5)
    theta0 = eigvecs(p) @ np.array([1.0, -0.7, 0.4])  # component along every eigenvector
    eta = critical_step_size(gd, p.grad, theta0, lo=0.05, hi=1.0, steps=3000)
    assert abs(eta / (2.0 / 8.0) - 1.0) < 1e-3


def test_critical_step_size_with_weight_decay_shifts_the_spectrum():
    # coupled decay: effective Hessian H + wd I, so eta_c = 2 / (lambda_max + wd)
    p = quadratic([1.0, 4.0])
    theta0 = eigvecs(p) @ np.array([1.0, 1.0])
    eta = critical_step_size(lambda e: gd(e, weight_decay=1.0), p.grad, theta0, 0.1, 1.0, steps=3000)
    assert abs(eta / (2.0 / 5.0) - 1.0) < 1e-3


def test_critical_step_size_requires_a_bracket():
    grad = lambda th: 4.0 * th  # noqa: E731  eta_c = 0.5
    with pytest.raises(ValueError, match="does not diverge at hi=0.4; increase hi"):
        critical_step_size(gd, grad, [1.0], 0.1, 0.4, steps=100)
    with pytest.raises(ValueError, match="already diverges at lo=0.6; decrease lo"):
        critical_step_size(gd, grad, [1.0], 0.6, 0.9, steps=100)
    with pytest.raises(ValueError, match="need lo < hi"):
        critical_step_size(gd, grad, [1.0], 0.9, 0.6, steps=100)
    with pytest.raises(ValueError, match="rtol must be a finite number > 0"):
        critical_step_size(gd, grad, [1.0], 0.1, 0.9, rtol=0.0)


# --------------------------------------------------------------------------- rate
def test_rate_at_optimal_step_is_kappa_formula():
    mu, big_l = 1.0, 10.0
    p = quadratic([mu, big_l])
    theta0 = eigvecs(p) @ np.array([1.0, 2.0])
    traj = run(gd(2.0 / (mu + big_l)), p.grad, theta0, 200)
    kappa = big_l / mu
    assert convergence_rate(traj, np.zeros(2)) == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-10)


@pytest.mark.parametrize("eta", [0.02, 0.1, 0.15, 0.2, 0.23])
def test_rate_of_gd_is_max_abs_one_minus_eta_lambda(eta):
    eigs = [0.5, 2.0, 8.0]
    p = quadratic(eigs, seed=1)
    theta0 = eigvecs(p) @ np.array([1.0, 1.0, 1.0])
    traj = run(gd(eta), p.grad, theta0, 1500)
    expected = max(abs(1 - eta * lam) for lam in eigs)
    assert convergence_rate(traj, np.zeros(3), burn_in=100) == pytest.approx(expected, rel=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.05, 0.95), st.sampled_from([-1.0, 1.0]), st.floats(0.1, 10.0), st.floats(0.1, 10.0))
def test_rate_of_scalar_gd_property(rho, sign, lam, theta0):
    # choose eta so that 1 - eta lam = sign * rho (rho = 0 would hit the float floor at once)
    eta = (1.0 - sign * rho) / lam
    traj = run(gd(eta), lambda th: lam * th, [theta0], 30)
    assert convergence_rate(traj, [0.0]) == pytest.approx(abs(1 - eta * lam), rel=1e-8)


def test_rate_ignores_points_at_the_float_floor_and_before_burn_in():
    t = np.arange(60)
    traj = (0.5**t)[:, None].copy()
    traj[40:] = 1e-17  # stuck at the float floor: must be ignored
    traj[:5] = 3.0  # transient: removed by burn_in
    assert convergence_rate(traj, [0.0], burn_in=5) == pytest.approx(0.5, rel=1e-12)
    growing = (1.1 ** t)[:, None] * np.array([[1.0, -1.0]])
    assert convergence_rate(growing + 2.0, [2.0, 2.0]) == pytest.approx(1.1, rel=1e-12)


def test_rate_rejects_bad_input():
    with pytest.raises(ValueError, match="initial error"):
        convergence_rate(np.zeros((5, 2)), [0.0, 0.0])
    with pytest.raises(ValueError, match="need at least 2 points"):
        convergence_rate(np.ones((5, 1)), [0.0], burn_in=4)
    with pytest.raises(ValueError, match=r"trajectory must be a 2-D array"):
        convergence_rate(np.ones(5), [0.0])
    with pytest.raises(ValueError, match=r"minimizer must have shape \(2,\)"):
        convergence_rate(np.ones((5, 2)), [0.0])
    with pytest.raises(ValueError, match="burn_in must be an integer >= 0"):
        convergence_rate(np.ones((5, 1)), [0.0], burn_in=-1)
