"""Benchmark: the autodiff Tensor against hand-written NumPy backprop, and Lanczos on Tensor HVPs.

    python benchmarks/autodiff.py [--repeat 7] [--profile] [--malloc default|tuned|both]

1. MLP forward + backward (tanh hidden layers, softmax cross-entropy, 10 classes) with
   ``numeric.autodiff.tensor`` (``grad(loss(model(X)), params)``) and with ``numeric.autodiff.nn.numpy_mlp_loss_and_grad``
   on the same weights and batch, timed side by side in the same process (timeit, the minimum over
   ``--repeat`` repeats of an auto-ranged number of calls). The two gradients must agree to 1e-10
   (AssertionError otherwise). Goal: Tensor / NumPy <= 1.5. ``--profile`` prints a cProfile of the
   Tensor's forward + backward on the largest network: where the time goes.
2. The top Hessian eigenvalue of an MLP with about 1e5 parameters by ARPACK Lanczos
   (``numeric.autodiff.hessian.top_eigenvalues``) on exact Tensor HVPs (``numeric.autodiff.nn.loss_fn``): time, HVPs,
   peak memory (tracemalloc, in a second run: tracing slows Python down), next to the n^2 * 8 bytes
   a dense Hessian would need.

The allocator matters: glibc returns freed memory at the top of the heap to the OS (M_TRIM_THRESHOLD)
and serves large blocks by mmap, so every large temporary array can cost fresh page faults, which are
expensive in some virtual machines. ``--malloc tuned`` raises both thresholds with ``mallopt`` before
timing; ``both`` (the default) prints the table once per setting, each in its own subprocess.
Not a test: numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import cProfile
import ctypes
import ctypes.util
import io
import math
import os
import pstats
import subprocess
import sys
import time
import timeit
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from numeric.autodiff import datasets, hessian, nn  # noqa: E402
from numeric.autodiff.tensor import grad  # noqa: E402

#: (layer sizes, batch)
CASES = [([64, 128, 10], 128), ([64, 256, 256, 10], 256), ([784, 512, 512, 10], 256)]


def tune_malloc() -> None:
    """Keep freed memory in the process (glibc): trim the heap only above 1 GB free, mmap only blocks >= 32 MB."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    libc.mallopt(M_MMAP_THRESHOLD, 1 << 25)  # 32 MB, glibc's maximum


def best(fn, repeat: int) -> float:
    """Seconds per call: min over ``repeat`` repeats of timeit with an auto-ranged number of calls."""
    t = timeit.Timer(fn)
    number, _ = t.autorange()
    return min(t.repeat(repeat=repeat, number=number)) / number


def best_pair(fa, fb, repeat: int) -> tuple[float, float]:
    """Seconds per call of fa and fb, min over ``repeat`` interleaved repeats (a, b, a, b, ...), so a
    change in machine load during the run affects both alike."""
    ta, tb = timeit.Timer(fa), timeit.Timer(fb)
    na, nb = ta.autorange()[0], tb.autorange()[0]
    a, b = [], []
    for _ in range(repeat):
        a.append(ta.timeit(na) / na)
        b.append(tb.timeit(nb) / nb)
    return min(a), min(b)


def mlp_case(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], size=batch)
    model = nn.MLP(sizes, "tanh", seed=seed)
    params = model.parameters()
    arrays = [p.data for p in params]

    def tensor_step():
        return grad(nn.cross_entropy(model(X), y), params)

    def numpy_step():
        return nn.numpy_mlp_loss_and_grad(arrays, X, y, "tanh", "ce")

    g_t = np.concatenate([g.data.ravel() for g in tensor_step()])
    g_n = np.concatenate([g.ravel() for g in numpy_step()[1]])
    err = np.linalg.norm(g_t - g_n) / np.linalg.norm(g_n)
    assert err < 1e-10, f"Tensor and NumPy gradients differ: relative error {err:.2e}"
    return model, tensor_step, numpy_step, err


def fmt_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:.1f} {unit}"
        b /= 1024


def table(repeat: int) -> None:
    print(f"{'network':22s} {'batch':>5s} {'params':>8s} {'Tensor ms':>10s} {'NumPy ms':>9s} {'ratio':>6s} "
          f"{'grad rel. diff':>14s} {'goal <= 1.5':>11s}")
    for sizes, batch in CASES:
        model, tensor_step, numpy_step, err = mlp_case(sizes, batch)
        t_t, t_n = best_pair(tensor_step, numpy_step, repeat)
        print(f"{str(sizes):22s} {batch:5d} {model.n_params:8d} {t_t * 1e3:10.3f} {t_n * 1e3:9.3f} "
              f"{t_t / t_n:6.2f} {err:14.1e} {'met' if t_t / t_n <= 1.5 else 'MISSED':>11s}")


def profile(top: int = 14) -> None:
    """cProfile of the Tensor's forward + backward on the smallest and the largest network."""
    for (sizes, batch), calls in ((CASES[0], 2000), (CASES[-1], 20)):
        _, tensor_step, _, _ = mlp_case(sizes, batch)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            tensor_step()
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
        lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
        print(f"\ncProfile of {calls} Tensor forward+backward passes of {sizes}, batch {batch} (by own time):")
        print("\n".join(ln.replace(os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + "/", "")
                        for ln in lines[1:]))


def lanczos_row(repeat_memory: bool = True) -> None:
    sizes, N = [100, 500, 100, 1], 512
    X, y = datasets.teacher_student(N, d=sizes[0], hidden=16, seed=0)
    model = nn.MLP(sizes, "tanh", seed=0)
    _, _, hvp = nn.loss_fn(model, X, y, "mse")
    theta = nn.flatten(model.parameters())
    n = theta.size
    v = np.random.default_rng(1).standard_normal(n)
    t_hvp = best(lambda: hvp(theta, v), 3)
    t0 = time.perf_counter()
    res = hessian.top_eigenvalues(lambda u: hvp(theta, u), n, k=1, tol=1e-6)
    dt = time.perf_counter() - t0
    peak = math.nan
    if repeat_memory:
        tracemalloc.start()
        hessian.top_eigenvalues(lambda u: hvp(theta, u), n, k=1, tol=1e-6)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"\nTop Hessian eigenvalue of MLP {sizes} (tanh, MSE, teacher-student N = {N}), n = {n} parameters, "
          f"by ARPACK Lanczos on exact Tensor HVPs (tol 1e-6):")
    print(f"{'lambda_max':>12s} {'HVPs':>5s} {'time s':>7s} {'ms/HVP':>7s} {'peak memory':>12s} "
          f"{'dense H (n^2 * 8 B)':>20s} {'peak / dense':>12s}")
    print(f"{res.eigenvalues[0]:12.6f} {res.n_hvp:5d} {dt:7.2f} {t_hvp * 1e3:7.1f} {fmt_bytes(peak):>12s} "
          f"{fmt_bytes(8.0 * n * n):>20s} {peak / (8.0 * n * n):12.1e}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--profile", action="store_true", help="cProfile the Tensor on the largest network")
    p.add_argument("--malloc", choices=("default", "tuned", "both"), default="both")
    p.add_argument("--no-lanczos", action="store_true")
    args = p.parse_args()
    if args.malloc == "both":
        for mode in ("default", "tuned"):
            argv = ["--repeat", str(args.repeat)] + ["--profile"] * args.profile + ["--no-lanczos"] * args.no_lanczos
            print(f"==== glibc malloc: {mode} ====", flush=True)
            subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--malloc", mode], check=True)
        return
    if args.malloc == "tuned":
        tune_malloc()
    table(args.repeat)
    if args.profile:
        profile()
    if not args.no_lanczos:
        lanczos_row()


if __name__ == "__main__":
    main()
