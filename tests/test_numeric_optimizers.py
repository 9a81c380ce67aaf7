"""Tests for numeric.optimizers: the optimizer protocol, gd and run."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numeric.optimizers import GD, Optimizer, gd, run

finite = st.floats(-1e3, 1e3, allow_nan=False)
vectors = st.integers(1, 6).flatmap(lambda n: st.tuples(st.lists(finite, min_size=n, max_size=n),
                                                        st.lists(finite, min_size=n, max_size=n)))


def test_gd_is_frozen_dataclass_satisfying_protocol():
    opt = gd(lr=0.1, weight_decay=0.01)
    assert isinstance(opt, GD)
    assert isinstance(opt, Optimizer)
    assert dataclasses.is_dataclass(opt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.lr = 1.0
    assert opt.init(np.zeros(3)) == {}


def test_gd_step_matches_hand_computed_values():
    # theta - lr * (g + wd * theta), computed by hand:
    # [1 - 0.1 * (0.5 + 0.01), 2 - 0.1 * (-1 + 0.02)] = [0.949, 2.098]
    new, state = gd(0.1, weight_decay=0.01).step(np.array([1.0, 2.0]), np.array([0.5, -1.0]), {})
    np.testing.assert_allclose(new, [0.949, 2.098], rtol=0, atol=1e-15)
    assert state == {}


def test_gd_accepts_lists_and_ints():
    new, _ = gd(1).step([1, 2], [1, 1], {})
    assert new.dtype == np.float64
    np.testing.assert_array_equal(new, [0.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(vectors, st.floats(1e-4, 10.0), st.floats(0.0, 1.0))
def test_gd_step_is_pure(pg, lr, wd):
    params, grads = np.array(pg[0]), np.array(pg[1])
    p_copy, g_copy = params.copy(), grads.copy()
    state = {}
    new, new_state = gd(lr, wd).step(params, grads, state)
    np.testing.assert_array_equal(params, p_copy)
    np.testing.assert_array_equal(grads, g_copy)
    assert state == {}
    assert new is not params and not np.shares_memory(new, params)
    assert new_state is not state
    # each coordinate follows the scalar rule theta - lr * (g + wd * theta)
    for i in range(params.size):
        assert new[i] == pytest.approx(p_copy[i] - lr * (g_copy[i] + wd * p_copy[i]), rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 1.9), st.floats(0.1, 10.0), st.floats(-5, 5), st.integers(0, 40))
def test_run_on_scalar_quadratic_matches_closed_form(eta_lam, lam, theta0, steps):
    # GD on L = lam/2 theta^2 gives theta_t = (1 - eta lam)^t theta_0
    eta = eta_lam / lam
    traj = run(gd(eta), lambda th: lam * th, [theta0], steps)
    assert traj.shape == (steps + 1, 1)
    expected = (1.0 - eta * lam) ** np.arange(steps + 1) * theta0
    np.testing.assert_allclose(traj[:, 0], expected, rtol=1e-9, atol=1e-12)


def test_run_with_weight_decay_equals_shifted_curvature():
    # coupled decay on lam/2 theta^2: theta_t = (1 - eta (lam + wd))^t theta_0
    eta, lam, wd = 0.1, 2.0, 0.5
    traj = run(gd(eta, weight_decay=wd), lambda th: lam * th, [3.0, -1.0], 25)
    factor = (1.0 - eta * (lam + wd)) ** np.arange(26)
    np.testing.assert_allclose(traj, np.outer(factor, [3.0, -1.0]), rtol=1e-12)


def test_run_does_not_mutate_params0_and_zero_steps():
    p0 = np.array([1.0, -2.0])
    traj = run(gd(0.1), lambda th: th, p0, 0)
    assert traj.shape == (1, 2)
    np.testing.assert_array_equal(traj[0], [1.0, -2.0])
    traj = run(gd(0.1), lambda th: th, p0, 5)
    np.testing.assert_array_equal(p0, [1.0, -2.0])
    assert not np.shares_memory(traj, p0)


def test_run_stops_at_overflow_and_returns_finite_prefix():
    # theta_t = (1 - 1e10)^t overflows float64 after ~30 steps
    traj = run(gd(1e10), lambda th: th, [1.0], 100)
    assert 2 < traj.shape[0] < 101
    assert np.all(np.isfinite(traj))
    t = np.arange(traj.shape[0])
    np.testing.assert_allclose(traj[:, 0], (1.0 - 1e10) ** t, rtol=1e-9)


def test_run_stops_on_non_finite_gradient():
    traj = run(gd(0.1), lambda th: np.full_like(th, np.nan), [1.0, 2.0], 10)
    assert traj.shape == (1, 2)


def test_run_threads_state_through_custom_optimizer():
    @dataclasses.dataclass(frozen=True)
    class Counting:
        def init(self, params):
            return {"t": 0}

        def step(self, params, grads, state):
            # theta_{t+1} = theta_t - g / (t + 1)
            return params - grads / (state["t"] + 1), {"t": state["t"] + 1}

    traj = run(Counting(), lambda th: np.ones_like(th), [0.0], 4)
    np.testing.assert_allclose(traj[:, 0], [0.0, -1.0, -1.5, -1.5 - 1 / 3, -1.5 - 1 / 3 - 0.25])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -1.0}, r"lr must be a finite number > 0, got -1.0"),
        ({"lr": 0.0}, r"lr must be a finite number > 0"),
        ({"lr": float("nan")}, r"lr must be a finite number > 0, got nan"),
        ({"lr": float("inf")}, r"lr must be a finite number > 0, got inf"),
        ({"lr": "0.1"}, r"lr must be a finite number > 0, got '0.1'"),
        ({"lr": True}, r"lr must be a finite number"),
        ({"lr": 0.1, "weight_decay": -0.5}, r"weight_decay must be a finite number >= 0, got -0.5"),
    ],
)
def test_gd_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gd(**kwargs)


@pytest.mark.parametrize(
    "params, grads, match",
    [
        (np.zeros((2, 2)), np.zeros((2, 3)), r"grads must have shape \(2, 2\) to match the parameters, got \(2, 3\)"),
        (np.zeros(0), np.zeros(0), r"params must be a non-empty array, got shape \(0,\)"),
        (np.zeros(2), np.zeros(3), r"grads must have shape \(2,\)"),
        (np.array([1.0, np.nan]), np.zeros(2), r"params must be finite.*\[1\]"),
        (np.zeros(2), np.array([np.inf, 0.0]), r"grads must be finite"),
        (["a", "b"], np.zeros(2), r"params must be an array of real numbers, got list"),
    ],
)
def test_gd_step_rejects_bad_arrays(params, grads, match):
    with pytest.raises(ValueError, match=match):
        gd(0.1).step(params, grads, {})


def test_gd_step_rejects_non_dict_state():
    with pytest.raises(ValueError, match="state must be the dict returned by init"):
        gd(0.1).step(np.zeros(2), np.zeros(2), None)


def test_run_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps must be an integer >= 0, got -1"):
        run(gd(0.1), lambda th: th, [1.0], -1)
    with pytest.raises(ValueError, match="steps must be an integer >= 0, got 2.5"):
        run(gd(0.1), lambda th: th, [1.0], 2.5)
    with pytest.raises(ValueError, match="opt must have init"):
        run(object(), lambda th: th, [1.0], 3)
    with pytest.raises(ValueError, match="grad_fn must be a callable"):
        run(gd(0.1), 3.0, [1.0], 3)
    with pytest.raises(ValueError, match=r"grad_fn must return an array of shape \(2,\), got \(3,\)"):
        run(gd(0.1), lambda th: np.zeros(3), [1.0, 2.0], 3)
    with pytest.raises(ValueError, match="params0 must be finite"):
        run(gd(0.1), lambda th: th, [np.nan], 3)
