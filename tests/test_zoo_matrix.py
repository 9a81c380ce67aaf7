"""Adafactor and Muon: the hand-written optimizers against torch.optim in float64, the symbolic rules
against the hand-written ones, the Newton-Schulz derivation against the matrix iteration, and
verify-impl on ported implementations."""
import math

import numpy as np
import pytest
import torch

import torch.optim._muon as torch_muon
from numeric.optimizers import adafactor, muon
from numeric.optimizers.matrix import CUBIC_NS_COEFFICIENTS, muon_lr_scale, newton_schulz

F64 = torch.float64
TORCH_NS = torch_muon._zeropower_via_newtonschulz  # torch's own iteration (casts to bfloat16 first)


def _float64_newton_schulz(grad, ns_coefficients, ns_steps, eps):
    """torch's _zeropower_via_newtonschulz with its one cast, ``grad.bfloat16()``, made the identity:
    the rest of torch's code (transpose, normalisation, addmm iterations) runs as it is, in float64."""
    saved = torch.Tensor.bfloat16
    torch.Tensor.bfloat16 = lambda self, *args, **kwargs: self.clone()
    try:
        return TORCH_NS(grad, ns_coefficients, ns_steps, eps)
    finally:
        torch.Tensor.bfloat16 = saved


@pytest.fixture
def muon_float64(monkeypatch):
    monkeypatch.setattr(torch_muon, "_zeropower_via_newtonschulz", _float64_newton_schulz)


def _grads(rng, shapes, steps, scales):
    return [[rng.normal(size=s) * scales[k] for s in shapes] for k in range(steps)]


def _against_torch(torch_cls, kwargs, hand, shapes, grads, params=None, seed=0, rtol=1e-12):
    """Feed the same gradients to torch (float64) and the hand-written optimizer; compare the
    parameters and every state entry after each step.  Returns the worst relative error."""
    rng = np.random.default_rng(seed)
    ps = params if params is not None else [rng.normal(size=s) for s in shapes]
    tensors = [torch.tensor(p, dtype=F64, requires_grad=True) for p in ps]
    opt = torch_cls(tensors, **kwargs)
    single = len(ps) == 1
    cur = ps[0].copy() if single else [p.copy() for p in ps]
    state = hand.init(cur)
    worst = 0.0
    for k, gs in enumerate(grads):
        for t, g in zip(tensors, gs):
            t.grad = torch.tensor(g, dtype=F64)
        opt.step()
        cur, state = hand.step(cur, gs[0] if single else gs, state)
        for i, (t, c, s) in enumerate(zip(tensors, [cur] if single else cur, [state] if single else state)):
            want = t.detach().numpy()
            err = np.max(np.abs(c - want)) / max(1.0, np.max(np.abs(want)))
            assert err <= rtol, f"step {k + 1}, param {i}: params differ by {err:.3g}"
            tstate = opt.state[t]
            assert set(s) == set(tstate), f"state keys {sorted(s)} vs torch's {sorted(tstate)}"
            for key, v in s.items():
                if key == "step":
                    assert v == int(tstate[key].item()) == k + 1
                    continue
                tv = tstate[key].numpy()
                assert tv.shape == np.shape(v), f"{key}: shape {np.shape(v)} vs torch's {tv.shape}"
                e = np.max(np.abs(v - tv)) / max(np.max(np.abs(tv)), 1e-300)
                assert e <= rtol, f"step {k + 1}, param {i}, {key} differs by {e:.3g}"
                worst = max(worst, e)
            worst = max(worst, err)
    return worst


# -------------------------------------------------------------------------------------------------
# Adafactor vs torch.optim.Adafactor
# -------------------------------------------------------------------------------------------------
ADAFACTOR_CASES = {
    "defaults": {},
    "weight_decay+lr": {"lr": 0.05, "weight_decay": 0.3},
    "d=1.5": {"d": 1.5, "lr": 0.2},
    "eps1=1e-3": {"eps": (1e-3, 1e-3)},
    "eps2=0.5, beta2_decay=-0.5": {"eps": (None, 0.5), "beta2_decay": -0.5},
    "beta2_decay=0": {"beta2_decay": 0.0, "weight_decay": 0.1},
}
SHAPES = {"0-d": [()], "1-D": [(7,)], "2-D": [(4, 5)], "3-D": [(2, 3, 4)], "list": [(5,), (3, 4), (2, 2, 3), ()]}


@pytest.mark.parametrize("case", list(ADAFACTOR_CASES))
@pytest.mark.parametrize("shapes", list(SHAPES))
def test_adafactor_matches_torch(case, shapes):
    kw = ADAFACTOR_CASES[case]
    rng = np.random.default_rng(1)
    steps = 12
    scales = 10.0 ** rng.uniform(-6, 1, size=steps)  # tiny gradients (eps1 clamps) and jumps (clipping)
    grads = _grads(rng, SHAPES[shapes], steps, scales)
    _against_torch(torch.optim.Adafactor, kw, adafactor(**kw), SHAPES[shapes], grads)


def test_adafactor_branches_are_exercised():
    """The gradient sequence of the comparison reaches each branch: changing what the branch does changes
    the result (so agreeing with torch there is evidence, not a coincidence)."""
    rng = np.random.default_rng(1)
    steps = 12
    scales = 10.0 ** rng.uniform(-6, 1, size=steps)
    shapes = [(7,), (4, 5)]
    grads = _grads(rng, shapes, steps, scales)
    p0 = [np.random.default_rng(0).normal(size=s) for s in shapes]

    def final(opt, params=p0):
        p, s = [x.copy() for x in params], opt.init(params)
        for gs in grads:
            p, s = opt.step(p, gs, s)
        return np.concatenate([x.ravel() for x in p])

    base = final(adafactor(eps=(1e-3, 1e-3)))
    assert np.max(np.abs(final(adafactor(eps=(1e-3, 1e-3), d=1e9)) - base)) > 1e-3  # clipping was active
    assert np.max(np.abs(final(adafactor(eps=(0.0, 1e-3))) - base)) > 1e-6  # eps1 clamps
    small = [x * 1e-5 for x in p0]  # RMS(theta) < eps2: the max(eps2, RMS) branch
    assert np.max(np.abs(final(adafactor(eps=(None, 1e-3)), small) - final(adafactor(eps=(None, 0.0)), small))) > 1e-6


def test_adafactor_with_tiny_params_matches_torch():
    rng = np.random.default_rng(4)
    shapes = [(6,), (3, 4)]
    params = [rng.normal(size=s) * 1e-6 for s in shapes]
    grads = _grads(rng, shapes, 6, np.ones(6))
    _against_torch(torch.optim.Adafactor, {"weight_decay": 0.5}, adafactor(weight_decay=0.5), shapes, grads, params)


def test_adafactor_state_shapes_and_validation():
    opt = adafactor()
    assert set(opt.init(np.zeros(3))) == {"step", "variance"}
    s = opt.init(np.zeros((2, 3, 4)))
    assert s["row_var"].shape == (2, 3, 1) and s["col_var"].shape == (2, 1, 4)
    assert opt.eps1 == np.finfo(np.float64).eps
    for kw, name in [({"lr": 0.0}, "lr"), ({"beta2_decay": 0.1}, "beta2_decay"), ({"eps": (-1.0, 1e-3)}, "eps[0]"),
                     ({"eps": (None, -1.0)}, "eps[1]"), ({"eps": 1e-3}, "eps"), ({"d": 0.5}, "d"),
                     ({"weight_decay": -0.1}, "weight_decay"), ({"eps1_mode": "x"}, "eps1_mode"),
                     ({"rho_max": "x"}, "rho_max"), ({"decay_scale": "x"}, "decay_scale")]:
        with pytest.raises(ValueError, match=name.replace("[", r"\[").replace("]", r"\]")):
            adafactor(**kw)


def test_adafactor_paper_epsilon_by_hand():
    """eps1_mode="add" on one coordinate, first step, by hand: v = g^2 + eps1, U = g/sqrt(v), no clipping as
    |U| < 1, alpha = max(eps2, |theta|) min(lr, 1)."""
    theta, g, e1 = np.array([2.0]), np.array([1e-3]), 1e-6
    p, s = adafactor(eps=(e1, 1e-3), eps1_mode="add").step(theta, g, adafactor(eps1_mode="add").init(theta))
    assert s["variance"][0] == pytest.approx(1e-6 + e1, rel=1e-14)
    assert p[0] == pytest.approx(2.0 - 2.0 * 1e-2 * 1e-3 / math.sqrt(2e-6), rel=1e-14)


# -------------------------------------------------------------------------------------------------
# Muon vs torch.optim.Muon
# -------------------------------------------------------------------------------------------------
MUON_CASES = {
    "defaults": {},
    "no-nesterov": {"nesterov": False, "lr": 0.02},
    "original": {"adjust_lr_fn": "original", "lr": 0.05, "weight_decay": 0.0},
    "match_rms_adamw": {"adjust_lr_fn": "match_rms_adamw", "lr": 0.01, "weight_decay": 0.3},
    "momentum=0": {"momentum": 0.0},
    "cubic NS": {"ns_coefficients": CUBIC_NS_COEFFICIENTS, "ns_steps": 12, "momentum": 0.5},
    "eps clamps": {"eps": 10.0, "lr": 0.1},
}
MUON_SHAPES = {"4x3": [(4, 3)], "3x5": [(3, 5)], "6x6": [(6, 6)], "list": [(4, 3), (3, 5), (2, 2)]}


@pytest.mark.parametrize("case", list(MUON_CASES))
@pytest.mark.parametrize("shapes", list(MUON_SHAPES))
def test_muon_matches_torch_in_float64(muon_float64, case, shapes):
    kw = MUON_CASES[case]
    rng = np.random.default_rng(2)
    grads = _grads(rng, MUON_SHAPES[shapes], 10, 10.0 ** rng.uniform(-2, 1, size=10))
    _against_torch(torch.optim.Muon, kw, muon(**kw), MUON_SHAPES[shapes], grads, rtol=1e-11)


def test_muon_sum_buffer_same_params_scaled_state(muon_float64):
    """buffer="sum" (torch's docstring formula) gives torch's parameters (the normalisation removes the
    factor 1 - mu) and a buffer 1/(1 - mu) times torch's."""
    rng = np.random.default_rng(3)
    shapes = [(4, 3)]
    grads = _grads(rng, shapes, 8, np.ones(8))
    p0 = rng.normal(size=(4, 3))
    t = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Muon([t], lr=0.05, momentum=0.9)
    hand = muon(lr=0.05, momentum=0.9, buffer="sum")
    p, s = p0.copy(), hand.init(p0)
    for (g,) in grads:
        t.grad = torch.tensor(g)
        opt.step()
        p, s = hand.step(p, g, s)
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s["momentum_buffer"] * (1 - 0.9), opt.state[t]["momentum_buffer"].numpy(),
                                   rtol=1e-12)


def test_bfloat16_effect_of_torch_muon():
    """torch's real Muon step (Newton-Schulz in bfloat16) vs the same step in float64: the relative Frobenius
    difference of the update, measured 1.3-3.4 % on these 15 steps (mean 1.8 %; bfloat16 keeps 8 significant
    bits, unit roundoff 2^-8 = 0.4 %, over 5 iterations), far above float64 rounding, well below the update;
    cosine between the two updates >= 0.9994.  Deterministic on CPU, so the bounds are a regression check."""
    rng = np.random.default_rng(5)
    rel = []
    for shape in [(4, 3), (16, 16), (64, 32)]:
        for _ in range(5):
            p0, g = rng.normal(size=shape), rng.normal(size=shape)
            steps = {}
            for label in ("bf16", "f64"):
                t = torch.tensor(p0, requires_grad=True)
                opt = torch.optim.Muon([t], lr=0.02, weight_decay=0.0)
                t.grad = torch.tensor(g)
                if label == "f64":
                    torch_muon._zeropower_via_newtonschulz = _float64_newton_schulz
                try:
                    opt.step()
                finally:
                    torch_muon._zeropower_via_newtonschulz = TORCH_NS
                steps[label] = t.detach().numpy() - p0
            ref = muon(lr=0.02, weight_decay=0.0)
            mine = ref.step(p0, g, ref.init(p0))[0] - p0
            np.testing.assert_allclose(steps["f64"], mine, rtol=1e-11, atol=1e-15)
            rel.append(np.linalg.norm(steps["bf16"] - steps["f64"]) / np.linalg.norm(steps["f64"]))
    assert 0.01 < min(rel) and max(rel) < 0.04, (min(rel), max(rel))


def test_muon_validation_and_shapes():
    with pytest.raises(ValueError, match="2-D"):
        muon().init(np.zeros(3))
    with pytest.raises(ValueError, match="2-D"):
        muon().init([np.zeros((2, 2)), np.zeros((2, 2, 2))])
    for kw, name in [({"lr": 0.0}, "lr"), ({"weight_decay": -1.0}, "weight_decay"), ({"momentum": 1.0}, "momentum"),
                     ({"momentum": -0.1}, "momentum"), ({"nesterov": 1}, "nesterov"),
                     ({"ns_coefficients": (1.0, 2.0)}, "ns_coefficients"), ({"eps": -1.0}, "eps"),
                     ({"ns_steps": 100}, "ns_steps"), ({"ns_steps": 2.5}, "ns_steps"),
                     ({"adjust_lr_fn": "x"}, "adjust_lr_fn"), ({"buffer": "x"}, "buffer"), ({"decay": "x"}, "decay")]:
        with pytest.raises(ValueError, match=name):
            muon(**kw)
    assert muon_lr_scale((8, 2), None) == 2.0 and muon_lr_scale((2, 8), "original") == 1.0
    assert muon_lr_scale((9, 4), "match_rms_adamw") == pytest.approx(0.6)


def test_newton_schulz_acts_on_singular_values():
    """Closed form: NS(G) = U p^k(Sigma / ||G||_F) V^T with p(s) = a s + b s^3 + c s^5, checked against the
    SVD of G (tall and wide, quintic and cubic)."""
    rng = np.random.default_rng(6)
    for shape, coeffs, k in [((5, 3), (3.4445, -4.7750, 2.0315), 5), ((3, 6), (1.5, -0.5, 0.0), 9),
                             ((4, 4), (3.4445, -4.7750, 2.0315), 2)]:
        g = rng.normal(size=shape)
        u, s, vt = np.linalg.svd(g, full_matrices=False)
        x = s / np.linalg.norm(g)
        a, b, c = coeffs
        for _ in range(k):
            x = a * x + b * x**3 + c * x**5
        np.testing.assert_allclose(newton_schulz(g, coeffs, k), (u * x) @ vt, atol=1e-13)


# -------------------------------------------------------------------------------------------------
# The symbolic rules, the derivations and the ldyn verify checks
# -------------------------------------------------------------------------------------------------
def test_verify_checks_pass():
    from verify.checks.zoo import matrix as checks

    results = []
    for f in (checks.lambdified_vs_handwritten, checks.newton_schulz_singular_values, checks.newton_schulz_bounds,
              checks.muon_momentum_scale, checks.adafactor_factored):
        results += f()
    assert len(results) == 11
    assert all(r.status == "pass" for r in results), [(r.check, r.error, r.detail) for r in results if r.status != "pass"]


def test_lambdified_rules_on_lists_and_defaults():
    """The rules' defaults are torch's, and lambdify runs whole arrays: Muon on a 3 x 5 matrix, Adafactor on a
    vector, against the hand-written optimizers at the defaults."""
    from derive.rules.matrix import adafactor_rule, muon_rule

    rng = np.random.default_rng(7)
    for sym, hand, shape in ((muon_rule().lambdify(), muon(), (3, 5)), (adafactor_rule().lambdify(), adafactor(), (6,))):
        p = rng.normal(size=shape)
        sh, ss = hand.init(p), sym.init(p)
        q = p.copy()
        for _ in range(5):
            g = rng.normal(size=shape)
            p, sh = hand.step(p, g, sh)
            q, ss = sym.step(q, g, ss)
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-15)


def test_derivations_are_proved_and_match_closed_forms():
    from derive.analysis.newton_schulz import muon_momentum_scale, newton_schulz
    from derive.catalogue import CATALOGUE
    from derive.rules.matrix import adafactor_factored

    assert {"newton-schulz", "muon-momentum-scale", "adafactor-factored"} <= set(CATALOGUE)
    for build in (newton_schulz, muon_momentum_scale, adafactor_factored):
        check = build().check()
        assert check.ok and check.count("proved") >= 3 and check.count("spot-checked") == 0, check.summary()
    r = newton_schulz().results
    a, b, c = 3.4445, -4.7750, 2.0315
    roots = np.roots([c, 0, b, 0, a - 1, 0])  # p(s) - s = 0, independently of SymPy
    positive = sorted(x.real for x in roots if abs(x.imag) < 1e-12 and x.real > 0)
    np.testing.assert_allclose([float(x) for x in r["fixed_points"]], positive, rtol=1e-12)
    grid = np.linspace(0, 1, 1_000_001)
    assert float(r["upper_bound"]) == pytest.approx(np.max(a * grid + b * grid**3 + c * grid**5), rel=1e-10)
    assert float(r["trap_lower"]) == pytest.approx(0.681831462177185, rel=1e-12)
    assert r["p_at_1"] * 1000 == 701  # exact: a SymPy Rational


def test_analyses_refuse_whole_array_rules_in_one_line():
    import sympy as sp

    from derive.analysis import linear, rule_analysis
    from derive.rules.matrix import adafactor_rule, muon_rule
    from derive.update_rule import NotCoordinatewise

    for rule, func in ((muon_rule(), "orth"), (adafactor_rule(), "rms")):
        for call in (rule.jacobian, rule.fixed_points, rule.continuous_limit, lambda: rule.iteration_matrix(sp.S(2))):
            with pytest.raises(NotCoordinatewise) as exc:
                call()
            msg = str(exc.value)
            assert "\n" not in msg and f"{func}(...)" in msg and "whole array" in msg
        # the derivation (ldyn derive, notes/rule-NAME) states the update and says why there is no analysis
        d = rule_analysis.rule_derivation(rule)
        assert [s.kind for s in d.steps] == ["given", "given"] and d.check().ok
        assert f"{func}(...)" in d.steps[1].reason and "whole array" in d.steps[1].reason
        with pytest.raises(linear.NotLinearizable, match="whole array"):
            linear.linearize(rule)
        assert rule.whole_array()[0][0] == func and rule.nonsmooth()[0][0] == func


def test_torch_entries():
    from derive.rules import zoo
    from derive.rules.matrix import MACHINE_EPS, TORCH

    assert set(TORCH) == {"adafactor", "muon"}
    assert TORCH["muon"].param_shape == (4, 3) and TORCH["adafactor"].param_shape is None
    ada, mu = TORCH["adafactor"], TORCH["muon"]
    assert ada.symbolic(ada.defaults)["eps1"] == MACHINE_EPS == np.finfo(np.float64).eps
    assert ada.check({**ada.defaults, "d": 0.5}).startswith("d:") and ada.check(ada.defaults) is None
    assert mu.check({**mu.defaults, "ns_steps": 2.5}).startswith("ns_steps:") and mu.check(mu.defaults) is None
    assert set(mu.symbolic(mu.defaults)) == set(mu.rule(mu.defaults).hyper)
    # every variant computes something else than the reference, on a step where its convention acts
    rng = np.random.default_rng(8)
    for entry, shape, moved in ((ada, (6,), {"lr": 0.05, "weight_decay": 0.1}), (mu, (4, 3), {"lr": 0.02})):
        values = {**entry.defaults, **moved}  # off the defaults, so that every convention acts
        ref = entry.rule(values)
        sym = entry.symbolic(values)
        p = rng.normal(size=shape) * 1e-4
        grads = [rng.normal(size=shape) * s for s in (1e-9, 1.0, 30.0)]
        conv = {k: v[0] for k, v in entry.conventions.items()}

        def run(rule, h):
            opt = rule.lambdify(**{k: h[k] for k in rule.hyper})
            q, s = p.copy(), opt.init(p)
            for g in grads:
                q, s = opt.step(q, g, s)
            return np.concatenate([q.ravel(), *[np.ravel(v) for v in s.values()]])

        base = run(ref, sym)
        for v in entry.variants(entry.options(values, conv)):
            assert v.kind in zoo.KINDS and v.description
            assert np.max(np.abs(run(v.rule(entry.name), v.hyperparameters(sym)) - base)) > 1e-12, v.label


def test_ported_fixtures_compute_the_conventions_they_name():
    """tests/fixtures/zoo/matrix_ports.py (for ldyn verify-impl): the correct ports equal the hand-written
    optimizers, the wrong ones equal the hand-written optimizer with the named convention."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parent / "fixtures" / "zoo" / "matrix_ports.py"
    spec = importlib.util.spec_from_file_location("matrix_ports", path)
    ports = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ports)
    rng = np.random.default_rng(9)
    kw = {"lr": 0.05, "weight_decay": 0.1}
    pairs = [(ports.adafactor(**kw), adafactor(**kw), (7,)),
             (ports.adafactor_paper_eps(**kw), adafactor(**kw, eps1_mode="add"), (7,)),
             (ports.adafactor_paper_step(**kw), adafactor(**kw, rho_max="paper"), (7,)),
             (ports.muon(lr=0.02), muon(lr=0.02), (4, 3)),
             (ports.muon_moonshot(lr=0.02), muon(lr=0.02, adjust_lr_fn="match_rms_adamw"), (4, 3)),
             (ports.muon_cubic(lr=0.02), muon(lr=0.02, ns_coefficients=CUBIC_NS_COEFFICIENTS), (4, 3))]
    for port, hand, shape in pairs:
        p = q = rng.normal(size=shape)
        sp_, sh = port.init(p), hand.init(q)
        for _ in range(10):
            g = rng.normal(size=shape) * 10.0 ** rng.uniform(-6, 1)
            (p, sp_), (q, sh) = port.step(p, g, sp_), hand.step(q, g, sh)
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
