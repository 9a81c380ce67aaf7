"""Tuning momentum on a quadratic with spectrum in [μ, L], and the rate comparison with GD.

Per eigenvalue λ, with x = ηλ, heavy ball's characteristic polynomial is z² − (1 + β − x)z + β and
Nesterov's z² − (1 + β)(1 − x)z + β(1 − x) (derive/rules/momentum.py).  The spectral radius ρ is the
largest root modulus; both are derived here, not given:

* Heavy ball (Polyak 1964).  With r = √β the discriminant is ((1 − r)² − x)((1 + r)² − x): inside the
  band (1 − r)² ≤ x ≤ (1 + r)² the roots are a complex pair (a double root at the ends) of modulus r;
  outside they are real and ρ > r.  Since P(1 − √x) = √x (r² − (1 − √x)²), ρ(x) ≥ |1 − √x| for every
  x (intermediate value theorem), and a weighted average of 1 − √(ημ) and √(ηL) − 1 equals
  (√κ − 1)/(√κ + 1): no (η, β) does better than fitting [μ, L] into the band,
  η = 4/(√L + √μ)², √β = (√κ − 1)/(√κ + 1), rate (√κ − 1)/(√κ + 1).
* Nesterov.  The discriminant is (1 − x)((1 + β)²(1 − x) − 4β), zero at x_c = 1 − 4β/(1 + β)²
  (critical damping, a double root (1 + β)(1 − x_c)/2); complex of modulus √(β(1 − x)), decreasing,
  on (x_c, 1); real for x > 1 with ρ = ((1 + β)(x − 1) + √Δ)/2, increasing in x.
  Standard strongly convex tuning η = 1/L, β = (√κ − 1)/(√κ + 1) (Nesterov 2004, §2.2): ημ = x_c,
  so ρ ≤ 1 − 1/√κ on [μ, L].  Lessard, Recht & Packard (2016, §3.2) tuning on quadratics
  η = 4/(3L + μ), β = (s − 2)/(s + 2), s = √(3κ + 1): ημ = x_c (critically damped, not complex)
  and ηL > 1, where ρ = 1 − 2/s again: ρ ≤ 1 − 2/s on all of [μ, L], equality at both ends.  That no
  other Nesterov tuning does better is their theorem (given).
* GD's best rate (κ − 1)/(κ + 1) needs ~κ/2 iterations per e-fold; momentum ~√κ/2.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

mu, Lmax = sp.symbols("mu L", positive=True)
kappa = sp.Symbol("kappa", positive=True)
eta, r = sp.symbols("eta r", positive=True)  # r = sqrt(beta)
s = sp.Symbol("s", positive=True)  # s = sqrt(3 kappa + 1)

HB_ETA = 4 / (sp.sqrt(Lmax) + sp.sqrt(mu)) ** 2
HB_R = (sp.sqrt(Lmax) - sp.sqrt(mu)) / (sp.sqrt(Lmax) + sp.sqrt(mu))


def _complex_pair(d: Derivation) -> None:
    """|z|² = p for the complex pair of z² − az + p (a² < 4p): the lemma both radius formulas use."""
    a, p = sp.Symbol("a", real=True), sp.Symbol("p", positive=True)
    w = sp.sqrt(4 * p - a**2)
    d.equal(sp.expand((a + sp.I * w) * (a - sp.I * w) / 4), p,
            r"lemma: when $a^2 < 4p$ the roots of $z^2 - az + p$ are $z, \bar z = \frac{1}{2}\big(a \pm i\sqrt{4p - "
            r"a^2}\big)$, so $|z|^2 = z\bar z = p$ (when $a^2 = 4p$: the double root $a/2$, of modulus $\sqrt p$)",
            display=r"z\bar z\,\big|_{z^2 - az + p,\ a^2 < 4p}")


def _heavy_ball(d: Derivation, z: sp.Symbol, x: sp.Symbol) -> None:
    """Heavy ball's radius in each regime, the lower bound |1 − √x|, and Polyak's tuning."""
    from derive.rules.momentum import char_coefficients, heavy_ball_rule
    from derive.rules.momentum import beta as b

    a1, a0 = char_coefficients(heavy_ball_rule())
    d.equal((z**2 + a1 * z + a0).subs(b, r**2), z**2 - (1 + r**2 - x) * z + r**2,
            r"heavy ball's characteristic polynomial $\det(zI - M)$ (from `derive/rules/momentum.py`), with "
            r"$x = \eta\lambda$ and $\beta = r^2$", display=r"P_{\mathrm{HB}}(z)")
    d.equal((1 + r**2 - x) ** 2 - 4 * r**2, ((1 - r) ** 2 - x) * ((1 + r) ** 2 - x),
            r"its discriminant factors into two terms linear in $x$, so it is $\le 0$ exactly on the band "
            r"$(1 - r)^2 \le x \le (1 + r)^2$", display=r"\Delta_{\mathrm{HB}}")
    D = sp.Symbol("Delta", positive=True)  # the discriminant outside the band
    root = sp.sqrt(D + 4 * r**2)  # |a| for a^2 = Delta + 4 r^2
    d.equal((root - 2 * r) * (root + 2 * r), D, r"on the band the roots are a complex pair of modulus $r$ (the lemma "
            r"with $p = r^2$). Outside, $\Delta > 0$: the roots $(a \pm \sqrt\Delta)/2$, $a = 1 + r^2 - x$, are real, "
            r"$|a| = \sqrt{\Delta + 4r^2}$ and the larger modulus is $\rho_{\mathrm{HB}} = (|a| + \sqrt\Delta)/2$; "
            r"this difference of squares gives $|a| - 2r = \Delta/(|a| + 2r)$",
            display=r"\left(\sqrt{\Delta + 4r^2} - 2r\right)\left(\sqrt{\Delta + 4r^2} + 2r\right)")
    d.positive(D / (root + 2 * r) + sp.sqrt(D), r"so outside the band $\rho_{\mathrm{HB}} - r$ is half of this "
               r"positive sum: the band is where heavy ball is fastest for a given $\beta$",
               display=r"2(\rho_{\mathrm{HB}} - r)\big|_{\Delta > 0}")
    y = 1 - sp.sqrt(x)
    d.equal((z**2 - (1 + r**2 - x) * z + r**2).subs(z, y), sp.sqrt(x) * (r**2 - y**2),
            r"if $r < |1 - \sqrt x|$ this is negative, while $P \to +\infty$ beyond $1 - \sqrt x$, so a real root "
            r"lies beyond it (intermediate value theorem): $\rho_{\mathrm{HB}}(x) \ge \max(r, |1 - \sqrt x|)$ for "
            r"every $x$",
            display=r"P_{\mathrm{HB}}(1 - \sqrt{x})")
    u = sp.Symbol("u", positive=True)  # u = sqrt(eta mu), so sqrt(eta L) = sqrt(kappa) u
    sk = sp.sqrt(kappa)
    d.equal((sk * (1 - u) + (sk * u - 1)) / (sk + 1), (sk - 1) / (sk + 1),
            r"for every $(\eta, \beta)$ a weighted average of the lower bounds $1 - \sqrt{\eta\mu}$ and "
            r"$\sqrt{\eta L} - 1$ (with $u = \sqrt{\eta\mu}$) is $(\sqrt\kappa - 1)/(\sqrt\kappa + 1)$, so the largest "
            r"$\rho_{\mathrm{HB}}$ over $[\mu, L]$ is at least that",
            display=r"\tfrac{\sqrt\kappa\,(1 - u) + (\sqrt\kappa\,u - 1)}{\sqrt\kappa + 1}")
    d.solution([sp.Eq(eta * mu, (1 - r) ** 2), sp.Eq(eta * Lmax, (1 + r) ** 2)], (eta, r), (HB_ETA, HB_R),
               r"and it is attained: fit $[\mu, L]$ exactly into the band, where $\rho_{\mathrm{HB}} = r$ everywhere")
    d.equal(HB_ETA, (4 / (mu * (sk + 1) ** 2)).subs(kappa, Lmax / mu), r"the optimal step, with $\kappa = L/\mu$",
            display=r"\eta^*_{\mathrm{HB}}")
    d.equal(HB_R.subs(Lmax, kappa * mu), (sk - 1) / (sk + 1), r"the optimal rate $r$, with $L = \kappa\mu$",
            display=r"\rho_{\mathrm{HB}}^*")
    d.equal((HB_R**2).subs(Lmax, kappa * mu), ((sk - 1) / (sk + 1)) ** 2, r"the optimal momentum $\beta = r^2$",
            display=r"\beta^*_{\mathrm{HB}}")
    d.equal(HB_R, ((sk - 1) / (sk + 1)).subs(kappa, Lmax / mu), r"the rate in terms of $\mu$ and $L$",
            display=r"\rho^*_{\mathrm{HB}}")
    d.equal(HB_R**2, (((sk - 1) / (sk + 1)) ** 2).subs(kappa, Lmax / mu), r"the momentum in terms of $\mu$ and $L$",
            display=r"\beta^*_{\mathrm{HB}}")


def _nesterov(d: Derivation, z: sp.Symbol, x: sp.Symbol) -> dict:
    """Nesterov's radius in each regime (for any β); returns the symbols the tunings use."""
    from derive.rules.momentum import char_coefficients, nesterov_rule
    from derive.rules.momentum import beta as b

    a1, a0 = char_coefficients(nesterov_rule())
    d.equal(z**2 + a1 * z + a0, z**2 - (1 + b) * (1 - x) * z + b * (1 - x),
            "Nesterov's characteristic polynomial (from `derive/rules/momentum.py`)", display=r"P_{\mathrm{N}}(z)")
    d.equal(a1**2 - 4 * a0, (1 - x) * ((1 + b) ** 2 * (1 - x) - 4 * b), r"its discriminant $a_1^2 - 4a_0$, factored",
            display=r"\Delta_{\mathrm{N}}")
    x_c = 1 - 4 * b / (1 + b) ** 2
    dd, e = sp.symbols("d e", positive=True)  # x = x_c + d below 1, x = 1 + e above 1
    d.equal(((1 + b) ** 2 * (1 - x) - 4 * b).subs(x, x_c + dd), -(1 + b) ** 2 * dd,
            r"with $x_c = 1 - 4\beta/(1 + \beta)^2$ the bracket vanishes at $x_c$ and is negative above it, so "
            r"$\Delta < 0$ for $x_c < x < 1$ (a complex pair of squared modulus $\beta(1 - x)$, by the lemma) and "
            r"$\Delta = 0$ at $x = x_c$",
            display=r"\left[(1+\beta)^2(1-x) - 4\beta\right]_{x = x_c + d}")
    d.equal(b * (1 - x_c) - b * (1 - (x_c + dd)), b * dd,
            r"the squared modulus $\beta(1 - x)$ decreases as $x$ grows past $x_c$ ($d > 0$)",
            display=r"\beta(1 - x_c) - \beta(1 - x_c - d)")
    d.equal(sp.sqrt(b * (1 - x_c)), (1 + b) * (1 - x_c) / 2, r"at $x_c$ the double root $(1 + \beta)(1 - x_c)/2$ "
            "has that modulus: critically damped", display=r"\sqrt{\beta(1 - x_c)}")
    delta_hi = (a1**2 - 4 * a0).subs(x, 1 + e)
    d.equal(delta_hi, e * ((1 + b) ** 2 * e + 4 * b), r"above $x = 1$ (write $x = 1 + e$, $e > 0$) the "
            "discriminant is a product of positive factors: real roots",
            display=r"\Delta_{\mathrm{N}}\big|_{x = 1 + e}")
    rho_hi = ((1 + b) * e + sp.sqrt(e * ((1 + b) ** 2 * e + 4 * b))) / 2
    d.positive(sp.diff(rho_hi, e), r"the larger modulus $\big((1 + \beta)(x - 1) + \sqrt\Delta\big)/2$, of the "
               r"negative root, increases with $x = 1 + e$: its derivative in $e$ is positive",
               display=r"\partial_e\,\rho_{\mathrm{N}}\big|_{x = 1 + e}")
    return {"x_c": x_c, "beta": b}


def momentum_tuning() -> Derivation:
    """Optimal heavy ball, Nesterov's standard and best quadratic tunings, rates vs GD."""
    from derive.rules.momentum import x, z

    sk = sp.sqrt(kappa)
    d = Derivation(
        "momentum-tuning", r"Tuning momentum on a quadratic: heavy ball, Nesterov and $\sqrt{\kappa}$",
        summary=("For a Hessian spectrum in $[\\mu, L]$, $\\kappa = L/\\mu$, $x = \\eta\\lambda$. The spectral "
                 "radius of each method is derived regime by regime from its characteristic polynomial. Heavy "
                 "ball's radius is $\\sqrt\\beta$ on its underdamped band and larger outside, and never below "
                 "$|1 - \\sqrt x|$; hence its best constant tuning puts the whole spectrum in the band, with rate "
                 "$(\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1)$. Nesterov's standard tuning puts $\\lambda = \\mu$ at "
                 "critical damping and gives $1 - 1/\\sqrt\\kappa$ on the whole interval; Lessard, Recht and "
                 "Packard's tuning gives $1 - 2/\\sqrt{3\\kappa + 1}$ on the whole interval, attained at both "
                 "ends ($\\lambda = \\mu$ critically damped, $\\lambda = L$ real roots); that it is the best "
                 "Nesterov tuning is their result (given). Against GD's $(\\kappa - 1)/(\\kappa + 1)$ the "
                 "iterations per e-fold drop from about $\\kappa/2$ to a constant times $\\sqrt\\kappa$."),
        references=["B. T. Polyak, Some methods of speeding up the convergence of iteration methods (1964)",
                    "Y. Nesterov, Introductory Lectures on Convex Optimization (2004), section 2.2",
                    "L. Lessard, B. Recht and A. Packard, SIAM J. Optim. 26 (2016), section 3.2"])
    _complex_pair(d)
    _heavy_ball(d, z, x)
    nes = _nesterov(d, z, x)
    b, x_c = nes["beta"], nes["x_c"]
    # Nesterov, standard tuning
    b_std = (sk - 1) / (sk + 1)
    sl_std = sp.sqrt(Lmax / mu)
    d.given(sp.Symbol(r"\eta_{\mathrm{N}}"), 1 / Lmax,
            "Nesterov's standard strongly convex tuning (a choice): step $1/L$")
    d.given(sp.Symbol(r"\beta_{\mathrm{N}}"), (sl_std - 1) / (sl_std + 1),
            r"and momentum $(\sqrt\kappa - 1)/(\sqrt\kappa + 1)$")
    d.equal(x_c.subs(b, b_std), 1 / kappa,
            r"with the standard tuning $\eta = 1/L$, $\beta = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$: $x_c = 1/\kappa "
            r"= \eta\mu$, so $\lambda = \mu$ is critically damped and every $\mu < \lambda \le L$ ($x \le 1$) gives a "
            r"complex pair of smaller modulus",
            display=r"x_c\big|_{\beta = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}}")
    d.equal((1 + b_std) * (1 - 1 / kappa) / 2, 1 - 1 / sk, "its double root: the standard rate, the largest "
            r"radius over $[\mu, L]$", display=r"\rho_{\mathrm{N}}")
    d.equal(1 - sp.sqrt(mu / Lmax), (1 - 1 / sk).subs(kappa, Lmax / mu), r"the standard rate in terms of $\mu$ and $L$",
            display=r"\rho_{\mathrm{N}}")
    # Nesterov, best tuning on quadratics
    q = sp.Symbol("q", positive=True)  # s = 2 + q > 2 for kappa > 1
    kap_s = (s**2 - 1) / 3
    eta_b, beta_b = 4 / (3 * Lmax + mu), (s - 2) / (s + 2)
    x_lo = sp.simplify((eta_b * mu).subs(Lmax, kappa * mu).subs(kappa, kap_s))
    x_hi = sp.simplify((eta_b * Lmax).subs(Lmax, kappa * mu).subs(kappa, kap_s))
    sl = sp.sqrt(3 * Lmax / mu + 1)
    d.given(sp.Symbol(r"\eta^*_{\mathrm{N}}"), eta_b, "Lessard-Recht-Packard's tuning of Nesterov on quadratics; that "
            r"no other $(\eta, \beta)$ has a smaller worst-case radius is their result (not proved here)")
    d.given(sp.Symbol(r"\beta^*_{\mathrm{N}}"), (sl - 2) / (sl + 2), r"its momentum, $(s - 2)/(s + 2)$ with "
            r"$s = \sqrt{3\kappa + 1} = \sqrt{3L/\mu + 1} > 2$")
    d.equal(x_c.subs(b, beta_b), x_lo, r"at $\lambda = \mu$: $x = \eta\mu = 4/s^2$ is exactly $x_c$, a double "
            "root (critically damped), not a complex pair", display=r"x_c\big|_{\beta = \frac{s-2}{s+2}}")
    d.equal((1 + beta_b) * (1 - x_lo) / 2, 1 - 2 / s, r"its modulus $(1 + \beta)(1 - x_c)/2$",
            display=r"\rho_{\mathrm{N}}\big|_{\lambda=\mu}")
    d.positive((x_hi - 1).subs(s, 2 + q), r"$\eta L - 1 = (s^2 - 4)/(3s^2)$ is positive for "
               r"$s = 2 + q > 2$: $\lambda = L$ lies above $x = 1$, in the real-root regime", display=r"\eta L - 1")
    a1, a0 = -(1 + beta_b) * (1 - x_hi), beta_b * (1 - x_hi)
    d.equal(((a1 + sp.sqrt(sp.factor(a1**2 - 4 * a0))) / 2).subs(s, 2 + q), (1 - 2 / s).subs(s, 2 + q),
            r"at $\lambda = L$ the negative root has the same modulus $(a_1 + \sqrt\Delta)/2$ (with $s = 2 + q$). "
            r"By the regimes above, $\rho_{\mathrm{N}}$ decreases on $(\mu, 1/\eta]$ and increases on $[1/\eta, L]$, "
            r"so $\rho_{\mathrm{N}} \le 1 - 2/s$ on all of $[\mu, L]$, with equality at both ends",
            display=r"\rho_{\mathrm{N}}\big|_{\lambda=L}")
    d.equal(1 - 2 / sl, (1 - 2 / s).subs(s, sl), r"the best rate in terms of $\mu$ and $L$",
            display=r"\rho^*_{\mathrm{N}}")
    # comparison with GD: rho_GD(eta) = max(|1 - eta mu|, |1 - eta L|)
    d.equal((Lmax * (1 - eta * mu) + mu * (eta * Lmax - 1)) / (Lmax + mu), (Lmax - mu) / (Lmax + mu),
            r"GD's radius on $[\mu, L]$ is $\max(|1 - \eta\mu|, |1 - \eta L|)$; for every $\eta$ a weighted average "
            r"of $1 - \eta\mu$ and $\eta L - 1$ is $(L - \mu)/(L + \mu)$, so no $\eta$ does better",
            display=r"\tfrac{L(1 - \eta\mu) + \mu(\eta L - 1)}{L + \mu}")
    d.equal((1 - eta * mu).subs(eta, 2 / (mu + Lmax)), (Lmax - mu) / (Lmax + mu),
            r"attained at $\eta = 2/(\mu + L)$, where $1 - \eta\mu = \eta L - 1$", display=r"\rho^*_{\mathrm{GD}}")
    rate_gd = (kappa - 1) / (kappa + 1)
    d.equal(sp.Limit(kappa * (1 - rate_gd), kappa, sp.oo), 2,
            r"GD: $1 - \rho^*_{\mathrm{GD}} = 2/(\kappa + 1) \sim 2/\kappa$",
            display=r"\lim_{\kappa\to\infty} \kappa(1-\rho_{\mathrm{GD}}^*)")
    d.equal(sp.Limit(sk * (1 - (sk - 1) / (sk + 1)), kappa, sp.oo), 2,
            r"heavy ball: $1 - \rho^*_{\mathrm{HB}} = 2/(\sqrt\kappa + 1) \sim 2/\sqrt\kappa$",
            display=r"\lim_{\kappa\to\infty} \sqrt\kappa(1-\rho_{\mathrm{HB}}^*)")
    d.equal(sp.Limit(sk * (1 / sk), kappa, sp.oo), 1,
            r"Nesterov (standard): $1 - \rho_{\mathrm{N}} = 1/\sqrt\kappa$ exactly",
            display=r"\lim_{\kappa\to\infty} \sqrt\kappa(1-\rho_{\mathrm{N}})")
    d.equal(sp.Limit(sk * 2 / sp.sqrt(3 * kappa + 1), kappa, sp.oo), 2 / sp.sqrt(3),
            r"Nesterov (best on quadratics): $1 - \rho^*_{\mathrm{N}} = 2/\sqrt{3\kappa + 1} \sim 2/\sqrt{3\kappa}$",
            display=r"\lim_{\kappa\to\infty} \sqrt\kappa(1-\rho_{\mathrm{N}}^*)")
    d.result("hb_eta", HB_ETA, label=r"\eta^*_{\mathrm{HB}}").result("hb_beta", HB_R**2, label=r"\beta^*_{\mathrm{HB}}")
    d.result("hb_rate", HB_R, label=r"\rho^*_{\mathrm{HB}}")
    d.result("nesterov_standard_eta", 1 / Lmax, label=r"\eta_{\mathrm{N}}")
    d.result("nesterov_standard_beta", (sl_std - 1) / (sl_std + 1), label=r"\beta_{\mathrm{N}}")
    d.result("nesterov_standard_rate", 1 - sp.sqrt(mu / Lmax), label=r"\rho_{\mathrm{N}}")
    d.result("nesterov_eta", eta_b, label=r"\eta^*_{\mathrm{N}}")
    d.result("nesterov_beta", (sl - 2) / (sl + 2), label=r"\beta^*_{\mathrm{N}}")
    d.result("nesterov_rate", 1 - 2 / sl, label=r"\rho^*_{\mathrm{N}}")
    d.result("gd_rate", (Lmax - mu) / (Lmax + mu), label=r"\rho^*_{\mathrm{GD}}")
    return d
