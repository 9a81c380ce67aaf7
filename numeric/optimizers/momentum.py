"""Momentum methods as pure optimizers in the protocol of ``numeric.optimizers``.

- ``heavy_ball(lr, momentum)``: Polyak's method in velocity form.
- ``nesterov(lr, momentum)``: Nesterov's method, rewritten so that the gradient
  is taken at the optimizer's own parameters (the look-ahead point).
- ``nesterov_lookahead_step``: the textbook Nesterov step with a gradient oracle.
- ``sgd(...)``: ``torch.optim.SGD``'s documented algorithm (maximize=False).

Notation: eta = lr, beta = mu = momentum, g(x) = gradient of the loss at x.
The classes are ``ArrayOptimizer``s: params of any shape (0-d included) or a list of arrays
(one state dict per array, as a torch param group); every operation is elementwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numeric.optimizers.protocol import (ArrayOptimizer, GradFn, State, scratch, state_array, state_array_,
                                        step_count)
from numeric.validation import _array, _real, _vector

__all__ = ["HeavyBall", "Nesterov", "SGD", "heavy_ball", "nesterov", "nesterov_lookahead_step", "sgd"]


def _momentum(value) -> float:
    """Return momentum as a float; raise ValueError unless finite and 0 <= momentum < 1."""
    msg = f"momentum must be a finite number with 0 <= momentum < 1, got {value!r}"
    try:
        m = _real("momentum", value, 0.0, strict=False)
    except ValueError:
        raise ValueError(msg) from None
    if m >= 1.0:
        raise ValueError(msg)
    return m


def _state_array(state: State, key: str, n: int) -> np.ndarray:
    """Return ``state[key]`` checked to be a finite vector of length n (1-D; kept for the
    vector-only rules of ``numeric.models.hermosis``; the classes here use ``state_array``)."""
    if not isinstance(state, dict) or key not in state:
        raise ValueError(f"state must be the dict returned by init() (with key {key!r}), got {state!r}")
    return _vector(f"state[{key!r}]", state[key], n)


@dataclass(frozen=True)
class _VelocityMethod(ArrayOptimizer):
    """Shared fields, validation and state of the velocity-form momentum methods (any shape)."""

    lr: float
    momentum: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _real("lr", self.lr, 0.0))
        object.__setattr__(self, "momentum", _momentum(self.momentum))

    def _init(self, p: np.ndarray) -> State:
        """Return ``{"velocity": zeros_like(p)}``."""
        return {"velocity": np.zeros_like(p)}


@dataclass(frozen=True)
class HeavyBall(_VelocityMethod):
    """Polyak heavy ball, velocity form.

    v_{t+1} = beta v_t - eta g(theta_t);   theta_{t+1} = theta_t + v_{t+1};   v_0 = 0.

    State: ``{"velocity": v_t}``.
    """

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """v' = beta v - eta g;  theta' = theta + v'; returns ``(theta', {"velocity": v'})``."""
        v = state_array(state, "velocity", p.shape)
        v_new = self.momentum * v - self.lr * g
        return p + v_new, {"velocity": v_new}

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same in place: v *= beta; v -= eta g; theta += v."""
        v = state_array_(state, "velocity", p.shape)
        (t,) = scratch(1, p)
        np.multiply(g, self.lr, out=t)
        v *= self.momentum
        v -= t
        p += v


@dataclass(frozen=True)
class Nesterov(_VelocityMethod):
    """Nesterov momentum with the gradient taken at the optimizer's ``params``.

    Textbook (look-ahead) form, which needs g at theta_t + beta v_t::

        v_{t+1} = beta v_t - eta g(theta_t + beta v_t);   theta_{t+1} = theta_t + v_{t+1}.

    Change of variables phi_t = theta_t + beta v_t (``params`` here is phi, the
    look-ahead point, so g(phi_t) is exactly the protocol's ``grads``)::

        v_{t+1}   = beta v_t - eta g(phi_t)
        phi_{t+1} = theta_{t+1} + beta v_{t+1}
                  = (phi_t - beta v_t) + v_{t+1} + beta v_{t+1}
                  = phi_t - eta g(phi_t) + beta v_{t+1}        (as v_{t+1} - beta v_t = -eta g(phi_t))

    With v_0 = 0, phi_0 = theta_0, so both forms start at the same point; the
    textbook iterate is recovered as theta_t = phi_t - beta v_t.
    State: ``{"velocity": v_t}``.
    """

    def _step(self, phi: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """v' = beta v - eta g(phi);  phi' = phi - eta g(phi) + beta v'.

        Returns ``(phi', {"velocity": v'})``.
        """
        v = state_array(state, "velocity", phi.shape)
        v_new = self.momentum * v - self.lr * g
        return phi - self.lr * g + self.momentum * v_new, {"velocity": v_new}

    def _step_(self, phi: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same in place: v *= beta; v -= eta g; phi -= eta g; phi += beta v."""
        v = state_array_(state, "velocity", phi.shape)
        (t,) = scratch(1, phi)
        np.multiply(g, self.lr, out=t)
        v *= self.momentum
        v -= t
        phi -= t
        np.multiply(v, self.momentum, out=t)
        phi += t


@dataclass(frozen=True)
class SGD(ArrayOptimizer):
    """``torch.optim.SGD`` (maximize=False), following its documented algorithm.

    With mu = momentum, tau = dampening, lambda = weight_decay, at step t = 1, 2, ...::

        g <- g + lambda theta
        if mu != 0:
            b_t <- g                              if t == 1   (undamped, even if tau != 0)
            b_t <- mu b_{t-1} + (1 - tau) g       otherwise
            g   <- g + mu b_t   if nesterov else   b_t
        theta <- theta - lr g

    Relation to the velocity forms (dampening 0, no weight decay; g = full gradient):

    * ``nesterov=False``: v_t = -lr b_t satisfies v_t = mu v_{t-1} - lr g_t with
      v_0 = 0 (the t = 1 case b_1 = g_1 is the same recursion from b_0 = 0), so
      ``sgd(lr, momentum=beta)`` has exactly the iterates theta_t of
      ``heavy_ball(lr, beta)``.
    * ``nesterov=True``: theta' = theta - lr g - lr mu b_t = theta - lr g + mu v_t,
      which is ``Nesterov``'s phi update, so torch's params are the look-ahead
      point phi_t = theta_t + beta v_t of the textbook form (same iterates as
      ``nesterov(lr, beta)``; phi_0 = theta_0 since v_0 = 0).

    Both are identities in exact arithmetic; in floating point the iterates
    agree to rounding (~1e-15 relative), not bit for bit. With weight decay the
    same holds for the loss L + lambda |theta|^2 / 2.
    State: ``{"momentum_buffer": b_t, "step": t}`` (steps taken so far; the
    buffer stays zero when momentum == 0).
    """

    lr: float
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _real("lr", self.lr, 0.0))
        object.__setattr__(self, "momentum", _real("momentum", self.momentum, 0.0, strict=False))
        object.__setattr__(self, "dampening", _real("dampening", self.dampening, 0.0, strict=False))
        object.__setattr__(
            self, "weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False)
        )
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise ValueError(f"nesterov must be True or False, got {self.nesterov!r}")
        object.__setattr__(self, "nesterov", bool(self.nesterov))
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening == 0 (as in torch.optim.SGD), "
                f"got momentum={self.momentum!r}, dampening={self.dampening!r}"
            )

    def _init(self, p: np.ndarray) -> State:
        """Return ``{"momentum_buffer": zeros_like(p), "step": 0}``."""
        return {"momentum_buffer": np.zeros_like(p), "step": 0}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """One step of the class-docstring algorithm (theta <- theta - lr g after the buffer update).

        Returns ``(theta', {"momentum_buffer": b_t, "step": t})``.
        """
        b = state_array(state, "momentum_buffer", p.shape)
        t = step_count(state)
        g = g + self.weight_decay * p  # a new array: never aliases the caller's grads
        if self.momentum != 0.0:
            if t == 0:
                b = g
            else:
                b = self.momentum * b + (1.0 - self.dampening) * g
            g = g + self.momentum * b if self.nesterov else b
        else:
            b = b.copy()
        return p - self.lr * g, {"momentum_buffer": b, "step": t + 1}

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same arithmetic in place, in two scratch arrays (one without weight decay)."""
        b = state_array_(state, "momentum_buffer", p.shape)
        t = step_count(state)
        wd, mu = self.weight_decay, self.momentum
        if wd:
            d, tmp = scratch(2, p)
            np.multiply(p, wd, out=d)
            d += g  # g + wd theta
        else:
            d, (tmp,) = g, scratch(1, p)
        direction = d
        if mu != 0.0:
            if t == 0:
                np.copyto(b, d)
            else:
                b *= mu
                if self.dampening:
                    np.multiply(d, 1.0 - self.dampening, out=tmp)
                    b += tmp
                else:
                    b += d
            if self.nesterov:
                np.multiply(b, mu, out=tmp)
                tmp += d
                direction = tmp
            else:
                direction = b
        np.multiply(direction, self.lr, out=tmp)
        p -= tmp
        state["step"] = t + 1


def heavy_ball(lr: float, momentum: float) -> HeavyBall:
    """Polyak heavy ball: v <- beta v - eta g(theta); theta <- theta + v (0 <= beta < 1)."""
    return HeavyBall(lr=lr, momentum=momentum)


def nesterov(lr: float, momentum: float) -> Nesterov:
    """Nesterov momentum on the look-ahead point phi = theta + beta v (see ``Nesterov``).

    v <- beta v - eta g(phi);  phi <- phi - eta g(phi) + beta v_new   (0 <= beta < 1).
    """
    return Nesterov(lr=lr, momentum=momentum)


def nesterov_lookahead_step(
    theta, v, grad_fn: GradFn, lr: float, momentum: float
) -> tuple[np.ndarray, np.ndarray]:
    """Textbook Nesterov step with an explicit gradient oracle.

    v_{t+1} = beta v_t - eta grad_fn(theta_t + beta v_t);   theta_{t+1} = theta_t + v_{t+1}.

    ``theta`` and ``v`` are arrays of one shape (any). Returns ``(theta_{t+1}, v_{t+1})``;
    inputs are not mutated.
    """
    lr, beta = _real("lr", lr, 0.0), _momentum(momentum)
    th = _array("theta", theta)
    vel = _array("v", v, th.shape)
    if not callable(grad_fn):
        raise ValueError(f"grad_fn must be a callable theta -> gradient, got {type(grad_fn).__name__}")
    g = np.asarray(grad_fn(th + beta * vel), dtype=float)
    if g.shape != th.shape:
        raise ValueError(f"grad_fn must return an array of shape {th.shape}, got {g.shape}")
    v_new = beta * vel - lr * g
    return th + v_new, v_new


def sgd(
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> SGD:
    """``torch.optim.SGD``: g <- g + wd theta; b <- g (first step) or mu b + (1 - tau) g;
    g <- g + mu b (nesterov) or b; theta <- theta - lr g.  See ``SGD`` for the relations
    to ``heavy_ball`` and ``nesterov``.
    """
    return SGD(
        lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay
    )
