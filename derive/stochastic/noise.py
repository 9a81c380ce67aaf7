"""Minibatch gradient noise: the variance of a batch mean, with and without replacement.

SGD is θ⁺ = θ − η(∇L(θ) + ξ) with ξ = g_B(θ) − ∇L(θ), the minibatch gradient g_B (the mean of B per-sample
gradients ∇ℓ_i) minus the full gradient ∇L = (1/n)Σ∇ℓ_i.  For any two per-sample quantities p_i, q_i (entries of
per-sample gradients or per-sample Hessians) with population covariance σ_pq = (1/n)Σ(p_i − p̄)(q_i − q̄):

    Cov(p̄_B, q̄_B) = c σ_pq,   c = 1/B (B i.i.d. uniform draws),   c = (n − B)/(B(n − 1)) (a uniform B-subset).

Hence E ξ = 0 and Cov ξ = c Σ(θ), Σ(θ) = (1/n)Σ∇ℓ_i∇ℓ_iᵀ − ∇L∇Lᵀ.  The factor without replacement is the finite
population correction (W. G. Cochran, Sampling Techniques, 3rd ed., Wiley 1977, Thm 2.2); it vanishes at B = n (GD)
and never exceeds 1/B.
"""
from __future__ import annotations

import itertools

import sympy as sp

from derive.derivation import Derivation

B, n = sp.symbols("B n", integer=True, positive=True)
c = sp.Symbol("c", positive=True)

#: the variance factors of a batch mean (the results of :func:`batch_noise`)
FACTOR_WITH = 1 / B
FACTOR_WITHOUT = (n - B) / (B * (n - 1))

_i, _j = sp.symbols("i j", integer=True, positive=True)
_p, _q = sp.IndexedBase("p"), sp.IndexedBase("q")
# power sums  P = Σ p_i,  Q = Σ q_i,  R = Σ p_i q_i
P, Q, R = sp.symbols("P Q R", real=True)
sigma_pq = sp.Symbol(r"sigma_pq", real=True)


def _enumerated_cov(samples: int, batch: int, replacement: bool) -> tuple[sp.Expr, sp.Expr]:
    """Cov(p̄_B, q̄_B) by exact enumeration over every batch, and σ_pq, for explicit symbols p_1..p_n, q_1..q_n."""
    ps = sp.symbols(f"p_1:{samples + 1}", real=True)
    qs = sp.symbols(f"q_1:{samples + 1}", real=True)
    batches = (list(itertools.product(range(samples), repeat=batch)) if replacement
               else list(itertools.combinations(range(samples), batch)))
    w = sp.Rational(1, len(batches))
    mp = [sum(ps[k] for k in b) / batch for b in batches]
    mq = [sum(qs[k] for k in b) / batch for b in batches]
    cov = w * sum(x * y for x, y in zip(mp, mq)) - (w * sum(mp)) * (w * sum(mq))
    pbar, qbar = sum(ps) / samples, sum(qs) / samples
    pop = sp.Rational(1, samples) * sum((x - pbar) * (y - qbar) for x, y in zip(ps, qs))
    return cov, pop


def batch_noise() -> Derivation:
    """Cov of two batch means = c · population covariance; c = 1/B with, (n − B)/(B(n − 1)) without replacement."""
    d = Derivation(
        "sgd-batch-noise", "Minibatch gradient noise: the variance of a batch mean, with and without replacement",
        summary=("SGD is $\\theta^+ = \\theta - \\eta(\\nabla L(\\theta) + \\xi)$, with the noise $\\xi$ the minibatch "
                 "gradient (the mean of $B$ per-sample gradients $\\nabla\\ell_i$) minus the full gradient "
                 "$\\nabla L = \\frac1n\\sum_i\\nabla\\ell_i$. For any two per-sample quantities $p_i, q_i$ (entries "
                 "of per-sample gradients or Hessians) the batch means have covariance $c\\,\\sigma_{pq}$, with "
                 "$\\sigma_{pq}$ the population covariance, $c = 1/B$ for $B$ independent uniform draws and "
                 "$c = \\frac{n-B}{B(n-1)}$ for a uniform $B$-subset (without replacement). Hence "
                 "$\\mathbb E\\xi = 0$ and $\\operatorname{Cov}\\xi = c\\,\\Sigma(\\theta)$ with "
                 "$\\Sigma = \\frac1n\\sum_i\\nabla\\ell_i\\nabla\\ell_i^\\top - \\nabla L\\nabla L^\\top$. The proof "
                 "works with the power sums $P = \\sum p_i$, $Q = \\sum q_i$, $R = \\sum p_iq_i$ for symbolic $n$ and "
                 "$B$, and is confirmed by exact enumeration of every batch for small $n$. Without replacement the "
                 "factor vanishes at $B = n$ (gradient descent) and never exceeds $1/B$."),
        references=["W. G. Cochran, Sampling Techniques, 3rd ed., Wiley (1977), Theorem 2.2 (finite population "
                    "correction)",
                    "L. Wu, C. Ma and W. E, How SGD selects the global minima in over-parameterized learning: a "
                    "dynamical stability perspective, NeurIPS 2018"])
    d.given(r"\xi", r"\frac1B\sum_{k=1}^B \nabla\ell_{I_k}(\theta) - \nabla L(\theta)",
            r"the gradient noise of the rule $\theta^+ = \theta - \eta(\nabla L(\theta) + \xi)$: minibatch gradient "
            r"minus full gradient")
    d.given(sp.Matrix([P, Q, R]), sp.Matrix([sp.Sum(_p[_i], (_i, 1, n)), sp.Sum(_q[_i], (_i, 1, n)),
                                             sp.Sum(_p[_i] * _q[_i], (_i, 1, n))]),
            r"power sums of two per-sample quantities $p_i, q_i$ (entries of $\nabla\ell_i$ or $\nabla^2\ell_i$)")
    pbar, qbar = P / n, Q / n
    pb, qb = sp.symbols(r"\bar{p} \bar{q}", real=True)
    d.equal(sp.Sum((_p[_i] - pb) * (_q[_i] - qb), (_i, 1, n)),
            sp.Sum(_p[_i] * _q[_i], (_i, 1, n)) - pb * sp.Sum(_q[_i], (_i, 1, n)) - qb * sp.Sum(_p[_i], (_i, 1, n))
            + n * pb * qb, "expand the sum of centred products (linearity of the sum)",
            display=r"n\,\sigma_{pq}")
    d.equal((R - pb * Q - qb * P + n * pb * qb).subs({pb: pbar, qb: qbar}) / n, R / n - P * Q / n**2,
            r"in power sums, with $\bar p = P/n$, $\bar q = Q/n$", display=r"\sigma_{pq}")
    pop = R / n - P * Q / n**2
    d.given(r"\mathbb E\,p_I,\ \mathbb E\,p_Iq_I", r"P/n,\ R/n",
            r"one index $I$ uniform on $\{1, \dots, n\}$: an expectation is an average over the samples")
    # E of the batch mean: unbiased, so E xi = 0
    d.equal(sp.Sum(P / n, (_j, 1, B)) / B, pbar,
            r"each $I_k$ is uniform, so $\mathbb E\,\bar p_B = \frac1B\sum_k\mathbb E\,p_{I_k} = \bar p$: the batch "
            r"mean is unbiased and $\mathbb E\,\xi = 0$ (with or without replacement)", display=r"\mathbb E\,\bar p_B")
    # -- with replacement: independent draws
    indep = P * Q / n**2
    d.given(r"\mathbb E\,p_{I_k}q_{I_l}\ (k \ne l,\ \text{with replacement})", indep,
            r"with replacement the draws $I_1, \dots, I_B$ are independent and uniform: "
            r"$\frac1{n^2}\sum_i\sum_j p_iq_j = PQ/n^2$")
    cov_with = (B * R / n + B * (B - 1) * indep) / B**2 - pbar * qbar
    d.equal(cov_with, pop / B,
            r"$\mathbb E\,\bar p_B\bar q_B = \frac1{B^2}\sum_{k,l}\mathbb E\,p_{I_k}q_{I_l}$: $B$ diagonal terms "
            r"$R/n$ and $B(B-1)$ off-diagonal ones; minus $\bar p\bar q$",
            display=r"\operatorname{Cov}(\bar p_B, \bar q_B)_{\mathrm{with}}")
    d.equal(cov_with / pop, FACTOR_WITH, r"so the factor with replacement is $1/B$",
            display=r"c_{\mathrm{with}}")
    # -- without replacement: a uniform ordered B-tuple of distinct indices
    d.given(r"(I_k, I_l),\ k \ne l", r"\text{uniform on the } n(n-1) \text{ ordered pairs } i \ne j",
            r"without replacement (a uniform $B$-subset in random order) each $I_k$ is uniform and each pair of "
            r"positions is a uniform pair of distinct indices")
    d.given(sp.Sum(_q[_j], (_j, 1, n)) - _q[_i], r"\sum_{j \ne i} q_j", r"the sum over $j \ne i$ is the full sum "
            r"minus the term $j = i$")
    d.equal(sp.Sum(_p[_i] * (sp.Sum(_q[_j], (_j, 1, n)) - _q[_i]), (_i, 1, n)),
            sp.Sum(_p[_i], (_i, 1, n)) * sp.Sum(_q[_j], (_j, 1, n)) - sp.Sum(_p[_i] * _q[_i], (_i, 1, n)),
            r"hence the off-diagonal sum $\sum_{i \ne j} p_iq_j$ is $PQ - R$", display=r"\sum_{i \ne j} p_iq_j")
    pair = (P * Q - R) / (n * (n - 1))
    kappa = pair - pbar * qbar
    d.equal(kappa, -pop / (n - 1),
            r"the covariance of two different positions: $\mathbb E\,p_{I_k}q_{I_l} = \frac{PQ - R}{n(n-1)}$ minus "
            r"$\bar p\bar q$, a negative multiple of $\sigma_{pq}$",
            display=r"\operatorname{Cov}(p_{I_k}, q_{I_l})_{k \ne l}")
    d.equal(kappa.subs(R, n * sigma_pq + P * Q / n), -sigma_pq / (n - 1),
            r"in terms of $\sigma_{pq}$ (write $R = n\sigma_{pq} + PQ/n$)", display=r"\kappa")
    cov_without = (B * pop + B * (B - 1) * kappa) / B**2
    d.equal(cov_without, FACTOR_WITHOUT * pop,
            r"$\frac1{B^2}\big(B\,\sigma_{pq} + B(B-1)\kappa\big)$: $B$ diagonal and $B(B-1)$ off-diagonal pairs",
            display=r"\operatorname{Cov}(\bar p_B, \bar q_B)_{\mathrm{without}}")
    d.equal(cov_without / pop, FACTOR_WITHOUT, r"so the factor without replacement is $\frac{n-B}{B(n-1)}$",
            display=r"c_{\mathrm{without}}")
    # -- confirmation by exact enumeration at small n
    for samples, batch, repl, factor in [(3, 2, True, sp.Rational(1, 2)), (4, 2, False, sp.Rational(1, 3)),
                                         (4, 3, False, sp.Rational(1, 9)), (4, 4, False, sp.Integer(0))]:
        cov, popn = _enumerated_cov(samples, batch, repl)
        how = (f"all ${samples}^{batch}$ ordered draws, with replacement" if repl
               else f"all $\\binom{{{samples}}}{{{batch}}}$ subsets, without replacement")
        d.equal(cov - factor * popn, 0,
                f"exact enumeration at $n = {samples}$, $B = {batch}$ ({how}), with symbolic $p_i, q_i$: the "
                f"covariance of the batch means is ${sp.latex(factor)}\\,\\sigma_{{pq}}$, the formula's value",
                display=r"\operatorname{Cov}_{\mathrm{enum}} - c\,\sigma_{pq}")
        assert factor == (FACTOR_WITH if repl else FACTOR_WITHOUT).subs({n: samples, B: batch})
    # -- polarisation: variances and the gradient-noise covariance
    d.equal(cov_without.subs({Q: P, R: sp.Symbol("S_2", real=True)}),
            FACTOR_WITHOUT * (sp.Symbol("S_2", real=True) / n - P**2 / n**2),
            r"with $q = p$ (so $R = S_2 = \sum p_i^2$) the variance of a batch mean: $c$ times the population "
            r"variance $s_p^2 = S_2/n - P^2/n^2$", display=r"\operatorname{Var}(\bar p_B)_{\mathrm{without}}")
    d.given(r"\operatorname{Cov}\xi", r"c\,\Sigma(\theta),\quad \Sigma(\theta) = \frac1n\sum_i\nabla\ell_i\nabla"
            r"\ell_i^\top - \nabla L\nabla L^\top",
            r"not a new assumption: the two covariance formulas above (for arbitrary $p_i, q_i$) applied entrywise "
            r"with $p_i = \partial_j\ell_i$, $q_i = \partial_k\ell_i$; the $(j,k)$ entry of $\Sigma$ is their "
            r"$\sigma_{pq}$ (and likewise for entries of per-sample Hessians)")
    # -- limits and ordering of the factors
    d.equal(FACTOR_WITHOUT.subs(B, n), 0, r"at $B = n$ without replacement the batch is the whole data set: no "
            r"noise (gradient descent)", display=r"c_{\mathrm{without}}\big|_{B=n}")
    d.equal(FACTOR_WITHOUT.subs(B, 1), FACTOR_WITH.subs(B, 1), r"at $B = 1$ the two samplings coincide",
            display=r"c_{\mathrm{without}}\big|_{B=1}")
    d.equal(FACTOR_WITH - FACTOR_WITHOUT, (B - 1) / (B * (n - 1)), "the gap between the factors",
            display=r"c_{\mathrm{with}} - c_{\mathrm{without}}")
    k, m = sp.symbols("k m", integer=True, nonnegative=True)
    d.positive(((B - 1) / (B * (n - 1))).subs(n, B + m).subs(B, k + 2),
               r"for $B \ge 2$ and $n \ge B$ (write $B = k + 2$, $n = B + m$, $k, m \ge 0$) the gap is positive: "
               r"sampling without replacement is never noisier", display=r"c_{\mathrm{with}} - c_{\mathrm{without}}")
    d.result("factor_with", FACTOR_WITH, label=r"c_{\mathrm{with}}")
    d.result("factor_without", FACTOR_WITHOUT, label=r"c_{\mathrm{without}}")
    d.result("pair_covariance", -sigma_pq / (n - 1), label=r"\kappa")
    return d
