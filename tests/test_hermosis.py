"""The Hermosis theory of learning (derive/theories/hermosis.py, derive/theories/hermosis_audit.py, verify/audit.py)."""
import json

import pytest
import sympy as sp

from derive.theories import hermosis as hm
from derive.theories.hamiltonian import bracket
from derive.theories.hermosis_audit import DISPLAYED, STATUSES, audit, decide
from verify.audit import format_table, main_audit


@pytest.fixture(scope="module")
def records():
    return audit()


def _by(records, number, fragment):
    found = [r for r in records if r["number"] == number and fragment in r["claim"]]
    assert len(found) == 1, (number, fragment, found)
    return found[0]


@pytest.mark.parametrize("factory", [hm.hermosis_brackets, hm.hermosis_equations, hm.hermosis_optimizers])
def test_derivations_check(factory):
    check = factory().check()
    assert check.ok and check.count("undecided") == 0 and check.count("failed") == 0, check.summary()
    assert check.count("spot-checked") == 0


def test_audit_covers_every_displayed_equation(records):
    assert DISPLAYED == 44
    assert sorted({r["number"] for r in records}) == list(range(1, DISPLAYED + 1))
    for r in records:
        assert set(r) == {"number", "claim", "status", "derived", "reason"}
        assert r["status"] in STATUSES and r["claim"] and r["reason"]
    assert all(r["status"] != "undecided" for r in records)


def test_relativistic_expansion_recomputed(records):
    X = sp.Symbol("X", real=True)
    b, k = sp.symbols("beta k", positive=True)
    root = sp.sqrt(X**2 + k**2 / b**2)
    series = sp.series(root, X, 0, 6).removeO()
    assert sp.simplify(series - (k / b + b * X**2 / (2 * k) - b**3 * X**4 / (8 * k**3))) == 0
    assert sp.simplify(root - k / b * sp.sqrt(b**2 * X**2 / k**2 + 1)) == 0
    assert sp.simplify(root - k**2 / b**2 * sp.sqrt(b**2 * X**2 / k**2 + 1)).subs({X: 1, b: 1, k: 2}) != 0
    assert _by(records, 42, r"\frac{k^2}{\beta^2} \sqrt")["status"] == "differs"
    assert _by(records, 42, r"\approx")["status"] == "holds"


def test_brackets_recomputed(records):
    cf = hm.coupled_form(1)
    P, x = cf.poisson_tensor(), cf.coords
    U, w, b, X = x
    assert sp.simplify(bracket(P, x, w, X) - 1 / b) == 0
    assert sp.simplify(bracket(P, x, U, X) + X / b) == 0
    assert _by(records, 15, r"\{w^{i}, X_{j}\}")["status"] == "differs"
    assert _by(records, 15, r"\{U, X_{i}\}")["status"] == "holds"


def test_other_differs(records):
    differs = [(r["number"], r["claim"]) for r in records if r["status"] == "differs"]
    assert [n for n, _ in differs] == [10, 11, 15, 36, 38, 42]
    assert "-\\frac{k\\lambda}{h}" in _by(records, 36, "F_{i}'")["derived"]
    assert r"\nabla L" in _by(records, 38, r"\frac{1-e^{-\gamma \tau}}{\gamma} \beta")["derived"]
    for n in (16, 17, 18, 39):
        assert all(r["status"] == "holds" for r in records if r["number"] == n)


def test_cooling_energy_gives_exponential_cooling():
    t, b0, gam, h, k = sp.symbols("t beta gamma h k", positive=True)
    coords, _ = hm.generic_hamiltonian(1)
    H = hm.quadratic_hamiltonian(hm.cooling_energy())
    flow = hm.seed_flow(hm.coupled_form(1).poisson_tensor(), coords, H)
    bt = sp.Function("b")(t)
    sol = sp.dsolve(sp.Eq(bt.diff(t), flow[2].subs(hm.beta, bt)), bt, ics={bt.subs(t, 0): hm.beta})
    assert sp.simplify(sol.rhs - hm.beta * sp.exp(hm.gamma * t)) == 0


def test_decide():
    a = sp.Symbol("a", positive=True)
    assert decide(a + a, 2 * a) == "holds"
    assert decide(a**2, a) == "differs"


def test_verify_table_and_json(records, capsys):
    table = format_table(records)
    assert "6 differs" in table and "0 undecided" in table
    assert main_audit("hermosis") == 0
    assert "differs" in capsys.readouterr().out
    assert main_audit("hermosis", as_json=True) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(records)
    assert main_audit("nope") == 2
