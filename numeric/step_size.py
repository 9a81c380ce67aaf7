"""What a real discrete run does: divergence, the measured critical step size, the measured rate."""

from __future__ import annotations

from typing import Callable

import numpy as np

from numeric.optimizers import GradFn, Optimizer, run
from numeric.validation import _int, _real, _vector

__all__ = ["diverges", "critical_step_size", "convergence_rate", "bisect_threshold", "bisect_bracket"]


def _target(minimizer, n: int) -> np.ndarray:
    """theta* = minimizer, or zeros(n) when None."""
    return np.zeros(n) if minimizer is None else _vector("minimizer", minimizer, n)


def diverges(
    opt: Optimizer, grad_fn: GradFn, theta0, steps: int, minimizer=None, growth: float = 1.0
) -> bool:
    """True iff after ``steps`` steps some value is non-finite or ||theta_N - theta*|| > growth * ||theta_0 - theta*||.

    theta* is ``minimizer`` (zeros if None).
    """
    th0 = _vector("theta0", theta0)
    steps = _int("steps", steps, 1)
    growth = _real("growth", growth, 0.0)
    star = _target(minimizer, th0.size)
    traj = run(opt, grad_fn, th0, steps)
    if traj.shape[0] < steps + 1:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        e_final = float(np.linalg.norm(traj[-1] - star))
        e_init = float(np.linalg.norm(th0 - star))
    return not np.isfinite(e_final) or e_final > growth * e_init


def critical_step_size(
    make_opt: Callable[[float], Optimizer],
    grad_fn: GradFn,
    theta0,
    lo: float,
    hi: float,
    steps: int = 5000,
    rtol: float = 1e-6,
    minimizer=None,
) -> float:
    """Bisect for the step size eta_c separating convergence (eta < eta_c) from divergence (eta > eta_c).

    Keeps ``diverges(make_opt(lo))`` False and ``diverges(make_opt(hi))`` True,
    halving [lo, hi] until hi - lo <= rtol * hi; returns (lo + hi) / 2. Assumes a
    single threshold in [lo, hi]. For GD on a quadratic eta_c -> 2 / lambda_max;
    with a finite number of steps the estimate is biased slightly upwards, by a
    relative amount of about ln(||theta_0|| / |c|) / (2 * steps), c = component of
    theta_0 along the top eigenvector.
    """
    if not callable(make_opt):
        raise ValueError(f"make_opt must be a callable eta -> optimizer, got {type(make_opt).__name__}")
    lo = _real("lo", lo, 0.0)
    hi = _real("hi", hi, 0.0)
    if lo >= hi:
        raise ValueError(f"need lo < hi, got lo={lo!r}, hi={hi!r}")
    rtol = _real("rtol", rtol, 0.0)
    steps = _int("steps", steps, 1)
    th0 = _vector("theta0", theta0)

    def div(eta: float) -> bool:
        """diverges() for the optimizer make_opt(eta)."""
        return diverges(make_opt(eta), grad_fn, th0, steps, minimizer=minimizer)

    if not div(hi):
        raise ValueError(f"the run does not diverge at hi={hi!r}; increase hi (or steps)")
    if div(lo):
        raise ValueError(f"the run already diverges at lo={lo!r}; decrease lo")
    return bisect_threshold(div, lo, hi, rtol)


def bisect_bracket(fails: Callable[[float], bool], lo: float, hi: float, rtol: float) -> tuple[float, float]:
    """The last bracket [lo, hi] around the point separating ``fails(x) False`` (at ``lo``) from ``True``
    (at ``hi``), bisected until hi - lo <= rtol |hi| (or float resolution). The caller has checked the
    ends; a single threshold in [lo, hi] is assumed."""
    while hi - lo > rtol * abs(hi):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:  # float resolution reached
            break
        if fails(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi


def bisect_threshold(fails: Callable[[float], bool], lo: float, hi: float, rtol: float) -> float:
    """The midpoint of :func:`bisect_bracket`'s last bracket."""
    lo, hi = bisect_bracket(fails, lo, hi, rtol)
    return 0.5 * (lo + hi)


def convergence_rate(trajectory, minimizer, burn_in: int = 0) -> float:
    """Measured per-step contraction factor rho = exp(slope), slope = least-squares fit of log||theta_t - theta*|| vs t.

    Points with t < burn_in, non-finite errors, or errors <= 1e-14 * ||theta_0 - theta*||
    (the float floor) are ignored. For GD with step eta on a quadratic,
    rho = max_i |1 - eta * lambda_i|.
    """
    traj = np.asarray(trajectory, dtype=float)
    if traj.ndim != 2 or traj.shape[0] == 0:
        raise ValueError(f"trajectory must be a 2-D array of shape (steps + 1, n), got shape {traj.shape}")
    star = _vector("minimizer", minimizer, traj.shape[1])
    burn_in = _int("burn_in", burn_in, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.linalg.norm(traj - star, axis=1)
    e0 = err[0]
    if not np.isfinite(e0) or e0 == 0.0:
        raise ValueError(f"the initial error ||theta_0 - minimizer|| must be finite and > 0, got {e0!r}")
    t = np.arange(traj.shape[0], dtype=float)
    keep = (t >= burn_in) & np.isfinite(err) & (err > 1e-14 * e0)
    if np.count_nonzero(keep) < 2:
        raise ValueError(
            f"need at least 2 points with t >= burn_in={burn_in} above the float floor, "
            f"got {np.count_nonzero(keep)}; lower burn_in or use more steps"
        )
    tk, logk = t[keep], np.log(err[keep])
    tc = tk - tk.mean()
    slope = float(tc @ (logk - logk.mean()) / (tc @ tc))
    return float(np.exp(slope))
