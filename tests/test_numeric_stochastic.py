"""Tests for numeric.stochastic: per-sample problems, batch sampling, SGD moments, Monte Carlo, SDEs.

Reference values come from outside the code under test: central finite differences, closed forms written
here (the variance factor c of a batch mean, the OU law), brute-force enumeration over ordered batch
sequences with itertools, chi-square tests of sampling frequencies, and Monte Carlo with t-intervals.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import solve_ivp

import numeric.stochastic.sgd as sgd_module
from numeric.stochastic import (
    all_batches, batch_count, batch_indices, em_ou_moments, epoch_batches, euler_maruyama,
    exact_distribution_1d, exact_moments, exact_stationary, interval_error, least_squares, logistic, mean_ci,
    ou_moments, quadratic, quadratic_1d,
    second_moment_operator, seeds_ci, sgd_paths, sgd_run, sharpness_nonuniformity, weak_order,
)


# ---------------------------------------------------------------- per-sample problems


def central_grad(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def data(seed, n=7, d=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d), rng


@pytest.mark.parametrize("kind", ["least_squares", "logistic"])
def test_per_sample_gradients_and_hessians_match_finite_differences(kind):
    X, y, theta, rng = data(1)
    if kind == "logistic":
        y = (y > 0).astype(float)
        prob = logistic(X, y)
    else:
        prob = least_squares(X, y)
    assert (prob.n, prob.dim) == (7, 3)
    idx = np.arange(7)
    g = prob.sample_grads(theta, idx)
    h = prob.sample_hessians(theta, idx)
    assert g.shape == (7, 3) and h.shape == (7, 3, 3)
    for i in range(7):
        fd = central_grad(lambda t: prob.sample_losses(t, [i])[0], theta)
        np.testing.assert_allclose(g[i], fd, rtol=1e-6, atol=1e-8)
        fd_h = np.array([central_grad(lambda t: prob.sample_grads(t, [i])[0][k], theta) for k in range(3)])
        np.testing.assert_allclose(h[i], fd_h, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(prob.grad(theta), central_grad(prob.loss, theta), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(prob.hessian(theta), h.mean(axis=0), rtol=1e-12)
    # a repeated index counts twice in the batch mean
    np.testing.assert_allclose(prob.batch_grad(theta, [2, 2, 5]), (2 * g[2] + g[5]) / 3, rtol=1e-12)


def test_losses_match_their_definitions():
    X, y, theta, _ = data(2)
    z = X @ theta
    np.testing.assert_allclose(least_squares(X, y).loss(theta), np.mean(0.5 * (z - y) ** 2), rtol=1e-13)
    lab = (y > 0).astype(float)
    np.testing.assert_allclose(logistic(X, lab).loss(theta), np.mean(np.log(1 + np.exp(z)) - lab * z), rtol=1e-12)
    # stable at huge logits: loss ~ z for y=0, ~0 for y=1, no overflow
    big = logistic(np.array([[1.0], [1.0]]), [0.0, 1.0])
    np.testing.assert_allclose(big.sample_losses([800.0], [0, 1]), [800.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(big.sample_hessians([800.0], [0])[0], [[0.0]], atol=1e-300)


def test_least_squares_minimizer_and_quadratic_model():
    X, y, theta, _ = data(3, n=10)
    prob = least_squares(X, y)
    star = prob.minimizer()
    np.testing.assert_allclose(prob.grad(star), 0.0, atol=1e-12)
    h, g = prob.quadratic_model()
    q = quadratic(h, g)
    np.testing.assert_allclose(q.sample_grads(theta, range(10)), prob.sample_grads(theta, range(10)), rtol=1e-12)
    np.testing.assert_allclose(q.minimizer(), star, rtol=1e-10)


def test_quadratic_1d_closed_form():
    prob = quadratic_1d([1.0, 3.0], [0.5, -1.0])
    th = np.array([2.0])
    assert prob.loss(th) == pytest.approx(0.5 * (0.5 * 1 * 4 + 0.5 * 2 + 0.5 * 3 * 4 - 2))
    np.testing.assert_allclose(prob.grad(th), [0.5 * (2.5 + 5.0)])
    np.testing.assert_allclose(prob.hessian(th), [[2.0]])
    np.testing.assert_allclose(prob.curvatures, [1.0, 3.0])
    np.testing.assert_allclose(prob.minimizer(), [0.125])  # -mean(g) / mean(a) = 0.25 / 2


def test_sharpness_nonuniformity():
    a, s = sharpness_nonuniformity([1.0, 2.0, 6.0])
    assert a == pytest.approx(3.0) and s == pytest.approx(math.sqrt((4 + 1 + 9) / 3))
    # diagonal (commuting) Hessians: a = max mean diagonal, s^2 = max over coordinates of the variance
    hs = np.array([np.diag([1.0, 4.0]), np.diag([3.0, 4.0]), np.diag([2.0, 1.0])])
    a, s = sharpness_nonuniformity(hs)
    assert a == pytest.approx(3.0) and s == pytest.approx(math.sqrt(2.0))  # coord 2: var of (4,4,1) = 2
    # rotation invariance and the definition (1/n) sum H_i^2 - H^2 for non-commuting matrices
    rng = np.random.default_rng(4)
    m = rng.standard_normal((5, 3, 3))
    hs = m @ np.swapaxes(m, 1, 2)
    q = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    a, s = sharpness_nonuniformity(hs)
    a2, s2 = sharpness_nonuniformity(q @ hs @ q.T)
    hbar = hs.mean(axis=0)
    sig = np.mean([h @ h for h in hs], axis=0) - hbar @ hbar
    assert a == pytest.approx(np.linalg.eigvalsh(hbar)[-1]) and s == pytest.approx(np.sqrt(np.linalg.eigvalsh(sig)[-1]))
    assert (a2, s2) == pytest.approx((a, s))


# ---------------------------------------------------------------- sampling


def variance_factor(n, b, with_replacement):
    """The textbook c of Var(batch mean) = c * population variance (stated here, outside the code)."""
    return 1.0 / b if with_replacement else (n - b) / (b * (n - 1))


@pytest.mark.parametrize("with_replacement", [True, False])
@pytest.mark.parametrize("n,b", [(5, 1), (5, 2), (6, 3), (4, 4)])
def test_all_batches_moments_of_batch_mean(n, b, with_replacement):
    q = np.random.default_rng(n * 10 + b).standard_normal(n)
    w = np.random.default_rng(n * 10 + b + 1).standard_normal(n)
    batches = all_batches(n, b, with_replacement)
    assert len(batches) == batch_count(n, b, with_replacement)
    p = np.array([pr for _, pr in batches])
    means = np.array([q[list(ix)].mean() for ix, _ in batches])
    means_w = np.array([w[list(ix)].mean() for ix, _ in batches])
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    c = variance_factor(n, b, with_replacement)
    assert p @ means == pytest.approx(q.mean(), abs=1e-12)
    assert p @ (means - q.mean()) ** 2 == pytest.approx(c * q.var(), abs=1e-12)
    cov = np.mean((q - q.mean()) * (w - w.mean()))
    assert p @ ((means - q.mean()) * (means_w - w.mean())) == pytest.approx(c * cov, abs=1e-12)


def test_all_batches_with_replacement_matches_ordered_tuples():
    """Multiset weights = the n^B ordered tuples, counted by brute force."""
    n, b = 4, 3
    counts = {}
    for t in itertools.product(range(n), repeat=b):
        counts[tuple(sorted(t))] = counts.get(tuple(sorted(t)), 0) + 1
    got = dict(all_batches(n, b, True))
    assert set(got) == set(counts)
    for k, c in counts.items():
        assert got[k] == pytest.approx(c / n ** b, rel=1e-12)
    assert sorted(dict(all_batches(5, 2, False))) == sorted(itertools.combinations(range(5), 2))


def chi2_pvalue(observed, expected):
    return stats.chisquare(observed, expected).pvalue


@pytest.mark.parametrize("with_replacement", [True, False])
def test_batch_indices_distribution(with_replacement):
    rng = np.random.default_rng(5)
    n, b, draws = 5, 2, 20000
    counts = {}
    for _ in range(draws):
        ix = batch_indices(rng, n, b, with_replacement)
        assert ix.shape == (b,) and ix.min() >= 0 and ix.max() < n
        if not with_replacement:
            assert len(set(ix.tolist())) == b
        key = tuple(ix.tolist()) if with_replacement else tuple(sorted(ix.tolist()))
        counts[key] = counts.get(key, 0) + 1
    support = list(itertools.product(range(n), repeat=b)) if with_replacement else \
        list(itertools.combinations(range(n), b))
    obs = np.array([counts.get(k, 0) for k in support])
    assert obs.sum() == draws
    assert chi2_pvalue(obs, np.full(len(support), draws / len(support))) > 1e-4


def test_epoch_batches_is_a_uniform_partition():
    rng = np.random.default_rng(6)
    n, b, epochs = 6, 2, 6000
    first = np.zeros(n)
    for _ in range(epochs):
        batches = epoch_batches(rng, n, b)
        assert len(batches) == 3 and all(x.shape == (2,) for x in batches)
        assert sorted(np.concatenate(batches).tolist()) == list(range(n))
        first[batches[0]] += 1
    # each sample lands in the first batch with probability b/n
    assert chi2_pvalue(first, np.full(n, epochs * b / n)) > 1e-4
    with pytest.raises(ValueError, match="multiple"):
        epoch_batches(rng, 7, 2)


def test_sampling_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at most n"):
        batch_indices(rng, 3, 4, False)
    assert batch_indices(rng, 3, 4, True).shape == (4,)  # with replacement B > n is fine
    with pytest.raises(ValueError, match="Generator"):
        batch_indices(0, 3, 2, True)
    with pytest.raises(ValueError, match="more than"):
        all_batches(40, 20, False)
    with pytest.raises(ValueError, match="batch"):
        all_batches(4, 0, True)


# ---------------------------------------------------------------- exact moments


def brute_force_moments(hessians, offsets, theta0, lr, b, steps, with_replacement, momentum=0.0):
    """E theta_T, E theta_T theta_T^T by summing over every ordered sequence of ordered batches (itertools)."""
    n, d = offsets.shape
    if with_replacement:
        one = [(t, 1.0 / n ** b) for t in itertools.product(range(n), repeat=b)]
    else:
        perms = list(itertools.permutations(range(n), b))
        one = [(t, 1.0 / len(perms)) for t in perms]
    mean, second = np.zeros(d), np.zeros((d, d))
    for seq in itertools.product(one, repeat=steps):
        th, prev, pr = np.array(theta0, float), np.array(theta0, float), 1.0
        for ix, p in seq:
            ix = list(ix)
            grad = hessians[ix].mean(axis=0) @ th + offsets[ix].mean(axis=0)
            th, prev = th - lr * grad + momentum * (th - prev), th
            pr *= p
        mean += pr * th
        second += pr * np.outer(th, th)
    return mean, second


@pytest.mark.parametrize("with_replacement,momentum", [(True, 0.0), (False, 0.0), (False, 0.6), (True, 0.3)])
def test_exact_moments_match_brute_force_enumeration(with_replacement, momentum):
    rng = np.random.default_rng(7)
    m = rng.standard_normal((3, 2, 2))
    hs = m @ np.swapaxes(m, 1, 2)
    gs = rng.standard_normal((3, 2))
    th0 = np.array([1.0, -0.5])
    res = exact_moments(hs, gs, th0, 0.3, 2, 3, with_replacement=with_replacement, momentum=momentum)
    mean, second = brute_force_moments(hs, gs, th0, 0.3, 2, 3, with_replacement, momentum)
    np.testing.assert_allclose(res["mean"][3], mean, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(res["second"][3], second, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(res["covariance"][3], second - np.outer(mean, mean), rtol=1e-9, atol=1e-13)
    assert ("state_second" in res) == (momentum > 0)
    if momentum:
        assert res["state_second"].shape == (4, 4, 4)
        np.testing.assert_allclose(res["state_second"][3][:2, :2], second, rtol=1e-11)


@pytest.mark.parametrize("with_replacement", [True, False])
def test_exact_moments_1d_match_exact_distribution(with_replacement):
    a, g = [0.5, 1.0, 2.5, 4.0], [0.3, -0.2, 0.1, -0.4]
    res = exact_moments(a, g, 1.5, 0.35, 2, 4, with_replacement=with_replacement)
    for t in range(5):
        vals, probs = exact_distribution_1d(a, g, 1.5, 0.35, 2, t, with_replacement=with_replacement)
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)
        assert res["mean"][t, 0] == pytest.approx(probs @ vals, rel=1e-12, abs=1e-14)
        assert res["second"][t, 0, 0] == pytest.approx(probs @ vals ** 2, rel=1e-12)


def test_exact_moments_full_batch_is_gradient_descent():
    a = np.array([1.0, 3.0, 2.0])
    res = exact_moments(a, None, 2.0, 0.2, 3, 5)
    x = 2.0 * (1 - 0.2 * 2.0) ** np.arange(6)
    np.testing.assert_allclose(res["mean"][:, 0], x, rtol=1e-13)
    np.testing.assert_allclose(res["covariance"][:, 0, 0], 0.0, atol=1e-13)


def test_exact_moments_2d_against_monte_carlo_sgd_run():
    rng = np.random.default_rng(8)
    m = rng.standard_normal((4, 2, 2))
    hs = m @ np.swapaxes(m, 1, 2) / 2
    gs = rng.standard_normal((4, 2))
    prob = quadratic(hs, gs)
    th0, lr, b, steps, runs = np.array([1.0, 1.0]), 0.2, 2, 6, 3000
    res = exact_moments(hs, gs, th0, lr, b, steps, with_replacement=False, momentum=0.4)
    finals = np.array([sgd_run(prob, th0, lr, b, steps, rng, momentum=0.4)[-1] for _ in range(runs)])
    stats_ = np.concatenate([finals, finals ** 2, finals[:, :1] * finals[:, 1:]], axis=1)
    mean, half = mean_ci(stats_)
    exact = np.concatenate([res["mean"][-1], np.diag(res["second"][-1]), [res["second"][-1][0, 1]]])
    assert np.all(interval_error(mean, half, exact) <= 1.0), (mean, exact, half)
    # a wrong law (with replacement instead of without) is detected by the same interval
    wrong = exact_moments(hs, gs, th0, lr, b, steps, with_replacement=True, momentum=0.4)
    assert interval_error(mean[2], half[2], wrong["second"][-1][0, 0]) > 1.0 or \
        interval_error(mean[3], half[3], wrong["second"][-1][1, 1]) > 1.0


@pytest.mark.parametrize("with_replacement", [True, False])
def test_second_moment_operator_closed_forms(with_replacement):
    """1-D: E(1 - lr a_b)^2 = (1 - lr a)^2 + lr^2 c s^2; heavy ball on (E x^2, E x x_, E x_^2) by hand."""
    a = np.array([0.5, 1.0, 2.0, 3.5, 4.0])
    lr, b, beta = 0.3, 2, 0.45
    c = variance_factor(5, b, with_replacement)
    v = c * a.var()
    op = second_moment_operator(a, lr, b, with_replacement)
    assert op.shape == (1, 1) and op[0, 0] == pytest.approx((1 - lr * a.mean()) ** 2 + lr ** 2 * v, rel=1e-12)
    r = 1 + beta - lr * a.mean()
    expected = np.array([[r * r + lr ** 2 * v, -2 * beta * r, beta ** 2], [r, -beta, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(second_moment_operator(a, lr, b, with_replacement, momentum=beta), expected,
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("with_replacement", [True, False])
def test_exact_stationary_closed_form_and_long_run(with_replacement):
    """Equal curvatures a, offsets g_i: the stationary law of x+ = (1 - lr a) x - lr g_b has mean -gbar / a
    and variance lr^2 c s_g^2 / (1 - (1 - lr a)^2)."""
    g = np.array([0.4, -1.0, 0.3, 0.9, -0.2, 0.6])
    a, lr, b = 1.5, 0.4, 2
    res = exact_stationary(np.full(6, a), g, lr, b, with_replacement)
    c = variance_factor(6, b, with_replacement)
    assert res["mean"][0] == pytest.approx(-g.mean() / a, rel=1e-12)
    assert res["covariance"][0, 0] == pytest.approx(lr ** 2 * c * g.var() / (1 - (1 - lr * a) ** 2), rel=1e-10)
    assert res["growth"] == pytest.approx((1 - lr * a) ** 2, rel=1e-12)
    # d = 2 heavy ball with noisy curvature: the linear solve agrees with iterating exact_moments for long
    rng = np.random.default_rng(15)
    m = rng.standard_normal((4, 2, 2))
    hs = m @ np.swapaxes(m, 1, 2) / 3
    gs = rng.standard_normal((4, 2))
    st = exact_stationary(hs, gs, 0.3, 2, with_replacement, momentum=0.5)
    run = exact_moments(hs, gs, [1.0, -1.0], 0.3, 2, 3000, with_replacement, momentum=0.5)
    assert st["growth"] < 0.999
    np.testing.assert_allclose(st["state_second"], run["state_second"][-1], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(st["covariance"], run["covariance"][-1], rtol=1e-8, atol=1e-12)
    with pytest.raises(ValueError, match="no stationary law"):
        exact_stationary([0.1, 3.9], [0.0, 1.0], 0.99, 1, True)  # E(1 - lr a_b)^2 = 1.95 > 1


def test_exact_distribution_refuses_long_sequences():
    with pytest.raises(ValueError, match="at most 4"):
        exact_distribution_1d([1.0, 2.0], None, 1.0, 0.1, 1, 5)


# ---------------------------------------------------------------- vectorised paths


@pytest.mark.parametrize("n,b,with_replacement,limit", [
    (5, 2, False, None),      # table of subsets
    (7, 3, False, 0),         # Floyd's algorithm on the batch
    (7, 5, False, 0),         # Floyd's algorithm on the complement
    (4, 3, True, None),       # one table of ordered tuples
    (4, 3, True, 16),         # groups of q = 2 and 1 slots
])
def test_sgd_paths_draw_each_batch_with_its_exact_probability(n, b, with_replacement, limit, monkeypatch):
    """With a_i = (b+1)^i and lr = 1, one step gives theta_1 = 1 - a_b, and b a_b (a sum of b digits in base
    b+1) identifies the batch (multiset)."""
    if limit is not None:
        monkeypatch.setattr(sgd_module, "TABLE_LIMIT", limit)
    a = float(b + 1) ** np.arange(n)
    draws = 40000
    x1 = sgd_paths(a, None, 1.0, 1.0, b, 1, draws, np.random.default_rng(9), with_replacement=with_replacement)[1]
    sums = np.rint((1.0 - x1) * b).astype(int)
    batches = all_batches(n, b, with_replacement)
    keys = [int(sum((b + 1) ** i for i in ix)) for ix, _ in batches]
    assert len(set(keys)) == len(keys)  # the base-(b+1) sums identify the batches
    observed = np.array([np.count_nonzero(sums == k) for k in keys])
    assert observed.sum() == draws
    expected = draws * np.array([p for _, p in batches])
    assert chi2_pvalue(observed, expected) > 1e-4


@pytest.mark.parametrize("with_replacement,momentum", [(True, 0.0), (False, 0.0), (False, 0.5)])
def test_sgd_paths_moments_match_exact_moments(with_replacement, momentum):
    a, g = np.array([0.5, 1.0, 2.0, 3.0, 4.5]), np.array([0.2, -0.4, 0.1, 0.5, -0.3])
    x = sgd_paths(a, g, 1.0, 0.3, 2, 30, 40000, np.random.default_rng(10), with_replacement, momentum)
    assert x.shape == (31, 40000) and np.all(x[0] == 1.0)
    res = exact_moments(a, g, 1.0, 0.3, 2, 30, with_replacement=with_replacement, momentum=momentum)
    for t in (1, 5, 30):
        m1, h1 = mean_ci(x[t])
        m2, h2 = mean_ci(x[t] ** 2)
        assert interval_error(m1, h1, res["mean"][t, 0]) <= 1.0
        assert interval_error(m2, h2, res["second"][t, 0, 0]) <= 1.0


def test_sgd_paths_and_sgd_run_agree_in_distribution():
    a, g = np.array([1.0, 2.0, 4.0, 0.5]), np.array([0.5, -0.5, 0.2, 0.1])
    prob = quadratic_1d(a, g)
    rng = np.random.default_rng(11)
    runs = np.array([sgd_run(prob, [1.0], 0.25, 2, 8, rng, with_replacement=True)[-1, 0] for _ in range(3000)])
    paths = sgd_paths(a, g, 1.0, 0.25, 2, 8, 3000, rng, with_replacement=True)[-1]
    # recording every 4th step draws the same random numbers as recording all steps
    full = sgd_paths(a, g, 1.0, 0.25, 2, 8, 50, np.random.default_rng(3), with_replacement=True)
    thin = sgd_paths(a, g, 1.0, 0.25, 2, 8, 50, np.random.default_rng(3), with_replacement=True, every=4)
    np.testing.assert_array_equal(thin, full[::4])
    # two-sample Kolmogorov-Smirnov test: same law of theta_8
    assert stats.ks_2samp(runs, paths).pvalue > 1e-4
    m1, h1 = mean_ci(runs ** 2)
    m2, h2 = mean_ci(paths ** 2)
    assert abs(m1 - m2) <= math.hypot(h1, h2)


def test_sgd_paths_is_fast():
    import time
    a = np.linspace(0.5, 3.0, 10)
    t0 = time.process_time()
    sgd_paths(a, None, 1.0, 0.1, 3, 100, 100_000, np.random.default_rng(0))
    sgd_paths(a, None, 1.0, 0.1, 3, 100, 100_000, np.random.default_rng(0), with_replacement=True)
    assert time.process_time() - t0 < 4.0


def test_sgd_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="lr"):
        sgd_paths([1.0, 2.0], None, 1.0, 0.0, 1, 5, 10, rng)
    with pytest.raises(ValueError, match="at most n"):
        sgd_paths([1.0, 2.0], None, 1.0, 0.1, 3, 5, 10, rng)
    with pytest.raises(ValueError, match="momentum"):
        sgd_paths([1.0, 2.0], None, 1.0, 0.1, 1, 5, 10, rng, momentum=1.0)
    with pytest.raises(ValueError, match="theta0"):
        sgd_paths([1.0, 2.0], None, [1.0, 2.0], 0.1, 1, 5, 10, rng)
    with pytest.raises(ValueError, match="multiple of every"):
        sgd_paths([1.0, 2.0], None, 1.0, 0.1, 1, 5, 10, rng, every=2)
    with pytest.raises(ValueError, match="PerSampleProblem"):
        sgd_run(None, [1.0], 0.1, 1, 5, rng)
    with pytest.raises(ValueError, match="offsets"):
        exact_moments(np.ones((3, 2, 2)), np.ones((3, 3)), [1.0, 1.0], 0.1, 1, 2)
    with pytest.raises(ValueError, match="idx"):
        quadratic_1d([1.0, 2.0]).sample_grads([1.0], [2])
    with pytest.raises(ValueError, match="labels"):
        logistic(np.ones((2, 1)), [0.0, 0.5])


# ---------------------------------------------------------------- Monte Carlo intervals


def test_mean_ci_matches_the_t_interval_and_covers():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    mean, half = mean_ci(x, confidence=0.95)
    lo, hi = stats.t.interval(0.95, 3, loc=x.mean(), scale=stats.sem(x))
    assert mean == pytest.approx(3.5) and half == pytest.approx((hi - lo) / 2)
    # coverage of the 90% interval for 4000 batches of 8 normal samples (vectorised along axis 1)
    rng = np.random.default_rng(12)
    samples = rng.normal(2.0, 3.0, size=(4000, 8))
    means, halves = mean_ci(samples, confidence=0.9, axis=1)
    covered = np.mean(np.abs(means - 2.0) <= halves)
    assert abs(covered - 0.9) < 4 * math.sqrt(0.9 * 0.1 / 4000)
    assert seeds_ci([1.0, 2.0, 4.0, 7.0], confidence=0.95) == pytest.approx((mean, half))
    with pytest.raises(ValueError, match="at least 2"):
        mean_ci([1.0])
    with pytest.raises(ValueError, match="confidence"):
        mean_ci(x, confidence=1.0)
    assert interval_error(1.0, 0.5, 1.25) == pytest.approx(0.5)


# ---------------------------------------------------------------- SDEs


def test_ou_moments_solve_the_moment_odes():
    c, d2, x0 = 1.3, 0.7, 2.0
    sol = solve_ivp(lambda t, y: [-c * y[0], -2 * c * y[1] + d2], (0, 1.5), [x0, 0.0], rtol=1e-11, atol=1e-12)
    mean, var = ou_moments(c, d2, x0, 1.5)
    assert (mean, var) == pytest.approx((sol.y[0, -1], sol.y[1, -1]), rel=1e-8)
    assert ou_moments(0.0, d2, x0, 1.5) == pytest.approx((x0, d2 * 1.5))


def test_euler_maruyama_matches_the_exact_em_recursion():
    c, d2, x0, t_end, steps = 1.0, 0.5, 1.0, 1.0, 5
    x = euler_maruyama(lambda z: -c * z, lambda z: np.sqrt(d2), x0, t_end, steps, np.random.default_rng(13), 200000)
    assert x.shape == (6, 200000)
    m, v = em_ou_moments(c, d2, x0, t_end, steps)
    mean, half = mean_ci(x[-1])
    assert interval_error(mean, half, m) <= 1.0
    mean2, half2 = mean_ci(x[-1] ** 2)
    assert interval_error(mean2, half2, v + m * m) <= 1.0
    # the exact OU law differs from EM at this coarse step, and the interval sees it
    om, ov = ou_moments(c, d2, x0, t_end)
    assert interval_error(mean2, half2, ov + om * om) > 1.0


def test_euler_maruyama_has_weak_order_one():
    assert weak_order() == pytest.approx(1.0, abs=0.1)
    assert weak_order(steps=(2, 4, 8), rng=np.random.default_rng(14), paths=400000) == pytest.approx(1.0, abs=0.25)
    with pytest.raises(ValueError, match="paths"):
        weak_order(rng=np.random.default_rng(0))
