"""LaTeX, Markdown and JSON renderings of a :class:`~derive.derivation.Derivation`.

One source, three outputs.  Every rendering is of a checked derivation (the check runs when none is
passed), and every step that is not ``proved`` says so: a printed line is a proved line unless it is marked.

* **prose** (title, summary, reasons, references) is written in :mod:`derive.markup` (``$math$`` and
  ```code```) and rendered with it; a string that does not follow the markup is escaped as plain text
  rather than failing the rendering;
* **a step** is a paragraph ``(k) reason [mark]; where <the assumptions of the symbols it introduces>``
  followed by its display; a ``then`` step shares the display of the step it continues (one row each,
  numbered at the right);
* **a display** is an ``aligned`` block whose rows fit the line (:func:`derive.typeset.rows`: long sums are
  broken at their top-level ``+``/``-``, ``name := lhs = rhs`` may take one row per relation, wide matrices
  get their cells broken); in LaTeX each display is also wrapped in ``\\ldynfit``, which scales it to the
  line width only if it still does not fit (measured by TeX itself, so nothing runs off the page);
* a ``display`` name as ``name := checked lhs`` (only the name when it is the lhs itself); a ``solution``
  step with one value as "is a root of" (a system: "is a solution of"), with the full list of roots as
  "are all the roots of";
* **results** as ``label = value`` (``d.result(..., label=)``, else a label made from the name by
  :func:`derive.typeset.label`), each with the status of the step it is tied to; one tied to no step is
  *stated*.

Targets: :func:`derivation_latex` (a fragment to paste into a paper, or a whole document with
:func:`preamble`), :func:`derivation_markdown` (GitHub's MathJax and KaTeX: ``$...$`` inline, ``$$`` blocks
on their own lines, no ``\\text`` holding ``_``), :func:`derivation_json`, and for Jupyter
:func:`derivation_repr_latex`.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sympy as sp

from derive import markup
from derive.typeset import label as name_label
from derive.typeset import latex, rows

if TYPE_CHECKING:  # pragma: no cover
    from derive.derivation import Derivation, DerivationCheck, Step

__all__ = ["preamble", "derivation_latex", "derivation_markdown", "derivation_json", "derivation_repr_latex",
           "latex", "text", "parts", "step_symbols", "assumption_latex", "step_assumptions", "result_label"]

#: the widest display row aimed at, in points (A4 with 2.5 cm margins at 10 pt is 455 pt wide; the
#: width estimate errs by up to ~7 %)
LINE = 405.0

_MARKS = {"given": "given", "spot-checked": "spot-checked numerically, not proved",
          "undecided": "NOT PROVED: SymPy could not decide", "failed": "FAILED"}

_RESULT_MARKS = {"spot-checked": "spot-checked numerically, not proved", "given": "given, not proved",
                 "undecided": "NOT PROVED", "failed": "FAILED", "stated": "stated, not tied to a checked step"}

_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$",
                 "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}", "<": r"\textless{}", ">": r"\textgreater{}",
                 "|": r"\textbar{}"}

#: the last-resort fit: TeX measures the display and scales it to the line only when it is wider
FIT_MACRO = "\n".join([
    r"\ifdefined\ldynbox\else\newsavebox{\ldynbox}\fi",
    r"\providecommand{\ldynfit}[1]{\sbox{\ldynbox}{$\displaystyle #1$}%",
    r"  \ifdim\wd\ldynbox>\linewidth\resizebox{\linewidth}{!}{\usebox{\ldynbox}}\else\usebox{\ldynbox}\fi}",
])


def preamble() -> str:
    """The preamble lines a document of derivations needs after ``\\documentclass[10pt]{article}``: A4 with
    2.5 cm margins, amsmath, amssymb, graphicx (for ``\\ldynfit``) and the ``\\ldynfit`` macro.  Only
    packages of Debian's texlive-latex-base."""
    return "\n".join([r"\usepackage[a4paper,margin=2.5cm]{geometry}", r"\usepackage{amsmath,amssymb}",
                      r"\usepackage{graphicx}", r"\emergencystretch=6em", FIT_MACRO])


# -- prose ---------------------------------------------------------------------------------------
def text(s: str, style: str = "latex") -> str:
    """Plain text escaped for a LaTeX paragraph (``style="latex"``) or for Markdown."""
    if style == "latex":
        return "".join(_TEXT_ESCAPES.get(c, c) for c in s)
    return re.sub(r"([\\`*_{}\[\]<>|#$])", r"\\\1", s)


def prose_latex(s: str) -> str:
    """A prose string (:mod:`derive.markup`) for a LaTeX paragraph; escaped plain text if it is not markup."""
    try:
        return markup.to_latex(s)
    except markup.MarkupError:
        return text(s)


def prose_markdown(s: str) -> str:
    """A prose string for Markdown; escaped plain text if it is not markup."""
    try:
        return markup.to_markdown(s)
    except markup.MarkupError:
        return text(s, "markdown")


def prose_plain(s: str) -> str:
    """A prose string for a terminal (math stays LaTeX source); the string itself if it is not markup."""
    try:
        return markup.to_plain(s)
    except markup.MarkupError:
        return s


_MATH_TEXT = {"&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}", "\\": r"\backslash ",
              "_": r"\_", "^": r"\hat{}", "~": r"\sim "}


def prose_math_text(s: str) -> str:
    """A prose string for ``\\text{...}`` inside a math block (MathJax and KaTeX both render it): math as
    ``$...$`` nested in the text, code as ``$\\mathtt{...}$``."""
    try:
        segs = markup.segments(s)
    except markup.MarkupError:
        segs = [("code", s)]
    out = []
    for kind, body in segs:
        if kind == "math":
            out.append(f"${body}$")
        elif kind == "code":
            out.append(r"$\mathtt{" + "".join(_MATH_TEXT.get(c, r"\ " if c == " " else c) for c in body) + "}$")
        else:
            out.append("".join(_MATH_TEXT.get(c, c) for c in body))
    return "".join(out)


# -- symbols and assumptions ------------------------------------------------------------------
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
    name = latex(s)
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


def step_assumptions(d: "Derivation") -> list[list[str]]:
    """Per step: the assumptions (LaTeX) of the symbols it uses for the first time in ``d``,
    grouped (``\\beta, \\eta > 0``); see :func:`assumption_latex`."""
    seen: set = set()
    out = []
    for step in d.steps:
        new = sorted((s for s in step_symbols(step) if s not in seen), key=latex)
        seen |= set(new)
        groups: dict[str, list[str]] = {}
        for s in new:
            what = assumption_latex(s)
            if what is not None:
                name = latex(s)
                groups.setdefault(what[len(name):], []).append(name)
        out.append([", ".join(names) + rest for rest, names in groups.items()])
    return out


# -- the math of a step -----------------------------------------------------------------------
#: how each relation a step may state is printed
_RELATIONS = {"=": "=", "<=": r"\le", ">=": r"\ge", "<": "<", ">": ">", "in": r"\in"}


def _named(display: str | None, lhs: Any) -> tuple[str, list[tuple[str, str]]]:
    """(anchor, chain) for ``display := lhs`` (the name and what was checked), or lhs alone."""
    shown = latex(lhs)
    if display is None or display == shown:
        return shown, []
    return display, [(":=", shown)]


def step_chain(step: "Step") -> tuple[str, list[tuple[str, str]]]:
    """A step's math as an anchor and a chain of (connector, LaTeX): ``lhs`` and ``[("=", rhs)]``."""
    if step.kind == "solution":
        eqs = step.lhs if isinstance(step.lhs, (list, tuple)) else [step.lhs]
        eq_tex = r",\; ".join(latex(e) if isinstance(e, sp.Equality) else latex(e) + " = 0" for e in eqs)
        if isinstance(step.symbol, (list, tuple)):
            return (r"(%s)" % ", ".join(latex(s) for s in step.symbol),
                    [("=", "(%s)" % ", ".join(latex(v) for v in step.rhs)),
                     (r"\quad\text{is a solution of}\quad", eq_tex)])
        if step.all_roots:
            return latex(step.symbol), [(r"\in", r"\left\{%s\right\}" % ", ".join(latex(v) for v in step.rhs)),
                                        (r"\quad\text{are all the roots of}\quad", eq_tex)]
        return latex(step.symbol), [("=", latex(step.rhs)), (r"\quad\text{is a root of}\quad", eq_tex)]
    if step.kind == "positive":
        anchor, chain = _named(step.display, step.lhs)
        return anchor, chain + [(">", "0")]
    if step.kind == "equivalent":
        return latex(step.lhs), [(r"\iff", latex(step.symbol) + r" \in " + latex(step.rhs))]
    if step.continues:
        return "", [(_RELATIONS[step.relation], latex(step.rhs))]
    if step.kind == "given":
        anchor, chain = step.display or latex(step.lhs), []
    else:
        anchor, chain = _named(step.display, step.lhs)
    return anchor, chain + [(_RELATIONS[step.relation], latex(step.rhs))]


def step_latex(step: "Step") -> str:
    """A step's math on one line (``display := lhs = rhs``), as JSON gives it."""
    anchor, chain = step_chain(step)
    return " ".join(x for x in [anchor] + [f"{c} {t}" for c, t in chain] if x)


def _mark(step: "Step", status: str) -> str:
    if status in _MARKS and not (status == "given" and step.kind == "given"):
        return _MARKS[status]
    return "given" if step.kind == "given" else ""


def _blocks(d: "Derivation") -> list[list[int]]:
    """Indices of steps sharing one display: a step and the ``then`` steps continuing it."""
    out: list[list[int]] = []
    for i, step in enumerate(d.steps):
        if step.continues and out:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _display_rows(d: "Derivation", block: list[int], limit: float) -> list[str]:
    """The rows of one block's ``aligned`` display; rows of a shared display end with their step number."""
    out = []
    numbered = len(block) > 1
    for i in block:
        anchor, chain = step_chain(d.steps[i])
        lines = rows(anchor, chain, limit - (30.0 if numbered else 0.0))
        if numbered:
            lines[-1] += rf" \qquad ({i + 1})"
        out += lines
    return out


def _aligned(lines: list[str]) -> str:
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _where(assumed: list[str], style: str) -> str:
    if not assumed:
        return ""
    if style == "latex":  # a long list of symbols may break after its commas
        assumed = [a.replace(", ", r",\allowbreak ") for a in assumed]
    return "; where " + ", ".join(f"${a}$" for a in assumed)


def _step_paragraph(d, i, check, assumed, style: str) -> str:
    step = d.steps[i]
    mark = _mark(step, check.steps[i].status)
    if style == "latex":
        para = (rf"\noindent({i + 1})~" + prose_latex(step.reason) + (rf" \emph{{[{mark}]}}" if mark else "")
                + _where(assumed, style))
        return para if para.endswith((".", "?", "!")) else para + "."
    return (f"**({i + 1})** " + prose_markdown(step.reason) + (f" *({mark})*" if mark else "")
            + _where(assumed, style))


# -- results -----------------------------------------------------------------------------------
def result_label(d: "Derivation", name: str) -> str:
    """The LaTeX label of a result: its ``label=``, else one made from the name (:func:`typeset.label`)."""
    return d.result_labels.get(name) or name_label(name)


def _result_mark(check: "DerivationCheck", name: str) -> str:
    r = check.result_status(name)
    status = r.status if r is not None else "stated"
    return "" if status == "proved" else _RESULT_MARKS.get(status, status)


def _result_rows(d: "Derivation", check: "DerivationCheck", name: str, value: Any) -> list[str]:
    lines = rows(result_label(d, name), [("=", latex(value))], LINE)
    mark = _result_mark(check, name)
    if mark:
        lines.append(rf"&\quad \text{{[{mark}]}}")
    return lines


# -- LaTeX ----------------------------------------------------------------------------------------
def _display(lines: list[str]) -> str:
    return "\\begin{equation*}\\ldynfit{" + _aligned(lines) + "}\\end{equation*}"


def derivation_latex(d: "Derivation", check: "DerivationCheck | None" = None, standalone: bool = False) -> str:
    """The derivation as LaTeX: a fragment (steps, results, "Checked by SymPy") that compiles in any document
    loading amsmath, amssymb and graphicx (:func:`preamble`), or with ``standalone`` a whole document with
    the title, the summary and the references."""
    check = d.checked(check)
    body = [f"% {d.name}: generated by learning-dynamics from derive/; do not edit",
            "% needs amsmath, amssymb, graphicx (derive.render.preamble())", FIT_MACRO, ""]
    assumed = step_assumptions(d)
    for block in _blocks(d):
        body += ["\\smallskip"] + [_step_paragraph(d, i, check, assumed[i], "latex") for i in block]
        body += [_display(_display_rows(d, block, LINE)), ""]
    if d.results:
        body += [r"\paragraph{Results}", ""]
        for name, value in d.results.items():
            body.append(_display(_result_rows(d, check, name, value)))
        body.append("")
    body.append(f"\\noindent Checked by SymPy: {text(check.summary())}.")
    if not standalone:
        return "\n".join(body) + "\n"
    head = ["\\documentclass[10pt]{article}", preamble(), "\\begin{document}",
            f"\\section*{{{prose_latex(d.title)}}}"]
    if d.summary:
        head += [prose_latex(d.summary), ""]
    tail = []
    if d.references:
        tail = ["", "\\paragraph{References}", "\\begin{itemize}\\raggedright"]
        tail += [f"\\item {prose_latex(r)}" for r in d.references] + ["\\end{itemize}"]
    return "\n".join(head + body + tail + ["\\end{document}"]) + "\n"


# -- Markdown --------------------------------------------------------------------------------------
def derivation_markdown(d: "Derivation", check: "DerivationCheck | None" = None, heading: str = "#",
                        comment: bool = True) -> str:
    """Markdown for GitHub (MathJax) and KaTeX (VS Code, Jupyter, GitLab, Obsidian): the title as a heading,
    the summary, each step as a paragraph ``**(k)** reason *(mark)*; where $assumptions$`` followed by a
    display block (``$$`` on its own line, an ``aligned`` block, ``$$``), the results as a list
    ``- $label = value$ *(mark)*``, "Checked by SymPy" and the references; blank lines around every block."""
    check = d.checked(check)
    out = [f"{heading} {prose_markdown(d.title)}", ""]
    if comment:
        out += [f"<!-- {d.name}: generated by learning-dynamics from derive/; do not edit -->", ""]
    if d.summary:
        out += [prose_markdown(d.summary), ""]
    assumed = step_assumptions(d)
    for block in _blocks(d):
        for i in block:
            out += [_step_paragraph(d, i, check, assumed[i], "markdown"), ""]
        out += ["$$", _aligned(_display_rows(d, block, LINE)), "$$", ""]
    if d.results:
        out += ["**Results**", ""]
        for name, value in d.results.items():
            mark = _result_mark(check, name)
            out.append(f"- ${result_label(d, name)} = {latex(value)}$" + (f" *({mark})*" if mark else ""))
        out.append("")
    out += [f"Checked by SymPy: {check.summary()}.", ""]
    if d.references:
        out += ["**References**", ""] + [f"- {prose_markdown(r)}" for r in d.references] + [""]
    return "\n".join(out)


# -- Jupyter ---------------------------------------------------------------------------------------
def derivation_repr_latex(d: "Derivation", check: "DerivationCheck | None" = None) -> str:
    """One displayed math block (``$$...$$``) that Jupyter's MathJax (and KaTeX) renders: the title, the
    summary, and each step's number, reason and mark above its rows."""
    check = d.checked(check)
    lines = [r"&\textbf{" + prose_math_text(d.title) + "}"]
    if d.summary:
        lines.append(r"&\text{" + prose_math_text(d.summary) + "}")
    assumed = step_assumptions(d)
    for block in _blocks(d):
        for i in block:
            step = d.steps[i]
            mark = _mark(step, check.steps[i].status)
            where = ("; where " + ", ".join(f"${a}$" for a in assumed[i])) if assumed[i] else ""
            lines.append(rf"&\text{{({i + 1}) {prose_math_text(step.reason)}"
                         + (f" [{mark}]" if mark else "") + where + "}")
        lines += [r"&\quad " + step_latex(d.steps[i]) for i in block]
    for name, value in d.results.items():
        mark = _result_mark(check, name)
        lines.append(rf"&{result_label(d, name)} = {latex(value)}" + (rf"\quad\text{{[{mark}]}}" if mark else ""))
    lines.append(rf"&\text{{Checked by SymPy: {check.summary()}.}}")
    return "$$" + _aligned(lines) + "$$"


# -- JSON ------------------------------------------------------------------------------------------
def _prose_json(s: str) -> dict:
    return {"markup": s, "plain": prose_plain(s)}


def derivation_json(d: "Derivation", check: "DerivationCheck | None" = None) -> dict:
    """A JSON-serializable description: steps (LaTeX on one line, matrices with their ``&`` columns; reason
    as markup source and plain text; status, assumptions) and results (label, LaTeX, ``checked``: true only
    for the value of a proved step)."""
    check = d.checked(check)
    steps = []
    for step, sc in zip(d.steps, check.steps):
        assuming = sorted({a for a in map(assumption_latex, step_symbols(step)) if a})
        entry = {"kind": step.kind, "latex": step_latex(step), "reason": step.reason,
                 "reason_plain": prose_plain(step.reason), "assuming": assuming, "status": sc.status,
                 "method": sc.method, "detail": sc.detail}
        if step.display is not None:
            entry["display"] = step.display
        steps.append(entry)
    results = {}
    for k, v in d.results.items():
        r = check.result_status(k)
        status = r.status if r is not None else "stated"
        results[k] = {"label": result_label(d, k), "sympy": sp.sstr(v), "latex": latex(v),
                      "checked": status == "proved", "status": status, "step": None if r is None else r.step}
    return {"name": d.name, "title": d.title, "summary": d.summary, "summary_plain": prose_plain(d.summary),
            "steps": steps, "results": results, "ok": check.ok}
