"""NAdam, RAdam, Adamax, Lion: symbolic rules and derivations vs the hand-written optimizers and runs.

No torch here (``ldyn verify`` runs without the extra); the torch comparisons are
tests/test_zoo_adam_family.py.
"""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from derive.rules import adam_family as rules
from derive.rules import adam_family_derivations as ders
from numeric import problems, step_size
from numeric.optimizers import adam_family as hand
from verify.checks import CheckResult, relative_error, threshold_near
from verify.checks.zoo import lockstep_error

STEPS = 150


def _gradients(shape, steps: int, seed: int):
    """Gradients over 6 decades (so eps conventions show), shrinking over time (Adamax's decaying max
    wins), with an exact zero every 9 steps (Lion's sign(0), Adamax's max)."""
    rng = np.random.default_rng(seed)
    scale = np.logspace(-5, 1, int(np.prod(shape))).reshape(shape)
    out = []
    for k in range(steps):
        gk = scale * rng.normal(size=shape) * (1.0 if k < steps // 2 else 0.05)
        if k % 9 == 4:
            gk.flat[-1] = 0.0
        out.append(gk)
    return out


def _compare(sym, opt, shape=(2, 3), steps: int = STEPS, seed: int = 0) -> float:
    """:func:`verify.checks.zoo.lockstep_error` on this family's gradients."""
    return lockstep_error(sym, opt, np.random.default_rng(seed + 1).normal(size=shape), _gradients(shape, steps, seed))


def _cases():
    h = dict(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-8)
    decay = {False: "coupled", True: "decoupled-lr"}
    return {
        "nadam": [(rules.nadam_rule(s, decay[dw]).lambdify(**h, weight_decay=w, **({"momentum_decay": md} if s == "dozat"
                                                                                  else {})),
                   hand.nadam(0.01, (0.8, 0.99), 1e-8, w, md, dw, schedule=s),
                   f"schedule={s}, momentum_decay={md}, weight_decay={w}, decoupled={dw}")
                  for s, md, w, dw in itertools.product(["dozat", "constant"], [4e-3, 0.0], [0.0, 0.1], [False, True])
                  if not (s == "constant" and md == 0.0) and not (w == 0.0 and dw)],
        "radam": [(rules.radam_rule(th, e, decay[dw]).lambdify(**h, weight_decay=w),
                   hand.radam(0.01, (0.8, 0.99), 1e-8, w, dw, threshold=th, eps_mode=e),
                   f"threshold={th}, eps_mode={e}, weight_decay={w}, decoupled={dw}")
                  for th, e, w, dw in itertools.product([5, 4], ["hat", "outside"], [0.0, 0.1], [False, True])
                  if not (w == 0.0 and dw)],
        "adamax": [(rules.adamax_rule(e).lambdify(**({k: x for k, x in h.items() if e != "none" or k != "eps"}),
                                                  weight_decay=w),
                    hand.adamax(0.01, (0.8, 0.99), 1e-8, w, eps_mode=e), f"eps_mode={e}, weight_decay={w}")
                   for e, w in itertools.product(["max", "denominator", "none"], [0.0, 0.1])],
        "lion": [(rules.lion_rule(d).lambdify(lr=0.01, beta1=0.8, beta2=0.99, weight_decay=w),
                  hand.lion(0.01, (0.8, 0.99), w, decay_scale="lr" if d == "decoupled-lr" else "none"),
                  f"decay={d}, weight_decay={w}")
                 for d, w in itertools.product(["decoupled-lr", "decoupled"], [0.0, 0.1]) if not (w == 0.0 and d == "decoupled")],
    }


def lambdified_vs_handwritten() -> list[CheckResult]:
    """Lambdified NAdam/RAdam/Adamax/Lion rules vs numeric.optimizers.adam_family, every option combination, states included."""
    out = []
    for family, cases in _cases().items():
        worst, where = max((_compare(sym, opt), label) for sym, opt, label in cases)
        out.append(CheckResult(f"zoo-adamfam-lambdified/{family}", f"lambdified {family} rule vs hand-written, params and "
                               f"every state entry, one step from the same state at each of {STEPS} steps along a run "
                               f"(2x3 parameters), {len(cases)} option combinations", worst, 1e-13, f"worst: {where}"))
    return out


def _log_growth(opt, grad, p0, steps: int, burn_in: int, size: float = 1e-9) -> float:
    """log(||theta_N|| / ||theta_B||), B = burn_in (past the bias corrections' transient), of a real run
    whose state is rescaled to ||theta|| = size after each step (theta and m by c, v by c^2): exact for the
    linear part of the map, and it keeps sqrt(v-hat) ~ 1e-8, so that with eps = 1 the preconditioner
    1/(sqrt(v-hat) + eps) stays frozen at 1 to about 1e-8."""
    p = p0 / np.linalg.norm(p0) * size
    state, total = opt.init(p), 0.0
    for k in range(steps):
        p, state = opt.step(p, grad(p), state)
        c = size / np.linalg.norm(p)
        total -= np.log(c) if k >= burn_in else 0.0
        p, state = p * c, {**state, "exp_avg": state["exp_avg"] * c, "exp_avg_sq": state["exp_avg_sq"] * c * c}
    return total


def frozen_threshold() -> list[CheckResult]:
    """Derived NAdam threshold 2(1+β₁)/(1+β₁−2μβ₁) (frozen preconditioner, constant μ) vs bisection on real NAdam runs."""
    x_max = sp.lambdify((ders.beta1, ders.mu), ders.nadam_frozen().results["x_max"])
    prob = problems.quadratic([0.5, 3.0, 20.0], seed=2)
    sharp = float(np.max(np.linalg.eigvalsh(prob.hessian(np.zeros(3)))))
    p0 = np.random.default_rng(1).normal(size=3)
    out = []
    for b1, schedule, md, mu in ((0.9, "constant", 4e-3, 0.9), (0.5, "constant", 4e-3, 0.5),
                                 (0.9, "dozat", 0.0, 0.45)):
        predicted = x_max(b1, mu) / sharp

        def grows(lr, b1=b1, s=schedule, md=md):
            opt = hand.nadam(lr, (b1, 0.999), 1.0, momentum_decay=md, schedule=s)
            return _log_growth(opt, prob.grad, p0, 2500, 500) > 0

        name = f"zoo-adamfam-nadam-frozen-threshold/beta1={b1},mu={mu}"
        try:
            measured = threshold_near(grows, predicted, 5e-4, 0.5 * predicted, 2 * predicted, 1e-4)
        except ValueError:  # grows at 0.5 x or not at 2 x the prediction
            out.append(CheckResult(name, "the runs bracket the predicted threshold", float("inf"), 5e-4,
                                   "stable/unstable at 0.5/2 x the prediction is not what the runs show"))
            continue
        where = "constant beta_1 (optax)" if schedule == "constant" else "torch's schedule with momentum_decay = 0"
        out.append(CheckResult(name, f"derived largest stable lr 2(1+beta_1)/((1+beta_1-2 mu beta_1) lambda_max) vs bisection "
                               f"on numeric NAdam ({where}, eps = 1, growth over steps 500..2500, state rescaled each step)",
                               abs(measured / predicted - 1), 5e-4, f"predicted {predicted:.6g}, measured {measured:.6g}"))
    return out


def conventions() -> list[CheckResult]:
    """Derived convention differences (NAdam first step, RAdam's first rectified step, Adamax eps, Lion decay) vs runs."""
    out = []
    g = np.array([3e-3, 0.2, 5.0, -1.5])
    p0 = np.array([1.0, -2.0, 0.5, 3.0])
    lr, eps = 0.01, 1e-8
    gamma, b1 = ders.gamma, ders.beta1
    d = ders.nadam_schedule()
    psi_pos = next(s for s in d.results["first_step_torch"].free_symbols if s.name == "psi")
    args = (ders.eta, gamma, ders.eps, b1, psi_pos)
    torch_first = sp.lambdify(args, d.results["first_step_torch"])
    const_first = sp.lambdify(args[:-1], d.results["first_step_constant"])
    errs = []
    for schedule, f in (("dozat", lambda a: torch_first(lr, a, eps, 0.9, 4e-3)),
                        ("constant", lambda a: const_first(lr, a, eps, 0.9))):
        opt = hand.nadam(lr, eps=eps, schedule=schedule)
        step = opt.step(p0, g, opt.init(p0))[0] - p0
        errs.append(relative_error(step, np.sign(g) * f(np.abs(g))))
    out.append(CheckResult("zoo-adamfam-conventions/nadam-first-step", "derived first NAdam step, torch's schedule and "
                           "optax's constant beta_1, vs numeric NAdam", max(errs), 1e-12,
                           f"factors {-torch_first(1, 1, 0, 0.9, 4e-3):.6f} (torch) and "
                           f"{-const_first(1, 1, 0, 0.9):.6f} (optax)"))
    rho = sp.lambdify((ders.beta2, sp.Symbol("t", positive=True)), ders.radam_threshold().results["rho"])
    first = {}
    for th in (5, 4):
        predicted = next(t for t in range(1, 100) if rho(0.999, t) > th)
        opt, q = hand.radam(lr, threshold=th), p0
        state, mhat_steps = opt.init(q), []
        for t in range(1, 10):  # an unrectified step is exactly -lr m-hat
            new, state = opt.step(q, g, state)
            mhat_steps.append(np.allclose(new - q, -lr * state["exp_avg"] / (1 - 0.9**t), rtol=1e-12, atol=0))
            q = new
        first[th] = (predicted, mhat_steps.index(False) + 1)
    out.append(CheckResult("zoo-adamfam-conventions/radam-first-rectified-step", "derived first t with rho_t > 4 (paper) "
                           "and > 5 (torch, optax), beta_2 = 0.999, vs the first non-SGD step of numeric RAdam",
                           float(sum(abs(a - b) for a, b in first.values())), 0.0,
                           f"threshold 4: derived {first[4][0]}, run {first[4][1]}; threshold 5: derived {first[5][0]}, "
                           f"run {first[5][1]}"))
    a, b2, eps_big = 2.0, 0.9, 1e-3  # eps large so that eps (1 - beta_2) is far above rounding
    diff = float(sp.lambdify((ders.eps, ders.beta2), ders.adamax_eps().results["denominator_difference"])(eps_big, b2))
    dens = {}
    for mode in ("max", "denominator"):
        opt = hand.adamax(1.0, (0.5, b2), eps_big, eps_mode=mode)
        q1, s1 = opt.step(np.zeros(1), np.array([a]), opt.init(np.zeros(1)))
        q2, s2 = opt.step(q1, np.zeros(1), s1)
        dens[mode] = float(s2["exp_avg"][0] / (1 - 0.5**2) / (q1 - q2)[0])  # the denominator D_2
    out.append(CheckResult("zoo-adamfam-conventions/adamax-eps", "derived D_2' - D_2 = eps (1 - beta_2) (Keras vs torch "
                           "after a gradient and a zero gradient) vs numeric Adamax", abs(dens["denominator"] - dens["max"]
                                                                                        - diff) / diff, 1e-9,
                           f"eps = {eps_big}, beta_2 = {b2}: D_2 = {dens['max']:.9g}, D_2' = {dens['denominator']:.9g}"))
    dl = ders.lion_decay()
    fixed = sp.lambdify((sp.Symbol("s", real=True), ders.wd), dl.results["fixed_point"])
    lam_, lr_l = 0.5, 0.05
    opt, q = hand.lion(lr_l, weight_decay=lam_), np.array([3.0, -4.0])
    state = opt.init(q)
    for _ in range(600):  # a constant gradient: the sign stays +1, theta -> -1/lambda
        q, state = opt.step(q, np.array([1.0, 1.0]), state)
    expected = fixed(1.0, lam_) + (1 - lr_l * lam_) ** 600 * (np.array([3.0, -4.0]) - fixed(1.0, lam_))
    out.append(CheckResult("zoo-adamfam-conventions/lion-decay", "derived theta_n = -s/lambda + (1 - eta lambda)^n "
                           "(theta_0 + s/lambda) vs 600 steps of numeric Lion with a constant gradient",
                           relative_error(q, expected), 1e-12, f"fixed point {fixed(1.0, lam_):g}"))
    return out
