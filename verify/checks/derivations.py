"""Every derivation in the catalogue, proved step by step by SymPy."""
from __future__ import annotations

from derive import catalogue

from verify.checks import CheckResult


def derivation_checks(part: tuple[int, int] | None = None) -> list[CheckResult]:
    """Every step of every derivation, proved by SymPy (error = steps neither proved, spot-checked
    nor given); a row counts its spot-checked steps, which ``table()`` shows beside PASS.  ``part=(i, k)``:
    only the i-th of k contiguous slices of the catalogue (``ldyn verify`` shares them among its workers)."""
    names = catalogue.names()
    if part is not None:
        i, k = part
        names = names[i * len(names) // k:(i + 1) * len(names) // k]
    out = []
    for name in names:
        check = catalogue.build(name).check()
        bad = sum(not s.ok for s in check.steps)
        detail = check.summary()
        failing = [f"step {i + 1}: {s.status} ({s.detail})" for i, s in enumerate(check.steps) if not s.ok]
        if failing:
            detail += "; " + "; ".join(failing)
        out.append(CheckResult(f"derivation/{name}", f"SymPy proof of each step of {name}", float(bad), 0.0,
                               detail, spot_checked=check.count("spot-checked")))
    return out
