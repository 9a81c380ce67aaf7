"""Issue 15, the overclaims: momentum-tuning, adam-sign-descent and heavy-ball-oscillator say exactly what they
prove, and what they now prove is checked here against independent computations (numpy roots, exact
fractions, a hand-written Adam loop, a hand-written Qian recursion)."""
import math
from fractions import Fraction as F

import numpy as np
import pytest
import sympy as sp

from derive.analysis import adaptive_dynamics as dyn
from derive.analysis import momentum_limits as dl
from derive.analysis import momentum_tuning as dt


@pytest.fixture(scope="module")
def tuning():
    d = dt.momentum_tuning()
    return d, d.check()


def _statuses(check):
    return {s.status for s in check.steps}


# -- momentum-tuning --------------------------------------------------------------------------------
def test_momentum_tuning_is_proved_except_the_tunings_it_names(tuning):
    d, check = tuning
    assert _statuses(check) == {"proved", "given"}
    given = [s.step.reason for s in check.steps if s.status == "given"]
    assert len(given) == 4 and all("tuning" in r or "momentum" in r for r in given)
    # what is given are the tunings (eta, beta), not a radius formula
    assert all(str(s.step.lhs).startswith(("\\eta", "\\beta")) for s in check.steps if s.status == "given")
    for name in d.results:  # every result is the value of a checked step
        assert check.result_status(name).status in ("proved", "given"), name


def test_lambda_mu_is_critically_damped_not_complex(tuning):
    d, _ = tuning
    reasons = [s.reason for s in d.steps if r"\lambda = \mu" in s.reason]
    assert reasons and all("complex roots" not in r for r in reasons)
    assert any("double root" in r and "critically damped" in r for r in reasons)
    # exactly, for kappa = 8 (s = 5): eta = 4/25, beta = 3/7, x = eta mu = 4/25; discriminant of Nesterov's polynomial
    beta, x = F(3, 7), F(4, 25)
    assert ((1 + beta) * (1 - x)) ** 2 - 4 * beta * (1 - x) == 0


def _nesterov_radius(x, b):
    return max(abs(np.roots([1, -(1 + b) * (1 - x), b * (1 - x)])))


@pytest.mark.parametrize("kappa", [2.0, 8.0, 100.0, 1e4])
def test_lessard_tuning_radius_on_the_whole_interval(kappa):
    s = math.sqrt(3 * kappa + 1)
    eta, beta, rate = 4 / (3 * kappa + 1), (s - 2) / (s + 2), 1 - 2 / s  # mu = 1, L = kappa
    lam = np.concatenate([np.linspace(1, kappa, 4001), np.geomspace(1, kappa, 4001)])
    radii = np.array([_nesterov_radius(eta * lv, beta) for lv in lam])
    assert radii.max() <= rate * (1 + 1e-7)
    assert _nesterov_radius(eta, beta) == pytest.approx(rate, rel=1e-6)
    assert _nesterov_radius(eta * kappa, beta) == pytest.approx(rate, rel=1e-9)
    assert eta * kappa > 1  # lambda = L is in the real-root regime


def test_heavy_ball_radius_is_never_below_one_minus_sqrt_x():
    rng = np.random.default_rng(3)
    for x, b in zip(rng.uniform(0, 6, 3000), rng.uniform(0, 0.999, 3000)):
        rho = max(abs(np.roots([1, -(1 + b - x), b])))
        assert rho >= max(math.sqrt(b), abs(1 - math.sqrt(x))) - 1e-7


def test_no_heavy_ball_tuning_beats_polyak_on_a_grid():
    mu, L = 1.0, 50.0
    best = (math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu))
    lam = np.array([mu, L])  # the lower bound only uses the two ends
    for eta in np.linspace(0.005, 0.2, 60):
        for b in np.linspace(0, 0.99, 60):
            assert max(max(abs(np.roots([1, -(1 + b - eta * lv), b]))) for lv in lam) >= best - 1e-9


# -- adam-sign-descent ------------------------------------------------------------------------------
def _sup_sq(b1, b2, t):
    """S_t^2 by direct summation (not the closed form): sum_k w_k^2/u_k (1 - b2^t)/(1 - b1^t)^2."""
    total = sum((1 - b1) ** 2 * b1 ** (2 * k) / ((1 - b2) * b2**k) for k in range(t))
    return total * (1 - b2**t) / (1 - b1**t) ** 2


def test_kingma_ba_bound_first_fails_at_t_210_exactly():
    b1, b2 = F(9, 10), F(999, 1000)
    assert (1 - b1) ** 2 > 1 - b2  # their first case; bound^2 = (1 - b1)^2/(1 - b2) = 10
    first = next(t for t in range(1, 400) if _sup_sq(b1, b2, t) > 10)
    assert first == dyn.KB_LAST_T + 1 == 210
    assert all(_sup_sq(b1, b2, t) < 10 for t in range(1, 210))


def _adam_ratio(b1, b2, grads):
    """|m-hat_t|/sqrt(v-hat_t) after the given gradients (hand-written Adam, eps = 0)."""
    m = v = 0.0
    for g in grads:
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    t = len(grads)
    return abs(m / (1 - b1**t)) / math.sqrt(v / (1 - b2**t))


def _extremal(b1, b2, t):
    return [((1 - b1) * b1 ** (t - i)) / ((1 - b2) * b2 ** (t - i)) for i in range(1, t + 1)]


def test_adam_steps_beyond_kingma_ba_bound_on_the_extremal_gradients():
    b1, b2 = 0.9, 0.999
    kb = (1 - b1) / math.sqrt(1 - b2)
    assert _adam_ratio(b1, b2, _extremal(b1, b2, 209)) < kb < _adam_ratio(b1, b2, _extremal(b1, b2, 210))
    sup = sp.lambdify((dyn.ad.beta1, dyn.ad.beta2, dyn.tt), dyn.sign_descent().results["sup_ratio"])
    for t in (2, 50, 209, 210, 600):
        assert _adam_ratio(b1, b2, _extremal(b1, b2, t)) == pytest.approx(sup(b1, b2, t), rel=1e-10)


def test_their_second_case_fails_at_t_2():
    b1, b2 = 0.99, 0.999
    assert 1 - b1 <= math.sqrt(1 - b2)  # the case where they claim |Delta| <= alpha
    assert _adam_ratio(b1, b2, _extremal(b1, b2, 2)) > 1
    assert _adam_ratio(b1, b2, _extremal(b1, b2, 2)) ** 2 - 1 == pytest.approx((b2 - b1) ** 2 / (b2 * (1 + b1) ** 2))


def test_sign_descent_statuses_are_honest():
    d = dyn.sign_descent()
    check = d.check()
    assert _statuses(check) == {"proved", "given"}
    sup_step = next(s for s in check.steps if str(s.step.lhs) == "S_t")
    assert sup_step.status == "given" and "Cauchy-Schwarz" in sup_step.step.reason
    assert check.result_status("sup_ratio").status == "given"  # the supremum rests on a given step
    lim = next(s for s in d.steps if s.display and s.display.startswith(r"\lim_{t\to\infty}") and s.kind == "equal")
    assert "sup" not in lim.display and isinstance(lim.lhs, sp.Limit)  # checked at check time, about S_t
    assert "3325577" in " ".join(d.references)


# -- heavy-ball-oscillator: Qian (1999) ------------------------------------------------------------
def test_qian_scheme_is_heavy_ball_with_mass_beta_m():
    d = dl.oscillator_limit()
    check = d.check()
    assert _statuses(check) == {"proved", "given"}
    m, gamma, h = 1.3, 0.7, 0.05
    sub = {dl.m: m, dl.gamma: gamma, dl.h: h}
    eta, beta = float(d.results["eta"].subs(sub)), float(d.results["beta"].subs(sub))
    mq, muq = float(d.results["qian_mass"].subs(sub)), float(d.results["qian_friction"].subs(sub))
    assert mq == pytest.approx(beta * m) and muq == pytest.approx(gamma)

    def grad(th):
        return th**3 - th

    hb, qi = [0.4, 0.4], [0.4, 0.4]
    for _ in range(300):
        hb.append(hb[-1] + beta * (hb[-1] - hb[-2]) - eta * grad(hb[-1]))
        # Qian: mq (x+ - 2x + x-)/h^2 + muq (x+ - x)/h = -grad(x), solved for x+ by hand
        x, xm = qi[-1], qi[-2]
        qi.append((-grad(x) + mq * (2 * x - xm) / h**2 + muq * x / h) / (mq / h**2 + muq / h))
    assert np.allclose(hb, qi, rtol=0, atol=1e-12)
    # Qian's own parametrization: epsilon = h^2/(mq + muq h), p = mq/(mq + muq h) are (eta, beta)
    assert h**2 / (mq + muq * h) == pytest.approx(eta) and mq / (mq + muq * h) == pytest.approx(beta)
