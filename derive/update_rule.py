"""Update rules: discrete-time maps on an optimizer's state, symbolically.

An :class:`UpdateRule` acts coordinate-wise on a state ``(θ, s₁, s₂, ...)`` with
hyperparameters (η, β, ...) and a gradient oracle ``g``: the update is a tuple of SymPy
expressions, one per state symbol, in which the oracle appears applied to a point,
``g(θ)`` (or ``g(θ + βv)`` for a look-ahead).  From it:

* ``jacobian()``            ∂(new state)/∂(state), with g' standing for the curvature;
* ``on_quadratic(λ)``       the map on L = ½λθ² (per Hessian eigen-direction), g(x) = λx;
* ``iteration_matrix(λ)``   its (constant) Jacobian, and ``characteristic_polynomial``;
* ``fixed_points()``        states the map leaves unchanged, with g(θ*) = 0;
* ``continuous_limit()``    lim_{η→0} (new state − state)/η, the ODE it discretizes;
* ``lambdify(**hyper)``     a NumPy optimizer in the protocol of ``numeric.optimizers``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
import math
from typing import Any

import sympy as sp

#: the gradient oracle: g(x) is ∇L evaluated at x (coordinate-wise)
g = sp.Function("g")


class NotDifferentiable(ValueError):
    """The rule has a non-differentiable function of its state (sign, abs, max, ...): no Jacobian,
    no linearisation.  The message names the function, the state entry and where it has no derivative."""


@dataclass(frozen=True)
class UpdateRule:
    """A symbolic optimizer update ``state ↦ update`` (see module docstring)."""

    name: str
    title: str
    state: tuple[sp.Symbol, ...]  # state[0] is the parameter θ
    hyper: dict[str, sp.Symbol]  # protocol name ("lr") -> symbol (η)
    update: tuple[sp.Expr, ...]  # the new value of each state symbol
    state_names: tuple[str, ...] = ()  # protocol keys of state[1:]
    init: tuple[sp.Expr, ...] = ()  # initial values of state[1:]
    defaults: dict[str, float] = field(default_factory=dict)
    oracle: Any = g

    def __post_init__(self) -> None:
        if len(self.update) != len(self.state):
            raise ValueError(f"{self.name}: {len(self.state)} state symbols but {len(self.update)} updates")
        if len(self.state_names) != len(self.state) - 1 or len(self.init) != len(self.state) - 1:
            raise ValueError(f"{self.name}: give a protocol name and an initial value for each state symbol after θ")

    # -- from text -------------------------------------------------------------------
    @classmethod
    def from_text(cls, text: str, source: str = "<text>") -> "UpdateRule":
        """The rule written in the text format of :mod:`derive.rule_text`; a bad text raises
        :class:`derive.rule_text.RuleTextError` (a ValueError: ``SOURCE:LINE: problem``)."""
        from derive.rule_text import parse

        p = parse(text, source)
        return cls(p.name, p.title, p.state, p.hyper, p.update, state_names=p.state_names, init=p.init,
                   defaults=p.defaults)

    @classmethod
    def from_file(cls, path) -> "UpdateRule":
        """The rule in the ``.rule`` file at ``path`` (see :meth:`from_text`)."""
        from derive.rule_text import read

        return cls.from_text(*read(path))

    # -- the map and its linearization ---------------------------------------------
    @property
    def theta(self) -> sp.Symbol:
        return self.state[0]

    def as_matrix(self) -> sp.Matrix:
        """The map as a column vector of new state values."""
        return sp.Matrix(self.update)

    def jacobian(self) -> sp.Matrix:
        """∂(new state)/∂(state); derivatives of the oracle are the local curvature.  A rule with a
        non-differentiable function of the state (sign, abs, max, ...) raises :class:`NotDifferentiable`."""
        self.require_differentiable()
        return sp.simplify(self.as_matrix().jacobian(sp.Matrix(self.state)).doit())

    def on_quadratic(self, lam: sp.Expr) -> sp.Matrix:
        """The map on L(θ) = ½ λ θ², i.e. with the oracle g(x) = λ x."""
        x = sp.Dummy("x")
        return self.as_matrix().replace(self.oracle, sp.Lambda(x, lam * x)).applyfunc(sp.expand)

    def iteration_matrix(self, lam: sp.Expr) -> sp.Matrix:
        """The constant matrix M with state_{t+1} = M state_t on L = ½ λ θ² (raises
        :class:`NotDifferentiable` for a rule that is not differentiable in its state)."""
        self.require_differentiable()
        return self.on_quadratic(lam).jacobian(sp.Matrix(self.state)).applyfunc(sp.simplify)

    def characteristic_polynomial(self, lam: sp.Expr, z: sp.Symbol) -> sp.Expr:
        """det(z I − M(λ)), whose roots are the eigenvalues of the iteration."""
        m = self.iteration_matrix(lam)
        return sp.expand((z * sp.eye(m.shape[0]) - m).det())

    # -- structure: non-smooth functions, the step counter -----------------------------
    def nonsmooth(self) -> list[tuple[str, str, sp.Expr]]:
        """(function, state entry, argument) for every non-differentiable function in the update whose
        argument depends on the state or the gradient: sign and abs at 0, max/min where arguments tie,
        Heaviside, floor, ceiling, Piecewise conditions on the state."""
        names = ("theta", *self.state_names)
        moving = set(self.state) - ({self.state[self.counter]} if self.counter is not None else set())
        out = []
        for name, u in zip(names, self.update):
            for f in u.atoms(sp.sign, sp.Abs, sp.Max, sp.Min, sp.Heaviside, sp.floor, sp.ceiling, sp.Piecewise):
                depends = f.has(self.oracle) or bool(f.free_symbols & moving)
                if isinstance(f, sp.Piecewise):  # a branch on the state (not on the counter) is a kink
                    depends = any(c.has(self.oracle) or bool(c.free_symbols & moving) for _, c in f.args)
                if depends:
                    label = type(f).__name__.lower().replace("abs", "abs")
                    out.append((label, name, f.args[0] if len(f.args) == 1 else f))
        return out

    def require_differentiable(self) -> None:
        """Raise :class:`NotDifferentiable` naming the first non-differentiable function of the state."""
        bad = self.nonsmooth()
        if bad:
            func, entry, arg = bad[0]
            where = {"sign": "where its argument is 0", "abs": "where its argument is 0",
                     "max": "where its arguments tie", "min": "where its arguments tie"}.get(func, "at its kinks")
            raise NotDifferentiable(f"{self.name}: {func}({sp.sstr(arg)[:60]}) in the update of {entry} is not "
                                    f"differentiable {where}; the rule cannot be linearised there, and elsewhere "
                                    f"the {func} is locally constant, so its derivative carries no curvature")

    @property
    def counter(self) -> int | None:
        """Index of the step-counter entry (its update is ``entry + 1``), or None."""
        for i, (s, u) in enumerate(zip(self.state, self.update)):
            if i and sp.expand(u - s - 1) == 0:
                return i
        return None

    def asymptotic(self) -> tuple["UpdateRule", list[str]]:
        """The rule for t → ∞ without its step counter, and what that limit assumed: a power β^(t+…) of a
        hyperparameter tends to 0 (it assumes |β| < 1: bias corrections disappear), and a Piecewise on the
        counter takes its branch for large t (torch SGD's first step).  A rule without a counter is returned
        as it is.  Any other use of the counter (a schedule) raises ValueError."""
        i = self.counter
        if i is None:
            return self, []
        t, notes = self.state[i], []
        big = sp.Symbol("t_large", positive=True, integer=True)

        def limit(e: sp.Expr) -> sp.Expr:
            powers = [p for p in e.atoms(sp.Pow) if p.exp.has(t) and not p.base.has(t)]
            for p in powers:
                notes.append(f"{sp.sstr(p)} -> 0 as t -> oo (|{sp.sstr(p.base)}| < 1)")
            e = e.subs({p: 0 for p in powers})
            pieces = list(e.atoms(sp.Piecewise))
            for pw in pieces:
                branch = pw.subs(t, big + 1)  # conditions like Eq(t, 0) are False for t >= 1
                if branch.has(sp.Piecewise):
                    raise ValueError(f"{self.name}: cannot take t -> oo in {sp.sstr(pw)[:60]}")
                notes.append(f"{sp.sstr(pw)[:60]} takes its branch for t >= 1")
                e = e.subs(pw, branch.subs(big, t - 1))
            if e.has(t):
                raise ValueError(f"{self.name}: the update depends on the step counter beyond bias corrections "
                                 f"({sp.sstr(e)[:60]}); no t -> oo limit is taken")
            return e

        keep = [k for k in range(len(self.state)) if k != i]
        update = tuple(limit(self.update[k]) for k in keep)
        names = tuple(n for k, n in enumerate(self.state_names, 1) if k != i)
        init = tuple(v for k, v in enumerate(self.init, 1) if k != i)
        rule = UpdateRule(self.name, self.title, tuple(self.state[k] for k in keep), self.hyper, update,
                          state_names=names, init=init, defaults=self.defaults, oracle=self.oracle)
        return rule, sorted(set(notes))

    def fixed_points(self) -> list[dict]:
        """Solutions of update(s) = s for the other state entries and for the gradient
        value g* = g(θ*) at a fixed point (e.g. GD with weight decay: g* = −λ_wd θ*).  A rule with a
        step counter is solved in its t → ∞ form (:meth:`asymptotic`).  Raises ValueError when SymPy
        cannot solve the equations (e.g. through sign)."""
        rule, _ = self.asymptotic()
        gstar = sp.Symbol("g^*", real=True)
        x = sp.Dummy("x")
        eqs = [sp.expand(u.replace(rule.oracle, sp.Lambda(x, gstar)) - s) for u, s in zip(rule.update, rule.state)]
        try:
            return sp.solve(eqs, [gstar, *rule.state[1:]], dict=True)
        except NotImplementedError as exc:
            raise ValueError(f"{self.name}: SymPy cannot solve for the fixed points ({exc})") from None

    def slow_manifold(self, step: sp.Symbol | None = None) -> tuple[dict, sp.Matrix]:
        """The continuous-time limit as η → 0 with time t = kη, to leading order.

        Entries with update(η = 0) = entry are slow (θ always is); the others are fast: they relax to
        the slow manifold y = Y₀(x) + ηY₁(x) + O(η²) (invariance of its graph under the map: order η⁰
        gives Y₀ = u_y(x, Y₀, 0), order η¹ gives Y₁ + DY₀·F = ∂_η u_y), and the slow entries follow
        x' = F(x) = ∂_η u_x(x, Y₀ + ηY₁, η)|_{η=0}.  Returns ({fast entry: Y₀ + ηY₁}, F) — for GD F = −∇L,
        for heavy ball (v⁺ = βv − ηg, θ⁺ = θ + v⁺) v = −ηg/(1 − β) and F = −g/(1 − β), for an EMA buffer
        (QHM) buf = g(θ) + O(η).  Raises ValueError where no such manifold exists."""
        rule, _ = self.asymptotic()
        eta = step if step is not None else rule.hyper["lr"]
        at0 = [sp.simplify(u.subs(eta, 0) - s) for u, s in zip(rule.update, rule.state)]
        slow = [0, *(k for k, d in enumerate(at0) if k and d == 0)]  # θ is slow on the manifold (checked below)
        fast = [k for k in range(len(rule.state)) if k not in slow]
        xs, ys = [rule.state[k] for k in slow], [rule.state[k] for k in fast]
        y0s = [sp.Symbol(f"Y0_{k}") for k in fast]
        y1s = [sp.Symbol(f"Y1_{k}") for k in fast]
        fs = [sp.Symbol(f"F_{k}") for k in slow]
        Y0: dict = {}
        if fast:
            eqs = [rule.update[k].subs(eta, 0).subs(dict(zip(ys, y0s))) - y0 for k, y0 in zip(fast, y0s)]
            sol = sp.solve(eqs, y0s, dict=True)
            if len(sol) != 1:
                raise ValueError(f"{rule.name}: the fast state {', '.join(map(str, ys))} has "
                                 f"{'no' if not sol else 'no unique'} rest point at lr = 0")
            Y0 = {y: sp.factor(sp.simplify(sol[0][y0])) for y, y0 in zip(ys, y0s)}
        if sp.simplify(at0[0].subs(Y0)) != 0:
            raise ValueError(f"{rule.name}: theta moves by O(1) per step as lr -> 0 even with its state at rest; "
                             "the rule has no continuous limit in time t = k*lr")
        on = {y: Y0[y] + eta * y1 for y, y1 in zip(ys, y1s)}

        def d_eta(u):
            return sp.diff(u.subs(on), eta).doit().subs(eta, 0)

        eqs = [d_eta(rule.update[k]) - f for k, f in zip(slow, fs)]
        for k, y1 in zip(fast, y1s):
            drift = sum((sp.diff(Y0[rule.state[k]], x) * f for x, f in zip(xs, fs)), sp.S.Zero)
            eqs.append(d_eta(rule.update[k]) - y1 - drift)
        sol = sp.solve(eqs, [*fs, *y1s], dict=True)
        if len(sol) != 1:
            raise ValueError(f"{rule.name}: the first-order slow-manifold equations have no unique solution")
        field = sp.Matrix([sp.factor(sp.simplify(sol[0][f])) for f in fs])
        manifold = {y: Y0[y] + eta * sp.factor(sp.simplify(sol[0][y1])) for y, y1 in zip(ys, y1s)}
        if any(e.has(sp.DiracDelta) or e.has(sp.Subs) for e in [*field, *manifold.values()]):
            rule.require_differentiable()  # a derivative of sign/abs/max was needed: say which
            raise ValueError(f"{rule.name}: the slow manifold needs derivatives SymPy left unevaluated")
        return manifold, field

    def continuous_limit(self, step: sp.Symbol | None = None) -> sp.Matrix:
        """The vector field of the ODE the rule discretizes in time t = kη, on its slow entries (θ first):
        lim_{η→0} (update − state)/η after the fast entries (buffers) relax to their slow manifold
        (:meth:`slow_manifold`)."""
        return self.slow_manifold(step)[1]

    # -- NumPy ----------------------------------------------------------------------
    def numpy_map(self, grad_fn, **hyper: float):
        """The map as a NumPy function ``state tuple -> new state tuple`` with the oracle
        ``g`` replaced by ``grad_fn`` wherever it is applied (look-ahead points too)."""
        import numpy as np

        values = _hyper_values(self, hyper)
        f = sp.lambdify([*self.state, *self.hyper.values()], list(self.update),
                        modules=[{self.oracle.__name__: grad_fn}, "numpy"])
        return lambda *state: tuple(np.asarray(v, dtype=float) for v in
                                    f(*state, *[values[k] for k in self.hyper]))

    def lambdify(self, **hyper: float) -> "LambdifiedOptimizer":
        """A NumPy optimizer (``init``/``step``) computing this rule; hyperparameters by
        protocol name, defaults from ``self.defaults``."""
        return LambdifiedOptimizer(self, _hyper_values(self, hyper))


def _hyper_values(rule: UpdateRule, given: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(given) - set(rule.hyper))
    if unknown:
        raise ValueError(f"{rule.name}: unknown hyperparameter(s) {unknown}; it takes {sorted(rule.hyper)}")
    values = {**rule.defaults, **given}
    missing = sorted(set(rule.hyper) - set(values))
    if missing:
        raise ValueError(f"{rule.name}: missing hyperparameter(s) {missing}")
    for k, v in values.items():
        if not math.isfinite(float(v)):
            raise ValueError(f"{rule.name}: hyperparameter {k} must be finite, got {v}")
    return {k: float(v) for k, v in values.items()}


_COMPILED: dict[tuple, Any] = {}


def _compile(rule: UpdateRule):
    """lambdify once per distinct rule: f(state..., grads, hyper...) -> new state tuple."""
    key = (rule.name, sp.srepr(rule.state), sp.srepr(rule.update), tuple(rule.hyper))
    if key not in _COMPILED:
        grads = sp.Symbol("grads")
        exprs = [u.subs(rule.oracle(rule.theta), grads) for u in rule.update]
        leftover = [e for e in exprs if e.has(rule.oracle)]
        if leftover:
            raise ValueError(f"{rule.name}: the oracle is applied away from θ ({leftover[0]}); "
                             "the optimizer protocol passes grads at θ only: use the rule's buffer form")
        args = [*rule.state, grads, *rule.hyper.values()]
        _COMPILED[key] = sp.lambdify(args, exprs, modules="numpy", cse=True)
    return _COMPILED[key]


@dataclass(frozen=True)
class LambdifiedOptimizer:
    """A symbolic rule turned into NumPy, in the optimizer protocol:
    ``state = opt.init(params)``; ``params, state = opt.step(params, grads, state)``."""

    rule: UpdateRule
    hyper: dict[str, float]

    @cached_property
    def _compiled(self):
        """The lambdified map, looked up once per optimizer (the cache key costs a srepr)."""
        return _compile(self.rule)

    def init(self, params):
        """Initial state; an initial value may depend on θ and the hyperparameters (text rules)."""
        import numpy as np

        params = np.asarray(params, dtype=float)
        out = {}
        for n, v in zip(self.rule.state_names, self.rule.init):
            if v.free_symbols:
                f = sp.lambdify([self.rule.theta, *self.rule.hyper.values()], v, modules="numpy")
                value = f(params, *[self.hyper[k] for k in self.rule.hyper])
            else:
                value = float(v)
            out[n] = np.broadcast_to(np.asarray(value, dtype=float), params.shape).copy()
        return out

    def step(self, params, grads, state: dict):
        import numpy as np

        params = np.asarray(params, dtype=float)
        grads = np.asarray(grads, dtype=float)
        if params.shape != grads.shape:
            raise ValueError(f"params and grads differ in shape: {params.shape} vs {grads.shape}")
        f = self._compiled
        rest = [np.asarray(state[n], dtype=float) for n in self.rule.state_names]
        new = f(params, *rest, grads, *[self.hyper[k] for k in self.rule.hyper])
        new = [np.broadcast_to(np.asarray(v, dtype=float), params.shape).copy() for v in new]
        return new[0], dict(zip(self.rule.state_names, new[1:]))


def rule_derivation(rule: UpdateRule, expected: dict | None = None, name: str | None = None,
                    summary: str = "") -> "Derivation":
    """The rule-level facts of any rule, each step checked: its quadratic linearisation (the iteration
    matrix computed two ways: from the map on L = ½λθ², and from the Jacobian with g' = λ), the
    characteristic polynomial (det(zI − M) against the Berkowitz algorithm), the continuous-time limit
    through the slow manifold of the state (the invariance of the manifold and the vector field proved to
    first order in η), and the fixed points (the map leaves them unchanged).  A rule with a step counter is
    taken in its t → ∞ form and says so; a non-differentiable rule gets no linearisation, and says why.
    ``expected`` may hold the same objects written independently by hand (keys ``jacobian``,
    ``iteration_matrix``, ``characteristic_polynomial`` in λ and z, ``continuous_limit``); each step then
    also proves that SymPy's computation equals them."""
    from derive.derivation import Derivation

    expected = expected or {}
    lam = sp.Symbol("lambda", real=True)
    z = sp.Symbol("z")
    base, notes = rule.asymptotic()
    eta = base.hyper["lr"]
    new = sp.Matrix([sp.Symbol(sp.latex(s) + "^{+}") for s in rule.state])
    d = Derivation(name or rule.name, f"{rule.title}: the update rule as a dynamical system", summary=summary)
    d.given(new, rule.as_matrix(), "the update; g(x) is the gradient of L at x, coordinate-wise")
    if notes:
        state = sp.Matrix(base.state)
        d.given(sp.Matrix([sp.Symbol(sp.latex(s) + "^{+}") for s in base.state]), base.as_matrix(),
                "for t -> oo, without the step counter: " + "; ".join(notes))
    smooth = not base.nonsmooth()
    raw = base.on_quadratic(lam).jacobian(sp.Matrix(base.state)) if smooth else None
    linear = smooth and not (raw.free_symbols & set(base.state))
    if smooth and not linear:
        d.given(r"\text{no constant } M(\lambda)", sp.Symbol(r"\partial s^{+}/\partial s"),
                "on L = lambda theta^2/2 the map is not linear in its state (its Jacobian depends on the state), so "
                "there is no constant iteration matrix; linearise at a fixed point or freeze the state-dependent "
                "factors (e.g. Adam's preconditioner)")
    if linear:
        if "jacobian" in expected:
            d.equal(base.jacobian(), expected["jacobian"], "Jacobian of the map; g' is the local curvature",
                    display=r"\frac{\partial s^{+}}{\partial s}")
        m = base.iteration_matrix(lam)
        y = sp.Dummy("y")
        via_jacobian = base.as_matrix().jacobian(sp.Matrix(base.state)).doit()
        via_jacobian = via_jacobian.replace(lambda e: isinstance(e, sp.Subs), lambda e: e.doit())
        via_jacobian = via_jacobian.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == rule.oracle,
                                            lambda e: lam)
        via_jacobian = via_jacobian.replace(rule.oracle, sp.Lambda(y, lam * y))
        d.equal(m, via_jacobian, "on L = lambda theta^2/2 (g(x) = lambda x) the map is linear; its matrix is the "
                "Jacobian with the curvature g' = lambda", display=r"M(\lambda)")
        if "iteration_matrix" in expected:
            d.equal(m, expected["iteration_matrix"], "the iteration matrix written by hand", display=r"M(\lambda)")
        p = base.characteristic_polynomial(lam, z)
        d.equal(p, m.charpoly(z).as_expr(), "characteristic polynomial det(z I - M), against the Berkowitz algorithm",
                display=r"\det(zI - M(\lambda))")
        if "characteristic_polynomial" in expected:
            d.equal(p, expected["characteristic_polynomial"], "the characteristic polynomial written by hand",
                    display=r"\det(zI - M(\lambda))")
        d.result("iteration_matrix", m).result("characteristic_polynomial", p)
    elif not smooth:
        func, entry, _ = base.nonsmooth()[0]
        d.given(r"\text{no linearisation}", sp.Symbol(r"\operatorname{%s}" % func),
                f"the update of {entry} contains {func}, which is not differentiable everywhere: no Jacobian, "
                "no iteration matrix, no characteristic polynomial")
    _continuous_limit_steps(d, base, eta, expected.get("continuous_limit"))
    _fixed_point_steps(d, base)
    for key in ("jacobian",):
        if key in expected:
            d.result(key, expected[key])
    return d


def _continuous_limit_steps(d, rule: UpdateRule, eta: sp.Symbol, expected) -> None:
    """Prove the slow manifold and the vector field to first order in η on the generic oracle
    g(x) = c₀ + c₁x + c₂x²: the first-order terms involve only g(θ) and g'(θ), which take independent
    values there, so an identity in c₀, c₁, c₂, θ is the identity for every smooth g."""
    try:
        manifold, field = rule.slow_manifold(eta)
    except ValueError as exc:
        d.given(r"\dot\theta", sp.Symbol(r"\text{none}"), f"no continuous-time limit: {exc}")
        return
    c0, c1, c2 = sp.symbols("c_0 c_1 c_2", real=True)
    y = sp.Dummy("y")
    oracle = sp.Lambda(y, c0 + c1 * y + c2 * y**2)

    def concrete(e):
        e = e.replace(lambda a: isinstance(a, sp.Derivative) and a.expr.func == rule.oracle,
                      lambda a: sp.diff(oracle(a.expr.args[0]), *a.variables))
        return e.replace(rule.oracle, oracle)

    state = list(rule.state)
    on = {s: concrete(v) for s, v in manifold.items()}
    slow = [s for s in state if s not in manifold]
    update = {s: concrete(u).subs(on, simultaneous=True) for s, u in zip(state, rule.update)}
    eps = sp.Dummy("h")
    for s, value in manifold.items():  # Y(x) after the step equals the updated fast entry, to O(η²)
        moved = concrete(value).subs({x: update[x] for x in slow}, simultaneous=True)
        residual = (update[s] - moved).subs(eta, eps)
        orders = sp.Matrix([sp.simplify(residual.subs(eps, 0)), sp.simplify(sp.diff(residual, eps).subs(eps, 0))])
        d.equal(orders, sp.zeros(2, 1), f"slow manifold {sp.sstr(s)} = {sp.sstr(value)}: it is invariant under the "
                "map to first order in eta (orders eta^0 and eta^1 of the residual, on g(x) = c0 + c1 x + c2 x^2)",
                display=r"%s^{+} - Y(\theta^{+})\;\big|_{\eta^0,\,\eta^1}" % sp.latex(s))
    for s, f in zip(slow, field):
        moved = update[s].subs(eta, eps)
        orders = sp.Matrix([sp.simplify(moved.subs(eps, 0) - s),
                            sp.simplify(sp.diff(moved, eps).subs(eps, 0) - concrete(f))])
        d.equal(orders, sp.zeros(2, 1), f"on the slow manifold {sp.sstr(s)}^+ = {sp.sstr(s)} + eta ({sp.sstr(f)}) "
                "+ O(eta^2): the vector field of the ODE in time t = k eta", display=r"\big(%s^{+}\big|_{\eta=0} - "
                r"%s,\; \partial_\eta %s^{+}\big|_{\eta=0} - \dot %s\big)" % ((sp.latex(s),) * 4))
    if expected is not None:
        d.equal(field, expected, "the continuous-time limit written by hand", display=r"\dot s")
    d.result("continuous_limit", field)
    if manifold:
        d.result("slow_manifold", sp.Matrix(list(manifold.values())))


def _fixed_point_steps(d, rule: UpdateRule) -> None:
    try:
        points = rule.fixed_points()
    except ValueError as exc:
        d.given(r"s^{*}", sp.Symbol(r"\text{not solved}"), f"fixed points: {exc}")
        return
    x = sp.Dummy("x")
    state = sp.Matrix(rule.state)
    gsym = sp.Symbol("g^*", real=True)
    residuals = [(fp, (rule.as_matrix().replace(rule.oracle, sp.Lambda(x, gsym)) - state).subs(fp)) for fp in points]
    unverified = [fp for fp, r in residuals if not all(sp.simplify(e) == 0 for e in r)]
    if unverified:
        d.given(r"s^{*}", sp.Symbol(r"\text{partly solved}"), f"fixed points: SymPy's solve returned {len(unverified)} "
                "candidate(s) that do not satisfy the map identically (they hold only on a branch it assumed); "
                "they are not shown")
    for fp in [fp for fp, _ in residuals if fp not in unverified]:
        at = (rule.as_matrix().replace(rule.oracle, sp.Lambda(x, gsym)) - state).subs(fp)
        where = ", ".join(f"{sp.latex(k)} = {sp.latex(v)}" for k, v in fp.items())
        d.equal(at, sp.zeros(len(rule.state), 1), "fixed points: the map leaves the state unchanged",
                display=r"s^{+} - s \;\big|_{%s}" % where)
