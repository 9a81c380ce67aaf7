"""Low-dimensional views of a loss landscape: 1-D and 2-D slices and optimizer trajectories in them.

A slice evaluates L(theta + alpha d1 + beta d2) on a grid. The directions are either random and
*filter-normalized* (Li, Xu, Taylor, Studer, Goldstein 2018, "Visualizing the loss landscape of
neural nets"), so that slices of networks with different weight scales are comparable, or the top
Hessian eigenvectors (``top_eigen_directions``), along which the curvature is largest.

Parameters are flat vectors theta of shape (n,) and ``loss(theta) -> float``;
``flatten`` / ``unflatten`` convert from and to a list of arrays with given shapes.
"""

from __future__ import annotations

import numbers
from typing import Callable, NamedTuple, Sequence

import numpy as np

from numeric.autodiff.hessian import HVP, top_eigenvalues
from numeric.validation import _int, _vector

__all__ = ["flatten", "unflatten", "random_direction", "slice_1d", "slice_2d", "project_trajectory",
           "EigenDirections", "top_eigen_directions"]

Loss = Callable[[np.ndarray], float]


def _shape(s) -> tuple[int, ...]:
    """A shape as a tuple of non-negative ints (an int n means (n,))."""
    s = (s,) if isinstance(s, numbers.Integral) else tuple(s)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in s):
        raise ValueError(f"a shape must be a tuple of non-negative integers, got {s!r}")
    return tuple(int(d) for d in s)


def flatten(arrays: Sequence) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Concatenate ravelled arrays into one float vector; returns ``(vector, shapes)``."""
    arrs = [np.asarray(a, dtype=float) for a in arrays]
    if not arrs:
        raise ValueError("flatten needs at least one array")
    return np.concatenate([a.ravel() for a in arrs]), [a.shape for a in arrs]


def unflatten(vector, shapes: Sequence) -> list[np.ndarray]:
    """Split a flat vector into arrays of the given shapes (the inverse of ``flatten``)."""
    shapes = [_shape(s) for s in shapes]
    sizes = [int(np.prod(s)) for s in shapes]
    v = _vector("vector", vector, sum(sizes), finite=False)
    ends = np.cumsum(sizes)
    return [v[e - k:e].reshape(s) for e, k, s in zip(ends, sizes, shapes)]


def _is_shapes(items) -> bool:
    """True if ``items`` is a list of shapes (ints or tuples of ints) rather than of arrays."""
    return all(isinstance(s, numbers.Integral) or (isinstance(s, tuple) and
               all(isinstance(d, numbers.Integral) for d in s)) for s in items)


def random_direction(shapes_or_params: Sequence, seed: int = 0, filter_normalize: bool = True,
                     like=None, bias: str = "zero") -> np.ndarray:
    """A Gaussian random direction d in parameter space, as a flat vector (n,).

    ``shapes_or_params`` is a list of shapes or a list of parameter arrays (then ``like`` defaults to
    them). With ``filter_normalize`` (Li et al. 2018, Sec. 4, "filter-wise normalization") each filter
    is rescaled to the norm of the corresponding filter of the reference ``like`` (a list of arrays or
    a flat vector):

        d_{i,j} <- d_{i,j} / ||d_{i,j}|| * ||theta_{i,j}||

    where a filter is a slice along axis 0 of an array with ndim >= 2 (a row of a weight matrix
    (out, in): one unit's incoming weights; d[i] of a conv kernel (out, in, h, w)). Arrays with
    ndim <= 1 (biases, norm parameters) are our choice, not the paper's formula: ``bias="zero"``
    (default) leaves them unperturbed (d = 0 there), so the slice moves only the filters whose scale the
    normalization is about; ``bias="normalize"`` treats each such array as one filter. A zero reference
    filter gives a zero direction filter. Without ``filter_normalize`` d is i.i.d. N(0, 1) everywhere.
    """
    items = list(shapes_or_params)
    if not items:
        raise ValueError("shapes_or_params must list at least one shape or parameter array")
    if _is_shapes(items):
        shapes = [_shape(s) for s in items]
    else:
        ref, shapes = flatten(items)
        like = ref if like is None else like
    if bias not in ("zero", "normalize"):
        raise ValueError(f"bias must be 'zero' or 'normalize', got {bias!r}")
    n = sum(int(np.prod(s)) for s in shapes)
    d = np.random.default_rng(_int("seed", seed, 0)).standard_normal(n)
    if not filter_normalize:
        return d
    if like is None:
        raise ValueError("filter_normalize=True needs the reference parameters: pass like=params "
                         "(a list of arrays or a flat vector), or the parameter arrays instead of shapes")
    ref = _vector("like", like if isinstance(like, np.ndarray) and like.ndim == 1 else flatten(like)[0], n)
    start = 0
    for shape in shapes:
        size = int(np.prod(shape))
        block, start = slice(start, start + size), start + size
        if size == 0:
            continue
        if len(shape) <= 1 and bias == "zero":
            d[block] = 0.0
            continue
        rows = shape[0] if len(shape) >= 2 else 1  # one filter per row (axis 0), or the whole 1-D array
        dm, rm = d[block].reshape(rows, -1), ref[block].reshape(rows, -1)
        dn, rn = np.linalg.norm(dm, axis=1, keepdims=True), np.linalg.norm(rm, axis=1, keepdims=True)
        d[block] = (dm * np.divide(rn, dn, out=np.zeros_like(dn), where=dn > 0)).ravel()
    return d


def _loss_value(loss: Loss, x: np.ndarray) -> float:
    """float(loss(x)), with a clear error when the loss does not return a scalar."""
    val = np.asarray(loss(x), dtype=float)
    if val.size != 1:
        raise ValueError(f"loss must return a scalar, got an array of shape {val.shape}")
    return float(val.reshape(()))


def _check_loss(loss) -> None:
    if not callable(loss):
        raise ValueError(f"loss must be a callable theta -> float, got {type(loss).__name__}")


def slice_1d(loss: Loss, theta, direction, alphas) -> np.ndarray:
    """Losses L(theta + alpha d) for each alpha in ``alphas``; shape (len(alphas),). Values may be inf/nan."""
    _check_loss(loss)
    th = _vector("theta", theta)
    d = _vector("direction", direction, th.size)
    a = _vector("alphas", alphas)
    return np.array([_loss_value(loss, th + ai * d) for ai in a])


def slice_2d(loss: Loss, theta, d1, d2, alphas, betas) -> np.ndarray:
    """Z[i, j] = L(theta + alphas[i] d1 + betas[j] d2); shape (len(alphas), len(betas)).

    For ``matplotlib.contour(A, B, Z)`` with ``A, B = np.meshgrid(alphas, betas)`` pass ``Z.T``.
    """
    _check_loss(loss)
    th = _vector("theta", theta)
    u, w = _vector("d1", d1, th.size), _vector("d2", d2, th.size)
    a, b = _vector("alphas", alphas), _vector("betas", betas)
    return np.array([[_loss_value(loss, th + ai * u + bj * w) for bj in b] for ai in a])


def project_trajectory(trajectory, theta_ref, d1, d2, return_residual: bool = False):
    """Coordinates (alpha_t, beta_t) of each iterate in the plane theta_ref + span(d1, d2).

    Least squares: (alpha_t, beta_t) = argmin ||theta_t - theta_ref - alpha d1 - beta d2||, which
    equals the orthogonal projection onto the plane (d1, d2 need not be orthogonal, only independent).
    Returns an array (T, 2); with ``return_residual`` also the distances (T,) of the iterates from the
    plane, which say how faithful the 2-D picture of the trajectory is.
    """
    th0 = _vector("theta_ref", theta_ref)
    n = th0.size
    D = np.column_stack([_vector("d1", d1, n), _vector("d2", d2, n)])
    traj = np.asarray(trajectory, dtype=float)
    if traj.ndim != 2 or traj.shape[1] != n or traj.shape[0] == 0:
        raise ValueError(f"trajectory must have shape (T, {n}) with T >= 1, got {traj.shape}")
    s = np.linalg.svd(D, compute_uv=False)
    if s[1] <= 1e-12 * s[0]:
        raise ValueError("d1 and d2 are linearly dependent (or zero): they do not span a plane")
    delta = (traj - th0).T
    coords = np.linalg.lstsq(D, delta, rcond=None)[0].T
    if not return_residual:
        return coords
    return coords, np.linalg.norm(delta - D @ coords.T, axis=0)


class EigenDirections(NamedTuple):
    """Top-2 Hessian eigenvectors d1, d2 (unit, orthogonal), their eigenvalues (2,), HVPs used."""
    d1: np.ndarray
    d2: np.ndarray
    eigenvalues: np.ndarray
    n_hvp: int


def top_eigen_directions(hvp: HVP, n: int, **kwargs) -> EigenDirections:
    """The two eigenvectors of the largest Hessian eigenvalues, as slice directions.

    ``top_eigenvalues(hvp, n, k=2, **kwargs)`` (Lanczos, which="LA" by default; any of its keywords
    may be passed). Along d1, a quadratic loss curves as L(theta + alpha d1) = L + (lambda_1/2) alpha^2.
    """
    if "k" in kwargs:
        raise ValueError("top_eigen_directions always uses k=2; call top_eigenvalues for other k")
    vals, vecs, n_hvp = top_eigenvalues(hvp, n, k=2, **kwargs)
    return EigenDirections(vecs[:, 0].copy(), vecs[:, 1].copy(), vals, n_hvp)
