"""Issue #18, `ldyn verify` fast: groups shared by forked workers (same rows, same order), thresholds bisected
near their prediction (a wrong prediction still fails), and zero tests by cancel before simplify (still sound)."""
import math
import os

import numpy as np
import pytest
import sympy as sp

from derive.decide import _zero
from derive.derivation import Derivation
from numeric.step_size import bisect_threshold
from verify import checks
from verify.checks import CheckResult, threshold_near


def _rows(part=None):
    """A fake split group: 7 rows, the i-th of k contiguous parts of them when asked."""
    rows = [CheckResult(f"fake/{j}", "a row", 0.0, 1.0, f"pid {os.getpid()}") for j in range(7)]
    if part is not None:
        i, k = part
        rows = rows[i * 7 // k:(i + 1) * 7 // k]
    return rows


def _raises():
    raise RuntimeError("boom")


def _dies():
    os._exit(3)


@pytest.fixture
def fake_groups(monkeypatch):
    from verify.checks import gd

    for name, func in (("fake_rows", _rows), ("fake_raises", _raises), ("fake_dies", _dies)):
        monkeypatch.setattr(gd, name, func, raising=False)
    monkeypatch.setitem(checks.GROUPS, "fake", "gd:fake_rows")
    monkeypatch.setitem(checks.SPLIT, "fake", 3)
    monkeypatch.setitem(checks.GROUPS, "zz-raises", "gd:fake_raises")
    monkeypatch.setitem(checks.GROUPS, "zz-dies", "gd:fake_dies")


def test_workers_give_the_serial_rows_in_the_serial_order(fake_groups):
    names = ["gd-convergence-rate", "fake", "tensor", "momentum-damping", "derivatives"]
    serial, parallel = checks.run(names, workers=1), checks.run(names, workers=2)
    key = lambda r: (r.check, r.compared, r.error, r.tolerance, r.status)  # noqa: E731
    assert [key(r) for r in parallel] == [key(r) for r in serial]
    assert [r.check for r in serial if r.check.startswith("fake/")] == [f"fake/{j}" for j in range(7)]
    pids = {r.detail for r in parallel if r.check.startswith("fake/")}
    assert f"pid {os.getpid()}" not in pids  # the split group ran in the workers, not here
    assert checks.run(["fake/3"], workers=2)[0].check == "fake/3"  # GROUP/CHECK still selects


def test_a_crash_or_a_dying_worker_is_a_failed_row_and_the_rest_still_runs(fake_groups):
    rows = checks.run(["zz-raises", "zz-dies", "gd-convergence-rate"], workers=2)
    by = {r.check: r for r in rows}
    assert by["zz-raises"].status == "fail" and "RuntimeError: boom" in by["zz-raises"].detail
    assert by["zz-dies"].status == "fail" and "died" in by["zz-dies"].detail
    assert all(r.status == "pass" for r in rows if r.check.startswith("gd-convergence-rate"))
    assert [r.check for r in rows][:2] == ["zz-raises", "zz-dies"]


@pytest.mark.parametrize("true", [0.7001, 0.69, 0.4])  # inside the narrow bracket, just outside it, far away
def test_threshold_near_is_the_wide_bisection_to_rtol(true):
    calls = []

    def fails(x):
        calls.append(x)
        return x > true

    got = threshold_near(fails, 0.7, 2e-3, 0.35, 1.05, 1e-6)
    n_near = len(calls)
    wide = bisect_threshold(lambda x: x > true, 0.35, 1.05, 1e-6)
    assert abs(got - true) <= 1e-6 * true and abs(wide - true) <= 1e-6 * true
    if abs(true / 0.7 - 1) <= 2e-3:
        assert n_near <= 16  # the wide bisection takes 20 runs, plus 2 for the bracket
    with pytest.raises(ValueError):
        threshold_near(lambda x: True, 0.7, 2e-3, 0.35, 1.05, 1e-6)


class _ScaledSympy:
    """``sympy`` whose lambdify returns the prediction times ``factor``: a wrong formula."""

    def __init__(self, factor):
        self.factor = factor

    def __getattr__(self, name):
        return getattr(sp, name)

    def lambdify(self, *args, **kwargs):
        f = sp.lambdify(*args, **kwargs)
        return lambda *x: self.factor * np.asarray(f(*x), dtype=float)


@pytest.mark.parametrize("module, func, tol", [
    ("gd", "critical_step", 1e-3),
    ("momentum", "stability_boundary", 2e-3),
    ("adaptive", "frozen_threshold", 2e-3),
    ("zoo.adam_family", "frozen_threshold", 5e-4),
])
def test_a_prediction_off_by_twice_the_tolerance_still_fails(monkeypatch, module, func, tol):
    """1 + 1.5 tol: the threshold inside the narrow bracket (bisected there); 1 + 3 tol: outside (wide bisection)."""
    import importlib

    mod = importlib.import_module(f"verify.checks.{module}")
    for factor in (1 + 1.5 * tol, 1 - 3 * tol):
        monkeypatch.setattr(mod, "sp", _ScaledSympy(factor))
        rows = getattr(mod, func)()
        assert rows and all(r.status == "fail" for r in rows), [(r.check, r.error) for r in rows]
        assert all(not math.isfinite(r.error) or r.error > tol for r in rows)


def test_cancel_before_simplify_proves_identities_and_nothing_else():
    x, y = sp.symbols("x y", positive=True)
    assert _zero(1 / (x + 1) + 1 / (x - 1) - 2 * x / (x ** 2 - 1)) is True
    assert _zero(sp.sqrt(x) ** 3 / x - sp.sqrt(x)) is True
    assert _zero(1 / (x + 1) - 1 / (x - 1)) is not True
    assert _zero(sp.sqrt(x ** 2 + 2 * x * y + y ** 2) - x - y) is True  # simplify still decides what cancel cannot
    d = Derivation("t", "t")
    d.equal((x ** 2 - 1) / (x - 1), x, "wrong: it is x + 1")
    d.equal((x ** 2 - 1) / (x - 1), x + 1, "right")
    d.equal(sp.exp(x) * sp.exp(-x) * (x + y) / (x ** 2 - y ** 2), 1 / (x - y) + sp.Rational(1, 10**30), "wrong")
    assert [s.status for s in d.check().steps] == ["failed", "proved", "failed"]
