"""The stochastic experiments (sgd-noise, batch-size-stability, sharpness-selection): every claim holds
at seeds 0-4, figure and JSON are written, the derived values they use are the closed forms of the
papers (typed here), and a formula 10% off makes claims fail."""
import json

import numpy as np
import pytest

from verify.experiments import _plain
from verify.experiments import stochastic as st
from verify.figures.backend import save_figure

NAMES = ["sgd_noise", "batch_size_stability", "sharpness_selection"]
SEEDS = [0, 1, 2, 3, 4]
_RUNS: dict = {}


def _run(name, seed):
    if (name, seed) not in _RUNS:
        _RUNS[(name, seed)] = getattr(st, name)(seed=seed)
    return _RUNS[(name, seed)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_claims_hold_and_figure_and_json_are_written(name, seed, tmp_path):
    import matplotlib.pyplot as plt

    fig, summary = _run(name, seed)
    try:
        failing = [c for c in summary["claims"] if not c["holds"]]
        assert summary["claims"] and not failing, failing
        assert all(set(c) == {"claim", "measured", "expected", "holds"} and "%%" not in c["claim"]
                   for c in summary["claims"])
        save_figure(fig, tmp_path / f"{name}.png", dpi=110)
        (tmp_path / f"{name}.json").write_text(json.dumps(_plain(summary), allow_nan=False))
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert json.loads((tmp_path / f"{name}.json").read_text())["claims"] == _plain(summary["claims"])
    finally:
        plt.close(fig)


def test_sgd_noise_uses_the_closed_forms():
    """Exact AR(1) variance eta sigma^2 / (B a (2 - eta a)); SMEs eta s^2/(2a), eta s^2/(a(2 + eta a)), s^2 = sigma^2/B
    (Li, Tai & E); the finite-data noise has population std sigma exactly."""
    _, s = _run("sgd_noise", 0)
    a, sigma, b = s["curvature"], s["noise_std"], s["batch"]
    for r in s["rows"]:
        e = r["eta"]
        assert r["exact_variance"] == pytest.approx(e * sigma**2 / (b * a * (2 - e * a)), rel=1e-12)
        assert r["exact_excess_loss"] == pytest.approx(e * sigma**2 / (2 * b * (2 - e * a)), rel=1e-12)
        assert r["sme1_variance"] == pytest.approx(e * sigma**2 / b / (2 * a), rel=1e-12)
        assert r["sme2_variance"] == pytest.approx(e * sigma**2 / b / (a * (2 + e * a)), rel=1e-12)
        assert r["sme1_leading_error"] == pytest.approx(-e * a / 2, rel=1e-12)
        assert r["sme2_leading_error"] == pytest.approx(-e * a, rel=1e-12)
    g = st._offsets(np.random.default_rng(3), 16, 0.7)
    assert abs(g.mean()) < 1e-15 and g.std() == pytest.approx(0.7, rel=1e-14)


def test_batch_size_stability_uses_the_closed_forms():
    """Wu, Ma & E (2018): eta_c = 2a / (a^2 + c s^2), c = 1/B with replacement, (n - B)/(B(n - 1)) without."""
    _, s = _run("batch_size_stability", 0)
    n, a, sd = s["n"], s["sharpness"], s["nonuniformity"]
    assert a == pytest.approx(np.mean(s["curvatures"]), rel=1e-14)
    assert sd == pytest.approx(np.std(s["curvatures"]), rel=1e-14)
    for r in s["rows"]:
        b = r["batch"]
        c = 1 / b if r["with_replacement"] else (n - b) / (b * (n - 1))
        assert r["derived"] == pytest.approx(2 * a / (a**2 + c * sd**2), rel=1e-12)
        assert r["half_width"] < 0.03 * r["derived"] or c == 0


def test_sharpness_selection_uses_the_closed_forms():
    _, s = _run("sharpness_selection", 0)
    eta, b = s["eta"], s["batch"]
    z = np.array(s["profile"])
    assert abs(z.mean()) < 1e-14 and z.std() == pytest.approx(1.0, rel=1e-14)
    for m in s["minima"]:
        g = (1 - eta * m["a"]) ** 2 + eta**2 * m["s"] ** 2 / b
        assert m["derived_sgd_growth"] == pytest.approx(g, rel=1e-12)
        assert m["a"] + m["s"] * z.min() >= 0  # every per-sample curvature non-negative
        # GD is deterministic: its measured growth is (1 - eta a)^2 to rounding
        assert m["gd_growth"] == pytest.approx((1 - eta * m["a"]) ** 2, rel=1e-9, abs=1e-300)
    assert sum(m["sgd"] == "undecided" for m in s["minima"]) < 0.1 * len(s["minima"])


def _times(f, factor=1.1):
    return lambda *x: factor * f(*x)


# (experiment, replaced derived results -> wrong ones, a claim that must then fail)
WRONG = [
    ("sgd_noise", lambda d: {k: _times(d[k]) for k in ("stationary_variance", "stationary_excess_loss")},
     "Monte Carlo t-interval"),
    ("sgd_noise", lambda d: {"sme1_leading_error": d["sme2_leading_error"],  # the SMEs' leading terms swapped
                             "sme2_leading_error": d["sme1_leading_error"]}, "SME1's measured relative error"),
    ("batch_size_stability", lambda d: {k: _times(d[k]) for k in ("eta_critical_with", "eta_critical_without")},
     "99.9% interval of the measured crossing"),
    ("batch_size_stability", lambda d: {"eta_critical_without": d["eta_critical_with"]},  # c = 1/B without replacement
     "99.9% interval of the measured crossing"),
    ("sharpness_selection", lambda d: {"growth_with": _times(d["growth_with"])}, "Monte Carlo E theta_T^2"),
]


@pytest.mark.parametrize("name, wrong, fails", WRONG)
def test_a_wrong_formula_fails_claims(name, wrong, fails, monkeypatch):
    """A derived result 10% off (or the wrong variance factor, or the SMEs' leading terms swapped) is caught
    by the measurements: the claims can fail."""
    import matplotlib.pyplot as plt

    fake = dict(st._derived())
    fake.update(wrong(fake))
    monkeypatch.setattr(st, "_derived", lambda: fake)
    fig, summary = getattr(st, name)(seed=0)
    plt.close(fig)
    failing = [c["claim"] for c in summary["claims"] if not c["holds"]]
    assert any(fails in c for c in failing), failing
