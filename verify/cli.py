"""``ldyn``: derive, verify and explain optimizer update rules from the command line.

Imports stay lazy: ``ldyn --help`` loads neither SymPy nor NumPy; each subcommand imports
what it needs.  Bad input prints one line, ``ldyn: error: ...``, and exits with code 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys


class UsageError(Exception):
    """A user error: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too)
        raise UsageError(message)


def _floats(text: str, what: str) -> list[float]:
    out = []
    for part in text.split(","):
        try:
            v = float(part)
        except ValueError:
            raise UsageError(f"{what}: {part.strip()!r} is not a number (give a comma-separated list like 1,10)") from None
        if not math.isfinite(v):
            raise UsageError(f"{what}: {part.strip()} is not a finite number")
        out.append(v)
    return out


def _float(text: str, what: str) -> float:
    return _floats(text, what)[0] if "," not in text else _fail(f"{what} takes one number, got {text!r}")


def _fail(message: str):
    raise UsageError(message)


def _dump(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False, default=str)


# -- subcommands ----------------------------------------------------------------------
def cmd_verify(args) -> int:
    from . import checks

    try:
        results = checks.run(args.names)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if args.json:
        print(_dump([r.to_json() for r in results]))
    else:
        print(checks.table(results))
    return 0 if all(r.status == "pass" for r in results) else 1


def cmd_derive(args) -> int:
    from derive import catalogue

    if args.list or not args.name:
        for name, (title, _) in catalogue.CATALOGUE.items():
            print(f"{name:26s} {title}")
        return 0
    try:
        d = catalogue.build(args.name)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    check = d.check()
    if args.format == "latex":
        print(d.to_latex(check, standalone=args.standalone), end="")
    elif args.format == "markdown":
        print(d.to_markdown(check), end="")
    else:
        print(_dump(d.to_json(check)))
    return 0 if check.ok else 1


def cmd_stability(args) -> int:
    from . import stability

    num = lambda v, what: None if v is None else _float(v, what)  # noqa: E731
    try:
        if args.method == "gd":
            if args.eigenvalues is None:
                raise UsageError("give the Hessian spectrum with --eigenvalues, e.g. --eigenvalues 1,10")
            rep = stability.gd_report(_floats(args.eigenvalues, "--eigenvalues"), num(args.eta, "--eta"))
            text = stability.format_gd_report
        elif args.method in ("heavy-ball", "nesterov"):
            text = stability.format_momentum_report
            if args.mu is not None or args.L is not None:
                if args.eigenvalues is not None or args.eta is not None or args.beta is not None:
                    raise UsageError("give either --mu and --L (tuning) or --eta, --beta and --eigenvalues")
                rep = stability.momentum_tuning_report(args.method, num(args.mu, "--mu"), num(args.L, "--L"))
            else:
                if args.eigenvalues is None or args.eta is None or args.beta is None:
                    raise UsageError(f"{args.method} needs --eta, --beta and --eigenvalues (or --mu and --L)")
                rep = stability.momentum_report(args.method, _floats(args.eigenvalues, "--eigenvalues"),
                                                num(args.eta, "--eta"), num(args.beta, "--beta"))
        else:
            raise UsageError(f"unknown method {args.method!r}; known: gd, heavy-ball, nesterov")
    except stability.InputError as exc:
        raise UsageError(str(exc)) from None
    print(_dump(rep) if args.json else text(rep))
    return 0


def cmd_modified_equation(args) -> int:
    from . import modified

    try:
        rep = modified.report(args.loss, args.params, args.order)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(_dump(rep) if args.json else modified.format_report(rep))
    return 0


def cmd_notes(args) -> int:
    from . import notes

    if args.check:
        stale = notes.stale(args.out)
        for line in stale:
            print(f"stale: {line}")
        print("notes are up to date" if not stale else f"{len(stale)} stale file(s): run `ldyn notes`")
        return 1 if stale else 0
    written = notes.write(args.out)
    print(f"wrote {len(written)} files to {args.out}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ldyn", description="Derive, check and explain optimizer update rules "
                "(learning as a dynamical system).")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    v = sub.add_parser("verify", help="derive everything, check everything, print the table")
    v.add_argument("names", nargs="*", help="check groups or check names (default: all)")
    v.add_argument("--json", action="store_true", help="a JSON list of {check, status, error, tolerance, ...}")
    v.set_defaults(func=cmd_verify)

    d = sub.add_parser("derive", help="print a machine-checked derivation")
    d.add_argument("name", nargs="?", help="derivation name (see --list)")
    d.add_argument("--list", action="store_true", help="list the derivations")
    d.add_argument("--format", choices=("latex", "markdown", "json"), default="latex")
    d.add_argument("--standalone", action="store_true", help="with --format latex: a compilable document")
    d.set_defaults(func=cmd_derive)

    s = sub.add_parser("stability", help="step-size limits, optimal tuning and regimes on a quadratic")
    s.add_argument("method", help="gd, heavy-ball or nesterov")
    s.add_argument("--eigenvalues", help="Hessian eigenvalues, comma-separated, e.g. 1,10")
    s.add_argument("--eta", help="a step size to assess")
    s.add_argument("--beta", help="momentum (heavy-ball, nesterov)")
    s.add_argument("--mu", help="smallest eigenvalue, for the optimal tuning (heavy-ball, nesterov)")
    s.add_argument("--L", help="largest eigenvalue, for the optimal tuning (heavy-ball, nesterov)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stability)

    m = sub.add_parser("modified-equation", help="the modified flow GD really follows, for your loss")
    m.add_argument("--loss", required=True, help="loss formula, e.g. 'theta**4/4 - theta**2/2' or '(x*y-1)**2/2'")
    m.add_argument("--params", help="parameter names in order, comma-separated (default: theta first, then sorted)")
    m.add_argument("--order", type=int, default=2, help="highest power of eta kept (1..6, default 2)")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_modified_equation)

    n = sub.add_parser("notes", help="regenerate notes/ (LaTeX, Markdown, figures)")
    n.add_argument("--check", action="store_true", help="exit 1 if notes/ is stale")
    n.add_argument("--out", default="notes", help="output folder (default: notes)")
    n.set_defaults(func=cmd_notes)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return args.func(args)
    except UsageError as exc:
        print(f"ldyn: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
