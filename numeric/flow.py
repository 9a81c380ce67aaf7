"""Continuous-time limits: integrate theta' = f(theta), in particular gradient flow theta' = -grad L(theta)."""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.integrate import OdeSolver, solve_ivp

from numeric.validation import _real, _vector

__all__ = ["integrate_flow", "gradient_flow"]

_METHODS = ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")


class _NonFinite(Exception):
    """Raised inside the ODE right-hand side when it leaves the finite range."""


def _check_t_eval(t_eval, t_final: float) -> np.ndarray | None:
    """Validate t_eval: 1-D, finite, non-decreasing, inside [0, t_final]."""
    if t_eval is None:
        return None
    t = _vector("t_eval", t_eval)
    if np.any(np.diff(t) < 0):
        raise ValueError("t_eval must be sorted in increasing order")
    if t[0] < 0 or t[-1] > t_final:
        raise ValueError(f"t_eval must lie in [0, t_final] = [0, {t_final:g}], got [{t[0]:g}, {t[-1]:g}]")
    return t


def integrate_flow(
    vector_field: Callable[[np.ndarray], np.ndarray],
    theta0,
    t_final: float,
    t_eval=None,
    method: str = "DOP853",
    rtol: float = 1e-11,
    atol: float = 1e-13,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve the autonomous ODE theta'(t) = vector_field(theta(t)), theta(0) = theta0, on [0, t_final].

    Uses ``scipy.integrate.solve_ivp``. Returns ``(t, thetas)`` with ``thetas``
    of shape ``(len(t), n)``; ``t`` is ``t_eval`` if given, else the solver's own
    steps. Raises RuntimeError (with the solver's message) if integration fails,
    e.g. when the solution blows up in finite time.
    """
    if not callable(vector_field):
        raise ValueError(f"vector_field must be a callable theta -> dtheta/dt, got {type(vector_field).__name__}")
    y0 = _vector("theta0", theta0).copy()
    t_final = _real("t_final", t_final, 0.0)
    t_eval = _check_t_eval(t_eval, t_final)
    rtol = _real("rtol", rtol, 0.0)
    atol = _real("atol", atol, 0.0)
    is_solver = isinstance(method, type) and issubclass(method, OdeSolver)
    if not is_solver and method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)} (or an OdeSolver subclass), got {method!r}")
    n = y0.size

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        """The right-hand side f(t, y) = vector_field(y) for solve_ivp."""
        dy = np.asarray(vector_field(y.copy()), dtype=float)
        if dy.shape != (n,):
            raise ValueError(f"vector_field must return an array of shape ({n},), got {dy.shape}")
        if not np.all(np.isfinite(dy)) or not np.all(np.isfinite(y)):
            raise _NonFinite(t)
        return dy

    try:
        with np.errstate(over="ignore", invalid="ignore"):
            sol = solve_ivp(rhs, (0.0, t_final), y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    except _NonFinite as exc:
        raise RuntimeError(
            f"flow left the finite range at t={exc.args[0]:.6g} (the solution likely blows up); use a smaller t_final"
        ) from None
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed ({method}): {sol.message}")
    return np.asarray(sol.t, dtype=float), np.ascontiguousarray(sol.y.T)


def gradient_flow(grad_fn: Callable[[np.ndarray], np.ndarray], theta0, t_final: float, **kw):
    """Gradient flow theta'(t) = -grad_fn(theta(t)); same arguments/return as :func:`integrate_flow`."""
    if not callable(grad_fn):
        raise ValueError(f"grad_fn must be a callable theta -> gradient, got {type(grad_fn).__name__}")
    return integrate_flow(lambda theta: -np.asarray(grad_fn(theta), dtype=float), theta0, t_final, **kw)
