"""A rule that is linear in its state and in its gradient values, as a linear system in feedback with ∇f.

Lessard, Recht & Packard (2016), "Analysis and design of optimization algorithms via integral quadratic
constraints", SIAM J. Optim. 26(1), §2 ("LRP"): a first-order method is the linear time-invariant system

    ξ⁺ = A ξ + B u,    y = C ξ + D u,    u = ∇f(y),

with ξ the optimizer state, y_i the point of the i-th oracle call and u_i = g(y_i) its gradient.  With several
calls per step (g(θ) and then g(θ − η g(θ))) the inputs are numbered in evaluation order, inner calls first,
so D is strictly lower triangular.  In one coordinate (LRP §4.2: the scalar analysis implies the d-dimensional
one through Kronecker products) A, B, C, D are small exact matrices in the hyperparameters.

:func:`state_space` reads them off an :class:`~derive.update_rule.UpdateRule` (after ``asymptotic()``) and
refuses, with one line (:class:`NotLinear`), a rule whose update is not linear in (state, gradients): Adam's
g(θ)², RMSprop's division by √v, an affine offset.  :func:`state_space_derivation` checks with SymPy that
the matrices reproduce the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from derive.derivation import Derivation
from derive.update_rule import UpdateRule, _short


class NotLinear(ValueError):
    """The update (or an oracle point) is not linear in (state, gradient values); one line: which entry, which term."""


@dataclass(frozen=True)
class StateSpace:
    """ξ⁺ = Aξ + Bu, y = Cξ + Du, u_i = g(y_i) (see the module docstring)."""

    rule: UpdateRule                  # the rule analysed (after rule.asymptotic(): no step counter)
    state: tuple[sp.Symbol, ...]      # ξ
    points: tuple[sp.Expr, ...]       # y_i in ξ and u_1..u_{i-1}
    inputs: tuple[sp.Symbol, ...]     # u_i, standing for g(y_i)
    A: sp.Matrix
    B: sp.Matrix
    C: sp.Matrix
    D: sp.Matrix
    #: hyperparameter symbol -> value substituted by :meth:`at` (empty: symbolic)
    values: tuple[tuple[sp.Symbol, sp.Expr], ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.state)

    @property
    def p(self) -> int:
        return len(self.inputs)

    def at(self, values: dict, defaults: bool = False, partial: bool = False) -> "StateSpace":
        """The matrices with hyperparameters given by protocol name ("lr", "momentum") -> number or SymPy
        expression (a float converted exactly: sp.Rational(0.1) is the binary fraction, not 1/10).  Every
        hyperparameter left in the matrices must be given (``defaults``: missing ones from the rule's
        defaults; ``partial``: the others stay symbolic); unknown names are refused."""
        hyper = self.rule.hyper
        unknown = [k for k in values if k not in hyper]
        if unknown:
            raise ValueError(f"{self.rule.name}: unknown hyperparameter(s) {', '.join(map(str, unknown))}; "
                             f"known: {', '.join(hyper)}")
        needed = set().union(*(M.free_symbols for M in (self.A, self.B, self.C, self.D)))
        given = dict(values)
        if defaults:
            for k, s in hyper.items():
                if k not in given and s in needed and k in self.rule.defaults:
                    given[k] = self.rule.defaults[k]
        missing = [k for k, s in hyper.items() if s in needed and k not in given]
        if missing and not partial:
            raise ValueError(f"{self.rule.name}: give a value for {', '.join(missing)} (--set NAME=VALUE)")
        subs = {hyper[k]: exact(v, k) for k, v in given.items()}
        return StateSpace(self.rule, self.state, tuple(sp.sympify(y).subs(subs) for y in self.points),
                          self.inputs, *(M.subs(subs) for M in (self.A, self.B, self.C, self.D)),
                          values=tuple(self.values) + tuple(subs.items()))

    def numeric(self) -> tuple:
        """(A, B, C, D) as float NumPy arrays; ValueError if a symbol remains (use :meth:`at` first)."""
        import numpy as np

        free = sorted(set().union(*(M.free_symbols for M in (self.A, self.B, self.C, self.D))), key=str)
        if free:
            raise ValueError(f"{self.rule.name}: the state-space matrices still contain {', '.join(map(str, free))}; "
                             "give their values first")
        return tuple(np.array(M.tolist(), dtype=float).reshape(M.shape) for M in (self.A, self.B, self.C, self.D))

    def latex(self) -> str:
        """The four matrices as one LaTeX ``align*`` block."""
        rows = [f"{name} &= {sp.latex(M)}" for name, M in zip("ABCD", (self.A, self.B, self.C, self.D))]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def exact(v: Any, name: str = "value") -> sp.Expr:
    """A number as an exact SymPy number (floats exactly, strings like '1/9' parsed); ValueError otherwise."""
    if isinstance(v, bool):
        raise ValueError(f"{name}: expected a number, got {v!r}")
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError(f"{name}: expected a finite number, got {v!r}")
        return sp.Rational(v)
    if isinstance(v, int):
        return sp.Integer(v)
    if isinstance(v, str):
        try:
            return sp.Rational(v.strip())
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected a number, got {v!r}") from None
    try:
        from fractions import Fraction
        if isinstance(v, Fraction):
            return sp.Rational(v.numerator, v.denominator)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(v, sp.Basic):
        if isinstance(v, sp.Float):
            return sp.Rational(v)
        if v.has(sp.Float):
            return v.xreplace({f: sp.Rational(f) for f in v.atoms(sp.Float)})
        if v.has(sp.nan, sp.oo, -sp.oo, sp.zoo):
            raise ValueError(f"{name}: expected a finite number, got {v}")
        return v
    if hasattr(v, "item") and callable(v.item):  # a NumPy scalar
        return exact(v.item(), name)
    raise ValueError(f"{name}: expected a number, got {type(v).__name__}")


def _input_names(rule: UpdateRule, p: int) -> list[sp.Symbol]:
    taken = {s.name for u in rule.update for s in sp.sympify(u).free_symbols} | {s.name for s in rule.state}
    taken |= {s.name for s in rule.hyper.values()}
    for base in ("u", "w", "q", "z"):
        syms = [sp.Symbol(base if p == 1 else f"{base}_{k}", real=True) for k in range(1, p + 1)]
        if not {s.name for s in syms} & taken:
            return syms
    raise ValueError(f"{rule.name}: cannot name the gradient inputs (u, w, q, z all taken)")


def _decompose(rule: UpdateRule) -> tuple[list, list, list, list]:
    """(updates and points with the oracle calls replaced by input symbols, the inputs, the original calls):
    calls numbered in evaluation order (inner first, then the state entries in order); calls at the same
    (expanded) point are one input."""
    table: dict[sp.Expr, sp.Dummy] = {}
    points: list[sp.Expr] = []
    originals: list[sp.Expr] = []

    def walk(e):
        if not isinstance(e, sp.Basic) or not e.args:
            return e
        args = [walk(a) for a in e.args]
        new = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
        if isinstance(new, sp.core.function.AppliedUndef) and new.func == rule.oracle:
            if len(new.args) != 1:
                raise NotLinear(f"{rule.name}: the oracle is applied to {len(new.args)} arguments in {_short(e)}")
            point = sp.expand(new.args[0])
            if point not in table:
                table[point] = sp.Dummy(f"u{len(points) + 1}")
                points.append(point)
                originals.append(e)
            return table[point]
        return new

    updates = [walk(sp.sympify(u)) for u in rule.update]
    inputs = _input_names(rule, len(points))
    ren = dict(zip(table.values(), inputs))
    return [u.xreplace(ren) for u in updates], [y.xreplace(ren) for y in points], inputs, originals


def _row(rule: UpdateRule, what: str, e: sp.Expr, variables: list, back: dict) -> list[sp.Expr]:
    """Coefficients of ``e`` in ``variables``; NotLinear naming the first term that is not linear."""
    def show(t):
        return _short(sp.sympify(t).xreplace(back))

    for term in sp.Add.make_args(sp.expand(e, deep=False)):
        if not term.has(*variables):
            if term != 0:
                raise NotLinear(f"{rule.name}: {what} has a constant offset {show(term)} (affine, not linear in "
                                "(state, gradients)); shift the state so the fixed point is at 0")
            continue
        try:
            poly = sp.Poly(term, *variables)
            bad = poly.total_degree() != 1 or any(c.has(*variables) for c in poly.coeffs())
        except sp.PolynomialError:
            bad = True
        if bad:
            culprit = term
            factors = [f for f in sp.Mul.make_args(term) if f.has(*variables)]
            odd = [f for f in factors if not (f in variables or (f.is_Pow and f.base in variables))]
            if odd:
                culprit = odd[0]
            elif len(factors) > 1 or (factors and factors[0].is_Pow):
                culprit = sp.Mul(*factors)
            raise NotLinear(f"{rule.name}: {what} is not linear in (state, gradients): {show(culprit)}")
    return [sp.expand(sp.diff(sp.expand(e), x)) for x in variables]


def state_space(rule: UpdateRule) -> StateSpace:
    """A, B, C, D of ``rule`` (LRP §2), after ``rule.asymptotic()``; ValueError (one line) for a rule with a
    whole-array or non-smooth function, or whose update is not linear in (state, gradients) (:class:`NotLinear`)."""
    rule, _ = rule.asymptotic()
    rule.require_differentiable()
    updates, points, inputs, _ = _decompose(rule)
    state, n, p = list(rule.state), len(rule.state), len(points)
    back = _back(rule, points, inputs)
    names = ("theta", *rule.state_names)
    variables = state + inputs
    A, B = sp.zeros(n, n), sp.zeros(n, p)
    for i, u in enumerate(updates):
        row = _row(rule, f"the update of {names[i]}", u, variables, back)
        A[i, :], B[i, :] = sp.Matrix([row[:n]]), sp.Matrix([row[n:]])
    C, D = sp.zeros(p, n), sp.zeros(p, p)
    for k, y in enumerate(points):
        row = _row(rule, f"the point of oracle call {k + 1}", y, variables, back)
        C[k, :], D[k, :] = sp.Matrix([row[:n]]), sp.Matrix([row[n:]])
    return StateSpace(rule, tuple(state), tuple(points), tuple(inputs), A, B, C, D)


def _back(rule: UpdateRule, points: list, inputs: list) -> dict:
    """u_k -> g(y_k) with the y's written in the state alone (earlier u's substituted back)."""
    back: dict = {}
    for k, y in enumerate(points):
        back[inputs[k]] = rule.oracle(y.xreplace(back))
    return back


def state_space_derivation(rule: UpdateRule, values: dict | None = None, partial: bool = False) -> Derivation:
    """A page: each update entry equals its row of Aξ + Bu with u_k = g(y_k) substituted back, each oracle
    point y_k equals C_k ξ + D_k u, and A, B, C, D are the derivatives of these linear maps (all checked).
    ``values``: hyperparameters by protocol name, substituted first (exactly; ``partial``: not all of them)."""
    ss = state_space(rule)
    if values:
        ss = ss.at(values, partial=partial)
    r = ss.rule
    subs = dict(ss.values)
    updates = [sp.sympify(u).subs(subs) for u in r.update]
    xi, u = sp.Matrix(ss.state), sp.Matrix(ss.inputs)
    back = _back(r, list(ss.points), list(ss.inputs))
    d = Derivation(f"state-space-{r.name}", f"{r.title}: state-space form",
                   summary=("The update is linear in the state $\\xi$ and the gradient values $u_k = g(y_k)$: "
                            "$\\xi^{+} = A\\xi + Bu$, $y = C\\xi + Du$ (Lessard, Recht and Packard 2016, §2)."),
                   references=["L. Lessard, B. Recht and A. Packard, Analysis and design of optimization algorithms "
                               "via integral quadratic constraints, SIAM J. Optim. 26(1) (2016)"])
    for k, (uk, y) in enumerate(zip(ss.inputs, ss.points)):
        d.given(uk, back[uk], f"definition of gradient input {k + 1}: the oracle's value at $y_{{{k + 1}}}$ (inputs in "
                "evaluation order, inner calls first)")
    lin = ss.A * xi + ss.B * u
    for i, s in enumerate(ss.state):
        d.equal(updates[i], lin[i].xreplace(back),
                f"the update is linear in the state and the gradient values: row {i + 1} of " + r"$A\xi + Bu$ once "
                r"each $u_k = g(y_k)$ is put back",
                display=f"{sp.latex(s)}^{{+}}")
    out = ss.C * xi + ss.D * u
    valued = UpdateRule(r.name, r.title, r.state, r.hyper, tuple(updates), r.state_names, r.init, r.defaults,
                        r.oracle, r.functions)
    upd_u, pts_u, inputs, originals = _decompose(valued)
    ren = dict(zip(inputs, ss.inputs))
    upd_u = sp.Matrix([e.xreplace(ren) for e in upd_u])
    pts_u = sp.Matrix([e.xreplace(ren) for e in pts_u])
    for k, call in enumerate(originals):
        d.equal(call.args[0], out[k].xreplace(back),
                f"the point of oracle call {k + 1} is linear in the state and the earlier gradient values: row {k + 1} "
                r"of $C\xi + Du$",
                display=f"y_{{{k + 1}}}")
    d.equal(upd_u.jacobian(xi), ss.A,
            r"$A$ is the derivative of the update in the state, each $g(y_k)$ held fixed as $u_k$",
            display="A")
    d.equal(upd_u.jacobian(u), ss.B, r"$B$ is its derivative in the gradient inputs $u$", display="B")
    if ss.p:
        d.equal(pts_u.jacobian(xi), ss.C, r"$C$ is the derivative of the oracle points in the state", display="C")
        d.equal(pts_u.jacobian(u), ss.D, r"$D$ is their derivative in the inputs (strictly lower triangular: inner "
                "calls come first)", display="D")
    d.result("A", ss.A, label="A").result("B", ss.B, label="B").result("C", ss.C, label="C")
    d.result("D", ss.D, label="D")
    return d
