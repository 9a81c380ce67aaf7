"""Named checks with a measured error and a tolerance, and the registry ``ldyn verify`` runs.

A check function returns a list of :class:`CheckResult`; it passes when the error is a
finite number no larger than the tolerance.  Groups are imported lazily, so selecting one
check does not pay for the others.
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


def run(names: list[str] | None = None) -> CheckTable:
    """Run the selected groups; a check that raises is reported as failed, not hidden.  A GROUP/CHECK
    name keeps the checks of GROUP whose names start with it; one that matches no check is UnknownCheck
    (a KeyError) naming the group's closest checks (they are known only once the group has run)."""
    names = list(names or [])
    whole = set(select([n for n in names if "/" not in n])) if any("/" not in n for n in names) or not names \
        else set()
    ran: list[tuple[str, CheckResult]] = []
    crashed: set[str] = set()
    for group in select(names):
        module, func = GROUPS[group].split(":")
        start = time.perf_counter()
        try:
            out = getattr(importlib.import_module(f"verify.checks.{module}"), func)()
        except Exception as exc:  # a crash is a failed check, with its reason
            out = [CheckResult(group, "the check raised", math.inf, 0.0, f"{type(exc).__name__}: {exc}")]
            crashed.add(group)
        elapsed = (time.perf_counter() - start) / max(1, len(out))
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
