"""What :mod:`derive.derivation` asks SymPy: is lhs − rhs zero, which set solves a relation, which step a
result is the value of.

* :func:`_zero` — True (zero by ``expand``, ``cancel`` or ``simplify``), False (provably non-zero) or None
  (undecided); expressions over :data:`SIMPLIFY_OPS` operations after ``expand`` are not simplified (None,
  then spot-checked); Max/Min/Abs/Heaviside/sign are rewritten as ``Piecewise``; a rational power's base is factored first;
* solution sets of a relation over the reals (And/Or as intersection/union), intervals compared by
  their endpoints;
* the step a result is tied to: a side structurally equal to it, else (small expressions with the same
  symbols only, :data:`TIE_OPS`) one whose difference vanishes by ``expand`` and ``cancel``.

Refs: Meurer et al., SymPy: symbolic computing in Python, PeerJ CS 3:e103 (2017) — ``simplify``,
``solveset``, the assumptions system.
"""
from __future__ import annotations

from typing import Any

import sympy as sp

from derive.render import parts
from derive.steps import ResultCheck, Step, StepCheck

#: above this many operations (after expand), simplify is not attempted: its cost explodes
#: on large transcendental expressions; the step is then spot-checked, and its detail says why
SIMPLIFY_OPS = 400

_PIECEWISE_FUNCS = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign, sp.Piecewise)


# -- helpers over the parts of a step ---------------------------------------------------
def _is_matrix(x: Any) -> bool:
    return isinstance(x, (sp.MatrixBase, sp.MatrixExpr))


def _symbolic_shape(expr: Any) -> bool:
    return isinstance(expr, sp.MatrixExpr) and not all(sp.sympify(d).is_Integer for d in expr.shape)


def _floats(step: Step) -> list:
    found: list = []
    for p in parts(step.lhs, step.rhs, step.symbol):
        found += list(p.atoms(sp.Float)) if hasattr(p, "atoms") else []
    return found


def _domain(s: sp.Symbol, complex_ok: bool = True) -> sp.Set:
    """The set a symbol ranges over by its assumptions (ℂ for a plain symbol if ``complex_ok``)."""
    base = sp.S.Integers if s.is_integer else sp.S.Reals if (s.is_real or not complex_ok) else sp.S.Complexes
    if s.is_positive:
        return sp.Intersection(base, sp.Interval.open(0, sp.oo))
    if s.is_negative:
        return sp.Intersection(base, sp.Interval.open(-sp.oo, 0))
    if s.is_nonnegative:
        return sp.Intersection(base, sp.Interval(0, sp.oo))
    if s.is_nonpositive:
        return sp.Intersection(base, sp.Interval(-sp.oo, 0))
    return base


# -- deciding lhs - rhs == 0 -------------------------------------------------------------
def _too_large(expr: Any) -> bool:
    try:
        return not _is_matrix(expr) and sp.count_ops(sp.expand(sp.sympify(expr))) > SIMPLIFY_OPS
    except Exception:  # noqa: BLE001 - a size estimate only
        return False


def _piecewise_zero(expr: sp.Expr) -> bool:
    """Max/Min/Abs/Heaviside/sign rewritten as Piecewise and folded: every branch zero, branches covering."""
    pw = sp.simplify(sp.piecewise_fold(expr.rewrite(sp.Piecewise)))
    if pw == 0:
        return True
    if not isinstance(pw, sp.Piecewise) or any(sp.simplify(e) != 0 for e, _ in pw.args):
        return False
    conds = sp.Or(*[c for _, c in pw.args])
    if conds is sp.true:
        return True
    free = list(conds.free_symbols)
    if len(free) == 1:
        try:
            return _domain(free[0], complex_ok=False).is_subset(conds.as_set()) is True
        except Exception:  # noqa: BLE001 - as_set cannot handle every condition
            return False
    return False


def _cancels(expr: sp.Expr) -> bool:
    """``expr`` is zero as a rational function of its atoms (sqrt(x), exp(y), f(z) as variables): a proof,
    found by ``cancel`` several times faster than by ``simplify`` (which would return 0 as well)."""
    try:
        return sp.cancel(expr) == 0
    except Exception:  # noqa: BLE001 - an expression cancel cannot handle: simplify decides
        return False


def _zero(expr: Any) -> bool | None:
    """True if ``expr`` simplifies to zero, False if it is provably non-zero, None if unknown."""
    if _symbolic_shape(expr):
        simplified = sp.simplify(expr.doit())
        return True if simplified.is_ZeroMatrix or simplified == 0 else None
    if _is_matrix(expr):
        expr = sp.Matrix(expr.as_explicit()) if isinstance(expr, sp.MatrixExpr) else expr
        verdicts = [_zero(e) for e in expr]
        if all(v is True for v in verdicts):
            return True
        if any(v is False for v in verdicts):
            return False
        return None
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    if expr.has(sp.nan):
        return None
    expanded = sp.expand(expr)
    if expanded == 0:
        return True
    roots = [p for p in expr.atoms(sp.Pow) if p.exp.is_Rational and not p.exp.is_Integer]
    factored = expr.xreplace({p: sp.factor(p.base) ** p.exp for p in roots}) if roots else expr
    if sp.count_ops(expanded) > SIMPLIFY_OPS:
        if roots and sp.count_ops(factored) <= SIMPLIFY_OPS and sp.simplify(factored) == 0:
            return True  # sqrt(u**2 + 2uv + v**2) = |u + v| once the radicand is factored
        return None  # too large for simplify in reasonable time: spot-checked instead, and labelled so
    if _cancels(expr):
        return True
    simplified = sp.simplify(expr)
    if simplified == 0:
        return True
    if simplified.is_number and simplified.is_zero is False:
        return False
    if roots and sp.simplify(factored) == 0:
        return True
    if expr.has(*_PIECEWISE_FUNCS) and _piecewise_zero(expr):
        return True
    return sp.expand(simplified).equals(0)


def _difference(lhs: Any, rhs: Any) -> Any:
    if _is_matrix(lhs) or _is_matrix(rhs):
        return sp.Matrix(lhs) - sp.Matrix(rhs) if not isinstance(lhs, sp.MatrixExpr) else lhs - rhs
    return sp.sympify(lhs) - sp.sympify(rhs)


def _simplified(diff: Any) -> Any:
    """``diff`` with each entry simplified where that is cheap (the same size limit as :func:`_zero`)."""
    def one(e):
        e = sp.sympify(e)
        return sp.simplify(e) if sp.count_ops(sp.expand(e)) <= SIMPLIFY_OPS else e

    return diff.applyfunc(one) if isinstance(diff, sp.MatrixBase) else one(diff)


# -- solution sets ---------------------------------------------------------------------
def _canonical(s: sp.Set) -> sp.Set:
    """An intersection of intervals as one interval, endpoints compared by SymPy (Max/Min)."""
    if isinstance(s, sp.Intersection) and all(isinstance(a, sp.Interval) for a in s.args):
        lo, hi = sp.Max(*[a.start for a in s.args]), sp.Min(*[a.end for a in s.args])
        if isinstance(lo, sp.Max) or isinstance(hi, sp.Min):
            return s
        lopen = any(a.left_open for a in s.args if a.start == lo)
        ropen = any(a.right_open for a in s.args if a.end == hi)
        return sp.Interval(lo, hi, lopen, ropen)
    return s


def _same_interval(a: sp.Set, b: sp.Set) -> bool:
    """Two intervals with the same openness whose endpoints simplify to the same values."""
    if not (isinstance(a, sp.Interval) and isinstance(b, sp.Interval)):
        return False
    return ((a.left_open, a.right_open) == (b.left_open, b.right_open)
            and _zero(a.start - b.start) is True and _zero(a.end - b.end) is True)


def _solve_set(relation: Any, x: sp.Symbol) -> sp.Set:
    """The real solution set of a relation, with And/Or as intersection/union."""
    if relation is sp.true:
        return sp.S.Reals
    if relation is sp.false:
        return sp.S.EmptySet
    if isinstance(relation, sp.And):
        return sp.Intersection(*[_solve_set(a, x) for a in relation.args])
    if isinstance(relation, sp.Or):
        return sp.Union(*[_solve_set(a, x) for a in relation.args])
    return sp.solveset(relation, x, domain=sp.S.Reals)


# -- tying a result to the step it is the value of ------------------------------------
def _sides(step: Step) -> list:
    """What a step proves a value of: its rhs and lhs, and the ends of a claimed interval."""
    sides = [x for x in (step.rhs, step.lhs) if x is not None and not isinstance(x, str)]
    if isinstance(step.rhs, sp.Interval):
        sides += [step.rhs.start, step.rhs.end]
    return sides


def _tie(value: Any, steps: list[Step], checks: tuple[StepCheck, ...]) -> ResultCheck | None:
    """The best-status step with a side equal to ``value``: structurally first, then (small
    expressions with the same symbols only, to stay fast) by expand and cancel."""
    rank = {"proved": 0, "spot-checked": 1, "given": 2, "undecided": 3, "failed": 4}
    best = None
    for cheap in (True, False):
        for i, (s, c) in enumerate(zip(steps, checks)):
            if best is not None and rank[c.status] >= rank[best[1]]:
                continue
            if any(_same_value(value, side, cheap) for side in _sides(s)):
                best = (i, c.status)
        if best is not None:
            return ResultCheck("", best[1], best[0])
    return None


#: results and step sides compared by expand and cancel only up to this many operations together
TIE_OPS = 120


def _cheap_zero(e: sp.Expr) -> bool:
    """Zero by expand, then (small ones) by cancel: no simplify, tying results must stay fast."""
    e = sp.expand(e)
    return e == 0 or (sp.count_ops(e) <= TIE_OPS // 2 and sp.cancel(e) == 0)


def _same_value(a: Any, b: Any, cheap: bool) -> bool:
    try:
        if cheap:
            return bool(a == b) if not isinstance(a, (list, tuple)) else isinstance(b, (list, tuple)) and list(a) == list(b)
        if _is_matrix(a) and _is_matrix(b) and not isinstance(a, sp.MatrixExpr) and not isinstance(b, sp.MatrixExpr):
            if a.shape != b.shape or a.free_symbols != b.free_symbols:
                return False
            if sp.count_ops(a) + sp.count_ops(b) > TIE_OPS:
                return False
            return all(_cheap_zero(e) for e in sp.Matrix(a) - sp.Matrix(b))
        if not isinstance(a, sp.Expr) or not isinstance(b, sp.Expr) or _is_matrix(a) or _is_matrix(b):
            return False
        if a.free_symbols != b.free_symbols or sp.count_ops(a) + sp.count_ops(b) > TIE_OPS:
            return False
        return _cheap_zero(a - b)
    except Exception:  # noqa: BLE001 - incomparable objects are simply not the same value
        return False
