"""Control parameters with a derived transition: the symbolic overlays of ``ldyn sweep``.

* ``weight-decay-pitchfork``: for a two-layer tanh network without biases, f(x) = Σ_j v_j tanh(w_jᵀx),
  with L = ½E[(f − y)²] + (wd/2)‖θ‖², the origin is a critical point for any data; its Hessian has
  eigenvalues wd ± ‖c‖, c = E[y x] (and wd), so θ = 0 is a stable minimum exactly when wd > ‖c‖ (a
  local statement: that GD from a random start then collapses to it is observed, not derived). Below,
  the Landau expansion along the critical directions gives ‖θ‖² ≈ (‖c‖ − wd)/q. When the quartic
  coefficient q (from the data moments) is positive this is a supercritical pitchfork with the
  mean-field exponent ½; for q < 0 the expansion predicts a first-order transition instead, with
  nonzero minima above ‖c‖, and the formula does not apply (L. D. Landau 1937; for the same phenomenon in
  deep linear networks see e.g. Ziyin & Ueda, "Exact phase transitions in deep learning", arXiv 2205.12510).
* ``noisy-gd-stationary``: GD with additive gradient noise σξ on a quadratic direction of curvature λ
  has the stationary excess loss ησ²/(2(2 − ηλ)) for 0 < η < 2/λ, which diverges like (2 − ηλ)⁻¹ at
  the step-size transition: the noise-driven fluctuation is the order parameter's susceptibility.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

wd = sp.Symbol("wd", positive=True)
cn = sp.Symbol(r"\|c\|", positive=True)  # the norm of c = E[y x]
m0, m2, m3 = sp.symbols("m_0 m_2 m_3", real=True)  # E[y^2], E[s^2], E[y s^3] with s = u.x, u = c/|c|
units = sp.Symbol("h", positive=True, integer=True)  # the number of hidden units in the results
eta, sigma, lam = sp.symbols("eta sigma lambda", positive=True)
zsym = sp.Symbol("z")


def _expect(expr: sp.Expr, moments: dict) -> sp.Expr:
    """E[·] of a polynomial in the data symbols: expand, then replace each data monomial by its moment
    (E is linear; monomials without data are constants)."""
    data = sorted({s for m in moments for s in m.free_symbols}, key=str)
    poly = sp.Poly(sp.expand(expr), *data)
    out = 0
    for monom, coeff in poly.terms():
        mono = sp.Mul(*[s**k for s, k in zip(data, monom)])
        if mono == 1:
            out += coeff
        elif mono in moments:
            out += coeff * moments[mono]
        else:
            raise KeyError(f"no moment given for {mono}")
    return sp.expand(out)


def weight_decay_pitchfork(h: int = 2, dim: int = 2) -> Derivation:
    """The origin of a bias-free two-layer tanh net with weight decay: Hessian wd ± ‖E[yx]‖, stable iff
    wd > ‖E[y x]‖; below, ‖θ‖² ≈ (‖c‖ − wd)/q (shown for ``h`` hidden units and ``dim`` inputs)."""
    d = Derivation("weight-decay-pitchfork",
                   r"Weight decay collapses a two-layer network at $\mathrm{wd} = \lVert E[yx] \rVert$: a pitchfork",
                   summary=r"For $f(x) = \sum_j v_j \tanh(w_j^{\top} x)$ with squared loss and weight decay $wd$, $\theta = 0$ "
                           r"is a critical point for any data. Its Hessian depends on the data only through "
                           r"$c = E[yx]$: eigenvalues $wd - \|c\|$, $wd + \|c\|$ (each once per hidden unit) and "
                           r"$wd$. The trivial solution is a stable minimum exactly when $wd > \|c\|$. Below that, "
                           r"the Landau expansion along the critical directions gives $\|\theta\|^2 = (\|c\| - wd)/q$ "
                           r"to leading order; when the quartic coefficient $q > 0$ (the data decide), the weight "
                           r"norm is an order parameter that vanishes continuously with exponent $1/2$.")
    d.references.append("L. D. Landau, On the theory of phase transitions, 1937 (the expansion to fourth order)")
    d.references.append("L. Ziyin, M. Ueda, Exact phase transitions in deep learning, arXiv 2205.12510 (2022)")
    ys = sp.Symbol("y", real=True)
    xs = sp.symbols(f"x_1:{dim + 1}", real=True)
    v = sp.symbols(f"v_1:{h + 1}", real=True)
    W = sp.Matrix(h, dim, lambda j, k: sp.Symbol(f"w_{j + 1}{k + 1}", real=True))
    theta = list(v) + list(W)
    origin = {p: 0 for p in theta}
    c = sp.symbols(f"c_1:{dim + 1}", real=True)
    f = sum(v[j] * sp.tanh(sum(W[j, k] * xs[k] for k in range(dim))) for j in range(h))
    per_sample = (f - ys) ** 2 / 2
    reg = wd / 2 * sum(p**2 for p in theta)
    d.given(sp.Symbol("L"), sp.Symbol("L_data") + reg,
            r"squared loss with weight decay: $L_{\mathrm{data}} = E[(f(x) - y)^2]/2$, with $E$ the average over the data; "
            r"$c_k = E[yx_k]$")
    grad0 = sp.Matrix([sp.diff(per_sample, p).subs(origin) for p in theta])
    d.equal(grad0, sp.zeros(len(theta), 1), r"$\tanh 0 = 0$ and each term carries a factor $v_j$ or $\tanh$, so every per-sample gradient vanishes at "
            r"$\theta = 0$: the origin is a critical point for any data",
            display=r"\nabla_\theta \tfrac12 (f - y)^2 \big|_{\theta=0}")
    H_sample = sp.hessian(per_sample, theta).subs(origin)
    moments = {ys * xs[k]: c[k] for k in range(dim)}
    H = H_sample.applyfunc(lambda e: _expect(e, moments)) + wd * sp.eye(len(theta))
    block = sp.zeros(len(theta), len(theta))
    for j in range(h):
        for k in range(dim):
            block[j, h + j * dim + k] = block[h + j * dim + k, j] = c[k]
    d.equal(H, wd * sp.eye(len(theta)) - block, r"at $\theta = 0$ only $\partial^2 f/\partial v_j\,\partial w_{jk} = x_k$ survives, times $-y$; the "
            r"average turns $yx_k$ into $c_k$, and weight decay adds $wd\,I$", display=r"\nabla^2 L\,\big|_{\theta=0}")
    cn2 = sum(ck**2 for ck in c)
    charpoly = sp.factor(H.charpoly(zsym).as_expr())
    d.equal(H.charpoly(zsym).as_expr(),
            (zsym - wd) ** (h * (dim - 1)) * ((zsym - wd) ** 2 - cn2) ** h,
            r"the characteristic polynomial factors: eigenvalues $wd \pm \|c\|$ ($h$ times each) and $wd$ "
            r"($h(n - 1)$ times, for $n$ inputs)",
            display=r"\det(zI - \nabla^2 L)")
    d.equivalent(wd - cn > 0, wd, sp.Interval.open(cn, sp.oo),
                 r"the smallest eigenvalue $wd - \|c\|$ is positive exactly when $wd > \|c\|$: then the collapsed solution "
                 r"$\theta = 0$ is a stable minimum")
    # Landau expansion along the critical directions v_j = a_j, w_j = a_j u with u = c/|c|, s = u.x
    a = sp.symbols(f"a_1:{h + 1}", real=True)
    s, eps = sp.Symbol("s", real=True), sp.Symbol("epsilon", positive=True)
    f_crit = sum(eps * a[j] * sp.tanh(eps * a[j] * s) for j in range(h))
    L_crit = (f_crit - ys) ** 2 / 2
    series = sp.series(L_crit, eps, 0, 5).removeO()
    smoments = {ys**2: m0, ys * s: cn, ys * s**3: m3, s**2: m2}
    landau = _expect(series, smoments) + wd / 2 * sum(2 * (eps * aj) ** 2 for aj in a)
    A2 = sum(aj**2 for aj in a)
    A4 = sum(aj**4 for aj in a)
    d.given(tuple(v), a, r"the amplitudes $a_j$ along the critical directions: $v_j = a_j$, $w_j = a_j u$")
    d.given(sp.Symbol("E[y s]"), cn, r"on the critical directions $v_j = a_j$, $w_j = a_j u$ with $u = c/\|c\|$ (the eigenvectors of "
            r"$wd - \|c\|$), $f$ depends on $x$ through $s = u^{\top}x$, and $E[ys] = u^{\top}c = \|c\|$; write "
            r"$m_0 = E[y^2]$, $m_2 = E[s^2]$, $m_3 = E[ys^3]$")
    d.equal(landau, m0 / 2 + eps**2 * (wd - cn) * A2 + eps**4 * (m3 / 3 * A4 + m2 / 2 * A2**2),
            r"expand to fourth order in the amplitude $\epsilon$ ($\tanh u = u - u^3/3 + \dots$); $L$ is even in "
            r"$\theta$, so the stable directions enter only at order $\epsilon^6$", display=r"L(\epsilon a)")
    d.equal(landau.coeff(eps, 4), m3 / 3 * A4 + m2 / 2 * A2**2, r"the quartic Landau coefficient: the coefficient of $\epsilon^4$ in that expansion",
            display=r"[\epsilon^4]\,L(\epsilon a)")
    A, q = sp.Symbol("A", positive=True), sp.Symbol("q", positive=True)
    S4 = sp.Symbol("S_4")
    d.given(S4, A**2 / h, r"$S_4 = \sum_j a_j^4$: with $A = \sum_j a_j^2$ fixed, $S_4$ ranges over $[A^2/h, A^2]$ (Cauchy-Schwarz); "
            r"for $m_3 > 0$ the minimum spreads the amplitude evenly, giving $q = m_2/2 + m_3/(3h)$ (for "
            r"$m_3 < 0$ it concentrates: $q = m_2/2 + m_3/3$)", relation=">=")
    quartic = (m3 / 3 * S4 + m2 / 2 * A**2) / A**2  # the epsilon^4 term with sum a_j^2 = A, sum a_j^4 = S_4
    d.equal(sp.Subs(quartic, S4, A**2 / units), m2 / 2 + m3 / (3 * units),
            r"$q$ is the $\epsilon^4$ coefficient over $A^2$; with the amplitude spread evenly over the $h$ units, "
            r"$S_4 = A^2/h$",
            display=r"q_{\mathrm{spread}}")
    d.equal(sp.Subs(quartic, S4, A**2), m2 / 2 + m3 / 3,
            "and with all of it on one unit, $S_4 = A^2$", display=r"q_{\mathrm{concentrated}}")
    reduced = (wd - cn) * A + q * A**2
    A_star = (cn - wd) / (2 * q)
    d.solution(sp.Eq(sp.diff(reduced, A), 0), A, A_star, r"minimize $(wd - \|c\|)A + qA^2$ over $A$: its derivative vanishes there; for $q > 0$ a nonzero "
               r"minimum exists exactly when $wd < \|c\|$ (for $q < 0$ the quartic truncation has none: a "
               "first-order transition, outside this formula)")
    d.equal(2 * A_star, (cn - wd) / q, r"the weight norm $\|\theta\|^2 = \sum_j (v_j^2 + \|w_j\|^2) = 2A$ is linear in $\|c\| - wd$, so "
            r"$\|\theta\| \sim (\|c\| - wd)^{1/2}$", display=r"\|\theta\|^2")
    d.result("critical_weight_decay", cn, label=r"wd_{\mathrm{c}}")
    d.result("hessian_charpoly", charpoly, label=r"\det(zI - \nabla^2 L)")
    d.result("norm_squared", (cn - wd) / q, label=r"\|\theta\|^2")
    d.result("landau_quartic", m3 / 3 * A4 + m2 / 2 * A2**2, label=r"[\epsilon^4]\,L(\epsilon a)")
    d.result("landau_amplitudes", a, label=r"(a_1, \dots, a_h)")
    d.result("q_spread", m2 / 2 + m3 / (3 * units), label=r"q_{\mathrm{spread}}")
    d.result("q_concentrated", m2 / 2 + m3 / 3, label=r"q_{\mathrm{concentrated}}")
    return d


def noisy_gd_stationary() -> Derivation:
    """Stationary excess loss ησ²/(2(2 − ηλ)) of GD with gradient noise σ on curvature λ."""
    d = Derivation("noisy-gd-stationary", r"Gradient noise on a quadratic: the stationary loss diverges at $\eta = 2/\lambda$",
                   summary=r"Along one eigen-direction of curvature $\lambda$, GD with additive noise $\sigma\xi$ ($\xi$ "
                           r"standard normal, independent over steps) is a linear recursion. Its stationary variance "
                           r"exists for $0 < \eta < 2/\lambda$ and the excess loss $\eta\sigma^2/(2(2 - \eta\lambda))$ "
                           r"diverges like $(2 - \eta\lambda)^{-1}$ at the step-size transition. Summed over "
                           "directions for isotropic noise.")
    d.references.append("G. N. Milstein, Numerical Integration of Stochastic Differential Equations, 1995 (linear "
                        "recursions); S. Mandt, M. Hoffman, D. Blei, Stochastic gradient descent as approximate "
                        "Bayesian inference, JMLR 2017")
    e, xi, s = sp.Symbol("e_k", real=True), sp.Symbol("xi_k", real=True), sp.Symbol("s", positive=True)
    step = (1 - eta * lam) * e - eta * sigma * xi
    d.given(sp.Symbol("e_{k+1}"), step, r"GD on $\lambda e^2/2$ with the noisy gradient $\lambda e_k + \sigma\xi_k$")
    second = _expect(step**2, {e**2: s, e * xi: 0, xi**2: 1})
    d.equal(second, (1 - eta * lam) ** 2 * s + eta**2 * sigma**2,
            r"square and average: $E[e_k^2] = s$, $E[e_k\xi_k] = 0$ ($\xi_k$ is independent of the past) and "
            r"$E[\xi_k^2] = 1$",
            display=r"E[e_{k+1}^2]")
    s_star = eta * sigma**2 / (lam * (2 - eta * lam))
    d.solution(sp.Eq(s, (1 - eta * lam) ** 2 * s + eta**2 * sigma**2), s, s_star,
               "the stationary variance is the fixed point of this linear recursion")
    d.equivalent(sp.Abs(1 - eta * lam) < 1, eta, sp.Interval.open(0, 2 / lam),
                 r"the recursion contracts, so the fixed point is reached, exactly when $|1 - \eta\lambda| < 1$")
    d.equal(lam * s_star / 2, eta * sigma**2 / (2 * (2 - eta * lam)), r"the excess loss of the quadratic is $\lambda s/2$, here at the stationary variance",
            display=r"E[L - L^*]")
    d.result("stationary_variance", s_star, label="s^*")
    d.result("excess_loss", eta * sigma**2 / (2 * (2 - eta * lam)), label="E[L - L^*]")
    return d
