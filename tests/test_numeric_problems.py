"""Tests for numeric.problems against finite differences and known closed forms."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numeric.problems import Problem, factorization, quadratic, rosenbrock


def fd_grad(f, x, h=1e-6):
    """Central differences: (f(x + h e_i) - f(x - h e_i)) / 2h."""
    x = np.asarray(x, dtype=float)
    out = np.empty(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def fd_jacobian(g, x, h=1e-6):
    """Central-difference Jacobian of a vector function, column i = dg/dx_i."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        cols.append((g(x + e) - g(x - e)) / (2 * h))
    return np.stack(cols, axis=1)


points2 = st.tuples(st.floats(-2, 2), st.floats(-2, 2)).map(np.array)


# --------------------------------------------------------------------------- Rosenbrock
@settings(max_examples=40, deadline=None)
@given(points2, st.floats(-2, 2), st.floats(0.5, 100))
def test_rosenbrock_grad_and_hessian_match_finite_differences(theta, a, b):
    p = rosenbrock(a, b)
    scale = 1 + abs(p.loss(theta))
    np.testing.assert_allclose(p.grad(theta), fd_grad(p.loss, theta), rtol=1e-6, atol=1e-5 * scale)
    hess = p.hessian(theta)
    np.testing.assert_array_equal(hess, hess.T)
    np.testing.assert_allclose(hess, fd_jacobian(p.grad, theta), rtol=1e-6, atol=1e-4 * b)


def test_rosenbrock_minimizer_and_known_hessian():
    p = rosenbrock()
    assert (p.name, p.dim, p.spectrum) == ("rosenbrock", 2, None)
    np.testing.assert_array_equal(p.minimizer, [1.0, 1.0])
    assert p.loss(p.minimizer) == 0.0
    np.testing.assert_array_equal(p.grad(p.minimizer), [0.0, 0.0])
    # textbook value of the Hessian at (1, 1) for a=1, b=100
    np.testing.assert_array_equal(p.hessian([1.0, 1.0]), [[802.0, -400.0], [-400.0, 200.0]])
    assert p.loss([0.0, 0.0]) == 1.0 and p.loss([-1.0, 1.0]) == 4.0
    q = rosenbrock(a=-2.0, b=3.0)
    np.testing.assert_array_equal(q.minimizer, [-2.0, 4.0])
    assert q.loss(q.minimizer) == 0.0


def test_rosenbrock_rejects_bad_parameters():
    with pytest.raises(ValueError, match="b must be a finite number > 0, got 0.0"):
        rosenbrock(b=0.0)
    with pytest.raises(ValueError, match="a must be a finite number, got nan"):
        rosenbrock(a=float("nan"))


# --------------------------------------------------------------------------- quadratic
@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=5), st.integers(0, 1000))
def test_quadratic_hessian_has_requested_spectrum(eigs, seed):
    p = quadratic(eigs, seed=seed)
    h = p.hessian(np.zeros(p.dim))
    np.testing.assert_array_equal(h, h.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(h), np.sort(eigs), atol=1e-12)
    assert p.spectrum == tuple(float(e) for e in eigs)
    assert p.dim == len(eigs)
    if all(e > 0 for e in eigs):
        np.testing.assert_array_equal(p.minimizer, np.zeros(p.dim))
    else:
        assert p.minimizer is None


def test_quadratic_loss_grad_consistent_with_finite_differences():
    p = quadratic([3.0, -1.0, 0.5, 2.0], seed=7)
    rng = np.random.default_rng(1)
    for theta in rng.standard_normal((5, 4)):
        h = p.hessian(theta)
        assert p.loss(theta) == pytest.approx(0.5 * theta @ h @ theta, rel=1e-12)
        np.testing.assert_allclose(p.grad(theta), fd_grad(p.loss, theta), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(h, fd_jacobian(p.grad, theta), atol=1e-7)


def test_quadratic_default_2d_rotation_is_pi_over_6():
    p = quadratic([1.0, 4.0])
    h = p.hessian([0.0, 0.0])
    v1 = np.array([math.cos(math.pi / 6), math.sin(math.pi / 6)])
    v2 = np.array([-math.sin(math.pi / 6), math.cos(math.pi / 6)])
    np.testing.assert_allclose(h @ v1, 1.0 * v1, atol=1e-14)
    np.testing.assert_allclose(h @ v2, 4.0 * v2, atol=1e-14)


def test_quadratic_rotation_options():
    # angle 0 and the identity matrix both give H = diag(lambda)
    np.testing.assert_allclose(quadratic([2.0, 5.0], rotation=0.0).hessian([0, 0]), np.diag([2.0, 5.0]))
    np.testing.assert_allclose(quadratic([2.0, 5.0, 7.0], rotation=np.eye(3)).hessian([0, 0, 0]), np.diag([2.0, 5.0, 7.0]))
    # angle pi/2 swaps the axes
    np.testing.assert_allclose(quadratic([2.0, 5.0], rotation=math.pi / 2).hessian([0, 0]), np.diag([5.0, 2.0]), atol=1e-14)
    # random rotation is deterministic in the seed, and differs between seeds
    a, b, c = (quadratic([1.0, 2.0, 3.0], seed=s).hessian(np.zeros(3)) for s in (3, 3, 4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # a 1-D quadratic is just lambda/2 theta^2
    p1 = quadratic([3.0])
    assert p1.loss([2.0]) == pytest.approx(6.0) and p1.grad([2.0])[0] == pytest.approx(6.0)


def test_quadratic_returns_fresh_arrays_and_is_frozen():
    p = quadratic([1.0, 2.0])
    h = p.hessian([0.0, 0.0])
    h[:] = 0.0
    assert np.linalg.norm(p.hessian([0.0, 0.0])) > 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.dim = 3
    with pytest.raises(ValueError):
        p.minimizer[0] = 1.0  # read-only


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([],), {}, r"eigenvalues must be a non-empty 1-D array"),
        (([[1.0, 2.0]],), {}, r"eigenvalues must be a non-empty 1-D array, got shape \(1, 2\)"),
        (([1.0, np.nan],), {}, r"eigenvalues must be finite"),
        (([1.0, 2.0, 3.0],), {"rotation": 0.3}, r"rotation angle only makes sense for 2 eigenvalues, got 3"),
        (([1.0, 2.0],), {"rotation": np.ones((2, 2))}, r"rotation must be orthogonal"),
        (([1.0, 2.0],), {"rotation": np.eye(3)}, r"rotation must have shape \(2, 2\)"),
        (([1.0, 2.0],), {"rotation": float("inf")}, r"rotation must be a finite number"),
        (([1.0, 2.0, 3.0],), {"seed": -1}, r"seed must be an integer >= 0, got -1"),
    ],
)
def test_quadratic_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        quadratic(*args, **kwargs)


def test_problem_functions_reject_wrong_shape():
    p = quadratic([1.0, 2.0])
    with pytest.raises(ValueError, match=r"theta must have shape \(2,\) to match the parameters, got \(3,\)"):
        p.grad([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"theta must have shape \(2,\)"):
        rosenbrock().loss([1.0])


# --------------------------------------------------------------------------- factorization
@settings(max_examples=40, deadline=None)
@given(st.floats(0.1, 10) | st.floats(-10, -0.1))
def test_factorization_minimizer_set_is_the_hyperbola(w1):
    p = factorization()
    theta = np.array([w1, 1.0 / w1])
    assert p.loss(theta) == pytest.approx(0.0, abs=1e-25)
    np.testing.assert_allclose(p.grad(theta), [0.0, 0.0], atol=1e-12)
    # at a minimizer the Hessian is the rank-one matrix v v^T, v = (w2, w1): eigenvalues 0 and w1^2 + w2^2
    eig = np.linalg.eigvalsh(p.hessian(theta))
    np.testing.assert_allclose(eig, [0.0, w1**2 + w1**-2], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(points2)
def test_factorization_grad_and_hessian_match_finite_differences(theta):
    p = factorization()
    np.testing.assert_allclose(p.grad(theta), fd_grad(p.loss, theta), atol=1e-7)
    hess = p.hessian(theta)
    np.testing.assert_array_equal(hess, hess.T)
    np.testing.assert_allclose(hess, fd_jacobian(p.grad, theta), atol=1e-7)


def test_factorization_known_values():
    p = factorization()
    assert isinstance(p, Problem) and (p.name, p.dim, p.spectrum) == ("factorization", 2, None)
    np.testing.assert_array_equal(p.minimizer, [1.0, 1.0])
    assert p.loss([0.0, 0.0]) == 0.5
    # the origin is a strict saddle: Hessian [[0, -1], [-1, 0]], eigenvalues -1 and 1
    np.testing.assert_array_equal(p.hessian([0.0, 0.0]), [[0.0, -1.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(p.grad([0.0, 0.0]), [0.0, 0.0])
    assert p.loss([2.0, 3.0]) == 12.5
