"""Code generation for :mod:`derive.fused`: SymPy expressions over arrays lowered to three-address NumPy
ufunc calls (identical subexpressions once, scalar subexpressions as named coefficients), each result given a
buffer (its state array once the old value is dead, a fresh output array, or a reused scratch array), and
the calls printed as Python source with ``out=``."""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


class NotFusable(ValueError):
    """The rule has a construct the fused code generator does not handle (the plain path does)."""


_UFUNC = {sp.Abs: "np.absolute", sp.sign: "np.sign", sp.exp: "np.exp", sp.log: "np.log", sp.sin: "np.sin",
          sp.cos: "np.cos", sp.tan: "np.tan", sp.tanh: "np.tanh", sp.sinh: "np.sinh", sp.cosh: "np.cosh",
          sp.atan: "np.arctan", sp.floor: "np.floor", sp.ceiling: "np.ceil"}
_BINARY = {"+": "np.add", "-": "np.subtract", "*": "np.multiply", "/": "np.divide", "max": "np.maximum",
           "min": "np.minimum", "pow": "np.power"}
_RELATION = {sp.StrictGreaterThan: "np.greater", sp.StrictLessThan: "np.less", sp.GreaterThan: "np.greater_equal",
             sp.LessThan: "np.less_equal", sp.Equality: "np.equal", sp.Unequality: "np.not_equal"}


@dataclass
class Op:
    """One NumPy call: ``func(*args, out=buffer)``, or a fresh result (booleans, np.where)."""

    func: str  # a NumPy function ("np.add"; a relation or logical one is fresh), or "where" (fresh)
    args: tuple  # operands: ("v", k) a value, ("c", text) a scalar
    fresh: bool = False  # the op allocates its result (booleans, np.where): no out= buffer


class Lowerer:
    """SymPy expressions over arrays and scalar names -> a list of ops (hash-consed: an identical
    subexpression is one value)."""

    def __init__(self, arrays: dict, scalar_text):
        self.ops: list[Op] = []
        self.memo: dict = {}
        self.arrays = arrays  # symbol -> input value index (values 0..len-1 are the inputs)
        self.scalar_text = scalar_text  # scalar SymPy expr -> code text
        self.array_set = set(arrays)
        self.scalar_memo: dict = {}
        self.n_inputs = len(arrays)

    def emit(self, func: str, *args, fresh: bool = False):
        self.ops.append(Op(func, tuple(args), fresh))
        return ("v", self.n_inputs + len(self.ops) - 1)

    def is_scalar(self, e) -> bool:
        known = self.scalar_memo.get(e)
        if known is None:
            known = self.scalar_memo[e] = not (e.free_symbols & self.array_set)
        return known

    def operand(self, e):
        if e in self.arrays:
            return ("v", self.arrays[e])
        if self.is_scalar(e):
            return ("c", self.scalar_text(e))
        if e not in self.memo:
            self.memo[e] = self.lower(e)
        return self.memo[e]

    def lower(self, e):
        if isinstance(e, sp.Add):
            scal = [a for a in e.args if self.is_scalar(a)]
            arr = [a for a in e.args if not self.is_scalar(a)]
            pos, neg = [], []
            for a in arr:
                c = a.as_coeff_Mul()[0] if isinstance(a, sp.Mul) else sp.S.One
                (neg if c.is_Number and c < 0 else pos).append(-a if c.is_Number and c < 0 else a)
            if not pos:  # all negative: start from the scalar or 0
                acc = ("c", self.scalar_text(sp.Add(*scal))) if scal else ("c", "0.0")
                for a in neg:
                    acc = self.emit("np.subtract", acc, self.operand(a))
                return acc
            acc = self.operand(pos[0])
            for a in pos[1:]:
                acc = self.emit("np.add", acc, self.operand(a))
            if scal:
                acc = self.emit("np.add", acc, ("c", self.scalar_text(sp.Add(*scal))))
            for a in neg:
                acc = self.emit("np.subtract", acc, self.operand(a))
            return acc
        if isinstance(e, sp.Mul):
            scal = [a for a in e.args if self.is_scalar(a)]
            num, den = [], []
            for a in e.args:
                if self.is_scalar(a):
                    continue
                if isinstance(a, sp.Pow) and a.exp.is_Number and a.exp < 0:
                    den.append(a.base ** (-a.exp))
                else:
                    num.append(a)
            acc = None
            for a in num:
                acc = self.operand(a) if acc is None else self.emit("np.multiply", acc, self.operand(a))
            coef = sp.Mul(*scal)
            for a in den:
                if acc is None:  # c / den
                    acc = self.emit("np.divide", ("c", self.scalar_text(coef)), self.operand(a))
                    coef = sp.S.One
                else:
                    acc = self.emit("np.divide", acc, self.operand(a))
            if coef != 1:
                acc = self.emit("np.multiply", acc, ("c", self.scalar_text(coef)))
            return acc
        if isinstance(e, sp.Pow):
            b, x = e.args
            if x == 2:
                ob = self.operand(b)
                return self.emit("np.multiply", ob, ob)
            if x == sp.S.Half:
                return self.emit("np.sqrt", self.operand(b))
            if x == -1:
                return self.emit("np.divide", ("c", "1.0"), self.operand(b))
            if x == -sp.S.Half:
                return self.emit("np.divide", ("c", "1.0"), self.emit("np.sqrt", self.operand(b)))
            if self.is_scalar(b):  # c ** array
                return self.emit("np.power", ("c", self.scalar_text(b)), self.operand(x))
            return self.emit("np.power", self.operand(b), self.operand(x) if not self.is_scalar(x)
                             else ("c", self.scalar_text(x)))
        if isinstance(e, (sp.Max, sp.Min)):
            name = "np.maximum" if isinstance(e, sp.Max) else "np.minimum"
            args = sorted(e.args, key=self.is_scalar)  # arrays first
            acc = self.operand(args[0])
            for a in args[1:]:
                acc = self.emit(name, acc, self.operand(a))
            return acc
        if type(e) in _UFUNC:
            return self.emit(_UFUNC[type(e)], self.operand(e.args[0]))
        if type(e) in _RELATION:
            return self.emit(_RELATION[type(e)], self.operand(e.lhs), self.operand(e.rhs), fresh=True)
        if isinstance(e, (sp.And, sp.Or)):
            name = "np.logical_and" if isinstance(e, sp.And) else "np.logical_or"
            acc = self.operand(e.args[0])
            for a in e.args[1:]:
                acc = self.emit(name, acc, self.operand(a), fresh=True)
            return acc
        if isinstance(e, sp.Not):
            return self.emit("np.logical_not", self.operand(e.args[0]), fresh=True)
        if isinstance(e, sp.Piecewise):
            args = []
            for value, cond in e.args:
                args += [self.operand(value), ("c", "True") if cond == sp.true else self.operand(cond)]
            return self.emit("where", *args, fresh=True)
        raise NotFusable(f"no fused NumPy code for {type(e).__name__} ({str(e)[:60]})")


# -- buffer allocation -----------------------------------------------------------------------------
def allocate(ops: list[Op], n_inputs: int, outputs: list, inplace: bool, readonly: set, reuse: bool = False):
    """Assign each op's result a buffer: the state array it is the new value of (in place, once the old
    value is dead; pure: its fresh output array), else a scratch buffer (with ``reuse``: first the buffer
    of an operand that dies here, an output array included, which keeps fewer arrays in the cache).
    Returns (targets, copies, n_scratch): targets[k] is the buffer name of op k (None for a fresh op),
    copies the final (destination, value) moves."""
    last_use: dict[int, int] = {}
    for k, op in enumerate(ops):
        for a in op.args:
            if a[0] == "v":
                last_use[a[1]] = k
    final = {}  # value -> output indices it is the new value of
    for j, o in enumerate(outputs):
        if o[0] == "v":
            final.setdefault(o[1], []).append(j)
            last_use[o[1]] = len(ops)  # outputs live to the end
    holder: dict[str, int | None] = {}  # buffer -> value it holds
    where: dict[int, str] = {}  # value -> buffer
    for i in range(n_inputs):
        where[i] = f"S{i}"
        holder[f"S{i}"] = i
    out_buf = {j: (f"S{j}" if inplace else f"O{j}") for j in range(len(outputs))}
    if not inplace:
        for j in range(len(outputs)):
            holder[f"O{j}"] = None
    targets: list[str | None] = []
    scratch: list[str] = []
    for k, op in enumerate(ops):
        v = n_inputs + k
        if op.fresh:
            targets.append(None)
            where[v] = f"v{v}"
            continue

        def dead(buf) -> bool:
            held = holder.get(buf)
            return held is None or last_use.get(held, -1) <= k

        choice = None
        for j in final.get(v, []):
            b = out_buf[j]
            if b not in readonly and dead(b):
                choice = b
                break
        if choice is None and reuse:
            mine = set(scratch) | set(out_buf.values())
            choice = next((where[a[1]] for a in op.args if a[0] == "v" and where.get(a[1]) in mine
                           and where[a[1]] not in readonly and dead(where[a[1]])), None)
        if choice is None:
            choice = next((b for b in scratch if dead(b)), None)
        if choice is None:
            choice = f"T{len(scratch)}"
            scratch.append(choice)
        holder[choice] = v
        where[v] = choice
        targets.append(choice)
    # final moves: each output into its buffer (cycles go through a fresh scratch)
    copies = []
    pending = {j: o for j, o in enumerate(outputs) if not (o[0] == "v" and where.get(o[1]) == out_buf[j])}
    while pending:
        progressed = False
        for j, o in list(pending.items()):
            b = out_buf[j]
            needed = any(p[0] == "v" and where[p[1]] == b for i, p in pending.items() if i != j)
            if not needed:
                copies.append((b, ("c", o[1]) if o[0] == "c" else where[o[1]]))
                holder[b] = o[1] if o[0] == "v" else None
                del pending[j]
                progressed = True
        if not progressed:  # a cycle: move one blocking value to scratch
            j, o = next(iter(pending.items()))
            src = next(p for i, p in pending.items() if i != j and p[0] == "v" and where[p[1]] == out_buf[j])
            t = f"T{len(scratch)}"
            scratch.append(t)
            copies.append((t, where[src[1]]))
            where[src[1]] = t
    return targets, copies, len(scratch)


def _fmt(a, where):
    return a[1] if a[0] == "c" else where[a[1]]


def emit_lines(ops, n_inputs, targets, copies, indent: str) -> list[str]:
    where = {i: f"S{i}" for i in range(n_inputs)}
    lines = []
    for k, (op, tgt) in enumerate(zip(ops, targets)):
        v = n_inputs + k
        args = [_fmt(a, where) for a in op.args]
        if op.func == "where":
            pairs = list(zip(args[0::2], args[1::2]))
            text = pairs[-1][0] if pairs[-1][1] == "True" else "np.nan"
            for value, cond in reversed(pairs[:-1] if pairs[-1][1] == "True" else pairs):
                text = f"np.where({cond}, {value}, {text})"
            lines.append(f"{indent}v{v} = np.asarray({text}, dtype=float)")
            where[v] = f"v{v}"
        elif op.fresh:
            lines.append(f"{indent}v{v} = {op.func}({', '.join(args)})")
            where[v] = f"v{v}"
        else:  # ufuncs are bound as globals (np_add): no attribute lookup per call
            lines.append(f"{indent}{op.func.replace('np.', 'np_')}({', '.join(args)}, out={tgt})")
            where[v] = tgt
    for dest, src in copies:
        text = src[1] if isinstance(src, tuple) else src
        lines.append(f"{indent}np.copyto({dest}, {text})")
    return lines


# -- the program of a rule -------------------------------------------------------------------------
