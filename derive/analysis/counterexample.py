"""Where no certificate exists: a function in S(m, L) on which the rule cycles, found and checked exactly.

Lessard, Recht & Packard (2016, SIAM J. Optim. 26(1), §4.6): heavy ball with Polyak's tuning for κ = 25
(α = 1/9, β = 4/9, m = 1, L = 25), which is optimal on quadratics, does not converge on the one-dimensional
f with ∇f(x) = 25x (x < 1), x + 24 (1 <= x < 2), 25x − 24 (x >= 2): started near x₀ = x₁ ≈ 3.3 it settles
into a 3-cycle.  A piecewise-quadratic f makes every step affine on a known piece, so a cycle whose pieces
are known is the solution of a linear system: :func:`exact_cycle` solves it in Rationals and then runs the
rule's own symbolic update from it to confirm it (pieces visited, exact return, not the fixed point).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import sympy as sp

from derive.analysis.state_space import exact, state_space
from derive.derivation import Derivation
from derive.update_rule import UpdateRule


@dataclass(frozen=True)
class PiecewiseQuadratic:
    """1-D f whose gradient is slopes[i]·y + intercepts[i] on piece i = [breaks[i-1], breaks[i])."""

    breaks: tuple
    slopes: tuple
    intercepts: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "breaks", tuple(exact(b, "break") for b in self.breaks))
        object.__setattr__(self, "slopes", tuple(exact(b, "slope") for b in self.slopes))
        object.__setattr__(self, "intercepts", tuple(exact(b, "intercept") for b in self.intercepts))
        if len(self.slopes) != len(self.breaks) + 1 or len(self.intercepts) != len(self.slopes):
            raise ValueError(f"{len(self.breaks)} breaks need {len(self.breaks) + 1} slopes and intercepts")
        if any(a >= b for a, b in zip(self.breaks, self.breaks[1:])):
            raise ValueError("breaks must be increasing")

    def piece(self, y: Any) -> int:
        """Index of the piece containing y (a break belongs to the piece on its right)."""
        return bisect.bisect_right([float(b) for b in self.breaks], float(y)) if not isinstance(y, sp.Basic) \
            else sum(1 for b in self.breaks if bool(y >= b))

    def gradient(self, y: Any) -> sp.Expr:
        """f'(y), exact (y converted exactly)."""
        y = exact(y, "y")
        i = self.piece(y)
        return self.slopes[i] * y + self.intercepts[i]

    def gradient_expr(self, y: sp.Symbol) -> sp.Piecewise:
        """f' as a SymPy Piecewise in ``y``."""
        args = [(self.slopes[i] * y + self.intercepts[i], y < b) for i, b in enumerate(self.breaks)]
        return sp.Piecewise(*args, (self.slopes[-1] * y + self.intercepts[-1], True))

    def minimizer(self) -> sp.Expr:
        """The y* with f'(y*) = 0 (f' increasing and continuous for a function in the class)."""
        for i, (s, c) in enumerate(zip(self.slopes, self.intercepts)):
            y = -c / s
            lo = self.breaks[i - 1] if i else -sp.oo
            hi = self.breaks[i] if i < len(self.breaks) else sp.oo
            if lo <= y and (y < hi):
                return y
        raise ValueError("f' has no zero: not a function in S(mu, L)")

    def function(self, y: sp.Symbol | None = None) -> sp.Piecewise:
        """f(y): the continuous antiderivative of f', with min value 0 at the minimizer."""
        y = y if y is not None else sp.Symbol("y", real=True)
        t = sp.Symbol("t", real=True)
        prims, const = [], sp.S.Zero
        for i, (s, c) in enumerate(zip(self.slopes, self.intercepts)):
            F = s * t**2 / 2 + c * t
            if i:  # continuity at the break breaks[i-1]
                b = self.breaks[i - 1]
                const = prims[-1].subs(t, b) - F.subs(t, b)
            prims.append(F + const)
        ystar = self.minimizer()
        shift = prims[self.piece(ystar)].subs(t, ystar)
        args = [((prims[i] - shift).subs(t, y), y < b) for i, b in enumerate(self.breaks)]
        return sp.Piecewise(*args, ((prims[-1] - shift).subs(t, y), True))

    def in_class(self, mu: Any, L: Any) -> tuple[bool, str]:
        """(True, why) iff f' is continuous at every break and every slope lies in [mu, L]: then f' is
        mu-strongly monotone and L-Lipschitz, i.e. f in S(mu, L)."""
        mu, L = exact(mu, "mu"), exact(L, "L")
        for i, b in enumerate(self.breaks):
            left = self.slopes[i] * b + self.intercepts[i]
            right = self.slopes[i + 1] * b + self.intercepts[i + 1]
            if left != right:
                return False, f"f' jumps at y = {b}: {left} from the left, {right} from the right"
        for i, s in enumerate(self.slopes):
            if not (mu <= s <= L):
                return False, f"slope {s} of piece {i + 1} is outside [{mu}, {L}]"
        return True, f"f' continuous, slopes in [{mu}, {L}]: f in S({mu}, {L})"


def lrp_heavy_ball_function() -> PiecewiseQuadratic:
    """LRP §4.6: f'(x) = 25x (x < 1), x + 24 (1 <= x < 2), 25x − 24 (x >= 2); f in S(1, 25), minimizer 0."""
    return PiecewiseQuadratic((1, 2), (25, 1, 25), (0, 24, -24))


def _float_orbit(ss, f: PiecewiseQuadratic, xi: list, steps: int) -> tuple[list, list]:
    """Run ξ⁺ = Aξ + Bu, u_k = f'(y_k) in floats: (states, pieces of each oracle point) over ``steps`` steps."""
    A, B, C, D = (M.tolist() for M in ss.numeric())
    n, p = len(A), len(C)
    states, pieces = [list(xi)], []
    for _ in range(steps):
        u = []
        for k in range(p):
            y = sum(C[k][j] * xi[j] for j in range(n)) + sum(D[k][j] * u[j] for j in range(k))
            i = f.piece(y)
            pieces.append(i)
            u.append(float(f.slopes[i]) * y + float(f.intercepts[i]))
        xi = [sum(A[r][j] * xi[j] for j in range(n)) + sum(B[r][k] * u[k] for k in range(p)) for r in range(n)]
        states.append(xi)
    return states, pieces


def _affine_period(ss, f: PiecewiseQuadratic, pieces: list, period: int) -> tuple[sp.Matrix, sp.Matrix]:
    """ξ ↦ Φξ + φ over ``period`` steps when the oracle points fall on ``pieces`` (exact)."""
    n, p = ss.n, ss.p
    Phi, phi = sp.eye(n), sp.zeros(n, 1)
    it = iter(pieces)
    for _ in range(period):
        # u = S (C ξ + D u) + c  =>  (I − S D) u = S C ξ + c
        idx = [next(it) for _ in range(p)]
        S = sp.diag(*[f.slopes[i] for i in idx])
        c = sp.Matrix([f.intercepts[i] for i in idx])
        K = (sp.eye(p) - S * ss.D).inv()
        Gu, gu = K * S * ss.C, K * c
        Phi, phi = (ss.A + ss.B * Gu) * Phi, (ss.A + ss.B * Gu) * phi + ss.B * gu
    return Phi, phi


def _run_exact(rule: UpdateRule, subs: dict, f: PiecewiseQuadratic, xi: list) -> tuple[list, list]:
    """One step of the rule's own symbolic update, oracle = f' (exact); returns (new state, oracle points)."""
    points: dict = {}  # oracle point -> gradient, in evaluation order; one input per distinct point

    def oracle(arg):
        val = sp.expand(sp.sympify(arg).subs(subs))
        if val not in points:
            points[val] = f.gradient(val)
        return points[val]

    env = dict(subs)
    env.update(zip(rule.state, xi))
    new = [sp.sympify(u).xreplace(env) for u in rule.update]
    new = [e.replace(lambda a: isinstance(a, sp.core.function.AppliedUndef) and a.func == rule.oracle,
                     lambda a: oracle(a.args[0])) for e in new]
    new = [sp.expand(e) for e in new]
    if any(not e.is_Rational for e in new):
        raise ValueError(f"{rule.name}: the exact run left a non-rational state {new}")
    return new, list(points)


def exact_cycle(rule: UpdateRule, values: dict, f: PiecewiseQuadratic, start: Any, period: int,
                warmup: int = 2000) -> dict | None:
    """The exact periodic orbit of ``rule`` on ``f`` near ``start`` (floats, a state), or None.

    Pieces come from a float run (after ``warmup`` steps, tried at a few phases); the ``period``-step affine
    map is solved exactly, (I − Φ)ξ = φ; then the rule's symbolic update is run in Rationals from ξ: it must
    visit those pieces, return exactly to ξ after ``period`` steps and not stand still (not a fixed point)."""
    if period < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    base = state_space(rule)
    ss = base.at(values, defaults=True)
    r = ss.rule
    subs = dict(ss.values)
    xi0 = [float(v) for v in (start if isinstance(start, (list, tuple)) else [start])]
    if len(xi0) != ss.n:
        raise ValueError(f"{r.name}: start needs {ss.n} numbers ({', '.join(map(str, ss.state))}), got {len(xi0)}")
    states, _ = _float_orbit(ss, f, xi0, warmup) if warmup else ([xi0], [])
    xi = states[-1]
    for phase in range(period):
        orbit, pieces = _float_orbit(ss, f, xi, period)
        Phi, phi = _affine_period(ss, f, pieces, period)
        IP = sp.eye(ss.n) - Phi
        if IP.det() != 0:
            cand = list(IP.solve(phi))
            out = _verify(r, subs, f, cand, pieces, period)
            if out is not None:
                return out
        xi = orbit[1]
    return None


def _verify(rule: UpdateRule, subs: dict, f: PiecewiseQuadratic, xi: list, pieces: list, period: int) -> dict | None:
    states, points = [list(xi)], []
    cur = list(xi)
    for _ in range(period):
        cur, pts = _run_exact(rule, subs, f, cur)
        states.append(cur)
        points += pts
    if [f.piece(y) for y in points] != list(pieces) or states[-1] != states[0]:
        return None
    if states[1] == states[0]:  # a fixed point of the map, not a cycle
        return None
    return {"states": states[:-1], "period": period, "points": points, "minimizer": f.minimizer()}


def cycle_derivation() -> Derivation:
    """LRP §4.6 as a page: f in S(1, 25), heavy ball with α = 1/9, β = 4/9, its exact 3-cycle, each step
    evaluated by SymPy: heavy ball does not converge to the minimizer 0 from there."""
    from derive.rules.library import resolve

    rule = resolve("heavy-ball")
    f = lrp_heavy_ball_function()
    values = {"lr": sp.Rational(1, 9), "momentum": sp.Rational(4, 9)}
    cyc = exact_cycle(rule, values, f, [3.3, 0.0], 3)
    if cyc is None:  # pragma: no cover - the theorem of LRP §4.6; a failure here is a bug to report
        raise ValueError("heavy-ball: no 3-cycle found on the LRP function")
    y = sp.Symbol("y", real=True)
    d = Derivation("heavy-ball-cycle", "Heavy ball with Polyak's tuning cycles on a function in S(1, 25)",
                   summary=("Lessard, Recht and Packard (2016, §4.6): heavy ball with $\\alpha = 1/9$, "
                            "$\\beta = 4/9$ (optimal on quadratics with $\\kappa = 25$) has a 3-cycle on a function "
                            "$f \\in S(1, 25)$ that is quadratic on each of three intervals, so no certificate of any "
                            "rate $< 1$ exists for it on that class."),
                   references=["L. Lessard, B. Recht and A. Packard, Analysis and design of optimization algorithms "
                               "via integral quadratic constraints, SIAM J. Optim. 26(1) (2016), §4.6"])
    gexpr = f.gradient_expr(y)
    d.given(sp.Function("f")(y), f.function(y), r"the function of LRP, with $f'(y) = 25y$ on $(-\infty, 1)$, "
            r"$y + 24$ on $[1, 2)$ and $25y - 24$ on $[2, \infty)$")
    d.equal(sp.diff(f.function(y), y), gexpr, "differentiate each quadratic on its own interval", display="f'(y)")
    for i, b in enumerate(f.breaks):
        d.equal(f.slopes[i] * b + f.intercepts[i], f.slopes[i + 1] * b + f.intercepts[i + 1],
                f"the two adjacent quadratics have the same slope at $y = {b}$, so $f'$ is continuous there",
                display=f"f'({b}^-)")
    for i, s in enumerate(f.slopes):
        d.equal(sp.Max(1, sp.Min(25, s)), s,
                f"the slope ${s}$ on interval {i + 1} lies in " + r"$[1, 25]$, so clamping it to "
                r"$[m, L]$ leaves it unchanged",
                display=f"\\mathrm{{clamp}}_{{[1,25]}}({s})")
    d.given(sp.Symbol("f"), sp.Symbol("S(1,25)"),
            r"a continuous $f'$ that is linear on intervals with slopes in $[m, L]$ is "
            r"$m$-strongly monotone and $L$-Lipschitz: $f \in S(1, 25)$")
    d.solution(sp.Eq(gexpr, 0), y, 0,
               r"$f'(0) = 25 \cdot 0 = 0$ and $f$ is strongly convex, so $y^* = 0$ is its minimizer")
    subs = {rule.hyper["lr"]: values["lr"], rule.hyper["momentum"]: values["momentum"]}
    x = sp.Dummy("x")
    g_sub = sp.Lambda(x, gexpr.subs(y, x))
    states = cyc["states"]
    theta, v = rule.state
    for k in range(3):
        cur, nxt = states[k], states[(k + 1) % 3]
        step = sp.Matrix(rule.update).subs(subs).subs({theta: cur[0], v: cur[1]}, simultaneous=True)
        lhs = step.replace(rule.oracle, g_sub)
        d.equal(lhs, sp.Matrix(nxt), f"step {k + 1} of the cycle: the heavy-ball update " + r"($\alpha = 1/9$, "
                r"$\beta = 4/9$) from " + f"$(\\theta, v) = ({sp.latex(cur[0])}, {sp.latex(cur[1])})$, with the "
                f"gradient at ${sp.latex(cyc['points'][k])}$ on interval {f.piece(cyc['points'][k]) + 1}",
                display=f"(\\theta, v)_{{{k + 1}}}")
    d.positive(sp.Abs(states[0][0] - states[1][0]) + sp.Abs(states[0][0]), r"the cycle is not the fixed point "
               r"$(\theta^*, v^*) = (0, 0)$: the iterates return every 3 steps and never converge",
               display=r"|\theta_1 - \theta_2| + |\theta_1 - \theta^*|")
    d.result("cycle_start", sp.Matrix(states[0]), label=r"(\theta, v)_{\mathrm{start}}")
    return d
