"""Typesetting expressions for a page: SymPy's LaTeX with upright names, a width estimate, line breaks.

* :func:`latex` prints with :class:`Printer`: a symbol's *name* part of a subscript is upright
  (``lambda_max`` -> ``\\lambda_{\\max}``, ``eta_crit`` -> ``\\eta_{\\mathrm{crit}}``, ``weight_decay`` ->
  ``\\mathrm{weight}_{\\mathrm{decay}}``); single letters and digits stay italic indices (``\\theta_{t}``,
  ``\\beta_{1}``, ``\\sigma_{zU}``).
* :func:`width` estimates how wide a LaTeX math string sets in display style at 10 pt, in points: glyphs
  count about 5.5 pt, binary operators and relations with their spacing 12-14 pt, ``\\frac`` its wider part,
  a script 70 % of its base size, a matrix the sum of its widest cells.  It errs on the wide side (measured
  against pdflatex on the catalogue's expressions).
* :func:`rows` breaks ``anchor REL1 side1 REL2 side2 ...`` into the rows of an ``aligned`` block no wider
  than a limit: at the top-level ``+``/``-`` of a sum (``lhs &= t_1 + t_2 \\\\ &\\quad + t_3``), one
  relation per row when the whole does not fit, inside an oversize ``\\left( ... \\right)`` (whose
  delimiters become fixed-size ``\\bigl( ... \\bigr)``, which may span rows), and inside the cells of a
  matrix too wide for the line.  What cannot be broken (a huge fraction) is left to the page: LaTeX
  scales it down with ``\\ldynfit`` (see :mod:`derive.render`).
* :func:`label` turns a result's Python name into a symbol: ``eta_critical`` -> ``\\eta_{\\mathrm{crit}}``,
  ``x_max`` -> ``x_{\\max}``, ``energy_gradient`` -> ``\\mathrm{energy\\ gradient}``.
"""
from __future__ import annotations

import re
from typing import Any

from sympy.printing.latex import LatexPrinter

#: subscripts printed as operators (upright, with the right spacing)
_OPERATOR_WORDS = {"max", "min", "sup", "inf", "lim", "det", "log", "exp"}
#: two-letter subscripts that are names (a two-letter subscript is otherwise a pair of indices: sigma_zm)
_SHORT_NAMES = {"op", "eq", "ss", "lr", "wd", "tr", "rms", "avg", "eff", "opt"}
#: words shortened in labels made from names
_ABBREVIATIONS = {"critical": "crit", "maximum": "max", "minimum": "min", "optimal": "opt", "effective": "eff"}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi",
          "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_GREEK_ALIASES = {"lam": "lambda", "eps": "epsilon"}


def _index_or_name(part: str) -> str:
    """One sub/superscript item: an operator word (``\\max``), a name (``\\mathrm{crit}``) or an index as is."""
    if part in _OPERATOR_WORDS:
        return "\\" + part
    if part.isalpha() and part.isascii() and (len(part) >= 3 or part in _SHORT_NAMES):
        return r"\mathrm{" + part + "}"
    return part


class Printer(LatexPrinter):
    """SymPy's LaTeX printer with upright names in symbol names (see the module docstring)."""

    def _print_Symbol(self, expr, style="plain"):
        # a symbol named by LaTeX source (sp.Symbol(r"\tilde Y\tilde Y^\top F")) is printed as written: SymPy's
        # name splitting would read its ^ and _ as the symbol's own super/subscripts and scramble it
        if "\\" in expr.name:
            return expr.name
        return super()._print_Symbol(expr, style=style)

    def _split_super_sub(self, name: str):
        split = super()._split_super_sub(name)
        if name is None or "{" in name:
            return split
        base, supers, subs = split
        if base.isalpha() and base.isascii() and len(base) > 1:  # an untranslated word: weight, lr
            base = r"\mathrm{" + base + "}"
        return base, [_index_or_name(s) for s in supers], [_index_or_name(s) for s in subs]


def latex(x: Any) -> str:
    """LaTeX for an expression, relation, set or matrix (:class:`Printer`); a string is LaTeX already."""
    if isinstance(x, str):
        return x
    return Printer().doprint(x)


def label(name: str) -> str:
    """A result's name as a symbol: ``eta_critical`` -> ``\\eta_{\\mathrm{crit}}``, ``x_max`` -> ``x_{\\max}``,
    ``lambda_2`` -> ``\\lambda_{2}``, ``G_F`` -> ``G_{F}``; a name starting with a word is set upright as a
    whole: ``energy_gradient`` -> ``\\mathrm{energy\\ gradient}``."""
    words = [w for w in name.split("_") if w]
    if not words:
        return r"\mathrm{result}"
    head = _GREEK_ALIASES.get(words[0], words[0])
    if head in _GREEK:
        base = "\\" + head
    elif re.fullmatch(r"[A-Za-z][0-9]*", head):
        base = head[0] + (f"_{{{head[1:]}}}" if len(head) > 1 else "")
    else:
        return r"\mathrm{" + r"\ ".join(w for w in words if re.fullmatch(r"\w+", w) and w.isascii()) + "}"
    if len(words) == 1:
        return base
    subs = [_index_or_name(_ABBREVIATIONS.get(w, w)) for w in words[1:]]
    return base + "_{" + ",".join(subs) + "}"


# -- tokens ---------------------------------------------------------------------------------
_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\s+|.", re.S)


def tokens(tex: str) -> list[str]:
    """LaTeX split into commands (``\\frac``, ``\\,``), single characters and runs of white space."""
    return _TOKEN.findall(tex)


# -- width ----------------------------------------------------------------------------------
_SPACES = {r"\,": 1.7, r"\:": 2.2, r"\;": 2.8, r"\ ": 3.3, r"\!": -1.7, r"\quad": 10.0, r"\qquad": 20.0,
           "~": 3.3, r"\enspace": 5.0, r"\thinspace": 1.7}
_RELATIONS = {"=", "<", ">", r"\le", r"\ge", r"\leq", r"\geq", r"\ne", r"\neq", r"\to", r"\in", r"\notin",
              r"\iff", r"\implies", r"\Rightarrow", r"\Leftrightarrow", r"\approx", r"\sim", r"\equiv", r"\subset",
              r"\subseteq", r"\mapsto", r"\propto", r"\ll", r"\gg", r"\rightarrow", r"\leftarrow", r"\coloneqq"}
_BINARY = {"+", "-", r"\cdot", r"\times", r"\pm", r"\mp", r"\odot", r"\otimes", r"\oplus", r"\circ", r"\cap",
           r"\cup", r"\setminus", r"\wedge", r"\vee", r"\ast", r"\star", r"\div"}
_FUNCTIONS = {r"\log", r"\exp", r"\sin", r"\cos", r"\tan", r"\sinh", r"\cosh", r"\tanh", r"\max", r"\min",
              r"\sup", r"\inf", r"\det", r"\lim", r"\arg", r"\ln", r"\deg", r"\dim", r"\ker", r"\Pr", r"\gcd",
              r"\limsup", r"\liminf", r"\arctan", r"\arcsin", r"\arccos", r"\sec", r"\csc", r"\cot"}
_TEXTLIKE = {r"\text", r"\mathrm", r"\operatorname", r"\textrm", r"\mathit", r"\mathbf", r"\mathbb", r"\mathcal",
             r"\boldsymbol", r"\texttt", r"\mathsf", r"\textbf", r"\textit", r"\mathfrak", r"\bm", r"\mathtt",
             r"\operatorname*"}
_ACCENTS = {r"\hat", r"\tilde", r"\bar", r"\overline", r"\underline", r"\dot", r"\ddot", r"\vec", r"\widehat",
            r"\widetilde", r"\check", r"\breve", r"\acute", r"\grave", r"\mathring", r"\overrightarrow"}
_ZERO = {r"\left", r"\right", r"\limits", r"\nolimits", r"\displaystyle", r"\textstyle", r"\scriptstyle",
         r"\mathop", r"\mathrel", r"\mathbin", r"\mathord", r"\mathopen", r"\mathclose", r"\middle", r"\big",
         r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\biggl", r"\biggr", r"\Biggl",
         r"\Biggr", r"\bigm", r"\Bigm", r"\nonumber", r"\notag", r"\relax", r"\strut", r"\phantom", r"\hphantom",
         r"\vphantom", r"\limits"}
_BIG = {r"\sum", r"\prod", r"\int", r"\oint", r"\iint", r"\bigcup", r"\bigcap", r"\coprod"}
_NARROW = set("()[]|.;:!'`/") | {r"\{", r"\}", r"\|", r"\lvert", r"\rvert", r"\lVert", r"\rVert", r"\langle",
                                  r"\rangle", r"\lceil", r"\rceil", r"\lfloor", r"\rfloor"}


class _Reader:
    """A cursor over tokens for :func:`width`."""

    def __init__(self, toks: list[str]):
        self.t, self.i = toks, 0

    def peek(self) -> str | None:
        while self.i < len(self.t) and self.t[self.i].isspace():
            self.i += 1
        return self.t[self.i] if self.i < len(self.t) else None

    def next(self) -> str | None:
        tok = self.peek()
        if tok is not None:
            self.i += 1
        return tok

    def group(self) -> list[str]:
        """The tokens of the next argument: a ``{...}`` group's content, or one token."""
        tok = self.next()
        if tok != "{":
            return [] if tok is None else [tok]
        depth, out = 1, []
        while self.i < len(self.t):
            tok = self.t[self.i]
            self.i += 1
            depth += (tok == "{") - (tok == "}")
            if depth == 0:
                break
            out.append(tok)
        return out

    def optional(self) -> list[str] | None:
        if self.peek() != "[":
            return None
        self.i += 1
        out = []
        while self.i < len(self.t) and self.t[self.i] != "]":
            out.append(self.t[self.i])
            self.i += 1
        self.i += 1
        return out

    def environment(self, name: str) -> list[list[list[str]]]:
        """Rows of cells (token lists) up to ``\\end{name}``, splitting at top-level ``&`` and ``\\\\``."""
        rows: list[list[list[str]]] = [[[]]]
        depth = 0
        while self.i < len(self.t):
            tok = self.t[self.i]
            self.i += 1
            if tok == r"\begin":
                depth += 1
            elif tok == r"\end":
                if depth == 0:
                    self.group()
                    break
                depth -= 1
            elif tok in "{}":
                pass
            if depth == 0 and _brace_level(rows[-1][-1]) == 0:
                if tok == "&":
                    rows[-1].append([])
                    continue
                if tok == r"\\":
                    rows.append([[]])
                    if self.peek() == "[":
                        self.optional()
                    continue
            rows[-1][-1].append(tok)
        if rows and rows[-1] == [[]]:
            rows.pop()
        return rows


def _brace_level(toks: list[str]) -> int:
    return sum((t == "{") - (t == "}") for t in toks)


def width(tex: str | list[str], text: bool = False) -> float:
    """Estimated width in points of ``tex`` set as display math at 10 pt (see the module docstring)."""
    r = _Reader(tokens(tex) if isinstance(tex, str) else list(tex))
    total = 0.0
    while (tok := r.next()) is not None:
        total += _token_width(tok, r, text)
    return total


def _token_width(tok: str, r: _Reader, text: bool) -> float:
    if tok in "{}":
        return 0.0
    if tok in ("_", "^"):
        return 0.72 * width(r.group(), text)
    if tok in (r"\frac", r"\dfrac", r"\cfrac"):
        a, b = r.group(), r.group()
        return max(width(a), width(b)) + 2.4
    if tok in (r"\tfrac", r"\binom"):
        a, b = r.group(), r.group()
        return 0.72 * max(width(a), width(b)) + 2.4
    if tok == r"\sqrt":
        r.optional()
        return width(r.group()) + 9.0
    if tok in (r"\left", r"\right", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\biggl", r"\biggr", r"\Biggl",
               r"\Biggr", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\middle"):
        delim = r.next()
        return 0.0 if delim == "." else 5.0
    if tok in _TEXTLIKE:
        return width(r.group(), text=True)
    if tok in _ACCENTS:
        return width(r.group(), text)
    if tok in (r"\phantom", r"\hphantom"):
        return width(r.group(), text)
    if tok == r"\vphantom":
        r.group()
        return 0.0
    if tok == r"\substack":
        return 0.72 * max((width(row) for row in _split_rows(r.group())), default=0.0)
    if tok == r"\begin":
        name = "".join(r.group())
        if name in ("array", "tabular"):
            r.group()
        rows = r.environment(name)
        return _environment_width(name, rows)
    if tok in _SPACES:
        return _SPACES[tok]
    if tok.isspace():
        return 3.3 if text else 0.0
    if tok in _ZERO:
        return 0.0
    if text:
        return 5.0 if tok[0] != "\\" else 6.0
    if tok in _RELATIONS:
        return 13.9
    if tok in _BINARY:
        return 12.3
    if tok in _BIG:
        return 16.0
    if tok in _FUNCTIONS:
        return 5.0 * (len(tok) - 1) + 2.0
    if tok in _NARROW:
        return 3.9
    if tok == ",":
        return 4.5
    if tok == "&":
        return 0.0
    if tok.isdigit():
        return 5.0
    if tok[0] == "\\":
        return 6.5
    return 6.0 if tok.isupper() else 5.6


def _split_rows(toks: list[str]) -> list[list[str]]:
    rows, depth, cur = [], 0, []
    for t in toks:
        depth += (t == "{") - (t == "}")
        if t == r"\\" and depth == 0:
            rows.append(cur)
            cur = []
        else:
            cur.append(t)
    return rows + [cur]


def _environment_width(name: str, rows: list[list[list[str]]]) -> float:
    base = name.rstrip("*")
    if not rows:
        return 0.0
    widths = [[width(c) for c in row] for row in rows]
    ncols = max(len(w) for w in widths)
    cols = [max((w[j] for w in widths if j < len(w)), default=0.0) for j in range(ncols)]
    if base in ("aligned", "align", "split", "gathered", "alignedat", "gather", "multline"):
        return max(sum(w) for w in widths)
    gap = 10.0
    delims = {"pmatrix": 10.0, "bmatrix": 10.0, "vmatrix": 6.0, "Vmatrix": 10.0, "Bmatrix": 10.0}.get(base, 0.0)
    if base == "cases":
        return sum(cols) + 20.0 + 10.0
    if base == "smallmatrix":
        return 0.72 * (sum(cols) + gap * (ncols - 1))
    return sum(cols) + gap * (ncols - 1) + delims + 2.0


# -- breaking -------------------------------------------------------------------------------
_OPENERS = {"(", "[", "{", "=", "&", ",", "+", "-", "<", ">", "^", "_", r"\left", r"\bigl", r"\Bigl", r"\biggl",
            r"\Biggl", r"\quad", r"\qquad", r"\,", r"\;", r"\:", r"\!", r"\cdot", r"\times", r"\pm"}


def _top_split(toks: list[str]) -> list[list[str]]:
    """``toks`` cut before every ``+``/``-`` that is a binary operator at the top level (outside braces,
    ``\\left...\\right`` pairs and environments)."""
    out, cur = [], []
    brace = lr = env = 0
    prev = None
    for t in toks:
        if (t in ("+", "-") and brace == lr == env == 0 and cur and prev is not None and prev not in _OPENERS):
            out.append(cur)
            cur = []
        cur.append(t)
        brace += (t == "{") - (t == "}")
        lr += (t == r"\left") - (t == r"\right")
        env += (t == r"\begin") - (t == r"\end")
        if not t.isspace():
            prev = t
    if cur:
        out.append(cur)
    return out


def _join(toks: list[str]) -> str:
    return "".join(toks).strip()


def _sized(inner: list[str]) -> tuple[str, str]:
    """Fixed-size delimiters tall enough for ``inner``: \\biggl for a fraction, \\Bigl for scripts."""
    s = "".join(inner)
    if r"\frac" in s or r"\dfrac" in s or r"\sum" in s or r"\begin" in s:
        return r"\biggl", r"\biggr"
    if r"\left" in s or "^" in s:
        return r"\Bigl", r"\Bigr"
    return r"\bigl", r"\bigr"


def _groups(toks: list[str]) -> list[tuple[int, int]]:
    """Top-level ``\\left`` ... ``\\right`` pairs of ``toks``: (index of \\left, index of its \\right)."""
    out, depth, start, brace = [], 0, None, 0
    for i, t in enumerate(toks):
        brace += (t == "{") - (t == "}")
        if brace:
            continue
        if t == r"\left":
            if depth == 0:
                start = i
            depth += 1
        elif t == r"\right":
            depth -= 1
            if depth == 0 and start is not None:
                out.append((start, i))
    return out


def _delim_end(toks: list[str], i: int) -> int:
    """Index after the delimiter following ``toks[i]`` (a \\left or \\right), spaces skipped."""
    j = i + 1
    while j < len(toks) and toks[j].isspace():
        j += 1
    return j + 1


def chunks(tex: str, budget: float) -> list[str]:
    """``tex`` as pieces that may each start a row: its top-level terms (``+ t``/``- t`` after the first),
    with oversize ``\\left(...\\right)`` groups opened and oversize matrices' cells broken (see
    :func:`rows`); a piece that still exceeds ``budget`` cannot be broken further."""
    out: list[str] = []
    for term in _top_split(tokens(tex)):
        out += _term_chunks(term, budget)
    return out


def _term_chunks(term: list[str], budget: float) -> list[str]:
    s = _join(term)
    if width(term) <= budget:
        return [s]
    if r"\begin{matrix}" in s:
        s = break_matrices(s, budget)
        if width(s) <= budget or r"\begin{aligned}" in s:
            return [s]
    groups = [(a, b) for a, b in _groups(term) if r"\begin" not in "".join(term[a:b])]
    fracs = _fracs(term)
    widest_group = max((width(term[a:b + 2]) for a, b in groups), default=0.0)
    if fracs and max(width(term[a:b]) for a, b, _ in fracs) > widest_group:
        return [_stack_fractions(term, fracs, budget)]
    if not groups:
        return [s]
    a, b = max(groups, key=lambda g: width(term[g[0]:g[1] + 2]))
    open_end, close_end = _delim_end(term, a), _delim_end(term, b)
    inner = term[open_end:b]
    parts = chunks(_join(inner), budget)
    if len(parts) < 2:
        return [s]
    left, right = _sized(inner)
    opener = left + "".join(term[a + 1:open_end]).strip()
    closer = right + "".join(term[b + 1:close_end]).strip()
    first = _join(term[:a]) + " " + opener + " " + parts[0]
    last = parts[-1] + " " + closer + _join(term[close_end:])
    return [first.strip()] + parts[1:-1] + [last.strip()]


def _fracs(toks: list[str]) -> list[tuple[int, int, list[int]]]:
    """Top-level ``\\frac{..}{..}`` of ``toks``: (start, end, [start of numerator, end, start of
    denominator, end]) as token indices (the argument ranges exclude their braces)."""
    out, brace, lr, i = [], 0, 0, 0
    while i < len(toks):
        t = toks[i]
        brace += (t == "{") - (t == "}")
        lr += (t == r"\left") - (t == r"\right")
        if t in (r"\frac", r"\dfrac") and brace == lr == 0:
            r = _Reader(toks)
            r.i = i + 1
            bounds = []
            for _ in range(2):
                r.peek()
                start = r.i
                r.group()
                bounds += [start + 1, r.i - 1] if toks[start] == "{" else [start, r.i]
            out.append((i, r.i, bounds))
            i = r.i
            continue
        i += 1
    return out


def _stack_fractions(toks: list[str], fracs: list, budget: float) -> str:
    """``toks`` with the numerator and denominator of each top-level fraction wider than ``budget``
    stacked as ``aligned`` rows (a fraction cannot be broken across rows of the display)."""
    out, pos = [], 0
    for start, end, (n0, n1, d0, d1) in fracs:
        out.append("".join(toks[pos:start]))
        args = []
        for a, b in ((n0, n1), (d0, d1)):
            arg = _join(toks[a:b])
            if width(toks[a:b]) > budget:
                lines = pack(chunks(arg, budget - 10.0), budget, budget - 10.0)
                if len(lines) > 1:
                    arg = r"\begin{aligned}&" + r" \\ &\quad ".join(lines) + r"\end{aligned}"
            args.append(arg)
        out.append(r"\frac{" + args[0] + "}{" + args[1] + "}")
        pos = end
    out.append("".join(toks[pos:]))
    return "".join(out).strip()


def break_matrices(tex: str, budget: float) -> str:
    """Each ``matrix`` environment of ``tex`` with the cells too wide for ``budget`` (shared among its
    columns) broken into ``aligned`` rows."""
    toks = tokens(tex)
    out, i = [], 0
    while i < len(toks):
        r = _Reader(toks)
        r.i = i + 1
        if toks[i] == r"\begin" and "".join(r.group()) == "matrix":
            rows = r.environment("matrix")
            ncols = max((len(row) for row in rows), default=1)
            cell_budget = max(110.0, (budget - 12.0 * ncols) / max(ncols, 1))
            new_rows = []
            for row in rows:
                cells = []
                for cell in row:
                    c = _join(cell)
                    if width(cell) > cell_budget:
                        lines = pack(chunks(c, cell_budget), cell_budget, cell_budget - 10.0)
                        if len(lines) > 1:
                            c = r"\begin{aligned}&" + r" \\ &\quad ".join(lines) + r"\end{aligned}"
                    cells.append(c)
                new_rows.append(" & ".join(cells))
            sep = r"\\[4pt]" if any(r"\begin{aligned}" in c for c in new_rows) else r"\\"
            out.append(r"\begin{matrix}" + sep.join(new_rows) + r"\end{matrix}")
            i = r.i
            continue
        out.append(toks[i])
        i += 1
    return "".join(out)


def pack(pieces: list[str], first: float, rest: float) -> list[str]:
    """Greedy: as many pieces per row as fit (``first`` for the first row, ``rest`` after)."""
    rows: list[str] = []
    cur, used = "", 0.0
    for p in pieces:
        w = width(p)
        budget = first if not rows else rest
        if cur and used + w > budget:
            rows.append(cur)
            cur, used = p, w
        else:
            cur = f"{cur} {p}".strip() if cur else p
            used += w
    if cur or not rows:
        rows.append(cur)
    return rows


def rows(anchor: str, chain: list[tuple[str, str]], limit: float) -> list[str]:
    """The rows of an ``aligned`` block for ``anchor CONN1 side1 CONN2 side2 ...`` (``chain`` of
    (connector, LaTeX) pairs: a relation such as ``=``, ``:=``, ``\\le``, or words such as
    ``\\quad\\text{is a root of}\\quad``), at most ``limit`` points wide where the pieces allow.
    One row ``anchor CONN1 side1 ... &CONNn siden`` when everything fits; else one relation per row,
    each side broken at its top-level ``+``/``-``; the anchor stays left of the alignment point when it
    is narrow, otherwise it is broken in the rows above."""
    full = " ".join(x for x in [anchor] + [f"{c} {t}" for c, t in chain] if x)
    if width(full) <= limit or not chain:
        if not chain:
            return [full]
        head = " ".join(x for x in [anchor] + [f"{c} {t}" for c, t in chain[:-1]] if x)
        conn, tex = chain[-1]
        return [f"{head} &{conn} {tex}".strip()]
    out: list[str] = []
    aw = width(anchor)
    if aw <= 0.3 * limit:
        left, budget = anchor, limit - aw
    else:
        left, budget = "", limit
        for k, line in enumerate(pack(chunks(anchor, budget - 20), budget, budget - 12)):
            out.append(("&" if k == 0 else r"&\quad ") + line)
    for conn, tex in chain:
        cw = width(conn)
        lines = pack(chunks(tex, budget - cw - 12), budget - cw, budget - 12)
        for k, line in enumerate(lines):
            lead = (left if not out else "") + (f" &{conn} " if k == 0 else r" &\quad ")
            out.append((lead + line).strip())
    return out
