"""The fused lambdify (derive/fused.py) against the plain ``sympy.lambdify`` path (``fused=False``) on every
catalogue rule that lambdifies, from random states and several hyperparameter settings (zero weight decay
included), through ``step`` and ``step_``, with the step counter at 0 (torch SGD's first-step branch) and
later; ``step_`` really works in place; Adam and SGD with momentum against torch.optim in float64; hostile
inputs give one-line ValueErrors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from derive.lambdified import LambdifiedOptimizer
from derive.rules.library import names, resolve

SHAPE = (3, 4)
TOL = 1e-14  # max |fused - plain| / max(1, max |plain|)


def _err(a, b) -> float:
    a = np.broadcast_to(np.asarray(a, dtype=float), SHAPE)
    b = np.broadcast_to(np.asarray(b, dtype=float), SHAPE)
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    scale = max(1.0, float(np.max(np.abs(np.where(np.isfinite(b), b, 0.0)))))
    return float(np.max(diff)) / scale


def _rules():
    import sympy as sp

    from derive.fused import oracle_free

    out = []
    for name in names():
        rule = resolve(name)
        if rule.functions:  # whole-array functions: the plain path serves both
            continue
        try:
            oracle_free(rule, sp.Symbol("grads"))
        except ValueError:  # a look-ahead oracle: refused by both paths (tested below)
            continue
        out.append(name)
    return out


RULES = _rules()


def _settings(rule):
    """Hyperparameter settings: defaults (0.05 where none), zero and non-zero weight decay, random values."""
    base = {k: rule.defaults.get(k, 0.05) for k in rule.hyper}
    rng = np.random.default_rng(len(rule.name))
    out = [base]
    if "weight_decay" in rule.hyper:
        out += [{**base, "weight_decay": 0.0}, {**base, "weight_decay": 0.03}]
    jitter = {k: v * (1 + 0.1 * rng.uniform(-1, 1)) if v not in (0.0,) else v for k, v in base.items()}
    return out + [jitter]


def _state(rule, opt, rng, t):
    """A random state: θ normal, other entries in (0.1, 1) (valid for square roots and step sizes), the
    step counter t (a scalar for the fused optimizer, an array of t for the plain one)."""
    p = rng.normal(size=SHAPE)
    counter = rule.state_names[rule.counter - 1] if rule.counter is not None else None
    fused, plain = {}, {}
    for n in rule.state_names:
        if n == counter:
            fused[n], plain[n] = t, np.full(SHAPE, float(t))
        else:
            fused[n] = rng.uniform(0.1, 1.0, size=SHAPE)
            plain[n] = fused[n].copy()
    return p, fused, plain


def test_the_catalogue_is_covered():
    assert {"sgd", "adam", "adamw", "rmsprop", "radam", "nadam", "adagrad", "rprop", "asgd", "lion"} <= set(RULES)


def compare_with_plain(rule, opt, rng, label: str) -> None:
    """``opt`` (step and step_) against the plain path from random states at t = 0, 1, 5, 40 (TOL)."""
    plain = LambdifiedOptimizer(rule, opt.hyper, fused=False)
    for t in (0, 1, 5, 40):
        p, sf, sp_ = _state(rule, opt, rng, t)
        g = rng.normal(size=SHAPE)
        with np.errstate(all="ignore"):
            want_p, want_s = plain.step(p, g, sp_)
            got_p, got_s = opt.step(p, g, sf)
            q, s2 = p.copy(), {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in sf.items()}
            assert opt.step_(q, g, s2) is None
        assert _err(got_p, want_p) <= TOL, f"{label} t={t}: params (step)"
        assert _err(q, want_p) <= TOL, f"{label} t={t}: params (step_)"
        for k in rule.state_names:
            assert _err(got_s[k], want_s[k]) <= TOL, f"{label} t={t}: state {k} (step)"
            assert _err(s2[k], want_s[k]) <= TOL, f"{label} t={t}: state {k} (step_)"


@pytest.mark.parametrize("name", RULES)
def test_fused_equals_plain_on_random_states(name):
    rule = resolve(name)
    rng = np.random.default_rng(1)
    for hyper in _settings(rule):
        opt = rule.lambdify(**hyper)
        assert opt._fast is not None, f"{name}: not fused"
        compare_with_plain(rule, opt, rng, f"{name} {hyper}")


@pytest.mark.parametrize("name", ["sgd", "adam", "nadam", "radam", "asgd"])
def test_runs_from_init_agree_and_the_counter_is_a_number(name):
    """Twelve steps from init (the t = 0 branch first), step and step_ alternating, against the plain path."""
    rule = resolve(name)
    hyper = {k: rule.defaults.get(k, 0.05) for k in rule.hyper}
    opt, plain = rule.lambdify(**hyper), LambdifiedOptimizer(rule, rule.lambdify(**hyper).hyper, fused=False)
    rng = np.random.default_rng(2)
    p = q = rng.normal(size=SHAPE)
    p = p.copy()
    sf, sp_ = opt.init(p), plain.init(q)
    key = rule.state_names[rule.counter - 1]
    assert sf[key] == 0 and isinstance(sf[key], int)
    for k in range(12):
        g = rng.normal(size=SHAPE)
        if k % 2:
            opt.step_(p, g, sf)
        else:
            p, sf = opt.step(p, g, sf)
        with np.errstate(invalid="ignore"):  # the plain path evaluates RAdam's unrectified branch too
            q, sp_ = plain.step(q, g, sp_)
        assert _err(p, q) <= 1e-13
        assert sf[key] == k + 1
        for n in rule.state_names:
            assert _err(sf[n], sp_[n]) <= 1e-13, f"{name}: {n} at step {k + 1}"


def test_sgd_first_step_takes_the_t0_branch():
    """torch SGD: the first step sets the buffer to the gradient (no dampening), later ones b = mu b + (1 - tau) g."""
    opt = resolve("sgd").lambdify(lr=0.1, momentum=0.9, dampening=0.5)
    p = np.array([1.0, -2.0])
    s = opt.init(p)
    opt.step_(p, np.array([1.0, 1.0]), s)
    np.testing.assert_array_equal(s["momentum_buffer"], [1.0, 1.0])
    np.testing.assert_allclose(p, [0.9, -2.1], rtol=0, atol=1e-15)
    opt.step_(p, np.array([2.0, 0.0]), s)
    np.testing.assert_allclose(s["momentum_buffer"], [0.9 + 1.0, 0.9], rtol=1e-15)
    assert s["step"] == 2


def test_zero_weight_decay_disappears_from_the_code():
    rule = resolve("adam")
    with_wd = rule.lambdify(lr=1e-3, weight_decay=0.1)._fast
    without = rule.lambdify(lr=1e-3, weight_decay=0.0)._fast
    wd_name = with_wd.prog.names[rule.hyper["weight_decay"]]
    assert wd_name in with_wd.prog.source(()).text
    assert wd_name not in without.prog.source(()).text
    assert without.prog.source(()).n_ops < with_wd.prog.source(()).n_ops


def test_step_is_pure_and_step_works_in_place():
    opt = resolve("adam").lambdify(lr=0.01, weight_decay=0.1)
    rng = np.random.default_rng(3)
    p, g = rng.normal(size=SHAPE), rng.normal(size=SHAPE)
    s = opt.init(p)
    opt.step_(p, g, s)
    before_p, before_s = p.copy(), {k: np.copy(v) for k, v in s.items()}
    new_p, new_s = opt.step(p, g, s)
    np.testing.assert_array_equal(p, before_p)
    for k in s:
        np.testing.assert_array_equal(s[k], before_s[k])
    ids = {k: id(v) for k, v in s.items() if isinstance(v, np.ndarray)}
    pid = id(p)
    assert opt.step_(p, g, s) is None
    assert id(p) == pid and all(id(s[k]) == i for k, i in ids.items())
    np.testing.assert_array_equal(p, new_p)
    for k in s:
        np.testing.assert_array_equal(s[k], new_s[k])


@pytest.mark.parametrize("n", [10, 70_000])  # whole arrays, and blocks (derive.fused.BLOCKED_FROM)
def test_large_arrays_and_grads_aliasing_params(n):
    """The blocked kernels agree with the plain path; grads that are params (∇ ½|θ|²) are read before written."""
    rule = resolve("adamw")
    opt = rule.lambdify(lr=0.01)
    plain = LambdifiedOptimizer(rule, opt.hyper, fused=False)
    rng = np.random.default_rng(4)
    p = rng.normal(size=n)
    q, sp_ = p.copy(), plain.init(p)
    s = opt.init(p)
    for _ in range(3):
        opt.step_(p, p, s)  # grads is params
        q, sp_ = plain.step(q, q.copy(), sp_)
    np.testing.assert_allclose(p, q, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(s["exp_avg_sq"], sp_["exp_avg_sq"], rtol=1e-14, atol=1e-300)
    big = np.concatenate([p, p])  # params and grads: two views of one buffer
    view_p, view_g = big[:n], big[:n]
    opt.step_(view_p, view_g, s)
    q, sp_ = plain.step(q, q.copy(), sp_)
    np.testing.assert_allclose(view_p, q, rtol=1e-14, atol=1e-15)


def test_a_counter_array_of_equal_entries_stays_an_array():
    """States copied from another optimizer carry the counter as an array (verify's lockstep checks)."""
    rule = resolve("adam")
    opt = rule.lambdify(lr=0.01)
    p, g = np.ones(4), np.full(4, 0.5)
    s = {"exp_avg": np.full(4, 0.1), "exp_avg_sq": np.full(4, 0.2), "step": np.full(4, 3.0)}
    new_p, new_s = opt.step(p, g, s)
    assert new_s["step"].shape == (4,) and (new_s["step"] == 4.0).all()
    want_p, _ = LambdifiedOptimizer(rule, opt.hyper, fused=False).step(p, g, s)
    assert _err(new_p[:1], want_p[:1]) <= TOL
    uneven = {**s, "step": np.array([0.0, 1.0, 2.0, 3.0])}  # per-coordinate counters: the plain path
    got, _ = opt.step(p, g, uneven)
    want, _ = LambdifiedOptimizer(rule, opt.hyper, fused=False).step(p, g, uneven)
    np.testing.assert_array_equal(got, want)


def _torch_run(cls, kwargs, p0, grads):
    tp = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    topt = cls([tp], **kwargs)
    for g in grads:
        tp.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    return tp.detach().numpy()


@pytest.mark.parametrize("name,cls,kwargs", [
    ("adam", torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("adam", torch.optim.Adam, dict(lr=0.01)),
    ("adamw", torch.optim.AdamW, dict(lr=0.01, weight_decay=0.05)),
    ("sgd", torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("sgd", torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
])
def test_step__against_torch_optim(name, cls, kwargs):
    hyper = {k: v for k, v in kwargs.items() if k != "betas"}
    if "betas" in kwargs:
        hyper["beta1"], hyper["beta2"] = kwargs["betas"]
    opt = resolve(name).lambdify(**hyper)
    rng = np.random.default_rng(5)
    p0 = rng.normal(size=SHAPE)
    grads = [rng.normal(size=SHAPE) * 10.0 ** rng.uniform(-2, 2) for _ in range(8)]
    p, s = p0.copy(), opt.init(p0)
    for g in grads:
        opt.step_(p, g, s)
    np.testing.assert_allclose(p, _torch_run(cls, kwargs, p0, grads), rtol=1e-12, atol=1e-14)


def test_hostile_inputs_are_one_line_value_errors():
    opt = resolve("adam").lambdify(lr=0.01)
    p = np.zeros(3)
    s = opt.init(p)
    bad = [
        (lambda: opt.step_(np.zeros(3, dtype=np.float32), np.zeros(3), s), "float64"),
        (lambda: opt.step_([0.0, 0.0, 0.0], np.zeros(3), s), "float64"),
        (lambda: opt.step_(p, np.zeros(4), s), "differ in shape"),
        (lambda: opt.step_(p, np.zeros(3), {**s, "exp_avg": np.zeros(4)}), "exp_avg"),
        (lambda: opt.step_(p, np.zeros(3), {**s, "exp_avg": p}), "shares memory"),
        (lambda: opt.step_(p, np.zeros(3), {**s, "exp_avg": p[:]}), "shares memory"),
        (lambda: opt.step_(p, np.zeros(3), None), "dict"),
        (lambda: opt.step(p, np.zeros(4), s), "differ in shape"),
    ]
    for call, words in bad:
        with pytest.raises(ValueError) as info:
            call()
        assert words in str(info.value) and "\n" not in str(info.value)
    nesterov = resolve("nesterov").lambdify(lr=0.1, momentum=0.9)
    for call in (lambda: nesterov.step(p, p, nesterov.init(p)), lambda: nesterov.step_(p, p, nesterov.init(p))):
        with pytest.raises(ValueError, match="away from"):
            call()


def test_whole_array_rules_fall_back_to_the_plain_path():
    rule = resolve("muon")
    opt = rule.lambdify()
    assert opt._fast is None
    rng = np.random.default_rng(6)
    p, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    s = opt.init(p)
    want_p, want_s = opt.step(p, g, s)
    assert opt.step_(p, g, s) is None
    np.testing.assert_array_equal(p, want_p)
    np.testing.assert_array_equal(s["momentum_buffer"], want_s["momentum_buffer"])


def test_threads_and_pickling():
    """Scratch buffers are per thread (a thread pool may share one optimizer); a pickled optimizer rebuilds."""
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    opt = resolve("adam").lambdify(lr=0.01, weight_decay=0.1)
    rng = np.random.default_rng(7)
    starts = [rng.normal(size=70_000) for _ in range(4)]

    def run(p0, o=opt):
        p, s = p0.copy(), o.init(p0)
        for _ in range(5):
            o.step_(p, np.sin(p), s)
        return p

    serial = [run(p0) for p0 in starts]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(run, starts))
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)
    clone = pickle.loads(pickle.dumps(opt))
    np.testing.assert_array_equal(run(starts[0], clone), serial[0])


@pytest.mark.parametrize("shape", [(), (2, 3, 2)])
@pytest.mark.parametrize("name", ["adam", "rprop", "asgd"])
def test_any_shape(name, shape):
    """0-d and 3-D params, step_ from init against the plain path (Rprop: array Piecewise, ASGD: scalar entries)."""
    rule = resolve(name)
    opt = rule.lambdify(**{k: 0.05 for k in rule.hyper if k not in rule.defaults})
    plain = LambdifiedOptimizer(rule, opt.hyper, fused=False)
    rng = np.random.default_rng(8)
    p = rng.normal(size=shape)
    q, s, sp_ = p.copy(), opt.init(p), plain.init(p)
    for _ in range(4):
        g = rng.normal(size=shape)
        opt.step_(p, g, s)
        q, sp_ = plain.step(q, g, sp_)
    assert p.shape == shape
    np.testing.assert_allclose(p, q, rtol=1e-14, atol=1e-15)
