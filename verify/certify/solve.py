"""Certified convergence rates by semidefinite programming, proved in exact arithmetic.

Lessard, Recht & Packard (2016), "Analysis and design of optimization algorithms via integral quadratic
constraints", SIAM J. Optim. 26(1), Theorem 4: for the augmented system (Ahat, Bhat) of a rule and its IQC
filters, if P > 0 and multipliers lambda_j >= 0 satisfy

    [Ahat Bhat]^T P [Ahat Bhat] - rho^2 diag(P, 0) + sum_j lambda_j [Chat_j Dhat_j]^T M_j [Chat_j Dhat_j] <= 0,

then every f in S(mu, L) gives ||xi_k - xi*|| <= sqrt(cond P) rho^k ||xi_0 - xi*||.  The matrices are
those of :func:`derive.analysis.certificate.lmi`; here they are floats, for the solver only.

* :class:`RateSDP`: the LMI at any rho as a cvxpy problem, compiled once (the LMI is linear in the
  entries of P and the multipliers, with coefficient matrices F_k(rho), G_j(rho) passed as parameters):
  maximise t subject to LMI <= -t I, t I <= P <= I, lambda >= 0.  Feasible iff t > THRESHOLD.
  Clarabel, SCS if Clarabel fails.
* :func:`max_margin`: the same problem by a small log-barrier method whose iterates are strictly feasible;
  it follows the thin feasible sets near the optimal rate (the margin shrinks like (rho - rho*)^2 there, e.g.
  for the triple momentum method) far beyond the conic solver's ~1e-9 accuracy.
* :func:`bisect`: the smallest feasible rho in (0, 1] to a tolerance: the conic solver first, then the
  barrier method, whose verdict decides (on the last 2e-3, or above the conic answer if it disagrees).
  Coordinates are balanced, (xi, zeta/L, u/L), and mapped back exactly.
* :func:`prove`: at rho' = rho + delta (a Rational), solve with margin, take P and lambda as the exact
  Rationals of their floats and check the LMI exactly (:func:`derive.analysis.certificate.check_certificate`):
  only a rate that passes the exact check is reported as certified.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

#: the margin t above which the SDP counts as feasible
THRESHOLD = 1e-9
#: rho' = rho + delta for the exact certificate, tried in this order
DELTAS = (1e-6, 1e-5, 1e-4, 1e-3)
#: rho' is rounded up to a multiple of 1/RHO_DENOMINATOR
RHO_DENOMINATOR = 10**9


# -- the LMI data as floats, at any rho ------------------------------------------------------------
class LMIFamily:
    """The float data (Ahat, Bhat, [(Chat, Dhat, M)]) of ``lmi(ss, mu, L, rho, iqc)`` as a function of rho.

    Built once with a symbolic rho and lambdified; if the symbolic LMI cannot be built, each rho gets its
    own exact LMI (rho as the Rational of its float)."""

    def __init__(self, ss, mu, L, iqc: str):
        import sympy as sp

        from derive.analysis.certificate import lmi

        self.ss, self.mu, self.L, self.iqc = ss, mu, L, iqc
        probe = lmi(ss, mu, L, sp.Rational(1, 2), iqc)  # bad input (iqc, mu, L) fails here, in one line
        self.names = tuple(b.name for b in probe.blocks)
        self.n_state, self.n_input = probe.size()
        self._fn = None
        rho = sp.Symbol("rho", positive=True)
        try:
            sym = lmi(ss, mu, L, rho, iqc)
            mats = [sym.Ahat, sym.Bhat] + [x for b in sym.blocks for x in (b.Chat, b.Dhat, b.M)]
            if all(m.free_symbols <= {rho} for m in mats):
                self._fn = sp.lambdify(rho, mats, "numpy")
        except Exception:  # noqa: BLE001 - e.g. a check of rho <= 1 on a symbol: fall back to exact per rho
            self._fn = None

    def at(self, rho: float):
        if self._fn is not None:
            mats = [np.array(m, dtype=float) for m in self._fn(float(rho))]
        else:
            import sympy as sp

            from derive.analysis.certificate import lmi

            ex = lmi(self.ss, self.mu, self.L, sp.Rational(float(rho)), self.iqc)
            mats = [np.array(ex.Ahat, dtype=float), np.array(ex.Bhat, dtype=float)]
            for b in ex.blocks:
                mats += [np.array(b.Chat, dtype=float), np.array(b.Dhat, dtype=float), np.array(b.M, dtype=float)]
        s, p = self.n_state, self.n_input
        A = mats[0].reshape(s, s)
        B = mats[1].reshape(s, p)
        blocks = [(mats[i].reshape(-1, s), mats[i + 1].reshape(-1, p), mats[i + 2].reshape(mats[i].shape[0], -1))
                  for i in range(2, len(mats), 3)]
        return A, B, blocks


def _basis(s: int) -> list[np.ndarray]:
    out = []
    for i in range(s):
        for j in range(i, s):
            e = np.zeros((s, s))
            e[i, j] = e[j, i] = 1.0
            out.append(e)
    return out


def lmi_terms(A, B, blocks, rho: float):
    """(F_k, G_j): the LMI is sum_k P_k F_k + sum_j lambda_j G_j with P = sum_k P_k E_k (E_k the symmetric
    basis, upper triangle row by row)."""
    s = A.shape[0]
    AB = np.hstack([A, B])
    F = []
    for e in _basis(s):
        f = AB.T @ e @ AB
        f[:s, :s] -= rho**2 * e
        F.append((f + f.T) / 2)
    G = []
    for C, D, M in blocks:
        CD = np.hstack([C, D])
        g = CD.T @ M @ CD
        G.append((g + g.T) / 2)
    return F, G


class RateSDP:
    """max t s.t. LMI(P, lambda; rho) <= -t I, t I <= P <= I, lambda >= 0, t <= 1 (compiled once)."""

    def __init__(self, family: LMIFamily):
        try:
            import cvxpy as cp
        except ImportError:
            from verify.certify.values import CertifyError

            raise CertifyError("certified rates need cvxpy, which is not installed: "
                               "pip install 'learning-dynamics[certify]'") from None

        self.cp, self.family = cp, family
        s, p, nb = family.n_state, family.n_input, len(family.names)
        m = s + p
        self.E = _basis(s)
        self.F = [cp.Parameter((m, m), symmetric=True) for _ in self.E]
        self.G = [cp.Parameter((m, m), symmetric=True) for _ in range(nb)]
        self.x = cp.Variable(len(self.E))
        self.lam = cp.Variable(nb, nonneg=True) if nb else None
        self.t = cp.Variable()
        P = sum(self.x[k] * self.E[k] for k in range(len(self.E)))
        L = sum(self.x[k] * self.F[k] for k in range(len(self.E)))
        if nb:
            L = L + sum(self.lam[j] * self.G[j] for j in range(nb))
        cons = [L + self.t * np.eye(m) << 0, P - self.t * np.eye(s) >> 0, P << np.eye(s), self.t <= 1]
        self.problem = cp.Problem(cp.Maximize(self.t), cons)
        self.scale = np.ones(nb)
        self.solves = 0
        self.polishes = 0
        # coordinates (xi, zeta / L, u / L): the filter states and the gradients are of size L*y, so that P and
        # the margin t are balanced; P = Sx^-1 P' Sx^-1 exactly (Sx = diag(1.., L..))
        n = family.ss.A.shape[0]
        self.sx_exact = [1] * n + [family.L] * (s - n)
        self.sx = np.array([float(v) for v in self.sx_exact])
        self.su = np.full(p, float(family.L))

    def unscale(self, P_scaled):
        """The Lyapunov matrix of the original coordinates from the balanced one (exact for a SymPy Matrix)."""
        if isinstance(P_scaled, np.ndarray):
            return P_scaled / np.outer(self.sx, self.sx)
        return P_scaled.applyfunc(lambda v: v).__class__(
            P_scaled.shape[0], P_scaled.shape[1],
            lambda i, j: P_scaled[i, j] / (self.sx_exact[i] * self.sx_exact[j]))

    def solve(self, rho: float):
        """(t, P', multipliers) at rho, P' in the balanced coordinates (:meth:`unscale`); t = -inf when the
        solvers fail."""
        F, G, self.scale = self.scaled_terms(rho)
        for par, val in zip(self.F, F):
            par.value = val
        for par, val in zip(self.G, G):
            par.value = val  # multiplier lambda_j = lam_j / scale_j: the same LMI, better scaled
        self.solves += 1
        for solver in ("CLARABEL", "SCS"):
            try:
                with warnings.catch_warnings():  # "solution may be inaccurate": the barrier method decides
                    warnings.simplefilter("ignore")
                    self.problem.solve(solver=solver)
            except (self.cp.error.SolverError, ArithmeticError, ValueError):
                continue
            if self.problem.status in ("optimal", "optimal_inaccurate") and self.t.value is not None:
                P = sum(self.x.value[k] * self.E[k] for k in range(len(self.E)))
                lam = ([] if self.lam is None else
                       [max(float(v), 0.0) / sc for v, sc in zip(self.lam.value, self.scale)])
                return float(self.t.value), P, lam
            if self.problem.status in ("infeasible", "unbounded"):
                break
        return -math.inf, None, None

    def scaled_terms(self, rho: float):
        """(F_k, G_j / scale_j, scale) of the balanced LMI at rho (see :meth:`solve`)."""
        A, B, blocks = self.family.at(rho)
        sx, su = self.sx, self.su
        A = A * sx[None, :] / sx[:, None]
        B = B * su[None, :] / sx[:, None]
        blocks = [(C * sx[None, :], D * su[None, :], M) for C, D, M in blocks]
        F, G = lmi_terms(A, B, blocks, rho)
        scale = np.array([max(np.abs(g).max(), 1e-300) for g in G])
        return F, [g / sc for g, sc in zip(G, scale)], scale

    def polish(self, rho: float):
        """(t, P', multipliers) at rho by :func:`max_margin` (accurate near the optimal rate; slower)."""
        F, G, scale = self.scaled_terms(rho)
        self.polishes += 1
        t, P, lam = max_margin(F, G, self.family.n_state)
        return t, P, [v / sc for v, sc in zip(lam, scale)]

    def feasible(self, rho: float) -> bool:
        return self.solve(rho)[0] > THRESHOLD


def max_margin(F, G, s: int, factor: float = 20.0, tau_max: float = 1e17):
    """max t s.t. -LMI - t I > 0, 0 < P < I, lambda > 0 by a log-barrier path-following method (damped
    Newton on tau t + log det of the block-diagonal constraint matrix; every iterate strictly feasible by
    Cholesky).  Small and exact enough to follow the thin feasible sets near the optimal rate, where the
    margin shrinks like (rho - rho*)^2 and a general conic solver stops at ~1e-9.  Returns (t, P,
    multipliers) in the coordinates of F, G."""
    E = _basis(s)
    nx, nb = len(E), len(G)
    m = (F[0] if F else G[0]).shape[0]
    nz, size = nx + nb + 1, m + 2 * s + nb
    # the constraint matrix K(z) = K0 + sum_i z_i K_i = diag(-LMI - tI, P, I - P, lambda_1, ..., lambda_nb)
    K0 = np.zeros((size, size))
    K0[m + s:m + 2 * s, m + s:m + 2 * s] = np.eye(s)
    Ki = np.zeros((nz, size, size))
    for k in range(nx):
        Ki[k, :m, :m] = -F[k]
        Ki[k, m:m + s, m:m + s] = E[k]
        Ki[k, m + s:m + 2 * s, m + s:m + 2 * s] = -E[k]
    for j in range(nb):
        Ki[nx + j, :m, :m] = -G[j]
        Ki[nx + j, m + 2 * s + j, m + 2 * s + j] = 1.0
    Ki[-1, :m, :m] = -np.eye(m)
    z = np.zeros(nz)
    z[:nx] = [0.5 if i == j else 0.0 for i in range(s) for j in range(i, s)]
    z[nx:nx + nb] = 1.0
    lm = np.tensordot(z[:nx + nb], np.array(list(F) + list(G)), 1)
    z[-1] = -np.max(np.linalg.eigvalsh(lm)) - 1.0

    def value(z, tau):
        try:
            c = np.linalg.cholesky(K0 + np.tensordot(z, Ki, 1))
        except np.linalg.LinAlgError:
            return None
        return -tau * z[-1] - 2 * np.sum(np.log(np.diag(c)))

    tau = 1.0
    while tau <= tau_max:
        centred = False
        for _ in range(60):
            try:
                W = np.einsum("ab,ibc->iac", np.linalg.inv(K0 + np.tensordot(z, Ki, 1)), Ki)
            except np.linalg.LinAlgError:  # numerically singular: as far as floats go
                break
            g = -np.einsum("iaa->i", W)
            g[-1] -= tau
            H = np.einsum("iab,jba->ij", W, W)
            try:
                dz = -np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                dz = -np.linalg.lstsq(H, g, rcond=None)[0]
            if not np.all(np.isfinite(dz)):
                break
            dec = float(-g @ dz)
            if not dec > 1e-9:
                centred = True
                break
            v, step = value(z, tau), 1.0
            while step > 1e-12:
                new = value(z + step * dz, tau)
                if new is not None and new <= v - 0.25 * step * dec:
                    break
                step *= 0.5
            else:
                break
            z = z + step * dz
        gap = size / tau  # on the central path, t is within gap of the optimal margin
        if z[-1] > 0 and gap < z[-1] / 100:  # clearly feasible
            break
        if centred and z[-1] + 2 * gap < 0:  # clearly infeasible
            break
        tau *= factor
    P = sum(z[k] * E[k] for k in range(nx))
    return float(z[-1]), P, [max(float(v), 0.0) for v in z[nx:nx + nb]]


#: width below the conic solver's rate searched again with :func:`max_margin`
REFINE_WIDTH = 2e-3


#: the barrier method's margin above which a rho counts as feasible (its iterates are strictly feasible in
#: floats; the exact check decides in the end)
BARRIER_THRESHOLD = 1e-15


def bisect(sdp: RateSDP, tol: float = 1e-7, lower: float = 0.0) -> float | None:
    """The smallest rho in (lower, 1] where the LMI is feasible, to ``tol`` (None if not feasible at 1).

    First the conic solver (fast; its margin test t > THRESHOLD both misses feasible rho within ~1e-4 of
    the optimum when the margin shrinks quadratically, and now and then passes an infeasible one), then
    :func:`max_margin`, whose verdict decides: the answer is a rho where it found a strictly feasible point."""
    barrier = lambda r: sdp.polish(r)[0] > BARRIER_THRESHOLD  # noqa: E731
    if sdp.feasible(1.0):
        lo, hi = lower, 1.0
        while hi - lo > tol:
            mid = (lo + hi) / 2
            if sdp.feasible(mid):
                hi = mid
            else:
                lo = mid
    elif barrier(1.0):
        hi = 1.0
    else:
        return None
    if not barrier(hi):  # the conic solver passed an infeasible rho: step up until the barrier method agrees
        step, lo = REFINE_WIDTH, hi
        while True:
            nxt = min(1.0, hi + step)
            if barrier(nxt):
                lo, hi = hi, nxt
                break
            if nxt >= 1.0:
                return None
            hi, step = nxt, 2 * step
    else:
        lo = max(lower, hi - REFINE_WIDTH)
        if barrier(lo):  # the conic solver was far off: search the whole range below
            lo, hi = lower, lo
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if barrier(mid):
            hi = mid
        else:
            lo = mid
    return hi


def prove(sdp: RateSDP, rho: float, deltas=DELTAS) -> dict:
    """Try rho' = rho + delta (rounded up to a Rational with denominator 10^9, at most 1): solve with margin
    (:func:`max_margin`), take P and the multipliers as the exact Rationals of their floats, check exactly.  Returns {ok, rho (Rational), P (Matrix of
    Rationals), multipliers (Rationals), reason, margin}; on failure the last attempt's reason."""
    import sympy as sp

    from derive.analysis.certificate import check_certificate, lmi

    fam = sdp.family
    last = {"ok": False, "reason": "no attempt", "rho": None, "P": None, "multipliers": None, "margin": None}
    if rho < 1:  # never step past 1 - rho at once: near rho = 1 (kappa = 1e6) a fixed delta would reach 1
        deltas = list(dict.fromkeys(min(d, (1 - rho) / 4) for d in deltas)) + [d for d in deltas if d > (1 - rho) / 4]
    for delta in deltas:
        r = sp.Rational(math.ceil((rho + delta) * RHO_DENOMINATOR), RHO_DENOMINATOR)
        r = min(r, sp.Integer(1))
        t, P, lam = sdp.polish(float(r))
        if P is None or not t > 0:
            last = {**last, "reason": f"no strictly feasible point found at rho = {float(r):.9g} (margin {t:.3g})"}
            if r == 1:
                break
            continue
        # the iterate's floats as exact Rationals (no rounding: near the optimal rate the margin is ~1e-14)
        Pr = sdp.unscale(sp.Matrix(P.shape[0], P.shape[1], lambda i, j: sp.Rational(P[min(i, j), max(i, j)])))
        lr = [sp.Rational(v) for v in lam]
        ex = lmi(fam.ss, fam.mu, fam.L, r, fam.iqc)
        check = check_certificate(ex, Pr, lr)
        reason = " ".join(str(check.reason).split())
        reason = reason if len(reason) <= 300 else reason[:297] + "..."
        last = {"ok": bool(check.ok), "reason": reason, "rho": r, "P": Pr,
                "multipliers": lr, "margin": t, "delta": delta, "check": check}
        if check.ok:
            return last
        if r == 1:
            break
    return last
