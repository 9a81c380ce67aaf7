"""Correlations with confidence intervals (numeric.correlation), REINFORCE against exact policy gradients
(numeric.models.reinforce), and the gradient-order-parameter experiment (verify.experiments.order_parameter)."""
import io
import json
import math

import numpy as np
import pytest
import scipy.stats as st

from numeric import correlation as corr
from numeric.models import reinforce as rf


# --------------------------------------------------------------------------------------------- #
# correlation
# --------------------------------------------------------------------------------------------- #
def _bivariate(rng, n, rho):
    x = rng.standard_normal(n)
    return x, rho * x + math.sqrt(1 - rho ** 2) * rng.standard_normal(n)


@pytest.mark.parametrize("n, rho, seed", [(10, 0.3, 0), (50, -0.7, 1), (200, 0.9, 2)])
def test_pearson_and_fisher_ci_match_scipy_and_a_hand_computation(n, rho, seed):
    x, y = _bivariate(np.random.default_rng(seed), n, rho)
    res = st.pearsonr(x, y)
    r = corr.pearson(x, y)
    assert r == pytest.approx(res.statistic, abs=1e-13)
    lo, hi = corr.fisher_ci(r, n, 0.95)
    ci = res.confidence_interval(0.95)
    assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-12)
    # by hand: z_{0.975} = 1.959963984540054
    half = 1.959963984540054 / math.sqrt(n - 3)
    assert (lo, hi) == pytest.approx((math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)), abs=1e-12)
    lo99, hi99 = corr.fisher_ci(r, n, 0.99)
    assert lo99 < lo < r < hi < hi99


def test_spearman_matches_scipy_with_ties_and_ranks_average_ties():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 6, 40).astype(float), rng.integers(0, 4, 40).astype(float) + 0.1 * rng.integers(0, 6, 40)
    assert corr.spearman(x, y) == pytest.approx(st.spearmanr(x, y).statistic, abs=1e-13)
    assert corr.ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3.5, 1.0, 3.5, 2.0]
    c = corr.correlate(x, y, method="spearman")
    half = 1.959963984540054 * math.sqrt(1.06 / (40 - 3))
    assert (c.low, c.high) == pytest.approx((math.tanh(math.atanh(c.estimate) - half),
                                             math.tanh(math.atanh(c.estimate) + half)), abs=1e-12)


def test_bootstrap_and_fisher_cover_the_true_correlation_of_independent_pairs():
    rng = np.random.default_rng(4)
    rho, n, reps = 0.5, 40, 200
    hit_boot = hit_fisher = 0
    for i in range(reps):
        x, y = _bivariate(rng, n, rho)
        lo, hi = corr.bootstrap_ci(x, y, n_boot=400, seed=i)
        hit_boot += lo <= rho <= hi
        lo, hi = corr.fisher_ci(corr.pearson(x, y), n)
        hit_fisher += lo <= rho <= hi
    # nominal 95%; binomial sd over 200 runs ~ 1.5%; the percentile bootstrap undercovers a little at n = 40
    assert 0.85 <= hit_boot / reps <= 0.99
    assert 0.90 <= hit_fisher / reps <= 0.99
    x, y = _bivariate(np.random.default_rng(5), 30, 0.2)
    assert corr.bootstrap_ci(x, y, seed=7) == corr.bootstrap_ci(x, y, seed=7)  # seeded


def _ar1(rng, n, phi):
    e = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = e[0] / math.sqrt(1 - phi ** 2)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + e[t]
    return out


def test_naive_fisher_is_too_narrow_for_autocorrelated_series_and_across_runs_is_not():
    """Two INDEPENDENT AR(1) series (phi = 0.95): true correlation 0.  The Fisher interval (for iid pairs)
    misses 0 far more often than 5%; the t-interval over 8 independent runs' r covers it about 95%."""
    rng = np.random.default_rng(6)
    n, groups, runs = 200, 60, 8
    naive_hits, across_hits = 0, 0
    for _ in range(groups):
        rs = []
        for _ in range(runs):
            x, y = _ar1(rng, n, 0.95), _ar1(rng, n, 0.95)
            c = corr.correlate(x, y)
            naive_hits += c.low <= 0 <= c.high
            rs.append(c.estimate)
        a = corr.across_runs(rs)
        across_hits += a.low <= 0 <= a.high
    assert naive_hits / (groups * runs) < 0.6
    assert across_hits / groups >= 0.85
    x, y = _ar1(rng, n, 0.95), _ar1(rng, n, 0.95)
    naive = corr.correlate(x, y, interval="bootstrap", n_boot=1000)
    blocked = corr.correlate(x, y, interval="bootstrap", n_boot=1000, block=40)
    assert blocked.high - blocked.low > naive.high - naive.low
    assert "block 40" in blocked.interval


def test_across_runs_is_the_student_t_interval():
    rs = [-0.9, -0.7, -0.95, -0.6, -0.85]
    a = corr.across_runs(rs, 0.9)
    half = st.t.ppf(0.95, 4) * np.std(rs, ddof=1) / math.sqrt(5)
    assert (a.estimate, a.low, a.high) == pytest.approx((np.mean(rs), np.mean(rs) - half, np.mean(rs) + half), abs=1e-12)
    assert a.n == 5 and a.excludes_zero()
    assert corr.t_interval([1.5, 1.7, 1.6])[0] == pytest.approx(1.6)


@pytest.mark.parametrize("call, match", [
    (lambda: corr.correlate([1, 2, 3], [1, 2, 4]), "at least 4"),
    (lambda: corr.correlate([1, 2, 3, 4], [1, 2, 3]), "same length"),
    (lambda: corr.correlate([1, 1, 1, 1], [1, 2, 3, 4]), "constant"),
    (lambda: corr.correlate([1, 2, 3, 4], [5, 5, 5, 5]), "constant"),
    (lambda: corr.correlate([1, 2, np.nan, 4], [1, 2, 3, 4]), "finite"),
    (lambda: corr.correlate([[1, 2], [3, 4]], [1, 2, 3, 4]), "1-D"),
    (lambda: corr.correlate([1, 2, 3, 4], [1, 3, 2, 4], method="kendall"), "method"),
    (lambda: corr.correlate([1, 2, 3, 4], [1, 3, 2, 4], interval="exact"), "interval"),
    (lambda: corr.fisher_ci(0.5, 3), "n must be"),
    (lambda: corr.fisher_ci(1.5, 10), r"\[-1, 1\]"),
    (lambda: corr.fisher_ci(0.5, 10, confidence=1.0), "confidence"),
    (lambda: corr.bootstrap_ci(range(10), [1, 3, 2, 4, 5, 7, 6, 8, 9, 10], block=6), "block"),
    (lambda: corr.across_runs([0.5]), "at least 2"),
    (lambda: corr.across_runs([0.5, 1.2]), r"\[-1, 1\]"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------------------------- #
# REINFORCE
# --------------------------------------------------------------------------------------------- #
def test_bandit_closed_form_gradient_matches_finite_differences():
    means, theta, h = np.array([0.2, -0.4, 1.3, 0.7]), np.array([0.3, -1.0, 0.4, 0.0]), 1e-6
    fd = [(rf.expected_return(theta + h * e, means) - rf.expected_return(theta - h * e, means)) / (2 * h)
          for e in np.eye(4)]
    assert np.allclose(rf.policy_gradient(theta, means), fd, atol=1e-9)


@pytest.mark.parametrize("kind, baseline", [("bernoulli", 0.0), ("gaussian", 0.8)])
def test_reinforce_estimator_is_unbiased_and_its_second_moment_is_the_closed_form(kind, baseline):
    band = rf.Bandit([0.1, 0.5, 0.9, 0.6], kind=kind, sd=0.5)
    theta, rng, M = np.array([0.5, -0.2, 0.1, 0.3]), np.random.default_rng(8), 100_000
    pi = rf.softmax(theta)
    a = rng.choice(4, size=M, p=pi)
    R = band.pull(a, rng)
    G = (R - baseline)[:, None] * (np.eye(4)[a] - pi)
    z = (G.mean(0) - rf.policy_gradient(theta, band.means)) / (G.std(0, ddof=1) / math.sqrt(M))
    assert np.max(np.abs(z)) < 4.5
    sq = np.sum(G ** 2, axis=1)
    m2 = rf.estimator_second_moment(theta, band.means, band.variances, baseline)
    assert abs(sq.mean() - m2) < 4.5 * sq.std(ddof=1) / math.sqrt(M)
    # the batched estimator is the mean of the one-sample ones
    assert np.allclose(rf.reinforce_estimate(theta, a[:50], R[:50], baseline), G[:50].mean(0), atol=1e-14)


def test_bandit_training_improves_and_records_consistent_norms():
    band = rf.Bandit([0.1, 0.3, 0.5, 0.7, 0.9])
    out = rf.train_bandit(band, steps=400, lr=0.5, baseline=True, seed=1)
    assert out["expected_return"][-1] > 0.8 > out["expected_return"][0] == pytest.approx(0.5)
    assert out["exact_grad_norm"][0] == pytest.approx(np.linalg.norm(0.2 * (band.means - 0.5)))
    assert out["entropy"][0] == pytest.approx(math.log(5))
    assert out["entropy"][-1] < 0.5 * math.log(5)


def test_gridworld_exact_gradient_matches_finite_differences_and_sampled_returns():
    world = rf.Gridworld(3, gamma=0.8, horizon=12, slip=0.2)
    rng = np.random.default_rng(9)
    theta = rng.normal(0, 0.7, (9, 4))
    J, g = world.exact(theta)
    h, fd = 1e-6, np.zeros_like(theta)
    for s in range(9):
        for b in range(4):
            e = np.zeros_like(theta)
            e[s, b] = h
            fd[s, b] = (world.exact_return(theta + e) - world.exact_return(theta - e)) / (2 * h)
    assert np.allclose(g, fd, atol=1e-9)
    ests, rets = zip(*(world.episodes(theta, 100, rng) for _ in range(100)))
    ests, rets = np.array(ests), np.concatenate(rets)
    assert abs(rets.mean() - J) < 4.5 * rets.std(ddof=1) / math.sqrt(rets.size)
    se = ests.std(0, ddof=1) / 10
    ok = se > 0
    assert np.max(np.abs(ests.mean(0) - g)[ok] / se[ok]) < 4.5
    assert np.all(g[~ok] == 0)  # the goal's actions do not matter


def test_gridworld_optimum_and_training():
    det = rf.Gridworld(4, gamma=0.9, horizon=20, slip=0.0)
    assert det.optimal_value() == pytest.approx(0.9 ** 5) == pytest.approx(det.optimal_return)
    world = rf.Gridworld(4, gamma=0.9, horizon=20, slip=0.1)
    out = rf.train_gridworld(world, steps=120, lr=2.0, batch=8, seed=3)
    J = out["expected_return"]
    assert J[0] < 0.1 and J[-1] > 0.85 * world.optimal_value()
    assert np.argmax(out["exact_grad_norm"]) > 0  # the exact gradient norm first grows


@pytest.mark.parametrize("call, match", [
    (lambda: rf.Bandit([0.5]), "at least 2"),
    (lambda: rf.Bandit([0.5, 1.5]), r"\[0, 1\]"),
    (lambda: rf.Bandit([0.5, 0.2], kind="poisson"), "kind"),
    (lambda: rf.policy_gradient([0.0, 0.0], [1.0, 2.0, 3.0]), "shape"),
    (lambda: rf.reinforce_estimate([0.0, 0.0], [0, 2], [1.0, 1.0]), "arm indices"),
    (lambda: rf.train_bandit(rf.Bandit([0.1, 0.9]), steps=0), "steps"),
    (lambda: rf.Gridworld(gamma=1.5), "gamma"),
    (lambda: rf.Gridworld().exact(np.zeros((4, 4))), "shape"),
])
def test_reinforce_bad_inputs_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------------------------- #
# the experiment
# --------------------------------------------------------------------------------------------- #
def test_gradient_order_parameter_experiment_claims_hold():
    from verify.experiments import _plain
    from verify.experiments.order_parameter import gradient_order_parameter

    fig, summary = gradient_order_parameter(seed=0)
    assert summary["claims"] and all(c["holds"] for c in summary["claims"]), \
        [c for c in summary["claims"] if not c["holds"]]
    json.dumps(_plain(summary), allow_nan=False)
    s = summary["correlations"]
    # every (task, gradient kind) has within-run windows and an across-run correlation
    for task, kinds in s.items():
        for kind, v in kinds.items():
            assert len(v["windows"]["all"]["per_run"]) == len(summary["seeds"]) == 8
            assert "across_fixed" in v and "seed0_block_bootstrap" in v
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=60)
    assert png.tell() > 10_000


def test_gridworld_window_split_is_set_by_the_return_not_by_the_gradient():
    """Synthetic runs: J ramps up linearly, the gradient peaks at a place unrelated to J.  The split index is the
    first J >= optimum/2 (here 50), whatever the gradient does; r before/after follow the gradient's shape."""
    from verify.experiments.order_parameter import _half_optimum_split

    t = np.arange(101, dtype=float)
    runs = []
    for peak in (20.0, 80.0):  # the gradient peaks well before / well after the J split
        g = 1.0 + np.exp(-((t - peak) / 10.0) ** 2)
        runs.append({"step": t, "performance": t / 100.0, "g": g})
    out = _half_optimum_split(runs, "g", optimum=1.0)
    assert out["split_update"] == [50, 50]
    assert out["argmax_g_per_run"] == [20, 80]
    rb, ra = out["per_run_r_before"], out["per_run_r_after"]
    assert ra[0] < 0 and rb[1] > 0  # after a peak at 20 the gradient falls; before a peak at 80 it rises
    # a run whose J never reaches the split gives nan, and the interval is nan (the claim then fails)
    runs.append({"step": t, "performance": t / 1000.0, "g": np.ones_like(t)})
    out = _half_optimum_split(runs, "g", optimum=1.0)
    assert out["split_update"][-1] == -1 and math.isnan(out["r_before"][0])
