"""Gradient moments in the metric: how close the Hamiltonian formalism comes to RMSProp and Adam.

Hermosis' Hamiltonian H = (β/2k) Σ g^{ii} X_i² + (βc²/k) L + E(U, β) (seed 002, "Application")
with a diagonal inverse metric built from RMSProp's running second moment,

    g^{ii} = 1/(√v⁺_i + ε),   v⁺_i = α v_i + (1 − α) (∂L/∂w^i)²,

gives the learning velocity v^i = (k/hβ) ∂H/∂X_i = g^{ii} X_i / h and, with the seed's momentum
update and its Euler step (one coordinate; D = √v + ε, D⁺ = √v⁺ + ε, G = g(w)),

    X⁺ = μ X + κ G,   w⁺ = w − (τ/h) X⁺ / D⁺     (μ = e^{−γτ}, κ = c²(1 − μ)/(γh); β const: μ = 1, κ = τc²/h)

when the w-dependence of the metric is dropped from ∂H/∂w.  Compared exactly with
:func:`derive.rules.adaptive.rmsprop_rule` and :func:`derive.rules.adaptive.adam_rule`:

* plain RMSProp (μ = 0, lr = τκ/h): identical;
* Adam without bias correction (μ = β₁, α = β₂, X = κm/(1 − β₁), lr = τκ/(h(1 − β₁))): identical —
  the kinetic metric preconditions the accumulated momentum, exactly as Adam does;
* Adam with bias correction: the formalism with a time-dependent step η√c₂/c₁ and ε√c₂ in the metric;
* RMSProp with momentum (torch buffer b⁺ = μb + G/D⁺, X = κDb): differs by lr μ b (D⁺ − D)/D⁺,
  zero iff v is frozen (D⁺ = D), μ = 0 or b = 0;
* a metric evaluated at t − τ (v instead of v⁺) differs from torch by lr G (1/D − 1/D⁺);
* keeping ∂g^{ii}/∂w adds τX²∂_w g^{ii}/(2h) to X⁺, a Hessian term −τ(1−α)X²G G'/(2h√v⁺D⁺²)
  that no adaptive optimizer has.

References: E. Hermosis, Learning Dynamics v0.1.0 (2025), DOI 10.5281/zenodo.18071681;
D. Guskov, V. Vanchurin, "Covariant gradient descent", arXiv:2504.05279 (2025).
"""
from __future__ import annotations

import sympy as sp

from derive.rules import adaptive as ad
from derive.derivation import Derivation
from derive.update_rule import g

# the formalism's constants (seed 002): thermal mass β, k, h, step τ, c², cooling rate γ
beta, k, h, tau, c, gamma = sp.symbols("beta k h tau c gamma", positive=True)
X = sp.Symbol("X", real=True)  # the momentum conjugate to w (per coordinate)
mu = sp.Symbol("mu", positive=True)  # momentum retention μ = β(t−τ)/β(t)
kappa = sp.Symbol("kappa", positive=True)  # gradient coefficient of the momentum update
L = sp.Function("L")
E = sp.Function("E")
U = sp.Symbol("U", real=True)
tp = sp.Symbol("t'", real=True)
T = sp.Symbol("T", positive=True)  # the time t at the end of the step

theta, v, alpha, eps, b, m = ad.theta, ad.v, ad.alpha, ad.eps, ad.b, ad.m
G = g(theta)
v_new = alpha * v + (1 - alpha) * G**2  # RMSProp's square_avg at t
D, D_new = sp.sqrt(v) + eps, sp.sqrt(v_new) + eps


def _lib(rule) -> tuple[sp.Expr, ...]:
    """A library rule's update without weight decay (the Hamiltonian here has no harmonic term)."""
    return tuple(u.subs(ad.wd, 0) for u in rule.update)


def inverse_metric(second: sp.Expr) -> sp.Expr:
    """g^{ii} = 1/(√v_i + ε): ε outside the root, as torch (1/√(v + ε) would match eps_mode="inside")."""
    return 1 / (sp.sqrt(second) + eps)


def hamiltonian(second: sp.Expr) -> sp.Expr:
    """H = (β/2k) g^{ii} X² + (βc²/k) L(w) + E(U, β), one coordinate."""
    return beta / (2 * k) * inverse_metric(second) * X**2 + beta * c**2 / k * L(theta) + E(U, beta)


def hamiltonian_update(metric_at: str = "t") -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(w⁺, v⁺, X⁺): X⁺ = μX + κG, w⁺ = w − (τ/h) g^{ii} X⁺, metric from v⁺ ("t") or v ("t-tau")."""
    Xn = mu * X + kappa * G
    ginv = inverse_metric(v_new if metric_at == "t" else v)
    return theta - tau / h * ginv * Xn, v_new, Xn


def covariant_metric() -> Derivation:
    """Embedding gradient moments in the metric; see the module docstring for the results."""
    d = Derivation(
        "hermosis-covariant-metric",
        "Embedding gradient moments in the metric: how close the Hamiltonian formalism comes to RMSProp and Adam",
        summary=r"With the inverse metric $g^{ii} = 1/(\sqrt{v_i} + \epsilon)$ built from RMSProp's running second "
                r"moment and its dependence on the weight $\theta$ dropped from $\partial H/\partial\theta$ (the "
                r"metric treated as a given function of time), the seed's momentum update and Euler step give "
                r"$w^+ = \theta - (\tau/h)(\mu X + \kappa G)/(\sqrt{v^+} + \epsilon)$. This is exactly plain "
                r"RMSProp ($\mu = 0$) and exactly Adam without bias correction ($\mu = \beta_1$); Adam's bias "
                r"correction needs a time-dependent step and $\epsilon$. torch's `RMSprop` with momentum differs: "
                r"its buffer accumulates preconditioned gradients, the formalism preconditions the accumulated "
                r"momentum; the difference $\eta\mu b(D^+ - D)/D^+$ vanishes only for frozen $v$. Keeping the "
                "weight dependence of the metric adds a Hessian term to the force that no adaptive optimizer has.")
    d.references += ["E. Hermosis, Learning Dynamics, v0.1.0, 2025, DOI `10.5281/zenodo.18071681` (seed 002)",
                     "D. Guskov, V. Vanchurin, Covariant gradient descent, arXiv:2504.05279, 2025: "
                     r"$\dot q^{\mu} = -\gamma\, g^{\mu\nu}(t) F_{\nu}(t)$, force and metric from exponential moving averages of "
                     "the first and second gradient moments; RMSProp, Adam (and AdaBelief) as special limits "
                     "(abstract; equation as summarised in a third-party review). Their metric depends on $t$, not on "
                     "$q$",
                     "PyTorch documentation, `torch.optim.RMSprop` and `torch.optim.Adam`"]
    gi = sp.Symbol("g^{ii}", positive=True)
    ginv = inverse_metric(v_new)
    d.given(gi, ginv, r"the inverse metric from RMSProp's second moment $v^+ = \alpha v + (1 - \alpha)g(\theta)^2$ ($\epsilon$ "
            "outside the root, as torch; a diagonal metric keeps everything coordinate-wise)")
    H = hamiltonian(v_new)
    d.given(sp.Symbol("H"), H, r"Hermosis' Hamiltonian with the kinetic term $\frac{\beta}{2k} g^{ii} X_i^2$ (seed 002), one coordinate")
    vel = k / (h * beta) * sp.diff(H, X)
    d.equal(vel, ginv * X / h, r"differentiate the kinetic term in $X$: the learning velocity "
            r"$v^i = \frac{k}{h\beta}\,\partial H/\partial X_i = g^{ii}X_i/h$",
            display=r"\frac{k}{h\beta}\frac{\partial H}{\partial X}")
    # -- the force: the metric depends on w through v+ ----------------------------------------------
    dHdw = sp.diff(H, theta)
    extra = beta / (2 * k) * X**2 * sp.diff(ginv, theta)
    d.equal(dHdw, beta * c**2 / k * sp.diff(L(theta), theta) + extra,
            r"$g^{ii}$ depends on $\theta$ through $v^+$, so $\partial H/\partial\theta = \frac{\beta c^2}{k}L'(\theta) + "
            r"\frac{\beta}{2k}X^2\,\partial g^{ii}/\partial\theta$: a second force",
            display=r"\frac{\partial H}{\partial w}")
    Gp = sp.diff(G, theta)
    extra_X = tau / (2 * h) * X**2 * sp.diff(ginv, theta)
    d.equal(extra_X, -tau * (1 - alpha) * X**2 * G * Gp / (2 * h * sp.sqrt(v_new) * D_new**2),
            r"its contribution to $X^+$ over one step is $\tau\frac{k}{h\beta}\frac{\beta}{2k}X^2\,\partial g^{ii}/"
            r"\partial\theta$, which needs the Hessian $g'(\theta)$. We DROP it: the metric is treated as a given "
            r"function of time over each step ($v$ is a running average of past gradients, not a function on phase "
            r"space), as in covariant gradient descent, whose metric depends on $t$", display=r"\Delta X_{\partial g}")
    # -- the momentum update (seed: beta(t) X(t) = beta(t - tau) X(t - tau) + (c^2/h) G int beta) ------------
    bexp = beta * sp.exp(gamma * tp)
    d.equal(bexp.subs(tp, T - tau) / bexp.subs(tp, T), sp.exp(-gamma * tau),
            r"exponential cooling $\beta(t) = \beta e^{\gamma t}$ gives the retention $\mu = \beta(t - \tau)/\beta(t)$",
            display=r"\beta(t-\tau)/\beta(t)")
    d.equal(c**2 / h * sp.integrate(bexp, (tp, T - tau, T)) / bexp.subs(tp, T),
            c**2 * (1 - sp.exp(-gamma * tau)) / (gamma * h),
            r"the gradient coefficient $\kappa = (c^2/h)\,\beta(t)^{-1}\int\beta\,dt'$ over the step, with the "
            "gradient frozen",
            display=r"\kappa")
    d.equal(sp.limit(c**2 * (1 - sp.exp(-gamma * tau)) / (gamma * h), gamma, 0), tau * c**2 / h,
            r"constant $\beta$ ($\gamma \to 0$): $\mu = 1$ and $\kappa = \tau c^2/h$, the seed's accumulation "
            r"$X^+ = X + (\tau c^2/h)G$",
            display=r"\lim_{\gamma\to 0}\kappa")
    w_new, _, X_new = hamiltonian_update("t")
    d.given(sp.Symbol("w^+"), w_new, r"the seed's Euler step $w(t) = w(t - \tau) - (\tau/h)g^{ii}X(t)$ with $X^+ = \mu X + \kappa G$, the "
            r"metric at $t$ (from $v^+$) and its weight dependence dropped")
    # -- plain RMSProp -----------------------------------------------------------------------------
    lr = ad.eta
    plain = w_new.subs(mu, 0).subs(kappa, lr * h / tau)
    d.equal(plain - _lib(ad.rmsprop_rule())[0], 0, r"plain RMSProp (torch) is the case $\mu = 0$ (the fast-cooling limit) with learning rate "
            r"$\eta = \tau\kappa/h$; $v^+$ is the same EMA with $\alpha$, so the difference is zero",
            display=r"w^+\big|_{\mu=0} - w^+_{\mathrm{RMSProp}}")
    d.result("rmsprop_plain_difference", sp.S.Zero, step=-1, label=r"w^+\big|_{\mu=0} - w^+_{\mathrm{RMSProp}}")
    # -- Adam ----------------------------------------------------------------------------------------
    b1, b2 = ad.beta1, ad.beta2
    to_adam = {mu: b1, alpha: b2, X: kappa * m / (1 - b1)}
    adam_h = w_new.subs(to_adam).subs(kappa, lr * h * (1 - b1) / tau)
    d.equal(adam_h - _lib(ad.adam_rule(bias_correction="none"))[0], 0,
            r"Adam without bias correction is the case $\mu = \beta_1$, $\alpha = \beta_2$, "
            r"$X = \kappa m/(1 - \beta_1)$, $\eta = \tau\kappa/(h(1 - \beta_1))$: the metric preconditions the "
            "accumulated momentum, as Adam does, and the difference is zero", display=r"w^+\big|_{\mu=\beta_1} - w^+_{\mathrm{Adam}}")
    d.result("adam_no_bias_correction_difference", sp.S.Zero, step=-1,
             label=r"w^+\big|_{\mu=\beta_1} - w^+_{\mathrm{Adam}}")
    tt = ad.t
    C1, C2 = sp.symbols("c_1 c_2", positive=True)  # 1 - beta_i^{t+1} in (0, 1]
    mn, vn = b1 * m + (1 - b1) * G, b2 * v + (1 - b2) * G**2
    adam_bc = _lib(ad.adam_rule())[0]
    d.equal(adam_bc.subs({b1 ** (tt + 1): 1 - C1, b2 ** (tt + 1): 1 - C2}),
            theta - lr * sp.sqrt(C2) / C1 * mn / (sp.sqrt(vn) + eps * sp.sqrt(C2)),
            r"bias correction is what the formalism lacks: with $c_i = 1 - \beta_i^{t+1}$, Adam is the formalism with "
            r"the time-dependent step $\eta\sqrt{c_2}/c_1$ and $\epsilon\sqrt{c_2}$ in the metric; $c_i \to 1$ "
            r"as $t \to \infty$",
            display=r"w^+_{\mathrm{Adam}}")
    bias_gap = adam_bc - _lib(ad.adam_rule(bias_correction="none"))[0]
    # -- RMSProp with momentum -------------------------------------------------------------------------
    rm = _lib(ad.rmsprop_rule(momentum=True))
    to_torch = {X: kappa * D * b}
    mom_h = w_new.subs(to_torch).subs(kappa, lr * h / tau)
    mom_gap = sp.simplify(mom_h - rm[0])
    d.equal(mom_h - rm[0], lr * mu * b * (D_new - D) / D_new,
            r"torch's `RMSprop` with momentum accumulates $g/D^+$ in its buffer ($b^+ = \mu b + G/D^+$); the "
            r"formalism preconditions the accumulated momentum ($X = \kappa Db$, $\eta = \tau\kappa/h$). The "
            r"difference vanishes iff $D^+ = D$ ($v$ frozen: $\alpha = 1$ or $G^2 = v$), $\mu = 0$ or $b = 0$",
            display=r"w^+_{H} - w^+_{\mathrm{torch}}")
    buf_h = (X_new / (kappa * D_new)).subs(to_torch)
    d.equal(buf_h - rm[2], mu * b * (D - D_new) / D_new,
            r"the same in the buffer: $X^+/(\kappa D^+) = \mu(D/D^+)b + G/D^+$ against torch's $\mu b + G/D^+$",
            display=r"\frac{X^+}{\kappa D^+} - b^+_{\mathrm{torch}}")
    # -- the metric at t - tau ---------------------------------------------------------------------------
    old = hamiltonian_update("t-tau")[0].subs(mu, 0).subs(kappa, lr * h / tau)
    d.equal(old - _lib(ad.rmsprop_rule())[0], lr * G * (1 / D_new - 1 / D),
            r"an explicit Euler metric $g^{ii}(t - \tau)$ uses $v$ instead of $v^+$, so RMSProp differs by "
            r"$\eta G(1/D^+ - 1/D)$",
            display=r"w^+_{g(t-\tau)} - w^+_{\mathrm{RMSProp}}")
    d.result("hamiltonian_update", w_new, label="w^+")
    d.result("metric_force_term", extra_X, label=r"\Delta X_{\partial g}")
    d.result("adam_bias_correction_difference", bias_gap, label=r"w^+_{\mathrm{Adam}} - w^+\big|_{\mu=\beta_1}")
    d.result("rmsprop_momentum_difference", mom_gap, label=r"w^+_{H} - w^+_{\mathrm{torch}}")
    d.result("rmsprop_momentum_buffer_difference", mu * b * (D - D_new) / D_new,
             label=r"\frac{X^+}{\kappa D^+} - b^+_{\mathrm{torch}}")
    d.result("metric_at_previous_step_difference", lr * G * (1 / D_new - 1 / D),
             label=r"w^+_{g(t-\tau)} - w^+_{\mathrm{RMSProp}}")
    return d
