"""numeric.autodiff.hessian against closed-form Hessians (least squares, logistic regression) and known spectra.

Reference values come from numpy.linalg.eigh/eigvalsh of the explicitly formed H, never from the
code under test; the HVPs are written by hand here (and checked against finite differences).
"""

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator

from numeric.autodiff import hessian
from numeric.autodiff.hessian import (condition_number, dense_hessian, hessian_operator, lanczos, spectral_density,
                                      top_eigenvalues)


class Counted:
    """Wrap an HVP and count its calls, to compare with the n_hvp the code reports."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, v):
        self.calls += 1
        return self.f(v)


def least_squares(N=200, d=30, seed=0):
    """L = ||X w - y||^2 / (2N): H = X^T X / N, hvp(v) = X^T (X v) / N."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d)) * np.linspace(0.5, 3.0, d)
    return (lambda v: X.T @ (X @ v) / N), X.T @ X / N


def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def logistic(N=300, d=20, lam=0.1, seed=1):
    """L = mean cross-entropy + lam/2 ||w||^2: gradient, hand-written HVP and the closed-form H at w."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d)) * np.linspace(0.3, 2.0, d)
    y = (rng.random(N) < 0.5).astype(float)
    w = 0.3 * rng.standard_normal(d)

    def grad(u):
        return X.T @ (sigmoid(X @ u) - y) / N + lam * u

    p = sigmoid(X @ w)
    s = p * (1 - p)
    return grad, w, (lambda v: X.T @ (s * (X @ v)) / N + lam * v), X.T @ (s[:, None] * X) / N + lam * np.eye(d)


def models():
    hvp, H = least_squares()
    _, _, lhvp, LH = logistic()
    return [("least_squares", hvp, H), ("logistic", lhvp, LH)]


MODELS = models()
IDS = [m[0] for m in MODELS]


def test_logistic_hvp_matches_central_differences_of_the_gradient():
    grad, w, hvp, H = logistic()
    rng = np.random.default_rng(5)
    h = 1e-5
    for _ in range(5):
        v = rng.standard_normal(w.size)
        fd = (grad(w + h * v) - grad(w - h * v)) / (2 * h)  # error O(h^2 * third derivative)
        assert np.allclose(hvp(v), fd, rtol=0, atol=1e-8 * np.linalg.norm(fd))
        assert np.allclose(H @ v, hvp(v), atol=1e-13)


# --------------------------------------------------------------------------- operator, dense
def test_hessian_operator_is_a_symmetric_linear_operator_that_counts_products():
    hvp, H = least_squares()
    op = hessian_operator(hvp, 30)
    assert isinstance(op, LinearOperator) and op.shape == (30, 30) and op.dtype == np.float64
    v = np.arange(30.0)
    assert np.allclose(op @ v, H @ v, atol=1e-12)
    assert np.allclose(op.T @ v, H @ v, atol=1e-12) and np.allclose(op.rmatvec(v), H @ v, atol=1e-12)
    assert np.allclose(op.matmat(np.eye(30)[:, :4]), H[:, :4], atol=1e-12)
    assert op.n_hvp == 1 + 2 + 4


@pytest.mark.parametrize("name,hvp,H", MODELS, ids=IDS)
def test_dense_hessian_equals_the_closed_form_with_n_products(name, hvp, H):
    counted = Counted(hvp)
    D = dense_hessian(counted, H.shape[0])
    assert np.allclose(D, H, rtol=0, atol=1e-12)
    assert counted.calls == H.shape[0]


def test_dense_hessian_symmetrizes_only_when_asked():
    A = np.arange(9.0).reshape(3, 3)
    assert np.array_equal(dense_hessian(lambda v: A @ v, 3, symmetrize=False), A)
    assert np.allclose(dense_hessian(lambda v: A @ v, 3), (A + A.T) / 2)


def test_dense_hessian_refuses_large_n_unless_forced(monkeypatch):
    never = Counted(lambda v: v)
    with pytest.raises(ValueError, match=r"n=5001: 0\.20 GB.*force=True"):
        dense_hessian(never, hessian.MAX_DENSE_N + 1)
    assert never.calls == 0
    monkeypatch.setattr(hessian, "MAX_DENSE_N", 3)
    with pytest.raises(ValueError, match="force=True"):
        dense_hessian(lambda v: 2 * v, 4)
    assert np.array_equal(dense_hessian(lambda v: 2 * v, 4, force=True), 2 * np.eye(4))


# --------------------------------------------------------------------------- top eigenvalues
@pytest.mark.parametrize("method", ["lanczos", "power"])
@pytest.mark.parametrize("name,hvp,H", MODELS, ids=IDS)
def test_top_eigenvalues_equal_eigvalsh(name, hvp, H, method):
    counted = Counted(hvp)
    vals, vecs, n_hvp = top_eigenvalues(counted, H.shape[0], k=3, method=method, tol=1e-12, maxiter=5000)
    ref_vals, ref_vecs = np.linalg.eigh(H)
    assert np.allclose(vals, ref_vals[::-1][:3], rtol=0, atol=1e-8)
    overlaps = np.abs(np.sum(vecs * ref_vecs[:, ::-1][:, :3], axis=0))
    assert np.allclose(overlaps, 1.0, atol=1e-6)
    assert vecs.shape == (H.shape[0], 3) and np.allclose(vecs.T @ vecs, np.eye(3), atol=1e-8)
    assert n_hvp == counted.calls > 0


def test_which_selects_smallest_or_largest_magnitude_and_the_order():
    lam = np.array([-5.0, -1.0, 0.5, 2.0, 3.0, 4.0, 4.5])
    hvp = lambda v: lam * v  # noqa: E731
    assert np.allclose(top_eigenvalues(hvp, 7, k=2, which="SA").eigenvalues, [-5.0, -1.0])
    assert np.allclose(top_eigenvalues(hvp, 7, k=2, which="LA").eigenvalues, [4.5, 4.0])
    assert np.allclose(top_eigenvalues(hvp, 7, k=3, which="LM").eigenvalues, [-5.0, 4.5, 4.0])
    # power iteration finds the largest |lambda|, here negative (documented); with its eigenvector e_0
    vals, vecs, _ = top_eigenvalues(hvp, 7, k=2, method="power", tol=1e-12)
    assert np.allclose(vals, [-5.0, 4.5], atol=1e-10)
    assert np.allclose(vecs[:, 0], np.eye(7)[0], atol=1e-6)


def test_power_iteration_reports_non_convergence_for_plus_minus_lambda():
    lam = np.array([1.0, -1.0, 0.5])
    with pytest.raises(RuntimeError, match="did not converge.*lanczos"):
        top_eigenvalues(lambda v: lam * v, 3, method="power", maxiter=200)


def test_power_iteration_counts_one_product_per_iteration():
    # diag(2, 1): from v0, the residual after t products shrinks like (1/2)^t, so it stops long before maxiter
    counted = Counted(lambda v: np.array([2.0, 1.0]) * v)
    res = top_eigenvalues(counted, 2, method="power", tol=1e-10, maxiter=500)
    assert np.isclose(res.eigenvalues[0], 2.0) and res.n_hvp == counted.calls < 60


@pytest.mark.parametrize("name,hvp,H", MODELS, ids=IDS)
def test_condition_number_equals_the_eigvalsh_ratio(name, hvp, H):
    ev = np.linalg.eigvalsh(H)
    counted = Counted(hvp)
    kappa, lam_max, lam_min, n_hvp = condition_number(counted, H.shape[0])
    assert np.isclose(kappa, ev[-1] / ev[0], rtol=1e-8)
    assert np.isclose(lam_max, ev[-1], rtol=1e-10) and np.isclose(lam_min, ev[0], rtol=1e-8)
    assert n_hvp == counted.calls


def test_condition_number_refuses_an_indefinite_hessian_and_reports_both_eigenvalues():
    lam = np.array([3.0, 1.0, -2.0, 0.5])
    with pytest.raises(ValueError, match=r"not positive definite: lambda_max=3, lambda_min=-2"):
        condition_number(lambda v: lam * v, 4)


# --------------------------------------------------------------------------- Lanczos
def test_lanczos_basis_is_orthonormal_and_tridiagonalizes_h():
    hvp, H = least_squares()
    counted = Counted(hvp)
    a, b, Q = lanczos(counted, 30, 12, return_basis=True)
    T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
    assert Q.shape == (30, 12) and a.shape == (12,) and b.shape == (11,)
    assert np.allclose(Q.T @ Q, np.eye(12), atol=1e-12)
    assert np.allclose(Q.T @ H @ Q, T, atol=1e-10)
    assert counted.calls == 12


def test_lanczos_extreme_ritz_values_converge_monotonically_to_the_extreme_eigenvalues():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((400, 200))
    H = A.T @ A / 400
    ev = np.linalg.eigvalsh(H)
    v0 = rng.standard_normal(200)
    tops, bottoms = [], []
    for m in (5, 10, 20, 40, 80, 120):
        a, b = lanczos(lambda v: H @ v, 200, m, v0=v0)
        ritz = np.linalg.eigvalsh(np.diag(a) + np.diag(b, 1) + np.diag(b, -1))
        tops.append(ritz[-1])
        bottoms.append(ritz[0])
    # nested Krylov spaces + Cauchy interlacing: theta_max increases to lambda_max, theta_min decreases to lambda_min
    assert np.all(np.diff(tops) >= -1e-12) and np.all(np.diff(bottoms) <= 1e-12)
    assert all(t <= ev[-1] + 1e-12 for t in tops) and all(t >= ev[0] - 1e-12 for t in bottoms)
    assert abs(tops[-1] - ev[-1]) < 1e-8 and abs(bottoms[-1] - ev[0]) < 1e-8
    assert abs(tops[0] - ev[-1]) > 1e-3  # it really converged, rather than starting there


def test_lanczos_stops_at_an_invariant_subspace_with_exact_eigenvalues():
    lam = np.repeat([1.0, 4.0, 9.0], 10)  # 3 distinct eigenvalues: Krylov dimension 3
    counted = Counted(lambda v: lam * v)
    a, b = lanczos(counted, 30, 20, v0=np.ones(30))
    assert a.size == 3 and b.size == 2 and counted.calls == 3
    assert np.allclose(np.linalg.eigvalsh(np.diag(a) + np.diag(b, 1) + np.diag(b, -1)), [1, 4, 9])


# --------------------------------------------------------------------------- spectral density
def test_spectral_density_integrates_to_one_and_its_mean_is_hutchinson():
    hvp, H = least_squares()
    n, P, m = 30, 20, 30
    counted = Counted(hvp)
    res = spectral_density(counted, n, num_probes=P, lanczos_steps=m)
    mass = np.trapezoid(res.density, res.grid)
    assert abs(mass - 1) < 1e-3
    assert res.n_hvp == counted.calls == P * m
    assert np.allclose(res.weights.sum(axis=1), 1.0)
    mean = np.trapezoid(res.grid * res.density, res.grid) / mass
    # Hutchinson with Rademacher z: Var(z^T H z) = 2 sum_{i != j} H_ij^2, and mean = (1/P) sum z^T H z / n
    std = np.sqrt(2 * (np.sum(H**2) - np.sum(np.diag(H) ** 2)) / P) / n
    assert abs(mean - np.trace(H) / n) < 4 * std
    # with m = n Lanczos steps the nodes are the exact eigenvalues
    assert np.allclose(np.sort(res.nodes[0]), np.linalg.eigvalsh(H), atol=1e-8)


def test_spectral_density_mean_is_exact_for_a_diagonal_hessian():
    # z_i^2 = 1, so z^T diag(lam) z / n = trace / n for every Rademacher probe
    lam = np.linspace(0.1, 7.0, 300) ** 2
    res = spectral_density(lambda v: lam * v, 300, num_probes=3, lanczos_steps=25)
    mean = np.trapezoid(res.grid * res.density, res.grid) / np.trapezoid(res.density, res.grid)
    assert abs(mean - lam.mean()) < 1e-8 * lam.max()


@pytest.mark.parametrize("rotate,tol", [(False, 1e-3), (True, 0.05)])
def test_spectral_density_puts_the_right_mass_in_each_cluster(rotate, tol):
    """60% of the eigenvalues in [1, 2], 40% in [8, 10].

    Diagonal H: each Rademacher probe weighs each eigenvector exactly 1/n, so the masses are exact up to
    quadrature (tolerance 1e-3). Haar-randomly rotated H (q = Q^T z / sqrt(n) is uniform on the sphere): a
    probe's cluster weight is Beta(60, 40), std 0.049, over 20 probes std 0.011; tolerance 0.05 = 4.5 std.
    """
    rng = np.random.default_rng(7)
    lam = np.concatenate([rng.uniform(1, 2, 120), rng.uniform(8, 10, 80)])
    if rotate:
        Qr = np.linalg.qr(rng.standard_normal((200, 200)))[0]
        H = (Qr * lam) @ Qr.T
        hvp = lambda v: H @ v  # noqa: E731
    else:
        hvp = lambda v: lam * v  # noqa: E731
    res = spectral_density(hvp, 200, num_probes=20, lanczos_steps=40, seed=1)
    low = res.grid < 5.0
    m_low = np.trapezoid(res.density[low], res.grid[low])
    m_high = np.trapezoid(res.density[~low], res.grid[~low])
    assert abs(m_low - 0.6) < tol and abs(m_high - 0.4) < tol
    assert abs(m_low + m_high - 1) < 2e-3


def test_spectral_density_on_a_custom_grid_with_a_given_sigma():
    lam = np.array([1.0, 1.0, 3.0, 3.0])
    grid = np.linspace(-1, 5, 3001)
    res = spectral_density(lambda v: lam * v, 4, num_probes=4, lanczos_steps=10, grid=grid, sigma=0.1)
    assert res.grid is not grid and np.array_equal(res.grid, grid) and res.sigma == 0.1
    g = lambda t: np.exp(-0.5 * ((grid - t) / 0.1) ** 2) / (0.1 * np.sqrt(2 * np.pi))  # noqa: E731
    assert np.allclose(res.density, 0.5 * g(1.0) + 0.5 * g(3.0), atol=1e-10)  # z_i^2 = 1: weights exactly 1/2
    assert res.nodes.shape == (4, 4) and res.n_hvp == 4 * 2  # Krylov dimension 2: early stop


# --------------------------------------------------------------------------- validation
def test_hvp_output_is_validated():
    with pytest.raises(ValueError, match=r"hvp must return an array of shape \(3,\), got shape \(2,\)"):
        top_eigenvalues(lambda v: v[:2], 3)
    with pytest.raises(ValueError, match="nan/inf"):
        dense_hessian(lambda v: v * np.nan, 3)
    with pytest.raises(ValueError, match="hvp must be a callable"):
        hessian_operator(np.eye(3), 3)


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0}, r"n must be an integer >= 1, got 0"),
    ({"k": 0}, r"k must be an integer >= 1"),
    ({"k": 5}, r"needs k < n, got k=5, n=5"),
    ({"method": "arnoldi"}, r"method must be 'lanczos' or 'power', got 'arnoldi'"),
    ({"which": "BE"}, r"which must be 'LA', 'SA' or 'LM'"),
    ({"method": "power", "which": "LA"}, r"largest \|lambda\| \(which='LM'\)"),
    ({"method": "power", "k": 6}, r"k must be <= n"),
    ({"tol": 0.0}, r"tol must be a finite number > 0"),
    ({"seed": -1}, r"seed must be an integer >= 0"),
    ({"maxiter": 0}, r"maxiter must be an integer >= 1"),
])
def test_top_eigenvalues_validation(kwargs, match):
    args = {"n": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        top_eigenvalues(lambda v: v, **args)


def test_lanczos_and_density_validation():
    ident = lambda v: v  # noqa: E731
    with pytest.raises(ValueError, match="m must be <= n"):
        lanczos(ident, 3, 4)
    with pytest.raises(ValueError, match="v0 must be a nonzero vector"):
        lanczos(ident, 3, 2, v0=np.zeros(3))
    with pytest.raises(ValueError, match=r"v0 must have shape \(3,\)"):
        lanczos(ident, 3, 2, v0=np.ones(4))
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        spectral_density(ident, 3, sigma=0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        spectral_density(ident, 3, grid=[1.0, 0.0])
    with pytest.raises(ValueError, match="num_probes must be an integer >= 1"):
        spectral_density(ident, 3, num_probes=0)
    with pytest.raises(ValueError, match="condition_number needs n >= 2"):
        condition_number(ident, 1)
