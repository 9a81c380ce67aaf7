"""``ldyn stability SPEC`` for any rule: the linear analysis of :mod:`derive.analysis.linear` made numeric.

The symbolic side gives the characteristic polynomial P(z) = zⁿ + a_{n−1}zⁿ⁻¹ + … + a₀ of a rule on
L = ½λθ², with coefficients in x = lr·λ and the hyperparameters, and its Schur–Cohn/Jury stable
interval of x.  Its roots at many points at once, their regimes and the regime map are in
:mod:`verify.stability_regimes` (importable from here too); this module assembles the report, the
critical step size on a spectrum, and the tuning:

* optimal constant tuning on a spectrum in [μ, L]: minimise max_{λ∈[μ,L]} ρ(lr·λ, h) over lr and at most
  one more hyperparameter h — a coarse grid, then nested golden-section searches (the objective is
  not smooth at the optimum: two roots' moduli cross there, as in Polyak's heavy-ball tuning).  The
  max over λ is taken at the endpoints and on a geometric grid between them.
"""
from __future__ import annotations

import math
import numpy as np
import sympy as sp

from verify.stability import InputError, check_eigenvalues
from verify.stability_regimes import (REGIMES, _check_range, _complex, _needed, _range, check_values, load,
                                      lr_explicit_at, regime, region_map, roots, spectral_radius)

LAMBDA_SAMPLES = 64


# -- the report ---------------------------------------------------------------------------------------
def report(spec, set_values: dict[str, float] | None = None, eigenvalues: list[float] | None = None,
           mu: float | None = None, L: float | None = None, tune: str | None = None,
           map_spec: str | None = None, out: str | None = None) -> dict:
    """Everything ``ldyn stability SPEC`` prints (see ``ldyn stability --help``)."""
    from derive.analysis import linear

    rule, lin = load(spec)
    given = dict(set_values or {})
    values = check_values(lin, given)
    lr_name = "lr"
    tuned = None
    if mu is not None or L is not None:
        tuned = tuning(lin, values, mu, L, tune, fixed=set(given))
        filled = [k for k in tuned["free"] if k not in values]
        values.update({k: tuned[k] for k in filled})
    elif tune is not None:
        raise InputError("--tune needs --mu and --L (the spectrum to tune on)")
    _needed(lin, values)
    rep = {"rule": rule.name, "title": rule.title, "state": list(lin.state_names),
           "hyperparameters": {k: values.get(k) for k in rule.hyper}, "notes": list(lin.notes),
           "iteration_matrix": sp.sstr(lin.matrix), "characteristic_polynomial": sp.sstr(sp.collect(lin.polynomial, linear.z)),
           "degree": lin.degree, "lr_explicit": lin.lr_explicit,
           "jury_conditions": [sp.sstr(c) + " > 0" for c in lin.conditions]}
    stable_at = lambda v: bool(spectral_radius(lin, v, values) < 1 - 1e-12)  # noqa: E731
    try:
        si = linear.stable_interval(lin, values, stable_at=stable_at)
    except linear.AnalysisError as exc:
        raise InputError(str(exc)) from None
    rep.update(x_critical=si.x_critical, x_critical_expr=None if si.expr is None else sp.sstr(si.expr),
               x_critical_method=si.method, stable_set=si.status,
               stable_intervals=[[lo, hi] for lo, hi in si.intervals])
    if eigenvalues is not None:
        lams = check_eigenvalues(list(eigenvalues))
        rep["eta_critical"], rep["eta_critical_method"] = _eta_critical(lin, si, values, lams)
        if lr_name in given:
            rep.update(_assess(lin, values, lams, si))
    if tuned is not None:
        rep["tuning"] = tuned
        if filled:
            rep["notes"].append(f"{', '.join(filled)} not given: the report is at the tuned value(s)")
    if map_spec is not None:
        rep["map"] = region_map(lin, values, map_spec, out)
    elif out is not None:
        raise InputError("--out needs --map NAME=LO:HI")
    return rep


def _eta_critical(lin, si, values, lams) -> tuple[float | None, str]:
    """The right end of the interval (0, η_c) of step sizes stable on every eigenvalue."""
    from derive.analysis import linear

    positive = [v for v in lams if v > 0]
    if not lr_explicit_at(lin, values):
        if si.x_critical is None:
            return None, si.method
        return si.x_critical / max(positive), si.method
    eta = sp.Symbol("eta_", positive=True)
    vals = {s: linear._rational(values[lin.hyper_name(s)]) for s in lin.symbols if s != lin.lr}
    ends = []
    for lam in positive:
        conds = [sp.factor(c.subs(vals).subs({linear.x: eta * linear._rational(lam), lin.lr: eta}))
                 for c in lin.conditions]
        if any(not c.has(eta) and not bool(c > 0) for c in conds):
            return 0.0, "numeric"
        ivs = linear.univariate_stable_set([c for c in conds if c.has(eta)], eta)
        if not ivs or ivs[0][0] != 0.0:
            return 0.0, "numeric"
        ends.append(ivs[0][1])
    finite = [e for e in ends if e is not None]
    return (min(finite) if finite else None), "numeric"


def _assess(lin, values, lams, si=None) -> dict:
    """Roots, radius and regime per eigenvalue at lr.  A radius that rounds to 1 in double precision (x = lr*λ
    tiny: 1 - O(x)) is judged by the exact stable interval ``si`` of the Jury conditions, not by rounding."""
    lr = values["lr"]
    if not math.isfinite(lr * max(lams)):
        raise InputError(f"lr {lr:g} times eigenvalue {max(lams):g} overflows a float")
    xs = np.array([lr * v for v in lams])
    rs = roots(lin, xs, values)
    regs = regime(rs)
    exact = si is not None and not lr_explicit_at(lin, values)
    rows, converges = [], True
    for lam, x, r, reg in zip(lams, xs, rs, regs):
        rho_row = float(np.abs(r[0]))
        inside = exact and any(lo < x and (hi is None or x < hi) for lo, hi in si.intervals)
        stable = rho_row < 1 or (inside and rho_row <= 1 + 1e-15)  # rounds to 1, inside (0, x_critical)
        if stable and reg == "unstable":
            reg = regime(r[None, :] * (1 - 1e-9))[0]  # the root pattern, without the rounded radius
        if lam > 0:
            converges = converges and stable
        rows.append({"lambda": lam, "x": float(x), "roots": [_complex(v) for v in r],
                     "spectral_radius": rho_row, "regime": "neutral" if lam == 0 else str(reg)})
    live = [row["spectral_radius"] for row in rows if row["lambda"] > 0]
    rho = max(live)
    if not math.isfinite(rho):
        raise InputError("the spectral radius overflows a float at these values")
    return {"spectral_radius": rho, "converges": bool(converges), "eigenvalues": rows}


# -- optimal tuning -----------------------------------------------------------------------------------
def _golden(f, a: float, b: float, tol: float) -> tuple[float, float]:
    """Minimum of a unimodal f on [a, b] by golden-section search (no smoothness needed)."""
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    return (c, fc) if fc <= fd else (d, fd)


def _default_free(lin, fixed: set) -> str | None:
    names = [lin.hyper_name(s) for s in lin.symbols if s != lin.lr]
    for pref in ("momentum", "beta", "beta1"):
        if pref in names and pref not in fixed:
            return pref
    rest = [n for n in names if n not in fixed and n != "weight_decay"]
    return rest[0] if rest else None


def tuning(lin, values: dict, mu, L, tune: str | None = None, fixed: set = frozenset()) -> dict:
    """Minimise max_{λ∈[μ,L]} ρ over lr and one more hyperparameter (``tune`` = "NAME" or
    "NAME=LO:HI", default range [0, 1); "lr" tunes lr alone); the others keep their values."""
    from derive.analysis import linear

    if mu is None or L is None:
        raise InputError("give both --mu and --L (the smallest and largest Hessian eigenvalue)")
    if not (math.isfinite(mu) and math.isfinite(L) and 0 < mu <= L):
        raise InputError(f"need finite 0 < mu <= L, got mu={mu:g}, L={L:g}")
    name, lo, hi = None, 0.0, 1.0
    if tune is not None:
        name, eq, rng = tune.partition("=")
        if eq and not rng.strip():
            raise InputError(f"--tune {tune}: give a range after '=' (e.g. {name}=0:0.99), or just the name")
        if name not in lin.rule.hyper:
            raise InputError(f"--tune: {lin.rule.name} has no hyperparameter {name!r}; it takes "
                             + ", ".join(lin.rule.hyper))
        if rng:
            lo, hi = _range(rng, "--tune")
        if name == "lr":
            name = None
    else:
        name = _default_free(lin, fixed)
    if name is not None:
        _check_range(lin, name, lo + (hi - lo) * 1e-9, f"--tune {name} range")
        _check_range(lin, name, hi - (hi - lo) * 1e-9, f"--tune {name} range")
    lams = np.unique(np.concatenate([[mu, L], np.geomspace(mu, L, LAMBDA_SAMPLES)]))
    others = {k: v for k, v in values.items() if k not in ("lr", name)}
    _needed(lin, {**others, "lr": 1.0, **({name: 0.5} if name else {})})

    def worst(lr, h=None, lam=lams):
        over = {"lr": lr, **({name: h} if name else {})}
        r = spectral_radius(lin, lr * lam, others, **over)
        return float(np.max(np.where(np.isfinite(r), r, np.inf)))

    # the scale of lr from the stable interval at the current values (x ~ x_critical / L)
    base = {**others, "lr": values.get("lr", 1.0 / L)}
    if name is not None:
        base[name] = (lo + hi) / 2
    try:
        xc = linear.stable_interval(lin, base).x_critical
    except linear.AnalysisError:
        xc = None
    scale = (xc if xc else 2.0) / L
    lr_grid = np.geomspace(scale * 1e-3, scale * 1e2, 161)
    hs = [None] if name is None else list(lo + (hi - lo) * (np.arange(41) + 0.5) / 41)
    table = np.array([[worst(lr, h) for lr in lr_grid] for h in hs])
    i, j = np.unravel_index(np.argmin(table), table.shape)
    if not np.isfinite(table[i, j]) or table[i, j] >= 1:
        raise InputError(f"{lin.rule.name}: no tuning in the searched range converges on [{mu:g}, {L:g}]")
    ja, jb = max(j - 6, 0), min(j + 6, len(lr_grid) - 1)
    inner = lambda h: _golden(lambda u: worst(math.exp(u), h),  # noqa: E731
                              math.log(lr_grid[ja]), math.log(lr_grid[jb]), 1e-14)
    if name is None:
        u, rate = inner(None)
        out = {"lr": math.exp(u)}
    else:
        step = (hi - lo) / 41
        ha, hb = max(hs[i] - 1.5 * step, lo), min(hs[i] + 1.5 * step, hi)
        h, rate = _golden(lambda h: inner(h)[1], ha, hb, 1e-12 * max(1.0, abs(hi - lo)))
        out = {"lr": math.exp(inner(h)[0]), name: h}
    dense = np.geomspace(mu, L, 4096)
    rate = max(rate, worst(out["lr"], out.get(name), dense))
    return {"mu": mu, "L": L, "free": ["lr"] + ([name] if name else []), **out, "rate": rate,
            "fixed": others, "method": "numeric minimax: a coarse grid, then nested golden-section searches; "
            f"the max over lambda on {len(lams)} points (endpoints included), the rate re-checked on 4096"}


# -- text ----------------------------------------------------------------------------------------------
def format_report(rep: dict) -> str:
    hyper = ", ".join(f"{k}={v:g}" for k, v in rep["hyperparameters"].items() if v is not None)
    lines = [f"{rep['title']} ({rep['rule']}) on L = lambda*theta^2/2, x = lr*lambda" + (f"; {hyper}" if hyper else ""),
             f"  characteristic polynomial (degree {rep['degree']}): {rep['characteristic_polynomial']}"]
    lines += [f"  note: {n}" for n in rep["notes"]]
    lines.append("  Jury conditions: " + "; ".join(rep["jury_conditions"]))
    if rep["stable_set"] == "bounded":
        form = f" = {rep['x_critical_expr']}" if rep["x_critical_expr"] else ""
        lines.append(f"  stable for 0 < x < {rep['x_critical']:.10g}{form} ({rep['x_critical_method']})")
    elif rep["stable_set"] == "unbounded":
        lines.append("  stable for every x > 0")
    else:
        lines.append("  no interval (0, x) is stable at these values")
    if "eta_critical" in rep:
        e = rep["eta_critical"]
        lines.append(f"  critical lr on this spectrum: {'unbounded' if e is None else f'{e:.10g}'} "
                     f"({rep['eta_critical_method']})")
    if "spectral_radius" in rep:
        lines.append(f"  at lr = {rep['hyperparameters']['lr']:g}: spectral radius {rep['spectral_radius']:.6g}, "
                     + ("converges" if rep["converges"] else "does NOT converge"))
        for e in rep["eigenvalues"]:
            rts = ", ".join(f"{r['re']:.6g}" if r["im"] == 0 else f"{r['re']:.6g}{r['im']:+.6g}i" for r in e["roots"])
            lines.append(f"    lambda = {e['lambda']:g}: roots {rts}; radius {e['spectral_radius']:.6g} ({e['regime']})")
    if "tuning" in rep:
        t = rep["tuning"]
        tuned = ", ".join(f"{k} = {t[k]:.8g}" for k in t["free"])
        lines.append(f"  optimal tuning on [{t['mu']:g}, {t['L']:g}]: {tuned}, rate {t['rate']:.8g} (numeric)")
    if "map" in rep:
        m = rep["map"]
        frac = ", ".join(f"{k} {v:.0%}" for k, v in m["fractions"].items())
        lines.append(f"  map over x in [0, {m['x_range'][1]:.4g}], {m['name']} in [{m['range'][0]:g}, {m['range'][1]:g}]: "
                     f"{frac}" + (f"; drawn to {m['out']}" if m["out"] else " (give --out FILE.png to draw it)"))
    return "\n".join(lines)
