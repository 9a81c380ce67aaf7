"""``ldyn certify``: a convergence rate over all of S(mu, L), proved exactly, or a function where it fails.

:func:`certify` puts together the state-space form of the rule (:mod:`derive.analysis.state_space`), the
rate SDP and its exact proof (:mod:`verify.certify.solve`), the worst rate on quadratics (a lower bound
for any rate over S(mu, L)), and, when no certificate exists, the counterexample search
(:mod:`verify.certify.search`).
"""
from __future__ import annotations

import math
import time

import numpy as np

from verify.certify.values import CertifyError, check_class, hyperparameters

IQCS = ("sector", "off-by-one")
#: points of the geometric lambda grid of the quadratic rate (endpoints added)
QUADRATIC_SAMPLES = 4001


def _rule(spec):
    from derive.rule_text import RuleTextError
    from derive.rules.library import RuleNotFound, resolve
    from derive.update_rule import UpdateRule

    if isinstance(spec, UpdateRule):
        return spec
    try:
        return resolve(spec)
    except RuleNotFound as exc:
        raise CertifyError(str(exc)) from None
    except RuleTextError as exc:
        raise CertifyError(" ".join(str(exc).split())) from None


def quadratic_rate(ss_numeric, mu: float, L: float, samples: int = QUADRATIC_SAMPLES) -> float:
    """max over lambda in [mu, L] of the spectral radius of A + lambda B (I - lambda D)^{-1} C: the rule on
    f = lambda y^2/2 (u = lambda y, y = C xi + D u), on a geometric grid with both endpoints."""
    A, B, C, D = ss_numeric
    lams = np.unique(np.concatenate([[mu, L], np.geomspace(mu, L, samples)]))
    p = D.shape[0]
    Ms = np.empty((len(lams), A.shape[0], A.shape[0]))
    for i, lam in enumerate(lams):
        K = lam * np.linalg.solve(np.eye(p) - lam * D, C)
        Ms[i] = A + B @ K
    return float(np.max(np.abs(np.linalg.eigvals(Ms))))


def _matrix_text(M) -> str:
    import sympy as sp

    return sp.sstr(M.tolist())


def _time_invariant(rule, exact_values: dict) -> str:
    """What the certificate is about: the rule as written, or, for a rule with a step counter, its t -> oo form
    (:meth:`derive.update_rule.UpdateRule.asymptotic`) -- refused when a decaying base beta^t of that form is
    not in [0, 1) at these values (then the t -> oo form is not the rule's limit)."""
    if rule.counter is None:
        return "the rule as written"
    import sympy as sp

    at = {rule.hyper[k]: v for k, v in exact_values.items()}
    for base in rule.decaying_bases():
        value = sp.sympify(base).subs(at)
        if not (value.is_number and value.is_real and 0 <= value < 1):
            raise CertifyError(f"{rule.name}: its step-counter term ({sp.sstr(base)})^t vanishes as t -> oo only "
                               f"for 0 <= {sp.sstr(base)} < 1, got {sp.sstr(value)}; no rate can be certified")
    _, notes = rule.asymptotic()
    return ("the rule's t -> oo form (" + "; ".join(notes) + "): the rate is the rule's asymptotic rate; the "
            "bound with sqrt(cond P) holds for that form, not from the rule's first step")


def certify(spec, mu: float, L: float, values: dict | None = None, iqc: str = "off-by-one",
            tol: float = 1e-7, counterexample: bool = True) -> dict:
    """The smallest certified rate of ``spec`` over S(mu, L) with the ``iqc`` constraints (see module doc).

    ``values``: hyperparameters by protocol name, numbers or formulas in mu, L, kappa; missing ones from the
    rule's defaults.  Bad input raises a ValueError (one line)."""
    start = time.perf_counter()
    if iqc not in IQCS:
        raise CertifyError(f"unknown IQC {iqc!r}; known: {', '.join(IQCS)}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and 0 < tol < 0.5):
        raise CertifyError(f"tol must be a number in (0, 0.5), got {tol!r}")
    m, big_l = check_class(mu, L)
    rule = _rule(spec)
    exact_values, sources = hyperparameters(rule, values, m, big_l)

    from derive.analysis.state_space import state_space

    ss = state_space(rule)  # NotLinear / NotDifferentiable: a one-line ValueError
    applies_to = _time_invariant(rule, exact_values)
    used = {k: v for k, v in exact_values.items() if rule.hyper[k] in
            set().union(*(M.free_symbols for M in (ss.A, ss.B, ss.C, ss.D)))}
    ssv = ss.at(used)
    numeric = ssv.numeric()
    q_rate = quadratic_rate(numeric, float(m), float(big_l))
    t_setup = time.perf_counter() - start

    from verify.certify.solve import LMIFamily, RateSDP, bisect, prove

    family = LMIFamily(ssv, m, big_l, iqc)
    sdp = RateSDP(family)
    t0 = time.perf_counter()
    # the quadratic rate bounds any rate from below (to ~1e-8: a double root is computed to ~sqrt(eps))
    rho_num = bisect(sdp, tol, lower=max(0.0, min(q_rate, 1.0) - 1e-6))
    t_bisect = time.perf_counter() - t0
    rep = {
        "rule": rule.name, "title": rule.title, "mu": float(m), "L": float(big_l), "kappa": float(big_l / m),
        "hyperparameters": {k: float(v) for k, v in exact_values.items()},
        "hyperparameters_exact": {k: str(v) for k, v in exact_values.items()},
        "hyperparameters_source": sources,
        "iqc": iqc, "iqc_blocks": list(family.names),
        "rate": None, "rate_exact": None, "certificate_checked": False, "check": None,
        "numeric_rate": rho_num, "tolerance": tol,
        "lyapunov": None, "multipliers": None,
        "quadratic_rate": q_rate,
        "quadratic_rate_method": (f"max over lambda in [mu, L] of the spectral radius of A + lambda B (I - lambda D)^-1 C "
                                  f"(the rule on f = lambda y^2/2), on a geometric grid of {QUADRATIC_SAMPLES} points "
                                  "with both endpoints; a lower bound for any rate over S(mu, L)"),
        "state_space": {k: _matrix_text(M) for k, M in zip("ABCD", (ssv.A, ssv.B, ssv.C, ssv.D))},
        "counterexample": None,
        "applies_to": applies_to,
    }
    t_proof = 0.0
    if rho_num is None:
        rep["check"] = (f"no certificate: neither solver found a feasible point of the LMI with the {iqc} IQC at "
                        "rho = 1 (this does not prove the rule fails; see counterexample)")
    else:
        t0 = time.perf_counter()
        proof = prove(sdp, rho_num)
        t_proof = time.perf_counter() - t0
        if proof["ok"]:
            r = proof["rho"]
            rep.update(rate=float(r), rate_exact=str(r), certificate_checked=True,
                       check=f"exact (SymPy, rationals) at rho = {r}: {proof['reason']}")
        else:
            rep.update(rate=rho_num, certificate_checked=False,
                       check=f"not proved: the numeric rate {rho_num:.9g} is the solver's; {proof['reason']}")
        if proof["P"] is not None:
            rep["lyapunov"] = [[float(x) for x in row] for row in proof["P"].tolist()]
            rep["lyapunov_exact"] = [[str(x) for x in row] for row in proof["P"].tolist()]
            rep["multipliers"] = {n: float(v) for n, v in zip(family.names, proof["multipliers"])}
            rep["multipliers_exact"] = {n: str(v) for n, v in zip(family.names, proof["multipliers"])}
            rep["margin"] = proof["margin"]
    t_search = 0.0
    if rep["rate"] is None and counterexample:
        from verify.certify.search import search

        t0 = time.perf_counter()
        rep["counterexample"] = search(rule, exact_values, m, big_l)
        t_search = time.perf_counter() - t0
    rep["sdp_solves"] = sdp.solves
    rep["barrier_solves"] = sdp.polishes
    rep["timings"] = {"setup": t_setup, "bisection": t_bisect, "proof": t_proof, "search": t_search}
    rep["seconds"] = time.perf_counter() - start
    return rep


# -- text ----------------------------------------------------------------------------------------------
def _fmt_matrix(rows, indent: str = "    ") -> str:
    return "\n".join(indent + "[" + ", ".join(f"{x:12.6g}" for x in row) + "]" for row in rows)


def format_report(rep: dict) -> str:
    hyper = ", ".join(f"{k}={v:.6g}" for k, v in rep["hyperparameters"].items())
    lines = [f"{rep['title']} ({rep['rule']}) over S(mu={rep['mu']:g}, L={rep['L']:g}), kappa = {rep['kappa']:g}",
             f"  hyperparameters: {hyper}",
             f"  state space: A = {rep['state_space']['A']}, B = {rep['state_space']['B']}, "
             f"C = {rep['state_space']['C']}, D = {rep['state_space']['D']}",
             f"  IQC: {rep['iqc']} ({', '.join(rep['iqc_blocks'])})"]
    if rep["rate"] is None:
        lines.append("  rate: no certificate (no feasible point of the LMI found at rho = 1)")
    elif rep["certificate_checked"] and rep["rate"] >= 1:
        lines.append("  rate: 1 (certified only: ||xi_k - xi*|| <= sqrt(cond P) ||xi_0 - xi*||, bounded; no linear rate)")
    elif rep["certificate_checked"]:
        lines.append(f"  rate: {rep['rate']:.9g} = {rep['rate_exact']}  (certified: ||xi_k - xi*|| <= "
                     f"sqrt(cond P) rate^k ||xi_0 - xi*|| for every f in S(mu, L))")
    else:
        lines.append(f"  rate: {rep['rate']:.9g}  (NOT certified: numeric only)")
    if rep.get("check"):
        lines.append(f"  check: {rep['check']}")
    if rep.get("applies_to", "the rule as written") != "the rule as written":
        lines.append(f"  applies to: {rep['applies_to']}")
    lines.append(f"  quadratic rate (worst lambda in [mu, L], a lower bound): {rep['quadratic_rate']:.9g}")
    if rep.get("lyapunov") is not None:
        lines.append("  P (Lyapunov matrix, state then IQC filter states):")
        lines.append(_fmt_matrix(rep["lyapunov"]))
        lines.append("  multipliers: " + ", ".join(f"{k} = {v:.6g}" for k, v in rep["multipliers"].items()))
    ce = rep.get("counterexample")
    if ce is not None:
        lines.append(f"  counterexample: {ce['summary']}")
        lines.append(f"    checked: {ce['checked']}")
    elif rep["rate"] is None:
        lines.append("  counterexample: none found by the search")
    lines.append(f"  {rep['seconds']:.2f} s ({rep['sdp_solves']} conic + {rep['barrier_solves']} barrier SDP solves)")
    return "\n".join(lines)
