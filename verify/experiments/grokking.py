"""Grokking modular addition (Li₂, Y. Tian, arXiv:2509.21519): delayed generalization of a 2-layer
quadratic network trained by full-batch GD with weight decay, stages read off the backpropagated gradient
G_F, the alignment of the hidden units' updates with the derived energy gradient ∇E, and the Fourier
features that emerge (compared with the energy's maxima found by independent gradient ascent).

Regime.  The derivation (derive/theories/grokking.py, ``li2-energy``) makes G_F label-determined, and the update of
unit j equal to ∇E(w_j)/(nη), only to leading order in ρ = ‖F‖²_op/η (its bound on the relative deviation is
2ρ/(1+ρ)); that regime, ρ ≪ 1, is checked exactly in the check group (grokking/stage-II-update, ρ ≈ 0.02).
This run is far outside it: at the end of the lazy stage ρ ≈ 300 (≈ 20 with F's mean row removed), so the
bound is vacuous and the stages below are read off empirically, not predicted.  In a short search (p = 23,
wd up to 0.01, several init scales and step sizes) no run had ρ < 1 during stage II and still generalised
within 3000 steps: the runs that start with ρ < 1 did not fit the training set.

Stage III is marked by the fall of cos(G_F, ỸỸᵀF) from its peak (:func:`stage_boundaries`).  The paper's
statement "G_F changes to focus on missing features" (abstract) is measured as the share of G_F's label
power on the less-learned half of the target frequencies (fit on the training pairs, where G_F is
computed), against a shuffled-frequency null (the same share for every frequency set of that size) and
against the independent form ỸỸᵀF.  The paper's body (its stage-III theorems) could not be read here; this
diagnostic is our own construction."""
from __future__ import annotations

import numpy as np

from verify.experiments import claim


def _plt():
    from verify.figures.backend import _plt as plt

    return plt()


def _first(steps, cond):
    idx = np.flatnonzero(cond)
    return int(steps[idx[0]]) if idx.size else None


def stage_boundaries(h: dict) -> tuple:
    """Stage boundaries read off the backpropagated gradient G_F empirically, by explicit thresholds:

    * end of stage I (lazy): the first recorded step with train accuracy 100% (the top layer has fit the
      current, still random, features) and cos(G_F, Ỹ Ỹᵀ F) >= 0.5 (G_F now mostly carries the labels);
    * start of stage III (interactive): the first recorded step after that at which cos(G_F, Ỹ Ỹᵀ F) has
      fallen 0.1 below its running maximum since the end of stage I: the independent form, in which column j
      of G_F depends on unit j alone, explains less of G_F;
    * generalization: the first recorded step with test accuracy >= 95%.
    The derivation predicts cos → 1 only for ρ = ‖F‖²_op/η ≪ 1; in the runs here ρ ≫ 1, so these are
    markers of the measured curve, not derived stage boundaries.
    Returns (t_lazy, t_inter, t_test); None where the condition is never met."""
    st, gl = h["step"], h["gf_label"]
    t_lazy = _first(st, (h["train_acc"] >= 1.0) & (gl >= 0.5))
    t_inter = None
    if t_lazy is not None:
        after = st >= t_lazy
        peak = np.maximum.accumulate(np.where(after, gl, -np.inf))
        t_inter = _first(st, after & (gl <= peak - 0.1))
    return t_lazy, t_inter, _first(st, h["test_acc"] >= 0.95)


def _subset_masks(k: int, m: int, rng, limit: int = 5000, draws: int = 2000) -> np.ndarray:
    """All m-subsets of k frequencies as boolean rows (if there are at most `limit`), else `draws` random ones."""
    from itertools import combinations
    from math import comb

    if comb(k, m) <= limit:
        rows = [np.isin(np.arange(k), c) for c in combinations(range(k), m)]
        return np.array(rows, dtype=bool).reshape(-1, k)
    return np.array([np.isin(np.arange(k), rng.choice(k, m, replace=False)) for _ in range(draws)])


def missing_rank(power: np.ndarray, phi: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per step t: the mid-rank, in [0, 1], of the share of power[t] on the missing set (φ_k < median φ) among
    the shares on the frequency sets `masks` of the same size (the shuffled-frequency null).  If the spectrum
    were unrelated to which frequencies are missing, the rank would be uniform on [0, 1]."""
    out = np.empty(len(power))
    for t, (pw, ph) in enumerate(zip(power, phi)):
        share = pw[ph < np.median(ph)].sum() / pw.sum()
        null = masks @ pw / pw.sum()
        out[t] = (np.sum(null < share) + 0.5 * np.sum(null == share)) / len(null)
    return out


def _stats(x) -> list:
    """[median, 10th, 90th percentile] over recorded steps (NaN for an empty stage)."""
    x = np.asarray(x, float)
    return [float(v) for v in np.percentile(x, [50, 10, 90])] if x.size else [float("nan")] * 3


def grokking(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Train/test accuracy (delayed generalization), G_F diagnostics with the stages marked (see
    :func:`stage_boundaries`), G_F's focus on missing frequencies against a shuffled-frequency null,
    update-vs-∇E alignment against shuffled-label energies, and the learned features' Fourier spectrum vs
    the energy's maxima.  Default: p = 23, half the pairs for training; full: p = 41 with 30% of the pairs
    (at 50% the p = 41 run generalizes almost as soon as it fits).

    Claims and the nulls they are compared with:
    * missing-frequency focus: the rank of G_F's missing-set share among all frequency sets of that size is
      uniform on [0, 1] if G_F ignores what is missing, so a stage-III median rank >= 0.95 (the null's top 5%)
      is the test; the independent form ỸỸᵀF, whose spectrum mirrors F's learned frequencies, must not pass
      (median rank <= 0.5).  The rise from stage II to III is tested against the step-to-step spread of
      stage II: the stage-III median share must exceed the stage-II 90th percentile.
    * update vs ∇E: with `shuffles` = 5 label permutations, under the null "labels do not matter" the true
      energy's cosine is the largest of 6 exchangeable values with probability 1/6 at each step; the claim is
      that it is the largest at every recorded step of stages II-III.
    * Fourier concentration: the null is the random initialization itself (128 Gaussian units): the final
      norm-weighted concentration must exceed the 99th percentile of the initial units'."""
    from numeric.models import grokking as ng

    p, width, steps, every, frac = (41, 256, 7000, 50, 0.3) if full else (23, 128, 3000, 50, 0.5)
    lr, wd, shuffles = 2.0, 1e-3, 5
    data = ng.modular_addition(p, frac, seed=seed)
    total = steps + 1
    W, V, hist, _ = ng.train(data, width=width, lr=lr, wd=wd, steps=steps, init_scale=1.0, record_every=every,
                             seed=seed, record_steps=tuple(range(0, 8 * every, every // 5)), shuffles=shuffles,
                             progress=(lambda t, s: progress(t, total)) if full else None)
    h = hist.arrays()
    st = h["step"]
    t_lazy, t_inter, t_test = stage_boundaries(h)
    t_train = _first(st, h["train_acc"] >= 1.0)
    never = st[-1] + 1
    stage2 = (st >= (t_lazy if t_lazy is not None else never)) & (st < (t_inter if t_inter is not None else -1))
    stage3 = (st >= (t_inter if t_inter is not None else never)) & (st <= (t_test if t_test is not None else -1))
    features = stage2 | stage3
    # the energy's maxima (independent projected gradient ascent on all p^2 pairs) are single Fourier modes
    Xall = np.concatenate([data.X_train, data.X_test])
    Yall = ng.centred_targets(np.concatenate([data.y_train, data.y_test]), p)
    rng = np.random.default_rng(seed)
    maxima = ng.energy_ascent(Xall, Yall, rng.standard_normal((8, 2 * p)).T, steps=300)
    conc_max = ng.fourier_concentration(maxima, p)
    conc_init = ng.fourier_concentration(ng.init_params(p, width, 1.0, seed)[0], p)
    conc_final = ng.fourier_concentration(W, p)
    norms = np.linalg.norm(W, axis=0)
    conc_final_weighted = float(np.sum(conc_final * norms**2) / np.sum(norms**2))
    init_q99 = float(np.percentile(conc_init, 99))
    kf = h["phi"].shape[1]
    masks = _subset_masks(kf, int(np.sum(h["phi"][0] < np.median(h["phi"][0]))), rng)
    rank_gf, rank_ind = missing_rank(h["gf_power"], h["phi"], masks), missing_rank(h["ind_power"], h["phi"], masks)
    progress(total, total)

    ratio = (t_test / max(t_train, 1)) if (t_test and t_train) else float("nan")
    at_lazy = st == t_lazy
    rho_lazy = [float(h["rho"][at_lazy][0]), float(h["rho_centred"][at_lazy][0])] if t_lazy is not None else [None] * 2
    rho_s2 = float(np.median(h["rho"][stage2])) if stage2.any() else float("nan")
    regime = (f"rho = |F|_op^2/eta = {rho_lazy[0]:.3g} (centred {rho_lazy[1]:.3g}) at the end of stage I"
              if t_lazy is not None else "rho not measured (no end of stage I)")
    shuf_lazy = float(h["gf_shuffled"][at_lazy][0]) if t_lazy is not None else float("nan")
    r3g, r3i, r2g = _stats(rank_gf[stage3])[0], _stats(rank_ind[stage3])[0], _stats(rank_gf[stage2])[0]
    miss2, miss3 = _stats(h["gf_missing"][stage2]), _stats(h["gf_missing"][stage3])
    ue, us_max = h["update_energy"][features], h["update_shuffled"][features].max(axis=1)
    above = float(np.mean(ue > us_max)) if features.any() else float("nan")
    claims = [
        claim("delayed generalization: steps to >= 95% test accuracy / steps to 100% train accuracy",
              ratio, "> 5 (grokking: test accuracy rises long after the training set is fit)", ratio > 5),
        claim("final test accuracy", float(h["test_acc"][-1]), ">= 0.95", h["test_acc"][-1] >= 0.95),
        claim("stage I: at initialization G_F is unrelated to the labels, |cos(G_F, Y Y^T F)|",
              float(abs(h["gf_label"][0])), "< 0.1 (random top layer)", abs(h["gf_label"][0]) < 0.1),
        claim(f"end of lazy stage (train fit and cos(G_F, Y Y^T F) >= 0.5 by definition): the same cosine with "
              f"shuffled labels; {regime}, so the derivation's cos -> 1 (rho << 1) does not apply here",
              shuf_lazy, "|cos| < 0.15 (no label information in the control; the label cosine is >= 0.5 there)",
              abs(shuf_lazy) < 0.15),
        claim("stage order: start of the interactive stage (empirical: cos(G_F, Y Y^T F) 0.1 below its peak) "
              "before test accuracy 95% (steps)", [t_inter, t_test],
              "t_inter < t_test (Li2: interaction precedes generalization)",
              None not in (t_inter, t_test) and t_inter < t_test),
        claim("G_F concentrates on the missing frequencies (the less-learned half by the fit on training pairs), "
              "its independent form Y Y^T F does not: median over stage-III steps of the rank of the missing set's "
              f"share among {len(masks)} same-size frequency sets [G_F, Y Y^T F] (G_F in stage II already: {r2g:.2f})",
              [r3g, r3i], "G_F >= 0.95 (top 5% of the shuffled-frequency null, uniform if G_F ignored what is "
              "missing); Y Y^T F <= 0.5 (it mirrors F's learned frequencies)", r3g >= 0.95 and r3i <= 0.5),
        claim("G_F's share of label power on the missing frequencies rises from stage II to III: stage-III median "
              "vs stage-II [median, 10%, 90%] over steps", [miss3[0], miss2],
              "stage-III median > stage-II 90th percentile (Li2: in stage III G_F focuses on missing features)",
              miss3[0] > miss2[2]),
        claim(f"stages II-III: cos(actual update -dL/dW, [grad E(w_j)]_j) exceeds its value for each of "
              f"{shuffles} label-shuffled energies: fraction of recorded steps; ({regime}: cos ~ 0.8, not the "
              f"derived 1 of rho << 1); measured [fraction, median cos, median of the largest shuffled cos]",
              [above, _stats(ue)[0], _stats(us_max)[0]],
              f"1 (every step; under the null each step has chance 1/{shuffles + 1})", above == 1.0),
        claim("energy maxima (projected ascent from 8 random starts, all p^2 pairs) are single Fourier modes: "
              "smallest fraction of power at one frequency", float(conc_max.min()), ">= 0.99",
              conc_max.min() >= 0.99),
        claim("learned hidden weights concentrate on single frequencies: norm-weighted mean fraction at the top "
              "frequency, final vs the 99th percentile over the initial random units", [conc_final_weighted, init_q99],
              "final > initial 99th percentile (toward the energy maxima, fraction 1)", conc_final_weighted > init_q99),
    ]
    fig = _figure(p, h, t_train, (t_lazy, t_inter, t_test), W, maxima, rank_gf, rank_ind)
    summary = {"p": p, "width": width, "lr": lr, "weight_decay": wd, "steps": steps, "n_train": int(len(data.y_train)),
               "steps_to_train_100": t_train, "steps_to_test_95": t_test, "end_of_lazy_stage": t_lazy,
               "start_of_interactive_stage": t_inter, "rho_end_of_lazy": rho_lazy[0],
               "rho_centred_end_of_lazy": rho_lazy[1], "rho_median_stage_II": rho_s2,
               "gf_missing_share_stage_II_III_median_p10_p90": [miss2, miss3],
               "gf_missing_rank_median_stage_II_III": [r2g, r3g], "ind_missing_rank_median_stage_III": r3i,
               "update_energy_cos_stage_II_III_median_p10_p90": _stats(ue),
               "update_shuffled_max_cos_stage_II_III_median_p10_p90": _stats(us_max),
               "final_train_acc": float(h["train_acc"][-1]), "final_test_acc": float(h["test_acc"][-1]),
               "fourier_concentration_energy_maxima": conc_max.tolist(), "claims": claims}
    return fig, summary


def _shade(ax, stages, last, legend=True):
    """Stage I, II, III as coloured bands (boundaries from :func:`stage_boundaries`)."""
    t_lazy, t_inter, t_test = stages
    bands = ((0, t_lazy, "tab:purple", "I lazy"), (t_lazy, t_inter, "tab:green", "II independent"),
             (t_inter, t_test or last, "tab:red", "III interactive"))
    for a, b, c, lab in bands:
        if a is not None and b is not None:
            ax.axvspan(a, b, color=c, alpha=0.09, label=f"stage {lab} (empirical)" if legend else None)


def _figure(p, h, t_train, stages, W, maxima, rank_gf, rank_ind):
    from numeric.models import grokking as ng

    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(15, 7.6))
    st = h["step"]
    t_lazy, t_inter, t_test = stages
    lin = max(st[1], 1)
    ax = axes[0, 0]
    ax.plot(st, h["train_acc"], label="train accuracy")
    ax.plot(st, h["test_acc"], label="test accuracy")
    ax.plot(st, h["train_loss"] / h["train_loss"][0], color="gray", lw=0.8, label="train objective / initial")
    for t, lab, c, y in ((t_lazy, "end of stage I", "tab:purple", 0.62), (t_inter, "stage III", "tab:red", 0.75),
                         (t_train, "train 100%", "tab:blue", 0.45), (t_test, "test 95%", "tab:orange", 0.5)):
        if t is not None:
            ax.axvline(t, color=c, ls="--", lw=1)
            ax.text(t, y, f" {lab}\n t={t}", color=c, fontsize=7)
    ax.set_xlabel("GD step")
    ax.set_title(f"modular addition p = {p}: delayed generalization", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[0, 1]
    ax.plot(st, h["gf_label"], label=r"cos($G_F$, $\tilde Y\tilde Y^\top F$)  (independent form)")
    ax.plot(st, h["gf_shuffled"], label=r"same, labels shuffled")
    ax.plot(st, h["gf_ridge"], label=r"cos($G_F$, $G_F$ at ridge $V^*$)")
    ax.plot(st, h["update_energy"], label=r"cos($-\partial L/\partial W$, $[\nabla E(w_j)]_j$)")
    ax.fill_between(st, h["update_shuffled"].min(1), h["update_shuffled"].max(1), color="tab:red", alpha=0.2,
                    label="same, energies of 5 shuffled labelings (range)")
    _shade(ax, stages, st[-1])
    ax.set_xscale("symlog", linthresh=lin)
    ax.set_xlabel("GD step")
    ax.set_title("structure of the backpropagated gradient $G_F$", fontsize=9)
    ax.legend(fontsize=6.5, loc="lower right")
    ax = axes[0, 2]
    ax.plot(st, h["gf_missing"], label=r"$G_F$")
    ax.plot(st, h["ind_missing"], label=r"independent form $\tilde Y\tilde Y^\top F$")
    k_miss = np.sum(h["phi"][0] < np.median(h["phi"][0]))
    ax.axhline(k_miss / h["phi"].shape[1], color="k", lw=0.6, ls=":",
               label=f"uniform power: {k_miss}/{h['phi'].shape[1]}")
    _shade(ax, stages, st[-1], legend=False)
    ax.set_xscale("symlog", linthresh=lin)
    ax.set_xlabel("GD step")
    ax.set_title("share of label power on the less-learned half of frequencies\n(fit on training pairs)", fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[1, 0]
    ax.plot(st, h["fourier"], label="mean Fourier concentration of hidden units")
    ax.plot(st, h["norm_W"] / h["norm_W"].max(), label=r"$\|W\|$ / max")
    _shade(ax, stages, st[-1], legend=False)
    ax.set_xlabel("GD step")
    ax.set_ylim(0, 1.45)
    ax.legend(fontsize=7, loc="upper left")
    ax2 = ax.twinx()
    ax2.semilogy(st, h["rho"], color="tab:green", lw=0.9, label=r"$\rho = \|F\|^2_{op}/\eta$")
    ax2.semilogy(st, h["rho_centred"], color="tab:olive", lw=0.9, ls="--", label=r"$\rho$ of centred $F$")
    ax2.axhline(1.0, color="tab:green", lw=0.6, ls=":")
    ax2.text(st[-1], 1.1, r"$\rho = 1$ (derived regime: $\rho \ll 1$)", fontsize=7, ha="right", color="tab:green")
    ax2.set_ylim(0.3, 8 * max(float(h["rho"].max()), 1.0))
    ax2.legend(fontsize=7, loc="upper right")
    ax.set_title(r"features: Fourier concentration, scale, and $\rho$ (log, right)", fontsize=9)
    ax = axes[1, 1]
    half = ng.weight_spectrum(W, p)
    half = half / np.maximum(half.sum(0, keepdims=True), 1e-300)
    order = np.lexsort((-half.max(0), np.argmax(half, 0)))
    im = ax.imshow(half[:, order], aspect="auto", cmap="viridis", origin="lower",
                   extent=(0, W.shape[1], 0.5, half.shape[0] + 0.5))
    fig.colorbar(im, ax=ax, fraction=0.04)
    ax.set_xlabel("hidden unit (sorted by dominant frequency)")
    ax.set_ylabel("frequency k")
    mk = ng.dominant_frequency(maxima, p)
    ax.set_title(f"learned features' power spectrum; energy maxima at k = {sorted(set(mk.tolist()))}", fontsize=8)
    ax = axes[1, 2]
    ax.plot(st, rank_gf, label=r"$G_F$")
    ax.plot(st, rank_ind, label=r"independent form $\tilde Y\tilde Y^\top F$")
    ax.axhline(0.95, color="k", lw=0.6, ls=":", label="null's top 5%")
    ax.axhline(0.5, color="gray", lw=0.6, ls="--", label="null median")
    _shade(ax, stages, st[-1], legend=False)
    ax.set_xscale("symlog", linthresh=lin)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("GD step")
    ax.set_ylabel("rank among same-size frequency sets")
    ax.set_title("missing-frequency share vs shuffled-frequency null", fontsize=9)
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    return fig
