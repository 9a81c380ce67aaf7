"""An :class:`~derive.update_rule.UpdateRule` turned into NumPy: ``rule.lambdify(**hyper)`` returns a
:class:`LambdifiedOptimizer` in the optimizer protocol of ``numeric.optimizers``: ``init``, the pure
``step`` and the in-place ``step_``.

Two paths compute the same map:

* fused (the default, :mod:`derive.fused`): compiled per rule and hyperparameter values, with the step
  counter a Python scalar in the state, Piecewise on the counter resolved per step, scalar subexpressions
  computed once, and in-place NumPy code with ``out=`` buffers; from 65536 elements on, when Numba is
  installed (the ``jit`` extra), the same code as one compiled loop over the elements (``jit``);
* plain (``fused=False``, and rules the generator does not take: whole-array functions such as Muon's
  orthogonalisation or Adafactor's RMS): ``sympy.lambdify`` of the whole update, compiled once per rule
  with the hyperparameters as arguments, every state entry an array.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
import math
from typing import TYPE_CHECKING, Any

import sympy as sp

from derive.fused import FusedStep, NotFusable, oracle_free, program
from derive.fused.jit import available as _jit_available

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
_F64: list = []  # [numpy's float64 dtype], filled on first use (derive/ imports NumPy lazily)


def _key(rule: UpdateRule) -> tuple:
    return (rule.name, sp.srepr(rule.state), sp.srepr(rule.update), tuple(rule.hyper),
            tuple((k, id(f)) for k, f in sorted(rule.functions.items())))


def _compile(rule: UpdateRule, key: tuple | None = None):
    """lambdify once per distinct rule: f(state..., grads, hyper...) -> new state tuple (the plain path)."""
    key = key or _key(rule)
    if key not in _COMPILED:
        grads = sp.Symbol("grads")
        exprs = oracle_free(rule, grads)
        args = [*rule.state, grads, *rule.hyper.values()]
        modules = [dict(rule.functions), "numpy"] if rule.functions else "numpy"
        _COMPILED[key] = sp.lambdify(args, exprs, modules=modules, cse=True)
    return _COMPILED[key]


@dataclass(frozen=True)
class LambdifiedOptimizer:
    """A symbolic rule turned into NumPy, in the optimizer protocol: ``state = opt.init(params)``;
    ``params, state = opt.step(params, grads, state)`` (pure) or ``opt.step_(params, grads, state)``
    (mutates ``params`` and the state's arrays, returns None).  With ``fused`` (the default) the step
    counter is a Python number in the state; a state whose counter is an array of equal entries (e.g.
    copied from another optimizer) is accepted and stays an array."""

    rule: UpdateRule
    hyper: dict[str, float]
    fused: bool = True
    #: the fused step as one compiled loop (Numba, the ``jit`` extra; :mod:`derive.fused.jit`): None (the
    #: default) from ``JIT_FROM`` = 65536 elements on when Numba is installed, True at every size, False never
    jit: bool | None = None

    def __post_init__(self):
        if self.jit not in (None, True, False):
            raise ValueError(f"jit must be None, True or False, got {self.jit!r}")
        if self.jit and not _jit_available():
            raise ValueError("jit=True needs Numba: pip install 'learning-dynamics[jit]'")

    def __reduce__(self):  # pickled without its compiled code (rebuilt on first use)
        return (type(self), (self.rule, self.hyper, self.fused, self.jit))

    @cached_property
    def _key(self) -> tuple:
        return _key(self.rule)

    @cached_property
    def _compiled(self):
        """The plain lambdified map, looked up once per optimizer (the cache key costs a srepr)."""
        return _compile(self.rule, self._key)

    @cached_property
    def _fast(self) -> FusedStep | None:
        """The fused step, or None (``fused=False``, or a rule the generator does not take)."""
        if not self.fused:
            return None
        exact = {k: v for k, v in self.hyper.items() if v in (0.0, 1.0)}
        try:
            return FusedStep(program(self.rule, exact, self._key), self.hyper, self.jit)
        except NotFusable:
            return None

    def _fast_or_none(self) -> FusedStep | None:
        try:
            return self._fast
        except ValueError:  # a look-ahead oracle: step says so
            return None

    @cached_property
    def _names(self) -> tuple:
        """(counter's state key or None, state keys of the other entries after θ)."""
        i = self.rule.counter
        names = self.rule.state_names
        if i is None:
            return None, names
        return names[i - 1], tuple(n for k, n in enumerate(names, 1) if k != i)

    def init(self, params):
        """Initial state; an initial value may depend on θ and the hyperparameters (text rules).  The
        fused path keeps a constant step counter as a Python int (or float)."""
        import numpy as np

        params = np.asarray(params, dtype=float)
        counter = self._names[0] if self._fast_or_none() is not None else None
        out = {}
        for n, v in zip(self.rule.state_names, self.rule.init):
            if v.free_symbols:
                f = sp.lambdify([self.rule.theta, *self.rule.hyper.values()], v, modules="numpy")
                value = f(params, *[self.hyper[k] for k in self.rule.hyper])
            elif n == counter:
                out[n] = int(v) if v.is_Integer else float(v)
                continue
            else:
                value = float(v)
            out[n] = np.broadcast_to(np.asarray(value, dtype=float), params.shape).copy()
        return out

    # -- the counter -------------------------------------------------------------------------------------
    @staticmethod
    def _scalar_counter(value):
        """(t, was an array) for a counter given as a number or an array of equal entries; (None, _) else."""
        import numpy as np

        if isinstance(value, (int, float)):
            return value, False
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 0:
            return float(arr), False
        if arr.size and (arr == arr.flat[0]).all():
            return float(arr.flat[0]), True
        return None, True

    def step(self, params, grads, state: dict):
        """One step; the inputs are not mutated.  Returns (new params, new state)."""
        import numpy as np

        params = np.asarray(params, dtype=float)
        grads = np.asarray(grads, dtype=float)
        if params.shape != grads.shape:
            raise ValueError(f"params and grads differ in shape: {params.shape} vs {grads.shape}")
        fast = self._fast
        if fast is not None:
            counter, names = self._names
            t, as_array = (None, False) if counter is None else self._scalar_counter(state[counter])
            if counter is None or t is not None:
                arrays = [params, *(np.asarray(state[n], dtype=float) for n in names)]
                new = fast.run(t, arrays, grads, False, params.shape)
                out = dict(zip(names, new[1:]))
                if counter is not None:
                    out[counter] = np.full(params.shape, t + 1.0) if as_array else t + 1
                    out = {n: out[n] for n in self.rule.state_names}
                return new[0], out
        return self._plain_step(params, grads, state)

    def _plain_step(self, params, grads, state: dict):
        import numpy as np

        f = self._compiled
        rest = [np.asarray(state[n], dtype=float) for n in self.rule.state_names]
        new = f(params, *rest, grads, *[self.hyper[k] for k in self.rule.hyper])
        new = [np.broadcast_to(np.asarray(v, dtype=float), params.shape).copy() for v in new]
        return new[0], dict(zip(self.rule.state_names, new[1:]))

    def step_(self, params, grads, state: dict) -> None:
        """One step in place: ``params`` and the state's arrays (writeable float64 arrays of the shape of
        ``params``, as ``init`` returns them) are overwritten with their new values, a scalar step counter
        is replaced in ``state``; returns None.  ``grads`` may share memory with them (it is copied then)."""
        import numpy as np

        f64 = _F64[0] if _F64 else _F64.append(np.dtype(np.float64)) or _F64[0]
        if not (type(params) is np.ndarray and params.dtype is f64 and params.flags.writeable):
            raise ValueError("step_ needs params as a writeable float64 ndarray (use step for other inputs)")
        if not (type(grads) is np.ndarray and grads.dtype is f64):
            grads = np.asarray(grads, dtype=float)
        shape = params.shape
        if grads.shape != shape:
            raise ValueError(f"params and grads differ in shape: {shape} vs {grads.shape}")
        if not isinstance(state, dict):
            raise ValueError(f"state must be the dict returned by init(), got {type(state).__name__}")
        fast = self._fast
        counter, names = self._names
        if fast is None:
            names = [n for n in self.rule.state_names if n != counter]
        arrays = [params]
        # arrays that own their memory (base None) never overlap: may_share_memory only for views
        pb, gb = params.base, grads.base
        copy = grads is params or ((pb is not None or gb is not None) and np.may_share_memory(grads, params))
        for n in names:
            a = state.get(n)
            if not (type(a) is np.ndarray and a.dtype is f64 and a.shape == shape and a.flags.writeable):
                raise ValueError(f"step_: state[{n!r}] must be a writeable float64 array of shape {shape}, as "
                                 "init() returns it")
            ab = a.base
            if a is params or ((ab is not None or pb is not None) and np.may_share_memory(a, params)):
                raise ValueError(f"step_: state[{n!r}] shares memory with params: pass the state returned by init()")
            if not copy:
                copy = a is grads or ((ab is not None or gb is not None) and np.may_share_memory(grads, a))
            arrays.append(a)
        if copy:
            grads = grads.copy()
        if counter is None:
            t, as_array = None, False
        else:
            t = state.get(counter)
            as_array = type(t) is not int
            if as_array:
                t, as_array = self._scalar_counter(t)
        if fast is not None and (counter is None or t is not None):
            fast.run(t, arrays, grads, True, shape)
            if counter is not None:
                if as_array:
                    state[counter][...] = t + 1.0
                else:
                    state[counter] = t + 1
            return None
        new_p, new_state = self._plain_step(params, grads, state)
        np.copyto(params, new_p)
        for n, v in new_state.items():
            old = state[n]
            if type(old) is np.ndarray and old.shape == np.shape(v) and old.flags.writeable:
                np.copyto(old, v)
            else:
                state[n] = v
        return None
