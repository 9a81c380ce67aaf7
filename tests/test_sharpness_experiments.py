"""Sharpness experiments on real MLPs: the critical step 2/λ_max(θ₀) against bisection on GD runs, the
catapult window, and the edge of stability of GD and heavy ball (seed 0, default settings)."""
import io
import json
import math

import pytest

from verify.experiments import sharpness as se
from verify.experiments import _plain


@pytest.fixture(scope="module")
def stability():
    fig, summary = se.training_stability(seed=0)
    return fig, summary


@pytest.fixture(scope="module")
def eos():
    fig, summary = se.edge_of_stability(seed=0)
    return fig, summary


def test_derived_thresholds_are_those_of_the_derivation():
    assert se.critical_sharpness(0.1) == pytest.approx(20.0, rel=1e-14)
    assert se.critical_sharpness(0.1, beta=0.5) == pytest.approx(30.0, rel=1e-14)
    assert se.step_for_sharpness(50.0) == pytest.approx(0.04, rel=1e-14)
    assert se.step_for_sharpness(50.0, beta=0.9) == pytest.approx(2 * 1.9 / 50.0, rel=1e-14)


@pytest.mark.parametrize("name", ["stability", "eos"])
def test_every_claim_holds_and_the_summary_is_json(name, request):
    fig, summary = request.getfixturevalue(name)
    assert summary["claims"] and all(c["holds"] for c in summary["claims"]), \
        [c for c in summary["claims"] if not c["holds"]]
    json.dumps(_plain(summary), allow_nan=False)
    assert len(fig.axes) == 3
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=60)
    assert png.tell() > 10_000


def test_training_stability_numbers(stability):
    _, s = stability
    lam0 = s["lambda_max_init"]
    assert s["n_params"] == 2 * 256 + 256 + 256 + 1
    assert lam0 == pytest.approx(111.3458, rel=1e-5)
    assert s["eta_predicted"] == pytest.approx(2.0 / lam0, rel=1e-12)
    # the loss first rises within 1% of the derived 2/lambda_0 (tolerance in the claim: 10%)
    assert s["eta_rise"] / s["eta_predicted"] == pytest.approx(1.0044, abs=0.005)
    # divergence only at ~1.6 * 2/lambda_0: the catapult window in between
    assert s["eta_diverge"] * lam0 == pytest.approx(3.19, abs=0.05)
    assert s["gradient_tensor_vs_numpy"] < 1e-12
    below = [r for r in s["sweep"] if r["eta"] < s["eta_predicted"] * 0.999]
    assert below and all(not r["rose_within_20"] and not r["diverged"] for r in below)
    above = [r for r in s["sweep"] if r["eta"] > s["eta_diverge"]]
    assert above and all(r["diverged"] and math.isinf(r["final_loss"]) for r in above)
    catapult = [r for r in s["sweep"] if s["eta_predicted"] * 1.05 < r["eta"] < s["eta_diverge"]]
    assert len(catapult) == 4
    for r in catapult:  # a spike of more than 100 x L0, then convergence below L0
        assert r["max_loss"] > 100 * r["initial_loss"] and r["final_loss"] < 0.2 * r["initial_loss"]


def test_edge_of_stability_numbers(eos):
    _, s = eos
    assert s["lambda_max_init"] == pytest.approx(3.73665, rel=1e-5)
    assert s["gradient_tensor_vs_numpy"] < 1e-12
    gd, hb = s["runs"]["GD"], s["runs"]["heavy ball (beta=0.5)"]
    for r in (gd, hb):
        lam = r["sharpness"]
        crit = r["critical_sharpness"]
        assert crit == pytest.approx(2 * s["lambda_max_init"], rel=1e-9)  # by the choice of eta
        assert lam[0] == pytest.approx(s["lambda_max_init"], rel=1e-6)
        assert not r["diverged"]
        assert max(lam) > 1.15 * crit  # overshoots the edge, then self-stabilizes
        assert r["mean_last_third"] / crit == pytest.approx(1.0, abs=0.03)
    assert gd["eta"] == pytest.approx(1.0 / s["lambda_max_init"], rel=1e-12)
    assert hb["eta"] == pytest.approx(1.5 / s["lambda_max_init"], rel=1e-12)
    assert gd["loss_increases"] > 50
