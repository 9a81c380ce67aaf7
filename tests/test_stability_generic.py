"""verify.stability_generic and ``ldyn stability SPEC``: vectorised roots and regimes, the minimax
tuning against the closed forms (Polyak; Lessard–Recht–Packard; GD), the CLI contract."""
import json
import math

import numpy as np
import pytest
import sympy as sp

from derive.analysis import linear
from derive.rules.library import resolve
from verify import momentum_maps, stability_generic as sg
from verify.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_vectorised_roots_and_regimes_match_the_2x2_closed_forms():
    lin = sg.load("heavy-ball")[1]
    x, b = np.meshgrid(np.linspace(0.05, 4.1, 57), np.linspace(0.03, 0.97, 31))
    rs = sg.roots(lin, x, {}, momentum=b)
    top, _ = momentum_maps.roots("heavy-ball", x, b)
    assert np.allclose(np.abs(rs[..., 0]), np.abs(top), atol=1e-9)
    disc = (1 + b - x) ** 2 - 4 * b
    away = np.abs(disc) > 1e-3  # leave out the critical-damping curves, where rounding decides
    assert (sg.regime(rs)[away] == momentum_maps.regime("heavy-ball", x, b)[away]).all()
    # exactly on a critical-damping curve the double root is recognised
    xc = (1 - math.sqrt(0.49)) ** 2
    assert sg.regime(sg.roots(lin, np.array([xc]), {"momentum": 0.49}))[0] == "critically damped"


def test_degree_three_roots_are_numpy_roots():
    lin = sg.load("aggmo")[1]
    vals = {"lr": 0.1, "beta1": 0.3, "beta2": 0.8}
    for xv in (0.2, 1.1, 2.5):
        poly = sp.Poly(lin.polynomial.subs({lin.rule.hyper[k]: v for k, v in vals.items()}).subs(linear.x, xv), linear.z)
        ref = sorted(np.roots([float(c) for c in poly.all_coeffs()]), key=abs)
        got = sorted(sg.roots(lin, np.array([xv]), vals)[0], key=abs)
        assert np.allclose(got, ref, atol=1e-10)
    assert sg.regime(np.array([[0.5]]))[0] == "monotone" and sg.regime(np.array([[-0.5]]))[0] == "oscillating"


def test_tuning_reproduces_the_closed_forms():
    from derive.analysis import momentum_tuning as dt

    mu, L = 1.0, 30.0
    k = L / mu
    gd = sg.tuning(sg.load("gd")[1], {"weight_decay": 0.0}, mu, L)
    assert gd["free"] == ["lr"]
    assert gd["lr"] == pytest.approx(2 / (mu + L), rel=1e-6) and gd["rate"] == pytest.approx((k - 1) / (k + 1), rel=1e-6)
    hb = sg.tuning(sg.load("heavy-ball")[1], {}, mu, L)
    sk = math.sqrt(k)
    assert hb["lr"] == pytest.approx(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, rel=1e-6)
    assert hb["momentum"] == pytest.approx(((sk - 1) / (sk + 1)) ** 2, rel=1e-6)
    assert hb["rate"] == pytest.approx((sk - 1) / (sk + 1), rel=1e-6)
    r = dt.momentum_tuning().results
    ev = lambda key: float(r[key].subs({dt.mu: mu, dt.Lmax: L}))  # noqa: E731
    ne = sg.tuning(sg.load("nesterov")[1], {}, mu, L)
    assert ne["lr"] == pytest.approx(ev("nesterov_eta"), rel=1e-6)
    assert ne["momentum"] == pytest.approx(ev("nesterov_beta"), rel=1e-6)
    assert ne["rate"] == pytest.approx(ev("nesterov_rate"), rel=1e-6)


def test_cli_qhm_report(capsys):
    code, out, _ = run(capsys, "stability", "qhm", "--set", "lr=0.1", "--eigenvalues", "1,10", "--json")
    rep = json.loads(out)
    assert code == 0
    b, nu = 0.9, 0.7
    assert rep["x_critical"] == pytest.approx(2 * (1 + b) / (1 + b - 2 * nu * b), rel=1e-12)
    assert rep["x_critical_method"] == "exact" and "beta" in rep["x_critical_expr"] and "nu" in rep["x_critical_expr"]
    assert rep["eta_critical"] == pytest.approx(rep["x_critical"] / 10, rel=1e-12)
    rule = resolve("qhm")
    names = {str(v): v for v in [*rule.hyper.values(), linear.x, linear.z]}
    P = sp.sympify(rep["characteristic_polynomial"], locals=names)
    assert sp.expand(P - linear.linearize(rule).polynomial) == 0 and P.free_symbols >= {linear.x, linear.z}
    # the radius per eigenvalue is that of the iteration matrix built by hand:
    # buf+ = b buf + (1-b) lam theta, theta+ = theta - lr((1-nu) lam theta + nu buf+)
    for e in rep["eigenvalues"]:
        lam, lr = e["lambda"], 0.1
        M = np.array([[1 - lr * lam * (1 - nu) - lr * nu * (1 - b) * lam, -lr * nu * b], [(1 - b) * lam, b]])
        assert e["spectral_radius"] == pytest.approx(max(abs(np.linalg.eigvals(M))), rel=1e-10)
    assert rep["converges"] is True and rep["spectral_radius"] < 1


def test_cli_aggmo_and_tuning(capsys):
    code, out, _ = run(capsys, "stability", "aggmo", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["degree"] == 3 and rep["x_critical"] == pytest.approx(4 * 1.9 / 2.9, rel=1e-12)
    code, out, _ = run(capsys, "stability", "heavy-ball", "--tune", "momentum", "--mu", "1", "--L", "10", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["tuning"]["free"] == ["lr", "momentum"]
    assert rep["tuning"]["momentum"] == pytest.approx(((math.sqrt(10) - 1) / (math.sqrt(10) + 1)) ** 2, rel=1e-6)


def test_cli_adam_limit_and_explicit_lr(capsys):
    code, out, _ = run(capsys, "stability", "adamw", "--set", "eps=0.1", "--set", "lr=0.1",
                       "--eigenvalues", "1", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["lr_explicit"] is True
    assert any("t -> oo" in n for n in rep["notes"])
    # lr explicit (decoupled decay): eta_critical solved in lr itself; at it the radius reaches 1
    eta = rep["eta_critical"]
    lin = sg.load("adamw")[1]
    vals = sg.check_values(lin, {"eps": 0.1})
    assert sg.spectral_radius(lin, eta * (1 - 1e-6), {**vals, "lr": eta * (1 - 1e-6)}) < 1
    assert sg.spectral_radius(lin, eta * (1 + 1e-6), {**vals, "lr": eta * (1 + 1e-6)}) > 1


@pytest.mark.parametrize("argv,needle", [
    (["lion"], "sign("),
    (["qhm", "--set", "foo=1"], "no hyperparameter 'foo'"),
    (["qhm", "--set", "lr=-1"], "lr must be > 0"),
    (["adam", "--set", "beta1=1.5"], "[0, 1)"),
    (["qhm", "--set", "lr"], "KEY=VALUE"),
    (["nosuchrule"], "unknown rule"),
    (["heavy-ball", "--set", "momentum=0.5", "--eta", "0.1"], "--set lr"),
    (["sgd"], "give a value for"),
    (["qhm", "--map", "nu=1:0"], "LO < HI"),
    (["qhm", "--map", "foo=0:1"], "NAME=LO:HI"),
    (["qhm", "--map", "nu=0:1", "--out", "x.txt"], ".png"),
    (["qhm", "--out", "x.png"], "--map"),
    (["qhm", "--tune", "nu"], "--mu"),
])
def test_cli_errors_are_one_line_exit_2(capsys, argv, needle):
    code = main(["stability", *argv])
    _, err = capsys.readouterr()
    assert code == 2 and needle in err and err.count("\n") == 1 and err.startswith("ldyn: error:")


def test_cli_map_writes_a_png(capsys, tmp_path):
    out = tmp_path / "qhm.png"
    code, text, _ = run(capsys, "stability", "qhm", "--map", "momentum=0:0.99", "--out", str(out), "--json")
    rep = json.loads(text)
    assert code == 0 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = rep["map"]
    assert m["shape"] == [200, 300] and abs(sum(m["fractions"].values()) - 1) < 1e-12
    assert set(m["fractions"]) <= set(sg.REGIMES) and "unstable" in m["fractions"]
    assert [p.name for p in tmp_path.iterdir()] == ["qhm.png"]  # no temporary file left behind
    # the sampled boundary sits on the closed form x_c(beta) = 2(1+beta)/(1+beta-2 nu beta), nu = 0.7
    for b, xb in m["first_unstable_x"]:
        xc = 2 * (1 + b) / (1 + b - 1.4 * b)
        assert abs(xb - xc) <= m["x_range"][1] / 300
