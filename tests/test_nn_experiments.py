"""The neural-network experiments (verify.experiments.nn) run seed-fixed in seconds through
``verify.experiments.run``, write a figure and strict JSON, and every claim holds; a few of their
numbers are checked against closed forms here as well."""
import json
import math

import pytest

from verify import experiments
from verify.experiments import nn as nn_experiments

NAMES = {"nn-xor": "xor", "nn-vanishing-exploding": "vanishing_exploding",
         "nn-population-credit": "population_credit", "nn-gd-vs-flow": "gd_vs_flow"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each experiment run once (default seed, not full) through the registry, as the CLI would."""
    out = tmp_path_factory.mktemp("nn_experiments")
    results = {}
    with pytest.MonkeyPatch.context() as mp:
        for name, func in NAMES.items():
            mp.setitem(experiments.EXPERIMENTS, name, (func, f"nn:{func}"))
            calls = []
            summary = experiments.run(name, out=out, progress=lambda done, total: calls.append((done, total)))
            results[func] = (summary, calls, out)
    return results


@pytest.mark.parametrize("func", list(NAMES.values()))
def test_every_claim_holds_and_files_are_written(runs, func):
    summary, calls, out = runs[func]
    failing = [c for c in summary["claims"] if not c["holds"]]
    assert summary["claims"] and not failing, failing
    assert summary["all_claims_hold"]
    name = next(k for k, v in NAMES.items() if v == func)
    assert (out / f"{name}.png").stat().st_size > 10_000
    assert json.loads((out / f"{name}.json").read_text())["claims"] == summary["claims"]
    assert calls and calls[-1][0] == calls[-1][1], "progress must end at done == total"
    assert summary["seconds"] < 15


def test_xor_identical_hidden_units_stay_identical(runs):
    s = runs["xor"][0]
    assert s["symmetric_max_spread"] < 1e-12
    assert s["correct"] == {"random": 4, "identical": 3, "identical + 1e-3 noise": 4}
    assert s["final_loss"]["identical"] >= nn_experiments.XOR_ONE_PROJECTION_BOUND
    assert nn_experiments.XOR_ONE_PROJECTION_BOUND == pytest.approx(0.75 * (-(1 / 3) * math.log(1 / 3)
                                                                           - (2 / 3) * math.log(2 / 3)))


def test_vanishing_exploding_slopes_match_infinite_width_limits(runs):
    slopes = runs["vanishing_exploding"][0]["slopes"]
    # tanh with sigma_w = 0.5: z -> 0, phi' -> 1, so each layer multiplies the norm by sigma_w
    assert slopes["tanh, sigma_w = 0.5"]["slope"] == pytest.approx(math.log(0.5), abs=0.03)
    # relu: chi = sigma_w^2 / 2 exactly, so the slope is log(sigma_w / sqrt 2): 0 for He, log sqrt 2 for 2
    assert abs(slopes["relu, sigma_w = 1.41"]["slope"]) < 0.05
    assert slopes["relu, sigma_w = 2"]["mean_field_slope"] == pytest.approx(math.log(math.sqrt(2.0)), abs=1e-12)
    assert slopes["relu, sigma_w = 2"]["slope"] == pytest.approx(math.log(math.sqrt(2.0)), abs=0.05)


def test_population_credit_is_the_chain_rule_and_has_the_tuning_width(runs):
    s = runs["population_credit"][0]
    exact = next(c for c in s["claims"] if c["claim"].startswith("autodiff"))
    assert exact["measured"] < 1e-12
    assert all(abs(w - 1.0) < 0.1 for w in s["width_over_sigma"].values())


def test_gd_vs_flow_orders(runs):
    s = runs["gd_vs_flow"][0]
    assert s["c_H"] == 0.5  # derived: f_1 = -(1/2) H grad L
    e1, e2 = s["err_flow"], s["err_modified"]
    assert e1[0] / e1[1] == pytest.approx(2.0, rel=0.05)
    assert e2[0] / e2[1] == pytest.approx(4.0, rel=0.1)
    assert s["slopes"][0] == pytest.approx(1.0, abs=0.05) and s["slopes"][1] == pytest.approx(2.0, abs=0.1)


def test_modified_flow_coefficient_from_the_derivation():
    import sympy as sp

    c_reg, c_h = nn_experiments.modified_flow_coefficients()
    assert c_reg == sp.Rational(1, 4) and c_h == sp.Rational(1, 2)
