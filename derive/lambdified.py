"""An :class:`~derive.update_rule.UpdateRule` turned into NumPy: ``rule.lambdify(**hyper)`` returns a
:class:`LambdifiedOptimizer` in the optimizer protocol of ``numeric.optimizers`` (``init``/``step``),
compiled once per distinct rule; whole-array functions (``rule.functions``: Muon's orthogonalisation,
Adafactor's RMS) are passed to ``sympy.lambdify`` as their NumPy implementations.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
import math
from typing import TYPE_CHECKING, Any

import sympy as sp

if TYPE_CHECKING:
    from derive.update_rule import UpdateRule


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
    key = (rule.name, sp.srepr(rule.state), sp.srepr(rule.update), tuple(rule.hyper),
           tuple((k, id(f)) for k, f in sorted(rule.functions.items())))
    if key not in _COMPILED:
        grads = sp.Symbol("grads")
        exprs = [u.subs(rule.oracle(rule.theta), grads) for u in rule.update]
        leftover = [e for e in exprs if e.has(rule.oracle)]
        if leftover:
            raise ValueError(f"{rule.name}: the oracle is applied away from θ ({leftover[0]}); "
                             "the optimizer protocol passes grads at θ only: use the rule's buffer form (for nesterov: "
                             "nesterov-buffer, torch's, whose parameter is the look-ahead point)")
        args = [*rule.state, grads, *rule.hyper.values()]
        modules = [dict(rule.functions), "numpy"] if rule.functions else "numpy"
        _COMPILED[key] = sp.lambdify(args, exprs, modules=modules, cse=True)
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
