"""Turing patterns: the derived dispersion relation, band, d_c and fastest-growing mode vs the
hand-written pseudo-spectral simulator (numeric/models/reaction_diffusion.py) and numpy eigenvalues."""
from __future__ import annotations

import math

from verify.checks import CheckResult

#: the Schnakenberg setting shared with the experiment (derive.theories.turing.SCHNAKENBERG_PARAMS as floats)
A, B, D = 0.1, 0.9, 20.0
#: a periodic domain of length 40π holds the wavenumbers n/20; its grid
L, N = 40 * math.pi, 256


def derived(params: dict | None = None) -> dict:
    """Floats and lambdified functions from derive.theories.turing at the Schnakenberg parameters:
    'lambda_plus' (complex, of k), 'band_k', 'd_c', 'k_c', 'k_star', 'lambda_max'."""
    import numpy as np
    import sympy as sp

    from derive.theories import turing as dt

    r = dt.dispersion(params)
    lp = sp.lambdify(dt.k, r["lambda_plus"], "numpy")
    qlo, qhi = r["band"]
    return {"lambda_plus": lambda k: np.asarray(lp(np.asarray(k, dtype=complex)), dtype=complex),
            "band_k": (math.sqrt(float(qlo)), math.sqrt(float(qhi))), "d_c": float(r["d_c"]),
            "k_c": float(sp.sqrt(sp.sqrt(r["jacobian"].det() / r["d_c"]))), "k_star": float(r["k_star"]),
            "lambda_max": float(r["lambda_max"]), "exact": r}


def general_lambda_plus(d: float, a: float = A, b: float = B):
    """The general derivation's lambda_+ (lambdified, complex) with the Schnakenberg Jacobian at (a, b)
    and D_u = 1, D_v = d: a function of k."""
    import numpy as np
    import sympy as sp

    from derive.theories import turing as dt

    jac = dt.schnakenberg_jacobian().subs({dt.a: a, dt.b: b})
    f = sp.lambdify((dt.fu, dt.fv, dt.gu, dt.gv, dt.Du, dt.Dv, dt.q),
                    dt.turing_instability().results["lambda_plus"], "numpy")
    vals = [float(x) for x in jac]
    return lambda k: np.asarray(f(*vals, 1.0, d, np.asarray(k, dtype=complex) ** 2), dtype=complex)


def numeric_band(J, Du: float, Dv: float, k_hi: float = 5.0) -> tuple[float, float]:
    """The band edges where max Re eig(J − k²D) crosses zero, by brentq (numeric model only)."""
    import numpy as np
    from scipy.optimize import brentq, minimize_scalar

    from numeric.models.reaction_diffusion import growth_rate

    gr = lambda kk: float(growth_rate(J, Du, Dv, kk)[0])  # noqa: E731
    ks = np.linspace(1e-3, k_hi, 2001)
    kpk = float(ks[np.argmax(growth_rate(J, Du, Dv, ks))])
    kpk = minimize_scalar(lambda kk: -gr(kk), bounds=(max(kpk - 0.01, 1e-4), kpk + 0.01), method="bounded").x
    return brentq(gr, 1e-6, kpk, xtol=1e-14), brentq(gr, kpk, k_hi, xtol=1e-14)


def numeric_peak(J, Du: float, Dv: float, k_hi: float = 5.0) -> tuple[float, float]:
    """(k, λ) at the maximum of max Re eig(J − k²D) over k, by a grid then bounded Brent."""
    import numpy as np
    from scipy.optimize import minimize_scalar

    from numeric.models.reaction_diffusion import growth_rate

    ks = np.linspace(1e-3, k_hi, 4001)
    k0 = float(ks[np.argmax(growth_rate(J, Du, Dv, ks))])
    res = minimize_scalar(lambda kk: -float(growth_rate(J, Du, Dv, kk)[0]), bounds=(k0 - 2e-3, k0 + 2e-3),
                          method="bounded", options={"xatol": 1e-12})
    return float(res.x), float(-res.fun)


def numeric_critical_ratio(J, lo: float = 1.0, hi: float = 1e3) -> float:
    """The d = D_v/D_u (D_u = 1) where the peak growth rate over k crosses zero, by brentq."""
    from scipy.optimize import brentq

    return brentq(lambda dd: numeric_peak(J, 1.0, dd, k_hi=5.0)[1], lo, hi, xtol=1e-13)


def turing_checks() -> list[CheckResult]:
    """Derived dispersion, band, d_c, k_c, k* and growth rates vs numpy eigenvalues and simulations."""
    import numpy as np
    import sympy as sp

    from derive.theories import turing as dt
    from numeric.models import reaction_diffusion as rd

    out = []
    der = derived()
    kin = rd.schnakenberg(A, B)
    J = kin.jacobian()
    # (a) the lambdified dispersion relation vs numpy eigenvalues, over a k grid (complex and real branches)
    ks = np.linspace(0.0, 3.0, 601)
    ev = rd.dispersion(J, 1.0, D, ks)[:, 0]
    lp = der["lambda_plus"](ks)
    err = float(np.max(np.abs(lp.real - ev.real)) + np.max(np.abs(np.abs(lp.imag) - np.abs(ev.imag))))
    out.append(CheckResult("turing/dispersion", "lambdified derived lambda_+(k) vs numpy eigvals of the hand-written "
                           "Jacobian - k^2 D (Schnakenberg a=0.1, b=0.9, d=20), 601 k in [0, 3]", err, 1e-12))
    # the general derivation's closed forms on random activator-inhibitor Jacobians
    gen = dt.turing_instability().results
    syms = (dt.fu, dt.fv, dt.gu, dt.gv, dt.Du, dt.Dv)
    f_band = sp.lambdify(syms, [gen["band_low"], gen["band_high"]], "numpy")
    f_dc = sp.lambdify(syms[:4], gen["d_c"], "numpy")
    f_kc2 = sp.lambdify(syms, gen["k_c2"], "numpy")
    qpoly = sp.Poly(gen["fastest_growing_condition"], dt.q)
    f_coef = sp.lambdify(syms, qpoly.all_coeffs(), "numpy")
    f_lmax = sp.lambdify((*syms, dt.q), gen["lambda_max_of_q"], "numpy")
    rng = np.random.default_rng(3)
    worst = {"band": 0.0, "d_c": 0.0, "k_c": 0.0, "k_star": 0.0, "lambda_max": 0.0}
    tried = 0
    while tried < 6:
        fu_, gv_ = rng.uniform(0.2, 1.5), -rng.uniform(0.5, 2.0)
        if fu_ + gv_ >= 0:
            continue
        fv_, gu_ = (rng.uniform(0.5, 2.0), -rng.uniform(0.5, 2.0)) if rng.random() < 0.5 else \
            (-rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0))
        Jr = np.array([[fu_, fv_], [gu_, gv_]])
        if np.linalg.det(Jr) <= 0:
            continue
        tried += 1
        dc_num = numeric_critical_ratio(Jr, lo=max(1.0, -gv_ / fu_), hi=1e4)
        worst["d_c"] = max(worst["d_c"], abs(f_dc(fu_, fv_, gu_, gv_) / dc_num - 1))
        Du_, Dv_ = 0.7, 0.7 * dc_num * 1.5
        lo, hi = numeric_band(Jr, Du_, Dv_)
        blo, bhi = f_band(fu_, fv_, gu_, gv_, Du_, Dv_)
        worst["band"] = max(worst["band"], abs(math.sqrt(blo) - lo), abs(math.sqrt(bhi) - hi))
        kc_num = numeric_peak(Jr, 1.0, dc_num)[0]
        worst["k_c"] = max(worst["k_c"], abs(math.sqrt(f_kc2(fu_, fv_, gu_, gv_, 1.0, dc_num)) - kc_num))
        k_num, l_num = numeric_peak(Jr, Du_, Dv_)
        roots = np.roots(f_coef(fu_, fv_, gu_, gv_, Du_, Dv_))
        roots = [r.real for r in roots if abs(r.imag) < 1e-12 and r.real > 0]
        # the branch condition: lambda = -h'/s must be the larger eigenvalue
        cand = [(r, f_lmax(fu_, fv_, gu_, gv_, Du_, Dv_, r)) for r in roots]
        cand = [(r, lm) for r, lm in cand if abs(lm - rd.growth_rate(Jr, Du_, Dv_, math.sqrt(r))[0]) < 1e-9]
        worst["k_star"] = max(worst["k_star"], min((abs(math.sqrt(r) - k_num) for r, _ in cand), default=math.inf))
        worst["lambda_max"] = max(worst["lambda_max"], min((abs(lm - l_num) for _, lm in cand), default=math.inf))
    out.append(CheckResult("turing/general/d_c", "derived d_c = ((sqrt(det J) + sqrt(-f_v g_u))/f_u)^2 vs brentq on "
                           "the peak numpy growth rate over k, 6 random activator-inhibitor Jacobians (relative)",
                           worst["d_c"], 1e-8))
    out.append(CheckResult("turing/general/band", "derived band edges sqrt(q_-), sqrt(q_+) vs brentq zeros of the "
                           "numpy growth rate, same Jacobians at d = 1.5 d_c", worst["band"], 1e-10))
    out.append(CheckResult("turing/general/k_c", "derived k_c^2 = sqrt(det J/(D_u D_v)) at d = d_c vs the numeric "
                           "argmax of the growth rate there", worst["k_c"], 2e-5, "flat maximum at onset: argmax "
                           "accuracy ~ sqrt(optimizer tolerance)"))
    out.append(CheckResult("turing/general/k_star", "fastest-growing k from the roots of the derived quadratic Q(q) "
                           "(numpy roots, branch lambda = -h'/s) vs the numeric argmax of the growth rate",
                           worst["k_star"], 1e-5))
    out.append(CheckResult("turing/general/lambda_max", "derived lambda_max = -h'(q*)/s vs the numeric maximum "
                           "growth rate", worst["lambda_max"], 1e-11))
    # (b) Schnakenberg: exact band, d_c, k* vs root-finding on the hand-written model
    lo, hi = numeric_band(J, 1.0, D)
    out.append(CheckResult("turing/schnakenberg/band", "exact band edges k_- = sqrt(3/8 - sqrt(145)/40), k_+ = "
                           "sqrt(3/8 + sqrt(145)/40) vs brentq on numpy eigenvalues",
                           max(abs(lo - der["band_k"][0]), abs(hi - der["band_k"][1])), 1e-12,
                           f"numeric ({lo:.12f}, {hi:.12f})"))
    dc_num = numeric_critical_ratio(J, lo=1.3, hi=100.0)
    out.append(CheckResult("turing/schnakenberg/d_c", "exact d_c = (35 + 15 sqrt 5)/8 vs brentq on the peak growth "
                           "rate of the hand-written model (relative)", abs(dc_num / der["d_c"] - 1), 1e-9,
                           f"numeric {dc_num:.12f}, derived {der['d_c']:.12f}"))
    k_num, l_num = numeric_peak(J, 1.0, D)
    out.append(CheckResult("turing/schnakenberg/k_star", "exact k* = 3/sqrt(38) and lambda_max = 5/19 vs the numeric "
                           "maximum of the numpy growth rate", max(abs(k_num - der["k_star"]), abs(l_num -
                                                                   der["lambda_max"])), 1e-6,
                           f"numeric k = {k_num:.9f}, lambda = {l_num:.12f}"))
    # (c) the simulator's growth of single Fourier modes vs the derived lambda_+
    errs, desc = [], []
    for mode in (2, 5, 10, 15, 20, 30):  # k = mode/20: complex-stable, unstable (band), real-stable
        k = 2 * math.pi * mode / L
        got = rd.single_mode_growth(kin, 1.0, D, L, mode, n=64, t_end=10.0, dt=0.01)
        want = complex(der["lambda_plus"](k))
        errs.append(abs(got.real - want.real) + abs(abs(got.imag) - abs(want.imag)))
        desc.append(f"k={k:.2f}: {got.real:+.5f} vs {want.real:+.5f}")
    out.append(CheckResult("turing/growth-rates", "growth rate of a single Fourier mode in the nonlinear ETD2 "
                           "simulation (eps = 1e-7, dt = 0.01) vs the derived lambda_+(k), 6 modes from stable "
                           "(complex) through the band to stable (real)", max(errs), 5e-5,
                           "ETD2 is second order: its time error is ~2e-5 at dt = 0.01; " + "; ".join(desc)))
    # (d) which mode wins from small random noise: in the linear phase the best allowed grid mode, exactly; the
    #     saturated pattern's mode comes from nonlinear competition and is only checked to lie next to it
    dk = 2 * math.pi / L
    n_grid = np.arange(1, N // 2)
    lam_grid = der["lambda_plus"](dk * n_grid).real
    order = np.argsort(lam_grid)[::-1]
    n_best, n_second = int(n_grid[order[0]]), int(n_grid[order[1]])
    u0, v0 = rd.noise_start(kin, N, 1e-12, seed=0, batch=(32,))
    sim = rd.simulate(kin, 1.0, D, L, u0, v0, 80.0, 0.05, n_save=1)
    _, p = rd.power_spectrum(sim.u[-1], L)
    n_lin = 1 + int(np.argmax(p[1:]))
    rms = float(np.sqrt(np.mean((sim.u[-1] - kin.steady_state[0]) ** 2)))
    out.append(CheckResult("turing/dominant-linear", "mode index n of the peak of the mean power spectrum of 32 runs "
                           "from 1e-12 noise at t = 80 (still linear) vs the derived best allowed grid mode "
                           "n* = argmax_n Re lambda_+(2 pi n/L) (exact: error = |n - n*|)", float(abs(n_lin - n_best)), 0.0,
                           f"measured n = {n_lin}, n* = {n_best} (k = {n_best * dk:.2f}; k* = {der['k_star']:.4f}); "
                           f"power ratio n*/runner-up n = {n_second}: {p[n_best] / p[n_second]:.2f}; derived rate gap "
                           f"{lam_grid[order[0]] - lam_grid[order[1]]:.5f}; rms(u - u*) = {rms:.1e}"))
    u0, v0 = rd.noise_start(kin, N, 1e-10, seed=0)
    late = rd.simulate(kin, 1.0, D, L, u0, v0, 600.0, 0.05, n_save=1)
    n_late = int(round(rd.dominant_wavenumber(late.u[-1], L) / dk))
    out.append(CheckResult("turing/dominant-late", "nonlinear selection (not a linear-theory prediction): mode index "
                           "of the saturated pattern at t = 600 (1e-10 noise) vs the best allowed grid mode n* "
                           "(tolerance: one grid mode, i.e. 3 of the 11 unstable modes)", float(abs(n_late - n_best)), 1.0,
                           f"measured n = {n_late} (wavelength {L / n_late:.3f}), n* = {n_best} "
                           f"(2 pi/k* = {2 * math.pi / der['k_star']:.3f})"))
    return out
