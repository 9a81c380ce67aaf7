"""Adam's relatives as update rules: NAdam, RAdam, Adamax (torch.optim's) and Lion.

Each factory returns an :class:`~derive.update_rule.UpdateRule` acting coordinate-wise on
(θ, buffers..., t) with the gradient oracle g(θ); t counts the steps taken so far (t + 1 on this
step).  The defaults are the algorithms torch.optim documents (Lion: the paper's Program 1 with
torch-style names); the keyword options select the conventions of other libraries and, for
``ldyn verify-impl``, the common mistakes (``buffer="sum"``: m ← β₁m + g instead of the EMA):

* NAdam ``schedule``: "dozat" μ_t = β₁(1 − ½·0.96^{tψ}) (torch, tf.keras; Dozat 2016) or
  "constant" μ_t = β₁ (optax.nadam, i.e. ``scale_by_adam(nesterov=True)``);
* RAdam ``threshold``: rectify when ρ_t > 5 (torch, the authors' code, optax) or > 4 (Liu et al.
  2020, Algorithm 2); ``eps_mode``: "hat" √(1 − β₂ᵗ)/(√v + ε) (torch) or "outside" 1/(√v̂ + ε) (optax);
  ``bias_correction="m"``: the √(1 − β₂ᵗ) of v forgotten (a mistake);
* Adamax ``eps_mode``: "max" u = max(β₂u, |g| + ε) (torch, optax.adamax), "denominator"
  u = max(β₂u, |g|), step m/(u + ε) (tf.keras Adamax), "none" (Kingma & Ba 2015, Section 7.1);
* Lion ``decay``: "decoupled-lr" θ(1 − ηλ) (Chen et al. 2023, optax.lion, lion-pytorch's default),
  "decoupled" θ(1 − λ) (lion-pytorch ``decoupled_weight_decay=True`` at a constant lr), "coupled"
  (a mistake: λθ added to the gradient inside the sign).

The ``TORCH`` entries (see :mod:`derive.rules.zoo`) tie these to ``ldyn verify-impl``; the
derivations of the convention differences are in :mod:`derive.rules.adam_family_derivations`.
"""
from __future__ import annotations

import sympy as sp

from derive.rules import adaptive as ad
from derive.rules.adaptive import _choice
from derive.rules.zoo import TorchOptimizer, Variant
from derive.update_rule import UpdateRule

eta, beta1, beta2, eps, wd = ad.eta, ad.beta1, ad.beta2, ad.eps, ad.wd
theta, m, v, t = ad.theta, ad.m, ad.v, ad.t
psi = sp.Symbol("psi", nonnegative=True)  # momentum_decay
Pi = sp.Symbol("Pi", positive=True)  # mu_product
u = sp.Symbol("u", nonnegative=True)  # exp_inf

SCHEDULES = ("dozat", "constant")
THRESHOLDS = (5, 4)
RADAM_EPS = ("hat", "outside")
ADAMAX_EPS = ("max", "denominator", "none")
BUFFERS = ("ema", "sum")


def _first_moment(grad: sp.Expr, buffer: str) -> sp.Expr:
    _choice("buffer", buffer, BUFFERS)
    return beta1 * m + (1 - beta1) * grad if buffer == "ema" else beta1 * m + grad


def mu_schedule(k: sp.Expr, schedule: str = "dozat") -> sp.Expr:
    """NAdam's momentum coefficient at step k: β₁(1 − ½·(24/25)^{kψ}) ("dozat") or β₁ ("constant")."""
    _choice("schedule", schedule, SCHEDULES)
    if schedule == "constant":
        return beta1
    return beta1 * (1 - sp.Rational(1, 2) * sp.Rational(24, 25) ** (k * psi))


def nadam_rule(schedule: str = "dozat", decay: str = "coupled", buffer: str = "ema") -> UpdateRule:
    """``torch.optim.NAdam``: ĝ = g(θ) + λθ (or θ ← θ − ηλθ), μ = μ_{t+1}, μ' = μ_{t+2}, Π⁺ = Πμ,
    m⁺ = β₁m + (1 − β₁)ĝ, v⁺ = β₂v + (1 − β₂)ĝ², D = √(v⁺/(1 − β₂ᵗ⁺¹)) + ε,
    θ⁺ = θ − η(1 − μ)ĝ/((1 − Π⁺)D) − ημ'm⁺/((1 − Π⁺μ')D)."""
    grad, separate = ad._decayed(decay)
    mu, mu_next = mu_schedule(t + 1, schedule), mu_schedule(t + 2, schedule)
    pn = Pi * mu
    mn = _first_moment(grad, buffer)
    vn = beta2 * v + (1 - beta2) * grad**2
    denom = sp.sqrt(vn / (1 - beta2 ** (t + 1))) + eps
    new_theta = (theta - eta * (1 - mu) / (1 - pn) * grad / denom
                 - eta * mu_next / (1 - pn * mu_next) * mn / denom - separate)
    hyper = {"lr": eta, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": wd}
    if schedule == "dozat":
        hyper["momentum_decay"] = psi
    defaults = {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 4e-3}
    title = "NAdam" + (" (decoupled weight decay)" if decay != "coupled" else "") + \
        (" (constant momentum)" if schedule == "constant" else "")
    return UpdateRule("nadam", title, (theta, Pi, m, v, t), hyper, (new_theta, pn, mn, vn, t + 1),
                      state_names=("mu_product", "exp_avg", "exp_avg_sq", "step"),
                      init=(sp.S.One, sp.S.Zero, sp.S.Zero, sp.S.Zero),
                      defaults={k: x for k, x in defaults.items() if k in hyper})


def rho(k: sp.Expr) -> sp.Expr:
    """RAdam's ρ_k = ρ_∞ − 2kβ₂ᵏ/(1 − β₂ᵏ), ρ_∞ = 2/(1 − β₂) − 1."""
    return 2 / (1 - beta2) - 1 - 2 * k * beta2**k / (1 - beta2**k)


def rectification(r: sp.Expr, r_inf: sp.Expr) -> sp.Expr:
    """r = √((ρ − 4)(ρ − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ)) (Liu et al. 2020, Algorithm 2)."""
    return sp.sqrt((r - 4) * (r - 2) * r_inf / ((r_inf - 4) * (r_inf - 2) * r))


def radam_rule(threshold=5, eps_mode: str = "hat", decay: str = "coupled", bias_correction: str = "both",
               buffer: str = "ema") -> UpdateRule:
    """``torch.optim.RAdam``: m̂ = m⁺/(1 − β₁ᵗ⁺¹); if ρ_{t+1} > threshold, θ⁺ = θ − η m̂ r l with
    l = √(1 − β₂ᵗ⁺¹)/(√v⁺ + ε) ("hat") or 1/(√v̂ + ε) ("outside"), else θ⁺ = θ − η m̂."""
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold < 4:
        raise ValueError(f"threshold must be a number >= 4 (so that r_t is real); got {threshold!r}")
    _choice("eps_mode", eps_mode, RADAM_EPS)
    _choice("bias_correction", bias_correction, ("both", "m"))
    grad, separate = ad._decayed(decay)
    s = t + 1
    mn = _first_moment(grad, buffer)
    vn = beta2 * v + (1 - beta2) * grad**2
    c2 = 1 - beta2**s if bias_correction == "both" else sp.S.One
    adaptive = sp.sqrt(c2) / (sp.sqrt(vn) + eps) if eps_mode == "hat" else 1 / (sp.sqrt(vn / c2) + eps)
    mhat = mn / (1 - beta1**s)
    r_t, r_inf = rho(s), 2 / (1 - beta2) - 1
    step = sp.Piecewise((eta * mhat * rectification(r_t, r_inf) * adaptive, r_t > sp.nsimplify(threshold)),
                        (eta * mhat, True))
    return UpdateRule("radam", "RAdam" + (" (decoupled weight decay)" if decay != "coupled" else ""),
                      (theta, m, v, t), {"lr": eta, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": wd},
                      (theta - step - separate, mn, vn, t + 1), state_names=("exp_avg", "exp_avg_sq", "step"),
                      init=(sp.S.Zero,) * 3,
                      defaults={"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0})


def adamax_rule(eps_mode: str = "max", decay: str = "coupled", bias_correction: bool = True,
                buffer: str = "ema") -> UpdateRule:
    """``torch.optim.Adamax``: ĝ = g(θ) + λθ, m⁺ = β₁m + (1 − β₁)ĝ, u⁺ = max(β₂u, |ĝ| + ε),
    θ⁺ = θ − η m⁺/((1 − β₁ᵗ⁺¹)u⁺); see the module docstring for ``eps_mode``."""
    _choice("eps_mode", eps_mode, ADAMAX_EPS)
    ad._flag("bias_correction", bias_correction)
    grad, separate = ad._decayed(decay)
    mn = _first_moment(grad, buffer)
    un = sp.Max(beta2 * u, sp.Abs(grad) + (eps if eps_mode == "max" else 0))
    denom = un + eps if eps_mode == "denominator" else un
    c1 = 1 - beta1 ** (t + 1) if bias_correction else sp.S.One
    hyper = {"lr": eta, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": wd}
    if eps_mode == "none":
        hyper.pop("eps")
    defaults = {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
    return UpdateRule("adamax", "Adamax", (theta, m, u, t), hyper,
                      (theta - eta * mn / (c1 * denom) - separate, mn, un, t + 1),
                      state_names=("exp_avg", "exp_inf", "step"), init=(sp.S.Zero,) * 3,
                      defaults={k: x for k, x in defaults.items() if k in hyper})


def lion_rule(decay: str = "decoupled-lr", buffer: str = "ema") -> UpdateRule:
    """Lion (Chen et al. 2023, Program 1): c = β₁m + (1 − β₁)g, θ⁺ = θ − η sign(c) − ηλθ,
    m⁺ = β₂m + (1 − β₂)g.  ``decay``: see the module docstring."""
    grad, separate = ad._decayed(decay)
    c = _first_moment(grad, buffer)
    mn = beta2 * m + (1 - beta2) * grad if buffer == "ema" else beta2 * m + grad
    return UpdateRule("lion", "Lion", (theta, m), {"lr": eta, "beta1": beta1, "beta2": beta2, "weight_decay": wd},
                      (theta - eta * sp.sign(c) - separate, mn), state_names=("exp_avg",), init=(sp.S.Zero,),
                      defaults={"lr": 1e-4, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0})


RULES = {"nadam": nadam_rule, "radam": radam_rule, "adamax": adamax_rule, "lion": lion_rule}


# -- the verify-impl entries ------------------------------------------------------------------
def _swap_betas(h: dict) -> dict:
    return {**h, "beta1": h["beta2"], "beta2": h["beta1"]}


def _beta1_is_beta2(h: dict) -> dict:
    return {**h, "beta1": h["beta2"]}


def _with(o: dict, **changes) -> dict:
    return {**o, **changes}


def _mistakes(factory, o: dict, buffer_text: str) -> list[Variant]:
    return [Variant("betas-swapped", "β₁ and β₂ swapped", dict(o), hyper=_swap_betas, kind="mistake", factory=factory),
            Variant("plain-momentum-buffer", buffer_text, _with(o, buffer="sum"), kind="mistake", factory=factory)]


def _decay_variants(factory, o: dict, libraries: dict) -> list[Variant]:
    text = {"coupled": "coupled L2: λθ added to the gradient", "decoupled-lr": "decoupled weight decay θ ← θ − ηλθ",
            "decoupled": "decoupled weight decay not scaled by the lr, θ ← θ − λθ"}
    return [Variant("decay-" + d, text[d], _with(o, decay=d), libraries=libraries[d],
                    kind="convention" if libraries[d] else "mistake", factory=factory)
            for d in libraries if d != o["decay"]]


_EMA_TEXT = "plain momentum buffer m ← β₁m + g instead of the EMA m ← β₁m + (1 − β₁)g"


def _nadam_variants(o: dict) -> list[Variant]:
    other = "constant" if o["schedule"] == "dozat" else "dozat"
    lib = {"constant": "optax.nadam (scale_by_adam(nesterov=True), its docs)",
           "dozat": "torch.optim.NAdam, tf.keras Nadam (Dozat 2016)"}[other]
    what = {"constant": "constant momentum μ_t = β₁ (no momentum schedule)",
            "dozat": "momentum schedule μ_t = β₁(1 − ½·0.96^(t·momentum_decay))"}[other]
    return ([Variant("schedule-" + other, what, _with(o, schedule=other), libraries=lib, factory=nadam_rule)]
            + _decay_variants(nadam_rule, o, {"coupled": "torch.optim.NAdam(decoupled_weight_decay=False)",
                                              "decoupled-lr": "torch.optim.NAdam(decoupled_weight_decay=True)"})
            + _mistakes(nadam_rule, o, _EMA_TEXT))


def _radam_variants(o: dict) -> list[Variant]:
    th = 4 if o["threshold"] == 5 else 5
    eps_other = "outside" if o["eps_mode"] == "hat" else "hat"
    return ([Variant(f"threshold-{th}", f"rectified when rho_t > {th} instead of > {o['threshold']}",
                     _with(o, threshold=th), factory=radam_rule,
                     libraries="Liu et al. 2020, Algorithm 2 (rho_t > 4)" if th == 4 else
                     "torch.optim.RAdam, optax.radam (threshold=5), the authors' code"),
             Variant("eps-" + eps_other, "ε added to √v̂ after bias correction, 1/(√v̂ + ε)" if eps_other == "outside"
                     else "ε added to √v before bias correction, √(1 − β₂ᵗ)/(√v + ε)", _with(o, eps_mode=eps_other),
                     libraries="optax.radam" if eps_other == "outside" else "torch.optim.RAdam", factory=radam_rule),
             Variant("no-v-bias-correction", "the bias correction √(1 − β₂ᵗ) of v forgotten in the adaptive term",
                     _with(o, bias_correction="m"), kind="mistake", factory=radam_rule)]
            + _decay_variants(radam_rule, o, {"coupled": "torch.optim.RAdam(decoupled_weight_decay=False)",
                                              "decoupled-lr": "torch.optim.RAdam(decoupled_weight_decay=True)"})
            + _mistakes(radam_rule, o, _EMA_TEXT))


def _adamax_variants(o: dict) -> list[Variant]:
    text = {"max": ("ε inside the max: u = max(β₂u, |g| + ε)", "torch.optim.Adamax, optax.adamax"),
            "denominator": ("ε added to the denominator: u = max(β₂u, |g|), step m/(u + ε)",
                            "tf.keras Adamax (its docs), MXNet Adamax"),
            "none": ("no ε: u = max(β₂u, |g|), step m/u", "Kingma & Ba 2015, Section 7.1 (Algorithm 2)")}
    return ([Variant("eps-" + e, text[e][0], _with(o, eps_mode=e), libraries=text[e][1], factory=adamax_rule)
             for e in ADAMAX_EPS if e != o["eps_mode"]]
            + [Variant("no-bias-correction", "no bias correction of m", _with(o, bias_correction=False),
                       kind="mistake", factory=adamax_rule)]
            + _decay_variants(adamax_rule, o, {"coupled": "torch.optim.Adamax", "decoupled-lr": "optax.adamaxw"})
            + _mistakes(adamax_rule, o, _EMA_TEXT))


def _lion_variants(o: dict) -> list[Variant]:
    return (_decay_variants(lion_rule, o, {"decoupled-lr": "Chen et al. 2023 (Program 1), optax.lion, lion-pytorch",
                                           "decoupled": "lion-pytorch Lion(decoupled_weight_decay=True), constant lr",
                                           "coupled": ""})
            + [Variant("betas-swapped", "β₁ and β₂ swapped: the sign of β₂m + (1 − β₂)g, the buffer with β₁",
                       dict(o), hyper=_swap_betas, kind="mistake", factory=lion_rule),
               Variant("momentum-updated-first", "the buffer updated before the sign: sign(m⁺) with "
                       "m⁺ = β₂m + (1 − β₂)g (β₁ unused)", dict(o), hyper=_beta1_is_beta2, kind="mistake",
                       factory=lion_rule),
               Variant("plain-momentum-buffer", "plain buffers: sign(β₁m + g), m ← β₂m + g", _with(o, buffer="sum"),
                       kind="mistake", factory=lion_rule)])


def _decay_of(values: dict) -> str:
    return "decoupled-lr" if values.get("decoupled_weight_decay") else "coupled"


def _check(values: dict) -> str | None:
    for k in ("lr",):
        if not values.get(k, 1) > 0:
            return f"{k} must be > 0, got {values[k]}"
    for k in ("eps", "weight_decay", "momentum_decay"):
        if k in values and values[k] < 0:
            return f"{k} must be >= 0, got {values[k]}"
    if any(not 0 <= b < 1 for b in values.get("betas", ())):
        return f"betas must each be in [0, 1), got {tuple(values['betas'])}"
    return None


TORCH = {
    "nadam": TorchOptimizer(
        "nadam", "torch.optim.NAdam",
        {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "momentum_decay": 4e-3,
         "decoupled_weight_decay": False},
        nadam_rule, lambda values, conv: {"schedule": conv["schedule"], "decay": _decay_of(values)},
        conventions={"schedule": SCHEDULES},
        plans=(("weight_decay", {"weight_decay": 0.01}),
               ("decoupled_weight_decay", {"weight_decay": 0.01, "decoupled_weight_decay": True})),
        variants=_nadam_variants, check=_check,
        follows="torch.optim.NAdam's documented algorithm (Dozat 2016 with the momentum schedule "
                "mu_t = beta1 (1 - 0.5 0.96^(t psi)) of Keras/torch)"),
    "radam": TorchOptimizer(
        "radam", "torch.optim.RAdam",
        {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "decoupled_weight_decay": False},
        radam_rule, lambda values, conv: {"threshold": int(conv["threshold"]), "eps_mode": conv["eps_mode"],
                                          "decay": _decay_of(values)},
        conventions={"threshold": ("5", "4"), "eps_mode": RADAM_EPS},
        plans=(("weight_decay", {"weight_decay": 0.01}),
               ("decoupled_weight_decay", {"weight_decay": 0.01, "decoupled_weight_decay": True})),
        variants=_radam_variants, check=_check,
        follows="torch.optim.RAdam's documented algorithm (Liu et al. 2020, rectified when rho_t > 5, "
                "eps added to sqrt(v) before the bias correction)"),
    "adamax": TorchOptimizer(
        "adamax", "torch.optim.Adamax",
        {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0},
        adamax_rule, lambda values, conv: {"eps_mode": conv["eps_mode"], "decay": "coupled"},
        conventions={"eps_mode": ADAMAX_EPS},
        plans=(("weight_decay", {"weight_decay": 0.01}),),
        variants=_adamax_variants, check=_check,
        follows="torch.optim.Adamax's documented algorithm (Kingma & Ba 2015, Section 7.1, with eps inside the max)"),
    "lion": TorchOptimizer(
        "lion", "Lion (lion-pytorch)",
        {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0},
        lion_rule, lambda values, conv: {"decay": conv["decay"]},
        conventions={"decay": ("decoupled-lr", "decoupled")},
        plans=(("weight_decay", {"weight_decay": 0.1}),),
        variants=_lion_variants, check=_check,
        follows="Lion as in Chen et al. 2023, Program 1 (decoupled decay theta (1 - lr wd)), with torch-style names"),
}
