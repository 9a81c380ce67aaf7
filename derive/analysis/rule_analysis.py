"""The derivation of any rule's analysis, every step checked: the rule-level facts of
:func:`derive.update_rule.rule_derivation` (iteration matrix, characteristic polynomial, continuous limit,
fixed points), then the linear analysis of :mod:`derive.analysis.linear`: the characteristic polynomial in
z and x = lr·λ, the Schur–Cohn/Jury conditions, the boundary of the stable interval as a root of one
condition (proved for every value of the other hyperparameters), and the stable interval itself at the
rule's default hyperparameters (proved by exact root isolation with ``solveset``).

This is what ``ldyn derive SPEC`` prints for a rule (a catalogue name or a ``.rule`` file) and what
``ldyn notes`` writes as ``notes/rule-NAME.md`` / ``.tex`` for every catalogue rule.
"""
from __future__ import annotations

import sympy as sp

from derive.analysis import linear
from derive.derivation import Derivation
from derive.update_rule import UpdateRule, rule_derivation


def _summary(rule: UpdateRule, lin, si, values: dict) -> str:
    at = ", ".join(f"{k} = {v:g}" for k, v in values.items() if k != "lr")
    parts = [f"{rule.title} as a dynamical system, derived from its update rule alone by the generic pipeline."]
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
        d.given(r"\text{linear analysis}", sp.Symbol(r"\text{none}"), str(exc))
        d.summary = _summary(rule, None, None, values)
        return d
    x, z = linear.x, linear.z
    for note in lin.notes:
        d.given(r"\text{note}", sp.Symbol(r"\text{assumed}"), note)
    berkowitz = lin.matrix.charpoly(z).as_expr()
    d.equal(lin.polynomial, berkowitz, "with lambda = x/eta: P(z) = det(zI - M) (against the Berkowitz algorithm)",
            display=r"P(z)")
    d.given(r"\text{stable}", r"\text{all roots of } P \text{ in } |z| < 1 \iff c_k(x) > 0 \text{ for all } k",
            "Schur-Cohn test (Schur 1917, Cohn 1922; Jury's table, 1964): the conditions c_k below")
    for k, c in enumerate(lin.conditions, 1):
        d.given(sp.Symbol(f"c_{k}"), sp.factor(c), "a Schur-Cohn condition, c > 0")
    try:
        vals = linear.values_for(lin, {k: v for k, v in values.items() if k in rule.hyper})
        si = linear.stable_interval(lin, values)
    except linear.AnalysisError as exc:
        d.given(r"x_{\max}", sp.Symbol(r"\text{undetermined}"), str(exc))
        d.summary = _summary(rule, None, None, values)
        return d
    exact = None
    if si.expr is not None:
        boundary = next((c for c in lin.conditions if sp.simplify(c.subs(x, si.expr)) == 0), None)
        if boundary is not None:
            d.equal(boundary.subs(x, si.expr), 0, "the right end of the stable interval is a root of a "
                    "Schur-Cohn condition, for every value of the other hyperparameters",
                    display=r"c(x_{\max})")
            d.result("x_critical_expr", si.expr)
        exact = sp.nsimplify(si.expr.subs(vals))
    conds = [sp.factor(c.subs(vals)) for c in lin.conditions]
    conds = [c for c in conds if c.has(x)]
    xr = sp.Symbol("x", real=True)
    if si.status == "bounded" and exact is not None and conds:
        d.equivalent(sp.And(xr > 0, *(c.subs(x, xr) > 0 for c in conds)), xr, sp.Interval.open(0, exact),
                     "at the given hyperparameters: the stable step sizes x = eta lambda")
        d.result("x_critical", exact)
    elif si.status == "bounded":
        d.given(r"x_{\max}", sp.Float(si.x_critical, 10), "numeric: the right end of the stable interval, found by "
                "exact root isolation of the conditions at the given hyperparameters, to 1e-9")
        d.result("x_critical", sp.Float(si.x_critical, 10))
    elif si.status == "unbounded":
        d.equivalent(sp.And(xr > 0, *(c.subs(x, xr) > 0 for c in conds)) if conds else xr > 0, xr,
                     sp.Interval.open(0, sp.oo), "at the given hyperparameters: stable for every step size")
    d.result("characteristic_polynomial_x", lin.polynomial)
    d.summary = _summary(rule, lin, _Interval(si, exact if exact is not None else sp.Float(si.x_critical or 0, 10)),
                         values)
    return d
