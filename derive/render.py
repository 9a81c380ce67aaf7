"""LaTeX, Markdown and JSON renderings of a :class:`~derive.derivation.Derivation`.

One source, three outputs: the step lines are produced once (``step_lines``) and
wrapped as an ``align*`` environment (LaTeX), a fenced ``math`` block with
``aligned`` (GitHub Markdown) or a list of strings (JSON).  Every rendering is of a checked
derivation (the check runs when none is passed), and every step that is not ``proved``
says so in its reason: a printed line is a proved line unless it is marked.  Also printed:

* the assumptions of the symbols (``where \\beta > 0;\\ x \\in \\mathbb{R}``) with the first
  step that uses each symbol (JSON: every step lists all of its symbols' assumptions);
* a ``display`` name as ``name := checked lhs`` (only the name when it is the lhs itself);
* a ``solution`` step with one value as "is a root of" (a system: "is a solution of");
  with the full list of roots as "the roots of ... are exactly";
* each result with the status of the step it is tied to; one tied to no step is *stated*.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp

if TYPE_CHECKING:  # pragma: no cover
    from derive.derivation import Derivation, DerivationCheck, Step

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$",
                 "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}"}

_MARKS = {"given": "given", "spot-checked": "spot-checked numerically, not proved",
          "undecided": "NOT PROVED: SymPy could not decide", "failed": "FAILED"}

_RESULT_MARKS = {"spot-checked": "spot-checked numerically, not proved", "given": "given, not proved",
                 "undecided": "NOT PROVED", "failed": "FAILED", "stated": "stated, not tied to a checked step"}

_LATEX_ONLY = {"<": r"\ensuremath{<}", ">": r"\ensuremath{>}", "|": r"\ensuremath{|}"}


#: MathJax's \\text{} shows _ ^ # % ~ literally; only these need care there
_MATHJAX_TEXT = {"\\": "/", "{": "(", "}": ")", "$": "S", "&": "and"}


def text(s: str, style: str = "latex") -> str:
    """Escape plain text for ``\\text{...}``: for LaTeX (also < > |, which OT1 fonts lack)
    or for MathJax in Markdown (which shows _ ^ % literally inside \\text)."""
    table = {**_TEXT_ESCAPES, **_LATEX_ONLY} if style == "latex" else _MATHJAX_TEXT
    return "".join(table.get(c, c) for c in s)


def latex(x: Any) -> str:
    """SymPy's LaTeX for an expression, relation, set or plain string."""
    if isinstance(x, str):
        return x
    return sp.latex(x)


def parts(*objs: Any) -> list[Any]:
    """The SymPy objects inside (nested lists/tuples/sets/dicts of) ``objs``; strings are skipped."""
    out = []
    for o in objs:
        if isinstance(o, (list, tuple, set, frozenset)):
            out += parts(*o)
        elif isinstance(o, dict):
            out += parts(*o.keys(), *o.values())
        elif isinstance(o, (sp.Basic, sp.MatrixBase)):
            out.append(o)
        elif isinstance(o, (int, float, complex)) and not isinstance(o, bool):
            out.append(sp.sympify(o))
    return out


def step_symbols(step: "Step") -> set:
    """The symbols (and matrix symbols) a step is about."""
    found: set = set()
    for p in parts(step.lhs, step.rhs, step.symbol):
        found |= {a for a in p.atoms(sp.Symbol, sp.MatrixSymbol)} if hasattr(p, "atoms") else set()
    return found


def assumption_latex(s: Any) -> str | None:
    """What the assumptions of a symbol say, as LaTeX beginning with its name (``\\beta > 0``,
    ``n \\in \\mathbb{Z}_{>0}``, ``x \\in \\mathbb{R}``), or None for a symbol without any."""
    if not isinstance(s, sp.Symbol):
        return None
    name = sp.latex(s)
    signs = (("positive", "> 0", "_{>0}"), ("negative", "< 0", "_{<0}"), ("nonnegative", r"\ge 0", r"_{\ge 0}"),
             ("nonpositive", r"\le 0", r"_{\le 0}"))
    sign = next((sg for sg in signs if getattr(s, f"is_{sg[0]}")), None)
    if s.is_integer:
        ints = r"\mathbb{Z}" + (sign[2] if sign else "")
        parity = r"2\mathbb{Z}" if s.is_even else r"(2\mathbb{Z} + 1)" if s.is_odd else ""
        return rf"{name} \in " + (rf"{parity} \cap {ints}" if parity and sign else parity or ints)
    if sign:
        return f"{name} {sign[1]}"
    if s.is_real:
        return rf"{name} \in \mathbb{{R}}" + (r"\setminus\{0\}" if s.is_zero is False else "")
    if s.is_zero is False:
        return rf"{name} \ne 0"
    return None


def _named(display: str | None, lhs: Any) -> str:
    """``display := lhs`` (the name and what was checked), or lhs alone."""
    shown = latex(lhs)
    if display is None or display == shown:
        return shown
    return f"{display} := {shown}"


def _relation_latex(step: "Step") -> tuple[str, str]:
    """(left of the alignment point, right of it) for one step."""
    if step.kind == "solution":
        eqs = step.lhs if isinstance(step.lhs, (list, tuple)) else [step.lhs]
        eq_tex = r",\; ".join(latex(e) if isinstance(e, sp.Equality) else latex(e) + " = 0" for e in eqs)
        if isinstance(step.symbol, (list, tuple)):
            return (r"(%s)" % ", ".join(latex(s) for s in step.symbol),
                    "= (%s)" % ", ".join(latex(v) for v in step.rhs) + r" \quad\text{is a solution of}\quad " + eq_tex)
        if step.all_roots:
            return (latex(step.symbol), r"\in \left\{%s\right\}" % ", ".join(latex(v) for v in step.rhs)
                    + r" \quad\text{are all the roots of}\quad " + eq_tex)
        return latex(step.symbol), "= " + latex(step.rhs) + r" \quad\text{is a root of}\quad " + eq_tex
    if step.kind == "positive":
        return _named(step.display, step.lhs), "> 0"
    if step.kind == "equivalent":
        return latex(step.lhs), r"\iff " + latex(step.symbol) + r" \in " + latex(step.rhs)
    if step.continues:
        return "", _RELATIONS[step.relation] + " " + latex(step.rhs)
    left = _named(step.display, step.lhs) if step.kind != "given" else (step.display or latex(step.lhs))
    return left, _RELATIONS[step.relation] + " " + latex(step.rhs)


#: how each relation a step may state is printed
_RELATIONS = {"=": "=", "<=": r"\le", ">=": r"\ge", "<": "<", ">": ">", "in": r"\in"}


def step_assumptions(d: "Derivation") -> list[list[str]]:
    """Per step: the assumptions (LaTeX) of the symbols it uses for the first time in ``d``,
    grouped (``\\beta, \\eta > 0``); see :func:`assumption_latex`."""
    seen: set = set()
    out = []
    for step in d.steps:
        new = sorted((s for s in step_symbols(step) if s not in seen), key=lambda s: sp.latex(s))
        seen |= set(new)
        groups: dict[str, list[str]] = {}
        for s in new:
            what = assumption_latex(s)
            if what is not None:
                name = sp.latex(s)
                groups.setdefault(what[len(name):], []).append(name)
        out.append([", ".join(names) + rest for rest, names in groups.items()])
    return out


def step_lines(d: "Derivation", check: "DerivationCheck | None" = None, style: str = "markdown") -> list[str]:
    """One aligned line per step: ``lhs &= rhs`` and the reason, as ``\\tag*{}`` (LaTeX:
    moved below the line when it does not fit) or ``\\qquad \\text{}`` (Markdown), with the
    assumptions of the symbols the step introduces.  The check runs when none is passed."""
    check = d.checked(check)
    lines = []
    for step, sc, assumed in zip(d.steps, check.steps, step_assumptions(d)):
        left, right = _relation_latex(step)
        reason = step.reason
        if sc.status in _MARKS and not (sc.status == "given" and step.kind == "given"):
            reason = f"{reason} [{_MARKS[sc.status]}]"
        elif step.kind == "given":
            reason = f"{reason} [given]"
        where = r";\ ".join(assumed)
        if style == "latex":
            tag = text(reason) + (f"; where ${where}$" if where else "")
            lines.append(f"{left} &{right} \\tag*{{{tag}}}")
        else:
            tail = (f"; where }}{where}\\text{{)" if where else ")")
            lines.append(f"{left} &{right} \\qquad \\text{{({text(reason, style)}{tail}}}")
    return lines


def _result_mark(check: "DerivationCheck", name: str) -> str:
    r = check.result_status(name)
    status = r.status if r is not None else "stated"
    return "" if status == "proved" else _RESULT_MARKS.get(status, status)


def results_lines(d: "Derivation", style: str = "latex", check: "DerivationCheck | None" = None) -> list[str]:
    """One line per result: name, value and, unless it is the value of a proved step, its mark."""
    check = d.checked(check)
    out = []
    for name, value in d.results.items():
        mark = _result_mark(check, name)
        out.append(f"\\text{{{text(name, style)}}}: &\\quad {latex(value)}"
                   + (f" \\quad \\text{{[{text(mark, style)}]}}" if mark else ""))
    return out


def derivation_latex(d: "Derivation", check: "DerivationCheck | None" = None, standalone: bool = False) -> str:
    """The derivation as an ``align*`` block (a whole compilable document if ``standalone``)."""
    check = d.checked(check)
    body = [f"% {d.name}: generated by learning-dynamics from derive/; do not edit",
            "\\begin{align*}", " \\\\\n".join(step_lines(d, check, "latex")), "\\end{align*}"]
    if d.results:
        body += ["Results:", "\\begin{align*}", " \\\\\n".join(results_lines(d, check=check)), "\\end{align*}"]
    body.append(f"Checked by SymPy: {text(check.summary())}.")
    if not standalone:
        return "\n".join(body) + "\n"
    head = ["\\documentclass{article}", "\\usepackage[margin=2cm]{geometry}",
            "\\usepackage{amsmath,amssymb}", "\\allowdisplaybreaks", "\\begin{document}",
            f"\\section*{{{text(d.title)}}}"]
    if d.summary:
        head.append(text(d.summary))
    tail = []
    if d.references:
        tail = ["\\paragraph{References}", "\\begin{itemize}"] + [f"\\item {text(r)}" for r in d.references] + ["\\end{itemize}"]
    return "\n".join(head + body + tail + ["\\end{document}"]) + "\n"


def _md_inline(s: str) -> str:
    """``$x$`` -> GitHub's ``$`x`$``, whose content Markdown leaves alone (``\\|`` survives)."""
    import re

    return re.sub(r"\$([^$]+)\$", lambda m: "$`" + m.group(1) + "`$", s)


def derivation_markdown(d: "Derivation", check: "DerivationCheck | None" = None) -> str:
    """GitHub-renderable Markdown: a fenced ``math`` block (GitHub passes its content to
    MathJax untouched, unlike ``$$`` blocks, where Markdown first eats backslashes)."""
    check = d.checked(check)
    out = [f"# {d.title}", "", f"<!-- {d.name}: generated by learning-dynamics from derive/; do not edit -->", ""]
    if d.summary:
        out += [_md_inline(d.summary), ""]
    out += ["```math", "\\begin{aligned}", " \\\\\n".join(step_lines(d, check)), "\\end{aligned}", "```", ""]
    if d.results:
        out += ["**Results**", ""]
        for name, value in d.results.items():
            mark = _result_mark(check, name)
            out.append(f"- {name}: $`{latex(value)}`$" + (f" *({mark})*" if mark else ""))
        out.append("")
    out += [f"Checked by SymPy: {check.summary()}.", ""]
    if d.references:
        out += ["**References**", ""] + [f"- {r}" for r in d.references] + [""]
    return "\n".join(out)


def derivation_json(d: "Derivation", check: "DerivationCheck | None" = None) -> dict:
    """A JSON-serializable description: steps (LaTeX, reason, status, assumptions) and results
    (``checked``: true only for the value of a proved step)."""
    check = d.checked(check)
    steps = []
    for step, sc in zip(d.steps, check.steps):
        left, right = _relation_latex(step)
        assuming = sorted({a for a in map(assumption_latex, step_symbols(step)) if a})
        entry = {"kind": step.kind, "latex": f"{left} {right}".strip(), "reason": step.reason,
                 "assuming": assuming, "status": sc.status, "method": sc.method, "detail": sc.detail}
        if step.display is not None:
            entry["display"] = step.display
        steps.append(entry)
    results = {}
    for k, v in d.results.items():
        r = check.result_status(k)
        status = r.status if r is not None else "stated"
        results[k] = {"sympy": sp.sstr(v), "latex": latex(v), "checked": status == "proved", "status": status,
                      "step": None if r is None else r.step}
    return {"name": d.name, "title": d.title, "summary": d.summary, "steps": steps, "results": results,
            "ok": check.ok}
