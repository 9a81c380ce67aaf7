"""Which optimizer is which integrator of gradient flow θ' = −g(θ), and where each is stable.

Explicit Euler is gradient descent (lr = h); Heun averages the gradient at θ and at the GD
look-ahead point; RK4 is the classical Runge–Kutta method; implicit Euler is the proximal-point
method.  On the test equation θ' = −λθ each is θ⁺ = R(z)θ with z = −hλ:

    Euler 1 + z,  Heun 1 + z + z²/2,  RK4 Σ_{k≤4} zᵏ/k!,  implicit Euler 1/(1 − z),

stable iff |R(z)| ≤ 1 (E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, 1996,
Section IV.2).  For complex z (non-symmetric Jacobians: momentum, games) the regions differ
qualitatively: among the explicit methods only RK4 contains a piece of the imaginary axis;
implicit Euler contains the whole axis and the whole left half-plane.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation
from derive.update_rule import UpdateRule, g

h = sp.Symbol("h", positive=True)
lam = sp.Symbol("lambda", positive=True)
theta = sp.Symbol("theta", real=True)
z = sp.Symbol("z")
x = sp.Symbol("x", real=True)  # real z
a, b = sp.symbols("a b", real=True)  # z = a + i b
y = sp.Symbol("y", real=True)  # z = i y


def _rule(name: str, title: str, update: sp.Expr) -> UpdateRule:
    return UpdateRule(name, title, (theta,), {"lr": h}, (update,))


def explicit_rules() -> dict[str, UpdateRule]:
    """Euler, Heun and RK4 applied to θ' = −g(θ), as update rules with step h."""
    f = lambda th: -g(th)  # noqa: E731
    k1 = f(theta)
    heun = theta + h / 2 * (k1 + f(theta + h * k1))
    r1 = f(theta)
    r2 = f(theta + h / 2 * r1)
    r3 = f(theta + h / 2 * r2)
    r4 = f(theta + h * r3)
    rk4 = theta + h / 6 * (r1 + 2 * r2 + 2 * r3 + r4)
    return {"euler": _rule("euler", "Explicit Euler (gradient descent)", theta + h * k1),
            "heun": _rule("heun", "Heun (explicit trapezoid)", heun),
            "rk4": _rule("rk4", "Classical Runge-Kutta 4", rk4)}


#: the stability functions, written by hand (Hairer & Wanner II, Section IV.2)
STABILITY = {"euler": 1 + z, "heun": 1 + z + z**2 / 2, "rk4": sum(z**k / sp.factorial(k) for k in range(5)),
             "implicit-euler": 1 / (1 - z)}


def stability_regions() -> Derivation:
    """R(z) of each method from its update rule, its real stability interval and its complex region."""
    d = Derivation("integrator-stability", "Optimizers as integrators of gradient flow: stability functions and regions",
                   summary="Each method applied to theta' = -lambda theta is theta^+ = R(z) theta with z = -h lambda; it "
                           "is stable iff |R(z)| <= 1. Gradient descent is explicit Euler: its real interval [-2, 0] "
                           "is eta < 2/lambda. RK4 reaches z = -2.785; implicit Euler (the proximal-point method) is "
                           "stable on the whole left half-plane.")
    d.references.append("E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, 1996, Section IV.2")
    rules = explicit_rules()
    for name, rule in rules.items():
        d.given(sp.Symbol(r"\theta^{+}_{\mathrm{%s}}" % name), rule.update[0], f"{rule.title} on theta' = -g(theta)")
        d.equal(rule.on_quadratic(lam)[0], STABILITY[name].subs(z, -h * lam) * theta,
                "on L = lambda theta^2/2 (g(x) = lambda x): R(z) theta with z = -h lambda",
                display=r"\theta^{+}_{\mathrm{%s}}\,\big|_{g(x) = \lambda x}" % name)
    imp = sp.Symbol(r"\theta^{+}", real=True)
    d.solution(sp.Eq(imp, theta - h * lam * imp), imp, STABILITY["implicit-euler"].subs(z, -h * lam) * theta,
               "implicit Euler theta^+ = theta - h g(theta^+) on the quadratic: R(z) = 1/(1 - z)")
    # real intervals
    d.equivalent(sp.Abs(1 + x) <= 1, x, sp.Interval(-2, 0), "Euler (GD): |1 + z| <= 1 for real z, i.e. h lambda <= 2")
    heun = STABILITY["heun"].subs(z, x)
    d.equivalent(sp.And(heun <= 1, heun >= -1), x, sp.Interval(-2, 0), "Heun: the same interval [-2, 0]")
    rk4 = STABILITY["rk4"].subs(z, x)
    cubic = x**3 + 4 * x**2 + 12 * x + 24
    d.equal(rk4 - 1, x * cubic / 24, "RK4: R(x) - 1 factors", display=r"R_{\mathrm{rk4}}(x) - 1")
    d.equal(sp.Integer(len(sp.real_roots(sp.Poly(cubic, x)))), 1,
            "the cubic has one real root x_1 (Sturm count)", display=r"\#\{x \in \mathbb{R}: \text{cubic}(x) = 0\}")
    d.equal(sp.Integer(len(sp.real_roots(sp.Poly(rk4 + 1, x)))), 0,
            "and R(x) + 1 has no real root (R(0) + 1 = 2 > 0), so R >= -1 everywhere",
            display=r"\#\{x \in \mathbb{R}: R_{\mathrm{rk4}}(x) = -1\}")
    x1 = [r for r in sp.solve(cubic, x) if r.is_real][0]
    d.equivalent(rk4 <= 1, x, sp.Interval(x1, 0), "so RK4's real stability interval is [x_1, 0]")
    d.positive(x1 + sp.Rational(278530, 100000), "x_1 > -2.78530", display=r"x_1 + 2.78530")
    d.positive(-sp.Rational(278529, 100000) - x1, "x_1 < -2.78529: RK4 is stable for h lambda <= 2.7853",
               display=r"-2.78529 - x_1")
    d.equivalent(sp.Abs(1 / (1 - x)) <= 1, x, sp.Union(sp.Interval(-sp.oo, 0), sp.Interval(2, sp.oo)),
                 "implicit Euler: every z <= 0 (any h), and also z >= 2 (it damps some unstable modes)")
    # complex regions
    za = a + sp.I * b
    for name, expected in (("euler", (1 + a)**2 + b**2), ("implicit-euler", 1 / ((1 - a)**2 + b**2))):
        r = STABILITY[name].subs(z, za)
        d.equal(sp.expand(r * sp.conjugate(r)), expected, f"{name}: |R(a + ib)|^2",
                display=r"|R_{\mathrm{%s}}(a + ib)|^2" % name)
    s = sp.Symbol("s", positive=True)
    d.positive((1 + s)**2 + b**2 - 1, "implicit Euler is A-stable: with a = -s < 0, (1 - a)^2 + b^2 > 1, "
               "so |R| < 1 on the whole open left half-plane", display=r"(1 - a)^2 + b^2 - 1\,\big|_{a = -s < 0}")
    for name, expected in (("euler", 1 + y**2), ("heun", 1 + y**4 / 4), ("rk4", 1 - y**6 / 72 + y**8 / 576)):
        r = STABILITY[name].subs(z, sp.I * y)
        d.equal(sp.expand(r * sp.conjugate(r)), expected, f"{name} on the imaginary axis z = iy",
                display=r"|R_{\mathrm{%s}}(iy)|^2" % name)
    d.equivalent(1 - y**6 / 72 + y**8 / 576 <= 1, y, sp.Interval(-2 * sp.sqrt(2), 2 * sp.sqrt(2)),
                 "among the explicit methods only RK4 is stable on part of the imaginary axis, |y| <= 2 sqrt 2 "
                 "(Euler and Heun grow for every y != 0; implicit Euler, 1/(1 + y^2) <= 1, is stable on all of it)")
    read_off = [sp.cancel((rules[k].on_quadratic(lam)[0] / theta).subs(lam, -z / h)) for k in ("euler", "heun", "rk4")]
    implicit = sp.solve(sp.Eq(imp, theta - h * lam * imp), imp)[0]
    d.equal(sp.Matrix(read_off + [sp.cancel((implicit / theta).subs(lam, -z / h))]),
            sp.Matrix([STABILITY[k] for k in ("euler", "heun", "rk4", "implicit-euler")]),
            "the stability functions R(z) = theta^+/theta at h lambda = -z, read off the four updates above "
            "(Euler, Heun, RK4, implicit Euler)", display=r"\big(R_{\mathrm{method}}(z)\big)")
    d.result("stability_functions", sp.Matrix([STABILITY[k] for k in ("euler", "heun", "rk4", "implicit-euler")]))
    d.result("rk4_real_limit", x1)
    return d


def proximal_point() -> Derivation:
    """Implicit Euler on gradient flow is the proximal-point method."""
    u = sp.Symbol("u", real=True)
    L = sp.Function("L")
    d = Derivation("proximal-point", "Implicit Euler on gradient flow is the proximal-point method",
                   summary="The implicit Euler step theta^+ = theta - h grad L(theta^+) is the first-order condition of "
                           "minimizing L(u) + |u - theta|^2/(2h): the proximal operator of hL. On a quadratic it is "
                           "theta/(1 + h lambda), contracting for every h > 0.")
    d.references.append("R. T. Rockafellar, Monotone operators and the proximal point algorithm, 1976")
    obj = L(u) + (u - theta)**2 / (2 * h)
    d.given(sp.Symbol(r"\operatorname{prox}_{hL}(\theta)"), sp.Symbol(r"\arg\min_u\, L(u) + \frac{(u - \theta)^2}{2h}"),
            "the proximal operator (per coordinate; L convex makes the minimizer unique)")
    d.equal(sp.diff(obj, u), sp.diff(L(u), u) + (u - theta) / h, "its derivative in u",
            display=r"\frac{\partial}{\partial u}\Big(L(u) + \frac{(u - \theta)^2}{2h}\Big)")
    d.equal(sp.expand(h * sp.diff(obj, u)), sp.expand(u - (theta - h * sp.diff(L(u), u))),
            "so the condition derivative = 0 is u = theta - h L'(u): the implicit Euler step",
            display=r"h\,\frac{\partial}{\partial u}(\dots)")
    obj_q = lam * u**2 / 2 + (u - theta)**2 / (2 * h)
    d.solution(sp.Eq(sp.diff(obj_q, u), 0), u, theta / (1 + h * lam), "on L = lambda u^2/2")
    d.positive(1 + h * lam - 1, "|1/(1 + h lambda)| < 1 for every h > 0: no step-size limit",
               display=r"(1 + h\lambda) - 1")
    return d
