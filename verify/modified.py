"""``ldyn modified-equation``: the modified flow of GD on a user's loss, parsed safely."""
from __future__ import annotations

import sympy as sp

MAX_ORDER = 6


def report(loss_text: str, params_text: str | None, order: int) -> dict:
    """Parse the loss (no eval), derive and check the modified equation up to η^order."""
    from derive.expressions import parse_loss
    from derive.modified_equation import modified_equation

    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    names = None if params_text is None else [p.strip() for p in params_text.split(",") if p.strip()]
    expr, params = parse_loss(loss_text, names)
    if any(p.name == "eta" for p in params):
        raise ValueError("'eta' is the step size; name the loss's parameters otherwise")
    d = modified_equation(expr, params, order)
    check = d.check()
    if not check.ok:
        bad = [s for s in check.steps if not s.ok]
        raise ValueError(f"the derivation did not check: {bad[0].step.reason} ({bad[0].status})")
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
