"""Exact moment recursions on quadratics (derive.stochastic.moments) and their checks (verify.checks.stochastic.moments).

Outside values: the AR(1) and AR(2) stationary variances (Box & Jenkins, Time Series Analysis, §3.2), the direct
fixed point of E θ² for SGD with multiplicative noise, NumPy eigenvalues, a NumPy enumeration of every batch, and
h1a's mean-square critical step."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

from derive.stochastic import moments as dmo
from verify.checks.stochastic import moments as cmo

eta, a, sigma, B, beta, beta1, p, v, q = (dmo.eta, dmo.a, dmo.sigma, dmo.B, dmo.beta, dmo.beta1, dmo.p, dmo.v,
                                          dmo.q)
R = sp.Rational


@pytest.fixture(scope="module")
def derivations():
    return {f.__name__: f() for f in (dmo.sgd_stationary_noise, dmo.second_moment_lifted, dmo.heavy_ball_sgd_moments,
                                      dmo.adam_frozen_sgd_moments)}


def test_derivations_fully_proved(derivations):
    names = {d.name for d in derivations.values()}
    assert names == {"sgd-stationary-noise", "sgd-second-moment-lifted", "heavy-ball-sgd-moments",
                     "adam-frozen-sgd-moments"}
    for d in derivations.values():
        c = d.check()
        bad = [(i, s.status, s.detail) for i, s in enumerate(c.steps) if s.status not in ("proved", "given")]
        assert not bad, (d.name, bad)
        assert all(r.status == "proved" for r in c.results), (d.name, c.results)
        assert d.references


def test_sgd_closed_forms(derivations):
    r = derivations["sgd_stationary_noise"].results
    # AR(1) θ⁺ = ρθ − ηξ: stationary variance η²σ²/(B(1 − ρ²)), ρ = 1 − ηa (Box & Jenkins)
    ar1 = eta**2 * sigma**2 / (B * (1 - (1 - eta * a) ** 2))
    assert sp.simplify(r["stationary_variance"] - ar1) == 0
    assert sp.simplify(r["stationary_excess_loss"] - a * ar1 / 2) == 0
    assert sp.simplify(r["stationary_variance"] - eta * sigma**2 / (B * a * (2 - eta * a))) == 0
    # V_k at numbers against iterating the recursion V⁺ = (1 − ηa)²V + η²σ²/B by hand
    k, V0 = sp.Symbol("k", integer=True, nonnegative=True), sp.Symbol("V_0", real=True)
    at = {eta: R(1, 3), a: R(2), sigma: R(3, 2), B: 4, V0: R(5)}
    V = R(5)
    for _ in range(6):
        V = (1 - R(2, 3)) ** 2 * V + R(1, 9) * R(9, 4) / 4
    assert sp.simplify(r["variance_k"].subs(at).subs(k, 6) - V) == 0


def test_lifted_1d_results(derivations):
    r = derivations["second_moment_lifted"].results
    gbar, w = sp.Symbol(r"\bar{g}", real=True), dmo.w
    assert sp.expand(r["sgd_operator_1d"] - ((1 - eta * a) ** 2 + eta**2 * v)) == 0
    # E θ⁺² = E(1 − ηâ)²θ² − 2η E(1 − ηâ)ĝ E θ + η² E ĝ² with E(1 − ηâ)ĝ = (1 − ηa)ḡ − ηw
    assert sp.expand(r["sgd_cross_1d"] - (-2 * eta * ((1 - eta * a) * gbar - eta * w))) == 0
    assert sp.expand(r["sgd_noise_1d"] - eta**2 * (gbar**2 + q)) == 0


def test_heavy_ball_and_adam_closed_forms(derivations):
    hb = derivations["heavy_ball_sgd_moments"].results["stationary_variance"]
    ad = derivations["adam_frozen_sgd_moments"].results["stationary_variance"]
    # additive noise only (v = 0): the AR(2) variance (1 − φ₂)σ_e²/((1 + φ₂)((1 − φ₂)² − φ₁²)) (Box & Jenkins)
    def ar2(phi1, phi2, s2):
        return (1 - phi2) * s2 / ((1 + phi2) * ((1 - phi2) ** 2 - phi1**2))
    assert sp.simplify(hb.subs(v, 0) - ar2(1 + beta - eta * a, -beta, eta**2 * q)) == 0
    # frozen Adam is heavy ball with momentum β₁ and step η(1 − β₁)p
    x = eta * p * a * (1 - beta1)
    assert sp.simplify(ad.subs(v, 0) - ar2(1 + beta1 - x, -beta1, (eta * (1 - beta1) * p) ** 2 * q)) == 0
    # β = 0 with multiplicative noise: V = (1 − ηa)²V + η²vV + η²q solved by hand
    assert sp.simplify(hb.subs(beta, 0) - eta**2 * q / (1 - (1 - eta * a) ** 2 - eta**2 * v)) == 0
    assert sp.simplify(ad.subs(beta1, 0) - (eta * p) ** 2 * q / (1 - (1 - eta * p * a) ** 2 - (eta * p) ** 2 * v)) == 0
    # the variance blows up exactly at h1a's mean-square critical step of heavy ball
    from derive.stochastic import mean_square

    assert sp.simplify(dmo.HEAVY_BALL_ETA_CRITICAL - mean_square.HB_ETA_CRITICAL) == 0
    assert sp.simplify(dmo.HEAVY_BALL_DELTA.subs(eta, mean_square.HB_ETA_CRITICAL)) == 0


def _numpy_lifted(Hs, gs, lr, batch, repl, momentum=0.0):
    """E[M̂⊗M̂], E[f̂⊗M̂ + M̂⊗f̂], E[f̂⊗f̂] for SGD/heavy ball in (θ, v) by a NumPy enumeration of every batch."""
    n, d = len(Hs), Hs[0].shape[0]
    batches = (list(itertools.product(range(n), repeat=batch)) if repl
               else list(itertools.combinations(range(n), batch)))
    I = np.eye(d)
    acc = None
    for idx in batches:
        Hb, gb = np.mean([Hs[i] for i in idx], axis=0), np.mean([gs[i] for i in idx], axis=0)
        if momentum:
            Mh = np.block([[I - lr * Hb, momentum * I], [-lr * Hb, momentum * I]])
            fh = np.concatenate([-lr * gb, -lr * gb])[:, None]
        else:
            Mh, fh = I - lr * Hb, (-lr * gb)[:, None]
        terms = (np.kron(Mh, Mh), np.kron(fh, Mh) + np.kron(Mh, fh), np.kron(fh, fh))
        acc = terms if acc is None else tuple(x + y for x, y in zip(acc, terms))
    return tuple(x / len(batches) for x in acc)


@pytest.mark.parametrize("repl", [True, False])
@pytest.mark.parametrize("momentum", [0, R(1, 3)])
def test_operator_vs_numpy_enumeration(repl, momentum):
    rng = np.random.default_rng(3)
    n = 5
    Hs = []
    for _ in range(n):
        X = rng.integers(-3, 4, size=(2, 2))
        Hs.append(sp.Matrix(X.T @ X) / 4)
    gs = [sp.Matrix(rng.integers(-3, 4, size=2)) / 3 for _ in range(n)]
    lr = R(1, 7)
    values = {"lr": lr, "momentum": momentum} if momentum else {"lr": lr}
    M, b, k = dmo.second_moment_operator("heavy-ball" if momentum else "sgd", Hs, gs, values, 3,
                                         with_replacement=repl)
    ref = _numpy_lifted([np.array(H, dtype=float) for H in Hs], [np.array(g, dtype=float).ravel() for g in gs],
                        float(lr), 3, repl, float(momentum))
    for got, want in zip((M, b, k), ref):
        assert np.allclose(np.array(got, dtype=float), want, rtol=0, atol=1e-13)


def test_stability_decision_matches_eigenvalues():
    Hs, gs = cmo.HESSIANS, cmo.OFFSETS
    for rule, extra in (("sgd", {}), ("heavy-ball", {"momentum": R(1, 2)})):
        for lr in [R(i, 20) for i in range(2, 26, 3)]:
            M, _, _ = dmo.second_moment_operator(rule, Hs, gs, {"lr": lr, **extra}, 2)
            N = int(round(M.rows ** 0.5))
            rho = max(abs(np.linalg.eigvals(np.array(M, dtype=float))))
            assert abs(rho - 1) > 1e-6
            assert dmo.mean_square_stable(M, N) == (rho < 1), (rule, lr, rho)
            if rho < 1:
                st = dmo.stationary_covariance(rule, Hs, gs, {"lr": lr, **extra}, 2)
                assert all(e.is_Rational for e in st["covariance"])
            else:
                with pytest.raises(dmo.NoStationaryMoments, match="no stationary covariance"):
                    dmo.stationary_covariance(rule, Hs, gs, {"lr": lr, **extra}, 2)


def test_checks_pass():
    for fn in (cmo.moment_recursions, cmo.stationary_covariance):
        rows = fn()
        assert rows
        failed = [(r.check, r.error, r.tolerance) for r in rows if r.status != "pass"]
        assert not failed, failed


@pytest.mark.parametrize("wrong", ["c dropped", "with-replacement factor without"])
def test_wrong_operator_fails_checks(monkeypatch, wrong):
    true = dmo.variance_factor
    if wrong == "c dropped":
        monkeypatch.setattr(dmo, "variance_factor", lambda n, batch, repl: sp.S.One)
    else:
        monkeypatch.setattr(dmo, "variance_factor", lambda n, batch, repl: true(n, batch, True))
    rec = {r.check: r for r in cmo.moment_recursions()}
    st = {r.check: r for r in cmo.stationary_covariance()}
    assert all(r.status == "fail" for k, r in rec.items() if wrong == "c dropped" or k.endswith("without"))
    assert rec["moment-recursions/heavy-ball-without"].status == "fail"
    assert st["stationary-covariance/sgd-without"].status == "fail"
    assert st["stationary-covariance/monte-carlo-sgd-without"].status == "fail"
    assert st["stationary-covariance/monte-carlo-adam-frozen-without"].status == "fail"


def test_hostile_input():
    with pytest.raises(ValueError, match="larger than n"):
        dmo.second_moment_operator("sgd", [1, 2], None, {"lr": R(1, 10)}, 3)
    with pytest.raises(ValueError, match="positive integer"):
        dmo.second_moment_operator("sgd", [1, 2], None, {"lr": R(1, 10)}, 0)
    with pytest.raises(ValueError, match="not linear"):
        dmo.second_moment_operator("adam", [1, 2], None, {"lr": R(1, 10)}, 1)
    with pytest.raises(ValueError, match="give a value"):
        dmo.second_moment_operator("heavy-ball", [1, 2], None, {"lr": R(1, 10)}, 1)
    with pytest.raises(ValueError, match="2 per-sample"):
        dmo.second_moment_operator("sgd", [1, 2], [1], {"lr": R(1, 10)}, 1)
    with pytest.raises(ValueError, match="coordinates"):
        dmo.closed_loop_blocks("adam-frozen", {"lr": 1, "beta1": R(1, 2), "preconditioner": [1, 2, 3]}, 2)
    with pytest.raises(dmo.NoStationaryMoments):
        dmo.stationary_covariance("sgd", [1, 3], [1, -1], {"lr": 1}, 1, with_replacement=True)
    # B = n without replacement is gradient descent: no noise, the stationary covariance is 0
    st = dmo.stationary_covariance("sgd", [1, 3], [1, -1], {"lr": R(1, 4)}, 2)
    assert st["covariance"] == sp.zeros(1, 1) and st["mean"] == sp.Matrix([[0]])


def test_named_matrices_are_compared_entry_by_entry():
    """A step shown by name still fails on one wrong entry (1e-9 off) and on a float; the lifted page is readable."""
    from derive.derivation import Derivation

    M = sp.Matrix([[R(1, 3), 2], [0, 1]])
    off, flt = M.copy(), M.copy()
    off[1, 0], flt[0, 0] = R(1, 10**9), 0.5
    d = Derivation("t", "t")
    d.equal(dmo.Named("A", M), dmo.Named("B", M), "same")
    d.equal(dmo.Named("C", M), dmo.Named("D", off), "one entry off")
    d.equal(dmo.Named("E", flt), dmo.Named("F", flt), "a float")
    assert [s.status for s in d.check().steps] == ["proved", "failed", "failed"]
    page = dmo.second_moment_lifted().to_markdown()
    assert len(page) < 30_000 and r"\big[M \mid b \mid k\big]_{\text{heavy-ball}}" in page
