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


#: the methods' names in prose
_NAMES = {"euler": "Euler", "heun": "Heun", "rk4": "RK4", "implicit-euler": "implicit Euler"}

#: the stability functions, written by hand (Hairer & Wanner II, Section IV.2)
STABILITY = {"euler": 1 + z, "heun": 1 + z + z**2 / 2, "rk4": sum(z**k / sp.factorial(k) for k in range(5)),
             "implicit-euler": 1 / (1 - z)}


def stability_regions() -> Derivation:
    """R(z) of each method from its update rule, its real stability interval and its complex region."""
    d = Derivation("integrator-stability", "Optimizers as integrators of gradient flow: stability functions and regions",
                   summary=r"Each method applied to $\dot\theta = -\lambda\theta$ is $\theta^{+} = R(z)\theta$ with "
                           r"$z = -h\lambda$; it is stable iff $|R(z)| \le 1$. Gradient descent is explicit Euler: its "
                           r"real interval $[-2, 0]$ is the step-size bound $\eta\lambda \le 2$. RK4 reaches "
                           r"$z = -2.785$; implicit Euler (the proximal-point method) is stable on the whole left "
                           "half-plane.")
    d.references.append("E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, 1996, Section IV.2")
    rules = explicit_rules()
    for name, rule in rules.items():
        d.given(sp.Symbol(r"\theta^{+}_{\mathrm{%s}}" % name), rule.update[0],
                f"{rule.title} applied to gradient flow " + r"$\dot\theta = -g(\theta)$")
        d.equal(rule.on_quadratic(lam)[0], STABILITY[name].subs(z, -h * lam) * theta,
                r"substitute $g(x) = \lambda x$, the gradient of $L = \lambda\theta^2/2$: the step is "
                r"$R(z)\theta$ with $z = -h\lambda$",
                display=r"\theta^{+}_{\mathrm{%s}}\,\big|_{g(x) = \lambda x}" % name)
    imp = sp.Symbol(r"\theta^{+}", real=True)
    d.solution(sp.Eq(imp, theta - h * lam * imp), imp, STABILITY["implicit-euler"].subs(z, -h * lam) * theta,
               r"solve the implicit Euler step $\theta^{+} = \theta - h g(\theta^{+})$ on the quadratic for "
               r"$\theta^{+}$: $R(z) = 1/(1 - z)$")
    # real intervals
    d.equivalent(sp.Abs(1 + x) <= 1, x, sp.Interval(-2, 0),
                 r"Euler (GD): $|1 + z| \le 1$ for real $z$, that is $h\lambda \le 2$")
    heun = STABILITY["heun"].subs(z, x)
    d.equivalent(sp.And(heun <= 1, heun >= -1), x, sp.Interval(-2, 0),
                 r"Heun: $R(x) = 1 + x + x^2/2 \ge 1/2$ never reaches $-1$, and $R(x) \le 1$ iff "
                 r"$x(1 + x/2) \le 0$: the same interval $[-2, 0]$")
    rk4 = STABILITY["rk4"].subs(z, x)
    cubic = x**3 + 4 * x**2 + 12 * x + 24
    d.equal(rk4 - 1, x * cubic / 24, r"RK4: $R(x) - 1$ vanishes at $x = 0$, so $x$ factors out and leaves a cubic",
            display=r"R_{\mathrm{rk4}}(x) - 1")
    d.equal(sp.Integer(len(sp.real_roots(sp.Poly(cubic, x)))), 1,
            r"the cubic has exactly one real root $x_1$ (Sturm count)",
            display=r"\#\{x \in \mathbb{R}: \text{cubic}(x) = 0\}")
    d.equal(sp.Integer(len(sp.real_roots(sp.Poly(rk4 + 1, x)))), 0,
            r"and $R(x) + 1$ has no real root while $R(0) + 1 = 2 > 0$, so $R \ge -1$ everywhere",
            display=r"\#\{x \in \mathbb{R}: R_{\mathrm{rk4}}(x) = -1\}")
    x1 = [r for r in sp.solve(cubic, x) if r.is_real][0]
    d.equivalent(rk4 <= 1, x, sp.Interval(x1, 0),
                 r"$R \ge -1$ everywhere, so only $R(x) \le 1$ binds: $x$ and the cubic (positive leading "
                 r"coefficient, one real root) have opposite signs exactly on $[x_1, 0]$")
    d.positive(x1 + sp.Rational(278530, 100000),
               r"a rational lower bound on the exact root: $x_1 > -2.78530$",
               display=r"x_1 + 2.78530")
    d.positive(-sp.Rational(278529, 100000) - x1,
               r"a rational upper bound, $x_1 < -2.78529$: RK4 is stable for $h\lambda \le 2.7853$",
               display=r"-2.78529 - x_1")
    d.equivalent(sp.Abs(1 / (1 - x)) <= 1, x, sp.Union(sp.Interval(-sp.oo, 0), sp.Interval(2, sp.oo)),
                 r"implicit Euler: $|1/(1 - z)| \le 1$ iff $|1 - z| \ge 1$, so every $z \le 0$ (any $h$), and also "
                 r"$z \ge 2$ (it damps some unstable modes)")
    # complex regions
    za = a + sp.I * b
    for name, expected in (("euler", (1 + a)**2 + b**2), ("implicit-euler", 1 / ((1 - a)**2 + b**2))):
        r = STABILITY[name].subs(z, za)
        d.equal(sp.expand(r * sp.conjugate(r)), expected,
                _NAMES[name] + r": $|R(z)|^2 = R(z)\overline{R(z)}$ at $z = a + ib$, expanded",
                display=r"|R_{\mathrm{%s}}(a + ib)|^2" % name)
    s = sp.Symbol("s", positive=True)
    d.positive((1 + s)**2 + b**2 - 1, r"implicit Euler is A-stable: with $a = -s < 0$, $(1 - a)^2 + b^2 > 1$, "
               r"so $|R| < 1$ on the whole open left half-plane", display=r"(1 - a)^2 + b^2 - 1\,\big|_{a = -s < 0}")
    for name, expected in (("euler", 1 + y**2), ("heun", 1 + y**4 / 4), ("rk4", 1 - y**6 / 72 + y**8 / 576)):
        r = STABILITY[name].subs(z, sp.I * y)
        d.equal(sp.expand(r * sp.conjugate(r)), expected,
                _NAMES[name] + r": $|R(z)|^2 = R(z)\overline{R(z)}$ on the imaginary axis $z = iy$",
                display=r"|R_{\mathrm{%s}}(iy)|^2" % name)
    d.equivalent(1 - y**6 / 72 + y**8 / 576 <= 1, y, sp.Interval(-2 * sp.sqrt(2), 2 * sp.sqrt(2)),
                 r"$|R_{\mathrm{rk4}}(iy)|^2 \le 1$ iff $y^6(y^2 - 8) \le 0$, that is $|y| \le 2\sqrt2$: among the "
                 r"explicit methods only RK4 is stable on part of the imaginary axis (Euler and Heun grow for every "
                 r"$y \ne 0$; implicit Euler, $1/(1 + y^2) \le 1$, is stable on all of it)")
    read_off = [sp.cancel((rules[k].on_quadratic(lam)[0] / theta).subs(lam, -z / h)) for k in ("euler", "heun", "rk4")]
    implicit = sp.solve(sp.Eq(imp, theta - h * lam * imp), imp)[0]
    d.equal(sp.Matrix(read_off + [sp.cancel((implicit / theta).subs(lam, -z / h))]),
            sp.Matrix([STABILITY[k] for k in ("euler", "heun", "rk4", "implicit-euler")]),
            r"the stability functions $R(z) = \theta^{+}/\theta$ at $h\lambda = -z$, read off the four updates above "
            "(Euler, Heun, RK4, implicit Euler)", display=r"\big(R_{\mathrm{method}}(z)\big)")
    d.result("stability_functions", sp.Matrix([STABILITY[k] for k in ("euler", "heun", "rk4", "implicit-euler")]),
             label=r"R(z)")
    d.result("rk4_real_limit", x1, label="x_1")
    return d


def proximal_point() -> Derivation:
    """Implicit Euler on gradient flow is the proximal-point method."""
    u = sp.Symbol("u", real=True)
    L = sp.Function("L")
    d = Derivation("proximal-point", "Implicit Euler on gradient flow is the proximal-point method",
                   summary=r"The implicit Euler step $\theta^{+} = \theta - h\nabla L(\theta^{+})$ is the first-order "
                           r"condition of minimizing $L(u) + \|u - \theta\|^2/(2h)$: the proximal operator of $hL$. On "
                           r"a quadratic it is $\theta/(1 + h\lambda)$, contracting for every $h > 0$.")
    d.references.append("R. T. Rockafellar, Monotone operators and the proximal point algorithm, 1976")
    obj = L(u) + (u - theta)**2 / (2 * h)
    d.given(sp.Symbol(r"\operatorname{prox}_{hL}(\theta)"), sp.Symbol(r"\arg\min_u\, L(u) + \frac{(u - \theta)^2}{2h}"),
            r"definition of the proximal operator (per coordinate; a convex $L$ makes the minimizer unique)")
    d.equal(sp.diff(obj, u), sp.diff(L(u), u) + (u - theta) / h,
            r"differentiate the objective in $u$: the penalty contributes $(u - \theta)/h$",
            display=r"\frac{\partial}{\partial u}\Big(L(u) + \frac{(u - \theta)^2}{2h}\Big)")
    d.equal(sp.expand(h * sp.diff(obj, u)), sp.expand(u - (theta - h * sp.diff(L(u), u))),
            r"so the stationarity condition is $u = \theta - h L'(u)$: the implicit Euler step",
            display=r"h\,\frac{\partial}{\partial u}(\dots)")
    obj_q = lam * u**2 / 2 + (u - theta)**2 / (2 * h)
    d.solution(sp.Eq(sp.diff(obj_q, u), 0), u, theta / (1 + h * lam),
               r"on $L = \lambda u^2/2$ the stationarity condition $\lambda u + (u - \theta)/h = 0$ is linear in $u$")
    d.positive(1 + h * lam - 1, r"$h\lambda > 0$, so $|1/(1 + h\lambda)| < 1$ for every $h > 0$: no step-size limit",
               display=r"(1 + h\lambda) - 1")
    return d
