"""Conventions of adaptive methods: the known variants of each rule, and their exact differences.

:func:`variants` lists, for a rule name and the reference's structural options, the rules a
user's implementation is most likely to compute instead (each differs from the reference in
one convention, with the libraries whose documented algorithm it is, or by one common mistake).
:data:`TORCH` registers SGD, RMSprop, Adam and AdamW for ``ldyn verify-impl`` (see
:mod:`derive.rules.zoo`).  ``ldyn verify-impl``
tests them against an implementation's behaviour to name the most likely cause of a
disagreement.  The derivations below give the differences as equations.
"""
from __future__ import annotations

from typing import Callable

import sympy as sp

from derive.rules import adaptive as ad
from derive.rules.zoo import TorchOptimizer, Variant
from derive.derivation import Derivation


#: torch's defaults of the EMA coefficients, used when a transform needs one the caller left out
_EMA_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "alpha": 0.99}


def _complement(*keys: str) -> Callable[[dict], dict]:
    def swap(h: dict) -> dict:
        return {**h, **{k: 1.0 - h.get(k, _EMA_DEFAULTS[k]) for k in keys}}
    return swap


def _swap_betas(h: dict) -> dict:
    return {**h, "beta1": h.get("beta2", _EMA_DEFAULTS["beta2"]), "beta2": h.get("beta1", _EMA_DEFAULTS["beta1"])}


def _with(options: dict, **changes) -> dict:
    return {**options, **changes}


def variants(name: str, options: dict) -> list[Variant]:
    """The known alternatives to ``RULES[name](**options)`` (the reference), one convention
    changed in each."""
    if name not in ad.RULES:
        raise ValueError(f"unknown rule {name!r}; known: {', '.join(ad.RULES)}")
    factory = ad.adam_rule if name in ("adam", "adamw") else ad.RULES[name]
    out = [v if v.factory else Variant(v.label, v.description, v.options, v.hyper, v.libraries, v.tags, v.kind,
                                       factory) for v in _variants(name, dict(options))]
    return out


def _variants(name: str, o: dict) -> list[Variant]:
    out: list[Variant] = []
    if name in ("adam", "adamw"):
        o.setdefault("decay", "coupled" if name == "adam" else "decoupled-lr")
        out += [
            Variant("eps-inside", "ε inside the square root: √(v̂ + ε) instead of √v̂ + ε",
                    _with(o, eps_mode="inside"), libraries="optax eps_root (with eps = 0)"),
            Variant("eps-hat", "ε added to √v before bias correction (Kingma & Ba's ε̂, the efficient "
                    "form before their Section 2.1): effectively ε/√(1 − β₂ᵗ)",
                    _with(o, eps_mode="hat"), libraries="tf.train.AdamOptimizer, tf.keras Adam"),
            Variant("no-bias-correction", "no bias correction of either moment",
                    _with(o, bias_correction="none"),
                    libraries="Reddi et al. 2018's AMSGrad (optax.amsgrad with bias_correction_mu/nu=False)"
                    if o.get("amsgrad") else "", kind="convention" if o.get("amsgrad") else "mistake"),
            Variant("bias-correction-m-only", "bias correction of the first moment only",
                    _with(o, bias_correction="m"), kind="mistake"),
            Variant("bias-correction-v-only", "bias correction of the second moment only",
                    _with(o, bias_correction="v"), kind="mistake"),
            Variant("betas-swapped", "β₁ and β₂ swapped", dict(o), hyper=_swap_betas, kind="mistake"),
            Variant("ema-weights-swapped", "EMA weights swapped: m ← (1 − β₁)m + β₁g (and the same for v)",
                    dict(o), hyper=_complement("beta1", "beta2"), kind="mistake"),
            Variant("plain-first-moment", "a heavy-ball buffer m ← β₁m + g where Adam has the moving average "
                    "m ← β₁m + (1 − β₁)g", _with(o, first_moment="plain"), kind="mistake"),
        ]
        if o.get("amsgrad"):
            other = "corrected" if o.get("amsgrad_max", "raw") == "raw" else "raw"
            where = ("of the bias-corrected moment, max(v̂ₘₐₓ, v̂) (optax.amsgrad)" if other == "corrected"
                     else "of the raw moment, corrected afterwards (torch.optim.Adam(amsgrad=True))")
            out += [Variant("amsgrad-max-" + other, "AMSGrad's running max taken " + where,
                            _with(o, amsgrad_max=other),
                            libraries="optax.amsgrad" if other == "corrected" else "torch.optim.Adam(amsgrad=True)"),
                    Variant("no-amsgrad", "plain Adam: no running max of the second moment",
                            _with(o, amsgrad=False), libraries="torch.optim.Adam(amsgrad=False)")]
        else:
            out.append(Variant("amsgrad", "AMSGrad's running max of the second moment applied",
                               _with(o, amsgrad=True), libraries="torch.optim.Adam(amsgrad=True), optax.amsgrad"))
        decay = o["decay"]
        for other, text, lib in (
                ("coupled", "coupled L2: λθ added to the gradient before the moments", "torch.optim.Adam"),
                ("decoupled-lr", "decoupled weight decay θ ← θ − ηλθ (AdamW)", "torch.optim.AdamW, optax.adamw"),
                ("decoupled", "decoupled weight decay not scaled by the learning rate, θ ← θ − λθ",
                 "Loshchilov & Hutter 2019, Algorithm 2 with η_t = 1")):
            if other != decay:
                out.append(Variant("decay-" + other, text, _with(o, decay=other), libraries=lib))
    elif name == "rmsprop":
        out += [
            Variant("eps-inside" if o.get("eps_mode", "outside") == "outside" else "eps-outside",
                    "ε inside the square root: √(v + ε)" if o.get("eps_mode", "outside") == "outside"
                    else "ε outside the square root: √v + ε",
                    _with(o, eps_mode="inside" if o.get("eps_mode", "outside") == "outside" else "outside"),
                    libraries="optax.rmsprop (eps_in_sqrt=True, its default)"
                    if o.get("eps_mode", "outside") == "outside" else "torch.optim.RMSprop"),
            Variant("centered" if not o.get("centered") else "not-centered",
                    "centered (the gradient's running mean subtracted)" if not o.get("centered")
                    else "not centered", _with(o, centered=not o.get("centered", False)),
                    libraries="torch.optim.RMSprop(centered=True); Graves 2013" if not o.get("centered") else
                    "torch.optim.RMSprop(centered=False)"),
            Variant("decay-decoupled-lr", "decoupled weight decay θ ← θ − ηλθ instead of coupled L2",
                    _with(o, decay="decoupled-lr"), kind="mistake"),
            Variant("ema-weights-swapped", "EMA weights swapped: v ← (1 − α)v + αg²",
                    dict(o), hyper=_complement("alpha"), kind="mistake"),
        ]
        if o.get("momentum"):
            out.append(Variant("ema-momentum-buffer", "EMA momentum buffer: b ← μb + (1 − μ)g/D instead of torch's "
                               "b ← μb + g/D", _with(o, buffer="ema"), kind="mistake"))
    else:  # sgd
        if o.get("momentum", True):
            out += [
                Variant("damped-first-step", "the buffer starts at zero and the first step is damped too: "
                        "b₁ = (1 − τ)g", _with(o, undamped_first_step=False), kind="mistake"),
                Variant("ema-momentum-buffer", "EMA momentum buffer (1−μ) factor: b ← μb + (1 − μ)g from b = 0, "
                        "instead of torch's b ← μb + (1 − τ)g with b₁ = g", _with(o, undamped_first_step=False),
                        hyper=lambda h: {**h, "dampening": h.get("momentum", 0.9)}, kind="mistake"),
                Variant("nesterov" if not o.get("nesterov") else "no-nesterov",
                        "Nesterov's look-ahead applied" if not o.get("nesterov") else "Nesterov's look-ahead missing",
                        _with(o, nesterov=not o.get("nesterov", False)),
                        libraries=f"torch.optim.SGD(nesterov={not o.get('nesterov', False)})"),
            ]
        out.append(Variant("decay-decoupled-lr", "decoupled weight decay θ ← θ − ηλθ (SGDW) instead of coupled L2",
                           _with(o, decay="decoupled-lr"), libraries="SGDW, Loshchilov & Hutter 2019"))
    return out



# -- torch.optim's SGD, RMSprop, Adam and AdamW for ldyn verify-impl -------------------------
def _in_range(values: dict, title: str) -> str | None:
    """Why these torch keyword values are outside their mathematical ranges (None: valid); the message
    starts with the key ("alpha: must be in [0, 1) ...")."""
    for k in ("lr", "eps", "weight_decay", "momentum", "dampening"):
        if k in values and values[k] < 0:
            return f"{k}: must be >= 0 (as in {title}), got {values[k]:g}"
    for k in ("lr", "eps"):  # eps = 0 divides by zero where the second moment is 0 (torch accepts it)
        if k in values and values[k] == 0:
            return f"{k}: must be > 0, got 0"
    for k, what in (("momentum", "the momentum coefficient"), ("alpha", "the EMA coefficient of the squared "
                                                                        "gradient")):
        if k in values and not 0 <= values[k] < 1:
            return f"{k}: must be in [0, 1) ({what}), got {values[k]:g}"
    if "dampening" in values and not 0 <= values["dampening"] <= 1:
        return f"dampening: must be in [0, 1], got {values['dampening']:g}"
    if any(not 0 <= b < 1 for b in values.get("betas", ())):
        return f"betas: each must be in [0, 1), got {tuple(values['betas'])}"
    if values.get("nesterov") and (values["momentum"] <= 0 or values["dampening"] != 0):
        return "nesterov=true needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)"
    return None


def _sgd_same_map(values: dict) -> dict:
    """SGD with momentum 0: Nesterov's g + 0·b is plain SGD, so nesterov=False is the same map."""
    return {**values, "nesterov": False} if values.get("nesterov") and values["momentum"] == 0 else values


_ADAM_CONVENTIONS = {"eps_mode": ad.EPS_MODES, "bias_correction": ad.BIAS_CORRECTIONS, "amsgrad_max": ad.AMSGRAD_MAX}

#: torch.optim's four, with their keywords and defaults as torch spells them
TORCH = {
    "sgd": TorchOptimizer(
        "sgd", "torch.optim.SGD", {"lr": 1e-3, "momentum": 0, "dampening": 0, "nesterov": False, "weight_decay": 0},
        ad.sgd_rule, lambda v, c: {"momentum": v["momentum"] > 0, "nesterov": v["nesterov"], **c},
        conventions={"decay": ad.DECAYS},
        plans=(("weight_decay", {"weight_decay": 0.01}), ("momentum", {"momentum": 0.9}),
               ("dampening", {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
               ("nesterov", {"momentum": 0.9, "nesterov": True})),
        variants=lambda o: variants("sgd", o), check=lambda v: _in_range(v, "torch.optim.SGD"),
        same_map=_sgd_same_map, follows="torch.optim.SGD (Sutskever et al. 2013's momentum, PyTorch form)"),
    "rmsprop": TorchOptimizer(
        "rmsprop", "torch.optim.RMSprop",
        {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0, "centered": False},
        ad.rmsprop_rule, lambda v, c: {"centered": v["centered"], "momentum": v["momentum"] > 0, **c},
        conventions={"eps_mode": ("outside", "inside"), "decay": ad.DECAYS},
        plans=(("weight_decay", {"weight_decay": 0.01}), ("momentum", {"momentum": 0.9}),
               ("centered", {"centered": True})),
        variants=lambda o: variants("rmsprop", o), check=lambda v: _in_range(v, "torch.optim.RMSprop"),
        follows="torch.optim.RMSprop (Tieleman & Hinton 2012; centered: Graves 2013)"),
    "adam": TorchOptimizer(
        "adam", "torch.optim.Adam", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                                     "amsgrad": False},
        ad.adam_rule, lambda v, c: {"amsgrad": v["amsgrad"], **c},
        conventions={**_ADAM_CONVENTIONS, "decay": ad.DECAYS},
        plans=(("weight_decay", {"weight_decay": 0.01}), ("amsgrad", {"amsgrad": True})),
        variants=lambda o: variants("adam", o), check=lambda v: _in_range(v, "torch.optim.Adam"),
        follows="torch.optim.Adam (Kingma & Ba 2015, Algorithm 1; AMSGrad: Reddi et al. 2018)"),
    "adamw": TorchOptimizer(
        "adamw", "torch.optim.AdamW", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2,
                                       "amsgrad": False},
        ad.adam_rule, lambda v, c: {"amsgrad": v["amsgrad"], **c},
        conventions={**_ADAM_CONVENTIONS, "decay": ("decoupled-lr", "decoupled")},
        plans=(("weight_decay", {"weight_decay": 0.01}), ("amsgrad", {"amsgrad": True})),
        variants=lambda o: variants("adamw", o), check=lambda v: _in_range(v, "torch.optim.AdamW"),
        follows="torch.optim.AdamW (Loshchilov & Hutter 2019, decay scaled by lr)"),
}


# -- the differences as derivations ------------------------------------------------------
def _adam_first_step(**options) -> sp.Expr:
    """θ⁺ − θ of ``adam_rule(**options)`` at its first step (t = 0, zero moments)."""
    rule = ad.adam_rule(**options)
    zero = {s: 0 for s in rule.state[1:]}
    return rule.update[0].subs(zero) - ad.theta


def eps_placement() -> Derivation:
    """ε outside √v̂ (torch), inside it (optax eps_root, optax.rmsprop), or as Kingma & Ba's ε̂."""
    eta, eps, b2, t = ad.eta, ad.eps, ad.beta2, ad.t
    mh = sp.Symbol(r"\hat m", real=True)
    vh = sp.Symbol(r"\hat v", nonnegative=True)
    s = sp.Symbol("s", real=True)  # s = √v̂
    k = sp.Symbol("k", positive=True)  # β₂ = 1/(1 + k) ∈ (0, 1)
    d = Derivation("eps-placement", r"Where $\epsilon$ goes: outside the square root, inside it, or as $\hat\epsilon$",
                   summary=r"The three conventions for $\epsilon$ in Adam's (and RMSProp's) denominator, and their "
                           r"exact differences. Inside the root caps the largest step at $\eta|\hat m|/\sqrt{\epsilon}$ "
                           r"instead of $\eta|\hat m|/\epsilon$; $\hat\epsilon$ is $\epsilon$ outside the root inflated "
                           r"by $1/\sqrt{1 - \beta_2^t}$.")
    d.references.append("D. P. Kingma, J. Ba, Adam, ICLR 2015 (Algorithm 1 and the efficient form before Section 2.1)")
    d.references.append("`torch.optim.Adam` and `RMSprop` docs (outside); `optax.scale_by_adam` `eps_root` and "
                        r"`optax.rmsprop` `eps_in_sqrt=True` (inside); `tf.train.AdamOptimizer` ($\hat\epsilon$)")
    out = -eta * mh / (sp.sqrt(vh) + eps)
    inside = -eta * mh / sp.sqrt(vh + eps)
    d.given(sp.Symbol(r"\Delta_{\mathrm{out}}"), out, r"torch: the step with $\epsilon$ outside the root")
    d.given(sp.Symbol(r"\Delta_{\mathrm{in}}"), inside,
            r"$\epsilon$ inside the root (optax's `eps_root`, `optax.rmsprop` with `eps_in_sqrt=True`)")
    d.equal(out - inside, eta * mh * (sp.sqrt(vh) + eps - sp.sqrt(vh + eps)) / ((sp.sqrt(vh) + eps) * sp.sqrt(vh + eps)),
            r"their exact difference, over the common denominator $(\sqrt{\hat v} + \epsilon)\sqrt{\hat v + \epsilon}$",
            display=r"\Delta_{\mathrm{out}} - \Delta_{\mathrm{in}}")
    d.equal((sp.sqrt(vh) + eps)**2 - (vh + eps), eps * (2 * sp.sqrt(vh) + eps - 1),
            "both denominators are positive, so compare their squares", display=r"(\sqrt{\hat v} + \epsilon)^2 - (\hat v + \epsilon)")
    d.equivalent(2 * s + eps - 1 >= 0, s, sp.Interval(sp.Rational(1, 2) - eps / 2, sp.oo),
                 r"with $s = \sqrt{\hat v}$ the difference of the squares is $\epsilon(2s + \epsilon - 1)$: the "
                 r"outside denominator is the larger one iff $s \ge (1 - \epsilon)/2$; for gradients below about "
                 r"$1/2$, $\epsilon$ inside the root gives the smaller step")
    d.equal((inside / out).subs(vh, 0), 1 / sp.sqrt(eps) * eps,
            r"at $\hat v = 0$ the denominators are $\epsilon$ and $\sqrt{\epsilon}$: the steps differ by the factor "
            r"$\sqrt{\epsilon}$, $10^{-4}$ for $\epsilon = 10^{-8}$",
            display=r"\frac{\Delta_{\mathrm{in}}}{\Delta_{\mathrm{out}}}\Big|_{\hat v = 0}")
    hat = -eta * mh / (sp.sqrt(vh) + eps / sp.sqrt(1 - b2**(t + 1)))
    d.given(sp.Symbol(r"\Delta_{\hat\epsilon}"), hat,
            r"Kingma & Ba's efficient form with $\hat\epsilon = \epsilon$ (proved equal to this in the derivation "
            "`adam`)")
    d.equal(out - hat, (eta * mh * (eps - eps / sp.sqrt(1 - b2**(t + 1)))
                        / ((sp.sqrt(vh) + eps) * (sp.sqrt(vh) + eps / sp.sqrt(1 - b2**(t + 1))))),
            "their exact difference, over the common denominator", display=r"\Delta_{\mathrm{out}} - \Delta_{\hat\epsilon}")
    d.equal(sp.limit(1 / sp.sqrt(1 - (1 + k)**-(t + 1)), t, sp.oo), 1,
            r"$\beta_2^{t+1} \to 0$ (write $\beta_2 = 1/(1 + k)$): the effective $\epsilon/\sqrt{1 - \beta_2^{t+1}}$ "
            r"tends to $\epsilon$, so the difference vanishes late in training",
            display=r"\lim_{t\to\infty}\frac{1}{\sqrt{1 - \beta_2^{t+1}}}")
    d.equal((1 / sp.sqrt(1 - b2)).subs(b2, sp.Rational(999, 1000)), sp.sqrt(1000),
            r"but at the first step with $\beta_2 = 0.999$ the effective $\epsilon$ is "
            r"$1/\sqrt{0.001} = \sqrt{1000} \approx 31.6$ times larger",
            display=r"\frac{1}{\sqrt{1-\beta_2}}\Big|_{\beta_2 = 0.999}")
    d.result("difference_inside", out - inside, label=r"\Delta_{\mathrm{out}} - \Delta_{\mathrm{in}}")
    d.result("difference_hat", out - hat, label=r"\Delta_{\mathrm{out}} - \Delta_{\hat\epsilon}")
    return d


def weight_decay_coupling() -> Derivation:
    """Coupled L2 vs decoupled weight decay: identical for plain SGD, different with momentum and under Adam."""
    eta, wd, mu, th, b = ad.eta, ad.wd, ad.mu, ad.theta, ad.b
    gg = sp.Symbol("g", real=True)
    d = Derivation("weight-decay-coupling", "Coupled L2 vs decoupled weight decay",
                   summary=r"Adding $\lambda\theta$ to the gradient (coupled L2) and shrinking the weights by "
                           r"$\eta\lambda\theta$ (decoupled) are the same map for plain SGD; with momentum they differ "
                           r"from the second step on; under Adam the coupled term is divided by "
                           r"$\sqrt{\hat v} + \epsilon$, so as $\epsilon \to 0$ it has no effect at all on the first "
                           r"step when $g$ and $\lambda\theta$ have the same sign (Loshchilov & Hutter 2019).")
    d.references.append("I. Loshchilov, F. Hutter, Decoupled weight decay regularization, ICLR 2019")
    sub = {sp.Function("g")(th): gg}
    plain_c = ad.sgd_rule(momentum=False).update[0].subs(sub)
    plain_d = ad.sgd_rule(momentum=False, decay="decoupled-lr").update[0].subs(sub)
    d.given(sp.Symbol(r"\theta^{+}_{\mathrm{L2}}"), plain_c, "SGD with coupled L2 (`torch.optim.SGD`'s `weight_decay`)")
    d.given(sp.Symbol(r"\theta^{+}_{\mathrm{dec}}"), plain_d, "SGD with decoupled decay (SGDW)")
    d.equal(plain_c - plain_d, 0, r"plain SGD: $\theta - \eta(g + \lambda\theta)$ and "
            r"$\theta - \eta\lambda\theta - \eta g$ are the same map", display=r"\theta^{+}_{\mathrm{L2}} - \theta^{+}_{\mathrm{dec}}")
    mc = ad.sgd_rule(undamped_first_step=False).as_matrix().subs(sub).subs(ad.tau, 0)
    md = ad.sgd_rule(undamped_first_step=False, decay="decoupled-lr").as_matrix().subs(sub).subs(ad.tau, 0)
    d.equal(mc - md, sp.Matrix([0, wd * th, 0]),
            r"with momentum (dampening 0), one step from the same state: the coupled buffer holds the "
            r"$\lambda\theta$ that the decoupled rule subtracts from $\theta$ directly, so $\theta^{+}$ agrees and "
            r"the buffers differ by $\lambda\theta$", display=r"(\theta^{+}, b^{+}, t^{+})_{\mathrm{L2}} - (\cdot)_{\mathrm{dec}}")
    th1 = plain_c
    two_c = mc[0].subs({th: th1, b: mc[1].subs(b, 0)}, simultaneous=True)
    two_d = md[0].subs({th: th1, b: md[1].subs(b, 0)}, simultaneous=True)
    d.equal(sp.expand(two_c - two_d), -eta * mu * wd * th,
            r"so after the second step (same gradient $g$ at the common $\theta_1$, buffer from zero) the extra "
            r"$\lambda\theta_0$ in the coupled buffer, carried with weight $\mu$, moves $\theta$ by "
            r"$-\eta\mu\lambda\theta_0$", display=r"\theta_{2,\mathrm{L2}} - \theta_{2,\mathrm{dec}}")
    gp, thp = sp.Symbol("g_1", positive=True), sp.Symbol("theta_0", positive=True)  # not g, theta: those are real
    ac = _adam_first_step().subs({sp.Function("g")(th): gp}).subs(th, thp)
    adw = _adam_first_step(decay="decoupled-lr").subs({sp.Function("g")(th): gp}).subs(th, thp)
    d.equal(ac, -eta * (gp + wd * thp) / (sp.Abs(gp + wd * thp) + ad.eps),
            r"Adam's first step from $\theta_0$ with gradient $g_1$ and coupled L2 ($g_1, \theta_0 > 0$) has "
            r"$\hat m = g_1 + \lambda\theta_0$ and $\hat v = \hat m^2$: the decay is inside the normalized ratio",
            display=r"\Delta\theta_{\mathrm{L2}}")
    d.equal(adw, -eta * gp / (gp + ad.eps) - eta * wd * thp, r"AdamW's first step: the ratio sees $g_1$ only and "
            r"the decay $\eta\lambda\theta_0$ is subtracted outside it",
            display=r"\Delta\theta_{\mathrm{dec}}")
    d.equal(sp.limit(ac, ad.eps, 0, "+"), -eta, r"as $\epsilon \to 0$ the ratio tends to the sign of "
            r"$g_1 + \lambda\theta_0 > 0$: the coupled step is $-\eta$ whatever $\lambda$ is",
            display=r"\lim_{\epsilon\to0^+}\Delta\theta_{\mathrm{L2}}")
    d.equal(sp.limit(adw - ac, ad.eps, 0, "+"), -eta * wd * thp,
            r"while the decoupled step tends to $-\eta - \eta\lambda\theta_0$: it shrinks $\theta$ by exactly "
            r"$\eta\lambda\theta_0$ more",
            display=r"\lim_{\epsilon\to0^+}(\Delta\theta_{\mathrm{dec}} - \Delta\theta_{\mathrm{L2}})")
    d.result("sgd_difference", sp.S.Zero, label=r"\theta^{+}_{\mathrm{L2}} - \theta^{+}_{\mathrm{dec}}")
    return d


def amsgrad_max() -> Derivation:
    """AMSGrad's max before (torch) or after (optax) bias correction, on a gradient that vanishes."""
    b2 = ad.beta2
    k = sp.Symbol("k", positive=True)  # beta_2 = k/(1 + k) ranges over (0, 1)
    g1 = sp.Symbol("g_1", positive=True)
    d = Derivation("amsgrad-max", "AMSGrad: the running max before or after bias correction",
                   summary="`torch.optim.Adam(amsgrad=True)` keeps the max of the raw second moment and corrects it "
                           "with the current factor; `optax.amsgrad` keeps the max of the corrected moment. After a "
                           r"gradient $g_1$ followed by a zero gradient their denominators differ by the factor "
                           r"$\sqrt{1 + \beta_2}$, about 1.41.")
    d.references.append("S. J. Reddi, S. Kale, S. Kumar, On the convergence of Adam and beyond, ICLR 2018")
    d.references.append("`torch.optim.Adam` (max of the raw moment); `optax.scale_by_amsgrad` (max of the corrected "
                        "one)")
    th, m, v, vm, t = ad.theta, ad.m, ad.v, ad.vmax, ad.t
    gfun = sp.Function("g")
    vhat = {}
    for mode in ("raw", "corrected"):
        rule = ad.adam_rule(amsgrad=True, amsgrad_max=mode)
        upd = [e.subs({ad.wd: 0, b2: k / (1 + k)}) for e in rule.update]
        s1 = [e.subs(gfun(th), g1).subs({m: 0, v: 0, vm: 0, t: 0}) for e in upd]
        s2 = [e.subs(gfun(th), 0).subs(dict(zip(rule.state[1:], s1[1:])), simultaneous=True) for e in upd]
        vhat[mode] = s2[3] / (1 - (k / (1 + k))**2) if mode == "raw" else s2[3]
    d.given(sp.Symbol("g"), sp.Symbol("(g_1, 0)"), "two steps: a gradient $g_1 > 0$, then a zero gradient; "
            r"write $\beta_2 = k/(1 + k)$ with $k > 0$")
    d.equal(vhat["raw"], g1**2 * (1 + k) / (1 + 2 * k),
            r"torch: $\max(v_1, v_2) = v_1 = (1 - \beta_2)g_1^2$, divided by $1 - \beta_2^2$, is "
            r"$g_1^2/(1 + \beta_2)$", display=r"\hat v^{\max}_{2,\mathrm{torch}}")
    d.equal(vhat["corrected"], g1**2, r"optax: $\max(v_1/(1 - \beta_2), v_2/(1 - \beta_2^2)) = "
            r"\max(g_1^2, \beta_2 g_1^2/(1 + \beta_2)) = g_1^2$, since $\beta_2/(1 + \beta_2) < 1$",
            display=r"\hat v^{\max}_{2,\mathrm{optax}}")
    d.equal(sp.sqrt(sp.simplify(vhat["corrected"] / vhat["raw"])).subs(k, b2 / (1 - b2)), sp.sqrt(1 + b2),
            r"the ratio of the denominators ($\epsilon = 0$) is the root of $g_1^2$ over $g_1^2/(1 + \beta_2)$: "
            r"optax's step is smaller by $\sqrt{1 + \beta_2}$",
            display=r"\sqrt{\hat v_{\mathrm{optax}} / \hat v_{\mathrm{torch}}}")
    d.result("ratio", sp.sqrt(1 + b2), label=r"\sqrt{\hat v_{\mathrm{optax}} / \hat v_{\mathrm{torch}}}")
    return d


#: values (beyond torch's defaults) at which the conventions page lists an optimizer's variants, so that
#: its branches show; an optimizer not named here is listed at its defaults
_PAGE_VALUES = {"sgd": [({"momentum": 0.9}, "momentum=0.9")], "rmsprop": [({"momentum": 0.9}, "momentum=0.9")],
                "adam": [({}, ""), ({"amsgrad": True}, "amsgrad=True")]}


def conventions_markdown() -> str:
    """The notes' conventions page: the proved differences and the known variants with the
    libraries whose documented algorithm each one is (a generated page, never edited by hand)."""
    from derive.catalogue import CATALOGUE

    lines = ["# Conventions of the optimizers users meet", "",
             "Generated by `ldyn notes` from `derive/rules/conventions.py`; do not edit by hand.", "",
             "The reference for every rule is the algorithm `torch.optim` documents. Each difference below is a "
             "derivation whose steps SymPy checks; `ldyn verify-impl` runs the variants in the second table against "
             "a user's implementation to name the most likely convention it follows.", "",
             "## The differences, as derived", ""]
    for name, what in [("eps-placement", "epsilon outside the root, inside it, or as Kingma & Ba's epsilon-hat"),
                       ("weight-decay-coupling", "coupled L2 vs decoupled weight decay, for SGD, momentum and Adam"),
                       ("amsgrad-max", "AMSGrad's running max before (torch) or after (optax) bias correction"),
                       ("adam", "Adam's three equivalent forms (Algorithm 1, torch's rearrangement, the "
                                "epsilon-hat form)"),
                       ("rmsprop", "RMSProp's learning rate inside or outside the momentum buffer (the same map), "
                                   "and centering"),
                       ("adam-bias-correction", "why bias correction divides by 1 - beta^t"),
                       ("adagrad-first-step", "Adagrad: torch's zero accumulator and eps outside vs optax's 0.1 and "
                                              "eps inside"),
                       ("adadelta-learning-rate", "Adadelta: Zeiler's step without a learning rate vs torch's lr"),
                       ("nadam-momentum-schedule", "NAdam: torch's and Keras' momentum schedule vs optax's constant "
                                                   "beta_1"),
                       ("radam-rectification-threshold", "RAdam: rectifying from rho_t > 4 (the paper) or > 5 (torch, "
                                                         "optax)"),
                       ("adamax-eps-placement", "Adamax: epsilon inside the max (torch, optax) or in the denominator "
                                                "(tf.keras)"),
                       ("lion-weight-decay", "Lion: what lr * weight_decay does, and porting it from AdamW"),
                       ("muon-momentum-scale", "Muon: torch's moving-average buffer vs its docstring's sum"),
                       ("newton-schulz", "Muon's Newton-Schulz quintic on singular values"),
                       ("adafactor-factored", "Adafactor's factored second moment")]:
        lines.append(f"- [{CATALOGUE[name][0]}]({name}.md): {what}.")
    lines += ["", "Key results:", ""]
    mh = sp.Symbol(r"\hat m", real=True)
    vh = sp.Symbol(r"\hat v", nonnegative=True)
    key = [
        (r"\Delta_{\mathrm{out}} - \Delta_{\mathrm{in}}",
         ad.eta * mh * (sp.sqrt(vh) + ad.eps - sp.sqrt(vh + ad.eps)) / ((sp.sqrt(vh) + ad.eps) * sp.sqrt(vh + ad.eps)),
         "epsilon outside minus inside the root"),
        (r"\epsilon_{\mathrm{eff}}", ad.eps / sp.sqrt(1 - ad.beta2**sp.Symbol("t")),
         "the epsilon Algorithm 1 uses when a library's epsilon is epsilon-hat"),
        (r"\lim_{\epsilon\to0^+}(\Delta\theta_{\mathrm{dec}} - \Delta\theta_{\mathrm{L2}})_{t=1}", -ad.eta * ad.wd * ad.theta,
         "AdamW vs Adam with L2, first step, g and theta > 0"),
        (r"\sqrt{\hat v_{\mathrm{optax}} / \hat v_{\mathrm{torch}}}", sp.sqrt(1 + ad.beta2),
         "AMSGrad after a gradient and then a zero gradient"),
    ]
    for lhs, rhs, what in key:
        lines += [f"{what}:", "", "```math", f"{lhs} = {sp.latex(rhs)}", "```", ""]
    from derive.rules.zoo import optimizers

    zoo = optimizers()
    lines += ["## Every optimizer and the algorithm it follows", "",
              "`ldyn verify-impl --rule NAME` takes these names, with torch.optim's keywords and defaults.", "",
              "| name | reference | follows |", "|---|---|---|"]
    lines += [f"| `{name}` | {spec.title} | {spec.follows} |" for name, spec in zoo.items()]
    lines += ["", "## Known variants and who documents them", "",
              "A *convention* is another library's documented algorithm; a *mistake* is a change no library documents "
              "that `verify-impl` can still name.", "",
              "| optimizer (values) | variant (`verify-impl` label) | kind | what changes | documented by |",
              "|---|---|---|---|---|"]
    for name, spec in zoo.items():
        conv = {k: v[0] for k, v in spec.conventions.items()}
        for changes, shown in _PAGE_VALUES.get(name, [({}, "")]):
            options = spec.options({**spec.defaults, **changes}, conv)
            where = spec.title + (f", {shown}" if shown else "")
            for v in sorted(spec.variants(options), key=lambda v: v.kind != "convention"):
                lines.append(f"| {where} | `{v.label}` | {v.kind} | {v.description} | {v.libraries or '—'} |")
    return "\n".join(lines) + "\n"
