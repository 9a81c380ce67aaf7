"""Momentum's closed forms from derive/, lambdified and vectorized over (x = ηλ, β).

The characteristic-polynomial coefficients a₁(x, β), a₀(x, β) are the named results of
``derive.rules.momentum``; roots, spectral radius and damping regime follow here for whole
arrays at once (a 1000×1000 stability map is one NumPy expression, not a million
``numpy.roots`` calls).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

METHODS = ("heavy-ball", "nesterov")
REGIMES = ("overdamped", "critically damped", "underdamped", "sign-flipping", "unstable")


@lru_cache(maxsize=None)
def coefficients(method: str):
    """(a₁, a₀) as NumPy functions of (x, β), from the derivation's results."""
    from derive.rules import momentum

    if method not in METHODS:
        raise KeyError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    d = momentum.heavy_ball_analysis() if method == "heavy-ball" else momentum.nesterov_analysis()
    args = (momentum.x, momentum.beta)
    return (sp.lambdify(args, d.results["a1"], "numpy"), sp.lambdify(args, d.results["a0"], "numpy"))


def roots(method: str, x, beta):
    """Both roots of z² + a₁z + a₀ (complex arrays), largest modulus first."""
    f1, f0 = coefficients(method)
    x, beta = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(beta, dtype=float))
    a1, a0 = f1(x, beta) * np.ones_like(x), f0(x, beta) * np.ones_like(x)
    sq = np.sqrt((a1 * a1 - 4 * a0).astype(complex))
    r1, r2 = (-a1 + sq) / 2, (-a1 - sq) / 2
    swap = np.abs(r2) > np.abs(r1)
    return np.where(swap, r2, r1), np.where(swap, r1, r2)


def spectral_radius(method: str, x, beta) -> np.ndarray:
    """max |root|, vectorized."""
    return np.abs(roots(method, x, beta)[0])


def regime(method: str, x, beta, rtol: float = 1e-9) -> np.ndarray:
    """Damping regime per point: the dominant root decides.

    unstable (radius >= 1), underdamped (complex pair), critically damped (double real
    root, |Δ| <= rtol), sign-flipping (dominant root real and negative), overdamped
    (dominant root real and positive)."""
    f1, f0 = coefficients(method)
    x, beta = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(beta, dtype=float))
    a1, a0 = f1(x, beta) * np.ones_like(x), f0(x, beta) * np.ones_like(x)
    disc = a1 * a1 - 4 * a0
    top, _ = roots(method, x, beta)
    out = np.where(disc < -rtol, "underdamped", np.where(np.abs(disc) <= rtol, "critically damped",
                   np.where(top.real < 0, "sign-flipping", "overdamped")))
    return np.where(np.abs(top) >= 1 - 1e-12, "unstable", out).astype(object)
