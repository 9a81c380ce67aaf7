"""Stochastic learning dynamics (``ldyn experiment``): minibatch SGD simulated with
:mod:`numeric.stochastic` against the results derived in :mod:`derive.stochastic`.

* ``sgd_noise``: SGD on f = aθ²/2 with finite-data gradient noise; the stationary variance and excess
  loss over the step size, Monte Carlo (t-interval) and exact moment enumeration vs the exact AR(1)
  value ησ²/(Ba(2 − ηa)) and the first- and second-order stochastic modified equations
  (Li, Tai & E 2017/2019), whose relative errors are −ηa/2 and −ηa to leading order.
* ``batch_size_stability``: the mean-square critical step 2a/(a² + c s²) over the batch size B, with
  and without replacement (Wu, Ma & E 2018), against the step where the measured E θ_T²/θ_0² crosses 1.
* ``sharpness_selection``: a family of interpolating minima in the (sharpness a, non-uniformity s)
  plane at a fixed step: GD keeps every minimum with a < 2/η, SGD only those with
  (1 − ηa)² + η² c s² < 1; measured escape vs the derived classification.

Measured values come from :mod:`numeric.stochastic` (``sgd_paths`` Monte Carlo with Student-t intervals,
``exact_moments`` enumeration of every batch); expected values are the lambdified results of
``sgd-stationary-noise``, ``sgd-modified-sde`` and ``sgd-mean-square-stability``.  c is the variance
factor of a batch mean: 1/B with replacement, (n − B)/(B(n − 1)) without.

References: L. Wu, C. Ma, W. E, "How SGD selects the global minima in over-parameterized learning: a
dynamical stability perspective", NeurIPS 2018; Q. Li, C. Tai, W. E, "Stochastic modified equations and
adaptive stochastic gradient algorithms", ICML 2017, and "Stochastic modified equations and dynamics of
stochastic gradient algorithms I: mathematical foundations", JMLR 20 (2019).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from verify.experiments import claim

CONFIDENCE = 0.999  # every Monte Carlo interval is a 99.9% Student-t interval


@functools.lru_cache(maxsize=1)
def _derived() -> dict:
    """The derived results used here, lambdified once (NumPy callables)."""
    import sympy as sp

    from derive.stochastic import mean_square as ms
    from derive.stochastic import moments as mo
    from derive.stochastic import sme

    noise = mo.sgd_stationary_noise().results
    stab = ms.sgd_mean_square().results
    sde = sme.sme_quadratic().results
    out = {
        "stationary_variance": sp.lambdify((mo.eta, mo.a, mo.sigma, mo.B), noise["stationary_variance"]),
        "stationary_excess_loss": sp.lambdify((mo.eta, mo.a, mo.sigma, mo.B), noise["stationary_excess_loss"]),
    }
    for key in ("sme1_stationary_variance", "sme2_stationary_variance", "exact_stationary_variance"):
        out[key] = sp.lambdify((sme.eta, sme.a, sme.sigma), sde[key])
    # leading terms of the SMEs' relative errors, ratio - 1 expanded to first order in eta
    for k in (1, 2):
        ratio = sde[f"sme{k}_stationary_variance"] / sde["exact_stationary_variance"] - 1
        lead = sp.series(ratio, sme.eta, 0, 2).removeO()
        out[f"sme{k}_leading_error"] = sp.lambdify((sme.eta, sme.a), lead)
        out[f"sme{k}_leading_error_text"] = str(lead)
    args = (ms.eta, ms.a, ms.s, ms.B, ms.n)
    for key in ("growth_with", "growth_without", "eta_critical_with", "eta_critical_without"):
        out[key] = sp.lambdify(args, stab[key])
    return out


def _growth(eta, a, s, batch, n, with_replacement):
    """Derived mean-square growth factor of E θ² per step."""
    key = "growth_with" if with_replacement else "growth_without"
    return _derived()[key](eta, a, s, batch, n)


def _eta_critical(a, s, batch, n, with_replacement):
    """Derived mean-square critical step."""
    key = "eta_critical_with" if with_replacement else "eta_critical_without"
    return float(_derived()[key](0.0, a, s, batch, n))


def _offsets(rng, n: int, sigma: float) -> np.ndarray:
    """n per-sample gradient offsets with mean 0 and population standard deviation σ exactly."""
    g = rng.standard_normal(n)
    g -= g.mean()
    return g * (sigma / g.std())


# ----------------------------------------------------------------------------------------------- sgd-noise
NOISE_ETA_A = (0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 1.3, 1.6, 1.8)  # the values of ηa swept
SMALL_ETA_A = 0.1  # the SMEs' leading error terms are checked at ηa <= this
LARGE_ETA_A = 1.0  # the SMEs are claimed to miss the Monte Carlo interval at ηa >= this


def _stationary_mc(curv, offsets, eta, batch, paths, rng, transient=1e-4):
    """Monte Carlo of the stationary E θ² of SGD from θ_0 = 0: burn in until the transient factor
    (1 − ηa)^{2t} is below ``transient``, then average θ_t² over a window on each path; the per-path
    averages are independent, so their t-interval is valid. Returns (mean, half_width, steps)."""
    from numeric.stochastic import monte_carlo, sgd

    a = float(np.mean(curv))
    r = abs(1.0 - eta * a)
    burn = 1 if r < 1e-12 else max(1, math.ceil(math.log(transient) / (2.0 * math.log(r))))
    window = max(20, math.ceil(10.0 / min(eta * a, 2.0 - eta * a)))
    x = sgd.sgd_paths(curv, offsets, 0.0, eta, batch, burn + window, paths, rng, with_replacement=True)
    per_path = np.mean(x[burn + 1:] ** 2, axis=0)
    mean, half = monte_carlo.mean_ci(per_path, confidence=CONFIDENCE)
    return mean, half, burn + window


def _stationary_exact(curv, offsets, eta, batch, tol=1e-13):
    """E θ² after enough steps from θ_0 = 0 that the transient is below ``tol``, by exact enumeration of
    every batch at every step (``numeric.stochastic.sgd.exact_moments``)."""
    from numeric.stochastic import sgd

    r = abs(1.0 - eta * float(np.mean(curv)))
    steps = 1 if r < 1e-12 else max(1, math.ceil(math.log(tol) / (2.0 * math.log(r))))
    m = sgd.exact_moments(curv, offsets, 0.0, eta, batch, steps, with_replacement=True)
    return float(m["second"][-1, 0, 0])


def sgd_noise(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """SGD on n = 16 per-sample losses ℓ_i = aθ²/2 + g_iθ (common curvature a = 1, offsets g_i with mean 0
    and population std σ = 1): the minibatch gradient is aθ + ξ with Var ξ = σ²/B (batch B = 4 drawn with
    replacement). Over ηa from 0.05 to 1.8: the stationary E θ² measured by Monte Carlo (20 000 paths,
    burn-in, per-path time averages, 99.9% t-interval; ``full``: 80 000) and by exact enumeration of the
    batch distribution, vs the derived exact ησ²/(Ba(2 − ηa)) (``sgd-stationary-noise``) and the first- and
    second-order SMEs ``sgd-modified-sde`` with per-step noise variance σ²/B; the excess loss L − L* = aθ²/2.
    """
    d = _derived()
    n, batch, a, sigma = 16, 4, 1.0, 1.0
    paths = 80_000 if full else 20_000
    rng = np.random.default_rng(seed)
    offsets = _offsets(rng, n, sigma)
    curv = np.full(n, a)
    sigma_step = sigma / math.sqrt(batch)  # the SMEs' per-step noise: batch folded in
    rows = []
    for k, x in enumerate(NOISE_ETA_A):
        progress(k, len(NOISE_ETA_A))
        eta = x / a
        mean, half, steps = _stationary_mc(curv, offsets, eta, batch, paths, rng)
        rows.append({
            "eta_a": x, "eta": eta, "steps": steps,
            "measured_variance": mean, "half_width": half,
            "enumerated_variance": _stationary_exact(curv, offsets, eta, batch),
            "exact_variance": float(d["stationary_variance"](eta, a, sigma, batch)),
            "sme_exact_variance": float(d["exact_stationary_variance"](eta, a, sigma_step)),
            "sme1_variance": float(d["sme1_stationary_variance"](eta, a, sigma_step)),
            "sme2_variance": float(d["sme2_stationary_variance"](eta, a, sigma_step)),
            "measured_excess_loss": a * mean / 2, "excess_half_width": a * half / 2,
            "exact_excess_loss": float(d["stationary_excess_loss"](eta, a, sigma, batch)),
        })
    progress(len(NOISE_ETA_A), len(NOISE_ETA_A))
    for r in rows:
        r["interval_error_exact"] = abs(r["measured_variance"] - r["exact_variance"]) / r["half_width"]
        r["interval_error_excess"] = abs(r["measured_excess_loss"] - r["exact_excess_loss"]) / r["excess_half_width"]
        for k in (1, 2):
            v = r[f"sme{k}_variance"]
            r[f"sme{k}_relative_error"] = v / r["measured_variance"] - 1
            # the interval of the measured mean, carried to v / mean - 1 (monotone in the mean)
            m, h = r["measured_variance"], r["half_width"]
            r[f"sme{k}_relative_half_width"] = v * h / (m * m - h * h)
            r[f"sme{k}_leading_error"] = float(d[f"sme{k}_leading_error"](r["eta"], a))
            r[f"sme{k}_interval_error"] = abs(r["measured_variance"] - v) / r["half_width"]

    ou_err = max(abs(r["measured_variance"] - r["sme_exact_variance"]) / r["half_width"] for r in rows
                 if r["eta_a"] < 1)
    worst_exact = max(max(r["interval_error_exact"], r["interval_error_excess"]) for r in rows)
    enum_err = max(abs(r["enumerated_variance"] / r["exact_variance"] - 1) for r in rows)
    small = [r for r in rows if r["eta_a"] <= SMALL_ETA_A]
    large = [r for r in rows if r["eta_a"] >= LARGE_ETA_A]
    claims = [
        claim("derived stationary variance eta sigma^2/(B a (2 - eta a)) and excess loss eta sigma^2/(2B(2 - eta a)) "
              "inside the 99.9%% Monte Carlo t-interval at every eta a in %s: max |measured - derived| / half-width"
              % (list(NOISE_ETA_A),), worst_exact, "<= 1", worst_exact <= 1.0),
        claim("exact enumeration of every batch (exact_moments, run to stationarity) vs the derived stationary "
              "variance: max relative difference", enum_err, "<= 1e-9", enum_err <= 1e-9),
        claim("stationary variance of the exact modified SDE (the OU process matched to SGD's AR(1); it exists for "
              "eta a < 1) inside the 99.9% Monte Carlo interval at every eta a < 1: max |measured - derived| / "
              "half-width", ou_err, "<= 1", ou_err <= 1.0),
    ]
    for k in (1, 2):
        # |measured relative error - derived leading term| <= the MC interval + the O((eta a)^2) remainder
        dev = [abs(r[f"sme{k}_relative_error"] - r[f"sme{k}_leading_error"])
               - r[f"sme{k}_relative_half_width"] - r["eta_a"] ** 2 for r in small]
        claims.append(claim(
            "SME%d's measured relative error (SME - MC)/MC at eta a <= %g matches its derived leading term %s "
            "within the MC interval + (eta a)^2: measured errors" % (k, SMALL_ETA_A, d[f"sme{k}_leading_error_text"]),
            [r[f"sme{k}_relative_error"] for r in small], [r[f"sme{k}_leading_error"] for r in small],
            max(dev) <= 0.0))
    miss = min(min(r["sme1_interval_error"], r["sme2_interval_error"]) for r in large)
    claims.append(claim("at eta a >= %g both SMEs' stationary variances lie outside the 99.9%% Monte Carlo interval: "
                        "min |SME - measured| / half-width" % LARGE_ETA_A, miss, "> 1", miss > 1.0))
    fig = _noise_figure(rows, a, sigma, batch)
    summary = {"n": n, "batch": batch, "with_replacement": True, "curvature": a, "noise_std": sigma,
               "paths": paths, "rows": rows, "claims": claims}
    return fig, summary


def _noise_figure(rows, a, sigma, batch):
    from verify.figures.backend import _plt

    plt = _plt()
    d = _derived()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    x = np.linspace(0.02, 1.9, 300)
    eta = x / a
    s_step = sigma / math.sqrt(batch)
    xs = np.array([r["eta_a"] for r in rows])
    curves = {"exact (AR(1))": d["stationary_variance"](eta, a, sigma, batch),
              "SME order 1": d["sme1_stationary_variance"](eta, a, s_step) * np.ones_like(eta),
              "SME order 2": d["sme2_stationary_variance"](eta, a, s_step)}
    styles = {"exact (AR(1))": ("k", "-"), "SME order 1": ("tab:blue", "--"), "SME order 2": ("tab:orange", "-.")}
    norm = eta * sigma**2 / (2 * a * batch)  # SME1's value: the curves are divided by it
    ax = axes[0]
    for label, v in curves.items():
        ax.plot(x, v / norm, color=styles[label][0], ls=styles[label][1], label=label)
    mnorm = np.array([r["eta"] * sigma**2 / (2 * a * batch) for r in rows])
    ax.errorbar(xs, [r["measured_variance"] for r in rows] / mnorm, yerr=[r["half_width"] for r in rows] / mnorm,
                fmt="o", color="tab:red", ms=5, capsize=3, label="Monte Carlo (99.9% CI)")
    ax.plot(xs, [r["enumerated_variance"] for r in rows] / mnorm, "x", color="k", ms=7, label="exact enumeration")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\eta a$")
    ax.set_ylabel(r"stationary $E\,\theta^2$ / ($\eta\sigma^2/2aB$)")
    ax.set_title("stationary variance")
    ax.legend(fontsize=8)
    ax = axes[1]
    for label, v in curves.items():
        ax.plot(eta, a * v / 2, color=styles[label][0], ls=styles[label][1], label=label)
    ax.errorbar([r["eta"] for r in rows], [r["measured_excess_loss"] for r in rows],
                yerr=[r["excess_half_width"] for r in rows], fmt="o", color="tab:red", ms=5, capsize=3,
                label="Monte Carlo (99.9% CI)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"step size $\eta$")
    ax.set_ylabel(r"stationary excess loss $E\,L(\theta) - L^*$")
    ax.set_title(f"excess loss (a = {a:g}, sigma = {sigma:g}, B = {batch})")
    ax.legend(fontsize=8)
    ax = axes[2]
    for k, color in ((1, "tab:blue"), (2, "tab:orange")):
        ax.plot(x, d[f"sme{k}_stationary_variance"](eta, a, s_step) / curves["exact (AR(1))"] - 1, color=color,
                label=f"SME{k} / exact - 1")
        ax.plot(x, d[f"sme{k}_leading_error"](eta, a) * np.ones_like(x), color=color, ls=":",
                label=f"leading term {d[f'sme{k}_leading_error_text']}")
        ax.errorbar(xs, [r[f"sme{k}_relative_error"] for r in rows],
                    yerr=[r[f"sme{k}_relative_half_width"] for r in rows], fmt="o", color=color, ms=4, capsize=3,
                    label=f"SME{k} / Monte Carlo - 1")
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_ylim(-1.05, 0.1)
    ax.set_xlabel(r"$\eta a$")
    ax.set_ylabel("relative error of the SME's stationary variance")
    ax.set_title("SME errors: order 2 is worse at stationarity")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------ batch-size-stability
BATCHES = (1, 2, 4, 8, 16)
GROWTH_STEPS = 2  # T: the measured growth is E θ_T² / θ_0²; short, because the T-step ratio is heavy-tailed
GRID = np.linspace(0.1, 1.2, 12)  # η a / 2: the grid that brackets the crossing for bisection


def _curvatures(rng, n: int, shape: float = 1.5) -> np.ndarray:
    """n per-sample curvatures a_i >= 0 (gamma distributed, then scaled to mean a = 1)."""
    c = rng.gamma(shape, size=n)
    return c / c.mean()


def _measured_growth(curv, eta, batch, with_replacement, paths, seed):
    """Per-path ratios θ_T² / θ_0² of SGD at the minimum (zero offsets), T = GROWTH_STEPS. The generator is
    seeded afresh on every call: every η sees the same batches (common random numbers), so the measured
    growth is a smooth function of η and bisection on it is well defined."""
    from numeric.stochastic import sgd

    rng = np.random.default_rng(seed)
    x = sgd.sgd_paths(curv, None, 1.0, eta, batch, GROWTH_STEPS, paths, rng, with_replacement=with_replacement)
    return x[-1] ** 2


BISECT_RTOL = 1e-5  # far below the Monte Carlo error (about 1%)


def _measured_threshold(curv, batch, with_replacement, paths, seed, rtol=BISECT_RTOL):
    """The η where the Monte Carlo E θ_T²/θ_0² crosses 1 (bracketed on a grid, then bisection), with the
    half-width of its 99.9% interval: the t-interval of E θ_T²/θ_0² at the crossing divided by the
    measured slope of E θ_T²/θ_0² in η there (delta method). Also returns the grid of measured growths."""
    from numeric.stochastic import monte_carlo
    from numeric.step_size import bisect_threshold

    a = float(np.mean(curv))

    def mean_ratio(eta):
        return float(np.mean(_measured_growth(curv, eta, batch, with_replacement, paths, seed)))

    grid = []
    for eta in GRID * 2.0 / a:
        m, h = monte_carlo.mean_ci(_measured_growth(curv, eta, batch, with_replacement, paths, seed),
                                   confidence=CONFIDENCE)
        grid.append((float(eta), m, h))
    above = [k for k, (_, m, _) in enumerate(grid) if m >= 1.0]
    if not above or above[0] == 0:
        return math.nan, math.nan, grid
    k = above[0]
    eta_star = bisect_threshold(lambda e: mean_ratio(e) >= 1.0, grid[k - 1][0], grid[k][0], rtol)
    _, half = monte_carlo.mean_ci(_measured_growth(curv, eta_star, batch, with_replacement, paths, seed),
                                  confidence=CONFIDENCE)
    h = 0.01 * eta_star
    slope = (mean_ratio(eta_star + h) - mean_ratio(eta_star - h)) / (2 * h)
    return eta_star, half / abs(slope), grid


def _enumerated_growth(curv, eta, batch, with_replacement):
    """The exact one-step E θ_1²/θ_0² by enumerating every batch (None when there are too many)."""
    from numeric.stochastic import sampling, sgd

    if sampling.batch_count(curv.size, batch, with_replacement) > 20_000:
        return None
    m = sgd.exact_moments(curv, None, 1.0, eta, batch, 1, with_replacement=with_replacement)
    return float(m["second"][1, 0, 0])


def batch_size_stability(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Mean-square stability at an interpolating minimum (every per-sample gradient vanishes): n = 16
    per-sample curvatures a_i (gamma, scaled to mean a = 1; s = their population std), SGD with batch
    B = 1, 2, 4, 8, 16 drawn with and without replacement. Measured: the η where the Monte Carlo
    E θ_T²/θ_0² (T = 2 steps, 40 000 paths; ``full``: 160 000) crosses 1, by grid and bisection with
    common random numbers, with a delta-method 99.9% interval; derived: ``sgd-mean-square-stability``'s
    2a/(a² + c s²), c = 1/B or (n − B)/(B(n − 1)) (Wu, Ma & E 2018). Cross-check: the exact one-step growth
    by enumerating every batch equals 1 at the derived threshold."""
    n = 16
    paths = 160_000 if full else 40_000
    rng = np.random.default_rng(seed)
    curv = _curvatures(rng, n)
    a, s = float(curv.mean()), float(curv.std())
    configs = [(wr, b) for wr in (True, False) for b in BATCHES]
    rows = []
    for k, (wr, b) in enumerate(configs):
        progress(k, len(configs))
        predicted = _eta_critical(a, s, b, n, wr)
        eta_m, half, grid = _measured_threshold(curv, b, wr, paths, seed * 1000 + 100 * wr + b)
        enum = _enumerated_growth(curv, predicted, b, wr)
        rows.append({"with_replacement": wr, "batch": b, "derived": predicted, "measured": eta_m,
                     "half_width": half, "interval_error": abs(eta_m - predicted) / half if half > 0 else
                     (0.0 if abs(eta_m - predicted) <= BISECT_RTOL * predicted else math.inf),
                     "relative_error": eta_m / predicted - 1,
                     "enumerated_growth_at_derived": enum, "grid": grid})
    progress(len(configs), len(configs))
    noisy = [r for r in rows if not (not r["with_replacement"] and r["batch"] == n)]
    gd = [r for r in rows if not r["with_replacement"] and r["batch"] == n][0]
    worst = max(r["interval_error"] for r in noisy)
    rel = max(abs(r["relative_error"]) for r in noisy)
    enum = [abs(r["enumerated_growth_at_derived"] - 1) for r in rows if r["enumerated_growth_at_derived"] is not None]
    claims = [
        claim("derived mean-square critical step 2a/(a^2 + c s^2) inside the 99.9%% interval of the measured "
              "crossing of E theta_T^2/theta_0^2 = 1, for B in %s with and without replacement: max |measured - "
              "derived| / half-width" % (list(BATCHES),), worst, "<= 1", worst <= 1.0),
        claim("measured vs derived critical step: max relative difference (the intervals' half-widths are at most "
              "%.1f%%)" % (100 * max(r["half_width"] / r["measured"] for r in noisy)), rel, "<= 0.03",
              rel <= 0.03),
    ]
    for wr in (True, False):
        meas = [r["measured"] for r in rows if r["with_replacement"] == wr]
        claims.append(claim("measured critical step increases with the batch size (%s replacement)"
                            % ("with" if wr else "without"), meas, [r["derived"] for r in rows
                                                                    if r["with_replacement"] == wr],
                            bool(np.all(np.diff(meas) > 0))))
    claims += [
        claim("B = n without replacement is GD: measured critical step vs the derived one and GD's 2/a (relative "
              "tolerance: the bisection's %g)" % BISECT_RTOL,
              gd["measured"], [gd["derived"], 2.0 / a],
              abs(gd["measured"] / gd["derived"] - 1) <= BISECT_RTOL and abs(gd["derived"] * a / 2 - 1) <= 1e-12),
        claim("exact enumeration of every batch: one-step growth E theta_1^2/theta_0^2 at the derived critical step "
              "(%d batch distributions small enough to list): max |growth - 1|" % len(enum), max(enum), "<= 1e-12",
              max(enum) <= 1e-12),
    ]
    fig = _batch_figure(rows, curv, n)
    summary = {"n": n, "curvatures": curv, "sharpness": a, "nonuniformity": s, "growth_steps": GROWTH_STEPS,
               "paths": paths, "rows": rows, "claims": claims}
    return fig, summary


def _batch_figure(rows, curv, n):
    from verify.figures.backend import _plt

    plt = _plt()
    a, s = float(curv.mean()), float(curv.std())
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.8))
    ax = axes[0]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(BATCHES)))
    x = np.linspace(GRID[0], GRID[-1], 200) * 2.0
    for color, b in zip(colors, BATCHES):
        r = [r for r in rows if r["with_replacement"] and r["batch"] == b][0]
        g = np.array(r["grid"])
        ax.plot(x, _growth(x / a, a, s, b, n, True) ** GROWTH_STEPS, color=color, lw=1.2)
        ax.errorbar(g[:, 0] * a, g[:, 1], yerr=g[:, 2], fmt="o", ms=4, capsize=2, color=color, label=f"B = {b}")
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel(r"$\eta a$")
    ax.set_ylabel(r"$E\,\theta_T^2 / \theta_0^2$  (T = %d)" % GROWTH_STEPS)
    ax.set_title("with replacement: Monte Carlo (dots, 99.9% CI) vs derived (lines)")
    ax.legend(fontsize=8, title="batch")
    ax = axes[1]
    bs = np.linspace(1, n, 200)
    for wr, color, label in ((True, "tab:blue", "with replacement"), (False, "tab:orange", "without replacement")):
        ax.plot(bs, [_eta_critical(a, s, b, n, wr) * a for b in bs], color=color, label=f"derived, {label}")
        rr = [r for r in rows if r["with_replacement"] == wr]
        ax.errorbar([r["batch"] for r in rr], [r["measured"] * a for r in rr],
                    yerr=[r["half_width"] * a if math.isfinite(r["half_width"]) else 0.0 for r in rr],
                    fmt="o" if wr else "s", color=color, ms=5, capsize=3, mfc="none", label=f"measured, {label}")
    ax.axhline(2.0, color="k", ls=":", label="GD: 2/a")
    ax.set_xscale("log", base=2)
    ax.set_xticks(BATCHES)
    ax.set_xticklabels([str(b) for b in BATCHES])
    ax.set_xlabel("batch size B")
    ax.set_ylabel(r"critical step $\eta_c\, a$")
    ax.set_title(f"mean-square critical step (n = {n}, a = {a:.3g}, s = {s:.3g})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------- sharpness-selection
SELECTION_ETA = 1.0
SELECTION_BATCH = 2  # with replacement: c = 1/2
SELECTION_GRID = np.round(np.arange(0.15, 2.41, 0.15), 10)  # η a and η s values
MARGIN = 0.1  # minima whose derived growth is within 10% of 1 are not classified
GD_STEPS = 20
PICKS = ((0.6, 0.9), (1.8, 0.6), (1.5, 1.5))  # (ηa, ηs) shown over time: kept by both (twice), left by SGD only
SELECTION_STEPS = 1  # SGD's E θ_T²/θ_0² over T = 1 step: the lightest tails (see batch_size_stability)


def _profile(n: int, spread: float = 2.0) -> np.ndarray:
    """z_i: standardised (mean 0, population std 1) lognormal quantiles exp(spread Φ⁻¹((i + ½)/n)): a few
    samples carry most of the curvature (like a few large inputs x_i in least squares, H_i = x_i x_iᵀ)."""
    from scipy.stats import norm

    w = np.exp(spread * norm.ppf((np.arange(n) + 0.5) / n))
    return (w - w.mean()) / w.std()


def sharpness_selection(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Which interpolating minima does SGD keep? A family of 1-D minima, each with n = 16 per-sample
    curvatures a_i = a + s z_i >= 0 (sharpness a = mean, non-uniformity s = population std; z fixed by
    ``_profile``), on a grid of (ηa, ηs), step η = 1, batch B = 2 drawn with replacement (c = 1/2).
    Measured: GD's escape from a 20-step run, SGD's from E θ_T²/θ_0² (T = 1, 20 000 paths; ``full``:
    80 000) with a 99.9% t-interval (leaves: interval above 1, stays: below 1, else undecided), and the
    exact one-step growth by enumerating every batch. Derived: GD keeps the minima with a < 2/η, SGD those
    with (1 − ηa)² + η² c s² < 1 (``sgd-mean-square-stability``, Wu, Ma & E 2018)."""
    from numeric.stochastic import monte_carlo, sgd

    n, eta, batch = 16, SELECTION_ETA, SELECTION_BATCH
    paths = 80_000 if full else 20_000
    z = _profile(n)
    rng = np.random.default_rng(seed)
    pts = [(a, s) for a in SELECTION_GRID / eta for s in np.concatenate([[0.0], SELECTION_GRID]) / eta
           if a + s * z.min() >= 0]  # every per-sample curvature a_i >= 0
    minima = []
    for k, (a, s) in enumerate(pts):
        if k % 20 == 0:
            progress(k, len(pts))
        curv = a + s * z
        gd = sgd.sgd_paths(curv, None, 1.0, eta, n, GD_STEPS, 1, rng, with_replacement=False)[:, 0]
        gd_growth = float(abs(gd[-1]) ** (2.0 / GD_STEPS))
        ratio = sgd.sgd_paths(curv, None, 1.0, eta, batch, SELECTION_STEPS, paths, rng, with_replacement=True)[-1] ** 2
        mean, half = monte_carlo.mean_ci(ratio, confidence=CONFIDENCE)
        sgd_class = "leaves" if mean - half > 1 else "stays" if mean + half < 1 else "undecided"
        exact = sgd.exact_moments(curv, None, 1.0, eta, batch, 1, with_replacement=True)["second"][1, 0, 0]
        g = float(_growth(eta, a, s, batch, n, True))
        minima.append({"a": a, "s": s, "derived_sgd_growth": g, "derived_gd_growth": (1 - eta * a) ** 2,
                       "derived_gd": "stays" if eta * a < 2 else "leaves",
                       "derived_sgd": "stays" if g < 1 else "leaves",
                       "gd_growth": gd_growth, "gd": "leaves" if gd_growth > 1 else "stays",
                       "sgd_ratio": mean, "sgd_half_width": half, "sgd": sgd_class,
                       "enumerated_growth": float(exact)})
    progress(len(pts), len(pts))
    gd_clear = [m for m in minima if abs(m["derived_gd_growth"] - 1) > MARGIN]
    gd_wrong = [m for m in gd_clear if m["gd"] != m["derived_gd"]]
    sgd_clear = [m for m in minima if abs(m["derived_sgd_growth"] - 1) > MARGIN]
    sgd_wrong = [m for m in sgd_clear if m["sgd"] != m["derived_sgd"]]
    enum_err = max(abs(m["enumerated_growth"] / m["derived_sgd_growth"] - 1) for m in minima)
    selected = [m for m in minima if m["gd"] == "stays" and m["sgd"] == "leaves"]
    derived_selected = [m for m in minima if m["derived_gd"] == "stays" and m["derived_sgd"] == "leaves"]
    claims = [
        claim("GD (%d-step runs) keeps exactly the minima with eta a < 2: misclassified among the %d minima with "
              "|(1 - eta a)^2 - 1| > %g" % (GD_STEPS, len(gd_clear), MARGIN), len(gd_wrong), 0, not gd_wrong),
        claim("SGD (B = %d with replacement; Monte Carlo E theta_T^2/theta_0^2, 99.9%% t-interval) leaves exactly the "
              "minima with (1 - eta a)^2 + eta^2 s^2/B > 1: misclassified or undecided among the %d minima with "
              "derived growth off 1 by > %g" % (batch, len(sgd_clear), MARGIN), len(sgd_wrong), 0, not sgd_wrong),
        claim("exact enumeration of every batch: one-step growth of E theta^2 vs the derived (1 - eta a)^2 + "
              "eta^2 c s^2, max relative difference over all %d minima" % len(minima), enum_err, "<= 1e-12",
              enum_err <= 1e-12),
        claim("minima GD keeps but SGD leaves (measured by both runs), vs the derived count", len(selected),
              len(derived_selected), len(selected) >= 1 and all(m["derived_gd"] == "stays" and m["derived_sgd"] ==
                                                                "leaves" for m in selected)),
    ]
    fig = _selection_figure(minima, z, n, eta, batch)
    summary = {"n": n, "eta": eta, "batch": batch, "with_replacement": True, "profile": z, "paths": paths,
               "growth_steps": SELECTION_STEPS, "minima": minima, "claims": claims}
    return fig, summary


def _selection_figure(minima, z, n, eta, batch):
    from numeric.stochastic import sgd
    from verify.figures.backend import _contour, _plt

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.15, 1]})
    ax = axes[0]
    top = SELECTION_GRID[-1] + 0.1
    aa, ss = np.meshgrid(np.linspace(0.0, top, 300), np.linspace(0.0, top, 300))
    _contour(ax, aa, ss, _growth(eta, aa / eta, ss / eta, batch, n, True), levels=[1.0], colors="tab:red")
    ax.plot([], [], color="tab:red", label=r"SGD: $(1-\eta a)^2 + \eta^2 s^2/B = 1$")
    ax.axvline(2.0, color="k", ls="--", label=r"GD: $\eta a = 2$")
    xs = np.linspace(0.0, top, 50)
    ax.fill_between(xs, xs / abs(z.min()), top, color="0.88", label=r"some $a_i < 0$ (not a minimum of every $\ell_i$)")
    marks = {("stays", "stays"): ("o", "tab:green", "kept by GD and SGD"),
             ("stays", "leaves"): ("^", "tab:orange", "kept by GD, left by SGD"),
             ("leaves", "leaves"): ("x", "tab:red", "left by both"),
             ("leaves", "stays"): ("s", "m", "left by GD, kept by SGD")}
    for (g, sg), (mk, color, label) in marks.items():
        pts = [(m["a"] * eta, m["s"] * eta) for m in minima if m["gd"] == g and m["sgd"] == sg]
        if pts:
            p = np.array(pts)
            ax.plot(p[:, 0], p[:, 1], mk, color=color, ms=5, ls="none", label=f"measured: {label}")
    und = np.array([(m["a"] * eta, m["s"] * eta) for m in minima if m["sgd"] == "undecided"] or np.empty((0, 2)))
    ax.plot(und[:, 0], und[:, 1], ".", color="0.4", ms=6, ls="none", label="SGD undecided (interval holds 1)")
    for a, s in PICKS:
        ax.plot(a, s, "o", ms=12, mfc="none", mec="k", mew=1.2)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(r"sharpness $\eta a$")
    ax.set_ylabel(r"non-uniformity $\eta s$")
    ax.set_title(f"which minima survive (eta = {eta:g}, B = {batch} with replacement, n = {n})")
    ax.legend(fontsize=7, loc="upper left", framealpha=0.95)
    ax = axes[1]
    t = np.arange(31)
    for (a, s), color in zip(PICKS, ("tab:green", "tab:blue", "tab:orange")):
        curv = (a + s * z) / eta
        m = sgd.exact_moments(curv, None, 1.0, eta, batch, t[-1], with_replacement=True)["second"][:, 0, 0]
        ax.plot(t, m, color=color, label=f"SGD, exact enumeration (eta a = {a:g}, eta s = {s:g})")
        ax.plot(t, (1 - a) ** (2 * t), color=color, ls=":", label=f"GD (eta a = {a:g})")
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"$E\,\theta_t^2 / \theta_0^2$")
    ax.set_title("the circled minima: SGD's second moment vs GD")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
