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


@lru_cache(maxsize=None)
def _momentum_coefficients(method: str):
    """a1(x, beta), a0(x, beta) of z^2 + a1 z + a0 (heavy ball / Nesterov on a quadratic), from the
    derivation's checked results, as mpmath functions (no overflow: an mpf's exponent is unbounded)."""
    from derive.rules import momentum

    d = momentum.heavy_ball_analysis() if method == "heavy-ball" else momentum.nesterov_analysis()
    r = checked_results(d, ("a1", "a0"))
    return tuple(sp.lambdify((momentum.x, momentum.beta), r[k], "mpmath") for k in ("a1", "a0"))


def momentum_roots(method: str, x: float, beta: float) -> dict:
    """Both roots of z^2 + a1 z + a0 at (x = eta*lambda, beta), largest modulus first, overflow-safe and
    accurate at any float x > 0: computed with mpmath at a precision that resolves 1 - x (so the radius
    1 - x/(1 - beta) + ... at x = 1e-300 is below 1, not rounded to 1), with the cancellation-free
    formula q = -(a1 + sign(a1) sqrt(a1^2 - 4 a0))/2, roots q and a0/q (real case).  Returns
    {"roots": (r1, r2) as complex (a component beyond a float is +-inf), "spectral_radius" (float; inf
    only if it truly exceeds ~1.8e308), "one_minus_radius" (float, exact to double precision),
    "converges" (radius < 1, decided in high precision), "regime"}."""
    import mpmath

    f1, f0 = _momentum_coefficients(method)
    extra = max(0, -math.frexp(x)[1]) if x > 0 else 0
    with mpmath.workprec(128 + extra + max(0, -math.frexp(1 - beta)[1] if beta < 1 else 0)):
        X, B = mpmath.mpf(x), mpmath.mpf(beta)
        a1, a0 = f1(X, B), f0(X, B)
        disc = a1 * a1 - 4 * a0
        if disc >= 0:
            sq = mpmath.sqrt(disc)
            q = -(a1 + sq) / 2 if a1 >= 0 else -(a1 - sq) / 2
            r1, r2 = mpmath.mpc(q), mpmath.mpc(a0 / q if q != 0 else 0)
        else:
            sq = mpmath.sqrt(-disc)
            r1, r2 = mpmath.mpc(-a1 / 2, sq / 2), mpmath.mpc(-a1 / 2, -sq / 2)
        if abs(r2) > abs(r1):
            r1, r2 = r2, r1
        radius = abs(r1)
        converges = bool(radius < 1)
        if not converges:
            regime = "unstable"
        elif abs(disc) <= 1e-9:
            regime = "critically damped"
        elif disc < 0:
            regime = "underdamped"
        else:
            regime = "sign-flipping" if r1.real < 0 else "overdamped"
        return {"roots": (complex(r1), complex(r2)), "spectral_radius": float(radius),
                "one_minus_radius": float(1 - radius), "converges": converges, "regime": regime}


def momentum_report(method: str, eigenvalues: list[float], eta: float, beta: float) -> dict:
    """Per eigenvalue: the roots of the characteristic polynomial, spectral radius and
    damping regime of heavy ball / Nesterov at (η, β) (:func:`momentum_roots`: no overflow, no
    rounding of the radius to 1 at tiny ηλ); overall radius and verdict.

    As in :func:`gd_report`, a flat direction (λ = 0: roots 1 and β) is "neutral", left out of the
    radius and the verdict (``flat_directions`` counts them).  A radius beyond a float's range
    (~1.8e308: Nesterov at ηλ near the largest float) is ``math.inf`` (JSON ``null``), with a note."""
    if method not in ("heavy-ball", "nesterov"):
        raise InputError(f"unknown method {method!r}; known: heavy-ball, nesterov")
    lams = check_eigenvalues(list(eigenvalues))
    eta = _finite_positive(eta, "--eta")
    if beta is None or not math.isfinite(beta) or not 0 <= beta < 1:
        raise InputError(f"--beta must be a finite number with 0 <= beta < 1, got {beta}")
    if not math.isfinite(eta * max(lams)):
        raise InputError(f"--eta {eta:g} times eigenvalue {max(lams):g} overflows a float")
    rows = []
    for lam in lams:
        r = momentum_roots(method, eta * lam, beta)
        rows.append({"lambda": lam, "roots": [_complex(z) for z in r["roots"]],
                     "spectral_radius": r["spectral_radius"], "one_minus_radius": r["one_minus_radius"],
                     "regime": "neutral" if lam == 0 else r["regime"], "converges": r["converges"]})
    live = [row for row in rows if row["lambda"] > 0]
    top = max(live, key=lambda row: (row["spectral_radius"], -row["one_minus_radius"]))
    out = {"method": method, "eta": eta, "beta": beta, "spectral_radius": top["spectral_radius"],
           "one_minus_radius": top["one_minus_radius"], "converges": all(row.pop("converges") for row in live),
           "flat_directions": len(rows) - len(live), "eigenvalues": rows}
    for row in rows:
        row.pop("converges", None)
    if math.isinf(top["spectral_radius"]):
        out["note"] = "the spectral radius exceeds the largest float (~1.8e308): reported as infinite (JSON null)"
    return out


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
    rho = rep["spectral_radius"]
    rho_text = (f"1 - {rep['one_minus_radius']:.3g} (rounds to 1)" if rho == 1 and rep["one_minus_radius"] > 0
                else f"{rho:.6g}")
    flat = rep.get("flat_directions", 0)
    where = " on the non-flat directions" if flat else ""
    lines = [f"{rep['method']} at eta = {rep['eta']:g}, beta = {rep['beta']:g}: spectral radius{where} "
             f"{rho_text}, " + (f"converges{where}" if rep["converges"] else f"does NOT converge{where}")]
    if "note" in rep:
        lines.append(f"  note: {rep['note']}")
    for e in rep["eigenvalues"]:
        roots = ", ".join(f"{z['re']:.6g}" if z["im"] == 0 else f"{z['re']:.6g}{z['im']:+.6g}i" for z in e["roots"])
        lines.append(f"  lambda = {e['lambda']:g}: roots {roots}; radius {e['spectral_radius']:.6g} ({e['regime']})")
    return "\n".join(lines)
