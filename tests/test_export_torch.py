"""derive.export.torch_optimizer (rule.to_torch()): the generated torch.optim.Optimizer subclasses
against torch.optim's own SGD, Adam and AdamW in float64 over 60 steps on a random problem with
gradients taken by autograd through a closure (params and every state entry both keep, to 1e-12
relative), against the hand-written NumPy optimizers for a .rule file (Lion) and for a rule whose
update switches on the state (Rprop, the per-tensor fallback); grads None skipped, param groups,
the step counter's Piecewise resolved per step, zero hyperparameters specialised away, and one-line
refusals for what cannot be exported."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from derive.export import torch_optimizer
from derive.rules import adaptive
from derive.rules.library import TEXT_DIR, resolve
from derive.update_rule import UpdateRule
from numeric.optimizers import lion, rprop

RTOL = 1e-12
STEPS = 60
SHAPES = [(5,), (3, 4), (), (2, 1, 3)]


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    p0 = [torch.randn(s, dtype=torch.float64, generator=g) for s in SHAPES]
    curv = [torch.rand(s, dtype=torch.float64, generator=g) * 2 + 0.1 for s in SHAPES]
    return p0, curv


def _run(make, steps: int = STEPS, seed: int = 0, skip: int | None = None):
    """Minimise sum(a p^2/2 + sin(3p)) with ``make(params)``; the param with index ``skip`` gets no
    gradient on every third step (grad None).  Returns params, the optimizer and the closure's losses."""
    p0, curv = _problem(seed)
    ps = [p.clone().requires_grad_() for p in p0]
    opt = make(ps)
    losses = []
    for k in range(steps):
        def closure():
            opt.zero_grad()
            loss = sum((0.5 * a * p**2 + torch.sin(3 * p)).sum() for a, p in zip(curv, ps))
            loss.backward()
            if skip is not None and k % 3 == 0:
                ps[skip].grad = None
            return loss

        losses.append(float(opt.step(closure).detach()))
    return ps, opt, losses


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    assert a.shape == b.shape
    err = float(((a - b).abs() / b.abs().clamp_min(1e-300)).max()) if a.numel() else 0.0
    assert err <= RTOL or torch.allclose(a, b, rtol=RTOL, atol=1e-15), err


def _compare(ours, ref, kwargs, state_map, skip=None):
    mine, opt, losses = _run(lambda ps: ours(ps, **kwargs), skip=skip)
    theirs, topt, tlosses = _run(lambda ps: ref(ps, **kwargs), skip=skip)
    assert len(losses) == STEPS and np.allclose(losses, tlosses, rtol=1e-12)
    for p, q in zip(mine, theirs):
        _close(p.detach(), q.detach())
        for k_ours, k_torch in state_map.items():
            _close(opt.state[p][k_ours], topt.state[q][k_torch])
    return opt


@pytest.mark.parametrize("nesterov, dampening, weight_decay", [(False, 0.0, 0.0), (False, 0.3, 0.01),
                                                                (True, 0.0, 0.02)])
def test_sgd_momentum_matches_torch(nesterov, dampening, weight_decay):
    cls = adaptive.sgd_rule(nesterov=nesterov).to_torch()
    kw = dict(lr=0.05, momentum=0.9, dampening=dampening, weight_decay=weight_decay)
    opt = _compare(cls, lambda ps, **k: torch.optim.SGD(ps, nesterov=nesterov, **k), kw,
                   {"momentum_buffer": "momentum_buffer"})
    assert all(st["step"] == STEPS for st in opt.state.values())  # the scalar counter, a Python int


def test_plain_sgd_matches_torch():
    cls = torch_optimizer(adaptive.sgd_rule(momentum=False))
    _compare(cls, torch.optim.SGD, dict(lr=0.1, weight_decay=0.05), {})


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_and_adamw_match_torch(amsgrad, weight_decay):
    states = {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq", **({"max_exp_avg_sq": "max_exp_avg_sq"}
                                                                   if amsgrad else {})}
    kw = dict(lr=0.02, betas=(0.8, 0.95), eps=1e-8, weight_decay=weight_decay)
    for rule, ref in ((adaptive.adam_rule(amsgrad=amsgrad), torch.optim.Adam),
                      (adaptive.adamw_rule(amsgrad=amsgrad), torch.optim.AdamW)):
        opt = _compare(rule.to_torch(), lambda ps, **k: ref(ps, amsgrad=amsgrad, **k), kw, states, skip=1)
        steps = [opt.state[p]["step"] for group in opt.param_groups for p in group["params"]]
        assert steps[1] == STEPS - len(range(0, STEPS, 3)) and steps[0] == STEPS  # grad None: no step


def test_param_groups_and_defaults():
    cls = adaptive.adam_rule().to_torch()
    sig = inspect.signature(cls.__init__).parameters
    assert sig["lr"].default == 1e-3 and sig["betas"].default == (0.9, 0.999) and sig["eps"].default == 1e-8
    groups = lambda ps: [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.003, "betas": (0.5, 0.9)}]  # noqa: E731
    mine, _, _ = _run(lambda ps: cls(groups(ps), lr=0.01))
    theirs, _, _ = _run(lambda ps: torch.optim.Adam(groups(ps), lr=0.01))
    for p, q in zip(mine, theirs):
        _close(p.detach(), q.detach())


def test_lion_rule_file_matches_hand_written_numpy():
    rule = UpdateRule.from_file(TEXT_DIR / "lion.rule")
    cls = torch_optimizer(rule, name="LionFromText")
    assert cls.__name__ == "LionFromText" and cls.tuples == {"betas": ("beta1", "beta2")}
    hyper = dict(lr=0.01, betas=(0.8, 0.97), weight_decay=0.1)
    rng = np.random.default_rng(3)
    x0 = [rng.normal(size=s) for s in SHAPES]
    curv = [rng.uniform(0.1, 2.0, size=s) for s in SHAPES]
    ref = lion(**hyper)
    xs, states = [x.copy() for x in x0], [ref.init(x) for x in x0]
    ps = [torch.tensor(x) for x in x0]
    opt = cls(ps, **hyper)
    for _ in range(STEPS):
        grads = [a * x + np.cos(x) for a, x in zip(curv, xs)]
        for i, gr in enumerate(grads):
            xs[i], states[i] = ref.step(xs[i], gr, states[i])
        for p, gr in zip(ps, grads):
            p.grad = torch.tensor(gr)
        opt.step()
    for x, p, st in zip(xs, ps, states):
        _close(p, torch.tensor(x))
        _close(opt.state[p]["exp_avg"], torch.tensor(st["exp_avg"]))


def test_rprop_state_switch_uses_the_per_tensor_fallback_and_matches_numpy():
    cls = resolve("rprop").to_torch()
    assert "torch.where" in cls.source and "zip(p" in cls.source  # Piecewise in the state: TorchPrinter loop
    hyper = dict(lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0))
    rng = np.random.default_rng(4)
    x0 = rng.normal(size=7)
    ref = rprop(**hyper)
    x, st = x0.copy(), ref.init(x0)
    p = torch.tensor(x0)
    opt = cls([p], **hyper)
    for k in range(STEPS):
        gr = np.sin(5 * x) + 0.3 * x
        x, st = ref.step(x, gr, st)
        p.grad = torch.tensor(gr)
        opt.step()
    _close(p, torch.tensor(x))
    assert opt.state[p]["step_size"].dtype == torch.float64


def test_generated_code_is_inspectable_and_specialised():
    cls = adaptive.adam_rule().to_torch()
    assert "class Adam(torch.optim.Optimizer)" in cls.source and "def kernel(" in cls.source
    kernel = cls.source.split("def kernel(")[1]
    body = kernel.split('"""')[2]
    # weight_decay = 0 (the default) is substituted: no pass over the params for it
    assert "h_weight_decay" not in body and "_foreach_lerp_" in body and "_foreach_addcdiv_(p" in body
    sgd = adaptive.sgd_rule().to_torch()
    _run(lambda ps: sgd(ps, lr=0.01, momentum=0.9), steps=2)
    kernels = sgd.kernel_sources()
    assert len(kernels) == 2 and "branches (0,)" in kernels[0] and "branches (1,)" in kernels[1]
    assert "clone" in kernels[0]  # torch's first step: buf = grad (a copy, never the grad itself)


def test_closure_and_none_grads():
    cls = adaptive.adam_rule().to_torch()
    p, q = torch.ones(3, dtype=torch.float64, requires_grad=True), torch.ones(2, dtype=torch.float64)
    opt = cls([p, q], lr=0.1)
    loss = opt.step(lambda: (p**2).sum().backward() or torch.tensor(7.0))
    assert float(loss) == 7.0 and not torch.equal(p.detach(), torch.ones(3, dtype=torch.float64))
    assert torch.equal(q, torch.ones(2, dtype=torch.float64)) and q not in opt.state
    assert opt.step() is None


@pytest.mark.parametrize("spec, fragment", [
    ("muon", "orth(...) in the update of theta acts on the whole array"),
    ("adafactor", "acts on the whole array"),
    ("triple-momentum", "look-ahead"),
    ("nesterov", "look-ahead"),
])
def test_refused_rules_say_why_in_one_line(spec, fragment):
    with pytest.raises(ValueError) as info:
        torch_optimizer(resolve(spec))
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg and msg.startswith(f"{spec}: cannot export to torch")


def test_bad_input_one_line():
    cases = [
        (lambda: torch_optimizer("adam"), "takes an UpdateRule"),
        (lambda: torch_optimizer(adaptive.adam_rule(), name="not a name"), "Python identifier"),
        (lambda: adaptive.adam_rule().to_torch()([torch.zeros(2)], lr=float("nan")), "lr must be a finite"),
        (lambda: adaptive.adam_rule().to_torch()([torch.zeros(2)], betas=(0.9,)), "betas must be a tuple of 2"),
        (lambda: adaptive.sgd_rule().to_torch()([torch.zeros(2)]), "missing"),
    ]
    for make, fragment in cases:
        with pytest.raises((ValueError, TypeError)) as info:
            make()
        assert fragment in str(info.value) and "\n" not in str(info.value)


def test_float32_params_keep_their_dtype():
    cls = adaptive.adam_rule().to_torch()
    p = torch.ones(4, dtype=torch.float32, requires_grad=True)
    opt = cls([p], lr=0.1)
    p.grad = torch.full((4,), 0.5)
    opt.step()
    assert p.dtype == torch.float32 and opt.state[p]["exp_avg"].dtype == torch.float32
    torch.testing.assert_close(p.detach(), torch.full((4,), 0.9))  # Adam's first step is lr*sign(g)


def test_text_rule_with_theta_valued_state_matches_lambdified(tmp_path):
    """prev = theta (the old parameter) and an initial value from a hyperparameter: the parameter may
    not be updated in place before prev has copied it."""
    path = tmp_path / "prev.rule"
    path.write_text("name: prev-momentum\ntitle: momentum from the previous iterate\nhyper: lr=0.1, beta=0.5\n"
                    "state: prev=theta, acc=lr\nnew = theta - lr*g(theta) + beta*(theta - prev)\n"
                    "acc = beta*acc + lr\nprev = theta\ntheta = new\n")
    rule = UpdateRule.from_file(path)
    lam = rule.lambdify(lr=0.2, beta=0.6)
    x = np.array([1.0, -2.0, 0.5])
    st = lam.init(x)
    p = torch.tensor(x)
    opt = rule.to_torch()([p], lr=0.2, beta=0.6)
    for _ in range(STEPS):
        gr = np.sin(x) + 0.5 * x
        x, st = lam.step(x, gr, st)
        p.grad = torch.sin(p) + 0.5 * p
        opt.step()
    _close(p, torch.tensor(x))
    _close(opt.state[p]["prev"], torch.tensor(st["prev"]))
    _close(opt.state[p]["acc"], torch.tensor(st["acc"]))


def test_derive_export_imports_no_torch_until_called():
    import subprocess
    import sys

    code = ("import sys, derive.export, derive.update_rule; "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(TEXT_DIR.parents[2]))


def test_state_dict_round_trip_resumes_the_same_run():
    cls = adaptive.adam_rule(amsgrad=True).to_torch()
    whole, _, _ = _run(lambda ps: cls(ps, lr=0.01))
    p0, curv = _problem()
    ps = [p.clone().requires_grad_() for p in p0]
    opt = cls(ps, lr=0.01)
    for k in range(STEPS):
        if k == STEPS // 2:
            saved = opt.state_dict()
            opt = cls(ps, lr=0.5)  # overwritten by the saved param groups
            opt.load_state_dict(saved)
        opt.zero_grad()
        sum((0.5 * a * p**2 + torch.sin(3 * p)).sum() for a, p in zip(curv, ps)).backward()
        opt.step()
    for p, q in zip(ps, whole):
        _close(p.detach(), q.detach())
