"""A linear RNN agent controlling a linear environment, trained closed-loop or open-loop (NumPy).

Setup of Y. Ger and O. Barak, "Learning Dynamics of RNNs in Closed-Loop Environments",
arXiv:2505.13567 (2025), as far as we could confirm it: the paper's equations were not readable
through our search tool, so the model below follows the authors' public code
(github.com/yoavger/closed_loop_rnn_learning_dynamics, code/utils.py: ``create_p_matrix_from_low_rank``,
``P_Model_eff``, ``loss_function``, the teacher-forced branch of ``P_Model.forward``) and secondary
summaries of the paper.  Time step dt = tau = 1 as in the authors' theory code.

Environment (discrete double integrator, position observed only)::

    x_{t+1} = A x_t + B u_t,   y_t = C x_t,   A = [[1, 1], [0, 1]],  B = (0, 1)^T,  C = (1, 0)

Agent (linear RNN, rank-one recurrence, fixed input vector m, trained z, U, V)::

    h_{t+1} = W h_t + m y_{t+1},   W = U V^T,   u_t = z^T h_t,   h_0 = 0

Closed loop, joint state s = (x, h):  s_{t+1} = M s_t with

    M = [[A, B z^T], [m C A, m C B z^T + U V^T]]      (C B = 0 for the double integrator)

Closed-loop loss (no regularizer: beta = 0, the default of the authors' ``train_model_p``; their
``train_rnn`` defaults to reg_U = 1 instead; target x* = 0)::

    L_cl = (1 / (2T)) sum_{t<T} E |x_t|^2,    x_0 ~ U(-2, 2)^2, h_0 = 0

Every loss here is a mean over the batch of starts x_0 (columns).  The expectation is exact for the
default batch: the loss is quadratic in x_0, so any B columns c_b with (1/B) sum_b c_b c_b^T = Sigma_0
(the covariance 4/3 I of U(-2, 2)^2) give E exactly; X0_COLUMNS = sqrt(8/3) I (B = 2) replaces the
authors' Monte-Carlo batch.

Open loop (teacher forcing, our reading of the authors' ``P_Model.forward`` with a teacher): a fixed
teacher agent controls the environment; the student sees the teacher's observations y*_t and is
trained to reproduce the teacher's actions u*_t, its own actions never reach the environment::

    h_{t+1} = W h_t + m y*_{t+1},   L_ol = (1 / T) sum_{t<T} E (z^T h_t - u*_t)^2

Gradients are backpropagation through time written by hand (adjoint recursions in the docstrings);
training is plain full-batch gradient descent.  Order parameters (overlaps)::

    s_zm = z.m,  s_zU = z.U,  s_Vm = V.m,  s_VU = V.U
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

A_ENV = np.array([[1.0, 1.0], [0.0, 1.0]])
B_ENV = np.array([0.0, 1.0])
C_ENV = np.array([1.0, 0.0])
#: two starts c_1, c_2 (columns) whose second moment (c_1 c_1^T + c_2 c_2^T) / 2 = (4/3) I is that of
#: x_0 ~ U(-2, 2)^2 (variance 16/12 per coordinate)
X0_COLUMNS = np.sqrt(8.0 / 3.0) * np.eye(2)
#: default horizon T (time steps per episode)
HORIZON = 50
ORDER_PARAMETERS = ("s_zm", "s_zU", "s_Vm", "s_VU")


@dataclass(frozen=True)
class Agent:
    """Linear RNN agent: input vector m (fixed), readout z, rank-one recurrence W = U V^T."""

    m: np.ndarray
    z: np.ndarray
    U: np.ndarray
    V: np.ndarray

    def __post_init__(self):
        shapes = {k: np.shape(getattr(self, k)) for k in ("m", "z", "U", "V")}
        n = shapes["m"]
        if len(n) != 1 or n[0] < 2 or any(s != n for s in shapes.values()):
            raise ValueError(f"m, z, U, V must be 1-D arrays of one length N >= 2, got shapes {shapes}")

    @property
    def N(self) -> int:
        return int(np.shape(self.m)[0])

    def params(self) -> np.ndarray:
        """The trained parameters theta = (z, U, V) as one vector of length 3N."""
        return np.concatenate([self.z, self.U, self.V]).astype(float)

    def with_params(self, theta) -> "Agent":
        """A copy with theta = (z, U, V) replaced (m unchanged)."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (3 * self.N,):
            raise ValueError(f"theta must have shape ({3 * self.N},) = (z, U, V), got {theta.shape}")
        n = self.N
        return Agent(self.m, theta[:n].copy(), theta[n:2 * n].copy(), theta[2 * n:].copy())


def init_agent(N: int = 20, seed: int = 0, s_zm0: float | None = 0.0) -> Agent:
    """Random agent at the scale of the authors' code: m, z ~ U(-1/sqrt N, 1/sqrt N), U, V ~ N(0, 1/N).

    With ``s_zm0`` (default 0) only the component of z along m is changed, so that z.m = s_zm0 exactly;
    the random part of z perpendicular to m is kept.  This differs from the authors' option ``over``
    (as described to us, not re-read here: z = over m/|m|^2 plus a perpendicular part of norm
    0.1 |over m/|m|^2|, so over = 0 gives z = 0).  With s_zm0 = 0 the agent starts without the
    memoryless position feedback, next to the uncontrolled double integrator (derivation
    closed-loop-rnn: at sigma_zm = 0 the spectral radius is >= 1).
    ``s_zm0=None`` keeps the raw random z.
    """
    if int(N) != N or N < 2:
        raise ValueError(f"N must be an integer >= 2, got {N}")
    rng = np.random.default_rng(seed)
    a = 1.0 / np.sqrt(N)
    m, z = rng.uniform(-a, a, N), rng.uniform(-a, a, N)
    if s_zm0 is not None:
        z = z + (float(s_zm0) - z @ m) / (m @ m) * m
    return Agent(m, z, rng.normal(0, a, N), rng.normal(0, a, N))


def order_parameters(agent: Agent) -> dict[str, float]:
    """The four overlaps s_zm = z.m, s_zU = z.U, s_Vm = V.m, s_VU = V.U."""
    m, z, U, V = agent.m, agent.z, agent.U, agent.V
    return {"s_zm": float(z @ m), "s_zU": float(z @ U), "s_Vm": float(V @ m), "s_VU": float(V @ U)}


def closed_loop_matrix(agent: Agent) -> np.ndarray:
    """M = [[A, B z^T], [m C A, m (C B) z^T + U V^T]], size (N + 2) x (N + 2)."""
    n = agent.N
    M = np.zeros((n + 2, n + 2))
    M[:2, :2] = A_ENV
    M[:2, 2:] = np.outer(B_ENV, agent.z)
    M[2:, :2] = np.outer(agent.m, C_ENV @ A_ENV)
    M[2:, 2:] = (C_ENV @ B_ENV) * np.outer(agent.m, agent.z) + np.outer(agent.U, agent.V)
    return M


def _check_horizon(T) -> int:
    if int(T) != T or T < 2:
        raise ValueError(f"horizon T must be an integer >= 2, got {T}")
    return int(T)


def closed_loop_rollout(agent: Agent, T: int = HORIZON, x0=X0_COLUMNS) -> np.ndarray:
    """States s_t = M^t s_0, t = 0..T-1, shape (T, N + 2, batch); s_0 = (x0 columns, h = 0)."""
    T = _check_horizon(T)
    x0 = np.asarray(x0, dtype=float).reshape(2, -1)
    M = closed_loop_matrix(agent)
    S = np.zeros((T, agent.N + 2, x0.shape[1]))
    S[0, :2] = x0
    for t in range(T - 1):
        S[t + 1] = M @ S[t]
    return S


def closed_loop_loss(agent: Agent, T: int = HORIZON, x0=X0_COLUMNS) -> float:
    """L_cl = (1/(2 T B)) sum_t sum_b |x_t^b|^2, the mean over the B starts (columns of x0); for the
    default columns it is the exact expectation over x_0 ~ U(-2, 2)^2."""
    S = closed_loop_rollout(agent, T, x0)
    return float(np.sum(S[:, :2] ** 2) / (2 * S.shape[0] * S.shape[2]))


def closed_loop_grad(agent: Agent, T: int = HORIZON, x0=X0_COLUMNS) -> tuple[float, np.ndarray]:
    """(L_cl, dL_cl/dtheta) by BPTT through agent and environment.

    Adjoint: lam_{T-1} = c P s_{T-1}, lam_t = c P s_t + M^T lam_{t+1} (c = 1/(T B), P projects on x);
    G = sum_{t<T-1} lam_{t+1} s_t^T = dL/dM; then dL/dz = G_xh^T B + (C B) G_hh^T m,
    dL/dU = G_hh V, dL/dV = G_hh^T U.  Gradients flow through the environment.
    """
    S = closed_loop_rollout(agent, T, x0)
    T = S.shape[0]
    M = closed_loop_matrix(agent)
    c = 1.0 / (T * S.shape[2])
    Mt = M.T.copy()
    LAM = np.zeros_like(S)  # LAM[t] = lam_t
    LAM[T - 1, :2] = c * S[T - 1, :2]
    for t in range(T - 2, -1, -1):
        lam = Mt @ LAM[t + 1]
        lam[:2] += c * S[t, :2]
        LAM[t] = lam
    G = np.tensordot(LAM[1:], S[:-1], axes=([0, 2], [0, 2]))  # sum_t lam_{t+1} s_t^T
    loss = float(np.sum(S[:, :2] ** 2) * c / 2)
    return loss, _theta_grad(agent, G[:2, 2:], G[2:, 2:])


def _theta_grad(agent: Agent, G_xh: np.ndarray, G_hh: np.ndarray) -> np.ndarray:
    """Chain rule from the dL/dM blocks to theta = (z, U, V): z enters M as B z^T and m (C B) z^T."""
    gz = G_xh.T @ B_ENV + (C_ENV @ B_ENV) * (G_hh.T @ agent.m)
    return np.concatenate([gz, G_hh @ agent.V, G_hh.T @ agent.U])


def teacher_data(teacher: Agent, T: int = HORIZON, x0=X0_COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's closed-loop run: observations y*_t = C x_t and actions u*_t = z*^T h*_t, shapes (T, batch)."""
    S = closed_loop_rollout(teacher, T, x0)
    return np.einsum("i,tib->tb", C_ENV, S[:, :2]), np.einsum("i,tib->tb", teacher.z, S[:, 2:])


def _check_observations(y) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 1:
        raise ValueError(f"observations y must have shape (T >= 2, batch >= 1), got {y.shape}")
    return y


def _check_targets(y, u_target) -> tuple[np.ndarray, np.ndarray]:
    """Observations y and target actions u* as float arrays of one shape (T >= 2, batch), else ValueError."""
    y, u_target = _check_observations(y), np.asarray(u_target, dtype=float)
    if u_target.shape != y.shape:
        raise ValueError(f"u_target must have the shape of y, {y.shape} = (T, batch), got {u_target.shape}")
    return y, u_target


def open_loop_rollout(agent: Agent, y: np.ndarray) -> np.ndarray:
    """Hidden states driven by given observations: h_0 = 0, h_{t+1} = W h_t + m y_{t+1}; shape (T, N, batch)."""
    y = _check_observations(y)
    W = np.outer(agent.U, agent.V)
    MY = agent.m[None, :, None] * y[:, None, :]  # m y_t, all t at once
    H = np.zeros((y.shape[0], agent.N, y.shape[1]))
    for t in range(y.shape[0] - 1):
        H[t + 1] = W @ H[t] + MY[t + 1]
    return H


def open_loop_loss(agent: Agent, y: np.ndarray, u_target: np.ndarray) -> float:
    """L_ol = (1/(T B)) sum_t sum_b (z^T h_t - u*_t)^2 on the teacher's observations y (mean over the B starts)."""
    y, u_target = _check_targets(y, u_target)
    H = open_loop_rollout(agent, y)
    err = np.einsum("i,tib->tb", agent.z, H) - u_target
    return float(np.sum(err**2) / err.size)


def open_loop_grad(agent: Agent, y: np.ndarray, u_target: np.ndarray) -> tuple[float, np.ndarray]:
    """(L_ol, dL_ol/dtheta) by BPTT through the agent only (the environment is teacher-forced).

    e_t = z^T h_t - u*_t (per start); c = 2/(T B); dL/dz = c sum_t h_t e_t; adjoint mu_{T-1} = c e_{T-1} z,
    mu_t = c e_t z + W^T mu_{t+1}; G = sum_{t<T-1} mu_{t+1} h_t^T = dL/dW; dL/dU = G V, dL/dV = G^T U.
    """
    y, u_target = _check_targets(y, u_target)
    H = open_loop_rollout(agent, y)
    T = H.shape[0]
    err = np.einsum("i,tib->tb", agent.z, H) - u_target
    c = 2.0 / err.size
    Wt = np.outer(agent.V, agent.U)  # W^T
    ZE = c * agent.z[None, :, None] * err[:, None, :]  # c e_t z, all t at once
    MU = np.empty_like(H)  # MU[t] = mu_t
    MU[T - 1] = ZE[T - 1]
    for t in range(T - 2, -1, -1):
        MU[t] = Wt @ MU[t + 1] + ZE[t]
    G = np.tensordot(MU[1:], H[:-1], axes=([0, 2], [0, 2]))  # sum_t mu_{t+1} h_t^T
    gz = c * np.einsum("tib,tb->i", H, err)
    loss = float(np.sum(err**2) / err.size)
    return loss, np.concatenate([gz, G @ agent.V, G.T @ agent.U])


def train(agent: Agent, mode: str, steps: int, lr: float, T: int = HORIZON, teacher: Agent | None = None,
          record_every: int = 1, max_grad_norm: float | None = None) -> dict:
    """Full-batch GD theta <- theta - lr * g on the closed-loop loss (mode "closed") or on the
    teacher-forced imitation loss (mode "open", needs ``teacher``).  With ``max_grad_norm`` (> 0) the
    gradient is rescaled to that norm when longer (as in the authors' code); None means plain GD.
    ``lr`` must be finite and > 0.

    Records every ``record_every`` steps (and the last): step, training loss, the closed-loop loss
    L_cl of the current agent (the common yardstick for both modes), the order parameters,
    the spectral radius and all eigenvalues of M, and theta.
    """
    if mode not in ("closed", "open"):
        raise ValueError(f"mode must be 'closed' or 'open', got {mode!r}")
    if mode == "open" and teacher is None:
        raise ValueError("open-loop training imitates a teacher: pass teacher=Agent(...)")
    if int(steps) != steps or steps < 0 or int(record_every) != record_every or record_every < 1:
        raise ValueError(f"need integer steps >= 0 and integer record_every >= 1; got {steps}, {record_every}")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    if max_grad_norm is not None and not max_grad_norm > 0:
        raise ValueError(f"max_grad_norm must be > 0 (or None for no clipping), got {max_grad_norm}")
    if mode == "open":
        y, u_star = teacher_data(teacher, T)

        def loss_grad(a):
            return open_loop_grad(a, y, u_star)
    else:
        def loss_grad(a):
            return closed_loop_grad(a, T)
    hist = {k: [] for k in ("step", "loss", "closed_loss", "radius", "eigenvalues", "theta", *ORDER_PARAMETERS)}
    theta = agent.params()
    for k in range(int(steps) + 1):
        current = agent.with_params(theta)
        loss, g = loss_grad(current)
        if k % record_every == 0 or k == steps:
            ev = np.linalg.eigvals(closed_loop_matrix(current))
            hist["step"].append(k)
            hist["loss"].append(loss)
            hist["closed_loss"].append(loss if mode == "closed" else closed_loop_loss(current, T))
            hist["radius"].append(float(np.max(np.abs(ev))))
            hist["eigenvalues"].append(ev)
            hist["theta"].append(theta.copy())
            for name, v in order_parameters(current).items():
                hist[name].append(v)
        if k == steps:
            break
        if not np.all(np.isfinite(g)):
            raise FloatingPointError(f"non-finite gradient at step {k} ({mode}-loop); lower lr or clip it")
        if max_grad_norm is not None:
            gn = float(np.linalg.norm(g))
            if gn > max_grad_norm:
                g = g * (max_grad_norm / gn)
        theta = theta - lr * g
    out = {k: np.array(v) for k, v in hist.items()}
    out["final"] = agent.with_params(theta)
    return out
