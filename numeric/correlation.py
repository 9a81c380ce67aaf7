"""Correlation coefficients with confidence intervals, and what changes when the samples are not independent.

* Pearson  r = sum_i (x_i - xbar)(y_i - ybar) / sqrt(sum_i (x_i - xbar)^2 sum_i (y_i - ybar)^2).
* Spearman rho = Pearson r of the ranks (ties get their average rank).
* Fisher CI (Fisher 1915, Biometrika 10:507-521; 1921, Metron 1:3-32): for n independent bivariate-normal
  pairs z = atanh(r) is approximately N(atanh(rho), 1/(n - 3)), so the (1 - alpha) interval is

      [tanh(atanh(r) - z_{1-alpha/2} / sqrt(n - 3)),  tanh(atanh(r) + z_{1-alpha/2} / sqrt(n - 3))].

  For Spearman's rho the same form with variance 1.06/(n - 3) is the Fieller-Hartley-Pearson (1957,
  Biometrika 44:470-481) approximation; we took the factor 1.06 from secondary sources (Bishara & Hittner
  2017, Behav. Res. Methods 49:294-309 quote it) and did not check it in the 1957 paper itself.
* Percentile bootstrap CI (Efron & Tibshirani 1993, ch. 13): resample the n pairs with replacement, take
  the alpha/2 and 1 - alpha/2 quantiles of the resampled r.  With ``block = l > 1`` the pairs are resampled
  in overlapping blocks of l consecutive indices (moving-block bootstrap, Kuensch 1989, Ann. Statist.
  17:1217-1241), which keeps short-range serial dependence.
* Across runs: per-run correlations r_1..r_m of m independent runs (seeds) -> their mean with the Student-t
  interval  mean +- t_{m-1, 1-alpha/2} s / sqrt(m)  (s the sample standard deviation of the r_j).

Warning about training curves.  A correlation computed *within one run over training steps* pairs two
autocorrelated time series (both drift slowly with the step).  The Fisher and iid-bootstrap intervals
assume independent pairs, so they are far too narrow there: two independent AR(1) series with coefficient
0.95 give |r| well outside the naive 95% interval around 0 most of the time (tests/test_order_parameter.py
measures this).  Honest alternatives, both here: the across-seed interval of per-run r (each run is one
independent replicate) and the moving-block bootstrap with blocks longer than the correlation time.  The
naive interval is still returned where asked, labelled as such.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numeric.validation import _int, _real

__all__ = ["CorrelationCI", "pearson", "spearman", "ranks", "fisher_ci", "bootstrap_ci", "t_interval",
           "across_runs", "correlate"]

_METHODS = ("pearson", "spearman")


@dataclass(frozen=True)
class CorrelationCI:
    """A correlation estimate with a (1 - alpha) confidence interval [low, high] and how it was made."""

    estimate: float
    low: float
    high: float
    n: int
    method: str
    interval: str
    confidence: float

    def excludes_zero(self) -> bool:
        """True when the interval lies entirely on one side of 0."""
        return self.low > 0.0 or self.high < 0.0

    def as_dict(self) -> dict:
        """Plain dict (for JSON summaries)."""
        return {"r": self.estimate, "ci": [self.low, self.high], "n": self.n, "method": self.method,
                "interval": self.interval, "confidence": self.confidence}


def _pair(x, y, minimum: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Validate two equal-length finite 1-D samples of at least ``minimum`` points, neither constant."""
    out = []
    for name, v in (("x", x), ("y", y)):
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a 1-D array of real numbers, got {type(v).__name__}") from None
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite, got nan/inf at indices {np.flatnonzero(~np.isfinite(a)).tolist()}")
        out.append(a)
    x, y = out
    if x.size != y.size:
        raise ValueError(f"x and y must have the same length (paired samples), got {x.size} and {y.size}")
    if x.size < minimum:
        raise ValueError(f"need at least {minimum} pairs for a correlation with a confidence interval, got {x.size}")
    for name, a in (("x", x), ("y", y)):
        if np.ptp(a) == 0.0:
            raise ValueError(f"{name} is constant (all values {a[0]!r}): its correlation is undefined")
    return x, y


def _confidence(confidence) -> float:
    c = _real("confidence", confidence, 0.0)
    if c >= 1.0:
        raise ValueError(f"confidence must lie in (0, 1), e.g. 0.95, got {confidence!r}")
    return c


def _normal_quantile(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(p))


def _pearson_rows(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of X, Y (shape (m, n)); nan for a constant row."""
    xc = X - X.mean(axis=-1, keepdims=True)
    yc = Y - Y.mean(axis=-1, keepdims=True)
    den = np.sqrt((xc ** 2).sum(axis=-1) * (yc ** 2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip((xc * yc).sum(axis=-1) / den, -1.0, 1.0)


def pearson(x, y) -> float:
    """Pearson r = sum (x - xbar)(y - ybar) / sqrt(sum (x - xbar)^2 sum (y - ybar)^2)."""
    x, y = _pair(x, y, minimum=2)
    return float(_pearson_rows(x, y))


def ranks(x) -> np.ndarray:
    """Ranks 1..n of a 1-D sample, ties replaced by the mean of the ranks they occupy."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    s = x[order]
    r = np.empty(x.size)
    start = 0
    for i in range(1, x.size + 1):  # runs of equal values get the average of positions start+1 .. i
        if i == x.size or s[i] != s[start]:
            r[order[start:i]] = 0.5 * (start + 1 + i)
            start = i
    return r


def spearman(x, y) -> float:
    """Spearman rho = Pearson r of ranks(x) and ranks(y)."""
    x, y = _pair(x, y, minimum=2)
    return float(_pearson_rows(ranks(x), ranks(y)))


def fisher_ci(r: float, n: int, confidence: float = 0.95, method: str = "pearson") -> tuple[float, float]:
    """tanh(atanh(r) -+ z_{1-alpha/2} sigma) with sigma = 1/sqrt(n - 3) (Pearson) or sqrt(1.06/(n - 3))
    (Spearman); valid for n INDEPENDENT pairs only (see the module docstring)."""
    r = _real("r", r)
    if not -1.0 <= r <= 1.0:
        raise ValueError(f"r must lie in [-1, 1], got {r!r}")
    n = _int("n", n, 4)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    z = _normal_quantile(0.5 + 0.5 * _confidence(confidence))
    sigma = math.sqrt((1.06 if method == "spearman" else 1.0) / (n - 3))
    if abs(r) == 1.0:
        return r, r
    zr = math.atanh(r)
    return math.tanh(zr - z * sigma), math.tanh(zr + z * sigma)


def _block_indices(rng, n: int, block: int, n_boot: int) -> np.ndarray:
    """(n_boot, n) indices: ceil(n/block) overlapping blocks of ``block`` consecutive indices, start
    uniform in 0..n-block, concatenated and cut to n (moving-block bootstrap; block = 1 is the iid bootstrap)."""
    k = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, k))
    return (starts[:, :, None] + np.arange(block)).reshape(n_boot, k * block)[:, :n]


def bootstrap_ci(x, y, method: str = "pearson", confidence: float = 0.95, n_boot: int = 2000, seed: int = 0,
                 block: int = 1) -> tuple[float, float]:
    """Percentile bootstrap interval [q_{alpha/2}, q_{1-alpha/2}] of r over ``n_boot`` resamples of the pairs
    (``block`` > 1: moving blocks of that many consecutive pairs).  Resamples in which x or y came out
    constant are dropped; ``np.random.default_rng(seed)`` makes it reproducible."""
    x, y = _pair(x, y)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    c = _confidence(confidence)
    n_boot, block = _int("n_boot", n_boot, 10), _int("block", block, 1)
    if block > x.size // 2:
        raise ValueError(f"block must be at most n/2 = {x.size // 2} (at least two blocks), got {block}")
    idx = _block_indices(np.random.default_rng(_int("seed", seed, 0)), x.size, block, n_boot)
    X, Y = x[idx], y[idx]
    if method == "spearman":
        X, Y = np.apply_along_axis(ranks, 1, X), np.apply_along_axis(ranks, 1, Y)
    rs = _pearson_rows(X, Y)
    rs = rs[np.isfinite(rs)]
    if rs.size < 10:
        raise ValueError("fewer than 10 bootstrap resamples had non-constant x and y; use more data or n_boot")
    lo, hi = np.quantile(rs, [0.5 - 0.5 * c, 0.5 + 0.5 * c])
    return float(lo), float(hi)


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) = mean -+ t_{m-1, 1-alpha/2} s / sqrt(m) for m >= 2 independent finite values
    (s the sample standard deviation); e.g. paired differences of per-run correlations."""
    from scipy.special import stdtrit  # Student-t quantile; scipy.stats is slow to import

    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"values must be a 1-D array of numbers, got {type(values).__name__}") from None
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"need at least 2 values (1-D) for a t-interval, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("values must be finite")
    c = _confidence(confidence)
    mean = float(v.mean())
    half = float(stdtrit(v.size - 1, 0.5 + 0.5 * c) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def across_runs(rs, confidence: float = 0.95) -> CorrelationCI:
    """Mean of per-run correlations r_1..r_m (m >= 2 independent runs) with the t-interval
    mean -+ t_{m-1, 1-alpha/2} s / sqrt(m), clipped to [-1, 1]; ``n`` records m."""
    try:
        r = np.asarray(rs, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"rs must be a 1-D array of correlations, got {type(rs).__name__}") from None
    if r.ndim != 1 or r.size < 2:
        raise ValueError(f"rs must hold at least 2 per-run correlations (1-D), got shape {r.shape}")
    if not np.isfinite(r).all() or np.any(np.abs(r) > 1.0):
        raise ValueError("every per-run correlation must be a finite number in [-1, 1]")
    mean, lo, hi = t_interval(r, confidence)
    return CorrelationCI(mean, max(-1.0, lo), min(1.0, hi), int(r.size), "mean of per-run r", "t over runs",
                         _confidence(confidence))


def correlate(x, y, method: str = "pearson", interval: str = "fisher", confidence: float = 0.95,
              n_boot: int = 2000, seed: int = 0, block: int = 1) -> CorrelationCI:
    """r (``method`` "pearson" or "spearman") of paired samples with a ``interval`` = "fisher" (independent
    pairs) or "bootstrap" (percentile; ``block`` > 1 for serially dependent pairs) confidence interval."""
    x, y = _pair(x, y)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    r = pearson(x, y) if method == "pearson" else spearman(x, y)
    if interval == "fisher":
        lo, hi = fisher_ci(r, x.size, confidence, method)
    elif interval == "bootstrap":
        lo, hi = bootstrap_ci(x, y, method, confidence, n_boot, seed, block)
    else:
        raise ValueError(f"interval must be 'fisher' or 'bootstrap', got {interval!r}")
    label = interval if interval == "fisher" or block == 1 else f"moving-block bootstrap (block {block})"
    return CorrelationCI(r, lo, hi, int(x.size), method, label, _confidence(confidence))
