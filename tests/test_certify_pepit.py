"""Certified rates (verify.certify) against PEPit's exact worst cases (tests/pepit_reference.py).

Two independent computations over the same class S(mu, L):
- ``certify`` proves V(xi_N, zeta_N) <= r^(2N) V(xi_0, 0) for a quadratic Lyapunov function V = s^T P s,
  s = (xi - xi*, zeta) (Lessard, Recht & Packard 2016, Theorem 4, with IQCs; zeta is the state of the
  off-by-one filter, zeta_0 = 0);
- PEPit computes max ||.||^2 after N steps over ALL f in S(mu, L) (performance estimation; Taylor, Hendrickx &
  Glineur 2017), hand-written, using nothing from the project.
Where both apply they must agree: PEPit's worst case of V_N is <= r^(2N) V_0; hence of ||xi_N - xi*||^2 it
is <= r^(2N) V_0 / lambda_min(S) with S the Schur complement of P's zeta block (V(xi, zeta) >= xi^T S xi
for every zeta), and <= r^(2N) V_0 / lambda_min(P); for GD (tight) PEPit's worst case is exactly r^(2N).
Where no certificate exists (heavy ball, Polyak's tuning, kappa = 25) PEPit's worst case grows with N
instead of decaying like the quadratic rate.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests import pepit_reference as ref

MU = 1.0
REL = 1e-6          # PEPit/Clarabel relative accuracy (measured ~1e-8 on GD, where the answer is known)


def _worst(method, L, N, params, W=None):
    return ref.worst_case(method, MU, L, N, params, W).value


# ---------------------------------------------------------------- the reference itself (no project code)

@pytest.mark.parametrize("L, alpha", [(10.0, 0.05), (10.0, 0.1), (10.0, 2 / 11), (10.0, 0.19), (4.0, 0.3)])
def test_reference_gd_is_the_known_tight_rate(L, alpha):
    r = max(abs(1 - alpha * MU), abs(1 - alpha * L))
    for N in (1, 2, 3, 4):
        assert _worst("gd", L, N, {"alpha": alpha}) == pytest.approx(r ** (2 * N), rel=REL)
    # the state variant: both ||x_N||^2 and ||x_{N-1}||^2 are maximal on the same quadratic
    for N in (1, 3):
        got = ref.gd_worst_case(MU, L, alpha, N, state=True)
        assert got == pytest.approx(r ** (2 * N) + r ** (2 * N - 2), rel=REL)


@pytest.mark.parametrize("L", [10.0, 25.0])
def test_reference_first_step_is_a_gradient_step_and_quadratics_are_below(L):
    for method, params in ref.tunings(MU, L).items():
        a = params["alpha"]
        r = max(abs(1 - a * MU), abs(1 - a * L))
        assert _worst(method, L, 1, params) == pytest.approx(r ** 2, rel=REL)      # x_{-1} = x_0
        for N in (2, 4):
            for W in ([[1.0]], [[1.0, 0.0], [0.0, 1.0]]):
                w = ref.worst_case(method, MU, L, N, params, W)
                assert abs(w.value - w.primal) <= REL * max(1.0, w.value)
                quad = max(ref.quadratic_value(method, lam, L, N, params, W) for lam in (MU, L))
                assert w.value >= quad * (1 - REL) - 1e-9


def test_reference_quadratic_rates_of_the_standard_tunings():
    for kappa in (10.0, 100.0):
        t = ref.tunings(MU, kappa)
        q = {m: ref.quadratic_rate(m, MU, kappa, p, points=801) for m, p in t.items()}
        assert q["gd"] == pytest.approx((kappa - 1) / (kappa + 1), abs=1e-12)
        assert q["heavy-ball"] == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1), abs=1e-6)
        assert q["nesterov"] == pytest.approx(1 - 1 / math.sqrt(kappa), abs=1e-6)
        assert q["triple-momentum"] == pytest.approx(1 - 1 / math.sqrt(kappa), abs=1e-6)


def test_reference_refuses_bad_input():
    with pytest.raises(ValueError):
        ref.worst_case("adam", MU, 10.0, 2, {"alpha": 0.1})
    with pytest.raises(ValueError):
        ref.worst_case("gd", MU, 10.0, 2, {"alpha": 0.1, "beta": 0.5})
    with pytest.raises(ValueError):
        ref.worst_case("gd", 2.0, 1.0, 2, {"alpha": 0.1})
    with pytest.raises(ValueError):
        ref.worst_case("gd", MU, 10.0, 2, {"alpha": 0.1}, [[1.0, 2.0], [0.0, 1.0]])


# ---------------------------------------------------------------- certify vs PEPit

# rule name -> (reference method, {protocol hyperparameter name: reference parameter name})
_NAMES = {"gd": ("gd", {"lr": "alpha"}),
          "heavy-ball": ("heavy-ball", {"lr": "alpha", "momentum": "beta"}),
          "nesterov": ("nesterov", {"lr": "alpha", "momentum": "beta"}),
          "triple-momentum": ("triple-momentum", {"lr": "alpha", "beta": "beta", "gamma": "gamma"})}

# The rule's state xi in terms of (x_k - x*, x_{k-1} - x*), and xi_0 - xi* per unit x_0 - x*:
# heavy-ball / nesterov: (theta, v) with v_k = theta_k - theta_{k-1}, v_0 = 0; triple-momentum:
# (theta, theta_prev) with theta_prev_0 = theta_0; gd: (theta,). test_state_coordinates pins these.
_XI = {"gd": ([[1.0, 0.0]], [1.0]),
       "heavy-ball": ([[1.0, 0.0], [1.0, -1.0]], [1.0, 0.0]),
       "nesterov": ([[1.0, 0.0], [1.0, -1.0]], [1.0, 0.0]),
       "triple-momentum": ([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0])}

_CACHE: dict = {}


def _certify(name, L, values, iqc):
    key = (name, L, tuple(sorted(values.items())), iqc)
    if key not in _CACHE:
        from verify.certify import certify
        _CACHE[key] = certify(name, MU, L, values, iqc=iqc, counterexample=(name == "heavy-ball"))
    return _CACHE[key]


def _number(v):
    if isinstance(v, dict):
        for k in ("value", "float", "number"):
            if k in v:
                return _number(v[k])
        raise AssertionError(f"cannot read a number from {v!r}")
    return float(v)


def _params(name, rep):
    """The hyperparameters certify actually used (exact numbers, reported as floats)."""
    method, names = _NAMES[name]
    hyper = rep["hyperparameters"]
    return method, {ref_name: _number(hyper[proto]) for proto, ref_name in names.items()}


def _tuning(name, kappa):
    """The standard tunings as certify values (strings in mu, L, kappa: parsed exactly by certify)."""
    if name == "nesterov":
        return {"lr": "1/L", "momentum": "(sqrt(kappa)-1)/(sqrt(kappa)+1)"}
    if name == "triple-momentum":
        rho = "(1 - 1/sqrt(kappa))"
        return {"lr": f"(1 + {rho})/L", "beta": f"{rho}**2/(2 - {rho})",
                "gamma": f"{rho}**2/((1 + {rho})*(2 - {rho}))"}
    raise KeyError(name)


def test_state_coordinates():
    """The coordinates assumed in _XI are the rules' own: v_{k+1} = theta_{k+1} - theta_k with v_0 = 0, and
    theta_prev_{k+1} = theta_k with theta_prev_0 = theta_0."""
    import sympy as sp
    from derive.rules.library import resolve

    for name in ("heavy-ball", "nesterov"):
        rule = resolve(name)
        theta, v = rule.state
        assert (str(theta), str(v)) == ("theta", "v") and list(rule.init) == [0]
        assert sp.simplify(rule.update[0] - theta - rule.update[1]) == 0
    tm = resolve("triple-momentum")
    theta, prev = tm.state
    assert str(theta) == "theta" and list(tm.init) == [theta] and tm.update[1] == theta
    assert [str(s) for s in resolve("gd").state] == ["theta"]


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.15, 0.19])
def test_gd_certified_rate_is_pepits_tight_rate(alpha):
    L = 10.0
    rep = _certify("gd", L, {"lr": alpha}, "sector")
    assert rep["certificate_checked"] is True
    r = rep["rate"]
    _, params = _params("gd", rep)
    assert params["alpha"] == pytest.approx(alpha, rel=1e-15)
    for N in (1, 2, 3):
        w = _worst("gd", L, N, params)
        assert w <= r ** (2 * N) * (1 + REL)                 # the theorem, on PEPit's worst function
        assert w ** (1 / (2 * N)) == pytest.approx(r, abs=2e-5)  # and it is tight


def _lyapunov_bounds(name, L, rep):
    """Check the certificate's Lyapunov inequality along PEPit's worst cases, N = 1..4; return the numbers."""
    method, params = _params(name, rep)
    r = float(rep["rate"])
    P = np.array(rep["lyapunov"], dtype=float)
    T_xi, e0 = (np.array(a, dtype=float) for a in _XI[name])
    n = T_xi.shape[0]
    k = P.shape[0]
    assert P.shape == (k, k) and k in (n, n + 1), (P.shape, n)
    assert np.allclose(P, P.T)
    # s = (xi - xi*, zeta) = T v with v = (x_N - x*, x_{N-1} - x*, zeta_N) (pepit_reference's coordinates)
    T = np.zeros((k, 3))
    T[:n, :2] = T_xi
    if k == n + 1:
        T[n, 2] = 1.0
    s0 = np.zeros(k)
    s0[:n] = e0                                   # zeta_0 = 0
    V0 = float(s0 @ P @ s0)
    lam_P = float(np.linalg.eigvalsh(P)[0])
    S = P[:n, :n] - (np.outer(P[:n, n], P[n, :n]) / P[n, n] if k == n + 1 else 0.0)
    lam_S = float(np.linalg.eigvalsh(S)[0])
    assert lam_P > 0 and lam_S >= lam_P * (1 - 1e-9)
    W_V = (T.T @ P @ T).tolist()
    W_xi = (T_xi.T @ T_xi).tolist()
    rows = []
    for N in (1, 2, 3, 4):
        bound_V = r ** (2 * N) * V0
        wV = _worst(method, L, N, params, W_V)
        wxi = _worst(method, L, N, params, W_xi)
        quad = max(ref.quadratic_value(method, lam, L, N, params, W_xi) for lam in (MU, L))
        assert wV <= bound_V * (1 + REL) + 1e-12, (name, N, wV, bound_V)
        assert wxi <= bound_V / lam_S * (1 + REL), (name, N, wxi, bound_V / lam_S)
        assert wxi <= bound_V / lam_P * (1 + REL)
        assert wxi >= quad * (1 - REL) - 1e-12
        rows.append((N, wV, bound_V, wxi, bound_V / lam_S, bound_V / lam_P, quad))
    return rows


@pytest.mark.parametrize("name, kappa, iqc", [("nesterov", 10.0, "off-by-one"), ("nesterov", 100.0, "off-by-one"),
                                              ("triple-momentum", 10.0, "off-by-one"),
                                              ("triple-momentum", 100.0, "off-by-one"),
                                              ("nesterov", 10.0, "sector")])
def test_lyapunov_certificate_holds_on_pepits_worst_cases(name, kappa, iqc):
    rep = _certify(name, kappa, _tuning(name, kappa), iqc)
    assert rep["rate"] is not None and rep["certificate_checked"] is True, rep.get("check")
    method, params = _params(name, rep)
    q = ref.quadratic_rate(method, MU, kappa, params, points=801)
    assert rep["quadratic_rate"] == pytest.approx(q, abs=1e-6)
    assert rep["rate"] >= q - 1e-9
    _lyapunov_bounds(name, kappa, rep)


def test_lyapunov_certificate_holds_for_gd_with_the_off_by_one_iqc():
    rep = _certify("gd", 10.0, {"lr": 0.15}, "off-by-one")
    assert rep["certificate_checked"] is True
    _lyapunov_bounds("gd", 10.0, rep)


def _lrp(x):
    """LRP 2016, section 4.6: the gradient of a function in S(1, 25) (hand-written here)."""
    return 25 * x if x < 1 else (x + 24 if x < 2 else 25 * x - 24)


def test_heavy_ball_polyak_no_certificate_and_pepit_does_not_decay():
    L = 25.0
    rep = _certify("heavy-ball", L, {"lr": "1/9", "momentum": "4/9"}, "off-by-one")
    assert rep["rate"] is None
    assert rep["counterexample"] is not None
    method, params = _params("heavy-ball", rep)
    assert params == pytest.approx({"alpha": 1 / 9, "beta": 4 / 9}, rel=1e-15)
    q = rep["quadratic_rate"]
    assert q == pytest.approx(2 / 3, abs=1e-6)
    assert q == pytest.approx(ref.quadratic_rate(method, MU, L, params, points=801), abs=1e-6)
    worst = [_worst(method, L, N, params) for N in (1, 2, 3, 4)]
    # measured: 3.1605, 7.9232, 10.2619, 10.9957 -- growing, while q^(2N) = 0.444, 0.198, 0.088, 0.039
    assert all(b > a for a, b in zip(worst, worst[1:]))
    assert worst[3] > 100 * q ** 8
    # the reported cycle, re-run exactly with the hand-written heavy ball (theta, v) on the LRP gradient
    from fractions import Fraction

    cyc = rep["counterexample"]
    states = [tuple(Fraction(x) for x in st) for st in cyc["states_exact"]]
    assert cyc["period"] == len(states) == 3
    a, b = Fraction(1, 9), Fraction(4, 9)
    for i, (theta, v) in enumerate(states):
        v_new = b * v - a * _lrp(theta)
        assert (theta + v_new, v_new) == states[(i + 1) % 3]
    assert all(theta != 0 for theta, _ in states)
    # the LRP function is one of PEPit's candidates: its trajectory from x_{-1} = x_0 = 3.3 stays below
    x_prev = x = 3.3
    for N in (1, 2, 3, 4):
        x, x_prev = x + params["beta"] * (x - x_prev) - params["alpha"] * _lrp(x), x
        assert (x / 3.3) ** 2 <= worst[N - 1] * (1 + REL)
