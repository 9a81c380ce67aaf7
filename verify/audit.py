"""Audits of a source's displayed equations against SymPy (``ldyn audit hermosis [--json]``).

An audit is a list of records ``{number, claim, status, derived, reason}`` (see
derive/theories/hermosis_audit.py).  Exit code of :func:`main_audit`: 0 when every claim was decided
("holds" or "differs": a "differs" is a finding about the source, not a failure of ours), 1 when
any claim is "undecided" (SymPy could neither prove nor refute it), 2 for an unknown audit name.
"""
from __future__ import annotations

import json
import sys

#: audit name -> "module:function" inside derive/
AUDITS = {"hermosis": "theories.hermosis_audit:audit"}


def run(name: str) -> list[dict]:
    """The records of audit ``name``; KeyError lists the known audits."""
    if name not in AUDITS:
        raise KeyError(f"unknown audit {name!r}; known: {', '.join(AUDITS)}")
    import importlib

    module, func = AUDITS[name].split(":")
    return getattr(importlib.import_module(f"derive.{module}"), func)()


def format_table(records: list[dict]) -> str:
    """A plain-text table: number, status, claim (LaTeX), then the derived form and reason for
    every claim that does not hold; a count line at the end."""
    lines = [f"{'no.':>4}  {'status':<9}  claim"]
    for r in records:
        lines.append(f"{r['number']:>4}  {r['status']:<9}  {r['claim']}")
        if r["status"] != "holds":
            lines.append(f"{'':>4}  {'':<9}  derived: {r['derived']}")
            lines.append(f"{'':>4}  {'':<9}  reason:  {r['reason']}")
    counts = {st: sum(1 for r in records if r["status"] == st) for st in ("holds", "differs", "undecided")}
    equations = len({r["number"] for r in records})
    lines.append(f"{len(records)} claims in {equations} displayed equations: "
                 + ", ".join(f"{n} {st}" for st, n in counts.items()))
    return "\n".join(lines)


def main_audit(name: str, as_json: bool = False) -> int:
    """Print audit ``name`` (table, or a JSON list with ``as_json``); return the exit code
    (0 all decided, 1 some undecided, 2 unknown name)."""
    try:
        records = run(name)
    except KeyError as exc:
        print(f"ldyn: error: {exc.args[0]}", file=sys.stderr)
        return 2
    print(json.dumps(records, indent=2) if as_json else format_table(records))
    return 1 if any(r["status"] == "undecided" for r in records) else 0
