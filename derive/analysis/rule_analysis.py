"""The derivation of any rule's analysis, every step checked: the rule-level facts of
:func:`rule_derivation` (iteration matrix, characteristic polynomial, continuous limit,
fixed points), then the linear analysis of :mod:`derive.analysis.linear`: the characteristic polynomial in
z and x = lr·λ, the Schur–Cohn/Jury conditions, the boundary of the stable interval as a root of one
condition (proved for every value of the other hyperparameters), and the stable interval itself at the
rule's default hyperparameters (proved by exact root isolation with ``solveset``).

This is what ``ldyn derive SPEC`` prints for a rule (a catalogue name or a ``.rule`` file) and what
``ldyn notes`` writes as ``notes/rule-NAME.md`` / ``.tex`` for every catalogue rule.
"""
from __future__ import annotations

import re

import sympy as sp

from derive.analysis import linear
from derive.derivation import Derivation
from derive.markup import MarkupError, lint
from derive.update_rule import UpdateRule


# -- prose: the reasons are built from the rule, in the markup of derive.markup ($math$, `code`) ------------
#: longest LaTeX of a value written into a reason (a longer one would run off the page beside its step)
MAX_REASON_TEX = 120


def _quote(message) -> str:
    """A diagnostic (an exception's message, a note worded for the terminal) quoted as `code`: valid markup
    whatever it contains."""
    return "`" + " ".join(str(message).split()).replace("`", "'") + "`"


def _tex(e) -> str:
    """A SymPy value as inline math."""
    return f"${sp.latex(e)}$"


def _entry_tex(rule: UpdateRule, entry: str) -> str:
    """The state entry named ``entry`` ("theta", "m", ...) as inline math, or as `code` if it is unknown."""
    by_name = dict(zip(("theta", *rule.state_names), rule.state))
    return _tex(by_name[entry]) if entry in by_name else _quote(entry)


def _title(rule: UpdateRule) -> str:
    """The rule's title where it is valid prose on its own (a user's title may hold names with _), else its
    name as code."""
    try:
        if not lint(rule.title):
            return rule.title
    except MarkupError:
        pass
    return f"The rule {_quote(rule.name)}"


def _note(rule: UpdateRule, note: str, lin=None) -> str:
    """A note of the t -> oo limit (:meth:`UpdateRule.asymptotic`) or of :func:`linear.linearize`, worded for
    the terminal, in the markup; a note of unknown form is quoted."""
    m = re.fullmatch(r"(.+)\^\(t\+1\) -> 0 as t -> oo \(assumes 0 <= (.+) < 1\)", note)
    if m:
        base = next((b for b in rule.decaying_bases() if sp.sstr(b) == m.group(1)), None)
        if base is not None:
            b = sp.latex(base)
            b = b if isinstance(base, sp.Symbol) else "\\left(%s\\right)" % b
            return (f"${b}^{{t+1}} \\to 0$ as $t \\to \\infty$, assuming "
                    f"$0 \\le {sp.latex(base)} < 1$")
    if note.startswith("the step counter's Piecewise takes its branch for large t"):
        return ("the step counter's `Piecewise` takes its branch for large $t$ (the first-step case is "
                "transient)")
    m = re.fullmatch(r"limit t -> oo taken by SymPy in (.+)", note)
    if m:
        return f"the limit $t \\to \\infty$ is taken by SymPy in {_quote(m.group(1))}"
    m = re.fullmatch(r"the step counter (\S+) is dropped: the rule is analysed in its t -> oo limit", note)
    if m:
        return f"the step counter {_quote(m.group(1))} is dropped: the rule is analysed in its limit $t \\to \\infty$"
    if note.startswith("the update is nonlinear in the state: linearised at its fixed point") and lin is not None \
            and lin.fixed_point:
        where = ", ".join(f"{{{sp.latex(k)}}}^{{*}} = {sp.latex(v)}" for k, v in lin.fixed_point.items())
        return (f"the update is nonlinear in the state, so it is linearised at its fixed point ${where}$ (the "
                "minimum of the quadratic)")
    m = re.fullmatch(r"lr appears outside x = lr\*lambda(?: \(with (.+)\))?: the stable interval of x depends "
                     r"on lr's value", note)
    if m:
        eta = sp.latex(rule.hyper["lr"])
        by_name = {sp.sstr(v): v for v in rule.hyper.values()}
        partners = [by_name.get(n) for n in (m.group(1) or "").split(", ") if n]
        with_ = ""
        if partners and all(v is not None for v in partners):
            with_ = " (in terms with " + ", ".join(_tex(v) for v in partners) + ")"
        elif partners:
            with_ = f" (with {_quote(m.group(1))})"
        return (f"the step size ${eta}$ also appears outside $x = {eta}\\lambda${with_}, so the stable interval "
                f"of $x$ depends on the value of ${eta}$")
    return _quote(note)


def rule_derivation(rule: UpdateRule, expected: dict | None = None, name: str | None = None,
                    summary: str = "") -> "Derivation":
    """The rule-level facts of any rule, each step checked: its quadratic linearisation (the iteration
    matrix computed two ways: from the map on L = ½λθ², and from the Jacobian with g' = λ), the
    characteristic polynomial (det(zI − M) against the Berkowitz algorithm), the continuous-time limit
    through the slow manifold of the state (the invariance of the manifold and the vector field proved to
    first order in η), and the fixed points (the map leaves them unchanged).  A rule with a step counter is
    taken in its t → ∞ form and says so; a non-differentiable rule gets no linearisation, and says why.
    ``expected`` may hold the same objects written independently by hand (keys ``jacobian``,
    ``iteration_matrix``, ``characteristic_polynomial`` in λ and z, ``continuous_limit``); each step then
    also proves that SymPy's computation equals them."""
    expected = expected or {}
    lam = sp.Symbol("lambda", real=True)
    z = sp.Symbol("z")
    new = sp.Matrix([sp.Symbol(sp.latex(s) + "^{+}") for s in rule.state])
    d = Derivation(name or rule.name, f"{rule.title}: the update rule as a dynamical system", summary=summary)
    whole = rule.whole_array()
    d.given(new, rule.as_matrix(), "the update rule" +
            (f"; $g(x)$ is the gradient of the loss $L$ at $x$, and {_quote(whole[0][0])} acts on the whole array"
             if whole else ", coordinate-wise; $g(x)$ is the gradient of the loss $L$ at $x$"))
    try:
        base, notes = rule.asymptotic()
    except ValueError as exc:  # a whole-array function, a counter that does not go away, SymPy's limit failing
        d.given(r"\text{no analysis}", sp.Symbol(r"\text{none}"), "no linearisation, continuous limit or fixed "
                "points: " + _quote(exc))
        return d
    eta = base.hyper["lr"]
    if notes:
        state = sp.Matrix(base.state)
        d.given(sp.Matrix([sp.Symbol(sp.latex(s) + "^{+}") for s in base.state]), base.as_matrix(),
                "the rule for large $t$, without the step counter: " + "; ".join(_note(rule, n) for n in notes))
    smooth = not base.nonsmooth()
    raw = base.on_quadratic(lam).jacobian(sp.Matrix(base.state)) if smooth else None
    linear = smooth and not (raw.free_symbols & set(base.state))
    if smooth and not linear:
        d.given(r"\text{no constant } M(\lambda)", sp.Symbol(r"\partial s^{+}/\partial s"),
                "on $L = \\lambda\\theta^2/2$ the map is not linear in its state (its Jacobian depends on the "
                "state), so there is no constant iteration matrix; linearise at a fixed point or freeze the "
                "state-dependent factors (e.g. Adam's preconditioner)")
    if linear:
        if "jacobian" in expected:
            d.equal(base.jacobian(), expected["jacobian"],
                    "the Jacobian of the map, as written by hand; $g'$ is the local curvature",
                    display=r"\frac{\partial s^{+}}{\partial s}")
        m = base.iteration_matrix(lam)
        y = sp.Dummy("y")
        via_jacobian = base.as_matrix().jacobian(sp.Matrix(base.state)).doit()
        via_jacobian = via_jacobian.replace(lambda e: isinstance(e, sp.Subs), lambda e: e.doit())
        via_jacobian = via_jacobian.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func == rule.oracle,
                                            lambda e: lam)
        via_jacobian = via_jacobian.replace(rule.oracle, sp.Lambda(y, lam * y))
        d.equal(m, via_jacobian, "on $L = \\lambda\\theta^2/2$ the gradient is $g(x) = \\lambda x$, so the map is "
                "linear and its matrix is its Jacobian with the curvature $g' = \\lambda$", display=r"M(\lambda)")
        if "iteration_matrix" in expected:
            d.equal(m, expected["iteration_matrix"], "the iteration matrix as written by hand", display=r"M(\lambda)")
        p = base.characteristic_polynomial(lam, z)
        d.equal(p, m.charpoly(z).as_expr(),
                "the characteristic polynomial $\\det(zI - M)$, computed again by the Berkowitz algorithm",
                display=r"\det(zI - M(\lambda))")
        if "characteristic_polynomial" in expected:
            d.equal(p, expected["characteristic_polynomial"], "the characteristic polynomial as written by hand",
                    display=r"\det(zI - M(\lambda))")
        d.result("iteration_matrix", m, label=r"M(\lambda)")
        d.result("characteristic_polynomial", p, label=r"\det(zI - M(\lambda))")
    elif not smooth:
        func, entry, _ = base.nonsmooth()[0]
        d.given(r"\text{no linearisation}", sp.Symbol(r"\operatorname{%s}" % func),
                f"the update of {_entry_tex(base, entry)} contains {_quote(func)}, which is not differentiable "
                "everywhere: no Jacobian, no iteration matrix, no characteristic polynomial")
    _continuous_limit_steps(d, base, eta, expected.get("continuous_limit"))
    _fixed_point_steps(d, base)
    for key in ("jacobian",):
        if key in expected:
            d.result(key, expected[key], label=r"\partial s^{+}/\partial s")
    return d


def _continuous_limit_steps(d, rule: UpdateRule, eta: sp.Symbol, expected) -> None:
    """Prove the slow manifold and the vector field to first order in η on the generic oracle
    g(x) = b₀ + b₁x + b₂x²: the first-order terms involve only g(θ) and g'(θ), which take independent
    values there, so an identity in b₀, b₁, b₂, θ is the identity for every smooth g."""
    try:
        manifold, field = rule.slow_manifold(eta)
    except ValueError as exc:
        d.given(r"\dot\theta", sp.Symbol(r"\text{none}"), f"no continuous-time limit: {_quote(exc)}")
        return
    c0, c1, c2 = sp.symbols("b_0 b_1 b_2", real=True)  # not c_k: those name the Schur-Cohn conditions
    y = sp.Dummy("y")
    oracle = sp.Lambda(y, c0 + c1 * y + c2 * y**2)

    def concrete(e):
        e = e.replace(lambda a: isinstance(a, sp.Derivative) and a.expr.func == rule.oracle,
                      lambda a: sp.diff(oracle(a.expr.args[0]), *a.variables))
        return e.replace(rule.oracle, oracle)

    kinks = rule.nonsmooth()
    if kinks:  # no derivative at the kink: claim only the rest point of the buffers and the leading-order field
        func, entry, node = kinks[0]
        where = f"where the argument of {_quote(func)} in the update of {_entry_tex(rule, entry)} vanishes"
        manifold = {s: v.subs(eta, 0) for s, v in manifold.items()}
    state = list(rule.state)
    on = {s: concrete(v) for s, v in manifold.items()}
    slow = [s for s in state if s not in manifold]
    update = {s: concrete(u).subs(on, simultaneous=True) for s, u in zip(state, rule.update)}
    eps = sp.Dummy("h")
    e = sp.latex(eta)
    for s, value in manifold.items():  # Y(x) after the step equals the updated fast entry, to O(η²)
        moved = concrete(value).subs({x: update[x] for x in slow}, simultaneous=True)
        residual = (update[s] - moved).subs(eta, eps)
        short = len(sp.latex(value)) <= MAX_REASON_TEX
        if kinks:
            d.equal(sp.simplify(residual.subs(eps, 0)), 0, f"{_tex(s)} relaxes to "
                    + (_tex(value) if short else f"$Y({sp.latex(rule.theta)})$")
                    + f", the rest point of its update at ${e} = 0$ (to order ${e}^0$ only: the rule is not "
                    f"differentiable {where})", display=r"%s^{+} - Y(\theta^{+})\;\big|_{\eta^0}" % sp.latex(s))
            continue
        orders = sp.Matrix([sp.simplify(residual.subs(eps, 0)), sp.simplify(sp.diff(residual, eps).subs(eps, 0))])
        shown = (f"${sp.latex(s)} = {sp.latex(value)}$" if short else f"${sp.latex(s)} = Y({sp.latex(rule.theta)})$ "
                 f"(its expansion to first order in ${e}$ is too long to show here)")
        d.equal(orders, sp.zeros(2, 1), f"the slow manifold {shown} is invariant under the map to first order in "
                f"${e}$: the orders ${e}^0$ and ${e}^1$ of the residual vanish on $g(x) = b_0 + b_1 x + b_2 x^2$, "
                "where $g$ and $g'$ take independent values",
                display=r"%s^{+} - Y(\theta^{+})\;\big|_{\eta^0,\,\eta^1}" % sp.latex(s))
    # the field itself, with the symbolic oracle: theta^+ on the manifold does not move at eta = 0, and its
    # eta-derivative there is the field (SymPy differentiates through g, look-ahead points included)
    symbolic = {s: v for s, v in manifold.items()}
    moved = [u.subs(symbolic, simultaneous=True).subs(eta, eps) for s, u in zip(state, rule.update) if s in slow]
    d.equal(sp.Matrix([sp.simplify(m.subs(eps, 0) - s) for m, s in zip(moved, slow)]), sp.zeros(len(slow), 1),
            f"on the slow manifold the slow entries move by $O({e})$ per step: at ${e} = 0$ "
            "they stay where they are", display=r"s^{+}\big|_{\eta=0} - s")
    d.equal(sp.Matrix([sp.diff(m, eps).subs(eps, 0).doit() for m in moved]), field,
            f"so $s^{{+}} = s + {e} F(s) + O({e}^2)$ on the manifold: its first-order term $F$ is the vector "
            f"field of the ODE in time $t = k{e}$",
            display=r"\partial_\eta s^{+}\big|_{\eta=0}")
    if expected is not None:
        d.equal(field, expected, "the continuous-time limit as written by hand", display=r"\dot s")
    d.result("continuous_limit", field, label=r"\dot s")


def _fixed_point_steps(d, rule: UpdateRule) -> None:
    try:
        points = rule.fixed_points()
    except ValueError as exc:
        d.given(r"s^{*}", sp.Symbol(r"\text{not solved}"), f"no fixed points: {_quote(exc)}")
        return
    x = sp.Dummy("x")
    state = sp.Matrix(rule.state)
    gsym = sp.Symbol("g^*", real=True)
    residuals = [(fp, (rule.as_matrix().replace(rule.oracle, sp.Lambda(x, gsym)) - state).subs(fp)) for fp in points]
    unverified = [fp for fp, r in residuals if not all(sp.simplify(e) == 0 for e in r)]
    if unverified:
        d.given(r"s^{*}", sp.Symbol(r"\text{partly solved}"), f"fixed points: SymPy's `solve` returned "
                f"{len(unverified)} "
                "candidate(s) that do not satisfy the map identically (they hold only on a branch it assumed); "
                "they are not shown")
    for fp in [fp for fp, _ in residuals if fp not in unverified]:
        at = (rule.as_matrix().replace(rule.oracle, sp.Lambda(x, gsym)) - state).subs(fp)
        where = ", ".join(f"{sp.latex(k)} = {sp.latex(v)}" for k, v in fp.items())
        d.equal(at, sp.zeros(len(rule.state), 1), "one of the fixed points: substituted into the update "
                "(with the gradient $g^*$ there), it is left unchanged by the map",
                display=r"s^{+} - s \;\big|_{%s}" % where)


def _summary(rule: UpdateRule, lin, si, values: dict) -> str:
    at = ", ".join(f"`{k}={v:g}`" for k, v in values.items() if k != "lr")
    parts = [f"{_title(rule)} as a dynamical system, derived from its update rule alone by the generic analysis "
             "of any rule."]
    if lin is None:
        return " ".join(parts)
    parts.append(f"On one eigen-direction $\\lambda$ of the Hessian its characteristic polynomial has degree "
                 f"{lin.degree} in $z$ and depends on the step through $x = \\eta\\lambda$.")
    if si.status == "bounded":
        parts.append(f"At {at or 'its defaults'} it is stable exactly for $0 < x < {sp.latex(si.x_critical_exact)}$"
                     + (f" $\\approx {si.x_critical:.6g}$" if not si.x_critical_exact.is_Rational else "") + ".")
    elif si.status == "unbounded":
        parts.append(f"At {at or 'its defaults'} it is stable for every $x > 0$.")
    else:
        parts.append(f"At {at or 'its defaults'} no interval $0 < x < \\epsilon$ is stable.")
    return " ".join(parts)


class _Interval:
    """stable_interval's answer with the right end as an exact number when one is known."""

    def __init__(self, si, exact):
        self.status, self.x_critical, self.expr, self.method = si.status, si.x_critical, si.expr, si.method
        self.x_critical_exact = exact


#: the label of the result ``x_critical``: the right end at the given hyperparameter values
X_CRITICAL_LABEL = r"x_{\max}\big|_{\text{given values}}"

#: values used where a catalogue rule has no default (heavy ball's momentum has none: torch's SGD default is 0,
#: which is plain GD)
EXAMPLE_VALUES = {"momentum": 0.9}


def rule_analysis(rule: UpdateRule, values: dict[str, float] | None = None, name: str | None = None) -> Derivation:
    """The full derivation for ``rule`` at hyperparameter ``values`` (protocol names; the rule's defaults fill
    the rest, then :data:`EXAMPLE_VALUES` where the rule has no default; the summary names the values used)."""
    values = {**{k: v for k, v in EXAMPLE_VALUES.items() if k in rule.hyper}, **rule.defaults, **(values or {})}
    d = rule_derivation(rule, name=name or f"rule-{rule.name}")
    d.title = f"{rule.title}: the update rule, its linear analysis and its stable step sizes"
    try:
        lin = linear.linearize(rule)
    except linear.AnalysisError as exc:
        d.given(r"\text{linear analysis}", sp.Symbol(r"\text{none}"), "no linear analysis: " + _quote(exc))
        d.summary = _summary(rule, None, None, values)
        return d
    x, z = linear.x, linear.z
    for note in lin.notes:
        d.given(r"\text{note}", sp.Symbol(r"\text{assumed}"), _note(rule, note, lin))
    berkowitz = lin.matrix.charpoly(z).as_expr()
    eta_tex = sp.latex(lin.lr)
    d.equal(lin.polynomial, berkowitz, f"with $\\lambda = x/{eta_tex}$: $P(z) = \\det(zI - M)$, computed again by the "
            "Berkowitz algorithm",
            display=r"P(z)")
    d.given(r"\text{stable}", r"\text{all roots of } P \text{ in } |z| < 1 \iff c_k(x) > 0 \text{ for all } k",
            "the Schur-Cohn test (Schur 1917, Cohn 1922; Jury's table, 1964): all roots lie in the open unit disc "
            "exactly when every condition $c_k$ below is positive")
    for k, c in enumerate(lin.conditions, 1):
        d.given(sp.Symbol(f"c_{k}"), sp.factor(c), f"Schur-Cohn condition {k} of {len(lin.conditions)}: "
                f"stability needs $c_{{{k}}} > 0$")
    try:
        vals = linear.values_for(lin, {k: v for k, v in values.items() if k in rule.hyper})
        si = linear.stable_interval(lin, values)
    except linear.AnalysisError as exc:
        d.given(r"x_{\max}", sp.Symbol(r"\text{undetermined}"), "no stable interval: " + _quote(exc))
        d.summary = _summary(rule, None, None, values)
        return d
    exact = None
    if si.expr is not None:
        boundary = next((c for c in lin.conditions if sp.simplify(c.subs(x, si.expr)) == 0), None)
        if boundary is not None:
            d.solution(sp.Eq(boundary, 0), x, si.expr, "the right end of the stable interval is a root of a "
                       "Schur-Cohn condition, for every value of the other hyperparameters")
            d.result("x_critical_expr", si.expr, label=r"x_{\max}")
        exact = sp.nsimplify(si.expr.subs(vals))
    conds = [sp.factor(c.subs(vals)) for c in lin.conditions]
    conds = [c for c in conds if c.has(x)]
    xr = x  # x = eta lambda > 0: solveset works within that assumption
    if si.status == "bounded" and exact is not None and conds:
        d.equivalent(sp.And(xr > 0, *(c.subs(x, xr) > 0 for c in conds)), xr, sp.Interval.open(0, exact),
                     f"at the given hyperparameters the Schur-Cohn conditions hold exactly on this interval of step "
                     f"sizes $x = {eta_tex}\\lambda$ (exact root isolation by `solveset`)")
        d.result("x_critical", exact, label=X_CRITICAL_LABEL)
    elif si.status == "bounded":
        d.given(r"x_{\max}", sp.Float(si.x_critical, 10), "numeric: the right end of the stable interval, found by "
                "exact root isolation of the conditions at the given hyperparameters, to $10^{-9}$")
        d.result("x_critical", sp.Float(si.x_critical, 10), label=X_CRITICAL_LABEL)
    elif si.status == "unbounded":
        d.equivalent(sp.And(xr > 0, *(c.subs(x, xr) > 0 for c in conds)) if conds else xr > 0, xr,
                     sp.Interval.open(0, sp.oo), "at the given hyperparameters the Schur-Cohn conditions hold for "
                     "every step size $x > 0$")
    d.result("characteristic_polynomial_x", lin.polynomial, label="P(z)")
    d.summary = _summary(rule, lin, _Interval(si, exact if exact is not None else sp.Float(si.x_critical or 0, 10)),
                         values)
    return d
