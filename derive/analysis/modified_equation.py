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
    d.equal(sp.Matrix([sp.Derivative(loss, p) for p in params]), grad, "its gradient", display=r"\nabla L")
    d.given(r"\Phi_\eta(\theta)", r"\theta - \eta \nabla L(\theta)", "one gradient-descent step")
    d.given(r"\dot\theta", "f_0 + \\eta f_1 + \\eta^2 f_2 + \\dots",
            "ansatz: the modified vector field, a power series in eta")
    d.equal(sp.Matrix(fields[0]), -grad, "order eta^1: f_0 is the gradient flow", display="f_0")
    for n in range(1, order + 1):
        d.given(f"f_{n}", sp.Matrix(fields[n]), f"defined as minus the eta^{n + 1} coefficient of the Lie series of "
                + ("f_0" if n == 1 else f"f_0..f_{n - 1}") + ", so that order matches GD (checked below)")
    if order >= 1:
        sq = sum((gi**2 for gi in grad), sp.S.Zero) / 4
        d.equal(sp.Matrix(fields[1]), -sp.Matrix([sp.diff(sq, p) for p in params]),
                "f_1 is a gradient: implicit gradient regularization", display="f_1")
    total = [sum((fields[n][i] * eta**n for n in range(order + 1)), sp.S.Zero) for i in range(len(params))]
    display = r"\varphi^{\tilde f}_\eta(\theta) \bmod \eta^{%d}" % (order + 2)
    if sum(sp.count_ops(e) for e in total) <= DIRECT_CHECK_OPS:
        d.equal(sp.Matrix(flow_map_direct(total, params, order + 1)), theta - eta * grad,
                f"an independent expansion of the flow of the truncated field reproduces GD up to O(eta^{order + 2})",
                display=display)
    else:
        d.given(display, r"\theta - \eta\nabla L(\theta)", "NOT re-derived independently: the field is too "
                "large for the direct expansion here (the Lie-series construction above still holds)")
    vf = [sp.expand(sum((fields[n][i] * eta**n for n in range(order + 1)), sp.S.Zero)) for i in range(len(params))]
    d.result("vector_field", vf)
    d.result("fields", fields)
    d.result("modified_loss", loss + eta / 4 * sum((gi**2 for gi in grad), sp.S.Zero))
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
                "agrees with the published series for explicit Euler, (f''(f,f) + 4 f'f'f)/12 with f = -L'",
                display="f_2")
    return d
