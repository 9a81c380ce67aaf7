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
        """∂(new state)/∂(state); derivatives of the oracle are the local curvature."""
        return sp.simplify(self.as_matrix().jacobian(sp.Matrix(self.state)).doit())

    def on_quadratic(self, lam: sp.Expr) -> sp.Matrix:
        """The map on L(θ) = ½ λ θ², i.e. with the oracle g(x) = λ x."""
        x = sp.Dummy("x")
        return self.as_matrix().replace(self.oracle, sp.Lambda(x, lam * x)).applyfunc(sp.expand)

    def iteration_matrix(self, lam: sp.Expr) -> sp.Matrix:
        """The constant matrix M with state_{t+1} = M state_t on L = ½ λ θ²."""
        return self.on_quadratic(lam).jacobian(sp.Matrix(self.state)).applyfunc(sp.simplify)

    def characteristic_polynomial(self, lam: sp.Expr, z: sp.Symbol) -> sp.Expr:
        """det(z I − M(λ)), whose roots are the eigenvalues of the iteration."""
        m = self.iteration_matrix(lam)
        return sp.expand((z * sp.eye(m.shape[0]) - m).det())

    def fixed_points(self) -> list[dict]:
        """Solutions of update(s) = s for the other state entries and for the gradient
        value g* = g(θ*) at a fixed point (e.g. GD with weight decay: g* = −λ_wd θ*)."""
        gstar = sp.Symbol("g^*", real=True)
        x = sp.Dummy("x")
        eqs = [sp.expand(u.replace(self.oracle, sp.Lambda(x, gstar)) - s) for u, s in zip(self.update, self.state)]
        return sp.solve(eqs, [gstar, *self.state[1:]], dict=True)

    def continuous_limit(self, step: sp.Symbol | None = None) -> sp.Matrix:
        """lim_{η→0} (update − state)/η: the vector field of the ODE the rule discretizes."""
        step = step if step is not None else self.hyper["lr"]
        diff = (self.as_matrix() - sp.Matrix(self.state)) / step
        return diff.applyfunc(lambda e: sp.limit(sp.expand(e), step, 0))

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


def rule_derivation(rule: UpdateRule, expected: dict, name: str | None = None, summary: str = "") -> "Derivation":
    """The rule's Jacobian, quadratic linearization, characteristic polynomial, continuous
    limit and fixed points.  ``expected`` holds the same objects written independently by
    hand (keys ``jacobian``, ``iteration_matrix``, ``characteristic_polynomial`` in λ and z,
    ``continuous_limit``); each step proves that SymPy's computation equals them."""
    from derive.derivation import Derivation

    missing = {"jacobian", "iteration_matrix", "characteristic_polynomial", "continuous_limit"} - set(expected)
    if missing:
        raise ValueError(f"rule_derivation needs hand-written forms for {sorted(missing)}")
    lam = sp.Symbol("lambda", real=True)
    z = sp.Symbol("z")
    state = sp.Matrix(rule.state)
    new = sp.Matrix([sp.Symbol(sp.latex(s) + "^{+}") for s in rule.state])
    d = Derivation(name or rule.name, f"{rule.title}: the update rule as a dynamical system", summary=summary)
    d.given(new, rule.as_matrix(), "the update; g(x) is the gradient of L at x, coordinate-wise")
    d.equal(rule.jacobian(), expected["jacobian"], "Jacobian of the map; g' is the local curvature",
            display=r"\frac{\partial s^{+}}{\partial s}")
    d.equal(rule.iteration_matrix(lam), expected["iteration_matrix"], "on L = lambda theta^2 / 2, i.e. g(x) = lambda x",
            display=r"M(\lambda)")
    d.equal(rule.characteristic_polynomial(lam, z), expected["characteristic_polynomial"],
            "characteristic polynomial det(z I - M)", display=r"\det(zI - M(\lambda))")
    d.equal(rule.continuous_limit(), expected["continuous_limit"],
            "continuous-time limit (update - state)/eta as eta -> 0: the vector field the rule discretizes",
            display=r"\dot s")
    x = sp.Dummy("x")
    for fp in rule.fixed_points():
        gstar = [k for k in fp if k.name == "g^*"]
        at = rule.as_matrix().replace(rule.oracle, sp.Lambda(x, gstar[0] if gstar else 0)).subs(fp) - state
        where = ", ".join(f"{sp.latex(k)} = {sp.latex(v)}" for k, v in fp.items())
        d.equal(at, sp.zeros(len(rule.state), 1), "fixed points: the map leaves the state unchanged",
                display=r"s^{+} - s \;\big|_{%s}" % where)
    for key in ("jacobian", "iteration_matrix", "characteristic_polynomial", "continuous_limit"):
        d.result(key, expected[key])
    return d
