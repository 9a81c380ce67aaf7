"""Adam's relatives in the protocol of ``numeric.optimizers``: NAdam, RAdam, Adamax and Lion.

- ``nadam(...)``: ``torch.optim.NAdam`` (Dozat 2016, with the momentum schedule of Keras/torch).
- ``radam(...)``: ``torch.optim.RAdam`` (Liu et al. 2020, rectified when rho_t > 5).
- ``adamax(...)``: ``torch.optim.Adamax`` (Kingma & Ba 2015, Section 7.1, eps inside the max).
- ``lion(...)``: Lion (Chen et al. 2023, Program 1), torch-style names (not in torch.optim).

Defaults follow torch.optim's documented algorithms (maximize=False); keyword options after ``*``
select the conventions of other libraries (optax, Keras/TF, the papers).  The classes are
``ArrayOptimizer``s: params of any shape (0-d included) or a list of arrays, one state per array.

Notation, elementwise: g = gradient, theta = params, t = step count after the increment (t = 1 on
the first step), bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, lambda = weight_decay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numeric.optimizers.adaptive import _betas, _choice, _flag
from numeric.optimizers.protocol import ArrayOptimizer, State, scratch, state_array, state_array_, step_count
from numeric.validation import _real

__all__ = ["NAdam", "RAdam", "Adamax", "Lion", "nadam", "radam", "adamax", "lion"]


def _decay(p: np.ndarray, g: np.ndarray, lr: float, wd: float, decoupled: bool):
    """(theta, g) after weight decay: theta (1 - lr wd) if decoupled, else g + wd theta (new arrays)."""
    if decoupled:
        return p * (1.0 - lr * wd), g
    return p, g + wd * p


# --------------------------------------------------------------------------- #
# NAdam.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class NAdam(ArrayOptimizer):
    """``torch.optim.NAdam`` (maximize=False); Dozat 2016 with the Keras/torch momentum schedule.

    With psi = momentum_decay, at step t::

        g <- g + lambda theta          (coupled L2), or theta <- theta (1 - lr lambda) if
                                       decoupled_weight_decay (torch's "NAdamW")
        mu_t = beta1 (1 - 0.5 * 0.96^(t psi)),  mu_{t+1} likewise    (schedule="dozat": torch, Keras)
        mu_t = mu_{t+1} = beta1                                      (schedule="constant": optax.nadam)
        Pi_t = Pi_{t-1} mu_t  ("mu_product", Pi_0 = 1)
        m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2
        D = sqrt(v / bc2) + eps
        theta <- theta - lr (1 - mu_t)/(1 - Pi_t) g/D - lr mu_{t+1}/(1 - Pi_t mu_{t+1}) m/D

    With schedule="constant", Pi_t = beta1^t and the step is optax's
    ``scale_by_adam(nesterov=True)``: mhat = beta1 m/(1 - beta1^(t+1)) + (1 - beta1) g/(1 - beta1^t).
    Note momentum_decay = 0 is not a constant beta1 but mu_t = beta1/2.
    State: ``{"step": t, "mu_product": Pi_t (a float), "exp_avg": m, "exp_avg_sq": v}``.
    """

    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum_decay: float = 4e-3
    decoupled_weight_decay: bool = False
    schedule: str = "dozat"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        set_("betas", _betas(self.betas))
        set_("eps", _real("eps", self.eps, 0.0, strict=False))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        set_("momentum_decay", _real("momentum_decay", self.momentum_decay, 0.0, strict=False))
        set_("decoupled_weight_decay", _flag("decoupled_weight_decay", self.decoupled_weight_decay))
        set_("schedule", _choice("schedule", self.schedule, ("dozat", "constant")))

    def mu(self, t: int) -> float:
        """The momentum coefficient mu_t of step t (t >= 1)."""
        b1 = self.betas[0]
        if self.schedule == "constant":
            return b1
        return b1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def _init(self, p: np.ndarray) -> State:
        return {"step": 0, "mu_product": 1.0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        prod = _real("state['mu_product']", state.get("mu_product") if isinstance(state, dict) else None)
        m = state_array(state, "exp_avg", p.shape)
        v = state_array(state, "exp_avg_sq", p.shape, nonnegative=True)
        b1, b2 = self.betas
        p, g = _decay(p, g, self.lr, self.weight_decay, self.decoupled_weight_decay)
        mu, mu_next = self.mu(t), self.mu(t + 1)
        prod = prod * mu
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.sqrt(v / (1.0 - b2**t)) + self.eps
            p = (p - self.lr * (1.0 - mu) / (1.0 - prod) * g / denom
                 - self.lr * mu_next / (1.0 - prod * mu_next) * m / denom)
        return p, {"step": t, "mu_product": prod, "exp_avg": m, "exp_avg_sq": v}


# --------------------------------------------------------------------------- #
# RAdam.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class RAdam(ArrayOptimizer):
    """``torch.optim.RAdam`` (maximize=False); Liu et al. 2020, Algorithm 2.

    At step t, after the weight decay (coupled, or decoupled as ``NAdam``)::

        m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2;   mhat = m / bc1
        rho_inf = 2/(1 - beta2) - 1;    rho_t = rho_inf - 2 t beta2^t / bc2
        if rho_t > threshold:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            l_t = sqrt(bc2) / (sqrt(v) + eps)      (eps_mode="hat": torch)
                = 1 / (sqrt(v / bc2) + eps)        (eps_mode="outside": optax.radam)
            theta <- theta - lr mhat r_t l_t
        else:
            theta <- theta - lr mhat               (the early, unrectified steps)

    ``threshold``: 5 (torch, the authors' code, optax.radam; optax compares rho_t >= 5, which differs
    only where rho_t is exactly 5) or 4 (the paper's Algorithm 2); it must be >= 4 so that r_t is real.
    State: ``{"step": t, "exp_avg": m, "exp_avg_sq": v}``.
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    threshold: float = 5.0
    eps_mode: str = "hat"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        set_("betas", _betas(self.betas))
        set_("eps", _real("eps", self.eps, 0.0, strict=False))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        set_("decoupled_weight_decay", _flag("decoupled_weight_decay", self.decoupled_weight_decay))
        set_("threshold", _real("threshold", self.threshold, 4.0, strict=False))
        set_("eps_mode", _choice("eps_mode", self.eps_mode, ("hat", "outside")))

    def rho(self, t: int) -> float:
        """rho_t, the length of the approximated simple moving average at step t >= 1."""
        b2 = self.betas[1]
        return 2.0 / (1.0 - b2) - 1.0 - 2.0 * t * b2**t / (1.0 - b2**t)

    def _init(self, p: np.ndarray) -> State:
        return {"step": 0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        m = state_array(state, "exp_avg", p.shape)
        v = state_array(state, "exp_avg_sq", p.shape, nonnegative=True)
        b1, b2 = self.betas
        p, g = _decay(p, g, self.lr, self.weight_decay, self.decoupled_weight_decay)
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        bc2 = 1.0 - b2**t
        mhat = m / (1.0 - b1**t)
        rho_inf, rho = 2.0 / (1.0 - b2) - 1.0, self.rho(t)
        if rho > self.threshold:
            r = math.sqrt((rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho))
            with np.errstate(divide="ignore", invalid="ignore"):
                adaptive = (math.sqrt(bc2) / (np.sqrt(v) + self.eps) if self.eps_mode == "hat"
                            else 1.0 / (np.sqrt(v / bc2) + self.eps))
                p = p - self.lr * mhat * r * adaptive
        else:
            p = p - self.lr * mhat
        return p, {"step": t, "exp_avg": m, "exp_avg_sq": v}


# --------------------------------------------------------------------------- #
# Adamax.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Adamax(ArrayOptimizer):
    """``torch.optim.Adamax`` (maximize=False); Kingma & Ba 2015, Section 7.1 (Algorithm 2).

    At step t::

        g <- g + lambda theta                            (coupled L2)
        m <- beta1 m + (1 - beta1) g                     ("exp_avg")
        u <- max(beta2 u, |g| + eps);  D = u             (eps_mode="max": torch, optax.adamax)
        u <- max(beta2 u, |g|);        D = u + eps       (eps_mode="denominator": tf.keras Adamax, MXNet)
        u <- max(beta2 u, |g|);        D = u             (eps_mode="none": the paper)
        theta <- theta - (lr / bc1) m / D

    Only m is bias-corrected (the max needs no correction, paper Section 7.1).  With D = 0 (zero
    gradients and no eps) the step is nan, as in the paper's formula
    (a ValueError unless ``check=False``, see :mod:`numeric.optimizers.protocol`).
    State: ``{"step": t, "exp_avg": m, "exp_inf": u}``.
    """

    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    eps_mode: str = "max"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        set_("betas", _betas(self.betas))
        set_("eps", _real("eps", self.eps, 0.0, strict=False))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        set_("eps_mode", _choice("eps_mode", self.eps_mode, ("max", "denominator", "none")))

    def _init(self, p: np.ndarray) -> State:
        return {"step": 0, "exp_avg": np.zeros_like(p), "exp_inf": np.zeros_like(p)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        m = state_array(state, "exp_avg", p.shape)
        u = state_array(state, "exp_inf", p.shape, nonnegative=True)
        b1, b2 = self.betas
        g = g + self.weight_decay * p
        m = b1 * m + (1.0 - b1) * g
        inside = self.eps if self.eps_mode == "max" else 0.0
        u = np.maximum(b2 * u, np.abs(g) + inside)
        denom = u + self.eps if self.eps_mode == "denominator" else u
        with np.errstate(divide="ignore", invalid="ignore"):
            p = p - (self.lr / (1.0 - b1**t)) * m / denom
        return p, {"step": t, "exp_avg": m, "exp_inf": u}


# --------------------------------------------------------------------------- #
# Lion.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Lion(ArrayOptimizer):
    """Lion (Chen et al. 2023, "Symbolic discovery of optimization algorithms", Program 1).

    At each step::

        c = beta1 m + (1 - beta1) g                 (the interpolation whose sign is the update)
        theta <- theta (1 - lr lambda) - lr sign(c)  (decay_scale="lr": the paper, lion-pytorch's default)
        theta <- theta (1 - lambda) - lr sign(c)     (decay_scale="none": lion-pytorch's
                                                      decoupled_weight_decay=True at a constant lr)
        m <- beta2 m + (1 - beta2) g                ("exp_avg", updated after the sign)

    sign(0) = 0.  When porting a tuned AdamW, lr * weight_decay is the per-step decay to keep
    (the Keras and MLX docs: lr 3-10x smaller, weight decay 3-10x larger).
    State: ``{"exp_avg": m}`` (no step counter: Lion has no bias correction).
    """

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0
    decay_scale: str = "lr"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        set_("betas", _betas(self.betas))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        set_("decay_scale", _choice("decay_scale", self.decay_scale, ("lr", "none")))

    def _init(self, p: np.ndarray) -> State:
        return {"exp_avg": np.zeros_like(p)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        m = state_array(state, "exp_avg", p.shape)
        b1, b2 = self.betas
        scale = self.lr if self.decay_scale == "lr" else 1.0
        p = p * (1.0 - scale * self.weight_decay) - self.lr * np.sign(b1 * m + (1.0 - b1) * g)
        return p, {"exp_avg": b2 * m + (1.0 - b2) * g}

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same arithmetic in place, in two scratch arrays."""
        m = state_array_(state, "exp_avg", p.shape)
        b1, b2 = self.betas
        s1, s2 = scratch(2, p)
        np.multiply(m, b1, out=s1)
        np.multiply(g, 1.0 - b1, out=s2)
        s1 += s2
        np.sign(s1, out=s1)
        s1 *= self.lr
        p *= 1.0 - (self.lr if self.decay_scale == "lr" else 1.0) * self.weight_decay
        p -= s1
        m *= b2
        np.multiply(g, 1.0 - b2, out=s2)
        m += s2


# --------------------------------------------------------------------------- #
# Factories (torch's keywords and defaults; conventions after *).
# --------------------------------------------------------------------------- #
def nadam(lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False,
          *, schedule: str = "dozat") -> NAdam:
    """``torch.optim.NAdam``: Adam with Nesterov momentum under the schedule
    mu_t = beta1 (1 - 0.5 * 0.96^(t momentum_decay)).  ``schedule="constant"``: mu_t = beta1
    (optax.nadam).  See ``NAdam``."""
    return NAdam(lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay, schedule)


def radam(lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
          *, threshold: float = 5.0, eps_mode: str = "hat") -> RAdam:
    """``torch.optim.RAdam``: Adam whose adaptive step is rectified by r_t once rho_t > threshold and
    replaced by momentum SGD before.  Options: ``threshold`` 5 (torch, optax) or 4 (the paper),
    ``eps_mode`` "hat" (torch: sqrt(bc2)/(sqrt(v) + eps)) or "outside" (optax).  See ``RAdam``."""
    return RAdam(lr, betas, eps, weight_decay, decoupled_weight_decay, threshold, eps_mode)


def adamax(lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
           weight_decay: float = 0.0, *, eps_mode: str = "max") -> Adamax:
    """``torch.optim.Adamax``: u <- max(beta2 u, |g| + eps); theta <- theta - lr m/(bc1 u).
    ``eps_mode``: "max" (torch, optax), "denominator" (tf.keras), "none" (the paper).  See ``Adamax``."""
    return Adamax(lr, betas, eps, weight_decay, eps_mode)


def lion(lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99), weight_decay: float = 0.0,
         *, decay_scale: str = "lr") -> Lion:
    """Lion (Chen et al. 2023): theta <- theta (1 - lr wd) - lr sign(beta1 m + (1 - beta1) g), then
    m <- beta2 m + (1 - beta2) g.  ``decay_scale="none"``: theta (1 - wd).  See ``Lion``."""
    return Lion(lr, betas, weight_decay, decay_scale)
