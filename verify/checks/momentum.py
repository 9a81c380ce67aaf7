"""Heavy ball and Nesterov: symbolic rules and predictions vs hand-written code and real runs."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derive import losses
from derive.rules import momentum as dm
from derive.analysis import momentum_limits as dl
from derive.analysis import momentum_tuning as dt
from numeric import flow, optimizers, problems, step_size
from numeric.optimizers import momentum

from verify import momentum_maps as mm
from verify.checks import CheckResult, relative_error, threshold_near

#: (method, x = eta*lambda, beta, predicted regime) sampled in every stable regime
REGIME_POINTS = [
    ("heavy-ball", 0.02, 0.5, "overdamped"), ("heavy-ball", (1 - math.sqrt(0.6)) ** 2, 0.6, "critically damped"),
    ("heavy-ball", 0.3, 0.8, "underdamped"), ("heavy-ball", 3.17, 0.6, "sign-flipping"),
    ("nesterov", 0.02, 0.5, "overdamped"), ("nesterov", 0.2, 0.8, "underdamped"),
    ("nesterov", 1.2, 0.5, "sign-flipping"),
]


def _run_1d(method: str, x: float, beta: float, steps: int, theta0: float = 1.0) -> np.ndarray:
    """θ_t of the hand-written method on L = θ²/2 (λ = 1, so η = x)."""
    opt = momentum.heavy_ball(lr=x, momentum=beta) if method == "heavy-ball" else momentum.nesterov(lr=x, momentum=beta)
    return optimizers.run(opt, lambda th: th, np.array([theta0]), steps)[:, 0]


def lambdified_vs_handwritten(steps: int = 300, seed: int = 0) -> list[CheckResult]:
    """Lambdified heavy-ball and Nesterov rules vs numeric.optimizers.momentum, states included, many steps."""
    rng = np.random.default_rng(seed)
    prob = problems.quadratic(rng.uniform(0.1, 5.0, size=6), seed=3)
    p0 = rng.normal(size=6)
    out = []
    for label, rule, hand, key_s, key_h, scale in [
        ("heavy-ball", dm.heavy_ball_rule(), lambda lr, b: momentum.heavy_ball(lr=lr, momentum=b), "velocity",
         "velocity", 1.0),
        ("nesterov-torch", dm.nesterov_buffer_rule(), lambda lr, b: momentum.sgd(lr=lr, momentum=b, nesterov=True),
         "momentum_buffer", "momentum_buffer", 1.0),
        ("nesterov-lookahead-point", dm.nesterov_buffer_rule(), lambda lr, b: momentum.nesterov(lr=lr, momentum=b),
         "momentum_buffer", "velocity", None),
    ]:
        worst = 0.0
        for lr, b in [(0.05, 0.5), (0.01, 0.9), (0.1, 0.2)]:
            sym, hd = rule.lambdify(lr=lr, momentum=b), hand(lr, b)
            ps, ss, ph, sh = p0, sym.init(p0), p0, hd.init(p0)
            for _ in range(steps):
                ps, ss = sym.step(ps, prob.grad(ps), ss)
                ph, sh = hd.step(ph, prob.grad(ph), sh)
                # the torch buffer b and the velocity v are related by v = -lr b
                other = sh[key_h] if scale is not None else -sh[key_h] / lr
                worst = max(worst, relative_error(ps, ph), relative_error(ss[key_s], other))
        out.append(CheckResult(f"momentum-lambdified/{label}", f"lambdified {rule.name} rule vs hand-written, "
                               f"params and state, 3 settings x {steps} steps", worst, 1e-12, "6-D random quadratic"))
    rule_la = dm.nesterov_rule()
    worst = 0.0
    for lr, b in [(0.05, 0.5), (0.01, 0.9)]:
        f = rule_la.numpy_map(prob.grad, lr=lr, momentum=b)
        th_s = th_h = p0
        v_s = v_h = np.zeros(6)
        for _ in range(steps):
            th_s, v_s = f(th_s, v_s)
            th_h, v_h = momentum.nesterov_lookahead_step(th_h, v_h, prob.grad, lr, b)
            worst = max(worst, relative_error(th_s, th_h), relative_error(v_s, v_h))
    out.append(CheckResult("momentum-lambdified/nesterov-lookahead", "symbolic look-ahead map (gradient at "
                           "theta + beta v) vs hand-written textbook step", worst, 1e-12, "6-D random quadratic"))
    return out


def _envelope_rate(traj: np.ndarray, t1: int, t2: int, window: int) -> float:
    a = np.max(np.abs(traj[t1:t1 + window]))
    b = np.max(np.abs(traj[t2:t2 + window]))
    return float((b / a) ** (1.0 / (t2 - t1)))


def spectral_radius() -> list[CheckResult]:
    """Predicted spectral radius max|z| vs the contraction of a real run's envelope."""
    out = []
    for method, x, beta, label in REGIME_POINTS:
        predicted = float(mm.spectral_radius(method, x, beta))
        span = int(min(2000, 30.0 / -math.log(predicted)))
        traj = _run_1d(method, x, beta, 2 * span + 100)
        measured = _envelope_rate(traj, span, 2 * span, 60)
        out.append(CheckResult(f"momentum-spectral-radius/{method}/{label}",
                               "predicted max|root| vs measured envelope contraction",
                               abs(measured - predicted) / predicted, 1e-2,
                               f"x={x:.4g}, beta={beta:g}: predicted {predicted:.6f}, measured {measured:.6f} "
                               "(critical damping carries a t*rho^t factor: percent-level bias)"))
    return out


def _observed_regime(traj: np.ndarray) -> str:
    s = np.sign(traj[1:])
    flips = s[1:] != s[:-1]
    if flips[-40:].mean() > 0.9:
        return "sign-flipping"
    return "underdamped" if flips.sum() >= 2 else "overdamped or critically damped"


def damping() -> list[CheckResult]:
    """Predicted damping class vs the observed trajectory (sign changes of θ_t)."""
    mismatches, details = 0, []
    for method, x, beta, label in REGIME_POINTS:
        predicted = str(mm.regime(method, x, beta))
        observed = _observed_regime(_run_1d(method, x, beta, 300))
        expected = "overdamped or critically damped" if predicted in ("overdamped", "critically damped") else predicted
        ok = predicted == label and observed == expected
        mismatches += not ok
        details.append(f"{method} x={x:.3g} b={beta:g}: {predicted}/{observed}")
    return [CheckResult("momentum-damping", "predicted regime (discriminant) vs observed sign pattern of theta_t",
                        float(mismatches), 0.0, "; ".join(details))]


def stability_boundary() -> list[CheckResult]:
    """Predicted x_max(β) vs the step where real runs start to diverge (bisection), several β."""
    out = []
    prob = problems.quadratic([1.0, 10.0], seed=1)
    theta0 = np.array([1.0, 1.5])
    for method, d in [("heavy-ball", dm.heavy_ball_analysis()), ("nesterov", dm.nesterov_analysis())]:
        xmax = sp.lambdify(dm.beta, d.results["x_max"])
        make = momentum.heavy_ball if method == "heavy-ball" else momentum.nesterov
        for beta in (0.0, 0.5, 0.9):
            predicted = float(xmax(beta)) / 10.0
            found = threshold_near(lambda e, b=beta: step_size.diverges(make(lr=e, momentum=b), prob.grad, theta0, 2000),
                                   predicted, 2e-3, 0.5 * predicted, 1.5 * predicted, 1e-6)
            out.append(CheckResult(f"momentum-stability-boundary/{method}/beta={beta:g}",
                                   "predicted x_max(beta)/lambda_max vs bisection on real runs",
                                   abs(found - predicted) / predicted, 2e-3,
                                   f"predicted {predicted:.6g}, found {found:.6g}"))
    return out


def _tunings(mu: float, L: float) -> dict:
    r = dt.momentum_tuning().results
    ev = lambda e: float(e.subs({dt.mu: mu, dt.Lmax: L}))  # noqa: E731
    return {"heavy-ball optimal": ("heavy-ball", ev(r["hb_eta"]), ev(r["hb_beta"]), ev(r["hb_rate"])),
            "nesterov standard": ("nesterov", ev(r["nesterov_standard_eta"]), ev(r["nesterov_standard_beta"]),
                                  ev(r["nesterov_standard_rate"])),
            "nesterov best": ("nesterov", ev(r["nesterov_eta"]), ev(r["nesterov_beta"]), ev(r["nesterov_rate"]))}


def optimal_rate(mu: float = 1.0, L: float = 100.0) -> list[CheckResult]:
    """Predicted optimal rates vs measured runs on a spectrum in [μ, L], and vs a brute-force
    minimax search over (η, β) with the vectorized closed forms."""
    spectrum = np.geomspace(mu, L, 6)
    prob = problems.quadratic(spectrum, seed=2)
    out = []
    lam = np.linspace(mu, L, 400)
    for label, (method, eta, beta, rate) in _tunings(mu, L).items():
        make = momentum.heavy_ball if method == "heavy-ball" else momentum.nesterov
        steps = int(80.0 / -math.log(rate))
        traj = optimizers.run(make(lr=eta, momentum=beta), prob.grad, np.ones(len(spectrum)), steps)
        measured = _envelope_rate(np.linalg.norm(traj, axis=1), steps // 2, steps - 21, 20)
        out.append(CheckResult(f"momentum-optimal-rate/{label}", "predicted rate vs measured on spectrum [mu, L]",
                               abs(measured - rate) / rate, 1e-2,
                               f"kappa={L / mu:g}: predicted {rate:.5f}, measured {measured:.5f}"))
        if label == "nesterov standard":
            continue
        etas = np.linspace(0.5, 1.5, 161) * eta
        betas = np.linspace(max(0.0, beta - 0.15), min(0.999, beta + 0.15), 161)
        E, B = np.meshgrid(etas, betas, indexing="ij")
        worst = np.zeros_like(E)
        for lv in lam:
            worst = np.maximum(worst, mm.spectral_radius(method, E * lv, B))
        best = float(worst.min())
        at_pred = float(max(mm.spectral_radius(method, eta * lv, beta) for lv in lam))
        out.append(CheckResult(f"momentum-optimal-rate/{label}/minimax", "closed-form tuning vs brute-force "
                               "minimax over a grid of (eta, beta)", max(0.0, at_pred - best) / rate, 1e-3,
                               f"worst radius at the tuning {at_pred:.6f}, best on the grid {best:.6f}"))
    return out


def oscillator_limit(t_final: float = 2.0, hs=(0.02, 0.01, 0.005), m: float = 1.0, gamma: float = 1.5):
    """Heavy ball with η = h²/m, β = 1 − γh/m vs the damped oscillator m θ'' + γ θ' + ∇L = 0:
    the gap at a fixed time shrinks like h."""
    d = dl.oscillator_limit()
    eta_f = sp.lambdify((dl.h, dl.m), d.results["eta"])
    beta_f = sp.lambdify((dl.h, dl.m, dl.gamma), d.results["beta"])
    prob = problems.factorization()
    theta0 = np.array([0.3, 1.6])
    n = len(theta0)
    _, ys = flow.integrate_flow(lambda y: np.concatenate([y[n:], -(gamma * y[n:] + prob.grad(y[:n])) / m]),
                                np.concatenate([theta0, np.zeros(n)]), t_final, t_eval=[t_final], rtol=1e-12, atol=1e-14)
    errs = []
    for h in hs:
        opt = momentum.heavy_ball(lr=float(eta_f(h, m)), momentum=float(beta_f(h, m, gamma)))
        traj = optimizers.run(opt, prob.grad, theta0, int(round(t_final / h)))
        errs.append(float(np.linalg.norm(traj[-1] - ys[-1, :n])))
    order = math.log2(errs[-2] / errs[-1])
    return [CheckResult("momentum-oscillator-limit", "heavy-ball iterates vs solve_ivp of the damped oscillator: "
                        "error order as h halves", abs(order - 1.0), 0.15,
                        f"predicted order 1, observed {order:.3f}; errors " + ", ".join(f"{e:.2e}" for e in errs))]


def modified_flow(beta: float = 0.5, t_final: float = 1.0, etas=(0.02, 0.01, 0.005)) -> list[CheckResult]:
    """Heavy ball vs its slow flow −∇L/(1−β) (order 0) and −∇L̃/(1−β) with momentum's implicit
    regularizer (order 1): the gap at t = nη shrinks like η and η²."""
    d = dl.heavy_ball_modified_equation()
    th1 = sp.Symbol("theta", real=True)
    g0sq = sp.diff(sp.Function("L")(th1), th1) ** 2
    coef = sp.simplify(d.results["regularizer"] / g0sq)  # eta (1 + beta) / (4 (1 - beta)^2)
    expr, params = losses.factorization()
    sq = sum(sp.diff(expr, p) ** 2 for p in params)
    prob = problems.factorization()
    theta0 = np.array([0.3, 1.6])
    out = []
    for order in (0, 1):
        lt = expr + (coef if order else 0) * sq
        field = sp.lambdify((dl.eta, dl.beta, *params), [-sp.diff(lt, p) / (1 - dl.beta) for p in params])
        errs = []
        for eta in etas:
            fn = lambda th, e=eta: np.array(field(e, beta, *th), dtype=float)  # noqa: E731
            _, back = flow.integrate_flow(lambda th: -fn(th), theta0, eta, t_eval=[eta], rtol=1e-13, atol=1e-15)
            _, ys = flow.integrate_flow(fn, theta0, t_final, t_eval=[t_final], rtol=1e-13, atol=1e-15)
            opt = momentum.heavy_ball(lr=eta, momentum=beta)
            params_, state = theta0, {"velocity": theta0 - back[-1]}  # start on the slow curve
            for _ in range(int(round(t_final / eta))):
                params_, state = opt.step(params_, prob.grad(params_), state)
            errs.append(float(np.linalg.norm(params_ - ys[-1])))
        obs = math.log2(errs[-2] / errs[-1])
        out.append(CheckResult(f"momentum-modified-flow/order-{order}", f"heavy ball vs its modified flow to "
                               f"eta^{order}: error order when eta halves", abs(obs - (order + 1)), 0.15,
                               f"beta={beta:g}: predicted order {order + 1}, observed {obs:.3f}; errors "
                               + ", ".join(f"{e:.2e}" for e in errs)))
    return out
