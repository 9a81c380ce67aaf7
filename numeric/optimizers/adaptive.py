"""Adaptive (diagonally preconditioned) optimizers in the protocol of ``numeric.optimizers``.

- ``rmsprop(...)``: ``torch.optim.RMSprop`` (plain, centered, with momentum).
- ``adam(...)``: ``torch.optim.Adam`` (Kingma & Ba 2015, Algorithm 1), coupled L2 decay, AMSGrad.
- ``adamw(...)``: ``torch.optim.AdamW`` (Loshchilov & Hutter 2019), decoupled weight decay.

Defaults follow torch.optim's documented algorithms (maximize=False, no schedules);
keyword options select the other conventions users meet (eps placement, bias
correction, which second moment AMSGrad maximises, whether the decay is scaled by lr).

Notation, all operations elementwise: g = gradient, theta = params, t = step count
after the increment (t = 1 on the first step), bc1 = 1 - beta1^t, bc2 = 1 - beta2^t
(both 1 when ``bias_correction=False``).  The classes are ``ArrayOptimizer``s: params of any
shape (0-d included) or a list of arrays (one state dict per array, as a torch param group).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numeric.optimizers.protocol import (ArrayOptimizer, State, coupled_grad, nonnegative_entries, root_plus_eps,
                                        scratch, state_array, state_array_, step_count)
from numeric.validation import _real

__all__ = ["RMSprop", "Adam", "AdamW", "rmsprop", "adam", "adamw"]


# --------------------------------------------------------------------------- #
# Validation (private).
# --------------------------------------------------------------------------- #
def _unit(name: str, value) -> float:
    """Return value as a float; raise ValueError unless finite and 0 <= value < 1."""
    msg = f"{name} must be a finite number with 0 <= {name} < 1, got {value!r}"
    try:
        v = _real(name, value, 0.0, strict=False)
    except ValueError:
        raise ValueError(msg) from None
    if v >= 1.0:
        raise ValueError(msg)
    return v


def _flag(name: str, value) -> bool:
    """Return value as a bool; raise ValueError unless it is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _choice(name: str, value, options: tuple[str, ...]) -> str:
    """Return value; raise ValueError unless it is one of the strings in options."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def _betas(value) -> tuple[float, float]:
    """Return betas as (beta1, beta2); raise ValueError unless a pair with 0 <= beta < 1."""
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2) with 0 <= beta < 1, got {value!r}")
    return _unit("betas[0]", value[0]), _unit("betas[1]", value[1])


# --------------------------------------------------------------------------- #
# RMSprop.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class RMSprop(ArrayOptimizer):
    """``torch.optim.RMSprop`` (maximize=False), following its documented algorithm.

    With a = alpha, mu = momentum, lambda = weight_decay, at each step::

        g <- g + lambda theta                              (coupled L2 decay)
        s <- a s + (1 - a) g^2                             ("square_avg")
        if centered:  gbar <- a gbar + (1 - a) g;  d = s - gbar^2     ("grad_avg")
        else:         d = s
        denom = sqrt(d) + eps      (eps_mode="outside": torch)
              = sqrt(d + eps)      (eps_mode="inside": optax.rmsprop's default eps_in_sqrt=True)
        if mu > 0:  b <- mu b + g / denom;  theta <- theta - lr b     ("momentum_buffer")
        else:       theta <- theta - lr g / denom

    All moments start at 0.  ``alpha`` is restricted to 0 <= alpha < 1 (torch
    only requires alpha >= 0); ``momentum`` to 0 <= momentum < 1.  From the zero
    initial state d >= 0 in exact arithmetic (gbar^2 <= s by Cauchy-Schwarz, as the
    averaging weights sum to 1 - a^t <= 1); here d is clamped at 0 so that rounding cannot produce
    sqrt of a negative number (torch does not clamp).  With eps = 0 a zero
    denominator gives nan or inf, as in torch (with ``check=False``; by default a ValueError).
    State: ``{"step": t, "square_avg": s}`` plus ``"grad_avg"`` if centered and
    ``"momentum_buffer"`` if momentum > 0.
    """

    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False
    eps_mode: str = "outside"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        set_("alpha", _unit("alpha", self.alpha))
        set_("eps", _real("eps", self.eps, 0.0, strict=False))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        set_("momentum", _unit("momentum", self.momentum))
        set_("centered", _flag("centered", self.centered))
        set_("eps_mode", _choice("eps_mode", self.eps_mode, ("outside", "inside")))

    def _keys(self) -> list[str]:
        return ["square_avg"] + ["grad_avg"] * self.centered + ["momentum_buffer"] * (self.momentum > 0)

    def _init(self, p: np.ndarray) -> State:
        """Return ``{"step": 0}`` and zero arrays (p's shape) for each moment this configuration keeps."""
        return {"step": 0, **{k: np.zeros_like(p) for k in self._keys()}}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """One step of the class-docstring algorithm; returns ``(theta', state')``."""
        t = step_count(state)
        s = state_array(state, "square_avg", p.shape, nonnegative=True)
        g = g + self.weight_decay * p  # a new array: never aliases the caller's grads
        a = self.alpha
        new: State = {"step": t + 1, "square_avg": a * s + (1.0 - a) * g * g}
        d = new["square_avg"]
        if self.centered:
            gbar = state_array(state, "grad_avg", p.shape)
            new["grad_avg"] = a * gbar + (1.0 - a) * g
            d = np.maximum(d - new["grad_avg"] ** 2, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.sqrt(d) + self.eps if self.eps_mode == "outside" else np.sqrt(d + self.eps)
            direction = g / denom
        if self.momentum > 0:
            buf = state_array(state, "momentum_buffer", p.shape)
            direction = new["momentum_buffer"] = self.momentum * buf + direction
        return p - self.lr * direction, new

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same arithmetic in place, in two scratch arrays (one without weight decay)."""
        t = step_count(state)
        s = state_array_(state, "square_avg", p.shape)  # every state array before the first write
        gbar = state_array_(state, "grad_avg", p.shape) if self.centered else None
        buf = state_array_(state, "momentum_buffer", p.shape) if self.momentum > 0 else None
        a = self.alpha
        d, (tmp,) = coupled_grad(p, g, self.weight_decay, 1)
        s *= a
        np.multiply(d, 1.0 - a, out=tmp)
        tmp *= d
        s += tmp
        if gbar is not None:
            gbar *= a
            np.multiply(d, 1.0 - a, out=tmp)
            gbar += tmp
            np.multiply(gbar, gbar, out=tmp)
            np.subtract(s, tmp, out=tmp)
            np.maximum(tmp, 0.0, out=tmp)
            var = tmp
        else:
            var = s
        root_plus_eps(var, self.eps, self.eps_mode, tmp)
        np.divide(d, tmp, out=tmp)
        direction = tmp
        if buf is not None:
            buf *= self.momentum
            buf += tmp
            direction = buf
        np.multiply(direction, self.lr, out=tmp)
        p -= tmp
        state["step"] = t + 1


# --------------------------------------------------------------------------- #
# Adam and AdamW.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class _AdamCore(ArrayOptimizer):
    """Shared fields, validation, state and moment update of ``Adam`` and ``AdamW``."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    eps_mode: str = "outside"
    bias_correction: bool = True
    amsgrad_max: str = "raw"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        set_("betas", _betas(self.betas))
        set_("eps", _real("eps", self.eps, 0.0, strict=False))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))
        set_("amsgrad", _flag("amsgrad", self.amsgrad))
        set_("eps_mode", _choice("eps_mode", self.eps_mode, ("outside", "inside", "hat")))
        set_("bias_correction", _flag("bias_correction", self.bias_correction))
        set_("amsgrad_max", _choice("amsgrad_max", self.amsgrad_max, ("raw", "corrected")))

    def _init(self, p: np.ndarray) -> State:
        """Zero ``"exp_avg"``, ``"exp_avg_sq"`` (and ``"max_exp_avg_sq"`` if amsgrad); ``"step": 0``."""
        keys = ["exp_avg", "exp_avg_sq"] + ["max_exp_avg_sq"] * self.amsgrad
        return {"step": 0, **{k: np.zeros_like(p) for k in keys}}

    def _adam_step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """The Adam update (no weight decay) of the ``Adam`` docstring: returns (theta', state')."""
        t = step_count(state) + 1
        m = state_array(state, "exp_avg", p.shape)
        v = state_array(state, "exp_avg_sq", p.shape, nonnegative=True)
        b1, b2 = self.betas
        bc1, bc2 = (1.0 - b1**t, 1.0 - b2**t) if self.bias_correction else (1.0, 1.0)
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        new: State = {"step": t, "exp_avg": m, "exp_avg_sq": v}
        # vhat as in the docstring; raw = bc2 * vhat, its value on the scale of v (for "hat")
        if not self.amsgrad:
            raw, vhat = v, v / bc2
        else:
            old = nonnegative_entries("state['max_exp_avg_sq']",
                                      state_array(state, "max_exp_avg_sq", p.shape, nonnegative=True))
            if self.amsgrad_max == "raw":
                vmax = np.maximum(old, v)
                raw, vhat = vmax, vmax / bc2
            else:
                vmax = np.maximum(old, v / bc2)
                raw, vhat = bc2 * vmax, vmax
            new["max_exp_avg_sq"] = vmax
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.eps_mode == "outside":
                direction = (m / bc1) / (np.sqrt(vhat) + self.eps)
            elif self.eps_mode == "inside":
                direction = (m / bc1) / np.sqrt(vhat + self.eps)
            else:  # "hat"
                direction = (math.sqrt(bc2) / bc1) * m / (np.sqrt(raw) + self.eps)
        return p - self.lr * direction, new

    def _adam_step_(self, p: np.ndarray, g: np.ndarray, state: State, scratches: list) -> None:
        """``_adam_step`` in place, with the same arithmetic, in the two scratch arrays given."""
        t = step_count(state) + 1
        m = state_array_(state, "exp_avg", p.shape)
        v = state_array_(state, "exp_avg_sq", p.shape)
        b1, b2 = self.betas
        bc1, bc2 = (1.0 - b1**t, 1.0 - b2**t) if self.bias_correction else (1.0, 1.0)
        s1, s2 = scratches
        if self.amsgrad:  # every check before the first write
            vmax = nonnegative_entries("state['max_exp_avg_sq']", state_array_(state, "max_exp_avg_sq", p.shape))
        m *= b1
        np.multiply(g, 1.0 - b1, out=s1)
        m += s1
        v *= b2
        np.multiply(g, 1.0 - b2, out=s1)
        s1 *= g
        v += s1
        state["step"] = t
        raw = v
        if self.amsgrad:
            if self.amsgrad_max == "raw":
                np.maximum(vmax, v, out=vmax)
                raw = vmax
            else:
                np.divide(v, bc2, out=s1)
                np.maximum(vmax, s1, out=vmax)
                np.multiply(bc2, vmax, out=s1)
                raw = s1
        # s1 <- the denominator
        if self.eps_mode == "hat":
            np.sqrt(raw, out=s1)
            s1 += self.eps
            np.multiply(m, math.sqrt(bc2) / bc1, out=s2)
        else:
            if self.amsgrad and self.amsgrad_max == "corrected":
                np.copyto(s1, vmax)  # vhat = vmax
            else:
                np.divide(raw, bc2, out=s1)
            root_plus_eps(s1, self.eps, self.eps_mode, s1)
            np.divide(m, bc1, out=s2)
        s2 /= s1
        s2 *= self.lr
        p -= s2


@dataclass(frozen=True)
class Adam(_AdamCore):
    """``torch.optim.Adam`` (maximize=False); Kingma & Ba 2015, Algorithm 1.

    With (beta1, beta2) = betas, lambda = weight_decay, at step t = 1, 2, ...::

        g <- g + lambda theta                          (coupled L2 decay, as torch.optim.Adam)
        m <- beta1 m + (1 - beta1) g                   ("exp_avg")
        v <- beta2 v + (1 - beta2) g^2                 ("exp_avg_sq")
        amsgrad, amsgrad_max="raw" (torch's implementation: max of the UNcorrected v):
            vmax <- max(vmax, v);        vhat = vmax / bc2
        amsgrad, amsgrad_max="corrected" (optax.amsgrad: max of the bias-corrected v):
            vmax <- max(vmax, v / bc2);  vhat = vmax
        otherwise:                       vhat = v / bc2
        mhat = m / bc1

    and then, by ``eps_mode``::

        "outside" (torch, optax):  theta <- theta - lr mhat / (sqrt(vhat) + eps)
        "inside":                  theta <- theta - lr mhat / sqrt(vhat + eps)
        "hat":  theta <- theta - lr (sqrt(bc2) / bc1) m / (sqrt(bc2 vhat) + eps)

    "hat" is Kingma & Ba's efficient form (just before their Section 2.1), used
    by tf.train.AdamOptimizer and tf.keras Adam, whose epsilon is "epsilon hat";
    without AMSGrad, bc2 vhat = v, so the step is lr_t m / (sqrt(v) + eps) with
    lr_t = lr sqrt(bc2) / bc1.  It equals "outside" with eps replaced by
    eps / sqrt(bc2), so the two differ less and less as bc2 -> 1.
    ``bias_correction=False`` sets bc1 = bc2 = 1.
    With eps = 0 a zero denominator gives nan or inf, as in torch (with ``check=False``; by
    default a ValueError).
    State (torch's names): ``{"step": t, "exp_avg": m, "exp_avg_sq": v}`` plus
    ``"max_exp_avg_sq": vmax`` if amsgrad (vmax as defined by ``amsgrad_max``).
    """

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """g <- g + weight_decay theta, then the Adam update; returns ``(theta', state')``."""
        return self._adam_step(p, g + self.weight_decay * p, state)

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same in place: g + weight_decay theta in a third scratch array (if weight_decay)."""
        d, rest = coupled_grad(p, g, self.weight_decay, 2)
        self._adam_step_(p, d, state, rest)


@dataclass(frozen=True)
class AdamW(_AdamCore):
    """``torch.optim.AdamW`` (maximize=False); Loshchilov & Hutter 2019, decoupled weight decay.

    With lambda = weight_decay::

        theta <- theta (1 - lr lambda)    (decay_scale="lr": torch.optim.AdamW and optax.adamw)
        theta <- theta (1 - lambda)       (decay_scale="none": Loshchilov & Hutter's Algorithm 2
                                           with schedule multiplier eta_t = 1, decay not
                                           multiplied by the lr)

    then the ``Adam`` update with weight_decay = 0 (same options, same state).
    The Adam update does not depend on theta, so the order of the two does not matter,
    e.g. theta' = theta (1 - lr lambda) - lr direction(g, state) for decay_scale="lr".
    The decay factor is not bounded here: lr lambda > 1 flips the sign of theta.
    State: as ``Adam``.
    """

    weight_decay: float = 1e-2
    decay_scale: str = "lr"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "decay_scale", _choice("decay_scale", self.decay_scale, ("lr", "none")))

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """theta <- theta (1 - scale lambda), then the Adam update; returns ``(theta', state')``."""
        scale = self.lr if self.decay_scale == "lr" else 1.0
        return self._adam_step(p * (1.0 - scale * self.weight_decay), g, state)

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same in place: theta *= 1 - scale lambda, then the Adam update."""
        scratches = scratch(2, p)
        step_count(state)  # a bad state raises before theta is touched
        for key in ("exp_avg", "exp_avg_sq") + ("max_exp_avg_sq",) * self.amsgrad:
            state_array_(state, key, p.shape)
        if self.weight_decay:
            p *= 1.0 - (self.lr if self.decay_scale == "lr" else 1.0) * self.weight_decay
        self._adam_step_(p, g, state, scratches)


# --------------------------------------------------------------------------- #
# Factories.
# --------------------------------------------------------------------------- #
def rmsprop(
    lr: float = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    *,
    eps_mode: str = "outside",
) -> RMSprop:
    """``torch.optim.RMSprop``: s <- alpha s + (1 - alpha) g^2; theta <- theta - lr g / (sqrt(s) + eps).

    Options: coupled ``weight_decay``, ``centered`` (s - gbar^2 under the root),
    ``momentum`` (buffer of g / denom), ``eps_mode="inside"`` (sqrt(s + eps), optax's
    default).  See ``RMSprop``.
    """
    return RMSprop(lr, alpha, eps, weight_decay, momentum, centered, eps_mode)


def adam(
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    *,
    eps_mode: str = "outside",
    bias_correction: bool = True,
    amsgrad_max: str = "raw",
) -> Adam:
    """``torch.optim.Adam``: m, v moving averages of g, g^2;
    theta <- theta - lr (m / bc1) / (sqrt(v / bc2) + eps), with coupled L2 ``weight_decay``.

    Options: ``amsgrad`` (with ``amsgrad_max`` "raw" as torch or "corrected" as optax),
    ``eps_mode`` ("outside" torch/optax, "inside", "hat" Kingma & Ba / TensorFlow),
    ``bias_correction``.  See ``Adam``.
    """
    return Adam(lr, betas, eps, weight_decay, amsgrad, eps_mode, bias_correction, amsgrad_max)


def adamw(
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    *,
    eps_mode: str = "outside",
    bias_correction: bool = True,
    amsgrad_max: str = "raw",
    decay_scale: str = "lr",
) -> AdamW:
    """``torch.optim.AdamW``: theta <- theta (1 - lr weight_decay), then the Adam update
    without weight decay.  ``decay_scale="none"`` uses theta (1 - weight_decay)
    (Loshchilov & Hutter, eta_t = 1).  Other options as ``adam``.  See ``AdamW``.
    """
    return AdamW(
        lr, betas, eps, weight_decay, amsgrad, eps_mode, bias_correction, amsgrad_max, decay_scale
    )
