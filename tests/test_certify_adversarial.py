"""Adversarial checks of ``ldyn certify``: is a printed certified rate a theorem about the rule that was reported?

* every certificate is re-checked from its printed exact strings by an independent construction (hand-derived
  A, B, C, D; the LMI of LRP Theorem 4 built from scratch in ``fractions.Fraction``; exact elimination);
* the state-space form is compared with the rule's own NumPy update on nonquadratic functions;
* the Lyapunov function V = s^T P s, s = (xi - xi*, zeta), zeta_0 = 0, of each certificate is run on the rule
  itself over random functions in S(mu, L) (1-D piecewise quadratics with slopes in [mu, L]; n-D quadratics
  plus softplus / log-cosh ridges with the Hessian kept in [mu, L]): V_k <= rate^(2k) V_0 must hold;
* hyperparameters out of range must not be certified, and the LRP counterexample is re-run with Fractions.

The three "Regression" tests at the end are bugs this review found, now fixed (see their docstrings).
"""
from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest

from verify.certify import certify

MU, L10 = 1, 10
TM = {"lr": "(1 + (1 - 1/sqrt(kappa)))/L", "beta": "(1 - 1/sqrt(kappa))**2/(2 - (1 - 1/sqrt(kappa)))",
      "gamma": "(1 - 1/sqrt(kappa))**2/((2 - (1 - 1/sqrt(kappa)))*(1 + (1 - 1/sqrt(kappa))))"}
NESTEROV = {"lr": "1/L", "momentum": "(sqrt(kappa)-1)/(sqrt(kappa)+1)"}
EXTRAGRADIENT = """name: eg
title: Extragradient
hyper: lr=0.05
half = theta - lr*g(theta)
theta = theta - lr*g(half)
"""
#: the oracle used twice at the same point in two entries, plus a look-ahead: two inputs, D = 0
TWICE = """name: twice
title: gradient twice at one point, and a look-ahead
hyper: lr=0.05, c=0.5, beta=0.3
state: v=0
v = beta*v - lr*g(theta) - c*lr*g(theta + beta*v)
theta = theta + v - lr*c*g(theta)
"""

CASES = {  # id -> (spec, mu, L, values, iqc)
    "gd": ("gd", MU, L10, {"lr": "1/L"}, "off-by-one"),
    "gd-sector-wd": ("gd", MU, L10, {"lr": "0.1", "weight_decay": "2"}, "sector"),
    "heavy-ball": ("heavy-ball", MU, L10, {"lr": "1/L", "momentum": "0.3"}, "off-by-one"),
    "nesterov": ("nesterov", MU, L10, NESTEROV, "off-by-one"),
    "triple-momentum": ("triple-momentum", MU, L10, TM, "off-by-one"),
    "qhm": ("qhm", MU, L10, {"lr": "0.15", "momentum": "0.5", "nu": "0.7"}, "off-by-one"),
    "aggmo": ("aggmo", MU, L10, {"lr": "0.08", "beta1": "0", "beta2": "0.5"}, "off-by-one"),
    "sgd": ("sgd", MU, L10, {"lr": "0.1", "momentum": "0.3", "dampening": "0.5", "weight_decay": "0.5"},
            "off-by-one"),
    "nesterov-buffer": ("nesterov-buffer", MU, L10, {"lr": "0.1", "momentum": "0.3"}, "off-by-one"),
    "extragradient": (EXTRAGRADIENT, MU, L10, {"lr": "0.05"}, "off-by-one"),
    "twice": (TWICE, MU, L10, {"lr": "0.05", "c": "0.5", "beta": "0.3"}, "off-by-one"),
}
_CACHE: dict = {}


@pytest.fixture(scope="module")
def rule_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    (d / "eg.rule").write_text(EXTRAGRADIENT)
    (d / "twice.rule").write_text(TWICE)
    return d


def _spec(spec, rule_dir):
    if spec == EXTRAGRADIENT:
        return str(rule_dir / "eg.rule")
    if spec == TWICE:
        return str(rule_dir / "twice.rule")
    return spec


def run(case, rule_dir):
    if case not in _CACHE:
        spec, mu, L, values, iqc = CASES[case]
        rep = certify(_spec(spec, rule_dir), mu, L, values, iqc, counterexample=False)
        rep["_spec"] = _spec(spec, rule_dir)
        _CACHE[case] = rep
    return _CACHE[case]


# -- an independent exact check -----------------------------------------------------------------------------
def hand_abcd(case, h):
    """A, B, C, D derived by hand (state order as the rule's; inputs in evaluation order)."""
    lr = h["lr"]
    if case.startswith("gd"):
        return [[1 - lr * h["weight_decay"]]], [[-lr]], [[1]], [[0]]
    if case == "heavy-ball":  # v+ = b v - lr g(theta), theta+ = theta + v+
        b = h["momentum"]
        return [[1, b], [0, b]], [[-lr], [-lr]], [[1, 0]], [[0]]
    if case == "nesterov":  # the same with g(theta + b v)
        b = h["momentum"]
        return [[1, b], [0, b]], [[-lr], [-lr]], [[1, b]], [[0]]
    if case == "triple-momentum":  # xi+ = (1+b) xi - b prev - lr g((1+c) xi - c prev), prev+ = xi
        b, c = h["beta"], h["gamma"]
        return [[1 + b, -b], [1, 0]], [[-lr], [0]], [[1 + c, -c]], [[0]]
    if case == "qhm":  # m+ = b m + (1-b) g, theta+ = theta - lr((1-nu) g + nu m+)
        b, nu = h["momentum"], h["nu"]
        return [[1, -lr * nu * b], [0, b]], [[-lr * (1 - nu * b)], [1 - b]], [[1, 0]], [[0]]
    if case == "aggmo":  # v_i+ = b_i v_i - g, theta+ = theta + lr (v1+ + v2+)/2
        b1, b2 = h["beta1"], h["beta2"]
        return [[1, lr * b1 / 2, lr * b2 / 2], [0, b1, 0], [0, 0, b2]], [[-lr], [-1], [-1]], [[1, 0, 0]], [[0]]
    if case == "sgd":  # torch, t -> oo: gh = g + wd theta, b+ = m b + (1-d) gh, theta+ = theta - lr b+
        m, d, wd = h["momentum"], h["dampening"], h["weight_decay"]
        return ([[1 - lr * (1 - d) * wd, -lr * m], [(1 - d) * wd, m]], [[-lr * (1 - d)], [1 - d]], [[1, 0]], [[0]])
    if case == "nesterov-buffer":  # b+ = m b + g(phi), phi+ = phi - lr (g + m b+)
        m = h["momentum"]
        return [[1, -lr * m * m], [0, m]], [[-lr * (1 + m)], [1]], [[1, 0]], [[0]]
    if case == "extragradient":  # u1 = g(theta), u2 = g(theta - lr u1), theta+ = theta - lr u2
        return [[1]], [[0, -lr]], [[1], [1]], [[0, 0], [-lr, 0]]
    if case == "twice":  # u1 = g(theta), u2 = g(theta + beta v)
        c, b = h["c"], h["beta"]
        return [[1, b], [0, b]], [[-lr - c * lr, -c * lr], [-lr, -c * lr]], [[1, 0], [1, b]], [[0, 0], [0, 0]]
    raise KeyError(case)


def _mm(X, Y):
    return [[sum((X[i][k] * Y[k][j] for k in range(len(Y))), F(0)) for j in range(len(Y[0]))] for i in range(len(X))]


def _psd(M, strict=False) -> bool:
    """Exact: symmetric M positive (semi)definite, by symmetric elimination in Fractions."""
    S = [row[:] for row in M]
    n = len(S)
    for k in range(n):
        d = S[k][k]
        if d < 0 or (strict and d == 0):
            return False
        if d == 0:
            if any(S[j][k] != 0 for j in range(k + 1, n)):
                return False
            continue
        for i in range(k + 1, n):
            f = S[i][k] / d
            for j in range(k + 1, n):
                S[i][j] -= f * S[k][j]
    return True


def independent_check(case, rep) -> bool:
    """P > 0, multipliers >= 0 and LMI <= 0 (LRP Theorem 4 with the sector and rho-weighted off-by-one IQCs,
    the latter zeta+ = -L y + u, z1 = rho^2 zeta + L y - u, z2 = u - mu y), all from the printed strings."""
    h = {k: F(v) for k, v in rep["hyperparameters_exact"].items()}
    A, B, C, D = ([[F(x) for x in r] for r in M] for M in hand_abcd(case, h))
    mu, L, rho = F(repr(rep["mu"])), F(repr(rep["L"])), F(rep["rate_exact"])
    assert float(rho) == rep["rate"]
    off = rep["iqc"] == "off-by-one"
    assert not off or rho <= 1
    n, p = len(A), len(B[0])
    N = n + (p if off else 0)
    AB = [[F(0)] * (N + p) for _ in range(N)]  # the rows of (Ahat | Bhat)
    for i in range(n):
        AB[i][:n], AB[i][N:] = A[i][:], B[i][:]
    if off:
        for i in range(p):
            AB[n + i][:n] = [-L * c for c in C[i]]
            AB[n + i][N:] = [-L * d + (1 if j == i else 0) for j, d in enumerate(D[i])]
    P = [[F(x) for x in r] for r in rep["lyapunov_exact"]]
    assert P == [list(r) for r in zip(*P)], "P not symmetric"
    M = _mm([list(r) for r in zip(*AB)], _mm(P, AB))
    for i in range(N):
        for j in range(N):
            M[i][j] -= rho * rho * P[i][j]
    for i in range(p):
        tag = "u" if p == 1 else f"u{i + 1}"
        y = C[i] + [F(0)] * (N - n) + D[i]
        u = [F(0)] * (N + p)
        u[N + i] = F(1)
        z2 = [a - mu * b for a, b in zip(u, y)]
        z1 = [L * b - a for a, b in zip(u, y)]
        rows = [("sector", z1)]
        if off:
            z1o = z1[:]
            z1o[n + i] += rho * rho
            rows.append(("off-by-one", z1o))
        for kind, za in rows:
            lam = F(rep["multipliers_exact"][f"{kind}({tag})"])
            if lam < 0:
                return False
            for a in range(N + p):
                for b in range(N + p):
                    M[a][b] += lam * (za[a] * z2[b] + z2[a] * za[b])
    return _psd(P, strict=True) and _psd([[-x for x in r] for r in M])


@pytest.mark.parametrize("case", list(CASES))
def test_certificate_rechecked_independently(case, rule_dir):
    rep = run(case, rule_dir)
    assert rep["certificate_checked"] is True, rep["check"]
    assert rep["rate"] < 1
    assert rep["rate"] >= rep["quadratic_rate"] - 1e-9
    assert independent_check(case, rep)
    # and the exact strings are what the floats say
    assert np.allclose(rep["lyapunov"], [[float(F(x)) for x in r] for r in rep["lyapunov_exact"]], rtol=0, atol=0)


def test_independent_check_is_not_vacuous(rule_dir):
    rep = dict(run("heavy-ball", rule_dir))
    lower = F(rep["rate_exact"]) * F(999, 1000)  # the same P at a smaller rate must fail
    assert not independent_check("heavy-ball", {**rep, "rate_exact": str(lower), "rate": float(lower)})
    bumped = {**rep, "hyperparameters_exact": {**rep["hyperparameters_exact"], "momentum": "0.9"}}
    assert not independent_check("heavy-ball", bumped)


# -- the state space against the rule's own update, and the Lyapunov function on the rule itself -----------
def piecewise_1d(rng, mu, L):
    """f' continuous, piecewise linear, slopes in [mu, L] (mostly mu or L), f'(0) = 0."""
    nb = int(rng.integers(1, 6))
    breaks = np.sort(rng.normal(size=nb) * 2.0)
    pick = rng.random(nb + 1)
    slopes = np.where(pick < 0.35, mu, np.where(pick < 0.7, L, rng.uniform(mu, L, nb + 1)))
    zero = int(np.searchsorted(breaks, 0.0, side="right"))
    c = np.zeros(nb + 1)
    for i in range(zero, nb):
        c[i + 1] = c[i] + (slopes[i] - slopes[i + 1]) * breaks[i]
    for i in range(zero, 0, -1):
        c[i - 1] = c[i] + (slopes[i] - slopes[i - 1]) * breaks[i - 1]

    def grad(y):
        y = np.asarray(y, dtype=float)
        i = np.searchsorted(breaks, y, side="right")
        return slopes[i] * y + c[i]

    return grad


def smooth_nd(rng, mu, L, d=4, m=6):
    """grad of f(x) = x^T Q x/2 + sum_j w_j phi(a_j.x) - b.x with phi softplus (phi'' <= 1/4) or log cosh
    (phi'' <= 1), |a_j| = 1, spec(Q) in [mu, L - cap sum w]: Hessian in [mu, L] (Weyl); b makes x* = 0.
    Returns (grad, hessian)."""
    A = rng.normal(size=(m, d))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    softplus = bool(rng.integers(2))
    cap = 0.25 if softplus else 1.0
    w = rng.random(m)
    w *= 0.5 * (L - mu) / (cap * w.sum())
    top = L - cap * w.sum()
    ev = np.where(rng.random(d) < 0.5, mu, top) if rng.random() < 0.5 else rng.uniform(mu, top, d)
    O = np.linalg.qr(rng.normal(size=(d, d)))[0]
    Q = O @ np.diag(ev) @ O.T
    d1 = (lambda z: 0.5 * (1 + np.tanh(z / 2))) if softplus else np.tanh
    d2 = (lambda z: 0.25 / np.cosh(z / 2) ** 2) if softplus else (lambda z: 1 / np.cosh(z) ** 2)
    b = (A.T * w) @ d1(np.zeros(m))

    def grad(x):
        x = np.asarray(x, dtype=float)
        return np.tensordot(Q, x, 1) + np.tensordot(A.T * w, d1(np.tensordot(A, x, 1)), 1) - \
            b.reshape((d,) + (1,) * (x.ndim - 1))

    def hessian(x):
        return Q + (A.T * (w * d2(A @ x))) @ A

    return grad, hessian


def test_smooth_test_functions_are_in_the_class():
    rng = np.random.default_rng(0)
    for _ in range(30):
        grad, hess = smooth_nd(rng, 1.0, 10.0)
        assert np.allclose(grad(np.zeros(4)), 0, atol=1e-14)
        for _ in range(20):
            x = rng.normal(size=4) * 3
            ev = np.linalg.eigvalsh(hess(x))
            assert 1.0 - 1e-12 <= ev[0] and ev[-1] <= 10.0 + 1e-12
            h = 1e-6  # the Hessian is the derivative of grad
            num = np.array([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(4)]).T
            assert np.allclose(num, hess(x), atol=1e-6)
        g1 = piecewise_1d(rng, 1.0, 10.0)
        ys = np.sort(rng.normal(size=200) * 4)
        slopes = np.diff(g1(ys)) / np.diff(ys)
        assert g1(0.0) == 0 and np.all(slopes >= 1 - 1e-9) and np.all(slopes <= 10 + 1e-9)


def _setup(rep):
    import sympy as sp

    from derive.analysis.state_space import state_space
    from derive.rules.library import resolve

    rule = resolve(rep["_spec"])
    vals = {k: sp.Rational(v) for k, v in rep["hyperparameters_exact"].items()}
    base = state_space(rule)
    needed = set().union(*(M.free_symbols for M in (base.A, base.B, base.C, base.D)))
    ss = base.at({k: v for k, v in vals.items() if rule.hyper[k] in needed})
    P = np.array([[float(F(x)) for x in r] for r in rep["lyapunov_exact"]])
    return rule.asymptotic()[0], {k: float(v) for k, v in vals.items()}, ss.numeric(), P


def lyapunov_run(rep, grad, xi0, steps=120):
    """Run the rule's NumPy map from xi0 (fixed point 0: f' (0) = 0 and no offsets); return (max_k V_k /
    (rate^2k V_0), max deviation of the state-space step from the rule's step)."""
    rule, floats, (A, B, C, D), P = _setup(rep)
    step = rule.numpy_map(grad, **floats)
    L, rate = rep["L"], rep["rate"]
    n, p = B.shape
    xi = [np.array(s, dtype=float) for s in xi0]
    zeta = [np.zeros_like(xi[0]) for _ in range(P.shape[0] - n)]  # zeta_0 = 0

    def V(s):
        return sum(P[i, j] * np.sum(s[i] * s[j], axis=0) for i in range(len(s)) for j in range(len(s)))

    V0 = V(xi + zeta)
    worst = dev = 0.0
    for k in range(1, steps + 1):
        us, ys = [], []
        for i in range(p):
            y = sum(C[i, j] * xi[j] for j in range(n)) + sum(D[i, j] * us[j] for j in range(i))
            ys.append(y)
            us.append(grad(y))
        model = [sum(A[r, j] * xi[j] for j in range(n)) + sum(B[r, i] * us[i] for i in range(p)) for r in range(n)]
        if zeta:
            zeta = [-L * ys[i] + us[i] for i in range(p)]
        new = [np.broadcast_to(np.asarray(v, dtype=float), xi[0].shape).copy() for v in step(*xi)]
        scale = max(1.0, max(float(np.max(np.abs(v))) for v in xi))
        dev = max(dev, max(float(np.max(np.abs(a - b))) for a, b in zip(new, model)) / scale)
        xi = new
        worst = max(worst, float(np.max(V(xi + zeta) / (rate ** (2 * k) * V0 + 1e-20 * V0))))
    return worst, dev


@pytest.mark.parametrize("case", list(CASES))
def test_lyapunov_function_decays_on_the_rule_itself(case, rule_dir):
    rep = run(case, rule_dir)
    assert rep["certificate_checked"] is True
    n = len(_setup(rep)[2][0])
    rng = np.random.default_rng(sum(map(ord, case)))  # stable across runs (str hash is salted)
    worst = dev = 0.0
    for _ in range(8):
        w, d = lyapunov_run(rep, piecewise_1d(rng, rep["mu"], rep["L"]),
                            rng.normal(size=(n, 48)) * rng.choice([0.3, 1.0, 5.0], size=48))
        worst, dev = max(worst, w), max(dev, d)
        w, d = lyapunov_run(rep, smooth_nd(rng, rep["mu"], rep["L"])[0], rng.normal(size=(n, 4, 12)) * 2)
        worst, dev = max(worst, w), max(dev, d)
    assert dev < 1e-12  # the state-space form is the rule's own update, also off quadratics
    assert worst <= 1 + 1e-9  # V_k <= rate^(2k) V_0: the certificate holds on the rule itself


# -- out of range: no certificate may be printed --------------------------------------------------------------
@pytest.mark.parametrize("spec,values", [
    ("gd", {"lr": "-0.1"}), ("gd", {"lr": "0"}), ("gd", {"lr": "2/L"}), ("gd", {"lr": "2/L + 1e-9"}),
    ("gd", {"lr": "1e6"}), ("heavy-ball", {"lr": "0.01", "momentum": "1"}),
    ("heavy-ball", {"lr": "0.01", "momentum": "1.2"}), ("heavy-ball", {"lr": "0", "momentum": "0.5"}),
    ("qhm", {"lr": "0.15", "momentum": "0.5", "nu": "-3"}),
])
def test_out_of_range_is_not_certified(spec, values):
    rep = certify(spec, 1, 10, values, counterexample=False)
    assert rep["quadratic_rate"] >= 1 - 1e-12
    assert rep["rate"] is None and rep["certificate_checked"] is False


def test_negative_momentum_certificate_is_sound():
    rep = certify("heavy-ball", 1, 10, {"lr": "0.01", "momentum": "-0.5"}, counterexample=False)
    assert rep["certificate_checked"] is True and rep["quadratic_rate"] - 1e-9 <= rep["rate"] < 1
    assert independent_check("heavy-ball", rep)


@pytest.mark.parametrize("mu,L", [(1, 1.000001), (1e-8, 1e-7), (1, 1e6)])
def test_extreme_classes_gd(mu, L):
    rep = certify("gd", mu, L, {"lr": "1/L"}, counterexample=False)
    truth = 1 - F(repr(float(mu))) / F(repr(float(L)))
    assert rep["certificate_checked"] is True
    assert F(rep["rate_exact"]) >= truth  # never below the true rate (attained on mu y^2/2)
    assert rep["rate"] <= 1
    assert independent_check("gd", {**rep, "hyperparameters_exact": {**rep["hyperparameters_exact"],
                                                                     "weight_decay": "0"}})


def test_cli_set_formulas_certify_the_reported_numbers(capsys):
    from verify.cli import main

    code = main(["certify", "nesterov", "--mu", "1", "--L", "10", "--set", "lr=1/L",
                 "--set", "momentum=(sqrt(kappa)-1)/(sqrt(kappa)+1)", "--json"])
    assert code == 0
    rep = json.loads(capsys.readouterr().out)
    k = 10 ** 0.5
    assert rep["hyperparameters_exact"]["lr"] == "1/10"
    assert abs(float(F(rep["hyperparameters_exact"]["momentum"])) - (k - 1) / (k + 1)) < 1e-16
    assert rep["certificate_checked"] is True and independent_check("nesterov", rep)


# -- the counterexample, re-run with Fractions -------------------------------------------------------------------
def test_lrp_counterexample_rerun_with_fractions():
    rep = certify("heavy-ball", 1, 25, {"lr": "1/9", "momentum": "4/9"})
    ce = rep["counterexample"]
    assert rep["rate"] is None and ce["kind"] == "cycle"
    fn = ce["function"]
    br = [F(b) for b in fn["breaks"]]
    sl = [F(s) for s in fn["slopes"]]
    ic = [F(c) for c in fn["intercepts"]]
    for i, b in enumerate(br):  # in S(1, 25): continuous, slopes in [1, 25], f'(0) = 0
        assert sl[i] * b + ic[i] == sl[i + 1] * b + ic[i + 1]
    assert all(1 <= s <= 25 for s in sl)

    def grad(y):
        i = sum(1 for b in br if y >= b)
        return sl[i] * y + ic[i]

    assert grad(F(0)) == 0
    lr, beta = F(1, 9), F(4, 9)
    states = [tuple(F(x) for x in s) for s in ce["states_exact"]]
    cur = states[0]
    for k in range(1, 3 * ce["period"] + 1):  # heavy ball: v+ = beta v - lr g(theta), theta+ = theta + v+
        theta, v = cur
        v = beta * v - lr * grad(theta)
        cur = (theta + v, v)
        assert cur == states[k % ce["period"]]
    assert len(set(states)) == ce["period"] and all(s != (0, 0) for s in states)


# -- bugs found in review, fixed: regressions --------------------------------------------------------------------
COUNTER_RULE = """name: transient
title: GD with a step factor 1 - beta^t
hyper: lr=0.1, beta=0.5
theta = theta - lr*(1 - beta^t)*g(theta)
"""


def test_step_counter_rule_with_growing_base_is_not_certified(tmp_path):
    """Regression (found in review, fixed): certify analyses rule.asymptotic() without checking its assumption 0 <=
    beta < 1 at the given values: a diverging rule gets a certified rate 0.9."""
    path = tmp_path / "transient.rule"
    path.write_text(COUNTER_RULE)
    from derive.rules.library import resolve

    step = resolve(str(path)).numpy_map(lambda y: 5.0 * y, lr=0.1, beta=2.0)
    s = (np.array(1.0), np.array(0.0))
    for _ in range(30):
        s = step(*s)
    assert abs(float(s[0])) > 1e100  # the rule as written diverges on f = 5 y^2/2, in S(1, 10)
    try:
        rep = certify(str(path), 1, 10, {"lr": "0.1", "beta": "2"}, "sector", counterexample=False)
    except ValueError:
        return  # refusing is fine
    assert not rep["certificate_checked"]


def test_step_counter_rule_report_says_it_is_asymptotic(tmp_path):
    """Regression (found in review, fixed): the certified rate of a rule with a step counter is for its t -> oo form,
    and the report does not say so; the printed bound fails for the rule as written."""
    path = tmp_path / "transient.rule"
    path.write_text(COUNTER_RULE)
    from derive.rules.library import resolve

    rep = certify(str(path), 1, 10, {"lr": "0.1", "beta": "0.5"}, "sector", counterexample=False)
    P = np.array(rep["lyapunov"])
    ev = np.linalg.eigvalsh(P)
    step = resolve(str(path)).numpy_map(lambda y: 1.0 * y, lr=0.1, beta=0.5)
    theta1 = float(step(np.array(1.0), np.array(0.0))[0])
    # the printed claim ||xi_1|| <= sqrt(cond P) rate ||xi_0|| fails for the rule as written (f = y^2/2):
    assert theta1 > np.sqrt(ev[-1] / ev[0]) * rep["rate"]
    text = json.dumps(rep).lower()
    assert "asymptotic" in text or "t -> oo" in text


IRRATIONAL_POINT = """name: ir
title: look-ahead with an irrational constant
hyper: lr=0.1, beta=0.3
state: v=0
v = beta*v - lr*g(theta + sqrt(2)*v/5)
theta = theta + v
"""


def test_irrational_oracle_point_is_not_called_rational(tmp_path):
    """Regression (found in review, fixed): check_certificate checks Ahat, Bhat, mu, L, rho^2 for rationality but not
    the IQC blocks' Chat/Dhat: with the sector IQC an irrational C passes as 'exact (SymPy, rationals)' (the off-
    by-one IQC refuses the same rule)."""
    path = tmp_path / "ir.rule"
    path.write_text(IRRATIONAL_POINT)
    try:
        rep = certify(str(path), 1, 10, {"lr": "0.1", "beta": "0.3"}, "sector", counterexample=False)
    except ValueError:
        return
    assert "rationals" not in rep["check"]


def test_lyapunov_run_is_not_vacuous(rule_dir):
    """The same run with a rate 3% below the quadratic rate is caught (on f = mu y^2/2, where these rules are
    slowest)."""
    for case in ("gd", "heavy-ball", "nesterov", "qhm"):
        rep = dict(run(case, rule_dir))
        rep["rate"] = 0.97 * rep["quadratic_rate"]
        rng = np.random.default_rng(3)
        n = len(_setup(rep)[2][0])
        worst, _ = lyapunov_run(rep, lambda y, m=rep["mu"]: m * np.asarray(y), rng.normal(size=(n, 16)))
        assert worst > 10
