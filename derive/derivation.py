"""Derivations: titled chains of steps that SymPy itself checks.

A :class:`Derivation` is a list of steps.  Each step is a mathematical claim plus a
one-line reason ("first-order Taylor expansion", "Jury criterion", ...).  ``check()``
proves every claim it can:

* ``equal``     lhs = rhs, proved by ``simplify(lhs - rhs) == 0`` (Max/Min/Abs/Heaviside
                rewritten as ``Piecewise`` first); a side equal to ±∞ (a limit, say) is
                compared by value, not through lhs − rhs;
* ``then``      the same, continuing the previous right-hand side (an ``&=`` line);
* ``solution``  x = s solves an equation: substitution gives zero.  One value claims *a*
                root and is rendered so; a list of values for one symbol claims *every* root,
                and ``solveset`` over the symbol's domain must return exactly that list;
* ``equivalent`` a relation in one variable holds exactly on a given set (``solveset``
                over the reals intersected with the symbol's assumptions, e.g. x > 0);
* ``positive``  expr > 0, proved by SymPy's assumptions (symbols declared positive, ...);
* ``given``     a definition or assumption: stated, not proved, and reported as such.

Soundness rules, enforced here:

* exact arithmetic: a checked step containing a ``Float`` fails (write ``sp.Rational``);
  ``(1 + 1e-17)·x = x`` or ``1/3 = 0.3333333333333333`` cannot be proved;
* two different symbols that print alike (``x`` real and ``x`` positive) in one
  derivation: the step where the second appears fails, naming both;
* ``display=`` is a *name* for the checked left-hand side (``P(1)``, ``M(\\lambda)``), never a
  relation (``ValueError``); it is rendered as ``name := checked lhs`` so what is shown is
  what was checked;
* the assumptions of every symbol (x ∈ ℝ, β > 0, n ∈ ℤ) are rendered with the first step
  that uses it, and listed per step in JSON;
* each ``result()`` is tied to the step whose lhs or rhs it equals; an untied one is
  rendered as *stated*;
* when SymPy cannot decide an equality, the step is spot-checked (:func:`spot_check`) and
  reported as ``spot-checked``, never as ``proved``; when even that is not possible it is
  ``undecided``, which counts as failed; an exception inside SymPy is ``undecided`` too.

Refs: Meurer et al., SymPy: symbolic computing in Python, PeerJ CS 3:e103 (2017) —
``simplify``, ``solveset``, the assumptions system; the numeric check follows the
Schwartz–Zippel idea (a non-zero expression rarely vanishes at random points) with
evaluation at 50+ significant digits (mpmath, through ``evalf``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from derive.render import assumption_latex, parts, step_symbols
from derive.spot_check import spot_check

#: above this many operations (after expand), simplify is not attempted: its cost explodes
#: on large transcendental expressions; the step is then spot-checked, and its detail says why
SIMPLIFY_OPS = 400

#: statuses that count as a success of ``check()``
PASSING = ("proved", "spot-checked", "given")

#: the numeric check: points, significant digits, and |lhs − rhs| allowed relative to the largest term

_PIECEWISE_FUNCS = (sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign, sp.Piecewise)
_RELATION_TOKENS = ("=", "<", ">", r"\le", r"\ge", r"\leq", r"\geq", r"\ne", r"\neq", r"\iff", r"\approx",
                    r"\equiv", r"\to", r"\in", r"\Rightarrow", r"\implies")


@dataclass(frozen=True)
class Step:
    """One claim of a derivation, with the reason that justifies it."""

    kind: str  # equal | then | solution | equivalent | positive | given
    lhs: Any
    rhs: Any
    reason: str
    symbol: Any = None  # the variable, for solution / equivalent steps
    continues: bool = False  # rendered as "&= rhs" after the previous line
    display: str | None = None  # a LaTeX *name* for lhs, rendered "display := lhs"
    relation: str = "="  # a given step may state an inequality: "<=", ">=", "<", ">"

    @property
    def all_roots(self) -> bool:
        """A solution step for one symbol with a list of values: claims they are every root."""
        return (self.kind == "solution" and not isinstance(self.symbol, (list, tuple))
                and isinstance(self.rhs, (list, tuple, set, sp.FiniteSet)))


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
class ResultCheck:
    """A named result and the step it is the value of (``step`` None: stated, not tied)."""

    name: str
    status: str  # the tied step's status, or "stated"
    step: int | None = None


@dataclass(frozen=True)
class DerivationCheck:
    """All step checks of one derivation, and how each result is tied to them."""

    name: str
    steps: tuple[StepCheck, ...]
    results: tuple[ResultCheck, ...] = ()

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def result_status(self, name: str) -> ResultCheck | None:
        return next((r for r in self.results if r.name == name), None)

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("proved", "spot-checked", "given", "undecided", "failed") if self.count(s)]
        stated = sum(r.status == "stated" for r in self.results)
        if stated:
            parts.append(f"{stated} result{'s' if stated > 1 else ''} stated, not tied to a checked step")
        return ", ".join(parts)


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


def _check_display(display: Any) -> str | None:
    """A display must be a name (no relation at brace depth 0); return it or raise ValueError."""
    if display is None:
        return None
    display = str(display)
    depth, top = 0, []
    for ch in display:
        depth += ch == "{"
        depth -= ch == "}"
        top.append(ch if depth == 0 else " ")
    flat = "".join(top)
    for tok in _RELATION_TOKENS:
        pat = re.escape(tok) + (r"(?![a-zA-Z])" if tok[0] == "\\" else "")
        if re.search(pat, flat):
            raise ValueError(f"display={display!r} states a relation ({tok.strip()}): a display is only a name for "
                             "the checked left-hand side (e.g. 'P(1)'); put the claim itself in the step")
    return display


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


# -- the numeric check -----------------------------------------------------------------
def check_step(step: Step) -> StepCheck:
    """Prove (or refute, or spot-check) one step; SymPy raising is ``undecided``, not a crash."""
    if step.kind == "given":
        return StepCheck(step, "given", "definition or assumption")
    floats = _floats(step)
    if floats:
        return StepCheck(step, "failed", "exact arithmetic",
                         f"contains the floating-point number {floats[0]}: a proof needs exact numbers "
                         "(use sp.Rational or sp.nsimplify, and say so in the reason)")
    try:
        return _check_step(step)
    except Exception as exc:  # noqa: BLE001 - a crash inside SymPy decides nothing
        return StepCheck(step, "undecided", "exception", f"SymPy raised {type(exc).__name__}: {exc}")


def _infinite(v: Any) -> bool:
    return isinstance(v, sp.Expr) and v in (sp.oo, -sp.oo, sp.zoo)


def _check_step(step: Step) -> StepCheck:
    if step.kind in ("equal", "then"):
        lhs = step.lhs.doit() if hasattr(step.lhs, "doit") else step.lhs
        rhs = step.rhs.doit() if hasattr(step.rhs, "doit") else step.rhs
        if _infinite(lhs) or _infinite(rhs):
            return _check_infinite(step, sp.sympify(lhs), sp.sympify(rhs))
        return _check_difference(step, _difference(lhs, rhs), "simplify")
    if step.kind == "positive":
        expr = sp.factor(sp.simplify(step.lhs))
        if expr.is_positive:
            return StepCheck(step, "proved", "assumptions")
        if expr.is_positive is False:
            return StepCheck(step, "failed", "assumptions", f"SymPy shows {expr} is not positive")
        return StepCheck(step, "undecided", "assumptions", f"SymPy cannot decide the sign of {expr}")
    if step.kind == "solution":
        return _check_solution(step)
    if step.kind == "equivalent":
        return _check_equivalent(step)
    raise ValueError(f"unknown step kind {step.kind!r}")


def _check_infinite(step: Step, lhs: sp.Expr, rhs: sp.Expr) -> StepCheck:
    """lhs = ±∞: compare values (a limit evaluated by SymPy), never lhs − rhs (∞ − ∞ is nan)."""
    lv, rv = sp.simplify(lhs), sp.simplify(rhs)
    if lv == rv:
        return StepCheck(step, "proved", "value", "both sides evaluate to the same infinity")
    if lv.is_number and rv.is_number and not lv.has(sp.Limit) and not rv.has(sp.Limit):
        return StepCheck(step, "failed", "value", f"lhs evaluates to {lv}, rhs to {rv}")
    return StepCheck(step, "undecided", "value", f"SymPy cannot evaluate {lv} to compare it with {rv}")


def _residuals(step: Step, subs: dict) -> list:
    eqs = step.lhs if isinstance(step.lhs, (list, tuple)) else [step.lhs]
    res = [e.lhs - e.rhs if isinstance(e, sp.Equality) else sp.sympify(e) for e in eqs]
    return [r.subs(subs) for r in res]


def _check_solution(step: Step) -> StepCheck:
    values = list(step.rhs) if step.all_roots else (step.rhs if isinstance(step.symbol, (list, tuple)) else [step.rhs])
    if any(_infinite(sp.sympify(v)) for v in parts(values)):
        return StepCheck(step, "failed", "substitution", "an infinite value is not a root; state a limit instead "
                         "(equal(Limit(...), oo))")
    if step.all_roots:
        res = [r for v in values for r in _residuals(step, {step.symbol: v})]
        sc = _check_difference(step, sp.Matrix(res) if len(res) > 1 else res[0], "substitution")
        if not sc.ok:
            return sc
        return _check_complete(step, values, sc)
    subs = dict(zip(step.symbol, step.rhs)) if isinstance(step.symbol, (list, tuple)) else {step.symbol: step.rhs}
    res = _residuals(step, subs)
    sc = _check_difference(step, res[0] if len(res) == 1 else sp.Matrix(res), "substitution")
    return StepCheck(step, sc.status, sc.method, (sc.detail + "; " if sc.detail else "") + "a root; not claimed to be the only one")


def _check_complete(step: Step, values: list, sc: StepCheck) -> StepCheck:
    """Every root listed: solveset over the symbol's domain returns exactly ``values``."""
    eq = step.lhs[0] if isinstance(step.lhs, (list, tuple)) else step.lhs
    got = sp.solveset(eq, step.symbol, domain=_domain(step.symbol))
    if not isinstance(got, sp.FiniteSet):
        return StepCheck(step, "undecided", "solveset", f"each value is a root ({sc.status}), but solveset returns "
                         f"{got}: cannot confirm the list is complete")
    claimed = list(values)
    missing = [r for r in got.args if not any(_zero(r - c) is True for c in claimed)]
    extra = [c for c in claimed if not any(_zero(r - c) is True for r in got.args)]
    if missing or len(got.args) != len(claimed):
        return StepCheck(step, "failed", "solveset", f"the roots are {got}; missing {missing}" +
                         (f", not matched: {extra}" if extra else ""))
    status = "proved" if sc.status == "proved" else sc.status
    return StepCheck(step, status, "substitution + solveset", "every root listed (solveset over "
                     f"{_domain(step.symbol)})" + (f"; {sc.detail}" if sc.detail else ""))


def _check_equivalent(step: Step) -> StepCheck:
    domain = _domain(step.symbol, complex_ok=False)
    got = _solve_set(step.lhs, step.symbol)
    if not isinstance(got, sp.Set) or got.has(sp.ConditionSet):
        return StepCheck(step, "undecided", "solveset", f"solveset could not solve the relation: {got}")
    got, claimed = _canonical(sp.Intersection(got, domain)), _canonical(sp.Intersection(step.rhs, domain))
    where = "" if domain == sp.S.Reals else f" (within the assumptions: {domain})"
    if got == claimed or _same_interval(got, claimed):
        return StepCheck(step, "proved", "solveset", where.strip())
    diff = sp.Union(sp.Complement(got, claimed), sp.Complement(claimed, got))
    if diff.is_empty:
        return StepCheck(step, "proved", "solveset", where.strip())
    return StepCheck(step, "failed", "solveset", f"solution set is {got}, claimed {claimed}{where}")


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


def _check_difference(step: Step, diff: Any, method: str) -> StepCheck:
    verdict = _zero(diff)
    if verdict is True:
        return StepCheck(step, "proved", method)
    if _symbolic_shape(diff):
        return StepCheck(step, "undecided", method, "matrix of symbolic size: cannot be evaluated at points")
    if verdict is False:  # SymPy's "not zero" (equals) is confirmed by a witness point, on the simplified
        status, detail = spot_check(_simplified(diff))  # difference (an undefined g' may cancel out of it)
        if status == "failed":
            return StepCheck(step, "failed", method, f"SymPy shows lhs - rhs is not zero; {detail}")
        return StepCheck(step, "undecided", method, f"SymPy says lhs - rhs is not zero, but {detail}")
    why = (f"expression too large for simplify (over {SIMPLIFY_OPS} operations after expand)" if _too_large(diff)
           else "SymPy could not decide")
    status, detail = spot_check(diff)
    return StepCheck(step, status, "random points", f"{why}; {detail}")


def _sides(step: Step) -> list:
    """What a step proves a value of: its rhs and lhs, and the ends of a claimed interval."""
    sides = [x for x in (step.rhs, step.lhs) if x is not None and not isinstance(x, str)]
    if isinstance(step.rhs, sp.Interval):
        sides += [step.rhs.start, step.rhs.end]
    return sides


def _tie(value: Any, steps: list[Step], checks: tuple[StepCheck, ...]) -> ResultCheck | None:
    """The best-status step with a side equal to ``value``: structurally first, then (small
    expressions with the same symbols only, to stay fast) by simplify."""
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


#: results and step sides compared by simplify only up to this many operations together
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
    result_steps: dict[str, int] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    _last: Any = field(default=None, repr=False, compare=False)

    # -- building -------------------------------------------------------------------
    def given(self, lhs: Any, rhs: Any, reason: str, relation: str = "=") -> "Derivation":
        """State a definition, assumption or cited theorem ``lhs = rhs`` (or ``lhs <= rhs`` etc.
        with ``relation``); not proved, reported as given."""
        if relation not in ("=", "<=", ">=", "<", ">"):
            raise ValueError(f"relation must be one of =, <=, >=, <, >; got {relation!r}")
        self.steps.append(Step("given", lhs, rhs, reason, relation=relation))
        return self

    def equal(self, lhs: Any, rhs: Any, reason: str, display: str | None = None) -> "Derivation":
        """Claim ``lhs = rhs``; check() proves it.  ``display``: a LaTeX *name* for lhs (no
        relation in it), rendered ``display := lhs``."""
        self.steps.append(Step("equal", lhs, rhs, reason, display=_check_display(display)))
        return self

    def then(self, rhs: Any, reason: str) -> "Derivation":
        """Claim that the previous right-hand side equals ``rhs`` (an ``&= rhs`` line)."""
        if not self.steps or self.steps[-1].kind not in ("equal", "then", "given"):
            raise ValueError("then() continues an equality: add an equal() or given() step first")
        self.steps.append(Step("then", self.steps[-1].rhs, rhs, reason, continues=True))
        return self

    def solution(self, equation: Any, symbol: Any, value: Any, reason: str) -> "Derivation":
        """Claim that ``symbol = value`` solves ``equation`` (an Eq, or an expression = 0): *a*
        root; a list of values for one symbol claims *every* root (checked with solveset over
        the symbol's domain); a list of equations with tuples of symbols and values for a system."""
        self.steps.append(Step("solution", equation, value, reason, symbol=symbol))
        return self

    def equivalent(self, relation: Any, symbol: sp.Symbol, region: sp.Set, reason: str) -> "Derivation":
        """Claim that the real ``symbol`` satisfies ``relation`` exactly on ``region`` (within
        what the symbol's assumptions allow, e.g. x > 0)."""
        self.steps.append(Step("equivalent", relation, region, reason, symbol=symbol))
        return self

    def positive(self, expr: Any, reason: str, display: str | None = None) -> "Derivation":
        """Claim ``expr > 0`` under the symbols' assumptions."""
        self.steps.append(Step("positive", expr, sp.S.Zero, reason, display=_check_display(display)))
        return self

    def result(self, name: str, value: Any, step: int | None = None) -> "Derivation":
        """Record a named result (a SymPy expression) for other code to use; check() ties it to
        the step it is the lhs or rhs of, and renderings mark it *stated* when there is none.
        ``step`` names the step (an index into ``steps``; -1: the step added last) when several
        steps have a side of that value (e.g. two differences that are both 0); the result must
        then be a side of that step, or it is *stated*."""
        self.results[name] = value
        if step is not None:
            self.result_steps[name] = step % len(self.steps) if self.steps else step
        return self

    # -- checking -------------------------------------------------------------------
    def check(self) -> DerivationCheck:
        """Check every step; see the module docstring for what each status means."""
        checks = [check_step(s) for s in self.steps]
        seen: dict[str, Any] = {}
        for i, s in enumerate(self.steps):
            for sym in sorted(step_symbols(s), key=str):
                key = sp.latex(sym)
                if key in seen and seen[key] != sym:
                    if checks[i].status != "failed":
                        checks[i] = StepCheck(s, "failed", "symbols", f"two different symbols print as {key}: "
                                              f"{_describe(seen[key])} and {_describe(sym)}; rename one")
                    break
                seen.setdefault(key, sym)
        checks_t = tuple(checks)
        results = []
        for name, value in self.results.items():
            if name in self.result_steps:
                i = self.result_steps[name]
                own = 0 <= i < len(self.steps) and any(_same_value(value, side, cheap) for side in _sides(self.steps[i])
                                                       for cheap in (True, False))
                results.append(ResultCheck(name, checks_t[i].status, i) if own else ResultCheck(name, "stated"))
                continue
            tie = _tie(value, self.steps, checks_t)
            results.append(ResultCheck(name, tie.status, tie.step) if tie else ResultCheck(name, "stated"))
        out = DerivationCheck(self.name, checks_t, tuple(results))
        self._last = (self._key(), out)
        return out

    def _key(self) -> tuple:
        return (tuple(map(id, self.steps)), tuple((k, id(v)) for k, v in self.results.items()),
                tuple(self.result_steps.items()))

    def checked(self, check: DerivationCheck | None = None) -> DerivationCheck:
        """``check`` if given, else the last check of this exact content, else a new check."""
        if check is not None:
            return check
        if self._last is not None and self._last[0] == self._key():
            return self._last[1]
        return self.check()

    # -- output ---------------------------------------------------------------------
    def to_latex(self, check: DerivationCheck | None = None, standalone: bool = False) -> str:
        """An ``align*`` block (a compilable document if ``standalone``); every step that is
        not proved is marked (the check runs when none is passed)."""
        from derive.render import derivation_latex

        return derivation_latex(self, self.checked(check), standalone=standalone)

    def to_markdown(self, check: DerivationCheck | None = None) -> str:
        """GitHub Markdown with ``$$`` blocks (the check runs when none is passed)."""
        from derive.render import derivation_markdown

        return derivation_markdown(self, self.checked(check))

    def to_json(self, check: DerivationCheck | None = None) -> dict:
        """A JSON-serializable dict of steps, statuses, assumptions and results."""
        from derive.render import derivation_json

        return derivation_json(self, self.checked(check))

    def _repr_latex_(self) -> str:
        from derive.render import step_lines

        return "$$\\begin{aligned}\n" + " \\\\\n".join(step_lines(self, self.checked())) + "\n\\end{aligned}$$"


def _describe(sym: Any) -> str:
    what = assumption_latex(sym)
    return f"{sym} ({what})" if what else f"{sym} (no assumptions)" if isinstance(sym, sp.Symbol) else f"{sym} ({type(sym).__name__})"
