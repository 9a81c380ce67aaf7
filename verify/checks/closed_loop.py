"""Closed-loop RNN (Ger & Barak, arXiv:2505.13567): hand-written BPTT vs finite differences, and the
derived 4 x 4 reduction (derivation closed-loop-rnn) vs the full (N+2) x (N+2) joint matrix along a real
training run."""
from __future__ import annotations

from functools import lru_cache
from itertools import permutations

import numpy as np

from verify.checks import CheckResult, relative_error


@lru_cache(maxsize=1)
def _derivation():
    from derive.theories import closed_loop as dc

    return dc, dc.closed_loop_rnn()


def derived_functions():
    """Lambdified derived results: reduced_matrix(s_zm, s_zU, s_Vm, s_VU) -> 4 x 4 array and
    char_coeffs(...) -> [1, c3, c2, c1, 0], the coefficients of det(lambda I - K E)."""
    import sympy as sp

    dc, d = _derivation()
    args = dc.ORDER_PARAMETERS
    red = sp.lambdify(args, d.results["reduced_matrix"], "numpy")
    coeffs = sp.lambdify(args, sp.Matrix(d.results["char_poly_coeffs"]).T, "numpy")

    def reduced(*s):
        return np.array(red(*s), dtype=float)

    def char_coeffs(*s):
        return np.array(coeffs(*s), dtype=float).ravel()

    return reduced, char_coeffs


def memory_only_prediction(s_zU: float, s_Vm: float, s_VU: float) -> dict:
    """Derived facts at sigma_zm = 0 (derivation closed-loop-rnn), at given overlaps, g = s_zU s_Vm:
    "unstable": whether the derivation proves rho >= 1 there (g > 0: q(1) = -g < 0; g < 0 and s_VU < 2:
    Jury quantity g (2 - s_VU - g) < 0; g = 0: root 1); "jury": that quantity; "rho_first_order": the
    first-order spectral radius of the pair split from the double root 1 (s_VU < 1 only, else None)."""
    import sympy as sp

    dc, d = _derivation()
    sub = {dc.S_ZM: 0.0, dc.S_ZU: float(s_zU), dc.S_VM: float(s_Vm), dc.S_VU: float(s_VU)}
    g = float(s_zU) * float(s_Vm)
    jury = float(d.results["memory_only_jury"].subs(sub))
    unstable = g >= 0 or (jury < 0 and s_VU < 2)
    rho = None
    if s_VU < 1:
        if g < 0:
            rho = float(sp.sqrt(d.results["memory_only_modulus_sq_first_order"].subs(sub)))
        else:
            rho = float(d.results["memory_only_real_root_first_order"].subs(sub))
    return {"unstable": bool(unstable), "jury": jury, "g": g, "rho_first_order": rho}


def nontrivial(eigs: np.ndarray, k: int = 3) -> np.ndarray:
    """The k eigenvalues of largest modulus (the others of the joint matrix are zero)."""
    eigs = np.asarray(eigs)
    return eigs[np.argsort(-np.abs(eigs))[:k]]


def matched_error(a, b) -> float:
    """max |a_i - b_pi(i)| over the best pairing pi (sets of equal, small size)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return float("inf")
    return min(float(np.max(np.abs(a - b[list(p)]))) for p in permutations(range(a.size)))


def reduced_vs_full(hist: dict, reduced, char_coeffs) -> dict:
    """Along a recorded run: max mismatch of (i) eig of the lambdified reduced matrix and (ii) roots of the
    derived char poly against numpy's eigenvalues of the full matrix, and (iii) the largest modulus among
    the N - 1 remaining full eigenvalues (derived: exactly 0)."""
    err_eig = err_roots = rest = 0.0
    for k in range(len(hist["step"])):
        s = [hist[n][k] for n in ("s_zm", "s_zU", "s_Vm", "s_VU")]
        full = np.asarray(hist["eigenvalues"][k])
        top = nontrivial(full, 3)
        red = nontrivial(np.linalg.eigvals(reduced(*s)), 3)
        roots = nontrivial(np.roots(char_coeffs(*s)[:-1]), 3)  # drop the factor lambda
        err_eig = max(err_eig, matched_error(red, top))
        err_roots = max(err_roots, matched_error(roots, top))
        rest = max(rest, float(np.sort(np.abs(full))[:-3].max()))
    return {"eig_reduced_vs_full": err_eig, "char_roots_vs_full": err_roots, "other_full_eigs": rest}


def closed_loop_checks() -> list[CheckResult]:
    """BPTT gradients (closed and open loop) vs central differences; derived reduced eigenvalues and
    characteristic polynomial vs the full joint matrix along a closed-loop training run."""
    from numeric.models import closed_loop as cl

    from verify.finite_differences import central_gradient

    out = []
    agent = cl.init_agent(6, seed=3, s_zm0=-0.05)
    T = 20
    for label, a in (("init", agent), ("trained", cl.train(agent, "closed", 60, 0.02, T=T, record_every=60,
                                                           max_grad_norm=1.0)["final"])):
        loss, g = cl.closed_loop_grad(a, T)
        fd = central_gradient(lambda th: cl.closed_loop_loss(a.with_params(th), T), a.params())
        out.append(CheckResult(f"closed-loop/bptt-closed/{label}", "hand-written BPTT through agent and "
                               "environment vs Richardson central differences of L_cl (N = 6, T = 20)",
                               relative_error(g, fd.value), 1e-7, f"FD error estimate {fd.error_estimate:.1e}, "
                               f"|g| = {np.linalg.norm(g):.3g}, L = {loss:.4g}"))
    teacher = cl.init_agent(6, seed=4, s_zm0=-0.3)
    y, u = cl.teacher_data(teacher, T)
    loss, g = cl.open_loop_grad(agent, y, u)
    fd = central_gradient(lambda th: cl.open_loop_loss(agent.with_params(th), y, u), agent.params())
    out.append(CheckResult("closed-loop/bptt-open", "hand-written BPTT of the teacher-forced imitation loss vs "
                           "Richardson central differences (N = 6, T = 20)", relative_error(g, fd.value), 1e-7,
                           f"FD error estimate {fd.error_estimate:.1e}, |g| = {np.linalg.norm(g):.3g}"))
    reduced, char_coeffs = derived_functions()
    hist = cl.train(cl.init_agent(10, seed=0), "closed", 400, 0.02, record_every=40, max_grad_norm=1.0)
    r = reduced_vs_full(hist, reduced, char_coeffs)
    steps = ", ".join(str(s) for s in hist["step"])
    out.append(CheckResult("closed-loop/eigenvalues-reduced", "eigenvalues of the lambdified 4 x 4 reduced matrix "
                           "at the measured order parameters vs numpy eigvals of the full 12 x 12 matrix, along "
                           f"closed-loop training (steps {steps})", r["eig_reduced_vs_full"], 1e-10))
    out.append(CheckResult("closed-loop/eigenvalues-charpoly", "roots of the derived characteristic cubic vs numpy "
                           "eigvals of the full matrix, same run", r["char_roots_vs_full"], 1e-10))
    out.append(CheckResult("closed-loop/eigenvalues-zero", "the other N - 1 full eigenvalues (derived: exactly 0), "
                           "largest modulus, same run", r["other_full_eigs"], 1e-10))
    worst = 0.0
    for k in range(len(hist["step"])):
        a = cl.Agent(hist["final"].m, *np.split(hist["theta"][k], 3))
        M = cl.closed_loop_matrix(a)
        s = [hist[n][k] for n in ("s_zm", "s_zU", "s_Vm", "s_VU")]
        derived = np.concatenate([char_coeffs(*s), np.zeros(a.N - 2)])  # times lambda^(N-2)
        worst = max(worst, relative_error(np.poly(M), derived))
    out.append(CheckResult("closed-loop/char-poly", "derived lambda^(N-2) det(lambda I - K E) coefficients in the "
                           "order parameters vs numpy.poly of the full matrix, same run", worst, 1e-10))
    return out
