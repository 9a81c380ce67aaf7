"""``ldyn stability sgd``: mean-square stability and the stationary noise of SGD on a quadratic.

Two reports, both evaluated from the named results of checked derivations (lambdified once, with
mpmath so that no intermediate overflows or underflows; a float that cannot hold an answer is refused):

* :func:`mean_square_report` — per-sample curvatures a_1..a_n (1-D losses ℓ_i = a_i θ²/2), batch B:
  E θ⁺² = g E θ², g = (1 − ηa)² + η² c s², critical step η_c = 2a/(a² + c s²), a = mean a_i (sharpness),
  s = population std of the a_i (non-uniformity), c = (n − B)/(B(n − 1)) without replacement, 1/B with
  (``derive.stochastic.mean_square.sgd_mean_square``, ``derive.stochastic.noise.batch_noise``).  Wu, Ma &
  E's necessary conditions η ≤ 2/a and η ≤ 1/(s√c), necessary here because the model is one-dimensional (with
  non-commuting per-sample Hessians in d dimensions the second one is not; see ``sgd-mean-square-stability``) (Wu, Ma & E, "How SGD selects the global minima in
  over-parameterized learning", NeurIPS 2018).
* :func:`noise_report` — θ⁺ = θ − η(aθ + ξ), Var ξ = σ²/B: the stationary variance ησ²/(Ba(2 − ηa)) and
  excess loss (``derive.stochastic.moments.sgd_stationary_noise``) next to the first- and second-order
  stochastic modified equations' predictions and the exact modified SDE (an Ornstein–Uhlenbeck process
  matched to the recursion, for ηa < 1; ``derive.stochastic.sme.sme_quadratic``; Li, Tai & E, "Stochastic
  modified equations and dynamics of stochastic gradient algorithms I", JMLR 2019).
"""
from __future__ import annotations

import math
from functools import lru_cache

import sympy as sp

from verify.stability import InputError, _gd_closed_forms, checked_results

MAX_SAMPLES = 10**6  # per-sample curvatures accepted by the CLI
_DPS = 40  # mpmath digits: 1 − ηa and g − 1 are resolved well beyond a double's precision


# -- the derived results, lambdified ------------------------------------------------------------
@lru_cache(maxsize=1)
def _mean_square_forms() -> dict:
    """growth/critical step (with, without replacement), the variance factor c and the bound η ≤ 1/(s√c)
    as mpmath functions of (eta, a, s, B, n)."""
    from derive.stochastic import mean_square as ms, noise as nz

    r = checked_results(ms.sgd_mean_square(), ("growth_with", "growth_without", "eta_critical_with",
                                                "eta_critical_without"))
    f = checked_results(nz.batch_noise(), ("factor_with", "factor_without"))
    args = (ms.eta, ms.a, ms.s, ms.B, ms.n)
    out = {k: sp.lambdify(args, v, "mpmath") for k, v in r.items()}
    for k in ("with", "without"):
        out[f"factor_{k}"] = sp.lambdify((nz.B, nz.n), f[f"factor_{k}"], "mpmath")
        # Wu–Ma–E's second necessary condition: the noise part of the growth, g − g|_{s=0}, at most 1;
        # solved for the positive step from the derived growth (the first is GD's η ≤ 2/a)
        noise_part = sp.expand(r[f"growth_{k}"] - r[f"growth_{k}"].subs(ms.s, 0))
        roots = [x for x in sp.solve(sp.Eq(noise_part, 1), ms.eta) if x.is_positive is not False
                 and not x.could_extract_minus_sign()]
        if len(roots) != 1:
            raise RuntimeError(f"sgd-mean-square-stability: cannot solve {noise_part} = 1 for one positive step")
        out[f"noise_bound_{k}"] = sp.lambdify(args, roots[0], "mpmath")
        out[f"noise_part_{k}"] = sp.lambdify(args, noise_part, "mpmath")
    return out


@lru_cache(maxsize=1)
def _noise_forms() -> dict:
    """stationary variance / excess loss of the recursion (eta, a, sigma, B), the SMEs and the exact
    modified SDE (eta, a, sigma with sigma² the per-step noise variance), as mpmath functions."""
    from derive.stochastic import moments as mo, sme

    r = checked_results(mo.sgd_stationary_noise(), ("stationary_variance", "stationary_excess_loss"))
    q = checked_results(sme.sme_quadratic(), ("sme1_stationary_variance", "sme2_stationary_variance",
                                             "exact_drift", "exact_diffusion", "exact_stationary_variance"))
    loss_per_variance = sp.simplify(r["stationary_excess_loss"] / r["stationary_variance"])  # a/2
    if loss_per_variance.free_symbols - {mo.a}:
        raise RuntimeError(f"sgd-stationary-noise: excess loss / variance = {loss_per_variance} depends on more "
                           "than the curvature")
    out = {k: sp.lambdify((mo.eta, mo.a, mo.sigma, mo.B), v, "mpmath") for k, v in r.items()}
    out.update({k: sp.lambdify((sme.eta, sme.a, sme.sigma), v, "mpmath") for k, v in q.items()})
    out["loss_per_variance"] = sp.lambdify(mo.a, loss_per_variance, "mpmath")
    return out


# -- input ---------------------------------------------------------------------------------
def _finite(value, name: str, positive: bool = False, nonnegative: bool = False) -> float:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value}")
    if positive and value <= 0:
        raise InputError(f"{name} must be > 0, got {value:g}")
    if nonnegative and value < 0:
        raise InputError(f"{name} must be >= 0, got {value:g}")
    return float(value)


def _batch(batch) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise InputError(f"--batch must be a whole number >= 1, got {batch!r}")
    if batch < 1:
        raise InputError(f"--batch must be a whole number >= 1, got {batch}")
    return batch


def _float_out(x, what: str) -> float:
    """A mpmath number as a float; a value beyond a float's range is refused (never inf/NaN)."""
    import mpmath

    v = float(x)
    if not math.isfinite(v):
        raise InputError(f"{what} = {mpmath.nstr(x, 6)} does not fit in a float: rescale the problem "
                         "(curvatures, step, noise)")
    return v


def _sharpness_nonuniformity(values: list[float]) -> tuple:
    """(a, s) = (mean, population std) of ``values`` as mpf, without overflow: scaled by max |a_i|,
    summed with ``math.fsum``; s is exactly 0 when all values are equal."""
    import mpmath
    import numpy as np

    x = np.asarray(values, dtype=float)
    n = x.size
    scale = float(np.max(np.abs(x)))
    if scale == 0:
        return mpmath.mpf(0), mpmath.mpf(0)
    y = x / scale
    m = math.fsum(y) / n
    var = 0.0 if np.all(x == x[0]) else math.fsum((y - m) ** 2) / n
    return mpmath.mpf(m) * scale, mpmath.sqrt(mpmath.mpf(var)) * scale


# -- mean-square stability ---------------------------------------------------------------
def mean_square_report(curvatures: list[float], batch: int, with_replacement: bool = False,
                       eta: float | None = None) -> dict:
    """Mean-square stability of SGD on ℓ_i = a_i θ²/2 with batches of ``batch`` samples (distinct
    ones unless ``with_replacement``): E θ⁺² = g E θ², g = (1 − ηa)² + η² c s², η_c = 2a/(a² + c s²);
    with ``eta``, the growth factor g and ``converges`` (g < 1).  GD's threshold 2/a is reported
    for comparison (η_c ≤ 2/a, equal iff c s² = 0) with Wu–Ma–E's necessary conditions (in 1-D) η ≤ 2/a and
    η ≤ 1/(s√c).  n = 1 (or B = n without replacement) has no gradient noise: c s² = 0 and SGD is GD."""
    import mpmath

    values = list(curvatures)
    if not values:
        raise InputError("give at least one per-sample curvature, e.g. --per-sample-curvatures 1,3")
    if len(values) > MAX_SAMPLES:
        raise InputError(f"at most {MAX_SAMPLES} per-sample curvatures, got {len(values)}")
    for v in values:
        _finite(v, "a per-sample curvature")
    n, B = len(values), _batch(batch)
    if not with_replacement and B > n:
        raise InputError(f"--batch {B} is larger than the data set (n = {n}); without replacement a batch holds "
                         "at most n distinct samples (add --with-replacement to draw with replacement)")
    if eta is not None:
        eta = _finite(eta, "--eta", positive=True)
    a, s = _sharpness_nonuniformity(values)
    if a <= 0:
        raise InputError(f"the mean curvature (sharpness) a = {float(a):g} is <= 0: no step size is mean-square "
                         "stable (E theta^2 never shrinks); SGD needs a minimum, a > 0")
    f = _mean_square_forms()
    kind = "with" if with_replacement else "without"
    notes = []
    with mpmath.workdps(_DPS):
        if n == 1:  # one sample: every batch is that sample, s = 0, no noise (c is 0/0 without replacement)
            c = mpmath.mpf(0) if not with_replacement else f["factor_with"](B, n)
            kind_eval, s = "with", mpmath.mpf(0)
            notes.append("n = 1: every batch is the one sample, there is no gradient noise (s = 0), SGD is GD")
        else:
            c = f[f"factor_{kind}"](B, n)
            kind_eval = kind
        ev = lambda name, e=None: f[f"{name}_{kind_eval}"](mpmath.mpf(0) if e is None else e, a, s, B, n)  # noqa: E731
        eta_c = ev("eta_critical")
        gd_c = mpmath.mpf(_gd_closed_forms()["eta_critical"](a))  # GD's 2/lambda_max at lambda_max = a
        noisy = bool(c > 0 and s > 0)
        noise_bound = ev("noise_bound") if noisy else None
        if not noisy and n > 1:
            notes.append("the batch is the whole data set (B = n, without replacement): no gradient noise, SGD is GD"
                         if c == 0 else "all per-sample curvatures are equal (s = 0): no noise in the curvature")
        out = {"method": "sgd", "mode": "mean-square", "n": n, "batch": B,
               "sampling": "with replacement" if with_replacement else "without replacement",
               "variance_factor": _float_out(c, "the variance factor c"),
               "sharpness": _float_out(a, "the sharpness a"), "nonuniformity": _float_out(s, "the non-uniformity s"),
               "eta_critical": _float_out(eta_c, "the critical step"),
               "gd_eta_critical": _float_out(gd_c, "GD's critical step 2/a"),
               "smaller": "sgd" if noisy else "equal",
               "necessary_conditions": {"sharpness": {"condition": "eta <= 2/a",
                                                      "eta_bound": _float_out(gd_c, "2/a")},
                                        "nonuniformity": {"condition": "eta <= 1/(s*sqrt(c))",
                                                          "eta_bound": None if noise_bound is None else
                                                          _float_out(noise_bound, "1/(s sqrt(c))")}},
               "negative_curvatures": sum(1 for v in values if v < 0)}
        if out["negative_curvatures"]:
            notes.append(f"{out['negative_curvatures']} per-sample curvature(s) < 0: the minimum of L is a saddle or "
                         "maximum of those samples' losses (the mean-square analysis still holds)")
        if eta is not None:
            e = mpmath.mpf(eta)
            g = ev("growth", e)
            out.update(eta=eta, mean_square_growth=_float_out(g, "the mean-square growth factor"),
                       converges=bool(g < 1))
            drift = (1 - e * a) ** 2
            noise = ev("noise_part", e) if noisy else mpmath.mpf(0)
            out["necessary_conditions"]["sharpness"].update(term=_float_out(drift, "(1 - eta a)^2"),
                                                            holds=bool(drift <= 1))
            out["necessary_conditions"]["nonuniformity"].update(term=_float_out(noise, "eta^2 c s^2"),
                                                                holds=bool(noise <= 1))
    if notes:
        out["notes"] = notes
    return out


def format_mean_square_report(rep: dict) -> str:
    nc = rep["necessary_conditions"]
    bound = nc["nonuniformity"]["eta_bound"]
    c_text = "1/B" if rep["sampling"] == "with replacement" else "(n - B)/(B(n - 1))"
    if rep["n"] == 1 and rep["sampling"] == "without replacement":
        c_text = "c (n = B = 1: a single batch)"
    rows = [("sharpness", "a = mean of the a_i", rep["sharpness"]),
            ("non-uniformity", "s = std of the a_i (population)", rep["nonuniformity"]),
            ("variance factor", f"c = {c_text}", rep["variance_factor"]),
            ("mean-square critical step", "eta_c = 2a/(a^2 + c s^2)", rep["eta_critical"]),
            ("gradient descent's step", "2/a", rep["gd_eta_critical"])]
    lines = [f"SGD on n = {rep['n']} per-sample quadratics l_i = a_i theta^2/2, batch B = {rep['batch']} "
             f"({rep['sampling']})"]
    lines += [f"  {name:26s} {formula:33s} = {value:.6g}" for name, formula, value in rows]
    lines[-1] += "   (" + ("SGD's critical step is smaller" if rep["smaller"] == "sgd"
                           else "equal to SGD's: no gradient noise") + ")"
    lines.append("  Wu-Ma-E necessary conditions (1-D): eta <= 2/a = " + f"{nc['sharpness']['eta_bound']:.6g}"
                 + " and eta <= 1/(s sqrt(c)) = " + ("no bound (c s^2 = 0)" if bound is None else f"{bound:.6g}"))
    if "eta" in rep:
        verdict = "converges (E theta^2 -> 0)" if rep["converges"] else "does NOT converge (E theta^2 does not shrink)"
        lines.append(f"  at eta = {rep['eta']:g}: E theta^2 is multiplied by g = (1 - eta a)^2 + eta^2 c s^2 = "
                     f"{rep['mean_square_growth']:.6g} per step: {verdict}")
        for key, text in (("sharpness", "(1 - eta a)^2"), ("nonuniformity", "eta^2 c s^2")):
            row = nc[key]
            verdict = "<= 1 (holds)" if row["holds"] else "> 1 (violated)"
            lines.append(f"    {text:13s} = {row['term']:.6g} {verdict}")
    for note in rep.get("notes", []):
        lines.append(f"  note: {note}")
    return "\n".join(lines)


# -- stationary noise ----------------------------------------------------------------------
def noise_report(curvature: float, noise: float, eta: float, batch: int = 1) -> dict:
    """SGD θ⁺ = θ − η(aθ + ξ) with Var ξ = σ²/B (σ: one sample's gradient-noise std): the stationary
    variance ησ²/(Ba(2 − ηa)) and excess loss a·variance/2 (none when ηa ≥ 2), the first- and
    second-order SMEs' stationary variances ησ_B²/(2a) and ησ_B²/(a(2 + ηa)) (σ_B² = σ²/B) with their
    relative errors, and for ηa < 1 the exact modified SDE dθ = −ã θ dt + √D dW whose OU transition
    over time η is the recursion (ã = −log(1 − ηa)/η)."""
    import mpmath

    a = _finite(curvature, "--curvature")
    if a <= 0:
        raise InputError(f"--curvature must be > 0 (a minimum), got {a:g}: with a <= 0 the noise accumulates and "
                         "there is no stationary distribution")
    sigma = _finite(noise, "--noise", nonnegative=True)
    eta = _finite(eta, "--eta", positive=True)
    B = _batch(batch)
    f = _noise_forms()
    with mpmath.workdps(_DPS):
        A, S, E = mpmath.mpf(a), mpmath.mpf(sigma), mpmath.mpf(eta)
        x = E * A
        step_sigma = S / mpmath.sqrt(B)
        per_loss = f["loss_per_variance"](A)
        sme1, sme2 = f["sme1_stationary_variance"](E, A, step_sigma), f["sme2_stationary_variance"](E, A, step_sigma)
        out = {"method": "sgd", "mode": "noise", "curvature": a, "noise": sigma, "batch": B, "eta": eta,
               "eta_times_curvature": _float_out(x, "eta a"),
               "step_noise_variance": _float_out(step_sigma ** 2, "sigma^2/B"),
               "stationary_variance": None, "stationary_excess_loss": None,
               "sme1_stationary_variance": _float_out(sme1, "the first-order SME's variance"),
               "sme1_stationary_excess_loss": _float_out(per_loss * sme1, "the first-order SME's excess loss"),
               "sme2_stationary_variance": _float_out(sme2, "the second-order SME's variance"),
               "sme2_stationary_excess_loss": _float_out(per_loss * sme2, "the second-order SME's excess loss"),
               "sme1_relative_error": None, "sme2_relative_error": None,
               "exact_drift": None, "exact_diffusion": None, "exact_stationary_variance": None}
        if x >= 2:
            out["reason"] = (f"eta a = {float(x):.6g} >= 2: the mean follows theta+ = (1 - eta a) theta with "
                             "|1 - eta a| >= 1 and never settles")
        else:
            var = f["stationary_variance"](E, A, S, B)
            out["stationary_variance"] = _float_out(var, "the stationary variance")
            out["stationary_excess_loss"] = _float_out(f["stationary_excess_loss"](E, A, S, B),
                                                       "the stationary excess loss")
            # relative errors do not depend on sigma (every variance is proportional to sigma^2): at sigma = 1
            one = f["stationary_variance"](E, A, mpmath.mpf(1), 1)
            for k in ("sme1", "sme2"):
                out[f"{k}_relative_error"] = _float_out(f[f"{k}_stationary_variance"](E, A, mpmath.mpf(1)) / one - 1,
                                                        f"the relative error of the {k}")
        if x < 1:
            out["exact_drift"] = _float_out(f["exact_drift"](E, A, step_sigma), "the exact SDE's drift")
            out["exact_diffusion"] = _float_out(f["exact_diffusion"](E, A, step_sigma), "the exact SDE's diffusion")
            out["exact_stationary_variance"] = _float_out(f["exact_stationary_variance"](E, A, step_sigma),
                                                          "the exact SDE's variance")
        else:
            out["exact_sde_reason"] = (f"eta a = {float(x):.6g} >= 1: the factor 1 - eta a <= 0 is no OU transition "
                                       "exp(-a~ eta) > 0, so no SDE reproduces the recursion exactly")
    return out


def format_noise_report(rep: dict) -> str:
    def num(v):
        return "-" if v is None else f"{v:.6g}"

    def rel(v):
        return "" if v is None else f"   (relative error {v:+.3g})"

    lines = [f"SGD theta+ = theta - eta (a theta + xi) at a = {rep['curvature']:g}, eta = {rep['eta']:g} "
             f"(eta a = {rep['eta_times_curvature']:.6g}); noise per step v = Var xi = sigma^2/B = "
             f"{rep['noise']:g}^2/{rep['batch']} = {rep['step_noise_variance']:.6g}"]
    if rep["stationary_variance"] is None:
        lines.append(f"  no stationary distribution: {rep['reason']} (the SMEs below are stable at every eta: "
                     "they predict a stationary state SGD does not have)")
    rows = [("exact: the recursion", "eta v/(a(2 - eta a))", "stationary_variance", "stationary_excess_loss", None),
            ("first-order SME", "eta v/(2a)", "sme1_stationary_variance", "sme1_stationary_excess_loss",
             rep["sme1_relative_error"]),
            ("second-order SME", "eta v/(a(2 + eta a))", "sme2_stationary_variance", "sme2_stationary_excess_loss",
             rep["sme2_relative_error"])]
    lines.append(f"  {'stationary':20s} {'':22s} {'variance':>12s} {'excess loss':>12s}")
    for name, formula, var, loss, err in rows:
        lines.append(f"  {name:20s} {formula:22s} {num(rep[var]):>12s} {num(rep[loss]):>12s}{rel(err)}")
    if rep["exact_drift"] is not None:
        lines.append("  exact modified SDE d theta = -a~ theta dt + sqrt(D) dW (its OU transition over time eta is "
                     "the recursion):")
        lines.append(f"    a~ = -log(1 - eta a)/eta = {rep['exact_drift']:.6g}, D = {rep['exact_diffusion']:.6g}, "
                     f"stationary variance D/(2 a~) = {rep['exact_stationary_variance']:.6g}")
    else:
        lines.append(f"  exact modified SDE: none ({rep['exact_sde_reason']})")
    if rep["noise"] == 0 and rep["sme1_relative_error"] is not None:
        lines.append("  (sigma = 0: every variance is 0; the relative errors are those at any sigma > 0)")
    return "\n".join(lines)
