"""Certified rates (``ldyn certify``) against runs: the proved certificates hold on functions the proof never
saw, and the proved counterexample cycles under the hand-written optimizer.

No cvxpy here (``ldyn verify`` runs without the extra): the certificates are the stored witnesses of
derive.analysis.certified_methods (proved exactly by the ``derivations`` group); the solver itself is tested in
tests/test_certify*.py, against PEPit too.
"""
from __future__ import annotations

import math

import numpy as np

from verify.checks import CheckResult

MU, L = 1.0, 10.0
STEPS = 60


def _functions(seed: int, d: int = 4, count: int = 6):
    """Gradients of f in S(MU, L) with minimiser 0: a quadratic with eigenvalues in [MU, L/2] plus
    sum_i c_i logcosh(a_i^T x) (curvature c_i |a_i|^2 sech^2 in [0, c_i |a_i|^2], total <= L/2), and 1-D-like
    piecewise-linear gradients (slopes in [MU, L]) applied coordinate-wise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        q, _r = np.linalg.qr(rng.normal(size=(d, d)))
        Q = q @ np.diag(rng.uniform(MU, L / 2, d)) @ q.T
        a = rng.normal(size=(3, d))
        c = (L / 2) / 3 / np.sum(a * a, axis=1)
        out.append(lambda x, Q=Q, a=a, c=c: Q @ x + a.T @ (c * np.tanh(a @ x)))
        brk = np.sort(rng.uniform(-2, 2, 2))
        s = rng.choice([MU, L], 3)

        def pw(x, brk=brk, s=s):
            def one(v):  # the integral of the slope from 0 to v: continuous, monotone, 0 at 0
                edges = [-math.inf, *brk, math.inf]
                lo, hi, sign = (0.0, v, 1.0) if v >= 0 else (v, 0.0, -1.0)
                return sign * sum(s[i] * max(0.0, min(hi, edges[i + 1]) - max(lo, edges[i])) for i in range(3))
            return np.array([one(v) for v in x])
        out.append(pw)
    return out


def _lyapunov_ratio(key: str, seed: int) -> float:
    """max over runs and k of V_k / (rho^(2k) V_0) for the stored witness ``key``: V = trace(S^T P S), S the
    rows (state..., zeta) with zeta_0 = 0 and zeta_{k+1} = -L y_k + g(y_k) (the off-by-one filter)."""
    from derive.analysis.certified_methods import WITNESSES
    from numeric.optimizers.momentum import nesterov_lookahead_step

    _, vals, mu, L, rho, P, _lams = WITNESSES[key]
    assert (float(mu), float(L)) == (MU, L)
    P = np.array([[float(v) for v in row] for row in P])
    rho = float(rho)
    worst = 0.0
    rng = np.random.default_rng(seed + 100)
    for grad in _functions(seed):
        x0 = rng.normal(size=4) * 3
        if key == "nesterov":
            lr, beta = float(vals["lr"]), float(vals["momentum"])
            th, v = x0.copy(), np.zeros(4)
        else:
            lr, beta, gamma = (float(vals[k]) for k in ("lr", "beta", "gamma"))
            th, v = x0.copy(), x0.copy()  # (xi, xi_prev), xi_prev_0 = xi_0
        zeta = np.zeros(4)
        V0 = None
        for k in range(STEPS):
            S = np.stack([th, v, zeta])
            V = float(np.trace(S.T @ P @ S))
            V0 = V if V0 is None else V0
            worst = max(worst, V / (rho ** (2 * k) * V0))
            if key == "nesterov":  # the hand-written textbook step (numeric/), the look-ahead y = theta + beta v
                y = th + beta * v
                gy = grad(y)
                th, v = nesterov_lookahead_step(th, v, grad, lr, beta)
            else:  # Van Scoy et al. 2018, eq. (2), written out here
                y = (1 + gamma) * th - gamma * v
                gy = grad(y)
                th, v = (1 + beta) * th - beta * v - lr * gy, th
            zeta = -L * y + gy
    return worst


def certified_rates_hold() -> list[CheckResult]:
    """The stored certificates of Nesterov and triple momentum (kappa = 10, proved exactly) vs runs: the Lyapunov
    function V = s^T P s (state and the off-by-one filter) decreases at least as fast as rho^2k on 36 functions
    in S(1, 10) the proof never saw (4-D smooth, piecewise quadratic)."""
    out = []
    for key in ("nesterov", "triple-momentum"):
        ratio = max(_lyapunov_ratio(key, seed) for seed in range(3))
        out.append(CheckResult(f"certificate-{key}", "proved Lyapunov decrease vs runs on f in S(1, 10)",
                               max(0.0, ratio - 1.0), 1e-9,
                               f"max V_k/(rho^2k V_0) = {ratio:.6f} over 36 functions (4-D smooth and piecewise), "
                               f"{STEPS} steps; must be <= 1"))
    return out


def counterexample_cycles() -> list[CheckResult]:
    """The exact 3-cycle of heavy ball (Polyak's tuning, kappa = 25) on LRP's function, run by the hand-written
    numeric.optimizers heavy ball for 300 steps: it stays on the cycle and never nears the minimiser."""
    from derive.analysis.counterexample import exact_cycle, lrp_heavy_ball_function
    from derive.rules.library import resolve
    from numeric.optimizers.momentum import heavy_ball

    f = lrp_heavy_ball_function()
    cyc = exact_cycle(resolve("heavy-ball"), {"lr": 1 / 9, "momentum": 4 / 9}, f, [3.3, 0.0], 3)
    if cyc is None:
        return [CheckResult("certificate-counterexample", "exact cycle vs hand-written heavy ball", math.inf, 1e-9,
                            "no exact cycle found")]
    states = np.array([[float(v) for v in s] for s in cyc["states"]])
    opt = heavy_ball(lr=1 / 9, momentum=4 / 9)
    theta = np.array([states[0, 0]])
    state = {"velocity": np.array([states[0, 1]])}
    err, closest = 0.0, math.inf
    for k in range(1, 301):
        theta, state = opt.step(theta, np.array([float(f.gradient(sp_rational(theta[0])))]), state)
        target = states[k % 3]
        err = max(err, abs(theta[0] - target[0]), abs(state["velocity"][0] - target[1]))
        closest = min(closest, abs(theta[0]))
    return [CheckResult("certificate-counterexample", "exact 3-cycle vs hand-written heavy ball, 300 steps", err, 1e-9,
                        f"theta cycles through {', '.join(f'{v:.6g}' for v in states[:, 0])}; closest to the "
                        f"minimiser 0: {closest:.3g}")]


def sp_rational(x: float):
    import sympy as sp

    return sp.Rational(x)
