"""``step_`` (in place) of every hand-written optimizer against its pure ``step``, and the cheap
validation: structure per call, finiteness once on the result (``check``).

The reference for ``step_`` is the pure ``step`` (itself tested against torch.optim in
tests/test_zoo_*.py and test_numeric_*.py): the two must agree bit for bit, as ``step_`` is
documented to be the same arithmetic.
"""
import tracemalloc

import numpy as np
import pytest

from numeric.optimizers import (adadelta, adafactor, adagrad, adam, adamax, adamw, asgd, gd, heavy_ball, lion,
                                muon, nadam, nesterov, radam, rmsprop, rprop, sgd)

ALL = {
    "gd": gd(0.1), "gd-wd": gd(0.1, weight_decay=0.05),
    "heavy_ball": heavy_ball(0.05, 0.9), "nesterov": nesterov(0.05, 0.9),
    "sgd": sgd(0.05), "sgd-momentum": sgd(0.05, momentum=0.9),
    "sgd-damp-wd": sgd(0.05, 0.9, dampening=0.3, weight_decay=0.01),
    "sgd-nesterov-wd": sgd(0.05, 0.9, nesterov=True, weight_decay=0.01),
    "rmsprop": rmsprop(1e-2), "rmsprop-all": rmsprop(1e-2, weight_decay=0.01, momentum=0.5, centered=True),
    "rmsprop-inside": rmsprop(1e-2, eps_mode="inside", centered=True),
    "adam": adam(1e-2), "adam-wd-amsgrad": adam(1e-2, weight_decay=0.01, amsgrad=True),
    "adam-hat-corrected": adam(1e-2, amsgrad=True, amsgrad_max="corrected", eps_mode="hat"),
    "adam-inside-corrected": adam(1e-2, amsgrad=True, amsgrad_max="corrected", eps_mode="inside"),
    "adam-inside-nobc": adam(1e-2, eps_mode="inside", bias_correction=False),
    "adam-hat": adam(1e-2, eps_mode="hat", weight_decay=0.1),
    "adamw": adamw(1e-2), "adamw-none-amsgrad": adamw(1e-2, decay_scale="none", amsgrad=True),
    "adamw-nowd": adamw(1e-2, weight_decay=0.0),
    "adagrad": adagrad(0.1, lr_decay=0.01, weight_decay=0.01), "adagrad-inside": adagrad(0.1, eps_mode="inside"),
    "adadelta": adadelta(),
    "asgd": asgd(0.05, t0=3), "rprop": rprop(), "adafactor": adafactor(), "nadam": nadam(),
    "radam": radam(), "adamax": adamax(), "lion": lion(1e-3, weight_decay=0.1),
    "lion-none": lion(1e-3, weight_decay=0.01, decay_scale="none"), "muon": muon(),
}
SHAPES = [(7,), (3, 4), ()]


def grads_at(p, rng):
    """A noisy gradient of a random quadratic, at the current params (closed loop)."""
    return 1.3 * p - 0.4 * np.tanh(p) + 0.5 * rng.normal(size=p.shape)


def assert_same(a, b, what):
    """Bit for bit (``array_equal``: values and shapes; +0 and -0 count as equal)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.shape(a) == np.shape(b) and np.array_equal(a, b), what
    else:
        assert a == b, what


def run_both(opt, p0, steps, seed):
    """Run ``step`` and ``step_`` side by side; assert equality after every step."""
    rng_a, rng_b = np.random.default_rng(seed), np.random.default_rng(seed)
    listed = isinstance(p0, list)
    p = [x.copy() for x in p0] if listed else p0.copy()
    q = [x.copy() for x in p0] if listed else p0.copy()
    sp, sq = opt.init(p), opt.init(q)
    q_ids = [id(x) for x in q] if listed else id(q)
    sq_arrays = {(i, k): v for i, s in enumerate(sq if listed else [sq]) for k, v in s.items()
                 if isinstance(v, np.ndarray)}
    for k in range(steps):
        gp = [grads_at(x, rng_a) for x in p] if listed else grads_at(p, rng_a)
        gq = [grads_at(x, rng_b) for x in q] if listed else grads_at(q, rng_b)
        p, sp = opt.step(p, gp, sp)
        assert opt.step_(q, gq, sq) is None
        for i, (a, b, s1, s2) in enumerate(zip(p if listed else [p], q if listed else [q],
                                                sp if listed else [sp], sq if listed else [sq])):
            assert_same(a, b, f"params[{i}] after step {k + 1}")
            assert set(s1) == set(s2)
            for key in s1:
                assert_same(s1[key], s2[key], f"state[{i}][{key!r}] after step {k + 1}")
    # the very same arrays were updated
    assert ([id(x) for x in q] if listed else id(q)) == q_ids
    for (i, k), v in sq_arrays.items():
        assert (sq[i] if listed else sq)[k] is v
    return p


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_step_inplace_equals_step_bit_for_bit(name, shape):
    if name == "muon" and len(shape) != 2:
        pytest.raises(ValueError, ALL[name].init, np.zeros(shape))  # Muon takes matrices only
        return
    rng = np.random.default_rng(abs(hash((name, shape))) % 2**32)
    p = run_both(ALL[name], rng.normal(size=shape), 60, seed=1)
    assert np.isfinite(p).all()


@pytest.mark.parametrize("name", sorted(ALL))
def test_step_inplace_on_a_param_list(name):
    rng = np.random.default_rng(7)
    shapes = [(4, 3), (2, 5)] if name == "muon" else [(5,), (2, 3), ()]
    run_both(ALL[name], [rng.normal(size=s) for s in shapes], 40, seed=2)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd-momentum", "sgd-nesterov-wd", "rmsprop-all", "gd-wd"])
def test_step_inplace_on_views_and_aliased_grads(name):
    # params a strided view of a larger buffer; grads the params array itself (grad of |p|^2/2)
    opt = ALL[name]
    buf = np.random.default_rng(3).normal(size=(6, 8))
    q = buf[::2, 1::2]
    p = q.copy()
    sp, sq = opt.init(p), opt.init(q)
    for _ in range(25):
        p, sp = opt.step(p, p, sp)
        opt.step_(q, q, sq)
        assert np.array_equal(p, q) and np.shares_memory(q, buf)


@pytest.mark.parametrize("name", ["adam", "adamw", "adam-wd-amsgrad", "sgd-momentum", "sgd-nesterov-wd",
                                  "rmsprop-all", "gd-wd", "heavy_ball", "nesterov", "lion", "adagrad"])
def test_step_inplace_allocates_no_n_arrays(name):
    n = 200_000  # 1.6 MB per array
    opt = ALL[name]
    rng = np.random.default_rng(4)
    p, g = rng.normal(size=n), rng.normal(size=n)
    state = opt.init(p)
    opt.step_(p, g, state)  # warm: the scratch buffers exist
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step_(p, g, state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * n / 10, f"{name}: {peak} bytes allocated by a warm step_ (one array is {8 * n})"


@pytest.mark.parametrize(
    "params, match",
    [
        (np.zeros(3, dtype=np.float32),
         r"^params must be a float64 ndarray to be updated in place, got ndarray of "
         r"dtype float32 \(convert it with np.asarray\(x, dtype=float\), or use step\(\)\)$"),
        (np.zeros(3, dtype=int), r"^params must be a float64 ndarray .* got ndarray of dtype int64"),
        ([0.0, 1.0, 2.0], r"^params must be a float64 ndarray to be updated in place, got list"),
        (np.zeros(0), r"^params must be a non-empty array, got shape \(0,\)$"),
    ],
)
def test_step_inplace_refuses_what_it_cannot_mutate(params, match):
    opt = adam()
    with pytest.raises(ValueError, match=match) as err:
        opt.step_(params, np.zeros(np.shape(params)), opt.init(np.zeros(max(np.size(params), 1))))
    assert "\n" not in str(err.value)


def test_step_inplace_refuses_read_only_arrays_in_one_line():
    opt = adam()
    p = np.zeros(3)
    state = opt.init(p)
    p.setflags(write=False)
    with pytest.raises(ValueError, match=r"^params must be a writable array to be updated in place, got a "
                                         r"read-only one \(pass a copy, or use step\(\)\)$"):
        opt.step_(p, np.ones(3), state)
    q = np.zeros(3)
    state["exp_avg"].setflags(write=False)
    with pytest.raises(ValueError, match=r"^state\['exp_avg'\] must be a writable array") as err:
        opt.step_(q, np.ones(3), state)
    assert "\n" not in str(err.value) and np.array_equal(q, np.zeros(3))  # refused before any write
    state = opt.init(q)
    state["exp_avg_sq"] = state["exp_avg_sq"].astype(np.float32)
    with pytest.raises(ValueError, match=r"^state\['exp_avg_sq'\] must be a float64 ndarray .* dtype float32"):
        opt.step_(q, np.ones(3), state)
    lst = [np.zeros(2), np.zeros(2)]
    states = opt.init(lst)
    lst[1].setflags(write=False)
    with pytest.raises(ValueError, match=r"^params\[1\] must be a writable array"):
        opt.step_(lst, [np.ones(2), np.ones(2)], states)
    with pytest.raises(ValueError, match=r"^state\['exp_avg'\] shares memory with params"):
        p = np.zeros(3)
        opt.step_(p, np.ones(3), {"step": 0, "exp_avg": p, "exp_avg_sq": np.zeros(3)})


def test_step_inplace_keeps_the_structural_errors_of_step():
    opt = sgd(0.1, 0.9)
    with pytest.raises(ValueError, match=r"^state\['step'\] must be an integer >= 0, got None$"):
        opt.step_(np.zeros(2), np.zeros(2), {"momentum_buffer": np.zeros(2)})
    with pytest.raises(ValueError, match=r"^grads must have shape \(2,\) to match the parameters, got \(3,\)$"):
        opt.step_(np.zeros(2), np.zeros(3), opt.init(np.zeros(2)))
    with pytest.raises(ValueError, match=r"^state\['momentum_buffer'\] must have shape \(2,\)"):
        opt.step_(np.zeros(2), np.zeros(2), {"momentum_buffer": np.zeros(3), "step": 1})
    with pytest.raises(ValueError, match=r"^grads must be a list of 2 arrays"):
        opt.step_([np.zeros(2), np.zeros(2)], [np.zeros(2)], opt.init([np.zeros(2), np.zeros(2)]))


def eps0_nan_case():
    """Adam with eps = 0 from the zero state and a zero gradient: 0 / 0 = nan on the first step
    (torch gives nan too); every input is finite."""
    return adam(0.1, eps=0.0), np.ones(3), np.zeros(3)


def test_default_check_catches_a_nan_produced_by_a_step():
    opt, p, g = eps0_nan_case()
    with pytest.raises(ValueError, match=r"^params after the step are not finite \(nan/inf at indices \[0, 1, 2\]\) "
                                         r"although params, grads and state were: .*check=False"):
        opt.step(p, g, opt.init(p))
    q = p.copy()
    with pytest.raises(ValueError, match=r"^params after step_ are not finite \(nan/inf at indices \[0, 1, 2\]\)"):
        opt.step_(q, g, opt.init(q))
    lst = [p.copy(), p.copy()]
    with pytest.raises(ValueError, match=r"^params\[0\] after step_ are not finite"):
        opt.step_(lst, [g, g], opt.init(lst))


def test_check_false_skips_the_finiteness_check():
    opt, p, g = eps0_nan_case()
    new, state = opt.step(p, g, opt.init(p), check=False)
    assert np.isnan(new).all() and state["step"] == 1
    q = p.copy()
    s = opt.init(q)
    assert opt.step_(q, g, s, check=False) is None
    assert np.isnan(q).all() and s["step"] == 1
    # non-finite inputs too: they propagate as in torch.optim
    new, _ = sgd(0.1, 0.9).step(np.array([np.inf, 0.0]), np.zeros(2), sgd(0.1, 0.9).init(np.zeros(2)), check=False)
    assert np.isnan(new[0]) and new[1] == 0.0  # inf + 0 * inf (the decay term)


def test_a_divergence_is_caught_by_default_and_allowed_with_check_false():
    opt = gd(1e300)
    p, g = np.array([1.0, -1.0]), np.array([1e10, 1.0])
    with pytest.raises(ValueError, match=r"^params after the step are not finite \(nan/inf at indices \[0\]\)"):
        opt.step(p, g, {})
    assert np.isinf(opt.step(p, g, {}, check=False)[0][0])


def test_non_finite_inputs_keep_their_messages():
    # found by re-checking the inputs once the result is not finite (test_numeric_* check more)
    opt = adam()
    st = opt.init(np.zeros(2))
    with pytest.raises(ValueError, match=r"^grads must be finite, got nan/inf at indices \[1\]$"):
        opt.step(np.zeros(2), np.array([0.0, np.nan]), st)
    with pytest.raises(ValueError, match=r"^params must be finite, got nan/inf at indices \[0\]$"):
        opt.step(np.array([np.inf, 0.0]), np.zeros(2), st)
    with pytest.raises(ValueError, match=r"^grads must be finite, got nan/inf at indices \[1\]$"):
        opt.step_(np.zeros(2), np.array([0.0, np.nan]), opt.init(np.zeros(2)))
    bad = {"step": 3, "exp_avg": np.array([0.0, np.nan]), "exp_avg_sq": np.zeros(2)}
    with pytest.raises(ValueError, match=r"^state\['exp_avg'\] must be finite, got nan/inf at indices \[1\] "
                                         r"\(in state\[1\], the state of params\[1\]\)$"):
        opt.step([np.zeros(2), np.zeros(2)], [np.ones(2), np.ones(2)], [opt.init(np.zeros(2)), bad])
    with pytest.raises(ValueError, match=r"^state\['exp_avg_sq'\] must be >= 0 \(a mean of squares\)"):
        opt.step(np.zeros(2), np.ones(2), {"step": 3, "exp_avg": np.zeros(2), "exp_avg_sq": np.array([0.0, -1.0])})


@pytest.mark.parametrize("name", sorted(ALL))
def test_a_refused_state_leaves_params_and_state_untouched(name):
    opt = ALL[name]
    shape = (3, 2)
    p = np.random.default_rng(5).normal(size=shape)
    state = opt.init(p)
    opt.step_(p, np.ones(shape), state)
    for key in [k for k, v in state.items() if isinstance(v, np.ndarray)]:
        bad = dict(state)
        bad.pop(key)  # a missing entry: a one-line ValueError, and nothing written
        before_p, before = p.copy(), {k: np.copy(v) for k, v in bad.items()}
        msg = rf"^state must be the dict returned by init\(\) \(with key '{key}'\)"
        with pytest.raises(ValueError, match=msg) as e:
            opt.step_(p, np.ones(shape), bad)
        assert "\n" not in str(e.value) and np.array_equal(p, before_p)
        assert all(np.array_equal(bad[k], before[k]) for k in before)
