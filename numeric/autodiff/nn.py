"""Multilayer perceptrons on :mod:`numeric.autodiff.tensor`, their losses, flat-vector views for curvature work, and
an independent hand-written NumPy forward/backward (manual backprop) to test the autodiff against.

``MLP(sizes=[d_0, ..., d_L])`` maps a batch X of shape (N, d_0) (one example per row) to (N, d_L)::

    h_0 = X,   z_l = h_{l-1} W_l + b_l,   h_l = phi(z_l) for l < L,   output = z_L   (linear last layer)

with W_l of shape (d_{l-1}, d_l).  The output is a score (regression value or logit): the losses apply the
link function (softmax, sigmoid) themselves, in a numerically stable way.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from numeric.validation import _int, _real, _vector
from numeric.autodiff.tensor import Parameter, Tensor, concatenate, grad, logsumexp, no_grad, softmax_cross_entropy
from numeric.autodiff.tensor import _const
from numeric.autodiff.tensor import mse as _tensor_mse

__all__ = ["Layer", "MLP", "mse", "cross_entropy", "binary_cross_entropy_with_logits", "flatten",
           "unflatten_into", "loss_fn", "numpy_mlp_loss_and_grad"]

_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
_LOSSES = ("mse", "ce", "bce")


@dataclass(frozen=True, eq=False)
class Layer:
    """One affine map z = h W + b (b None without bias) followed by ``activation`` ("linear" = identity)."""

    W: Parameter
    b: Parameter | None
    activation: str

    @property
    def fan_in(self) -> int:
        """Input width d_{l-1}."""
        return self.W.shape[0]

    @property
    def fan_out(self) -> int:
        """Output width d_l."""
        return self.W.shape[1]


def _phi(z: Tensor, activation: str) -> Tensor:
    """Apply the named activation to a Tensor."""
    return z if activation == "linear" else getattr(z, activation)()


class MLP:
    """Fully connected network with ``activation`` on hidden layers and a linear output layer.

    Initialization (biases are zero), W_l ~ N(0, s^2) with
      ``"xavier"`` (Glorot normal)  s = sqrt(2 / (fan_in + fan_out)),
      ``"he"``                      s = sqrt(2 / fan_in),
      a number g >= 0 (a gain)      s = g / sqrt(fan_in)   (g = 1: variance-preserving for linear layers;
                                                            g = 0: all-zero weights, a perfectly symmetric start).
    ``seed`` fixes the draw (``np.random.default_rng(seed)``, layers drawn in order).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", init="xavier", seed: int = 0,
                 bias: bool = True):
        if isinstance(sizes, np.ndarray):
            sizes = sizes.tolist()
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"sizes must be a list of at least 2 layer widths [d_in, ..., d_out], got {sizes!r}")
        self.sizes = tuple(_int(f"sizes[{i}]", s, 1) for i, s in enumerate(sizes))
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {activation!r}")
        if not (init in ("xavier", "he") or isinstance(init, numbers.Real) and not isinstance(init, bool)):
            raise ValueError(f"init must be 'xavier', 'he' or a gain >= 0, got {init!r}")
        gain = None if isinstance(init, str) else _real("init", init, 0.0, strict=False)
        if not isinstance(bias, bool):
            raise ValueError(f"bias must be True or False, got {bias!r}")
        self.activation, self.init, self.seed, self.bias = activation, init, _int("seed", seed, 0), bias
        rng = np.random.default_rng(self.seed)
        layers = []
        for k, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            std = {"xavier": np.sqrt(2.0 / (fan_in + fan_out)), "he": np.sqrt(2.0 / fan_in)}.get(init) \
                if gain is None else gain / np.sqrt(fan_in)
            W = Parameter(rng.standard_normal((fan_in, fan_out)) * std, name=f"W{k}")
            b = Parameter(np.zeros(fan_out), name=f"b{k}") if bias else None
            layers.append(Layer(W, b, activation if k < len(self.sizes) - 1 else "linear"))
        self.layers: tuple[Layer, ...] = tuple(layers)

    def parameters(self) -> list[Parameter]:
        """[W1, b1, W2, b2, ...] (no b's without bias): the model's state, the same objects each call."""
        return [p for layer in self.layers for p in (layer.W, layer.b) if p is not None]

    @property
    def n_params(self) -> int:
        """Total number of scalar parameters."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Set ``.grad = None`` on every parameter."""
        for p in self.parameters():
            p.zero_grad()

    def __repr__(self) -> str:
        return (f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, init={self.init!r}, "
                f"seed={self.seed}, bias={self.bias})")

    def _input(self, x) -> Tensor:
        # an ndarray becomes a constant sharing its memory (it is only read); Tensor(x) would copy it every call
        t = x if isinstance(x, Tensor) else _const(x, "x") if isinstance(x, np.ndarray) else Tensor(x)
        if t.ndim != 2 or t.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (N, {self.sizes[0]}) (one example per row), got {t.shape}")
        return t

    def _forward(self, params: Sequence[Tensor], x: Tensor, record: bool = False):
        """Output for the given parameter tensors (in ``parameters()`` order); with ``record`` every layer."""
        it, h, acts = iter(params), x, []
        for layer in self.layers:
            z = h @ next(it)
            if layer.b is not None:
                z = z + next(it)
            h = _phi(z, layer.activation)
            acts.append({"pre": z, "post": h})
        return acts if record else h

    def __call__(self, x) -> Tensor:
        """The output z_L, shape (N, d_L), for inputs x of shape (N, d_0) (ndarray or Tensor)."""
        return self._forward(self.parameters(), self._input(x))

    def activations(self, x) -> list[dict[str, Tensor]]:
        """[{"pre": z_l, "post": h_l} for l = 1..L] in one graph (the last "post" is the output).

        To see how gradients shrink or grow with depth: ``acts = model.activations(X)``,
        ``L = mse(acts[-1]["post"], Y)``, ``grads = grad(L, [a["pre"] for a in acts])``.
        """
        return self._forward(self.parameters(), self._input(x), record=True)


# --------------------------------------------------------------------------- #
# Losses (on Tensors).
# --------------------------------------------------------------------------- #
def mse(pred, target) -> Tensor:
    """(1/n) sum_i (pred_i - target_i)^2 over all n entries; shapes must match (no 1/2 factor)."""
    return _tensor_mse(pred, target)


def cross_entropy(logits, labels) -> Tensor:
    """(1/N) sum_n [logsumexp(z_n) - z_{n, y_n}]: softmax cross-entropy, logits (N, C), integer labels (N,)."""
    return softmax_cross_entropy(logits, labels)


def binary_cross_entropy_with_logits(logits, targets) -> Tensor:
    """(1/n) sum_i [softplus(z_i) - y_i z_i] = mean of -y log s(z) - (1 - y) log(1 - s(z)), s = sigmoid.

    softplus(z) = log(1 + e^z) is computed as logsumexp([0, z]), stable for any z.  Targets in [0, 1],
    same shape as the logits.
    """
    z = logits if isinstance(logits, Tensor) else Tensor(logits)
    y = np.asarray(targets.data if isinstance(targets, Tensor) else targets, dtype=float)
    if y.shape != z.shape:
        raise ValueError(f"targets must have the logits' shape {z.shape}, got {y.shape}")
    if not np.all((y >= 0) & (y <= 1)):
        raise ValueError("targets must lie in [0, 1] (class probabilities or 0/1 labels)")
    pair = concatenate([Tensor(np.zeros(z.shape + (1,))), z.reshape(z.shape + (1,))], axis=z.ndim)
    return (logsumexp(pair, axis=z.ndim) - z * y).mean()


def _targets(y, n: int, out_dim: int, loss: str) -> np.ndarray:
    """Validate targets for ``loss`` and shape them: (N, out_dim) floats, or (N,) int labels for "ce"."""
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {', '.join(_LOSSES)}, got {loss!r}")
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    if y.dtype.kind not in "biuf" or y.shape[:1] != (n,):
        raise ValueError(f"y must be a numeric array with one row per example ({n}), got shape {y.shape}")
    if loss == "ce":
        if y.ndim != 1 or not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= out_dim:
            raise ValueError(f"'ce' needs y of shape ({n},) with integer labels in [0, {out_dim}), got {y.shape}")
        return y.astype(np.int64)
    y = y.astype(float).reshape(n, -1)
    if y.shape != (n, out_dim):
        raise ValueError(f"y must have shape ({n}, {out_dim}) (or ({n},) for one output), got {y.shape}")
    if loss == "bce" and not np.all((y >= 0) & (y <= 1)):
        raise ValueError("'bce' needs targets in [0, 1]")
    return y


def _apply_loss(out: Tensor, y: np.ndarray, loss: str) -> Tensor:
    return {"mse": mse, "ce": cross_entropy, "bce": binary_cross_entropy_with_logits}[loss](out, y)


# --------------------------------------------------------------------------- #
# Flat-vector views: theta in R^n_params.
# --------------------------------------------------------------------------- #
def flatten(params: Sequence[Tensor]) -> np.ndarray:
    """theta = concat(vec(W1), b1, vec(W2), ...): a new 1-D array (row-major ravel of each parameter)."""
    if not params:
        raise ValueError("params must be a non-empty list of Tensors, e.g. model.parameters()")
    return np.concatenate([np.asarray(p.data, dtype=float).ravel() for p in params])


def unflatten_into(params: Sequence[Tensor], vec) -> None:
    """Inverse of :func:`flatten`: copy consecutive blocks of ``vec`` into each parameter's ``.data``."""
    n = sum(p.size for p in params)
    v, offset = _vector("vec", vec, n), 0
    for p in params:
        p.data = v[offset:offset + p.size].reshape(p.shape).copy()
        offset += p.size


def loss_fn(model: MLP, X, y, loss: str = "mse") -> tuple[Callable, Callable, Callable]:
    """(f, grad, hvp) of L(theta) = loss(model_theta(X), y) on flat parameter vectors theta.

    f(theta) -> float;  grad(theta) -> dL/dtheta;  hvp(theta, v) -> H(theta) v, exact by double backward
    (d/dtheta <dL/dtheta, v>).  ``loss`` is "mse" (y (N,) or (N, d_L)), "ce" (integer labels (N,)) or "bce"
    (targets in [0, 1], one output).  The model's own parameters are never modified.
    """
    if not isinstance(model, MLP):
        raise ValueError(f"model must be an MLP, got {type(model).__name__}")
    Xt = model._input(np.array(X, dtype=float) if not isinstance(X, Tensor) else X.detach())
    Y = _targets(y, Xt.shape[0], model.sizes[-1], loss)
    shapes = [p.shape for p in model.parameters()]
    n = sum(int(np.prod(s)) for s in shapes)

    def build(theta):
        t, ps, offset = _vector("theta", theta, n), [], 0
        for s in shapes:
            size = int(np.prod(s))
            ps.append(Parameter(t[offset:offset + size].reshape(s)))
            offset += size
        return ps, _apply_loss(model._forward(ps, Xt), Y, loss)

    def f(theta) -> float:
        with no_grad():
            return build(theta)[1].item()

    def gradient(theta) -> np.ndarray:
        ps, L = build(theta)
        return np.concatenate([g.data.ravel() for g in grad(L, ps)])

    def hvp(theta, v) -> np.ndarray:
        ps, L = build(theta)
        v = _vector("v", v, n)
        gs = grad(L, ps, create_graph=True)
        offsets = np.cumsum([0] + [p.size for p in ps])
        dot = sum((g * v[offsets[i]:offsets[i + 1]].reshape(g.shape)).sum() for i, g in enumerate(gs))
        return np.concatenate([h.data.ravel() for h in grad(dot, ps)])

    return f, gradient, hvp


# --------------------------------------------------------------------------- #
# Independent implementation: plain NumPy, manual backprop, no Tensor.
# --------------------------------------------------------------------------- #
_NP_PHI = {  # name -> (phi, phi' written via z and h = phi(z))
    "tanh": (np.tanh, lambda z, h: 1.0 - h ** 2),
    "sigmoid": (lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)), lambda z, h: h * (1.0 - h)),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z, h: (z > 0).astype(float)),
    "linear": (lambda z: z, lambda z, h: np.ones_like(z)),
}


def numpy_mlp_loss_and_grad(params_arrays: Sequence, X, y, activation: str = "tanh",
                            loss: str = "mse") -> tuple[float, list[np.ndarray]]:
    """Loss and gradients of an MLP by hand-written backprop, returned in the order of ``params_arrays``.

    ``params_arrays`` = [W1, b1, W2, b2, ...] (2-D weights, each optionally followed by its 1-D bias).
    Forward as in the module docstring; backward (delta_L = dL/dz_L):

        dW_l = h_{l-1}^T delta_l,   db_l = sum_n delta_l,   delta_{l-1} = (delta_l W_l^T) * phi'(z_{l-1})

    with delta_L = 2 (z_L - Y) / (N d_L) for "mse", (softmax(z_L) - onehot(y)) / N for "ce" and
    (sigmoid(z_L) - y) / N for "bce".
    """
    if activation not in _NP_PHI:
        raise ValueError(f"activation must be one of {', '.join(_NP_PHI)}, got {activation!r}")
    arrays = [np.asarray(a, dtype=float) for a in params_arrays]
    layers = []  # [W, b or None]
    for i, a in enumerate(arrays):
        if a.ndim == 2 and (not layers or a.shape[0] == layers[-1][0].shape[1]):
            layers.append([a, None])
        elif a.ndim == 1 and layers and layers[-1][1] is None and a.shape == (layers[-1][0].shape[1],):
            layers[-1][1] = a
        else:
            raise ValueError(f"params_arrays[{i}] with shape {a.shape} does not continue the [W1, b1, W2, ...] chain")
    if not layers:
        raise ValueError("params_arrays must hold at least one weight matrix")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != layers[0][0].shape[0]:
        raise ValueError(f"X must have shape (N, {layers[0][0].shape[0]}), got {X.shape}")
    N = X.shape[0]
    Y = _targets(y, N, layers[-1][0].shape[1], loss)
    phi, dphi = _NP_PHI[activation]
    hs, zs = [X], []
    for k, (W, b) in enumerate(layers):
        z = hs[-1] @ W + (0.0 if b is None else b)
        zs.append(z)
        hs.append(phi(z) if k < len(layers) - 1 else z)
    z = zs[-1]
    if loss == "mse":
        r = z - Y
        value, delta = np.mean(r ** 2), 2.0 * r / r.size
    elif loss == "ce":
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        value = np.mean(lse - z[np.arange(N), Y])
        delta = np.exp(z - lse[:, None])
        delta[np.arange(N), Y] -= 1.0
        delta /= N
    else:  # bce: softplus(z) - y z, softplus(z) = max(z, 0) + log(1 + e^{-|z|})
        value = np.mean(np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))) - Y * z)
        delta = (0.5 * (1.0 + np.tanh(0.5 * z)) - Y) / z.size
    grads = []
    for k in range(len(layers) - 1, -1, -1):
        W, b = layers[k]
        if b is not None:
            grads.append(delta.sum(axis=0))
        grads.append(hs[k].T @ delta)
        if k > 0:
            delta = (delta @ W.T) * dphi(zs[k - 1], hs[k])
    return float(value), grads[::-1]
