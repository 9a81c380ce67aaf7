"""Tests for numeric.optimizers.adaptive: RMSprop, Adam and AdamW (torch.optim conventions plus options).

Expected values come from outside the code under test: closed forms worked out by hand,
a scalar pure-Python re-implementation of the documented pseudocode, and properties
(purity, scale invariance, a Cauchy-Schwarz bound on the Adam step).
"""

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numeric
from numeric.optimizers.adaptive import Adam, AdamW, RMSprop, adam, adamw, rmsprop
from numeric.optimizers import Optimizer, run

ADAM_VARIANTS = [  # (eps_mode, amsgrad, amsgrad_max)
    (mode, ams, amax)
    for mode in ("outside", "inside", "hat")
    for ams, amax in ((False, "raw"), (True, "raw"), (True, "corrected"))
]

nonzero = st.floats(1e-3, 1e3).flatmap(lambda x: st.sampled_from([x, -x]))
finite = st.floats(-1e3, 1e3, allow_subnormal=False)


def vectors(elements, k):
    """k vectors of one common length 1..5."""
    return st.integers(1, 5).flatmap(
        lambda n: st.tuples(*(st.lists(elements, min_size=n, max_size=n) for _ in range(k)))
    )


def first_step(opt, g, theta=None):
    g = np.asarray(g, dtype=float)
    theta = np.zeros_like(g) if theta is None else np.asarray(theta, dtype=float)
    new, _ = opt.step(theta, g, opt.init(theta))
    return new - theta


def feed(opt, grads, theta0):
    """Params after each of a fixed sequence of gradients (not depending on params)."""
    p, s, out = np.asarray(theta0, dtype=float), opt.init(theta0), []
    for g in grads:
        p, s = opt.step(p, np.asarray(g, dtype=float), s)
        out.append(p)
    return np.array(out), s


# --------------------------------------------------------------------------- #
# Protocol.
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "opt, cls, keys",
    [
        (rmsprop(), RMSprop, {"step", "square_avg"}),
        (rmsprop(centered=True), RMSprop, {"step", "square_avg", "grad_avg"}),
        (rmsprop(momentum=0.9, centered=True), RMSprop,
         {"step", "square_avg", "grad_avg", "momentum_buffer"}),
        (adam(), Adam, {"step", "exp_avg", "exp_avg_sq"}),
        (adam(amsgrad=True), Adam, {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
        (adamw(amsgrad=True, amsgrad_max="corrected"), AdamW,
         {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
    ],
)
def test_optimizers_are_frozen_dataclasses_with_torch_state_names(opt, cls, keys):
    assert isinstance(opt, cls) and isinstance(opt, Optimizer) and dataclasses.is_dataclass(opt)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opt.lr = 1.0
    state = opt.init(np.array([1.0, 2.0]))
    assert set(state) == keys and state["step"] == 0
    for k in keys - {"step"}:
        np.testing.assert_array_equal(state[k], [0.0, 0.0])
    _, new = opt.step(np.array([1.0, 2.0]), np.array([0.5, -0.5]), state)
    assert set(new) == keys and new["step"] == 1


def test_defaults_and_positional_order_follow_torch():
    assert (rmsprop().lr, rmsprop().alpha, rmsprop().eps) == (1e-2, 0.99, 1e-8)
    assert (adam().lr, adam().betas, adam().eps, adam().weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    assert adamw().weight_decay == 1e-2 and adamw().decay_scale == "lr"
    # torch's positional order: lr, betas, eps, weight_decay, amsgrad / lr, alpha, eps, wd, momentum, centered
    assert adamw(0.1, [0.5, 0.6], 0.0, 0.2, True) == AdamW(0.1, (0.5, 0.6), 0.0, 0.2, True)
    assert rmsprop(0.1, 0.5, 0.0, 0.2, 0.3, True) == RMSprop(0.1, 0.5, 0.0, 0.2, 0.3, True)
    assert adam(betas=np.array([0.5, 0.25])).betas == (0.5, 0.25)
    assert adam(amsgrad=np.bool_(True)).amsgrad is True
    assert not isinstance(adamw(), Adam)  # weight_decay means something else
    assert numeric.optimizers.adaptive.adam is adam


# --------------------------------------------------------------------------- #
# Closed forms.
# --------------------------------------------------------------------------- #
@settings(max_examples=80, deadline=None)
@given(vectors(finite, 1), st.floats(1e-4, 10.0), st.floats(0.0, 0.999), st.floats(0.0, 0.9999),
       st.floats(1e-12, 1.0), st.sampled_from(ADAM_VARIANTS))
def test_adam_first_step_closed_form(gs, lr, b1, b2, eps, variant):
    mode, ams, amax = variant
    g = np.array(gs[0])
    want = {
        "outside": -lr * g / (np.abs(g) + eps),
        "inside": -lr * g / np.sqrt(g * g + eps),
        "hat": -lr * g / (np.abs(g) + eps / math.sqrt(1 - b2)),
    }[mode]
    opt = adam(lr, (b1, b2), eps, eps_mode=mode, amsgrad=ams, amsgrad_max=amax)
    # atol: a result below the normal range (~1e-308) carries fewer significant digits
    np.testing.assert_allclose(first_step(opt, g), want, rtol=1e-12, atol=1e-300)


@settings(max_examples=50, deadline=None)
@given(vectors(finite, 1), st.floats(1e-4, 10.0), st.floats(0.0, 0.999), st.floats(0.0, 0.9999),
       st.floats(1e-12, 1.0))
def test_adam_without_bias_correction_first_step(gs, lr, b1, b2, eps):
    g = np.array(gs[0])
    want = -lr * (1 - b1) * g / (math.sqrt(1 - b2) * np.abs(g) + eps)
    got = first_step(adam(lr, (b1, b2), eps, bias_correction=False), g)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.0, 0.5), (0.5, 0.0), (0.99, 0.9)])
@pytest.mark.parametrize("ams, amax", [(False, "raw"), (True, "raw"), (True, "corrected")])
@pytest.mark.parametrize("eps", [1e-8, 0.3])
def test_adam_with_constant_gradient_steps_by_the_same_amount(betas, ams, amax, eps):
    # m_t = (1 - b1^t) c and v_t = (1 - b2^t) c^2, so mhat = c and vhat = c^2 at every t
    c = np.array([2.0, -0.5, 1e-3])
    traj, state = feed(adam(0.01, betas, eps, amsgrad=ams, amsgrad_max=amax), [c] * 60, np.zeros(3))
    steps = np.diff(np.vstack([np.zeros(3), traj]), axis=0)
    np.testing.assert_allclose(steps, np.tile(-0.01 * c / (np.abs(c) + eps), (60, 1)), rtol=1e-12)
    assert state["step"] == 60


@settings(max_examples=50, deadline=None)
@given(vectors(finite, 1), st.floats(1e-4, 10.0), st.one_of(st.just(0.0), st.floats(1e-6, 0.999)),
       st.floats(1e-12, 1.0), st.sampled_from([0.0, 0.9]), st.sampled_from(["outside", "inside"]))
def test_rmsprop_first_step_closed_form(gs, lr, alpha, eps, momentum, mode):
    # alpha is 0 exactly or >= 1e-6: below that the centered d = s - gbar^2 cancels all its digits, and a
    # tolerance of 1e-15/alpha would be infinite (a check that cannot fail)
    # s_1 = (1 - a) g^2; centered: gbar_1 = (1 - a) g, d_1 = (1 - a) g^2 - (1 - a)^2 g^2 = a (1 - a) g^2;
    # the momentum buffer starts at 0, so b_1 = g / denom either way
    g = np.array(gs[0])
    for centered, d in ((False, (1 - alpha) * g * g), (True, alpha * (1 - alpha) * g * g)):
        want = -lr * g / (np.sqrt(d) + eps if mode == "outside" else np.sqrt(d + eps))
        opt = rmsprop(lr, alpha, eps, momentum=momentum, centered=centered, eps_mode=mode)
        # the code forms d = s - gbar^2, which loses about log10(1/alpha) digits to cancellation
        rtol = 1e-12 + (1e-15 / alpha if centered and alpha > 0 else 0.0)
        np.testing.assert_allclose(first_step(opt, g), want, rtol=rtol, atol=1e-300)
    if mode == "outside":  # the brief's form: -lr g / (sqrt(1 - a) |g| + eps)
        want = -lr * g / (math.sqrt(1 - alpha) * np.abs(g) + eps)
        got = first_step(rmsprop(lr, alpha, eps), g)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("alpha", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_centered_rmsprop_with_constant_gradient(alpha, momentum):
    # s_t = (1 - a^t) c^2, gbar_t = (1 - a^t) c, so d_t = s_t - gbar_t^2 = (1 - a^t) a^t c^2
    c, lr, eps = np.array([3.0, -0.25]), 0.1, 1e-6
    opt = rmsprop(lr, alpha, eps, momentum=momentum, centered=True)
    p, s, buf = np.zeros(2), opt.init(np.zeros(2)), np.zeros(2)
    for t in range(1, 21):
        new, s = opt.step(p, c, s)
        d = (1 - alpha**t) * alpha**t * c**2
        tol = 1e-14 / (alpha**t * (1 - alpha**t))  # cancellation in s - gbar^2
        np.testing.assert_allclose(s["square_avg"] - s["grad_avg"] ** 2, d, rtol=tol)
        buf = momentum * buf + c / (np.sqrt(d) + eps)
        np.testing.assert_allclose(new - p, -lr * buf, rtol=tol)
        p = new


@pytest.mark.parametrize("decay_scale, factor", [("lr", 1 - 0.1 * 0.5), ("none", 1 - 0.5)])
@pytest.mark.parametrize("variant", ADAM_VARIANTS)
def test_adamw_with_zero_gradients_only_decays(decay_scale, factor, variant):
    # m = v = 0 for ever, so the Adam part is 0 / (0 + eps) = 0 and theta_t = theta_0 factor^t
    mode, ams, amax = variant
    opt = adamw(0.1, weight_decay=0.5, decay_scale=decay_scale, eps_mode=mode, amsgrad=ams, amsgrad_max=amax)
    theta0 = np.array([1.0, -2.0, 3.0])
    traj = run(opt, lambda th: np.zeros(3), theta0, 25)
    want = np.array([theta0 * factor**t for t in range(26)])
    np.testing.assert_allclose(traj, want, rtol=1e-13, atol=0)


def test_amsgrad_raw_and_corrected_by_hand():
    # lr = 1, betas = (0.5, 0.5), eps = 0, theta_0 = [0, 0], gradients [4, -4] then [1, -1].
    # t = 1: bc1 = bc2 = 1 - 0.5 = 0.5;  m_1 = 0.5 * 4 = 2,  v_1 = 0.5 * 16 = 8,  mhat = 2 / 0.5 = 4
    #        raw:       vmax = max(0, 8) = 8,          vhat = 8 / 0.5 = 16
    #        corrected: vmax = max(0, 8 / 0.5) = 16,   vhat = 16
    #        plain:                                    vhat = 8 / 0.5 = 16
    #        all three: step = 4 / sqrt(16) = 1, theta_1 = [-1, 1]
    # t = 2: bc1 = bc2 = 1 - 0.25 = 0.75;  m_2 = 0.5 * 2 + 0.5 * 1 = 1.5,  mhat = 1.5 / 0.75 = 2
    #        v_2 = 0.5 * 8 + 0.5 * 1 = 4.5,  v_2 / bc2 = 4.5 / 0.75 = 6
    #        raw:       vmax = max(8, 4.5) = 8,   vhat = 8 / 0.75 = 32/3, step = 2 / sqrt(32/3) = sqrt(6)/4
    #        corrected: vmax = max(16, 6) = 16,   vhat = 16,              step = 2 / 4 = 1/2
    #        plain:                               vhat = 6,               step = 2 / sqrt(6) = sqrt(6)/3
    grads = [np.array([4.0, -4.0]), np.array([1.0, -1.0])]
    cases = [
        (adam(1.0, (0.5, 0.5), 0.0), -1 - math.sqrt(6) / 3, None),
        (adam(1.0, (0.5, 0.5), 0.0, amsgrad=True), -1 - math.sqrt(6) / 4, 8.0),
        (adam(1.0, (0.5, 0.5), 0.0, amsgrad=True, amsgrad_max="corrected"), -1.5, 16.0),
    ]
    for opt, theta2, vmax in cases:
        traj, state = feed(opt, grads, np.zeros(2))
        np.testing.assert_allclose(traj[0], [-1.0, 1.0], rtol=1e-15)
        np.testing.assert_allclose(traj[1], [theta2, -theta2], rtol=1e-15)
        np.testing.assert_allclose(state["exp_avg"], [1.5, -1.5], rtol=1e-15)
        np.testing.assert_allclose(state["exp_avg_sq"], [4.5, 4.5], rtol=1e-15)
        if vmax is not None:
            np.testing.assert_allclose(state["max_exp_avg_sq"], [vmax, vmax], rtol=1e-15)


# --------------------------------------------------------------------------- #
# An independent scalar implementation of the documented pseudocode.
# --------------------------------------------------------------------------- #
def make_problem(seed, n=5):
    """grad L = A theta - b + 0.1 theta^3 (A SPD), written with lists so both sides share it."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, n))
    a = (q @ q.T / n + 0.1 * np.eye(n)).tolist()
    b = rng.standard_normal(n).tolist()

    def grad(theta):
        return [sum(a[i][j] * theta[j] for j in range(n)) - b[i] + 0.1 * theta[i] ** 3 for i in range(n)]

    return grad, (2.0 * rng.standard_normal(n)).tolist()


def reference(kind, o, grad, theta0, steps):
    """torch.optim's documented loops, one scalar at a time (math module only)."""
    theta = list(theta0)
    n = len(theta)
    m, v, vmax, gave, buf = ([0.0] * n for _ in range(5))
    traj = [list(theta)]
    for t in range(1, steps + 1):
        grads = grad(theta)
        for i in range(n):
            g = grads[i]
            if kind == "rmsprop":
                a = o["alpha"]
                g = g + o["weight_decay"] * theta[i]
                v[i] = a * v[i] + (1 - a) * g**2
                vt = v[i]
                if o["centered"]:
                    gave[i] = gave[i] * a + (1 - a) * g
                    vt = vt - gave[i] ** 2
                den = math.sqrt(vt) + o["eps"] if o["eps_mode"] == "outside" else math.sqrt(vt + o["eps"])
                if o["momentum"] > 0:
                    buf[i] = o["momentum"] * buf[i] + g / den
                    theta[i] = theta[i] - o["lr"] * buf[i]
                else:
                    theta[i] = theta[i] - o["lr"] * g / den
                continue
            b1, b2 = o["betas"]
            if kind == "adamw":
                theta[i] = theta[i] * (1 - (o["lr"] if o["decay_scale"] == "lr" else 1) * o["weight_decay"])
            else:
                g = g + o["weight_decay"] * theta[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            bc1, bc2 = (1 - b1**t, 1 - b2**t) if o["bias_correction"] else (1, 1)
            if o["amsgrad"] == "raw":
                vmax[i] = max(vmax[i], v[i])
                vhat = vmax[i] / bc2
            elif o["amsgrad"] == "corrected":
                vmax[i] = max(vmax[i], v[i] / bc2)
                vhat = vmax[i]
            else:
                vhat = v[i] / bc2
            if o["eps_mode"] == "outside":
                theta[i] -= o["lr"] * (m[i] / bc1) / (math.sqrt(vhat) + o["eps"])
            elif o["eps_mode"] == "inside":
                theta[i] -= o["lr"] * (m[i] / bc1) / math.sqrt(vhat + o["eps"])
            else:  # Kingma & Ba: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), eps hat added to sqrt(v)
                theta[i] -= o["lr"] * math.sqrt(bc2) / bc1 * m[i] / (math.sqrt(bc2 * vhat) + o["eps"])
        traj.append(list(theta))
    return np.array(traj)


def build(kind, o):
    if kind == "rmsprop":
        return rmsprop(o["lr"], o["alpha"], o["eps"], o["weight_decay"], o["momentum"], o["centered"],
                       eps_mode=o["eps_mode"])
    extra = {"decay_scale": o["decay_scale"]} if kind == "adamw" else {}
    return (adam if kind == "adam" else adamw)(
        o["lr"], o["betas"], o["eps"], o["weight_decay"], bool(o["amsgrad"]), eps_mode=o["eps_mode"],
        bias_correction=o["bias_correction"], amsgrad_max=o["amsgrad"] or "raw", **extra)


def grid(kind):
    # RMSprop's eps is larger on purpose: with eps = 1e-3, a coordinate whose gradient stays near 0
    # sees its v decay like alpha^t, the effective step lr / (sqrt(v) + eps) grows to ~lr / eps, and the
    # iteration becomes locally unstable (rounding differences grow ~3x per step), so no two correct
    # implementations agree to 1e-12 after 200 steps.  eps = 0.1 keeps lr * curvature / eps small.
    base = {"lr": 0.02, "eps": 0.1 if kind == "rmsprop" else 1e-3}
    if kind == "rmsprop":
        axes = {"alpha": [0.9], "weight_decay": [0.0, 0.1], "momentum": [0.0, 0.5],
                "centered": [False, True], "eps_mode": ["outside", "inside"]}
    else:
        axes = {"betas": [(0.8, 0.95)], "weight_decay": [0.0, 0.1], "amsgrad": [False, "raw", "corrected"],
                "eps_mode": ["outside", "inside", "hat"], "bias_correction": [True, False]}
        if kind == "adamw":
            axes.update(weight_decay=[0.5], decay_scale=["lr", "none"])
    return [dict(base, **dict(zip(axes, combo))) for combo in itertools.product(*axes.values())]


CASES = [(kind, o) for kind in ("rmsprop", "adam", "adamw") for o in grid(kind)]


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_scalar_reference_over_200_steps(seed):
    grad, theta0 = make_problem(seed)
    for kind, o in CASES:
        want = reference(kind, o, grad, theta0, 200)
        got = run(build(kind, o), lambda th: np.array(grad(th.tolist())), theta0, 200)
        assert got.shape == want.shape, (kind, o)
        err = np.abs(got - want).max() / np.abs(want).max()
        assert err < 1e-12, (kind, o, err)


@pytest.mark.parametrize("kind, distinct", [("rmsprop", 16), ("adam", 26), ("adamw", 26)])
def test_every_option_changes_the_trajectory(kind, distinct):
    """So the reference comparison cannot pass with an option silently ignored."""
    grad, theta0 = make_problem(0)
    finals = {}
    for o in grid(kind):
        final = tuple(run(build(kind, o), lambda th: np.array(grad(th.tolist())), theta0, 200)[-1])
        finals.setdefault(final, []).append(o)
    # Equal trajectories only where the math says so: without bias correction bc1 = bc2 = 1, so
    # "hat" == "outside" and AMSGrad "raw" == "corrected".  Adam's grid: 2 wd x 3 amsgrad x 3 eps_mode
    # = 18 with bias correction, 2 wd x 2 x 2 = 8 without; AdamW: 2 decay_scale x (9 + 4).
    for same in finals.values():
        if len(same) > 1:
            assert all(not o.get("bias_correction", True) for o in same), same
            rest = [{k: x for k, x in o.items() if k not in ("eps_mode", "amsgrad")} for o in same]
            assert all(r == rest[0] for r in rest), same
            modes, ams = {o["eps_mode"] for o in same}, {o["amsgrad"] for o in same}
            assert len(modes) == 1 or modes == {"outside", "hat"}, same
            assert len(ams) == 1 or ams == {"raw", "corrected"}, same
    assert len(finals) == distinct


# --------------------------------------------------------------------------- #
# Properties.
# --------------------------------------------------------------------------- #
OPTS = [rmsprop(0.1, momentum=0.5, centered=True, weight_decay=0.1), rmsprop(0.1, eps_mode="inside"),
        adam(0.1, weight_decay=0.1), adam(0.1, amsgrad=True), adam(0.1, amsgrad=True, amsgrad_max="corrected",
                                                                   eps_mode="hat"),
        adamw(0.1, amsgrad=True, weight_decay=0.1), adamw(0.1, eps_mode="inside", decay_scale="none")]


@settings(max_examples=80, deadline=None)
@given(vectors(finite, 4), st.integers(0, len(OPTS) - 1), st.integers(0, 5))
def test_steps_are_pure(arrays, which, step):
    params, grads, m, v = (np.array(x) for x in arrays)
    v = np.abs(v)
    opt = OPTS[which]
    keys = [k for k in opt.init(params) if k != "step"]
    state = {"step": step, **{k: (v if k in ("square_avg", "exp_avg_sq", "max_exp_avg_sq") else m).copy()
                              for k in keys}}
    before = (params.copy(), grads.copy(), {k: np.copy(x) for k, x in state.items()}, dict(state))
    new, new_state = opt.step(params, grads, state)
    np.testing.assert_array_equal(params, before[0])
    np.testing.assert_array_equal(grads, before[1])
    for k in state:
        np.testing.assert_array_equal(state[k], before[2][k])
        assert state[k] is before[3][k]
    assert set(state) == set(before[3]) and new_state is not state and new_state["step"] == step + 1
    inputs = [params, grads] + [state[k] for k in keys]
    for out in [new] + [new_state[k] for k in keys]:
        assert not any(np.shares_memory(out, x) for x in inputs)


@settings(max_examples=80, deadline=None)
@given(vectors(nonzero, 1), st.floats(1e-4, 10.0), st.floats(0.0, 0.999), st.floats(0.0, 0.9999),
       st.sampled_from(ADAM_VARIANTS), st.booleans(), st.integers(1, 30))
def test_eps_zero_steps_have_magnitude_lr(gs, lr, b1, b2, variant, w, steps):
    # eps = 0: mhat / sqrt(vhat) = g / |g| on the first step; for a gradient constant in time
    # (each coordinate its own value and sign) mhat = g and vhat = g^2 at every step
    mode, ams, amax = variant
    g = np.array(gs[0])
    factory = adamw if w else adam  # AdamW with weight_decay=0 is Adam
    opt = factory(lr, (b1, b2), 0.0, 0.0, ams, eps_mode=mode, amsgrad_max=amax)
    traj, _ = feed(opt, [g] * steps, np.zeros_like(g))
    steps_taken = np.diff(np.vstack([np.zeros_like(g), traj]), axis=0)
    np.testing.assert_allclose(steps_taken, np.tile(-lr * np.sign(g), (steps, 1)), rtol=1e-11)


SCALE_FREE = [
    ("adam", {"eps_mode": m, "amsgrad": a, "amsgrad_max": x}) for m, a, x in ADAM_VARIANTS
] + [
    ("adam", {"bias_correction": False}), ("adamw", {"weight_decay": 0.3}),
    ("adamw", {"weight_decay": 0.3, "decay_scale": "none", "amsgrad": True}),
    ("rmsprop", {}), ("rmsprop", {"centered": True, "momentum": 0.5}), ("rmsprop", {"eps_mode": "inside"}),
]


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.lists(st.lists(nonzero, min_size=n, max_size=n),
                                                     min_size=1, max_size=8)),
       st.floats(1e-3, 1e3), st.sampled_from(SCALE_FREE), st.floats(0.5, 0.99))
def test_eps_zero_update_is_invariant_to_gradient_scale(grads, c, case, decay):
    # with eps = 0 (and no coupled decay) every step is homogeneous of degree 0 in the gradients:
    # m -> c m, v -> c^2 v, vmax -> c^2 vmax, gbar -> c gbar, so m / sqrt(v) and g / sqrt(d) are unchanged
    kind, kw = case
    if kind == "rmsprop":
        opt = rmsprop(0.1, alpha=decay, eps=0.0, **kw)
    else:
        opt = (adam if kind == "adam" else adamw)(0.1, (0.9, decay), 0.0, **kw)
    theta0 = np.linspace(-1.0, 1.0, len(grads[0]))
    base, _ = feed(opt, grads, theta0)
    scaled, _ = feed(opt, [c * np.array(g) for g in grads], theta0)
    np.testing.assert_allclose(scaled, base, rtol=1e-9, atol=1e-9)
    if c < 0.5 or c > 2:  # ... while with eps > 0 the trajectory does depend on c
        opt_eps = dataclasses.replace(opt, eps=0.5)
        assert not np.allclose(feed(opt_eps, [c * np.array(g) for g in grads], theta0)[0],
                               feed(opt_eps, grads, theta0)[0], rtol=1e-9, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3).flatmap(lambda n: st.lists(st.lists(finite, min_size=n, max_size=n),
                                                     min_size=1, max_size=20)),
       st.floats(1e-3, 10.0), st.floats(0.0, 0.999), st.floats(0.01, 0.9999),
       st.sampled_from(ADAM_VARIANTS), st.booleans())
def test_adam_step_obeys_the_cauchy_schwarz_bound(grads, lr, b1, b2, variant, bias_correction):
    # m_t = (1-b1) sum_k b1^k g_{t-k},  v_t = (1-b2) sum_k b2^k g_{t-k}^2.  Cauchy-Schwarz on
    # sum_k (b1^k / b2^{k/2}) (b2^{k/2} g_{t-k}) gives |m_t| / sqrt(v_t) <= (1-b1)/sqrt(1-b2) sqrt(S_t),
    # S_t = sum_{k<t} (b1^2/b2)^k.  vhat >= v/bc2 (AMSGrad only raises it) and eps >= 0 only enlarge the
    # denominator, so |theta_t - theta_{t-1}| <= lr sqrt(bc2)/bc1 (1-b1)/sqrt(1-b2) sqrt(S_t).
    mode, ams, amax = variant
    opt = adam(lr, (b1, b2), 1e-12, amsgrad=ams, amsgrad_max=amax, eps_mode=mode,
               bias_correction=bias_correction)
    theta0 = np.zeros(len(grads[0]))
    traj, _ = feed(opt, grads, theta0)
    steps = np.abs(np.diff(np.vstack([theta0, traj]), axis=0))
    for t in range(1, len(grads) + 1):
        s_t = sum((b1 * b1 / b2) ** k for k in range(t))
        corr = math.sqrt(1 - b2**t) / (1 - b1**t) if bias_correction else 1.0
        bound = lr * corr * (1 - b1) / math.sqrt(1 - b2) * math.sqrt(s_t)
        assert steps[t - 1].max() <= bound * (1 + 1e-9), (t, steps[t - 1], bound)


# --------------------------------------------------------------------------- #
# Bad input.
# --------------------------------------------------------------------------- #
def unit(name, got):
    return rf"{name} must be a finite number with 0 <= {name} < 1, got {got}"


@pytest.mark.parametrize(
    "factory, kwargs, match",
    [
        (rmsprop, {"lr": 0.0}, r"lr must be a finite number > 0, got 0.0"),
        (rmsprop, {"lr": float("nan")}, r"lr must be a finite number > 0, got nan"),
        (rmsprop, {"lr": "0.1"}, r"lr must be a finite number > 0, got '0.1'"),
        (rmsprop, {"alpha": 1.0}, unit("alpha", "1.0")),
        (rmsprop, {"alpha": -0.1}, unit("alpha", "-0.1")),
        (rmsprop, {"alpha": True}, unit("alpha", "True")),
        (rmsprop, {"eps": -1e-8}, r"eps must be a finite number >= 0, got -1e-08"),
        (rmsprop, {"weight_decay": float("inf")}, r"weight_decay must be a finite number >= 0, got inf"),
        (rmsprop, {"momentum": 1.0}, unit("momentum", "1.0")),
        (rmsprop, {"momentum": -0.5}, unit("momentum", "-0.5")),
        (rmsprop, {"centered": 1}, r"centered must be True or False, got 1"),
        (rmsprop, {"eps_mode": "hat"}, r"eps_mode must be one of 'outside', 'inside', got 'hat'"),
        (rmsprop, {"eps_mode": None}, r"eps_mode must be one of 'outside', 'inside', got None"),
        (adam, {"lr": -1.0}, r"lr must be a finite number > 0, got -1.0"),
        (adam, {"betas": 0.9}, r"betas must be a pair \(beta1, beta2\) with 0 <= beta < 1, got 0.9"),
        (adam, {"betas": (0.9,)}, r"betas must be a pair \(beta1, beta2\).*got \(0.9,\)"),
        (adam, {"betas": (0.9, 0.99, 0.999)}, r"betas must be a pair"),
        (adam, {"betas": "ab"}, r"betas must be a pair.*got 'ab'"),
        (adam, {"betas": (1.0, 0.999)}, unit(r"betas\[0\]", "1.0")),
        (adam, {"betas": (0.9, -0.1)}, unit(r"betas\[1\]", "-0.1")),
        (adam, {"betas": (0.9, float("nan"))}, unit(r"betas\[1\]", "nan")),
        (adam, {"eps": float("nan")}, r"eps must be a finite number >= 0, got nan"),
        (adam, {"weight_decay": -0.1}, r"weight_decay must be a finite number >= 0, got -0.1"),
        (adam, {"amsgrad": "yes"}, r"amsgrad must be True or False, got 'yes'"),
        (adam, {"bias_correction": 0}, r"bias_correction must be True or False, got 0"),
        (adam, {"eps_mode": "Outside"}, r"eps_mode must be one of 'outside', 'inside', 'hat', got 'Outside'"),
        (adam, {"amsgrad_max": "max"}, r"amsgrad_max must be one of 'raw', 'corrected', got 'max'"),
        (adamw, {"decay_scale": "param"}, r"decay_scale must be one of 'lr', 'none', got 'param'"),
        (adamw, {"decay_scale": None}, r"decay_scale must be one of 'lr', 'none', got None"),
        (adamw, {"weight_decay": -1.0}, r"weight_decay must be a finite number >= 0, got -1.0"),
        (adamw, {"betas": [0.9, 1.5]}, unit(r"betas\[1\]", "1.5")),
        (adamw, {"lr": 0}, r"lr must be a finite number > 0, got 0.0"),
    ],
)
def test_rejects_bad_hyperparameters(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)
    cls = {rmsprop: RMSprop, adam: Adam, adamw: AdamW}[factory]
    with pytest.raises(ValueError, match=match):  # the classes validate too
        cls(**kwargs)


STEP_MSG = r"state\['step'\] must be an integer >= 0, got "


def zeros(*keys, step=1):
    return {"step": step, **{k: np.zeros(2) for k in keys}}


@pytest.mark.parametrize(
    "opt, state, match",
    [
        (adam(), None, r"state must be the dict returned by init\(\), got NoneType"),
        (adam(), {"exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)},
         STEP_MSG + "None"),
        (adam(), zeros("exp_avg", "exp_avg_sq", step=-1), STEP_MSG + "-1"),
        (adam(), zeros("exp_avg", "exp_avg_sq", step=1.0), STEP_MSG + "1.0"),
        (adam(), zeros("exp_avg", "exp_avg_sq", step=True), STEP_MSG + "True"),
        (adam(), zeros("exp_avg"), r"state must be the dict returned by init\(\) \(with key 'exp_avg_sq'\)"),
        (adam(amsgrad=True), zeros("exp_avg", "exp_avg_sq"), r"with key 'max_exp_avg_sq'"),
        (adamw(), {"step": 1, "exp_avg": np.zeros(3), "exp_avg_sq": np.zeros(2)},
         r"state\['exp_avg'\] must have shape \(2,\) to match the parameters, got \(3,\)"),
        (adam(), {"step": 1, "exp_avg": [np.nan, 0.0], "exp_avg_sq": np.zeros(2)},
         r"state\['exp_avg'\] must be finite, got nan/inf at indices \[0\]"),
        (adam(), {"step": 1, "exp_avg": np.zeros(2), "exp_avg_sq": [0.0, -1.0]},
         r"state\['exp_avg_sq'\] must be >= 0 \(a mean of squares\), got negative entries at indices \[1\]"),
        (adam(amsgrad=True), {**zeros("exp_avg", "exp_avg_sq"), "max_exp_avg_sq": [-1.0, 0.0]},
         r"state\['max_exp_avg_sq'\] must be >= 0"),
        (rmsprop(), zeros("exp_avg", "exp_avg_sq"), r"with key 'square_avg'"),
        (rmsprop(centered=True), zeros("square_avg"), r"with key 'grad_avg'"),
        (rmsprop(momentum=0.5), zeros("square_avg"), r"with key 'momentum_buffer'"),
        (rmsprop(), {"step": 0, "square_avg": [-1.0, 1.0]}, r"state\['square_avg'\] must be >= 0"),
        (rmsprop(), {"step": "1", "square_avg": np.zeros(2)},
         STEP_MSG + "'1'"),
    ],
)
def test_steps_reject_bad_state(opt, state, match):
    with pytest.raises(ValueError, match=match):
        opt.step(np.zeros(2), np.ones(2), state)


@pytest.mark.parametrize("opt", [rmsprop(), adam(), adamw(amsgrad=True)])
def test_steps_reject_bad_arrays(opt):
    state = opt.init(np.zeros(2))
    with pytest.raises(ValueError, match=r"grads must have shape \(2,\) to match the parameters, got \(3,\)"):
        opt.step(np.zeros(2), np.zeros(3), state)
    with pytest.raises(ValueError, match=r"grads must be finite, got nan/inf at indices \[1\]"):
        opt.step(np.zeros(2), np.array([0.0, np.nan]), state)
    with pytest.raises(ValueError, match=r"params must be finite"):
        opt.step(np.array([np.inf, 0.0]), np.zeros(2), state)
    with pytest.raises(ValueError, match=r"params must be a non-empty array, got shape \(2, 0\)"):
        opt.init(np.zeros((2, 0)))
    with pytest.raises(ValueError, match=r"params must be an array of real numbers, got str"):
        opt.init("abc")
