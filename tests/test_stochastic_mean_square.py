"""Batch noise and mean-square stability: the derivations are fully proved, their results equal closed forms typed
here from the papers (Wu, Ma & E 2018; Cochran 1977), an independent enumeration in plain Python agrees, the
`ldyn verify` checks pass, and a wrong formula makes them fail."""
import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest
import sympy as sp

from derive.stochastic import mean_square as dms
from derive.stochastic import noise as dn
from verify.checks.stochastic import mean_square as cms

eta, a, s, v, beta, B, n = dms.eta, dms.a, dms.s, dms.v, dms.beta, dn.B, dn.n


@pytest.fixture(scope="module")
def derivations():
    out = {}
    for f in (dn.batch_noise, dms.sgd_mean_square, dms.heavy_ball_mean_square):
        d = f()
        out[d.name] = (d, d.check())
    return out


def _same(x, y) -> bool:
    return sp.simplify(sp.Matrix(x) - sp.Matrix(y)) == sp.zeros(*sp.Matrix(x).shape) if isinstance(x, sp.MatrixBase) \
        else sp.simplify(x - y) == 0


@pytest.mark.parametrize("name", ["sgd-batch-noise", "sgd-mean-square-stability", "heavy-ball-sgd-mean-square"])
def test_derivations_are_proved_with_every_result_tied(derivations, name):
    d, check = derivations[name]
    assert check.ok, check
    assert {st.status for st in check.steps} == {"proved", "given"}, check  # no spot-check, nothing undecided
    assert all(r.status == "proved" for r in check.results), check.results
    assert d.to_markdown() and d.to_latex()
    assert d.references and "Wu" in " ".join(d.references)


def test_batch_factors_are_the_textbook_ones(derivations):
    r = derivations["sgd-batch-noise"][0].results
    assert _same(r["factor_with"], 1 / B)
    assert _same(r["factor_without"], (n - B) / (B * (n - 1)))  # Cochran's finite population correction / B
    assert _same(r["factor_without"].subs(B, n), 0) and _same(r["factor_without"].subs(B, 1), 1)


def _cov_by_enumeration(p, q, batch, replacement):
    """Exact Cov(batch mean p, batch mean q) in fractions over every ordered tuple / subset."""
    idx = range(len(p))
    batches = list(itertools.product(idx, repeat=batch)) if replacement else list(itertools.combinations(idx, batch))
    mp = [F(sum(p[i] for i in b), batch) for b in batches]
    mq = [F(sum(q[i] for i in b), batch) for b in batches]
    k = len(batches)
    return sum(x * y for x, y in zip(mp, mq)) / k - (sum(mp) / k) * (sum(mq) / k)


@pytest.mark.parametrize("nn,bb,replacement", [(5, 2, True), (5, 2, False), (6, 4, False), (4, 3, True), (6, 6, False)])
def test_batch_factor_matches_exact_enumeration_in_fractions(derivations, nn, bb, replacement):
    r = derivations["sgd-batch-noise"][0].results
    p = [F(3), F(-1), F(4), F(1, 2), F(5), F(-9)][:nn]
    q = [F(2), F(7), F(-1, 3), F(8), F(-2), F(1)][:nn]
    pbar, qbar = sum(p) / nn, sum(q) / nn
    pop = sum((x - pbar) * (y - qbar) for x, y in zip(p, q)) / nn
    c = r["factor_with" if replacement else "factor_without"].subs({B: bb, n: nn})
    assert sp.Rational(_cov_by_enumeration(p, q, bb, replacement)) == c * sp.Rational(pop)


def test_sgd_growth_and_threshold_are_wu_ma_e(derivations):
    r = derivations["sgd-mean-square-stability"][0].results
    # Wu, Ma & E (2018), Theorem in 1-D (where their sufficient condition is also necessary):
    # linearly stable iff (1 - eta a)^2 + eta^2 s^2 (n - B)/(B(n - 1)) <= 1
    assert _same(r["growth_without"], (1 - eta * a) ** 2 + eta**2 * s**2 * (n - B) / (B * (n - 1)))
    assert _same(r["growth_with"], (1 - eta * a) ** 2 + eta**2 * s**2 / B)
    for key, g in [("eta_critical_with", r["growth_with"]), ("eta_critical_without", r["growth_without"])]:
        assert _same(g.subs(eta, r[key]), 1)
    assert _same(r["eta_critical_with"], 2 * a / (a**2 + s**2 / B))
    assert _same(r["eta_critical_without"].subs(B, n), 2 / a)  # full batch: GD


def test_sgd_growth_by_independent_enumeration():
    """One step of x+ = (1 - eta * batch-mean curvature) x, enumerated here, vs the derived growth."""
    h = [0.5, 2.0, 1.25, 3.0, 0.1]
    growth = sp.lambdify((eta, a, s, B, n), dms.sgd_mean_square().results["growth_without"])
    for bb in (1, 2, 4):
        subsets = list(itertools.combinations(range(5), bb))
        for lr in (0.1, 0.7):
            exact = sum((1 - lr * sum(h[i] for i in b) / bb) ** 2 for b in subsets) / len(subsets)
            assert growth(lr, np.mean(h), np.std(h), bb, 5) == pytest.approx(exact, rel=1e-13)


def test_heavy_ball_threshold_and_limits(derivations):
    r = derivations["heavy-ball-sgd-mean-square"][0].results
    expected = 2 * a * (1 - beta**2) / ((1 - beta) * a**2 + (1 + beta) * v)
    assert _same(r["eta_critical"], expected)
    assert _same(r["eta_critical"].subs(beta, 0), 2 * a / (a**2 + v))  # SGD
    assert _same(r["eta_critical"].subs(v, 0), 2 * (1 + beta) / a)  # deterministic heavy ball
    # det(I - M) = 0 at the threshold
    assert _same((sp.eye(3) - r["operator"]).det().subs(eta, expected), 0)


def test_heavy_ball_operator_by_independent_enumeration(derivations):
    """E over all batches of (x+^2, x+ x, x^2) from a fixed state (x, x_-), typed from the recursion."""
    op = sp.lambdify((eta, beta, a, v), derivations["heavy-ball-sgd-mean-square"][0].results["operator"])
    h, bb, lr, mom = [0.5, 2.0, 1.25, 3.0], 2, 0.4, 0.7
    for x, xm in [(1.0, 0.0), (0.3, -1.2), (2.0, 0.5)]:
        subsets = list(itertools.combinations(range(4), bb))
        nxt = [((1 + mom - lr * sum(h[i] for i in b) / bb) * x - mom * xm, x) for b in subsets]
        exact = np.mean([[y * y, y * yx, yx * yx] for y, yx in nxt], axis=0)
        var = (4 - bb) / (bb * 3) * np.var(h)
        got = np.array(op(lr, mom, np.mean(h), var), dtype=float) @ np.array([x * x, x * xm, xm * xm])
        assert got == pytest.approx(exact, rel=1e-13, abs=1e-14)


def test_heavy_ball_monte_carlo_matches_the_derived_operator():
    """Independent simulation (plain NumPy, its own subset sampler): E x_T^2 inside the 99.9% t-interval of the
    derived operator's prediction M^T (1, 1, 1), and on the right side of 1, at 0.8 and 1.25 eta_c."""
    from scipy import stats

    h = np.array([0.5, 2.0, 1.25, 3.0, 0.1, 1.7])
    bb, mom, paths = 2, 0.5, 20000
    var = (6 - bb) / (bb * 5) * h.var()
    ec = float(dms.HB_ETA_CRITICAL.subs({beta: mom, a: h.mean(), v: var}))
    op = sp.lambdify((eta, beta, a, v), dms.heavy_ball_mean_square().results["operator"])
    rng = np.random.default_rng(7)
    for f, grows, steps in [(0.8, False, 15), (1.25, True, 4)]:  # few steps where x^2 grows: heavy tails
        x, xm = np.ones(paths), np.ones(paths)
        for _ in range(steps):
            ab = h[np.argsort(rng.random((paths, 6)), axis=1)[:, :bb]].mean(axis=1)  # uniform 2-subsets
            x, xm = (1 + mom - f * ec * ab) * x - mom * xm, x
        predicted = (np.linalg.matrix_power(np.array(op(f * ec, mom, h.mean(), var), dtype=float), steps)
                     @ np.ones(3))[0]
        m2 = np.mean(x**2)
        half = stats.t.ppf(0.9995, paths - 1) * np.std(x**2, ddof=1) / math.sqrt(paths)
        assert abs(m2 - predicted) <= half, (f, m2, half, predicted)
        assert (m2 - half > 1.0) if grows else (m2 + half < 1.0), (f, m2, half)


def test_checks_pass():
    for f in (cms.batch_noise_factors, cms.mean_square_thresholds, cms.heavy_ball_thresholds):
        rows = f()
        assert rows and all(r.status == "pass" for r in rows), [(r.check, r.error, r.detail) for r in rows]


def test_wrong_formulas_fail_the_checks():
    # c = 1/B used without replacement
    wrong = dict(dn.batch_noise().results, factor_without=1 / B)
    rows = {r.check: r for r in cms.batch_noise_factors(results=wrong)}
    assert rows["sgd-batch-noise/without-replacement"].status == "fail"
    assert rows["sgd-batch-noise/with-replacement"].status == "pass"
    good = dms.sgd_mean_square().results
    wrong = dict(good, growth_without=(1 - eta * a) ** 2 + eta**2 * s**2 / B,
                 eta_critical_without=2 * a / (a**2 + s**2 / B))
    rows = {r.check: r for r in cms.mean_square_thresholds(results=wrong)}
    for name in ("sgd-mean-square/growth/without", "sgd-mean-square/eta-critical/without",
                 "sgd-mean-square/monte-carlo/without/0.9eta_c"):
        assert rows[name].status == "fail", rows[name]
    assert rows["sgd-mean-square/growth/with"].status == "pass"
    # heavy ball: the noise-free threshold 2(1 + beta)/a is too optimistic
    wrong = dict(dms.heavy_ball_mean_square().results, eta_critical=2 * (1 + beta) / a)
    rows = {r.check: r for r in cms.heavy_ball_thresholds(results=wrong)}
    for name in ("heavy-ball-mean-square/radius-one-at-eta-c", "heavy-ball-mean-square/first-crossing"):
        assert rows[name].status == "fail", rows[name]
    assert math.isfinite(rows["heavy-ball-mean-square/operator"].error)


def test_spread_radius_is_at_most_lambda_max_and_equal_for_commuting_hessians():
    """rho(S -> (1/n) sum (H_i - H) S (H_i - H)) <= lambda_max(Sigma_H), with equality for a shared eigenbasis."""
    from numeric.stochastic import sharpness_nonuniformity

    rng = np.random.default_rng(3)
    for _ in range(5):
        x = rng.normal(size=(5, 3, 2))
        hs = np.einsum("kia,kja->kij", x, x)
        rho = max(abs(np.linalg.eigvals(cms._spread_operator(hs))))
        assert rho <= sharpness_nonuniformity(hs)[1] ** 2 * (1 + 1e-12)
    u, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    hs = np.einsum("ij,kj,lj->kil", u, rng.uniform(0, 2, size=(5, 3)), u)
    rho = max(abs(np.linalg.eigvals(cms._spread_operator(hs))))
    assert rho == pytest.approx(sharpness_nonuniformity(hs)[1] ** 2, rel=1e-10)


def test_box_is_not_necessary_in_two_dimensions_by_exact_fractions(monkeypatch):
    """The derivation's example, recomputed here in fractions: T(S) = E (I - eta H_b) S (I - eta H_b) with B = 1 (each
    H_i with probability 1/3) as a 3x3 matrix on (S11, S12, S22); its spectral radius is < 1 although
    eta^2 lambda_max(Sigma_H) > 1.  Moving eta so that the box holds (or SGD diverges) makes the check fail."""
    xs = [np.array(x, dtype=object) * F(1) for x in dms.EXAMPLE_XS]
    hs = [np.outer(x, x) for x in xs]
    lr = F(dms.EXAMPLE_ETA.p, dms.EXAMPLE_ETA.q)
    cols = []
    for e in ([[1, 0], [0, 0]], [[0, 1], [1, 0]], [[0, 0], [0, 1]]):
        img = sum(np.dot(np.dot(np.eye(2, dtype=object) - lr * h, np.array(e, dtype=object)),
                         np.eye(2, dtype=object) - lr * h) for h in hs) / 3
        cols.append([img[0, 0], img[0, 1], img[1, 1]])
    t = np.array(cols, dtype=float).T
    assert max(abs(np.linalg.eigvals(t))) < 0.95
    h = sum(hs) / 3
    sig = np.array(sum(np.dot(x, x) for x in hs) / 3 - np.dot(h, h), dtype=float)
    assert float(lr) ** 2 * np.linalg.eigvalsh(sig).max() > 1.09
    assert cms._box_not_necessary_example().status == "pass"
    for wrong in (sp.Rational(1, 9), sp.Rational(4, 9)):  # box holds / SGD unstable
        monkeypatch.setattr(dms, "EXAMPLE_ETA", wrong)
        assert cms._box_not_necessary_example().status == "fail", wrong
