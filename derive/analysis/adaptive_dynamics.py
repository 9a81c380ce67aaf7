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
                   summary="An exponential moving average started at zero underestimates a stationary mean "
                           "by the factor 1 - beta^t; dividing by it (Kingma & Ba 2015, Section 3) removes the bias.")
    d.references.append("D. P. Kingma, J. Ba, Adam: a method for stochastic optimization, ICLR 2015, Section 3")
    d.given(sp.Symbol("m_t"), beta * sp.Symbol("m_{t-1}") + (1 - beta) * sp.Symbol("g_t"),
            "the EMA, with m_0 = 0 (the same recursion gives v_t with g_t^2)")
    d.given(sp.Symbol("e_t"), beta * sp.Symbol("e_{t-1}") + (1 - beta) * c,
            "take expectations, e_t = E[m_t], with a stationary mean E[g_t] = c")
    closed = c * (1 - beta**tt)
    d.equal(closed - beta * closed.subs(tt, tt - 1), (1 - beta) * c,
            "the closed form e_t = c(1 - beta^t) satisfies the recursion", display=r"e_t - \beta e_{t-1}")
    d.equal(closed.subs(tt, 0), 0, "and the initial condition e_0 = 0", display="e_0")
    d.equal(sp.rsolve(e(tt) - beta * e(tt - 1) - (1 - beta) * c, e(tt), {e(0): 0}), closed,
            "SymPy's rsolve finds the same solution", display=r"\operatorname{rsolve}")
    d.equal((1 - beta) * sp.Sum(beta**(tt - i) * c, (i, 1, tt)), closed,
            "independently: unroll the EMA, E[m_t] = (1 - beta) sum_i beta^(t-i) c, a geometric sum")
    d.equal(closed / (1 - beta**tt), c, "so the corrected moment m_t / (1 - beta^t) is unbiased",
            display=r"\frac{E[m_t]}{1 - \beta^{t}}")
    d.equal((closed - c) / c, -beta**tt, "the uncorrected EMA's relative bias, e.g. -0.9 at t = 1 for beta = 0.9",
            display=r"\frac{E[m_t] - c}{c}")
    C = sp.Symbol("C")
    d.solution(sp.Eq(C * c, closed), C, 1 - beta**tt, "the bias correction: the factor C with E[m_t] = C c")
    d.result("expected_ema", closed)
    d.result("correction", 1 - beta**tt)
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
                   summary="torch.optim.Adam's documented algorithm (Kingma & Ba's Algorithm 1), the rearranged "
                           "form torch computes, and Kingma & Ba's efficient form, whose epsilon-hat is "
                           "epsilon times sqrt(1 - beta_2^t).")
    d.references.append("D. P. Kingma, J. Ba, Adam: a method for stochastic optimization, ICLR 2015")
    d.given(sp.Symbol(r"\theta^{+}"), update, "Algorithm 1 at step t + 1 with weight decay 0: "
            "m, v are the moments after t steps and g = g(theta)")
    C1, C2 = sp.symbols("C_1 C_2", positive=True)
    named = update.subs({b1**(t + 1): 1 - C1, b2**(t + 1): 1 - C2})
    d.equal(named, th - eta * (mn / C1) / (sp.sqrt(vn / C2) + eps),
            "name the bias-correction factors C_1 = 1 - beta_1^(t+1), C_2 = 1 - beta_2^(t+1), both in (0, 1]")
    d.then(th - (eta / C1) * mn / (sp.sqrt(vn) / sp.sqrt(C2) + eps),
           "rearranged: step size eta / C_1 and denominator sqrt(v) / sqrt(C_2) + eps (what torch computes)")
    d.equal(named.subs(eps, eps / sp.sqrt(C2)), th - eta * sp.sqrt(C2) / C1 * mn / (sp.sqrt(vn) + eps),
            "Kingma & Ba's efficient form alpha_t m / (sqrt(v) + eps-hat), alpha_t = eta sqrt(C_2)/C_1, is "
            "Algorithm 1 with eps = eps-hat / sqrt(C_2)",
            display=r"\theta^{+}\big|_{\epsilon \to \hat\epsilon/\sqrt{C_2}}")
    first = update.subs({m: 0, v: 0, t: 0})
    d.equal(first - th, -eta * gg / (sp.Abs(gg) + eps), "the first step (t = 0, m = v = 0), for any betas",
            display=r"\theta_1 - \theta_0")
    cgrad = update.subs({m: c * (1 - b1**t), v: c**2 * (1 - b2**t), gg: c})
    d.equal(cgrad - th, -eta * c / (sp.Abs(c) + eps),
            "a constant gradient c: after t steps m = c(1 - beta_1^t), v = c^2(1 - beta_2^t), and every step is the same",
            display=r"\theta_{t+1} - \theta_t \,\big|_{g \equiv c}")
    d.equal(sp.limit(eps * (update - th), eps, sp.oo), -eta * mn / c1,
            "large eps: eps (theta^+ - theta) tends to -eta m-hat: SGD with EMA momentum and learning rate eta / eps",
            display=r"\lim_{\epsilon\to\infty} \epsilon\,(\theta^{+} - \theta)")
    d.result("update", update)
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
                   summary="Freeze P = diag(1/(sqrt(v-hat) + eps)) and let the bias corrections tend to 1. Then Adam "
                           "is EMA momentum on the preconditioned problem, and on a quadratic each eigen-direction "
                           "of PH (eigenvalue a) is stable iff eta a < 2(1 + beta_1)/(1 - beta_1): 38/eta at "
                           "beta_1 = 0.9 (Cohen et al. 2022).")
    d.references.append("J. M. Cohen, B. Ghorbani, S. Krishnan, N. Agarwal, S. Medapati, M. Badura, D. Suo, "
                        "D. Cardoze, Z. Nado, G. E. Dahl, J. Gilmer, Adaptive gradient methods at the edge of "
                        "stability, arXiv:2207.14484 (2022)")
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("m^{+}")]), rule.as_matrix(),
            "t large (1 - beta^t -> 1) and p = 1/(sqrt(v-hat) + eps) held fixed: one coordinate")
    d.given(sp.Symbol("a"), sp.Symbol(r"\lambda(PH)"),
            "on L = theta^T H theta / 2 with P = diag(p): theta^+ = theta - eta P m^+ is linear in PH, which is "
            "similar to P^(1/2) H P^(1/2); per eigen-direction it is the scalar map with p lambda = a")
    mat = rule.iteration_matrix(lam)
    d.equal(mat, sp.Matrix([[1 - eta * p * lam * (1 - b1), -eta * p * b1], [(1 - b1) * lam, b1]]),
            "the map on L = lambda theta^2 / 2 (g(x) = lambda x)", display=r"M(\lambda)")
    char = rule.characteristic_polynomial(lam, z)
    d.equal(char, z**2 - (1 + b1 - (1 - b1) * eta * p * lam) * z + b1, "its characteristic polynomial",
            display=r"\det(zI - M)")
    a1, a0 = -(1 + b1 - (1 - b1) * x), b1
    d.equal(char.subs(lam, x / (eta * p)), z**2 + a1 * z + a0,
            "in x = eta p lambda, the step times the preconditioned curvature: heavy ball's polynomial with "
            "x replaced by (1 - beta_1) x", display=r"\det(zI - M)\big|_{x = \eta p\lambda}")
    delta = sp.Symbol("delta", positive=True)  # delta = 1 - beta_1 > 0
    d.given(delta, 1 - b1, "write delta = 1 - beta_1 > 0 (0 < beta_1 < 1 is assumed)")
    d.given(r"\text{stable}", r"P(1) > 0,\; P(-1) > 0,\; |a_0| < 1",
            "Jury / Schur-Cohn: both roots of a real monic quadratic P inside the unit circle")
    d.equal(1 + a1 + a0, (1 - b1) * x, "P(1): positive for every x > 0", display="P(1)")
    d.equal(1 - a1 + a0, 2 * (1 + b1) - (1 - b1) * x, "P(-1)", display="P(-1)")
    hi_d = 2 * (2 - delta) / delta
    d.equal((1 - a1 + a0).subs(b1, 1 - delta), delta * (hi_d - x), "P(-1) with beta_1 = 1 - delta",
            display=r"P(-1)")
    d.positive(delta, "so P(-1) > 0 iff x is below the root of P(-1)", display=r"\delta")
    d.equivalent(sp.And(x > 0, hi_d - x > 0), x, sp.Interval.open(0, hi_d), "P(1) > 0 and P(-1) > 0")
    hi = sp.simplify(hi_d.subs(delta, 1 - b1))
    d.equal(sp.Subs(hi_d, delta, 1 - b1), 2 * (1 + b1) / (1 - b1), "x_max in beta_1 (delta = 1 - beta_1)",
            display=r"x_{\max}")
    d.equal(hi.subs(b1, sp.Rational(9, 10)), 38, "at beta_1 = 0.9: preconditioned sharpness below 38/eta",
            display=r"x_{\max}\big|_{\beta_1 = 0.9}")
    d.equal(hi.subs(b1, 0), 2, "beta_1 = 0 recovers preconditioned GD (RMSProp): 2/eta",
            display=r"x_{\max}\big|_{\beta_1 = 0}")
    d.result("x_max", 2 * (1 + b1) / (1 - b1))
    d.result("characteristic_polynomial", z**2 + a1 * z + a0)
    return d


def sign_descent() -> Derivation:
    """Adam → sign descent as ε → 0, where SymPy can prove it, and where it stops."""
    eta, b1, b2, eps = ad.eta, ad.beta1, ad.beta2, ad.eps
    a = sp.Symbol("a", positive=True)  # |g|: the cases g = a > 0 and g = -a < 0
    d = Derivation("adam-sign-descent", "Adam as sign descent in the limit eps -> 0",
                   summary="Without memory, at the first step, and under a constant gradient, Adam's step tends to "
                           "-eta sign(g) as eps -> 0. With memory the ratio m-hat/sqrt(v-hat) is no longer a sign and "
                           "SymPy cannot follow it for every gradient sequence; what it can do is give its supremum "
                           "S_t over gradient sequences in closed form (from Cauchy-Schwarz, stated as given, and its "
                           "attainment, proved). Kingma & Ba 2015 (Section 2.1) state |Delta_t| <= alpha (1 - beta_1)/"
                           "sqrt(1 - beta_2) when 1 - beta_1 > sqrt(1 - beta_2) and |Delta_t| <= alpha otherwise. The "
                           "second case fails already at t = 2 (whenever beta_1 != beta_2); the first holds at the "
                           "default betas (0.9, 0.999) for every t up to 209 and fails from t = 210, S_t tending to "
                           "about 7.27 instead of sqrt(10) = 3.16. That the second case is false was noted on "
                           "Mathematics Stack Exchange (question 3325577); the exact supremum and the first case's "
                           "failure at t = 210 "
                           "are computed here.")
    d.references.append("L. Balles, P. Hennig, Dissecting Adam: the sign, magnitude and variance of stochastic "
                        "gradients, ICML 2018")
    d.references.append("D. P. Kingma, J. Ba, Adam, ICLR 2015, Section 2.1 (the bound on the effective step)")
    d.references.append("'The upper bound of the effective stepsize of the Adam optimizer', Mathematics Stack Exchange "
                        "question 3325577 (2019): its answer shows the second case false (t = 2, g_2 = 0) and argues "
                        "for the first, which fails from t = 210 at the default betas (computed here)")
    step = lambda gr: -eta * gr / (sp.sqrt(gr**2) + eps)  # noqa: E731 - beta_1 = beta_2 = 0, or the first step
    d.given(sp.Symbol(r"\Delta\theta"), -eta * sp.Symbol("g") / (sp.Symbol("|g|") + eps),
            "Adam's step with beta_1 = beta_2 = 0 (every step), or at the first step or under a constant "
            "gradient for any betas (both proved in the derivation 'adam')")
    d.equal(sp.Limit(step(a), eps, 0, "+"), -eta, "g = a > 0: the limit eps -> 0+",
            display=r"\lim_{\epsilon\to0^+}\Delta\theta\,\big|_{g = a}")
    d.equal(sp.Limit(step(-a), eps, 0, "+"), eta, "g = -a < 0",
            display=r"\lim_{\epsilon\to0^+}\Delta\theta\,\big|_{g = -a}")
    d.equal(sp.Limit(step(a) / (-eta), eps, 0, "+") - sp.sign(a), 0,
            "so the step is -eta sign(g): sign descent, whose size ignores |g|",
            display=r"\lim_{\epsilon\to0^+}\frac{\Delta\theta}{-\eta}\Big|_{g = a} - \operatorname{sign}(a)")
    d.equal(sp.diff(step(a), eps).subs(eps, 0), eta / a,
            "first order in eps: Delta theta = -eta sign(g) + eta eps sign(g)/|g| + O(eps^2); the limit is not "
            "uniform as g -> 0", display=r"\partial_\epsilon \Delta\theta\,\big|_{\epsilon = 0,\,g = a}")
    g1, g2 = sp.symbols("g_1 g_2", positive=True)
    m2, v2 = (b1 * g1 + g2) / (1 + b1), (b2 * g1**2 + g2**2) / (1 + b2)
    d.equal((1 - b1) * (b1 * g1 + g2) / (1 - b1**2), m2,
            "with memory: step 2, eps = 0, gradients g_1, g_2 > 0: the corrected first moment",
            display=r"\hat m_2")
    d.equal((1 - b2) * (b2 * g1**2 + g2**2) / (1 - b2**2), v2, "and the corrected second moment",
            display=r"\hat v_2")
    ratio = m2 / sp.sqrt(v2)
    d.equal(ratio.subs(g2, g1), 1, "the step is the sign again when the two gradients agree",
            display=r"\frac{\hat m_2}{\sqrt{\hat v_2}}\Big|_{g_2 = g_1}")
    d.equal(ratio.subs({g1: 1, g2: 0, b1: sp.Rational(9, 10), b2: sp.Rational(999, 1000)}),
            sp.Rational(9, 19) * sp.sqrt(sp.Rational(1999, 999)),
            "but not otherwise: g = (1, 0) at beta = (0.9, 0.999) gives 0.67, a step of 0.67 eta",
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
            "for general t SymPy cannot bound the ratio for every sequence: Cauchy-Schwarz (a theorem, given) "
            "with m_t = sum_k w_k g_k, v_t = sum_k u_k g_k^2 gives this, with equality iff g_k is proportional "
            "to w_k/u_k (gradients growing like (beta_2/beta_1)^(t-k))")
    d.equal(bound2 - bound2.subs(tt, tt - 1), (w**2 / u).subs(k, tt - 1),
            "Sigma_t = (1 - beta_1)^2 (1 - gamma^t)/((1 - beta_2)(1 - gamma)), gamma = beta_1^2/beta_2 != 1, adds "
            "the term of age t - 1 at each step", display=r"\Sigma_t - \Sigma_{t-1}")
    d.equal(bound2.subs(tt, 0), 0, "and Sigma_0 = 0: by induction Sigma_t = sum_{k<t} w_k^2/u_k (the geometric sum)",
            display=r"\Sigma_0")
    d.equal(sp.Sum(w * (w / u), (k, 0, tt - 1)) - sp.Sum(u * (w / u)**2, (k, 0, tt - 1)), 0,
            "at the extremal sequence m_t = v_t = that sum, so the bound is attained: it is the supremum",
            display=r"m_t - v_t\,\big|_{g_k = w_k/u_k}")
    sup = (1 - b1) / sp.sqrt(1 - b2) * sp.sqrt((1 - gamma**tt) / (1 - gamma)) * sp.sqrt(1 - b2**tt) / (1 - b1**tt)
    d.given(sp.Symbol("S_t"), sup, "S_t := sup over gradient sequences of |m-hat_t|/sqrt(v-hat_t) (eps = 0, "
            "0 < beta_1, beta_2 < 1): sqrt(Sigma_t) sqrt(1 - beta_2^t)/(1 - beta_1^t) with the bias corrections. "
            "It rests on the Cauchy-Schwarz step (given) and its attainment (proved); every line below is about "
            "this closed form")
    d.result("sup_ratio", sup)
    d.equal(sup.subs(tt, 1), 1, "t = 1: one gradient, the step is its sign", display=r"S_1")
    d.given(r"\frac{|\Delta_t|}{\alpha}", sp.Piecewise(((1 - b1) / sp.sqrt(1 - b2), 1 - b1 > sp.sqrt(1 - b2)),
                                                        (1, True)), relation="<=",
            reason="Kingma & Ba's claim (Section 2.1, eps = 0, Delta_t = alpha m-hat_t/sqrt(v-hat_t)), quoted to be "
                   "tested: it is true for every t only if S_t stays below it")
    s2 = (sup**2).subs(tt, 2)
    d.equal(s2 - 1, (b2 - b1)**2 / (b2 * (1 + b1)**2), "t = 2: S_2^2 - 1 > 0 whenever beta_1 != beta_2, so the "
            "second case (|Delta| <= alpha) fails already at t = 2 (gradients g_1 = (1 - beta_1)/(1 - beta_2) "
            "beta_1/beta_2, g_2 = (1 - beta_1)/(1 - beta_2))", display=r"S_2^2 - 1")
    alt = {b1: sp.Rational(99, 100), b2: sp.Rational(999, 1000)}
    d.positive((sp.sqrt(1 - b2) - (1 - b1)).subs(alt), "e.g. beta = (0.99, 0.999) is in the second case",
               display=r"\sqrt{1-\beta_2} - (1-\beta_1)\,\big|_{\beta = (0.99,\,0.999)}")
    d.positive(s2.subs(alt) - 1, "and there S_2 > 1: a step larger than alpha at t = 2",
               display=r"S_2^2 - 1\,\big|_{\beta = (0.99,\,0.999)}")
    defaults = dict(zip((b1, b2), DEFAULT_BETAS))
    kb = ((1 - b1) / sp.sqrt(1 - b2)).subs(defaults)
    d.positive((1 - b1 - sp.sqrt(1 - b2)).subs(defaults), "the default betas (0.9, 0.999) are in the first case: "
               "the claimed bound is (1 - beta_1)/sqrt(1 - beta_2) = sqrt(10)",
               display=r"1-\beta_1 - \sqrt{1-\beta_2}\,\big|_{\beta = (0.9,\,0.999)}")
    over = sp.Heaviside((sup**2).subs(defaults) - kb**2)  # 1 where S_t exceeds the bound, 0 where it holds
    d.equal(sp.Sum(over, (tt, 1, KB_LAST_T)), 0, f"at the default betas S_t^2 is rational: exact arithmetic at "
            f"each t = 1, ..., {KB_LAST_T} (theta = Heaviside) finds S_t < sqrt(10): the bound holds up to t = "
            f"{KB_LAST_T}", display=r"\#\{t \le %d : S_t > \sqrt{10}\}" % KB_LAST_T)
    d.equal(sp.Sum(over, (tt, 1, KB_LAST_T + 1)), 1, f"and fails at t = {KB_LAST_T + 1}: the first case fails too",
            display=r"\#\{t \le %d : S_t > \sqrt{10}\}" % (KB_LAST_T + 1))
    limit = sp.Rational(1, 7) * sp.sqrt(2590)
    d.equal(sp.Limit(sup.subs(defaults), tt, sp.oo), limit,
            "as t -> infinity S_t tends to (1 - beta_1)/sqrt((1 - beta_2)(1 - beta_1^2/beta_2)), about 7.27 at "
            "beta = (0.9, 0.999)", display=r"\lim_{t\to\infty} S_t")
    d.result("sup_limit_default_betas", limit)
    d.positive(limit - kb, "which exceeds Kingma & Ba's sqrt(10) by a factor 1/sqrt(1 - beta_1^2/beta_2), about 2.3",
               display=r"\lim_{t\to\infty} S_t - \sqrt{10}")


def rmsprop_update() -> Derivation:
    """RMSProp's rule, its first step, the momentum-buffer conventions, and centering."""
    th, v, a, b = ad.theta, ad.v, ad.a, ad.b
    eta, al, eps, mu = ad.eta, ad.alpha, ad.eps, ad.mu
    gg = sp.Symbol("g", real=True)
    sub = {g(th): gg, ad.wd: 0}
    d = Derivation("rmsprop", "RMSProp: plain, with momentum, centered",
                   summary="torch.optim.RMSprop's documented algorithm. Putting the learning rate inside the momentum "
                           "buffer (as TensorFlow 1's RMSPropOptimizer did) is the same map for a constant learning "
                           "rate (TF1 also put eps inside the root: see eps-placement). Centering divides by a "
                           "running standard deviation, which vanishes under a constant "
                           "gradient: the step then grows to eta c / eps.")
    d.references.append("T. Tieleman, G. Hinton, Lecture 6.5, COURSERA: Neural networks for machine learning, 2012")
    d.references.append("A. Graves, Generating sequences with recurrent neural networks, arXiv:1308.0850 (centered)")
    plain = ad.rmsprop_rule().as_matrix().subs(sub)
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("v^{+}")]), plain, "plain RMSProp, weight decay 0")
    d.equal(plain[0].subs(v, 0) - th, -eta * gg / (sp.sqrt(1 - al) * sp.Abs(gg) + eps),
            "the first step (v = 0)", display=r"\theta_1 - \theta_0")
    mom = ad.rmsprop_rule(momentum=True).as_matrix().subs(sub)
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("v^{+}"), sp.Symbol("b^{+}")]), mom,
            "with momentum (torch): b^+ = mu b + g/D, theta^+ = theta - eta b^+")
    bt = sp.Symbol(r"\tilde b", real=True)  # the buffer with the learning rate inside: b~ = eta b
    tf = sp.Matrix([th - (mu * bt + eta * gg / (sp.sqrt(al * v + (1 - al) * gg**2) + eps)), mom[1],
                    mu * bt + eta * gg / (sp.sqrt(al * v + (1 - al) * gg**2) + eps)])
    d.equal(tf.subs(bt, eta * b) - sp.Matrix([mom[0], mom[1], eta * mom[2]]), sp.zeros(3, 1),
            "the learning rate inside the buffer, b~ = mu b~ + eta g/D, theta^+ = theta - b~^+, is the same map "
            "under b~ = eta b (for a constant eta)", display=r"\mathrm{lr\ in\ buffer}\big|_{\tilde b = \eta b} - \mathrm{torch}")
    cen = ad.rmsprop_rule(centered=True).as_matrix().subs(sub)
    d.given(sp.Matrix([sp.Symbol(r"\theta^{+}"), sp.Symbol("v^{+}"), sp.Symbol("a^{+}")]), cen,
            "centered: divide by sqrt(v - a^2) + eps, a running estimate of the gradient's standard deviation")
    tpos = sp.Symbol("t", integer=True, positive=True)
    v_t, a_t = c**2 * (1 - al**tpos), c * (1 - al**tpos)
    d.equal(cen[1].subs({v: v_t, gg: c}) - cen[2].subs({a: a_t, gg: c})**2,
            al**(tpos + 1) * (1 - al**(tpos + 1)) * c**2,
            "under a constant gradient c (v_t = c^2(1 - alpha^t), a_t = c(1 - alpha^t)) the variance estimate at "
            "step t + 1", display=r"v_{t+1} - a_{t+1}^2")
    k = sp.Symbol("k", positive=True)
    d.equal(sp.limit((al**(tpos + 1) * (1 - al**(tpos + 1))).subs(al, 1 / (1 + k)), tpos, sp.oo), 0,
            "tends to 0 (alpha = 1/(1 + k) in (0, 1)): the step tends to -eta c / eps, huge for small eps",
            display=r"\lim_{t\to\infty}\alpha^{t+1}(1 - \alpha^{t+1})")
    return d
