"""Audits of a source's displayed equations against SymPy (``ldyn audit hermosis [--json]``).

An audit is a list of records ``{number, claim, status, derived, reason}`` (see
derive/theories/hermosis_audit.py); ``status`` is "holds" (computed), "definition" (a definition or
assumption of the source), "holds-approx" (holds only under the source's approximation, named in the
reason), "differs" or "undecided".  Exit code of :func:`main_audit`: 0 when every claim was decided
(a "differs" is a finding about the source, not a failure of ours), 1 when any claim is "undecided"
(SymPy could neither prove nor refute it), 2 for an unknown audit name.
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
    """A plain-text table: number, status, claim (LaTeX); for every claim that is not a computed
    "holds" the reason, and the derived form where it is not the claim; a count line at the end."""
    from derive.theories.hermosis_audit import count_line

    lines = [f"{'no.':>4}  {'status':<12}  claim"]
    for r in records:
        lines.append(f"{r['number']:>4}  {r['status']:<12}  {r['claim']}")
        if r["status"] != "holds":
            if r["derived"] != r["claim"]:
                lines.append(f"{'':>4}  {'':<12}  derived: {r['derived']}")
            lines.append(f"{'':>4}  {'':<12}  reason:  {r['reason']}")
    lines.append(count_line(records))
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
