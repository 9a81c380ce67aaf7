"""A minimal reverse-mode automatic differentiation Tensor on NumPy (float64).

An operation on tensors that require grad records its parents and a backward rule; ``L.backward()``
visits that graph in reverse topological order and applies the chain rule

    dL/dx = sum over children c of x of (dc/dx)^T dL/dc,

accumulating ``.grad`` on the leaves (tensors made by the user with ``requires_grad=True``).  NumPy
broadcasting is allowed; the gradient of a broadcast operand is summed back to its shape.

Every backward rule is written with Tensor operations.  They normally run without recording, and the hot
ones (matmul, broadcast sums, tanh, sigmoid, softmax cross-entropy) then compute the same values on plain
arrays (fast); with ``create_graph=True`` they are recorded, so a gradient is itself differentiable and a
second pass gives exact second derivatives, e.g. the Hessian-vector product H v = d/dw <dL/dw, v>::

    g, = grad(L, [w], create_graph=True)
    hv, = grad((g * v).sum(), [w])

Parameters versus intermediate tensors
--------------------------------------
A :class:`Parameter` is *state* of the learning dynamical system: a leaf that always requires grad, whose
``.data`` an optimizer replaces between steps (theta_{t+1} = step(theta_t, g_t)) and whose ``.grad``
accumulates until :meth:`Tensor.zero_grad`.  The result of an operation is always a plain :class:`Tensor`:
a transient value of one forward pass that lives as long as its graph; it is never a Parameter and its
``.data`` cannot be replaced.  Only parameters carry history from one step to the next.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Sequence

import numpy as np

__all__ = ["Tensor", "Parameter", "no_grad", "is_grad_enabled", "grad", "zero_grad", "exp", "log", "tanh",
           "sigmoid", "relu", "logsumexp", "softmax", "softmax_cross_entropy", "mse", "stack", "concatenate"]

_GRAD_ENABLED = [True]


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    """Context manager setting whether operations record a graph."""
    prev, _GRAD_ENABLED[0] = _GRAD_ENABLED[0], enabled
    try:
        yield
    finally:
        _GRAD_ENABLED[0] = prev


def no_grad():
    """``with no_grad():`` operations inside record no graph (their results have requires_grad=False)."""
    return _grad_mode(False)


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad` (or inside a backward pass without create_graph)."""
    return _GRAD_ENABLED[0]


def _as_data(x, name: str = "data") -> np.ndarray:
    """float64 ndarray view of x (a Tensor, number or array-like of real numbers); TypeError otherwise."""
    if isinstance(x, Tensor):
        return x._data
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        hint = "; use stack()/concatenate() to combine Tensors" if arr.dtype.kind == "O" else ""
        raise TypeError(f"{name} must hold real numbers, got {type(x).__name__} with dtype {arr.dtype}{hint}")
    return arr.astype(np.float64, copy=False)


def _const(x, name: str | None = None):
    """x as a Tensor (a constant if it is a number/array); None, or TypeError if ``name``, for other types."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (numbers.Real, np.ndarray)):
        return _node(_as_data(x, name or "operand"), (), None, "const")
    if name:
        raise TypeError(f"{name} must be a Tensor, a number or an ndarray, got {type(x).__name__}")
    return None


def _node(data, parents: tuple, backward, op: str) -> "Tensor":
    """Result of an operation; records parents and backward rule only if grad mode is on and needed.

    ``backward(g, out)`` returns one zero-argument rule per parent, each giving that parent's gradient
    contribution; the engine calls only the rules it needs.
    """
    out = Tensor.__new__(Tensor)
    out._data, out.grad, out._op = np.asarray(data, dtype=np.float64), None, op
    if _GRAD_ENABLED[0] and any(p.requires_grad for p in parents):
        out.requires_grad, out._parents, out._backward = True, parents, backward
    else:
        out.requires_grad, out._parents, out._backward = False, (), None
    return out


def _unbroadcast(g: "Tensor", shape: tuple) -> "Tensor":
    """Sum g over the axes NumPy broadcasting added or stretched, so the result has ``shape``."""
    if g._data.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
    if not _GRAD_ENABLED[0]:  # not recording: the same sum without graph nodes
        return _node(np.sum(g._data, axis=axes, keepdims=True).reshape(shape), (), None, "sum")
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _axes(axis, ndim: int) -> tuple:
    """Normalize ``axis`` (None, int or tuple of ints) to a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if isinstance(axis, numbers.Integral) else axis
    if not isinstance(items, (tuple, list)) or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                                       and -ndim <= a < ndim for a in items):
        raise ValueError(f"axis must be None, an int or a tuple of ints in [-{ndim}, {ndim}), got {axis!r}")
    out = [int(a) % ndim for a in items]
    if len(set(out)) != len(out):
        raise ValueError(f"axis contains a repeated axis: {axis!r}")
    return tuple(sorted(out))


# --------------------------------------------------------------------------- #
# Primitive operations: forward on NumPy, backward rules in Tensor operations.
# --------------------------------------------------------------------------- #
def _binary(fn, rule_a, rule_b, op: str):
    """Broadcasting y = fn(a, b) with contributions rule_a(g, a, b, y), rule_b(g, a, b, y) summed to shape."""
    def apply(a, b):
        def back(g, out):
            return (lambda: _unbroadcast(rule_a(g, a, b, out), a.shape),
                    lambda: _unbroadcast(rule_b(g, a, b, out), b.shape))

        return _node(fn(a._data, b._data), (a, b), back, op)
    return apply


_add = _binary(np.add, lambda g, a, b, y: g, lambda g, a, b, y: g, "add")                    # da = g, db = g
_sub = _binary(np.subtract, lambda g, a, b, y: g, lambda g, a, b, y: -g, "sub")              # da = g, db = -g
_mul = _binary(np.multiply, lambda g, a, b, y: g * b, lambda g, a, b, y: g * a, "mul")       # da = g b, db = g a
_div = _binary(np.divide, lambda g, a, b, y: g / b, lambda g, a, b, y: -(g * y) / b, "div")  # db = -g a/b^2


def _neg(a):
    """-a;  da = -g."""
    return _node(-a._data, (a,), lambda g, out: (lambda: -g,), "neg")


_pow_ab = _binary(np.power, lambda g, a, b, y: g * b * a ** (b - 1.0), lambda g, a, b, y: g * y * a.log(), "pow")


def _pow(a, b):
    """a ** b.  Constant scalar b = p: da = g p a^(p-1) (0 for p = 0).  Otherwise elementwise with
    da = g b a^(b-1), db = g a^b log a (a > 0 is then required when b requires grad)."""
    if not b.requires_grad and b.ndim == 0:
        p = float(b._data)

        def back(g, out):
            return (lambda: g * (p * a ** (p - 1.0)) if p != 0 else g * 0.0,)
        return _node(a._data ** p, (a,), back, "pow")
    if b.requires_grad and _GRAD_ENABLED[0] and not np.all(a._data > 0):
        raise ValueError("a ** b with a differentiable exponent b needs a positive base a (d/db = a^b log a)")
    return _pow_ab(a, b)


def _matmul(a, b):
    """a @ b, with NumPy's rules (a 1-D operand is a row on the left, a column on the right; batched 3-D+);
    da = g b^T, db = a^T g (last two axes swapped), summed over broadcast batch axes."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul needs operands with at least 1 dimension, got shapes {a.shape} and {b.shape}")
    k1, k2 = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k1 != k2:
        raise ValueError(f"matmul shapes {a.shape} @ {b.shape} do not align: {k1} != {k2}")
    if a.ndim == 1 or b.ndim == 1:
        shape = np.matmul(a._data, b._data).shape
        return _matmul(a.reshape(1, k1) if a.ndim == 1 else a, b.reshape(k2, 1) if b.ndim == 1 else b).reshape(shape)

    def mt(t):
        return t.transpose(*range(t.ndim - 2), t.ndim - 1, t.ndim - 2)

    def back(g, out):
        if not _GRAD_ENABLED[0]:  # not recording: the same products on the arrays, no transpose nodes
            return (lambda: _unbroadcast(_node(g._data @ np.swapaxes(b._data, -1, -2), (), None, "mm"), a.shape),
                    lambda: _unbroadcast(_node(np.swapaxes(a._data, -1, -2) @ g._data, (), None, "mm"), b.shape))
        return (lambda: _unbroadcast(g @ mt(b), a.shape), lambda: _unbroadcast(mt(a) @ g, b.shape))
    return _node(a._data @ b._data, (a, b), back, "matmul")


def _unary(fn, rule, op: str, doc: str, fast=None):
    """Elementwise y = fn(x) with dx = rule(g, x, y); also a module function accepting arrays.  ``fast(g, y)``,
    if given, computes the same dx on arrays with one temporary; used when no graph is recorded."""
    def back(a, g, out):
        if fast is None or _GRAD_ENABLED[0]:
            return rule(g, a, out)
        return _node(fast(g._data, out._data), (), None, op + "_grad")

    def apply(a):
        a = _const(a, "x")
        return _node(fn(a._data), (a,), lambda g, out: (lambda: back(a, g, out),), op)
    apply.__name__, apply.__doc__ = op, doc
    return apply


def _tanh_grad(g, y):
    """g * (1 - y^2) in one temporary."""
    t = np.multiply(y, y, out=np.empty_like(y))  # (out= keeps a 0-d result an array)
    return np.multiply(g, np.subtract(1.0, t, out=t), out=t)


def _sigmoid_grad(g, y):
    """g * (y (1 - y)) in one temporary."""
    t = np.subtract(1.0, y, out=np.empty_like(y))
    return np.multiply(g, np.multiply(y, t, out=t), out=t)


exp = _unary(np.exp, lambda g, a, y: g * y, "exp", "e^x elementwise;  d/dx = e^x.")
log = _unary(np.log, lambda g, a, y: g / a, "log", "Natural log elementwise;  d/dx = 1/x.")
tanh = _unary(np.tanh, lambda g, a, y: g * (1.0 - y * y), "tanh", "tanh elementwise;  d/dx = 1 - tanh^2 x.",
              _tanh_grad)
sigmoid = _unary(lambda x: np.exp(-np.logaddexp(0.0, -x)), lambda g, a, y: g * (y * (1.0 - y)), "sigmoid",
                 "1 / (1 + e^-x) elementwise (stable);  d/dx = s (1 - s).", _sigmoid_grad)
relu = _unary(lambda x: np.maximum(x, 0.0), lambda g, a, y: g * _const((a._data > 0).astype(np.float64)),
              "relu", "max(x, 0) elementwise;  d/dx = 1[x > 0] (0 at x = 0).")


def _sum(a, axis, keepdims):
    """sum over axes;  da = g broadcast back to a's shape."""
    axes = _axes(axis, a.ndim)
    kshape = tuple(1 if i in axes else s for i, s in enumerate(a.shape))

    def back(g, out):
        return (lambda: _broadcast_to(g.reshape(kshape), a.shape),)
    return _node(np.sum(a._data, axis=axes, keepdims=keepdims), (a,), back, "sum")


def _broadcast_to(a, shape):
    """a broadcast to shape;  da = g summed back to a's shape."""
    shape = tuple(shape)
    if a.shape == shape:
        return a
    return _node(np.broadcast_to(a._data, shape), (a,), lambda g, out: (lambda: _unbroadcast(g, a.shape),), "expand")


def _reshape(a, shape):
    """a with a new shape;  da = g reshaped back."""
    return _node(a._data.reshape(shape), (a,), lambda g, out: (lambda: g.reshape(a.shape),), "reshape")


def _transpose(a, axes):
    """a with permuted axes;  da = g with the inverse permutation."""
    inverse = tuple(int(i) for i in np.argsort(axes))
    return _node(np.transpose(a._data, axes), (a,), lambda g, out: (lambda: g.transpose(*inverse),), "transpose")


def _getitem(a, idx):
    """a[idx] (basic or integer-array index);  da = g scatter-added into zeros of a's shape (repeats add)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if any(isinstance(i, Tensor) for i in items):
        raise TypeError("index a Tensor with ints, slices or integer NumPy arrays, not with a Tensor")
    items = tuple(np.asarray(i) if isinstance(i, list) else i for i in items)
    idx = items if isinstance(idx, tuple) else items[0]
    return _node(a._data[idx], (a,), lambda g, out: (lambda: _scatter_add(g, idx, a.shape),), "index")


def _scatter_add(v, idx, shape):
    """zeros(shape) with v added at idx (np.add.at);  dv = g[idx]."""
    data = np.zeros(shape)
    np.add.at(data, idx, v._data)
    return _node(data, (v,), lambda g, out: (lambda: g[idx],), "scatter")


def _lse(x: np.ndarray, axes: tuple) -> np.ndarray:
    """log sum exp of an array over axes (kept as size-1 axes), as m + log sum e^(x - m), m = max (0 if infinite)."""
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))


def _logsumexp(a, axis, keepdims):
    """m + log sum exp(a - m), m = max (stable);  da = g softmax(a)."""
    axes = _axes(axis, a.ndim)
    kshape = tuple(1 if i in axes else s for i, s in enumerate(a.shape))
    lse = _lse(a._data, axes)

    def back(g, out):
        return (lambda: g.reshape(kshape) * (a - out.reshape(kshape)).exp(),)
    return _node(lse if keepdims else lse.reshape(tuple(s for i, s in enumerate(a.shape) if i not in axes)),
                 (a,), back, "logsumexp")


def _concatenate(ts, axis):
    """concatenate along axis;  d t_i = g sliced back to t_i's block."""
    bounds = np.cumsum([0] + [t.shape[axis] for t in ts])

    def cut(g, i):
        return g[(slice(None),) * axis + (slice(int(bounds[i]), int(bounds[i + 1])),)]

    def back(g, out):
        return tuple((lambda i=i: cut(g, i)) for i in range(len(ts)))
    return _node(np.concatenate([t._data for t in ts], axis=axis), tuple(ts), back, "concatenate")


def _binop(fn, reflected=False):
    """Tensor dunder method for ``fn`` accepting Tensors, numbers and arrays on either side."""
    def method(self, other):
        o = _const(other)
        if o is None:
            return NotImplemented
        return fn(o, self) if reflected else fn(self, o)
    return method


# --------------------------------------------------------------------------- #
# The Tensor.
# --------------------------------------------------------------------------- #
class Tensor:
    """A float64 array with an optional gradient; see the module docstring.

    ``Tensor(data, requires_grad=False)`` copies ``data``.  ``.grad`` is None or a Tensor of the same shape.
    """

    __slots__ = ("_data", "grad", "requires_grad", "_parents", "_backward", "_op", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer, so ndarray * Tensor calls Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False):
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad must be True or False, got {requires_grad!r}")
        self._data = np.array(_as_data(data), dtype=np.float64)
        self.grad, self.requires_grad = None, requires_grad
        self._parents, self._backward, self._op = (), None, ""

    @property
    def data(self) -> np.ndarray:
        """The values: a float64 ndarray (shared, not a copy)."""
        return self._data

    @data.setter
    def data(self, value) -> None:
        if self._parents:
            raise ValueError("cannot replace .data of an intermediate tensor (it belongs to a graph); "
                             "replace the data of a leaf such as a Parameter instead")
        self._data = np.asarray(_as_data(value), dtype=np.float64)

    shape = property(lambda self: self._data.shape, doc="The shape tuple.")
    ndim = property(lambda self: self._data.ndim, doc="The number of dimensions.")
    size = property(lambda self: self._data.size, doc="The number of entries.")
    T = property(lambda self: self.transpose(), doc="All axes reversed (a matrix transpose for 2-D).")
    is_leaf = property(lambda self: self._backward is None, doc="True unless produced by a recorded operation.")

    def __repr__(self) -> str:
        extra = f", grad_fn=<{self._op}>" if self._backward else ", requires_grad=True" if self.requires_grad else ""
        return f"{type(self).__name__}({np.array2string(self._data, precision=4, threshold=20)}{extra})"

    def numpy(self) -> np.ndarray:
        """A copy of the values as an ndarray."""
        return self._data.copy()

    def item(self) -> float:
        """The single value of a one-entry tensor as a Python float."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with exactly one entry, got shape {self.shape}")
        return float(self._data.reshape(-1)[0])

    def detach(self) -> "Tensor":
        """A new Tensor sharing the values, with no graph and requires_grad=False."""
        return _node(self._data, (), None, "detach")

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    __add__, __radd__ = _binop(_add), _binop(_add, True)
    __sub__, __rsub__ = _binop(_sub), _binop(_sub, True)
    __mul__, __rmul__ = _binop(_mul), _binop(_mul, True)
    __truediv__, __rtruediv__ = _binop(_div), _binop(_div, True)
    __pow__, __rpow__ = _binop(_pow), _binop(_pow, True)
    __matmul__, __rmatmul__ = _binop(_matmul), _binop(_matmul, True)
    __neg__ = _neg
    __getitem__ = _getitem
    exp, log, tanh, sigmoid, relu = exp, log, tanh, sigmoid, relu

    def sum(self, axis=None, keepdims: bool = False) -> "Tensor":
        """sum over ``axis`` (None: all entries), like ``np.sum``."""
        return _sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False) -> "Tensor":
        """sum over ``axis`` divided by the number of summed entries."""
        count = int(np.prod([self.shape[i] for i in _axes(axis, self.ndim)]))
        return _sum(self, axis, keepdims) * (1.0 / count)

    def reshape(self, *shape) -> "Tensor":
        """The same values with a new shape (``reshape(2, 3)`` or ``reshape((2, 3))``; -1 allowed)."""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if shape == self.shape:
            return self
        return _reshape(self, shape)

    def transpose(self, *axes) -> "Tensor":
        """Permute axes (default: reverse them), like ``np.transpose``."""
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        n, axes = self.ndim, axes or tuple(reversed(range(self.ndim)))
        if not all(isinstance(a, numbers.Integral) and -n <= a < n for a in axes) or \
                sorted(int(a) % n for a in axes) != list(range(n)):
            raise ValueError(f"axes {axes} are not a permutation of the {n} axes of shape {self.shape}")
        return _transpose(self, tuple(int(a) % n for a in axes))

    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Accumulate d self / d leaf into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` (dL/dself, same shape) defaults to 1 for a one-entry tensor.  ``.grad += new`` like torch:
        call :meth:`zero_grad` between steps.  With ``create_graph=True`` the gradients keep a graph.
        """
        if not self.requires_grad:
            raise ValueError("backward() called on a tensor that does not require grad: no leaf with requires_grad="
                             "True (e.g. a Parameter) was used to compute it, or it was made under no_grad()")
        order, grads = _backprop(self, _seed(self, grad, "grad"), None, create_graph)
        with _grad_mode(create_graph):
            for n in order:
                if n._backward is None and id(n) in grads:
                    g = grads[id(n)]
                    n.grad = g if n.grad is None else n.grad + g


class Parameter(Tensor):
    """Learnable state: a leaf Tensor that always requires grad (see the module docstring).

    An optimizer replaces ``.data`` between steps (same shape required); ``.grad`` accumulates across
    ``backward()`` calls until ``zero_grad()``.  Operations on Parameters return plain Tensors.
    """

    def __init__(self, data, name: str | None = None):
        super().__init__(data, requires_grad=True)
        self.name = name

    @property
    def requires_grad(self) -> bool:
        """Always True for a Parameter."""
        return True

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        if value is not True:
            raise ValueError("a Parameter always requires grad; use .detach() or a Tensor for a constant")

    def _set_data(self, value) -> None:
        new = np.asarray(_as_data(value), dtype=np.float64)
        if hasattr(self, "_data") and new.shape != self._data.shape:
            raise ValueError(f"Parameter {self.name or ''} has shape {self._data.shape}; new data has shape "
                             f"{new.shape} (the shape of a Parameter is fixed)")
        self._data = new

    data = property(Tensor.data.fget, _set_data, doc=Tensor.data.__doc__)


# --------------------------------------------------------------------------- #
# The engine.
# --------------------------------------------------------------------------- #
def _seed(out: Tensor, g, name: str) -> Tensor:
    """dL/dout to start a backward pass (1 for a one-entry ``out`` when g is None)."""
    if g is None:
        if out.size != 1:
            raise ValueError(f"{name} must be given for a non-scalar output of shape {out.shape} "
                             f"(e.g. {name}=np.ones({out.shape}) to differentiate its sum)")
        return _node(np.ones(out.shape), (), None, "seed")
    seed = g if isinstance(g, Tensor) else _node(_as_data(g, name), (), None, "seed")
    if seed.shape != out.shape:
        raise ValueError(f"{name} must have the output's shape {out.shape}, got {seed.shape}")
    return seed


def _topo(root: Tensor, targets: set | None) -> tuple:
    """(nodes that require grad reachable from root, every parent before its children; ids of the needed
    ones: targets (None: all leaves) and the nodes on a path to one).  Iterative depth-first search."""
    order, needed, seen, stack = [], set(), {id(root)}, [(root, reversed(root._parents))]  # (parents last first)
    while stack:
        node, parents = stack[-1]
        for p in parents:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                stack.append((p, reversed(p._parents)))
                break
        else:  # all parents done
            stack.pop()
            order.append(node)
            if (id(node) in targets if targets is not None else node._backward is None) or \
                    any(id(p) in needed for p in node._parents):
                needed.add(id(node))
    return order, needed


def _backprop(root: Tensor, seed: Tensor, targets: set | None, create_graph: bool):
    """Reverse sweep; returns (topological order, {id(node): dL/dnode}) for targets (None: all leaves)."""
    order, needed = _topo(root, targets)
    grads = {id(root): seed}
    with _grad_mode(create_graph):
        for node in reversed(order):
            key = id(node)
            if node._backward is None or key not in grads:
                continue
            g = grads[key] if targets is not None and key in targets else grads.pop(key)
            for p, rule in zip(node._parents, node._backward(g, node)):
                if id(p) in needed:
                    gp, prev = rule(), grads.get(id(p))
                    grads[id(p)] = gp if prev is None else prev + gp
    return order, grads


def grad(output: Tensor, inputs: Sequence[Tensor], grad_output=None, create_graph: bool = False) -> list:
    """[d output / d x for x in inputs] (times ``grad_output`` for a non-scalar output); no ``.grad`` is touched.

    Inputs may be leaves or intermediate tensors that require grad.  An input the output does not depend on
    through the graph gets zeros (also when ``output`` itself requires no grad, e.g. a constant gradient).
    With ``create_graph=True`` the results are differentiable, giving Hessian-vector products.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"output must be a Tensor, got {type(output).__name__}")
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(f"inputs[{i}] must be a Tensor that requires grad (e.g. a Parameter), got {x!r}")
    seed = _seed(output, grad_output, "grad_output")
    grads = _backprop(output, seed, {id(x) for x in inputs}, create_graph)[1] if output.requires_grad else {}
    return [grads[id(x)] if id(x) in grads else _node(np.zeros(x.shape), (), None, "zeros") for x in inputs]


def zero_grad(params: Sequence[Tensor]) -> None:
    """Set ``.grad = None`` on every tensor in ``params``."""
    for p in params:
        p.grad = None


# --------------------------------------------------------------------------- #
# Functions.
# --------------------------------------------------------------------------- #
def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log sum_i e^{x_i} over ``axis``, computed as m + log sum e^{x_i - m} with m = max x;  d/dx = softmax(x)."""
    return _logsumexp(_const(x, "x"), axis, keepdims)


def softmax(x, axis: int = -1) -> Tensor:
    """e^{x_i} / sum_j e^{x_j} along ``axis`` = exp(x - logsumexp(x))."""
    x = _const(x, "x")
    return exp(x - _logsumexp(x, axis, True))


def softmax_cross_entropy(logits, labels) -> Tensor:
    """Mean cross-entropy of integer labels under softmax(logits): (1/N) sum_n [logsumexp(z_n) - z_{n, y_n}].

    logits (N, C), labels ints in [0, C) of shape (N,).  Fused and stable for any finite logits;
    gradient (softmax(z) - onehot(y)) / N.
    """
    z = _const(logits, "logits")
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must have shape (N, C) with N, C >= 1, got {z.shape}")
    (n, c), y = z.shape, np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if y.shape != (n,) or y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise ValueError(f"labels must be {n} integers (shape ({n},)), got shape {y.shape} and dtype {y.dtype}")
    y, rows = y.astype(np.int64), np.arange(n)
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"labels must lie in [0, {c}) for {c} classes, got values in [{y.min()}, {y.max()}]")
    lse = _lse(z._data, (1,))

    def rule(g):
        if _GRAD_ENABLED[0]:  # recording (create_graph): softmax in Tensor operations, differentiable
            onehot = np.zeros(z.shape)
            onehot[rows, y] = 1.0
            return (softmax(z, axis=1) - onehot) * (g * (1.0 / n))
        p = np.exp(z._data - lse)  # the same values, reusing the forward pass's logsumexp
        p[rows, y] -= 1.0
        p *= g._data * (1.0 / n)
        return _node(p, (), None, "softmax_cross_entropy_grad")
    return _node((lse[:, 0] - z._data[rows, y]).sum() / n, (z,), lambda g, out: (lambda: rule(g),),
                 "softmax_cross_entropy")


def mse(pred, target) -> Tensor:
    """Mean squared error (1/n) sum_i (pred_i - target_i)^2 over all n entries (no 1/2 factor)."""
    p, t = _const(pred, "pred"), _const(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {p.shape} and {t.shape}")
    d = p - t
    return (d * d).mean()


def concatenate(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis, like ``np.concatenate``."""
    ts = [_const(t, "tensors[i]") for t in tensors]
    if not ts:
        raise ValueError("concatenate needs at least one tensor")
    (axis,) = _axes(axis, ts[0].ndim)
    return _concatenate(ts, axis)


def stack(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis, like ``np.stack``."""
    ts = [_const(t, "tensors[i]") for t in tensors]
    if not ts or any(t.shape != ts[0].shape for t in ts):
        raise ValueError(f"stack needs one or more tensors of equal shape, got {[t.shape for t in ts]}")
    (axis,) = _axes(axis, ts[0].ndim + 1)
    shape = ts[0].shape[:axis] + (1,) + ts[0].shape[axis:]
    return _concatenate([t.reshape(shape) for t in ts], axis)
