"""The from-scratch autodiff Tensor and the Hessian tools vs finite differences, an independent
hand-coded backprop, dense eigensolvers and closed-form Hessians."""
from __future__ import annotations

import numpy as np

from verify.checks import CheckResult, relative_error
from verify.finite_differences import central_gradient

#: unary ops checked to first and second order along random directions
UNARY = {"exp": lambda t: t.exp(), "log": lambda t: (t * t + 1.0).log(), "tanh": lambda t: t.tanh(),
         "sigmoid": lambda t: t.sigmoid(), "pow3": lambda t: t ** 3, "div": lambda t: 1.0 / (t * t + 2.0),
         "relu (away from 0)": lambda t: (t + 5.0).relu()}


def _scalar(fn):
    """fn: Tensor -> Tensor, as (f(x) -> float, grad(x) -> ndarray, hvp(x, v) -> ndarray) of sum(fn)."""
    from numeric.autodiff.tensor import Tensor, grad

    def f(x):
        return float(fn(Tensor(x)).sum().item())

    def g(x):
        t = Tensor(x, requires_grad=True)
        return grad(fn(t).sum(), [t])[0].numpy()

    def h(x, v):
        t = Tensor(x, requires_grad=True)
        (gt,) = grad(fn(t).sum(), [t], create_graph=True)
        return grad((gt * Tensor(v)).sum(), [t])[0].numpy()

    return f, g, h


def tensor_derivatives(seed: int = 0) -> list[CheckResult]:
    """Tensor gradients and Hessian-vector products of every op and of an MLP loss vs central finite differences."""
    from numeric.autodiff import datasets, nn
    from numeric.autodiff.tensor import Tensor

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 4))
    v = rng.normal(size=(3, 4))
    other = Tensor(rng.normal(size=(1, 4)))
    mat = Tensor(rng.normal(size=(4, 2)))
    ops = {**UNARY, "broadcast mul": lambda t: t * other, "broadcast add": lambda t: (t + other) ** 2,
           "matmul": lambda t: (t @ mat).tanh(), "mean": lambda t: t.mean(axis=0) ** 2,
           "index (repeated)": lambda t: t[[0, 0, 2]] ** 2, "reshape/T": lambda t: (t.reshape(4, 3).T * 2.0) ** 2}
    worst1 = worst2 = 0.0
    where1 = where2 = ""
    for name, fn in ops.items():
        f, g, h = _scalar(fn)
        fd = central_gradient(lambda y: f(y.reshape(x.shape)), x.ravel(), h=1e-6, richardson=False).value
        fd = fd.reshape(x.shape)
        e1 = relative_error(g(x), fd)
        e2 = relative_error(h(x, v), (g(x + 1e-5 * v) - g(x - 1e-5 * v)) / 2e-5)
        if e1 > worst1:
            worst1, where1 = e1, name
        if e2 > worst2:
            worst2, where2 = e2, name
    out = [CheckResult("tensor/first-derivatives", f"Tensor gradients of {len(ops)} ops vs central differences "
                       "(h = 1e-6)", worst1, 1e-7, f"worst: {where1}"),
           CheckResult("tensor/hvp", "double-backward Hessian-vector products vs central differences of the "
                       "gradient (h = 1e-5)", worst2, 1e-6, f"worst: {where2}")]
    X, y = datasets.two_moons(64, 0.1, seed)
    model = nn.MLP([2, 16, 16, 2], activation="tanh", seed=seed)
    f, g, hvp = nn.loss_fn(model, X, y, loss="ce")
    w = nn.flatten(model.parameters())
    d = rng.normal(size=w.size)
    fd_dir = (f(w + 1e-6 * d) - f(w - 1e-6 * d)) / 2e-6
    out.append(CheckResult("tensor/mlp-gradient", "MLP cross-entropy gradient along a random direction vs central "
                           "differences", abs(g(w) @ d - fd_dir) / max(1.0, abs(fd_dir)), 1e-7, f"{w.size} parameters"))
    hd = (g(w + 1e-5 * d) - g(w - 1e-5 * d)) / 2e-5
    out.append(CheckResult("tensor/mlp-hvp", "exact MLP Hessian-vector product vs central differences of the "
                           "gradient", relative_error(hvp(w, d), hd), 1e-6, ""))
    arrays = [p.numpy() for p in model.parameters()]
    _, manual = nn.numpy_mlp_loss_and_grad(arrays, X, y, "tanh", "ce")
    out.append(CheckResult("tensor/mlp-vs-manual-backprop", "Tensor MLP gradient vs hand-coded NumPy backprop "
                           "(independent implementation)", relative_error(g(w), np.concatenate([a.ravel() for a in manual])),
                           1e-12, ""))
    return out


def hessian_tools(seed: int = 0) -> list[CheckResult]:
    """Hessians of least squares and logistic regression (Tensor HVPs) vs closed forms; Lanczos and power iteration vs eigvalsh."""
    from numeric.autodiff import hessian
    from numeric.autodiff.tensor import Tensor, grad

    rng = np.random.default_rng(seed)
    n, d = 80, 12
    X = rng.normal(size=(n, d)) * np.linspace(0.2, 3.0, d)
    y = rng.normal(size=n)
    labels = (rng.uniform(size=n) < 0.5).astype(float)
    Xt = Tensor(X)

    def tensor_hvp(loss):
        def hvp(w, v):
            t = Tensor(w, requires_grad=True)
            (gt,) = grad(loss(t), [t], create_graph=True)
            return grad((gt * Tensor(v)).sum(), [t])[0].numpy()
        return hvp

    w0 = rng.normal(size=d) * 0.3
    ls = tensor_hvp(lambda t: (((Xt @ t) - Tensor(y)) ** 2).sum() * (0.5 / n))
    lam = 1e-2
    logit = tensor_hvp(lambda t: ((1.0 + (Xt @ t).exp()).log() - Tensor(labels) * (Xt @ t)).sum() * (1.0 / n)
                       + (t * t).sum() * (lam / 2))
    p = 1 / (1 + np.exp(-X @ w0))
    closed = {"least-squares": (ls, X.T @ X / n), "logistic": (logit, X.T @ (X * (p * (1 - p))[:, None]) / n
                                                               + lam * np.eye(d))}
    out = []
    for name, (hvp, H) in closed.items():
        dense = hessian.dense_hessian(lambda v, hvp=hvp: hvp(w0, v), d)
        out.append(CheckResult(f"hessian/{name}-closed-form", "dense Hessian from Tensor HVPs vs the closed form",
                               relative_error(dense, H), 1e-12, ""))
        true = np.sort(np.linalg.eigvalsh(H))[::-1][:3]
        for method in ("lanczos", "power"):
            vals, _, used = hessian.top_eigenvalues(lambda v, hvp=hvp: hvp(w0, v), d, k=3, method=method, seed=seed)
            out.append(CheckResult(f"hessian/{name}-top3-{method}", f"top-3 eigenvalues by {method} vs "
                                   "numpy.linalg.eigvalsh of the closed form", relative_error(np.asarray(vals)[:3], true),
                                   1e-6, f"{used} HVPs"))
    return out
