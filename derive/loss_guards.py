"""Size and realness guards of a parsed loss (:func:`derive.expressions.parse_loss`), run before anything
expands or differentiates it: the tree's size, exponents once SymPy has merged nested powers, an upper bound
on the number of terms of its full expansion, numbers SymPy merged from constants, and realness (SymPy
decides; when it cannot, a fixed set of sample points does)."""
from __future__ import annotations

import math

import sympy

MAX_EXPONENT = 100
MAX_NODES = 5000
MAX_EXPANDED_TERMS = 2000
#: the largest magnitude of a number computed from constants (a float's range)
MAX_MAGNITUDE = 1.7976931348623157e308


class ExpressionError(ValueError):
    """A loss formula was rejected; the message is meant for the user."""


def check_number(value: sympy.Expr, what: str) -> None:
    """A number built from constants (its arguments already checked): real and within a float's range.
    Evaluating it is cheap because every argument was bounded the same way when it was built."""
    if value.is_Rational:
        return
    try:
        v = value.evalf(15)
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError):
        raise ExpressionError(f"the number {what} in loss expression cannot be evaluated") from None
    if v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        raise ExpressionError(f"the number {what} in loss expression is not finite")
    re_, im_ = v.as_real_imag()
    if not (re_.is_Number and im_.is_Number):
        raise ExpressionError(f"the number {what} in loss expression cannot be evaluated")
    if im_ != 0 and abs(im_) > 1e-12 * max(1, abs(re_)):
        raise ExpressionError(f"the number {what} in loss expression is not real (it is {sympy.sstr(v)}); "
                              "the loss must be real-valued")
    if abs(re_) > MAX_MAGNITUDE:
        about = sympy.sstr(sympy.log(abs(re_), 10).evalf(3))
        raise ExpressionError(f"the number {what} in loss expression is beyond a float's range "
                              f"(about 10^{about}; at most ~1.8e308 in absolute value)")

#: a long flat product x*x*...*x (at most 1000 characters) merges into a power of one symbol: harmless
MAX_SYMBOL_EXPONENT = 1000


def check_size(expr: sympy.Expr) -> None:
    """Refuse, before anything expands it, a tree that is too large, a merged exponent beyond
    MAX_EXPONENT, or a loss whose full expansion would exceed MAX_EXPANDED_TERMS terms."""
    nodes = 0
    for node in sympy.preorder_traversal(expr):
        nodes += 1
        if nodes > MAX_NODES:
            raise ExpressionError(f"the loss expression is too large once parsed (more than {MAX_NODES} nodes)")
        if isinstance(node, sympy.Pow) and node.exp.is_Number and abs(node.exp) > MAX_EXPONENT \
                and not (node.base.is_Symbol and abs(node.exp) <= MAX_SYMBOL_EXPONENT):  # x*x*...*x is x**n
            raise ExpressionError(f"the loss contains the power ({sympy.sstr(node.base)[:40]})**{node.exp} once nested "
                                  f"powers are multiplied out; exponents must be at most {MAX_EXPONENT} in absolute value")
        if not node.free_symbols and isinstance(node, (sympy.Function, sympy.Pow)) and not node.is_Rational:
            check_number(node, sympy.sstr(node)[:60])  # e.g. exp(700)*exp(700), merged by SymPy into exp(1400)
    terms = _expanded_terms(expr)
    if terms > MAX_EXPANDED_TERMS:
        raise ExpressionError(f"the loss would have {'more than 10^6' if terms >= 10**6 else terms} terms once "
                              f"expanded (at most {MAX_EXPANDED_TERMS}); use a smaller power or fewer summands")


def _expanded_terms(expr: sympy.Expr, cap: int = 10**6) -> int:
    """An upper bound (capped) on the number of terms of ``expand(expr)``, from the tree alone; arguments
    of functions are bounded the same way (expand goes inside them)."""
    if expr.is_Add:
        return min(cap, sum(_expanded_terms(a, cap) for a in expr.args))
    if expr.is_Mul:
        out = 1
        for a in expr.args:
            out = min(cap, out * _expanded_terms(a, cap))
        return out
    if expr.is_Pow:
        base = _expanded_terms(expr.base, cap)
        if expr.exp.is_Integer and base > 1:
            n = abs(int(expr.exp))
            return min(cap, math.comb(base + n - 1, n))  # monomials of degree n in `base` terms
        return max(base, _expanded_terms(expr.exp, cap))
    worst = max((_expanded_terms(a, cap) for a in expr.args), default=1)
    if worst > MAX_EXPANDED_TERMS:  # inside a function
        return worst
    return 1


#: sample values for the numeric realness test (various signs and scales), parameter i at offset 5*i
_SAMPLES = (0.37, -0.61, 1.3, -2.2, 0.05, 7.5, -13.0, 110.0, -0.9, 3.1, 1.0e3, -1.0e4, 0.77, 2.9e4)


def check_real(expr: sympy.Expr) -> None:
    """The loss must be real-valued for real parameters: SymPy decides, or (undecided) sample points do:
    complex at every one of them is refused."""
    try:
        real = expr.is_extended_real
    except (RecursionError, TypeError, ValueError, ArithmeticError):
        real = None
    if real is False:
        raise ExpressionError(f"the loss {sympy.sstr(expr)[:60]} is not real-valued for real parameters "
                              "(decided by SymPy); the loss must be real")
    if real:
        return
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    complex_at, real_points, complex_points = None, 0, 0
    for k in range(len(_SAMPLES)):
        point = {s: sympy.Float(_SAMPLES[(k + 5 * i) % len(_SAMPLES)]) for i, s in enumerate(syms)}
        try:
            v = expr.evalf(15, subs=point)
            re_, im_ = v.as_real_imag()
        except (ArithmeticError, ValueError, TypeError, RecursionError):
            continue
        if not (re_.is_Number and im_.is_Number) or v.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            continue  # undefined or infinite there (e.g. a pole): no evidence either way
        if im_ != 0 and abs(im_) > 1e-9 * max(1, abs(re_)):
            complex_at = complex_at or (point, v)
            complex_points += 1
        else:
            real_points += 1
    # complex at every sample point where it is defined: refused.  A loss real on part of the space
    # (log(theta), asin(theta/2), sqrt(theta - 5)) is kept: it is real where it is defined.  So is
    # (-1)**theta, which is real at the integers only; the sample points cannot tell the two apart.
    if complex_at is not None and real_points == 0:
        point, v = complex_at
        where = ", ".join(f"{s.name}={float(x):g}" for s, x in point.items())
        raise ExpressionError(f"the loss is not real-valued: SymPy cannot decide, but it is complex at "
                              f"{complex_points} of the {complex_points + real_points} sample points tested "
                              f"numerically (e.g. at {where} it is {sympy.sstr(v.evalf(6))}); the loss must be real")
