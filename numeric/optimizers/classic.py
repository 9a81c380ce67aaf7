"""Classic adaptive methods in the protocol of ``numeric.optimizers``: torch.optim's Adagrad,
Adadelta, ASGD and Rprop (maximize=False), with torch's names, defaults and state keys.

- ``adagrad(...)``: Duchi, Hazan & Singer 2011 as ``torch.optim.Adagrad`` documents it (lr_decay
  schedule, coupled L2 decay, initial accumulator), ``eps_mode="inside"`` for optax.adagrad's root.
- ``adadelta(...)``: Zeiler 2012 with torch's ``lr`` multiplying the step (lr = 1 is the paper).
- ``asgd(...)``: averaged SGD (Polyak & Juditsky 1992) with the schedules of Bottou 2012
  ("Stochastic gradient descent tricks", Section 5.3): what ``torch.optim.ASGD``'s code computes.
- ``rprop(...)``: resilient backpropagation as ``torch.optim.Rprop`` computes it: Riedmiller &
  Braun 1993 without weight-backtracking, the gradient set to 0 after a sign change (the variant
  Igel & Huesken 2000 call iRprop-).

Notation, all elementwise: theta = params, g = gradient, t = the step count after the increment
(t = 1 on the first step).  Every class is an ``ArrayOptimizer``: params of any shape (0-d included)
or a list of arrays (one state dict per array, as a torch param group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numeric.optimizers.protocol import (ArrayOptimizer, State, coupled_grad, root_plus_eps, scratch, state_array,
                                         state_array_, step_count)
from numeric.validation import _real

__all__ = ["Adagrad", "Adadelta", "ASGD", "Rprop", "adagrad", "adadelta", "asgd", "rprop"]


def _choice(name: str, value, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def _flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _pair(name: str, value) -> tuple:
    if not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair of numbers, got {value!r}")
    return tuple(value)


def _scalar(state: State, key: str, positive: bool) -> float:
    """``state[key]``, a finite real (> 0 if ``positive``): ASGD's eta and mu (torch keeps 0-d tensors)."""
    if not isinstance(state, dict) or key not in state:
        raise ValueError(f"state must be the dict returned by init() (with key {key!r})")
    v = np.asarray(state[key], dtype=float)
    if v.size != 1 or not np.isfinite(v).all() or (positive and float(v.reshape(())) <= 0):
        raise ValueError(f"state[{key!r}] must be a finite {'positive ' if positive else ''}number, got {state[key]!r}")
    return float(v.reshape(()))


# --------------------------------------------------------------------------- #
# Adagrad.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Adagrad(ArrayOptimizer):
    """``torch.optim.Adagrad`` (maximize=False, dense gradients), its documented algorithm::

        g   <- g + weight_decay theta                     (coupled L2)
        S   <- S + g^2                                    ("sum", starts at initial_accumulator_value)
        lr~ = lr / (1 + (t - 1) lr_decay)
        theta <- theta - lr~ g / (sqrt(S) + eps)          (eps_mode="outside": torch, tf.keras 2)
        theta <- theta - lr~ g / sqrt(S + eps)            (eps_mode="inside": optax.adagrad's
                                                           scale_by_rss)

    optax.adagrad also starts S at 0.1 (its initial_accumulator_value default, as tf.keras): pass
    ``initial_accumulator_value=0.1`` for that.  With eps = 0 and S = 0 a zero gradient gives nan, as in
    torch (with ``check=False``; by default a ValueError).  State: ``{"step": t, "sum": S}``.
    """

    lr: float = 1e-2
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10
    eps_mode: str = "outside"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        for k in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            set_(k, _real(k, getattr(self, k), 0.0, strict=False))
        set_("eps_mode", _choice("eps_mode", self.eps_mode, ("outside", "inside")))

    def _init(self, p: np.ndarray) -> State:
        return {"step": 0, "sum": np.full_like(p, self.initial_accumulator_value)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        s = state_array(state, "sum", p.shape, nonnegative=True)
        g = g + self.weight_decay * p
        s = s + g * g
        clr = self.lr / (1.0 + (t - 1) * self.lr_decay)
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.sqrt(s) + self.eps if self.eps_mode == "outside" else np.sqrt(s + self.eps)
            new_p = p - clr * (g / denom)
        return new_p, {"step": t, "sum": s}

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same arithmetic in place, in one scratch array (two with weight decay)."""
        t = step_count(state) + 1
        s = state_array_(state, "sum", p.shape)
        d, (tmp,) = coupled_grad(p, g, self.weight_decay, 1)
        np.multiply(d, d, out=tmp)
        s += tmp
        root_plus_eps(s, self.eps, self.eps_mode, tmp)
        np.divide(d, tmp, out=tmp)
        tmp *= self.lr / (1.0 + (t - 1) * self.lr_decay)
        p -= tmp
        state["step"] = t


# --------------------------------------------------------------------------- #
# Adadelta.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Adadelta(ArrayOptimizer):
    """``torch.optim.Adadelta`` (maximize=False); Zeiler 2012, Algorithm 1, with a learning rate::

        g <- g + weight_decay theta                              (coupled L2)
        v <- rho v + (1 - rho) g^2                               ("square_avg")
        delta = sqrt(u + eps) / sqrt(v + eps) * g                (eps inside both roots)
        u <- rho u + (1 - rho) delta^2                           ("acc_delta")
        theta <- theta - lr delta

    Zeiler's algorithm has no learning rate: it is lr = 1, torch's default (tf.keras' default
    learning_rate=0.001 scales every step by 1e-3; its docs say to use 1.0 to match the paper).
    ``rho`` in [0, 1] as torch; ``eps`` > 0 (with eps = 0 the numerator sqrt(u) starts at 0 and the
    parameters never move).  State: ``{"step": t, "square_avg": v, "acc_delta": u}``.
    """

    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        rho = _real("rho", self.rho, 0.0, strict=False)
        if rho > 1.0:
            raise ValueError(f"rho must be a finite number with 0 <= rho <= 1, got {rho!r}")
        set_("rho", rho)
        set_("eps", _real("eps", self.eps, 0.0))
        set_("weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False))

    def _init(self, p: np.ndarray) -> State:
        return {"step": 0, "square_avg": np.zeros_like(p), "acc_delta": np.zeros_like(p)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        v = state_array(state, "square_avg", p.shape, nonnegative=True)
        u = state_array(state, "acc_delta", p.shape, nonnegative=True)
        g = g + self.weight_decay * p
        rho = self.rho
        v = rho * v + (1.0 - rho) * g * g
        delta = np.sqrt(u + self.eps) / np.sqrt(v + self.eps) * g
        u = rho * u + (1.0 - rho) * delta * delta
        return p - self.lr * delta, {"step": t, "square_avg": v, "acc_delta": u}


# --------------------------------------------------------------------------- #
# ASGD.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class ASGD(ArrayOptimizer):
    """``torch.optim.ASGD`` (maximize=False), as its code computes it.  At step t = 1, 2, ...::

        g     <- g + weight_decay theta                         (coupled L2)
        theta <- theta (1 - lambd eta) - eta g                  (eta, mu: the state from step t - 1)
        ax    <- theta            if mu = 1
                 ax + mu (theta - ax)   otherwise               (the running average, "ax")
        eta   <- lr / (1 + lambd lr t)^alpha                    (for the next step)
        mu    <- 1 / max(1, t - t0)

    from eta = lr, mu = 1, ax = 0.  The schedules are evaluated after the step, so step t uses
    eta_{t-1} = lr / (1 + lambd lr (t - 1))^alpha: Bottou 2012's schedules with his 0-based count.
    With an integer t0 >= 0, ax after step t >= t0 + 2 is the mean of the iterates of steps
    t0 + 2 .. t (derivation "asgd-averaging").  State: ``{"step": t, "eta": float, "mu": float,
    "ax": array}`` (eta and mu are scalars, as torch's 0-d tensors).
    """

    lr: float = 1e-2
    lambd: float = 1e-4
    alpha: float = 0.75
    t0: float = 1e6
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        for k in ("lambd", "alpha", "t0", "weight_decay"):
            set_(k, _real(k, getattr(self, k), 0.0, strict=False))

    def _init(self, p: np.ndarray) -> State:
        return {"step": 0, "eta": self.lr, "mu": 1.0, "ax": np.zeros_like(p)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        eta = _scalar(state, "eta", positive=True)
        mu = _scalar(state, "mu", positive=True)
        ax = state_array(state, "ax", p.shape)
        g = g + self.weight_decay * p
        p = p * (1.0 - self.lambd * eta) - eta * g
        ax = p.copy() if mu == 1.0 else ax + (p - ax) * mu
        new_eta = self.lr / (1.0 + self.lambd * self.lr * t) ** self.alpha
        new_mu = 1.0 / max(1.0, t - self.t0)
        return p, {"step": t, "eta": new_eta, "mu": new_mu, "ax": ax}


# --------------------------------------------------------------------------- #
# Rprop.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Rprop(ArrayOptimizer):
    """``torch.optim.Rprop`` (maximize=False), as its code computes it.  With (eta-, eta+) = etas,
    (G_min, G_max) = step_sizes, p = g * prev, at each step::

        f     = eta+ if p > 0,  eta- if p < 0,  1 if p = 0
        Delta <- clamp(Delta f, G_min, G_max)      (clamp="always": torch's code, every step)
        Delta <- Delta if p = 0, else clamp(...)   (clamp="on-change": torch's documented pseudocode
                                                    and optax.scale_by_rprop)
        g     <- 0 where p < 0                     (zero_after_flip=True: torch, iRprop-;
                                                    False: Igel & Huesken's Rprop-)
        theta <- theta - sign(g) Delta
        prev  <- g

    from prev = 0 and Delta = lr ("step_size").  The two clamp conventions differ only while Delta
    is outside [G_min, G_max], i.e. when lr is.  State: ``{"step": t, "prev": g, "step_size": Delta}``.
    """

    lr: float = 1e-2
    etas: tuple[float, float] = (0.5, 1.2)
    step_sizes: tuple[float, float] = (1e-6, 50.0)
    clamp: str = "always"
    zero_after_flip: bool = True

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("lr", _real("lr", self.lr, 0.0))
        em, ep = (_real(f"etas[{i}]", v, 0.0) for i, v in enumerate(_pair("etas", self.etas)))
        if not em < 1.0 < ep:
            raise ValueError(f"etas must be (etaminus, etaplus) with 0 < etaminus < 1 < etaplus, got {self.etas!r}")
        lo, hi = (_real(f"step_sizes[{i}]", v, 0.0, strict=False)
                  for i, v in enumerate(_pair("step_sizes", self.step_sizes)))
        if not 0.0 < hi or lo > hi:
            raise ValueError(f"step_sizes must be (min, max) with 0 <= min <= max and max > 0, "
                             f"got {self.step_sizes!r}")
        set_("etas", (em, ep))
        set_("step_sizes", (lo, hi))
        set_("clamp", _choice("clamp", self.clamp, ("always", "on-change")))
        set_("zero_after_flip", _flag("zero_after_flip", self.zero_after_flip))

    def _init(self, p: np.ndarray) -> State:
        return {"step": 0, "prev": np.zeros_like(p), "step_size": np.full_like(p, self.lr)}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        t = step_count(state) + 1
        prev = state_array(state, "prev", p.shape)
        size = state_array(state, "step_size", p.shape, nonnegative=True)
        (em, ep), (lo, hi) = self.etas, self.step_sizes
        prod = g * prev
        factor = np.where(prod > 0, ep, np.where(prod < 0, em, 1.0))
        clamped = np.minimum(np.maximum(size * factor, lo), hi)
        size = clamped if self.clamp == "always" else np.where(prod == 0, size, clamped)
        if self.zero_after_flip:
            g = np.where(prod < 0, 0.0, g)
        return p - np.sign(g) * size, {"step": t, "prev": g.copy(), "step_size": size}


# --------------------------------------------------------------------------- #
# Factories.
# --------------------------------------------------------------------------- #
def adagrad(lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
            initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, eps_mode: str = "outside") -> Adagrad:
    """``torch.optim.Adagrad``: S <- S + g^2; theta <- theta - lr/(1 + (t-1) lr_decay) g/(sqrt(S) + eps).

    Options: coupled ``weight_decay``, ``initial_accumulator_value`` (S_0; 0.1 in optax and tf.keras),
    ``eps_mode="inside"`` (sqrt(S + eps), optax.adagrad).  See ``Adagrad``.
    """
    return Adagrad(lr, lr_decay, weight_decay, initial_accumulator_value, eps, eps_mode)


def adadelta(lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0) -> Adadelta:
    """``torch.optim.Adadelta``: delta = sqrt(u + eps)/sqrt(v + eps) g; theta <- theta - lr delta
    (Zeiler 2012 is lr = 1).  See ``Adadelta``."""
    return Adadelta(lr, rho, eps, weight_decay)


def asgd(lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
         weight_decay: float = 0.0) -> ASGD:
    """``torch.optim.ASGD``: theta <- theta (1 - lambd eta) - eta g with eta = lr/(1 + lambd lr (t-1))^alpha,
    and the average ax of the iterates after step t0 + 1.  See ``ASGD``."""
    return ASGD(lr, lambd, alpha, t0, weight_decay)


def rprop(lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2), step_sizes: tuple[float, float] = (1e-6, 50.0),
          *, clamp: str = "always", zero_after_flip: bool = True) -> Rprop:
    """``torch.optim.Rprop``: per-coordinate step sizes grown by etas[1] while the gradient keeps its
    sign, shrunk by etas[0] (and the step skipped) when it flips; theta <- theta - sign(g) Delta.

    Options: ``clamp="on-change"`` (torch's documented pseudocode, optax), ``zero_after_flip=False``
    (Rprop-, the step taken even after a flip).  See ``Rprop``.
    """
    return Rprop(lr, etas, step_sizes, clamp, zero_after_flip)
