"""Argument validation shared by every numeric module: finite reals with a bound, integers with a
minimum, non-empty finite 1-D arrays.  Each raises ValueError with a message that names the argument."""
from __future__ import annotations

import math
import numbers

import numpy as np


def _real(name: str, value, bound: float | None = None, strict: bool = True) -> float:
    """Return ``float(value)``; raise ValueError unless finite and (>|>=) bound."""
    cond = "" if bound is None else f" {'>' if strict else '>='} {bound:g}"
    v, got = math.nan, repr(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            v = float(value)
            got = repr(v)
        except OverflowError:  # a huge int
            v = math.inf
    msg = f"{name} must be a finite number{cond}, got {got}"
    if not math.isfinite(v):
        raise ValueError(msg)
    if bound is not None and (v <= bound if strict else v < bound):
        raise ValueError(msg)
    return v


def _int(name: str, value, minimum: int) -> int:
    """Return ``int(value)``; raise ValueError unless an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _vector(name: str, x, n: int | None = None, finite: bool = True) -> np.ndarray:
    """Return ``np.asarray(x, float)`` after checking it is a non-empty 1-D (finite) array."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of real numbers, got {type(x).__name__}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if n is not None and arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the parameters, got {arr.shape}")
    if finite and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr)).tolist()
        raise ValueError(f"{name} must be finite, got nan/inf at indices {bad}")
    return arr


def _array(name: str, x, shape: tuple | None = None, finite: bool = True) -> np.ndarray:
    """Return ``np.asarray(x, float)`` after checking it is a non-empty real array of any shape
    (0-d included), of ``shape`` when given, and finite unless ``finite=False``."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be an array of real numbers, got {type(x).__name__}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must be a non-empty array, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} to match the parameters, got {arr.shape}")
    if finite and not np.isfinite(arr).all():
        bad = [tuple(int(i) for i in ix) if arr.ndim != 1 else int(ix[0])
               for ix in np.argwhere(~np.isfinite(arr))[:5]]
        raise ValueError(f"{name} must be finite, got nan/inf at indices {bad}")
    return arr


def _nonfinite_at(arr: np.ndarray) -> list:
    """The first (up to 5) indices of nan/inf entries of ``arr``, as ``_array`` reports them."""
    return [tuple(int(i) for i in ix) if arr.ndim != 1 else int(ix[0]) for ix in np.argwhere(~np.isfinite(arr))[:5]]


def _writable(name: str, x, shape: tuple | None = None) -> np.ndarray:
    """Return ``x`` itself after checking it is a non-empty, writable float64 ndarray (of ``shape``
    when given): what an in-place update can mutate.  Cheap (no pass over the entries)."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = f"{type(x).__name__}" + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        raise ValueError(f"{name} must be a float64 ndarray to be updated in place, got {got} "
                         "(convert it with np.asarray(x, dtype=float), or use step())")
    if not x.flags.writeable:
        raise ValueError(f"{name} must be a writable array to be updated in place, got a read-only one "
                         "(pass a copy, or use step())")
    if x.size == 0:
        raise ValueError(f"{name} must be a non-empty array, got shape {x.shape}")
    if shape is not None and x.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} to match the parameters, got {x.shape}")
    return x
