"""Finite-difference derivatives with a-posteriori error estimates.

Used to check symbolic (SymPy) and hand-written derivatives numerically.
Every routine returns an :class:`FDResult` carrying an estimate of its own
absolute error, so a check can say *how well* two derivatives agree.

Notation: eps = 2**-52 (float64 machine epsilon); the step along coordinate
i is h_i = h0 * max(1, |x_i|), h0 the base step.  Offsets are made exactly
representable ((x_i + h_i) - x_i) and the true distance between the two
evaluation points is used as denominator.
Only numpy is imported; f is evaluated one point at a time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class FDResult:
    value: np.ndarray        # the estimate
    error_estimate: float    # a-posteriori estimate of the max absolute error
    step: float              # the base step h0 used


def _as_point(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"x must be a real float array, got dtype {a.dtype}; "
                         "pass np.asarray(x, dtype=float)")
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"x must be a non-empty 1-D array, got shape {a.shape}; "
                         "ravel it and reshape inside f")
    a = a.astype(np.float64)  # always a copy
    if not np.all(np.isfinite(a)):
        raise ValueError("x contains nan/inf; differentiate at a finite point")
    return a


def _base_step(h, default: float) -> float:
    if h is None:
        return default
    h = float(h)
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"step h must be a positive finite number, got {h}")
    return h


def _call(F, y: np.ndarray, m: int | None, what: str) -> np.ndarray:
    """Evaluate F at a copy of y; check the result is finite, real, and has
    the expected shape (m=None: a scalar)."""
    v = np.asarray(F(y.copy()))
    if m is None and v.ndim != 0:
        raise ValueError(f"{what} must return a scalar, got shape {v.shape}; "
                         "use central_jacobian for vector-valued functions")
    if m is not None and (v.ndim > 1 or (m >= 0 and v.size != m)):
        raise ValueError(f"{what} must return a 1-D array of length "
                         f"{m if m >= 0 else 'm'}, got shape {v.shape}")
    if v.dtype.kind not in "biuf":
        raise ValueError(f"{what} must return real values, got dtype {v.dtype}")
    v = v.astype(np.float64).reshape(-1)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{what} returned nan/inf at {y!r}; move x away from "
                         "the singularity or use a smaller step h")
    return v


def _central(F, x, h, m, what):
    """One level of central differences, D[:, i] = (F(x+h_i e_i) - F(x-h_i e_i)) / 2h_i.
    Returns D (m, n) and the rounding-error scale eps*(|F+|+|F-|)/(2h_i)."""
    D, R = [], []
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] += h[i]
        xm[i] -= xp[i] - x[i]
        fp, fm = _call(F, xp, m, what), _call(F, xm, m, what)
        m = fp.size if m == -1 else m
        den = xp[i] - xm[i]
        D.append((fp - fm) / den)
        R.append(EPS * (np.abs(fp) + np.abs(fm)) / den)
    return np.array(D).T, np.array(R).T


def _jacobian(F, x, h, richardson, m, what) -> FDResult:
    """Central-difference Jacobian with an a-posteriori error estimate.

    D(h) = F' + c2 h^2 + c4 h^4 + ... (truncation O(h^2)), rounding O(eps|F|/h).
    Plain (h0 = eps**(1/3)): value D(h), estimate |D(h) - D(2h)|/3 + rounding.
    Richardson (h0 = eps**(1/5)): value R(h) = (4 D(h/2) - D(h))/3, truncation
    O(h^4); estimate |R(h) - R(h/2)| (R(h/2) has 16x less truncation, so this
    is R(h)'s O(h^4) error plus rounding noise) + rounding (4 r(h/2) + r(h))/3.
    The extra level R(h/2) costs 2n evaluations (6n in all, 4n plain).
    """
    x = _as_point(x)
    h0 = _base_step(h, EPS ** 0.2 if richardson else EPS ** (1 / 3))
    steps = h0 * np.maximum(1.0, np.abs(x))
    D1, R1 = _central(F, x, steps, m, what)
    m = D1.shape[0] if m == -1 else m
    if richardson:
        D2, R2 = _central(F, x, steps / 2, m, what)
        D4, _ = _central(F, x, steps / 4, m, what)
        value = (4 * D2 - D1) / 3
        err = np.abs(value - (4 * D4 - D2) / 3) + (4 * R2 + R1) / 3
    else:
        D2, _ = _central(F, x, steps * 2, m, what)
        value = D1
        err = np.abs(D1 - D2) / 3 + R1
    return FDResult(value, float(np.max(err)), h0)


def central_gradient(f, x, h=None, richardson=True) -> FDResult:
    """Gradient of f: R^n -> R, g_i ~ (f(x+h_i e_i) - f(x-h_i e_i)) / (2 h_i).

    Plain: error O(h^2) + O(eps|f|/h), h0 = eps**(1/3) ~ 6e-6 (~1e-10 rel.).
    Richardson (default): (4 D(h/2) - D(h))/3, error O(h^4) + O(eps|f|/h),
    h0 = eps**(1/5) ~ 7e-4 (~1e-12 rel.).  Costs 6n (plain 4n) evaluations.
    """
    r = _jacobian(lambda y: f(y), x, h, richardson, None, "f")
    return FDResult(r.value[0], r.error_estimate, r.step)


def central_jacobian(F, x, h=None, richardson=True) -> FDResult:
    """Jacobian J[j, i] = dF_j/dx_i of F: R^n -> R^m, shape (m, n).

    Same formulas and error orders as :func:`central_gradient`, per component.
    """
    return _jacobian(F, x, h, richardson, -1, "F")


def hessian_from_gradient(grad, x, h=None, richardson=True) -> FDResult:
    """Hessian as the central-difference Jacobian of an analytic gradient,
    symmetrized H = (J + J^T)/2.  Error orders as :func:`central_jacobian`
    (O(h^2) plain / O(h^4) Richardson, + O(eps|grad|/h)).  error_estimate is
    max(Jacobian estimate, max|J - J^T|/2): a large asymmetry means grad is
    not the gradient of any function (or is badly inaccurate).
    """
    x = _as_point(x)
    r = _jacobian(grad, x, h, richardson, x.size, "grad")
    J = r.value
    asym = float(np.max(np.abs(J - J.T))) / 2
    return FDResult((J + J.T) / 2, max(r.error_estimate, asym), r.step)


def _second_differences(f, x, s, f0):
    """H_ii = (f(x+s_i e_i) - 2f(x) + f(x-s_i e_i)) / s_i^2,
    H_ij = (f(++) - f(+-) - f(-+) + f(--)) / (4 s_i s_j); truncation O(s^2).
    Returns H and the rounding scale eps * sum|f values| / denominator."""
    n = x.size
    H, R = np.empty((n, n)), np.empty((n, n))

    def at(i, a, j=0, b=0):
        y = x.copy()
        y[i] += a * s[i]
        y[j] += b * s[j]
        return _call(f, y, None, "f")[0]

    for i in range(n):
        fp, fm = at(i, 1), at(i, -1)
        H[i, i] = (fp - 2 * f0 + fm) / s[i] ** 2
        R[i, i] = EPS * (abs(fp) + 2 * abs(f0) + abs(fm)) / s[i] ** 2
        for j in range(i):
            v = [at(i, a, j, b) for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
            H[i, j] = H[j, i] = (v[0] - v[1] - v[2] + v[3]) / (4 * s[i] * s[j])
            R[i, j] = R[j, i] = EPS * sum(map(abs, v)) / (4 * s[i] * s[j])
    return H, R


def hessian_from_function(f, x, h=None) -> FDResult:
    """Hessian from second differences of f alone (no gradient needed).

    Truncation O(h^2), rounding O(eps|f|/h^2); h0 = eps**(1/4) ~ 1.2e-4 balances
    them (~1e-8 relative at best).  error_estimate = |H(h) - H(2h)|/3 + rounding.
    Costs about 4 n^2 evaluations of f.  Prefer hessian_from_gradient.
    """
    x = _as_point(x)
    h0 = _base_step(h, EPS ** 0.25)
    s = h0 * np.maximum(1.0, np.abs(x))
    s = (x + s) - x                              # exactly representable offsets
    f0 = _call(f, x, None, "f")[0]
    H1, R1 = _second_differences(f, x, s, f0)
    H2, _ = _second_differences(f, x, 2 * s, f0)
    err = np.abs(H1 - H2) / 3 + R1
    return FDResult(H1, float(np.max(err)), h0)


def complex_step_gradient(f, x, h=1e-20) -> FDResult:
    """Complex-step gradient g_i = Im f(x + i h e_i) / h.

    Truncation O(h^2) (negligible for h <= 1e-8), no subtractive cancellation,
    so the result is exact to rounding, error ~ eps*|g|, for real-analytic f
    written with complex-safe numpy code (no abs, np.real, float(), <, max).
    """
    x = _as_point(x)
    h = _base_step(h, 1e-20)
    if not 1e-300 <= h <= 1e-8:
        raise ValueError(f"complex step h={h} must lie in [1e-300, 1e-8]; use the default 1e-20")
    g = np.empty(x.size)
    for i in range(x.size):
        z = x.astype(np.complex128)
        z[i] += 1j * h
        v = np.asarray(f(z))
        if v.ndim != 0:
            raise ValueError(f"f must return a scalar, got shape {v.shape}")
        if v.dtype.kind != "c":
            raise ValueError("f returned a real value for complex input: it discards the "
                             "imaginary part (abs, np.real, float(), real-typed buffers?); "
                             "rewrite f with complex-safe ufuncs or use central_gradient")
        if not np.isfinite(v):
            raise ValueError(f"f returned nan/inf at x + {h}i e_{i}")
        g[i] = v.imag / h
    return FDResult(g, 4 * EPS * float(np.max(np.abs(g))), h)


def directional_check(f, grad, x, n_directions=5, seed=0) -> float:
    """Max relative error of grad(x).u against the Richardson central difference
    (4 D(h/2) - D(h))/3 of t -> f(x + t u), for random unit directions u.

    Relative to max(||grad(x)||_2, |FD|) (>= |grad.u|), so near-orthogonal
    directions do not inflate it.  Typical: ~1e-11 for a correct gradient;
    meaningless (~1) at stationary points where grad(x) = 0.
    """
    x = _as_point(x)
    if int(n_directions) != n_directions or n_directions < 1:
        raise ValueError(f"n_directions must be a positive integer, got {n_directions}")
    g = _call(grad, x, x.size, "grad")
    rng = np.random.default_rng(seed)
    h = EPS ** 0.2 * max(1.0, float(np.max(np.abs(x))))
    gnorm, worst = float(np.linalg.norm(g)), 0.0
    for _ in range(int(n_directions)):
        u = rng.standard_normal(x.size)
        u /= np.linalg.norm(u)
        fd = central_gradient(lambda t: f(x + t[0] * u), [0.0], h=h).value[0]
        denom = max(gnorm, abs(fd))
        if denom > 0:
            worst = max(worst, abs(fd - g @ u) / denom)
    return worst
