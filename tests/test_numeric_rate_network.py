"""Tests for numeric.models.rate_network against values computed outside the code under test
(numpy.linalg, scipy brentq/fsolve, finite differences, closed forms)."""

import dataclasses

import numpy as np
import pytest
from scipy.optimize import brentq, fsolve

from numeric.models.rate_network import (RateNetwork, decode_error, learning_rule, linear_readout, population_code,
                                         quasi_static_learning, two_timescale_learning)

# x* > 0 with x* = 2 tanh(x*): the non-zero equilibria of one self-exciting unit, w = 2.
X_STAR = brentq(lambda x: x - 2.0 * np.tanh(x), 1.0, 3.0)
BISTABLE = RateNetwork([[2.0, 0.0], [0.0, 2.0]], [0.0, 0.0])
COUPLED = RateNetwork([[2.2, 0.6], [0.5, 1.8]], [0.1, -0.2], tau=0.7)  # 3 stable nodes, 2 saddles
SPIRAL = RateNetwork([[1.5, -1.0], [1.2, 0.5]], [0.1, -0.2], tau=0.7)  # one slowly decaying spiral
RNG = np.random.default_rng(7)
W_LEARN = 0.3 * np.random.default_rng(1).standard_normal((2, 2))


def residual(W, I, x):
    """-x + W tanh(x) + I, written out independently of the module."""
    x = np.asarray(x, dtype=float)
    return -x + np.asarray(W) @ np.tanh(x) + np.reshape(I, (-1,) + (1,) * (x.ndim - 1))


# ----------------------------------------------------------------------------- linear phi
@pytest.mark.parametrize("tau", [1.0, 0.4])
def test_linear_network_fixed_point_and_jacobian_spectrum(tau):
    W = 0.4 * RNG.standard_normal((4, 4))
    I = RNG.standard_normal(4)
    net = RateNetwork(W, I, tau=tau, phi="linear")
    fps = net.fixed_points(n_starts=8)
    assert fps.shape == (1, 4)
    np.testing.assert_allclose(fps[0], np.linalg.solve(np.eye(4) - W, I), rtol=1e-10, atol=1e-12)
    ev = net.stability(fps[0])["eigenvalues"]
    expected = (np.linalg.eigvals(W) - 1.0) / tau
    expected = expected[np.lexsort((expected.imag, expected.real))]
    np.testing.assert_allclose(ev, expected, atol=1e-12)
    np.testing.assert_allclose(net.jacobian(RNG.standard_normal(4)), (W - np.eye(4)) / tau, atol=1e-15)


# ----------------------------------------------------------------------------- tanh phi
@pytest.mark.parametrize("phi", ["tanh", "sigmoid", "relu", "linear"])
def test_jacobian_matches_central_differences(phi):
    # central differences: error <= h^2/6 max|F'''| + macheps max|F| / h ~ 1e-10 + 1e-11 for h = 1e-5
    W = RNG.standard_normal((5, 5))
    net = RateNetwork(W, RNG.standard_normal(5), tau=0.8, phi=phi)
    x = RNG.standard_normal(5) + 0.5 * np.sign(RNG.standard_normal(5))  # away from relu's kink
    h = 1e-5
    fd = np.column_stack([(net.vector_field(x + h * e) - net.vector_field(x - h * e)) / (2 * h) for e in np.eye(5)])
    assert np.abs(net.jacobian(x) - fd).max() < 1e-8


def test_vector_field_and_phi_closed_forms():
    net = RateNetwork([[0.0, 1.0], [-1.0, 0.0]], [0.5, 0.0], tau=2.0)
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(net.vector_field(x), (-x + [np.tanh(-1.2), -np.tanh(0.3)] + [0.5, 0.0]) / 2.0)
    np.testing.assert_allclose(net.vector_field_t(3.0, x), net.vector_field(x))
    sig = RateNetwork(np.eye(1), [0.0], phi="sigmoid")
    assert sig.phi([0.0])[0] == 0.5 and sig.dphi([0.0])[0] == 0.25
    relu = RateNetwork(np.eye(2), [0.0, 0.0], phi="relu")
    np.testing.assert_array_equal(relu.phi([-1.0, 2.0]), [0.0, 2.0])
    np.testing.assert_array_equal(relu.dphi([-1.0, 2.0]), [0.0, 1.0])


def test_bistable_network_has_nine_fixed_points_with_the_right_stability():
    fps = BISTABLE.fixed_points()
    assert fps.shape == (9, 2)
    levels = np.array([-X_STAR, 0.0, X_STAR])
    expected = np.array([[a, b] for a in levels for b in levels])  # lexicographic order
    np.testing.assert_allclose(fps, expected, atol=1e-12)
    lam_on = -1.0 + 2.0 / np.cosh(X_STAR) ** 2  # per-unit eigenvalue at +-x*; at 0 it is -1 + 2 = 1
    for x in fps:
        per_unit = np.where(np.abs(x) > 1, lam_on, 1.0)
        st = BISTABLE.stability(x)
        np.testing.assert_allclose(np.sort(st["eigenvalues"].real), np.sort(per_unit), atol=1e-12)
        assert st["stable"] == bool(np.all(np.abs(x) > 1))
        assert st["max_real"] == pytest.approx(per_unit.max(), abs=1e-12)
    assert sum(BISTABLE.stability(x)["stable"] for x in fps) == 4


@pytest.mark.parametrize("net, n_fp, n_stable", [(COUPLED, 5, 3), (SPIRAL, 1, 1)], ids=["coupled", "spiral"])
def test_fixed_points_satisfy_F_zero_and_attract_simulations(net, n_fp, n_stable):
    fps = net.fixed_points(n_starts=64, seed=3)
    assert len(fps) == n_fp
    for x in fps:
        assert np.linalg.norm(residual(net.W, net.I, x)) / net.tau <= 1e-10
        # fsolve started nearby returns the same equilibrium
        np.testing.assert_allclose(fsolve(lambda z: residual(net.W, net.I, z), x + 1e-3), x, atol=1e-9)
    stable = [x for x in fps if net.stability(x)["stable"]]
    assert len(stable) == n_stable
    for x in stable:
        # |x(t) - x*| ~ 0.06 exp(max_real t): t_end = 16 / |max_real| leaves ~ 1e-8
        t_end = 16.0 / abs(net.stability(x)["max_real"])
        for method in ("DOP853", "Radau"):
            t, X = net.simulate(x + np.array([0.05, -0.04]), t_end, n_eval=50, method=method)
            assert X.shape == (50, 2) and t[-1] == pytest.approx(t_end)
            assert np.abs(X[-1] - x).max() < 1e-6


def test_simulate_bistable_reaches_the_nearby_attractor():
    target = np.array([X_STAR, -X_STAR])
    t, X = BISTABLE.simulate(target + [0.3, -0.2], 30.0)
    assert np.abs(X[-1] - target).max() < 1e-6
    assert np.all(np.diff(np.linalg.norm(X - target, axis=1)) <= 1e-12)  # diagonal, monotone decay
    assert np.array_equal(X[0], target + [0.3, -0.2])


def test_fixed_points_are_deterministic_and_deduplicated():
    a, b = COUPLED.fixed_points(seed=5), COUPLED.fixed_points(seed=5)
    np.testing.assert_array_equal(a, b)
    d = np.linalg.norm(a[:, None] - a[None], axis=2) + np.eye(len(a))
    assert d.min() > 1e-6


# ----------------------------------------------------------------------------- nullclines
def test_nullclines_of_self_excitation_are_three_vertical_lines():
    grid = np.linspace(-3, 3, 13)
    n1, n2 = BISTABLE.nullclines(grid)
    assert n1.shape == (39, 2) and n2.shape == (39, 2)
    np.testing.assert_allclose(np.unique(np.round(n1[:, 0], 9)), [-X_STAR, 0.0, X_STAR], atol=1e-9)
    np.testing.assert_allclose(np.unique(np.round(n2[:, 1], 9)), [-X_STAR, 0.0, X_STAR], atol=1e-9)


@pytest.mark.parametrize("net", [COUPLED, SPIRAL, BISTABLE, RateNetwork([[0.0, -1.5], [2.0, 0.0]], [0.3, 0.1])],
                         ids=["coupled", "spiral", "bistable", "no-self-coupling"])
def test_nullclines_intersect_at_the_fixed_points(net):
    fps = net.fixed_points()
    n1, n2 = net.nullclines(np.unique(np.r_[np.linspace(-3, 3, 31), fps[:, 0], fps[:, 1]]))
    # every nullcline point has the corresponding component of F equal to 0
    assert np.abs(residual(net.W, net.I, n1.T)[0]).max() < 1e-12
    assert np.abs(residual(net.W, net.I, n2.T)[1]).max() < 1e-12
    for x in fps:  # and each fixed point lies on both
        assert np.linalg.norm(n1 - x, axis=1).min() < 1e-9
        assert np.linalg.norm(n2 - x, axis=1).min() < 1e-9
    # conversely, points lying on both nullclines are fixed points
    both = [p for p in n1 if np.linalg.norm(n2 - p, axis=1).min() < 1e-9]
    assert all(np.linalg.norm(fps - p, axis=1).min() < 1e-9 for p in both)


def test_nullclines_without_self_coupling_are_graphs_over_the_other_coordinate():
    net = RateNetwork([[0.0, -1.5], [2.0, 0.0]], [0.3, 0.1])
    g = np.linspace(-2, 2, 9)
    n1, n2 = net.nullclines(g)
    np.testing.assert_allclose(n1, np.column_stack([-1.5 * np.tanh(g) + 0.3, g]), atol=1e-12)
    np.testing.assert_allclose(n2, np.column_stack([g, 2.0 * np.tanh(g) + 0.1]), atol=1e-12)


@pytest.mark.parametrize("phi", ["linear", "relu"])
def test_piecewise_linear_nullclines_cross_at_the_fixed_point(phi):
    W, I = np.array([[0.5, -0.4], [0.3, 0.2]]), np.array([0.6, 0.4])
    net = RateNetwork(W, I, phi=phi)
    x = np.linalg.solve(np.eye(2) - W, I)  # both components positive: also the relu fixed point
    assert np.all(x > 0)
    n1, n2 = net.nullclines([x[1], 0.7])
    n1b, n2b = net.nullclines([x[0], 0.7])
    assert np.linalg.norm(n1 - x, axis=1).min() < 1e-12 and np.linalg.norm(n2b - x, axis=1).min() < 1e-12
    np.testing.assert_allclose(net.fixed_points(n_starts=16), [x], atol=1e-10)


# ----------------------------------------------------------------------------- learning
def loss_at_equilibrium(W, I, target, x0):
    x = fsolve(lambda z: residual(W, I, z), x0, xtol=1e-13)
    return 0.5 * np.sum((target - np.tanh(x)) ** 2)


def test_gradient_rule_is_minus_the_gradient_of_the_steady_state_loss():
    I, target = np.array([0.1, -0.2, 0.3]), np.array([0.5, -0.4, 0.2])
    W = 0.4 * np.random.default_rng(3).standard_normal((3, 3))
    net = RateNetwork(W, I)
    x0 = fsolve(lambda z: residual(W, I, z), np.zeros(3), xtol=1e-14)
    h = 1e-6  # central differences of L(W); error ~ h^2 + 1e-14/h ~ 1e-8
    fd = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            E = np.zeros((3, 3))
            E[i, j] = h
            fd[i, j] = (loss_at_equilibrium(W + E, I, target, x0) - loss_at_equilibrium(W - E, I, target, x0)) / (2 * h)
    G = learning_rule(net, target)
    np.testing.assert_allclose(G, -fd, atol=1e-7)
    assert not np.allclose(learning_rule(net, target, rule="delta"), -fd, atol=1e-3)  # delta is not the gradient
    np.testing.assert_allclose(learning_rule(net, target, x=x0, rule="delta"),
                               np.outer(target - np.tanh(x0), np.tanh(x0)), atol=1e-12)


def test_two_timescale_learning_drives_the_loss_to_zero():
    net, target = RateNetwork(W_LEARN, [0.1, -0.2]), np.array([0.5, -0.4])
    t, X, Ws, loss = two_timescale_learning(net, target, eps=0.05, t_end=800.0, n_eval=81)
    assert X.shape == (81, 2) and Ws.shape == (81, 2, 2) and loss.shape == (81,)
    np.testing.assert_array_equal(Ws[0], W_LEARN)
    assert loss[0] > 0.1 and loss[-1] < 1e-8
    np.testing.assert_allclose(np.tanh(X[-1]), target, atol=np.sqrt(2 * 1e-8))
    # x(t) sits at x*(W(t)) up to the lag ~ eps tau |dx*/ds|, tiny once W has nearly stopped
    np.testing.assert_allclose(residual(Ws[-1], net.I, X[-1]), 0.0, atol=1e-5)
    # an explicit off-equilibrium start is kept: a fast transient, then the same slow learning
    t, X0, Ws0, loss0 = two_timescale_learning(net, target, eps=0.05, t_end=800.0, x0=[0.0, 0.0], n_eval=81)
    np.testing.assert_array_equal(X0[0], [0.0, 0.0])
    assert not np.allclose(X0[0], X[0]) and loss0[-1] < 1e-8


def test_quasi_static_flow_decreases_the_loss_for_both_rules():
    net, target = RateNetwork(W_LEARN, [0.1, -0.2]), np.array([0.5, -0.4])
    for rule in ("gradient", "delta"):
        t, X, Ws, loss = quasi_static_learning(net, target, eps=1.0, t_end=40.0, rule=rule, n_eval=41)
        assert np.all(np.diff(loss) <= 1e-15) and loss[-1] < 1e-6
        for W, x in zip(Ws, X):
            assert np.abs(residual(W, net.I, x)).max() < 1e-11
            if rule == "delta":  # the stated descent condition holds along the run: sym(W) < Id
                assert np.linalg.eigvalsh((W + W.T) / 2).max() < 1


def test_joint_and_quasi_static_learning_agree_to_order_eps():
    net, target = RateNetwork(W_LEARN, [0.1, -0.2], tau=1.0), np.array([0.5, -0.4])
    T = 8.0  # slow time eps * t
    errs = []
    for eps in (0.02, 0.01):
        _, X, Ws, L = two_timescale_learning(net, target, eps, T / eps, n_eval=41)
        _, Xq, Wq, Lq = quasi_static_learning(net, target, eps, T / eps, n_eval=41)
        errs.append(np.abs(Ws - Wq).max())
        assert np.abs(L - Lq).max() < 0.1 * eps
    assert errs[1] < errs[0] < 0.5 * 0.02  # O(eps tau) with a constant < 0.5
    assert errs[0] / errs[1] == pytest.approx(2.0, rel=0.1)  # halving eps halves the gap


# ----------------------------------------------------------------------------- population code
def test_population_code_tuning_curves():
    s = np.array([0.0, 0.25, 1.0])
    R = population_code(s, 4, 0.1)
    centres = np.array([0.125, 0.375, 0.625, 0.875])
    np.testing.assert_allclose(R, np.exp(-((s[:, None] - centres) ** 2) / 0.02), rtol=1e-14)
    Rn = population_code(s, 4, 0.1, seed=1, noise=0.5)
    np.testing.assert_array_equal(Rn, population_code(s, 4, 0.1, seed=1, noise=0.5))
    assert not np.allclose(Rn, R)


def test_linear_readout_recovers_an_exactly_linear_code():
    R = np.random.default_rng(0).standard_normal((50, 3))
    s = R @ [1.0, -2.0, 0.5] + 0.25
    np.testing.assert_allclose(linear_readout(R, s), [1.0, -2.0, 0.5, 0.25], atol=1e-12)


def test_decode_error_decreases_with_population_size():
    errs = [decode_error(n, noise=0.1) for n in (4, 8, 16, 32, 64, 128)]
    assert np.all(np.diff(errs) < 0), errs
    assert errs[-1] < 0.35 * errs[0]
    assert decode_error(64, noise=0.0) < 1e-5  # noise-free and dense tuning: almost exact
    assert decode_error(4, noise=0.0) > 1e-2   # too few units: a linear readout is biased


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, match", [
    (dict(W=[[1.0, 2.0]], I=[0.0]), r"W must be a non-empty square"),
    (dict(W=[[np.nan]], I=[0.0]), r"W must be finite"),
    (dict(W="ab", I=[0.0]), r"W must be a square matrix"),
    (dict(W=np.eye(2), I=[0.0]), r"I must have shape \(2,\) to match W"),
    (dict(W=np.eye(2), I=[0.0, np.inf]), r"I must be finite"),
    (dict(W=np.eye(2), I=[0.0, 0.0], tau=0.0), r"tau must be a finite number > 0"),
    (dict(W=np.eye(2), I=[0.0, 0.0], phi="softplus"), r"phi must be one of tanh, linear, sigmoid, relu"),
])
def test_rate_network_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RateNetwork(**kwargs)


def test_method_and_argument_validation():
    net = RateNetwork(np.eye(3), np.zeros(3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.tau = 2.0
    with pytest.raises(ValueError, match="read-only"):
        net.W[0, 0] = 5.0
    with pytest.raises(ValueError, match=r"x must have shape \(3,\) to match the 3-unit network"):
        net.vector_field([0.0, 1.0])
    with pytest.raises(ValueError, match="nullclines needs a 2-unit network, got n = 3"):
        net.nullclines([0.0])
    with pytest.raises(ValueError, match="method must be one of"):
        net.simulate(np.zeros(3), 1.0, method="Euler")
    with pytest.raises(ValueError, match="t_end must be a finite number > 0"):
        net.simulate(np.zeros(3), -1.0)
    with pytest.raises(ValueError, match="n_starts must be an integer >= 0"):
        net.fixed_points(n_starts=-1)
    with pytest.raises(ValueError, match=r"target must have shape \(3,\)"):
        two_timescale_learning(net, [0.1], 0.1, 1.0)
    with pytest.raises(ValueError, match="rule must be one of gradient, delta"):
        quasi_static_learning(net, [0.1, 0.1, 0.1], 0.1, 1.0, rule="hebb")
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        two_timescale_learning(net, [0.1, 0.1, 0.1], 0.0, 1.0)
    with pytest.raises(ValueError, match="net must be a RateNetwork"):
        learning_rule("net", [0.1])


def test_population_validation():
    with pytest.raises(ValueError, match=r"s must lie in the interval \[0, 1\]"):
        population_code([0.5, 1.5], 4, 0.1)
    with pytest.raises(ValueError, match="width must be a finite number > 0"):
        population_code([0.5], 4, 0.0)
    with pytest.raises(ValueError, match="n_units must be an integer >= 1"):
        population_code([0.5], 0, 0.1)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        population_code([0.5], 4, 0.1, noise=-1.0)
    with pytest.raises(ValueError, match=r"interval must be \(a, b\) with a < b"):
        decode_error(4, interval=(1.0, 0.0))
    with pytest.raises(ValueError, match=r"responses must be a finite \(3, n_units\) array"):
        linear_readout(np.ones((2, 4)), [0.0, 0.5, 1.0])
