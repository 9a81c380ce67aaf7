"""The convention differences of NAdam, RAdam, Adamax and Lion as derivations SymPy checks.

* ``nadam_schedule``: torch/Keras' momentum schedule vs optax's constant β₁: the limit, and the
  first step of each (they differ by a factor 1.06 vs 1.47 at β₁ = 0.9);
* ``nadam_frozen``: the preconditioned sharpness threshold of NAdam with a frozen preconditioner
  and a constant μ, 2(1 + β₁)/(1 + β₁ − 2μβ₁): 1 + 2β₁ times below Adam's at μ = β₁;
* ``radam_threshold``: ρ_t > 4 (the paper) first holds at t = 5 and ρ_t > 5 (torch, optax) at
  t = 6 for β₂ = 0.999 (exact arithmetic), r_t → 1, and torch's ε placement;
* ``adamax_eps``: ε inside the max (torch) vs in the denominator (tf.keras): the same first step,
  then denominators apart by ε(1 − β₂) while the decayed max wins;
* ``lion_decay``: Lion's decoupled decay: per-step factor 1 − ηλ, the fixed point −s/λ of a constant
  sign, why lr·wd is what to keep when porting from AdamW, and the coupled mistake.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation
from derive.rules import adam_family as af
from derive.update_rule import UpdateRule, g

eta, beta1, beta2, eps, wd, theta, m = af.eta, af.beta1, af.beta2, af.eps, af.wd, af.theta, af.m
gamma = sp.Symbol("gamma", positive=True)  # a positive gradient value
lam = sp.Symbol("lambda", positive=True)  # curvature of the quadratic
x = sp.Symbol("x", positive=True)  # eta p lambda
z = sp.Symbol("z")
p = sp.Symbol("p", positive=True)  # the frozen preconditioner 1/(sqrt(v-hat) + eps)
mu = sp.Symbol("mu", nonnegative=True)  # a constant momentum coefficient


def _first_step(rule: UpdateRule, value, **subs) -> sp.Expr:
    """θ⁺ − θ of ``rule`` at its first step (initial state) with g(θ) = value and no weight decay."""
    start = dict(zip(rule.state[1:], rule.init))
    e = rule.update[0].subs(g(theta), value).subs({wd: 0, **subs}).subs(start)
    return e - theta


def nadam_schedule() -> Derivation:
    """μ_t → β₁; momentum_decay = 0 gives β₁/2; the first step under each convention."""
    psi = sp.Symbol("psi", positive=True)
    t = sp.Symbol("t", positive=True)
    d = Derivation("nadam-momentum-schedule", "NAdam: torch's momentum schedule vs optax's constant beta_1",
                   summary="torch.optim.NAdam and tf.keras Nadam use mu_t = beta_1 (1 - 0.96^(t psi)/2), psi = "
                           "momentum_decay = 0.004; optax.nadam uses mu_t = beta_1. The schedule tends to beta_1 only "
                           "as t -> oo (0.96^(0.004 t) is still 0.85 at t = 1000), it starts at about beta_1/2, and "
                           "momentum_decay = 0 does not switch it off but fixes mu = beta_1/2. The first step is "
                           "-eta (1 + mu_2 (1 - beta_1)/(1 - mu_1 mu_2)) sign(g) (eps -> 0) under the schedule and "
                           "-eta (1 + 2 beta_1)/(1 + beta_1) sign(g) with a constant beta_1: 1.06 eta vs 1.47 eta.")
    d.references.append("T. Dozat, Incorporating Nesterov momentum into Adam, ICLR 2016 workshop")
    d.references.append("torch.optim.NAdam and tf.keras.optimizers.Nadam docs (schedule); optax.nadam / "
                        "optax.scale_by_adam(nesterov=True) docs (constant beta_1)")
    sched = af.mu_schedule(t, "dozat").subs(af.psi, psi)
    d.given(sp.Symbol(r"\mu_t"), sched, "torch/Keras: the momentum schedule (mu_product = prod of mu_1..mu_t)")
    d.equal(sp.limit(sched, t, sp.oo), beta1, "0.96^(t psi) -> 0 for psi > 0: the schedule tends to optax's beta_1",
            display=r"\lim_{t\to\infty}\mu_t")
    d.equal(af.mu_schedule(t, "dozat").subs(af.psi, 0), beta1 / 2,
            "momentum_decay = 0 is not a constant beta_1: every mu_t is beta_1/2", display=r"\mu_t\big|_{\psi=0}")
    mu1, mu2 = sched.subs(t, 1), sched.subs(t, 2)
    torch_rule = af.nadam_rule()
    first = _first_step(torch_rule, gamma).subs(af.psi, psi)
    factor_torch = 1 + mu2 * (1 - beta1) / (1 - mu1 * mu2)
    d.equal(first, -eta * gamma / (gamma + eps) * factor_torch,
            "first step of torch's rule from the zero state, gradient gamma > 0 (mu_1, mu_2 from the schedule)",
            display=r"\Delta\theta_{1,\mathrm{torch}}")
    const = _first_step(af.nadam_rule("constant"), gamma)
    factor_const = (1 + 2 * beta1) / (1 + beta1)
    d.equal(const, -eta * gamma / (gamma + eps) * factor_const,
            "first step with mu_t = beta_1 (optax): 1 + beta_1 (1 - beta_1)/(1 - beta_1^2)",
            display=r"\Delta\theta_{1,\mathrm{optax}}")
    d.equal(factor_const.subs(beta1, sp.Rational(9, 10)), sp.Rational(28, 19),
            "at beta_1 = 0.9 optax's first step is 28/19 = 1.47 times eta sign(g) (eps -> 0)",
            display=r"F_{\mathrm{optax}}\big|_{\beta_1=0.9}")
    d.result("mu_limit", beta1)
    d.result("first_step_torch", -eta * gamma / (gamma + eps) * factor_torch)
    d.result("first_step_constant", -eta * gamma / (gamma + eps) * factor_const)
    return d


def frozen_nadam_rule() -> UpdateRule:
    """NAdam late in training with P = p frozen and a constant μ: θ⁺ = θ − ηp((1 − μ)g + μm⁺)."""
    mn = beta1 * m + (1 - beta1) * g(theta)
    return UpdateRule("nadam-frozen", "NAdam with a frozen preconditioner", (theta, m),
                      {"lr": eta, "beta1": beta1}, (theta - eta * p * ((1 - mu) * g(theta) + mu * mn), mn),
                      state_names=("exp_avg",), init=(sp.S.Zero,))


def nadam_frozen() -> Derivation:
    """x_max = 2(1 + β₁)/(1 + β₁ − 2μβ₁) for x = ηpλ (preconditioned sharpness times the lr)."""
    k, j = sp.symbols("k j", positive=True)  # beta_1 = k/(1 + k), mu = j/(1 + j): both in (0, 1)
    rule = frozen_nadam_rule()
    d = Derivation("nadam-frozen-preconditioner", "NAdam with a frozen preconditioner: its stability threshold",
                   summary="With the bias corrections gone, P = diag(1/(sqrt(v-hat) + eps)) held fixed and a constant "
                           "momentum coefficient mu, NAdam on a quadratic is stable along an eigen-direction of PH "
                           "(eigenvalue a) iff eta a < 2(1 + beta_1)/(1 + beta_1 - 2 mu beta_1). At mu = beta_1 "
                           "(optax, or torch's schedule as t -> oo) this is Adam's 2(1 + beta_1)/(1 - beta_1) divided "
                           "by 1 + 2 beta_1: 95/7 = 13.6 instead of 38 at beta_1 = 0.9.")
    d.references.append("J. M. Cohen et al., Adaptive gradient methods at the edge of stability, arXiv:2207.14484 "
                        "(2022), for Adam's threshold")
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("m^{+}")]), rule.as_matrix(),
            "t large (1 - prod mu -> 1, 1 - beta_2^t -> 1), p = 1/(sqrt(v-hat) + eps) and mu held fixed")
    mat = rule.iteration_matrix(lam)
    d.equal(mat, sp.Matrix([[1 - eta * p * lam * (1 - mu * beta1), -eta * p * mu * beta1], [(1 - beta1) * lam, beta1]]),
            "the map on L = lambda theta^2/2", display=r"M(\lambda)")
    char = rule.characteristic_polynomial(lam, z).subs(lam, x / (eta * p))
    a1, a0 = -(1 + beta1 - x * (1 - mu * beta1)), beta1 * (1 - x * (1 - mu))
    d.equal(sp.expand(char), sp.expand(z**2 + a1 * z + a0), "its characteristic polynomial in x = eta p lambda",
            display=r"\det(zI - M)\big|_{x=\eta p\lambda}")
    d.given(r"\text{stable}", r"P(1) > 0,\; P(-1) > 0,\; |a_0| < 1", "Jury / Schur-Cohn for a real monic quadratic")
    d.equal(1 + a1 + a0, (1 - beta1) * x, "P(1) > 0 for every x > 0", display="P(1)")
    x_max = 2 * (1 + beta1) / (1 + beta1 - 2 * mu * beta1)
    d.equal(1 - a1 + a0, (1 + beta1 - 2 * mu * beta1) * (x_max - x), "P(-1) > 0 iff x < x_max", display="P(-1)")
    d.solution(sp.Eq(1 - a1 + a0, 0), x, x_max, "x_max, the root of P(-1)")
    root_step = len(d.steps) - 1
    d.positive((1 + beta1 - 2 * mu * beta1).subs({beta1: k / (1 + k), mu: j / (1 + j)}),
               "its slope is positive for beta_1, mu in (0, 1) (written k/(1 + k), j/(1 + j))",
               display=r"1 + \beta_1 - 2\mu\beta_1")
    slack = sp.factor(sp.simplify((1 + beta1) / beta1 - x_max * (1 - mu)))
    d.equal((1 + beta1) / beta1 - x_max * (1 - mu), slack,
            "a_0 > -1 iff x (1 - mu) < 1 + 1/beta_1; at x = x_max the margin is",
            display=r"\frac{1+\beta_1}{\beta_1} - x_{\max}(1-\mu)")
    d.positive(slack.subs({beta1: k / (1 + k), mu: j / (1 + j)}), "positive, so a_0 > -1 on (0, x_max); a_0 < 1 as "
               "x > 0", display=r"\frac{1+\beta_1}{\beta_1} - x_{\max}(1-\mu)")
    d.equal(x_max.subs(mu, beta1), 2 * (1 + beta1) / ((1 - beta1) * (1 + 2 * beta1)),
            "mu = beta_1: Adam's threshold divided by 1 + 2 beta_1", display=r"x_{\max}\big|_{\mu=\beta_1}")
    d.equal(x_max.subs(mu, beta1).subs(beta1, sp.Rational(9, 10)), sp.Rational(95, 7), "at beta_1 = 0.9",
            display=r"x_{\max}\big|_{\mu=\beta_1=0.9}")
    d.equal(x_max.subs({mu: beta1 / 2}).subs(beta1, sp.Rational(9, 10)), sp.Rational(380, 109),
            "mu = beta_1/2 (torch with momentum_decay = 0) at beta_1 = 0.9", display=r"x_{\max}\big|_{\mu=0.45}")
    d.equal(x_max.subs(mu, 0), 2, "mu = 0: preconditioned gradient descent", display=r"x_{\max}\big|_{\mu=0}")
    d.result("x_max", x_max, step=root_step)
    return d


def radam_threshold() -> Derivation:
    """ρ_t > 4 first at t = 5, ρ_t > 5 first at t = 6 (β₂ = 0.999); r_t → 1; torch's ε."""
    k = sp.Symbol("k", positive=True)  # beta_2 = 1/(1 + k)
    ts = sp.Symbol("t", positive=True)
    d = Derivation("radam-rectification-threshold", "RAdam: when the rectification starts (rho_t > 4 or > 5)",
                   summary="RAdam takes momentum-SGD steps until rho_t exceeds a threshold, then Adam steps scaled by "
                           "r_t. The paper's Algorithm 2 rectifies when rho_t > 4, torch.optim.RAdam and optax.radam "
                           "when rho_t > 5. For beta_2 = 0.999, rho_t > 4 first holds at t = 5 and rho_t > 5 at "
                           "t = 6: the two conventions differ at step 5 only, where the paper takes an Adam step "
                           "scaled by r_5 = 0.0173 instead of a momentum-SGD step. r_t -> 1 as t -> oo. torch adds "
                           "eps to sqrt(v) before the bias correction: its eps is eps/sqrt(1 - beta_2^t) on sqrt(v-hat).")
    d.references.append("L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao, J. Han, On the variance of the adaptive "
                        "learning rate and beyond, ICLR 2020 (Algorithm 2)")
    d.references.append("torch.optim.RAdam docs (rho_t > 5); optax.scale_by_radam (threshold=5.0)")
    r_inf = 2 / (1 - beta2) - 1
    d.given(sp.Symbol(r"\rho_t"), af.rho(ts), "the length of the approximated SMA; rho_inf = 2/(1 - beta_2) - 1")
    b = sp.Rational(999, 1000)
    values = {}
    for n in range(1, 7):
        values[n] = sp.nsimplify(af.rho(sp.Integer(n)).subs(beta2, b))
        d.equal(af.rho(ts).subs({ts: n, beta2: b}), values[n], f"beta_2 = 0.999, t = {n}: about {float(values[n]):.6f}",
                display=rf"\rho_{n}")
    d.positive(4 - values[4], "rho_1 < ... < rho_4 < 4: no rectification before t = 5 under either threshold",
               display=r"4 - \rho_4")
    d.positive(values[5] - 4, "rho_5 > 4: the paper rectifies from t = 5", display=r"\rho_5 - 4")
    d.positive(5 - values[5], "rho_5 < 5: torch and optax do not rectify at t = 5", display=r"5 - \rho_5")
    d.positive(values[6] - 5, "rho_6 > 5: torch and optax rectify from t = 6", display=r"\rho_6 - 5")
    r5 = sp.sqrt(sp.nsimplify((values[5] - 4) * (values[5] - 2) * 1999 / (1995 * 1997 * values[5])))
    d.equal(af.rectification(values[5], r_inf.subs(beta2, b)), r5, f"the paper's r_5, about {float(r5):.5f}",
            display=r"r_5")
    d.equal(af.rectification(r_inf, r_inf), 1, "r = 1 at rho = rho_inf", display=r"r\big|_{\rho=\rho_\infty}")
    d.equal(sp.limit(2 * ts * (1 + k) ** -ts / (1 - (1 + k) ** -ts), ts, sp.oo), 0,
            "rho_t -> rho_inf (beta_2 = 1/(1 + k)), so r_t -> 1", display=r"\lim_{t\to\infty}(\rho_\infty - \rho_t)")
    vv = sp.Symbol("v", positive=True)
    c2 = sp.Symbol("c_2", positive=True)  # 1 - beta_2^t
    d.equal(sp.sqrt(c2) / (sp.sqrt(vv) + eps) - 1 / (sp.sqrt(vv / c2) + eps / sp.sqrt(c2)), 0,
            "torch's adaptive term sqrt(c_2)/(sqrt(v) + eps) is optax's 1/(sqrt(v-hat) + eps) with eps/sqrt(c_2)",
            display=r"l_{\mathrm{torch}} - l_{\mathrm{optax}}\big|_{\epsilon\to\epsilon/\sqrt{c_2}}")
    d.result("rho", af.rho(ts), step=0)
    d.result("r_5", r5)
    return d


def adamax_eps() -> Derivation:
    """ε inside the max (torch, optax) vs in the denominator (tf.keras): first step, then apart."""
    a = sp.Symbol("a", positive=True)
    d = Derivation("adamax-eps-placement", "Adamax: epsilon inside the max or in the denominator",
                   summary="torch.optim.Adamax and optax.adamax keep u = max(beta_2 u, |g| + eps); tf.keras Adamax "
                           "keeps u = max(beta_2 u, |g|) and divides by u + eps; the paper has no eps. The first step "
                           "is the same under the first two. After a gradient a and then a zero gradient, torch "
                           "divides by beta_2 (a + eps) and Keras by beta_2 a + eps: apart by eps (1 - beta_2), "
                           "a relative difference of order eps/a.")
    d.references.append("D. P. Kingma, J. Ba, Adam, ICLR 2015, Section 7.1 (Algorithm 2)")
    d.references.append("torch.optim.Adamax and optax.adamax docs (eps inside the max); tf.keras.optimizers.Adamax "
                        "docs (w - lr_t m / (v + epsilon))")
    first_t = _first_step(af.adamax_rule("max"), gamma)
    first_k = _first_step(af.adamax_rule("denominator"), gamma)
    d.equal(first_t, -eta * gamma / (gamma + eps), "torch, first step: u_1 = gamma + eps",
            display=r"\Delta\theta_{1,\mathrm{torch}}")
    d.equal(first_t - first_k, 0, "Keras' first step is the same: u_1 = gamma, divided by gamma + eps",
            display=r"\Delta\theta_{1,\mathrm{torch}} - \Delta\theta_{1,\mathrm{keras}}")
    d.given(sp.Symbol("D_2"), beta2 * (a + eps), "torch, gradient a then 0, while beta_2 (a + eps) >= eps: "
            "u_2 = max(beta_2 u_1, 0 + eps) = beta_2 (a + eps)")
    d.given(sp.Symbol("D_2'"), beta2 * a + eps, "Keras: u_2 = max(beta_2 a, 0) = beta_2 a, denominator u_2 + eps")
    d.equal((beta2 * a + eps) - beta2 * (a + eps), eps * (1 - beta2), "their difference", display=r"D_2' - D_2")
    d.result("denominator_difference", eps * (1 - beta2))
    return d


def lion_decay() -> Derivation:
    """Lion's per-step decay factor, the fixed point of a constant sign, porting from AdamW, coupled decay."""
    s = sp.Symbol("s", real=True)  # sign(c), +-1
    n = sp.Symbol("n", integer=True, nonnegative=True)
    th0 = sp.Symbol("theta_0", positive=True)
    delta = sp.Symbol("delta", positive=True)  # 1 - beta_1
    kk = sp.Symbol("kappa", positive=True)
    eta_a, wd_a = sp.symbols("eta_A lambda_A", positive=True)
    d = Derivation("lion-weight-decay", "Lion's decoupled weight decay: what lr * weight_decay does",
                   summary="Lion's step is theta (1 - eta lambda) - eta sign(c). While the sign s stays the same, theta "
                           "relaxes geometrically, at rate 1 - eta lambda per step, to -s/lambda: the weights stay "
                           "within 1/lambda. The per-step factor depends on eta lambda only, so porting a tuned AdamW "
                           "with a kappa times smaller lr keeps it with a kappa times larger weight decay (Chen et al. "
                           "2023; the Keras and MLX docs). Adding lambda theta to the gradient instead (coupled) puts the "
                           "decay inside the sign: the first step is -eta whatever lambda is.")
    d.references.append("X. Chen et al., Symbolic discovery of optimization algorithms, NeurIPS 2023 (Program 1)")
    d.references.append("tf.keras.optimizers.Lion and mlx.optimizers.Lion docs (lr 3-10x smaller, wd 3-10x larger)")
    rule = af.lion_rule()
    step = rule.update[0].replace(sp.sign, lambda arg: s)
    d.equal(step, theta * (1 - eta * wd) - eta * s, "the rule with sign(c) = s", display=r"\theta^{+}")
    d.equal(sp.diff(step, theta), 1 - eta * wd, "the factor theta is multiplied by each step",
            display=r"\partial\theta^{+}/\partial\theta")
    d.solution(sp.Eq(theta, theta * (1 - eta * wd) - eta * s), theta, -s / wd,
               "the fixed point of a constant sign s: theta* = -s/lambda")
    closed = -s / wd + (1 - eta * wd) ** n * (th0 + s / wd)
    d.equal(closed.subs(n, n + 1) - (closed * (1 - eta * wd) - eta * s), 0,
            "theta_n = theta* + (1 - eta lambda)^n (theta_0 - theta*) satisfies the recurrence",
            display=r"\theta_{n+1} - \theta^{+}(\theta_n)")
    d.equal((1 - (eta_a / kk) * (kk * wd_a)) - (1 - eta_a * wd_a), 0,
            "AdamW's (eta_A, lambda_A) and Lion's (eta_A/kappa, kappa lambda_A) decay by the same factor per step",
            display=r"(1 - \eta_L\lambda_L) - (1 - \eta_A\lambda_A)")
    coupled = af.lion_rule("coupled").update[0].subs(g(theta), gamma).subs({m: 0, beta1: 1 - delta}).subs(theta, th0)
    dec = rule.update[0].subs(g(theta), gamma).subs({m: 0, beta1: 1 - delta}).subs(theta, th0)
    d.equal(coupled - th0, -eta, "coupled (a mistake), first step, gradient and theta_0 > 0: lambda has no effect",
            display=r"\Delta\theta_{1,\mathrm{coupled}}")
    d.equal(dec - th0, -eta - eta * wd * th0, "decoupled: the decay eta lambda theta_0 on top of the sign step",
            display=r"\Delta\theta_{1,\mathrm{decoupled}}")
    d.result("fixed_point", -s / wd, step=2)
    d.result("decay_factor", 1 - eta * wd)
    return d
