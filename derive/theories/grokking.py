"""The Li₂ energy of grokking, derived and machine-checked on a small generic instance.

Setting (Y. Tian, "Provable Scaling Laws of Feature Emergence from Learning Dynamics of Grokking",
arXiv:2509.21519, first titled "Li₂: A Framework on Dynamics of Feature Emergence and Delayed
Generalization"): a 2-layer network F = σ(XW), output FV, squared loss with weight decay η on the top
layer, centred targets Ỹ.  Stated in the abstract: after lazy learning, weight decay makes the
backpropagated gradient G_F = −∂L/∂F carry label information so that each hidden node learns on its own,
and "the independent dynamics follows exactly the gradient ascent of an energy function E".

The body of the paper could not be read here (only its abstract and its public code, which confirms the
quadratic activation, the squared loss and a ridge-regression top layer), so the steps below derive the
energy from the model itself.  With ρ = ‖F‖²_op/η (the largest eigenvalue of FFᵀ, equivalently of FᵀF,
divided by η):

    V* = (FᵀF + ηI)⁻¹ FᵀỸ,   Ỹ − FV* = η (FFᵀ + ηI)⁻¹ Ỹ,
    G_F = η (FFᵀ + ηI)⁻¹ Ỹ Ỹᵀ F (FᵀF + ηI)⁻¹,  i.e.  ηG_F = P ỸỸᵀF Q  with  P = (I + FFᵀ/η)⁻¹, Q = (I + FᵀF/η)⁻¹,
    ‖ηG_F − ỸỸᵀF‖ ≤ 2ρ/(1 + ρ) ‖ỸỸᵀF‖   (our own bound: ‖I − P‖ = ‖I − Q‖ = ρ/(1 + ρ), ‖P‖, ‖Q‖ ≤ 1),
    −∂L/∂w_j = Xᵀ(σ'(Xw_j) ⊙ G_F[:, j]) ≈ η⁻¹ ∇E(w_j),   E(w) = ½ ‖Ỹᵀ σ(Xw)‖²,

the last to leading order in ρ: the independent (stage-II) regime is ρ ≪ 1.  The eigenvalue steps of the
bound are proved on the eigenvalue s ≥ 0 of the symmetric PSD matrix FFᵀ (or FᵀF); the final norm
inequality (triangle inequality and ‖AMB‖_F ≤ ‖A‖_op ‖M‖_F ‖B‖_op) is stated as given.

Instance: n = 3 samples, d = 2 inputs, K = 2 hidden units, c = 2 outputs, all entries symbolic; identities
are stated as "difference = 0" with polynomial entries (no symbolic inverses), the named results as explicit
matrices;
σ(z) = z² (the paper's "sqr" activation) where a concrete σ is needed.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

N, D, K, C = 3, 2, 2, 2
eta = sp.Symbol("eta", positive=True)


def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


X = _mat("x", N, D)
Y = _mat("y", N, C)      # centred targets Ỹ (their centring plays no role in the algebra)
F = _mat("f", N, K)
V = _mat("v", K, C)
W = _mat("w", D, K)
w = sp.Matrix(D, 1, lambda i, _: sp.Symbol(f"u_{i + 1}", real=True))  # one hidden unit's weights


def sq(z):
    """σ(z) = z², elementwise on a matrix."""
    return z.applyfunc(lambda e: e**2)


def dsq(z):
    """σ'(z) = 2z, elementwise."""
    return z.applyfunc(lambda e: 2 * e)


def energy(wv: sp.Matrix = w) -> sp.Expr:
    """E(w) = ½ ‖Ỹᵀ σ(Xw)‖² on the instance."""
    u = Y.T * sq(X * wv)
    return (u.T * u)[0, 0] / 2


def _loss(Fm, Vm, Ym=Y):
    R = Ym - Fm * Vm
    return (sum(e**2 for e in R) + eta * sum(e**2 for e in Vm)) / 2


def li2_energy() -> Derivation:
    """Ridge top layer, backpropagated gradient, the bound ‖ηG_F − ỸỸᵀF‖ ≤ 2ρ/(1+ρ)‖ỸỸᵀF‖ (ρ = ‖F‖²_op/η)
    and the energy E(w) whose gradient the units follow to leading order in ρ."""
    d = Derivation("li2-energy", "Grokking's independent stage is gradient ascent of an energy (Li2)",
                   summary=r"A 2-layer network $F = \sigma(XW)$, output $FV$, squared loss with weight decay $\eta$ on $V$. "
                           r"With $V$ at its ridge optimum the backpropagated gradient is "
                           r"$G_F = \eta(FF^{\top} + \eta I)^{-1}\tilde Y\tilde Y^{\top}F(F^{\top}F + \eta I)^{-1}$. "
                           r"With $\rho = \|F\|_{\mathrm{op}}^2/\eta$, $\|\eta G_F - \tilde Y\tilde Y^{\top}F\| \le "
                           r"\frac{2\rho}{1 + \rho}\|\tilde Y\tilde Y^{\top}F\|$ (the eigenvalue steps proved, the "
                           r"norm inequality given), so for $\rho \ll 1$ column $j$ of $G_F$ depends on hidden unit "
                           r"$j$ alone and the unit's update $-\partial L/\partial w_j$ is, to leading order in "
                           r"$\rho$, $\eta^{-1}$ times the gradient of $E(w) = \frac12\|\tilde Y^{\top}\sigma(Xw)\|^2$ "
                           "(Tian, arXiv:2509.21519). Matrix identities are shown as a difference equal to zero (the "
                           "named results as explicit matrices) on $n = 3$ samples, $d = 2$ inputs, $K = 2$ units, "
                           r"$c = 2$ outputs with symbolic entries; $\sigma(z) = z^2$ where a concrete activation is "
                           "needed.")
    d.references.append("Y. Tian, Provable Scaling Laws of Feature Emergence from Learning Dynamics of Grokking "
                        "(Li2), arXiv:2509.21519, 2025 (abstract: stages I-III and the energy E)")
    L = _loss(F, V)
    d.given(sp.Symbol("L"), sp.Symbol(r"\tfrac12\|\tilde Y - F V\|^2 + \tfrac{\eta}{2}\|V\|^2"),
            r"squared loss on centred targets $\tilde Y$, weight decay $\eta$ on the top layer, $F = \sigma(XW)$")
    A = F.T * F + eta * sp.eye(K)
    B = F * F.T + eta * sp.eye(N)
    R = F.T * Y - A * V  # = -dL/dV: zero exactly at the ridge optimum
    d.equal(sp.Matrix(K, C, lambda i, j: -sp.diff(L, V[i, j])), R,
            r"differentiate in $V$: $-\partial L/\partial V = F^{\top}\tilde Y - (F^{\top}F + \eta I)V =: R$, so the "
            r"ridge optimum $V^* = (F^{\top}F + \eta I)^{-1}F^{\top}\tilde Y$ is where $R = 0$ (stage I: the top "
            "layer fits the current features lazily)",
            display=r"-\partial L/\partial V")
    G = (Y - F * V) * V.T
    d.equal(sp.Matrix(N, K, lambda i, j: -sp.diff(L, F[i, j])), G,
            r"differentiate in $F$: the backpropagated gradient $G_F = -\partial L/\partial F = (\tilde Y - FV)V^{\top}$",
            display=r"-\partial L/\partial F")
    d.equal(B * (Y - F * V) - eta * Y - F * R, sp.zeros(N, C),
            r"expand with the definition of $R$ (push-through): $(FF^{\top} + \eta I)(\tilde Y - FV) = \eta\tilde Y + FR$ "
            r"for every $V$; at $V^*$ the residual is $\eta(FF^{\top} + \eta I)^{-1}\tilde Y$", display=r"(FF^\top + \eta I)(\tilde Y - FV) - \eta\tilde Y - F R")
    d.equal(B * G * A - eta * Y * Y.T * F - F * R * V.T * A + eta * Y * R.T, sp.zeros(N, K),
            r"the push-through again, for every $V$, with $B = FF^{\top} + \eta I$ and $A = F^{\top}F + \eta I$: "
            r"$BG_FA = \eta\tilde Y\tilde Y^{\top}F + FRV^{\top}A - \eta\tilde YR^{\top}$; at $V^*$ ($R = 0$): "
            r"$G_F = \eta(FF^{\top} + \eta I)^{-1}\tilde Y\tilde Y^{\top}F(F^{\top}F + \eta I)^{-1}$",
            display=r"B G_F A - \eta\tilde Y\tilde Y^\top F - F R V^\top A + \eta \tilde Y R^\top")
    Gs = _mat("g", N, K)
    Ptop = Y * Y.T * F
    d.equal((sp.eye(N) + F * F.T / eta) * (eta * Gs) * (sp.eye(K) + F.T * F / eta) - Ptop
            - (B * Gs * A - eta * Ptop) / eta, sp.zeros(N, K),
            r"divide by $\eta$: $(I + FF^{\top}/\eta)(\eta G_F)(I + F^{\top}F/\eta) - \tilde Y\tilde Y^{\top}F = "
            r"(BG_FA - \eta\tilde Y\tilde Y^{\top}F)/\eta$, which is 0 at $V^*$", display=r"(I + \tfrac{FF^\top}{\eta})(\eta G_F)(I + \tfrac{F^\top F}{\eta}) "
            r"- \tilde Y\tilde Y^\top F - \tfrac{1}{\eta}(B G_F A - \eta \tilde Y\tilde Y^\top F)")
    # the bound |eta G_F - Y Y^T F| <= 2 rho/(1 + rho) |Y Y^T F|, eta G_F = P (Y Y^T F) Q
    s = sp.Symbol("s", nonnegative=True)
    rho = sp.Symbol("rho", nonnegative=True)
    gap = (s / eta) / (1 + s / eta)
    d.equal(1 - 1 / (1 + s / eta), gap, r"$P = (I + FF^{\top}/\eta)^{-1}$ with $FF^{\top} = U\operatorname{diag}(s)U^{\top}$ symmetric PSD "
            r"($s \ge 0$): $P$ has eigenvalues $1/(1 + s/\eta)$ in $(0, 1]$, so $\|P\| \le 1$, and $I - P$ has "
            r"eigenvalues $(s/\eta)/(1 + s/\eta)$ (the same for $Q = (I + F^{\top}F/\eta)^{-1}$, whose nonzero "
            r"eigenvalues $s$ are those of $FF^{\top}$)",
            display=r"1 - \frac{1}{1 + s/\eta}")
    d.positive(sp.diff(gap, s), r"the derivative is $\eta/(\eta + s)^2 > 0$, so the eigenvalue of $I - P$ increases with $s$; its largest "
               r"is at the largest eigenvalue $s = \|F\|_{\mathrm{op}}^2$ of $FF^{\top}$", display=r"\frac{\partial}{\partial s}\,\frac{s/\eta}{1 + s/\eta}")
    d.equal(gap.subs(s, rho * eta), rho / (1 + rho), r"at $s = \rho\eta$, $\rho = \|F\|_{\mathrm{op}}^2/\eta$: "
            r"$\|I - P\|_{\mathrm{op}} = \|I - Q\|_{\mathrm{op}} = \rho/(1 + \rho)$", display=r"\frac{s/\eta}{1 + s/\eta}\Big|_{s = \rho\eta}")
    Pm, Qm, Mm = _mat("p", N, N), _mat("q", K, K), _mat("m", N, K)
    d.equal(Pm * Mm * Qm - Mm - ((Pm - sp.eye(N)) * Mm * Qm + Mm * (Qm - sp.eye(K))), sp.zeros(N, K),
            r"split $\eta G_F - \tilde Y\tilde Y^{\top}F = PMQ - M$ ($M = \tilde Y\tilde Y^{\top}F$, by the step "
            r"above) into two terms, each with a factor $I - P$ or $I - Q$", display=r"PMQ - M - \big((P - I)MQ + M(Q - I)\big)")
    d.given(sp.Symbol(r"\|\eta G_F - \tilde Y\tilde Y^\top F\|_F"),
            sp.Symbol(r"\tfrac{2\rho}{1+\rho}\,\|\tilde Y\tilde Y^\top F\|_F"),
            r"the triangle inequality and $\|AMB\|_F \le \|A\|_{\mathrm{op}}\|M\|_F\|B\|_{\mathrm{op}}$ with "
            r"$\|I - P\|_{\mathrm{op}} = \|I - Q\|_{\mathrm{op}} = \rho/(1 + \rho)$ and $\|Q\|_{\mathrm{op}} \le 1$ "
            "(standard norm inequalities; our own bound, not from the paper)", relation="<=")
    d.given(sp.Symbol(r"\eta\, G_F"), sp.Symbol(r"\tilde Y\tilde Y^\top F + O(\rho)\,\|\tilde Y\tilde Y^\top F\|"),
            r"so for $\rho \ll 1$ ($\|F\|_{\mathrm{op}}^2 \ll \eta$), $G_F$ is label-determined to leading order; "
            r"Li2 stage II (independent feature learning) takes $G_F = \eta^{-1}\tilde Y\tilde Y^{\top}F$")
    Fw = sq(X * W)
    G_ind = Y * Y.T * Fw / eta
    cross = sp.Matrix(N, D, lambda i, k: sp.diff(G_ind[i, 0], W[k, 1]))
    d.equal(cross, sp.zeros(N, D), r"$\sigma$ acts elementwise, so column 1 of that $G_F$ does not depend on the weights of unit 2: the units "
            "learn independently", display=r"\partial G_F[:,1] / \partial w_2")
    Lw = _loss(Fw, V)
    upd = sp.Matrix(D, 1, lambda k, _: -sp.diff(Lw, W[k, 0]))
    Z = X * W
    back = X.T * dsq(Z[:, 0]).multiply_elementwise(((Y - Fw * V) * V.T)[:, 0])
    d.equal(upd - back, sp.zeros(D, 1), r"the chain rule through $\sigma$ (backpropagation): "
            r"$-\partial L/\partial w_1 = X^{\top}(\sigma'(Xw_1) \odot G_F[:, 1])$",
            display=r"-\partial L/\partial w_1 - X^\top\big(\sigma'(Xw_1)\odot G_F[:,1]\big)")
    E = energy()
    gradE = sp.Matrix(D, 1, lambda k, _: sp.diff(E, w[k]))
    formula = X.T * dsq(X * w).multiply_elementwise(Y * Y.T * sq(X * w))
    d.given(sp.Symbol("E(w)"), E, r"definition: the energy of one hidden unit, $\frac12\|\tilde Y^{\top}\sigma(Xw)\|^2$")
    d.equal(gradE, formula, r"the chain rule: $\nabla E = X^{\top}(\sigma'(Xw) \odot \tilde Y\tilde Y^{\top}\sigma(Xw))$", display=r"\nabla E(w)")
    ind_upd = X.T * dsq(Z[:, 0]).multiply_elementwise(G_ind[:, 0])
    d.equal(ind_upd - formula.subs(dict(zip(list(w), list(W[:, 0])))) / eta, sp.zeros(D, 1),
            r"so under the stage-II $G_F$ the update of unit 1 is $\eta^{-1}\nabla E(w_1)$: gradient ascent of $E$ "
            r"(to leading order in $\rho$)",
            display=r"X^\top\big(\sigma'(Xw_1)\odot \eta^{-1}\tilde Y\tilde Y^\top\sigma(Xw_1)\big) "
                    r"- \eta^{-1}\nabla E(w_1)")
    d.result("ridge_residual", R, label="R")
    d.result("G_F", G, label="G_F")
    d.result("energy", E, label="E(w)")
    d.result("energy_gradient", formula, label=r"\nabla E(w)")
    return d
