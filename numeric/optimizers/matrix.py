"""Optimizers that act on whole tensors, not coordinate by coordinate: Adafactor and Muon.

- ``adafactor(...)``: ``torch.optim.Adafactor`` (Shazeer & Stern 2018, with torch's documented
  departures): a second moment factored over the last two dimensions of a tensor with >= 2 dims,
  a relative step size scaled by the RMS of the parameter, update clipping, decoupled decay.
- ``muon(...)``: ``torch.optim.Muon`` (Jordan et al. 2024): momentum, then the Newton-Schulz
  orthogonalisation of the (Nesterov) update of a 2-D matrix, with a shape-dependent lr.
- ``newton_schulz(X, ...)``: the quintic Newton-Schulz iteration Muon applies, in float64.

Both follow the protocol of :mod:`numeric.optimizers.protocol` (one array or a list of arrays,
one state dict per array, torch's state names) with torch.optim's hyperparameter names and
defaults (maximize=False).  Torch runs Muon's iteration in bfloat16; this module runs it in
float64 (the difference is measured in tests/test_zoo_matrix.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numeric.optimizers.protocol import ArrayOptimizer, State, state_array, step_count
from numeric.validation import _int, _real

__all__ = ["Adafactor", "Muon", "adafactor", "muon", "newton_schulz", "muon_lr_scale",
           "NS_COEFFICIENTS", "CUBIC_NS_COEFFICIENTS"]

#: Jordan's quintic coefficients (torch.optim.Muon's default); the classic cubic Newton-Schulz
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
CUBIC_NS_COEFFICIENTS = (1.5, -0.5, 0.0)


def _choice(name: str, value, options: tuple) -> object:
    if value not in options or isinstance(value, bool):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def _flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """start + weight (end - start), evaluated from the nearer end (exact at weight 0 and 1), as torch.lerp."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def _rms(x: np.ndarray) -> float:
    """Root mean square over every entry: ||x||_2 / sqrt(numel)."""
    return float(np.linalg.norm(x.ravel()) / math.sqrt(x.size))


# --------------------------------------------------------------------------- #
# Adafactor.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Adafactor(ArrayOptimizer):
    """``torch.optim.Adafactor`` (maximize=False), following its documented algorithm.

    With tau = beta2_decay, (eps1, eps2) = eps, lambda = weight_decay, at step t = 1, 2, ...::

        w = t^tau                      (= 1 - beta2_t, so the first step has v = g^2: no bias)
        rho = min(lr, 1/sqrt(t))       (rho_max="paper": min(1e-2, 1/sqrt(t)), Shazeer & Stern Sec. 8)
        alpha = max(eps2, RMS(theta)) rho          (theta before the decay)
        theta <- theta (1 - lr lambda)             (decay_scale="alpha": theta (1 - alpha lambda))
        1-D (or 0-d):  v <- (1 - w) v + w g^2                                 ("variance")
        >= 2-D:        R <- (1 - w) R + w mean_{last}(g^2)                    ("row_var", [..., m, 1])
                       C <- (1 - w) C + w mean_{-2}(g^2)                      ("col_var", [..., 1, n])
                       v = R C / max(mean_{-2}(R), eps1)     (rank-1 estimate, per leading index)
        U = g / max(sqrt(v), eps1)
        theta <- theta - alpha U / max(1, RMS(U) / d)

    RMS is over the whole tensor.  ``eps1=None`` means the machine epsilon of float64.
    ``eps1_mode="add"`` is the paper's (and optax's, Keras', Hugging Face's) placement: eps1 is
    added to g^2 inside the moments (R, C, v) and neither max(., eps1) is taken.
    State: ``{"step": t, "variance"}`` for 0-d/1-D, ``{"step": t, "row_var", "col_var"}`` otherwise.
    """

    lr: float = 1e-2
    beta2_decay: float = -0.8
    eps: tuple = (None, 1e-3)
    d: float = 1.0
    weight_decay: float = 0.0
    eps1_mode: str = "clamp"
    rho_max: str = "lr"
    decay_scale: str = "lr"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        b = _real("beta2_decay", self.beta2_decay)
        if b > 0:
            raise ValueError(f"beta2_decay must be a finite number <= 0, got {self.beta2_decay!r}")
        set_("beta2_decay", b)
        if not isinstance(self.eps, (tuple, list)) or len(self.eps) != 2:
            raise ValueError(f"eps must be a pair (eps1 or None, eps2) with eps1, eps2 >= 0, got {self.eps!r}")
        e1 = None if self.eps[0] is None else _real("eps[0]", self.eps[0], 0.0, strict=False)
        set_("eps", (e1, _real("eps[1]", self.eps[1], 0.0, strict=False)))
        set_("d", _real("d", self.d, 1.0, strict=False))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        set_("eps1_mode", _choice("eps1_mode", self.eps1_mode, ("clamp", "add")))
        set_("rho_max", _choice("rho_max", self.rho_max, ("lr", "paper")))
        set_("decay_scale", _choice("decay_scale", self.decay_scale, ("lr", "alpha")))

    @property
    def eps1(self) -> float:
        """eps1, with None resolved to the machine epsilon of float64 (torch: of the param's dtype)."""
        return float(np.finfo(np.float64).eps) if self.eps[0] is None else self.eps[0]

    def _init(self, p: np.ndarray) -> State:
        if p.ndim < 2:
            return {"step": 0, "variance": np.zeros_like(p)}
        return {"step": 0, "row_var": np.zeros(p.shape[:-1] + (1,)),
                "col_var": np.zeros(p.shape[:-2] + (1, p.shape[-1]))}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        w = float(t) ** self.beta2_decay
        rho = min(self.lr if self.rho_max == "lr" else 1e-2, 1.0 / math.sqrt(t))
        alpha = max(self.eps[1], _rms(p)) * rho
        decay = self.lr if self.decay_scale == "lr" else alpha
        theta = p * (1.0 - decay * self.weight_decay)
        e1, add = self.eps1, self.eps1_mode == "add"
        g2 = g * g + (e1 if add else 0.0)
        new: State = {"step": t}
        if p.ndim < 2:
            v = state_array(state, "variance", p.shape, nonnegative=True)
            new["variance"] = v = _lerp(v, g2, w)
        else:
            r = state_array(state, "row_var", p.shape[:-1] + (1,), nonnegative=True)
            c = state_array(state, "col_var", p.shape[:-2] + (1, p.shape[-1]), nonnegative=True)
            new["row_var"] = r = _lerp(r, g2.mean(axis=-1, keepdims=True), w)
            new["col_var"] = c = _lerp(c, g2.mean(axis=-2, keepdims=True), w)
            norm = r.mean(axis=-2, keepdims=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                v = r * c / (norm if add else np.maximum(norm, e1))
        with np.errstate(divide="ignore", invalid="ignore"):
            u = g / (np.sqrt(v) if add else np.maximum(np.sqrt(v), e1))
            clip = max(1.0, _rms(u) / self.d)
        return theta - (alpha / clip) * u, new


def adafactor(
    lr: float = 1e-2,
    beta2_decay: float = -0.8,
    eps: tuple = (None, 1e-3),
    d: float = 1.0,
    weight_decay: float = 0.0,
    *,
    eps1_mode: str = "clamp",
    rho_max: str = "lr",
    decay_scale: str = "lr",
) -> Adafactor:
    """``torch.optim.Adafactor``: v an EMA of g^2 with weight t^beta2_decay on the new term
    (factored as R C / mean(R) over the last two dims of a tensor with >= 2 dims);
    theta <- theta (1 - lr wd) - max(eps2, RMS(theta)) min(lr, 1/sqrt(t)) U / max(1, RMS(U)/d),
    U = g / max(sqrt(v), eps1).

    Options: ``eps1_mode="add"`` (eps1 added to g^2, Shazeer & Stern Alg. 4/5, optax, Keras),
    ``rho_max="paper"`` (min(1e-2, 1/sqrt(t)) whatever lr is), ``decay_scale="alpha"`` (decay
    theta (1 - alpha_t wd), Hugging Face transformers).  See ``Adafactor``.
    """
    return Adafactor(lr, beta2_decay, eps, d, weight_decay, eps1_mode, rho_max, decay_scale)


# --------------------------------------------------------------------------- #
# Muon.
# --------------------------------------------------------------------------- #
def newton_schulz(x, ns_coefficients=NS_COEFFICIENTS, ns_steps: int = 5, eps: float = 1e-7) -> np.ndarray:
    """``ns_steps`` iterations X <- a X + (b A + c A^2) X, A = X X^T, from X = G / max(||G||_F, eps).

    On singular values each iteration is sigma -> p(sigma) = a sigma + b sigma^3 + c sigma^5 (the
    singular vectors are kept; derivation "newton-schulz").  A tall G is transposed first so that A
    is the smaller Gram matrix (the same map, fewer flops), as torch does.
    """
    g = np.asarray(x, dtype=float)
    if g.ndim != 2:
        raise ValueError(f"newton_schulz takes a 2-D matrix, got shape {g.shape}")
    a, b, c = (float(v) for v in ns_coefficients)
    tall = g.shape[0] > g.shape[1]
    y = g.T if tall else g
    y = y / max(float(np.linalg.norm(y)), eps)
    for _ in range(int(ns_steps)):
        gram = y @ y.T
        y = a * y + (b * gram + c * gram @ gram) @ y
    return y.T if tall else y


def muon_lr_scale(shape: tuple, adjust_lr_fn: str | None) -> float:
    """The factor torch.optim.Muon multiplies lr by, for a (rows A, cols B) matrix:
    sqrt(max(1, A/B)) (None or "original": Jordan's), 0.2 sqrt(max(A, B)) ("match_rms_adamw":
    Liu et al. 2025, Moonshot)."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return math.sqrt(max(1.0, rows / cols))


@dataclass(frozen=True)
class Muon(ArrayOptimizer):
    """``torch.optim.Muon`` (2-D parameters only), as torch implements it.

    With mu = momentum, lambda = weight_decay, (a, b, c) = ns_coefficients, k = ns_steps::

        B <- mu B + (1 - mu) g           ("momentum_buffer"; buffer="sum": B <- mu B + g, the
                                          formula of torch's docstring and of Jordan's first code)
        U = (1 - mu) g + mu B  if nesterov  else  B     (buffer="sum": g + mu B, resp. B)
        O = newton_schulz(U, (a, b, c), k, eps)
        theta <- theta (1 - lr lambda) - lr s O,  s = muon_lr_scale(shape, adjust_lr_fn)

    The two buffer conventions differ by the factor (1 - mu) in B and U, which the normalisation
    U / ||U||_F removes (unless ||U||_F < eps / (1 - mu)): the same parameters, another state.
    ``decay="coupled"``: lambda theta added to g before the buffer, and no separate decay.
    Torch runs the iteration in bfloat16; here it runs in float64.
    State: ``{"momentum_buffer": B}``.
    """

    lr: float = 1e-3
    weight_decay: float = 0.1
    momentum: float = 0.95
    nesterov: bool = True
    ns_coefficients: tuple = NS_COEFFICIENTS
    eps: float = 1e-7
    ns_steps: int = 5
    adjust_lr_fn: str | None = None
    buffer: str = "ema"
    decay: str = "decoupled-lr"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        mu = _real("momentum", self.momentum, 0.0, strict=False)
        if mu >= 1.0:
            raise ValueError(f"momentum must be a finite number with 0 <= momentum < 1, got {self.momentum!r}")
        set_("momentum", mu)
        set_("nesterov", _flag("nesterov", self.nesterov))
        co = self.ns_coefficients
        if not isinstance(co, (tuple, list)) or len(co) != 3:
            raise ValueError(f"ns_coefficients must be a triple (a, b, c) of finite numbers, got {co!r}")
        set_("ns_coefficients", tuple(_real(f"ns_coefficients[{i}]", v) for i, v in enumerate(co)))
        set_("eps", _real("eps", self.eps, 0.0, strict=False))
        k = _int("ns_steps", self.ns_steps, 0)
        if k >= 100:
            raise ValueError(f"ns_steps must be an integer with 0 <= ns_steps < 100, got {self.ns_steps!r}")
        set_("ns_steps", k)
        set_("adjust_lr_fn", _choice("adjust_lr_fn", self.adjust_lr_fn, (None, "original", "match_rms_adamw")))
        set_("buffer", _choice("buffer", self.buffer, ("ema", "sum")))
        set_("decay", _choice("decay", self.decay, ("decoupled-lr", "coupled")))

    def _init(self, p: np.ndarray) -> State:
        if p.ndim != 2:
            raise ValueError(f"Muon takes 2-D parameters (matrices), got shape {p.shape}")
        return {"momentum_buffer": np.zeros_like(p)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        if p.ndim != 2:
            raise ValueError(f"Muon takes 2-D parameters (matrices), got shape {p.shape}")
        buf = state_array(state, "momentum_buffer", p.shape)
        mu, coupled = self.momentum, self.decay == "coupled"
        if coupled:
            g = g + self.weight_decay * p
        if self.buffer == "ema":
            buf = _lerp(buf, g, 1.0 - mu)
            update = _lerp(g, buf, mu) if self.nesterov else buf
        else:
            buf = mu * buf + g
            update = g + mu * buf if self.nesterov else buf
        o = newton_schulz(update, self.ns_coefficients, self.ns_steps, self.eps)
        scale = self.lr * muon_lr_scale(p.shape, self.adjust_lr_fn)
        theta = p if coupled else p * (1.0 - self.lr * self.weight_decay)
        return theta - scale * o, {"momentum_buffer": buf}


def muon(
    lr: float = 1e-3,
    weight_decay: float = 0.1,
    momentum: float = 0.95,
    nesterov: bool = True,
    ns_coefficients: tuple = NS_COEFFICIENTS,
    eps: float = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
    *,
    buffer: str = "ema",
    decay: str = "decoupled-lr",
) -> Muon:
    """``torch.optim.Muon``: B <- mu B + (1 - mu) g; U = (1 - mu) g + mu B (Nesterov) or B;
    theta <- theta (1 - lr wd) - lr s(shape) newton_schulz(U), for 2-D parameters.

    Options: ``buffer="sum"`` (B <- mu B + g: torch's docstring), ``decay="coupled"`` (L2 added
    to the gradient).  See ``Muon``.
    """
    return Muon(lr, weight_decay, momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn, buffer, decay)
