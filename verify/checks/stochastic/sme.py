"""Stochastic modified equations and the shuffling regulariser, against exact laws and simulation.

* ``sme_vs_sde``: the derived exact OU (``sgd-modified-sde``) reproduces SGD's AR(1) moments on a quadratic, and the
  derived SME error constants there are checked; on a non-quadratic loss the weak errors of the derived SME1 and
  SME2 (``sgd-sme``) against SGD with Gaussian noise fall like η and η² (Li, Tai & E 2017/2019).  Monte Carlo
  cannot resolve an O(η²) error of ~1e-4 in 1.5 s, so E φ at the horizon is computed by exact propagation on a
  grid instead: SGD's law by its Gaussian transition kernel (trapezoid quadrature), the SDE's E φ(X_T) by the
  backward Kolmogorov equation u_t = b u' + (D/2) u'' (4th-order differences, ``expm_multiply``).  Both grid
  solvers are checked against Gaussian closed forms; Euler–Maruyama (numeric.stochastic.sde) is checked twice:
  its paths sample the exact law of its recursion (OU, and the nonlinear SME2, t-intervals), and that law's
  error against the SDE has weak order 1 (OU by exact moments, SME2 against the Kolmogorov value).
* ``shuffling_regularizer``: the mean iterate after one epoch of random reshuffling (all m! orders enumerated) vs
  the gradient flows of L and of L̃ = L + ε/(4m) Σ_k |∇L_k|² (Smith, Dherin, Barrett & De, ICLR 2021).
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
import scipy.sparse as sps
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.sparse.linalg import expm_multiply

from derive.stochastic import sme as dsme
from numeric.stochastic import monte_carlo, per_sample, sde
from verify.checks import CheckResult

#: the non-quadratic test loss f = log cosh x + x²/4 (f' = tanh x + x/2), start, horizon, per-step noise std
X0, HORIZON, NOISE = 2.0, 1.0, 1.0
#: step sizes of the order fits
ETAS = (0.025, 0.05, 0.1)
#: domain and spacing of the Kolmogorov grid; SGD's grid has spacing min(0.01, ησ/5), so that its Gaussian kernel
#: spans >= 5 cells (halving either spacing changes the weak errors by < 2e-7)
GRID = (-2.0, 4.0, 0.04)


def _phi(x):
    """The test function of the weak errors."""
    return x**2


@lru_cache(maxsize=1)
def _drifts():
    """(f', SME1 drift, SME2 drift) as NumPy functions of (x, η): the derived drifts with f = log cosh x + x²/4."""
    d = dsme.sme_general()
    x = sp.Symbol("x", real=True)
    f = sp.Function("f")
    loss = sp.Lambda(x, sp.log(sp.cosh(x)) + x**2 / 4)
    out = []
    for name in ("sme1_drift", "sme2_drift"):
        expr = d.results[name].replace(f, loss).doit()
        out.append(sp.lambdify((x, dsme.eta), expr, "numpy"))
    return (lambda y: np.tanh(y) + y / 2), out[0], out[1]


def _grid(h: float | None = None):
    lo, hi, step = GRID
    h = step if h is None else h
    y = lo + h * np.arange(int(round((hi - lo) / h)) + 1)
    return y, h


def kernel_expectation(step_mean, step_std: float, phi, x0: float, steps: int) -> float:
    """E φ(x_steps) for x⁺ = step_mean(x) + step_std·Z, Z ~ N(0, 1), x_0 = x0: the law propagated on a grid by the
    Gaussian transition kernel (trapezoid rule, spacing min(0.01, step_std/5); exact up to quadrature and the
    truncation of the domain).  SGD with Gaussian noise and Euler–Maruyama are both of this form."""
    s = step_std
    y, h = _grid(min(0.01, s / 5))
    z = (y[:, None] - step_mean(y)[None, :]) / s
    z[np.abs(z) > 9.0] = np.inf  # the kernel is < 1e-17 there: a sparse (single-threaded) matrix
    kernel = sps.csr_matrix(np.exp(-0.5 * z * z) * (h / (math.sqrt(2 * math.pi) * s)))
    p = np.exp(-0.5 * ((y - step_mean(np.array(x0))) / s) ** 2) / (math.sqrt(2 * math.pi) * s)
    for _ in range(steps - 1):
        p = kernel @ p
    return float(h * np.sum(p * phi(y)))


def sgd_expectation(grad, phi, x0: float, eta: float, sigma: float, steps: int) -> float:
    """E φ(x_steps) for SGD x⁺ = x − η(grad(x) + ξ), ξ ~ N(0, σ²), by :func:`kernel_expectation`."""
    return kernel_expectation(lambda y: y - eta * grad(y), eta * sigma, phi, x0, steps)


def em_expectation(drift, diffusion2: float, phi, x0: float, t_end: float, steps: int) -> float:
    """E φ(X_N) of Euler–Maruyama X⁺ = X + drift(X) h + √(diffusion2·h) Z, h = t_end/steps: its exact law
    (not the SDE's), by :func:`kernel_expectation`."""
    h = t_end / steps
    return kernel_expectation(lambda y: y + drift(y) * h, math.sqrt(diffusion2 * h), phi, x0, steps)


def kolmogorov_expectation(drift, diffusion2: float, phi, x0: float, t_end: float) -> float:
    """E φ(X_T) for dX = drift(X) dt + √diffusion2 dW, X_0 = x0, by the backward Kolmogorov equation
    u_t = drift u' + (diffusion2/2) u'', u(0) = φ, with 4th-order central differences (rows near the edges
    frozen: the drift confines the law far from them) and the sparse matrix exponential applied by
    ``expm_multiply``."""
    y, h = _grid()
    n = y.size
    i0 = int(round((x0 - y[0]) / h))
    if abs(y[i0] - x0) > 1e-12:
        raise ValueError(f"x0 = {x0} must be a grid point")
    d1 = sps.diags([1 / 12, -2 / 3, 2 / 3, -1 / 12], [-2, -1, 1, 2], shape=(n, n)) / h
    d2 = sps.diags([-1 / 12, 4 / 3, -5 / 2, 4 / 3, -1 / 12], [-2, -1, 0, 1, 2], shape=(n, n)) / h**2
    gen = (sps.diags(drift(y)) @ d1 + 0.5 * diffusion2 * d2).tolil()
    gen[[0, 1, n - 2, n - 1], :] = 0.0
    return float(expm_multiply(gen.tocsr() * t_end, phi(y))[i0])


def _slope(etas, errors) -> float:
    return float(np.polyfit(np.log(etas), np.log(errors), 1)[0])


def weak_errors(drift=None, etas=ETAS) -> dict[str, list[float]]:
    """|E φ(x_K) − E φ(X_T)| at T = Kη for SME1, SME2 (derived) and, if given, another drift(x, η)."""
    grad, b1, b2 = _drifts()
    out = {"sme1": [], "sme2": []} | ({"other": []} if drift is not None else {})
    for eta in etas:
        steps = int(round(HORIZON / eta))
        target = sgd_expectation(grad, _phi, X0, eta, NOISE, steps)
        for key, b in [("sme1", b1), ("sme2", b2)] + ([("other", drift)] if drift is not None else []):
            value = kolmogorov_expectation(lambda y, b=b: b(y, eta), eta * NOISE**2, _phi, X0, steps * eta)
            out[key].append(abs(target - value))
    return out


def weak_order_rows(drift=None, label: str = "sme2", order: int = 2) -> list[CheckResult]:
    """Rows for the fitted weak orders; ``drift`` replaces the derived SME2 drift (to show a wrong one fails)."""
    errs = weak_errors(drift)
    e2 = errs["other"] if drift is not None else errs["sme2"]
    detail = (f"f = log cosh x + x^2/4, x0 = {X0}, T = {HORIZON}, sigma = {NOISE}, phi = x^2, eta = {ETAS}; "
              f"errors SME1 {', '.join(f'{e:.2e}' for e in errs['sme1'])}; {label} "
              f"{', '.join(f'{e:.2e}' for e in e2)}")
    s1, s2 = _slope(ETAS, errs["sme1"]), _slope(ETAS, e2)
    return [
        CheckResult("sgd-sme/weak-order-sme1", "fitted slope of log|E phi(SGD) - E phi(SME1)| vs log eta, against 1",
                    abs(s1 - 1), 0.15, f"slope {s1:.3f}; " + detail),
        CheckResult(f"sgd-sme/weak-order-{label}", f"fitted slope of log|E phi(SGD) - E phi({label.upper()})| vs "
                    f"log eta, against {order}", abs(s2 - order), 0.2, f"slope {s2:.3f}; " + detail),
        CheckResult(f"sgd-sme/{label}-beats-sme1", f"largest ratio of the {label.upper()} and SME1 weak errors over "
                    "eta", max(b / a for a, b in zip(errs["sme1"], e2)), 0.25, detail),
    ]


def _quadratic_error_constants(d) -> CheckResult:
    """The derived stationary relative errors (exact in η) and finite-horizon variance-error constants
    [η²](Var θ_k − V_SME(T)) against SGD's AR(1) recursion and the OU laws of the two SMEs (ou_moments)."""
    syms = (dsme.eta, dsme.a, dsme.sigma)
    f = {k: sp.lambdify(syms + (sp.Symbol("T", positive=True),), d.results[k], "math")
         for k in ("sme1_variance_error_T", "sme2_variance_error_T")}
    rel = {k: sp.lambdify(syms, d.results[k], "math") for k in ("sme1_relative_error", "sme2_relative_error")}
    worst_stat, worst_t = 0.0, 0.0
    for a, sigma in [(1.0, 1.0), (2.5, 0.7)]:
        for eta in (0.05, 0.2):  # stationary: exact in eta
            v = eta**2 * sigma**2 / (1 - (1 - eta * a) ** 2)
            for key, c in [("sme1_relative_error", a), ("sme2_relative_error", a + eta * a**2 / 2)]:
                v_sme = sde.ou_moments(c, eta * sigma**2, 0.0, 1e3)[1]
                worst_stat = max(worst_stat, abs((v_sme / v - 1) - rel[key](eta, a, sigma)))
        eta, steps = 1e-3, 1000  # finite horizon T = 1: the O(eta^2) constants, to O(eta)
        var = 0.0
        for _ in range(steps):
            var = (1 - eta * a) ** 2 * var + eta**2 * sigma**2
        for key, c in [("sme1_variance_error_T", a), ("sme2_variance_error_T", a + eta * a**2 / 2)]:
            got = (var - sde.ou_moments(c, eta * sigma**2, 0.0, steps * eta)[1]) / eta**2
            want = f[key](eta, a, sigma, steps * eta)
            worst_t = max(worst_t, abs(got - want) / abs(want))
    return CheckResult("sgd-sme/quadratic-error-constants", "derived SME errors on the quadratic vs AR(1) and OU laws: "
                       "stationary relative errors (abs., exact) and finite-horizon [eta^2] variance errors (rel., "
                       "at eta = 1e-3: an O(eta) remainder)", max(worst_stat / 1e-12, worst_t / 1e-2), 1.0,
                       f"stationary {worst_stat:.1e} (tolerance 1e-12), horizon {worst_t:.1e} (tolerance 1e-2)")


def sme_vs_sde() -> list[CheckResult]:
    """The derived exact OU, EM's own order, the grid solvers, and the weak orders of SME1 and SME2."""
    out = []
    d = dsme.sme_quadratic()
    c_f = sp.lambdify((dsme.eta, dsme.a, dsme.sigma), d.results["exact_drift"], "math")
    d2_f = sp.lambdify((dsme.eta, dsme.a, dsme.sigma), d.results["exact_diffusion"], "math")
    v_f = sp.lambdify((dsme.eta, dsme.a, dsme.sigma), d.results["exact_stationary_variance"], "math")
    worst = 0.0
    for eta, a, sigma, x0 in [(0.1, 1.0, 1.0, 1.0), (0.05, 3.0, 0.5, -2.0), (0.3, 2.5, 2.0, 0.7)]:
        c, d2 = c_f(eta, a, sigma), d2_f(eta, a, sigma)
        mean, var = x0, 0.0
        for k in range(1, 61):  # SGD's AR(1) recursion, exactly
            mean, var = (1 - eta * a) * mean, (1 - eta * a) ** 2 * var + eta**2 * sigma**2
            m_ou, v_ou = sde.ou_moments(c, d2, x0, k * eta)
            worst = max(worst, abs(m_ou - mean) / max(abs(mean), 1e-300), abs(v_ou - var) / var)
        v_stat = eta**2 * sigma**2 / (1 - (1 - eta * a) ** 2)
        worst = max(worst, abs(v_f(eta, a, sigma) - v_stat) / v_stat, abs(d2 / (2 * c) - v_stat) / v_stat)
    out.append(CheckResult("sgd-sme/exact-ou-moments", "derived exact OU (drift, diffusion) at t = k eta vs SGD's "
                           "AR(1) mean and variance, 60 steps, and the stationary variance", worst, 1e-12,
                           "3 settings with 0 < eta a < 1; numeric.stochastic.sde.ou_moments"))
    out.append(_quadratic_error_constants(d))
    # Euler-Maruyama: its paths follow the EM recursion, whose exact law has weak order 1 on OU
    c, d2, x0, steps = 1.0, 1.0, 1.0, 4
    xs = sde.euler_maruyama(lambda z: -c * z, lambda z: math.sqrt(d2), x0, 1.0, steps, np.random.default_rng(0),
                            100_000)[-1]
    m_em, v_em = sde.em_ou_moments(c, d2, x0, 1.0, steps)
    mean, half = monte_carlo.mean_ci(xs**2)
    out.append(CheckResult("sgd-sme/em-paths", "Euler-Maruyama on OU (4 steps, 1e5 paths): E X^2 vs the exact law "
                           "of the EM recursion (|difference| / 99.9% t-half-width)",
                           monte_carlo.interval_error(mean, half, v_em + m_em**2), 1.0, f"MC {mean:.5f} +- {half:.5f}"))
    slope = sde.weak_order()
    out.append(CheckResult("sgd-sme/em-weak-order", "fitted weak order of Euler-Maruyama on OU (E X_T^2, 4..64 steps), "
                           "against 1", abs(slope - 1), 0.15, f"slope {slope:.3f}"))
    # the grid solvers against closed forms: SGD on a quadratic (AR(1)) and the OU process
    a, eta, steps = 1.5, 0.1, 10
    m, v = X0, 0.0
    for _ in range(steps):
        m, v = (1 - eta * a) * m, (1 - eta * a) ** 2 * v + eta**2 * NOISE**2
    got = sgd_expectation(lambda y: a * y, np.cos, X0, eta, NOISE, steps)
    m_ou, v_ou = sde.ou_moments(a, eta * NOISE**2, X0, HORIZON)
    got_ou = kolmogorov_expectation(lambda y: -a * y, eta * NOISE**2, np.cos, X0, HORIZON)
    # both laws are Gaussian: E cos X = cos(mean) exp(-variance/2)
    out.append(CheckResult("sgd-sme/grid-solvers", "grid propagation of SGD (Gaussian kernel) and backward Kolmogorov "
                           "solver vs the exact E cos X of the AR(1) and of the OU process (Gaussian laws)",
                           max(abs(got - math.cos(m) * math.exp(-v / 2)),
                               abs(got_ou - math.cos(m_ou) * math.exp(-v_ou / 2))), 1e-6,
                           f"quadratic a = {a}, eta = {eta}, x0 = {X0}, T = {HORIZON}"))
    out.extend(weak_order_rows())
    # Euler-Maruyama on the derived SME2 (nonlinear drift): its paths sample its exact law, whose weak error
    # against the Kolmogorov value falls like dt
    _, _, b2 = _drifts()
    eta = 0.1
    drift = lambda y: b2(y, eta)  # noqa: E731
    ref = kolmogorov_expectation(drift, eta * NOISE**2, _phi, X0, HORIZON)
    xs = sde.euler_maruyama(drift, lambda z: math.sqrt(eta) * NOISE, X0, HORIZON, 50, np.random.default_rng(1),
                            20_000)[-1]
    mean, half = monte_carlo.mean_ci(_phi(xs))
    law = em_expectation(drift, eta * NOISE**2, _phi, X0, HORIZON, 50)
    out.append(CheckResult("sgd-sme/em-paths-nonlinear", "Euler-Maruyama paths (50 steps, 2e4 paths) on the derived "
                           "SME2 vs the exact law of the EM recursion (|difference| / 99.9% t-half-width)",
                           monte_carlo.interval_error(mean, half, law), 1.0,
                           f"MC {mean:.5f} +- {half:.5f}, EM law {law:.5f}, SDE (Kolmogorov) {ref:.5f}; eta = {eta}"))
    counts = (10, 20, 40)
    errs = [abs(em_expectation(drift, eta * NOISE**2, _phi, X0, HORIZON, k) - ref) for k in counts]
    slope = _slope([HORIZON / k for k in counts], errs)
    out.append(CheckResult("sgd-sme/em-weak-order-nonlinear", "fitted weak order of Euler-Maruyama on the derived "
                           "SME2 (exact EM law vs backward Kolmogorov, 10..40 steps), against 1", abs(slope - 1), 0.15,
                           f"slope {slope:.3f}; errors {', '.join(f'{e:.2e}' for e in errs)}"))
    return out


# -- random reshuffling ----------------------------------------------------------------------

#: step sizes of the order fits, and the small logistic problem (one sample per minibatch, m = n = 4)
SHUFFLE_EPS = (0.025, 0.05, 0.1, 0.2)


def _shuffle_problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(4, 2))
    return per_sample.logistic(X, np.array([0.0, 1.0, 1.0, 0.0])), np.array([0.8, -0.5])


def epoch_mean(problem, theta0, eps: float) -> np.ndarray:
    """E over all m! orders of one epoch of GD steps θ ↦ θ − ε∇ℓ_k (exact enumeration)."""
    total = np.zeros_like(theta0)
    orders = list(itertools.permutations(range(problem.n)))
    for order in orders:
        th = theta0.copy()
        for k in order:
            th = th - eps * problem.batch_grad(th, [k])
        total += th
    return total / len(orders)


def modified_flow(problem, theta0, eps: float, regularized: bool, coefficient: float = 0.25) -> np.ndarray:
    """θ(mε) of θ' = −∇L, or of θ' = −∇L̃ with L̃ = L + (coefficient·ε/m) Σ_k |∇ℓ_k|², i.e.
    ∇L̃ = ∇L + (2·coefficient·ε/m) Σ_k H_k ∇ℓ_k (the derived coefficient is 1/4);
    DOP853 at tolerance 1e-13."""
    idx = np.arange(problem.n)

    def field(_t, th):
        g = problem.grad(th)
        if regularized:
            g = g + 2 * coefficient * eps / problem.n * np.einsum("kij,kj->i", problem.sample_hessians(th, idx),
                                                     problem.sample_grads(th, idx))
        return -g

    sol = solve_ivp(field, (0.0, problem.n * eps), theta0, method="DOP853", rtol=1e-13, atol=1e-15)
    return sol.y[:, -1]


def shuffling_regularizer(coefficient: float = 0.25) -> list[CheckResult]:
    """One epoch of random reshuffling vs the flows of L (error O(ε²)) and L̃ (error O(ε³)); ``coefficient``
    replaces the derived 1/4 of L̃ = L + (ε/(4m)) Σ_k |∇L_k|² (to show that a wrong one fails)."""
    problem, theta0 = _shuffle_problem()
    e_plain, e_mod = [], []
    for eps in SHUFFLE_EPS:
        mean = epoch_mean(problem, theta0, eps)
        e_plain.append(float(np.linalg.norm(mean - modified_flow(problem, theta0, eps, False))))
        e_mod.append(float(np.linalg.norm(mean - modified_flow(problem, theta0, eps, True, coefficient))))
    s_plain, s_mod = _slope(SHUFFLE_EPS, e_plain), _slope(SHUFFLE_EPS, e_mod)
    detail = (f"logistic, n = m = 4 (batch 1), d = 2, eps = {SHUFFLE_EPS}; errors L "
              f"{', '.join(f'{e:.2e}' for e in e_plain)}; L~ {', '.join(f'{e:.2e}' for e in e_mod)}")
    return [
        CheckResult("sgd-shuffling/flow-of-L", "fitted slope of |E epoch - flow of L| vs log eps (all 24 orders), "
                    "against 2", abs(s_plain - 2), 0.2, f"slope {s_plain:.3f}; " + detail),
        CheckResult("sgd-shuffling/flow-of-modified-loss", "fitted slope of |E epoch - flow of L + eps/(4m) sum "
                    "|grad L_k|^2| vs log eps, against 3", abs(s_mod - 3), 0.3, f"slope {s_mod:.3f}; " + detail),
    ]
