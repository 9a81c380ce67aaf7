"""The Hermosis Hamiltonian theory of learning (E. Hermosis, *Learning Dynamics*, v0.1.0, 2025,
doi:10.5281/zenodo.18071681), rebuilt and machine-checked with :mod:`derive.theories.hamiltonian`.

Construction (the seed's):

* phase space of (U, w¹..w^d) with conjugates (β, Y_1..Y_d); 1-form ω = β dU + Σ Y_j dw^j;
  dω = dβ∧dU + Σ dY_j∧dw^j, the canonical form, so {U, β} = 1, {w^i, Y_j} = δ^i_j
  (convention of derive/theories/hamiltonian.py: P = Ω⁻¹, {f, g} = ∇fᵀP∇g; "p" of U is β, of w is Y);
* the coupling Y = βX as a change of coordinates (U, w, β, X):
  dω = dβ∧(dU + Σ X_j dw^j) + β Σ dX_j∧dw^j, det Ω = β^{2d}, nondegenerate for β > 0, and
  {U, β} = 1, {w^i, X_j} = δ^i_j/β, {U, X_i} = −X_i/β; all other brackets of coordinates vanish;
* the seed's time convention −h ẋ = k{x, H}: the flow ẋ = −(k/h) P∇H is the standard
  Hamiltonian flow (ẋ = {x, H}) of −(k/h)H, i.e. time-reversed and rescaled.

Learning: H = β X²/(2k) + β c² L/k + E(U, β) gives v = X/h; with the gradient frozen over
[t − τ, t] (approximation) and a right-endpoint Euler step for w (approximation) one gets SGD
(β constant), SGD with weight decay (harmonic term λw²/2) and momentum with friction
(β(t) = β e^{γt}, μ = e^{−γτ}).  Our construction, not the seed's: the thermal term
E(U, β) = (h/k) γ β U makes the β equation −h β̇ = −k ∂H/∂U read β̇ = γβ.

Relativistic H = √(X² + k²/β²) + V + E: v = (1/h) X/√(β²X²/k² + 1); with β constant and Euler
it is the normalized position step x ← x + p/√(1 + δ|p|²) of relativistic gradient descent
(G. França, J. Sulam, D. P. Robinson, R. Vidal, "Conformal symplectic and relativistic
optimization", NeurIPS 2020, arXiv:1903.04100; reference code guisf/rgd, opt_solvers.py
``relativistic``), with p = −(τ/h)X and δ = (hβ/(kτ))², without RGD's leapfrog half steps.
"""
from __future__ import annotations

from typing import Any

import sympy as sp

from derive.derivation import Derivation
from derive.theories.hamiltonian import TwoForm, bracket, hamilton_equations, jacobi

U = sp.Symbol("U", real=True)
beta = sp.Symbol("beta", positive=True)
h, k, c, tau, gamma, lam = sp.symbols("h k c tau gamma lambda", positive=True)
t, s = sp.symbols("t t'", real=True)
g = sp.Symbol(r"\nabla L", real=True)  # the loss gradient, frozen over [t - tau, t]

SEED = ("E. Hermosis, Learning Dynamics, v0.1.0, 2025, `doi:10.5281/zenodo.18071681`")
FRANCA = ("G. Franca, J. Sulam, D. P. Robinson, R. Vidal, Conformal symplectic and relativistic optimization, "
          "NeurIPS 2020, arXiv:1903.04100 (RGD; reference code github.com/guisf/rgd, `opt_solvers.py`)")


def symbols(d: int = 1) -> dict[str, Any]:
    """w^1..w^d, Y_1..Y_d, X_1..X_d (real) as tuples; U and beta are module symbols."""
    if d < 1:
        raise ValueError(f"d must be a positive integer; got {d}")
    if d == 1:
        return {"w": (sp.Symbol("w", real=True),), "Y": (sp.Symbol("Y", real=True),),
                "X": (sp.Symbol("X", real=True),)}
    return {"w": sp.symbols(f"w^1:{d + 1}", real=True), "Y": sp.symbols(f"Y_1:{d + 1}", real=True),
            "X": sp.symbols(f"X_1:{d + 1}", real=True)}


def entropic_form(d: int = 1) -> TwoForm:
    """dω for ω = β dU + Σ Y_j dw^j over (U, w, β, Y)."""
    sy = symbols(d)
    coords = (U, *sy["w"], beta, *sy["Y"])
    alpha = [beta, *sy["Y"], 0, *([0] * d)]
    return TwoForm.from_one_form(coords, alpha)


def coupled_form(d: int = 1) -> TwoForm:
    """dω for ω = β dU + Σ β X_j dw^j (the coupling Y = βX) over (U, w, β, X)."""
    sy = symbols(d)
    coords = (U, *sy["w"], beta, *sy["X"])
    alpha = [beta, *[beta * x for x in sy["X"]], 0, *([0] * d)]
    return TwoForm.from_one_form(coords, alpha)


def wedge(coords, a: dict, b: dict) -> sp.Matrix:
    """The 2-form a∧b of two 1-forms given as {coordinate: coefficient}: (a∧b)_ij = a_i b_j − a_j b_i."""
    va = sp.Matrix([a.get(x, 0) for x in coords])
    vb = sp.Matrix([b.get(x, 0) for x in coords])
    return va * vb.T - vb * va.T


def seed_coupled_form(d: int = 1) -> sp.Matrix:
    """The seed's dω = dβ∧(dU + Σ X_j dw^j) + β Σ dX_j∧dw^j as a matrix over (U, w, β, X)."""
    sy = symbols(d)
    coords = (U, *sy["w"], beta, *sy["X"])
    m = wedge(coords, {beta: 1}, {U: 1, **{w: x for w, x in zip(sy["w"], sy["X"])}})
    for w, x in zip(sy["w"], sy["X"]):
        m += beta * wedge(coords, {x: 1}, {w: 1})
    return m


def seed_flow(P: Any, coords, H: Any) -> sp.Matrix:
    """The seed's convention −h ẋ = k{x, H}: ẋ = −(k/h) P∇H."""
    return -k / h * hamilton_equations(P, coords, H)


def generic_hamiltonian(d: int = 1) -> tuple[tuple, Any]:
    """(coords, H) with H(U, w, β, X) an undefined smooth function."""
    sy = symbols(d)
    coords = (U, *sy["w"], beta, *sy["X"])
    return coords, sp.Function("H")(*coords)


def quadratic_hamiltonian(E: Any = None) -> Any:
    """H = β X²/(2k) + β c² L(w)/k + E(U, β) (d = 1)."""
    w, X = symbols(1)["w"][0], symbols(1)["X"][0]
    E = sp.Function("E")(U, beta) if E is None else E
    return beta * X**2 / (2 * k) + beta * c**2 * sp.Function("L")(w) / k + E


def cooling_energy() -> Any:
    """Our construction: E(U, β) = (h/k) γ β U, so that −h β̇ = −k ∂H/∂U gives β̇ = γβ."""
    return h / k * gamma * beta * U


def hermosis_brackets() -> Derivation:
    """dω and the Poisson brackets of the entropic and the coupled coordinates (d = 1, 2)."""
    d = Derivation("hermosis-brackets", "Hermosis: the symplectic form and Poisson brackets of a learning model",
                   summary=r"The 1-form $\beta\,dU + \sum_j Y_j\,dw^j$ of the seed has the canonical exterior derivative: "
                           r"$\{U, \beta\} = 1$, $\{w, Y\} = 1$. The coupling $Y = \beta X$ is a change of "
                           r"coordinates; in $(U, w, \beta, X)$ the 2-form is the seed's, nondegenerate for "
                           r"$\beta > 0$, but the bracket is $\{w, X\} = 1/\beta$ (the seed states 1); "
                           r"$\{U, X\} = -X/\beta$ as the seed says; $\{\beta, X\} = \{X_i, X_j\} = 0$.")
    d.references.append(SEED)
    d.references.append("V. I. Arnold, Mathematical Methods of Classical Mechanics, 2nd ed., 1989, Sections 37-40")
    w, Y, X = (symbols(1)[n][0] for n in ("w", "Y", "X"))
    ent = entropic_form(1)
    d.given(sp.Symbol(r"\omega"), sp.Symbol(r"\beta\,dU + Y\,dw"), r"the seed's 1-form on $(U, w, \beta, Y)$, in dimension $d = 1$")
    d.equal(sp.Matrix(ent.matrix), wedge(ent.coords, {beta: 1}, {U: 1}) + wedge(ent.coords, {Y: 1}, {w: 1}),
            r"the exterior derivative $(d\alpha)_{ij} = \partial_i\alpha_j - \partial_j\alpha_i$ gives "
            r"$d\omega = d\beta \wedge dU + dY \wedge dw$",
            display=r"d\omega")
    P0 = ent.poisson_tensor()
    d.equal(sp.Matrix([bracket(P0, ent.coords, U, beta), bracket(P0, ent.coords, w, Y)]), sp.Matrix([1, 1]),
            r"with $P = \Omega^{-1}$ and $\{f, g\} = \nabla f^{\top} P\,\nabla g$ the canonical pairs have bracket 1", display=r"(\{U, \beta\}, \{w, Y\})")
    cf = coupled_form(1)
    x = cf.coords
    d.given(Y, beta * X, r"the seed's coupling $Y = \beta X$, a change of coordinates to $(U, w, \beta, X)$")
    d.equal(sp.Matrix(cf.matrix), seed_coupled_form(1),
            r"the product rule: $d(\beta\,dU + \beta X\,dw) = d\beta \wedge (dU + X\,dw) + \beta\,dX \wedge dw$, "
            "the seed's deformed form",
            display=r"d\omega\,|_{Y = \beta X}")
    d.equal(sp.Matrix(cf.matrix).det(), beta**2, r"the determinant is $\beta^2$, so the form is nondegenerate for $\beta > 0$", display=r"\det\Omega")
    P = cf.poisson_tensor()
    d.equal(bracket(P, x, U, beta), 1, r"the $(U, \beta)$ entry of $P = \Omega^{-1}$: that pair stays canonical", display=r"\{U, \beta\}")
    d.equal(bracket(P, x, w, X), 1 / beta, r"$\{w, X\} = \{w, Y/\beta\} = \{w, Y\}/\beta$ because $\{w, \beta\} = 0$: not 1 as the seed states",
            display=r"\{w, X\}")
    d.equal(bracket(P, x, U, X), -X / beta, r"by the Leibniz rule $\{U, Y/\beta\} = Y\{U, 1/\beta\} = -Y/\beta^2$, as the seed states",
            display=r"\{U, X\}")
    d.equal(sp.Matrix([bracket(P, x, beta, X), bracket(P, x, U, w), bracket(P, x, w, beta)]), sp.zeros(3, 1),
            r"their entries of $P = \Omega^{-1}$ are zero: the remaining brackets of coordinates vanish", display=r"(\{\beta, X\}, \{U, w\}, \{w, \beta\})")
    d.equal(P, sp.Matrix([[0, 0, 1, -X / beta], [0, 0, 0, 1 / beta], [-1, 0, 0, 0], [X / beta, -1 / beta, 0, 0]]),
            r"$P_{ij} = \{x_i, x_j\}$ is antisymmetric, so $P$ in $(U, w, \beta, X)$ is assembled from the brackets above",
            display="P")
    d.equal(sp.Matrix(list(jacobi(P, x).values())), sp.zeros(4, 1), r"the Jacobi identity holds because $d\omega$ is closed",
            display=r"\big(J_{ijk}\big)_{i<j<k}")
    cf2 = coupled_form(2)
    sy2 = symbols(2)
    P2, x2 = cf2.poisson_tensor(), cf2.coords
    (w1, w2), (X1, X2) = sy2["w"], sy2["X"]
    d.equal(sp.Matrix(cf2.matrix), seed_coupled_form(2), "in dimension $d = 2$ the same construction gives the seed's form", display=r"d\omega\,|_{d=2}")
    d.equal(sp.Matrix(cf2.matrix).det(), beta**4, r"for $d = 2$: $\det\Omega = \beta^4$, nondegenerate for $\beta > 0$", display=r"\det\Omega\,|_{d=2}")
    d.equal(sp.Matrix([[bracket(P2, x2, wi, Xj) for Xj in (X1, X2)] for wi in (w1, w2)]), sp.eye(2) / beta,
            r"for $d = 2$, from $P = \Omega^{-1}$: $\{w^i, X_j\} = \delta^i_j/\beta$", display=r"\big(\{w^i, X_j\}\big)_{ij}")
    d.equal(sp.Matrix([bracket(P2, x2, X1, X2), bracket(P2, x2, beta, X1), bracket(P2, x2, U, X2)]),
            sp.Matrix([0, 0, -X2 / beta]), r"for $d = 2$, from $P = \Omega^{-1}$: $\{X_1, X_2\} = 0$, $\{\beta, X_i\} = 0$, "
            r"$\{U, X_i\} = -X_i/\beta$",
            display=r"(\{X_1, X_2\}, \{\beta, X_1\}, \{U, X_2\})")
    d.result("poisson_tensor", P, label="P")
    d.result("bracket_w_X", 1 / beta, label=r"\{w, X\}")
    d.result("bracket_U_X", -X / beta, label=r"\{U, X\}")
    return d


def hermosis_equations() -> Derivation:
    """The four Hermosis equations from the coupled Poisson tensor, and the momentum balance."""
    d = Derivation("hermosis-equations", "Hermosis: the equations of learning from the Poisson tensor",
                   summary=r"Under the seed's convention $-h\,\dot x = k\{x, H\}$ (the standard flow $\dot x = \{x, H\}$ of "
                           r"$-(k/h)H$: time-reversed), the coupled Poisson tensor gives exactly the seed's four "
                           r"Hermosis equations (they use $\{w, X\} = 1/\beta$, not the stated 1); combining the "
                           r"$X$ and $\beta$ equations gives $h\,\frac{d}{dt}(\beta X) = k\,\partial H/\partial w$, "
                           r"and the $w$ equation defines the learning velocity "
                           r"$v = \frac{k}{h\beta}\,\partial H/\partial X$ with $\dot w = -v$.")
    d.references.append(SEED)
    coords, H = generic_hamiltonian(1)
    _, w, _, X = coords
    P = coupled_form(1).poisson_tensor()
    flow = seed_flow(P, coords, H)
    Hd = lambda v: sp.diff(H, v)  # noqa: E731
    d.given(sp.Symbol(r"-h\,\dot x"), sp.Symbol(r"k\{x, H\}"), "the seed's convention, for any coordinate $x$")
    seed = sp.Matrix([-(k * Hd(beta) - k / beta * X * Hd(X)) / h,
                      -(k / beta) * Hd(X) / h,
                      k * Hd(U) / h,
                      -(-(k / beta) * Hd(w) + k * X / beta * Hd(U)) / h])
    d.equal(flow, seed, r"$-(k/h)P\nabla H$ in $(U, w, \beta, X)$, with the brackets of `hermosis-brackets`, written out: the "
            "seed's four Hermosis equations",
            display=r"(\dot U, \dot w, \dot\beta, \dot X)")
    d.equal(-flow, -k / h * (-hamilton_equations(P, coords, H)),
            r"$-(k/h)P\nabla H = P\nabla\bigl(-(k/h)H\bigr)$: the seed's flow is the standard Hamiltonian flow of "
            r"$-(k/h)H$", display=r"-(\dot U, \dot w, \dot\beta, \dot X)")
    Xt, bt = sp.Function("X")(t), sp.Function("beta", positive=True)(t)
    sub = {X: Xt, beta: bt}
    xdot, bdot = flow[3], flow[2]
    lhs = h * (bt * xdot.subs(sub) + bdot.subs(sub) * Xt)
    d.equal(lhs, k * Hd(w).subs(sub), r"the product rule $h(\beta\dot X + \dot\beta X)$ with the $X$ and $\beta$ equations substituted",
            display=r"h\frac{d}{dt}(\beta X)")
    Pt = sp.Function("p")
    d.equal(sp.integrate(sp.Derivative(Pt(s), s), (s, t - tau, t)), Pt(t) - Pt(t - tau),
            r"the fundamental theorem of calculus over $[t - \tau, t]$ with $p = \beta X$: "
            r"$\beta(t)X(t) = \beta(t - \tau)X(t - \tau) - \int F$, $F = -(k/h)\,\partial H/\partial w$",
            display=r"\int_{t-\tau}^{t}\tfrac{d}{dt'}(\beta X)\,dt'")
    d.equal(flow[1], -(k / (h * beta)) * Hd(X), r"the $w$ equation: $\dot w = -v$ with $v = \frac{k}{h\beta}\,\partial H/\partial X$, so "
            r"$w(t) = w(t - \tau) - \int v$",
            display=r"\dot w")
    d.result("flow", flow, label=r"(\dot U, \dot w, \dot\beta, \dot X)")
    return d


def momentum_update(beta_of: Any, grad: Any = g) -> Any:
    """X(t) from β(t)X(t) = β(t−τ)X(t−τ) + (c²/h) ∇L ∫β (gradient frozen); X(t−τ) is X_0."""
    X0 = sp.Symbol("X_0", real=True)
    impulse = c**2 / h * grad * sp.integrate(beta_of(s), (s, t - tau, t))
    return sp.simplify((beta_of(t - tau) * X0 + impulse) / beta_of(t))


def relativistic_kinetic() -> Any:
    """√(X² + k²/β²) (d = 1)."""
    X = symbols(1)["X"][0]
    return sp.sqrt(X**2 + k**2 / beta**2)


def hermosis_optimizers() -> Derivation:
    """SGD, SGD with weight decay, momentum with friction and relativistic GD from Hermosis Hamiltonians."""
    d = Derivation("hermosis-optimizers", "Hermosis: SGD, weight decay, momentum and relativistic GD as learning "
                   "Hamiltonians", summary=r"With $H = \beta X^2/(2k) + \beta c^2 L/k + E(U, \beta)$, the gradient frozen "
                   r"over $[t - \tau, t]$ and a right-endpoint Euler step for $w$ (two approximations), the seed's "
                   r"equations give SGD for constant $\beta$, SGD with weight decay with a harmonic term (decay "
                   r"coefficient $k\lambda/(\beta c^2)$), and momentum with friction $\mu = e^{-\gamma\tau}$ for "
                   r"$\beta(t) = \beta e^{\gamma t}$, which our thermal term $E = (h/k)\gamma\beta U$ produces. "
                   "The relativistic kinetic energy gives the normalized step of Franca et al.'s RGD.")
    d.references.extend([SEED, FRANCA])
    coords, _ = generic_hamiltonian(1)
    _, w, _, X = coords
    X0, X1, w0 = sp.symbols("X_0 X_1 w_0", real=True)
    eta, zeta, mu = sp.symbols("eta zeta mu", positive=True)
    P = coupled_form(1).poisson_tensor()
    H = quadratic_hamiltonian()
    d.given(sp.Symbol("H"), H, r"the seed's Hamiltonian, with $L = L(w)$ and $E(U, \beta)$ a thermal term")
    flow = seed_flow(P, coords, H)
    d.equal(k / (h * beta) * sp.diff(H, X), X / h, r"the learning velocity $v = \frac{k}{h\beta}\,\partial H/\partial X$, and $\partial H/\partial X = \beta X/k$",
            display="v")
    d.equal(-k / h * sp.diff(H, w), -beta * c**2 / h * sp.diff(sp.Function("L")(w), w),
            r"the generalized force $F = -(k/h)\,\partial H/\partial w$; only the loss term depends on $w$", display="F")
    d.given(sp.Symbol(r"L'(w(t'))"), g, r"approximation: the gradient is frozen over $[t - \tau, t]$")
    d.given(sp.Symbol("w(t)"), sp.Symbol(r"w(t-\tau) - \tau v(t)"),
            r"approximation: the right-endpoint (Euler) rule for $w(t) = w(t - \tau) - \int v$")
    one = sp.Lambda(s, beta)
    d.equal(momentum_update(one), X0 + tau * c**2 / h * g, r"with $\beta$ constant the impulse $(c^2/h)\nabla L\int\beta\,dt'$ over $[t - \tau, t]$ is "
            r"$\tau\beta c^2\nabla L/h$, and $\beta$ cancels",
            display=r"X(t)\,|_{\beta\ \mathrm{const}}")
    d.then((X0 + zeta * g).subs(zeta, tau * c**2 / h), r"renaming the constants gives SGD: $X \leftarrow X + \zeta\nabla L$, $w \leftarrow w - \eta X$ with "
           r"$\zeta = \tau c^2/h$, $\eta = \tau/h$")
    Hwd = beta * X**2 / (2 * k) + lam * w**2 / 2 + beta * c**2 * sp.Function("L")(w) / k
    Fwd = -k / h * sp.diff(Hwd, w)
    d.equal(Fwd + beta * c**2 / h * sp.diff(sp.Function("L")(w), w), -k * lam * w / h,
            r"the harmonic term $\lambda w^2/2$ adds the force $F' = -(k/h)\,\partial_w(\lambda w^2/2) = -(k\lambda/h)w$", display=r"F'")
    X_wd = beta * X0 / beta - tau * Fwd.subs(sp.Derivative(sp.Function("L")(w), w), g) / beta
    d.equal(X_wd, X0 + (tau * c**2 / h) * (g + k * lam / (beta * c**2) * w),
            r"the same impulse with that force ($w$ frozen too) is weight decay: "
            r"$X \leftarrow X + \zeta(\nabla L + \lambda' w)$ with $\lambda' = k\lambda/(\beta c^2)$",
            display=r"X(t)\,|_{\mathrm{wd}}")
    lam_wd = sp.Symbol("lambda'", real=True)
    d.solution(sp.Eq(X0 + (tau * c**2 / h) * (g + lam_wd * w), X_wd), lam_wd, k * lam / (beta * c**2),
               r"matching the coefficients of $w$: the weight-decay coefficient $\lambda'$ that puts the update in SGD's form")
    Ecool = cooling_energy()
    Hc = quadratic_hamiltonian(Ecool)
    flow_c = seed_flow(P, coords, Hc)
    bt = beta * sp.exp(gamma * t)
    d.given(sp.Symbol("E(U, beta)"), Ecool, "our construction (not the seed's): a thermal term linear in $U$")
    d.equal(sp.diff(bt, t), flow_c[2].subs(beta, bt), r"the $\beta$ equation $-h\dot\beta = -k\,\partial H/\partial U$ reads $\dot\beta = \gamma\beta$, "
            r"solved by $\beta(t) = \beta e^{\gamma t}$: exponential cooling", display=r"\tfrac{d}{dt}\beta e^{\gamma t}")
    d.equal(flow_c, sp.Matrix([-gamma * U + X**2 / (2 * h) - c**2 * sp.Function("L")(w) / h, -X / h, gamma * beta,
                               c**2 * sp.Derivative(sp.Function("L")(w), w) / h - gamma * X]),
            r"the seed's flow $-(k/h)P\nabla H$ with the thermal term $E$, written out", display=r"(\dot U, \dot w, \dot\beta, \dot X)")
    d.equal(sp.expand(flow_c[3].subs(sp.Derivative(sp.Function("L")(w), w), g)), c**2 * g / h - gamma * X,
            r"with the gradient frozen the $X$ equation reads $\dot X = c^2\nabla L/h - \gamma X$: $E$ produces the friction", display=r"\dot X")
    Xs = X0 * sp.exp(-gamma * (s - t + tau)) + (1 - sp.exp(-gamma * (s - t + tau))) * c**2 * g / (h * gamma)
    d.equal(sp.diff(Xs, s) - (c**2 * g / h - gamma * Xs), 0, r"differentiate: this is the exact solution of the linear equation on $[t - \tau, t]$ with "
            r"$X(t - \tau) = X_0$",
            display=r"\dot X - (c^2\nabla L/h - \gamma X)")
    exp_b = sp.Lambda(s, beta * sp.exp(gamma * s))
    d.equal(c**2 / h * g * sp.integrate(exp_b(s), (s, t - tau, t)),
            c**2 / h * (1 - sp.exp(-gamma * tau)) / gamma * beta * sp.exp(gamma * t) * g,
            r"the impulse under cooling: integrate $\beta e^{\gamma t'}$ over $[t - \tau, t]$ (it carries $\nabla L$)", display=r"I(t)")
    d.equal(momentum_update(exp_b), Xs.subs(s, t), r"the momentum balance under cooling agrees with the exact solution at $t' = t$",
            display=r"X(t)\,|_{\beta e^{\gamma t}}")
    d.then((mu * X0 + (1 - mu) * zeta * g).subs({mu: sp.exp(-gamma * tau), zeta: c**2 / (h * gamma)}),
           r"renaming the constants gives momentum with friction: $\mu = e^{-\gamma\tau}$, "
           r"$\zeta = c^2/(h\gamma)$, $\eta = \tau/h$")
    d.equal(sp.Derivative(momentum_update(exp_b), X0), sp.exp(-gamma * tau),
            r"the friction $\mu$ is the weight of $X(t - \tau) = X_0$ in the update", display=r"\partial X(t)/\partial X_0")
    K = relativistic_kinetic()
    d.given(sp.Symbol("H_{rel}"), K + sp.Symbol("V") + sp.Symbol("E"), "the seed's relativistic Hamiltonian")
    d.equal(K, k / beta * sp.sqrt(beta**2 * X**2 / k**2 + 1), r"factor $k^2/\beta^2$ out of the root: the prefactor is $k/\beta$",
            display=r"\sqrt{X^2 + k^2/\beta^2}")
    d.equal(sp.series(K, X, 0, 6).removeO(), k / beta + beta * X**2 / (2 * k) - beta**3 * X**4 / (8 * k**3),
            r"the Taylor series in $X$ to order 4: the rest energy $k/\beta$, then the classical kinetic energy",
            display=r"\sqrt{X^2 + k^2/\beta^2}\,\big|_{O(X^4)}")
    vrel = k / (h * beta) * sp.diff(K, X)
    d.equal(vrel, X / (h * sp.sqrt(beta**2 * X**2 / k**2 + 1)), r"the learning velocity $v = \frac{k}{h\beta}\,\partial H/\partial X$ of the relativistic Hamiltonian",
            display="v")
    pk, delta = -tau * X / h, (h * beta / (k * tau))**2
    d.equal(-tau * vrel, pk / sp.sqrt(1 + delta * pk**2), r"the Euler step $-\tau v$ is RGD's normalized step $p/\sqrt{1 + \delta p^2}$ with $p = -(\tau/h)X$ and "
            r"$\delta = (h\beta/(k\tau))^2$ (Franca et al.)",
            display=r"-\tau v")
    d.then(-(tau * k / (h * beta)) * X / K, r"rewritten in the seed's form, with $\eta = \tau k/(h\beta)$")
    d.result("cooling_energy", Ecool, label=r"E(U, \beta)")
    d.result("mu", sp.exp(-gamma * tau), label=r"\mu")
    d.result("weight_decay", k * lam / (beta * c**2), label=r"\lambda'")
    d.result("flow_cooling", flow_c, label=r"(\dot U, \dot w, \dot\beta, \dot X)")
    return d
