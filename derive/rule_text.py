"""Update rules written as text, parsed safely (a whitelisted syntax tree, never ``eval``).

The format, one item per line (``#`` starts a comment)::

    # quasi-hyperbolic momentum (Ma & Yarats 2019)
    name: qhm
    title: Quasi-hyperbolic momentum                   # optional; default: the name
    hyper: lr=0.1, momentum=0.9, nu=0.7                 # protocol names = default values
    state: buf=0                                        # state after theta, with initial values (may use theta)
    latex: lr=\\eta, momentum=\\beta, nu=\\nu             # optional display names
    buf = momentum*buf + (1 - momentum)*g(theta)
    theta = theta - lr*((1 - nu)*g(theta) + nu*buf)

Semantics: the update lines run in order like code, so a name on the right means its latest value;
``theta`` is the parameter, ``g(expr)`` the gradient oracle at any point (``g(theta + momentum*buf)``
is a look-ahead), ``t`` the 1-based step counter; a name assigned that is neither ``theta`` nor a
state entry is a temporary.  Functions: sqrt, abs, sign, max, min, exp, log (and the smooth functions
of :mod:`derive.expressions`); arithmetic ``+ - * / **`` (``^`` is ``**``); decimal literals are exact.

Symbols: ``lr`` is a positive real symbol, every other hyperparameter and state entry a real symbol,
named by its ``latex`` entry when given (``\\eta`` -> the symbol ``eta``, ``\\beta_1`` -> ``beta_1``), by
its protocol name otherwise.  A rule that uses ``t`` gets one more state entry, ``step`` (the steps
taken so far, starting at 0, updated to step + 1), and ``t`` stands for step + 1 — the convention of
the catalogue's Adam and torch-style SGD.

:func:`parse` returns the parts of an :class:`derive.update_rule.UpdateRule`
(``UpdateRule.from_text`` / ``UpdateRule.from_file`` build the rule); every problem raises
:class:`RuleTextError` whose message is one line, ``FILE:LINE: problem``.
"""
from __future__ import annotations

import ast
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from derive.expressions import ExpressionError, FUNCTIONS, MAX_LENGTH, _Builder

#: at most this many characters in a rule file, lines in it, and operations in one updated value
MAX_CHARS = 20_000
MAX_LINES = 300
MAX_OPS = 5_000
#: the largest exponent (after nested powers are multiplied out) a rule may contain
MAX_EXPONENT = 100
HEADERS = ("name", "title", "hyper", "state", "latex")
#: functions a rule may call besides g (non-smooth ones included: a rule may be non-differentiable;
#: the analyses say where)
RULE_FUNCTIONS = {"abs": sp.Abs, "sign": sp.sign, "max": sp.Max, "min": sp.Min}
RESERVED = {"theta", "g", "t", "step", "pi", "E", "e", *FUNCTIONS, *RULE_FUNCTIONS, "Abs"}
#: symbol names the analyses use themselves (the curvature λ, x = lr·λ, the eigenvalue z, the generic oracle's
#: coefficients b_0..b_2 and the Schur-Cohn conditions c_1, c_2, ...)
ANALYSIS_SYMBOLS = {"lambda", "x", "z", "b_0", "b_1", "b_2"}
_ANALYSIS_PATTERN = re.compile(r"c_[0-9]+\Z")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_LATEX = re.compile(r"\\?([A-Za-z]+)(?:_\{?([A-Za-z0-9]+)\}?)?\Z")

#: the gradient oracle; equal to :data:`derive.update_rule.g` (SymPy functions are equal by name)
g = sp.Function("g")


class RuleTextError(ValueError):
    """A rule file was rejected; the message (``FILE:LINE: problem``) is meant for the user."""


@dataclass(frozen=True)
class ParsedRule:
    """The parts of an :class:`~derive.update_rule.UpdateRule`, as :func:`parse` read them."""

    name: str
    title: str
    state: tuple[sp.Symbol, ...]
    hyper: dict[str, sp.Symbol]
    update: tuple[sp.Expr, ...]
    state_names: tuple[str, ...]
    init: tuple[sp.Expr, ...]
    defaults: dict[str, float]


class _RuleBuilder(_Builder):
    """Builds one right-hand side: names are looked up in the current environment, ``g`` is the oracle."""

    def __init__(self, source: str, env: dict[str, sp.Expr], counter: sp.Expr | None) -> None:
        super().__init__(source)
        self.env, self.counter, self.used_t, self.used_g = env, counter, False, False

    def name(self, name: str) -> sp.Expr:
        if name in ("pi", "E", "e"):
            return super().name(name)
        if name == "t":
            if self.counter is None:
                raise ExpressionError("the step counter t cannot be used here")
            self.used_t = True
            return self.counter
        if name in self.env:
            return self.env[name]
        if name == "g" or name in FUNCTIONS or name in RULE_FUNCTIONS:
            raise ExpressionError(f"'{name}' is a function; call it like {name}(x)")
        raise ExpressionError(f"unknown name '{name}': not theta, t, a hyperparameter, a state entry or a "
                              "temporary assigned on an earlier line")

    def call(self, node: ast.Call, depth: int) -> sp.Expr:
        fname = node.func.id if isinstance(node.func, ast.Name) else None
        if fname not in ("g", *RULE_FUNCTIONS):
            if fname not in FUNCTIONS:
                known = ", ".join(["g", *RULE_FUNCTIONS, *sorted(FUNCTIONS)])
                raise ExpressionError(f"unknown function {fname or ast.unparse(node.func)!r}; known: {known}")
            return super().call(node, depth)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"function '{fname}' takes positional arguments only")
        args = [self.build(a, depth + 1) for a in node.args]
        if fname == "g":
            if len(args) != 1:
                raise ExpressionError(f"g takes one argument, the point where the gradient is taken; got {len(args)}")
            self.used_g = True
            return g(args[0])
        if fname in ("abs", "sign") and len(args) != 1:
            raise ExpressionError(f"function '{fname}' takes 1 argument, got {len(args)}")
        if fname in ("max", "min") and len(args) < 2:
            raise ExpressionError(f"function '{fname}' takes 2 or more arguments, got {len(args)}")
        return RULE_FUNCTIONS[fname](*args)


def _fail(source: str, line: int, problem: str) -> RuleTextError:
    problem = " ".join(problem.replace("in loss expression", "").replace("loss expression", "expression").split())
    return RuleTextError(f"{source}:{line}: {problem}")


def _assignments(text: str, source: str, line: int, what: str) -> list[tuple[str, str]]:
    """``a=1, b=x`` -> [("a", "1"), ("b", "x")]; commas inside parentheses do not split."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for part in parts:
        if not part.strip():
            raise _fail(source, line, f"{what}: an empty entry (give name=value, separated by commas)")
        if "=" not in part:
            raise _fail(source, line, f"{what}: {part.strip()!r} is not name=value")
        key, value = (s.strip() for s in part.split("=", 1))
        if not _IDENT.match(key):
            raise _fail(source, line, f"{what}: {key!r} is not a name (a letter, then letters, digits or _)")
        if not value:
            raise _fail(source, line, f"{what}: {key} has no value")
        out.append((key, value))
    keys = [k for k, _ in out]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise _fail(source, line, f"{what}: {', '.join(dup)} given twice")
    return out


def _number(key: str, value: str, source: str, line: int) -> float:
    try:
        v = float(value)
    except ValueError:
        raise _fail(source, line, f"hyper: {key}={value!r} is not a number") from None
    if not math.isfinite(v):
        raise _fail(source, line, f"hyper: {key}={value} is not a finite number")
    return v


def _symbol_name(key: str, latex: str, source: str, line: int) -> str:
    m = _LATEX.match(latex)
    if not m:
        raise _fail(source, line, f"latex: {key}={latex!r}: give a letter or command with an optional subscript, "
                    r"like \eta, \beta_1 or v_{2}")
    return m.group(1) + (f"_{m.group(2)}" if m.group(2) else "")


def _expression(text: str, env: dict, counter, source: str, line: int) -> tuple[sp.Expr, _RuleBuilder]:
    if len(text) > MAX_LENGTH:
        raise _fail(source, line, f"the expression is too long ({len(text)} characters; at most {MAX_LENGTH})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = text.replace("^", "**")
            tree = ast.parse(code, mode="eval")
    except SyntaxError as exc:
        raise _fail(source, line, f"could not parse {text!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _fail(source, line, f"could not parse {text!r}: {exc or type(exc).__name__}") from None
    builder = _RuleBuilder(code, env, counter)
    try:
        value = builder.build(tree.body)
    except ExpressionError as exc:  # the shared builder speaks of a loss; here it is a rule's line
        msg = str(exc).replace(" in loss expression", "").replace("the loss must", "a rule must")
        raise _fail(source, line, msg) from None
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise _fail(source, line, f"could not build {text!r}: {exc or type(exc).__name__}") from None
    bad = (sp.nan, sp.zoo, sp.oo, -sp.oo, sp.I)
    if not isinstance(value, sp.Expr) or any(value.has(b) for b in bad):
        raise _fail(source, line, f"{text!r} is not real and finite (division by zero, log of 0 or a complex value?)")
    if sp.count_ops(value) > MAX_OPS:
        raise _fail(source, line, f"the value assigned here has more than {MAX_OPS} operations once the earlier "
                    "lines are substituted; simplify the rule")
    huge = next((p for p in sp.preorder_traversal(value) if isinstance(p, sp.Pow) and p.exp.is_Number
                 and abs(p.exp) > MAX_EXPONENT), None)
    if huge is not None:  # ((g(theta)+1)**100)**100 is (g(theta)+1)**10000: its expansion would never end
        raise _fail(source, line, f"the power ({sp.sstr(huge.base)[:40]})**{huge.exp} (nested powers multiplied out) "
                    f"is beyond {MAX_EXPONENT}; the analyses would expand it")
    return value, builder


def parse(text: str, source: str = "<text>") -> ParsedRule:
    """Read a rule in the text format (module docstring); raise :class:`RuleTextError` on any problem."""
    if not isinstance(text, str):
        raise RuleTextError(f"{source}: a rule must be text")
    if len(text) > MAX_CHARS:
        raise RuleTextError(f"{source}: the file is too long ({len(text)} characters; at most {MAX_CHARS})")
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise RuleTextError(f"{source}: the file has {len(lines)} lines; at most {MAX_LINES}")
    header: dict[str, tuple[int, str]] = {}
    updates: list[tuple[int, str, str]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*:(?!=)\s*(.*)\Z", line)
        if m and m.group(1) in HEADERS:
            if updates:
                raise _fail(source, number, f"'{m.group(1)}:' must come before the update lines")
            if m.group(1) in header:
                raise _fail(source, number, f"'{m.group(1)}:' given twice (first on line {header[m.group(1)][0]})")
            header[m.group(1)] = (number, m.group(2).strip())
            continue
        if m:
            raise _fail(source, number, f"unknown header '{m.group(1)}:'; headers are {', '.join(HEADERS)}")
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)\s*(.*)\Z", line)
        if not m:
            raise _fail(source, number, f"expected 'name = expression' or a header ({', '.join(HEADERS)}:), "
                        f"got {line[:60]!r}")
        if not m.group(2):
            raise _fail(source, number, f"{m.group(1)} = ... has no expression")
        updates.append((number, m.group(1), m.group(2)))
    end = len(lines) or 1

    name_line, name = header.get("name", (1, Path(source).stem if source.endswith(".rule") else "rule"))
    if not re.match(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z", name):
        raise _fail(source, name_line, f"name: {name!r} is not a rule name (letters, digits, '-', '_', '.')")
    title = header.get("title", (0, name))[1] or name

    def items(key: str) -> list[tuple[str, str]]:
        return _assignments(header[key][1], source, header[key][0], key) if key in header else []

    hyper_items, hline = items("hyper"), header.get("hyper", (1, ""))[0]
    if not any(k == "lr" for k, _ in hyper_items):
        raise _fail(source, hline, "hyper: the rule needs a step size named lr (e.g. 'hyper: lr=0.1')")
    state_items, sline = items("state"), header.get("state", (1, ""))[0]
    for key, _ in hyper_items:
        if key in RESERVED:
            raise _fail(source, hline, f"hyper: '{key}' is reserved (theta, g, t, step and function names)")
    for key, _ in state_items:
        if key in RESERVED:
            raise _fail(source, sline, f"state: '{key}' is reserved (theta, g, t, step and function names)")
        if key in dict(hyper_items):
            raise _fail(source, sline, f"state: '{key}' is also a hyperparameter")
    latex, lline = dict(items("latex")), header.get("latex", (1, ""))[0]
    for key in latex:
        if key not in dict(hyper_items) and key not in dict(state_items):
            raise _fail(source, lline, f"latex: '{key}' is not a hyperparameter or state entry")

    symbol_names = {key: _symbol_name(key, latex[key], source, lline) if key in latex else key
                    for key, _ in [*hyper_items, *state_items]}
    taken = {"theta": "theta"}
    for key, sym in symbol_names.items():
        if sym in taken or sym in ("g", "t", "step"):
            raise _fail(source, lline, f"latex: {key} and {taken.get(sym, sym)} would print as the same symbol {sym}")
        if sym in ANALYSIS_SYMBOLS or _ANALYSIS_PATTERN.match(sym):
            raise _fail(source, lline if key in latex else (hline if key in dict(hyper_items) else sline),
                        f"{key} would be the symbol {sym}, which the analyses use themselves (the curvature lambda, "
                        "x = lr*lambda, the eigenvalue z, b_0..b_2, c_1, c_2, ...); rename it or give it another "
                        "subscript in the latex header (e.g. "
                        r"\lambda_{wd})")
        taken[sym] = key
    theta = sp.Symbol("theta", real=True)
    hyper = {k: sp.Symbol(symbol_names[k], positive=True) if k == "lr" else sp.Symbol(symbol_names[k], real=True)
             for k, _ in hyper_items}
    defaults = {k: _number(k, v, source, hline) for k, v in hyper_items}
    if defaults["lr"] <= 0:
        raise _fail(source, hline, f"hyper: lr must be > 0, got {defaults['lr']:g}")
    state = {k: sp.Symbol(symbol_names[k], real=True) for k, _ in state_items}

    env0 = {"theta": theta, **hyper}
    init = []
    for key, value in state_items:
        expr, b = _expression(value, env0, None, source, sline)
        if b.used_g or b.used_t:
            raise _fail(source, sline, f"state: the initial value of {key} may use theta and the hyperparameters only")
        init.append(expr)

    if not updates:
        raise _fail(source, end, "no update lines: write e.g. 'theta = theta - lr*g(theta)'")
    step = sp.Symbol("step", integer=True, nonnegative=True)
    env = {**env0, **state}
    used_t = used_g = False
    assigned: set[str] = set()
    for number, target, expr_text in updates:
        if target in hyper:
            raise _fail(source, number, f"'{target}' is a hyperparameter; it cannot be assigned")
        if target in ("g", "t", "step") or target in FUNCTIONS or target in RULE_FUNCTIONS or target in ("pi", "E", "e"):
            raise _fail(source, number, f"'{target}' is reserved; it cannot be assigned")
        value, b = _expression(expr_text, env, step + 1, source, number)
        used_t |= b.used_t
        used_g |= b.used_g
        env[target] = value
        assigned.add(target)
    if "theta" not in assigned:
        raise _fail(source, end, "the rule never assigns theta (write e.g. 'theta = theta - lr*g(theta)')")
    never = [k for k in state if k not in assigned]
    if never:
        raise _fail(source, sline, f"state: {', '.join(never)} is never updated (assign it on an update line, or "
                    "make it a hyperparameter)")
    if not used_g:
        raise _fail(source, end, "the rule never calls the gradient g(...)")

    symbols, names, update = [theta, *state.values()], list(state), [env["theta"], *(env[k] for k in state)]
    init_values = list(init)
    if used_t:
        symbols.append(step)
        names.append("step")
        update.append(step + 1)
        init_values.append(sp.S.Zero)
    return ParsedRule(name, title, tuple(symbols), hyper, tuple(update), tuple(names), tuple(init_values), defaults)


def read(path) -> tuple[str, str]:
    """(text, source name) of a rule file; RuleTextError when it cannot be read as UTF-8 text."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CHARS * 4:
            raise RuleTextError(f"{path}: the file is too large ({size} bytes) to be a rule")
        return path.read_text(encoding="utf-8"), str(path)
    except UnicodeDecodeError:
        raise RuleTextError(f"{path}: not a text file (it is not UTF-8)") from None
    except OSError as exc:
        raise RuleTextError(f"{path}: cannot read it ({exc.strerror or exc})") from None
