"""The numeric check of a step SymPy could not decide: lhs − rhs evaluated at random exact points.

Random per call (the seed is reported), at least 24 points over magnitudes 1e-3 … 1e3 of both signs,
complex points in all four quadrants for symbols not declared real, integers of both parities; exact
arithmetic when the value is a rational (or Gaussian-rational) number, otherwise 50 significant digits with
a tolerance relative to the size of the terms, |lhs − rhs| <= 1e-40 · max |term|.  A step that passes is
*spot-checked*, never *proved*.
"""
from __future__ import annotations

import os
import random
from typing import Any

import sympy as sp

SPOT_POINTS, SPOT_DIGITS, SPOT_REL_TOL = 24, 50, sp.Rational(1, 10**40)


def _is_matrix(x: Any) -> bool:
    return isinstance(x, (sp.MatrixBase, sp.MatrixExpr))


def _magnitude(rng: random.Random, i: int) -> sp.Rational:
    """A random exact number in [10^k, 10^(k+1)), k cycling through -3 ... 2 with the point index."""
    k = i % 6 - 3
    m = sp.Rational(rng.randrange(10**12, 10**13), 10**12)
    return m * sp.Rational(10) ** k


def _sample(symbol: sp.Symbol, rng: random.Random, i: int) -> sp.Expr:
    """A random exact value respecting the symbol's assumptions: integers of both parities,
    reals over 1e-3 ... 1e3 of either sign, complex values for symbols not declared real."""
    pos, neg = symbol.is_positive or symbol.is_nonnegative, symbol.is_negative or symbol.is_nonpositive
    sign = 1 if pos else -1 if neg else (-1) ** (i // 6)  # each magnitude with both signs
    if symbol.is_integer:
        n = 2 * rng.randrange(0, 10 ** (1 + i % 3)) + (i // 2) % 2  # parity alternates in pairs of points
        if symbol.is_even:
            n -= n % 2
        if symbol.is_odd:
            n |= 1
        if n == 0 and (symbol.is_zero is False or pos or neg):
            n = 2 if not symbol.is_odd else 1
        return sp.Integer(sign * n)
    if symbol.is_real or pos or neg:
        return sign * _magnitude(rng, i)
    return sign * _magnitude(rng, i) + (-1) ** (i // 12) * _magnitude(rng, i + 3) * sp.I  # all four quadrants


def _exact_number(v: sp.Expr) -> bool:
    """A number built from rationals and i only: evaluated exactly, no rounding."""
    return all(a.is_Rational or a is sp.I for a in v.atoms(sp.Atom)) and not v.atoms(sp.Function) and all(
        p.exp.is_Integer for p in v.atoms(sp.Pow))


def _term_scale(e: sp.Expr, values: dict, digits: int, floor: Any) -> Any:
    """The size of the terms of ``e`` at a point: the largest |value| of any summand of any
    sum inside it (lhs − rhs cancels to ~0; its terms do not).  None if one is not finite."""
    scale = floor
    for add in e.atoms(sp.Add):
        for t in add.args:
            tv = abs(sp.N(t.xreplace(values), digits))
            if not tv.is_number or tv.has(sp.nan, sp.zoo, sp.oo):
                return None
            scale = max(scale, tv)
    return scale


def spot_check(expr: Any, points: int = SPOT_POINTS, seed: int | None = None,
               digits: int = SPOT_DIGITS, rel_tol: Any = SPOT_REL_TOL) -> tuple[str, str]:
    """Evaluate ``expr`` (claimed to be zero) at ``points`` random points; return (status, detail).

    Points are random per call (``seed`` from ``os.urandom`` unless given; reported in the
    detail), over magnitudes 1e-3 ... 1e3, complex for symbols not declared real, integers of
    both parities.  A rational value is compared exactly; otherwise it is evaluated to
    ``digits`` significant digits and must satisfy |value| <= rel_tol · max |term| (the terms of
    lhs − rhs).  A point where the expression is not finite is skipped; fewer than ``points``
    finite points out of 3·points tries is ``undecided``."""
    items = [sp.sympify(e) for e in (list(expr) if _is_matrix(expr) else [expr])]
    if any(e.atoms(sp.core.function.AppliedUndef) for e in items):
        return "undecided", "contains undefined functions: cannot be evaluated at points"
    if any(not s.is_commutative for e in items for s in e.free_symbols):
        return "undecided", "non-commutative symbols: cannot be evaluated at points"
    if any(e.atoms(sp.MatrixSymbol) for e in items):
        return "undecided", "matrix symbols: cannot be evaluated at points"
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    rng = random.Random(seed)
    symbols = sorted(set().union(*(e.free_symbols for e in items)), key=str)
    good = exact = tries = 0
    worst = sp.Integer(0)
    while good < points and tries < 3 * points:
        values = {s: _sample(s, rng, tries) for s in symbols}
        tries += 1
        verdicts = []
        for e in items:
            v = e.xreplace(values)
            if v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                verdicts = None
                break
            if _exact_number(v):
                v = sp.expand(v)
                verdicts.append((v == 0, abs(v), True))
                continue
            val = sp.N(v, digits + 10)
            if not val.is_number or val.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                verdicts = None
                break
            scale = _term_scale(e, values, digits + 10, abs(val))
            if scale is None:
                verdicts = None
                break
            ok = abs(val) <= rel_tol * scale
            verdicts.append((bool(ok), abs(val) / scale if scale else abs(val), False))
        if verdicts is None:
            continue
        good += 1
        exact += all(x for _, _, x in verdicts)
        for ok, err, _ in verdicts:
            worst = max(worst, sp.sympify(err))
            if not ok:
                at = ", ".join(f"{s}={sp.N(v, 6)}" for s, v in values.items())
                return "failed", (f"|lhs - rhs| = {float(abs(sp.N(err, 6))):.3g} of the largest term at a random "
                                  f"point ({at}); seed {seed}")
    if good < points:
        return "undecided", f"only {good} of {tries} random points gave finite values (seed {seed})"
    kinds = []
    if any(s.is_integer for s in symbols):
        kinds.append("integers of both parities")
    if any(not s.is_real for s in symbols):
        kinds.append("complex values")
    return "spot-checked", (f"|lhs - rhs| <= {float(sp.N(worst, 3)):.1e} of the largest term at {good} random points "
                            f"(magnitudes 1e-3 to 1e3{', ' + ', '.join(kinds) if kinds else ''}; {exact} exact, the "
                            f"rest at {digits} digits), seed {seed}")


# -- checking one step -------------------------------------------------------------------
