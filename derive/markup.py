"""The small markup of a derivation's prose: summaries, step reasons, result notes.

A prose string is plain English with two kinds of spans, written once and rendered to every target:

* ``$...$``  inline math, in LaTeX (the subset KaTeX and MathJax both render): ``$\\eta < 2/\\lambda_{\\max}$``;
* ```...```  code: an option, a file or a Python name: ```--set eps_mode=inside```, ```weight_decay```.

Outside the spans the text may not contain ``\\ { } _ ^`` (they mean something in LaTeX or Markdown: write
them in math or code); a literal dollar sign is ``\\$``.  :func:`segments` splits a string and raises
:class:`MarkupError` (one line) for anything else, so a bad reason fails when its derivation is built.

:func:`to_latex` renders for a LaTeX paragraph, :func:`to_markdown` for Markdown (GitHub's MathJax and
KaTeX: inline math as ``$...$``), :func:`to_plain` for a terminal.
"""
from __future__ import annotations

import re

#: characters the plain text of a prose string may not contain (write them in $math$ or `code`)
FORBIDDEN = set("\\{}_^")

#: escapes for text in a LaTeX paragraph (OT1 fonts lack < > |)
_LATEX_TEXT = {"&": r"\&", "%": r"\%", "#": r"\#", "~": r"\textasciitilde{}", "<": r"\textless{}",
               ">": r"\textgreater{}", "|": r"\textbar{}", "$": r"\$"}
_LATEX_CODE = {**_LATEX_TEXT, "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_\allowbreak{}",
               "^": r"\textasciicircum{}", "-": "-{}", ".": r".\allowbreak{}", "/": r"/\allowbreak{}",
               "<": "<", ">": ">", "|": "|"}  # the typewriter font has < > | (the roman OT1 font does not)
# (code may break after . _ / like a URL: a long `torch.optim.Adam` never runs off the line)
#: Markdown characters that could start markup in running text
_MD_TEXT = re.compile(r"([*\[\]<>|#])")


class MarkupError(ValueError):
    """A prose string that does not follow the markup (one line: what and where)."""


def segments(s: str) -> list[tuple[str, str]]:
    """``[(kind, content), ...]`` with kind ``"text"``, ``"math"`` or ``"code"`` (content without delimiters;
    ``\\$`` in text becomes ``$``)."""
    if not isinstance(s, str):
        raise MarkupError(f"prose must be a string, got {type(s).__name__}")
    out: list[tuple[str, str]] = []
    buf: list[str] = []
    i, n = 0, len(s)

    def flush() -> None:
        if buf:
            out.append(("text", "".join(buf)))
            buf.clear()

    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and s[i + 1] == "$":
            buf.append("$")
            i += 2
            continue
        if c in "$`":
            j = s.find(c, i + 1)
            if j < 0:
                raise MarkupError(f"unclosed {c!r} at column {i + 1} in {_short(s)!r}")
            body = s[i + 1:j]
            if not body.strip():
                raise MarkupError(f"empty {c}{c} at column {i + 1} in {_short(s)!r}")
            flush()
            out.append(("math" if c == "$" else "code", body))
            i = j + 1
            continue
        if c in FORBIDDEN:
            raise MarkupError(f"{c!r} at column {i + 1} outside $math$ or `code` in {_short(s)!r}")
        buf.append(c)
        i += 1
    flush()
    return out


def check(s: str) -> str:
    """``s`` if it follows the markup (else :class:`MarkupError`)."""
    segments(s)
    return s


#: ASCII pseudo-math in running text: a Greek letter's name, a relation, a fraction or power, a function call
_PSEUDO_MATH = re.compile(
    r"\b(?:alpha|beta|gamma|delta|epsilon|eps|eta|theta|lambda|lam|mu|nu|rho|sigma|tau|kappa|omega|phi|psi|xi|zeta|"
    r"pi|chi)(?:\d+|_\w+)?\b"
    r"|[<>]=?|(?<![-=])=(?!=)|!=|->|\*\*|\d\s*/\s*\w|\w\s*/\s*\d"
    r"|\b(?:sqrt|exp|log|sin|cos|tanh|abs|max|min)\(")


def lint(s: str) -> list[str]:
    """The pieces of ``s``'s plain text that look like ASCII math (``eta < 2/lambda``, ``sqrt(v)``): each
    belongs in ``$...$`` (or in `code` when it is an option or a name)."""
    return [m.group(0) for kind, body in segments(s) if kind == "text" for m in _PSEUDO_MATH.finditer(body)]


def to_latex(s: str) -> str:
    """For a LaTeX paragraph or ``\\text{}``: text escaped, math as ``$...$``, code as ``\\texttt{}``."""
    parts = []
    for kind, body in segments(s):
        if kind == "math":
            parts.append(f"${body}$")
        elif kind == "code":
            parts.append(r"\texttt{" + "".join(_LATEX_CODE.get(c, c) for c in body) + "}")
        else:
            parts.append("".join(_LATEX_TEXT.get(c, c) for c in body))
    return "".join(parts)


def to_markdown(s: str) -> str:
    """For Markdown: math as ``$...$`` (GitHub and KaTeX), code in backticks, Markdown characters in the text
    escaped."""
    parts = []
    for kind, body in segments(s):
        if kind == "math":
            parts.append(f"${body.strip()}$")
        elif kind == "code":
            fence = "``" if "`" in body else "`"
            parts.append(f"{fence}{body}{fence}")
        else:
            parts.append(_MD_TEXT.sub(r"\\\1", body.replace("$", r"\$")))
    return "".join(parts)


_GREEK_UNICODE = dict(zip(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta kappa lambda mu nu xi pi rho sigma tau phi varphi chi "
    "psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega".split(),
    "αβγδεεζηθκλμνξπρστφφχψωΓΔΘΛΞΠΣΦΨΩ"))
_SYMBOLS = {"to": "→", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "infty": "∞",
            "cdot": "·", "times": "×", "pm": "±", "approx": "≈", "in": "∈", "ll": "≪", "gg": "≫", "sim": "~",
            "lVert": "‖", "rVert": "‖", "|": "‖", "max": "max", "min": "min", "log": "log", "exp": "exp",
            ",": " ", ";": " ", "quad": "  ", " ": " "}


def _math_plain(tex: str) -> str:
    """A readable approximation of inline LaTeX for a terminal: Greek letters and relations as Unicode,
    \\sqrt{x} as √x, \\hat x as x̂, \\mathrm{wd} as wd, subscripts as _x; anything else as written."""
    tex = re.sub(r"\\sqrt\{([^{}]*)\}", r"√\1", tex)
    tex = re.sub(r"\\hat\s*\\?([A-Za-z]+)", lambda m: _GREEK_UNICODE.get(m.group(1), m.group(1)) + "\u0302", tex)
    tex = re.sub(r"\\(?:mathrm|text|operatorname)\{([^{}]*)\}", r"\1", tex)
    tex = re.sub(r"\\([A-Za-z]+|[|,; ])", lambda m: _GREEK_UNICODE.get(m.group(1), _SYMBOLS.get(m.group(1), m.group(0))),
                 tex)
    tex = re.sub(r"_\{([^{}]*)\}", r"_\1", tex)
    return tex


def to_plain(s: str) -> str:
    """For a terminal: text and code as written, math made readable (:func:`_math_plain`: Greek letters and
    relations as Unicode; what it does not know stays LaTeX source)."""
    return "".join(_math_plain(body) if kind == "math" else body for kind, body in segments(s))


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."
