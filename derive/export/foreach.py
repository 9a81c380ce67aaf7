"""Straight-line ``torch._foreach_*`` code for one kernel of an exported rule (see :mod:`derive.export`):
scalar subexpressions (of t and the hyperparameters) as Python floats, ``sympy.cse`` for shared tensor
subexpressions, in-place updates of a state read for the last time (``_foreach_lerp_`` for a moving
average, ``_foreach_addcmul_``/``_foreach_addcdiv_`` for a product or quotient term), and a loop over
the group's tensors printed by SymPy's ``TorchPrinter`` for what has no foreach form."""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

if TYPE_CHECKING:
    from derive.export.plan import Plan

#: SymPy functions with a ``torch._foreach_<name>`` form (unary)
_UNARY = {sp.sign: "sign", sp.Abs: "abs", sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos",
          sp.tan: "tan", sp.tanh: "tanh", sp.sinh: "sinh", sp.cosh: "cosh", sp.erf: "erf", sp.floor: "floor",
          sp.ceiling: "ceil", sp.atan: "atan", sp.asin: "asin", sp.acos: "acos"}


class Codegen:
    """Straight-line foreach code for one kernel (see module docstring)."""

    def __init__(self, plan: Plan, exprs):
        rule = plan.rule
        self.plan = plan
        # rename: p (theta), g, s_<state>; h_<hyper>; t
        self.names = {rule.theta: "p", plan.G: "g"}
        ren = {rule.theta: sp.Symbol("p"), plan.G: sp.Symbol("g")}
        for i, (s, n) in enumerate(zip(rule.state[1:], rule.state_names), 1):
            if i != plan.ci:
                ren[s] = sp.Symbol(f"s_{n}")
        for k, s in rule.hyper.items():
            ren[s] = sp.Symbol(f"h_{k}")
        if plan.t is not None:
            ren[plan.t] = sp.Symbol("t")
        self.tensors = {v for k, v in ren.items() if k != plan.t and k not in rule.hyper.values()}
        self.base_scalars = {ren[s] for s in rule.hyper.values()} | ({sp.Symbol("t")} if plan.t is not None else set())
        self.scalars: dict = {}  # scalar expression -> symbol c<k>
        self.finals = {}
        for i, (n, e) in enumerate(zip(("theta", *rule.state_names), exprs)):
            if i != plan.ci:
                self.finals[n] = self._split(e.xreplace(ren))
        self.lines: list[str] = []
        self.ntmp = 0

    # scalar subexpressions -> c<k>; Add terms grouped by their tensor part
    def _is_scalar(self, e) -> bool:
        return not (e.free_symbols & self.tensors)

    def _sym(self, e):
        if e.is_Number or e in self.base_scalars:
            return e
        if e not in self.scalars:
            self.scalars[e] = sp.Symbol(f"c{len(self.scalars)}")
        return self.scalars[e]

    def _coef(self, e):
        if e.is_Mul:
            sc = [a for a in e.args if self._is_scalar(a)]
            return sp.Mul(*sc), sp.Mul(*[a for a in e.args if not self._is_scalar(a)])
        return sp.S.One, e

    def _split(self, e):
        if self._is_scalar(e):
            return self._sym(e) if isinstance(e, sp.Expr) else e
        if e.is_Atom:
            return e
        if e.is_Add:
            groups: dict = {}
            const = []
            for a in e.args:
                if self._is_scalar(a):
                    const.append(a)
                    continue
                c, tp = self._coef(a)
                groups.setdefault(self._split(tp), []).append(c)
            terms = [self._sym(sp.Add(*cs)) * tp for tp, cs in groups.items()]
            return sp.Add(*terms, *([self._sym(sp.Add(*const))] if const else []))
        if e.is_Mul:
            c, tp = self._coef(e)
            return self._sym(c) * sp.Mul(*[self._split(a) for a in tp.args]) if tp.is_Mul else \
                self._sym(c) * self._split(tp)
        if e.is_Pow:
            return sp.Pow(self._split(e.base), e.exp if e.exp.is_Number else self._split(e.exp))
        return e.func(*[self._split(a) for a in e.args])

    # -- emission --------------------------------------------------------------------
    def _tmp(self) -> str:
        self.ntmp += 1
        return f"r{self.ntmp}"

    def _emit(self, line: str) -> None:
        self.lines.append("    " + line)

    def _num(self, c) -> str:
        if isinstance(c, sp.Symbol):
            return c.name
        if c.is_Number:
            return repr(float(c))
        from sympy.printing.pycode import PythonCodePrinter  # e.g. -c3 after SymPy distributed a -1

        return "(" + PythonCodePrinter({"fully_qualified_modules": True}).doprint(c) + ")"

    def _unop(self, name: str, a: tuple) -> tuple:
        if a[1]:
            self._emit(f"torch._foreach_{name}_({a[0]})")
            return a
        r = self._tmp()
        self._emit(f"{r} = torch._foreach_{name}({a[0]})")
        return r, True

    def _binop(self, name: str, a: tuple, b: str, extra: str = "") -> tuple:
        if a[1]:
            self._emit(f"torch._foreach_{name}_({a[0]}, {b}{extra})")
            return a
        r = self._tmp()
        self._emit(f"{r} = torch._foreach_{name}({a[0]}, {b}{extra})")
        return r, True

    def _owned(self, s) -> bool:
        """A CSE temporary read for the last time, once, here: it may be overwritten."""
        return s not in self.inputs and s in self.last and self.last[s] == self.k and self.count.get((s, self.k), 0) == 1 \
            and s not in self.final_syms

    def lower(self, e, into: str | None = None) -> tuple:
        """Emit code for tensor expression e; returns (variable, owned).  ``into``: a state variable
        whose old value is read here for the last time and that may receive the result in place."""
        if isinstance(e, sp.Symbol):
            return self.var[e], self._owned(e)
        if e.is_Add:
            return self._add(e, into)
        if e.is_Mul or e.is_Pow:
            return self._mul(e)
        op = next((n for f, n in _UNARY.items() if isinstance(e, f)), None)
        if op is not None:
            return self._unop(op, self.lower(e.args[0]))
        if isinstance(e, (sp.Max, sp.Min)):
            name = "maximum" if isinstance(e, sp.Max) else "minimum"
            args = list(e.args)
            tens = [a for a in args if not self._is_scalar(a)]
            first = next((a for a in tens if into is not None and self.var.get(a) == into), tens[0])
            rest = [self.lower(a) if not self._is_scalar(a) else (self._num(a), False)
                    for a in args if a is not first]
            acc = (into, True) if into is not None and self.var.get(first) == into else self.lower(first)
            for r in rest:
                acc = self._binop(name, acc, r[0])
            return acc
        return self._loop(e)

    def _loop(self, e) -> tuple:
        """A whole-tensor expression per parameter, printed by SymPy's TorchPrinter."""
        from sympy.printing.pytorch import TorchPrinter

        p = sp.Symbol("p")
        syms = [p, *sorted((s for s in e.free_symbols if s in self.var and s != p), key=str)]
        per = {s: sp.Symbol(f"e_{self.var[s]}") for s in syms}
        elems = set(per.values())

        class Printer(TorchPrinter):
            """Scalar branches of a Piecewise as 0-d tensors of the parameter's dtype and device (torch.where
            of two Python floats would be float32)."""

            def _print_Piecewise(self, expr):
                def wrap(x):
                    done = isinstance(x, sp.Symbol) and x.name.startswith("e_p.new_tensor(")
                    return x if done or x.free_symbols & elems else sp.Symbol(f"e_p.new_tensor({self._print(x)})")

                pairs = [(wrap(x), c) for x, c in expr.args]
                return super()._print_Piecewise(sp.Piecewise(*pairs, evaluate=False))

        body = Printer({"fully_qualified_modules": True}).doprint(e.xreplace(per))
        r = self._tmp()
        lists = ", ".join(self.var[s] for s in syms)
        names = ", ".join(per[s].name for s in syms)
        self._emit(f"{r} = [{body} for ({names},) in zip({lists})]")
        return r, True

    def _factor(self, f) -> tuple:
        """A tensor factor with a positive exponent."""
        if f.is_Pow and f.exp.is_Number:
            b, x = f.base, f.exp
            if x == 1:
                return self.lower(b)
            if x == sp.Rational(1, 2):
                return self._unop("sqrt", self.lower(b))
            if x == 2:
                a = self.lower(b)
                return self._binop("mul", a, a[0])
            return self._binop("pow", self.lower(b), repr(float(x)))
        if f.is_Pow and self._is_scalar(f.exp) and isinstance(f.exp, sp.Symbol):
            return self._binop("pow", self.lower(f.base), f.exp.name)
        if f.is_Pow:
            return self._loop(f)
        return self.lower(f)

    def _mul(self, e) -> tuple:
        c, tp = self._coef(e)
        facs = list(tp.args) if tp.is_Mul else [tp]
        num, den = [], []
        for f in facs:
            if f.is_Pow and f.exp.is_Number and f.exp < 0:
                if f.exp == sp.Rational(-1, 2):
                    num.append(("rsqrt", f.base))
                else:
                    den.append(f.base ** (-f.exp))
            else:
                num.append(("", f))
        acc = None
        for kind, f in num:
            v = self._unop("rsqrt", self.lower(f)) if kind == "rsqrt" else self._factor(f)
            acc = v if acc is None else self._binop("mul", acc, v[0]) if acc[1] else self._binop("mul", v, acc[0])
        for f in den:
            v = self._factor(f)
            acc = self._unop("reciprocal", v) if acc is None else self._binop("div", acc, v[0])
        if c != 1:
            acc = self._binop("mul", acc, self._num(c))
        return acc

    def _unit(self, a, b) -> bool:
        """Whether the scalar coefficients a and b add up to 1 (identically in t and the hyperparameters)."""
        back = {v: k for k, v in self.scalars.items()}
        return sp.expand(sp.sympify(a).xreplace(back) + sp.sympify(b).xreplace(back) - 1) == 0

    def _add(self, e, into: str | None) -> tuple:
        terms, const = [], None
        for a in e.args:
            if self._is_scalar(a):
                const = a
            else:
                terms.append(self._coef(a))
        base = None
        if into is not None:
            base = next((i for i, (_, tp) in enumerate(terms) if self.var.get(tp) == into), None)
        # lower every other term first (they may read the old value of the base)
        plans = []
        for i, (c, tp) in enumerate(terms):
            if i == base:
                continue
            facs = list(tp.args) if tp.is_Mul else [tp]
            neg = [f for f in facs if f.is_Pow and f.exp.is_Number and f.exp < 0]
            pos = [f for f in facs if f not in neg]
            if len(facs) == 1 and facs[0].is_Pow and facs[0].exp == 2:
                a = self.lower(facs[0].base)
                plans.append(("addcmul", a, a, c))
            elif len(facs) == 2 and len(pos) == 2:
                plans.append(("addcmul", self._factor(pos[0]), self._factor(pos[1]), c))
            elif len(facs) == 2 and len(pos) == 1 and neg[0].exp == -1:
                plans.append(("addcdiv", self._factor(pos[0]), self.lower(neg[0].base), c))
            else:
                plans.append(("add", self.lower(tp), None, c))
        if base is not None and const is None and len(plans) == 1 and plans[0][0] == "add" \
                and self._unit(terms[base][0], plans[0][3]):
            # a moving average a*X + (1 - a)*T: one pass, X + (1 - a)(T - X), as torch does it
            self._emit(f"torch._foreach_lerp_({into}, {plans[0][1][0]}, {self._num(plans[0][3])})")
            return into, True
        if base is not None:
            acc = (into, True)
            if terms[base][0] != 1:
                self._emit(f"torch._foreach_mul_({into}, {self._num(terms[base][0])})")
        else:
            owned = next((i for i, p in enumerate(plans) if p[0] == "add" and p[1][1]), None)
            if owned is not None:
                kind, acc, _, c = plans.pop(owned)
                if c != 1:
                    self._emit(f"torch._foreach_mul_({acc[0]}, {self._num(c)})")
            else:
                kind, a, b, c = plans.pop(0)
                r = self._tmp()
                if kind == "add" and c == 1 and plans and plans[0][0] == "add":
                    _, b, _, c2 = plans.pop(0)
                    self._emit(f"{r} = torch._foreach_add({a[0]}, {b[0]}" +
                               (f", alpha={self._num(c2)})" if c2 != 1 else ")"))
                elif kind == "add":
                    self._emit(f"{r} = torch._foreach_mul({a[0]}, {self._num(c)})" if c != 1 else
                               f"{r} = torch._foreach_add({a[0]}, 0.0)")
                else:
                    op = "mul" if kind == "addcmul" else "div"
                    self._emit(f"{r} = torch._foreach_{op}({a[0]}, {b[0]})")
                    if c != 1:
                        self._emit(f"torch._foreach_mul_({r}, {self._num(c)})")
                acc = (r, True)
        for kind, a, b, c in plans:
            if kind == "add":
                self._emit(f"torch._foreach_add_({acc[0]}, {a[0]}" + (f", alpha={self._num(c)})" if c != 1 else ")"))
            else:
                self._emit(f"torch._foreach_{kind}_({acc[0]}, {a[0]}, {b[0]}, value={self._num(c)})")
        if const is not None:
            self._emit(f"torch._foreach_add_({acc[0]}, {self._num(const)})")
        return acc

    def source(self, combo, zeros) -> str:
        from sympy.printing.pycode import PythonCodePrinter

        rule = self.plan.rule
        order = [n for n in rule.state_names if n in self.finals] + ["theta"]
        reps, reduced = sp.cse([self.finals[n] for n in order], symbols=sp.numbered_symbols("x"), order="none")
        final = dict(zip(order, reduced))
        for sym, e in reps:  # CSE symbols are tensors unless their expression is a scalar one
            (self.base_scalars if self._is_scalar(e) else self.tensors).add(sym)
        self.final_syms = {e for e in reduced if isinstance(e, sp.Symbol)}
        state_var = {n: ("p" if n == "theta" else f"s_{n}") for n in order}
        self.var = {sp.Symbol(v): v for v in ("p", "g", *(f"s_{n}" for n in order if n != "theta"))}
        self.inputs = set(self.var)
        # steps: CSE assignments, then the finals that are not bare symbols (theta last)
        steps = [(s, e, None) for s, e in reps]
        owner = {}
        for n in order:
            if isinstance(final[n], sp.Symbol) and final[n] not in owner and final[n] not in self.var:
                owner[final[n]] = n
        steps = [(s, e, owner.get(s)) for s, e, _ in steps]
        steps += [(None, final[n], n) for n in order
                  if not isinstance(final[n], sp.Symbol) and not self._is_scalar(final[n])]
        self.last, self.count = {}, {}
        for k, (_, e, _) in enumerate(steps):
            for a in sp.preorder_traversal(e):
                if isinstance(a, sp.Symbol):
                    self.last[a] = k
                    self.count[(a, k)] = self.count.get((a, k), 0) + 1
        for e in reduced:  # a state whose new value is an old input (prev = theta) reads it at the very end
            if e in self.inputs:
                self.last[e] = len(steps)
        py = PythonCodePrinter({"fully_qualified_modules": True})
        hyper_args = ", ".join(f"h_{k}" for k in rule.hyper)
        args = ", ".join(["p", "g", *(f"s_{n}" for n in order if n != "theta"), "t", hyper_args])
        head = [f"def kernel({args.rstrip(', ')}):",
                f'    """{rule.name}: step-counter branches {combo}, zero hyperparameters {sorted(zeros)}."""']
        self.lines = []
        for e, s in self.scalars.items():
            self._emit(f"{s} = {py.doprint(e)}")
        done = {}
        for k, (s, e, n) in enumerate(steps):
            self.k = k
            var = state_var.get(n)
            into = var if n is not None and self.last.get(sp.Symbol(var), -1) <= k else None
            if self._is_scalar(e):
                self._emit(f"{s} = {py.doprint(e)}")
                self.var[s] = s.name
                continue
            v, _ = self.lower(e, into)
            if s is not None:
                self.var[s] = v
            if n is not None:
                done[n] = v
        out = []
        seen = set()
        for n in order:
            v = done.get(n) or (self.var.get(final[n]) if isinstance(final[n], sp.Symbol) else None)
            if n == "theta":
                if v != "p":
                    self._emit(f"torch._foreach_copy_(p, {v})")
                continue
            if v is None:  # a constant: the new value does not depend on the state
                v = f"k_{n}"
                self._emit(f"{v} = [torch.full_like(x, {py.doprint(final[n])}) for x in p]")
            elif v in ("p", "g") or (v.startswith("s_") and v != state_var[n]) or v in seen:
                self._emit(f"{v}_{n} = [x.clone() for x in {v}]")
                v = f"{v}_{n}"
            seen.add(v)
            out.append(v)
        self._emit(f"return ({', '.join(out)}{',' if len(out) == 1 else ''})")
        return "\n".join(head + self.lines) + "\n"

