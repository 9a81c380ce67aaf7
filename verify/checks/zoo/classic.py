"""Adagrad, Adadelta, ASGD, Rprop: symbolic rules and derivations vs the hand-written optimizers and runs.

No torch here (``ldyn verify`` runs without the extra); the torch comparisons are tests/test_zoo_classic.py.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp

from derive.rules import classic as rules
from derive.rules import classic_derivations as ders
from numeric.optimizers import classic as hand
from verify.checks import CheckResult, relative_error
from verify.checks.zoo import lockstep_error

STEPS = 200


def _gradients(shape, steps: int, seed: int):
    """Gradients over 4 decades, with sign flips (Rprop's branches) and a zero coordinate every 7 steps."""
    rng = np.random.default_rng(seed)
    scale = np.logspace(-3, 1, int(np.prod(shape))).reshape(shape)
    out = []
    for k in range(steps):
        gk = scale * rng.normal(size=shape)
        if k % 7 == 3:
            gk.flat[0] = 0.0
        out.append(gk)
    return out


def _compare(sym, opt, shape=(2, 4), steps: int = STEPS, seed: int = 0) -> float:
    """:func:`verify.checks.zoo.lockstep_error` on this family's gradients."""
    return lockstep_error(sym, opt, np.random.default_rng(seed + 1).normal(size=shape), _gradients(shape, steps, seed))


def lambdified_vs_handwritten() -> list[CheckResult]:
    """Lambdified Adagrad/Adadelta/ASGD/Rprop rules vs numeric.optimizers.classic, every option combination, states included."""
    families = {
        "adagrad": [(rules.adagrad_rule(eps_mode=e).lambdify(lr=0.1, lr_decay=d, weight_decay=w,
                                                             initial_accumulator_value=s, eps=1e-8),
                     hand.adagrad(0.1, d, w, s, 1e-8, eps_mode=e), f"eps_mode={e}, lr_decay={d}, wd={w}, S0={s}")
                    for e, d, w, s in itertools.product(["outside", "inside"], [0.0, 0.05], [0.0, 0.1], [0.0, 0.1])],
        "adadelta": [(rules.adadelta_rule().lambdify(lr=lr, rho=0.8, eps=1e-6, weight_decay=w),
                      hand.adadelta(lr, 0.8, 1e-6, w), f"lr={lr}, wd={w}")
                     for lr, w in itertools.product([1.0, 0.3], [0.0, 0.1])],
        "asgd": [(rules.asgd_rule().lambdify(lr=0.05, lambd=lam, alpha=0.75, t0=t0, weight_decay=w),
                  hand.asgd(0.05, lam, 0.75, t0, w), f"lambd={lam}, t0={t0}, wd={w}")
                 for lam, t0, w in itertools.product([0.0, 0.1], [1e6, 5.0], [0.0, 0.1])],
        "rprop": [(rules.rprop_rule(clamp=c, zero_after_flip=z).lambdify(lr=lr, etas1=0.4, etas2=1.3, step_sizes1=1e-3,
                                                                         step_sizes2=0.2),
                   hand.rprop(lr, (0.4, 1.3), (1e-3, 0.2), clamp=c, zero_after_flip=z), f"clamp={c}, zero={z}, lr={lr}")
                  for c, z, lr in itertools.product(["always", "on-change"], [True, False], [0.01, 0.5])],
    }
    out = []
    for family, cases in families.items():
        worst, where = max((_compare(sym, opt), label) for sym, opt, label in cases)
        out.append(CheckResult(f"zoo-classic-lambdified/{family}", f"lambdified {family} rule vs hand-written, params "
                               f"and every state entry, one step from the same state at each of {STEPS} steps of "
                               f"2x4 parameters, {len(cases)} option combinations", worst, 1e-13, f"worst: {where}"))
    return out


def first_steps() -> list[CheckResult]:
    """Derived first steps (Adagrad torch vs optax, Adadelta) vs the numeric optimizers."""
    gs = np.array([1e-6, 1e-3, 0.05, 0.3, 2.0, 40.0])
    p0 = np.zeros_like(gs)
    d = ders.adagrad_first_step()
    args = (rules.eta, ders.G, rules.eps)
    out = []
    for label, key, opt in (("torch", "torch_first_step", hand.adagrad(lr=0.1, eps=1e-10)),
                            ("optax", "optax_first_step", hand.adagrad(lr=0.1, eps=1e-7, initial_accumulator_value=0.1,
                                                                      eps_mode="inside"))):
        expected = sp.lambdify(args, d.results[key])(0.1, gs, opt.eps)
        got = opt.step(p0, gs, opt.init(p0))[0] - p0
        out.append(CheckResult(f"zoo-classic-first-step/adagrad-{label}", f"derived first Adagrad step ({label}'s "
                               "convention) vs numeric, gradients 1e-6..40", relative_error(got, expected), 1e-12, ""))
    dd = ders.adadelta_learning_rate()
    r = sp.Symbol("r", positive=True)
    expected = sp.lambdify((rules.eta, ders.G, rules.eps, r), dd.results["first_step"])(0.5, gs, 1e-6, 0.1)
    opt = hand.adadelta(lr=0.5, rho=0.9, eps=1e-6)
    got = opt.step(p0, gs, opt.init(p0))[0] - p0
    out.append(CheckResult("zoo-classic-first-step/adadelta", "derived first Adadelta step -lr sqrt(eps) g/sqrt((1-rho)g^2 "
                           "+ eps) vs numeric, lr = 0.5", relative_error(got, expected), 1e-12,
                           f"largest |step| {np.max(np.abs(got)):.4g} (cap lr sqrt(eps/(1-rho)) = "
                           f"{0.5 * math.sqrt(1e-5):.4g})"))
    return out


def adagrad_threshold(steps: int = 300) -> list[CheckResult]:
    """Derived sqrt(S) threshold lr h/2 - eps vs real Adagrad runs on quadratics: |theta| grows exactly on the steps below it."""
    crit = sp.lambdify((rules.eta, ders.h, rules.eps), ders.adagrad_frozen_threshold().results["critical_root_sum"])
    mismatches, cases, grew = 0, 0, 0
    for lr, h, s0, th0 in itertools.product([0.5, 3.0, 20.0], [0.5, 4.0], [0.0, 0.1], [0.01, 1.0]):
        opt = hand.adagrad(lr=lr, eps=1e-10, initial_accumulator_value=s0)
        p = np.array([th0])
        state = opt.init(p)
        threshold = crit(lr, h, 1e-10)
        for _ in range(steps):
            new, state = opt.step(p, h * p, state)
            root = math.sqrt(state["sum"][0])
            if abs(root - threshold) > 1e-9 * max(1.0, threshold) and abs(new[0]) > 1e-250:
                cases += 1
                grows = abs(new[0]) > abs(p[0])
                grew += grows
                mismatches += grows != (root < threshold)
            p = new
    return [CheckResult("zoo-classic-adagrad-threshold", "steps where Adagrad's |theta| grows vs steps where "
                        "sqrt(S) < lr h/2 - eps (derived), 24 runs of 300 steps on h theta^2/2", float(mismatches), 0.0,
                        f"{cases} steps compared, {grew} of them growing")]


def asgd_average(steps: int = 60) -> list[CheckResult]:
    """ASGD's ax vs the derived mean of the iterates of steps t0 + 2..t, and the derived last growing step vs runs."""
    rng = np.random.default_rng(3)
    t0 = 7
    opt = hand.asgd(lr=0.05, lambd=0.01, alpha=0.75, t0=float(t0), weight_decay=0.01)
    p = rng.normal(size=4)
    state = opt.init(p)
    iterates, worst = [], 0.0
    for k in range(1, steps + 1):
        p, state = opt.step(p, rng.normal(size=4), state)
        iterates.append(p)
        if k >= t0 + 2:
            worst = max(worst, relative_error(state["ax"], np.mean(iterates[t0 + 1:], axis=0)))
    out = [CheckResult("zoo-classic-asgd/average", f"numeric ASGD's ax vs the mean of the iterates of steps t0 + 2 .. t "
                       f"(derived), t0 = {t0}, {steps} steps", worst, 1e-12, "")]
    s_star = sp.lambdify((rules.eta, sp.Symbol("c", positive=True), rules.lambd, rules.alpha),
                         ders.asgd_averaging().results["last_growing_index"])
    mismatches, compared = 0, 0
    for lr, h, lam, a in [(1.0, 5.0, 0.5, 0.75), (0.5, 9.0, 0.2, 0.5), (2.0, 3.0, 1.0, 1.0)]:
        opt = hand.asgd(lr=lr, lambd=lam, alpha=a, t0=1e6)
        s = s_star(lr, h + lam, lam, a)
        p = np.array([1.0])
        state = opt.init(p)
        for k in range(1, 200):
            new, state = opt.step(p, h * p, state)
            if abs((k - 1) - s) > 1e-9 and abs(new[0]) > 1e-250:
                compared += 1
                mismatches += (abs(new[0]) > abs(p[0])) != (k - 1 < s)
            p = new
    out.append(CheckResult("zoo-classic-asgd/growth", "steps where ASGD's |theta| grows on h theta^2/2 vs the derived "
                           "k - 1 < ((lr c/2)^(1/alpha) - 1)/(lambd lr)", float(mismatches), 0.0,
                           f"{compared} steps compared over 3 runs"))
    return out


def rprop_crossing() -> list[CheckResult]:
    """Derived steps to cover D (geometric step growth) vs the step of Rprop's first overshoot on a quadratic."""
    n_star = sp.lambdify((rules.eta, sp.Symbol("q", positive=True), sp.Symbol("D", positive=True)),
                         ders.rprop_step_growth().results["steps_to_cover"])
    worst, rows = 0.0, []
    for lr, ep, dist in [(0.01, 1.2, 3.7), (0.1, 1.5, 10.3), (1e-3, 1.1, 0.77)]:
        opt = hand.rprop(lr=lr, etas=(0.5, ep), step_sizes=(1e-9, 1e6))
        p = np.array([dist])
        state = opt.init(p)
        k = 0
        while p[0] > 0:
            p, state = opt.step(p, 2.0 * p, state)
            k += 1
        predicted = math.floor(n_star(lr, ep - 1.0, dist)) + 1
        size_before = state["step_size"][0]
        p2, state2 = opt.step(p, 2.0 * p, state)  # the sign change: no move, step size times etaminus
        worst = max(worst, abs(k - predicted), abs(p2[0] - p[0]), abs(state2["step_size"][0] / size_before - 0.5))
        rows.append(f"{k} vs {predicted}")
    return [CheckResult("zoo-classic-rprop-crossing", "first overshoot step of Rprop from distance D on theta^2 vs the "
                        "derived floor(log(1 + D(etaplus - 1)/lr)/log(etaplus)) + 1; then no move and the step size "
                        "halved", worst, 1e-12, "measured vs predicted: " + ", ".join(rows))]
