"""Figures of gradient descent: the contraction factor and its regimes, GD against the gradient and
modified flows."""
from __future__ import annotations

import numpy as np

from verify.figures.backend import _contour, _plt


def gd_stability():
    """|1 − ηλ| against ηλ, with the monotone / oscillating / divergent regimes shaded."""
    import sympy as sp

    from derive.rules import gradient_descent as gdd

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
    from derive.analysis.modified_equation import eta as eta_sym
    from derive.analysis.modified_equation import modified_fields
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
    _contour(ax, g1, g2, z, levels=np.geomspace(0.01, 12, 14), colors="lightgray", linewidths=0.8)
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
