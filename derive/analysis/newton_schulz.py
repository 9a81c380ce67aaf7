"""Muon's Newton–Schulz iteration on singular values, and why Muon's two momentum conventions take the
same step.

* :func:`newton_schulz` ("newton-schulz"): the matrix iteration X ← aX + b(XXᵀ)X + c(XXᵀ)²X acts on the
  singular values of X = UΣVᵀ by the odd quintic p(σ) = aσ + bσ³ + cσ⁵ and keeps U and V.  With
  torch's (Jordan's) coefficients (3.4445, −4.7750, 2.0315) taken as exact decimals: the positive fixed
  points (two, both repelling), p(1) = 701/1000 ≠ 1 (so 1 is not a fixed point: the iteration does
  not converge to the orthogonal factor UVᵀ), the critical points σ₁ < 1 < σ₂ of p, the bounds
  M = p(σ₁) ≈ 1.2024 and m = p(σ₂) ≈ 0.6818, the images pᵏ((0, 1]) = (0, M] for every k ≥ 1, the
  invariant interval [m, M] the large singular values end in, and a proved size above which a
  normalised singular value is in [m, M] after k steps.
* :func:`muon_momentum_scale` ("muon-momentum-scale"): torch.optim.Muon's code keeps the EMA buffer
  B ← μB + (1 − μ)g, its docstring the sum B ← μB + g; the first is (1 − μ) times the second, and
  the Newton–Schulz input is normalised by its Frobenius norm, so both take the same step (while
  ‖U‖_F ≥ ε/(1 − μ)).

References: K. Jordan et al., Muon (2024), the quintic coefficients "selected to maximize the slope at
zero"; N. J. Higham, Functions of Matrices (SIAM 2008), Ch. 8 (the polar decomposition, Newton–Schulz);
torch.optim.Muon docs and source (torch/optim/_muon.py).
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

#: torch.optim.Muon's default coefficients as exact decimals
A, B, C = sp.Rational(34445, 10000), sp.Rational(-4775, 1000), sp.Rational(20315, 10000)
sigma = sp.Symbol("sigma", positive=True)
a, b, c = sp.symbols("a b c", real=True)


def quintic(x, coefficients=(A, B, C)):
    """p(x) = a x + b x³ + c x⁵."""
    ca, cb, cc = coefficients
    return ca * x + cb * x**3 + cc * x**5


def newton_schulz() -> Derivation:
    """The quintic Newton–Schulz iteration of torch.optim.Muon on singular values (module docstring)."""
    d = Derivation("newton-schulz", "Muon's Newton-Schulz iteration: the map on singular values, its fixed points "
                   "and the interval it ends in",
                   summary=r"One Newton-Schulz step $X \leftarrow aX + b(XX^{T})X + c(XX^{T})^2X$ maps each "
                           r"singular value $\sigma$ of $X$ to $p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5$ and keeps "
                           r"the singular vectors. With Muon's $(a, b, c) = (3.4445, -4.7750, 2.0315)$, "
                           r"$p(1) = 0.701$: the iteration does not converge to $UV^{T}$. Every normalised singular "
                           r"value stays in $(0, M]$, $M = p(\sigma_1) \approx 1.2024$ ($\sigma_1 \approx 0.5545$ the "
                           r"local maximum of $p$), and from the interval $[m, M] = [0.6818, 1.2024]$ it never leaves: "
                           r"the output is $US'V^{T}$ with $S'$ in $[0.68, 1.20]$ for all but the smallest singular "
                           "values.")
    d.references += ["K. Jordan et al., Muon: an optimizer for hidden layers in neural networks (2024)",
                     "N. J. Higham, Functions of Matrices, SIAM 2008, Ch. 8 (Newton-Schulz for the polar factor)",
                     "`torch.optim.Muon` (`torch/optim/_muon.py`: `_zeropower_via_newtonschulz`)"]
    U, S, Vt, V, St, Ut = sp.symbols(r"U \Sigma V^{T} V \Sigma^{T} U^{T}", commutative=False)
    X, XT = U * S * Vt, V * St * Ut
    step = sp.expand(a * X + b * (X * XT) * X + c * (X * XT) * (X * XT) * X)
    d.given(Ut * U, sp.S.One, r"$X = U\Sigma V^{T}$ is a singular value decomposition: $U^{T}U = I$ and "
            r"$V^{T}V = I$ ($U$, $V$ with orthonormal columns, $\Sigma$ diagonal with the singular values)")
    d.equal(step.subs({Ut * U: 1, Vt * V: 1}), U * (a * S + b * S * St * S + c * S * St * S * St * S) * Vt,
            r"expand $aX + b(XX^{T})X + c(XX^{T})^2X$ with $X^{T} = V\Sigma^{T}U^{T}$ and cancel "
            r"$U^{T}U = V^{T}V = I$: one step keeps $U$ and $V$ and maps $\Sigma$", display=r"X^{+}")
    s1, s2 = sp.symbols("s_1 s_2", real=True)
    Sig = sp.Matrix([[s1, 0, 0], [0, s2, 0]])
    gen = lambda x: a * x + b * x**3 + c * x**5  # noqa: E731
    d.equal(a * Sig + b * Sig * Sig.T * Sig + c * (Sig * Sig.T) ** 2 * Sig,
            sp.Matrix([[gen(s1), 0, 0], [0, gen(s2), 0]]),
            r"products of diagonal matrices act entry by entry: on $\Sigma$ (here $2 \times 3$) the map is $p$ "
            "applied to each singular value",
            display=r"a\Sigma + b\Sigma\Sigma^{T}\Sigma + c(\Sigma\Sigma^{T})^{2}\Sigma")
    d.equal((Sig.T * Sig).trace(), s1**2 + s2**2,
            r"$\|X\|_F^2 = \operatorname{tr}(X^{T}X) = \sum_i \sigma_i^2$, so after $X \leftarrow X/\|X\|_F$ every "
            r"singular value is in $(0, 1]$",
            display=r"\operatorname{tr}(\Sigma^{T}\Sigma)")
    p = quintic(sigma)
    d.given(sp.Symbol("p(sigma)"), p, "Muon's coefficients $(a, b, c) = (3.4445, -4.7750, 2.0315)$ as exact decimals")
    fixed = sorted(sp.solveset(sp.Eq(p, sigma), sigma, sp.Interval.open(0, sp.oo)), key=lambda e: float(e))
    d.solution(sp.Eq(p, sigma), sigma, fixed, r"the positive fixed points: dividing $p(\sigma) = \sigma$ by "
               r"$\sigma$, $s = \sigma^2$ solves $c s^2 + b s + a - 1 = 0$")
    d.equal(p.subs(sigma, 1), sp.Rational(701, 1000), "$p(1) = a + b + c = 0.701$ is not 1: 1 is not a fixed point, "
            r"and the iteration does not converge to $UV^{T}$", display="p(1)")
    dp = sp.diff(p, sigma)
    d.equal(dp.subs(sigma, 0), A, "the slope at 0 is the linear coefficient $a$: small singular values grow by a "
            "factor of about $3.44$ per step",
            display="p'(0)")
    for f, (lo, what) in zip(fixed, ((True, r"$p'(\sigma_a) < -1$"), (False, r"$p'(\sigma_b) > 1$"))):
        slope = sp.radsimp(sp.expand(dp.subs(sigma, f)))
        d.positive(-1 - slope if lo else slope - 1, f"{what}: the fixed point repels ($|p'| > 1$), so no positive "
                   "fixed point attracts and the iterates do not converge", display=r"-1 - p'(\sigma_a)" if lo
                   else r"p'(\sigma_b) - 1")
    crit = sorted(sp.solveset(sp.Eq(dp, 0), sigma, sp.Interval.open(0, sp.oo)), key=lambda e: float(e))
    s_1, s_2 = crit
    d.solution(sp.Eq(dp, 0), sigma, crit, r"$p'(\sigma) = a + 3b\sigma^2 + 5c\sigma^4$ is a quadratic in "
               r"$\sigma^2$: its positive roots are the critical points $\sigma_1 < \sigma_2$ of $p$")
    d.equivalent(dp > 0, sigma, sp.Union(sp.Interval.open(0, s_1), sp.Interval.open(s_2, sp.oo)),
                 r"with $5c > 0$, $p' > 0$ outside the roots: $p$ increases on $(0, \sigma_1)$, decreases on "
                 r"$(\sigma_1, \sigma_2)$, increases beyond $\sigma_2$")
    d.positive(1 - s_1, r"$\sigma_1 < 1$, from its closed form", display=r"1 - \sigma_1")
    d.positive(s_2 - 1, r"$1 < \sigma_2$: on $(0, 1]$ $p$ rises from $p(0^+) = 0$ to its maximum at $\sigma_1$, then "
               r"falls to $p(1) = 0.701 > 0$, so $p((0, 1]) = (0, M]$", display=r"\sigma_2 - 1")
    M = sp.radsimp(sp.expand(p.subs(sigma, s_1)))
    m = sp.radsimp(sp.expand(p.subs(sigma, s_2)))
    d.equal(p.subs(sigma, s_1), M, r"$p$ at its local maximum $\sigma_1$: $M \approx 1.2024$", display="M")
    d.equal(p.subs(sigma, s_2), m, r"$p$ at its local minimum $\sigma_2$: $m \approx 0.6818$", display="m")
    d.positive(M - s_2, r"$M > \sigma_2$: $(0, M]$ contains the whole decreasing part", display=r"M - \sigma_2")
    d.positive(M - p.subs(sigma, M), r"$p(M) < M$: on $(0, M]$ $p$ rises to $M$, falls to $m > 0$, rises again to "
               r"$p(M) < M$, so $p((0, M]) = (0, M]$ and by induction $p^k((0, 1]) = (0, M]$ for every $k \ge 1$ "
               "($M$ is attained)", display="M - p(M)")
    d.positive(m - s_1, r"$m > \sigma_1$ ...", display=r"m - \sigma_1")
    d.positive(M - p.subs(sigma, m), r"... and $p(m) < M$: on $[m, M]$ $p$ falls from $p(m)$ to $m$ at $\sigma_2$ and "
               r"rises to $p(M)$, so $p([m, M]) = [m, \max(p(m), p(M))]$ lies in $[m, M]$: the interval is invariant",
               display="M - p(m)")
    q = sp.Symbol("q(sigma)")
    ratio = sp.expand(p / sigma)
    d.given(q, ratio, r"define the growth factor $q(\sigma) = p(\sigma)/\sigma$")
    d.equivalent(sp.diff(ratio, sigma) < 0, sigma, sp.Interval.open(0, sp.sqrt(-B / (2 * C))),
                 r"$q' = 2b\sigma + 4c\sigma^3$ is negative exactly on $(0, \sqrt{-b/(2c)}) = (0, 1.084)$, so "
                 r"$p(\sigma) \ge q(1/2)\sigma$ for $\sigma \le 1/2$")
    gamma = ratio.subs(sigma, sp.Rational(1, 2))
    d.equal(gamma, sp.Rational(76087, 32000), r"$\gamma = q(1/2) = a + b/4 + c/16 \approx 2.3777$: below $1/2$ a "
            r"singular value grows at least by the factor $\gamma$ per step", display=r"\gamma")
    d.positive(quintic(sp.Rational(1, 2)) - m, r"$p(1/2) > m$, and $p(1) > m$: $[1/2, 1]$ maps into $[m, M]$ in one "
               r"step, and from $[m, M]$ ($m > 1/2$) nothing leaves", display=r"p(\tfrac12) - m")
    kk = sp.Symbol("k", integer=True, positive=True)
    d.given(sp.Symbol("x_k"), sp.Rational(1, 2) * gamma ** (1 - kk),
            r"define $x_k = \frac12\gamma^{1-k}$: by the last two steps a normalised singular value "
            r"$\sigma \ge x_k$ reaches $[1/2, 1]$ within $k - 1$ steps and lies in $[m, M]$ after $k$ steps (a "
            r"sufficient size; $x_5 \approx 0.0156$)")
    d.result("p", p, label=r"p(\sigma)").result("fixed_points", fixed, label=r"\{\sigma_a, \sigma_b\}")
    d.result("p_at_1", sp.Rational(701, 1000), label="p(1)")
    d.result("critical_points", crit, label=r"\{\sigma_1, \sigma_2\}").result("upper_bound", M, label="M")
    d.result("trap_lower", m, label="m")
    d.result("growth_factor", gamma, label=r"\gamma")
    d.result("threshold", sp.Rational(1, 2) * gamma ** (1 - kk), label="x_k")
    return d


def muon_momentum_scale() -> Derivation:
    """The EMA buffer (torch's code) is (1 − μ) times the summed one (torch's docstring): the same step."""
    mu = sp.Symbol("mu", positive=True)
    g, bs, be = sp.symbols("g B_s B_e", real=True)
    d = Derivation("muon-momentum-scale", "Muon's two momentum conventions take the same step",
                   summary=r"`torch.optim.Muon`'s code keeps $B_e \leftarrow \mu B_e + (1 - \mu)g$ (Jordan's "
                           r"`muon.py`), its docstring $B_s \leftarrow \mu B_s + g$. By induction "
                           r"$B_e = (1 - \mu)B_s$, the Nesterov inputs differ by the same factor, and the Newton-Schulz "
                           r"input is divided by its Frobenius norm: the parameters move the same (while "
                           r"$\|U\|_F \ge \epsilon/(1 - \mu)$); only the stored buffer differs.")
    d.references.append("`torch.optim.Muon` docs (the formula) and `torch/optim/_muon.py` "
                        "(`buf.lerp_(grad, 1 - momentum)`)")
    d.given(be, (1 - mu) * bs, "induction hypothesis (true at the start: both buffers are 0)")
    d.equal((mu * be + (1 - mu) * g).subs(be, (1 - mu) * bs), (1 - mu) * (mu * bs + g),
            r"one step of each buffer: substituting the hypothesis factors out $1 - \mu$, so the step keeps "
            r"$B_e = (1 - \mu)B_s$", display=r"B_e^{+}")
    d.equal((1 - mu) * g + mu * (1 - mu) * (mu * bs + g), (1 - mu) * (g + mu * (mu * bs + g)),
            r"the Nesterov inputs $(1 - \mu)g + \mu B_e^{+}$ and $g + \mu B_s^{+}$ differ by the same factor $1 - \mu$",
            display=r"U_e")
    x = sp.Matrix(2, 2, sp.symbols("x_1:5", real=True))
    kappa = sp.Symbol("kappa", positive=True)
    fro = lambda y: sp.sqrt((y.T * y).trace())  # noqa: E731
    d.equal((kappa * x) / fro(kappa * x), x / fro(x), r"$\|\kappa X\|_F = \kappa\|X\|_F$ for $\kappa > 0$, so the "
            r"normalisation $X/\|X\|_F$ removes the factor (here $\kappa = 1 - \mu$) and Newton-Schulz gets the same "
            "input", display=r"\frac{\kappa X}{\|\kappa X\|_F}")
    d.result("ema_buffer", (1 - mu) * (mu * bs + g), label=r"B_e^{+}")
    return d
