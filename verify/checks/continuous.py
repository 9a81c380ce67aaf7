"""Continuous time: derived Lyapunov functions, integrator stability and rate-network dynamics vs
numerical trajectories, real runs and finite differences."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from verify.checks import CheckResult, relative_error


def lyapunov() -> list[CheckResult]:
    """Derived Lyapunov decrease vs numerical trajectories: L along gradient flow, heavy ball's energy, GD's descent lemma."""
    from derive.analysis import lyapunov as dl
    from numeric import flow, optimizers, problems

    out = []
    ros = problems.rosenbrock()
    t, ys = flow.gradient_flow(ros.grad, np.array([-1.2, 1.0]), 10.0, t_eval=np.linspace(0, 10, 2001))
    loss = np.array([ros.loss(y) for y in ys])
    # the derived rate dL/dt = -|grad L|^2, against the finite-difference slope of the trajectory's loss
    slope = np.gradient(loss, t)
    rate = -np.array([ros.grad(y) @ ros.grad(y) for y in ys])
    mid = slice(5, -5)
    out.append(CheckResult("lyapunov/gradient-flow-rate", "derived dL/dt = -|grad L|^2 vs the finite-difference "
                           "slope of L along a solve_ivp trajectory (Rosenbrock)",
                           relative_error(slope[mid], rate[mid]), 2e-3, "central differences, dt = 0.005"))
    out.append(CheckResult("lyapunov/gradient-flow-monotone", "largest increase of L between samples of the flow, "
                           "relative to L(0) (theory: none)", max(float(np.max(np.diff(loss))) / loss[0], 0.0), 1e-9))
    # heavy ball's energy: the derived dE/dt = -gamma v^2 vs the finite-difference slope along a solve_ivp run
    from scipy.integrate import solve_ivp

    hb = dl.heavy_ball_energy()
    th = sp.Function("theta")(dl.t)
    rate_e = sp.lambdify((dl.gamma, sp.Symbol("v")), hb.results["dE_dt"].subs(sp.Derivative(th, dl.t), sp.Symbol("v")))
    gam = 0.7
    sol = solve_ivp(lambda _, s: np.concatenate([s[2:], -gam * s[2:] - ros.grad(s[:2])]), (0, 10.0),
                    np.array([-1.2, 1.0, 0.0, 0.0]), t_eval=np.linspace(0, 10, 10001), rtol=1e-11, atol=1e-13,
                    method="DOP853")
    energy = np.array([0.5 * s[2:] @ s[2:] + ros.loss(s[:2]) for s in sol.y.T])
    predicted = np.sum(rate_e(gam, sol.y[2:]), axis=0)  # -gamma |v|^2 at every sample
    out.append(CheckResult("lyapunov/heavy-ball-energy", "derived dE/dt = -gamma |v|^2 vs the finite-difference "
                           "slope of E along a solve_ivp run of the heavy-ball ODE (Rosenbrock)",
                           relative_error(np.gradient(energy, sol.t)[mid], predicted[mid]), 2e-3,
                           f"largest increase of E between samples {float(np.max(np.diff(energy))):.2g}"))
    d = dl.descent_lemma()
    ell_s, eta_s = dl.ell, dl.eta
    bound = sp.lambdify((eta_s, ell_s, sp.Symbol(r"\|g\|^2", nonnegative=True)), d.results["decrease"])
    quad = problems.quadratic([0.3, 2.0, 8.0], seed=4)
    ell = 8.0
    worst = -math.inf
    for frac in (0.25, 1.0, 1.5, 1.99):
        traj = optimizers.run(optimizers.gd(lr=frac / ell), quad.grad, np.array([1.0, -2.0, 0.5]), 80)
        for a, b in zip(traj[:-1], traj[1:]):
            g = quad.grad(a)
            worst = max(worst, bound(frac / ell, ell, g @ g) - (quad.loss(a) - quad.loss(b)))
    out.append(CheckResult("lyapunov/descent-lemma", "derived guaranteed decrease eta(1 - ell eta/2)|g|^2 minus the "
                           "measured decrease, worst step of GD at eta in {0.25, 1, 1.5, 1.99}/ell (must be <= 0)",
                           max(worst, 0.0), 1e-15, f"largest (bound - decrease) {worst:.3g}"))
    return out


def integrator_stability() -> list[CheckResult]:
    """Derived stability functions and real stability limits vs numeric.integrators on the test equation."""
    from derive.rules import integrators as di
    from numeric import integrators

    d = di.stability_regions()
    out = []
    lam, h, n = 3.0, 0.1, 25
    for m in ("euler", "heun", "rk4", "implicit-euler"):
        r = complex(di.STABILITY[m].subs(di.z, -h * lam))
        kw = {"jac": lambda y: np.array([[-lam]])} if m == "implicit-euler" else {}
        got = integrators.METHODS[m](lambda y: -lam * y, [1.0], h, n, **kw).y[-1, 0]
        out.append(CheckResult(f"integrator-stability/R/{m}", f"derived R(z)^{n} vs numeric {m} after {n} steps on "
                               "y' = -3y, h = 0.1 (relative error)", abs(got / r.real**n - 1), 1e-12))
    z = di.z
    limits = {"euler": -float(sp.solve(di.STABILITY["euler"] + 1, z)[0]),  # where R = -1
              "heun": -float(min(sp.solve(di.STABILITY["heun"] - 1, z))),  # where R = +1, the other root
              "rk4": -float(d.results["rk4_real_limit"])}
    for m, hl in limits.items():
        measured = integrators.largest_stable_step(m, 5.0) * 5.0
        out.append(CheckResult(f"integrator-stability/limit/{m}", "derived largest stable h lambda vs bisection on "
                               "real runs (2000 steps, lambda = 5)", abs(measured / hl - 1), 1e-4,
                               f"derived {hl:.10g}, measured {measured:.10g}"))
    return out


def rate_network() -> list[CheckResult]:
    """Rate network: fixed points vs simulated steady states, Jacobian eigenvalues vs finite differences, linear-φ closed form."""
    from numeric.models import rate_network as rn

    out = []
    rng = np.random.default_rng(7)
    net = rn.RateNetwork(1.5 * rng.normal(size=(4, 4)) / 2, 0.3 * rng.normal(size=4), tau=0.5)
    fps = net.fixed_points(n_starts=64, seed=1)
    stable = [x for x in fps if net.stability(x)["stable"]]
    worst_ss = 0.0
    for x in stable:
        _, X = net.simulate(x + 1e-2 * rng.normal(size=4), 60.0, n_eval=50)
        worst_ss = max(worst_ss, float(np.max(np.abs(X[-1] - x))))
    out.append(CheckResult("rate-network/steady-state", f"stable fixed points ({len(stable)} of {len(fps)}) vs the "
                           "steady state a simulation reaches from a perturbed start", worst_ss if stable else math.inf,
                           1e-8))
    h = 1e-6
    worst_j = 0.0
    for x in fps:
        fd = np.column_stack([(net.vector_field(x + h * e) - net.vector_field(x - h * e)) / (2 * h) for e in np.eye(4)])
        worst_j = max(worst_j, float(np.max(np.abs(np.sort_complex(np.linalg.eigvals(fd))
                                                   - np.sort_complex(np.linalg.eigvals(net.jacobian(x)))))))
    out.append(CheckResult("rate-network/jacobian", "analytic Jacobian eigenvalues vs eigenvalues of the central "
                           "finite-difference Jacobian (h = 1e-6), at every fixed point", worst_j, 1e-7))
    W, I = 0.4 * rng.normal(size=(3, 3)), rng.normal(size=3)
    lin = rn.RateNetwork(W, I, tau=2.0, phi="linear")
    (x,) = lin.fixed_points(n_starts=8)
    eig_err = float(np.max(np.abs(np.sort_complex(np.linalg.eigvals(lin.jacobian(x)))
                                  - np.sort_complex((np.linalg.eigvals(W) - 1) / 2.0))))
    out.append(CheckResult("rate-network/linear-closed-form", "linear network: fixed point vs solve(Id - W, I) and "
                           "Jacobian eigenvalues vs (eig(W) - 1)/tau",
                           max(relative_error(x, np.linalg.solve(np.eye(3) - W, I)), eig_err), 1e-12))
    return out
