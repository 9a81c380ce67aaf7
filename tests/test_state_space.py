"""derive.analysis.state_space: A, B, C, D of linear rules, refusals of the others (one line each)."""
import sympy as sp
import pytest

from derive.analysis.state_space import NotLinear, state_space, state_space_derivation
from derive.rules.library import names, resolve
from derive.update_rule import UpdateRule


def test_gd_heavy_ball_nesterov_triple_momentum():
    gd = state_space(resolve("gd")).at({"weight_decay": 0}, partial=True)
    eta = resolve("gd").hyper["lr"]
    assert (gd.A, gd.B, gd.C, gd.D) == (sp.Matrix([[1]]), sp.Matrix([[-eta]]), sp.Matrix([[1]]), sp.Matrix([[0]]))
    hb = resolve("heavy-ball")
    e, b = hb.hyper["lr"], hb.hyper["momentum"]
    ss = state_space(hb)
    assert ss.A == sp.Matrix([[1, b], [0, b]]) and ss.B == sp.Matrix([[-e], [-e]]) and ss.C == sp.Matrix([[1, 0]])
    assert state_space(resolve("nesterov")).C == sp.Matrix([[1, b]])
    tm = resolve("triple-momentum")
    gam = tm.hyper["gamma"]
    assert state_space(tm).C == sp.Matrix([[1 + gam, -gam]])


def test_extragradient_two_inputs_and_identical_calls():
    eg = UpdateRule.from_text("name: eg\ntitle: EG\nhyper: lr=0.1\nmid = theta - lr*g(theta)\n"
                              "theta = theta - lr*g(mid)\n")
    ss = state_space(eg)
    lr = eg.hyper["lr"]
    assert ss.D == sp.Matrix([[0, 0], [-lr, 0]]) and ss.C == sp.Matrix([[1], [1]]) and ss.B == sp.Matrix([[0, -lr]])
    assert state_space_derivation(eg).check().ok
    assert state_space(resolve("heavy-ball")).p == 1  # g(theta) in both entries is one input


def test_at_exact_and_errors():
    ss = state_space(resolve("heavy-ball"))
    at = ss.at({"lr": 0.1, "momentum": "4/9"})
    assert at.B[0, 0] == -sp.Rational(0.1) and at.A[0, 1] == sp.Rational(4, 9)  # exact binary fraction
    with pytest.raises(ValueError, match="momentum") as e:
        ss.at({"lr": 0.1})
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="unknown"):
        ss.at({"lr": 0.1, "momentum": 0.5, "nope": 1})
    with pytest.raises(ValueError):
        ss.numeric()
    A, B, C, D = at.numeric()
    assert A.shape == (2, 2) and abs(B[0, 0] + 0.1) < 1e-15
    assert "\\begin{align*}" in ss.latex() and "A &=" in ss.latex()


def test_refusals_are_one_line():
    with pytest.raises(NotLinear, match="exp_avg_sq|sum|not linear"):
        state_space(resolve("adagrad"))
    off = UpdateRule.from_text("name: off\ntitle: off\nhyper: lr=0.1, c=1\ntheta = theta - lr*g(theta) + c\n")
    with pytest.raises(NotLinear, match="constant offset"):
        state_space(off)
    sq = UpdateRule.from_text("name: sq\ntitle: sq\nhyper: lr=0.1\ntheta = theta - lr*theta*g(theta)\n")
    with pytest.raises(NotLinear, match="theta"):
        state_space(sq)


def test_every_catalogue_rule():
    linear = []
    for name in names():
        try:
            ss = state_space(resolve(name))
        except ValueError as exc:
            assert "\n" not in str(exc) and str(exc), name
            continue
        assert ss.D.is_lower and all(ss.D[i, i] == 0 for i in range(ss.p)), name
        assert state_space_derivation(resolve(name)).check().ok, name
        linear.append(name)
    for must in ("gd", "heavy-ball", "nesterov", "triple-momentum"):
        assert must in linear
    for refused in ("adam", "rmsprop", "lion", "adagrad"):
        assert refused not in linear


def test_derivation_with_values_and_a_wrong_matrix_fails():
    d = state_space_derivation(resolve("heavy-ball"), {"lr": "1/9", "momentum": "4/9"})
    assert d.check().ok
    bad = state_space_derivation(resolve("heavy-ball"))
    from derive.derivation import Step
    i = next(k for k, s in enumerate(bad.steps) if s.display == "A")
    s = bad.steps[i]
    bad.steps[i] = Step(s.kind, s.lhs, s.rhs + sp.Matrix([[0, 1], [0, 0]]), s.reason, display="A")
    assert not bad.check().ok
