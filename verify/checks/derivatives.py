"""Symbolic gradients and Hessians of every test loss vs finite differences of the NumPy code.

For each test problem three legs are compared at random points:
symbolic ∇L (lambdified)  vs  central differences (Richardson) of numeric ``loss``;
symbolic ∇²L              vs  central differences of numeric ``grad``;
hand-written grad/Hessian vs  symbolic (exact up to rounding).
The finite-difference tolerance is ten times the method's own error estimate.
"""
from __future__ import annotations

import numpy as np

from derive import losses
from numeric import problems

from verify.checks import CheckResult, relative_error
from verify.finite_differences import central_gradient, hessian_from_gradient


def _pairs():
    """(name, numeric problem, symbolic (expr, params)) for every test loss."""
    return [
        ("quadratic", problems.quadratic([1.0, 10.0]), losses.quadratic_2d([1, 10])),
        ("rosenbrock", problems.rosenbrock(), losses.rosenbrock()),
        ("factorization", problems.factorization(), losses.factorization()),
    ]


def derivative_checks(points: int = 5, seed: int = 0) -> list[CheckResult]:
    """Symbolic gradients and Hessians of every test loss vs finite differences and hand-written code."""
    rng = np.random.default_rng(seed)
    out = []
    for name, prob, (expr, params) in _pairs():
        _, sym_grad, sym_hess = losses.lambdify_loss(expr, params)
        xs = rng.uniform(-1.5, 1.5, size=(points, prob.dim))
        g_err = g_tol = h_err = h_tol = hw_err = 0.0
        for x in xs:
            fd = central_gradient(prob.loss, x)
            scale = max(1.0, float(np.max(np.abs(fd.value))))
            g_err = max(g_err, relative_error(sym_grad(x), fd.value))
            g_tol = max(g_tol, 10 * fd.error_estimate / scale + 1e-13)
            fh = hessian_from_gradient(prob.grad, x)
            scale = max(1.0, float(np.max(np.abs(fh.value))))
            h_err = max(h_err, relative_error(sym_hess(x), fh.value))
            h_tol = max(h_tol, 10 * fh.error_estimate / scale + 1e-13)
            hw_err = max(hw_err, relative_error(prob.grad(x), sym_grad(x)),
                         relative_error(prob.hessian(x), sym_hess(x)))
        out += [
            CheckResult(f"derivatives/{name}/gradient-fd", "symbolic gradient vs central FD of numeric loss",
                        g_err, g_tol, f"{points} random points, Richardson-extrapolated central differences"),
            CheckResult(f"derivatives/{name}/hessian-fd", "symbolic Hessian vs central FD of numeric gradient",
                        h_err, h_tol, f"{points} random points"),
            CheckResult(f"derivatives/{name}/hand-written", "hand-written grad and Hessian vs symbolic",
                        hw_err, 1e-12, "float64 rounding only"),
        ]
    return out
