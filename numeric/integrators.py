"""Optimizers as ODE integrators: gradient descent is explicit Euler on gradient flow theta' = -grad L(theta).

Fixed-step integrators of the autonomous ODE y' = f(y), each ``(f, y0, h, steps) -> IntegrationResult``:

- ``explicit_euler``  y+ = y + h f(y)                         (GD with lr h when f = -grad L; order 1)
- ``heun``            y~ = y + h f(y); y+ = y + h/2 (f(y) + f(y~))   (explicit trapezoid; order 2)
- ``rk4``             classical Runge-Kutta                    (order 4)
- ``implicit_euler``  y+ = y + h f(y+)  (Newton; on f = -grad L the proximal-point step; order 1)

On the test equation y' = -lam y one step multiplies y by the stability function R(z), z = -h lam:
1 + z, 1 + z + z^2/2, sum_{k<=4} z^k/k!, 1/(1 - z). ``solve_adaptive`` wraps scipy's solve_ivp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.integrate import solve_ivp

from numeric.validation import _int, _real, _vector
from numeric.step_size import bisect_threshold

__all__ = [
    "IntegrationResult", "IntegrationError", "explicit_euler", "heun", "rk4", "implicit_euler",
    "METHODS", "ORDER", "ADAPTIVE_METHODS", "solve_adaptive", "largest_stable_step", "error_vs_work",
    "ill_conditioned_quadratic_flow",
]

Field = Callable[[np.ndarray], np.ndarray]
ADAPTIVE_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
_IMPLICIT_ADAPTIVE = ("Radau", "BDF", "LSODA")  # the solve_ivp methods that use a Jacobian


@dataclass(frozen=True)
class IntegrationResult:
    """Times ``t`` (shape (m,)), states ``y`` (shape (m, d)), f calls ``nfev``, Jacobian calls ``njev``."""

    t: np.ndarray
    y: np.ndarray
    nfev: int
    njev: int
    method: str


class IntegrationError(RuntimeError):
    """Newton's method (implicit Euler) or scipy's solve_ivp failed."""


class _Counted:
    """Wrap f (or a Jacobian): count calls, pass a copy, check the returned shape."""

    def __init__(self, fn: Callable, name: str, shape: tuple[int, ...]):
        self.fn, self.name, self.shape, self.calls = fn, name, shape, 0

    def __call__(self, y: np.ndarray) -> np.ndarray:
        self.calls += 1
        out = np.asarray(self.fn(np.array(y, dtype=float)), dtype=float)
        if out.shape != self.shape:
            raise ValueError(f"{self.name} must return an array of shape {self.shape}, got {out.shape}")
        return out


def _callable(name: str, fn) -> None:
    """Raise ValueError unless fn is callable."""
    if not callable(fn):
        raise ValueError(f"{name} must be a callable y -> ndarray, got {type(fn).__name__}")


def _fixed_step(method: str, one_step, f, y0, h, steps, jac=None) -> IntegrationResult:
    """Iterate y_{k+1} = one_step(F, y_k, h); stop early (finite prefix) when a value becomes non-finite."""
    _callable("f", f)
    y = _vector("y0", y0).copy()
    h = _real("h", h, 0.0)
    steps = _int("steps", steps, 1)
    F = _Counted(f, "f", y.shape)
    J = None if jac is None else _Counted(jac, "jac", (y.size, y.size))
    ys = np.empty((steps + 1, y.size))
    ys[0] = y
    m = steps + 1
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            y = one_step(F, y, h) if J is None else one_step(F, y, h, J)
            if not np.isfinite(y).all():
                m = k + 1
                break
            ys[k + 1] = y
    return IntegrationResult(h * np.arange(m), ys[:m].copy(), F.calls, 0 if J is None else J.calls, method)


def _euler_step(F, y, h):
    """y + h f(y)."""
    return y + h * F(y)


def _heun_step(F, y, h):
    """y + h/2 (f(y) + f(y + h f(y)))."""
    k1 = F(y)
    return y + 0.5 * h * (k1 + F(y + h * k1))


def _rk4_step(F, y, h):
    """y + h/6 (k1 + 2 k2 + 2 k3 + k4)."""
    k1 = F(y)
    k2 = F(y + 0.5 * h * k1)
    k3 = F(y + 0.5 * h * k2)
    k4 = F(y + h * k3)
    return y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def explicit_euler(f: Field, y0, h: float, steps: int) -> IntegrationResult:
    """y_{k+1} = y_k + h f(y_k): 1 f-evaluation per step; with f = -grad L this is GD with lr = h."""
    return _fixed_step("euler", _euler_step, f, y0, h, steps)


def heun(f: Field, y0, h: float, steps: int) -> IntegrationResult:
    """y~ = y + h f(y); y_{k+1} = y + h/2 (f(y) + f(y~)): explicit trapezoid, 2 f-evaluations per step."""
    return _fixed_step("heun", _heun_step, f, y0, h, steps)


def rk4(f: Field, y0, h: float, steps: int) -> IntegrationResult:
    """Classical Runge-Kutta: k1 = f(y), k2 = f(y + h/2 k1), k3 = f(y + h/2 k2), k4 = f(y + h k3);
    y_{k+1} = y + h/6 (k1 + 2 k2 + 2 k3 + k4). 4 f-evaluations per step."""
    return _fixed_step("rk4", _rk4_step, f, y0, h, steps)


def _fd_jacobian(F, z: np.ndarray) -> np.ndarray:
    """Central differences: J[:, j] = (f(z + d e_j) - f(z - d e_j)) / (2 d), d = eps^(1/3) max(1, |z_j|)."""
    J = np.empty((z.size, z.size))
    for j in range(z.size):
        d = np.finfo(float).eps ** (1 / 3) * max(1.0, abs(z[j]))
        e = np.zeros(z.size)
        e[j] = d
        J[:, j] = (F(z + e) - F(z - e)) / (2.0 * d)
    return J


def implicit_euler(f: Field, y0, h: float, steps: int, jac=None, tol: float = 1e-12,
                   max_iter: int = 50) -> IntegrationResult:
    """y_{k+1} = y_k + h f(y_{k+1}), solved by Newton's method on G(z) = z - y_k - h f(z) from z = y_k.

    Each Newton iteration costs one f-evaluation and one Jacobian: ``jac(z)`` if given (counted in
    njev), else central differences (2 d more f-evaluations, counted in nfev). Converged when
    ||dz||_inf <= tol ||z||_inf. Raises IntegrationError if Newton does not converge in ``max_iter``
    iterations (try a smaller h). With f = -grad L the step is the proximal point
    y_{k+1} = argmin_z L(z) + ||z - y_k||^2 / (2h); on y' = -lam y it is A-stable: R(z) = 1/(1 - z).
    """
    tol = _real("tol", tol, 0.0)
    max_iter = _int("max_iter", max_iter, 1)
    if jac is not None:
        _callable("jac", jac)

    def step(F, y, h, J=None):
        """One implicit Euler step by Newton's method."""
        z, eye = y.copy(), np.eye(y.size)
        for it in range(max_iter):
            Jz = J(z) if J is not None else _fd_jacobian(F, z)
            try:
                dz = np.linalg.solve(eye - h * Jz, -(z - y - h * F(z)))
            except np.linalg.LinAlgError:
                raise IntegrationError(f"implicit Euler: I - h J is singular at h={h:g}; try a smaller h") from None
            z = z + dz
            if not (np.isfinite(z).all() and np.isfinite(dz).all()):
                break
            if np.max(np.abs(dz)) <= tol * np.max(np.abs(z)):
                return z
        raise IntegrationError(
            f"implicit Euler: Newton's method did not converge in {it + 1} iterations at h={h:g} "
            f"(last |dz| = {np.max(np.abs(dz)):.3g}); use a smaller h, a larger max_iter or an exact jac"
        )

    return _fixed_step("implicit-euler", step, f, y0, h, steps, jac)


METHODS = {"euler": explicit_euler, "heun": heun, "rk4": rk4, "implicit-euler": implicit_euler}
ORDER = {"euler": 1, "heun": 2, "rk4": 4, "implicit-euler": 1}


def _fixed_method(method) -> Callable:
    """METHODS[method], or a ValueError listing the names."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return METHODS[method]


def solve_adaptive(f: Field, y0, t_end: float, method: str = "RK45", rtol: float = 1e-6, atol: float = 1e-9,
                   jac=None) -> IntegrationResult:
    """Solve y' = f(y), y(0) = y0 on [0, t_end] with scipy.integrate.solve_ivp (error-controlled steps).

    ``t`` and ``y`` are the solver's accepted steps. ``nfev`` counts every call of f, including the
    finite-difference Jacobian columns of Radau/BDF when ``jac`` is None: SciPy's own ``sol.nfev``
    leaves those out (it counts each finite-difference Jacobian once, in ``njev``). ``njev`` is
    SciPy's ``sol.njev``. ``jac`` (y -> (d, d) array) is accepted only by Radau, BDF and LSODA.
    Raises IntegrationError if the solver fails or a value becomes non-finite.
    """
    _callable("f", f)
    y = _vector("y0", y0).copy()
    t_end = _real("t_end", t_end, 0.0)
    rtol = _real("rtol", rtol, 0.0)
    atol = _real("atol", atol, 0.0)
    if not isinstance(method, str) or method not in ADAPTIVE_METHODS:
        raise ValueError(f"method must be one of {', '.join(ADAPTIVE_METHODS)}, got {method!r}")
    F = _Counted(f, "f", y.shape)
    options = {}
    if jac is not None:
        _callable("jac", jac)
        if method not in _IMPLICIT_ADAPTIVE:
            raise ValueError(f"jac is used only by {', '.join(_IMPLICIT_ADAPTIVE)}, not by {method}; drop it")
        J = _Counted(jac, "jac", (y.size, y.size))
        options["jac"] = lambda t, z: J(z)

    def rhs(t: float, z: np.ndarray) -> np.ndarray:
        """f(z) for solve_ivp, refusing non-finite values."""
        dz = F(z)
        if not (np.isfinite(dz).all() and np.isfinite(z).all()):
            raise IntegrationError(f"{method}: the solution left the finite range at t={t:.6g}")
        return dz

    with np.errstate(over="ignore", invalid="ignore"):
        sol = solve_ivp(rhs, (0.0, t_end), y, method=method, rtol=rtol, atol=atol, **options)
    if not sol.success:
        raise IntegrationError(f"solve_ivp failed ({method}): {sol.message}")
    return IntegrationResult(np.asarray(sol.t, float), np.ascontiguousarray(sol.y.T), F.calls, int(sol.njev), method)


def largest_stable_step(method: str, lam: float, steps: int = 2000, hi: float = 10.0, rtol: float = 1e-6) -> float:
    """Largest h with |y_N| <= |y_0| for ``method`` on y' = -lam y (lam > 0), N = steps, by bisection.

    Bisects h on (0, hi / lam] (``hi`` bounds h * lam) until the bracket is below rtol * h. The exact
    answers are the ends of the real stability intervals, where |R(-h lam)| = 1: 2/lam (Euler, Heun:
    R = -1 resp. +1) and 2.785293563.../lam (RK4: R = +1; its R is positive on the whole real line).
    Implicit Euler is A-stable (|1/(1 + h lam)| < 1 for every h > 0): it returns math.inf after
    checking one run at h = 1e6 / lam, without bisecting.
    """
    integrate = _fixed_method(method)
    lam = _real("lam", lam, 0.0)
    steps = _int("steps", steps, 1)
    hi = _real("hi", hi, 0.0) / lam
    rtol = _real("rtol", rtol, 0.0)
    f, jac = (lambda y: -lam * y), (lambda y: np.array([[-lam]]))

    def stable(h: float) -> bool:
        """True iff the run finishes finite and |y_N| <= |y_0| = 1."""
        kw = {"jac": jac} if method == "implicit-euler" else {}
        r = integrate(f, [1.0], h, steps, **kw)
        return r.y.shape[0] == steps + 1 and abs(r.y[-1, 0]) <= 1.0

    if method == "implicit-euler":
        if not stable(1e6 / lam):
            raise IntegrationError("implicit Euler grew at h = 1e6/lam; it should be A-stable")
        return math.inf
    if stable(hi):
        raise ValueError(f"{method} is still stable at h*lam = {hi * lam:g}; increase hi")
    return bisect_threshold(lambda h: not stable(h), 0.0, hi, rtol)


def error_vs_work(f: Field, y0, t_end: float, y_ref, fixed_steps=(10, 20, 40, 80, 160, 320),
                  tolerances=(1e-3, 1e-5, 1e-7, 1e-9), methods=(*METHODS, "RK45", "Radau", "BDF"),
                  jac=None) -> list[dict]:
    """Work-precision rows {"method", "setting", "nfev", "njev", "error"}, error = ||y(t_end) - y_ref||_2.

    Fixed-step methods run ``steps`` steps of h = t_end / steps for each entry of ``fixed_steps``
    (setting = h); adaptive methods run solve_adaptive with rtol = tol, atol = 1e-3 tol for each
    entry of ``tolerances`` (setting = rtol). ``jac`` goes to implicit Euler, Radau, BDF and LSODA.
    A run that blows up (non-finite values, Newton or solver failure) gets error = inf.
    """
    _callable("f", f)
    y0 = _vector("y0", y0)
    t_end = _real("t_end", t_end, 0.0)
    y_ref = _vector("y_ref", y_ref, y0.size)
    if jac is not None:
        _callable("jac", jac)
    fixed_steps = [_int("fixed_steps entries", n, 1) for n in fixed_steps]
    tolerances = [_real("tolerances entries", tol, 0.0) for tol in tolerances]
    if isinstance(methods, str):
        methods = (methods,)
    for m in methods:
        if m not in METHODS and m not in ADAPTIVE_METHODS:
            raise ValueError(f"unknown method {m!r}; use names from {', '.join((*METHODS, *ADAPTIVE_METHODS))}")
    rows = []
    for m in methods:
        settings = fixed_steps if m in METHODS else tolerances
        use_jac = jac is not None and m in ("implicit-euler", *_IMPLICIT_ADAPTIVE)
        for s in settings:
            F = _Counted(f, "f", y0.shape)
            Jc = _Counted(jac, "jac", (y0.size, y0.size)) if use_jac else None
            kw = {"jac": Jc} if use_jac else {}
            setting = t_end / s if m in METHODS else s
            try:
                if m in METHODS:
                    r = METHODS[m](F, y0, setting, s, **kw)
                else:
                    r = solve_adaptive(F, y0, t_end, method=m, rtol=s, atol=1e-3 * s, **kw)
                done = m not in METHODS or r.y.shape[0] == s + 1
                err = float(np.linalg.norm(r.y[-1] - y_ref)) if done else math.inf
                nfev, njev = r.nfev, r.njev
            except IntegrationError:
                err, nfev, njev = math.inf, F.calls, 0 if Jc is None else Jc.calls
            rows.append({"method": m, "setting": setting, "nfev": nfev, "njev": njev, "error": err})
    return rows


def ill_conditioned_quadratic_flow(eigenvalues):
    """Gradient flow of L = 1/2 sum_i lam_i theta_i^2: theta' = -H theta, H = diag(eigenvalues).

    Returns ``(f, jac, exact)``: f(y) = -lam * y, jac(y) = -diag(lam), exact(t, y0) = y0 * exp(-lam t).
    """
    lam = _vector("eigenvalues", eigenvalues).copy()
    jac_matrix = -np.diag(lam)

    def f(y):
        """-lam * y."""
        return -lam * np.asarray(y, dtype=float)

    def jac(y):
        """-diag(lam)."""
        return jac_matrix.copy()

    def exact(t, y0):
        """y0 * exp(-lam t)."""
        return _vector("y0", y0, lam.size) * np.exp(-lam * _real("t", t, 0.0, strict=False))

    return f, jac, exact
