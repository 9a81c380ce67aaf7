"""Optimizers as pure update maps: (theta_t, g_t, state_t) -> (theta_{t+1}, state_{t+1}).

Protocol::

    opt = gd(lr=0.1, weight_decay=0.0)
    state = opt.init(params)                          # params: a float array of any shape
    params, state = opt.step(params, grads, state)    # pure: inputs never mutated

State is a ``dict[str, np.ndarray | int]`` (plain GD keeps none: ``{}``).  ``params`` may also be
a list (or tuple) of arrays, like a torch param group: then ``grads`` is a list of the same length
and shapes, the state is a list with one dict per array, and ``step`` returns a list of arrays.
Every hand-written optimizer gets this from :class:`ArrayOptimizer`: it implements ``_init(p)`` and
``_step(p, g, state)`` for one checked array ``p`` and its gradient ``g`` of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Union, runtime_checkable

import numpy as np

from numeric.validation import _array, _int, _real, _vector

__all__ = ["State", "GradFn", "Optimizer", "ArrayOptimizer", "is_param_list", "state_array", "step_count",
           "GD", "gd", "run"]

State = dict[str, Union[np.ndarray, int]]
GradFn = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------- #
# Protocol and plain gradient descent.
# --------------------------------------------------------------------------- #
@runtime_checkable
class Optimizer(Protocol):
    """Anything with ``init(params) -> state`` and a pure ``step(params, grads, state)``."""

    def init(self, params: np.ndarray) -> State:
        """Return the initial optimizer state for ``params``."""
        ...

    def step(self, params: np.ndarray, grads: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Return ``(new_params, new_state)`` without mutating any input."""
        ...


def is_param_list(params) -> bool:
    """True when ``params`` is a list or tuple of arrays (a param group), not one array-like:
    every element must be an ``np.ndarray`` (``[1.0, 2.0]`` is one 1-D parameter)."""
    return isinstance(params, (list, tuple)) and len(params) > 0 and all(
        isinstance(p, np.ndarray) for p in params)


def step_count(state: State, key: str = "step") -> int:
    """Return ``state[key]``, checked to be an integer >= 0."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be the dict returned by init(), got {type(state).__name__}")
    t = state.get(key)
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or t < 0:
        raise ValueError(f"state[{key!r}] must be an integer >= 0, got {t!r}")
    return int(t)


def state_array(state: State, key: str, shape: tuple, nonnegative: bool = False) -> np.ndarray:
    """Return ``state[key]`` checked to be a finite array of ``shape`` (and >= 0 if asked)."""
    if not isinstance(state, dict) or key not in state:
        got = list(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"state must be the dict returned by init() (with key {key!r}), got {got}")
    arr = _array(f"state[{key!r}]", state[key], shape)
    if nonnegative and (arr < 0).any():
        bad = [tuple(int(i) for i in ix) if arr.ndim != 1 else int(ix[0]) for ix in np.argwhere(arr < 0)[:5]]
        raise ValueError(f"state[{key!r}] must be >= 0 (a mean of squares), got negative entries at indices {bad}")
    return arr


class ArrayOptimizer:
    """Base of the hand-written optimizers: one array of any shape, or a list of arrays.

    Subclasses implement ``_init(p) -> state`` and ``_step(p, g, state) -> (p', state')`` for one
    array; this class checks the inputs (real, finite, non-empty, ``grads`` of the parameters'
    shape, ``state`` a dict) and maps a list of parameters to a list of states, one per array,
    as torch keeps one state per tensor of a param group.
    """

    def _init(self, p: np.ndarray) -> State:
        raise NotImplementedError

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        raise NotImplementedError

    def init(self, params):
        """The initial state: a dict for one array, a list of dicts for a list of arrays."""
        if is_param_list(params):
            return [self._init(_array(f"params[{i}]", p)) for i, p in enumerate(params)]
        return self._init(_array("params", params))

    def step(self, params, grads, state):
        """``(params', state')`` without mutating any input (lists in, lists out)."""
        if is_param_list(params):
            n = len(params)
            if not isinstance(grads, (list, tuple)) or len(grads) != n:
                raise ValueError(f"grads must be a list of {n} arrays, one per parameter, got "
                                 f"{type(grads).__name__}" + (f" of length {len(grads)}"
                                                              if isinstance(grads, (list, tuple)) else ""))
            if not isinstance(state, (list, tuple)) or len(state) != n:
                raise ValueError(f"state must be the list of {n} dicts returned by init(params), got "
                                 f"{type(state).__name__}")
            out = [self._one(p, g, s, f"[{i}]") for i, (p, g, s) in enumerate(zip(params, grads, state))]
            return [o[0] for o in out], [o[1] for o in out]
        return self._one(params, grads, state, "")

    def _one(self, params, grads, state, where: str):
        p = _array(f"params{where}", params)
        g = _array(f"grads{where}", grads, p.shape)
        if not isinstance(state, dict):
            raise ValueError(f"state{where} must be the dict returned by init(), got {type(state).__name__}")
        try:
            new_p, new_state = self._step(p, g, state)
        except ValueError as err:
            if not where:
                raise
            # a bad state entry of one array of a list: say which array
            raise ValueError(f"{err} (in state{where}, the state of params{where})") from None
        # arithmetic on 0-d arrays yields NumPy scalars: hand back 0-d arrays, so that a list of
        # returned params is again a list of np.ndarray (``is_param_list``)
        return np.asarray(new_p), {k: np.asarray(v) if isinstance(v, np.floating) else v
                                   for k, v in new_state.items()}


@dataclass(frozen=True)
class GD(ArrayOptimizer):
    """Gradient descent with coupled L2 weight decay.

    theta <- theta - lr * (g + weight_decay * theta)

    This is ``torch.optim.SGD(lr, momentum=0, weight_decay=wd)``: the decay is
    added to the gradient ("coupled"), not applied to the weights separately.
    """

    lr: float
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _real("lr", self.lr, 0.0))
        object.__setattr__(
            self, "weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False)
        )

    def _init(self, p: np.ndarray) -> State:
        """GD keeps no state: returns ``{}``."""
        return {}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """theta' = theta - lr * (g + weight_decay * theta); returns ``(theta', {})``."""
        return p - self.lr * (g + self.weight_decay * p), {}


def gd(lr: float, weight_decay: float = 0.0) -> GD:
    """Plain gradient descent: theta <- theta - lr * (g + weight_decay * theta).

    Coupled L2 decay, i.e. the ``torch.optim.SGD`` convention with momentum=0.
    """
    return GD(lr=lr, weight_decay=weight_decay)


def run(opt: Optimizer, grad_fn: GradFn, params0, steps: int) -> np.ndarray:
    """Iterate theta_{t+1}, s_{t+1} = opt.step(theta_t, grad_fn(theta_t), s_t) for ``steps`` steps.

    Returns the trajectory ``[theta_0, ..., theta_steps]`` with shape ``(steps + 1, n)``.
    If the gradient or the new parameters become non-finite (nan/inf) the run
    stops and returns only the finite iterates so far, so the result then has
    fewer than ``steps + 1`` rows (every returned row is finite).
    """
    if not isinstance(opt, Optimizer):
        raise ValueError(
            f"opt must have init(params) and step(params, grads, state) methods, got {type(opt).__name__}"
        )
    if not callable(grad_fn):
        raise ValueError(f"grad_fn must be a callable theta -> gradient, got {type(grad_fn).__name__}")
    p = _vector("params0", params0).copy()
    steps = _int("steps", steps, 0)
    traj = np.empty((steps + 1, p.size))
    traj[0] = p
    state = opt.init(p.copy())
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            g = np.asarray(grad_fn(p.copy()), dtype=float)
            if g.shape != p.shape:
                raise ValueError(f"grad_fn must return an array of shape {p.shape}, got {g.shape}")
            if not np.isfinite(g).all():
                return traj[: t + 1].copy()
            p, state = opt.step(p, g, state)
            p = np.asarray(p, dtype=float)
            if not np.isfinite(p).all():
                return traj[: t + 1].copy()
            traj[t + 1] = p
    return traj
