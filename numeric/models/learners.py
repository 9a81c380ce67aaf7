"""Learners for :func:`numeric.sweep.sweep`: train at one value of a control parameter from one seed and
return the order parameters.

Both learners run full-batch heavy-ball GD in torch's convention with coupled L2 weight decay and
additive Gaussian gradient noise (drawn independently for every seed and control value)::

    g_k = ∇L(θ_k) + wd·θ_k + σ ξ_k,   ξ_k ~ N(0, I)
    b_k = μ b_{k−1} + g_k   (b_{−1} = 0),   θ_{k+1} = θ_k − η b_k

The control parameter is one of ``lr`` (η), ``momentum`` (μ), ``weight_decay`` (wd) or ``noise`` (σ);
the value passed by the sweep overrides that hyperparameter. Order parameters returned:

``final_loss``   the data loss L (without the decay term) at the end; with noise, its mean over the
                 last quarter of the steps (the stationary level);
``grad_norm``    ‖∇L(θ)‖ at the end, the full-batch gradient w.r.t. the weights (not the noisy one);
``weight_norm``  ‖θ‖ at the end;
``sharpness``    λ_max of ∇²L at the end (``sharpness0`` at θ₀), the data loss's Hessian;
``diverged``     1.0 if the loss became non-finite or ended above its initial value, else 0.0.

* :func:`least_squares` — L(θ) = ½ mean((Xθ − y)²) on data drawn from ``seed``; ∇²L = XᵀX/n exactly.
* :func:`two_layer` — f(x) = v·tanh(Wᵀx), no biases, L = ½ mean((f − y)²) on fixed teacher-student
  data with centred targets; ``seed`` draws the initialization and the noise. Its sharpness is the top
  eigenvalue of the Hessian from central differences of the hand-written gradient.
"""
from __future__ import annotations

import math

import numpy as np

CONTROLS = ("lr", "momentum", "weight_decay", "noise")


def _hyper(control: str, value: float, lr: float, momentum: float, weight_decay: float, noise: float,
           steps: int) -> dict:
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {', '.join(CONTROLS)}, got {control!r}")
    h = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "noise": noise}
    h[control] = value
    if not all(math.isfinite(x) for x in h.values()):
        raise ValueError(f"hyperparameters must be finite, got {h}")
    if h["lr"] <= 0 or h["momentum"] < 0 or h["weight_decay"] < 0 or h["noise"] < 0:
        raise ValueError(f"need lr > 0 and momentum, weight_decay, noise >= 0, got {h}")
    if h["momentum"] >= 1:
        raise ValueError(f"momentum must be below 1 (heavy ball has no friction at 1 and diverges above), got "
                         f"{h['momentum']}")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return h


def _sizes(**sizes) -> None:
    for name, v in sizes.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def check(learner, control: str, values, **kw) -> None:
    """Validate a sweep before any run starts: ``learner`` is :func:`least_squares` or :func:`two_layer`,
    ``kw`` its fixed keywords; ValueError naming the bad hyperparameter (unknown keys included)."""
    import inspect

    params = inspect.signature(learner).parameters
    allowed = [k for k in params if k not in ("value", "seed", "control")]
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ValueError(f"{learner.__name__} has no hyperparameter {', '.join(unknown)}; it takes "
                         f"{', '.join(allowed)}")
    full = {k: params[k].default for k in allowed} | kw
    for v in (min(values), max(values)):
        _hyper(control, float(v), full["lr"], full["momentum"], full["weight_decay"], full["noise"], full["steps"])
    _sizes(n=full["n"], d=full["d"], **({"width": full["width"]} if "width" in full else {}))
    if learner is least_squares and full["n"] < full["d"]:
        raise ValueError(f"least squares needs n >= d samples for a unique minimizer, got n={full['n']}, d={full['d']}")


def _train(loss_grad, theta0: np.ndarray, h: dict, steps: int, rng) -> tuple[np.ndarray, float, bool]:
    """Heavy-ball GD with coupled decay and gradient noise; (θ_end, stationary loss, diverged)."""
    theta, buf = theta0.copy(), np.zeros_like(theta0)
    L0, _ = loss_grad(theta)
    tail, losses = max(steps // 4, 1), []
    for k in range(steps):
        L, g = loss_grad(theta)
        if not np.isfinite(L) or L > 1e12 * max(L0, 1e-300):
            return theta, math.inf, True
        if k >= steps - tail:
            losses.append(L)
        g = g + h["weight_decay"] * theta
        if h["noise"]:
            g = g + h["noise"] * rng.standard_normal(theta.shape)
        buf = h["momentum"] * buf + g
        theta = theta - h["lr"] * buf
    L, _ = loss_grad(theta)
    if not np.isfinite(L):
        return theta, math.inf, True
    stationary = float(np.mean(losses)) if h["noise"] else float(L)
    return theta, stationary, bool(L > L0)


def _noise_rng(seed: int, value: float) -> np.random.Generator:
    """The gradient-noise stream of one (seed, control value) task: independent across values, so that a
    sweep over σ does not reuse one noise realization scaled by σ."""
    return np.random.default_rng([seed, 2, int(np.float64(value).view(np.uint64))])


def _orders(loss_grad, hessian_top, theta0, theta, stationary, diverged) -> dict:
    if diverged and not math.isfinite(stationary):
        return {"final_loss": math.inf, "grad_norm": math.inf, "weight_norm": math.inf,
                "sharpness": math.nan, "sharpness0": hessian_top(theta0), "diverged": 1.0}
    _, g = loss_grad(theta)
    return {"final_loss": stationary, "grad_norm": float(np.linalg.norm(g)), "weight_norm": float(np.linalg.norm(theta)),
            "sharpness": hessian_top(theta), "sharpness0": hessian_top(theta0), "diverged": float(diverged)}


def least_squares_data(seed: int, n: int = 256, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """X ~ N(0, 1) with column j scaled by 1/√(1 + j) (a spread spectrum), y = X w* + 0.1 N(0, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / np.sqrt(1.0 + np.arange(d))
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


def least_squares(value: float, seed: int, control: str = "lr", lr: float = 1.0, momentum: float = 0.0,
                  weight_decay: float = 0.0, noise: float = 0.0, steps: int = 400, n: int = 256, d: int = 8) -> dict:
    """Heavy-ball GD on L(θ) = ½ mean((Xθ − y)²), data and θ₀ ~ N(0, I) from ``seed``.

    The Hessian is H = XᵀX/n, so GD is stable iff η(λ_max + wd) < 2 (heavy ball: < 2(1 + μ)),
    and with noise σ the stationary excess loss is Σ_i ησ²/(2(2 − ηλ_i)) for μ = wd = 0."""
    h = _hyper(control, value, lr, momentum, weight_decay, noise, steps)
    _sizes(n=n, d=d)
    if n < d:
        raise ValueError(f"least squares needs n >= d samples for a unique minimizer, got n={n}, d={d}")
    X, y = least_squares_data(seed, n, d)
    H, Xty = X.T @ X / n, X.T @ y / n
    c = 0.5 * float(y @ y) / n

    def loss_grad(theta):
        g = H @ theta - Xty
        return 0.5 * float(theta @ H @ theta) - float(theta @ Xty) + c, g

    lam = float(np.linalg.eigvalsh(H)[-1])
    theta0 = np.random.default_rng([seed, 1]).standard_normal(d)
    theta, stationary, div = _train(loss_grad, theta0, h, steps, _noise_rng(seed, value))
    out = _orders(loss_grad, lambda th: lam, theta0, theta, stationary, div)
    theta_star = np.linalg.solve(H, Xty)
    out["min_loss"] = float(loss_grad(theta_star)[0])
    return out


def teacher_data(n: int = 64, d: int = 4, seed: int = 0, teacher_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs X ~ N(0, I_d) drawn from ``seed`` and the centred outputs y = tanh(XA)b − mean of a tanh
    teacher with 3 hidden units drawn from ``teacher_seed`` (A ~ N(0, 1/d), b ~ N(0, 1))."""
    trng = np.random.default_rng([teacher_seed, 7])
    A = trng.standard_normal((d, 3)) / math.sqrt(d)
    b = trng.standard_normal(3)
    X = np.random.default_rng(seed).standard_normal((n, d))
    y = np.tanh(X @ A) @ b
    return X, y - y.mean()


def two_layer_loss_grad(X: np.ndarray, y: np.ndarray, width: int):
    """(L, ∇L) of f = v·tanh(Wᵀx), L = ½ mean((f − y)²), on the flat vector θ = [vec(W), v]:
    ∂L/∂v = hᵀr/n, ∂L/∂W = Xᵀ((r vᵀ) ⊙ (1 − h²))/n with h = tanh(XW), r = f − y."""
    n, d = X.shape

    def loss_grad(theta):
        W, v = theta[:d * width].reshape(d, width), theta[d * width:]
        hid = np.tanh(X @ W)
        r = hid @ v - y
        gW = X.T @ (np.outer(r, v) * (1.0 - hid ** 2)) / n
        return 0.5 * float(r @ r) / n, np.concatenate([gW.ravel(), hid.T @ r / n])

    return loss_grad


def fd_hessian_top(loss_grad, theta: np.ndarray, h: float = 1e-5) -> float:
    """λ_max of the symmetrized Hessian from central differences of the gradient (error O(h²))."""
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        cols.append((loss_grad(theta + e)[1] - loss_grad(theta - e)[1]) / (2 * h))
    Hm = np.array(cols)
    return float(np.linalg.eigvalsh(0.5 * (Hm + Hm.T))[-1])


def initial_two_layer(seed: int, width: int, d: int, init: float = 1.0) -> np.ndarray:
    """θ₀ of :func:`two_layer` for ``seed``: [vec(W), v] with W ~ N(0, init²/d), v ~ N(0, init²/width)."""
    rng = np.random.default_rng([seed, 1])
    return np.concatenate([init * rng.standard_normal(d * width) / math.sqrt(d),
                           init * rng.standard_normal(width) / math.sqrt(width)])


def two_layer(value: float, seed: int, control: str = "lr", lr: float = 0.5, momentum: float = 0.0,
              weight_decay: float = 0.0, noise: float = 0.0, steps: int = 2000, width: int = 8, init: float = 1.0,
              n: int = 64, d: int = 4, teacher_seed: int = 0) -> dict:
    """Heavy-ball GD on a two-layer tanh network without biases (see :func:`two_layer_loss_grad`) on
    :func:`teacher_data`: the teacher is fixed by ``teacher_seed``; ``seed`` draws the training inputs, θ₀
    (W ~ N(0, init²/d), v ~ N(0, init²/width)) and the gradient noise, so runs differ the way independent
    training runs on fresh samples of one task do.

    With weight decay the origin θ = 0 is a critical point whose Hessian has eigenvalues
    wd ± ‖mean(y x)‖ (and wd): it becomes a stable minimum, and the weights collapse to it, once
    wd > ‖mean(y x)‖ (``derive.theories.phase``); ``collapsed`` reports weight_norm < 1e-3."""
    h = _hyper(control, value, lr, momentum, weight_decay, noise, steps)
    _sizes(width=width, n=n, d=d)
    X, y = teacher_data(n, d, seed, teacher_seed)
    loss_grad = two_layer_loss_grad(X, y, width)
    theta0 = initial_two_layer(seed, width, d, init)
    theta, stationary, div = _train(loss_grad, theta0, h, steps, _noise_rng(seed, value))
    out = _orders(loss_grad, lambda th: fd_hessian_top(loss_grad, th), theta0, theta, stationary, div)
    out["collapsed"] = float(out["weight_norm"] < 1e-3)
    return out
