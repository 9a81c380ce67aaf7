"""Tests for numeric.models.hermosis: the seed's discrete rules in closed form, RGD's bounds, the flow vs expm."""

import math

import numpy as np
import pytest
from scipy.linalg import expm

from numeric.models import hermosis as hm
from numeric.optimizers import Optimizer, run


def _steps(opt, grad, w0, n):
    w, s, ws, Xs = np.asarray(w0, float), opt.init(np.asarray(w0, float)), [], []
    for _ in range(n):
        w, s = opt.step(w, grad(w), s)
        ws.append(w.copy())
        Xs.append(s["X"].copy())
    return np.array(ws), np.array(Xs)


def test_hermosis_sgd_accumulates_gradient():
    a, eta, zeta = 2.0, 0.05, 0.3
    grad = lambda w: a * w  # noqa: E731
    opt = hm.hermosis_sgd(lr=eta, zeta=zeta)
    assert isinstance(opt, Optimizer)
    ws, Xs = _steps(opt, grad, [1.0], 30)
    w_prev = np.concatenate([[1.0], ws[:-1, 0]])
    np.testing.assert_allclose(Xs[:, 0], zeta * np.cumsum(a * w_prev), rtol=1e-13)  # X_n = zeta sum g
    np.testing.assert_allclose(ws[:, 0], 1.0 - eta * np.cumsum(Xs[:, 0]), rtol=1e-12)
    # linear map on the quadratic: (X, w) -> M (X, w)
    M = np.array([[1.0, zeta * a], [-eta, 1.0 - eta * zeta * a]])
    np.testing.assert_allclose([Xs[-1, 0], ws[-1, 0]], np.linalg.matrix_power(M, 30) @ [0.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(run(opt, grad, [1.0], 30)[1:, 0], ws[:, 0])


def test_hermosis_momentum_is_ema():
    a, eta, zeta, mu = 1.5, 0.1, 2.0, 0.8
    grad = lambda w: a * w  # noqa: E731
    ws, Xs = _steps(hm.hermosis_momentum(lr=eta, zeta=zeta, mu=mu), grad, [1.0], 25)
    gs = a * np.concatenate([[1.0], ws[:-1, 0]])
    ema = [(1 - mu) * zeta * sum(mu ** (n - i) * gs[i] for i in range(n + 1)) for n in range(25)]
    np.testing.assert_allclose(Xs[:, 0], ema, rtol=1e-12)
    # constant gradient: X -> zeta g (the EMA's fixed point)
    opt = hm.hermosis_momentum(lr=eta, zeta=zeta, mu=mu)
    w, s = np.zeros(2), opt.init(np.zeros(2))
    for _ in range(200):
        w, s = opt.step(w, np.array([1.0, -2.0]), s)
    np.testing.assert_allclose(s["X"], zeta * np.array([1.0, -2.0]), rtol=1e-12)


def test_hermosis_relativistic_step_bounded_by_lr():
    opt = hm.hermosis_relativistic(lr=0.1, zeta=5.0, kappa=0.2)
    rng = np.random.default_rng(0)
    w, s = rng.normal(size=3), opt.init(np.zeros(3))
    for _ in range(50):
        g = 100 * rng.normal(size=3)
        w2, s = opt.step(w, g, s)
        assert np.linalg.norm(w2 - w) < 0.1
        X = s["X"]
        np.testing.assert_allclose(w2, w - 0.1 * X / math.sqrt(X @ X + 0.04), rtol=1e-14)
        w = w2


def test_relativistic_gd_hand_computed_and_bounds():
    lr, mu, dl, al = 0.3, 0.81, 0.5, 0.6
    opt = hm.relativistic_gd(lr, momentum=mu, delta=dl, alpha=al)
    grad = lambda x: np.array([4.0, 1.0]) * x  # noqa: E731
    x0 = np.array([1.0, -2.0])
    # two RGD iterations by hand (authors' reference algorithm), v_0 = 0
    x, v = x0.copy(), np.zeros(2)
    ys = []
    for _ in range(2):
        xh = x + 0.9 * v / math.sqrt(1 + dl * mu * v @ v)
        vh = 0.9 * v - lr * grad(xh)
        x = al * xh + (1 - al) * x + vh / math.sqrt(1 + dl * vh @ vh)
        v = 0.9 * vh
        ys.append(x + 0.9 * v / math.sqrt(1 + dl * mu * v @ v))
    traj = run(opt, grad, x0, 2)
    np.testing.assert_allclose(traj[1:], ys, rtol=1e-13)
    # relativistic displacements are shorter than 1/sqrt(delta) even with huge gradients
    rng = np.random.default_rng(1)
    y, s = x0, opt.init(x0)
    for _ in range(30):
        x_old = s["x"]
        y2, s = opt.step(y, 1e4 * rng.normal(size=2), s)
        assert np.linalg.norm(s["x"] - (al * y + (1 - al) * x_old)) < 1 / math.sqrt(dl)
        assert np.linalg.norm(y2 - s["x"]) < 1 / math.sqrt(dl)
        y = y2
    # it minimizes a quadratic
    assert np.linalg.norm(run(hm.relativistic_gd(0.05), grad, x0, 400)[-1]) < 1e-6


def test_flow_constant_beta_is_matrix_exponential():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    h, k, c = 0.8, 1.3, 0.7
    H = hm.classical(lambda w: A @ w, c=c, k=k)
    w0, X0 = np.array([1.0, -1.0]), np.array([0.3, 0.0])
    t_eval = np.linspace(0, 3, 7)
    tr = hm.hermosis_flow(H, w0, X0, 0.2, 1.7, 3.0, h=h, k=k, t_eval=t_eval)
    # w' = -X/h, X' = (c^2/h) A w, beta and U: beta' = 0; U' = -(k/h)(|X|^2/2 + c^2 L)/k + X.X/h
    M = np.block([[np.zeros((2, 2)), -np.eye(2) / h], [c**2 * A / h, np.zeros((2, 2))]])
    expected = np.array([expm(M * s) @ np.concatenate([w0, X0]) for s in t_eval])
    np.testing.assert_allclose(np.hstack([tr.w, tr.X]), expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(tr.beta, 1.7, rtol=1e-12)


def test_flow_exponential_cooling_and_heavy_ball():
    gamma = 0.5
    H = hm.classical(lambda w: 3.0 * w, **hm.exponential_cooling(gamma))
    tr = hm.hermosis_flow(H, [1.0], [0.0], 0.0, 2.0, 2.0, t_eval=[0.0, 1.0, 2.0])
    np.testing.assert_allclose(tr.beta, 2.0 * np.exp(gamma * tr.t), rtol=1e-9)
    M = np.array([[0.0, -1.0], [3.0, -gamma]])  # w' = -X, X' = 3w - gamma X
    expected = np.array([expm(M * s) @ [1.0, 0.0] for s in tr.t])
    np.testing.assert_allclose(np.hstack([tr.w, tr.X]), expected, rtol=1e-8, atol=1e-10)


def test_hamiltonian_gradients_match_finite_differences():
    L, gL = (lambda w: 0.5 * w @ w + w[0] ** 3 / 3), (lambda w: w + np.array([w[0] ** 2, 0.0]))
    E = {"E": lambda U, b: U * b + b**2, "E_U": lambda U, b: b, "E_beta": lambda U, b: U + 2 * b}
    z = (np.array([0.4, -0.3]), np.array([0.7, 0.2]), 0.5, 1.3)
    for H in (hm.classical(gL, c=1.2, k=0.9, lam=0.3, loss=L, **E), hm.relativistic(gL, c=1.2, k=0.9, loss=L, **E)):
        flat = np.concatenate([z[0], z[1], [z[2], z[3]]])
        val = lambda f: H.value(f[:2], f[2:4], f[4], f[5])  # noqa: E731
        fd = [(val(flat + 1e-6 * e) - val(flat - 1e-6 * e)) / 2e-6 for e in np.eye(6)]
        Hw, HX, HU, Hb = H(*z)
        np.testing.assert_allclose(np.concatenate([Hw, HX, [HU, Hb]]), fd, rtol=1e-7, atol=1e-8)


def test_validation_errors():
    with pytest.raises(ValueError, match="lr"):
        hm.hermosis_sgd(lr=0.0)
    with pytest.raises(ValueError, match="zeta"):
        hm.hermosis_sgd(lr=0.1, zeta=float("nan"))
    with pytest.raises(ValueError, match="momentum"):
        hm.hermosis_momentum(lr=0.1, mu=1.0)
    with pytest.raises(ValueError, match="kappa"):
        hm.hermosis_relativistic(lr=0.1, kappa=0.0)
    with pytest.raises(ValueError, match="alpha"):
        hm.relativistic_gd(0.1, alpha=1.5)
    with pytest.raises(ValueError, match="delta"):
        hm.relativistic_gd(0.1, delta=-1.0)
    with pytest.raises(ValueError, match="state"):
        hm.hermosis_sgd(0.1).step(np.zeros(2), np.zeros(2), {})
    with pytest.raises(ValueError, match="shape"):
        hm.hermosis_sgd(0.1).step(np.zeros(2), np.zeros(3), {"X": np.zeros(2)})
    with pytest.raises(ValueError, match="loss_grad"):
        hm.classical(3.0)
    with pytest.raises(ValueError, match="E_U"):
        hm.classical(lambda w: w, E_U=1.0)
    with pytest.raises(ValueError, match="beta0"):
        hm.hermosis_flow(hm.classical(lambda w: w), [1.0], [0.0], 0.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="X0"):
        hm.hermosis_flow(hm.classical(lambda w: w), [1.0], [0.0, 1.0], 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="grad_H"):
        hm.hermosis_vector_field(None)
    # H_U = -2 drives beta through 0 (beta' = -2): a clear error
    H = hm.classical(lambda w: w, E_U=lambda U, b: -2.0)
    with pytest.raises(RuntimeError, match="smallest beta"):
        hm.hermosis_flow(H, [1.0], [0.0], 0.0, 1.0, 2.0)


def test_all_hermosis_checks_pass():
    from verify.checks.hermosis import hermosis_checks

    results = hermosis_checks()
    assert len(results) >= 10
    assert [r.check for r in results if r.status != "pass"] == []
