"""Adam as a dynamical system: bias correction, equivalent forms, the frozen-preconditioner
linearization on a quadratic, and the sign-descent limit.

* Bias correction (Kingma & Ba 2015, Section 3): the EMA m_t = βm_{t−1} + (1 − β)g_t with
  m_0 = 0 of a stationary signal E[g_t] = c has E[m_t] = (1 − βᵗ)c, so m_t/(1 − βᵗ) is unbiased.
* With P = diag(1/(√v̂ + ε)) frozen, Adam is heavy ball with EMA momentum on the
  preconditioned problem: per eigen-direction of PH with eigenvalue a,
  det(zI − M) = z² − (1 + β₁ − (1 − β₁)ηa)z + β₁, stable iff a < 2(1 + β₁)/((1 − β₁)η)
  (38/η at β₁ = 0.9: J. M. Cohen et al., "Adaptive gradient methods at the edge of
  stability", 2022).
* As ε → 0 the first step, and every step without memory (β₁ = β₂ = 0) or with a constant
  gradient, is sign descent θ⁺ = θ − η sign(g) (L. Balles, P. Hennig, ICML 2018).  For general
  β and t the ratio m̂_t/√v̂_t is only bounded: by Cauchy–Schwarz (given) its supremum over gradient
  sequences is S_t = (1 − β₁)/√(1 − β₂) · √((1 − γᵗ)/(1 − γ)) · √(1 − β₂ᵗ)/(1 − β₁ᵗ), γ = β₁²/β₂.
  Kingma & Ba (2015, Section 2.1) claim |Δ_t| ≤ α(1 − β₁)/√(1 − β₂) when 1 − β₁ > √(1 − β₂) and
  |Δ_t| ≤ α otherwise: the second case fails at t = 2 (S₂² − 1 = (β₂ − β₁)²/(β₂(1 + β₁)²)), the
  first holds at the default betas for t ≤ 209 and fails from t = 210 (S_t → 7.27 > √10).
"""
from __future__ import annotations

import sympy as sp

from derive.rules import adaptive as ad
from derive.derivation import Derivation
from derive.update_rule import UpdateRule, g

c = sp.Symbol("c", real=True)  # the stationary mean E[g_t]
cpos = sp.Symbol("c", positive=True)
tt = sp.Symbol("t", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
beta = sp.Symbol("beta", positive=True)
p = sp.Symbol("p", positive=True)  # a frozen per-coordinate preconditioner 1/(√v̂ + ε)
lam = sp.Symbol("lambda", positive=True)
z = sp.Symbol("z")
x = sp.Symbol("x", positive=True)  # x = η p λ, the step times the preconditioned curvature


def bias_correction() -> Derivation:
    """E[m_t] = (1 − βᵗ)c for the zero-initialized EMA of a stationary signal."""
    e = sp.Function("e")
    d = Derivation("adam-bias-correction", "Adam's bias correction: the expected EMA of a stationary signal",
                   summary=r"An exponential moving average started at zero underestimates a stationary mean "
                           r"by the factor $1 - \beta^t$; dividing by it (Kingma & Ba 2015, Section 3) removes the bias.")
    d.references.append("D. P. Kingma, J. Ba, Adam: a method for stochastic optimization, ICLR 2015, Section 3")
    d.given(sp.Symbol("m_t"), beta * sp.Symbol("m_{t-1}") + (1 - beta) * sp.Symbol("g_t"),
            "the EMA of the gradients, started at $m_0 = 0$ (the same recursion gives $v_t$ with $g_t^2$)")
    d.given(sp.Symbol("e_t"), beta * sp.Symbol("e_{t-1}") + (1 - beta) * c,
            "take expectations, $e_t = E[m_t]$: the recursion is linear and the mean $E[g_t] = c$ is stationary")
    closed = c * (1 - beta**tt)
    d.equal(closed - beta * closed.subs(tt, tt - 1), (1 - beta) * c,
            r"substituting the closed form $e_t = c(1 - \beta^t)$ leaves $(1 - \beta)c$: it satisfies the recursion",
            display=r"e_t - \beta e_{t-1}")
    d.equal(closed.subs(tt, 0), 0, r"and the initial condition, since $\beta^0 = 1$", display="e_0")
    d.equal(sp.rsolve(e(tt) - beta * e(tt - 1) - (1 - beta) * c, e(tt), {e(0): 0}), closed,
            "SymPy's `rsolve` finds the same solution of the recursion with $e_0 = 0$", display=r"\operatorname{rsolve}")
    d.equal((1 - beta) * sp.Sum(beta**(tt - i) * c, (i, 1, tt)), closed,
            r"independently: unrolling the EMA gives $E[m_t] = (1 - \beta)\sum_{i=1}^{t} \beta^{t-i} c$, a geometric sum")
    d.equal(closed / (1 - beta**tt), c, r"dividing by $1 - \beta^t$ leaves $c$: the corrected moment $m_t/(1 - \beta^t)$ "
            "is unbiased",
            display=r"\frac{E[m_t]}{1 - \beta^{t}}")
    d.equal((closed - c) / c, -beta**tt, r"the uncorrected EMA's relative bias, e.g. $-0.9$ at $t = 1$ for $\beta = 0.9$",
            display=r"\frac{E[m_t] - c}{c}")
    C = sp.Symbol("C")
    d.solution(sp.Eq(C * c, closed), C, 1 - beta**tt, "the bias correction is the factor $C$ with $E[m_t] = C c$")
    d.result("expected_ema", closed, label="E[m_t]")
    d.result("correction", 1 - beta**tt, label="C")
    return d


def adam_update() -> Derivation:
    """Adam's update in its equivalent forms, and its first step."""
    rule = ad.adam_rule()
    th, m, v, t = ad.theta, ad.m, ad.v, ad.t
    eta, b1, b2, eps = ad.eta, ad.beta1, ad.beta2, ad.eps
    gg = sp.Symbol("g", real=True)
    update = rule.update[0].subs({g(th): gg, ad.wd: 0})
    mn, vn = b1 * m + (1 - b1) * gg, b2 * v + (1 - b2) * gg**2
    c1 = 1 - b1**(t + 1)
    d = Derivation("adam", "Adam: the update rule and its equivalent forms",
                   summary=r"`torch.optim.Adam`'s documented algorithm (Kingma & Ba's Algorithm 1), the rearranged "
                           r"form torch computes, and Kingma & Ba's efficient form, whose $\hat\epsilon$ is "
                           r"$\epsilon\sqrt{1 - \beta_2^t}$.")
    d.references.append("D. P. Kingma, J. Ba, Adam: a method for stochastic optimization, ICLR 2015")
    d.given(sp.Symbol(r"\theta^{+}"), update, "Algorithm 1 at step $t + 1$ with weight decay 0: "
            r"$m$, $v$ are the moments after $t$ steps and $g = g(\theta)$")
    C1, C2 = sp.symbols("C_1 C_2", positive=True)
    named = update.subs({b1**(t + 1): 1 - C1, b2**(t + 1): 1 - C2})
    d.equal(named, th - eta * (mn / C1) / (sp.sqrt(vn / C2) + eps),
            r"name the bias-correction factors $C_1 = 1 - \beta_1^{t+1}$ and $C_2 = 1 - \beta_2^{t+1}$, both in $(0, 1]$")
    d.then(th - (eta / C1) * mn / (sp.sqrt(vn) / sp.sqrt(C2) + eps),
           r"move $1/C_1$ into the step size and $1/\sqrt{C_2}$ out of the root: step size $\eta/C_1$ and denominator "
           r"$\sqrt{v}/\sqrt{C_2} + \epsilon$ (what torch computes)")
    d.equal(named.subs(eps, eps / sp.sqrt(C2)), th - eta * sp.sqrt(C2) / C1 * mn / (sp.sqrt(vn) + eps),
            r"scaling the fraction by $\sqrt{C_2}/\sqrt{C_2}$ gives Kingma & Ba's efficient form "
            r"$\alpha_t m/(\sqrt{v} + \hat\epsilon)$, $\alpha_t = \eta\sqrt{C_2}/C_1$, is Algorithm 1 with "
            r"$\epsilon = \hat\epsilon/\sqrt{C_2}$",
            display=r"\theta^{+}\big|_{\epsilon \to \hat\epsilon/\sqrt{C_2}}")
    first = update.subs({m: 0, v: 0, t: 0})
    d.equal(first - th, -eta * gg / (sp.Abs(gg) + eps), r"at the first step ($t = 0$, $m = v = 0$) the bias "
            r"corrections give $\hat m = g$ and $\hat v = g^2$, for any $\beta_1, \beta_2$",
            display=r"\theta_1 - \theta_0")
    cgrad = update.subs({m: c * (1 - b1**t), v: c**2 * (1 - b2**t), gg: c})
    d.equal(cgrad - th, -eta * c / (sp.Abs(c) + eps),
            r"a constant gradient $c$: after $t$ steps $m = c(1 - \beta_1^t)$ and $v = c^2(1 - \beta_2^t)$, so "
            r"$\hat m = c$, $\hat v = c^2$ and every step is the same",
            display=r"\theta_{t+1} - \theta_t \,\big|_{g \equiv c}")
    d.equal(sp.limit(eps * (update - th), eps, sp.oo), -eta * mn / c1,
            r"for large $\epsilon$ the denominator is about $\epsilon$, so $\epsilon(\theta^{+} - \theta)$ tends to "
            r"$-\eta\hat m$: SGD with EMA momentum and learning rate $\eta/\epsilon$",
            display=r"\lim_{\epsilon\to\infty} \epsilon\,(\theta^{+} - \theta)")
    d.result("update", update, label=r"\theta^{+}")
    return d


def frozen_adam_rule() -> UpdateRule:
    """Adam late in training (bias corrections → 1) with the preconditioner frozen at p:
    m⁺ = β₁m + (1 − β₁)g(θ), θ⁺ = θ − ηp m⁺."""
    th, m = ad.theta, ad.m
    mn = ad.beta1 * m + (1 - ad.beta1) * g(th)
    return UpdateRule("adam-frozen", "Adam with a frozen preconditioner", (th, m),
                      {"lr": ad.eta, "beta1": ad.beta1, "preconditioner": p}, (th - ad.eta * p * mn, mn),
                      state_names=("exp_avg",), init=(sp.S.Zero,))


def frozen_preconditioner() -> Derivation:
    """The preconditioned sharpness threshold 2(1 + β₁)/((1 − β₁)η)."""
    rule = frozen_adam_rule()
    th, m, eta, b1 = ad.theta, ad.m, ad.eta, ad.beta1
    d = Derivation("adam-frozen-preconditioner",
                   "Adam on a quadratic with a frozen preconditioner: the preconditioned sharpness threshold",
                   summary=r"Freeze $P = \operatorname{diag}(1/(\sqrt{\hat v} + \epsilon))$ and let the bias "
                           r"corrections tend to 1. Then Adam is EMA momentum on the preconditioned problem, and on a "
                           r"quadratic each eigen-direction of $PH$ (eigenvalue $a$) is stable iff "
                           r"$\eta a < 2(1 + \beta_1)/(1 - \beta_1)$: $a < 38/\eta$ at $\beta_1 = 0.9$ "
                           "(Cohen et al. 2022).")
    d.references.append("J. M. Cohen, B. Ghorbani, S. Krishnan, N. Agarwal, S. Medapati, M. Badura, D. Suo, "
                        "D. Cardoze, Z. Nado, G. E. Dahl, J. Gilmer, Adaptive gradient methods at the edge of "
                        "stability, arXiv:2207.14484 (2022)")
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("m^{+}")]), rule.as_matrix(),
            r"late in training ($1 - \beta^t \to 1$) with $p = 1/(\sqrt{\hat v} + \epsilon)$ held fixed: one coordinate")
    d.given(sp.Symbol("a"), sp.Symbol(r"\lambda(PH)"),
            r"on $L = \theta^{T} H\theta/2$ with $P = \operatorname{diag}(p)$ the update "
            r"$\theta^{+} = \theta - \eta P m^{+}$ is linear in $PH$, which is similar to the symmetric "
            r"$P^{1/2} H P^{1/2}$; per eigen-direction it is the scalar map with $p\lambda = a$")
    mat = rule.iteration_matrix(lam)
    d.equal(mat, sp.Matrix([[1 - eta * p * lam * (1 - b1), -eta * p * b1], [(1 - b1) * lam, b1]]),
            r"on $L = \lambda\theta^2/2$ the gradient $g(\theta) = \lambda\theta$ is linear, and so is the map: its "
            "matrix", display=r"M(\lambda)")
    char = rule.characteristic_polynomial(lam, z)
    d.equal(char, z**2 - (1 + b1 - (1 - b1) * eta * p * lam) * z + b1,
            r"a $2 \times 2$ matrix has $\det(zI - M) = z^2 - \operatorname{tr}(M) z + \det M$",
            display=r"\det(zI - M)")
    a1, a0 = -(1 + b1 - (1 - b1) * x), b1
    d.equal(char.subs(lam, x / (eta * p)), z**2 + a1 * z + a0,
            r"in $x = \eta p\lambda$, the step times the preconditioned curvature: heavy ball's polynomial with "
            r"$x$ replaced by $(1 - \beta_1)x$", display=r"\det(zI - M)\big|_{x = \eta p\lambda}")
    delta = sp.Symbol("delta", positive=True)  # delta = 1 - beta_1 > 0
    d.given(delta, 1 - b1, r"write $\delta = 1 - \beta_1 > 0$ ($0 < \beta_1 < 1$ is assumed)")
    d.given(r"\text{stable}", r"P(1) > 0,\; P(-1) > 0,\; |a_0| < 1",
            "the Jury (Schur-Cohn) conditions: both roots of a real monic quadratic $P$ lie inside the unit circle "
            "iff these three hold")
    d.equal(1 + a1 + a0, (1 - b1) * x, r"at $z = 1$ the terms without $x$ cancel: $P(1) > 0$ for every $x > 0$",
            display="P(1)")
    d.equal(1 - a1 + a0, 2 * (1 + b1) - (1 - b1) * x, "at $z = -1$: $P(-1) = 1 - a_1 + a_0$", display="P(-1)")
    hi_d = 2 * (2 - delta) / delta
    d.equal((1 - a1 + a0).subs(b1, 1 - delta), delta * (hi_d - x), r"$P(-1)$ with $\beta_1 = 1 - \delta$, factored",
            display=r"P(-1)")
    d.positive(delta, r"$\delta = 1 - \beta_1$ is positive by assumption, so $P(-1) > 0$ iff $x$ is below its root",
               display=r"\delta")
    d.equivalent(sp.And(x > 0, hi_d - x > 0), x, sp.Interval.open(0, hi_d),
                 r"$P(1) > 0$ and $P(-1) > 0$ hold exactly on this interval; the third condition "
                 r"$|a_0| = \beta_1 < 1$ always holds")
    hi = sp.simplify(hi_d.subs(delta, 1 - b1))
    d.equal(sp.Subs(hi_d, delta, 1 - b1), 2 * (1 + b1) / (1 - b1),
            r"$x_{\max}$ in terms of $\beta_1$: substitute $\delta = 1 - \beta_1$",
            display=r"x_{\max}")
    d.equal(hi.subs(b1, sp.Rational(9, 10)), 38,
            r"at $\beta_1 = 0.9$ the preconditioned sharpness has to stay below $38/\eta$",
            display=r"x_{\max}\big|_{\beta_1 = 0.9}")
    d.equal(hi.subs(b1, 0), 2, r"$\beta_1 = 0$ recovers preconditioned GD (RMSProp) and its threshold $2/\eta$",
            display=r"x_{\max}\big|_{\beta_1 = 0}")
    d.result("x_max", 2 * (1 + b1) / (1 - b1), label=r"x_{\max}")
    d.result("characteristic_polynomial", z**2 + a1 * z + a0, label="P(z)")
    return d


def sign_descent() -> Derivation:
    """Adam → sign descent as ε → 0, where SymPy can prove it, and where it stops."""
    eta, b1, b2, eps = ad.eta, ad.beta1, ad.beta2, ad.eps
    a = sp.Symbol("a", positive=True)  # |g|: the cases g = a > 0 and g = -a < 0
    d = Derivation("adam-sign-descent", r"Adam as sign descent in the limit $\epsilon \to 0$",
                   summary=r"Without memory, at the first step, and under a constant gradient, Adam's step tends to "
                           r"$-\eta\operatorname{sign}(g)$ as $\epsilon \to 0$. With memory the ratio "
                           r"$\hat m/\sqrt{\hat v}$ is no longer a sign and SymPy cannot follow it for every gradient "
                           r"sequence; what it can do is give its supremum $S_t$ over gradient sequences in closed form "
                           r"(from Cauchy-Schwarz, stated as given, and its attainment, proved). Kingma & Ba 2015 "
                           r"(Section 2.1) state $|\Delta_t| \le \alpha(1 - \beta_1)/\sqrt{1 - \beta_2}$ when "
                           r"$1 - \beta_1 > \sqrt{1 - \beta_2}$ and $|\Delta_t| \le \alpha$ otherwise. The second case "
                           r"fails already at $t = 2$ (whenever $\beta_1 \ne \beta_2$); the first holds at the default "
                           r"$\beta = (0.9, 0.999)$ for every $t$ up to 209 and fails from $t = 210$, $S_t$ tending to "
                           r"about $7.27$ instead of $\sqrt{10} \approx 3.16$. That the second case is false was noted "
                           "on Mathematics Stack Exchange (question 3325577); the exact supremum and the first case's "
                           "failure at $t = 210$ are computed here.")
    d.references.append("L. Balles, P. Hennig, Dissecting Adam: the sign, magnitude and variance of stochastic "
                        "gradients, ICML 2018")
    d.references.append("D. P. Kingma, J. Ba, Adam, ICLR 2015, Section 2.1 (the bound on the effective step)")
    d.references.append("'The upper bound of the effective stepsize of the Adam optimizer', Mathematics Stack Exchange "
                        "question 3325577 (2019): its answer shows the second case false ($t = 2$, $g_2 = 0$) and "
                        r"argues for the first, which fails from $t = 210$ at the default $\beta_1, \beta_2$ (computed here)")
    step = lambda gr: -eta * gr / (sp.sqrt(gr**2) + eps)  # noqa: E731 - beta_1 = beta_2 = 0, or the first step
    d.given(sp.Symbol(r"\Delta\theta"), -eta * sp.Symbol("g") / (sp.Symbol("|g|") + eps),
            r"Adam's step with $\beta_1 = \beta_2 = 0$ (every step), or at the first step or under a constant "
            r"gradient for any $\beta_1, \beta_2$ (both proved in the derivation `adam`)")
    d.equal(sp.Limit(step(a), eps, 0, "+"), -eta,
            r"for $g = a > 0$ the denominator $a + \epsilon$ tends to $a$ as $\epsilon \to 0^+$",
            display=r"\lim_{\epsilon\to0^+}\Delta\theta\,\big|_{g = a}")
    d.equal(sp.Limit(step(-a), eps, 0, "+"), eta, "for $g = -a < 0$ likewise, with the sign reversed",
            display=r"\lim_{\epsilon\to0^+}\Delta\theta\,\big|_{g = -a}")
    d.equal(sp.Limit(step(a) / (-eta), eps, 0, "+") - sp.sign(a), 0,
            r"both cases together: the step is $-\eta\operatorname{sign}(g)$, sign descent, whose size ignores $|g|$",
            display=r"\lim_{\epsilon\to0^+}\frac{\Delta\theta}{-\eta}\Big|_{g = a} - \operatorname{sign}(a)")
    d.equal(sp.diff(step(a), eps).subs(eps, 0), eta / a,
            r"the derivative at $\epsilon = 0$ is the first-order term: $\Delta\theta = -\eta\operatorname{sign}(g) + "
            r"\eta\epsilon\operatorname{sign}(g)/|g| + O(\epsilon^2)$, so the limit is not uniform as $g \to 0$",
            display=r"\partial_\epsilon \Delta\theta\,\big|_{\epsilon = 0,\,g = a}")
    g1, g2 = sp.symbols("g_1 g_2", positive=True)
    m2, v2 = (b1 * g1 + g2) / (1 + b1), (b2 * g1**2 + g2**2) / (1 + b2)
    d.equal((1 - b1) * (b1 * g1 + g2) / (1 - b1**2), m2,
            r"with memory: at step 2 with $\epsilon = 0$ and gradients $g_1, g_2 > 0$ the EMA divided by "
            r"$1 - \beta_1^2$ is the corrected first moment",
            display=r"\hat m_2")
    d.equal((1 - b2) * (b2 * g1**2 + g2**2) / (1 - b2**2), v2,
            r"and the EMA of the squares divided by $1 - \beta_2^2$ the corrected second moment",
            display=r"\hat v_2")
    ratio = m2 / sp.sqrt(v2)
    d.equal(ratio.subs(g2, g1), 1, r"when the two gradients agree $\hat m_2 = g_1$ and $\hat v_2 = g_1^2$: the step is "
            "the sign again",
            display=r"\frac{\hat m_2}{\sqrt{\hat v_2}}\Big|_{g_2 = g_1}")
    d.equal(ratio.subs({g1: 1, g2: 0, b1: sp.Rational(9, 10), b2: sp.Rational(999, 1000)}),
            sp.Rational(9, 19) * sp.sqrt(sp.Rational(1999, 999)),
            r"but not otherwise: $g = (1, 0)$ at $\beta = (0.9, 0.999)$ gives $0.67$, a step of $0.67\eta$",
            display=r"\frac{\hat m_2}{\sqrt{\hat v_2}}\Big|_{g = (1, 0)}")
    _update_supremum(d, b1, b2)
    return d


#: the claim of Kingma & Ba (2015), Section 2.1, for eps = 0: |Delta_t| <= alpha (1 - beta_1)/sqrt(1 - beta_2)
#: when 1 - beta_1 > sqrt(1 - beta_2), |Delta_t| <= alpha otherwise
DEFAULT_BETAS = (sp.Rational(9, 10), sp.Rational(999, 1000))
#: the last t at which their bound sqrt(10) holds at the default betas (computed in _update_supremum)
KB_LAST_T = 209


def _update_supremum(d: Derivation, b1: sp.Symbol, b2: sp.Symbol) -> None:
    """S_t = sup over gradient sequences of |m̂_t|/√v̂_t, and Kingma & Ba's two-case bound against it."""
    k = sp.Symbol("k", integer=True, nonnegative=True)  # k = t - i, the age of a gradient
    w = (1 - b1) * b1**k  # the EMA weight of m on the gradient of age k
    u = (1 - b2) * b2**k  # and of v on its square
    gamma = b1**2 / b2
    bound2 = (1 - b1)**2 / (1 - b2) * (1 - gamma**tt) / (1 - gamma)
    d.given(r"|m_t|", sp.Symbol(r"\sqrt{\textstyle\sum_k w_k^2/u_k}\,\sqrt{v_t}"), relation="<=", reason=
            "for general $t$ SymPy cannot bound the ratio for every sequence: Cauchy-Schwarz (a theorem, given) "
            r"with $m_t = \sum_k w_k g_k$ and $v_t = \sum_k u_k g_k^2$ gives this, with equality iff $g_k$ is "
            r"proportional to $w_k/u_k$ (gradients growing like $(\beta_2/\beta_1)^{t-k}$)")
    d.equal(bound2 - bound2.subs(tt, tt - 1), (w**2 / u).subs(k, tt - 1),
            r"$\Sigma_t = (1 - \beta_1)^2(1 - \gamma^t)/((1 - \beta_2)(1 - \gamma))$ with "
            r"$\gamma = \beta_1^2/\beta_2 \ne 1$ adds the term of age $t - 1$ at each step",
            display=r"\Sigma_t - \Sigma_{t-1}")
    d.equal(bound2.subs(tt, 0), 0, r"and starts from $\Sigma_0 = 0$: by induction $\Sigma_t = \sum_{k<t} w_k^2/u_k$ "
            "(the geometric sum)",
            display=r"\Sigma_0")
    d.equal(sp.Sum(w * (w / u), (k, 0, tt - 1)) - sp.Sum(u * (w / u)**2, (k, 0, tt - 1)), 0,
            r"at the extremal sequence $g_k = w_k/u_k$ both $m_t$ and $v_t$ equal $\Sigma_t$, so "
            r"$|m_t|/\sqrt{v_t} = \sqrt{\Sigma_t}$: the bound is attained and is the supremum",
            display=r"m_t - v_t\,\big|_{g_k = w_k/u_k}")
    sup = (1 - b1) / sp.sqrt(1 - b2) * sp.sqrt((1 - gamma**tt) / (1 - gamma)) * sp.sqrt(1 - b2**tt) / (1 - b1**tt)
    d.given(sp.Symbol("S_t"), sup, r"$S_t$, the supremum over gradient sequences of $|\hat m_t|/\sqrt{\hat v_t}$ "
            r"($\epsilon = 0$, $0 < \beta_1, \beta_2 < 1$), is $\sqrt{\Sigma_t}\sqrt{1 - \beta_2^t}/(1 - \beta_1^t)$ "
            "with the bias corrections. It rests on the Cauchy-Schwarz step (given) and its attainment (proved); "
            "every line below is about this closed form")
    d.result("sup_ratio", sup, label="S_t")
    d.equal(sup.subs(tt, 1), 1, "at $t = 1$ there is one gradient and the step is its sign", display=r"S_1")
    d.given(r"\frac{|\Delta_t|}{\alpha}", sp.Piecewise(((1 - b1) / sp.sqrt(1 - b2), 1 - b1 > sp.sqrt(1 - b2)),
                                                        (1, True)), relation="<=",
            reason=r"Kingma & Ba's claim (Section 2.1, $\epsilon = 0$, $\Delta_t = \alpha\hat m_t/\sqrt{\hat v_t}$), "
                   "quoted to be tested: it is true for every $t$ only if $S_t$ stays below it")
    s2 = (sup**2).subs(tt, 2)
    d.equal(s2 - 1, (b2 - b1)**2 / (b2 * (1 + b1)**2), r"a square over a positive denominator: $S_2^2 - 1 > 0$ "
            r"whenever $\beta_1 \ne \beta_2$, so the second case ($|\Delta_t| \le \alpha$) fails already at $t = 2$ "
            r"(gradients $g_1 = \frac{1 - \beta_1}{1 - \beta_2}\cdot\frac{\beta_1}{\beta_2}$, "
            r"$g_2 = \frac{1 - \beta_1}{1 - \beta_2}$)", display=r"S_2^2 - 1")
    alt = {b1: sp.Rational(99, 100), b2: sp.Rational(999, 1000)}
    d.positive((sp.sqrt(1 - b2) - (1 - b1)).subs(alt),
               r"$\beta = (0.99, 0.999)$ is in the second case: $1 - \beta_1 = 0.01$ is below $\sqrt{0.001}$",
               display=r"\sqrt{1-\beta_2} - (1-\beta_1)\,\big|_{\beta = (0.99,\,0.999)}")
    d.positive(s2.subs(alt) - 1, r"and there $S_2 > 1$: a step larger than $\alpha$ at $t = 2$",
               display=r"S_2^2 - 1\,\big|_{\beta = (0.99,\,0.999)}")
    defaults = dict(zip((b1, b2), DEFAULT_BETAS))
    kb = ((1 - b1) / sp.sqrt(1 - b2)).subs(defaults)
    d.positive((1 - b1 - sp.sqrt(1 - b2)).subs(defaults), r"the defaults $\beta = (0.9, 0.999)$ are in the first case "
               r"($0.1 > \sqrt{0.001}$): the claimed bound is $(1 - \beta_1)/\sqrt{1 - \beta_2} = \sqrt{10}$",
               display=r"1-\beta_1 - \sqrt{1-\beta_2}\,\big|_{\beta = (0.9,\,0.999)}")
    over = sp.Heaviside((sup**2).subs(defaults) - kb**2)  # 1 where S_t exceeds the bound, 0 where it holds
    d.equal(sp.Sum(over, (tt, 1, KB_LAST_T)), 0, f"at the defaults $S_t^2$ is rational: exact arithmetic at "
            rf"each $t = 1, \dots, {KB_LAST_T}$ ($\theta$ the Heaviside step) finds $S_t < \sqrt{{10}}$: the bound "
            f"holds up to $t = {KB_LAST_T}$", display=r"\#\{t \le %d : S_t > \sqrt{10}\}" % KB_LAST_T)
    d.equal(sp.Sum(over, (tt, 1, KB_LAST_T + 1)), 1,
            rf"exact arithmetic at $t = {KB_LAST_T + 1}$ finds $S_t > \sqrt{{10}}$: the first case fails too",
            display=r"\#\{t \le %d : S_t > \sqrt{10}\}" % (KB_LAST_T + 1))
    limit = sp.Rational(1, 7) * sp.sqrt(2590)
    d.equal(sp.Limit(sup.subs(defaults), tt, sp.oo), limit,
            r"as $t \to \infty$ the powers $\beta_1^t$, $\beta_2^t$, $\gamma^t$ vanish and $S_t$ tends to "
            r"$(1 - \beta_1)/\sqrt{(1 - \beta_2)(1 - \beta_1^2/\beta_2)}$, about $7.27$ at $\beta = (0.9, 0.999)$",
            display=r"\lim_{t\to\infty} S_t")
    d.result("sup_limit_default_betas", limit, label=r"S_{\infty}")
    d.positive(limit - kb, r"which exceeds Kingma & Ba's $\sqrt{10}$ by a factor $1/\sqrt{1 - \beta_1^2/\beta_2}$, "
               "about $2.3$",
               display=r"\lim_{t\to\infty} S_t - \sqrt{10}")


def rmsprop_update() -> Derivation:
    """RMSProp's rule, its first step, the momentum-buffer conventions, and centering."""
    th, v, a, b = ad.theta, ad.v, ad.a, ad.b
    eta, al, eps, mu = ad.eta, ad.alpha, ad.eps, ad.mu
    gg = sp.Symbol("g", real=True)
    sub = {g(th): gg, ad.wd: 0}
    d = Derivation("rmsprop", "RMSProp: plain, with momentum, centered",
                   summary="`torch.optim.RMSprop`'s documented algorithm. Putting the learning rate inside the "
                           "momentum buffer (as TensorFlow 1's `RMSPropOptimizer` did) is the same map for a constant "
                           r"learning rate (TF1 also put $\epsilon$ inside the root: see `eps-placement`). Centering "
                           "divides by a running standard deviation, which vanishes under a constant gradient: the "
                           r"step then grows to $\eta c/\epsilon$.")
    d.references.append("T. Tieleman, G. Hinton, Lecture 6.5, COURSERA: Neural networks for machine learning, 2012")
    d.references.append("A. Graves, Generating sequences with recurrent neural networks, arXiv:1308.0850 (centered)")
    plain = ad.rmsprop_rule().as_matrix().subs(sub)
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("v^{+}")]), plain, "plain RMSProp, weight decay 0")
    d.equal(plain[0].subs(v, 0) - th, -eta * gg / (sp.sqrt(1 - al) * sp.Abs(gg) + eps),
            r"the first step, from $v = 0$: the second moment is $(1 - \alpha)g^2$, whose root is "
            r"$\sqrt{1 - \alpha}\,|g|$", display=r"\theta_1 - \theta_0")
    mom = ad.rmsprop_rule(momentum=True).as_matrix().subs(sub)
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("v^{+}"), sp.Symbol("b^{+}")]), mom,
            r"with momentum (torch): $b^{+} = \mu b + g/D$, $\theta^{+} = \theta - \eta b^{+}$")
    bt = sp.Symbol(r"\tilde b", real=True)  # the buffer with the learning rate inside: b~ = eta b
    tf = sp.Matrix([th - (mu * bt + eta * gg / (sp.sqrt(al * v + (1 - al) * gg**2) + eps)), mom[1],
                    mu * bt + eta * gg / (sp.sqrt(al * v + (1 - al) * gg**2) + eps)])
    d.equal(tf.subs(bt, eta * b) - sp.Matrix([mom[0], mom[1], eta * mom[2]]), sp.zeros(3, 1),
            r"the learning rate inside the buffer, $\tilde b^{+} = \mu\tilde b + \eta g/D$, "
            r"$\theta^{+} = \theta - \tilde b^{+}$, is the same map under $\tilde b = \eta b$ (for a constant $\eta$)",
            display=r"\mathrm{lr\ in\ buffer}\big|_{\tilde b = \eta b} - \mathrm{torch}")
    cen = ad.rmsprop_rule(centered=True).as_matrix().subs(sub)
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("v^{+}"), sp.Symbol("a^{+}")]), cen,
            r"centered: divide by $\sqrt{v - a^2} + \epsilon$, where $a$ is a running mean of the gradient and "
            "$v - a^2$ estimates its variance")
    tpos = sp.Symbol("t", integer=True, positive=True)
    v_t, a_t = c**2 * (1 - al**tpos), c * (1 - al**tpos)
    d.equal(cen[1].subs({v: v_t, gg: c}) - cen[2].subs({a: a_t, gg: c})**2,
            al**(tpos + 1) * (1 - al**(tpos + 1)) * c**2,
            r"under a constant gradient $c$ the moments are $v_t = c^2(1 - \alpha^t)$ and $a_t = c(1 - \alpha^t)$; "
            "one more step gives this variance estimate", display=r"v_{t+1} - a_{t+1}^2")
    k = sp.Symbol("k", positive=True)
    d.equal(sp.limit((al**(tpos + 1) * (1 - al**(tpos + 1))).subs(al, 1 / (1 + k)), tpos, sp.oo), 0,
            r"it tends to 0 as $\alpha^{t} \to 0$ (write $\alpha = 1/(1 + k)$ in $(0, 1)$): the step tends to "
            r"$-\eta c/\epsilon$, huge for small $\epsilon$",
            display=r"\lim_{t\to\infty}\alpha^{t+1}(1 - \alpha^{t+1})")
    return d
