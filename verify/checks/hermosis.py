"""Hermosis's Hamiltonian theory (seed 002) vs numerics: continuous limit of the discrete rules,
conservation/dissipation laws, and the (deformed) Poisson structure from the seed's 2-form.

Laws derived by hand from the literal equations (numeric/models/hermosis.py), dz/dt = -(k/h) P grad H:

* H is conserved for any H(w, X, U, beta):  dH/dt = grad H . dz/dt = -(k/h) grad H^T P grad H = 0,
  since P is antisymmetric.  Term by term: H_w.w' + H_X.X' = -(k/(h beta)) H_U X.H_X and
  H_U U' + H_beta beta' = -(k/h) H_U H_beta + (k/(h beta)) H_U X.H_X + (k/h) H_beta H_U; the sum is 0.
* Constant beta (E = 0): H = beta(|X|^2/2 + c^2 L)/k itself, so K = |X|^2/2 + c^2 L is conserved
  (X' = (c^2/h) grad L, w' = -X/h: d/dt |X|^2/2 = (c^2/h) X.grad L = -d/dt c^2 L).  The flow is an
  undamped oscillator w'' = -(c^2/h^2) grad L; the seed's "learning" needs cooling.
* Exponential cooling E = (h gamma/k) beta U: X' = (c^2/h) grad L - gamma X, so
  dK/dt = -gamma |X|^2 (energy of (w, X) flows into U while H stays constant).

Poisson tensor: P = Omega^{-1}, Omega the matrix of d omega = dbeta ^ (dU + X.dw) + beta sum_j dX_j ^ dw_j
in z = (w, X, U, beta); with this convention the undeformed dbeta ^ dU gives the seed's {U, beta} = 1.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from verify.checks import CheckResult, relative_error


def _omega(z: np.ndarray, d: int) -> np.ndarray:
    """Matrix Omega_ij = d omega(e_i, e_j) of the seed's deformed 2-form at z = (w, X, U, beta)."""
    n = 2 * d + 2
    e = np.eye(n)
    X, beta = z[d:2 * d], z[2 * d + 1]
    a = e[2 * d] + np.concatenate([X, np.zeros(d + 2)])  # dU + X.dw
    om = np.outer(e[2 * d + 1], a) - np.outer(a, e[2 * d + 1])
    for j in range(d):
        om += beta * (np.outer(e[d + j], e[j]) - np.outer(e[j], e[d + j]))
    return om


def _jacobi(P, z: np.ndarray, step: float = 1e-5) -> float:
    """max |P^il d_l P^jk + P^jl d_l P^ki + P^kl d_l P^ij| at z, d_l P by central differences."""
    n = z.size
    dP = np.array([(P(z + step * e) - P(z - step * e)) / (2 * step) for e in np.eye(n)])  # dP[l, i, j]
    p = P(z)
    t = np.einsum("il,ljk->ijk", p, dP)
    return float(np.max(np.abs(t + t.transpose(1, 2, 0) + t.transpose(2, 0, 1))))


def _order(errors: list[float]) -> list[float]:
    """Observed orders log2(e_i / e_{i+1}) for step sizes halved each time."""
    return [math.log2(a / b) for a, b in zip(errors[:-1], errors[1:])]


def continuous_limit() -> list[CheckResult]:
    """Flow vs the seed's discrete rules at tau, tau/2, tau/4: error O(tau) (Euler), on a quadratic."""
    from numeric.models import hermosis as hm

    A = np.diag([1.0, 3.0])
    grad = lambda w: A @ w  # noqa: E731
    w0, T, h, c = np.array([1.0, -0.5]), 2.0, 1.0, 1.0
    out = []
    for name, gamma in (("sgd", 0.0), ("momentum", 0.8)):
        kw = hm.exponential_cooling(gamma, h) if gamma else {}
        H = hm.classical(grad, c=c, **kw)
        w_T = hm.hermosis_flow(H, w0, np.zeros(2), 0.0, 1.0, T, h=h, t_eval=[T]).w[-1]
        errors = []
        for tau in (0.02, 0.01, 0.005):
            if gamma:
                mu = math.exp(-gamma * tau)
                opt = hm.hermosis_momentum(lr=tau / h, zeta=c**2 / (h * gamma), mu=mu)
            else:
                opt = hm.hermosis_sgd(lr=tau / h, zeta=tau * c**2 / h)
            w = w0.copy()
            s = opt.init(w)
            for _ in range(round(T / tau)):
                w, s = opt.step(w, grad(w), s)
            errors.append(float(np.max(np.abs(w - w_T))))
        orders = _order(errors)
        rule = "X <- X + zeta g" if not gamma else "X <- mu X + (1-mu) zeta g, mu = e^{-gamma tau}"
        out.append(CheckResult(f"hermosis/continuous-limit/{name}", f"hermosis_{name} ({rule}) vs the Hermosis "
                               f"flow ({'constant beta' if not gamma else 'beta = e^{0.8 t}'}) at t = 2: observed "
                               "order in tau minus 1", max(abs(o - 1) for o in orders), 0.1,
                               f"errors at tau = 0.02, 0.01, 0.005: {', '.join(f'{e:.3g}' for e in errors)}; "
                               f"orders {', '.join(f'{o:.3f}' for o in orders)}"))
    return out


def conservation() -> list[CheckResult]:
    """H conserved for a general E(U, beta); K = |X|^2/2 + c^2 L conserved (constant beta) or dK/dt = -gamma|X|^2."""
    from numeric.models import hermosis as hm
    from numeric import problems

    quad = problems.quadratic([0.5, 2.0], seed=3)
    out = []
    # a general thermal profile, so beta and U both move
    E = {"E": lambda U, b: 0.3 * b * U + 0.1 * U**2 + 0.2 / b, "E_U": lambda U, b: 0.3 * b + 0.2 * U,
         "E_beta": lambda U, b: 0.3 * U - 0.2 / b**2}
    w0, X0 = np.array([1.0, -0.5]), np.array([0.2, 0.4])
    for label, H in (("classical", hm.classical(quad.grad, c=1.3, k=0.7, lam=0.1, loss=quad.loss, **E)),
                     ("relativistic", hm.relativistic(quad.grad, c=1.3, k=0.7, loss=quad.loss, **E))):
        tr = hm.hermosis_flow(H, w0, X0, 0.5, 1.2, 3.0, h=0.9, k=0.7, t_eval=np.linspace(0, 3, 301))
        vals = np.array([H.value(*z) for z in zip(tr.w, tr.X, tr.U, tr.beta)])
        out.append(CheckResult(f"hermosis/H-conserved/{label}", f"largest |H(t) - H(0)| along the flow, {label} H "
                               "with E = 0.3 beta U + 0.1 U^2 + 0.2/beta (theory: 0, P antisymmetric)",
                               relative_error(vals, np.full_like(vals, vals[0])), 1e-8,
                               f"beta moved {tr.beta[0]:.3g} -> {tr.beta[-1]:.3g}, U {tr.U[0]:.3g} -> {tr.U[-1]:.3g}"))
    t_eval = np.linspace(0, 5, 2001)
    for gamma in (0.0, 0.6):
        H = hm.classical(quad.grad, c=1.3, **(hm.exponential_cooling(gamma) if gamma else {}))
        tr = hm.hermosis_flow(H, w0, X0, 0.0, 1.0, 5.0, t_eval=t_eval)
        K = np.array([X @ X / 2 + 1.69 * quad.loss(w) for w, X in zip(tr.w, tr.X)])
        if not gamma:
            out.append(CheckResult("hermosis/K-conserved-constant-beta", "largest |K(t) - K(0)|, K = |X|^2/2 + c^2 L, "
                                   "constant beta, E = 0 (theory: 0)", relative_error(K, np.full_like(K, K[0])), 1e-8))
            continue
        mid = slice(5, -5)
        rate = -gamma * np.einsum("ij,ij->i", tr.X, tr.X)
        out.append(CheckResult("hermosis/K-dissipation-cooling", "derived dK/dt = -gamma |X|^2 vs the "
                               "finite-difference slope of K along the flow, beta = e^{0.6 t}",
                               relative_error(np.gradient(K, t_eval)[mid], rate[mid]), 2e-4,
                               f"K fell {K[0]:.3g} -> {K[-1]:.3g}; beta(5) = {tr.beta[-1]:.4g} vs e^3 = {math.e**3:.4g}"))
    return out


def poisson() -> list[CheckResult]:
    """Poisson tensors: brackets from the 2-form, P grad H vs the flow map, Jacobi identity (canonical, deformed)."""
    from numeric.models import hermosis as hm
    from numeric import problems

    out = []
    rng = np.random.default_rng(11)
    # canonical (q, p), omega = dp ^ dq: P = Omega^{-1} gives {q, p} = 1; oscillator H = (p^2 + 4 q^2)/2
    om_c = np.array([[0.0, -1.0], [1.0, 0.0]])
    P_c = lambda z: np.linalg.inv(om_c)  # noqa: E731
    grad_c = lambda z: np.array([4 * z[0], z[1]])  # noqa: E731
    rot = lambda z, s: np.array([z[0] * np.cos(2 * s) + z[1] * np.sin(2 * s) / 2,  # noqa: E731
                                 -2 * z[0] * np.sin(2 * s) + z[1] * np.cos(2 * s)])
    # deformed, d = 2, classical H with a general E; the flow is -(k/h) P grad H
    d, h, k = 2, 0.9, 0.7
    quad = problems.quadratic([0.5, 2.0], seed=3)
    H = hm.classical(quad.grad, c=1.3, k=k, E_U=lambda U, b: 0.3 * b + 0.2 * U, E_beta=lambda U, b: 0.3 * U)
    f = hm.hermosis_vector_field(H, h, k)
    P_d = lambda z: np.linalg.inv(_omega(z, d))  # noqa: E731

    def grad_d(z):
        Hw, HX, HU, Hb = H(z[:d], z[d:2 * d], z[2 * d], z[2 * d + 1])
        return np.concatenate([Hw, HX, [HU, Hb]])

    def flow_map(z, s):
        return solve_ivp(lambda _, y: f(y), (0, s), z, method="DOP853", rtol=1e-13, atol=1e-14).y[:, -1]

    points = [np.concatenate([rng.normal(size=2 * d + 1), [rng.uniform(0.5, 2.0)]]) for _ in range(5)]
    # brackets of Omega^{-1} vs the seed's {U, beta} = 1, {U, X_i} = -X_i/beta, and {w_i, X_j} = delta_ij/beta
    worst = 0.0
    for z in points:
        P, X, b = P_d(z), z[d:2 * d], z[2 * d + 1]
        worst = max(worst, abs(P[2 * d, 2 * d + 1] - 1), float(np.max(np.abs(P[2 * d, d:2 * d] + X / b))),
                    float(np.max(np.abs(P[:d, d:2 * d] - np.eye(d) / b))))
    out.append(CheckResult("hermosis/poisson/brackets", "Omega^{-1} of the seed's 2-form vs {U,beta} = 1, "
                           "{U,X_i} = -X_i/beta, {w_i,X_j} = delta_ij/beta (the seed's text says delta_ij)", worst,
                           1e-12, "5 random points, d = 2; {w_i,X_j} = delta_ij would be off by |1 - 1/beta|"))
    worst_vf = max(relative_error(f(z), -(k / h) * P_d(z) @ grad_d(z)) for z in points)
    out.append(CheckResult("hermosis/poisson/equations", "the literal Hermosis equations f(z) vs -(k/h) Omega^{-1} "
                           "grad H (deformed 2-form), 5 random points", worst_vf, 1e-12))
    for name, P, g, phi, pts in (("canonical", P_c, grad_c, rot, [rng.normal(size=2) for _ in range(5)]),
                                 ("deformed", lambda z: -(k / h) * P_d(z), grad_d, flow_map, points)):
        errs = []
        for s in (1e-2, 5e-3):
            errs.append(max(relative_error((phi(z, s) - phi(z, -s)) / (2 * s), P(z) @ g(z)) for z in pts))
        order = _order(errs)[0]
        out.append(CheckResult(f"hermosis/poisson/flow-map/{name}", f"P grad H vs central differences of the {name} "
                               "flow map over +-s, s = 1e-2, 5e-3: observed order minus 2", abs(order - 2), 0.1,
                               f"errors {errs[0]:.3g}, {errs[1]:.3g}; order {order:.3f}"))
        jac = max(_jacobi(P, z) for z in pts)
        out.append(CheckResult(f"hermosis/poisson/jacobi/{name}", f"Jacobi cyclic sum of the {name} Poisson tensor, "
                               "d_l P by central differences (step 1e-5), max over 5 random points", jac, 1e-8))
    # negative control: the same tensor with {U, X} doubled is not Poisson, and the check sees it
    def bad(z):
        P = P_d(z)
        P[2 * d, d:2 * d] *= 2
        P[d:2 * d, 2 * d] *= 2
        return P
    worst_bad = min(_jacobi(bad, z) for z in points)
    out.append(CheckResult("hermosis/poisson/jacobi-control", "a perturbed tensor ({U,X} doubled) must fail Jacobi: "
                           "1e-8 / (its smallest cyclic sum)", 1e-8 / worst_bad, 1e-3,
                           f"smallest cyclic sum {worst_bad:.3g}"))
    return out


def hermosis_checks() -> list[CheckResult]:
    """All Hermosis checks: continuous limit, conservation laws, Poisson structure."""
    return continuous_limit() + conservation() + poisson()


def derived_vs_handwritten(steps: int = 200) -> list[CheckResult]:
    """The discrete rules derived from the Hermosis equations (derive.theories.hermosis) vs numeric.models.hermosis's hand-written optimizers."""
    import sympy as sp

    from derive.theories import hermosis as dh
    from numeric.models import hermosis as nh

    X0, w = sp.Symbol("X_0", real=True), sp.Symbol("w", real=True)
    vals = {dh.h: 1.3, dh.k: 0.7, dh.c: 0.9, dh.tau: 0.05, dh.gamma: 2.0, dh.beta: 1.5}
    const = dh.momentum_update(sp.Lambda(dh.s, dh.beta))  # X(t) for constant beta
    cool = dh.momentum_update(sp.Lambda(dh.s, dh.beta * sp.exp(dh.gamma * dh.s)))  # exponential cooling
    X_rel = sp.Symbol("X", real=True)
    v_rel = dh.k / (dh.h * dh.beta) * sp.diff(dh.relativistic_kinetic().subs(dh.symbols(1)["X"][0], X_rel), X_rel)
    rules = {
        "sgd": (const, dh.tau / dh.h * X_rel, lambda v: nh.hermosis_sgd(lr=v["tau"] / v["h"],
                                                                        zeta=v["tau"] * v["c"] ** 2 / v["h"])),
        "momentum": (cool, dh.tau / dh.h * X_rel,
                     lambda v: nh.hermosis_momentum(lr=v["tau"] / v["h"], zeta=v["c"] ** 2 / (v["h"] * v["gamma"]),
                                                    mu=math.exp(-v["gamma"] * v["tau"]))),
        "relativistic": (const, dh.tau * v_rel,
                         lambda v: nh.hermosis_relativistic(lr=v["tau"] * v["k"] / (v["h"] * v["beta"]),
                                                            zeta=v["tau"] * v["c"] ** 2 / v["h"],
                                                            kappa=v["k"] / v["beta"])),
    }
    named = {str(s): val for s, val in vals.items()}
    loss_grad = lambda x: 3.0 * x + x**3  # noqa: E731 - L = 3x^2/2 + x^4/4, one coordinate
    out = []
    for name, (x_update, w_step, make) in rules.items():
        fx = sp.lambdify((X0, dh.g), x_update.subs(vals))
        fw = sp.lambdify(X_rel, w_step.subs(vals))
        opt = make(named)
        p, state = np.array([1.2]), opt.init(np.array([1.2]))
        x_sym, w_sym = 0.0, 1.2
        worst = 0.0
        for _ in range(steps):
            x_sym = float(fx(x_sym, loss_grad(w_sym)))
            w_sym = w_sym - float(fw(x_sym))
            p, state = opt.step(p, loss_grad(p), state)
            worst = max(worst, relative_error(p, np.array([w_sym])))
        out.append(CheckResult(f"hermosis/rules/{name}", f"discrete {name} update derived from the Hermosis "
                               f"equations (lambdified) vs numeric.models.hermosis, {steps} steps on a 1-D quartic loss",
                               worst, 1e-12, ""))
    return out
