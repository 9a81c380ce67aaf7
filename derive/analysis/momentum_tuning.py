"""Tuning momentum on a quadratic with spectrum in [μ, L], and the rate comparison with GD.

* Heavy ball (Polyak 1964): fit the whole spectrum inside the underdamped band, where the
  spectral radius is √β:  ημ = (1 − √β)², ηL = (1 + √β)²  ⇒  η = 4/(√L + √μ)²,
  √β = (√κ − 1)/(√κ + 1), rate (√κ − 1)/(√κ + 1).
* Nesterov, standard strongly convex tuning η = 1/L, β = (√κ − 1)/(√κ + 1): λ = μ is
  exactly critically damped, rate 1 − 1/√κ (Nesterov 2004, §2.2).
* Nesterov, best tuning on quadratics (Lessard, Recht & Packard 2016, §3.2):
  η = 4/(3L + μ), β = (s − 2)/(s + 2), s = √(3κ + 1): rate 1 − 2/s, attained at both ends.
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


def momentum_tuning() -> Derivation:
    """Optimal heavy ball, Nesterov's standard and best quadratic tunings, rates vs GD."""
    sk = sp.sqrt(kappa)
    d = Derivation(
        "momentum-tuning", "Tuning momentum on a quadratic: heavy ball, Nesterov and the square root of kappa",
        summary=("For a Hessian spectrum in $[\\mu, L]$, $\\kappa = L/\\mu$. Heavy ball's best constant tuning "
                 "puts the whole spectrum in its underdamped band, where the spectral radius is "
                 "$\\sqrt\\beta$; the rate is $(\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1)$. Nesterov's standard "
                 "tuning gives $1 - 1/\\sqrt\\kappa$; its best tuning on quadratics gives "
                 "$1 - 2/\\sqrt{3\\kappa + 1}$. Against GD's $(\\kappa - 1)/(\\kappa + 1)$ the number of "
                 "iterations per e-fold drops from about $\\kappa/2$ to a multiple of $\\sqrt\\kappa$."),
        references=["B. T. Polyak, Some methods of speeding up the convergence of iteration methods (1964)",
                    "Y. Nesterov, Introductory Lectures on Convex Optimization (2004), section 2.2",
                    "L. Lessard, B. Recht and A. Packard, SIAM J. Optim. 26 (2016), section 3.2"])
    # heavy ball
    d.given(r"\rho_{\mathrm{HB}}(\lambda)", r"\sqrt\beta \text{ for } (1-\sqrt\beta)^2 \le \eta\lambda \le (1+\sqrt\beta)^2,"
            r"\ \text{larger outside}", "heavy ball's radius (see heavy-ball): real roots have |a_1|/2 > sqrt(a_0)")
    d.solution([sp.Eq(eta * mu, (1 - r) ** 2), sp.Eq(eta * Lmax, (1 + r) ** 2)], (eta, r), (HB_ETA, HB_R),
               "fit [mu, L] exactly into the underdamped band, r = sqrt(beta)")
    d.equal(HB_R.subs(Lmax, kappa * mu), (sk - 1) / (sk + 1), "the rate sqrt(beta), with L = kappa mu",
            display=r"\rho_{\mathrm{HB}}^*")
    d.equal((HB_R**2).subs(Lmax, kappa * mu), ((sk - 1) / (sk + 1)) ** 2, "the optimal momentum", display=r"\beta^*_{\mathrm{HB}}")
    # Nesterov, standard tuning
    b_std = (sk - 1) / (sk + 1)
    x_mu = 1 / kappa  # eta * mu with eta = 1/L
    d.equal(1 - 4 * b_std / (1 + b_std) ** 2, x_mu,
            "Nesterov, eta = 1/L, beta = (sqrt(kappa)-1)/(sqrt(kappa)+1): lambda = mu sits on the critical-damping curve",
            display=r"x_{\mathrm{crit}}(\beta)")
    d.equal((1 + b_std) * (1 - x_mu) / 2, 1 - 1 / sk, "its double root (1+beta)(1-x)/2: the standard rate",
            display=r"\rho_{\mathrm{N}}")
    d.given(r"\rho_{\mathrm{N}}(\lambda)", r"\sqrt{\beta(1-\eta\lambda)} \text{ for } \mu < \lambda \le L",
            "larger lambda is underdamped with a smaller modulus: lambda = mu is the worst case")
    # Nesterov, best tuning on quadratics
    kap_s = (s**2 - 1) / 3
    eta_b, beta_b = 4 / (3 * Lmax + mu), (s - 2) / (s + 2)
    x_lo = sp.simplify((eta_b * mu).subs(Lmax, kappa * mu).subs(kappa, kap_s))
    x_hi = sp.simplify((eta_b * Lmax).subs(Lmax, kappa * mu).subs(kappa, kap_s))
    d.given(r"(\eta, \beta)", r"\left(\frac{4}{3L+\mu}, \frac{s-2}{s+2}\right),\ s = \sqrt{3\kappa+1}",
            "Lessard-Recht-Packard's tuning of Nesterov on quadratics")
    d.equal(beta_b * (1 - x_lo), (1 - 2 / s) ** 2, "at lambda = mu: complex roots of modulus^2 a_0 = beta(1-x)",
            display=r"|z|^2_{\lambda=\mu}")
    q = sp.Symbol("q", positive=True)  # s = 2 + q > 2 for kappa > 1
    a1, a0 = -(1 + beta_b) * (1 - x_hi), beta_b * (1 - x_hi)
    d.equal(((a1 + sp.sqrt(sp.factor(a1**2 - 4 * a0))) / 2).subs(s, 2 + q), (1 - 2 / s).subs(s, 2 + q),
            "at lambda = L (x > 1): the negative root has the same modulus (a_1 + sqrt(Delta))/2; s = 2 + q",
            display=r"|z_-|_{\lambda=L}")
    # comparison with GD
    rate_gd = (kappa - 1) / (kappa + 1)
    d.equal(sp.Limit(kappa * (1 - rate_gd), kappa, sp.oo), 2, "GD: 1 - rate ~ 2/kappa",
            display=r"\lim_{\kappa\to\infty} \kappa(1-\rho_{\mathrm{GD}}^*)")
    d.equal(sp.Limit(sk * (1 - (sk - 1) / (sk + 1)), kappa, sp.oo), 2, "heavy ball: 1 - rate ~ 2/sqrt(kappa)",
            display=r"\lim_{\kappa\to\infty} \sqrt\kappa(1-\rho_{\mathrm{HB}}^*)")
    d.equal(sp.Limit(sk * (1 / sk), kappa, sp.oo), 1, "Nesterov (standard): 1 - rate = 1/sqrt(kappa)",
            display=r"\lim_{\kappa\to\infty} \sqrt\kappa(1-\rho_{\mathrm{N}})")
    d.equal(sp.Limit(sk * 2 / sp.sqrt(3 * kappa + 1), kappa, sp.oo), 2 / sp.sqrt(3),
            "Nesterov (best on quadratics): 1 - rate ~ 2/sqrt(3 kappa)",
            display=r"\lim_{\kappa\to\infty} \sqrt\kappa(1-\rho_{\mathrm{N}}^*)")
    d.result("hb_eta", HB_ETA).result("hb_beta", HB_R**2).result("hb_rate", HB_R)
    d.result("nesterov_standard_eta", 1 / Lmax).result("nesterov_standard_beta",
                                                       (sp.sqrt(Lmax / mu) - 1) / (sp.sqrt(Lmax / mu) + 1))
    d.result("nesterov_standard_rate", 1 - sp.sqrt(mu / Lmax))
    sl = sp.sqrt(3 * Lmax / mu + 1)
    d.result("nesterov_eta", eta_b).result("nesterov_beta", (sl - 2) / (sl + 2)).result("nesterov_rate", 1 - 2 / sl)
    d.result("gd_rate", (Lmax - mu) / (Lmax + mu))
    return d
