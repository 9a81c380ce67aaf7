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

Layout: the records (:class:`Step`, :class:`StepCheck`, :class:`ResultCheck`, :class:`DerivationCheck`)
are in :mod:`derive.steps`, what is asked of SymPy (zero tests, solution sets, tying results) in
:mod:`derive.decide`; both are importable from here, where the checking of each kind of step and the
:class:`Derivation` builder live.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from derive.decide import (SIMPLIFY_OPS, TIE_OPS, _canonical, _difference, _domain, _floats, _same_interval,
                           _same_value, _sides, _simplified, _solve_set, _symbolic_shape, _tie, _too_large, _zero)
from derive.render import assumption_latex, parts, step_symbols
from derive.typeset import latex as _latex
from derive.spot_check import spot_check
from derive.steps import PASSING, DerivationCheck, ResultCheck, Step, StepCheck, _check_display

# PASSING, TIE_OPS, ResultCheck, DerivationCheck: re-exported, importable from here as before the split


# -- checking one step -----------------------------------------------------------------
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
    #: result name -> its LaTeX label (``\eta_{\mathrm{crit}}``) when the name alone would not do
    result_labels: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    _last: Any = field(default=None, repr=False, compare=False)

    # -- building -------------------------------------------------------------------
    def given(self, lhs: Any, rhs: Any, reason: str, relation: str = "=") -> "Derivation":
        """State a definition, assumption or cited theorem ``lhs = rhs`` (or ``lhs <= rhs`` etc.
        with ``relation``; ``"in"`` for membership, ``f in S(m, L)``); not proved, reported as given."""
        if relation not in ("=", "<=", ">=", "<", ">", "in"):
            raise ValueError(f"relation must be one of =, <=, >=, <, >, in; got {relation!r}")
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

    def result(self, name: str, value: Any, step: int | None = None, label: str | None = None) -> "Derivation":
        r"""Record a named result (a SymPy expression) for other code to use; check() ties it to
        the step it is the lhs or rhs of, and renderings mark it *stated* when there is none.
        ``step`` names the step (an index into ``steps``; -1: the step added last) when several
        steps have a side of that value (e.g. two differences that are both 0); the result must
        then be a side of that step, or it is *stated*.  ``label``: the result's symbol in LaTeX
        (``\\eta_{\\mathrm{crit}}``), printed instead of the name."""
        self.results[name] = value
        if label is not None:
            self.result_labels[name] = _check_display(label)
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
                key = _latex(sym)
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
        """LaTeX: a fragment to paste into a paper (each step a paragraph "(k) reason [mark]" and its display,
        the results, "Checked by SymPy"), or a compilable document if ``standalone``; every step that is not
        proved is marked (the check runs when none is passed).  See :mod:`derive.render`."""
        from derive.render import derivation_latex

        return derivation_latex(self, self.checked(check), standalone=standalone)

    def to_markdown(self, check: DerivationCheck | None = None) -> str:
        """Markdown for GitHub (MathJax) and KaTeX: ``$...$`` inline math, display blocks between ``$$`` lines,
        each step's reason and mark, the results as a list (the check runs when none is passed)."""
        from derive.render import derivation_markdown

        return derivation_markdown(self, self.checked(check))

    def to_json(self, check: DerivationCheck | None = None) -> dict:
        """A JSON-serializable dict of steps, statuses, assumptions and results."""
        from derive.render import derivation_json

        return derivation_json(self, self.checked(check))

    def _repr_latex_(self) -> str:
        """Jupyter: one display block with the title, the summary and every step with its mark."""
        from derive.render import derivation_repr_latex

        return derivation_repr_latex(self, self.checked())

    def _repr_markdown_(self) -> str:
        """Jupyter: the Markdown rendering (title, summary, each step with its assumptions and status)."""
        from derive.render import derivation_markdown

        return derivation_markdown(self, self.checked(), heading="###", comment=False)

    def __repr__(self) -> str:
        return f"Derivation({self.name!r}: {len(self.steps)} steps, {len(self.results)} results)"


def _describe(sym: Any) -> str:
    what = assumption_latex(sym)
    return f"{sym} ({what})" if what else f"{sym} (no assumptions)" if isinstance(sym, sp.Symbol) else f"{sym} ({type(sym).__name__})"
