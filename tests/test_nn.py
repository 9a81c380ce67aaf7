"""Tests for numeric.autodiff.nn and numeric.autodiff.datasets: the Tensor MLP against the independent hand-written NumPy
backprop, Hessian-vector products against differences of the gradient, learning XOR, and the data sets."""

import math

import numpy as np
import pytest

from numeric.autodiff import datasets, nn
from numeric.autodiff.tensor import Parameter, Tensor, grad

ACTIVATIONS = ["tanh", "sigmoid", "relu", "linear"]
LOSSES = {"mse": 3, "ce": 4, "bce": 1}  # loss -> output width used in the tests


def _problem(loss, seed=0, n=7, d=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    out = LOSSES[loss]
    y = {"mse": rng.standard_normal((n, out)), "ce": rng.integers(0, out, n), "bce": rng.integers(0, 2, n)}[loss]
    return X, y, out


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("bias", [True, False])
def test_tensor_mlp_matches_the_hand_written_backprop(activation, loss, bias):
    X, y, out = _problem(loss)
    model = nn.MLP([5, 8, 6, out], activation=activation, init=1.3, seed=2, bias=bias)
    L = {"mse": lambda o: nn.mse(o, y.reshape(o.shape)), "ce": lambda o: nn.cross_entropy(o, y),
         "bce": lambda o: nn.binary_cross_entropy_with_logits(o, y.reshape(o.shape))}[loss](model(X))
    L.backward()
    value, grads = nn.numpy_mlp_loss_and_grad([p.data for p in model.parameters()], X, y, activation, loss)
    assert L.item() == pytest.approx(value, rel=1e-12, abs=1e-15)
    for p, g in zip(model.parameters(), grads, strict=True):
        assert p.grad.shape == g.shape
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_hand_written_backprop_matches_finite_differences(loss):
    # the reference implementation is itself checked against the loss values along random directions
    X, y, out = _problem(loss, seed=3)
    rng = np.random.default_rng(4)
    arrays = [p.data.copy() for p in nn.MLP([5, 6, out], "tanh", seed=5).parameters()]
    _, grads = nn.numpy_mlp_loss_and_grad(arrays, X, y, "tanh", loss)
    for _ in range(3):
        vs = [rng.standard_normal(a.shape) for a in arrays]
        shifted = [[a + t * v for a, v in zip(arrays, vs)] for t in (1e-6, -1e-6)]
        fp, fm = (nn.numpy_mlp_loss_and_grad(arrs, X, y, "tanh", loss)[0] for arrs in shifted)
        fd = (fp - fm) / 2e-6
        ad = sum(float((g * v).sum()) for g, v in zip(grads, vs))
        assert abs(ad - fd) <= 1e-6 * sum(float(np.abs(g * v).sum()) for g, v in zip(grads, vs))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ["mse", "ce", "bce"])
def test_loss_fn_hvp_matches_differences_of_the_gradient(activation, loss):
    X, y, out = _problem(loss, seed=6)
    model = nn.MLP([5, 6, 4, out], activation=activation, seed=7)
    f, g, hvp = nn.loss_fn(model, X, y, loss)
    theta = nn.flatten(model.parameters())
    rng = np.random.default_rng(8)
    u, v = rng.standard_normal(theta.size), rng.standard_normal(theta.size)
    eps = 1e-5  # error ~ eps^2 |d3 L| + 1e-16 |g| / eps ~ 1e-10
    fd = (g(theta + eps * v) - g(theta - eps * v)) / (2 * eps)
    hv = hvp(theta, v)
    assert np.max(np.abs(hv - fd)) <= 1e-6 * (np.max(np.abs(fd)) + 1.0)
    assert float(u @ hv) == pytest.approx(float(v @ hvp(theta, u)), rel=1e-10, abs=1e-13)  # H is symmetric
    value, grads = nn.numpy_mlp_loss_and_grad([p.data for p in model.parameters()], X, y, activation, loss)
    assert f(theta) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(g(theta), np.concatenate([a.ravel() for a in grads]), rtol=1e-12, atol=1e-14)


def test_loss_fn_does_not_touch_the_model_and_hvp_is_exact_for_least_squares():
    # a linear model with mse: L = (1/n) |X w + b - y|^2 has the constant Hessian (2/n) [X 1]^T [X 1]
    X, y = datasets.linear_regression(n=20, d=3, noise=0.5, seed=1)
    model = nn.MLP([3, 1], activation="linear", seed=0)
    before = nn.flatten(model.parameters())
    f, g, hvp = nn.loss_fn(model, X, y, "mse")
    A = np.column_stack([X, np.ones(20)])
    H = 2.0 / 20 * A.T @ A
    theta = np.array([0.3, -1.0, 2.0, 0.5])
    np.testing.assert_allclose(np.column_stack([hvp(theta, e) for e in np.eye(4)]), H, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(g(theta), 2.0 / 20 * A.T @ (A @ theta - y), rtol=1e-13, atol=1e-14)
    assert f(theta) == pytest.approx(np.mean((A @ theta - y) ** 2), rel=1e-14)
    np.testing.assert_array_equal(nn.flatten(model.parameters()), before)
    assert all(p.grad is None for p in model.parameters())


def test_flatten_and_unflatten_into_roundtrip():
    model = nn.MLP([3, 4, 2], seed=1)
    params = model.parameters()
    theta = nn.flatten(params)
    assert theta.shape == (model.n_params,) == (3 * 4 + 4 + 4 * 2 + 2,)
    new = np.arange(theta.size, dtype=float)
    nn.unflatten_into(params, new)
    np.testing.assert_array_equal(params[0].data, new[:12].reshape(3, 4))
    np.testing.assert_array_equal(nn.flatten(params), new)
    new[0] = -99.0  # unflatten_into copies
    assert params[0].data[0, 0] == 0.0
    with pytest.raises(ValueError, match="shape"):
        nn.unflatten_into(params, np.zeros(theta.size + 1))


def test_mlp_structure_initialization_and_activations():
    model = nn.MLP([4, 300, 200, 3], activation="relu", init="he", seed=0)
    names = [p.name for p in model.parameters()]
    assert names == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [lay.activation for lay in model.layers] == ["relu", "relu", "linear"]
    assert [(lay.fan_in, lay.fan_out) for lay in model.layers] == [(4, 300), (300, 200), (200, 3)]
    assert all(isinstance(p, Parameter) for p in model.parameters())
    assert np.std(model.layers[1].W.data) == pytest.approx(math.sqrt(2 / 300), rel=0.02)  # 60000 draws
    xavier = nn.MLP([300, 200], init="xavier", seed=0)
    assert np.std(xavier.layers[0].W.data) == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    gain = nn.MLP([400, 100], init=0.5, seed=0)
    assert np.std(gain.layers[0].W.data) == pytest.approx(0.5 / 20, rel=0.02)
    assert not nn.flatten(nn.MLP([3, 5, 2], init=0.0).parameters()).any()
    np.testing.assert_array_equal(nn.flatten(nn.MLP([3, 5, 2], seed=4).parameters()),
                                  nn.flatten(nn.MLP([3, 5, 2], seed=4).parameters()))
    assert nn.MLP([3, 5, 2], bias=False).n_params == 25
    assert "MLP(sizes=[4, 300, 200, 3]" in repr(model)
    X = np.random.default_rng(0).standard_normal((6, 4))
    acts = model.activations(X)
    assert len(acts) == 3 and acts[0]["pre"].shape == (6, 300)
    np.testing.assert_array_equal(acts[0]["post"].data, np.maximum(acts[0]["pre"].data, 0))
    np.testing.assert_array_equal(acts[-1]["post"].data, model(X).data)
    # gradients with respect to intermediate pre-activations: dL/dz_L = 2 (z_L - Y) / (N d_L) for mse
    Y = np.ones((6, 3))
    L = nn.mse(acts[-1]["post"], Y)
    g_pre = grad(L, [a["pre"] for a in acts])
    np.testing.assert_allclose(g_pre[-1].data, 2 * (acts[-1]["pre"].data - Y) / 18, rtol=1e-14)
    assert [g.shape for g in g_pre] == [(6, 300), (6, 200), (6, 3)]


def test_mlp_learns_xor_with_plain_gradient_descent():
    X, y = datasets.xor()
    model = nn.MLP([2, 8, 1], activation="tanh", seed=0)
    Y = y.reshape(-1, 1).astype(float)
    losses = []
    for _ in range(3000):
        L = nn.mse(model(X), Y)
        losses.append(L.item())
        if losses[-1] < 0.01:
            break
        model.zero_grad()
        L.backward()
        for p in model.parameters():
            p.data = p.data - 0.2 * p.grad.data
    assert losses[-1] < 0.01, losses[-1]
    assert losses[0] > 0.2  # it had to learn something: chance level is 0.25
    assert np.array_equal(model(X).data[:, 0] > 0.5, y == 1)


def test_binary_cross_entropy_is_stable_and_matches_the_formula():
    z = np.array([-1000.0, -2.0, 0.0, 3.0, 1000.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    t = Parameter(z)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        L = nn.binary_cross_entropy_with_logits(t, y)
        L.backward()
    # softplus(z) - y z per entry: (e^-1000 ~ 0) + 1000, log(1 + e^-2), log 2 - 0, log(1 + e^-3), 1000 - 0
    expected = (1000.0 + math.log1p(math.exp(-2)) + math.log(2) + math.log1p(math.exp(-3)) + 1000.0) / 5
    assert L.item() == pytest.approx(expected, rel=1e-15)
    sig = np.array([0.0, 1 / (1 + math.exp(2)), 0.5, 1 / (1 + math.exp(-3)), 1.0])
    np.testing.assert_allclose(t.grad.data, (sig - y) / 5, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("make, n_classes", [(lambda s: datasets.two_moons(50, 0.1, s), 2),
                                             (lambda s: datasets.spirals(61, 3, 0.2, s), 3),
                                             (lambda s: datasets.logistic_regression(80, 3, s), 2)])
def test_classification_datasets_are_seeded_labelled_and_valid(make, n_classes):
    X, y = make(0)
    X2, y2 = make(0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(make(1)[0], X)
    assert X.dtype == np.float64 and y.dtype == np.int64 and X.shape[0] == y.shape[0]
    assert set(np.unique(y)) == set(range(n_classes))


def test_dataset_geometry():
    X, y = datasets.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    X, y = datasets.two_moons(n=101, noise=0.0, seed=3)  # exact half circles
    assert (y == 0).sum() == 51 and (y == 1).sum() == 50
    np.testing.assert_allclose(np.hypot(X[y == 0, 0], X[y == 0, 1]), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.hypot(X[y == 1, 0] - 1.0, X[y == 1, 1] - 0.5), 1.0, rtol=1e-14)
    assert (X[y == 0, 1] >= 0).all() and (X[y == 1, 1] <= 0.5).all()
    X, y = datasets.spirals(n=90, classes=3, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.bincount(y).tolist() == [30, 30, 30] and r.min() == pytest.approx(0.05) and r.max() == pytest.approx(1.0)
    angle = 2 * np.pi * y / 3 + 4 * r
    np.testing.assert_allclose(X, r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), atol=1e-15)
    X, y = datasets.linear_regression(n=30, d=4, noise=0.0, seed=2)  # exactly linear: zero residual
    w, res, *_ = np.linalg.lstsq(X, y, rcond=None)
    np.testing.assert_allclose(X @ w, y, atol=1e-12)
    X, y = datasets.teacher_student(n=64, d=6, hidden=5, seed=1)
    assert X.shape == (64, 6) and y.shape == (64,) and np.isfinite(y).all() and np.std(y) > 0
    assert not np.array_equal(datasets.teacher_student(64, 6, 5, seed=1, noise=0.1)[1], y)


def test_bad_inputs_raise_helpful_errors():
    with pytest.raises(ValueError, match="at least 2"):
        nn.MLP([3])
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        nn.MLP([3, 0, 1])
    with pytest.raises(ValueError, match="activation"):
        nn.MLP([2, 1], activation="softmax")
    with pytest.raises(ValueError, match="init"):
        nn.MLP([2, 1], init="orthogonal")
    with pytest.raises(ValueError, match="init"):
        nn.MLP([2, 1], init=-1.0)
    with pytest.raises(ValueError, match="seed"):
        nn.MLP([2, 1], seed=-1)
    with pytest.raises(ValueError, match="bias"):
        nn.MLP([2, 1], bias="yes")
    model = nn.MLP([2, 3, 2])
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        model(np.ones((4, 3)))
    with pytest.raises(ValueError, match="loss"):
        nn.loss_fn(model, np.ones((4, 2)), np.zeros(4), "hinge")
    with pytest.raises(ValueError, match="integer labels"):
        nn.loss_fn(model, np.ones((4, 2)), np.array([0, 1, 2, 0]), "ce")
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        nn.loss_fn(model, np.ones((4, 2)), np.zeros(4), "mse")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.loss_fn(nn.MLP([2, 1]), np.ones((4, 2)), np.array([0, 1, 2, 0]), "bce")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.binary_cross_entropy_with_logits(Tensor([0.0]), [2.0])
    with pytest.raises(ValueError, match="shape"):
        nn.loss_fn(model, np.ones((4, 2)), np.zeros((4, 2)), "mse")[1](np.zeros(3))
    with pytest.raises(ValueError, match="chain"):
        nn.numpy_mlp_loss_and_grad([np.ones((2, 3)), np.ones(4)], np.ones((1, 2)), np.zeros(1), "tanh", "mse")
    with pytest.raises(ValueError, match="activation"):
        nn.numpy_mlp_loss_and_grad([np.ones((2, 1))], np.ones((1, 2)), np.zeros(1), "gelu", "mse")
    with pytest.raises(ValueError, match="MLP"):
        nn.loss_fn(object(), np.ones((1, 2)), np.zeros(1))
    with pytest.raises(ValueError, match="n must be"):
        datasets.two_moons(n=1)
    with pytest.raises(ValueError, match="noise"):
        datasets.spirals(noise=-0.1)
    with pytest.raises(ValueError, match="classes"):
        datasets.spirals(classes=1)
    with pytest.raises(ValueError, match="at least classes"):
        datasets.spirals(n=2, classes=3)
    with pytest.raises(ValueError, match="hidden"):
        datasets.teacher_student(hidden=0)
    with pytest.raises(ValueError, match="seed"):
        datasets.linear_regression(seed=1.5)
    with pytest.raises(ValueError, match="d must be"):
        datasets.logistic_regression(d=0)
