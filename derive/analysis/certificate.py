"""Lyapunov certificates of a linear rate over S(m, L), checked exactly.

Lessard, Recht & Packard (2016, SIAM J. Optim. 26(1); "LRP"): the rule ξ⁺ = Aξ + Bu, y = Cξ + Du,
u = ∇f(y) (:mod:`derive.analysis.state_space`) with f in S(m, L) (L-smooth, m-strongly convex) satisfies
integral quadratic constraints on the shifted signals (y − y*, u − u*), in one coordinate (LRP §4.2):

* sector (pointwise): z = [L y − u; u − m y], M = [[0, 1], [1, 0]], zᵀMz = 2(Ly − u)(u − my) ≥ 0;
* ρ-weighted off-by-one (LRP Lemma 10, 0 ≤ ρ ≤ 1): one filter state ζ⁺ = −L y + u,
  z = [ρ²ζ + L y − u; u − m y], M = [[0, 1], [1, 0]], Σₜ ρ^(−2t) zₜᵀMzₜ ≥ 0 for every horizon (ζ₀ = 0).

With the filters stacked onto the rule (state (ξ, ζ): Â = [[A, 0], [B_ψy C, A_ψ]], B̂ = [[B], [B_ψu + B_ψy D]],
Ĉⱼ = [D_ψy C, C_ψ], D̂ⱼ = D_ψu + D_ψy D per block), LRP Theorem 4: if P ≻ 0 and λⱼ ≥ 0 with

    [[ÂᵀPÂ − ρ²P, ÂᵀPB̂], [B̂ᵀPÂ, B̂ᵀPB̂]] + Σⱼ λⱼ [Ĉⱼ, D̂ⱼ]ᵀ Mⱼ [Ĉⱼ, D̂ⱼ] ⪯ 0,

then ‖ξₖ − ξ*‖ ≤ √cond(P) ρᵏ ‖ξ₀ − ξ*‖.  :func:`check_certificate` decides the three conditions in exact
rational arithmetic through an LDLᵀ factorisation (:func:`ldl`), so a rate it accepts is a theorem.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.analysis.state_space import StateSpace, exact
from derive.derivation import Derivation

IQCS = ("sector", "off-by-one")

_MIQC = sp.Matrix([[0, 1], [1, 0]])


@dataclass(frozen=True)
class IQCBlock:
    """One IQC block acting on one input: z = Ĉ(ξ, ζ) + D̂u, constraint zᵀMz ≥ 0 (summed, ρ-weighted)."""

    name: str            # "sector(u1)", "off-by-one(u1)"
    Chat: sp.Matrix      # 2 x (n + nz)
    Dhat: sp.Matrix      # 2 x p
    M: sp.Matrix         # 2 x 2


@dataclass(frozen=True)
class LMI:
    """The Lyapunov LMI of LRP Theorem 4 for one rule, class S(mu, L), rate rho and IQC choice."""

    ss: StateSpace
    mu: sp.Expr
    L: sp.Expr
    rho: sp.Expr
    iqc: str
    Ahat: sp.Matrix
    Bhat: sp.Matrix
    blocks: tuple[IQCBlock, ...]

    def size(self) -> tuple[int, int]:
        """(n + nz, p): P is (n + nz) square, the LMI (n + nz + p) square."""
        return self.Ahat.shape[0], self.Bhat.shape[1]

    def matrix(self, P: Any, multipliers: Any) -> sp.Matrix:
        """[[ÂᵀPÂ − ρ²P, ÂᵀPB̂], [B̂ᵀPÂ, B̂ᵀPB̂]] + Σⱼ λⱼ [Ĉⱼ, D̂ⱼ]ᵀMⱼ[Ĉⱼ, D̂ⱼ] (a certificate iff ⪯ 0)."""
        P = _matrix(P, "P") if not isinstance(P, sp.MatrixBase) else sp.Matrix(P)
        lams = list(multipliers)
        N, p = self.size()
        if P.shape != (N, N):
            raise ValueError(f"P must be {N}x{N} for this LMI, got {P.shape[0]}x{P.shape[1]}")
        if len(lams) != len(self.blocks):
            raise ValueError(f"give {len(self.blocks)} multipliers ({', '.join(b.name for b in self.blocks)}), "
                             f"got {len(lams)}")
        lams = [_number(v, "multiplier") if not isinstance(v, sp.Basic) else v for v in lams]
        AB = self.Ahat.row_join(self.Bhat)
        E = sp.eye(N).row_join(sp.zeros(N, p))
        out = AB.T * P * AB - self.rho**2 * (E.T * P * E)
        for lam, blk in zip(lams, self.blocks):
            G = blk.Chat.row_join(blk.Dhat)
            out += lam * (G.T * blk.M * G)
        return out.applyfunc(sp.expand)


def _number(v: Any, name: str) -> sp.Expr:
    e = exact(v, name)
    if not isinstance(e, sp.Basic):
        raise ValueError(f"{name}: expected a number")
    return e


def _matrix(P: Any, name: str) -> sp.Matrix:
    """Nested lists / a Matrix / a NumPy array of numbers as an exact SymPy Matrix."""
    if hasattr(P, "tolist") and not isinstance(P, sp.MatrixBase):
        P = P.tolist()
    if isinstance(P, sp.MatrixBase):
        return P.applyfunc(lambda v: exact(v, name))
    if isinstance(P, (int, float)) or isinstance(P, sp.Basic):
        return sp.Matrix([[exact(P, name)]])
    try:
        rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in P]
    except TypeError:
        raise ValueError(f"{name}: expected a square matrix (nested lists)") from None
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{name}: expected a square matrix (nested lists of equal length)")
    return sp.Matrix([[exact(v, name) for v in r] for r in rows])


def _is_true(rel) -> bool:
    return bool(rel) if rel in (sp.true, sp.false) or isinstance(rel, bool) else False


def lmi(ss: StateSpace, mu: Any, L: Any, rho: Any, iqc: str = "off-by-one") -> LMI:
    """The LMI for ``ss`` (matrices without free symbols, or symbolic for derivations), f in S(mu, L),
    rate ``rho``.  ``iqc``: "sector" (one block per input) or "off-by-one" (a sector and an off-by-one block
    per input).  Refused (one line): unknown iqc, mu <= 0, mu >= L, rho <= 0, rho > 1 with off-by-one."""
    if iqc not in IQCS:
        raise ValueError(f"unknown IQC {iqc!r}; choose one of {', '.join(IQCS)}")
    mu, L, rho = (exact(v, k) for v, k in ((mu, "mu"), (L, "L"), (rho, "rho")))
    if _is_true(sp.Le(mu, 0)) if mu.is_number else mu.is_nonpositive:
        raise ValueError(f"mu must be > 0 (strongly convex), got {mu}")
    if _is_true(sp.Ge(mu, L)) if (mu - L).is_number else (mu - L).is_nonnegative:
        raise ValueError(f"mu must be < L, got mu = {mu}, L = {L}")
    if _is_true(sp.Le(rho, 0)) if rho.is_number else rho.is_nonpositive:
        raise ValueError(f"rho must be > 0, got {rho}")
    if iqc == "off-by-one" and (_is_true(sp.Gt(rho, 1)) if rho.is_number else (rho - 1).is_positive):
        raise ValueError(f"the off-by-one IQC holds for rho <= 1 only (LRP Lemma 10), got rho = {rho}")
    A, B, C, D = ss.A, ss.B, ss.C, ss.D
    n, p = A.shape[0], B.shape[1]
    nz = p if iqc == "off-by-one" else 0
    # filter: zeta_i+ = -L y_i + u_i  (A_psi = 0, B_psi_y = -L e_i e_i^T, B_psi_u = e_i e_i^T)
    Bpy, Bpu = -L * sp.eye(nz, p) if nz else sp.zeros(0, p), sp.eye(nz, p) if nz else sp.zeros(0, p)
    Ahat = sp.diag(A, sp.zeros(nz, nz)) if nz else sp.Matrix(A)
    if nz:
        Ahat[n:, :n] = Bpy * C
    Bhat = B.col_join(Bpu + Bpy * D) if nz else sp.Matrix(B)
    blocks = []
    for i in range(p):
        e = sp.zeros(1, p)
        e[0, i] = 1
        Dpy = sp.Matrix([[L], [-mu]])           # z's dependence on y_i
        Dpu = sp.Matrix([[-1], [1]]) * e        # and on u_i
        Cy = Dpy * C[i, :]                      # 2 x n
        Dhat = (Dpy * D[i, :] + Dpu).applyfunc(sp.expand)
        tag = f"u{i + 1}" if p > 1 else "u"
        blocks.append(IQCBlock(f"sector({tag})", Cy.row_join(sp.zeros(2, nz)).applyfunc(sp.expand), Dhat, _MIQC))
        if nz:
            Cz = sp.zeros(2, nz)
            Cz[0, i] = rho**2
            blocks.append(IQCBlock(f"off-by-one({tag})", Cy.row_join(Cz).applyfunc(sp.expand), Dhat, _MIQC))
    return LMI(ss, mu, L, rho, iqc, Ahat.applyfunc(sp.expand), Bhat.applyfunc(sp.expand), tuple(blocks))


class NotSemidefinite(ValueError):
    """:func:`ldl` met a zero pivot whose column below is not zero: the matrix is not positive semidefinite."""

    def __init__(self, index: int, other: int, pivots: tuple):
        super().__init__(f"zero pivot {index + 1} with a nonzero entry in row {other + 1} below it: not semidefinite")
        self.index, self.other, self.pivots = index, other, pivots


def ldl(M: sp.Matrix) -> tuple[sp.Matrix, tuple]:
    """M = Lw·diag(pivots)·Lwᵀ by symmetric Gaussian elimination in the given order (no reordering), exact.

    A nonzero pivot (also a negative one) is eliminated as usual, so the factorisation exists and M is PSD
    iff every pivot is >= 0 (PD iff > 0: Sylvester's law of inertia).  A zero pivot with a zero column
    below it is skipped (pivot 0); with a nonzero entry below it M is not PSD (a principal 2x2 minor of the
    Schur complement is -x² < 0) and :class:`NotSemidefinite` is raised."""
    M = sp.Matrix(M)
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"ldl needs a square matrix, got {M.shape[0]}x{M.shape[1]}")
    if M != M.T:
        raise ValueError("ldl needs a symmetric matrix")
    n = M.shape[0]
    S = M.copy()
    Lw = sp.eye(n)
    piv = []
    for k in range(n):
        d = S[k, k]
        if d == 0:
            nz = next((j for j in range(k + 1, n) if S[j, k] != 0), None)
            if nz is not None:
                raise NotSemidefinite(k, nz, tuple(piv) + (sp.S.Zero,))
            piv.append(sp.S.Zero)
            continue
        piv.append(d)
        for j in range(k + 1, n):
            Lw[j, k] = S[j, k] / d
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                S[i, j] = S[i, j] - S[i, k] * S[k, j] / d
    return Lw, tuple(piv)


@dataclass(frozen=True)
class CertificateCheck:
    """The exact verdict on (P, multipliers) for an LMI."""

    ok: bool
    reason: str                         # one line
    P_pivots: tuple                     # exact LDLᵀ pivots of P (all > 0 iff P ≻ 0)
    lmi_pivots: tuple                   # exact LDLᵀ pivots of −LMI (all >= 0 iff LMI ⪯ 0)
    prose: str = ""                     # the same verdict in the prose markup ($math$), for a page's summary


def _require_exact(M: sp.Matrix, what: str) -> None:
    if any(not (v.is_Rational) for v in M):
        bad = next(v for v in M if not v.is_Rational)
        raise ValueError(f"{what} must be rational for an exact check, got {bad}")


def check_certificate(lmi_: LMI, P: Any, multipliers: Any, rho: Any = None) -> CertificateCheck:
    """Decide exactly (Rationals only) whether P ≻ 0, multipliers >= 0 and the LMI ⪯ 0 (at ``rho`` if given:
    the LMI is rebuilt there).  Non-symmetric or mis-sized P, a wrong number of multipliers, non-rational
    data: ValueError (one line)."""
    if rho is not None:
        lmi_ = lmi(lmi_.ss, lmi_.mu, lmi_.L, rho, lmi_.iqc)
    P = _matrix(P, "P")
    N, _ = lmi_.size()
    if P.shape != (N, N):
        raise ValueError(f"P must be {N}x{N} (state and IQC filter states), got {P.shape[0]}x{P.shape[1]}")
    if P != P.T:
        raise ValueError("P must be symmetric")
    lams = [exact(v, "multiplier") for v in (multipliers if isinstance(multipliers, (list, tuple)) else
                                              list(multipliers))]
    if len(lams) != len(lmi_.blocks):
        raise ValueError(f"give {len(lmi_.blocks)} multipliers ({', '.join(b.name for b in lmi_.blocks)}), "
                         f"got {len(lams)}")
    _require_exact(P, "P")
    _require_exact(sp.Matrix(lams), "multipliers")
    blocks = [(M, f"the IQC block {b.name}") for b in lmi_.blocks for M in (b.Chat, b.Dhat, b.M)]
    for M, what in ((lmi_.Ahat, "the state-space matrices"), (lmi_.Bhat, "the state-space matrices"),
                    (lmi_.ss.C, "the state-space matrices"), (lmi_.ss.D, "the state-space matrices"), *blocks,
                    (sp.Matrix([lmi_.mu, lmi_.L, lmi_.rho**2]), "mu, L and rho^2")):
        _require_exact(M, what)
    try:
        _, ppiv = ldl(P)
    except NotSemidefinite as e:
        return CertificateCheck(False, f"P is not positive definite: {e}", e.pivots, (),
                                "$P$ is not positive definite: " + _zero_pivot(e, "P"))
    bad = next((k for k, d in enumerate(ppiv) if not d > 0), None)
    if bad is not None:
        return CertificateCheck(False, f"P is not positive definite: pivot {bad + 1} is {ppiv[bad]}", ppiv, (),
                                f"$P$ is not positive definite: ${_pivot_tex('P', bad)} = {sp.latex(ppiv[bad])}$")
    neg = next((k for k, v in enumerate(lams) if v < 0), None)
    if neg is not None:
        return CertificateCheck(False, f"multiplier {neg + 1} ({lmi_.blocks[neg].name}) is {lams[neg]} < 0",
                                ppiv, (),
                                f"the IQC weight ${_weight_tex(lmi_.blocks[neg].name)} = {sp.latex(lams[neg])}$ is "
                                "negative")
    M = -lmi_.matrix(P, lams)
    try:
        _, mpiv = ldl(M)
    except NotSemidefinite as e:
        return CertificateCheck(False, f"the LMI is not negative semidefinite at rho = {lmi_.rho}: {e}", ppiv,
                                e.pivots, f"the LMI is not negative semidefinite at $\\rho = {sp.latex(lmi_.rho)}$: "
                                + _zero_pivot(e, _NEG_LMI))
    bad = next((k for k, d in enumerate(mpiv) if d < 0), None)
    if bad is not None:
        return CertificateCheck(False, f"the LMI is not negative semidefinite at rho = {lmi_.rho}: pivot {bad + 1} "
                                f"of -LMI is {mpiv[bad]} < 0", ppiv, mpiv,
                                f"the LMI is not negative semidefinite at $\\rho = {sp.latex(lmi_.rho)}$: "
                                f"${_pivot_tex(_NEG_LMI, bad)} = {sp.latex(mpiv[bad])} < 0$")
    return CertificateCheck(True, f"P > 0 ({N} positive pivots), multipliers >= 0, LMI <= 0 ({len(mpiv)} pivots "
                            f">= 0) at rho = {lmi_.rho}: exact", ppiv, mpiv,
                            f"$P \\succ 0$ ({_entries(N)} of its $LDL^T$ diagonal positive), every IQC weight "
                            f"$\\lambda_j \\ge 0$ and $\\mathcal{{L}} \\preceq 0$ ({_entries(len(mpiv))} of the "
                            f"diagonal of $-\\mathcal{{L}}$ nonnegative) at $\\rho = {sp.latex(lmi_.rho)}$, exactly")


def _entries(n: int) -> str:
    """For prose: ``the one entry`` or ``all 3 entries``."""
    return "the one entry" if n == 1 else f"all {n} entries"


#: the LaTeX name of the negated LMI, whose pivots are checked
_NEG_LMI = r"-\mathcal{L}"


def _pivot_tex(tex: str, k: int) -> str:
    """The LaTeX name of pivot ``k`` (0-based) of the matrix named ``tex``: ``d^{(P)}_{1}``."""
    return f"d^{{({tex})}}_{{{k + 1}}}"


def _zero_pivot(e: "NotSemidefinite", tex: str) -> str:
    """A :class:`NotSemidefinite` in the prose markup."""
    return (f"${_pivot_tex(tex, e.index)} = 0$ with a nonzero entry in row {e.other + 1} below it, so the matrix is "
            "not semidefinite")


def _block_tex(name: str) -> str:
    """An IQC block's name in LaTeX, upright: ``sector(u1)`` -> ``\\mathrm{sector}(u_{1})``."""
    kind, _, arg = name.partition("(")
    arg = arg.rstrip(")")
    arg = f"u_{{{arg[1:]}}}" if arg[1:].isdigit() else arg
    head = r"\mathrm{sector}" if kind == "sector" else r"\text{" + kind + "}"
    return f"{head}({arg})"


def _weight_tex(name: str) -> str:
    """The multiplier of an IQC block in LaTeX: ``\\lambda_{\\mathrm{sector}(u)}``."""
    return f"\\lambda_{{{_block_tex(name)}}}"


# -- derivations ---------------------------------------------------------------------------
_LRP = ("L. Lessard, B. Recht and A. Packard, Analysis and design of optimization algorithms via integral "
        "quadratic constraints, SIAM J. Optim. 26(1) (2016)")


def _quadratic_form_matrix(l: LMI, P: sp.Matrix, lams: list) -> sp.Matrix:
    """The LMI recomputed independently: half the Hessian of V(Âx + B̂u) − ρ²V(x) + Σ λⱼ zⱼᵀMⱼzⱼ in (x, u)."""
    N, p = l.size()
    x = sp.Matrix(sp.symbols(f"x_1:{N + 1}", real=True)) if N else sp.zeros(0, 1)
    u = sp.Matrix(sp.symbols(f"w_1:{p + 1}", real=True)) if p else sp.zeros(0, 1)
    nxt = l.Ahat * x + l.Bhat * u
    q = (nxt.T * P * nxt)[0, 0] - l.rho**2 * (x.T * P * x)[0, 0]
    for lam, blk in zip(lams, l.blocks):
        z = blk.Chat * x + blk.Dhat * u
        q += lam * (z.T * blk.M * z)[0, 0]
    return (sp.hessian(sp.expand(q), list(x) + list(u)) / 2).applyfunc(sp.expand)


def _pivot_steps(d: Derivation, M: sp.Matrix, tex: str, strict: bool) -> bool:
    """Append "M = Lw diag(d) Lwᵀ" and one step per pivot (> 0 if ``strict``, else > 0 or = 0 with a zero
    column); a failing pivot is appended as the failing claim it is.  Returns whether all passed."""
    try:
        Lw, piv = ldl(M)
    except NotSemidefinite as e:
        k, j = e.index, e.other
        idx = list(range(k + 1)) + [j]
        d.positive(M.extract(idx, idx).det(), f"${tex}$: ${_pivot_tex(tex, k)} = 0$ but row {j + 1} below it is "
                   r"not zero, so this principal minor would have to be $\ge 0$ for a semidefinite matrix (it is not)",
                   display=f"\\det\\left({tex}\\right)_{{[{','.join(str(i + 1) for i in idx)}]}}")
        return False
    d.equal(M, sp.MatMul(sp.ImmutableMatrix(Lw), sp.ImmutableMatrix(sp.diag(*piv)), sp.ImmutableMatrix(Lw.T),
                         evaluate=False),
            f"exact symmetric elimination of ${tex}$ " + r"($LDL^T$, no reordering); by Sylvester's law of inertia "
            r"its signature is that of the diagonal entries $d_k$", display=tex)
    ok = True
    for k, v in enumerate(piv):
        if v == 0 and not strict:
            d.equal(v, 0, f"entry {k + 1} of the diagonal of ${tex}$ is 0 and so is its column below it (allowed "
                    "in a semidefinite matrix)", display=_pivot_tex(tex, k))
        else:
            d.positive(v, f"entry {k + 1} of the exact diagonal of ${tex}$: "
                       + (r"$P \succ 0$ needs every entry positive" if strict else
                          f"a nonzero entry has to be positive for ${tex} \\succeq 0$"), display=_pivot_tex(tex, k))
            ok = ok and v > 0
    return ok


def certificate_derivation(rule_name: str, values: dict, mu: Any, L: Any, iqc: str, rho: Any, P: Any,
                           multipliers: Any) -> Derivation:
    """The certificate as a page: the state-space form (checked), the LMI at these numbers (checked against
    an independent computation), P = Lw diag(d) Lwᵀ with every pivot > 0, −LMI = Lw diag(d) Lwᵀ with every
    pivot >= 0, the multipliers >= 0, and the result "rate" = rho (only when everything passed).  A failing
    certificate appears as failing steps.  ``values``: hyperparameters by protocol name (the rule's defaults
    for the rest)."""
    from derive.analysis.state_space import state_space, state_space_derivation
    from derive.rules.library import resolve

    rule = resolve(rule_name)
    ss = state_space(rule).at(values, defaults=True)
    l = lmi(ss, mu, L, rho, iqc)
    P = _matrix(P, "P")
    lams = [exact(v, "multiplier") for v in multipliers]
    check = check_certificate(l, P, lams)  # refuses bad shapes / non-symmetric P before any page is built
    d = Derivation(f"certificate-{rule.name}", f"{ss.rule.title}: a certified rate over S(mu, L)",
                   summary=(f"Lyapunov certificate (LRP Theorem 4) with the {iqc} IQC for "
                            f"$f \\in S({sp.latex(l.mu)}, {sp.latex(l.L)})$: {check.prose}."),
                   references=[_LRP])
    named = {s: v for s, v in ss.values}
    sd = state_space_derivation(rule, {k: named[s] for k, s in rule.hyper.items() if s in named})
    d.steps.extend(sd.steps)
    d.given(sp.Symbol("f"), sp.Symbol(f"S({l.mu},{l.L})"),
            r"$f$ is $L$-smooth and $\mu$-strongly convex, " + f"$\\mu = {sp.latex(l.mu)}$, $L = {sp.latex(l.L)}$; "
            f"the {iqc} IQC"
            + (r" (sector and $\rho$-weighted off-by-one, LRP Lemma 10, $\rho \le 1$)" if iqc == "off-by-one" else "")
            + r" holds for the shifted signals $(y - y^*, u - u^*)$", relation="in")
    d.equal(l.matrix(P, lams), _quadratic_form_matrix(l, P, lams),
            r"the LMI is the matrix of the quadratic form $V(\hat A x + \hat B w) - \rho^2 V(x) + \sum_j \lambda_j "
            r"z_j^T M_j z_j$ in $(x, w)$, with $V(x) = x^T P x$ and the IQC outputs $z_j$: recomputed independently "
            "as half its Hessian",
            display=r"\mathcal{L}(P, \lambda)")
    ok = _pivot_steps(d, P, "P", strict=True)
    for blk, lam in zip(l.blocks, lams):
        if lam == 0:
            d.equal(lam, 0, f"the IQC block ${_block_tex(blk.name)}$ is not used: its weight is 0",
                    display=_weight_tex(blk.name))
        else:
            d.positive(lam, f"the weight of the IQC block ${_block_tex(blk.name)}$ is not 0, and LRP Theorem 4 "
                       "needs it nonnegative", display=_weight_tex(blk.name))
            ok = ok and lam > 0
    ok = _pivot_steps(d, -l.matrix(P, lams), _NEG_LMI, strict=False) and ok
    if ok and check.ok:
        rate = sp.Symbol("rate", positive=True)
        d.given(rate, l.rho, r"LRP Theorem 4: $P \succ 0$, $\lambda \ge 0$ and $\mathcal{L} \preceq 0$ give "
                r"$\|\xi_k - \xi^*\| \le \sqrt{\operatorname{cond} P}\,\rho^k \|\xi_0 - \xi^*\|$ for every "
                r"$f \in S(\mu, L)$ (all three checked above, exactly)")
        d.result("rate", l.rho, label=r"\rho")
    return d


def gd_certificate() -> Derivation:
    """GD with the sector IQC, symbolic in alpha and m < L: with P = 1 the LMI is a 2x2 matrix in the
    multiplier lambda, <= 0 for some lambda >= 0 iff rho >= max(|1 - alpha m|, |1 - alpha L|) (LRP §4.4).
    Necessity from the quadratics f = h y²/2 (h = m, L), sufficiency from an explicit lambda at the
    threshold (a rank-one negative semidefinite LMI) and monotonicity in rho."""
    from derive.analysis.state_space import state_space, state_space_derivation
    from derive.rules.library import resolve

    rule = resolve("gd")
    alpha = rule.hyper["lr"]
    m, L = sp.symbols("m L", positive=True)
    rho, lam = sp.symbols("rho lambda", positive=True)
    s, dl = sp.symbols("s delta", positive=True)
    ss = state_space(rule).at({"weight_decay": 0}, partial=True)
    l = lmi(ss, m, L, rho, "sector")
    d = Derivation("certificate-gd", "Gradient descent: the sector-IQC certificate and its threshold",
                   summary=("For GD $\\theta^+ = \\theta - \\eta g(\\theta)$ and $f \\in S(m, L)$ the sector LMI "
                            "with $P = 1$ is feasible for some $\\lambda \\ge 0$ iff "
                            "$\\rho \\ge \\max(|1 - \\eta m|, |1 - \\eta L|)$; at the threshold "
                            "$\\lambda = \\eta(1 - \\eta m)/(L - m)$ for $\\eta \\le 2/(L + m)$ and "
                            "$\\lambda = \\eta(\\eta L - 1)/(L - m)$ above."),
                   references=[_LRP])
    d.steps.extend(state_space_derivation(rule, {"weight_decay": 0}, partial=True).steps)
    Mx = sp.Matrix([[1 - rho**2 - 2 * lam * L * m, lam * (L + m) - alpha],
                    [lam * (L + m) - alpha, alpha**2 - 2 * lam]])
    d.equal(l.matrix(sp.Matrix([[1]]), [lam]), Mx, r"the sector LMI with $P = 1$: it is homogeneous in $(P, \lambda)$, "
            r"so any $P > 0$ scales to 1", display=r"\mathcal{L}(\lambda)")
    for h, name in ((m, "m"), (L, "L")):
        v = sp.Matrix([1, h])
        d.equal((v.T * Mx * v)[0, 0], (1 - alpha * h) ** 2 - rho**2,
                f"necessity: on $f = {name} y^2/2$ (in $S(m, L)$) the gradient $u = {name} y$ makes the sector term "
                f"vanish, so " + r"$\mathcal{L} \preceq 0$ forces " + f"$\\rho^2 \\ge (1 - \\eta {name})^2$ "
                r"whatever $\lambda$",
                display=f"(1, {name})\\,\\mathcal{{L}}(\\lambda)\\,(1, {name})^T")
    c2, c1, c0 = sp.Poly(sp.expand(Mx.det()), lam).all_coeffs()
    d.equal(Mx.det(), c2 * lam**2 + c1 * lam + c0, r"the determinant is a quadratic in $\lambda$ with leading "
            r"coefficient $-(L - m)^2 < 0$ (concave)", display=r"\det\mathcal{L}(\lambda)")
    d.equal(c1**2 - 4 * c2 * c0, 4 * (rho**2 - (1 - alpha * m) ** 2) * (rho**2 - (1 - alpha * L) ** 2),
            r"its discriminant factors, and vanishes exactly at $\rho = |1 - \eta m|$ and $\rho = |1 - \eta L|$",
            display=r"\operatorname{disc}_\lambda")
    lams = {}
    for case, (rstar, lstar, w, sub, what) in enumerate((
            (1 - alpha * m, alpha * (1 - alpha * m) / (L - m), sp.Matrix([m, -1]), 2 / ((1 + s) * (2 * m + dl)),
             r"$\eta < 2/(L + m)$, written $\eta = 2/((1 + s)(L + m))$ with $s > 0$"),
            (alpha * L - 1, alpha * (alpha * L - 1) / (L - m), sp.Matrix([L, -1]), 2 * (1 + s) / (2 * m + dl),
             r"$\eta > 2/(L + m)$, written $\eta = 2(1 + s)/(L + m)$ with $s > 0$"))):
        pos, other = {alpha: sub, L: m + dl}, "L" if case == 0 else "m"
        coef = sp.factor(-(Mx.subs({rho: rstar, lam: lstar}))[1, 1])
        d.solution(sp.Eq(c2 * lam**2 + c1 * lam + c0, 0).subs(rho, rstar), lam, lstar,
                   f"case {case + 1}: the discriminant vanishes at $\\rho = {sp.latex(rstar)}$, so there the "
                   r"determinant has a double root $\lambda^*$")
        d.equal(Mx.subs({rho: rstar, lam: lstar}), -coef * (w * w.T),
                f"case {case + 1}: at the double root the determinant vanishes and the LMI collapses to rank one, "
                f"$-c\\,ww^T$ with $w = ({sp.latex(w[0])}, -1)^T$", display=r"\mathcal{L}(\lambda^*)")
        d.positive(coef.subs(pos), f"case {case + 1} ({what}; " + r"$L = m + \delta$): $c > 0$, so "
                   r"$\mathcal{L} = -c\,ww^T \preceq 0$",
                   display="c")
        d.positive(lstar.subs(pos), f"case {case + 1}: " + r"$\lambda^* > 0$, an admissible weight",
                   display=r"\lambda^*")
        d.positive((rstar - (1 - alpha * L) if case == 0 else rstar - (1 - alpha * m)).subs(pos),
                   f"case {case + 1}: " + r"$\rho^*$ exceeds the other factor " + f"$1 - \\eta {other}$",
                   display=r"\rho^* - (1 - \eta h)")
        d.positive((rstar + (1 - alpha * L) if case == 0 else rstar + (1 - alpha * m)).subs(pos),
                   f"case {case + 1}: and its negative " + f"$-(1 - \\eta {other})$, so "
                   r"$\rho^* = \max(|1 - \eta m|, |1 - \eta L|)$",
                   display=r"\rho^* + (1 - \eta h)")
        lams[case] = lstar
    d.equal(Mx.subs(alpha, 2 / (L + m)).subs({rho: (L - m) / (L + m), lam: 2 / (L + m) ** 2}), sp.zeros(2, 2),
            r"at $\eta = 2/(L + m)$ both thresholds meet at $\rho = (L - m)/(L + m)$, and $\lambda = 2/(L + m)^2$ "
            r"gives $\mathcal{L} = 0$",
            display=r"\mathcal{L}\big|_{\eta = 2/(L+m)}")
    r0 = sp.Symbol("rho_0", positive=True)
    d.equal(Mx - Mx.subs(rho, r0), sp.Matrix([[r0**2 - rho**2, 0], [0, 0]]),
            r"monotone in $\rho$: for $\rho \ge \rho^*$ the LMI only decreases, so $\lambda^*$ still certifies "
            r"$\rho$",
            display=r"\mathcal{L}_\rho - \mathcal{L}_{\rho_0}")
    d.result("lambda_small_step", lams[0], label=r"\lambda^*_{\mathrm{small}}")
    d.result("lambda_large_step", lams[1], label=r"\lambda^*_{\mathrm{large}}")
    return d
