"""``ldyn stability sgd``: the mean-square report (Wu, Ma & E 2018) and the stationary-noise report with the
SMEs (Li, Tai & E 2019), against closed forms typed here, a Monte Carlo run, and the one-line errors."""
import json
import math

import numpy as np
import pytest
from scipy import stats

from verify.cli import main

DATA = [1.0, 2.0, 3.0, 6.0]  # a = 3, s^2 = (4 + 1 + 0 + 9)/4 = 3.5
A_MEAN, S2 = 3.0, 3.5


def run(capsys, *argv):
    code = main(["stability", "sgd", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0 and err == "", err
    return json.loads(out)


def wme_critical(a, s2, c):
    """Wu, Ma & E (2018): E x+^2 = ((1 - eta a)^2 + eta^2 c s^2) E x^2 < E x^2  <=>  eta < 2a/(a^2 + c s^2)."""
    return 2 * a / (a * a + c * s2)


@pytest.mark.parametrize("batch,replace,c", [(2, False, (4 - 2) / (2 * 3)), (3, False, (4 - 3) / (3 * 3)),
                                             (2, True, 1 / 2), (7, True, 1 / 7), (1, False, 1.0)])
def test_mean_square_report_matches_wu_ma_e(capsys, batch, replace, c):
    eta = 0.37
    argv = ["--per-sample-curvatures", ",".join(map(str, DATA)), "--batch", str(batch), "--eta", str(eta)]
    rep = report(capsys, *argv, *(["--with-replacement"] if replace else []))
    assert {"eta_critical", "sharpness", "nonuniformity", "mean_square_growth", "converges"} <= set(rep)
    assert rep["n"] == 4 and rep["batch"] == batch
    assert rep["sampling"] == ("with replacement" if replace else "without replacement")
    assert rep["sharpness"] == pytest.approx(A_MEAN, rel=1e-14)
    assert rep["nonuniformity"] == pytest.approx(math.sqrt(S2), rel=1e-14)
    assert rep["variance_factor"] == pytest.approx(c, rel=1e-14)
    assert rep["eta_critical"] == pytest.approx(wme_critical(A_MEAN, S2, c), rel=1e-14)
    assert rep["gd_eta_critical"] == pytest.approx(2 / A_MEAN, rel=1e-14)
    assert rep["smaller"] == "sgd" and rep["eta_critical"] < rep["gd_eta_critical"]
    g = (1 - eta * A_MEAN) ** 2 + eta ** 2 * c * S2
    assert rep["mean_square_growth"] == pytest.approx(g, rel=1e-13)
    assert rep["converges"] is (g < 1)
    nc = rep["necessary_conditions"]
    assert nc["sharpness"]["eta_bound"] == pytest.approx(2 / A_MEAN)
    assert nc["nonuniformity"]["eta_bound"] == pytest.approx(1 / math.sqrt(c * S2), rel=1e-13)
    assert nc["sharpness"]["term"] == pytest.approx((1 - eta * A_MEAN) ** 2, rel=1e-12)
    assert nc["nonuniformity"]["term"] == pytest.approx(eta ** 2 * c * S2, rel=1e-12)
    # eta_c lies below both necessary bounds
    assert rep["eta_critical"] <= min(nc["sharpness"]["eta_bound"], nc["nonuniformity"]["eta_bound"])


def test_growth_crosses_one_at_the_critical_step(capsys):
    base = ["--per-sample-curvatures", "0.5,1,2,4,8,0.2,3,1.3", "--batch", "3"]
    ec = report(capsys, *base)["eta_critical"]
    below = report(capsys, *base, "--eta", repr(ec * (1 - 1e-9)))
    above = report(capsys, *base, "--eta", repr(ec * (1 + 1e-9)))
    assert below["converges"] is True and above["converges"] is False
    assert below["mean_square_growth"] == pytest.approx(1, abs=1e-7)
    # a step beyond both necessary bounds violates both conditions
    far = report(capsys, *base, "--eta", "10")
    assert far["converges"] is False
    assert not any(row["holds"] for row in far["necessary_conditions"].values())


def test_full_batch_without_replacement_is_gradient_descent(capsys):
    rep = report(capsys, "--per-sample-curvatures", "1,2,3,6", "--batch", "4", "--eta", "0.5")
    assert rep["variance_factor"] == 0 and rep["smaller"] == "equal"
    assert rep["eta_critical"] == pytest.approx(2 / 3, rel=1e-15) == rep["gd_eta_critical"]
    assert rep["mean_square_growth"] == pytest.approx((1 - 1.5) ** 2)
    assert rep["necessary_conditions"]["nonuniformity"]["eta_bound"] is None
    # with replacement the same batch size still carries noise
    rep = report(capsys, "--per-sample-curvatures", "1,2,3,6", "--batch", "4", "--with-replacement")
    assert rep["eta_critical"] == pytest.approx(wme_critical(A_MEAN, S2, 1 / 4))


def test_one_sample_and_equal_curvatures_have_no_noise(capsys):
    for argv in (["--per-sample-curvatures", "5", "--batch", "1"],
                 ["--per-sample-curvatures", "5", "--batch", "3", "--with-replacement"],
                 ["--per-sample-curvatures", "5,5,5", "--batch", "2"]):
        rep = report(capsys, *argv, "--eta", "0.3")
        assert rep["nonuniformity"] == 0 and rep["eta_critical"] == pytest.approx(0.4, rel=1e-15)
        assert rep["mean_square_growth"] == pytest.approx(0.25) and rep["smaller"] == "equal"
        assert rep["notes"]


def test_extreme_scales_are_answered_without_overflow(capsys):
    rep = report(capsys, "--per-sample-curvatures", "1e300,3e300", "--batch", "1")  # a^2 overflows a float
    assert rep["sharpness"] == pytest.approx(2e300) and rep["nonuniformity"] == pytest.approx(1e300)
    assert rep["eta_critical"] == pytest.approx(wme_critical(2.0, 1.0, 1.0) * 1e-300, rel=1e-12)
    rep = report(capsys, "--per-sample-curvatures", "1e-300,3e-300", "--batch", "2", "--with-replacement")
    assert rep["eta_critical"] == pytest.approx(wme_critical(2.0, 1.0, 0.5) * 1e300, rel=1e-12)


def test_mean_square_monte_carlo():
    """E theta^2 after two steps from theta = 1, 20000 paths (batches of 2 distinct samples of 8): grows at
    1.05 eta_c and shrinks at 0.95 eta_c, the 99.9% t-interval holding g^2 and excluding 1."""
    from verify.stability_sgd import mean_square_report

    A = np.array([0.5, 1, 2, 4, 8, 0.2, 3, 1.3])
    n, B, T, P = len(A), 2, 2, 20000
    ec = mean_square_report(list(A), B)["eta_critical"]
    rng = np.random.default_rng(20261207)
    c = (n - B) / (B * (n - 1))
    for k in (1.05, 0.95):
        eta = k * ec
        batches = rng.random((T, P, n)).argsort(axis=-1)[..., :B]  # a uniform B-subset per step and path
        x2 = np.prod((1 - eta * A[batches].mean(axis=-1)) ** 2, axis=0)
        mean, half = x2.mean(), stats.t.ppf(0.9995, P - 1) * x2.std(ddof=1) / math.sqrt(P)
        g = (1 - eta * A.mean()) ** 2 + eta ** 2 * c * A.var()
        assert abs(mean - g ** T) <= half
        assert (mean - half > 1) if k > 1 else (mean + half < 1)


@pytest.mark.parametrize("eta,batch", [(0.1, 1), (0.3, 4), (0.45, 2)])
def test_noise_report_matches_the_ar1_and_ou_closed_forms(capsys, eta, batch):
    a, sigma = 2.0, 1.5
    rep = report(capsys, "--curvature", str(a), "--noise", str(sigma), "--eta", str(eta), "--batch", str(batch))
    v = sigma ** 2 / batch  # per-step noise variance
    var = eta ** 2 * v / (1 - (1 - eta * a) ** 2)  # AR(1): x+ = (1 - eta a) x - eta xi
    assert rep["stationary_variance"] == pytest.approx(var, rel=1e-13)
    assert rep["stationary_excess_loss"] == pytest.approx(a * var / 2, rel=1e-13)
    assert rep["step_noise_variance"] == pytest.approx(v)
    assert rep["sme1_stationary_variance"] == pytest.approx(eta * v / (2 * a), rel=1e-13)  # OU with drift a
    assert rep["sme2_stationary_variance"] == pytest.approx(eta * v / (2 * (a + eta * a * a / 2)), rel=1e-13)
    assert rep["sme1_stationary_excess_loss"] == pytest.approx(a * eta * v / (4 * a), rel=1e-13)
    assert rep["sme1_relative_error"] == pytest.approx(eta * v / (2 * a) / var - 1, rel=1e-12)
    assert rep["sme2_relative_error"] == pytest.approx(eta * v / (2 * (a + eta * a * a / 2)) / var - 1, rel=1e-12)
    # the exact OU: exp(-drift eta) = 1 - eta a, and its transition variance over time eta is the step's eta^2 v
    drift, D = rep["exact_drift"], rep["exact_diffusion"]
    assert math.exp(-drift * eta) == pytest.approx(1 - eta * a, rel=1e-13)
    assert D * (1 - math.exp(-2 * drift * eta)) / (2 * drift) == pytest.approx(eta ** 2 * v, rel=1e-12)
    assert rep["exact_stationary_variance"] == pytest.approx(var, rel=1e-12) == D / (2 * drift)


def test_noise_report_without_exact_sde_or_stationary_state(capsys):
    rep = report(capsys, "--curvature", "2", "--noise", "1", "--eta", "0.7")  # eta a = 1.4
    assert rep["stationary_variance"] == pytest.approx(0.49 / (1 - 0.16))
    assert rep["exact_drift"] is None and rep["exact_diffusion"] is None and "exact_sde_reason" in rep
    for eta in ("1", "1.5"):
        rep = report(capsys, "--curvature", "2", "--noise", "1", "--eta", eta)  # eta a = 2, 3: no stationary state
        assert rep["stationary_variance"] is None and rep["stationary_excess_loss"] is None
        assert ">= 2" in rep["reason"]
        assert rep["sme1_stationary_variance"] == pytest.approx(float(eta) / 4)  # the SME still has one
        assert rep["sme1_relative_error"] is None
    code, out, err = run(capsys, "--curvature", "2", "--noise", "1", "--eta", "1.5")
    assert code == 0 and "no stationary distribution" in out and err == ""
    rep = report(capsys, "--curvature", "2", "--noise", "0", "--eta", "0.3")
    assert rep["stationary_variance"] == 0 and rep["sme1_relative_error"] == pytest.approx(-0.3)  # (2 - eta a)/2 - 1


def test_text_reports_are_readable(capsys):
    code, out, err = run(capsys, "--per-sample-curvatures", "1,2,3,6", "--batch", "2", "--eta", "0.4")
    assert code == 0 and err == ""
    assert "mean-square critical step" in out and "0.590164" in out and "without replacement" in out
    assert "Wu-Ma-E necessary conditions" in out and "converges" in out and "0.666667" in out
    assert not any(w in out.lower().split() for w in ("nan", "inf"))
    code, out, err = run(capsys, "--curvature", "2", "--noise", "1", "--eta", "0.1")
    assert code == 0 and "first-order SME" in out and "second-order SME" in out and "exact modified SDE" in out
    assert "0.0277778" in out and "0.025" in out


@pytest.mark.parametrize("argv,needle", [
    (["--per-sample-curvatures", "1,2,3", "--batch", "4"], "larger than the data set"),
    (["--per-sample-curvatures", "1,2,3", "--batch", "0"], ">= 1"),
    (["--per-sample-curvatures", "1,2,3", "--batch", "-2"], ">= 1"),
    (["--per-sample-curvatures", "1,2,3", "--batch", "1.5"], "whole number"),
    (["--per-sample-curvatures", "1,2,3", "--batch", "nan"], "whole number"),
    (["--per-sample-curvatures", "1,2,3"], "needs --batch"),
    (["--per-sample-curvatures", "-1,-2,0", "--batch", "1"], "no step size is mean-square stable"),
    (["--per-sample-curvatures", "0,0", "--batch", "1"], "no step size is mean-square stable"),
    (["--per-sample-curvatures", "1,nan", "--batch", "1"], "finite"),
    (["--per-sample-curvatures", "1,abc", "--batch", "1"], "not a number"),
    (["--per-sample-curvatures", "", "--batch", "1"], "not a number"),
    (["--per-sample-curvatures", "1,2", "--batch", "1", "--eta", "0"], "> 0"),
    (["--per-sample-curvatures", "1,2", "--batch", "1", "--eta", "-0.1"], "> 0"),
    (["--per-sample-curvatures", "1,2", "--batch", "1", "--eta", "inf"], "finite"),
    (["--per-sample-curvatures", "1,2", "--batch", "1", "--curvature", "1"], "two different reports"),
    (["--per-sample-curvatures", "1,2", "--batch", "1", "--beta", "0.5"], "does not take --beta"),
    (["--per-sample-curvatures", "1,2", "--batch", "1", "--set", "lr=0.1"], "does not take --set"),
    (["--curvature", "1", "--noise", "1", "--eta", "0.1", "--mu", "1", "--L", "2"], "does not take --mu, --L"),
    (["--curvature", "1", "--noise", "1", "--eta", "0.1", "--with-replacement"], "--with-replacement"),
    (["--with-replacement"], "--with-replacement"),
    (["--curvature", "0", "--noise", "1", "--eta", "0.1"], "> 0"),
    (["--curvature", "-1", "--noise", "1", "--eta", "0.1"], "> 0"),
    (["--curvature", "1", "--noise", "-1", "--eta", "0.1"], ">= 0"),
    (["--curvature", "1", "--noise", "1", "--eta", "0"], "> 0"),
    (["--curvature", "1", "--noise", "1", "--eta", "1e400"], "finite"),
    (["--curvature", "1", "--noise", "1"], "needs --eta"),
    (["--curvature", "1", "--eta", "0.1"], "needs --noise"),
    (["--curvature", "1", "--noise", "1", "--eta", "0.1", "--batch", "0"], ">= 1"),
    (["--curvature", "1e-300", "--noise", "1e300", "--eta", "1"], "does not fit in a float"),
    (["--per-sample-curvatures", ",".join(["1"] * (10**6 + 1)), "--batch", "1"], "at most"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ldyn: error:") and needle in lines[0], err


def test_new_options_belong_to_sgd_only(capsys):
    code = main(["stability", "gd", "--eigenvalues", "1", "--batch", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "belong to `ldyn stability sgd`" in err


def test_sgd_without_the_new_options_keeps_the_generic_analysis(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "give a value for" in err
    code, out, _ = run(capsys, "--set", "lr=0.1", "--set", "momentum=0.8", "--eigenvalues", "1", "--json")
    assert code == 0 and "x_critical" in out


def test_stationary_variance_monte_carlo():
    """theta+ = theta - eta(a theta + xi), xi ~ N(0, sigma^2/B), 20000 paths run 60 steps from 0 (the transient
    (1 - eta a)^120 = 0.4^120 is negligible): E theta^2 lies in a 99.9% t-interval around the reported variance."""
    from verify.stability_sgd import noise_report

    a, sigma, eta, B, P = 2.0, 1.5, 0.3, 4, 20000
    rep = noise_report(a, sigma, eta, B)
    rng = np.random.default_rng(7)
    x = np.zeros(P)
    for _ in range(60):
        x = x - eta * (a * x + rng.normal(0.0, sigma / math.sqrt(B), P))
    x2 = x ** 2
    half = stats.t.ppf(0.9995, P - 1) * x2.std(ddof=1) / math.sqrt(P)
    assert abs(x2.mean() - rep["stationary_variance"]) <= half
    # the first-order SME (relative error -eta a/2 = -30% here) lies far outside the interval
    assert abs(x2.mean() - rep["sme1_stationary_variance"]) > half
