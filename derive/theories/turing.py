"""Turing (diffusion-driven) instability of a two-species reaction-diffusion system.

    u_t = f(u, v) + D_u u_xx,    v_t = g(u, v) + D_v v_xx,

linearized about a homogeneous steady state with Jacobian J = [[f_u, f_v], [g_u, g_v]].  A plane
wave e^{ikx + λt} solves the linearization iff λ is an eigenvalue of J − k²D, i.e. (q = k²)

    λ² − T(q) λ + h(q) = 0,   T(q) = tr J − (D_u + D_v) q,
    h(q) = D_u D_v q² − (D_v f_u + D_u g_v) q + det J.

Stable without diffusion: tr J < 0, det J > 0.  Diffusion destabilizes iff h(q) < 0 for some
q > 0, i.e. B = D_v f_u + D_u g_v > 0 and B² > 4 D_u D_v det J; the unstable band is
q₋ < k² < q₊ (the roots of h).  With d = D_v / D_u and u the activator (f_u > 0) the threshold is
d_c = ((√det J + √(−f_v g_u)) / f_u)², the critical wavenumber k_c² = √(det J / (D_u D_v)), and
the fastest-growing mode q* solves (implicit differentiation of the dispersion relation)

    h'(q)² + s T(q) h'(q) + s² h(q) = 0,  s = D_u + D_v,  on the branch 2h'(q) + s T(q) < 0,

with λ_max = −h'(q*)/s.  These are the classical conditions of J. D. Murray, Mathematical Biology
II: Spatial Models and Biomedical Applications (3rd ed., 2003), Chapter 2 (section numbers are from
memory; the book's pages were not available to check.  The stability conditions f_u + g_v < 0,
f_u g_v − f_v g_u > 0 and the structure "B > 0 and h_min < 0" were confirmed in P. Markowich, Applied
Partial Differential Equations: A Visual Approach (2007), eq. (4.11), and arXiv:2312.00637, Appendix I,
conditions (i)-(iv); every formula here is derived and checked below, not copied).
The quadratic condition for q* and the closed form of d_c are derived here.

The concrete model is Schnakenberg's: f = a − u + u²v, g = b − u²v (J. Schnakenberg, "Simple
chemical reaction systems with limit cycle behaviour", J. Theor. Biol. 81, 1979; Murray II,
Chapter 2, there with a time scale γ, set to 1 here), with D_u = 1, D_v = d.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

fu, fv, gu, gv = sp.symbols("f_u f_v g_u g_v", real=True)
Du, Dv = sp.symbols("D_u D_v", positive=True)
k, x, t = sp.symbols("k x t", real=True)
q = sp.Symbol("q", positive=True)  # q = k^2
lam = sp.Symbol("lambda")
c1, c2 = sp.symbols("c_1 c_2")
d = sp.Symbol("d", positive=True)  # D_v / D_u
dr = sp.Symbol("d", real=True)  # the same ratio, as the real variable of a solveset claim
B = sp.Symbol("B", real=True)  # D_v f_u + D_u g_v
# sign-resolved parameters (u the activator): f_u = F > 0, P = -f_v g_u > 0, Delta = det J > 0, G = -g_v > 0
F, P, Delta, G, tau = sp.symbols("F P Delta G tau", positive=True)
a, b = sp.symbols("a b", positive=True)
u, v = sp.symbols("u v", real=True)

J = sp.Matrix([[fu, fv], [gu, gv]])
Dmat = sp.diag(Du, Dv)
trJ = fu + gv
detJ = fu * gv - fv * gu


def trace(qq=q):
    """T(q) = tr J − (D_u + D_v) q."""
    return trJ - (Du + Dv) * qq


def h_of(qq=q):
    """h(q) = D_u D_v q² − (D_v f_u + D_u g_v) q + det J = det(J − qD)."""
    return Du * Dv * qq**2 - (Dv * fu + Du * gv) * qq + detJ


def lambda_plus(qq=q):
    """λ₊(q) = (T(q) + √(T(q)² − 4h(q)))/2, the eigenvalue of J − qD with the larger real part."""
    return (trace(qq) + sp.sqrt(trace(qq)**2 - 4 * h_of(qq))) / 2


def fastest_growing_condition(qq=q):
    """Q(q) = h'(q)² + s T(q) h'(q) + s² h(q), s = D_u + D_v: zero at a stationary point of λ(q)."""
    s = Du + Dv
    hp = sp.diff(h_of(q), q).subs(q, qq)
    return sp.expand(hp**2 + s * trace(qq) * hp + s**2 * h_of(qq))


def turing_instability() -> Derivation:
    """The general two-species Turing analysis: dispersion relation, conditions, band, d_c, k_c, q*."""
    dv = Derivation("turing-instability", "Turing instability of a two-species reaction-diffusion system",
                    summary=r"Linearize $u_t = f + D_u u_{xx}$, $v_t = g + D_v v_{xx}$ about a homogeneous steady state. A "
                            r"plane wave $e^{ikx + \lambda t}$ grows at the eigenvalues of $J - k^2 D$: "
                            r"$\lambda^2 - T(k^2)\lambda + h(k^2) = 0$. A state stable without diffusion "
                            r"($\operatorname{tr} J < 0 < \det J$) is destabilized by diffusion iff $h$ dips below zero: "
                            r"$D_v f_u + D_u g_v > 0$ and $(D_v f_u + D_u g_v)^2 > 4 D_u D_v \det J$. The unstable band "
                            r"lies between the roots of $h$; the critical ratio is "
                            r"$d_{\mathrm{c}} = \left((\sqrt{\det J} + \sqrt{-f_v g_u})/f_u\right)^2$ with "
                            r"$k_{\mathrm{c}}^2 = \sqrt{\det J/(D_u D_v)}$; the fastest-growing $k^2$ is a root of an "
                            "explicit quadratic.")
    dv.references.append("A. M. Turing, The chemical basis of morphogenesis, Phil. Trans. R. Soc. B 237, 1952")
    dv.references.append("J. D. Murray, Mathematical Biology II: Spatial Models and Biomedical Applications, 3rd ed., "
                         "2003, Chapter 2 (book pages not opened; every formula derived and checked here)")
    w0 = sp.Matrix([c1, c2])
    wave = w0 * sp.exp(sp.I * k * x + lam * t)
    wt = sp.Symbol("w_t")
    dv.given(wt, sp.Symbol(r"J w + D w_{xx}"), r"the linearization about the steady state, $w = (u - u^*, v - v^*)$, with "
             r"$J = \begin{pmatrix} f_u & f_v \\ g_u & g_v \end{pmatrix}$ and $D = \operatorname{diag}(D_u, D_v)$")
    dv.equal(J * wave + Dmat * sp.diff(wave, x, 2), (J - k**2 * Dmat) * wave,
             r"for a plane wave $w = c\,e^{ikx + \lambda t}$ the second derivative $\partial_x^2$ acts as the factor $-k^2$",
             display=r"J w + D w_{xx}\,\big|_{w = c\,e^{ikx + \lambda t}}")
    dv.equal(sp.diff(wave, t), lam * wave, r"and $\partial_t$ acts as the factor $\lambda$, so $\lambda c = (J - k^2 D)c$",
             display=r"w_t\,\big|_{w = c\,e^{ikx + \lambda t}}")
    dv.equal((J - q * Dmat).trace(), trace(), "the sum of the diagonal entries of $J - qD$, with $q = k^2$", display="T(q)")
    charpoly = (lam * sp.eye(2) - (J - q * Dmat)).det()
    dv.equal(charpoly, lam**2 - trace() * lam + h_of(),
             r"a nonzero $c$ exists iff $\det(\lambda I - J + qD) = 0$ ($q = k^2$); expanding the $2 \times 2$ "
             "determinant gives the dispersion relation",
             display=r"\det(\lambda I - J + k^2 D)")
    dv.solution(lam**2 - trace() * lam + h_of(), lam, lambda_plus(),
                r"the quadratic formula: the root with the larger real part, $\lambda_+(k^2)$")
    dv.given(sp.Symbol(r"\operatorname{tr} J"), 0, "assumed: the steady state is stable without diffusion ($k = 0$) ...",
             relation="<")
    dv.given(sp.Symbol(r"\det J"), 0, r"... which for a $2 \times 2$ Jacobian means $\operatorname{tr} J < 0$ and $\det J > 0$", relation=">")
    dv.positive((tau + (Du + Dv) * q), r"a sum of positive terms: $-T(q) = -\operatorname{tr} J + (D_u + D_v) q > 0$ for every $q > 0$ "
                r"($\tau = -\operatorname{tr} J > 0$), so $\operatorname{Re}\lambda_+ > 0$ iff $h(q) < 0$", display=r"-T(q)\,\big|_{\operatorname{tr}J = -\tau}")
    qm = (Dv * fu + Du * gv) / (2 * Du * Dv)
    dv.solution(sp.Eq(sp.diff(h_of(), q), 0), q, qm, r"$h$ is a convex parabola with $h(0) = \det J > 0$; its minimum $q_m$ is where $h'(q) = 0$")
    dv.equal(h_of(qm), detJ - (Dv * fu + Du * gv)**2 / (4 * Du * Dv), "substitute $q_m$ into $h$: its minimum value",
             display=r"h(q_m)")
    beta = sp.Symbol("beta", real=True)
    dv.equal((Delta - B**2 / (4 * Du * Dv)).subs(B, 2 * beta * sp.sqrt(Du * Dv * Delta)), Delta * (1 - beta**2),
             r"write $B = D_v f_u + D_u g_v = 2\beta\sqrt{D_u D_v \det J}$ and $\Delta = \det J$: then "
             r"$h(q_m) = \Delta(1 - \beta^2)$",
             display=r"h(q_m)\,\big|_{B = 2\beta\sqrt{D_u D_v \Delta}}")
    dv.equivalent(sp.And(beta > 0, 1 - beta**2 < 0), beta, sp.Interval.open(1, sp.oo),
                  r"$h < 0$ somewhere on $q > 0$ iff $q_m > 0$ and $h(q_m) < 0$, i.e. $\beta > 1$: the Turing conditions "
                  r"$B > 0$ and $B^2 > 4 D_u D_v \det J$")
    disc = (Dv * fu + Du * gv)**2 - 4 * Du * Dv * detJ
    qlo = ((Dv * fu + Du * gv) - sp.sqrt(disc)) / (2 * Du * Dv)
    qhi = ((Dv * fu + Du * gv) + sp.sqrt(disc)) / (2 * Du * Dv)
    dv.solution(h_of(), q, qlo, "the quadratic formula: the lower band edge $q_-$ is the smaller root of $h$")
    dv.solution(h_of(), q, qhi, "and the upper band edge $q_+$ the larger one")
    dv.equal(h_of(), Du * Dv * (q - qlo) * (q - qhi), "a quadratic with leading coefficient $D_u D_v > 0$ factors over its two roots, so $h < 0$ exactly on the "
             "band $q_- < k^2 < q_+$", display="h(q)")
    # the critical diffusion ratio
    dquad = fu**2 * dr**2 + 2 * (2 * fv * gu - fu * gv) * dr + gv**2
    dv.equal(disc.subs(Dv, dr * Du), Du**2 * dquad, "with $D_v = d D_u$ the discriminant is $D_u^2$ times a quadratic in $d$; onset (a double root of $h$) is "
             "where it vanishes", display=r"B^2 - 4 D_u D_v \det J\,\big|_{D_v = d D_u}")
    dc_general = (sp.sqrt(detJ) + sp.sqrt(-fv * gu))**2 / fu**2
    dv.solution(dquad, dr, dc_general, r"the quadratic formula in $d$: $d_{\mathrm{c}} = \left((\sqrt{\det J} + \sqrt{-f_v g_u})/f_u\right)^2$ "
                "is a root")
    dv.solution(dquad, dr, (sp.sqrt(detJ) - sp.sqrt(-fv * gu))**2 / fu**2, r"and so is $d_- = \left((\sqrt{\det J} - \sqrt{-f_v g_u})/f_u\right)^2$, the other root")
    dv.given(fu, 0, r"assumed: $u$ is the activator, $f_u = F > 0$; then $\operatorname{tr} J < 0$ forces $g_v = -G < 0$, and "
             r"$\det J > 0$ forces $P = -f_v g_u = \det J + FG > 0$", relation=">")
    dcF = (sp.sqrt(Delta) + sp.sqrt(P))**2 / F**2
    dmF = (sp.sqrt(P) - sp.sqrt(Delta))**2 / F**2
    gvF = (Delta - P) / F  # det J = f_u g_v + P
    dv.equal(dcF * F + gvF, 2 * sp.sqrt(Delta) * (sp.sqrt(Delta) + sp.sqrt(P)) / F,
             r"at $d_{\mathrm{c}}$, $B/D_u = d f_u + g_v$, with $g_v = (\Delta - P)/F$ from $\det J = f_u g_v + P$",
             display=r"d_{\mathrm{c}} f_u + g_v")
    dv.positive(2 * sp.sqrt(Delta) * (sp.sqrt(Delta) + sp.sqrt(P)) / F, r"a product of positive factors ($\Delta$, $P$, $F > 0$): $B > 0$ at $d_{\mathrm{c}}$, the threshold",
                display=r"d_{\mathrm{c}} f_u + g_v")
    dv.equal((dmF * F + gvF).subs(P, Delta + F * G),
             -2 * Delta * G / (Delta + sp.sqrt(Delta * (Delta + F * G))),
             r"at $d_-$ it is negative (with $P = \Delta + FG$): $d_-$ violates $B > 0$, so instability holds iff "
             r"$d > d_{\mathrm{c}}$",
             display=r"d_- f_u + g_v")
    kc2 = sp.sqrt(detJ / (Du * Dv))
    dv.equal(qm**2 - detJ / (Du * Dv), disc / (4 * Du**2 * Dv**2), r"$q_m^2 - \det J/(D_u D_v)$ is proportional to the discriminant, so at onset the double root is "
             r"$k_{\mathrm{c}}^2 = \sqrt{\det J/(D_u D_v)}$", display=r"q_m^2 - \det J/(D_u D_v)")
    dv.solution(sp.Eq(q**2, detJ / (Du * Dv)), q, kc2, r"at onset (zero discriminant) $q_m^2 = \det J/(D_u D_v)$, and $k_{\mathrm{c}}^2$ is its positive root")
    # the fastest-growing mode
    s = Du + Dv
    Tq, hq = trace(), h_of()
    root = sp.sqrt(Tq**2 - 4 * hq)
    dv.equal(sp.diff(lambda_plus(), q), (sp.diff(Tq, q) * lambda_plus() - sp.diff(hq, q)) / root,
             r"implicit differentiation of the dispersion relation: $d\lambda/dq = (T'\lambda - h')/(2\lambda - T)$, "
             r"and $2\lambda_+ - T = \sqrt{T^2 - 4h}$", display=r"\frac{d\lambda_+}{dq}")
    hp = sp.diff(hq, q)
    dv.solution(sp.diff(Tq, q) * lam - hp, lam, -hp / s, r"$\lambda_+$ is stationary iff $h'(q) = T'(q)\lambda$, and $T' = -(D_u + D_v)$: "
                r"$\lambda = -h'(q)/s$ with $s = D_u + D_v$")
    dv.equal(sp.cancel(s**2 * (lam**2 - Tq * lam + hq).subs(lam, -hp / s)), fastest_growing_condition(),
             r"substitute that $\lambda$ into the dispersion relation: $q^*$ is a root of the quadratic "
             r"$Q(q) = h'^2 + sTh' + s^2 h$, on the branch $2h' + sT < 0$",
             display=r"s^2 \left(\lambda^2 - T\lambda + h\right)\big|_{\lambda = -h'(q)/s}")
    Q = sp.Poly(fastest_growing_condition(), q)
    dv.equal(Q.coeff_monomial(q**2), -Du * Dv * (Du - Dv)**2, r"the $q^4$ and $q^3$ terms cancel, so $Q$ is a true quadratic (closed-form roots) whenever $D_u \ne D_v$",
             display=r"[q^2]\,Q")
    dv.result("trace", Tq, label="T(q)")
    dv.result("h", hq, label="h(q)")
    dv.result("lambda_plus", lambda_plus(), label=r"\lambda_+(q)")
    dv.result("band_low", qlo, label="q_-")
    dv.result("band_high", qhi, label="q_+")
    dv.result("d_c", dc_general, label=r"d_{\mathrm{c}}")
    dv.result("k_c2", kc2, label=r"k_{\mathrm{c}}^2")
    dv.result("fastest_growing_condition", fastest_growing_condition(), label="Q(q)")
    dv.result("lambda_max_of_q", -hp / s, label=r"\lambda_{\max}")
    return dv


# -- the Schnakenberg model ----------------------------------------------------------------

#: the parameter set used throughout: clearly inside the Turing space
SCHNAKENBERG_PARAMS = {"a": sp.Rational(1, 10), "b": sp.Rational(9, 10), "d": sp.Integer(20)}


def schnakenberg_kinetics():
    """f = a − u + u²v, g = b − u²v (Schnakenberg 1979)."""
    return a - u + u**2 * v, b - u**2 * v


def schnakenberg_jacobian():
    """J at (u*, v*) = (a + b, b/(a + b)²): [[(b − a)/(a + b), (a + b)²], [−2b/(a + b), −(a + b)²]]."""
    return sp.Matrix([[(b - a) / (a + b), (a + b)**2], [-2 * b / (a + b), -(a + b)**2]])


def _numbers(params: dict | None) -> dict:
    p = dict(SCHNAKENBERG_PARAMS if params is None else params)
    if set(p) != {"a", "b", "d"}:
        raise ValueError(f"Schnakenberg parameters must be exactly a, b, d; got {sorted(p)}")
    p = {key: sp.nsimplify(val) for key, val in p.items()}
    if not all(val.is_positive for val in p.values()):
        raise ValueError(f"Schnakenberg parameters a, b, d must be positive; got {p}")
    return p


def dispersion(params: dict | None = None) -> dict:
    """The named SymPy results of the Schnakenberg dispersion relation at ``params`` ({a, b, d}, D_u = 1,
    D_v = d): 'lambda_plus' (of k), 'trace', 'h' (of q = k²), 'jacobian', 'steady_state', and, where the
    state is Turing-unstable, 'band' (q₋, q₊), 'k_star' (fastest-growing k), 'lambda_max'; always 'd_c'."""
    p = _numbers(params)
    Jn = schnakenberg_jacobian().subs({a: p["a"], b: p["b"]})
    sub = {fu: Jn[0, 0], fv: Jn[0, 1], gu: Jn[1, 0], gv: Jn[1, 1], Du: 1, Dv: p["d"]}
    out = {"jacobian": Jn, "steady_state": (p["a"] + p["b"], p["b"] / (p["a"] + p["b"])**2),
           "trace": sp.simplify(trace().subs(sub)), "h": sp.expand(h_of().subs(sub)),
           "lambda_plus": sp.simplify(lambda_plus(k**2).subs(sub)), "d_c": sp.nsimplify(sp.radsimp(
               sp.simplify(((sp.sqrt(detJ) + sp.sqrt(-fv * gu))**2 / fu**2).subs(sub))))}
    hq = out["h"]
    if Jn.trace() >= 0 or Jn.det() <= 0:
        raise ValueError(f"the steady state at {p} is unstable without diffusion (tr J = {Jn.trace()}, "
                         f"det J = {Jn.det()}): not a Turing instability")
    if Jn[0, 0] <= 0:
        raise ValueError(f"f_u = {Jn[0, 0]} <= 0 at {p}: u is not the activator (need b > a)")
    roots = sp.Poly(hq, q).all_roots()
    if len(roots) == 2 and all(r.is_real and r.is_positive for r in roots) and roots[0] != roots[1]:
        out["band"] = (sp.radsimp(roots[0]), sp.radsimp(roots[1]))
        Qn = sp.Poly(fastest_growing_condition().subs(sub), q)
        s = 1 + p["d"]
        hp = sp.diff(hq, q)
        branch = [r for r in Qn.all_roots() if r.is_real and r.is_positive
                  and (2 * hp.subs(q, r) + s * out["trace"].subs(q, r)).is_negative]
        if len(branch) != 1:
            raise ValueError(f"expected one stationary point of lambda_+ on its real branch, found {branch}")
        qs = sp.radsimp(branch[0])
        out["q_star"] = qs
        out["k_star"] = sp.sqrt(qs)
        out["lambda_max"] = sp.radsimp(-hp.subs(q, qs) / s)
    return out


def schnakenberg_turing(params: dict | None = None) -> Derivation:
    """Schnakenberg's model: steady state, Jacobian, Turing space in (a, b, d), and at ``params``
    (default a = 1/10, b = 9/10, d = 20) the exact band, d_c, k_c and fastest-growing mode."""
    p = _numbers(params)
    res = dispersion(p)
    if "band" not in res:
        raise ValueError(f"no Turing instability at {p} (d_c = {res['d_c']}): choose d > d_c")
    dv = Derivation("turing-schnakenberg", "Turing patterns of the Schnakenberg model",
                    summary=r"Schnakenberg kinetics $f = a - u + u^2 v$, $g = b - u^2 v$ with $D_u = 1$, $D_v = d$: steady "
                            r"state $(a + b, b/(a + b)^2)$, Turing space $0 < b - a < (a + b)^3$, "
                            r"$d(b - a) > (a + b)^3$, $(d(b - a) - (a + b)^3)^2 > 4d(a + b)^4$. At $a = %s$, $b = %s$, "
                            r"$d = %s$: the band, the critical ratio $d_{\mathrm{c}}$, the onset wavenumber "
                            r"$k_{\mathrm{c}}$ and the fastest-growing mode, exactly."
                            % (sp.latex(p["a"]), sp.latex(p["b"]), sp.latex(p["d"])))
    dv.references.append("J. Schnakenberg, Simple chemical reaction systems with limit cycle behaviour, "
                         "J. Theor. Biol. 81, 389-400, 1979")
    dv.references.append("J. D. Murray, Mathematical Biology II, 3rd ed., 2003, Chapter 2 (the Turing space of "
                         "this model; book pages not opened, inequalities derived here)")
    f, g = schnakenberg_kinetics()
    dv.given(sp.Matrix([sp.Symbol("u_t"), sp.Symbol("v_t")]),
             sp.Matrix([f + sp.Symbol("u_{xx}"), g + d * sp.Symbol("v_{xx}")]), "the Schnakenberg model: its kinetics with $D_u = 1$ and $D_v = d$")
    ust, vst = a + b, b / (a + b)**2
    dv.solution([f, g], (u, v), (ust, vst), "the homogeneous steady state $(u^*, v^*)$: both kinetics vanish there")
    Js = sp.Matrix([f, g]).jacobian([u, v]).subs({u: ust, v: vst})
    dv.equal(Js, schnakenberg_jacobian(), "differentiate $f$ and $g$ in $u$ and $v$ at the steady state", display=r"J(u^*, v^*)")
    dv.equal(Js.det(), (a + b)**2, "the determinant of that Jacobian: $(a + b)^2 > 0$ for all $a$, $b$", display=r"\det J")
    dv.equal(Js.trace(), (b - a - (a + b)**3) / (a + b), r"the trace of that Jacobian: $\operatorname{tr} J < 0$ iff $b - a < (a + b)^3$",
             display=r"\operatorname{tr} J")
    Bs = d * Js[0, 0] + Js[1, 1]
    dv.equal(Bs, (d * (b - a) - (a + b)**3) / (a + b), "from the diagonal of the Jacobian: $B = d f_u + g_v > 0$ iff $d(b - a) > (a + b)^3$",
             display=r"d f_u + g_v")
    dv.equal((a + b)**2 * (Bs**2 - 4 * d * Js.det()), (d * (b - a) - (a + b)**3)**2 - 4 * d * (a + b)**4,
             r"scale by $(a + b)^2 > 0$: $B^2 > 4d\det J$ iff $(d(b - a) - (a + b)^3)^2 > 4d(a + b)^4$, the Turing space",
             display=r"(a + b)^2 (B^2 - 4 d \det J)")
    num = {a: p["a"], b: p["b"]}
    Bd = (d * Js[0, 0] + Js[1, 1]).subs(num)
    dc = res["d_c"]
    dv.equivalent(sp.And(Bd > 0, Bd**2 - 4 * d * Js.det().subs(num) > 0), d, sp.Interval.open(dc, sp.oo),
                  r"at $a = %s$, $b = %s$ both Turing conditions, $B > 0$ and $B^2 > 4d\det J$, hold exactly for "
                  r"$d > d_{\mathrm{c}}$" % (sp.latex(p["a"]), sp.latex(p["b"])))
    sub = {fu: Js[0, 0], fv: Js[0, 1], gu: Js[1, 0], gv: Js[1, 1]}
    dv.equal(((sp.sqrt(detJ) + sp.sqrt(-fv * gu))**2 / fu**2).subs(sub).subs(num), dc,
             r"the general formula $d_{\mathrm{c}} = \left((\sqrt{\det J} + \sqrt{-f_v g_u})/f_u\right)^2$ "
             "at this Jacobian", display=r"d_{\mathrm{c}}")
    kc2 = sp.radsimp(sp.sqrt(Js.det().subs(num) / dc))
    dv.equal(sp.sqrt(Js.det() / d).subs(num).subs(d, dc), kc2, r"the onset wavenumber $k_{\mathrm{c}}^2 = \sqrt{\det J/(D_u D_v)}$ with $D_u = 1$, "
             r"$D_v = d_{\mathrm{c}}$", display=r"k_{\mathrm{c}}^2")
    hq = res["h"]
    qlo, qhi = res["band"]
    dv.given(d, p["d"], r"a parameter choice: $d$ is fixed above the threshold $d_{\mathrm{c}} \approx %.6g$" % float(dc))
    dv.equal(h_of().subs(sub).subs({Du: 1, Dv: d}).subs(num).subs(d, p["d"]), hq, "the general $h(q)$ at these parameters", display="h(q)")
    dv.solution(hq, q, qlo, "the lower band edge $q_- = k_-^2$, the smaller root of $h$")
    dv.solution(hq, q, qhi, "the upper band edge $q_+ = k_+^2$, the larger root")
    s = 1 + p["d"]
    Tq = res["trace"]
    Qn = sp.expand(sp.diff(hq, q)**2 + s * Tq * sp.diff(hq, q) + s**2 * hq)
    qs = res["q_star"]
    dv.solution(Qn, q, qs, r"the fastest-growing $q^* = (k^*)^2$ is a root of $Q(q) = h'^2 + sTh' + s^2 h$ ...")
    other = [r for r in sp.Poly(Qn, q).all_roots() if sp.simplify(r - qs) != 0]
    if other:
        dv.positive(-other[0], "... and the other root of $Q$ is negative, so $q^*$ is the only stationary point on $q > 0$",
                    display=r"-q_{\mathrm{other}}")
    dv.positive(-(2 * sp.diff(hq, q) + s * Tq).subs(q, qs), r"$2h' + sT < 0$ at $q^*$, so it lies on the branch $\lambda_+$",
                display=r"-(2h'(q^*) + sT(q^*))")
    dv.positive(qs - qlo, "it lies inside the band: $q^* > q_-$ ...", display=r"q^* - q_-")
    dv.positive(qhi - qs, "... and $q^* < q_+$", display=r"q_+ - q^*")
    lp = lambda_plus().subs(sub).subs({Du: 1, Dv: p["d"]}).subs(num)
    dv.equal(lp.subs(q, qs), res["lambda_max"], r"at the stationary point $\lambda = -h'/s$: the largest growth rate $\lambda_{\max} = \lambda_+(q^*)$",
             display=r"\lambda_+(q^*)")
    dv.positive(-sp.diff(lp, q, 2).subs(q, qs), r"$\lambda_+'' < 0$ at $q^*$, so the stationary point is a maximum", display=r"-\lambda_+''(q^*)")
    kp = sp.Symbol("|k|", positive=True)  # the wavenumber's modulus (k itself is real)
    dv.equal(lp.subs(q, k**2), res["lambda_plus"], r"$\lambda_+$ as a function of the wavenumber: substitute $q = k^2$",
             display=r"\lambda_+(k)")
    dv.solution(sp.Eq(kp**2, kc2), kp, sp.sqrt(kc2), r"the onset wavenumber $k_{\mathrm{c}}$, the positive root of $|k|^2 = k_{\mathrm{c}}^2$")
    dv.solution(hq.subs(q, kp**2), kp, [sp.sqrt(qlo), sp.sqrt(qhi)],
                r"the band edges in $|k|$: the positive roots of $h(|k|^2)$, $k_- = \sqrt{q_-}$ and $k_+ = \sqrt{q_+}$")
    dv.solution(sp.Eq(kp**2, qs), kp, res["k_star"], r"the fastest-growing wavenumber $k^* = \sqrt{q^*}$, the positive root")
    dv.result("steady_state", (ust, vst), label="(u^*, v^*)")
    dv.result("jacobian", schnakenberg_jacobian(), label="J(u^*, v^*)")
    dv.result("turing_space", sp.And(b - a > 0, b - a < (a + b)**3, d * (b - a) > (a + b)**3,
                                     (d * (b - a) - (a + b)**3)**2 > 4 * d * (a + b)**4), label=r"\text{Turing space}")
    dv.result("lambda_plus", res["lambda_plus"], label=r"\lambda_+(k)")
    dv.result("d_c", dc, label=r"d_{\mathrm{c}}")
    dv.result("k_c", sp.sqrt(kc2), label=r"k_{\mathrm{c}}")
    dv.result("band_k", (sp.sqrt(qlo), sp.sqrt(qhi)), label="(k_-, k_+)")
    dv.result("k_star", res["k_star"], label="k^*")
    dv.result("lambda_max", res["lambda_max"], label=r"\lambda_{\max}")
    return dv
