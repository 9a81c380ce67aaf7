"""Symbolic (SymPy) derivations of learning dynamics.  The entry points, imported on first use:

- ``UpdateRule`` (with ``UpdateRule.from_text`` / ``from_file`` for the ``.rule`` format), ``g`` the
  gradient oracle, ``rule_derivation``;
- ``resolve(spec)`` a catalogue rule name or a ``.rule`` path -> ``UpdateRule``; ``rule_names()``;
- ``linearize``, ``jury_conditions``, ``stable_interval`` (any rule on a quadratic);
- ``rule_analysis(rule)`` the checked derivation ``ldyn derive SPEC`` prints;
- ``Derivation``; the catalogue of derivations is :mod:`derive.catalogue` (``ldyn derive --list``).

No export shares a name with a submodule (``from derive import catalogue`` must stay the module).
"""
import importlib

#: public name -> "module:attribute"
_EXPORTS = {
    "UpdateRule": "derive.update_rule:UpdateRule",
    "g": "derive.update_rule:g",
    "rule_derivation": "derive.analysis.rule_analysis:rule_derivation",
    "NotDifferentiable": "derive.update_rule:NotDifferentiable",
    "RuleTextError": "derive.rule_text:RuleTextError",
    "resolve": "derive.rules.library:resolve",
    "rule_names": "derive.rules.library:names",
    "linearize": "derive.analysis.linear:linearize",
    "jury_conditions": "derive.analysis.linear:jury_conditions",
    "stable_interval": "derive.analysis.linear:stable_interval",
    "rule_analysis": "derive.analysis.rule_analysis:rule_analysis",
    "Derivation": "derive.derivation:Derivation",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    """Import the public name ``derive.<name>`` on first access."""
    if name in _EXPORTS:
        module, attr = _EXPORTS[name].split(":")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
