"""ldyn experiment: every registered experiment runs seed-fixed in seconds, writes its figure and
JSON, and the phenomena it claims hold (each claim compares a measurement with an outside value)."""
import json

import numpy as np
import pytest

from verify import cli, experiments


def test_list_names_every_experiment(capsys):
    assert cli.main(["experiment", "--list"]) == 0
    out = capsys.readouterr().out
    for name in experiments.EXPERIMENTS:
        assert name in out


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_experiment_writes_figure_and_json_and_its_claims_hold(name, tmp_path, capsys):
    code = cli.main(["experiment", name, "--out", str(tmp_path), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    on_disk = json.loads((tmp_path / f"{name}.json").read_text())
    assert on_disk["claims"] == summary["claims"]
    failing = [c for c in summary["claims"] if not c["holds"]]
    assert not failing and code == 0
    assert summary["claims"], "an experiment must claim something measurable"


def test_integrator_limits_agree_with_numpy_roots(tmp_path):
    """RK4's limit from an independent computation: the real root of R(x) = 1 other than 0."""
    s = experiments.run("integrator-stability")
    coeffs = [1 / 24, 1 / 6, 1 / 2, 1, 0]  # R(x) - 1 = x (x^3/24 + x^2/6 + x/2 + 1)
    real = [r.real for r in np.roots(coeffs) if abs(r.imag) < 1e-12 and abs(r.real) > 1e-9]
    assert s["derived_real_limits"]["rk4"] == pytest.approx(-real[0], rel=1e-12)
    assert s["measured_h_lambda"]["rk4/lambda=40"] == pytest.approx(-real[0], rel=1e-4)
    assert abs(s["measured_h_lambda"]["implicit-euler/h*lambda=1000"]) < 1e-100


@pytest.mark.parametrize("argv, message", [
    (["experiment"], "give an experiment name"),
    (["experiment", "nope"], "unknown experiment 'nope'"),
    (["experiment", "xor", "--seed", "-1"], "--seed must be a non-negative integer"),
    (["experiment", "xor", "--out", "/proc/ldyn-cannot-write-here"], "cannot write there"),
])
def test_bad_experiment_requests_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_progress_is_reported_without_json(tmp_path, capsys):
    assert cli.main(["experiment", "integrator-stability", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "integrator-stability: [" in captured.err and "7/7" in captured.err
    assert "[holds]" in captured.out
