"""Grokking (Li2, Tian arXiv:2509.21519): the derivation li2-energy proves every step, the hand-written
network and energy agree with finite differences and with the derivation, the ridge top layer satisfies
its closed form, and the default experiment groks with every claim holding."""
import numpy as np
import pytest

from derive.theories import grokking as dg
from numeric.models import grokking as ng
from verify.finite_differences import central_gradient


def test_derivation_proves_every_step():
    c = dg.li2_energy().check()
    assert c.ok
    assert all(s.status == "proved" for s in c.steps if s.step.kind != "given"), c.summary()


def test_check_group_passes():
    from verify.checks.grokking import grokking_checks

    results = grokking_checks()
    assert results and all(r.status == "pass" for r in results), [(r.check, r.error) for r in results if r.status != "pass"]


@pytest.mark.parametrize("act", ["sqr", "relu"])
def test_energy_gradient_matches_finite_differences(act):
    d = ng.modular_addition(5, 0.7, seed=3)
    w = np.random.default_rng(1).standard_normal(10)
    fd = central_gradient(lambda v: ng.energy(v, d.X_train, d.Y_train, act), w)
    assert np.allclose(ng.energy_grad(w, d.X_train, d.Y_train, act), fd.value, rtol=1e-7, atol=1e-9)


def test_ridge_top_solves_normal_equations():
    rng = np.random.default_rng(0)
    F, Y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    V = ng.ridge_top(F, Y, 0.7)
    assert np.allclose(F.T @ (F @ V - Y) + 0.7 * V, 0, atol=1e-12)


def test_fourier_concentration_of_pure_modes_is_one_and_dft_of_noise_is_spread():
    p = 11
    k = np.arange(p)
    W = np.stack([np.concatenate([np.cos(2 * np.pi * 3 * k / p + 0.4), np.cos(2 * np.pi * 3 * k / p - 1.0)])], 1)
    assert ng.fourier_concentration(W, p)[0] == pytest.approx(1.0, abs=1e-12)
    assert ng.dominant_frequency(W, p)[0] == 3
    noise = np.random.default_rng(0).standard_normal((2 * p, 200))
    assert np.mean(ng.fourier_concentration(noise, p)) < 0.5


def test_dataset_is_modular_addition():
    d = ng.modular_addition(7, 0.5, seed=0)
    a, b = np.argmax(d.X_train[:, :7], 1), np.argmax(d.X_train[:, 7:], 1)
    assert np.array_equal(d.y_train, (a + b) % 7)
    assert len(d.y_train) + len(d.y_test) == 49
    assert np.allclose(d.Y_train.sum(1), 0)
    with pytest.raises(ValueError):
        ng.modular_addition(7, 1.5)
    with pytest.raises(ValueError):
        ng.sigma(np.zeros(2), "tanh")


def test_default_experiment_groks_and_all_claims_hold():
    from verify.experiments.grokking import grokking

    fig, s = grokking(seed=0)
    assert all(c["holds"] for c in s["claims"]), [c for c in s["claims"] if not c["holds"]]
    assert s["steps_to_test_95"] > 5 * s["steps_to_train_100"]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_frequency_fit_of_the_targets_and_of_one_fourier_component():
    # the centred targets are the sum of their Fourier components: every frequency fully present
    p = 11
    s = np.divmod(np.arange(p * p), p)[0] + np.divmod(np.arange(p * p), p)[1]
    s %= p
    assert np.allclose(ng.target_frequency_fit(ng.centred_targets(s, p), s, p), 1.0, atol=1e-12)
    Y3 = (2 / p) * np.cos(2 * np.pi * 3 * (s[:, None] - np.arange(p)) / p)
    assert np.allclose(ng.target_frequency_fit(Y3, s, p), np.eye(5)[2], atol=1e-12)
    with pytest.raises(ValueError):
        ng.target_frequency_fit(Y3, s, 10)


def test_label_spectrum_and_missing_fraction():
    p = 7
    y = np.repeat(np.arange(p), 3)
    G = np.cos(2 * np.pi * 2 * y / p)[:, None] * np.array([[1.0, -2.0]])  # a function of the label at k = 2
    power = ng.label_spectrum(G, y, p)
    assert np.argmax(power) == 1 and power[[0, 2]].sum() < 1e-20 * power[1]
    # per unit and frequency: |sum_c 3 a cos(2 pi k c / p) e^{-2 pi i k c/p}|^2 = (3 a p / 2)^2, at k and p - k
    assert power[1] == pytest.approx(2 * (1 + 4) * (3 * p / 2) ** 2)
    phi = np.array([0.9, 0.1, 0.5])  # median 0.5: only k = 2 is missing
    assert ng.missing_fraction(np.array([1.0, 3.0, 6.0]), phi) == pytest.approx(0.3)


def test_stage_boundaries_follow_their_stated_thresholds():
    from verify.experiments.grokking import stage_boundaries

    st = np.arange(0, 100, 10)
    h = {"step": st, "train_acc": np.array([.1, .5, 1, 1, 1, 1, 1, 1, 1, 1]),
         "gf_label": np.array([0, .3, .45, .6, .75, .7, .64, .6, .6, .6]),
         "test_acc": np.array([0, 0, 0, 0, 0, .2, .5, .9, .96, 1])}
    # lazy ends at the first step with train 100% and cos >= 0.5 (30); III starts when cos <= peak 0.75 - 0.1 (60)
    assert stage_boundaries(h) == (30, 60, 80)


@pytest.mark.parametrize("p", [7, 8])
def test_weight_spectrum_satisfies_parseval_and_finds_the_nyquist_mode(p):
    # Parseval: sum_k |DFT(x)_k|^2 = p |x|^2; the folded spectrum plus the constant bin must account for all of it
    W = np.random.default_rng(p).standard_normal((2 * p, 4))
    dc = W[:p].sum(0) ** 2 + W[p:].sum(0) ** 2
    assert np.allclose(ng.weight_spectrum(W, p).sum(0) + dc, p * (W**2).sum(0), rtol=1e-12)
    assert ng.weight_spectrum(W, p).shape == (p // 2, 4)
    if p % 2 == 0:  # (-1)^k is the Nyquist frequency p/2, its own pair
        alt = np.concatenate([(-1.0) ** np.arange(p), 2 * (-1.0) ** np.arange(p)])[:, None]
        assert ng.fourier_concentration(alt, p)[0] == pytest.approx(1.0, abs=1e-12)
        assert ng.dominant_frequency(alt, p)[0] == p // 2


def test_bad_inputs_are_rejected_with_a_message():
    d = ng.modular_addition(5, 0.6, seed=0)
    with pytest.raises(ValueError, match="wd > 0"):
        ng.train(d, width=4, wd=0.0, steps=2)
    with pytest.raises(ValueError, match="nonzero"):
        ng.energy_ascent(d.X_train, d.Y_train, np.zeros(10))
    with pytest.raises(ValueError, match="finite positive"):
        ng.ridge_top(np.eye(3), np.eye(3), float("nan"))
    with pytest.raises(ValueError, match="rows"):
        ng.dominant_frequency(np.ones((9, 2)), 5)
    with pytest.raises(ValueError, match="rows"):
        ng.fourier_concentration(np.ones(10), 5)
    with pytest.raises(ValueError, match="positive"):
        ng.ridge_held_run(d, width=4, wd=0.0, steps=1)


def test_energy_ascent_ends_at_a_critical_point_on_the_sphere():
    # E is homogeneous of degree 4, so by Euler's theorem w . grad E = 4 E; at a critical point of E on the unit
    # sphere grad E is normal to it: grad E(w) = 4 E(w) w
    a, b = np.divmod(np.arange(49), 7)
    X = np.zeros((49, 14))
    X[np.arange(49), a] = X[np.arange(49), 7 + b] = 1.0
    Y = ng.centred_targets((a + b) % 7, 7)
    starts = np.random.default_rng(3).standard_normal((14, 3))
    W = ng.energy_ascent(X, Y, starts, steps=3000, lr=0.05)
    for j in range(3):
        w = W[:, j]
        g = ng.energy_grad(w, X, Y)
        assert np.linalg.norm(w) == pytest.approx(1.0, abs=1e-12)
        assert np.linalg.norm(g - 4 * ng.energy(w, X, Y) * w) < 1e-6 * np.linalg.norm(g)
        # several starts at once give the same result as one start at a time
        assert np.allclose(ng.energy_ascent(X, Y, starts[:, j], steps=3000, lr=0.05), w, atol=1e-12)


def test_history_losses_include_the_weight_decay_penalty():
    d = ng.modular_addition(5, 0.6, seed=0)
    wd = 0.01
    W, V = ng.init_params(5, 6, 1.0, seed=4)
    _, _, h, _ = ng.train(d, width=6, wd=wd, steps=1, init_scale=1.0, seed=4, shuffles=2)
    penalty = 0.5 * wd * (np.sum(W**2) + np.sum(V**2))
    for X, Y, got in ((d.X_train, d.Y_train, h.train_loss[0]), (d.X_test, d.Y_test, h.test_loss[0])):
        out = (X @ W) ** 2 @ V
        assert got == pytest.approx(0.5 * np.sum((out - Y) ** 2) / len(X) + penalty, rel=1e-12)
    assert np.shape(h.update_shuffled[0]) == (2,)


def test_missing_rank_against_the_shuffled_frequency_null():
    from math import comb

    from verify.experiments.grokking import _subset_masks, missing_rank

    masks = _subset_masks(11, 5, np.random.default_rng(0))
    assert masks.shape == (comb(11, 5), 11) and np.all(masks.sum(1) == 5)
    assert len({tuple(m) for m in masks}) == comb(11, 5)
    phi = np.arange(11.0)  # frequencies 0..4 (phi below the median 5) are the missing ones
    on_missing = np.where(phi < 5, 1.0, 0.01)
    on_learned = np.where(phi < 5, 0.01, 1.0)
    ranks = missing_rank(np.stack([on_missing, on_learned, np.ones(11)]), np.stack([phi] * 3), masks)
    # the missing set is the unique top (resp. bottom) set; with flat power every set ties: mid-rank 1/2
    assert ranks[0] == pytest.approx(1 - 0.5 / comb(11, 5))
    assert ranks[1] == pytest.approx(0.5 / comb(11, 5))
    assert ranks[2] == pytest.approx(0.5)
