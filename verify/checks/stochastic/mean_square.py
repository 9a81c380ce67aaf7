"""Batch noise and mean-square stability (derive.stochastic.noise, .mean_square) against exact enumeration over
all batches (numeric.stochastic.sampling / sgd) and Monte Carlo with Student-t intervals.

* batch factors c (with / without replacement) vs the covariance of batch means over every batch;
* SGD's growth factor g = (1 − ηa)² + η²cs² vs one exact step of E θ², the threshold 2a/(a² + cs²) (g = 1 there,
  exactly, and Monte Carlo E x₁²/x₀² at 0.9 and 1.1 of it), the d-dimensional case along a shared eigenvector, and
  the necessary conditions with non-commuting Hessians (a ≤ 2/η and η²c ρ(spread map) ≤ 1 at every stable point),
  and the derivation's exact example where SGD is stable although η²c s² > 1 (the box is not necessary in 2-D);
* heavy ball: the derived 3×3 operator vs the enumerated second-moment operator and one exact step, its spectral
  radius 1 at η_c, ρ < 1 below η_c and > 1 above on a grid (an independent numeric confirmation of the
  derivation's certificate), and exact moment propagation over 200 steps at 0.97 η_c (decays) and 1.03 η_c (grows).
Refs: Wu, Ma & E, NeurIPS 2018; Cochran, Sampling Techniques (1977).
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derive.stochastic import mean_square as dms
from derive.stochastic import noise as dn
from numeric.stochastic import all_batches, exact_moments, interval_error, mean_ci, second_moment_operator, sgd_paths
from verify.checks import CheckResult, relative_error

#: (n, B) pairs enumerated exactly
SIZES = [(5, 2), (6, 3), (7, 1), (4, 4), (8, 5)]


def _fn(expr, *args):
    return sp.lambdify(args, expr, "numpy")


def _enumerated_cov(p: np.ndarray, q: np.ndarray, batch: int, with_replacement: bool) -> float:
    """Cov(mean_b p, mean_b q) over the exact batch law (``all_batches``)."""
    law = all_batches(p.size, batch, with_replacement)
    idx = np.array([b for b, _ in law])
    w = np.array([pr for _, pr in law])
    mp, mq = p[idx].mean(axis=1), q[idx].mean(axis=1)
    return float(w @ (mp * mq) - (w @ mp) * (w @ mq))


def batch_noise_factors(seed: int = 0, results: dict | None = None) -> list[CheckResult]:
    """c σ_pq (derived factors, lambdified) vs the covariance of two batch means by exact enumeration, random data.

    ``results`` replaces the derivation's results (a test passes a wrong formula to see this check fail)."""
    res = results if results is not None else dn.batch_noise().results
    rng = np.random.default_rng(seed)
    out = []
    for key, repl in [("factor_with", True), ("factor_without", False)]:
        c = _fn(res[key], dn.B, dn.n)
        worst, where = 0.0, ""
        for n, b in SIZES:
            p, q = rng.normal(size=n), rng.normal(size=n) + 0.5 * rng.normal(size=n)
            pop = float(np.mean((p - p.mean()) * (q - q.mean())))
            for x, y in [(p, q), (p, p)]:  # a covariance and a variance
                measured = _enumerated_cov(x, y, b, repl)
                predicted = float(c(b, n)) * (pop if y is q else float(np.var(x)))
                err = abs(measured - predicted) / max(abs(measured), 1e-300)
                if measured == predicted == 0.0:
                    err = 0.0
                if err > worst or not where:
                    worst, where = err, f"worst at n={n}, B={b}: enumerated {measured:.6g}, c*sigma {predicted:.6g}"
        label = "with" if repl else "without"
        out.append(CheckResult(f"sgd-batch-noise/{label}-replacement",
                               f"c_{label} * population covariance vs Cov of batch means over all batches",
                               worst, 1e-12, f"(n, B) in {SIZES}; {where}"))
    return out


def _curvatures(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 3.0, size=n)


def _sgd_formulas(results: dict | None):
    res = results if results is not None else dms.sgd_mean_square().results
    args = (dms.eta, dms.a, dms.s, dn.B, dn.n)
    return ({True: _fn(res["growth_with"], *args), False: _fn(res["growth_without"], *args)},
            {True: _fn(res["eta_critical_with"], *args[1:]), False: _fn(res["eta_critical_without"], *args[1:])})


def mean_square_thresholds(seed: int = 0, paths: int = 20_000, results: dict | None = None) -> list[CheckResult]:
    """SGD: derived growth and critical step vs one exact step of E θ² (enumerated batches) and Monte Carlo."""
    growth, crit = _sgd_formulas(results)
    out = []
    cases = [(6, 2, 11), (6, 3, 12), (8, 1, 13), (5, 4, 14), (7, 7, 15)]
    for repl in (True, False):
        label = "with" if repl else "without"
        worst_g, worst_c = 0.0, 0.0
        for n, b, s_ in cases:
            h = _curvatures(n, s_)
            a, s = float(h.mean()), float(h.std())
            ec = float(crit[repl](a, s, b, n))
            for eta in (0.3, 0.5 * ec, ec, 1.2 * ec):
                exact = float(exact_moments(h, None, 1.0, eta, b, 1, with_replacement=repl)["second"][1, 0, 0])
                worst_g = max(worst_g, relative_error(float(growth[repl](eta, a, s, b, n)), exact))
            exact_at = float(exact_moments(h, None, 1.0, ec, b, 1, with_replacement=repl)["second"][1, 0, 0])
            worst_c = max(worst_c, abs(exact_at - 1.0))
        out.append(CheckResult(f"sgd-mean-square/growth/{label}", "derived (1-eta a)^2 + eta^2 c s^2 vs one exact "
                               "step of E theta^2 (all batches enumerated)", worst_g, 1e-12,
                               f"{len(cases)} data sets x 4 step sizes"))
        out.append(CheckResult(f"sgd-mean-square/eta-critical/{label}", "exact E theta_1^2 / theta_0^2 at the "
                               "derived eta_critical, minus 1", worst_c, 1e-12, f"{len(cases)} data sets"))
    # Monte Carlo at 0.9 and 1.1 of the threshold: the measured growth brackets 1 and contains the prediction
    rng = np.random.default_rng(seed)
    h = _curvatures(10, 21)
    a, s = float(h.mean()), float(h.std())
    for repl, b in [(True, 2), (False, 3)]:
        label = "with" if repl else "without"
        ec = float(crit[repl](a, s, b, h.size))
        for f in (0.9, 1.1):
            x1 = sgd_paths(h, None, 1.0, f * ec, b, 1, paths, rng, with_replacement=repl)[1]
            mean, half = mean_ci(x1**2)
            predicted = float(growth[repl](f * ec, a, s, b, h.size))
            side_ok = (mean + half < 1.0) if f < 1 else (mean - half > 1.0)
            err = interval_error(mean, half, predicted) if side_ok else math.inf
            out.append(CheckResult(f"sgd-mean-square/monte-carlo/{label}/{f:g}eta_c",
                                   "derived growth vs Monte Carlo E x_1^2/x_0^2 (99.9% t-interval), which must lie "
                                   f"{'below' if f < 1 else 'above'} 1", err, 1.0,
                                   f"n=10, B={b}, {paths} paths: measured {mean:.5f} +- {half:.5f}, predicted "
                                   f"{predicted:.5f}"))
    # d dimensions: per-sample Hessians sharing an eigenbasis; along each eigenvector the 1-D growth is exact
    r = np.random.default_rng(seed + 1)
    n, d, b = 6, 3, 2
    u, _ = np.linalg.qr(r.normal(size=(d, d)))
    lam = r.uniform(0.2, 3.0, size=(n, d))
    hs = np.einsum("ij,kj,lj->kil", u, lam, u)
    worst = 0.0
    for repl in (True, False):
        for k in range(d):
            eta = 0.8 * float(crit[repl](lam[:, k].mean(), lam[:, k].std(), b, n))
            sec = exact_moments(hs, None, u[:, k], eta, b, 1, with_replacement=repl)["second"][1]
            exact = float(u[:, k] @ sec @ u[:, k])
            pred = float(growth[repl](eta, lam[:, k].mean(), lam[:, k].std(), b, n))
            worst = max(worst, relative_error(pred, exact))
    out.append(CheckResult("sgd-mean-square/shared-eigenvector", "derived 1-D growth vs exact E (u^T theta_1)^2 for "
                           "3x3 per-sample Hessians with a common eigenbasis, theta_0 = u", worst, 1e-12,
                           "n=6, B=2, both samplings, each eigenvector"))
    out.append(_necessary_in_d_dims())
    out.append(_box_not_necessary_example())
    return out


def _spread_operator(hs: np.ndarray) -> np.ndarray:
    """S -> (1/n) sum_i (H_i - H) S (H_i - H) on symmetric S, coordinates S_ij (i <= j)."""
    dev = hs - hs.mean(axis=0)
    d = hs.shape[1]
    iu, ju = np.triu_indices(d)
    cols = []
    for i, j in zip(iu, ju):
        e = np.zeros((d, d))
        e[i, j] = e[j, i] = 1.0
        cols.append(np.einsum("kij,jl,kml->im", dev, e, dev)[iu, ju] / hs.shape[0])
    return np.array(cols).T


def _necessary_in_d_dims(trials: int = 20, seed: int = 5) -> CheckResult:
    """Non-commuting per-sample Hessians: wherever the enumerated second-moment operator is stable, a <= 2/eta and
    eta^2 c rho(S -> (1/n) sum (H_i - H) S (H_i - H)) <= 1 (both parts of E[(I - eta H_b) S (I - eta H_b)] are
    cone-preserving, so each bounds the spectral radius from below).  Counted too: points where Wu, Ma & E's
    s = sqrt(lambda_max(Sigma_H)) >= the spread's sqrt(rho) exceeds 1/(eta sqrt(c))."""
    from numeric.stochastic import sharpness_nonuniformity

    rng = np.random.default_rng(seed)
    n, d, b = 5, 3, 2
    stable = bad = lam_exceeds = 0
    for _ in range(trials):
        x = rng.normal(size=(n, d, 2)) * rng.uniform(0.3, 2.0, size=(n, 1, 1))
        hs = np.einsum("kia,kja->kij", x, x)
        a, s = sharpness_nonuniformity(hs)
        spread = _rho(_spread_operator(hs))
        for repl in (True, False):
            c = 1.0 / b if repl else (n - b) / (b * (n - 1))
            for eta in np.linspace(0.05, 2.5 / a, 15):
                if _rho(second_moment_operator(hs, eta, b, with_replacement=repl)) < 1.0:
                    stable += 1
                    bad += (a * eta > 2.0) or (eta**2 * c * spread > 1.0)
                    lam_exceeds += eta**2 * c * s**2 > 1.0
    return CheckResult("sgd-mean-square/necessary-in-d-dims", "stable points (enumerated operator, rho < 1) that "
                       "violate a <= 2/eta or eta^2 c rho(spread map) <= 1, non-commuting 3x3 Hessians",
                       float(bad), 0.0, f"{stable} stable points of {trials * 30}; at {lam_exceeds} of them "
                       "eta^2 c lambda_max(Sigma_H) > 1 (stable outside Wu, Ma & E's box; an exact instance is "
                       "sgd-mean-square/box-not-necessary)")


def _box_not_necessary_example() -> CheckResult:
    """The derivation's exact 2-D example (dms.EXAMPLE_XS, EXAMPLE_ETA, B = 1): the enumerated second-moment operator
    has spectral radius < 1 for both samplings although eta^2 c s^2 > 1 (s^2 = lambda_max(Sigma_H), c = 1).
    error = max(rho_with, rho_without, 1/(eta^2 c s^2)): below 1 exactly when SGD is stable and the box fails."""
    from numeric.stochastic import sharpness_nonuniformity

    x = np.array(dms.EXAMPLE_XS, dtype=float)
    hs = np.einsum("ki,kj->kij", x, x)
    eta = float(dms.EXAMPLE_ETA)
    a, s = sharpness_nonuniformity(hs)
    rhos = [_rho(second_moment_operator(hs, eta, 1, with_replacement=r)) for r in (True, False)]
    box = eta**2 * s**2  # c = 1 at B = 1 for both samplings
    return CheckResult("sgd-mean-square/box-not-necessary", "the derivation's 2-D example: max(rho of the enumerated "
                       "operator with / without replacement, 1/(eta^2 c s^2)) must be < 1 (stable, yet s > "
                       "1/(eta sqrt c))", max(*rhos, 1.0 / box), 0.99,
                       f"H_i = x_i x_i^T, x = {dms.EXAMPLE_XS}, B = 1, eta = {dms.EXAMPLE_ETA}: rho = {rhos[0]:.6f} / "
                       f"{rhos[1]:.6f}, eta^2 c s^2 = {box:.6f}, eta a = {eta * a:.6f}")


def _hb_formulas(results: dict | None):
    res = results if results is not None else dms.heavy_ball_mean_square().results
    op = _fn(res["operator"], dms.eta, dms.beta, dms.a, dms.v)
    crit = _fn(res["eta_critical"], dms.beta, dms.a, dms.v)
    return op, crit


def _rho(m: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def heavy_ball_thresholds(results: dict | None = None) -> list[CheckResult]:
    """Heavy ball: derived operator and threshold vs the enumerated second-moment operator and exact propagation."""
    op, crit = _hb_formulas(results)
    c = {True: _fn(dn.FACTOR_WITH, dn.B, dn.n), False: _fn(dn.FACTOR_WITHOUT, dn.B, dn.n)}
    out = []
    worst_op, worst_rho, worst_one, worst_step = 0.0, 0.0, 0.0, 0.0
    for n, b, beta, seed in [(6, 2, 0.5, 31), (5, 3, 0.9, 32), (7, 1, 0.2, 33)]:
        h = _curvatures(n, seed)
        a, s2 = float(h.mean()), float(h.var())
        for repl in (True, False):
            v = float(c[repl](b, n)) * s2
            ec = float(crit(beta, a, v))
            for eta in (0.5 * ec, ec, 1.1 * ec):
                mine = np.array(op(eta, beta, a, v), dtype=float)
                ref = second_moment_operator(h, eta, b, with_replacement=repl, momentum=beta)
                worst_op = max(worst_op, float(np.max(np.abs(mine - ref))) / float(np.max(np.abs(ref))))
                worst_rho = max(worst_rho, abs(_rho(mine) - _rho(ref)) / _rho(ref))
            worst_one = max(worst_one, abs(_rho(second_moment_operator(h, ec, b, repl, beta)) - 1.0))
            x0 = 0.7  # one exact step from theta_{-1} = theta_0 = x0: state (x0^2, x0^2, x0^2)
            sec = exact_moments(h, None, x0, 0.5 * ec, b, 1, with_replacement=repl, momentum=beta)["state_second"][1]
            mine = np.array(op(0.5 * ec, beta, a, v), dtype=float) @ np.full(3, x0 * x0)
            worst_step = max(worst_step, relative_error(mine, np.array([sec[0, 0], sec[0, 1], sec[1, 1]])))
    out.append(CheckResult("heavy-ball-mean-square/operator", "derived 3x3 operator on (E x^2, E x x_-, E x_-^2) vs "
                           "the enumerated second-moment operator (all batches)", worst_op, 1e-12,
                           "3 data sets x both samplings x eta in {0.5, 1, 1.1} eta_c"))
    out.append(CheckResult("heavy-ball-mean-square/one-step", "derived operator applied to (E x^2, E x x_-, "
                           "E x_-^2) vs one step of exact_moments(momentum=beta) (all batches)", worst_step, 1e-12,
                           "3 data sets x both samplings, eta = 0.5 eta_c"))
    out.append(CheckResult("heavy-ball-mean-square/spectral-radius", "spectral radius of the derived operator vs "
                           "the enumerated one", worst_rho, 1e-10, "same points"))
    out.append(CheckResult("heavy-ball-mean-square/radius-one-at-eta-c", "spectral radius of the enumerated operator "
                           "at the derived eta_c, minus 1", worst_one, 1e-10, "3 data sets x both samplings"))
    # rho < 1 on (0, eta_c) (proved in the derivation by a certificate) and > 1 beyond, on a grid
    bad, points, closest = 0, 0, math.inf
    a = 1.0
    for beta in (0.0, 0.3, 0.6, 0.9, 0.99):
        for v in (0.0, 0.05, 0.5, 2.0, 20.0):
            ec = float(crit(beta, a, v))
            for f in np.concatenate([np.linspace(0.02, 0.98, 25), [0.999], [1.001, 1.05, 1.5]]):
                rho = _rho(np.array(op(f * ec, beta, a, v), dtype=float))
                points += 1
                bad += (rho >= 1.0) if f < 1 else (rho <= 1.0)
                if f < 1:
                    closest = min(closest, 1.0 - rho)
    out.append(CheckResult("heavy-ball-mean-square/first-crossing", "number of grid points where the derived "
                           "operator's spectral radius is on the wrong side of 1 (rho < 1 below eta_c, > 1 above)",
                           float(bad), 0.0, f"{points} points: beta in [0, 0.99], v/a^2 in [0, 20], eta/eta_c in "
                           f"(0.02, 1.5); smallest 1 - rho below eta_c: {closest:.2e} (at 0.999 eta_c)"))
    # exact propagation over 200 steps: the decay / growth rate is the derived spectral radius
    h = _curvatures(6, 41)
    n, b, beta, steps = 6, 2, 0.6, 200
    for repl in (True, False):
        v = float(c[repl](b, n)) * float(h.var())
        ec = float(crit(beta, h.mean(), v))
        for f in (0.97, 1.03):
            sec = exact_moments(h, None, 1.0, f * ec, b, steps, with_replacement=repl, momentum=beta)["second"][:, 0, 0]
            rate = float((sec[steps] / sec[steps - 50]) ** (1.0 / 50))
            predicted = _rho(np.array(op(f * ec, beta, h.mean(), v), dtype=float))
            side_ok = (sec[steps] < sec[0] and rate < 1) if f < 1 else (sec[steps] > sec[0] and rate > 1)
            out.append(CheckResult(f"heavy-ball-mean-square/propagation/{'with' if repl else 'without'}/{f:g}eta_c",
                                   f"per-step rate of exact E x_t^2 over t = 150..200 vs the derived spectral radius "
                                   f"(must {'decay' if f < 1 else 'grow'})",
                                   abs(rate - predicted) / predicted if side_ok else math.inf, 1e-6,
                                   f"beta={beta}, n={n}, B={b}: E x_200^2 = {sec[steps]:.4g}, rate {rate:.6f}, "
                                   f"predicted {predicted:.6f}"))
    return out
