"""Benchmark: the top Hessian eigenvalue of a ~1e5-parameter network from exact HVPs in O(n) memory.

    python benchmarks/lanczos_large.py [--inputs 100 --hidden 1000 --samples 500 --tol 1e-6]

Model: a 2-layer tanh network f(x) = w2^T tanh(W1 x + b1) + b2 with mean squared error and L2
regularization, L = (1/2N) sum_k (f(x_k) - y_k)^2 + (lam/2) ||theta||^2. Its HVP is the hand-derived
Pearlmutter R-operator (forward R-pass, then the backward pass differentiated along v), so H is never
formed: memory is a few parameter vectors plus the N x hidden activations. The HVP is first checked
against central differences of the hand-written gradient.

Prints time, HVPs, tracemalloc peak memory and the eigenvalue for ARPACK Lanczos
(numeric.autodiff.hessian.top_eigenvalues, method="lanczos"), hand-written power iteration (method="power") and
the largest Ritz value of the hand-written ``lanczos`` tridiagonalization, next to the n^2 * 8 bytes a
dense Hessian would need. Not a test: numbers depend on the machine. On a machine with few cores, run
with OPENBLAS_NUM_THREADS=1: NumPy and SciPy each bundle their own OpenBLAS, and their two thread pools
competing inside ARPACK's reverse-communication loop made the eigsh row several times slower here.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from numeric.autodiff.hessian import lanczos, top_eigenvalues  # noqa: E402


class TanhNet:
    """Parameters theta = [W1 (h, d) row-major, b1 (h), w2 (h), b2 ()]; MSE + L2."""

    def __init__(self, d: int, h: int, N: int, lam: float, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.d, self.h, self.N, self.lam = d, h, N, lam
        self.X = rng.standard_normal((N, d))
        teacher = np.tanh(self.X @ rng.standard_normal((d, 8)) / np.sqrt(d)) @ rng.standard_normal(8)
        self.y = teacher + 0.1 * rng.standard_normal(N)
        self.n = h * d + 2 * h + 1
        self.theta = np.concatenate([rng.standard_normal(h * d) / np.sqrt(d), np.zeros(h),
                                     rng.standard_normal(h) / np.sqrt(h), [0.0]])

    def unpack(self, v):
        h, d = self.h, self.d
        return v[: h * d].reshape(h, d), v[h * d: h * d + h], v[h * d + h: h * d + 2 * h], v[-1]

    def _forward(self, theta):
        W1, b1, w2, b2 = self.unpack(theta)
        a = np.tanh(self.X @ W1.T + b1)  # (N, h)
        r = (a @ w2 + b2 - self.y) / self.N  # dL/df
        return W1, w2, a, r

    def grad(self, theta):
        """dL/dW1 = dz^T X, dL/db1 = sum dz, dL/dw2 = a^T r, dL/db2 = sum r, dz = (r w2^T) * (1 - a^2)."""
        W1, w2, a, r = self._forward(theta)
        dz = np.outer(r, w2) * (1 - a * a)
        g = np.concatenate([(dz.T @ self.X).ravel(), dz.sum(0), a.T @ r, [r.sum()]])
        return g + self.lam * theta

    def hvp(self, theta, v):
        """Pearlmutter's R-operator R{grad} = H v, applied to each line of the forward and backward pass."""
        W1, w2, a, r = self._forward(theta)
        V1, c1, u2, c2 = self.unpack(v)
        s = 1 - a * a  # tanh'
        Ra = s * (self.X @ V1.T + c1)  # R{z} = X V1^T + c1, R{a} = tanh'(z) R{z}
        Rr = (Ra @ w2 + a @ u2 + c2) / self.N  # R{f} / N
        Rdz = (np.outer(Rr, w2) + np.outer(r, u2)) * s - np.outer(r, w2) * 2 * a * Ra  # R{(r w2^T) * (1 - a^2)}
        Hv = np.concatenate([(Rdz.T @ self.X).ravel(), Rdz.sum(0), Ra.T @ r + a.T @ Rr, [Rr.sum()]])
        return Hv + self.lam * v


def measure(fn):
    """(result, seconds, peak traced bytes) of fn()."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak


def fmt_bytes(b: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if b < 1024 or unit == "TB":
            return f"{b:.1f} {unit}"
        b /= 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=100)
    p.add_argument("--hidden", type=int, default=1000)
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--lam", type=float, default=1e-3)
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--ritz-steps", type=int, default=40)
    args = p.parse_args()
    net = TanhNet(args.inputs, args.hidden, args.samples, args.lam)
    n, th = net.n, net.theta
    hvp = lambda v: net.hvp(th, v)  # noqa: E731

    rng = np.random.default_rng(1)
    v, eps = rng.standard_normal(n), 1e-5
    fd = (net.grad(th + eps * v) - net.grad(th - eps * v)) / (2 * eps)
    rel = np.linalg.norm(hvp(v) - fd) / np.linalg.norm(fd)
    print(f"n = {n} parameters ({args.inputs}-{args.hidden}-1 tanh net, N = {args.samples}); "
          f"HVP vs central differences of the gradient: relative error {rel:.1e}")
    _, t_hvp, m_hvp = measure(lambda: hvp(v))
    print(f"one HVP: {t_hvp * 1e3:.1f} ms, peak {fmt_bytes(m_hvp)}; one parameter vector: {fmt_bytes(8 * n)}; "
          f"dense Hessian n^2 * 8 B = {fmt_bytes(8.0 * n * n)}\n")

    rows = []
    res, dt, peak = measure(lambda: top_eigenvalues(hvp, n, k=1, method="lanczos", tol=args.tol))
    rows.append(("Lanczos (ARPACK eigsh)", res.eigenvalues[0], res.n_hvp, dt, peak))
    res, dt, peak = measure(lambda: top_eigenvalues(hvp, n, k=1, method="power", tol=args.tol, maxiter=5000))
    rows.append(("power iteration", res.eigenvalues[0], res.n_hvp, dt, peak))
    m = args.ritz_steps
    (a, b), dt, peak = measure(lambda: lanczos(hvp, n, m, seed=0))
    ritz = np.linalg.eigvalsh(np.diag(a) + np.diag(b, 1) + np.diag(b, -1))[-1]
    rows.append((f"hand-written lanczos, m={m}", ritz, a.size, dt, peak))

    print(f"{'method':30s} {'lambda_max':>14s} {'HVPs':>6s} {'time s':>8s} {'peak memory':>12s} {'/ dense H':>10s}")
    for name, lam, k, dt, peak in rows:
        print(f"{name:30s} {lam:14.8f} {k:6d} {dt:8.2f} {fmt_bytes(peak):>12s} {peak / (8.0 * n * n):10.1e}")
    print(f"{'dense Hessian (not formed)':30s} {'':>14s} {n:6d} {'':>8s} {fmt_bytes(8.0 * n * n):>12s} {1:10.1e}")


if __name__ == "__main__":
    main()
