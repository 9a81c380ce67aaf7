"""The problems ``ldyn verify-impl`` runs on, the runs of the reference rule and of the user's code,
and their comparison (see :mod:`verify.implementation` for the design: why these problems, which
tolerance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from verify.implementation.user import Implementation, _one_line

STEPS, SEED, RTOL, ATOL_FACTOR = 200, 0, 1e-9, 1e-3


# -- problems -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """g_k(θ) = a_k (h ⊙ (θ − c) + σ ⊙ ξ_k), k = 1..steps, from θ_0."""

    name: str
    description: str
    theta0: np.ndarray
    h: np.ndarray
    c: np.ndarray
    sigma: np.ndarray
    schedule: np.ndarray  # a_k, k = 0..steps
    noise: np.ndarray  # ξ_k, k = 0..steps
    shrink_from: int  # first step of the shrinking phase
    shape: tuple[int, ...] | None = None  # the parameters' shape as the optimizer sees them (None: a vector)

    def shaped(self, x: np.ndarray) -> np.ndarray:
        """A flat vector of this problem as the optimizer sees it (a matrix for Muon)."""
        return x if self.shape is None else x.reshape(self.shape)

    def grad(self, theta: np.ndarray, k: int) -> np.ndarray:
        return self.schedule[k] * (self.h * (theta - self.c) + self.sigma * self.noise[k])

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description, "dimension": int(self.theta0.size),
                "shrink_from": self.shrink_from, **({"shape": list(self.shape)} if self.shape else {})}


def problems(steps: int = STEPS, seed: int = SEED, n: int = 16, shape: tuple[int, ...] | None = None) -> list[Problem]:
    """Three seed-fixed problems (see the module docstring); gradients shrink from step steps//2 + 1.
    With ``shape`` (e.g. (4, 4) for Muon) the optimizer sees the n = prod(shape) coordinates as an
    array of that shape; the gradient stays coordinate-wise."""
    if shape is not None:
        n = int(np.prod(shape))
    half, k = steps // 2, np.arange(steps + 1)
    e = np.linspace(0.0, 1.0, n)
    out = []
    for i, (name, description) in enumerate((
            ("warm-up-then-decay", "|g| from 1e-6 to 1e2 (curvature over 8 decades) growing 1%/step, "
             "then a tenfold drop and shrinking 3%/step; little noise"),
            ("noisy", "curvature over 5 decades, distance to the minimum over 3, |g| from 1e-6 to 1e2; "
             "sign-flipping noise as large as the gradient, shrinking 2%/step in the second half"),
            ("weight-decay", "weights of both signs from 1e-2 to 10, curvature over 5 decades, "
             "noise 30% of the gradient, shrinking 0.5%/step throughout"))):
        rng = np.random.default_rng([seed, i])
        sign = lambda: rng.choice([-1.0, 1.0], n)  # noqa: E731
        perm = rng.permutation(n)
        if i == 0:
            h, d, c = 10 ** (8 * e - 6)[perm], rng.uniform(1, 2, n), sign() * 10 ** rng.uniform(-1, 0.5, n)
            sigma, a = 1e-3 * h, np.where(k <= half, 1.01 ** k, 0.1 * 1.01 ** half * 0.97 ** (k - half))
        elif i == 1:
            h, d, c = 10 ** (5 * e - 3)[perm], 10 ** (3 * e - 3)[perm], sign() * 10 ** rng.uniform(-2, 0, n)
            sigma, a = h * d, np.where(k <= half, 1.0, 0.98 ** (k - half))
        else:
            h, d = 10 ** (5 * e - 4)[perm], 10 ** rng.uniform(-2, 0, n)
            c = sign() * 10 ** (3 * e - 2)[rng.permutation(n)]
            sigma, a = 0.3 * h * d, 0.995 ** k
        out.append(Problem(name, description, c + sign() * d, h, c, sigma, a,
                           rng.standard_normal((steps + 1, n)), half + 1 if i < 2 else 1,
                           None if shape is None else tuple(shape)))
    return out


# -- runs and comparisons -----------------------------------------------------------------
@dataclass
class Run:
    params: np.ndarray  # (m + 1, n): θ_0..θ_m
    state: dict  # key -> (m, n): after steps 1..m
    failure: tuple[int, str] | None = None  # (step, message) where the run stopped


def run_rule(rule, values: dict, probs: list[Problem], steps: int, along: list[Run] | None = None) -> list[Run]:
    """``rule.lambdify(...)`` on all problems at once (the rules act coordinate-wise): closed-loop,
    or ``along`` the implementation's runs, each step from its θ_{k−1} with the gradient there.
    Problems with a ``shape`` (a matrix rule such as Muon's) run one at a time, as that shape, and so
    does a rule with whole-array functions (``rule.functions``: an RMS over the parameter)."""
    if any(p.shape is not None for p in probs) or getattr(rule, "functions", None):  # whole-array functions
        # (Muon's orthogonalisation, Adafactor's RMS) see one problem's array at a time
        return [_run_rule(rule, values, [_flat(p)], steps, [a] if along else None, p.shape)[0]
                for p, a in zip(probs, along or [None] * len(probs))]
    return _run_rule(rule, values, probs, steps, along)


def _flat(p: Problem) -> Problem:
    import dataclasses

    return dataclasses.replace(p, shape=None)


def _run_rule(rule, values: dict, probs: list[Problem], steps: int, along: list[Run] | None = None,
              shape: tuple[int, ...] | None = None) -> list[Run]:
    bounds = np.cumsum([0] + [p.theta0.size for p in probs])
    slices = [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    opt = rule.lambdify(**{name: values[name] for name in rule.hyper})
    theta = np.concatenate([p.theta0 for p in probs])
    view = (lambda x: x) if shape is None else (lambda x: x.reshape(shape))
    state = opt.init(view(theta))
    params = np.empty((steps + 1, theta.size))
    record = {s: np.empty((steps, theta.size)) for s in rule.state_names}
    params[0] = theta
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            for run, sl in zip(along or (), slices):
                if k <= len(run.params) and np.isfinite(run.params[k - 1]).all():
                    theta[sl] = run.params[k - 1]
            grads = np.concatenate([p.grad(theta[sl], k) for p, sl in zip(probs, slices)])
            theta, state = opt.step(view(theta), view(grads), state)
            theta = np.asarray(theta, dtype=float).reshape(-1)
            params[k] = theta
            for s in record:
                record[s][k - 1] = np.broadcast_to(np.asarray(state[s], dtype=float), view(theta).shape).reshape(-1)
    return [Run(params[:, sl], {s: v[:, sl] for s, v in record.items()}) for sl in slices]


def _real(value) -> np.ndarray:
    """``value`` as floats; complex numbers are refused (NumPy would drop their imaginary parts, warning)."""
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise TypeError(f"complex numbers ({array.dtype}), not real ones")
    return array.astype(float, copy=False)


def run_implementation(impl: Implementation, problem: Problem, steps: int, keys, progress=None) -> Run:
    """The user's optimizer, closed-loop; state entries named in ``keys`` are recorded.  An entry
    present in the state from step 1 that is no number or array (an object, a ragged list) ends the
    run as a failure; one of another shape (e.g. factored) is not recorded.  ``progress(k)``, if
    given, is called before init (k = 0) and before each step k."""
    progress = progress or (lambda k: None)
    n = problem.theta0.size
    params = np.full((steps + 1, n), np.nan)
    params[0] = problem.theta0
    record: dict[str, np.ndarray] = {}

    def stop(k: int, message: str) -> Run:
        return Run(params[:k], {s: v[:k - 1] for s, v in record.items()}, (k, message))

    shape = problem.shape or (n,)
    try:
        progress(0)
        state = impl.init(problem.shaped(problem.theta0.copy()))
    except BaseException as exc:  # noqa: BLE001 - user code, in its own process
        return stop(1, f"exception: {_one_line(exc)} (in init)")
    for k in range(1, steps + 1):
        try:
            progress(k)
            out = impl.step(problem.shaped(params[k - 1].copy()), problem.shaped(problem.grad(params[k - 1], k)),
                            state)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"step must return (params, state), got {type(out).__name__}")
            new, state = _real(out[0]), out[1]
            if new.shape != shape:
                raise ValueError(f"step returned params of shape {new.shape}, expected {shape}")
            new = new.reshape(-1)
        except BaseException as exc:  # noqa: BLE001 - user code, in its own process
            return stop(k, f"exception: {_one_line(exc)}")
        params[k] = new
        for s in keys:
            try:
                value = state.get(s) if isinstance(state, Mapping) else None
                array = None if value is None else _real(value)
            except BaseException as exc:  # noqa: BLE001 - user code (a Mapping of its own, an object)
                return stop(k, f"exception: state[{s!r}] cannot be recorded as numbers: {_one_line(exc)}")
            try:
                row = None if array is None else np.broadcast_to(array, shape).reshape(-1)
            except ValueError:  # another shape (e.g. factored): not compared
                row = None
            if k == 1 and row is not None:
                record[s] = np.full((steps, n), np.nan)
            if s in record:
                if row is None:
                    return stop(k, f"exception: state[{s!r}] is no longer a number or an array of shape {shape}")
                record[s][k - 1] = row
        if not (np.isfinite(new).all() and all(np.isfinite(v[k - 1]).all() for v in record.values())):
            return Run(params[:k + 1], {s: v[:k] for s, v in record.items()}, (k, "non-finite output"))
    return Run(params, record)


def compare(got: Run, expected: Run, rtol: float) -> dict | None:
    """The first (step, entry, index) where ``got`` leaves ``expected``, or None."""
    m = min(len(got.params), len(expected.params)) - 1
    first = None
    entries = [("params", got.params[1:m + 1], expected.params[:m + 1])]
    entries += [(s, got.state[s][:m], expected.state[s][:m]) for s in expected.state if s in got.state]
    for entry, g, e in entries:
        scale = np.maximum.accumulate(np.abs(e), axis=0)
        if entry == "params":  # row 0 is θ_0: part of the scale, not compared
            e, scale = e[1:], scale[1:]
        with np.errstate(invalid="ignore"):
            err = np.abs(g - e)
            tol = rtol * (np.abs(e) + ATOL_FACTOR * scale)
            bad = ~(err <= tol)
        rows = bad.any(axis=1)
        if rows.any() and (first is None or rows.argmax() + 1 < first["step"]):
            step = int(rows.argmax()) + 1
            i = int(bad[step - 1].argmax())
            first = {"step": step, "entry": entry, "index": i, "expected": _num(e[step - 1, i]),
                     "got": _num(g[step - 1, i]), "error": _num(err[step - 1, i]), "tolerance": _num(tol[step - 1, i])}
    if first is None and got.failure is not None:
        first = {"step": got.failure[0], "entry": got.failure[1], "index": None, "expected": None, "got": None,
                 "error": None, "tolerance": None}
    return first


def _num(x) -> float | str:
    x = float(x)
    return x if np.isfinite(x) else str(x)


def _agreement(got: list[Run], expected: list[Run], rtol: float, steps: int) -> tuple[dict | None, int]:
    """(the first divergence over all problems, the number of steps agreed summed over problems)."""
    first, agreed = None, 0
    for i, (g, e) in enumerate(zip(got, expected)):
        d = compare(g, e, rtol)
        agreed += steps if d is None else d["step"] - 1
        if d is not None and first is None:
            first = {"problem": i, **d}
    return first, agreed


# -- the report ---------------------------------------------------------------------------
