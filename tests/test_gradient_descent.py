"""GD derivations and the update rule, against closed forms from outside the code."""
import numpy as np
import pytest
import sympy as sp

from derive import catalogue
from derive.rules.gradient_descent import eta, gd_rule, lam, quadratic_stability, theta
from derive.analysis.modified_equation import generic_modified_equation, modified_equation, modified_fields


@pytest.mark.parametrize("name", catalogue.names())
def test_every_catalogued_derivation_checks(name):
    d = catalogue.build(name)
    check = d.check()
    assert check.ok, [(s.step.reason, s.status, s.detail) for s in check.steps if not s.ok]
    assert check.count("proved") >= 3


def test_stability_results_match_the_textbook():
    # Polyak (1987) / Nesterov (2004): eta* = 2/(mu+L), rate (kappa-1)/(kappa+1), eta_c = 2/L
    r = quadratic_stability().results
    mu, L = sp.Rational(1), sp.Rational(10)
    assert r["eta_optimal"].subs({sp.Symbol("mu", positive=True): mu, sp.Symbol("L", positive=True): L}) == sp.Rational(2, 11)
    assert r["rate_optimal"].subs({sp.Symbol("mu", positive=True): mu, sp.Symbol("L", positive=True): L}) == sp.Rational(9, 11)
    assert r["eta_critical"].subs(sp.Symbol("lambda_max", positive=True), 10) == sp.Rational(1, 5)


def test_gd_rule_linearization_and_limit():
    rule = gd_rule()
    wd = rule.hyper["weight_decay"]
    z = sp.Symbol("z")
    assert sp.simplify(rule.iteration_matrix(lam)[0, 0] - (1 - eta * (lam + wd))) == 0
    assert sp.expand(rule.characteristic_polynomial(lam, z) - (z - 1 + eta * (lam + wd))) == 0
    g = rule.oracle
    assert sp.simplify(rule.continuous_limit()[0] + g(theta) + wd * theta) == 0
    (fp,) = rule.fixed_points()
    assert sp.simplify(list(fp.values())[0] + wd * theta) == 0


def test_lambdified_rule_matches_the_formula():
    opt = gd_rule().lambdify(lr=0.1, weight_decay=0.5)
    p, gr = np.array([1.0, -2.0]), np.array([0.3, 0.4])
    new, state = opt.step(p, gr, opt.init(p))
    np.testing.assert_allclose(new, p - 0.1 * (gr + 0.5 * p), rtol=0, atol=1e-15)
    assert state == {} and p.tolist() == [1.0, -2.0]  # pure
    with pytest.raises(ValueError, match="unknown hyperparameter"):
        gd_rule().lambdify(lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="finite"):
        gd_rule().lambdify(lr=float("nan"))


def test_modified_field_on_a_quadratic_is_the_log_series():
    # GD on L = lambda theta^2/2 is exactly the flow of theta' = log(1 - eta lambda)/eta * theta
    x = sp.Symbol("x", real=True)
    fields = modified_fields(lam * x**2 / 2, [x], 5)
    got = sum(f[0] * eta**n for n, f in enumerate(fields))
    exact = sp.series(sp.log(1 - eta * lam) / eta * x, eta, 0, 6).removeO()
    assert sp.expand(got - exact) == 0


def test_first_correction_is_implicit_gradient_regularization():
    # Barrett & Dherin (2021): f_1 = -grad(|grad L|^2 / 4)
    a, b = sp.symbols("a b", real=True)
    L = sp.sin(a) * b**2 + sp.exp(a * b) / 3
    f1 = modified_fields(L, [a, b], 1)[1]
    sq = (sp.diff(L, a) ** 2 + sp.diff(L, b) ** 2) / 4
    assert all(sp.simplify(f1[i] + sp.diff(sq, p)) == 0 for i, p in enumerate((a, b)))


def test_generic_second_order_matches_hairer_lubich_wanner():
    d = generic_modified_equation(2)
    assert d.check().ok
    assert any("published series" in s.reason for s in d.steps)


def test_modified_equation_order_three_checks_for_a_two_parameter_loss():
    x, y = sp.symbols("x y", real=True)
    d = modified_equation((x * y - 1) ** 2 / 2, [x, y], order=3)
    c = d.check()
    assert c.ok and c.count("failed") == 0
    assert len(d.results["vector_field"]) == 2
    with pytest.raises(ValueError):
        modified_fields(x**2, [x], -1)


def test_rule_derivation_fails_on_a_wrong_hand_written_form():
    from derive.analysis.rule_analysis import rule_derivation

    rule = gd_rule()
    wd, z = rule.hyper["weight_decay"], sp.Symbol("z")
    wrong = {"jacobian": sp.Matrix([[1 - eta * sp.Derivative(rule.oracle(theta), theta)]]),  # forgot wd
             "iteration_matrix": sp.Matrix([[1 - eta * (lam + wd)]]),
             "characteristic_polynomial": z - 1 + eta * (lam + wd),
             "continuous_limit": sp.Matrix([-rule.oracle(theta) - wd * theta])}
    c = rule_derivation(rule, wrong).check()
    assert [s.status for s in c.steps].count("failed") == 1


def test_independent_flow_expansion_catches_a_wrong_modified_field(monkeypatch):
    import derive.analysis.modified_equation as me

    real = me.modified_fields

    def corrupted(loss, params, order):
        fields = real(loss, params, order)
        fields[-1] = [f + params[0] ** 3 for f in fields[-1]]
        return fields

    monkeypatch.setattr(me, "modified_fields", corrupted)
    x = sp.Symbol("x", real=True)
    c = me.modified_equation(x**4 / 4, [x], order=3).check()
    final = c.steps[-1]
    assert "independent expansion" in final.step.reason and final.status == "failed"
