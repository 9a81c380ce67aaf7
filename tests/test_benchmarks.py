"""Smoke test of benchmarks/optimizer_step.py: it runs at tiny sizes, prints every column, and its
correctness cross-check against torch.optim passes.  No timing assertions (timings are not tested)."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "optimizer_step.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_optimizer_step", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_optimizer_step_benchmark_quick(capsys):
    import torch

    threads = torch.get_num_threads()
    bench = _load()
    results = bench.main(["--quick", "--sizes", "10,100", "--repeat", "1"])
    out = capsys.readouterr().out
    assert torch.get_num_threads() == threads  # the benchmark restores torch's thread count

    columns = ["lam step_", "lam step", "lam numpy", "hand step_", "hand step", "torch foreach", "torch fused", "to_torch",
               "numpy out=", "bound", "a+=b GB/s", "rounds x steps"]
    header_lines = [ln for ln in out.splitlines() if ln.lstrip().startswith("n ")]
    assert len(header_lines) == 4  # time and ratio tables for Adam and SGD
    for ln in header_lines[::2]:  # the time tables
        for c in columns:
            assert f"  {c}" in ln, (c, ln)
    assert "per-step overhead at n = 10" in out
    assert out.count(" -- ok") == 2  # the cross-check line of each optimizer
    assert "load average" in out and "machine:" in out

    for name in ("adam", "sgd"):
        r = results[name]
        # every variant ran here (torch 2.13 has fused CPU kernels for Adam and SGD) and agrees with torch.optim
        assert set(r["check"]) == set(bench.VARIANTS)
        assert all(isinstance(v, float) and v <= 1e-12 for v in r["check"].values()), r["check"]
        assert set(r["times"]) == {10, 100}
        for n, best in r["times"].items():
            assert set(best) == {*bench.VARIANTS, "a += b", "bound"}
            assert all(math.isfinite(v) and v > 0 for v in best.values())
        assert set(r["overhead"]) == {*bench.VARIANTS, "a += b"}


def test_cross_check_rejects_a_wrong_variant():
    """The benchmark refuses to time code that differs from torch.optim (here: Adam with eps = 1e-6)."""
    bench = _load()
    makers = bench.variants(bench.ADAM)
    init, step_ = bench.numpy_adam(eps=1e-6)
    makers["numpy out="] = bench._numpy_ref(init, step_, bench.ADAM.keys)
    with pytest.raises(SystemExit, match="numpy out="):
        bench.cross_check(bench.ADAM, makers)
