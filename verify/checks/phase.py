"""Checks of ``derive.theories.phase`` against the hand-written learners of :mod:`numeric.models.learners`."""
from __future__ import annotations

import math

import numpy as np

from verify.checks import CheckResult, relative_error


def phase_checks() -> list[CheckResult]:
    """Pitchfork Hessian vs finite differences of the hand-written gradient, the Landau quartic vs the
    hand-written loss along the critical direction, the noisy-GD stationary loss vs a long simulation of the
    noisy recursion, the heavy-ball boundary vs bisection on real least-squares runs."""
    import sympy as sp

    from derive.theories import phase
    from numeric.models import learners
    from numeric.step_size import bisect_threshold

    from verify.finite_differences import central_jacobian
    from verify.sweeps import stability_boundary

    out = []
    d = phase.weight_decay_pitchfork(h=2, dim=2)
    X, y = learners.teacher_data(n=200, d=2, seed=3)
    c = X.T @ y / len(y)
    wd_val = 0.7 * float(np.linalg.norm(c))
    loss_grad = learners.two_layer_loss_grad(X, y, width=2)
    theta0 = np.zeros(6)
    H_fd = central_jacobian(lambda th: loss_grad(th)[1] + wd_val * th, theta0, h=1e-4).value
    charpoly = d.results["hessian_charpoly"]
    csyms = sp.symbols("c_1:3", real=True)
    coeffs = sp.Poly(charpoly.subs({phase.wd: wd_val, csyms[0]: c[0], csyms[1]: c[1]}), phase.zsym).all_coeffs()
    derived = np.sort(np.roots([float(a) for a in coeffs]).real)
    out.append(CheckResult("phase/pitchfork-hessian", "roots of the derived det(zI - Hessian) at theta = 0 vs the "
                           "eigenvalues of the central-difference Jacobian of the hand-written gradient (2 units, "
                           "2 inputs, wd = 0.7|c|)", relative_error(np.linalg.eigvalsh(0.5 * (H_fd + H_fd.T)), derived),
                           1e-7))
    # Landau: L along v_j = w_j.u = eps (both units), minus L(0), over eps^4 -> quartic coefficient
    u = c / np.linalg.norm(c)
    direction = np.concatenate([np.outer(u, [1.0, 1.0]).ravel(), [1.0, 1.0]])  # [vec(W) (d x width), v]
    s = X @ u
    m2, m3 = float(np.mean(s**2)), float(np.mean(y * s**3))
    amps = d.results["landau_amplitudes"]
    quartic = float(d.results["landau_quartic"].subs({amps[0]: 1, amps[1]: 1, phase.m2: m2, phase.m3: m3}))
    cn = float(np.linalg.norm(c))
    eps = np.array([0.02, 0.04, 0.08])
    excess = np.array([loss_grad(e * direction)[0] + wd_val / 2 * e**2 * direction @ direction - loss_grad(theta0)[0]
                       for e in eps])
    # (L - L0 - quadratic)/eps^4 = quartic + O(eps^2) (L is even): extrapolate in eps^2 to eps -> 0
    fit = np.polyfit(eps**2, (excess - (wd_val - cn) * 2 * eps**2) / eps**4, 2)[-1]
    out.append(CheckResult("phase/landau-quartic", "derived quartic coefficient m3/3 sum a^4 + m2/2 (sum a^2)^2 vs "
                           "the hand-written loss along the critical direction (extrapolated to eps -> 0)",
                           abs(fit - quartic) / abs(quartic), 1e-6))
    # noisy GD stationary excess loss vs a long run on one direction, averaged over time
    dn = phase.noisy_gd_stationary()
    lam_v, eta_v, sig_v = 1.5, 0.9, 0.3
    pred = float(dn.results["excess_loss"].subs({phase.lam: lam_v, phase.eta: eta_v, phase.sigma: sig_v}))
    rng = np.random.default_rng(0)
    e, acc, n_steps = 0.0, 0.0, 400_000
    xi = rng.standard_normal(n_steps)
    for k in range(n_steps):
        e = (1 - eta_v * lam_v) * e - eta_v * sig_v * xi[k]
        acc += 0.5 * lam_v * e * e
    measured = acc / n_steps
    # the time average of an AR(1) square: standard error about pred * sqrt(2 (1 + r^2)/(1 - r^2) / n), r = 1 - eta lam
    r = 1 - eta_v * lam_v
    se = pred * math.sqrt(2 * (1 + r * r) / (1 - r * r) / n_steps)
    out.append(CheckResult("phase/noisy-gd-stationary", "derived stationary excess loss vs the time average of a "
                           "400,000-step noisy GD run (error in standard errors; tolerance 4)",
                           abs(measured - pred) / se, 4.0, detail=f"measured {measured:.6g}, derived {pred:.6g}"))
    # heavy-ball boundary on least squares vs bisection on real runs
    worst = 0.0
    for seed, mom in ((0, 0.0), (1, 0.5)):
        hyper = {"lr": 1.0, "momentum": mom, "weight_decay": 0.1, "noise": 0.0}
        Xl, _ = learners.least_squares_data(seed)
        lam = float(np.linalg.eigvalsh(Xl.T @ Xl / len(Xl))[-1])
        pred_lr = stability_boundary("lr", lam, hyper)

        def fails(lr, seed=seed, mom=mom):
            return learners.least_squares(lr, seed, control="lr", momentum=mom, weight_decay=0.1, steps=3000)["diverged"] > 0.5

        found = bisect_threshold(fails, 0.5 * pred_lr, 1.5 * pred_lr, 1e-5)
        worst = max(worst, abs(found / pred_lr - 1))
    out.append(CheckResult("phase/heavy-ball-boundary", "derived lr boundary (2 + 2 mu)/(lambda_max + wd) vs the "
                           "divergence threshold bisected on 3000-step least-squares runs (mu = 0 and 0.5, wd = 0.1)",
                           worst, 2e-3))
    return out
