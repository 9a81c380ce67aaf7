"""Test problems with closed-form (hand-derived) loss, gradient and Hessian, all float64.

Each factory returns a frozen :class:`Problem`; ``loss``, ``grad`` and ``hessian``
accept any array-like of shape ``(dim,)`` and always return fresh arrays.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from numeric.validation import _int, _real, _vector

__all__ = ["Problem", "quadratic", "rosenbrock", "factorization"]


@dataclass(frozen=True, eq=False)
class Problem:
    """A differentiable loss L: R^dim -> R with its gradient and Hessian.

    ``minimizer`` is one global minimizer (read-only array) or None if there is
    none / it is not unique; ``spectrum`` holds the Hessian eigenvalues of a
    quadratic problem (None otherwise); ``formula`` is a plain-text definition.
    """

    name: str
    dim: int
    loss: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    hessian: Callable[[np.ndarray], np.ndarray]
    minimizer: np.ndarray | None
    formula: str
    spectrum: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        _int("dim", self.dim, 1)
        if self.minimizer is not None:
            m = _vector("minimizer", self.minimizer, self.dim).copy()
            m.setflags(write=False)
            object.__setattr__(self, "minimizer", m)


def _point(theta, n: int) -> np.ndarray:
    """Return theta as a float array of shape (n,) (nan/inf are passed through)."""
    return _vector("theta", theta, n, finite=False)


def _rotation_2d(angle: float) -> np.ndarray:
    """Q = [[cos a, -sin a], [sin a, cos a]]."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _orthogonal(rotation, n: int, seed) -> np.ndarray:
    """Build/validate the orthogonal matrix Q used by :func:`quadratic`."""
    if rotation is None:
        if n == 2:
            return _rotation_2d(math.pi / 6)
        rng = np.random.default_rng(_int("seed", seed, 0))
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        signs = np.where(np.diag(r) < 0, -1.0, 1.0)  # fix column signs -> deterministic Q
        return q * signs
    if isinstance(rotation, numbers.Real) and not isinstance(rotation, bool):
        if n != 2:
            raise ValueError(
                f"a rotation angle only makes sense for 2 eigenvalues, got {n}; pass an (n, n) orthogonal array"
            )
        return _rotation_2d(_real("rotation", rotation))
    try:
        q = np.asarray(rotation, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"rotation must be None, an angle or an ({n}, {n}) orthogonal array, got {type(rotation).__name__}"
        ) from None
    if q.shape != (n, n):
        raise ValueError(f"rotation must have shape ({n}, {n}) to match the eigenvalues, got {q.shape}")
    if not np.all(np.isfinite(q)):
        raise ValueError("rotation must be finite, got nan/inf entries")
    dev = float(np.max(np.abs(q.T @ q - np.eye(n))))
    if dev > 1e-10:
        raise ValueError(
            f"rotation must be orthogonal (Q^T Q = I), max deviation {dev:.3g}; use e.g. np.linalg.qr(A)[0]"
        )
    return q.copy()


def quadratic(eigenvalues, rotation=None, seed: int = 0) -> Problem:
    """L(theta) = 1/2 theta^T H theta with H = Q diag(lambda) Q^T; grad = H theta; Hessian = H.

    ``rotation``: None -> angle pi/6 in 2-D, otherwise a seeded random orthogonal Q
    (QR of a normal matrix with column signs fixed); a float -> 2-D rotation by that
    angle; an (n, n) orthogonal array -> used as Q. Eigenvalues may be any finite
    reals (indefinite allowed); ``minimizer`` is 0 only if all eigenvalues are > 0.
    """
    lam = _vector("eigenvalues", eigenvalues)
    n = lam.size
    q = _orthogonal(rotation, n, seed)
    h = (q * lam) @ q.T
    h = 0.5 * (h + h.T)
    h.setflags(write=False)

    def loss(theta) -> float:
        """L = 1/2 theta^T H theta."""
        th = _point(theta, n)
        return float(0.5 * th @ h @ th)

    def grad(theta) -> np.ndarray:
        """grad L = H theta."""
        return h @ _point(theta, n)

    def hessian(theta) -> np.ndarray:
        """Hess L = H (constant)."""
        _point(theta, n)
        return h.copy()

    return Problem(
        name="quadratic",
        dim=n,
        loss=loss,
        grad=grad,
        hessian=hessian,
        minimizer=np.zeros(n) if np.all(lam > 0) else None,
        formula="L(theta) = 0.5 * theta^T H theta,  H = Q diag(lambda) Q^T",
        spectrum=tuple(float(v) for v in lam),
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    """L(x, y) = (a - x)^2 + b (y - x^2)^2; minimizer (a, a^2).

    grad = (-2(a - x) - 4 b x (y - x^2),  2 b (y - x^2))
    Hess = [[2 - 4 b y + 12 b x^2, -4 b x], [-4 b x, 2 b]]
    """
    a = _real("a", a)
    b = _real("b", b, 0.0)

    def loss(theta) -> float:
        """L = (a - x)^2 + b (y - x^2)^2."""
        x, y = _point(theta, 2)
        return float((a - x) ** 2 + b * (y - x * x) ** 2)

    def grad(theta) -> np.ndarray:
        """grad L = (-2(a - x) - 4 b x (y - x^2), 2 b (y - x^2))."""
        x, y = _point(theta, 2)
        r = y - x * x
        return np.array([-2.0 * (a - x) - 4.0 * b * x * r, 2.0 * b * r])

    def hessian(theta) -> np.ndarray:
        """Hess L = [[2 - 4 b y + 12 b x^2, -4 b x], [-4 b x, 2 b]]."""
        x, y = _point(theta, 2)
        off = -4.0 * b * x
        return np.array([[2.0 - 4.0 * b * y + 12.0 * b * x * x, off], [off, 2.0 * b]])

    return Problem(
        name="rosenbrock",
        dim=2,
        loss=loss,
        grad=grad,
        hessian=hessian,
        minimizer=np.array([a, a * a]),
        formula=f"L(x, y) = (a - x)^2 + b * (y - x^2)^2,  a = {a:g}, b = {b:g}",
    )


def factorization() -> Problem:
    """Scalar two-layer linear net L(w1, w2) = 1/2 (w1 w2 - 1)^2 (non-convex).

    With r = w1 w2 - 1: grad = (r w2, r w1), Hess = [[w2^2, 2 w1 w2 - 1], [2 w1 w2 - 1, w1^2]].
    Every point of the hyperbola w1 w2 = 1 is a global minimizer; ``minimizer`` is (1, 1).
    """

    def loss(theta) -> float:
        """L = 1/2 (w1 w2 - 1)^2."""
        w1, w2 = _point(theta, 2)
        return float(0.5 * (w1 * w2 - 1.0) ** 2)

    def grad(theta) -> np.ndarray:
        """grad L = (r w2, r w1), r = w1 w2 - 1."""
        w1, w2 = _point(theta, 2)
        r = w1 * w2 - 1.0
        return np.array([r * w2, r * w1])

    def hessian(theta) -> np.ndarray:
        """Hess L = [[w2^2, 2 w1 w2 - 1], [2 w1 w2 - 1, w1^2]]."""
        w1, w2 = _point(theta, 2)
        off = 2.0 * w1 * w2 - 1.0
        return np.array([[w2 * w2, off], [off, w1 * w1]])

    return Problem(
        name="factorization",
        dim=2,
        loss=loss,
        grad=grad,
        hessian=hessian,
        minimizer=np.array([1.0, 1.0]),
        formula="L(w1, w2) = 0.5 * (w1 * w2 - 1)^2",
    )
