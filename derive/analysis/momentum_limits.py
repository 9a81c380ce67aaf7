"""Heavy ball in continuous time: the damped oscillator and momentum's modified equation.

* Oscillator: with time step h, mass m and friction γ, the choice η = h²/m,
  β = 1 − γh/m turns θ_{n+1} = θ_n + β(θ_n − θ_{n−1}) − η∇L(θ_n) into
  m θ'' + γ θ' + ∇L(θ) = O(h)  (and back: m = h²/η, γ = (1 − β)h/η).  Exactly, heavy ball is
  m(θ_{n+1} − 2θ_n + θ_{n−1})/h² + γ(θ_n − θ_{n−1})/h = −∇L(θ_n): friction as a backward difference.
  N. Qian (Neural Networks 12, 1999) discretizes the friction forward, (θ_{n+1} − θ_n)/Δt, and gets
  learning rate ε = Δt²/(m + μΔt), momentum p = m/(m + μΔt), i.e. m = pΔt²/ε, μ = (1 − p)Δt/ε.
  For the same (η, β) = (ε, p) and h = Δt: Qian's friction is ours, his mass is βm = m − γh.
* Modified equation: at fixed β, iterates θ_n = Θ(nη) follow, up to O(η²),
  Θ' = −∇L̃/(1 − β) with L̃ = L + η(1 + β)/(4(1 − β)²)‖∇L‖², momentum's implicit
  regularizer (Ghosh, Lyu, Zhang, Lee, ICLR 2023; β = 0 gives Barrett & Dherin's η/4).
* Critical sharpness (edge of stability): GD 2/η, heavy ball (2 + 2β)/η,
  Nesterov (2 + 2β)/((1 + 2β)η)  (Cohen et al., ICLR 2021, for GD and heavy ball).
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation
from derive.analysis.modified_equation import flow_map_series

t, h = sp.symbols("t h", positive=True)
m, gamma = sp.symbols("m gamma", positive=True)
eta, beta = sp.symbols("eta beta", positive=True)


def oscillator_limit() -> Derivation:
    """Heavy ball as a discretized damped oscillator m θ'' + γ θ' + ∇L = 0."""
    th = sp.Function("theta")
    G = sp.Function("G")  # G = L', one coordinate
    T = th(t)
    eta_h, beta_h = h**2 / m, 1 - gamma * h / m
    d = Derivation(
        "heavy-ball-oscillator", "Heavy ball is a discretized damped oscillator",
        summary=("Eliminating the velocity, heavy ball is the two-step recursion "
                 "$\\theta_{n+1} = \\theta_n + \\beta(\\theta_n - \\theta_{n-1}) - \\eta\\nabla L(\\theta_n)$. "
                 "Sampling a smooth $\\theta(t)$ at $t = nh$ and choosing $\\eta = h^2/m$, "
                 "$\\beta = 1 - \\gamma h/m$, the recursion divided by $\\eta$ is "
                 "$m\\ddot\\theta + \\gamma\\dot\\theta + \\nabla L(\\theta) + O(h)$: the damped oscillator with "
                 "mass $m$ and friction $\\gamma$. Conversely $m = h^2/\\eta$, $\\gamma = (1-\\beta)h/\\eta$; "
                 "with $h = \\sqrt\\eta$ (unit mass), the friction is $(1-\\beta)/\\sqrt\\eta$. "
                 "Exactly, heavy ball is this oscillator with the friction as a backward difference; Qian (1999) "
                 "takes it as a forward difference and gets mass $p\\Delta t^2/\\epsilon$, friction "
                 "$(1-p)\\Delta t/\\epsilon$ for learning rate $\\epsilon$ and momentum $p$: for the same "
                 "$(\\eta, \\beta)$ and step, the same friction and the mass $\\beta m = m - \\gamma h$."),
        references=["B. T. Polyak (1964)", "W. Su, S. Boyd and E. Candes, JMLR 17 (2016), for Nesterov's ODE",
                    "N. Qian, On the momentum term in gradient descent learning algorithms, Neural Networks 12 "
                    "(1999) 145-151 (its discretization as restated in M. Hjorth-Jensen's lecture notes, "
                    "compphysics.github.io/MachineLearning, week 40; the paper itself was not read here)"])
    tn, tp, tm, vn, vp = sp.symbols(r"theta_n \theta_{n+1} \theta_{n-1} v_n v_{n+1}", real=True)
    d.equal((tn + (beta * vn - eta * G(tn))).subs(vn, tn - tm), tn + beta * (tn - tm) - eta * G(tn),
            r"substitute the velocity $v_n = \theta_n - \theta_{n-1}$ into $\theta_{n+1} = \theta_n + \beta v_n - "
            r"\eta G(\theta_n)$: the two-step recursion", display=r"\theta_{n+1}")
    d.given(eta, eta_h, "the choice of step: the time step $h$ squared over the mass $m$")
    d.given(beta, beta_h, r"and of momentum: $1 - \gamma h/m$, with the friction $\gamma$")
    resid = (th(t + h) - T - beta_h * (T - th(t - h)) + eta_h * G(T)) / eta_h
    series = sp.series(resid, h, 0, 1).removeO().doit()
    d.equal(series, m * sp.diff(T, t, 2) + gamma * sp.diff(T, t) + G(T),
            r"Taylor-expand $\theta(t \pm h)$ with $\eta = h^2/m$ and $\beta = 1 - \gamma h/m$; the terms of order "
            r"$h$ are dropped",
            display=r"\frac{\theta(t+h) - \theta - \beta(\theta - \theta(t-h)) + \eta G(\theta)}{\eta}\Big|_{h^0}")
    d.solution(sp.Eq(eta, h**2 / m), m, h**2 / eta, r"the mapping back: the mass from $(\eta, h)$")
    d.solution(sp.Eq(beta, 1 - gamma * h / m).subs(m, h**2 / eta), gamma, (1 - beta) * h / eta,
               r"and the friction from $(\eta, \beta, h)$")
    # the exact scheme: central second difference, backward-difference friction
    d.equal((tp - tn - beta_h * (tn - tm) + eta_h * G(tn)) / eta_h,
            m * (tp - 2 * tn + tm) / h**2 + gamma * (tn - tm) / h + G(tn),
            r"exactly (no expansion): heavy ball divided by $\eta$ is the oscillator with the friction as a backward "
            r"difference $(\theta_n - \theta_{n-1})/h$", display=r"\frac{\theta_{n+1} - \theta_n - \beta(\theta_n - "
            r"\theta_{n-1}) + \eta G(\theta_n)}{\eta}")
    # Qian (1999): the friction as a forward difference
    mq, muq, dt = sp.symbols("m_Q mu_Q Delta_t", positive=True)
    eps, pq = sp.symbols("epsilon p", positive=True)
    qian = mq * (tp - 2 * tn + tm) / dt**2 + muq * (tp - tn) / dt + G(tn)
    d.given(qian, 0, r"Qian (1999): $m_Q\ddot\theta + \mu_Q\dot\theta = -\nabla L$ discretized with the friction "
            r"as a forward difference $(\theta_{n+1} - \theta_n)/\Delta t$")
    d.positive(sp.diff(qian, tp), r"it is linear in $\theta_{n+1}$ with this positive coefficient, so it has "
               "exactly one root",
               display=r"\partial_{\theta_{n+1}}(\text{Qian's scheme})")
    d.solution(sp.Eq(qian, 0), tp, tn + mq / (mq + muq * dt) * (tn - tm) - dt**2 / (mq + muq * dt) * G(tn),
               r"solved for $\theta_{n+1}$: heavy ball with learning rate "
               r"$\epsilon = \Delta t^2/(m_Q + \mu_Q\Delta t)$ and momentum $p = m_Q/(m_Q + \mu_Q\Delta t)$")
    d.solution([sp.Eq(eps, dt**2 / (mq + muq * dt)), sp.Eq(pq, mq / (mq + muq * dt))], (mq, muq),
               (pq * dt**2 / eps, (1 - pq) * dt / eps), r"Qian's mass and friction from $(\epsilon, p, \Delta t)$")
    d.equal((pq * dt**2 / eps).subs({pq: beta_h, eps: eta_h, dt: h}), m - gamma * h,
            r"with the same $(\eta, \beta) = (\epsilon, p)$ and step $h = \Delta t$, Qian's mass is ours minus "
            r"$\gamma h$, i.e. $\beta m$",
            display=r"m_Q\big|_{\epsilon = \eta,\ p = \beta,\ \Delta t = h}")
    d.equal(((1 - pq) * dt / eps).subs({pq: beta_h, eps: eta_h, dt: h}), gamma,
            "and his friction is ours", display=r"\mu_Q\big|_{\epsilon = \eta,\ p = \beta,\ \Delta t = h}")
    d.equal(qian.subs({mq: m - gamma * h, muq: gamma, dt: h}),
            m * (tp - 2 * tn + tm) / h**2 + gamma * (tn - tm) / h + G(tn),
            "so the two schemes are one recursion: moving the friction from a forward to a backward difference "
            r"moves $\gamma h$ of mass (an $O(h)$ change, invisible in the limit $h \to 0$)",
            display=r"\text{Qian's scheme}\big|_{m_Q = m - \gamma h,\ \mu_Q = \gamma,\ \Delta t = h}")
    d.result("eta", eta_h, label=r"\eta").result("beta", beta_h, label=r"\beta")
    d.result("mass", h**2 / eta, label="m").result("friction", (1 - beta) * h / eta, label=r"\gamma")
    d.result("qian_mass", m - gamma * h, label="m_Q").result("qian_friction", gamma, label=r"\mu_Q")
    return d


def _backward(fields: list[list[sp.Expr]], params: list[sp.Symbol], order: int) -> list[list[sp.Expr]]:
    """Coefficients of η^c in the time −η flow of θ' = Σ_j η^j f_j: the time +η flow of −f."""
    return flow_map_series([[-e for e in f] for f in fields], params, order)


def heavy_ball_modified_equation() -> Derivation:
    """Momentum's implicit regularizer: the O(η) correction of heavy ball's slow flow."""
    th = sp.Symbol("theta", real=True)
    L = sp.Function("L")(th)
    g0 = sp.diff(L, th)
    f0 = -g0 / (1 - beta)
    f1s = sp.Symbol("f_1")
    fields = [[f0], [f1s]]
    fwd = flow_map_series(fields, [th], 2)
    bwd = _backward(fields, [th], 2)
    # theta_{n+1} - theta_n - beta (theta_n - theta_{n-1}) + eta L'(theta_n), coefficient by power of eta
    resid = [fwd[c][0] - (th if c == 0 else 0) - beta * ((th if c == 0 else 0) - bwd[c][0]) for c in range(3)]
    resid[1] += g0
    f1 = sp.solve(sp.expand(resid[2]), f1s)[0]
    reg = eta * (1 + beta) / (4 * (1 - beta) ** 2) * g0**2
    d = Derivation(
        "heavy-ball-modified-equation", "Momentum's implicit regularizer (modified equation of heavy ball)",
        summary=("Suppose heavy ball's iterates lie on a smooth curve, $\\theta_n = \\Theta(n\\eta)$ with "
                 "$\\Theta' = f_0 + \\eta f_1$. Expanding $\\Theta((n\\pm1)\\eta)$ by the Lie series and matching "
                 "powers of $\\eta$ in the two-step recursion gives $f_0 = -\\nabla L/(1-\\beta)$ and "
                 "$f_1 = -\\frac{1+\\beta}{2(1-\\beta)^3}\\nabla^2L\\,\\nabla L$, i.e. "
                 "$\\Theta' = -\\nabla\\tilde L/(1-\\beta)$ with $\\tilde L = L + "
                 "\\frac{\\eta(1+\\beta)}{4(1-\\beta)^2}\\|\\nabla L\\|^2$. Shown in one coordinate; the "
                 "vector case replaces $L''L'$ by $\\nabla^2L\\nabla L = \\frac12\\nabla\\|\\nabla L\\|^2$."),
        references=["A. Ghosh, H. Lyu, X. Zhang and R. Wang, Implicit regularization in heavy-ball momentum "
                    "accelerated stochastic gradient descent, ICLR 2023",
                    "D. G. T. Barrett and B. Dherin, Implicit Gradient Regularization, ICLR 2021"])
    d.given(r"\theta_{n+1} - \theta_n - \beta(\theta_n - \theta_{n-1}) + \eta L'(\theta_n)", 0,
            "heavy ball, as a two-step recursion")
    d.given(r"\theta_{n\pm1}", r"\Theta(t \pm \eta),\ \Theta' = f_0 + \eta f_1", "ansatz: a smooth slow curve")
    d.equal(resid[0], 0, r"order $\eta^0$: $\Theta(t \pm \eta) = \Theta(t) + O(\eta)$, so the recursion holds "
            "to leading order", display=r"[\eta^0]")
    d.equal(resid[1], 0, r"order $\eta^1$ is $(1 - \beta)f_0 + L'$, which vanishes with $f_0 = -L'/(1 - \beta)$",
            display=r"[\eta^1]")
    d.solution(sp.Eq(sp.expand(resid[2]), 0), f1s, -(1 + beta) / (2 * (1 - beta) ** 3) * sp.diff(g0, th) * g0,
               r"order $\eta^2$ is linear in $f_1$: its one root")
    d.equal((f0 + eta * f1), -sp.diff(L + reg, th) / (1 - beta),
            r"the slow flow is the gradient flow of $\tilde L$, divided by $1 - \beta$",
            display=r"f_0 + \eta f_1")
    d.equal(reg.subs(beta, 0), eta / 4 * g0**2,
            r"$\beta = 0$ gives implicit gradient regularization, $\frac{\eta}{4}L'^2$",
            display=r"\tilde L - L\,\big|_{\beta=0}")
    d.equal(sp.Integral(-(1 - beta) * eta * f1, th), reg, r"so the regularizer is the antiderivative of "
            r"$-(1 - \beta)\eta f_1$ that vanishes where $L' = 0$", display=r"\int -(1-\beta)\,\eta f_1\,d\theta")
    d.result("vector_field", f0 + eta * f1, label=r"f_0 + \eta f_1").result("regularizer", reg, label=r"\tilde L - L")
    return d


def critical_sharpness() -> Derivation:
    """Largest Hessian eigenvalue each method tolerates at step η (edge of stability)."""
    d = Derivation(
        "critical-sharpness", "Critical sharpness: the edge of stability of GD, heavy ball and Nesterov",
        summary=("Each method is stable on an eigen-direction iff $x = \\eta\\lambda$ is below its $x_{\\max}$: "
                 "2 for GD, $2(1+\\beta)$ for heavy ball, $2(1+\\beta)/(1+2\\beta)$ for Nesterov (see "
                 "`gd-quadratic-stability`, `heavy-ball`, `nesterov`). The sharpness $\\lambda_{\\max}$ of the loss "
                 "therefore has to stay below $x_{\\max}/\\eta$; full-batch training is observed to hover at that "
                 "threshold (the edge of stability)."),
        references=["J. Cohen, S. Kaur, Y. Li, J. Z. Kolter and A. Talwalkar, Gradient descent on neural "
                    "networks typically occurs at the edge of stability, ICLR 2021"])
    from derive.rules.momentum import _jury, char_coefficients, heavy_ball_rule, nesterov_rule, x as xr

    lam = sp.Symbol("lambda", positive=True)
    d.equivalent(sp.Abs(1 - xr) < 1, xr, sp.Interval.open(0, 2),
                 r"GD's characteristic root is $1 - x$: stable iff $|1 - x| < 1$, with $x = \eta\lambda > 0$")
    d.solution(sp.Eq(eta * lam, 2), lam, 2 / eta, r"GD's critical sharpness: the curvature at which "
               r"$x = \eta\lambda$ reaches 2")
    for name, rule in [("heavy ball", heavy_ball_rule()), ("Nesterov", nesterov_rule())]:
        d.given(r"\text{%s}" % name, sp.Symbol("z") ** 2 + sp.Symbol("a_1") * sp.Symbol("z") + sp.Symbol("a_0"),
                f"{name}: its characteristic polynomial, with $a_1$ and $a_0$ below")
        hi = _jury(d, *char_coefficients(rule))
        d.solution(sp.Eq(eta * lam, hi), lam, hi / eta, f"{name}'s critical sharpness: the curvature at which "
                   r"$x = \eta\lambda$ reaches $x_{\max}$")
    d.equal(sp.Limit((2 + 2 * beta) / (1 + 2 * beta), beta, 1, "-"), sp.Rational(4, 3),
            r"Nesterov's threshold falls from $2/\eta$ at $\beta = 0$ to $4/(3\eta)$ as $\beta \to 1$",
            display=r"\lim_{\beta\to1}\eta\lambda_{\mathrm{N}}")
    d.result("gd", 2 / eta, label=r"\lambda_{\mathrm{crit}}^{\mathrm{GD}}")
    d.result("heavy_ball", (2 + 2 * beta) / eta, label=r"\lambda_{\mathrm{crit}}^{\mathrm{HB}}")
    d.result("nesterov", (2 + 2 * beta) / ((1 + 2 * beta) * eta), label=r"\lambda_{\mathrm{crit}}^{\mathrm{N}}")
    return d
