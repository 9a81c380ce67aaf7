"""Classic adaptive methods as update rules: torch.optim's Adagrad, Adadelta, ASGD and Rprop.

Each factory returns an :class:`~derive.update_rule.UpdateRule` acting coordinate-wise on
(θ, buffers..., t) with the oracle g(θ); t counts the steps taken so far (t + 1 on this step).
The defaults are what ``torch.optim`` computes; the keyword options select another library's
documented convention or a common mistake (see ``TORCH[...].variants``):

* Adagrad (Duchi, Hazan & Singer, JMLR 2011): ``eps_mode`` "outside" √S + ε (torch) or "inside"
  √(S + ε) (optax.adagrad, whose scale_by_rss also starts S at 0.1 — a value of
  ``initial_accumulator_value``, not an option); mistakes ``denominator="old"`` (S before adding g²)
  and ``decay_offset=1`` (lr/(1 + t·lr_decay) from the first step on).
* Adadelta (Zeiler 2012, arXiv:1212.5701, Algorithm 1): torch multiplies the step by ``lr`` (the
  paper is lr = 1; tf.keras defaults to learning_rate=0.001); mistakes ``eps_numerator=False``
  (√u/√(v + ε): the parameters never move) and ``acc_delta="step"`` (u accumulates (lr·Δ)²).
* ASGD (Polyak & Juditsky 1992; schedules of Bottou 2012, "Stochastic gradient descent tricks",
  Sec. 5.3): torch evaluates η and μ after the step, so step t + 1 uses η_t, μ_t; mistakes
  ``schedule="current"`` (η_{t+1}, μ_{t+1} on step t + 1) and ``decay="after"`` ((θ − ηg)(1 − λη)).
* Rprop (Riedmiller & Braun 1993, without weight-backtracking; torch zeroes the gradient after a
  sign change: Igel & Hüsken 2000's iRprop−): ``clamp`` "always" (torch's code clamps every step)
  or "on-change" (torch's documented pseudocode, optax.scale_by_rprop); ``zero_after_flip=False``
  (Igel & Hüsken's Rprop−); mistake ``prev_kept="raw"`` (the flipped gradient kept as ``prev``).

The exact differences and thresholds are derivations in :mod:`derive.rules.classic_derivations`.
"""
from __future__ import annotations

import sympy as sp

from derive.rules.adaptive import _choice, _flag
from derive.rules.zoo import TorchOptimizer, Variant
from derive.update_rule import UpdateRule, g

# hyperparameters (protocol names in the comments)
eta = sp.Symbol("eta", positive=True)  # lr
lr_decay = sp.Symbol("kappa", nonnegative=True)  # Adagrad's lr_decay
wd = sp.Symbol("lambda_wd", nonnegative=True)  # weight_decay
s0 = sp.Symbol("S_0", nonnegative=True)  # initial_accumulator_value
eps = sp.Symbol("epsilon", positive=True)  # eps
rho = sp.Symbol("rho", positive=True)  # Adadelta's rho
lambd = sp.Symbol("lambda", nonnegative=True)  # ASGD's lambd
alpha = sp.Symbol("alpha", positive=True)  # ASGD's alpha
t0 = sp.Symbol("t_0", nonnegative=True)  # ASGD's t0
eta_minus, eta_plus = sp.symbols("eta_- eta_+", positive=True)  # etas
size_min, size_max = sp.symbols("Gamma_min Gamma_max", positive=True)  # step_sizes
# state
theta = sp.Symbol("theta", real=True)
S = sp.Symbol("S", nonnegative=True)  # Adagrad's sum
v = sp.Symbol("v", nonnegative=True)  # Adadelta's square_avg
u = sp.Symbol("u", nonnegative=True)  # Adadelta's acc_delta
eta_t = sp.Symbol("eta_t", positive=True)  # ASGD's eta
mu_t = sp.Symbol("mu_t", positive=True)  # ASGD's mu
ax = sp.Symbol("a", real=True)  # ASGD's ax
prev = sp.Symbol("p", real=True)  # Rprop's prev
size = sp.Symbol("Delta", positive=True)  # Rprop's step_size
t = sp.Symbol("t", integer=True, nonnegative=True)  # steps taken so far


# -- the rules -------------------------------------------------------------------------------
def adagrad_rule(eps_mode: str = "outside", denominator: str = "new", decay_offset: int = 0) -> UpdateRule:
    """``torch.optim.Adagrad``: ĝ = g(θ) + λθ, S⁺ = S + ĝ², θ⁺ = θ − η/(1 + tκ) · ĝ/(√S⁺ + ε)."""
    _choice("eps_mode", eps_mode, ("outside", "inside"))
    _choice("denominator", denominator, ("new", "old"))
    _choice("decay_offset", decay_offset, (0, 1))
    grad = g(theta) + wd * theta
    sn = S + grad**2
    acc = sn if denominator == "new" else S
    denom = sp.sqrt(acc) + eps if eps_mode == "outside" else sp.sqrt(acc + eps)
    clr = eta / (1 + (t + decay_offset) * lr_decay)
    return UpdateRule("adagrad", "Adagrad", (theta, S, t),
                      {"lr": eta, "lr_decay": lr_decay, "weight_decay": wd, "initial_accumulator_value": s0,
                       "eps": eps},
                      (theta - clr * grad / denom, sn, t + 1), state_names=("sum", "step"), init=(s0, sp.S.Zero),
                      defaults={"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0,
                                "eps": 1e-10})


def adadelta_rule(eps_numerator: bool = True, acc_delta: str = "delta") -> UpdateRule:
    """``torch.optim.Adadelta``: v⁺ = ρv + (1 − ρ)ĝ², Δ = √(u + ε)/√(v⁺ + ε)·ĝ, u⁺ = ρu + (1 − ρ)Δ²,
    θ⁺ = θ − ηΔ (Zeiler 2012 is η = 1)."""
    _flag("eps_numerator", eps_numerator)
    _choice("acc_delta", acc_delta, ("delta", "step"))
    grad = g(theta) + wd * theta
    vn = rho * v + (1 - rho) * grad**2
    delta = (sp.sqrt(u + eps) if eps_numerator else sp.sqrt(u)) / sp.sqrt(vn + eps) * grad
    recorded = delta if acc_delta == "delta" else eta * delta
    un = rho * u + (1 - rho) * recorded**2
    return UpdateRule("adadelta", "Adadelta", (theta, v, u, t),
                      {"lr": eta, "rho": rho, "eps": eps, "weight_decay": wd},
                      (theta - eta * delta, vn, un, t + 1), state_names=("square_avg", "acc_delta", "step"),
                      init=(sp.S.Zero,) * 3, defaults={"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0})


def asgd_rule(schedule: str = "lagged", decay: str = "before") -> UpdateRule:
    """``torch.optim.ASGD``: θ⁺ = θ(1 − λη_t) − η_t ĝ, a⁺ = a + μ_t(θ⁺ − a), then
    η_{t+1} = η/(1 + λη(t + 1))^α and μ_{t+1} = 1/max(1, t + 1 − t₀) for the next step."""
    _choice("schedule", schedule, ("lagged", "current"))
    _choice("decay", decay, ("before", "after"))
    grad = g(theta) + wd * theta
    eta_next = eta / (1 + lambd * eta * (t + 1)) ** alpha
    mu_next = 1 / sp.Max(1, t + 1 - t0)
    e, m = (eta_t, mu_t) if schedule == "lagged" else (eta_next, mu_next)
    new = theta * (1 - lambd * e) - e * grad if decay == "before" else (theta - e * grad) * (1 - lambd * e)
    return UpdateRule("asgd", "ASGD", (theta, eta_t, mu_t, ax, t),
                      {"lr": eta, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": wd},
                      (new, eta_next, mu_next, ax + m * (new - ax), t + 1),
                      state_names=("eta", "mu", "ax", "step"), init=(eta, sp.S.One, sp.S.Zero, sp.S.Zero),
                      defaults={"lr": 1e-2, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0})


def rprop_rule(clamp: str = "always", zero_after_flip: bool = True, prev_kept: str = "zeroed") -> UpdateRule:
    """``torch.optim.Rprop``: with P = g(θ)·p, f = η₊ (P > 0), η₋ (P < 0), 1 (P = 0),
    Δ⁺ = min(max(fΔ, Γ_min), Γ_max), ĝ = 0 where P < 0 else g(θ), θ⁺ = θ − sign(ĝ)Δ⁺, p⁺ = ĝ."""
    _choice("clamp", clamp, ("always", "on-change"))
    _flag("zero_after_flip", zero_after_flip)
    _choice("prev_kept", prev_kept, ("zeroed", "raw"))
    prod = g(theta) * prev
    factor = sp.Piecewise((eta_plus, prod > 0), (eta_minus, prod < 0), (sp.S.One, True))
    clamped = sp.Min(sp.Max(size * factor, size_min), size_max)
    sn = clamped if clamp == "always" else sp.Piecewise((size, sp.Eq(prod, 0)), (clamped, True))
    gz = sp.Piecewise((sp.S.Zero, prod < 0), (g(theta), True)) if zero_after_flip else g(theta)
    kept = gz if prev_kept == "zeroed" else g(theta)
    return UpdateRule("rprop", "Rprop", (theta, prev, size, t),
                      {"lr": eta, "etas1": eta_minus, "etas2": eta_plus, "step_sizes1": size_min,
                       "step_sizes2": size_max},
                      (theta - sp.sign(gz) * sn, kept, sn, t + 1), state_names=("prev", "step_size", "step"),
                      init=(sp.S.Zero, eta, sp.S.Zero),
                      defaults={"lr": 1e-2, "etas1": 0.5, "etas2": 1.2, "step_sizes1": 1e-6, "step_sizes2": 50.0})


#: rule name -> factory
RULES = {"adagrad": adagrad_rule, "adadelta": adadelta_rule, "asgd": asgd_rule, "rprop": rprop_rule}


# -- the registry entries of ldyn verify-impl -------------------------------------------------
def _nonneg(values: dict, *keys: str) -> str | None:
    for k in keys:
        if values[k] < 0:
            return f"{k}: must be >= 0, got {values[k]}"
    return None


def _check_lr(values: dict) -> str | None:
    return None if values["lr"] > 0 else f"lr: must be > 0, got {values['lr']}"


def _adagrad_check(values: dict) -> str | None:
    return _check_lr(values) or _nonneg(values, "lr_decay", "weight_decay", "initial_accumulator_value", "eps")


def _adadelta_check(values: dict) -> str | None:
    if not 0 <= values["rho"] <= 1:
        return f"rho: must be in [0, 1], got {values['rho']}"
    if values["eps"] <= 0:
        return f"eps: must be > 0 (with eps = 0 Adadelta never moves), got {values['eps']}"
    return _check_lr(values) or _nonneg(values, "weight_decay")


def _asgd_check(values: dict) -> str | None:
    return _check_lr(values) or _nonneg(values, "lambd", "alpha", "t0", "weight_decay")


def _rprop_check(values: dict) -> str | None:
    (em, ep), (lo, hi) = values["etas"], values["step_sizes"]
    if not 0 < em < 1 < ep:
        return f"etas: must be (etaminus, etaplus) with 0 < etaminus < 1 < etaplus, got {values['etas']}"
    if not 0 <= lo <= hi or hi <= 0:
        return f"step_sizes: must be (min, max) with 0 <= min <= max, max > 0, got {values['step_sizes']}"
    return _check_lr(values)


def _set(**fixed):
    return lambda h: {**h, **fixed}


def _adagrad_variants(o: dict) -> list[Variant]:
    inside = o.get("eps_mode", "outside") == "inside"
    other = "outside" if inside else "inside"
    f = adagrad_rule
    return [
        Variant("eps-" + other, f"ε {other} the square root: " + ("√S + ε" if inside else "√(S + ε)"),
                {**o, "eps_mode": other}, factory=f,
                libraries="torch.optim.Adagrad" if inside else "optax.adagrad (scale_by_rss: rsqrt(S + eps))"),
        Variant("initial-accumulator-0.1", "the accumulator starts at S₀ = 0.1 whatever initial_accumulator_value "
                "says", dict(o), hyper=_set(initial_accumulator_value=0.1), factory=f,
                libraries="tf.keras Adagrad (initial_accumulator_value=0.1 by default, ε outside √accum in its "
                "documented update); optax.adagrad's default S₀ too"),
        Variant("optax-adagrad", "optax.adagrad: S₀ = 0.1 and ε inside the root, √(S + ε)",
                {**o, "eps_mode": "inside"}, hyper=_set(initial_accumulator_value=0.1), factory=f,
                libraries="optax.adagrad (initial_accumulator_value=0.1, scale_by_rss)"),
        Variant("old-sum-in-denominator", "the step divides by the accumulator before g² is added (√S instead of "
                "√(S + g²))", {**o, "denominator": "old"}, kind="mistake", factory=f),
        Variant("lr-decay-off-by-one", "lr/(1 + t·lr_decay) with t = 1 on the first step, instead of "
                "lr/(1 + (t − 1)·lr_decay)", {**o, "decay_offset": 1}, kind="mistake", factory=f),
    ]


def _adadelta_variants(o: dict) -> list[Variant]:
    f = adadelta_rule
    return [
        Variant("zeiler-no-lr", "Zeiler's Algorithm 1: no learning rate (the step is Δ itself, lr = 1)", dict(o),
                hyper=_set(lr=1.0), factory=f, libraries="Zeiler 2012, Algorithm 1"),
        Variant("keras-default-lr", "lr fixed at tf.keras' default learning_rate = 0.001 (1e-3 times torch's "
                "default step)", dict(o), hyper=_set(lr=1e-3), factory=f,
                libraries="tf.keras.optimizers.Adadelta (learning_rate=0.001 by default)"),
        Variant("eps-missing-in-numerator", "Δ = √u/√(v + ε)·g: without ε in the numerator u stays 0 and θ never "
                "moves", {**o, "eps_numerator": False}, kind="mistake", factory=f),
        Variant("acc-delta-of-lr-step", "acc_delta accumulates the applied step (lr·Δ)² instead of Δ²",
                {**o, "acc_delta": "step"}, kind="mistake", factory=f),
    ]


def _asgd_variants(o: dict) -> list[Variant]:
    f = asgd_rule
    return [
        Variant("schedule-current-step", "η and μ evaluated at the current step count (1-based) before the step, "
                "instead of torch's values from the previous step (Bottou's 0-based count)",
                {**o, "schedule": "current"}, kind="mistake", factory=f),
        Variant("decay-after-step", "the λ-decay applied after the gradient step: (θ − ηg)(1 − λη) instead of "
                "θ(1 − λη) − ηg", {**o, "decay": "after"}, kind="mistake", factory=f),
    ]


def _rprop_variants(o: dict) -> list[Variant]:
    f = rprop_rule
    on_change = o.get("clamp", "always") == "on-change"
    zeroing = o.get("zero_after_flip", True)
    return [
        Variant("clamp-" + ("always" if on_change else "on-change"),
                "step size clamped to [min, max] on every step, also when g·prev = 0" if on_change else
                "step size left as it is (not clamped) when g·prev = 0, e.g. an initial lr outside [min, max]",
                {**o, "clamp": "always" if on_change else "on-change"}, factory=f,
                libraries="torch.optim.Rprop's code" if on_change else
                "torch.optim.Rprop's documented pseudocode; optax.scale_by_rprop"),
        Variant("no-zero-after-flip" if zeroing else "zero-after-flip",
                "after a sign change the step is still taken with the reduced step size (Rprop−)" if zeroing else
                "after a sign change the gradient is set to 0: no step (iRprop−)",
                {**o, "zero_after_flip": not zeroing}, factory=f,
                libraries="Igel & Hüsken 2000, Rprop−" if zeroing else "torch.optim.Rprop; Igel & Hüsken 2000, iRprop−"),
        Variant("etas-swapped", "etas read as (etaplus, etaminus): torch's order is (etaminus, etaplus)", dict(o),
                hyper=lambda h: {**h, "etas1": h.get("etas2", 1.2), "etas2": h.get("etas1", 0.5)},
                kind="mistake", factory=f),
        *([Variant("prev-not-zeroed", "the step is skipped after a sign change but prev keeps the flipped "
                   "gradient (so the next step sees another sign comparison)", {**o, "prev_kept": "raw"},
                   kind="mistake", factory=f)] if zeroing else []),
    ]


TORCH = {
    "adagrad": TorchOptimizer(
        "adagrad", "torch.optim.Adagrad",
        {"lr": 1e-2, "lr_decay": 0, "weight_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10},
        adagrad_rule, lambda values, conv: {"eps_mode": conv["eps_mode"]},
        conventions={"eps_mode": ("outside", "inside")},
        plans=(("lr_decay", {"lr_decay": 0.1}), ("weight_decay", {"weight_decay": 0.01}),
               ("initial_accumulator_value", {"initial_accumulator_value": 0.1}), ("eps", {"eps": 1e-3})),
        variants=_adagrad_variants, check=_adagrad_check,
        follows="torch.optim.Adagrad's documented algorithm (Duchi, Hazan & Singer 2011, with lr_decay and "
                "coupled L2)"),
    "adadelta": TorchOptimizer(
        "adadelta", "torch.optim.Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0},
        adadelta_rule, lambda values, conv: {},
        plans=(("weight_decay", {"weight_decay": 0.01}), ("lr", {"lr": 0.5})),
        variants=_adadelta_variants, check=_adadelta_check,
        follows="torch.optim.Adadelta's documented algorithm (Zeiler 2012, Algorithm 1, times lr)"),
    "asgd": TorchOptimizer(
        "asgd", "torch.optim.ASGD", {"lr": 1e-2, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0},
        asgd_rule, lambda values, conv: {},
        plans=(("weight_decay", {"weight_decay": 0.01}), ("averaging", {"t0": 5.0}),
               ("lambd", {"lambd": 0.5, "t0": 5.0})),
        variants=_asgd_variants, check=_asgd_check,
        follows="torch.optim.ASGD's code (Polyak & Juditsky 1992 averaging with Bottou 2012's schedules, "
                "evaluated after each step)"),
    "rprop": TorchOptimizer(
        "rprop", "torch.optim.Rprop", {"lr": 1e-2, "etas": (0.5, 1.2), "step_sizes": (1e-6, 50)},
        rprop_rule, lambda values, conv: {"clamp": conv["clamp"]},
        conventions={"clamp": ("always", "on-change")},
        plans=(("lr-above-max", {"lr": 0.5, "step_sizes": (1e-6, 0.2)}),),
        variants=_rprop_variants, check=_rprop_check,
        follows="torch.optim.Rprop's code (Riedmiller & Braun 1993 without weight-backtracking, gradient zeroed "
                "after a sign change: iRprop−, Igel & Hüsken 2000)"),
}

