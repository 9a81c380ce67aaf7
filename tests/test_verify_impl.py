"""``ldyn verify-impl``: users' optimizers (tests/fixtures/user_optimizers.py, plain NumPy written
from torch's pseudocode) checked against the derived rules, with the likely cause named."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from verify.cli import main
from verify.implementation import problems

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = "tests/fixtures/user_optimizers.py"
SHRINK = 101  # first step of the shrinking phase with the default 200 steps


def _strict(token):
    raise AssertionError(f"{token} is not JSON")


def run(capsys, monkeypatch, name, rule, *extra, spec=None):
    monkeypatch.chdir(ROOT)
    code = main(["verify-impl", spec or f"{FIXTURES}:{name}", "--rule", rule, "--json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out, parse_constant=_strict) if out else None, err


@pytest.mark.parametrize("name,rule,extra,label,step", [
    ("adam_eps_inside", "adam", [], "eps-inside", 1),
    ("adam_no_bias_correction", "adam", [], "no-bias-correction", 1),
    ("adam_betas_swapped", "adam", [], "betas-swapped", 1),
    ("adamw_coupled", "adamw", [], "decay-coupled", 1),
    ("adamw_decay_ignores_lr", "adamw", [], "decay-decoupled", 1),
    ("AmsgradMaxCorrected", "adam", ["--set", "amsgrad=true"], "amsgrad-max-corrected", SHRINK),
    ("adam_step", "adam", ["--set", "amsgrad=true"], "no-amsgrad", SHRINK),
    ("rmsprop_eps_inside", "rmsprop", [], "eps-inside", 1),
    ("rmsprop_ema_swapped", "rmsprop", [], "ema-weights-swapped", 1),
    ("sgd_damped_first_step", "sgd", ["--set", "momentum=0.9", "--set", "dampening=0.5"], "damped-first-step", 1),
    ("rmsprop_ema_momentum_buffer", "rmsprop", ["--set", "momentum=0.9"], "ema-momentum-buffer", 1),
    ("adam_plain_first_moment", "adam", [], "plain-first-moment", 1),
])
def test_wrong_implementations_exit_1_with_the_convention_that_explains_them(capsys, monkeypatch, name, rule, extra,
                                                                             label, step):
    code, rep, _ = run(capsys, monkeypatch, name, rule, *extra)
    assert code == 1 and rep["agree"] is False
    assert rep["likely_cause"]["kind"] == "match" and rep["likely_cause"]["matches"] == [label]
    assert rep["likely_cause"]["label"] == label and rep["likely_cause"]["description"]
    assert {"problem": 0, "step": step}.items() <= rep["first_divergence"].items()
    row = {v["label"]: v for v in rep["variants"]}[label]
    assert row["matches"] and row["agreed_steps"] == rep["steps"] * len(rep["problems"])


def test_first_divergence_predicted_by_hand(capsys, monkeypatch):
    # no bias correction: the first step is -lr (1 - b1) g / (sqrt(1 - b2) |g| + eps), not -lr g / (|g| + eps)
    code, rep, _ = run(capsys, monkeypatch, "adam_no_bias_correction", "adam")
    d = rep["first_divergence"]
    p = problems()[0]
    theta0, g = p.theta0[d["index"]], p.grad(p.theta0, 1)[d["index"]]
    assert d["entry"] == "params"
    assert d["expected"] == pytest.approx(theta0 - 1e-3 * g / (abs(g) + 1e-8), rel=1e-12)
    assert d["got"] == pytest.approx(theta0 - 1e-3 * 0.1 * g / (np.sqrt(1e-3) * abs(g) + 1e-8), rel=1e-12)
    # swapped betas: Adam's first step is ±lr whatever the betas, so the parameters agree and exp_avg tells
    code, rep, _ = run(capsys, monkeypatch, "adam_betas_swapped", "adam")
    d = rep["first_divergence"]
    assert (d["step"], d["entry"]) == (1, "exp_avg") and d["got"] / d["expected"] == pytest.approx(1e-3 / 0.1)
    # AMSGrad's max placement: the same while gradients grow, apart once they shrink
    code, rep, _ = run(capsys, monkeypatch, "AmsgradMaxCorrected", "adam", "--set", "amsgrad=true")
    assert rep["problems"][0]["shrink_from"] == SHRINK
    assert (rep["first_divergence"]["step"], rep["first_divergence"]["entry"]) == (SHRINK, "params")


@pytest.mark.parametrize("name,rule,extra", [
    ("adam", "adam", []),
    ("adam", "adam", ["--set", "amsgrad=true", "--set", "weight_decay=0.1", "--set", "betas=0.8,0.99"]),
    ("adamw", "adamw", []),
    ("adamw", "adamw", ["--set", "amsgrad=true", "--set", "lr=0.1"]),
    ("rmsprop", "rmsprop", []),
    ("rmsprop", "rmsprop", ["--set", "centered=true", "--set", "momentum=0.9", "--set", "weight_decay=0.01"]),
    ("sgd", "sgd", []),
    ("sgd", "sgd", ["--set", "momentum=0.9", "--set", "dampening=0.3", "--set", "weight_decay=0.01"]),
    ("sgd", "sgd", ["--set", "momentum=0.9", "--set", "nesterov=true", "--set", "lr=0.01"]),
    ("adam_step", "adam", []),
    # conventions configure only the reference: verify against optax / Loshchilov-Hutter / Adam's L2
    ("adam_eps_inside", "adam", ["--set", "eps_mode=inside"]),
    ("adamw_decay_ignores_lr", "adamw", ["--set", "decay=decoupled"]),
    ("adamw_coupled", "adam", ["--set", "weight_decay=0.01"]),
    ("AmsgradMaxCorrected", "adam", ["--set", "amsgrad=true", "--set", "amsgrad_max=corrected"]),
])
def test_correct_implementations_exit_0(capsys, monkeypatch, name, rule, extra):
    code, rep, _ = run(capsys, monkeypatch, name, rule, *extra)
    assert code == 0 and rep["agree"] is True
    assert rep["first_divergence"] is None and rep["likely_cause"] is None
    assert rep["reference_agreed_steps"] == rep["steps"] * len(rep["problems"])


def test_conventions_go_to_the_reference_not_the_factory(capsys, monkeypatch):
    code, rep, _ = run(capsys, monkeypatch, "adam_eps_inside", "adam", "--set", "eps_mode=inside",
                       "--set", "betas=0.9,0.99")
    assert rep["hyperparameters"] == {"lr": 1e-3, "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 0,
                                      "amsgrad": False}
    assert rep["conventions"] == {"amsgrad": False, "eps_mode": "inside", "bias_correction": "both",
                                  "amsgrad_max": "raw", "decay": "coupled"}


def test_unknown_mistake_is_explained_by_no_convention(capsys, monkeypatch):
    code, rep, _ = run(capsys, monkeypatch, "adam_squared_first_moment", "adam")
    assert code == 1 and rep["likely_cause"] is None
    assert not any(v["matches"] for v in rep["variants"])
    monkeypatch.chdir(ROOT)
    assert main(["verify-impl", f"{FIXTURES}:adam_squared_first_moment", "--rule", "adam"]) == 1
    assert "likely cause: no known convention explains it" in capsys.readouterr().out


def test_json_report_keys_and_variants_that_equal_the_reference(capsys, monkeypatch):
    code, rep, _ = run(capsys, monkeypatch, "adam_eps_inside", "adam")
    assert {"agree", "rule", "hyperparameters", "conventions", "first_divergence", "likely_cause", "variants",
            "steps", "problems"} <= rep.keys()
    assert rep["rule"] == "adam" and rep["steps"] == 200 and len(rep["problems"]) == 3
    assert {"problem", "step", "entry", "index", "expected", "got", "error"} <= rep["first_divergence"].keys()
    assert {"label", "description", "libraries", "matches"} <= rep["likely_cause"].keys()
    rows = {v["label"]: v for v in rep["variants"]}
    assert all({"label", "description", "matches", "agreed_steps"} <= v.keys() for v in rows.values())
    # weight_decay = 0: the decay conventions cannot be told apart, and the report says so
    assert rows["decay-decoupled-lr"]["same_as_reference"] and not rows["eps-hat"]["same_as_reference"]


def test_text_report(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["verify-impl", f"{FIXTURES}:adam_eps_inside", "--rule", "adam"]) == 1
    out = capsys.readouterr().out
    assert "agree: no" in out and "first divergence: problem 0" in out
    assert "likely cause: eps-inside" in out and "optax" in out
    assert any(line.split()[:3] == ["eps-inside", "yes", "600"] for line in out.splitlines())


def test_failures_of_the_users_code_are_disagreements_not_crashes(capsys, monkeypatch):
    code, rep, _ = run(capsys, monkeypatch, "adam_raises_at_step_3", "adam")
    d = rep["first_divergence"]
    assert code == 1 and (d["problem"], d["step"]) == (0, 3) and d["entry"] == "exception: ZeroDivisionError: boom"
    code, rep, _ = run(capsys, monkeypatch, "adam_nan_at_step_2", "adam")
    d = rep["first_divergence"]
    assert code == 1 and (d["step"], d["entry"], d["index"], d["got"]) == (2, "params", 0, "nan")
    assert rep["likely_cause"] is None


def test_module_spec_from_the_current_directory(capsys, monkeypatch, tmp_path):
    (tmp_path / "my_sgd_module.py").write_text(
        "def sgd(lr, momentum, dampening, nesterov, weight_decay):\n"
        "    class Opt:\n"
        "        def init(self, params):\n            return {}\n"
        "        def step(self, params, grads, state):\n"
        "            print('noise on stdout')\n"
        "            return params - lr * (grads + weight_decay * params), state\n"
        "    return Opt()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        code = main(["verify-impl", "my_sgd_module:sgd", "--rule", "sgd", "--set", "weight_decay=0.1",
                     "--set", "momentum=0", "--json"])  # plain SGD: momentum fixed (its code ignores momentum)
        out, err = capsys.readouterr()
    finally:
        sys.modules.pop("my_sgd_module", None)
    assert code == 0 and json.loads(out)["agree"] is True and "noise on stdout" in err


@pytest.mark.parametrize("spec,rule,extra,needle", [
    ("nope.py:adam", "adam", [], "no such file"),
    ("no_such_package_xyz.mod:adam", "adam", [], "no module named 'no_such_package_xyz'"),
    (FIXTURES, "adam", [], "must be package.module:factory or path/to/file.py:factory"),
    (f"{FIXTURES}:nope", "adam", [], "has no attribute 'nope'; it defines"),
    (f"{FIXTURES}:NOT_CALLABLE", "adam", [], "not callable"),
    (f"{FIXTURES}:adam_wrong_keywords", "adam", [], "(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, "
                                                     "amsgrad=False)"),
    (f"{FIXTURES}:no_step", "adam", [], "lacks init(params) and step(params, grads, state)"),
    (f"{FIXTURES}:adam", "adam", ["--set", "momentum=0.9"], "unknown key 'momentum'; valid keys for adam: lr, betas"),
    (f"{FIXTURES}:adam", "adam", ["--set", "lr=fast"], "valid keys for adam"),
    (f"{FIXTURES}:adam", "adam", ["--set", "lr"], "give KEY=VALUE"),
    (f"{FIXTURES}:adam", "adam", ["--set", "betas=0.9"], "2 comma-separated numbers"),
    (f"{FIXTURES}:adam", "adam", ["--set", "amsgrad=yes"], "true or false"),
    (f"{FIXTURES}:adam", "adam", ["--set", "eps_mode=middle"], "not one of outside, inside, hat"),
    (f"{FIXTURES}:adam", "adam", ["--set", "betas=0.9,1"], "[0, 1)"),
    (f"{FIXTURES}:adamw", "adamw", ["--set", "decay=coupled"], "use --rule adam"),
    (f"{FIXTURES}:sgd", "sgd", ["--set", "nesterov=true"], "momentum > 0"),
    (f"{FIXTURES}:sgd", "sgd", ["--set", "lr=100"], "overflows"),
    (f"{FIXTURES}:adam", "adam", ["--steps", "0"], "--steps"),
    (f"{FIXTURES}:adam", "adam", ["--rtol", "-1"], "--rtol"),
    (f"{FIXTURES}:adam", "nadamw", [], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, spec, rule, extra, needle):
    code, _, err = run(capsys, monkeypatch, None, rule, *extra, spec=spec)
    assert code == 2
    assert err.startswith("ldyn: error:") and err.count("\n") == 1 and needle in err, err


def test_a_file_that_fails_to_import_is_bad_input(capsys, tmp_path):
    (tmp_path / "broken.py").write_text("import numpy\nraise RuntimeError('half-written')\n")
    code = main(["verify-impl", f"{tmp_path / 'broken.py'}:adam", "--rule", "adam"])
    err = capsys.readouterr().err
    assert code == 2 and "importing" in err and "RuntimeError: half-written" in err and err.count("\n") == 1


def test_problems_span_the_scales_that_separate_conventions():
    ps = problems()
    g = np.abs(np.concatenate([p.grad(p.theta0, 1) for p in ps]))
    assert g.min() < 1e-5 and g.max() > 30  # |g| ~ eps/sqrt(1 - beta2), ~ sqrt(eps), and large
    assert any((p.theta0 > 1).any() and (p.theta0 < -1).any() for p in ps)  # both signs, several sizes
    again = problems()
    assert all(np.array_equal(p.noise, q.noise) and np.array_equal(p.theta0, q.theta0) for p, q in zip(ps, again))


def test_exit_code_through_the_console_entry_point():
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "verify-impl", f"{FIXTURES}:adam_no_bias_correction",
                           "--rule", "adam"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and "likely cause: no-bias-correction" in proc.stdout and not proc.stderr


def test_review_findings_give_one_line_errors(tmp_path, capsys, monkeypatch):
    """A user file may import its neighbours; sys.exit in user code and alpha outside [0, 1) are reported."""
    from verify import cli

    (tmp_path / "helpers.py").write_text("LR_SCALE = 1.0\n")
    (tmp_path / "userfile.py").write_text(
        "import sys\nimport helpers\n"
        "def exits(**kw):\n    sys.exit(3)\n")
    assert cli.main(["verify-impl", f"{tmp_path}/userfile.py:exits", "--rule", "adam"]) == 2
    assert "SystemExit" in capsys.readouterr().err
    assert cli.main(["verify-impl", "tests/fixtures/user_optimizers.py:rmsprop", "--rule", "rmsprop",
                     "--set", "alpha=1"]) == 2
    assert "alpha: must be in [0, 1)" in capsys.readouterr().err
    (tmp_path / "pkgdir").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["verify-impl", "pkgdir:make", "--rule", "adam"]) == 2
    assert "is a directory, not a module" in capsys.readouterr().err
