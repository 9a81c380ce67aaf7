"""Scalar SDEs dX = f(X) dt + g(X) dW: Euler-Maruyama, the exact Ornstein-Uhlenbeck law, EM's weak order.

- Euler-Maruyama (Maruyama 1955; Kloeden & Platen 1992, "Numerical Solution of Stochastic Differential
  Equations", Springer, ch. 9 and 14): X_{k+1} = X_k + f(X_k) h + g(X_k) sqrt(h) Z_k, Z_k ~ N(0, 1);
  weak order 1 (|E phi(X_N) - E phi(X(T))| = O(h) for smooth phi), strong order 1/2.
- Ornstein-Uhlenbeck dX = -c X dt + sqrt(d2) dW from X(0) = x0:
  X(t) ~ N(x0 e^{-ct}, d2 (1 - e^{-2ct}) / (2c))  (variance d2 t when c = 0).
- EM on OU is the linear recursion X+ = (1 - c h) X + sqrt(d2 h) Z, whose moments propagate exactly:
  m+ = (1 - c h) m,  q+ = (1 - c h)^2 q + d2 h  (q = E X^2).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from numeric.stochastic.sampling import _rng
from numeric.validation import _array, _int, _real

__all__ = ["euler_maruyama", "ou_moments", "em_ou_moments", "weak_order"]


def euler_maruyama(drift: Callable, diffusion: Callable, x0, t_end, steps, rng, paths):
    """``paths`` Euler-Maruyama paths of dX = drift(X) dt + diffusion(X) dW on [0, t_end]; returns (steps+1, paths).

    drift and diffusion are vectorised callables (array (paths,) -> array (paths,) or a scalar);
    h = t_end / steps; x0 is a number or a (paths,) array.
    """
    if not callable(drift) or not callable(diffusion):
        raise ValueError("drift and diffusion must be callables x -> array (vectorised over paths)")
    t_end = _real("t_end", t_end, 0.0)
    steps = _int("steps", steps, 1)
    paths = _int("paths", paths, 1)
    rng = _rng(rng)
    x = _array("x0", x0)
    if x.ndim == 0:
        x = np.full(paths, float(x))
    x = _array("x0", x, (paths,))
    h = t_end / steps
    sqrt_h = np.sqrt(h)
    out = np.empty((steps + 1, paths))
    out[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            xk = out[k]
            out[k + 1] = xk + drift(xk) * h + diffusion(xk) * sqrt_h * rng.standard_normal(paths)
    return out


def ou_moments(c, d2, x0, t):
    """(mean, variance) of the OU process dX = -c X dt + sqrt(d2) dW at time t from X(0) = x0:
    mean = x0 e^{-ct}, variance = d2 (1 - e^{-2ct}) / (2c) (= d2 t for c = 0).  ``t`` may be an array."""
    c = _real("c", c)
    d2 = _real("d2", d2, 0.0, strict=False)
    x0 = _real("x0", x0)
    tt = _array("t", t)
    if np.any(tt < 0):
        raise ValueError("t must be >= 0")
    mean = x0 * np.exp(-c * tt)
    if c == 0.0:
        var = d2 * tt
    else:
        var = d2 * (-np.expm1(-2.0 * c * tt)) / (2.0 * c)
    if np.ndim(t) == 0:
        return float(mean), float(var)
    return mean, var


def em_ou_moments(c, d2, x0, t_end, steps):
    """(mean, variance) of the Euler-Maruyama approximation after ``steps`` steps of h = t_end/steps on
    dX = -c X dt + sqrt(d2) dW (exact propagation of the linear recursion, no sampling)."""
    c = _real("c", c)
    d2 = _real("d2", d2, 0.0, strict=False)
    x0 = _real("x0", x0)
    t_end = _real("t_end", t_end, 0.0)
    steps = _int("steps", steps, 1)
    h = t_end / steps
    r = 1.0 - c * h
    mean, var = x0, 0.0
    for _ in range(steps):
        mean, var = r * mean, r * r * var + d2 * h
    return mean, var


def weak_order(c=1.0, d2=1.0, x0=1.0, t_end=1.0, steps=(4, 8, 16, 32, 64), rng=None, paths=None):
    """Fitted weak order of Euler-Maruyama on OU: the slope of log|E X_N^2 - E X(T)^2| against log h.

    Without ``rng`` the EM second moment comes from exact propagation (``em_ou_moments``); with ``rng`` and
    ``paths`` it is the Monte Carlo mean of X_N^2 from ``euler_maruyama`` itself (then the coarse step
    counts must make the bias O(h) larger than the sampling error).  Returns the least-squares slope (~1).
    """
    counts = [_int("steps", s, 1) for s in np.atleast_1d(steps).tolist()]
    if len(counts) < 2 or len(set(counts)) != len(counts):
        raise ValueError(f"steps must hold at least 2 distinct step counts, got {steps!r}")
    c = _real("c", c, 0.0)
    d2 = _real("d2", d2, 0.0, strict=False)
    x0 = _real("x0", x0)
    t_end = _real("t_end", t_end, 0.0)
    mean, var = ou_moments(c, d2, x0, t_end)
    exact = var + mean ** 2
    errs = []
    for s in counts:
        if rng is None:
            m, v = em_ou_moments(c, d2, x0, t_end, s)
            approx = v + m ** 2
        else:
            if paths is None:
                raise ValueError("paths is required with rng (Monte Carlo estimate of E X_N^2)")
            xs = euler_maruyama(lambda x: -c * x, lambda x: np.sqrt(d2), x0, t_end, s, rng, paths)[-1]
            approx = float(np.mean(xs ** 2))
        errs.append(abs(approx - exact))
    errs = np.array(errs)
    if np.any(errs == 0.0):
        raise ValueError("an Euler-Maruyama error is exactly 0; choose c, d2, x0 with a non-trivial bias")
    h = t_end / np.array(counts, dtype=float)
    return float(np.polyfit(np.log(h), np.log(errs), 1)[0])
