"""The rules we ship, by name, and ``resolve``: one entry point from a name or a ``.rule`` file to an
:class:`~derive.update_rule.UpdateRule`.

The library optimizers of :func:`derive.rules.zoo.optimizers` (Adagrad, NAdam, Muon, ...) are here under
their names, at torch's defaults; SGD, RMSprop, Adam and AdamW keep their own factories' defaults
(SGD with momentum).  A catalogue rule is just a rule we ship: the generic analyses (stability, modified equation,
derivation, verify-impl) take any :class:`UpdateRule`, and ``resolve`` is how the command line turns
``SPEC`` into one.  Rules written in Python live in this package's modules; rules written in the
text format (:mod:`derive.rule_text`) live as ``*.rule`` files beside this module, in ``text/``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from derive.update_rule import UpdateRule

#: folder of the catalogue's ``.rule`` files
TEXT_DIR = Path(__file__).resolve().parent / "text"


def _python_rules() -> dict[str, Callable[[], UpdateRule]]:
    from derive.rules import adaptive, gradient_descent, momentum
    from derive.rules.zoo import optimizers

    ours = {
        "gd": gradient_descent.gd_rule,
        "heavy-ball": momentum.heavy_ball_rule,
        "nesterov": momentum.nesterov_rule,
        "nesterov-buffer": momentum.nesterov_buffer_rule,
        "sgd": adaptive.sgd_rule,
        "rmsprop": adaptive.rmsprop_rule,
        "adam": adaptive.adam_rule,
        "adamw": adaptive.adamw_rule,
    }
    zoo = {name: (lambda spec=spec: spec.rule(spec.defaults)) for name, spec in optimizers().items()}
    return {**ours, **{k: v for k, v in zoo.items() if k not in ours}}


def text_rules() -> dict[str, Path]:
    """Catalogue rules written in the text format: name -> file."""
    return {p.stem: p for p in sorted(TEXT_DIR.glob("*.rule"))}


def names() -> list[str]:
    """Every catalogue rule name (Python rules first, then text rules)."""
    return [*_python_rules(), *(n for n in text_rules() if n not in _python_rules())]


class RuleNotFound(KeyError):
    """``resolve`` got neither a catalogue name nor a readable ``.rule`` file; the message is for the user."""

    def __str__(self) -> str:
        return str(self.args[0])


def resolve(spec: str) -> UpdateRule:
    """The rule named ``spec`` (a catalogue name, see :func:`names`) or written in the ``.rule`` file
    at path ``spec``.  Raises :class:`RuleNotFound` for an unknown name or missing file and
    :class:`derive.rule_text.RuleTextError` (a ValueError naming file, line and problem) for a bad file."""
    if not isinstance(spec, str) or not spec.strip():
        raise RuleNotFound("give a rule: a catalogue name (" + ", ".join(names()) + ") or a path ending in .rule")
    if spec.endswith(".rule"):
        path = Path(spec)
        if not path.is_file():
            raise RuleNotFound(f"{spec}: no such rule file")
        return UpdateRule.from_file(path)
    python = _python_rules()
    if spec in python:
        return python[spec]()
    if spec in text_rules():
        return UpdateRule.from_file(text_rules()[spec])
    raise RuleNotFound(f"unknown rule {spec!r}; known: {', '.join(names())}, or a path ending in .rule")
