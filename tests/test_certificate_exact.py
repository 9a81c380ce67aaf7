"""derive.analysis.certificate and counterexample: the LMI, its exact check, the IQC formulas, the LRP cycle."""
import random

import numpy as np
import pytest
import sympy as sp

from derive.analysis.certificate import (IQCS, NotSemidefinite, certificate_derivation, check_certificate,
                                         gd_certificate, ldl, lmi)
from derive.analysis.counterexample import (PiecewiseQuadratic, cycle_derivation, exact_cycle,
                                            lrp_heavy_ball_function)
from derive.analysis.state_space import state_space
from derive.rules.library import resolve

R = sp.Rational


def _gd(alpha):
    return state_space(resolve("gd")).at({"lr": alpha, "weight_decay": 0})


def test_gd_certificate_derivation_checks_and_certifies_numbers():
    d = gd_certificate()
    assert d.check().ok
    m, L = 1, 10
    alpha, rho = R(1, L), 1 - R(m, L)
    lam_expr = d.results["lambda_small_step"]
    syms = {str(s): s for s in lam_expr.free_symbols}
    lam = lam_expr.subs({syms["eta"]: alpha, syms["m"]: m, syms["L"]: L})
    assert lam == R(1, 100)
    l = lmi(_gd(alpha), m, L, rho, "sector")
    assert check_certificate(l, [[1]], [lam]).ok
    assert not check_certificate(l, [[R(11, 10)]], [lam]).ok            # perturbed P
    assert not check_certificate(l, [[1]], [lam], rho=rho - R(1, 1000)).ok  # below the true rate
    bad = check_certificate(l, [[1]], [-lam])
    assert not bad.ok and "multiplier" in bad.reason
    lo = lmi(_gd(alpha), m, L, rho, "off-by-one")
    with pytest.raises(ValueError, match="symmetric"):
        check_certificate(lo, [[1, R(1, 3)], [0, 1]], [lam, 0])
    with pytest.raises(ValueError, match="multipliers"):
        check_certificate(lo, [[1, 0], [0, 1]], [lam])
    # floats are converted exactly, never rounded: 0.1 is not 1/10
    assert check_certificate(lmi(_gd(0.1), 1, 10, 0.9, "sector"), [[1.0]], [0.01]).P_pivots == (1,)


def test_lmi_refusals_one_line():
    ss = _gd(R(1, 10))
    for args in [(1, 10, R(1, 2), "circle"), (0, 10, R(1, 2), "sector"), (10, 10, R(1, 2), "sector"),
                 (1, 10, 0, "sector"), (1, 10, R(11, 10), "off-by-one")]:
        with pytest.raises(ValueError) as e:
            lmi(ss, *args)
        assert "\n" not in str(e.value)
    assert lmi(ss, 1, 10, R(11, 10), "sector").rho == R(11, 10)
    assert IQCS == ("sector", "off-by-one")


def test_ldl_exact_and_not_semidefinite():
    M = sp.Matrix([[4, 2, 0], [2, 5, 1], [0, 1, 3]])
    Lw, piv = ldl(M)
    assert Lw * sp.diag(*piv) * Lw.T == M and all(p > 0 for p in piv)
    Lw, piv = ldl(sp.Matrix([[0, 0], [0, 1]]))
    assert piv == (0, 1)
    with pytest.raises(NotSemidefinite):
        ldl(sp.Matrix([[0, 1], [1, 5]]))
    Lw, piv = ldl(sp.Matrix([[1, 2], [2, 1]]))
    assert piv[1] < 0


def test_heavy_ball_lmi_against_hand_computation():
    a, b, m, L, rho = R(1, 10), R(1, 10), 1, 10, R(9, 10)
    ss = state_space(resolve("heavy-ball")).at({"lr": a, "momentum": b})
    l = lmi(ss, m, L, rho, "off-by-one")
    assert l.size() == (3, 1) and [blk.name for blk in l.blocks] == ["sector(u)", "off-by-one(u)"]
    rng = np.random.default_rng(0)
    X = sp.Matrix(3, 3, lambda i, j: R(int(rng.integers(-9, 10)), 7))
    P = X * X.T + sp.eye(3)
    lams = [R(3, 17), R(5, 11)]
    M = l.matrix(P, lams)
    # by hand, from the definitions: V(xi+, zeta+) - rho^2 V(xi, zeta) + lam1 (sector) + lam2 (off-by-one)
    A = sp.Matrix([[1, b], [0, b]])
    Ah = sp.Matrix([[1, b, 0], [0, b, 0], [-L, 0, 0]])
    Bh = sp.Matrix([-a, -a, 1])
    assert Ah[:2, :2] == A
    for _ in range(6):
        x = sp.Matrix([R(int(rng.integers(-20, 21)), 3) for _ in range(3)])
        u = R(int(rng.integers(-20, 21)), 5)
        y, zeta = x[0], x[2]
        nxt = Ah * x + Bh * u
        q = (nxt.T * P * nxt)[0] - rho**2 * (x.T * P * x)[0]
        q += lams[0] * 2 * (L * y - u) * (u - m * y) + lams[1] * 2 * (rho**2 * zeta + L * y - u) * (u - m * y)
        v = x.col_join(sp.Matrix([u]))
        assert (v.T * M * v)[0] == q


def _random_function(rng, m, L):
    """A continuous piecewise-linear gradient with slopes in [m, L], exact (Rationals)."""
    k = int(rng.integers(0, 5))
    breaks = sorted(set(R(int(b), 100) for b in rng.normal(0, 200, k)))
    slopes = [m + (L - m) * R(int(rng.integers(0, 101)), 100) for _ in range(len(breaks) + 1)]
    inter = [R(int(rng.integers(-300, 301)), 100)]
    for i, bk in enumerate(breaks):
        inter.append(slopes[i] * bk + inter[i] - slopes[i + 1] * bk)
    return PiecewiseQuadratic(tuple(breaks), tuple(slopes), tuple(inter))


def test_off_by_one_iqc_holds_on_random_functions():
    """sum_t rho^(-2t) z_t^T M z_t >= 0 for every horizon, z from OUR IQCBlock data and filter (Ahat, Bhat)."""
    rng = np.random.default_rng(1)
    for trial in range(150):
        m = R(int(rng.integers(1, 200)), 100)
        L = m + R(int(rng.integers(1, 2000)), 100)
        rho = R(int(rng.integers(30, 100)), 100) if trial % 5 else R(1)
        f = _random_function(rng, m, L)
        assert f.in_class(m, L)[0]
        breaks = [float(b) for b in f.breaks]
        slopes, inter = [float(v) for v in f.slopes], [float(v) for v in f.intercepts]

        def grad(y):
            i = int(np.searchsorted(breaks, y, side="right"))
            return slopes[i] * y + inter[i]
        ystar = float(f.minimizer())
        l = lmi(_gd(R(1, 10)), m, L, rho, "off-by-one")
        Ah, Bh = np.array(l.Ahat.tolist(), float), np.array(l.Bhat.tolist(), float)
        blocks = [(np.array(b.Chat.tolist(), float), np.array(b.Dhat.tolist(), float), np.array(b.M.tolist(), float))
                  for b in l.blocks]
        T = int(rng.integers(2, 25))
        ys = rng.normal(ystar, 3, T) if trial % 2 else ystar + np.cumsum(rng.normal(0, 2, T))
        zeta, sums, r = 0.0, [0.0] * len(blocks), float(rho)
        for t, y in enumerate(ys):
            ty, tu = y - ystar, grad(y)  # shifted signals: u* = f'(y*) = 0
            state = np.array([ty, zeta])  # GD's C = 1, D = 0: xi = y
            for j, (Ch, Dh, M) in enumerate(blocks):
                z = Ch @ state + Dh[:, 0] * tu
                sums[j] += r ** (-2 * t) * (z @ M @ z)
                scale = r ** (-2 * t) * (1 + float(L) * abs(ty) + abs(tu) + abs(zeta)) ** 2
                assert sums[j] >= -1e-9 * scale * (t + 1), (trial, t, j, sums[j])
            zeta = (Ah[1] @ np.array([ty, zeta])) + Bh[1, 0] * tu


def test_iqc_is_not_vacuous():
    """The same sums go negative for a gradient outside the class (slope above L): the test can fail."""
    l = lmi(_gd(R(1, 10)), 1, 2, 1, "off-by-one")
    Ch, Dh = np.array(l.blocks[1].Chat.tolist(), float), np.array(l.blocks[1].Dhat.tolist(), float)
    z = Ch @ np.array([1.0, 0.0]) + Dh[:, 0] * 5.0  # u = 5 y, slope 5 > L = 2
    assert z @ np.array([[0, 1], [1, 0]]) @ z < 0


def test_certificate_derivation_pass_and_fail():
    ok = certificate_derivation("gd", {"lr": R(1, 10)}, 1, 10, "sector", R(9, 10), [[1]], [R(1, 100)])
    c = ok.check()
    assert c.ok and ok.results["rate"] == R(9, 10)
    bad = certificate_derivation("gd", {"lr": R(1, 10)}, 1, 10, "sector", R(89, 100), [[1]], [R(1, 100)])
    assert not bad.check().ok and "rate" not in bad.results
    neg = certificate_derivation("gd", {"lr": R(1, 10)}, 1, 10, "sector", R(9, 10), [[1]], [R(-1, 100)])
    assert not neg.check().ok and "rate" not in neg.results
    zero = certificate_derivation("gd", {"lr": R(1, 10)}, 1, 10, "sector", R(9, 10), [[1]], [0])
    assert not zero.check().ok  # -LMI has pivot 0 with a nonzero column: shown failing


def test_piecewise_quadratic_class_and_function():
    f = lrp_heavy_ball_function()
    assert f.in_class(1, 25)[0] and not f.in_class(2, 25)[0]
    assert not PiecewiseQuadratic((1,), (1, 1), (0, 1)).in_class(1, 1)[0]  # a jump
    y = sp.Symbol("y", real=True)
    F = f.function(y)
    assert F.subs(y, 0) == 0 and sp.diff(F, y).subs(y, R(3, 2)) == f.gradient(R(3, 2)) == R(51, 2)
    assert [F.subs(y, b - R(1, 10**6)) - F.subs(y, b) for b in (1, 2)] and all(
        abs(float(F.subs(y, b - R(1, 10**9)) - F.subs(y, b))) < 1e-6 for b in (1, 2))
    with pytest.raises(ValueError):
        PiecewiseQuadratic((2, 1), (1, 1, 1), (0, 0, 0))


def test_lrp_heavy_ball_cycle_exact():
    cyc = exact_cycle(resolve("heavy-ball"), {"lr": "1/9", "momentum": "4/9"}, lrp_heavy_ball_function(),
                      [3.3, 0.0], 3)
    assert cyc is not None and cyc["period"] == 3 and cyc["minimizer"] == 0
    assert [s[0] for s in cyc["states"]] == [R(2592, 1225), R(792, 1225), R(-2208, 1225)]
    assert cyc["states"][0][1] == R(192, 49)
    d = cycle_derivation()
    c = d.check()
    assert c.ok and c.count("failed") == 0
    # a convergent tuning has no 3-cycle there
    assert exact_cycle(resolve("heavy-ball"), {"lr": "1/25", "momentum": "1/10"}, lrp_heavy_ball_function(),
                       [3.3, 0.0], 3) is None
