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
    d = Derivation("nadam-momentum-schedule", r"NAdam: torch's momentum schedule vs optax's constant $\beta_1$",
                   summary=r"`torch.optim.NAdam` and tf.keras `Nadam` use $\mu_t = \beta_1(1 - 0.96^{t\psi}/2)$ "
                           r"with $\psi = 0.004$ (`momentum_decay`); `optax.nadam` uses $\mu_t = \beta_1$. The schedule "
                           r"tends to $\beta_1$ only as $t \to \infty$ ($0.96^{0.004t}$ is still $0.85$ at $t = 1000$), "
                           r"it starts at about $\beta_1/2$, and `momentum_decay=0` does not switch it off but fixes "
                           r"$\mu_t = \beta_1/2$. The first step is "
                           r"$-\eta(1 + \mu_2(1 - \beta_1)/(1 - \mu_1\mu_2))\operatorname{sign}(g)$ (as "
                           r"$\epsilon \to 0$) under the schedule and $-\eta(1 + 2\beta_1)/(1 + \beta_1)"
                           r"\operatorname{sign}(g)$ with a constant $\beta_1$: $1.06\eta$ vs $1.47\eta$.")
    d.references.append("T. Dozat, Incorporating Nesterov momentum into Adam, ICLR 2016 workshop")
    d.references.append("`torch.optim.NAdam` and `tf.keras.optimizers.Nadam` docs (schedule); `optax.nadam` / "
                        r"`optax.scale_by_adam(nesterov=True)` docs (constant $\beta_1$)")
    sched = af.mu_schedule(t, "dozat").subs(af.psi, psi)
    d.given(sp.Symbol(r"\mu_t"), sched, r"torch and Keras: the momentum schedule (`mu_product` is "
            r"$\prod_{i \le t}\mu_i$)")
    d.equal(sp.limit(sched, t, sp.oo), beta1,
            r"$0.96^{t\psi} \to 0$ for $\psi > 0$: the schedule tends to optax's constant $\beta_1$",
            display=r"\lim_{t\to\infty}\mu_t")
    d.equal(af.mu_schedule(t, "dozat").subs(af.psi, 0), beta1 / 2,
            r"at $\psi = 0$ (`momentum_decay=0`) the power $0.96^{0}$ is 1: not a constant $\beta_1$, every $\mu_t$ is "
            r"$\beta_1/2$", display=r"\mu_t\big|_{\psi=0}")
    mu1, mu2 = sched.subs(t, 1), sched.subs(t, 2)
    torch_rule = af.nadam_rule()
    first = _first_step(torch_rule, gamma).subs(af.psi, psi)
    factor_torch = 1 + mu2 * (1 - beta1) / (1 - mu1 * mu2)
    d.equal(first, -eta * gamma / (gamma + eps) * factor_torch,
            r"torch's rule from the zero state with gradient $\gamma > 0$: the gradient term has weight 1 and the "
            r"momentum $m_1 = (1 - \beta_1)\gamma$ weight $\mu_2/(1 - \mu_1\mu_2)$ ($\mu_1, \mu_2$ from the schedule)",
            display=r"\Delta\theta_{1,\mathrm{torch}}")
    const = _first_step(af.nadam_rule("constant"), gamma)
    factor_const = (1 + 2 * beta1) / (1 + beta1)
    d.equal(const, -eta * gamma / (gamma + eps) * factor_const,
            r"the same with $\mu_t = \beta_1$ (optax): the factor $1 + \beta_1(1 - \beta_1)/(1 - \beta_1^2)$",
            display=r"\Delta\theta_{1,\mathrm{optax}}")
    d.equal(factor_const.subs(beta1, sp.Rational(9, 10)), sp.Rational(28, 19),
            r"at $\beta_1 = 0.9$ the factor is $2.8/1.9 = 28/19 \approx 1.47$: optax's first step is $1.47$ times "
            r"$\eta\operatorname{sign}(g)$ as $\epsilon \to 0$",
            display=r"F_{\mathrm{optax}}\big|_{\beta_1=0.9}")
    d.result("mu_limit", beta1, label=r"\mu_{\infty}")
    d.result("first_step_torch", -eta * gamma / (gamma + eps) * factor_torch, label=r"\Delta\theta_{1,\mathrm{torch}}")
    d.result("first_step_constant", -eta * gamma / (gamma + eps) * factor_const,
             label=r"\Delta\theta_{1,\mathrm{optax}}")
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
                   summary=r"With the bias corrections gone, $P = \operatorname{diag}(1/(\sqrt{\hat v} + \epsilon))$ "
                           r"held fixed and a constant momentum coefficient $\mu$, NAdam on a quadratic is stable along "
                           r"an eigen-direction of $PH$ (eigenvalue $a$) iff "
                           r"$\eta a < 2(1 + \beta_1)/(1 + \beta_1 - 2\mu\beta_1)$. At $\mu = \beta_1$ (optax, or "
                           r"torch's schedule as $t \to \infty$) this is Adam's $2(1 + \beta_1)/(1 - \beta_1)$ divided "
                           r"by $1 + 2\beta_1$: $95/7 \approx 13.6$ instead of 38 at $\beta_1 = 0.9$.")
    d.references.append("J. M. Cohen et al., Adaptive gradient methods at the edge of stability, arXiv:2207.14484 "
                        "(2022), for Adam's threshold")
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("m^{+}")]), rule.as_matrix(),
            r"late in training ($1 - \prod\mu \to 1$, $1 - \beta_2^t \to 1$), with "
            r"$p = 1/(\sqrt{\hat v} + \epsilon)$ and $\mu$ held fixed")
    mat = rule.iteration_matrix(lam)
    d.equal(mat, sp.Matrix([[1 - eta * p * lam * (1 - mu * beta1), -eta * p * mu * beta1], [(1 - beta1) * lam, beta1]]),
            r"on $L = \lambda\theta^2/2$ the gradient $g(\theta) = \lambda\theta$ is linear, and so is the map: its "
            "matrix", display=r"M(\lambda)")
    char = rule.characteristic_polynomial(lam, z).subs(lam, x / (eta * p))
    a1, a0 = -(1 + beta1 - x * (1 - mu * beta1)), beta1 * (1 - x * (1 - mu))
    d.equal(sp.expand(char), sp.expand(z**2 + a1 * z + a0),
            r"its characteristic polynomial $z^2 - \operatorname{tr}(M) z + \det M$, in $x = \eta p\lambda$",
            display=r"\det(zI - M)\big|_{x=\eta p\lambda}")
    d.given(r"\text{stable}", r"P(1) > 0,\; P(-1) > 0,\; |a_0| < 1",
            "the Jury (Schur-Cohn) conditions: both roots of a real monic quadratic $P$ lie inside the unit circle "
            "iff these three hold")
    d.equal(1 + a1 + a0, (1 - beta1) * x, "at $z = 1$ the terms without $x$ cancel: $P(1) > 0$ for every $x > 0$",
            display="P(1)")
    x_max = 2 * (1 + beta1) / (1 + beta1 - 2 * mu * beta1)
    d.equal(1 - a1 + a0, (1 + beta1 - 2 * mu * beta1) * (x_max - x),
            r"at $z = -1$, $1 - a_1 + a_0$ is linear in $x$: factored, $P(-1) > 0$ iff $x < x_{\max}$ (its slope is "
            "positive, below)", display="P(-1)")
    d.solution(sp.Eq(1 - a1 + a0, 0), x, x_max, r"$x_{\max}$ is the root of $P(-1)$, where the linear factor vanishes")
    root_step = len(d.steps) - 1
    d.positive((1 + beta1 - 2 * mu * beta1).subs({beta1: k / (1 + k), mu: j / (1 + j)}),
               r"the slope is positive for $\beta_1, \mu \in (0, 1)$, written $k/(1 + k)$ and $j/(1 + j)$ with "
               "$k, j > 0$",
               display=r"1 + \beta_1 - 2\mu\beta_1")
    slack = sp.factor(sp.simplify((1 + beta1) / beta1 - x_max * (1 - mu)))
    d.equal((1 + beta1) / beta1 - x_max * (1 - mu), slack,
            r"the third condition: $a_0 = \beta_1(1 - x(1 - \mu)) > -1$ iff $x(1 - \mu) < 1 + 1/\beta_1$; its margin "
            r"at $x = x_{\max}$",
            display=r"\frac{1+\beta_1}{\beta_1} - x_{\max}(1-\mu)")
    d.positive(slack.subs({beta1: k / (1 + k), mu: j / (1 + j)}), r"is positive for $\beta_1, \mu \in (0, 1)$, so "
               r"$a_0 > -1$ on $(0, x_{\max})$; and $a_0 < \beta_1 < 1$ as $x > 0$", display=r"\frac{1+\beta_1}{\beta_1} - x_{\max}(1-\mu)")
    d.equal(x_max.subs(mu, beta1), 2 * (1 + beta1) / ((1 - beta1) * (1 + 2 * beta1)),
            r"at $\mu = \beta_1$ the slope factors as $1 + \beta_1 - 2\beta_1^2 = (1 - \beta_1)(1 + 2\beta_1)$: "
            r"Adam's threshold divided by $1 + 2\beta_1$", display=r"x_{\max}\big|_{\mu=\beta_1}")
    d.equal(x_max.subs(mu, beta1).subs(beta1, sp.Rational(9, 10)), sp.Rational(95, 7),
            r"at $\beta_1 = 0.9$: $3.8/(0.1 \cdot 2.8)$",
            display=r"x_{\max}\big|_{\mu=\beta_1=0.9}")
    d.equal(x_max.subs({mu: beta1 / 2}).subs(beta1, sp.Rational(9, 10)), sp.Rational(380, 109),
            r"$\mu = \beta_1/2$ (torch with `momentum_decay=0`) at $\beta_1 = 0.9$: $3.8/(1.9 - 0.81)$",
            display=r"x_{\max}\big|_{\mu=0.45}")
    d.equal(x_max.subs(mu, 0), 2, r"at $\mu = 0$ the momentum term drops out: preconditioned gradient descent",
            display=r"x_{\max}\big|_{\mu=0}")
    d.result("x_max", x_max, step=root_step, label=r"x_{\max}")
    return d


def radam_threshold() -> Derivation:
    """ρ_t > 4 first at t = 5, ρ_t > 5 first at t = 6 (β₂ = 0.999); r_t → 1; torch's ε."""
    k = sp.Symbol("k", positive=True)  # beta_2 = 1/(1 + k)
    ts = sp.Symbol("t", positive=True)
    d = Derivation("radam-rectification-threshold", r"RAdam: when the rectification starts ($\rho_t > 4$ or $\rho_t > 5$)",
                   summary=r"RAdam takes momentum-SGD steps until $\rho_t$ exceeds a threshold, then Adam steps "
                           r"scaled by $r_t$. The paper's Algorithm 2 rectifies when $\rho_t > 4$, `torch.optim.RAdam` "
                           r"and `optax.radam` when $\rho_t > 5$. For $\beta_2 = 0.999$, $\rho_t > 4$ first holds at "
                           r"$t = 5$ and $\rho_t > 5$ at $t = 6$: the two conventions differ at step 5 only, where the "
                           r"paper takes an Adam step scaled by $r_5 = 0.0173$ instead of a momentum-SGD step. "
                           r"$r_t \to 1$ as $t \to \infty$. torch adds $\epsilon$ to $\sqrt{v}$ before the bias "
                           r"correction: its $\epsilon$ is $\epsilon/\sqrt{1 - \beta_2^t}$ on $\sqrt{\hat v}$.")
    d.references.append("L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao, J. Han, On the variance of the adaptive "
                        "learning rate and beyond, ICLR 2020 (Algorithm 2)")
    d.references.append(r"`torch.optim.RAdam` docs ($\rho_t > 5$); `optax.scale_by_radam` (`threshold=5.0`)")
    r_inf = 2 / (1 - beta2) - 1
    d.given(sp.Symbol(r"\rho_t"), af.rho(ts), r"the length of the approximated simple moving average (Liu et al., "
            r"Algorithm 2), with $\rho_\infty = 2/(1 - \beta_2) - 1$")
    b = sp.Rational(999, 1000)
    values = {}
    for n in range(1, 7):
        values[n] = sp.nsimplify(af.rho(sp.Integer(n)).subs(beta2, b))
        d.equal(af.rho(ts).subs({ts: n, beta2: b}), values[n],
                rf"exact arithmetic at $\beta_2 = 0.999$, $t = {n}$: about ${float(values[n]):.6f}$",
                display=rf"\rho_{n}")
    d.positive(4 - values[4], r"by the values above $\rho_1 < \dots < \rho_4 < 4$: no rectification before $t = 5$ "
               "under either threshold",
               display=r"4 - \rho_4")
    d.positive(values[5] - 4, r"by its value $\rho_5 > 4$: the paper rectifies from $t = 5$", display=r"\rho_5 - 4")
    d.positive(5 - values[5], r"but $\rho_5 < 5$: torch and optax do not rectify at $t = 5$", display=r"5 - \rho_5")
    d.positive(values[6] - 5, r"by its value $\rho_6 > 5$: torch and optax rectify from $t = 6$",
               display=r"\rho_6 - 5")
    r5 = sp.sqrt(sp.nsimplify((values[5] - 4) * (values[5] - 2) * 1999 / (1995 * 1997 * values[5])))
    d.equal(af.rectification(values[5], r_inf.subs(beta2, b)), r5,
            r"the rectification $r = \sqrt{(\rho - 4)(\rho - 2)\rho_\infty/((\rho_\infty - 4)(\rho_\infty - 2)\rho)}$ "
            rf"at $\rho_5$ and $\rho_\infty = 1999$: the paper's $r_5$, about ${float(r5):.5f}$",
            display=r"r_5")
    d.equal(af.rectification(r_inf, r_inf), 1, r"at $\rho = \rho_\infty$ the ratio under the root is 1",
            display=r"r\big|_{\rho=\rho_\infty}")
    d.equal(sp.limit(2 * ts * (1 + k) ** -ts / (1 - (1 + k) ** -ts), ts, sp.oo), 0,
            r"$\rho_\infty - \rho_t = 2t\beta_2^t/(1 - \beta_2^t)$ with $\beta_2 = 1/(1 + k)$ tends to 0: "
            r"$\rho_t \to \rho_\infty$, so $r_t \to 1$", display=r"\lim_{t\to\infty}(\rho_\infty - \rho_t)")
    vv = sp.Symbol("v", positive=True)
    c2 = sp.Symbol("c_2", positive=True)  # 1 - beta_2^t
    d.equal(sp.sqrt(c2) / (sp.sqrt(vv) + eps) - 1 / (sp.sqrt(vv / c2) + eps / sp.sqrt(c2)), 0,
            r"with $\hat v = v/c_2$, $c_2 = 1 - \beta_2^t$, divide through by $\sqrt{c_2}$: torch's adaptive term "
            r"$\sqrt{c_2}/(\sqrt{v} + \epsilon)$ is optax's $1/(\sqrt{\hat v} + \epsilon)$ with $\epsilon/\sqrt{c_2}$",
            display=r"l_{\mathrm{torch}} - l_{\mathrm{optax}}\big|_{\epsilon\to\epsilon/\sqrt{c_2}}")
    d.result("rho", af.rho(ts), step=0, label=r"\rho_t")
    d.result("r_5", r5, label="r_5")
    return d


def adamax_eps() -> Derivation:
    """ε inside the max (torch, optax) vs in the denominator (tf.keras): first step, then apart."""
    a = sp.Symbol("a", positive=True)
    d = Derivation("adamax-eps-placement", r"Adamax: $\epsilon$ inside the max or in the denominator",
                   summary=r"`torch.optim.Adamax` and `optax.adamax` keep $u = \max(\beta_2 u, |g| + \epsilon)$; "
                           r"tf.keras `Adamax` keeps $u = \max(\beta_2 u, |g|)$ and divides by $u + \epsilon$; the "
                           r"paper has no $\epsilon$. The first step is the same under the first two. After a gradient "
                           r"$a$ and then a zero gradient, torch divides by $\beta_2(a + \epsilon)$ and Keras by "
                           r"$\beta_2 a + \epsilon$: apart by $\epsilon(1 - \beta_2)$, a relative difference of order "
                           r"$\epsilon/a$.")
    d.references.append("D. P. Kingma, J. Ba, Adam, ICLR 2015, Section 7.1 (Algorithm 2)")
    d.references.append(r"`torch.optim.Adamax` and `optax.adamax` docs ($\epsilon$ inside the max); "
                        "`tf.keras.optimizers.Adamax` docs (`w - lr_t m / (v + epsilon)`)")
    first_t = _first_step(af.adamax_rule("max"), gamma)
    first_k = _first_step(af.adamax_rule("denominator"), gamma)
    d.equal(first_t, -eta * gamma / (gamma + eps), r"torch's first step from $u = 0$: $u_1 = \gamma + \epsilon$, and "
            r"the corrected momentum is $\gamma$",
            display=r"\Delta\theta_{1,\mathrm{torch}}")
    d.equal(first_t - first_k, 0, r"Keras keeps $u_1 = \gamma$ and divides by $u_1 + \epsilon = \gamma + \epsilon$: "
            "the same first step",
            display=r"\Delta\theta_{1,\mathrm{torch}} - \Delta\theta_{1,\mathrm{keras}}")
    d.given(sp.Symbol("D_2"), beta2 * (a + eps), r"torch after a gradient $a$ and then 0: "
            r"$u_2 = \max(\beta_2 u_1, 0 + \epsilon) = \beta_2(a + \epsilon)$ while $\beta_2(a + \epsilon) \ge \epsilon$")
    d.given(sp.Symbol("D_2'"), beta2 * a + eps, r"Keras: $u_2 = \max(\beta_2 a, 0) = \beta_2 a$, and the denominator "
            r"is $u_2 + \epsilon$")
    d.equal((beta2 * a + eps) - beta2 * (a + eps), eps * (1 - beta2), r"subtracting, the $\beta_2 a$ terms cancel",
            display=r"D_2' - D_2")
    d.result("denominator_difference", eps * (1 - beta2), label=r"D_2' - D_2")
    return d


def lion_decay() -> Derivation:
    """Lion's per-step decay factor, the fixed point of a constant sign, porting from AdamW, coupled decay."""
    s = sp.Symbol("s", real=True)  # sign(c), +-1
    n = sp.Symbol("n", integer=True, nonnegative=True)
    th0 = sp.Symbol("theta_0", positive=True)
    delta = sp.Symbol("delta", positive=True)  # 1 - beta_1
    kk = sp.Symbol("kappa", positive=True)
    eta_a, wd_a = sp.symbols("eta_A lambda_A", positive=True)
    d = Derivation("lion-weight-decay", r"Lion's decoupled weight decay: what `lr * weight_decay` does",
                   summary=r"Lion's step is $\theta(1 - \eta\lambda) - \eta\operatorname{sign}(c)$. While the sign "
                           r"$s$ stays the same, $\theta$ relaxes geometrically, at rate $1 - \eta\lambda$ per step, to "
                           r"$-s/\lambda$: the weights stay within $1/\lambda$. The per-step factor depends on "
                           r"$\eta\lambda$ only, so porting a tuned AdamW with a $\kappa$ times smaller lr keeps it with "
                           r"a $\kappa$ times larger weight decay (Chen et al. 2023; the Keras and MLX docs). Adding "
                           r"$\lambda\theta$ to the gradient instead (coupled) puts the decay inside the sign: the first "
                           r"step is $-\eta$ whatever $\lambda$ is.")
    d.references.append("X. Chen et al., Symbolic discovery of optimization algorithms, NeurIPS 2023 (Program 1)")
    d.references.append("`tf.keras.optimizers.Lion` and `mlx.optimizers.Lion` docs (lr 3-10x smaller, wd 3-10x "
                        "larger)")
    rule = af.lion_rule()
    step = rule.update[0].replace(sp.sign, lambda arg: s)
    d.equal(step, theta * (1 - eta * wd) - eta * s, r"Lion's rule with the sign of its interpolated momentum "
            r"written $\operatorname{sign}(c) = s$", display=r"\theta^{+}")
    d.equal(sp.diff(step, theta), 1 - eta * wd, r"the step is affine in $\theta$: its slope is the factor that scales $\theta$ "
            "at each step",
            display=r"\partial\theta^{+}/\partial\theta")
    d.solution(sp.Eq(theta, theta * (1 - eta * wd) - eta * s), theta, -s / wd,
               r"$\theta = \theta(1 - \eta\lambda) - \eta s$ reduces to $\eta\lambda\theta = -\eta s$: the fixed "
               r"point $\theta^{*} = -s/\lambda$ of a constant sign $s$")
    closed = -s / wd + (1 - eta * wd) ** n * (th0 + s / wd)
    d.equal(closed.subs(n, n + 1) - (closed * (1 - eta * wd) - eta * s), 0,
            r"substituting $\theta_n = \theta^{*} + (1 - \eta\lambda)^n(\theta_0 - \theta^{*})$ shows it satisfies "
            "the recurrence",
            display=r"\theta_{n+1} - \theta^{+}(\theta_n)")
    d.equal((1 - (eta_a / kk) * (kk * wd_a)) - (1 - eta_a * wd_a), 0,
            r"the product $\eta\lambda$ is unchanged: AdamW's $(\eta_A, \lambda_A)$ and Lion's "
            r"$(\eta_A/\kappa, \kappa\lambda_A)$ decay by the same factor per step",
            display=r"(1 - \eta_L\lambda_L) - (1 - \eta_A\lambda_A)")
    coupled = af.lion_rule("coupled").update[0].subs(g(theta), gamma).subs({m: 0, beta1: 1 - delta}).subs(theta, th0)
    dec = rule.update[0].subs(g(theta), gamma).subs({m: 0, beta1: 1 - delta}).subs(theta, th0)
    d.equal(coupled - th0, -eta, r"coupled (a mistake): from $m = 0$ with $\gamma$ and $\theta_0$ positive the sign "
            r"of $\gamma + \lambda\theta_0$ is 1, so $\lambda$ has no effect on the first step",
            display=r"\Delta\theta_{1,\mathrm{coupled}}")
    d.equal(dec - th0, -eta - eta * wd * th0, r"decoupled: the decay $\eta\lambda\theta_0$ is subtracted outside the "
            r"sign step $-\eta$",
            display=r"\Delta\theta_{1,\mathrm{decoupled}}")
    d.result("fixed_point", -s / wd, step=2, label=r"\theta^{*}")
    d.result("decay_factor", 1 - eta * wd, label=r"\partial\theta^{+}/\partial\theta")
    return d
