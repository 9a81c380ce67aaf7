"""``ldyn modified-equation``: the modified flow of GD on a user's loss, parsed safely."""
from __future__ import annotations

import sympy as sp

MAX_ORDER = 6
MAX_PARAMS = 6
DEFAULT_ORDER = 3
# The symbolic work grows steeply with the order, the number of parameters and the kind of
# loss.  Measured: the allowed maxima take under 20 s on e.g. (x*y*z - 1)**2/2 (order 3),
# (a*b*c*d*f - 1)**2/2 (order 2), (x*y - 1)**2/2 + sin(x)*y (order 2), 1/(1 + x**2 + y**2) (order 1).
MAX_ORDER_BY_PARAMS = {1: 6, 2: 4, 3: 3, 4: 3, 5: 2, 6: 1}
#: a rational loss with a parameter-dependent denominator, e.g. 1/(1 + x**2), is the costly
#: kind: 1/(1+x**2+y**2) takes 9 s at order 1 and minutes at order 2, and
#: 1/(1+x**2+y**2+z**2) minutes already at order 1
MAX_ORDER_RATIONAL = 1
MAX_PARAMS_RATIONAL = 2


def _has_denominator(expr: sp.Expr, params) -> bool:
    return not expr.is_polynomial(*params) and expr.is_rational_function(*params)


def max_order(expr: sp.Expr, params) -> tuple[int, str]:
    """The highest --order allowed for ``expr`` in ``params``, and the kind of loss that sets it."""
    from derive.analysis.modified_equation import MAX_TRANSCENDENTAL_ORDER

    n = len(params)
    limit, kind = MAX_ORDER_BY_PARAMS[n], f"a polynomial loss of {n} parameter(s)"
    if not expr.is_polynomial(*params):
        if _has_denominator(expr, params):
            kind, cap = f"a rational loss of {n} parameter(s) (a parameter in a denominator)", MAX_ORDER_RATIONAL
        else:
            kind, cap = f"a loss of {n} parameter(s) with transcendental functions", MAX_TRANSCENDENTAL_ORDER
        limit = min(limit, cap)
    return limit, kind


def report(loss_text: str, params_text: str | None, order: int | None = None) -> dict:
    """Parse the loss (no eval), derive and check the modified equation up to η^order.

    ``order=None`` means ``DEFAULT_ORDER`` (3), lowered to :func:`max_order` of the loss.
    Bad input (the loss, the names, an order above :func:`max_order`, more than
    ``MAX_PARAMS`` parameters) raises ValueError; a derivation that does not check is a
    fault of this code, not of the input, and raises RuntimeError."""
    from derive.expressions import parse_loss
    from derive.analysis.modified_equation import modified_equation

    if order is not None and not 1 <= order <= MAX_ORDER:
        raise ValueError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    names = None if params_text is None else [p.strip() for p in params_text.split(",") if p.strip()]
    expr, params = parse_loss(loss_text, names)
    if any(p.name == "eta" for p in params):
        raise ValueError("'eta' is the step size; name the loss's parameters otherwise")
    if len(params) > MAX_PARAMS:
        raise ValueError(f"the loss has {len(params)} parameters; at most {MAX_PARAMS} are supported")
    if _has_denominator(expr, params) and len(params) > MAX_PARAMS_RATIONAL:
        raise ValueError(f"a rational loss with a parameter in a denominator is supported for at most "
                         f"{MAX_PARAMS_RATIONAL} parameters, this one has {len(params)} (its derivation takes minutes)")
    limit, kind = max_order(expr, params)
    if order is None:
        order = min(DEFAULT_ORDER, limit)
    if order > limit:
        by_params = ", ".join(f"{v} for {k}" for k, v in MAX_ORDER_BY_PARAMS.items())
        raise ValueError(f"--order {order} is too high for {kind}: at most {limit} (the limits, by number of "
                         f"parameters: {by_params}; lower for non-polynomial losses)")
    d = modified_equation(expr, params, order)
    check = d.check()
    if not check.ok:
        bad = [s for s in check.steps if not s.ok]
        raise RuntimeError(f"the derivation of the modified equation did not check: {bad[0].step.reason} "
                           f"({bad[0].status}); please report this loss")
    fields = d.results["fields"]
    return {"loss": sp.sstr(expr), "params": [p.name for p in params], "order": order,
            "vector_field": [sp.sstr(e) for e in d.results["vector_field"]],
            "fields": [[sp.sstr(e) for e in f] for f in fields],
            "modified_loss": sp.sstr(d.results["modified_loss"]),
            "check": check.summary(), "latex": d.to_latex(check)}


def format_report(rep: dict) -> str:
    lines = [f"loss L({', '.join(rep['params'])}) = {rep['loss']}",
             f"GD with step eta follows, up to O(eta^{rep['order'] + 1}), the flow theta' = f0 + eta f1 + ...:"]
    for n, f in enumerate(rep["fields"]):
        for p, e in zip(rep["params"], f):
            lines.append(f"  f{n}[{p}] = {e}")
    lines.append(f"first-order modified loss: L + eta/4 |grad L|^2 = {rep['modified_loss']}")
    lines.append(f"checked by SymPy: {rep['check']}")
    return "\n".join(lines)
