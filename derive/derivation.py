"""Derivations: titled chains of steps that SymPy itself checks.

A :class:`Derivation` is a list of steps.  Each step is a mathematical claim plus a
one-line reason ("first-order Taylor expansion", "Jury criterion", ...).  ``check()``
proves every claim it can:

* ``equal``     lhs = rhs, proved by ``simplify(lhs - rhs) == 0`` or ``lhs.equals(rhs)``;
* ``then``      the same, continuing the previous right-hand side (an ``&=`` line);
* ``solution``  x = s solves an equation: substitution gives zero;
* ``equivalent`` a relation in one real variable holds exactly on a given set
                (``solveset`` over the reals);
* ``positive``  expr > 0, proved by SymPy's assumptions (symbols declared positive, ...);
* ``given``     a definition or assumption: stated, not proved, and reported as such.

When SymPy cannot decide an equality, the step is spot-checked numerically at random
points and reported as ``spot-checked``, never as ``proved``.  When even that is not
possible (undefined functions, say) the step is ``undecided``, which counts as failed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

#: above this many operations (after expand), simplify is not attempted: its cost explodes
#: on large transcendental expressions, and a labelled numeric spot-check is honest
SIMPLIFY_OPS = 400

#: statuses that count as a success of ``check()``
PASSING = ("proved", "spot-checked", "given")


@dataclass(frozen=True)
class Step:
    """One claim of a derivation, with the reason that justifies it."""

    kind: str  # equal | then | solution | equivalent | positive | given
    lhs: Any
    rhs: Any
    reason: str
    symbol: Any = None  # the variable, for solution / equivalent steps
    continues: bool = False  # rendered as "&= rhs" after the previous line
    display: str | None = None  # LaTeX shown for lhs instead of latex(lhs)
    relation: str = "="  # a given step may state an inequality: "<=", ">=", "<", ">"


@dataclass(frozen=True)
class StepCheck:
    """The outcome of checking one step."""

    step: Step
    status: str  # proved | spot-checked | given | failed | undecided
    method: str  # how: simplify, equals, substitution, solveset, random points, ...
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in PASSING


@dataclass(frozen=True)
class DerivationCheck:
    """All step checks of one derivation."""

    name: str
    steps: tuple[StepCheck, ...]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("proved", "spot-checked", "given", "undecided", "failed") if self.count(s)]
        return ", ".join(parts)


def _is_matrix(x: Any) -> bool:
    return isinstance(x, (sp.MatrixBase, sp.MatrixExpr))


def _symbolic_shape(expr: Any) -> bool:
    return isinstance(expr, sp.MatrixExpr) and not all(sp.sympify(d).is_Integer for d in expr.shape)


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
    expanded = sp.expand(expr)
    if expanded == 0:
        return True
    if sp.count_ops(expanded) > SIMPLIFY_OPS:
        return None  # too large for simplify in reasonable time: spot-checked instead, and labelled so
    simplified = sp.simplify(expr)
    if simplified == 0:
        return True
    if simplified.is_number and simplified.is_zero is False:
        return False
    verdict = sp.expand(simplified).equals(0)
    return verdict


def _sample(symbol: sp.Symbol, rng: random.Random) -> sp.Rational:
    """A random exact value that respects the symbol's assumptions."""
    if symbol.is_integer:
        lo = 1 if symbol.is_positive else (0 if symbol.is_nonnegative else -5)
        return sp.Integer(rng.randint(lo, 7))
    x = sp.Rational(rng.randint(1, 997), 331)  # in (0, 3]
    if symbol.is_positive or symbol.is_nonnegative:
        return x
    if symbol.is_negative:
        return -x
    return x if rng.random() < 0.5 else -x


def spot_check(expr: Any, points: int = 5, seed: int = 0, tol: float = 1e-9) -> tuple[str, str]:
    """Evaluate ``expr`` (claimed to be zero) at random points; return (status, detail)."""
    items = list(expr) if _is_matrix(expr) else [expr]
    items = [sp.sympify(e) for e in items]
    if any(e.atoms(sp.core.function.AppliedUndef) for e in items):
        return "undecided", "contains undefined functions: cannot be evaluated at points"
    symbols = sorted(set().union(*(e.free_symbols for e in items)), key=str)
    rng = random.Random(seed)
    worst = 0.0
    for _ in range(points):
        values = {s: _sample(s, rng) for s in symbols}
        for e in items:
            v = sp.N(e.subs(values), 30)
            if not v.is_number or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
                return "undecided", f"not a finite number at a random point ({v})"
            worst = max(worst, float(abs(v)))
    if worst <= tol:
        return "spot-checked", f"SymPy could not decide; |lhs - rhs| <= {worst:.1e} at {points} random points"
    return "failed", f"|lhs - rhs| = {worst:.3g} at a random point"


def check_step(step: Step) -> StepCheck:
    """Prove (or refute, or spot-check) one step."""
    if step.kind == "given":
        return StepCheck(step, "given", "definition or assumption")
    if step.kind in ("equal", "then"):
        return _check_difference(step, _difference(step.lhs, step.rhs), "simplify")
    if step.kind == "positive":
        expr = sp.factor(sp.simplify(step.lhs))
        if expr.is_positive:
            return StepCheck(step, "proved", "assumptions")
        if expr.is_positive is False:
            return StepCheck(step, "failed", "assumptions", f"SymPy shows {expr} is not positive")
        return StepCheck(step, "undecided", "assumptions", f"SymPy cannot decide the sign of {expr}")
    if step.kind == "solution":
        eqs = step.lhs if isinstance(step.lhs, (list, tuple)) else [step.lhs]
        res = [e.lhs - e.rhs if isinstance(e, sp.Equality) else e for e in eqs]
        subs = (dict(zip(step.symbol, step.rhs)) if isinstance(step.symbol, (list, tuple))
                else {step.symbol: step.rhs})
        res = [r.subs(subs) for r in res]
        residual = res[0] if len(res) == 1 else sp.Matrix(res)
        return _check_difference(step, residual, "substitution")
    if step.kind == "equivalent":
        got = _solve_set(step.lhs, step.symbol)
        if not isinstance(got, sp.Set) or got.has(sp.ConditionSet):
            return StepCheck(step, "undecided", "solveset", f"solveset could not solve the relation: {got}")
        got = _canonical(got)
        if got == step.rhs:
            return StepCheck(step, "proved", "solveset")
        if _same_interval(got, step.rhs):
            return StepCheck(step, "proved", "solveset")
        diff = sp.Union(sp.Complement(got, step.rhs), sp.Complement(step.rhs, got))
        if diff.is_empty:
            return StepCheck(step, "proved", "solveset")
        return StepCheck(step, "failed", "solveset", f"solution set is {got}, claimed {step.rhs}")
    raise ValueError(f"unknown step kind {step.kind!r}")


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
    if isinstance(relation, sp.And):
        return sp.Intersection(*[_solve_set(a, x) for a in relation.args])
    if isinstance(relation, sp.Or):
        return sp.Union(*[_solve_set(a, x) for a in relation.args])
    return sp.solveset(relation, x, domain=sp.S.Reals)


def _difference(lhs: Any, rhs: Any) -> Any:
    lhs = lhs.doit() if hasattr(lhs, "doit") else lhs
    rhs = rhs.doit() if hasattr(rhs, "doit") else rhs
    if _is_matrix(lhs) or _is_matrix(rhs):
        return sp.Matrix(lhs) - sp.Matrix(rhs) if not isinstance(lhs, sp.MatrixExpr) else lhs - rhs
    return sp.sympify(lhs) - sp.sympify(rhs)


def _check_difference(step: Step, diff: Any, method: str) -> StepCheck:
    verdict = _zero(diff)
    if verdict is True:
        return StepCheck(step, "proved", method)
    if verdict is False:
        return StepCheck(step, "failed", method, "SymPy shows lhs - rhs is not zero")
    if _symbolic_shape(diff):
        return StepCheck(step, "undecided", method, "matrix of symbolic size: cannot be evaluated at points")
    status, detail = spot_check(diff)
    return StepCheck(step, status, "random points", detail)


@dataclass
class Derivation:
    """A titled chain of steps, each a SymPy relation with a one-line reason.

    Build it with :meth:`given`, :meth:`equal`, :meth:`then`, :meth:`solution` and
    :meth:`equivalent`; record what other code uses with :meth:`result`.
    """

    name: str
    title: str
    summary: str = ""
    steps: list[Step] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)

    # -- building -------------------------------------------------------------------
    def given(self, lhs: Any, rhs: Any, reason: str, relation: str = "=") -> "Derivation":
        """State a definition, assumption or cited theorem ``lhs = rhs`` (or ``lhs <= rhs`` etc.
        with ``relation``); not proved, reported as given."""
        if relation not in ("=", "<=", ">=", "<", ">"):
            raise ValueError(f"relation must be one of =, <=, >=, <, >; got {relation!r}")
        self.steps.append(Step("given", lhs, rhs, reason, relation=relation))
        return self

    def equal(self, lhs: Any, rhs: Any, reason: str, display: str | None = None) -> "Derivation":
        """Claim ``lhs = rhs``; check() proves it.  ``display``: LaTeX to show for lhs
        (e.g. an unevaluated operator) instead of SymPy's rendering of it."""
        self.steps.append(Step("equal", lhs, rhs, reason, display=display))
        return self

    def then(self, rhs: Any, reason: str) -> "Derivation":
        """Claim that the previous right-hand side equals ``rhs`` (an ``&= rhs`` line)."""
        if not self.steps or self.steps[-1].kind not in ("equal", "then", "given"):
            raise ValueError("then() continues an equality: add an equal() or given() step first")
        self.steps.append(Step("then", self.steps[-1].rhs, rhs, reason, continues=True))
        return self

    def solution(self, equation: Any, symbol: Any, value: Any, reason: str) -> "Derivation":
        """Claim that ``symbol = value`` solves ``equation`` (an Eq, or an expression = 0);
        a list of equations with tuples of symbols and values for a system."""
        self.steps.append(Step("solution", equation, value, reason, symbol=symbol))
        return self

    def equivalent(self, relation: Any, symbol: sp.Symbol, region: sp.Set, reason: str) -> "Derivation":
        """Claim that the real ``symbol`` satisfies ``relation`` exactly on ``region``."""
        self.steps.append(Step("equivalent", relation, region, reason, symbol=symbol))
        return self

    def positive(self, expr: Any, reason: str, display: str | None = None) -> "Derivation":
        """Claim ``expr > 0`` under the symbols' assumptions."""
        self.steps.append(Step("positive", expr, sp.S.Zero, reason, display=display))
        return self

    def result(self, name: str, value: Any) -> "Derivation":
        """Record a named result (a SymPy expression) for other code to use."""
        self.results[name] = value
        return self

    # -- checking -------------------------------------------------------------------
    def check(self) -> DerivationCheck:
        """Check every step; see the module docstring for what each status means."""
        return DerivationCheck(self.name, tuple(check_step(s) for s in self.steps))

    # -- output ---------------------------------------------------------------------
    def to_latex(self, check: DerivationCheck | None = None, standalone: bool = False) -> str:
        """An ``align*`` block (a compilable document if ``standalone``); pass ``check``
        to mark every step that is not proved."""
        from derive.render import derivation_latex

        return derivation_latex(self, check, standalone=standalone)

    def to_markdown(self, check: DerivationCheck | None = None) -> str:
        """GitHub Markdown with ``$$`` blocks."""
        from derive.render import derivation_markdown

        return derivation_markdown(self, check)

    def to_json(self, check: DerivationCheck | None = None) -> dict:
        """A JSON-serializable dict of steps, statuses and results."""
        from derive.render import derivation_json

        return derivation_json(self, check)

    def _repr_latex_(self) -> str:
        from derive.render import step_lines

        return "$$\\begin{aligned}\n" + " \\\\\n".join(step_lines(self)) + "\n\\end{aligned}$$"
