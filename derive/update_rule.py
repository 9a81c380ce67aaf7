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
from typing import Any

import sympy as sp

#: the gradient oracle: g(x) is ∇L evaluated at x (coordinate-wise)
g = sp.Function("g")


#: non-smooth functions: what goes wrong with them
NONSMOOTH = {
    sp.sign: ("is not differentiable where its argument is 0; the rule cannot be linearised there, and "
              "elsewhere its Jacobian is 0 (no gradient feedback)"),
    sp.Abs: ("is not differentiable where its argument is 0; the rule cannot be linearised there (elsewhere "
             "it is +-(argument), a different linear map on each side)"),
    sp.Max: ("is not differentiable where its arguments are equal; the rule cannot be linearised there "
             "(elsewhere it follows one argument, a different linear map on each side)"),
    sp.Min: ("is not differentiable where its arguments are equal; the rule cannot be linearised there "
             "(elsewhere it follows one argument, a different linear map on each side)"),
    sp.Heaviside: "jumps where its argument is 0 and has derivative 0 elsewhere (no gradient feedback)",
    sp.floor: "jumps at the integers and has derivative 0 elsewhere (no gradient feedback)",
    sp.ceiling: "jumps at the integers and has derivative 0 elsewhere (no gradient feedback)",
    sp.frac: "jumps at the integers; it cannot be linearised there",
    sp.Mod: "jumps where its first argument crosses a multiple of the second; it cannot be linearised there",
    sp.re: "is not complex-differentiable; the analysis takes real rules only",
    sp.im: "is not complex-differentiable; the analysis takes real rules only",
    sp.Piecewise: "switches branch where its conditions change; it cannot be linearised there",
}


def _short(e, n: int = 70) -> str:
    text = str(e)
    return text if len(text) <= n else text[: n - 3] + "..."


def _solve(rule, eqs, unknowns, what: str) -> list[dict]:
    """sp.solve, with SymPy's NotImplementedError (e.g. through max) as a one-line ValueError."""
    try:
        return sp.solve(eqs, unknowns, dict=True)
    except Exception as exc:  # NotImplementedError (e.g. through max), and SymPy's own failures
        # (a TypeError on comparing NaN, ...): never a traceback, never a wrong answer
        raise ValueError(f"{rule.name}: SymPy cannot solve {what} ({type(exc).__name__}: {_short(exc, 60)})") from None


class NotDifferentiable(ValueError):
    """The rule has a non-differentiable function of its state (sign, abs, max, ...): no Jacobian,
    no linearisation.  The message names the function, the state entry and where it has no derivative."""


class NotCoordinatewise(NotDifferentiable):
    """The rule applies a whole-array function (``UpdateRule.functions``, e.g. Muon's orthogonalisation): the
    per-coordinate analyses (Jacobian, linearisation, fixed points, continuous limit) do not apply."""


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
    #: whole-array functions: SymPy function name -> NumPy callable on whole arrays (e.g. Muon's
    #: Newton–Schulz orthogonalisation); used by lambdify, refused by the coordinate-wise analyses
    functions: dict[str, Any] = field(default_factory=dict)

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
    def whole_array(self) -> list[tuple[str, str, sp.Expr]]:
        """(function, state entry, application) of each whole-array function (:attr:`functions`) applied."""
        names, order = ("theta", *self.state_names), list(self.functions)
        found = [(node.func.__name__, name, node) for name, u in zip(names, self.update)
                 for node in sp.preorder_traversal(u)
                 if isinstance(node, sp.core.function.AppliedUndef) and node.func.__name__ in self.functions]
        return sorted(found, key=lambda f: order.index(f[0]))  # in the order of ``functions``

    def require_coordinatewise(self) -> None:
        """Raise :class:`NotCoordinatewise` naming the first whole-array function and its entry."""
        bad = self.whole_array()
        if bad:
            func, entry, _ = bad[0]
            raise NotCoordinatewise(f"{self.name}: {func}(...) in the update of {entry} acts on the whole array, not "
                                    "coordinate-wise: no per-coordinate Jacobian, linearisation, fixed point or limit")

    def nonsmooth(self) -> list[tuple[str, str, sp.Expr]]:
        """(function, state entry, the non-smooth subexpression) for every function of :data:`NONSMOOTH`
        (sign, abs, max, min, Heaviside, floor, a Piecewise, ...) in the update whose value depends on the
        state or the gradient; a step counter's Piecewise is not one (see :meth:`asymptotic`)."""
        names = ("theta", *self.state_names)
        moving = set(self.state) - ({self.state[self.counter]} if self.counter is not None else set())
        out = list(self.whole_array())  # no derivative is taken through a whole-array function either
        for name, u in zip(names, self.update):
            for node in sp.preorder_traversal(u):
                kind = next((f for f in NONSMOOTH if isinstance(node, f)), None)
                if kind is None:
                    continue
                depends = node.has(self.oracle) or bool(node.free_symbols & moving)
                if kind is sp.Piecewise:  # a branch on the counter alone is the t -> oo limit's business
                    depends = any(c.has(self.oracle) or bool(c.free_symbols & moving) for _, c in node.args)
                if depends:
                    out.append((kind.__name__, name, node))
        return out

    def require_differentiable(self) -> None:
        """Raise :class:`NotDifferentiable` naming the first non-smooth function, its entry and where."""
        self.require_coordinatewise()
        bad = self.nonsmooth()
        if bad:
            _, entry, node = bad[0]
            kind = next(f for f in NONSMOOTH if isinstance(node, f))
            raise NotDifferentiable(f"{self.name}: {_short(node)} in the update of {entry} {NONSMOOTH[kind]}")

    @property
    def counter(self) -> int | None:
        """Index of the step-counter entry (its update is ``entry + 1``), or None."""
        for i, (s, u) in enumerate(zip(self.state, self.update)):
            if i and sp.expand(u - s - 1) == 0:
                return i
        return None

    def decaying_bases(self) -> list[sp.Expr]:
        """The bases β of powers β^(t+…) of the step counter (Adam's bias corrections): the t → ∞ limit
        of :meth:`asymptotic` assumes 0 <= β < 1 for each."""
        i = self.counter
        if i is None:
            return []
        t = self.state[i]
        return list(dict.fromkeys(p.base for u in self.update for p in sp.preorder_traversal(u)
                                  if isinstance(p, sp.Pow) and p.exp.has(t) and not p.base.has(t)))

    def asymptotic(self) -> tuple["UpdateRule", list[str]]:
        """The rule for t → ∞ without its step counter, and what that limit assumed: a Piecewise on the
        counter takes its branch for large t (torch SGD's first step), a power β^(t+…) of a hyperparameter
        tends to 0 (assuming 0 <= β < 1: bias corrections disappear), anything else goes to SymPy's limit.
        A rule without a counter is returned as it is; a limit that does not exist raises ValueError, a rule
        with a whole-array function :class:`NotCoordinatewise` (every analysis starts here)."""
        self.require_coordinatewise()
        i = self.counter
        if i is None:
            return self, []
        t, notes = self.state[i], []

        def note(text: str) -> None:
            if text not in notes:
                notes.append(text)

        def branch(pw):
            for e, c in pw.args:
                if c == sp.true:
                    return e
                if c.free_symbols - {t}:
                    raise ValueError(f"{self.name}: {_short(pw)} switches on a condition that involves more than "
                                     "the step counter; it cannot be linearised")
                if bool(c.subs(t, 10**9)):
                    return e
            raise ValueError(f"{self.name}: {_short(pw)} has no branch for large t")

        def decay(p):
            note(f"{sp.sstr(p.base)}^(t+1) -> 0 as t -> oo (assumes 0 <= {sp.sstr(p.base)} < 1)")
            return sp.S.Zero

        def limit(e: sp.Expr) -> sp.Expr:
            if e.has(sp.Piecewise):
                before = e
                e = e.replace(lambda a: isinstance(a, sp.Piecewise) and a.has(t), branch)
                if e != before:
                    note("the step counter's Piecewise takes its branch for large t (the first-step case is "
                         "transient)")
            e = e.replace(lambda a: isinstance(a, sp.Pow) and a.exp.has(t) and not a.base.has(t), decay)
            if e.has(t):
                try:
                    lim = sp.limit(e, t, sp.oo)
                except Exception as exc:  # SymPy's own failures (TypeError, NotImplementedError, ...)
                    raise ValueError(f"{self.name}: SymPy cannot take the limit t -> oo of {_short(e, 50)} "
                                     f"({type(exc).__name__}: {_short(exc, 60)})") from None
                if lim.has(t) or lim.has(sp.oo, -sp.oo, sp.zoo, sp.nan) or isinstance(lim, sp.Limit):
                    raise ValueError(f"{self.name}: {_short(e)} depends on the step counter beyond bias "
                                     "corrections and has no finite limit as t -> oo that SymPy can take")
                note(f"limit t -> oo taken by SymPy in {_short(e, 40)}")
                e = lim
            return e

        keep = [k for k in range(len(self.state)) if k != i]
        update = tuple(limit(self.update[k]) for k in keep)
        names = tuple(n for k, n in enumerate(self.state_names, 1) if k != i)
        init = tuple(v for k, v in enumerate(self.init, 1) if k != i)
        rule = UpdateRule(self.name, self.title, tuple(self.state[k] for k in keep), self.hyper, update,
                          state_names=names, init=init, defaults=self.defaults, oracle=self.oracle,
                          functions=self.functions)
        return rule, notes

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
            sol = _solve(rule, eqs, y0s, "the rest point of the fast state")
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
        sol = _solve(rule, eqs, [*fs, *y1s], "the first-order slow-manifold equations")
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
                        modules=[{**self.functions, self.oracle.__name__: grad_fn}, "numpy"])
        return lambda *state: tuple(np.asarray(v, dtype=float) for v in
                                    f(*state, *[values[k] for k in self.hyper]))

    def lambdify(self, **hyper: float) -> "LambdifiedOptimizer":
        """A NumPy optimizer (``init``/``step``) computing this rule; hyperparameters by
        protocol name, defaults from ``self.defaults``."""
        return LambdifiedOptimizer(self, _hyper_values(self, hyper))

    def to_torch(self, **kw):
        """A ``torch.optim.Optimizer`` subclass computing this rule (:func:`derive.export.torch_optimizer`)."""
        from derive.export import torch_optimizer

        return torch_optimizer(self, **kw)


from derive.lambdified import LambdifiedOptimizer, _hyper_values  # noqa: E402  (lambdify, numpy_map)
