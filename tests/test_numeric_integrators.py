"""Tests for numeric.integrators against stability functions, exact ODE solutions and direct linear solves.

Every expected value is computed here, independently of the module: stability polynomials written out,
closed-form solutions, numpy.roots, numpy.linalg.solve and a direct call of scipy's solve_ivp.
"""

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from numeric import integrators as I
from numeric.integrators import (IntegrationError, IntegrationResult, error_vs_work, explicit_euler, heun,
                                 ill_conditioned_quadratic_flow, implicit_euler, largest_stable_step, rk4,
                                 solve_adaptive)

# Stability functions R(z), z = -h lam, written out independently of the code under test.
STABILITY = {
    "euler": lambda z: 1 + z,
    "heun": lambda z: 1 + z + z**2 / 2,
    "rk4": lambda z: sum(z**k / math.factorial(k) for k in range(5)),
    "implicit-euler": lambda z: 1 / (1 - z),
}


class Counter:
    """Count the calls of a function, independently of the module's own counting."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, y):
        self.calls += 1
        return self.fn(y)


# --------------------------------------------------------------------------- #
# Test equation y' = -lam y: y_N = R(-h lam)^N y0.
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("method", list(STABILITY))
@pytest.mark.parametrize("h", [0.05, 0.2])
def test_linear_test_equation_follows_the_stability_function(method, h):
    lam = np.array([0.5, 3.0, 7.0])
    y0 = np.array([1.0, -2.0, 0.25])
    steps = 40
    r = I.METHODS[method](lambda y: -lam * y, y0, h, steps)
    k = np.arange(steps + 1)[:, None]
    expected = STABILITY[method](-h * lam)[None, :] ** k * y0
    assert r.y.shape == (steps + 1, 3) and r.method == method
    np.testing.assert_allclose(r.t, h * np.arange(steps + 1), rtol=1e-15)
    np.testing.assert_allclose(r.y, expected, rtol=1e-13, atol=0)


@pytest.mark.parametrize("method, per_step", [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_explicit_methods_evaluate_f_as_often_as_their_definition_says(method, per_step):
    f = Counter(lambda y: -y**2)
    r = I.METHODS[method](f, [1.0, 2.0], 0.1, 17)
    assert r.nfev == f.calls == per_step * 17
    assert r.njev == 0


# --------------------------------------------------------------------------- #
# Convergence orders on nonlinear / non-normal problems with known solutions.
# --------------------------------------------------------------------------- #
PROBLEMS = {
    # y' = -y^2, y(0) = 1  ->  y = 1 / (1 + t)
    "riccati": (lambda y: -y**2, np.array([1.0]), lambda t: np.array([1 / (1 + t)])),
    # rotation y' = (-y2, y1), y(0) = (1, 0)  ->  (cos t, sin t)
    "rotation": (lambda y: np.array([-y[1], y[0]]), np.array([1.0, 0.0]),
                 lambda t: np.array([np.cos(t), np.sin(t)])),
}


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("method, order", [("euler", 1), ("heun", 2), ("rk4", 4), ("implicit-euler", 1)])
def test_measured_convergence_order(problem, method, order):
    f, y0, exact = PROBLEMS[problem]
    t_end = 2.0
    hs, errs = [], []
    for n in (20, 40, 80, 160):
        r = I.METHODS[method](f, y0, t_end / n, n)
        hs.append(t_end / n)
        errs.append(np.linalg.norm(r.y[-1] - exact(t_end)))
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    # measured: euler 1.01/1.02, heun 2.03/2.00, rk4 3.99/4.00, implicit Euler 0.99/0.98
    assert abs(slope - order) <= 0.15
    assert I.ORDER[method] == order


# --------------------------------------------------------------------------- #
# Largest stable step vs the real stability intervals.
# --------------------------------------------------------------------------- #
def rk4_stability_boundary() -> float:
    """The non-zero real root of R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24 = +1 (numpy.roots), as a positive h*lam.

    R(z) > 0 for every real z (R = -1 has no real root), so on the negative real axis |R| reaches 1 where
    R = +1: z (1 + z/2 + z^2/6 + z^3/24) = 0, i.e. the real root of the cubic z^3/24 + z^2/6 + z/2 + 1.
    """
    assert not np.any(np.abs(np.roots([1 / 24, 1 / 6, 1 / 2, 1, 2]).imag) < 1e-12)  # R = -1: no real root
    roots = np.roots([1 / 24, 1 / 6, 1 / 2, 1])
    real = roots[np.abs(roots.imag) < 1e-12].real
    assert real.size == 1
    return float(-real[0])


def test_rk4_boundary_constant():
    assert rk4_stability_boundary() == pytest.approx(2.785293563, abs=1e-9)


@pytest.mark.parametrize("method, lam, boundary", [
    ("euler", 1e4, 2.0),
    ("heun", 0.5, 2.0),
    ("rk4", 3.0, None),
])
def test_largest_stable_step_matches_closed_form(method, lam, boundary):
    boundary = rk4_stability_boundary() if boundary is None else boundary
    h = largest_stable_step(method, lam)
    assert h == pytest.approx(boundary / lam, rel=1e-4)


def test_implicit_euler_is_a_stable():
    assert largest_stable_step("implicit-euler", 7.0) == math.inf
    r = implicit_euler(lambda y: -7.0 * y, [1.0], 1e6 / 7.0, 3)
    np.testing.assert_allclose(r.y[:, 0], (1 / (1 + 1e6)) ** np.arange(4), rtol=1e-13)


def test_largest_stable_step_needs_an_unstable_upper_end():
    with pytest.raises(ValueError, match="increase hi"):
        largest_stable_step("rk4", 1.0, hi=2.5)


# --------------------------------------------------------------------------- #
# Implicit Euler: per-step linear solve, Newton, counting.
# --------------------------------------------------------------------------- #
def stiff_matrix() -> np.ndarray:
    """A non-normal matrix with eigenvalues -1, -1e3, -1e5."""
    v = np.array([[1.0, 0.5, 0.2], [0.0, 1.0, 0.3], [0.4, 0.0, 1.0]])
    return v @ np.diag([-1.0, -1e3, -1e5]) @ np.linalg.inv(v)


@pytest.mark.parametrize("with_jac", [True, False])
def test_implicit_euler_equals_the_per_step_linear_solve(with_jac):
    a = stiff_matrix()
    h, steps = 0.05, 12
    y0 = np.array([1.0, -1.0, 2.0])
    f = Counter(lambda y: a @ y)
    jac = Counter(lambda y: a.copy()) if with_jac else None
    r = implicit_euler(f, y0, h, steps, jac=jac)
    expected = [y0]
    for _ in range(steps):
        expected.append(np.linalg.solve(np.eye(3) - h * a, expected[-1]))
    np.testing.assert_allclose(r.y, np.array(expected), rtol=1e-10, atol=1e-13 * np.abs(y0).max())
    assert r.nfev == f.calls and r.njev == (jac.calls if with_jac else 0)
    # Newton: 1 f-evaluation + 1 Jacobian per iteration; central differences add 2 d = 6 f-evaluations.
    per_iter = 1 if with_jac else 7
    assert r.nfev % per_iter == 0 and r.nfev // per_iter >= steps
    if with_jac:
        assert r.njev == r.nfev


def test_implicit_euler_on_nonlinear_problem_solves_its_equation():
    f = lambda y: -y**3  # noqa: E731
    r = implicit_euler(f, [2.0], 0.7, 5)
    for y, y_next in zip(r.y[:-1, 0], r.y[1:, 0]):
        assert y_next - y - 0.7 * (-y_next**3) == pytest.approx(0.0, abs=1e-12)


def test_newton_failure_raises():
    # z = 1 + h (z^2 + 1) with h = 1 has no real solution: Newton cannot converge.
    with pytest.raises(IntegrationError, match="Newton"):
        implicit_euler(lambda y: y**2 + 1, [1.0], 1.0, 3)
    with pytest.raises(RuntimeError, match="max_iter"):
        implicit_euler(lambda y: -y**3, [2.0], 0.7, 5, max_iter=1)


# --------------------------------------------------------------------------- #
# Blow-up: finite prefix.
# --------------------------------------------------------------------------- #
def test_blow_up_returns_the_finite_prefix():
    r = explicit_euler(lambda y: -10.0 * y, [1.0, 1.0], 1.0, 1000)  # |R| = 9: overflows after ~323 steps
    assert 300 < r.y.shape[0] < 1001 and np.isfinite(r.y).all()
    assert r.t.shape == (r.y.shape[0],)
    np.testing.assert_allclose(r.y[:50, 0], (-9.0) ** np.arange(50), rtol=1e-13)
    r = rk4(lambda y: y**2, [1.0], 0.5, 50)  # y = 1 / (1 - t) blows up at t = 1
    assert r.y.shape[0] < 51 and np.isfinite(r.y).all()


def test_result_is_frozen():
    r = heun(lambda y: -y, [1.0], 0.1, 2)
    assert isinstance(r, IntegrationResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.nfev = 0


# --------------------------------------------------------------------------- #
# Adaptive solvers on an ill-conditioned quadratic flow.
# --------------------------------------------------------------------------- #
EIGS = np.logspace(0, 4, 5)  # 1, 10, ..., 1e4: condition number 1e4


def test_ill_conditioned_quadratic_flow_helper():
    f, jac, exact = ill_conditioned_quadratic_flow(EIGS)
    y0 = np.array([1.0, -2.0, 3.0, 0.5, 1.0])
    np.testing.assert_array_equal(f(y0), -EIGS * y0)
    np.testing.assert_array_equal(jac(y0), -np.diag(EIGS))
    np.testing.assert_array_equal(exact(0.0, y0), y0)
    t, d = 0.3, 1e-6
    np.testing.assert_allclose((exact(t + d, y0) - exact(t - d, y0)) / (2 * d), f(exact(t, y0)),
                               rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("method", ["RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"])
def test_solve_adaptive_matches_exact_solution(method):
    f, jac, exact = ill_conditioned_quadratic_flow(EIGS)
    y0 = np.ones(5)
    kw = {"jac": jac} if method in ("Radau", "BDF", "LSODA") else {}
    r = solve_adaptive(f, y0, 1.0, method=method, rtol=1e-8, atol=1e-11, **kw)
    assert r.t[0] == 0.0 and r.t[-1] == pytest.approx(1.0) and r.y.shape == (r.t.size, 5)
    np.testing.assert_allclose(r.y[-1], exact(1.0, y0), rtol=1e-6, atol=1e-9)
    assert r.method == method and r.nfev > 0


def test_implicit_adaptive_methods_use_far_fewer_evaluations_on_the_stiff_flow():
    # Measured (rtol=1e-6, atol=1e-9, t_end=1, eigenvalues 1..1e4): RK45 nfev = 21368 (3060 steps, held at
    # h ~ 3.3/1e4 by stability), Radau nfev = 2128 (njev = 2), BDF nfev = 754 (njev = 1).
    f, jac, exact = ill_conditioned_quadratic_flow(EIGS)
    y0 = np.ones(5)
    rk = solve_adaptive(f, y0, 1.0, "RK45")
    radau = solve_adaptive(f, y0, 1.0, "Radau", jac=jac)
    bdf = solve_adaptive(f, y0, 1.0, "BDF", jac=jac)
    assert radau.nfev * 5 < rk.nfev and bdf.nfev * 10 < rk.nfev
    for r in (rk, radau, bdf):
        np.testing.assert_allclose(r.y[-1], exact(1.0, y0), rtol=1e-4, atol=1e-7)


def test_solve_adaptive_counts_agree_with_scipy():
    f, jac, _ = ill_conditioned_quadratic_flow(EIGS)
    y0 = np.ones(5)
    rhs = lambda t, y: f(y)  # noqa: E731
    sol = solve_ivp(rhs, (0, 1.0), y0, method="RK45", rtol=1e-6, atol=1e-9)
    assert solve_adaptive(f, y0, 1.0, "RK45").nfev == sol.nfev
    sol = solve_ivp(rhs, (0, 1.0), y0, method="Radau", rtol=1e-6, atol=1e-9, jac=lambda t, y: jac(y))
    r = solve_adaptive(f, y0, 1.0, "Radau", jac=jac)
    assert (r.nfev, r.njev) == (sol.nfev, sol.njev)
    # Without jac, SciPy's nfev leaves out the finite-difference Jacobian columns; ours counts every call.
    sol = solve_ivp(rhs, (0, 1.0), y0, method="Radau", rtol=1e-6, atol=1e-9)
    r = solve_adaptive(f, y0, 1.0, "Radau")
    assert r.njev == sol.njev >= 1
    assert r.nfev >= sol.nfev + 5 * sol.njev


def test_solve_adaptive_reports_blow_up():
    with pytest.raises(IntegrationError):
        solve_adaptive(lambda y: y**2, [1.0], 2.0)


# --------------------------------------------------------------------------- #
# Error vs work.
# --------------------------------------------------------------------------- #
def test_error_vs_work_rows_and_monotone_errors():
    f = lambda y: -y**2  # noqa: E731
    steps, tols = (10, 20, 40, 80), (1e-4, 1e-6, 1e-8)
    rows = error_vs_work(f, [1.0], 2.0, [1 / 3], fixed_steps=steps, tolerances=tols)
    methods = ["euler", "heun", "rk4", "implicit-euler", "RK45", "Radau", "BDF"]
    expected = [m for m in methods[:4] for _ in steps] + [m for m in methods[4:] for _ in tols]
    assert [r["method"] for r in rows] == expected
    for r in rows:
        assert set(r) == {"method", "setting", "nfev", "njev", "error"}
        assert isinstance(r["nfev"], int) and r["nfev"] > 0 and r["njev"] >= 0
        assert 0 <= r["error"] < 0.2
    for m in methods[:4]:
        mine = [r for r in rows if r["method"] == m]
        assert [r["setting"] for r in mine] == pytest.approx([2.0 / n for n in steps])
        assert all(a["nfev"] < b["nfev"] and a["error"] > b["error"] for a, b in zip(mine, mine[1:]))
    for m in methods[4:]:
        mine = [r for r in rows if r["method"] == m]
        assert [r["setting"] for r in mine] == list(tols)
        assert mine[-1]["error"] < 1e-5


def test_error_vs_work_marks_blow_up_as_inf():
    # y' = -y^3, y = 1/sqrt(1 + 2t); explicit Euler with h = 3 overflows, implicit Euler is fine.
    rows = error_vs_work(lambda y: -y**3, [1.0], 30.0, [1 / math.sqrt(61)], fixed_steps=(10,),
                         methods=("euler", "implicit-euler"))
    assert rows[0]["error"] == math.inf and rows[0]["nfev"] >= 1
    assert rows[1]["error"] < 0.1
    # Newton failure (no real solution of the implicit equation) is also a blow-up.
    rows = error_vs_work(lambda y: y**2 + 1, [1.0], 1.0, [0.0], fixed_steps=(1,), methods=("implicit-euler",))
    assert rows[0]["error"] == math.inf and rows[0]["nfev"] > 0


# --------------------------------------------------------------------------- #
# Bad inputs.
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("call, match", [
    (lambda: explicit_euler(lambda y: -y, [1.0], 0.0, 5), "h must be a finite number > 0"),
    (lambda: heun(lambda y: -y, [1.0], -0.1, 5), "h must be a finite number > 0"),
    (lambda: rk4(lambda y: -y, [1.0], 0.1, 0), "steps must be an integer >= 1"),
    (lambda: rk4(lambda y: -y, [1.0], 0.1, 2.5), "steps must be an integer >= 1"),
    (lambda: implicit_euler("not a function", [1.0], 0.1, 5), "f must be a callable"),
    (lambda: implicit_euler(lambda y: -y, [1.0], 0.1, 5, jac=3), "jac must be a callable"),
    (lambda: explicit_euler(lambda y: -y, [1.0, np.nan], 0.1, 5), "y0 must be finite"),
    (lambda: explicit_euler(lambda y: -y, [[1.0]], 0.1, 5), "y0 must be a non-empty 1-D array"),
    (lambda: explicit_euler(lambda y: np.zeros(3), [1.0], 0.1, 5), r"f must return an array of shape \(1,\)"),
    (lambda: largest_stable_step("leapfrog", 1.0), "method must be one of euler, heun, rk4, implicit-euler"),
    (lambda: largest_stable_step("euler", -1.0), "lam must be a finite number > 0"),
    (lambda: solve_adaptive(lambda y: -y, [1.0], 1.0, method="Euler"), "method must be one of RK45"),
    (lambda: solve_adaptive(lambda y: -y, [np.inf], 1.0), "y0 must be finite"),
    (lambda: solve_adaptive(lambda y: -y, [1.0], 1.0, jac=lambda y: -np.eye(1)), "jac is used only by"),
    (lambda: error_vs_work(lambda y: -y, [1.0], 1.0, [1.0], methods=("midpoint",)), "unknown method 'midpoint'"),
    (lambda: error_vs_work(lambda y: -y, [1.0], 1.0, [1.0, 2.0]), r"y_ref must have shape \(1,\)"),
    (lambda: error_vs_work(lambda y: -y, [1.0], 1.0, [1.0], fixed_steps=(0,)), "fixed_steps entries"),
    (lambda: ill_conditioned_quadratic_flow([1.0, math.inf]), "eigenvalues must be finite"),
])
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
