"""Momentum as a second-order dynamical system: heavy ball and Nesterov.

Per Hessian eigen-direction λ both are 2×2 linear maps whose characteristic polynomial
z² + a₁z + a₀ depends on η and λ only through x = ηλ:

    heavy ball   z² − (1 + β − x) z + β
    Nesterov     z² − (1 + β)(1 − x) z + β(1 − x)

Stability comes from the Jury (Schur–Cohn) conditions P(1) > 0, P(−1) > 0, |a₀| < 1
(E. I. Jury, Theory and Application of the z-Transform Method, 1964); the damping regime
from the discriminant a₁² − 4a₀; tuning from the minimax over λ ∈ [μ, L]
(B. T. Polyak 1964; L. Lessard, B. Recht, A. Packard, SIAM J. Optim. 2016).
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation
from derive.update_rule import UpdateRule, g

eta = sp.Symbol("eta", positive=True)
beta = sp.Symbol("beta", positive=True)
lam = sp.Symbol("lambda", real=True)
theta, v = sp.symbols("theta v", real=True)
x = sp.Symbol("x", positive=True)  # x = eta * lambda > 0
z = sp.Symbol("z")
mu, Lmax = sp.symbols("mu L", positive=True)
kappa = sp.Symbol("kappa", positive=True)


def heavy_ball_rule() -> UpdateRule:
    """v⁺ = βv − ηg(θ), θ⁺ = θ + v⁺ (Polyak's heavy ball, velocity form)."""
    vn = beta * v - eta * g(theta)
    return UpdateRule("heavy-ball", "Heavy-ball momentum", (theta, v), {"lr": eta, "momentum": beta},
                      (theta + vn, vn), state_names=("velocity",), init=(sp.S.Zero,))


def nesterov_rule() -> UpdateRule:
    """v⁺ = βv − ηg(θ + βv), θ⁺ = θ + v⁺ (Nesterov's look-ahead form, for analysis)."""
    vn = beta * v - eta * g(theta + beta * v)
    return UpdateRule("nesterov", "Nesterov momentum", (theta, v), {"lr": eta, "momentum": beta},
                      (theta + vn, vn), state_names=("velocity",), init=(sp.S.Zero,))


def nesterov_buffer_rule() -> UpdateRule:
    """torch.optim.SGD(nesterov=True, dampening=0): b⁺ = βb + g(φ), φ⁺ = φ − η(g(φ) + βb⁺).

    Its parameter is the look-ahead point φ = θ + βv and its buffer b = −v/η."""
    phi, b = sp.symbols("phi b", real=True)
    bn = beta * b + g(phi)
    return UpdateRule("nesterov-buffer", "Nesterov momentum (torch buffer form)", (phi, b),
                      {"lr": eta, "momentum": beta}, (phi - eta * (g(phi) + beta * bn), bn),
                      state_names=("momentum_buffer",), init=(sp.S.Zero,))


def char_coefficients(rule: UpdateRule) -> tuple[sp.Expr, sp.Expr]:
    """(a₁, a₀) of det(zI − M) = z² + a₁z + a₀ with λ = x/η."""
    p = sp.Poly(sp.expand(rule.characteristic_polynomial(x / eta, z)), z)
    _, a1, a0 = [sp.simplify(c) for c in p.all_coeffs()]
    return a1, a0


def _jury(d: Derivation, a1: sp.Expr, a0: sp.Expr) -> sp.Expr:
    """Append the Jury conditions P(1) > 0, P(-1) > 0 for z² + a₁z + a₀; return the
    upper end of the interval of x they allow (the |a₀| < 1 condition is the caller's)."""
    p1, pm1 = sp.expand(1 + a1 + a0), sp.expand(1 - a1 + a0)
    k = -sp.Poly(pm1, x).coeff_monomial(x)
    hi = sp.simplify(pm1.subs(x, 0) / k)
    d.given(r"\text{stable}", r"P(1) > 0,\; P(-1) > 0,\; |a_0| < 1",
            r"the Jury (Schur-Cohn) conditions: both roots of a real monic quadratic $P$ lie inside the unit circle "
            "exactly when all three hold")
    d.equal(1 + a1 + a0, x, r"evaluate $P(z) = z^2 + a_1 z + a_0$ at $z = 1$", display="P(1)")
    d.equal(1 - a1 + a0, k * (hi - x), r"evaluate $P$ at $z = -1$: linear in $x$, written through its root",
            display="P(-1)")
    d.positive(k,
               r"the factor in front is positive, so $P(-1) > 0$ iff $x$ lies below the root of $P(-1)$",
               display=sp.latex(k))
    d.equivalent(sp.And(x > 0, hi - x > 0), x, sp.Interval.open(0, hi),
                 r"the Jury conditions $P(1) = x > 0$ and $P(-1) > 0$ together")
    return hi


def _radius(d: Derivation, a1: sp.Expr, a0: sp.Expr) -> None:
    """Vieta's relations and the spectral radius of z² + a₁z + a₀ in each regime."""
    sq = sp.sqrt(a1**2 - 4 * a0)
    rp, rm = (-a1 + sq) / 2, (-a1 - sq) / 2
    d.equal(sp.Matrix([rp + rm, rp * rm]), sp.Matrix([-a1, a0]),
            r"Vieta's formulas for the roots $z_\pm = (-a_1 \pm \sqrt{\Delta})/2$",
            display=r"(z_+ + z_-,\ z_+ z_-)")
    d.equal(sp.sqrt(rp * rm), sp.sqrt(a0),
            r"complex roots are conjugate, so their common modulus is $|z_\pm| = \sqrt{z_+ z_-} = \sqrt{a_0}$",
            display=r"|z_\pm|")
    d.result("radius_complex", sp.sqrt(a0), label=r"\rho_{\mathrm{complex}}")
    d.result("radius_real", (sp.Abs(a1) + sq) / 2, label=r"\rho_{\mathrm{real}}")


def heavy_ball_analysis() -> Derivation:
    """Iteration matrix, stability region, damping regimes and spectral radius of heavy ball."""
    rule = heavy_ball_rule()
    a1, a0 = char_coefficients(rule)
    disc = sp.expand(a1**2 - 4 * a0)
    d = Derivation(
        "heavy-ball", "Heavy-ball momentum: stability region and damping regimes",
        summary=("Heavy ball $v^{+} = \\beta v - \\eta\\nabla L(\\theta)$, $\\theta^{+} = \\theta + v^{+}$ on one "
                 "eigen-direction $\\lambda$ of the Hessian, with $x = \\eta\\lambda$. Its characteristic polynomial "
                 "is $z^2 - (1 + \\beta - x)z + \\beta$. It is stable iff $0 < x < 2(1 + \\beta)$ (and "
                 "$0 \\le \\beta < 1$); its roots are complex (underdamped, spectral radius $\\sqrt\\beta$) for "
                 "$(1 - \\sqrt\\beta)^2 < x < (1 + \\sqrt\\beta)^2$, real and positive (overdamped) below that "
                 "band, real and negative (sign-flipping) above it; with real roots the radius is "
                 "$(|a_1| + \\sqrt{\\Delta})/2$. Critical damping: $\\beta = (1 - \\sqrt{x})^2$."),
        references=["B. T. Polyak, Some methods of speeding up the convergence of iteration methods (1964)",
                    "E. I. Jury, Theory and Application of the z-Transform Method (1964)"])
    m = rule.iteration_matrix(lam)
    d.equal(m, sp.Matrix([[1 - eta * lam, beta], [-eta * lam, beta]]),
            r"differentiate the update in $(\theta, v)$ on $L = \lambda\theta^2/2$, whose gradient is $\lambda\theta$",
            display=r"M(\lambda)")
    d.equal(rule.characteristic_polynomial(x / eta, z), z**2 - (1 + beta - x) * z + beta,
            r"expand $\det(zI - M)$ and write $x = \eta\lambda$", display=r"\det(zI - M)")
    d.equal(_jury(d, a1, a0), 2 + 2 * beta,
            r"so heavy ball is stable iff $0 < x < 2(1 + \beta)$, the third condition $|a_0| = |\beta| < 1$ being "
            "assumed",
            display=r"x_{\max}")
    d.equal(disc, (1 + beta - x) ** 2 - 4 * beta,
            r"the discriminant $a_1^2 - 4a_0$ of the characteristic polynomial", display=r"\Delta")
    d.solution(sp.Eq(disc, 0), x, (1 - sp.sqrt(beta)) ** 2,
               r"$\Delta = 0$ where $1 + \beta - x = 2\sqrt\beta$: the lower critical-damping curve, double root "
               r"$\sqrt\beta$")
    d.solution(sp.Eq(disc, 0), x, (1 + sp.sqrt(beta)) ** 2,
               r"$\Delta = 0$ where $1 + \beta - x = -2\sqrt\beta$: the upper critical-damping curve, double root "
               r"$-\sqrt\beta$")
    d.solution(sp.Eq(disc.subs(beta, sp.Symbol("b")), 0), sp.Symbol("b"), (1 - sp.sqrt(x)) ** 2,
               r"$\Delta = 0$ solved for the momentum instead: the critical $\beta$ for a given $x < 1$")
    d.equal((a1**2 + (4 * a0 - a1**2)) / 4, beta,
            r"complex roots are conjugate: $|z_\pm|^2 = z_+ z_- = (a_1^2 + (4a_0 - a_1^2))/4 = a_0$, so the radius is "
            r"$\sqrt\beta$",
            display=r"|z_{\pm}|^2")
    d.equal(sp.Poly(z**2 - (1 + beta - x) * z + beta, z).coeff_monomial(z), a1,
            r"$a_1$ is read off as the coefficient of $z$ in the characteristic polynomial", display="a_1")
    _radius(d, a1, a0)
    d.solution(sp.Eq(eta * lam, 2 + 2 * beta), lam, (2 + 2 * beta) / eta,
               r"the critical sharpness is the curvature at which $x = \eta\lambda$ reaches $x_{\max}$")
    d.result("a1", a1, label="a_1").result("a0", a0, label="a_0").result("discriminant", disc, label=r"\Delta")
    d.result("x_max", 2 + 2 * beta, label=r"x_{\max}")
    d.result("beta_critical", (1 - sp.sqrt(x)) ** 2, label=r"\beta_{\mathrm{crit}}")
    d.result("critical_sharpness", (2 + 2 * beta) / eta, label=r"\lambda_{\mathrm{crit}}")
    return d


def nesterov_analysis() -> Derivation:
    """Iteration matrix, stability region, damping regimes of Nesterov (look-ahead form)."""
    rule = nesterov_rule()
    a1, a0 = char_coefficients(rule)
    disc = sp.expand(a1**2 - 4 * a0)
    hi = (2 + 2 * beta) / (1 + 2 * beta)
    d = Derivation(
        "nesterov", "Nesterov momentum: stability region and damping regimes",
        summary=("Nesterov's method $v^{+} = \\beta v - \\eta\\nabla L(\\theta + \\beta v)$, $\\theta^{+} = "
                 "\\theta + v^{+}$ on one eigen-direction, $x = \\eta\\lambda$: characteristic polynomial "
                 "$z^2 - (1 + \\beta)(1 - x)z + \\beta(1 - x)$, stable iff $0 < x < (2 + 2\\beta)/(1 + 2\\beta)$ "
                 "for $0 < \\beta < 1$. For $x > 1$ the roots are real with a negative one (sign-flipping); for "
                 "$x < 1$ they are complex iff $x > 1 - 4\\beta/(1 + \\beta)^2$. The torch buffer form "
                 "(parameter $\\varphi = \\theta + \\beta v$) has the same characteristic polynomial."),
        references=["Y. Nesterov, A method for solving the convex programming problem with convergence rate "
                    "$O(1/k^2)$ (1983)",
                    "L. Lessard, B. Recht and A. Packard, Analysis and design of optimization algorithms via "
                    "integral quadratic constraints, SIAM J. Optim. 26 (2016)"])
    d.equal(rule.iteration_matrix(lam), sp.Matrix([[1 - eta * lam, beta * (1 - eta * lam)],
                                                   [-eta * lam, beta * (1 - eta * lam)]]),
            r"differentiate the update on $L = \lambda\theta^2/2$, with the gradient taken at the look-ahead point "
            r"$\theta + \beta v$", display=r"M(\lambda)")
    d.equal(rule.characteristic_polynomial(x / eta, z), z**2 - (1 + beta) * (1 - x) * z + beta * (1 - x),
            r"expand $\det(zI - M)$ and write $x = \eta\lambda$", display=r"\det(zI - M)")
    d.equal(nesterov_buffer_rule().characteristic_polynomial(x / eta, z),
            rule.characteristic_polynomial(x / eta, z),
            r"the torch buffer form is a change of variables ($\varphi = \theta + \beta v$), so its matrix is similar "
            "and has the same polynomial", display=r"\det(zI - M_{\mathrm{torch}})")
    d.equal(_jury(d, a1, a0), hi, r"the Jury conditions $P(1) > 0$ and $P(-1) > 0$ bound $x$ by this value",
            display=r"x_{\max}")
    s = sp.Symbol("s", positive=True)  # beta = 1/(1 + s) ranges over (0, 1)
    d.positive((1 - a0).subs(beta, 1 / (1 + s)),
               r"$a_0 < 1$ for $x > 0$ and $0 < \beta < 1$ (written $\beta = 1/(1+s)$, $s > 0$)",
               display=r"1 - a_0")
    d.positive((1 + 1 / beta - hi).subs(beta, 1 / (1 + s)),
               r"$a_0 > -1$ holds for all $x < 1 + 1/\beta$, which exceeds $x_{\max}$: the condition $|a_0| < 1$ cuts "
               "nothing",
               display=r"1 + 1/\beta - x_{\max}")
    d.equal(disc, (1 - x) * ((1 + beta) ** 2 * (1 - x) - 4 * beta),
            r"the discriminant $a_1^2 - 4a_0$, factored", display=r"\Delta")
    d.solution(sp.Eq(disc, 0), x, 1 - 4 * beta / (1 + beta) ** 2,
               r"the root of $\Delta$ below $x = 1$: critical damping, complex roots above it and real ones below")
    d.equal((a1**2 + (4 * a0 - a1**2)) / 4, beta * (1 - x),
            r"complex roots (when $x < 1$) are conjugate: $|z_\pm|^2 = z_+ z_- = a_0 = \beta(1 - x)$",
                             display=r"|z_{\pm}|^2")
    d.equal(sp.Poly(z**2 - (1 + beta) * (1 - x) * z + beta * (1 - x), z).coeff_monomial(z), a1,
            r"$a_1$ is read off as the coefficient of $z$ in the characteristic polynomial", display="a_1")
    _radius(d, a1, a0)
    d.solution(sp.Eq(eta * lam, hi), lam, hi / eta,
               r"the critical sharpness is the curvature at which $x = \eta\lambda$ reaches $x_{\max}$")
    d.result("a1", a1, label="a_1").result("a0", a0, label="a_0").result("discriminant", disc, label=r"\Delta")
    d.result("x_max", hi, label=r"x_{\max}")
    d.result("x_critical", 1 - 4 * beta / (1 + beta) ** 2, label=r"x_{\mathrm{crit}}")
    d.result("critical_sharpness", hi / eta, label=r"\lambda_{\mathrm{crit}}")
    return d
