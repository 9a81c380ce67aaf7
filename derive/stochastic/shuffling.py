"""The implicit regulariser of SGD with random shuffling (Smith, Dherin, Barrett & De, ICLR 2021).

An epoch visits m minibatch losses L_k (L = (1/m) Σ L_k) once each, in a uniformly random order, with GD steps of
size ε.  Averaged over the m! orders, the iterate after the epoch is, up to O(ε³), the time-mε gradient flow of

    L̃ = L + (ε/(4m)) Σ_k |∇L_k|²  =  L + (ε/4)|∇L|² + (ε/(4m)) Σ_k |∇L_k − ∇L|²,

full-batch GD's implicit regulariser (ε/4)|∇L|² plus a penalty on the spread of the minibatch gradients.  Derived by
backward error analysis in one coordinate with generic G_k = L_k', by exact enumeration of all orders for m = 2 and
m = 3; for general m from the fact that two distinct batches are visited in either order with probability 1/2.
"""
from __future__ import annotations

import itertools

import sympy as sp

from derive.analysis.modified_equation import flow_map_series
from derive.derivation import Derivation

x = sp.Symbol("x", real=True)
epsilon = sp.Symbol("epsilon", positive=True)
m = sp.Symbol("m", positive=True, integer=True)


def _epoch(order: tuple[int, ...], G: list) -> sp.Expr:
    """x after GD steps x ↦ x − εG_k(x) in the given order, to ε² (SymPy's series of the composition)."""
    z = x
    for k in order:
        z = z - epsilon * G[k](z)
    return sp.expand(sp.series(z, epsilon, 0, 3).removeO().doit())


def _flow(f0: sp.Expr, f1: sp.Expr, steps: sp.Expr) -> sp.Expr:
    """The time-(steps·ε) flow of x' = f0 + ε f1 up to ε² (Lie series, via flow_map_series in τ = steps·ε)."""
    coef = flow_map_series([[f0], [f1 / steps]], [x], 2)
    return sp.expand(sum((coef[c][0] * (steps * epsilon) ** c for c in range(3)), sp.S.Zero))


def _case(d: Derivation, mm: int) -> sp.Expr:
    """Steps for m = mm batches; returns the modified loss L + ε/(4m) Σ G_k²."""
    G = [sp.Function(f"G_{k + 1}") for k in range(mm)]
    Lk = [sp.Function(f"L_{k + 1}")(x) for k in range(mm)]
    Gx = [g(x) for g in G]
    Gp = [sp.diff(g, x) for g in Gx]
    S = sum(Gx, sp.S.Zero)
    orders = list(itertools.permutations(range(mm)))
    avg = sp.expand(sum((_epoch(o, G) for o in orders), sp.S.Zero) / len(orders))
    pairs = sum((Gp[k] * Gx[j] for k in range(mm) for j in range(mm) if k != j), sp.S.Zero)
    expected = x - epsilon * S + epsilon**2 / 2 * pairs
    if mm == 2:
        for o in orders:
            first, second = o
            d.equal(_epoch(o, G), x - epsilon * S + epsilon**2 * Gp[second] * Gx[first],
                    rf"the order $({first + 1}, {second + 1})$: series of the composition of the two steps in "
                    r"$\epsilon$; the second gradient is taken at the moved point",
                    display=r"x_2^{(%d,%d)} \bmod \epsilon^3" % (first + 1, second + 1))
    d.equal(avg, expected, rf"$m = {mm}$: the mean over all ${len(orders)}$ orders of the series of the "
            rf"composed steps (each computed by SymPy); a pair of distinct batches appears in either order equally "
            "often", display=r"\mathbb E_\pi x_{%d} \bmod \epsilon^3" % mm)
    Ltot = sp.Function("L")(x)
    Lt = Ltot + epsilon / (4 * mm) * sum((g**2 for g in Gx), sp.S.Zero)
    f0 = -S / mm
    f1 = -sp.diff(sum((g**2 for g in Gx), sp.S.Zero), x) / (4 * mm)
    d.equal(_flow(f0, f1, sp.Integer(mm)), expected,
            rf"the time-${mm}\epsilon$ gradient flow of $\tilde L$ (with $L' = \frac1{{{mm}}}\sum_k G_k$), Lie series "
            r"to $\epsilon^2$: the same", display=r"\varphi^{-\tilde L'}_{%d\epsilon}(x) \bmod \epsilon^3" % mm)
    own = sum((g * gp for g, gp in zip(Gx, Gp)), sp.S.Zero)
    d.equal(sp.expand(_flow(f0, sp.S.Zero, sp.Integer(mm)) - expected), epsilon**2 / 2 * own,
            r"while the gradient flow of $L$ itself misses the epoch at $\epsilon^2$",
            display=r"(\varphi^{-L'}_{%d\epsilon}(x) - \mathbb E_\pi x_{%d}) \bmod \epsilon^3" % (mm, mm))
    Lp = S / mm
    spread = sum(((g - Lp) ** 2 for g in Gx), sp.S.Zero)
    d.equal(Lt.subs(Ltot, sum(Lk, sp.S.Zero) / mm),
            sum(Lk, sp.S.Zero) / mm + epsilon / 4 * Lp**2 + epsilon / (4 * mm) * spread,
            rf"$\tilde L$ for $m = {mm}$ ($G_k = L_k'$, $L = \frac1{{{mm}}}\sum_k L_k$): full-batch GD's regulariser "
            r"$\frac\epsilon4 L'^2$ plus the spread of the minibatch gradients", display=r"\tilde L_{(m=%d)}" % mm)
    return Lt.subs(Ltot, sum(Lk, sp.S.Zero) / mm)


def shuffling_regularizer() -> Derivation:
    """Random reshuffling follows the gradient flow of L + (ε/(4m)) Σ_k |∇L_k|² up to O(ε³) per epoch."""
    d = Derivation(
        "sgd-shuffling-regularizer", "The implicit regulariser of SGD with random shuffling",
        summary=("One epoch of random reshuffling takes $m$ gradient steps $x \\mapsto x - \\epsilon G_k(x)$, "
                 "$G_k = L_k'$, one per minibatch loss, in a uniformly random order; $L = \\frac1m\\sum_k L_k$. Expanding "
                 "the composed steps in $\\epsilon$ (a later step sees the gradient at the moved point) and averaging over "
                 "the $m!$ orders gives $x - \\epsilon\\sum_k G_k + \\frac{\\epsilon^2}{2}\\sum_{k \\ne l} G_k' G_l + "
                 "O(\\epsilon^3)$. Backward error analysis: this is the time-$m\\epsilon$ flow of $-\\tilde L'$ with "
                 "$\\tilde L = L + \\frac{\\epsilon}{4m}\\sum_k L_k'^2 = L + \\frac\\epsilon4 L'^2 + \\frac{\\epsilon}{4m}"
                 "\\sum_k (L_k' - L')^2$, while the flow of $L$ misses it at $\\epsilon^2$. Enumerated exactly for "
                 "$m = 2$ and $m = 3$; for general $m$ the probability $\\frac12$ that two distinct batches come "
                 "in either order is proved by counting, and the resulting mean epoch is stated (the enumerations "
                 "check it). In $d$ dimensions $G_k' G_l$ becomes $\\nabla^2 L_k\\nabla L_l$ and $L_k'^2$ becomes "
                 "$|\\nabla L_k|^2$."),
        references=["S. L. Smith, B. Dherin, D. G. T. Barrett and S. De, On the origin of implicit regularization in "
                    "stochastic gradient descent, ICLR 2021",
                    "D. G. T. Barrett and B. Dherin, Implicit Gradient Regularization, ICLR 2021",
                    "E. Hairer, C. Lubich and G. Wanner, Geometric Numerical Integration (2006), chapter IX"])
    d.given(r"x_{j}", r"x_{j-1} - \epsilon\,G_{\pi(j)}(x_{j-1}),\ j = 1, \dots, m",
            r"one epoch: $\pi$ a uniformly random permutation of the $m$ minibatches, $G_k = L_k'$")
    d.given(r"\tilde L", r"L + \frac{\epsilon}{4m}\sum_{k=1}^m G_k^2",
            "the candidate modified loss (Smith, Dherin, Barrett and De 2021); its property is checked below")
    lt2 = _case(d, 2)
    lt3 = _case(d, 3)
    # general m, from the pair-order fact
    L, R = sp.Function("L")(x), sp.Function("R")(x)
    Lp, Rp = sp.diff(L, x), sp.diff(R, x)
    d.given(R, r"\sum_{k=1}^m G_k^2", r"general $m$: the sum of squared minibatch gradients, so "
            r"$\sum_k G_kG_k' = R'/2$; and $\sum_k G_k = mL'$")
    epoch_m = x - epsilon * m * Lp + epsilon**2 / 2 * (m**2 * Lp * sp.diff(Lp, x) - Rp / 2)
    d.equal(sp.binomial(m, 2) * sp.factorial(m - 2) / sp.factorial(m), sp.Rational(1, 2),
            r"general $m \ge 2$: for two distinct batches $k \ne l$, the orders with $l$ before $k$ are counted by "
            r"choosing the two positions ($\binom m2$ ways, $l$ in the earlier) and arranging the other $m - 2$ "
            r"batches ($(m-2)!$ ways), out of $m!$", display=r"\Pr_\pi(l\text{ before }k)")
    d.given(r"\mathbb E_\pi x_m \bmod \epsilon^3", epoch_m,
            r"general $m$: the $\epsilon^2$ term of the epoch is $\sum_{i<j}G'_{\pi(j)}G_{\pi(i)}$ (a later step sees "
            r"the gradient at the moved point, as in the $m = 2$ steps), so by the probability $\frac12$ just computed "
            r"its mean is $\frac12\sum_{k\ne l}G_k'G_l = \frac12\big((\sum_k G_k)'\sum_l G_l - \sum_k G_kG_k'\big)$ "
            r"(stated for general $m$; the enumerations for $m = 2, 3$ above prove it there, and `ldyn verify` "
            r"checks $m = 4$ numerically)")
    d.equal(_flow(-Lp, -Rp / (4 * m), m), sp.expand(epoch_m),
            r"the time-$m\epsilon$ flow of $-\tilde L' = -L' - \frac{\epsilon}{4m}R'$, Lie series to $\epsilon^2$, "
            r"matches it for every $m$", display=r"\varphi^{-\tilde L'}_{m\epsilon}(x) \bmod \epsilon^3")
    d.result("epoch_mean", epoch_m, step=-1, label=r"\mathbb E_\pi x_m \bmod \epsilon^3")
    modified = L + epsilon / (4 * m) * R
    d.equal(modified, L + epsilon / 4 * Lp**2 + epsilon / (4 * m) * (R - m * Lp**2),
            r"the two forms of $\tilde L$: $\sum_k (G_k - L')^2 = R - 2L'\sum_k G_k + mL'^2 = R - mL'^2$",
            display=r"\tilde L")
    d.result("modified_loss", modified, label=r"\tilde L")
    d.result("modified_loss_m2", lt2, label=r"\tilde L_{(m=2)}")
    d.result("modified_loss_m3", lt3, label=r"\tilde L_{(m=3)}")
    return d
