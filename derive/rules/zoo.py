"""The optimizers users meet, as torch.optim documents them: one :class:`TorchOptimizer` entry per
optimizer, and the :class:`Variant` type that names a known alternative to a reference rule.

An entry ties together what ``ldyn verify-impl --rule NAME`` needs about a library optimizer:
its keywords and defaults as ``torch.optim`` spells them (``betas`` a tuple, switches as bools), the
symbolic rule of :mod:`derive.rules` computing it (a factory of structural options), the options
that select another library's convention for the reference itself (``--set eps_mode=inside``), the
configurations that uncover hidden branches, and the variants (other libraries' conventions and
common mistakes) that may explain a disagreement.  The family modules (:mod:`derive.rules.conventions`
for SGD, RMSprop, Adam and AdamW; :mod:`derive.rules.classic`, :mod:`derive.rules.adam_family`,
:mod:`derive.rules.matrix`) each define their entries in a ``TORCH`` dict; :func:`optimizers` collects them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

#: the two kinds of variant: a library's documented choice, or a mistake no library makes
KINDS = ("convention", "mistake")


@dataclass(frozen=True)
class Variant:
    """A known alternative to a reference rule: ``factory(**options)`` run with the hyperparameters
    passed through ``hyper`` (e.g. the betas swapped).  ``kind`` is "convention" when a library
    documents it (``libraries`` then says which), "mistake" otherwise."""

    label: str
    description: str
    options: dict
    hyper: Callable[[dict], dict] | None = None
    libraries: str = ""
    tags: tuple[str, ...] = field(default=())
    kind: str = "convention"
    factory: Callable | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Variant.kind must be one of {KINDS}, got {self.kind!r}")

    def rule(self, name: str | None = None):
        """The variant's update rule: ``factory(**options)`` (the reference's factory when None)."""
        factory = self.factory
        if factory is None:
            if name is None:
                raise ValueError(f"variant {self.label!r} has no factory; pass the reference's name")
            factory = optimizers()[name].factory
        return factory(**self.options)

    def hyperparameters(self, values: dict) -> dict:
        return self.hyper(dict(values)) if self.hyper else dict(values)


def default_symbolic(values: dict) -> dict[str, float]:
    """torch keywords -> the symbolic rules' names: ``betas`` -> ``beta1``, ``beta2``; tuples ``etas``,
    ``step_sizes`` -> ``etas1``, ``etas2`` ...; bools and strings dropped (they are structural options)."""
    out: dict[str, float] = {}
    for k, v in values.items():
        if isinstance(v, (bool, str)) or v is None:
            continue
        if isinstance(v, tuple):
            stem = "beta" if k == "betas" else k
            for i, x in enumerate(v, 1):
                if x is not None:
                    out[f"{stem}{i}"] = float(x)
        else:
            out[k] = float(v)
    return out


@dataclass(frozen=True)
class TorchOptimizer:
    """What ``ldyn verify-impl --rule NAME`` needs to know about one library optimizer.

    * ``defaults``: the factory's keywords and defaults as torch.optim spells them;
    * ``factory(**options(values, conventions))``: the symbolic rule for those values;
    * ``conventions``: keys that configure only the reference (``--set KEY=VALUE``), each with its
      allowed values, the first being torch's;
    * ``plans``: (configuration name, changes) that uncover branches hidden at the defaults;
    * ``variants(options)``: the known alternatives to ``factory(**options)`` (conventions, mistakes);
    * ``symbolic(values)``: the rule's hyperparameter values (default :func:`default_symbolic`);
    * ``check(values)``: why values are outside their mathematical range, as "KEY: must be ..."
      (None: valid);
    * ``same_map(values)``: values computing the same map, made valid where a value makes an option
      inert (SGD: nesterov with momentum 0 is plain SGD);
    * ``param_shape``: the shape the implementation's parameters must have (None: a vector of any
      length; Muon takes matrices).
    """

    name: str
    title: str
    defaults: dict
    factory: Callable
    options: Callable[[dict, dict], dict]
    conventions: dict[str, tuple] = field(default_factory=dict)
    plans: tuple[tuple[str, dict], ...] = ()
    variants: Callable[[dict], list[Variant]] = lambda options: []
    symbolic: Callable[[dict], dict] = default_symbolic
    check: Callable[[dict], str | None] = lambda values: None
    same_map: Callable[[dict], dict] = lambda values: values
    param_shape: tuple[int, ...] | None = None
    follows: str = ""  # "the documented algorithm of ..." for the README table

    def rule(self, values: dict, conventions: dict | None = None):
        conv = {k: v[0] for k, v in self.conventions.items()}
        conv.update(conventions or {})
        return self.factory(**self.options(values, conv))


_FAMILIES = ("derive.rules.conventions", "derive.rules.classic", "derive.rules.adam_family", "derive.rules.matrix")
_CACHE: dict[str, TorchOptimizer] = {}


def optimizers() -> dict[str, TorchOptimizer]:
    """Every entry, by name (the ``TORCH`` dicts of the family modules, in order)."""
    if not _CACHE:
        import importlib

        for mod in _FAMILIES:
            _CACHE.update(importlib.import_module(mod).TORCH)
    return _CACHE
