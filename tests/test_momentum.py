"""Momentum derivations and CLI against values from outside the code (published results,
numpy.roots, brute force)."""
import json

import numpy as np
import pytest
import sympy as sp

from derive.rules import momentum as dm
from derive.analysis import momentum_limits as dl
from derive.analysis import momentum_tuning as dt
from verify import momentum_maps as mm
from verify.cli import main


def test_heavy_ball_stability_region_is_polyaks():
    r = dm.heavy_ball_analysis().results
    assert sp.simplify(r["x_max"] - (2 + 2 * dm.beta)) == 0


def test_nesterov_region_and_critical_sharpness():
    r = dm.nesterov_analysis().results
    assert sp.simplify(r["x_max"].subs(dm.beta, sp.Rational(1, 2)) - sp.Rational(3, 2)) == 0
    cs = dl.critical_sharpness().results
    assert sp.simplify(cs["heavy_ball"].subs({dl.beta: sp.Rational(9, 10), dl.eta: 1}) - sp.Rational(38, 10)) == 0


@pytest.mark.parametrize("method", mm.METHODS)
def test_vectorized_roots_match_numpy_roots(method):
    rng = np.random.default_rng(0)
    x, b = rng.uniform(0, 4, 200), rng.uniform(0, 0.99, 200)
    r1, r2 = mm.roots(method, x, b)
    for xi, bi, z1, z2 in zip(x, b, r1, r2):
        if method == "heavy-ball":  # z^2 - (1 + b - x) z + b
            ref = np.roots([1, -(1 + bi - xi), bi])
        else:  # z^2 - (1 + b)(1 - x) z + b (1 - x)
            ref = np.roots([1, -(1 + bi) * (1 - xi), bi * (1 - xi)])
        assert np.allclose(sorted(np.abs([z1, z2])), sorted(np.abs(ref)), rtol=1e-9, atol=1e-12)


def test_tunings_match_the_literature():
    r = dt.momentum_tuning().results
    subs = {dt.mu: 1, dt.Lmax: 100}
    # Polyak (1964): eta = 4/(sqrt L + sqrt mu)^2, beta = ((sqrt k - 1)/(sqrt k + 1))^2
    assert float(r["hb_eta"].subs(subs)) == pytest.approx(4 / 121)
    assert float(r["hb_beta"].subs(subs)) == pytest.approx((9 / 11) ** 2)
    # Lessard, Recht, Packard (2016): rate 1 - 2/sqrt(3k + 1); Nesterov standard 1 - 1/sqrt(k)
    assert float(r["nesterov_rate"].subs(subs)) == pytest.approx(1 - 2 / np.sqrt(301))
    assert float(r["nesterov_standard_rate"].subs(subs)) == pytest.approx(0.9)


def test_tuned_rate_beats_a_brute_force_search_nowhere():
    lam = np.linspace(1, 100, 300)
    r = dt.momentum_tuning().results
    eta, beta = float(r["hb_eta"].subs({dt.mu: 1, dt.Lmax: 100})), float(r["hb_beta"].subs({dt.mu: 1, dt.Lmax: 100}))
    worst = max(np.max(np.abs(np.roots([1, -(1 + beta - eta * lv), beta]))) for lv in lam)
    assert worst == pytest.approx(9 / 11, rel=1e-6)
    rng = np.random.default_rng(1)
    for e, b in zip(rng.uniform(0.005, 0.06, 300), rng.uniform(0, 0.95, 300)):
        assert max(np.max(np.abs(np.roots([1, -(1 + b - e * lv), b]))) for lv in lam[::10]) >= worst - 1e-9


def test_momentum_regularizer_reduces_to_igr_and_matches_ghosh():
    r = dl.heavy_ball_modified_equation().results
    th = sp.Symbol("theta", real=True)
    g0sq = sp.diff(sp.Function("L")(th), th) ** 2
    coef = sp.simplify(r["regularizer"] / g0sq)
    assert sp.simplify(coef - dl.eta * (1 + dl.beta) / (4 * (1 - dl.beta) ** 2)) == 0


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_momentum_json(capsys):
    code, out, _ = run(capsys, "stability", "heavy-ball", "--eta", "0.1", "--beta", "0.5", "--eigenvalues",
                       "1,10,40", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["converges"] is False
    assert [e["regime"] for e in rep["eigenvalues"]] == ["underdamped", "underdamped", "unstable"]
    assert rep["eigenvalues"][0]["spectral_radius"] == pytest.approx(np.sqrt(0.5))
    assert {"re", "im"} <= set(rep["eigenvalues"][0]["roots"][0])
    code, out, _ = run(capsys, "stability", "nesterov", "--mu", "1", "--L", "100", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["rate"] == pytest.approx(1 - 2 / np.sqrt(301))
    assert rep["standard"] == pytest.approx({"eta": 0.01, "beta": 9 / 11, "rate": 0.9})


@pytest.mark.parametrize("argv", [
    ["stability", "heavy-ball", "--eta", "0.1", "--beta", "1.5", "--eigenvalues", "1"],
    ["stability", "nesterov", "--eta", "0.1", "--eigenvalues", "1"],
    ["stability", "nesterov", "--mu", "2", "--L", "1"],
    ["stability", "nesterov", "--mu", "-1", "--L", "1"],
    ["stability", "heavy-ball", "--mu", "1", "--L", "10", "--eta", "0.1"],
    ["stability", "heavy-ball", "--eta", "0.1", "--beta", "0.5", "--eigenvalues", "-1"],
])
def test_cli_momentum_bad_input(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.startswith("ldyn: error:") and err.count("\n") == 1
