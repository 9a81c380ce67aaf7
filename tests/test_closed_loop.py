"""Closed-loop RNN (Ger & Barak, arXiv:2505.13567): derivation checks, hand-written BPTT against finite
differences, the reduction against numpy eigenvalues, and closed forms written out independently here."""
import numpy as np
import pytest
import sympy as sp

from derive.theories import closed_loop as dc
from numeric.models import closed_loop as cl
from verify.finite_differences import central_gradient


@pytest.fixture(scope="module")
def derivation():
    return dc.closed_loop_rnn()


def test_derivation_every_step_proved_or_given(derivation):
    c = derivation.check()
    assert c.ok
    assert all(s.status == ("given" if s.step.kind == "given" else "proved") for s in c.steps), c.summary()


def _subs(s: dict) -> dict:
    return {dc.S_ZM: s["s_zm"], dc.S_ZU: s["s_zU"], dc.S_VM: s["s_Vm"], dc.S_VU: s["s_VU"]}


@pytest.mark.parametrize("N, seed", [(3, 4), (6, 5), (15, 6)])
def test_derived_char_poly_coefficients_equal_numpy_poly_of_random_full_matrices(derivation, N, seed):
    # numpy.poly computes the characteristic polynomial of the full (N+2) x (N+2) matrix from its eigenvalues
    rng = np.random.default_rng(seed)
    agent = cl.Agent(*(rng.normal(size=N) for _ in range(4)))
    sub = _subs(cl.order_parameters(agent))
    coeffs = [float(sp.sympify(c).subs(sub)) for c in derivation.results["char_poly_coeffs"]]
    expected = np.poly(cl.closed_loop_matrix(agent))
    np.testing.assert_allclose(np.concatenate([coeffs, np.zeros(N - 2)]), expected,
                               atol=1e-9 * max(1.0, np.max(np.abs(expected))))


@pytest.mark.parametrize("N, seed", [(2, 0), (7, 1), (25, 2)])
def test_full_matrix_spectrum_equals_reduced_plus_zeros(N, seed):
    rng = np.random.default_rng(seed)
    agent = cl.Agent(*(rng.normal(size=N) for _ in range(4)))
    s = cl.order_parameters(agent)
    Mr = np.array(dc.reduced_matrix().subs({dc.S_ZM: s["s_zm"], dc.S_ZU: s["s_zU"], dc.S_VM: s["s_Vm"],
                                            dc.S_VU: s["s_VU"]}), dtype=float)
    expected = np.concatenate([np.poly(Mr), np.zeros(N - 2)])  # lambda^(N-2) det(lambda I - K E)
    np.testing.assert_allclose(np.poly(cl.closed_loop_matrix(agent)), expected, atol=1e-9)


def test_matrix_step_equals_explicit_environment_and_agent_update():
    agent = cl.init_agent(5, seed=3, s_zm0=-0.2)
    S = cl.closed_loop_rollout(agent, T=6, x0=[[0.7], [-0.4]])
    x, h = np.array([0.7, -0.4]), np.zeros(5)
    for t in range(6):
        np.testing.assert_allclose(S[t, :, 0], np.concatenate([x, h]), atol=1e-14)
        u = agent.z @ h
        x = np.array([x[0] + x[1], x[1] + u])  # p' = p + v, v' = v + u
        h = agent.U * (agent.V @ h) + agent.m * x[0]
    assert cl.order_parameters(agent)["s_zm"] == pytest.approx(-0.2, abs=1e-14)


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_bptt_gradient_matches_central_differences(mode):
    agent = cl.init_agent(5, seed=11, s_zm0=-0.1)
    T = 15
    if mode == "closed":
        x0 = np.random.default_rng(13).uniform(-2, 2, size=(2, 3))  # a batch of 3: the 1/B of the mean
        f = lambda th: cl.closed_loop_loss(agent.with_params(th), T, x0)  # noqa: E731
        _, g = cl.closed_loop_grad(agent, T, x0)
    else:
        y, u = cl.teacher_data(cl.init_agent(5, seed=12, s_zm0=-0.4), T)
        f = lambda th: cl.open_loop_loss(agent.with_params(th), y, u)  # noqa: E731
        _, g = cl.open_loop_grad(agent, y, u)
    fd = central_gradient(f, agent.params())
    np.testing.assert_allclose(g, fd.value, atol=1e-7 * max(1.0, np.max(np.abs(fd.value))))


def test_expected_loss_equals_monte_carlo_average_over_uniform_starts():
    agent = cl.init_agent(4, seed=5, s_zm0=-0.3)
    x0 = np.random.default_rng(0).uniform(-2, 2, size=(2, 20000))
    mc = cl.closed_loop_loss(agent, T=10, x0=x0)  # a mean over the 20000 starts
    assert cl.closed_loop_loss(agent, T=10) == pytest.approx(mc, rel=0.03)


def test_default_loss_is_the_exact_expectation_and_a_batch_mean():
    # E|x_t|^2 = trace(P M^t Sigma_0 M^t^T P^T), Sigma_0 = (4/3) I on x, 0 on h (h_0 = 0)
    agent = cl.init_agent(5, seed=9, s_zm0=-0.4)
    M, T = cl.closed_loop_matrix(agent), 12
    S0 = np.zeros((7, 7))
    S0[:2, :2] = 4.0 / 3.0 * np.eye(2)
    expected = sum(np.trace((np.linalg.matrix_power(M, t) @ S0 @ np.linalg.matrix_power(M, t).T)[:2, :2])
                   for t in range(T)) / (2 * T)
    assert cl.closed_loop_loss(agent, T) == pytest.approx(expected, rel=1e-12)
    x0 = np.random.default_rng(1).normal(size=(2, 3))
    assert cl.closed_loop_loss(agent, T, np.tile(x0, 4)) == pytest.approx(cl.closed_loop_loss(agent, T, x0), rel=1e-13)
    y, u = cl.teacher_data(cl.init_agent(5, seed=10, s_zm0=-0.2), T, x0)
    y4, u4 = cl.teacher_data(cl.init_agent(5, seed=10, s_zm0=-0.2), T, np.tile(x0, 4))
    assert cl.open_loop_loss(agent, y4, u4) == pytest.approx(cl.open_loop_loss(agent, y, u), rel=1e-13)


def _radius(agent) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(cl.closed_loop_matrix(agent)))))


def test_memoryless_feedback_never_stabilizes():
    # derived: with sigma_zU sigma_Vm = 0 the spectral radius is >= 1 for every position gain
    m = np.array([1.0, 0.0, 0.0])
    for gain in np.linspace(-3, 3, 13):
        agent = cl.Agent(m, gain * m, np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0]))
        assert _radius(agent) >= 1 - 1e-12
    # sigma_zU = 0 but sigma_Vm != 0 and sigma_VU != 0 (the agent has recurrence and reads m, z ignores it)
    rng = np.random.default_rng(7)
    e1, e2 = np.eye(3)[0], np.eye(3)[1]
    for _ in range(200):
        gain, a, b = rng.uniform(-3, 3), rng.uniform(-2, 2), rng.uniform(-1.5, 1.5)
        agent = cl.Agent(e1, gain * e1, e2, a * e1 + b * e2)
        s = cl.order_parameters(agent)
        assert s["s_zU"] == 0 and s["s_Vm"] == a and s["s_VU"] == b
        assert _radius(agent) >= 1 - 1e-12


def _memory_only_agent(g: float, s_vu: float) -> cl.Agent:
    """sigma_zm = 0, sigma_zU sigma_Vm = g, sigma_VU = s_vu, in R^3."""
    e1, e2 = np.eye(3)[0], np.eye(3)[1]
    return cl.Agent(e1, e2, e2, g * e1 + s_vu * e2)


def test_memory_without_position_feedback_never_stabilizes(derivation):
    # derived (Jury at sigma_zm = 0): rho >= 1 for every g when sigma_VU < 2; checked on the full matrix
    rng = np.random.default_rng(8)
    for _ in range(300):
        g, s_vu = rng.uniform(-4, 4), rng.uniform(-1.9, 1.99)
        agent = _memory_only_agent(g, s_vu)
        s = cl.order_parameters(agent)
        assert s["s_zm"] == 0 and s["s_zU"] * s["s_Vm"] == pytest.approx(g) and s["s_VU"] == s_vu
        assert _radius(agent) >= 1 - 1e-9
        jury = float(derivation.results["memory_only_jury"].subs(_subs(s)))
        if g < 0:  # the derived Jury quantity is negative, the premise of the derived rho >= 1
            assert jury < 0


@pytest.mark.parametrize("sign, s_vu", [(-1, -0.3), (-1, 0.5), (1, -0.4), (1, 0.3)])
def test_first_order_spectral_radius_at_zero_position_gain(derivation, sign, s_vu):
    # derived: g < 0 -> |lambda|^2 = 1 + delta^2 (1 + 1/w) + O(delta^4); g > 0 -> 1 + s - s^2/(2w) + O(s^3)
    key = "memory_only_modulus_sq_first_order" if sign < 0 else "memory_only_real_root_first_order"
    errors = []
    for g in (1e-2, 1e-4):
        agent = _memory_only_agent(sign * g, s_vu)
        pred = float(derivation.results[key].subs(_subs(cl.order_parameters(agent))))
        pred = np.sqrt(pred) if sign < 0 else pred
        assert pred > 1
        errors.append(abs(_radius(agent) - pred))
    # the error is O(g^2) (g < 0) or O(g^{3/2}) (g > 0): 100 x smaller g, >= 1000 x smaller error
    assert errors[1] < 1.5e-3 * errors[0] + 1e-13


def test_open_loop_teacher_forcing_is_exact_for_the_teacher_itself():
    teacher = cl.init_agent(6, seed=2, s_zm0=-0.5)
    y, u = cl.teacher_data(teacher, 20)
    assert cl.open_loop_loss(teacher, y, u) < 1e-25
    assert np.allclose(cl.open_loop_grad(teacher, y, u)[1], 0, atol=1e-12)


def test_training_records_and_bad_input():
    agent = cl.init_agent(4, seed=0)
    h = cl.train(agent, "closed", 20, 0.02, T=10, record_every=10, max_grad_norm=1.0)
    assert list(h["step"]) == [0, 10, 20]
    assert h["closed_loss"][-1] < h["closed_loss"][0]
    with pytest.raises(ValueError, match="teacher"):
        cl.train(agent, "open", 5, 0.1)
    with pytest.raises(ValueError, match="mode"):
        cl.train(agent, "sideways", 5, 0.1)
    with pytest.raises(ValueError, match="N >= 2"):
        cl.Agent(np.ones(3), np.ones(3), np.ones(2), np.ones(3))
    for lr in (np.inf, np.nan, 0.0, -0.1):
        with pytest.raises(ValueError, match="lr"):
            cl.train(agent, "closed", 5, lr, T=10)
    for clip in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="max_grad_norm"):
            cl.train(agent, "closed", 5, 0.02, T=10, max_grad_norm=clip)


def test_open_loop_rejects_wrongly_shaped_targets():
    agent = cl.init_agent(4, seed=0)
    y, u = cl.teacher_data(cl.init_agent(4, seed=1, s_zm0=-0.3), 10)
    for bad in (u[:, :1], u[:-1], u[:, 0], u.T):  # (T, 1) would broadcast silently without the check
        with pytest.raises(ValueError, match="u_target"):
            cl.open_loop_loss(agent, y, bad)
        with pytest.raises(ValueError, match="u_target"):
            cl.open_loop_grad(agent, y, bad)
    with pytest.raises(ValueError, match="observations"):
        cl.open_loop_loss(agent, y[:1], u[:1])


def test_checks_group_passes():
    from verify.checks.closed_loop import closed_loop_checks

    results = closed_loop_checks()
    assert all(r.status == "pass" for r in results), [(r.check, r.error) for r in results if r.status != "pass"]


# --- the experiment's measures (verify.experiments.closed_loop) -------------------------------------------


def test_directed_hausdorff_to_a_polyline_matches_hand_values_and_dense_resampling():
    from scipy.spatial.distance import directed_hausdorff as scipy_dh

    from verify.experiments.closed_loop import directed_hausdorff, hausdorff

    P = np.array([[0.0, 0.0], [1.0, 0.0]])
    Q = np.array([[0.0, 1.0], [0.0, 2.0]])
    assert directed_hausdorff(P, Q) == pytest.approx(np.sqrt(2), abs=1e-15)  # (1, 0) to the end (0, 1)
    assert directed_hausdorff(Q, P) == pytest.approx(2.0, abs=1e-15)  # (0, 2) to (0, 0)
    assert hausdorff(P, Q) == pytest.approx(2.0, abs=1e-15)
    assert directed_hausdorff([[0.5, 3.0]], [[0.0, 0.0], [1.0, 0.0]]) == pytest.approx(3.0)  # foot inside the segment
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(40, 3)), np.cumsum(rng.normal(size=(15, 3)), axis=0)
    s = np.linspace(0, 1, 2001)[:, None, None]
    dense = (B[:-1] + s * (B[1:] - B[:-1])).reshape(-1, 3)  # the polyline B sampled finely: scipy's vertex distance
    assert directed_hausdorff(A, B) == pytest.approx(scipy_dh(A, dense)[0], abs=2e-3)
    with pytest.raises(ValueError, match="paths"):
        directed_hausdorff(np.ones((3, 2)), np.ones((3, 3)))


def test_doubling_the_step_estimates_the_orbit_error_of_clipped_gd():
    """The experiment's discretization floor, on a quadratic whose gradient-flow orbit is known in closed form:
    L = (x^2 + 10 y^2) / 2 has orbits y = y0 (x / x0)^10; clipping rescales the speed only."""
    from verify.experiments.closed_loop import directed_hausdorff, hausdorff

    lam, start = np.array([1.0, 10.0]), np.array([8.0, 1.0])

    def clipped_gd(lr, flow_time=30.0):
        th, path = start.copy(), [start.copy()]
        for _ in range(int(round(flow_time / lr))):
            g = lam * th
            th = th - lr * g / max(1.0, np.linalg.norm(g))
            path.append(th.copy())
        return np.array(path)

    x = np.linspace(start[0], 1e-4, 20001)
    orbit = np.column_stack([x, start[1] * (x / start[0]) ** 10])
    err = {lr: directed_hausdorff(clipped_gd(lr), orbit) for lr in (0.02, 0.01)}
    assert err[0.02] / err[0.01] == pytest.approx(2.0, rel=0.05)  # first order in lr
    floor = hausdorff(clipped_gd(0.04), clipped_gd(0.02))
    assert floor == pytest.approx(err[0.02], rel=0.1)  # Richardson: |orbit(2 lr) - orbit(lr)| ~ error of lr


def test_radius_push_at_the_largest_loss_rise():
    from verify.experiments.closed_loop import radius_push

    hist = {"step": np.arange(5) * 10, "closed_loss": np.array([5.0, 3.0, 6.0, 2.0, 4.0]),
            "radius": np.array([1.1, 0.9, 1.05, 0.8, 1.3])}
    r = radius_push(hist)  # largest rise 6 / 3 at index 2; smallest rho up to there 0.9
    assert (r["step"], r["radius"], r["min_radius_before"]) == (20, 1.05, 0.9)
    assert r["delta"] == pytest.approx(0.15, abs=1e-15)


def test_loss_rise_and_path_cut():
    from verify.experiments.closed_loop import loss_rise, path_to_loss

    assert loss_rise([5.0, 3.0, 6.0, 2.0, 4.0]) == (2.0, 2)  # 6 / 3 at index 2 (4 / 2 ties later)
    assert loss_rise([4.0, 3.0, 3.0, 1.0]) == (1.0, 0)
    with pytest.raises(ValueError, match="positive"):
        loss_rise([1.0, 0.0])
    hist = {"closed_loss": np.array([9.0, 4.0, 5.0, 2.0, 1.0]), "s_zm": np.arange(5.0), "s_zU": np.ones(5),
            "s_Vm": np.full(5, 2.0), "s_VU": -np.arange(5.0)}
    np.testing.assert_array_equal(path_to_loss(hist, 3.0), [[0, 2, 0], [1, 2, -1], [2, 2, -2], [3, 2, -3]])
    assert len(path_to_loss(hist, 0.5)) == 5


def test_experiment_claims_hold_at_the_seed_that_used_to_fail():
    from verify.experiments.closed_loop import closed_loop

    _, summary = closed_loop(seed=1)
    assert all(c["holds"] for c in summary["claims"]), [c["claim"][:60] for c in summary["claims"] if not c["holds"]]
    assert summary["closed_loss_rise_open"][0] > 10  # measured 466 (L_cl rises while the loop is unstable)
