"""Optimizers as pure update maps: (theta_t, g_t, state_t) -> (theta_{t+1}, state_{t+1}).

Protocol::

    opt = gd(lr=0.1, weight_decay=0.0)
    state = opt.init(params)                          # params: a float array of any shape
    params, state = opt.step(params, grads, state)    # pure: inputs never mutated
    opt.step_(params, grads, state)                   # in place: mutates params and state, returns None

State is a ``dict[str, np.ndarray | int]`` (plain GD keeps none: ``{}``).  ``params`` may also be
a list (or tuple) of arrays, like a torch param group: then ``grads`` is a list of the same length
and shapes, the state is a list with one dict per array, and ``step`` returns a list of arrays.
Every hand-written optimizer gets this from :class:`ArrayOptimizer`: it implements ``_init(p)`` and
``_step(p, g, state)`` for one array ``p`` and its gradient ``g`` of the same shape, and may
implement ``_step_(p, g, state)`` in place (otherwise ``step_`` runs ``_step`` and copies back).

Validation (the same design for ``step`` and ``step_``; no pass over every input array):

* per call, O(1) per array: types, shapes, dict keys, the step counter; for ``step_`` also that
  params and the state arrays are writable float64 ndarrays (one-line ValueError otherwise) that
  do not share memory (``grads`` may be any real array; if it overlaps them it is copied first);
* ``check=True`` (the default; a keyword of ``step`` and ``step_``): ONE pass over the new params,
  ``all_finite`` (their sum: it allocates nothing).  If they are not finite, a one-line ValueError
  says why: a non-finite input (params, grads, a state entry) or a negative mean of squares in the
  state, found by re-checking the inputs then (``step`` still has them; after ``step_`` only
  ``grads`` can be re-checked, and params and state already hold the non-finite values), or else a
  step that diverged or divided by zero (eps = 0) from finite inputs.  A bad state entry that does
  not reach the params (e.g. an overflowed ``exp_avg_sq``, which makes Adam's step 0) is not
  reported; AMSGrad's ``max_exp_avg_sq`` (whose negative entries a max would hide) is checked >= 0
  on every step;
* ``check=False``: no finiteness check at all; nan/inf propagate as in torch.optim (for runs that
  may diverge: ``run`` and stability experiments).

``step_`` allocates no n-arrays for GD, heavy ball, Nesterov, SGD, RMSprop, Adam, AdamW, Adagrad and
Lion: ufuncs with ``out=`` into per-thread scratch buffers (kept between calls: at most three arrays
the size of the largest parameter).  The other optimizers run ``_step`` and copy back.  Either way
``step_`` is the same arithmetic as ``step``: equal bit for bit.
"""

from __future__ import annotations

import contextvars
import math
import threading
from dataclasses import dataclass
from typing import Callable, Protocol, Union, runtime_checkable

import numpy as np

from numeric.validation import _array, _int, _nonfinite_at, _real, _vector, _writable

__all__ = ["State", "GradFn", "Optimizer", "ArrayOptimizer", "is_param_list", "state_array", "state_array_",
           "nonnegative_entries", "all_finite", "scratch", "coupled_grad", "root_plus_eps", "step_count", "GD", "gd",
           "run"]

State = dict[str, Union[np.ndarray, int]]
GradFn = Callable[[np.ndarray], np.ndarray]


# --------------------------------------------------------------------------- #
# Protocol and plain gradient descent.
# --------------------------------------------------------------------------- #
@runtime_checkable
class Optimizer(Protocol):
    """Anything with ``init(params) -> state`` and a pure ``step(params, grads, state)``.

    Optional: ``step_(params, grads, state)``, the in-place variant (every ``ArrayOptimizer`` has it,
    and a ``check`` keyword on both; see the module docstring)."""

    def init(self, params: np.ndarray) -> State:
        """Return the initial optimizer state for ``params``."""
        ...

    def step(self, params: np.ndarray, grads: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Return ``(new_params, new_state)`` without mutating any input."""
        ...


def is_param_list(params) -> bool:
    """True when ``params`` is a list or tuple of arrays (a param group), not one array-like:
    every element must be an ``np.ndarray`` (``[1.0, 2.0]`` is one 1-D parameter)."""
    return isinstance(params, (list, tuple)) and len(params) > 0 and all(
        isinstance(p, np.ndarray) for p in params)


def step_count(state: State, key: str = "step") -> int:
    """Return ``state[key]``, checked to be an integer >= 0."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be the dict returned by init(), got {type(state).__name__}")
    t = state.get(key)
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)) or t < 0:
        raise ValueError(f"state[{key!r}] must be an integer >= 0, got {t!r}")
    return int(t)


# True while ArrayOptimizer re-checks the inputs of a step whose result was not finite
_STRICT = contextvars.ContextVar("numeric_optimizers_strict", default=False)
_SCRATCH = threading.local()
_F64 = np.dtype(np.float64)


def state_array(state: State, key: str, shape: tuple, nonnegative: bool = False) -> np.ndarray:
    """Return ``state[key]`` as a float array of ``shape`` (no copy of a float64 ndarray).

    Only the structure is checked on every step; the entries (finite, and >= 0 if ``nonnegative``)
    are checked when ``ArrayOptimizer`` re-checks the inputs of a step whose result is not finite.
    """
    if not isinstance(state, dict) or key not in state:
        got = list(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"state must be the dict returned by init() (with key {key!r}), got {got}")
    strict = _STRICT.get()
    arr = _array(f"state[{key!r}]", state[key], shape, finite=strict)
    if strict and nonnegative:
        nonnegative_entries(f"state[{key!r}]", arr)
    return arr


def nonnegative_entries(name: str, arr: np.ndarray) -> np.ndarray:
    """Return ``arr``; raise ValueError if an entry is < 0 (a pass over ``arr``, allocating nothing)."""
    if arr.min() < 0:
        bad = [tuple(int(i) for i in ix) if arr.ndim != 1 else int(ix[0]) for ix in np.argwhere(arr < 0)[:5]]
        raise ValueError(f"{name} must be >= 0 (a mean of squares), got negative entries at indices {bad}")
    return arr


def state_array_(state: State, key: str, shape: tuple) -> np.ndarray:
    """``state[key]`` itself, for an in-place step: a writable float64 ndarray of ``shape``."""
    x = state.get(key) if isinstance(state, dict) else None
    if (type(x) is np.ndarray and x.dtype is _F64 and x.shape == shape and x.flags.writeable
            and x.size):  # the fast path: what init() returned
        return x
    if not isinstance(state, dict) or key not in state:
        got = list(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"state must be the dict returned by init() (with key {key!r}), got {got}")
    return _writable(f"state[{key!r}]", x, shape)


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` may share memory (two arrays that own their data do not, unless the same)."""
    if a.base is None and b.base is None:
        return a is b
    return np.may_share_memory(a, b)


def all_finite(x: np.ndarray) -> bool:
    """True when every entry of ``x`` is finite: one pass, allocating nothing (the sum is finite unless
    an entry is nan/inf or the sum overflows; only then the entries are looked at one by one).
    Call it with floating-point warnings off (the sum may overflow)."""
    return math.isfinite(x.sum()) or bool(np.isfinite(x).all())


def coupled_grad(p: np.ndarray, g: np.ndarray, weight_decay: float, extra: int) -> tuple[np.ndarray, list]:
    """torch's coupled L2 gradient g + weight_decay·p in a scratch array (``g`` itself, never written, when
    weight_decay is 0), and ``extra`` more scratch arrays: ``(d, [scratch, ...])``."""
    if weight_decay:
        d, *rest = scratch(extra + 1, p)
        np.multiply(p, weight_decay, out=d)
        d += g
        return d, rest
    return g, scratch(extra, p)


def root_plus_eps(var: np.ndarray, eps: float, eps_mode: str, out: np.ndarray) -> np.ndarray:
    """The adaptive denominator into ``out`` (which may be ``var``): √var + ε (``eps_mode`` "outside", torch's)
    or √(var + ε) ("inside"); no fresh array."""
    if eps_mode == "outside":
        np.sqrt(var, out=out)
        out += eps
    else:
        np.add(var, eps, out=out)
        np.sqrt(out, out=out)
    return out


def scratch(k: int, like: np.ndarray) -> list[np.ndarray]:
    """``k`` scratch arrays of ``like``'s shape (uninitialised): views of per-thread flat buffers that
    are kept and grown to the largest size asked for, so that an in-place step allocates no n-arrays
    once warm (the views of the last few shapes are cached too).  Valid until the next call from the
    same thread; at most three buffers are used (k <= 3)."""
    shape = like.shape
    try:
        views = _SCRATCH.views
    except AttributeError:
        views = _SCRATCH.views = {}
        _SCRATCH.bufs = []
    got = views.get(shape)
    if got is not None and len(got) >= k:
        return got if len(got) == k else got[:k]
    bufs, size = _SCRATCH.bufs, like.size
    while len(bufs) < k:
        bufs.append(np.empty(0))
    if any(b.size < size for b in bufs):
        _SCRATCH.bufs = bufs = [b if b.size >= size else np.empty(size) for b in bufs]
        views.clear()  # views of the old buffers
    if len(views) >= 8:
        views.clear()
    views[shape] = got = [b[:size].reshape(shape) for b in bufs]
    return got if len(got) == k else got[:k]


class ArrayOptimizer:
    """Base of the hand-written optimizers: one array of any shape, or a list of arrays.

    Subclasses implement ``_init(p) -> state`` and ``_step(p, g, state) -> (p', state')`` for one
    array, and optionally ``_step_(p, g, state) -> None`` (in place; the default runs ``_step`` and
    copies the result back).  This class checks the inputs as the module docstring says (structure
    per call, finiteness once on the result) and maps a list of parameters to a list of states, one
    per array, as torch keeps one state per tensor of a param group.
    """

    def _init(self, p: np.ndarray) -> State:
        raise NotImplementedError

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        raise NotImplementedError

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """In place by default: ``_step``, then its result copied into ``p`` and the state arrays."""
        new_p, new_state = self._step(p, g, state)
        np.copyto(p, new_p)
        for key, value in new_state.items():
            old = state.get(key)
            if (isinstance(value, (np.ndarray, np.floating)) and isinstance(old, np.ndarray)
                    and old.shape == np.shape(value) and old.dtype == np.float64 and old.flags.writeable):
                if old is not value:
                    np.copyto(old, value)
            else:
                state[key] = np.asarray(value) if isinstance(value, np.floating) else value

    def init(self, params):
        """The initial state: a dict for one array, a list of dicts for a list of arrays."""
        if is_param_list(params):
            return [self._init(_array(f"params[{i}]", p)) for i, p in enumerate(params)]
        return self._init(_array("params", params))

    def _pairs(self, params, grads, state):
        """``(params, grads, state, where)`` per array: one, or one per array of a param list."""
        if not is_param_list(params):
            return [(params, grads, state, "")]
        n = len(params)
        if not isinstance(grads, (list, tuple)) or len(grads) != n:
            raise ValueError(f"grads must be a list of {n} arrays, one per parameter, got "
                             f"{type(grads).__name__}" + (f" of length {len(grads)}"
                                                          if isinstance(grads, (list, tuple)) else ""))
        if not isinstance(state, (list, tuple)) or len(state) != n:
            raise ValueError(f"state must be the list of {n} dicts returned by init(params), got "
                             f"{type(state).__name__}")
        return [(p, g, s, f"[{i}]") for i, (p, g, s) in enumerate(zip(params, grads, state))]

    def step(self, params, grads, state, *, check: bool = True):
        """``(params', state')`` without mutating any input (lists in, lists out).

        ``check=True``: a ValueError if the new params are not finite (see the module docstring).
        """
        if is_param_list(params):
            out = [self._one(*args, check) for args in self._pairs(params, grads, state)]
            return [o[0] for o in out], [o[1] for o in out]
        return self._one(params, grads, state, "", check)

    def step_(self, params, grads, state, *, check: bool = True) -> None:
        """Update ``params`` (a writable float64 ndarray, or a list of them) and the state arrays in
        place; returns None.  The same arithmetic as ``step`` (bit for bit); ``check`` as there.
        A list is updated array by array: an error about ``params[i]`` leaves ``params[:i]`` updated."""
        for args in self._pairs(params, grads, state):
            self._one_(*args, check)

    @staticmethod
    def _where(err: ValueError, where: str) -> ValueError:
        # a bad state entry of one array of a list: say which array
        return ValueError(f"{err} (in state{where}, the state of params{where})") if where else err

    def _one(self, params, grads, state, where: str, check: bool):
        p = _array(f"params{where}", params, finite=False)
        g = _array(f"grads{where}", grads, p.shape, finite=False)
        if not isinstance(state, dict):
            raise ValueError(f"state{where} must be the dict returned by init(), got {type(state).__name__}")
        try:
            with np.errstate(all="ignore"):
                new_p, new_state = self._step(p, g, state)
                # arithmetic on 0-d arrays yields NumPy scalars: hand back 0-d arrays, so that a list
                # of returned params is again a list of np.ndarray (``is_param_list``)
                new_p = np.asarray(new_p)
                ok = not check or all_finite(new_p)
        except ValueError as err:
            raise self._where(err, where) from None
        if not ok:
            self._diagnose(p, g, state, where)
            raise ValueError(f"params{where} after the step are not finite (nan/inf at indices "
                             f"{_nonfinite_at(new_p)}) although params, grads and state were: the iteration "
                             "diverged or divided by zero (eps = 0); pass check=False to get such results back")
        return new_p, {k: np.asarray(v) if isinstance(v, np.floating) else v for k, v in new_state.items()}

    def _diagnose(self, p: np.ndarray, g: np.ndarray, state: State, where: str) -> None:
        """Raise the ValueError naming the first non-finite input (params, grads, a state entry, a
        negative mean of squares): the full checks, run only when a step's result is not finite."""
        _array(f"params{where}", p)
        _array(f"grads{where}", g)
        token = _STRICT.set(True)
        try:
            with np.errstate(all="ignore"):
                self._step(p, g, state)
        except ValueError as err:
            raise self._where(err, where) from None
        finally:
            _STRICT.reset(token)

    def _one_(self, params, grads, state, where: str, check: bool) -> None:
        p = params
        if not (type(p) is np.ndarray and p.dtype is _F64 and p.flags.writeable and p.size):
            p = _writable(f"params{where}", params)
        if type(grads) is np.ndarray and grads.dtype is _F64 and grads.shape == p.shape:
            g = grads
        else:
            g = _array(f"grads{where}", grads, p.shape, finite=False)
        if not isinstance(state, dict):
            raise ValueError(f"state{where} must be the dict returned by init(), got {type(state).__name__}")
        if _overlap(g, p):
            g = g.copy()  # e.g. the gradient of |p|^2 / 2 is p itself
        for key, value in state.items():
            if type(value) is np.ndarray:
                if _overlap(value, p):
                    raise ValueError(f"state{where}[{key!r}] shares memory with params{where}: pass the state "
                                     "returned by init()")
                if _overlap(value, g):
                    g = g.copy()
        try:
            with np.errstate(all="ignore"):
                self._step_(p, g, state)
                ok = not check or all_finite(p)
        except ValueError as err:
            raise self._where(err, where) from None
        if not ok:
            _array(f"grads{where}", g)
            raise ValueError(f"params{where} after step_ are not finite (nan/inf at indices {_nonfinite_at(p)}): "
                             "non-finite params or state, or the iteration diverged or divided by zero "
                             "(eps = 0); params and state now hold these values (check=False allows them)")


@dataclass(frozen=True)
class GD(ArrayOptimizer):
    """Gradient descent with coupled L2 weight decay.

    theta <- theta - lr * (g + weight_decay * theta)

    This is ``torch.optim.SGD(lr, momentum=0, weight_decay=wd)``: the decay is
    added to the gradient ("coupled"), not applied to the weights separately.
    """

    lr: float
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", _real("lr", self.lr, 0.0))
        object.__setattr__(
            self, "weight_decay", _real("weight_decay", self.weight_decay, 0.0, strict=False)
        )

    def _init(self, p: np.ndarray) -> State:
        """GD keeps no state: returns ``{}``."""
        return {}

    def _step(self, p: np.ndarray, g: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """theta' = theta - lr * (g + weight_decay * theta); returns ``(theta', {})``."""
        return p - self.lr * (g + self.weight_decay * p), {}

    def _step_(self, p: np.ndarray, g: np.ndarray, state: State) -> None:
        """The same in place: theta -= lr * (weight_decay * theta + g)."""
        (t,) = scratch(1, p)
        if self.weight_decay:
            np.multiply(p, self.weight_decay, out=t)
            t += g
            t *= self.lr
        else:
            np.multiply(g, self.lr, out=t)
        p -= t


def gd(lr: float, weight_decay: float = 0.0) -> GD:
    """Plain gradient descent: theta <- theta - lr * (g + weight_decay * theta).

    Coupled L2 decay, i.e. the ``torch.optim.SGD`` convention with momentum=0.
    """
    return GD(lr=lr, weight_decay=weight_decay)


def run(opt: Optimizer, grad_fn: GradFn, params0, steps: int) -> np.ndarray:
    """Iterate theta_{t+1}, s_{t+1} = opt.step(theta_t, grad_fn(theta_t), s_t) for ``steps`` steps.

    Returns the trajectory ``[theta_0, ..., theta_steps]`` with shape ``(steps + 1, n)``.
    If the gradient or the new parameters become non-finite (nan/inf) the run
    stops and returns only the finite iterates so far, so the result then has
    fewer than ``steps + 1`` rows (every returned row is finite).
    """
    if not isinstance(opt, Optimizer):
        raise ValueError(
            f"opt must have init(params) and step(params, grads, state) methods, got {type(opt).__name__}"
        )
    if not callable(grad_fn):
        raise ValueError(f"grad_fn must be a callable theta -> gradient, got {type(grad_fn).__name__}")
    p = _vector("params0", params0).copy()
    steps = _int("steps", steps, 0)
    traj = np.empty((steps + 1, p.size))
    traj[0] = p
    state = opt.init(p.copy())
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            g = np.asarray(grad_fn(p.copy()), dtype=float)
            if g.shape != p.shape:
                raise ValueError(f"grad_fn must return an array of shape {p.shape}, got {g.shape}")
            if not np.isfinite(g).all():
                return traj[: t + 1].copy()
            # hand-written optimizers: no finiteness check (non-finite params end the run below)
            if isinstance(opt, ArrayOptimizer):
                p, state = opt.step(p, g, state, check=False)
            else:
                p, state = opt.step(p, g, state)
            p = np.asarray(p, dtype=float)
            if not np.isfinite(p).all():
                return traj[: t + 1].copy()
            traj[t + 1] = p
    return traj
