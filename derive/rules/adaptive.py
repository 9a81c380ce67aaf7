"""Adaptive methods as update rules: SGD (coupled vs decoupled decay), RMSProp, Adam, AdamW.

Each factory returns an :class:`~derive.update_rule.UpdateRule` acting coordinate-wise on
(θ, buffers..., t), with the gradient oracle g(θ).  The default options are the algorithms
documented by ``torch.optim`` (SGD, RMSprop, Adam, AdamW); the other options are the
conventions users meet elsewhere (see :mod:`derive.rules.conventions` for the exact differences):

* ``eps_mode``: "outside" √v̂ + ε (torch, optax.adam), "inside" √(v̂ + ε) (optax.rmsprop's
  default ``eps_in_sqrt=True``), "hat" — Kingma & Ba's efficient form just before their
  Section 2.1, α_t = η√(1−β₂ᵗ)/(1−β₁ᵗ), θ ← θ − α_t m/(√v + ε̂), whose ε̂ is what
  ``tf.train.AdamOptimizer`` and tf.keras' Adam call epsilon;
* ``bias_correction``: "both" (Kingma & Ba Algorithm 1), "none", or on one moment only;
* ``amsgrad_max``: the running max of the raw second moment, corrected afterwards
  ("raw", torch) or of the bias-corrected one ("corrected", optax.amsgrad);
* ``decay``: "coupled" L2 (λθ added to the gradient: torch SGD/RMSprop/Adam),
  "decoupled-lr" θ ← θ − ηλθ (torch and optax AdamW), "decoupled" θ ← θ − λθ
  (Loshchilov & Hutter 2019, Algorithm 2 with schedule multiplier 1).

References: D. P. Kingma, J. Ba, "Adam", ICLR 2015; S. J. Reddi, S. Kale, S. Kumar,
"On the convergence of Adam and beyond", ICLR 2018; I. Loshchilov, F. Hutter, "Decoupled
weight decay regularization", ICLR 2019; T. Tieleman, G. Hinton, Lecture 6.5 (RMSProp), 2012.
"""
from __future__ import annotations

import sympy as sp

from derive.update_rule import UpdateRule, g

# hyperparameters (protocol names in the comments)
eta = sp.Symbol("eta", positive=True)  # lr
beta1, beta2 = sp.symbols("beta_1 beta_2", positive=True)  # betas
alpha = sp.Symbol("alpha", positive=True)  # RMSprop's alpha
mu = sp.Symbol("mu", positive=True)  # momentum
tau = sp.Symbol("tau", nonnegative=True)  # dampening
eps = sp.Symbol("epsilon", positive=True)  # eps
wd = sp.Symbol("lambda_wd", nonnegative=True)  # weight_decay
# state
theta = sp.Symbol("theta", real=True)
m = sp.Symbol("m", real=True)  # first moment / exp_avg
v = sp.Symbol("v", nonnegative=True)  # second moment / exp_avg_sq / square_avg
vmax = sp.Symbol("v_max", nonnegative=True)  # AMSGrad's running max
a = sp.Symbol("a", real=True)  # centered RMSProp's gradient average
b = sp.Symbol("b", real=True)  # momentum buffer
t = sp.Symbol("t", integer=True, nonnegative=True)  # steps taken so far

EPS_MODES = ("outside", "inside", "hat")
BIAS_CORRECTIONS = ("both", "none", "m", "v")
AMSGRAD_MAX = ("raw", "corrected")
DECAYS = ("coupled", "decoupled-lr", "decoupled")
#: a buffer b⁺ = μb + x ("plain") or the moving average b⁺ = μb + (1 − μ)x ("ema")
BUFFERS = ("plain", "ema")


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def _flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}")


def _decayed(decay: str) -> tuple[sp.Expr, sp.Expr]:
    """(the gradient the method sees, the decay term subtracted from θ separately)."""
    _choice("decay", decay, DECAYS)
    grad = g(theta) + wd * theta if decay == "coupled" else g(theta)
    separate = {"coupled": sp.S.Zero, "decoupled-lr": eta * wd * theta, "decoupled": wd * theta}[decay]
    return grad, separate


def _denominator(second: sp.Expr, eps_mode: str) -> sp.Expr:
    _choice("eps_mode", eps_mode, ("outside", "inside"))
    return sp.sqrt(second) + eps if eps_mode == "outside" else sp.sqrt(second + eps)


def sgd_rule(momentum: bool = True, nesterov: bool = False, decay: str = "coupled",
             undamped_first_step: bool = True) -> UpdateRule:
    """``torch.optim.SGD``: ĝ = g(θ) + λθ (coupled); b⁺ = ĝ at t = 0 (``undamped_first_step``)
    else μb + (1 − τ)ĝ; θ⁺ = θ − η(ĝ + μb⁺ if nesterov else b⁺).  Without momentum θ⁺ = θ − ηĝ.
    ``decay="decoupled-lr"`` subtracts ηλθ from θ instead (SGDW)."""
    for k, val in (("momentum", momentum), ("nesterov", nesterov), ("undamped_first_step", undamped_first_step)):
        _flag(k, val)
    if nesterov and not momentum:
        raise ValueError("nesterov=True needs momentum=True")
    grad, separate = _decayed(decay)
    hyper = {"lr": eta, "weight_decay": wd}
    if not momentum:
        return UpdateRule("sgd", "SGD", (theta,), hyper, (theta - eta * grad - separate,),
                          defaults={"weight_decay": 0.0})
    damped = mu * b + (1 - tau) * grad
    bn = sp.Piecewise((grad, sp.Eq(t, 0)), (damped, True)) if undamped_first_step else damped
    direction = grad + mu * bn if nesterov else bn
    return UpdateRule("sgd", "SGD with momentum" + (" (Nesterov)" if nesterov else ""), (theta, b, t),
                      {**hyper, "momentum": mu, "dampening": tau},
                      (theta - eta * direction - separate, bn, t + 1),
                      state_names=("momentum_buffer", "step"), init=(sp.S.Zero, sp.S.Zero),
                      defaults={"weight_decay": 0.0, "dampening": 0.0})


def rmsprop_rule(centered: bool = False, momentum: bool = False, eps_mode: str = "outside",
                 decay: str = "coupled", buffer: str = "plain") -> UpdateRule:
    """``torch.optim.RMSprop``: ĝ = g(θ) + λθ; v⁺ = αv + (1 − α)ĝ²; centered: a⁺ = αa + (1 − α)ĝ
    and d = v⁺ − a⁺², else d = v⁺; D = √d + ε (or √(d + ε)); θ⁺ = θ − η ĝ/D, or with
    momentum b⁺ = μb + ĝ/D, θ⁺ = θ − ηb⁺ (``buffer="ema"``: b⁺ = μb + (1 − μ)ĝ/D, a mistake
    no library documents)."""
    _flag("centered", centered)
    _flag("momentum", momentum)
    _choice("buffer", buffer, BUFFERS)
    grad, separate = _decayed(decay)
    vn = alpha * v + (1 - alpha) * grad**2
    state, names, new = [theta, v], ["square_avg"], [None, vn]
    second = vn
    if centered:
        an = alpha * a + (1 - alpha) * grad
        second = vn - an**2
        state, names, new = state + [a], names + ["grad_avg"], new + [an]
    direction = grad / _denominator(second, eps_mode)
    hyper = {"lr": eta, "alpha": alpha, "eps": eps, "weight_decay": wd}
    if momentum:
        bn = mu * b + (direction if buffer == "plain" else (1 - mu) * direction)
        state, names, new = state + [b], names + ["momentum_buffer"], new + [bn]
        direction, hyper = bn, {**hyper, "momentum": mu}
    new[0] = theta - eta * direction - separate
    title = "RMSProp" + (" (centered)" if centered else "") + (" with momentum" if momentum else "")
    return UpdateRule("rmsprop", title, tuple(state), hyper, tuple(new), state_names=tuple(names),
                      init=(sp.S.Zero,) * len(names),
                      defaults={k: val for k, val in {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0,
                                                      "momentum": 0.0}.items() if k in hyper})


def adam_rule(amsgrad: bool = False, eps_mode: str = "outside", bias_correction: str = "both",
              amsgrad_max: str = "raw", decay: str = "coupled", first_moment: str = "ema") -> UpdateRule:
    """Adam (Kingma & Ba 2015, Algorithm 1, as ``torch.optim.Adam`` documents it):
    ĝ = g(θ) + λθ, m⁺ = β₁m + (1 − β₁)ĝ, v⁺ = β₂v + (1 − β₂)ĝ², m̂ = m⁺/(1 − β₁ᵗ⁺¹),
    v̂ = v⁺/(1 − β₂ᵗ⁺¹), θ⁺ = θ − η m̂/(√v̂ + ε).  AMSGrad replaces v̂ by a running max;
    ``decay="decoupled-lr"`` is AdamW; ``first_moment="plain"`` (m⁺ = β₁m + ĝ, a heavy-ball buffer
    where Adam has a moving average) is a mistake no library documents.  Options: see the module docstring."""
    _flag("amsgrad", amsgrad)
    _choice("first_moment", first_moment, ("ema", "plain"))
    _choice("eps_mode", eps_mode, EPS_MODES)
    _choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    _choice("amsgrad_max", amsgrad_max, AMSGRAD_MAX)
    grad, separate = _decayed(decay)
    mn = beta1 * m + ((1 - beta1) * grad if first_moment == "ema" else grad)
    vn = beta2 * v + (1 - beta2) * grad**2
    c1 = 1 - beta1 ** (t + 1) if bias_correction in ("both", "m") else sp.S.One
    c2 = 1 - beta2 ** (t + 1) if bias_correction in ("both", "v") else sp.S.One
    state, names, new = [theta, m, v], ["exp_avg", "exp_avg_sq"], [None, mn, vn]
    if amsgrad:
        vmn = sp.Max(vmax, vn) if amsgrad_max == "raw" else sp.Max(vmax, vn / c2)
        vhat = vmn / c2 if amsgrad_max == "raw" else vmn
        state, names, new = state + [vmax], names + ["max_exp_avg_sq"], new + [vmn]
    else:
        vhat = vn / c2
    if eps_mode == "hat":
        step = eta * sp.sqrt(c2) / c1 * mn / (sp.sqrt(c2 * vhat) + eps)
    else:
        step = eta * (mn / c1) / _denominator(vhat, eps_mode)
    new[0] = theta - step - separate
    state, names, new = state + [t], names + ["step"], new + [t + 1]
    is_w = decay != "coupled"
    title = ("AdamW" if is_w else "Adam") + (" (AMSGrad)" if amsgrad else "")
    return UpdateRule("adamw" if is_w else "adam", title, tuple(state),
                      {"lr": eta, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": wd},
                      tuple(new), state_names=tuple(names), init=(sp.S.Zero,) * len(names),
                      defaults={"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                "weight_decay": 1e-2 if is_w else 0.0})


def adamw_rule(amsgrad: bool = False, eps_mode: str = "outside", bias_correction: str = "both",
               amsgrad_max: str = "raw", decay: str = "decoupled-lr", first_moment: str = "ema") -> UpdateRule:
    """AdamW as ``torch.optim.AdamW`` documents it: θ ← θ − ηλθ, then the Adam step with no L2 term."""
    if decay == "coupled":
        raise ValueError("AdamW's decay is decoupled: use decay='decoupled-lr' or 'decoupled' (or adam_rule)")
    return adam_rule(amsgrad, eps_mode, bias_correction, amsgrad_max, decay, first_moment)


#: rule name (as in ``ldyn verify-impl --rule``) -> its factory
RULES = {"sgd": sgd_rule, "rmsprop": rmsprop_rule, "adam": adam_rule, "adamw": adamw_rule}
