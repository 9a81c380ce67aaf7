"""Gradient descent from first principles: steepest descent, forward Euler, stability.

* ``steepest_descent()``  first-order Taylor model + quadratic (proximal) penalty
  ⇒ θ_{t+1} = θ_t − η∇L(θ_t); the normalized steepest direction −g/‖g‖.
* ``forward_euler()``     gradient flow θ' = −∇L(θ); GD is its forward-Euler step;
  the local truncation error is (η²/2) ∇²L ∇L + O(η³).
* ``quadratic_stability()`` on L = ½θᵀHθ: the Jacobian I − ηH, eigenvalues 1 − ηλᵢ,
  convergence iff 0 < ηλᵢ < 2, the regimes per direction, and the optimal constant step
  η* = 2/(μ + L) with rate (κ − 1)/(κ + 1)   (Polyak 1987, §1.4; Nesterov 2004, §1.2.3).
* ``gd_rule()``           the update rule, for Jacobians, limits and lambdify.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation
from derive.update_rule import UpdateRule, g

eta = sp.Symbol("eta", positive=True)
lam = sp.Symbol("lambda", real=True)
theta = sp.Symbol("theta", real=True)


def gd_rule() -> UpdateRule:
    """θ ← θ − η (g(θ) + λ_wd θ): gradient descent with coupled L2 weight decay
    (torch.optim.SGD with momentum 0)."""
    wd = sp.Symbol("lambda_wd", nonnegative=True)
    return UpdateRule(
        name="gd", title="Gradient descent", state=(theta,), hyper={"lr": eta, "weight_decay": wd},
        update=(theta - eta * (g(theta) + wd * theta),), defaults={"weight_decay": 0.0})


def steepest_descent() -> Derivation:
    """GD as the minimizer of the first-order model plus a proximal penalty ‖δ‖²/(2η)."""
    n = sp.Symbol("n", integer=True, positive=True)
    gv = sp.MatrixSymbol("g", n, 1)
    delta = sp.MatrixSymbol("delta", n, 1)
    L = sp.Function("L")
    x, y, s, d1, d2 = sp.symbols("x y s d_1 d_2", real=True)
    Lx, Ly = sp.Derivative(L(x, y), x), sp.Derivative(L(x, y), y)
    model = gv.T * delta + delta.T * delta / (2 * eta)
    d = Derivation(
        "gd-steepest-descent", "Gradient descent from the first-order Taylor expansion",
        summary=("Along a direction $d$, the slope of $L$ is the directional derivative $\\nabla L^T d$ "
                 "(chain rule, shown for two parameters). Minimizing the first-order model of "
                 "$L(\\theta+\\delta)$ plus the proximal penalty $\\|\\delta\\|^2/(2\\eta)$ gives the step "
                 "$\\delta^* = -\\eta g$, i.e. gradient descent; with a unit-norm constraint instead, the "
                 "minimizing direction is $-g/\\|g\\|$ (Cauchy--Schwarz)."),
        references=["Boyd and Vandenberghe, Convex Optimization (2004), section 9.4 (steepest descent)",
                    "Parikh and Boyd, Proximal Algorithms (2014), section 4.2"])
    d.equal(sp.Derivative(L(x + s * d1, y + s * d2), s).subs(s, 0), Lx * d1 + Ly * d2,
            r"by the chain rule, the slope of $s \mapsto L(\theta + s d)$ at $s = 0$ is $\nabla L^T d$ "
            "(two parameters)")
    d.given(r"L(\theta + \delta)", r"L(\theta) + g^{T}\delta + O(\|\delta\|^2)",
            r"the first-order Taylor model of $L$ at $\theta$, with $g = \nabla L(\theta)$ and error $O(\|\delta\|^2)$")
    d.equal(sp.Derivative(model, delta), gv + delta / eta,
            r"differentiate the model $g^T\delta + \|\delta\|^2/(2\eta)$ in $\delta$ term by term")
    dv = sp.Matrix(sp.symbols("delta_1:4", real=True))
    gc = sp.Matrix(sp.symbols("g_1:4", real=True))
    d.equal(sp.hessian((gc.T * dv)[0, 0] + (dv.T * dv)[0, 0] / (2 * eta), dv), sp.eye(3) / eta,
            r"its Hessian is $I/\eta$ (three parameters), positive definite, so the stationary point is the minimum")
    d.solution(sp.Eq(gv + delta / eta, sp.ZeroMatrix(n, 1)), delta, -eta * gv,
               r"setting the model's gradient $g + \delta/\eta$ to zero gives its stationary point")
    d.given(r"\theta_{t+1}", r"\theta_t + \delta^* = \theta_t - \eta \nabla L(\theta_t)",
            r"take the minimizing step, $\theta_t + \delta^*$: this is gradient descent")
    g1, g2, g3 = sp.symbols("g_1:4", real=True)
    gvec = sp.Matrix([g1, g2, g3])
    norm = sp.sqrt(g1**2 + g2**2 + g3**2)
    d.equal((gvec.T * (-gvec / norm))[0, 0], -norm,
            r"the direction $-g/\|g\|$ attains the Cauchy-Schwarz bound $g^T d \ge -\|g\|\,\|d\|$ (three parameters)")
    d.result("update", sp.Symbol("theta") - eta * sp.Symbol("g"), label=r"\theta^{+}")
    d.result("step", -eta * gv, label=r"\delta^*")
    return d


def forward_euler() -> Derivation:
    """GD is forward Euler on gradient flow; its local truncation error (η²/2) ∇²L ∇L."""
    t = sp.Symbol("t", real=True)
    G = sp.Function("G")  # G = L', the gradient, in one dimension
    th = sp.Function("theta")(t)
    flow = -G(th)
    second = sp.diff(flow, t).subs(sp.Derivative(th, t), flow)
    x = sp.Symbol("theta", real=True)
    Gp = sp.Derivative(G(x), x)
    d = Derivation(
        "gd-forward-euler", "Gradient descent is forward Euler on gradient flow",
        summary=("Gradient flow $\\dot\\theta = -\\nabla L(\\theta)$, written with $G = \\nabla L$ in one "
                 "coordinate (the same lines hold with $G' = \\nabla^2 L$ in $n$ dimensions). One forward-Euler "
                 "step of size $\\eta$ is gradient descent; comparing it with the Taylor expansion of the exact "
                 "flow gives the local truncation error $\\tfrac{\\eta^2}{2}\\nabla^2L\\,\\nabla L + O(\\eta^3)$, "
                 "so GD is a first-order method: its global error over a fixed time is $O(\\eta)$."),
        references=["Hairer, Norsett and Wanner, Solving Ordinary Differential Equations I (1993), section II.3"])
    d.given(sp.Derivative(th, t), flow, r"gradient flow, written with $G = \mathrm{d}L/\mathrm{d}\theta$")
    d.given(sp.Function("f")(x), -G(x), r"the vector field of gradient flow at $\theta$ is $f = -G$")
    d.equal(x + eta * (-G(x)), x - eta * G(x),
            r"a forward Euler step $\theta + \eta f(\theta)$ with $f = -G$ is exactly the GD step")
    d.equal(second.subs(th, x), Gp * G(x),
            r"differentiate the flow once more in $t$, by the chain rule with $\dot\theta = -G$")
    exact = x + eta * (-G(x)) + eta**2 / 2 * Gp * G(x)
    taylor = sp.series(sp.Function("theta")(t + eta), eta, 0, 3).removeO().doit()
    # replace theta'' and theta' (whatever symbol SymPy's series names the time) by the flow's values
    by_order = {2: second, 1: flow}
    taylor = taylor.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == th.func,
                            lambda e: by_order[e.derivative_count])
    taylor = taylor.replace(lambda e: isinstance(e, sp.core.function.AppliedUndef) and e.func == th.func,
                            lambda e: x)
    taylor = taylor.subs(th, x)
    d.equal(taylor, exact, r"the Taylor expansion of the exact solution to second order (error $O(\eta^3)$), "
            r"with $\dot\theta$ and $\ddot\theta$ taken from the flow", display=r"\theta(t + \eta) \bmod \eta^3")
    d.equal(exact - (x - eta * G(x)), eta**2 / 2 * Gp * G(x),
            "subtracting the GD step from the exact solution leaves the local truncation error of one step")
    d.result("vector_field", -G(x), label="f")
    d.result("local_error", eta**2 / 2 * Gp * G(x), label=r"e_{\mathrm{loc}}")
    return d


def quadratic_stability() -> Derivation:
    """Stability of GD on L = ½θᵀHθ, per eigen-direction, and the optimal constant step."""
    z, z0 = sp.symbols("z z_0", real=True)
    tt = sp.Symbol("t", integer=True, nonnegative=True)
    x = sp.Symbol(r"\eta\lambda", real=True)
    mu, Lmax = sp.symbols("mu L", positive=True)
    kappa = sp.Symbol("kappa", positive=True)
    h11, h12, h22, t1, t2 = sp.symbols("h_11 h_12 h_22 theta_1 theta_2", real=True)
    H = sp.Matrix([[h11, h12], [h12, h22]])
    tv = sp.Matrix([t1, t2])
    eta_opt = 2 / (mu + Lmax)
    d = Derivation(
        "gd-quadratic-stability", "Stability of gradient descent on a quadratic",
        summary=("On $L(\\theta) = \\tfrac12\\theta^T H \\theta$ with $H = Q\\Lambda Q^T$, GD is linear: its Jacobian "
                 "is $I - \\eta H$ (shown for $n = 2$) and in eigen-coordinates $z = Q^T\\theta$ each direction "
                 "evolves independently with factor $1 - \\eta\\lambda_i$. It converges from every start iff "
                 "$0 < \\eta\\lambda_i < 2$ for all $i$, i.e. $\\eta < 2/\\lambda_{\\max}$ when $H$ is positive "
                 "definite. For a spectrum in $[\\mu, L]$ the constant step minimizing the worst factor is "
                 "$\\eta^* = 2/(\\mu + L)$ with rate $(\\kappa - 1)/(\\kappa + 1)$, $\\kappa = L/\\mu$."),
        references=["B. T. Polyak, Introduction to Optimization (1987), section 1.4",
                    "Y. Nesterov, Introductory Lectures on Convex Optimization (2004), section 1.2.3"])
    gd_map = tv - eta * H * tv
    d.equal(gd_map.jacobian(tv), sp.eye(2) - eta * H,
            r"differentiate the GD map $\theta \mapsto \theta - \eta H\theta$, which is linear in $\theta$",
            display=r"\frac{\partial(\theta - \eta H\theta)}{\partial\theta}")
    d.equal(z - eta * sp.diff(lam * z**2 / 2, z), (1 - eta * lam) * z,
            r"one GD step along an eigen-direction with eigenvalue $\lambda$, where the loss is $\lambda z^2/2$")
    d.equal(sp.cancel((z - eta * sp.diff(lam * z**2 / 2, z)) / z), 1 - eta * lam,
            r"divide by $z$: each step scales $z$ by the same factor $1 - \eta\lambda$", display=r"z^{+}/z")
    zt = (1 - eta * lam) ** tt * z0
    d.equal((1 - eta * lam) * zt, zt.subs(tt, tt + 1),
            r"$z_t = (1 - \eta\lambda)^t z_0$ solves the recursion: one more factor advances $t$ by one")
    d.equivalent(sp.Abs(1 - x) < 1, x, sp.Interval.open(0, 2),
                 r"a geometric sequence tends to 0 from every start iff $|1 - \eta\lambda| < 1$")
    d.equivalent(sp.And(1 - x > 0, 1 - x < 1), x, sp.Interval.open(0, 1),
                 r"monotone regime: the factor lies in $(0, 1)$, so $z_t$ keeps its sign")
    d.equivalent(sp.And(1 - x < 0, sp.Abs(1 - x) < 1), x, sp.Interval.open(1, 2),
                 r"oscillating regime: the factor lies in $(-1, 0)$, so the sign flips every step")
    d.equivalent(sp.And(x > 0, sp.Abs(1 - x) > 1), x, sp.Interval.open(2, sp.oo),
                 r"divergent regime: $|1 - \eta\lambda| > 1$, so $|z_t|$ grows geometrically")
    d.given(r"\rho(\eta)", sp.Max(sp.Abs(1 - eta * mu), sp.Abs(1 - eta * Lmax)),
            r"the worst factor over a spectrum in $[\mu, L]$: $|1 - \eta\lambda|$ is convex in $\lambda$, so the "
            r"extreme eigenvalues decide")
    lmax = sp.Symbol("lambda_max", positive=True)
    d.equivalent(sp.And(eta * lmax > 0, eta * lmax < 2), eta, sp.Interval.open(0, 2 / lmax),
                 r"every direction converges iff the stiffest one does: $\eta < 2/\lambda_{\max}$")
    d.solution(sp.Eq(1 - eta * mu, -(1 - eta * Lmax)), eta, eta_opt,
               r"the candidate minimax step balances the slowest and the fastest direction: $1 - \eta\mu = \eta L - 1$")
    s = sp.Symbol("s", positive=True)
    d.positive((1 - eta_opt / (1 + s) * mu) - (1 - eta_opt * mu),
               r"a smaller step $\eta^*/(1+s)$ has a larger factor $1 - \eta\mu$ along $\mu$, so $\rho$ grows",
               display=r"(1 - \tfrac{\eta^*}{1+s}\mu) - (1 - \eta^*\mu)")
    d.positive((eta_opt * (1 + s) * Lmax - 1) - (eta_opt * Lmax - 1),
               r"a larger step $\eta^*(1+s)$ has a larger factor $\eta L - 1$ along $L$, so $\rho$ grows: $\eta^*$ is "
               "optimal",
               display=r"(\eta^*(1+s)L - 1) - (\eta^* L - 1)")
    d.equal(1 - eta_opt * mu, (Lmax - mu) / (Lmax + mu),
            r"the optimal rate: substitute $\eta^* = 2/(\mu + L)$ into the factor along $\mu$")
    d.given(kappa, Lmax / mu, r"definition of $\kappa$, the conditioning of the spectrum")
    d.equal(((Lmax - mu) / (Lmax + mu)).subs(Lmax, kappa * mu), (kappa - 1) / (kappa + 1),
            r"the optimal rate in terms of $\kappa$, substituting $L = \kappa\mu$", display=r"\rho(\eta^*)")
    d.result("factor", 1 - eta * lam, label=r"z^{+}/z")
    d.result("eta_critical", 2 / lmax, label=r"\eta_{\mathrm{crit}}")
    d.result("eta_optimal", eta_opt, label=r"\eta^*")
    d.result("rate_optimal", (Lmax - mu) / (Lmax + mu), label=r"\rho(\eta^*)")
    d.result("rate_optimal_kappa", (kappa - 1) / (kappa + 1), label=r"\rho(\eta^*)")
    return d


def gd_derivation() -> Derivation:
    """The GD update rule's Jacobian, linearization, characteristic polynomial and limit."""
    from derive.analysis.rule_analysis import rule_derivation

    rule = gd_rule()
    wd, z = rule.hyper["weight_decay"], sp.Symbol("z")
    expected = {"jacobian": sp.Matrix([[1 - eta * (sp.Derivative(g(theta), theta) + wd)]]),
                "iteration_matrix": sp.Matrix([[1 - eta * (lam + wd)]]),
                "characteristic_polynomial": z - 1 + eta * (lam + wd),
                "continuous_limit": sp.Matrix([-g(theta) - wd * theta])}
    return rule_derivation(rule, expected, name="gd", summary=(
        "Gradient descent with coupled $L_2$ weight decay, $\\theta^{+} = \\theta - \\eta(g(\\theta) + "
        "\\lambda_{\\mathrm{wd}}\\theta)$, as a map on its state. On a quadratic with curvature $\\lambda$ it is "
        "linear with factor $1 - \\eta(\\lambda + \\lambda_{\\mathrm{wd}})$; as $\\eta \\to 0$ it becomes "
        "gradient flow."))
