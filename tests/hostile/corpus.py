"""The hostile corpus of issue #21: every command and option of ``ldyn``, by hand and by hypothesis.

``cases()`` is the whole corpus (the same list on every run); ``sample()`` the quick subset that
``pytest`` runs by default (``pytest --full`` runs everything).
"""
from __future__ import annotations

from functools import lru_cache

from . import corpus_cli, corpus_user, generated
from .case import COMMANDS, EXPECT, Case, Builder

__all__ = ["COMMANDS", "EXPECT", "Case", "cases", "sample", "by_id"]


@lru_cache(maxsize=1)
def cases() -> tuple[Case, ...]:
    b = Builder()
    corpus_cli.add(b)
    corpus_user.add(b)
    generated.add(b)
    ids = [c.id for c in b.cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return tuple(b.cases)


def sample() -> tuple[Case, ...]:
    return tuple(c for c in cases() if c.sample)


def by_id(case_id: str) -> Case:
    return next(c for c in cases() if c.id == case_id)
