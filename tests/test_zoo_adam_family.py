"""NAdam, RAdam, Adamax (against torch.optim in float64) and Lion (against lion-pytorch in float64): params and
every state entry after each step; the symbolic rules, the derivations, the checks and verify-impl."""
import inspect
import math

import numpy as np
import pytest
import sympy as sp
import torch
from lion_pytorch import Lion as TorchLion

from derive.rules import adam_family as rules
from derive.rules import adam_family_derivations as ders
from derive.rules.zoo import optimizers
from derive.update_rule import UpdateRule
from numeric.optimizers import Adamax, Lion, NAdam, RAdam, adamax, lion, nadam, radam
from verify.checks.zoo import adam_family as checks
from verify.implementation import verify

FIXTURES = "tests/fixtures/zoo/adamfam_ports.py"
SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
STEPS = 100  # verify-impl steps per problem


@pytest.fixture(autouse=True)
def _float64():
    """torch keeps scalar state (NAdam's mu_product, the step) in the default dtype: make it float64."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _gradients(shapes, steps, seed):
    """Per step, one gradient per shape: a drift plus noise over 4 decades, shrinking in the second half
    (Adamax's decayed max wins), an exact zero at one entry every 5th step (sign(0), max with 0)."""
    rng = np.random.default_rng(seed)
    drift = [rng.normal(size=s) for s in shapes]
    out = []
    for k in range(steps):
        gk = []
        for s, d in zip(shapes, drift):
            x = np.asarray((d + rng.normal(size=s)) * 10.0 ** rng.uniform(-3, 1) * (1 if k < steps // 2 else 0.1),
                           dtype=float)
            if k % 5 == 2:
                x.reshape(-1)[0] = 0.0
            gk.append(x)
        out.append(gk)
    return out


def _against(opt, make_torch, shapes=SHAPES, steps=30, seed=0):
    """The hand-written optimizer on a list of arrays and the torch one on the same tensors in one param group;
    params and every torch state entry compared after each step (rtol 1e-12)."""
    rng = np.random.default_rng(seed + 100)
    params = [rng.normal(size=s) for s in shapes]
    tensors = [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True) for p in params]
    topt = make_torch(tensors)
    state = opt.init(params)
    for gk in _gradients(shapes, steps, seed):
        for tt, g in zip(tensors, gk):
            tt.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        params, state = opt.step(params, gk, state)
        for tt, p, s in zip(tensors, params, state):
            np.testing.assert_allclose(p, tt.detach().numpy(), rtol=1e-12, atol=1e-14)
            assert set(topt.state[tt]) == set(s)
            for key, val in topt.state[tt].items():
                np.testing.assert_allclose(np.asarray(s[key], float), val.detach().numpy(), rtol=1e-12, atol=1e-14,
                                           err_msg=key)
    return state


# -- against torch ---------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"lr": 0.05, "weight_decay": 0.1}, {"lr": 0.05, "weight_decay": 0.1,
                                                                       "decoupled_weight_decay": True},
                                {"lr": 0.01, "momentum_decay": 0.3, "betas": (0.8, 0.99), "eps": 1e-3},
                                {"lr": 0.01, "momentum_decay": 0.0}])
def test_nadam_matches_torch(kw):
    state = _against(nadam(**kw), lambda ts: torch.optim.NAdam(ts, **kw))
    assert state[0]["step"] == 30 and 0 < state[0]["mu_product"] < 0.9**30


@pytest.mark.parametrize("kw", [{}, {"lr": 0.05, "weight_decay": 0.1}, {"lr": 0.05, "weight_decay": 0.1,
                                                                       "decoupled_weight_decay": True},
                                {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-3}])
def test_radam_matches_torch_in_both_branches(kw):
    opt = radam(**kw)
    rho = [opt.rho(t) for t in range(1, 31)]
    assert sum(r > 5 for r in rho) >= 20 and sum(r <= 5 for r in rho) >= 4  # early steps unrectified, then rectified
    _against(opt, lambda ts: torch.optim.RAdam(ts, **kw))


@pytest.mark.parametrize("kw", [{}, {"lr": 0.05, "weight_decay": 0.1}, {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3}])
def test_adamax_matches_torch(kw):
    _against(adamax(**kw), lambda ts: torch.optim.Adamax(ts, **kw))


@pytest.mark.parametrize("kw,ours", [({}, {}), ({"lr": 0.01, "weight_decay": 0.5}, {}),
                                     ({"lr": 0.01, "betas": (0.5, 0.9), "weight_decay": 0.2}, {}),
                                     ({"lr": 0.01, "weight_decay": 0.2, "decoupled_weight_decay": True},
                                      {"decay_scale": "none"})])
def test_lion_matches_lion_pytorch(kw, ours):
    plain = {k: v for k, v in kw.items() if k != "decoupled_weight_decay"}
    _against(lion(**plain, **ours), lambda ts: TorchLion(ts, **kw))


def test_single_arrays_and_0d_match_torch():
    for shape in [(), (7,), (2, 2, 3)]:
        for hand, make in ((nadam(lr=0.02), lambda ts: torch.optim.NAdam(ts, lr=0.02)),
                           (radam(lr=0.02), lambda ts: torch.optim.RAdam(ts, lr=0.02)),
                           (adamax(lr=0.02), lambda ts: torch.optim.Adamax(ts, lr=0.02)),
                           (lion(lr=0.02, weight_decay=0.1), lambda ts: TorchLion(ts, lr=0.02, weight_decay=0.1))):
            rng = np.random.default_rng(3)
            p = rng.normal(size=shape)
            tt = torch.tensor(p.copy(), requires_grad=True)
            topt, state = make([tt]), hand.init(p)
            for _ in range(12):
                g = rng.normal(size=shape)
                tt.grad = torch.tensor(g)
                topt.step()
                p, state = hand.step(p, g, state)
                assert p.shape == shape
                np.testing.assert_allclose(p, tt.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_defaults_are_torchs():
    for cls, ours in ((torch.optim.NAdam, NAdam), (torch.optim.RAdam, RAdam), (torch.optim.Adamax, Adamax),
                      (TorchLion, Lion)):
        theirs = {k: v.default for k, v in inspect.signature(cls.__init__).parameters.items()
                  if v.default is not inspect.Parameter.empty}
        mine = {k: v.default for k, v in inspect.signature(ours).parameters.items()}
        shared = set(mine) & set(theirs)
        assert shared >= {"lr", "betas", "weight_decay"}
        assert all(mine[k] == theirs[k] for k in shared), cls
        assert {k: v for k, v in optimizers()[ours.__name__.lower()].defaults.items()} == \
            {k: theirs[k] for k in optimizers()[ours.__name__.lower()].defaults}


# -- by hand ---------------------------------------------------------------------------------
def test_first_steps_by_hand():
    g, lr = np.array([2.0, -0.5]), 0.1
    mu1, mu2 = 0.9 * (1 - 0.5 * 0.96**0.004), 0.9 * (1 - 0.5 * 0.96**0.008)
    step = nadam(lr=lr, eps=0.0).step(np.zeros(2), g, nadam().init(np.zeros(2)))[0]
    np.testing.assert_allclose(step, -lr * np.sign(g) * (1 + mu2 * 0.1 / (1 - mu1 * mu2)), rtol=1e-14)
    step = nadam(lr=lr, eps=0.0, schedule="constant").step(np.zeros(2), g, nadam().init(np.zeros(2)))[0]
    np.testing.assert_allclose(step, -lr * np.sign(g) * 28 / 19, rtol=1e-14)
    # RAdam at beta2 = 0.999: steps 1..5 are momentum SGD (-lr m-hat = -lr g for a constant g), step 6 is not
    opt, p = radam(lr=lr), np.zeros(2)
    s = opt.init(p)
    for t in range(1, 7):
        q, s = opt.step(p, g, s)
        assert np.allclose(q - p, -lr * g, rtol=1e-13, atol=0) == (t <= 5), t
        p = q
    # Adamax: u = |g| + eps after one step; Lion: -lr sign(g), sign(0) = 0
    p1, s1 = adamax(lr=lr, eps=0.25).step(np.zeros(2), g, adamax().init(np.zeros(2)))
    np.testing.assert_allclose(s1["exp_inf"], np.abs(g) + 0.25, rtol=0)
    np.testing.assert_allclose(p1, -lr * g / (np.abs(g) + 0.25), rtol=1e-15)
    p1, _ = lion(lr=lr, weight_decay=0.5).step(np.ones(3), np.array([3.0, 0.0, -1e-9]), lion().init(np.ones(3)))
    np.testing.assert_allclose(p1, 1 - lr * 0.5 - lr * np.array([1.0, 0.0, -1.0]), rtol=1e-15)


@pytest.mark.parametrize("cls,kw,name", [
    (NAdam, {"lr": 0.0}, "lr"), (NAdam, {"betas": (1.0, 0.9)}, "betas[0]"), (NAdam, {"eps": -1e-8}, "eps"),
    (NAdam, {"momentum_decay": -0.1}, "momentum_decay"), (NAdam, {"decoupled_weight_decay": 1}, "decoupled_weight_decay"),
    (NAdam, {"schedule": "keras"}, "schedule"), (RAdam, {"betas": (0.9, -0.1)}, "betas[1]"),
    (RAdam, {"weight_decay": -1.0}, "weight_decay"), (RAdam, {"threshold": 3.5}, "threshold"),
    (RAdam, {"eps_mode": "inside"}, "eps_mode"), (Adamax, {"lr": math.inf}, "lr"), (Adamax, {"eps_mode": "x"}, "eps_mode"),
    (Lion, {"betas": (0.9,)}, "betas"), (Lion, {"weight_decay": -0.1}, "weight_decay"),
    (Lion, {"decay_scale": "wd"}, "decay_scale")])
def test_hyperparameters_validated(cls, kw, name):
    with pytest.raises(ValueError, match=name.replace("[", r"\[").replace("]", r"\]")):
        cls(**kw)


def test_pure_steps_and_bad_state():
    p, g = np.array([1.0, -2.0]), np.array([0.3, 0.4])
    for opt in (nadam(), radam(), adamax(), lion()):
        s = opt.init(p)
        before = {k: np.array(v, copy=True) for k, v in s.items()}
        opt.step(p, g, s)
        assert all(np.array_equal(s[k], before[k]) for k in s) and p.tolist() == [1.0, -2.0]
        bad = {k: v for k, v in s.items() if k != "exp_avg"}
        with pytest.raises(ValueError, match="exp_avg"):
            opt.step(p, g, bad)


# -- rules, derivations, checks -------------------------------------------------------------
def test_lambdified_rules_equal_the_handwritten_ones():
    rows = checks.lambdified_vs_handwritten()
    assert [r.check.split("/")[1] for r in rows] == ["nadam", "radam", "adamax", "lion"]
    assert all(r.status == "pass" and r.error < 1e-13 for r in rows), [(r.check, r.error) for r in rows]


def test_lion_text_rule_is_the_factory_default():
    text = UpdateRule.from_file("derive/rules/text/lion.rule")
    ours = rules.lion_rule()
    assert text.state_names == ours.state_names and text.defaults == ours.defaults
    rename = {**{s: o for s, o in zip(text.state, ours.state)}, **{text.hyper[k]: ours.hyper[k] for k in ours.hyper}}
    assert set(text.hyper) == set(ours.hyper)
    x = sp.Dummy("x")
    for a, b in zip(text.update, ours.update):
        a = a.replace(text.oracle, sp.Lambda(x, sp.Function("g")(x))).xreplace(rename)
        expand_signs = (lambda e: e.replace(sp.sign, lambda arg: sp.sign(sp.expand(arg))))
        assert sp.simplify(expand_signs(a) - expand_signs(b)) == 0


def test_rules_reject_bad_options():
    with pytest.raises(ValueError, match="threshold"):
        rules.radam_rule(threshold=3)
    for f, kw in ((rules.nadam_rule, {"schedule": "x"}), (rules.adamax_rule, {"eps_mode": "x"}),
                  (rules.lion_rule, {"buffer": "x"}), (rules.radam_rule, {"eps_mode": "inside"})):
        with pytest.raises(ValueError):
            f(**kw)


def test_every_variant_is_a_different_map():
    rng = np.random.default_rng(5)
    for name in ("nadam", "radam", "adamax", "lion"):
        spec = optimizers()[name]
        values = {**spec.defaults, "lr": 0.01, **{k: v for _, c in spec.plans for k, v in c.items()}}
        values.update({"eps": 1e-3} if "eps" in values else {})  # so that the eps conventions differ visibly
        sym = spec.symbolic(values)
        conv = {k: v[0] for k, v in spec.conventions.items()}
        ref = spec.rule(values, conv).lambdify(**{k: x for k, x in sym.items() if k in spec.rule(values, conv).hyper})
        variants = spec.variants(spec.options(values, conv))
        assert {v.kind for v in variants} == {"convention", "mistake"}
        for var in variants:
            rule = var.rule(name)
            other = rule.lambdify(**{k: x for k, x in var.hyperparameters(sym).items() if k in rule.hyper})
            p = q = rng.normal(size=6)
            sr, so = ref.init(p), other.init(p)
            diff = 0.0
            for k in range(30):
                g = rng.normal(size=6) * (1 + (k % 3 == 0)) + 0.3
                with np.errstate(invalid="ignore"):
                    p, sr = ref.step(p, g, sr)
                    q, so = other.step(q, g, so)
                diff = max(diff, float(np.max(np.abs(p - q))),
                           *(float(np.max(np.abs(sr[k2] - so[k2]))) for k2 in sr if k2 in so))
            assert diff > 1e-9, (name, var.label)


def test_derivations_check():
    from derive.catalogue import CATALOGUE

    mine = {k: v for k, v in CATALOGUE.items() if v[1].startswith("rules.adam_family_derivations:")}
    assert len(mine) == 5
    for key, (title, ref) in mine.items():
        module, fn = ref.split(":")
        d = getattr(ders, fn)()
        c = d.check()
        assert c.ok and d.name == key and d.title == title, (key, c.summary())
        assert c.count("proved") >= 3 and all(r.status in ("proved", "given") for r in c.results), key


def test_derived_numbers():
    x_max = ders.nadam_frozen().results["x_max"]
    assert x_max.subs(ders.mu, ders.beta1).subs(ders.beta1, sp.Rational(9, 10)) == sp.Rational(95, 7)
    rho = sp.lambdify((rules.beta2, sp.Symbol("t", positive=True)), ders.radam_threshold().results["rho"])
    assert [next(t for t in range(1, 50) if rho(0.999, t) > th) for th in (4, 5)] == [5, 6]
    r5 = float(ders.radam_threshold().results["r_5"])
    assert r5 == pytest.approx(math.sqrt(0.995998 * 2.995998 * 1999 / (1995 * 1997 * 4.995998)), rel=1e-5)


@pytest.mark.parametrize("fn", [checks.frozen_threshold, checks.conventions])
def test_checks_pass(fn):
    rows = fn()
    assert rows and all(r.status == "pass" for r in rows), [(r.check, r.error, r.detail) for r in rows]


# -- verify-impl ----------------------------------------------------------------------------
@pytest.mark.parametrize("spec,name", [("numeric.optimizers.adam_family:nadam", "nadam"),
                                       ("numeric.optimizers.adam_family:radam", "radam"),
                                       ("numeric.optimizers.adam_family:adamax", "adamax"),
                                       ("numeric.optimizers.adam_family:lion", "lion"),
                                       (f"{FIXTURES}:nadam", "nadam"), (f"{FIXTURES}:radam", "radam"),
                                       (f"{FIXTURES}:adamax", "adamax"), (f"{FIXTURES}:lion", "lion")])
def test_verify_impl_agrees_with_correct_implementations(spec, name):
    rep = verify(spec, name, steps=STEPS)
    assert rep["agree"] is True and not rep["not_exercised"]


@pytest.mark.parametrize("fn,rule,label,kind,step", [
    ("nadam_optax", "nadam", "schedule-constant", "convention", 1),
    ("radam_paper", "radam", "threshold-4", "convention", 5),
    ("radam_optax", "radam", "eps-outside", "convention", 6),
    ("adamax_keras", "adamax", "eps-denominator", "convention", 1),
    ("adamax_betas_swapped", "adamax", "betas-swapped", "mistake", 1),
    ("lion_coupled", "lion", "decay-coupled", "mistake", 1),
    ("lion_decay_without_lr", "lion", "decay-decoupled", "convention", 1),
])
def test_ported_implementations_name_their_convention(fn, rule, label, kind, step):
    rep = verify(f"{FIXTURES}:{fn}", rule, steps=STEPS)
    assert rep["agree"] is False
    cause = rep["likely_cause"]
    assert cause["kind"] == "match" and cause["matches"] == [label]
    assert rep["first_divergence"]["step"] == step
    spec = optimizers()[rule]
    conv = {k: v[0] for k, v in spec.conventions.items()}
    assert [v.kind for v in spec.variants(spec.options(spec.defaults, conv)) if v.label == label] == [kind]


@pytest.mark.parametrize("fn,rule,setting", [("nadam_optax", "nadam", "schedule=constant"),
                                             ("radam_paper", "radam", "threshold=4"),
                                             ("radam_optax", "radam", "eps_mode=outside"),
                                             ("adamax_keras", "adamax", "eps_mode=denominator"),
                                             ("lion_decay_without_lr", "lion", "decay=decoupled")])
def test_the_convention_set_on_the_reference_makes_the_port_agree(fn, rule, setting):
    assert verify(f"{FIXTURES}:{fn}", rule, settings=(setting,), steps=STEPS)["agree"] is True
