"""An audit of every displayed equation of the Hermosis seed (*Learning Dynamics* v0.1.0), in order.

``audit()`` returns one record per claim: ``{"number", "claim", "status", "derived", "reason"}``.
``number`` is the index of the displayed equation in the seed (1..DISPLAYED); a display holding
several claims (a chain a = b ≈ c, or two equations) gives several records with the same number.
``status`` is one of :data:`STATUSES`:

* ``"holds"``: claimed − derived simplifies to 0 (computed by SymPy, no approximation);
* ``"definition"``: what the theory postulates (a definition or an assumption), not derived;
* ``"holds-approx"``: claimed − derived simplifies to 0 only under an approximation the seed makes
  (the gradient frozen over [t − τ, t], or the Euler rule for ∫v); the reason names which;
* ``"differs"``: the difference is nonzero at an exact random rational point (so provably
  nonzero; ``derived`` is then the corrected form);
* ``"undecided"``: neither.

Derivations use d = 1 (brackets also d = 2, see derive/theories/hermosis.py) and a generic smooth H.
"""
from __future__ import annotations

import random
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.theories.hamiltonian import bracket
from derive.theories.hermosis import (U, beta, c, coupled_form, entropic_form, g, gamma, generic_hamiltonian, h, k,
                                      lam, momentum_update, quadratic_hamiltonian, relativistic_kinetic, s,
                                      seed_coupled_form, seed_flow, symbols, t, tau)

#: the number of displayed equations in the seed
DISPLAYED = 44

STATUSES = ("holds", "definition", "holds-approx", "differs", "undecided")

#: what each status means, for tables and notes
STATUS_LABELS = {"holds": "hold (computed)", "definition": "definitions or assumptions",
                 "holds-approx": "hold only under the seed's approximation", "differs": "differ",
                 "undecided": "undecided"}

#: the two approximations the seed makes in its discrete updates
FROZEN = "the gradient frozen over [t - tau, t] (no. 29)"
EULER = "the right-endpoint Euler rule int_{t-tau}^t v dt' ~ tau v(t) (no. 27)"


def _nonzero_somewhere(expr: Any, points: int = 4, seed: int = 1) -> bool:
    """True if ``expr`` is an exact nonzero number at some random rational point (derivatives and
    undefined functions replaced by free symbols)."""
    expr = sp.sympify(expr)
    for atom in sorted(expr.atoms(sp.Derivative), key=sp.count_ops, reverse=True):
        expr = expr.subs(atom, sp.Dummy(real=True))
    for atom in expr.atoms(AppliedUndef):
        expr = expr.subs(atom, sp.Dummy(real=True))
    syms = sorted(expr.free_symbols, key=str)
    rng = random.Random(seed)
    for _ in range(points):
        vals = {x: sp.Rational(rng.randint(1, 97), rng.randint(1, 13)) * (1 if x.is_positive or rng.random() < .5
                                                                        else -1) for x in syms}
        v = sp.simplify(expr.subs(vals))
        if v.is_number and v.is_finite and v.is_zero is False:
            return True
    return False


def decide(claimed: Any, derived: Any) -> str:
    """"holds" | "differs" | "undecided" for the claim claimed = derived."""
    if isinstance(claimed, (list, tuple)) or isinstance(claimed, sp.MatrixBase):
        verdicts = [decide(a, b) for a, b in zip(claimed, derived)]
        return "holds" if all(v == "holds" for v in verdicts) else (
            "differs" if "differs" in verdicts else "undecided")
    diff = sp.sympify(claimed) - sp.sympify(derived)
    if sp.simplify(diff) == 0 or sp.simplify(sp.expand(diff)) == 0:
        return "holds"
    return "differs" if _nonzero_somewhere(diff) else "undecided"


def _latex(x: Any) -> str:
    return x if isinstance(x, str) else sp.latex(x)


class _Audit:
    def __init__(self):
        self.records: list[dict] = []

    def definition(self, n: int, claim: str, reason: str = "definition", derived: str | None = None) -> None:
        """A claim the theory postulates: status "definition" (``derived`` defaults to the claim)."""
        self.records.append({"number": n, "claim": claim, "status": "definition",
                             "derived": claim if derived is None else derived, "reason": reason})

    def compare(self, n: int, claim: str, claimed: Any, derived: Any, reason: str, shown: Any = None,
                approx: tuple[str, ...] = ()) -> str:
        """Decide claimed = derived; with ``approx`` (the approximations ``derived`` was computed
        under), a claim that holds is "holds-approx" and the reason names the approximations."""
        status = decide(claimed, derived)
        if approx and status == "holds":
            status, reason = "holds-approx", f"{reason}; holds only under {' and '.join(approx)}"
        elif approx:
            reason = f"{reason} (derived under {' and '.join(approx)})"
        self.records.append({"number": n, "claim": claim, "status": status,
                             "derived": _latex(shown if shown is not None else derived), "reason": reason})
        return status


def audit() -> list[dict]:
    """Every displayed equation of seed 002, in order, with a status computed by SymPy."""
    a = _Audit()
    w, Y, X = (symbols(1)[n][0] for n in ("w", "Y", "X"))
    a.definition(1, r"(U/c, w^1, ..., w^d) = (w^0, \mathbf{w}) \in \mathbb{R}^{d+1}", "definition (coordinates)")
    a.definition(2, r"\frac{\partial S}{\partial U} > 0", "definition (equilibrium: an assumption)")
    Sf = sp.Function("S")
    uu, ww = sp.Function("u")(t), sp.Function("w")(t)
    a.compare(3, r"dS = \frac{\partial S}{\partial U} dU + \sum_{j} \frac{\partial S}{\partial w^{j}}dw^{j}",
              sp.diff(Sf(uu, ww), t), sp.Subs(sp.Derivative(Sf(U, w), U), (U, w), (uu, ww)).doit() * uu.diff(t)
              + sp.Subs(sp.Derivative(Sf(U, w), w), (U, w), (uu, ww)).doit() * ww.diff(t),
              "chain rule (along any curve, d = 1)", shown=r"\partial_U S\, dU + \partial_w S\, dw")
    a.definition(4, r"\beta = \frac{\partial S}{\partial U} \qquad Y_{j} = \frac{\partial S}{\partial w^{j}}")
    a.definition(5, r"T \equiv \frac{1}{\beta} > 0", "definition (T > 0: an assumption, as no. 2)")
    a.definition(6, r"\omega = \beta dU + \sum_{j} Y_{j} dw^{j} \in \Omega")
    a.definition(7, r"\omega = dS", "definition (equilibrium condition)")
    ent = entropic_form(1)
    x0 = ent.coords
    seed_dw = sp.zeros(4)
    seed_dw[2, 0], seed_dw[0, 2], seed_dw[3, 1], seed_dw[1, 3] = 1, -1, 1, -1
    a.compare(8, r"d\omega = d\beta \wedge dU + \sum_{j} dY_{j} \wedge dw^{j}", sp.Matrix(ent.matrix), seed_dw,
              "TwoForm.from_one_form, d = 1 (and d = 2 in hermosis-brackets)",
              shown=r"d\beta\wedge dU + dY\wedge dw")
    P0 = ent.poisson_tensor()
    a.compare(9, r"\{U, \beta\} = 1", bracket(P0, x0, U, beta), 1, "P = Omega^{-1}, {f,g} = grad f^T P grad g",
              shown=r"\{U, \beta\} = 1")
    a.compare(9, r"\{w^{i}, Y_{j} \} = \delta^{i}_{j}", bracket(P0, x0, w, Y), 1, "canonical pair (d = 1)",
              shown=r"\{w, Y\} = 1")
    H0 = sp.Function("H")(*x0)
    std = P0 * sp.Matrix([sp.diff(H0, v) for v in x0])  # {x, H} for x = U, w, beta, Y
    conv = ("; -h x' = k{x,H} is the seed's convention: the standard flow x' = {x,H} of -(k/h)H (time-reversed)")
    a.compare(10, r"-h \frac{dw^{i}}{dt} = k\{w^{i}, H\} = k\frac{\partial H}{\partial Y_{i}}", k * std[1],
              k * sp.diff(H0, Y), "{w,H} = dH/dY" + conv, shown=r"k\{w, H\} = k\,\partial_Y H")
    a.compare(10, r"-\frac{dY_{i}}{dt} = k\{Y_{i}, H \} = -k\frac{\partial H}{\partial w^{i}}", k * std[3],
              -k * sp.diff(H0, w), "{Y,H} = -dH/dw (bracket part)", shown=r"k\{Y, H\} = -k\,\partial_w H")
    a.compare(10, r"-\frac{dY_{i}}{dt} = k\{Y_{i}, H \}", -k * std[3], -k / h * std[3],
              "the factor h is missing: with -h x' = k{x,H}, as for w, beta and in all Hermosis equations, "
              "dY/dt = -(k/h){Y,H}; the same only if h = 1", shown=r"-h\frac{dY}{dt} = k\{Y, H\}")
    a.compare(11, r"-\frac{dU}{dt} = k\{U, H \}", -k * std[0], -k / h * std[0],
              "the factor h is missing (as for Y): dU/dt = -(k/h){U,H}", shown=r"-h\frac{dU}{dt} = k\{U, H\}")
    a.compare(11, r"k\{U, H \} = k\frac{\partial H}{\partial \beta}", k * std[0], k * sp.diff(H0, beta),
              "bracket part", shown=r"k\,\partial_\beta H")
    a.compare(11, r"-h\frac{d\beta}{dt} = k\{\beta, H\} = -k\frac{\partial H}{\partial U}", k * std[2],
              -k * sp.diff(H0, U), "{beta,H} = -dH/dU" + conv, shown=r"-k\,\partial_U H")
    a.definition(12, r"Y_{i} = \beta X_{i} \qquad i = 1, ..., d", "definition (a change of coordinates)")
    dS, dU_, dw_ = sp.symbols("dS dU dw", real=True)
    a.compare(13, r"dU = T dS - \sum_{j} X_{j} dw^{j}",
              dS / beta - X * dw_, sp.solve(sp.Eq(dS, beta * dU_ + beta * X * dw_), dU_)[0],
              "solve dS = beta dU + beta X dw for dU", shown=r"\tfrac{1}{\beta}dS - X\,dw")
    cf = coupled_form(1)
    a.compare(14, r"d\omega = d\beta \wedge (dU +\sum_{j}X_{j}dw^{j}) + \beta\sum_{j} dX_{j} \wedge dw^{j}",
              seed_coupled_form(1), sp.Matrix(cf.matrix), "d(beta dU + beta X dw) in (U, w, beta, X)",
              shown=r"d\beta\wedge(dU + X\,dw) + \beta\,dX\wedge dw")
    a.compare(14, r"\text{non-degenerate for } \beta > 0", sp.Matrix(cf.matrix).det(), beta**2,
              "det Omega = beta^2 (beta^{2d}), nonzero for beta > 0", shown=r"\det\Omega = \beta^{2}")
    P, x = cf.poisson_tensor(), cf.coords
    a.compare(15, r"\{U, \beta \} = 1", 1, bracket(P, x, U, beta), "P = Omega^{-1}", shown=r"\{U,\beta\} = 1")
    a.compare(15, r"\{w^{i}, X_{j}\} = \delta^{i}_j", 1, bracket(P, x, w, X),
              "{w, Y/beta} = {w,Y}/beta; the seed's own equations of motion use 1/beta (see no. 16); "
              "also {beta, X_i} = {X_i, X_j} = 0 (computed, d = 2)", shown=r"\{w^i, X_j\} = \delta^i_j/\beta")
    a.compare(15, r"\{U, X_{i}\} = -\frac{1}{\beta}X_{i}", -X / beta, bracket(P, x, U, X),
              "{U, Y/beta} = Y{U, 1/beta} = -Y/beta^2", shown=r"-X/\beta")
    coords, H = generic_hamiltonian(1)
    flow = seed_flow(P, coords, H)
    Hd = lambda v: sp.diff(H, v)  # noqa: E731
    a.compare(16, r"-h\frac{dw^{i}}{dt} = \frac{k}{\beta} \frac{\partial H}{\partial X_{i}}", -h * flow[1],
              k / beta * Hd(X), "-(k/h) P grad H, seed's convention", shown=r"\tfrac{k}{\beta}\partial_X H")
    a.compare(16, r"-h\frac{dX_{i}}{dt} = -\frac{k}{\beta} \frac{\partial H}{\partial w^{i}} + \frac{k X_{i}}{\beta} "
              r"\frac{\partial H}{\partial U}", -h * flow[3], -k / beta * Hd(w) + k * X / beta * Hd(U),
              "-(k/h) P grad H", shown=r"-\tfrac{k}{\beta}\partial_w H + \tfrac{kX}{\beta}\partial_U H")
    a.compare(17, r"-h\frac{dU}{dt} = k \frac{\partial H}{\partial \beta} - \frac{k}{\beta} \sum_{j} X_{j} "
              r"\frac{\partial H}{\partial X_{j}}", -h * flow[0], k * Hd(beta) - k / beta * X * Hd(X),
              "-(k/h) P grad H", shown=r"k\partial_\beta H - \tfrac{k}{\beta}X\partial_X H")
    a.compare(17, r"-h\frac{d\beta}{dt} = -k\frac{\partial H}{\partial U}", -h * flow[2], -k * Hd(U),
              "-(k/h) P grad H", shown=r"-k\,\partial_U H")
    Xt, bt = sp.Function("X")(t), sp.Function("beta", positive=True)(t)
    sub = {X: Xt, beta: bt}
    a.compare(18, r"h \frac{d}{dt}(\beta X_{i}) = k\frac{\partial H}{\partial w^{i}}",
              h * (bt * flow[3].subs(sub) + flow[2].subs(sub) * Xt), k * Hd(w).subs(sub),
              "substitute the beta equation into the X equation", shown=r"k\,\partial_w H")
    pf = sp.Function("p")
    a.compare(19, r"\beta(t) \mathbf{X}(t) = \beta(t-\tau) \mathbf{X}(t-\tau) -\int_{t-\tau}^{t} \mathbf{F}(t') dt'",
              pf(t) - pf(t - tau), sp.integrate(sp.Derivative(pf(s), s), (s, t - tau, t)),
              "fundamental theorem of calculus for p = beta X, with d p/dt = (k/h) dH/dw = -F",
              shown=r"\beta X\big|_{t-\tau}^{t} = -\int F")
    a.definition(20, r"F_{i} = -\frac{k}{h}\frac{\partial H}{\partial w^{i}}")
    a.compare(21, r"\mathbf{w}(t) = \mathbf{w}(t-\tau) - \int_{t-\tau}^t \mathbf{v}(t')dt'", flow[1],
              -k / (h * beta) * Hd(X), "dw/dt = -v from no. 16, integrated", shown=r"\dot w = -v")
    a.definition(22, r"v^{i} = \frac{k}{h\beta} \frac{\partial H}{\partial X_{i}}")
    a.definition(23, r"V = \frac{\beta c^2}{k} L")
    M = sp.Symbol("M", positive=True)
    mass = sp.solve(sp.Eq(M * (beta * X)**2 / 2, beta * X**2 / (2 * k)), M)  # d = 1, g = 1
    a.definition(24, r"K = \frac{1}{2} \sum_{i j} M^{ij} Y_{i} Y_{j} = \frac{\beta}{2k}\sum_{ij} g^{ij}X_{i} X_{j}",
                 "definition of the kinetic energy (a postulate of the seed, with an unstated mass tensor): with "
                 f"Y = beta X it holds iff M^(ij) = g^(ij) * {sp.sstr(mass[0]) if len(mass) == 1 else mass} "
                 "(sympy.solve, d = 1)", derived=r"M^{ij} = g^{ij}/(k\beta)")
    Hq = quadratic_hamiltonian()
    a.definition(25, r"H = \frac{\beta}{2k} \mathbf{X}^2 + \frac{\beta c^2}{k} L + E(U, \beta)")
    a.compare(26, r"v^{i} = \frac{k}{h\beta} \frac{\partial H}{\partial X_{i}} = \frac{1}{h} X^{i}",
              X / h, k / (h * beta) * sp.diff(Hq, X), "differentiate H", shown=r"X/h")
    X0, X1, w0 = sp.symbols("X_0 X_1 w_0", real=True)
    a.compare(27, r"\mathbf{w}(t) \approx \mathbf{w}(t-\tau) - \frac{\tau}{h} \mathbf{X}(t)", w0 - tau * X1 / h,
              w0 - tau * (X / h).subs(X, X1), "v = X/h (no. 26) integrated", shown=r"w(t-\tau) - \tfrac{\tau}{h}X(t)",
              approx=(EULER.replace(" (no. 27)", ""),))
    Lw = sp.Function("L")(w)
    a.compare(28, r"F_{i} = -\frac{\beta c^2}{h} \frac{\partial L}{\partial w^{i}}", -beta * c**2 / h * Lw.diff(w),
              -k / h * sp.diff(Hq, w), "F = -(k/h) dH/dw", shown=r"-\tfrac{\beta c^2}{h}\partial_w L")
    bf = sp.Function("beta")
    a.compare(29, r"\mathbf{I}(t) = \frac{c^2}{h} \nabla L \int_{t-\tau}^t \beta(t')dt'",
              c**2 / h * g * sp.Integral(bf(s), (s, t - tau, t)),
              -sp.Integral(-bf(s) * c**2 / h * g, (s, t - tau, t)), "-int F with F from no. 28",
              shown=r"\tfrac{c^2}{h}\nabla L\int\beta", approx=("the gradient frozen over [t - tau, t] (grad L "
                                                               "taken out of the integral)",))
    a.compare(30, r"\mathbf{X}(t) = \frac{\beta(t-\tau)}{\beta(t)} \mathbf{X}(t-\tau) + \frac{c^2}{h} \left( "
              r"\frac{1}{\beta(t)} \int_{t-\tau}^t \beta(t') dt'\right ) \nabla L",
              bf(t - tau) / bf(t) * X0 + c**2 / h * sp.Integral(bf(s), (s, t - tau, t)) / bf(t) * g,
              (bf(t - tau) * X0 + c**2 / h * g * sp.Integral(bf(s), (s, t - tau, t))) / bf(t),
              "divide no. 19 + no. 29 by beta(t)", approx=(FROZEN,))
    a.definition(31, r"\beta(t) = \beta", "definition (assumption: constant temperature)")
    one = sp.Lambda(s, beta)
    a.compare(32, r"\mathbf{I}(t) = \frac{\beta c^2}{h} \nabla L \int_{t-\tau}^t dt' = \frac{\tau c^2}{h}\beta "
              r"\nabla L", tau * c**2 * beta * g / h, beta * c**2 / h * g * sp.integrate(1, (s, t - tau, t)),
              "integrate", shown=r"\tfrac{\tau c^2}{h}\beta\nabla L", approx=(FROZEN,))
    a.compare(33, r"\mathbf{X}(t) = \mathbf{X}(t-\tau) + \frac{\tau c^2}{h} \nabla L", X0 + tau * c**2 * g / h,
              momentum_update(one), "no. 30 with beta constant", approx=(FROZEN,))
    eta, zeta, mu = sp.symbols("eta zeta mu", positive=True)
    a.compare(34, r"\mathbf{X}(t) = \mathbf{X}(t-\tau) + \zeta \nabla L, \ \mathbf{w}(t) \approx \mathbf{w}(t-\tau) "
              r"- \eta \mathbf{X}(t)", [(X0 + zeta * g).subs(zeta, tau * c**2 / h), (w0 - eta * X1).subs(eta, tau / h)],
              [momentum_update(one), w0 - tau * X1 / h], "SGD with zeta = tau c^2/h, eta = tau/h",
              shown=r"\zeta = \tau c^2/h,\ \eta = \tau/h", approx=(FROZEN, EULER))
    Hwd = beta * X**2 / (2 * k) + lam * w**2 / 2 + beta * c**2 * Lw / k
    a.definition(35, r"H = \frac{\beta}{2k} \mathbf{X}^2 + \frac{\lambda}{2} \mathbf{w}^2 + V",
                 "definition (note: E is dropped, so dbeta/dt = 0)")
    Fp = sp.expand(-k / h * sp.diff(Hwd, w) + beta * c**2 / h * Lw.diff(w))
    a.compare(36, r"F_{i}' = \lambda w_{i}", lam * w, Fp,
              "F' = -(k/h) d(lambda w^2/2)/dw: same sign as the gradient term of F, as weight decay needs "
              "(effective decay k lambda/(beta c^2) added to grad L)", shown=r"F'_i = -\frac{k\lambda}{h}w_i")
    a.definition(37, r"\beta(t) = \beta e^{\gamma t}", "definition (assumption; produced by our E = (h/k) gamma "
                 "beta U, see hermosis-optimizers)")
    exp_b = sp.Lambda(s, beta * sp.exp(gamma * s))
    integral = sp.integrate(exp_b(s), (s, t - tau, t))
    a.compare(38, r"\mathbf{I}(t) = \frac{\beta c^2}{h} \nabla L \int_{t-\tau}^t e^{\gamma t'} dt'",
              beta * c**2 / h * g * sp.integrate(sp.exp(gamma * s), (s, t - tau, t)), c**2 / h * g * integral,
              "no. 29 with beta(t') = beta e^{gamma t'}", approx=(FROZEN,))
    corrected = c**2 / h * (1 - sp.exp(-gamma * tau)) / gamma * beta * sp.exp(gamma * t) * g
    a.compare(38, r"\mathbf{I}(t) = \frac{c^2}{h} \frac{1-e^{-\gamma \tau}}{\gamma} \beta e^{\gamma t}",
              c**2 / h * (1 - sp.exp(-gamma * tau)) / gamma * beta * sp.exp(gamma * t), c**2 / h * g * integral,
              "the factor grad L is missing (no. 39 uses it)", shown=corrected)
    a.compare(39, r"\mathbf{X}(t) = e^{-\gamma \tau} \mathbf{X}(t-\tau) + \frac{1-e^{-\gamma \tau}}{\gamma} "
              r"\frac{c^2}{h} \nabla L", sp.exp(-gamma * tau) * X0 + (1 - sp.exp(-gamma * tau)) / gamma * c**2 / h * g,
              momentum_update(exp_b), "no. 30 with beta(t) = beta e^{gamma t}", approx=(FROZEN,))
    a.compare(40, r"\mathbf{X}(t) = \mu \mathbf{X}(t-\tau) + (1-\mu) \zeta \nabla L, \ \mathbf{w}(t) = "
              r"\mathbf{w}(t-\tau) - \eta \mathbf{X}(t)",
              [(mu * X0 + (1 - mu) * zeta * g).subs({mu: sp.exp(-gamma * tau), zeta: c**2 / (h * gamma)}),
               (w0 - eta * X1).subs(eta, tau / h)], [momentum_update(exp_b), w0 - tau * X1 / h],
              "mu = e^{-gamma tau}, zeta = c^2/(h gamma), eta = tau/h (the seed writes = for the approximate w update)",
              shown=r"\mu = e^{-\gamma\tau},\ \zeta = \tfrac{c^2}{h\gamma},\ \eta = \tfrac{\tau}{h}",
              approx=(FROZEN, EULER))
    a.definition(41, r"H = \sqrt{\mathbf{X}^2 + \frac{k^2}{\beta^2}} + V + E(U, \beta)")
    K = relativistic_kinetic()
    a.compare(42, r"\sqrt{\mathbf{X}^2+\frac{k^2}{\beta^2}} = \frac{k^2}{\beta^2} \sqrt{\frac{\beta^2}{k^2}"
              r"\mathbf{X}^2 + 1}", k**2 / beta**2 * sp.sqrt(beta**2 * X**2 / k**2 + 1), K,
              "the prefactor is sqrt(k^2/beta^2) = k/beta, not k^2/beta^2",
              shown=r"\frac{k}{\beta}\sqrt{\frac{\beta^2}{k^2}\mathbf{X}^2 + 1}")
    a.compare(42, r"\approx \frac{k}{\beta} + \frac{\beta}{2k}\mathbf{X}^2 - \frac{\beta^3 (\mathbf{X}^2)^2}{8k^3}",
              k / beta + beta * X**2 / (2 * k) - beta**3 * X**4 / (8 * k**3), sp.series(K, X, 0, 6).removeO(),
              "sympy.series in X to order 4: the Taylor polynomial is computed exactly (the seed's + ... is the "
              "remainder; it follows from the prefactor k/beta)")
    vrel = k / (h * beta) * sp.diff(K, X)
    a.compare(43, r"v^{i} = \frac{k}{h\beta} \frac{X^{i}}{ \sqrt{\mathbf{X}^2 + k^2/\beta^2}} = \frac{1}{h} "
              r"\frac{X^{i}}{\sqrt{\beta^2\mathbf{X}^2/k^2 + 1}}",
              [k / (h * beta) * X / K, X / (h * sp.sqrt(beta**2 * X**2 / k**2 + 1))], [vrel, vrel],
              "differentiate the relativistic H", shown=X / (h * sp.sqrt(beta**2 * X**2 / k**2 + 1)))
    a.compare(44, r"\mathbf{w}(t) = \mathbf{w}(t-\tau) - \eta \frac{\mathbf{X}}{ \sqrt{\mathbf{X}^2 + k^2/\beta^2}}",
              (w0 - eta * X / K).subs(eta, tau * k / (h * beta)), w0 - tau * vrel,
              "beta constant, eta = tau k/(h beta); = the normalized step p/sqrt(1 + delta p^2) of "
              "Franca et al.'s RGD with p = -(tau/h) X, delta = (h beta/(k tau))^2, without its leapfrog half "
              "steps and friction (arXiv:1903.04100); the seed writes = for the approximate update",
              shown=r"\eta = \tau k/(h\beta)", approx=(EULER,))
    return a.records


def summary(records: list[dict]) -> dict[str, int]:
    """Counts per status, in the order of :data:`STATUSES`."""
    return {st: sum(1 for r in records if r["status"] == st) for st in STATUSES}


def count_line(records: list[dict]) -> str:
    """"56 claims in 44 displayed equations: 24 hold (computed), 16 definitions or assumptions, ..."."""
    n = summary(records)
    equations = len({r["number"] for r in records})
    return (f"{len(records)} claims in {equations} displayed equations: "
            + ", ".join(f"{n[st]} {STATUS_LABELS[st]}" for st in STATUSES))
