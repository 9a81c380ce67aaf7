"""``ldyn experiment phase-transitions``: four control parameters swept over seeds with :mod:`numeric.sweep`,
each transition located with an error bar and compared, seed by seed, with the derived prediction
(:mod:`verify.sweeps`).

* step size on a quadratic: divergence at η = 2/λ_max (``derive.rules.gradient_descent``/``momentum_limits``);
* momentum at a step size above 2/λ_max: heavy ball is stable again once β > ηλ_max/2 − 1;
* weight decay on a two-layer tanh network: the weights collapse at wd = ‖E[y x]‖, and below it
  ‖θ‖² ≈ (‖c‖ − wd)/q, the Landau amplitude of ``derive.theories.phase.weight_decay_pitchfork``;
* gradient noise on a quadratic: the stationary excess loss ησ²/(2(2 − ηλ_i)) summed over directions;
* step size on the two-layer network: every converged run ends with λ_max ≤ 2/η (a minimum GD can
  stay at), and divergence sets in inside the catapult window 2/λ₀ < η ≤ 4/λ₀ (Lewkowycz et al. 2020).
"""
from __future__ import annotations

import math

import numpy as np

from verify.experiments import claim


LANDAU_RATIOS = (0.9, 0.95)  # wd / |c| where the Landau slope is measured: close to |c|, yet converged


def _landau_run(task):
    seed, wd, hyper = task
    from numeric.models import learners

    return learners.two_layer(wd, seed, control="weight_decay", lr=1.0, steps=hyper["landau_steps"], n=hyper["n"],
                              d=hyper["d"], width=hyper["width"])["weight_norm"] ** 2


def _landau(seeds, hyper: dict) -> dict:
    """Per seed: the derived slope −1/q of ‖θ‖² against wd just below ‖c‖ (q from the data's moments
    m₂ = E[s²], m₃ = E[y s³], s = u·x) vs the slope between runs at wd = 0.9‖c‖ and 0.95‖c‖."""
    import sympy as sp
    from concurrent.futures import ProcessPoolExecutor

    from numeric.models import learners
    from numeric.sweep import resolve_workers

    from verify.sweeps import pitchfork

    d = pitchfork()
    from derive.theories import phase

    q_spread = sp.lambdify((phase.m2, phase.m3), d.results["q_spread"].subs(phase.units, hyper["width"]))
    q_conc = sp.lambdify((phase.m2, phase.m3), d.results["q_concentrated"])
    out = {"measured_slope": [], "derived_slope": [], "critical": [], "norm_squared": [], "q": [], "theta0_norm": []}
    tasks = []
    for seed in seeds:
        X, y = learners.teacher_data(hyper["n"], hyper["d"], int(seed), 0)
        c = X.T @ y / len(y)
        cn = float(np.linalg.norm(c))
        s = X @ (c / cn)
        m2, m3 = float(np.mean(s**2)), float(np.mean(y * s**3))
        q = float(q_spread(m2, m3) if m3 > 0 else q_conc(m2, m3))
        out["q"].append(q)
        out["derived_slope"].append(-1.0 / q if q > 0 else math.nan)  # q <= 0: first order, no amplitude formula
        out["critical"].append(cn)
        out["theta0_norm"].append(float(np.linalg.norm(learners.initial_two_layer(int(seed), hyper["width"], hyper["d"]))))
        tasks += [(int(seed), r * cn, hyper) for r in LANDAU_RATIOS]
    with ProcessPoolExecutor(resolve_workers(None, len(tasks))) as pool:
        n2 = np.array(list(pool.map(_landau_run, tasks))).reshape(len(seeds), len(LANDAU_RATIOS))
    for k, cn in enumerate(out["critical"]):
        out["norm_squared"].append(n2[k].tolist())
        out["measured_slope"].append(float((n2[k, 1] - n2[k, 0]) / ((LANDAU_RATIOS[1] - LANDAU_RATIOS[0]) * cn)))
    return out


def phase_transitions(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Five sweeps (see the module docstring); seeds ``seed .. seed + S − 1``, all cores."""
    import functools

    from numeric.sweep import locate, t_interval

    from verify import sweeps

    S = 8 if full else 4
    seeds = list(range(seed, seed + S))
    fine = 81 if full else 41
    tl = {"n": 64, "d": 4, "steps": 4000 if full else 2000, "lr": 1.0}
    tl_landau = {"n": 64, "d": 4, "width": 8, "landau_steps": 12000 if full else 6000}
    plan = [
        ("least-squares", "lr", np.linspace(1.5, 2.7, fine), {}),
        ("least-squares", "momentum", np.linspace(0.0, 0.95, fine), {"lr": 3.0}),
        ("two-layer", "weight_decay", np.linspace(0.05, 0.6, 45 if full else 16), tl),
        ("least-squares", "noise", np.linspace(0.05, 0.5, 4), {"steps": 4000}),
        ("two-layer", "lr", np.geomspace(0.4, 4.0, 25 if full else 13), {"steps": tl["steps"]}),
    ]
    reports = []
    total = len(plan) + 2
    for i, (name, control, values, fixed) in enumerate(plan):
        progress(i, total)
        reports.append(sweeps.run(name, control, values, seeds, fixed, workers=None))
    progress(len(plan), total)
    # the collapse, refined by bisection per seed (the grid above is for the picture)
    collapse = locate(functools.partial(sweeps.flag, learner=sweeps.learner("two-layer", "weight_decay", tl),
                                        name="collapsed"), 0.05, 0.6, seeds, rtol=1e-3, workers=None)
    progress(len(plan) + 1, total)
    lan = _landau(seeds, tl_landau)
    progress(total, total)
    lr_rep, mom_rep, wd_rep, noise_rep, nn_rep = reports
    claims = []
    located = {}
    for rep, what, (lo, hi), fixed in ((lr_rep, "step size", (1.5, 2.7), {"steps": 3000}),
                                       (mom_rep, "momentum at lr = 3", (0.0, 0.95), {"lr": 3.0, "steps": 3000})):
        p = rep["prediction"]["per_seed"]
        tr = locate(functools.partial(sweeps.flag, learner=sweeps.learner("least-squares", rep["control"], fixed),
                                      name="diverged"), lo, hi, seeds, rtol=1e-4, rising=rep["rising"])
        rel = [m / p[seeds.index(int(s))] - 1 for m, s in zip(tr.per_seed, tr.seeds)]
        located[rep["control"]] = tr.to_json() | {"relative_to_derived": rel}
        claims.append(claim(f"least squares, {what}: divergence threshold bisected per seed on 3000-step runs (to 1e-4) "
                            f"vs the derived heavy-ball boundary (2 + 2 mu)/eta = lambda_max, relative, within 1e-3: "
                            f"a finite run flags a mode growing like |rho|^t only once it outgrows the initial loss, "
                            f"which shifts the switch by about ln(L_0/L_top)/(2 T) ~ 1e-4..1e-3", rel, 0.0,
                            len(rel) == len(seeds) and max(abs(r) for r in rel) <= 1e-3))
        r = rep["paired"]
        claims.append(claim(f"least squares, {what}: the grid sweep (400 steps) locates every seed's switch next to "
                            f"its derived boundary: |measured - derived| per seed vs grid half-width + the 400-step "
                            f"detection bias (<= 1% of the boundary: 7.5 times the 3000-step bias above)", r["difference"],
                            [r["resolution"], 0.01], len(r["difference"]) == len(seeds) and
                            all(abs(dv) <= r["resolution"] + 0.01 * abs(pv) for dv, pv in zip(r["difference"], p))))
    pos = {int(s): k for k, s in enumerate(collapse.seeds)}
    ratio = [collapse.per_seed[pos[s]] / lan["critical"][k] for k, s in enumerate(seeds) if s in pos]
    # critical slowing down: near wd = |c| the origin attracts at the rate eta (wd - |c|) per step, so a run of T
    # steps from |theta_0| reaches 1e-3 only once wd - |c| >~ ln(|theta_0| / 1e-3) / (eta T)
    slow = [1 + math.log(n0 / 1e-3) / (tl["lr"] * tl["steps"] * cn) for n0, cn in zip(lan["theta0_norm"], lan["critical"])]
    claims.append(claim("two-layer net, weight decay: collapse of the weights (|theta| < 1e-3 after %d steps, bisection "
                        "per seed) / the derived |E[y x]|: never below 1 (the origin is a saddle there), and at most the "
                        "critical-slowing-down delay 1 + ln(|theta_0|/1e-3)/(eta T |c|) above" % tl["steps"],
                        ratio, slow, len(ratio) == len(seeds) and all(1.0 <= r <= u for r, u in zip(ratio, slow))))
    rel = np.array(lan["measured_slope"]) / np.array(lan["derived_slope"]) - 1
    claims.append(claim("two-layer net, weight decay: slope of |theta|^2 against wd between 0.9|c| and 0.95|c| vs the "
                        "Landau amplitude -1/q (q > 0 for every seed: a continuous transition, |theta| ~ (|c| - wd)^(1/2)); "
                        "the quartic expansion is exact only as wd -> |c|, and the measured slopes are steeper by a "
                        "systematic higher-order correction of a few percent (5% allowed)", lan["measured_slope"],
                        lan["derived_slope"], all(q > 0 for q in lan["q"]) and float(np.max(np.abs(rel))) <= 0.05))
    sw = noise_rep["_sweep"]
    excess = sw.orders["final_loss"] - sw.orders["min_loss"]  # (values, seeds), independent noise per task
    derived = np.array(noise_rep["prediction"]["curve"])
    z = []
    for i in range(len(sw.values)):
        mean, half = t_interval(excess[i] / derived[i], 0.99)
        z.append([mean, half])
    claims.append(claim("least squares, gradient noise sigma: stationary excess loss (time average of the last 1000 "
                        "steps) / the derived sum_i eta sigma^2 / (2(2 - eta lambda_i)), per sigma: mean over seeds "
                        "and its 99% t-interval contains 1", z, 1.0, all(abs(m - 1) <= h for m, h in z)))
    sw = nn_rep["_sweep"]
    conv = sw.orders["diverged"] < 0.5
    eos = (sw.orders["sharpness"] * sw.values[:, None] / 2)[conv]
    claims.append(claim("two-layer net, step size: every converged run ends with lambda_max <= 2/eta, up to the "
                        "edge-of-stability oscillation of the sharpness around 2/eta (eta lambda_max / 2, largest over "
                        "runs; 3% slack for the oscillation)",
                        float(np.max(eos)), 1.0, float(np.max(eos)) <= 1.03))
    t = nn_rep["transition"]
    lam0 = [float(np.mean(sw.orders["sharpness0"][:, k])) for k in range(len(seeds))]
    pos = {int(s): k for k, s in enumerate(sw.seeds)}
    x_div = [m * lam0[pos[s]] for m, s in zip(t["per_seed"], t["seeds"])]
    claims.append(claim("two-layer net, step size: divergence eta_div lambda_0 per seed lies above the linear-stability "
                        "bound 2 and inside the catapult window (2, 4] that Lewkowycz et al. 2020 derive for wide "
                        "networks (a heuristic for this width-8 net)",
                        x_div, [2.0, 4.0], all(2.0 < x <= 4.0 for x in x_div) and len(x_div) == len(seeds)))
    fig = _figure(reports, lan)
    summary = {"seeds": seeds, "claims": claims, "landau": lan, "collapse": collapse.to_json(), "located": located,
               "sweeps": {f"{r['learner']}/{r['control']}": {k: v for k, v in r.items() if k not in ("_sweep", "sweep")}
                          for r in reports},
               "workers": reports[0]["_sweep"].workers}
    return fig, summary


def _figure(reports, lan):
    from verify.figures.backend import _plt

    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.6))
    titles = ["least squares: step size", "least squares: momentum (lr = 3)", "two-layer: weight decay",
              "least squares: gradient noise", "two-layer: step size"]
    keys = ["final_loss", "final_loss", "weight_norm", "final_loss", "sharpness"]
    for ax, rep, title, key in zip(axes.ravel(), reports, titles, keys):
        sw = rep["_sweep"]
        y = np.where(np.isfinite(sw.orders[key]), sw.orders[key], np.nan)
        for k in range(len(sw.seeds)):
            ax.plot(sw.values, y[:, k], "o-", ms=2.5, lw=0.8, alpha=0.8, label=f"seed {sw.seeds[k]}" if k < 4 else None)
        t, p = rep.get("transition"), rep.get("prediction")
        if t:
            ax.axvspan(t["estimate"] - t["error"], t["estimate"] + t["error"], color="tab:red", alpha=0.15,
                       label="transition (95%)")
        if p and "per_seed" in p:
            for v in p["per_seed"]:
                ax.axvline(v, color="black", ls=":", lw=0.8)
            ax.axvline(p["mean"], color="black", ls="--", lw=1.2, label="derived (dotted: per seed)")
        if rep["control"] == "noise":
            ax.plot(sw.values, np.mean(np.array(p["curve"]), axis=1) + np.mean(sw.orders["min_loss"], axis=1), "k--",
                    lw=1.5, label="derived stationary loss")
        if key == "sharpness":
            ax.plot(sw.values, 2 / sw.values, "k-", lw=1, label="2/eta")
        if key == "final_loss":
            ax.set_yscale("log")
        ax.set_xlabel(rep["control"])
        ax.set_ylabel(key.replace("_", " "))
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6)
    ax = axes[1, 2]
    wd = reports[2]["_sweep"]
    for k in range(len(wd.seeds)):
        cn = lan["critical"][k]
        ax.plot(wd.values / cn, wd.orders["weight_norm"][:, k] ** 2, "o", ms=3, label=f"seed {wd.seeds[k]}")
        xs = np.linspace(0.5, 1.0, 20)
        ax.plot(xs, lan["derived_slope"][k] * (xs - 1) * cn, "k--", lw=0.8)
        ax.plot(LANDAU_RATIOS, lan["norm_squared"][k], "k*", ms=7, label="long runs (slope check)" if k == 0 else None)
    ax.set_xlabel("wd / |E[y x]|")
    ax.set_ylabel(r"$\|\theta\|^2$")
    ax.set_title("weight decay: Landau amplitude (dashed, derived)", fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig
