r"""Exact first and second moments of SGD-type rules on quadratics: Kronecker lifting, stationary covariance.

Per-sample quadratic model ℓ_i(θ) = ½θᵀH_iθ + g_iᵀθ (i = 1..n, θ ∈ ℝ^d); each step draws a fresh batch of size B
(with or without replacement), independent of the past, and uses the batch means Ĥ, ĝ: ∇L̂(y) = Ĥy + ĝ.
A rule linear in its state and in one gradient value (Lessard, Recht & Packard 2016: ξ⁺ = Aξ + Bu, y = Cξ,
u = ∇L̂(y), D = 0) acts on z = (ξ_1, …, ξ_s) ∈ ℝ^{sd} (state-major) through Ā = A⊗I_d, B̄ = B⊗I_d, C̄ = C⊗I_d
(hyperparameters given per coordinate, e.g. Adam's frozen diagonal preconditioner, make the blocks diagonal):

    z⁺ = M̂z + B̄ĝ,   M̂ = Ā + B̄ĤC̄,   E z⁺ = M̄ E z + B̄ḡ,   M̄ = Ā + B̄HC̄.

With vec(XSYᵀ) = (Y⊗X) vec S and S = E zzᵀ (the batch is independent of z):

    vec S⁺ = M vec S + b E z + k,
    M = M̄⊗M̄ + (B̄⊗B̄) K_HH (C̄⊗C̄),   b = B̄ḡ⊗M̄ + M̄⊗B̄ḡ + (B̄⊗B̄)(K_gH + K_Hg) C̄,   k = (B̄⊗B̄)(ḡ⊗ḡ + K_gg),

K_XY = c·(1/n)Σ(X_i − X̄)⊗(Y_i − Ȳ) the covariance of two batch means, c = 1/B with replacement and
(n − B)/(B(n − 1)) without (``sgd-batch-noise``).  Where ρ(M) < 1 the moments converge to the unique fixed point
m* = (I − M̄)⁻¹B̄ḡ, vec S* = (I − M)⁻¹(b m* + k); the stationary covariance is S* − m*m*ᵀ.

Refs: L. Lessard, B. Recht, A. Packard, SIAM J. Optim. 26(1) (2016) (state-space form); L. Wu, C. Ma, W. E, How SGD
selects the global minima in over-parameterized learning, NeurIPS 2018 (second moments of linearised SGD);
S. Mandt, M. D. Hoffman, D. M. Blei, Stochastic gradient descent as approximate Bayesian inference, JMLR 18 (2017)
(the stationary variance of SGD on a quadratic); J. R. Magnus, H. Neudecker, Matrix differential calculus (vec and
Kronecker identities).
"""
from __future__ import annotations

import itertools
from functools import lru_cache
from math import comb
from typing import Any

import sympy as sp

from derive.analysis.state_space import StateSpace, exact, state_space
from derive.derivation import Derivation
from derive.update_rule import UpdateRule

from derive.stochastic.noise import B

eta, a, sigma = sp.symbols("eta a sigma", positive=True)
beta = sp.Symbol("beta", positive=True)
beta1 = sp.Symbol("beta_1", positive=True)
p = sp.Symbol("p", positive=True)  # a frozen preconditioner entry 1/(sqrt(v) + eps)
v = sp.Symbol("v", nonnegative=True)  # Var(batch-mean curvature) = c s^2
q = sp.Symbol("q", nonnegative=True)  # Var(batch-mean gradient at the minimum) = c s_g^2
w = sp.Symbol("w", real=True)  # Cov(batch-mean curvature, batch-mean gradient at the minimum)

#: closed forms (the results of the derivations below; the checks evaluate these)
SGD_STATIONARY_VARIANCE = eta * sigma**2 / (B * a * (2 - eta * a))
SGD_STATIONARY_EXCESS_LOSS = eta * sigma**2 / (2 * B * (2 - eta * a))
HEAVY_BALL_DELTA = (1 - beta) * a * (2 * (1 + beta) - eta * a) - eta * (1 + beta) * v
HEAVY_BALL_ETA_CRITICAL = 2 * a * (1 - beta**2) / ((1 - beta) * a**2 + (1 + beta) * v)
HEAVY_BALL_STATIONARY_VARIANCE = eta * q * (1 + beta) / HEAVY_BALL_DELTA
ADAM_FROZEN_DELTA = a * (2 * (1 + beta1) - eta * p * a * (1 - beta1)) - eta * p * (1 + beta1) * v
ADAM_FROZEN_STATIONARY_VARIANCE = eta * p * q * (1 + beta1) / ADAM_FROZEN_DELTA

REFERENCES = [
    "L. Lessard, B. Recht and A. Packard, Analysis and design of optimization algorithms via integral quadratic "
    "constraints, SIAM J. Optim. 26(1) (2016)",
    "L. Wu, C. Ma and W. E, How SGD selects the global minima in over-parameterized learning: a dynamical stability "
    "perspective, NeurIPS 2018",
    "S. Mandt, M. D. Hoffman and D. M. Blei, Stochastic gradient descent as approximate Bayesian inference, JMLR 18 "
    "(2017)",
    "J. R. Magnus and H. Neudecker, Matrix Differential Calculus with Applications in Statistics and Econometrics, "
    "Wiley (1988), ch. 2 (vec and Kronecker products)",
]


class NoStationaryMoments(ValueError):
    """ρ(M) ≥ 1: the second moments do not converge, there is no stationary covariance (one line)."""


# -- the generic lifted recursion -------------------------------------------------------------------------------------
def _kron(*ms: sp.Matrix) -> sp.Matrix:
    """Kronecker product: (X⊗Y)[i·r + k, j·c + l] = X[i, j] Y[k, l] (Y of size r×c)."""
    out = sp.Matrix(ms[0])
    for m_ in ms[1:]:
        Y = sp.Matrix(m_)
        r, c_ = Y.shape
        out = sp.Matrix(out.rows * r, out.cols * c_,
                        lambda I, J: out[I // r, J // c_] * Y[I % r, J % c_])
    return out


def vec(S: sp.Matrix) -> sp.Matrix:
    """Column stacking: vec(S)[j·rows + i] = S[i, j]."""
    S = sp.Matrix(S)
    return sp.Matrix([S[i, j] for j in range(S.cols) for i in range(S.rows)])


def unvec(s: sp.Matrix, rows: int) -> sp.Matrix:
    """The inverse of :func:`vec` for a square ``rows``×``rows`` matrix."""
    return sp.Matrix(rows, rows, lambda i, j: s[j * rows + i])


_NAMED = {"sgd": "derive.rules.gradient_descent:gd_rule", "heavy-ball": "derive.rules.momentum:heavy_ball_rule",
          "adam-frozen": "derive.analysis.adaptive_dynamics:frozen_adam_rule"}


@lru_cache(maxsize=32)
def _named_state_space(name: str) -> StateSpace:
    if name in _NAMED:
        import importlib

        mod, fn = _NAMED[name].split(":")
        return state_space(getattr(importlib.import_module(mod), fn)())
    from derive.rules.library import resolve

    return state_space(resolve(name))


def linear_rule(rule_or_name: Any) -> StateSpace:
    """The state-space form of ``rule_or_name``: "sgd" (plain SGD: gd with stochastic gradients), "heavy-ball",
    "adam-frozen", any catalogue name or ``.rule`` path, an UpdateRule or a StateSpace.  ValueError (one line) for a
    rule that is not linear, or that calls the gradient more than once per step (D ≠ 0 or several inputs)."""
    if isinstance(rule_or_name, StateSpace):
        ss = rule_or_name
    elif isinstance(rule_or_name, UpdateRule):
        ss = state_space(rule_or_name)
    elif isinstance(rule_or_name, str):
        ss = _named_state_space(rule_or_name)
    else:
        raise ValueError(f"give a rule name, an UpdateRule or a StateSpace, not {type(rule_or_name).__name__}")
    if ss.p != 1 or any(e != 0 for e in ss.D):
        raise ValueError(f"{ss.rule.name}: the moment recursion needs one gradient call per step (D = 0); this rule "
                         f"makes {ss.p}")
    return ss


def closed_loop_blocks(rule_or_name: Any, values: dict | None, d: int) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """(Ā, B̄, C̄) of size sd×sd, sd×d, d×sd for d coordinates, state-major.  ``values``: hyperparameters by protocol
    name (``lr``, ``momentum``, ``beta1``, ``preconditioner``), each a number, a SymPy expression or a list of d of
    them (one per coordinate); a missing ``weight_decay`` is 0."""
    ss = linear_rule(rule_or_name)
    values = dict(values or {})
    if "weight_decay" in ss.rule.hyper and "weight_decay" not in values:
        values["weight_decay"] = 0
    per = []
    for j in range(d):
        vj = {}
        for k_, val in values.items():
            if isinstance(val, (list, tuple)):
                if len(val) != d:
                    raise ValueError(f"{k_}: {len(val)} values for {d} coordinates")
                val = val[j]
            vj[k_] = val if isinstance(val, sp.Basic) else exact(val, k_)
        per.append(ss.at(vj))
    s = ss.n
    Ab, Bb, Cb = sp.zeros(s * d, s * d), sp.zeros(s * d, d), sp.zeros(d, s * d)
    for j, sj in enumerate(per):
        for i in range(s):
            Bb[i * d + j, j] = sj.B[i, 0]
            Cb[j, i * d + j] = sj.C[0, i]
            for l in range(s):
                Ab[i * d + j, l * d + j] = sj.A[i, l]
    return Ab, Bb, Cb


@lru_cache(maxsize=1)
def _factors() -> tuple:
    from derive.stochastic import noise

    r = noise.batch_noise().results
    return noise.B, noise.n, r["factor_with"], r["factor_without"]


def variance_factor(n: int, batch: int, with_replacement: bool) -> sp.Expr:
    """c of ``sgd-batch-noise`` at (n, B): Var(batch mean) = c·(population variance)."""
    Bs, ns, fw, fwo = _factors()
    if with_replacement:
        return sp.sympify(fw).subs({Bs: batch, ns: n})
    if batch == n:
        return sp.S.Zero  # the whole data set: no noise (the formula's 0/0 at n = 1)
    return sp.sympify(fwo).subs({Bs: batch, ns: n})


def _data(hessians: Any, offsets: Any) -> tuple[list[sp.Matrix], list[sp.Matrix], int]:
    if not isinstance(hessians, (list, tuple)) or not hessians:
        raise ValueError("hessians: give a non-empty list of per-sample Hessians (d×d) or curvatures (numbers)")
    Hs = [sp.Matrix([[h]]) if not hasattr(h, "__len__") and not isinstance(h, sp.MatrixBase) else sp.Matrix(h)
          for h in hessians]
    d = Hs[0].rows
    if any(H.shape != (d, d) for H in Hs):
        raise ValueError(f"hessians: every per-sample Hessian must be {d}×{d}")
    if offsets is None:
        offsets = [sp.zeros(d, 1)] * len(Hs)
    if not isinstance(offsets, (list, tuple)) or len(offsets) != len(Hs):
        raise ValueError(f"offsets: give {len(Hs)} per-sample gradient offsets g_i")
    gs = [sp.Matrix([[g_]]) if not hasattr(g_, "__len__") and not isinstance(g_, sp.MatrixBase)
          else sp.Matrix(g_).reshape(d, 1) for g_ in offsets]
    conv = (lambda e: e if isinstance(e, sp.Basic) and not e.has(sp.Float) else exact(e))
    return [H.applyfunc(conv) for H in Hs], [g_.applyfunc(conv) for g_ in gs], d


def batch_moments(hessians: Any, offsets: Any, batch: int, with_replacement: bool = False) -> dict:
    """Means H, ḡ and the covariances of the batch means K_HH = E[Ĥ⊗Ĥ] − H⊗H, K_gH, K_Hg, K_gg:
    c·(1/n)Σ(X_i − X̄)⊗(Y_i − Ȳ) with c from ``sgd-batch-noise``."""
    Hs, gs, d = _data(hessians, offsets)
    n = len(Hs)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    if not with_replacement and batch > n:
        raise ValueError(f"batch {batch} is larger than n = {n} (without replacement)")
    c = variance_factor(n, batch, with_replacement)
    H = sum(Hs, sp.zeros(d, d)) / n
    g = sum(gs, sp.zeros(d, 1)) / n
    dH, dg = [X - H for X in Hs], [y - g for y in gs]
    cov = lambda X, Y: sum((_kron(x, y) for x, y in zip(X, Y)), sp.zeros(X[0].rows * Y[0].rows,  # noqa: E731
                                                                           X[0].cols * Y[0].cols)) * c / n
    return {"H": H, "g": g, "c": c, "n": n, "d": d, "KHH": cov(dH, dH), "KgH": cov(dg, dH), "KHg": cov(dH, dg),
            "Kgg": cov(dg, dg)}


def lifted_operator(Ab: sp.Matrix, Bb: sp.Matrix, Cb: sp.Matrix, H: sp.Matrix, g: sp.Matrix, KHH: sp.Matrix,
                    KgH: sp.Matrix, KHg: sp.Matrix, Kgg: sp.Matrix) -> tuple:
    """(M, b, k, M̄, f): vec S⁺ = M vec S + b E z + k and E z⁺ = M̄ E z + f (module docstring)."""
    Mbar = Ab + Bb * H * Cb
    f = Bb * g
    BB = _kron(Bb, Bb)
    M = _kron(Mbar, Mbar) + BB * KHH * _kron(Cb, Cb)
    b = _kron(f, Mbar) + _kron(Mbar, f) + BB * (KgH + KHg) * Cb
    k = BB * (_kron(g, g) + Kgg)
    return M, b, k, Mbar, f


def lifted_moments(rule_or_name: Any, hessians: Any, offsets: Any, values: dict | None, batch: int,
                   n: int | None = None, with_replacement: bool = False) -> tuple:
    """(M, b, k, M̄, f): both recursions at once (see :func:`second_moment_operator`, :func:`first_moment_operator`)."""
    return _lifted(rule_or_name, hessians, offsets, values, batch, n, with_replacement)


def _lifted(rule_or_name, hessians, offsets, values, batch, n, with_replacement) -> tuple:
    mom = batch_moments(hessians, offsets, batch, with_replacement)
    if n is not None and n != mom["n"]:
        raise ValueError(f"n = {n} but {mom['n']} per-sample Hessians were given")
    Ab, Bb, Cb = closed_loop_blocks(rule_or_name, values, mom["d"])
    return lifted_operator(Ab, Bb, Cb, mom["H"], mom["g"], mom["KHH"], mom["KgH"], mom["KHg"], mom["Kgg"])


def second_moment_operator(rule_or_name: Any, hessians: Any, offsets: Any, values: dict | None, batch: int,
                           n: int | None = None, with_replacement: bool = False) -> tuple:
    """(M, b, k) with vec(E z⁺z⁺ᵀ) = M vec(E zzᵀ) + b E z + k, exact (Rational for rational inputs; a float is
    converted to its exact binary fraction).  ``hessians``: n per-sample d×d matrices (or n numbers for d = 1),
    ``offsets``: n vectors g_i (or numbers, or None for 0); z = (ξ_1, …, ξ_s) state-major, θ first."""
    M, b, k, _, _ = _lifted(rule_or_name, hessians, offsets, values, batch, n, with_replacement)
    return M, b, k


def first_moment_operator(rule_or_name: Any, hessians: Any, offsets: Any, values: dict | None, batch: int = 1,
                          n: int | None = None, with_replacement: bool = False) -> tuple:
    """(M̄, f) with E z⁺ = M̄ E z + f, M̄ = Ā + B̄HC̄, f = B̄ḡ (the batch size does not enter)."""
    _, _, _, Mbar, f = _lifted(rule_or_name, hessians, offsets, values, batch, n, with_replacement)
    return Mbar, f


def _solve(A: sp.Matrix, rhs: sp.Matrix) -> sp.Matrix | None:
    """A⁻¹ rhs, exactly (None when A is singular); DomainMatrix for numeric entries, else LUsolve."""
    from sympy.polys.matrices import DomainMatrix
    from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError

    try:
        if A.free_symbols or rhs.free_symbols:
            return A.LUsolve(rhs) if A.det() != 0 else None
        dm = DomainMatrix.from_Matrix(A).to_field()
        return dm.lu_solve(DomainMatrix.from_Matrix(rhs).to_field()).to_Matrix()
    except (DMNonInvertibleMatrixError, ValueError, ZeroDivisionError):
        return None


def mean_square_stable(M: sp.Matrix, N: int) -> bool:
    """ρ(M) < 1, decided exactly for the lifted operator M of ``S ↦ E[M̂SM̂ᵀ]`` (N×N states; a completely positive map):
    ρ(M) < 1 iff X − M(X) = I has a solution X ≻ 0 (Neumann series one way; M(X) = X − I ≺ X the other:
    H. Schneider, Positive operators and an inertia theorem, Numer. Math. 7 (1965)).  X ≻ 0 by Sylvester's criterion."""
    if M.free_symbols:
        raise ValueError(f"the operator still contains {', '.join(sorted(map(str, M.free_symbols)))}: give numbers")
    x = _solve(sp.eye(N * N) - M, vec(sp.eye(N)))
    if x is None:
        return False  # eigenvalue 1: ρ(M) ≥ 1
    X = unvec(x, N)
    X = (X + X.T) / 2
    return all(X[:r, :r].det() > 0 for r in range(1, N + 1))


def stationary_covariance(rule_or_name: Any, hessians: Any, offsets: Any, values: dict | None, batch: int,
                          n: int | None = None, with_replacement: bool = False) -> dict:
    """The fixed point of the moment recursions where ρ(M) < 1 (decided exactly, :func:`mean_square_stable`):
    {"mean" m*, "second" S*, "covariance" S* − m*m*ᵀ} over the whole state z (θ first), exact SymPy matrices;
    :class:`NoStationaryMoments` when ρ(M) ≥ 1 (the second moments diverge or do not settle: none exists)."""
    M, b, k, Mbar, f = _lifted(rule_or_name, hessians, offsets, values, batch, n, with_replacement)
    N = Mbar.rows
    if not mean_square_stable(M, N):
        raise NoStationaryMoments("no stationary covariance: the lifted second-moment operator has spectral radius "
                                  ">= 1 (the second moments do not converge)")
    m = _solve(sp.eye(N) - Mbar, f)  # ρ(M̄) ≤ ρ(M)^(1/2) < 1 (Jensen: E z zᵀ ⪰ E z E zᵀ), so I − M̄ is invertible
    S = unvec(_solve(sp.eye(N * N) - M, b * m + k), N)
    return {"mean": m, "second": S, "covariance": S - m * m.T}


# -- exact enumeration over batches (the reference the derivations prove the formulas against) ----------------------
def _batches(n: int, batch: int, with_replacement: bool):
    if with_replacement:
        return [(idx, sp.Rational(1, n ** batch)) for idx in itertools.product(range(n), repeat=batch)]
    return [(idx, sp.Rational(1, comb(n, batch))) for idx in itertools.combinations(range(n), batch)]


def _enumerated(Ab, Bb, Cb, Hs, gs, batch, with_replacement) -> tuple:
    """E over every batch of (M̂⊗M̂, B̄ĝ⊗M̂ + M̂⊗B̄ĝ, B̄ĝ⊗B̄ĝ, M̂, B̄ĝ), summed with the batch probabilities."""
    n = len(Hs)
    N = Ab.rows
    acc = [sp.zeros(N * N, N * N), sp.zeros(N * N, N), sp.zeros(N * N, 1), sp.zeros(N, N), sp.zeros(N, 1)]
    for idx, prob in _batches(n, batch, with_replacement):
        Hh = sum((Hs[i] for i in idx), sp.zeros(*Hs[0].shape)) / batch
        gh = sum((gs[i] for i in idx), sp.zeros(*gs[0].shape)) / batch
        Mh, fh = Ab + Bb * Hh * Cb, Bb * gh
        for j, term in enumerate((_kron(Mh, Mh), _kron(fh, Mh) + _kron(Mh, fh), _kron(fh, fh), Mh, fh)):
            acc[j] += prob * term
    return tuple(acc)


def _symbolic_data(n: int, d: int) -> tuple[list[sp.Matrix], list[sp.Matrix]]:
    """Symmetric per-sample Hessians and offsets with one real symbol per free entry."""
    Hs, gs = [], []
    for i in range(1, n + 1):
        if d == 1:
            Hs.append(sp.Matrix([[sp.Symbol(f"a_{i}", real=True)]]))
            gs.append(sp.Matrix([[sp.Symbol(f"g_{i}", real=True)]]))
            continue
        H = sp.zeros(d, d)
        for r in range(d):
            for c_ in range(r, d):
                H[r, c_] = H[c_, r] = sp.Symbol(f"h_{{{i},{r + 1}{c_ + 1}}}", real=True)
        Hs.append(H)
        gs.append(sp.Matrix([sp.Symbol(f"g_{{{i},{r + 1}}}", real=True) for r in range(d)]))
    return Hs, gs


# -- SGD with additive noise (one coordinate) --------------------------------------------------------------------------
def sgd_stationary_noise() -> Derivation:
    """θ⁺ = θ − η(aθ + ξ), Var ξ = σ²/B: V⁺ = (1 − ηa)²V + η²σ²/B, V* = ησ²/(B a(2 − ηa)) iff 0 < ηa < 2."""
    th, xi, mu, V, V0, mu0 = sp.symbols(r"theta xi mu V V_0 mu_0", real=True)
    k_ = sp.Symbol("k", integer=True, nonnegative=True)
    x = sp.Symbol("x", positive=True)  # x = eta a
    r = (1 - eta * a) ** 2
    qn = eta**2 * sigma**2 / B
    Vstar = SGD_STATIONARY_VARIANCE
    d = Derivation(
        "sgd-stationary-noise",
        "SGD on a quadratic with additive gradient noise: exact moments and stationary variance",
        summary=(r"One coordinate of SGD on $L = a\theta^2/2$ with gradient noise of variance $\sigma^2/B$, independent "
                 r"across steps: the mean contracts by $1 - \eta a$, the variance follows the exact recursion "
                 r"$V^{+} = (1 - \eta a)^2 V + \eta^2\sigma^2/B$, and converges (from every start) iff "
                 r"$0 < \eta a < 2$, to $V^* = \frac{\eta\sigma^2}{Ba(2 - \eta a)}$; the expected excess loss is "
                 r"$aV^*/2 = \frac{\eta\sigma^2}{2B(2 - \eta a)}$. For small $\eta a$ this is the Langevin value "
                 r"$\eta\sigma^2/(2aB)$ (Mandt, Hoffman and Blei 2017); the factor $2/(2 - \eta a)$ is exact."),
        references=REFERENCES[2:3] + ["L. Wu, C. Ma and W. E (2018), as in sgd-mean-square-stability"])
    d.given(sp.Symbol(r"\theta^{+}"), th - eta * (a * th + xi),
            r"one step on $L = a\theta^2/2$ (minimum at 0) with gradient noise $\xi$: $\mathbb E\xi = 0$, "
            r"$\mathbb E\xi^2 = \sigma^2/B$, $\xi$ independent of $\theta$ (a fresh batch each step)")
    d.equal(th - eta * (a * th + xi), (1 - eta * a) * th - eta * xi, "collect the terms in $\\theta$",
            display=r"\theta^{+}")
    d.given(sp.Matrix([sp.Symbol(r"\mathbb E\theta"), sp.Symbol(r"\mathbb E\xi"),
                       sp.Symbol(r"\mathbb E(\theta - \mu)\xi")]), sp.Matrix([mu, 0, 0]),
            r"the mean of $\theta$ is $\mu$; the noise has mean 0 and is independent of $\theta$, so the cross moment "
            r"vanishes")
    d.equal(sp.Subs((1 - eta * a) * th - eta * xi, (th, xi), (mu, 0)), (1 - eta * a) * mu,
            r"$\mathbb E$ is linear: replace $\theta$ by its mean and $\xi$ by 0", display=r"\mathbb E\theta^{+}")
    j_ = sp.Symbol("j", integer=True, positive=True)
    d.equal(sp.Product(1 - eta * a, (j_, 1, k_)) * mu0, (1 - eta * a) ** k_ * mu0,
            r"unrolled from $\mathbb E\theta_0 = \mu_0$: $k$ factors $1 - \eta a$", display=r"\mathbb E\theta_k")
    d.equal(((1 - eta * a) * th - eta * xi - (1 - eta * a) * mu) ** 2,
            (1 - eta * a) ** 2 * (th - mu) ** 2 - 2 * eta * (1 - eta * a) * (th - mu) * xi + eta**2 * xi**2,
            r"square the deviation from the mean", display=r"(\theta^{+} - \mathbb E\theta^{+})^2")
    Edev, Edxi, Exi2 = sp.symbols(r"\mathbb{E}(\theta-\mu)^2 \mathbb{E}(\theta-\mu)\xi \mathbb{E}\xi^2", real=True)
    d.equal(sp.Subs(r * Edev - 2 * eta * (1 - eta * a) * Edxi + eta**2 * Exi2, (Edev, Edxi, Exi2),
                    (V, 0, sigma**2 / B)), r * V + qn,
            r"take $\mathbb E$ term by term: $\mathbb E(\theta - \mu)^2 = V$, $\mathbb E(\theta - \mu)\xi = 0$, "
            r"$\mathbb E\xi^2 = \sigma^2/B$: the exact variance recursion", display="V^{+}")
    Vk = r**k_ * V0 + qn * (1 - r**k_) / (1 - r)
    d.equal(Vk.subs(k_, k_ + 1) - r * Vk, qn,
            r"the closed form $V_k = (1-\eta a)^{2k}V_0 + \frac{\eta^2\sigma^2}{B}\frac{1 - (1-\eta a)^{2k}}"
            r"{1 - (1-\eta a)^2}$ satisfies the recursion (for $\eta a \ne 2$)", display=r"V_{k+1} - (1-\eta a)^2 V_k")
    d.equal(sp.Subs(Vk, k_, 0), V0, "and the initial condition", display="V_{k=0}")
    d.equal(Vk, Vstar + r**k_ * (V0 - Vstar),
            r"rewritten: the fixed point plus a geometric transient with ratio $(1 - \eta a)^2$", display="V_k")
    d.solution(sp.Eq(V, r * V + qn), V, Vstar,
               r"the fixed point of the variance recursion (the equation is linear in $V$ with coefficient "
               r"$1 - (1-\eta a)^2 = \eta a(2 - \eta a)$, nonzero for $\eta a \ne 2$: this is the only one)")
    d.equal(1 - r, eta * a * (2 - eta * a), "the coefficient, factored", display=r"1 - (1 - \eta a)^2")
    d.equivalent(sp.Lt((1 - x) ** 2, 1), x, sp.Interval.open(0, 2),
                 r"with $x = \eta a > 0$: the transient $(1 - x)^{2k}(V_0 - V^*)$ dies out (for every $V_0$) exactly "
                 r"when $(1 - x)^2 < 1$, i.e. $0 < \eta a < 2$; for $\eta a \ge 2$ the ratio is $\ge 1$ and, since "
                 r"$\eta^2\sigma^2/B > 0$ is added every step, $V_k$ does not converge: no stationary variance")
    d.equivalent(sp.Gt(1 / (2 - x), 0), x, sp.Interval.open(0, 2),
                 r"and the candidate $V^* = \frac{\eta\sigma^2}{Ba}\cdot\frac{1}{2 - \eta a}$ is a variance "
                 r"(positive) on the same interval")
    d.equal(eta**2 * sigma**2 / (B * (1 - r)), Vstar,
            r"the same value as the stationary variance of the AR(1) process $\theta^{+} = \rho\theta - \eta\xi$: "
            r"$\eta^2\sigma^2/(B(1 - \rho^2))$", display=r"\frac{\eta^2\sigma^2}{B(1 - (1-\eta a)^2)}")
    d.equal(sp.Mul(a / 2, Vstar, evaluate=False), eta * sigma**2 / (2 * B * (2 - eta * a)),
            r"the stationary mean is 0, so the expected excess loss is $\frac a2\mathbb E\theta^2 = \frac a2 V^*$",
            display=r"\mathbb E L(\theta) - L(0)")
    d.equal(sp.Limit(Vstar / (eta * sigma**2 / (2 * a * B)), eta, 0), 1,
            r"for $\eta \to 0$ the variance approaches the Langevin (first-order SDE) value $\eta\sigma^2/(2aB)$",
            display=r"\lim_{\eta\to0}\frac{V^*}{\eta\sigma^2/(2aB)}")
    d.result("mean_k", (1 - eta * a) ** k_ * mu0, label=r"\mathbb E\theta_k")
    d.result("variance_recursion", r * V + qn, label="V^{+}")
    d.result("variance_k", Vstar + r**k_ * (V0 - Vstar), label="V_k")
    d.result("stationary_variance", Vstar, label="V^*")
    d.result("stationary_excess_loss", SGD_STATIONARY_EXCESS_LOSS, label=r"\mathbb E L - L^*")
    return d


# -- the lifted recursion, proved on instances ---------------------------------------------------------------------------
class Named(sp.Expr):
    """An exact matrix shown by its name (LaTeX ``name``): ``doit()`` returns the matrix, so a checked step compares
    the values entry by entry while the page shows a readable name; ``atoms`` looks inside the value, so the
    checker's exact-arithmetic and symbol rules still apply to it."""

    is_commutative = True

    def __new__(cls, name: str, value: Any) -> "Named":
        obj = sp.Expr.__new__(cls, sp.Symbol(name))
        obj._value = sp.ImmutableMatrix(value)
        return obj

    def doit(self, **hints: Any) -> sp.ImmutableMatrix:
        return self._value

    def atoms(self, *types: Any) -> set:
        return self._value.atoms(*types)

    @property
    def free_symbols(self) -> set:
        return self._value.free_symbols

    def _latex(self, printer: Any) -> str:
        return self.args[0].name

    def _sympystr(self, printer: Any) -> str:
        return f"{self.args[0].name} ({self._value.rows}x{self._value.cols} exact matrix)"


def _lifted_instance(d: Derivation, name: str, values: dict, dim: int, n_: int, batch: int, replacement: bool,
                     data: tuple | None = None, split: bool = True) -> None:
    """Steps: the formula (M, b, k, M̄, f) of :func:`second_moment_operator` equals the exact expectation over every
    batch, for symbolic (or given) per-sample data."""
    Hs, gs = data if data is not None else _symbolic_data(n_, dim)
    M, b, k, Mbar, f = _lifted(name, Hs, gs, values, batch, None, replacement)
    Ab, Bb, Cb = closed_loop_blocks(name, values, dim)
    EMM, Eb, Ek, EM, Ef = _enumerated(Ab, Bb, Cb, Hs, gs, batch, replacement)
    how = "with" if replacement else "without"
    count = n_ ** batch if replacement else comb(n_, batch)
    where = (rf"`{name}`, $d = {dim}$, $n = {n_}$, $B = {batch}$ {how} replacement (all {count} batches"
             + (", symbolic per-sample data)" if data is None else ", the rational per-sample data above)"))
    cval = variance_factor(n_, batch, replacement)
    if split:
        d.equal(EMM, M, rf"{where}: the exact mean of $\hat M\otimes\hat M$ is $\bar M\otimes\bar M + (\bar B\otimes"
                rf"\bar B)K_{{HH}}(\bar C\otimes\bar C)$, $K_{{HH}}$ with $c = {sp.latex(cval)}$",
                display=r"\mathbb E[\hat M\otimes\hat M]")
        d.equal(Eb, b, "the cross terms: $b = \\bar B\\bar g\\otimes\\bar M + \\bar M\\otimes\\bar B\\bar g + "
                "(\\bar B\\otimes\\bar B)(K_{gH} + K_{Hg})\\bar C$", display=r"\mathbb E[\hat f\otimes\hat M + "
                r"\hat M\otimes\hat f]")
        d.equal(Ek, k, r"the noise: $k = (\bar B\otimes\bar B)(\bar g\otimes\bar g + K_{gg})$",
                display=r"\mathbb E[\hat f\otimes\hat f]")
        d.equal(EM.row_join(Ef), Mbar.row_join(f), r"and the mean: $\mathbb E\hat M = \bar M$, $\mathbb E\hat f = "
                r"\bar B\bar g$", display=r"\mathbb E[\hat M \mid \hat f]")
    else:
        lhs, rhs = EMM.row_join(Eb).row_join(Ek), M.row_join(b).row_join(k)
        what = (rf"{where}: the exact means of $\hat M\otimes\hat M$, of the cross terms and of $\hat f\otimes\hat f$ "
                rf"are $[M \mid b \mid k]$ of the formula, with $c = {sp.latex(cval)}$")
        if lhs.rows <= 8:
            d.equal(lhs, rhs, what, display=r"\mathbb E[\hat M\otimes\hat M \mid \hat f\otimes\hat M + \hat M\otimes"
                    r"\hat f \mid \hat f\otimes\hat f]")
            return
        # too large to read (e.g. 16 x 21): compared entry by entry, shown by name (``Named``)
        tag = r"\text{%s, %s}" % (name, how)
        d.equal(Named(r"\mathbb E_{\text{%d batches}}\big[\hat M\otimes\hat M \mid \hat f\otimes\hat M + \hat M"
                      r"\otimes\hat f \mid \hat f\otimes\hat f\big]_{%s}" % (count, tag), lhs),
                Named(r"\big[M \mid b \mid k\big]_{\text{%s}}\big|_{c = %s}" % (name, sp.latex(cval)), rhs),
                rf"{what}: all ${lhs.rows}\times{lhs.cols}$ entries, exact rationals, compared one by one (both "
                r"matrices are shown by name only)")


def second_moment_lifted() -> Derivation:
    """vec S⁺ = M vec S + b E z + k (module docstring), proved on instances by exact enumeration of the batches."""
    d = Derivation(
        "sgd-second-moment-lifted", "Exact second moments of SGD on a quadratic: Kronecker lifting",
        summary=(r"Per-sample losses $\ell_i = \frac12\theta^\top H_i\theta + g_i^\top\theta$; a fresh batch each "
                 r"step gives the batch means $\hat H$, $\hat g$. A rule linear in its state and one gradient "
                 r"(state-space form $\xi^{+} = A\xi + Bu$, $y = C\xi$) closes the loop as "
                 r"$z^{+} = \hat Mz + \hat f$ with $\hat M = \bar A + \bar B\hat H\bar C$, $\hat f = \bar B\hat g$ "
                 r"($\bar A = A\otimes I_d$, ...). Since the batch is independent of $z$, "
                 r"$\mathbb E z^{+} = \bar M\,\mathbb E z + \bar B\bar g$ and "
                 r"$\operatorname{vec} S^{+} = M\operatorname{vec}S + b\,\mathbb E z + k$ with "
                 r"$M = \bar M\otimes\bar M + (\bar B\otimes\bar B)K_{HH}(\bar C\otimes\bar C)$, "
                 r"$b = \bar f\otimes\bar M + \bar M\otimes\bar f + (\bar B\otimes\bar B)(K_{gH} + K_{Hg})\bar C$, "
                 r"$k = (\bar B\otimes\bar B)(\bar g\otimes\bar g + K_{gg})$, where "
                 r"$K_{XY} = \frac cn\sum_i(X_i - \bar X)\otimes(Y_i - \bar Y)$ and $c$ is the variance factor of "
                 r"`sgd-batch-noise`. The vec identities are proved for general $2\times2$ matrices, the "
                 r"expectations by enumerating every batch: symbolic per-sample data and step for SGD in $d = 1$ "
                 r"(both samplings), rational non-commuting Hessians in $d = 2$ for SGD (both samplings), heavy "
                 r"ball (without replacement) and Adam with a frozen diagonal preconditioner (with replacement); "
                 r"the general rule is checked against exact enumeration in `ldyn verify`. Where $\rho(M) < 1$ the "
                 r"moments converge to the unique fixed point "
                 r"$m^* = (I - \bar M)^{-1}\bar f$, $\operatorname{vec}S^* = (I - M)^{-1}(bm^* + k)$."),
        references=REFERENCES)
    zplus = sp.Symbol("z^{+}")
    d.given(zplus, sp.Symbol(r"\hat M z + \hat f"), r"the stochastic closed loop: $u = \hat Hy + \hat g$ at "
            r"$y = \bar Cz$, with $\hat M = \bar A + \bar B\hat H\bar C$, $\hat f = \bar B\hat g$; the batch is drawn "
            r"afresh, independent of $z$")
    X = sp.Matrix(2, 2, sp.symbols("X_{11} X_{21} X_{12} X_{22}", real=True)).T
    S = sp.Matrix(2, 2, sp.symbols("S_{11} S_{21} S_{12} S_{22}", real=True)).T
    Y = sp.Matrix(2, 2, sp.symbols("Y_{11} Y_{21} Y_{12} Y_{22}", real=True)).T
    d.equal(vec(X * S * Y.T), _kron(Y, X) * vec(S), r"the vec identity $\operatorname{vec}(XSY^\top) = (Y\otimes X)"
            r"\operatorname{vec}S$ (general $2\times2$ matrices; entrywise it is the same sum for every size)",
            display=r"\operatorname{vec}(XSY^\top)")
    Mh = sp.Matrix(2, 2, sp.symbols(r"\hat{M}_{11} \hat{M}_{21} \hat{M}_{12} \hat{M}_{22}", real=True)).T
    z = sp.Matrix(sp.symbols("z_1 z_2", real=True))
    fh = sp.Matrix(sp.symbols(r"\hat{f}_1 \hat{f}_2", real=True))
    zp = Mh * z + fh
    d.equal(vec(zp * zp.T), _kron(Mh, Mh) * vec(z * z.T) + (_kron(fh, Mh) + _kron(Mh, fh)) * z + _kron(fh, fh),
            r"square the closed loop and apply the vec identity to each of the four terms "
            r"($\operatorname{vec}(\hat Mzz^\top\hat M^\top)$, $\operatorname{vec}(\hat Mz\hat f^\top) = "
            r"(\hat f\otimes\hat M)z$, ...)", display=r"\operatorname{vec}(z^{+}z^{+\top})")
    d.given(r"\operatorname{vec}S^{+}", r"\mathbb E[\hat M\otimes\hat M]\operatorname{vec}S + \mathbb E[\hat f\otimes"
            r"\hat M + \hat M\otimes\hat f]\,\mathbb Ez + \mathbb E[\hat f\otimes\hat f]",
            r"take expectations: the batch is independent of $z$, so each product of a batch term and a $z$ term has "
            r"the product of their means")
    d.given(r"\mathbb E[\hat x\hat y]", r"\bar x\bar y + c\,\sigma_{xy}",
            r"every entry of these Kronecker products is a product of two batch means; their second moment is the "
            r"product of means plus $c$ times the population covariance (`sgd-batch-noise`), $c = 1/B$ with and "
            r"$\frac{n - B}{B(n - 1)}$ without replacement: the formula for $M$, $b$, $k$")
    for repl in (True, False):
        _lifted_instance(d, "sgd", {"lr": eta}, 1, 3, 2, repl)
    R = sp.Rational
    data = ([sp.Matrix([[2, 1], [1, 1]]), sp.Matrix([[1, 0], [0, 3]]), sp.Matrix([[R(1, 2), -1], [-1, 4]])],
            [sp.Matrix([1, -1]), sp.Matrix([0, 2]), sp.Matrix([R(-1, 2), 0])])
    d.given(r"\begin{pmatrix} H_1 & H_2 & H_3 \end{pmatrix}", sp.Matrix.hstack(*data[0]),
            r"rational per-sample Hessians for the instances in $d = 2$ (they do not commute)")
    d.given(r"\begin{pmatrix} g_1 & g_2 & g_3 \end{pmatrix}", sp.Matrix.hstack(*data[1]), "and offsets")
    for repl in (True, False):
        _lifted_instance(d, "sgd", {"lr": R(1, 5)}, 2, 3, 2, repl, data=data, split=False)
    _lifted_instance(d, "heavy-ball", {"lr": R(1, 5), "momentum": R(1, 2)}, 2, 3, 2, False, data=data, split=False)
    _lifted_instance(d, "adam-frozen", {"lr": R(1, 10), "beta1": R(9, 10), "preconditioner": [1, R(1, 2)]}, 2, 3, 2,
                     True, data=data, split=False)
    # the 1-D specialisation, with the batch-mean moments as symbols (c folded in)
    gbar = sp.Symbol(r"\bar{g}", real=True)
    one = sp.Matrix([[1]])
    Ab, Bb, Cb = closed_loop_blocks("sgd", {"lr": eta}, 1)
    M, b, k, Mbar, f = lifted_operator(Ab, Bb, Cb, a * one, gbar * one, v * one, w * one, w * one, q * one)
    d.equal(M[0], (1 - eta * a) ** 2 + eta**2 * v,
            r"SGD in one coordinate, $\hat a$ with mean $a$ and variance $v = c\,s_a^2$: the Wu-Ma-E growth factor",
            display="M")
    d.equal(b[0], -2 * eta * (1 - eta * a) * gbar + 2 * eta**2 * w,
            r"$\hat g$ with mean $\bar g$, $w = c\operatorname{cov}(a_i, g_i)$", display="b")
    d.equal(k[0], eta**2 * (gbar**2 + q), r"and $q = c\,s_g^2$", display="k")
    mstar = -gbar / a
    Sstar = (b[0] * mstar + k[0]) / (1 - M[0])
    qr = q - 2 * w * gbar / a + v * gbar**2 / a**2
    var1 = eta * qr / (a * (2 - eta * a) - eta * v)
    d.solution(sp.Eq(sp.Symbol("m") , (1 - eta * a) * sp.Symbol("m") - eta * gbar), sp.Symbol("m"), mstar,
               r"the stationary mean is the minimiser $-\bar g/a$")
    d.equal(Sstar - mstar**2, var1,
            r"the stationary variance $S^* - m^{*2}$, $S^* = (bm^* + k)/(1 - M)$: it is the additive-noise formula with "
            r"$q$ replaced by the variance of the batch gradient at the minimiser, $c\operatorname{var}(g_i + a_i "
            r"\theta^*) = q - 2w\bar g/a + v\bar g^2/a^2$, and $a(2 - \eta a)$ reduced by $\eta v$",
            display=r"S^* - m^{*2}")
    d.result("sgd_operator_1d", (1 - eta * a) ** 2 + eta**2 * v, label="M")
    d.result("sgd_cross_1d", -2 * eta * (1 - eta * a) * gbar + 2 * eta**2 * w, label="b")
    d.result("sgd_noise_1d", eta**2 * (gbar**2 + q), label="k")
    d.result("sgd_stationary_variance_1d", var1, label=r"\operatorname{Var}^*\theta")
    return d


# -- heavy ball and frozen Adam in one coordinate: stationary second moments ---------------------------------------------
def _rule_moments(d: Derivation, name: str, values: dict, Mbar_typed: sp.Matrix, delta: sp.Expr, det_factor: sp.Expr,
                  var: sp.Expr, s12: sp.Expr, s22: sp.Expr) -> sp.Matrix:
    """Shared steps: M̄, M, k of the rule at the minimum, det(I − M), the stationary (s11, s12, s22)."""
    one = sp.Matrix([[1]])
    Ab, Bb, Cb = closed_loop_blocks(name, values, 1)
    M, b, k, Mbar, f = lifted_operator(Ab, Bb, Cb, a * one, sp.zeros(1, 1), v * one, w * one, w * one, q * one)
    d.given(r"\begin{pmatrix} A & B & C^\top \end{pmatrix}", Ab.row_join(Bb).row_join(Cb.T),
            rf"the state-space form of `{name}` ($\xi^{{+}} = A\xi + Bu$, $y = C\xi$; proved in "
            rf"`state-space-{name}`)")
    IM = sp.ImmutableMatrix
    d.equal(sp.MatAdd(IM(Ab), sp.MatMul(a, IM(Bb), IM(Cb), evaluate=False), evaluate=False), Mbar_typed,
            r"with the mean gradient $a\theta$: the mean recursion $\mathbb Ez^{+} = \bar M\,\mathbb Ez$",
            display=r"\bar M")
    d.equal(sp.Determinant(IM(sp.eye(2) - Mbar_typed)), sp.factor((sp.eye(2) - Mbar_typed).det()),
            r"$I - \bar M$ is invertible, so the stationary mean is 0 (the minimum)", display=r"\det(I - \bar M)")
    d.equal(M, _kron(Mbar_typed, Mbar_typed) + v * _kron(Bb, Bb) * _kron(Cb, Cb),
            r"the lifted operator on $\operatorname{vec}\mathbb E zz^\top$: $\bar M\otimes\bar M$ plus $v$ times "
            r"$(B\otimes B)(C\otimes C)$, $v = \operatorname{Var}\hat a$", display="M")
    d.equal(k, q * _kron(Bb, Bb), r"the noise enters through $B$: $k = q\,(B\otimes B)$, $q = \operatorname{Var}\hat r$",
            display="k")
    d.equal(sp.Determinant(IM(sp.eye(4) - M)), det_factor * delta,
            r"factored: the fixed point of the second moments is unique iff $\Delta \ne 0$", display=r"\det(I - M)")
    s = sp.symbols("s_{11} s_{12} s_{22}", real=True)
    sv = sp.Matrix([s[0], s[1], s[1], s[2]])
    d.solution(list(sv - M * sv - k), s, (var, s12, s22),
               r"at stationarity ($\mathbb Ez = 0$, so $b$ drops out) $\operatorname{vec}S = M\operatorname{vec}S + k$ "
               r"with $S$ symmetric: this is its solution (the only one where $\Delta \ne 0$)")
    num, den = sp.fraction(sp.together(var))
    d.equal(var, sp.expand(num) / sp.expand(den), r"the stationary $\mathbb E\theta^2 = s_{11}$, denominator "
            r"multiplied out", display=r"\mathbb E\theta^2")
    return M


def heavy_ball_sgd_moments() -> Derivation:
    """Heavy ball x⁺ = x − η(âx + r̂) + β(x − x₋): the exact stationary second moments."""
    Mt = sp.Matrix([[1 - eta * a, beta], [-eta * a, beta]])
    delta, var = HEAVY_BALL_DELTA, HEAVY_BALL_STATIONARY_VARIANCE
    d = Derivation(
        "heavy-ball-sgd-moments", "Heavy ball with minibatch noise: exact stationary second moments",
        summary=(r"Heavy ball $\theta^{+} = \theta + u^{+}$, $u^{+} = \beta u - \eta\hat\nabla$ (velocity $u$), near a "
                 r"minimum in one "
                 r"coordinate: the batch gradient is $\hat a\theta + \hat r$ with $\mathbb E\hat a = a$, "
                 r"$\operatorname{Var}\hat a = v$, $\mathbb E\hat r = 0$, $\operatorname{Var}\hat r = q$ "
                 r"($v = c\,s_a^2$, $q = c\,s_r^2$, $c$ from `sgd-batch-noise`). The Kronecker-lifted recursion "
                 r"(`sgd-second-moment-lifted`) on $(\theta, u)$ has the unique stationary point "
                 r"$\mathbb E\theta^2 = \frac{\eta q(1 + \beta)}{(1 - \beta)a(2(1 + \beta) - \eta a) - \eta(1 + "
                 r"\beta)v}$ wherever $\Delta \ne 0$; it is the limit of the moments exactly when the lifted operator "
                 r"has spectral radius below 1 (`heavy-ball-sgd-mean-square`), checked numerically in `ldyn verify`. "
                 r"$\beta = 0$ gives SGD's $\eta q/(a(2 - \eta a) - \eta v)$ and, with $v = 0$, "
                 r"`sgd-stationary-noise`."),
        references=REFERENCES[:3] + ["B. T. Polyak, Some methods of speeding up the convergence of iteration methods, "
                                     "USSR Comput. Math. Math. Phys. 4(5) (1964)"])
    d.given(sp.Symbol(r"\hat\nabla"), sp.Symbol(r"\hat a\theta + \hat r"),
            r"the batch gradient near the minimum $\theta^* = 0$: mean $a\theta$, with $\operatorname{Var}\hat a = v$, "
            r"$\operatorname{Var}\hat r = q$; a fresh batch each step")
    _rule_moments(d, "heavy-ball", {"lr": eta, "momentum": beta}, Mt, delta, eta * (1 - beta), var,
                  a * eta**2 * q / delta, 2 * a * eta**2 * q / delta)
    x = sp.Symbol("x", positive=True)
    K = (1 - beta) * a**2 + (1 + beta) * v
    d.equal(delta, K * (HEAVY_BALL_ETA_CRITICAL - eta),
            r"$\Delta$ is linear in $\eta$ and vanishes at the mean-square critical step "
            r"$\eta_c = \frac{2a(1 - \beta^2)}{(1 - \beta)a^2 + (1 + \beta)v}$ (`heavy-ball-sgd-mean-square`): the "
            r"stationary variance is positive for $\eta < \eta_c$ and blows up as $\eta \to \eta_c$",
            display=r"\Delta")
    d.equal(var.subs(beta, 0), eta * q / (a * (2 - eta * a) - eta * v),
            r"$\beta = 0$: SGD with multiplicative noise $v$ and additive noise $q$", display=r"\mathbb E\theta^2|_{\beta=0}")
    d.equal(var.subs({beta: 0, v: 0, q: sigma**2 / B}), eta * sigma**2 / (B * a * (2 - eta * a)),
            r"and with $v = 0$, $q = \sigma^2/B$: `sgd-stationary-noise`", display=r"\mathbb E\theta^2|_{\beta=0, v=0}")
    d.equal(delta.subs(v, 0) / ((1 - beta) * a), 2 * (1 + beta) - eta * a,
            r"with $v = 0$ (additive noise only), $\Delta$ is positive iff $\eta a < 2(1 + \beta)$, heavy ball's "
            r"deterministic threshold", display=r"\frac{\Delta|_{v=0}}{(1-\beta)a}")
    d.equivalent(sp.Gt(2 * (1 + beta) - x, 0), x, sp.Interval.open(0, 2 * (1 + beta)),
                 r"in $x = \eta a > 0$")
    d.equal(sp.Mul(a / 2, var, evaluate=False), eta * a * q * (1 + beta) / (2 * delta),
            r"the stationary excess loss $\frac a2\mathbb E\theta^2$", display=r"\mathbb EL - L^*")
    d.result("stationary_variance", var, label=r"\mathbb E\theta^2")
    d.result("stationary_excess_loss", eta * a * q * (1 + beta) / (2 * delta), label=r"\mathbb EL - L^*")
    return d


def adam_frozen_sgd_moments() -> Derivation:
    """Adam with a frozen preconditioner p and minibatch noise: the exact stationary second moments."""
    Mt = sp.Matrix([[1 - eta * p * a * (1 - beta1), -eta * p * beta1], [(1 - beta1) * a, beta1]])
    delta, var = ADAM_FROZEN_DELTA, ADAM_FROZEN_STATIONARY_VARIANCE
    d = Derivation(
        "adam-frozen-sgd-moments", "Adam with a frozen preconditioner and minibatch noise: exact stationary moments",
        summary=(r"Late in training with $p = 1/(\sqrt{\hat v} + \epsilon)$ frozen, Adam is "
                 r"$m^{+} = \beta_1m + (1 - \beta_1)\hat\nabla$, $\theta^{+} = \theta - \eta p\,m^{+}$. With the batch "
                 r"gradient $\hat a\theta + \hat r$ ($\operatorname{Var}\hat a = v$, $\operatorname{Var}\hat r = q$), "
                 r"the Kronecker-lifted recursion on $(\theta, m)$ has the unique stationary point "
                 r"$\mathbb E\theta^2 = \frac{\eta pq(1 + \beta_1)}{a(2(1 + \beta_1) - \eta pa(1 - \beta_1)) - "
                 r"\eta p(1 + \beta_1)v}$ wherever $\Delta \ne 0$; it is the limit when the lifted operator's spectral "
                 r"radius is below 1 (checked numerically in `ldyn verify`). $\beta_1 = 0$ is SGD with step "
                 r"$\eta p$; with $v = 0$ the denominator vanishes at the preconditioned threshold "
                 r"$\eta pa = 2(1 + \beta_1)/(1 - \beta_1)$ of `adam-frozen-preconditioner`."),
        references=REFERENCES[:3] + ["D. P. Kingma, J. Ba, Adam: a method for stochastic optimization, ICLR 2015",
                                     "J. M. Cohen et al., Adaptive gradient methods at the edge of stability, "
                                     "arXiv:2207.14484 (2022)"])
    d.given(sp.Symbol(r"\hat\nabla"), sp.Symbol(r"\hat a\theta + \hat r"),
            r"the batch gradient near the minimum $\theta^* = 0$: mean $a\theta$, with $\operatorname{Var}\hat a = v$, "
            r"$\operatorname{Var}\hat r = q$; a fresh batch each step")
    _rule_moments(d, "adam-frozen", {"lr": eta, "beta1": beta1, "preconditioner": p}, Mt, delta,
                  eta * p * (1 - beta1) ** 3, var, -a * eta * p * q * (1 - beta1) / delta,
                  2 * a * q * (1 - beta1) / delta)
    x = sp.Symbol("x", positive=True)
    d.equal(var.subs(beta1, 0), (eta * p) * q / (a * (2 - (eta * p) * a) - (eta * p) * v),
            r"$\beta_1 = 0$: SGD with step $\eta p$ (RMSProp with a frozen preconditioner)",
            display=r"\mathbb E\theta^2|_{\beta_1=0}")
    d.equal(delta.subs(v, 0) / (a * (1 - beta1)), 2 * (1 + beta1) / (1 - beta1) - eta * p * a,
            r"with $v = 0$, $\Delta > 0$ iff $\eta pa$ is below the preconditioned threshold",
            display=r"\frac{\Delta|_{v=0}}{a(1-\beta_1)}")
    dl = sp.Symbol("delta", positive=True)
    d.given(dl, 1 - beta1, r"write $\delta = 1 - \beta_1 > 0$ ($0 < \beta_1 < 1$)")
    d.equivalent(sp.Gt(2 * (2 - dl) / dl - x, 0), x, sp.Interval.open(0, 2 * (2 - dl) / dl),
                 r"in $x = \eta pa > 0$: below $2(1 + \beta_1)/(1 - \beta_1) = 2(2 - \delta)/\delta$")
    d.equal(sp.Mul(a / 2, var, evaluate=False), eta * p * a * q * (1 + beta1) / (2 * delta),
            r"the stationary excess loss $\frac a2\mathbb E\theta^2$", display=r"\mathbb EL - L^*")
    d.result("stationary_variance", var, label=r"\mathbb E\theta^2")
    d.result("stationary_excess_loss", eta * p * a * q * (1 + beta1) / (2 * delta), label=r"\mathbb EL - L^*")
    return d
