"""The hand-written sgd, rmsprop, adam and adamw against torch.optim (the reference library) in
float64, on arrays of every shape torch accepts (0-d to 3-D) and on a list of mixed shapes in one
param group: params and every state entry both keep are compared after each step.  Our non-torch
conventions are shown to differ from torch by the margin their closed forms predict.  Also: lists
and shapes for heavy_ball, nesterov and gd (against torch.optim.SGD, which has their iterates), and
one-line ValueErrors for bad lists, shapes and states."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from numeric.optimizers import adam, adamw, gd, heavy_ball, nesterov, rmsprop, sgd

RTOL, ATOL = 1e-12, 1e-14  # float64 rounding is ~1e-16; 10 steps of these updates stay far below
STEPS = 10
SHAPES = {"0-d": [()], "1-D": [(5,)], "2-D": [(3, 4)], "3-D": [(2, 3, 2)],
          "list": [(), (3,), (2, 2), (2, 1, 3)]}


def _problem(shapes, seed=0):
    """Initial params and a gradient sequence whose scale changes from step to step (by up to e^+-2,
    after a first step 20 times larger), so that AMSGrad's maximum, centring and momentum matter."""
    rng = np.random.default_rng(seed)
    p0 = [rng.normal(size=s) for s in shapes]
    scales = np.exp(rng.uniform(-2.0, 2.0, size=STEPS))
    scales[0] = 20.0
    grads = [[scales[t] * rng.normal(size=s) for s in shapes] for t in range(STEPS)]
    return p0, grads


def _torch_state(tstate, key):
    value = tstate[key]
    return None if value is None else value.detach().numpy()


def _compare(ours, torch_cls, kwargs, shapes, foreach):
    """Run ``ours`` and ``torch_cls(**kwargs)`` on the same gradients; assert params and states agree
    after every step; return the largest normwise relative parameter difference
    max|ours - torch| / max|torch| (over all steps and arrays)."""
    p0, grads = _problem(shapes)
    tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in p0]
    topt = torch_cls(tparams, foreach=foreach, **kwargs)
    single = len(shapes) == 1
    params = p0[0].copy() if single else [p.copy() for p in p0]
    state = ours.init(params)
    worst = 0.0
    for t in range(STEPS):
        for tp, g in zip(tparams, grads[t]):
            tp.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        params, state = ours.step(params, grads[t][0] if single else grads[t], state)
        plist, slist = ([params], [state]) if single else (params, state)
        for i, (tp, p, s) in enumerate(zip(tparams, plist, slist)):
            ref = tp.detach().numpy()
            assert isinstance(p, np.ndarray) and p.shape == ref.shape
            np.testing.assert_allclose(p, ref, rtol=RTOL, atol=ATOL, err_msg=f"params[{i}] at step {t + 1}")
            worst = max(worst, float(np.max(np.abs(p - ref)) / np.max(np.abs(ref))))
            tstate = topt.state[tp]
            shared = set(tstate) & set(s)
            if torch_cls is torch.optim.SGD and not kwargs.get("momentum"):
                # torch.optim.SGD keeps no state without momentum; ours keeps a zero buffer
                assert not tstate and not np.any(s["momentum_buffer"]) and s["step"] == t + 1
            else:
                assert shared == set(tstate), f"torch keeps {sorted(tstate)}, ours {sorted(s)}"
            for key in shared:
                ref_s = _torch_state(tstate, key)
                if key == "step":
                    assert s["step"] == t + 1 == int(ref_s)
                else:
                    assert s[key].shape == ref_s.shape
                    np.testing.assert_allclose(s[key], ref_s, rtol=RTOL, atol=ATOL,
                                               err_msg=f"state[{i}][{key!r}] at step {t + 1}")
    return worst


SGD_CONFIGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.05},
    {"momentum": 0.8, "dampening": 0.1, "weight_decay": 0.05},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 0.05},
]
RMSPROP_CONFIGS = [
    {},
    {"centered": True},
    {"momentum": 0.5},
    {"weight_decay": 0.1},
    {"alpha": 0.9, "eps": 1e-3, "centered": True, "momentum": 0.7, "weight_decay": 0.1},
]
ADAM_CONFIGS = [
    {},
    {"amsgrad": True},
    {"weight_decay": 0.1},
    {"betas": (0.8, 0.95), "eps": 1e-6, "amsgrad": True, "weight_decay": 0.1},
]
ADAMW_CONFIGS = [
    {},
    {"weight_decay": 0.0},
    {"amsgrad": True},
    {"betas": (0.8, 0.95), "eps": 1e-6, "amsgrad": True, "weight_decay": 0.3},
]
CASES = ([("sgd", sgd, torch.optim.SGD, {"lr": 0.05, **c}) for c in SGD_CONFIGS]
         + [("rmsprop", rmsprop, torch.optim.RMSprop, {"lr": 0.01, **c}) for c in RMSPROP_CONFIGS]
         + [("adam", adam, torch.optim.Adam, {"lr": 0.01, **c}) for c in ADAM_CONFIGS]
         + [("adamw", adamw, torch.optim.AdamW, {"lr": 0.01, **c}) for c in ADAMW_CONFIGS])


@pytest.mark.parametrize("foreach", [False, True], ids=["for-loop", "foreach"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("name, factory, torch_cls, kwargs", CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_matches_torch_in_float64(name, factory, torch_cls, kwargs, shape, foreach):
    worst = _compare(factory(**kwargs), torch_cls, kwargs, SHAPES[shape], foreach)
    # measured (normwise relative, all steps): <= 4.3e-16 for sgd, adam, adamw; <= 3.1e-15 for rmsprop
    assert worst < 1e-14


def test_the_problem_exercises_amsgrad_and_centring():
    # the branches compared above are not idle on this gradient sequence: the AMSGrad maximum
    # differs from the current second moment, and centring changes RMSprop's step
    p0, grads = _problem([(5,)])
    for betas in [(0.9, 0.999), (0.8, 0.95)]:
        opt = adam(betas=betas, amsgrad=True)
        p, s = p0[0], opt.init(p0[0])
        for g in grads:
            p, s = opt.step(p, g[0], s)
        assert np.max(s["max_exp_avg_sq"] - s["exp_avg_sq"]) > 1e-4 * np.max(s["max_exp_avg_sq"])
    runs = []
    for centered in (False, True):
        opt = rmsprop(centered=centered)
        p, s = p0[0], opt.init(p0[0])
        for g in grads:
            p, s = opt.step(p, g[0], s)
        runs.append(p)
    assert np.max(np.abs(runs[0] - runs[1])) > 1e-3


# --------------------------------------------------------------------------- #
# Our other conventions differ from torch, by the margin their closed forms give.
# --------------------------------------------------------------------------- #
def _displacements(ours, torch_cls, kwargs, grads, theta0=1.0):
    """The last step's displacement theta_t - theta_{t-1} of ours and of torch on a 1-parameter
    problem with the given gradient sequence."""
    tp = torch.tensor([theta0], dtype=torch.float64, requires_grad=True)
    topt = torch_cls([tp], **kwargs)
    p, s = np.array([theta0]), ours.init(np.array([theta0]))
    for g in grads:
        before_t, before = tp.detach().numpy().copy(), p
        tp.grad = torch.tensor([g], dtype=torch.float64)
        topt.step()
        p, s = ours.step(p, np.array([g]), s)
    return float((p - before)[0]), float((tp.detach().numpy() - before_t)[0])


def test_rmsprop_eps_inside_differs_from_torch():
    # one step, g = 1e-4, alpha = 0.99, eps = 1e-8: s = 0.01 g^2 = 1e-10, so torch divides by
    # sqrt(s) + eps = 1.001e-5 and eps_mode="inside" by sqrt(s + eps) = sqrt(1.01e-8) ~ 1.005e-4:
    # a step about 10 times shorter.
    g, kw = 1e-4, {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}
    ours, ref = _displacements(rmsprop(**kw, eps_mode="inside"), torch.optim.RMSprop, kw, [g])
    s = (1 - 0.99) * g * g
    ratio = (math.sqrt(s) + 1e-8) / math.sqrt(s + 1e-8)
    assert ours / ref == pytest.approx(ratio, rel=1e-12)
    assert ratio < 0.1  # measured: ratio = 0.0996


def test_adam_eps_inside_differs_from_torch():
    # first step: mhat = g, vhat = g^2, so torch moves lr g / (|g| + eps) and "inside"
    # lr g / sqrt(g^2 + eps); with g = 1e-4 = sqrt(eps) that is lr / sqrt(2), 29% shorter.
    g, kw = 1e-4, {"lr": 0.01, "eps": 1e-8}
    ours, ref = _displacements(adam(**kw, eps_mode="inside"), torch.optim.Adam, kw, [g])
    ratio = (g + 1e-8) / math.sqrt(g * g + 1e-8)
    assert ours / ref == pytest.approx(ratio, rel=1e-12)
    assert ratio < 0.71  # measured: 0.70718


def test_adam_eps_hat_differs_from_torch():
    # first step: "hat" is "outside" with eps replaced by eps / sqrt(bc2) = eps / sqrt(1 - beta2):
    # lr g / (|g| + eps / sqrt(0.001)), against torch's lr g / (|g| + eps); g = 1e-6, eps = 1e-8.
    g, kw = 1e-6, {"lr": 0.01, "eps": 1e-8}
    ours, ref = _displacements(adam(**kw, eps_mode="hat"), torch.optim.Adam, kw, [g])
    ratio = (g + 1e-8) / (g + 1e-8 / math.sqrt(1 - 0.999))
    assert ours / ref == pytest.approx(ratio, rel=1e-12)
    assert ratio < 0.77  # measured: 0.7673


def test_adam_without_bias_correction_differs_from_torch():
    # first step without bias correction: m = (1 - b1) g, v = (1 - b2) g^2, step
    # lr (1 - b1) g / (sqrt(1 - b2) |g| + eps) ~ lr 0.1 / 0.0316 = 3.16 lr, against torch's ~lr.
    g, kw = 0.5, {"lr": 0.01, "eps": 1e-8}
    ours, ref = _displacements(adam(**kw, bias_correction=False), torch.optim.Adam, kw, [g])
    ratio = (0.1 * g / (math.sqrt(0.001) * g + 1e-8)) / (g / (g + 1e-8))
    assert ours / ref == pytest.approx(ratio, rel=1e-12)
    assert ratio > 3.1  # measured: 3.1623


@pytest.mark.parametrize("factory, torch_cls", [(adam, torch.optim.Adam), (adamw, torch.optim.AdamW)])
def test_amsgrad_max_of_corrected_differs_from_torch(factory, torch_cls):
    # gradients G, 0 with eps = 0: v_1 = (1 - b2) G^2, v_2 = b2 v_1.  torch keeps max(v) = v_1 and
    # divides by sqrt(v_1 / bc2_2) = G sqrt((1 - b2) / (1 - b2^2)); amsgrad_max="corrected" keeps
    # max(v_1 / bc2_1, v_2 / bc2_2) = G^2.  The second steps differ by sqrt(1 + b2) = 1.414 (longer in torch).
    kw = {"lr": 0.01, "eps": 0.0, "amsgrad": True, "weight_decay": 0.0}
    ours, ref = _displacements(factory(**kw, amsgrad_max="corrected"), torch_cls, kw, [2.0, 0.0])
    ratio = 1 / math.sqrt(1 + 0.999)
    assert ours / ref == pytest.approx(ratio, rel=1e-12)
    assert ratio < 0.71  # measured: 0.70728


def test_adamw_decay_not_scaled_by_lr_differs_from_torch():
    # same Adam direction; torch multiplies theta by 1 - lr wd, decay_scale="none" by 1 - wd, so
    # after one step ours - torch = -theta0 wd (1 - lr) = -0.00999 for theta0 = 1, wd = 0.01, lr = 1e-3
    # (against a torch step of about -lr (1 + wd) = -0.00101: ten times the whole step).
    kw = {"lr": 1e-3, "weight_decay": 0.01}
    theta0 = 1.0
    ours, ref = _displacements(adamw(**kw, decay_scale="none"), torch.optim.AdamW, kw, [0.3], theta0)
    assert ours - ref == pytest.approx(-theta0 * 0.01 * (1 - 1e-3), rel=1e-9)
    assert abs(ours - ref) > 9 * abs(ref)  # measured: |ours - ref| / |ref| = 9.9


# --------------------------------------------------------------------------- #
# heavy_ball, nesterov and gd on shapes and lists (torch.optim.SGD has their iterates).
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("ours, kwargs", [
    (gd(0.05), {"lr": 0.05}),
    (gd(0.05, weight_decay=0.1), {"lr": 0.05, "weight_decay": 0.1}),
    (heavy_ball(0.05, 0.9), {"lr": 0.05, "momentum": 0.9}),
    (nesterov(0.05, 0.9), {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
], ids=["gd", "gd-decay", "heavy_ball", "nesterov"])
def test_velocity_forms_and_gd_follow_torch_sgd_on_shapes_and_lists(ours, kwargs, shape):
    shapes = SHAPES[shape]
    p0, grads = _problem(shapes, seed=1)
    tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in p0]
    topt = torch.optim.SGD(tparams, **kwargs)
    single = len(shapes) == 1
    params = p0[0] if single else list(p0)
    state = ours.init(params)
    for t in range(STEPS):
        for tp, g in zip(tparams, grads[t]):
            tp.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        params, state = ours.step(params, grads[t][0] if single else grads[t], state)
        plist = [params] if single else params
        for tp, p in zip(tparams, plist):
            assert isinstance(p, np.ndarray) and p.shape == tp.shape
            # the velocity forms equal torch's buffer form in exact arithmetic (see SGD's docstring)
            np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("opt", [gd(0.1, 0.01), heavy_ball(0.1, 0.5), nesterov(0.1, 0.5),
                                 sgd(0.1, 0.9, nesterov=True), rmsprop(centered=True, momentum=0.5),
                                 adam(amsgrad=True), adamw(amsgrad=True)], ids=lambda o: type(o).__name__)
def test_a_list_is_its_arrays_stepped_separately_and_nothing_is_mutated(opt):
    p0, grads = _problem(SHAPES["list"], seed=2)
    frozen = [p.copy() for p in p0]
    params, state = list(p0), opt.init(p0)
    assert isinstance(state, list) and len(state) == len(p0)
    singles = [(p, opt.init(p)) for p in p0]
    for g in grads[:3]:
        g_frozen = [x.copy() for x in g]
        params, state = opt.step(params, g, state)
        singles = [opt.step(p, gi, s) for (p, s), gi in zip(singles, g)]
        assert all(np.array_equal(a, b) for a, b in zip(g, g_frozen))
    for p, s, (p1, s1) in zip(params, state, singles):
        assert np.array_equal(p, p1) and s.keys() == s1.keys()
        assert all(np.array_equal(s[k], s1[k]) for k in s)
    assert all(np.array_equal(a, b) for a, b in zip(p0, frozen))


# --------------------------------------------------------------------------- #
# Bad input: one-line ValueErrors.
# --------------------------------------------------------------------------- #
def _bad_inputs():
    a, b = np.zeros(()), np.zeros((2, 3))
    ok = adam().init([a, b])
    return [
        (adam(), [a, b], [a], ok, r"^grads must be a list of 2 arrays, one per parameter, got list of length 1$"),
        (adam(), [a, b], b, ok, r"^grads must be a list of 2 arrays, one per parameter, got ndarray$"),
        (adam(), [a, b], [a, b], ok[:1], r"^state must be the list of 2 dicts returned by init\(params\), got list$"),
        (adam(), [a, b], [a, b], ok[0], r"^state must be the list of 2 dicts returned by init\(params\), got dict$"),
        (adam(), [a, b], [a, np.zeros((3, 2))], ok,
         r"^grads\[1\] must have shape \(2, 3\) to match the parameters, got \(3, 2\)$"),
        (adam(), [a, b], [a, b], [ok[0], None], r"^state\[1\] must be the dict returned by init\(\), got NoneType$"),
        (adam(), [a, b], [a, b], [ok[0], {**ok[1], "exp_avg": np.zeros(6)}],
         r"^state\['exp_avg'\] must have shape \(2, 3\) to match the parameters, got \(6,\) "
         r"\(in state\[1\], the state of params\[1\]\)$"),
        (sgd(0.1, 0.9), [a, b], [a, b], ok, r"^state must be the dict returned by init\(\) \(with key "
         r"'momentum_buffer'\), got \['step', 'exp_avg', 'exp_avg_sq'\] \(in state\[0\], the state of params\[0\]\)$"),
        (adam(), b, np.zeros(6), ok[1], r"^grads must have shape \(2, 3\) to match the parameters, got \(6,\)$"),
        (adam(), b, b, {**ok[1], "exp_avg_sq": -np.ones((2, 3))},
         r"^state\['exp_avg_sq'\] must be >= 0 \(a mean of squares\), got negative entries at indices "
         r"\[\(0, 0\), \(0, 1\), \(0, 2\), \(1, 0\), \(1, 1\)\]$"),
        (rmsprop(), b, b, {"step": 1.0, "square_avg": np.zeros((2, 3))},
         r"^state\['step'\] must be an integer >= 0, got 1.0$"),
        (heavy_ball(0.1, 0.5), [a, b], [a, b], heavy_ball(0.1, 0.5).init([b, a]),
         r"^state\['velocity'\] must have shape \(\) to match the parameters, got \(2, 3\) "
         r"\(in state\[0\], the state of params\[0\]\)$"),
        (nesterov(0.1, 0.5), b, b, [{"velocity": b}], r"^state must be the dict returned by init\(\), got list$"),
        (gd(0.1), [a, b], [a, b], {}, r"^state must be the list of 2 dicts returned by init\(params\), got dict$"),
    ]


@pytest.mark.parametrize("opt, params, grads, state, match", _bad_inputs())
def test_bad_lists_shapes_and_states_give_one_line_errors(opt, params, grads, state, match):
    with pytest.raises(ValueError, match=match) as err:
        opt.step(params, grads, state)
    assert "\n" not in str(err.value)


def test_a_returned_0d_param_list_can_be_stepped_again():
    # arithmetic on 0-d arrays gives NumPy scalars; the optimizers return 0-d arrays instead, so a
    # list of returned params is still recognised as a list of parameters
    opt = adam()
    params = [np.array(1.0), np.array(-2.0)]
    state = opt.init(params)
    for _ in range(2):
        params, state = opt.step(params, [np.array(0.5), np.array(0.25)], state)
        assert all(type(p) is np.ndarray and p.shape == () for p in params)
        assert all(type(s["exp_avg"]) is np.ndarray for s in state)
