"""``ldyn stability SPEC`` for any rule: the linear analysis of :mod:`derive.analysis.linear` made numeric.

The symbolic side gives the characteristic polynomial P(z) = zⁿ + a_{n−1}zⁿ⁻¹ + … + a₀ of a rule on
L = ½λθ², with coefficients in x = lr·λ and the hyperparameters, and its Schur–Cohn/Jury stable
interval of x.  Here the coefficients are lambdified once; the roots at many points at once are the
eigenvalues of stacked companion matrices (``numpy.linalg.eigvals``), so a region map or a minimax
tuning is a few array operations, not a loop of SymPy calls.

* regime of a root set (the dominant roots decide, generalising the 2×2 names of
  :mod:`verify.momentum_maps`): unstable (radius ≥ 1), critically damped (the dominant root is
  repeated), underdamped (complex dominant pair), sign-flipping (dominant root real < 0), overdamped
  (real > 0); degree 1: monotone, oscillating, divergent.
* optimal constant tuning on a spectrum in [μ, L]: minimise max_{λ∈[μ,L]} ρ(lr·λ, h) over lr and at most
  one more hyperparameter h — a coarse grid, then nested golden-section searches (the objective is
  not smooth at the optimum: two roots' moduli cross there, as in Polyak's heavy-ball tuning).  The
  max over λ is taken at the endpoints and on a geometric grid between them.
"""
from __future__ import annotations

import math
import os
import tempfile
import numpy as np
import sympy as sp

from verify.stability import InputError, check_eigenvalues

#: regime names, in the order of their colour codes in a map
REGIMES = ("overdamped", "critically damped", "underdamped", "sign-flipping", "unstable",
           "monotone", "oscillating", "divergent")
_COLORS = {"overdamped": "#9ecae1", "critically damped": "black", "underdamped": "#a1d99b",
           "sign-flipping": "#fdae6b", "unstable": "#e0e0e0", "monotone": "#9ecae1", "oscillating": "#fdae6b",
           "divergent": "#e0e0e0"}
LAMBDA_SAMPLES = 64


# -- the rule and its values -----------------------------------------------------------------------
def load(spec):
    """(rule, linearization) for a SPEC string or an UpdateRule; user errors become InputError."""
    from derive.analysis import linear
    from derive.rule_text import RuleTextError
    from derive.rules.library import RuleNotFound, resolve

    try:
        rule = resolve(spec) if isinstance(spec, str) else spec
        return rule, _linearize(rule)
    except (RuleNotFound, RuleTextError, linear.AnalysisError) as exc:  # RuleTextError: "FILE:LINE: problem"
        raise InputError(str(exc)) from None


_LIN_CACHE: dict = {}


def _linearize(rule):
    from derive.analysis import linear

    key = (rule.name, sp.srepr(rule.update), sp.srepr(rule.state))
    if key not in _LIN_CACHE:
        _LIN_CACHE[key] = linear.linearize(rule)
    return _LIN_CACHE[key]


def check_values(lin, given: dict[str, float]) -> dict[str, float]:
    """Protocol-name values (the rule's defaults, then ``given``), range-checked: positive symbols > 0,
    nonnegative ones >= 0, a base β of β^(t+1) in [0, 1)."""
    rule = lin.rule
    for k, v in given.items():
        if k not in rule.hyper:
            raise InputError(f"{rule.name} has no hyperparameter {k!r}; it takes {', '.join(rule.hyper)}")
        if not math.isfinite(v):
            raise InputError(f"{k} must be a finite number, got {v}")
    values = {**rule.defaults, **given}
    for k, v in values.items():
        _check_range(lin, k, float(v))
    return {k: float(v) for k, v in values.items()}


def _check_range(lin, name: str, v: float, what: str | None = None) -> None:
    s = lin.rule.hyper[name]
    what = what or name
    if s.is_positive and not v > 0:
        raise InputError(f"{what} must be > 0 for {lin.rule.name}, got {v:g}")
    if s.is_nonnegative and not v >= 0:
        raise InputError(f"{what} must be >= 0 for {lin.rule.name}, got {v:g}")
    if s in lin.decaying and not 0 <= v < 1:
        raise InputError(f"{what} must be in [0, 1) for {lin.rule.name} (its power decays with the step "
                         f"counter), got {v:g}")


def _needed(lin, values: dict[str, float], skip=()) -> None:
    """InputError naming the hyperparameters P still needs at ``values`` (protocol names)."""
    from derive.analysis import linear

    known = {lin.rule.hyper[k]: linear._rational(v) for k, v in values.items()}
    missing = [k for k in linear.missing_values(lin, known) if k not in skip]
    if missing:
        raise InputError(f"{lin.rule.name}: give a value for {', '.join(missing)} (e.g. --set {missing[0]}=...)")


def lr_explicit_at(lin, values: dict[str, float]) -> bool:
    """Whether lr appears outside x = lr·λ once the other values are substituted (weight decay 0: no)."""
    from derive.analysis import linear

    known = {lin.rule.hyper[k]: linear._rational(v) for k, v in values.items() if k != "lr"}
    return lin.polynomial.subs(known).has(lin.lr)


# -- roots, vectorised ------------------------------------------------------------------------------
_COEFFS: dict = {}


def _coefficient_functions(lin):
    """a_{n−1}, …, a₀ of the monic P as one NumPy function of (x, *hyper) (protocol order), lambdified
    once per linearization."""
    from derive.analysis.linear import x

    if id(lin) not in _COEFFS:
        args = (x, *lin.rule.hyper.values())
        _COEFFS[id(lin)] = (lin, sp.lambdify(args, list(lin.coefficients[1:]), "numpy"))
    return _COEFFS[id(lin)][1]


def roots(lin, xs, values: dict[str, float], **overrides) -> np.ndarray:
    """Roots of P at each x (any shape, broadcast with array-valued ``overrides`` of hyperparameters):
    an array of shape (*shape, n), largest modulus first."""
    vals = {**values, **overrides}
    args = [np.asarray(xs, dtype=float)] + [np.asarray(vals.get(k, np.nan), dtype=float) for k in lin.rule.hyper]
    shape = np.broadcast_shapes(*(a.shape for a in args))
    coeffs = [np.broadcast_to(np.asarray(c, dtype=float), shape) for c in _coefficient_functions(lin)(*args)]
    n = len(coeffs)
    if n == 1:
        r = -coeffs[0][..., None].astype(complex)
    else:
        comp = np.zeros((*shape, n, n))
        comp[..., 0, :] = -np.stack(coeffs, axis=-1)
        comp[..., np.arange(1, n), np.arange(n - 1)] = 1.0
        bad = ~np.isfinite(comp).all(axis=(-1, -2))
        comp[bad] = 0.0
        r = np.linalg.eigvals(comp)
        r[bad] = np.inf
    order = np.argsort(-np.abs(r), axis=-1, kind="stable")
    return np.take_along_axis(r, order, axis=-1)


def spectral_radius(lin, xs, values, **overrides) -> np.ndarray:
    return np.abs(roots(lin, xs, values, **overrides)[..., 0])


def regime(r: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Regime of each root set (last axis, sorted by modulus): see the module docstring."""
    r = np.asarray(r)
    rho = np.abs(r[..., 0])
    top = r[..., 0]
    if r.shape[-1] == 1:
        out = np.where(top.real < 0, "oscillating", "monotone")
        return np.where(~np.isfinite(rho) | (rho >= 1 - 1e-12), "divergent", out).astype(object)
    second = r[..., 1]
    double = np.abs(top - second) <= tol * np.maximum(1.0, rho)
    out = np.where(double, "critically damped",
                   np.where(np.abs(top.imag) > tol * np.maximum(1.0, rho), "underdamped",
                            np.where(top.real < 0, "sign-flipping", "overdamped")))
    return np.where(~np.isfinite(rho) | (rho >= 1 - 1e-12), "unstable", out).astype(object)


def _complex(v) -> dict:
    v = complex(v)
    return {"re": v.real, "im": v.imag}


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
            rep.update(_assess(lin, values, lams))
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


def _assess(lin, values, lams) -> dict:
    lr = values["lr"]
    if not math.isfinite(lr * max(lams)):
        raise InputError(f"lr {lr:g} times eigenvalue {max(lams):g} overflows a float")
    xs = np.array([lr * v for v in lams])
    rs = roots(lin, xs, values)
    regs = regime(rs)
    rows = []
    for lam, r, reg in zip(lams, rs, regs):
        rows.append({"lambda": lam, "x": lr * lam, "roots": [_complex(v) for v in r],
                     "spectral_radius": float(np.abs(r[0])), "regime": "neutral" if lam == 0 else str(reg)})
    live = [row["spectral_radius"] for row in rows if row["lambda"] > 0]
    rho = max(live)
    if not math.isfinite(rho):
        raise InputError("the spectral radius overflows a float at these values")
    return {"spectral_radius": rho, "converges": bool(rho < 1), "eigenvalues": rows}


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
        name, _, rng = tune.partition("=")
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


# -- region map -----------------------------------------------------------------------------------------
def _range(text: str, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise InputError(f"{what}: give a range LO:HI, e.g. 0:1, got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InputError(f"{what}: need finite LO < HI, got {text!r}")
    return lo, hi


def region_map(lin, values: dict, spec: str, out: str | None = None, nx: int = 300, ny: int = 200) -> dict:
    """Regime of every cell of an (x, NAME) grid, NAME over [LO, HI] (``spec`` = "NAME=LO:HI"); x from 0
    to 1.2 × the largest x_critical over the range.  With ``out`` the map is drawn to that PNG (written
    to a temporary file, then renamed)."""
    from derive.analysis import linear

    name, eq, rng = spec.partition("=")
    if not eq or name not in lin.rule.hyper:
        raise InputError(f"--map: give NAME=LO:HI with NAME one of {', '.join(lin.rule.hyper)}, got {spec!r}")
    lo, hi = _range(rng, "--map")
    _check_range(lin, name, lo + (hi - lo) * 0.5 / ny, f"--map {name}")
    _check_range(lin, name, hi - (hi - lo) * 0.5 / ny, f"--map {name}")
    if out is not None:
        if not out.endswith(".png"):
            raise InputError(f"--out must name a .png file, got {out!r}")
        if not os.path.isdir(os.path.dirname(os.path.abspath(out))):
            raise InputError(f"--out: no such directory: {os.path.dirname(out) or '.'}")
    hv = lo + (hi - lo) * (np.arange(ny) + 0.5) / ny
    _needed(lin, {**values, name: float(hv[0])})
    ends = []
    for v in np.linspace(hv[0], hv[-1], 9):
        try:
            xc = linear.stable_interval(lin, {**values, name: float(v)}).x_critical
        except linear.AnalysisError:
            xc = None
        if xc:
            ends.append(xc)
    x_hi = 1.2 * max(ends) if ends else 4.0
    xv = x_hi * (np.arange(nx) + 0.5) / nx
    X, H = np.meshgrid(xv, hv)
    over = {name: H} if name != "lr" else {"lr": H}
    rs = roots(lin, X, values, **over)
    regs = regime(rs)
    stable = regs != ("divergent" if lin.degree == 1 else "unstable")
    boundary = [[float(h), float(xv[np.argmin(row)]) if not row.all() else None] for h, row in
                zip(hv[:: max(ny // 10, 1)], stable[:: max(ny // 10, 1)])]
    names, counts = np.unique(regs.astype(str), return_counts=True)
    summary = {"name": name, "range": [lo, hi], "x_range": [0.0, x_hi], "shape": [ny, nx],
               "fractions": {str(n): float(c) / regs.size for n, c in zip(names, counts)},
               "first_unstable_x": boundary, "out": None}
    if out is not None:
        _draw(lin, regs, xv, hv, name, out)
        summary["out"] = out
    return summary


def _draw(lin, regs, xv, hv, name, out) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from verify.figures.backend import _plt

    plt = _plt()
    present = [r for r in REGIMES if (regs == r).any()]
    codes = np.vectorize(present.index)(regs)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.imshow(codes, origin="lower", aspect="auto", interpolation="nearest",
              extent=(0, xv[-1] + xv[0], hv[0] - (hv[1] - hv[0]) / 2, hv[-1] + (hv[1] - hv[0]) / 2),
              cmap=ListedColormap([_COLORS[r] for r in present]), vmin=-0.5, vmax=len(present) - 0.5)
    ax.set_xlabel(r"$x = \mathrm{lr}\cdot\lambda$")
    ax.set_ylabel(name)
    ax.set_title(f"{lin.rule.title}: regimes on a quadratic")
    ax.legend(handles=[Patch(color=_COLORS[r], label=r) for r in present], fontsize=7, loc="upper right")
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


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
