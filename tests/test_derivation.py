"""The Derivation engine: what it proves, refutes, spot-checks and refuses to pass."""
import sympy as sp

import derive.derivation as dv
from derive.derivation import Derivation

x = sp.Symbol("x", real=True)
a = sp.Symbol("a", positive=True)


def statuses(d):
    return [s.status for s in d.check().steps]


def test_true_equalities_are_proved_and_false_ones_fail():
    d = Derivation("t", "t")
    d.equal(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1, "Pythagoras")
    d.then(sp.exp(0), "exp(0) = 1")
    d.equal((x + 1) ** 2, x**2 + 1, "a classic mistake")
    assert statuses(d) == ["proved", "proved", "failed"]
    assert not d.check().ok


def test_solution_and_equivalence_steps():
    d = Derivation("t", "t")
    d.solution(sp.Eq(x**2 - 4 * x + 3, 0), x, 3, "root")
    d.solution(sp.Eq(x**2 - 4 * x + 3, 0), x, 2, "not a root")
    d.equivalent(sp.Abs(1 - x) < 1, x, sp.Interval.open(0, 2), "right region")
    d.equivalent(sp.Abs(1 - x) < 1, x, sp.Interval.open(0, 3), "wrong region")
    d.equivalent(sp.And(x > 0, x < 1), x, sp.Interval.open(0, 1), "conjunction")
    assert statuses(d) == ["proved", "failed", "proved", "failed", "proved"]


def test_given_steps_are_reported_as_given_not_proved():
    d = Derivation("t", "t").given("L", x**2, "definition")
    c = d.check()
    assert c.steps[0].status == "given" and c.ok and c.summary() == "1 given"


def test_undecidable_equality_falls_back_to_labelled_spot_check(monkeypatch):
    monkeypatch.setattr(dv, "_zero", lambda expr: None)  # pretend SymPy cannot decide
    d = Derivation("t", "t").equal(sp.log(a**2), 2 * sp.log(a), "log rule").equal(sp.log(a), a, "wrong")
    c = d.check()
    assert [s.status for s in c.steps] == ["spot-checked", "failed"]
    assert "random points" in c.steps[0].detail


def test_undefined_functions_cannot_be_spot_checked(monkeypatch):
    monkeypatch.setattr(dv, "_zero", lambda expr: None)
    f = sp.Function("f")
    d = Derivation("t", "t").equal(f(x) * (sp.sin(x) ** 2 + sp.cos(x) ** 2), f(x), "needs a proof")
    assert statuses(d) == ["undecided"]
    assert not d.check().ok


def test_spot_check_respects_assumptions():
    # sqrt(a^2) = a only for a >= 0: positive samples make it pass
    status, _ = dv.spot_check(sp.sqrt(a**2) - a)
    assert status == "spot-checked"
    status, _ = dv.spot_check(sp.sqrt(x**2) - x, points=20)
    assert status == "failed"


def test_matrix_steps():
    m = sp.Matrix([[x, 1], [0, x]])
    d = Derivation("t", "t").equal(m * m, sp.Matrix([[x**2, 2 * x], [0, x**2]]), "square")
    d.equal(m * m, sp.Matrix([[x**2, x], [0, x**2]]), "wrong square")
    assert statuses(d) == ["proved", "failed"]


def test_renderings_mark_unproved_steps():
    d = Derivation("t", "A title", summary="Text with $x$.")
    d.given("L", x**2, "definition").equal((x + 1) ** 2, x**2 + 2 * x + 1, "expand")
    d.equal(x, x + 1, "oops")
    c = d.check()
    tex = d.to_latex(c, standalone=True)
    assert "\\begin{equation*}" in tex and "\\documentclass" in tex and "FAILED" in tex and "[given]" in tex
    assert "Text with $x$." in tex  # the summary's math is math, not escaped text
    md = d.to_markdown(c)
    assert "```math" not in md and md.count("\n$$\n") == 2 * 3 and "\\begin{aligned}" in md and "FAILED" in md
    js = d.to_json(c)
    assert [s["status"] for s in js["steps"]] == ["given", "proved", "failed"] and js["ok"] is False
    assert d._repr_latex_().startswith("$$")


def test_wrong_claim_on_symbolic_size_matrices_does_not_pass_or_hang():
    n = sp.Symbol("n", integer=True, positive=True)
    g, delta = sp.MatrixSymbol("g", n, 1), sp.MatrixSymbol("delta", n, 1)
    eta = sp.Symbol("eta", positive=True)
    d = Derivation("t", "t").equal(g + delta / eta, g, "wrong").equal(g + delta, delta + g, "right")
    assert statuses(d) == ["undecided", "proved"]
