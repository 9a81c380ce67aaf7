"""Benchmark: the heavy-ball spectral-radius map on an (x = ηλ, β) grid, vectorized
(``verify.momentum_maps.spectral_radius``, one NumPy expression) against a per-point
``numpy.roots`` loop over the characteristic polynomial z² + a₁z + a₀, in the same run.

    python benchmarks/stability_map.py [--n 1000] [--repeat 3] [--loop-points N]

The grid is n × n cell centres on x ∈ [0, 4.2], β ∈ [0, 1).  The vectorized map is timed
best of ``--repeat``; the loop once (its coefficients a₁, a₀ come from the same lambdified
derivation results, evaluated as arrays inside the timed block).  By default the loop covers
every grid point; ``--loop-points N`` times it on N evenly spaced points only and
extrapolates to the full grid (the output says so).  The two maps must agree to 1e-9 on
every point the loop computed (AssertionError otherwise).  Prints both times and the ratio.
Not a test: numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from verify import momentum_maps as mm  # noqa: E402

X_HI = 4.2


def grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, β) meshgrids of n × n cell centres on [0, 4.2] × [0, 1)."""
    x = (np.arange(n) + 0.5) * (X_HI / n)
    b = (np.arange(n) + 0.5) / n
    return np.meshgrid(x, b)


def vectorized(xx: np.ndarray, bb: np.ndarray) -> np.ndarray:
    """The whole map in one call."""
    return mm.spectral_radius("heavy-ball", xx, bb)


def loop(xx: np.ndarray, bb: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """max |numpy.roots([1, a1, a0])| at the flat indices ``idx``, one point at a time."""
    f1, f0 = mm.coefficients("heavy-ball")
    x, b = xx.ravel()[idx], bb.ravel()[idx]
    a1, a0 = f1(x, b) * np.ones_like(x), f0(x, b) * np.ones_like(x)
    out = np.empty(idx.size)
    for k in range(idx.size):
        out[k] = np.abs(np.roots([1.0, a1[k], a0[k]])).max()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000, help="grid points per axis (default 1000)")
    p.add_argument("--repeat", type=int, default=3, help="vectorized timing: best of this many (default 3)")
    p.add_argument("--loop-points", type=int, default=None, metavar="N",
                   help="time the numpy.roots loop on N evenly spaced points and extrapolate (default: all)")
    args = p.parse_args()
    xx, bb = grid(args.n)
    total = xx.size
    mm.coefficients("heavy-ball")  # build the derivation and lambdify once, outside the timings

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        fast = vectorized(xx, bb)
        times.append(time.perf_counter() - start)
    t_vec = min(times)

    n_loop = total if args.loop_points is None else max(1, min(args.loop_points, total))
    idx = np.unique(np.linspace(0, total - 1, n_loop).round().astype(np.int64))
    start = time.perf_counter()
    slow = loop(xx, bb, idx)
    t_loop_measured = time.perf_counter() - start
    t_loop = t_loop_measured * total / idx.size

    diff = float(np.max(np.abs(fast.ravel()[idx] - slow)))
    assert diff < 1e-9, f"vectorized and numpy.roots maps differ by {diff:.3g} (> 1e-9)"

    print(f"heavy-ball spectral-radius map, {args.n} x {args.n} = {total:,} points, x in [0, {X_HI}], beta in [0, 1)")
    print(f"{'vectorized (momentum_maps.spectral_radius), best of ' + str(args.repeat):56s} {t_vec:10.4f} s")
    if idx.size == total:
        print(f"{f'numpy.roots loop, all {total:,} points':56s} {t_loop:10.4f} s")
    else:
        print(f"{f'numpy.roots loop, EXTRAPOLATED from {idx.size:,} points':56s} {t_loop:10.4f} s"
              f"  ({t_loop_measured:.4f} s measured x {total / idx.size:.1f})")
    print(f"ratio loop / vectorized: {t_loop / t_vec:,.0f}x")
    print(f"max |difference| on the {idx.size:,} points the loop computed: {diff:.2e} (< 1e-9)")


if __name__ == "__main__":
    main()
