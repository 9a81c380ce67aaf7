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
    (["stability", "nosuchrule", "--eigenvalues", "1"], "unknown rule"),  # adam is analysed since #14
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
    assert code == 0 and "```math" not in out and out.count("\n$$\n") >= 2
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


def strict_json(text):
    """json.loads that refuses NaN/Infinity tokens (Python's json accepts them by default)."""
    def bad(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=bad)


@pytest.mark.parametrize("argv,needle", [
    (["stability", "gd", "--eigenvalues", "1e-320", "--json"], "too small"),
    (["stability", "gd", "--eigenvalues", "1e308", "--eta", "1e308", "--json"], "overflows"),
    (["stability", "gd", "--eigenvalues", "1,1e300", "--eta", "1e10", "--json"], "overflows"),
    (["stability", "gd", "--eigenvalues", "1e308,1.5e308", "--json"], "overflows"),
    (["stability", "heavy-ball", "--eta", "1e300", "--beta", "0.5", "--eigenvalues", "1e10", "--json"], "overflows"),
    (["stability", "gd", "--eigenvalues", "0,0"], "> 0"),
    # negative option values reach the commands' own checks, not argparse's "expected one argument"
    (["stability", "gd", "--eigenvalues", "-1,10"], "positive semi-definite"),
    (["stability", "gd", "--eigenvalues", "1,10", "--eta", "-0.1"], "> 0"),
    (["stability", "heavy-ball", "--eta", "0.1", "--beta", "-0.5", "--eigenvalues", "1"], "0 <= beta"),
    (["stability", "nesterov", "--mu", "-1", "--L", "10"], "--mu must be"),
    (["stability", "nesterov", "--mu", "1", "--L", "-10"], "--L must be"),
    (["modified-equation", "--loss", "theta**2", "--order", "-1"], "order"),
    # empty names are errors, not "list everything" / "run everything"
    (["derive", ""], "unknown derivation"),
    (["verify", ""], "empty check name"),
    (["verify", "gd-regimes", " "], "empty check name"),
    (["stability", "gd", "--eigenvalues", "1", "--eta", "1,2"], "takes one number"),
    (["stability", "gd", "--eigenvalues", "1", "--eta", "abc"], "takes one number"),
    # non-smooth losses and too-large problems
    (["modified-equation", "--loss", "abs(x) + x**2"], "not smooth"),
    (["modified-equation", "--loss", "Abs(x)"], "not smooth"),
    (["modified-equation", "--loss", "sqrt(x**2)"], "not smooth"),
    (["modified-equation", "--loss", "theta**2", "--order", "7"], "between 1 and 6"),
    (["modified-equation", "--loss", "(x*y - 1)**2/2", "--order", "5"], "at most 4"),
    (["modified-equation", "--loss", "(x*y*z - 1)**2/2", "--order", "4"], "at most 3"),
    (["modified-equation", "--loss", "(a*b*c*d - 1)**2/2", "--order", "4"], "at most 3"),
    (["modified-equation", "--loss", "(a*b*c*d*f - 1)**2/2", "--order", "3"], "at most 2"),
    (["modified-equation", "--loss", "x**2", "--params", "x,a,b,c,d,f", "--order", "2"], "at most 1"),
    (["modified-equation", "--loss", "sin(x*y*z)", "--order", "3"], "at most 2"),
    (["modified-equation", "--loss", "1/(1 + x**2)", "--order", "2"], "at most 1"),
    (["modified-equation", "--loss", "1/(1 + x**2 + y**2 + z**2)", "--order", "1"], "at most 2 parameters"),
    (["modified-equation", "--loss", "a + b + c + d + f + g + h"], "at most 6"),
])
def test_more_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert err.startswith("ldyn: error:") and err.count("\n") == 1 and needle in err, err
    assert "Traceback" not in err + out and "comma-separated" not in err


def test_json_is_strict_and_infinity_is_null(capsys):
    code, out, _ = run(capsys, "stability", "gd", "--eigenvalues", "0,1", "--eta", "1", "--json")
    rep = strict_json(out)
    assert code == 0 and rep["converges"] is True and rep["spectral_radius"] == 0
    assert rep["condition_number"] == 1 and rep["flat_directions"] == 1
    code, out, _ = run(capsys, "stability", "gd", "--eigenvalues", "1e-300,1e300", "--json")
    rep = strict_json(out)
    assert code == 0 and rep["condition_number"] is None  # L/mu overflows: null, documented
    assert rep["eta_critical"] == pytest.approx(2e-300)
    code, out, _ = run(capsys, "stability", "nesterov", "--mu", "1e-300", "--L", "1e300", "--json")
    assert code == 0 and strict_json(out)["condition_number"] is None


def test_gd_flat_directions_are_neutral_and_excluded(capsys):
    code, out, _ = run(capsys, "stability", "gd", "--eigenvalues", "0,1,10", "--eta", "0.19", "--json")
    rep = strict_json(out)
    assert code == 0
    # mu is the smallest POSITIVE eigenvalue: the optimal step is 2/(1 + 10), not 2/(0 + 10) = eta_critical
    assert rep["eta_critical"] == pytest.approx(0.2) and rep["eta_optimal"] == pytest.approx(2 / 11)
    assert rep["rate_optimal"] == pytest.approx(9 / 11)
    assert [e["regime"] for e in rep["eigenvalues"]] == ["neutral", "monotone", "oscillating"]
    assert rep["eigenvalues"][0]["factor"] == 1
    assert rep["spectral_radius"] == pytest.approx(0.9) and rep["converges"] is True
    code, out, _ = run(capsys, "stability", "gd", "--eigenvalues", "0,1,10", "--eta", "0.19")
    assert code == 0 and "converges on the non-flat directions" in out
    code, out, _ = run(capsys, "stability", "gd", "--eigenvalues", "0,4", "--eta", "0.5", "--json")
    rep = strict_json(out)  # eta_optimal = 2/(4 + 4) = 0.25 is stable; 0.5 = 2/L is the critical step
    assert rep["eta_optimal"] == pytest.approx(0.25) and rep["converges"] is False


def test_modified_equation_decimal_literals_are_exact(capsys):
    code, out, err = run(capsys, "modified-equation", "--loss", "0.3*x**3 + 0.7*x**2", "--order", "2", "--json")
    assert code == 0, err
    rep = strict_json(out)
    x = sp.Symbol("x")
    assert sp.expand(sp.sympify(rep["fields"][0][0]) + (sp.Rational(9, 10) * x**2 + sp.Rational(7, 5) * x)) == 0
    assert "." not in rep["loss"]


def test_modified_equation_default_order_is_3(capsys):
    code, out, _ = run(capsys, "modified-equation", "--loss", "theta**4/4 - theta**2/2", "--json")
    assert code == 0 and strict_json(out)["order"] == 3
    code, out, _ = run(capsys, "modified-equation", "--loss", "sin(theta)", "--json")  # the loss's limit: 2
    assert code == 0 and strict_json(out)["order"] == 2
    code, out, _ = run(capsys, "modified-equation", "--loss", "x/(1 + x**2)", "--json")  # the loss's limit: 1
    assert code == 0 and strict_json(out)["order"] == 1


def test_negative_values_are_option_values(capsys):
    code, out, err = run(capsys, "modified-equation", "--loss", "-x**2+x**4", "--order", "1", "--json")
    assert code == 0, err
    assert strict_json(out)["params"] == ["x"]
    code, out, err = run(capsys, "stability", "gd", "--eigenvalues", "1", "--eta", "--json")
    assert code == 2 and err.count("\n") == 1  # an option after --eta is not taken as its value


def test_a_derivation_that_does_not_check_is_an_internal_error(capsys, monkeypatch):
    from derive.analysis import modified_equation as me

    real = me.modified_equation

    def broken(*args, **kwargs):
        return real(*args, **kwargs).equal(sp.Integer(1), sp.Integer(2), "a wrong step")

    monkeypatch.setattr(me, "modified_equation", broken)
    code, out, err = run(capsys, "modified-equation", "--loss", "theta**2", "--order", "1")
    assert code == 1 and out == ""
    assert err.startswith("ldyn: internal error:") and err.count("\n") == 1 and "did not check" in err


def test_output_piped_into_head_is_not_an_error():
    cmd = f"{sys.executable} -m verify.cli stability gd --eigenvalues 0,1 --eta 1 --json | head -1"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    assert out.returncode == 0 and "Traceback" not in out.stderr


def test_modified_equation_has_a_time_budget(capsys, monkeypatch):
    import verify.cli as cli

    monkeypatch.setattr(cli, "MODIFIED_EQUATION_SECONDS", 0.05)
    code, out, err = run(capsys, "modified-equation", "--loss", "(x**2 + y**2 + z**2 - 1)**2/4", "--order", "3")
    assert code == 2 and out == ""
    assert err.startswith("ldyn: error:") and err.count("\n") == 1 and "did not finish within 0.05 s" in err


def test_audit_hermosis_json_and_exit_codes(capsys):
    from verify import cli

    assert cli.main(["audit", "hermosis", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {"claim", "status", "derived", "reason"} <= set(records[0])
    assert {r["status"] for r in records} <= {"holds", "definition", "holds-approx", "differs", "undecided"}
    # the prefactor of the relativistic expansion: sqrt(k^2/beta^2) is k/beta (checked here independently)
    import sympy as sp

    k, b = sp.symbols("k beta", positive=True)
    assert sp.sqrt(k**2 / b**2) == k / b
    assert any(r["status"] == "differs" and "k^2}{\\beta^2}" in r["claim"] for r in records)
    assert cli.main(["audit", "nope"]) == 2
    assert "unknown audit" in capsys.readouterr().err


def test_notes_without_cvxpy_says_so_before_any_work(monkeypatch, capsys, tmp_path):
    """The certified-rates figure needs the certify extra: without cvxpy, one line and exit 1 at once."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cvxpy" else real(name, *a))
    assert main(["notes", "--out", str(tmp_path / "n")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cvxpy" in err and "learning-dynamics[certify]" in err
    assert not (tmp_path / "n").exists()
