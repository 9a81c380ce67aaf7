"""Backward error analysis: the modified equation that gradient descent really follows.

GD's map Φ_η(θ) = θ − η∇L(θ) is not the time-η flow of θ' = −∇L, but (formally) it is
the time-η flow of a *modified* field

    f̃ = f₀ + η f₁ + η² f₂ + …,   f₀ = −∇L.

The time-h flow of θ' = F(θ) is the Lie series  φ_h(θ) = Σ_k h^k/k! D_F^k θ  with the
derivation D_F = Σ_i F_i ∂/∂θ_i.  With h = η and F = f̃, the coefficient of η^{n+1} is
f_n + c_n(f₀, …, f_{n−1}); matching it with Φ_η (which stops at η¹) gives f_n = −c_n,
order by order.  The first correction is f₁ = −½∇²L∇L = −∇(¼‖∇L‖²): GD follows the
gradient flow of L̃ = L + (η/4)‖∇L‖², the implicit gradient regularizer
(Barrett & Dherin, ICLR 2021).  For one scalar field the series agrees with
Hairer, Lubich & Wanner, Geometric Numerical Integration (2006), §IX.1.
"""
from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from derive.derivation import Derivation

eta = sp.Symbol("eta", positive=True)

#: the independent direct expansion is attempted only for fields up to this size (its
#: expand-and-truncate cost explodes on transcendental losses)
DIRECT_CHECK_OPS = 600

#: highest order for losses with exp, log, sin, ...: each order multiplies the expression size
#: (order 3 of log(1 + exp(θ)) sin(θ) already takes ~13 s, order 4 minutes)
MAX_TRANSCENDENTAL_ORDER = 2


def _apply(field: Sequence[sp.Expr], params: Sequence[sp.Symbol], expr: sp.Expr) -> sp.Expr:
    """The Lie derivative D_F expr = Σ_i F_i ∂expr/∂θ_i."""
    return sp.expand(sum((f * sp.diff(expr, p) for f, p in zip(field, params)), sp.S.Zero))


def flow_map_series(fields: Sequence[Sequence[sp.Expr]], params: Sequence[sp.Symbol],
                    order: int) -> list[list[sp.Expr]]:
    """Coefficients of η^0..η^order of the time-η flow of θ' = Σ_j η^j fields[j].

    Returns ``coef[c][i]``: the coefficient of η^c in component i of φ_η(θ)."""
    n = len(params)
    total = [[sp.S.Zero] * n for _ in range(order + 1)]
    total[0] = list(params)
    term = [[p for p in params]]  # D^0 θ, as a polynomial in η: term[a][i]
    fact = sp.S.One
    for k in range(1, order + 1):
        fact *= k
        new = [[sp.S.Zero] * n for _ in range(order - k + 1)]
        for a, comp in enumerate(term):
            for j, field in enumerate(fields):
                if a + j > order - k:
                    continue
                for i in range(n):
                    new[a + j][i] += _apply(field, params, comp[i])
        term = new
        for a, comp in enumerate(term):
            for i in range(n):
                total[a + k][i] += comp[i] / fact
    return total


def _truncate(expr: sp.Expr, var: sp.Symbol, order: int) -> sp.Expr:
    """Drop the terms of a polynomial in ``var`` of degree above ``order``."""
    return sp.Add(*[t for t in sp.Add.make_args(sp.expand(expr)) if sp.degree(t, var) <= order])


def flow_map_direct(field: Sequence[sp.Expr], params: Sequence[sp.Symbol], order: int) -> list[sp.Expr]:
    """The time-η flow of θ' = F(θ, η), to O(η^order), by the plain Lie series
    Σ_k η^k/k! D_F^k θ with the whole η-dependent field and truncation after each
    step: a second, independent implementation used to check ``flow_map_series``."""
    total = list(params)
    term = list(params)
    for k in range(1, order + 1):
        term = [_truncate(_apply(field, params, t), eta, order - k) for t in term]
        total = [a + eta**k / sp.factorial(k) * b for a, b in zip(total, term)]
    return [_truncate(t, eta, order) for t in total]


def _tidy(expr: sp.Expr, params: Sequence[sp.Symbol]) -> sp.Expr:
    """Factor polynomials and rational functions (cheap and readable); leave anything
    transcendental expanded, where factor's cost explodes."""
    e = sp.expand(expr)
    return sp.factor(e) if e.is_rational_function(*params) else e


def modified_fields(loss: sp.Expr, params: Sequence[sp.Symbol], order: int) -> list[list[sp.Expr]]:
    """[f₀, f₁, …, f_order]: the modified field of GD on ``loss``, one list per power of η."""
    if order < 0:
        raise ValueError(f"order must be >= 0, got {order}")
    fields = [[-sp.diff(loss, p) for p in params]]
    for n in range(1, order + 1):
        coef = flow_map_series(fields, params, n + 1)[n + 1]
        fields.append([_tidy(-c, params) for c in coef])
    return fields


def modified_equation(loss: sp.Expr, params: Sequence[sp.Symbol], order: int = 3,
                      name: str = "modified-equation", loss_tex: str | None = None) -> Derivation:
    """The derivation of GD's modified equation on ``loss`` up to η^order, checked by SymPy.

    Named results: ``vector_field`` (list, one per parameter, in η), ``fields`` (the f_n),
    and ``modified_loss`` L + (η/4)‖∇L‖² (the first-order modified loss)."""
    params = list(params)
    if not params:
        raise ValueError("give at least one parameter")
    if order > MAX_TRANSCENDENTAL_ORDER and not loss.has(sp.core.function.AppliedUndef) \
            and not loss.is_rational_function(*params):
        raise ValueError(f"order {order} on a loss that is not a rational function of its parameters is beyond "
                         f"what SymPy expands in reasonable time here; use order <= {MAX_TRANSCENDENTAL_ORDER}")
    fields = modified_fields(loss, params, order)
    grad = sp.Matrix([sp.diff(loss, p) for p in params])
    theta = sp.Matrix(params)
    names = ", ".join(sp.latex(p) for p in params)
    d = Derivation(
        name, "The modified equation of gradient descent (backward error analysis)",
        summary=("Gradient descent $\\theta \\mapsto \\theta - \\eta\\nabla L(\\theta)$ is, to every order in "
                 "$\\eta$, the time-$\\eta$ flow of a modified vector field "
                 "$\\tilde f = f_0 + \\eta f_1 + \\eta^2 f_2 + \\dots$. The coefficients $f_n$ come from "
                 "matching the Lie series $\\sum_k \\frac{\\eta^k}{k!}D_{\\tilde f}^k\\theta$ with the GD map order "
                 f"by order, here up to $\\eta^{{{order}}}$ for the loss below in ${names}$. The first correction is "
                 "the gradient of $\\frac{1}{4}\\|\\nabla L\\|^2$: GD follows the gradient flow of "
                 "$L + \\frac{\\eta}{4}\\|\\nabla L\\|^2$ (implicit gradient regularization) up to $O(\\eta^2)$."),
        references=["D. G. T. Barrett and B. Dherin, Implicit Gradient Regularization, ICLR 2021",
                    "E. Hairer, C. Lubich and G. Wanner, Geometric Numerical Integration (2006), chapter IX"])
    d.given("L", loss if loss_tex is None else loss_tex, "the loss")
    d.equal(sp.Matrix([sp.Derivative(loss, p) for p in params]), grad, "the gradient of the loss", display=r"\nabla L")
    d.given(r"\Phi_\eta(\theta)", r"\theta - \eta \nabla L(\theta)", "one gradient-descent step")
    d.given(r"\dot\theta", "f_0 + \\eta f_1 + \\eta^2 f_2 + \\dots",
            "ansatz: the modified vector field, a power series in $\\eta$")
    d.equal(sp.Matrix(fields[0]), -grad, "the order $\\eta^1$ of the Lie series, $f_0$, matches the GD step "
            "$-\\eta\\nabla L$: the gradient flow", display="f_0")
    for n in range(1, order + 1):
        d.given(f"f_{n}", sp.Matrix(fields[n]), f"defined as minus the $\\eta^{{{n + 1}}}$ coefficient of the Lie "
                "series of " + ("$f_0$" if n == 1 else f"$f_0, \\dots, f_{{{n - 1}}}$") + ", so that this order "
                "matches GD, which stops at $\\eta^1$ (checked below)")
    if order >= 1:
        sq = sum((gi**2 for gi in grad), sp.S.Zero) / 4
        d.equal(sp.Matrix(fields[1]), -sp.Matrix([sp.diff(sq, p) for p in params]),
                "$f_1 = -\\frac{1}{2}\\nabla^2 L\\,\\nabla L$ is a gradient, since $\\nabla^2 L\\,\\nabla L = "
                "\\frac{1}{2}\\nabla\\|\\nabla L\\|^2$: implicit gradient regularization", display="f_1")
    modified_loss = loss + eta / 4 * sum((gi**2 for gi in grad), sp.S.Zero)
    if order >= 1:  # the modified loss is defined, and its property checked, only once f_1 exists
        d.given(r"\tilde L", modified_loss, "the modified loss $L + \\frac{\\eta}{4}\\|\\nabla L\\|^2$ (its defining "
                "property is checked next)")
        d.equal(sp.Matrix(fields[0]) + eta * sp.Matrix(fields[1]),
                -sp.Matrix([sp.diff(modified_loss, p) for p in params]),
                "with $f_0 = -\\nabla L$ and $f_1$ as above, GD follows the gradient flow of the modified loss up to "
                "$O(\\eta^2)$", display=r"f_0 + \eta f_1")
    vf = [sp.expand(sum((fields[n][i] * eta**n for n in range(order + 1)), sp.S.Zero)) for i in range(len(params))]
    d.given(r"\tilde f", vf, f"the modified field: the ansatz truncated after $\\eta^{{{order}}}$, with the $f_n$ "
            "above")
    total = [sum((fields[n][i] * eta**n for n in range(order + 1)), sp.S.Zero) for i in range(len(params))]
    display = r"\varphi^{\tilde f}_\eta(\theta) \bmod \eta^{%d}" % (order + 2)
    if sum(sp.count_ops(e) for e in total) <= DIRECT_CHECK_OPS:
        d.equal(sp.Matrix(flow_map_direct(total, params, order + 1)), theta - eta * grad,
                f"an independent expansion of the flow of the truncated field (the plain Lie series, truncated at "
                f"each step) reproduces GD up to $O(\\eta^{{{order + 2}}})$",
                display=display)
    else:
        d.given(display, r"\theta - \eta\nabla L(\theta)", "NOT re-derived independently: the field is too "
                "large for the direct expansion here (the Lie-series construction above still holds)")
    d.result("vector_field", vf, label=r"\tilde f")
    d.result("fields", fields, label=r"(f_0, f_1, \dots)")
    d.result("modified_loss", modified_loss, label=r"\tilde L")
    return d


def generic_modified_equation(order: int = 3) -> Derivation:
    """The modified equation for an arbitrary smooth loss L(θ) of one parameter."""
    th = sp.Symbol("theta", real=True)
    L = sp.Function("L")(th)
    d = modified_equation(L, [th], order=order, name="gd-modified-equation", loss_tex=r"L(\theta)")
    d.title = "The modified equation of gradient descent, for any smooth loss"
    f = -sp.diff(L, th)
    fp = sp.diff(f, th)
    fpp = sp.diff(f, th, 2)
    if order >= 2:
        # Hairer-Lubich-Wanner (2006), IX.1: explicit Euler, f~ = f - h/2 f'f + h^2/12 (f''(f,f) + 4 f'f'f) + ...
        d.equal(sp.Matrix(d.results["fields"][2]), sp.Matrix([(fpp * f**2 + 4 * fp * fp * f) / 12]),
                "agrees with the published series for explicit Euler (Hairer, Lubich and Wanner, section IX.1), "
                "$\\frac{1}{12}\\big(f''(f, f) + 4f'f'f\\big)$ with $f = -L'$",
                display="f_2")
    if order >= 1:
        d.equal(L + eta * sp.Integral(-d.results["fields"][1][0], th), d.results["modified_loss"],
                "in one parameter every field is a gradient: the modified loss is $L$ plus $\\eta$ times an "
                "antiderivative of $-f_1$",
                display=r"L + \eta\int (-f_1)\,d\theta")
    return d


# -- any rule: backward error analysis of its one-step map on θ ---------------------------------

def map_modified_fields(phi: Sequence[Sequence[sp.Expr]], params: Sequence[sp.Symbol],
                        order: int) -> list[list[sp.Expr]]:
    """[f₀, …, f_order] of the one-step map Φ(θ) = θ + Σ_c η^c Φ_c (``phi[c]``, c = 0..order+1):
    f₀ = Φ₁ and f_n = Φ_{n+1} − c_n(f₀, …, f_{n−1}), c_n the η^{n+1} coefficient of the Lie series
    of the fields found so far.  For GD (Φ₁ = −∇L, Φ_c = 0 for c ≥ 2) this is :func:`modified_fields`."""
    if order < 0:
        raise ValueError(f"order must be >= 0, got {order}")
    if len(phi) < order + 2:
        raise ValueError(f"the map's Taylor coefficients up to eta^{order + 1} are needed, got {len(phi) - 1}")
    fields = [list(phi[1])]
    for n in range(1, order + 1):
        coef = flow_map_series(fields, params, n + 1)[n + 1]
        fields.append([_tidy(p - c, params) for p, c in zip(phi[n + 1], coef)])
    return fields


def flow_map_poly(field: Sequence[sp.Expr], params: Sequence[sp.Symbol], order: int) -> list[sp.Poly] | None:
    """:func:`flow_map_direct` in exact sparse polynomial arithmetic: each component a ``Poly`` in the
    parameters and η over Q(the other symbols), truncated after every step; None when the field is
    not polynomial in the parameters.  Much faster than expanding expressions when the coefficients
    are rational functions of hyperparameters (1/(1 - beta), ...)."""
    gens = (*params, eta)
    others = sorted(set().union(*(sp.sympify(f).free_symbols for f in field)) - set(gens), key=sp.default_sort_key)
    dom = sp.QQ.frac_field(*others) if others else sp.QQ
    try:
        F = [sp.Poly(f, *gens, domain=dom) for f in field]
    except (sp.PolynomialError, sp.GeneratorsError, sp.CoercionFailed):
        return None

    def cut(p: sp.Poly, n: int) -> sp.Poly:
        return sp.Poly.from_dict({m: c for m, c in p.terms() if m[-1] <= n} or {(0,) * len(gens): 0}, *gens,
                                 domain=dom)

    term = [sp.Poly(p, *gens, domain=dom) for p in params]
    total = list(term)
    for k in range(1, order + 1):
        term = [cut(sum((f * t.diff(p) for f, p in zip(F, params)), sp.Poly(0, *gens, domain=dom)), order - k)
                for t in term]
        scale = sp.Poly(eta**k / sp.factorial(k), *gens, domain=dom)
        total = [a + scale * b for a, b in zip(total, term)]
    return [cut(t, order) for t in total]


def _zero(expr: sp.Expr) -> bool:
    return sp.expand(sp.cancel(sp.together(expr))) == 0


def gradient_form(fields: list[list[sp.Expr]], loss: sp.Expr, params: Sequence[sp.Symbol]):
    """(s, R): f₀ = −s∇L with a constant s (the time scale) and, if found, f₁ = −s∇R, so that
    f₀ + ηf₁ = −s∇(L + ηR).  R is tried as c‖∇L‖² (c constant) and then, for a polynomial curl-free
    f₁, as the line integral R(θ) = ∫₀¹ θ·F(τθ) dτ with F = −f₁/s.  None where not found."""
    grad = [sp.diff(loss, p) for p in params]
    k = next((i for i, gi in enumerate(grad) if gi != 0), None)
    if k is None:
        return None, None
    s = sp.factor(sp.cancel(-fields[0][k] / grad[k]))
    if s.has(*params) or s == 0 or not all(_zero(f + s * gi) for f, gi in zip(fields[0], grad)):
        return None, None
    if len(fields) < 2:
        return s, None
    f1 = fields[1]
    sq = sum((gi**2 for gi in grad), sp.S.Zero)
    dsq = [sp.diff(sq, p) for p in params]
    j = next((i for i, e in enumerate(dsq) if not _zero(e)), None)
    if j is not None:
        c = sp.factor(sp.cancel(-f1[j] / (s * dsq[j])))
        if not c.has(*params) and all(_zero(f + s * c * e) for f, e in zip(f1, dsq)):
            return s, c * sq
    if all(_zero(f) for f in f1):
        return s, sp.S.Zero
    F = [sp.cancel(-f / s) for f in f1]
    if not all(sp.expand(e).is_polynomial(*params) for e in F):
        return s, None
    if not all(_zero(sp.diff(F[a], params[b]) - sp.diff(F[b], params[a]))
               for a in range(len(params)) for b in range(a)):
        return s, None
    tau = sp.Dummy("tau")
    ray = {p: tau * p for p in params}
    R = sp.integrate(sp.expand(sum((p * e.xreplace(ray) for p, e in zip(params, F)), sp.S.Zero)), (tau, 0, 1))
    return s, sp.factor(R)


def rule_modified_equation(rule, loss: sp.Expr, params: Sequence[sp.Symbol], order: int = 1,
                           values: dict | None = None, loss_tex: str | None = None) -> Derivation:
    """The modified equation of any smooth :class:`~derive.update_rule.UpdateRule` on ``loss``, up to
    η^order, time t = k·η (η = lr), checked by SymPy.

    A rule with buffers is first reduced to its slow manifold (:mod:`derive.analysis.slow_manifold`),
    giving a one-step map Φ on θ; Φ's modified field follows by matching its Taylor series with the
    Lie series of the flow (:func:`map_modified_fields`).  ``values`` fixes hyperparameters other
    than lr (protocol name -> number).  Named results: ``vector_field`` (a column, one entry per
    parameter), ``fields`` (the f_n), for a rule with buffers ``buffers`` and ``slow_manifold`` (V
    truncated, same order), ``time_scale`` s when f₀ = −s∇L, ``regularizer`` ηR and ``modified_loss``
    L + ηR when also f₀ + ηf₁ = −s∇(L + ηR) (each absent when not found).  What the t → ∞ limit assumed is in the summary.
    Raises ValueError (:class:`~derive.update_rule.NotDifferentiable` for kinks) on rules it
    cannot treat."""
    from derive.analysis.slow_manifold import induced_map, invariance_residual, lift, slow_manifold

    params = list(params)
    if not params:
        raise ValueError("give at least one parameter")
    if order < 0:
        raise ValueError(f"order must be >= 0, got {order}")
    lifted = lift(rule, loss, params, values)
    stateful = bool(lifted.buffers)
    if stateful:
        # Φ_c needs V_c only when θ⁺ depends on the buffers at η = 0 (heavy ball: θ⁺ = θ + βv + ...)
        direct = any(a.subs(eta, 0).has(*lifted.buffers) for a in lifted.theta_map)
        V = slow_manifold(lifted, order + 1 if direct else order)
    else:
        V = []
        moved = [sp.expand(a.subs(eta, 0) - p) for a, p in zip(lifted.theta_map, params)]
        if any(m != 0 for m in moved):
            raise ValueError(f"{rule.name}: theta moves by {sp.sstr(moved[0])[:60]} per step as lr -> 0; "
                             "the modified equation in t = k*lr needs steps of size O(lr)")
    phi = induced_map(lifted, V, order + 1)
    fields = map_modified_fields(phi, params, order)
    s, R = gradient_form(fields, loss, params)
    names = ", ".join(sp.latex(p) for p in params)
    d = Derivation(
        f"{rule.name}-modified-equation", f"The modified equation of {rule.title}",
        summary=("The rule, written for every parameter with $g = \\nabla L$, "
                 + ("has buffers that relax in a few steps onto a slow manifold $s = V(\\theta)$, a power "
                    "series in $\\eta$ solved order by order from its invariance under the map; on it the rule "
                    "is a one-step map $\\Phi$ on $\\theta$. " if stateful else "is a one-step map $\\Phi$ on "
                    "$\\theta$. ")
                 + "Matching the Lie series of $\\dot\\theta = f_0 + \\eta f_1 + \\dots$ over time $\\eta$ with "
                 f"the Taylor series of $\\Phi$ gives the $f_n$, here up to $\\eta^{{{order}}}$ in ${names}$ "
                 "(time $t = k\\eta$ after $k$ steps)."
                 + (" Analysed in the limit of many steps (the step counter $t \\to \\infty$: bias "
                    "corrections vanish, a first-step branch is transient)." if lifted.notes else "")),
        references=["E. Hairer, C. Lubich and G. Wanner, Geometric Numerical Integration (2006), chapter IX",
                    "J. Carr, Applications of Centre Manifold Theory (1981)",
                    "A. Ghosh, H. Lyu, X. Zhang and R. Wang, Implicit regularization in heavy-ball momentum "
                    "accelerated stochastic gradient descent, ICLR 2023"])
    d.given(sp.Matrix([sp.Symbol(sp.latex(x) + "^{+}") for x in rule.state]), rule.as_matrix(),
            "the rule, coordinate-wise; $g(x)$ is the gradient of $L$ at $x$, and the step size `lr` is $\\eta$")
    d.given("L", loss if loss_tex is None else loss_tex, "the loss")
    top = order + 1
    if stateful:
        graph = [sp.expand(sum((V[i][q] * eta**i for i in range(len(V))), sp.S.Zero))
                 for q in range(len(lifted.buffers))]
        d.given(sp.Matrix(lifted.buffers), sp.Matrix(graph),
                f"the slow manifold $V(\\theta) = V_0 + \\eta V_1 + \\dots$, solved order by order up to "
                f"$\\eta^{{{len(V) - 1}}}$ from its invariance under the map")
        deg = len(V) - 1
        res = invariance_residual(lifted, V, deg)
        d.equal(sp.Matrix([e for c in res for e in c]), sp.zeros(len(lifted.buffers) * (deg + 1), 1),
                f"invariance: $V(A(\\theta, V)) - B(\\theta, V)$ vanishes at every order $\\eta^0, \\dots, "
                f"\\eta^{{{deg}}}$ (recomputed from the truncated $V$)",
                display=r"[\eta^{0..%d}]\,(V\circ A - B)" % deg)
    phi_t = [sp.expand(sum((phi[c][i] * eta**c for c in range(top + 1)), sp.S.Zero)) for i in range(len(params))]
    d.given(r"\Phi_\eta(\theta) \bmod \eta^{%d}" % (top + 1), sp.Matrix(phi_t),
            "the one-step map of $\\theta$" + (" on the slow manifold, $A(\\theta, V(\\theta))$" if stateful else "")
            + f", Taylor-expanded to $\\eta^{{{top}}}$")
    d.given(r"\dot\theta", "f_0 + \\eta f_1 + \\eta^2 f_2 + \\dots",
            "ansatz: the modified vector field, a power series in $\\eta$, in time $t = k\\eta$")
    d.equal(sp.Matrix(fields[0]), sp.Matrix(phi[1]), "at order $\\eta^1$ the Lie series is $\\eta f_0$: $f_0$ is the "
            "map's first-order term",
            display="f_0")
    for n in range(1, order + 1):
        d.given(f"f_{n}", sp.Matrix(fields[n]), f"defined as the map's $\\eta^{{{n + 1}}}$ coefficient minus that of "
                "the Lie series of " + ("$f_0$" if n == 1 else f"$f_0, \\dots, f_{{{n - 1}}}$") + " (checked below)")
    total = [sum((fields[n][i] * eta**n for n in range(order + 1)), sp.S.Zero) for i in range(len(params))]
    display = r"\varphi^{\tilde f}_\eta(\theta) \bmod \eta^{%d}" % (top + 1)
    direct = flow_map_poly(total, params, top)
    if direct is not None:
        gens = direct[0].gens
        gap = [(dp - sp.Poly(ph, *gens, domain=dp.domain)).as_expr() for dp, ph in zip(direct, phi_t)]
        d.equal(sp.Matrix(gap), sp.zeros(len(params), 1),
                f"an independent expansion of the flow of the truncated field (exact polynomial arithmetic) "
                f"reproduces the map up to $O(\\eta^{{{top + 1}}})$",
                display=r"\varphi^{\tilde f}_\eta(\theta) - \Phi_\eta(\theta) \bmod \eta^{%d}" % (top + 1))
    elif sum(sp.count_ops(e) for e in total) <= DIRECT_CHECK_OPS:
        d.equal(sp.Matrix(flow_map_direct(total, params, top)), sp.Matrix(phi_t),
                f"an independent expansion of the flow of the truncated field reproduces the map up to "
                f"$O(\\eta^{{{top + 1}}})$", display=display)
    else:
        d.given(display, sp.Matrix(phi_t), "NOT re-derived independently: the field is too large for the "
                "direct expansion here (the Lie-series construction above still holds)")
    grad = sp.Matrix([sp.diff(loss, p) for p in params])
    vf = sp.Matrix([sum((fields[n][i] * eta**n for n in range(order + 1)), sp.S.Zero) for i in range(len(params))])
    d.given(r"\tilde f", vf, f"the modified field, truncated after $\\eta^{{{order}}}$")
    if s is not None:
        k = next(i for i, gi in enumerate(grad) if gi != 0)
        d.equal(s, sp.cancel(-fields[0][k] / grad[k]), "the time scale $s$: the ratio of $f_0$ to $-\\nabla L$ in a "
                "component where the gradient is not zero", display="s")
        d.equal(sp.Matrix(fields[0]), -s * grad, "the same ratio in every component: $f_0 = -s\\nabla L$ is the "
                "gradient flow, time scaled by $s$",
                display="f_0")
    if s is not None and R is not None:
        from derive.analysis.slow_manifold import tidy

        d.given(r"\eta R", eta * R, "the implicit regularizer (its defining property is checked next)")
        gap = [tidy(f0 + eta * f1 + s * sp.diff(loss + eta * R, p), params)
               for f0, f1, p in zip(fields[0], fields[1], params)]
        d.equal(sp.Matrix(gap), sp.zeros(len(params), 1),
                "to first order the field is the gradient flow of the modified loss $L + \\eta R$, time scaled by "
                "$s$", display=r"f_0 + \eta f_1 + s\nabla(L + \eta R)")
        d.given(r"\tilde L", loss + eta * R, "the modified loss $L + \\eta R$")
    d.result("vector_field", vf, label=r"\tilde f")
    d.result("fields", fields, label=r"(f_0, f_1, \dots)")
    if stateful:
        d.result("buffers", sp.Matrix(lifted.buffers), label=r"\text{buffers}")
        d.result("slow_manifold", sp.Matrix(graph), label=r"V(\theta)")
    if s is not None:
        d.result("time_scale", s, label="s")
    if s is not None and R is not None:
        d.result("regularizer", eta * R, label=r"\eta R").result("modified_loss", loss + eta * R, label=r"\tilde L")
    return d
