"""``ldyn modified-equation``: the modified flow of GD on a user's loss, parsed safely."""
from __future__ import annotations

import sympy as sp

MAX_ORDER = 6
MAX_PARAMS = 6
# The symbolic work grows steeply with the order and the number of parameters.
MAX_ORDER_BY_PARAMS = {1: 6, 2: 4}  # and 3 for 3 or more parameters
MAX_ORDER_MANY_PARAMS = 3
DEFAULT_ORDER = 3


def max_order(n_params: int) -> int:
    """The highest --order allowed for a loss of ``n_params`` parameters."""
    return MAX_ORDER_BY_PARAMS.get(n_params, MAX_ORDER_MANY_PARAMS)


def report(loss_text: str, params_text: str | None, order: int | None = None) -> dict:
    """Parse the loss (no eval), derive and check the modified equation up to η^order.

    ``order=None`` means ``DEFAULT_ORDER`` (3), lowered to the derivation's limit on
    losses that are not rational functions (``MAX_TRANSCENDENTAL_ORDER``, 2).

    Bad input (the loss, the names, an order above :func:`max_order`, more than
    ``MAX_PARAMS`` parameters) raises ValueError; a derivation that does not check is a
    fault of this code, not of the input, and raises RuntimeError."""
    from derive.expressions import parse_loss
    from derive.modified_equation import MAX_TRANSCENDENTAL_ORDER, modified_equation

    if order is not None and not 1 <= order <= MAX_ORDER:
        raise ValueError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    names = None if params_text is None else [p.strip() for p in params_text.split(",") if p.strip()]
    expr, params = parse_loss(loss_text, names)
    if any(p.name == "eta" for p in params):
        raise ValueError("'eta' is the step size; name the loss's parameters otherwise")
    if len(params) > MAX_PARAMS:
        raise ValueError(f"the loss has {len(params)} parameters; at most {MAX_PARAMS} are supported")
    if order is None:
        rational = expr.is_rational_function(*params)
        order = DEFAULT_ORDER if rational else min(DEFAULT_ORDER, MAX_TRANSCENDENTAL_ORDER)
    if order > max_order(len(params)):
        raise ValueError(f"--order {order} is too high for a loss of {len(params)} parameter(s): at most "
                         f"{max_order(len(params))} (the limit is {MAX_ORDER_BY_PARAMS[1]} for 1 parameter, "
                         f"{MAX_ORDER_BY_PARAMS[2]} for 2, {MAX_ORDER_MANY_PARAMS} for 3 or more)")
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
