"""``ldyn verify-impl`` for any rule, in enough configurations to exercise every hyperparameter.

Users' optimizers (tests/fixtures/, plain NumPy from the papers' and torch's pseudocode): correct ones
must agree in every configuration; one that ignores any single hyperparameter (its default hard-coded),
or makes a common mistake, must differ, with the cause named.  First divergences are predicted by hand
from the problems' gradients; the lowered default lr is checked against hand-written GD runs."""
import json
import pathlib

import numpy as np
import pytest

from verify.cli import main
from verify.implementation import problems

ROOT = pathlib.Path(__file__).resolve().parents[1]
TORCH = "tests/fixtures/user_optimizers.py"
GEN = "tests/fixtures/user_optimizers_generic.py"
#: the text rule, a generic reference with the rule's own names (``--rule lion`` is the zoo entry, torch-style)
LION = "derive/rules/text/lion.rule"
STEPS = 40
KEYS = {"sgd": ["lr", "momentum", "dampening", "nesterov", "weight_decay"],
        "rmsprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
        "adam": ["lr", "betas", "eps", "weight_decay", "amsgrad"],
        "adamw": ["lr", "betas", "eps", "weight_decay", "amsgrad"],
        "qhm": ["lr", "momentum", "nu"], LION: ["lr", "beta1", "beta2", "weight_decay"]}
QHM_TEXT = """# quasi-hyperbolic momentum (Ma & Yarats 2019)
name: qhm
hyper: lr=0.1, momentum=0.9, nu=0.7
state: momentum_buffer=0
momentum_buffer = momentum*momentum_buffer + (1 - momentum)*g(theta)
theta = theta - lr*((1 - nu)*g(theta) + nu*momentum_buffer)
"""


def _strict(token):
    raise AssertionError(f"{token} is not JSON")


def run(capsys, monkeypatch, spec, rule, *extra, json_out=True):
    monkeypatch.chdir(ROOT)
    code = main(["verify-impl", spec, "--rule", rule, "--steps", str(STEPS), *(["--json"] if json_out else []), *extra])
    out, err = capsys.readouterr()
    if not json_out:
        return code, out, err
    return code, json.loads(out, parse_constant=_strict) if out else None, err


@pytest.mark.parametrize("spec,rule", [
    (f"{TORCH}:sgd", "sgd"), (f"{TORCH}:rmsprop", "rmsprop"), (f"{TORCH}:adam", "adam"), (f"{TORCH}:adamw", "adamw"),
    (f"{GEN}:qhm", "qhm"), (f"{GEN}:SGDTorchStyle", "sgd"), (f"{GEN}:LionOneArray", LION),
])
def test_correct_implementations_agree_in_every_configuration_and_exercise_every_hyperparameter(
        capsys, monkeypatch, spec, rule):
    code, rep, _ = run(capsys, monkeypatch, spec, rule)
    assert code == 0 and rep["agree"] is True and rep["first_divergence"] is None
    assert len(rep["configurations"]) >= 2 and all(c["status"] == "agree" for c in rep["configurations"])
    assert [e["hyperparameter"] for e in rep["exercised"]] == KEYS[rule] and rep["not_exercised"] == []
    by_name = {c["name"]: c for c in rep["configurations"]}
    for e in rep["exercised"]:  # the exercising value is off every value that ignoring it can mean
        assert by_name[e["configuration"]]["hyperparameters"][e["hyperparameter"]] == e["value"]
        assert e["value"] not in e["distinguished_from"] and e["distinguished_from"]


IGNORED = [(rule, key) for rule in ("sgd", "rmsprop", "adam", "adamw") for key in KEYS[rule]]


@pytest.mark.parametrize("rule,key", IGNORED)
def test_ignoring_any_one_hyperparameter_is_caught_and_named(capsys, monkeypatch, rule, key):
    # the correct fixture with `key` replaced by its default whatever it is given
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:{rule}_ignores_{key}", rule)
    assert code == 1 and rep["agree"] is False
    assert rep["configurations"][0]["status"] == "agree"  # the defaults cannot show it
    assert rep["likely_cause"]["kind"] == "match" and rep["likely_cause"]["matches"][0] == f"{key}-ignored"
    assert rep["likely_cause"]["category"] == "mistake"
    exercised = {e["hyperparameter"]: e["configuration"] for e in rep["exercised"]}
    assert rep["configuration"] == exercised[key] == rep["first_divergence"]["configuration"]
    assert rep["hyperparameters"][key] != rep["configurations"][0]["hyperparameters"][key]


@pytest.mark.parametrize("name,rule,configuration,label", [
    ("sgd_ignores_weight_decay", "sgd", "weight_decay", "weight_decay-ignored"),
    ("sgd_ema_buffer", "sgd", "momentum", "ema-momentum-buffer"),
    ("sgd_ignores_nesterov", "sgd", "nesterov", "nesterov-ignored"),
    ("adam_ignores_weight_decay", "adam", "weight_decay", "weight_decay-ignored"),
    ("adam_ignores_amsgrad", "adam", "amsgrad", "amsgrad-ignored"),
    ("qhm_ignores_nu", "qhm", "moved", "nu-ignored"),
    ("qhm_without_nu", "qhm", "moved", "nu-as-1"),
    ("lion_coupled_decay", LION, "weight_decay", "decay-coupled"),
])
def test_common_mistakes_differ_with_the_mistake_named(capsys, monkeypatch, name, rule, configuration, label):
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:{name}", rule)
    assert code == 1 and rep["agree"] is False and rep["configuration"] == configuration
    cause = rep["likely_cause"]
    assert cause["kind"] == "match" and cause["matches"][0] == label and cause["category"] == "mistake"
    row = {v["label"]: v for v in rep["variants"]}[label]
    assert row["matches"] and row["agreed_steps"] == STEPS * len(rep["problems"]) and not row["same_as_reference"]
    assert {c["name"]: c["status"] for c in rep["configurations"]}[configuration] == "differ"


def test_text_names_the_mistake(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, f"{GEN}:sgd_ignores_weight_decay", "sgd", json_out=False)
    assert code == 1 and "agree: no" in out
    assert "likely cause: weight_decay ignored" in out and "(a mistake, not a library convention" in out
    assert "exercised: lr (moved), momentum (momentum), dampening (dampening), nesterov (nesterov), " \
           "weight_decay (weight_decay)" in out
    assert any(line.split()[:2] == ["weight_decay", "differ"] for line in out.splitlines())


def test_first_divergences_predicted_by_hand(capsys, monkeypatch):
    p = problems(STEPS)[0]
    theta0, g = p.theta0, p.grad(p.theta0, 1)
    # weight decay ignored: torch's first step is theta - lr (g + wd theta), the code's theta - lr g
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:sgd_ignores_weight_decay", "sgd")
    d = rep["first_divergence"]
    i, wd = d["index"], rep["hyperparameters"]["weight_decay"]
    assert (d["configuration"], d["problem"], d["step"], d["entry"]) == ("weight_decay", 0, 1, "params")
    assert d["expected"] == pytest.approx(theta0[i] - 1e-3 * (g[i] + wd * theta0[i]), rel=1e-13)
    assert d["got"] == pytest.approx(theta0[i] - 1e-3 * g[i], rel=1e-13)
    # EMA buffer: torch's first buffer is g (theta - lr g), the EMA's (1 - momentum) g
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:sgd_ema_buffer", "sgd")
    d = rep["first_divergence"]
    i, mom = d["index"], rep["hyperparameters"]["momentum"]
    assert (d["configuration"], d["step"], d["entry"], mom) == ("momentum", 1, "params", 0.9)
    assert d["expected"] == pytest.approx(theta0[i] - 1e-3 * g[i], rel=1e-13)
    assert d["got"] == pytest.approx(theta0[i] - 1e-3 * (1 - mom) * g[i], rel=1e-13)


def test_values_fixed_with_set_are_not_varied_and_the_report_says_so(capsys, monkeypatch):
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:sgd_ignores_weight_decay", "sgd", "--set", "weight_decay=0")
    assert code == 0 and all(c["hyperparameters"]["weight_decay"] == 0 for c in rep["configurations"])
    (missing,) = rep["not_exercised"]
    assert missing["hyperparameter"] == "weight_decay" and "fixed at 0 by --set" in missing["why"]
    # momentum fixed at 0 hides dampening and nesterov: nothing can exercise them
    code, rep, _ = run(capsys, monkeypatch, f"{TORCH}:sgd", "sgd", "--set", "momentum=0")
    why = {m["hyperparameter"]: m["why"] for m in rep["not_exercised"]}
    assert code == 0 and set(why) == {"momentum", "dampening", "nesterov"}
    assert "fixed at 0 by --set" in why["momentum"] and "momentum=0" in why["dampening"]
    assert "needs momentum > 0" in why["nesterov"]
    assert all(c["hyperparameters"]["momentum"] == 0 for c in rep["configurations"] if c["status"] != "skipped")


def test_a_rule_file_is_a_reference(capsys, monkeypatch, tmp_path):
    path = tmp_path / "my_qhm.rule"
    path.write_text(QHM_TEXT)
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:qhm", str(path))
    assert code == 0 and rep["rule"] == str(path) and rep["hyperparameters"] == {"lr": 0.1, "momentum": 0.9, "nu": 0.7}
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:qhm_ignores_nu", str(path), "--set", "lr=0.05")
    assert code == 1 and rep["likely_cause"]["matches"][0] == "nu-ignored"
    assert all(c["hyperparameters"]["lr"] == 0.05 for c in rep["configurations"])


def test_a_default_lr_the_reference_overflows_at_is_lowered(capsys, monkeypatch, tmp_path):
    (tmp_path / "big.rule").write_text("name: big\nhyper: lr=1e8\ntheta = theta - lr*g(theta)\n")
    (tmp_path / "gd.py").write_text("def gd(lr):\n    class O:\n        def init(self, p):\n            return {}\n"
                                    "        def step(self, p, g, s):\n            return p - lr * g, s\n    return O()\n")
    code, rep, _ = run(capsys, monkeypatch, f"{tmp_path / 'gd.py'}:gd", str(tmp_path / "big.rule"))
    # independently: hand-written GD, lr = 1e8, 1e7, ...: the first that stays finite on all problems
    with np.errstate(all="ignore"):
        def finite(lr):
            ok = True
            for p in problems(STEPS):
                th = p.theta0.copy()
                for k in range(1, STEPS + 1):
                    th = th - lr * p.grad(th, k)
                    ok &= bool(np.isfinite(th).all())
            return ok
        lr = next(10.0 ** e for e in range(8, -5, -1) if finite(10.0 ** e))
    assert lr < 1e8 and code == 0
    assert rep["configurations"][0]["hyperparameters"]["lr"] == pytest.approx(lr, rel=1e-12)
    assert rep["notes"][0].startswith("lr lowered from 1e+08 to 1e+07")


def test_torch_style_classes(capsys, monkeypatch):
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:SGDTorchStyle", "sgd")
    assert code == 0 and rep["kind"] == "torch-style class, params a list of arrays"
    code, rep, _ = run(capsys, monkeypatch, f"{GEN}:LionOneArray", LION)  # takes betas=(beta1, beta2)
    assert code == 0 and rep["kind"] == "torch-style class, params one array"
    assert set(rep["hyperparameters"]) == {"lr", "beta1", "beta2", "weight_decay"}


@pytest.mark.parametrize("spec,rule,extra,needle", [
    (f"{GEN}:NotInPlace", "sgd", [], "left them unchanged (update in place"),
    (f"{GEN}:ClosureStep", "sgd", [], "its step takes (no argument), not one argument grads"),
    (f"{GEN}:qhm", "nadamw", [], "invalid choice"),
    (f"{GEN}:qhm", "nope.rule", [], "no such rule file"),
    (f"{GEN}:qhm", "qhm", ["--set", "betas=0.9,0.99"], "unknown key 'betas'"),
    (f"{GEN}:qhm", "qhm", ["--set", "lr=-1"], "must be > 0"),
    (f"{GEN}:qhm", "qhm", ["--set", "lr=0.1", "--set", "nu"], "give KEY=VALUE"),
    (f"{GEN}:qhm", "nesterov", [], "use --rule nesterov-buffer"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, spec, rule, extra, needle):
    code, _, err = run(capsys, monkeypatch, spec, rule, *extra)
    assert code == 2 and err.startswith("ldyn: error:") and err.count("\n") == 1 and needle in err, err
    if "class" in needle or "step takes" in needle or "in place" in needle:
        assert "write it as: class" in err and "def step(self, grads)" in err


def test_a_bad_rule_file_names_file_and_line(capsys, monkeypatch, tmp_path):
    (tmp_path / "bad.rule").write_text("hyper: lr=0.1\ntheta = theta - lr*h(theta)\n")
    code, _, err = run(capsys, monkeypatch, f"{GEN}:qhm", str(tmp_path / "bad.rule"))
    assert code == 2 and err.count("\n") == 1 and f"{tmp_path / 'bad.rule'}:2:" in err


def test_a_step_function_exercises_nothing_and_says_so(capsys, monkeypatch):
    code, rep, _ = run(capsys, monkeypatch, f"{TORCH}:adam_step", "adam")
    assert code == 0 and [c["name"] for c in rep["configurations"]] == ["base"] and rep["exercised"] == []
    assert [m["hyperparameter"] for m in rep["not_exercised"]] == KEYS["adam"]
    assert all("step function" in m["why"] for m in rep["not_exercised"])


AGGMO = '''
import numpy as np


def make_aggmo(lr, beta1, beta2, average=True):
    """Lucas et al. (2019), Algorithm 1 with two velocities, written from the paper."""
    class AggMo:
        def init(self, params):
            return {"v1": np.zeros_like(params), "v2": np.zeros_like(params)}

        def step(self, params, grads, state):
            v1 = beta1 * state["v1"] - grads
            v2 = beta2 * state["v2"] - grads
            step = (v1 + v2) / 2 if average else v1 + v2
            return params + lr * step, {"v1": v1, "v2": v2}
    return AggMo()


def make_aggmo_summed(lr, beta1, beta2):
    return make_aggmo(lr, beta1, beta2, average=False)
'''


def test_aggmo_degree_three_rule_through_verify_impl(tmp_path):
    """The two-buffer rule (degree-3 characteristic polynomial) against a hand-written AggMo: agree in every
    configuration, beta1 (default 0) exercised; summing the velocities instead of averaging them differs."""
    from verify import implementation

    (tmp_path / "aggmo_impl.py").write_text(AGGMO)
    rep = implementation.verify(f"{tmp_path / 'aggmo_impl.py'}:make_aggmo", "aggmo", steps=40)
    assert rep["agree"] and {e["hyperparameter"] for e in rep["exercised"]} == {"lr", "beta1", "beta2"}
    rep = implementation.verify(f"{tmp_path / 'aggmo_impl.py'}:make_aggmo_summed", "aggmo", steps=40)
    assert not rep["agree"]
