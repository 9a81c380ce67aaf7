"""The records of a :class:`~derive.derivation.Derivation`: a step, the check of a step, a named result tied
to a step, and the check of a whole derivation; plus the rule that a step's ``display`` is a name, not a
relation.  Plain data: the checking itself is in :mod:`derive.derivation` (and :mod:`derive.decide`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sympy as sp

#: statuses that count as a success of ``check()``
PASSING = ("proved", "spot-checked", "given")

_RELATION_TOKENS = ("=", "<", ">", r"\le", r"\ge", r"\leq", r"\geq", r"\ne", r"\neq", r"\iff", r"\approx",
                    r"\equiv", r"\to", r"\in", r"\Rightarrow", r"\implies")


@dataclass(frozen=True)
class Step:
    """One claim of a derivation, with the reason that justifies it."""

    kind: str  # equal | then | solution | equivalent | positive | given
    lhs: Any
    rhs: Any
    reason: str
    symbol: Any = None  # the variable, for solution / equivalent steps
    continues: bool = False  # rendered as "&= rhs" after the previous line
    display: str | None = None  # a LaTeX *name* for lhs, rendered "display := lhs"
    relation: str = "="  # a given step may state an inequality: "<=", ">=", "<", ">"

    @property
    def all_roots(self) -> bool:
        """A solution step for one symbol with a list of values: claims they are every root."""
        return (self.kind == "solution" and not isinstance(self.symbol, (list, tuple))
                and isinstance(self.rhs, (list, tuple, set, sp.FiniteSet)))


@dataclass(frozen=True)
class StepCheck:
    """The outcome of checking one step."""

    step: Step
    status: str  # proved | spot-checked | given | failed | undecided
    method: str  # how: simplify, equals, substitution, solveset, random points, ...
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in PASSING

    def __repr__(self) -> str:
        return f"StepCheck({self.step.kind}: {self.status} by {self.method})"


@dataclass(frozen=True)
class ResultCheck:
    """A named result and the step it is the value of (``step`` None: stated, not tied)."""

    name: str
    status: str  # the tied step's status, or "stated"
    step: int | None = None


@dataclass(frozen=True)
class DerivationCheck:
    """All step checks of one derivation, and how each result is tied to them."""

    name: str
    steps: tuple[StepCheck, ...]
    results: tuple[ResultCheck, ...] = ()

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def result_status(self, name: str) -> ResultCheck | None:
        return next((r for r in self.results if r.name == name), None)

    def __repr__(self) -> str:
        return f"DerivationCheck({self.name!r}: {self.summary() or 'no steps'}; {'ok' if self.ok else 'NOT ok'})"

    def _repr_markdown_(self) -> str:
        """Jupyter: a table of the steps (number, kind, status, method) and how the results are tied."""
        out = [f"**{_md_cell(self.name)}**: {_md_cell(self.summary() or 'no steps')}", "",
               "| step | kind | status | method |", "|---:|---|---|---|"]
        out += [f"| {i} | {s.step.kind} | {_md_cell(s.status)} | {_md_cell(s.method)} |"
                for i, s in enumerate(self.steps, 1)]
        if self.results:
            out += ["", "| result | status | step |", "|---|---|---:|"]
            out += [f"| `{r.name}` | {r.status} | {'' if r.step is None else r.step + 1} |" for r in self.results]
        return "\n".join(out) + "\n"

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("proved", "spot-checked", "given", "undecided", "failed") if self.count(s)]
        stated = sum(r.status == "stated" for r in self.results)
        if stated:
            parts.append(f"{stated} result{'s' if stated > 1 else ''} stated, not tied to a checked step")
        return ", ".join(parts)


def _check_display(display: Any) -> str | None:
    """A display must be a name (no relation at brace depth 0); return it or raise ValueError."""
    if display is None:
        return None
    display = str(display)
    depth, top = 0, []
    for ch in display:
        depth += ch == "{"
        depth -= ch == "}"
        top.append(ch if depth == 0 else " ")
    flat = "".join(top)
    for tok in _RELATION_TOKENS:
        pat = re.escape(tok) + (r"(?![a-zA-Z])" if tok[0] == "\\" else "")
        if re.search(pat, flat):
            raise ValueError(f"display={display!r} states a relation ({tok.strip()}): a display is only a name for "
                             "the checked left-hand side (e.g. 'P(1)'); put the claim itself in the step")
    return display


def _md_cell(s: str) -> str:
    """Text for a Markdown table cell: pipes and Markdown characters escaped."""
    return re.sub(r"([|*_`\\\[\]<>])", r"\\\1", str(s))
