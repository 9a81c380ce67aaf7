"""Tests for numeric.flow against matrix exponentials and known invariants."""

import numpy as np
import pytest
from scipy.linalg import expm

from numeric.flow import gradient_flow, integrate_flow
from numeric.problems import factorization, quadratic, rosenbrock


@pytest.mark.parametrize("eigs", [[0.5, 2.0, 5.0], [1.0, -0.5, 0.0]])
def test_gradient_flow_on_quadratic_is_matrix_exponential(eigs):
    p = quadratic(eigs, seed=2)
    h = p.hessian(np.zeros(3))
    theta0 = np.array([1.0, -2.0, 0.5])
    t_eval = np.linspace(0.0, 3.0, 7)
    t, thetas = gradient_flow(p.grad, theta0, 3.0, t_eval=t_eval)
    np.testing.assert_array_equal(t, t_eval)
    assert thetas.shape == (7, 3)
    expected = np.array([expm(-h * s) @ theta0 for s in t_eval])
    np.testing.assert_allclose(thetas, expected, rtol=1e-8, atol=1e-10)


def test_integrate_flow_linear_non_symmetric_field():
    a = np.array([[0.0, 1.0], [-4.0, -0.3]])  # damped oscillator
    theta0 = np.array([1.0, 0.0])
    t, thetas = integrate_flow(lambda th: a @ th, theta0, 4.0, t_eval=[0.0, 1.0, 2.5, 4.0])
    expected = np.array([expm(a * s) @ theta0 for s in t])
    np.testing.assert_allclose(thetas, expected, rtol=1e-8, atol=1e-10)


def test_integrate_flow_default_times_and_other_method():
    t, thetas = integrate_flow(lambda th: -th, [2.0], 1.5)
    assert t[0] == 0.0 and t[-1] == pytest.approx(1.5)
    assert thetas.shape == (t.size, 1) and thetas.flags.c_contiguous
    np.testing.assert_allclose(thetas[:, 0], 2.0 * np.exp(-t), rtol=1e-9)
    t, thetas = integrate_flow(lambda th: -th, [2.0], 1.0, t_eval=[1.0], method="Radau", rtol=1e-10, atol=1e-12)
    assert thetas[0, 0] == pytest.approx(2.0 * np.exp(-1.0), rel=1e-7)


def test_gradient_flow_decreases_rosenbrock_loss():
    p = rosenbrock()
    t, thetas = gradient_flow(p.grad, [-1.2, 1.0], 5.0, t_eval=np.linspace(0, 5, 200), method="LSODA",
                              rtol=1e-9, atol=1e-12)
    losses = np.array([p.loss(th) for th in thetas])
    assert np.all(np.diff(losses) <= 1e-12)
    assert losses[-1] < 0.5 * losses[0]


def test_gradient_flow_on_factorization_conserves_balance_and_reaches_hyperbola():
    # d/dt (w1^2 - w2^2) = 2 w1 (-r w2) - 2 w2 (-r w1) = 0 along gradient flow
    p = factorization()
    theta0 = np.array([0.3, 1.7])
    t, thetas = gradient_flow(p.grad, theta0, 30.0, t_eval=np.linspace(0, 30, 50))
    balance = thetas[:, 0] ** 2 - thetas[:, 1] ** 2
    np.testing.assert_allclose(balance, theta0[0] ** 2 - theta0[1] ** 2, atol=1e-9)
    w1, w2 = thetas[-1]
    assert w1 * w2 == pytest.approx(1.0, abs=1e-9)


def test_flow_does_not_mutate_theta0():
    theta0 = np.array([1.0, 2.0])

    def field(th):
        out = -th
        th[:] = 99.0  # a badly behaved field must not corrupt the caller's array
        return out

    integrate_flow(field, theta0, 0.5)
    np.testing.assert_array_equal(theta0, [1.0, 2.0])


def test_finite_time_blowup_raises_runtime_error():
    # theta' = theta^2, theta(0) = 1 has solution 1 / (1 - t): blows up at t = 1
    with pytest.raises(RuntimeError):
        integrate_flow(lambda th: th**2, [1.0], 2.0)


def test_non_finite_field_raises_runtime_error():
    with pytest.raises(RuntimeError, match="left the finite range"):
        integrate_flow(lambda th: np.full_like(th, np.nan), [1.0], 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"t_final": 0.0}, r"t_final must be a finite number > 0, got 0.0"),
        ({"t_final": np.inf}, r"t_final must be a finite number > 0, got inf"),
        ({"t_eval": [0.0, 2.0]}, r"t_eval must lie in \[0, t_final\]"),
        ({"t_eval": [0.5, 0.2]}, r"t_eval must be sorted"),
        ({"method": "Euler"}, r"method must be one of RK23, RK45, DOP853"),
        ({"rtol": -1.0}, r"rtol must be a finite number > 0"),
        ({"theta0": [[1.0]]}, r"theta0 must be a non-empty 1-D array"),
        ({"theta0": [np.nan]}, r"theta0 must be finite"),
    ],
)
def test_integrate_flow_rejects_bad_input(kwargs, match):
    args = {"vector_field": lambda th: -th, "theta0": [1.0], "t_final": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        integrate_flow(**args)


def test_wrong_shape_field_and_non_callable():
    with pytest.raises(ValueError, match=r"vector_field must return an array of shape \(2,\), got \(3,\)"):
        integrate_flow(lambda th: np.zeros(3), [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="grad_fn must be a callable"):
        gradient_flow(None, [1.0], 1.0)
