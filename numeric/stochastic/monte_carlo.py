"""Monte Carlo estimates with Student-t confidence intervals.

For m independent samples x_1..x_m of a quantity with finite variance the (confidence) interval for its
mean is  xbar +- t_{m-1, (1+confidence)/2} s / sqrt(m),  s the sample standard deviation (ddof 1)
(Student 1908, "The probable error of a mean", Biometrika 6:1-25).  Exact for normal samples, asymptotically
right for any finite-variance samples.  ``interval_error`` turns a prediction into the check statistic
|xbar - predicted| / half_width, which is <= 1 exactly when the prediction lies in the interval.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from numeric.validation import _array, _int, _real

__all__ = ["mean_ci", "seeds_ci", "interval_error"]


def _confidence(confidence) -> float:
    """0 < confidence < 1."""
    c = _real("confidence", confidence, 0.0)
    if c >= 1.0:
        raise ValueError(f"confidence must be a finite number with 0 < confidence < 1, got {confidence!r}")
    return c


def mean_ci(samples, confidence=0.999, axis=0):
    """(mean, half_width) of the Student-t interval for the mean along ``axis`` (m >= 2 samples there).

    half_width = t_{m-1, (1+confidence)/2} * std(ddof=1) / sqrt(m); both outputs drop ``axis`` (floats
    for 1-D input).  Non-finite samples give non-finite results (a diverged run is not silently dropped).
    """
    x = _array("samples", samples, finite=False)
    c = _confidence(confidence)
    axis = _int("axis", axis, -x.ndim) if x.ndim else 0
    if x.ndim == 0 or axis >= x.ndim:
        raise ValueError(f"axis {axis} is out of range for samples of shape {x.shape}")
    m = x.shape[axis]
    if m < 2:
        raise ValueError(f"need at least 2 samples along axis {axis} for a t-interval, got {m}")
    with np.errstate(over="ignore", invalid="ignore"):
        mean = x.mean(axis=axis)
        sd = x.std(axis=axis, ddof=1)
    half = stats.t.ppf(0.5 * (1.0 + c), m - 1) * sd / np.sqrt(m)
    if np.ndim(mean) == 0:
        return float(mean), float(half)
    return mean, half


def seeds_ci(values, confidence=0.999):
    """(mean, half_width) of the Student-t interval over per-seed results ``values`` (a 1-D sequence, >= 2)."""
    x = _array("values", values, finite=False)
    if x.ndim != 1:
        raise ValueError(f"values must be a 1-D sequence of per-seed results, got shape {x.shape}")
    return mean_ci(x, confidence=confidence, axis=0)


def interval_error(mean, half_width, predicted):
    """|mean - predicted| / half_width (inf when half_width is 0 and they differ, 0 when they agree)."""
    mean = np.asarray(mean, dtype=float)
    half = np.asarray(half_width, dtype=float)
    diff = np.abs(mean - np.asarray(predicted, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(diff == 0.0, 0.0, diff / half)
    return float(err) if err.ndim == 0 else err
