"""Grokking (Li₂, Tian arXiv:2509.21519): the hand-written network and energy vs finite differences and the
derivation ``li2-energy``, and the derived stage-II law (update = ∇E/(nη) to leading order in ρ = ‖F‖²_op/η)
vs real GD updates in the regime it is derived for, ρ ≪ 1 (here ρ ≈ 0.02 and 0.002).

The bound used twice below, ‖ηG_F − ỸỸᵀF‖_F ≤ 2ρ/(1+ρ) ‖ỸỸᵀF‖_F at the ridge top layer, is our own (not
the paper's); its eigenvalue steps are proved in ``li2-energy`` (‖I − (I + FFᵀ/η)⁻¹‖ = ρ/(1+ρ), and the same
for FᵀF), the final triangle/submultiplicativity inequality is stated there as given."""
from __future__ import annotations

import numpy as np

from verify.checks import CheckResult


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(b), 1e-300))


def grokking_checks() -> list[CheckResult]:
    """Backprop and ∇E vs central differences, derived ∇E and ridge G_F vs numeric, stage-II updates vs ∇E."""
    import sympy as sp

    from derive.theories import grokking as dg
    from numeric.models import grokking as ng

    from verify.finite_differences import central_gradient

    out = []
    rng = np.random.default_rng(0)
    data = ng.modular_addition(7, 0.6, seed=1)
    X, Y = data.X_train, data.Y_train
    for act in ("sqr", "relu"):
        W, V = ng.init_params(7, 5, scale=1.0, seed=2, act=act)
        _, dW, dV, _ = ng.loss_and_grads(W, V, X, Y, 1e-2, act)
        theta = np.concatenate([W.ravel(), V.ravel()])

        def loss(t, act=act):
            return ng.loss_and_grads(t[:W.size].reshape(W.shape), t[W.size:].reshape(V.shape), X, Y, 1e-2, act)[0]

        # ReLU: plain differences with a step far below the smallest |pre-activation| (no kink is crossed)
        fd = central_gradient(loss, theta) if act == "sqr" else central_gradient(loss, theta, h=1e-7, richardson=False)
        out.append(CheckResult(f"grokking/backprop/{act}", f"hand-written dL/d(W, V) vs central differences "
                               f"(p = 7, width 5, sigma = {act}, weight decay 0.01), relative error",
                               _rel(np.concatenate([dW.ravel(), dV.ravel()]), fd.value), 1e-7,
                               f"FD error estimate {fd.error_estimate:.1e}"))
    # the energy's gradient: numeric vs finite differences on modular data, for both activations
    for act in ("sqr", "relu"):
        w = rng.standard_normal(14)
        fd = central_gradient(lambda v, act=act: ng.energy(v, X, Y, act), w)
        out.append(CheckResult(f"grokking/energy-gradient-fd/{act}", "hand-written grad E(w) = X^T(sigma'(Xw) * "
                               f"Y Y^T sigma(Xw)) vs central differences of E = |Y^T sigma(Xw)|^2/2 (p = 7, sigma = {act})",
                               _rel(ng.energy_grad(w, X, Y, act), fd.value), 1e-7))
    # derived energy and gradient (lambdified) vs hand-written, on random instances of the derivation's size
    d = dg.li2_energy()
    syms = list(dg.X) + list(dg.Y) + list(dg.w)
    e_fn = sp.lambdify(syms, d.results["energy"], "numpy")
    g_fn = sp.lambdify(syms, d.results["energy_gradient"], "numpy")
    worst_e = worst_g = 0.0
    for _ in range(20):
        Xs, Ys, ws = rng.standard_normal((dg.N, dg.D)), rng.standard_normal((dg.N, dg.C)), rng.standard_normal(dg.D)
        args = list(Xs.ravel()) + list(Ys.ravel()) + list(ws)
        worst_e = max(worst_e, abs(e_fn(*args) - ng.energy(ws, Xs, Ys)) / abs(ng.energy(ws, Xs, Ys)))
        worst_g = max(worst_g, _rel(np.asarray(g_fn(*args), float).ravel(), ng.energy_grad(ws, Xs, Ys)))
    out.append(CheckResult("grokking/energy-derived", "derived (lambdified) E(w) vs hand-written, 20 random instances "
                           "n = 3, d = 2, c = 2, worst relative error", worst_e, 1e-12))
    out.append(CheckResult("grokking/energy-gradient-derived", "derived (lambdified) grad E vs hand-written, 20 random "
                           "instances, worst relative error", worst_g, 1e-12))
    # ridge top layer: numeric G_F at V* vs the derived closed form, and the bound |eta G - YY^T F| <= 2 rho/(1+rho)
    worst, worst_ratio = 0.0, 0.0
    for eta in (0.1, 1.0, 10.0, 100.0):
        F, Yr = rng.standard_normal((9, 4)), rng.standard_normal((9, 3))
        Vs = ng.ridge_top(F, Yr, eta)
        G = (Yr - F @ Vs) @ Vs.T
        closed = eta * np.linalg.solve(F @ F.T + eta * np.eye(9), Yr @ Yr.T @ F) @ np.linalg.inv(F.T @ F + eta * np.eye(4))
        worst = max(worst, _rel(G, closed))
        rho = np.linalg.norm(F, 2) ** 2 / eta
        M = Yr @ Yr.T @ F
        worst_ratio = max(worst_ratio, _rel(eta * G, M) / (2 * rho / (1 + rho)))
    out.append(CheckResult("grokking/ridge-G_F", "G_F = (Y - FV*)V*^T at the numeric ridge V* vs the derived "
                           "eta (FF^T + eta I)^-1 Y Y^T F (F^T F + eta I)^-1, eta in {0.1, 1, 10, 100}", worst, 1e-10))
    out.append(CheckResult("grokking/ridge-G_F-bound", "|eta G_F - Y Y^T F| / |Y Y^T F| divided by its bound "
                           "2 rho/(1 + rho), rho = |F|_op^2/eta (our bound; eigenvalue steps proved in li2-energy); "
                           "must be <= 1",
                           worst_ratio, 1.0))
    out.extend(_stage_two_updates(ng))
    return out


def _stage_two_updates(ng) -> list[CheckResult]:
    """Real GD updates of W (top layer at its ridge optimum, p = 23) vs the derived ∇E(w_j)/(nη).

    The tolerance is our own bound: the update is Xᵀ(σ'(Z) ⊙ G_F), so its deviation from Xᵀ(σ'(Z) ⊙ G_0),
    G_0 = ỸỸᵀF/(nη), is at most ‖X‖_op max|σ'(Z)| ‖G_F − G_0‖_F ≤ ‖X‖_op max|σ'(Z)| 2ρ/(1+ρ) ‖G_0‖_F
    (the Hadamard factor is bounded by its largest entry, then the li2-energy bound)."""
    data = ng.modular_addition(23, 0.5, seed=0)
    X, Y = data.X_train, data.Y_train
    n = X.shape[0]
    out = []
    errs = {}
    for wd, scale in ((0.05, 0.3), (0.5, 0.3)):
        run = ng.ridge_held_run(data, width=64, wd=wd, init_scale=scale, lr=1.0, steps=10, seed=0)
        eta = n * wd
        worst, worst_bound = 0.0, 0.0
        for W, upd, rho in run:
            pred = ng.energy_grad(W, X, Y) / (n * eta)
            err = _rel(upd, pred)
            # our bound (li2-energy): |G_F - G_0| <= 2 rho/(1+rho) |G_0| (G_0 = YY^T F/(n eta)), pushed through
            # X^T(sigma'(Z) * .): factor |X|_op max|sigma'(Z)| |G_0| / |X^T(sigma'(Z) * G_0)|
            Z = X @ W
            G0 = Y @ (Y.T @ ng.sigma(Z)) / (n * eta)
            bound = 2 * rho / (1 + rho) * np.linalg.norm(X, 2) * np.max(np.abs(ng.sigma_prime(Z))) \
                * np.linalg.norm(G0) / np.linalg.norm(pred)
            worst, worst_bound = max(worst, err), max(worst_bound, err / bound)
        errs[wd] = (worst, run[0][2])
        out.append(CheckResult(f"grokking/stage-II-update/wd={wd:g}", f"actual GD update -dL/dW of a real run (p = 23, "
                               f"width 64, V held at ridge, eta = n wd = {eta:.3g}) vs derived grad E(w_j)/(n eta), "
                               f"worst relative error over 10 steps, divided by our bound (li2-energy's 2 rho/(1 + rho) "
                               f"pushed through X^T(sigma'(Z) * .); must be <= 1)",
                               worst_bound, 1.0, f"relative error {worst:.3g}, rho = {run[0][2]:.3g}"))
    (e1, r1), (e2, r2) = errs[0.05], errs[0.5]
    out.append(CheckResult("grokking/stage-II-update/first-order", "the update's deviation from grad E/(n eta) is first "
                           "order in rho = |F|^2/eta: (err at wd = 0.05)/(err at wd = 0.5) vs rho ratio 10, relative",
                           abs((e1 / e2) / (r1 / r2) - 1), 0.1, f"errors {e1:.3g}, {e2:.3g}; rho {r1:.3g}, {r2:.3g}"))
    return out
