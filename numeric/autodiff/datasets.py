"""Small seeded data sets for learning-dynamics experiments; each returns ``(X, y)`` as fresh float64 arrays.

Classification sets give integer labels ``y`` (int64, shape (n,)) usable with the "ce" loss and, for two
classes, with "bce"/"mse" as 0/1 targets; regression sets give float targets of shape (n,).  Every random
set draws from ``np.random.default_rng(seed)`` only, so the same arguments give the same arrays.
"""

from __future__ import annotations

import numpy as np

from numeric.validation import _int, _real

__all__ = ["xor", "two_moons", "spirals", "teacher_student", "linear_regression", "logistic_regression"]


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The 4 corners of the unit square with y = x_1 XOR x_2: X = [[0,0],[0,1],[1,0],[1,1]], y = [0,1,1,0].

    Not linearly separable: a network needs a hidden layer to fit it.
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([0, 1, 1, 0], dtype=np.int64)


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles in 2-D, n points in total (class 0 gets ceil(n/2)), shuffled.

    class 0: (cos t, sin t),  class 1: (1 - cos t, 1/2 - sin t),  t ~ U[0, pi],  plus N(0, noise^2 I).
    """
    n, noise = _int("n", n, 2), _real("noise", noise, 0.0, strict=False)
    rng = np.random.default_rng(_int("seed", seed, 0))
    n0 = n - n // 2
    t = rng.uniform(0.0, np.pi, n)
    X = np.column_stack([np.cos(t), np.sin(t)])
    X[n0:] = np.column_stack([1.0 - np.cos(t[n0:]), 0.5 - np.sin(t[n0:])])
    X += noise * rng.standard_normal(X.shape)
    y = (np.arange(n) >= n0).astype(np.int64)
    order = rng.permutation(n)
    return X[order], y[order]


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms in 2-D, n points in total (as equal as possible), shuffled.

    Arm k, radius r in [0.05, 1]:  angle = 2 pi k / classes + 4 r + noise * N(0, 1),  x = r (cos angle, sin angle).
    Labels are the arm index k in [0, classes).
    """
    n, classes = _int("n", n, 1), _int("classes", classes, 2)
    noise, rng = _real("noise", noise, 0.0, strict=False), np.random.default_rng(_int("seed", seed, 0))
    if n < classes:
        raise ValueError(f"n must be at least classes = {classes} (one point per arm), got {n}")
    y = np.arange(n, dtype=np.int64) % classes
    r = np.empty(n)
    for k in range(classes):
        r[y == k] = np.linspace(0.05, 1.0, int(np.sum(y == k)))
    angle = 2.0 * np.pi * y / classes + 4.0 * r + noise * rng.standard_normal(n)
    X = r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    order = rng.permutation(n)
    return X[order], y[order]


def teacher_student(n: int = 256, d: int = 10, hidden: int = 16, seed: int = 0,
                    noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Regression on the output of a random one-hidden-layer tanh "teacher" network.

    X ~ N(0, I_d) of shape (n, d);  y = tanh(X A) c + noise * N(0, 1),  A ~ N(0, 1/d) (d, hidden),
    c ~ N(0, 1/hidden) (hidden,).  A student MLP([d, hidden, 1], "tanh") can fit it exactly when noise = 0.
    """
    n, d, hidden = _int("n", n, 1), _int("d", d, 1), _int("hidden", hidden, 1)
    noise, rng = _real("noise", noise, 0.0, strict=False), np.random.default_rng(_int("seed", seed, 0))
    A = rng.standard_normal((d, hidden)) / np.sqrt(d)
    c = rng.standard_normal(hidden) / np.sqrt(hidden)
    X = rng.standard_normal((n, d))
    return X, np.tanh(X @ A) @ c + noise * rng.standard_normal(n)


def linear_regression(n: int = 100, d: int = 5, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """y = X w* + noise * N(0, 1) with X ~ N(0, I_d) of shape (n, d) and w* ~ N(0, I_d).

    The least-squares loss (1/n) |X w - y|^2 has Hessian (2/n) X^T X, so its spectrum is known exactly.
    """
    n, d = _int("n", n, 1), _int("d", d, 1)
    noise, rng = _real("noise", noise, 0.0, strict=False), np.random.default_rng(_int("seed", seed, 0))
    w = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    return X, X @ w + noise * rng.standard_normal(n)


def logistic_regression(n: int = 200, d: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from a logistic model: X ~ N(0, I_d), w* ~ N(0, I_d), y ~ Bernoulli(sigmoid(X w*)) in {0, 1}.

    The classes overlap (labels are noisy), so the logistic loss has a finite minimizer with high
    probability once n is a few times d.
    """
    n, d = _int("n", n, 1), _int("d", d, 1)
    rng = np.random.default_rng(_int("seed", seed, 0))
    w = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    p = np.exp(-np.logaddexp(0.0, -(X @ w)))
    return X, (rng.uniform(size=n) < p).astype(np.int64)
