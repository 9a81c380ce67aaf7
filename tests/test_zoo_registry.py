"""derive.rules.zoo: every library optimizer's keywords and defaults are torch.optim's (read from torch
itself), the variants are labelled honestly (a "convention" names the library that documents it), every
registered name works in ``ldyn verify-impl``, ``resolve`` and the CLI's help."""
from __future__ import annotations

import inspect

import pytest
import torch

from derive.rules.zoo import KINDS, Variant, optimizers
from verify import cli

#: zoo names without a torch.optim class (Lion is optax's and the paper's)
NOT_IN_TORCH = {"lion"}


def _torch_class(name: str):
    return {n.lower(): getattr(torch.optim, n) for n in dir(torch.optim) if n[0].isupper()}[name]


@pytest.mark.parametrize("name", sorted(set(optimizers()) - NOT_IN_TORCH))
def test_keywords_and_defaults_are_torchs(name):
    spec = optimizers()[name]
    params = inspect.signature(_torch_class(name).__init__).parameters
    for key, value in spec.defaults.items():
        assert key in params, f"{name}: torch.optim has no keyword {key!r}"
        assert params[key].default == value, f"{name}.{key}: torch's default {params[key].default!r}, ours {value!r}"
    assert spec.title == f"torch.optim.{_torch_class(name).__name__}"


@pytest.mark.parametrize("name", sorted(optimizers()))
def test_variants_are_labelled_and_build(name):
    spec = optimizers()[name]
    conv = {k: v[0] for k, v in spec.conventions.items()}
    options = spec.options(spec.defaults, conv)
    reference = spec.factory(**options)
    labels = []
    for v in spec.variants(options):
        assert isinstance(v, Variant) and v.kind in KINDS and v.description
        if v.kind == "convention":
            assert v.libraries, f"{name}/{v.label}: a convention must name who documents it"
        rule = v.rule(name)
        assert set(rule.hyper) <= set(spec.symbolic(spec.defaults)) | set(reference.hyper)
        labels.append(v.label)
    assert len(labels) == len(set(labels)), f"{name}: duplicate variant labels {labels}"
    assert spec.check(spec.defaults) is None, f"{name}: torch's defaults rejected: {spec.check(spec.defaults)}"


def test_two_former_conventions_are_mistakes():
    kinds = {v.label: v.kind for v in optimizers()["adam"].variants({"amsgrad": False, "decay": "coupled"})}
    assert kinds["betas-swapped"] == kinds["ema-weights-swapped"] == "mistake"
    assert kinds["eps-hat"] == "convention"


def test_every_name_is_in_the_cli_help_and_resolves(capsys):
    from derive.rules.library import names, resolve

    with pytest.raises(SystemExit):
        cli.main(["verify-impl", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in optimizers():
        assert name in text, f"ldyn verify-impl --help does not list {name}"
        assert name in names()
        assert resolve(name).state[0] == resolve(name).theta


def test_nesterov_refusal_names_the_buffer_form(capsys):
    assert cli.main(["verify-impl", "tests/fixtures/user_optimizers.py:sgd", "--rule", "nesterov"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rule nesterov-buffer" in err and "Traceback" not in err


@pytest.mark.parametrize("rule,setting,message", [
    ("sgd", "dampening=2", "dampening: must be in [0, 1]"),
    ("sgd", "momentum=1", "momentum: must be in [0, 1)"),
    ("adam", "betas=0.9,1.0", "betas: each must be in [0, 1)"),
    ("rmsprop", "eps=-1", "eps: must be >= 0"),
])
def test_out_of_range_values_are_refused(capsys, rule, setting, message):
    assert cli.main(["verify-impl", "tests/fixtures/user_optimizers.py:sgd", "--rule", rule, "--set", setting]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("name", sorted(optimizers()))
def test_every_hand_written_optimizer_agrees_with_its_rule_under_verify_impl(name):
    """numeric.optimizers' hand-written code against the lambdified symbolic rule, in every configuration
    verify-impl builds (each hyperparameter exercised): two independent implementations."""
    from verify.implementation import verify

    rep = verify(f"numeric.optimizers:{name}", name, steps=60)
    assert rep["agree"], (name, rep["first_divergence"], rep["likely_cause"])
    assert rep["not_exercised"] == [], (name, rep["not_exercised"])


@pytest.mark.parametrize("port,rule,label", [
    ("adafactor_paper_eps", "adafactor", "eps1-added"),
    ("adafactor_paper_step", "adafactor", "relative-step-paper"),
    ("muon_moonshot", "muon", "adjust-lr-match-rms-adamw"),
    ("muon_cubic", "muon", "cubic-newton-schulz"),
])
def test_ported_matrix_optimizers_are_recognised(port, rule, label):
    from verify.implementation import verify

    rep = verify(f"tests/fixtures/zoo/matrix_ports.py:{port}", rule)
    assert not rep["agree"] and label in rep["likely_cause"]["matches"], rep["likely_cause"]


def test_readme_lists_every_optimizer_with_the_algorithm_it_follows():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = text.split("<!-- optimizers:start -->")[1].split("<!-- optimizers:end -->")[0].strip().splitlines()[2:]
    assert table == [f"| `{n}` | {s.title} | {s.follows} |" for n, s in optimizers().items()]
