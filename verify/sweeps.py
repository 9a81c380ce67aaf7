"""``ldyn sweep``: a control-parameter sweep (numeric.sweep) with the symbolic prediction overlaid.

The learners are :mod:`numeric.models.learners`; the predictions come from derive/:

* ``lr``, ``momentum``, ``weight_decay`` on ``least-squares``: heavy ball (μ = 0 is GD) is stable iff
  λ(H) + wd < (2 + 2μ)/η (``derive.analysis.momentum_limits.critical_sharpness``), solved for the swept
  parameter with each seed's λ_max;
* the same on ``two-layer`` with λ_max at θ₀: a linear-stability statement about the start of training
  (where the loss starts to rise); real divergence can come later (the catapult phase);
* ``weight_decay`` on ``two-layer``: the collapse of the weights at wd = ‖E[y x]‖
  (``derive.theories.phase.weight_decay_pitchfork``), each seed's training sample;
* ``noise`` on ``least-squares`` (μ = wd = 0): no transition, but the stationary excess loss
  Σ_i ησ²/(2(2 − ηλ_i)) (``derive.theories.phase.noisy_gd_stationary``).

``ldyn sweep --scheduler ADDRESS`` runs the tasks on a Dask cluster (:func:`executor_for`; Dask is the optional
extra ``learning-dynamics[dask]``, and every worker needs this package installed to import the learners).
"""
from __future__ import annotations

import contextlib
import functools
import json
import math
import warnings

import numpy as np

LEARNERS = ("least-squares", "two-layer")
CONTROLS = ("lr", "momentum", "weight_decay", "noise")
ORDERS = ("final_loss", "grad_norm", "sharpness", "weight_norm")
#: the largest sweep ``ldyn sweep`` and :func:`run` accept (ValueError before anything runs): the size of
#: one run (two-layer: parameters d*width + width, its Hessian is built by finite differences) and the
#: total training steps, values x seeds x steps; grid values, seeds and runs: numeric.sweep.MAX_*
LIMITS = {"steps": 1_000_000, "n": 100_000, "d": 1_000, "width": 1_000, "n*d": 10_000_000, "parameters": 2_000,
          "total_steps": 100_000_000}
#: the learners' own defaults (numeric.models.learners), repeated here for the report
DEFAULTS = {"least-squares": {"lr": 1.0, "momentum": 0.0, "weight_decay": 0.0, "noise": 0.0, "steps": 400},
            "two-layer": {"lr": 0.5, "momentum": 0.0, "weight_decay": 0.0, "noise": 0.0, "steps": 2000}}


def learner(name: str, control: str, fixed: dict | None = None) -> functools.partial:
    """The picklable ``learner(value, seed)`` of :mod:`numeric.models.learners` with ``fixed`` hyperparameters."""
    from numeric.models import learners

    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; known: {', '.join(LEARNERS)}")
    if control not in CONTROLS:
        raise ValueError(f"unknown control parameter {control!r}; known: {', '.join(CONTROLS)}")
    kw = {**DEFAULTS[name], **(fixed or {})}
    kw.pop(control, None)
    return functools.partial(_function(name), control=control, **kw)


def _function(name: str):
    from numeric.models import learners

    return learners.least_squares if name == "least-squares" else learners.two_layer


def indicator(name: str, control: str) -> tuple[str | None, bool]:
    """The boolean order parameter whose switch is the transition, and whether it rises with the control."""
    if control == "noise":
        return None, True
    if name == "two-layer" and control == "weight_decay":
        return "collapsed", True
    return "diverged", control != "momentum"


def flag(value: float, seed: int, learner, name: str) -> bool:
    """The boolean order parameter ``name`` of one run (picklable with functools.partial, for
    :func:`numeric.sweep.locate`)."""
    return learner(value, seed)[name] > 0.5


@functools.lru_cache(maxsize=1)
def pitchfork():
    """``derive.theories.phase.weight_decay_pitchfork()``, built once per process."""
    from derive.theories import phase

    return phase.weight_decay_pitchfork()


@functools.lru_cache(maxsize=1)
def _critical():
    from derive.analysis import momentum_limits as ml

    return ml.critical_sharpness().results["heavy_ball"], ml.eta, ml.beta


def stability_boundary(control: str, lam: float, hyper: dict) -> float:
    """The value of ``control`` at which heavy ball's critical sharpness (2 + 2β)/η equals λ + wd."""
    import sympy as sp

    crit, eta, beta = _critical()
    wd_sym = sp.Symbol("wd", real=True)
    values = {eta: hyper["lr"], beta: hyper["momentum"], wd_sym: hyper["weight_decay"]}
    unknown = {"lr": eta, "momentum": beta, "weight_decay": wd_sym}[control]
    eq = sp.Eq(crit, lam + wd_sym)
    sols = [s for s in sp.solve(eq, unknown)]
    if len(sols) != 1:
        raise RuntimeError(f"expected one solution of {eq} for {unknown}, got {sols}")
    return float(sols[0].subs({k: v for k, v in values.items() if k != unknown}))


def prediction(name: str, control: str, fixed: dict | None, seeds, sweep=None) -> dict | None:
    """The derived transition per seed (or, for ``noise``, the stationary-loss curve), with its source."""
    from numeric.models import learners

    hyper = {**DEFAULTS[name], **(fixed or {})}
    seeds = [int(s) for s in seeds]
    if control == "noise":
        if name != "least-squares" or hyper["momentum"] or hyper["weight_decay"]:
            return None
        from derive.theories import phase
        import sympy as sp

        d = phase.noisy_gd_stationary()
        f = sp.lambdify((phase.eta, phase.sigma, phase.lam), d.results["excess_loss"], "numpy")
        spectra = [np.linalg.eigvalsh(_ls_hessian(s, hyper)) for s in seeds]
        return {"kind": "curve", "what": "stationary excess loss sum_i eta sigma^2 / (2 (2 - eta lambda_i))",
                "source": "derive.theories.phase.noisy_gd_stationary",
                "curve": lambda sig, k: float(np.sum(f(hyper["lr"], sig, spectra[k])))}
    if name == "two-layer" and control == "weight_decay":
        from derive.theories import phase

        d = pitchfork()
        per = []
        for s in seeds:
            X, y = learners.teacher_data(hyper.get("n", 64), hyper.get("d", 4), s, hyper.get("teacher_seed", 0))
            per.append(float(d.results["critical_weight_decay"].subs(phase.cn, np.linalg.norm(X.T @ y / len(y)))))
        return {"kind": "transition", "what": "|E[y x]| (weights collapse to 0 above it)",
                "source": "derive.theories.phase.weight_decay_pitchfork", "per_seed": per}
    if name == "least-squares":
        lams = [float(np.linalg.eigvalsh(_ls_hessian(s, hyper))[-1]) for s in seeds]
        where = "lambda_max(X^T X / n)"
    else:
        if sweep is None:
            return None
        lams = [float(np.nanmean(sweep.orders["sharpness0"][:, k])) for k in range(len(seeds))]
        where = "lambda_max at theta_0 (the start of the instability; divergence can come later: catapult)"
    per = [stability_boundary(control, lam, hyper) for lam in lams]
    out = {"kind": "transition", "what": f"lambda + wd = (2 + 2 mu)/eta with lambda = {where}",
           "source": "derive.analysis.momentum_limits.critical_sharpness", "per_seed": per}
    lo, hi = {"lr": (0.0, math.inf), "momentum": (0.0, 1.0), "weight_decay": (0.0, math.inf)}[control]
    outside = [int(s) for s, v in zip(seeds, per) if not lo < v < hi]
    if outside:
        out["note"] = (f"for seeds {outside} the derived boundary lies outside ({lo:g}, {hi:g}): heavy ball is then "
                       f"{'stable' if control == 'momentum' and min(per) <= 0 else 'unstable'} for every admissible "
                       f"{control}")
    return out


def _ls_hessian(seed: int, hyper: dict) -> np.ndarray:
    from numeric.models import learners

    X, _ = learners.least_squares_data(seed, hyper.get("n", 256), hyper.get("d", 8))
    return X.T @ X / X.shape[0]


#: seconds :func:`executor_for` waits to reach a Dask scheduler, and then for its first worker
CONNECT_SECONDS = 5.0


def check_address(address) -> str:
    """A Dask scheduler address as ``--scheduler`` takes it: ``[scheme://]host:port``, one line, printable."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError(f"--scheduler: give the Dask scheduler's address as tcp://HOST:PORT, got {address!r}")
    if len(address) > 500 or not address.isprintable() or any(c.isspace() for c in address):
        raise ValueError(f"--scheduler: not an address (at most 500 printable characters, no spaces): "
                         f"{address[:60]!r}")
    return address


def _refused(address: str, timeout: float) -> str | None:
    """For a tcp address: why a plain socket cannot connect (refused, no such host, ...) or None if it can, so
    that a dead address fails at once instead of after Dask's retries."""
    import socket

    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    scheme, loc = parse_address(address)
    if scheme != "tcp":
        return None
    host, port = parse_host_port(loc)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


def _identity(address: str, timeout: float) -> dict:
    """The scheduler's answer to Dask's ``identity`` request, over one short-lived connection on a private event
    loop: a server that is not a Dask scheduler fails here, before a Client exists (a Client whose constructor
    fails lingers until exit and then prints a traceback while it times out)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def ask():
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()

    # in a thread of its own, so that this works under a running event loop too (Jupyter); the deadline covers
    # the handshake, which has none of its own
    with ThreadPoolExecutor(max_workers=1) as thread:
        reply = thread.submit(asyncio.run, asyncio.wait_for(ask(), timeout)).result()
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise RuntimeError(f"the server there is not a Dask scheduler (it answered {str(reply)[:80]!r})")
    return reply


@contextlib.contextmanager
def executor_for(address: str, timeout: float = CONNECT_SECONDS):
    """The concurrent.futures executor of a Dask cluster: connects a ``dask.distributed.Client`` to the
    scheduler at ``address`` (``tcp://HOST:PORT`` or ``HOST:PORT``), waits for one worker, yields
    ``client.get_executor()`` for :func:`numeric.sweep.sweep`'s ``executor=``, and closes the client after
    (the cluster keeps running). Dask not installed, a malformed or unreachable address, something that is
    not a Dask scheduler, or no worker within ``timeout`` seconds: a one-line ValueError."""
    address = check_address(address)
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs dask.distributed: pip install 'learning-dynamics[dask]'") from None
    try:
        why = _refused(address, timeout)
    except (ValueError, TypeError) as exc:  # missing port, unknown scheme, ...
        raise ValueError(f"--scheduler {address!r}: {exc}") from None
    if why is not None:
        raise ValueError(f"--scheduler {address!r}: cannot connect ({why})")
    try:
        _identity(address, timeout)
        client = Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # timeouts, a server that is not a Dask scheduler (garbage frames), TLS config, ...
        msg = " ".join(str(exc).split())[:200] or type(exc).__name__
        if isinstance(exc, (OSError, TimeoutError)):  # asyncio's and Dask's timeouts are TimeoutError
            raise ValueError(f"--scheduler {address!r}: no Dask scheduler answered within {timeout:g} s "
                             f"({msg})") from None
        raise ValueError(f"--scheduler {address!r}: cannot talk to a Dask scheduler there "
                         f"({type(exc).__name__}: {msg})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception:
            raise ValueError(f"--scheduler {address!r}: the scheduler has no workers (none joined within "
                             f"{timeout:g} s)") from None
        yield client.get_executor()
    finally:
        client.close()


def run(name: str, control: str, values, seeds=5, fixed: dict | None = None, workers: int | None = None,
        progress=None, scale: str = "linear", executor=None) -> dict:
    """Sweep, locate the transition, overlay the prediction: a JSON-ready report (and the raw sweep under
    ``_sweep``). Hyperparameters are validated before any run (ValueError). ``executor``: run the tasks on
    that concurrent.futures.Executor instead of ``workers`` processes (e.g. :func:`executor_for`'s)."""
    from numeric.models import learners
    from numeric import sweep as sweep_mod

    func = learner(name, control, fixed)
    values = sweep_mod._values(values)
    budget(name, len(values), seeds, func.keywords)
    learners.check(func.func, control, np.asarray(values, dtype=float),
                   **{k: v for k, v in func.keywords.items() if k != "control"})
    if executor is not None:
        sweep_mod.check_executor(executor, workers)
    sw = sweep_mod.sweep(func, values, seeds, control=control, workers=workers, progress=progress,
                         executor=executor)
    ind, rising = indicator(name, control)
    report = {"learner": name, "control": control, "fixed": {**DEFAULTS[name], **(fixed or {})},
              "sweep": sw.to_json(), "indicator": ind, "rising": rising,
              "non_finite_seeds": _non_finite(sw, [k for k in ORDERS if k in sw.orders]).tolist()}
    report["fixed"].pop(control, None)
    if ind is not None:
        try:
            report["transition"] = sweep_mod.transition(sw, ind, scale=scale, rising=rising).to_json()
        except ValueError as exc:
            report["transition"] = None
            report["transition_error"] = str(exc)
    pred = prediction(name, control, fixed, sw.seeds, sw)
    if pred is None:
        report["prediction"] = None
        report["prediction_note"] = (f"no derived prediction for {control} on {name}" +
                                     (" unless momentum = weight_decay = 0" if control == "noise" and
                                      name == "least-squares" else ""))
    elif pred["kind"] == "transition":
        mean, ci = sweep_mod.t_interval(pred["per_seed"])
        report["prediction"] = {k: pred[k] for k in ("what", "source", "per_seed")} | {"mean": mean, "ci": ci}
        if "note" in pred:
            report["prediction"]["note"] = pred["note"]
        t = report.get("transition")
        if t:
            report["paired"] = paired(t, pred["per_seed"], sw.seeds)
    else:
        curve = np.array([[pred["curve"](v, k) for k in range(len(sw.seeds))] for v in sw.values])
        report["prediction"] = {"what": pred["what"], "source": pred["source"], "curve": curve.tolist()}
    report["_sweep"] = sw
    return report


def budget(name: str, num_values: int, seeds, hyper: dict) -> None:
    """Refuse, before anything is allocated or run, a sweep beyond :data:`LIMITS` or numeric.sweep's grid
    limits, and a negative or non-integer ``teacher_seed`` (ValueError, one line)."""
    from numeric import sweep as sweep_mod

    runs = num_values * sweep_mod._seeds(seeds).size
    if runs > sweep_mod.MAX_RUNS:
        raise ValueError(f"at most {sweep_mod.MAX_RUNS:,} runs (values x seeds), got {runs:,}")
    f = {**DEFAULTS[name], "width": 8, **dict(zip(("n", "d"), (256, 8) if name == "least-squares" else (64, 4))),
         **hyper}
    sizes = {k: f[k] for k in ("steps", "n", "d", "width")} | {"n*d": f["n"] * f["d"], "parameters": (
        f["d"] + 1) * f["width"] if name == "two-layer" else 0, "total_steps": runs * f["steps"]}
    for key, v in sizes.items():
        if isinstance(v, (int, np.integer)) and v > LIMITS[key]:
            raise ValueError(f"{key} = {v:,} is above the limit {LIMITS[key]:,}" + (
                " (values x seeds x steps)" if key == "total_steps" else " (d*width + width)" if key == "parameters"
                else ""))
    ts = f.get("teacher_seed", 0)
    if not isinstance(ts, (int, np.integer)) or isinstance(ts, bool) or ts < 0:
        raise ValueError(f"teacher_seed must be a non-negative integer, got {ts!r}")
    if not math.isfinite(float(f.get("init", 1.0))):
        raise ValueError(f"init must be a finite number, got {f.get('init')!r}")


def _non_finite(sw, names) -> np.ndarray:
    """Per value: the number of seeds with a non-finite result in any of the order parameters ``names``."""
    bad = np.zeros((len(sw.values), len(sw.seeds)), dtype=bool)
    for n in names:
        bad |= ~np.isfinite(np.asarray(sw.orders[n], dtype=float))
    return bad.sum(axis=1)


def paired(t: dict, derived, seeds) -> dict:
    """Measured minus derived transition, seed by seed (the seed-to-seed spread of both cancels): the
    differences, their mean with a t-interval, the largest |difference| and the grid half-width it is
    to be read against."""
    from numeric.sweep import t_interval

    pos = {int(s): k for k, s in enumerate(seeds)}
    diff = [m - derived[pos[int(s)]] for m, s in zip(t["per_seed"], t["seeds"])]
    mean, ci = t_interval(diff)
    return {"seeds": list(t["seeds"]), "difference": diff, "mean": mean, "ci": ci,
            "max_abs": float(np.max(np.abs(diff))), "resolution": t["resolution"]}


def format_report(rep: dict) -> str:
    sw = rep["_sweep"]
    names = [k for k in ORDERS if k in sw.orders] + ([rep["indicator"]] if rep["indicator"] else [])
    where = (f"on {sw.executor}" if sw.executor is not None else
             f"{sw.workers} process{'es' if sw.workers > 1 else ''}")
    lines = [f"{rep['learner']}: sweep of {rep['control']} over {len(sw.values)} values x {len(sw.seeds)} seeds "
             f"({where}, {sw.seconds:.1f} s); mean over seeds "
             "of the finite results (a seed with non-finite ones is counted as diverged):",
             f"{rep['control']:>12s} " + " ".join(f"{n:>12s}" for n in names)]
    bad, n_seeds = _non_finite(sw, names), len(sw.seeds)
    for i, v in enumerate(sw.values):
        k = int(bad[i])
        cols = [np.asarray(sw.orders[n][i], dtype=float) for n in names]
        cells = [f"{np.mean(c[np.isfinite(c)]):12.5g}" if np.isfinite(c).any() else f"{'-':>12s}" for c in cols]
        note = "" if not k else f"  diverged in {k} of {n_seeds} seeds"
        lines.append(f"{v:12.6g} " + " ".join(cells) + note)
    t, p = rep.get("transition"), rep.get("prediction")
    if rep["indicator"]:
        if t:
            spread = (f"{int(t['level'] * 100)}% t-interval over {len(t['per_seed'])} seeds: +-{t['ci']:.2g}"
                      if len(t["per_seed"]) > 1 else "one seed: no interval")
            lines.append(f"transition of {rep['indicator']} ({'rising' if rep['rising'] else 'falling'}): "
                         f"{t['estimate']:.6g} +- {t['error']:.2g} ({spread}; grid half-width {t['resolution']:.2g})")
            for key in ("non_monotone", "unbracketed"):
                if t[key]:
                    lines.append(f"  seeds {key.replace('_', '-')}: {t[key]}")
        else:
            lines.append(f"no transition located: {rep.get('transition_error')}")
    if p is None:
        lines.append(rep["prediction_note"])
    elif "per_seed" in p:
        lines.append(f"derived ({p['source']}): {p['mean']:.6g} +- {p['ci']:.2g} over seeds, from {p['what']}")
        if "note" in p:
            lines.append(f"  note: {p['note']}")
        if rep.get("paired"):
            r = rep["paired"]
            verdict = ("within the grid half-width" if r["max_abs"] <= r["resolution"] else
                       f"larger than the grid half-width {r['resolution']:.2g}")
            lines.append(f"measured - derived, paired by seed: {r['mean']:.3g} +- {r['ci']:.2g}; largest "
                         f"|difference| {r['max_abs']:.3g}, {verdict}")
    else:
        lines.append(f"derived ({p['source']}): {p['what']}; per value, mean over seeds:")
        curve = np.mean(np.array(p["curve"]), axis=1)
        excess = sw.orders["final_loss"] - sw.orders["min_loss"]
        for i, (v, c) in enumerate(zip(sw.values, curve)):
            k = int(np.sum(~np.isfinite(excess[i])))
            fin = excess[i][np.isfinite(excess[i])]
            measured = f"measured excess loss {np.mean(fin):.5g}" if fin.size else "no measured excess loss"
            lines.append(f"  {rep['control']} = {v:.4g}: {measured}, derived {c:.5g}"
                         + (f" (diverged in {k} of {len(sw.seeds)} seeds)" if k else ""))
    return "\n".join(lines)


def figure(rep: dict):
    """Order parameters (mean ± sd over seeds) against the control, the located transition shaded,
    the derived prediction as a line."""
    from verify.figures.backend import _plt

    plt = _plt()
    sw = rep["_sweep"]
    names = [k for k in ORDERS if k in sw.orders]
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.4))
    t, p = rep.get("transition"), rep.get("prediction")
    for ax, n in zip(axes, names):
        y = np.where(np.isfinite(sw.orders[n]), sw.orders[n], np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ax.errorbar(sw.values, np.nanmean(y, axis=1), yerr=np.nanstd(y, axis=1), fmt="o-", ms=3, capsize=2)
        if t:
            ax.axvspan(t["estimate"] - t["error"], t["estimate"] + t["error"], color="tab:red", alpha=0.2,
                       label="measured transition")
        if p and "per_seed" in p:
            ax.axvline(p["mean"], color="black", ls="--", lw=1, label="derived")
        if p and "curve" in p and n == "final_loss":
            ax.plot(sw.values, np.mean(np.array(p["curve"]), axis=1) + np.mean(sw.orders["min_loss"], axis=1),
                    "k--", lw=1, label="derived stationary loss")
        ax.set_xlabel(rep["control"])
        ax.set_title(n.replace("_", " "), fontsize=9)
        if n in ("final_loss", "grad_norm") and np.nanmin(y) > 0:
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{rep['learner']}: order parameters across {rep['control']} ({len(sw.seeds)} seeds)", fontsize=10)
    fig.tight_layout()
    return fig


def parse_values(text: str, log: bool = False, num: int = 20) -> np.ndarray:
    """``a:b`` (``num`` points, geometric with ``log``) or a comma-separated list."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 2:
            raise ValueError(f"give a range as START:STOP, got {text!r}")
        try:
            lo, hi = (float(x) for x in parts)
        except ValueError:
            raise ValueError(f"give a range as START:STOP with two numbers, got {text!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"need finite START < STOP, got {text!r}")
        if num < 2:
            raise ValueError(f"--num must be at least 2, got {num}")
        from numeric.sweep import MAX_VALUES

        if num > MAX_VALUES:
            raise ValueError(f"--num: at most {MAX_VALUES:,} grid values, got {num:,}")
        if log:
            if lo <= 0:
                raise ValueError("--log needs a positive START")
            return np.geomspace(lo, hi, num)
        return np.linspace(lo, hi, num)
    try:
        return np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise ValueError(f"values: give START:STOP or a comma-separated list of numbers, got {text!r}") from None


def main(args) -> int:
    """``ldyn sweep``: parse, validate everything before the first run, sweep, print / write.
    Bad input is a ValueError (the CLI turns it into one line and exit code 2)."""
    import inspect

    from verify.experiments import _plain, progress_printer, writable

    params = inspect.signature(_function(args.learner)).parameters
    keys = [k for k in params if k not in ("value", "seed", "control")]
    fixed = {}
    for item in args.set:
        key, sep, val = item.partition("=")
        if not sep or key not in keys:
            raise ValueError(f"--set {item!r}: give KEY=VALUE with KEY one of {', '.join(keys)} ({args.learner})")
        kind = int if isinstance(params[key].default, int) else float
        try:
            fixed[key] = kind(val)
        except ValueError:
            raise ValueError(f"--set {item!r}: {key} needs {'an integer' if kind is int else 'a number'}, "
                             f"got {val!r}") from None
    if args.control in fixed:
        raise ValueError(f"--set {args.control}=...: that is the swept control parameter")
    values = parse_values(args.values, args.log, args.num)
    if args.workers == "auto":
        workers = None
    else:
        try:
            workers = int(args.workers)
        except ValueError:
            raise ValueError(f"--workers must be a positive integer or 'auto', got {args.workers!r}") from None
    if args.seeds < 1:
        raise ValueError(f"--seeds must be a positive count, got {args.seeds}")
    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None:
        check_address(scheduler)
        if workers is not None:
            raise ValueError("give --workers or --scheduler, not both (the Dask cluster decides its own workers)")
    budget(args.learner, len(values), args.seeds, fixed)
    if args.out is not None:
        writable(args.out)  # OutputPathError (a ValueError): '', a file, under a file, unwritable
    with contextlib.ExitStack() as stack:
        executor = None if scheduler is None else stack.enter_context(executor_for(scheduler))
        rep = run(args.learner, args.control, values, args.seeds, fixed, workers,
                  None if args.json else progress_printer("sweep"), "log" if args.log else "linear", executor)
    if scheduler is not None:
        rep["_sweep"].executor = rep["sweep"]["executor"] = f"the Dask cluster at {scheduler}"
    plain = _plain({k: v for k, v in rep.items() if k != "_sweep"})
    if args.out is not None:  # each file written atomically: old or new, never truncated
        from verify.figures.backend import OutputPathError, _plt, atomic_write, save_figure

        out, fig, stem = writable(args.out), figure(rep), f"sweep-{args.learner}-{args.control}"
        try:
            save_figure(fig, out / f"{stem}.png", dpi=110)
            atomic_write(out / f"{stem}.json", json.dumps(plain, indent=2, allow_nan=False) + "\n")
        except OSError as exc:  # a full disk, a folder named like the file, ...: old files stay
            raise OutputPathError(f"--out {args.out}: cannot write there ({exc.strerror or exc})") from None
        finally:
            _plt().close(fig)
    print(json.dumps(plain, indent=2, allow_nan=False) if args.json else format_report(rep))
    return 0
