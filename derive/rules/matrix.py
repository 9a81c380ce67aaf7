"""Adafactor and Muon as update rules, and their ``ldyn verify-impl`` entries.

Neither is coordinate-wise: Adafactor scales its step by RMS(θ) and clips by RMS(U) (over the
whole tensor), Muon orthogonalises the whole update matrix.  Their rules apply such functions
as opaque SymPy functions (``rms``, ``orth``, ``lr_scale_*``) registered in
:attr:`~derive.update_rule.UpdateRule.functions` with a NumPy implementation on whole arrays,
so ``rule.lambdify()`` runs them on vectors (Adafactor, unfactored) and matrices (Muon), while
the coordinate-wise analyses refuse them with one line
(:class:`~derive.update_rule.NotCoordinatewise`).

* ``adafactor_rule``: ``torch.optim.Adafactor``'s documented algorithm for a 1-D parameter (no
  factoring): v⁺ = (1 − w)v + w g², w = (t+1)^τ, ρ = min(η, 1/√(t+1)), α = max(ε₂, rms(θ))ρ,
  U = g/max(√v⁺, ε₁), θ⁺ = θ(1 − ηλ) − αU/max(1, rms(U)/d).  Options: ``eps1_mode="add"`` (ε₁ added
  to g², Shazeer & Stern 2018 Alg. 5), ``rho_max="paper"`` (ρ capped at 1e-2, Sec. 8),
  ``decay_scale="alpha"``, ``scale_parameter=False``, ``clipping=False``.
* ``muon_rule``: ``torch.optim.Muon`` as implemented: B⁺ = μB + (1 − μ)g, U = (1 − μ)g + μB⁺
  (Nesterov) or B⁺, θ⁺ = θ(1 − ηλ) − η s(shape) orth(U).  Options: ``nesterov``, ``adjust_lr_fn``,
  ``buffer="sum"`` (B⁺ = μB + g, torch's docstring), ``decay="coupled"``, ``orth="svd"`` (exact UVᵀ).

References: N. Shazeer, M. Stern, "Adafactor: adaptive learning rates with sublinear memory cost",
ICML 2018; K. Jordan et al., "Muon: an optimizer for hidden layers in neural networks" (2024 blog
post); J. Liu et al., "Muon is scalable for LLM training", arXiv:2502.16982 (2025); torch.optim
Adafactor and Muon docs.
"""
from __future__ import annotations

import sympy as sp

from derive.rules.zoo import TorchOptimizer, Variant
from derive.update_rule import UpdateRule, g

eta = sp.Symbol("eta", positive=True)  # lr
tau = sp.Symbol("tau", nonpositive=True)  # beta2_decay
eps1, eps2 = sp.symbols("epsilon_1 epsilon_2", nonnegative=True)  # eps
dclip = sp.Symbol("d", positive=True)  # d
wd = sp.Symbol("lambda_wd", nonnegative=True)  # weight_decay
mu = sp.Symbol("mu", nonnegative=True)  # momentum
a, b, c = sp.symbols("a b c", real=True)  # ns_coefficients
eps = sp.Symbol("epsilon", nonnegative=True)  # Muon's eps
k = sp.Symbol("k", integer=True, nonnegative=True)  # ns_steps
theta = sp.Symbol("theta", real=True)
v = sp.Symbol("v", nonnegative=True)  # "variance"
B = sp.Symbol("B", real=True)  # "momentum_buffer"
t = sp.Symbol("t", integer=True, nonnegative=True)  # steps taken so far

rms = sp.Function("rms")  # root mean square over the whole array
orth = sp.Function("orth")  # Newton-Schulz orthogonalisation of the whole matrix
MACHINE_EPS = 2.220446049250313e-16  # float64's: torch's eps1 when eps=(None, eps2)
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


# -- NumPy implementations of the whole-array functions (lazy numpy: derive/ imports it only here) --
def _rms(x):
    import numpy as np

    x = np.asarray(x, dtype=float)
    return np.sqrt(np.mean(x * x))


def _newton_schulz(x, a_, b_, c_, steps, eps_):
    """k steps of X ← aX + (bA + cA²)X, A = XXᵀ, from X = U/max(‖U‖_F, eps); tall inputs transposed."""
    import numpy as np

    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"orth (Muon's Newton-Schulz) takes a 2-D matrix, got shape {x.shape}")
    tall = x.shape[0] > x.shape[1]
    y = x.T if tall else x
    y = y / max(float(np.sqrt(np.sum(y * y))), float(eps_))
    for _ in range(int(round(float(steps)))):
        gram = y @ y.T
        y = a_ * y + (b_ * gram + c_ * (gram @ gram)) @ y
    return y.T if tall else y


def _polar(x, *_):
    """U Vᵀ of the SVD U Σ Vᵀ = x: the orthogonal polar factor the iteration approximates."""
    import numpy as np

    u, _s, vt = np.linalg.svd(np.asarray(x, dtype=float), full_matrices=False)
    return u @ vt


def _scale_original(x):
    """sqrt(max(1, rows/cols)): Jordan's shape factor (torch adjust_lr_fn None or "original")."""
    import numpy as np

    rows, cols = np.shape(x)[:2]
    return np.sqrt(max(1.0, rows / cols))


def _scale_match_rms_adamw(x):
    """0.2 sqrt(max(rows, cols)): Liu et al. 2025 (torch adjust_lr_fn="match_rms_adamw")."""
    import numpy as np

    return 0.2 * np.sqrt(max(np.shape(x)[:2]))


def _scale_none(x):
    return 1.0


_SCALES = {None: ("lr_scale_original", _scale_original), "original": ("lr_scale_original", _scale_original),
           "match_rms_adamw": ("lr_scale_match_rms_adamw", _scale_match_rms_adamw), "none": ("lr_scale_1", _scale_none)}


def _choice(name: str, value, allowed) -> None:
    if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


# -- the rules ------------------------------------------------------------------------------------
def adafactor_rule(eps1_mode: str = "clamp", rho_max: str = "lr", decay_scale: str = "lr",
                   scale_parameter: bool = True, clipping: bool = True) -> UpdateRule:
    """``torch.optim.Adafactor`` on a 1-D parameter (the unfactored second moment "variance"); the
    options select the other conventions (module docstring)."""
    _choice("eps1_mode", eps1_mode, ("clamp", "add"))
    _choice("rho_max", rho_max, ("lr", "paper"))
    _choice("decay_scale", decay_scale, ("lr", "alpha"))
    _choice("scale_parameter", scale_parameter, (True, False))
    _choice("clipping", clipping, (True, False))
    grad = g(theta)
    w = (t + 1) ** tau
    sq = grad**2 + (eps1 if eps1_mode == "add" else 0)
    vn = (1 - w) * v + w * sq
    rho = sp.Min(eta if rho_max == "lr" else sp.Rational(1, 100), 1 / sp.sqrt(t + 1))
    alpha = (sp.Max(eps2, rms(theta)) if scale_parameter else 1) * rho
    u = grad / (sp.Max(sp.sqrt(vn), eps1) if eps1_mode == "clamp" else sp.sqrt(vn))
    step = alpha * u / sp.Max(1, rms(u) / dclip) if clipping else alpha * u
    decay = (eta if decay_scale == "lr" else alpha) * wd * theta
    return UpdateRule("adafactor", "Adafactor (unfactored, 1-D)", (theta, v, t),
                      {"lr": eta, "beta2_decay": tau, "eps1": eps1, "eps2": eps2, "d": dclip, "weight_decay": wd},
                      (theta - decay - step, vn, t + 1), state_names=("variance", "step"), init=(sp.S.Zero, sp.S.Zero),
                      defaults={"lr": 1e-2, "beta2_decay": -0.8, "eps1": MACHINE_EPS, "eps2": 1e-3, "d": 1.0,
                                "weight_decay": 0.0},
                      functions={"rms": _rms})


def muon_rule(nesterov: bool = True, adjust_lr_fn: str | None = None, buffer: str = "ema",
              decay: str = "decoupled-lr", orth_mode: str = "newton-schulz") -> UpdateRule:
    """``torch.optim.Muon`` on a 2-D parameter: state (θ, B), the orthogonalisation ``orth`` and the
    shape factor ``lr_scale_*`` applied to whole matrices (module docstring)."""
    _choice("nesterov", nesterov, (True, False))
    _choice("adjust_lr_fn", adjust_lr_fn, (None, "original", "match_rms_adamw", "none"))
    _choice("buffer", buffer, ("ema", "sum"))
    _choice("decay", decay, ("decoupled-lr", "coupled", "decoupled"))
    _choice("orth_mode", orth_mode, ("newton-schulz", "svd"))
    grad = g(theta) + (wd * theta if decay == "coupled" else 0)
    if buffer == "ema":
        bn = mu * B + (1 - mu) * grad
        u = (1 - mu) * grad + mu * bn if nesterov else bn
    else:
        bn = mu * B + grad
        u = grad + mu * bn if nesterov else bn
    name, scale = _SCALES[adjust_lr_fn]
    o = orth(u, a, b, c, k, eps)
    separate = {"decoupled-lr": eta * wd * theta, "coupled": 0, "decoupled": wd * theta}[decay]
    new_theta = theta - separate - eta * sp.Function(name)(theta) * o
    return UpdateRule("muon", "Muon" + (" (Nesterov)" if nesterov else ""), (theta, B),
                      {"lr": eta, "weight_decay": wd, "momentum": mu, "ns_coefficients1": a, "ns_coefficients2": b,
                       "ns_coefficients3": c, "eps": eps, "ns_steps": k},
                      (new_theta, bn), state_names=("momentum_buffer",), init=(sp.S.Zero,),
                      defaults={"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "ns_coefficients1": NS_COEFFICIENTS[0],
                                "ns_coefficients2": NS_COEFFICIENTS[1], "ns_coefficients3": NS_COEFFICIENTS[2],
                                "eps": 1e-7, "ns_steps": 5.0},
                      functions={"orth": _newton_schulz if orth_mode == "newton-schulz" else _polar, name: scale})


# -- verify-impl entries ----------------------------------------------------------------------------
def _adafactor_check(values: dict) -> str | None:
    e = values.get("eps", (None, 1e-3))
    if not values.get("lr", 1e-2) > 0:
        return f"lr: must be > 0, got {values.get('lr')}"
    if not values.get("beta2_decay", -0.8) <= 0:
        return f"beta2_decay: must be <= 0, got {values.get('beta2_decay')}"
    if not isinstance(e, (tuple, list)) or len(e) != 2 or (e[0] is not None and not e[0] >= 0) or not e[1] >= 0:
        return f"eps: must be a pair (eps1 >= 0 or None, eps2 >= 0), got {e}"
    if not values.get("d", 1.0) >= 1:
        return f"d: must be >= 1, got {values.get('d')}"
    if not values.get("weight_decay", 0.0) >= 0:
        return f"weight_decay: must be >= 0, got {values.get('weight_decay')}"
    return None


def _adafactor_symbolic(values: dict) -> dict[str, float]:
    """torch keywords -> the rule's names; eps=(None, eps2) means eps1 = float64's machine epsilon (torch: the
    param's dtype's)."""
    e1, e2 = values.get("eps", (None, 1e-3))
    out = {k: float(values[k]) for k in ("lr", "beta2_decay", "d", "weight_decay") if k in values}
    return {**out, "eps1": MACHINE_EPS if e1 is None else float(e1), "eps2": float(e2)}


def _with(options: dict, **changes) -> dict:
    return {**options, **changes}


def _adafactor_variants(o: dict) -> list[Variant]:
    out = []
    if o.get("eps1_mode", "clamp") == "clamp":
        out.append(Variant("eps1-added", "eps1 added to g^2 inside the second moment (no max(sqrt(v), eps1))",
                           _with(o, eps1_mode="add"), factory=adafactor_rule,
                           libraries="Shazeer & Stern 2018 (Alg. 4-5); keras.optimizers.Adafactor, "
                                     "mlx.optimizers.Adafactor, transformers' Adafactor (their docs: eps1 added to g^2)"))
    else:
        out.append(Variant("eps1-clamp", "eps1 as a floor of sqrt(v) (torch)", _with(o, eps1_mode="clamp"),
                           factory=adafactor_rule, libraries="torch.optim.Adafactor"))
    if o.get("rho_max", "lr") == "lr":
        out.append(Variant("relative-step-paper", "relative step min(1e-2, 1/sqrt(t)) whatever lr is",
                           _with(o, rho_max="paper"), factory=adafactor_rule,
                           libraries="Shazeer & Stern 2018 Sec. 8 (rho_t = min(1e-2, 1/sqrt(t)))"))
        out.append(Variant("paper", "Shazeer & Stern's algorithm as written: eps1 added to g^2 and the relative step "
                           "capped at 1e-2", _with(o, eps1_mode="add", rho_max="paper"), factory=adafactor_rule,
                           libraries="Shazeer & Stern 2018, Alg. 5 with Sec. 8's relative step"))
    out += [
        Variant("decay-scaled-by-alpha", "weight decay theta (1 - alpha_t lambda), scaled by the relative step "
                "alpha_t instead of lr", _with(o, decay_scale="alpha"), factory=adafactor_rule,
                libraries="transformers' Adafactor (weight_decay times its computed lr)"),
        Variant("no-parameter-scale", "step rho_t, not max(eps2, RMS(theta)) rho_t", _with(o, scale_parameter=False),
                factory=adafactor_rule, libraries="transformers' and mlx's Adafactor(scale_parameter=False)"),
        Variant("no-update-clipping", "update U not divided by max(1, RMS(U)/d)", _with(o, clipping=False),
                factory=adafactor_rule, kind="mistake"),
    ]
    return out


def _muon_check(values: dict) -> str | None:
    if not values.get("lr", 1e-3) > 0:
        return f"lr: must be > 0, got {values.get('lr')}"
    if not 0 <= values.get("momentum", 0.95) < 1:
        return f"momentum: must be in [0, 1), got {values.get('momentum')}"
    if not values.get("weight_decay", 0.1) >= 0:
        return f"weight_decay: must be >= 0, got {values.get('weight_decay')}"
    if not values.get("eps", 1e-7) >= 0:
        return f"eps: must be >= 0, got {values.get('eps')}"
    co = values.get("ns_coefficients", NS_COEFFICIENTS)
    if not isinstance(co, (tuple, list)) or len(co) != 3:
        return f"ns_coefficients: must be a triple (a, b, c), got {co}"
    steps = values.get("ns_steps", 5)
    if isinstance(steps, bool) or int(steps) != steps or not 0 <= steps < 100:
        return f"ns_steps: must be an integer in [0, 100), got {steps}"
    if values.get("adjust_lr_fn") not in (None, "original", "match_rms_adamw"):
        return f"adjust_lr_fn: must be None, 'original' or 'match_rms_adamw', got {values.get('adjust_lr_fn')!r}"
    return None


def _cubic(h: dict) -> dict:
    return {**h, "ns_coefficients1": 1.5, "ns_coefficients2": -0.5, "ns_coefficients3": 0.0}


def _muon_variants(o: dict) -> list[Variant]:
    adj = o.get("adjust_lr_fn")
    out = []
    if adj == "match_rms_adamw":
        out.append(Variant("adjust-lr-original", "lr scaled by sqrt(max(1, rows/cols)) (Jordan's)",
                           _with(o, adjust_lr_fn="original"), factory=muon_rule,
                           libraries="torch.optim.Muon(adjust_lr_fn='original'), Jordan's Muon"))
    else:
        out.append(Variant("adjust-lr-match-rms-adamw", "lr scaled by 0.2 sqrt(max(rows, cols)) (Moonshot's)",
                           _with(o, adjust_lr_fn="match_rms_adamw"), factory=muon_rule,
                           libraries="torch.optim.Muon(adjust_lr_fn='match_rms_adamw'); Liu et al. 2025"))
    out += [
        Variant("no-lr-adjustment", "lr not scaled by the matrix shape", _with(o, adjust_lr_fn="none"),
                factory=muon_rule, kind="mistake"),
        Variant("nesterov" if not o.get("nesterov", True) else "no-nesterov",
                "Nesterov's look-ahead " + ("applied" if not o.get("nesterov", True) else "missing"),
                _with(o, nesterov=not o.get("nesterov", True)), factory=muon_rule,
                libraries=f"torch.optim.Muon(nesterov={not o.get('nesterov', True)})"),
        Variant("buffer-sum" if o.get("buffer", "ema") == "ema" else "buffer-ema",
                "momentum buffer B <- mu B + g (torch's docstring; the same parameters, the buffer 1/(1 - mu) larger)"
                if o.get("buffer", "ema") == "ema" else "momentum buffer B <- mu B + (1 - mu) g (torch's code)",
                _with(o, buffer="sum" if o.get("buffer", "ema") == "ema" else "ema"), factory=muon_rule,
                libraries="torch.optim.Muon's documented formula" if o.get("buffer", "ema") == "ema"
                else "torch.optim.Muon's implementation, Jordan's muon.py"),
        Variant("cubic-newton-schulz", "classic cubic Newton-Schulz coefficients (1.5, -0.5, 0)", dict(o),
                hyper=_cubic, factory=muon_rule,
                libraries="the classic Newton-Schulz iteration for the polar factor (Higham, Functions of Matrices, "
                          "2008, Sec. 8.3)"),
        Variant("svd-orthogonalisation", "exact U V^T from the SVD instead of Newton-Schulz",
                _with(o, orth_mode="svd"), factory=muon_rule,
                libraries="zeropower_via_svd backends of Muon codebases (the limit the iteration approximates)"),
        Variant("decay-coupled", "L2 term lambda theta added to the gradient instead of decoupled decay",
                _with(o, decay="coupled"), factory=muon_rule, kind="mistake"),
        Variant("decay-not-scaled-by-lr", "decoupled decay theta (1 - lambda), not scaled by lr",
                _with(o, decay="decoupled"), factory=muon_rule, kind="mistake"),
    ]
    return out


TORCH = {
    "adafactor": TorchOptimizer(
        "adafactor", "torch.optim.Adafactor",
        defaults={"lr": 1e-2, "beta2_decay": -0.8, "eps": (None, 1e-3), "d": 1.0, "weight_decay": 0.0},
        factory=adafactor_rule,
        options=lambda values, conv: {"eps1_mode": conv.get("eps1_mode", "clamp"),
                                      "rho_max": conv.get("rho_max", "lr"),
                                      "decay_scale": conv.get("decay_scale", "lr")},
        conventions={"eps1_mode": ("clamp", "add"), "rho_max": ("lr", "paper"), "decay_scale": ("lr", "alpha")},
        plans=(("weight_decay", {"weight_decay": 0.1}), ("lr", {"lr": 0.05}), ("eps1", {"eps": (1e-3, 1e-3)}),
               ("d", {"d": 2.0})),
        variants=_adafactor_variants, check=_adafactor_check, symbolic=_adafactor_symbolic,
        follows="torch.optim.Adafactor's documented algorithm for 1-D parameters (Shazeer & Stern 2018 with lr as "
                "the cap of the relative step, eps1 as a floor of sqrt(v), decoupled weight decay)"),
    "muon": TorchOptimizer(
        "muon", "torch.optim.Muon",
        defaults={"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True,
                  "ns_coefficients": NS_COEFFICIENTS, "eps": 1e-7, "ns_steps": 5, "adjust_lr_fn": None},
        factory=muon_rule,
        options=lambda values, conv: {"nesterov": values.get("nesterov", True),
                                      "adjust_lr_fn": values.get("adjust_lr_fn"),
                                      "buffer": conv.get("buffer", "ema"), "decay": conv.get("decay", "decoupled-lr")},
        conventions={"buffer": ("ema", "sum"), "decay": ("decoupled-lr", "coupled")},
        plans=(("no-nesterov", {"nesterov": False}), ("match_rms_adamw", {"adjust_lr_fn": "match_rms_adamw"}),
               ("no-weight-decay", {"weight_decay": 0.0}), ("lr-momentum", {"lr": 0.02, "momentum": 0.8, "weight_decay": 0.3}),
               ("ns", {"ns_coefficients": (3.0, -3.2, 1.2), "ns_steps": 3}), ("eps-active", {"eps": 10.0})),
        variants=_muon_variants, check=_muon_check, param_shape=(4, 3),
        follows="torch.optim.Muon's implementation (Jordan et al. 2024: EMA momentum buffer, Nesterov, 5 quintic "
                "Newton-Schulz steps, run here in float64; torch runs them in bfloat16)"),
}


# -- Adafactor's factored second moment ------------------------------------------------------------
def adafactor_factored() -> "Derivation":
    """Adafactor's factored estimate R C / mean(R): the row and column means of the unfactored EMA, exact when
    that EMA is a rank-1 matrix, not otherwise."""
    from derive.derivation import Derivation

    d = Derivation("adafactor-factored", "Adafactor's factored second moment: exact for a rank-1 second moment",
                   summary=r"For a matrix parameter Adafactor keeps $R$ (row means) and $C$ (column means) of the "
                           r"squared gradient's EMA instead of the EMA $V$ itself, and uses $\hat V = RC/\overline{R}$ "
                           r"($\overline{R}$ the mean of $R$). The EMA is linear, so $R$ and $C$ are exactly the row "
                           r"and column means of $V$; $\hat V = V$ when $V$ is rank 1 ($V_{ij} = r_i c_j$), and differs "
                           r"otherwise (the identity matrix gives all entries $1/2$).")
    d.references += ["N. Shazeer, M. Stern, Adafactor, ICML 2018, Sec. 3-4 (the rank-1 factorisation)",
                     r"`torch.optim.Adafactor` docs (means instead of sums: the same $\hat V$)"]
    w = sp.Symbol("w", positive=True)
    V = sp.Matrix(2, 3, sp.symbols("V_1:7", nonnegative=True))
    G2 = sp.Matrix(2, 3, sp.symbols("h_1:7", nonnegative=True))  # the squared gradient

    def rows(m):
        return sp.Matrix([sum(m.row(i)) / m.cols for i in range(m.rows)])

    def cols(m):
        return sp.Matrix([[sum(m.col(j)) / m.rows for j in range(m.cols)]])

    d.equal((1 - w) * rows(V) + w * rows(G2), rows((1 - w) * V + w * G2),
            "the EMA and the row mean are both linear, so they commute: $R_t$ is the row mean of the unfactored "
            "$V_t$ (and $C_t$ its column mean)",
            display=r"R^{+}")
    r, cc = sp.symbols("r_1:3", positive=True), sp.symbols("c_1:4", positive=True)
    rank1 = sp.Matrix(2, 3, lambda i, j: r[i] * cc[j])
    R, Cm = rows(rank1), cols(rank1)
    mean_r = sum(R) / R.rows
    d.equal(R * Cm / mean_r, rank1, r"for a rank-1 $V_{ij} = r_i c_j$ the row means are $r_i\bar c$ and the column "
            r"means $\bar r c_j$, so $RC/\overline{R} = V$ exactly",
            display=r"\frac{R C}{\overline{R}}")
    eye = sp.eye(2)
    d.equal(rows(eye) * cols(eye) / (sum(rows(eye)) / 2), sp.ones(2, 2) / 2,
            "for $V = I$ (rank 2) every row and column mean is $1/2$, so every entry of the estimate is $1/2$: "
            "not $I$", display=r"\hat V(I)")
    d.result("rank1_exact", rank1, label=r"V_{\mathrm{rank}\,1}")
    return d
