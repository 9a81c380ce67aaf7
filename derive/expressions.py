"""Safe parsing of user-supplied loss formulas into SymPy expressions.

Why not ``sympy.parse_expr`` / ``sympify``?  Both hand the text to Python's
``eval``, so a "loss" such as ``__import__('os').system(...)`` would run code.
Here the text is only *parsed* by ``ast.parse(text, mode="eval")``; the syntax
tree is then walked with a strict whitelist and the SymPy expression is built
node by node.  Nothing from the input is ever evaluated as Python.

Grammar: numbers (int, decimal), parameter names, unary ``+ -``, binary
``+ - * / **``, parentheses, and calls to whitelisted functions.  ``^`` is a
synonym for ``**`` (same precedence and right associativity, *not* XOR), so
``a^2 + 10*b^2`` means ``a**2 + 10*b**2``.  Constants: ``pi``, ``E`` (also
``e``).  ``sigmoid(x)`` is ``1/(1+exp(-x))`` and ``softplus(x)`` is
``log(1+exp(x))``.  Every other name is a parameter, a real SymPy symbol.

Decimal literals are exact: ``0.3`` is the Rational 3/10 read from its text (not
the binary float nearest to it), so the derivations built on a loss stay exact.
Non-smooth functions (``relu``, ``max``, ``min``, ``sign``, ``Heaviside``,
``abs``/``Abs``) are rejected: their derivatives are not functions (``Abs`` gives
``sign`` and ``DiracDelta``).

Resource guards, all checked before anything is expanded: at most 1000 characters,
nesting depth at most 50 (long flat sums/products do not count as nesting), integer
literals at most 10**6 in absolute value, numeric exponents at most 100 in absolute
value -- also once SymPy has merged nested powers, ``(x**100)**100`` is x**10000 --,
no exact numeric power with more than 20000 bits, at most 5000 nodes in the parsed
expression and at most 2000 terms once fully expanded (an upper bound computed from
the tree, e.g. ``(a+b+c+d+f+g)**100`` would have 96 million).  Every number computed
from constants (``exp(3)``, ``acos(2)``, ``pi**pi``) is evaluated when it is built,
from arguments already checked, so ``exp(exp(exp(100)))`` stops at the second level:
it must be real and at most ~1.8e308 (a float) in absolute value.

Meaning guards: a parameter may not be named like anything SymPy's parser reads as
something else (``I``, ``E``, ``S``, ``N``, ``O``, ``Q``, ``oo``, ``nan``, ``zoo``,
``pi``, ``beta``, ``gamma``, ``zeta``, Python builtins such as ``sum``...), so that
printed results read back with the same meaning.  The loss must be real-valued for
real parameters: refused when SymPy decides it is not real, or, when SymPy cannot
decide, when it is complex at every one of a fixed set of sample points (a loss real
on part of the space only, such as ``log(x)``, is accepted).
"""
from __future__ import annotations

import ast
import builtins
import math
import re
import warnings
from fractions import Fraction
from typing import Sequence

import sympy

from derive.loss_guards import (MAX_EXPANDED_TERMS, MAX_EXPONENT, MAX_NODES, ExpressionError,  # noqa: F401
                                check_number as _check_number, check_real, check_size)

MAX_LENGTH = 1000
MAX_DEPTH = 50
MAX_INT_LITERAL = 10**6
MAX_POWER_BITS = 20000

_sigmoid = lambda x: 1 / (1 + sympy.exp(-x))  # noqa: E731
_softplus = lambda x: sympy.log(1 + sympy.exp(x))  # noqa: E731
# name -> (builder, allowed numbers of positional arguments)
FUNCTIONS = {
    "sin": (sympy.sin, (1,)), "cos": (sympy.cos, (1,)), "tan": (sympy.tan, (1,)),
    "exp": (sympy.exp, (1,)), "log": (sympy.log, (1, 2)), "sqrt": (sympy.sqrt, (1,)),
    "tanh": (sympy.tanh, (1,)), "sinh": (sympy.sinh, (1,)), "cosh": (sympy.cosh, (1,)),
    "asin": (sympy.asin, (1,)), "acos": (sympy.acos, (1,)), "atan": (sympy.atan, (1,)),
    "sigmoid": (_sigmoid, (1,)), "softplus": (_softplus, (1,)),
}
CONSTANTS = {"pi": sympy.pi, "E": sympy.E, "e": sympy.E}
NON_SMOOTH = {"relu", "max", "min", "sign", "Heaviside", "abs", "Abs"}
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_GROUP = {ast.Add: 0, ast.Sub: 0, ast.Mult: 1, ast.Div: 1}
ALLOWED = ("allowed: numbers, parameter names, + - * / ** ^, parentheses, the functions "
           + ", ".join(sorted(FUNCTIONS, key=str.lower)) + ", and the constants pi, E (e)")


def _sympy_names() -> dict:
    """What SymPy's own parser (``sympify``) reads each name as, when it is not a plain Symbol."""
    ns: dict = {}
    exec("from sympy import *", ns)  # noqa: S102 - fixed text, not user input
    out = {n: v for n, v in ns.items() if not n.startswith("_") and not isinstance(v, sympy.Symbol)}
    out.update({n: getattr(builtins, n) for n in dir(builtins) if not n.startswith("_") and n not in out})
    return out


SYMPY_NAMES = _sympy_names()


def _clash(name: str) -> str | None:
    """Why ``name`` cannot be a loss parameter (SymPy reads it as something else), or None."""
    if name not in SYMPY_NAMES:
        return None
    obj = SYMPY_NAMES[name]
    if name in ("I", "oo", "nan", "zoo", "E", "pi") or isinstance(obj, sympy.Number) or getattr(obj, "is_number", False) is True:
        kind = "a SymPy constant"
    elif name in dir(builtins):
        kind = "a Python builtin SymPy's parser knows"
    elif isinstance(obj, type) and issubclass(obj, sympy.Function):
        kind = "a SymPy function"
    else:
        kind = "a SymPy name"
    return kind


def _apply(op: ast.operator, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    if isinstance(op, ast.Add):
        return a + b
    if isinstance(op, ast.Sub):
        return a - b
    if isinstance(op, ast.Mult):
        return a * b
    if isinstance(op, ast.Div):
        return a / b
    if b.is_Number and abs(b) > MAX_EXPONENT:
        raise ExpressionError(f"exponent {sympy.sstr(b)[:24]} in loss expression is too large; "
                              f"exponents must be at most {MAX_EXPONENT} in absolute value")
    if a.is_Rational and b.is_Number:
        bits = max(abs(a.p).bit_length(), a.q.bit_length()) * abs(float(b))
        if bits > MAX_POWER_BITS:
            raise ExpressionError("numeric power in loss expression is too large; use smaller numbers or exponents")
    if not a.free_symbols and not b.free_symbols:
        _check_number(a, sympy.sstr(a)[:40])  # a base/exponent beyond a float would make a**b unevaluable
        _check_number(b, sympy.sstr(b)[:40])
        if not (a.is_Rational and b.is_Rational) and a != 0:
            # log10 |a**b| <= |b| log10|a| (with the principal branch): bound it before evaluating
            mag = float(abs(b.evalf(15))) * abs(math.log10(float(abs(a.evalf(15))) or 1e-300))
            if mag > 400:
                raise ExpressionError(f"the number {sympy.sstr(a)[:30]}**{sympy.sstr(b)[:30]} in loss expression "
                                      "is beyond a float's range")
        value = a**b
        _check_number(value, sympy.sstr(sympy.Pow(a, b, evaluate=False))[:60])
        return value
    return a**b


class _Builder:
    def __init__(self, source: str = "") -> None:
        self.names: set[str] = set()
        self.source = source  # the parsed text, to read decimal literals exactly

    def build(self, node: ast.AST, depth: int = 0) -> sympy.Expr:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"loss expression is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.BinOp) and type(node.op) in _GROUP:
            group, chain = _GROUP[type(node.op)], []
            while isinstance(node, ast.BinOp) and _GROUP.get(type(node.op)) == group:
                chain.append((node.op, node.right))  # unroll flat sums/products iteratively
                node = node.left
            acc = self.build(node, depth + 1)
            for op, right in reversed(chain):
                acc = _apply(op, acc, self.build(right, depth + 1))
            return acc
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return _apply(node.op, self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        if isinstance(node, ast.BinOp):
            raise ExpressionError(f"unsupported operator '{type(node.op).__name__}' in loss expression; {ALLOWED}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            value = self.build(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.UnaryOp):
            raise ExpressionError(f"unsupported operator '{type(node.op).__name__}' in loss expression; {ALLOWED}")
        if isinstance(node, ast.Constant):
            return self.constant(node.value, ast.get_source_segment(self.source, node))
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        raise ExpressionError(f"unsupported syntax '{type(node).__name__}' in loss expression; {ALLOWED}")

    def constant(self, value: object, text: str | None = None) -> sympy.Expr:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = type(value).__name__
            raise ExpressionError(f"unsupported constant of type '{kind}' in loss expression; {ALLOWED}")
        if isinstance(value, int):
            if abs(value) > MAX_INT_LITERAL:
                raise ExpressionError(f"integer literal in loss expression too large "
                                      f"(at most {MAX_INT_LITERAL} in absolute value; write e.g. 1e7)")
            return sympy.Integer(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError("number literal in loss expression is not finite (it overflows a float)")
        return _exact_decimal(value, text)

    def name(self, name: str) -> sympy.Expr:
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise ExpressionError(f"'{name}' in loss expression is a function; call it like {name}(x)")
        if name in ("abs", "Abs"):
            raise ExpressionError(f"'{name}' is not allowed in loss expression: it is not smooth, "
                                  f"so its derivatives are undefined; {ALLOWED}")
        _check_name(name)
        self.names.add(name)
        return sympy.Symbol(name, real=True)

    def call(self, node: ast.Call, depth: int) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            kind = type(node.func).__name__
            raise ExpressionError(f"only plain function names can be called in loss expression, not '{kind}'; {ALLOWED}")
        fname = node.func.id
        if fname in NON_SMOOTH:
            raise ExpressionError(f"'{fname}' is not allowed in loss expression: it is not smooth, "
                                  f"so its derivatives are undefined; {ALLOWED}")
        if fname not in FUNCTIONS:
            raise ExpressionError(f"unknown function '{fname}' in loss expression; {ALLOWED}")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"function '{fname}' in loss expression takes positional arguments only "
                                  "(no keywords or *args)")
        func, arities = FUNCTIONS[fname]
        if len(node.args) not in arities:
            want = " or ".join(map(str, arities))
            got = len(node.args)
            raise ExpressionError(f"function '{fname}' in loss expression takes {want} argument(s), got {got}")
        args = [self.build(a, depth + 1) for a in node.args]
        for a in args:  # every constant argument is bounded before the function sees it
            if not a.free_symbols:
                if a.is_Rational and max(abs(a.p).bit_length(), a.q.bit_length()) > 1100:
                    raise ExpressionError(f"the argument of {fname}(...) in loss expression is beyond a float's range")
                _check_number(a, sympy.sstr(a)[:40])
        value = func(*args)
        if not value.free_symbols:  # a number: real, finite, within a float's range (exp(exp(100)) is not)
            _check_number(value, f"{fname}({', '.join(sympy.sstr(a)[:30] for a in args)})")
        return value


def _exact_decimal(value: float, text: str | None) -> sympy.Rational:
    """The exact Rational a decimal literal denotes: ``0.3`` -> 3/10 (from its text)."""
    text = (text or "").replace("_", "")
    if not value:  # 0.0: the literal is 0, or it underflows (never compute 10**huge for "1e-99999999")
        if any(c in "123456789" for c in re.split("[eE]", text)[0]):
            raise ExpressionError("number literal in loss expression is too small (it underflows a float to 0)")
        return sympy.Integer(0)
    try:  # a finite nonzero float: the exponent is small, so the Fraction is cheap
        frac = Fraction(text)
    except (ValueError, ZeroDivisionError):
        frac = Fraction(repr(value))  # no usable source text: the shortest repr is the literal
    return sympy.Rational(frac.numerator, frac.denominator)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ExpressionError(f"invalid loss parameter name {name!r}: "
                              "use a letter followed by letters, digits or '_'")
    if name in FUNCTIONS or name in CONSTANTS or name in ("abs", "Abs"):
        raise ExpressionError(f"'{name}' is a reserved function or constant name, not a loss parameter")
    kind = _clash(name)
    if kind is not None:
        raise ExpressionError(f"loss parameter name '{name}' is {kind}: printed results would read it as that, "
                              f"not as your parameter; name it otherwise (e.g. {name}_ or {name}1)")


def build(text: str, what: str = "loss expression") -> tuple[sympy.Expr, set[str]]:
    """``text`` parsed (a whitelisted syntax tree, never ``eval``) and built into SymPy: ``(expr, the names it
    uses)``.  Too long, unparsable or unevaluable text raises :class:`ExpressionError` naming ``what``."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the {what} is too long ({len(text)} characters; at most {MAX_LENGTH})")
    try:
        with warnings.catch_warnings():  # e.g. SyntaxWarning "invalid decimal literal"
            warnings.simplefilter("ignore")
            source = text.strip().replace("^", "**")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"could not parse {what}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"could not parse {what}: {str(exc) or type(exc).__name__}") from None
    builder = _Builder(source)
    try:
        expr = builder.build(tree.body)
    except ExpressionError:
        raise
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"could not evaluate {what}: {str(exc) or type(exc).__name__}") from None
    return expr, set(builder.names)


def parse_loss(text: str, params: Sequence[str] | None = None) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
    """Parse ``text`` into ``(expr, symbols)`` without evaluating any Python.

    ``symbols`` are the parameters as real symbols: exactly ``params`` in that
    order if given (names the formula does not use are allowed), otherwise all
    names written in the formula, ``theta`` first, the rest sorted.
    """
    if not isinstance(text, str):
        raise ExpressionError("the loss expression must be a string")
    if not text.strip():
        raise ExpressionError("the loss expression is empty")
    expr, names = build(text)
    bad = (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo, sympy.I)
    if not isinstance(expr, sympy.Expr) or any(expr.has(b) for b in bad):
        raise ExpressionError("the loss is not real and finite (division by zero, log of 0, or a complex value?)")
    if not expr.free_symbols:
        raise ExpressionError("the loss must depend on at least one parameter")
    kinks = (sympy.Abs, sympy.sign, sympy.Heaviside, sympy.DiracDelta, sympy.Max, sympy.Min)
    if any(expr.has(k) for k in kinks):  # e.g. sqrt(x**2), which SymPy writes Abs(x) for a real x
        raise ExpressionError(f"the loss is not smooth: it simplifies to {sympy.sstr(expr)[:80]}, "
                              "whose derivatives are undefined at the kink")
    check_size(expr)
    check_real(expr)
    if params is None:
        names = sorted(names, key=lambda n: (n != "theta", n))
    else:
        used, names = names, list(params)
        for name in names:
            _check_name(name)
        if len(set(names)) != len(names):
            raise ExpressionError(f"duplicate loss parameter names in {names}")
        unknown = sorted(used - set(names))
        if unknown:
            raise ExpressionError(f"the loss uses names that are not parameters: {', '.join(unknown)} "
                                  f"(parameters: {', '.join(names)})")
    return expr, tuple(sympy.Symbol(n, real=True) for n in names)
