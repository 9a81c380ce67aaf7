"""derive.analysis.linear: the linear analysis of any rule, against computations outside it.

* x_critical against (a) NumPy eigenvalues of the iteration matrix built by finite differences of the
  lambdified map ``rule.numpy_map`` on L = ½λθ², and (b) bisection on real runs of that map;
* closed forms against the hand-built derivations (heavy ball, Nesterov) and hand derivations (QHM);
* the Jury conditions against numpy.roots on random polynomials;
* non-smooth rules refused, the step counter's t -> oo limit announced.
"""
import numpy as np
import pytest
import sympy as sp

from derive.analysis import linear
from derive.rules.library import resolve
from derive.update_rule import UpdateRule, g


# -- independent numerics: the lambdified map ------------------------------------------------------------
def _map(rule, lam, values):
    """The rule's map on ½λθ² via numpy_map (λ may be an array: one run per λ)."""
    return rule.numpy_map(lambda y: lam * y, **values)


def _counter_state(rule):
    """Initial state: zeros, the step counter (if any) far along (the t -> oo regime)."""
    counters = [i for i in range(1, len(rule.state)) if sp.expand(rule.update[i] - rule.state[i] - 1) == 0]
    return counters


def fd_radius(rule, x, values, h=1e-9):
    """Spectral radius of the finite-difference Jacobian of the lambdified map at the zero state, at
    x = lr·λ with λ = x / lr (the step counter held at 10**6 and left out of the matrix)."""
    lam = x / values["lr"]
    f = _map(rule, lam, values)
    counters = _counter_state(rule)
    keep = [i for i in range(len(rule.state)) if i not in counters]
    base = [0.0] * len(rule.state)
    for c in counters:
        base[c] = 1e6
    f0 = np.array([float(v) for v in f(*base)])
    J = np.zeros((len(keep), len(keep)))
    for col, j in enumerate(keep):
        s = list(base)
        s[j] += h  # forward difference: a second moment v >= 0 stays in its domain
        J[:, col] = (np.array([float(v) for v in f(*s)]) - f0)[keep] / h
    return max(abs(np.linalg.eigvals(J)))


def bisect_runs(rule, values, lo, hi, steps=4000, rounds=3, theta0=1e-12):
    """The x = lr·λ where real runs of the lambdified map start to diverge: many λ at once (a vector
    state), the first λ whose |θ| grows by 1e6, refined on a finer grid ``rounds`` times."""
    counters = _counter_state(rule)
    lr = values["lr"]
    for _ in range(rounds):
        xs = np.linspace(lo, hi, 101)
        lam = xs / lr
        f = _map(rule, lam, values)
        state = [np.full_like(lam, theta0)] + [np.zeros_like(lam) for _ in rule.state[1:]]
        for c in counters:
            state[c] = np.zeros_like(lam)
        peak = np.zeros_like(lam)
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(steps):
                state = list(f(*state))
                if k > steps // 2:
                    peak = np.fmax(peak, np.abs(state[0]))
        grew = ~(peak <= theta0 * 1e6)  # NaN (overflowed) counts as grown
        first = int(np.argmax(grew))
        assert grew[first] and not grew[0], "the bracket must straddle the divergence threshold"
        lo, hi = xs[first - 1], xs[first]
    return (lo + hi) / 2


CASES = [  # (rule, values, closed form of x_critical where we derived it by hand)
    ("gd", {"lr": 0.1}, 2),
    ("heavy-ball", {"lr": 0.1, "momentum": 0.6}, 2 * 1.6),
    ("nesterov", {"lr": 0.1, "momentum": 0.6}, (2 + 1.2) / (1 + 1.2)),
    ("nesterov-buffer", {"lr": 0.1, "momentum": 0.6}, (2 + 1.2) / (1 + 1.2)),
    ("sgd", {"lr": 0.1, "momentum": 0.8}, 2 * 1.8),
    # QHM by hand: det M = beta(1 - x + nu x), P(-1) = 2 + 2 beta - x(1 + beta - 2 nu beta) decides
    ("qhm", {"lr": 0.1, "momentum": 0.9, "nu": 0.7}, 2 * 1.9 / (1.9 - 2 * 0.7 * 0.9)),
    ("aggmo", {"lr": 0.1, "beta1": 0.5, "beta2": 0.9}, None),
    # Adam at its minimum (v* = 0): an EMA-momentum with step lr/eps; eps large keeps the FD local
    ("adam", {"lr": 0.1, "eps": 0.1}, 0.2 * 1.9 / 0.1),
    ("rmsprop", {"lr": 0.1, "eps": 0.1}, 0.2),
]


@pytest.mark.parametrize("name,values,closed", CASES)
def test_x_critical_against_fd_eigenvalues_and_closed_forms(name, values, closed):
    rule = resolve(name)
    lin = linear.linearize(rule)
    si = linear.stable_interval(lin, values)
    assert si.status == "bounded"
    xc = si.x_critical
    if closed is not None:
        assert xc == pytest.approx(closed, rel=1e-12)
        assert si.method == "exact"
    vals = {**rule.defaults, **values}
    assert fd_radius(rule, xc * (1 - 1e-3), vals) < 1
    assert fd_radius(rule, xc * (1 + 1e-3), vals) > 1
    # the roots of the symbolic P at x are the FD Jacobian's eigenvalues
    x0 = 0.37 * xc
    P = lin.polynomial.subs({rule.hyper[k]: v for k, v in vals.items()}).subs(linear.x, x0)
    sym = max(abs(complex(r)) for r in sp.Poly(P, linear.z).nroots())
    assert sym == pytest.approx(fd_radius(rule, x0, vals), abs=1e-5)


@pytest.mark.parametrize("name,values", [("qhm", {"lr": 0.1, "momentum": 0.9, "nu": 0.7}),
                                         ("aggmo", {"lr": 0.1, "beta1": 0.5, "beta2": 0.9}),
                                         ("nesterov", {"lr": 0.1, "momentum": 0.6}),
                                         ("sgd", {"lr": 0.1, "momentum": 0.8})])
def test_x_critical_against_bisection_on_real_runs(name, values):
    rule = resolve(name)
    xc = linear.stable_interval(linear.linearize(rule), values).x_critical
    found = bisect_runs(rule, {**rule.defaults, **values}, 0.8 * xc, 1.2 * xc)
    assert found == pytest.approx(xc, rel=2e-3)


def test_closed_forms_equal_the_hand_built_derivations():
    from derive.rules import momentum

    for name, d in (("heavy-ball", momentum.heavy_ball_analysis()), ("nesterov", momentum.nesterov_analysis())):
        lin = linear.linearize(resolve(name))
        si = linear.stable_interval(lin, {"momentum": 0.5})
        assert sp.simplify(si.expr - d.results["x_max"]) == 0
        assert sp.expand(lin.polynomial - momentum.char_coefficients(resolve(name))[0] * linear.z
                         - momentum.char_coefficients(resolve(name))[1] - linear.z**2) == 0
    qhm = resolve("qhm")
    b, nu = qhm.hyper["momentum"], qhm.hyper["nu"]
    si = linear.stable_interval(linear.linearize(qhm), {})
    assert sp.simplify(si.expr - 2 * (1 + b) / (1 + b - 2 * nu * b)) == 0
    gd = linear.stable_interval(linear.linearize(resolve("gd")), {"weight_decay": 0})
    assert gd.expr.subs(resolve("gd").hyper["weight_decay"], 0) == 2


def test_aggmo_is_degree_three_with_a_closed_form():
    rule = resolve("aggmo")
    lin = linear.linearize(rule)
    assert lin.degree == 3 and sp.degree(lin.polynomial, linear.z) == 3
    b1, b2 = rule.hyper["beta1"], rule.hyper["beta2"]
    si = linear.stable_interval(lin, {"beta1": 0.3, "beta2": 0.8})
    # P(-1) > 0 binds: -1 - (1 + b1 + b2 - x) - (b1 b2 - x(b1 + b2)/2 + b1 + b2) - b1 b2 < 0 at x_c
    assert sp.simplify(si.expr - 4 * (1 + b1) * (1 + b2) / (2 + b1 + b2)) == 0


def test_jury_conditions_agree_with_numpy_roots_on_random_polynomials():
    rng = np.random.default_rng(0)
    zz = linear.z
    a = sp.symbols("a0:4")
    for n in (1, 2, 3):
        conds = linear.jury_conditions(zz**n + sum(a[k] * zz**k for k in range(n)), zz)
        fs = [sp.lambdify(a[:n], c.lhs) for c in conds]
        for _ in range(150):
            coef = rng.uniform(-1.6, 1.6, n)
            inside = max(abs(np.roots([1, *coef[::-1]]))) < 1
            if abs(max(abs(np.roots([1, *coef[::-1]]))) - 1) < 1e-6:
                continue
            assert all(f(*coef) > 0 for f in fs) == inside


def test_lion_is_refused_with_the_reason():
    with pytest.raises(linear.NotLinearizable) as e:
        linear.linearize(resolve("lion"))
    msg = str(e.value)
    assert "sign(" in msg and "update of theta" in msg and "argument is 0" in msg and "\n" not in msg


def test_other_nonsmooth_functions_are_named():
    th, lr = sp.Symbol("theta", real=True), sp.Symbol("eta", positive=True)
    for f, word in ((sp.Abs, "Abs"), (lambda e: sp.Max(e, 0), "Max"), (sp.Heaviside, "Heaviside")):
        rule = UpdateRule("toy", "toy", (th,), {"lr": lr}, (th - lr * f(g(th)),))
        with pytest.raises(linear.NotLinearizable, match=word):
            linear.linearize(rule)
    # a non-smooth function of hyperparameters only is fine
    rule = UpdateRule("toy", "toy", (th,), {"lr": lr}, (th - sp.Abs(lr) * g(th),))
    assert linear.stable_interval(linear.linearize(rule), {"lr": 1}).x_critical == 2


def test_step_counter_rules_say_they_take_the_limit():
    lin = linear.linearize(resolve("adam"))
    assert lin.state_names == ("theta", "exp_avg", "exp_avg_sq")
    assert any("t -> oo" in n for n in lin.notes) and any("beta_1^(t+1) -> 0" in n for n in lin.notes)
    assert any("fixed point" in n for n in lin.notes)
    assert not lin.polynomial.has(sp.DiracDelta)
    sgd = linear.linearize(resolve("sgd"))
    assert any("Piecewise" in n for n in sgd.notes) and not sgd.polynomial.has(sp.Piecewise)


def test_unbounded_empty_and_missing():
    th, lr = sp.Symbol("theta", real=True), sp.Symbol("eta", positive=True)
    implicit = UpdateRule("prox", "proximal point", (th,), {"lr": lr}, (th / (1 + lr * g(th) / th),))
    # θ⁺ = θ/(1 + lr λ): stable for every x > 0
    si = linear.stable_interval(linear.linearize(implicit), {"lr": 1})
    assert si.status == "unbounded" and si.x_critical is None
    hb = linear.linearize(resolve("heavy-ball"))
    assert linear.stable_interval(hb, {"momentum": 1.2}).status == "empty"
    with pytest.raises(linear.AnalysisError, match="momentum"):
        linear.stable_interval(hb, {})
