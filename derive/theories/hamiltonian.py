"""Symplectic forms, Poisson brackets and Hamilton's equations over chosen coordinates (SymPy).

A 2-form ω on coordinates x = (x_1, ..., x_n) is stored as the antisymmetric matrix
Ω_ij = ω(∂_i, ∂_j), so ω = Σ_{i<j} Ω_ij dx_i ∧ dx_j.  ω is *symplectic* when it is closed
(dω = 0) and nondegenerate (det Ω ≠ 0).

Sign conventions (one choice, used everywhere in this module):

* exterior derivative of a 1-form α = Σ α_j dx_j:  (dα)_ij = ∂_i α_j − ∂_j α_i;
* canonical form in (q_1..q_n, p_1..p_n): ω = Σ dp_k ∧ dq_k = d(Σ p_k dq_k)  (Arnold's
  convention, §37), i.e. Ω = [[0, −I], [I, 0]];
* Poisson tensor P = Ω⁻¹ and {f, g} = Σ_ij ∂_i f P_ij ∂_j g = ∇fᵀ P ∇g, so that for the
  canonical form {q_k, p_l} = δ_kl (with Ω = [[0, −1], [1, 0]] in (q, p), P = [[0, 1], [−1, 0]]);
* time: the Hamiltonian vector field X_H = P ∇H, i.e. ω(·, X_H) = dH, and along its flow
  df/dt = {f, H}; hence q̇ = ∂H/∂p, ṗ = −∂H/∂q in canonical coordinates.

Marsden and Ratiu write ω = Σ dq ∧ dp = −d(p dq) and {f, g} = ∂f/∂q ∂g/∂p − ∂f/∂p ∂g/∂q;
their bracket and Hamilton's equations are the same as here, only the sign of Ω differs.

References: V. I. Arnold, Mathematical Methods of Classical Mechanics, 2nd ed., Springer 1989,
§§37-40; J. E. Marsden, T. S. Ratiu, Introduction to Mechanics and Symmetry, 2nd ed., Springer
1999, §§2.4-2.7, 5.1 and 10.1 (Lie-Poisson structures such as so(3)*).
"""
from __future__ import annotations

from itertools import combinations
from typing import Any, Sequence

import sympy as sp

from derive.derivation import Derivation


def _simplify_zero(expr: Any) -> bool | None:
    """True if expr simplifies to 0, False if provably nonzero, None if SymPy cannot tell."""
    e = sp.simplify(sp.sympify(expr))
    return True if e == 0 else e.is_zero


class TwoForm:
    """A 2-form ω over ``coords`` as the antisymmetric matrix Ω_ij = ω(∂_i, ∂_j)."""

    def __init__(self, coords: Sequence[sp.Symbol], matrix: Any):
        self.coords = tuple(coords)
        m = sp.Matrix(matrix)
        n = len(self.coords)
        if not m.is_square:
            raise ValueError(f"a 2-form needs a square matrix; got shape {m.shape}")
        if m.shape[0] != n:
            raise ValueError(f"matrix is {m.shape[0]}x{m.shape[0]} but there are {n} coordinates {self.coords}: "
                             "give one row and column per coordinate")
        for i in range(n):
            for j in range(i, n):
                if _simplify_zero(m[i, j] + m[j, i]) is not True:
                    raise ValueError(f"matrix is not antisymmetric: Omega[{i},{j}] = {m[i, j]} but "
                                     f"Omega[{j},{i}] = {m[j, i]}; a 2-form needs Omega_ij = -Omega_ji")
        self.matrix = sp.ImmutableMatrix(m)

    def __repr__(self) -> str:
        return f"TwoForm({list(self.coords)}, {self.matrix.tolist()})"

    @classmethod
    def from_one_form(cls, coords: Sequence[sp.Symbol], alpha: Sequence[Any]) -> "TwoForm":
        """dα for α = Σ α_j dx_j:  (dα)_ij = ∂_i α_j − ∂_j α_i."""
        coords = tuple(coords)
        if len(alpha) != len(coords):
            raise ValueError(f"the 1-form has {len(alpha)} components but there are {len(coords)} coordinates")
        n = len(coords)
        m = sp.Matrix(n, n, lambda i, j: sp.diff(alpha[j], coords[i]) - sp.diff(alpha[i], coords[j]))
        return cls(coords, m)

    def exterior_derivative(self) -> dict[tuple[int, int, int], Any]:
        """The components of dω: (dω)_ijk = ∂_i Ω_jk + ∂_j Ω_ki + ∂_k Ω_ij for i < j < k (simplified)."""
        x, m = self.coords, self.matrix
        return {(i, j, k): sp.simplify(sp.diff(m[j, k], x[i]) + sp.diff(m[k, i], x[j]) + sp.diff(m[i, j], x[k]))
                for i, j, k in combinations(range(len(x)), 3)}

    def is_closed(self) -> bool:
        """dω = 0: every cyclic sum ∂_i Ω_jk + ∂_j Ω_ki + ∂_k Ω_ij vanishes (always so in 2-D)."""
        return all(c == 0 for c in self.exterior_derivative().values())

    def is_nondegenerate(self) -> bool | None:
        """det Ω ≠ 0: True, False (det Ω simplifies to 0; always so in odd dimension), or None
        when SymPy cannot decide the sign of det Ω."""
        verdict = _simplify_zero(self.matrix.det())
        return None if verdict is None else not verdict

    def is_symplectic(self) -> bool | None:
        """Closed and nondegenerate (None if nondegeneracy is undecided)."""
        if not self.is_closed():
            return False
        return self.is_nondegenerate()

    def poisson_tensor(self) -> sp.Matrix:
        """P = Ω⁻¹, so that {f, g} = ∇fᵀ P ∇g (for the canonical form {q, p} = 1).

        Raises ValueError if Ω is degenerate.  When det Ω ≠ 0 is undecided the inverse is
        returned anyway and is valid where det Ω ≠ 0."""
        if self.is_nondegenerate() is False:
            raise ValueError(f"the 2-form is degenerate (det Omega = 0) and has no Poisson tensor; "
                             f"Omega = {self.matrix.tolist()}")
        return sp.simplify(sp.Matrix(self.matrix).inv())


def canonical(n: int, coords: Sequence[sp.Symbol] | None = None) -> TwoForm:
    """The canonical form ω = Σ_k dp_k ∧ dq_k = d(Σ p_k dq_k) in (q_1..q_n, p_1..p_n):
    Ω = [[0, −I], [I, 0]], P = Ω⁻¹ = [[0, I], [−I, 0]], {q_k, p_l} = δ_kl."""
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}")
    if coords is None:
        coords = sp.symbols(f"q_1:{n + 1}", real=True) + sp.symbols(f"p_1:{n + 1}", real=True)
    if len(coords) != 2 * n:
        raise ValueError(f"canonical({n}) needs 2n = {2 * n} coordinates (q's then p's); got {len(coords)}")
    eye, zero = sp.eye(n), sp.zeros(n)
    return TwoForm(coords, sp.BlockMatrix([[zero, -eye], [eye, zero]]).as_explicit())


def _gradient(f: Any, coords: Sequence[sp.Symbol]) -> sp.Matrix:
    return sp.Matrix([sp.diff(f, x) for x in coords])


def bracket(P: Any, coords: Sequence[sp.Symbol], f: Any, g: Any) -> Any:
    """{f, g} = Σ_ij ∂_i f P_ij ∂_j g."""
    return sp.expand((_gradient(f, coords).T * sp.Matrix(P) * _gradient(g, coords))[0, 0])


def hamilton_equations(P: Any, coords: Sequence[sp.Symbol], H: Any) -> sp.Matrix:
    """ẋ_i = {x_i, H} = Σ_j P_ij ∂_j H (X_H = P ∇H; df/dt = {f, H} along the flow)."""
    return sp.Matrix(P) * _gradient(H, coords)


def antisymmetry(P: Any) -> sp.Matrix:
    """The residual P + Pᵀ ({f, g} + {g, f} for the coordinate functions); zero for a bivector."""
    P = sp.Matrix(P)
    return sp.simplify(P + P.T)


def leibniz(P: Any, coords: Sequence[sp.Symbol], f: Any, g: Any, h: Any) -> Any:
    """The Leibniz residual {f, g h} − {f, g} h − g {f, h} (zero for any matrix P)."""
    return sp.simplify(bracket(P, coords, f, g * h) - bracket(P, coords, f, g) * h - g * bracket(P, coords, f, h))


def jacobi(P: Any, coords: Sequence[sp.Symbol]) -> dict[tuple[int, int, int], Any]:
    """Jacobi residuals of the coordinate functions, for i < j < k:
    J_ijk = {x_i, {x_j, x_k}} + {x_j, {x_k, x_i}} + {x_k, {x_i, x_j}}
          = Σ_l (P_il ∂_l P_jk + P_jl ∂_l P_ki + P_kl ∂_l P_ij).
    For an antisymmetric P, all J_ijk = 0 iff the Jacobi identity holds for all functions
    (bracket bilinear and Leibniz); it holds when P = Ω⁻¹ with Ω closed (Arnold §40)."""
    P, x = sp.Matrix(P), tuple(coords)
    return {(i, j, k): sp.simplify(bracket(P, x, x[i], bracket(P, x, x[j], x[k]))
                                   + bracket(P, x, x[j], bracket(P, x, x[k], x[i]))
                                   + bracket(P, x, x[k], bracket(P, x, x[i], x[j])))
            for i, j, k in combinations(range(len(x)), 3)}


def lie_poisson_so3(coords: Sequence[sp.Symbol] | None = None) -> tuple[tuple[sp.Symbol, ...], sp.Matrix]:
    """The Lie-Poisson structure of so(3)* (rigid body): {x_i, x_j} = Σ_k ε_ijk x_k, i.e.
    P_ij = Σ_k ε_ijk x_k (Marsden-Ratiu §10.1).  Degenerate: the Casimir x·x Poisson-commutes with all."""
    x = tuple(coords) if coords is not None else sp.symbols("x_1:4", real=True)
    P = sp.Matrix(3, 3, lambda i, j: sum(sp.LeviCivita(i, j, k) * x[k] for k in range(3)))
    return x, P


def poisson_brackets() -> Derivation:
    """Poisson brackets and Hamilton's equations from a symplectic form, machine-checked."""
    q, p, t = sp.symbols("q p t", real=True)
    x = (q, p)
    d = Derivation("poisson-brackets", "Poisson brackets from a symplectic form",
                   summary=r"A closed nondegenerate 2-form $\Omega_{ij} = \omega(\partial_i, \partial_j)$ defines the Poisson "
                           r"tensor $P = \Omega^{-1}$, the bracket $\{f, g\} = \nabla f^{\top} P\,\nabla g$ and "
                           r"Hamilton's equations $\dot x = P\nabla H$ ($\dot f = \{f, H\}$). Checked here: the "
                           r"canonical bracket $\{q, p\} = 1$, $\dot q = p$, $\dot p = -V'(q)$, energy conservation, "
                           r"a non-canonical 2-D form $f\,dp \wedge dq$ with $\{q, p\} = 1/f$, the Leibniz rule, and "
                           r"the Jacobi identity in 4-D and on $\mathfrak{so}(3)^*$.")
    d.references.append("V. I. Arnold, Mathematical Methods of Classical Mechanics, 2nd ed., Springer 1989, §§37-40")
    d.references.append("J. E. Marsden, T. S. Ratiu, Introduction to Mechanics and Symmetry, 2nd ed., Springer 1999, "
                        "§§2.4-2.7, 5.1, 10.1")
    omega = TwoForm.from_one_form(x, [p, 0]).matrix
    d.equal(sp.Matrix(omega), sp.Matrix([[0, -1], [1, 0]]),
            r"$\omega = d(p\,dq) = dp \wedge dq$ in $(q, p)$, with $(d\alpha)_{ij} = \partial_i\alpha_j - "
            r"\partial_j\alpha_i$ (Arnold's convention)",
            display=r"\big(\omega(\partial_i, \partial_j)\big)_{ij}")
    d.given(sp.Symbol(r"\{f, g\}"), sp.Symbol(r"\nabla f^{\top} P\, \nabla g"),
            r"definition: the Poisson tensor is $P = \Omega^{-1}$; Hamilton's equations are $\dot x = P\nabla H$, "
            r"$\dot f = \{f, H\}$")
    P = TwoForm(x, omega).poisson_tensor()
    d.equal(P, sp.Matrix([[0, 1], [-1, 0]]), r"the inverse of the $2 \times 2$ rotation matrix $\Omega$ is its transpose", display=r"\Omega^{-1}")
    d.equal(bracket(P, x, q, p), 1, r"the $(q, p)$ entry of $P$: the canonical bracket", display=r"\{q, p\}")
    V = sp.Function("V")
    H = p**2 / 2 + V(q)
    rhs = hamilton_equations(P, x, H)
    d.equal(rhs, sp.Matrix([p, -sp.diff(V(q), q)]), r"Hamilton's equations for $H = p^2/2 + V(q)$: $\dot q = \partial H/\partial p$, "
            r"$\dot p = -\partial H/\partial q$", display=r"(\{q, H\}, \{p, H\})")
    Hg = sp.Function("H")(q, p)
    d.equal(bracket(P, x, Hg, Hg), 0, r"along the flow $\dot H = \{H, H\} = H_q H_p - H_p H_q = 0$ for any $H$, by the antisymmetry of $P$: "
            "energy is conserved",
            display=r"\{H, H\}")
    Hosc = (p**2 + q**2) / 2
    d.equal(sp.Matrix([sp.diff(sp.cos(t), t), sp.diff(-sp.sin(t), t)]),
            hamilton_equations(P, x, Hosc).subs({q: sp.cos(t), p: -sp.sin(t)}),
            r"for the oscillator $H = (p^2 + q^2)/2$, $(q, p) = (\cos t, -\sin t)$ solves $\dot q = p$, $\dot p = -q$",
            display=r"\tfrac{d}{dt}(\cos t, -\sin t)")
    a, b = sp.Function("a")(q, p), sp.Function("b")(q, p)
    gen = TwoForm.from_one_form(x, [a, b]).matrix
    d.equal(sp.Matrix(gen), (sp.diff(a, p) - sp.diff(b, q)) * sp.Matrix(omega),
            r"for any 1-form $a\,dq + b\,dp$ in 2-D, $d\alpha = (\partial_p a - \partial_q b)\,dp \wedge dq$, a "
            "scalar times the canonical form (and every 2-form in 2-D is closed)", display=r"d(a\,dq + b\,dp)")
    f = sp.Function("f", positive=True)(q, p)
    Pf = TwoForm(x, f * omega).poisson_tensor()
    d.given(f, 0, r"take $\Omega_f = f\,\Omega$ with $f(q, p) > 0$ smooth: closed (in 2-D) and nondegenerate", relation=">")
    d.equal(sp.Matrix(f * omega).det(), f**2, r"the determinant scales by $f^2$: $\det\Omega_f = f^2 > 0$", display=r"\det \Omega_f")
    d.equal(bracket(Pf, x, q, p), 1 / f, r"$P_f = \Omega_f^{-1} = P/f$, so every bracket is divided by $f$", display=r"\{q, p\}_f")
    d.equal(hamilton_equations(Pf, x, Hg), sp.Matrix([sp.diff(Hg, p), -sp.diff(Hg, q)]) / f,
            r"Hamilton's equations for $\Omega_f$: with $P_f = P/f$, the canonical vector field divided by $f$ (same "
            "orbits, time rescaled)",
            display=r"(\dot q, \dot p)_f")
    g, h = sp.Function("g")(q, p), sp.Function("h")(q, p)
    d.equal(leibniz(P, x, f, g, h), 0, r"the bracket is a first-order derivation in each slot (product rule), so the Leibniz rule holds for generic "
            r"smooth $f$, $g$, $h$",
            display=r"\{f, gh\} - \{f, g\}h - g\{f, h\}")
    two = canonical(2)
    d.equal(sp.Matrix(list(jacobi(two.poisson_tensor(), two.coords).values())), sp.zeros(4, 1),
            r"the Jacobi identity for the canonical structure in $(q_1, q_2, p_1, p_2)$: with constant $P$ all four "
            "cyclic sums vanish",
            display=r"\big(J_{ijk}\big)_{i<j<k}")
    B = sp.Function("B")(*two.coords[:2])
    m = sp.Matrix(two.matrix)
    m[0, 1], m[1, 0] = B, -B
    mag = TwoForm(two.coords, m)
    d.equal(sp.Matrix(list(mag.exterior_derivative().values())), sp.zeros(4, 1),
            r"a magnetic term $B(q_1, q_2)\,dq_1 \wedge dq_2$ depends only on $q_1$, $q_2$, so the form stays closed", display=r"d\omega_B")
    d.equal(sp.Matrix(list(jacobi(mag.poisson_tensor(), mag.coords).values())), sp.zeros(4, 1),
            r"a closed nondegenerate form gives a Poisson tensor satisfying the Jacobi identity", display=r"\big(J_{ijk}\big)_B")
    xs, Pso3 = lie_poisson_so3()
    d.equal(jacobi(Pso3, xs)[(0, 1, 2)], 0, r"the Jacobi identity for the Lie-Poisson structure of $\mathfrak{so}(3)^*$, "
            r"$\{x_i, x_j\} = \epsilon_{ijk} x_k$, from that of the cross product", display=r"J_{123}^{\mathfrak{so}(3)^*}")
    d.result("poisson_tensor_canonical", P, label="P")
    d.result("hamilton_equations", rhs, label=r"(\dot q, \dot p)")
    d.result("bracket_qp_scaled", 1 / f, label=r"\{q, p\}_f")
    return d
