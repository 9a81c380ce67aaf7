"""Specialised, fused, in-place NumPy code for an :class:`~derive.update_rule.UpdateRule` at fixed
hyperparameter values (the fast path of ``rule.lambdify``; :mod:`derive.lambdified` keeps the plain
``sympy.lambdify`` path beside it).

What is compiled, per rule and per pattern of hyperparameters equal to 0 or 1:

* a hyperparameter equal to 0 or 1 is substituted exactly, so SymPy drops the terms it kills (a zero
  weight decay disappears from the code);
* the step counter (the entry whose update is ``t + 1``) is a Python scalar: every Piecewise whose
  conditions involve only t and hyperparameters (torch SGD's first step, RAdam's rectification) is
  resolved per step in Python, each combination of branches being its own kernel (built on first use);
* every maximal subexpression of the hyperparameters and t (``1 − β₁^(t+1)``, ``−η/(1 − β₁)``, ...) is
  one scalar, computed once (no t) or once per step in Python, never per element;
* identical subexpressions are computed once (Adam's new m is its update and a factor of θ's);
* the array part is three-address NumPy code with ``out=`` buffers (:mod:`derive.fused.codegen`): each
  result goes straight into the state array it belongs to (in place) or a fresh output array (pure),
  through scratch buffers kept per thread and shape, and from :data:`BLOCKED_FROM` elements on in blocks
  of :data:`BLOCK` elements, so that the state is read from memory once per step and the scratch stays
  in the cache.

Why NumPy and not numexpr: measured on one thread (Adam, n = 10³ … 10⁷) numexpr's virtual machine was
1.1–2.4× slower than this code (it wins only at n ≈ 10, by call overhead), and it is no dependency.  Both
are bounded by one SIMD pass per operation (Adam: 5.5–6.2× the memory-bandwidth bound at n = 10⁶); from
:data:`derive.fused.jit.JIT_FROM` elements on, when Numba is installed, the same ops run as one compiled
loop over the elements instead (:mod:`derive.fused.jit`: ≈ 1.5×).
Scalar code runs on Python floats (``math``); where that raises (division by zero, the square root of a
negative number) it is recomputed in NumPy float64, so the values are the plain path's inf or nan.

The generated code is plain Python (see :meth:`Program.source`).  A rule this module cannot compile
(a whole-array function, a function without a ufunc) raises :class:`NotFusable`.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from derive.fused import jit
from derive.fused.codegen import _BINARY, _UFUNC, Lowerer, NotFusable, allocate, emit_lines

#: elements per block of the blocked kernels (the scratch then stays in the L2 cache)
BLOCK = 32768
#: arrays at least this long are processed in blocks
BLOCKED_FROM = 4 * BLOCK


# -- scalar code: hyperparameters and the step counter ---------------------------------------------
class _ScalarPrinter(PythonCodePrinter):
    """Python code for scalar expressions in the hyperparameters (``h0``, ``h1``, ...) and t: floats,
    ``math`` functions, ``math.pow`` for non-integer powers (a ValueError, never a complex number)."""

    def __init__(self, names: dict):
        super().__init__({"fully_qualified_modules": True})
        self._names = names

    def _print_Symbol(self, s):
        return self._names.get(s, super()._print_Symbol(s))

    _print_Dummy = _print_Symbol

    def _print_Float(self, f):
        return repr(float(f))

    def _print_Rational(self, r):
        return f"({int(r.p)}/{int(r.q)})"

    def _print_Pow(self, e, rational=False):
        b, x = e.args
        if x == sp.S.Half:
            return f"math.sqrt({self._print(b)})"
        if x == -sp.S.Half:
            return f"(1/math.sqrt({self._print(b)}))"
        if x.is_Integer:
            return f"({self._print(b)})**({int(x)})"
        return f"math.pow({self._print(b)}, {self._print(x)})"


def _leftover_message(rule, leftover) -> str:
    return (f"{rule.name}: the oracle is applied away from θ ({leftover}); the optimizer protocol passes "
            "grads at θ only: use the rule's buffer form (for nesterov: nesterov-buffer, torch's, whose "
            "parameter is the look-ahead point)")


def oracle_free(rule, grads: sp.Symbol) -> list[sp.Expr]:
    """The updates with g(θ) replaced by ``grads``; a look-ahead oracle g(θ + ...) raises ValueError."""
    exprs = [u.xreplace({rule.oracle(rule.theta): grads}) for u in rule.update]
    leftover = [e for e in exprs if e.has(rule.oracle)]
    if leftover:
        raise ValueError(_leftover_message(rule, leftover[0]))
    return exprs


# -- the program of a rule -------------------------------------------------------------------------
def _scalar_piecewise(e, scalars: set) -> list:
    """Piecewise nodes whose conditions involve only scalars (t, hyperparameters): resolved per step."""
    return list(dict.fromkeys(p for p in sp.preorder_traversal(e) if isinstance(p, sp.Piecewise)
                              and all(c.free_symbols <= scalars for _, c in p.args)))


@dataclass
class Program:
    """The fused code of ``rule`` at one pattern of zero/one hyperparameters: scalar code (constants,
    per-step coefficients, branch choices) and, per combination of branches, kernels in place and pure."""

    rule: Any
    exact: dict  # hyper name -> 0 or 1 substituted exactly
    sources: dict = field(default_factory=dict)  # branch choice -> source text
    loops: dict = field(default_factory=dict)  # (branch choice, mode) -> compiled element loop or None

    def __post_init__(self):
        rule = self.rule
        if rule.functions:
            raise NotFusable(f"{rule.name}: whole-array functions ({', '.join(rule.functions)})")
        self.grads = sp.Dummy("grads")
        exprs = oracle_free(rule, self.grads)
        subs = {rule.hyper[k]: sp.Integer(v) for k, v in self.exact.items()}
        special = [e.xreplace(subs) for e in exprs]
        if not any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in special):
            exprs = special
        else:
            self.exact = {}
        self.counter = rule.counter
        self.t = rule.state[self.counter] if self.counter is not None else None
        self.hsyms = list(rule.hyper.values())
        scalars = set(self.hsyms) | ({self.t} if self.t is not None else set())
        self.keep = [k for k in range(len(rule.state)) if k != self.counter]  # array state entries
        self.exprs = [exprs[k] for k in self.keep]
        self.piecewise = list(dict.fromkeys(p for e in self.exprs for p in _scalar_piecewise(e, scalars)))
        self.names = {s: f"h{i}" for i, s in enumerate(self.hsyms)}
        if self.t is not None:
            self.names[self.t] = "t"
        self.printer = _ScalarPrinter(self.names)

    def branch_source(self) -> str:
        """``_branches(t)``: for each resolved Piecewise, the index of the branch taken at step t."""
        parts = []
        for p in self.piecewise:
            text = str(len(p.args))
            for i, (_, c) in reversed(list(enumerate(p.args))):
                text = str(i) if c == sp.true else f"({i} if {self.printer.doprint(c)} else {text})"
            parts.append(text)
        return "def _branches_math(t):\n    return (" + "".join(p + ", " for p in parts) + ")\n"

    def source(self, choice: tuple) -> "_Source":
        """The kernels for one choice of branches (``.text`` is their Python source; cached)."""
        if choice not in self.sources:
            self.sources[choice] = self._generate(choice)
        return self.sources[choice]

    def _generate(self, choice: tuple) -> "_Source":
        pick = {p: (p.args[i].expr if i < len(p.args) else sp.nan) for p, i in zip(self.piecewise, choice)}
        exprs = [e.xreplace(pick) for e in self.exprs] if pick else self.exprs
        arrays = {self.rule.state[k]: i for i, k in enumerate(self.keep)}
        arrays[self.grads] = n_in = len(arrays)
        n_in += 1
        coefs: dict = {}  # scalar expr -> name

        def scalar_text(e):
            e = sp.sympify(e)
            if e.is_Number:
                if e is sp.nan or not e.is_finite:
                    return "np.nan" if e is sp.nan else ("np.inf" if e == sp.oo else "(-np.inf)")
                return repr(float(e))
            if e in self.names and e != self.t:  # t itself is a per-step coefficient (no kernel sees t)
                return self.names[e]
            if e not in coefs:
                coefs[e] = f"c{len(coefs)}"
            return coefs[e]

        def lowered(order):
            lw = Lowerer(arrays, scalar_text)
            outs = [None] * len(exprs)
            for j in [*order, *range(len(exprs))]:
                if outs[j] is None:
                    outs[j] = lw.operand(exprs[j])
            return lw, outs

        # the order of the outputs decides which results can go straight into their state arrays
        # (θ last first: its update usually reads the others' new values; all orders only if that copies)
        best = None
        natural = tuple(range(len(exprs)))
        orders = [natural[1:] + natural[:1], natural]
        if len(exprs) <= 4:
            orders += list(itertools.permutations(natural))
        for order in orders:
            lw, outs = lowered(order)
            _, copies, n_scratch = allocate(lw.ops, n_in, outs, True, {f"S{n_in - 1}"})
            score = (len(copies), n_scratch, len(lw.ops))
            if best is None or score < best[0]:
                best = (score, lw, outs)
            if not copies and order == natural[1:] + natural[:1]:
                break
        _, low, outputs = best

        def allocation(inplace: bool, readonly: set):
            """The better of plain scratch and reusing dying operands' buffers (fewer copies, then scratch)."""
            tries = [allocate(low.ops, n_in, outputs, inplace, readonly, reuse) for reuse in (True, False)]
            return min(tries, key=lambda a: (len(a[1]), a[2]))

        const = [e for e in coefs if self.t is None or not e.has(self.t)]
        step = [e for e in coefs if e not in const]
        lines = ["def _consts_math():"]
        lines += [f"    {coefs[e]} = {self.printer.doprint(e)}" for e in const]
        lines.append("    return (" + "".join(f"{coefs[e]}, " for e in const) + ")")
        lines.append("def _coefs_math(t):")
        lines += [f"    {coefs[e]} = {self.printer.doprint(e)}" for e in step]
        lines.append("    return (" + "".join(f"{coefs[e]}, " for e in step) + ")")
        sig_in = ", ".join(f"S{i}" for i in range(n_in))
        cnames = "".join(f"{coefs[e]}, " for e in [*const, *step])
        n_scratch = {}
        for mode, inplace in (("inplace", True), ("pure", False)):
            readonly = {f"S{n_in - 1}"} | (set() if inplace else {f"S{i}" for i in range(n_in)})
            targets, copies, n_scratch[mode] = allocation(inplace, readonly)
            outs_sig = "" if inplace else "".join(f", O{j}" for j in range(len(outputs)))
            scr = "".join(f", T{i}" for i in range(n_scratch[mode]))
            body = emit_lines(low.ops, n_in, targets, copies, "    ")
            lines.append(f"def kernel_{mode}(coefs, {sig_in}{outs_sig}{scr}):")
            lines.append(f"    {cnames}= coefs" if cnames else "    pass")
            lines += body
            # the same on blocks [lo, lo + B) of flat arrays: scratch of B elements stays in the cache
            arrays = [f"S{i}" for i in range(n_in)] + ([] if inplace else [f"O{j}" for j in range(len(outputs))])
            temps = [f"T{i}" for i in range(n_scratch[mode])]
            lines.append(f"def kernel_{mode}_blocked(coefs, size, B, {sig_in}{outs_sig}{scr}):")
            lines.append(f"    {cnames}= coefs" if cnames else "    pass")
            lines += [f"    F{a} = {a}" for a in arrays + temps]
            lines.append("    for lo in range(0, size, B):")
            lines.append("        hi = lo + B")
            lines += [f"        {a} = F{a}[lo:hi]" for a in arrays]
            if temps:
                lines.append("        if hi > size:")
                lines += [f"            {a} = F{a}[:size - lo]" for a in temps]
            lines += ["    " + line for line in body]
        names = [coefs[e] for e in [*const, *step]]
        loops = {mode: jit.loop_source(low.ops, n_in, outputs, names, len(self.hsyms), mode == "inplace")
                 for mode in ("inplace", "pure")}
        return _Source("\n".join(lines) + "\n", const, step, n_scratch, len(low.ops), loops)

    def jitted(self, choice: tuple, mode: str):
        """The Numba-compiled loop for one choice of branches and mode ("inplace"/"pure"), shared by every
        :class:`FusedStep` of this program (hyperparameters are arguments); None without Numba, or once its
        compilation failed (the NumPy kernels serve then)."""
        key = (choice, mode)
        with jit.LOCK:  # threads sharing an optimizer compile it once
            if key not in self.loops:
                text, n_scalars, readonly = self.source(choice).loops[mode]
                self.loops[key] = jit.compile_loop(text, f"{self.rule.name} {choice} {mode}", n_scalars, readonly)
            return self.loops[key]


@dataclass(frozen=True)
class _Source:
    text: str  # Python source: _consts_math, _coefs_math, kernel_{inplace,pure}[_blocked]
    const: list  # scalar expressions without t (computed once)
    step: list  # scalar expressions with t (computed per step)
    n_scratch: dict  # mode -> scratch buffers
    n_ops: int
    loops: dict  # mode -> (source, number of scalars, arrays' read-only flags) of the element loop (derive.fused.jit)


_PROGRAMS: dict = {}


def program(rule, exact: dict, key) -> Program:
    """The cached :class:`Program` of ``rule`` (``key`` identifies it) at a zero/one pattern."""
    k = (key, tuple(sorted(exact.items())))
    if k not in _PROGRAMS:
        _PROGRAMS[k] = Program(rule, dict(exact))
    return _PROGRAMS[k]


class FusedStep:
    """A :class:`Program` at given hyperparameter values: ``run(t, arrays, grads, inplace)``."""

    def __init__(self, prog: Program, hyper: dict, use_jit: bool | None = None):
        import math

        import numpy as np

        self.prog, self.np = prog, np
        # the compiled element loop: None = from jit.JIT_FROM elements when Numba is installed, True = at
        # every size (Numba required), False = never
        self.use_jit = use_jit
        self.jit_from = 0 if use_jit else jit.JIT_FROM
        self.hvals = [float(hyper[k]) for k in prog.rule.hyper]
        ufuncs = {f"np_{f[3:]}": getattr(np, f[3:]) for f in [*_UFUNC.values(), *_BINARY.values(), "np.sqrt"]}
        self.ns_base = {"np": np, "math": math, **ufuncs, **{f"h{i}": v for i, v in enumerate(self.hvals)}}
        self.kernels: dict = {}
        self.local = threading.local()  # scratch buffers per thread: steps may run in several threads
        self.fallbacks: dict = {}
        self.branches = None
        if prog.piecewise:
            ns = dict(self.ns_base)
            exec(compile(prog.branch_source(), f"<fused {prog.rule.name} branches>", "exec"), ns)
            self.branches = ns["_branches_math"]

    def _numpy_scalars(self, exprs, t):
        """The scalar code in NumPy float64 (division by 0 -> inf, sqrt(-1) -> nan, as the plain path)."""
        np = self.np
        syms = [self.prog.t] if self.prog.t is not None else []
        key = tuple(exprs)
        f = self.fallbacks.get(key)
        if f is None:
            f = self.fallbacks[key] = sp.lambdify([*syms, *self.prog.hsyms], list(exprs), modules="numpy")
        args = [np.float64(t)] * bool(syms) + [np.float64(h) for h in self.hvals]
        return tuple(np.float64(v) for v in f(*args))

    def choice(self, t) -> tuple:
        if self.branches is None:
            return ()
        try:
            return self.branches(t)
        except (ArithmeticError, ValueError, TypeError):
            pw = [sp.Piecewise(*[(i, c) for i, (_, c) in enumerate(p.args)], (len(p.args), True))
                  for p in self.prog.piecewise]
            return tuple(int(v) for v in self._numpy_scalars(pw, t))

    def kernel(self, choice: tuple):
        if choice not in self.kernels:
            src = self.prog.source(choice)
            ns = dict(self.ns_base)
            exec(compile(src.text, f"<fused {self.prog.rule.name} {choice}>", "exec"), ns)
            try:
                consts = ns["_consts_math"]()
            except (ArithmeticError, ValueError, TypeError):
                with self.np.errstate(all="ignore"):
                    consts = self._numpy_scalars(src.const, 0)
            step_math = ns["_coefs_math"]

            def coefs(t, step_math=step_math, consts=consts, src=src):
                try:
                    return consts + step_math(t)
                except (ArithmeticError, ValueError, TypeError):
                    return consts + self._numpy_scalars(src.step, t)

            self.kernels[choice] = (coefs, ns["kernel_inplace"], ns["kernel_pure"], src.n_scratch,
                                    ns["kernel_inplace_blocked"], ns["kernel_pure_blocked"])
        return self.kernels[choice]

    def buffers(self, mode: str, n: int, shape):
        """``n`` scratch arrays of ``shape`` (this thread's, kept for the next step)."""
        try:
            scratch = self.local.scratch
        except AttributeError:
            scratch = self.local.scratch = {}
        bufs = scratch.get((mode, shape))
        if bufs is None or len(bufs) < n:
            bufs = scratch[(mode, shape)] = [self.np.empty(shape) for _ in range(n)]
        return bufs[:n] if len(bufs) > n else bufs

    def run(self, t, arrays: list, grads, inplace: bool, shape):
        """One step of the array state (θ first) at step counter t: in place (returns None) or into new
        arrays (returned).  The arrays are float64; in place, each has the shape ``shape``."""
        choice = () if self.branches is None else self.choice(t)
        entry = self.kernels.get(choice) or self.kernel(choice)
        coefs, k_in, k_pure, n_scratch = entry[:4]
        cs = coefs(t)
        size = grads.size
        if size >= self.jit_from and self.use_jit is not False:
            out = self._jit(choice, cs, t, arrays, grads, inplace, shape)
            if out is not False:
                return out
        if size >= BLOCKED_FROM:
            return self._blocked(cs, entry, arrays, grads, inplace, shape)
        if inplace:
            k_in(cs, *arrays, grads, *self.buffers("inplace", n_scratch["inplace"], shape))
            return None
        outs = [self.np.empty(shape) for _ in arrays]
        k_pure(cs, *arrays, grads, *outs, *self.buffers("pure", n_scratch["pure"], shape))
        return outs

    def _jit(self, choice, cs, t, arrays, grads, inplace, shape):
        """The compiled loop on flat views (contiguous arrays of one shape); False where it cannot run."""
        mode = "inplace" if inplace else "pure"
        loop = self.prog.loops.get((choice, mode), False)
        if loop is False:
            loop = self.prog.jitted(choice, mode)
        if loop is None or not all(a.shape == shape and a.flags.c_contiguous for a in [*arrays, grads]):
            return False
        outs = [] if inplace else [self.np.empty(shape) for _ in arrays]
        loop(grads.size, *cs, *self.hvals, 0.0 if t is None else t,
             *[a.reshape(-1) for a in [*arrays, grads, *outs]])
        return None if inplace else outs

    def _blocked(self, cs, entry, arrays, grads, inplace, shape):
        """The kernel on blocks of :data:`BLOCK` elements (contiguous arrays of one shape), else whole."""
        _, k_in, k_pure, n_scratch = entry[:4]
        mode = "inplace" if inplace else "pure"
        outs = [] if inplace else [self.np.empty(shape) for _ in arrays]
        kern = k_in if inplace else k_pure
        if not all(a.shape == shape and a.flags.c_contiguous for a in [*arrays, grads]):
            kern(cs, *arrays, grads, *outs, *self.buffers(mode, n_scratch[mode], shape))
            return None if inplace else outs
        flat = [a.reshape(-1) for a in [*arrays, grads, *outs]]
        tmp = self.buffers(mode, n_scratch[mode], (BLOCK,))
        entry[4 if inplace else 5](cs, grads.size, BLOCK, *flat, *tmp)
        return None if inplace else outs
