"""Figures of momentum: damping regimes and spectral radius over (eta lambda, beta), trajectories in each
regime, tuned heavy ball and Nesterov against GD."""
from __future__ import annotations

import numpy as np

from verify.figures.backend import _contour, _plt

_REGIME_COLORS = {"overdamped": "#9ecae1", "critically damped": "black", "underdamped": "#a1d99b",
                  "sign-flipping": "#fdae6b", "unstable": "#e0e0e0"}
_LINE_COLORS = {"overdamped": "tab:blue", "critically damped": "black", "underdamped": "tab:green",
                "sign-flipping": "tab:orange"}
_METHOD_NAMES = {"heavy-ball": "Heavy ball", "nesterov": "Nesterov"}
_X_HI = 4.2  # x = ηλ axis of the (x, β) maps


def _xb_grid(nx: int, nb: int):
    """Cell centres of an nx × nb grid on [0, 4.2] × [0, 1) (never x = 0 or β = 1, where ρ = 1)."""
    return (np.arange(nx) + 0.5) * (_X_HI / nx), (np.arange(nb) + 0.5) / nb


_CURVES: dict = {}


def _momentum_curves(method: str):
    """(x_max(β), [x(β) on which Δ = 0]) as NumPy functions, from the derivation's results:
    the stability boundary x_max and the roots in x of the discriminant a₁² − 4a₀."""
    if method not in _CURVES:
        import sympy as sp

        from derive.rules import momentum as m

        d = m.heavy_ball_analysis() if method == "heavy-ball" else m.nesterov_analysis()
        crit = sorted(sp.solve(d.results["discriminant"], m.x), key=lambda e: float(e.subs(m.beta, sp.Rational(1, 2))))

        def f(e):
            g = sp.lambdify(m.beta, e, "numpy")
            return lambda b: np.asarray(g(b), dtype=float) * np.ones_like(b)

        _CURVES[method] = (f(d.results["x_max"]), [f(e) for e in crit])
    return _CURVES[method]


def momentum_stability_region(nx: int = 400, nb: int = 300):
    """Damping regime of heavy ball and Nesterov over (x = ηλ, β), with x_max(β) and critical damping."""
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from verify import momentum_maps as mm

    x, b = _xb_grid(nx, nb)
    xx, bb = np.meshgrid(x, b)
    beta = np.linspace(0.0, 1.0, 401)
    cmap = ListedColormap([_REGIME_COLORS[r] for r in mm.REGIMES])
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    data = {"x": x, "beta": b, "beta_curves": beta}
    for ax, method in zip(axes, mm.METHODS):
        reg = mm.regime(method, xx, bb)
        codes = np.full(xx.shape, -1, dtype=np.int8)  # index into mm.REGIMES
        for i, name in enumerate(mm.REGIMES):
            codes[reg == name] = i
        assert (codes >= 0).all(), "momentum_maps.regime returned an unknown regime"
        ax.imshow(codes, origin="lower", extent=(0, _X_HI, 0, 1), aspect="auto", cmap=cmap, vmin=-0.5,
                  vmax=len(mm.REGIMES) - 0.5, interpolation="nearest")
        x_max, crit = _momentum_curves(method)
        ax.plot(x_max(beta), beta, color="darkred", lw=2.2)
        for c in crit:
            ax.plot(c(beta), beta, color="black", lw=1.4, ls="--")
        data[f"regime_{method}"] = codes
        data[f"x_max_{method}"] = x_max(beta)
        data[f"x_critical_{method}"] = [c(beta) for c in crit]
        ax.set_xlim(0, _X_HI)
        ax.set_ylim(0, 1)
        ax.set_xlabel(r"$x = \eta\lambda$")
        ax.set_title(_METHOD_NAMES[method])
    axes[0].set_ylabel(r"momentum $\beta$")
    handles = [Patch(color=_REGIME_COLORS[r], label=r) for r in mm.REGIMES if r != "critically damped"]
    handles += [Line2D([], [], color="black", ls="--", lw=1.4, label=r"critically damped ($\Delta = 0$)"),
                Line2D([], [], color="darkred", lw=2.2, label=r"stability boundary $x_{\max}(\beta)$")]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.suptitle(r"Momentum on one eigen-direction: damping regime in the $(\eta\lambda, \beta)$ plane")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig, data


def momentum_spectral_radius(nx: int = 210, nb: int = 150):
    """Spectral radius max|z| of heavy ball and Nesterov over (x = ηλ, β), clipped at 1.2."""
    import matplotlib as mpl
    from matplotlib.lines import Line2D

    from verify import momentum_maps as mm

    x, b = _xb_grid(nx, nb)
    xx, bb = np.meshgrid(x, b)
    # viridis on [0, 1] (stable), reds on [1, 1.2] (unstable)
    cmap = mpl.colors.ListedColormap(np.vstack([mpl.colormaps["viridis"](np.linspace(0, 1, 250)),
                                                mpl.colormaps["Reds"](np.linspace(0.15, 0.45, 50))]))
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True, layout="constrained")
    data = {"x": x, "beta": b}
    for ax, method in zip(axes, mm.METHODS):
        rho = np.minimum(mm.spectral_radius(method, xx, bb), 1.2)
        im = ax.imshow(rho, origin="lower", extent=(0, _X_HI, 0, 1), aspect="auto", cmap=cmap, vmin=0, vmax=1.2,
                       interpolation="nearest")
        _contour(ax, xx, bb, rho, levels=[1.0], colors="black", linewidths=1.6)
        data[f"radius_{method}"] = rho
        ax.set_xlabel(r"$x = \eta\lambda$")
        ax.set_title(_METHOD_NAMES[method])
    axes[0].set_ylabel(r"momentum $\beta$")
    axes[1].legend(handles=[Line2D([], [], color="black", lw=1.6, label=r"$\rho = 1$")], loc="upper right", fontsize=8)
    fig.colorbar(im, ax=axes, label=r"spectral radius $\rho = \max|z|$ (clipped at 1.2)", ticks=np.arange(0, 1.3, 0.2))
    fig.suptitle(r"Spectral radius: the error shrinks like $\rho^t$ per eigen-direction")
    return fig, data


def momentum_regime_trajectories(steps: int = 40):
    """θ_t of heavy ball on L = θ²/2 (λ = 1), one (η, β) per damping regime."""
    from numeric.optimizers import momentum
    from numeric import optimizers, problems

    from verify import momentum_maps as mm

    cases = [("overdamped", 0.15, 0.2), ("critically damped", 0.25, 0.25), ("underdamped", 0.5, 0.8),
             ("sign-flipping", 1.9, 0.1)]
    prob = problems.quadratic([1.0])
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(9, 5.6), sharex=True, sharey=True)
    t = np.arange(steps + 1)
    data = {"t": t}
    for ax, (intended, eta, beta) in zip(axes.ravel(), cases):
        predicted = str(mm.regime("heavy-ball", eta * 1.0, beta))
        assert predicted == intended, f"eta={eta}, beta={beta}: predicted {predicted}, meant {intended}"
        rho = float(mm.spectral_radius("heavy-ball", eta * 1.0, beta))
        theta = optimizers.run(momentum.heavy_ball(eta, beta), prob.grad, [1.0], steps)[:, 0]
        ax.axhline(0.0, color="gray", lw=0.8)
        ax.plot(t, theta, "o-", color=_LINE_COLORS[intended], ms=3.5, lw=1.2)
        ax.set_title(rf"{predicted}: $\eta = {eta:g}$, $\beta = {beta:g}$, $\rho = {rho:.3f}$", fontsize=10)
        data[f"theta_{intended}"] = theta
    for ax in axes[1]:
        ax.set_xlabel("step $t$")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\theta_t$")
    fig.suptitle(r"Heavy ball on $L = \theta^2/2$ from $\theta_0 = 1$; titles: regime predicted by the roots")
    fig.tight_layout()
    return fig, data


def momentum_vs_gd(steps: int = 300):
    """‖θ_t − θ*‖ of GD, tuned heavy ball and Nesterov on a κ = 100 quadratic, with predicted rates."""
    import sympy as sp

    from derive.analysis import momentum_tuning as mt
    from numeric.optimizers import momentum
    from numeric import optimizers, problems

    res = mt.momentum_tuning().results
    val = {k: float(sp.lambdify((mt.mu, mt.Lmax), e)(1.0, 100.0)) for k, e in res.items()}
    prob = problems.quadratic(np.geomspace(1.0, 100.0, 8))
    theta0 = np.ones(8)
    runs = [("GD", optimizers.gd(2.0 / (1.0 + 100.0)), val["gd_rate"], "tab:gray",
             r"GD, $\eta = 2/(\mu+L)$"),
            ("heavy ball", momentum.heavy_ball(val["hb_eta"], val["hb_beta"]), val["hb_rate"], "tab:blue",
             "heavy ball, optimal (Polyak)"),
            ("Nesterov standard", momentum.nesterov(val["nesterov_standard_eta"], val["nesterov_standard_beta"]),
             val["nesterov_standard_rate"], "tab:orange", r"Nesterov, $\eta = 1/L$, standard $\beta$"),
            ("Nesterov best", momentum.nesterov(val["nesterov_eta"], val["nesterov_beta"]), val["nesterov_rate"],
             "tab:green", "Nesterov, best on quadratics (Lessard et al.)")]
    t = np.arange(steps + 1)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.4, 4.6))
    data = {"t": t}
    for name, opt, rate, color, label in runs:
        traj = optimizers.run(opt, prob.grad, theta0, steps)
        assert len(traj) == steps + 1, f"{name} diverged"
        err = np.linalg.norm(traj - prob.minimizer, axis=1)
        pred = np.linalg.norm(theta0) * rate**t
        ax.semilogy(t, err, color=color, lw=1.8, label=rf"{label}: $\rho = {rate:.4f}$")
        ax.semilogy(t, pred, color=color, lw=1, ls="--")
        data[f"error {name}"], data[f"predicted {name}"] = err, pred
    ax.plot([], [], color="black", lw=1, ls="--", label=r"predicted $\|\theta_0\|\,\rho^t$")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"$\|\theta_t - \theta^*\|$")
    ax.set_xlim(0, steps)
    ax.set_ylim(1e-28, 1e2)
    ax.set_title(r"Quadratic with spectrum in $[\mu, L] = [1, 100]$ ($\kappa = 100$, 8 eigenvalues)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig, data
