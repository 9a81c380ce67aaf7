"""Experiment "closed-loop": the same linear RNN agent trained closed-loop and open-loop (teacher-forced)
from one initialization (Ger & Barak, arXiv:2505.13567, setup as in numeric.models.closed_loop), with the
derived 4 x 4 reduction (derivation closed-loop-rnn) tracking the joint spectrum along both runs.

What is measured, and why these measures.  The paper's abstract: the two modes "follow markedly different
learning trajectories", and closed-loop learning is governed by short-term policy improvement against
"long-term stability of the agent-environment interaction", in contrast to open-loop learning.  A sentence of
the paper quoted on a third-party page (ri.k117.org), not checked against the paper itself, adds that this
holds "even when ... converging to the same final solution".

* Paths, not clocks.  Gradient-norm clipping changes the speed of GD but not its direction, so for small
  step sizes clipped GD follows the orbit of the gradient flow whatever the learning rate; only the orbit
  (the path in the invariants (sigma_zm, sigma_zU sigma_Vm, sigma_VU) that fix the spectrum) is compared,
  with the directed Hausdorff distance h(P, Q) = max_{p in P} min_{q on Q} |p - q| (Q as a polyline), which
  ignores timing.
* A discretization floor for each path.  Each run is repeated with twice its learning rate and half its
  steps (same flow time).  The GD orbit has an O(lr) error, so |orbit(2 lr) - orbit(lr)| estimates the
  error of the lr run itself (Richardson).  The closed-loop pair is compared over the common range of
  closed-loop loss only (each path cut where its loss first reaches the larger of the two final losses),
  because the runs end at different points of the same orbit.  By the triangle inequality for h, the
  paths of the two flows differ if h(open, closed) exceeds floor_closed + floor_open; we ask for twice that.
  (The previous floor -- the closed-loop run at lr/2 over its whole length -- measured how much further
  along the same orbit that run got, not a discretization error; at seed 1 it exceeded the open-vs-closed
  distance.)
* Blindness to stability.  Any flow that descends L_cl itself (plain or norm-clipped gradient flow:
  dL_cl/dt = -|grad|^2 / max(1, |grad|) <= 0) never raises L_cl; the open-loop learner descends the imitation
  loss, and L_cl (which grows like rho^{2T} when the joint system is unstable) is free to rise.  Measured:
  the largest rise of L_cl above its running minimum, r = max_k L_cl(k) / min_{j <= k} L_cl(j), along the
  open-loop run, with the same Richardson test as for the paths: r must exceed 1 by more than twice its
  change when lr is doubled, so the rise belongs to the path of the imitation flow, not to the step size.
  The closed-loop runs are not used as the yardstick: their rises are step-size overshoot that depends
  strongly on lr (recorded in the summary at lr and 2 lr); the two modes also run at different learning
  rates (0.02 vs 0.2), so comparing their rises directly would compare step sizes, not modes.
* Destabilization by open-loop training.  The loop starts unstable in every seed (derived: rho >= 1 at
  sigma_zm = 0), so "rho > 1 at the open-loop peak" alone would not show that training did anything.
  Measured instead: Delta = rho(k*) - min_{j <= k*} rho(j) at the step k* of the largest rise of L_cl, how far
  open-loop training has pushed rho above the most stable point it had reached before (0 if the rise came
  from the initial instability alone), with rho(k*) > 1 and the same lr-doubling test.

Run length.  Both modes use 1000 steps (full=True: N = 50 instead of 12).  A one-off longer run, not repeated
by any code here (seed 0, N = 50, 6000 steps of each mode, lr as below, observed with the code of this
commit: ``a = init_agent(50, 0); hc = train(a, "closed", 6000, 0.02, max_grad_norm=1.0);
ho = train(a, "open", 6000, 0.2, teacher=hc["final"], max_grad_norm=1.0)``), moved the teacher's own
eigenvalue sigma_VU below -1 (-1.23) and left the student at sigma_VU = -0.81, imitation loss 0.096 and a
53 % higher closed-loop loss: the student had not reached its teacher, so the two runs no longer ended at
one solution and the path comparison would lose its premise.

Choices that are ours, not confirmed from the paper: exact expectation over x_0 ~ U(-2, 2)^2 instead of
Monte-Carlo batches; full-batch GD with gradient-norm clipping at 1 (the authors' code clips at 1) and
learning rates 0.02 (closed) / 0.2 (open: its gradients never reach the clip); the teacher of the
open-loop run is the closed-loop-trained agent itself (its endpoint), so both runs aim at one solution by
construction -- a premise of the path comparison, checked (the student must actually reach its teacher),
not a finding.
"""
from __future__ import annotations

import numpy as np

from verify.experiments import claim

NAMES = ("s_zm", "s_zU", "s_Vm", "s_VU")


def _plt():
    from verify.figures.backend import _plt as plt

    return plt()


def invariants(hist: dict) -> np.ndarray:
    """The three combinations the spectrum depends on (derived): (sigma_zm, sigma_zU sigma_Vm, sigma_VU)."""
    return np.column_stack([hist["s_zm"], hist["s_zU"] * hist["s_Vm"], hist["s_VU"]])


def directed_hausdorff(P: np.ndarray, Q: np.ndarray) -> float:
    """h(P, Q) = max_{p in P} min_{q on Q} |p - q|, Q the polyline through its points (n, d) and (m, d):
    how far path P strays from path Q, whatever the timing along either.  Measuring to Q's segments
    rather than its vertices keeps the sampling gaps of Q (one GD step) out of the distance."""
    P, Q = np.atleast_2d(np.asarray(P, dtype=float)), np.atleast_2d(np.asarray(Q, dtype=float))
    if P.ndim != 2 or Q.ndim != 2 or P.shape[1] != Q.shape[1] or not len(P) or not len(Q):
        raise ValueError(f"paths must be non-empty arrays (n, d) and (m, d) with one d, got {P.shape}, {Q.shape}")
    A, D = (Q[:-1], Q[1:] - Q[:-1]) if len(Q) > 1 else (Q, np.zeros_like(Q))
    dd = np.maximum(np.einsum("sk,sk->s", D, D), 1e-300)
    worst = 0.0
    for i in range(0, len(P), 128):  # chunks keep the (points x segments x d) array small for long runs
        R = P[i:i + 128, None, :] - A[None]  # p - a
        t = np.clip(np.einsum("psk,sk->ps", R, D) / dd, 0.0, 1.0)  # nearest point a + t (b - a) of each segment
        dist = np.linalg.norm(R - t[..., None] * D[None], axis=2)
        worst = max(worst, float(dist.min(axis=1).max()))
    return worst


def hausdorff(P: np.ndarray, Q: np.ndarray) -> float:
    """H(P, Q) = max(h(P, Q), h(Q, P)), the symmetric Hausdorff distance."""
    return max(directed_hausdorff(P, Q), directed_hausdorff(Q, P))


def path_to_loss(hist: dict, level: float) -> np.ndarray:
    """Invariants of a run up to (and including) the first record with L_cl <= level (all records if none)."""
    L = np.asarray(hist["closed_loss"])
    below = np.flatnonzero(L <= level)
    return invariants(hist)[: (below[0] if below.size else len(L) - 1) + 1]


def loss_rise(losses) -> tuple[float, int]:
    """(max_k L_k / min_{j <= k} L_j, argmax k): the largest rise of a loss above its running minimum
    (1 for a non-increasing sequence)."""
    L = np.asarray(losses, dtype=float)
    if L.ndim != 1 or not L.size or not np.all(L > 0):
        raise ValueError("losses must be a non-empty 1-D sequence of positive numbers")
    r = L / np.minimum.accumulate(L)
    return float(r.max()), int(np.argmax(r))


def radius_push(hist: dict) -> dict:
    """At the step k* of the largest rise of L_cl (``loss_rise``): rho(k*), the smallest rho up to k*, and
    Delta = rho(k*) - min_{j <= k*} rho(j), how far rho has been pushed above the most stable point reached."""
    _, k = loss_rise(hist["closed_loss"])
    rho = np.asarray(hist["radius"], dtype=float)
    low = float(rho[: k + 1].min())
    return {"step": int(hist["step"][k]), "radius": float(rho[k]), "min_radius_before": low,
            "delta": float(rho[k]) - low}


def closed_loop(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Closed- vs open-loop learning paths with discretization floors; reduced vs full eigenvalues; the
    open-loop learner's blindness to the stability of the agent-environment loop."""
    from numeric.models import closed_loop as cl

    from verify.checks.closed_loop import derived_functions, memory_only_prediction, nontrivial, reduced_vs_full

    N, steps, every = (50, 1000, 1) if full else (12, 1000, 1)  # longer runs: see the module docstring
    lr_c, lr_o, T = 0.02, 0.2, cl.HORIZON
    total = 5
    agent = cl.init_agent(N, seed)  # z . m = 0: starts as the bare double integrator plus small memory terms
    progress(0, total)
    hc = cl.train(agent, "closed", steps, lr_c, T=T, record_every=every, max_grad_norm=1.0)
    progress(1, total)
    teacher = hc["final"]
    ho = cl.train(agent, "open", steps, lr_o, T=T, teacher=teacher, record_every=every, max_grad_norm=1.0)
    progress(2, total)
    # the same runs at twice the learning rate, half the steps: discretization floors of the two paths
    hc2 = cl.train(agent, "closed", steps // 2, 2 * lr_c, T=T, record_every=every, max_grad_norm=1.0)
    ho2 = cl.train(agent, "open", steps // 2, 2 * lr_o, T=T, teacher=teacher, record_every=every,
                   max_grad_norm=1.0)
    progress(3, total)
    reduced, char_coeffs = derived_functions()
    rc, ro = reduced_vs_full(hc, reduced, char_coeffs), reduced_vs_full(ho, reduced, char_coeffs)
    match = {k: max(rc[k], ro[k]) for k in rc}
    progress(4, total)
    Pc, Po = invariants(hc), invariants(ho)
    d_open = directed_hausdorff(Po, Pc)  # how far the open-loop path strays from the closed-loop one
    level = max(hc["closed_loss"][-1], hc2["closed_loss"][-1])
    floor_c = hausdorff(path_to_loss(hc, level), path_to_loss(hc2, level))
    floor_o = hausdorff(Po, invariants(ho2))
    d_end = float(np.linalg.norm(Po[-1] - Pc[-1]))
    rise_o, k_o = loss_rise(ho["closed_loss"])
    rise_o2, _ = loss_rise(ho2["closed_loss"])
    rise_c, k_c = loss_rise(hc["closed_loss"])
    rise_c2, _ = loss_rise(hc2["closed_loss"])
    rho_peak = float(ho["radius"][k_o])
    push_o, push_o2, push_c = radius_push(ho), radius_push(ho2), radius_push(hc)
    init = {k: float(hc[k][0]) for k in NAMES}
    stage0 = memory_only_prediction(init["s_zU"], init["s_Vm"], init["s_VU"])
    rho0 = float(hc["radius"][0])
    lc, lo = float(hc["closed_loss"][-1]), float(ho["closed_loss"][-1])
    claims = [
        claim("reduced 4 x 4 eigenvalues (derived, at the measured order parameters) vs numpy eigvals of the full "
              f"{N + 2} x {N + 2} joint matrix, worst over every recorded step of both runs",
              match["eig_reduced_vs_full"], 0.0, match["eig_reduced_vs_full"] < 1e-10),
        claim("roots of the derived characteristic cubic vs full eigenvalues, worst over both runs",
              match["char_roots_vs_full"], 0.0, match["char_roots_vs_full"] < 1e-10),
        claim("the other N - 1 full eigenvalues are zero (derived), largest modulus over both runs",
              match["other_full_eigs"], 0.0, match["other_full_eigs"] < 1e-10),
        claim("different paths: the open-loop path in (sigma_zm, sigma_zU sigma_Vm, sigma_VU) strays from the "
              "closed-loop path (directed Hausdorff distance) more than 2 x (floor_closed + floor_open), the floors "
              "being each path's change when its learning rate is doubled (closed-loop pair over the common loss "
              "range)", d_open, 2 * (floor_c + floor_o), d_open > 2 * (floor_c + floor_o)),
        claim("premise check (not a finding): the student imitates its teacher, the closed-loop endpoint, so both runs "
              "should end at one solution; distance of the endpoints' invariants (expected 0) below a tenth of the "
              "path distance", d_end, 0.0, d_end < d_open / 10),
        claim("stage 0: at init sigma_zm = 0, where the derivation (closed-loop-rnn: Jury at sigma_zm = 0, and the "
              "first-order split of the double root 1) gives rho >= 1 for every memory gain g = sigma_zU sigma_Vm and "
              "rho > 1 to first order in g: measured initial spectral radius vs the first-order prediction; holds if "
              "the derived criterion applies at the measured overlaps and rho_0 > 1",
              rho0, stage0["rho_first_order"] if stage0["rho_first_order"] is not None else 1.0,
              stage0["unstable"] and rho0 > 1),
        claim("final stage: the closed-loop-trained joint system is stable (final spectral radius < 1)",
              float(hc["radius"][-1]), 1.0, hc["radius"][-1] < 1),
        claim("open-loop training raises the closed-loop loss: largest rise above its running minimum, max_k L_cl(k) / "
              "min_{j<=k} L_cl(j), along the open-loop run (expected 1 for any flow descending L_cl itself); holds if "
              "it exceeds 1 by more than 2 x its change when lr is doubled (a property of the path, not of the step)",
              rise_o, 1.0, rise_o - 1 > 2 * abs(rise_o2 - rise_o)),
        claim("open-loop training itself destabilizes the loop: at the step of the largest rise of L_cl, rho exceeds 1 "
              "and exceeds the smallest rho reached earlier in the run by Delta (expected 0 if the rise came from the "
              "unstable initialization alone); holds if rho > 1 there and Delta > 2 x its change when lr is doubled",
              push_o["delta"], 0.0, rho_peak > 1 and push_o["delta"] > 2 * abs(push_o2["delta"] - push_o["delta"])),
    ]
    first_stable = int(np.argmax(hc["radius"] < 1)) if np.any(hc["radius"] < 1) else -1
    fig = _figure(hc, ho, hc2, ho2, nontrivial, reduced, N, k_o)
    progress(5, total)
    summary = {
        "N": N, "T": T, "steps": steps, "record_every": every, "lr_closed": lr_c, "lr_open": lr_o,
        "max_grad_norm": 1.0,
        "final_closed": {"closed_loss": lc, "radius": hc["radius"][-1], **{k: hc[k][-1] for k in NAMES}},
        "final_open": {"closed_loss": lo, "imitation_loss": ho["loss"][-1], "radius": ho["radius"][-1],
                       **{k: ho[k][-1] for k in NAMES}},
        "final_closed_loss_relative_difference": abs(lo - lc) / lc,
        "initial": {"closed_loss": hc["closed_loss"][0], "radius": hc["radius"][0], **{k: hc[k][0] for k in NAMES}},
        "path_distance_open_vs_closed": d_open, "path_floor_closed": floor_c, "path_floor_open": floor_o,
        "path_distance_closed_vs_open": directed_hausdorff(Pc, Po), "endpoint_distance": d_end,
        "closed_loss_rise_open": [rise_o, int(ho["step"][k_o])], "closed_loss_rise_open_2lr": rise_o2,
        "closed_loss_rise_closed": [rise_c, int(hc["step"][k_c])], "closed_loss_rise_closed_2lr": rise_c2,
        "radius_push_open": push_o, "radius_push_open_2lr": push_o2, "radius_push_closed": push_c,
        "stage0_derived": stage0,
        "max_radius_closed_run": [float(hc["radius"].max()), int(hc["step"][np.argmax(hc["radius"])])],
        "max_radius_open_run": [float(ho["radius"].max()), int(ho["step"][np.argmax(ho["radius"])])],
        "records_with_radius_above_1_after_init": {"closed": int(np.sum(hc["radius"][1:] > 1)),
                                                   "open": int(np.sum(ho["radius"][1:] > 1))},
        "memory_term_fraction_at_first_stable_step": (float(Pc[first_stable, 1] / Pc[-1, 1]) if first_stable >= 0
                                                      else None),
        "first_stable_step_closed": int(hc["step"][first_stable]) if first_stable >= 0 else None,
        "agent_own_eigenvalue_sigma_VU_final": hc["s_VU"][-1],
        "eigen_match": match, "claims": claims,
    }
    return fig, summary


def _symlog_steps(a, xlabel="GD step (symlog)"):
    a.set_xscale("symlog", linthresh=20)
    a.set_xlim(left=0)
    a.set_xlabel(xlabel)


def _figure(hc, ho, hc2, ho2, nontrivial, reduced, N, k_peak):
    plt = _plt()
    fig, ax = plt.subplots(2, 3, figsize=(16.5, 8.6))
    a = ax[0, 0]
    a.semilogy(hc["step"], hc["closed_loss"], color="tab:blue", label="closed-loop trained: $L_{cl}$")
    a.semilogy(ho["step"], ho["closed_loss"], color="tab:red", label="open-loop trained: $L_{cl}$ (evaluated)")
    a.semilogy(ho["step"], ho["loss"], color="tab:red", ls=":", label="open-loop trained: imitation loss")
    a.semilogy(ho["step"][k_peak], ho["closed_loss"][k_peak], "v", color="black", ms=7,
               label="largest rise of $L_{cl}$ (open loop)")
    _symlog_steps(a)
    a.set_ylabel("loss")
    a.set_title("Closed-loop loss of both agents (same init, same architecture;\nlr 0.02 closed loop, 0.2 open loop)",
                fontsize=9)
    a.legend(fontsize=7)
    a = ax[0, 1]
    for h, ls, who in ((hc, "-", "closed"), (ho, "--", "open")):
        P = invariants(h)
        for j, (lab, col) in enumerate(((r"$\sigma_{zm}$", "tab:green"), (r"$\sigma_{zU}\sigma_{Vm}$", "tab:purple"),
                                        (r"$\sigma_{VU}$", "tab:orange"))):
            a.plot(h["step"], P[:, j], ls=ls, color=col, label=f"{lab} ({who})")
    a.axhline(-1, color="gray", lw=0.6, ls=":")
    _symlog_steps(a)
    a.set_title("Order parameters: solid closed-loop, dashed open-loop", fontsize=9)
    a.legend(fontsize=6, ncol=2)
    a = ax[0, 2]
    for h, col, ls, lab in ((hc, "tab:blue", "-", "closed loop, lr"), (hc2, "tab:cyan", "--", "closed loop, 2 lr"),
                            (ho, "tab:red", "-", "open loop, lr"), (ho2, "tab:pink", "--", "open loop, 2 lr")):
        P = invariants(h)
        a.plot(P[:, 0], P[:, 1], ls=ls, color=col, lw=1.2, label=lab)
    a.plot(*invariants(hc)[0, :2], "ko", ms=5, label="shared init")
    a.plot(*invariants(hc)[-1, :2], "k*", ms=9, label="closed-loop end = teacher")
    a.set_xlabel(r"$\sigma_{zm}$ (memoryless position gain)")
    a.set_ylabel(r"$\sigma_{zU}\sigma_{Vm}$ (memory gain)")
    a.set_title("Learning paths (projection of the invariants);\ndashed: same run at 2 x lr (discretization floor)",
                fontsize=9)
    a.legend(fontsize=7)
    a = ax[1, 0]
    full = np.array([np.sort(np.abs(nontrivial(e, 3)))[::-1] for e in hc["eigenvalues"]])
    sub = np.unique(np.r_[np.arange(0, min(len(hc["step"]), 20)), np.geomspace(1, len(hc["step"]) - 1, 30).astype(int)])
    red = np.array([np.sort(np.abs(nontrivial(np.linalg.eigvals(reduced(*[hc[n][k] for n in NAMES])), 3)))[::-1]
                    for k in sub])
    for j, col in enumerate(("black", "tab:blue", "tab:cyan")):
        a.plot(hc["step"], full[:, j], color=col, lw=1.2, label=f"|eig| #{j + 1}, full {N + 2}x{N + 2} (numpy)")
        a.plot(hc["step"][sub], red[:, j], "o", mfc="none", color=col, ms=4, label=f"#{j + 1}, derived 4x4")
    a.axhline(1, color="gray", ls="--", lw=0.8)
    _symlog_steps(a)
    a.set_ylabel(r"$|\lambda|$")
    a.set_title("Closed-loop run: joint eigenvalue moduli, reduced (markers) over full (lines)", fontsize=9)
    a.legend(fontsize=6, ncol=2)
    a = ax[1, 1]
    t = np.linspace(0, 2 * np.pi, 200)
    a.plot(np.cos(t), np.sin(t), color="gray", lw=0.8)
    for h, cmap, who in ((hc, "Blues", "closed"), (ho, "Reds", "open")):
        ev = np.array([nontrivial(e, 3) for e in h["eigenvalues"]])
        c = np.repeat(np.linspace(0.3, 1, len(ev)), 3)
        a.scatter(ev.real.ravel(), ev.imag.ravel(), c=c, cmap=cmap, s=4, vmin=0, vmax=1, label=f"{who}-loop run")
    a.set_aspect("equal")
    a.set_xlabel(r"Re $\lambda$")
    a.set_ylabel(r"Im $\lambda$")
    a.set_title("Joint eigenvalues along training (light = early), unit circle", fontsize=9)
    a.legend(fontsize=7)
    a = ax[1, 2]
    a.plot(hc["step"], hc["radius"], color="tab:blue", label="closed-loop run")
    a.plot(ho["step"], ho["radius"], color="tab:red", label="open-loop run")
    a.plot(ho["step"][k_peak], ho["radius"][k_peak], "v", color="black", ms=7, label="largest rise of $L_{cl}$")
    low = float(np.min(ho["radius"][: k_peak + 1]))
    a.hlines(low, 0, ho["step"][k_peak], color="black", lw=0.8, ls=":",
             label=rf"open loop: smallest $\rho$ before it ($\Delta$ = {ho['radius'][k_peak] - low:.3f})")
    a.axhline(1, color="gray", ls="--", lw=0.8)
    _symlog_steps(a)
    a.set_ylabel(r"spectral radius $\rho(M)$")
    a.set_title("Stability of the agent-environment loop along training", fontsize=9)
    a.legend(fontsize=7)
    fig.tight_layout()
    return fig
