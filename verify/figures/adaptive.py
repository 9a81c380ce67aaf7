"""Figures of the adaptive methods (registered in :data:`verify.figures.FIGURES`): trajectories of
the variants on an ill-conditioned quadratic and on Rosenbrock, and their effective
per-coordinate step sizes over time.  Hand-written optimizers only (numeric.optimizers.adaptive)."""
from __future__ import annotations

import numpy as np

from numeric.optimizers import adaptive, momentum
from numeric import optimizers

#: label -> factory of a hand-written optimizer, given the learning rate chosen per problem
VARIANTS = {
    "GD": lambda lr: optimizers.gd(lr=lr),
    "heavy ball (0.9)": lambda lr: momentum.heavy_ball(lr=lr, momentum=0.9),
    "RMSProp": lambda lr: adaptive.rmsprop(lr=lr, alpha=0.9),
    "Adam": lambda lr: adaptive.adam(lr=lr),
    "Adam, eps inside": lambda lr: adaptive.adam(lr=lr, eps=1e-3, eps_mode="inside"),
    "Adam, eps outside": lambda lr: adaptive.adam(lr=lr, eps=1e-3),
    "AMSGrad": lambda lr: adaptive.adam(lr=lr, amsgrad=True),
    "AdamW (wd 0.1)": lambda lr: adaptive.adamw(lr=lr, weight_decay=0.1),
}


def _trajectories(problem, theta0, steps, lrs):
    return {label: optimizers.run(VARIANTS[label](lrs.get(label, lrs["default"])), problem.grad, theta0, steps)
            for label in VARIANTS}


def adaptive_trajectories(steps: int = 300):
    """Variants on a κ = 100 rotated quadratic and on Rosenbrock, over loss contours."""
    from numeric import problems

    from verify.figures.backend import _contour, _plt

    cases = [
        ("quadratic, eigenvalues 1 and 100", problems.quadratic([1.0, 100.0], rotation=np.pi / 8),
         np.array([-1.0, 0.8]), {"default": 0.02, "GD": 0.0195, "heavy ball (0.9)": 0.002}, (-1.2, 1.2, -1.0, 1.0)),
        ("Rosenbrock", problems.rosenbrock(), np.array([-1.2, 1.0]),
         {"default": 0.05, "GD": 1e-3, "heavy ball (0.9)": 1e-4}, (-1.6, 1.4, -0.6, 1.6)),
    ]
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    data = {}
    colors = plt.get_cmap("tab10")
    for ax, (title, prob, th0, lrs, box) in zip(axes, cases):
        xs, ys = np.meshgrid(np.linspace(box[0], box[1], 200), np.linspace(box[2], box[3], 200))
        zz = np.array([prob.loss(np.array([a, b])) for a, b in zip(xs.ravel(), ys.ravel())]).reshape(xs.shape)
        _contour(ax, xs, ys, np.log10(zz + 1e-12), levels=20, colors="lightgray", linewidths=0.6)
        for i, (label, traj) in enumerate(_trajectories(prob, th0, steps, lrs).items()):
            ax.plot(traj[:, 0], traj[:, 1], lw=1.2, color=colors(i), label=label)
            data[f"{title}/{label}"] = traj
        ax.plot(*prob.minimizer, "k*", ms=10)
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_title(f"{title}: {steps} steps")
        ax.set_xlabel(r"$\theta_1$")
        ax.set_ylabel(r"$\theta_2$")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig, data


def effective_step_sizes(steps: int = 400):
    """lr/(√v̂ + ε) per coordinate over time for Adam, AMSGrad (torch and optax max) and RMSProp
    on the κ = 100 quadratic, against GD's constant lr."""
    from numeric import problems

    from verify.figures.backend import _plt

    prob = problems.quadratic([1.0, 100.0], rotation=0.0)
    th0 = np.array([-1.0, 0.8])
    lr, eps = 0.02, 1e-8
    runs = {
        "Adam": adaptive.adam(lr=lr, eps=eps),
        "AMSGrad (torch: max of raw v)": adaptive.adam(lr=lr, eps=eps, amsgrad=True),
        "AMSGrad (optax: max of v-hat)": adaptive.adam(lr=lr, eps=eps, amsgrad=True, amsgrad_max="corrected"),
        "RMSProp (alpha 0.99)": adaptive.rmsprop(lr=lr, eps=eps),
    }
    data = {}
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), sharey=True)
    for label, opt in runs.items():
        p, s = th0.copy(), opt.init(th0)
        eff = np.empty((steps, 2))
        for k in range(steps):
            p, s = opt.step(p, prob.grad(p), s)
            if "square_avg" in s:  # RMSProp: no bias correction
                vhat = s["square_avg"]
            elif "optax" in label:  # the stored max is already corrected
                vhat = s["max_exp_avg_sq"]
            else:  # torch's AMSGrad corrects its raw max; plain Adam corrects v
                vhat = s.get("max_exp_avg_sq", s["exp_avg_sq"]) / (1 - 0.999 ** s["step"])
            eff[k] = lr / (np.sqrt(vhat) + eps)
        data[label] = eff
        for i, ax in enumerate(axes):
            ax.semilogy(np.arange(1, steps + 1), eff[:, i], lw=1.3, label=label)
    for i, (ax, lam) in enumerate(zip(axes, (1.0, 100.0))):
        ax.axhline(lr, color="black", ls="--", lw=1, label="GD: lr")
        ax.axhline(2 / lam, color="tab:red", ls=":", lw=1, label=r"GD's limit $2/\lambda$")
        ax.set_title(f"coordinate {i + 1} (curvature {lam:g})")
        ax.set_xlabel("step t")
    axes[0].set_ylabel(r"effective step $\eta/(\sqrt{\hat v_t}+\epsilon)$")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig, data
