"""What an exported optimizer needs from an update rule (see :mod:`derive.export`): the rule checked
for what torch can run, its torch-facing hyperparameters (``betas`` tuples), the step counter and the
Piecewise branches on it (resolved per step by generated Python), and the kernels, one per branch and
per set of zero hyperparameters, generated on first use by :mod:`derive.export.foreach`."""
from __future__ import annotations

import keyword
import math
from typing import TYPE_CHECKING

import sympy as sp

if TYPE_CHECKING:
    from derive.update_rule import UpdateRule

_MAX_COMBOS = 64


def _fail(rule, text: str) -> None:
    raise ValueError(f"{getattr(rule, 'name', rule)}: cannot export to torch: {text}")


def _short(e, n: int = 60) -> str:
    s = str(e)
    return s if len(s) <= n else s[: n - 3] + "..."

class Plan:
    """What the generated class needs from the rule: names, the counter, the t-branches, kernels."""

    def __init__(self, rule: UpdateRule):
        # duck-typed: importing derive.update_rule here would close an import cycle (its to_torch imports us)
        if not all(hasattr(rule, a) for a in ("state", "update", "hyper", "state_names", "init", "whole_array")):
            raise ValueError(f"torch_optimizer takes an UpdateRule, got {type(rule).__name__}")
        self.rule = rule
        bad = rule.whole_array()
        if bad:
            _fail(rule, f"{bad[0][0]}(...) in the update of {bad[0][1]} acts on the whole array; only "
                  "coordinate-wise rules are exported")
        for n in (*rule.hyper, *rule.state_names):
            if not (isinstance(n, str) and n.isidentifier()) or keyword.iskeyword(n) or n in ("params", "self"):
                _fail(rule, f"the name {n!r} is not usable as a Python keyword argument")
        self.G = sp.Symbol("g")
        exprs = [u.subs(rule.oracle(rule.theta), self.G) for u in rule.update]
        for name, e in zip(("theta", *rule.state_names), exprs):
            if e.has(rule.oracle):
                _fail(rule, f"the oracle is applied away from theta in the update of {name} (a look-ahead); torch "
                      "passes the gradient at the parameter only: export the rule's buffer form")
            undef = [a for a in e.atoms(sp.core.function.AppliedUndef)]
            if undef:
                _fail(rule, f"unknown function {undef[0].func.__name__} in the update of {name}")
            if e.has(sp.I) or e.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                _fail(rule, f"the update of {name} is not a finite real expression ({_short(e)})")
        self.ci = rule.counter
        self.t = rule.state[self.ci] if self.ci is not None else None
        hsyms = set(rule.hyper.values())
        known = set(rule.state) | hsyms | {self.G}
        for name, e in zip(("theta", *rule.state_names), exprs):
            extra = e.free_symbols - known
            if extra:
                _fail(rule, f"the update of {name} uses {sorted(map(str, extra))}, neither state nor hyperparameter")
        if self.ci is not None and not (rule.init[self.ci - 1].is_Integer):
            _fail(rule, f"the step counter {rule.state_names[self.ci - 1]} must start at an integer, "
                  f"not {rule.init[self.ci - 1]}")
        self.exprs = exprs
        scal = hsyms | ({self.t} if self.t is not None else set())
        # Piecewise nodes whose conditions involve only the counter and hyperparameters: resolved per step
        self.pws = []
        for e in exprs:
            for node in sp.preorder_traversal(e):
                if isinstance(node, sp.Piecewise) and node not in self.pws \
                        and all(c.free_symbols <= scal for _, c in node.args):
                    self.pws.append(node)
        if math.prod(len(p.args) for p in self.pws) > _MAX_COMBOS:
            _fail(rule, f"more than {_MAX_COMBOS} combinations of step-counter branches")
        # torch-facing hyperparameters: beta1, beta2, ... -> betas; etas1, etas2 -> etas (any stem ending in s)
        h = list(rule.hyper)
        self.tuples: dict[str, list[str]] = {}
        for k in h:
            stem = k[:-1] if k.endswith("1") else None
            if stem and (stem == "beta" or stem.endswith("s")):
                members = [f"{stem}{i}" for i in range(1, 10) if f"{stem}{i}" in h]
                if len(members) >= 2 and members == [f"{stem}{i}" for i in range(1, len(members) + 1)] \
                        and (stem + "s" if stem == "beta" else stem) not in h:
                    self.tuples[stem + "s" if stem == "beta" else stem] = members
        member = {m: kw for kw, ms in self.tuples.items() for m in ms}
        self.kw = []  # (keyword, default or None)
        for k in h:
            if k in member:
                if self.tuples[member[k]][0] == k:
                    d = tuple(rule.defaults.get(b) for b in self.tuples[member[k]])
                    self.kw.append((member[k], d if None not in d else None))
            else:
                self.kw.append((k, rule.defaults.get(k)))
        self._kernels: dict = {}
        self._branches = None

    # -- runtime -----------------------------------------------------------------------
    def _branch_source(self) -> str:
        """``def branches(t, h_lr, ...)``: the index of the branch taken by each step-counter Piecewise."""
        from sympy.printing.pycode import PythonCodePrinter

        py = PythonCodePrinter({"fully_qualified_modules": True})
        ren = {s: sp.Symbol(f"h_{k}") for k, s in self.rule.hyper.items()}
        if self.t is not None:
            ren[self.t] = sp.Symbol("t")
        parts = []
        for pw in self.pws:
            pick = "None"
            for j, (_, c) in reversed(list(enumerate(pw.args))):
                pick = f"{j} if {py.doprint(c.xreplace(ren))} else ({pick})" if c != sp.true else f"{j}"
            parts.append(f"({pick})")
        args = ", ".join(["t", *(f"h_{k}" for k in self.rule.hyper)])
        return f"def branches({args}):\n    return ({', '.join(parts)}{',' if len(parts) == 1 else ''})\n"

    def branches(self, t: int, hyper: dict) -> tuple[int, ...]:
        if self._branches is None:
            ns = {"math": math}
            exec(compile(self._branch_source(), f"<branches of {self.rule.name}>", "exec"), ns)
            self._branches = ns["branches"]
        out = self._branches(t, *[hyper[k] for k in self.rule.hyper])
        if None in out:
            pw = self.pws[out.index(None)]
            raise ValueError(f"{self.rule.name}: no branch of {_short(pw)} applies at step {t}")
        return out

    def kernel(self, t: int, hyper: dict):
        """The compiled kernel for step t and these hyperparameter values (cached by branch and zeros)."""
        key = (self.branches(t, hyper) if self.pws else (), frozenset(k for k, v in hyper.items() if v == 0))
        if key not in self._kernels:
            self._kernels[key] = self._build(*key)
        return self._kernels[key]

    # -- code generation -----------------------------------------------------------------
    def _build(self, combo, zeros):
        import torch

        rule = self.rule
        exprs = self.exprs
        if self.pws:
            sub = {pw: pw.args[j].expr for pw, j in zip(self.pws, combo)}
            exprs = [e.xreplace(sub) for e in exprs]
        if zeros:
            zs = {rule.hyper[k]: sp.S.Zero for k in zeros}
            special = [e.subs(zs) for e in exprs]
            if not any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in special):
                exprs = special
            else:
                zeros = frozenset()
        from derive.export.foreach import Codegen

        text = Codegen(self, exprs).source(combo, zeros)
        ns = {"torch": torch, "math": math}
        exec(compile(text, f"<torch export of {rule.name}>", "exec"), ns)
        fn = ns["kernel"]
        fn.source = text
        return fn

