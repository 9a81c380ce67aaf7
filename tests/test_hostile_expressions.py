"""Issue #21, hostile expressions, numbers and options: modified-equation (time limit, memory ceiling,
size guards, SymPy-constant names, complex losses), stability (overflow-safe momentum roots, options a
method does not take, hyperparameter ranges).  Expected values come from outside the code under test:
textbook characteristic polynomials solved by mpmath at hundreds of digits, the Jury conditions, SymPy's
own parser, wall clocks."""
import json
import math
import re
import subprocess
import sys
import time

import mpmath
import pytest
import sympy
from hypothesis import assume, given, settings, strategies as st

from derive.expressions import ExpressionError, SYMPY_NAMES, parse_loss
from verify import modified_equation as me
from verify import stability, stability_generic
from verify.cli import _dump, main


def cli(*argv, timeout=120):
    """``ldyn ARGV`` in a fresh process: (exit code, stdout, stderr, wall seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "verify.cli", *argv], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def one_error_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("ldyn: error: ") and "Traceback" not in err


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- modified-equation: sizes and numbers refused at once --------------------------------------------------
@pytest.mark.parametrize("loss, needle", [
    ("exp(exp(exp(100)))*theta", "beyond a float's range"),
    ("((a+b+c+d+f+g)**100)**100", "exponents must be at most 100"),
    ("((a+b)**100)**100", "exponents must be at most 100"),
    ("(a+b+c+d+f+g)**100", "terms once expanded"),
    ("(a+b+c+d+f+g)**9", "2002 terms once expanded"),  # C(14, 5) = 2002 monomials of degree 9 in 6 symbols
    ("pi**pi**pi**pi*x", "beyond a float's range"),
    ("x*exp(700)*exp(700)", "beyond a float's range"),  # SymPy merges it into exp(1400)
    ("sin(exp(exp(20)))*x", "beyond a float's range"),
])
def test_absurd_sizes_are_refused_at_once(loss, needle):
    code, out, err, wall = cli("modified-equation", "--loss", loss)
    assert code == 2 and out == "" and one_error_line(err) and needle in err, err
    assert wall < 10, wall  # measured ~0.8 s (before #21: 60 s, or 7.8 GB and a MemoryError traceback)


def test_time_limit_is_honoured_even_inside_sympy():
    # (x+y)**100 passes the size guards (101 terms) but its order-4 derivation takes minutes
    code, out, err, wall = cli("modified-equation", "--loss", "(x+y)**100", "--order", "4", "--time-limit", "2")
    assert code == 2 and out == "" and one_error_line(err) and "did not finish within 2 s" in err
    assert wall < 8, wall  # measured 2.7 s


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "abc", "1e400"])
def test_time_limit_must_be_finite_and_positive(capsys, value):
    code, out, err = run(capsys, "modified-equation", "--loss", "x**2", f"--time-limit={value}")
    assert code == 2 and out == "" and one_error_line(err) and "--time-limit" in err


def test_run_limited_kills_work_stuck_in_c_code():
    # catastrophic regex backtracking runs inside C (sre): no Python signal handler would ever fire
    t0 = time.monotonic()
    with pytest.raises(me.OutOfTime):
        me.run_limited(re.match, (r"(a+)+$", "a" * 40 + "b"), seconds=1)
    assert time.monotonic() - t0 < 5


def test_run_limited_has_a_memory_ceiling():
    t0 = time.monotonic()
    with pytest.raises(me.OutOfMemory, match="256 MiB memory ceiling"):
        me.run_limited(bytearray, (8 * 1024**3,), seconds=30, memory_mb=256)  # 8 GB asked, 256 MiB allowed
    assert time.monotonic() - t0 < 10


def test_run_limited_passes_results_and_errors_through():
    assert me.run_limited(sorted, ([3, 1, 2],), seconds=30) == [1, 2, 3]
    with pytest.raises(ValueError, match="invalid literal"):
        me.run_limited(int, ("x",), seconds=30)
    with pytest.raises(RuntimeError, match="boom"):
        me.run_limited(_raise_runtime, (), seconds=30)


def _raise_runtime():
    raise RuntimeError("boom")


# -- names SymPy reads as something else -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["I", "S", "N", "Q", "O", "oo", "nan", "zoo", "beta", "gamma", "zeta", "sum", "li"])
def test_sympy_names_are_refused_as_parameters(capsys, name):
    code, out, err = run(capsys, "modified-equation", "--loss", f"{name}*theta + theta**2")
    assert code == 2 and out == "" and one_error_line(err) and f"'{name}'" in err and "name it otherwise" in err
    with pytest.raises(ExpressionError, match="name it otherwise"):
        parse_loss("theta**2", params=["theta", name])


def test_constants_pi_and_e_keep_their_meaning_and_are_not_parameter_names():
    expr, params = parse_loss("pi*x + E*x")
    assert params == (sympy.Symbol("x", real=True),) and expr.coeff(params[0]) == sympy.pi + sympy.E
    for name in ("pi", "E", "e"):
        with pytest.raises(ExpressionError, match="reserved"):
            parse_loss("x**2", params=["x", name])


@settings(max_examples=150, deadline=None)
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,5}", fullmatch=True))
def test_every_accepted_name_reads_back_as_itself(name):
    """SymPy's own parser is the judge: a name accepted as a parameter must sympify to that symbol."""
    try:
        _, params = parse_loss(f"{name}**2 + 1", params=[name])
    except ExpressionError:
        return
    assert sympy.sympify(name) == sympy.Symbol(name)
    assert params[0].name == name


def test_every_sympy_name_is_refused_or_reserved():
    for name in sorted(SYMPY_NAMES):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            continue
        with pytest.raises(ExpressionError):
            parse_loss("x**2", params=["x", name])


def test_printed_output_reads_back_with_the_same_meaning(capsys):
    code, out, _ = run(capsys, "modified-equation", "--loss", "I_*x**2 + oo1*x", "--order", "1", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["params"] == ["I_", "oo1", "x"]
    I_, oo1, x = sympy.symbols("I_ oo1 x")
    assert sympy.sympify(rep["loss"]) == I_ * x**2 + oo1 * x  # no imaginary unit, no infinity
    assert sympy.sympify(rep["fields"][0][2]) == -(2 * I_ * x + oo1)


# -- losses that are not real ----------------------------------------------------------------------------
@pytest.mark.parametrize("loss, how", [
    ("acos(2)*theta", "not real"), ("log(-1)*theta", "not real"), ("(-8)**(1/3)*theta", "not real"),
    ("sqrt(-theta**2-1)", "decided by SymPy"), ("asin(cosh(x)+1)", "decided by SymPy"),
    ("log(cos(x) - 3)", "tested numerically"), ("sqrt(sin(theta) - 2) + theta**2", "tested numerically"),
    ("sqrt(x - 1000) + sqrt(-x - 1000)", "tested numerically"),
])
def test_complex_losses_are_refused(capsys, loss, how):
    code, out, err = run(capsys, "modified-equation", "--loss", loss)
    assert code == 2 and out == "" and one_error_line(err) and how in err, err


def test_i_as_imaginary_unit_is_refused(capsys):
    code, out, err = run(capsys, "modified-equation", "--loss", "I*theta")
    assert code == 2 and out == "" and one_error_line(err) and "'I'" in err


def test_losses_real_on_part_of_the_space_are_accepted():
    for loss in ("x**2 + log(x)", "sqrt(1 + x**2)", "asin(x/2) + x**2", "sqrt(x - 5) + x"):
        expr, _ = parse_loss(loss)
        # real at some point, checked here by mpmath
        assert any(abs(mpmath.mpmathify(complex(expr.evalf(30, subs={s: v for s in expr.free_symbols}))).imag) == 0
                   for v in (0.5, 6.0)), loss


# -- stability: overflow-safe roots against high-precision references ----------------------------------------
def reference(method, x, beta):
    """The dominant root of the textbook characteristic polynomial, at 400 digits: heavy ball
    z^2 - (1 + beta - x) z + beta; Nesterov z^2 - (1 + beta)(1 - x) z + beta (1 - x)."""
    with mpmath.workdps(400):
        X, B = mpmath.mpf(x), mpmath.mpf(beta)
        c = [1, -(1 + B - X), B] if method == "heavy-ball" else [1, -(1 + B) * (1 - X), B * (1 - X)]
        roots = mpmath.polyroots(c, maxsteps=400, extraprec=2000)
        return max(abs(r) for r in roots)


@pytest.mark.parametrize("method", ["heavy-ball", "nesterov"])
@pytest.mark.parametrize("eta", ["1e150", "1e200", "1e300", "1.5e308"])
def test_momentum_at_huge_x_is_finite_and_right(capsys, method, eta):
    code, out, err = run(capsys, "stability", method, "--eta", eta, "--beta", "0.5", "--eigenvalues", "1", "--json")
    assert code == 0 and err == ""
    rep = json.loads(out)
    assert rep["converges"] is False and rep["eigenvalues"][0]["regime"] == "unstable"
    want = reference(method, float(eta), 0.5)
    if want > sys.float_info.max:  # Nesterov at 1.5e308: the radius 2.25e308 is beyond a float
        assert rep["spectral_radius"] is None and "exceeds the largest float" in rep["note"]
    else:
        assert rep["spectral_radius"] == pytest.approx(float(want), rel=1e-12)


def test_momentum_at_tiny_x_converges_and_resolves_the_radius(capsys):
    code, out, _ = run(capsys, "stability", "heavy-ball", "--eta", "1e-300", "--beta", "0.5", "--eigenvalues", "1", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["converges"] is True and rep["eigenvalues"][0]["regime"] == "overdamped"
    with mpmath.workdps(700):
        gap = 1 - reference("heavy-ball", 1e-300, 0.5)
    assert rep["one_minus_radius"] == pytest.approx(float(gap), rel=1e-12)  # ~ x/(1-beta) = 2e-300


def jury(method, x, beta):
    """Textbook stability regions (the Jury conditions of the quadratics above)."""
    return 0 < x < 2 * (1 + beta) if method == "heavy-ball" else 0 < x < (2 + 2 * beta) / (1 + 2 * beta)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["heavy-ball", "nesterov"]), st.floats(-320, 308), st.floats(-320, 0),
       st.floats(0, 1, exclude_max=True))
def test_momentum_report_never_nan_and_agrees_with_jury(method, log_eta, log_lam, beta):
    eta, lam = 10.0**log_eta, 10.0**log_lam
    assume(eta > 0 and lam > 0 and math.isfinite(eta * lam) and eta * lam > 0)
    x = eta * lam
    edge = 2 * (1 + beta) if method == "heavy-ball" else (2 + 2 * beta) / (1 + 2 * beta)
    assume(abs(x - edge) > 1e-9 * edge)
    rep = stability.momentum_report(method, [lam], eta, beta)
    _dump(rep)  # raises on a NaN
    assert rep["converges"] == jury(method, x, beta)


def test_tuning_at_extreme_spectra_has_no_nan(capsys):
    for method in ("heavy-ball", "nesterov"):
        for mu, L in (("1e-300", "1e300"), ("5e-324", "1.7e308"), ("1e308", "1e308")):
            code, out, err = run(capsys, "stability", method, "--mu", mu, "--L", L, "--json")
            assert code in (0, 2) and (code == 0 or one_error_line(err)) and "nan" not in out.lower()


# -- options a method does not take, hyperparameter ranges -------------------------------------------------
@pytest.mark.parametrize("argv, needle", [
    (["gd", "--beta", "0.5", "--eigenvalues", "1"], "does not take --beta"),
    (["gd", "--mu", "1", "--L", "2", "--eigenvalues", "1"], "does not take --mu, --L"),
    (["gd", "--mu", "1", "--eigenvalues", "1", "--eta", "0.1"], "does not take --mu"),
    (["heavy-ball", "--mu", "1", "--L", "2", "--eta", "0.1"], "does not take --eta"),
    (["nesterov", "--mu", "1", "--L", "2", "--beta", "0.5", "--eigenvalues", "1"], "does not take --eigenvalues, --beta"),
])
def test_options_a_method_does_not_take(capsys, argv, needle):
    code, out, err = run(capsys, "stability", *argv)
    assert code == 2 and out == "" and one_error_line(err) and needle in err and "--eigenvalues" in err


@pytest.mark.parametrize("argv, needle", [
    # heavy ball's momentum symbol is declared positive: (0, 1); qhm's is only real: [0, 1)
    (["heavy-ball", "--set", "lr=0.1", "--set", "momentum=1", "--eigenvalues", "1"], "(0, 1)"),
    (["heavy-ball", "--set", "lr=0.1", "--set", "momentum=-0.1", "--eigenvalues", "1"], "(0, 1)"),
    (["qhm", "--set", "lr=0.1", "--set", "momentum=1"], "[0, 1)"),
    (["heavy-ball", "--set", "lr=0", "--set", "momentum=0.5"], "lr must be > 0"),
    (["adam", "--set", "beta1=1"], "[0, 1)"), (["adam", "--set", "beta2=1"], "[0, 1)"), (["adam", "--set", "beta1=0"], "(0, 1)"),
    (["adam", "--set", "eps=0"], "eps must be > 0"), (["adam", "--set", "eps=-1e-8"], "> 0"),
    (["qhm", "--set", "nu=1.5"], "[0, 1]"), (["sgd", "--set", "dampening=1.5"], "[0, 1]"),
    (["qhm", "--tune", "momentum=0:2", "--mu", "1", "--L", "10"], "[0, 1)"),
])
def test_stability_ranges(capsys, argv, needle):
    code, out, err = run(capsys, "stability", *argv)
    assert code == 2 and out == "" and one_error_line(err) and needle in err, err


@pytest.mark.parametrize("sets, needle", [
    (["momentum=2"], "(0, 1)"), (["momentum=1"], "(0, 1)"), (["momentum=-1"], "(0, 1)"),
])
def test_modified_equation_ranges_cli_and_api(capsys, sets, needle):
    argv = [a for s in sets for a in ("--set", s)]
    code, out, err = run(capsys, "modified-equation", "--rule", "heavy-ball", "--loss", "x**2", *argv)
    assert code == 2 and out == "" and one_error_line(err) and needle in err, err
    with pytest.raises(ValueError, match=re.escape(needle)):
        me.rule_report("heavy-ball", "x**2", None, sets=sets)
    with pytest.raises(ValueError, match=re.escape("[0, 1)")):
        me.rule_report("qhm", "x**2", None, sets=["momentum=1"])


def test_same_range_rules_in_the_python_api():
    from derive.rules.library import resolve
    from verify.stability_regimes import check_hyper

    with pytest.raises(stability.InputError, match=re.escape("(0, 1)")):
        stability_generic.report("heavy-ball", {"lr": 0.1, "momentum": 1.0})
    with pytest.raises(stability.InputError, match=re.escape("(0, 1)")):
        check_hyper(resolve("rprop"), "etas1", 1.5)
    with pytest.raises(stability.InputError, match=re.escape("etas2 must be > 1")):
        check_hyper(resolve("rprop"), "etas2", 0.5)
    with pytest.raises(stability.InputError, match=re.escape("[0, 1]")):
        check_hyper(resolve("sgd"), "dampening", -0.5)
    check_hyper(resolve("qhm"), "momentum", 0.0)  # in range: no error
    with pytest.raises(ValueError, match=re.escape("eps must be > 0")):
        me.rule_report("adam", "x**2", None, sets=["eps=0"])
    rep = stability_generic.report("heavy-ball", {"lr": 0.1, "momentum": 0.5}, [1.0])
    assert rep["converges"] is True


def test_generic_stability_at_tiny_lr_is_judged_exactly(capsys):
    code, out, _ = run(capsys, "stability", "heavy-ball", "--set", "lr=1e-300", "--set", "momentum=0.5",
                       "--eigenvalues", "1", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["converges"] is jury("heavy-ball", 1e-300, 0.5) is True  # radius rounds to 1.0
    assert rep["eigenvalues"][0]["regime"] == "overdamped"


def test_generic_stability_overflow_is_one_line_without_warnings():
    code, out, err, _ = cli("stability", "adam", "--set", "lr=1e300", "--eigenvalues", "1e8")
    assert code == 2 and out == "" and one_error_line(err) and "overflows a float" in err, err
