"""Named checks with a measured error and a tolerance, and the registry ``ldyn verify`` runs.

A check function returns a list of :class:`CheckResult`; it passes when the error is a
finite number no larger than the tolerance.  Groups are imported lazily, so selecting one
check does not pay for the others.  :func:`run` shares the groups among forked worker processes
(:func:`default_workers`, one per CPU; the derivations in parts, :data:`SPLIT`): the rows and their order
are those of a run in one process.
"""
from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass, replace

#: group name -> "module:function" inside verify/checks/, each returning list[CheckResult]
GROUPS: dict[str, str] = {
    "derivations": "derivations:derivation_checks",
    "gd-lambdified": "gd:lambdified_vs_handwritten",
    "derivatives": "derivatives:derivative_checks",
    "gd-critical-step": "gd:critical_step",
    "gd-convergence-rate": "gd:convergence_rate",
    "gd-regimes": "gd:regimes",
    "gd-modified-flow": "gd:modified_flow_order",
    "momentum-lambdified": "momentum:lambdified_vs_handwritten",
    "momentum-spectral-radius": "momentum:spectral_radius",
    "momentum-damping": "momentum:damping",
    "momentum-stability-boundary": "momentum:stability_boundary",
    "momentum-optimal-rate": "momentum:optimal_rate",
    "momentum-oscillator-limit": "momentum:oscillator_limit",
    "momentum-modified-flow": "momentum:modified_flow",
    "adaptive-lambdified": "adaptive:lambdified_vs_handwritten",
    "adam-bias-correction": "adaptive:bias_correction",
    "adam-frozen-threshold": "adaptive:frozen_threshold",
    "adam-update-bound": "adaptive:update_bound",
    "conventions": "adaptive:conventions",
    "zoo-classic-lambdified": "zoo.classic:lambdified_vs_handwritten",
    "zoo-classic-first-step": "zoo.classic:first_steps",
    "zoo-classic-adagrad-threshold": "zoo.classic:adagrad_threshold",
    "zoo-classic-asgd": "zoo.classic:asgd_average",
    "zoo-classic-rprop-crossing": "zoo.classic:rprop_crossing",
    "zoo-matrix-lambdified": "zoo.matrix:lambdified_vs_handwritten",
    "newton-schulz-singular-values": "zoo.matrix:newton_schulz_singular_values",
    "newton-schulz-bounds": "zoo.matrix:newton_schulz_bounds",
    "muon-momentum-scale": "zoo.matrix:muon_momentum_scale",
    "adafactor-factored": "zoo.matrix:adafactor_factored",
    "zoo-adamfam-lambdified": "zoo.adam_family:lambdified_vs_handwritten",
    "zoo-adamfam-nadam-frozen-threshold": "zoo.adam_family:frozen_threshold",
    "zoo-adamfam-conventions": "zoo.adam_family:conventions",
    "lyapunov": "continuous:lyapunov",
    "integrator-stability": "continuous:integrator_stability",
    "rate-network": "continuous:rate_network",
    "tensor": "autodiff:tensor_derivatives",
    "hessian": "autodiff:hessian_tools",
    "hermosis": "hermosis:hermosis_checks",
    "hermosis-rules": "hermosis:derived_vs_handwritten",
    "phase": "phase:phase_checks",
    "turing": "turing:turing_checks",
    "grokking": "grokking:grokking_checks",
    "closed-loop": "closed_loop:closed_loop_checks",
    "sgd-batch-noise": "stochastic.mean_square:batch_noise_factors",
    "sgd-mean-square": "stochastic.mean_square:mean_square_thresholds",
    "heavy-ball-mean-square": "stochastic.mean_square:heavy_ball_thresholds",
    "stochastic-moment-recursions": "stochastic.moments:moment_recursions",
    "stochastic-stationary-covariance": "stochastic.moments:stationary_covariance",
    "sgd-sme": "stochastic.sme:sme_vs_sde",
    "sgd-shuffling": "stochastic.sme:shuffling_regularizer",
    "certified-rates": "certify:certified_rates_hold",
    "certificate-counterexample": "certify:counterexample_cycles",
}


#: groups whose function takes ``part=(i, k)`` (the i-th of k contiguous parts of its rows, in order):
#: with several workers they run as k tasks; the rows and their order are those of the whole group
SPLIT: dict[str, int] = {"derivations": 4}


@dataclass(frozen=True)
class CheckResult:
    """One leg of the verification triangle: what was compared, how far apart, how far allowed."""

    check: str
    compared: str
    error: float
    tolerance: float
    detail: str = ""
    seconds: float = 0.0
    #: derivation steps behind this row that were spot-checked numerically, not proved
    spot_checked: int = 0

    @property
    def status(self) -> str:
        return "pass" if math.isfinite(self.error) and self.error <= self.tolerance else "fail"

    def to_json(self) -> dict:
        return {"check": self.check, "compared": self.compared, "status": self.status,
                "error": self.error if math.isfinite(self.error) else str(self.error),
                "tolerance": self.tolerance, "detail": self.detail, "seconds": round(self.seconds, 3),
                "spot_checked": self.spot_checked}


class CheckTable(list):
    """The results of :func:`run`: a plain list of :class:`CheckResult` (``ldyn verify`` prints
    :func:`table` of it, ``--json`` each row's ``to_json()``), shown as a table in a terminal and in Jupyter."""

    def __repr__(self) -> str:
        return table(self)

    def _repr_markdown_(self) -> str:
        """Jupyter: check, compared, error, tolerance, status; the last line counts passed and failed."""
        def cell(s: str) -> str:
            return str(s).replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")

        out = ["| check | compared | error | tolerance | status |", "|---|---|---:|---:|---|"]
        for r in self:
            status = "**FAIL**" if r.status == "fail" else "pass"
            if r.spot_checked:
                status += f" ({r.spot_checked} spot-checked)"
            out.append(f"| {cell(r.check)} | {cell(r.compared)} | {r.error:.2e} | {r.tolerance:.1e} | {status} |")
        passed = sum(r.status == "pass" for r in self)
        return "\n".join(out) + f"\n\n{passed} passed, {len(self) - passed} failed\n"


def relative_error(a, b) -> float:
    """max |a − b| / max(1, max |b|): relative for large values, absolute near zero."""
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return math.inf
    diff = np.max(np.abs(a - b)) if a.size else 0.0
    return float(diff / max(1.0, float(np.max(np.abs(b))) if b.size else 1.0))


def threshold_near(fails, predicted: float, tol: float, lo: float, hi: float, rtol: float) -> float:
    """Where ``fails(x)`` turns True, bisected to ``rtol`` (``numeric.step_size.bisect_threshold``): inside
    predicted·(1 ± 2·tol) when two runs show the threshold is there, else in [lo, hi] as a check without a
    prediction would (then a wrong prediction is reported exactly as before).  Same answer to ``rtol``, a
    third of the runs: a passing check has its threshold within tol of the prediction.  ValueError when
    [lo, hi] does not bracket the threshold (as ``critical_step_size``)."""
    from numeric.step_size import bisect_threshold

    a, b = predicted * (1 - 2 * tol), predicted * (1 + 2 * tol)
    if lo < a < b < hi and not fails(a) and fails(b):
        return bisect_threshold(fails, a, b, rtol)
    if not fails(hi):
        raise ValueError(f"the run does not fail at hi={hi!r}; increase hi (or steps)")
    if fails(lo):
        raise ValueError(f"the run already fails at lo={lo!r}; decrease lo")
    return bisect_threshold(fails, lo, hi, rtol)


class UnknownCheck(KeyError):
    """A check group or check name that matches nothing; the message names the closest known names."""

    def __str__(self) -> str:
        return str(self.args[0])


def _closest(name: str, known, n: int = 5) -> str:
    """The ``n`` known names closest to ``name`` (difflib), comma-separated."""
    import difflib

    known = list(dict.fromkeys(known))
    close = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    if len(close) < n:  # then the names sharing the longest prefix, then the most similar
        shared = sorted(known, key=lambda k: (-len(_common_prefix(name, k)),
                                              -difflib.SequenceMatcher(None, name, k).ratio()))
        close += [k for k in shared if k not in close][:n - len(close)]
    return ", ".join(close)


def _common_prefix(a: str, b: str) -> str:
    import os

    return os.path.commonprefix([a, b])


def select(names: list[str] | None) -> list[str]:
    """Groups matching the given names (a group name or a check-name prefix such as
    ``gd-critical-step``); all groups when ``names`` is empty.  UnknownCheck (a KeyError) for a name
    that matches no group, with the closest group names."""
    if not names:
        return list(GROUPS)
    chosen = []
    for n in names:
        hits = [g for g in GROUPS if g == n or (g.startswith(n) and "/" not in n) or n.startswith(g + "/")]
        if not hits:
            raise UnknownCheck(f"unknown check {n!r}; closest known: {_closest(n.split('/')[0], GROUPS)} "
                               f"({len(GROUPS)} groups, listed in the README)")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _run_group(group: str, part: tuple[int, int] | None = None) -> tuple[list[CheckResult], bool, float]:
    """One group (or one part of a :data:`SPLIT` group): (its rows, did it crash?, seconds taken)."""
    module, func = GROUPS[group].split(":")
    start = time.perf_counter()
    try:
        fn = getattr(importlib.import_module(f"verify.checks.{module}"), func)
        out, crashed = (fn() if part is None else fn(part=part)), False
    except Exception as exc:  # a crash is a failed check, with its reason
        out, crashed = [CheckResult(group, "the check raised", math.inf, 0.0, f"{type(exc).__name__}: {exc}")], True
    return list(out), crashed, time.perf_counter() - start


def _tasks(groups: list[str], workers: int) -> list[tuple[str, tuple[int, int] | None]]:
    """The units of work: each group whole, a :data:`SPLIT` group in parts when several workers share it."""
    tasks: list[tuple[str, tuple[int, int] | None]] = []
    for g in groups:
        k = SPLIT.get(g, 1) if workers > 1 else 1
        tasks += [(g, (i, k)) for i in range(k)] if k > 1 else [(g, None)]
    return tasks


def default_workers() -> int:
    """Worker processes for :func:`run`: the CPUs this process may use, at most 4 (each worker imports SymPy and
    NumPy: ~300 MB); 1 (run here) where forking is not the safe default (not Linux)."""
    import os
    import sys

    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def _worker(conn, others) -> None:  # pragma: no cover - runs in a forked worker
    """A worker: receive (group, part), send back :func:`_run_group`'s answer; None ends it.  ``others``:
    the parent's ends of the pipes, inherited by the fork: closed, so that a worker whose parent is gone
    sees the end of its own pipe and exits."""
    import os
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the workers
    for other in others:
        other.close()
    try:
        while True:
            task = conn.recv()
            if task is None:
                return
            answer = _run_group(*task)
            try:
                conn.send(answer)
            except Exception as exc:  # noqa: BLE001 - rows that cannot be pickled: a failed check, said so
                conn.send(([CheckResult(task[0], "the check raised", math.inf, 0.0,
                                        f"its rows cannot be sent back: {type(exc).__name__}: {exc}")], True,
                           answer[2]))
    except BaseException:  # noqa: BLE001 - SystemExit inside a check, the parent gone: the parent reports it
        os._exit(1)


def _run_parallel(tasks: list, workers: int) -> list:
    """:func:`_run_group` of every task on ``workers`` forked worker processes, each taking the next task
    when it is free; the answers in task order.  A worker that dies is reported as a crash of its task.
    Leaving early (Ctrl-C included) kills every worker before the exception goes on."""
    import multiprocessing
    from multiprocessing.connection import wait

    import numpy  # noqa: F401 - imported once here, shared by the forked workers
    import sympy  # noqa: F401

    ctx = multiprocessing.get_context("fork")
    procs, answers, pending, busy = [], [None] * len(tasks), list(range(len(tasks))), {}
    try:
        for _ in range(min(workers, len(tasks))):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(child, [parent] + [c for _, c in procs]), daemon=False)
            p.start()
            child.close()
            procs.append((p, parent))
        for p, conn in procs:
            if pending:
                busy[conn] = pending.pop(0)
                conn.send(tasks[busy[conn]])
        while busy:
            for conn in wait(list(busy)):
                i = busy.pop(conn)
                try:
                    answers[i] = conn.recv()
                except EOFError:  # the worker died (os._exit, a signal, out of memory) inside the check
                    group = tasks[i][0]
                    answers[i] = ([CheckResult(group, "the check raised", math.inf, 0.0,
                                               "the worker process running it died")], True, 0.0)
                    continue
                if pending:
                    busy[conn] = pending.pop(0)
                    conn.send(tasks[busy[conn]])
        for _, conn in procs:
            try:
                conn.send(None)
            except OSError:
                pass
        for p, _ in procs:
            p.join()
    finally:
        for p, conn in procs:
            if p.is_alive():
                p.kill()
                p.join()
            conn.close()
    return answers


def run(names: list[str] | None = None, workers: int | None = None) -> CheckTable:
    """Run the selected groups; a check that raises is reported as failed, not hidden.  A GROUP/CHECK
    name keeps the checks of GROUP whose names start with it; one that matches no check is UnknownCheck
    (a KeyError) naming the group's closest checks (they are known only once the group has run).
    ``workers``: forked worker processes sharing the groups (default :func:`default_workers`; 1 runs
    them in this process); the rows and their order are the same either way."""
    names = list(names or [])
    whole = set(select([n for n in names if "/" not in n])) if any("/" not in n for n in names) or not names \
        else set()
    groups = select(names)
    workers = default_workers() if workers is None else int(workers)
    tasks = _tasks(groups, workers)
    if workers > 1 and len(tasks) > 1:
        answers = _run_parallel(tasks, workers)
    else:
        answers = [_run_group(*t) for t in tasks]
    merged: dict[str, list] = {g: [[], False, 0.0] for g in groups}
    for (group, _), (out, crash, seconds) in zip(tasks, answers):
        m = merged[group]
        m[0] += out
        m[1] = m[1] or crash
        m[2] += seconds
    ran: list[tuple[str, CheckResult]] = []
    crashed: set[str] = {g for g, (_, crash, _) in merged.items() if crash}
    for group, (out, _, seconds) in merged.items():
        elapsed = seconds / max(1, len(out))
        ran += [(group, replace(r, seconds=elapsed)) for r in out]
    wanted = [n for n in names if "/" in n]
    for w in wanted:
        group = max((g for g in GROUPS if w.startswith(g + "/")), key=len)
        if group not in crashed and not any(g == group and r.check.startswith(w) for g, r in ran):
            known = [r.check for g, r in ran if g == group]
            raise UnknownCheck(f"unknown check {w!r}; closest known: {_closest(w, known or [group])}")
    return CheckTable(r for g, r in ran if g in whole or g in crashed or any(r.check.startswith(w) for w in wanted))


def table(results: list[CheckResult]) -> str:
    """A plain-text table: check, compared, error, tolerance, status ("PASS (2 spot-checked)" when
    derivation steps behind a row were only spot-checked).  The last line starts "N passed, M
    failed" (CI parses it) and then counts the spot-checked steps."""
    rows = [("check", "compared", "error", "tolerance", "status")]
    rows += [(r.check, r.compared, f"{r.error:.2e}", f"{r.tolerance:.1e}",
              r.status.upper() + (f" ({r.spot_checked} spot-checked)" if r.spot_checked else "")) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    widths[1] = min(widths[1], 64)
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1][:64].ljust(widths[1]), row[2].rjust(widths[2]),
                 row[3].rjust(widths[3]), row[4]]
        lines.append("  ".join(cells))
    lines.insert(1, "-" * len(lines[0]))
    passed = sum(r.status == "pass" for r in results)
    last = f"{passed} passed, {len(results) - passed} failed"
    spot = sum(r.spot_checked for r in results)
    if spot:
        rows_spot = sum(1 for r in results if r.spot_checked)
        last += (f"; {spot} derivation step{'s' if spot > 1 else ''} spot-checked, not proved "
                 f"(in {rows_spot} check{'s' if rows_spot > 1 else ''})")
    lines.append(last)
    return "\n".join(lines)
