"""Adagrad, Adadelta, ASGD, Rprop: the hand-written optimizers against torch.optim in float64 (params
and every state entry, each step), the symbolic rules, the derivations, the checks and verify-impl."""
import math

import numpy as np
import pytest
import torch

from derive.rules import classic_derivations as ders
from derive.rules.zoo import optimizers
from numeric.optimizers import ASGD, Adadelta, Adagrad, Rprop, adadelta, adagrad, asgd, rprop
from verify.checks.zoo import classic as checks
from verify.implementation import problems, verify

FIXTURES = "tests/fixtures/zoo/classic_ports.py"
SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
STEPS = 100  # verify-impl steps per problem for the ported fixtures (each diverges at step 1)


def _gradients(shapes, steps, seed):
    """Per step, one gradient per shape: a per-coordinate drift (so signs persist for a while: Rprop's
    step sizes reach their maximum) plus noise (sign flips), every 5th step an exact zero at one entry."""
    rng = np.random.default_rng(seed)
    drift = [rng.normal(size=s) for s in shapes]
    out = []
    for k in range(steps):
        gk = []
        for s, d in zip(shapes, drift):
            x = np.asarray(d + 0.8 * rng.normal(size=s) * (1 + 2 * (k % 4 == 0)), dtype=float)
            if k % 5 == 2:
                x.reshape(-1)[0] = 0.0
            gk.append(x)
        out.append(gk)
    return out


def _against_torch(opt, torch_cls, kwargs, shapes=SHAPES, steps=30, seed=0):
    """Run the hand-written optimizer on a list of arrays and torch on the same tensors in one param group;
    compare params and every torch state entry after each step.  Returns the hand-written states seen."""
    rng = np.random.default_rng(seed + 100)
    params = [rng.normal(size=s) for s in shapes]
    tensors = [torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True) for p in params]
    topt = torch_cls(tensors, **kwargs)
    state = opt.init(params)
    seen = []
    for gk in _gradients(shapes, steps, seed):
        for tt, g in zip(tensors, gk):
            tt.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        params, state = opt.step(params, gk, state)
        seen.append(state)
        for tt, p, s in zip(tensors, params, state):
            np.testing.assert_allclose(p, tt.detach().numpy(), rtol=1e-12, atol=1e-14)
            assert set(topt.state[tt]) == set(s)
            for key, val in topt.state[tt].items():
                np.testing.assert_allclose(np.asarray(s[key], float), val.detach().numpy(), rtol=1e-12, atol=1e-14,
                                           err_msg=key)
    return seen


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # ASGD's eta/mu and every "step" follow the default dtype
    yield
    torch.set_default_dtype(old)


# -- torch comparisons ----------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"lr": 0.1, "lr_decay": 0.2}, {"lr": 0.1, "weight_decay": 0.3},
                                {"initial_accumulator_value": 0.5, "eps": 1e-3},
                                {"lr": 0.05, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.2,
                                 "eps": 0.0}])
def test_adagrad_matches_torch(kw):
    _against_torch(adagrad(**kw), torch.optim.Adagrad, kw)


@pytest.mark.parametrize("kw", [{}, {"lr": 0.3}, {"weight_decay": 0.2}, {"rho": 0.5, "eps": 1e-3},
                                {"lr": 0.5, "rho": 0.0, "eps": 1e-4, "weight_decay": 0.1}, {"rho": 1.0}])
def test_adadelta_matches_torch(kw):
    _against_torch(adadelta(**kw), torch.optim.Adadelta, kw)


@pytest.mark.parametrize("kw", [{}, {"lr": 0.05, "t0": 3.0}, {"lr": 0.05, "lambd": 0.5, "alpha": 0.5, "t0": 0.0},
                                {"lr": 0.02, "lambd": 0.1, "alpha": 1.0, "t0": 10.0, "weight_decay": 0.2}])
def test_asgd_matches_torch(kw):
    seen = _against_torch(asgd(**kw), torch.optim.ASGD, kw)
    averaging = any(s[0]["mu"] < 1 for s in seen)
    assert averaging == (kw.get("t0", 1e6) < 30)  # the averaging branch ran exactly when t0 is small


@pytest.mark.parametrize("kw", [{}, {"lr": 0.01, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05)},
                                {"lr": 2.0, "step_sizes": (1e-3, 0.5)}, {"lr": 1e-4, "step_sizes": (1e-3, 1.0)},
                                {"lr": 0.1, "etas": (0.9, 1.01), "step_sizes": (0.0, 0.2)}])
def test_rprop_matches_torch(kw):
    seen = _against_torch(rprop(**kw), torch.optim.Rprop, kw, steps=40)
    sizes = np.concatenate([np.ravel(s["step_size"]) for step in seen for s in step])
    prevs = np.concatenate([np.ravel(s["prev"]) for step in seen for s in step])
    assert (prevs == 0).any()  # the sign-change branch ran (the gradient zeroed)
    if "step_sizes" in kw and kw != {"lr": 0.1, "etas": (0.9, 1.01), "step_sizes": (0.0, 0.2)}:
        lo, hi = kw["step_sizes"]
        assert (sizes == hi).any() and (sizes == lo).any()  # both clamps ran


def test_single_arrays_and_0d_match_torch():
    for shape in [(), (7,)]:
        _against_torch(adagrad(lr=0.1), torch.optim.Adagrad, {"lr": 0.1}, shapes=[shape])
        _against_torch(rprop(), torch.optim.Rprop, {}, shapes=[shape])


# -- closed forms by hand -------------------------------------------------------------------
def test_rprop_by_hand():
    opt = rprop(lr=0.1, etas=(0.5, 1.2), step_sizes=(1e-6, 50))
    p, s = np.array([0.0]), opt.init(np.array([0.0]))
    moves = []
    for g in [1.0, 1.0, 1.0, -1.0, 1.0]:
        q, s = opt.step(p, np.array([g]), s)
        moves.append(float(q[0] - p[0]))
        p = q
    # 0.1, 0.12, 0.144 down; the flip halves the size to 0.072 and skips; then product 0: 0.072
    np.testing.assert_allclose(moves, [-0.1, -0.12, -0.144, 0.0, -0.072], rtol=1e-14)


def test_adagrad_and_asgd_by_hand():
    p, s = adagrad(lr=0.1, lr_decay=0.5).step(np.array([1.0]), np.array([3.0]), adagrad(lr=0.1).init(np.array([1.0])))
    np.testing.assert_allclose(p, 1.0 - 0.1 * 3.0 / (3.0 + 1e-10), rtol=1e-15)
    p2, _ = adagrad(lr=0.1, lr_decay=0.5).step(p, np.array([4.0]), s)  # lr / (1 + 0.5), sum 9 + 16
    np.testing.assert_allclose(p2, p - 0.1 / 1.5 * 4.0 / (5.0 + 1e-10), rtol=1e-15)
    opt = asgd(lr=0.1, lambd=0.2, alpha=0.5, t0=0.0)
    q, s = opt.step(np.array([2.0]), np.array([1.0]), opt.init(np.array([2.0])))
    np.testing.assert_allclose(q, 2.0 * (1 - 0.02) - 0.1, rtol=1e-15)
    assert s["eta"] == pytest.approx(0.1 / math.sqrt(1 + 0.02)) and s["mu"] == 1.0 and s["ax"][0] == q[0]


# -- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw,name", [
    (Adagrad, {"lr": 0.0}, "lr"), (Adagrad, {"lr_decay": -1}, "lr_decay"), (Adagrad, {"eps": math.nan}, "eps"),
    (Adagrad, {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    (Adagrad, {"eps_mode": "in"}, "eps_mode"), (Adadelta, {"rho": 1.5}, "rho"), (Adadelta, {"eps": 0.0}, "eps"),
    (Adadelta, {"weight_decay": -1}, "weight_decay"), (ASGD, {"lambd": -1}, "lambd"), (ASGD, {"alpha": -1}, "alpha"),
    (ASGD, {"t0": math.inf}, "t0"), (Rprop, {"etas": (1.2, 0.5)}, "etas"), (Rprop, {"etas": 0.5}, "etas"),
    (Rprop, {"step_sizes": (1.0, 0.1)}, "step_sizes"), (Rprop, {"clamp": "never"}, "clamp"),
    (Rprop, {"zero_after_flip": 1}, "zero_after_flip"),
])
def test_hyperparameters_validated(cls, kw, name):
    with pytest.raises(ValueError, match=name):
        cls(**kw)


def test_pure_steps_and_bad_state():
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    for opt in (adagrad(), adadelta(), asgd(), rprop()):
        s = opt.init(p)
        copy = {k: np.array(v, copy=True) for k, v in s.items()}
        opt.step(p, g, s)
        assert all(np.array_equal(np.asarray(s[k]), copy[k]) for k in s)
        with pytest.raises(ValueError, match="state"):
            opt.step(p, g, {})


# -- rules, derivations, checks -------------------------------------------------------------
def test_lambdified_rules_equal_the_handwritten_ones():
    rows = checks.lambdified_vs_handwritten()
    assert [r.check.split("/")[1] for r in rows] == ["adagrad", "adadelta", "asgd", "rprop"]
    assert all(r.status == "pass" and r.error < 1e-13 for r in rows)


def test_every_variant_is_a_different_map():
    rng = np.random.default_rng(5)
    for name in ("adagrad", "adadelta", "asgd", "rprop"):
        spec = optimizers()[name]
        values = dict(spec.defaults)
        for _, changes in spec.plans:  # every branch on at once (S0 = 0.3: not the 0.1 a variant fixes)
            values.update(changes)
        values.update({"initial_accumulator_value": 0.3} if name == "adagrad" else {})
        sym = spec.symbolic(values)
        conv = {k: v[0] for k, v in spec.conventions.items()}
        ref = spec.rule(values, conv).lambdify(**sym)
        for var in spec.variants(spec.options(values, conv)):
            other = var.rule(name).lambdify(**var.hyperparameters(sym))
            p = q = rng.normal(size=6)
            sr, so = ref.init(p), other.init(p)
            diff = 0.0
            for k in range(30):
                g = rng.normal(size=6) * (1 + (k % 3 == 0)) + 0.3
                p, sr = ref.step(p, g, sr)
                q, so = other.step(q, g, so)
                diff = max(diff, float(np.max(np.abs(p - q))))
            assert diff > 1e-9, (name, var.label)


def test_derivations_check():
    from derive.catalogue import CATALOGUE

    mine = {k: v for k, v in CATALOGUE.items() if v[1].startswith("rules.classic_derivations:")}
    assert len(mine) == 5
    for key, (title, ref) in mine.items():
        d = getattr(ders, ref.split(":")[1])()
        c = d.check()
        assert c.ok and d.name == key and d.title == title, (key, c.summary())
        assert all(r.status == "proved" for r in c.results), key


@pytest.mark.parametrize("fn", [checks.first_steps, checks.adagrad_threshold, checks.asgd_average,
                                checks.rprop_crossing])
def test_checks_pass(fn):
    rows = fn()
    assert rows and all(r.status == "pass" for r in rows), [(r.check, r.error, r.detail) for r in rows]


# -- verify-impl ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["adagrad", "adadelta", "asgd", "rprop"])
def test_verify_impl_agrees_with_the_handwritten(name):
    rep = verify(f"numeric.optimizers.classic:{name}", name)
    assert rep["agree"] is True and not rep["not_exercised"]


@pytest.mark.parametrize("fn,rule,settings,label,kind", [
    ("adagrad_optax_eps", "adagrad", (), "eps-inside", "convention"),
    ("adagrad_optax", "adagrad", ("eps=0.001",), "optax-adagrad", "convention"),
    ("asgd_current_step", "asgd", (), "schedule-current-step", "mistake"),
    ("rprop_documented", "rprop", (), "clamp-on-change", "convention"),
    ("rprop_minus", "rprop", (), "no-zero-after-flip", "convention"),
])
def test_ported_implementations_name_their_convention(fn, rule, settings, label, kind):
    rep = verify(f"{FIXTURES}:{fn}", rule, settings=settings, steps=STEPS)
    assert rep["agree"] is False
    cause = rep["likely_cause"]
    assert cause["kind"] == "match" and cause["matches"] == [label]
    assert {v["label"]: v for v in rep["variants"]}[label]["matches"]
    assert [v.kind for v in optimizers()[rule].variants({}) if v.label == label] == [kind]


def test_optax_adagrad_base_is_explained_by_both_of_its_conventions():
    # at eps = 1e-10 and S >= 0.1 eps inside or outside the root differ by < 1e-9: both variants fit
    rep = verify(f"{FIXTURES}:adagrad_optax", "adagrad", steps=STEPS)
    assert rep["likely_cause"]["matches"] == ["initial-accumulator-0.1", "optax-adagrad"]


def test_zeiler_adadelta_is_lr_ignored_and_the_paper():
    rep = verify(f"{FIXTURES}:adadelta_zeiler", "adadelta", steps=STEPS)
    assert rep["agree"] is False and rep["configuration"] == "lr"
    assert rep["likely_cause"]["matches"] == ["lr-ignored", "zeiler-no-lr"]


def test_optax_eps_first_divergence_by_hand():
    rep = verify(f"{FIXTURES}:adagrad_optax_eps", "adagrad", steps=STEPS)
    d = rep["first_divergence"]
    assert (d["configuration"], d["step"], d["entry"]) == ("base", 1, "params")
    p = problems()[d["problem"]]
    theta0, g = p.theta0[d["index"]], p.grad(p.theta0, 1)[d["index"]]
    assert d["expected"] == pytest.approx(theta0 - 1e-2 * g / (abs(g) + 1e-10), rel=1e-12)
    assert d["got"] == pytest.approx(theta0 - 1e-2 * g / math.sqrt(g * g + 1e-10), rel=1e-12)


@pytest.mark.parametrize("fn,rule,setting", [("adagrad_optax_eps", "adagrad", "eps_mode=inside"),
                                             ("rprop_documented", "rprop", "clamp=on-change")])
def test_the_convention_set_on_the_reference_makes_the_port_agree(fn, rule, setting):
    assert verify(f"{FIXTURES}:{fn}", rule, settings=(setting,), steps=STEPS)["agree"] is True
