"""The compiled element loop of the fused lambdify (derive/fused/jit.py, Numba) against the plain
``sympy.lambdify`` path (``fused=False``) on every catalogue rule that fuses, and against torch.optim for
Adam, AdamW and SGD at a size where the default picks it; IEEE specials (0/0, sqrt of a negative, inf)
where the NumPy code has them; the choice between the loop and the NumPy kernels (size, layout, the
``jit`` option); a loop Numba cannot compile falls back to the NumPy kernels."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import derive.fused.jit as jit
from derive.lambdified import LambdifiedOptimizer
from derive.rules.library import resolve
from tests.test_lambdified_fused import RULES, _settings, _torch_run, compare_with_plain


def _compiled(opt) -> dict:
    return {k: v for k, v in opt._fast.prog.loops.items()}


@pytest.mark.parametrize("name", RULES)
def test_jit_equals_plain_on_random_states(name):
    rule = resolve(name)
    rng = np.random.default_rng(11)
    for hyper in _settings(rule):
        opt = LambdifiedOptimizer(rule, rule.lambdify(**hyper).hyper, jit=True)
        compare_with_plain(rule, opt, rng, f"{name} {hyper} (jit)")
        loops = _compiled(opt)
        assert loops and all(v is not None for v in loops.values()), f"{name}: a loop did not compile"
        assert {m for _, m in loops} == {"inplace", "pure"}


def test_ieee_specials_as_the_plain_path():
    """0/0 (Adam with eps = 0 and v = 0), sqrt of a negative second moment (RMSprop), inf gradients:
    nan and inf in the same places, finite values equal."""
    cases = [("adam", dict(lr=0.01, eps=0.0), {"exp_avg_sq": 0.0, "exp_avg": 0.0}, 0.0),
             ("rmsprop", dict(lr=0.01), {"square_avg": -1.0}, 0.5),
             ("adam", dict(lr=0.01), {}, np.inf)]
    for name, hyper, fill, gval in cases:
        rule = resolve(name)
        base = rule.lambdify(**hyper)
        opt = LambdifiedOptimizer(rule, base.hyper, jit=True)
        plain = LambdifiedOptimizer(rule, base.hyper, fused=False)
        p = np.linspace(-1.0, 1.0, 8)
        g = np.full(8, gval)
        g[:4] = 0.25
        s, sp_ = opt.init(p), plain.init(p)
        for k, v in fill.items():
            s[k][4:] = v
            sp_[k][4:] = v
        with np.errstate(all="ignore"):
            want_p, want_s = plain.step(p, g, sp_)
            opt.step_(p, g, s)
        assert np.isnan(want_p).any() or np.isinf(want_p).any(), f"{name}: the case has no special value"
        # nan where nan, inf where inf (same sign), the rest to rounding
        np.testing.assert_allclose(p, want_p, rtol=1e-14, atol=0)
        for k in want_s:
            np.testing.assert_allclose(s[k], want_s[k], rtol=1e-14, atol=0)


@pytest.mark.parametrize("name,cls,kwargs", [
    ("adam", torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("adamw", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.05)),
    ("sgd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)),
])
def test_default_picks_the_loop_for_large_arrays_and_matches_torch(name, cls, kwargs, monkeypatch):
    calls = []
    from derive.fused import FusedStep

    real = FusedStep._jit
    monkeypatch.setattr(FusedStep, "_jit", lambda self, *a: calls.append(a[3][0].size) or real(self, *a))
    hyper = {k: v for k, v in kwargs.items() if k != "betas"}
    if "betas" in kwargs:
        hyper["beta1"], hyper["beta2"] = kwargs["betas"]
    opt = resolve(name).lambdify(**hyper)
    assert opt.jit is None
    rng = np.random.default_rng(12)
    n = jit.JIT_FROM
    p0 = rng.normal(size=n)
    grads = [rng.normal(size=n) * 10.0 ** rng.uniform(-2, 2) for _ in range(6)]
    p, s = p0.copy(), opt.init(p0)
    for g in grads:
        opt.step_(p, g, s)
    assert calls == [n] * len(grads)
    assert all(v is not None for v in _compiled(opt).values())
    np.testing.assert_allclose(p, _torch_run(cls, kwargs, p0, grads), rtol=1e-12, atol=1e-14)
    small = p0[: n - 1].copy()
    opt.step_(small, grads[0][: n - 1], opt.init(small))
    assert calls == [n] * len(grads), "below JIT_FROM the NumPy kernels run"


def test_jit_false_never_and_layouts_the_loop_cannot_take():
    """jit=False keeps the NumPy kernels; a non-contiguous pure step falls back to them; results agree."""
    rule = resolve("adam")
    base = rule.lambdify(lr=0.01, weight_decay=0.1)
    never = LambdifiedOptimizer(rule, base.hyper, jit=False)
    always = LambdifiedOptimizer(rule, base.hyper, jit=True)
    rng = np.random.default_rng(13)
    p = rng.normal(size=(300, 300))
    g = rng.normal(size=(300, 300))
    assert never._fast.use_jit is False and never._fast.jit_from == jit.JIT_FROM
    got_never, s_never = never.step(p, g, never.init(p))
    got_always, s_always = always.step(p, g, always.init(p))
    got_t, s_t = always.step(p.T, g.T, always.init(p.T))  # Fortran-ordered views: the NumPy kernels
    np.testing.assert_array_equal(got_never, got_always)
    np.testing.assert_array_equal(got_t, got_always.T)
    for k in s_never:
        np.testing.assert_array_equal(s_never[k], s_always[k])


def test_a_loop_numba_cannot_compile_falls_back(monkeypatch):
    good = "def kernel(n, S0):\n    for i in range(n):\n        S0[i] = 2.0 * S0[i]\n"
    assert jit.compile_loop(good, "good", 0, [False]) is not None
    assert jit.compile_loop(good.replace("2.0 * S0[i]", "object()"), "bad", 0, [False]) is None
    with monkeypatch.context() as m:  # installed but not importable (e.g. built against another NumPy)
        m.setitem(__import__("sys").modules, "numba", None)
        assert jit.compile_loop(good, "good", 0, [False]) is None
    rule = resolve("lion")
    base = rule.lambdify(lr=0.01)
    opt = LambdifiedOptimizer(rule, base.hyper, jit=True)
    plain = LambdifiedOptimizer(rule, base.hyper, fused=False)
    monkeypatch.setattr(jit, "compile_loop", lambda *a: None)
    opt._fast.prog.loops.clear()
    p = np.linspace(-1, 1, 50)
    g = np.cos(7 * p)
    got, _ = opt.step(p, g, opt.init(p))
    want, _ = plain.step(p, g, plain.init(p))
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert set(opt._fast.prog.loops.values()) == {None}
    opt._fast.prog.loops.clear()  # later tests compile for real


def test_bad_jit_option_and_missing_numba(monkeypatch):
    rule = resolve("adam")
    hyper = rule.lambdify(lr=0.01).hyper
    with pytest.raises(ValueError, match="jit must be None, True or False"):
        LambdifiedOptimizer(rule, hyper, jit="yes")
    monkeypatch.setattr("derive.lambdified._jit_available", lambda: False)
    with pytest.raises(ValueError, match=r"needs Numba: pip install 'learning-dynamics\[jit\]'"):
        LambdifiedOptimizer(rule, hyper, jit=True)
    assert LambdifiedOptimizer(rule, hyper).jit is None  # the default needs nothing
    import pickle

    clone = pickle.loads(pickle.dumps(LambdifiedOptimizer(rule, hyper, jit=False)))
    assert clone.jit is False


def test_elementwise_piecewise_with_logic_and_a_missing_branch():
    """A Piecewise over arrays with And/Or/Not conditions, and one with no branch for g = 0 (nan there)."""
    import sympy as sp

    from derive.update_rule import UpdateRule

    base = UpdateRule.from_text("name: base\nhyper: lr=0.1\nstate: m=0.2\nm = 0.9*m + g(theta)\ntheta = theta - lr*m\n")
    th, m = base.state
    lr, g = base.hyper["lr"], base.oracle(base.state[0])
    updates = {
        "logic": [sp.Piecewise((th - lr * g, sp.And(g > 0, m < 1)), (th + lr * m, sp.Or(g < -1, m > 0.5)), (th, True)),
                  sp.Piecewise((0.9 * m + g, sp.Not(g > 0.3)), (m, True))],
        "gap": [sp.Piecewise((th - lr * g, g > 0), (th + 1, g < 0)), m],
    }
    rng = np.random.default_rng(14)
    for name, update in updates.items():
        rule = UpdateRule(name, name, base.state, base.hyper, update, state_names=base.state_names, init=base.init,
                          defaults=base.defaults)
        opt = LambdifiedOptimizer(rule, {"lr": 0.1}, jit=True)
        plain = LambdifiedOptimizer(rule, {"lr": 0.1}, fused=False)
        p, m0, grads = rng.normal(size=400), rng.normal(size=400), rng.normal(size=400) * 2
        grads[:7] = 0.0
        got_p, got_s = opt.step(p, grads, {"m": m0})
        want_p, want_s = plain.step(p, grads, {"m": m0.copy()})
        assert all(v is not None for v in _compiled(opt).values())
        np.testing.assert_allclose(got_p, want_p, rtol=1e-15, atol=0)
        np.testing.assert_allclose(got_s["m"], want_s["m"], rtol=1e-15, atol=0)
        assert np.isnan(got_p).sum() == (7 if name == "gap" else 0)


@pytest.mark.parametrize("jit_option,n", [(None, jit.JIT_FROM), (True, 50)])
def test_read_only_inputs(jit_option, n):
    """Read-only grads (np.frombuffer, a memory map, another library's array) in step and step_, read-only
    params and state in step: the loop takes them as they are, with the plain path's values."""
    rule = resolve("adam")
    hyper = rule.lambdify(lr=0.01, weight_decay=0.1).hyper
    opt = LambdifiedOptimizer(rule, hyper, jit=jit_option)
    plain = LambdifiedOptimizer(rule, hyper, fused=False)
    rng = np.random.default_rng(15)
    p0 = rng.normal(size=n)
    g = np.frombuffer(rng.normal(size=n).tobytes())
    assert not g.flags.writeable
    s0 = opt.init(p0)
    opt.step_(p0, g, s0)  # a state with non-zero moments
    want_p, want_s = plain.step(p0, g, {**s0, "step": np.full(n, float(s0["step"]))})
    frozen = [p0.copy(), *(v.copy() for v in s0.values() if isinstance(v, np.ndarray))]
    for a in frozen:
        a.setflags(write=False)
    got_p, got_s = opt.step(frozen[0], g, {"exp_avg": frozen[1], "exp_avg_sq": frozen[2], "step": s0["step"]})
    q, s2 = p0.copy(), {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s0.items()}
    opt.step_(q, g, s2)
    for got, state in ((got_p, got_s), (q, s2)):
        np.testing.assert_allclose(got, want_p, rtol=1e-14, atol=1e-16)
        for k in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(state[k], want_s[k], rtol=1e-14, atol=1e-300)
    assert all(v is not None for v in _compiled(opt).values())


@pytest.mark.parametrize("n", [jit.JIT_FROM - 1, jit.JIT_FROM])
def test_the_bare_step_counter_in_an_array_expression(n):
    """m = m + (t - 1) g, the bare counter (step) times an array: t is a per-step coefficient for the NumPy
    kernels and the loop alike (the NumPy kernels named an undefined t)."""
    from derive.update_rule import UpdateRule

    rule = UpdateRule.from_text("name: tcoef\nhyper: lr=0.1\nstate: m=0\nm = m + (t - 1)*g(theta)\n"
                                "theta = theta - lr*m\n")
    for option in (None, False, True):
        opt = LambdifiedOptimizer(rule, {"lr": 0.1}, jit=option)
        p = np.zeros(n)
        s = opt.init(p)
        for _ in range(3):
            opt.step_(p, np.ones(n), s)
        # t is 1-based (derive.rule_text): t = 1, 2, 3 give m = 0, 1, 3 and θ = 0, -0.1, -0.4
        np.testing.assert_array_equal(s["m"], 3.0)
        np.testing.assert_allclose(p, -0.4, rtol=1e-15)


def test_signed_zeros_and_the_sqrt_fast_path_as_numpy():
    """NumPy's element semantics, not Numba's scalar ones: sign(-0.0) = +0.0 (1/sign(-0.0) = +inf),
    maximum/minimum of ±0 give the second operand, x ** 0.5 by a scalar is sqrt ((-inf) ** 0.5 = nan,
    (-0.0) ** 0.5 = -0.0); the loop agrees with the NumPy kernels bit for bit, signs of zeros included."""
    from derive.update_rule import UpdateRule

    cases = [("m = 1/sign(g(theta))", {}, [-0.0, 0.0, 2.0, -3.0, np.nan]),
             ("m = 1/max(g(theta), 0) + 1/min(0, g(theta))", {}, [-0.0, 0.0, 2.0, np.nan]),
             ("m = 1/max(0, g(theta)) + 1/min(g(theta), 0)", {}, [-0.0, 0.0, -2.0, np.nan]),
             ("m = g(theta)**(1/p)", {"p": 2.0}, [-np.inf, -0.0, 0.0, 4.0, -4.0]),
             ("m = g(theta)**(1/p)", {"p": 3.0}, [-np.inf, -0.0, 8.0, -8.0])]
    for line, hyper, gs in cases:
        text = f"name: z\nhyper: lr=0.1{', p=1.5' if hyper else ''}\nstate: m=0\n{line}\ntheta = theta - lr*m\n"
        rule = UpdateRule.from_text(text)
        h = rule.lambdify(**hyper).hyper
        g = np.array(gs)
        p = np.zeros(g.size)
        with np.errstate(all="ignore"):
            want = LambdifiedOptimizer(rule, h, jit=False).step(p, g, {"m": np.zeros(g.size)})[1]["m"]
            got = LambdifiedOptimizer(rule, h, jit=True).step(p, g, {"m": np.zeros(g.size)})[1]["m"]
        assert np.array_equal(got, want, equal_nan=True), (line, got, want)
        assert (np.signbit(got) == np.signbit(want)).all(), (line, got, want)
