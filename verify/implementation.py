"""Verify a user's optimizer against a derived update rule, and name the convention it follows.

``verify(spec, rule)`` loads ``factory`` from ``spec`` (``package.module:factory`` or
``path/to/file.py:factory``), calls it with *all* of the rule's hyperparameters as keywords
(torch.optim's names and defaults, ``betas`` a tuple) and runs the returned optimizer
(``init(params)``, ``step(params, grads, state) -> (params, state)``) closed-loop,
θ_k, s_k = step(θ_{k−1}, g_k(θ_{k−1}), s_{k−1}), side by side with the rule of
:mod:`derive.rules.adaptive` lambdified with the same values (torch.optim's documented algorithm,
or another convention chosen with ``eps_mode``, ``bias_correction``, ``amsgrad_max``,
``decay``).  A plain function ``step(params, grads, state)`` (exactly three positional
parameters) is accepted too: its state starts as ``{}`` and the values configure only the
reference.  The rule takes the same gradients and starts each step from the implementation's
θ_{k−1}: up to the first divergence that is the same as running it on its own, and rounding
cannot grow along a chaotic trajectory (sign-like dynamics near a minimum turn 1e-16 into 1e-8
within 200 steps).

Problems (``problems``): diagonal, coordinate-wise, g_k(θ) = a_k (h ⊙ (θ − c) + σ ⊙ ξ_k) with a
fixed noise sequence ξ_k (seeded: the same for every run) and a schedule a_k, built so that the
conventions part ways: gradient scales from 1e-6 to 1e2 (|g| ≈ √ε and ≈ ε/√(1 − β₂) expose where
ε sits), curvatures over 5 to 8 decades, sign-flipping noise, weights of both signs and sizes
(weight decay), and a phase where the gradients shrink (AMSGrad's running max).

Tolerance, per step, for the parameters and every state entry the implementation shares with the
rule (``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, ``momentum_buffer``, ``square_avg``,
``grad_avg``, ``step``; scalars broadcast): |got − expected| ≤ rtol·(|expected| + 1e-3·scale), where
scale is the running max of |expected| of that coordinate (so values crossing zero are compared
at their own magnitude).  rtol defaults to 1e-9; correct implementations measure 1e-16 to 1e-13
(centered RMSProp's v − a² cancels the most).

Likely cause: every :func:`derive.rules.conventions.variants` rule, lambdified once with
``variant.hyperparameters(values)``, runs on the same problems; those
matching the recorded trajectories everywhere explain the disagreement.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import re
import sys

import numpy as np

from verify.implementation_runs import (ATOL_FACTOR, RTOL, SEED, STEPS, Implementation, Run, _agreement, _one_line,
                                        problems, run_implementation, run_rule)

#: the factory's keywords and their defaults (torch.optim)
DEFAULTS = {
    "sgd": {"lr": 1e-3, "momentum": 0, "dampening": 0, "nesterov": False, "weight_decay": 0},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0, "momentum": 0, "centered": False},
    "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False},
    "adamw": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
}
TITLES = {"sgd": "torch.optim.SGD", "rmsprop": "torch.optim.RMSprop", "adam": "torch.optim.Adam",
          "adamw": "torch.optim.AdamW"}
#: torch's conventions (AdamW: decay="decoupled-lr")
CONVENTION_DEFAULTS = {"eps_mode": "outside", "bias_correction": "both", "amsgrad_max": "raw", "decay": "coupled"}


class InputError(ValueError):
    """Bad input (spec, --set value, a factory that cannot be called): exit code 2."""


def convention_keys(rule: str) -> dict[str, tuple]:
    """Keys that configure only the reference rule, with their allowed values."""
    from derive.rules import adaptive as ad

    decays = ("decoupled-lr", "decoupled") if rule == "adamw" else ad.DECAYS
    adam = {"eps_mode": ad.EPS_MODES, "bias_correction": ad.BIAS_CORRECTIONS,
            "amsgrad_max": ad.AMSGRAD_MAX, "decay": decays}
    return {"sgd": {"decay": decays}, "rmsprop": {"eps_mode": ("outside", "inside"), "decay": decays},
            "adam": adam, "adamw": adam}[rule]


# -- --set KEY=VALUE ----------------------------------------------------------------------
def _value(key: str, text: str, default):
    if isinstance(default, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{key} takes true or false, got {text!r}")
        return text.lower() == "true"
    if isinstance(default, tuple):
        parts = text.split(",")
        if len(parts) != len(default):
            raise ValueError(f"{key} takes {len(default)} comma-separated numbers (e.g. {key}=0.9,0.99), got {text!r}")
        return tuple(float(_value(key, p.strip(), 0.0)) for p in parts)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{key} takes a number, got {text!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{key} must be finite, got {text!r}")
    return v


def parse_settings(rule: str, settings) -> tuple[dict, dict]:
    """(the factory's keywords, the reference's conventions) from ``KEY=VALUE`` strings."""
    if rule not in DEFAULTS:
        raise InputError(f"unknown rule {rule!r}; known: {', '.join(DEFAULTS)}")
    hyper, allowed = dict(DEFAULTS[rule]), convention_keys(rule)
    conv = {k: "decoupled-lr" if (rule, k) == ("adamw", "decay") else CONVENTION_DEFAULTS[k] for k in allowed}
    valid = f"valid keys for {rule}: {', '.join([*hyper, *allowed])}"
    for item in settings:
        key, sep, text = (s.strip() for s in item.partition("="))
        if not sep or key not in {**hyper, **allowed}:
            raise InputError(f"--set {item!r}: " + (f"unknown key {key!r}" if sep else "give KEY=VALUE") + f"; {valid}")
        if key in allowed:
            if text not in allowed[key]:
                hint = " (coupled L2 is Adam's: use --rule adam)" if rule == "adamw" and text == "coupled" else ""
                raise InputError(f"--set {key}: {text!r} is not one of {', '.join(allowed[key])}{hint}; {valid}")
            conv[key] = text
            continue
        try:
            hyper[key] = _value(key, text, DEFAULTS[rule][key])
        except ValueError as exc:
            raise InputError(f"--set {key}: {exc}; {valid}") from None
    for k in ("lr", "eps", "weight_decay", "momentum", "alpha"):
        if k in hyper and hyper[k] < 0:
            raise InputError(f"--set {k}: must be >= 0 (as in {TITLES[rule]}), got {hyper[k]}")
    if "alpha" in hyper and not 0 <= hyper["alpha"] < 1:
        raise InputError(f"--set alpha: must be in [0, 1) (the EMA coefficient of the squared gradient), "
                         f"got {hyper['alpha']}")
    if any(not 0 <= b < 1 for b in hyper.get("betas", ())):
        raise InputError(f"--set betas: each must be in [0, 1), got {hyper['betas']}")
    if hyper.get("nesterov") and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
        raise InputError("--set nesterov=true needs momentum > 0 and dampening = 0 (as in torch.optim.SGD)")
    return hyper, conv


def reference_options(rule: str, hyper: dict, conventions: dict) -> dict:
    """The structural options of ``derive.rules.adaptive.RULES[rule]`` read from the values."""
    if rule == "sgd":
        return {"momentum": hyper["momentum"] > 0, "nesterov": hyper["nesterov"], **conventions}
    if rule == "rmsprop":
        return {"centered": hyper["centered"], "momentum": hyper["momentum"] > 0, **conventions}
    return {"amsgrad": hyper["amsgrad"], **conventions}


def symbolic_values(hyper: dict) -> dict[str, float]:
    """Numeric hyperparameters under the symbolic rules' names (betas -> beta1, beta2)."""
    out = {k: float(v) for k, v in hyper.items() if not isinstance(v, (bool, tuple))}
    if "betas" in hyper:
        out["beta1"], out["beta2"] = map(float, hyper["betas"])
    return out


# -- the user's code ----------------------------------------------------------------------
def load(spec: str):
    """The callable named by ``package.module:factory`` or ``path/to/file.py:factory``."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise InputError(f"SPEC {spec!r} must be package.module:factory or path/to/file.py:factory")
    if where.endswith(".py") or "/" in where or os.sep in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise InputError(f"no such file: {where} (SPEC is path/to/file.py:factory)")
        name = "_ldyn_user_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        folder = os.path.dirname(path)
        sys.path.insert(0, folder)  # so the file can import the modules next to it
        try:
            module_spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:
            del sys.modules[name]
            raise InputError(f"importing {where} raised {_one_line(exc)}") from None
        finally:
            sys.path.remove(folder)
    else:
        if os.getcwd() not in sys.path:  # `ldyn` (a console script) does not put it there
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name and (where + ".").startswith(exc.name + "."):
                raise InputError(f"no module named {exc.name!r}: give an importable module, "
                                 f"or a file as path/to/file.py:{attr}") from None
            raise InputError(f"importing {where} raised {_one_line(exc)}") from None
        except (Exception, SystemExit) as exc:
            raise InputError(f"importing {where} raised {_one_line(exc)}") from None
        if getattr(module, "__file__", None) is None and hasattr(module, "__path__"):
            raise InputError(f"{where} is a directory, not a module: SPEC is package.module:factory or "
                             "path/to/file.py:factory")
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                           and getattr(v, "__module__", None) == module.__name__)
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise InputError(f"{where} has no attribute {attr!r}" + (f"; it defines {shown}" if names else ""))
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(f"{spec} is not callable (it is of type {type(obj).__name__}): give a factory returning "
                         "an optimizer (init, step) or a function step(params, grads, state)")
    return obj


def is_step_function(obj) -> bool:
    """A plain ``step(params, grads, state)``: exactly three positional parameters, no defaults."""
    if inspect.isclass(obj):
        return False
    try:
        ps = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return len(ps) == 3 and all(p.kind in kinds and p.default is p.empty for p in ps)


def implementation(obj, hyper: dict) -> Implementation:
    """The user's optimizer: ``obj(**hyper)``, or ``obj`` itself if it is a step function."""
    if is_step_function(obj):
        return Implementation("step function", lambda params: {}, obj)
    call = f"{getattr(obj, '__name__', 'factory')}({', '.join(f'{k}={v!r}' for k, v in hyper.items())})"
    try:
        inspect.signature(obj).bind(**hyper)
    except TypeError as exc:
        raise InputError(f"{call} fails ({exc}): the factory must accept the keywords {', '.join(hyper)}") from None
    except ValueError:  # no signature to check: call it and see
        pass
    try:
        opt = obj(**hyper)
    except (Exception, SystemExit) as exc:
        raise InputError(f"{call} raised {_one_line(exc)}") from None
    if not (callable(getattr(opt, "init", None)) and callable(getattr(opt, "step", None))):
        raise InputError(f"{call} returned an object of type {type(opt).__name__}, which lacks init(params) "
                         "and step(params, grads, state)")
    return Implementation("factory", opt.init, opt.step)


def verify(spec: str, rule: str, settings=(), steps: int = STEPS, seed: int = SEED, rtol: float = RTOL) -> dict:
    """Run the implementation named by ``spec`` against ``rule`` and its known variants (see module docstring)."""
    if not 1 <= steps <= 100_000:
        raise InputError(f"--steps must be between 1 and 100000, got {steps}")
    if seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    if not (np.isfinite(rtol) and 0 < rtol < 1):
        raise InputError(f"--rtol must be a number in (0, 1), e.g. 1e-9; got {rtol}")
    hyper, conv = parse_settings(rule, settings)
    with contextlib.redirect_stdout(sys.stderr):  # keep the user's prints out of our output
        impl = implementation(load(spec), hyper)
    from derive.rules import adaptive, conventions

    options, values = reference_options(rule, hyper, conv), symbolic_values(hyper)
    try:
        reference, variants = adaptive.RULES[rule](**options), conventions.variants(rule, options)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    probs = problems(steps, seed)
    for p, run in zip(probs, run_rule(reference, values, probs, steps)):
        finite = np.isfinite(run.params[1:]).all(axis=1)
        for v in run.state.values():
            finite &= np.isfinite(v).all(axis=1)
        if not finite.all():
            raise InputError(f"with these hyperparameters the reference {rule} overflows on test problem {p.name} "
                             f"at step {int(finite.argmin()) + 1}; choose a smaller lr (or fewer --steps)")
    var_rules = [(v, v.rule(rule)) for v in variants]
    keys = {*reference.state_names, *(s for _, r in var_rules for s in r.state_names)}
    with contextlib.redirect_stdout(sys.stderr), np.errstate(all="ignore"):
        got = [run_implementation(impl, p, steps, sorted(keys)) for p in probs]
    ref_runs = run_rule(reference, values, probs, steps, along=got)
    first, ref_agreed = _agreement(got, ref_runs, rtol, steps)
    if first is not None:
        first = {"problem": first["problem"], "problem_name": probs[first["problem"]].name,
                 **{k: v for k, v in first.items() if k != "problem"}}
    table = []
    for v, r in var_rules:
        runs = run_rule(r, v.hyperparameters(values), probs, steps, along=got)
        d, agreed = _agreement(got, runs, rtol, steps)
        table.append({"label": v.label, "description": v.description, "libraries": v.libraries,
                      "matches": d is None, "agreed_steps": agreed,
                      "same_as_reference": _agreement(runs, ref_runs, rtol, steps)[0] is None})
    likely = None
    if first is not None:
        matches = [t for t in table if t["matches"]]
        best = max(table, key=lambda t: t["agreed_steps"], default=None)
        if matches:
            likely = {**_cause(matches[0]), "kind": "match", "matches": [t["label"] for t in matches]}
        elif best is not None and best["agreed_steps"] > ref_agreed:
            likely = {**_cause(best), "kind": "closest", "matches": [], "agreed_steps": best["agreed_steps"]}
    return {"implementation": spec, "kind": impl.kind, "rule": rule, "reference": reference.title,
            "hyperparameters": {k: list(v) if isinstance(v, tuple) else v for k, v in hyper.items()},
            "conventions": options, "agree": first is None, "first_divergence": first,
            "reference_agreed_steps": ref_agreed, "likely_cause": likely, "variants": table,
            "steps": steps, "seed": seed, "problems": [p.to_json() for p in probs],
            "tolerance": {"rtol": rtol, "atol": f"{ATOL_FACTOR:g} * rtol * running max |expected| per coordinate"}}


def _cause(row: dict) -> dict:
    return {k: row[k] for k in ("label", "description", "libraries")}


def format_report(rep: dict) -> str:
    """The report as text: verdict, first divergence, likely cause, the variants table."""
    total = rep["steps"] * len(rep["problems"])
    hyper = " ".join(f"{k}={tuple(v) if isinstance(v, list) else v}" for k, v in rep["hyperparameters"].items())
    lines = [f"{rep['implementation']} ({rep['kind']}) vs {rep['reference']}, {TITLES[rep['rule']]}'s algorithm",
             ("hyperparameters: " if rep["kind"] == "factory" else "hyperparameters (of the reference only): ") + hyper,
             "conventions: " + " ".join(f"{k}={v}" for k, v in rep["conventions"].items()),
             f"{len(rep['problems'])} problems x {rep['steps']} steps (seed {rep['seed']}), your code closed-loop; "
             f"|got - expected| <= rtol*(|expected| + 1e-3*scale), rtol = {rep['tolerance']['rtol']:g}",
             f"agree: {'yes' if rep['agree'] else 'no'}"]
    d = rep["first_divergence"]
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
            lines.append("likely cause: no known convention explains it")
        else:
            head = "likely cause" if c["kind"] == "match" else \
                f"closest known convention (agrees for {c['agreed_steps']} of {total} steps)"
            lines.append(f"{head}: {c['label']}: {c['description']}" +
                         (f" [{c['libraries']}]" if c["libraries"] else ""))
            if len(c["matches"]) > 1:
                lines.append("  also matching: " + ", ".join(c["matches"][1:]))
    width = max([len("reference")] + [len(t["label"]) for t in rep["variants"]])
    lines += ["", f"{'variant':{width}s}  matches  steps agreed (of {total})",
              f"{'reference':{width}s}  {'yes' if rep['agree'] else 'no':7s}  {rep['reference_agreed_steps']}"]
    for t in rep["variants"]:
        note = "  (same as the reference on these problems)" if t["same_as_reference"] else ""
        lines.append(f"{t['label']:{width}s}  {'yes' if t['matches'] else 'no':7s}  {t['agreed_steps']}{note}")
    return "\n".join(lines)
