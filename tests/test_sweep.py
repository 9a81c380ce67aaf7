"""numeric.sweep / numeric.models.learners / derive.theories.phase / ldyn sweep: transitions located against thresholds known
in advance, Student-t intervals against scipy, learners against closed forms and finite differences."""
import functools
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from derive.theories import phase
from numeric.models import learners
from numeric import sweep
from verify import cli
from verify.finite_differences import central_gradient


def step_learner(value, seed, offset=1.0):
    """A learner whose transition is known: 'diverged' iff value > offset + 0.1 seed."""
    thr = offset + 0.1 * seed
    return {"final_loss": value * (seed + 1), "diverged": float(value > thr)}


def wobbly_learner(value, seed):
    return {"diverged": float(value > 1.0 or 0.35 < value < 0.55)}


def test_transition_per_seed_inside_its_grid_bracket_and_t_interval_matches_scipy():
    values = np.linspace(0.5, 2.0, 31)
    sw = sweep.sweep(step_learner, values, seeds=[0, 1, 2, 3, 4])
    tr = sweep.transition(sw, "diverged")
    spacing = values[1] - values[0]
    for s, loc in zip(tr.seeds, tr.per_seed):
        assert abs(loc - (1.0 + 0.1 * s)) <= spacing / 2 + 1e-12
    x = tr.per_seed
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert tr.estimate == pytest.approx(np.mean(x))
    assert tr.ci == pytest.approx((hi - lo) / 2)
    assert tr.resolution == pytest.approx(spacing / 2)
    assert tr.error == pytest.approx(np.hypot(tr.ci, tr.resolution))
    assert sw.orders["final_loss"][3, 2] == pytest.approx(values[3] * 3)


def test_parallel_sweep_equals_serial():
    values = np.linspace(1.5, 2.5, 6)
    f = functools.partial(learners.least_squares, control="lr", steps=100)
    a = sweep.sweep(f, values, seeds=3, workers=1)
    b = sweep.sweep(f, values, seeds=3, workers=2)
    assert b.workers == 2
    for k in a.orders:
        np.testing.assert_array_equal(a.orders[k], b.orders[k])


def test_auto_workers_fall_back_to_one_process_for_a_lambda_and_explicit_workers_say_why():
    sw = sweep.sweep(lambda v, s: {"x": v}, [0.0, 1.0], seeds=2)
    assert sw.workers == 1 and sw.orders["x"].tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert sweep.sweep(step_learner, [0.0, 1.0], seeds=2).workers == min(os.cpu_count() or 1, 4)
    with pytest.raises(ValueError, match="picklable learner"):
        sweep.sweep(lambda v, s: {"x": v}, [0.0, 1.0], seeds=2, workers=2)


def test_non_monotone_and_unbracketed_seeds_are_reported():
    sw = sweep.sweep(wobbly_learner, np.linspace(0.1, 2.0, 20), seeds=2)
    tr = sweep.transition(sw, "diverged")
    assert tr.non_monotone == [0, 1] and 1.0 <= tr.estimate <= 1.1
    sw = sweep.sweep(functools.partial(step_learner, offset=1.25), np.linspace(0.5, 1.5, 11), seeds=[0, 5])
    tr = sweep.transition(sw, "diverged")
    assert tr.unbracketed == [5] and list(tr.seeds) == [0]
    with pytest.raises(ValueError, match="does not switch"):
        sweep.transition(sweep.sweep(step_learner, [0.1, 0.2], seeds=1), "diverged")


def test_falling_transition_and_log_scale():
    sw = sweep.sweep(step_learner, np.geomspace(0.5, 2.0, 9), seeds=1)
    rising = sweep.transition(sw, "diverged", scale="log")
    sw.orders["stable"] = 1.0 - sw.orders["diverged"]
    falling = sweep.transition(sw, "stable", scale="log", rising=False)
    assert rising.estimate == pytest.approx(falling.estimate)
    lo, hi = [v for v in sw.values if v <= 1.0][-1], [v for v in sw.values if v > 1.0][0]
    assert rising.estimate == pytest.approx(np.sqrt(lo * hi))


@settings(max_examples=20, deadline=None)
@given(st.floats(0.6, 1.9))
def test_locate_bisects_to_the_known_threshold(offset):
    pred = functools.partial(lambda v, s, off: v > off + 0.1 * s, off=offset)
    tr = sweep.locate(pred, 0.5, 3.0, seeds=[0, 3], rtol=1e-6, workers=1)
    np.testing.assert_allclose(tr.per_seed, [offset, offset + 0.3], rtol=2e-6)


@pytest.mark.parametrize("call, message", [
    (lambda: sweep.sweep(step_learner, [1.0, 0.5]), "strictly increasing"),
    (lambda: sweep.sweep(step_learner, [1.0]), "at least 2"),
    (lambda: sweep.sweep(step_learner, [0.5, 1.0], seeds=0), "positive count"),
    (lambda: sweep.sweep(step_learner, [0.5, 1.0], seeds=[1, 1]), "distinct"),
    (lambda: sweep.sweep(step_learner, [0.5, 1.0], workers=0), "workers"),
    (lambda: sweep.sweep(lambda v, s: {"a": v} if v < 1 else {"b": v}, [0.5, 1.5]), "returned"),
    (lambda: sweep.locate(lambda v, s: v > 1, 2.0, 1.0), "lo < hi"),
    (lambda: learners.least_squares(1.0, 0, control="nope"), "control must be one of"),
    (lambda: learners.least_squares(-1.0, 0, control="lr"), "lr > 0"),
    (lambda: learners.two_layer(0.1, 0, width=0), "width"),
    (lambda: learners.least_squares(1.0, 0, control="momentum"), "momentum must be below 1"),
])
def test_bad_input_raises_with_a_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_least_squares_diverges_exactly_past_two_over_lambda_max():
    X, _ = learners.least_squares_data(4)
    lam = np.linalg.eigvalsh(X.T @ X / len(X))[-1]
    for mom in (0.0, 0.6):
        crit = (2 + 2 * mom) / lam  # Polyak 1964: heavy ball on a quadratic is stable iff eta lam < 2(1 + beta)
        assert learners.least_squares(0.99 * crit, 4, momentum=mom, steps=3000)["diverged"] == 0.0
        assert learners.least_squares(1.01 * crit, 4, momentum=mom, steps=3000)["diverged"] == 1.0


def test_two_layer_gradient_matches_finite_differences():
    X, y = learners.teacher_data(n=20, d=3, seed=1)
    lg = learners.two_layer_loss_grad(X, y, width=4)
    theta = np.random.default_rng(0).standard_normal(16)
    fd = central_gradient(lambda t: lg(t)[0], theta)
    np.testing.assert_allclose(lg(theta)[1], fd.value, atol=1e-8)


def test_weight_decay_critical_value_is_the_top_hessian_eigenvalue_at_the_origin():
    """An independent route to |E[y x]|: the numeric Hessian of the data loss at theta = 0 (any width)."""
    X, y = learners.teacher_data(n=50, d=3, seed=2)
    lg = learners.two_layer_loss_grad(X, y, width=5)
    top = learners.fd_hessian_top(lg, np.zeros(20))
    d = phase.weight_decay_pitchfork()
    assert float(d.results["critical_weight_decay"].subs(phase.cn, np.linalg.norm(X.T @ y / 50))) == pytest.approx(top, rel=1e-8)


def test_two_layer_weights_collapse_above_and_survive_below_the_critical_decay():
    X, y = learners.teacher_data(seed=0)
    cn = np.linalg.norm(X.T @ y / len(y))
    below = learners.two_layer(0.9 * cn, 0, control="weight_decay", lr=1.0, steps=3000)
    above = learners.two_layer(1.1 * cn, 0, control="weight_decay", lr=1.0, steps=3000)
    assert below["weight_norm"] > 0.1 and below["collapsed"] == 0.0
    assert above["weight_norm"] < 1e-6 and above["collapsed"] == 1.0


@pytest.mark.parametrize("factory", [phase.weight_decay_pitchfork, phase.noisy_gd_stationary])
def test_phase_derivations_prove_every_step_that_is_not_given(factory):
    check = factory().check()
    assert check.ok
    assert {s.status for s in check.steps} <= {"proved", "given"}


def test_noisy_gd_stationary_variance_against_the_discrete_lyapunov_equation():
    """scipy solves s = a s a + b b for the AR(1) recursion e' = a e + b xi, independently of the derivation."""
    from scipy.linalg import solve_discrete_lyapunov

    eta, lam, sig = 0.7, 2.2, 0.4
    s = solve_discrete_lyapunov(np.array([[1 - eta * lam]]), np.array([[(eta * sig) ** 2]]))[0, 0]
    d = phase.noisy_gd_stationary()
    derived = d.results["stationary_variance"].subs({phase.eta: eta, phase.lam: lam, phase.sigma: sig})
    assert float(derived) == pytest.approx(s, rel=1e-12)


def test_cli_sweep_json_reports_transition_and_prediction(capsys, tmp_path):
    code = cli.main(["sweep", "least-squares", "lr", "1.5:2.5", "--num", "11", "--seeds", "3", "--json",
                     "--out", str(tmp_path)])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0 and rep["indicator"] == "diverged"
    assert rep["paired"]["max_abs"] <= rep["paired"]["resolution"] + 0.01 * 2.5  # grid + 400-step bias
    assert rep["prediction"]["source"] == "derive.analysis.momentum_limits.critical_sharpness"
    assert (tmp_path / "sweep-least-squares-lr.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "sweep-least-squares-lr.json").read_text())["transition"] == rep["transition"]


def test_cli_sweep_noise_measured_stationary_loss_matches_the_derived_one(capsys):
    assert cli.main(["sweep", "least-squares", "noise", "0.1,0.2", "--seeds", "6", "--set", "steps=3000",
                     "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    excess = np.array(rep["sweep"]["orders"]["final_loss"]) - np.array(rep["sweep"]["orders"]["min_loss"])
    ratio = np.mean(excess / np.array(rep["prediction"]["curve"]), axis=1)
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)  # 6 seeds x 750-step averages: a few % noise


def test_cli_sweep_says_when_there_is_no_prediction_and_when_the_boundary_is_out_of_range(capsys):
    assert cli.main(["sweep", "two-layer", "noise", "0.1,0.2", "--seeds", "1", "--set", "steps=50"]) == 0
    assert "no derived prediction for noise on two-layer" in capsys.readouterr().out
    assert cli.main(["sweep", "least-squares", "momentum", "0:0.9", "--num", "4", "--seeds", "2"]) == 0
    out = capsys.readouterr().out  # at lr = 1 heavy ball is stable for every momentum: boundary below 0
    assert "lies outside (0, 1)" in out and "stable for every admissible momentum" in out
    assert "one seed: no interval" not in out


def test_cli_log_grid_locates_the_transition_at_the_geometric_midpoint(capsys):
    assert cli.main(["sweep", "least-squares", "lr", "1:4", "--log", "--num", "5", "--seeds", "1", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    v, flags = rep["sweep"]["values"], [f[0] for f in rep["sweep"]["orders"]["diverged"]]
    i = flags.index(1.0)
    assert rep["transition"]["estimate"] == pytest.approx(np.sqrt(v[i - 1] * v[i]))


def test_stability_boundary_solves_the_heavy_ball_condition_for_each_control():
    from verify.sweeps import stability_boundary

    lam, h = 1.3, {"lr": 3.0, "momentum": 0.4, "weight_decay": 0.2}
    assert stability_boundary("lr", lam, h) == pytest.approx(2 * 1.4 / (lam + 0.2))  # eta (lam + wd) = 2(1 + mu)
    assert stability_boundary("momentum", lam, h) == pytest.approx(3.0 * (lam + 0.2) / 2 - 1)
    assert stability_boundary("weight_decay", lam, h) == pytest.approx(2 * 1.4 / 3.0 - lam)


def test_parse_values_grids():
    from verify.sweeps import parse_values

    np.testing.assert_allclose(parse_values("1:100", log=True, num=3), [1, 10, 100])
    np.testing.assert_allclose(parse_values("0:1", num=5), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(parse_values("0.5,2"), [0.5, 2])


@pytest.mark.parametrize("argv, message", [
    (["sweep", "least-squares", "lr", "2:1"], "START < STOP"),
    (["sweep", "least-squares", "lr", "1:2", "--set", "lr=1"], "swept control"),
    (["sweep", "least-squares", "lr", "1:2", "--set", "foo=1"], "KEY=VALUE"),
    (["sweep", "least-squares", "lr", "1:2", "--seeds", "0"], "--seeds"),
    (["sweep", "least-squares", "lr", "1:2", "--workers", "0"], "workers"),
    (["sweep", "nope", "lr", "1:2"], "invalid choice"),
    (["sweep", "least-squares", "lr", "1:2", "--set", "width=3"], "KEY one of lr, momentum"),
    (["sweep", "least-squares", "lr", "1:2", "--set", "d=0"], "d must be a positive integer"),
    (["sweep", "least-squares", "lr", "1:2", "--set", "n=2"], "n >= d"),
    (["sweep", "least-squares", "lr", "1:2", "--set", "steps=2.5"], "steps needs an integer"),
    (["sweep", "least-squares", "lr", "1:2", "--workers", "abc"], "--workers must be"),
    (["sweep", "least-squares", "lr", "1,,2"], "comma-separated list"),
    (["sweep", "least-squares", "momentum", "0.5:1.5"], "momentum must be below 1"),
    (["sweep", "two-layer", "lr", "1:2", "--set", "momentum=1"], "momentum must be below 1"),
])
def test_cli_sweep_bad_input_exits_2(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
