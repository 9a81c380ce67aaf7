"""Tests for verify.finite_differences against closed-form derivatives typed in here."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from verify.finite_differences import (FDResult, central_gradient, central_jacobian, complex_step_gradient,
                                       directional_check, hessian_from_function, hessian_from_gradient)


# --- reference functions with hand-derived derivatives ---------------------

def sinexp(x):                      # f = sum sin(x_i) exp(x_i)
    return np.sum(np.sin(x) * np.exp(x))


def sinexp_grad(x):                 # d/dx sin(x) e^x = e^x (sin x + cos x)
    return np.exp(x) * (np.sin(x) + np.cos(x))


def sinexp_hess(x):                 # d2/dx2 = 2 e^x cos x, diagonal
    return np.diag(2 * np.exp(x) * np.cos(x))


A_ROS, B_ROS = 1.0, 100.0


def rosen(v):                       # (a - x)^2 + b (y - x^2)^2
    x, y = v
    return (A_ROS - x) ** 2 + B_ROS * (y - x ** 2) ** 2


def rosen_grad(v):
    x, y = v
    return np.array([-2 * (A_ROS - x) - 4 * B_ROS * x * (y - x ** 2),
                     2 * B_ROS * (y - x ** 2)])


def rosen_hess(v):
    x, y = v
    return np.array([[2 - 4 * B_ROS * y + 12 * B_ROS * x ** 2, -4 * B_ROS * x],
                     [-4 * B_ROS * x, 2 * B_ROS]])


POINTS = [np.array(p) for p in ([0.3, -0.7, 1.1, 0.05, -1.3],
                                [1.0, 0.5, -0.25, 0.8, -0.9],
                                [-0.4, 0.9, 0.2, -1.0, 0.6])]
ROS_POINTS = [np.array(p) for p in ([-1.2, 1.0], [0.5, 0.3], [1.3, 1.7])]


def rel_err(est, exact):
    return np.max(np.abs(est - exact)) / np.max(np.abs(exact))


def assert_honest(res, exact):
    """The reported error estimate bounds the actual absolute error."""
    actual = np.max(np.abs(res.value - exact))
    assert actual <= 10 * res.error_estimate + 1e-13, (actual, res.error_estimate)


# --- gradients --------------------------------------------------------------

@pytest.mark.parametrize("x", POINTS)
def test_plain_central_gradient_accuracy(x):
    res = central_gradient(sinexp, x, richardson=False)
    assert isinstance(res, FDResult) and res.value.shape == x.shape
    assert res.step == pytest.approx(np.finfo(float).eps ** (1 / 3))
    assert rel_err(res.value, sinexp_grad(x)) < 1e-9      # measured ~1e-11
    assert_honest(res, sinexp_grad(x))
    assert res.error_estimate < 1e-8                       # and not absurdly loose


@pytest.mark.parametrize("x", POINTS)
def test_richardson_gradient_accuracy(x):
    res = central_gradient(sinexp, x)
    assert rel_err(res.value, sinexp_grad(x)) < 1e-12      # measured ~1e-13
    assert_honest(res, sinexp_grad(x))
    assert res.error_estimate < 1e-10


@pytest.mark.parametrize("x", POINTS)
def test_complex_step_gradient_accuracy(x):
    res = complex_step_gradient(sinexp, x)
    assert rel_err(res.value, sinexp_grad(x)) < 2e-15      # measured ~1e-16
    assert_honest(res, sinexp_grad(x))
    assert res.error_estimate < 1e-14


@pytest.mark.parametrize("v", ROS_POINTS)
def test_rosenbrock_gradients(v):
    g = rosen_grad(v)
    plain = central_gradient(rosen, v, richardson=False)
    rich = central_gradient(rosen, v)
    cs = complex_step_gradient(rosen, v)
    # b = 100 gives f_xxx = 24 b x ~ 3e3, so plain truncation f_xxx h^2/6 ~ 3e-8
    # against |g| ~ 5 at (1.3, 1.7): measured 7e-9 relative there, 1e-10 at (-1.2, 1).
    assert rel_err(plain.value, g) < 3e-8
    assert rel_err(rich.value, g) < 1e-12
    assert rel_err(cs.value, g) < 1e-15
    for res in (plain, rich, cs):
        assert_honest(res, g)


def test_plain_error_shrinks_like_h_squared():
    # 1-D, x = 0.7, large h so truncation (f''' h^2 / 6) dominates rounding.
    f = lambda v: np.sin(v[0]) * np.exp(v[0])
    exact = sinexp_grad(np.array([0.7]))[0]
    errs, ests = [], []
    for h in (1e-2, 2.5e-3):
        res = central_gradient(f, [0.7], h=h, richardson=False)
        errs.append(abs(res.value[0] - exact))
        ests.append(res.error_estimate)
    assert 14 < errs[0] / errs[1] < 18                     # 4x smaller h -> 16x
    for e, est in zip(errs, ests):                         # estimate is sharp here
        assert 0.5 * e < est < 2 * e


def test_richardson_error_shrinks_like_h_fourth():
    f = lambda v: np.sin(v[0]) * np.exp(v[0])
    exact = sinexp_grad(np.array([0.7]))[0]
    errs = [abs(central_gradient(f, [0.7], h=h).value[0] - exact) for h in (1e-1, 5e-2)]
    assert 14 < errs[0] / errs[1] < 18                     # 2x smaller h -> 16x


def test_central_jacobian_rectangular():
    F = lambda x: np.array([x[0] * x[1] * x[2], np.sin(x[0]) + x[2] ** 2])
    x = np.array([0.4, -1.3, 2.0])
    J = np.array([[x[1] * x[2], x[0] * x[2], x[0] * x[1]],
                  [np.cos(x[0]), 0.0, 2 * x[2]]])
    for richardson, tol in ((False, 1e-9), (True, 1e-12)):
        res = central_jacobian(F, x, richardson=richardson)
        assert res.value.shape == (2, 3)
        assert rel_err(res.value, J) < tol
        assert_honest(res, J)


# --- Hessians ---------------------------------------------------------------

@pytest.mark.parametrize("v", ROS_POINTS)
def test_rosenbrock_hessians(v):
    H = rosen_hess(v)
    from_grad = hessian_from_gradient(rosen_grad, v)
    from_grad_plain = hessian_from_gradient(rosen_grad, v, richardson=False)
    from_f = hessian_from_function(rosen, v)
    assert rel_err(from_grad.value, H) < 1e-12
    assert rel_err(from_grad_plain.value, H) < 1e-9
    assert rel_err(from_f.value, H) < 1e-7                 # measured ~3e-9
    for res in (from_grad, from_grad_plain, from_f):
        assert np.array_equal(res.value, res.value.T)
        assert_honest(res, H)


@pytest.mark.parametrize("x", POINTS)
def test_sinexp_hessians(x):
    H = sinexp_hess(x)
    g, f = hessian_from_gradient(sinexp_grad, x), hessian_from_function(sinexp, x)
    assert rel_err(g.value, H) < 1e-11
    assert rel_err(f.value, H) < 1e-6
    assert_honest(g, H)
    assert_honest(f, H)


def test_quadratic_hessian_is_exact():
    A = np.array([[4.0, 1.0, -2.0], [1.0, 3.0, 0.5], [-2.0, 0.5, 5.0]])
    x = np.array([0.3, -2.0, 1.5])
    res = hessian_from_gradient(lambda y: A @ y, x)
    assert np.max(np.abs(res.value - A)) < 1e-12
    res_f = hessian_from_function(lambda y: 0.5 * y @ A @ y, x)
    assert np.max(np.abs(res_f.value - A)) < 1e-6
    assert_honest(res_f, A)


def test_asymmetry_is_reported():
    # The rotation field (y, -x) is not the gradient of any function.
    res = hessian_from_gradient(lambda v: np.array([v[1], -v[0]]), np.array([0.2, 0.1]))
    assert np.allclose(res.value, 0.0)
    assert res.error_estimate >= 0.99


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    arrays(np.float64, (n, n), elements=st.floats(-10, 10)),
    arrays(np.float64, n, elements=st.floats(-5, 5)))))
def test_random_quadratics_recover_A(data):
    B, x = data
    A = B + B.T
    scale = max(1.0, np.max(np.abs(A)))
    res = hessian_from_gradient(lambda y: A @ y, x)
    assert np.max(np.abs(res.value - A)) <= 1e-8 * scale
    assert np.max(np.abs(res.value - A)) <= 10 * res.error_estimate + 1e-13 * scale


# --- directional check ------------------------------------------------------

@pytest.mark.parametrize("x", POINTS)
def test_directional_check(x):
    good = directional_check(sinexp, sinexp_grad, x)
    assert good < 1e-10                                    # measured ~3e-13
    assert directional_check(sinexp, sinexp_grad, x, seed=3) < 1e-10
    bad = lambda y: sinexp_grad(y) * np.r_[1.0, 1.0, 1.001, 1.0, 1.0]   # 0.1% bug
    assert directional_check(sinexp, bad, x, n_directions=10) > 1e-5
    assert directional_check(rosen, rosen_grad, ROS_POINTS[0]) < 1e-10


def test_directional_check_is_deterministic():
    x = POINTS[0]
    wrong = lambda y: 2 * sinexp_grad(y)
    assert directional_check(sinexp, wrong, x, seed=7) == directional_check(sinexp, wrong, x, seed=7)
    assert directional_check(sinexp, wrong, x) > 0.1


# --- input validation -------------------------------------------------------

@pytest.mark.parametrize("bad_x, match", [
    (np.zeros((2, 2)), "1-D"),
    (np.array([]), "1-D"),
    (np.array([1.0, np.nan]), "nan/inf"),
    (np.array([1.0 + 2j]), "real"),
    (np.array(["a"]), "real"),
])
def test_rejects_bad_x(bad_x, match):
    with pytest.raises(ValueError, match=match):
        central_gradient(sinexp, bad_x)


def test_rejects_bad_f_and_steps():
    x = np.array([0.5, 1.0])
    with pytest.raises(ValueError, match="scalar"):
        central_gradient(lambda y: y, x)
    with pytest.raises(ValueError, match="nan/inf"), np.errstate(invalid="ignore"):
        central_gradient(lambda y: np.log(y[0] - 0.5), x)
    with pytest.raises(ValueError, match="length 2"):
        hessian_from_gradient(lambda y: np.r_[y, 1.0], x)
    with pytest.raises(ValueError, match="positive"):
        central_gradient(sinexp, x, h=-1e-3)
    with pytest.raises(ValueError, match="discards the imaginary part"):
        complex_step_gradient(lambda y: np.sum(np.abs(y)), x)
    with pytest.raises(ValueError, match="1e-8"):
        complex_step_gradient(sinexp, x, h=1e-3)
    with pytest.raises(ValueError, match="n_directions"):
        directional_check(sinexp, sinexp_grad, x, n_directions=0)


def test_integer_x_is_accepted():
    res = central_gradient(sinexp, [0, 1])
    assert rel_err(res.value, sinexp_grad(np.array([0.0, 1.0]))) < 1e-12
