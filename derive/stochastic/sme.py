"""Stochastic modified equations (SMEs) of SGD, and the exact modified SDE on a quadratic.

SGD with gradient noise of variance σ² per step, x⁺ = x − η(f'(x) + ξ), is approximated in the weak sense
(E φ(x_k) − E φ(X_{kη}) = O(η^α) for smooth test functions φ, kη ≤ T) by the SDE

    dX = −(f' + (η/4)(f'²)') dt + √η σ dW          (order α = 2; dropping the η/4 term: order 1)

(Li, Tai & E, ICML 2017; JMLR 20 (2019)).  The drift is found by matching the one-step moments of SGD with the
Itô–Taylor (generator) expansion of the SDE over time η, :func:`sme_general`.

On f = aθ²/2 SGD is the AR(1) process θ⁺ = (1 − ηa)θ − ηξ (σ² = Σ/B for minibatch noise), and for 0 < ηa < 1
it has the moments (for Gaussian ξ: the law) of an Ornstein–Uhlenbeck process dX = −cX dt + √d₂ dW sampled at
t = kη, with c = −log(1 − ηa)/η = a + ηa²/2 + O(η²) (the SME2 drift) and d₂ = ησ²(1 + ηa + O(η²)) (both SMEs
keep ησ²).  Consequently the stationary variance has relative error −ηa/2 under SME1 (exactly) but −ηa + O(η²)
under SME2: the second-order SME is *worse* there, while on a finite horizon its error in the mean is O(η²)
against SME1's O(η); :func:`sme_quadratic`.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

eta, a, sigma = sp.symbols("eta a sigma", positive=True)

LI_TAI_E = ["Q. Li, C. Tai and W. E, Stochastic modified equations and adaptive stochastic gradient algorithms, "
            "ICML 2017",
            "Q. Li, C. Tai and W. E, Stochastic modified equations and dynamics of stochastic gradient algorithms I: "
            "mathematical foundations, JMLR 20 (2019) 1-47",
            "G. N. Milstein, Weak approximation of solutions of systems of stochastic differential equations, "
            "Theory Probab. Appl. 30 (1986) 750-766",
            "P. E. Kloeden and E. Platen, Numerical Solution of Stochastic Differential Equations (1992), "
            "chapter 5 (Ito-Taylor expansions)"]


def _expect(poly: sp.Expr, noise: sp.Symbol, moments: list[sp.Symbol]) -> sp.Expr:
    """Term-by-term expectation of a polynomial in ``noise`` (linearity): ξ^j ↦ moments[j−1]."""
    p = sp.Poly(sp.expand(poly), noise)
    return sp.Add(*[c * (moments[m[0] - 1] if m[0] else 1) for m, c in zip(p.monoms(), p.coeffs())])


def _mod(expr: sp.Expr, order: int) -> sp.Expr:
    """The terms of ``expr`` below η^order (its Taylor polynomial in η)."""
    e = sp.expand(expr)
    if e.is_polynomial(eta):
        return sp.Add(*[t for t in sp.Add.make_args(e) if sp.degree(t, eta) < order])
    return sp.series(e, eta, 0, order).removeO()


def _generator_series(phi: sp.Expr, y: sp.Symbol, drift: sp.Expr, diffusion: sp.Expr, order: int) -> sp.Expr:
    """Σ_{k≤order} η^k/k! L^k φ with L g = drift g' + (diffusion/2) g'' (the Dynkin / Itô–Taylor series)."""
    total, term = phi, phi
    for k in range(1, order + 1):
        term = sp.expand(drift * sp.diff(term, y) + diffusion / 2 * sp.diff(term, y, 2))
        total += eta**k / sp.factorial(k) * term
    return total


def sme_general() -> Derivation:
    """First- and second-order SMEs of SGD on a smooth 1-D loss f, by matching one-step moments."""
    x, y, xi = sp.symbols("x y xi", real=True)
    mu1, mu2 = sp.symbols(r"\mathbb{E}\xi \mathbb{E}\xi^2", real=True)
    f, b0, b1 = sp.Function("f"), sp.Function("b_0"), sp.Function("b_1")
    fp = sp.diff(f(x), x)
    d = Derivation(
        "sgd-sme", "Stochastic modified equations of SGD to first and second order",
        summary=("SGD $x_{k+1} = x_k - \\eta(f'(x_k) + \\xi_k)$ with independent noise, $\\mathbb E\\xi = 0$, "
                 "$\\mathbb E\\xi^2 = \\sigma^2$, is compared with the SDE $dX = b\\,dt + \\sqrt{\\eta}\\sigma\\,dW$, "
                 "$b = b_0 + \\eta b_1$, in the *weak* sense: $|\\mathbb E\\varphi(x_k) - \\mathbb E\\varphi(X_{k\\eta})| "
                 "\\le C\\eta^\\alpha$ for smooth test functions $\\varphi$ of polynomial growth and $k\\eta \\le T$ "
                 "(weak order $\\alpha$). By Milstein's theorem (Milstein 1986; restated by Li, Tai and E 2019) it suffices that the "
                 "one-step moments agree up to $O(\\eta^{\\alpha+1})$. SGD's are exact; the SDE's come from the "
                 "generator (Ito-Taylor) expansion $\\mathbb E\\varphi(X_\\eta) = \\sum_k \\frac{\\eta^k}{k!}L^k\\varphi$. "
                 "Matching gives $b_0 = -f'$ (order 1; at this order the noise term is optional) and "
                 "$b_1 = -\\frac14(f'^2)'$: $dX = -\\nabla(f + \\frac{\\eta}{4}|\\nabla f|^2)\\,dt + "
                 "\\sqrt{\\eta\\sigma^2}\\,dW$ (order 2). Shown in one coordinate; in $d$ dimensions $\\sigma^2$ becomes "
                 "the covariance $\\Sigma$ and $f'f''$ becomes $\\nabla^2 f\\nabla f = \\frac12\\nabla|\\nabla f|^2$."),
        references=LI_TAI_E)
    step = -eta * (fp + xi)
    d.given(sp.Symbol(r"\Delta"), step, r"one SGD step $\Delta = x_{k+1} - x_k$ from $x_k = x$; the noise $\xi$ is "
            r"independent of $x$, with $\mathbb E\xi = 0$, $\mathbb E\xi^2 = \sigma^2$ and bounded higher moments")
    d.equal(sp.Subs(_expect(step, xi, [mu1, mu2]), (mu1, mu2), (0, sigma**2)), -eta * fp,
            r"expectation term by term ($f'(x)$ is not random)", display=r"\mathbb E\Delta")
    d.equal(sp.Subs(_expect(step**2, xi, [mu1, mu2]), (mu1, mu2), (0, sigma**2)), eta**2 * (fp**2 + sigma**2),
            r"the second moment, expanded in $\xi$ and averaged term by term", display=r"\mathbb E\Delta^2")
    drift = b0(y) + eta * b1(y)
    gen = drift * sp.Symbol(r"\varphi'") + eta * sigma**2 / 2 * sp.Symbol(r"\varphi''")
    d.given(sp.Symbol(r"L\varphi"), gen, r"the generator of $dX = (b_0 + \eta b_1)\,dt + \sqrt\eta\sigma\,dW$")
    d.given(sp.Symbol(r"\mathbb E\varphi(X_\eta)"),
            sp.Symbol(r"\varphi") + eta * sp.Symbol(r"L\varphi") + eta**2 / 2 * sp.Symbol(r"L^2\varphi")
            + sp.Symbol(r"O(\eta^3)"),
            r"Dynkin's formula $\frac{d}{dt}\mathbb E\varphi(X_t) = \mathbb E L\varphi(X_t)$ (Ito's formula; the "
            r"martingale part has mean zero) applied twice, $X_0 = x$, smooth coefficients (Kloeden and Platen 1992, "
            r"ch. 5; Li, Tai and E 2019)")
    m1 = _mod(_generator_series(y - x, y, drift, eta * sigma**2, 2).subs(y, x).doit(), 3)
    m2 = _mod(_generator_series((y - x) ** 2, y, drift, eta * sigma**2, 2).subs(y, x).doit(), 3)
    b0x, b0p = b0(x), sp.diff(b0(x), x)
    d.equal(m1, eta * b0x + eta**2 * (b1(x) + b0x * b0p / 2),
            r"with $\varphi(y) = y - x$: $L\varphi = b$, $L^2\varphi = bb' + \frac{\eta\sigma^2}{2}b''$, evaluated at "
            r"$y = x$ and expanded to $\eta^2$", display=r"\mathbb E\tilde\Delta \bmod \eta^3")
    d.equal(m2, eta**2 * (b0x**2 + sigma**2),
            r"with $\varphi(y) = (y - x)^2$: $L\varphi = 2b(y - x) + \eta\sigma^2$, so the noise enters at "
            r"$\eta\cdot\eta\sigma^2$", display=r"\mathbb E\tilde\Delta^2 \bmod \eta^3")
    # sanity of the cited expansion where the transition is known: the OU process dX = -kappa X dt + sqrt(eta) sigma dW
    kap = sp.Symbol("kappa", positive=True)
    ou2 = x**2 * (sp.exp(-kap * eta) - 1) ** 2 + eta * sigma**2 * (1 - sp.exp(-2 * kap * eta)) / (2 * kap)
    gen_ou = _mod(_generator_series((y - x) ** 2, y, -kap * y, eta * sigma**2, 2).subs(y, x), 3)
    d.equal(sp.Limit((ou2 - gen_ou) / eta**2, eta, 0), 0,
            r"check of the expansion where the transition is known: for $b = -\kappa y$ (Ornstein-Uhlenbeck, mean "
            r"$xe^{-\kappa\eta}$, variance $\eta\sigma^2(1 - e^{-2\kappa\eta})/(2\kappa)$) the exact "
            r"$\mathbb E(X_\eta - x)^2$ agrees with the truncated series up to $o(\eta^2)$",
            display=r"\lim_{\eta\to0}\frac{\mathbb E_{\mathrm{OU}}(X_\eta - x)^2 - (\text{series to }\eta^2)}{\eta^2}")
    d.given(r"|\mathbb E\varphi(x_k) - \mathbb E\varphi(X_{k\eta})|", r"O(\eta^\alpha)\ (k\eta \le T)",
            r"Milstein's theorem: if $\mathbb E\Delta^j - \mathbb E\tilde\Delta^j = O(\eta^{\alpha+1})$ for "
            r"$j = 1, \dots, \alpha$ and $\mathbb E|\Delta|^{\alpha+1}, \mathbb E|\tilde\Delta|^{\alpha+1} = "
            r"O(\eta^{\alpha+1})$ (true here: both steps are $O(\eta)$ in every moment), the weak order is $\alpha$ "
            r"(Milstein 1986; restated by Li, Tai and E 2019)")
    d.solution(sp.Eq(m1.coeff(eta, 1) + fp, 0), b0x, -fp,
               r"order 1: match $[\eta^1]$ of $\mathbb E\tilde\Delta$ with $\mathbb E\Delta = -\eta f'$; the second "
               r"moments agree at $O(\eta^2)$ for any $b_0$, so $dX = -f'(X)\,dt$ (with or without noise) is weakly "
               r"first order")
    sub0 = {b0x: -fp}
    c2 = sp.expand(m1.coeff(eta, 2).subs(b0p, -sp.diff(fp, x)).subs(sub0))
    d.solution(sp.Eq(c2, 0), b1(x), -fp * sp.diff(fp, x) / 2,
               r"order 2: with $b_0 = -f'$, $[\eta^2]$ of $\mathbb E\tilde\Delta$ must vanish like SGD's")
    d.equal(m2.subs(sub0), eta**2 * (fp**2 + sigma**2),
            r"and the second moments agree with SGD's $\mathbb E\Delta^2$ up to $O(\eta^3)$ with the diffusion "
            r"$\eta\sigma^2$ unchanged", display=r"\mathbb E\tilde\Delta^2 \bmod \eta^3\,\big|_{b_0 = -f'}")
    sme2 = -sp.Derivative(f(x) + eta / 4 * fp**2, x)
    d.equal(-fp - eta * fp * sp.diff(fp, x) / 2, sme2,
            r"$f'f'' = \frac12(f'^2)'$: the second-order drift is a gradient, of $f + \frac{\eta}{4}f'^2$",
            display=r"b_0 + \eta b_1")
    d.result("sme1_drift", -fp, label=r"b^{(1)}").result("sme2_drift", sme2, label=r"b^{(2)}")
    d.result("sme2_correction", -fp * sp.diff(fp, x) / 2, label="b_1")
    return d


def sme_quadratic() -> Derivation:
    """The exact modified SDE of SGD on f = aθ²/2 and how SME1 and SME2 compare with it."""
    th, xi, t, s = sp.symbols("theta xi t s", real=True)
    mu1, mu2, mth = sp.symbols(r"\mathbb{E}\xi \mathbb{E}\xi^2 \mathbb{E}\theta", real=True)
    v, m2 = sp.symbols(r"v \mathbb{E}\theta^2", real=True)
    c, d2 = sp.symbols("c d_2", positive=True)
    T, x0 = sp.symbols("T x_0", positive=True)
    u = sp.Symbol("u", positive=True)
    q = 1 - eta * a
    d = Derivation(
        "sgd-modified-sde", "The exact modified SDE of SGD on a quadratic, and where the SMEs agree with it",
        summary=("On $f = a\\theta^2/2$ with per-step gradient noise of variance $\\sigma^2$ ($\\Sigma/B$ for a "
                 "minibatch of size $B$), SGD is the AR(1) process $\\theta_{k+1} = (1 - \\eta a)\\theta_k - "
                 "\\eta\\xi_k$. The Ornstein-Uhlenbeck process $dX = -cX\\,dt + \\sqrt{d_2}\\,dW$ sampled at "
                 "$t = k\\eta$ is AR(1) with factor $e^{-c\\eta}$ and noise variance $d_2(1 - e^{-2c\\eta})/(2c)$, so "
                 "the two have the same first and second moments at every step iff $c = -\\log(1 - \\eta a)/\\eta$ "
                 "and $d_2 = 2c\\eta^2\\sigma^2/(1 - (1 - \\eta a)^2)$, which exist iff $0 < \\eta a < 1$ (for "
                 "$1 \\le \\eta a < 2$ SGD is stationary but its factor is $\\le 0$: no OU matches; for Gaussian "
                 "$\\xi$ the laws, not only the moments, agree). In powers of $\\eta$, $c = a + \\eta a^2/2 + "
                 "O(\\eta^2)$ is the drift of the second-order SME, but $d_2 = \\eta\\sigma^2(1 + \\eta a + "
                 "O(\\eta^2))$ while both SMEs keep $\\eta\\sigma^2$. Hence the stationary variance "
                 "$\\eta\\sigma^2/(a(2 - \\eta a))$ is missed by $-\\eta a/2$ (relative, exactly) by SME1 but by "
                 "$-2\\eta a/(2 + \\eta a) = -\\eta a + O(\\eta^2)$ by SME2, worse for every $0 < \\eta a < 2$. On a "
                 "finite horizon $T = k\\eta$, SME2's error in the mean is "
                 "$O(\\eta^2)$ against SME1's $O(\\eta)$ (weak order 2), but in the variance (itself $O(\\eta)$) "
                 "both err by $O(\\eta^2)$, SME2 by more for every $T > 0$."),
        references=LI_TAI_E[:2] + ["G. E. Uhlenbeck and L. S. Ornstein, On the theory of the Brownian motion, "
                                   "Phys. Rev. 36 (1930) 823-841"])
    d.equal(th - eta * (a * th + xi), q * th - eta * xi,
            r"SGD on $f = a\theta^2/2$ with noise $\xi$ ($\mathbb E\xi = 0$, $\mathbb E\xi^2 = \sigma^2$, "
            r"independent of $\theta$): an AR(1) process", display=r"\theta_{k+1}")
    d.equal(sp.Subs(_expect((q * th - eta * xi) ** 2, xi, [mu1, mu2]).subs(th**2, m2).subs(th, mth),
                    (mu1, mu2), (0, sigma**2)), q**2 * m2 + eta**2 * sigma**2,
            r"its second moment: $\mathbb E\theta\xi = \mathbb E\theta\,\mathbb E\xi = 0$ by independence (the mean "
            r"is $(1-\eta a)^k\theta_0$)",
            display=r"\mathbb E\theta_{k+1}^2")
    d.equivalent(sp.Abs(1 - u) < 1, u, sp.Interval.open(0, 2),
                 r"the AR(1) factor $1 - u$, $u = \eta a$, is a contraction iff $0 < u < 2$: then a stationary law "
                 r"exists")
    v_ar = eta * sigma**2 / (a * (2 - eta * a))
    d.solution(sp.Eq(v, q**2 * v + eta**2 * sigma**2), v, v_ar,
               r"the stationary variance of the AR(1): the fixed point of the variance recursion (linear in $v$ with "
               r"coefficient $1 - (1 - \eta a)^2 \ne 0$, so the only one)")
    # the OU process and its transition over time eta
    d.given(sp.Symbol("dX"), sp.Symbol(r"-cX\,dt + \sqrt{d_2}\,dW"),
            r"an Ornstein-Uhlenbeck process; by variation of constants $X_t = e^{-ct}X_0 + \sqrt{d_2}\int_0^t "
            r"e^{-c(t-s)}dW_s$")
    d.equal(sp.Derivative(x0 * sp.exp(-c * t), t) + c * x0 * sp.exp(-c * t), 0,
            r"its mean $x_0e^{-ct}$ solves $m' = -cm$", display=r"\frac{d}{dt}x_0e^{-ct} + cx_0e^{-ct}")
    ou_var = d2 * (1 - sp.exp(-2 * c * t)) / (2 * c)
    d.equal(sp.Integral(d2 * sp.exp(-2 * c * (t - s)), (s, 0, t)), ou_var,
            r"its variance by the Ito isometry; sampled at $t = k\eta$ it is an AR(1) with factor $e^{-c\eta}$ and "
            r"independent noise of variance $d_2(1 - e^{-2c\eta})/(2c)$ (independent Brownian increments)",
            display=r"\operatorname{Var}X_t")
    r = sp.Symbol("r", real=True)
    d.positive(sp.exp(r), r"the exponential of any real number is positive; so is the OU factor $e^{-c\eta}$, "
               r"whatever the real drift $c$", display=r"e^{r}")
    d.equivalent(1 - u > 0, u, sp.Interval.open(0, 1),
                 r"so a matching OU exists iff SGD's factor $1 - u$ is positive: $0 < \eta a < 1$; for "
                 r"$1 \le \eta a < 2$ SGD is stationary but no OU matches it")
    c_ex = -sp.log(q) / eta
    d.solution(sp.Eq(sp.exp(-c * eta), q), c, c_ex, r"the drift that matches the factor ($0 < \eta a < 1$)")
    d2_ex = 2 * c_ex * eta**2 * sigma**2 / (1 - q**2)
    d.solution(sp.Eq(ou_var.subs({c: c_ex, t: eta}), eta**2 * sigma**2), d2, d2_ex,
               r"the diffusion that matches the noise variance $\eta^2\sigma^2$, using $e^{-2c\eta} = (1-\eta a)^2$")
    d2_simple = -2 * sigma**2 * sp.log(q) / (a * (2 - eta * a))
    d.equal(d2_ex, d2_simple, "simplified", display="d_2")
    f = a * th**2 / 2
    fp = sp.diff(f, th)
    c2 = a + eta * a**2 / 2
    d.equal(sp.diff(f + eta / 4 * fp**2, th) / th, c2,
            r"the second-order SME's drift $b^{(2)} = -\nabla(f + \frac{\eta}{4}|\nabla f|^2)$ on "
            r"$f = a\theta^2/2$ is $-(a + \eta a^2/2)\theta$", display=r"-b^{(2)}(\theta)/\theta")
    d.equal(sp.Limit((c_ex - c2) / eta**2, eta, 0), a**3 / 3,
            r"the exact drift is $a + \eta a^2/2 + \eta^2a^3/3 + o(\eta^2)$: it agrees with SME2's to $O(\eta)$ and "
            r"differs at $\eta^2$ (SME1's drift $a$ already at $\eta$)",
            display=r"\lim_{\eta\to0}\frac{c - (a + \eta a^2/2)}{\eta^2}")
    d.equal(sp.Limit((d2_simple - eta * sigma**2) / eta**2, eta, 0), a * sigma**2,
            r"the exact diffusion is $\eta\sigma^2(1 + \eta a) + o(\eta^2)$; both SMEs have $\eta\sigma^2$ and miss "
            r"it at $O(\eta^2)$",
            display=r"\lim_{\eta\to0}\frac{d_2 - \eta\sigma^2}{\eta^2}")
    # stationary variances
    d.equal(sp.Limit(ou_var, t, sp.oo), d2 / (2 * c), r"the OU's stationary variance ($c > 0$)",
            display=r"\lim_{t\to\infty}\operatorname{Var}X_t")
    v1, v2 = eta * sigma**2 / (2 * a), eta * sigma**2 / (a * (2 + eta * a))
    d.equal((d2 / (2 * c)).subs({c: a, d2: eta * sigma**2}), v1, r"SME1: $c = a$, $d_2 = \eta\sigma^2$",
            display=r"v_{\mathrm{SME1}}")
    d.equal((d2 / (2 * c)).subs({c: c2, d2: eta * sigma**2}), v2, r"SME2: $c = a + \eta a^2/2$, $d_2 = \eta\sigma^2$",
            display=r"v_{\mathrm{SME2}}")
    d.equal((d2 / (2 * c)).subs({c: c_ex, d2: d2_ex}), v_ar,
            r"the exact modified SDE: the same stationary variance as the AR(1), derived the second way",
            display=r"v_{\mathrm{exact}}")
    d.equal(v1 / v_ar - 1, -eta * a / 2, "relative error of SME1 at stationarity (exact)",
            display=r"v_{\mathrm{SME1}}/v - 1")
    rel2 = -2 * eta * a / (2 + eta * a)
    d.equal(v2 / v_ar - 1, rel2, "relative error of SME2 at stationarity", display=r"v_{\mathrm{SME2}}/v - 1")
    d.equal(sp.Limit(rel2 / eta, eta, 0), -a, r"$= -\eta a + O(\eta^2)$: twice SME1's; at stationarity the "
            r"second-order SME is worse, because its diffusion misses $d_2$ at $O(\eta^2)$",
            display=r"\lim_{\eta\to0}\frac{v_{\mathrm{SME2}}/v - 1}{\eta}")
    d.equivalent(sp.Gt(2 * u / (2 + u) - u / 2, 0), u, sp.Interval.open(0, 2),
                 r"not only for small $\eta$: with $u = \eta a$ both SMEs underestimate $v$, and SME2's relative "
                 r"error $2u/(2 + u)$ exceeds SME1's $u/2$ exactly on $0 < u < 2$, wherever the stationary variance "
                 r"exists")
    # finite horizon T = k eta, from theta_0 = x_0
    m_ex = x0 * sp.exp(-c_ex * T)
    d.equal(sp.Limit((m_ex - x0 * sp.exp(-a * T)) / eta, eta, 0), -a**2 * T * x0 * sp.exp(-a * T) / 2,
            r"finite horizon $T = k\eta$ from $\theta_0 = x_0$: the exact mean is $x_0(1 - \eta a)^k = x_0e^{-cT}$; "
            r"SME1's mean $x_0e^{-aT}$ errs at $O(\eta)$",
            display=r"\lim_{\eta\to0}\frac{\mathbb E\theta_k - m_{\mathrm{SME1}}(T)}{\eta}")
    d.equal(sp.Limit((m_ex - x0 * sp.exp(-c2 * T)) / eta**2, eta, 0), -a**3 * T * x0 * sp.exp(-a * T) / 3,
            r"SME2's mean $x_0e^{-(a + \eta a^2/2)T}$ errs at $O(\eta^2)$: weak order 2",
            display=r"\lim_{\eta\to0}\frac{\mathbb E\theta_k - m_{\mathrm{SME2}}(T)}{\eta^2}")
    V = (d2 * (1 - sp.exp(-2 * c * T)) / (2 * c))
    V_ex, V1, V2 = V.subs({c: c_ex, d2: d2_ex}), V.subs({c: a, d2: eta * sigma**2}), V.subs({c: c2, d2: eta * sigma**2})
    e1 = sigma**2 * ((1 - sp.exp(-2 * a * T)) / 4 + a * T * sp.exp(-2 * a * T) / 2)
    e2 = sigma**2 * (1 - sp.exp(-2 * a * T)) / 2
    d.equal(sp.Limit((V_ex - V1) / eta**2, eta, 0), e1, r"the variance at $T$: SME1 errs at $O(\eta^2)$",
            display=r"\lim_{\eta\to0}\frac{\operatorname{Var}\theta_k - V_{\mathrm{SME1}}(T)}{\eta^2}")
    d.equal(sp.Limit((V_ex - V2) / eta**2, eta, 0), e2, r"and so does SME2: the variance is $O(\eta)$, so both "
            r"capture it only to leading order",
            display=r"\lim_{\eta\to0}\frac{\operatorname{Var}\theta_k - V_{\mathrm{SME2}}(T)}{\eta^2}")
    d.equal(e2 - e1, sigma**2 * sp.exp(-2 * a * T) * (sp.exp(2 * a * T) - 1 - 2 * a * T) / 4,
            r"the difference of the leading variance errors, with $w = 2aT > 0$",
            display=r"\text{(SME2 error)} - \text{(SME1 error)}")
    wv, sv = sp.Symbol("w", positive=True), sp.Symbol("y", positive=True)
    d.equal(sp.Integral(sp.exp(sv) - 1, (sv, 0, wv)), sp.exp(wv) - 1 - wv,
            r"$e^{w} - 1 - w$ is the integral over $(0, w)$ of $e^{y} - 1$ ...", display=r"e^{w} - 1 - w")
    d.equivalent(sp.Gt(sp.exp(sv) - 1, 0), sv, sp.Interval.open(0, sp.oo),
                 r"... which is positive for every $y > 0$: so $e^{w} > 1 + w$ for $w > 0$ and SME2's leading "
                 r"variance error exceeds SME1's at every horizon $T > 0$")
    d.equal(sp.Limit(e1, T, sp.oo), sigma**2 / 4, r"as $T \to \infty$ SME1's tends to the stationary error: "
            r"$v - v_{\mathrm{SME1}} = \frac{\eta^2\sigma^2}{4} + O(\eta^3)$",
            display=r"\lim_{T\to\infty}[\eta^2](V - V_{\mathrm{SME1}})")
    d.equal(sp.Limit((v_ar - v1) / eta**2, eta, 0), sigma**2 / 4, r"the same as the stationary gap, computed "
            r"directly", display=r"\lim_{\eta\to0}\frac{v - v_{\mathrm{SME1}}}{\eta^2}")
    d.equal(sp.Limit(e2, T, sp.oo), sigma**2 / 2, r"and SME2's: $v - v_{\mathrm{SME2}} = \frac{\eta^2\sigma^2}{2} "
            r"+ O(\eta^3)$, twice as large", display=r"\lim_{T\to\infty}[\eta^2](V - V_{\mathrm{SME2}})")
    d.equal(sp.Limit((v_ar - v2) / eta**2, eta, 0), sigma**2 / 2, r"again the stationary gap, computed directly",
            display=r"\lim_{\eta\to0}\frac{v - v_{\mathrm{SME2}}}{\eta^2}")
    d.result("exact_drift", c_ex, label="c")
    d.result("exact_diffusion", d2_simple, label="d_2")
    d.result("exact_stationary_variance", v_ar, label=r"v_{\mathrm{exact}}")
    d.result("sme1_stationary_variance", v1, label=r"v_{\mathrm{SME1}}")
    d.result("sme2_stationary_variance", v2, label=r"v_{\mathrm{SME2}}")
    d.result("sme2_drift", c2, label=r"c^{(2)}")
    d.result("sme1_relative_error", -eta * a / 2, label=r"v_{\mathrm{SME1}}/v - 1")
    d.result("sme2_relative_error", rel2, label=r"v_{\mathrm{SME2}}/v - 1")
    d.result("sme1_variance_error_T", e1, label=r"[\eta^2](V - V_{\mathrm{SME1}})")
    d.result("sme2_variance_error_T", e2, label=r"[\eta^2](V - V_{\mathrm{SME2}})")
    return d
