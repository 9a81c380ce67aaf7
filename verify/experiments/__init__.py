"""``ldyn experiment``: named, seed-fixed experiments that each write a figure and a JSON summary of
the numbers they claim.

An experiment is a function ``run(seed, full, progress) -> (figure, summary)``: ``summary`` is a
JSON-ready dict whose ``claims`` entry lists ``{"claim", "measured", "expected", "holds"}``
records (what the figure shows, as numbers a test can assert); ``progress(done, total)`` reports
on anything longer than a couple of seconds.  The registry maps names to ``"module:function"``
inside verify/experiments/, imported on first use so ``ldyn experiment --list`` stays cheap.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Callable

#: name -> (title, "module:function" inside verify/experiments/)
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "integrator-stability": ("Stability regions of Euler (GD), Heun, RK4 and implicit Euler, derived and measured",
                             "continuous:integrator_stability"),
    "error-vs-work": ("Integrating an ill-conditioned gradient flow: error against work for fixed-step and SciPy solvers",
                      "continuous:error_vs_work"),
    "lyapunov": ("Lyapunov functions along trajectories: the loss under gradient flow and GD, heavy ball's energy",
                 "continuous:lyapunov"),
    "rate-network": ("A two-unit rate network: phase portrait, nullclines, fixed points and their stability",
                     "continuous:rate_network"),
    "two-timescale": ("Learning as a slow flow on W coupled to fast neural dynamics, vs the quasi-static flow",
                      "continuous:two_timescale"),
    "xor": ("XOR from scratch: random init learns; identical hidden units stay identical and cannot; noise "
            "breaks the symmetry", "nn:xor"),
    "vanishing-exploding": ("Vanishing and exploding gradients: per-layer gradient norms vs the product of "
                            "Jacobians", "nn:vanishing_exploding"),
    "population-credit": ("A population-code layer: how backpropagated credit spreads across its units",
                          "nn:population_credit"),
    "gd-vs-flow": ("GD vs gradient flow vs the modified flow on an MLP: errors O(eta) and O(eta^2)",
                   "nn:gd_vs_flow"),
    "training-stability": ("Stability of training: the step size where a real MLP's loss rises vs 2/lambda_max at "
                           "initialization", "sharpness:training_stability"),
    "edge-of-stability": ("Edge of stability: sharpness rises to 2/eta under GD and to 2(1+beta)/eta under heavy "
                          "ball", "sharpness:edge_of_stability"),
    "loss-landscape": ("The loss landscape of an MLP along its top Hessian eigenvectors, with GD and Adam overlaid",
                       "landscape:loss_landscape"),
    "phase-transitions": ("Sweeps of step size, momentum, weight decay and gradient noise over seeds: order parameters, "
                          "transitions with error bars, derived boundaries", "phase:phase_transitions"),
    "gradient-order-parameter": ("Gradient magnitude as an order parameter: which gradient, correlated over what, with "
                                 "what uncertainty", "order_parameter:gradient_order_parameter"),
    "turing": ("Turing patterns: derived dispersion relation vs a pseudo-spectral simulation",
               "turing:turing"),
    "grokking": ("Grokking modular addition: delayed generalization and the three Li2 stages read off G_F",
                 "grokking:grokking"),
    "closed-loop": ("Closed- vs open-loop training of a linear RNN agent: different paths to one (imitated) solution, "
                    "and open-loop training destabilizing the loop", "closed_loop:closed_loop"),
    "sgd-noise": ("SGD's noise: stationary variance and excess loss over the step size, exact vs SME orders vs measured",
                  "stochastic:sgd_noise"),
    "batch-size-stability": ("Mean-square stability of SGD over batch size: the derived threshold vs measured divergence "
                             "of E theta^2", "stochastic:batch_size_stability"),
    "sharpness-selection": ("Minima that GD keeps and SGD leaves: sharpness, non-uniformity and the mean-square "
                            "condition", "stochastic:sharpness_selection"),
}


def claim(text: str, measured, expected, holds: bool) -> dict:
    """One claim of an experiment, with the numbers behind it."""
    return {"claim": text, "measured": measured, "expected": expected, "holds": bool(holds)}


#: the stream on which a progress bar is drawn and not yet ended by a newline (None: none is)
_OPEN_BAR: list = [None]


def end_progress_line() -> None:
    """End an unfinished progress bar with a newline, so that what is printed next (an error, "ldyn:
    interrupted") starts a line of its own."""
    stream, _OPEN_BAR[0] = _OPEN_BAR[0], None
    if stream is not None:
        try:
            stream.write("\n")
            stream.flush()
        except (OSError, ValueError):
            pass


def progress_printer(name: str, stream=None) -> Callable[[int, int], None]:
    """A progress bar on stderr, drawn at most ten times a second."""
    stream = stream or sys.stderr
    last = [0.0]

    finished = [False]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if (done < total and now - last[0] < 0.1) or finished[0]:
            return
        finished[0] = done >= total
        last[0] = now
        width = 30
        filled = int(width * done / max(total, 1))
        _OPEN_BAR[0] = stream
        stream.write(f"\r{name}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
            _OPEN_BAR[0] = None
        stream.flush()

    return report


def writable(out: str | Path, option: str = "--out") -> Path:
    """``out`` as a folder to write into, created if needed (verify.figures.backend.output_folder):
    OutputPathError (a ValueError, one line) for '', a file, a path under a file, or an unwritable place."""
    from verify.figures.backend import output_folder

    return output_folder(out, option)


def resolve(name: str) -> Callable:
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    module, func = EXPERIMENTS[name][1].split(":")
    return getattr(importlib.import_module(f"verify.experiments.{module}"), func)


def run(name: str, out: str | Path | None = None, seed: int = 0, full: bool = False,
        progress: Callable[[int, int], None] | None = None) -> dict:
    """Run experiment ``name``; write ``out/name.png`` and ``out/name.json`` (atomically) when ``out`` is
    given, checked before the run (OutputPathError, a ValueError).  Returns the summary (with ``files``
    listing what was written)."""
    func = resolve(name)
    if out is not None:
        out = writable(out)  # before the run, not after it
    start = time.perf_counter()
    fig, summary = func(seed=seed, full=full, progress=progress or (lambda done, total: None))
    summary = {"experiment": name, "title": EXPERIMENTS[name][0], "seed": seed, "full": full, **summary,
               "seconds": round(time.perf_counter() - start, 2)}
    summary["all_claims_hold"] = all(c["holds"] for c in summary.get("claims", []))
    summary = _plain(summary)
    files = []
    import matplotlib.pyplot as plt

    try:
        if out is not None:  # each file written atomically: old or new, never truncated
            from verify.figures.backend import OutputPathError, atomic_write, save_figure

            out = writable(out)
            files = [str(out / f"{name}.png"), str(out / f"{name}.json")]
            summary["files"] = files
            try:
                save_figure(fig, out / f"{name}.png", dpi=110)
                atomic_write(out / f"{name}.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
            except OSError as exc:  # a full disk, a folder named NAME.png, ...: old files stay
                raise OutputPathError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)
    return summary


def _plain(x):
    """Plain JSON values: arrays and NumPy scalars converted, non-finite floats as the strings
    "inf", "-inf", "nan" (strict JSON has no literal for them)."""
    import math

    import numpy as np

    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_plain(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else str(float(x))
    if isinstance(x, complex):
        return [_plain(x.real), _plain(x.imag)]
    return x


def format_summary(summary: dict) -> str:
    lines = [f"{summary['experiment']}: {summary['title']} (seed {summary['seed']}, {summary['seconds']} s)"]
    for c in summary.get("claims", []):
        lines.append(f"  [{'holds' if c['holds'] else 'FAILS'}] {c['claim']}: measured {_short(c['measured'])}, "
                     f"expected {_short(c['expected'])}")
    for f in summary.get("files", []):
        lines.append(f"  wrote {f}")
    return "\n".join(lines)


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return str(v)
