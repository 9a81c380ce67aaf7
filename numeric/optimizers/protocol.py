"""Optimizers as pure update maps: (theta_t, g_t, state_t) -> (theta_{t+1}, state_{t+1}).

Protocol::

    opt = gd(lr=0.1, weight_decay=0.0)
    state = opt.init(params)                          # params: 1-D float array
    params, state = opt.step(params, grads, state)    # pure: inputs never mutated

State is always a ``dict[str, np.ndarray | int]`` (plain GD keeps none: ``{}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Union, runtime_checkable

import numpy as np

from numeric.validation import _int, _real, _vector

__all__ = ["State", "GradFn", "Optimizer", "GD", "gd", "run"]

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


@dataclass(frozen=True)
class GD:
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

    def init(self, params) -> State:
        """GD keeps no state: returns ``{}``."""
        _vector("params", params)
        return {}

    def step(self, params, grads, state: State) -> tuple[np.ndarray, State]:
        """theta' = theta - lr * (g + weight_decay * theta); returns ``(theta', {})``."""
        p = _vector("params", params)
        g = _vector("grads", grads, p.size)
        if not isinstance(state, dict):
            raise ValueError(f"state must be the dict returned by init(), got {type(state).__name__}")
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
