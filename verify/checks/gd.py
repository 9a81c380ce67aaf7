"""Gradient descent: symbolic rule and predictions vs hand-written code and real runs."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derive.rules import gradient_descent as gdd
from derive import losses
from derive.analysis.modified_equation import eta as eta_sym
from derive.analysis.modified_equation import modified_fields
from numeric import flow, optimizers, problems, step_size

from verify.checks import CheckResult, relative_error, threshold_near

#: spectra the stability checks run on (the 3-D one with a random rotation)
SPECTRA = ([1.0, 10.0], [0.5, 3.0, 20.0])


def _stability_results() -> dict:
    """The stability derivation's named results, lambdified."""
    d = gdd.quadratic_stability()
    r = d.results
    lam = gdd.lam
    lmax = sp.Symbol("lambda_max", positive=True)
    return {"factor": sp.lambdify((gdd.eta, lam), r["factor"], "numpy"),
            "eta_critical": sp.lambdify(lmax, r["eta_critical"], "numpy"),
            "eta_optimal": sp.lambdify(sorted(r["eta_optimal"].free_symbols, key=str), r["eta_optimal"], "numpy")}


def lambdified_vs_handwritten(steps: int = 300, seed: int = 0) -> list[CheckResult]:
    """The lambdified GD rule and numeric.optimizers.gd, run side by side on a random quadratic."""
    rng = np.random.default_rng(seed)
    rule = gdd.gd_rule()
    worst = 0.0
    for lr, wd in [(0.01, 0.0), (0.05, 0.1), (0.001, 1e-3)]:
        prob = problems.quadratic(rng.uniform(0.1, 10.0, size=6), seed=int(rng.integers(1 << 30)))
        sym, hand = rule.lambdify(lr=lr, weight_decay=wd), optimizers.gd(lr=lr, weight_decay=wd)
        p_s = p_h = rng.normal(size=6)
        s_s, s_h = sym.init(p_s), hand.init(p_h)
        for _ in range(steps):
            p_s, s_s = sym.step(p_s, prob.grad(p_s), s_s)
            p_h, s_h = hand.step(p_h, prob.grad(p_h), s_h)
            worst = max(worst, relative_error(p_s, p_h))
    return [CheckResult("gd-lambdified", "lambdified GD rule vs hand-written gd, 3 settings x 300 steps",
                        worst, 1e-12, "6-D random quadratics, weight decay on and off")]


def _theta0(n: int) -> np.ndarray:
    return np.linspace(1.0, 2.0, n)  # a component along every eigenvector of a rotated H


def critical_step() -> list[CheckResult]:
    """Predicted η_c = 2/λ_max vs the step where a real GD run starts to diverge (bisection)."""
    f = _stability_results()["eta_critical"]
    out = []
    for spec in SPECTRA:
        prob = problems.quadratic(spec, seed=1)
        predicted = float(f(max(spec)))
        theta0 = _theta0(len(spec))
        found = threshold_near(lambda e: step_size.diverges(optimizers.gd(lr=e), prob.grad, theta0, 2000),
                               predicted, 1e-3, 0.5 * predicted, 1.5 * predicted, 1e-6)
        out.append(CheckResult(f"gd-critical-step/{'-'.join(f'{v:g}' for v in spec)}",
                               "predicted 2/lambda_max vs bisection on real GD runs",
                               abs(found - predicted) / predicted, 1e-3,
                               f"predicted {predicted:.6g}, found {found:.6g}"))
    return out


def convergence_rate() -> list[CheckResult]:
    """Predicted rate max_i |1 − ηλ_i| vs the contraction measured on the trajectory."""
    f = _stability_results()
    out = []
    for spec in SPECTRA:
        prob = problems.quadratic(spec, seed=1)
        lo, hi = min(spec), max(spec)
        for label, eta in [("optimal", float(f["eta_optimal"](hi, lo))), ("half-critical", 1.0 / hi),
                           ("small", 0.2 / hi)]:
            predicted = float(np.max(np.abs(f["factor"](eta, np.asarray(spec)))))
            steps = int(min(3000, 25.0 / max(1e-12, -math.log(predicted))))
            traj = optimizers.run(optimizers.gd(lr=eta), prob.grad, _theta0(len(spec)), steps)
            measured = step_size.convergence_rate(traj, np.zeros(len(spec)), burn_in=steps // 5)
            out.append(CheckResult(f"gd-convergence-rate/{'-'.join(f'{v:g}' for v in spec)}/{label}",
                                   "predicted max|1 - eta lambda| vs measured contraction",
                                   abs(measured - predicted) / predicted, 1e-3,
                                   f"eta={eta:.4g}: predicted {predicted:.6f}, measured {measured:.6f}"))
    return out


def regimes() -> list[CheckResult]:
    """Predicted regime of each direction (monotone / oscillating / marginal / divergent), from
    the derived factor 1 − ηλ, vs the trajectory of a real run."""
    from verify.stability import regime_of_factor

    factor = _stability_results()["factor"]
    prob = problems.quadratic([1.0], rotation=np.eye(1))
    mismatches, seen = 0, []
    for x in (0.3, 0.9, 1.2, 1.8, 2.0, 2.2, 3.0):
        predicted = regime_of_factor(float(factor(x, 1.0)))
        traj = optimizers.run(optimizers.gd(lr=x), prob.grad, np.array([1.0]), 30)[:, 0]
        signs = np.sign(traj[1:]) * np.sign(traj[:-1])
        ratio = abs(traj[-1]) / abs(traj[0])
        observed = ("divergent" if ratio > 1 + 1e-9 else "marginal" if ratio > 1 - 1e-9 and np.all(signs < 0)
                    else "oscillating" if np.all(signs < 0) else "monotone" if np.all(signs > 0) else "other")
        mismatches += observed != predicted
        seen.append(f"{x:g}: {predicted}/{observed}")
    return [CheckResult("gd-regimes", "regime from the derived factor 1 - eta lambda vs observed trajectory",
                        float(mismatches), 0.0, "eta lambda: predicted/observed " + ", ".join(seen))]


def _gd_error(field_fn, grad, theta0, eta: float, t_final: float) -> float:
    steps = int(round(t_final / eta))
    traj = optimizers.run(optimizers.gd(lr=eta), grad, theta0, steps)
    _, ys = flow.integrate_flow(field_fn, theta0, t_final, t_eval=[t_final], rtol=1e-13, atol=1e-15)
    return float(np.linalg.norm(traj[-1] - ys[-1]))


def modified_flow_order(t_final: float = 1.0, etas=(0.04, 0.02, 0.01), orders: int = 4) -> list[CheckResult]:
    """GD vs solve_ivp on the modified flow truncated after η^p: over a fixed time the gap
    is O(η^{p+1}), so halving η divides it by 2^{p+1} (p = 0 is plain gradient flow)."""
    expr, params = losses.factorization()
    prob = problems.factorization()
    theta0 = np.array([0.3, 1.6])
    fields = modified_fields(expr, params, orders - 1)
    out = []
    for p in range(orders):
        vf = [sum((fields[n][i] * eta_sym**n for n in range(p + 1)), sp.S.Zero) for i in range(len(params))]
        fn = sp.lambdify((eta_sym, *params), vf, "numpy")
        errs = [_gd_error(lambda th, e=e: np.array(fn(e, *th), dtype=float), prob.grad, theta0, e, t_final)
                for e in etas]
        slopes = [math.log2(errs[i] / errs[i + 1]) for i in range(len(errs) - 1)]
        observed = slopes[-1]
        out.append(CheckResult(f"gd-modified-flow/order-{p}",
                               f"GD vs modified flow to eta^{p}: error order when eta halves",
                               abs(observed - (p + 1)), 0.15,
                               f"predicted order {p + 1}, observed {observed:.3f}; errors "
                               + ", ".join(f"{e:.2e}" for e in errs)))
    return out
