"""Symbolic test losses, written independently of their NumPy twins in ``numeric.problems``.

Each returns ``(expr, params)``; ``gradient`` and ``hessian`` differentiate them
exactly, and ``lambdify_loss`` turns the three into NumPy functions of a vector θ.
"""
from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

x, y = sp.symbols("theta_1 theta_2", real=True)


def quadratic_2d(eigenvalues: Sequence[float], angle: sp.Expr = sp.pi / 6):
    """L = ½ θᵀ Q diag(λ₁, λ₂) Qᵀ θ with Q the rotation by ``angle`` (exact)."""
    q = sp.Matrix([[sp.cos(angle), -sp.sin(angle)], [sp.sin(angle), sp.cos(angle)]])
    h = q * sp.diag(*[sp.nsimplify(v) for v in eigenvalues]) * q.T
    t = sp.Matrix([x, y])
    return sp.expand((t.T * h * t)[0, 0] / 2), (x, y)


def rosenbrock(a: float = 1, b: float = 100):
    """L = (a − θ₁)² + b (θ₂ − θ₁²)²."""
    return (sp.nsimplify(a) - x) ** 2 + sp.nsimplify(b) * (y - x**2) ** 2, (x, y)


def factorization():
    """L = ½ (θ₁ θ₂ − 1)²: a scalar two-layer linear network, non-convex."""
    return (x * y - 1) ** 2 / 2, (x, y)


def gradient(expr: sp.Expr, params: Sequence[sp.Symbol]) -> sp.Matrix:
    """∇L as a column vector."""
    return sp.Matrix([sp.diff(expr, p) for p in params])


def hessian(expr: sp.Expr, params: Sequence[sp.Symbol]) -> sp.Matrix:
    """∇²L."""
    return sp.hessian(expr, list(params))


def lambdify_loss(expr: sp.Expr, params: Sequence[sp.Symbol]):
    """(loss, grad, hessian) as NumPy functions of one vector θ."""
    import numpy as np

    v = sp.MatrixSymbol("v", len(params), 1)
    sub = {p: v[i, 0] for i, p in enumerate(params)}
    f = sp.lambdify(v, expr.subs(sub), "numpy")
    gf = sp.lambdify(v, gradient(expr, params).subs(sub), "numpy")
    hf = sp.lambdify(v, hessian(expr, params).subs(sub), "numpy")
    col = lambda th: np.asarray(th, dtype=float).reshape(-1, 1)  # noqa: E731
    return (lambda th: float(f(col(th))),
            lambda th: np.asarray(gf(col(th)), dtype=float).reshape(-1),
            lambda th: np.asarray(hf(col(th)), dtype=float))
