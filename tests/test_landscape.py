"""numeric.autodiff.landscape: slices of quadratics (closed-form parabolas), filter normalization, trajectory projection."""

import numpy as np
import pytest

from numeric.autodiff.landscape import (flatten, project_trajectory, random_direction, slice_1d, slice_2d,
                                        top_eigen_directions, unflatten)
from numeric.optimizers import gd, run


def quadratic(n=12, seed=0):
    """L(theta) = 1/2 (theta - c)^T H (theta - c) + 3 with H = A^T A / n + I, its HVP and numpy's eigh."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((2 * n, n)) * np.linspace(0.5, 3, n)
    H = A.T @ A / n + np.eye(n)
    c = rng.standard_normal(n)
    loss = lambda th: 0.5 * (th - c) @ H @ (th - c) + 3.0  # noqa: E731
    lam, U = np.linalg.eigh(H)
    return loss, (lambda v: H @ v), H, c, lam[::-1], U[:, ::-1]


PARAMS = [np.arange(15.0).reshape(5, 3) - 7, np.linspace(-1, 1, 5), np.ones((2, 5)), np.array([0.5, -2.0]),
          np.random.default_rng(9).standard_normal((4, 3, 2, 2))]


def blocks(vec):
    return unflatten(vec, [p.shape for p in PARAMS])


# --------------------------------------------------------------------------- slices
def test_slice_1d_along_an_eigenvector_is_the_parabola_half_lambda_alpha_squared():
    loss, _, _, c, lam, U = quadratic()
    alphas = np.linspace(-2, 2, 41)
    for i in (0, 5, 11):
        assert np.allclose(slice_1d(loss, c, U[:, i], alphas), 3.0 + 0.5 * lam[i] * alphas**2, atol=1e-12)


def test_slice_2d_along_two_eigenvectors_has_no_cross_term_and_alphas_index_rows():
    loss, _, _, c, lam, U = quadratic()
    a, b = np.linspace(-1, 1, 5), np.linspace(-2, 2, 7)
    Z = slice_2d(loss, c, U[:, 0], U[:, 3], a, b)
    assert Z.shape == (5, 7)
    assert np.allclose(Z, 3.0 + 0.5 * (lam[0] * a[:, None] ** 2 + lam[3] * b[None, :] ** 2), atol=1e-12)


def test_top_eigen_directions_are_numpys_top_two_eigenvectors():
    loss, hvp, _, c, lam, U = quadratic()
    d1, d2, vals, n_hvp = top_eigen_directions(hvp, 12, tol=1e-12)
    assert np.allclose(vals, lam[:2], atol=1e-10) and n_hvp > 0
    assert np.isclose(abs(d1 @ U[:, 0]), 1, atol=1e-8) and np.isclose(abs(d2 @ U[:, 1]), 1, atol=1e-8)
    alphas = np.linspace(-1, 1, 9)
    assert np.allclose(slice_1d(loss, c, d1, alphas), 3.0 + 0.5 * lam[0] * alphas**2, atol=1e-9)


def test_slices_pass_non_finite_losses_through():
    vals = slice_1d(lambda th: np.inf if th[0] > 1 else float(th[0]), [0.0], [1.0], [0.0, 2.0])
    assert vals[0] == 0.0 and np.isinf(vals[1])


# --------------------------------------------------------------------------- directions
def test_filter_normalized_direction_has_the_reference_filter_norms_and_zero_biases():
    d = random_direction(PARAMS, seed=3)
    for dp, rp in zip(blocks(d), PARAMS):
        if rp.ndim >= 2:  # one filter per slice along axis 0
            rows = lambda x: np.linalg.norm(x.reshape(x.shape[0], -1), axis=1)  # noqa: E731
            assert np.allclose(rows(dp), rows(rp), rtol=1e-12)
        else:
            assert np.array_equal(dp, np.zeros_like(rp))


def test_bias_normalize_rescales_each_bias_vector_as_one_filter():
    d = random_direction(PARAMS, seed=3, bias="normalize")
    for dp, rp in zip(blocks(d), PARAMS):
        if rp.ndim == 1:
            assert np.isclose(np.linalg.norm(dp), np.linalg.norm(rp), rtol=1e-12) and np.any(dp != 0)


def test_a_zero_reference_filter_gives_a_zero_direction_filter():
    W = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 4.0]])
    d = random_direction([W], seed=0).reshape(3, 2)
    assert np.array_equal(d[1], [0.0, 0.0]) and np.allclose(np.linalg.norm(d, axis=1), [5**0.5, 0, 5])


def test_shapes_with_like_equal_params_and_seed_makes_it_reproducible():
    shapes = [p.shape for p in PARAMS]
    flat, _ = flatten(PARAMS)
    d = random_direction(PARAMS, seed=4)
    assert np.array_equal(random_direction(shapes, seed=4, like=PARAMS), d)
    assert np.array_equal(random_direction(shapes, seed=4, like=flat), d)
    assert not np.array_equal(random_direction(PARAMS, seed=5), d)
    raw = random_direction(shapes, seed=4, filter_normalize=False)
    assert raw.shape == flat.shape and np.all(raw != 0)  # biases perturbed too without normalization
    assert np.array_equal(raw, random_direction(shapes, seed=4, filter_normalize=False))


def test_flatten_and_unflatten_are_inverse():
    flat, shapes = flatten(PARAMS)
    assert flat.shape == (15 + 5 + 10 + 2 + 48,) and shapes == [p.shape for p in PARAMS]
    assert all(np.array_equal(a, b) for a, b in zip(unflatten(flat, shapes), PARAMS))


# --------------------------------------------------------------------------- trajectories
def test_project_trajectory_recovers_in_plane_coefficients_and_out_of_plane_distance():
    rng = np.random.default_rng(2)
    n, T = 50, 30
    ref, d1 = rng.standard_normal(n), rng.standard_normal(n)
    d2 = 0.6 * d1 + rng.standard_normal(n)  # independent, not orthogonal
    ab = rng.standard_normal((T, 2))
    traj = ref + ab[:, :1] * d1 + ab[:, 1:] * d2
    assert np.allclose(project_trajectory(traj, ref, d1, d2), ab, atol=1e-10)
    e = rng.standard_normal(n)  # a component orthogonal to the plane changes only the residual
    Qp = np.linalg.qr(np.column_stack([d1, d2]))[0]
    e -= Qp @ (Qp.T @ e)
    off = np.linspace(0, 2, T)[:, None] * e
    coords, res = project_trajectory(traj + off, ref, d1, d2, return_residual=True)
    assert np.allclose(coords, ab, atol=1e-10) and np.allclose(res, np.linalg.norm(off, axis=1), atol=1e-10)


def test_gd_trajectory_in_the_top_eigenplane_follows_one_minus_lr_lambda_to_the_t():
    _, hvp, H, c, lam, _ = quadratic()
    d1, d2, vals, _ = top_eigen_directions(hvp, 12, tol=1e-12)
    lr, steps = 0.5 / lam[0], 25
    traj = run(gd(lr), lambda th: H @ (th - c), c + 2.0 * d1 - 1.0 * d2, steps)
    coords, res = project_trajectory(traj, c, d1, d2, return_residual=True)
    t = np.arange(steps + 1)
    assert np.allclose(coords[:, 0], 2.0 * (1 - lr * vals[0]) ** t, atol=1e-8)
    assert np.allclose(coords[:, 1], -1.0 * (1 - lr * vals[1]) ** t, atol=1e-8)
    assert np.all(res < 1e-8)


# --------------------------------------------------------------------------- validation
def test_validation_messages():
    with pytest.raises(ValueError, match="loss must be a callable"):
        slice_1d(3.0, [0.0], [1.0], [0.0])
    with pytest.raises(ValueError, match=r"loss must return a scalar, got an array of shape \(2,\)"):
        slice_1d(lambda th: th, [0.0, 1.0], [1.0, 0.0], [0.0])
    with pytest.raises(ValueError, match=r"direction must have shape \(2,\)"):
        slice_1d(lambda th: 0.0, [0.0, 1.0], [1.0], [0.0])
    with pytest.raises(ValueError, match=r"d2 must have shape \(2,\)"):
        slice_2d(lambda th: 0.0, [0.0, 1.0], [1.0, 0.0], [1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="linearly dependent"):
        project_trajectory(np.zeros((3, 2)), [0.0, 0.0], [1.0, 2.0], [-2.0, -4.0])
    with pytest.raises(ValueError, match=r"trajectory must have shape \(T, 2\)"):
        project_trajectory(np.zeros((3, 3)), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="needs the reference parameters: pass like=params"):
        random_direction([(3, 2), (3,)])
    with pytest.raises(ValueError, match=r"like must have shape \(9,\)"):
        random_direction([(3, 2), (3,)], like=np.ones(8))
    with pytest.raises(ValueError, match="bias must be 'zero' or 'normalize'"):
        random_direction(PARAMS, bias="keep")
    with pytest.raises(ValueError, match="non-negative integers"):
        random_direction([(3, -1)], filter_normalize=False)
    with pytest.raises(ValueError, match="always uses k=2"):
        top_eigen_directions(lambda v: v, 4, k=3)
