"""Benchmark: how long `ldyn --help` and `ldyn verify` take, side by side with the cost of
importing SymPy in the same run (the reason --help must stay lazy).

    python benchmarks/startup.py [--repeat 5]

Prints medians in seconds and the ratio of each to a bare `python -c pass`.
Not a test: numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    py = sys.executable
    cases = {
        "python -c pass": ([py, "-c", "pass"], args.repeat),
        "ldyn --help": ([py, "-m", "verify.cli", "--help"], args.repeat),
        "python -c 'import sympy'": ([py, "-c", "import sympy"], args.repeat),
        "ldyn verify": ([py, "-m", "verify.cli", "verify"], max(1, args.repeat // 2)),
    }
    results = {name: median_seconds(cmd, n) for name, (cmd, n) in cases.items()}
    base = results["python -c pass"]
    print(f"{'command':28s} {'median s':>9s} {'x python':>9s}")
    for name, t in results.items():
        print(f"{name:28s} {t:9.3f} {t / base:9.1f}")


if __name__ == "__main__":
    main()
