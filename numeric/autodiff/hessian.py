"""The loss Hessian seen only through Hessian-vector products: eigenvalues, condition number, spectral density.

Every function takes ``hvp(v) -> H v`` for ``n`` parameters and never forms H (except
``dense_hessian``, for small models), so memory is O(n) per vector and the Hessian may come from
anything: a closed form, finite differences of a gradient, or an autodiff R-operator
(Pearlmutter 1994). Each result reports ``n_hvp``, the number of products actually evaluated.

- top eigenpairs by Lanczos (ARPACK's implicitly restarted Lanczos, ``scipy.sparse.linalg.eigsh``) or
  by hand-written power iteration with deflation;
- lambda_max / lambda_min;
- the spectral density by stochastic Lanczos quadrature (SLQ): Ubaru, Chen, Saad 2017, "Fast estimation
  of tr(f(A)) via stochastic Lanczos quadrature"; Ghorbani, Krishnan, Xiao 2019, "An investigation into
  neural net optimization via Hessian eigenvalue density".
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.sparse.linalg import LinearOperator, eigsh

from numeric.validation import _int, _real, _vector

__all__ = ["HVP", "HessianOperator", "hessian_operator", "dense_hessian", "Eigen", "top_eigenvalues",
           "Condition", "condition_number", "lanczos", "SpectralDensity", "spectral_density",
           "MAX_DENSE_N"]

HVP = Callable[[np.ndarray], np.ndarray]
MAX_DENSE_N = 5000  # dense_hessian refuses larger n unless force=True (5000^2 * 8 B = 200 MB)


class HessianOperator(LinearOperator):
    """H as a symmetric float64 ``scipy.sparse.linalg.LinearOperator``: ``H @ v = hvp(v)``.

    ``n_hvp`` counts the products evaluated so far. Each product receives a fresh copy of v (so
    ``hvp`` may keep or modify it) and its result is checked for shape (n,) and finiteness.
    """

    def __init__(self, hvp: HVP, n: int):
        if not callable(hvp):
            raise ValueError(f"hvp must be a callable v -> H v, got {type(hvp).__name__}")
        n = _int("n", n, 1)
        super().__init__(dtype=np.dtype(np.float64), shape=(n, n))
        self.hvp = hvp
        self.n_hvp = 0

    def _matvec(self, v):
        n = self.shape[0]
        out = np.asarray(self.hvp(np.array(v, dtype=np.float64).reshape(-1)), dtype=np.float64)
        self.n_hvp += 1
        if out.size != n or out.ndim > 2:
            raise ValueError(f"hvp must return an array of shape ({n},), got shape {out.shape}")
        if not np.isfinite(out).all():
            raise ValueError("hvp returned nan/inf: the Hessian-vector product is not finite at these parameters")
        return out.reshape(-1)

    def _rmatvec(self, v):
        return self._matvec(v)  # H is symmetric

    def _adjoint(self):
        return self


def hessian_operator(hvp: HVP, n: int) -> HessianOperator:
    """The n x n symmetric linear operator v -> H v, counting calls in its ``n_hvp`` attribute."""
    return HessianOperator(hvp, n)


def dense_hessian(hvp: HVP, n: int, symmetrize: bool = True, force: bool = False) -> np.ndarray:
    """H as an (n, n) array, column by column: H[:, i] = hvp(e_i) (exactly n HVPs).

    With ``symmetrize`` returns (H + H^T)/2, removing the round-off asymmetry of an approximate HVP.
    Refuses n > ``MAX_DENSE_N`` unless ``force=True``: the matrix needs n^2 * 8 bytes.
    """
    op = hessian_operator(hvp, n)
    n = op.shape[0]
    if n > MAX_DENSE_N and not force:
        raise ValueError(
            f"dense_hessian would store an n x n float64 matrix with n={n}: {n * n * 8 / 1e9:.2f} GB of memory "
            f"and n HVPs; pass force=True if you have the memory, or use top_eigenvalues / spectral_density, "
            f"which need O(n) memory per vector")
    H = np.empty((n, n))
    e = np.zeros(n)
    for i in range(n):
        e[i] = 1.0
        H[:, i] = op.matvec(e)
        e[i] = 0.0
    if symmetrize:
        H += H.T
        H *= 0.5
    return H


class Eigen(NamedTuple):
    """Eigenvalues (k,), most extreme first; eigenvectors (n, k) as unit columns; HVPs used."""
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    n_hvp: int


def _fix_signs(V: np.ndarray) -> np.ndarray:
    """Flip each column so that its entry of largest magnitude is positive (a deterministic sign)."""
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


def _power(op: HessianOperator, k: int, tol: float, maxiter: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Power iteration with projection deflation for the k eigenpairs of largest |lambda|."""
    n = op.shape[0]
    U = np.empty((n, 0))
    vals = []
    for j in range(k):
        v = rng.standard_normal(n)
        v -= U @ (U.T @ v)
        v /= np.linalg.norm(v)
        for _ in range(maxiter):
            w = op.matvec(v)
            w -= U @ (U.T @ w)  # (I - U U^T) H (I - U U^T) v, found eigenvectors removed
            rho = float(v @ w)  # Rayleigh quotient
            res = float(np.linalg.norm(w - rho * v))
            if res <= tol * abs(rho):
                break
            v = w / np.linalg.norm(w)
            v -= U @ (U.T @ v)
            v /= np.linalg.norm(v)
        else:
            raise RuntimeError(
                f"power iteration did not converge for eigenvalue {j + 1} of {k} within maxiter={maxiter} HVPs "
                f"(relative residual {res / max(abs(rho), 1e-300):.2e} > tol={tol:g}); the two largest |lambda| "
                f"are probably close (or +lambda and -lambda): raise maxiter, loosen tol, or use method='lanczos'")
        vals.append(rho)
        U = np.column_stack([U, v])
    return np.array(vals), U


def top_eigenvalues(hvp: HVP, n: int, k: int = 1, method: str = "lanczos", tol: float = 1e-10,
                    maxiter: int | None = None, seed: int = 0, which: str | None = None) -> Eigen:
    """The k extreme eigenpairs H u_i = lambda_i u_i from Hessian-vector products only.

    ``method="lanczos"``: ``scipy.sparse.linalg.eigsh`` (implicitly restarted Lanczos) on the
    ``HessianOperator`` with a seeded start vector; ``which`` is "LA" (largest algebraic, default),
    "SA" (smallest algebraic) or "LM" (largest |lambda|); ``tol`` is ARPACK's relative eigenvalue
    accuracy, ``maxiter`` its restart limit (default 10 n); needs k < n.

    ``method="power"``: power iteration v <- H v / ||H v|| with Rayleigh quotient rho = v^T H v,
    stopped when ||H v - rho v|| <= tol |rho|, then projection deflation
    H <- (I - U U^T) H (I - U U^T) for the next one. It finds the largest |lambda|, so only
    ``which="LM"`` (the default for it) is accepted; it equals "LA" when H is positive semidefinite.
    It converges like |lambda_2 / lambda_1|^t; ``maxiter`` (default 1000) counts HVPs per eigenvalue.

    Eigenvalues are sorted most extreme first: descending for "LA", ascending for "SA", by
    decreasing |lambda| for "LM". Eigenvector signs are fixed so the largest entry is positive.
    Non-convergence raises RuntimeError (``scipy.sparse.linalg.ArpackNoConvergence`` for Lanczos).
    """
    op = hessian_operator(hvp, n)
    n = op.shape[0]
    k = _int("k", k, 1)
    tol = _real("tol", tol, 0.0)
    seed = _int("seed", seed, 0)
    if maxiter is not None:
        maxiter = _int("maxiter", maxiter, 1)
    rng = np.random.default_rng(seed)
    if method == "lanczos":
        which = "LA" if which is None else which
        if which not in ("LA", "SA", "LM"):
            raise ValueError(f"which must be 'LA', 'SA' or 'LM', got {which!r}")
        if k >= n:
            raise ValueError(f"method='lanczos' needs k < n, got k={k}, n={n}; for all eigenvalues use "
                             f"numpy.linalg.eigvalsh(dense_hessian(hvp, n))")
        vals, vecs = eigsh(op, k=k, which=which, v0=rng.standard_normal(n), tol=tol, maxiter=maxiter)
    elif method == "power":
        which = "LM" if which is None else which
        if which != "LM":
            raise ValueError(f"method='power' finds the largest |lambda| (which='LM'), got which={which!r}; "
                             f"use method='lanczos' for 'LA' or 'SA'")
        if k > n:
            raise ValueError(f"k must be <= n, got k={k}, n={n}")
        vals, vecs = _power(op, k, tol, 1000 if maxiter is None else maxiter, rng)
    else:
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    key = {"LA": -vals, "SA": vals, "LM": -np.abs(vals)}[which]
    order = np.argsort(key, kind="stable")
    return Eigen(vals[order], _fix_signs(vecs[:, order]), op.n_hvp)


class Condition(NamedTuple):
    """kappa = lam_max / lam_min of a positive definite H, and the HVPs used."""
    kappa: float
    lam_max: float
    lam_min: float
    n_hvp: int


def condition_number(hvp: HVP, n: int, tol: float = 1e-10, maxiter: int | None = None,
                     seed: int = 0) -> Condition:
    """kappa(H) = lambda_max / lambda_min by two Lanczos runs (eigsh which="LA" and which="SA").

    Raises ValueError when lambda_min <= 0 (H is not positive definite: kappa is undefined there).
    Needs n >= 2. The smallest eigenvalue converges slowly when kappa is large; raise ``maxiter`` then.
    """
    op = hessian_operator(hvp, n)
    n = op.shape[0]
    if n < 2:
        raise ValueError(f"condition_number needs n >= 2 (Lanczos needs k < n), got n={n}")
    tol = _real("tol", tol, 0.0)
    seed = _int("seed", seed, 0)
    if maxiter is not None:
        maxiter = _int("maxiter", maxiter, 1)
    v0 = np.random.default_rng(seed).standard_normal(n)
    lam_max = float(eigsh(op, k=1, which="LA", v0=v0, tol=tol, maxiter=maxiter, return_eigenvectors=False)[0])
    lam_min = float(eigsh(op, k=1, which="SA", v0=v0, tol=tol, maxiter=maxiter, return_eigenvectors=False)[0])
    if lam_min <= 0:
        raise ValueError(f"the Hessian is not positive definite: lambda_max={lam_max:.6g}, "
                         f"lambda_min={lam_min:.6g} <= 0, so lambda_max/lambda_min is not a condition number")
    return Condition(lam_max / lam_min, lam_max, lam_min, op.n_hvp)


def lanczos(hvp: HVP, n: int, m: int, v0=None, seed: int = 0, return_basis: bool = False):
    """m steps of the Lanczos tridiagonalization Q^T H Q = T with full reorthogonalization.

    Starting from q_1 = v0 / ||v0|| (a seeded Gaussian vector when v0 is None)::

        w = H q_j - beta_{j-1} q_{j-1};  alpha_j = q_j^T w;  w -= alpha_j q_j
        w -= Q (Q^T w)  (twice: Gram-Schmidt against all previous q, "twice is enough")
        beta_j = ||w||;  q_{j+1} = w / beta_j

    T = tridiag(betas, alphas, betas). Returns ``(alphas, betas)`` (and the (n, m) basis Q with
    ``return_basis``); uses exactly ``len(alphas)`` HVPs. Stops early when beta_j <= 1e-10 ||T||
    (an invariant subspace: the eigenvalues of T are then exact eigenvalues of H). Full
    reorthogonalization keeps Q, so memory is O(n m). Eigenvalues of T are the Ritz values; the
    extreme ones converge to the extreme eigenvalues of H first (Kaniel-Paige).
    """
    op = hessian_operator(hvp, n)
    n = op.shape[0]
    m = _int("m", m, 1)
    if m > n:
        raise ValueError(f"m must be <= n: at most n={n} Lanczos vectors are orthogonal, got m={m}")
    if v0 is None:
        v0 = np.random.default_rng(_int("seed", seed, 0)).standard_normal(n)
    q = _vector("v0", v0, n)
    norm = np.linalg.norm(q)
    if norm == 0:
        raise ValueError("v0 must be a nonzero vector")
    Q = np.zeros((m, n))  # rows are the Lanczos vectors
    Q[0] = q / norm
    alphas, betas = [], []
    scale = 0.0
    for j in range(m):
        w = op.matvec(Q[j])
        a = float(Q[j] @ w)
        w -= a * Q[j]
        if j > 0:
            w -= betas[-1] * Q[j - 1]
        for _ in range(2):
            w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
        alphas.append(a)
        scale = max(scale, abs(a))
        if j == m - 1:
            break
        b = float(np.linalg.norm(w))
        scale = max(scale, b)
        if b <= 1e-10 * scale:
            break
        betas.append(b)
        Q[j + 1] = w / b
    alphas, betas = np.array(alphas), np.array(betas)
    return (alphas, betas, Q[: alphas.size].T.copy()) if return_basis else (alphas, betas)


class SpectralDensity(NamedTuple):
    """phi(t) on ``grid``; Gauss nodes/weights (probes, m) per probe; sigma; HVPs used."""
    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray
    sigma: float
    n_hvp: int


def spectral_density(hvp: HVP, n: int, num_probes: int = 10, lanczos_steps: int = 80, grid=None,
                     sigma: float | None = None, seed: int = 0) -> SpectralDensity:
    """Stochastic Lanczos quadrature estimate of the eigenvalue density phi(t) = (1/n) sum_i delta(t - lambda_i).

    For each Rademacher probe z (entries +-1, q = z / sqrt(n)) run m = ``lanczos_steps`` Lanczos
    steps from q, diagonalize T = Y diag(theta) Y^T and take the Gauss quadrature nodes theta_j with
    weights tau_j = Y[0, j]^2 (they sum to 1). Then (Ubaru, Chen, Saad 2017; Ghorbani et al. 2019)

        phi(t) ~ (1/P) sum_probes sum_j tau_j g_sigma(t - theta_j),   g_sigma the N(0, sigma^2) density.

    Since sum_j tau_j theta_j = q^T H q, the mean of phi is Hutchinson's estimate of trace(H)/n.
    ``sigma`` defaults to 1% of the range of the nodes; the default grid spans the nodes +- 6 sigma
    with spacing <= sigma/4, so phi integrates to 1 on it (a custom grid must cover the spectrum).
    m is capped at n; a probe stopped early by an invariant subspace pads its nodes with weight 0.
    Costs P * m HVPs and O(n m) memory.
    """
    op = hessian_operator(hvp, n)
    n = op.shape[0]
    P = _int("num_probes", num_probes, 1)
    m = min(_int("lanczos_steps", lanczos_steps, 1), n)
    rng = np.random.default_rng(_int("seed", seed, 0))
    nodes, weights = np.zeros((P, m)), np.zeros((P, m))
    for p in range(P):
        z = rng.choice(np.array([-1.0, 1.0]), size=n)
        alphas, betas = lanczos(op.matvec, n, m, v0=z)
        theta, Y = eigh_tridiagonal(alphas, betas)
        nodes[p, : theta.size], nodes[p, theta.size:] = theta, theta[-1]
        weights[p, : theta.size] = Y[0] ** 2
    lo, hi = float(nodes.min()), float(nodes.max())
    if sigma is None:
        sigma = 0.01 * (hi - lo) if hi > lo else 1e-3 * max(1.0, abs(hi))
    sigma = _real("sigma", sigma, 0.0)
    if grid is None:
        pts = int(min(max(2001, np.ceil((hi - lo + 12 * sigma) / (sigma / 4)) + 1), 200_001))
        grid = np.linspace(lo - 6 * sigma, hi + 6 * sigma, pts)
    grid = _vector("grid", grid).copy()
    if grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be a strictly increasing 1-D array with at least 2 points")
    flat_t, flat_w = nodes.ravel(), weights.ravel() / P
    density = np.empty_like(grid)
    for s in range(0, grid.size, 4096):
        d = (grid[s:s + 4096, None] - flat_t[None, :]) / sigma
        density[s:s + 4096] = np.exp(-0.5 * d * d) @ flat_w / (sigma * np.sqrt(2 * np.pi))
    return SpectralDensity(grid, density, nodes, weights, sigma, op.n_hvp)
