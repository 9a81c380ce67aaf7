"""Rule-level facts for every catalogue rule: linearisation, characteristic polynomial, continuous-time
limit through the slow manifold of the state, fixed points, and honest refusals for non-smooth rules."""
import numpy as np
import pytest
import sympy as sp

from derive.rules.library import names, resolve
from derive.analysis.rule_analysis import rule_derivation
from derive.update_rule import NotDifferentiable, UpdateRule, g

theta = sp.Symbol("theta", real=True)


@pytest.mark.parametrize("name", names())
def test_rule_derivation_checks_on_every_catalogue_rule(name):
    rule = resolve(name)
    check = rule_derivation(rule).check()
    assert check.ok, [(c.step.reason, c.detail) for c in check.steps if not c.ok]
    smooth_linear = name in ("gd", "heavy-ball", "nesterov", "nesterov-buffer", "sgd", "qhm", "aggmo")
    if smooth_linear:  # every claim proved, none only spot-checked
        assert check.count("proved") == len([c for c in check.steps if c.step.kind != "given"])


def _param(rule, protocol):
    return rule.hyper[protocol]


def test_continuous_limits_are_the_known_flows():
    """Heavy ball and Nesterov follow theta' = -g/(1 - beta) (Polyak 1964; Su, Boyd & Candes 2016 for the
    time scale), QHM's EMA buffer relaxes to g (theta' = -g), AggMo's two velocities average their
    effective steps (Lucas et al. 2019: -g/2 (1/(1 - b1) + 1/(1 - b2)))."""
    for name in ("heavy-ball", "nesterov"):
        r = resolve(name)
        b = _param(r, "momentum")
        (f,) = r.continuous_limit()
        assert sp.simplify(f + g(theta) / (1 - b)) == 0
    (f,) = resolve("qhm").continuous_limit()
    assert sp.simplify(f + g(theta)) == 0
    agg = resolve("aggmo")
    b1, b2 = _param(agg, "beta1"), _param(agg, "beta2")
    (f,) = agg.continuous_limit()
    assert sp.simplify(f + g(theta) / 2 * (1 / (1 - b1) + 1 / (1 - b2))) == 0
    r = resolve("sgd")  # torch's buffer b = mu b + (1 - tau) g_hat, theta -= lr b
    mu, tau, wd = (_param(r, k) for k in ("momentum", "dampening", "weight_decay"))
    (f,) = r.continuous_limit()
    assert sp.simplify(f + (1 - tau) * (g(theta) + wd * theta) / (1 - mu)) == 0


def _slow_eigenvalue(rule, hyper):
    """The eigenvalue nearest 1 of the rule's map on L = theta^2/2, from real steps of the lambdified rule
    applied to the basis states (the map is linear there), not from SymPy."""
    opt = rule.lambdify(**hyper)
    n = len(rule.state)
    columns = []
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        p, s = opt.step(np.array([e[0]]), np.array([e[0]]), {nm: np.array([e[i + 1]])
                                                           for i, nm in enumerate(rule.state_names)})
        columns.append([p[0], *(s[nm][0] for nm in rule.state_names)])
    z = np.linalg.eigvals(np.array(columns).T)
    return z[np.argmin(abs(z - 1))]


@pytest.mark.parametrize("name", ["heavy-ball", "nesterov-buffer", "qhm", "aggmo"])
def test_continuous_limit_is_the_slow_eigenvalue_of_real_steps(name):
    """On L = theta^2/2 the limit ODE is theta' = -r theta with r from continuous_limit(); the slowest
    eigenvalue of the discrete map is 1 - r lr + O(lr^2), so (1 - z)/lr -> r, with an error halving with lr."""
    rule = resolve(name)
    hyper = {**({"momentum": 0.9} if "momentum" in rule.hyper else {}), **rule.defaults}
    (f,) = rule.continuous_limit()
    r = -float(f.subs(g(rule.theta), 1).subs({rule.hyper[k]: v for k, v in hyper.items() if k != "lr"}))
    errors = []
    for lr in (1e-3, 5e-4, 2.5e-4):  # below (1 - sqrt(beta))^2: the slow root is real
        z = _slow_eigenvalue(rule, {**hyper, "lr": lr})
        errors.append(abs((1 - z) / lr - r))
    assert errors[-1] < 0.05 * r and 1.7 < errors[0] / errors[1] < 2.5 and 1.7 < errors[1] / errors[2] < 2.5, errors


def test_lion_is_refused_by_the_linearisation_and_has_a_sign_descent_limit():
    lion = resolve("lion")
    with pytest.raises(NotDifferentiable, match=r"sign\(.*\) in the update of theta is not differentiable"):
        lion.iteration_matrix(sp.Symbol("lambda", real=True))
    with pytest.raises(NotDifferentiable):
        lion.jacobian()
    (f,) = lion.continuous_limit()  # the buffer relaxes to g: theta' = -sign(g) - wd theta
    wd = lion.hyper["weight_decay"]
    assert not f.has(sp.DiracDelta)
    assert sp.simplify(f + sp.sign(g(theta)) + wd * theta) == 0
    with pytest.raises(ValueError, match="cannot solve for the fixed points"):
        lion.fixed_points()


def test_step_counter_rules_are_taken_for_t_to_infinity_and_say_so():
    adam, notes = resolve("adam").asymptotic()
    assert "step" not in adam.state_names and any("-> 0 as t -> oo" in n for n in notes)
    sgd, notes = resolve("sgd").asymptotic()
    assert not any(u.has(sp.Piecewise) for u in sgd.update) and notes
    with pytest.raises(ValueError, match="no finite limit as t -> oo"):  # a growing schedule has no t -> oo form
        UpdateRule.from_text("hyper: lr=1\ntheta = theta - lr*t*g(theta)\n").asymptotic()
    decaying, notes = UpdateRule.from_text("hyper: lr=1\ntheta = theta - lr/t*g(theta)\n").asymptotic()
    assert decaying.update == (decaying.theta,) and any("limit t -> oo taken by SymPy" in n for n in notes)


def test_heavy_ball_fixed_point_step_is_proved():
    d = rule_derivation(resolve("heavy-ball"))
    fixed = [c for c in d.check().steps if "fixed points" in c.step.reason]
    assert fixed and all(c.status == "proved" for c in fixed)


def test_a_false_slow_manifold_would_fail():
    """The invariance step is a real check: a wrong manifold value is refuted."""
    from derive.derivation import Derivation
    from derive.analysis.rule_analysis import _continuous_limit_steps

    r = resolve("heavy-ball")

    bad = Derivation("x", "x")
    wrong = UpdateRule(r.name, r.title, r.state, r.hyper, r.update, r.state_names, r.init)
    manifold, field = wrong.slow_manifold()
    (v,) = manifold
    original = UpdateRule.slow_manifold
    try:
        UpdateRule.slow_manifold = lambda self, step=None: ({v: 2 * manifold[v]}, field)
        _continuous_limit_steps(bad, wrong, r.hyper["lr"], None)
    finally:
        UpdateRule.slow_manifold = original
    assert not bad.check().ok


def test_ldyn_derive_any_rule(tmp_path, capsys):
    """ldyn derive on a catalogue rule and on a user's .rule file: every step checks, and the stable interval
    at the defaults is the closed form computed by hand (QHM: 2(1 + b)/(1 + b - 2 nu b) at b = 0.9, nu = 0.7)."""
    import json

    from verify.cli import main

    assert main(["derive", "qhm", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    res = out["results"] if isinstance(out["results"], dict) else {r["name"]: r for r in out["results"]}
    b, nu = sp.Rational(9, 10), sp.Rational(7, 10)
    assert sp.sympify(res["x_critical"]["sympy"]) == 2 * (1 + b) / (1 + b - 2 * nu * b)
    mine = tmp_path / "mine.rule"
    mine.write_text("hyper: lr=0.1, momentum=0.5\nstate: v=0\nv = momentum*v + g(theta)\ntheta = theta - lr*v\n")
    assert main(["derive", str(mine), "--format", "markdown"]) == 0
    assert "x \\in \\left(0, 3\\right)" in capsys.readouterr().out  # heavy ball: 2(1 + 0.5) = 3
    assert main(["derive", "no-such-rule"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown derivation or rule" in err
    assert main(["derive", str(tmp_path / "missing.rule")]) == 2
    assert capsys.readouterr().err.strip().endswith("missing.rule: no such rule file")
    bad = tmp_path / "bad.rule"
    bad.write_text("hyper: lr=0.1\ntheta = theta - lr*h(theta)\n")
    assert main(["derive", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == f"ldyn: error: {bad}:2: unknown function 'h'; known: g, abs, sign, " \
        "max, min, acos, asin, atan, cos, cosh, exp, log, sigmoid, sin, sinh, softplus, sqrt, tan, tanh"


def test_public_api_exports_resolve_and_never_shadow_a_submodule():
    import pkgutil

    import derive

    assert not set(derive.__all__) & {m.name for m in pkgutil.iter_modules(derive.__path__)}
    for name in derive.__all__:
        assert getattr(derive, name) is not None
    assert derive.resolve("qhm").name == "qhm"


def test_a_rule_sympy_cannot_solve_through_gets_one_line(tmp_path, capsys):
    """AMSGrad's running max: stability refuses (not differentiable where the arguments tie), derive states
    that no continuous-time limit was found (SymPy cannot solve through max) instead of an internal error."""
    from verify.cli import main

    ams = tmp_path / "ams.rule"
    ams.write_text("hyper: lr=0.01, beta2=0.99, eps=1e-8\nstate: v=0, vmax=0\n"
                   "v = beta2*v + (1-beta2)*g(theta)^2\nvmax = max(vmax, v)\n"
                   "theta = theta - lr*g(theta)/(sqrt(vmax) + eps)\n")
    assert main(["stability", str(ams)]) == 2
    assert "where its arguments are equal" in capsys.readouterr().err
    assert main(["derive", str(ams), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "no continuous-time limit" in out and "cannot solve" in out


def test_a_constant_state_has_no_slow_manifold_and_says_so(tmp_path, capsys):
    """A state entry that never changes (s = s) leaves the manifold equations empty: one line, exit 2."""
    from verify.cli import main

    rule = tmp_path / "frozen.rule"
    rule.write_text("hyper: lr=0.1\nstate: s=sqrt(theta)\ns = s\ntheta = theta - lr*g(theta)*s\n")
    assert main(["modified-equation", "--rule", str(rule), "--loss", "theta**4/4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no unique fixed point of the buffers" in err


def test_an_unexpected_failure_is_one_line_and_exit_1(monkeypatch, capsys):
    from verify import cli

    def boom(args):
        raise TypeError("something\nunexpected")

    monkeypatch.setattr(cli, "cmd_derive", boom)
    assert cli.main(["derive", "gd"]) == 1
    err = capsys.readouterr().err
    assert err == "ldyn: internal error: TypeError: something unexpected (please report it with the command)\n"
