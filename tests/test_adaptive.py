"""derive.rules.adaptive / conventions / adaptive_dynamics: rules against hand-computed values, variants
that are really different, and derivations whose statuses are what they claim."""
import math

import numpy as np
import pytest
import sympy as sp

from derive.rules import adaptive as ad
from derive.analysis import adaptive_dynamics as dyn
from derive.rules import conventions as conv
from derive.derivation import Derivation


def _first_step(rule, g, **hyper):
    opt = rule.lambdify(**hyper)
    p = np.zeros_like(g)
    return opt.step(p, g, opt.init(p))[0]


G = np.array([3e-5, -1e-4, 2e-3, 0.5, -7.0])


@pytest.mark.parametrize("mode, expected", [
    ("outside", lambda g, e, b2: -0.1 * g / (np.abs(g) + e)),
    ("inside", lambda g, e, b2: -0.1 * g / np.sqrt(g**2 + e)),
    ("hat", lambda g, e, b2: -0.1 * g / (np.abs(g) + e / math.sqrt(1 - b2))),
])
def test_adam_first_step_closed_forms(mode, expected):
    got = _first_step(ad.adam_rule(eps_mode=mode), G, lr=0.1, eps=1e-8, beta1=0.8, beta2=0.99)
    np.testing.assert_allclose(got, expected(G, 1e-8, 0.99), rtol=1e-13)


def test_rmsprop_first_step_closed_form():
    got = _first_step(ad.rmsprop_rule(), G, lr=0.1, alpha=0.9, eps=1e-8)
    np.testing.assert_allclose(got, -0.1 * G / (math.sqrt(0.1) * np.abs(G) + 1e-8), rtol=1e-13)


def test_amsgrad_raw_vs_corrected_by_hand():
    # beta = (0.5, 0.5), eps = 0, lr = 1, theta_0 = 0, gradients 4 then 1.
    # step 1: m = 2, v = 8, corrections 1/2: m-hat = 4, v-hat = 16 -> theta_1 = -1 (all variants)
    # step 2: m = 1.5, v = 4.5, corrections 3/4: m-hat = 2
    #   plain:     v-hat = 6                          -> theta_2 = -1 - 2/sqrt(6)  = -1 - sqrt(6)/3
    #   raw:       max(8, 4.5)/0.75 = 32/3            -> theta_2 = -1 - sqrt(6)/4
    #   corrected: max(16, 4.5/0.75 = 6) = 16         -> theta_2 = -1.5
    expected = {None: -1 - math.sqrt(6) / 3, "raw": -1 - math.sqrt(6) / 4, "corrected": -1.5}
    for mode, want in expected.items():
        rule = ad.adam_rule(amsgrad=mode is not None, amsgrad_max=mode or "raw")
        opt = rule.lambdify(lr=1.0, beta1=0.5, beta2=0.5, eps=0.0)
        p, s = opt.step(np.zeros(1), np.array([4.0]), opt.init(np.zeros(1)))
        assert p[0] == pytest.approx(-1.0, rel=1e-14)
        p, s = opt.step(p, np.array([1.0]), s)
        assert p[0] == pytest.approx(want, rel=1e-14)


def test_sgd_first_step_is_undamped_like_torch():
    g = np.array([2.0])
    torch_like = ad.sgd_rule().lambdify(lr=0.1, momentum=0.9, dampening=0.5)
    damped = ad.sgd_rule(undamped_first_step=False).lambdify(lr=0.1, momentum=0.9, dampening=0.5)
    p0 = np.array([1.0])
    assert torch_like.step(p0, g, torch_like.init(p0))[1]["momentum_buffer"][0] == 2.0
    assert damped.step(p0, g, damped.init(p0))[1]["momentum_buffer"][0] == 1.0


def test_adamw_decays_without_gradient():
    opt = ad.adamw_rule().lambdify(lr=0.1, weight_decay=0.5)
    p, s = np.array([2.0, -4.0]), None
    s = opt.init(p)
    for _ in range(3):
        p, s = opt.step(p, np.zeros(2), s)
    np.testing.assert_allclose(p, np.array([2.0, -4.0]) * 0.95**3, rtol=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda: ad.adam_rule(eps_mode="under"), "eps_mode must be one of"),
    (lambda: ad.adam_rule(bias_correction=True), "bias_correction must be one of"),
    (lambda: ad.adam_rule(amsgrad="yes"), "amsgrad must be True or False"),
    (lambda: ad.adam_rule(decay="l1"), "decay must be one of"),
    (lambda: ad.adamw_rule(decay="coupled"), "AdamW's decay is decoupled"),
    (lambda: ad.rmsprop_rule(eps_mode="hat"), "eps_mode must be one of"),
    (lambda: ad.sgd_rule(momentum=False, nesterov=True), "nesterov=True needs momentum"),
    (lambda: conv.variants("adagrad", {}), "unknown rule 'adagrad'"),
])
def test_bad_options_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _trajectory(rule, hyper, steps=60):
    from verify.checks.adaptive import _problem

    grad, p = _problem(0)
    opt = rule.lambdify(**hyper)
    s, out = opt.init(p), []
    for k in range(steps):
        p, s = opt.step(p, grad(p, k), s)
        out.append(p)
    return np.array(out)


HYPER = {"adam": dict(lr=0.01, weight_decay=0.1), "adamw": dict(lr=0.01, weight_decay=0.1),
         "rmsprop": dict(lr=0.01, weight_decay=0.1), "sgd": dict(lr=0.01, momentum=0.9, dampening=0.3,
                                                                  weight_decay=0.1)}


@pytest.mark.parametrize("name, options", [("adam", {}), ("adam", {"amsgrad": True}), ("adamw", {}),
                                           ("rmsprop", {}), ("sgd", {})])
def test_every_variant_behaves_differently_from_the_reference(name, options):
    """verify-impl can only name a cause if each variant is distinguishable on its problems."""
    factory = ad.adam_rule if name in ("adam", "adamw") else ad.RULES[name]
    ref_opts = {**options, **({"decay": "decoupled-lr"} if name == "adamw" else {})}
    ref = _trajectory(factory(**ref_opts), HYPER[name])
    for v in conv.variants(name, options):
        other = _trajectory(v.rule(name), v.hyperparameters(HYPER[name]))
        assert np.max(np.abs(other - ref)) > 1e-8 * np.max(np.abs(ref)), v.label


def test_equivalent_accepts_an_interval_written_differently_and_refuses_a_wrong_one():
    x = sp.Symbol("x", real=True)
    d = sp.Symbol("delta", positive=True)
    ok = Derivation("t", "t").equivalent(sp.And(x > 0, (4 - 2 * d) / d - x > 0), x,
                                         sp.Interval.open(0, 2 * (2 - d) / d), "same interval, other form")
    bad = Derivation("t", "t").equivalent(sp.And(x > 0, (4 - 2 * d) / d - x > 0), x,
                                          sp.Interval.open(0, 2 * (3 - d) / d), "wrong end")
    assert ok.check().steps[0].status == "proved"
    assert bad.check().steps[0].status == "failed"


def test_frozen_threshold_is_38_over_eta_at_default_beta1():
    x_max = dyn.frozen_preconditioner().results["x_max"]
    assert x_max.subs(ad.beta1, sp.Rational(9, 10)) == 38


def test_sup_ratio_matches_a_brute_force_maximization():
    """The derived supremum vs scipy maximizing |m-hat|/sqrt(v-hat) over gradient sequences (t = 6)."""
    from scipy.optimize import minimize

    sup = sp.lambdify((ad.beta1, ad.beta2, dyn.tt), dyn.sign_descent().results["sup_ratio"])
    b1, b2, t = 0.6, 0.7, 6
    k = np.arange(t)[::-1]
    w, u = (1 - b1) * b1**k, (1 - b2) * b2**k

    def neg(gs):
        return -abs(w @ gs) / math.sqrt(u @ gs**2) * math.sqrt(1 - b2**t) / (1 - b1**t)

    best = min(minimize(neg, np.random.default_rng(s).normal(size=t)).fun for s in range(5))
    assert -best == pytest.approx(sup(b1, b2, t), rel=1e-6)
    assert sup(b1, b2, t) > 1.0


def test_kingma_ba_bound_is_exceeded_only_for_long_runs():
    sup = sp.lambdify((ad.beta1, ad.beta2, dyn.tt), dyn.sign_descent().results["sup_ratio"])
    kb = 0.1 / math.sqrt(0.001)
    assert sup(0.9, 0.999, 1) == pytest.approx(1.0)
    assert sup(0.9, 0.999, 100) < kb < sup(0.9, 0.999, 1000)


def test_a_given_inequality_is_printed_as_one_and_bad_relations_are_refused():
    d = Derivation("t", "t").given(sp.Symbol("a"), sp.Symbol("b"), "cited theorem", relation="<=")
    assert r"a &\le b" in d.to_markdown(d.check())
    assert d.check().steps[0].status == "given"
    with pytest.raises(ValueError, match="relation must be one of"):
        Derivation("t", "t").given(sp.Symbol("a"), sp.Symbol("b"), "x", relation="~")
