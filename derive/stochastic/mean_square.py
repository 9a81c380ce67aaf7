"""Mean-square linear stability of SGD and of SGD with heavy-ball momentum (Wu, Ma & E 2018).

At a global minimum where every per-sample gradient vanishes (interpolation), linearised SGD in one direction is
x⁺ = (1 − η â) x, with â the batch mean of the per-sample curvatures h_i: E â = a (the sharpness), Var â = v = c s²
(s² the population variance of the h_i, c the batch factor of :mod:`derive.stochastic.noise`).  Then

    E x⁺² = g E x²,   g = (1 − ηa)² + η² c s²,   E x_t² → 0 ⟺ 0 < η < η_c = 2a/(a² + c s²)

(E x_t² bounded, Wu, Ma & E's linear stability, ⟺ η ≤ η_c), which forces a ≤ 2/η and s ≤ 1/(η√c) (Wu, Ma & E's
sharpness and non-uniformity conditions).  In d dimensions
(a = λ_max(H), s² = λ_max(Σ_H), Σ_H = (1/n)ΣH_i² − H²) Wu, Ma & E prove the sufficient condition
λ_max{(I − ηH)² + η²cΣ_H} ≤ 1, which implies that box; the 1-D condition is exact along an eigenvector shared by every
H_i, but with non-commuting H_i the box is not necessary (an exact 2-D example with a positive-definite certificate).

Heavy ball x⁺ = (1 + β − η â)x − βx₋: the second moments (E x², E x x₋, E x₋²) follow an exact 3×3 linear recursion M;
det(I − M) = ηK(η_c − η), K > 0, and below η_c the positive-definite certificate (I − M)⁻¹(I) gives ρ(M) < 1 (M
preserves the cone of covariance matrices), so the threshold is η_c = 2a(1 − β²)/((1 − β)a² + (1 + β)v).
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation
from derive.stochastic.noise import FACTOR_WITH, FACTOR_WITHOUT, B, n

eta, a = sp.symbols("eta a", positive=True)
s, v = sp.symbols("s v", nonnegative=True)
beta = sp.Symbol("beta", positive=True)

_WU_MA_E = ("L. Wu, C. Ma and W. E, How SGD selects the global minima in over-parameterized learning: a dynamical "
            "stability perspective, NeurIPS 2018")


def growth(c: sp.Expr) -> sp.Expr:
    """(1 − ηa)² + η² c s²: the factor of E x² per SGD step with batch factor c."""
    return (1 - eta * a) ** 2 + eta**2 * c * s**2


def eta_critical(c: sp.Expr) -> sp.Expr:
    """2a/(a² + c s²): the mean-square critical step of SGD with batch factor c."""
    return 2 * a / (a**2 + c * s**2)


def _sign_change(d: Derivation, expr: sp.Expr, root: sp.Expr, what: str) -> None:
    """expr (in η, with one root ``root`` on η > 0) is positive on (0, root) and negative beyond: two positive steps
    with η = root/(1 + w) and η = root(1 + w), w > 0, which sweep each side exactly."""
    w = sp.Symbol("w", positive=True)
    d.positive(expr.subs(eta, root / (1 + w)), f"below the root, $\\eta = \\eta_c/(1 + w)$ with $w > 0$: {what} "
               "is positive", display=r"%s\big|_{\eta = \eta_c/(1+w)}" % _name(what))
    d.positive(-expr.subs(eta, root * (1 + w)), f"above it, $\\eta = \\eta_c(1 + w)$: {what} is negative",
               display=r"-(%s)\big|_{\eta = \eta_c(1+w)}" % _name(what))


def _name(what: str) -> str:
    return what.strip("$")


_CONE_LEMMA = (r"$T$ maps the cone $\mathcal K$ of positive semi-definite matrices into itself, and $X$ "
               r"and $X - T(X)$ are interior to $\mathcal K$ (positive definite). Then "
               r"$X - T(X) \succeq \epsilon X$ for some $\epsilon > 0$, so "
               r"$T^k(X) \preceq (1-\epsilon)^kX$, and every $S$ lies between $\pm CX$: $\rho(T) \le 1 - \epsilon < 1$ "
               r"(the cone form of the Perron–Frobenius bound; Berman & Plemmons, Ch. 1)")
_BERMAN_PLEMMONS = ("A. Berman and R. J. Plemmons, Nonnegative Matrices in the Mathematical Sciences, SIAM (1994), "
                    "Chapter 1 (matrices leaving a cone invariant)")

#: the exact d = 2 example of `sgd-mean-square-stability` (stable although eta^2 c s^2 > 1): per-sample
#: least-squares Hessians H_i = x_i x_i^T of these x_i, n = 3, B = 1 (c = 1 for both samplings), eta = EXAMPLE_ETA
EXAMPLE_XS = [(3, 0), (-1, 3), (-1, -2)]
EXAMPLE_ETA = sp.Rational(2, 9)


def _d_dimensions(d: Derivation) -> None:
    """d dimensions: Wu, Ma & E's sufficient condition, what the (a, s) box is, and an exact example (proved) where
    SGD is mean-square stable although η²c s² > 1, s² = λ_max(Σ_H): the box is not necessary in d > 1."""
    d.given(r"\mathbb E\,\theta^+\theta^{+\top}", r"T(S) = (I - \eta H)S(I - \eta H) + \eta^2c\,\frac1n\sum_i(H_i - H)"
            r"S(H_i - H)",
            r"in $d$ dimensions $\theta^+ = (I - \eta\hat H)\theta$ with $\hat H$ the batch mean of the per-sample "
            r"Hessians, $H = \frac1n\sum_iH_i$; $S = \mathbb E\theta\theta^\top$, and `sgd-batch-noise` applied "
            r"entrywise to $\hat H$ gives the second term. Wu, Ma & E call the minimum linearly stable if "
            r"$\mathbb E\|\theta_t\|^2 \le C\|\theta_0\|^2$ for all $t$, and prove the sufficient condition "
            r"$\lambda_{\max}\{(I - \eta H)^2 + \eta^2c\,\Sigma_H\} \le 1$, $\Sigma_H = \frac1n\sum_iH_i^2 - H^2$ "
            r"(as $\mathbb E\|\theta^+\|^2 = \operatorname{tr}\,T(S) = \operatorname{tr}(T(I)S) \le "
            r"\lambda_{\max}(T(I))\,\mathbb E\|\theta\|^2$ and $T(I) = (I-\eta H)^2 + \eta^2c\,\Sigma_H$); "
            r"both terms are positive semi-definite, so it implies the box $a \le 2/\eta$, "
            r"$s \le 1/(\eta\sqrt c)$ with "
            r"$a = \lambda_{\max}(H)$, $s^2 = \lambda_{\max}(\Sigma_H)$. In 1-D the condition is the exact one above; "
            r"when all $H_i$ commute, each shared eigenvector follows the 1-D recursion exactly and $a$, $s^2$ are the "
            r"largest of the per-direction values, so the box is necessary; in general it is not, as the example "
            r"below shows")
    d.given(r"\rho(T)", r"1 \quad\text{if } X \succ 0 \text{ and } X - T(X) \succ 0", _CONE_LEMMA, relation="<")
    xs = [sp.Matrix(x) for x in EXAMPLE_XS]
    hs = [x * x.T for x in xs]
    H = sum(hs, sp.zeros(2)) / 3
    sig = sum((h * h for h in hs), sp.zeros(2)) / 3 - H * H
    im = [sp.ImmutableMatrix(x) for x in xs]
    outer_sum = sp.MatAdd(*[sp.MatMul(x, x.T, evaluate=False) for x in im], evaluate=False)
    d.equal(sp.MatMul(sp.Rational(1, 3), outer_sum, evaluate=False),
            sp.Matrix([[sp.Rational(11, 3), -sp.Rational(1, 3)],
                                                  [-sp.Rational(1, 3), sp.Rational(13, 3)]]),
            r"an exact example: $n = 3$ least-squares samples with $H_i = x_ix_i^\top$, $x_1 = (3, 0)$, "
            r"$x_2 = (-1, 3)$, $x_3 = (-1, -2)$ (their Hessians do not commute), $B = 1$ (so $c = 1$ with and "
            r"without replacement) and $\eta = 2/9$", display="H")
    hi = [sp.ImmutableMatrix(h) for h in hs]
    d.equal(sp.MatAdd(sp.MatMul(sp.Rational(1, 3), sp.MatAdd(*[sp.MatPow(h, 2) for h in hi], evaluate=False),
                                evaluate=False), sp.MatMul(-1, sp.MatPow(sp.ImmutableMatrix(H), 2), evaluate=False),
                      evaluate=False),
            sp.Matrix([[sp.Rational(166, 9), -4], [-4, sp.Rational(160, 9)]]),
            r"the spread $\Sigma_H = \frac13\sum_iH_i^2 - H^2$ of the Hessians (the subtracted matrix is $H^2$)",
            display=r"\Sigma_H")
    lam = sp.Symbol("lambda", real=True)
    a_ex, s2_ex = 4 + sp.sqrt(2) / 3, sp.Rational(163, 9) + sp.sqrt(145) / 3
    d.solution(sp.Eq((H - lam * sp.eye(2)).det(), 0), lam, [4 - sp.sqrt(2) / 3, a_ex],
               r"the eigenvalues of $H$: the sharpness is $a = 4 + \sqrt2/3$")
    d.solution(sp.Eq((sig - lam * sp.eye(2)).det(), 0), lam, [sp.Rational(163, 9) - sp.sqrt(145) / 3, s2_ex],
               r"the eigenvalues of $\Sigma_H$: $s^2 = \frac{163}9 + \frac{\sqrt{145}}3$")
    e = EXAMPLE_ETA
    d.positive(2 - e * a_ex, r"$\eta a < 2$: the sharpness condition holds", display=r"2 - \eta a")
    d.positive(e**2 * s2_ex - 1, r"but $\eta^2cs^2 > 1$: the non-uniformity condition $s \le 1/(\eta\sqrt c)$ fails "
               r"(and with it Wu, Ma & E's sufficient condition)", display=r"\eta^2cs^2 - 1")
    A = sp.eye(2) - e * H

    def T(S):
        return A * S * A + e**2 * sum(((h - H) * S * (h - H) for h in hs), sp.zeros(2)) / 3

    X = sp.Matrix([[sp.Rational(4914, 289), -sp.Rational(2745, 1156)], [-sp.Rational(2745, 1156),
                                                                        sp.Rational(5067, 289)]])
    d.equal(X - T(X), sp.eye(2), r"the certificate $X = (I - T)^{-1}(I) = " + sp.latex(X) + r"$, computed "
            r"exactly, with $T$ the map above ($c = 1$, $\eta = 2/9$): $X - T(X) = I$ is positive definite",
            display=r"X - T(X)")
    d.positive(X[0, 0], r"$X_{11} > 0$", display=r"X_{11}")
    d.positive(X.det(), r"and $\det X > 0$: $X$ is positive definite, so by the cone bound above $\rho(T) < 1$ "
               r"and $\mathbb E\|\theta_t\|^2 \to 0$. SGD is mean-square stable here although $s > 1/(\eta\sqrt c)$: "
               r"in $d > 1$ the box is implied by Wu, Ma & E's sufficient condition, but it is not necessary for "
               r"stability. What stability does need: $T$ is the sum of two cone-preserving maps, so $\rho(T)$ is at "
               r"least the spectral radius of each, i.e. $a \le 2/\eta$ and $\eta^2c\,\rho_\Sigma \le 1$, with "
               r"$\rho_\Sigma \le s^2$ the spectral radius of $S \mapsto \frac1n\sum_i(H_i - H)S(H_i - H)$ (equal when "
               r"the $H_i$ commute; argued here, checked numerically in `ldyn verify`)", display=r"\det X")


def sgd_mean_square() -> Derivation:
    """E x⁺² = ((1 − ηa)² + η²c s²) E x²; mean-square stable iff 0 < η < 2a/(a² + c s²) (Wu, Ma & E 2018)."""
    d = Derivation(
        "sgd-mean-square-stability", "Mean-square stability of SGD: sharpness, non-uniformity and batch size",
        summary=("At a global minimum that interpolates the data (every per-sample gradient vanishes), linearised "
                 "SGD along one direction is $x^+ = (1 - \\eta\\hat a)x$, where $\\hat a$ is the batch mean of the "
                 "per-sample curvatures $h_i$, drawn afresh at each step: $\\mathbb E\\hat a = a$ (the sharpness) "
                 "and $\\operatorname{Var}\\hat a = c\\,s^2$ with $s^2$ the population variance of the $h_i$ (the "
                 "non-uniformity) and $c$ the batch factor of `sgd-batch-noise`. Then "
                 "$\\mathbb E x^{+2} = \\big((1-\\eta a)^2 + \\eta^2cs^2\\big)\\mathbb E x^2$: for $\\eta > 0$, "
                 "$\\mathbb E x_t^2 \\to 0$ iff $\\eta < \\eta_c = 2a/(a^2 + cs^2)$, and $\\mathbb E x_t^2$ stays "
                 "bounded (Wu, Ma & E's linear stability) iff $\\eta \\le \\eta_c$. Either needs both $a \\le 2/\\eta$ "
                 "(the GD condition) and $s \\le 1/(\\eta\\sqrt c)$, and together they do not suffice "
                 "(at $a = 2/\\eta$ any $s > 0$ gives $g > 1$). The critical step grows "
                 "with $B$ and is $2/a$ (GD's) at $B = n$ without replacement. In $d$ dimensions Wu, Ma & E prove the "
                 "sufficient condition $\\lambda_{\\max}\\{(I - \\eta H)^2 + \\eta^2c\\,\\Sigma_H\\} \\le 1$, "
                 "$\\Sigma_H = \\frac1n\\sum_iH_i^2 - H^2$, which implies the box $a \\le 2/\\eta$, "
                 "$s \\le 1/(\\eta\\sqrt c)$ with $a = \\lambda_{\\max}(H)$, $s^2 = \\lambda_{\\max}(\\Sigma_H)$. The "
                 "one-dimensional computation is exact along an eigenvector shared by all $H_i$; with non-commuting "
                 "$H_i$ the non-uniformity bound is not necessary: an exact two-dimensional example "
                 "(proved below with a "
                 "positive-definite certificate) is mean-square stable with $\\eta^2cs^2 > 1$. The general case lifts "
                 "$\\mathbb E\\theta\\theta^\\top$ with Kronecker products (`derive.stochastic.moments`)."),
        references=[_WU_MA_E, _BERMAN_PLEMMONS])
    ahat, x = sp.symbols(r"\hat{a} x", real=True)
    d.given(r"x^+", (1 - eta * ahat) * x,
            r"linearised SGD at an interpolating minimum: $\nabla\ell_i(\theta) = h_i x$ to first order, so the "
            r"minibatch gradient is $\hat a x$ with $\hat a$ the batch mean of the curvatures $h_i$")
    d.given(r"\mathbb E\hat a,\ \operatorname{Var}\hat a", r"a,\ c\,s^2",
            r"`sgd-batch-noise` with $p_i = q_i = h_i$: the batch mean is unbiased and its variance is $c$ times the "
            r"population variance $s^2$; the batch is drawn independently of $x$")
    d.equal(sp.expand((1 - eta * ahat) ** 2), 1 - 2 * eta * ahat + eta**2 * ahat**2,
            r"expand $(1 - \eta\hat a)^2$", display=r"(1 - \eta\hat a)^2")
    c = sp.Symbol("c", positive=True)
    d.equal(1 - 2 * eta * a + eta**2 * (a**2 + c * s**2), growth(c),
            r"take expectations, with $\mathbb E\hat a^2 = a^2 + cs^2$; by independence "
            r"$\mathbb E x^{+2} = \mathbb E(1 - \eta\hat a)^2\,\mathbb E x^2$",
            display=r"\mathbb E(1 - \eta\hat a)^2")
    d.equal(growth(c) - 1, eta * (a**2 + c * s**2) * (eta - eta_critical(c)),
            r"$g - 1$ is $\eta$ times a linear function of $\eta$", display=r"g - 1")
    d.solution(sp.Eq(growth(c), 1), eta, [eta_critical(c)], r"the only step $\eta > 0$ with $g = 1$")
    _sign_change(d, 1 - growth(c), eta_critical(c), r"$1 - g$")
    d.equal(growth(FACTOR_WITH), (1 - eta * a) ** 2 + eta**2 * s**2 / B,
            r"with replacement, $c = 1/B$", display=r"g_{\mathrm{with}}")
    d.equal(growth(FACTOR_WITHOUT), (1 - eta * a) ** 2 + eta**2 * s**2 * (n - B) / (B * (n - 1)),
            r"without replacement, $c = \frac{n-B}{B(n-1)}$: Wu, Ma & E's condition in one dimension "
            r"$(1-\eta a)^2 + \eta^2s^2\frac{n-B}{B(n-1)} \le 1$", display=r"g_{\mathrm{without}}")
    d.equal(eta_critical(FACTOR_WITH), 2 * a * B / (a**2 * B + s**2), "the critical step with replacement",
            display=r"\eta_c^{\mathrm{with}}")
    d.equal(eta_critical(FACTOR_WITHOUT), 2 * a * B * (n - 1) / (a**2 * B * (n - 1) + s**2 * (n - B)),
            "and without", display=r"\eta_c^{\mathrm{without}}")
    d.equal(eta_critical(FACTOR_WITHOUT).subs(B, n), 2 / a,
            r"at $B = n$ without replacement: GD's $2/a$", display=r"\eta_c^{\mathrm{without}}\big|_{B=n}")
    # necessary conditions: each of the two non-negative terms of g is at most g
    xa = sp.Symbol("y", positive=True)
    d.equal(growth(c) - (1 - eta * a) ** 2, eta**2 * c * s**2,
            r"$g$ is the sum of $(1-\eta a)^2$ and $\eta^2cs^2 \ge 0$, so $g \le 1$ bounds each term by 1",
            display=r"g - (1 - \eta a)^2")
    d.equivalent((1 - xa) ** 2 <= 1, xa, sp.Interval.Lopen(0, 2),
                 r"$(1 - y)^2 \le 1$ with $y = \eta a > 0$: $y \le 2$, i.e. the sharpness condition $a \le 2/\eta$")
    d.equivalent(eta**2 * c * s**2 <= 1, s, sp.Interval(0, 1 / (eta * sp.sqrt(c))),
                 r"$\eta^2cs^2 \le 1$: the non-uniformity condition $s \le 1/(\eta\sqrt c)$, "
                 r"$s \le \frac1\eta\sqrt{B(n-1)/(n-B)}$ without replacement")
    # monotone in B: eta_c decreases with c, and c decreases with B
    c1, c2 = sp.symbols("c_1 c_2", positive=True)
    d.equal(eta_critical(c2) - eta_critical(c1), 2 * a * s**2 * (c1 - c2) / ((a**2 + c1 * s**2) * (a**2 + c2 * s**2)),
            r"a smaller factor $c_2 < c_1$ gives a larger (or, if $s = 0$, equal) critical step",
            display=r"\eta_c(c_2) - \eta_c(c_1)")
    d.positive(FACTOR_WITH - FACTOR_WITH.subs(B, B + 1), r"$c_{\mathrm{with}} = 1/B$ decreases with $B$",
               display=r"c_{\mathrm{with}}(B) - c_{\mathrm{with}}(B+1)")
    k = sp.Symbol("k", positive=True, integer=True)
    d.positive((FACTOR_WITHOUT - FACTOR_WITHOUT.subs(B, B + 1)).subs(n, k + 1),
               r"$c_{\mathrm{without}}$ decreases with $B$ ($n = k + 1 \ge 2$): the critical step grows with the "
               r"batch size, for both samplings", display=r"c_{\mathrm{without}}(B) - c_{\mathrm{without}}(B+1)")
    _d_dimensions(d)
    d.result("growth_with", (1 - eta * a) ** 2 + eta**2 * s**2 / B, label=r"g_{\mathrm{with}}")
    d.result("growth_without", (1 - eta * a) ** 2 + eta**2 * s**2 * (n - B) / (B * (n - 1)),
             label=r"g_{\mathrm{without}}")
    d.result("eta_critical_with", eta_critical(FACTOR_WITH), label=r"\eta_c^{\mathrm{with}}")
    d.result("eta_critical_without", eta_critical(FACTOR_WITHOUT), label=r"\eta_c^{\mathrm{without}}")
    return d


#: heavy ball's mean-square threshold, in β, a and v = Var(â)
HB_ETA_CRITICAL = 2 * a * (1 - beta**2) / ((1 - beta) * a**2 + (1 + beta) * v)


def _lowest_terms(expr: sp.Expr, eta_value: sp.Expr, w: sp.Symbol) -> sp.Expr:
    """expr at β = w/(1 + w), η = eta_value (at that β), as one factored fraction (fast: together, then factor)."""
    bw = w / (1 + w)
    return sp.factor(sp.together(expr.subs(beta, bw).subs(eta, eta_value.subs(beta, bw))))


def heavy_ball_mean_square() -> Derivation:
    """Second moments of stochastic heavy ball: an exact 3×3 recursion; threshold η_c = 2a(1−β²)/((1−β)a² + (1+β)v)."""
    d = Derivation(
        "heavy-ball-sgd-mean-square", "Mean-square stability of SGD with heavy-ball momentum",
        summary=("Linearised stochastic heavy ball at an interpolating minimum is $x^+ = ux - \\beta x_-$ with "
                 "$u = 1 + \\beta - \\eta\\hat a$, the batch curvature $\\hat a$ drawn afresh each step "
                 "($\\mathbb E\\hat a = a$, $\\operatorname{Var}\\hat a = v = cs^2$). The covariance $S$ of "
                 "$(x, x_-)$ maps to $\\mathbb E[ASA^\\top]$ with $A = \\begin{pmatrix}u & -\\beta\\\\ 1 & 0"
                 "\\end{pmatrix}$: an exact linear recursion $M$ on $(\\mathbb E x^2, \\mathbb E xx_-, \\mathbb E "
                 "x_-^2)$. Its characteristic polynomial is heavy ball's deterministic one (roots $r_1^2$, "
                 "$r_1r_2 = \\beta$, $r_2^2$) minus $\\eta^2vz(z+\\beta)$. "
                 "$\\det(I - M) = \\eta K(\\eta_c - \\eta)$ with "
                 "$K > 0$ and $\\eta_c = \\frac{2a(1-\\beta^2)}{(1-\\beta)a^2 + (1+\\beta)v}$: above $\\eta_c$ a real "
                 "eigenvalue exceeds 1 (mean-square divergence). Below it, $M$ maps covariance matrices to covariance "
                 "matrices and $X = (I - M)^{-1}(I)$ is shown positive definite, a certificate that $\\rho(M) < 1$ "
                 "(so $\\eta_c$ is exactly the threshold, for $0 < \\beta < 1$; `ldyn verify` also checks the "
                 "spectral radius on grids and by exact moment propagation at $0.97\\eta_c$ and $1.03\\eta_c$). "
                 "$\\beta = 0$ gives SGD's "
                 "$2a/(a^2+v)$, $v = 0$ heavy ball's $2(1+\\beta)/a$, and as $\\beta \\to 1$ the effective step "
                 "$\\eta/(1-\\beta)$ is capped at $2a/v$."),
        references=[_WU_MA_E, "B. T. Polyak, Some methods of speeding up the convergence of iteration methods, USSR "
                    "Comput. Math. Math. Phys. 4 (1964)",
                    _BERMAN_PLEMMONS])
    u, mu = sp.symbols("u mu", real=True)
    P, Q, R = sp.symbols(r"P Q R", real=True)
    z = sp.Symbol("z")
    d.given(sp.Matrix([sp.Symbol("x^+"), sp.Symbol("x")]), sp.Matrix([[u, -beta], [1, 0]]) * sp.Matrix(
        [sp.Symbol("x"), sp.Symbol("x_-")]), r"linearised heavy ball, $u = 1 + \beta - \eta\hat a$, with $\hat a$ "
            r"independent of $(x, x_-)$")
    A = sp.Matrix([[u, -beta], [1, 0]])
    S = sp.Matrix([[P, Q], [Q, R]])
    ASA = A * S * A.T
    d.equal(A * S * A.T, sp.Matrix([[u**2 * P - 2 * beta * u * Q + beta**2 * R, u * P - beta * Q],
                                    [u * P - beta * Q, P]]),
            r"the covariance $S = \begin{pmatrix}P & Q\\ Q & R\end{pmatrix}$ of $(x, x_-)$, "
            r"$P = \mathbb E x^2$, $Q = \mathbb E xx_-$, $R = \mathbb E x_-^2$, maps to $\mathbb E[ASA^\top]$",
            display=r"ASA^\top")
    d.equal(sp.expand((1 + beta - eta * sp.Symbol(r"\hat{a}", real=True)) ** 2).subs(
        {sp.Symbol(r"\hat{a}", real=True) ** 2: a**2 + v}).subs(sp.Symbol(r"\hat{a}", real=True), a),
        (1 + beta - eta * a) ** 2 + eta**2 * v,
        r"$\mathbb E u = 1 + \beta - \eta a =: \mu$ and $\mathbb E u^2 = \mu^2 + \eta^2 v$ "
        r"(from $\mathbb E\hat a^2 = a^2 + v$)", display=r"\mathbb E u^2")
    Mmu = sp.Matrix([[mu**2 + eta**2 * v, -2 * beta * mu, beta**2], [mu, -beta, 0], [1, 0, 0]])
    expect = [sp.expand(e).subs(u**2, mu**2 + eta**2 * v).subs(u, mu) for e in (ASA[0, 0], ASA[0, 1], ASA[1, 1])]
    d.equal(Mmu * sp.Matrix([P, Q, R]), sp.Matrix(expect),
            r"take the expectation entrywise ($u$ independent of $S$): the exact linear recursion "
            r"$(P, Q, R) \mapsto M(P, Q, R)$", display=r"M\,(P, Q, R)^\top")
    p = (z - beta) * (z**2 - (mu**2 - 2 * beta) * z + beta**2) - eta**2 * v * z * (z + beta)
    d.equal((z * sp.eye(3) - Mmu).det(), p,
            r"the characteristic polynomial: the deterministic one (roots $r_1^2, \beta, r_2^2$ for the roots "
            r"$r_{1,2}$ of $r^2 - \mu r + \beta$) minus $\eta^2 v z(z + \beta)$", display=r"\det(zI - M)")
    d.equal(Mmu[0, 0].subs(beta, 0).subs(mu, 1 - eta * a), (1 - eta * a) ** 2 + eta**2 * v,
            r"at $\beta = 0$ the first entry of $M$ is SGD's growth factor $g$ (`sgd-mean-square-stability`)",
            display=r"M_{11}\big|_{\beta = 0}")
    w = sp.Symbol("w", positive=True)
    p1 = eta * ((1 - beta) * a * (2 * (1 + beta) - eta * a) - eta * v * (1 + beta))
    d.equal(p.subs(z, 1).subs(mu, 1 + beta - eta * a), p1,
            r"at $z = 1$, with $\mu = 1 + \beta - \eta a$", display=r"\det(I - M)")
    lin = (1 - beta) * a * 2 * (1 + beta) - eta * ((1 - beta) * a**2 + (1 + beta) * v)
    d.equal(p1 / eta, lin, r"divided by $\eta > 0$: linear in $\eta$", display=r"\det(I - M)/\eta")
    d.positive(-sp.diff(lin, eta).subs(beta, w / (1 + w)), r"with a negative slope for $0 < \beta < 1$, so it has "
               r"exactly one root", display=r"-\partial_\eta\big(\det(I - M)/\eta\big)")
    d.solution(sp.Eq(lin, 0), eta, HB_ETA_CRITICAL, r"that root: the critical step $\eta_c$")
    slope = (1 - beta) * a**2 + (1 + beta) * v
    mb = 1 + beta - eta * a
    M = sp.Matrix([[mb**2 + eta**2 * v, -2 * beta * mb, beta**2], [mb, -beta, 0], [1, 0, 0]])

    def M_of(x):
        return M * x

    d.equal(p1, eta * slope * (HB_ETA_CRITICAL - eta),
            r"so $\det(I - M) = \eta\,K(\eta_c - \eta)$ with $K = (1-\beta)a^2 + (1+\beta)v > 0$ (the slope "
            r"above): positive for $0 < \eta < \eta_c$ (no eigenvalue 1 there) and negative for $\eta > \eta_c$, "
            r"where, as $\det(zI - M) \to +\infty$ for $z \to \infty$, $M$ has a real eigenvalue above 1: "
            r"mean-square divergence", display=r"\det(I - M)")
    # below eta_c: a positive-definite certificate, so rho(M) < 1 on all of (0, eta_c)
    t = sp.Symbol("t", positive=True)
    big_d = sp.expand(p1)
    cp = (1 + beta) * (1 + beta**2) / big_d
    cq = (1 + beta**2) * (1 + beta - eta * a) / big_d
    cert = sp.Matrix([cp, cq, cp + 1])
    d.given(r"\rho(M)", r"1 \quad\text{if } X \succ 0 \text{ and } X - M(X) \succ 0",
            r"$M$ maps covariance matrices to covariance matrices ($ASA^\top \succeq 0$ for every $u$, and an "
            r"expectation of such matrices stays positive semi-definite); with $(P, Q, R)$ read as the matrix "
            r"$\begin{pmatrix}P & Q\\ Q & R\end{pmatrix}$, " + _CONE_LEMMA.replace("$T", "$M").replace("T(X)", "M(X)")
            .replace("T^k", "M^k").replace(r"\rho(T)", r"\rho(M)"), relation="<")
    d.equal(cert - M_of(cert), sp.Matrix([1, 0, 1]),
            r"the certificate $X = (I - M)^{-1}(1, 0, 1)$, the second moments whose image under $I - M$ is the "
            r"identity matrix: $P = \frac{(1+\beta)(1+\beta^2)}{\det(I - M)}$, "
            r"$Q = \frac{(1+\beta^2)(1+\beta-\eta a)}{\det(I - M)}$, $R = P + 1$", display=r"X - M(X)")
    sub = HB_ETA_CRITICAL / (1 + t)
    d.positive(_lowest_terms(cp, sub, w),
               r"for every $\eta = \eta_c/(1 + t)$, $t > 0$, in $(0, \eta_c)$ and $0 < \beta < 1$: $P > 0$ "
               r"(hence $R = P + 1 > 0$), in lowest terms", display=r"P\big|_{\eta = \eta_c/(1+t),\ \beta = w/(1+w)}")
    num = (1 + beta**2) * eta * a * (2 * (1 + beta) - eta * a) + (1 + beta) * big_d
    dd = sp.Symbol("D", positive=True)
    sp_, sq_ = (1 + beta) * (1 + beta**2) / dd, (1 + beta**2) * mu / dd
    d.equal(sp_ * (sp_ + 1) - sq_**2, (1 + beta**2) * ((1 + beta**2) * ((1 + beta)**2 - mu**2) + (1 + beta) * dd)
            / dd**2, r"the determinant of $X$, writing $D = \det(I - M)$ (positive below $\eta_c$) and "
            r"$\mu = 1 + \beta - \eta a$, so that $(1+\beta)^2 - \mu^2 = \eta a(2(1+\beta) - \eta a)$",
            display=r"PR - Q^2")
    d.positive(_lowest_terms(num, sub, w),
               r"its numerator (in lowest terms) is positive on $(0, \eta_c)$ (there "
               r"$\eta a < \eta_c a \le 2(1+\beta)$ and "
               r"$\det(I - M) > 0$): $X$ is positive definite, so by the cone bound $\rho(M) < 1$ for all "
               r"$0 < \eta < \eta_c$ (mean-square convergence); with the sign of $\det(I - M)$ above, $\eta_c$ is "
               r"exactly the mean-square threshold",
               display=r"\big((1+\beta^2)\eta a(2(1+\beta) - \eta a) + (1+\beta)\det(I - M)\big)"
                       r"\big|_{\eta = \eta_c/(1+t),\ \beta = w/(1+w)}")
    d.positive(-p.subs(z, -1).subs(beta, w / (1 + w)),
               r"a side fact: $-1$ is never an eigenvalue for $0 < \beta < 1$, whatever $\eta$ (no neutral "
               r"period-two mode): $-\det(-I - M) > 0$", display=r"-\det(-I - M)\big|_{\beta = w/(1+w)}")
    d.equal(HB_ETA_CRITICAL.subs(beta, 0), 2 * a / (a**2 + v),
            r"$\beta = 0$: SGD's mean-square threshold with $v = cs^2$", display=r"\eta_c\big|_{\beta = 0}")
    d.equal(HB_ETA_CRITICAL.subs(v, 0), 2 * (1 + beta) / a,
            r"$v = 0$ (no noise): deterministic heavy ball's $2(1+\beta)/a$", display=r"\eta_c\big|_{v = 0}")
    d.equal(sp.Limit(HB_ETA_CRITICAL / (1 - beta), beta, 1, "-"), 2 * a / v,
            r"with noise ($v > 0$) the effective step $\eta/(1-\beta)$ stays below $2a/v$ as $\beta \to 1$",
            display=r"\lim_{\beta\to1^-}\frac{\eta_c}{1-\beta}")
    d.equal(Mmu.subs(mu, 1 + beta - eta * a), M, r"the operator in $\eta, \beta, a, v$", display="M")
    d.result("operator", M, label="M")
    d.result("eta_critical", HB_ETA_CRITICAL, label=r"\eta_c")
    return d
