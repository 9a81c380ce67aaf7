"""RMSProp, Adam, AdamW: symbolic rules and predictions vs hand-written code and real runs."""
from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp

from derive.rules import adaptive as ad
from derive.analysis import adaptive_dynamics as dyn
from derive.rules import conventions as conv
from numeric.optimizers import adaptive, momentum
from numeric import problems, step_size

from verify.checks import CheckResult, relative_error, threshold_near

STEPS = 300


def _problem(seed: int = 0):
    """A 6-D quadratic whose gradient scales span 1e-5..1e1 (so ε conventions matter), and a
    step-indexed noise term (so AMSGrad's running max and the moments' history matter)."""
    rng = np.random.default_rng(seed)
    prob = problems.quadratic(np.logspace(-2, 1, 6), seed=seed)
    scale = np.logspace(-5, 1, 6)
    noise = rng.normal(size=(STEPS, 6)) * np.linspace(1.0, 0.01, STEPS)[:, None]
    p0 = rng.normal(size=6) * 2.0
    return (lambda th, k: scale * (prob.grad(th) + noise[k])), p0


def _compare(sym, hand, steps: int = STEPS, seed: int = 0) -> float:
    """Worst relative error of one step of the two maps, params and every state entry, from the
    same (params, state) at each point of the hand-written run's trajectory (in lockstep, so that
    rounding differences are not amplified by the dynamics)."""
    grad, p = _problem(seed)
    sh = hand.init(p)
    keys = list(sym.init(p))
    missing = sorted(set(keys) - set(sh))
    if missing:
        raise ValueError(f"the hand-written state lacks {missing}")
    worst = 0.0
    for k in range(steps):
        gk = grad(p, k)
        ss = {key: np.broadcast_to(np.asarray(sh[key], float), p.shape).copy() for key in keys}
        ps, ss = sym.step(p, gk, ss)
        p, sh = hand.step(p, gk, sh)
        worst = max(worst, relative_error(ps, p),
                    *(relative_error(ss[key], np.broadcast_to(np.asarray(sh[key], float), p.shape)) for key in keys))
    return worst


def lambdified_vs_handwritten() -> list[CheckResult]:
    """Lambdified SGD/RMSProp/Adam/AdamW rules vs numeric.optimizers.adaptive and numeric.optimizers.momentum.sgd, every option combination, states included."""
    out = []
    bc = {True: "both", False: "none"}
    families = {
        "rmsprop": [
            (ad.rmsprop_rule(centered=c, momentum=mom > 0, eps_mode=e),
             adaptive.rmsprop(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=w, momentum=mom, centered=c, eps_mode=e),
             dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=w, **({"momentum": mom} if mom else {})),
             f"centered={c}, momentum={mom}, eps_mode={e}, weight_decay={w}")
            for c, mom, e, w in itertools.product([False, True], [0.0, 0.9], ["outside", "inside"], [0.0, 0.1])],
        "adam": [
            (ad.adam_rule(amsgrad=a, eps_mode=e, bias_correction=bc[b], amsgrad_max=mx),
             adaptive.adam(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=w, amsgrad=a, eps_mode=e,
                           bias_correction=b, amsgrad_max=mx),
             dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8, weight_decay=w),
             f"amsgrad={a} ({mx}), eps_mode={e}, bias_correction={b}, weight_decay={w}")
            for a, e, b, mx, w in itertools.product([False, True], ["outside", "inside", "hat"], [True, False],
                                                   ["raw", "corrected"], [0.0, 0.1]) if a or mx == "raw"],
        "adamw": [
            (ad.adamw_rule(amsgrad=a, eps_mode=e, decay="decoupled-lr" if s == "lr" else "decoupled"),
             adaptive.adamw(lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1, amsgrad=a, eps_mode=e,
                            decay_scale=s),
             dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8, weight_decay=0.1),
             f"amsgrad={a}, eps_mode={e}, decay_scale={s}")
            for a, e, s in itertools.product([False, True], ["outside", "inside", "hat"], ["lr", "none"])]
        + [(ad.adamw_rule(bias_correction="none"), adaptive.adamw(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1,
                                                                 bias_correction=False),
            dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8, weight_decay=0.1), "bias_correction=False")],
        "sgd": [
            (ad.sgd_rule(momentum=True, nesterov=n), momentum.sgd(lr=0.01, momentum=0.9, dampening=d,
                                                                 nesterov=n, weight_decay=w),
             dict(lr=0.01, momentum=0.9, dampening=d, weight_decay=w), f"nesterov={n}, dampening={d}, weight_decay={w}")
            for n, d, w in itertools.product([False, True], [0.0, 0.3], [0.0, 0.1]) if not (n and d)],
    }
    for family, cases in families.items():
        errors = [(_compare(rule.lambdify(**hyper), hand), label) for rule, hand, hyper, label in cases]
        worst, where = max(errors)
        out.append(CheckResult(f"adaptive-lambdified/{family}", f"lambdified {family} rule vs hand-written, "
                               f"params and every state entry, one step from the same state at each of {STEPS} steps along a run, "
                               f"{len(cases)} option combinations", worst, 1e-13,
                               f"worst: {where}"))
    return out


def bias_correction(n: int = 200_000, steps: int = 30, seed: int = 0) -> list[CheckResult]:
    """E[m_t] = (1 − βᵗ)c from the derivation vs the mean of numeric Adam's exp_avg over 2·10⁵ noisy coordinates."""
    d = dyn.bias_correction()
    expected = sp.lambdify((dyn.beta, dyn.tt, dyn.c), d.results["expected_ema"])
    rng = np.random.default_rng(seed)
    c, sigma, b1 = 0.7, 1.0, 0.9
    opt = adaptive.adam(lr=1e-3, betas=(b1, 0.999))
    p = np.zeros(n)
    state = opt.init(p)
    worst = 0.0
    for t in range(1, steps + 1):
        p, state = opt.step(p, c + sigma * rng.normal(size=n), state)
        se = sigma * (1 - b1) * math.sqrt((1 - b1 ** (2 * t)) / (1 - b1**2)) / math.sqrt(n)
        worst = max(worst, abs(float(state["exp_avg"].mean()) - expected(b1, t, c)) / se)
    return [CheckResult("adam-bias-correction", "derived E[m_t] = (1 - beta^t) c vs the mean of numeric Adam's "
                        f"exp_avg over {n} noisy coordinates, t = 1..{steps}", worst, 5.0,
                        "error in standard errors of the mean (5 allowed)")]


def frozen_threshold() -> list[CheckResult]:
    """Preconditioned sharpness limit 2(1+β₁)/((1−β₁)η) vs the step size where EMA momentum on P∇L really diverges."""
    d = dyn.frozen_preconditioner()
    x_max = sp.lambdify(ad.beta1, d.results["x_max"])
    rng = np.random.default_rng(1)
    prob = problems.quadratic([0.5, 3.0, 20.0], seed=2)
    precond = np.array([2.0, 0.3, 0.7])  # a frozen diag(1/(sqrt(v-hat) + eps))
    sharp = float(np.max(np.linalg.eigvals(precond[:, None] * prob.hessian(np.zeros(3))).real))
    p0 = rng.normal(size=3)
    out = []
    for b1 in (0.0, 0.5, 0.9):
        predicted = x_max(b1) / sharp
        # numeric.optimizers.momentum.sgd with momentum β₁ and dampening β₁ is the EMA m⁺ = β₁m + (1 − β₁)g
        # (its first step is undamped, which does not change stability)
        make = lambda lr, b1=b1: momentum.sgd(lr=lr, momentum=b1, dampening=b1) if b1 else momentum.sgd(lr=lr)  # noqa: E731
        measured = threshold_near(lambda lr, make=make: step_size.diverges(make(lr), lambda th: precond * prob.grad(th),
                                                                           p0, 2000),
                                  predicted, 2e-3, 0.2 * predicted, 3 * predicted, 1e-6)
        out.append(CheckResult(f"adam-frozen-threshold/beta1={b1}", "predicted largest stable lr "
                               "2(1+beta_1)/((1-beta_1) lambda_max(PH)) vs bisection on real runs",
                               abs(measured / predicted - 1), 2e-3, f"predicted {predicted:.6g}, measured {measured:.6g}"))
    return out


def update_bound(t: int = 400, trials: int = 2000, seed: int = 0) -> list[CheckResult]:
    """The derived supremum of |m̂_t|/√v̂_t vs numeric Adam: attained by the extremal gradients, never exceeded by random ones."""
    d = dyn.sign_descent()
    sup = sp.lambdify((ad.beta1, ad.beta2, dyn.tt), d.results["sup_ratio"])
    b1, b2 = 0.9, 0.999
    bound = sup(b1, b2, t)
    ages = np.arange(t)[::-1]  # age t - i of the gradient of step i
    extremal = ((1 - b1) * b1**ages) / ((1 - b2) * b2**ages)
    rng = np.random.default_rng(seed)
    grads = np.vstack([extremal[None, :], rng.normal(size=(trials, t)) * rng.uniform(0.1, 10, size=(trials, 1)),
                       np.exp(rng.normal(size=(trials, t)).cumsum(axis=1) * 0.05)]).T  # (t, runs)
    opt = adaptive.adam(lr=1.0, betas=(b1, b2), eps=0.0)
    p = np.zeros(grads.shape[1])
    state = opt.init(p)
    for k in range(t):
        before = p
        p, state = opt.step(p, grads[k], state)
    ratio = np.abs(p - before)  # lr = 1: the last step is |m-hat|/sqrt(v-hat)
    return [CheckResult("adam-update-bound/attained", f"derived sup |m-hat|/sqrt(v-hat) at t = {t} vs numeric Adam "
                        "on the extremal gradient sequence", abs(ratio[0] / bound - 1), 1e-9,
                        f"sup {bound:.6g}; Kingma & Ba's stated bound {(1 - b1) / math.sqrt(1 - b2):.6g}"),
            CheckResult("adam-update-bound/never-exceeded", f"max over {2 * trials} random gradient sequences of "
                        "|step|/sup - 1 (must be <= 0)", max(float(np.max(ratio[1:]) / bound - 1), 0.0), 1e-12,
                        f"largest random ratio {np.max(ratio[1:]):.4g}")]


def conventions() -> list[CheckResult]:
    """Derived convention differences (ε placement, AMSGrad's max, decoupled decay) vs numeric runs of each convention."""
    out = []
    g = np.array([3e-5, 1e-4, 2e-3, 0.5, -7.0])
    p0 = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
    eps = 1e-8
    diff = sp.lambdify((ad.eta, sp.Symbol(r"\hat m", real=True), sp.Symbol(r"\hat v", nonnegative=True), ad.eps),
                       conv.eps_placement().results["difference_inside"])
    steps = {}
    for mode in ("outside", "inside"):
        opt = adaptive.adam(lr=0.1, eps=eps, eps_mode=mode)
        steps[mode] = opt.step(p0, g, opt.init(p0))[0] - p0
    err = relative_error(steps["outside"] - steps["inside"], diff(0.1, g, g**2, eps))
    out.append(CheckResult("conventions/eps-placement", "derived step difference eps outside vs inside the root "
                           "vs numeric Adam's two conventions, first step", err, 1e-12, f"gradients {g.tolist()}"))
    ratio = float(sp.lambdify(ad.beta2, conv.amsgrad_max().results["ratio"])(0.999))
    size = {}
    for mode in ("raw", "corrected"):
        opt = adaptive.adam(lr=0.1, betas=(0.9, 0.999), eps=0.0, amsgrad=True, amsgrad_max=mode)
        p1, s = opt.step(p0, np.full(5, 2.0), opt.init(p0))
        p2, _ = opt.step(p1, np.zeros(5), s)  # the same m-hat under both conventions: only v-hat differs
        size[mode] = np.abs(p2 - p1)
    out.append(CheckResult("conventions/amsgrad-max", "derived ratio sqrt(1 + beta_2) of torch's to optax's AMSGrad "
                           "step after (g, 0) vs numeric runs", relative_error(size["raw"] / size["corrected"],
                                                                               np.full(5, ratio)), 1e-9,
                           f"ratio {ratio:.9f}"))
    lam, lr = 0.1, 0.01
    gpos, theta = np.array([0.3, 2.0]), np.array([1.5, 0.2])
    first = {}
    for name, opt in (("L2", adaptive.adam(lr=lr, eps=1e-14, weight_decay=lam)),
                      ("dec", adaptive.adamw(lr=lr, eps=1e-14, weight_decay=lam))):
        first[name] = opt.step(theta, gpos, opt.init(theta))[0] - theta
    wdd = conv.weight_decay_coupling()
    limit = [s for s in wdd.steps if s.kind == "equal"][-1].rhs  # lim (dec - L2) as eps -> 0, from the derivation
    expected = sp.lambdify((ad.eta, ad.wd, sp.Symbol("theta_0", positive=True)), limit)(lr, lam, theta)
    out.append(CheckResult("conventions/weight-decay", "derived eps -> 0 limit of the first-step difference AdamW - "
                           "Adam(L2) = -eta lambda theta vs numeric (eps = 1e-14)",
                           relative_error(first["dec"] - first["L2"], expected), 1e-9, ""))
    return out
