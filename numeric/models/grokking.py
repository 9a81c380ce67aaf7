"""Grokking modular addition with a 2-layer network, hand-written in NumPy, and the quantities of the
Li₂ framework (Y. Tian, "Provable Scaling Laws of Feature Emergence from Learning Dynamics of Grokking",
arXiv:2509.21519; first version titled "Li₂: A Framework on Dynamics of Feature Emergence and Delayed
Generalization").

Model (the paper's setting, as far as its abstract and its public code state it: one-hot inputs, no
biases, quadratic activation, squared loss, weight decay)::

    X = [onehot(a) | onehot(b)]  (n, 2p),   F = σ(X W)  (n, K),   output F V  (n, p)
    L = (1/2n) ‖F V − Ỹ‖² + (wd/2)(‖W‖² + ‖V‖²),    Ỹ = onehot(a + b mod p) − 1/p  (rows centred)

Difference from the paper's code: its MSE (facebookresearch/luckmatters, ssl/real-dataset/cogo/
modular_addition_simple2.py, ``compute_loss`` with ``loss_type == "mse"``) centres each output row before
comparing with Ỹ, i.e. it is mean_i ‖C o_i − Ỹ_i‖² with C = I − 11ᵀ/p, while ours compares the raw outputs
(no centring) and carries a factor ½; its optimizer is SGD with momentum or Adam, ours plain full-batch GD.

Backpropagated gradient G_F = −∂L/∂F = (Ỹ − F V) Vᵀ / n.  With V at its ridge optimum for the current F,
V* = (FᵀF + η I)⁻¹ Fᵀ Ỹ with η = n·wd, and G_F = (1/n) η (FFᵀ + ηI)⁻¹ Ỹ Ỹᵀ F (FᵀF + ηI)⁻¹, which for small
features (‖F‖² ≪ η) is ≈ Ỹ Ỹᵀ F / (n η): column j depends on f_j alone ("independent feature learning"),
and −∂L/∂w_j = Xᵀ(σ'(X w_j) ⊙ G_F[:, j]) ≈ ∇E(w_j) / (n η) with the energy E(w) = ½ ‖Ỹᵀ σ(X w)‖²,
to leading order in ρ = ‖F‖²_op/η.  (The energy and the bound ‖nηG_F − ỸỸᵀF‖ ≤ 2ρ/(1+ρ)‖ỸỸᵀF‖ are
derived in derive/theories/grokking.py; the paper's own equation could not be read here.)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ACTIVATIONS = ("sqr", "relu")


def _check_act(act: str) -> None:
    if act not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {act!r}")


def sigma(z: np.ndarray, act: str = "sqr") -> np.ndarray:
    """σ(z) = z² ("sqr") or max(z, 0) ("relu"), elementwise."""
    _check_act(act)
    return z * z if act == "sqr" else np.maximum(z, 0.0)


def sigma_prime(z: np.ndarray, act: str = "sqr") -> np.ndarray:
    """σ'(z) = 2z ("sqr") or 1[z > 0] ("relu")."""
    _check_act(act)
    return 2.0 * z if act == "sqr" else (z > 0).astype(float)


@dataclass(frozen=True)
class ModularData:
    """All pairs (a, b) of Z_p split into train and test: inputs X (one-hot of a and b concatenated),
    labels c = a + b mod p and centred one-hot targets Ỹ = onehot(c) − 1/p."""

    p: int
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def Y_train(self) -> np.ndarray:
        return centred_targets(self.y_train, self.p)

    @property
    def Y_test(self) -> np.ndarray:
        return centred_targets(self.y_test, self.p)


def centred_targets(y: np.ndarray, p: int) -> np.ndarray:
    """Ỹ = onehot(y) − 1/p: each row sums to zero."""
    Y = np.full((len(y), p), -1.0 / p)
    Y[np.arange(len(y)), y] += 1.0
    return Y


def modular_addition(p: int, train_fraction: float = 0.5, seed: int = 0) -> ModularData:
    """The p² pairs (a, b) with label (a + b) mod p, a random train_fraction of them for training."""
    if int(p) != p or p < 3:
        raise ValueError(f"p must be an integer >= 3, got {p}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must lie in (0, 1), got {train_fraction}")
    p = int(p)
    a, b = np.divmod(np.arange(p * p), p)
    X = np.zeros((p * p, 2 * p))
    X[np.arange(p * p), a] = 1.0
    X[np.arange(p * p), p + b] = 1.0
    y = (a + b) % p
    order = np.random.default_rng(seed).permutation(p * p)
    n = int(round(train_fraction * p * p))
    if n < 1 or n >= p * p:
        raise ValueError(f"train_fraction {train_fraction} leaves an empty train or test set for p = {p}")
    tr, te = order[:n], order[n:]
    return ModularData(p, X[tr], y[tr], X[te], y[te])


def forward(W: np.ndarray, V: np.ndarray, X: np.ndarray, act: str = "sqr"):
    """Z = X W, F = σ(Z), output F V; returns (Z, F, output)."""
    Z = X @ W
    F = sigma(Z, act)
    return Z, F, F @ V


def loss_and_grads(W, V, X, Y, wd: float = 0.0, act: str = "sqr"):
    """L = (1/2n)‖FV − Ỹ‖² + (wd/2)(‖W‖² + ‖V‖²) and its gradients by hand-written backprop:
    R = (FV − Ỹ)/n, ∂L/∂V = FᵀR + wd V, G_F = −R Vᵀ, ∂L/∂W = Xᵀ(−G_F ⊙ σ'(Z)) + wd W.
    Returns (loss, dW, dV, G_F)."""
    n = X.shape[0]
    Z, F, out = forward(W, V, X, act)
    E = out - Y
    loss = 0.5 * np.sum(E * E) / n + 0.5 * wd * (np.sum(W * W) + np.sum(V * V))
    R = E / n
    dV = F.T @ R + wd * V
    G_F = -R @ V.T
    dW = X.T @ (-G_F * sigma_prime(Z, act)) + wd * W
    return loss, dW, dV, G_F


def accuracy(W, V, X, y, act: str = "sqr") -> float:
    """Fraction of rows whose largest output is the label."""
    return float(np.mean(np.argmax(forward(W, V, X, act)[2], axis=1) == y))


def ridge_top(F: np.ndarray, Y: np.ndarray, eta: float) -> np.ndarray:
    """The top layer minimising ½‖FV − Ỹ‖² + (η/2)‖V‖²: V* = (FᵀF + ηI)⁻¹ FᵀỸ."""
    if not np.isfinite(eta) or eta <= 0:
        raise ValueError(f"eta must be a finite positive number for the ridge solution, got {eta}")
    return np.linalg.solve(F.T @ F + eta * np.eye(F.shape[1]), F.T @ Y)


def energy(w: np.ndarray, X: np.ndarray, Y: np.ndarray, act: str = "sqr") -> float:
    """E(w) = ½ ‖Ỹᵀ σ(X w)‖²: the energy whose gradient ascent is one hidden unit's independent dynamics."""
    u = Y.T @ sigma(X @ w, act)
    return 0.5 * float(u @ u)


def energy_grad(w: np.ndarray, X: np.ndarray, Y: np.ndarray, act: str = "sqr") -> np.ndarray:
    """∇E(w) = Xᵀ (σ'(X w) ⊙ Ỹ Ỹᵀ σ(X w)); w may be a matrix of columns (one per hidden unit)."""
    z = X @ w
    return X.T @ (sigma_prime(z, act) * (Y @ (Y.T @ sigma(z, act))))


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(np.sum(a * b) / (na * nb)) if na > 0 and nb > 0 else 0.0


def _top_eigenvalue(S: np.ndarray) -> float:
    """Largest eigenvalue of a symmetric PSD matrix S (= ‖F‖²_op for S = FᵀF)."""
    return float(np.linalg.eigvalsh(S)[-1])


def half_spectrum(P: np.ndarray, p: int) -> np.ndarray:
    """Fold a DFT power array P (axis 0 of length p: frequencies 0..p−1) onto k = 1..⌊p/2⌋:
    row k − 1 is P[k] + P[p − k] (the pair k, −k of a real signal), and for even p the last row is the
    Nyquist bin P[p/2] alone (it is its own pair).  The constant k = 0 is dropped."""
    if P.shape[0] != p:
        raise ValueError(f"the power array must have p = {p} rows (frequencies 0..p-1), got {P.shape[0]}")
    m = (p - 1) // 2
    half = P[1:m + 1] + P[p - 1:p - 1 - m:-1]
    return np.concatenate([half, P[p // 2:p // 2 + 1]]) if p % 2 == 0 else half


def weight_spectrum(W: np.ndarray, p: int) -> np.ndarray:
    """Power of each hidden unit's weights (column of W: rows a-part then b-part) at k = 1..⌊p/2⌋:
    |DFT(W[:p])|² + |DFT(W[p:])|², folded by :func:`half_spectrum`."""
    if W.ndim != 2 or W.shape[0] != 2 * p:
        raise ValueError(f"W must be a matrix with 2p = {2 * p} rows, got shape {W.shape}")
    power = np.abs(np.fft.fft(W[:p], axis=0)) ** 2 + np.abs(np.fft.fft(W[p:], axis=0)) ** 2
    return half_spectrum(power, p)


def fourier_concentration(W: np.ndarray, p: int) -> np.ndarray:
    """For each hidden unit, the fraction of its non-constant weight power (:func:`weight_spectrum`) at its
    single strongest frequency k (the pair {k, p − k}; for even p the Nyquist bin p/2 alone)."""
    half = weight_spectrum(W, p)
    total = half.sum(axis=0)
    return np.divide(half.max(axis=0), total, out=np.zeros(W.shape[1]), where=total > 0)


def dominant_frequency(W: np.ndarray, p: int) -> np.ndarray:
    """The frequency k in 1..⌊p/2⌋ carrying most non-constant weight power of each column of W."""
    return 1 + np.argmax(weight_spectrum(W, p), axis=0)


def target_frequency_fit(O: np.ndarray, s: np.ndarray, p: int) -> np.ndarray:
    """φ_k = ⟨O, Y_k⟩ / ‖Y_k‖² for outputs O (one row per pair, label s = a + b mod p), where
    Ỹ = Σ_{k=1}^{(p−1)/2} Y_k, Y_k[i, c] = (2/p) cos(2πk(s_i − c)/p), is the Fourier decomposition of the centred
    targets (p odd; k and p − k paired).  φ_k = 1: frequency k fully present in O; 0: missing."""
    if p % 2 == 0:
        raise ValueError(f"the frequency fit needs an odd modulus p (k and p - k paired), got p = {p}")
    if O.shape != (len(s), p):
        raise ValueError(f"O must have shape ({len(s)}, {p}), got {O.shape}")
    diff = s[:, None] - np.arange(p)[None, :]
    phi = np.empty((p - 1) // 2)
    for k in range(1, (p + 1) // 2):
        Yk = (2.0 / p) * np.cos(2 * np.pi * k * diff / p)
        phi[k - 1] = np.sum(O * Yk) / np.sum(Yk * Yk)
    return phi


def frequency_fit(W, V, X: np.ndarray, y: np.ndarray, p: int, act: str = "sqr") -> np.ndarray:
    """How much of each target frequency the network's outputs σ(XW)V carry on the pairs (X, y):
    :func:`target_frequency_fit`.  The diagnostics use the training pairs, the data G_F is computed on, so
    "missing" means not yet fit where the gradient can see it; on a subset of the p² pairs the Y_k are only
    approximately orthogonal, and φ_k is the per-frequency projection coefficient, not a joint regression."""
    return target_frequency_fit(forward(W, V, X, act)[2], y, p)


def label_spectrum(G: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """Power of the class sums of a sample × unit matrix G at each frequency k = 1..⌊p/2⌋:
    M[c, j] = Σ_{i: y_i = c} G[i, j] (summing G over the samples of each label c = a + b; with unequal class
    sizes this is not an orthogonal projection onto functions of the label),
    power_k = Σ_j |DFT_c(M)[k, j]|² + |DFT_c(M)[p − k, j]|² (folded by :func:`half_spectrum`)."""
    if G.ndim != 2 or G.shape[0] != len(y):
        raise ValueError(f"G must be a matrix with one row per label ({len(y)}), got shape {G.shape}")
    M = np.zeros((p, G.shape[1]))
    np.add.at(M, y, G)
    return half_spectrum(np.abs(np.fft.fft(M, axis=0)) ** 2, p).sum(axis=1)


def missing_set(phi: np.ndarray) -> np.ndarray:
    """The still-missing frequencies: the mask φ_k < median φ (the less-learned half)."""
    return phi < np.median(phi)


def missing_fraction(power: np.ndarray, phi: np.ndarray) -> float:
    """Share of a spectrum's power on the still-missing frequencies (:func:`missing_set`):
    Σ_{φ_k < median φ} power_k / Σ_k power_k."""
    tot = float(np.sum(power))
    return float(np.sum(power[missing_set(phi)]) / tot) if tot > 0 else float("nan")


@dataclass
class History:
    """Per-record-step measurements of a training run (lists of equal length; vectors per step where noted).

    train_loss and test_loss are the full objective, weight-decay penalty (wd/2)(‖W‖² + ‖V‖²) included
    (the same penalty in both, so their difference is the data part alone)."""

    step: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    gf_label: list = field(default_factory=list)       # cos(G_F, Ỹ Ỹᵀ F): label-determined, independent form
    gf_shuffled: list = field(default_factory=list)    # cos(G_F, Ỹ_π Ỹ_πᵀ F), rows of Ỹ permuted: chance level
    gf_ridge: list = field(default_factory=list)       # cos(G_F, G_F at the ridge V* of the current F)
    update_energy: list = field(default_factory=list)  # cos(−∂L_data/∂W, [∇E(w_j)]_j), Frobenius
    update_shuffled: list = field(default_factory=list)  # vector: the same for each permutation of Ỹ's rows
    independent_error: list = field(default_factory=list)  # ‖G_F − ỸỸᵀF/(nη)‖ / ‖ỸỸᵀF/(nη)‖
    rho: list = field(default_factory=list)            # ‖F‖²_op / η: small in the independent regime
    rho_centred: list = field(default_factory=list)    # ‖F − 1 f̄ᵀ‖²_op / η, f̄ the mean row of F
    fourier: list = field(default_factory=list)        # mean Fourier concentration of the columns of W
    phi: list = field(default_factory=list)            # vector: frequency fit φ_k on the training pairs
    gf_power: list = field(default_factory=list)       # vector: label_spectrum of G_F
    ind_power: list = field(default_factory=list)      # vector: label_spectrum of the independent form ỸỸᵀF
    gf_missing: list = field(default_factory=list)     # share of G_F's label power on missing frequencies
    ind_missing: list = field(default_factory=list)    # the same for the independent form Ỹ Ỹᵀ F
    norm_W: list = field(default_factory=list)
    norm_V: list = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.__dict__.items()}


def diagnostics(W, V, data: ModularData, wd: float, act: str, perms: np.ndarray) -> dict:
    """The G_F structure and feature measures at one point of training (see :class:`History`); perms: rows
    of permutations of the training samples for the shuffled-label controls (the first one for gf_shuffled)."""
    X, Y = data.X_train, data.Y_train
    n = X.shape[0]
    Z, F, _ = forward(W, V, X, act)
    _, dW, _, G_F = loss_and_grads(W, V, X, Y, 0.0, act)
    label = Y @ (Y.T @ F)
    Yp = Y[perms[0]]
    eta = n * wd
    Vr = ridge_top(F, Y, eta)
    G_ridge = (Y - F @ Vr) @ Vr.T / n
    G0 = label / (n * eta)
    Fc = F - F.mean(axis=0)
    phi = frequency_fit(W, V, X, data.y_train, data.p, act)
    gf_power, ind_power = label_spectrum(G_F, data.y_train, data.p), label_spectrum(label, data.y_train, data.p)
    return {"phi": phi, "gf_power": gf_power, "ind_power": ind_power,
            "gf_missing": missing_fraction(gf_power, phi), "ind_missing": missing_fraction(ind_power, phi),
            "gf_label": _cos(G_F, label), "gf_shuffled": _cos(G_F, Yp @ (Yp.T @ F)), "gf_ridge": _cos(G_F, G_ridge),
            "update_energy": _cos(-dW, energy_grad(W, X, Y, act)),
            "update_shuffled": np.array([_cos(-dW, energy_grad(W, X, Y[q], act)) for q in perms]),
            "independent_error": float(np.linalg.norm(G_F - G0) / np.linalg.norm(G0)),
            "rho": _top_eigenvalue(F.T @ F) / eta,
            "rho_centred": _top_eigenvalue(Fc.T @ Fc) / eta,
            "fourier": float(np.mean(fourier_concentration(W, data.p))),
            "norm_W": float(np.linalg.norm(W)), "norm_V": float(np.linalg.norm(V))}


def init_params(p: int, width: int, scale: float = 0.1, seed: int = 0, act: str = "sqr"):
    """W (2p, K) and V (K, p) with i.i.d. N(0, scale²/fan_in) entries."""
    _check_act(act)
    if int(width) != width or width < 1:
        raise ValueError(f"width must be a positive integer, got {width}")
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((2 * p, width)) * scale / np.sqrt(2 * p),
            rng.standard_normal((width, p)) * scale / np.sqrt(width))


def train(data: ModularData, width: int = 128, lr: float = 1.0, wd: float = 1e-3, steps: int = 2000,
          act: str = "sqr", init_scale: float = 0.1, record_every: int = 10, seed: int = 0,
          snapshots: tuple[int, ...] = (), progress=None, record_steps: tuple[int, ...] = (),
          shuffles: int = 5):
    """Full-batch gradient descent with weight decay, θ ← θ − lr (∂L_data/∂θ + wd θ), on W and V.

    Measurements (:class:`History`) are taken every record_every steps, at the final step and at any step
    listed in record_steps, with `shuffles` label permutations for the controls.  wd must be positive: the
    diagnostics compare G_F with its ridge form, which needs η = n·wd > 0.  Returns (W, V, history, snaps)
    with snaps {step: (W, V)} for the requested steps."""
    if not (lr > 0 and wd > 0 and steps >= 1 and record_every >= 1 and shuffles >= 1):
        raise ValueError(f"need lr > 0, wd > 0 (the diagnostics use the ridge top layer, eta = n wd), steps >= 1, "
                         f"record_every >= 1, shuffles >= 1; got lr={lr}, wd={wd}, steps={steps}, "
                         f"record_every={record_every}, shuffles={shuffles}")
    W, V = init_params(data.p, width, init_scale, seed, act)
    X, Y = data.X_train, data.Y_train
    rng = np.random.default_rng(seed + 1)
    perm = np.stack([rng.permutation(X.shape[0]) for _ in range(shuffles)])
    hist, snaps, wanted, extra = History(), {}, set(snapshots), set(record_steps)
    for t in range(steps + 1):
        if t in wanted:
            snaps[t] = (W.copy(), V.copy())
        if t % record_every == 0 or t == steps or t in extra:
            loss, dW, dV, _ = loss_and_grads(W, V, X, Y, wd, act)
            hist.step.append(t)
            hist.train_loss.append(loss)
            hist.test_loss.append(loss_and_grads(W, V, data.X_test, data.Y_test, wd, act)[0])
            hist.train_acc.append(accuracy(W, V, X, data.y_train, act))
            hist.test_acc.append(accuracy(W, V, data.X_test, data.y_test, act))
            for k, v in diagnostics(W, V, data, wd, act, perm).items():
                getattr(hist, k).append(v)
            if progress is not None:
                progress(t, steps)
        else:
            _, dW, dV, _ = loss_and_grads(W, V, X, Y, wd, act)
        if t < steps:
            W, V = W - lr * dW, V - lr * dV
    return W, V, hist, snaps


def energy_ascent(X, Y, w0: np.ndarray, steps: int = 500, lr: float = 0.1, act: str = "sqr") -> np.ndarray:
    """Projected gradient ascent of E on the unit sphere: with g_T = ∇E(w) − (∇E(w)·w) w the tangent part,
    w ← normalise(w + lr g_T / max(‖g_T‖, 1)); a start stops moving once ‖g_T‖ < 1e-14.  For σ = z², E is
    homogeneous of degree 4 (E(cw) = c⁴E(w)), so it has no maxima in R^d; it is maximised on the unit sphere.
    w0: one start (d,) or several as the columns of a (d, m) matrix, each run independently."""
    w0 = np.asarray(w0, dtype=float)
    W = w0.reshape(len(w0), -1) if w0.ndim in (1, 2) else w0
    nw = np.linalg.norm(W, axis=0) if W.ndim == 2 else np.array([np.nan])
    if W.ndim != 2 or W.shape[0] != X.shape[1] or W.shape[1] == 0 or not np.all(np.isfinite(nw)) or np.any(nw == 0):
        raise ValueError(f"w0 must hold finite nonzero start vectors of length {X.shape[1]} (each is normalised onto "
                         f"the unit sphere); got shape {w0.shape} with norms {nw}")
    W = W / nw
    for _ in range(steps):
        G = energy_grad(W, X, Y, act)
        G = G - np.sum(G * W, axis=0) * W  # the tangent parts
        ng = np.linalg.norm(G, axis=0)
        if np.all(ng < 1e-14):
            break
        W = W + lr * np.where(ng < 1e-14, 0.0, G / np.maximum(ng, 1.0))
        W = W / np.linalg.norm(W, axis=0)
    return W[:, 0] if w0.ndim == 1 else W


def ridge_held_run(data: ModularData, width: int = 64, wd: float = 0.05, init_scale: float = 0.3,
                   lr: float = 1.0, steps: int = 20, seed: int = 0, act: str = "sqr"):
    """GD on W alone with the top layer held at its ridge optimum V*(F) (η = n·wd) at every step.

    Returns a list of (W_t, ΔW_t/lr, ρ_t) where ΔW_t/lr = −∂L_data/∂W is the actual update direction
    (no decay on W) and ρ_t = ‖F‖²_op/η."""
    if not wd > 0:
        raise ValueError(f"wd must be positive (the top layer is the ridge solution with eta = n wd), got {wd}")
    W, _ = init_params(data.p, width, init_scale, seed, act)
    X, Y = data.X_train, data.Y_train
    eta = X.shape[0] * wd
    out = []
    for _ in range(steps):
        F = sigma(X @ W, act)
        V = ridge_top(F, Y, eta)
        _, dW, _, _ = loss_and_grads(W, V, X, Y, 0.0, act)
        out.append((W.copy(), -dW, float(np.linalg.norm(F, 2) ** 2 / eta)))
        W = W - lr * dW
    return out
