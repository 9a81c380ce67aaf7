"""The numbers a certificate is about: the class S(mu, L) and the rule's hyperparameters, made exact.

A hyperparameter may be a number or a formula in ``mu``, ``L`` and ``kappa`` (= L/mu), e.g.
``lr=1/L`` or ``momentum=(sqrt(kappa)-1)/(sqrt(kappa)+1)``.  Formulas are read by the whitelisted parser of
:mod:`derive.expressions` (an AST walk; nothing is evaluated as Python) and evaluated exactly.  A
decimal is the Rational its shortest text denotes (0.1 -> 1/10); a value that is not rational
(sqrt(10)) is replaced by the Rational of its double (17 significant digits), and the report says so:
the certificate is a theorem about the numbers it prints, exactly.
"""
from __future__ import annotations

import math
from fractions import Fraction

#: the names a hyperparameter formula may use
NAMES = ("mu", "L", "kappa")


class CertifyError(ValueError):
    """Bad input to ``certify`` (one line, for the user)."""


def exact_number(value, what: str):
    """A finite real ``value`` (int, float, str decimal, SymPy number) as a SymPy Rational; a float
    becomes the decimal its ``repr`` prints (0.1 -> 1/10)."""
    import sympy as sp

    if isinstance(value, bool):
        raise CertifyError(f"{what} must be a number, got {value!r}")
    if isinstance(value, sp.Basic):
        if not value.is_number:
            raise CertifyError(f"{what} must be a number, got {value}")
        if value.is_Rational:
            return sp.Rational(value)
        f = float(value)
        if not math.isfinite(f):
            raise CertifyError(f"{what} must be finite, got {value}")
        return sp.Rational(repr(f))
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise CertifyError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(f):
        raise CertifyError(f"{what} must be a finite number, got {value}")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, str):
        return sp.Rational(str(Fraction(value.strip())))
    return sp.Rational(repr(f))


def check_class(mu, L) -> tuple:
    """(mu, L) exact with 0 < mu < L (CertifyError otherwise)."""
    m = exact_number(mu, "mu")
    big_l = exact_number(L, "L")
    if m <= 0:
        raise CertifyError(f"mu must be > 0 (strong convexity), got {mu}")
    if m >= big_l:
        raise CertifyError(f"need mu < L, got mu={mu}, L={L}")
    return m, big_l


def parse_value(name: str, text, mu, L):
    """``text`` (a number or a formula in mu, L, kappa) as an exact SymPy number at these mu, L."""
    import sympy as sp

    from derive.expressions import build
    from derive.loss_guards import ExpressionError

    if not isinstance(text, str):
        return sp.sympify(exact_number(text, name)) if not isinstance(text, sp.Basic) else _numeric(name, text)
    if not text.strip():
        raise CertifyError(f"{name}: empty value (give a number or a formula in mu, L, kappa)")
    try:
        expr, used = build(text, "the value")
    except ExpressionError as exc:
        raise CertifyError(f"{name}={text}: " + str(exc).replace("loss expression", "the value")) from None
    unknown = sorted(used - set(NAMES))
    if unknown:
        raise CertifyError(f"{name}={text}: unknown name(s) {', '.join(unknown)}; a value may use mu, L, kappa")
    subs = {sp.Symbol("mu", real=True): mu, sp.Symbol("L", real=True): L, sp.Symbol("kappa", real=True): L / mu}
    return _numeric(name, expr.subs(subs), text)


def _numeric(name: str, expr, text=None):
    import sympy as sp

    shown = text if text is not None else expr
    if isinstance(expr, sp.Float):
        return exact_number(float(expr), name)
    if expr.free_symbols or not expr.is_number:
        raise CertifyError(f"{name}={shown}: not a number")
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise CertifyError(f"{name}={shown}: not finite (division by zero?)")
    if expr.is_Rational:
        return expr
    try:
        c = complex(sp.N(expr, 30))
    except (TypeError, ValueError):
        raise CertifyError(f"{name}={shown}: not a real number") from None
    if not (math.isfinite(c.real) and math.isfinite(c.imag)):
        raise CertifyError(f"{name}={shown}: not finite")
    if abs(c.imag) > 1e-12 * max(1.0, abs(c.real)):
        raise CertifyError(f"{name}={shown}: not a real number ({c:g})")
    value = c.real
    return sp.Rational(repr(value))


def _is_rational_formula(text: str, mu, L) -> bool:
    import ast

    import sympy as sp

    from derive.expressions import _Builder

    source = text.strip().replace("^", "**")
    try:
        expr = _Builder(source).build(ast.parse(source, mode="eval").body)
    except Exception:  # noqa: BLE001 - parse_value has already accepted it; be conservative
        return False
    subs = {sp.Symbol("mu", real=True): mu, sp.Symbol("L", real=True): L, sp.Symbol("kappa", real=True): L / mu}
    return bool(sp.simplify(expr.subs(subs)).is_Rational)


def hyperparameters(rule, given: dict | None, mu, L) -> tuple[dict, dict]:
    """({protocol name: exact Rational}, {name: where it came from}) for every hyperparameter of ``rule``:
    ``given`` (numbers or formulas), else the rule's defaults.  Unknown or missing names: CertifyError."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(rule.hyper))
    if unknown:
        raise CertifyError(f"{rule.name} has no hyperparameter {', '.join(unknown)}; it takes "
                           f"{', '.join(rule.hyper)}")
    out, source = {}, {}
    for key in rule.hyper:
        if key in given:
            out[key] = parse_value(key, given[key], mu, L)
            source[key] = str(given[key])
            if isinstance(given[key], str) and not _is_rational_formula(given[key], mu, L):
                source[key] += " (irrational: the certificate is for the 17-digit decimal in hyperparameters_exact)"
        elif key in rule.defaults:
            out[key] = exact_number(rule.defaults[key], key)
            source[key] = "default"
        else:
            raise CertifyError(f"{rule.name}: give {key} (--set {key}=VALUE; a number or a formula in mu, L, kappa)")
    return out, source
