"""Gradient moments in the metric vs RMSProp and Adam (derive/theories/covariant.py)."""
import numpy as np
import pytest
import sympy as sp

from derive.rules import adaptive as ad
from derive.theories.covariant import covariant_metric, hamiltonian_update, kappa, mu, X
from derive.update_rule import g

GS = sp.Symbol("G", real=True)  # the oracle value g(θ) at the current point


@pytest.fixture(scope="module")
def derivation():
    return covariant_metric()


def _num(expr):
    """Lambdify with g(θ) → G; returns (function of a dict, its symbols)."""
    e = sp.sympify(expr).subs(ad.wd, 0).replace(g, sp.Lambda(sp.Dummy("x"), GS))
    syms = sorted(e.free_symbols, key=str)
    f = sp.lambdify(syms, e, "numpy")
    return lambda vals: f(*[vals[str(s)] for s in syms])


def _point(rng, **fixed):
    vals = {"theta": rng.normal(), "G": rng.normal(), "v": rng.uniform(0.1, 2), "m": rng.normal(),
            "b": rng.normal(), "X": rng.normal(), "eta": rng.uniform(0.01, 0.5), "epsilon": rng.uniform(1e-3, 0.1),
            "alpha": rng.uniform(0.5, 0.99), "mu": rng.uniform(0.1, 0.95), "beta_1": rng.uniform(0.5, 0.95),
            "beta_2": rng.uniform(0.5, 0.999), "tau": rng.uniform(0.1, 1), "h": rng.uniform(0.5, 2),
            "kappa": rng.uniform(0.1, 2), "t": int(rng.integers(0, 5))}
    vals.update(fixed)
    return vals


def test_derivation_checks(derivation):
    chk = derivation.check()
    assert chk.ok, chk.summary()
    assert chk.count("failed") == 0 and chk.count("undecided") == 0
    assert chk.count("given") == 3
    assert derivation.name == "hermosis-covariant-metric"
    assert "RMSProp" in derivation.title and "Adam" in derivation.title


def _ham(metric_at="t"):
    return hamiltonian_update(metric_at)[0]


def test_plain_rmsprop_is_exact_numerically():
    rng = np.random.default_rng(0)
    ham = _num(_ham().subs(mu, 0))
    lib = _num(ad.rmsprop_rule().update[0])
    for _ in range(20):
        p = _point(rng)
        p["eta"] = p["tau"] * p["kappa"] / p["h"]
        assert abs(ham(p) - lib(p)) < 1e-12


def test_adam_without_bias_correction_is_exact_numerically():
    rng = np.random.default_rng(1)
    ham = _num(_ham())
    lib = _num(ad.adam_rule(bias_correction="none").update[0])
    for _ in range(20):
        p = _point(rng)
        p.update(mu=p["beta_1"], alpha=p["beta_2"], X=p["kappa"] * p["m"] / (1 - p["beta_1"]))
        p["eta"] = p["tau"] * p["kappa"] / (p["h"] * (1 - p["beta_1"]))
        assert abs(ham(p) - lib(p)) < 1e-12


def test_bias_correction_is_a_nonzero_difference_and_a_time_dependent_step(derivation):
    rng = np.random.default_rng(2)
    gap = _num(derivation.results["adam_bias_correction_difference"])
    assert abs(gap(_point(rng, t=0))) > 1e-6
    # Adam = the uncorrected rule with step eta sqrt(c2)/c1 and eps sqrt(c2)
    full = _num(ad.adam_rule().update[0])
    none = _num(ad.adam_rule(bias_correction="none").update[0])
    for _ in range(10):
        p = _point(rng)
        c1, c2 = 1 - p["beta_1"] ** (p["t"] + 1), 1 - p["beta_2"] ** (p["t"] + 1)
        q = dict(p, eta=p["eta"] * np.sqrt(c2) / c1, epsilon=p["epsilon"] * np.sqrt(c2))
        assert abs(full(p) - none(q)) < 1e-12


def _momentum_pair():
    ham = _num(_ham())
    lib = _num(ad.rmsprop_rule(momentum=True).update[0])
    return ham, lib


def _map_to_torch(p):
    """X = κ D b with D = √v + ε, lr = τκ/h."""
    p = dict(p)
    p["X"] = p["kappa"] * (np.sqrt(p["v"]) + p["epsilon"]) * p["b"]
    p["eta"] = p["tau"] * p["kappa"] / p["h"]
    return p


def test_rmsprop_momentum_difference_vanishes_for_frozen_v():
    rng = np.random.default_rng(3)
    ham, lib = _momentum_pair()
    for _ in range(20):
        p = _map_to_torch(_point(rng, alpha=1.0))
        assert abs(ham(p) - lib(p)) < 1e-12


def test_rmsprop_momentum_difference_is_nonzero_and_as_claimed(derivation):
    rng = np.random.default_rng(4)
    ham, lib = _momentum_pair()
    claimed = _num(derivation.results["rmsprop_momentum_difference"])
    p = _map_to_torch(_point(rng))
    diff = ham(p) - lib(p)
    assert abs(diff) > 1e-6
    assert abs(diff - claimed(p)) < 1e-12
    assert abs(_num(derivation.results["rmsprop_momentum_buffer_difference"])(p)) > 1e-6


def test_metric_at_previous_step(derivation):
    rng = np.random.default_rng(5)
    ham = _num(_ham("t-tau").subs(mu, 0))
    lib = _num(ad.rmsprop_rule().update[0])
    claimed = _num(derivation.results["metric_at_previous_step_difference"])
    for alpha, nonzero in ((1.0, False), (0.9, True)):
        p = _point(rng, alpha=alpha)
        p["eta"] = p["tau"] * p["kappa"] / p["h"]
        diff = ham(p) - lib(p)
        assert abs(diff - claimed(p)) < 1e-12
        assert (abs(diff) > 1e-6) == nonzero


def test_metric_force_term_is_nonzero_and_vanishes_for_frozen_v(derivation):
    term = derivation.results["metric_force_term"].doit()
    Gp = sp.Symbol("Gp", real=True)
    theta = ad.theta
    e = term.subs(sp.Derivative(g(theta), theta), Gp)
    f = _num(e)
    rng = np.random.default_rng(6)
    p = _point(rng)
    p["Gp"] = rng.normal()
    assert abs(f(p)) > 1e-6
    assert abs(f(dict(p, alpha=1.0))) == 0.0
    assert X in term.free_symbols and term.has(sp.Derivative)
