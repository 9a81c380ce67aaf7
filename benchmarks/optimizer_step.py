"""Benchmark: one optimizer step (Adam, SGD with momentum) in every implementation we have, against the
memory-bandwidth bound, measured side by side in one run.

    python benchmarks/optimizer_step.py [--sizes 1e3,1e4,1e5,1e6,1e7] [--repeat 5] [--quick]

Float64, one thread (OMP/MKL/OPENBLAS/NUMEXPR_NUM_THREADS=1 set before NumPy and torch are imported,
``torch.set_num_threads(1)``).  Adam at torch's defaults (lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
weight_decay=0) and SGD with momentum (lr=0.01, momentum=0.9, torch's rule: b = g on the first step).
Columns (one parameter array of n elements, its gradient fixed):

* ``lam step_`` / ``lam step``: the catalogue rule (``derive.rules.library.resolve("adam")``,
  ``"sgd"``) through ``rule.lambdify(**hyper)``, in place and pure: from ``derive.fused.jit.JIT_FROM``
  = 65536 elements on, one Numba-compiled loop over the elements (when Numba is installed), below it the
  generated NumPy code;
* ``lam numpy``: the same optimizer with ``jit=False`` (``step_``): the generated NumPy code at every n;
* ``hand step_`` / ``hand step``: the hand-written ``numeric.optimizers.adam()`` / ``sgd(lr, momentum)``
  (``step_`` with its default validation, ``check=True``);
* ``torch foreach`` / ``torch fused``: ``torch.optim.Adam`` / ``SGD`` with ``foreach=True`` / ``fused=True``
  ("n/a" where this torch cannot run the fused kernel on the CPU);
* ``to_torch``: ``rule.to_torch()``, the optimizer class exported from the same derived rule (:mod:`derive.export`);
* ``numpy out=``: a few lines of in-place NumPy ufuncs written here (plain NumPy: one pass per ufunc);
* ``bound``: the bytes a step must move (Adam reads θ, g, m, v and writes θ, m, v: 7·8n bytes; SGD
  reads θ, g, b and writes θ, b: 5·8n) at the bandwidth of ``a += b`` (3·8n bytes) measured on arrays of
  the same n in the same rounds (timed after every variant, its minimum over all of them).

Every variant is timed round-robin (the order rotated each round) after an untimed warm-up round; a
round runs a few steps of each variant, and the table shows the minimum over the rounds (``--repeat`` at
n >= 1e7, twice as many at 1e6, four times below) of the time per step and its ratio to the bound.
Then the per-step overhead at n = 10 (µs).  Before any timing each variant runs 5 steps (fresh
gradients each step) from the same start as ``torch.optim``'s single-tensor (for-loop) implementation;
the benchmark stops unless every variant's displacement θ₅ − θ₀ and state agree with it to a relative
difference of 1e-12 (max |difference| / max |torch|), so the table never compares wrong code.  Not a
test: the numbers depend on the machine and on what else runs on it (the load average is printed at
the start and the end).
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import Callable

if __name__ == "__main__":  # one thread; imported (by the smoke test) it leaves the environment alone
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[_var] = "1"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

#: table columns, in order (the bound is a column of its own, after these)
VARIANTS = ("lam step_", "lam step", "lam numpy", "hand step_", "hand step", "torch foreach", "torch fused", "to_torch",
            "numpy out=")
#: the columns' meaning, printed under the tables
LEGEND = ("lam = rule.lambdify(**hyper) of the catalogue rule (from 65536 elements on one compiled loop, Numba), "
          "lam numpy = the same with jit=False (generated NumPy ufunc code), hand = numeric.optimizers (step_ with check=True), "
          "step_ in place, step pure; torch foreach / fused = torch.optim; to_torch = the rule's exported "
          "torch.optim.Optimizer; numpy out= = in-place ufuncs written in this file")
BANDWIDTH = "a += b"
TOLERANCE = 1e-12
CHECK_STEPS = 5
CHECK_N = 65_537  # above derive.fused.jit.JIT_FROM: the compiled loop is what is checked
MAX_N = 5 * 10**7


@dataclass(frozen=True)
class Case:
    """One optimizer: its name, torch class name and keywords, catalogue rule, hand-written factory and
    the bytes per element a step must move."""

    name: str
    label: str
    torch_name: str
    kwargs: dict
    rule: str
    lam_hyper: dict
    keys: tuple
    bytes_per_elem: int


ADAM = Case("adam", "Adam (lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)", "Adam",
            dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0), "adam",
            dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0), ("exp_avg", "exp_avg_sq"), 7 * 8)
SGD = Case("sgd", "SGD with momentum (lr=0.01, momentum=0.9, torch's rule)", "SGD",
           dict(lr=0.01, momentum=0.9), "sgd", dict(lr=0.01, momentum=0.9), ("momentum_buffer",), 5 * 8)
CASES = (ADAM, SGD)


# -- the in-place NumPy floor ------------------------------------------------------------------------------
def numpy_adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """torch's Adam in out= ufuncs: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − (η/c₁)·m/(√v/√c₂ + ε)."""
    b1, b2 = betas

    def init(p):
        return {"exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p), "step": 0, "tmp": np.empty_like(p)}

    def step_(p, g, st):
        m, v, tmp = st["exp_avg"], st["exp_avg_sq"], st["tmp"]
        t = st["step"] = st["step"] + 1
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(c2)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / c1
        p -= tmp

    return init, step_


def numpy_sgd(lr=0.01, momentum=0.9):
    """torch's SGD with momentum in out= ufuncs: b ← g (first step) or μb + g, θ ← θ − ηb."""

    def init(p):
        return {"momentum_buffer": np.zeros_like(p), "step": 0, "tmp": np.empty_like(p)}

    def step_(p, g, st):
        b, tmp = st["momentum_buffer"], st["tmp"]
        if st["step"] == 0:
            np.copyto(b, g)
        else:
            b *= momentum
            b += g
        st["step"] += 1
        np.multiply(b, lr, out=tmp)
        p -= tmp

    return init, step_


# -- variants: make(p0, g) -> (step, read) ---------------------------------------------------------------
Maker = Callable[[np.ndarray, np.ndarray], tuple]


def _protocol(opt, keys, pure: bool) -> Maker:
    """A variant running ``opt`` (init/step/step_ protocol) on a copy of p0 with the shared gradient g."""

    def make(p0, g):
        p = p0.copy()
        st = opt.init(p)
        if pure:
            box = [p, st]
            step = opt.step

            def run():
                box[0], box[1] = step(box[0], g, box[1])

            return run, lambda: {"param": box[0], **{k: box[1][k] for k in keys}}
        step_ = opt.step_
        return (lambda: step_(p, g, st)), lambda: {"param": p, **{k: st[k] for k in keys}}

    return make


def _numpy_ref(init, step_, keys) -> Maker:
    def make(p0, g):
        p = p0.copy()
        st = init(p)
        return (lambda: step_(p, g, st)), lambda: {"param": p, **{k: st[k] for k in keys}}

    return make


def _torch(cls, kwargs, keys) -> Maker:
    import torch

    def make(p0, g):
        p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
        p.grad = torch.from_numpy(g)  # shares g's memory: a new gradient written into g is seen
        opt = cls([p], **kwargs)
        return opt.step, lambda: {"param": p.detach().numpy(), **{k: opt.state[p][k].numpy() for k in keys}}

    return make


def variants(case: Case) -> dict[str, Maker | None]:
    """Every column's maker for ``case`` (None: not available here)."""
    import torch

    from derive.lambdified import LambdifiedOptimizer
    from derive.rules import library
    from numeric import optimizers

    rule = library.resolve(case.rule)
    lam = rule.lambdify(**case.lam_hyper)
    if case is ADAM:
        hand = optimizers.adam(**case.kwargs)
        ref = numpy_adam(case.kwargs["lr"], case.kwargs["betas"], case.kwargs["eps"])
    else:
        hand = optimizers.sgd(**case.kwargs)
        ref = numpy_sgd(**case.kwargs)
    cls = getattr(torch.optim, case.torch_name)
    out = {
        "lam step_": _protocol(lam, case.keys, pure=False),
        "lam step": _protocol(lam, case.keys, pure=True),
        "lam numpy": _protocol(LambdifiedOptimizer(rule, lam.hyper, jit=False), case.keys, pure=False),
        "hand step_": _protocol(hand, case.keys, pure=False),
        "hand step": _protocol(hand, case.keys, pure=True),
        "torch foreach": _torch(cls, {**case.kwargs, "foreach": True}, case.keys),
        "torch fused": _torch(cls, {**case.kwargs, "fused": True}, case.keys),
        "to_torch": _torch(rule.to_torch(), case.kwargs, case.keys),
        "numpy out=": _numpy_ref(*ref, case.keys),
    }
    return out


def _bandwidth_maker(p0, g):
    a = np.zeros_like(p0)
    add = np.add
    return (lambda: add(a, g, out=a)), (lambda: {})


# -- the correctness cross-check ------------------------------------------------------------------------
def cross_check(case: Case, makers: dict[str, Maker | None]) -> dict[str, float | str]:
    """Max relative difference to torch.optim's single-tensor implementation after CHECK_STEPS steps
    (fresh gradients each step), for every variant; a variant that cannot run here is set to None in
    ``makers`` and reported as its exception.  Raises SystemExit if any difference exceeds TOLERANCE."""
    import torch

    rng = np.random.default_rng(18)
    p0 = rng.standard_normal(CHECK_N)
    grads = rng.standard_normal((CHECK_STEPS, CHECK_N))
    g = np.empty(CHECK_N)

    def run(make):
        step, read = make(p0, g)
        for k in range(CHECK_STEPS):
            g[...] = grads[k]
            step()
        return {k: np.array(v, copy=True) for k, v in read().items()}

    ref = run(_torch(getattr(torch.optim, case.torch_name), {**case.kwargs, "foreach": False}, case.keys))
    ref["param"] = ref["param"] - p0
    result: dict[str, float | str] = {}
    for name, make in makers.items():
        try:
            got = run(make)
        except (RuntimeError, NotImplementedError) as e:  # e.g. no fused CPU kernel in this torch
            makers[name] = None
            result[name] = f"n/a ({type(e).__name__}: {str(e).splitlines()[0][:60]})"
            continue
        got["param"] = got["param"] - p0
        result[name] = max(float(np.max(np.abs(got[k] - ref[k])) / np.max(np.abs(ref[k]))) for k in ref)
    bad = {k: v for k, v in result.items() if isinstance(v, float) and not v <= TOLERANCE}
    if bad:
        raise SystemExit(f"{case.name}: these variants differ from torch.optim.{case.torch_name} by more than "
                         f"{TOLERANCE:g} after {CHECK_STEPS} steps: {bad}; no timing of wrong code")
    return result


# -- timing ---------------------------------------------------------------------------------------------
def steps_per_round(n: int, quick: bool) -> int:
    """A few steps per round: enough that a round of one variant takes ~1 ms or more."""
    k = max(3, min(200, int(1e6 // n)))
    return max(1, k // 10) if quick else k


def rounds_for(n: int, repeat: int, quick: bool = False) -> int:
    """``repeat`` rounds at n >= 1e7, twice as many at 1e6, four times below (cheap there, and the
    minimum over more rounds is steadier on a shared machine); ``repeat`` at every n with ``quick``."""
    return repeat if quick else repeat * (1 if n >= 10**7 else 2 if n >= 10**6 else 4)


def measure(makers: dict[str, Maker | None], n: int, rounds: int, k: int, seed: int = 0) -> dict[str, float]:
    """Min over ``rounds`` of the seconds per step of each available variant, round-robin with the order
    rotated each round, after one untimed warm-up round; ``a += b`` is timed after every variant (its
    min over rounds × variants: the bandwidth every ratio is divided by)."""
    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal(n)
    g = rng.standard_normal(n) * 1e-3
    runs = {name: make(p0, g)[0] for name, make in makers.items() if make is not None}
    add = _bandwidth_maker(p0, g)[0]
    names = list(runs)
    best = dict.fromkeys([*names, BANDWIDTH], math.inf)
    clock = time.perf_counter
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for f in [*runs.values(), add]:  # warm-up: first-use compilation, the first (t = 0) step, page faults
            for _ in range(min(k, 2)):
                f()
        for r in range(rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                for key, f in ((name, runs[name]), (BANDWIDTH, add)):  # a += b after every variant
                    t0 = clock()
                    for _ in range(k):
                        f()
                    best[key] = min(best[key], (clock() - t0) / k)
    finally:
        if gc_was:
            gc.enable()
    del runs
    gc.collect()
    return best


def _fmt_time(s: float) -> str:
    if s != s or s == math.inf:
        return "n/a"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e3:.3g} ms"


def _fmt_n(n: int) -> str:
    e = round(math.log10(n))
    return f"1e{e}" if 10**e == n else str(n)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _sizes(text: str) -> list[int]:
    try:
        out = [int(float(s)) for s in text.split(",") if s.strip()]
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"--sizes takes numbers separated by commas, got {text!r}") from None
    if not out or min(out) < 1 or max(out) > MAX_N:
        raise argparse.ArgumentTypeError(f"--sizes takes numbers from 1 to {MAX_N:.0e} (every variant keeps its "
                                         f"own arrays), got {text!r}")
    return out


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    parts = [f"{os.cpu_count()} cores ({cpu})", f"Python {platform.python_version()}", f"numpy {np.__version__}",
             f"torch {torch.__version__}"]
    from importlib import metadata

    for dist in ("numba", "numexpr"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"no {dist}" if dist == "numba" else "")
    return ", ".join(p for p in parts if p)


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"
    except OSError:
        return "load average unknown"


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print its tables; returns {optimizer: {"check": ..., "times": {n: {column: s}},
    "overhead": {column: s}}} (seconds per step)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=_sizes, default=None, help="n values, e.g. 1e3,1e4,1e5,1e6,1e7")
    ap.add_argument("--repeat", type=int, default=None, help="timed rounds at n >= 1e7 (2x at 1e6, 4x below; "
                                                             "min over them; default 5)")
    ap.add_argument("--quick", action="store_true", help="n = 1e3, 1e4, 1e5 unless --sizes, 1 round at "
                                                         "every n unless --repeat, fewer steps (a smoke run)")
    a = ap.parse_args(argv)
    sizes = a.sizes or ([10**3, 10**4, 10**5] if a.quick else [10**3, 10**4, 10**5, 10**6, 10**7])
    rounds = a.repeat if a.repeat is not None else (1 if a.quick else 5)
    if rounds < 1:
        ap.error("--repeat must be at least 1")

    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(sizes, rounds, a.quick)
    finally:
        torch.set_num_threads(threads)


def _run(sizes: list[int], rounds: int, quick: bool) -> dict:
    start = time.perf_counter()
    per = f"{rounds}" if quick else f"{rounds} at n >= 1e7, {2 * rounds} at 1e6, {4 * rounds} below"
    print(f"optimizer step benchmark: float64, one thread, time per step (min over interleaved rounds: {per}) "
          "and its ratio to the bandwidth bound")
    print(f"machine: {machine()}")
    print(f"start: {_load()}")
    all_makers = {case.name: variants(case) for case in CASES}
    if "numexpr" in sys.modules:
        sys.modules["numexpr"].set_num_threads(1)
    results: dict = {}
    for case in CASES:
        makers = all_makers[case.name]
        check = cross_check(case, makers)
        print(f"\ncorrectness, {case.label}: max relative difference to torch.optim.{case.torch_name}"
              f"(foreach=False) after {CHECK_STEPS} steps, n = {CHECK_N} (tolerance {TOLERANCE:g}):")
        print("  " + "; ".join(f"{k}: {v:.1e}" if isinstance(v, float) else f"{k}: {v}" for k, v in check.items())
              + " -- ok")
        results[case.name] = {"check": check, "times": {}, "overhead": {}}
    for case in CASES:
        makers = all_makers[case.name]
        rows_t, rows_r = [], []
        for n in sizes:
            k, r = steps_per_round(n, quick), rounds_for(n, rounds, quick)
            best = measure(makers, n, r, k)
            bound = best[BANDWIDTH] * case.bytes_per_elem / 24
            best["bound"] = bound
            results[case.name]["times"][n] = best
            gbs = 24 * n / best[BANDWIDTH] / 1e9
            rows_t.append([_fmt_n(n), *(_fmt_time(best.get(v, math.nan)) for v in VARIANTS), _fmt_time(bound),
                           f"{gbs:.1f}", f"{r}x{k}"])
            rows_r.append([_fmt_n(n), *(f"{best[v] / bound:.2f}" if v in best else "n/a" for v in VARIANTS)])
        print(f"\n{case.label}: time per step ({case.bytes_per_elem // 8}·8n bytes at the a += b bandwidth = bound)")
        print(_table(["n", *VARIANTS, "bound", "a+=b GB/s", "rounds x steps"], rows_t))
        print(f"\n{case.label}: ratio to the bound (time / bound; 1 = memory-bandwidth speed)")
        print(_table(["n", *VARIANTS], rows_r))
    print(f"\nper-step overhead at n = 10 (µs per step, min over {rounds_for(10, rounds, quick)} rounds: call, "
          "validation, dispatch; the arithmetic is nothing)")
    rows = []
    for case in CASES:
        best = measure(all_makers[case.name], 10, rounds_for(10, rounds, quick), 100 if quick else 1000)
        results[case.name]["overhead"] = best
        rows.append([case.name, *(f"{best[v] * 1e6:.2f}" if v in best else "n/a" for v in VARIANTS),
                     f"{best[BANDWIDTH] * 1e6:.2f}"])
    print(_table(["optimizer", *VARIANTS, BANDWIDTH], rows))
    big = [n for n in sizes if n >= 10**6]
    if big:
        print("\nissue #18 targets (lam step_ at n >= 1e6: <= hand step_, <= torch foreach, "
              "<= 3x bound; overhead at n = 10 <= 10 µs):")
        for case in CASES:
            res = results[case.name]
            for n in big:
                b = res["times"][n]
                lam = b["lam step_"]
                print(f"  {case.name} n={_fmt_n(n)}: lam/hand {lam / b['hand step_']:.2f}, "
                      f"lam/torch foreach {lam / b['torch foreach']:.2f}, lam/bound {lam / b['bound']:.2f}")
            print(f"  {case.name} n=10: lam step_ {res['overhead']['lam step_'] * 1e6:.2f} µs")
    print(f"\ncolumns: {LEGEND}")
    print(f"\nend: {_load()}; {time.perf_counter() - start:.0f} s")
    return results


if __name__ == "__main__":
    main()
