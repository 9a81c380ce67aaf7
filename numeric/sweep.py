"""Sweeps over a control parameter: run a learner at each value and seed, record its order parameters,
and locate the transition with an error bar.

A *learner* is a picklable callable ``learner(value, seed) -> dict[str, float]`` (a module-level
function, or :func:`functools.partial` of one): it trains at control value ``value`` from seed
``seed`` and returns the order parameters it measured (final loss, gradient norm, sharpness, weight
norm, ...). :mod:`numeric.models.learners` has ready ones. Every (value, seed) task is independent and
seeded, so the result does not depend on how many processes ran it.

* :func:`sweep` runs the grid, by default on every core (``workers=None``: one process per core when
  the learner can be pickled, else one process; ``Sweep.workers`` records which), or on any
  :class:`concurrent.futures.Executor` the caller passes as ``executor=`` (a thread or process pool,
  Dask's ``Client.get_executor()``, mpi4py's ``MPIPoolExecutor``): duck-typed, nothing here imports
  Dask or MPI, and an executor the caller made is never shut down;
* :func:`transition` locates, per seed, where a boolean order parameter (``diverged``, ``collapsed``)
  switches along the grid, and summarizes the seeds: mean, a Student-t confidence interval of the
  mean, the grid's own resolution, and seeds whose indicator switches more than once;
* :func:`locate` refines each seed's switch by bisection on fresh runs, so that the error bar is
  the spread over seeds rather than the grid spacing.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

Learner = Callable[[float, int], dict]

#: the largest grid :func:`sweep` accepts (ValueError before anything is allocated or run): control
#: values, seeds, runs (values x seeds) and worker processes (per core)
MAX_VALUES = 10_000
MAX_SEEDS = 1_000
MAX_RUNS = 100_000
MAX_WORKERS_PER_CORE = 4


@dataclass
class Sweep:
    """Order parameters ``orders[name][i, s]`` measured at ``values[i]`` from ``seeds[s]``."""

    control: str
    values: np.ndarray
    seeds: np.ndarray
    orders: dict[str, np.ndarray]
    workers: int = 1
    seconds: float = 0.0
    #: the caller's executor the tasks ran on (its class name, or a description such as "dask tcp://...");
    #: None when :func:`sweep` ran them itself (``workers`` is then the number of its processes, else 0)
    executor: str | None = None

    def _get(self, name: str) -> np.ndarray:
        if name not in self.orders:
            raise KeyError(f"no order parameter {name!r}; measured: {', '.join(self.orders)}")
        return self.orders[name]

    def to_json(self) -> dict:
        out = {"control": self.control, "values": self.values.tolist(), "seeds": self.seeds.tolist(),
               "workers": self.workers, "seconds": round(self.seconds, 3),
               "orders": {k: v.tolist() for k, v in self.orders.items()}}
        if self.executor is not None:
            out["executor"] = self.executor
        return out


@dataclass
class Transition:
    """Where an indicator switches from False to True along the control parameter, over seeds.

    ``per_seed[s]`` is seed s's switch location (the midpoint of its bracket, or the bisection result);
    ``estimate`` their mean; ``ci`` the half-width of the ``level`` Student-t interval of that mean
    (0 with one seed); ``resolution`` the largest half-width of a per-seed bracket; ``error`` the two
    combined in quadrature, the error bar to quote. ``non_monotone`` lists seeds whose indicator
    switches back and forth; ``unbracketed`` seeds that never switch inside the grid (excluded)."""

    estimate: float
    ci: float
    resolution: float
    error: float
    per_seed: np.ndarray
    seeds: np.ndarray
    level: float = 0.95
    non_monotone: list = field(default_factory=list)
    unbracketed: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"estimate": self.estimate, "ci": self.ci, "resolution": self.resolution, "error": self.error,
                "level": self.level, "per_seed": self.per_seed.tolist(), "seeds": self.seeds.tolist(),
                "non_monotone": list(self.non_monotone), "unbracketed": list(self.unbracketed)}


def _values(values) -> np.ndarray:
    if hasattr(values, "__len__") and len(values) > MAX_VALUES:
        raise ValueError(f"at most {MAX_VALUES:,} control values, got {len(values):,}")
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be a 1-D sequence of at least 2 control values, got shape {v.shape}")
    if not np.all(np.isfinite(v)) or np.any(np.diff(v) <= 0):
        raise ValueError("values must be finite and strictly increasing")
    return v


def _seeds(seeds) -> np.ndarray:
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ValueError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        if seeds > MAX_SEEDS:
            raise ValueError(f"at most {MAX_SEEDS:,} seeds, got {int(seeds):,}")
        seeds = range(int(seeds))
    if hasattr(seeds, "__len__") and len(seeds) > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS:,} seeds, got {len(seeds):,}")
    s = np.asarray(list(seeds))
    if s.ndim != 1 or s.size == 0 or s.dtype.kind not in "iu" or np.any(s < 0) or len(set(s.tolist())) != s.size:
        raise ValueError(f"seeds must be distinct non-negative integers, got {list(s)}")
    return s.astype(int)


def resolve_workers(workers: int | None, tasks: int, job=None) -> int:
    """``None`` means one process per core (``os.cpu_count()``), or one process if ``job`` (the learner or
    predicate) cannot be pickled; never more than ``tasks``. An explicit ``workers > 1`` with a job that
    cannot be pickled is a ValueError that says what to do."""
    auto = workers is None
    if auto:
        workers = os.cpu_count() or 1
    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None (one per core), got {workers!r}")
    cap = MAX_WORKERS_PER_CORE * (os.cpu_count() or 1)
    if workers > cap:
        raise ValueError(f"at most {cap} worker processes ({MAX_WORKERS_PER_CORE} per core), got {workers}")
    workers = int(min(workers, max(tasks, 1)))
    if workers > 1 and job is not None:
        import pickle

        try:
            pickle.dumps(job)
        except Exception as exc:  # lambdas, closures, local functions
            if auto:
                return 1
            raise ValueError(f"workers={workers} needs a picklable learner (a module-level function or a "
                             f"functools.partial of one); this one is not ({exc}). Use workers=1.") from None
    return workers


def _call(task):
    learner, value, seed = task
    out = learner(float(value), int(seed))
    if not isinstance(out, dict) or not out:
        raise TypeError(f"a learner must return a non-empty dict of order parameters, got {type(out).__name__}")
    return {k: float(v) for k, v in out.items()}


def _worker_signals() -> None:
    """In a worker process: Ctrl-C is for the parent (which stops the workers), SIGTERM kills at once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def _quiet_stderr():
    """File descriptor 2 points at /dev/null inside the block (threads and child processes included), so that
    tearing down an interrupted pool prints nothing; the caller reports the interruption on one line after."""
    import os
    import sys

    try:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):
        yield
        return
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


#: seconds the workers get to finish their current task once a sweep is interrupted
STOP_SECONDS = 5.0


@contextlib.contextmanager
def pool(workers: int):
    """A ProcessPoolExecutor whose workers leave Ctrl-C to the parent.  If the block is left by an
    exception (Ctrl-C included), the pending tasks are cancelled instead of run, the workers finish
    their current task and exit (a clean stop: killing them mid-task breaks the pool, and its threads
    then print tracebacks), and those still busy after STOP_SECONDS are killed."""
    executor = ProcessPoolExecutor(max_workers=workers, initializer=_worker_signals)
    try:
        yield executor
    except BaseException:
        procs = list((getattr(executor, "_processes", None) or {}).values())
        with _quiet_stderr():  # the pool's feeder thread may still print a traceback for a pipe the stop closed
            executor.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + STOP_SECONDS
            for proc in procs:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()
            executor.shutdown(wait=True)  # join the pool's own thread too: no teardown race at exit
        raise
    executor.shutdown(wait=True)


def check_executor(executor, workers) -> None:
    """An ``executor=`` argument: anything with a callable ``submit`` (duck-typed: a
    concurrent.futures.Executor such as a thread/process pool, Dask's ``Client.get_executor()``, mpi4py's
    ``MPIPoolExecutor``), and never together with ``workers`` (which asks for a pool of our own)."""
    if workers is not None:
        raise ValueError(f"give workers or executor, not both (workers={workers!r} starts a process pool of its "
                         "own; the executor decides its own workers)")
    if not callable(getattr(executor, "submit", None)):
        raise TypeError(f"executor must be a concurrent.futures.Executor (an object with submit()), "
                        f"got {type(executor).__name__}")


def _on_executor(executor, func, jobs: list, progress) -> list:
    """``[func(job) for job in jobs]`` on the caller's executor, in job order whatever order the tasks finish
    in. The executor is not shut down; if the block is left by an exception (Ctrl-C included) the tasks
    still pending are cancelled, so that the executor is free for other work."""
    from concurrent.futures import Future

    results = [None] * len(jobs)
    futures = {}
    try:
        for i, job in enumerate(jobs):
            fut = executor.submit(func, job)
            if not isinstance(fut, Future):
                raise TypeError(f"executor.submit must return a concurrent.futures.Future, got "
                                f"{type(fut).__name__}")
            futures[fut] = i
        return _collect(futures, results, progress)
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _collect(futures: dict, results: list, progress) -> list:
    """Each future's result into ``results`` at its job index (``futures``: future -> index), as they finish."""
    done = 0
    progress(0, len(results))
    for fut in as_completed(futures):
        results[futures[fut]] = fut.result()
        done += 1
        progress(done, len(results))
    return results


def _map(learner: Learner, tasks: list[tuple[float, int]], workers: int, progress) -> list[dict]:
    jobs = [(learner, v, s) for v, s in tasks]
    if workers == 1:
        results = []
        for i, job in enumerate(jobs):
            progress(i, len(jobs))
            results.append(_call(job))
        progress(len(jobs), len(jobs))
        return results
    with pool(workers) as executor:
        futures = {executor.submit(_call, job): i for i, job in enumerate(jobs)}
        return _collect(futures, [None] * len(jobs), progress)


def sweep(learner: Learner, values: Sequence[float], seeds: int | Sequence[int] = 5, control: str = "value",
          workers: int | None = None, progress: Callable[[int, int], None] | None = None,
          executor=None) -> Sweep:
    """Run ``learner(value, seed)`` for every value × seed over ``workers`` processes (None: one per core
    if the learner can be pickled, i.e. is a module-level function or a ``functools.partial`` of one;
    otherwise one), or on ``executor``: any concurrent.futures.Executor (a thread or process pool, Dask's
    ``Client.get_executor()``, mpi4py's ``MPIPoolExecutor``), which is used, never shut down (it still
    accepts work afterwards), and excludes ``workers``. Every task must return the same order-parameter
    names; every task is seeded, so the result does not depend on ``workers`` or the executor, nor on the
    order in which tasks finish."""
    values, seeds = _values(values), _seeds(seeds)
    if values.size * seeds.size > MAX_RUNS:
        raise ValueError(f"at most {MAX_RUNS:,} runs (values x seeds), got {values.size:,} x {seeds.size:,}")
    if not callable(learner):
        raise TypeError("learner must be callable as learner(value, seed) -> dict")
    tasks = [(v, s) for v in values for s in seeds]
    progress = progress or (lambda done, total: None)
    start = time.perf_counter()
    if executor is not None:
        check_executor(executor, workers)
        workers = 0
        results = _on_executor(executor, _call, [(learner, v, s) for v, s in tasks], progress)
    else:
        workers = resolve_workers(workers, len(tasks), learner)
        results = _map(learner, tasks, workers, progress)
    names = list(results[0])
    for (v, s), r in zip(tasks, results):
        if list(r) != names:
            raise ValueError(f"the learner returned {sorted(r)} at value {v}, seed {s}, but {sorted(names)} before")
    orders = {k: np.array([r[k] for r in results]).reshape(len(values), len(seeds)) for k in names}
    return Sweep(control, values, seeds, orders, workers, time.perf_counter() - start,
                 None if executor is None else type(executor).__name__)


def t_interval(x: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """(mean, half-width) of the Student-t confidence interval of the mean, t_{(1+level)/2, n−1} s/√n
    (:func:`numeric.correlation.t_interval`); half-width 0 for a single value."""
    from numeric.correlation import t_interval as t_bounds

    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("t_interval needs a non-empty 1-D array of finite values")
    if x.size == 1:
        return float(x[0]), 0.0
    mean, _, hi = t_bounds(x, level)
    return mean, hi - mean


def _bracket(values: np.ndarray, flags: np.ndarray) -> tuple[int | None, bool]:
    """Index i of the first switch flags[i-1] False -> flags[i] True after which all stay True
    (None if there is none); and whether the flags switch more than once."""
    f = flags.astype(bool)
    switches = int(np.count_nonzero(f[1:] != f[:-1]))
    if f[0] or not f[-1]:
        return None, switches > 1
    last_false = int(np.nonzero(~f)[0][-1])
    return last_false + 1, switches > 1


def transition(sw: Sweep, indicator: str, scale: str = "linear", level: float = 0.95,
               rising: bool = True) -> Transition:
    """Locate, for each seed, the switch of the boolean order parameter ``indicator`` (values > 0.5
    count as True) from the grid alone: the midpoint (geometric for ``scale="log"``) of the bracket
    [last False, first of the final run of True]; ``rising=False`` looks for True -> False instead
    (e.g. ``diverged`` along increasing momentum). Seeds that never switch are reported, not used."""
    if scale not in ("linear", "log"):
        raise ValueError(f"scale must be 'linear' or 'log', got {scale!r}")
    if scale == "log" and sw.values[0] <= 0:
        raise ValueError("scale='log' needs positive control values")
    flags = sw._get(indicator) > 0.5
    if not rising:
        flags = ~flags
    per, res, used, nonmono, unbr = [], 0.0, [], [], []
    for s, seed in enumerate(sw.seeds):
        i, many = _bracket(sw.values, flags[:, s])
        if many:
            nonmono.append(int(seed))
        if i is None:
            unbr.append(int(seed))
            continue
        lo, hi = sw.values[i - 1], sw.values[i]
        mid = math.sqrt(lo * hi) if scale == "log" else 0.5 * (lo + hi)
        per.append(mid)
        res = max(res, hi - mid, mid - lo)
        used.append(int(seed))
    return _summarize(per, used, res, level, nonmono, unbr, indicator)


def _summarize(per, used, res, level, nonmono, unbr, indicator) -> Transition:
    if not per:
        raise ValueError(f"{indicator!r} does not switch from False to True inside the grid for any seed; "
                         "widen the range of values")
    mean, ci = t_interval(per, level)
    return Transition(mean, ci, float(res), float(math.hypot(ci, res)), np.array(per), np.array(used), level,
                      nonmono, unbr)


def _locate_one(task):
    from numeric.step_size import bisect_bracket

    predicate, lo, hi, seed, rtol, rising = task

    def test(x):
        return bool(predicate(x, seed)) == rising

    if test(lo) or not test(hi):
        return seed, None
    return seed, bisect_bracket(test, lo, hi, rtol)


def locate(predicate: Callable[[float, int], bool], lo: float, hi: float, seeds: int | Sequence[int] = 5,
           rtol: float = 1e-3, workers: int | None = None, level: float = 0.95, rising: bool = True,
           executor=None) -> Transition:
    """Per seed, bisect for the value where ``predicate(value, seed)`` turns True (False at ``lo``,
    True at ``hi``, one switch assumed in between; ``rising=False``: True at ``lo``, False at ``hi``) to
    a relative bracket of ``rtol``; the seeds run in parallel over ``workers`` processes (as in
    :func:`sweep`: None is one per core when the predicate can be pickled), or on ``executor`` (as in
    :func:`sweep`: any concurrent.futures.Executor, never shut down here). Seeds whose ends are not
    False/True are reported as unbracketed. The error bar is the spread over seeds plus the final bracket half-width."""
    seeds = _seeds(seeds)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite lo < hi, got lo={lo}, hi={hi}")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must lie in (0, 1), got {rtol}")
    tasks = [(predicate, float(lo), float(hi), int(s), rtol, bool(rising)) for s in seeds]
    if executor is not None:
        check_executor(executor, workers)
        found = _on_executor(executor, _locate_one, tasks, lambda done, total: None)
    elif (workers := resolve_workers(workers, len(tasks), predicate)) == 1:
        found = [_locate_one(t) for t in tasks]
    else:
        with pool(workers) as executor:
            found = list(executor.map(_locate_one, tasks))
    per, used, unbr, res = [], [], [], 0.0
    for seed, br in found:
        if br is None:
            unbr.append(seed)
            continue
        per.append(0.5 * (br[0] + br[1]))
        used.append(seed)
        res = max(res, 0.5 * (br[1] - br[0]))
    return _summarize(per, used, res, level, [], unbr, "predicate")
