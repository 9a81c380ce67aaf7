"""The one-step map on θ that an optimizer with extra state induces: its slow manifold.

A rule acts coordinate-wise on (θ, s) with s its buffers: θ⁺ = A(θ, s; η), s⁺ = B(θ, s; η), the
oracle g standing for ∇L.  :func:`lift` writes it for a loss L of n parameters (every coordinate
carries its own buffers; g(point) is ∇L at the vector point).  For small η the buffers relax fast
(at a rate set by the fast map s ↦ B(θ, s; 0), e.g. β per step) onto a graph over θ,

    s = V(θ; η) = V₀(θ) + η V₁(θ) + η² V₂(θ) + …,

invariant under the map:  V(A(θ, V(θ))) = B(θ, V(θ)).  Order η⁰ asks that θ move by O(η) on the
graph, A(θ, V₀; 0) = θ, and that V₀ be a fixed point of the fast map, V₀ = B(θ, V₀; 0): heavy ball's
velocity is O(η) (V₀ = 0), an EMA buffer follows the gradient (QHM: V₀ = g(θ)).  Order ηʲ (j ≥ 1) is
linear in Vⱼ(θ): the Vⱼ(A) term contributes Vⱼ(θ) + O(η) because A = θ + O(η).  On the graph the
rule is a one-step map Φ(θ) = A(θ, V(θ); η) = θ + η Φ₁ + η² Φ₂ + …, which
:mod:`derive.analysis.modified_equation` turns into a modified flow (backward error analysis).

This is the center-manifold / slow-manifold reduction of a fast-slow map (J. Carr, Applications of
Centre Manifold Theory, 1981, §2; N. Fenichel, J. Differential Equations 31, 1979, for flows); for
heavy ball it reproduces the modified equation of A. Ghosh, H. Lyu, X. Zhang and R. Wang (ICLR 2023).

Rules driven by the step counter (bias correction β^{t+1}, torch SGD's first-step branch) are taken in
their t → ∞ limit (:meth:`~derive.update_rule.UpdateRule.asymptotic`); rules with kinks (sign, abs, max,
min) are refused (:meth:`~derive.update_rule.UpdateRule.require_differentiable`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

import sympy as sp

eta = sp.Symbol("eta", positive=True)


@dataclass
class LiftedRule:
    """A rule written out for a loss of n parameters.

    ``theta_map[i]`` is A for parameter i, ``state_map[q]`` is B for buffer symbol ``buffers[q]``
    (buffer k of parameter i, ordered parameter-major); both in ``params``, ``buffers`` and ``eta``."""

    name: str
    params: list[sp.Symbol]
    buffers: list[sp.Symbol]
    theta_map: list[sp.Expr]
    state_map: list[sp.Expr]
    notes: list[str] = field(default_factory=list)


def lift(rule, loss: sp.Expr, params: Sequence[sp.Symbol], values: dict | None = None) -> LiftedRule:
    """The rule on ``loss`` in ``params``: every parameter gets its own copy of the buffers and g(x)
    becomes ∇L at the vector point x.  ``values`` (protocol name -> number) fixes hyperparameters;
    lr becomes ``eta``.  Raises ValueError for a name clash or a step counter whose late-time limit
    does not exist, and :class:`~derive.update_rule.NotDifferentiable` (a ValueError) for a kink."""
    params = list(params)
    values = dict(values or {})
    if "lr" not in rule.hyper:
        raise ValueError(f"{rule.name}: the rule has no hyperparameter 'lr'; the modified equation expands in it")
    if "lr" in values:
        raise ValueError("lr stays symbolic (eta): set only the other hyperparameters")
    unknown = sorted(set(values) - set(rule.hyper))
    if unknown:
        raise ValueError(f"{rule.name}: unknown hyperparameter(s) {', '.join(unknown)}; "
                         f"it takes {', '.join(sorted(rule.hyper))}")
    taken = {s.name for s in rule.state[1:]} | {s.name for k, s in rule.hyper.items() if k not in values}
    taken.discard(rule.theta.name)
    clash = sorted(p.name for p in params if p.name in taken)
    if clash:
        raise ValueError(f"loss parameter name(s) {', '.join(clash)} clash with the rule {rule.name}'s symbols; "
                         "rename them (e.g. with --params)")
    rule.require_differentiable()  # NotDifferentiable (a ValueError) names the kink
    subs = {rule.hyper["lr"]: eta}
    for k, v in values.items():
        subs[rule.hyper[k]] = v if isinstance(v, sp.Basic) else sp.nsimplify(v, rational=True)
    for base in rule.decaying_bases():
        b = base.subs(subs)
        if b.is_number and not 0 <= b < 1:
            raise ValueError(f"{rule.name}: {sp.sstr(base)} = {sp.sstr(b)}, but the t -> oo limit needs "
                             f"{sp.sstr(base)}^t -> 0, i.e. 0 <= {sp.sstr(base)} < 1")
    rule, notes = rule.asymptotic()
    if notes:
        notes.insert(0, "the rule uses the step counter: analysed in its t -> oo limit")
    state = list(rule.state)
    updates = [u.subs(subs) for u in rule.update]
    n, m = len(params), len(state) - 1
    coords = [[sp.Dummy(f"{s.name}{i}") for s in state] for i in range(n)]  # coords[i][k], k = 0 is theta
    grads = [sp.diff(loss, p) for p in params]
    at = [sp.Dummy(f"y{i}") for i in range(n)]
    grad_at = [gr.subs(dict(zip(params, at)), simultaneous=True) for gr in grads]

    def lifted(expr: sp.Expr, i: int) -> sp.Expr:
        """Component i; an oracle's argument is a vector point, each coordinate j lifted in turn
        (so a nested g(theta - lr*g(theta)) evaluates the inner gradient per coordinate)."""
        if isinstance(expr, sp.Symbol):
            return dict(zip(state, coords[i])).get(expr, expr)
        if isinstance(expr, sp.core.function.AppliedUndef) and expr.func == rule.oracle:
            point = [lifted(expr.args[0], j) for j in range(n)]
            return _plain(grad_at[i].subs(dict(zip(at, point)), simultaneous=True))
        if not expr.args:
            return expr
        return expr.func(*[lifted(a, i) for a in expr.args])

    buffers = [sp.Symbol(f"{s.name}_{p.name}", real=True) for p in params for s in state[1:]]
    names = {p.name for p in params}
    if any(b.name in names for b in buffers):
        raise ValueError("a loss parameter is named like a buffer of the rule; rename it")
    final = {}
    for i in range(n):
        final[coords[i][0]] = params[i]
        for k in range(m):
            final[coords[i][k + 1]] = buffers[i * m + k]
    theta_map = [lifted(updates[0], i).xreplace(final) for i in range(n)]
    state_map = [lifted(updates[k + 1], i).xreplace(final) for i in range(n) for k in range(m)]
    return LiftedRule(rule.name, params, buffers, theta_map, state_map, notes)


def taylor(expr: sp.Expr, order: int, var: sp.Symbol = eta) -> list[sp.Expr]:
    """[c₀, …, c_order] with expr = Σ c_k var^k + O(var^{order+1}), by differentiation at 0."""
    out, d, fact = [], expr, 1
    for k in range(order + 1):
        if k:
            d = sp.diff(d, var)
            fact *= k
        out.append(_plain(d.subs(var, 0).doit()) / fact)
    return out


def _at(expr: sp.Expr, params: Sequence[sp.Symbol], point: Sequence[sp.Expr]) -> sp.Expr:
    return expr.subs(dict(zip(params, point)), simultaneous=True)


def _plain(expr: sp.Expr) -> sp.Expr:
    """Evaluate the trivial substitutions Subs(f(x), x, x) that substituting into an abstract loss leaves."""
    return expr.replace(lambda e: isinstance(e, sp.Subs) and tuple(e.variables) == tuple(e.point),
                        lambda e: e.expr)


def tidy(expr: sp.Expr, gens: Sequence[sp.Symbol] = ()) -> sp.Expr:
    """A canonical, readable form.  A polynomial in ``gens`` (the loss's parameters) is collected by
    monomial, each coefficient (a rational function of the hyperparameters) factored: far cheaper
    than factoring the whole.  Otherwise: a rational function is put over a common denominator;
    an expression with transcendental functions is only expanded, where factor's cost explodes."""
    e = _plain(expr)
    if e == 0:
        return sp.S.Zero
    if gens and not e.has(sp.Derivative):
        try:
            poly = sp.Poly(e, *gens)
        except sp.PolynomialError:
            poly = None
        if poly is not None and poly.domain.is_Field or poly is not None and poly.domain.is_Ring:
            return sp.Add(*[sp.factor(c) * sp.Mul(*[g**k for g, k in zip(gens, m)]) for m, c in poly.terms()])
    e = sp.expand(e)
    if e.has(sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.tanh, sp.sinh, sp.cosh, sp.asin, sp.acos, sp.atan):
        return e
    return sp.factor(sp.cancel(sp.together(e)))


def _solve(eqs: list[sp.Expr], unknowns: list[sp.Symbol]) -> dict | None:
    """The unique solution of ``eqs`` = 0 for ``unknowns``, or None.  A linear system (every order
    j >= 1, and order 0 of an EMA or velocity buffer) is solved on its coefficient matrix ∂eqs/∂W
    (no expansion of the equations); anything else by ``sympy.solve``."""
    eqs = [e for e in eqs if e != 0]
    if not unknowns:
        return {} if all(sp.expand(e) == 0 for e in eqs) else None
    if not eqs:  # every equation holds identically: the unknowns are free, no unique solution
        return None
    J = sp.Matrix(eqs).jacobian(unknowns)
    if J.has(*unknowns):
        try:
            sols = sp.solve(eqs, unknowns, dict=True)
        except NotImplementedError:  # e.g. through max: no rest point SymPy can find
            return None
        return sols[0] if len(sols) == 1 and all(w in sols[0] for w in unknowns) else None
    zero = {w: 0 for w in unknowns}
    rhs = sp.Matrix([-e.xreplace(zero) for e in eqs])
    J = J.applyfunc(lambda e: sp.factor(sp.cancel(e)))
    rows: list[int] = []
    for r in range(J.rows):  # a square subsystem of full rank determines the solution
        if J.extract(rows + [r], list(range(J.cols))).rank(simplify=True) > len(rows):
            rows.append(r)
        if len(rows) == len(unknowns):
            break
    if len(rows) < len(unknowns):
        return None
    x = J.extract(rows, list(range(J.cols))).LUsolve(rhs.extract(rows, [0]))
    sol = dict(zip(unknowns, x))
    others = [e for r, e in enumerate(eqs) if r not in rows]  # the rest must then hold
    if any(tidy(e.xreplace(sol)) != 0 for e in others):
        return None
    return sol


def slow_manifold(lr: LiftedRule, order: int) -> list[list[sp.Expr]]:
    """[V₀, …, V_order]: each a list, one entry per buffer symbol, of the invariant graph's
    coefficients (module docstring).  Raises ValueError when θ is not slow on any fixed point of the
    fast map, or an order's linear equation has no unique solution."""
    p, buf = lr.params, lr.buffers
    W = [sp.Dummy(f"W{q}") for q in range(len(buf))]
    a0 = [a.subs(eta, 0) for a in lr.theta_map]
    b0 = [b.subs(eta, 0) for b in lr.state_map]
    eqs = [sp.expand(_at(a, buf, W) - x) for a, x in zip(a0, p)] + [w - _at(b, buf, W) for w, b in zip(W, b0)]
    eqs = [e for e in eqs if e != 0]
    sol = _solve(eqs, W)
    if sol is None:
        raise ValueError(f"{lr.name}: no unique fixed point of the buffers on which theta moves by O(lr) per "
                         "step: the rule has no slow manifold here (does theta move by O(1) as lr -> 0, or do "
                         "the buffers have several fixed points?)")
    V = [[tidy(sol[w], p) for w in W]]
    for j in range(1, order + 1):
        trunc = [sum((V[i][q] * eta**i for i in range(j)), sp.S.Zero) for q in range(len(buf))]
        with_w = [t + eta**j * w for t, w in zip(trunc, W)]
        theta_next = [_at(a, buf, with_w) for a in lr.theta_map]
        # V_i(A) for i < j, W taken at theta (its change along A is O(eta^{j+1}))
        lhs = [_at(t, p, theta_next) + eta**j * w for t, w in zip(trunc, W)]
        rhs = [_at(b, buf, with_w) for b in lr.state_map]
        eqs = [taylor(l - r, j)[j] for l, r in zip(lhs, rhs)]
        sol = _solve(eqs, W)
        if sol is None:
            raise ValueError(f"{lr.name}: the order-{j} equation of the slow manifold has no unique solution "
                             "(is 1 an eigenvalue of the buffers' fast map?)")
        V.append([tidy(sol[w], p) for w in W])
    return V


def induced_map(lr: LiftedRule, V: list[list[sp.Expr]], order: int) -> list[list[sp.Expr]]:
    """[Φ₀, …, Φ_order] of Φ(θ) = A(θ, V(θ; η); η), one list per power of η (Φ₀ = θ)."""
    graph = [sum((V[i][q] * eta**i for i in range(len(V))), sp.S.Zero) for q in range(len(lr.buffers))]
    comps = [taylor(_at(a, lr.buffers, graph), order) for a in lr.theta_map]
    return [[tidy(comps[i][c], lr.params) for i in range(len(comps))] for c in range(order + 1)]


def invariance_residual(lr: LiftedRule, V: list[list[sp.Expr]], order: int) -> list[list[sp.Expr]]:
    """Taylor coefficients η⁰..η^order of V(A(θ, V(θ))) − B(θ, V(θ)) with the whole truncated V
    (an independent recomputation: zero when V is invariant to that order)."""
    graph = [sum((V[i][q] * eta**i for i in range(len(V))), sp.S.Zero) for q in range(len(lr.buffers))]
    theta_next = [_at(a, lr.buffers, graph) for a in lr.theta_map]
    res = [_at(gq, lr.params, theta_next) - _at(b, lr.buffers, graph) for gq, b in zip(graph, lr.state_map)]
    coeffs = [taylor(r, order) for r in res]
    return [[tidy(coeffs[q][c], lr.params) for q in range(len(res))] for c in range(order + 1)]
