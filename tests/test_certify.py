"""``verify.certify``: rates over S(mu, L) proved exactly (LRP 2016), counterexamples, ``ldyn certify``."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from verify.certify import certify
from verify.cli import main

TM = {"lr": "(1 + (1 - 1/sqrt(kappa)))/L", "beta": "(1 - 1/sqrt(kappa))**2/(2 - (1 - 1/sqrt(kappa)))",
      "gamma": "(1 - 1/sqrt(kappa))**2/((2 - 1/sqrt(kappa))*(1 + 1/sqrt(kappa)))"}
NESTEROV = {"lr": "1/L", "momentum": "(sqrt(kappa)-1)/(sqrt(kappa)+1)"}
_CACHE: dict = {}


def run(spec, mu, L, values, iqc="off-by-one", counterexample=False):
    key = (spec, mu, L, tuple(sorted(values.items())), iqc, counterexample)
    if key not in _CACHE:
        _CACHE[key] = certify(spec, mu, L, values, iqc, counterexample=counterexample)
    return _CACHE[key]


def recheck(rep):
    """The printed certificate, read back from its exact strings and checked again from scratch."""
    from derive.analysis.certificate import check_certificate, lmi
    from derive.analysis.state_space import state_space
    from derive.rules.library import resolve

    vals = {k: sp.Rational(v) for k, v in rep["hyperparameters_exact"].items()}
    ss = state_space(resolve(rep["rule"])).at(vals)
    ex = lmi(ss, sp.Rational(repr(rep["mu"])), sp.Rational(repr(rep["L"])), sp.Rational(rep["rate_exact"]),
             rep["iqc"])
    P = [[sp.Rational(x) for x in row] for row in rep["lyapunov_exact"]]
    lams = [sp.Rational(rep["multipliers_exact"][b.name]) for b in ex.blocks]
    return check_certificate(ex, P, lams)


# -- gradient descent: the exact rate max(|1 - alpha mu|, |1 - alpha L|) ---------------------------------
@pytest.mark.parametrize("iqc", ["sector", "off-by-one"])
@pytest.mark.parametrize("frac", [0.1, 0.5, 2 / 11, 1.0, 1.6, 1.95])
def test_gd_rate_is_exact(iqc, frac):
    mu, L = 1, 10
    alpha = frac / L
    rep = run("gd", mu, L, {"lr": repr(alpha)}, iqc)
    a = float(sp.Rational(rep["hyperparameters_exact"]["lr"]))
    truth = max(abs(1 - a * mu), abs(1 - a * L))
    assert rep["certificate_checked"] is True
    assert truth <= rep["rate"] <= truth + 1e-5
    assert rep["rate"] >= rep["quadratic_rate"] - 1e-9
    assert abs(rep["quadratic_rate"] - truth) < 1e-12


def test_gd_certificate_reads_back_and_checks():
    rep = run("gd", 1, 10, {"lr": "0.15"}, "off-by-one")
    assert rep["rate_exact"] is not None and recheck(rep).ok
    assert float(sp.Rational(rep["rate_exact"])) == rep["rate"]  # the float is the exact rate, rounded


# -- triple momentum: 1 - 1/sqrt(kappa) (Van Scoy, Freeman, Lynch 2018) ------------------------------------
@pytest.mark.parametrize("kappa", [10, 100])
def test_triple_momentum_rate(kappa):
    rep = run("triple-momentum", 1, kappa, TM)
    target = 1 - 1 / math.sqrt(kappa)
    assert rep["certificate_checked"] is True
    assert target - 1e-9 <= rep["rate"] <= target + 1e-4
    assert rep["rate"] >= rep["quadratic_rate"] - 1e-9
    assert recheck(rep).ok
    assert rep["seconds"] < 10


# -- Nesterov: between the quadratic rate and sqrt(1 - 1/sqrt(kappa)) --------------------------------------
@pytest.mark.parametrize("kappa", [10, 100])
def test_nesterov_rate(kappa):
    rep = run("nesterov", 1, kappa, NESTEROV)
    assert rep["certificate_checked"] is True
    assert rep["quadratic_rate"] - 1e-9 <= rep["rate"] <= math.sqrt(1 - 1 / math.sqrt(kappa))
    assert recheck(rep).ok


def test_quadratic_rate_agrees_with_the_linearisation():
    """The state-space quadratic rate against the rule's own linearisation (verify.stability_regimes)."""
    from verify.stability_regimes import load, spectral_radius

    rep = run("nesterov", 1, 10, NESTEROV)
    _, lin = load("nesterov")
    vals = rep["hyperparameters"]
    lams = np.geomspace(1, 10, 4001)
    other = float(np.max(spectral_radius(lin, vals["lr"] * lams, vals)))
    assert abs(other - rep["quadratic_rate"]) < 1e-7  # a double root (critical damping): eigenvalues to ~sqrt(eps)


def test_sector_alone_is_weaker_than_off_by_one():
    a = run("nesterov", 1, 10, NESTEROV, "sector")
    b = run("nesterov", 1, 10, NESTEROV, "off-by-one")
    assert b["rate"] is not None
    assert a["rate"] is None or a["rate"] >= b["rate"] - 1e-6


# -- the float LMI the solver sees is A's exact LMI ---------------------------------------------------------
def test_solver_data_matches_the_exact_lmi():
    from derive.analysis.certificate import lmi
    from derive.analysis.state_space import state_space
    from derive.rules.library import resolve
    from verify.certify.solve import LMIFamily, _basis, lmi_terms

    ss = state_space(resolve("triple-momentum")).at({"lr": sp.Rational(1, 5), "beta": sp.Rational(1, 3),
                                                     "gamma": sp.Rational(1, 7)})
    mu, L, rho = sp.Integer(1), sp.Integer(10), sp.Rational(9, 10)
    fam = LMIFamily(ss, mu, L, "off-by-one")
    A, B, blocks = fam.at(0.9)
    F, G = lmi_terms(A, B, blocks, 0.9)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 3))
    P = X @ X.T
    lams = rng.uniform(size=len(G))
    E = _basis(3)
    coords = [P[i, j] for i in range(3) for j in range(i, 3)]
    ours = sum(c * f for c, f in zip(coords, F)) + sum(lam * g for lam, g in zip(lams, G))
    exact = lmi(ss, mu, L, rho, "off-by-one").matrix(sp.Matrix(P.tolist()).applyfunc(sp.Rational),
                                                     [sp.Rational(v) for v in lams])
    assert np.allclose(ours, np.array(exact.evalf(), dtype=float), atol=1e-12)
    assert np.allclose(sum(c * e for c, e in zip(coords, E)), P)


# -- no certificate: LRP's heavy-ball counterexample ---------------------------------------------------------
def test_heavy_ball_polyak_tuning_cycles():
    rep = run("heavy-ball", 1, 25, {"lr": "1/9", "momentum": "4/9"}, counterexample=True)
    assert rep["rate"] is None and rep["certificate_checked"] is False
    assert rep["quadratic_rate"] < 1  # it converges on every quadratic...
    ce = rep["counterexample"]
    assert ce is not None and ce["kind"] == "cycle" and ce["period"] == 3  # ...but not on this f in S(1, 25)
    assert ce["function"]["breaks"] == ["1", "2"] and ce["function"]["slopes"] == ["25", "1", "25"]
    assert ce["function"]["intercepts"] == ["0", "24", "-24"]
    thetas = sorted(sp.Rational(s[0]) for s in ce["states_exact"])
    assert thetas == [sp.Rational(-2208, 1225), sp.Rational(792, 1225), sp.Rational(2592, 1225)]
    assert "exact" in ce["checked"]
    # run it again here, independently: 30 steps of the update in rationals
    lr, beta = sp.Rational(1, 9), sp.Rational(4, 9)
    grad = lambda y: 25 * y if y < 1 else (y + 24 if y < 2 else 25 * y - 24)  # noqa: E731
    th, v = (sp.Rational(x) for x in ce["states_exact"][0])
    start = (th, v)
    for k in range(30):
        v = beta * v - lr * grad(th)
        th = th + v
        if (k + 1) % 3 == 0:
            assert (th, v) == start
    assert rep["timings"]["search"] < 10


def test_search_on_the_lrp_function_alone():
    from fractions import Fraction as Fr

    from derive.rules.library import resolve
    from verify.certify.search import search

    f = ((Fr(1), Fr(2)), (Fr(25), Fr(1), Fr(25)), (Fr(0), Fr(24), Fr(-24)))
    ce = search(resolve("heavy-ball"), {"lr": sp.Rational(1, 9), "momentum": sp.Rational(4, 9)}, 1, 25, fs=[f])
    assert ce["kind"] == "cycle" and ce["period"] == 3


def test_unstable_gd_has_a_counterexample():
    rep = run("gd", 1, 10, {"lr": "0.3"}, counterexample=True)
    assert rep["rate"] is None and rep["quadratic_rate"] > 1
    ce = rep["counterexample"]
    assert ce is not None and ce["kind"] in ("cycle", "diverges")


def test_search_functions_are_in_the_class():
    from verify.certify.search import _pq, functions

    for f in functions(1, 25):
        ok, why = _pq(f).in_class(1, 25)
        assert ok, why
        grad = _pq(f).gradient(0)
        assert grad == 0


# -- values --------------------------------------------------------------------------------------------------
def test_values_are_exact_and_reported():
    rep = run("nesterov", 1, 100, NESTEROV)
    assert rep["hyperparameters_exact"] == {"lr": "1/100", "momentum": "9/11"}
    assert rep["hyperparameters_source"]["momentum"] == NESTEROV["momentum"]
    rep = run("triple-momentum", 1, 10, TM)
    assert abs(rep["hyperparameters"]["lr"] - (2 - 1 / math.sqrt(10)) / 10) < 1e-15


@pytest.mark.parametrize("kwargs, text", [
    (dict(spec="gd", mu=2, L=1, values={"lr": "0.1"}), "mu < L"),
    (dict(spec="gd", mu=0, L=1, values={"lr": "0.1"}), "mu must be > 0"),
    (dict(spec="gd", mu=1, L=float("inf"), values={"lr": "0.1"}), "finite"),
    (dict(spec="nope", mu=1, L=2, values={}), "unknown rule"),
    (dict(spec="gd", mu=1, L=2, values={"foo": "1"}), "no hyperparameter foo"),
    (dict(spec="gd", mu=1, L=2, values={"lr": "1/x"}), "unknown name"),
    (dict(spec="gd", mu=1, L=2, values={"lr": "sqrt(mu - L)"}), "not a real number"),
    (dict(spec="gd", mu=1, L=2, values={"lr": "__import__('os')"}), "lr="),
    (dict(spec="adam", mu=1, L=2, values={}), "not linear"),
    (dict(spec="gd", mu=1, L=2, values={"lr": "0.1"}, iqc="circle"), "unknown IQC"),
])
def test_bad_input_is_a_one_line_value_error(kwargs, text):
    with pytest.raises(ValueError) as exc:
        certify(**kwargs)
    assert text in str(exc.value) and "\n" not in str(exc.value)


# -- the command line ----------------------------------------------------------------------------------------
def test_cli_json(capsys):
    code = main(["certify", "gd", "--mu", "1", "--L", "10", "--set", "lr=1/L", "--iqc", "sector", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("rule", "title", "mu", "L", "kappa", "hyperparameters", "iqc", "rate", "rate_exact",
                "certificate_checked", "check", "lyapunov", "multipliers", "quadratic_rate",
                "quadratic_rate_method", "state_space", "counterexample", "seconds"):
        assert key in out, key
    assert out["certificate_checked"] is True and abs(out["rate"] - 0.9) < 1e-5
    assert out["state_space"] == {"A": "[[1]]", "B": "[[-1/10]]", "C": "[[1]]", "D": "[[0]]"}


def test_cli_text(capsys):
    assert main(["certify", "heavy-ball", "--mu", "1", "--L", "25", "--set", "lr=1/9", "--set", "momentum=4/9"]) == 0
    out = capsys.readouterr().out
    assert "no certificate" in out and "period-3 cycle" in out


@pytest.mark.parametrize("argv", [
    ["gd", "--mu", "2", "--L", "1", "--set", "lr=0.1"],
    ["gd", "--mu", "0", "--L", "1", "--set", "lr=0.1"],
    ["gd", "--mu", "-1", "--L", "1", "--set", "lr=0.1"],
    ["gd", "--mu", "nan", "--L", "1", "--set", "lr=0.1"],
    ["gd", "--mu", "1", "--L", "inf", "--set", "lr=0.1"],
    ["gd", "--L", "1", "--set", "lr=0.1"],
    ["nope", "--mu", "1", "--L", "2"],
    ["gd", "--mu", "1", "--L", "2", "--set", "foo=1"],
    ["gd", "--mu", "1", "--L", "2", "--set", "lr=1/("],
    ["gd", "--mu", "1", "--L", "2", "--set", "lr"],
    ["adam", "--mu", "1", "--L", "2"],
    ["lion", "--mu", "1", "--L", "2"],
    ["gd", "--mu", "1", "--L", "2", "--set", "lr=0.1", "--iqc", "circle"],
    ["gd", "--mu", "1", "--L", "2", "--set", "lr=0.1", "--time-limit", "0"],
])
def test_cli_bad_input_exits_2(argv, capsys):
    assert main(["certify", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ldyn: error: ") and err.count("\n") == 1


def test_help_imports_neither_sympy_nor_cvxpy():
    code = ("import sys\nfrom verify.cli import main\ntry:\n    main(['certify', '--help'])\nexcept SystemExit:\n"
            "    pass\nprint([m for m in ('sympy', 'cvxpy', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_divergence_is_reported_by_running():
    from fractions import Fraction as Fr

    from derive.rules.library import resolve
    from verify.certify.search import search

    quadratic = ((), (Fr(10),), (Fr(0),))  # f = 5 y^2: gd with lr = 1/2 multiplies theta by -4
    ce = search(resolve("gd"), {"lr": sp.Rational(1, 2), "weight_decay": 0}, 1, 10, fs=[quadratic])
    assert ce["kind"] == "diverges" and "not proved" in ce["checked"]
