"""Turing patterns (``ldyn experiment turing``): the Schnakenberg model simulated from small noise
by the hand-written pseudo-spectral solver (numeric/models/reaction_diffusion.py) against the derived
dispersion relation, band, critical ratio d_c and fastest-growing mode (derive/theories/turing.py)."""
from __future__ import annotations

import math

import numpy as np

from verify.experiments import claim

#: the linear-regime ensemble: runs from 1e-12 noise, observed up to LIN_T (rms(u - u*) ~ 1e-4 there)
LIN_RUNS, LIN_T = 32, 80.0


def _plt():
    from verify.figures.backend import _plt as plt

    return plt()


def _rms_rate(t: np.ndarray, rms: np.ndarray, lo: float, hi: float) -> float:
    """Least-squares slope of log rms(t) on [lo, hi]."""
    m = (t >= lo) & (t <= hi)
    return float(np.polyfit(t[m], np.log(rms[m]), 1)[0])


def _threshold_run(kin, d: float, L: float, n: int, seed: int, t_end: float, dt: float):
    from numeric.models import reaction_diffusion as rd

    u0, v0 = rd.noise_start(kin, n, 1e-4, seed=seed)
    sim = rd.simulate(kin, 1.0, d, L, u0, v0, t_end, dt, n_save=int(t_end))
    rms = np.sqrt(np.mean((sim.u - kin.steady_state[0]) ** 2, axis=-1))
    return sim, rms


def turing(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Dispersion curve (derived) with growth rates measured in a simulation, the band, a space-time
    plot of u and its spectrum.  In the linear phase the best allowed grid mode n* = argmax_n
    Re λ₊(2πn/L) grows fastest and dominates the spectrum; the saturated pattern's mode comes from
    nonlinear competition (recorded, checked only to lie near n*).  Below d_c noise decays, above it
    a pattern forms.  full=True adds a 2-D run and a 5x longer 1-D domain."""
    from numeric.models import reaction_diffusion as rd

    from verify.checks.turing import A, B, D, L, N, derived

    total = 6 if full else 4
    der = derived()
    lp = der["lambda_plus"]
    kin = rd.schnakenberg(A, B)
    kstar, dk = der["k_star"], 2 * math.pi / L
    n_grid = np.arange(1, N // 2)
    allowed = dk * n_grid
    lam_grid = lp(allowed).real
    order = np.argsort(lam_grid)[::-1]
    n_best, n_second = int(n_grid[order[0]]), int(n_grid[order[1]])  # derived best and runner-up grid modes
    gap_derived = float(lam_grid[order[0]] - lam_grid[order[1]])
    n_unstable = n_grid[lam_grid > 0]
    claims = []
    summary: dict = {"params": {"a": A, "b": B, "d": D, "L": L, "n": N}, "derived": {
        "band_k": der["band_k"], "d_c": der["d_c"], "k_c": der["k_c"], "k_star": kstar,
        "wavelength_star": 2 * math.pi / kstar, "lambda_max": der["lambda_max"],
        "best_allowed_mode": n_best, "best_allowed_k": float(allowed[order[0]]),
        "best_allowed_rate": float(lam_grid[order[0]]), "runner_up_mode": n_second,
        "runner_up_rate": float(lam_grid[order[1]]), "unstable_modes": [int(n_unstable[0]), int(n_unstable[-1])]}}
    progress(0, total)
    # 1. linear regime: 32 runs from 1e-12 noise, saved every 10 time units up to t = 80 (rms(u - u*) ~ 1e-4 there,
    #    still linear).  The growth rate of every grid mode is measured between t = 10 and t = 40.
    u0, v0 = rd.noise_start(kin, N, 1e-12, seed=seed, batch=(LIN_RUNS,))
    lin = rd.simulate(kin, 1.0, D, L, u0, v0, LIN_T, 0.05, n_save=8)
    k, rate = rd.mode_growth_rates(lin.u[1], lin.t[1], lin.u[4], lin.t[4], L)
    pred = lp(k).real
    band = (k > der["band_k"][0]) & (k < der["band_k"][1])
    rate_err = float(np.max(np.abs(rate[band] - pred[band])))
    claims.append(claim(f"linear regime: growth rate of each unstable grid mode ({LIN_RUNS} runs, t = 10..40) equals "
                        "the derived lambda_+(k) (max abs error < 1e-3)", rate_err, 0.0, rate_err < 1e-3))
    from scipy.interpolate import CubicSpline

    fine = np.linspace(k[band][0], k[band][-1], 20001)
    k_fit = float(fine[np.argmax(CubicSpline(k[band], rate[band])(fine))])
    claims.append(claim("the fastest-growing k from the measured rates (maximum of a cubic spline through them) is "
                        "the derived k* = 3/sqrt(38) within 1%", k_fit, kstar, abs(k_fit / kstar - 1) < 0.01))
    r_band = np.where(band, rate, -np.inf)
    m_order = np.argsort(r_band)[::-1]
    n_rate, gap_measured = int(m_order[0]), float(r_band[m_order[0]] - r_band[m_order[1]])
    claims.append(claim(f"linear regime: the grid mode with the largest MEASURED growth rate is exactly the best "
                        f"allowed mode n* = argmax_n Re lambda_+(2 pi n/L) = {n_best} (k = {n_best * dk:.2f}), not its "
                        f"neighbour n = {n_second}: measured rate gap {gap_measured:.5f} (derived {gap_derived:.5f})",
                        n_rate, n_best, n_rate == n_best))
    ks, p_lin = rd.power_spectrum(lin.u[-1], L)
    s_order = 1 + np.argsort(p_lin[1:])[::-1]
    n_spec, ratio = int(s_order[0]), float(p_lin[s_order[0]] / p_lin[s_order[1]])
    rms_lin = float(np.sqrt(np.mean((lin.u[-1] - kin.steady_state[0]) ** 2)))
    claims.append(claim(f"end of the linear phase (t = {LIN_T:.0f}, rms(u - u*) = {rms_lin:.1e} < 1e-3): the mean power "
                        f"spectrum of the {LIN_RUNS} runs peaks exactly at n* = {n_best} (its power / the runner-up "
                        f"n = {int(s_order[1])}: {ratio:.2f})", n_spec, n_best, n_spec == n_best and rms_lin < 1e-3))
    summary["linear"] = {"runs": LIN_RUNS, "noise": 1e-12, "t_spectrum": LIN_T, "rms_at_t_spectrum": rms_lin,
                         "mode_of_mean_spectrum": n_spec, "power_ratio_to_runner_up": ratio,
                         "runner_up_in_spectrum": int(s_order[1]),
                         "power_ratio_from_derived_rates_exp(2 gap t)": math.exp(2 * gap_derived * LIN_T),
                         "modes_of_single_runs": [int(round(rd.dominant_wavenumber(u, L) / dk)) for u in lin.u[-1]],
                         "mode_of_largest_measured_rate": n_rate, "measured_rate_gap": gap_measured,
                         "derived_rate_gap": gap_derived, "rate_max_abs_error": rate_err,
                         "k_from_spline_of_rates": k_fit}
    progress(1, total)
    # 2. the saturated pattern at d = 20, one run from 1e-10 noise (linear phase until t ~ 80).  Which band mode
    #    survives is decided by nonlinear competition, which the linear theory does not predict.
    u0, v0 = rd.noise_start(kin, N, 1e-10, seed=seed)
    main = rd.simulate(kin, 1.0, D, L, u0, v0, 400.0, 0.05, n_save=200)
    rms_main = np.sqrt(np.mean((main.u - kin.steady_state[0]) ** 2, axis=-1))
    i_lin = int(np.nonzero(rms_main < 1e-2)[0][-1])  # last snapshot of the linear phase
    n_lin = int(round(rd.dominant_wavenumber(main.u[i_lin], L) / dk))
    k_late = rd.dominant_wavenumber(main.u[-1], L)
    n_late = int(round(k_late / dk))
    peaks = int(np.sum((main.u[-1] > np.roll(main.u[-1], 1)) & (main.u[-1] >= np.roll(main.u[-1], -1))
                       & (main.u[-1] > kin.steady_state[0])))
    claims.append(claim(f"nonlinear selection, t = 400 (not a prediction of the linear theory): the saturated "
                        f"pattern's dominant mode is within one grid mode of n* = {n_best}, i.e. one of 3 of the "
                        f"{n_unstable.size} unstable modes n = {n_unstable[0]}..{n_unstable[-1]} (wavelength "
                        f"{2 * math.pi / k_late:.2f}; 2 pi/k* = {2 * math.pi / kstar:.2f})", n_late,
                        [n_best - 1, n_best + 1], abs(n_late - n_best) <= 1))
    summary["late"] = {"noise": 1e-10, "mode": n_late, "k_dominant": k_late, "wavelength": 2 * math.pi / k_late,
                       "peaks": peaks, "t_end_of_linear_phase": float(main.t[i_lin]), "mode_at_end_of_linear_phase": n_lin,
                       "keeps_the_linear_phase_mode": n_lin == n_late,
                       "u_range": [float(main.u[-1].min()), float(main.u[-1].max())]}
    progress(2, total)
    # 3. below and above the critical ratio (same a, b): the derived rate of the best grid mode
    from verify.checks.turing import general_lambda_plus

    thr = {}
    for label, factor, t_end, window in (("below", 0.9, 150.0, (50.0, 150.0)), ("above", 1.1, 400.0, (30.0, 150.0))):
        dd = factor * der["d_c"]
        lam_d = general_lambda_plus(dd)
        modes = np.concatenate([[0.0], allowed])
        rates = lam_d(modes).real
        best = int(np.argmax(rates))
        sim, rms = _threshold_run(kin, dd, L, N, seed, t_end, 0.05)
        i0, i1 = (int(np.searchsorted(sim.t, w)) for w in window)
        km, measured = rd.mode_growth_rates(sim.u[i0], sim.t[i0], sim.u[i1], sim.t[i1], L)
        thr[label] = {"d": dd, "t": sim.t, "rms": rms, "lambda": lam_d, "window": window,
                      "best_mode_k": float(modes[best]), "derived_rate": float(rates[best]),
                      "measured_rate": float(measured[best]), "rms_slope": _rms_rate(sim.t, rms, *window),
                      "k_dominant_final": rd.dominant_wavenumber(sim.u[-1], L)}
    b_, a_ = thr["below"], thr["above"]
    claims.append(claim(f"d = 0.9 d_c: the noise decays (rms(t=150) < rms(0)); the slowest grid mode "
                        f"(k = {b_['best_mode_k']:.2f}) decays at the derived rate max_n Re lambda_+(2 pi n/L) "
                        "(within 1e-3)", b_["measured_rate"], b_["derived_rate"],
                        b_["rms"][-1] < b_["rms"][0] and abs(b_["measured_rate"] - b_["derived_rate"]) < 1e-3))
    claims.append(claim(f"d = 1.1 d_c: a pattern forms (rms(t=400) > 0.05, from 1e-4 noise); the fastest grid mode "
                        f"(k = {a_['best_mode_k']:.2f}) first grows at the derived rate (within 1e-3)",
                        a_["measured_rate"], a_["derived_rate"],
                        a_["rms"][-1] > 0.05 and abs(a_["measured_rate"] - a_["derived_rate"]) < 1e-3))
    summary["threshold"] = {lab: {key: val for key, val in r.items() if key not in ("t", "rms", "lambda")}
                            | {"rms_final": float(r["rms"][-1]), "rms_initial": float(r["rms"][0])}
                            for lab, r in thr.items()}
    progress(3, total)
    extra = {}
    if full:
        extra = _full_runs(kin, der, seed, progress, total)
        summary["full"] = {key: val for key, val in extra.items() if key != "field2d"}
        # no claim on the 2-D linear-phase ring: a ring of width 2 pi/L holds lattice modes on both sides of k*
        # (|k| L/2 pi = sqrt(90) and sqrt(97) fall in neighbouring rings), so the ring that wins depends on mode
        # counts and noise projections as well as on lambda_+; it is recorded, not compared
        summary["full"]["k_2d_linear_note"] = "recorded only: ring binning cannot resolve the best lattice mode"
        claims.append(claim("2-D saturated spots (t = 300): the dominant ring |k| lies in the derived unstable band "
                            "(nonlinear selection: not necessarily k*)", extra["k_2d"], list(der["band_k"]),
                            der["band_k"][0] < extra["k_2d"] < der["band_k"][1]))
        expected_peaks = 5 * L * kstar / (2 * math.pi)
        claims.append(claim("nonlinear selection on a long 1-D domain (L = 200 pi, t = 1000): the number of peaks "
                            "is within 10% of the linear-theory count L k*/(2 pi)",
                            extra["peaks_long"], expected_peaks, abs(extra["peaks_long"] / expected_peaks - 1) < 0.1))
    summary["claims"] = claims
    fig = _figure(der | {"best_k": n_best * dk}, k, rate, band, main, lin, thr, kin, extra)
    progress(total, total)
    return fig, summary


def _full_runs(kin, der, seed, progress, total):
    """A 2-D run (128 x 128, L = 40 pi) and a 1-D run on a domain 5x longer (L = 200 pi)."""
    from numeric.models import reaction_diffusion as rd

    from verify.checks.turing import D, L

    u0, v0 = rd.noise_start(kin, 128, 1e-3, seed=seed, dim=2)
    sim2 = rd.simulate(kin, 1.0, D, L, u0, v0, 300.0, 0.05, n_save=30, dim=2,
                       progress=lambda i, n: progress(4 + i / n, total))
    Ll = 5 * L
    u0, v0 = rd.noise_start(kin, 1280, 1e-3, seed=seed)
    siml = rd.simulate(kin, 1.0, D, Ll, u0, v0, 1000.0, 0.05, n_save=20,
                       progress=lambda i, n: progress(5 + i / n, total))
    ul = siml.u[-1]
    peaks = int(np.sum((ul > np.roll(ul, 1)) & (ul >= np.roll(ul, -1)) & (ul > kin.steady_state[0])))
    return {"k_2d_linear": rd.dominant_wavenumber(sim2.u[2], L, dim=2), "t_2d_linear": float(sim2.t[2]),
            "k_2d": rd.dominant_wavenumber(sim2.u[-1], L, dim=2), "k_long": rd.dominant_wavenumber(ul, Ll),
            "peaks_long": peaks, "wavelength_long": Ll / peaks, "field2d": sim2.u[-1]}


def _figure(der, k, rate, band, main, lin, thr, kin, extra):
    from numeric.models import reaction_diffusion as rd

    from verify.checks.turing import L

    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4))
    ax = axes[0, 0]
    kk = np.linspace(0, 1.2, 600)
    ax.axvspan(*der["band_k"], color="tab:orange", alpha=0.15, label="unstable band (derived)")
    ax.plot(kk, der["lambda_plus"](kk).real, color="black", lw=2, label=r"derived Re $\lambda_+(k)$, $d = 20$")
    for lab, color in (("below", "tab:blue"), ("above", "tab:green")):
        ax.plot(kk, thr[lab]["lambda"](kk).real, color=color, lw=1, ls="--",
                label=rf"derived, $d = {thr[lab]['d']:.2f}$ ({'0.9' if lab == 'below' else '1.1'} $d_c$)")
    sel = k <= 1.2
    ax.plot(k[sel & band], rate[sel & band], "o", color="tab:red", ms=5, label="measured (simulation, t = 10..40)")
    ax.axvline(der["k_star"], color="tab:red", lw=0.8, ls=":", label=rf"$k^* = 3/\sqrt{{38}}$ = {der['k_star']:.4f}")
    ax.axhline(0, color="gray", lw=0.6)
    ax.set_ylim(-0.4, 0.32)
    ax.set_xlabel("wavenumber k")
    ax.set_ylabel("growth rate")
    ax.set_title(f"Schnakenberg a = 0.1, b = 0.9: dispersion relation, d_c = {der['d_c']:.4f}", fontsize=9)
    ax.legend(fontsize=6.5, loc="upper right")
    ax = axes[0, 1]
    im = ax.imshow(main.u, aspect="auto", origin="lower", extent=[0, L, 0, main.t[-1]], cmap="viridis")
    fig.colorbar(im, ax=ax, label="u")
    ax.set_xlabel("x")
    ax.set_ylabel("t")
    ax.set_title("space-time plot of u (d = 20, from 1e-10 noise: linear phase until t ~ 80)", fontsize=9)
    ax = axes[1, 0]
    for snap, lab, color in ((lin.u[-1], f"t = {LIN_T:.0f} (linear, {LIN_RUNS}-run mean)", "tab:blue"),
                             (main.u[-1], "t = 400 (saturated)", "tab:purple")):
        ks, p = rd.power_spectrum(snap, L)
        ax.semilogy(ks[1:], p[1:] / p[1:].max(), ".-", color=color, ms=3, lw=0.8, label=lab)
    if extra:
        ks, p = rd.power_spectrum(extra["field2d"], L, dim=2)
        ax.semilogy(ks[1:], p[1:] / p[1:].max(), ".-", color="tab:green", ms=3, lw=0.8, label="2-D, t = 300 (rings)")
    ax.axvspan(*der["band_k"], color="tab:orange", alpha=0.15)
    ax.axvline(der["k_star"], color="tab:red", lw=0.8, ls=":", label="k*")
    ax.axvline(der["best_k"], color="black", lw=0.8, ls="--", label="best allowed grid mode (derived)")
    ax.set_xlim(0, 3)
    ax.set_ylim(1e-12, 2)
    ax.set_xlabel("wavenumber k")
    ax.set_ylabel("power (normalized)")
    ax.set_title("spectrum of u on the grid modes n/20 (k* dotted); harmonics of the saturated pattern", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    for lab, color in (("below", "tab:blue"), ("above", "tab:green")):
        r = thr[lab]
        ax.semilogy(r["t"], r["rms"], color=color, label=f"d = {r['d']:.2f}: measured rms(u - u*)")
        t0 = r["window"][0]
        i0 = int(np.searchsorted(r["t"], t0))
        ax.semilogy(r["t"][i0:], 3 * r["rms"][i0] * np.exp(r["derived_rate"] * (r["t"][i0:] - t0)), color=color,
                    ls=":", label=rf"derived slope $e^{{\lambda t}}$ (shifted up 3x), $\lambda$ = {r['derived_rate']:.4f}")
    ax.set_ylim(1e-8, 10)
    ax.set_xlabel("t")
    ax.set_ylabel("rms of u - u*")
    ax.set_title("just below d_c the noise decays; just above, a pattern grows and saturates", fontsize=9)
    ax.legend(fontsize=7)
    if extra:
        inset = ax.inset_axes([0.62, 0.08, 0.34, 0.34])
        inset.imshow(extra["field2d"], cmap="viridis")
        inset.set_xticks([])
        inset.set_yticks([])
    fig.tight_layout()
    return fig
