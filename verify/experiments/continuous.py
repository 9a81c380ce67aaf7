"""Experiments of the continuous-time view (``ldyn experiment``): integrators of gradient flow,
Lyapunov functions along trajectories, rate networks.  Each returns ``(figure, summary)`` with
the claims it makes as numbers (see :mod:`verify.experiments`)."""
from __future__ import annotations

import math

import numpy as np

from verify.experiments import claim
from verify.finite_differences import central_jacobian

METHODS = ("euler", "heun", "rk4", "implicit-euler")
COLORS = {"euler": "tab:blue", "heun": "tab:orange", "rk4": "tab:green", "implicit-euler": "tab:purple",
          "RK45": "tab:red", "Radau": "tab:brown", "BDF": "tab:pink"}


def _plt():
    from verify.figures.backend import _plt as plt

    return plt()


def stability_bounds() -> dict[str, float]:
    """The derived largest stable hλ of each method on θ' = −λθ (∞ for implicit Euler)."""
    from derive.rules import integrators as di

    d = di.stability_regions()
    return {"euler": 2.0, "heun": 2.0, "rk4": -float(d.results["rk4_real_limit"]), "implicit-euler": math.inf}


def integrator_stability(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """|R(z)| ≤ 1 regions in the complex plane (from the derivation), GD's marked, and the
    largest stable step measured by bisection on real runs vs the derived bound."""
    import sympy as sp

    from derive.rules import integrators as di
    from numeric import integrators

    del seed  # deterministic
    bounds = stability_bounds()
    claims, measured = [], {}
    explicit = [m for m in METHODS if m != "implicit-euler"]
    for i, (m, lam) in enumerate((m, lam) for m in explicit for lam in (1.0, 40.0)):
        progress(i, 2 * len(explicit) + 1)
        h = integrators.largest_stable_step(m, lam)
        measured[f"{m}/lambda={lam:g}"] = h * lam
        claims.append(claim(f"{m}: largest stable h*lambda at lambda = {lam:g} (bisection on 2000-step runs)",
                            h * lam, bounds[m], abs(h * lam / bounds[m] - 1) < 1e-4))
    # implicit Euler has no limit: run it far beyond every explicit bound and compare with R(z)^N
    lam, h, n = 40.0, 25.0, 100  # h * lambda = 1000
    y = integrators.implicit_euler(lambda v: -lam * v, [1.0], h, n, jac=lambda v: np.array([[-lam]])).y[-1, 0]
    r = complex(di.STABILITY["implicit-euler"].subs(di.z, -h * lam)).real ** n
    measured["implicit-euler/h*lambda=1000"] = y
    claims.append(claim("implicit-euler at h*lambda = 1000: y_100 decays and equals the derived R(-1000)^100",
                        y, r, abs(y) < 1 and abs(y / r - 1) < 1e-10))
    progress(2 * len(explicit) + 1, 2 * len(explicit) + 1)
    n = 601 if full else 301
    a, b = np.meshgrid(np.linspace(-4.5, 2.5, n), np.linspace(-3.5, 3.5, n))
    zz = a + 1j * b
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.6, 5.6))
    for m in METHODS:
        r = sp.lambdify(di.z, di.STABILITY[m], "numpy")
        mag = np.abs(r(zz))
        ax.contour(a, b, mag, levels=[1.0], colors=COLORS[m], linewidths=2.2 if m == "euler" else 1.4)
        ax.plot([], [], color=COLORS[m], label=f"{m} (real limit {bounds[m]:.4g})")
        if m == "euler":
            ax.contourf(a, b, mag, levels=[0, 1.0], colors=[COLORS[m]], alpha=0.15)
    ax.axhline(0, color="gray", lw=0.6)
    ax.axvline(0, color="gray", lw=0.6)
    ax.set_aspect("equal")
    ax.set_xlabel(r"Re $z$ ($z = -h\lambda$ for a real eigenvalue)")
    ax.set_ylabel(r"Im $z$")
    ax.set_title(r"$|R(z)| = 1$: GD (explicit Euler, shaded), Heun, RK4; implicit Euler stable outside its circle",
                 fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig, {"derived_real_limits": bounds, "measured_h_lambda": measured, "claims": claims}


def _slope(rows: list[dict]) -> float:
    """Least-squares slope of log(error) against log(h) over the finite, non-saturated rows."""
    pts = [(math.log(r["setting"]), math.log(r["error"])) for r in rows if 1e-15 < r["error"] < 1e-1]
    if len(pts) < 2:
        return math.nan
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def error_vs_work(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Error against f-evaluations on θ' = −Hθ with eigenvalues 1..10³ (stiff): fixed-step methods
    blow up above their stability bound, then converge at their order; Radau/BDF win on work."""
    from numeric import integrators

    del seed
    lam = np.logspace(0, 3, 8)
    f, jac, exact = integrators.ill_conditioned_quadratic_flow(lam)
    y0, t_end = np.ones(lam.size), 2.0
    ref = exact(t_end, y0)
    steps = (250, 500, 1000, 2000, 4000, 8000) + ((16000,) if full else ())
    tols = (1e-3, 1e-5, 1e-7) + ((1e-9,) if full else ())
    rows = []
    methods = (*METHODS, "RK45", "Radau", "BDF")
    for i, m in enumerate(methods):
        progress(i, len(methods))
        with np.errstate(over="ignore", invalid="ignore"):  # the runs above their stability bound overflow
            rows += integrators.error_vs_work(f, y0, t_end, ref, fixed_steps=steps, tolerances=tols, methods=(m,),
                                              jac=jac)
    progress(len(methods), len(methods))
    bounds = stability_bounds()
    claims = []
    for m in METHODS:
        mine = [r for r in rows if r["method"] == m]
        if m == "implicit-euler":  # no bound: it must converge even where every explicit method blew up
            big = [r for r in mine if r["setting"] * lam.max() > 2.0]
            claims.append(claim("implicit-euler: runs with h*lambda_max > 2 that stay accurate (error < 1e-2)",
                                sum(r["error"] < 1e-2 for r in big), len(big),
                                bool(big) and all(r["error"] < 1e-2 for r in big)))
        else:
            unstable = [r for r in mine if r["setting"] * lam.max() > bounds[m] * 1.001]
            claims.append(claim(f"{m}: every run with h*lambda_max above the derived bound blows up",
                                sum(math.isinf(r["error"]) or r["error"] > 1 for r in unstable), len(unstable),
                                bool(unstable) and all(math.isinf(r["error"]) or r["error"] > 1 for r in unstable)))
        stable = [r for r in mine if r["setting"] * lam.max() < bounds[m] * 0.999]
        order = {"euler": 1, "heun": 2, "rk4": 4, "implicit-euler": 1}[m]
        s = _slope(stable)
        claims.append(claim(f"{m}: measured order (slope of log error vs log h) on stable steps", s, order,
                            abs(s - order) < 0.3))
    work = {m: min((r["nfev"] for r in rows if r["method"] == m and r["setting"] == min(tols)), default=0)
            for m in ("RK45", "Radau", "BDF")}
    claims.append(claim(f"stiff solvers need fewer f-evaluations than RK45 at rtol = {min(tols):g}",
                        [work["Radau"], work["BDF"]], work["RK45"], max(work["Radau"], work["BDF"]) < work["RK45"]))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.6, 4.6))
    for m in methods:
        mine = [r for r in rows if r["method"] == m and math.isfinite(r["error"]) and r["error"] < 10]
        ax.loglog([r["nfev"] for r in mine], [max(r["error"], 1e-17) for r in mine], "o-", color=COLORS[m],
                  label=m, ms=3)
    ax.set_xlabel("f evaluations (including finite-difference Jacobian columns)")
    ax.set_ylabel(r"$\|\theta(t_{end}) - \theta_{exact}\|$")
    ax.set_title(r"Gradient flow, eigenvalues $10^0..10^3$, $t_{end} = 2$ (blown-up runs omitted)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, {"eigenvalues": lam, "rows": rows, "claims": claims}


def lyapunov(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """The loss along gradient flow (Rosenbrock), GD steps against the descent-lemma bound on a
    quadratic, and the heavy-ball ODE's energy: each never increases where the theory says."""
    from scipy.integrate import solve_ivp

    from numeric import flow, optimizers, problems

    rng = np.random.default_rng(seed)
    claims = []
    ros = problems.rosenbrock()
    th0 = np.array([-1.2, 1.0]) + 0.1 * rng.normal(size=2)
    t_eval = np.linspace(0, 20.0, 4001 if full else 2001)
    sol = flow.gradient_flow(ros.grad, th0, 20.0, t_eval=t_eval)
    ts, ys = sol
    loss_flow = np.array([ros.loss(y) for y in ys])
    rise = float(np.max(np.diff(loss_flow)))
    claims.append(claim("gradient flow on Rosenbrock: largest increase of L between samples (<= 1e-9 L0)",
                        rise, 0.0, rise <= 1e-9 * loss_flow[0]))
    progress(1, 3)
    quad = problems.quadratic([0.5, 4.0, 10.0], seed=seed)
    ell = 10.0
    p0 = rng.normal(size=3)
    gd_curves, slack = {}, {}
    for frac in (0.5, 1.0, 1.9, 2.1):
        eta = frac / ell
        traj = optimizers.run(optimizers.gd(lr=eta), quad.grad, p0, 60)
        losses = np.array([quad.loss(p) for p in traj])
        grads = np.array([quad.grad(p) for p in traj[:-1]])
        bound = eta * (1 - ell * eta / 2) * np.sum(grads**2, axis=1)  # the descent lemma's guaranteed decrease
        gd_curves[frac] = losses
        slack[frac] = float(np.min((losses[:-1] - losses[1:]) - bound))
    for frac in (0.5, 1.0, 1.9):
        claims.append(claim(f"GD at eta = {frac}/ell: min over steps of (decrease - descent-lemma bound) >= 0",
                            slack[frac], 0.0, slack[frac] >= -1e-12 * gd_curves[frac][0]))
    claims.append(claim("GD at eta = 2.1/ell (above 2/ell): the loss grows", float(gd_curves[2.1][-1]),
                        float(gd_curves[2.1][0]), gd_curves[2.1][-1] > gd_curves[2.1][0]))
    progress(2, 3)
    gam = 0.5

    def rhs(t, s):
        th, v = s[:2], s[2:]
        return np.concatenate([v, -gam * v - ros.grad(th)])

    hb = solve_ivp(rhs, (0, 30.0), np.concatenate([th0, [0.0, 0.0]]), t_eval=np.linspace(0, 30.0, 3001),
                   rtol=1e-10, atol=1e-12, method="DOP853")
    energy = np.array([0.5 * s[2:] @ s[2:] + ros.loss(s[:2]) for s in hb.y.T])
    erise = float(np.max(np.diff(energy)))
    claims.append(claim("heavy-ball ODE (gamma = 0.5) on Rosenbrock: largest increase of E = |v|^2/2 + L "
                        "(<= 1e-7 E0)", erise, 0.0, erise <= 1e-7 * energy[0]))
    progress(3, 3)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].semilogy(ts, loss_flow)
    axes[0].set_title("gradient flow on Rosenbrock: L(theta(t))", fontsize=9)
    axes[0].set_xlabel("t")
    for frac, losses in gd_curves.items():
        axes[1].semilogy(losses, label=rf"$\eta = {frac}/\ell$")
    axes[1].set_title(r"GD on a quadratic, $\ell = \lambda_{max} = 10$", fontsize=9)
    axes[1].set_xlabel("step")
    axes[1].legend(fontsize=7)
    axes[2].semilogy(hb.t, energy)
    axes[2].set_title(r"heavy-ball ODE: $E = \frac{1}{2}|\dot\theta|^2 + L(\theta)$", fontsize=9)
    axes[2].set_xlabel("t")
    fig.tight_layout()
    return fig, {"claims": claims, "gd_descent_slack": slack}


#: a 2-unit tanh network with self-excitation and cross-inhibition: several fixed points
RATE_W = np.array([[2.0, -0.6], [-0.8, 1.8]])
RATE_I = np.array([0.15, -0.1])


def rate_network(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Phase portrait of τx' = −x + W tanh(x) + I with nullclines and fixed points; simulated
    trajectories settle on the stable ones; Jacobian eigenvalues vs finite differences; a
    population code read out linearly decodes better with more units."""
    from numeric.models import rate_network as rn

    rng = np.random.default_rng(seed)
    net = rn.RateNetwork(RATE_W, RATE_I, tau=1.0)
    fps = net.fixed_points(n_starts=64, seed=seed)
    stab = [net.stability(x) for x in fps]
    claims = []
    n_stable = sum(s["stable"] for s in stab)
    claims.append(claim("fixed points found (all with |F(x*)| <= 1e-10), of which stable", [len(fps), n_stable],
                        "several, at least 2 stable (bistable)", len(fps) >= 3 and n_stable >= 2))
    fd_err = max(float(np.max(np.abs(np.sort_complex(np.linalg.eigvals(central_jacobian(net.vector_field, x, h=1e-6, richardson=False).value))
                                      - np.sort_complex(s["eigenvalues"])))) for x, s in zip(fps, stab))
    claims.append(claim("Jacobian eigenvalues at the fixed points: analytic vs central finite differences",
                        fd_err, 0.0, fd_err < 1e-7))
    starts = rng.uniform(-3, 3, size=(24 if full else 12, 2))
    ends, trajs = [], []
    for i, x0 in enumerate(starts):
        progress(i, len(starts))
        t, X = net.simulate(x0, 40.0, n_eval=400)
        trajs.append(X)
        ends.append(X[-1])
    progress(len(starts), len(starts))
    stable_fps = fps[[s["stable"] for s in stab]]
    dist = [float(np.min(np.linalg.norm(stable_fps - e, axis=1))) for e in ends]
    claims.append(claim("every simulated trajectory ends on a stable fixed point (max distance at t = 40)",
                        max(dist), 0.0, max(dist) < 1e-6))
    # the grid contains the fixed points' coordinates, so each nullcline is sampled through them
    grid = np.unique(np.concatenate([np.linspace(-3.2, 3.2, 321), fps.ravel()]))
    nc1, nc2 = net.nullclines(grid)
    on_nc = max(max(float(np.min(np.linalg.norm(nc - x, axis=1))) for nc in (nc1, nc2)) for x in fps)
    claims.append(claim("fixed points lie on both nullclines (max distance to the sampled curves)", on_nc,
                        0.0, on_nc < 1e-8))
    units = (4, 8, 16, 32, 64)
    errs = [rn.decode_error(n, width=0.08, noise=0.05, seed=seed) for n in units]
    claims.append(claim("population code: linear decoding error falls as units are added", errs,
                        "decreasing", all(b < a for a, b in zip(errs, errs[1:]))))
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.8), gridspec_kw={"width_ratios": [1.3, 1]})
    ax = axes[0]
    a, b = np.meshgrid(np.linspace(-3.2, 3.2, 25), np.linspace(-3.2, 3.2, 25))
    vf = np.array([net.vector_field(np.array([p, q])) for p, q in zip(a.ravel(), b.ravel())])
    ax.streamplot(a, b, vf[:, 0].reshape(a.shape), vf[:, 1].reshape(a.shape), color="lightgray", density=1.1)
    ax.plot(nc1[:, 0], nc1[:, 1], ".", ms=1.5, color="tab:blue", label=r"$\dot x_1 = 0$")
    ax.plot(nc2[:, 0], nc2[:, 1], ".", ms=1.5, color="tab:orange", label=r"$\dot x_2 = 0$")
    for X in trajs:
        ax.plot(X[:, 0], X[:, 1], color="tab:green", lw=0.8, alpha=0.7)
    for x, s in zip(fps, stab):
        ax.plot(*x, "o", ms=8, mfc="black" if s["stable"] else "white", mec="black")
    ax.set_xlim(-3.2, 3.2)
    ax.set_ylim(-3.2, 3.2)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(r"$\dot x = -x + W\tanh(x) + I$: filled = stable, open = unstable", fontsize=9)
    ax.legend(fontsize=7, loc="lower left", markerscale=6)
    axes[1].loglog(units, errs, "o-")
    axes[1].set_xlabel("units in the population")
    axes[1].set_ylabel("RMS decoding error (held out)")
    axes[1].set_title("linear readout of a Gaussian population code (noise 0.05)", fontsize=9)
    fig.tight_layout()
    return fig, {"fixed_points": fps, "eigenvalues": [[complex(e).real for e in s["eigenvalues"]] for s in stab],
                 "stable": [s["stable"] for s in stab], "decode_error": dict(zip(map(str, units), errs)),
                 "claims": claims}


def two_timescale(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """W learns slowly (rate ε) while x relaxes fast (τ = 1): the loss ½‖target − tanh(x)‖² falls,
    and the joint flow tracks the quasi-static slow flow with an error that shrinks like ε."""
    from numeric.models import rate_network as rn

    rng = np.random.default_rng(seed)
    n = 3
    W0 = 0.3 * rng.normal(size=(n, n))
    net = rn.RateNetwork(W0, 0.2 * rng.normal(size=n), tau=1.0)
    target = np.array([0.5, -0.3, 0.2])
    claims, curves, gaps = [], {}, {}
    epsilons = (0.05, 0.025) + ((0.0125,) if full else ())
    horizon = 100.0  # in units of eps * t: the same amount of learning for every eps
    for i, eps in enumerate(epsilons):
        progress(i, len(epsilons))
        t, X, Ws, loss = rn.two_timescale_learning(net, target, eps, horizon / eps, n_eval=201)
        tq, Xq, Wq, lq = rn.quasi_static_learning(net, target, eps, horizon / eps, n_eval=201)
        curves[eps] = (eps * t, loss, lq)
        gaps[eps] = float(np.max(np.abs(Ws - Wq)))
    progress(len(epsilons), len(epsilons))
    claims.append(claim("learning drives the loss down (final / initial loss, smallest eps)",
                        float(curves[epsilons[-1]][1][-1] / curves[epsilons[-1]][1][0]), "< 1e-3",
                        curves[epsilons[-1]][1][-1] < 1e-3 * curves[epsilons[-1]][1][0]))
    ratio = gaps[epsilons[0]] / gaps[epsilons[1]]
    claims.append(claim("max |W(t) - W_quasi-static(t)| halves when eps halves (Tikhonov: O(eps tau))", ratio,
                        2.0, 1.6 < ratio < 2.5))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.6, 4.2))
    for eps in epsilons:
        s, loss, lq = curves[eps]
        ax.semilogy(s, loss, label=rf"joint fast/slow, $\epsilon = {eps}$")
        ax.semilogy(s, lq, "--", label=rf"quasi-static, $\epsilon = {eps}$")
    ax.set_xlabel(r"slow time $\epsilon t$")
    ax.set_ylabel(r"$\frac{1}{2}\|target - \tanh(x)\|^2$")
    ax.set_title("Learning W on the slow time scale of a rate network", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, {"epsilons": list(epsilons), "max_W_gap": {str(k): v for k, v in gaps.items()}, "claims": claims}
