"""The verification checks: they pass on the real code and fail on broken code."""
import numpy as np

from derive.rules.gradient_descent import gd_rule
from numeric import optimizers, problems
from verify import checks
from verify.checks import gd as gd_checks
from verify.checks import CheckResult


def test_all_checks_pass():
    results = checks.run()
    failed = [(r.check, r.error, r.tolerance, r.detail) for r in results if r.status != "pass"]
    assert not failed
    names = {r.check for r in results}
    for prefix in ("derivation/", "derivatives/", "gd-lambdified", "gd-critical-step/", "gd-convergence-rate/",
                   "gd-regimes", "gd-modified-flow/order-2"):
        assert any(n.startswith(prefix) for n in names), prefix


def test_a_wrong_implementation_is_caught(monkeypatch):
    class SignBug(optimizers.GD):  # weight decay with the wrong sign
        def step(self, params, grads, state):
            return params - self.lr * (grads - self.weight_decay * params), state

    monkeypatch.setattr(optimizers, "gd", lambda lr, weight_decay=0.0: SignBug(lr, weight_decay))
    (r,) = gd_checks.lambdified_vs_handwritten(steps=5)
    assert r.status == "fail" and r.error > 1e-6


def test_check_results_fail_on_nan_and_crashes(monkeypatch):
    assert CheckResult("x", "y", float("nan"), 1.0).status == "fail"
    monkeypatch.setitem(checks.GROUPS, "boom", "gd:does_not_exist")
    (r,) = checks.run(["boom"])
    assert r.status == "fail" and "AttributeError" in r.detail


def test_lambdified_rule_runs_like_handwritten_over_many_steps():
    prob = problems.rosenbrock()
    sym, hand = gd_rule().lambdify(lr=1e-3), optimizers.gd(lr=1e-3)
    a = optimizers.run(sym, prob.grad, np.array([-1.2, 1.0]), 500)
    b = optimizers.run(hand, prob.grad, np.array([-1.2, 1.0]), 500)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=0)
