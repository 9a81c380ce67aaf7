"""Sharpness experiments on real MLPs (``ldyn experiment``): the largest Hessian eigenvalue λ_max
(Lanczos on exact Tensor HVPs) against the derived critical sharpness 2/η of GD and 2(1+β)/η of
heavy ball (``derive.analysis.momentum_limits.critical_sharpness``).

* ``training_stability``: the step size where full-batch GD on an MLP stops being stable, found by
  bisection on real runs, vs 2/λ_max(θ₀); between 2/λ₀ and divergence lies the catapult phase.
* ``edge_of_stability``: progressive sharpening, then λ_max hovering at 2/η (GD) and 2(1+β)/η
  (heavy ball) while the loss keeps falling, non-monotonically (Cohen et al. 2021).

Training steps use the hand-written backprop ``numeric.autodiff.nn.numpy_mlp_loss_and_grad`` (the faster of the
two); curvature uses the Tensor's double-backward HVPs of ``numeric.autodiff.nn.loss_fn``. Both compute the
same loss on the same flat parameter vector (``numeric.autodiff.nn.flatten`` order); the summaries record
their gradient difference at θ₀.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from verify.experiments import claim

BLOWUP = 1e12  # a run whose loss exceeds BLOWUP * L(theta_0) is stopped and counted as diverged


def _plt():
    from verify.figures.backend import _plt as plt

    return plt()


@functools.lru_cache(maxsize=1)
def _critical():
    """The derived critical sharpness: (results, eta symbol, beta symbol), built once."""
    from derive.analysis import momentum_limits as ml

    return ml.critical_sharpness().results, ml.eta, ml.beta


def critical_sharpness(eta: float, beta: float = 0.0) -> float:
    """The derived largest stable sharpness at step η: 2/η for GD (β = 0), 2(1+β)/η for heavy ball."""
    r, e, b = _critical()
    return float((r["gd"] if beta == 0 else r["heavy_ball"]).subs({e: eta, b: beta}))


def step_for_sharpness(lam: float, beta: float = 0.0) -> float:
    """The step η at which sharpness ``lam`` is critical: the derived threshold solved for η."""
    import sympy as sp

    r, e, b = _critical()
    expr = (r["gd"] if beta == 0 else r["heavy_ball"]).subs(b, beta)
    (sol,) = sp.solve(sp.Eq(expr, sp.Float(lam)), e)
    return float(sol)


class _Problem:
    """An MLP and a data set as functions of the flat parameter vector θ."""

    def __init__(self, model, X, y):
        from numeric.autodiff import nn

        self.model, self.X, self.y = model, X, y
        self.shapes = [p.shape for p in model.parameters()]
        self.theta0 = nn.flatten(model.parameters())
        self.n = self.theta0.size
        self.f, self.grad, self.hvp = nn.loss_fn(model, X, y, "mse")

    def arrays(self, theta):
        out, offset = [], 0
        for s in self.shapes:
            k = int(np.prod(s))
            out.append(theta[offset:offset + k].reshape(s))
            offset += k
        return out

    def loss_and_grad(self, theta):
        """(L, ∇L) by the hand-written backprop."""
        from numeric.autodiff import nn

        L, gs = nn.numpy_mlp_loss_and_grad(self.arrays(theta), self.X, self.y, self.model.activation, "mse")
        return L, np.concatenate([g.ravel() for g in gs])

    def sharpness(self, theta, tol=1e-10):
        """(λ_max, its unit eigenvector, HVPs) by ARPACK Lanczos on exact HVPs."""
        from numeric.autodiff import hessian

        e = hessian.top_eigenvalues(lambda v: self.hvp(theta, v), self.n, k=1, tol=tol)
        return float(e.eigenvalues[0]), e.eigenvectors[:, 0], e.n_hvp

    def tracked_sharpness(self, theta, v0, m=15):
        """(λ_max, Ritz vector): m Lanczos steps warm-started from v0 (the previous Ritz vector)."""
        from scipy.linalg import eigh_tridiagonal

        from numeric.autodiff import hessian

        a, b, Q = hessian.lanczos(lambda v: self.hvp(theta, v), self.n, m, v0=v0, return_basis=True)
        w, Y = eigh_tridiagonal(a, b)
        return float(w[-1]), Q @ Y[:, -1]

    def gradient_agreement(self) -> float:
        """Relative difference of the hand-written and Tensor gradients at θ₀."""
        g_np, g_t = self.loss_and_grad(self.theta0)[1], self.grad(self.theta0)
        return float(np.linalg.norm(g_np - g_t) / np.linalg.norm(g_t))


def _train(problem, opt, steps, every=0, on_sample=None):
    """Run ``opt`` for ``steps`` steps from θ₀. Returns (losses L_0..L_T, final θ, diverged).

    Stops early, with diverged = True, once L is non-finite or above BLOWUP · L_0. ``on_sample(t, θ)``
    is called at t = 0, every, 2·every, ...
    """
    theta = problem.theta0.copy()
    state = opt.init(theta)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            L, g = problem.loss_and_grad(theta)
            losses.append(L)
            if not (math.isfinite(L) and L <= BLOWUP * losses[0] and np.isfinite(g).all()):
                return np.array(losses), theta, True
            if on_sample is not None and every and t % every == 0:
                on_sample(t, theta)
            if t < steps:
                theta, state = opt.step(theta, g, state)
    return np.array(losses), theta, False


def _threshold(fails, grid, rtol):
    """Bisection for the η separating ``fails`` False/True, bracketed by the first failing grid point
    (nan when the grid does not bracket it)."""
    from numeric.step_size import bisect_threshold

    flags = [fails(e) for e in grid]
    if not any(flags) or flags[0]:
        return math.nan
    i = flags.index(True)
    return bisect_threshold(fails, grid[i - 1], grid[i], rtol)


def training_stability(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Full-batch GD on a tanh MLP [2, 256, 1] (two moons, 0/1 targets, MSE): λ₀ = λ_max(θ₀) by Lanczos;
    the smallest η at which the loss rises above L(θ₀) within 20 steps (bisection) vs the derived 2/λ₀;
    the smallest η at which the loss after 200 steps is ≥ L(θ₀) or non-finite (divergence) lies in
    the catapult window (2/λ₀, 4/λ₀] of Lewkowycz et al. 2020, where the loss spikes, the sharpness
    falls below 2/η and training then converges.

    Why this network: 2/λ₀ is a statement about θ₀; it predicts the start of the instability only if the
    sharpness stays near λ₀ while the unstable mode grows. That holds for a wide one-hidden-layer net with
    0/1 targets (the mean-output mode, the top eigenvector, carries most of the initial loss). On narrow
    deep nets such as [2, 32, 32, 1] the loss falls by an order of magnitude in a few steps, the sharpness
    falls with it, and the measured threshold then drifts 5-35% above 2/λ₀ depending on the seed.
    ``full``: width 512, 1000-step divergence runs, a finer grid."""
    from numeric.autodiff import datasets, nn
    from numeric import optimizers

    width = 512 if full else 256
    n_short, n_long = 20, (1000 if full else 200)
    X, labels = datasets.two_moons(200, noise=0.1, seed=seed)
    prob = _Problem(nn.MLP([2, width, 1], "tanh", init=1.0, seed=seed), X, labels.astype(float))
    lam0, _, n_hvp = prob.sharpness(prob.theta0)
    eta_pred = step_for_sharpness(lam0)  # 2 / lam0
    ratios = np.linspace(0.5, 2.5, 33 if full else 17)
    grid = list(ratios * eta_pred)
    total = len(grid) + 2
    runs = {}

    def run(eta, steps):
        key = (eta, steps)
        if key not in runs:
            runs[key] = _train(prob, optimizers.gd(lr=eta), steps)
        return runs[key]

    def rises(eta):  # the loss exceeds L(theta_0) within n_short steps (or blows up)
        L, _, div = run(eta, n_short)
        return div or bool(np.max(L[1:]) > L[0])

    def diverges(eta):  # after n_long steps the loss is >= L(theta_0) or non-finite
        L, _, div = run(eta, n_long)
        return div or bool(L[-1] >= L[0])

    sweep = []
    for i, eta in enumerate(grid):
        progress(i, total)
        L, th, div = run(eta, n_long)
        runs[(eta, n_short)] = (L[:n_short + 1], None, div and L.size <= n_short + 1)  # its first n_short steps
        sweep.append({"eta": eta, "eta_over_2_over_lambda0": eta / eta_pred, "initial_loss": L[0],
                      "max_loss": float(np.max(L)), "final_loss": L[-1] if not div else math.inf,
                      "diverged": diverges(eta), f"rose_within_{n_short}": rises(eta),
                      "final_sharpness": prob.sharpness(th, tol=1e-6)[0] if not div else math.nan})
    eta_rise = _threshold(rises, grid, 1e-3)
    progress(len(grid) + 1, total)
    eta_div = _threshold(diverges, grid, 1e-3)
    progress(total, total)
    # catapult: the converging grid runs above 2/lambda0 (a loss spike above L0, then convergence)
    cat = [r for r in sweep if r["eta"] > 1.05 * eta_pred and not r["diverged"]]
    claims = [
        claim("smallest eta at which GD's loss rises above L(theta_0) within %d steps (bisection), vs derived "
              "2/lambda_max(theta_0) (tolerance 10%%)" % n_short, eta_rise, eta_pred,
              abs(eta_rise / eta_pred - 1) <= 0.10),
        claim("divergence (loss after %d steps >= L(theta_0) or non-finite): eta_div * lambda_0 lies in the "
              "catapult window (2, 4] (Lewkowycz et al. 2020)" % n_long, eta_div * lam0, [2.0, 4.0],
              2.0 < eta_div * lam0 <= 4.0),
        claim("catapult: converging runs with eta in (1.05 * 2/lambda_0, eta_div) whose loss first rose above "
              "L(theta_0)", sum(r["max_loss"] > r["initial_loss"] for r in cat), len(cat),
              len(cat) > 0 and all(r["max_loss"] > r["initial_loss"] for r in cat)),
        claim("catapult: max over those runs of lambda_max(end) / (2/eta), the derived critical sharpness",
              max((r["final_sharpness"] / critical_sharpness(r["eta"]) for r in cat), default=math.nan), 1.0,
              len(cat) > 0 and all(r["final_sharpness"] < critical_sharpness(r["eta"]) for r in cat)),
    ]
    fig = _stability_figure(sweep, runs, grid, eta_pred, eta_rise, eta_div, lam0, n_long)
    return fig, {"model": f"MLP [2, {width}, 1] tanh, LeCun-normal init (gain 1), two moons n=200, MSE",
                 "n_params": prob.n, "lambda_max_init": lam0, "lanczos_hvps": n_hvp,
                 "eta_predicted": eta_pred, "eta_rise": eta_rise, "eta_diverge": eta_div,
                 "steps_short": n_short, "steps_long": n_long,
                 "gradient_tensor_vs_numpy": prob.gradient_agreement(), "sweep": sweep, "claims": claims}


def _stability_figure(sweep, runs, grid, eta_pred, eta_rise, eta_div, lam0, n_long):
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    x = np.array([r["eta"] for r in sweep])
    fin = np.array([r["final_loss"] for r in sweep], dtype=float)
    mx = np.array([r["max_loss"] for r in sweep])
    ok = np.isfinite(fin)
    ax = axes[0]
    ax.semilogy(x[ok], fin[ok], "o-", label=f"loss after {n_long} steps")
    ax.semilogy(x, mx, "s--", ms=3, color="tab:orange", label="max loss along the run")
    if (~ok).any():
        ax.semilogy(x[~ok], mx[~ok], "x", color="tab:red", ms=9, label="blew up (stopped)")
    ax.axhline(sweep[0]["initial_loss"], color="gray", lw=0.8, label=r"$L(\theta_0)$")
    for v, style, lab in [(eta_pred, "k-", r"$2/\lambda_0$ (derived)"), (2 * eta_pred, "k:", r"$4/\lambda_0$"),
                          (eta_rise, "g--", "measured: loss rises"), (eta_div, "r--", "measured: diverges")]:
        if math.isfinite(v):
            ax.axvline(v, ls=style[1:], color=style[0], lw=1.2, label=lab)
    ax.set_xlabel(r"step size $\eta$")
    ax.set_title(rf"GD on an MLP: $\lambda_0 = {lam0:.4g}$; loss vs $\eta$", fontsize=9)
    ax.legend(fontsize=6.5)
    ax = axes[1]
    for ratio, color in [(0.9, "tab:blue"), (1.25, "tab:green"), (1.5, "tab:olive"), (2.25, "tab:red")]:
        eta = min(grid, key=lambda e: abs(e / eta_pred - ratio))
        L = runs[(eta, n_long)][0]
        ax.semilogy(L, color=color, label=rf"$\eta = {eta / eta_pred:.3g} \cdot 2/\lambda_0$")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("stable, catapult (spike, then converge), diverging", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[2]
    lam_end = np.array([r["final_sharpness"] for r in sweep])
    ax.plot(x, lam_end, "o", label=r"$\lambda_{max}$ after the run")
    xs = np.linspace(min(x), max(x), 200)
    ax.plot(xs, [critical_sharpness(e) for e in xs], "k-", lw=1, label=r"$2/\eta$ (derived critical sharpness)")
    ax.axhline(lam0, color="gray", ls=":", label=r"$\lambda_0$")
    ax.axvline(eta_pred, color="k", lw=0.8)
    ax.set_xlabel(r"step size $\eta$")
    ax.set_title("runs above $2/\\lambda_0$ end flatter than $2/\\eta$", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def edge_of_stability(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Full-batch GD and heavy ball (β = 0.5) on a tanh MLP [2, 32, 32, 3] with MSE on one-hot
    three-arm spirals (n = 300), the step chosen so the derived critical sharpness is 2 λ_max(θ₀):
    the sharpness rises (progressive sharpening), reaches the critical value and hovers there while
    the loss keeps falling, non-monotonically (Cohen et al., ICLR 2021)."""
    from numeric.autodiff import datasets, nn
    from numeric import optimizers
    from numeric.optimizers.momentum import heavy_ball

    X, labels = datasets.spirals(300, classes=3, noise=0.2, seed=seed)
    prob = _Problem(nn.MLP([2, 32, 32, 3], "tanh", seed=seed), X, np.eye(3)[labels])
    steps, every = (6000, 10) if full else (3000, 50)
    lam0, v0, _ = prob.sharpness(prob.theta0)
    beta = 0.5
    methods = {"GD": (0.0, lambda eta: optimizers.gd(lr=eta)),
               f"heavy ball (beta={beta:g})": (beta, lambda eta: heavy_ball(lr=eta, momentum=beta))}
    out, claims = {}, []
    for i, (name, (b, make)) in enumerate(methods.items()):
        eta = step_for_sharpness(2 * lam0, b)  # critical sharpness = 2 lambda_0
        crit = critical_sharpness(eta, b)
        ts, lams, vec = [], [], [v0]

        def sample(t, theta):
            lam, vec[0] = prob.tracked_sharpness(theta, vec[0])
            ts.append(t)
            lams.append(lam)
            progress(i * (steps // every + 1) + len(ts), len(methods) * (steps // every + 1))

        L, theta, div = _train(prob, make(eta), steps, every, sample)
        lams = np.array(lams)
        last = lams[len(lams) * 2 // 3:]
        converged = prob.sharpness(theta)[0]
        out[name] = {"eta": eta, "beta": b, "critical_sharpness": crit, "steps": ts, "sharpness": lams,
                     "loss": L, "diverged": div, "mean_last_third": float(np.mean(last)),
                     "loss_increases": int(np.sum(np.diff(L) > 0)), "final_sharpness_converged": converged}
        label = "2/eta" if b == 0 else "2(1+beta)/eta"
        claims += [
            claim(f"{name}: max sharpness over the run / ({label}) >= 0.9 (progressive sharpening from "
                  f"lambda_0 = {label} / 2)", float(np.max(lams) / crit), 1.0, not div and np.max(lams) >= 0.9 * crit),
            claim(f"{name}: mean sharpness over the last third of the run vs {label} (tolerance 10%)",
                  float(np.mean(last)), crit, not div and abs(np.mean(last) / crit - 1) <= 0.10),
            claim(f"{name}: final loss / initial loss", float(L[-1] / L[0]), "< 0.1", not div and L[-1] < 0.1 * L[0]),
            claim(f"{name}: tracked (warm-started 15-step Lanczos) sharpness at the last sample vs converged "
                  f"ARPACK (tolerance 1%)", float(lams[-1]), converged, abs(lams[-1] / converged - 1) <= 0.01)]
        if b == 0:
            claims.append(claim("GD: steps at which the loss increased (never, for GD below 2/eta on a "
                                "quadratic), yet it ends lower", out[name]["loss_increases"], "> 0",
                                out[name]["loss_increases"] > 0))
        else:
            ratio = float(np.mean(last)) * eta / 2
            claims.append(claim(f"{name}: the mean sharpness of the last third is at 2(1+beta)/eta, not GD's "
                                f"2/eta: its ratio to 2/eta (> 1.3)", ratio, 1 + b, ratio > 1.3))
    fig = _eos_figure(out)
    return fig, {"model": "MLP [2, 32, 32, 3] tanh, Xavier init, spirals n=300 (3 arms), MSE on one-hot targets",
                 "n_params": prob.n, "lambda_max_init": lam0, "gradient_tensor_vs_numpy": prob.gradient_agreement(),
                 "runs": {k: {kk: vv for kk, vv in v.items() if kk not in ("loss",)} for k, v in out.items()},
                 "claims": claims}


def _eos_figure(out):
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    colors = ["tab:blue", "tab:purple"]
    for ax, (name, r), color in zip(axes[:2], out.items(), colors):
        ax.plot(r["steps"], r["sharpness"], ".-", ms=3, color=color, label=r"$\lambda_{max}$ (Lanczos, exact HVPs)")
        if r["beta"] == 0:
            ax.axhline(r["critical_sharpness"], color="k", ls="--", label=r"$2/\eta$ (derived)")
        else:
            ax.axhline(r["critical_sharpness"], color="k", ls="--", label=r"$2(1+\beta)/\eta$ (derived)")
            ax.axhline(2 / r["eta"], color="gray", ls=":", label=r"$2/\eta$ (GD's threshold)")
        ax.set_xlabel("step")
        ax.set_ylabel("sharpness")
        ax.set_title(rf"{name}, $\eta = {r['eta']:.4g}$", fontsize=9)
        ax.legend(fontsize=7)
    for (name, r), color in zip(out.items(), colors):
        axes[2].semilogy(r["loss"], color=color, lw=0.8, label=name)
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("training loss (MSE)")
    axes[2].set_title("the loss keeps falling, non-monotonically", fontsize=9)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig
