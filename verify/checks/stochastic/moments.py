"""Exact moment recursions of SGD, heavy ball and frozen-preconditioner Adam on quadratics (derive.stochastic.moments)
against exact enumeration over batches (numeric.stochastic.sgd.exact_moments, exact_stationary) and Monte Carlo
(numeric.stochastic.sgd.sgd_paths, Student-t intervals at 99.9%)."""
from __future__ import annotations

import time

import numpy as np
import sympy as sp

from derive.stochastic import moments as dmo
from numeric.stochastic import monte_carlo, sgd

from verify.checks import CheckResult

R = sp.Rational
#: d = 2, n = 4 per-sample Hessians that do not commute, and offsets (exact; the numeric side gets floats)
HESSIANS = [[[2, 1], [1, 1]], [[1, 0], [0, 3]], [[R(1, 2), -1], [-1, 4]], [[3, R(1, 2)], [R(1, 2), R(1, 2)]]]
OFFSETS = [[1, -1], [0, 2], [R(-1, 2), 0], [R(-1, 2), -1]]
THETA0 = [1, R(-1, 2)]
BATCH = 2
#: rule -> hyperparameters (exact)
RULES = {"sgd": {"lr": R(1, 5)},
         "heavy-ball": {"lr": R(1, 10), "momentum": R(1, 2)},
         "adam-frozen": {"lr": R(1, 10), "beta1": R(1, 2), "preconditioner": [1, R(1, 2)]}}


def _f(M) -> np.ndarray:
    return np.array(sp.Matrix(M).tolist(), dtype=float)


def _reference(rule: str, values: dict, hessians, offsets, theta0, steps: int, with_replacement: bool) -> tuple:
    """(E z_t, E z_t z_tᵀ) for t = 0..steps in the rule's own state z, by exact enumeration (numeric), mapped from
    numeric's state (θ_t, θ_{t−1}) by z = T(θ_t, θ_{t−1}): heavy ball v = θ_t − θ_{t−1}; Adam m = −P⁻¹(θ_t − θ_{t−1})/η."""
    H, g = np.array(hessians, dtype=float), np.array(offsets, dtype=float)
    x0 = np.array([float(x) for x in theta0])
    d = H.shape[1]
    lr = float(values["lr"])
    if rule == "sgd":
        out = sgd.exact_moments(H, g, x0, lr, BATCH, steps, with_replacement=with_replacement)
        return out["mean"], out["second"]
    eye = np.eye(d)
    if rule == "heavy-ball":
        beta = float(values["momentum"])
        out = sgd.exact_moments(H, g, x0, lr, BATCH, steps, with_replacement=with_replacement, momentum=beta)
        T = np.block([[eye, 0 * eye], [eye, -eye]])
    else:  # adam-frozen: θ⁺ = θ + β₁(θ − θ₋) − η(1 − β₁)Pĝ(θ), the preconditioned data P H_i, P g_i
        b1 = float(values["beta1"])
        P = np.diag([float(x) for x in values["preconditioner"]])
        out = sgd.exact_moments(P @ H, g @ P.T, x0, lr * (1 - b1), BATCH, steps, with_replacement=with_replacement,
                                momentum=b1)
        Pi = np.linalg.inv(P) / lr
        T = np.block([[eye, 0 * eye], [-Pi, Pi]])
    return out["state_mean"] @ T.T, T @ out["state_second"] @ T.T


def _iterate(M, b, k, Mbar, f, z0: np.ndarray, steps: int) -> tuple:
    """The derived recursions in floats: m⁺ = M̄m + f, vec S⁺ = M vec S + b m + k (column-major vec)."""
    M, b, k, Mbar, f = (_f(x) for x in (M, b, k, Mbar, f))
    N = Mbar.shape[0]
    m, s = z0.copy(), np.outer(z0, z0).reshape(-1, order="F")
    means, seconds = [m], [s.reshape(N, N, order="F")]
    for _ in range(steps):
        m, s = Mbar @ m + f[:, 0], M @ s + b @ m + k[:, 0]
        means.append(m)
        seconds.append(s.reshape(N, N, order="F"))
    return np.array(means), np.array(seconds)


def _rel(x: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(x - ref)) / max(np.max(np.abs(ref)), 1e-300))


def moment_recursions(steps: int = 50) -> list[CheckResult]:
    """Derived lifted recursions (M, b, k; M̄, f) vs exact enumeration over all batches, d = 2, n = 4, B = 2,
    non-commuting per-sample Hessians, both samplings, SGD / heavy ball / frozen Adam, ``steps`` steps."""
    out = []
    for rule, values in RULES.items():
        for repl in (True, False):
            t0 = time.perf_counter()
            M, b, k, Mbar, f = dmo.lifted_moments(rule, HESSIANS, OFFSETS, values, BATCH, with_replacement=repl)
            z0 = np.concatenate([[float(x) for x in THETA0], np.zeros(Mbar.rows - 2)])
            dm, ds = _iterate(M, b, k, Mbar, f, z0, steps)
            rm, rs = _reference(rule, values, HESSIANS, OFFSETS, THETA0, steps, repl)
            err = max(_rel(dm, rm), _rel(ds, rs))
            how = "with" if repl else "without"
            out.append(CheckResult(
                f"moment-recursions/{rule}-{how}", f"derived E z_t, E z_t z_t^T (Kronecker-lifted, {M.rows}x{M.cols}) "
                f"vs exact enumeration over batches, {steps} steps", err, 1e-10,
                f"d = 2, n = 4, B = {BATCH} {how} replacement, non-commuting H_i; max relative error over t",
                seconds=time.perf_counter() - t0))
    return out


# -- stationary covariance -------------------------------------------------------------------------------------------
#: 1-D data for the Monte Carlo checks: curvatures, offsets (minimum at -mean(g)/mean(a))
A1 = [R(1), R(2), R(1, 2), R(5, 2), R(3, 2)]
G1 = [R(3, 10), R(-1, 5), R(1, 10), R(0), R(-2, 5)]


def _pop_var(x: list) -> sp.Expr:
    m = sum(x) / len(x)
    return sum((xi - m) ** 2 for xi in x) / len(x)


def _closed_form(rule: str, values: dict, curv: list, offs: list, repl: bool) -> sp.Expr:
    """The 1-D closed form of the rule's stationary variance at v = c·var(a_i), q = c·var(r_i), r_i = g_i + a_iθ*."""
    n = len(curv)
    c = dmo.variance_factor(n, BATCH, repl)
    abar = sum(curv) / n
    th = -sum(offs) / n / abar
    vv, qq = c * _pop_var(curv), c * _pop_var([g + a * th for a, g in zip(curv, offs)])
    base = {dmo.eta: values["lr"], dmo.a: abar, dmo.v: vv, dmo.q: qq}
    if rule == "sgd":
        return dmo.HEAVY_BALL_STATIONARY_VARIANCE.subs({**base, dmo.beta: 0})
    if rule == "heavy-ball":
        return dmo.HEAVY_BALL_STATIONARY_VARIANCE.subs({**base, dmo.beta: values["momentum"]})
    return dmo.ADAM_FROZEN_STATIONARY_VARIANCE.subs({**base, dmo.beta1: values["beta1"],
                                                    dmo.p: values["preconditioner"]})


def _mc_paths(rule: str, values: dict, curv: list, offs: list, x0: float, steps: int, paths: int, repl: bool, seed):
    a, g = np.array([float(x) for x in curv]), np.array([float(x) for x in offs])
    rng = np.random.default_rng(seed)
    if rule == "sgd":
        return sgd.sgd_paths(a, g, x0, float(values["lr"]), BATCH, steps, paths, rng, with_replacement=repl,
                             every=steps)[-1]
    if rule == "heavy-ball":
        return sgd.sgd_paths(a, g, x0, float(values["lr"]), BATCH, steps, paths, rng, with_replacement=repl,
                             momentum=float(values["momentum"]), every=steps)[-1]
    b1, pp = float(values["beta1"]), float(values["preconditioner"])
    return sgd.sgd_paths(pp * a, pp * g, x0, float(values["lr"]) * (1 - b1), BATCH, steps, paths, rng,
                         with_replacement=repl, momentum=b1, every=steps)[-1]


#: (label, rule, hyperparameters (1-D), curvatures, offsets, with replacement)
MC_CASES = [
    ("additive-noise-sgd", "sgd", {"lr": R(3, 10)}, [R(3, 2)] * 5, [R(1, 2), R(-1, 2), R(1), R(-1), R(0)], True),
    ("sgd-without", "sgd", {"lr": R(3, 10)}, A1, G1, False),
    ("heavy-ball-with", "heavy-ball", {"lr": R(1, 5), "momentum": R(1, 2)}, A1, G1, True),
    ("adam-frozen-without", "adam-frozen", {"lr": R(1, 5), "beta1": R(1, 2), "preconditioner": R(1, 2)}, A1, G1,
     False),
]


def stationary_covariance(paths: int = 30_000, steps: int = 80, seed: int = 0) -> list[CheckResult]:
    """Derived stationary covariance (exact fixed point of the lifted recursion) vs (a) exact enumeration run to
    convergence and numeric's own stationary solve (d = 2), (b) the 1-D closed forms (sgd-stationary-noise,
    heavy-ball-sgd-moments, adam-frozen-sgd-moments) and (c) Monte Carlo: (θ_T − m*)² over ``paths`` runs started at
    the stationary mean m*, t-interval at 99.9% (error = |derived − measured|/half-width)."""
    out = []
    for rule, values in RULES.items():
        for repl in ((True, False) if rule != "adam-frozen" else (False,)):
            t0 = time.perf_counter()
            st = dmo.stationary_covariance(rule, HESSIANS, OFFSETS, values, BATCH, with_replacement=repl)
            cov = _f(st["covariance"])
            rm, rs = _reference(rule, values, HESSIANS, OFFSETS, THETA0, 300, repl)
            conv = rs[-1] - np.outer(rm[-1], rm[-1])
            err = _rel(cov, conv)
            detail = f"exact enumeration after 300 steps: {err:.2e}"
            if rule != "adam-frozen":
                num = sgd.exact_stationary(np.array(HESSIANS, dtype=float), np.array(OFFSETS, dtype=float), float(values["lr"]),
                                           BATCH, with_replacement=repl, momentum=float(values.get("momentum", 0)))
                e2 = _rel(cov[:2, :2], num["covariance"])
                err = max(err, e2)
                detail += f"; numeric exact_stationary (theta block): {e2:.2e}"
            how = "with" if repl else "without"
            out.append(CheckResult(f"stationary-covariance/{rule}-{how}", "derived stationary covariance of the "
                                   "state vs exact enumeration to convergence", err, 1e-9,
                                   f"d = 2, n = 4, B = {BATCH} {how} replacement; {detail}",
                                   seconds=time.perf_counter() - t0))
    for label, rule, values, curv, offs, repl in MC_CASES:
        t0 = time.perf_counter()
        vals_1d = dict(values)
        st = dmo.stationary_covariance(rule, curv, offs, vals_1d, BATCH, with_replacement=repl)
        var = st["covariance"][0, 0]
        closed = _closed_form(rule, values, curv, offs, repl)
        e_closed = float(abs(var - closed) / abs(var))
        out.append(CheckResult(f"stationary-covariance/closed-form-{label}", "1-D closed form vs the lifted fixed "
                               "point (exact)", e_closed, 1e-12, f"closed form {float(closed):.6g}",
                               seconds=time.perf_counter() - t0))
        if label.startswith("additive"):
            add = dmo.SGD_STATIONARY_VARIANCE.subs({dmo.eta: values["lr"], dmo.a: curv[0], dmo.B: BATCH,
                                                    dmo.sigma: sp.sqrt(_pop_var(offs))})
            e_add = float(abs(var - add) / abs(var))
            out.append(CheckResult("stationary-covariance/closed-form-sgd-stationary-noise",
                                   "eta sigma^2/(B a (2 - eta a)) vs the lifted fixed point (equal curvatures, "
                                   "with replacement: sigma^2 = population variance of g_i)", e_add, 1e-12,
                                   seconds=time.perf_counter() - t0))
        t1 = time.perf_counter()
        m0 = float(st["mean"][0])
        x = _mc_paths(rule, values, curv, offs, m0, steps, paths, repl, seed)
        mean, half = monte_carlo.mean_ci((x - m0) ** 2)
        # the transient after `steps` steps from a point start at m*: exact, from the derived recursion
        M, b, k, Mbar, f = dmo.lifted_moments(rule, curv, offs, vals_1d, BATCH, with_replacement=repl)
        z0 = np.zeros(Mbar.rows)
        z0[0] = m0
        _, ds = _iterate(M, b, k, Mbar, f, z0, steps)
        at_t = ds[-1][0, 0] - m0**2
        err = monte_carlo.interval_error(mean, half, float(var))
        out.append(CheckResult(f"stationary-covariance/monte-carlo-{label}", "derived stationary variance vs Monte "
                               "Carlo (99.9% t-interval)", err, 1.0,
                               f"{paths} paths x {steps} steps, n = {len(curv)}, B = {BATCH} "
                               f"{'with' if repl else 'without'} replacement: measured {mean:.5g} +- {half:.2g}, "
                               f"derived {float(var):.5g} (exact at step {steps}: {at_t:.5g})",
                               seconds=time.perf_counter() - t1))
    return out
