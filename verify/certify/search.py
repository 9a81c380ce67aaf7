"""Where no certificate exists: a function in S(mu, L) on which the rule does not converge.

Lessard, Recht & Packard (2016), SIAM J. Optim. 26(1), §4.6: heavy ball with Polyak's tuning for kappa = 25
(alpha = 1/9, beta = 4/9) cycles on the 1-D function with gradient 25y (y < 1), y + 24 (1 <= y < 2),
25y - 24 (y >= 2).  The search tries such functions: gradients continuous and piecewise linear, zero at the
minimiser 0, slopes mu or L on at most three pieces (the first break at 1: the dynamics are invariant under
scaling y), each from a grid of starting states (theta on a grid, the other entries from the rule's init,
and a few random states), all simulated at once in float64 for a few thousand steps.  A trajectory that
neither converges nor blows up and repeats with a period p <= 50 is a candidate; it is proved with
:func:`derive.analysis.counterexample.exact_cycle` (the periodic state solved in rationals and the rule's
update run exactly around it), then the rule's NumPy map is run from the exact cycle for a few periods and
must stay on it.  A trajectory that blows up is reported as "diverges" (checked by running only).
"""
from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

#: breaks b > 1 of the pieces (1, b), and c > 0 of (-c, 1)
B_GRID = tuple(Fraction(4 + k, 4) for k in range(1, 17)) + tuple(Fraction(k) for k in (6, 8, 10, 15, 20))
C_GRID = tuple(Fraction(k, 4) for k in range(1, 9)) + tuple(Fraction(k) for k in (3, 4, 6, 10))
#: starting theta: +- a geometric grid
X0 = np.concatenate([np.geomspace(0.2, 30.0, 20), -np.geomspace(0.2, 30.0, 20)])
RANDOM_STARTS = 12
STEPS = 2000
WINDOW = 120
MAX_PERIOD = 50
CHECK_PERIODS = 10


def _intercepts(breaks, slopes, zero_piece: int) -> list[Fraction]:
    """Intercepts making the gradient continuous with g(0) = 0 (0 lies in piece ``zero_piece``)."""
    c = [None] * len(slopes)
    c[zero_piece] = Fraction(0)
    for i in range(zero_piece, len(slopes) - 1):  # to the right: s_i b + c_i = s_{i+1} b + c_{i+1}
        c[i + 1] = c[i] + (slopes[i] - slopes[i + 1]) * breaks[i]
    for i in range(zero_piece, 0, -1):
        c[i - 1] = c[i] + (slopes[i] - slopes[i - 1]) * breaks[i - 1]
    return c


def functions(mu, L) -> list[tuple[tuple, tuple, tuple]]:
    """The candidate gradients as (breaks, slopes, intercepts) of Fractions (see the module docstring)."""
    m, big_l = Fraction(str(mu)), Fraction(str(L))
    out = []

    def add(breaks, slopes):
        zero = sum(1 for b in breaks if b <= 0)
        out.append((tuple(breaks), tuple(slopes), tuple(_intercepts(breaks, slopes, zero))))

    for a, b in ((big_l, m), (m, big_l)):
        for br in B_GRID:
            add((Fraction(1), br), (a, b, a))
        for c in C_GRID:
            add((-c, Fraction(1)), (a, b, a))
        add((Fraction(1),), (a, b))
        add((), (a,))
    order = {2: 0, 3: 1, 1: 2}  # the LRP shape (three pieces) early among equals
    out.sort(key=lambda f: order.get(len(f[1]), 3))
    return out


def _batched_gradient(fs, rep: int):
    """A vectorised gradient over a batch: element j uses function fs[j // rep]."""
    k = len(fs)
    b1 = np.full(k, np.inf)
    b2 = np.full(k, np.inf)
    s = np.zeros((3, k))
    c = np.zeros((3, k))
    for j, (br, sl, ic) in enumerate(fs):
        if len(br) > 0:
            b1[j] = float(br[0])
        if len(br) > 1:
            b2[j] = float(br[1])
        for i in range(3):
            s[i, j] = float(sl[min(i, len(sl) - 1)])
            c[i, j] = float(ic[min(i, len(ic) - 1)])
    b1, b2 = np.repeat(b1, rep), np.repeat(b2, rep)
    s, c = np.repeat(s, rep, axis=1), np.repeat(c, rep, axis=1)

    def grad(y):
        y = np.asarray(y, dtype=float)
        return np.where(y < b1, s[0] * y + c[0], np.where(y < b2, s[1] * y + c[1], s[2] * y + c[2]))

    return grad


def _scalar_gradient(f):
    br = [float(b) for b in f[0]]
    sl = [float(s) for s in f[1]]
    ic = [float(c) for c in f[2]]

    def grad(y):
        y = float(y)
        i = sum(1 for b in br if y >= b)
        return sl[i] * y + ic[i]

    return grad


def _starts(rule, floats: dict, seed: int = 0) -> np.ndarray:
    """Starting states, shape (n_state, n_starts): theta on the grid X0 with the other entries from the rule's
    init, then a few random states."""
    import sympy as sp

    hyper_syms = list(rule.hyper.values())
    init = sp.lambdify([rule.theta, *hyper_syms], list(rule.init), "numpy")
    hv = [floats[k] for k in rule.hyper]
    cols = []
    for x0 in X0:
        rest = [float(v) for v in init(float(x0), *hv)] if rule.init else []
        cols.append([float(x0), *rest])
    rng = np.random.default_rng(seed)
    for _ in range(RANDOM_STARTS):
        cols.append(list(rng.normal(size=len(rule.state)) * 3.0))
    return np.array(cols, dtype=float).T


def _periods(hist: np.ndarray, max_period: int) -> np.ndarray:
    """Smallest p in 2..max_period with hist[t] == hist[t - p] (to 1e-9 relative) over the window's second half;
    0 where none.  hist: (window, n_state, batch)."""
    w = hist.shape[0]
    scale = np.max(np.abs(hist), axis=(0, 1))
    tail = hist[w // 2:]
    out = np.zeros(hist.shape[2], dtype=int)
    for p in range(2, min(max_period, w // 2) + 1):
        err = np.max(np.abs(tail - hist[w // 2 - p: w - p]), axis=(0, 1))
        hit = (out == 0) & (err <= 1e-9 * np.maximum(scale, 1e-300))
        out[hit] = p
    return out


def _pq(f):
    import sympy as sp

    from derive.analysis.counterexample import PiecewiseQuadratic

    r = lambda x: sp.Rational(x.numerator, x.denominator)  # noqa: E731
    return PiecewiseQuadratic(tuple(r(b) for b in f[0]), tuple(r(s) for s in f[1]), tuple(r(c) for c in f[2]))


def _describe(f) -> str:
    def piece(s, c):
        s_txt = "" if s == 1 else f"{s}"
        c_txt = "" if c == 0 else (f" + {c}" if c > 0 else f" - {-c}")
        return f"{s_txt}y{c_txt}"

    br, sl, ic = f
    if not br:
        return piece(sl[0], ic[0])
    parts = []
    for i, (s, c) in enumerate(zip(sl, ic)):
        lo = None if i == 0 else br[i - 1]
        hi = None if i == len(br) else br[i]
        cond = (f"y < {hi}" if lo is None else f"y >= {lo}" if hi is None else f"{lo} <= y < {hi}")
        parts.append(f"{piece(s, c)} ({cond})")
    return ", ".join(parts)


def _function_json(f) -> dict:
    return {"gradient": _describe(f), "breaks": [str(b) for b in f[0]], "slopes": [str(s) for s in f[1]],
            "intercepts": [str(c) for c in f[2]], "minimizer": 0.0}


def _run(step, state: tuple, n: int) -> list[np.ndarray]:
    out = [np.array(state, dtype=float)]
    for _ in range(n):
        state = step(*state)
        out.append(np.array([float(x) for x in state]))
    return out


def check_cycle(rule, exact_values: dict, floats: dict, f, start, period: int, mu, L) -> dict | None:
    """exact_cycle, then CHECK_PERIODS periods of the NumPy map from the exact cycle start; None if either fails."""
    from derive.analysis.counterexample import exact_cycle

    pq = _pq(f)
    ok, why = pq.in_class(mu, L)
    if not ok:
        return None
    cyc = exact_cycle(rule, exact_values, pq, tuple(float(x) for x in start), period)
    if cyc is None:
        return None
    states = [[x for x in s] for s in cyc["states"]]
    fl = np.array([[float(x) for x in s] for s in states])
    step = rule.numpy_map(_scalar_gradient(f), **floats)
    traj = _run(step, tuple(fl[0]), CHECK_PERIODS * period)
    scale = max(1.0, float(np.max(np.abs(fl))))
    err = max(float(np.max(np.abs(x - fl[k % period]))) for k, x in enumerate(traj))
    if not err < 1e-9 * scale:
        return None
    names = ["theta", *rule.state_names]
    thetas = ", ".join(f"{float(s[0]):.6g}" for s in states)
    return {"kind": "cycle", "period": period, "function": _function_json(f), "in_class": why,
            "state_names": names,
            "states": [[float(x) for x in s] for s in states], "states_exact": [[str(x) for x in s] for s in states],
            "points": [[str(y) for y in (p if isinstance(p, (list, tuple)) else [p])] for p in cyc.get("points", [])],
            "summary": (f"{rule.name} has a period-{period} cycle on the function in S({mu}, {L}) with gradient "
                        f"{_describe(f)}: theta = {thetas}, ... (never reaches the minimiser 0)"),
            "checked": (f"exact: exact_cycle solved for the periodic state in rationals and ran the rule's update "
                        f"exactly around the cycle back to its start; float: {CHECK_PERIODS} periods of the NumPy map "
                        f"from it stay within {err:.1e} of the cycle")}


def search(rule, exact_values: dict, mu, L, fs=None, budget: float = 10.0, steps: int = STEPS,
           max_period: int = MAX_PERIOD) -> dict | None:
    """A counterexample (see the module docstring) or None.  ``fs``: the candidate functions (default
    :func:`functions`); ``exact_values``: hyperparameters by protocol name (exact numbers)."""
    start_time = time.perf_counter()
    rule = rule.asymptotic()[0]
    floats = {k: float(v) for k, v in exact_values.items()}
    fs = functions(mu, L) if fs is None else list(fs)
    starts = _starts(rule, floats)
    n_state, rep = starts.shape
    grad = _batched_gradient(fs, rep)
    step = rule.numpy_map(grad, **floats)
    state = tuple(np.tile(starts[i], len(fs)) for i in range(n_state))
    x0 = np.max(np.abs(np.array(state)), axis=0) + 1.0
    hist = np.zeros((WINDOW, n_state, len(state[0])))
    diverged_at = np.full(len(state[0]), -1)
    with np.errstate(all="ignore"):
        for k in range(steps):
            arr = np.array(np.broadcast_arrays(*(np.asarray(s, dtype=float) for s in step(*state))))
            state = tuple(arr)
            big = ~np.all(np.isfinite(arr), axis=0) | (np.max(np.abs(arr), axis=0) > 1e12 * x0)
            new = big & (diverged_at < 0)
            diverged_at[new] = k + 1
            if new.any():
                arr[:, big] = 0.0
                state = tuple(arr)
            if k >= steps - WINDOW:
                hist[k - (steps - WINDOW)] = arr
            if (k & 255) == 255 and time.perf_counter() - start_time > budget:
                break
        else:
            k = steps - 1
    if k == steps - 1:
        live = diverged_at < 0
        scale = np.max(np.abs(hist), axis=(0, 1))
        moving = live & (scale > 1e-6 * x0)
        periods = np.where(moving, _periods(hist, max_period), 0)
        order = sorted(np.nonzero(periods)[0], key=lambda j: (periods[j], j))
        tried = set()
        for j in order:
            fi = j // rep
            key = (fi, int(periods[j]))
            if key in tried:
                continue
            tried.add(key)
            if len(tried) > 12 or time.perf_counter() - start_time > budget:
                break
            got = check_cycle(rule, exact_values, floats, fs[fi], hist[-1][:, j], int(periods[j]), mu, L)
            if got is not None:
                got["seconds"] = time.perf_counter() - start_time
                return got
    bad = np.nonzero(diverged_at > 0)[0]
    if len(bad):
        j = int(bad[np.argmin(diverged_at[bad])])
        f = fs[j // rep]
        s0 = starts[:, j % rep]
        return {"kind": "diverges", "period": None, "function": _function_json(f),
                "start": [float(x) for x in s0], "state_names": ["theta", *rule.state_names],
                "summary": (f"{rule.name} diverges on the function in S({mu}, {L}) with gradient {_describe(f)} "
                            f"from theta = {s0[0]:.6g}"),
                "checked": (f"float only (not proved): the NumPy map's state grew beyond 1e12 times its start in "
                            f"{int(diverged_at[j])} steps"),
                "seconds": time.perf_counter() - start_time}
    return None
