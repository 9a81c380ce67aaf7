"""Stochastic modified equations and the shuffling regulariser: the derivations are fully proved, their results equal
closed forms typed here from the papers (Li, Tai & E 2017/2019; Smith, Dherin, Barrett & De 2021), the checks pass,
and wrong formulas fail them."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from derive.stochastic import shuffling as dsh
from derive.stochastic import sme as dsme
from numeric.stochastic import sde
from verify.checks.stochastic import sme as csme

eta, a, sigma = dsme.eta, dsme.a, dsme.sigma


@pytest.fixture(scope="module")
def derivations():
    return {d.name: (d, d.check()) for d in (dsme.sme_general(), dsme.sme_quadratic(), dsh.shuffling_regularizer())}


@pytest.mark.parametrize("name", ["sgd-sme", "sgd-modified-sde", "sgd-shuffling-regularizer"])
def test_derivations_are_proved_with_every_result_tied(derivations, name):
    d, check = derivations[name]
    assert check.ok, check
    assert {st.status for st in check.steps} == {"proved", "given"}, check  # no spot-check, nothing undecided
    assert all(r.status == "proved" for r in check.results), check.results
    assert d.references and all(r.strip() for r in d.references)


def test_second_order_drift_is_li_tai_e(derivations):
    d, _ = derivations["sgd-sme"]
    x = sp.Symbol("x", real=True)
    f = sp.Function("f")(x)
    fp, fpp = sp.diff(f, x), sp.diff(f, x, 2)
    # Li, Tai & E: dX = -grad(f + eta/4 |grad f|^2) dt + sqrt(eta Sigma) dW, i.e. drift -f' - (eta/2) f' f''
    assert sp.simplify(d.results["sme2_drift"].doit() - (-fp - eta / 2 * fp * fpp)) == 0
    assert sp.simplify(d.results["sme1_drift"] + fp) == 0
    # on a concrete loss the derived drift is what a hand computation gives
    b2 = d.results["sme2_drift"].replace(sp.Function("f"), sp.Lambda(x, x**4)).doit()
    assert sp.expand(b2 - (-4 * x**3 - eta / 2 * 4 * x**3 * 12 * x**2)) == 0


def test_quadratic_results_are_the_closed_forms(derivations):
    d, _ = derivations["sgd-modified-sde"]
    r = d.results
    assert sp.simplify(r["exact_drift"] - (-sp.log(1 - eta * a) / eta)) == 0
    assert sp.simplify(r["exact_stationary_variance"] - eta * sigma**2 / (a * (2 - eta * a))) == 0
    assert sp.simplify(r["sme1_stationary_variance"] - eta * sigma**2 / (2 * a)) == 0
    assert sp.simplify(r["sme2_stationary_variance"] - eta * sigma**2 / (a * (2 + eta * a))) == 0
    # exact diffusion d2 = 2 c eta^2 sigma^2 / (1 - (1 - eta a)^2), evaluated at a point with plain floats
    e, aa, s = 0.3, 2.0, 1.5
    c = -math.log(1 - e * aa) / e
    val = float(r["exact_diffusion"].subs({eta: e, a: aa, sigma: s}))
    assert val == pytest.approx(2 * c * e**2 * s**2 / (1 - (1 - e * aa) ** 2), rel=1e-13)
    # relative stationary errors: -eta a / 2 exactly (SME1) and -eta a + O(eta^2) (SME2)
    assert sp.simplify(r["sme1_relative_error"] + eta * a / 2) == 0
    assert sp.limit(r["sme2_relative_error"] / eta, eta, 0) == -a


def test_exact_modified_sde_matches_sgd_by_simulation():
    """Monte Carlo of SGD with Gaussian noise at eta a = 0.4 vs the derived OU law at t = k eta (t-interval)."""
    d = dsme.sme_quadratic()
    e, aa, s, x0, k = 0.2, 2.0, 1.0, 1.0, 5
    c = float(d.results["exact_drift"].subs({eta: e, a: aa}))
    d2 = float(d.results["exact_diffusion"].subs({eta: e, a: aa, sigma: s}))
    rng = np.random.default_rng(3)
    x = np.full(200_000, x0)
    for _ in range(k):
        x = x - e * (aa * x + s * rng.standard_normal(x.size))
    mean, var = sde.ou_moments(c, d2, x0, k * e)
    n = x.size
    se_mean = math.sqrt(var / n)
    assert abs(x.mean() - mean) < 4 * se_mean
    assert abs(x.var() - var) < 4 * var * math.sqrt(2 / (n - 1))


def test_no_ou_matches_when_the_factor_is_not_positive():
    d = dsme.sme_quadratic()
    # eta a = 1.5: SGD is stationary (|1 - eta a| < 1), but the derived drift is not real
    c = complex(d.results["exact_drift"].subs({eta: 1.0, a: 1.5}).evalf())
    assert abs(c.imag) > 1
    assert abs(1 - 1.5) < 1


def test_shuffling_regularizer_is_smith_et_al(derivations):
    d, _ = derivations["sgd-shuffling-regularizer"]
    x, m, eps = dsh.x, dsh.m, dsh.epsilon
    L, R = sp.Function("L")(x), sp.Function("R")(x)
    assert sp.simplify(d.results["modified_loss"] - (L + eps / (4 * m) * R)) == 0
    G = [sp.Function(f"G_{k}")(x) for k in (1, 2, 3)]
    Lk = [sp.Function(f"L_{k}")(x) for k in (1, 2, 3)]
    typed = sum(Lk) / 3 + eps / 12 * sum(g**2 for g in G)  # L + eps/(4m) sum |grad L_k|^2, m = 3
    assert sp.simplify(d.results["modified_loss_m3"] - typed) == 0


def test_checks_pass():
    rows = csme.sme_vs_sde() + csme.shuffling_regularizer()
    assert {r.check for r in rows} >= {"sgd-sme/exact-ou-moments", "sgd-sme/em-weak-order", "sgd-sme/weak-order-sme1",
                                      "sgd-sme/weak-order-sme2", "sgd-sme/sme2-beats-sme1", "sgd-shuffling/flow-of-L",
                                      "sgd-shuffling/flow-of-modified-loss"}
    failing = [r for r in rows if r.status != "pass"]
    assert not failing, failing


def test_a_wrong_second_order_drift_fails_the_order_check():
    grad = lambda y: np.tanh(y) + y / 2  # noqa: E731
    hess = lambda y: 1 / np.cosh(y) ** 2 + 0.5  # noqa: E731
    # the correct SME2, typed by hand: -f' - (eta/2) f' f'' passes
    good = {r.check: r for r in csme.weak_order_rows(lambda y, e: -grad(y) - e / 2 * grad(y) * hess(y), "typed")}
    assert good["sgd-sme/weak-order-typed"].status == "pass"
    # eta/4 f' f'' (half the correction) is only first order
    bad = {r.check: r for r in csme.weak_order_rows(lambda y, e: -grad(y) - e / 4 * grad(y) * hess(y), "wrong")}
    assert bad["sgd-sme/weak-order-wrong"].status == "fail"
    assert bad["sgd-sme/weak-order-wrong"].error > 0.5


def test_a_wrong_exact_drift_fails():
    """SME2's drift a + eta a^2/2 in place of -log(1 - eta a)/eta misses the AR(1) moments far beyond 1e-12."""
    e, aa, s, x0 = 0.1, 1.0, 1.0, 1.0
    c = aa + e * aa**2 / 2
    mean = x0 * (1 - e * aa) ** 10
    assert abs(sde.ou_moments(c, e * s**2, x0, 10 * e)[0] - mean) / mean > 1e-4


def test_a_wrong_regularizer_fails_the_shuffling_check():
    rows = {r.check: r for r in csme.shuffling_regularizer(coefficient=0.5)}
    assert rows["sgd-shuffling/flow-of-modified-loss"].status == "fail"
    assert rows["sgd-shuffling/flow-of-L"].status == "pass"


def test_grid_law_of_sgd_matches_simulation():
    """The grid reference of the weak-order check vs plain Monte Carlo of SGD with Gaussian noise (t-interval)."""
    from numeric.stochastic import monte_carlo

    grad = lambda y: np.tanh(y) + y / 2  # noqa: E731
    e, steps = 0.1, 10
    rng = np.random.default_rng(5)
    x = np.full(200_000, csme.X0)
    for _ in range(steps):
        x = x - e * (grad(x) + csme.NOISE * rng.standard_normal(x.size))
    mean, half = monte_carlo.mean_ci(x**2)
    assert monte_carlo.interval_error(mean, half, csme.sgd_expectation(grad, csme._phi, csme.X0, e, csme.NOISE,
                                                                       steps)) <= 1.0


def test_sme2_is_worse_at_stationarity_for_every_stable_step():
    """AR(1) stationary variance η²σ²/(1 − (1 − ηa)²) (Box & Jenkins §3.2), by its own recursion in floats, vs the
    SMEs' OU variances d/(2c): |relative error| of SME2 exceeds SME1's on all of 0 < ηa < 2."""
    aa, s2 = 1.0, 1.0
    for ea in [0.01, 0.1, 0.5, 0.99, 1.0, 1.5, 1.99]:
        e = ea / aa
        var = 0.0
        for _ in range(20_000):
            var = (1 - e * aa) ** 2 * var + e**2 * s2
        v1, v2 = e * s2 / (2 * aa), e * s2 / (2 * (aa + e * aa**2 / 2))
        assert abs(v2 / var - 1) > abs(v1 / var - 1) > 0
        assert v2 / var - 1 == pytest.approx(-2 * ea / (2 + ea), rel=1e-9)
