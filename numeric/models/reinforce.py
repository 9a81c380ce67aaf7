"""REINFORCE (Williams 1992, Machine Learning 8:229-256) with tabular softmax policies, on a K-armed bandit
and a small gridworld, with the EXACT expected policy gradient of each to compare the estimator against.

Bandit.  Policy pi = softmax(theta), theta in R^K; arm a pays a reward with mean r_a and variance s_a^2.
J(theta) = sum_a pi_a r_a.  Since d pi_b / d theta_a = pi_b (1[a=b] - pi_a) (Sutton & Barto 2018, sec. 2.8):

    dJ/dtheta_a = pi_a (r_a - sum_b pi_b r_b)                                   (exact gradient)

and the one-sample REINFORCE estimator  g_hat = (R - b)(e_A - pi),  A ~ pi, R ~ reward(A), with a baseline b
that does not depend on A, is unbiased: E[g_hat] = sum_a pi_a (r_a - b)(e_a - pi) = grad J, because
sum_a pi_a (e_a - pi) = 0.  Its second moment, used to say how much of |g_hat| is noise, is

    E|g_hat|^2 = sum_a pi_a (s_a^2 + (r_a - b)^2) |e_a - pi|^2,   |e_a - pi|^2 = 1 - 2 pi_a + |pi|^2,

and the mean of B independent samples has E|g_B|^2 = |grad J|^2 + (E|g_hat|^2 - |grad J|^2) / B.

Gridworld.  A side x side grid, start in the top-left corner, an absorbing goal in the bottom-right one,
reward 1 on entering the goal, actions up/right/down/left (a move into a wall stays put), with probability
``slip`` the executed action is uniform at random instead of the chosen one.  Tabular softmax policy
pi(.|s) = softmax(theta[s]).  Objective: J = E[sum_{t<H} gamma^t r_t] from the start (horizon H).  With
k-steps-to-go values V_0 = 0, Q_k(s,a) = R(s,a) + gamma sum_s' P(s'|s,a) V_{k-1}(s'), V_k = sum_a pi Q_k,
and p_t the state distribution at time t, the exact gradient (policy gradient theorem, finite horizon,
stationary policy; Sutton et al. 2000, NeurIPS 12, Thm. 1 for the discounted case) is

    dJ/dtheta[s,b] = sum_{t<H} gamma^t p_t(s) pi(b|s) (Q_{H-t}(s,b) - V_{H-t}(s)),

and the per-episode estimator  g_hat[s,b] = sum_{t<H} gamma^t G_t 1[s_t=s] (1[a_t=b] - pi(b|s_t)),
G_t = sum_{k=t}^{H-1} gamma^{k-t} r_k, is unbiased for it.  (We derived this finite-horizon form ourselves
from J = sum_t gamma^t E[r_t]; the tests compare it with finite differences of the exact J.)
"""
from __future__ import annotations

import numpy as np

from numeric.validation import _int, _real

__all__ = ["softmax", "entropy", "Bandit", "expected_return", "policy_gradient", "estimator_second_moment",
           "reinforce_estimate", "train_bandit", "Gridworld", "train_gridworld"]


def softmax(theta) -> np.ndarray:
    """pi = exp(theta - max) / sum exp(theta - max) along the last axis."""
    t = np.asarray(theta, dtype=float)
    e = np.exp(t - t.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def entropy(pi) -> np.ndarray:
    """H(pi) = -sum_a pi_a log pi_a along the last axis (0 log 0 = 0), in nats."""
    p = np.asarray(pi, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)


# --------------------------------------------------------------------------------------------- #
# Bandit
# --------------------------------------------------------------------------------------------- #
class Bandit:
    """K arms with mean rewards ``means``: "bernoulli" (R in {0, 1}, means in [0, 1], s_a^2 = r_a (1 - r_a))
    or "gaussian" (R ~ N(r_a, sd^2))."""

    def __init__(self, means, kind: str = "bernoulli", sd: float = 1.0):
        m = np.asarray(means, dtype=float)
        if m.ndim != 1 or m.size < 2 or not np.isfinite(m).all():
            raise ValueError(f"means must be a finite 1-D array of at least 2 arms, got {means!r}")
        if kind not in ("bernoulli", "gaussian"):
            raise ValueError(f"kind must be 'bernoulli' or 'gaussian', got {kind!r}")
        if kind == "bernoulli" and (m.min() < 0 or m.max() > 1):
            raise ValueError("Bernoulli arm means must lie in [0, 1]")
        self.means, self.kind, self.sd = m, kind, _real("sd", sd, 0.0, strict=False)

    @property
    def k(self) -> int:
        """Number of arms."""
        return self.means.size

    @property
    def variances(self) -> np.ndarray:
        """s_a^2 for every arm."""
        return self.means * (1 - self.means) if self.kind == "bernoulli" else np.full(self.k, self.sd ** 2)

    def pull(self, actions, rng) -> np.ndarray:
        """One reward for each action in ``actions``."""
        a = np.asarray(actions)
        if self.kind == "bernoulli":
            return (rng.uniform(size=a.shape) < self.means[a]).astype(float)
        return self.means[a] + self.sd * rng.standard_normal(a.shape)


def _theta(theta, k: int) -> np.ndarray:
    t = np.asarray(theta, dtype=float)
    if t.shape != (k,) or not np.isfinite(t).all():
        raise ValueError(f"theta must be a finite vector of shape ({k},), got shape {t.shape}")
    return t


def expected_return(theta, means) -> float:
    """J(theta) = sum_a softmax(theta)_a r_a."""
    r = np.asarray(means, dtype=float)
    return float(softmax(_theta(theta, r.size)) @ r)


def policy_gradient(theta, means) -> np.ndarray:
    """Exact dJ/dtheta_a = pi_a (r_a - sum_b pi_b r_b)."""
    r = np.asarray(means, dtype=float)
    pi = softmax(_theta(theta, r.size))
    return pi * (r - pi @ r)


def estimator_second_moment(theta, means, variances, baseline: float = 0.0) -> float:
    """E|g_hat|^2 = sum_a pi_a (s_a^2 + (r_a - b)^2)(1 - 2 pi_a + |pi|^2) for one sample (A, R)."""
    r, v = np.asarray(means, dtype=float), np.asarray(variances, dtype=float)
    pi = softmax(_theta(theta, r.size))
    return float(np.sum(pi * (v + (r - baseline) ** 2) * (1 - 2 * pi + pi @ pi)))


def reinforce_estimate(theta, actions, rewards, baseline: float = 0.0) -> np.ndarray:
    """(1/B) sum_i (R_i - b)(e_{A_i} - pi): the REINFORCE estimate of grad J from B pulls."""
    a, R = np.asarray(actions), np.asarray(rewards, dtype=float)
    if a.ndim != 1 or a.shape != R.shape or a.size == 0:
        raise ValueError(f"actions and rewards must be 1-D of the same non-zero length, got {a.shape}, {R.shape}")
    pi = softmax(np.asarray(theta, dtype=float))
    if a.min() < 0 or a.max() >= pi.size:
        raise ValueError(f"actions must be arm indices in [0, {pi.size})")
    counts = np.bincount(a, weights=R - baseline, minlength=pi.size)  # sum_i (R_i - b) e_{A_i}
    return (counts - np.sum(R - baseline) * pi) / a.size


def train_bandit(bandit: Bandit, steps: int = 500, lr: float = 0.5, batch: int = 1, baseline: bool = False,
                 theta0=None, seed: int = 0) -> dict:
    """Gradient ascent theta <- theta + lr g_B with the REINFORCE estimate g_B of B = ``batch`` pulls.

    ``baseline``: b = mean of all rewards of earlier updates (0 before the first), independent of the
    current actions, so g_B stays unbiased.  Returns arrays of length steps + 1 (index t = before update t;
    the sampled norm at index ``steps`` is nan): "expected_return" J, "exact_grad_norm" |grad J|,
    "sampled_grad_norm" |g_B|, "rms_sampled_norm" sqrt(E|g_B|^2) (closed form), "entropy", "p_best"
    (probability of the best arm), "baseline"; and "theta" (final).
    """
    if not isinstance(bandit, Bandit):
        raise ValueError(f"bandit must be a Bandit, got {type(bandit).__name__}")
    steps, batch, lr = _int("steps", steps, 1), _int("batch", batch, 1), _real("lr", lr, 0.0)
    rng = np.random.default_rng(_int("seed", seed, 0))
    theta = np.zeros(bandit.k) if theta0 is None else _theta(theta0, bandit.k).copy()
    best = int(np.argmax(bandit.means))
    keys = ("expected_return", "exact_grad_norm", "sampled_grad_norm", "rms_sampled_norm", "entropy", "p_best",
            "baseline")
    out = {k: np.full(steps + 1, np.nan) for k in keys}
    total, count = 0.0, 0
    for t in range(steps + 1):
        pi = softmax(theta)
        b = total / count if (baseline and count) else 0.0
        g = policy_gradient(theta, bandit.means)
        m2 = estimator_second_moment(theta, bandit.means, bandit.variances, b)
        out["expected_return"][t], out["exact_grad_norm"][t] = pi @ bandit.means, np.linalg.norm(g)
        out["rms_sampled_norm"][t] = np.sqrt(g @ g + (m2 - g @ g) / batch)
        out["entropy"][t], out["p_best"][t], out["baseline"][t] = entropy(pi), pi[best], b
        if t == steps:
            break
        a = rng.choice(bandit.k, size=batch, p=pi)
        R = bandit.pull(a, rng)
        g_hat = reinforce_estimate(theta, a, R, b)
        out["sampled_grad_norm"][t] = np.linalg.norm(g_hat)
        theta = theta + lr * g_hat
        total, count = total + R.sum(), count + batch
    out["theta"] = theta
    return out


# --------------------------------------------------------------------------------------------- #
# Gridworld
# --------------------------------------------------------------------------------------------- #
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left


class Gridworld:
    """side x side grid, start (0, 0), absorbing goal (side-1, side-1) paying 1 on entry, discount gamma,
    horizon H, slip probability.  ``P[s, a, s']`` transition probabilities, ``R[s, a]`` expected rewards."""

    def __init__(self, side: int = 4, gamma: float = 0.9, horizon: int = 20, slip: float = 0.1):
        self.side, self.horizon = _int("side", side, 2), _int("horizon", horizon, 1)
        self.gamma, self.slip = _real("gamma", gamma, 0.0), _real("slip", slip, 0.0, strict=False)
        if self.gamma > 1 or self.slip > 1:
            raise ValueError(f"gamma must lie in (0, 1] and slip in [0, 1], got {gamma!r}, {slip!r}")
        n = self.side ** 2
        self.n_states, self.n_actions, self.start, self.goal = n, 4, 0, n - 1
        self.next_state = np.empty((n, 4), dtype=np.int64)  # deterministic move table
        for s in range(n):
            i, j = divmod(s, self.side)
            for a, (di, dj) in enumerate(_MOVES):
                ii, jj = i + di, j + dj
                inside = 0 <= ii < self.side and 0 <= jj < self.side
                self.next_state[s, a] = ii * self.side + jj if inside else s
        self.next_state[self.goal] = self.goal
        move = np.zeros((n, 4, n))
        move[np.arange(n)[:, None], np.arange(4)[None, :], self.next_state] = 1.0
        self.P = (1 - self.slip) * move + self.slip * move.mean(axis=1, keepdims=True)
        self.R = self.P[:, :, self.goal].copy()
        self.R[self.goal] = 0.0

    @property
    def optimal_return(self) -> float:
        """gamma^(d-1) for slip = 0, d = 2 (side - 1) the shortest path length (reward at step d-1)."""
        if self.slip != 0:
            raise ValueError("the closed-form optimum is for slip = 0; use exact_return on a greedy policy")
        return self.gamma ** (2 * (self.side - 1) - 1)

    def optimal_value(self) -> float:
        """max over (time-dependent, deterministic) policies of J: V*_k = max_a [R + gamma P V*_{k-1}],
        an upper bound on J for any stationary softmax policy."""
        V = np.zeros(self.n_states)
        for _ in range(self.horizon):
            V = np.max(self.R + self.gamma * self.P @ V, axis=1)
        return float(V[self.start])

    def _policy(self, theta) -> np.ndarray:
        t = np.asarray(theta, dtype=float)
        if t.shape != (self.n_states, 4) or not np.isfinite(t).all():
            raise ValueError(f"theta must be a finite array of shape ({self.n_states}, 4), got {t.shape}")
        return softmax(t)

    def exact(self, theta) -> tuple[float, np.ndarray]:
        """(J, dJ/dtheta) by backward/forward dynamic programming (formulas in the module docstring)."""
        pi, H, g = self._policy(theta), self.horizon, self.gamma
        Q, V = np.zeros((H + 1, self.n_states, 4)), np.zeros((H + 1, self.n_states))
        for k in range(1, H + 1):
            Q[k] = self.R + g * self.P @ V[k - 1]
            V[k] = np.sum(pi * Q[k], axis=1)
        p, grad = np.zeros(self.n_states), np.zeros((self.n_states, 4))
        p[self.start] = 1.0
        for t in range(H):
            k = H - t
            grad += g ** t * p[:, None] * pi * (Q[k] - V[k][:, None])
            p = np.einsum("s,sa,sat->t", p, pi, self.P)
        return float(V[H, self.start]), grad

    def exact_return(self, theta) -> float:
        """J(theta) = V_H(start)."""
        return self.exact(theta)[0]

    def episodes(self, theta, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """n sampled episodes -> (mean REINFORCE estimate g_hat over them, their discounted returns)."""
        pi, H, g = self._policy(theta), self.horizon, self.gamma
        n = _int("n", n, 1)
        s = np.full(n, self.start)
        states, actions, rewards, alive = (np.zeros((H, n), dtype=np.int64), np.zeros((H, n), dtype=np.int64),
                                           np.zeros((H, n)), np.zeros((H, n), dtype=bool))
        for t in range(H):
            alive[t] = s != self.goal
            a = (rng.uniform(size=(n, 1)) > np.cumsum(pi[s], axis=1)).sum(axis=1).clip(max=3)
            executed = np.where(rng.uniform(size=n) < self.slip, rng.integers(0, 4, size=n), a)
            s_next = self.next_state[s, executed]
            states[t], actions[t] = s, a
            rewards[t] = (alive[t] & (s_next == self.goal)).astype(float)
            s = s_next
        G = np.zeros((H + 1, n))
        for t in range(H - 1, -1, -1):
            G[t] = rewards[t] + g * G[t + 1]
        w = (g ** np.arange(H))[:, None] * G[:H] * alive  # gamma^t G_t, zero once absorbed
        est = np.zeros((self.n_states, 4))
        np.add.at(est, (states.ravel(), actions.ravel()), w.ravel())
        np.add.at(est, states.ravel(), -w.ravel()[:, None] * pi[states.ravel()])
        return est / n, G[0]


def train_gridworld(world: Gridworld, steps: int = 200, lr: float = 1.0, batch: int = 8, seed: int = 0,
                    theta0=None) -> dict:
    """theta <- theta + lr g_B with the REINFORCE estimate from B = ``batch`` episodes.  Returns arrays of
    length steps + 1: "expected_return" (exact J), "exact_grad_norm", "sampled_grad_norm" (nan at the last
    index), "entropy" (mean over non-goal states), "sampled_return" (batch mean, nan at the last index)."""
    if not isinstance(world, Gridworld):
        raise ValueError(f"world must be a Gridworld, got {type(world).__name__}")
    steps, batch, lr = _int("steps", steps, 1), _int("batch", batch, 1), _real("lr", lr, 0.0)
    rng = np.random.default_rng(_int("seed", seed, 0))
    theta = np.zeros((world.n_states, 4)) if theta0 is None else np.array(theta0, dtype=float)
    keys = ("expected_return", "exact_grad_norm", "sampled_grad_norm", "entropy", "sampled_return")
    out = {k: np.full(steps + 1, np.nan) for k in keys}
    for t in range(steps + 1):
        J, g = world.exact(theta)
        out["expected_return"][t], out["exact_grad_norm"][t] = J, np.linalg.norm(g)
        out["entropy"][t] = entropy(softmax(theta))[:world.goal].mean()
        if t == steps:
            break
        g_hat, G = world.episodes(theta, batch, rng)
        out["sampled_grad_norm"][t], out["sampled_return"][t] = np.linalg.norm(g_hat), G.mean()
        theta = theta + lr * g_hat
    out["theta"] = theta
    return out
