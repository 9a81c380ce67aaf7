"""Tests for numeric.autodiff.tensor: every op against central finite differences (first and second order),
hand-computed derivatives, algebraic identities (hypothesis) and the engine's semantics.

Error budget of the finite-difference checks (float64, unit-size inputs, eps = 1e-6 for values and 1e-5
for gradients): truncation ~ eps^2 |f'''| <= 1e-10, rounding ~ 1e-16 |f| / eps <= 1e-10, so a relative
error bound of 1e-6 leaves four orders of magnitude of margin while any wrong rule gives O(1) errors.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numeric.autodiff.tensor import (Parameter, Tensor, concatenate, exp, grad, is_grad_enabled, log, logsumexp, mse,
                                     no_grad, relu, sigmoid, softmax, softmax_cross_entropy, stack, tanh, zero_grad)

RTOL = 1e-6


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):  # for relu: keep clear of the kink so finite differences are valid
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


LABELS = np.array([2, 0, 3, 3, 1])
IDX = np.array([0, 2, 2, 1, 0, 2])  # repeated indices: gradient must add up
# name -> (function of Tensors, input generators, smooth (second derivatives tested))
OPS = {
    "add (3,1)+(1,4)": (lambda a, b: a + b, [normal(3, 1), normal(1, 4)], True),
    "sub (2,3)-(3,)": (lambda a, b: a - b, [normal(2, 3), normal(3)], True),
    "mul (2,3)*(3,)": (lambda a, b: a * b, [normal(2, 3), normal(3)], True),
    "mul (4,1,3)*(2,1)": (lambda a, b: a * b, [normal(4, 1, 3), normal(2, 1)], True),
    "div (3,4)/(4,)": (lambda a, b: a / b, [normal(3, 4), positive(4)], True),
    "div (2,)/(3,1)": (lambda a, b: a / b, [normal(2), positive(3, 1)], True),
    "scalar + t": (lambda a: 2.5 + a, [normal(3)], True),
    "t - scalar": (lambda a: a - 1.5, [normal(3)], True),
    "scalar - t": (lambda a: 1.5 - a, [normal(3)], True),
    "scalar * t": (lambda a: -3.0 * a, [normal(2, 2)], True),
    "scalar / t": (lambda a: 2.0 / a, [positive(3)], True),
    "t / scalar": (lambda a: a / 4.0, [normal(3)], True),
    "ndarray * t": (lambda a: np.array([1.0, -2.0, 3.0]) * a, [normal(2, 3)], True),
    "t @ ndarray": (lambda a: a @ np.ones((3, 2)), [normal(2, 3)], True),
    "neg": (lambda a: -a, [normal(2, 3)], True),
    "t ** 3": (lambda a: a ** 3, [normal(4)], True),
    "t ** 2 (int)": (lambda a: a ** 2, [normal(4)], True),
    "t ** -1.5": (lambda a: a ** -1.5, [positive(4)], True),
    "t ** 0.5": (lambda a: a ** 0.5, [positive(4)], True),
    "t ** 0": (lambda a: a ** 0, [normal(3)], True),
    "a ** b (tensors)": (lambda a, b: a ** b, [positive(2, 3), normal(3)], True),
    "scalar ** t": (lambda a: 2.0 ** a, [normal(3)], True),
    "matmul 2-D @ 2-D": (lambda a, b: a @ b, [normal(3, 4), normal(4, 2)], True),
    "matmul 1-D @ 2-D": (lambda a, b: a @ b, [normal(4), normal(4, 2)], True),
    "matmul 2-D @ 1-D": (lambda a, b: a @ b, [normal(3, 4), normal(4)], True),
    "matmul 1-D @ 1-D": (lambda a, b: a @ b, [normal(4), normal(4)], True),
    "matmul batched 3-D @ 2-D": (lambda a, b: a @ b, [normal(2, 3, 4), normal(4, 2)], True),
    "sum all": (lambda a: a.sum(), [normal(2, 3)], True),
    "sum axis 0": (lambda a: a.sum(axis=0), [normal(2, 3)], True),
    "sum axes (0, 2) keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), [normal(2, 3, 4)], True),
    "sum axis -1": (lambda a: a.sum(axis=-1), [normal(2, 3)], True),
    "mean all": (lambda a: a.mean(), [normal(2, 3)], True),
    "mean axis 1 keepdims": (lambda a: a.mean(axis=1, keepdims=True), [normal(2, 3)], True),
    "exp": (lambda a: a.exp(), [normal(2, 3)], True),
    "log": (lambda a: a.log(), [positive(2, 3)], True),
    "tanh": (lambda a: a.tanh(), [normal(2, 3)], True),
    "sigmoid": (lambda a: a.sigmoid(), [normal(2, 3)], True),
    "relu": (lambda a: a.relu(), [away_from_zero(2, 3)], True),
    "exp/log/tanh/sigmoid/relu functions": (lambda a: exp(a) + log(a) + tanh(a) + sigmoid(a) + relu(a),
                                            [positive(3)], True),
    "reshape": (lambda a: a.reshape(3, 2), [normal(2, 3)], True),
    "reshape tuple -1": (lambda a: a.reshape((-1,)), [normal(2, 3)], True),
    ".T": (lambda a: a.T, [normal(2, 3)], True),
    "transpose 3-D": (lambda a: a.transpose(2, 0, 1), [normal(2, 3, 4)], True),
    "index int": (lambda a: a[1], [normal(3, 2)], True),
    "index slice": (lambda a: a[1:, ::2], [normal(3, 4)], True),
    "index repeated ints": (lambda a: a[IDX], [normal(3, 2)], True),
    "index list with repeats": (lambda a: a[[1, 1, 0]], [normal(3)], True),
    "index (rows, cols) arrays": (lambda a: a[np.arange(5), LABELS], [normal(5, 4)], True),
    "index mixed slice + array": (lambda a: a[:, [0, 0, 2]], [normal(2, 3)], True),
    "index negative + None": (lambda a: a[-1, None], [normal(3, 2)], True),
    "logsumexp axis 1": (lambda a: logsumexp(a, axis=1), [normal(3, 4)], True),
    "logsumexp all": (lambda a: logsumexp(a), [normal(3, 4)], True),
    "softmax": (lambda a: softmax(a, axis=-1), [normal(3, 4)], True),
    "softmax_cross_entropy": (lambda a: softmax_cross_entropy(a, LABELS), [normal(5, 4)], True),
    "mse": (lambda a, b: mse(a, b), [normal(3, 2), normal(3, 2)], True),
    "concatenate axis 1": (lambda a, b: concatenate([a, b], axis=1), [normal(2, 3), normal(2, 1)], True),
    "stack axis -1": (lambda a, b: stack([a, b], axis=-1), [normal(2, 3), normal(2, 3)], True),
    "composite": (lambda a, b: ((a @ b).tanh() * a.sum(axis=1, keepdims=True)).exp().mean(axis=0),
                  [normal(3, 4), normal(4, 2)], True),
}


def _inputs(name, seed=0):
    fn, gens, _ = OPS[name]
    rng = np.random.default_rng(seed)
    return fn, [g(rng) for g in gens], rng


def _value(fn, arrays, weights):
    """float  sum(weights * fn(arrays)), without any graph."""
    with no_grad():
        return float((fn(*[Tensor(a) for a in arrays]).data * weights).sum())


@pytest.mark.parametrize("name", list(OPS))
def test_first_derivative_matches_central_differences(name):
    fn, arrays, rng = _inputs(name)
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    R = rng.standard_normal(out.shape)
    gs = grad((out * R).sum(), xs)
    assert [g.shape for g in gs] == [a.shape for a in arrays]
    eps = 1e-6
    for _ in range(3):  # random directions
        vs = [rng.standard_normal(a.shape) for a in arrays]
        fd = (_value(fn, [a + eps * v for a, v in zip(arrays, vs)], R)
              - _value(fn, [a - eps * v for a, v in zip(arrays, vs)], R)) / (2 * eps)
        ad = sum(float((g.data * v).sum()) for g, v in zip(gs, vs))
        scale = sum(float((np.abs(g.data) * np.abs(v)).sum()) for g, v in zip(gs, vs)) + 1e-12
        assert abs(ad - fd) <= RTOL * scale, (name, ad, fd)


@pytest.mark.parametrize("name", [n for n, (_, _, smooth) in OPS.items() if smooth])
def test_hessian_vector_product_matches_differences_of_the_gradient(name):
    # L = sum(R * f(x)^2) is quadratic even in a linear op's output, so every rule's own
    # backward graph (not only the forward) is differentiated.
    fn, arrays, rng = _inputs(name, seed=1)
    R = rng.standard_normal(fn(*[Tensor(a) for a in arrays]).shape)

    def gradient(arrs, create_graph=False):
        xs = [Tensor(a, requires_grad=True) for a in arrs]
        out = fn(*xs)
        return xs, grad((out * out * R).sum(), xs, create_graph=create_graph)

    vs = [rng.standard_normal(a.shape) for a in arrays]
    xs, gs = gradient(arrays, create_graph=True)
    hv = grad(sum((g * v).sum() for g, v in zip(gs, vs)), xs)
    eps = 1e-5
    plus = gradient([a + eps * v for a, v in zip(arrays, vs)])[1]
    minus = gradient([a - eps * v for a, v in zip(arrays, vs)])[1]
    for h, gp, gm in zip(hv, plus, minus):
        fd = (gp.data - gm.data) / (2 * eps)
        assert np.max(np.abs(h.data - fd)) <= RTOL * (np.max(np.abs(fd)) + 1.0), name


def test_hand_computed_first_and_second_derivatives():
    # f = x y + x^2 at (3, 4): df/dx = y + 2x = 10, df/dy = x = 3; d2f/dx2 = 2, d2f/dxdy = 1, d2f/dy2 = 0.
    x, y = Tensor(3.0, requires_grad=True), Tensor(4.0, requires_grad=True)
    f = x * y + x ** 2
    assert f.item() == 21.0
    gx, gy = grad(f, [x, y], create_graph=True)
    assert (gx.item(), gy.item()) == (10.0, 3.0)
    assert [h.item() for h in grad(gx, [x, y])] == [2.0, 1.0]
    assert [h.item() for h in grad(gy, [x, y])] == [1.0, 0.0]
    # d/dx sum(x^3) = 3x^2, d2/dx2 = diag(6x); at x = (1, -2): (3, 12) and H v = (6 v1, -12 v2)
    w = Parameter([1.0, -2.0])
    (g,) = grad((w ** 3).sum(), [w], create_graph=True)
    np.testing.assert_array_equal(g.data, [3.0, 12.0])
    np.testing.assert_array_equal(grad((g * np.array([1.0, 1.0])).sum(), [w])[0].data, [6.0, -12.0])


def test_full_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    A = np.array([[1.0, 2.0, 0.0], [-1.0, 3.0, 4.0], [0.5, 0.0, -2.0]])
    x = Parameter([0.3, -0.7, 1.1])
    (g,) = grad(x @ (Tensor(A) @ x), [x], create_graph=True)
    np.testing.assert_allclose(g.data, (A + A.T) @ x.data, rtol=0, atol=1e-15)
    H = np.column_stack([grad((g * e).sum(), [x])[0].data for e in np.eye(3)])
    np.testing.assert_allclose(H, A + A.T, rtol=0, atol=1e-15)


def test_backward_with_create_graph_gives_differentiable_grad():
    x = Parameter([0.5, -1.0])
    (x.exp() * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad  # d/dx [x e^x] = (1 + x) e^x ; second: (2 + x) e^x
    (hv,) = grad(x.grad.sum(), [x])
    np.testing.assert_allclose(hv.data, (2 + x.data) * np.exp(x.data), rtol=1e-14)


def test_repeated_indices_add_up():
    x = Parameter([10.0, 20.0, 30.0])
    x[np.array([0, 0, 1, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 1.0, 0.0])


def test_shared_subexpressions_and_deep_chains():
    x = Parameter(2.0)
    y = x * x
    z = y + y * x  # x^2 + x^3: dz/dx = 2x + 3x^2 = 16
    z.backward()
    assert x.grad.item() == 16.0
    t = Parameter(1.0)
    s = t
    for _ in range(5000):  # no recursion limit: the topological sort is iterative
        s = s + t
    s.backward()
    assert t.grad.item() == 5001.0


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    z = Parameter([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        L = softmax_cross_entropy(z, [2, 0])
        L.backward()
    # row 1: log(e^-2 + e^-1 + 1); row 2: 2000 + log(1 + e^-1000 + e^-2000) = 2000 (to float64)
    expected = 0.5 * (math.log(math.exp(-2) + math.exp(-1) + 1) + 2000.0)
    assert L.item() == pytest.approx(expected, rel=1e-15)
    # gradient (softmax - onehot) / N, with softmax(row 1) = e^(z - 1002) / sum, softmax(row 2) = (0, 0, 1)
    p1 = np.exp([-2.0, -1.0, 0.0]) / np.exp([-2.0, -1.0, 0.0]).sum()
    # (atol 1e-12: the log-sum-exp ~ 1002.4 carries an absolute rounding error of ~ulp(1000) = 1.1e-13)
    expected_grad = np.array([p1 - [0.0, 0.0, 1.0], [-1.0, 0.0, 1.0]]) / 2
    np.testing.assert_allclose(z.grad.data, expected_grad, rtol=0, atol=1e-12)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(softmax(Tensor([[1e3, 1e3], [-1e3, 0.0]])).data, [[0.5, 0.5], [0.0, 1.0]])
        assert logsumexp(Tensor([1e3, 1e3])).item() == pytest.approx(1e3 + math.log(2), rel=1e-15)


def test_no_grad_records_nothing():
    w = Parameter([1.0, 2.0])
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = (w * 3.0).exp().sum()
    assert is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y._parents == ()
    with pytest.raises(ValueError, match="does not require grad"):
        y.backward()
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert is_grad_enabled()  # restored after an exception


def test_grad_leaves_dot_grad_untouched_and_backward_accumulates():
    w = Parameter([1.0, -2.0])
    L = (w * w).sum()
    (g,) = grad(L, [w])
    np.testing.assert_array_equal(g.data, [2.0, -4.0])
    assert w.grad is None
    L.backward()
    L.backward()  # the graph can be reused: gradients accumulate like torch
    np.testing.assert_array_equal(w.grad.data, [4.0, -8.0])
    grad(L, [w])
    np.testing.assert_array_equal(w.grad.data, [4.0, -8.0])
    zero_grad([w])
    assert w.grad is None
    (3.0 * w).sum().backward()
    w.zero_grad()
    assert w.grad is None


def test_grad_of_intermediates_unused_inputs_and_grad_output():
    x = Parameter([1.0, 2.0])
    h = x * x
    u = Parameter(5.0)
    (gh, gx, gu) = grad((h * 3.0).sum(), [h, x, u])
    np.testing.assert_array_equal(gh.data, [3.0, 3.0])
    np.testing.assert_array_equal(gx.data, [6.0, 12.0])
    assert gu.item() == 0.0  # not used: zeros
    (gx,) = grad(h, [x], grad_output=np.array([1.0, -1.0]))  # vector-Jacobian product
    np.testing.assert_array_equal(gx.data, [2.0, -4.0])
    (gx,) = grad(Tensor(1.0) * 2.0, [x])  # output that does not depend on x at all
    np.testing.assert_array_equal(gx.data, [0.0, 0.0])


def test_parameter_versus_intermediate_tensor_semantics():
    p = Parameter(np.ones((2, 2)), name="W")
    assert p.requires_grad and p.is_leaf and isinstance(p, Tensor)
    with pytest.raises(ValueError, match="always requires grad"):
        p.requires_grad = False
    y = p * 2.0
    assert type(y) is Tensor and not y.is_leaf and y.requires_grad  # operations never return Parameters
    with pytest.raises(ValueError, match="intermediate"):
        y.data = np.zeros((2, 2))
    p.data = np.full((2, 2), 3.0)  # an optimizer replaces a parameter's data between steps
    assert p.data.dtype == np.float64 and p.data[0, 0] == 3.0
    with pytest.raises(ValueError, match="Parameter is fixed"):
        p.data = np.zeros(3)
    t = Tensor([1.0, 2.0])
    assert not t.requires_grad and t.is_leaf
    t.data = [4, 5, 6]  # a plain leaf tensor's data may change freely
    assert t.shape == (3,) and t.ndim == 1 and t.size == 3
    d = p.detach()
    assert not d.requires_grad and np.shares_memory(d.data, p.data)
    n = p.numpy()
    n[0, 0] = -1.0
    assert p.data[0, 0] == 3.0  # numpy() is a copy
    a = np.array([1.0, 2.0])
    assert not np.shares_memory(Tensor(a).data, a)  # the constructor copies
    assert Tensor([[7]]).item() == 7.0 and isinstance(Tensor(7).item(), float)
    assert "Parameter" in repr(p) and "grad_fn=<mul>" in repr(y)


@st.composite
def broadcast_pair(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    other = [1 if draw(st.booleans()) else s for s in shape][draw(st.integers(0, len(shape) - 1)):]
    seed = draw(st.integers(0, 2 ** 31))
    return (tuple(shape), tuple(other)) if draw(st.booleans()) else (tuple(other), tuple(shape)), seed


def _sum_to(x, shape):
    """Independent reduction of a broadcast array back to ``shape``."""
    while x.ndim > len(shape):
        x = x.sum(axis=0)
    return x.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)


@settings(max_examples=40, deadline=None)
@given(broadcast_pair())
def test_product_rule_on_broadcasting_shapes(pair):
    # d(a b) = a db + b da:  dL/da = sum-to-shape(R b), dL/db = sum-to-shape(R a) for L = sum(R a b)
    (sa, sb), seed = pair
    rng = np.random.default_rng(seed)
    a, b = Parameter(rng.standard_normal(sa)), Parameter(rng.standard_normal(sb))
    R = rng.standard_normal(np.broadcast_shapes(sa, sb))
    ga, gb = grad((a * b * R).sum(), [a, b])
    np.testing.assert_allclose(ga.data, _sum_to(R * b.data, sa), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb.data, _sum_to(R * a.data, sb), rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(broadcast_pair(), st.floats(-3, 3), st.floats(-3, 3))
def test_linearity_and_quotient_rule(pair, alpha, beta):
    (sa, sb), seed = pair
    rng = np.random.default_rng(seed)
    a, b = Parameter(rng.standard_normal(sa)), Parameter(rng.uniform(0.5, 2.0, sb))
    f, g = lambda: (a * b).tanh().sum(), lambda: (a - b).exp().mean()
    lhs = grad(alpha * f() + beta * g(), [a, b])
    fa, fb = grad(f(), [a, b])
    ga, gb = grad(g(), [a, b])
    np.testing.assert_allclose(lhs[0].data, alpha * fa.data + beta * ga.data, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(lhs[1].data, alpha * fb.data + beta * gb.data, rtol=1e-10, atol=1e-12)
    q = grad((a / b).sum(), [a, b])  # a / b == a * b^-1
    p = grad((a * b ** -1).sum(), [a, b])
    for u, v in zip(q, p):
        np.testing.assert_allclose(u.data, v.data, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=1, max_size=6))
def test_exp_log_roundtrip_and_mixed_second_derivative_symmetry(values):
    x = Parameter(values)
    np.testing.assert_allclose(grad(x.log().exp().sum(), [x])[0].data, 1.0, rtol=1e-12)
    y = Parameter(np.linspace(-1, 1, len(values)))
    gx, gy = grad((x * y.tanh() + x.log() * y).sum(), [x, y], create_graph=True)
    u, v = np.cos(np.arange(len(values))), np.sin(np.arange(len(values)) + 1)
    hx = grad((gx * u).sum(), [y])[0]  # d/dy <d/dx, u>
    hy = grad((gy * v).sum(), [x])[0]  # d/dx <d/dy, v>
    assert float(hx.data @ v) == pytest.approx(float(hy.data @ u), rel=1e-12, abs=1e-12)  # symmetric Hessian


def test_ndarray_and_numpy_scalars_on_the_left_give_tensors():
    t = Parameter([1.0, 2.0])
    for y in (np.ones(2) * t, np.float64(2.0) - t, np.eye(2) @ t, 2 ** t, np.array(3.0) / t):
        assert type(y) is Tensor and y.requires_grad


def test_bad_inputs_raise_helpful_errors():
    t = Parameter([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match="real numbers"):
        Tensor("abc")
    with pytest.raises(TypeError, match="stack"):
        Tensor([Tensor(1.0), Tensor(2.0)])
    with pytest.raises(TypeError, match="requires_grad"):
        Tensor(1.0, requires_grad=1)
    with pytest.raises(TypeError):
        t + "x"
    with pytest.raises(ValueError, match="do not align"):
        t @ Tensor(np.ones(3))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        t @ Tensor(2.0)
    with pytest.raises(ValueError, match="non-scalar"):
        (t * 2.0).backward()
    with pytest.raises(ValueError, match="shape"):
        (t * 2.0).backward(np.ones(3))
    with pytest.raises(ValueError, match="axis"):
        t.sum(axis=2)
    with pytest.raises(ValueError, match="axis"):
        t.sum(axis=(0, 0))
    with pytest.raises(ValueError, match="permutation"):
        t.transpose(0, 0)
    with pytest.raises(TypeError, match="integer NumPy arrays"):
        t[Tensor([0.0])]
    with pytest.raises(ValueError, match="positive base"):
        Tensor([-1.0, 2.0]) ** Parameter([1.0, 1.0])
    with pytest.raises(ValueError, match="labels"):
        softmax_cross_entropy(t, [0, 2])
    with pytest.raises(ValueError, match="labels"):
        softmax_cross_entropy(t, [0.5, 1])
    with pytest.raises(ValueError, match=r"shape \(N, C\)"):
        softmax_cross_entropy(Tensor([1.0, 2.0]), [0])
    with pytest.raises(ValueError, match="same shape"):
        mse(t, np.ones(2))
    with pytest.raises(ValueError, match="requires grad"):
        grad(t.sum(), [Tensor(1.0)])
    with pytest.raises(TypeError, match="output"):
        grad(1.0, [t])
    with pytest.raises(ValueError, match="one entry"):
        t.item()
    with pytest.raises(ValueError, match="at least one"):
        concatenate([])
    with pytest.raises(ValueError, match="equal shape"):
        stack([Tensor([1.0]), Tensor([1.0, 2.0])])
    with pytest.raises(TypeError, match="x must be"):
        exp("1")
