"""Adafactor and Muon: symbolic rules vs hand-written optimizers, and the Newton-Schulz, momentum-scale and
factored-moment derivations vs numeric runs (no torch here: the torch comparisons are tests)."""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from derive.analysis import newton_schulz as nsd
from derive.rules import matrix as mx
from numeric.optimizers import matrix as nm

from verify.checks import CheckResult, relative_error
from verify.checks.zoo import lockstep_error

STEPS = 60


def _compare(sym, hand, shape, seed: int = 0, steps: int = STEPS) -> float:
    """:func:`verify.checks.zoo.lockstep_error` with gradients over 7 decades (so eps1 and clipping both act)."""
    rng = np.random.default_rng(seed)
    p0 = rng.normal(size=shape)
    return lockstep_error(sym, hand, p0, [rng.normal(size=shape) * 10.0 ** rng.uniform(-6, 1) for _ in range(steps)])


def lambdified_vs_handwritten() -> list[CheckResult]:
    """Lambdified Adafactor (1-D) and Muon rules vs numeric.optimizers.matrix, every option combination."""
    ada = [(mx.adafactor_rule(e, r, s).lambdify(lr=0.05, weight_decay=0.1, eps1=1e-4, d=1.2),
            nm.adafactor(lr=0.05, weight_decay=0.1, eps=(1e-4, 1e-3), d=1.2, eps1_mode=e, rho_max=r, decay_scale=s),
            f"eps1_mode={e}, rho_max={r}, decay_scale={s}")
           for e, r, s in itertools.product(("clamp", "add"), ("lr", "paper"), ("lr", "alpha"))]
    muon = [(mx.muon_rule(n, adj, buf, dec).lambdify(lr=0.02, weight_decay=0.1),
             nm.muon(lr=0.02, weight_decay=0.1, nesterov=n, adjust_lr_fn=adj, buffer=buf, decay=dec),
             f"nesterov={n}, adjust_lr_fn={adj}, buffer={buf}, decay={dec}")
            for n, adj, buf, dec in itertools.product((True, False), (None, "original", "match_rms_adamw"),
                                                      ("ema", "sum"), ("decoupled-lr", "coupled"))]
    out = []
    for family, cases, shape in (("adafactor", ada, (7,)), ("muon", muon, (5, 3))):
        worst, where = max((_compare(sym, hand, shape), label) for sym, hand, label in cases)
        out.append(CheckResult(f"matrix-lambdified/{family}", f"lambdified {family} rule vs hand-written, params and "
                               f"every state entry, one step from the same state at each of {STEPS} steps, "
                               f"{len(cases)} option combinations, shape {shape}", worst, 1e-13, f"worst: {where}"))
    return out


def _singular_values_after(g: np.ndarray, k: int) -> np.ndarray:
    return np.linalg.svd(nm.newton_schulz(g, nm.NS_COEFFICIENTS, k, 0.0), compute_uv=False)


def newton_schulz_singular_values(seed: int = 0) -> list[CheckResult]:
    """Singular values of the NumPy Newton-Schulz iterate vs p^k(sigma / ||G||_F) with the derived p, k = 1..5."""
    d = nsd.newton_schulz()
    p = sp.lambdify(nsd.sigma, d.results["p"], "numpy")
    rng = np.random.default_rng(seed)
    worst = 0.0
    for shape in [(6, 4), (3, 8), (10, 10)]:
        for _ in range(5):
            g = rng.normal(size=shape) * rng.lognormal(0, 2, size=shape[1])  # spread singular values
            x = np.sort(np.linalg.svd(g, compute_uv=False) / np.linalg.norm(g))
            for k in range(1, 6):
                x = p(x)
                worst = max(worst, relative_error(np.sort(_singular_values_after(g, k)), np.sort(np.abs(x))))
    return [CheckResult("newton-schulz-singular-values", "singular values of the NumPy Newton-Schulz iterate vs "
                        "p^k of the normalised singular values (derived p), k = 1..5, 15 matrices", worst, 1e-12,
                        "tall, wide and square inputs")]


def newton_schulz_bounds(seed: int = 1) -> list[CheckResult]:
    """The derived M (sup of p^k on (0, 1]), the invariant [m, M], p(1) and the sufficient sizes x_k vs the
    iteration measured on a fine grid and on random matrices."""
    d = nsd.newton_schulz()
    M, m = float(d.results["upper_bound"]), float(d.results["trap_lower"])
    x_k = sp.lambdify(sp.Symbol("k", integer=True, positive=True), d.results["threshold"])
    nsd_p = sp.lambdify(nsd.sigma, d.results["p"], "numpy")
    grid = np.linspace(1e-6, 1.0, 200_001)
    y, sup_err, trap_err, thr_err = grid.copy(), 0.0, 0.0, 0.0
    detail = []
    for k in range(1, 6):
        y = nsd_p(y)
        sup_err = max(sup_err, abs(float(y.max()) - M) / M)  # M is attained at every k
        inside = y[grid >= x_k(k)]
        trap_err = max(trap_err, max(m - float(inside.min()), float(inside.max()) - M, 0.0))
        measured = float(grid[np.argmax(np.minimum.accumulate(y[::-1] >= m)[::-1])])  # smallest x with [x, 1] in
        thr_err = max(thr_err, max(measured - x_k(k), 0.0))
        detail.append(f"k={k}: sup {y.max():.6f}, entry size measured {measured:.4g} <= proved {x_k(k):.4g}")
    rng = np.random.default_rng(seed)
    top = max(float(_singular_values_after(rng.normal(size=(8, 5)) * rng.lognormal(0, 1, size=5), 5).max())
              for _ in range(200))
    p1 = float(nsd_p(np.array([1.0]))[0])
    return [CheckResult("newton-schulz-bounds/upper-bound", "derived M = p(sigma_1) vs max of p^k on a grid of (0, 1], "
                        "k = 1..5 (relative)", sup_err, 1e-7, f"M = {M:.10f} (grid spacing 5e-6); largest singular value after 5 steps "
                        f"over 200 random 8x5 matrices {top:.6f}"),
            CheckResult("newton-schulz-bounds/invariant-interval", "p^k(sigma) in the derived [m, M] for every grid sigma >= "
                        "the derived x_k, k = 1..5 (excess outside)", trap_err, 1e-12, f"[m, M] = [{m:.6f}, {M:.6f}]"),
            CheckResult("newton-schulz-bounds/entry-size", "measured smallest x with p^k([x, 1]) in [m, M] minus the derived "
                        "sufficient x_k (must be <= 0)", thr_err, 0.0, "; ".join(detail)),
            CheckResult("newton-schulz-bounds/p(1)", "derived p(1) = 701/1000 vs the float iteration", abs(p1 - 0.701), 1e-15,
                        "1 is not a fixed point")]


def muon_momentum_scale(seed: int = 2) -> list[CheckResult]:
    """Derived: the EMA buffer is (1 - mu) times the summed one and the parameters agree; vs numeric runs."""
    d = nsd.muon_momentum_scale()
    mu_s, g_s, b_s = sp.Symbol("mu", positive=True), sp.Symbol("g", real=True), sp.Symbol("B_s", real=True)
    ratio = sp.lambdify(mu_s, sp.simplify(d.results["ema_buffer"] / (mu_s * b_s + g_s)), "numpy")  # 1 - mu
    rng = np.random.default_rng(seed)
    worst_p, worst_b = 0.0, 0.0
    for mu in (0.5, 0.9, 0.95):
        ema, tot = nm.muon(lr=0.02, momentum=mu), nm.muon(lr=0.02, momentum=mu, buffer="sum")
        p = q = rng.normal(size=(5, 4))
        se, ss = ema.init(p), tot.init(q)
        for _ in range(40):
            g = rng.normal(size=(5, 4))
            (p, se), (q, ss) = ema.step(p, g, se), tot.step(q, g, ss)
            worst_p = max(worst_p, relative_error(p, q))
            worst_b = max(worst_b, relative_error(se["momentum_buffer"], ratio(mu) * ss["momentum_buffer"]))
    return [CheckResult("muon-momentum-scale/params", "Muon with the EMA buffer (torch's code) vs the summed buffer "
                        "(torch's docstring): parameters, 40 steps, mu = 0.5, 0.9, 0.95", worst_p, 1e-12, ""),
            CheckResult("muon-momentum-scale/buffer", "derived ratio (1 - mu) of the two buffers vs numeric runs",
                        worst_b, 1e-12, "")]


def adafactor_factored(seed: int = 3) -> list[CheckResult]:
    """Derived: the factored estimate is exact for a rank-1 second moment.  Numeric: 2-D Adafactor on gradients
    G_t = a_t (r c^T) (rank-1 squares) equals 1-D Adafactor on the flattened arrays; on generic gradients not."""
    rng = np.random.default_rng(seed)
    r, c = rng.uniform(0.5, 2.0, size=4), rng.uniform(0.5, 2.0, size=3)
    out = []
    for label, rank1 in (("rank-1", True), ("generic", False)):
        opt = nm.adafactor(lr=0.05, weight_decay=0.1)
        p2 = p1 = rng.normal(size=(4, 3))
        p1 = p1.ravel()
        s2, s1 = opt.init(p2), opt.init(p1)
        diff = 0.0
        for _ in range(30):
            g = (np.outer(r, c) * rng.choice([-1.0, 1.0], size=(4, 3)) * rng.lognormal(0, 1) if rank1
                 else rng.normal(size=(4, 3)))
            (p2, s2), (p1, s1) = opt.step(p2, g, s2), opt.step(p1, g.ravel(), s1)
            diff = max(diff, relative_error(p2.ravel(), p1))
        if rank1:
            out.append(CheckResult("adafactor-factored/rank-1", "2-D (factored) vs 1-D (unfactored) Adafactor on "
                                   "gradients whose squares are rank 1, 30 steps", diff, 1e-12,
                                   "the derived V-hat = V for rank-1 V"))
        else:
            out.append(CheckResult("adafactor-factored/generic", "2-D vs 1-D Adafactor on generic gradients: they must "
                                   "differ (the factorisation is an approximation); error = 1e-6 / difference",
                                   1e-6 / max(diff, 1e-300), 1.0, f"difference {diff:.3g}"))
    return out
