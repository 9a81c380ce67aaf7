"""Tests for numeric.optimizers.momentum: heavy ball, Nesterov (both forms) and torch-style SGD."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numeric.optimizers.momentum import SGD, HeavyBall, Nesterov, heavy_ball, nesterov, nesterov_lookahead_step, sgd
from numeric.optimizers import Optimizer, gd, run

finite = st.floats(-1e3, 1e3, allow_nan=False)
vectors3 = st.integers(1, 6).flatmap(
    lambda n: st.tuples(*(st.lists(finite, min_size=n, max_size=n) for _ in range(3)))
)


def iterate(opt, grad_fn, theta0, steps):
    """Trajectory of params and of every state snapshot (run() only returns params)."""
    p = np.asarray(theta0, dtype=float)
    state = opt.init(p)
    params, states = [p], [state]
    for _ in range(steps):
        p, state = opt.step(p, grad_fn(p), state)
        params.append(p)
        states.append(state)
    return np.array(params), states


def random_quadratic(seed, n=6):
    """L = theta^T A theta / 2 - b^T theta with A symmetric positive definite."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, n))
    a = q @ q.T / n + 0.05 * np.eye(n)
    b = rng.standard_normal(n)
    return a, b, rng.standard_normal(n), np.linalg.eigvalsh(a).max()


def assert_same_iterates(x, y):
    """Equal to 1e-12 relative (scale = largest |entry|, so near-zero entries are not penalised)."""
    scale = max(np.abs(x).max(), np.abs(y).max(), 1e-300)
    np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12 * scale)


# --------------------------------------------------------------------------- #
# Protocol.
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "opt, cls, state",
    [
        (heavy_ball(0.1, 0.9), HeavyBall, {"velocity": [0.0, 0.0]}),
        (nesterov(0.1, 0.9), Nesterov, {"velocity": [0.0, 0.0]}),
        (sgd(0.1, 0.9, nesterov=True), SGD, {"momentum_buffer": [0.0, 0.0], "step": 0}),
    ],
)
def test_optimizers_are_frozen_dataclasses_satisfying_protocol(opt, cls, state):
    assert isinstance(opt, cls) and isinstance(opt, Optimizer) and dataclasses.is_dataclass(opt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.lr = 1.0
    s = opt.init(np.array([1.0, 2.0]))
    assert set(s) == set(state)
    for k, v in state.items():
        np.testing.assert_array_equal(s[k], v)


# --------------------------------------------------------------------------- #
# Closed forms on the 1-D quadratic L = lam theta^2 / 2 (g = lam theta).
# --------------------------------------------------------------------------- #
quad_args = (st.floats(0.01, 1.9), st.floats(0.0, 0.95), st.floats(0.1, 10.0),
             st.floats(-5, 5), st.integers(0, 60))


@settings(max_examples=60, deadline=None)
@given(*quad_args)
def test_heavy_ball_matches_linear_recursion(eta_lam, beta, lam, theta0, steps):
    # v' = beta v - eta lam theta, theta' = theta + v' = (1 - eta lam) theta + beta v
    eta = eta_lam / lam
    m = np.array([[1 - eta_lam, beta], [-eta_lam, beta]])
    params, states = iterate(heavy_ball(eta, beta), lambda th: lam * th, [theta0], steps)
    got = np.array([[p[0], s["velocity"][0]] for p, s in zip(params, states)])
    want = np.array([np.linalg.matrix_power(m, t) @ [theta0, 0.0] for t in range(steps + 1)])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10 * (1 + abs(theta0)))


@settings(max_examples=60, deadline=None)
@given(*quad_args)
def test_nesterov_both_forms_match_linear_recursion(eta_lam, beta, lam, theta0, steps):
    # v' = beta v - eta lam (theta + beta v) = -eta lam theta + beta (1 - eta lam) v
    # theta' = theta + v' = (1 - eta lam) theta + beta (1 - eta lam) v
    eta = eta_lam / lam
    m = np.array([[1 - eta_lam, beta * (1 - eta_lam)], [-eta_lam, beta * (1 - eta_lam)]])
    want = np.array([np.linalg.matrix_power(m, t) @ [theta0, 0.0] for t in range(steps + 1)])
    atol = 1e-10 * (1 + abs(theta0))
    # textbook look-ahead form with a gradient oracle
    th, v, got = np.array([theta0]), np.array([0.0]), [[theta0, 0.0]]
    for _ in range(steps):
        th, v = nesterov_lookahead_step(th, v, lambda x: lam * x, eta, beta)
        got.append([th[0], v[0]])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=atol)
    # protocol form: params are phi = theta + beta v
    params, states = iterate(nesterov(eta, beta), lambda x: lam * x, [theta0], steps)
    np.testing.assert_allclose(params[:, 0], want[:, 0] + beta * want[:, 1], rtol=1e-9, atol=atol)
    np.testing.assert_allclose([s["velocity"][0] for s in states], want[:, 1], rtol=1e-9, atol=atol)


def test_heavy_ball_and_nesterov_with_zero_momentum_are_gd():
    traj_gd = run(gd(0.3), lambda th: 2.0 * th, [1.0, -3.0], 20)
    np.testing.assert_allclose(run(heavy_ball(0.3, 0.0), lambda th: 2.0 * th, [1.0, -3.0], 20), traj_gd)
    np.testing.assert_allclose(run(nesterov(0.3, 0.0), lambda th: 2.0 * th, [1.0, -3.0], 20), traj_gd)


# --------------------------------------------------------------------------- #
# The docstring's changes of variables, checked over 200 steps on random quadratics.
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_sgd_buffer_is_minus_velocity_over_lr_and_iterates_match_heavy_ball(seed, beta, wd):
    a, b, th0, lmax = random_quadratic(seed)
    lr = 0.8 / (lmax + wd)
    # coupled weight decay == heavy ball on the loss with curvature A + wd I
    p_sgd, s_sgd = iterate(sgd(lr, momentum=beta, weight_decay=wd), lambda th: a @ th - b, th0, 200)
    p_hb, s_hb = iterate(heavy_ball(lr, beta), lambda th: (a + wd * np.eye(6)) @ th - b, th0, 200)
    assert_same_iterates(p_sgd, p_hb)
    assert_same_iterates(np.array([-lr * s["momentum_buffer"] for s in s_sgd]),
                         np.array([s["velocity"] for s in s_hb]))
    assert [s["step"] for s in s_sgd] == list(range(201))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99])
def test_torch_nesterov_params_are_the_lookahead_point(seed, beta):
    a, b, th0, lmax = random_quadratic(seed)
    lr = 0.8 / lmax
    grad = lambda th: a @ th - b  # noqa: E731
    p_torch, s_torch = iterate(sgd(lr, momentum=beta, nesterov=True), grad, th0, 200)
    p_nest, s_nest = iterate(nesterov(lr, beta), grad, th0, 200)
    th, v, phi = th0.copy(), np.zeros(6), [th0.copy()]
    for _ in range(200):
        th, v = nesterov_lookahead_step(th, v, grad, lr, beta)
        phi.append(th + beta * v)
    assert_same_iterates(p_torch, np.array(phi))
    assert_same_iterates(p_nest, np.array(phi))
    assert_same_iterates(np.array([-lr * s["momentum_buffer"] for s in s_torch]),
                         np.array([s["velocity"] for s in s_nest]))
    # ... and the look-ahead iterates theta_t themselves are NOT the torch params
    assert np.abs(p_torch[1] - (th0 - lr * grad(th0))).max() > 1e-3


def test_runs_converge_to_the_quadratic_minimiser():
    a, b, th0, lmax = random_quadratic(3)
    star = np.linalg.solve(a, b)
    for opt in (heavy_ball(0.5 / lmax, 0.9), nesterov(0.5 / lmax, 0.9), sgd(0.5 / lmax, 0.9),
                sgd(0.5 / lmax, 0.9, nesterov=True)):
        np.testing.assert_allclose(run(opt, lambda th: a @ th - b, th0, 3000)[-1], star, atol=1e-8)


# --------------------------------------------------------------------------- #
# torch.optim.SGD's algorithm by hand.
# --------------------------------------------------------------------------- #
@settings(max_examples=60, deadline=None)
@given(vectors3, st.floats(1e-4, 10.0), st.floats(0.0, 1.0), st.floats(0.0, 0.9))
def test_sgd_without_momentum_is_coupled_decay_gd(pgs, lr, wd, dampening):
    params, grads = np.array(pgs[0]), np.array(pgs[1])
    opt = sgd(lr, dampening=dampening, weight_decay=wd)
    new, state = opt.step(params, grads, opt.init(params))
    np.testing.assert_allclose(new, params - lr * (grads + wd * params), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(state["momentum_buffer"], np.zeros_like(params))
    assert state["step"] == 1


def test_sgd_three_steps_with_dampening_by_hand():
    # lr = 0.5, mu = 0.5, tau = 0.5, wd = 0.25, theta_0 = [2, -4]
    # t=1: g = [1, 1] + 0.25 [2, -4] = [1.5, 0];  b_1 = g (no dampening on step 1) = [1.5, 0]
    #      theta_1 = [2, -4] - 0.5 [1.5, 0] = [1.25, -4]
    # t=2: g = [-1, 2] + 0.25 [1.25, -4] = [-0.6875, 1]
    #      b_2 = 0.5 [1.5, 0] + 0.5 [-0.6875, 1] = [0.40625, 0.5]
    #      theta_2 = [1.25 - 0.203125, -4 - 0.25] = [1.046875, -4.25]
    # t=3: g = [0, -1] + 0.25 [1.046875, -4.25] = [0.26171875, -2.0625]
    #      b_3 = 0.5 [0.40625, 0.5] + 0.5 [0.26171875, -2.0625] = [0.333984375, -0.78125]
    #      theta_3 = [1.046875 - 0.1669921875, -4.25 + 0.390625] = [0.8798828125, -3.859375]
    opt = sgd(0.5, momentum=0.5, dampening=0.5, weight_decay=0.25)
    p, s = np.array([2.0, -4.0]), opt.init([2.0, -4.0])
    expected = [([1.25, -4.0], [1.5, 0.0]), ([1.046875, -4.25], [0.40625, 0.5]),
                ([0.8798828125, -3.859375], [0.333984375, -0.78125])]
    for t, (g, (theta, buf)) in enumerate(zip([[1.0, 1.0], [-1.0, 2.0], [0.0, -1.0]], expected)):
        p, s = opt.step(p, np.array(g), s)
        np.testing.assert_allclose(p, theta, rtol=0, atol=1e-15)
        np.testing.assert_allclose(s["momentum_buffer"], buf, rtol=0, atol=1e-15)
        assert s["step"] == t + 1


def test_sgd_nesterov_two_steps_by_hand():
    # lr = 0.1, mu = 0.5, g = 2 theta, theta_0 = 1
    # t=1: g = 2, b_1 = 2, g <- 2 + 0.5 * 2 = 3, theta_1 = 1 - 0.3 = 0.7
    # t=2: g = 1.4, b_2 = 0.5 * 2 + 1.4 = 2.4, g <- 1.4 + 1.2 = 2.6, theta_2 = 0.7 - 0.26 = 0.44
    traj = run(sgd(0.1, momentum=0.5, nesterov=True), lambda th: 2.0 * th, [1.0], 2)
    np.testing.assert_allclose(traj[:, 0], [1.0, 0.7, 0.44], rtol=1e-14)


# --------------------------------------------------------------------------- #
# Purity.
# --------------------------------------------------------------------------- #
@settings(max_examples=60, deadline=None)
@given(vectors3, st.floats(1e-4, 10.0), st.floats(0.0, 0.99), st.integers(0, 4))
def test_steps_are_pure(pgv, lr, beta, which):
    params, grads, vel = (np.array(x) for x in pgv)
    opt = [heavy_ball(lr, beta), nesterov(lr, beta), sgd(lr, beta, weight_decay=0.1),
           sgd(lr, max(beta, 0.1), nesterov=True), sgd(lr, 0.0, weight_decay=0.1)][which]
    key = "velocity" if which < 2 else "momentum_buffer"
    state = {key: vel} if which < 2 else {key: vel, "step": 1}
    copies = [params.copy(), grads.copy(), vel.copy(), dict(state)]
    new, new_state = opt.step(params, grads, state)
    np.testing.assert_array_equal(params, copies[0])
    np.testing.assert_array_equal(grads, copies[1])
    np.testing.assert_array_equal(vel, copies[2])
    assert state == copies[3] and state[key] is vel
    assert new_state is not state
    for inp in (params, grads, vel):
        assert not np.shares_memory(new, inp) and not np.shares_memory(new_state[key], inp)
    # the first torch step stores g itself in the buffer: it must be a copy, not the caller's grads
    if which >= 2:
        _, first = opt.step(params, grads, opt.init(params))
        assert not np.shares_memory(first[key], grads)


def test_lookahead_step_is_pure():
    th, v = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    seen = []
    new_th, new_v = nesterov_lookahead_step(th, v, lambda x: seen.append(x.copy()) or x, 0.1, 0.5)
    np.testing.assert_array_equal(th, [1.0, 2.0])
    np.testing.assert_array_equal(v, [0.5, -0.5])
    np.testing.assert_allclose(seen[0], [1.25, 1.75])  # gradient asked at theta + beta v
    np.testing.assert_allclose(new_v, [0.125, -0.425])  # 0.5 v - 0.1 [1.25, 1.75]
    np.testing.assert_allclose(new_th, [1.125, 1.575])
    assert not np.shares_memory(new_th, th) and not np.shares_memory(new_v, v)


# --------------------------------------------------------------------------- #
# Bad input.
# --------------------------------------------------------------------------- #
MOMENTUM_MSG = r"momentum must be a finite number with 0 <= momentum < 1"


@pytest.mark.parametrize("factory", [heavy_ball, nesterov])
@pytest.mark.parametrize(
    "lr, momentum, match",
    [
        (0.0, 0.5, r"lr must be a finite number > 0, got 0.0"),
        (-1.0, 0.5, r"lr must be a finite number > 0"),
        (float("nan"), 0.5, r"lr must be a finite number > 0, got nan"),
        ("0.1", 0.5, r"lr must be a finite number > 0, got '0.1'"),
        (0.1, 1.0, MOMENTUM_MSG + r", got 1.0"),
        (0.1, 1.5, MOMENTUM_MSG),
        (0.1, -0.1, MOMENTUM_MSG + r", got -0.1"),
        (0.1, float("inf"), MOMENTUM_MSG),
        (0.1, True, MOMENTUM_MSG + r", got True"),
    ],
)
def test_momentum_methods_reject_bad_hyperparameters(factory, lr, momentum, match):
    with pytest.raises(ValueError, match=match):
        factory(lr, momentum)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": 0.0}, r"lr must be a finite number > 0"),
        ({"lr": 0.1, "momentum": -0.5}, r"momentum must be a finite number >= 0, got -0.5"),
        ({"lr": 0.1, "momentum": float("nan")}, r"momentum must be a finite number >= 0, got nan"),
        ({"lr": 0.1, "dampening": -1.0}, r"dampening must be a finite number >= 0"),
        ({"lr": 0.1, "weight_decay": float("inf")}, r"weight_decay must be a finite number >= 0"),
        ({"lr": 0.1, "nesterov": True}, r"nesterov=True requires momentum > 0 and dampening == 0"),
        ({"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, r"dampening=0.1"),
        ({"lr": 0.1, "momentum": 0.9, "nesterov": 1}, r"nesterov must be True or False, got 1"),
    ],
)
def test_sgd_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sgd(**kwargs)


def test_sgd_allows_what_torch_allows():
    sgd(0.1, momentum=1.5, dampening=2.0)  # torch only bounds these below
    assert sgd(0.1, momentum=0.9, nesterov=np.bool_(True)).nesterov is True


@pytest.mark.parametrize(
    "opt, state, match",
    [
        (heavy_ball(0.1, 0.5), None, r"state must be the dict returned by init\(\)"),
        (heavy_ball(0.1, 0.5), {}, r"with key 'velocity'"),
        (nesterov(0.1, 0.5), {"velocity": np.zeros(3)}, r"state\['velocity'\] must have shape \(2,\)"),
        (sgd(0.1, 0.5), {"velocity": np.zeros(2)}, r"with key 'momentum_buffer'"),
        (sgd(0.1, 0.5), {"momentum_buffer": np.zeros(2)}, r"state\['step'\] must be an integer >= 0, got None"),
        (sgd(0.1, 0.5), {"momentum_buffer": np.zeros(2), "step": 1.0}, r"state\['step'\]"),
        (sgd(0.1, 0.5), {"momentum_buffer": np.zeros(2), "step": -1}, r"state\['step'\]"),
        (sgd(0.1, 0.5), {"momentum_buffer": [np.nan, 0.0], "step": 1}, r"momentum_buffer'\] must be finite"),
    ],
)
def test_steps_reject_bad_state(opt, state, match):
    with pytest.raises(ValueError, match=match):
        opt.step(np.zeros(2), np.zeros(2), state)


@pytest.mark.parametrize("opt", [heavy_ball(0.1, 0.5), nesterov(0.1, 0.5), sgd(0.1, 0.5)])
def test_steps_reject_bad_arrays(opt):
    state = opt.init(np.zeros(2))
    with pytest.raises(ValueError, match=r"grads must have shape \(2,\)"):
        opt.step(np.zeros(2), np.zeros(3), state)
    with pytest.raises(ValueError, match=r"params must be finite"):
        opt.step(np.array([np.inf, 0.0]), np.zeros(2), state)
    with pytest.raises(ValueError, match=r"params must be a non-empty array, got shape \(2, 0\)"):
        opt.init(np.zeros((2, 0)))


def test_lookahead_step_rejects_bad_input():
    grad = lambda x: x  # noqa: E731
    with pytest.raises(ValueError, match=MOMENTUM_MSG):
        nesterov_lookahead_step([1.0], [0.0], grad, 0.1, 1.0)
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0"):
        nesterov_lookahead_step([1.0], [0.0], grad, -0.1, 0.5)
    with pytest.raises(ValueError, match=r"v must have shape \(1,\)"):
        nesterov_lookahead_step([1.0], [0.0, 0.0], grad, 0.1, 0.5)
    with pytest.raises(ValueError, match=r"grad_fn must be a callable"):
        nesterov_lookahead_step([1.0], [0.0], None, 0.1, 0.5)
    with pytest.raises(ValueError, match=r"grad_fn must return an array of shape \(1,\), got \(2,\)"):
        nesterov_lookahead_step([1.0], [0.0], lambda x: np.zeros(2), 0.1, 0.5)
