"""The loss landscape of a small network, sliced along its top Hessian eigenvectors and along a
random filter-normalized direction, with the trajectories of GD and Adam overlaid."""
from __future__ import annotations

import numpy as np

from verify.experiments import claim


def loss_landscape(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Train an MLP on two moons with GD and with Adam, slice the loss around the GD solution along
    the top-2 Hessian eigenvectors (Lanczos on exact HVPs), and check the slice against the spectrum."""
    from numeric.optimizers import adaptive
    from numeric.autodiff import datasets, landscape, nn
    from numeric import optimizers

    from verify.figures.backend import _plt

    X, y = datasets.two_moons(200, 0.15, seed)
    model = nn.MLP([2, 16, 16, 2], activation="tanh", seed=seed)
    f, grad, hvp = nn.loss_fn(model, X, y, loss="ce")
    w0 = nn.flatten(model.parameters())
    steps = 600 if full else 300
    progress(0, 4)
    gd = optimizers.run(optimizers.gd(lr=0.5), grad, w0, steps)
    progress(1, 4)
    adam = optimizers.run(adaptive.adam(lr=0.02), grad, w0, steps)
    progress(2, 4)
    center = gd[-1]
    eig = landscape.top_eigen_directions(lambda v: hvp(center, v), w0.size, seed=seed)
    lam1, lam2 = (float(x) for x in eig.eigenvalues[:2])
    claims = []
    # curvature of the 1-D slice along the top eigenvector: second difference at 0 vs lambda_1
    a = 1e-3
    s = landscape.slice_1d(f, center, eig.d1, [-a, 0.0, a])
    curv = float((s[0] - 2 * s[1] + s[2]) / a**2)
    claims.append(claim("curvature of the slice along the top eigenvector (second difference) vs lambda_1 "
                        "from Lanczos", curv, lam1, abs(curv / lam1 - 1) < 1e-3))
    rd = landscape.random_direction([p.shape for p in model.parameters()], seed=seed, filter_normalize=True,
                                    like=[p.numpy() for p in model.parameters()])
    sr = landscape.slice_1d(f, center, rd, [-a, 0.0, a])
    curv_r = float((sr[0] - 2 * sr[1] + sr[2]) / a**2 / (rd @ rd))
    claims.append(claim("curvature along a random filter-normalized direction (per unit length) is below "
                        "lambda_1 (Rayleigh quotient)", curv_r, lam1, curv_r <= lam1 * (1 + 1e-6)))
    claims.append(claim("GD at lr 0.5 and Adam at lr 0.02 both reduce the loss (final / initial)",
                        [f(gd[-1]) / f(w0), f(adam[-1]) / f(w0)], "< 0.5",
                        f(gd[-1]) < 0.5 * f(w0) and f(adam[-1]) < 0.5 * f(w0)))
    span = 1.0
    alphas = np.linspace(-span, span, 41 if full else 25)
    grid = landscape.slice_2d(f, center, eig.d1, eig.d2, alphas, alphas)
    progress(3, 4)
    paths = {name: landscape.project_trajectory(traj, center, eig.d1, eig.d2) for name, traj in
             (("GD", gd), ("Adam", adam))}
    progress(4, 4)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.6))
    cs = axes[0].contourf(alphas, alphas, np.log10(grid.T), levels=30, cmap="viridis")
    fig.colorbar(cs, ax=axes[0], label="log10 loss")
    for name, color in (("GD", "white"), ("Adam", "tab:red")):
        p = paths[name]
        inside = np.all(np.abs(p) <= span, axis=1)
        axes[0].plot(p[inside, 0], p[inside, 1], ".-", ms=2, lw=0.8, color=color, label=f"{name} (projected)")
    axes[0].set_xlabel(rf"top eigenvector ($\lambda_1 = {lam1:.3g}$)")
    axes[0].set_ylabel(rf"second eigenvector ($\lambda_2 = {lam2:.3g}$)")
    axes[0].set_title("loss around the GD solution, top-2 Hessian directions", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[1].plot(alphas, landscape.slice_1d(f, center, eig.d1, alphas), label="top eigenvector")
    axes[1].plot(alphas, landscape.slice_1d(f, center, rd / np.linalg.norm(rd), alphas),
                 label="random filter-normalized (unit length)")
    axes[1].plot(alphas, f(center) + 0.5 * lam1 * alphas**2, "k--", lw=1, label=r"$L + \lambda_1\alpha^2/2$")
    axes[1].set_ylim(0, max(1.0, float(np.max(grid)) * 0.5))
    axes[1].set_xlabel(r"$\alpha$")
    axes[1].set_ylabel("loss")
    axes[1].set_title("1-D slices", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig, {"lambda_top2": [lam1, lam2], "n_params": int(w0.size), "claims": claims,
                 "final_loss": {"GD": f(gd[-1]), "Adam": f(adam[-1])}}
