"""A rule's linearization made numeric, for :mod:`verify.stability_generic`: checked hyperparameter values,
the roots of its characteristic polynomial at many points at once, their regimes, and the regime map.

The characteristic polynomial P(z) = zⁿ + a_{n−1}zⁿ⁻¹ + … + a₀ of a rule on L = ½λθ² (from
:mod:`derive.analysis.linear`) has coefficients in x = lr·λ and the hyperparameters.  They are lambdified
once; the roots at many points at once are the eigenvalues of stacked companion matrices
(``numpy.linalg.eigvals``), so a region map is a few array operations, not a loop of SymPy calls.

* regime of a root set (the dominant roots decide, generalising the 2×2 names of
  :mod:`verify.momentum_maps`): unstable (radius ≥ 1), critically damped (the dominant root is
  repeated), underdamped (complex dominant pair), sign-flipping (dominant root real < 0), overdamped
  (real > 0); degree 1: monotone, oscillating, divergent.
* region map: the regime of every cell of an (x, hyperparameter) grid, optionally drawn to a PNG.
"""
from __future__ import annotations

import math
import os
import numpy as np
import sympy as sp

from verify.stability import InputError

#: regime names, in the order of their colour codes in a map
REGIMES = ("overdamped", "critically damped", "underdamped", "sign-flipping", "unstable",
           "monotone", "oscillating", "divergent")
_COLORS = {"overdamped": "#9ecae1", "critically damped": "black", "underdamped": "#a1d99b",
           "sign-flipping": "#fdae6b", "unstable": "#e0e0e0", "monotone": "#9ecae1", "oscillating": "#fdae6b",
           "divergent": "#e0e0e0"}


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


#: the mathematical range of a hyperparameter, by protocol name: (low, low included, high, high included);
#: None is unbounded.  Checked, with the sign its symbol declares (positive, nonnegative), before any analysis
#: (``ldyn stability``, ``ldyn modified-equation --set``, and their Python functions).
HYPER_RANGES = {
    "lr": (0.0, False, None, False), "momentum": (0.0, True, 1.0, False), "dampening": (0.0, True, 1.0, True),
    "beta1": (0.0, True, 1.0, False), "beta2": (0.0, True, 1.0, False), "rho": (0.0, True, 1.0, True),
    "nu": (0.0, True, 1.0, True), "eps": (0.0, False, None, False), "weight_decay": (0.0, True, None, False),
    "etas1": (0.0, False, 1.0, False), "etas2": (1.0, False, None, False), "beta2_decay": (None, False, 0.0, True),
}


def _interval(lo, lo_in, hi, hi_in) -> str:
    return (("[" if lo_in else "(") + ("-inf" if lo is None else f"{lo:g}") + ", "
            + ("inf" if hi is None else f"{hi:g}") + ("]" if hi_in else ")"))


def check_hyper(rule, name: str, v: float, what: str | None = None) -> None:
    """InputError unless ``v`` is a finite number in the range of ``rule``'s hyperparameter ``name``: its
    symbol's sign (positive: > 0, nonnegative: >= 0) and :data:`HYPER_RANGES`."""
    what = what or name
    if not math.isfinite(v):
        raise InputError(f"{what} must be a finite number, got {v}")
    lo, lo_in, hi, hi_in = hyper_range(rule, name)
    ok = (lo is None or v > lo or (lo_in and v == lo)) and (hi is None or v < hi or (hi_in and v == hi))
    if not ok:
        want = (f"> {lo:g}" if not lo_in else f">= {lo:g}") if hi is None and lo is not None else \
            f"in {_interval(lo, lo_in, hi, hi_in)}"
        raise InputError(f"{what} must be {want} for {rule.name}, got {v:g}")


def hyper_range(rule, name: str) -> tuple:
    """(low, low included, high, high included) of ``rule``'s hyperparameter ``name``: the sign its symbol
    declares (positive: (0, inf), nonnegative: [0, inf)) narrowed by :data:`HYPER_RANGES`."""
    s = rule.hyper[name]
    lo, lo_in, hi, hi_in = ((0.0, False) if s.is_positive else (0.0, True) if s.is_nonnegative
                            else (None, False)) + (None, False)
    if name in HYPER_RANGES:
        tlo, tlo_in, thi, thi_in = HYPER_RANGES[name]
        if tlo is not None and (lo is None or tlo > lo or (tlo == lo and not tlo_in)):
            lo, lo_in = tlo, tlo_in
        if thi is not None:
            hi, hi_in = thi, thi_in
    return lo, lo_in, hi, hi_in


def _check_range(lin, name: str, v: float, what: str | None = None) -> None:
    s = lin.rule.hyper[name]
    if s in lin.decaying and math.isfinite(v) and not 0 <= v < 1:
        raise InputError(f"{what or name} must be in [0, 1) for {lin.rule.name} (its power decays with the step "
                         f"counter), got {v:g}")
    check_hyper(lin.rule, name, v, what)


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
    with np.errstate(all="ignore"):  # an overflow is an infinite root (below), never a warning on stderr
        return _roots(lin, xs, {**values, **overrides})


def _roots(lin, xs, vals: dict) -> np.ndarray:
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
    with np.errstate(all="ignore"):  # infinite roots (an overflow) are "unstable", silently
        return _regime(np.asarray(r), tol)


def _regime(r: np.ndarray, tol: float) -> np.ndarray:
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
        try:  # a name too long for the file system, or a folder where the file should go
            if os.path.isdir(out) or (os.path.exists(out) and not os.path.isfile(out)):
                raise InputError(f"--out {out}: exists and is not a file")
        except OSError as exc:
            shown = out if len(out) <= 80 else out[:77] + "..."
            raise InputError(f"--out {shown}: not a usable path ({exc.strerror or exc})") from None
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
    from verify.figures.backend import save_figure

    try:
        save_figure(fig, out, dpi=110)  # atomic: temp file, fsync, rename
    except OSError as exc:
        shown = out if len(out) <= 80 else out[:77] + "..."
        raise InputError(f"--out {shown}: cannot write it ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)
