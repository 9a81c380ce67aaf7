"""Symplectic forms, Poisson brackets and Hamilton's equations (derive/theories/hamiltonian.py)."""
from itertools import combinations

import pytest
import sympy as sp

from derive.theories.hamiltonian import (TwoForm, antisymmetry, bracket, canonical, hamilton_equations, jacobi,
                                         leibniz, lie_poisson_so3, poisson_brackets)

q, p, t = sp.symbols("q p t", real=True)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_canonical_brackets_of_coordinates(n):
    form = canonical(n)
    P, x = form.poisson_tensor(), form.coords
    qs, ps = x[:n], x[n:]
    for k in range(n):
        for m in range(n):
            assert bracket(P, x, qs[k], ps[m]) == (1 if k == m else 0)
            assert bracket(P, x, ps[m], qs[k]) == (-1 if k == m else 0)
            assert bracket(P, x, qs[k], qs[m]) == 0 and bracket(P, x, ps[k], ps[m]) == 0
    assert form.is_closed() and form.is_nondegenerate() is True and form.is_symplectic() is True
    assert antisymmetry(P) == sp.zeros(2 * n)


def test_sign_convention_two_by_two():
    form = TwoForm((q, p), [[0, -1], [1, 0]])
    assert form.matrix == canonical(1, (q, p)).matrix
    assert form.poisson_tensor() == sp.Matrix([[0, 1], [-1, 0]])
    assert bracket(form.poisson_tensor(), (q, p), q, p) == 1
    # canonical form = d(p dq)
    assert TwoForm.from_one_form((q, p), [p, 0]).matrix == form.matrix


@pytest.mark.parametrize("n", [1, 2, 3])
def test_jacobi_canonical(n):
    form = canonical(n)
    res = jacobi(form.poisson_tensor(), form.coords)
    assert len(res) == len(list(combinations(range(2 * n), 3)))
    assert all(r == 0 for r in res.values())


def test_jacobi_so3_and_casimir():
    x, P = lie_poisson_so3()
    assert bracket(P, x, x[0], x[1]) == x[2] and bracket(P, x, x[1], x[2]) == x[0]
    assert all(r == 0 for r in jacobi(P, x).values())
    casimir = sum(xi**2 for xi in x)
    assert all(sp.simplify(bracket(P, x, xi, casimir)) == 0 for xi in x)


def test_non_jacobi_bivector_has_nonzero_residual():
    x, y, z = sp.symbols("x y z", real=True)
    # {x,y} = z, {y,z} = x, {z,x} = x: J = {x, x} + {y, x} + {z, z} = -z by hand
    P = sp.Matrix([[0, z, -x], [-z, 0, x], [x, -x, 0]])
    assert antisymmetry(P) == sp.zeros(3)
    assert sp.simplify(jacobi(P, (x, y, z))[(0, 1, 2)] + z) == 0
    # the brief's candidate {x,y} = z, {y,z} = x, {z,x} = 1 IS Jacobi: {x,x} + {y,1} + {z,z} = 0
    P2 = sp.Matrix([[0, z, -1], [-z, 0, x], [1, -x, 0]])
    assert jacobi(P2, (x, y, z))[(0, 1, 2)] == 0


def test_closed_magnetic_form_is_jacobi_and_nonclosed_is_not():
    two = canonical(2)
    q1, q2, p1, p2 = two.coords
    for B, closed in ((sp.Function("B")(q1, q2), True), (1 + p1**2, False)):
        m = sp.Matrix(two.matrix)
        m[0, 1], m[1, 0] = B, -B
        form = TwoForm(two.coords, m)
        assert form.is_closed() is closed
        assert form.is_nondegenerate() is True
        res = jacobi(form.poisson_tensor(), form.coords)
        assert all(r == 0 for r in res.values()) is closed


def test_leibniz_generic_functions():
    f, g, h = (sp.Function(n)(q, p) for n in "fgh")
    assert leibniz(canonical(1, (q, p)).poisson_tensor(), (q, p), f, g, h) == 0
    x, P = lie_poisson_so3()
    F, G, K = (sp.Function(n)(*x) for n in "FGK")
    assert leibniz(P, x, F, G, K) == 0


def test_validation_errors():
    with pytest.raises(ValueError, match="antisymmetric"):
        TwoForm((q, p), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="antisymmetric"):
        TwoForm((q, p), [[1, 0], [0, -1]])
    with pytest.raises(ValueError, match="square"):
        TwoForm((q, p), [[0, 1, 0], [-1, 0, 0]])
    with pytest.raises(ValueError, match="coordinates"):
        TwoForm((q, p, t), [[0, 1], [-1, 0]])
    with pytest.raises(ValueError, match="components"):
        TwoForm.from_one_form((q, p), [p])


def test_degenerate_form():
    x, y, z = sp.symbols("x y z", real=True)
    odd = TwoForm((x, y, z), [[0, 1, 0], [-1, 0, 0], [0, 0, 0]])
    assert odd.is_nondegenerate() is False
    with pytest.raises(ValueError, match="degenerate"):
        odd.poisson_tensor()
    flat = TwoForm((q, p), [[0, q**2 - q * q], [0, 0]])
    assert flat.is_nondegenerate() is False
    undecided = TwoForm((q, p), [[0, -sp.Function("f")(q, p)], [sp.Function("f")(q, p), 0]])
    assert undecided.is_nondegenerate() is None


def test_harmonic_oscillator():
    P = canonical(1, (q, p)).poisson_tensor()
    rhs = hamilton_equations(P, (q, p), (p**2 + q**2) / 2)
    assert rhs == sp.Matrix([p, -q])
    sol = {q: sp.cos(t), p: -sp.sin(t)}
    assert sp.simplify(sp.Matrix([sp.cos(t), -sp.sin(t)]).diff(t) - rhs.subs(sol)) == sp.zeros(2, 1)
    V = sp.Function("V")
    assert hamilton_equations(P, (q, p), p**2 / 2 + V(q)) == sp.Matrix([p, -V(q).diff(q)])


def test_scaled_form_bracket():
    f = sp.Function("f", positive=True)(q, p)
    form = TwoForm((q, p), f * canonical(1, (q, p)).matrix)
    assert form.is_closed() and form.is_nondegenerate() is True
    assert sp.simplify(bracket(form.poisson_tensor(), (q, p), q, p) - 1 / f) == 0


def test_derivation_checks():
    d = poisson_brackets()
    assert d.name == "poisson-brackets" and d.title == "Poisson brackets from a symplectic form"
    c = d.check()
    assert c.ok, [(s.step.reason, s.status, s.detail) for s in c.steps if not s.ok]
    assert c.count("failed") == 0 and c.count("undecided") == 0 and c.count("spot-checked") == 0
    assert all(s.status in ("proved", "given") for s in c.steps)
    assert "aligned" in d.to_latex() and "\n$$\n" in d.to_markdown()
