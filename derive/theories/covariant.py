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
        summary="With the inverse metric g^ii = 1/(sqrt(v_i) + eps) built from RMSProp's running second moment and "
                "its w-dependence dropped from dH/dw (the metric treated as a given function of time), the seed's "
                "momentum update and Euler step give w+ = w - (tau/h) (mu X + kappa G)/(sqrt(v+) + eps). This is "
                "exactly plain RMSProp (mu = 0) and exactly Adam without bias correction (mu = beta_1); Adam's bias "
                "correction needs a time-dependent step and eps. torch's RMSprop with momentum differs: its buffer "
                "accumulates preconditioned gradients, the formalism preconditions the accumulated momentum; the "
                "difference lr mu b (D+ - D)/D+ vanishes only for frozen v. Keeping the w-dependence of the metric "
                "adds a Hessian term to the force that no adaptive optimizer has.")
    d.references += ["E. Hermosis, Learning Dynamics, v0.1.0, 2025, DOI 10.5281/zenodo.18071681 (seed 002)",
                     "D. Guskov, V. Vanchurin, Covariant gradient descent, arXiv:2504.05279, 2025: "
                     "q'^mu = -gamma g^{mu nu}(t) F_nu(t), force and metric from exponential moving averages of the "
                     "first and second gradient moments; RMSProp, Adam (and AdaBelief) as special limits "
                     "(abstract; equation as summarised in a third-party review). Their metric depends on t, not on q",
                     "PyTorch documentation, torch.optim.RMSprop and torch.optim.Adam"]
    gi = sp.Symbol("g^{ii}", positive=True)
    ginv = inverse_metric(v_new)
    d.given(gi, ginv, "the inverse metric from RMSProp's second moment v+ = alpha v + (1 - alpha) g(w)^2 "
            "(eps outside the root, as torch; a diagonal metric keeps everything coordinate-wise)")
    H = hamiltonian(v_new)
    d.given(sp.Symbol("H"), H, "Hermosis' Hamiltonian with the kinetic term (beta/2k) g^ii X_i^2 (seed 002), "
            "one coordinate")
    vel = k / (h * beta) * sp.diff(H, X)
    d.equal(vel, ginv * X / h, "the learning velocity v^i = (k/(h beta)) dH/dX_i = g^ii X_i / h",
            display=r"\frac{k}{h\beta}\frac{\partial H}{\partial X}")
    # -- the force: the metric depends on w through v+ ----------------------------------------------
    dHdw = sp.diff(H, theta)
    extra = beta / (2 * k) * X**2 * sp.diff(ginv, theta)
    d.equal(dHdw, beta * c**2 / k * sp.diff(L(theta), theta) + extra,
            "dH/dw = (beta c^2/k) L'(w) + (beta/2k) X^2 d g^ii/dw: the metric's w-dependence adds a second force",
            display=r"\frac{\partial H}{\partial w}")
    Gp = sp.diff(G, theta)
    extra_X = tau / (2 * h) * X**2 * sp.diff(ginv, theta)
    d.equal(extra_X, -tau * (1 - alpha) * X**2 * G * Gp / (2 * h * sp.sqrt(v_new) * D_new**2),
            "its contribution to X+ over one step, tau (k/(h beta)) (beta/2k) X^2 dg^ii/dw: it needs the Hessian "
            "g'(w). We DROP it: the metric is treated as a given function of time over each step (v is a running "
            "average of past gradients, not a function on phase space), as in covariant gradient descent, "
            "whose metric depends on t", display=r"\Delta X_{\partial g}")
    # -- the momentum update (seed: beta(t) X(t) = beta(t - tau) X(t - tau) + (c^2/h) G int beta) ------------
    bexp = beta * sp.exp(gamma * tp)
    d.equal(bexp.subs(tp, T - tau) / bexp.subs(tp, T), sp.exp(-gamma * tau),
            "exponential cooling beta(t) = beta e^{gamma t}: the retention mu = beta(t - tau)/beta(t)",
            display=r"\beta(t-\tau)/\beta(t)")
    d.equal(c**2 / h * sp.integrate(bexp, (tp, T - tau, T)) / bexp.subs(tp, T),
            c**2 * (1 - sp.exp(-gamma * tau)) / (gamma * h),
            "the gradient coefficient kappa = (c^2/h) (1/beta(t)) int beta dt' (gradient frozen over the step)",
            display=r"\kappa")
    d.equal(sp.limit(c**2 * (1 - sp.exp(-gamma * tau)) / (gamma * h), gamma, 0), tau * c**2 / h,
            "constant beta (gamma -> 0): mu = 1, kappa = tau c^2/h, the seed's accumulation X+ = X + (tau c^2/h) G",
            display=r"\lim_{\gamma\to 0}\kappa")
    w_new, _, X_new = hamiltonian_update("t")
    d.given(sp.Symbol("w^+"), w_new, "the seed's Euler step w(t) = w(t - tau) - (tau/h) g^ii X(t), X+ = mu X + "
            "kappa G, metric at t (from v+), its w-dependence dropped")
    # -- plain RMSProp -----------------------------------------------------------------------------
    lr = ad.eta
    plain = w_new.subs(mu, 0).subs(kappa, lr * h / tau)
    d.equal(plain - _lib(ad.rmsprop_rule())[0], 0, "plain RMSProp (torch): mu = 0 (the fast-cooling limit) and "
            "lr = tau kappa/h; v+ is the same EMA with alpha. Zero difference",
            display=r"w^+\big|_{\mu=0} - w^+_{\mathrm{RMSProp}}")
    d.result("rmsprop_plain_difference", sp.S.Zero, step=-1)
    # -- Adam ----------------------------------------------------------------------------------------
    b1, b2 = ad.beta1, ad.beta2
    to_adam = {mu: b1, alpha: b2, X: kappa * m / (1 - b1)}
    adam_h = w_new.subs(to_adam).subs(kappa, lr * h * (1 - b1) / tau)
    d.equal(adam_h - _lib(ad.adam_rule(bias_correction="none"))[0], 0,
            "Adam without bias correction: mu = beta_1, alpha = beta_2, X = kappa m/(1 - beta_1), "
            "lr = tau kappa/(h (1 - beta_1)). The metric preconditions the accumulated momentum, as Adam does. "
            "Zero difference", display=r"w^+\big|_{\mu=\beta_1} - w^+_{\mathrm{Adam}}")
    d.result("adam_no_bias_correction_difference", sp.S.Zero, step=-1)
    tt = ad.t
    C1, C2 = sp.symbols("c_1 c_2", positive=True)  # 1 - beta_i^{t+1} in (0, 1]
    mn, vn = b1 * m + (1 - b1) * G, b2 * v + (1 - b2) * G**2
    adam_bc = _lib(ad.adam_rule())[0]
    d.equal(adam_bc.subs({b1 ** (tt + 1): 1 - C1, b2 ** (tt + 1): 1 - C2}),
            theta - lr * sp.sqrt(C2) / C1 * mn / (sp.sqrt(vn) + eps * sp.sqrt(C2)),
            "bias correction is what the formalism lacks: Adam (c_i = 1 - beta_i^{t+1}) is the formalism with the "
            "time-dependent step lr sqrt(c_2)/c_1 and eps sqrt(c_2) in the metric; c_i -> 1 as t -> oo",
            display=r"w^+_{\mathrm{Adam}}")
    bias_gap = adam_bc - _lib(ad.adam_rule(bias_correction="none"))[0]
    # -- RMSProp with momentum -------------------------------------------------------------------------
    rm = _lib(ad.rmsprop_rule(momentum=True))
    to_torch = {X: kappa * D * b}
    mom_h = w_new.subs(to_torch).subs(kappa, lr * h / tau)
    mom_gap = sp.simplify(mom_h - rm[0])
    d.equal(mom_h - rm[0], lr * mu * b * (D_new - D) / D_new,
            "torch RMSprop with momentum accumulates g/D+ in its buffer (b+ = mu b + G/D+); the formalism "
            "preconditions the accumulated momentum (X = kappa D b, lr = tau kappa/h). The difference vanishes "
            "iff D+ = D (v frozen: alpha = 1 or G^2 = v), mu = 0 or b = 0",
            display=r"w^+_{H} - w^+_{\mathrm{torch}}")
    buf_h = (X_new / (kappa * D_new)).subs(to_torch)
    d.equal(buf_h - rm[2], mu * b * (D - D_new) / D_new,
            "the same in the buffer: X+/(kappa D+) = mu (D/D+) b + G/D+ against torch's mu b + G/D+",
            display=r"\frac{X^+}{\kappa D^+} - b^+_{\mathrm{torch}}")
    # -- the metric at t - tau ---------------------------------------------------------------------------
    old = hamiltonian_update("t-tau")[0].subs(mu, 0).subs(kappa, lr * h / tau)
    d.equal(old - _lib(ad.rmsprop_rule())[0], lr * G * (1 / D_new - 1 / D),
            "an explicit Euler metric g^ii(t - tau) uses v instead of v+: RMSProp differs by lr G (1/D+ - 1/D)",
            display=r"w^+_{g(t-\tau)} - w^+_{\mathrm{RMSProp}}")
    d.result("hamiltonian_update", w_new)
    d.result("metric_force_term", extra_X)
    d.result("adam_bias_correction_difference", bias_gap)
    d.result("rmsprop_momentum_difference", mom_gap)
    d.result("rmsprop_momentum_buffer_difference", mu * b * (D - D_new) / D_new)
    d.result("metric_at_previous_step_difference", lr * G * (1 / D_new - 1 / D))
    return d
