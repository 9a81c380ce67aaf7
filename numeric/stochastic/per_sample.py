"""Finite-sum losses L(theta) = (1/n) sum_i l_i(theta) with exact per-sample gradients and Hessians.

- ``quadratic_1d(curvatures, offsets)``: l_i(theta) = 1/2 a_i theta^2 + g_i theta (dim 1);
- ``quadratic(hessians, offsets)``: l_i(theta) = 1/2 theta^T H_i theta + g_i^T theta (any dim);
- ``least_squares(X, y)``: l_i = 1/2 (x_i^T theta - y_i)^2, Hessian x_i x_i^T;
- ``logistic(X, y)``, y in {0, 1}: l_i = log(1 + e^z) - y z, z = x_i^T theta, Hessian sigma(z)(1 - sigma(z)) x_i x_i^T;
- ``sharpness_nonuniformity(hessians)``: Wu, Ma & E (2018, "How SGD selects the global minima in
  over-parameterized learning", NeurIPS): a = lambda_max(H), s = sqrt(lambda_max((1/n) sum H_i^2 - H^2)),
  H = (1/n) sum H_i.

A minibatch gradient is the mean of the per-sample gradients over the batch (indices may repeat).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import expit

from numeric.validation import _array, _vector

__all__ = ["PerSampleProblem", "QuadraticProblem", "LeastSquaresProblem", "LogisticProblem", "quadratic_1d",
           "quadratic", "least_squares", "logistic", "sharpness_nonuniformity"]


def _indices(idx, n: int) -> np.ndarray:
    """Return ``idx`` as a non-empty 1-D int array with entries in [0, n); raise ValueError otherwise."""
    if isinstance(idx, numbers.Integral) and not isinstance(idx, bool):
        idx = [idx]
    arr = np.asarray(idx)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"idx must be a non-empty 1-D array of sample indices, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"idx must hold integers, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(f"idx entries must lie in [0, {n}), got min {arr.min()} and max {arr.max()}")
    return arr.astype(np.intp, copy=False)


class PerSampleProblem:
    """A finite sum L = (1/n) sum_i l_i; subclasses supply ``_losses``, ``_grads`` and ``_hessians``
    (per-sample values at unchecked indices); the public methods validate and average.

    Attributes: ``n`` (samples), ``dim`` (parameters), ``name``.
    """

    name = "per-sample"

    def __init__(self, n: int, dim: int):
        self.n = int(n)
        self.dim = int(dim)
        self._all = np.arange(self.n)

    # --- subclass hooks: idx is an int array, theta a float (dim,) array
    def _losses(self, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _grads(self, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _hessians(self, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # --- public API
    def _theta(self, theta) -> np.ndarray:
        return _vector("theta", theta, self.dim, finite=False)

    def sample_losses(self, theta, idx) -> np.ndarray:
        """(l_i(theta))_{i in idx}, shape (len(idx),)."""
        return self._losses(self._theta(theta), _indices(idx, self.n))

    def loss(self, theta) -> float:
        """L(theta) = (1/n) sum_i l_i(theta)."""
        return float(np.mean(self._losses(self._theta(theta), self._all)))

    def sample_grads(self, theta, idx) -> np.ndarray:
        """(grad l_i(theta))_{i in idx}, shape (len(idx), dim)."""
        return self._grads(self._theta(theta), _indices(idx, self.n))

    def batch_grad(self, theta, idx) -> np.ndarray:
        """(1/|idx|) sum_{i in idx} grad l_i(theta) (repeated indices count repeatedly), shape (dim,)."""
        return self._grads(self._theta(theta), _indices(idx, self.n)).mean(axis=0)

    def grad(self, theta) -> np.ndarray:
        """grad L(theta) = (1/n) sum_i grad l_i(theta), shape (dim,)."""
        return self._grads(self._theta(theta), self._all).mean(axis=0)

    def sample_hessians(self, theta, idx) -> np.ndarray:
        """(Hess l_i(theta))_{i in idx}, shape (len(idx), dim, dim)."""
        return self._hessians(self._theta(theta), _indices(idx, self.n))

    def hessian(self, theta) -> np.ndarray:
        """Hess L(theta) = (1/n) sum_i Hess l_i(theta), shape (dim, dim)."""
        return self._hessians(self._theta(theta), self._all).mean(axis=0)

    def __repr__(self) -> str:
        return f"<{self.name}: n={self.n}, dim={self.dim}>"


class QuadraticProblem(PerSampleProblem):
    """l_i(theta) = 1/2 theta^T H_i theta + g_i^T theta; grad_i = H_i theta + g_i; Hess_i = H_i (constant).

    Attributes ``hessians`` (n, d, d), ``offsets`` (n, d) (read-only); for d = 1 also ``curvatures`` (n,).
    """

    name = "quadratic"

    def __init__(self, hessians: np.ndarray, offsets: np.ndarray):
        super().__init__(hessians.shape[0], hessians.shape[1])
        hessians = hessians.copy()
        offsets = offsets.copy()
        hessians.setflags(write=False)
        offsets.setflags(write=False)
        self.hessians = hessians
        self.offsets = offsets
        if self.dim == 1:
            self.curvatures = hessians[:, 0, 0]

    def _losses(self, theta, idx):
        h, g = self.hessians[idx], self.offsets[idx]
        return 0.5 * np.einsum("j,kjl,l->k", theta, h, theta) + g @ theta

    def _grads(self, theta, idx):
        return self.hessians[idx] @ theta + self.offsets[idx]

    def _hessians(self, theta, idx):
        return self.hessians[idx].copy()

    def minimizer(self) -> np.ndarray:
        """theta* = -H^{-1} gbar (least-squares solution when H is singular), H = mean H_i, gbar = mean g_i."""
        h = self.hessians.mean(axis=0)
        return np.linalg.lstsq(h, -self.offsets.mean(axis=0), rcond=None)[0]


def quadratic_1d(curvatures, offsets=None) -> QuadraticProblem:
    """l_i(theta) = 1/2 a_i theta^2 + g_i theta on theta in R^1; offsets g_i default to 0.

    Curvatures may have any sign (the caller decides what needs them positive).
    """
    a = _vector("curvatures", curvatures)
    g = np.zeros_like(a) if offsets is None else _vector("offsets", offsets, a.size)
    return QuadraticProblem(a[:, None, None], g[:, None])


def quadratic(hessians, offsets=None) -> QuadraticProblem:
    """l_i(theta) = 1/2 theta^T H_i theta + g_i^T theta; ``hessians`` (n, d, d) symmetric, ``offsets`` (n, d)."""
    h = _array("hessians", hessians)
    if h.ndim != 3 or h.shape[1] != h.shape[2]:
        raise ValueError(f"hessians must have shape (n, d, d), got {h.shape}")
    if not np.allclose(h, np.swapaxes(h, 1, 2), rtol=1e-12, atol=1e-12):
        raise ValueError("hessians must be symmetric (H_i = H_i^T)")
    g = np.zeros(h.shape[:2]) if offsets is None else _array("offsets", offsets, h.shape[:2])
    return QuadraticProblem(h, g)


def _design(X, y, labels: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validate the design matrix X (n, d) and targets y (n,) (0/1 labels when ``labels``)."""
    x = _array("X", X)
    if x.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n samples, d features), got shape {x.shape}")
    t = _vector("y", y, x.shape[0])
    if labels and not np.all((t == 0.0) | (t == 1.0)):
        raise ValueError("y must hold labels 0 or 1 for logistic regression")
    x, t = x.copy(), t.copy()
    x.setflags(write=False)
    t.setflags(write=False)
    return x, t


class LeastSquaresProblem(PerSampleProblem):
    """l_i = 1/2 (x_i^T theta - y_i)^2; grad_i = (x_i^T theta - y_i) x_i; Hess_i = x_i x_i^T.

    It is the quadratic model with H_i = x_i x_i^T, g_i = -y_i x_i (plus the constant y_i^2 / 2).
    """

    name = "least-squares"

    def __init__(self, X, y):
        self.X, self.y = _design(X, y, labels=False)
        super().__init__(*self.X.shape)

    def _losses(self, theta, idx):
        return 0.5 * (self.X[idx] @ theta - self.y[idx]) ** 2

    def _grads(self, theta, idx):
        x = self.X[idx]
        return (x @ theta - self.y[idx])[:, None] * x

    def _hessians(self, theta, idx):
        x = self.X[idx]
        return x[:, :, None] * x[:, None, :]

    def minimizer(self) -> np.ndarray:
        """A least-squares solution argmin ||X theta - y|| (minimum norm if not unique)."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]

    def quadratic_model(self) -> tuple[np.ndarray, np.ndarray]:
        """(H_i, g_i) = (x_i x_i^T, -y_i x_i), shapes (n, d, d) and (n, d)."""
        return self.X[:, :, None] * self.X[:, None, :], -self.y[:, None] * self.X


class LogisticProblem(PerSampleProblem):
    """l_i = log(1 + e^z) - y_i z, z = x_i^T theta; grad_i = (sigma(z) - y_i) x_i;
    Hess_i = sigma(z)(1 - sigma(z)) x_i x_i^T (sigma = expit; log(1 + e^z) via logaddexp, stable)."""

    name = "logistic"

    def __init__(self, X, y):
        self.X, self.y = _design(X, y, labels=True)
        super().__init__(*self.X.shape)

    def _losses(self, theta, idx):
        z = self.X[idx] @ theta
        return np.logaddexp(0.0, z) - self.y[idx] * z

    def _grads(self, theta, idx):
        x = self.X[idx]
        return (expit(x @ theta) - self.y[idx])[:, None] * x

    def _hessians(self, theta, idx):
        x = self.X[idx]
        p = expit(x @ theta)
        w = p * (1.0 - p)
        return w[:, None, None] * x[:, :, None] * x[:, None, :]


def least_squares(X, y) -> LeastSquaresProblem:
    """Per-sample least squares l_i = 1/2 (x_i^T theta - y_i)^2 on X (n, d), y (n,)."""
    return LeastSquaresProblem(X, y)


def logistic(X, y) -> LogisticProblem:
    """Per-sample logistic regression l_i = log(1 + e^{x_i^T theta}) - y_i x_i^T theta, labels y in {0, 1}."""
    return LogisticProblem(X, y)


def sharpness_nonuniformity(hessians) -> tuple[float, float]:
    """(a, s) of Wu, Ma & E (2018): a = lambda_max(H), s = sqrt(lambda_max((1/n) sum_i H_i^2 - H^2)),
    H = (1/n) sum_i H_i.  Accepts curvatures (n,) (then a = mean, s = population std) or (n, d, d).

    (1/n) sum H_i^2 - H^2 = (1/n) sum (H_i - H)^2 is positive semi-definite; tiny negative round-off is clipped.
    """
    h = _array("hessians", hessians)
    if h.ndim == 1:
        return float(h.mean()), float(h.std())
    if h.ndim != 3 or h.shape[1] != h.shape[2]:
        raise ValueError(f"hessians must be curvatures (n,) or matrices (n, d, d), got shape {h.shape}")
    if not np.allclose(h, np.swapaxes(h, 1, 2), rtol=1e-12, atol=1e-12):
        raise ValueError("hessians must be symmetric (H_i = H_i^T)")
    mean = h.mean(axis=0)
    dev = h - mean
    spread = np.einsum("kij,kjl->il", dev, dev) / h.shape[0]
    a = float(np.linalg.eigvalsh(mean)[-1])
    s2 = float(np.linalg.eigvalsh(0.5 * (spread + spread.T))[-1])
    return a, float(np.sqrt(max(s2, 0.0)))
