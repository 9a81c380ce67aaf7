"""A linear RNN agent in closed loop with a linear environment: the joint system matrix, its reduction
to four order parameters, and the characteristic polynomial (derivation "closed-loop-rnn").

Setup of Y. Ger and O. Barak, "Learning Dynamics of RNNs in Closed-Loop Environments", arXiv:2505.13567
(2025).  The paper's own equations could not be read through our search tool; the model is taken from
the authors' public code (github.com/yoavger/closed_loop_rnn_learning_dynamics, code/utils.py:
``create_p_matrix_from_low_rank`` gives the joint matrix, ``P_Model_eff`` the 4 x 4 reduced matrix with
entries z.m, z.U, V.m, V.U) and from secondary summaries of the paper (double integrator, position
observed only, rank-one recurrence).  Everything below is derived and checked here, not copied:

* environment x = (p, v): x_{t+1} = A x_t + B u_t, A = [[1, 1], [0, 1]], B = (0, 1)^T, y = C x, C = (1, 0);
* agent: h_{t+1} = U V^T h_t + m y_{t+1}, u_t = z^T h_t;
* joint matrix M = [[A, B z^T], [m C A, m C B z^T + U V^T]] = E K with E = diag(I_2, [m U]) and
  K = [[A, B z^T], [C A, C B z^T], [0, V^T]]; Sylvester's identity det(lam I - EK) = lam^{N-2} det(lam I - KE)
  (N the number of hidden units) puts every non-zero eigenvalue of M into the 4 x 4 matrix K E, whose
  entries are the order parameters sigma_zm = z.m, sigma_zU = z.U, sigma_Vm = V.m, sigma_VU = V.U;
* det(lam I - KE) = lam [(lam - 1)^2 (lam - sigma_VU) - sigma_zm (lam - sigma_VU) - sigma_zU sigma_Vm],
  the loop equation 1 = P(lam) G(lam) of the plant P = 1/(lam - 1)^2 and the agent's transfer function
  G = sigma_zm + sigma_zU sigma_Vm / (lam - sigma_VU): the spectrum depends on the three combinations
  (sigma_zm, sigma_zU sigma_Vm, sigma_VU) only;
* actions disconnected (B z^T -> 0: the agent's actions never reach the environment) the matrix is block
  triangular with eigenvalues 1, 1 (the uncontrolled double integrator), sigma_VU and zeros (the agent's own
  recurrence).  This is not the teacher-forced system: under teacher forcing the environment is driven by
  the teacher and has the teacher's closed-loop eigenvalues; the step only shows what the student's own
  dynamics are when its actions do not act;
* memoryless feedback (sigma_zU sigma_Vm = 0) cannot stabilize: the roots 1 +- sqrt(sigma_zm) have
  |lam|^2 = 1 - sigma_zm > 1 for sigma_zm < 0 and lam = 1 + sqrt(sigma_zm) >= 1 otherwise;
* memory without position feedback (sigma_zm = 0, g = sigma_zU sigma_Vm) cannot stabilize either: the cubic
  (lam - 1)^2 (lam - sigma_VU) - g has q(1) = -g < 0 for g > 0 (a real root above 1), and for g < 0,
  sigma_VU < 2 the Jury quantity 1 - a_0^2 + a_0 a_2 - a_1 = g (2 - sigma_VU - g) is negative, so the
  spectral radius is >= 1 for every g (Jury's criterion, given).  To first order, with w = 1 - sigma_VU > 0
  and delta^2 = |g| / w, the double root 1 splits into 1 + sqrt(g / w) (g > 0) or a complex pair with
  |lam|^2 = 1 + delta^2 (1 + 1/w) + O(delta^4) (g < 0): strictly outside the unit circle.
The identities for general N follow from Sylvester's identity (given); the explicit determinant step is
proved for generic symbolic vectors at N = 3.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation

LAM = sp.Symbol("lambda")
S_ZM, S_ZU, S_VM, S_VU = sp.symbols("sigma_zm sigma_zU sigma_Vm sigma_VU", real=True)
ORDER_PARAMETERS = (S_ZM, S_ZU, S_VM, S_VU)
A_ENV = sp.Matrix([[1, 1], [0, 1]])
B_ENV = sp.Matrix([0, 1])
C_ENV = sp.Matrix([[1, 0]])


def reduced_matrix() -> sp.Matrix:
    """K E on (p, v, kappa_m, kappa_U), h = kappa_m m + kappa_U U: rows p' = p + v,
    v' = v + sigma_zm kappa_m + sigma_zU kappa_U, kappa_m' = p + v, kappa_U' = sigma_Vm kappa_m + sigma_VU kappa_U."""
    return sp.Matrix([[1, 1, 0, 0], [0, 1, S_ZM, S_ZU], [1, 1, 0, 0], [0, 0, S_VM, S_VU]])


def joint_matrix(m, z, U, V) -> sp.Matrix:
    """M = [[A, B z^T], [m C A, m (C B) z^T + U V^T]] for column vectors m, z, U, V."""
    m, z, U, V = (sp.Matrix(w) for w in (m, z, U, V))
    top = A_ENV.row_join(B_ENV * z.T)
    bottom = (m * C_ENV * A_ENV).row_join(m * (C_ENV * B_ENV) * z.T + U * V.T)
    return top.col_join(bottom)


def closed_loop_rnn() -> Derivation:
    """Joint agent-environment matrix, its 4 x 4 reduction in the order parameters, and the char poly."""
    n = 3
    m, z, U, V = (sp.Matrix(sp.symbols(f"{c}_1:{n + 1}", real=True)) for c in ("m", "z", "U", "V"))
    d = Derivation("closed-loop-rnn", "A linear RNN in closed loop with a double integrator: the joint matrix "
                   "and its four order parameters",
                   summary=r"The joint state $(x, h)$ of environment and agent evolves by one matrix $M$. With rank-one "
                           r"recurrence $UV^{\top}$, $M = EK$ factors through a 4-dimensional space, so its non-zero "
                           r"eigenvalues are those of the $4 \times 4$ matrix $KE$ whose entries are the overlaps "
                           r"$z^{\top}m$, $z^{\top}U$, $V^{\top}m$, $V^{\top}U$. Its characteristic polynomial is the "
                           "loop equation $1 = PG$ of the double integrator and the agent's transfer function. With "
                           "the actions disconnected the environment's eigenvalues stay at 1, 1; neither memoryless "
                           "feedback alone nor memory alone (position gain 0, as at initialization) can stabilize. "
                           "General $N$ via Sylvester's identity; the determinant identity is proved for generic "
                           "vectors at $N = 3$.")
    d.references.append("Y. Ger, O. Barak, Learning Dynamics of RNNs in Closed-Loop Environments, arXiv:2505.13567 "
                        "(2025); model as in the authors' code (`create_p_matrix_from_low_rank`, `P_Model_eff`)")
    d.references.append(r"J. J. Sylvester (1851); the Weinstein-Aronszajn identity $\det(I + AB) = \det(I + BA)$")
    d.references.append("E. I. Jury, Theory and Application of the z-Transform Method (Wiley, 1964): stability "
                        "conditions for a real cubic")
    p, v, u = sp.symbols("p_t v_t u_t", real=True)
    x = sp.Matrix([p, v])
    d.given(sp.Matrix([sp.Symbol("p_{t+1}"), sp.Symbol("v_{t+1}")]), A_ENV * x + B_ENV * u,
            r"the environment is a discrete double integrator $x_{t+1} = Ax_t + Bu_t$; the agent observes only the "
            "position, $y = Cx = p$")
    h = sp.Matrix(sp.symbols(f"h_1:{n + 1}", real=True))
    d.given(sp.Symbol("h_{t+1}"), sp.Symbol(r"U V^\top h_t + m\, y_{t+1}"),
            r"the agent is a linear RNN with rank-one recurrence $W = UV^{\top}$ and input vector $m$; its action is "
            r"$u_t = z^{\top}h_t$")
    M = joint_matrix(m, z, U, V)
    x_next = A_ENV * x + B_ENV * (z.T * h)[0]
    h_next = U * (V.T * h)[0] + m * (C_ENV * x_next)[0]
    d.equal(M * x.col_join(h), x_next.col_join(h_next),
            r"one step of the joint system: the agent sees $y_{t+1} = C(Ax_t + Bz^{\top}h_t)$, so "
            r"$M = \begin{pmatrix} A & Bz^{\top} \\ mCA & mCBz^{\top} + UV^{\top} \end{pmatrix}$ (shown for $N = 3$)",
            display=r"M \begin{pmatrix} x_t \\ h_t \end{pmatrix}")
    E = sp.diag(sp.eye(2), m.row_join(U))
    K = sp.Matrix.vstack(A_ENV.row_join(B_ENV * z.T), (C_ENV * A_ENV).row_join(C_ENV * B_ENV * z.T),
                         sp.zeros(1, 2).row_join(V.T))
    d.equal(M, E * K, r"the block product: $M = EK$ with $E = \operatorname{diag}(I_2, [m\ U])$ of size $(N+2) \times 4$ and "
            r"$K = \begin{pmatrix} A & Bz^{\top} \\ CA & CBz^{\top} \\ 0 & V^{\top} \end{pmatrix}$ of size "
            r"$4 \times (N+2)$", display="M")
    overlaps = {S_ZM: (z.T * m)[0], S_ZU: (z.T * U)[0], S_VM: (V.T * m)[0], S_VU: (V.T * U)[0]}
    d.given(sp.Matrix(ORDER_PARAMETERS), sp.Matrix([sp.Symbol(r"z^\top m"), sp.Symbol(r"z^\top U"),
                                                     sp.Symbol(r"V^\top m"), sp.Symbol(r"V^\top U")]),
            "the order parameters, defined as the overlaps of the readout and recurrent vectors")
    Mr = reduced_matrix()
    d.equal(K * E, Mr.subs(overlaps), r"the block product, with $CB = 0$ and $CA = (1, 1)$: $KE$ is $4 \times 4$ with the overlaps as entries, "
            r"the reduced matrix on $(p, v, \kappa_m, \kappa_U)$ where $h = \kappa_m m + \kappa_U U$", display="K E")
    d.equal((K * E).subs({o: name for name, o in overlaps.items()}), Mr,
            "the same matrix with each overlap written by its name: the reduced matrix in the order parameters",
            display=r"K E\,\big|_{\sigma}")
    d.given(sp.Symbol(r"\det(\lambda I_{N+2} - E K)"), sp.Symbol(r"\lambda^{N-2} \det(\lambda I_4 - K E)"),
            r"Sylvester's determinant identity for $E$ of size $(N+2) \times 4$ and $K$ of size $4 \times (N+2)$ (a "
            r"theorem, given): for every $N$ the non-zero eigenvalues of $M$ and of $KE$ coincide, repeated roots "
            "included")
    lhs_det = (LAM * sp.eye(n + 2) - M).det(method="berkowitz")
    red_det = (LAM * sp.eye(4) - Mr).det(method="berkowitz")
    d.equal(lhs_det, LAM ** (n - 2) * red_det.subs(overlaps),
            "Sylvester's identity checked explicitly for generic symbolic $m$, $z$, $U$, $V$ at $N = 3$", display=r"\det(\lambda I_5 - M)")
    q = (LAM - 1) ** 2 * (LAM - S_VU) - S_ZM * (LAM - S_VU) - S_ZU * S_VM
    d.equal(red_det, LAM * q, r"expand the $4 \times 4$ determinant: one eigenvalue is always 0 (the rows $p'$ and $\kappa_m'$ coincide), "
            "and three solve the cubic", display=r"\det(\lambda I_4 - K E)")
    c3, c2, c1 = -(2 + S_VU), 1 + 2 * S_VU - S_ZM, S_ZM * S_VU - S_VU - S_ZU * S_VM
    d.then(LAM**4 + c3 * LAM**3 + c2 * LAM**2 + c1 * LAM, r"collect the powers of $\lambda$: coefficients in the order parameters")
    coef = sp.symbols("a_4 a_3 a_2 a_1 a_0")
    d.solution([sp.Eq(a, ck) for a, ck in zip(coef, sp.Poly(red_det, LAM).all_coeffs())], coef,
               [sp.Integer(1), c3, c2, c1, sp.Integer(0)],
               r"read off the coefficients $a_k$ of $\lambda^k$ in $\det(\lambda I_4 - KE)$, from $\lambda^4$ down")
    d.equal(sp.cancel(red_det / LAM), sp.expand(q), r"divide out the factor $\lambda$ of the zero eigenvalue: the cubic",
            display=r"\det(\lambda I_4 - K E)/\lambda")
    P = (C_ENV * (LAM * sp.eye(2) - A_ENV).inv() * B_ENV)[0]
    d.equal(P, 1 / (LAM - 1) ** 2, r"invert the triangular $2 \times 2$ matrix $\lambda I - A$: the plant's transfer function from $u$ to $y$",
            display=r"C(\lambda I - A)^{-1} B")
    W = U * V.T
    sm_inv = (sp.eye(n) + W / (LAM - S_VU)) / LAM
    d.equal(((LAM * sp.eye(n) - W) * sm_inv).subs(S_VU, overlaps[S_VU]), sp.eye(n),
            r"the Sherman-Morrison formula: $(\lambda I - UV^{\top})^{-1} = \bigl(I + UV^{\top}/(\lambda - \sigma_{VU})\bigr)/\lambda$",
            display=r"(\lambda I - U V^\top)\,\frac{1}{\lambda}\Big(I + \frac{U V^\top}{\lambda - \sigma_{VU}}\Big)")
    G = S_ZM + S_ZU * S_VM / (LAM - S_VU)
    d.equal((LAM * z.T * sm_inv * m)[0].subs(S_VU, overlaps[S_VU]), G.subs(overlaps),
            r"by Sherman-Morrison, the agent's transfer function from $y$ to $u$ (the action $u_t$ includes $y_t$: "
            r"$h_t = Wh_{t-1} + my_t$)",
            display=r"\lambda z^\top(\lambda I - U V^\top)^{-1} m")
    d.equal(LAM * (LAM - 1) ** 2 * (LAM - S_VU) * (1 - P * G), red_det,
            r"the characteristic polynomial is the loop equation $1 = P(\lambda)G(\lambda)$ times the poles of $P$ and "
            r"$G$ and $\lambda$, so it depends on $\sigma_{zm}$, $\sigma_{zU}\sigma_{Vm}$ and $\sigma_{VU}$ only",
            display=r"\lambda (\lambda-1)^2 (\lambda - \sigma_{VU}) (1 - P G)")
    M_off = A_ENV.row_join(sp.zeros(2, n)).col_join((m * C_ENV * A_ENV).row_join(W))
    d.equal((LAM * sp.eye(n + 2) - M_off).det(method="berkowitz"),
            ((LAM - 1) ** 2 * LAM ** (n - 1) * (LAM - S_VU)).subs(overlaps),
            r"with the actions disconnected ($Bz^{\top} \to 0$) the matrix is block triangular: the plant's 1, 1 and the "
            r"agent's own $\sigma_{VU}$ and zeros ($N = 3$); this is not the teacher-forced system, whose environment "
            "follows the teacher",
            display=r"\det(\lambda I_5 - M_{B z^\top \to 0})")
    d.equal(sp.Subs(q, (S_ZM, S_ZU), (0, 0)), (LAM - 1) ** 2 * (LAM - S_VU),
            r"the same three from the cubic: with the actions disconnected ($z \to 0$), $\sigma_{zm} = \sigma_{zU} = 0$",
            display=r"q(\lambda)\big|_{z = 0}")
    kappa = sp.Symbol("kappa", positive=True)
    d.solution(sp.Eq((LAM - 1) ** 2 - S_ZM, 0), LAM, 1 + sp.sqrt(S_ZM),
               r"with $\sigma_{zU}\sigma_{Vm} = 0$ the cubic is $(\lambda - \sigma_{VU})((\lambda - 1)^2 - \sigma_{zm})$; "
               r"for $\sigma_{zm} \ge 0$ this root is at least 1")
    d.equal((1 + sp.I * sp.sqrt(kappa)) * (1 - sp.I * sp.sqrt(kappa)), 1 + kappa,
            r"for $\sigma_{zm} = -\kappa < 0$ the roots $1 \pm i\sqrt{\kappa}$ have modulus above 1: memoryless "
            "feedback never stabilizes",
            display=r"|1 + i\sqrt{\kappa}|^2")
    d.equal((1 + sp.I * sp.sqrt(-S_ZM)) * (1 - sp.I * sp.sqrt(-S_ZM)), 1 - S_ZM,
            r"the same in terms of $\sigma_{zm} \le 0$: $|\lambda|^2 = 1 - \sigma_{zm}$", display=r"|1 + i\sqrt{-\sigma_{zm}}|^2")
    jury, mod_sq = _memory_only(d, q)
    d.result("reduced_matrix", Mr, label="KE")
    d.result("char_poly", sp.expand(red_det), label=r"\det(\lambda I_4 - KE)")
    d.result("char_poly_coeffs", [sp.Integer(1), c3, c2, c1, sp.Integer(0)], label="(a_4, a_3, a_2, a_1, a_0)")
    d.result("cubic", sp.expand(q), label=r"q(\lambda)")
    d.result("plant_transfer", 1 / (LAM - 1) ** 2, label=r"P(\lambda)")
    d.result("agent_transfer", G, label=r"G(\lambda)")
    d.result("disconnected_char_poly_reduced", (LAM - 1) ** 2 * (LAM - S_VU), label=r"q(\lambda)\big|_{z = 0}")
    d.result("memoryless_modulus_sq_negative_gain", 1 - S_ZM,  # valid for sigma_zm <= 0 only
             label=r"|\lambda|^2\big|_{\sigma_{zU}\sigma_{Vm} = 0,\ \sigma_{zm} \le 0}")
    d.result("memory_only_jury", jury,  # < 0 (not Schur stable) for g < 0, sigma_VU < 2
             label=r"\bigl(1 - a_0^2 + a_0 a_2 - a_1\bigr)\big|_{\sigma_{zm} = 0}")
    d.result("memory_only_modulus_sq_first_order", mod_sq,  # g < 0, sigma_VU < 1; error O(g^2)
             label=r"|\lambda|^2\big|_{\sigma_{zm} = 0,\ g < 0}")
    d.result("memory_only_real_root_first_order", memory_only_real_root(S_ZU * S_VM, S_VU),  # g > 0, sigma_VU < 1
             label=r"\lambda_{\mathrm{real}}\big|_{\sigma_{zm} = 0,\ g > 0}")
    return d


def _memory_only(d: Derivation, q: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Steps for sigma_zm = 0 (memory without position feedback, g = sigma_zU sigma_Vm): spectral radius >= 1
    for every g (Jury), and to first order in g the double root 1 leaves the unit disc.  Returns the Jury
    quantity g (2 - sigma_VU - g) and the first-order |lambda|^2 = 1 + (|g| / w)(1 + 1/w), w = 1 - sigma_VU,
    both in the order parameters."""
    g = sp.Symbol("g", real=True)
    kap, w2 = sp.symbols("kappa_g omega", positive=True)
    w, s, eta, delta = sp.symbols("w s eta delta", positive=True)
    a2, a1, a0 = -(2 + S_VU), 1 + 2 * S_VU, -(S_VU + g)
    d.given(g, S_ZU * S_VM, r"the memory gain $g$, the loop's only feedback when the position gain $\sigma_{zm}$ is 0")
    d.equal(sp.expand(q.subs(S_ZM, 0)), (LAM**3 + a2 * LAM**2 + a1 * LAM + a0).subs(g, S_ZU * S_VM),
            r"set $\sigma_{zm} = 0$ (the initialization) in the cubic: $(\lambda - 1)^2(\lambda - \sigma_{VU}) - g$",
            display=r"q(\lambda)\big|_{\sigma_{zm} = 0}")
    d.given(r"\text{all roots in } |\lambda| < 1",
            r"q(1) > 0,\; q(-1) < 0,\; |a_0| < 1,\; 1 - a_0^2 > |a_0 a_2 - a_1|",
            r"Jury's criterion (Schur-Cohn) for a real monic cubic: if one condition fails, the spectral radius is "
            r"$\rho \ge 1$")
    q0 = LAM**3 + a2 * LAM**2 + a1 * LAM + a0
    d.equal(q0.subs(LAM, 1), -g, r"for $g > 0$, $q(1) < 0$ while $q \to +\infty$: by the intermediate value theorem a real root lies above 1",
            display=r"q(1)")
    jury = 1 - a0**2 + a0 * a2 - a1
    d.equal(jury, g * (2 - S_VU - g), "the last Jury condition needs this quantity to be positive",
            display=r"1 - a_0^2 + a_0 a_2 - a_1")
    d.equal(-(g * (2 - S_VU - g)).subs({g: -kap, S_VU: 2 - w2}), kap * (w2 + kap),
            r"substitute $g = -\kappa_g < 0$ and $\sigma_{VU} = 2 - \omega < 2$", display=r"-g(2 - \sigma_{VU} - g)")
    d.positive(kap * (w2 + kap), r"a product of positive factors, so the Jury condition fails; and $g = 0$ has roots 1, 1, $\sigma_{VU}$: at "
               r"$\sigma_{zm} = 0$, $\rho \ge 1$ for every $g$",
               display=r"\kappa_g(\omega + \kappa_g)")
    F = eta**2 * (w + s * eta) - w
    d.equal(q0.subs({LAM: 1 + s * eta, g: w * s**2, S_VU: 1 - w}), s**2 * F,
            r"substitute $\sigma_{VU} = 1 - w$, $g = ws^2$ ($s$ imaginary if $g < 0$) and $\lambda = 1 + s\eta$ into the cubic",
            display=r"q(1 + s\eta)")
    d.given(r"\eta(s)", r"\text{analytic near } s = 0,\ \eta(0) = \pm 1",
            r"the implicit function theorem: at $s = 0$, $F = w(\eta^2 - 1)$ has the simple roots $\pm 1$")
    d.equal(F.subs(eta, 1 - s / (2 * w)), -s**2 * (s**2 - 6 * s * w + 10 * w**2) / (8 * w**3),
            r"the residual is $O(s^2)$ and $\partial F/\partial\eta = 2w$, so $\eta(s) = 1 - s/(2w) + O(s^2)$",
            display=r"F\big(1 - \tfrac{s}{2w}\big)")
    lam_c = 1 + sp.I * delta + delta**2 / (2 * w)
    d.equal(sp.expand(lam_c * sp.conjugate(lam_c)), 1 + delta**2 * (1 + 1 / w) + delta**4 / (4 * w**2),
            r"for $g < 0$, $s = i\delta$ with $\delta^2 = |g|/w$; the $\delta^3$ term is imaginary, so $|\lambda|^2 - 1 > 0$ "
            r"at order $\delta^2$",
            display=r"\big|1 + i\delta + \tfrac{\delta^2}{2w}\big|^2")
    dsq = -S_ZU * S_VM / (1 - S_VU)
    jury_sigma, mod_sq = (g * (2 - S_VU - g)).subs(g, S_ZU * S_VM), 1 + dsq * (1 + 1 / (1 - S_VU))
    d.equal(jury.subs(g, S_ZU * S_VM), jury_sigma, r"the Jury quantity in the order parameters, with $g = \sigma_{zU}\sigma_{Vm}$",
            display=r"1 - a_0^2 + a_0 a_2 - a_1\,\big|_{g = \sigma_{zU}\sigma_{Vm}}")
    d.equal(sp.Subs(sp.expand(lam_c * sp.conjugate(lam_c)) - delta**4 / (4 * w**2), (delta, w),
                    (sp.sqrt(dsq), 1 - S_VU)), mod_sq,
            r"to first order (dropping the $\delta^4$ term, $O(g^2)$), in the order parameters: $\delta^2 = |g|/w = -g/w$",
            display=r"|\lambda|^2 - \tfrac{\delta^4}{4w^2}")
    d.equal(sp.Subs(1 + s * (1 - s / (2 * w)), (s, w), (sp.sqrt(S_ZU * S_VM / (1 - S_VU)), 1 - S_VU)),
            memory_only_real_root(S_ZU * S_VM, S_VU),
            r"for $g > 0$ the real root is $1 + s\eta(s)$ with $\eta = 1 - s/(2w)$, to first order (error $O(s^3)$), in "
            r"the order parameters: $s = \sqrt{g/w}$", display=r"1 + s\,\eta(s)")
    return jury_sigma, mod_sq


def memory_only_real_root(sigma_zU_sigma_Vm: sp.Expr, sigma_VU: sp.Expr) -> sp.Expr:
    """g = sigma_zU sigma_Vm > 0, sigma_VU < 1: the real root 1 + s eta(s) = 1 + s - s^2 / (2w) + O(s^3),
    s = sqrt(g / w), w = 1 - sigma_VU (from the steps of closed_loop_rnn: eta = 1 - s/(2w) + O(s^2))."""
    w = 1 - sigma_VU
    s = sp.sqrt(sigma_zU_sigma_Vm / w)
    return 1 + s - s**2 / (2 * w)
