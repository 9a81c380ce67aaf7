"""Hermosis's Hamiltonian theory of learning (seed 002): the flow and the discrete rules it predicts.

Phase-space coordinates z = (w, X, U, beta): weights w in R^d, energy moments X in R^d,
internal energy U and inverse temperature beta > 0 (scalars); constants h (action) and
k (information).  The *Hermosis equations of learning*, taken literally from the seed
(its four displayed equations divided by -h; the signs are the seed's, not re-derived)::

    dw/dt =  -(k/(h beta)) dH/dX
    dX/dt =   (k/(h beta)) dH/dw - (k X/(h beta)) dH/dU
    dU/dt =  -(k/h) dH/dbeta + (k/(h beta)) X . dH/dX
    dbeta/dt = (k/h) dH/dU

i.e. dz/dt = -(k/h) P(z) grad H with the antisymmetric tensor P whose brackets are
{w_i, X_j} = delta_ij/beta, {U, beta} = 1, {U, X_i} = -X_i/beta (see verify/checks/hermosis.py).
A Hamiltonian is given as NumPy callables: ``grad_H(w, X, U, beta) -> (H_w, H_X, H_U, H_beta)``.

Discrete rules (protocol of ``numeric.optimizers``): ``hermosis_sgd``, ``hermosis_momentum``,
``hermosis_relativistic`` (the seed's forms) and ``relativistic_gd`` (Franca et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from numeric.flow import integrate_flow
from numeric.optimizers.momentum import _momentum, _state_array
from numeric.optimizers import State
from numeric.validation import _real, _vector

__all__ = ["Hamiltonian", "HermosisTrajectory", "classical", "relativistic", "exponential_cooling",
           "hermosis_vector_field", "hermosis_flow", "HermosisSGD", "HermosisMomentum",
           "HermosisRelativistic", "RelativisticGD", "hermosis_sgd", "hermosis_momentum",
           "hermosis_relativistic", "relativistic_gd"]

def _zero(U, beta):
    """E = 0 and its derivatives."""
    return 0.0


@dataclass(frozen=True)
class Hamiltonian:
    """H(w, X, U, beta) with its gradient; calling it returns ``(H_w, H_X, H_U, H_beta)``."""

    grad: Callable
    value: Callable | None = None

    def __call__(self, w, X, U, beta):
        return self.grad(w, X, U, beta)


def _thermal(E, E_U, E_beta):
    """Validate the thermal profile E(U, beta) and its two partial derivatives (None -> 0)."""
    for name, f in (("E", E), ("E_U", E_U), ("E_beta", E_beta)):
        if f is not None and not callable(f):
            raise ValueError(f"{name} must be a callable (U, beta) -> float or None, got {type(f).__name__}")
    return E or _zero, E_U or _zero, E_beta or _zero


def classical(loss_grad, c=1.0, k=1.0, E_U=None, E_beta=None, lam=0.0, loss=None, E=None) -> Hamiltonian:
    """H = beta |X|^2/(2k) + beta c^2 L(w)/k + lam |w|^2/2 + E(U, beta)   (seed, "Application").

    H_w = beta c^2 grad L/k + lam w,  H_X = beta X/k,  H_U = E_U,  H_beta = (|X|^2 + c^2 L)/k + E_beta.
    ``loss`` (L) and ``E`` are needed only for ``.value`` (H_beta needs L: pass ``loss``).
    """
    if not callable(loss_grad):
        raise ValueError(f"loss_grad must be a callable w -> grad L(w), got {type(loss_grad).__name__}")
    if loss is not None and not callable(loss):
        raise ValueError(f"loss must be a callable w -> L(w) or None, got {type(loss).__name__}")
    c, k, lam = _real("c", c, 0.0), _real("k", k, 0.0), _real("lam", lam, 0.0, strict=False)
    E, E_U, E_beta = _thermal(E, E_U, E_beta)
    L = loss or (lambda w: 0.0)

    def grad(w, X, U, beta):
        w, X = np.asarray(w, float), np.asarray(X, float)
        return (beta * c**2 * np.asarray(loss_grad(w), float) / k + lam * w, beta * X / k, float(E_U(U, beta)),
                float((X @ X / 2 + c**2 * L(w)) / k + E_beta(U, beta)))

    def value(w, X, U, beta):
        w, X = np.asarray(w, float), np.asarray(X, float)
        return float(beta * (X @ X / 2 + c**2 * L(w)) / k + lam * (w @ w) / 2 + E(U, beta))

    return Hamiltonian(grad, value if loss is not None else None)


def relativistic(loss_grad, c=1.0, k=1.0, E_U=None, E_beta=None, loss=None, E=None) -> Hamiltonian:
    """H = sqrt(|X|^2 + k^2/beta^2) + beta c^2 L(w)/k + E(U, beta)   (seed, relativistic kinetic energy).

    H_X = X/r with r = sqrt(|X|^2 + k^2/beta^2),  H_beta = -k^2/(beta^3 r) + c^2 L/k + E_beta.
    """
    if not callable(loss_grad):
        raise ValueError(f"loss_grad must be a callable w -> grad L(w), got {type(loss_grad).__name__}")
    c, k = _real("c", c, 0.0), _real("k", k, 0.0)
    E, E_U, E_beta = _thermal(E, E_U, E_beta)
    L = loss or (lambda w: 0.0)

    def grad(w, X, U, beta):
        w, X = np.asarray(w, float), np.asarray(X, float)
        r = np.sqrt(X @ X + (k / beta) ** 2)
        return (beta * c**2 * np.asarray(loss_grad(w), float) / k, X / r, float(E_U(U, beta)),
                float(-(k**2) / (beta**3 * r) + c**2 * L(w) / k + E_beta(U, beta)))

    def value(w, X, U, beta):
        X = np.asarray(X, float)
        return float(np.sqrt(X @ X + (k / beta) ** 2) + beta * c**2 * L(np.asarray(w, float)) / k + E(U, beta))

    return Hamiltonian(grad, value if loss is not None else None)


def exponential_cooling(gamma, h=1.0, k=1.0) -> dict:
    """E = (h gamma/k) beta U: then dbeta/dt = (k/h) E_U = gamma beta, i.e. beta(t) = beta0 e^{gamma t}.

    With ``classical`` this gives dX/dt = (c^2/h) grad L - gamma X (friction); returns
    ``{"E", "E_U", "E_beta"}`` to pass as keyword arguments.
    """
    a = _real("gamma", gamma) * _real("h", h, 0.0) / _real("k", k, 0.0)
    return {"E": lambda U, b: a * b * U, "E_U": lambda U, b: a * b, "E_beta": lambda U, b: a * U}


def hermosis_vector_field(grad_H, h=1.0, k=1.0) -> Callable[[np.ndarray], np.ndarray]:
    """The right-hand side f(z) of the Hermosis equations on the flat state z = [w, X, U, beta] (length 2d+2).

    Returns nan when beta <= 0 (outside the theory's phase space), so an integrator stops there.
    """
    if not callable(grad_H):
        raise ValueError(f"grad_H must be a callable (w, X, U, beta) -> (H_w, H_X, H_U, H_beta), got "
                         f"{type(grad_H).__name__}")
    h, k = _real("h", h, 0.0), _real("k", k, 0.0)

    def f(z):
        z = np.asarray(z, float)
        d = (z.size - 2) // 2
        w, X, U, beta = z[:d], z[d:2 * d], z[2 * d], z[2 * d + 1]
        if not beta > 0:
            return np.full(z.size, np.nan)
        Hw, HX, HU, Hb = grad_H(w.copy(), X.copy(), float(U), float(beta))
        Hw, HX = np.asarray(Hw, float), np.asarray(HX, float)
        if Hw.shape != (d,) or HX.shape != (d,):
            raise ValueError(f"grad_H must return H_w and H_X of shape ({d},), got {Hw.shape} and {HX.shape}")
        a = k / (h * beta)
        return np.concatenate([-a * HX, a * Hw - a * X * HU, [-(k / h) * Hb + a * (X @ HX), (k / h) * HU]])

    return f


@dataclass(frozen=True)
class HermosisTrajectory:
    """Samples of a Hermosis flow: t (n,), w (n, d), X (n, d), U (n,), beta (n,)."""

    t: np.ndarray
    w: np.ndarray
    X: np.ndarray
    U: np.ndarray
    beta: np.ndarray


def hermosis_flow(grad_H, w0, X0, U0, beta0, t_end, h=1.0, k=1.0, t_eval=None, **solver) -> HermosisTrajectory:
    """Integrate the Hermosis equations (module docstring) from (w0, X0, U0, beta0) on [0, t_end].

    Uses ``numeric.flow.integrate_flow`` (solve_ivp, DOP853, rtol 1e-11 by default; ``solver``
    keywords are passed on).  Raises RuntimeError if the solution leaves beta > 0 or blows up.
    """
    w0 = _vector("w0", w0)
    X0 = _vector("X0", X0, w0.size)
    U0, beta0 = _real("U0", U0), _real("beta0", beta0, 0.0)
    z0 = np.concatenate([w0, X0, [U0, beta0]])
    f, seen = hermosis_vector_field(grad_H, h, k), [beta0]

    def field(z):
        seen[0] = min(seen[0], z[-1])
        return f(z)

    try:
        t, z = integrate_flow(field, z0, t_end, t_eval=t_eval, **solver)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc} (smallest beta reached: {seen[0]:.3g}; the flow needs beta > 0, "
                           "so check the thermal profile E(U, beta) or use a smaller t_end)") from None
    d = w0.size
    return HermosisTrajectory(t, z[:, :d], z[:, d:2 * d], z[:, 2 * d], z[:, 2 * d + 1])


# --------------------------------------------------------------------------- #
# Discrete rules in the optimizer protocol.
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class HermosisSGD:
    """X <- X + zeta g;  w <- w - lr X   (seed: constant beta, eta = tau/h, zeta = tau c^2/h). State ``{"X"}``.

    The symplectic-Euler discretization of dX/dt = (c^2/h) grad L, dw/dt = -X/h (momentum kept
    first, then used): X is the accumulated gradient, not a decaying one.
    """

    lr: float
    zeta: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _real("lr", self.lr, 0.0))
        object.__setattr__(self, "zeta", _real("zeta", self.zeta, 0.0))

    def init(self, params) -> State:
        """Return ``{"X": zeros_like(params)}``."""
        return {"X": np.zeros_like(_vector("params", params))}

    def _X(self, X, g):
        return X + self.zeta * g

    def step(self, params, grads, state: State) -> tuple[np.ndarray, State]:
        """X' = update(X, g); w' = w - lr X'; returns ``(w', {"X": X'})``."""
        p = _vector("params", params)
        g = _vector("grads", grads, p.size)
        X = self._X(_state_array(state, "X", p.size), g)
        return p - self.lr * X, {"X": X}


@dataclass(frozen=True)
class HermosisMomentum(HermosisSGD):
    """X <- mu X + (1 - mu) zeta g;  w <- w - lr X   (seed: beta = beta0 e^{gamma t}, mu = e^{-gamma tau},
    zeta = c^2/(h gamma), eta = tau/h).  X is an exponential moving average of zeta g. State ``{"X"}``."""

    momentum: float = 0.9

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "momentum", _momentum(self.momentum))

    def _X(self, X, g):
        return self.momentum * X + (1.0 - self.momentum) * self.zeta * g


@dataclass(frozen=True)
class HermosisRelativistic(HermosisSGD):
    """X <- X + zeta g;  w <- w - lr X/sqrt(|X|^2 + kappa^2), kappa = k/beta   (the seed's relativistic form,
    constant beta).  Every step has |w' - w| < lr.  State ``{"X"}``."""

    kappa: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "kappa", _real("kappa", self.kappa, 0.0))

    def step(self, params, grads, state: State) -> tuple[np.ndarray, State]:
        """X' = X + zeta g; w' = w - lr X'/sqrt(|X'|^2 + kappa^2)."""
        p = _vector("params", params)
        g = _vector("grads", grads, p.size)
        X = self._X(_state_array(state, "X", p.size), g)
        return p - self.lr * X / np.sqrt(X @ X + self.kappa**2), {"X": X}


@dataclass(frozen=True)
class RelativisticGD:
    """Relativistic gradient descent (RGD), Franca, Sulam, Robinson, Vidal, "Conformal symplectic and
    relativistic optimization" (NeurIPS 2020 / J. Stat. Mech. 2020 124008, arXiv:1903.04100), as in the
    authors' reference code (github.com/guisf/rgd, ``opt_solvers.relativistic``), eps = lr, mu = momentum::

        x_{k+1/2} = x_k + sqrt(mu) v_k / sqrt(1 + delta mu |v_k|^2)
        v_{k+1/2} = sqrt(mu) v_k - eps grad f(x_{k+1/2})
        x_{k+1}   = alpha x_{k+1/2} + (1 - alpha) x_k + v_{k+1/2} / sqrt(1 + delta |v_{k+1/2}|^2)
        v_{k+1}   = sqrt(mu) v_{k+1/2}

    The gradient is taken at x_{k+1/2}, so ``params`` here is the half-step point y_k = x_{k+1/2}
    (y_0 = x_0 as v_0 = 0); the state holds ``{"x": x_k, "velocity": v_k}``.  Both relativistic
    displacements are shorter than 1/sqrt(delta) (delta > 0), whatever lr and the gradient.
    """

    lr: float
    momentum: float = 0.9
    delta: float = 0.1
    alpha: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _real("lr", self.lr, 0.0))
        object.__setattr__(self, "momentum", _momentum(self.momentum))
        object.__setattr__(self, "delta", _real("delta", self.delta, 0.0, strict=False))
        a = _real("alpha", self.alpha, 0.0, strict=False)
        if a > 1.0:
            raise ValueError(f"alpha must be a finite number with 0 <= alpha <= 1, got {self.alpha!r}")
        object.__setattr__(self, "alpha", a)

    def init(self, params) -> State:
        """Return ``{"x": params, "velocity": 0}``."""
        p = _vector("params", params)
        return {"x": p.copy(), "velocity": np.zeros_like(p)}

    def step(self, params, grads, state: State) -> tuple[np.ndarray, State]:
        """One RGD iteration from y_k = x_{k+1/2} and g = grad f(y_k); returns ``(y_{k+1}, {x_{k+1}, v_{k+1}})``."""
        y = _vector("params", params)
        g = _vector("grads", grads, y.size)
        x, v = _state_array(state, "x", y.size), _state_array(state, "velocity", y.size)
        s, dl = np.sqrt(self.momentum), self.delta
        v_half = s * v - self.lr * g
        x_new = self.alpha * y + (1 - self.alpha) * x + v_half / np.sqrt(1 + dl * (v_half @ v_half))
        v_new = s * v_half
        y_new = x_new + s * v_new / np.sqrt(1 + dl * self.momentum * (v_new @ v_new))
        return y_new, {"x": x_new, "velocity": v_new}


def hermosis_sgd(lr: float, zeta: float = 1.0) -> HermosisSGD:
    """X <- X + zeta g;  w <- w - lr X (accumulated gradient; the seed's constant-temperature rule)."""
    return HermosisSGD(lr=lr, zeta=zeta)


def hermosis_momentum(lr: float, zeta: float = 1.0, mu: float = 0.9) -> HermosisMomentum:
    """X <- mu X + (1 - mu) zeta g;  w <- w - lr X (EMA; the seed's exponential-cooling rule)."""
    return HermosisMomentum(lr=lr, zeta=zeta, momentum=mu)


def hermosis_relativistic(lr: float, zeta: float = 1.0, kappa: float = 1.0) -> HermosisRelativistic:
    """X <- X + zeta g;  w <- w - lr X/sqrt(|X|^2 + kappa^2), kappa = k/beta (the seed's relativistic rule)."""
    return HermosisRelativistic(lr=lr, zeta=zeta, kappa=kappa)


def relativistic_gd(lr: float, momentum: float = 0.9, delta: float = 0.1, alpha: float = 1.0) -> RelativisticGD:
    """Franca et al.'s relativistic gradient descent (see :class:`RelativisticGD`)."""
    return RelativisticGD(lr=lr, momentum=momentum, delta=delta, alpha=alpha)
