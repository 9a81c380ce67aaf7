"""Linear analysis of any update rule on a quadratic: iteration matrix, characteristic polynomial,
Schur–Cohn/Jury stability conditions of any degree, and the stable interval of x = lr·λ.

On one eigen-direction of the Hessian, L(θ) = ½λθ², the oracle is g(y) = λy (at every point it is
applied to, look-ahead points included).  A rule whose update is linear in its state then iterates
``s⁺ = M(λ) s``; a differentiable nonlinear rule (RMSProp, Adam) is linearised at its fixed point
θ* = 0 (the minimum), where ``M`` is its Jacobian.  With λ = x/lr the characteristic polynomial

    P(z) = det(zI − M) = zⁿ + a_{n−1}(x, h) z^{n−1} + … + a₀(x, h)

depends on lr only through x = lr·λ, unless a term such as decoupled weight decay (lr·λ_wd·θ) keeps
lr explicit; :attr:`Linearization.lr_explicit` says so.

Stability (all roots in the open unit disc) is decided by the Schur–Cohn test (I. Schur, J. reine
angew. Math. 147 (1917); A. Cohn, Math. Z. 14 (1922); in table form E. I. Jury, Theory and Application
of the z-Transform Method, 1964): for P of degree k with leading coefficient ℓ > 0 and constant term c,
P is Schur stable iff |c| < ℓ and the degree-(k−1) polynomial (ℓP(z) − c·z^k P(1/z))/z is Schur
stable.  Its leading coefficient ℓ² − c² is positive whenever the previous test passed, so the
criterion is the list of polynomial inequalities ℓ_k − c_k > 0, ℓ_k + c_k > 0, k = n, …, 1
(:func:`jury_conditions`); factors already known positive are divided out, which turns the quadratic
case into the classical P(1) > 0, P(−1) > 0, |a₀| < 1.

Rules driven by the step counter (a state entry updated to ``step + 1``: Adam's bias correction
β^(t+1), torch SGD's first-step ``Piecewise``) are analysed in their t → ∞ limit and the counter is
dropped; :attr:`Linearization.notes` records every such limit.  Non-smooth functions (sign, abs, max,
min, Heaviside, floor, …) of the state or the gradient raise :class:`NotLinearizable`, which names the
function, the state entry whose update contains it, and where it is not differentiable.

Public entry points: :func:`linearize`, :func:`jury_conditions`, :func:`stable_interval`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import sympy as sp

from derive.update_rule import NotDifferentiable, UpdateRule, _short

#: x = lr·λ, the step size in units of the curvature
x = sp.Symbol("x", positive=True)
#: the eigenvalue variable of the characteristic polynomial
z = sp.Symbol("z")
#: the curvature of the quadratic model L = ½λθ²
lam = sp.Symbol("lambda", positive=True)


class AnalysisError(ValueError):
    """The linear analysis cannot be carried out as asked (a missing value, no ``lr``, ...)."""


class NotLinearizable(AnalysisError, NotDifferentiable):
    """The rule is not differentiable (sign, abs, max, ...): the message says which function, in the
    update of which state entry, and where."""


@dataclass(frozen=True)
class Linearization:
    """A rule's linear dynamics on L = ½λθ² (see the module docstring).

    ``matrix_lambda`` is M(λ); ``matrix`` is M with λ = x/lr; ``polynomial`` is det(zI − M) (monic in
    z, expanded); ``state`` the state entries kept (the step counter dropped); ``fixed_point`` the
    point the Jacobian was taken at (empty for rules linear in their state); ``notes`` every limit
    and assumption the analysis made."""

    rule: UpdateRule
    state: tuple[sp.Symbol, ...]
    state_names: tuple[str, ...]
    matrix_lambda: sp.Matrix
    matrix: sp.Matrix
    polynomial: sp.Expr
    lr: sp.Symbol
    lr_explicit: bool
    fixed_point: dict = field(default_factory=dict)
    decaying: tuple[sp.Expr, ...] = ()  # bases β of β^(t+1) → 0: need 0 <= β < 1
    notes: tuple[str, ...] = ()

    @property
    def degree(self) -> int:
        return len(self.state)

    @cached_property
    def coefficients(self) -> tuple[sp.Expr, ...]:
        """(1, a_{n−1}, …, a₀): the coefficients of P(z), highest power first."""
        return tuple(sp.factor(c) for c in sp.Poly(self.polynomial, z).all_coeffs())

    @cached_property
    def conditions(self) -> tuple[sp.Expr, ...]:
        """The Schur–Cohn/Jury conditions as expressions c with c > 0 (see :func:`jury_conditions`)."""
        out: list[sp.Expr] = []
        for factor in self.factors:
            out.extend(c.lhs for c in jury_conditions(factor, z) if c.lhs not in out)
        return tuple(out)

    @cached_property
    def factors(self) -> tuple[sp.Expr, ...]:
        """The factors of P(z) that contain z, each made monic in z (a root of P is a root of one of
        them, so P is Schur stable iff each factor is: the Jury test runs on each separately)."""
        out = []
        for f, _ in sp.factor_list(sp.fraction(sp.together(self.polynomial))[0])[1]:
            if f.has(z):
                pf = sp.Poly(f, z)
                out.append(sp.expand(sum(sp.cancel(c / pf.LC()) * z**k
                                         for (k,), c in pf.terms())))
        return tuple(out)

    @property
    def symbols(self) -> list[sp.Symbol]:
        """The hyperparameter symbols P depends on besides x (lr included only if explicit)."""
        free = self.polynomial.free_symbols - {x, z}
        return [s for s in self.rule.hyper.values() if s in free]

    def hyper_name(self, symbol: sp.Symbol) -> str:
        return next(k for k, s in self.rule.hyper.items() if s == symbol)


# -- linearize ----------------------------------------------------------------------------------
def _entry_name(rule: UpdateRule, i: int) -> str:
    return "theta" if i == 0 else rule.state_names[i - 1]


def _jacobian_at_fixed_point(rule, F: sp.Matrix, state: tuple, notes: list) -> tuple[sp.Matrix, dict]:
    """∂F/∂s at the fixed point θ* = 0 (the minimum of ½λθ²), the other entries solving F(s) = s.

    The Jacobian is the h¹ coefficient of F(s* + h·δ) expanded in h → 0⁺ (a Puiseux series, so a
    √v at v* = 0 is handled); a lower fractional power of h means the map is not differentiable."""
    theta, rest = state[0], state[1:]
    eqs = [sp.simplify((F[i] - state[i]).subs(theta, 0)) for i in range(1, len(state))]
    try:
        sols = sp.solve(eqs, list(rest), dict=True) if rest else [{}]
    except NotImplementedError as exc:
        raise AnalysisError(f"{rule.name}: SymPy cannot solve for the state's fixed point ({_short(exc, 60)})") from None
    sols = [s for s in sols if all(v.is_real is not False for v in s.values())]
    if len(sols) != 1 or set(sols[0]) != set(rest):
        raise AnalysisError(f"{rule.name}: the state's fixed point at theta* = 0 is "
                            + ("not unique" if len(sols) > 1 else "not found") + f" ({sols}); cannot linearise")
    fp = {theta: sp.S.Zero, **sols[0]}
    h = sp.Symbol("h", positive=True)
    d = [sp.Symbol(f"delta_{k}", real=True) for k in range(len(state))]
    rows = []
    for i, f in enumerate(F):
        e = f.subs({s: fp[s] + h * dk for s, dk in zip(state, d)}, simultaneous=True)
        ser = sp.expand(sp.series(e, h, 0, 2).removeO())
        powers = {t.as_coeff_exponent(h)[1] for t in sp.Add.make_args(ser)}
        jump = ser.subs(h, 0).free_symbols & set(d)
        bad = sorted(p for p in powers if 0 < p < 1)
        if bad or jump:
            why = f"a term of order h^{bad[0]}" if bad else "a jump"
            raise NotLinearizable(f"{rule.name}: the update of {_entry_name(rule, i)} is not differentiable at "
                                  f"its fixed point ({why} in its expansion)")
        lin = ser.coeff(h, 1)
        row = [sp.simplify(lin.diff(dk)) for dk in d]
        if sp.simplify(lin - sum(r * dk for r, dk in zip(row, d))) != 0:
            raise NotLinearizable(f"{rule.name}: the update of {_entry_name(rule, i)} has a direction-dependent "
                                  f"first-order term at {fp}: not differentiable there")
        rows.append(row)
    where = ", ".join(f"{sp.sstr(k)}* = {sp.sstr(v)}" for k, v in fp.items())
    notes.append(f"the update is nonlinear in the state: linearised at its fixed point {where} (the minimum)")
    return sp.Matrix(rows), fp


def linearize(rule: UpdateRule) -> Linearization:
    """The linear dynamics of ``rule`` on L = ½λθ²: M(λ), M(x) with λ = x/lr, det(zI − M), notes.

    Raises :class:`NotLinearizable` for non-smooth rules and :class:`AnalysisError` when the rule has no
    ``lr`` or no unique fixed point.  DiracDelta never appears: non-smooth functions are refused first."""
    if "lr" not in rule.hyper:
        raise AnalysisError(f"{rule.name}: no hyperparameter 'lr'; the analysis is in x = lr*lambda")
    lr = rule.hyper["lr"]
    try:  # NotDifferentiable and a missing t -> oo limit are both ValueErrors with a one-line message
        base, notes = rule.asymptotic()
        base.require_differentiable()
    except ValueError as exc:
        raise NotLinearizable(str(exc)) from None
    if rule.counter is not None:
        notes.insert(0, f"the step counter {_entry_name(rule, rule.counter)} is dropped: the rule is analysed in "
                        "its t -> oo limit")
    decaying = rule.decaying_bases()
    state, updates, keep = base.state, list(base.update), [k for k in range(len(rule.state)) if k != rule.counter]
    y = sp.Dummy("y")
    F = sp.Matrix([u.replace(rule.oracle, sp.Lambda(y, lam * y)) for u in updates])
    J = F.jacobian(sp.Matrix(state))
    fp: dict = {}
    if J.free_symbols & set(state):
        J, fp = _jacobian_at_fixed_point(rule, F, state, notes)
    J = J.applyfunc(sp.simplify)
    if J.has(sp.DiracDelta) or J.has(sp.nan, sp.zoo):
        raise NotLinearizable(f"{rule.name}: the Jacobian is not defined at the fixed point")
    M = J.subs(lam, x / lr).applyfunc(sp.simplify)
    P = sp.expand((z * sp.eye(len(state)) - M).det())
    explicit = P.has(lr)
    if explicit:
        partners = sorted({sp.sstr(s) for term in sp.Add.make_args(P) if term.has(lr)
                           for s in term.free_symbols - {lr, x, z}})
        notes.append("lr appears outside x = lr*lambda" + (f" (with {', '.join(partners)})" if partners else "")
                     + ": the stable interval of x depends on lr's value")
    return Linearization(rule, state, tuple(_entry_name(rule, i) for i in keep), J, M, P, lr, explicit,
                         fp, tuple(dict.fromkeys(decaying)), tuple(notes))


# -- Schur–Cohn / Jury -----------------------------------------------------------------------------
def jury_conditions(poly: sp.Expr, var: sp.Symbol = z) -> list[sp.StrictGreaterThan]:
    """The Schur–Cohn/Jury conditions of a real polynomial ``poly`` in ``var`` (its leading
    coefficient nonzero; the polynomial is made monic first): all its roots lie in the open unit disc
    iff every returned inequality ``c > 0`` holds.

    The conditions are derived once per degree n for the generic monic polynomial (see
    :func:`generic_jury_conditions`), then the actual coefficients are substituted, each condition is
    factored, and factors SymPy knows to be positive (or equal to an earlier condition) are divided out;
    conditions that become positive are dropped."""
    p = sp.Poly(sp.expand(poly), var)
    n = p.degree()
    if n < 1:
        return []
    lc = p.LC()
    coeffs = [sp.cancel(c / lc) for c in p.all_coeffs()]
    a = sp.symbols(f"a0:{n}")
    sub = {a[k]: coeffs[n - k] for k in range(n)}
    known: list[sp.Expr] = []
    out: list[sp.Expr] = []
    for c in generic_jury_conditions(n):
        r = _reduce(c.lhs.subs(sub), known)
        if r.is_positive or r in out:
            continue
        out.append(r)
        factors = sp.factor_list(sp.fraction(sp.together(r))[0])[1]
        if len(factors) == 1 and factors[0][1] == 1:
            known.append(sp.expand(r))
    return [sp.StrictGreaterThan(c, 0, evaluate=False) for c in out]


def _reduce(e: sp.Expr, known: list) -> sp.Expr:
    """e factored, with factors known positive (assumptions, or an earlier condition) divided out."""
    num, den = sp.fraction(sp.together(e))
    sign, kept = sp.S.One, sp.S.One
    for part, power in ((num, 1), (den, -1)):
        coeff, factors = sp.factor_list(sp.expand(part))
        sign *= sp.sign(coeff)
        for f, k in factors:
            if f.is_positive or any(sp.expand(f - q) == 0 for q in known):
                continue  # known positive: dividing it out keeps the sign
            if f.is_negative or any(sp.expand(f + q) == 0 for q in known):
                sign *= (-1) ** k
                continue
            kept *= f ** (k * power)
    return sign * kept


@lru_cache(maxsize=None)
def generic_jury_conditions(n: int) -> tuple[sp.StrictGreaterThan, ...]:
    """Schur–Cohn conditions of z^n + a_{n-1} z^{n-1} + ... + a_0 (symbols a0, a1, ...): all roots in
    the open unit disc iff every ``c > 0``.

    Level k (degree k, leading ℓ > 0, constant c): ℓ − c > 0 and ℓ + c > 0, then the reduced polynomial
    (ℓP − c·P*)/z with P* = z^k P(1/z), whose leading coefficient ℓ² − c² = (ℓ − c)(ℓ + c) is positive
    when they hold; factors equal to an earlier condition are divided out (n = 2 gives 1 − a₀ > 0,
    1 + a₀ > 0, P(−1) > 0, P(1) > 0)."""
    a = sp.symbols(f"a0:{n}")
    p = sp.Poly(z**n + sum(a[k] * z**k for k in range(n)), z)
    known: list[sp.Expr] = []
    out: list[sp.Expr] = []
    while p.degree() >= 1:
        coeffs = p.all_coeffs()
        lead, const = coeffs[0], coeffs[-1]
        for e in (lead - const, lead + const):
            r = _reduce(e, known)
            if r.is_positive:
                continue
            out.append(r)
            factors = sp.factor_list(sp.fraction(sp.together(r))[0])[1]
            if len(factors) == 1 and factors[0][1] == 1:
                known.append(sp.expand(r))
        rev = sp.Poly(list(reversed(coeffs)), z)
        q = sp.Poly(sp.expand(lead * p.as_expr() - const * rev.as_expr()), z)
        p = sp.Poly(sp.cancel(q.as_expr() / z), z)
    return tuple(sp.StrictGreaterThan(c, 0, evaluate=False) for c in out)


# -- the stable interval -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StableInterval:
    """The stable set of x > 0 at given hyperparameter values.

    ``status``: "bounded" (stable exactly on (0, x_critical)), "unbounded" (on all x > 0 near 0 with no
    right end), "empty" (no interval (0, ε) is stable).  ``intervals`` lists every stable interval of
    x > 0 found ((lo, hi), hi None for +∞).  ``expr``: a closed form of x_critical in the other
    hyperparameters (a root of one Jury condition, branch chosen at the given values) or None;
    ``method``: "exact" (x_critical is ``expr`` evaluated) or "numeric" (a root found to 1e-9)."""

    x_critical: float | None
    status: str
    intervals: tuple
    expr: sp.Expr | None
    method: str


def _rational(v) -> sp.Rational:
    return sp.Rational(repr(float(v))) if not isinstance(v, sp.Basic) else sp.nsimplify(v, rational=True)


def values_for(lin: Linearization, values: dict[str, float] | None) -> dict[sp.Symbol, sp.Rational]:
    """Protocol-name values (defaults filled in) as exact rationals keyed by symbol; raises
    :class:`AnalysisError` for a symbol P needs whose value is missing."""
    given = {**lin.rule.defaults, **(values or {})}
    unknown = sorted(set(given) - set(lin.rule.hyper))
    if unknown:
        raise AnalysisError(f"{lin.rule.name}: unknown hyperparameter(s) {', '.join(unknown)}; it takes "
                            + ", ".join(lin.rule.hyper))
    out = {lin.rule.hyper[k]: _rational(v) for k, v in given.items()}
    missing = missing_values(lin, out)
    if missing:
        raise AnalysisError(f"{lin.rule.name}: give a value for {', '.join(missing)} (e.g. --set {missing[0]}=...)")
    return out


def missing_values(lin: Linearization, vals: dict) -> list[str]:
    """Protocol names of the hyperparameters P still depends on once ``vals`` (symbol -> value) are
    substituted (lr only counts where it appears outside x = lr·λ at these values)."""
    left = lin.polynomial.subs(vals).free_symbols - {x, z}
    return [k for k, s in lin.rule.hyper.items() if s in left]


def real_positive_roots(expr: sp.Expr, var: sp.Symbol) -> list[float]:
    """Positive real roots of the numerator and denominator of a univariate rational function."""
    out = []
    for part in sp.fraction(sp.together(expr)):
        part = sp.expand(part)
        if not part.has(var):
            continue
        for r in sp.Poly(part, var).real_roots():
            v = float(r.evalf(30))
            if v > 0:
                out.append(v)
    return out


def univariate_stable_set(conditions, var: sp.Symbol, stable_at=None) -> list[tuple[float, float | None]]:
    """The set of var > 0 where every expression in ``conditions`` (rational in var, numbers only) is
    > 0, as disjoint open intervals.  Boundaries are the exact real roots of numerators and
    denominators; each piece is classified at its midpoint; ``stable_at(v) -> bool`` (an independent
    check, e.g. eigenvalues) decides whether two neighbouring pieces join through their common end."""
    fs = [sp.lambdify(var, sp.factor(c), "mpmath") for c in conditions]
    cuts = sorted({r for c in conditions for r in real_positive_roots(c, var)})
    edges = [0.0, *cuts]
    pieces = []
    for k, lo in enumerate(edges):
        hi = edges[k + 1] if k + 1 < len(edges) else None
        mid = (lo + hi) / 2 if hi is not None else (2 * lo + 1)
        ok = all(_positive(f, mid) for f in fs)
        pieces.append((lo, hi, ok))
    out: list[list] = []
    for lo, hi, ok in pieces:
        if not ok:
            continue
        if out and out[-1][1] == lo and stable_at is not None and stable_at(lo):
            out[-1][1] = hi
        else:
            out.append([lo, hi])
    return [tuple(i) for i in out]


def _positive(f, v) -> bool:
    import mpmath

    with mpmath.workdps(40):
        r = f(mpmath.mpf(v))
    try:
        return bool(r > 0)
    except TypeError:
        return False


def stable_interval(lin: Linearization, values: dict[str, float] | None = None, stable_at=None) -> StableInterval:
    """The stable set of x > 0 for ``lin`` at hyperparameter ``values`` (protocol names; the rule's
    defaults fill the rest), by the Jury conditions: exact root isolation on the conditions with the
    values substituted as exact rationals, then a closed form of the right end when one condition's
    factor can be solved for x by SymPy (degree <= 2 in x) and matches it to 1e-9."""
    vals = values_for(lin, values)
    conds = [sp.factor(c.subs(vals)) for c in lin.conditions]
    if any(not c.has(x) and not bool(c > 0) for c in conds):
        return StableInterval(0.0, "empty", (), None, "exact")
    conds = [c for c in conds if c.has(x)]
    intervals = univariate_stable_set(conds, x, stable_at)
    if not intervals or intervals[0][0] != 0.0:
        return StableInterval(0.0, "empty", tuple(intervals), None, "exact")
    hi = intervals[0][1]
    if hi is None:
        return StableInterval(None, "unbounded", tuple(intervals), None, "exact")
    expr = _closed_form(lin, vals, hi)
    if expr is not None:
        hi = float(expr.subs(vals).evalf(30))
        return StableInterval(hi, "bounded", tuple(intervals), expr, "exact")
    return StableInterval(hi, "bounded", tuple(intervals), None, "numeric")


def _closed_form(lin: Linearization, vals: dict, target: float) -> sp.Expr | None:
    for c in lin.conditions:
        num = sp.fraction(sp.factor(c))[0]
        for f, _ in sp.factor_list(num)[1]:
            if not f.has(x) or sp.degree(f, x) > 2:
                continue
            for root in sp.solve(f, x):
                try:
                    v = complex(root.subs(vals).evalf(30))
                except (TypeError, ValueError):
                    continue
                if abs(v.imag) < 1e-12 and abs(v.real - target) <= 1e-9 * max(1.0, abs(target)):
                    return sp.factor(root)
    return None
