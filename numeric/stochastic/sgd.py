"""Minibatch SGD (optionally heavy ball) on per-sample losses: vectorised paths, single runs, exact moments.

Update with batch b_t drawn afresh each step (independent of the past), g_b = batch-mean gradient:

    theta_{t+1} = theta_t - lr g_{b_t}(theta_t) + momentum (theta_t - theta_{t-1}),   theta_{-1} = theta_0.

On the quadratic per-sample model l_i = 1/2 theta^T H_i theta + g_i^T theta the batch gradient is
H_b theta + g_b (H_b, g_b the batch means), so with z_t = (theta_t, theta_{t-1}) the step is affine,
z_{t+1} = M_b z_t + c_b, and because b_t is independent of z_t the moments propagate exactly:

    E z_{t+1} = sum_b p_b (M_b E z_t + c_b),
    E z_{t+1} z_{t+1}^T = sum_b p_b (M_b S_t M_b^T + M_b m_t c_b^T + c_b m_t^T M_b^T + c_b c_b^T).

``exact_moments`` evaluates these sums over the enumerated batch distribution (``all_batches``): no
variance-factor formula enters, so it is an independent reference for the derived ones.
``second_moment_operator`` is the linear part S -> sum_b p_b M_b S M_b^T (the mean-square growth), and
``exact_stationary`` solves the fixed-point equations of both recursions.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from numeric.stochastic.per_sample import PerSampleProblem
from numeric.stochastic.sampling import _draw, _rng, _sizes, all_batches
from numeric.validation import _array, _int, _real, _vector

__all__ = ["sgd_paths", "sgd_run", "exact_moments", "exact_distribution_1d", "second_moment_operator",
           "exact_stationary", "TABLE_LIMIT"]

TABLE_LIMIT = 20_000  # largest table of batch sums sgd_paths builds (n^q tuples or C(n, B) subsets)


def _momentum(value) -> float:
    """0 <= momentum < 1."""
    m = _real("momentum", value, 0.0, strict=False)
    if m >= 1.0:
        raise ValueError(f"momentum must be a finite number with 0 <= momentum < 1, got {value!r}")
    return m


def _data_1d(curvatures, offsets) -> tuple[np.ndarray, np.ndarray]:
    """Curvatures a_i (n,) and offsets g_i (n,) (None -> zeros)."""
    a = _vector("curvatures", curvatures)
    g = np.zeros_like(a) if offsets is None else _vector("offsets", offsets, a.size)
    return a, g


def _floyd(rng: np.random.Generator, n: int, k: int, paths: int) -> np.ndarray:
    """(k, paths) index columns, each column a uniform k-subset of range(n): Floyd's algorithm (Bentley &
    Floyd 1987, "Programming pearls: a sample of brilliance", CACM 30:754-757), vectorised over columns:
    for j = n-k..n-1 draw t uniform in [0, j]; keep t unless already chosen, else keep j."""
    chosen = np.empty((k, paths), dtype=np.intp)
    for row, j in enumerate(range(n - k, n)):
        t = rng.integers(0, j + 1, size=paths)
        dup = np.zeros(paths, dtype=bool)
        for r in range(row):
            dup |= chosen[r] == t
        chosen[row] = np.where(dup, j, t)
    return chosen


def _batch_mean_sampler(a, g, batch, with_replacement, paths, rng):
    """A function () -> (a_b, g_b), the batch means of curvature and offset for ``paths`` independent batches.

    With replacement: the batch is cut into groups of q slots (n^q <= ``TABLE_LIMIT``), and each group's sum
    is one uniform index into the table of sums over all n^q ordered q-tuples (exact: the slots are i.i.d.).
    Without replacement: a uniform index into the table of all C(n, B) subsets (at most ``TABLE_LIMIT``),
    else Floyd's algorithm on the smaller of the batch and its complement (mean = (sum of all - sum of the
    complement) / B).
    """
    n = a.size
    if with_replacement:
        q = 1
        while q < batch and n ** (q + 1) <= TABLE_LIMIT:
            q += 1
        groups = [q] * (batch // q) + ([batch % q] if batch % q else [])
        tables = {}
        for s in set(groups):
            idx = np.array(list(itertools.product(range(n), repeat=s)), dtype=np.intp)
            tables[s] = (a[idx].sum(axis=1), g[idx].sum(axis=1))

        def iid():
            sa, sg = np.zeros(paths), np.zeros(paths)
            for s in groups:
                k = rng.integers(0, n ** s, size=paths)
                sa += tables[s][0][k]
                sg += tables[s][1][k]
            return sa / batch, sg / batch
        return iid
    if batch == n:
        am, gm = a.mean(), g.mean()
        return lambda: (np.full(paths, am), np.full(paths, gm))
    size = math.comb(n, batch)
    if size <= TABLE_LIMIT:
        idx = np.array(list(itertools.combinations(range(n), batch)), dtype=np.intp)
        ta, tg = a[idx].mean(axis=1), g[idx].mean(axis=1)

        def from_table():
            k = rng.integers(0, size, size=paths)
            return ta[k], tg[k]
        return from_table
    if batch <= n - batch:
        def subset():
            idx = _floyd(rng, n, batch, paths)
            return a[idx].sum(axis=0) / batch, g[idx].sum(axis=0) / batch
        return subset
    sa, sg = a.sum(), g.sum()

    def complement():
        idx = _floyd(rng, n, n - batch, paths)
        return (sa - a[idx].sum(axis=0)) / batch, (sg - g[idx].sum(axis=0)) / batch
    return complement


def sgd_paths(curvatures, offsets, theta0, lr, batch, steps, paths, rng, with_replacement=False, momentum=0.0,
              every=1):
    """``paths`` independent 1-D SGD runs on l_i = 1/2 a_i theta^2 + g_i theta; returns (steps+1, paths).

    Each step and path draws its own batch; only the batch means (a_b, g_b) matter:
    theta+ = theta - lr (a_b theta + g_b) + momentum (theta - theta_prev).  ``theta0`` is a number or a
    (paths,) array.  The batch means are drawn exactly from the batch distribution (tables of batch sums,
    or Floyd's subset algorithm for large n without replacement; see ``_batch_mean_sampler``).
    ``every = k > 1`` keeps only t = 0, k, 2k, ..., steps (steps must be a multiple of k), to save memory:
    shape (steps // k + 1, paths).  Diverging paths become inf/nan without warnings.
    """
    a, g = _data_1d(curvatures, offsets)
    n, batch = _sizes(a.size, batch, with_replacement)
    lr = _real("lr", lr, 0.0)
    steps = _int("steps", steps, 0)
    paths = _int("paths", paths, 1)
    rng = _rng(rng)
    beta = _momentum(momentum)
    every = _int("every", every, 1)
    if steps % every:
        raise ValueError(f"steps = {steps} must be a multiple of every = {every}")
    x0 = _array("theta0", theta0)
    if x0.ndim == 0:
        x0 = np.full(paths, float(x0))
    x0 = _array("theta0", x0, (paths,))

    draw = _batch_mean_sampler(a, g, batch, with_replacement, paths, rng)
    out = np.empty((steps // every + 1, paths))
    out[0] = x0
    x, prev = x0.copy(), x0.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            ab, gb = draw()
            new = x - lr * (ab * x + gb)
            if beta:
                new += beta * (x - prev)
            prev, x = x, new
            if t % every == 0:
                out[t // every] = x
    return out


def sgd_run(problem, theta0, lr, batch, steps, rng, with_replacement=False, momentum=0.0):
    """One SGD (heavy-ball when momentum > 0) run on a ``PerSampleProblem``; returns (steps+1, dim).

    theta+ = theta - lr batch_grad(theta, b) + momentum (theta - theta_prev), b = ``batch_indices`` each step.
    """
    if not isinstance(problem, PerSampleProblem):
        raise ValueError(f"problem must be a PerSampleProblem (numeric.stochastic.per_sample), "
                         f"got {type(problem).__name__}")
    x = _vector("theta0", theta0, problem.dim).copy()
    lr = _real("lr", lr, 0.0)
    steps = _int("steps", steps, 0)
    rng = _rng(rng)
    beta = _momentum(momentum)
    n, batch = _sizes(problem.n, batch, with_replacement)
    out = np.empty((steps + 1, problem.dim))
    out[0] = x
    prev = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            idx = _draw(rng, n, batch, with_replacement)
            x = out[t]
            new = x - lr * problem._grads(x, idx).mean(axis=0)
            if beta:
                new = new + beta * (x - prev)
            prev = x
            out[t + 1] = new
    return out


def _quadratic_data(hessians, offsets) -> tuple[np.ndarray, np.ndarray]:
    """Hessians (n,) or (n, d, d) and offsets (n,) / (n, d) / None -> arrays (n, d, d), (n, d)."""
    h = _array("hessians", hessians)
    if h.ndim == 1:
        h = h[:, None, None]
    if h.ndim != 3 or h.shape[1] != h.shape[2]:
        raise ValueError(f"hessians must be curvatures (n,) or matrices (n, d, d), got shape {h.shape}")
    n, d = h.shape[:2]
    if offsets is None:
        g = np.zeros((n, d))
    else:
        g = _array("offsets", offsets)
        if g.ndim == 1 and d == 1:
            g = g[:, None]
        if g.shape != (n, d):
            raise ValueError(f"offsets must have shape ({n}, {d}) to match the hessians, got {g.shape}")
    return h, g


def _batch_table(h, g, batch, with_replacement):
    """Probabilities p_b (K,), batch-mean Hessians H_b (K, d, d) and offsets g_b (K, d) of all batches."""
    batches = all_batches(h.shape[0], batch, with_replacement)
    idx = np.array([b for b, _ in batches], dtype=np.intp)
    p = np.array([q for _, q in batches])
    return p, h[idx].mean(axis=1), g[idx].mean(axis=1)


def _affine_table(hessians, offsets, lr, batch, with_replacement, momentum):
    """Validated inputs -> (p (K,), M_b (K, dz, dz), c_b (K, dz), d): the affine step z+ = M_b z + c_b of
    every batch b with its probability; z = theta (dz = d) or (theta, theta_prev) (dz = 2d) with momentum."""
    h, g = _quadratic_data(hessians, offsets)
    n, d = h.shape[:2]
    _sizes(n, batch, with_replacement)
    lr = _real("lr", lr, 0.0)
    beta = _momentum(momentum)
    p, hb, gb = _batch_table(h, g, batch, with_replacement)
    k = p.size
    eye = np.eye(d)
    if not beta:
        return p, eye - lr * hb, -lr * gb, d
    m_b = np.zeros((k, 2 * d, 2 * d))
    m_b[:, :d, :d] = (1.0 + beta) * eye - lr * hb
    m_b[:, :d, d:] = -beta * eye
    m_b[:, d:, :d] = eye
    c_b = np.zeros((k, 2 * d))
    c_b[:, :d] = -lr * gb
    return p, m_b, c_b, d


def _second_step(p, m_b, c_b, m, s):
    """sum_b p_b (M_b S M_b^T + M_b m c_b^T + c_b m^T M_b^T + c_b c_b^T)."""
    ms = np.einsum("k,kij,kmj->im", p, m_b @ s, m_b)
    cross = np.einsum("k,ki,kj->ij", p, m_b @ m, c_b)
    return ms + cross + cross.T + np.einsum("k,ki,kj->ij", p, c_b, c_b)


def _packaged(mean, second, d, momentum: bool) -> dict:
    """The result dict of exact_moments / exact_stationary (leading axes kept)."""
    out = {"mean": mean[..., :d].copy(), "second": second[..., :d, :d].copy()}
    out["covariance"] = out["second"] - out["mean"][..., :, None] * out["mean"][..., None, :]
    if momentum:
        out["state_mean"] = mean
        out["state_second"] = second
    return out


def exact_moments(hessians, offsets, theta0, lr, batch, steps, with_replacement=False, momentum=0.0):
    """Exact E theta_t and E theta_t theta_t^T of minibatch SGD / heavy ball on the quadratic per-sample
    model l_i = 1/2 theta^T H_i theta + g_i^T theta.

    Enumerates ``all_batches`` each step and propagates the first and second moments of the affine map
    z+ = M_b z + c_b (z = theta, or (theta, theta_prev) with momentum).  Returns a dict with
    "mean" (steps+1, d), "second" (steps+1, d, d) and "covariance" (steps+1, d, d); with momentum > 0
    also "state_mean" (steps+1, 2d) and "state_second" (steps+1, 2d, 2d) of z = (theta_t, theta_{t-1}).
    ``theta0`` is deterministic (theta_{-1} = theta_0).  The H_i need not be symmetric: a frozen
    preconditioner P (theta+ = theta - lr P g_b) is the same model with P H_i and P g_i.
    """
    p, m_b, c_b, d = _affine_table(hessians, offsets, lr, batch, with_replacement, momentum)
    x0 = _vector("theta0", np.atleast_1d(_array("theta0", theta0)), d)
    steps = _int("steps", steps, 0)
    dz = m_b.shape[1]
    z0 = np.concatenate([x0, x0]) if dz > d else x0
    mean = np.empty((steps + 1, dz))
    second = np.empty((steps + 1, dz, dz))
    mean[0] = z0
    second[0] = np.outer(z0, z0)
    m_bar = np.einsum("k,kij->ij", p, m_b)
    c_bar = p @ c_b
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            mean[t + 1] = m_bar @ mean[t] + c_bar
            second[t + 1] = _second_step(p, m_b, c_b, mean[t], second[t])
    return _packaged(mean, second, d, dz > d)


def _upper(dz: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-major upper-triangle index pairs (i <= j) of a dz x dz matrix."""
    return np.triu_indices(dz)


def second_moment_operator(hessians, lr, batch, with_replacement=False, momentum=0.0) -> np.ndarray:
    """The linear map S -> sum_b p_b M_b S M_b^T on symmetric S (the noise-free part of the second-moment
    recursion), as a matrix on the coordinates S_ij, i <= j, in row-major order, from enumerated batches.

    In 1-D it is the scalar E(1 - lr a_b)^2, the mean-square growth factor of E theta^2 per step; for 1-D
    heavy ball the coordinates are (E x^2, E x x_prev, E x_prev^2).  Its spectral radius < 1 is
    mean-square stability (Wu, Ma & E 2018).
    """
    h = _array("hessians", hessians)
    p, m_b, _, _ = _affine_table(h, None, lr, batch, with_replacement, momentum)
    dz = m_b.shape[1]
    iu, ju = _upper(dz)
    cols = []
    for i, j in zip(iu, ju):
        e = np.zeros((dz, dz))
        e[i, j] = e[j, i] = 1.0
        cols.append(np.einsum("k,kij,kmj->im", p, m_b @ e, m_b)[iu, ju])
    return np.array(cols).T


def exact_stationary(hessians, offsets, lr, batch, with_replacement=False, momentum=0.0) -> dict:
    """The exact stationary mean and second moment of SGD / heavy ball on the quadratic per-sample model,
    from the enumerated batch law: m = Mbar m + cbar and S = sum_b p_b (M_b S M_b^T + M_b m c_b^T +
    c_b m^T M_b^T + c_b c_b^T), solved as linear systems (the second on the i <= j coordinates).

    Returns the dict of ``exact_moments`` without the time axis, plus "growth": the spectral radius of
    ``second_moment_operator``.  Raises ValueError when it is >= 1 (no stationary law: the second moment
    diverges or, on the boundary, does not settle).
    """
    p, m_b, c_b, d = _affine_table(hessians, offsets, lr, batch, with_replacement, momentum)
    dz = m_b.shape[1]
    op = second_moment_operator(hessians, lr, batch, with_replacement, momentum)
    growth = float(np.max(np.abs(np.linalg.eigvals(op))))
    if not growth < 1.0:
        raise ValueError(f"no stationary law: the second-moment operator has spectral radius {growth:.6g} >= 1")
    m_bar = np.einsum("k,kij->ij", p, m_b)
    mean = np.linalg.solve(np.eye(dz) - m_bar, p @ c_b)
    rhs = _second_step(p, m_b, c_b, mean, np.zeros((dz, dz)))
    iu, ju = _upper(dz)
    vals = np.linalg.solve(np.eye(iu.size) - op, rhs[iu, ju])
    second = np.zeros((dz, dz))
    second[iu, ju] = vals
    second[ju, iu] = vals
    out = _packaged(mean, second, d, dz > d)
    out["growth"] = growth
    return out


def exact_distribution_1d(curvatures, offsets, theta0, lr, batch, steps, with_replacement=False):
    """The exact law of theta_steps for 1-D SGD on l_i = 1/2 a_i theta^2 + g_i theta: (values, probs) over
    all K^steps batch sequences (K = number of batches in ``all_batches``; steps <= 4 and K^steps <= 1e6).

    theta+ = (1 - lr a_b) theta - lr g_b, one independent batch per step.
    """
    a, g = _data_1d(curvatures, offsets)
    x0 = _real("theta0", theta0)
    lr = _real("lr", lr, 0.0)
    steps = _int("steps", steps, 0)
    if steps > 4:
        raise ValueError(f"steps must be at most 4 for exact enumeration of batch sequences, got {steps}")
    p, hb, gb = _batch_table(a[:, None, None], g[:, None], batch, with_replacement)
    if p.size ** steps > 1_000_000:
        raise ValueError(f"{p.size} batches over {steps} steps give {p.size ** steps} sequences, more than 1e6")
    ab, gm = hb[:, 0, 0], gb[:, 0]
    values, probs = np.array([x0]), np.array([1.0])
    for _ in range(steps):
        values = ((1.0 - lr * ab)[None, :] * values[:, None] - lr * gm[None, :]).ravel()
        probs = (probs[:, None] * p[None, :]).ravel()
    return values, probs
