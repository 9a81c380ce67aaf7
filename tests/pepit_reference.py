"""Worst cases of first-order methods over S(mu, L), computed with PEPit: an independent reference.

This module uses nothing from the project (no derive/, numeric/ or verify/): the methods are written out by
hand below in PEPit's algebra, so that a rate certified by ``verify.certify`` can be compared with a second,
unrelated computation.

Performance estimation (Drori & Teboulle 2014; Taylor, Hendrickx & Glineur 2017, "Smooth strongly convex
interpolation and exact worst-case performance of first-order methods", Math. Program. 161) gives the exact
worst case over ALL functions in S(mu, L) (L-smooth, mu-strongly convex, any dimension) of a quadratic
performance measure after N steps, given ||x_0 - x*||^2 <= 1, as a small SDP.  PEPit (Goujaud, Moucer,
Glineur, Hendrickx, Taylor, Dieuleveut, 0.5.1) builds that SDP; we solve it with Clarabel through cvxpy
(SCS as a fallback).

Methods (x_{-1} = x_0 for the momentum methods, so the first step of each is a gradient step):

- ``gd``:               x_{k+1} = x_k - alpha g(x_k)
- ``heavy-ball``:       x_{k+1} = x_k + beta (x_k - x_{k-1}) - alpha g(x_k)              (Polyak 1964)
- ``nesterov``:         y_k = x_k + beta (x_k - x_{k-1}),  x_{k+1} = y_k - alpha g(y_k)   (look-ahead form)
- ``triple-momentum``:  y_k = (1 + gamma) x_k - gamma x_{k-1},
                        x_{k+1} = (1 + beta) x_k - beta x_{k-1} - alpha g(y_k)
                        (Van Scoy, Freeman & Lynch 2018, eq. (2); x plays the role of their xi)

Performance measure: a quadratic form v^T W v (W symmetric, k x k with k <= 3) in the "coordinates"

    v = (x_N - x*,  x_{N-1} - x*,  g(y_{N-1}) - L (y_{N-1} - x*)),

where y_{N-1} is the point of the last oracle call (y = x for gd and heavy ball) and the products are inner
products.  W = [[1]] is ||x_N - x*||^2; W = I_2 is the state norm ||(x_N, x_{N-1}) - (x*, x*)||^2; the third
coordinate is the state of the off-by-one IQC filter of Lessard, Recht & Packard 2016 (Lemma 10),
zeta_N = -L (y_{N-1} - y*) + (u_{N-1} - u*), with y* = x* and u* = g(x*) = 0 for all four methods, so a
Lyapunov function V(xi, zeta) of an IQC certificate can be evaluated along PEPit's worst case.

Each PEPit solve here is small (N <= 4: a Gram matrix of size <= N + 2) and takes ~0.01-0.05 s.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

METHODS = ("gd", "heavy-ball", "nesterov", "triple-momentum")
_PARAMS = {"gd": ("alpha",), "heavy-ball": ("alpha", "beta"), "nesterov": ("alpha", "beta"),
           "triple-momentum": ("alpha", "beta", "gamma")}


@dataclass(frozen=True)
class WorstCase:
    """One PEPit solve: ``value`` is PEPit's dual value (an upper bound on the worst case, up to the solver's
    tolerance); ``primal`` is the primal objective (attained by the Gram matrix found, i.e. a lower bound up
    to the solver's feasibility tolerance); both agree to ~1e-8 with Clarabel."""
    value: float
    primal: float       # accepted only when |value - primal| <= 1e-6 max(1, |value|) (else SCS, else error)
    seconds: float
    solver: str
    status: str


def _weights(W) -> list[list[float]]:
    if W is None:
        return [[1.0]]
    rows = [[float(x) for x in row] for row in W]
    k = len(rows)
    if not 1 <= k <= 3 or any(len(r) != k for r in rows):
        raise ValueError(f"W must be a square k x k matrix with 1 <= k <= 3, got {W!r}")
    if any(abs(rows[i][j] - rows[j][i]) > 1e-12 * (1 + abs(rows[i][j])) for i in range(k) for j in range(k)):
        raise ValueError("W must be symmetric")
    return rows


def _check(method: str, N: int, params: dict) -> None:
    if method not in _PARAMS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if sorted(params) != sorted(_PARAMS[method]):
        raise ValueError(f"{method} takes parameters {_PARAMS[method]}, got {tuple(sorted(params))}")
    if not (isinstance(N, int) and 1 <= N <= 8):
        raise ValueError(f"N must be an integer in 1..8, got {N!r}")


def _step(method: str, params: dict, grad, x, x_prev):
    """One step from (x_k, x_{k-1}); return (x_{k+1}, y_k, g(y_k)). Works on PEPit points and on floats."""
    a = params["alpha"]
    if method in ("gd", "heavy-ball"):
        y = x
        gy = grad(y)
        x_new = x - a * gy if method == "gd" else x + params["beta"] * (x - x_prev) - a * gy
    elif method == "nesterov":
        y = x + params["beta"] * (x - x_prev)
        gy = grad(y)
        x_new = y - a * gy
    else:  # triple-momentum
        b, c = params["beta"], params["gamma"]
        y = (1 + c) * x - c * x_prev
        gy = grad(y)
        x_new = (1 + b) * x - b * x_prev - a * gy
    return x_new, y, gy


def _trajectory(method: str, N: int, params: dict, grad, x0):
    """Run N steps from x_{-1} = x_0; return (x_N, x_{N-1}, y_{N-1}, g(y_{N-1}))."""
    x_prev, x = x0, x0
    y = gy = None
    for _ in range(N):
        x_new, y, gy = _step(method, params, grad, x, x_prev)
        x_prev, x = x, x_new
    return x, x_prev, y, gy


def worst_case(method: str, mu: float, L: float, N: int, params: dict, W=None,
               solver: str = "CLARABEL") -> WorstCase:
    """max v^T W v over f in S(mu, L), any dimension, and x_0 with ||x_0 - x*||^2 <= 1 (see module doc)."""
    from PEPit import PEP
    from PEPit.functions import SmoothStronglyConvexFunction

    _check(method, N, params)
    W = _weights(W)
    if not 0 < mu < L:
        raise ValueError(f"need 0 < mu < L, got mu={mu}, L={L}")
    problem = PEP()
    f = problem.declare_function(SmoothStronglyConvexFunction, mu=mu, L=L)
    xs = f.stationary_point()
    x0 = problem.set_initial_point()
    problem.set_initial_condition((x0 - xs) ** 2 <= 1)
    xN, xN1, y, gy = _trajectory(method, N, params, f.gradient, x0)
    v = [xN - xs, xN1 - xs, gy - L * (y - xs)][:len(W)]
    metric = None
    for i in range(len(W)):
        for j in range(len(W)):
            if W[i][j] != 0.0:
                term = W[i][j] * (v[i] * v[j])
                metric = term if metric is None else metric + term
    if metric is None:
        raise ValueError("W is zero")
    problem.set_performance_metric(metric)
    t0 = time.perf_counter()
    with warnings.catch_warnings():   # cvxpy warns on "optimal_inaccurate": judged below instead
        warnings.simplefilter("ignore", UserWarning)
        try:
            dual = problem.solve(wrapper="cvxpy", solver=solver, verbose=0)
        except Exception as exc:      # a solver failure: try the other solver once
            if solver != "CLARABEL":
                raise RuntimeError(f"PEPit/{solver} failed for {method}, N={N}, {params}: {exc}") from exc
            return worst_case(method, mu, L, N, params, W, solver="SCS")
    seconds = time.perf_counter() - t0
    status = str(problem.wrapper.prob.status)
    primal = problem.wrapper.objective.value
    good = (dual is not None and primal is not None and status in ("optimal", "optimal_inaccurate")
            and abs(float(dual) - float(primal)) <= 1e-6 * max(1.0, abs(float(dual))))
    if not good:
        if solver == "CLARABEL":
            return worst_case(method, mu, L, N, params, W, solver="SCS")
        raise RuntimeError(f"PEPit/{solver}: status {status}, dual {dual}, primal {primal} "
                           f"for {method}, N={N}, {params}")
    return WorstCase(float(dual), float(primal), seconds, problem.wrapper.solver_name, status)


# ---- convenience forms: ||x_N - x*||^2 (state=False) or ||(x_N, x_{N-1}) - (x*, x*)||^2 (state=True) ----

def _W(state: bool):
    return [[1.0, 0.0], [0.0, 1.0]] if state else [[1.0]]


def gd_worst_case(mu, L, alpha, N, state=False) -> float:
    return worst_case("gd", mu, L, N, {"alpha": alpha}, _W(state)).value


def heavy_ball_worst_case(mu, L, alpha, beta, N, state=False) -> float:
    return worst_case("heavy-ball", mu, L, N, {"alpha": alpha, "beta": beta}, _W(state)).value


def nesterov_worst_case(mu, L, alpha, beta, N, state=False) -> float:
    return worst_case("nesterov", mu, L, N, {"alpha": alpha, "beta": beta}, _W(state)).value


def triple_momentum_worst_case(mu, L, alpha, beta, gamma, N, state=False) -> float:
    return worst_case("triple-momentum", mu, L, N, {"alpha": alpha, "beta": beta, "gamma": gamma},
                      _W(state)).value


def quadratic_value(method: str, lam: float, L: float, N: int, params: dict, W=None) -> float:
    """The same measure v^T W v on f(x) = lam x^2 / 2 (1-D, x* = 0, x_0 = 1): a member of S(mu, L) for
    mu <= lam <= L, hence a lower bound for ``worst_case`` (L enters only through the zeta coordinate)."""
    _check(method, N, params)
    W = _weights(W)
    xN, xN1, y, gy = _trajectory(method, N, params, lambda z: lam * z, 1.0)
    v = [xN, xN1, gy - L * y][:len(W)]
    return sum(W[i][j] * v[i] * v[j] for i in range(len(W)) for j in range(len(W)))


def quadratic_rate(method: str, mu: float, L: float, params: dict, points: int = 4001) -> float:
    """max over lam in [mu, L] (a geometric grid of ``points`` values, endpoints included) of the spectral
    radius of the method's linear map (x_k, x_{k-1}) -> (x_{k+1}, x_k) on f(x) = lam x^2 / 2."""
    import numpy as np

    _check(method, 1, params)
    best = 0.0
    for lam in np.geomspace(mu, L, points):
        c1 = _step(method, params, lambda z: lam * z, 1.0, 0.0)[0]
        c2 = _step(method, params, lambda z: lam * z, 0.0, 1.0)[0]
        best = max(best, float(max(abs(np.linalg.eigvals(np.array([[c1, c2], [1.0, 0.0]]))))))
    return best


def tunings(mu: float, L: float) -> dict:
    """Standard tunings (floats): Polyak's heavy ball, Nesterov (alpha = 1/L), triple momentum (VFL 2018)."""
    k = L / mu
    rho = 1 - k ** -0.5
    return {
        "gd": {"alpha": 2 / (mu + L)},
        "heavy-ball": {"alpha": 4 / (L ** 0.5 + mu ** 0.5) ** 2,
                       "beta": ((k ** 0.5 - 1) / (k ** 0.5 + 1)) ** 2},
        "nesterov": {"alpha": 1 / L, "beta": (k ** 0.5 - 1) / (k ** 0.5 + 1)},
        "triple-momentum": {"alpha": (1 + rho) / L, "beta": rho ** 2 / (2 - rho),
                            "gamma": rho ** 2 / ((1 + rho) * (2 - rho))},
    }


if __name__ == "__main__":  # a table of worst cases and timings
    for mu, L in ((1.0, 10.0), (1.0, 25.0)):
        for method, params in tunings(mu, L).items():
            for N in (1, 2, 3, 4):
                w = worst_case(method, mu, L, N, params)
                q = max(quadratic_value(method, lam, L, N, params) for lam in (mu, L))
                print(f"mu={mu:g} L={L:g} {method:16s} N={N}  worst={w.value:.6g}  "
                      f"primal={w.primal:.6g}  quadratic={q:.6g}  {w.seconds:.3f}s {w.solver}")
