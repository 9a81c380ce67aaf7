"""``ldyn modified-equation``: the modified flow of GD on a user's loss, parsed safely."""
from __future__ import annotations

import sympy as sp

MAX_ORDER = 6
MAX_PARAMS = 6
DEFAULT_ORDER = 3
# The symbolic work grows steeply with the order, the number of parameters and the kind of
# loss.  Measured: the allowed maxima take under 20 s on e.g. (x*y*z - 1)**2/2 (order 3),
# (a*b*c*d*f - 1)**2/2 (order 2), (x*y - 1)**2/2 + sin(x)*y (order 2), 1/(1 + x**2 + y**2) (order 1).
MAX_ORDER_BY_PARAMS = {1: 6, 2: 4, 3: 3, 4: 3, 5: 2, 6: 1}
#: a rational loss with a parameter-dependent denominator, e.g. 1/(1 + x**2), is the costly
#: kind: 1/(1+x**2+y**2) takes 9 s at order 1 and minutes at order 2, and
#: 1/(1+x**2+y**2+z**2) minutes already at order 1
MAX_ORDER_RATIONAL = 1
MAX_PARAMS_RATIONAL = 2


def _has_denominator(expr: sp.Expr, params) -> bool:
    return not expr.is_polynomial(*params) and expr.is_rational_function(*params)


def _loss(loss_text: str, params_text: str | None):
    """The loss parsed safely (no eval) and within the sizes the derivations handle; ValueError otherwise."""
    from derive.expressions import parse_loss

    names = None if params_text is None else [p.strip() for p in params_text.split(",") if p.strip()]
    expr, params = parse_loss(loss_text, names)
    if any(p.name == "eta" for p in params):
        raise ValueError("'eta' is the step size; name the loss's parameters otherwise")
    if len(params) > MAX_PARAMS:
        raise ValueError(f"the loss has {len(params)} parameters; at most {MAX_PARAMS} are supported")
    if _has_denominator(expr, params) and len(params) > MAX_PARAMS_RATIONAL:
        raise ValueError(f"a rational loss with a parameter in a denominator is supported for at most "
                         f"{MAX_PARAMS_RATIONAL} parameters, this one has {len(params)} (its derivation takes minutes)")
    return expr, params


def max_order(expr: sp.Expr, params) -> tuple[int, str]:
    """The highest --order allowed for ``expr`` in ``params``, and the kind of loss that sets it."""
    from derive.analysis.modified_equation import MAX_TRANSCENDENTAL_ORDER

    n = len(params)
    limit, kind = MAX_ORDER_BY_PARAMS[n], f"a polynomial loss of {n} parameter(s)"
    if not expr.is_polynomial(*params):
        if _has_denominator(expr, params):
            kind, cap = f"a rational loss of {n} parameter(s) (a parameter in a denominator)", MAX_ORDER_RATIONAL
        else:
            kind, cap = f"a loss of {n} parameter(s) with transcendental functions", MAX_TRANSCENDENTAL_ORDER
        limit = min(limit, cap)
    return limit, kind


def report(loss_text: str, params_text: str | None, order: int | None = None) -> dict:
    """Parse the loss (no eval), derive and check the modified equation up to η^order.

    ``order=None`` means ``DEFAULT_ORDER`` (3), lowered to :func:`max_order` of the loss.
    Bad input (the loss, the names, an order above :func:`max_order`, more than
    ``MAX_PARAMS`` parameters) raises ValueError; a derivation that does not check is a
    fault of this code, not of the input, and raises RuntimeError."""
    from derive.expressions import parse_loss
    from derive.analysis.modified_equation import modified_equation

    if order is not None and not 1 <= order <= MAX_ORDER:
        raise ValueError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    expr, params = _loss(loss_text, params_text)
    limit, kind = max_order(expr, params)
    if order is None:
        order = min(DEFAULT_ORDER, limit)
    if order > limit:
        by_params = ", ".join(f"{v} for {k}" for k, v in MAX_ORDER_BY_PARAMS.items())
        raise ValueError(f"--order {order} is too high for {kind}: at most {limit} (the limits, by number of "
                         f"parameters: {by_params}; lower for non-polynomial losses)")
    d = modified_equation(expr, params, order)
    check = d.check()
    if not check.ok:
        bad = [s for s in check.steps if not s.ok]
        raise RuntimeError(f"the derivation of the modified equation did not check: {bad[0].step.reason} "
                           f"({bad[0].status}); please report this loss")
    fields = d.results["fields"]
    return {"loss": sp.sstr(expr), "params": [p.name for p in params], "order": order,
            "vector_field": [sp.sstr(e) for e in d.results["vector_field"]],
            "fields": [[sp.sstr(e) for e in f] for f in fields],
            "modified_loss": sp.sstr(d.results["modified_loss"]),
            "check": check.summary(), "latex": d.to_latex(check)}


def format_report(rep: dict) -> str:
    lines = [f"loss L({', '.join(rep['params'])}) = {rep['loss']}",
             f"GD with step eta follows, up to O(eta^{rep['order'] + 1}), the flow theta' = f0 + eta f1 + ...:"]
    for n, f in enumerate(rep["fields"]):
        for p, e in zip(rep["params"], f):
            lines.append(f"  f{n}[{p}] = {e}")
    lines.append(f"first-order modified loss: L + eta/4 |grad L|^2 = {rep['modified_loss']}")
    lines.append(f"checked by SymPy: {rep['check']}")
    return "\n".join(lines)


# -- any rule: ``ldyn modified-equation --rule SPEC`` ------------------------------------------------

#: highest --order for a rule with buffers (the slow manifold to eta^(K+1) grows fast)
MAX_STATE_ORDER = 2
#: default --order for a rule with buffers (one-step rules use DEFAULT_ORDER, capped like GD)
DEFAULT_STATE_ORDER = 1


def parse_sets(items) -> dict:
    """``["beta=0.9", ...]`` -> {"beta": Rational(9, 10)}: exact numbers (0.9 is 9/10), ValueError otherwise."""
    out = {}
    for item in items or []:
        key, sep, text = str(item).partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key or not text:
            raise ValueError(f"--set takes KEY=VALUE (e.g. --set momentum=0.9), got {item!r}")
        try:
            value = sp.Rational(text)
        except (TypeError, ValueError):
            raise ValueError(f"--set {key}: {text!r} is not a finite number") from None
        if key in out:
            raise ValueError(f"--set {key} given twice")
        out[key] = value
    return out


def check_sets(rule, values: dict) -> None:
    """Each fixed hyperparameter is one of the rule's and in its mathematical range (ValueError otherwise),
    by the same rules as ``ldyn stability`` (:func:`verify.stability_regimes.check_hyper`)."""
    from verify.stability_regimes import check_hyper

    for key, value in values.items():
        if key == "lr":
            raise ValueError("lr stays symbolic (eta): set only the other hyperparameters")
        if key not in rule.hyper:
            raise ValueError(f"{rule.name}: unknown hyperparameter {key!r}; it takes "
                             f"{', '.join(k for k in rule.hyper if k != 'lr')} (lr stays symbolic)")
        check_hyper(rule, key, float(value), f"--set {key}")


def rule_report(spec: str, loss_text: str, params_text: str | None, order: int | None = None,
                sets=None) -> dict:
    """The modified equation of the rule ``spec`` (catalogue name or .rule file) on a user loss.

    Time t = k*lr; lr stays symbolic (eta); ``sets`` (``KEY=VALUE`` strings) fix other hyperparameters,
    the rest stay symbolic.  Keys as :func:`report` (``vector_field``, ``fields``, ``modified_loss``:
    null unless the field is a gradient) plus ``rule``, ``hyperparameters``, ``time``,
    ``time_scale`` s and ``regularizer`` R (f0 + eta f1 = -s grad(L + R)), ``slow_manifold``, ``notes``.
    Bad input raises ValueError (RuleNotFound, a KeyError, is turned into one)."""
    from derive.analysis.modified_equation import rule_modified_equation
    from derive.analysis.slow_manifold import lift
    from derive.expressions import parse_loss
    from derive.rules.library import RuleNotFound, resolve

    if order is not None and not 1 <= order <= MAX_ORDER:
        raise ValueError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    try:
        rule = resolve(spec)
    except RuleNotFound as exc:
        raise ValueError(str(exc)) from None
    values = parse_sets(sets)
    check_sets(rule, values)
    expr, params = _loss(loss_text, params_text)
    limit, kind = max_order(expr, params)
    stateful = len(rule.state) - (rule.counter is not None) > 1
    if stateful and MAX_STATE_ORDER < limit:
        limit, kind = MAX_STATE_ORDER, f"a rule with buffers ({rule.name}: the slow manifold grows fast)"
    if order is None:
        order = min(DEFAULT_STATE_ORDER if stateful else DEFAULT_ORDER, limit)
    if order > limit:
        raise ValueError(f"--order {order} is too high for {kind}: at most {limit}")
    notes = lift(rule, expr, params, values).notes  # cheap; raises the same input errors as the derivation
    d = rule_modified_equation(rule, expr, params, order, values=values)
    check = d.check()
    if not check.ok:
        bad = [s for s in check.steps if not s.ok]
        raise RuntimeError(f"the derivation of the modified equation did not check: {bad[0].step.reason} "
                           f"({bad[0].status}); please report this rule and loss")
    r = d.results
    if any(e.has(sp.Abs, sp.sign) for f in r["fields"] for e in f):
        notes.append("|.| appears on the slow manifold (sqrt of a square, e.g. Adam's second moment): the field "
                     "is smooth, and the expansion valid, only where no gradient component vanishes")
    text = lambda e: None if e is None else sp.sstr(e)  # noqa: E731
    return {"rule": rule.name, "loss": sp.sstr(expr), "params": [p.name for p in params], "order": order,
            "hyperparameters": {k: sp.sstr(v) for k, v in values.items()},
            "time": "t = k*lr (k steps of size lr = eta)",
            "vector_field": [sp.sstr(e) for e in r["vector_field"]],
            "fields": [[sp.sstr(e) for e in f] for f in r["fields"]],
            "time_scale": text(r.get("time_scale")), "regularizer": text(r.get("regularizer")),
            "modified_loss": text(r.get("modified_loss")),
            "slow_manifold": {b.name: sp.sstr(v) for b, v in zip(r.get("buffers", []), r.get("slow_manifold", []))},
            "notes": notes, "check": check.summary(), "latex": d.to_latex(check)}


def format_rule_report(rep: dict) -> str:
    fixed = ", ".join(f"{k}={v}" for k, v in rep["hyperparameters"].items())
    lines = [f"rule {rep['rule']}" + (f" ({fixed})" if fixed else "") + f" on L({', '.join(rep['params'])}) = "
             f"{rep['loss']}",
             f"follows, up to O(eta^{rep['order'] + 1}) and in time t = k*lr, the flow theta' = f0 + eta f1 + ...:"]
    for b, v in rep["slow_manifold"].items():
        lines.append(f"  (slow manifold) {b} = {v}")
    for n, f in enumerate(rep["fields"]):
        for p, e in zip(rep["params"], f):
            lines.append(f"  f{n}[{p}] = {e}")
    if rep["time_scale"] is not None:
        lines.append(f"f0 = -s grad L with time scale s = {rep['time_scale']}")
    if rep["regularizer"] is not None:
        lines.append(f"f0 + eta f1 = -s grad(L + R) with R = {rep['regularizer']}")
    for note in rep["notes"]:
        lines.append(f"note: {note}")
    lines.append(f"checked by SymPy: {rep['check']}")
    return "\n".join(lines)


def flow_gap(rule, loss: sp.Expr, params, values: dict, etas, t_final: float, theta0, order: int = 1) -> dict:
    """Run the lambdified rule (``rule.numpy_map``) for t_final/eta steps from θ0 with its buffers ON
    the derived slow manifold, and integrate each truncated modified flow f0 + ... + eta^p f_p
    (p = 0..order) with ``scipy.integrate.solve_ivp`` (rtol 1e-12) to t_final.  Returns
    {"gaps": {p: [|θ_k − Θ(t_final)| per eta]}, "ratios": {p: [gap(eta_i)/gap(eta_{i+1})]}}: a field
    correct to O(eta^p) gives gaps O(eta^(p+1)), so halving eta divides them by ~2^(p+1)."""
    import numpy as np
    from scipy.integrate import solve_ivp

    from derive.analysis.modified_equation import eta as eta_sym
    from derive.analysis.modified_equation import rule_modified_equation

    d = rule_modified_equation(rule, loss, params, order, values=values)
    fields = d.results["fields"]
    slow = dict(zip(d.results.get("buffers", []), d.results.get("slow_manifold", [])))
    grad = sp.lambdify([params], [sp.diff(loss, p) for p in params], "numpy")
    grad_fn = lambda th: np.asarray(grad(th), dtype=float)  # noqa: E731
    theta0 = np.asarray(theta0, dtype=float)
    n, m = len(params), len(rule.state) - 1
    buffers = list(slow)
    vfun = sp.lambdify([eta_sym, *params], [slow[b] for b in buffers], "numpy") if buffers else None
    floats = {k: float(v) for k, v in values.items()}
    gaps = {p: [] for p in range(order + 1)}
    for e in etas:
        step = rule.numpy_map(grad_fn, lr=e, **floats)
        state = [theta0.copy()]
        if vfun is not None:
            v0 = np.asarray(vfun(e, *theta0), dtype=float)
            state += [np.array([v0[i * m + k] for i in range(n)]) for k in range(m)]
        for _ in range(int(round(t_final / e))):
            state = list(step(*state))
        for p in range(order + 1):
            vf = [sum((fields[c][i] * eta_sym**c for c in range(p + 1)), sp.S.Zero) for i in range(n)]
            fn = sp.lambdify([eta_sym, *params], vf, "numpy")
            sol = solve_ivp(lambda t, y: np.asarray(fn(e, *y), dtype=float), (0.0, t_final), theta0,
                            method="DOP853", rtol=1e-12, atol=1e-14)
            gaps[p].append(float(np.linalg.norm(state[0] - sol.y[:, -1])))
    ratios = {p: [g[i] / g[i + 1] for i in range(len(g) - 1)] for p, g in gaps.items()}
    return {"gaps": gaps, "ratios": ratios}


# -- limits: ``ldyn modified-equation --time-limit`` ---------------------------------------------------

#: default wall-clock budget (seconds) of ``ldyn modified-equation``: parsing, derivation and check
DEFAULT_TIME_LIMIT = 60.0
#: the memory ceiling of the child process doing the work: this much address space (MiB) on top of
#: what the CLI process had mapped when it forked (RLIMIT_AS); beyond it the work fails with MemoryError
MEMORY_CEILING_MB = 3072


class OutOfTime(Exception):
    """The work did not finish within its time limit (the child process was killed)."""


class OutOfMemory(ValueError):
    """The work needed more memory than its ceiling (bad input: a loss too large for the derivation)."""


def check_time_limit(seconds) -> float:
    """``--time-limit``: a finite number > 0 (ValueError otherwise)."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"--time-limit takes a number of seconds (e.g. --time-limit 60), got {seconds!r}") from None
    if not (value > 0 and value < float("inf")):
        raise ValueError(f"--time-limit must be a finite number of seconds > 0, got {seconds}")
    return value


def _mapped_bytes() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _child(func, args, memory_mb: int, w: int) -> None:  # pragma: no cover - runs in the forked child
    import os
    import pickle
    import resource
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills this process
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
    except (OSError, AttributeError):
        pass
    base = _mapped_bytes()
    if base is not None and memory_mb:
        limit = base + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        out = ("ok", func(*args))
    except MemoryError:
        out = ("memory", "")
    except RecursionError:
        out = ("value", "the loss is nested too deeply for the derivation (recursion limit)")
    except ValueError as exc:
        out = ("value", str(exc))
    except RuntimeError as exc:
        out = ("runtime", str(exc))
    except BaseException as exc:  # noqa: BLE001 - reported as one line by the parent
        out = ("internal", f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    try:
        data = pickle.dumps(out)
    except MemoryError:
        data = pickle.dumps(("memory", ""))
    with os.fdopen(w, "wb") as f:
        f.write(data)


def run_limited(func, args=(), seconds: float = DEFAULT_TIME_LIMIT, memory_mb: int = MEMORY_CEILING_MB):
    """``func(*args)`` in a forked child process under a wall-clock limit and a memory ceiling.

    Returns its result; re-raises its ValueError (bad input) and RuntimeError (our fault) with the same
    message; raises :class:`OutOfTime` after ``seconds`` (the child is killed, whatever it was doing --
    even a long computation inside C code, which no signal handler interrupts) and :class:`OutOfMemory`
    when it needs more than ``memory_mb`` MiB beyond what was mapped at the fork.  Without ``os.fork``
    (not POSIX) it runs ``func`` in this process, unlimited."""
    import os
    import pickle
    import select
    import signal
    import time

    seconds = check_time_limit(seconds)
    if not hasattr(os, "fork"):
        return func(*args)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(r)
            _child(func, args, memory_mb, w)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    deadline, chunks, finished = time.monotonic() + seconds, [], False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OutOfTime(seconds)
            ready, _, _ = select.select([r], [], [], min(left, 3600.0))
            if ready:
                chunk = os.read(r, 1 << 20)
                if not chunk:
                    finished = True
                    break
                chunks.append(chunk)
    finally:
        os.close(r)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    try:
        kind, value = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - no (or a cut) answer: the child died
        how = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exited with code {os.WEXITSTATUS(status)}")
        raise OutOfMemory(f"the derivation stopped without an answer: its process {how} (most likely it ran "
                          f"out of its {memory_mb} MiB memory ceiling); give a lower --order or a simpler loss") from None
    if kind == "ok":
        return value
    if kind == "memory":
        raise OutOfMemory(f"the derivation needed more than its {memory_mb} MiB memory ceiling; give a lower "
                          "--order or a simpler loss")
    if kind == "value":
        raise ValueError(value)
    raise RuntimeError(value)
