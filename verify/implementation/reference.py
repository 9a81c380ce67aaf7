"""The reference side of ``ldyn verify-impl``: which rule, with which hyperparameters, in which
configurations, and which alternative rules (conventions, mistakes) may explain a disagreement.

Two kinds of reference.  :class:`TorchReference` is a library optimizer of
:func:`derive.rules.zoo.optimizers` (torch.optim's SGD, RMSprop, Adam, AdamW, Adagrad, NAdam, ...: torch's
names and defaults, ``betas`` a tuple, structural options such as ``nesterov`` read from the values).  :class:`GenericReference` is any other rule
``derive.rules.library.resolve`` knows (a catalogue name or a ``.rule`` file): its hyperparameters
are its protocol names, defaults from ``rule.defaults``.

Configurations.  At its defaults a rule may hide a branch: momentum 0 makes dampening and Nesterov
inert, weight decay 0 makes an implementation that ignores it indistinguishable.  So the reference is
run in several configurations: ``base`` (the defaults with ``--set``), one per branch (a zero
hyperparameter made nonzero, a boolean option switched on) and ``moved`` (every hyperparameter moved
off its default, 0 and 1, so a hard-coded default shows).  Values fixed with ``--set`` are never varied.

Exercised.  Hyperparameter X is *exercised* by configuration C when an implementation that ignores X
would differ there: for every value n that "ignoring X" can mean (:func:`neutral`: X's default, 0,
and 1 for a default in [1/2, 1)), the reference run with X = n leaves the reference run at C
(closed-loop runs, the tolerance of the comparison).  This is measured, not assumed.

Mistakes (kind ``"mistake"``, vs ``"convention"`` for a library's documented choice), each a rule
the likely-cause search runs like a convention of :mod:`derive.rules.conventions`:
``X-ignored`` / ``X-as-0`` / ``X-as-1`` (the value passed for X not used: the same rule at X = n; only
when the implementation received the values), SGD's ``ema-momentum-buffer``
(b ← μb + (1 − μ)g from b = 0 instead of torch's b ← μb + (1 − τ)g with b₁ = g), and for a generic
rule with ``weight_decay`` the other coupling of the decay, built symbolically:
coupled  U|_{λ=0} with g(x) → g(x) + λx;  decoupled  U|_{λ=0} with θ⁺ − ηλθ  (kept when it is not
the rule itself).  References: I. Loshchilov, F. Hutter, Decoupled weight decay regularization,
ICLR 2019; torch.optim.SGD's documented algorithm (dampening, b₁ = g).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np

from verify.implementation.user import InputError

#: the nonzero value a hyperparameter at 0 takes when a configuration switches it on
NONZERO = {"weight_decay": 0.01, "momentum": 0.9, "dampening": 0.3}
#: default values for hyperparameters a (Python) catalogue rule leaves without one
FALLBACK = {"lr": 1e-3, "momentum": 0.9}


@dataclass(frozen=True)
class Candidate:
    """A rule that may explain a disagreement: ``rule`` run with ``values`` (symbolic names)."""

    label: str
    description: str
    libraries: str
    kind: str  # "convention" or "mistake"
    rule: object
    values: dict
    ignored: str | None = None  # the hyperparameter an "X ignored" mistake ignores


@dataclass
class Configuration:
    """Values the implementation and the reference run with; ``skipped`` says why they cannot."""

    name: str
    values: dict  # the factory's keywords and their values
    changed: dict  # the keys changed from the base configuration
    skipped: str | None = None


# -- values --------------------------------------------------------------------------------
def _value(key: str, text: str, default):
    if default is None or isinstance(default, str):  # a choice (Muon's adjust_lr_fn): checked by the entry
        return None if text.lower() == "none" else text
    if isinstance(default, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{key} takes true or false, got {text!r}")
        return text.lower() == "true"
    if isinstance(default, tuple):
        parts = text.split(",")
        if len(parts) != len(default):
            raise ValueError(f"{key} takes {len(default)} comma-separated numbers (e.g. {key}=0.9,0.99), got {text!r}")
        return tuple(None if d is None and p.strip().lower() == "none" else float(_value(key, p.strip(), 0.0))
                     for p, d in zip(parts, default))
    shown = repr(text) if len(text) <= 40 else repr(text[:30]) + f" ... ({len(text)} characters)"
    integer, v = re.fullmatch(r"[+-]?\d+", text) is not None, None
    try:  # an integer too large for a float (or of more than 4300 digits) is not finite
        number = int(text) if integer else float(text)
        v = number if np.isfinite(float(number)) else None
    except (ValueError, OverflowError):
        if not integer:
            raise ValueError(f"{key} takes a number, got {shown}") from None
    if v is None:
        raise ValueError(f"{key} must be a finite number, got {shown}")
    return v


def neutral(default, positive: bool = False) -> list:
    """The values "ignoring" a hyperparameter with this default can mean: the default, 0 (unless the
    hyperparameter must be positive), and 1 for a default in [1/2, 1) (an interpolation weight)."""
    if default is None or isinstance(default, (bool, tuple, str)):
        return [default]
    out = [float(default)]
    if not positive and default != 0:
        out.append(0.0)
    if 0.5 <= default < 1:
        out.append(1.0)
    return out


def moved(key: str, value, default, positive: bool = False):
    """A value of ``key`` off its default, 0 and 1 (in range for EMA coefficients and rates)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, tuple):
        return tuple(moved(key, v, d) for v, d in zip(value, default))
    if isinstance(default, int) and not isinstance(default, bool) and default >= 1 and float(value).is_integer():
        return int(value) + 1  # a count (Muon's ns_steps): stays an integer
    v = float(value)
    if v == 0:
        out = NONZERO.get(key, 0.1)
    elif 0.75 <= v < 1:  # an EMA coefficient: 1 - v doubled (0.9 -> 0.8, 0.999 -> 0.998)
        out = 2 * v - 1
    elif 1 <= v and not positive:
        out = 1.5 * v
    else:
        out = v / 2
    avoid = neutral(default, positive)
    return out if out not in avoid and out != v else (0.75 * v if v else 0.05)


def _json(v):
    return list(v) if isinstance(v, tuple) else v


def show(values: dict) -> str:
    return " ".join(f"{k}={tuple(v) if isinstance(v, (list, tuple)) else v}" for k, v in values.items())


# -- the two kinds of reference ------------------------------------------------------------
class _Reference:
    """What both references share: configurations, exercised hyperparameters, "ignored" mistakes."""

    name: str
    title: str
    defaults: dict

    def positive(self, key: str) -> bool:
        return key == "lr"

    def check(self, values: dict) -> str | None:
        """Why these values are not a valid configuration (None: valid)."""
        return None

    def same_map(self, values: dict) -> dict:
        """Values computing the same map, made valid where a value makes an option inert."""
        return values

    def plans(self, base: dict) -> list[tuple[str, dict]]:
        raise NotImplementedError

    def configurations(self, base: dict, fixed: set) -> list[Configuration]:
        """``base``, one per branch of :meth:`plans`, and ``moved`` (module docstring); duplicates dropped."""
        out = [Configuration("base", dict(base), {})]
        movable = {k: moved(k, v, self.defaults[k], self.positive(k)) for k, v in base.items() if k not in fixed}
        plans = [*self.plans(base), ("moved", movable)]
        for name, wanted in plans:
            changes = {k: v for k, v in wanted.items() if k not in fixed and base[k] != v}
            values = {**base, **changes}
            if name == "moved" and values.get("nesterov") and "dampening" in base:  # Nesterov needs dampening 0
                values["dampening"] = base["dampening"]
                changes.pop("dampening", None)
            if not changes or any(c.values == values for c in out):
                continue
            out.append(Configuration(name, values, changes, self.check(values)))
        return out

    def ignored(self, values: dict, conventions: dict) -> list[Candidate]:
        """``X-ignored``/``X-as-0``/``X-as-1``: X passed off its default but computed at a neutral value."""
        out = []
        for key, v in values.items():
            d = self.defaults[key]
            if v == d:
                continue
            for n in neutral(d, self.positive(key)):
                if n == v or self.check(self.same_map({**values, key: n})):
                    continue
                label = f"{key}-ignored" if n == d else f"{key}-as-{n:g}"
                what = (f"{key} ignored: the code computes as if {key} = {_show1(n)}, its default" if n == d else
                        f"{key} treated as {n:g}: the code computes as if {key} = {n:g}, not {_show1(v)}")
                rule, sym = self.rule_and_values(self.same_map({**values, key: n}), conventions)
                out.append(Candidate(label, what, "", "mistake", rule, sym, ignored=key))
        return out


def _show1(v) -> str:
    if isinstance(v, (list, tuple)):
        return str(tuple(v))
    return str(v) if v is None or isinstance(v, (bool, str)) else f"{v:g}"


class TorchReference(_Reference):
    """A library optimizer of :func:`derive.rules.zoo.optimizers` (torch.optim's keywords and defaults,
    its conventions and known variants)."""

    def __init__(self, name: str) -> None:
        from derive.rules.zoo import optimizers

        self.spec = optimizers()[name]
        self.name, self.title, self.defaults = name, self.spec.title, dict(self.spec.defaults)
        self.algorithm = f"{self.title}'s algorithm"
        self.param_shape = self.spec.param_shape

    def convention_keys(self) -> dict[str, tuple]:
        """Keys that configure only the reference rule, with their allowed values (torch's first)."""
        return dict(self.spec.conventions)

    def parse(self, settings) -> tuple[dict, dict, set]:
        """(the factory's keywords, the reference's conventions, the keys fixed by --set)."""
        rule = self.name
        hyper, allowed = dict(self.defaults), self.convention_keys()
        conv = {k: v[0] for k, v in allowed.items()}
        valid = f"valid keys for {rule}: {', '.join([*hyper, *allowed])}"
        fixed = set()
        for item in settings:
            key, sep, text = (s.strip() for s in item.partition("="))
            if not sep or key not in {**hyper, **allowed}:
                raise InputError(f"--set {item!r}: " + (f"unknown key {key!r}" if sep else "give KEY=VALUE") +
                                 f"; {valid}")
            if key in allowed:
                if text not in allowed[key]:
                    hint = " (coupled L2 is Adam's: use --rule adam)" if rule == "adamw" and text == "coupled" else ""
                    raise InputError(f"--set {key}: {text!r} is not one of {', '.join(allowed[key])}{hint}; {valid}")
                conv[key] = text
                continue
            try:
                hyper[key] = _value(key, text, self.defaults[key])
            except ValueError as exc:
                raise InputError(f"--set {key}: {exc}; {valid}") from None
            fixed.add(key)
        problem = self.spec.check(hyper)
        if problem:
            raise InputError(f"--set {problem}")
        return hyper, conv, fixed

    def same_map(self, values: dict) -> dict:
        return self.spec.same_map(values)

    def check(self, values: dict) -> str | None:
        return self.spec.check(values)

    def plans(self, base: dict) -> list[tuple[str, dict]]:
        return list(self.spec.plans)

    def options(self, values: dict, conventions: dict) -> dict:
        """The structural options of the reference's factory read from the values."""
        return self.spec.options(values, conventions)

    def symbolic_values(self, values: dict) -> dict[str, float]:
        """Numeric hyperparameters under the symbolic rules' names (betas -> beta1, beta2)."""
        return self.spec.symbolic(values)

    def rule_and_values(self, values: dict, conventions: dict):
        try:
            rule = self.spec.factory(**self.options(values, conventions))
        except ValueError as exc:
            raise InputError(str(exc)) from None
        sym = self.symbolic_values(values)
        return rule, {k: sym[k] for k in rule.hyper}

    def candidates(self, values: dict, conventions: dict, receives_values: bool) -> list[Candidate]:
        """The optimizer's known variants (other libraries' conventions, then common mistakes), after the
        "X ignored" mistakes when the implementation received the values."""
        options, sym = self.options(values, conventions), self.symbolic_values(values)
        out = []
        for v in self.spec.variants(options):
            rule, h = v.rule(self.name), v.hyperparameters(sym)
            out.append(Candidate(v.label, v.description, v.libraries, v.kind, rule, {k: h[k] for k in rule.hyper}))
        out.sort(key=lambda c: c.kind != "convention")  # stable: conventions first
        return (self.ignored(values, conventions) if receives_values else []) + out

    def keywords(self, values: dict, accepts) -> dict:
        return dict(values)

    def to_json(self, values: dict) -> dict:
        return {k: _json(v) for k, v in values.items()}


class GenericReference(_Reference):
    """Any rule of ``derive.rules.library.resolve``: protocol names, defaults from ``rule.defaults``."""

    def __init__(self, spec: str, rule) -> None:
        self.spec, self.rule, self.name, self.title = spec, rule, rule.name, rule.title
        self.algorithm = f"the rule {spec}" + (f" ({rule.name})" if rule.name != spec else "")
        missing = [k for k in rule.hyper if k not in rule.defaults and k not in FALLBACK]
        self.missing, self._decay = missing, None
        self.defaults = {k: float(rule.defaults.get(k, FALLBACK.get(k, 0.0))) for k in rule.hyper}

    def positive(self, key: str) -> bool:
        return key == "lr" or bool(self.rule.hyper[key].is_positive)

    def parse(self, settings) -> tuple[dict, dict, set]:
        values, fixed = dict(self.defaults), set()
        valid = f"valid keys for {self.name}: {', '.join(values)}"
        for item in settings:
            key, sep, text = (s.strip() for s in item.partition("="))
            if not sep or key not in values:
                hint = " (this rule takes beta1 and beta2 separately)" if key == "betas" else ""
                raise InputError(f"--set {item!r}: " + (f"unknown key {key!r}{hint}" if sep else "give KEY=VALUE") +
                                 f"; {valid}")
            try:
                values[key] = float(_value(key, text, 0.0))
            except ValueError as exc:
                raise InputError(f"--set {key}: {exc}; {valid}") from None
            sym = self.rule.hyper[key]
            if (self.positive(key) and values[key] <= 0) or (sym.is_nonnegative and values[key] < 0):
                raise InputError(f"--set {key}: must be {'> 0' if self.positive(key) else '>= 0'} "
                                 f"(the rule's symbol {sym} is {'positive' if self.positive(key) else 'nonnegative'}), "
                                 f"got {values[key]:g}")
            fixed.add(key)
        missing = [k for k in self.missing if k not in fixed]
        if missing:
            raise InputError(f"rule {self.name} has no default for {', '.join(missing)}: give "
                             + " ".join(f"--set {k}=VALUE" for k in missing))
        return values, {}, fixed

    def plans(self, base: dict) -> list[tuple[str, dict]]:
        return [(k, {k: NONZERO.get(k, 0.1)}) for k, v in base.items() if v == 0]

    def options(self, values: dict, conventions: dict) -> dict:
        return {}

    def rule_and_values(self, values: dict, conventions: dict):
        return self.rule, dict(values)

    def candidates(self, values: dict, conventions: dict, receives_values: bool) -> list[Candidate]:
        out = self.ignored(values, conventions) if receives_values else []
        if self._decay is None:
            self._decay = decay_variants(self.rule)
        return out + [Candidate(label, what, "", "mistake", rule, dict(values)) for label, what, rule in self._decay]

    def keywords(self, values: dict, accepts) -> dict:
        """The rule's own names; ``betas=(beta1, beta2, ...)`` instead when the factory takes ``betas``
        and not ``beta1`` (torch-style, e.g. Lion's ``betas=(0.9, 0.99)``)."""
        betas = [f"beta{i}" for i in range(1, 10) if f"beta{i}" in values]
        if betas != [f"beta{i}" for i in range(1, len(betas) + 1)] or len(betas) < 2 \
                or not accepts("betas") or accepts("beta1"):
            return dict(values)
        out = {}
        for k, v in values.items():
            if k == "beta1":
                out["betas"] = tuple(values[b] for b in betas)
            elif k not in betas:
                out[k] = v
        return out

    def to_json(self, values: dict) -> dict:
        return dict(values)


def decay_variants(rule) -> list[tuple[str, str, object]]:
    """For a rule with ``weight_decay``: the coupled and the decoupled form of its decay, built
    symbolically (module docstring), each kept when it differs from the rule."""
    import sympy as sp

    if "weight_decay" not in rule.hyper or "lr" not in rule.hyper:
        return []
    wd, lr, x = rule.hyper["weight_decay"], rule.hyper["lr"], sp.Dummy("x")
    plain = [u.xreplace({wd: 0}) for u in rule.update]
    coupled = [u.replace(rule.oracle, sp.Lambda(x, rule.oracle(x) + wd * x)) for u in plain]
    decoupled = [plain[0] - lr * wd * rule.theta, *plain[1:]]
    out = []
    for label, what, update in (
            ("decay-coupled", "coupled L2: weight_decay*theta added to the gradient, no separate decay", coupled),
            ("decay-decoupled-lr", "decoupled weight decay theta <- theta - lr*weight_decay*theta, no L2 term in "
             "the gradient", decoupled)):
        if any(sp.expand(a - b) != 0 for a, b in zip(update, rule.update)):  # a form equal but not
            # recognised as such stays, and its row says "same as the reference on these problems"
            out.append((label, what, dataclasses.replace(rule, name=f"{rule.name}~{label}", update=tuple(update))))
    return out


def reference(spec: str) -> _Reference:
    """The reference named by ``--rule SPEC``: a library optimizer of :func:`derive.rules.zoo.optimizers`
    by name (torch's keywords), any other rule through ``resolve`` (its own names)."""
    from derive.rules.zoo import optimizers

    if spec in optimizers():
        return TorchReference(spec)
    from derive.rule_text import RuleTextError
    from derive.rules.library import RuleNotFound, resolve

    try:
        rule = resolve(spec)
    except RuleNotFound as exc:
        raise InputError(f"argument --rule: invalid choice: {exc}") from None
    except RuleTextError as exc:
        raise InputError(str(exc)) from None
    away = sorted({str(a.args[0]) for u in rule.update for a in u.atoms(rule.oracle) if a.args[0] != rule.theta})
    if away:
        fix = ("use --rule nesterov-buffer (the same method in torch.optim.SGD(nesterov=True)'s variables, whose "
               "parameter is the look-ahead point) or --rule sgd --set nesterov=true" if rule.name == "nesterov" else
               "write the rule in the variables of the point where the gradient is taken (as nesterov-buffer does "
               "for nesterov)")
        raise InputError(f"--rule {spec}: the rule takes its gradient at {away[0]}, not at theta, but an optimizer's "
                         f"step receives the gradient at its parameters only; {fix}")
    return GenericReference(spec, rule)
