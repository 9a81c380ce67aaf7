"""Lyapunov functions of learning dynamics, derived and machine-checked, with their assumptions.

* Gradient flow θ' = −∇L: dL/dt = −‖∇L‖² ≤ 0; under the Polyak–Łojasiewicz inequality
  ‖∇L‖² ≥ 2μ(L − L*) (implied by μ-strong convexity) L − L* ≤ e^{−2μt}(L₀ − L*), with equality
  on the quadratic ½μθ².
* The heavy-ball ODE θ'' + γθ' + ∇L(θ) = 0 (the continuous limit of momentum): the energy
  E = ½‖θ'‖² + L(θ) has dE/dt = −γ‖θ'‖² ≤ 0.
* The descent lemma for an ℓ-smooth L: L(θ − η∇L) ≤ L(θ) − η(1 − ℓη/2)‖∇L‖², a guaranteed
  decrease iff 0 < η < 2/ℓ, largest at η = 1/ℓ (Y. Nesterov, Introductory Lectures on Convex
  Optimization, 2004, Lemma 1.2.3 and Section 1.2.3).

References: H. Karimi, J. Nutini, M. Schmidt, "Linear convergence of gradient and proximal-gradient
methods under the Polyak-Łojasiewicz condition", ECML-PKDD 2016; B. T. Polyak 1963.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

t = sp.Symbol("t", real=True)
mu, gamma, ell = sp.symbols("mu gamma ell", positive=True)
eta = sp.Symbol("eta", positive=True)


def gradient_flow() -> Derivation:
    """dL/dt = −‖∇L‖² along gradient flow, and the PL rate e^{−2μt}."""
    x1, x2 = sp.Function("theta_1")(t), sp.Function("theta_2")(t)
    L = sp.Function("L")
    d = Derivation("lyapunov-gradient-flow", "The loss is a Lyapunov function of gradient flow",
                   summary=r"Along $\dot\theta = -\nabla L$ the loss decreases at the rate $\|\nabla L\|^2$ (shown "
                           r"for two coordinates of a generic smooth $L$; the computation is the same in any "
                           r"dimension). Under the Polyak-Lojasiewicz inequality, implied by $\mu$-strong convexity, "
                           r"the gap to the minimum decays like $e^{-2\mu t}$; on the quadratic $\mu\theta^2/2$ with "
                           "equality.")
    d.references.append("H. Karimi, J. Nutini, M. Schmidt, Linear convergence of gradient and proximal-gradient "
                        "methods under the Polyak-Lojasiewicz condition, ECML-PKDD 2016")
    loss = L(x1, x2)
    g1, g2 = sp.diff(loss, x1), sp.diff(loss, x2)
    flow = {sp.Derivative(x1, t): -g1, sp.Derivative(x2, t): -g2}
    d.given(sp.Matrix([sp.Derivative(x1, t), sp.Derivative(x2, t)]), sp.Matrix([-g1, -g2]),
            r"gradient flow, with $L$ smooth ($C^1$)")
    dldt = sp.diff(loss, t)
    d.equal(dldt, g1 * sp.Derivative(x1, t) + g2 * sp.Derivative(x2, t), "the chain rule along the trajectory",
            display=r"\frac{d}{dt} L(\theta(t))")
    d.equal(dldt.subs(flow), -(g1**2 + g2**2), r"substitute the flow: $dL/dt = -\|\nabla L\|^2 \le 0$, zero only "
            "at critical points",
            display=r"\frac{d}{dt} L\,\big|_{\dot\theta = -\nabla L}")
    u, u0, lstar = sp.Function("u")(t), sp.Symbol("u_0", positive=True), sp.Symbol("L^*", real=True)
    d.given(sp.Symbol(r"\|\nabla L\|^2"), 2 * mu * sp.Symbol(r"(L - L^*)"),
            r"the Polyak-Lojasiewicz inequality (a consequence of $\mu$-strong convexity; an assumption)",
            relation=">=")
    d.given(sp.Derivative(u, t), -2 * mu * u, r"so $u = L - L^*$ satisfies $\dot u = -\|\nabla L\|^2 \le -2\mu u$",
            relation="<=")
    sol = u0 * sp.exp(-2 * mu * t)
    d.equal(sp.diff(sol, t) + 2 * mu * sol, 0, r"$u_0 e^{-2\mu t}$ solves the comparison equation $\dot u = -2\mu u$",
            display=r"\dot u + 2\mu u\,\big|_{u = u_0 e^{-2\mu t}}")
    d.given(sp.Symbol(r"L(\theta(t)) - L^*"), sp.Symbol(r"e^{-2\mu t}\,(L(\theta_0) - L^*)"),
            "Gronwall's inequality (a theorem, given)", relation="<=")
    th0 = sp.Symbol("theta_0", real=True)
    traj = th0 * sp.exp(-mu * t)
    d.equal(sp.diff(traj, t) + mu * traj, 0, r"on $L = \mu\theta^2/2$ the flow $\dot\theta = -\mu\theta$ is "
            r"solved by $\theta_0 e^{-\mu t}$", display=r"\dot\theta + \mu\theta\,\big|_{\theta = \theta_0 e^{-\mu t}}")
    d.equal(mu * traj**2 / 2, sp.exp(-2 * mu * t) * mu * th0**2 / 2,
            r"so the rate $2\mu$ is attained: the bound is tight", display=r"L(\theta(t))")
    d.equal(-sp.Derivative(sp.log(mu * traj**2 / 2), t), 2 * mu, r"the decay rate of the loss there, "
            r"$-\frac{d}{dt}\log L(\theta(t))$, is exactly $2\mu$", display=r"-\frac{d}{dt}\log L(\theta(t))")
    d.result("dL_dt", -(g1**2 + g2**2), label=r"\frac{dL}{dt}")
    d.result("rate", 2 * mu, label=r"-\frac{d}{dt}\log L(\theta(t))")
    return d


def heavy_ball_energy() -> Derivation:
    """dE/dt = −γ θ'² for E = ½θ'² + L(θ) along θ'' + γθ' + L'(θ) = 0."""
    th = sp.Function("theta")(t)
    L = sp.Function("L")
    d = Derivation("lyapunov-heavy-ball", "The energy of the heavy-ball ODE is a Lyapunov function",
                   summary=r"Heavy ball's continuous limit is the damped oscillator $\ddot\theta + \gamma\dot\theta "
                           r"+ \nabla L = 0$ (derivation `heavy-ball-oscillator`). Its energy, kinetic plus potential, "
                           r"dissipates at the rate $\gamma\|\dot\theta\|^2$: friction is what makes momentum "
                           "converge. Shown per coordinate; the vector case sums the same terms.")
    d.references.append("B. T. Polyak, Some methods of speeding up the convergence of iteration methods, 1964")
    d.references.append("H. Attouch, X. Goudou, P. Redont, The heavy ball with friction method, 2000")
    vel, acc = sp.Derivative(th, t), sp.Derivative(th, (t, 2))
    d.given(acc, -gamma * vel - sp.diff(L(th), th), r"the damped oscillator, with friction $\gamma > 0$")
    energy = vel**2 / 2 + L(th)
    d.given(sp.Symbol("E"), energy, "kinetic plus potential energy")
    dedt = sp.diff(energy, t)
    d.equal(dedt, vel * acc + sp.diff(L(th), th) * vel, "the chain rule", display=r"\frac{dE}{dt}")
    d.equal(dedt.subs(acc, -gamma * vel - sp.diff(L(th), th)), -gamma * vel**2,
            r"substitute the equation of motion: $dE/dt = -\gamma\dot\theta^2 \le 0$",
            display=r"\frac{dE}{dt}\,\big|_{\mathrm{ODE}}")
    a, w = sp.Symbol("a", real=True), sp.Symbol("omega", positive=True)
    under = a * sp.exp(-gamma * t / 2) * sp.cos(w * t)
    d.equal(sp.diff(under, t, 2) + gamma * sp.diff(under, t) + (w**2 + gamma**2 / 4) * under, 0,
            r"on $L = \lambda\theta^2/2$ with $\lambda = \omega^2 + \gamma^2/4$ (underdamped) a solution is "
            r"$a e^{-\gamma t/2}\cos\omega t$: the energy decays like $e^{-\gamma t}$ on average",
            display=r"\ddot\theta + \gamma\dot\theta + \lambda\theta\,\big|_{\theta = a e^{-\gamma t/2}\cos\omega t}")
    d.result("dE_dt", -gamma * vel**2, label=r"\frac{dE}{dt}")
    return d


def descent_lemma() -> Derivation:
    """One GD step on an ℓ-smooth loss decreases it iff 0 < η < 2/ℓ."""
    L0, G = sp.Symbol("L(theta)", real=True), sp.Symbol(r"\|g\|^2", nonnegative=True)
    d = Derivation("descent-lemma", "The descent lemma: the step-size condition for an ell-smooth loss",
                   summary=r"For a loss whose gradient is $\ell$-Lipschitz, one gradient step of size $\eta$ "
                           r"decreases the loss by at least $\eta(1 - \ell\eta/2)\|g\|^2$: a guaranteed decrease iff "
                           r"$0 < \eta < 2/\ell$, largest at $\eta = 1/\ell$ (decrease $\|g\|^2/(2\ell)$). On a "
                           r"quadratic $\ell = \lambda_{\max}$, the same $2/\lambda_{\max}$ as the stability analysis "
                           "of `gd-quadratic-stability`.")
    d.references.append("Y. Nesterov, Introductory Lectures on Convex Optimization, 2004, Lemma 1.2.3")
    d.given(sp.Symbol(r"L(y)"), sp.Symbol(r"L(x) + g^\top (y - x) + \tfrac{\ell}{2}\|y - x\|^2"),
            r"$\ell$-smoothness ($\|\nabla L(x) - \nabla L(y)\| \le \ell\|x - y\|$) implies this upper model, "
            r"with $g = \nabla L(x)$ (a theorem, given)", relation="<=")
    bound = L0 + (-eta * G) + ell / 2 * eta**2 * G
    d.equal(bound, L0 - eta * (1 - ell * eta / 2) * G,
            r"substitute $y = x - \eta g$: $g^\top(y - x) = -\eta\|g\|^2$ and $\|y - x\|^2 = \eta^2\|g\|^2$",
            display=r"L(x) + g^\top(y - x) + \tfrac{\ell}{2}\|y - x\|^2\,\big|_{y = x - \eta g}")
    d.equivalent(sp.And(eta > 0, 1 - ell * eta / 2 > 0), eta, sp.Interval.open(0, 2 / ell),
                 r"a guaranteed decrease (for $g \ne 0$) iff $\eta(1 - \ell\eta/2) > 0$")
    dec = eta * (1 - ell * eta / 2) * G
    d.solution(sp.Eq(sp.diff(dec, eta), 0), eta, 1 / ell, "the guaranteed decrease is largest where its derivative "
               r"in $\eta$ vanishes")
    d.equal(dec.subs(eta, 1 / ell), G / (2 * ell), r"there it is $\|g\|^2/(2\ell)$",
            display=r"\eta(1 - \tfrac{\ell\eta}{2})\|g\|^2\,\big|_{\eta = 1/\ell}")
    d.equal(L0 - bound, dec, r"the guaranteed decrease: $L(x)$ minus the upper model at $y = x - \eta g$",
            display=r"L(x) - \big(L(x) + g^\top(y - x) + \tfrac{\ell}{2}\|y - x\|^2\big)\big|_{y = x - \eta g}")
    d.result("decrease", eta * (1 - ell * eta / 2) * G, label=r"\Delta L_{\mathrm{guaranteed}}")
    d.result("eta_max", 2 / ell, label=r"\eta_{\max}")
    d.result("eta_best", 1 / ell, label=r"\eta_{\mathrm{best}}")
    return d
