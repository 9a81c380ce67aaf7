"""Experiments on small neural networks built with :mod:`numeric.autodiff.tensor` / :mod:`numeric.autodiff.nn`
(``ldyn experiment``): symmetry and XOR, vanishing/exploding gradients, credit in a population
code, and GD against gradient flow and its modified flow.  Each returns ``(figure, summary)``
with its claims as numbers (see :mod:`verify.experiments`)."""
from __future__ import annotations

import math

import numpy as np

from verify.experiments import claim


def _plt():
    from verify.figures.backend import _plt as plt

    return plt()


# --------------------------------------------------------------------------------------------- #
# 1. XOR: permutation symmetry of hidden units
# --------------------------------------------------------------------------------------------- #
#: the identical start of every hidden unit: incoming weights, bias, outgoing weight (small, so that a
#: 1e-3 perturbation escapes the symmetric subspace quickly; from larger identical starts GD first
#: settles near the best one-unit fit and the escape can take thousands of steps)
XOR_UNIT = (0.1, 0.1, 0.0, 0.1)
#: the lowest mean BCE of any function of one projection w.x on XOR: the labels along w.x always read
#: 0,1,1,0 (or 1,0,0,1), so the best monotone fit is 0 on one end and 2/3 on the other three points
XOR_ONE_PROJECTION_BOUND = 0.75 * (math.log(3.0) - (2.0 / 3.0) * math.log(2.0))


def _xor_units(theta: np.ndarray, hidden: int) -> np.ndarray:
    """Rows (w_1j, w_2j, b_j, v_j): hidden unit j's parameters in the flat [W1, b1, W2, b2] vector."""
    W1 = theta[:2 * hidden].reshape(2, hidden)
    return np.column_stack([W1.T, theta[2 * hidden:3 * hidden], theta[3 * hidden:4 * hidden]])


def xor(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """MLP [2, 4, 1] tanh, mean BCE, full-batch GD at lr 2 from three starts: a random (Xavier) one,
    every hidden unit identical (``XOR_UNIT``), and identical + N(0, 1e-3²) noise.  Identical units get
    identical gradients (the loss is invariant under permuting them), so they stay identical and the
    network is a function of one projection w.x, which cannot fit XOR; noise breaks the symmetry."""
    from numeric.autodiff import datasets, nn

    X, y = datasets.xor()
    hidden, lr, steps = 4, 2.0, 3000 if full else 600
    model = nn.MLP([2, hidden, 1], "tanh", init="xavier", seed=seed)
    f, grad, _ = nn.loss_fn(model, X, y, "bce")
    w1, w2, b, v = XOR_UNIT
    symmetric = np.concatenate([np.tile([[w1], [w2]], (1, hidden)).ravel(), np.full(hidden, b),
                                np.full(hidden, v), [0.0]])
    starts = {"random": nn.flatten(model.parameters()), "identical": symmetric,
              "identical + 1e-3 noise": symmetric + 1e-3 * np.random.default_rng(seed).standard_normal(symmetric.size)}
    runs = {}
    for i, (name, theta) in enumerate(starts.items()):
        losses, spread = np.empty(steps + 1), np.empty(steps + 1)
        for t in range(steps + 1):
            if t % 100 == 0:
                progress(i * steps + t, 3 * steps)
            units = _xor_units(theta, hidden)
            spread[t] = np.max(np.abs(units - units[0]))
            losses[t] = f(theta)
            if t < steps:
                theta = theta - lr * grad(theta)
        nn.unflatten_into(model.parameters(), theta)
        correct = int(np.sum((model(X).data[:, 0] > 0) == (y == 1)))
        runs[name] = {"loss": losses, "spread": spread, "correct": correct, "theta": theta}
    progress(3 * steps, 3 * steps)
    rnd, sym, noisy = runs["random"], runs["identical"], runs["identical + 1e-3 noise"]
    claims = [
        claim("random init: final mean BCE", rnd["loss"][-1], "< 0.05", rnd["loss"][-1] < 0.05),
        claim("random init: XOR points classified correctly", rnd["correct"], 4, rnd["correct"] == 4),
        claim("identical init: max |unit j - unit 1| over all hidden-unit parameters and all steps "
              "(the gradient is the same for each unit)", float(sym["spread"].max()), 0.0,
              sym["spread"].max() <= 1e-12),
        claim("identical init: points classified correctly (one projection w.x cannot separate XOR)",
              sym["correct"], "<= 3", sym["correct"] <= 3),
        claim("identical init: lowest loss over the run >= 3/4 H(1/3), the best loss of any function of one "
              "projection", float(sym["loss"].min()), XOR_ONE_PROJECTION_BOUND,
              sym["loss"].min() >= XOR_ONE_PROJECTION_BOUND),
        claim("identical + 1e-3 noise: final mean BCE", noisy["loss"][-1], "< 0.05", noisy["loss"][-1] < 0.05),
        claim("identical + 1e-3 noise: XOR points classified correctly", noisy["correct"], 4, noisy["correct"] == 4),
        claim("identical + 1e-3 noise: spread between hidden units, end / start (the symmetry breaks)",
              float(noisy["spread"][-1] / noisy["spread"][0]), "> 100", noisy["spread"][-1] > 100 * noisy["spread"][0]),
    ]
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.2))
    colors = {"random": "tab:blue", "identical": "tab:red", "identical + 1e-3 noise": "tab:green"}
    for name, r in runs.items():
        axes[0].semilogy(r["loss"], color=colors[name], label=f"{name} ({r['correct']}/4 correct)")
        shown = np.maximum(r["spread"], 1e-17)
        axes[1].semilogy(shown, color=colors[name], label=name + (" (exactly 0, drawn at 1e-17)"
                                                                   if r["spread"].max() == 0 else ""))
    axes[0].axhline(XOR_ONE_PROJECTION_BOUND, color="gray", ls="--", lw=1,
                    label=r"$\frac{3}{4}H(\frac{1}{3})$: best fit of one projection")
    axes[0].set_title(rf"XOR, MLP [2, {hidden}, 1] tanh, mean BCE, GD lr = {lr:g}", fontsize=9)
    axes[1].set_title("spread between hidden units: max$_{j,k}$ |unit $j$ - unit 1|", fontsize=9)
    for ax in axes:
        ax.set_xlabel("GD step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, {"lr": lr, "steps": steps, "final_loss": {k: r["loss"][-1] for k, r in runs.items()},
                 "correct": {k: r["correct"] for k, r in runs.items()},
                 "max_spread": {k: float(r["spread"].max()) for k, r in runs.items()},
                 "symmetric_max_spread": float(sym["spread"].max()), "claims": claims}


# --------------------------------------------------------------------------------------------- #
# 2. Vanishing and exploding gradients: a product of layer Jacobians
# --------------------------------------------------------------------------------------------- #
VE_SETTINGS = (("tanh", 0.5), ("tanh", 1.0), ("tanh", 2.0), ("sigmoid", 1.0), ("sigmoid", 4.0),
               ("relu", 1.0), ("relu", math.sqrt(2.0)), ("relu", 2.0))
_DPHI = {"tanh": lambda z: 1.0 - np.tanh(z) ** 2,
         "sigmoid": lambda z: 0.25 / np.cosh(0.5 * z) ** 2,
         "relu": lambda z: (z > 0).astype(float)}
_PHI = {"tanh": np.tanh, "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)), "relu": lambda z: np.maximum(z, 0.0)}


def _backward_slope(curve: np.ndarray) -> float:
    """Log gain per layer travelling toward the input: minus the least-squares slope of curve vs l."""
    return float(-np.polyfit(np.arange(1, curve.size + 1), curve, 1)[0])


def _from_gains(gains: np.ndarray) -> np.ndarray:
    """log-norm curve c_1..c_D with c_D = 0 and c_{l-1} = c_l + gains[l-2] (gains for l = 2..D)."""
    return np.concatenate([np.cumsum(gains[::-1])[::-1], [0.0]])


def mean_field_gains(activation: str, gain: float, depth: int, q1: float) -> np.ndarray:
    """Infinite-width per-layer log gains ½ log χ_l, l = 2..depth: q_{l+1} = σ² E φ(√q_l ξ)²,
    χ_l = σ² E φ'(√q_{l-1} ξ)², ξ ~ N(0, 1) (Gauss-Hermite, 80 nodes), σ = ``gain``, zero biases
    (Poole et al. 2016; Schoenholz et al. 2017).  For relu χ = σ²/2 whatever q."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    qs = [q1]
    for _ in range(depth - 2):
        qs.append(gain**2 * float(w @ _PHI[activation](math.sqrt(qs[-1]) * x) ** 2))
    return np.array([0.5 * math.log(gain**2 * float(w @ _DPHI[activation](math.sqrt(q) * x) ** 2)) for q in qs])


def vanishing_exploding(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """MLPs with 20 hidden layers of width 64 (W_l ~ N(0, σ²/64), zero biases), MSE on random targets.
    Measured: c_l = mean over examples (and network draws) of log ‖∂L_n/∂z_l‖, the gradient w.r.t. the
    pre-activations of hidden layer l.  Backprop is g_{l-1} = J_l g_l with J_l = diag(φ'(z_{l-1})) W_l,
    so log ‖g‖ changes per layer by log ‖J_l u‖/‖u‖ for the backpropagated u.  Predicted: that gain for a
    random direction u ~ N(0, I), E log ‖Ju‖²/‖u‖² = log(tr A/d) − tr A²/(tr A)² + 1/d + O(d⁻²) with
    A = JᵀJ (delta method), averaged over examples, from the sampled networks' own Jacobians; and its
    infinite-width limit ½ log χ (:func:`mean_field_gains`).  A "slope" is the log gain per layer
    travelling toward the input (minus the fitted slope of c_l against l): < 0 vanishing, > 0 exploding."""
    from numeric.autodiff import nn
    from numeric.autodiff.tensor import grad

    depth, width, batch, draws = 20, 64, 64, 24 if full else 6
    rng = np.random.default_rng(seed)
    rows = {}
    for i, (act, g) in enumerate(VE_SETTINGS):
        progress(i, len(VE_SETTINGS))
        measured, predicted = np.zeros(depth), np.zeros(depth - 1)
        for k in range(draws):
            X, Y = rng.standard_normal((batch, width)), rng.standard_normal((batch, 1))
            model = nn.MLP([width] * (depth + 1) + [1], act, init=float(g), seed=seed * 1000 + k)
            acts = model.activations(X)
            gs = grad(nn.mse(acts[-1]["post"], Y), [a["pre"] for a in acts[:depth]])
            measured += [np.mean(np.log(np.linalg.norm(t.data, axis=1))) for t in gs]
            for l in range(2, depth + 1):  # gain from layer l back to l-1
                d2 = _DPHI[act](acts[l - 2]["pre"].data) ** 2            # (batch, d_{l-1})
                W = model.layers[l - 1].W.data                           # (d_{l-1}, d_l)
                tr_a = d2 @ np.sum(W**2, axis=1)
                tr_a2 = np.einsum("ni,ij,nj->n", d2, (W @ W.T) ** 2, d2)
                predicted[l - 2] += np.mean(0.5 * (np.log(tr_a / width) - tr_a2 / tr_a**2 + 1.0 / width))
        measured, predicted = measured / draws, predicted / draws
        mf = mean_field_gains(act, g, depth, q1=g**2)  # inputs ~ N(0, I): q_1 = σ² E x² = σ²
        rows[(act, g)] = {"measured": measured - measured[-1], "predicted": _from_gains(predicted),
                          "mean_field": _from_gains(mf), "slope": _backward_slope(measured),
                          "predicted_slope": _backward_slope(_from_gains(predicted)),
                          "mean_field_slope": _backward_slope(_from_gains(mf))}
    progress(len(VE_SETTINGS), len(VE_SETTINGS))
    name = lambda a, g: f"{a}, sigma_w = {g:.3g}"
    claims = []
    for (act, g), r in rows.items():
        tol = max(0.1 * abs(r["predicted_slope"]), 0.02)
        claims.append(claim(f"{name(act, g)}: measured log gain per layer toward the input vs the Jacobian "
                            "prediction (tolerance max(10%, 0.02))", r["slope"], r["predicted_slope"],
                            abs(r["slope"] - r["predicted_slope"]) <= tol))
    mf_sign = lambda sign: [s for s, r in rows.items() if sign * r["mean_field_slope"] > 0.05]
    vanish, explode = mf_sign(-1), mf_sign(+1)
    claims.append(claim("vanishing where the mean field predicts it (chi < 1, slope < -0.05: "
                        + "; ".join(name(*s) for s in vanish) + "): measured slopes",
                        [rows[s]["slope"] for s in vanish], "< 0", all(rows[s]["slope"] < 0 for s in vanish)))
    he = rows[("relu", math.sqrt(2.0))]
    claims.append(claim("relu with He init (mean field: chi = sigma_w^2/2 = 1, slope 0): |measured slope|",
                        abs(he["slope"]), "< 0.05 (preserved)", abs(he["slope"]) < 0.05))
    claims.append(claim("exploding where the mean field predicts it (chi > 1, slope > 0.05: "
                        + "; ".join(name(*s) for s in explode) + "): measured slopes",
                        [rows[s]["slope"] for s in explode], "> 0", all(rows[s]["slope"] > 0 for s in explode)))
    worst = max(abs(r["slope"] - r["mean_field_slope"]) for r in rows.values())
    claims.append(claim("infinite-width mean-field slope vs measured, worst setting (finite-width corrections "
                        f"are O(1/width); tolerance 3/width = {3 / width:.3g})", worst, 0.0, worst < 3 / width))
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.3), sharey=True)
    layers = np.arange(1, depth + 1)
    for ax, act in zip(axes, ("tanh", "sigmoid", "relu")):
        for j, ((a, g), r) in enumerate((s, r) for s, r in rows.items() if s[0] == act):
            c = f"C{j}"
            ax.plot(layers, r["measured"], "o", ms=3.5, color=c,
                    label=rf"$\sigma_w$ = {g:.3g}: slope {r['slope']:+.3f} (pred. {r['predicted_slope']:+.3f})")
            ax.plot(layers, r["predicted"], "-", color=c, lw=1.2)
            ax.plot(layers, r["mean_field"], ":", color=c, lw=1.2)
        ax.set_title(f"{act}: markers measured, lines Jacobian prediction, dotted mean field", fontsize=8)
        ax.set_xlabel("hidden layer l (input side = 1)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel(r"$\langle\log\|\partial L_n/\partial z_l\|\rangle - $ same at $l = 20$")
    fig.tight_layout()
    return fig, {"depth": depth, "width": width, "network_draws": draws,
                 "slopes": {name(*s): {k: r[k] for k in ("slope", "predicted_slope", "mean_field_slope")}
                            for s, r in rows.items()}, "claims": claims}


# --------------------------------------------------------------------------------------------- #
# 3. Credit assignment in a population code
# --------------------------------------------------------------------------------------------- #
def _pop_target(s):
    return 1.0 + 0.5 * np.sin(2.0 * np.pi * s)


def population_credit(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """N units with Gaussian tuning r_i(s) = a_i exp(−(s − c_i)²/2σ²) (gains a_i = 1, centres tiling
    [0, 1]) feed a linear readout ŷ = Σ w_i r_i + b trained by GD on y(s) = 1 + ½ sin 2πs.  For one
    stimulus and L = ½ (ŷ − y)², backprop sends every unit the same kind of signal ∂L/∂r_i = e w_i
    (e = ŷ − y), but the credit for the unit's own parameters is gated by its response:
    ∂L/∂a_i = e w_i r_i(s)/a_i and ∂L/∂c_i = e w_i r_i(s)(s − c_i)/σ², so it is concentrated on the
    units tuned near s, with the tuning width."""
    from numeric.models import rate_network
    from numeric.autodiff.tensor import Parameter, Tensor, grad

    del seed  # deterministic: no random draw
    n_units, sigma = 40, 0.05
    centres = (np.arange(n_units) + 0.5) / n_units
    a, c = Parameter(np.ones(n_units), name="gain"), Parameter(centres.copy(), name="centre")
    w, b = Parameter(np.zeros(n_units), name="w"), Parameter(np.zeros(1), name="b")

    def forward(s):
        d = Tensor(np.reshape(s, (-1, 1))) - c
        r = a * (d * d * (-0.5 / sigma**2)).exp()
        return r, (r @ w.reshape(n_units, 1)).reshape(-1) + b

    train_s = np.linspace(0.0, 1.0, 101)
    steps, lr, losses = 600 if full else 300, 0.05, []
    for t in range(steps):
        if t % 50 == 0:
            progress(t, steps + 1)
        _, out = forward(train_s)
        loss = ((out - _pop_target(train_s)) ** 2).mean() * 0.5
        gw, gb = grad(loss, [w, b])
        w.data, b.data = w.data - lr * gw.data, b.data - lr * gb.data
        losses.append(loss.item())
    stimuli, credit = (0.25, 0.5, 0.8), {}
    errs, widths, far, peaks = [], [], [], []
    for s in stimuli:
        r, out = forward([s])
        e = out.item() - _pop_target(s)
        g_r, g_a, g_c = grad((0.5 * (out - _pop_target(s)) ** 2).sum(), [r, a, c])
        tuning = rate_network.population_code([s], n_units, sigma)[0]  # independent r_i(s)
        closed = {"r": e * w.data, "a": e * w.data * tuning, "c": e * w.data * tuning * (s - centres) / sigma**2}
        got = {"r": g_r.data[0], "a": g_a.data, "c": g_c.data}
        errs.append(max(float(np.max(np.abs(got[k] - closed[k])) / np.max(np.abs(closed[k]))) for k in got))
        p = np.abs(got["a"])
        widths.append(float(np.sqrt(p @ (centres - s) ** 2 / p.sum())) / sigma)
        far.append(float(p[np.abs(centres - s) > 4 * sigma].max() / p.max()))
        peaks.append(float(abs(centres[np.argmax(p)] - s)))
        credit[s] = {"error": e, **{f"dL/d{k}": v for k, v in got.items()},
                     **{f"closed {k}": v for k, v in closed.items()}}
    progress(steps + 1, steps + 1)
    claims = [
        claim("readout training: final / initial loss", losses[-1] / losses[0], "< 1e-2",
              losses[-1] < 1e-2 * losses[0]),
        claim("autodiff dL/dr_i, dL/da_i, dL/dc_i vs the chain rule e w_i, e w_i r_i(s), e w_i r_i(s)(s - c_i)/sigma^2 "
              "(r_i from rate_network.population_code): worst relative error over stimuli", max(errs), 0.0,
              max(errs) < 1e-10),
        claim("credit dL/da_i peaks at the unit tuned nearest the stimulus: |c_peak - s| per stimulus", peaks,
              f"<= half the spacing {0.5 / n_units:g}", max(peaks) <= 0.5 / n_units + 1e-12),
        claim("RMS width of |dL/da_i| over preferred stimuli / tuning width sigma, per stimulus", widths, 1.0,
              all(abs(x - 1.0) < 0.1 for x in widths)),
        claim("credit of units tuned farther than 4 sigma / peak credit, per stimulus", far, "< 0.01",
              max(far) < 0.01),
    ]
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
    grid = np.linspace(0.0, 1.0, 400)
    axes[0].plot(grid, rate_network.population_code(grid, n_units, sigma), color="gray", lw=0.7)
    for j, s in enumerate(stimuli):
        axes[0].axvline(s, color=f"C{j}", ls="--")
        cr = credit[s]
        for ax, key in ((axes[1], "a"), (axes[2], "r")):
            v, scale = cr[f"dL/d{key}"], np.max(np.abs(cr[f"closed {key}"]))
            ax.plot(centres, v / scale, "o", ms=3.5, color=f"C{j}", label=f"s = {s:g}, e = {cr['error']:+.2g}")
            ax.plot(centres, cr[f"closed {key}"] / scale, "-", lw=0.9, color=f"C{j}")
            ax.axvline(s, color=f"C{j}", ls="--", lw=0.8)
    axes[0].set_title(rf"{n_units} Gaussian tuning curves $r_i(s)$, $\sigma$ = {sigma:g}", fontsize=9)
    axes[0].set_xlabel("stimulus s")
    axes[1].set_title(r"credit to unit $i$'s gain: autodiff $\partial L/\partial a_i$ (o), $e\,w_i\,r_i(s)$ (line)",
                      fontsize=9)
    axes[2].set_title(r"signal reaching unit $i$: autodiff $\partial L/\partial r_i$ (o), $e\,w_i$ (line)", fontsize=9)
    for ax in axes[1:]:
        ax.set_xlabel(r"preferred stimulus $c_i$")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, {"n_units": n_units, "sigma": sigma, "readout_loss": [losses[0], losses[-1]],
                 "width_over_sigma": dict(zip(map(str, stimuli), widths)), "claims": claims}


# --------------------------------------------------------------------------------------------- #
# 4. GD vs gradient flow vs the first-order modified flow
# --------------------------------------------------------------------------------------------- #
def modified_flow_coefficients() -> tuple:
    """(c_reg, c_H) from derive.analysis.modified_equation on a generic smooth L(x, y): the modified loss is
    L + c_reg η ‖∇L‖² and the first correction of the field is −c_H η H∇L (checked symbolically)."""
    import sympy as sp

    from derive.analysis.modified_equation import eta, modified_equation

    x, y = sp.symbols("x y", real=True)
    L = sp.Function("L")(x, y)
    d = modified_equation(L, [x, y], order=1)
    g = sp.Matrix([L.diff(x), L.diff(y)])
    hg = sp.hessian(L, (x, y)) * g
    f1 = sp.Matrix(d.results["fields"][1])
    c_h = sp.simplify(-f1[0] / hg[0])
    if sp.simplify(f1 + c_h * hg) != sp.zeros(2, 1):
        raise RuntimeError("derive.analysis.modified_equation's first correction is not proportional to H grad L")
    c_reg = sp.simplify((d.results["modified_loss"] - L) / (eta * g.dot(g)))
    return c_reg, c_h


def gd_vs_flow(seed: int = 0, full: bool = False, progress=lambda done, total: None):
    """Student MLP [2, 6, 1] tanh on a 16-point teacher-student regression (MSE), full batch.  GD with
    η = η₀/2^j (η₀ = 0.25/λ_max at the start, λ_max by Lanczos on exact HVPs) for a fixed time
    T = 40 η₀, against gradient flow θ' = −∇L and the modified flow θ' = −∇L − c_H η H∇L
    (c_H from derive.analysis.modified_equation: ½, i.e. the flow of L + (η/4)‖∇L‖², Barrett & Dherin 2021),
    both by solve_ivp (DOP853, rtol 1e-10).  Euler's global error is O(η) against the flow and O(η²)
    against the modified flow, so the distances halve / quarter as η halves."""
    import sympy as sp
    from scipy.integrate import solve_ivp

    from numeric.autodiff import datasets, hessian, nn

    c_reg, c_h = modified_flow_coefficients()
    X, y = datasets.teacher_student(n=16, d=2, hidden=3, seed=seed)
    model = nn.MLP([2, 6, 1], "tanh", init=1.0, seed=seed)
    f, grad, hvp = nn.loss_fn(model, X, y, "mse")
    theta0 = nn.flatten(model.parameters())
    lam = float(hessian.top_eigenvalues(lambda v: hvp(theta0, v), theta0.size, k=1).eigenvalues[0])
    eta0 = 0.25 / lam
    etas = eta0 / 2.0 ** np.arange(5 if full else 4)
    T = 40 * eta0
    total = 1 + len(etas)
    progress(0, total)
    tol = {"method": "DOP853", "rtol": 1e-10, "atol": 1e-12, "dense_output": True}
    flow = solve_ivp(lambda t, th: -grad(th), (0.0, T), theta0, **tol)
    rows = []
    for j, eta in enumerate(etas):
        progress(1 + j, total)
        n = int(round(T / eta))
        gd = [theta0]
        for _ in range(n):
            gd.append(gd[-1] - eta * grad(gd[-1]))
        gd = np.array(gd)

        def modified_field(t, th, eta=eta):
            g = grad(th)
            return -g - float(c_h) * eta * hvp(th, g)  # -grad L - (eta/2) H grad L, H grad L by double backward

        mod = solve_ivp(modified_field, (0.0, T), theta0, **tol)
        ts = eta * np.arange(n + 1)
        rows.append({"eta": eta, "t": ts, "gd": gd, "flow": flow.sol(ts).T, "mod": mod.sol(ts).T,
                     "err_flow": float(np.linalg.norm(gd[-1] - flow.y[:, -1])),
                     "err_mod": float(np.linalg.norm(gd[-1] - mod.y[:, -1]))})
    progress(total, total)
    e1 = np.array([r["err_flow"] for r in rows])
    e2 = np.array([r["err_mod"] for r in rows])
    s1, s2 = (float(np.polyfit(np.log(etas), np.log(e), 1)[0]) for e in (e1, e2))
    claims = [
        claim("implicit-regularization coefficient of the modified loss L + c eta |grad L|^2, from "
              "derive.analysis.modified_equation", float(c_reg), 0.25, sp.simplify(c_reg - sp.Rational(1, 4)) == 0),
        claim("|GD - gradient flow| at T = 40 eta_0: ratio when eta halves (O(eta))", list(e1[:-1] / e1[1:]), 2.0,
              all(abs(q - 2.0) < 0.2 for q in e1[:-1] / e1[1:])),
        claim("|GD - modified flow| at T: ratio when eta halves (O(eta^2))", list(e2[:-1] / e2[1:]), 4.0,
              all(abs(q - 4.0) < 0.4 for q in e2[:-1] / e2[1:])),
        claim("log-log slopes of the two distances against eta", [s1, s2], [1.0, 2.0],
              abs(s1 - 1) < 0.1 and abs(s2 - 2) < 0.2),
        claim("the modified flow is closer to GD than gradient flow, for every eta: distance ratios", list(e2 / e1),
              "< 1", bool(np.all(e2 < e1))),
    ]
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
    big = rows[0]
    axes[0].plot(big["t"], [f(th) for th in big["flow"]], color="tab:blue", label="gradient flow")
    axes[0].plot(big["t"], [f(th) for th in big["mod"]], "--", color="tab:green", label="modified flow")
    axes[0].plot(big["t"], [f(th) for th in big["gd"]], "o", ms=3, color="tab:red",
                 label=rf"GD, $\eta$ = {big['eta']:.3g}")
    axes[0].set_title("loss along the three trajectories (largest eta)", fontsize=9)
    axes[0].set_xlabel("time t = k eta")
    for j, r in enumerate(rows):
        axes[1].semilogy(r["t"][1:], np.linalg.norm(r["gd"] - r["flow"], axis=1)[1:], color=f"C{j}",
                         label=rf"$\eta$ = {r['eta']:.3g}")
        axes[1].semilogy(r["t"][1:], np.linalg.norm(r["gd"] - r["mod"], axis=1)[1:], "--", color=f"C{j}")
    axes[1].set_title("distance from GD: to gradient flow (solid), to modified flow (dashed)", fontsize=9)
    axes[1].set_xlabel("time t = k eta")
    axes[2].loglog(etas, e1, "o-", label=f"|GD - flow|, slope {s1:.3f}")
    axes[2].loglog(etas, e2, "s-", label=f"|GD - modified flow|, slope {s2:.3f}")
    axes[2].loglog(etas, e1[-1] * etas / etas[-1], ":", color="gray", label=r"$\propto\eta$, $\propto\eta^2$")
    axes[2].loglog(etas, e2[-1] * (etas / etas[-1]) ** 2, ":", color="gray")
    axes[2].set_title(f"distance at T = {T:.3g} against eta", fontsize=9)
    axes[2].set_xlabel(r"$\eta$")
    axes[2].xaxis.set_minor_formatter(plt.NullFormatter())
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, {"lambda_max": lam, "etas": etas, "T": T, "err_flow": e1, "err_modified": e2,
                 "slopes": [s1, s2], "c_H": float(c_h), "claims": claims}
