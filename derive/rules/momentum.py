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
            "Jury / Schur-Cohn: both roots of a real monic quadratic P inside the unit circle")
    d.equal(1 + a1 + a0, x, "P(1)", display="P(1)")
    d.equal(1 - a1 + a0, k * (hi - x), "P(-1)", display="P(-1)")
    d.positive(k, "so P(-1) > 0 iff x is below the root of P(-1)", display=sp.latex(k))
    d.equivalent(sp.And(x > 0, hi - x > 0), x, sp.Interval.open(0, hi), "P(1) > 0 and P(-1) > 0")
    return hi


def _radius(d: Derivation, a1: sp.Expr, a0: sp.Expr) -> None:
    """Vieta's relations and the spectral radius of z² + a₁z + a₀ in each regime."""
    sq = sp.sqrt(a1**2 - 4 * a0)
    rp, rm = (-a1 + sq) / 2, (-a1 - sq) / 2
    d.equal(sp.Matrix([rp + rm, rp * rm]), sp.Matrix([-a1, a0]), "Vieta: the roots (-a_1 +- sqrt(Delta))/2",
            display=r"(z_+ + z_-,\ z_+ z_-)")
    d.equal(sp.sqrt(rp * rm), sp.sqrt(a0), "complex roots are conjugate: the radius is |z_+-| = sqrt(z_+ z_-) "
            "= sqrt(a_0)", display=r"|z_\pm|")
    d.result("radius_complex", sp.sqrt(a0)).result("radius_real", (sp.Abs(a1) + sq) / 2)


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
    d.equal(m, sp.Matrix([[1 - eta * lam, beta], [-eta * lam, beta]]), "iteration matrix on L = lambda theta^2/2",
            display=r"M(\lambda)")
    d.equal(rule.characteristic_polynomial(x / eta, z), z**2 - (1 + beta - x) * z + beta,
            "characteristic polynomial det(zI - M), x = eta lambda", display=r"\det(zI - M)")
    d.equal(_jury(d, a1, a0), 2 + 2 * beta, "heavy ball: stable iff 0 < x < 2(1 + beta), given |beta| < 1",
            display=r"x_{\max}")
    d.equal(disc, (1 + beta - x) ** 2 - 4 * beta, "discriminant a_1^2 - 4 a_0", display=r"\Delta")
    d.solution(sp.Eq(disc, 0), x, (1 - sp.sqrt(beta)) ** 2, "lower critical-damping curve")
    d.solution(sp.Eq(disc, 0), x, (1 + sp.sqrt(beta)) ** 2, "upper critical-damping curve (double root -sqrt(beta))")
    d.solution(sp.Eq(disc.subs(beta, sp.Symbol("b")), 0), sp.Symbol("b"), (1 - sp.sqrt(x)) ** 2,
               "critical momentum for a given x < 1")
    d.equal((a1**2 + (4 * a0 - a1**2)) / 4, beta,
            "complex roots: |z|^2 = z+ z- = (a_1^2 + (4 a_0 - a_1^2))/4 = a_0, so the radius is sqrt(beta)",
            display=r"|z_{\pm}|^2")
    d.equal(sp.Poly(z**2 - (1 + beta - x) * z + beta, z).coeff_monomial(z), a1,
            "a_1, the coefficient of z in the characteristic polynomial", display="a_1")
    _radius(d, a1, a0)
    d.solution(sp.Eq(eta * lam, 2 + 2 * beta), lam, (2 + 2 * beta) / eta,
               "the critical sharpness: the curvature at which x = eta lambda reaches x_max")
    d.result("a1", a1).result("a0", a0).result("discriminant", disc)
    d.result("x_max", 2 + 2 * beta).result("beta_critical", (1 - sp.sqrt(x)) ** 2)
    d.result("critical_sharpness", (2 + 2 * beta) / eta)
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
                    "O(1/k^2) (1983)",
                    "L. Lessard, B. Recht and A. Packard, Analysis and design of optimization algorithms via "
                    "integral quadratic constraints, SIAM J. Optim. 26 (2016)"])
    d.equal(rule.iteration_matrix(lam), sp.Matrix([[1 - eta * lam, beta * (1 - eta * lam)],
                                                   [-eta * lam, beta * (1 - eta * lam)]]),
            "iteration matrix on L = lambda theta^2/2 (gradient at the look-ahead point)", display=r"M(\lambda)")
    d.equal(rule.characteristic_polynomial(x / eta, z), z**2 - (1 + beta) * (1 - x) * z + beta * (1 - x),
            "characteristic polynomial, x = eta lambda", display=r"\det(zI - M)")
    d.equal(nesterov_buffer_rule().characteristic_polynomial(x / eta, z),
            rule.characteristic_polynomial(x / eta, z),
            "the torch buffer form has the same polynomial: a change of variables", display=r"\det(zI - M_{\text{torch}})")
    d.equal(_jury(d, a1, a0), hi, "from P(1) > 0 and P(-1) > 0", display=r"x_{\max}")
    s = sp.Symbol("s", positive=True)  # beta = 1/(1 + s) ranges over (0, 1)
    d.positive((1 - a0).subs(beta, 1 / (1 + s)), "a_0 < 1 for x > 0 and 0 < beta < 1 (beta = 1/(1+s), s > 0)",
               display=r"1 - a_0")
    d.positive((1 + 1 / beta - hi).subs(beta, 1 / (1 + s)),
               "a_0 > -1 holds for all x < 1 + 1/beta, which exceeds x_max: |a_0| < 1 cuts nothing",
               display=r"1 + 1/\beta - x_{\max}")
    d.equal(disc, (1 - x) * ((1 + beta) ** 2 * (1 - x) - 4 * beta), "discriminant", display=r"\Delta")
    d.solution(sp.Eq(disc, 0), x, 1 - 4 * beta / (1 + beta) ** 2, "critical damping for x < 1")
    d.equal((a1**2 + (4 * a0 - a1**2)) / 4, beta * (1 - x),
            "complex roots (x < 1): |z|^2 = z+ z- = a_0 = beta (1 - x)", display=r"|z_{\pm}|^2")
    d.equal(sp.Poly(z**2 - (1 + beta) * (1 - x) * z + beta * (1 - x), z).coeff_monomial(z), a1,
            "a_1, the coefficient of z in the characteristic polynomial", display="a_1")
    _radius(d, a1, a0)
    d.solution(sp.Eq(eta * lam, hi), lam, hi / eta,
               "the critical sharpness: the curvature at which x = eta lambda reaches x_max")
    d.result("a1", a1).result("a0", a0).result("discriminant", disc).result("x_max", hi)
    d.result("x_critical", 1 - 4 * beta / (1 + beta) ** 2).result("critical_sharpness", hi / eta)
    return d
