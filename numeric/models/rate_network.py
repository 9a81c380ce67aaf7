"""Firing-rate networks as ODEs, learning as a slow flow on W, and a linearly read-out population code.

    tau dx/dt = -x + W phi(x) + I          fast neural dynamics (time constant tau)
    dW/dt     = eps G(W, x)                slow learning (rate eps << 1/tau)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, root
from scipy.special import expit

from numeric.validation import _int, _real, _vector

__all__ = ["RateNetwork", "learning_rule", "two_timescale_learning", "quasi_static_learning",
           "population_code", "linear_readout", "decode_error"]

# name -> (phi, phi', sup|phi| or None when unbounded); relu'(0) is taken as 0.
_PHI = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2, 1.0),
    "linear": (lambda x: 1.0 * x, lambda x: np.ones_like(x), None),
    "sigmoid": (expit, lambda x: expit(x) * (1.0 - expit(x)), 1.0),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float), None),
}
_METHODS = ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")
_IMPLICIT = ("Radau", "BDF", "LSODA")  # these use a Jacobian: we pass the analytic one
_RULES = ("gradient", "delta")


def _solve(rhs, y0, t_end, n_eval, method, rtol, atol, jac=None):
    """solve_ivp on [0, t_end] at n_eval equally spaced times (ValueError for an unknown method,
    RuntimeError if the solver fails); ``jac`` is passed to the implicit methods only."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, got {method!r}")
    rtol, atol = _real("rtol", rtol, 0.0), _real("atol", atol, 0.0)
    t_eval = np.linspace(0.0, t_end, n_eval)
    kw = {"jac": jac} if jac is not None and method in _IMPLICIT else {}
    sol = solve_ivp(rhs, (0.0, t_end), y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol, **kw)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed ({method}): {sol.message}")
    return sol.t, sol.y.T


def _equilibrium(W, I, tau, name, x0, tol):
    """A root of F(x) = (-x + W phi(x) + I)/tau near x0, or None.

    scipy.optimize.root (MINPACK hybr, analytic Jacobian), then up to 10 Newton steps
    x <- x - J^{-1} F; accepted only if ||F(x)||_2 <= tol.
    """
    phi, dphi, _ = _PHI[name]
    f = lambda x: (-x + W @ phi(x) + I) / tau  # noqa: E731
    jac = lambda x: (-np.eye(x.size) + W * dphi(x)) / tau  # noqa: E731
    with np.errstate(all="ignore"):
        x = root(f, np.array(x0, float), jac=jac, method="hybr", options={"xtol": 1e-14}).x
        for _ in range(10):
            r = f(x)
            if not np.all(np.isfinite(r)):
                return None
            if np.linalg.norm(r) <= tol:
                return x
            try:
                x = x - np.linalg.solve(jac(x), r)
            except np.linalg.LinAlgError:
                return None
    return None


@dataclass(frozen=True, eq=False, init=False)
class RateNetwork:
    """tau dx/dt = -x + W phi(x) + I, x in R^n; phi in {"tanh", "linear", "sigmoid", "relu"}.

    Construct as ``RateNetwork(W, I, tau=1.0, phi="tanh")``; the name is stored as
    ``nonlinearity`` (``phi`` is the method phi(x)). W and I are read-only copies.
    """

    W: np.ndarray
    I: np.ndarray
    tau: float
    nonlinearity: str

    def __init__(self, W, I, tau: float = 1.0, phi: str = "tanh"):
        try:
            W = np.array(W, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"W must be a square matrix of real numbers, got {type(W).__name__}") from None
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.size == 0:
            raise ValueError(f"W must be a non-empty square (n, n) matrix, got shape {W.shape}")
        if not np.isfinite(W).all():
            raise ValueError("W must be finite, got nan/inf entries")
        I = _vector("I", I).copy()
        if I.shape != (W.shape[0],):
            raise ValueError(f"I must have shape ({W.shape[0]},) to match W {W.shape}, got {I.shape}")
        if not isinstance(phi, str) or phi not in _PHI:
            raise ValueError(f"phi must be one of {', '.join(_PHI)}, got {phi!r}")
        W.setflags(write=False)
        I.setflags(write=False)
        for k, v in (("W", W), ("I", I), ("tau", _real("tau", tau, 0.0)), ("nonlinearity", phi)):
            object.__setattr__(self, k, v)

    @property
    def n(self) -> int:
        """Number of units."""
        return self.I.size

    def _x(self, name: str, x) -> np.ndarray:
        """x as a float vector of shape (n,), else ValueError."""
        x = _vector(name, x)
        if x.shape != (self.n,):
            raise ValueError(f"{name} must have shape ({self.n},) to match the {self.n}-unit network, got {x.shape}")
        return x

    def phi(self, x) -> np.ndarray:
        """The rate nonlinearity phi(x), elementwise."""
        return _PHI[self.nonlinearity][0](np.asarray(x, dtype=float))

    def dphi(self, x) -> np.ndarray:
        """phi'(x) elementwise (tanh: 1 - tanh^2, sigmoid: s(1 - s), relu: 1[x > 0])."""
        return _PHI[self.nonlinearity][1](np.asarray(x, dtype=float))

    def vector_field(self, x) -> np.ndarray:
        """F(x) = (-x + W phi(x) + I) / tau."""
        x = self._x("x", x)
        return (-x + self.W @ self.phi(x) + self.I) / self.tau

    def vector_field_t(self, t, x) -> np.ndarray:
        """F(x) with the (t, x) signature of solve_ivp (the system is autonomous)."""
        return self.vector_field(x)

    def jacobian(self, x) -> np.ndarray:
        """dF/dx = (-Id + W diag(phi'(x))) / tau."""
        x = self._x("x", x)
        return (-np.eye(self.n) + self.W * self.dphi(x)) / self.tau

    def _radius(self) -> np.ndarray:
        """Half-widths of the start box. Bounded phi (|phi| <= 1): every fixed point has
        |x_i| = |sum_j W_ij phi(x_j) + I_i| <= sum_j |W_ij| + |I_i|, so the box holds them all.
        Unbounded phi: the heuristic (1 + ||I||_inf)(1 + ||W||_2) per coordinate."""
        if _PHI[self.nonlinearity][2] is not None:
            return np.abs(self.W).sum(axis=1) + np.abs(self.I) + 1e-3
        return np.full(self.n, (1.0 + np.abs(self.I).max()) * (1.0 + np.linalg.norm(self.W, 2)))

    def fixed_points(self, n_starts: int = 64, seed: int = 0, tol: float = 1e-10) -> np.ndarray:
        """Fixed points F(x*) = 0 found from x = 0 and n_starts uniform starts in the box of ``_radius``.

        Each start: scipy.optimize.root (hybr, analytic Jacobian) + Newton polish; kept only if
        ||F(x*)||_2 <= tol; duplicates (||x - y|| <= 1e-7 (1 + ||y||)) dropped. Returns a (k, n)
        array sorted lexicographically. Multi-start search: not a proof that none were missed.
        """
        n_starts = _int("n_starts", n_starts, 0)
        seed = _int("seed", seed, 0)
        tol = _real("tol", tol, 0.0)
        rng = np.random.default_rng(seed)
        starts = np.vstack([np.zeros(self.n), rng.uniform(-1.0, 1.0, (n_starts, self.n)) * self._radius()])
        found: list[np.ndarray] = []
        for x0 in starts:
            x = _equilibrium(self.W, self.I, self.tau, self.nonlinearity, x0, tol)
            if x is not None and all(np.linalg.norm(x - y) > 1e-7 * (1 + np.linalg.norm(y)) for y in found):
                found.append(x)
        found.sort(key=lambda v: tuple(np.round(v, 9)))
        return np.array(found, dtype=float).reshape(-1, self.n)

    def stability(self, x) -> dict:
        """Linear stability at x: eigenvalues of jacobian(x) (sorted by real, then imaginary part),
        max_real = max Re(lambda), stable = max_real < 0 (asymptotically stable if x is a fixed point)."""
        ev = np.linalg.eigvals(self.jacobian(x)).astype(complex)
        ev = ev[np.lexsort((ev.imag, ev.real))]
        max_real = float(ev.real.max())
        return {"eigenvalues": ev, "max_real": max_real, "stable": bool(max_real < 0)}

    def simulate(self, x0, t_end: float, n_eval: int = 201, method: str = "DOP853",
                 rtol: float = 1e-10, atol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
        """Integrate tau x' = -x + W phi(x) + I from x0 on [0, t_end]; returns (t, X), X of shape (n_eval, n).

        Default DOP853 (explicit, 8th order): accurate and cheap unless the network is stiff
        (very different time scales, e.g. large ||W||); then use "Radau", "BDF" or "LSODA",
        which are given the analytic ``jacobian``.
        """
        x0 = self._x("x0", x0)
        t_end = _real("t_end", t_end, 0.0)
        n_eval = _int("n_eval", n_eval, 2)
        W, I, tau, phi = self.W, self.I, self.tau, self.phi
        return _solve(lambda t, x: (-x + W @ phi(x) + I) / tau, x0, t_end, n_eval, method, rtol, atol,
                      jac=lambda t, x: self.jacobian(x))

    def _scalar_roots(self, w: float, c: float) -> list[float]:
        """All u with u = w phi(u) + c (degenerate linear/relu cases with w = 1 give none)."""
        if self.nonlinearity == "linear":
            return [c / (1.0 - w)] if w != 1 else []
        if self.nonlinearity == "relu":
            return ([c] if c <= 0 else []) + ([c / (1.0 - w)] if w != 1 and c / (1.0 - w) > 0 else [])
        u = np.linspace(c - abs(w) - 1.0, c + abs(w) + 1.0, 4001)  # |phi| <= 1: roots have |u - c| <= |w|
        h = -u + w * self.phi(u) + c
        out = list(u[h == 0])
        for k in np.flatnonzero(h[:-1] * h[1:] < 0):
            out.append(brentq(lambda z: -z + w * float(self.phi(z)) + c, u[k], u[k + 1], xtol=1e-15))
        return sorted(out)

    def nullclines(self, grid) -> tuple[np.ndarray, np.ndarray]:
        """Nullclines of a 2-unit network, as point sets (m, 2) with columns (x1, x2).

        dx_i/dt = 0  <=>  x_i - W_ii phi(x_i) = W_ij phi(x_j) + I_i   (j = the other unit).
        With W_ii = 0 this is the graph x_i = W_ij phi(x_j) + I_i, a function of the other
        coordinate. With self-coupling, x_i still solves a scalar equation for each fixed x_j,
        but it may have several roots (tanh: up to 3 when W_ii > 1; sigmoid: when W_ii > 4), so
        unit 1's nullcline is returned as all (x1, x2) with x2 in ``grid`` and x1 each root, and
        unit 2's as all (x1, x2) with x1 in ``grid``. Roots are bracketed on a 4001-point scan and
        refined by brentq; tangential (double) roots can be missed.
        """
        if self.n != 2:
            raise ValueError(f"nullclines needs a 2-unit network, got n = {self.n}")
        grid = _vector("grid", grid)
        out = []
        for i in (0, 1):
            j = 1 - i
            pts = []
            for v in grid:
                for r in self._scalar_roots(self.W[i, i], self.W[i, j] * float(self.phi(v)) + self.I[i]):
                    pts.append((r, v) if i == 0 else (v, r))
            out.append(np.array(pts, dtype=float).reshape(-1, 2))
        return out[0], out[1]


def _rule(net: RateNetwork, W, x, target, rule: str) -> np.ndarray:
    """G(W, x) with e = target - phi(x), D = diag(phi'(x)):
    "delta": e phi(x)^T;  "gradient": (Id - D W^T)^{-1} D e phi(x)^T."""
    p = net.phi(x)
    e = target - p
    if rule == "delta":
        return np.outer(e, p)
    d = net.dphi(x)
    return np.outer(np.linalg.solve(np.eye(x.size) - d[:, None] * W.T, d * e), p)


def learning_rule(net: RateNetwork, target, x=None, rule: str = "gradient") -> np.ndarray:
    """G(W, x) at W = net.W (see ``two_timescale_learning``); x defaults to x*(W) found from 0.

    For rule "gradient" and x = x*(W): G = -dL/dW, L(W) = 1/2 ||target - phi(x*(W))||^2.
    """
    target, *_ = _learning_args(net, target, 1.0, 1.0, rule, 2, None)
    x = _start(net, np.zeros(net.n), net.W) if x is None else net._x("x", x)
    return _rule(net, net.W, x, target, rule)


def _learning_args(net, target, eps, t_end, rule, n_eval, x0):
    """Validate the learning functions' shared arguments (x0 stays None if None)."""
    if not isinstance(net, RateNetwork):
        raise ValueError(f"net must be a RateNetwork, got {type(net).__name__}")
    target = _vector("target", target)
    if target.shape != (net.n,):
        raise ValueError(f"target must have shape ({net.n},) to match the network, got {target.shape}")
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {', '.join(_RULES)}, got {rule!r}")
    x0 = None if x0 is None else net._x("x0", x0)
    return target, _real("eps", eps, 0.0), _real("t_end", t_end, 0.0), _int("n_eval", n_eval, 2), x0


def _start(net, x0, W):
    """x*(W) near x0, or RuntimeError."""
    x = _equilibrium(W, net.I, net.tau, net.nonlinearity, x0, 1e-12)
    if x is None:
        raise RuntimeError("could not find the equilibrium x*(W) of the fast dynamics; pass an x0 near one")
    return x


def two_timescale_learning(net: RateNetwork, target, eps: float, t_end: float, x0=None, rule: str = "gradient",
                           n_eval: int = 201, method: str = "LSODA", rtol: float = 1e-9, atol: float = 1e-11):
    """Joint fast/slow ODE for y = (x, W), W = net.W at t = 0, x(0) = x0 (default: x*(W0) found from 0):

        tau x' = -x + W phi(x) + I,        W' = eps G(W, x),        e = target - phi(x).

    rule "gradient": G = (Id - D W^T)^{-1} D e phi(x)^T, D = diag(phi'(x)) (Almeida-Pineda recurrent
    backprop). At x = x*(W) (x* = W phi(x*) + I) the implicit function theorem gives
    dx* = (Id - W D)^{-1} dW phi, so for L(W) = 1/2 ||target - phi(x*(W))||^2, -dL/dW = G exactly:
    quasi-statically this is the gradient flow W' = -eps grad L. In the joint ODE x lags x*(W)
    by O(eps tau), so it is a gradient flow only up to that error.
    rule "delta": G = e phi(x)^T drops the factor M = (Id - D W^T)^{-1} D = (D^{-1} - W^T)^{-1}: not a
    gradient flow of L, but quasi-statically dL/dt = -eps |phi|^2 e^T M e < 0 whenever
    D^{-1} - (W + W^T)/2 is positive definite (tanh: e.g. when sym(W) has eigenvalues < 1).
    LSODA by default: the joint system is stiff (ratio 1/(eps tau)); it estimates its own Jacobian.
    Returns (t, X, Ws, loss): X (n_eval, n), Ws (n_eval, n, n), loss = 1/2 ||target - phi(x(t))||^2.
    """
    target, eps, t_end, n_eval, x0 = _learning_args(net, target, eps, t_end, rule, n_eval, x0)
    n, I, tau = net.n, net.I, net.tau
    if x0 is None:
        x0 = _start(net, np.zeros(n), net.W)

    def rhs(t, y):
        x, W = y[:n], y[n:].reshape(n, n)
        dx = (-x + W @ net.phi(x) + I) / tau
        return np.concatenate([dx, eps * _rule(net, W, x, target, rule).ravel()])

    t, Y = _solve(rhs, np.concatenate([x0, net.W.ravel()]), t_end, n_eval, method, rtol, atol)
    X = Y[:, :n]
    return t, X, Y[:, n:].reshape(-1, n, n), 0.5 * np.sum((target - net.phi(X)) ** 2, axis=1)


def quasi_static_learning(net: RateNetwork, target, eps: float, t_end: float, x0=None, rule: str = "gradient",
                          n_eval: int = 201, method: str = "DOP853", rtol: float = 1e-10, atol: float = 1e-12):
    """The slow flow alone: W' = eps G(W, x*(W)), x*(W) the equilibrium solved at every RHS call.

    x* is continued along the branch: each solve (root + Newton, ||F|| <= 1e-12) starts from the
    previous one; the first from x0 (default 0). Differs from ``two_timescale_learning`` by
    O(eps tau) for times O(1/eps) (Tikhonov/Fenichel), if the branch stays stable.
    Returns (t, X*, Ws, loss) shaped as in ``two_timescale_learning``; X*[k] = x*(Ws[k]).
    """
    target, eps, t_end, n_eval, x0 = _learning_args(net, target, eps, t_end, rule, n_eval, x0)
    n = net.n
    x0 = np.zeros(n) if x0 is None else x0
    last = [_start(net, x0, net.W)]

    def xstar(W):
        last[0] = _start(net, last[0], W)
        return last[0]

    def rhs(t, w):
        W = w.reshape(n, n)
        return eps * _rule(net, W, xstar(W), target, rule).ravel()

    t, Y = _solve(rhs, net.W.ravel().copy(), t_end, n_eval, method, rtol, atol)
    last[0] = _start(net, x0, net.W)
    Ws = Y.reshape(-1, n, n)
    X = np.array([xstar(W) for W in Ws])
    return t, X, Ws, 0.5 * np.sum((target - net.phi(X)) ** 2, axis=1)


def _interval(interval) -> tuple[float, float]:
    """(a, b) with a < b, else ValueError."""
    a, b = _vector("interval", interval, 2)
    if not a < b:
        raise ValueError(f"interval must be (a, b) with a < b, got ({a:g}, {b:g})")
    return float(a), float(b)


def population_code(s, n_units: int, width: float, seed: int = 0, noise: float = 0.0, interval=(0.0, 1.0)):
    """Responses r_i(s) = exp(-(s - c_i)^2 / (2 width^2)) + noise xi_i, xi_i ~ N(0, 1) i.i.d. (seeded).

    Preferred stimuli c_i = a + (i + 1/2)(b - a)/N tile the interval [a, b]; s must lie in it.
    Returns an array (len(s), n_units).
    """
    s = _vector("s", s)
    n_units = _int("n_units", n_units, 1)
    width = _real("width", width, 0.0)
    noise = _real("noise", noise, 0.0, strict=False)
    a, b = _interval(interval)
    if s.min() < a or s.max() > b:
        raise ValueError(f"s must lie in the interval [{a:g}, {b:g}], got values in [{s.min():g}, {s.max():g}]")
    c = a + (np.arange(n_units) + 0.5) * (b - a) / n_units
    r = np.exp(-((s[:, None] - c[None, :]) ** 2) / (2.0 * width**2))
    return r + noise * np.random.default_rng(_int("seed", seed, 0)).standard_normal(r.shape)


def linear_readout(responses, s) -> np.ndarray:
    """Least-squares decoder w = argmin ||[R, 1] w - s||_2 (min-norm if rank deficient); s_hat = [R, 1] w.

    Returns w of length n_units + 1, the bias last.
    """
    s = _vector("s", s)
    R = np.asarray(responses, dtype=float)
    if R.ndim != 2 or R.shape[0] != s.size or not np.isfinite(R).all():
        raise ValueError(f"responses must be a finite ({s.size}, n_units) array matching s, got shape {R.shape}")
    return np.linalg.lstsq(np.column_stack([R, np.ones(s.size)]), s, rcond=None)[0]


def decode_error(n_units: int, width: float = 0.1, noise: float = 0.1, n_train: int = 2000, n_test: int = 1000,
                 seed: int = 0, interval=(0.0, 1.0)) -> float:
    """RMS error sqrt(mean (s_hat - s)^2) of ``linear_readout`` on held-out stimuli.

    Train and test stimuli are independent uniform draws on the interval, each with its own
    noise; the decoder is fit on the training set only.
    """
    rng = np.random.default_rng(_int("seed", seed, 0))
    a, b = _interval(interval)
    s_tr = rng.uniform(a, b, _int("n_train", n_train, 2))
    s_te = rng.uniform(a, b, _int("n_test", n_test, 1))
    k_tr, k_te = (int(k) for k in rng.integers(0, 2**31, size=2))
    w = linear_readout(population_code(s_tr, n_units, width, k_tr, noise, (a, b)), s_tr)
    R_te = population_code(s_te, n_units, width, k_te, noise, (a, b))
    return float(np.sqrt(np.mean((np.column_stack([R_te, np.ones(s_te.size)]) @ w - s_te) ** 2)))
