"""One hostile invocation and the outcome it must have."""
from __future__ import annotations

from dataclasses import dataclass, field

COMMANDS = ("verify", "derive", "stability", "modified-equation", "verify-impl", "experiment", "sweep", "audit",
            "notes", "certify")

# what a case must end with (decided from the rules, never from what the code does now)
EXPECT = {
    "bad": "exit 2, stderr = [argparse usage] + one `ldyn: error:` line",
    "ok": "exit 0 or 1 with a report on stdout, no error line",
    "fails": "the user's code is broken: exit 1 (a report) or 2 (one error line), never 0",
    "either": "exit 0/1 with a report, or exit 2 with one error line (a refusal is also right)",
}


@dataclass(frozen=True)
class Case:
    id: str                      # unique and stable: "command/kind/n"
    command: str                 # the ldyn subcommand (one of COMMANDS, or "ldyn" for no/unknown command)
    kind: str                    # the class of hostile input
    argv: tuple[str, ...]        # after `ldyn`; "{cwd}" is replaced by the case's folder
    expect: str                  # a key of EXPECT
    files: tuple = ()            # (relative path, str | bytes) created in the case's folder first
    outputs: tuple[str, ...] = ()  # paths (relative to the case's folder) the command may write under
    timeout: float = 20.0        # wall limit in seconds; beyond it: "hang"
    nonfinite_ok: bool = False   # nan/inf on stdout is the user's own value, reported (verify-impl)
    forbid: tuple[str, ...] = ()  # regexes that must not appear on stdout (a wrong result)
    sample: bool = False         # in the default (quick) sample of tests/test_hostile.py
    note: str = ""

    def to_json(self) -> dict:
        return {"id": self.id, "command": self.command, "kind": self.kind, "argv": list(self.argv),
                "expect": self.expect}


@dataclass
class Builder:
    """Collects cases, numbering them per (command, kind)."""
    cases: list = field(default_factory=list)
    _n: dict = field(default_factory=dict)
    _seen: set = field(default_factory=set)

    def add(self, command: str, kind: str, argv, expect: str, **kw) -> Case | None:
        """Add a case (None when the same invocation with the same files is already in)."""
        assert expect in EXPECT, expect
        argv = tuple(argv)
        assert not any("\x00" in a for a in argv), "an argument cannot hold a NUL byte (exec refuses it)"
        if command in COMMANDS and (not argv or argv[0] != command):
            argv = (command,) + argv
        key = (argv, tuple(kw.get("files", ())))
        if key in self._seen:
            return None
        self._seen.add(key)
        k = self._n.get((command, kind), 0) + 1
        self._n[(command, kind)] = k
        case = Case(f"{command}/{kind}/{k}", command, kind, argv, expect, **kw)
        self.cases.append(case)
        return case


# hostile spellings of one number: (text, what float(text) makes of it)
NONFINITE = ("nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1" + "0" * 400)
NOT_NUMBERS = ("", "abc", "1e", "0x10", "1j", "None", "true", "(1)", "1,2", "1..2", "½", "1e4e4", "\u202e1",
               "1\x1b[31m")
LENIENT = ("1_000", " 1 ", "\uff11", "\u0663")  # Python's float() takes these: accepting or refusing is right
