"""``ldyn``: derive, verify and explain optimizer update rules from the command line.

Imports stay lazy: ``ldyn --help`` loads neither SymPy nor NumPy; each subcommand imports
what it needs.  Bad input prints one line, ``ldyn: error: ...``, and exits with code 2; an
internal fault (e.g. a derivation that does not check) prints ``ldyn: internal error: ...``
and exits with code 1.  ``--json`` output is strict JSON: in check tables and reports an infinite number is
``null``; experiment summaries write non-finite measurements as the strings "inf", "-inf", "nan".
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import threading

from verify.signals import (_Terminated, _error_line, _ignore_late_signals, _raise_if_interrupted, _signal_handlers,
                            _stop_children)


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
    try:
        v = float(text)
    except ValueError:
        raise UsageError(f"{what} takes one number (e.g. {what} 0.1), got {text.strip()!r}") from None
    if not math.isfinite(v):
        raise UsageError(f"{what}: {text.strip()} is not a finite number")
    return v


def _json_safe(obj):
    """``obj`` with every infinite float replaced by None (JSON ``null``); a NaN is a bug."""
    if isinstance(obj, float):
        if math.isnan(obj):
            raise RuntimeError("a NaN reached the JSON output")
        return None if math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _dump(obj) -> str:
    """Strict JSON (no NaN/Infinity tokens): infinities, e.g. an overflowing condition number, become null."""
    return json.dumps(_json_safe(obj), indent=2, allow_nan=False, default=str)


# -- subcommands ----------------------------------------------------------------------
def cmd_verify(args) -> int:
    from verify import checks

    if any(not n.strip() for n in args.names):
        raise UsageError("empty check name; give a check group or check name (see `ldyn verify`)")
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

    if args.list or args.name is None:
        from derive.markup import MarkupError, to_plain

        for name, (title, _) in catalogue.CATALOGUE.items():
            try:
                title = to_plain(title)  # the markup made readable: $\epsilon \to 0$ -> ε → 0
            except MarkupError:
                pass
            print(f"{name:26s} {title}")
        from derive.rules.library import names as rule_names

        for name in rule_names():
            print(f"{'rule-' + name:26s} the rule {name} through the generic pipeline (also: any .rule file)")
        return 0
    from verify import modified_equation as limited

    seconds = args.time_limit
    try:
        text, ok = limited.run_limited(_derive_text, (args.name, args.format, args.standalone), seconds)
    except limited.OutOfTime:
        raise UsageError(f"the derivation did not finish within {seconds:g} s (--time-limit); give more time, "
                         "or a smaller rule") from None
    except ValueError as exc:  # bad input, the memory ceiling included
        raise UsageError(" ".join(str(exc).split())) from None
    print(text, end="")
    return 0 if ok else 1


def _derive_text(name: str, fmt: str, standalone: bool) -> tuple[str, bool]:
    """``ldyn derive``'s work, run under the time limit and memory ceiling: (the output, all steps hold?)."""
    from derive import catalogue

    try:
        d = catalogue.build(name) if name in catalogue.CATALOGUE else _rule_derivation(name)
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    check = d.check()
    if fmt == "latex":
        return d.to_latex(check, standalone=standalone), check.ok
    if fmt == "markdown":
        return d.to_markdown(check), check.ok
    return _dump(d.to_json(check)) + "\n", check.ok


def _rule_derivation(spec: str):
    """``ldyn derive SPEC`` for a rule: a catalogue rule name (or rule-NAME) or a .rule file."""
    from derive.analysis.rule_analysis import rule_analysis
    from derive.rule_text import RuleTextError
    from derive.rules.library import RuleNotFound, names, resolve

    rule_spec = spec[len("rule-"):] if spec.startswith("rule-") and spec[len("rule-"):] in names() else spec
    try:
        rule = resolve(rule_spec)
    except RuleNotFound as exc:
        if spec.endswith(".rule"):
            raise UsageError(str(exc)) from None
        from derive import catalogue

        raise UsageError(f"unknown derivation or rule {spec!r}; derivations: {', '.join(catalogue.CATALOGUE)}; "
                         f"rules: {', '.join(names())}, or a path ending in .rule") from None
    except RuleTextError as exc:
        raise UsageError(str(exc)) from None
    return rule_analysis(rule, name=f"rule-{rule.name}")


def cmd_stability(args) -> int:
    from verify import stability

    num = lambda v, what: None if v is None else _float(v, what)  # noqa: E731
    sgd_options = _sgd_options(args)
    if sgd_options:
        if args.method != "sgd":
            raise UsageError(f"{', '.join(sgd_options)} belong to `ldyn stability sgd` (mean-square stability "
                             f"and stationary noise of minibatch SGD), not to {args.method}")
        return _stability_sgd(args, sgd_options)
    classic = ("gd", "heavy-ball", "nesterov")
    if args.method not in classic or args.set or args.map or args.tune or args.out:
        return _stability_generic(args, num)
    if args.method == "gd":
        unused = [o for o, v in (("--beta", args.beta), ("--mu", args.mu), ("--L", args.L)) if v is not None]
        if unused:
            raise UsageError(f"stability gd does not take {', '.join(unused)}: it takes --eigenvalues and --eta "
                             "(--eigenvalues MU,L gives gd's optimal step 2/(mu+L); --set/--tune/--map for the "
                             "generic analysis)")
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
                    extra = [o for o, v in (("--eigenvalues", args.eigenvalues), ("--eta", args.eta),
                                            ("--beta", args.beta)) if v is not None]
                    raise UsageError(f"{args.method} with --mu/--L (tuning) does not take {', '.join(extra)}: "
                                     "give either --mu and --L, or --eta, --beta and --eigenvalues")
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


def _sgd_options(args) -> list[str]:
    """The options of ``ldyn stability sgd``'s two modes that were given."""
    return [o for o, v in (("--per-sample-curvatures", args.per_sample_curvatures), ("--curvature", args.curvature),
                           ("--noise", args.noise), ("--batch", args.batch),
                           ("--with-replacement", args.with_replacement or None)) if v is not None]


def _batch_size(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v == int(v)):
        raise UsageError(f"--batch takes a whole number of samples (e.g. --batch 4), got {text.strip()!r}")
    return int(v)


def _stability_sgd(args, given: list[str]) -> int:
    """``ldyn stability sgd`` with --per-sample-curvatures (mean-square stability) or --curvature/--noise/--eta
    (stationary noise and the SMEs): verify.stability_sgd."""
    from verify import stability

    foreign = [o for o, v in (("--eigenvalues", args.eigenvalues), ("--beta", args.beta), ("--mu", args.mu),
                              ("--L", args.L), ("--set", args.set or None), ("--map", args.map),
                              ("--tune", args.tune), ("--out", args.out)) if v is not None]
    if foreign:
        raise UsageError(f"stability sgd with {given[0]} does not take {', '.join(foreign)}: give "
                         "--per-sample-curvatures A1,...,An --batch B [--with-replacement] [--eta E], or "
                         "--curvature A --noise SIGMA --eta E [--batch B]")
    per_sample = args.per_sample_curvatures is not None
    if per_sample and (args.curvature is not None or args.noise is not None):
        mixed = [o for o in ("--curvature", "--noise") if o in given]
        raise UsageError(f"--per-sample-curvatures (mean-square stability) and {', '.join(mixed)} (stationary "
                         "noise) are two different reports: give one or the other")
    eta = None if args.eta is None else _float(args.eta, "--eta")
    try:
        from verify import stability_sgd as ssgd

        if per_sample:
            if args.batch is None:
                raise UsageError("--per-sample-curvatures needs --batch B (the number of samples per step)")
            text = args.per_sample_curvatures
            if text.count(",") >= ssgd.MAX_SAMPLES:
                raise UsageError(f"--per-sample-curvatures: at most {ssgd.MAX_SAMPLES} values")
            rep = ssgd.mean_square_report(_floats(text, "--per-sample-curvatures"), _batch_size(args.batch),
                                          args.with_replacement, eta)
            fmt = ssgd.format_mean_square_report
        else:
            if args.with_replacement:
                raise UsageError("--with-replacement belongs to the mean-square report: give it with "
                                 "--per-sample-curvatures A1,...,An --batch B")
            missing = [o for o, v in (("--curvature", args.curvature), ("--noise", args.noise), ("--eta", args.eta))
                       if v is None]
            if missing:
                raise UsageError(f"stability sgd needs {', '.join(missing)}: give --curvature A --noise SIGMA --eta E "
                                 "[--batch B] (stationary noise), or --per-sample-curvatures A1,...,An --batch B "
                                 "(mean-square stability)")
            rep = ssgd.noise_report(_float(args.curvature, "--curvature"), _float(args.noise, "--noise"), eta,
                                    1 if args.batch is None else _batch_size(args.batch))
            fmt = ssgd.format_noise_report
    except stability.InputError as exc:
        raise UsageError(str(exc)) from None
    print(_dump(rep) if args.json else fmt(rep))
    return 0


def _stability_generic(args, num) -> int:
    """``ldyn stability SPEC`` for any rule (verify.stability_generic)."""
    from verify import stability, stability_generic

    if args.eta is not None or args.beta is not None:
        raise UsageError("--eta and --beta belong to the gd/heavy-ball/nesterov reports; for a rule SPEC "
                         "give --set lr=... --set momentum=...")
    values = {}
    for item in args.set:
        key, eq, val = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE (e.g. --set lr=0.1), got {item!r}")
        try:
            values[key.strip()] = float(val)
        except ValueError:
            raise UsageError(f"--set {key.strip()}: {val.strip()!r} is not a number") from None
    eig = None if args.eigenvalues is None else _floats(args.eigenvalues, "--eigenvalues")
    try:
        rep = stability_generic.report(args.method, values, eig, num(args.mu, "--mu"), num(args.L, "--L"),
                                       args.tune, args.map, args.out)
    except stability.InputError as exc:
        raise UsageError(str(exc)) from None
    print(_dump(rep) if args.json else stability_generic.format_report(rep))
    return 0


def cmd_certify(args) -> int:
    """``ldyn certify SPEC --mu M --L L``: a rate over S(mu, L) proved exactly, or a counterexample."""
    from verify import modified_equation as limited

    for opt, text in (("--mu", args.mu), ("--L", args.L)):
        if text is None:
            raise UsageError(f"certify needs {opt} (the class S(mu, L): mu-strongly convex, L-smooth)")
        _float(text, opt)
    values = {}
    for item in args.set:
        key, eq, val = item.partition("=")
        if not eq or not key.strip() or not val.strip():
            raise UsageError(f"--set takes KEY=VALUE (e.g. --set lr=1/L or --set momentum=0.5), got {item!r}")
        if key.strip() in values:
            raise UsageError(f"--set {key.strip()} is given twice")
        values[key.strip()] = val.strip()
    try:
        seconds = limited.check_time_limit(args.time_limit)
        rep = limited.run_limited(_certify_work, (args.spec, args.mu.strip(), args.L.strip(), values, args.iqc),
                                  seconds)
    except limited.OutOfTime:
        raise UsageError(f"the certification did not finish within {seconds:g} s (--time-limit); give more "
                         "time") from None
    except ValueError as exc:  # bad input: unknown rule or name, bad value, a rule that is not linear, ...
        raise UsageError(" ".join(str(exc).split())) from None
    from verify.certify import format_report

    print(_dump(rep) if args.json else format_report(rep))
    return 0


def _certify_work(spec: str, mu: str, L: str, values: dict, iqc: str) -> dict:
    from verify.certify import certify

    return certify(spec, mu, L, values, iqc)


#: wall-clock budget of ``ldyn modified-equation``, in seconds: the order limits keep typical
#: losses far below it, but no static rule bounds the symbolic work on every formula
MODIFIED_EQUATION_SECONDS = 60


class _OutOfTime(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise _OutOfTime in the block after ``seconds`` (main thread on POSIX; elsewhere no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cmd_modified_equation(args) -> int:
    import os

    from verify import modified_equation as modified

    if args.rule is None and args.set:
        raise UsageError("--set fixes a rule's hyperparameters: give --rule too (without it the rule is GD)")
    try:
        seconds = modified.check_time_limit(MODIFIED_EQUATION_SECONDS if args.time_limit is None else args.time_limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    work, work_args = ((modified.report, (args.loss, args.params, args.order)) if args.rule is None else
                       (modified.rule_report, (args.rule, args.loss, args.params, args.order, args.set)))
    try:  # parsing, derivation and check run in a child process: killed at the limit, memory capped
        if hasattr(os, "fork"):
            rep = modified.run_limited(work, work_args, seconds)
        else:
            with _time_limit(seconds):
                rep = work(*work_args)
    except (_OutOfTime, modified.OutOfTime):
        raise UsageError(f"the derivation did not finish within {seconds:g} s (--time-limit); give a lower "
                         "--order, a simpler loss" + (", or numbers for the hyperparameters (--set KEY=VALUE)"
                                                      if args.rule is not None else "")) from None
    except ValueError as exc:
        raise UsageError(" ".join(str(exc).split())) from None
    except RuntimeError as exc:  # the derivation did not check: our fault, not the user's
        print(f"ldyn: internal error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    fmt = modified.format_report if args.rule is None else modified.format_rule_report
    print(_dump(rep) if args.json else fmt(rep))
    return 0


def cmd_verify_impl(args) -> int:
    from verify import implementation

    try:
        rep = implementation.verify(args.spec, args.rule, args.set, steps=args.steps, seed=args.seed, rtol=args.rtol,
                                    time_limit=args.time_limit)
    except implementation.InputError as exc:
        raise UsageError(str(exc)) from None
    print(_dump(rep) if args.json else implementation.format_report(rep))
    return 0 if rep["agree"] else 1


def cmd_experiment(args) -> int:
    from verify import experiments

    if args.list or not args.name:
        if not args.list:
            raise UsageError("give an experiment name, or --list to see them")
        if args.json:
            print(_dump([{"name": n, "title": t} for n, (t, _) in experiments.EXPERIMENTS.items()]))
            return 0
        for name, (title, _) in experiments.EXPERIMENTS.items():
            print(f"{name:24s} {title}")
        return 0
    if args.name not in experiments.EXPERIMENTS:
        raise UsageError(f"unknown experiment {args.name!r}; known: {', '.join(experiments.EXPERIMENTS)}")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}")
    try:  # fail before the run, not after it
        experiments.writable(args.out)
    except ValueError as exc:  # '', a file, under a file, unwritable
        raise UsageError(str(exc)) from None
    progress = None if args.json else experiments.progress_printer(args.name)
    summary = experiments.run(args.name, out=args.out, seed=args.seed, full=args.full, progress=progress)
    print(_dump(summary) if args.json else experiments.format_summary(summary))
    return 0 if summary["all_claims_hold"] else 1


#: ``ldyn sweep``'s limits as its --help states them (numeric.sweep.MAX_*, verify.sweeps.LIMITS; a test
#: keeps them equal): here as text, so that --help imports neither module
SWEEP_LIMITS = ("Limits, refused before anything runs: at most 10,000 grid values, 1,000 seeds, 100,000 runs "
                "(values x seeds) and 100,000,000 training steps in all (values x seeds x steps); per run steps "
                "<= 1,000,000, n <= 100,000, d <= 1,000, n*d <= 10,000,000, width <= 1,000 and two-layer "
                "parameters (d+1)*width <= 2,000; teacher_seed >= 0.")


def cmd_sweep(args) -> int:
    from verify import sweeps

    try:
        return sweeps.main(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def cmd_audit(args) -> int:
    from verify import audit

    if args.name != "hermosis":
        raise UsageError(f"unknown audit {args.name!r}; known: hermosis")
    return audit.main_audit(args.name, args.json)


def cmd_notes(args) -> int:
    import importlib.util
    import re

    from verify import notes
    from verify.figures.backend import OutputPathError

    if importlib.util.find_spec("cvxpy") is None:  # say so before a minute of work, not after it
        print("ldyn: error: the notes draw the certified-rates figure, which needs cvxpy (not installed): "
              "pip install 'learning-dynamics[certify]'", file=sys.stderr)
        return 1

    if args.book is not None:
        if args.check:
            raise UsageError("--book builds a PDF and --check compares notes/: give one of them")
        try:  # the path and pdflatex are checked before any work
            log = notes.write_book(args.book)
        except OutputPathError as exc:
            raise UsageError(str(exc)) from None
        except notes.BookError as exc:
            print(f"ldyn: error: {exc}", file=sys.stderr)
            return 1
        pages = re.search(r"Output written on \S+ \((\d+) pages?", log)
        print(f"wrote {args.book}" + (f" ({pages.group(1)} pages)" if pages else ""))
        return 0
    try:  # the folder is checked before any work
        if args.check:
            stale = notes.stale(args.out)
        else:
            written = notes.write(args.out)
    except OutputPathError as exc:
        raise UsageError(str(exc)) from None
    if args.check:
        for line in stale:
            print(f"stale: {line}")
        print(f"notes in {args.out}/ are up to date" if not stale else
              f"{len(stale)} stale file(s) in {args.out}/: run `ldyn notes --out {args.out}`")
        return 1 if stale else 0
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
    d.add_argument("--time-limit", type=float, default=60.0, metavar="SECONDS",
                   help="stop a derivation (e.g. of a huge .rule file) after this many seconds (default 60)")
    d.set_defaults(func=cmd_derive)

    s = sub.add_parser("stability", help="step-size limits, optimal tuning and regimes on a quadratic",
                       description="Linear stability of an update rule on L = lambda*theta^2/2, x = lr*lambda. "
                       "gd, heavy-ball and nesterov with --eta/--beta/--eigenvalues or --mu/--L give their "
                       "classic reports; any other SPEC (a catalogue name or a .rule file), or any SPEC with "
                       "--set, --map or --tune, goes through the generic analysis: characteristic polynomial, "
                       "Jury conditions, the stable interval (0, x_critical), with --eigenvalues the critical lr, "
                       "with --set lr=... and --eigenvalues the roots and regime per eigenvalue, with --mu/--L "
                       "the optimal tuning of lr and one more hyperparameter.  A rule that cannot be linearised "
                       "(sign, abs, max, ...) exits 2 and says why.  sgd has two more reports: --per-sample-curvatures "
                       "A1,...,An --batch B [--with-replacement] [--eta E] for mean-square stability (critical step, "
                       "sharpness, non-uniformity), and --curvature A --noise SIGMA --eta E [--batch B] for the "
                       "stationary variance and excess loss beside the first- and second-order SMEs.")
    s.add_argument("method", metavar="SPEC", help="gd, heavy-ball, nesterov, any catalogue rule, or a .rule file")
    s.add_argument("--eigenvalues", help="Hessian eigenvalues, comma-separated, e.g. 1,10")
    s.add_argument("--eta", help="a step size to assess (gd, heavy-ball, nesterov, sgd)")
    s.add_argument("--beta", help="momentum (heavy-ball, nesterov)")
    s.add_argument("--mu", help="smallest eigenvalue, for the optimal tuning")
    s.add_argument("--L", help="largest eigenvalue, for the optimal tuning")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyperparameter by its protocol name (lr=0.1, momentum=0.9, ...); repeatable")
    s.add_argument("--tune", metavar="NAME[=LO:HI]", help="with --mu/--L: the hyperparameter tuned with lr "
                   "(default: momentum if the rule has it; range 0:1); 'lr' tunes lr alone")
    s.add_argument("--map", metavar="NAME=LO:HI", help="the regime of every point of the (x, NAME) plane")
    s.add_argument("--out", metavar="FILE.png", help="with --map: draw the map to this PNG")
    s.add_argument("--per-sample-curvatures", metavar="A1,...,An", help="sgd: the curvatures of n per-sample "
                   "losses a_i theta^2/2: the mean-square critical step 2a/(a^2 + c s^2) (Wu, Ma & E 2018)")
    s.add_argument("--batch", metavar="B", help="sgd: samples per step (with --per-sample-curvatures: required; "
                   "with --noise: the noise variance is SIGMA^2/B, default 1)")
    s.add_argument("--with-replacement", action="store_true", help="sgd: draw each batch with replacement "
                   "(default: B distinct samples)")
    s.add_argument("--curvature", metavar="A", help="sgd: the curvature of L = A theta^2/2, for the stationary noise")
    s.add_argument("--noise", metavar="SIGMA", help="sgd: the std of one sample's gradient noise")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stability)

    c = sub.add_parser("certify", help="a convergence rate over all L-smooth mu-strongly convex functions, "
                       "proved exactly (or a function where the rule fails)",
                       description="For a rule linear in its state and gradients (gd, heavy-ball, nesterov, "
                       "triple-momentum, a .rule file, ...): its state-space form, the Lyapunov LMI with integral "
                       "quadratic constraints for S(mu, L) (Lessard, Recht & Packard 2016), solved by bisection on "
                       "the rate rho; the Lyapunov matrix and multipliers are checked EXACTLY (rationals, SymPy) at "
                       "a rational rho slightly above the numeric one, so a printed certified rate is a theorem.  "
                       "Also the worst rate on quadratics (a lower bound).  Without a certificate: a search for a "
                       "piecewise-quadratic function in the class on which the rule cycles (checked exactly) or "
                       "diverges.  Rules with sign/max/division by state (adam, lion, ...) exit 2 and say why.  "
                       "Exit 0 with a report (certified or not), 2 on bad input.")
    c.add_argument("spec", metavar="SPEC", help="a catalogue rule name or a .rule file")
    c.add_argument("--mu", help="strong convexity constant mu > 0")
    c.add_argument("--L", help="smoothness constant L > mu")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyperparameter by its protocol name: a number or a formula in mu, L, kappa = L/mu, "
                   "e.g. lr=1/L, momentum=(sqrt(kappa)-1)/(sqrt(kappa)+1); repeatable (others: the rule's defaults)")
    c.add_argument("--iqc", default="off-by-one", metavar="sector|off-by-one",
                   help="the constraints on the gradient: sector (pointwise) or off-by-one (sector and the "
                   "rho-weighted off-by-one IQC, LRP Lemma 10; default)")
    c.add_argument("--time-limit", default=60.0, metavar="SECONDS",
                   help="wall-clock limit (default 60); the work runs in a child process, killed at the limit")
    c.add_argument("--json", action="store_true", help="the report as JSON (rate, rate_exact, "
                   "certificate_checked, lyapunov, multipliers, quadratic_rate, counterexample, ...)")
    c.set_defaults(func=cmd_certify)

    m = sub.add_parser("modified-equation", help="the modified flow GD (or any smooth rule) really follows, "
                       "for your loss")
    m.add_argument("--loss", required=True, help="loss formula, e.g. 'theta**4/4 - theta**2/2' or '(x*y-1)**2/2'")
    m.add_argument("--params", help="parameter names in order, comma-separated (default: theta first, then sorted)")
    m.add_argument("--order", type=int, default=None,
                   help="highest power of eta kept (default 3, or the loss's limit if lower: 6, 4, 3, 3, 2, 1 "
                        "for 1..6 parameters; 2 with transcendental functions, 1 with a parameter in a denominator; "
                        "a rule with buffers: default 1, at most 2)")
    m.add_argument("--rule", default=None, metavar="SPEC",
                   help="the update rule: a catalogue name (gd, heavy-ball, nesterov, qhm, ...) or a .rule file "
                        "(default: GD); rules with buffers go through their slow manifold, time t = k*lr")
    m.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="fix a hyperparameter other than lr (which stays symbolic, eta) to a number; repeatable")
    m.add_argument("--time-limit", default=None, metavar="SECONDS",
                   help=f"wall-clock limit of the whole computation, parsing included (default "
                        f"{MODIFIED_EQUATION_SECONDS:g}); the work runs in a child process, killed at the limit, "
                        "with a memory ceiling")
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_modified_equation)

    i = sub.add_parser("verify-impl", help="check your own optimizer code against a derived rule",
                       description="Run your optimizer side by side with the derived rule on seed-fixed problems, "
                       "in enough configurations to exercise every hyperparameter (momentum, weight decay, "
                       "dampening, nesterov, amsgrad, ... switched on; every value moved off its default); report "
                       "which were exercised, and on a disagreement name the known convention (eps placement, bias "
                       "correction, weight decay, ...) or common mistake (a hyperparameter ignored, an EMA momentum "
                       "buffer, ...) that explains it.  Values given with --set are not varied.  "
                       "Exit 0: agree, 1: differ, 2: bad input.")
    i.add_argument("spec", metavar="SPEC", help="package.module:factory or path/to/file.py:factory; the factory gets "
                   "all the rule's hyperparameters as keywords and returns init/step; or SPEC is a function "
                   "step(params, grads, state) whose state starts as {}; or a torch-style class Cls(params, **hyper) "
                   "whose step(grads) updates params (a list of NumPy arrays, or one array) in place")
    i.add_argument("--rule", required=True, metavar="RULE",
                   help="the reference: a library optimizer by name, with torch.optim's keywords and defaults "
                   "(betas=(b1, b2), ...): sgd, rmsprop, adam, adamw, adagrad, adadelta, adamax, nadam, radam, asgd, "
                   "rprop, adafactor, muon, lion (torch-style names lr, betas, weight_decay); or any other catalogue rule or a path ending in .rule (keywords: the "
                   "rule's own hyperparameter names, e.g. lion: lr, beta1, beta2, weight_decay; a factory that "
                   "takes betas and not beta1 gets betas=(beta1, beta2, ...))")
    i.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyperparameter (lr=0.01, betas=0.9,0.99, amsgrad=true, nu=0.5, ...; fixed: not varied) "
                   "or a convention of a torch reference only (eps_mode, bias_correction, amsgrad_max, decay); "
                   "repeatable")
    i.add_argument("--steps", type=int, default=200, help="steps per problem (default 200)")
    i.add_argument("--seed", type=int, default=0, help="seed of the problems (default 0)")
    i.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance (default 1e-9)")
    i.add_argument("--time-limit", type=float, default=60, metavar="SECONDS",
                   help="seconds all of your code may take in the run (import, factory, init, step; it runs in a "
                   "child process, so a hang or a crash in it is reported, exit 2); default 60")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_verify_impl)

    e = sub.add_parser("experiment", help="run a seed-fixed experiment: a figure and a JSON summary of its claims",
                       description="Each experiment writes OUT/NAME.png and OUT/NAME.json (the numbers it claims, "
                       "each with what was expected).  Exit 0 when every claim holds, 1 otherwise.")
    e.add_argument("name", nargs="?", help="experiment name (see --list)")
    e.add_argument("--list", action="store_true", help="list the experiments")
    e.add_argument("--out", default="experiments-out", help="output folder (default: experiments-out)")
    e.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    e.add_argument("--full", action="store_true", help="the longer version (finer grids, more runs)")
    e.add_argument("--json", action="store_true", help="print the summary as JSON")
    e.set_defaults(func=cmd_experiment)

    w = sub.add_parser("sweep", help="sweep a control parameter over seeds: order parameters, the transition, the "
                       "derived prediction",
                       description="Train a learner at each value of a control parameter from several seeds, record "
                       "the order parameters (final loss, gradient norm, sharpness, weight norm), locate the "
                       "transition with an error bar and print the derived prediction next to it.  A value whose "
                       "runs gave non-finite results for some seeds says 'diverged in k of n seeds' (its means are "
                       "over the other seeds).  " + SWEEP_LIMITS)
    w.add_argument("learner", choices=("least-squares", "two-layer"), help="least-squares (a quadratic) or "
                   "two-layer (a bias-free tanh network on a teacher's data)")
    w.add_argument("control", choices=("lr", "momentum", "weight_decay", "noise"), help="the control parameter")
    w.add_argument("values", help="START:STOP (with --num, --log) or a comma-separated list")
    w.add_argument("--num", type=int, default=20, help="grid points for START:STOP (default 20)")
    w.add_argument("--log", action="store_true", help="a geometric grid")
    w.add_argument("--seeds", type=int, default=5, help="seeds 0..S-1 (default 5)")
    w.add_argument("--workers", default="auto", help="processes: a number (at most 4 per core), or 'auto' for one "
                   "per core (default)")
    w.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster whose scheduler listens at ADDRESS "
                   "(tcp://HOST:PORT; needs the dask extra, and this package on every worker); not with --workers")
    w.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed hyperparameter: lr, momentum, weight_decay, noise, steps, n, d (two-layer also "
                   "width, init, teacher_seed); repeatable")
    w.add_argument("--out", help="write the figure and JSON into this folder (created if needed; each file "
                   "written atomically)")
    w.add_argument("--json", action="store_true")
    w.set_defaults(func=cmd_sweep)

    a = sub.add_parser("audit", help="audit a source document's equations against the derivations",
                       description="Every displayed equation of the document as a claim: holds, differs (with the "
                       "corrected form) or undecided.  Exit 0 when every claim is decided, 1 if any is undecided.")
    a.add_argument("name", help="the document: hermosis (seed 002, the Hermosis Hamiltonian theory)")
    a.add_argument("--json", action="store_true", help="a JSON list of {claim, status, derived, reason, number}")
    a.set_defaults(func=cmd_audit)

    n = sub.add_parser("notes", help="regenerate notes/ (LaTeX, Markdown, figures, an example "
                       "notebook), or build them as one PDF (--book)")
    n.add_argument("--check", action="store_true", help="compare every file of the --out folder (figures "
                   "included, byte for byte) with what would be generated; exit 1 if any is stale")
    n.add_argument("--out", default="notes", help="the notes folder (default: notes): new, empty, or one "
                   "`ldyn notes` wrote (with figures/manifest.json); every file is written atomically")
    n.add_argument("--book", default=None, metavar="FILE.pdf", help="instead, build one PDF of every derivation "
                   "(title page, contents, figures, references) with pdflatex in a temporary folder and write it to "
                   "FILE.pdf; notes/ is not touched")
    n.set_defaults(func=cmd_notes)
    return p


# options whose value may start with '-' (a negative number, a loss such as '-x**2')
_VALUE_OPTIONS = ("--eigenvalues", "--eta", "--beta", "--mu", "--L", "--loss", "--order", "--steps", "--seed",
                  "--rtol", "--set", "--per-sample-curvatures", "--batch", "--curvature", "--noise")


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    opts = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                opts |= _option_strings(sub)
    return opts


def _join_dash_values(argv: list[str], known: set[str]) -> list[str]:
    """``--eta -1`` -> ``--eta=-1``: argparse would take ``-1`` for an option and say
    "expected one argument" instead of letting the command explain what is wrong.
    A following word that is itself an option (``--eta --json``) is left alone."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return out + argv[i:]
        if a in _VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1] != "--" \
                and argv[i + 1].split("=")[0] not in known:
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


_NEGATIVE_STARTS = tuple(f"-{d}" for d in "0123456789")


def main(argv: list[str] | None = None) -> int:
    """Run ``ldyn``; return the exit code: 0 / 1 as the command says, 2 bad input (one line), 1 internal
    error (one line), 130 interrupted by Ctrl-C, 143 terminated by SIGTERM; never a traceback."""
    try:
        with _signal_handlers():
            code = _main(argv)
            _raise_if_interrupted()  # a library caught the KeyboardInterrupt (a bare except): still interrupted
            return code
    except KeyboardInterrupt as exc:
        if argv is None:  # the program itself (not main() called in-process): it is ending, and one more
            _ignore_late_signals()  # Ctrl-C must not turn exit 130 into a death by SIGINT
        _stop_children()  # any worker a pool left behind
        terminated = isinstance(exc, _Terminated)
        _error_line("ldyn: terminated" if terminated else "ldyn: interrupted")
        return 143 if terminated else 130


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    argv = _join_dash_values(list(sys.argv[1:] if argv is None else argv), _option_strings(parser))
    # a negative number-like word (a sweep's -1:2 or -1,2) is a value, never an option: argparse
    # takes only -1 and -1.5 for numbers; with a leading space it cannot take it for an option
    argv = [" " + a if a[:2] in _NEGATIVE_STARTS or a[:3].startswith("-.") and a[2:3].isdigit() else a
            for a in argv]
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            raise UsageError("give a command (listed above; `ldyn COMMAND --help` for its options)")
        return args.func(args)
    except UsageError as exc:
        _error_line(f"ldyn: error: {exc}")
        return 2
    except RuntimeError as exc:  # e.g. a NaN in a report: a bug, reported on one line
        _raise_if_interrupted()
        _error_line(f"ldyn: internal error: {exc}")
        return 1
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except MemoryError:
        _error_line("ldyn: internal error: out of memory (please report it with the command)")
        return 1
    except Exception as exc:  # noqa: BLE001 - never a traceback: an unexpected failure is our bug, on one line
        _raise_if_interrupted()
        text = " ".join(str(exc).split())[:300]
        _error_line(f"ldyn: internal error: {type(exc).__name__}: {text} (please report it with the command)")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
