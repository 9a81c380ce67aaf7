"""The generated ``torch.optim.Optimizer`` subclass of an exported rule (see :mod:`derive.export`)."""
from __future__ import annotations

import keyword
import math
from typing import TYPE_CHECKING

import sympy as sp

from derive.export.plan import Plan, _fail

if TYPE_CHECKING:
    from derive.update_rule import UpdateRule


_CLASS = '''
class {cls}(torch.optim.Optimizer):
    """{title}, exported from the derived rule {name!r} (derive.export.torch_optimizer).

    Hyperparameters: {kwdoc}.  State per parameter: {statedoc}."""

    def __init__(self, params, {sig}):
        defaults = dict({pairs})
        for k, v in defaults.items():
            for x in (v if isinstance(v, tuple) else (v,)):
                if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                    raise ValueError(f"{name}: hyperparameter {{k}} must be a finite number, got {{v!r}}")
{betacheck}        super().__init__(params, defaults)

    def _hyper(self, group):
        """The rule's hyperparameters (tuples such as betas unpacked) as Python floats."""
        h = {{k: group[k] for k in {plain!r}}}
{betaunpack}        for k, v in h.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name}: hyperparameter {{k}} must be a finite number, got {{v!r}}")
        return {{k: float(v) for k, v in h.items()}}

    @torch.no_grad()
    def step(self, closure=None):
        """One step of the rule on every parameter with a gradient; returns closure() if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            hyper = self._hyper(group)
            buckets = {{}}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise ValueError("{name}: sparse gradients are not supported")
                st = self.state[p]
                if not st:
{init}                buckets.setdefault((st[{counter!r}], p.device, p.dtype), []).append(p)
            for (t, _, _), ps in buckets.items():
                kernel = _plan.kernel(t, hyper)
                new = kernel(ps, [p.grad for p in ps], {state_lists}t, **{{"h_" + k: v for k, v in hyper.items()}})
                for name, values in zip({names!r}, new):
                    for p, x in zip(ps, values):
                        self.state[p][name] = x
                for p in ps:
                    self.state[p][{counter!r}] = t + 1
        return loss
'''


def torch_optimizer(rule: UpdateRule, name: str | None = None):
    """A ``torch.optim.Optimizer`` subclass computing ``rule`` (see the module docstring); ``name`` is
    the class name (default: from the rule's name).  The class's ``source`` is its generated code with
    the kernel for the rule's default hyperparameters; ``kernel_sources()`` lists every kernel made."""
    import torch

    plan = Plan(rule)
    cls = name if name is not None else "".join(w.capitalize() for w in rule.name.replace("-", "_").split("_")
                                                if w) or "Exported"
    if not (isinstance(cls, str) and cls.isidentifier()) or keyword.iskeyword(cls):
        raise ValueError(f"class name must be a Python identifier, got {cls!r}")
    if not cls[0].isalpha():
        cls = "Rule" + cls
    names = [n for i, n in enumerate(rule.state_names, 1) if i != plan.ci]
    counter = rule.state_names[plan.ci - 1] if plan.ci is not None else "_step"
    req = [k for k, d in plan.kw if d is None]
    opt = [(k, d) for k, d in plan.kw if d is not None]
    sig = ", ".join([*req, *(f"{k}={d!r}" for k, d in opt)])
    init = []
    for n, v in zip(rule.state_names, rule.init):
        if n == counter:
            init.append(f"st[{n!r}] = {int(v)}")
        elif v.free_symbols:
            from sympy.printing.pytorch import TorchPrinter

            sub = {rule.theta: sp.Symbol("p"), **{s: sp.Symbol(f"hyper[{k!r}]") for k, s in rule.hyper.items()}}
            if v.free_symbols - set(sub):
                _fail(rule, f"the initial value of {n} uses symbols other than theta and hyperparameters")
            code = TorchPrinter({"fully_qualified_modules": True}).doprint(v.xreplace(sub))
            init.append(f"st[{n!r}] = ({code}) + torch.zeros_like(p, memory_format=torch.preserve_format)")
        else:
            init.append(f"st[{n!r}] = torch.full_like(p, {float(v)!r}, memory_format=torch.preserve_format)")
    if plan.ci is None:
        init.append("st['_step'] = 0")
    betacheck = "".join(
        f"        if not isinstance({kw}, tuple) or len({kw}) != {len(ms)}:\n"
        f"            raise ValueError(f\"{rule.name}: {kw} must be a tuple of {len(ms)} numbers, got {{{kw}!r}}\")\n"
        for kw, ms in plan.tuples.items())
    betaunpack = "".join(f"        h[{b!r}] = group[{kw!r}][{i}]\n" for kw, ms in plan.tuples.items()
                         for i, b in enumerate(ms))
    plain = [k for k in rule.hyper if not any(k in ms for ms in plan.tuples.values())]
    hdoc = ", ".join(f"{k}={d!r}" if d is not None else f"{k} (required)" for k, d in plan.kw)
    text = _CLASS.format(
        cls=cls, title=rule.title, name=rule.name, kwdoc=hdoc or "none", statedoc=", ".join(rule.state_names) or
        "none", sig=sig, pairs=", ".join(f"{k}={k}" for k, _ in plan.kw), betacheck=betacheck, plain=plain,
        betaunpack=betaunpack, init="".join(f"                    {line}\n" for line in init), counter=counter,
        state_lists="".join(f"[self.state[p][{n!r}] for p in ps], " for n in names), names=names)
    ns = {"torch": torch, "math": math, "_plan": plan}
    exec(compile(text, f"<torch export of {rule.name}>", "exec"), ns)
    out = ns[cls]
    defaults = {k: v for k, v in rule.defaults.items() if k in rule.hyper}
    kernel = ""
    if set(defaults) == set(rule.hyper):
        t0 = int(rule.init[plan.ci - 1]) if plan.ci is not None else 0
        kernel = "\n\n" + plan.kernel(t0, {k: float(v) for k, v in defaults.items()}).source
    out.source = text.lstrip("\n") + kernel
    out.kernel_sources = staticmethod(lambda: [k.source for k in plan._kernels.values()])
    out.rule = rule
    out.tuples = {kw: tuple(ms) for kw, ms in plan.tuples.items()}  # torch keyword -> the rule's names
    return out
