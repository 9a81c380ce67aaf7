"""Verify a user's optimizer against a derived update rule, in every configuration its
hyperparameters need, and name the convention or the mistake that explains a disagreement.

``verify(spec, rule)`` loads the user's code from ``spec`` (``package.module:factory`` or
``path/to/file.py:factory``; a factory, a step function or a torch-style class, see
:mod:`verify.implementation.user`) and the reference from ``rule`` (torch.optim's SGD, RMSprop, Adam,
AdamW with torch's names and defaults, ``betas`` a tuple; or any catalogue rule or ``.rule`` file with
its own names, see :mod:`verify.implementation.reference`).  In each configuration (``base`` = the
defaults with ``--set``, then one per hidden branch, then ``moved``) the factory is called with the
configuration's values as keywords and run closed-loop, θ_k, s_k = step(θ_{k−1}, g_k(θ_{k−1}), s_{k−1}),
side by side with the reference rule lambdified with the same values.  The rule takes the same
gradients and starts each step from the implementation's θ_{k−1}: up to the first divergence that is
the same as running it on its own, and rounding cannot grow along a chaotic trajectory (sign-like
dynamics near a minimum turn 1e-16 into 1e-8 within 200 steps).  A step function's values are fixed
in its code, so it runs in ``base`` only and the report says that no hyperparameter was exercised.

Problems (``problems``): diagonal, coordinate-wise, g_k(θ) = a_k (h ⊙ (θ − c) + σ ⊙ ξ_k) with a
fixed noise sequence ξ_k (seeded: the same for every run) and a schedule a_k, built so that the
conventions part ways: gradient scales from 1e-6 to 1e2 (|g| ≈ √ε and ≈ ε/√(1 − β₂) expose where
ε sits), curvatures over 5 to 8 decades, sign-flipping noise, weights of both signs and sizes
(weight decay), and a phase where the gradients shrink (AMSGrad's running max).

Tolerance, per step, for the parameters and every state entry the implementation shares with the
rule (``exp_avg``, ``momentum_buffer``, ..., a text rule's state names; scalars broadcast):
|got − expected| ≤ rtol·(|expected| + 1e-3·scale), where scale is the running max of |expected| of
that coordinate (so values crossing zero are compared at their own magnitude).  rtol defaults to
1e-9; correct implementations measure 1e-16 to 1e-13 (centered RMSProp's v − a² cancels the most).

The user's code (import, factory, init, step) runs in one child process per run
(:mod:`verify.implementation.child`), the reference here: a sleep, a loop, a crash, ``os._exit`` or
megabytes of prints in it cannot hang or end the caller, nor reach its stdout (the user's output goes
to stderr, the first 4 KB of it).  ``time_limit`` (default 60 s) bounds all of that code's time in a
run; exceeding it, or the child ending, is bad input (:class:`InputError`) naming where it happened.

Verdict: agree iff every configuration that ran agrees.  ``exercised`` lists, per hyperparameter, the
first configuration in which ignoring it would change the reference (measured on the reference's
runs); ``not_exercised`` says why the others were not (fixed by ``--set`` at a value where ignoring
them changes nothing, a branch hidden by another value, a step function).  Likely cause, per
configuration that differs: every candidate (torch's conventions from
:func:`derive.rules.conventions.variants`, then the mistakes) runs along the implementation's
trajectories; those matching everywhere explain the disagreement; "X ignored" mistakes are preferred
when the implementation received X.  The top-level keys (``first_divergence``, ``likely_cause``,
``variants``, ``hyperparameters``, ``configuration``, ...) describe the configuration shown: the first
that differs with a disagreement a known cause explains, else the first that differs, else ``base``.
"""
from __future__ import annotations

import numpy as np

from verify.implementation.child import UserCode
from verify.implementation.reference import Configuration, neutral, reference, show
from verify.implementation.runs import ATOL_FACTOR, RTOL, SEED, STEPS, _agreement, problems, run_rule
from verify.implementation.user import InputError, implementation, load

#: seconds all of the user's code of one run may take (import, factory, init, step)
TIME_LIMIT = 60

__all__ = ["verify", "format_report", "InputError", "load", "implementation", "problems"]


def _overflow(runs, probs) -> tuple[str, int] | None:
    """(problem name, step) of the first non-finite value of a reference run, or None."""
    for p, run in zip(probs, runs):
        finite = np.isfinite(run.params[1:]).all(axis=1)
        for v in run.state.values():
            finite &= np.isfinite(v).all(axis=1)
        if not finite.all():
            return p.name, int(finite.argmin()) + 1
    return None


def _finite_base(ref, base: dict, conv: dict, fixed: set, probs, steps: int, notes: list) -> dict:
    """``base``, with a default lr lowered tenfold at a time until the reference stays finite."""
    for _ in range(12):
        rule, values = ref.rule_and_values(base, conv)
        try:
            bad = _overflow(run_rule(rule, values, probs, steps), probs)
        except ValueError as exc:  # e.g. a rule whose oracle is applied away from theta
            raise InputError(f"--rule {ref.name}: {exc}") from None
        if bad is None:
            return base
        if "lr" in fixed:
            break
        notes.append(f"lr lowered from {base['lr']:g} to {base['lr'] / 10:g}: at {base['lr']:g} the reference "
                     f"overflows on test problem {bad[0]} at step {bad[1]}")
        base = {**base, "lr": base["lr"] / 10}
    raise InputError(f"with these hyperparameters the reference {ref.name} overflows on test problem {bad[0]} "
                     f"at step {bad[1]}; choose a smaller lr (or fewer --steps)")


def verify(spec: str, rule: str, settings=(), steps: int = STEPS, seed: int = SEED, rtol: float = RTOL,
           time_limit: float = TIME_LIMIT) -> dict:
    """Run the implementation named by ``spec`` against ``rule`` in every configuration (module docstring);
    the user's code runs in a child process, within ``time_limit`` seconds in all."""
    if not 1 <= steps <= 100_000:
        raise InputError(f"--steps must be between 1 and 100000, got {steps}")
    if seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    if not (np.isfinite(rtol) and 0 < rtol < 1):
        raise InputError(f"--rtol must be a number in (0, 1), e.g. 1e-9; got {rtol}")
    try:
        limit = None if isinstance(time_limit, (bool, str)) else float(time_limit)
    except (TypeError, ValueError, OverflowError):
        limit = None
    if limit is None or not (np.isfinite(limit) and limit > 0):
        raise InputError(f"--time-limit must be a finite number of seconds > 0, e.g. 60; got {time_limit!r}")
    with UserCode(spec, limit) as user:  # the child starts while the reference is built
        ref = reference(rule)
        base, conv, fixed = ref.parse(settings)
        shape = getattr(ref, "param_shape", None)  # Muon takes matrices
        probs, notes = problems(steps, seed, shape=shape), []
        accepted = user.load(probs, steps, shape)
        accepts = (lambda name: accepted is None or name in accepted)
        base = _finite_base(ref, base, conv, fixed, probs, steps, notes)
        kw = (lambda values: ref.keywords(values, accepts))
        kind = user.build(kw(base))
        step_fn = kind == "step function"
        configs = [Configuration("base", base, {})] if step_fn else ref.configurations(base, fixed)
        results = [_run_configuration(ref, c, conv, user, None if c.name == "base" else kw(c.values), probs, steps,
                                      rtol, not step_fn) for c in configs]
    exercised, not_exercised = _exercised(ref, configs, results, conv, fixed, probs, steps, rtol, step_fn)
    differ = [r for r in results if r["status"] == "differ"]
    shown = None
    for r in differ:  # show the first differing configuration whose disagreement a known cause explains
        _likely(r, probs, steps, rtol)
        d = r["first_divergence"]
        if (r["likely_cause"] and r["likely_cause"]["kind"] == "match") or d["index"] is None \
                or isinstance(d["got"], str):  # the code failed: no rule explains that
            shown = r
            break
    if shown is None:  # all agree: no table (which rules differ from the reference is in `exercised`)
        shown = differ[0] if differ else results[0]
    return {"implementation": spec, "kind": kind, "rule": rule, "reference": shown["reference"],
            "algorithm": ref.algorithm, "hyperparameters": shown["hyperparameters"], "conventions": shown["conventions"],
            "agree": all(r["status"] != "differ" for r in results), "configuration": shown["name"],
            "first_divergence": shown["first_divergence"], "reference_agreed_steps": shown["reference_agreed_steps"],
            "likely_cause": shown["likely_cause"], "variants": shown["variants"],
            "configurations": [{k: v for k, v in r.items() if k not in ("variants", "closed", "runs")} for r in results],
            "exercised": exercised, "not_exercised": not_exercised, "notes": notes,
            "steps": steps, "seed": seed, "problems": [p.to_json() for p in probs],
            "tolerance": {"rtol": rtol, "atol": f"{ATOL_FACTOR:g} * rtol * running max |expected| per coordinate"}}


def _run_configuration(ref, c: Configuration, conv: dict, user: UserCode, hyper: dict | None, probs, steps: int,
                       rtol: float, receives_values: bool) -> dict:
    """One configuration: the reference closed-loop, the implementation (``user`` runs it: the base
    optimizer, or one built with ``hyper``), the comparison and the candidates (table: see _likely)."""
    out = {"name": c.name, "hyperparameters": ref.to_json(c.values), "changed": ref.to_json(c.changed),
           "status": "skipped", "agree": None, "reason": c.skipped, "first_divergence": None, "likely_cause": None,
           "reference_agreed_steps": None, "reference": None, "conventions": ref.options(c.values, conv),
           "variants": [], "closed": None, "runs": None}
    if c.skipped:
        return out
    rule, values = ref.rule_and_values(c.values, conv)
    closed = run_rule(rule, values, probs, steps)
    bad = _overflow(closed, probs)
    if bad is not None:
        out["reason"] = f"the reference overflows on test problem {bad[0]} at step {bad[1]}"
        return out
    cands = ref.candidates(c.values, conv, receives_values)
    keys = sorted({*rule.state_names, *(s for cand in cands for s in cand.rule.state_names)})
    got = user.run(c.name, hyper, keys)
    ref_runs = run_rule(rule, values, probs, steps, along=got)
    first, ref_agreed = _agreement(got, ref_runs, rtol, steps)
    if first is not None:
        first = {"configuration": c.name, "problem": first["problem"], "problem_name": probs[first["problem"]].name,
                 **{k: v for k, v in first.items() if k != "problem"}}
    out.update(status="agree" if first is None else "differ", agree=first is None, reason=None,
               first_divergence=first, reference_agreed_steps=ref_agreed, reference=rule.title, closed=closed,
               runs=(cands, got, ref_runs))
    return out


def _likely(r: dict, probs, steps: int, rtol: float) -> None:
    """The candidates' table of configuration ``r`` and its likely cause (run for the configuration shown)."""
    cands, got, ref_runs = r["runs"]
    table = []
    for cand in cands:
        runs = run_rule(cand.rule, cand.values, probs, steps, along=got)
        d, agreed = _agreement(got, runs, rtol, steps)
        table.append({"label": cand.label, "description": cand.description, "libraries": cand.libraries,
                      "category": cand.kind, "ignores": cand.ignored, "matches": d is None,
                      "agreed_steps": agreed, "same_as_reference": _agreement(runs, ref_runs, rtol, steps)[0] is None})
    likely = None
    if r["first_divergence"] is not None:
        matches = [t for t in table if t["matches"]]
        best = max(table, key=lambda t: t["agreed_steps"], default=None)
        if matches:
            likely = {**_cause(matches[0]), "kind": "match", "matches": [t["label"] for t in matches]}
        elif best is not None and best["agreed_steps"] > r["reference_agreed_steps"]:
            likely = {**_cause(best), "kind": "closest", "matches": [], "agreed_steps": best["agreed_steps"]}
    r.update(variants=table, likely_cause=likely)


def _cause(row: dict) -> dict:
    return {k: row[k] for k in ("label", "description", "libraries", "category")}


def _exercised(ref, configs, results, conv, fixed, probs, steps, rtol, step_fn) -> tuple[list, list]:
    """Per hyperparameter X: the first configuration whose reference run changes when X is replaced by
    each value ignoring it can mean (:func:`neutral`), or why none does."""
    exercised, missing = [], []
    for key, default in ref.defaults.items():
        if step_fn:
            missing.append({"hyperparameter": key, "why": "a step function receives no hyperparameters: the values "
                            "configure only the reference, so ignoring one cannot show (write a factory)"})
            continue
        found, skipped = None, []
        for c, r in zip(configs, results):
            v = c.values[key]
            if r["closed"] is None:
                if key in c.changed:
                    skipped.append(f"{c.name}: {r['reason']}")
                continue
            ns = [n for n in neutral(default, ref.positive(key))
                  if n != v and not ref.check(ref.same_map({**c.values, key: n}))]
            if v in neutral(default, ref.positive(key)) or not ns:
                continue
            if all(_agreement(run_rule(*ref.rule_and_values(ref.same_map({**c.values, key: n}), conv), probs, steps),
                              r["closed"], rtol, steps)[0] is not None for n in ns):
                found = {"hyperparameter": key, "configuration": c.name, "value": ref.to_json({key: v})[key],
                         "distinguished_from": [ref.to_json({key: n})[key] for n in ns]}
                break
        if found:
            exercised.append(found)
            continue
        value = ref.to_json({key: configs[0].values[key]})[key]
        if key in fixed and configs[0].values[key] in neutral(default, ref.positive(key)):
            why = (f"fixed at {value} by --set, a value at which code that ignores {key} computes the same: "
                   "--set another value to exercise it")
        elif skipped:
            why = "the configurations that vary it were skipped (" + "; ".join(skipped) + ")"
        else:
            why = (f"ignoring it changed the reference in no configuration: its branch is hidden by another value"
                   + (f" fixed by --set ({', '.join(f'{k}={configs[0].values[k]}' for k in sorted(fixed))})"
                      if fixed else ""))
        missing.append({"hyperparameter": key, "why": why})
    return exercised, missing


def format_report(rep: dict) -> str:
    """The report as text: configurations, exercised hyperparameters, verdict, first divergence,
    likely cause, the candidates' table of the configuration shown."""
    total = rep["steps"] * len(rep["problems"])
    lines = [f"{rep['implementation']} ({rep['kind']}) vs {rep['reference']}, {rep['algorithm']}",
             f"{len(rep['problems'])} problems x {rep['steps']} steps (seed {rep['seed']}) per configuration, your code "
             f"closed-loop; |got - expected| <= rtol*(|expected| + 1e-3*scale), rtol = {rep['tolerance']['rtol']:g}",
             *(f"note: {n}" for n in rep["notes"]),
             "configurations" + (" (hyperparameters of the reference only: a step function takes none)"
                                 if rep["kind"] == "step function" else " (the hyperparameters your code is given)") + ":"]
    width = max(len(c["name"]) for c in rep["configurations"])
    for c in rep["configurations"]:
        values = show(c["hyperparameters"]) if c["name"] == "base" else "base with " + show(c["changed"])
        lines.append(f"  {c['name']:{width}s}  {c['status']:7s}  {values}")
        if c["status"] == "skipped":
            lines.append(f"  {'':{width}s}  skipped: {c['reason']}")
        elif c["status"] == "differ":
            d, cause = c["first_divergence"], c["likely_cause"]
            lines.append(f"  {'':{width}s}  first divergence: problem {d['problem']}, step {d['step']}, {d['entry']}"
                         + (f"; likely cause: {cause['label']}" if cause and cause["kind"] == "match" else ""))
    if rep["exercised"]:
        lines.append("exercised: " + ", ".join(f"{e['hyperparameter']} ({e['configuration']})" for e in rep["exercised"]))
    reasons: dict[str, list[str]] = {}
    for m in rep["not_exercised"]:
        reasons.setdefault(m["why"], []).append(m["hyperparameter"])
    lines += [f"not exercised: {', '.join(keys)}: {why}" for why, keys in reasons.items()]
    lines.append(f"agree: {'yes' if rep['agree'] else 'no'}")
    d = rep["first_divergence"]
    if d:
        first = next(c["name"] for c in rep["configurations"] if c["status"] == "differ")
        lines.append(f"configuration shown: {rep['configuration']}: {show(rep['hyperparameters'])}" +
                     (f" (the first differing one a known cause explains; {first} differs too)"
                      if first != rep["configuration"] else " (the first that differs)"))
    if rep["conventions"]:
        lines.append("conventions: " + " ".join(f"{k}={v}" for k, v in rep["conventions"].items()))
    if d:
        where = f"problem {d['problem']} ({d['problem_name']}), step {d['step']}"
        if d["index"] is None:
            lines.append(f"first divergence: {where}: {d['entry']}")
        else:
            lines.append(f"first divergence: {where}, {d['entry']}[{d['index']}]: expected {d['expected']!r}, "
                         f"got {d['got']!r} (error {d['error']!r}, tolerance {d['tolerance']!r})")
        c = rep["likely_cause"]
        if d["index"] is None or isinstance(d["got"], str):
            lines.append("likely cause: the implementation failed (an exception or a non-finite value), "
                         "not a convention")
        elif c is None:
            lines.append("likely cause: no known convention explains it, nor a known mistake")
        else:
            mistake = c["category"] == "mistake"
            head = "likely cause" if c["kind"] == "match" else \
                f"closest known {'mistake' if mistake else 'convention'} (agrees for {c['agreed_steps']} of {total} steps)"
            if mistake:
                lines.append(f"{head}: {c['description']} (a mistake, not a library convention; variant {c['label']})")
            else:
                lines.append(f"{head}: {c['label']}: {c['description']}" +
                             (f" [{c['libraries']}]" if c["libraries"] else ""))
            if len(c["matches"]) > 1:
                lines.append("  also matching: " + ", ".join(c["matches"][1:]))
    if rep["variants"] or d:
        width = max([len("reference")] + [len(t["label"]) for t in rep["variants"]])
        lines += ["", f"{'variant':{width}s}  matches  steps agreed (of {total})  [{rep['configuration']}]",
                  f"{'reference':{width}s}  {'no' if d else 'yes':7s}  {rep['reference_agreed_steps']}"]
        for t in rep["variants"]:
            note = "  (same as the reference on these problems)" if t["same_as_reference"] else ""
            kind = "  (mistake)" if t["category"] == "mistake" else ""
            lines.append(f"{t['label']:{width}s}  {'yes' if t['matches'] else 'no':7s}  {t['agreed_steps']}{kind}{note}")
    return "\n".join(lines)
