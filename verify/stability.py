"""Stability reports for ``ldyn stability``, from the derivations' closed forms.

The formulas are not typed here: they are the named results of
``derive.rules.gradient_descent.quadratic_stability`` (the factor 1 − ηλ, the critical step
2/λ_max, the optimal step 2/(μ + L) and rate (L − μ)/(L + μ)), lambdified once.
"""
from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp


class InputError(ValueError):
    """Bad user input: the CLI prints the message on one line and exits with code 2."""


def checked_results(derivation, names) -> dict:
    """The named results of ``derivation``, each the value of a checked step (proved, spot-checked or given:
    a cited tuning); a result that is only stated, or tied to a failed step, is an internal error."""
    check = derivation.check()
    out = {}
    for name in names:
        tie = check.result_status(name)
        if tie is None or tie.status not in ("proved", "spot-checked", "given"):
            raise RuntimeError(f"{derivation.name}: the result {name} is not the value of a checked step "
                               f"({'missing' if tie is None else tie.status})")
        out[name] = derivation.results[name]
    return out


@lru_cache(maxsize=1)
def _gd_closed_forms():
    from derive.rules import gradient_descent as gdd

    r = checked_results(gdd.quadratic_stability(), ("factor", "eta_critical", "eta_optimal", "rate_optimal"))
    mu, L, lmax = sp.Symbol("mu", positive=True), sp.Symbol("L", positive=True), sp.Symbol("lambda_max", positive=True)
    return {"factor": sp.lambdify((gdd.eta, gdd.lam), r["factor"]),
            "eta_critical": sp.lambdify(lmax, r["eta_critical"]),
            "eta_optimal": sp.lambdify((mu, L), r["eta_optimal"]),
            "rate_optimal": sp.lambdify((mu, L), r["rate_optimal"])}


def regime_of_factor(r: float) -> str:
    """monotone (0 <= r < 1), oscillating (-1 < r < 0), marginal (|r| = 1, λ > 0),
    neutral (r = 1: a flat direction), divergent (|r| > 1)."""
    if r == 1.0:
        return "neutral"
    if abs(r) > 1:
        return "divergent"
    if abs(r) == 1:
        return "marginal"
    return "oscillating" if r < 0 else "monotone"


def check_eigenvalues(values: list[float], psd: bool = True) -> list[float]:
    if not values:
        raise InputError("give at least one eigenvalue, e.g. --eigenvalues 1,10")
    for v in values:
        if not math.isfinite(v):
            raise InputError(f"eigenvalues must be finite numbers, got {v}")
    if psd and min(values) < 0:
        raise InputError(f"the spectrum must be positive semi-definite (a minimum), got eigenvalue {min(values):g} < 0")
    if psd and max(values) <= 0:
        raise InputError("at least one eigenvalue must be > 0")
    return values


def gd_report(eigenvalues: list[float], eta: float | None = None) -> dict:
    """Critical step 2/λ_max, optimal step and rate on [μ, L], and per eigenvalue the step
    ranges of each regime; with ``eta``, the factors, spectral radius and verdict.

    μ is the smallest *positive* eigenvalue and L the largest.  Flat directions (λ = 0)
    have factor 1 at every step: GD neither moves along them nor diverges, so they are
    reported with regime "neutral" and left out of ``spectral_radius`` and ``converges``
    (which then speak of the non-flat directions; ``flat_directions`` counts them).
    ``condition_number`` is L/μ; it is ``math.inf`` if that ratio overflows a float, and
    ``ldyn --json`` writes that infinity as ``null``.  Inputs that would make the other
    numbers non-finite (2/λ or μ + L or η·λ overflowing) raise :class:`InputError`."""
    lams = check_eigenvalues(list(eigenvalues))
    if eta is not None and not (math.isfinite(eta) and eta > 0):
        raise InputError(f"--eta must be a finite number > 0, got {eta}")
    positive = [lam for lam in lams if lam > 0]
    mu, L = min(positive), max(positive)
    if not math.isfinite(2 / mu):
        raise InputError(f"eigenvalue {mu:g} is too small: its critical step 2/lambda overflows a float "
                         "(use 0 for a flat direction)")
    if not math.isfinite(mu + L):
        raise InputError(f"eigenvalues {mu:g} and {L:g} are too large: mu + L overflows a float (rescale the loss)")
    if eta is not None and not math.isfinite(eta * L):
        raise InputError(f"--eta {eta:g} times eigenvalue {L:g} overflows a float")
    f = _gd_closed_forms()
    out = {"method": "gd", "eta_critical": float(f["eta_critical"](L)),
           "eta_optimal": float(f["eta_optimal"](mu, L)), "rate_optimal": float(f["rate_optimal"](mu, L)),
           "condition_number": L / mu, "flat_directions": len(lams) - len(positive), "eigenvalues": []}
    for lam in lams:
        entry = {"lambda": lam, "monotone_below": (1 / lam) if lam > 0 else None,
                 "stable_below": (2 / lam) if lam > 0 else None}
        if eta is not None:
            r = float(f["factor"](eta, lam))
            entry.update(factor=r, spectral_radius=abs(r), regime=regime_of_factor(r) if lam > 0 else "neutral")
        out["eigenvalues"].append(entry)
    if eta is not None:
        rho = max(e["spectral_radius"] for e in out["eigenvalues"] if e["lambda"] > 0)
        out.update(eta=eta, spectral_radius=rho, converges=bool(rho < 1))
    return out


def format_gd_report(rep: dict) -> str:
    spectrum = ", ".join(f"{e['lambda']:g}" for e in rep["eigenvalues"])
    lines = [f"gradient descent on a quadratic with eigenvalues {spectrum}",
             f"  critical step   eta_c = 2/lambda_max      = {rep['eta_critical']:.6g}",
             f"  optimal step    eta*  = 2/(mu + L)        = {rep['eta_optimal']:.6g}",
             f"  optimal rate    (L - mu)/(L + mu)         = {rep['rate_optimal']:.6g}"
             f"   (condition number {rep['condition_number']:.4g})"]
    flat = rep.get("flat_directions", 0)
    if flat:
        lines.append(f"  ({flat} flat direction(s), lambda = 0: mu is the smallest positive eigenvalue)")
    if "eta" in rep:
        where = " on the non-flat directions" if flat else ""
        lines.append(f"  at eta = {rep['eta']:g}: spectral radius{where} {rep['spectral_radius']:.6g}, "
                     + (f"converges{where}" if rep["converges"] else f"does NOT converge{where}"))
    lines.append("  per eigenvalue:")
    for e in rep["eigenvalues"]:
        if e["lambda"] == 0:
            s = "flat direction: GD does not move along it (neutral)"
        else:
            s = f"monotone for eta < {e['monotone_below']:.6g}, oscillating up to {e['stable_below']:.6g}, divergent above"
        if "factor" in e:
            s += f"; at eta: factor {e['factor']:+.6g} ({e['regime']})"
        lines.append(f"    lambda = {e['lambda']:g}: {s}")
    return "\n".join(lines)


def _finite_positive(value, name: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def momentum_report(method: str, eigenvalues: list[float], eta: float, beta: float) -> dict:
    """Per eigenvalue: the roots of the characteristic polynomial, spectral radius and
    damping regime of heavy ball / Nesterov at (η, β); overall radius and verdict."""
    from verify import momentum_maps as mm

    lams = check_eigenvalues(list(eigenvalues))
    eta = _finite_positive(eta, "--eta")
    if beta is None or not math.isfinite(beta) or not 0 <= beta < 1:
        raise InputError(f"--beta must be a finite number with 0 <= beta < 1, got {beta}")
    if not math.isfinite(eta * max(lams)):
        raise InputError(f"--eta {eta:g} times eigenvalue {max(lams):g} overflows a float")
    rows = []
    for lam in lams:
        r1, r2 = mm.roots(method, eta * lam, beta)
        rows.append({"lambda": lam, "roots": [_complex(r1), _complex(r2)],
                     "spectral_radius": float(abs(r1)), "regime": str(mm.regime(method, eta * lam, beta))})
    rho = max(r["spectral_radius"] for r in rows)
    return {"method": method, "eta": eta, "beta": beta, "spectral_radius": rho, "converges": bool(rho < 1),
            "eigenvalues": rows}


def _complex(z) -> dict:
    z = complex(z)
    return {"re": z.real, "im": z.imag}


@lru_cache(maxsize=1)
def _tuning_results() -> dict:
    from derive.analysis import momentum_tuning as dt

    return checked_results(dt.momentum_tuning(), ("hb_eta", "hb_beta", "hb_rate", "nesterov_eta", "nesterov_beta",
                                                  "nesterov_rate", "nesterov_standard_eta", "nesterov_standard_beta",
                                                  "nesterov_standard_rate", "gd_rate"))


def momentum_tuning_report(method: str, mu: float, L: float) -> dict:
    """Optimal (η, β, rate) on a spectrum in [μ, L]; for Nesterov also the standard tuning.

    ``condition_number`` L/μ is ``math.inf`` if it overflows a float (JSON: ``null``)."""
    from derive.analysis import momentum_tuning as dt

    mu, L = _finite_positive(mu, "--mu"), _finite_positive(L, "--L")
    if mu > L:
        raise InputError(f"--mu must not exceed --L, got mu={mu:g} > L={L:g}")
    r = _tuning_results()
    ev = lambda k: float(r[k].subs({dt.mu: mu, dt.Lmax: L}))  # noqa: E731
    if method == "heavy-ball":
        out = {"eta": ev("hb_eta"), "beta": ev("hb_beta"), "rate": ev("hb_rate")}
    else:
        out = {"eta": ev("nesterov_eta"), "beta": ev("nesterov_beta"), "rate": ev("nesterov_rate"),
               "standard": {"eta": ev("nesterov_standard_eta"), "beta": ev("nesterov_standard_beta"),
                            "rate": ev("nesterov_standard_rate")}}
    return {"method": method, "mu": mu, "L": L, "condition_number": L / mu, **out, "gd_rate": ev("gd_rate")}


def format_momentum_report(rep: dict) -> str:
    if "eigenvalues" not in rep:
        lines = [f"{rep['method']} on a spectrum in [{rep['mu']:g}, {rep['L']:g}] (condition number "
                 f"{rep['condition_number']:.4g})",
                 f"  optimal tuning: eta = {rep['eta']:.6g}, beta = {rep['beta']:.6g}, rate = {rep['rate']:.6g}"]
        if "standard" in rep:
            s = rep["standard"]
            lines.append(f"  standard tuning: eta = {s['eta']:.6g}, beta = {s['beta']:.6g}, rate = {s['rate']:.6g}")
        lines.append(f"  (gradient descent's best rate: {rep['gd_rate']:.6g})")
        return "\n".join(lines)
    lines = [f"{rep['method']} at eta = {rep['eta']:g}, beta = {rep['beta']:g}: spectral radius "
             f"{rep['spectral_radius']:.6g}, " + ("converges" if rep["converges"] else "does NOT converge")]
    for e in rep["eigenvalues"]:
        roots = ", ".join(f"{z['re']:.6g}" if z["im"] == 0 else f"{z['re']:.6g}{z['im']:+.6g}i" for z in e["roots"])
        lines.append(f"  lambda = {e['lambda']:g}: roots {roots}; radius {e['spectral_radius']:.6g} ({e['regime']})")
    return "\n".join(lines)
