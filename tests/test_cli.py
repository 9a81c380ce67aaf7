"""The ldyn command line: outputs, JSON contracts and one-line errors with exit code 2."""
import json
import subprocess
import sys

import pytest
import sympy as sp

from verify.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_stability_gd_json(capsys):
    code, out, _ = run(capsys, "stability", "gd", "--eigenvalues", "1,10", "--eta", "0.19", "--json")
    rep = json.loads(out)
    assert code == 0
    assert rep["eta_critical"] == pytest.approx(0.2) and rep["eta_optimal"] == pytest.approx(2 / 11)
    assert rep["rate_optimal"] == pytest.approx(9 / 11)
    assert rep["spectral_radius"] == pytest.approx(0.9) and rep["converges"] is True
    assert [e["regime"] for e in rep["eigenvalues"]] == ["monotone", "oscillating"]
    code, out, _ = run(capsys, "stability", "gd", "--eigenvalues", "1,10", "--eta", "0.21", "--json")
    assert json.loads(out)["converges"] is False


@pytest.mark.parametrize("argv,needle", [
    (["stability", "gd", "--eigenvalues", "1,-3"], "positive semi-definite"),
    (["stability", "gd", "--eigenvalues", "1,abc"], "not a number"),
    (["stability", "gd", "--eigenvalues", "1,inf"], "finite"),
    (["stability", "gd", "--eigenvalues", "1,10", "--eta", "0"], "> 0"),
    (["stability", "gd", "--eigenvalues", "1,10", "--eta", "nan"], "finite"),
    (["stability", "gd"], "--eigenvalues"),
    (["stability", "adam", "--eigenvalues", "1"], "unknown method"),
    (["derive", "no-such-thing"], "unknown derivation"),
    (["verify", "no-such-check"], "unknown check"),
    (["modified-equation", "--loss", "__import__('os').system('echo hi')"], "loss"),
    (["modified-equation", "--loss", "theta**2", "--order", "0"], "order"),
    (["modified-equation", "--loss", "theta**2", "--order", "x"], "invalid int"),
    (["modified-equation", "--loss", "eta*theta**2"], "step size"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("ldyn: error:") and err.count("\n") == 1 and needle in err
    assert "Traceback" not in err + out


def test_modified_equation_json_is_sympy_parsable(capsys):
    code, out, _ = run(capsys, "modified-equation", "--loss", "theta**4/4 - theta**2/2", "--order", "3", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["params"] == ["theta"]
    th, eta = sp.Symbol("theta"), sp.Symbol("eta")
    vf = sp.sympify(rep["vector_field"][0])
    grad = th**3 - th
    # first order: -L' - (eta/2) L'' L'  (independent computation)
    first = -grad - eta / 2 * sp.diff(grad, th) * grad
    assert sp.expand(vf.series(eta, 0, 2).removeO() - first) == 0
    assert sp.expand(sp.sympify(rep["modified_loss"]) - (th**4 / 4 - th**2 / 2 + eta / 4 * grad**2)) == 0


def test_modified_equation_several_parameters(capsys):
    code, out, _ = run(capsys, "modified-equation", "--loss", "(x*y - 1)^2/2", "--params", "y,x", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["params"] == ["y", "x"] and len(rep["vector_field"]) == 2
    code, out, _ = run(capsys, "modified-equation", "--loss", "(x*y - 1)^2/2")
    assert code == 0 and "f1[x]" in out


def test_derive_formats(capsys):
    code, out, _ = run(capsys, "derive", "--list")
    assert code == 0 and "gd-quadratic-stability" in out
    code, out, _ = run(capsys, "derive", "gd-forward-euler", "--format", "markdown")
    assert code == 0 and out.count("$$") == 2
    code, out, _ = run(capsys, "derive", "gd-forward-euler", "--format", "json")
    js = json.loads(out)
    assert code == 0 and js["ok"] is True and {s["status"] for s in js["steps"]} <= {"proved", "given"}
    code, out, _ = run(capsys, "derive", "gd-quadratic-stability", "--standalone")
    assert code == 0 and "\\documentclass" in out


def test_verify_json_subset(capsys):
    code, out, _ = run(capsys, "verify", "gd-regimes", "gd-lambdified", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["check"] for r in rows} == {"gd-regimes", "gd-lambdified"}
    assert all({"check", "status", "error", "tolerance"} <= set(r) and r["status"] == "pass" for r in rows)


def test_console_script_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "verify.cli", "stability", "gd", "--eigenvalues", "2"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "critical step" in out.stdout
