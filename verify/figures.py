"""All plots, in one place.  Each figure function returns ``(figure, data)``: ``data`` is the
dict of arrays it draws, which ``ldyn notes --check`` hashes to tell whether a figure is
stale (pixels differ between Matplotlib versions and fonts; the plotted numbers do not).
"""
from __future__ import annotations

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gd_stability():
    """|1 − ηλ| against ηλ, with the monotone / oscillating / divergent regimes shaded."""
    import sympy as sp

    from derive import gradient_descent as gdd

    factor = sp.lambdify(sp.Symbol("x"), gdd.quadratic_stability().results["factor"].subs(gdd.eta * gdd.lam, sp.Symbol("x")))
    x = np.linspace(0.0, 2.6, 521)
    r = np.asarray(factor(x), dtype=float) * np.ones_like(x)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for lo, hi, color, label in [(0, 1, "tab:green", "monotone"), (1, 2, "tab:orange", "oscillating"),
                                 (2, 2.6, "tab:red", "divergent")]:
        ax.axvspan(lo, hi, color=color, alpha=0.15, label=label)
    ax.plot(x, np.abs(r), color="black", lw=2, label=r"$|1-\eta\lambda|$")
    ax.axhline(1.0, color="gray", ls="--", lw=1)
    ax.set_xlabel(r"$\eta\lambda$")
    ax.set_ylabel("contraction factor per step")
    ax.set_title("Gradient descent along one Hessian eigen-direction")
    ax.set_xlim(0, 2.6)
    ax.set_ylim(0, 1.7)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig, {"x": x, "factor": r}


def gd_vs_flows(eta: float = 0.08, steps: int = 25):
    """GD vs gradient flow vs the order-2 modified flow on an ill-conditioned 2-D quadratic."""
    import sympy as sp

    from derive import losses
    from derive.modified_equation import eta as eta_sym
    from derive.modified_equation import modified_fields
    from numeric import flow, optimizers, problems

    spectrum = [1.0, 10.0]
    prob = problems.quadratic(spectrum)
    expr, params = losses.quadratic_2d(spectrum)
    fields = modified_fields(expr, params, 2)
    vf = sp.lambdify((eta_sym, *params), [sum(f[i] * eta_sym**n for n, f in enumerate(fields)) for i in range(2)])
    theta0 = np.array([-1.6, 1.1])
    gd = optimizers.run(optimizers.gd(lr=eta), prob.grad, theta0, steps)
    t = np.linspace(0.0, eta * steps, 400)
    _, gf = flow.gradient_flow(prob.grad, theta0, t[-1], t_eval=t)
    _, mf = flow.integrate_flow(lambda th: np.array(vf(eta, *th), dtype=float), theta0, t[-1], t_eval=t)
    g1, g2 = np.meshgrid(np.linspace(-2, 2, 121), np.linspace(-1.5, 1.5, 91))
    z = np.vectorize(lambda a, b: prob.loss(np.array([a, b])))(g1, g2)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.contour(g1, g2, z, levels=np.geomspace(0.01, 12, 14), colors="lightgray", linewidths=0.8)
    ax.plot(gf[:, 0], gf[:, 1], color="tab:blue", lw=2, label=r"gradient flow $\dot\theta=-\nabla L$")
    ax.plot(mf[:, 0], mf[:, 1], color="tab:green", lw=2, ls="--", label=r"modified flow to $O(\eta^2)$")
    ax.plot(gd[:, 0], gd[:, 1], "o", color="tab:red", ms=4, label=rf"GD, $\eta={eta:g}$")
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_title(r"GD vs gradient flow vs modified flow, $\lambda \in \{1, 10\}$")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig, {"gd": gd, "gradient_flow": gf, "modified_flow": mf, "contours": z}


# -- momentum ------------------------------------------------------------------------
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

        from derive import momentum as m

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

    from . import momentum_maps as mm

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

    from . import momentum_maps as mm

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
        ax.contour(xx, bb, rho, levels=[1.0], colors="black", linewidths=1.6)
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
    from numeric import momentum, optimizers, problems

    from . import momentum_maps as mm

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

    from derive import momentum_tuning as mt
    from numeric import momentum, optimizers, problems

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


#: name -> (function, caption, derivation it illustrates)
from .figures_adaptive import adaptive_trajectories, effective_step_sizes  # noqa: E402 (they import _plt lazily)

FIGURES = {
    "gd-stability": (gd_stability, "Contraction factor of GD per eigen-direction, regimes shaded",
                     "gd-quadratic-stability"),
    "gd-vs-flows": (gd_vs_flows, "GD follows the modified flow much more closely than gradient flow",
                    "gd-modified-equation"),
    "momentum-stability-region": (momentum_stability_region, "Damping regimes of heavy ball and Nesterov over "
                                  "(eta lambda, beta), with the stability boundary and critical damping",
                                  "heavy-ball"),
    "momentum-spectral-radius": (momentum_spectral_radius, "Spectral radius of heavy ball and Nesterov over "
                                 "(eta lambda, beta); the contour rho = 1 is the stability boundary", "heavy-ball"),
    "momentum-regime-trajectories": (momentum_regime_trajectories, "Heavy ball on a 1-D quadratic in each "
                                     "damping regime, as predicted by the roots", "heavy-ball"),
    "momentum-vs-gd": (momentum_vs_gd, "Tuned heavy ball and Nesterov vs GD on a kappa = 100 quadratic: "
                       "errors and predicted rates rho^t", "momentum-tuning"),
    "adaptive-trajectories": (adaptive_trajectories, "RMSProp, Adam and their conventions vs GD and heavy ball on a "
                              "kappa = 100 quadratic and on Rosenbrock", "adam"),
    "adaptive-effective-steps": (effective_step_sizes, "Effective per-coordinate step sizes lr/(sqrt(v-hat) + eps) "
                                 "over time: Adam, both AMSGrad conventions, RMSProp", "amsgrad-max"),
}


def digest(data: dict) -> str:
    """A SHA-256 of the plotted numbers: floats rounded to 6 decimals, integer arrays (category
    codes, e.g. a regime map) exactly and fast, as little-endian int64 bytes."""
    import hashlib

    h = hashlib.sha256()
    for key in sorted(data):
        a = np.asarray(data[key])
        h.update(key.encode())
        h.update(str(a.shape).encode())
        if a.dtype.kind in "biu":
            h.update(a.astype("<i8").tobytes())
            continue
        a = a.astype(float)
        h.update(np.array2string(a.ravel(), precision=6, floatmode="fixed", suppress_small=True, threshold=10**9,
                                 separator=",").encode())
    return h.hexdigest()


def render(name: str, path=None) -> str:
    """Draw figure ``name`` (to ``path`` as PNG if given) and return its data digest."""
    func = FIGURES[name][0]
    fig, data = func()
    if path is not None:
        fig.savefig(path, dpi=110, metadata={"Software": None})
    _plt().close(fig)
    return digest(data)
