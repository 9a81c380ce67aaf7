"""The modified equation of any rule: one-step maps by backward error analysis, rules with buffers
through their slow manifold.  Expected values come from outside the code under test: the hand-built
heavy-ball derivation, GD's own modified_fields, the order of Heun's method, and real runs of the
lambdified rules against solve_ivp of the derived flows."""
import json

import pytest
import sympy as sp

from derive.analysis.modified_equation import eta, modified_fields, rule_modified_equation
from derive.analysis.momentum_limits import heavy_ball_modified_equation
from derive.rules.library import resolve
from derive.update_rule import NotDifferentiable
from verify.cli import main
from verify.modified_equation import flow_gap

x, y = sp.symbols("x y", real=True)
R = sp.Rational


def test_heavy_ball_is_the_hand_built_result_symbolically():
    th = sp.Symbol("theta", real=True)
    L = sp.Function("L")(th)
    d = rule_modified_equation(resolve("heavy-ball"), L, [th], 1)
    assert d.check().ok
    hand = heavy_ball_modified_equation().results
    assert sp.simplify(d.results["vector_field"][0] - hand["vector_field"]) == 0
    assert sp.simplify(d.results["regularizer"] - hand["regularizer"]) == 0
    beta = resolve("heavy-ball").hyper["momentum"]
    assert sp.simplify(d.results["time_scale"] - 1 / (1 - beta)) == 0


def test_gd_through_the_generic_path_is_gds_modified_equation():
    loss = (x * y - 1) ** 2 / 2
    d = rule_modified_equation(resolve("gd"), loss, [x, y], 3, values={"weight_decay": 0})
    assert d.check().ok
    ref = modified_fields(loss, [x, y], 3)
    assert all(sp.expand(a - b) == 0 for fa, fb in zip(d.results["fields"], ref) for a, b in zip(fa, fb))
    assert sp.expand(d.results["regularizer"] - eta / 4 * (sp.diff(loss, x) ** 2 + sp.diff(loss, y) ** 2)) == 0


def test_heun_a_second_order_method_has_no_eta_correction(tmp_path):
    # Heun's method is consistent of order 2: its modified field is f0 + O(eta^2) (Hairer-Lubich-Wanner IX.1)
    path = tmp_path / "heun.rule"
    path.write_text("name: heun\nhyper: lr=0.1\ntheta = theta - lr/2*(g(theta) + g(theta - lr*g(theta)))\n")
    loss = x**4 / 4 + x**2 * y**2 / 2 + y**2
    d = rule_modified_equation(resolve(str(path)), loss, [x, y], 2)
    assert d.check().ok
    f = d.results["fields"]
    assert [sp.expand(e + sp.diff(loss, p)) for e, p in zip(f[0], (x, y))] == [0, 0]
    assert [sp.expand(e) for e in f[1]] == [0, 0]
    assert any(sp.expand(e) != 0 for e in f[2])


@pytest.mark.parametrize("name, values", [
    ("nesterov", {"momentum": R(1, 2)}),
    ("qhm", {"momentum": R(1, 2), "nu": R(7, 10)}),
    ("aggmo", {"beta1": R(0), "beta2": R(1, 2)}),
])
def test_first_order_field_matches_real_runs(name, values):
    # buffers start ON the derived slow manifold; gap at t = 1 after 1/lr steps of the lambdified rule
    loss = x**4 / 4 + x**2 * y**2 / 2 + y**2 - x * y / 2
    out = flow_gap(resolve(name), loss, [x, y], values, [0.02, 0.01, 0.005], 1.0, [0.8, -0.6])
    plain, first = out["ratios"][0][-1], out["ratios"][1][-1]
    assert 1.8 < plain < 2.3, out  # the plain flow f0: gap O(lr)
    assert 3.6 < first < 4.5, out  # f0 + lr f1: gap O(lr^2)


def test_qhm_regularizer_reduces_to_heavy_balls_at_nu_one():
    # QHM with nu = 1 is EMA-form momentum: heavy ball with lr' = lr (1 - beta), time scaled back
    loss = x**4 / 4 + y**2
    d = rule_modified_equation(resolve("qhm"), loss, [x, y], 1)
    rule = resolve("qhm")
    beta, nu = rule.hyper["momentum"], rule.hyper["nu"]
    sq = sp.diff(loss, x) ** 2 + sp.diff(loss, y) ** 2
    assert d.results["time_scale"] == 1
    assert sp.simplify(d.results["regularizer"].subs(nu, 1) - eta * (1 + beta) / (4 * (1 - beta)) * sq) == 0


def test_lion_is_refused_and_adam_is_its_late_time_limit():
    with pytest.raises(NotDifferentiable, match="sign"):
        rule_modified_equation(resolve("lion"), x**2, [x], 1)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_rule_json(capsys):
    code, out, _ = run(capsys, "modified-equation", "--rule", "heavy-ball", "--loss", "x**2/2 + y**4/4", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["order"] == 1 and len(rep["vector_field"]) == 2
    assert set(rep["slow_manifold"]) == {"v_x", "v_y"}
    beta = sp.Symbol("beta")
    assert sp.simplify(sp.sympify(rep["time_scale"], locals={"beta": beta}) - 1 / (1 - beta)) == 0
    code, out, _ = run(capsys, "modified-equation", "--rule", "adam", "--loss", "x**2", "--set", "beta1=0.9",
                       "--set", "beta2=0.999", "--set", "eps=1e-8", "--set", "weight_decay=0", "--json")
    rep = json.loads(out)
    assert code == 0 and any("t -> oo" in n for n in rep["notes"])


@pytest.mark.parametrize("argv, needle", [
    (["--rule", "lion", "--loss", "x**2"], "sign"),
    (["--rule", "nope", "--loss", "x**2"], "unknown rule"),
    (["--rule", "qhm", "--loss", "x**2", "--set", "lr=0.1"], "lr stays symbolic"),
    (["--rule", "qhm", "--loss", "x**2", "--set", "nu=abc"], "not a finite number"),
    (["--rule", "qhm", "--loss", "x**2", "--set", "foo=1"], "unknown hyperparameter"),
    (["--rule", "qhm", "--loss", "x**2", "--order", "3"], "at most 2"),
    (["--rule", "heavy-ball", "--loss", "v**2"], "clash"),
    (["--loss", "x**2", "--set", "nu=1"], "give --rule"),
])
def test_cli_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, "modified-equation", *argv)
    assert code == 2 and needle in err and err.count("\n") == 1 and out == ""
